"""Study files: the shipped ones load; each bad one is refused naming file and field."""
from pathlib import Path

import pytest

from reesens.study.parse import default_block_points, load, parse
from reesens.study.schema import StudyError
from tests.models import ishigami

ROOT = Path(__file__).resolve().parents[2]
BAD = sorted((Path(__file__).parent / "bad_studies").glob("*.toml"))
SHIPPED = sorted((ROOT / "studies").glob("*.toml"))


def test_there_are_enough_bad_files_and_shipped_studies():
    assert len(BAD) >= 10
    assert {p.stem for p in SHIPPED} >= {"baseline", "wide", "paper_audit", "partners",
                                         "paper_audit_grid", "baseline_grid"}


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_shipped_studies_load(path):
    study = load(path)
    assert study.name == path.stem
    assert set(study.fixed) | set(study.sampled) | set(study.grid) == set(
        study.model.param_names)


@pytest.mark.parametrize("path", BAD, ids=lambda p: p.stem)
def test_bad_study_is_refused_with_file_and_field(path):
    expected = path.read_bytes().decode(errors="replace").splitlines()[0].removeprefix(
        "# expect: ")
    with pytest.raises(StudyError) as error:
        load(path)
    message = str(error.value)
    assert expected in message
    assert all(line.startswith(f"  {path}: ") for line in message.splitlines()[1:])


def test_every_problem_is_reported_at_once():
    table = ishigami.study_table(N=100)
    table["parameters"]["x1"] = {"dist": "unif", "lower": 1.0, "upper": -1.0}
    table["parameters"]["x4"] = {"value": 1.0}
    table["analysis"]["resamples"] = 0
    with pytest.raises(StudyError) as error:
        parse(table, "many.toml")
    fields = [p.split(":")[0] for p in error.value.problems]
    assert fields == ["parameters.x1", "parameters.x4", "sampling.N", "analysis.resamples"]


def test_missing_file_is_a_study_error(tmp_path):
    with pytest.raises(StudyError, match="cannot read the file"):
        load(tmp_path / "absent.toml")


def test_defaults_fill_bargaining_settings_and_command_line_overrides():
    study = load(ROOT / "studies" / "baseline.toml", N=64, second_order=True)
    assert (study.N, study.second_order) == (64, True)
    assert study.block_points == 64  # never more than N
    assert load(ROOT / "studies" / "baseline.toml", N=64,
                intervals="replicates").block_points == 8  # nor each scrambling's N
    assert load(ROOT / "studies" / "baseline.toml", N=2**20).block_points == 2**16
    assert load(ROOT / "studies" / "baseline.toml", N=2**22).block_points == 2**18
    assert load(ROOT / "studies" / "baseline.toml", N=2**22,
                intervals="replicates").block_points == 2**18
    assert [default_block_points(2**k) for k in (10, 16, 18, 22, 26, 30)] == [
        2**10, 2**14, 2**14, 2**18, 2**20, 2**20]
    assert default_block_points(2**26, rows_kept=True) == 2**16
    assert default_block_points(2**16, 2**13) == 2**13
    assert study.fixed == {"rho_C": 0.9, "rho_F": 0.9, "S": 1.0}


def test_a_missing_parameters_header_is_one_problem():
    path = Path(__file__).parent / "bad_studies" / "parameters_header_missing.toml"
    with pytest.raises(StudyError) as error:
        load(path)
    assert len(error.value.problems) == 1


def test_an_n_from_the_command_line_is_named_as_the_option():
    with pytest.raises(StudyError) as error:
        load(ROOT / "studies" / "baseline.toml", N=1000)
    assert error.value.problems == [
        "--n: must be a power of two >= 1, got 1000 (nearest: 512 or 1024)"]
