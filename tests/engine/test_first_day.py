"""A researcher's first day through the command line: the defaults, the common option
combinations, the messages, one import name."""
import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
import zarr

from reesens.study import labels
from tests.interface.test_cli import BASELINE, ROOT, reesens

GRID_TWO_OPTIONS = """name = "two_options"
[model]
name = "woods"
concepts = ["paper", "verifiable"]
selections = ["china", "foreign"]
[parameters]
A = { value = 0.5 }
gamma = { value = 0.5 }
delta = { value = 2.0 }
phi_D = { value = 0.4 }
[grid]
kappa = { linspace = [0.05, 1.0, 12] }
p = { linspace = [0.05, 0.95, 10] }
outputs = ["eq"]
"""


def _baseline(tmp_path, N=256, block_points=64, **sampling) -> Path:
    """The shipped baseline study at a small N (and any other [sampling] keys)."""
    text = BASELINE.read_text().replace(
        "N = 65536", f"N = {N}\nblock_points = {block_points}"
        + "".join(f"\n{k} = {json.dumps(v)}" for k, v in sampling.items()))
    path = tmp_path / "study.toml"
    path.write_text(text)
    return path


def test_default_estimator_is_streaming(tmp_path):
    done = reesens("run", _baseline(tmp_path), "--out", tmp_path / "s.zarr", "--quiet")
    assert done.returncode == 0, done.stderr
    assert "streaming estimator" in done.stdout
    assert xr.open_zarr(tmp_path / "s.zarr", group="sobol").attrs["estimator"] == "streaming"


def test_grid_of_two_swept_options_reports_and_shows(tmp_path):
    study = tmp_path / "two.toml"
    study.write_text(GRID_TWO_OPTIONS)
    store = tmp_path / "g.zarr"
    done = reesens("grid", study, "--out", store, "--quiet", "--report")
    assert done.returncode == 0, done.stderr
    report_dir = tmp_path / "g-report"
    assert {p.name for p in report_dir.iterdir()} >= {
        "phase_kappa_p.png", "disagreement_kappa_p.png", "summary.md"}
    shown = reesens("show", store)
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert lines[0] == "grid: concept 2 x selection 2 x kappa 12 x p 10 = 480 cells"
    eq = xr.open_zarr(store, group="grid")["eq"].values
    meanings = xr.open_zarr(store, group="grid")["eq"].attrs["flag_meanings"].split()
    values = xr.open_zarr(store, group="grid")["eq"].attrs["flag_values"]
    codes, counts = np.unique(eq, return_counts=True)
    expected = ", ".join(f"{labels.code_words(meanings[values.index(c)])} "
                         f"{labels.share(int(n), eq.size)}" for c, n in zip(codes, counts))
    assert lines[1] == f"eq: {expected}"
    summary = (report_dir / "summary.md").read_text()
    assert f"- eq: {expected}." in summary


def test_report_out_is_never_a_file_or_someone_elses_directory(tmp_path):
    store = tmp_path / "s.zarr"
    assert reesens("run", _baseline(tmp_path), "--out", store, "--quiet").returncode == 0
    notes = tmp_path / "notes.txt"
    notes.write_text("keep me")
    as_file = reesens("report", store, "--out", notes)
    assert as_file.returncode == 2 and "Traceback" not in as_file.stderr
    assert f"{notes}: exists and is not a directory" in as_file.stderr
    assert notes.read_text() == "keep me"
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    (theirs / "summary.md").write_text("my own summary")
    refused = reesens("report", store, "--out", theirs)
    assert refused.returncode == 2 and "not a reesens report directory" in refused.stderr
    assert (theirs / "summary.md").read_text() == "my own summary"
    # a report directory is ours: a second report replaces the first one's files
    ours = tmp_path / "ours"
    assert reesens("report", store, "--out", ours).returncode == 0
    (ours / "sobol_old_case.png").write_bytes(b"")  # as if left by an earlier report
    marker = ours / ".reesens-report"
    marker.write_text(marker.read_text() + "sobol_old_case.png\n")
    again = reesens("report", store, "--out", ours)
    assert again.returncode == 0, again.stderr
    assert not (ours / "sobol_old_case.png").exists() and (ours / "summary.md").exists()


def test_version_and_module_entry():
    from importlib.metadata import version
    done = reesens("--version")
    assert done.returncode == 0 and done.stdout.strip() == f"reesens {version('reesens')}"
    module = subprocess.run([sys.executable, "-m", "reesens", "--version"],
                            capture_output=True, text=True)
    assert module.returncode == 0 and module.stdout == done.stdout


