"""A run's options are checked once, for the command line and the API alike: each bad
value is refused with one line naming the option, before any store is written."""
from __future__ import annotations

import pytest

import reesens
from reesens.store.ownership import StoreError
from tests.runs.test_pipeline import _woods_table


@pytest.mark.parametrize("options, message", [
    ({"target_ci": -1}, "--target-ci must be > 0, got -1"),
    ({"target_ci": "0.1"}, "--target-ci must be > 0, got '0.1'"),
    ({"max_N": 1024}, "--max-n bounds the growth of N for --target-ci"),
    ({"target_ci": 0.1, "max_N": 1000}, "--max-n must be a power of two >= N"),
    ({"workers": 0}, "--workers must be >= 1, got 0"),
    ({"workers": 1.5}, "--workers must be an integer >= 1, got 1.5"),
])
def test_the_api_refuses_what_the_command_line_refuses(tmp_path, options, message):
    study = reesens.load_study(_woods_table())
    out = tmp_path / "s.zarr"
    with pytest.raises(StoreError, match=message.replace("(", r"\(").replace("+", r"\+")):
        reesens.run(study, out=out, **options)
    assert not out.exists()
