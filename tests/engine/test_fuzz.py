"""Hostile input never gives a traceback: study files with any TOML value in any field,
nesting and bytes that are not UTF-8 (hypothesis), and hostile --out paths."""
import json
import os
import tomllib
from pathlib import Path

import pytest
import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reesens import cli

ROOT = Path(__file__).resolve().parents[2]
STUDIES = {p.stem: tomllib.loads(p.read_text()) for p in (ROOT / "studies").glob("*.toml")}

scalars = st.one_of(
    st.integers(min_value=-2**70, max_value=2**70), st.floats(), st.booleans(),
    st.text(max_size=12), st.sampled_from(["unif", "norm", "lognorm", "woods", "paper",
                                           "eq", "streaming", "bootstrap", ""]),
    st.datetimes(), st.dates(), st.times(), st.sampled_from([0, 1, 2**20, 2**40, 2**63]))
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=12)


def _paths(table, prefix=()):
    """Every key path of a nested table, and a new key under each table."""
    yield (*prefix, "extra")
    for key, value in table.items():
        yield (*prefix, key)
        if isinstance(value, dict):
            yield from _paths(value, (*prefix, key))
        elif isinstance(value, list):
            for i, item in enumerate(value):
                if isinstance(item, dict):
                    yield from _paths(item, (*prefix, key, i))


def _set(table, path, value):
    for key in path[:-1]:
        table = table[key]
    table[path[-1]] = value


def _validate(tmp_path, data: bytes, capsys) -> None:
    study = tmp_path / "fuzzed.toml"
    study.write_bytes(data)
    code = cli.main(["validate", str(study)])  # an exception here fails the test
    out, err = capsys.readouterr()
    assert code in (0, 2) and "Traceback" not in out + err
    if code == 2:
        assert err.startswith(str(study)), err


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_value_in_any_field_is_ok_or_a_clear_message(tmp_path, capsys, data):
    name = data.draw(st.sampled_from(sorted(STUDIES)))
    table = tomllib.loads(tomli_w.dumps(STUDIES[name]))  # a deep copy
    for _ in range(data.draw(st.integers(1, 3))):
        path = data.draw(st.sampled_from(list(_paths(table))))
        _set(table, path, data.draw(values))
    _validate(tmp_path, tomli_w.dumps(table).encode(), capsys)


@settings(max_examples=100, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=st.binary(max_size=200), prefix=st.sampled_from([b"", b'name = "x"\n']))
def test_bytes_that_are_not_a_study_are_a_clear_message(tmp_path, capsys, raw, prefix):
    _validate(tmp_path, prefix + raw, capsys)


@pytest.mark.parametrize("text", ["a = " + "[" * 500 + "]" * 500,
                                  "a = " + "{b = " * 300 + "1" + "}" * 300,
                                  "[" + ".".join(["t"] * 2000) + "]"])
def test_deep_nesting_is_a_clear_message(tmp_path, capsys, text):
    _validate(tmp_path, text.encode(), capsys)


def _hostile(tmp_path: Path) -> dict[str, Path]:
    (tmp_path / "file.txt").write_text("keep")
    (tmp_path / "dangling").symlink_to(tmp_path / "nowhere")
    (tmp_path / "loop").symlink_to(tmp_path / "loop")
    os.mkfifo(tmp_path / "fifo")
    return {"proc": Path("/proc/x.zarr"), "sys": Path("/sys/x.zarr"), "dev null":
            Path("/dev/null"), "root": Path("/"), "dot": Path("."), "dotdot": Path(".."),
            "file": tmp_path / "file.txt", "inside file": tmp_path / "file.txt" / "x.zarr",
            "dangling link": tmp_path / "dangling", "link loop": tmp_path / "loop",
            "fifo": tmp_path / "fifo", "no parent": tmp_path / "a" / "b" / "c.zarr",
            "long name": tmp_path / ("x" * 252 + ".zarr"), "empty": Path(""),
            "newline": tmp_path / "a\nb.zarr", "study file": ROOT / "studies" / "baseline.toml",
            "the repository": ROOT}


HOSTILE = ["proc", "sys", "dev null", "root", "dot", "dotdot", "file", "inside file",
           "dangling link", "link loop", "fifo", "no parent", "long name", "empty", "newline",
           "study file", "the repository"]


@pytest.mark.parametrize("which", HOSTILE)
def test_a_hostile_out_path_is_ok_or_a_clear_message(tmp_path, capsys, monkeypatch, which):
    monkeypatch.chdir(tmp_path)
    out = _hostile(tmp_path)[which]
    before = sorted(p.name for p in tmp_path.iterdir())
    code = cli.main(["run", str(ROOT / "studies" / "baseline.toml"), "--n", "64",
                     "--quiet", "--out", str(out)])
    err = capsys.readouterr().err
    assert code in (0, 2) and "Traceback" not in err
    if code == 2:
        assert len(err.strip().splitlines()) == 1, err
        assert sorted(p.name for p in tmp_path.iterdir()) == before
    assert (tmp_path / "file.txt").read_text() == "keep"


# --- stores whose metadata is not what reesens wrote -------------------------------------

json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-2**64, 2**64), st.floats(),
              st.text(max_size=12), st.sampled_from(["NaN", "days since 2000-01-01", "eq",
                                                     "float64", "int8", ""])),
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=10)


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """A finished store of the baseline study at N = 64, and what `show` prints of it."""
    store = tmp_path_factory.mktemp("fuzzed") / "s.zarr"
    assert cli.main(["run", str(ROOT / "studies" / "baseline.toml"), "--n", "64",
                     "--quiet", "--out", str(store)]) == 0
    return store


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_zarr_json_is_refused_in_one_line_or_shows_the_true_numbers(finished, capsys,
                                                                        data):
    """Any JSON value at any key of any node's zarr.json (or bytes that are not JSON):
    verify and show never raise; show either refuses in one line or prints exactly what
    it prints of the store as written."""
    capsys.readouterr()
    assert cli.main(["show", str(finished)]) == 0
    truth = capsys.readouterr().out
    node = data.draw(st.sampled_from(sorted(p.parent for p in finished.rglob("zarr.json"))))
    original = (node / "zarr.json").read_bytes()
    try:
        if data.draw(st.integers(0, 9)) == 0:
            (node / "zarr.json").write_bytes(data.draw(st.binary(max_size=64)))
        else:
            meta = json.loads(original)
            table = meta["attributes"] if data.draw(st.booleans()) else meta
            key = data.draw(st.sampled_from(sorted(table) + ["scale_factor", "x"]))
            table[key] = data.draw(json_values)
            (node / "zarr.json").write_text(json.dumps(meta))
        verified = cli.main(["verify", str(finished)])
        capsys.readouterr()
        shown = cli.main(["show", str(finished)])
        out, err = capsys.readouterr()
        assert verified in (0, 1, 2) and shown in (0, 2) and "Traceback" not in err
        if shown == 2:
            assert len(err.strip().splitlines()) == 1, err
        else:
            assert verified == 0 and out == truth
    finally:
        (node / "zarr.json").write_bytes(original)