def test_show_into_a_closed_pipe_is_quiet(tmp_path):
    store = tmp_path / "s.zarr"
    assert reesens("run", _baseline(tmp_path), "--out", store, "--quiet").returncode == 0
    script = Path(sys.executable).with_name("reesens")
    process = subprocess.Popen([str(script), "show", str(store)], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    process.stdout.close()  # the reader is gone before the table is printed (`| head -0`)
    with process.stderr:
        stderr = process.stderr.read()
    assert process.wait(timeout=120) == 2
    assert stderr == ""


def test_target_ci_without_max_n_grows_and_says_it_missed(tmp_path):
    store = tmp_path / "c.zarr"
    study = _baseline(tmp_path, N=64, block_points=64)
    done = reesens("run", study, "--out", store, "--quiet", "--target-ci", "1e-6")
    assert done.returncode == 0, done.stderr
    conv = xr.open_zarr(store, group="convergence")
    assert conv["N"].values.tolist() == [64 * 2**k for k in range(7)]  # up to 64 N
    assert conv.attrs["target_met"] is False and conv.attrs["N_reached"] == 64 * 64
    widest = float(conv["sobol_ST_conf"].isel(N=-1).max())
    assert conv.attrs["widest_half_width"] == pytest.approx(widest)
    assert (f"target ST half-width 1e-06 NOT met: the widest half-width is {widest:.3g} at "
            f"N = 4096") in done.stdout
    assert reesens("report", store, "--out", tmp_path / "r").returncode == 0
    assert "target ST half-width 1e-06 NOT met" in (tmp_path / "r" / "summary.md").read_text()


def test_target_ci_met_is_said_and_max_n_alone_is_refused(tmp_path):
    study = _baseline(tmp_path, N=64, block_points=64)
    done = reesens("run", study, "--out", tmp_path / "m.zarr", "--quiet", "--target-ci",
                   "0.5", "--max-n", "256")
    assert done.returncode == 0, done.stderr
    conv = xr.open_zarr(tmp_path / "m.zarr", group="convergence")
    assert conv.attrs["target_met"] is True
    assert f"target ST half-width 0.5 met at N = {conv.attrs['N_reached']}" in done.stdout
    alone = reesens("run", study, "--out", tmp_path / "x.zarr", "--max-n", "256")
    assert alone.returncode == 2 and "--max-n bounds the growth of N for --target-ci" in \
        alone.stderr
    assert not (tmp_path / "x.zarr").exists()


def test_salib_estimator_resumes_without_redoing_blocks(tmp_path):
    study = _baseline(tmp_path, N=512, block_points=64)
    args = ["--estimator", "salib", "--workers", "1"]
    reference = reesens("run", study, "--out", tmp_path / "ref.zarr", *args)
    assert reference.returncode == 0, reference.stderr
    assert [line for line in reference.stderr.splitlines() if line.startswith("block")] == [
        f"block {k}/8" for k in range(1, 9)]
    assert "SALib analysis of series 16/16" in reference.stderr
    killed = subprocess.run(
        [sys.executable, "-m", "tests.engine.faults", "kill:blocks/block_done/c/3:1", "--",
         "run", str(study), "--out", str(tmp_path / "s.zarr"), *args], cwd=ROOT,
        capture_output=True, text=True, timeout=600)
    assert killed.returncode == -9, killed.stderr
    done = int(zarr.open_group(tmp_path / "s.zarr", mode="r")["blocks/block_done"][:].sum())
    assert done < 8  # dask may have run other blocks before block 3
    resumed = reesens("run", study, "--out", tmp_path / "s.zarr", *args, "--resume")
    assert resumed.returncode == 0, resumed.stderr
    blocks = [line for line in resumed.stderr.splitlines() if line.startswith("block")]
    assert blocks == [f"block {k}/8" for k in range(done + 1, 9)]  # only those not done
    for name in ("sobol_S1", "sobol_ST", "sobol_S1_conf", "sobol_ST_conf"):
        a = xr.open_zarr(tmp_path / "s.zarr", group="sobol")[name].values
        b = xr.open_zarr(tmp_path / "ref.zarr", group="sobol")[name].values
        assert a.tobytes() == b.tobytes(), name


def test_explicit_out_creates_missing_folders_but_not_inside_a_store(tmp_path):
    study = _baseline(tmp_path)
    deep = tmp_path / "new" / "folder" / "s.zarr"
    done = reesens("run", study, "--out", deep, "--quiet")
    assert done.returncode == 0, done.stderr
    assert (deep / "zarr.json").exists()
    inside = reesens("run", study, "--out", deep / "sub" / "x.zarr", "--quiet")
    assert inside.returncode == 2 and "is inside the zarr store" in inside.stderr
    assert not (deep / "sub").exists()


def _problems(tmp_path, text: str) -> list[str]:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    done = reesens("validate", path)
    assert done.returncode == 2
    return [line.strip().removeprefix(f"{path}: ") for line in done.stderr.splitlines()[1:]]


def test_one_message_per_real_problem(tmp_path):
    text = BASELINE.read_text().replace("N = 65536", "N = 5000").replace(
        "seed = 20251123", "seed = 0")
    assert _problems(tmp_path, text) == [
        "sampling.N: must be a power of two >= 1, got 5000 (nearest: 4096 or 8192)",
        "sampling.seed: must be an integer in [1, 2^63), got 0"]


def test_messages_name_the_type_and_the_fix(tmp_path):
    text = BASELINE.read_text()
    quoted = text.replace('A = { dist = "unif", lower = 0.1,',
                          'A = { dist = "unif", lower = "0.1",')
    assert quoted != text
    assert _problems(tmp_path, quoted) == [
        'parameters.A: lower = "0.1" (a string): must be a finite number (write it without '
        'quotes)']
    normal = text.replace('delta = { dist = "unif", lower = 1.0, upper = 5.0',
                          'delta = { dist = "norm", mean = 2.0, sd = 1.0')
    assert normal != text
    (problem,) = _problems(tmp_path, normal)
    assert problem.startswith("parameters.delta: dist = 'norm' can produce values in")
    assert problem.endswith("use truncnorm (lower > 0) or lognorm for a positive parameter")
    alias = text.replace('p = { dist = "unif"', 'p = { dist = "uniform"')
    assert alias != text
    (problem,) = _problems(tmp_path, alias)
    assert problem.endswith('got dist = "uniform" (did you mean "unif"?)')


def test_another_run_onto_a_store_names_what_differs(tmp_path):
    store = tmp_path / "s.zarr"
    assert reesens("run", BASELINE, "--n", 256, "--out", store, "--quiet").returncode == 0
    bigger = reesens("run", BASELINE, "--n", 512, "--out", store, "--quiet")
    assert bigger.returncode == 2
    assert "differing in N: store 256, now 512; refusing" in bigger.stderr
    wide = reesens("run", ROOT / "studies" / "wide.toml", "--n", 256, "--out", store, "--quiet")
    assert wide.returncode == 2
    assert '; name: store "baseline", now "wide"; parameters.A.upper: store 1.0, now 3.0;' \
        in wide.stderr
    assert 'differing in analysis.methods: store ["sobol", "pawn", "delta", "given_dat..., ' \
           'now "(not set)";' in wide.stderr  # a long value is cut
    assert "study_json" not in wide.stderr


def test_validate_a_grid_study_counts_its_cells():
    done = reesens("validate", ROOT / "studies" / "baseline_grid.toml")
    assert done.returncode == 0
    assert "grid A 40 x gamma 40 x delta 40 x phi_D 40 x kappa 40 x p 40 = 4,096,000,000 " \
           "cells" in done.stdout
    assert "sampled parameters" not in done.stdout


def test_one_import_name():
    """The distribution installs the package `reesens` only; `engine` is not importable."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert all(p == "reesens" or p.startswith("reesens.") for p in config["packages"])
    code = ("import importlib.util, reesens, reesens, reesens.kernels; "
            "print(importlib.util.find_spec('engine'), importlib.util.find_spec('kernels'))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=os.path.expanduser("~"), check=True)
    assert done.stdout.strip() == "None None"
    requirements = " ".join(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
                            ["dependencies"])
    assert "matplotlib" in requirements and "pandas" in requirements  # imported directly


def test_make_run_installs_the_runtime_only():
    makefile = (ROOT / "Makefile").read_text()
    run_target = makefile.split("\nrun: ")[1].split("\n\n")[0]
    assert run_target.startswith("$(RUNTIME)")
    runtime = makefile.split("$(RUNTIME): pyproject.toml\n")[1].split("\n\n")[0]
    assert 'pip install --quiet -e .\n' in runtime + "\n" and "[test" not in runtime


def test_store_of_another_study_keeps_its_blocks(tmp_path):
    """The refusal above touches nothing: the store still verifies."""
    store = tmp_path / "s.zarr"
    assert reesens("run", BASELINE, "--n", 256, "--out", store, "--quiet").returncode == 0
    before = zarr.open_group(store, mode="r").attrs.asdict()
    assert reesens("run", BASELINE, "--n", 512, "--out", store).returncode == 2
    assert zarr.open_group(store, mode="r").attrs.asdict() == before
    assert reesens("verify", store).returncode == 0


def test_a_smaller_n_onto_a_target_ci_store_counts_only_its_own_blocks(tmp_path):
    store = tmp_path / "c.zarr"
    study = _baseline(tmp_path, N=64, block_points=64)
    met = reesens("run", study, "--out", store, "--target-ci", "1.0", "--max-n", "256")
    assert met.returncode == 0, met.stderr
    assert [line for line in met.stderr.splitlines() if line.startswith("block")] == [
        "block 1/4"]  # met at N = 64: one of the four blocks the template holds
    more = reesens("run", study, "--out", store, "--n", "128")
    assert more.returncode == 0, more.stderr
    assert [line for line in more.stderr.splitlines() if line.startswith("block")] == [
        "block 2/2"]  # block 0 reused, block 1 computed; the bar is this run's
    assert reesens("verify", store).returncode == 0
    assert xr.open_zarr(store, group="sobol").attrs["N"] == 128
