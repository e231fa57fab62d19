"""Stores that can be trusted: damaged chunks are found and repaired, unfinished runs are
refused, paths that are not reesens' are never touched, studies too large for the machine
are refused before any work, and worker processes die with their run."""
import hashlib
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import zarr

from reesens import cli
from reesens.execute import tasks as parallel
from reesens.methods.sobol import indices
from reesens.methods.sobol.moments import STATISTICS
from reesens.runs import montecarlo as run
from reesens.store import blocks, integrity, ownership
from reesens.study.parse import parse
from tests.engine.test_faults import _faulty, _grid_study, _study
from tests.runs.test_limits import refused_peak
from tests.runs.test_pipeline import _data_bytes, _woods_table

ROOT = Path(__file__).resolve().parents[2]
RUN_ARGS = ["--quiet", "--estimator", "streaming", "--keep-samples", "--workers", "1"]


def _tree(path: Path) -> dict:
    """{relative path: sha256 or 'dir' or link target} of everything under path."""
    out = {}
    for p in sorted(Path(path).rglob("*")):
        rel = str(p.relative_to(path))
        out[rel] = (f"-> {os.readlink(p)}" if p.is_symlink() else "dir" if p.is_dir()
                    else hashlib.sha256(p.read_bytes()).hexdigest())
    return out


@pytest.fixture(scope="module")
def pristine(tmp_path_factory):
    """A finished Monte Carlo store (kept samples) and a finished grid store."""
    base = tmp_path_factory.mktemp("pristine")
    study, grid_study = _study(base), _grid_study(base)
    assert cli.main(["run", str(study), "--out", str(base / "run.zarr"), *RUN_ARGS]) == 0
    assert cli.main(["grid", str(grid_study), "--out", str(base / "grid.zarr"),
                     "--quiet"]) == 0
    return base


CHUNKS = {  # kind of array -> (store, a chunk of it, what verify names)
    "block statistics": ("run", "blocks/block_base_mean/c/1/0/0", "block_base_mean"),
    "slice counts": ("run", "blocks/block_slice_counts/c/2/0/0/0/0", "block_slice_counts"),
    "pawn": ("run", "pawn/pawn_max/c/0/0", "pawn/pawn_max"),
    "given data": ("run", "given_data/given_data_S1/c/0/0", "given_data/given_data_S1"),
    "block digests": ("run", "blocks/block_digest/c/1/0", "block_digest"),
    "done flags": ("run", "blocks/block_done/c/1", "block 1"),
    "samples": ("run", "samples/eq/c/1", "samples/eq"),
    "sobol": ("run", "sobol/sobol_ST/c/0/0", "sobol/sobol_ST"),
    "region counts": ("run", "blocks/block_region_counts/c/1/0/0/0/0",
                      "block_region_counts"),
    "rsa": ("run", "rsa/rsa_ks/c/0/0", "rsa/rsa_ks"),
    "reservoir": ("run", "reservoir/reservoir_x/c/0/0", "reservoir/reservoir_x"),
    "prim": ("run", "prim/prim_lower/c/0/0", "prim/prim_lower"),
    "rules": ("run", "rules/rules_rule/c/0/0", "rules/rules_rule"),
    "summary": ("run", "summary/summary_mean/c/0", "summary/summary_mean"),
    "template coordinates": ("run", "blocks/series/c/0", "blocks/series"),
    "grid cube": ("grid", "grid/eq/c/1/0/0", "grid/eq"),
    "grid done flags": ("grid", "grid/grid_chunk_done/c/1", "grid chunk 1"),
    "grid counts": ("grid", "grid/grid_chunk_counts/c/1/0", "grid/grid_chunk_counts"),
}


def _damage(chunk: Path, how: str) -> None:
    data = chunk.read_bytes()
    if how == "flip":
        chunk.write_bytes(data[:len(data) // 2] + bytes([data[len(data) // 2] ^ 0x10])
                          + data[len(data) // 2 + 1:])
    elif how == "truncate":
        chunk.write_bytes(data[:len(data) // 2])
    else:
        chunk.unlink()


@pytest.mark.parametrize("how", ["flip", "truncate", "delete"])
@pytest.mark.parametrize("kind", list(CHUNKS))
def test_a_damaged_chunk_is_named_refused_and_repaired(pristine, tmp_path, capsys, kind, how):
    which, chunk, named = CHUNKS[kind]
    store = tmp_path / f"{which}.zarr"
    shutil.copytree(pristine / f"{which}.zarr", store)
    expected = _data_bytes(store)
    assert (store / chunk).is_file(), sorted(expected)
    _damage(store / chunk, how)
    capsys.readouterr()
    assert cli.main(["verify", str(store)]) == 1
    out = capsys.readouterr().out
    assert "NOT intact" in out and "--resume" in out
    assert named in out, out
    if which == "run":
        assert cli.main(["show", str(store)]) == 2
        assert "reesens verify" in capsys.readouterr().err
    assert cli.main(["report", str(store), "--out", str(tmp_path / "report")]) == 2
    assert not (tmp_path / "report").exists()
    study = _study(tmp_path) if which == "run" else _grid_study(tmp_path)
    args = RUN_ARGS if which == "run" else ["--quiet"]
    assert cli.main([which, str(study), "--out", str(store), *args, "--resume"]) == 0
    assert _data_bytes(store) == expected
    assert cli.main(["verify", str(store)]) == 0


def test_a_block_copied_onto_another_is_found(pristine, tmp_path, capsys):
    """Block 1's chunks and digests copied onto block 0 agree with each other, but the
    digests are salted with the block: verify names it and a resume repairs it."""
    store = tmp_path / "run.zarr"
    shutil.copytree(pristine / "run.zarr", store)
    expected = _data_bytes(store)
    copied = 0
    for chunk in sorted(store.glob("*/*/c/1*")):
        array = chunk.parent.parent.relative_to(store)
        if str(array) in ("blocks/block_done", "samples/sample"):
            continue
        for part in [chunk] if chunk.is_file() else sorted(p for p in chunk.rglob("*")
                                                          if p.is_file()):
            target = store / array / "c" / "0" / part.relative_to(chunk)
            shutil.copyfile(part, target)
            copied += 1
    assert copied >= 8
    assert cli.main(["verify", str(store)]) == 1
    assert "block 0: blocks/block_base_mean does not match its checksum" in \
        capsys.readouterr().out
    assert cli.main(["run", str(_study(tmp_path)), "--out", str(store), *RUN_ARGS]) == 0
    assert _data_bytes(store) == expected


def test_the_merge_refuses_statistics_that_changed(pristine, tmp_path):
    store = tmp_path / "run.zarr"
    shutil.copytree(pristine / "run.zarr", store)
    (store / "blocks/block_row_stats/c/2/0/0").unlink()
    with pytest.raises(integrity.IntegrityError, match="statistics of block 2 changed"):
        blocks.read_blocks(store, STATISTICS, slice(0, 4), "statistics")


def test_an_unfinished_run_is_refused_by_show_report_and_verify(tmp_path, capsys):
    study = _study(tmp_path)
    store = tmp_path / "killed.zarr"
    killed = _faulty("kill:blocks/block_done/c/2:1", "run", study, store, RUN_ARGS)
    assert killed.returncode == -9
    for command, code in (("show", 2), ("report", 2), ("verify", 1)):
        assert cli.main([command, str(store)]) == code
        text = "".join(capsys.readouterr())
        assert re.search(r"run not finished: [0-3] of 4 blocks done", text), (command, text)
        assert f"--out {store} " in text and "--resume" in text, text
    assert not (tmp_path / "killed-report").exists()


def test_a_resume_evaluates_only_the_blocks_not_done(tmp_path, monkeypatch):
    table = _woods_table(analysis={"estimator": "streaming"})
    store = tmp_path / "s.zarr"
    run.run(parse(table), out=store, progress=False)
    expected = _data_bytes(store)
    flags = zarr.open_group(store, mode="r+", use_consolidated=False)["blocks/block_done"]
    flags[1] = flags[2] = 0
    evaluated = []
    task = parallel.blocks_task

    def counting(study, spec, edges, block_ids, *args):
        evaluated.extend(block_ids)
        return task(study, spec, edges, block_ids, *args)

    monkeypatch.setattr(parallel, "blocks_task", counting)
    run.run(parse(table), out=store, progress=False, resume=True)
    assert sorted(evaluated) == [1, 2]
    assert _data_bytes(store) == expected


def test_a_failed_data_write_leaves_the_block_not_done(tmp_path, capsys):
    study = _study(tmp_path)
    store = tmp_path / "s.zarr"
    failed = _faulty("enospc:blocks/block_row_stats/c/1/0/0:1", "run", study, store,
                     RUN_ARGS)
    assert failed.returncode == 2 and "the disk is full" in failed.stderr
    done = zarr.open_group(store, mode="r", use_consolidated=False)["blocks/block_done"][:]
    assert done[1] == 0 and not (store / "blocks/block_row_stats/c/1/0/0").exists()


def test_a_plain_run_removes_a_stale_convergence_group(tmp_path):
    from tests.models import ishigami
    study = parse(ishigami.study_table(N=2**8, block_points=2**6))
    store = tmp_path / "c.zarr"
    run.run(study, out=store, progress=False, target_ci=1.0)
    assert (store / "convergence").exists()
    run.run(study, out=store, progress=False)
    assert not (store / "convergence").exists()
    assert zarr.open_group(store, mode="r").attrs[ownership.RESULTS] == ["sobol", "summary"]


def test_nan_indices_always_carry_a_reason():
    # rows (series, 3): count, mean, M2 over 80 rows
    rows = np.array([[80, 1e-200, 5e-324],  # variance underflows to 0
                     [80, 1.0, 1.0],  # an ordinary output
                     [70, 1.0, 1.0],  # NaN rows
                     [80, 1.0, 0.0]])  # constant
    reasons = indices.skip_reasons(rows, 80)
    assert reasons[0].startswith("variance underflow") and reasons[1] == ""
    assert reasons[2] == "10 NaN rows" and reasons[3] == "constant output"
    arrays = {"S1": np.array([[0.1, np.nan], [0.1, 0.2]]),
              "ST": np.array([[0.1, 0.2], [0.1, 0.2]])}
    explained = indices.explain_nan(arrays, np.array(["", ""], dtype=object))
    assert explained[0].startswith("estimates not finite") and explained[1] == ""


# --- paths that are not ours ------------------------------------------------------------

@pytest.fixture()
def places(tmp_path):
    """A thesis directory, a finished store, a foreign zarr store, links to them."""
    thesis = tmp_path / "thesis_dir"
    (thesis / "data").mkdir(parents=True)
    (thesis / "thesis.tex").write_text("\\documentclass{book}")
    (thesis / "data" / "table.csv").write_text("a,b\n1,2\n")
    store = tmp_path / "store.zarr"
    assert cli.main(["run", str(_study(tmp_path)), "--out", str(store), *RUN_ARGS]) == 0
    foreign = tmp_path / "foreign.zarr"
    zarr.open_group(foreign, mode="w").attrs["owner"] = "someone else"
    for name, target in (("to_thesis", thesis), ("to_group", store / "sobol"),
                         ("to_foreign", foreign), ("dangling", tmp_path / "nowhere")):
        (tmp_path / name).symlink_to(target)
    return tmp_path


@pytest.mark.parametrize("out, message", [
    ("thesis_dir", "a directory that is not a reesens store"),
    ("store.zarr/sobol", "is inside the zarr store or group"),
    ("store.zarr/new.zarr", "is inside the zarr store or group"),
    ("foreign.zarr", "a zarr store or group that reesens did not write"),
    ("to_thesis", "a directory that is not a reesens store"),
    ("to_group", "is inside the zarr store or group"),
    ("to_foreign", "a zarr store or group that reesens did not write"),
    ("dangling", "a symbolic link to"),
    ("thesis_dir/thesis.tex", "exists and is not a directory"),
])
def test_overwrite_never_touches_what_is_not_ours(places, capsys, out, message):
    other = places / "other.toml"
    other.write_text(_study(places).read_text().replace("seed = 20251123", "seed = 2"))
    before = _tree(places)
    for extra in ([], ["--overwrite"]):
        assert cli.main(["run", str(other), "--out", str(places / out), *RUN_ARGS,
                         *extra]) == 2
        err = capsys.readouterr().err
        assert message in err and len(err.strip().splitlines()) == 1, err
        assert "--overwrite" not in err
    assert _tree(places) == before


def test_a_store_holding_a_file_of_the_user_is_not_overwritten(places, capsys):
    (places / "store.zarr" / "notes.txt").write_text("mine")
    before = _tree(places)
    assert cli.main(["run", str(_study(places)), "--out", str(places / "store.zarr"),
                     *RUN_ARGS, "--overwrite"]) == 2
    assert "files reesens did not write (notes.txt)" in capsys.readouterr().err
    assert _tree(places) == before


def test_the_lock_is_taken_on_the_real_path(places, capsys):
    (places / "link.zarr").symlink_to(places / "store.zarr")
    other = places / "other.toml"
    other.write_text(_study(places).read_text().replace("seed = 20251123", "seed = 2"))
    before = _tree(places)
    with ownership.StoreLock(places / "store.zarr"):
        assert cli.main(["run", str(other), "--out", str(places / "link.zarr"), *RUN_ARGS,
                         "--overwrite"]) == 2
        assert "another reesens run is writing" in capsys.readouterr().err
        assert _tree(places).keys() - before.keys() == {".store.zarr.reesens-lock"}
    with ownership.StoreLock(places / "link.zarr"):  # the lock of the link is the store's
        assert cli.main(["run", str(other), "--out", str(places / "store.zarr"), *RUN_ARGS,
                         "--overwrite"]) == 2
        assert "another reesens run is writing" in capsys.readouterr().err
    assert _tree(places) == before
    assert cli.main(["run", str(other), "--out", str(places / "link.zarr"), *RUN_ARGS,
                     "--overwrite"]) == 0  # through the link, onto the real store
    assert (places / "link.zarr").is_symlink()
    assert zarr.open_group(places / "store.zarr", mode="r").attrs["seed"] == 2


# --- limits before work --------------------------------------------------------------------

def _huge(tmp_path, text: str, name: str) -> Path:
    path = tmp_path / f"{name}.toml"
    path.write_text(text)
    return path


MC = (ROOT / "studies" / "baseline.toml").read_text()


@pytest.mark.parametrize("name, text, field, resource", [
    ("n_2_40", MC.replace("N = 65536", "N = 1099511627776"), "sampling.N", "disk"),
    ("resamples", MC.replace("resamples = 100", 'resamples = 1000000000\n'
                             'intervals = "bootstrap"\nestimator = "streaming"'),
     "analysis.resamples", "memory"),
    ("grid_1e12", """name = "huge"
[parameters]
[grid]
A = { linspace = [0.1, 1.0, 100] }
gamma = { linspace = [0.1, 1.0, 100] }
delta = { linspace = [1.0, 5.0, 100] }
phi_D = { linspace = [0.05, 1.0, 100] }
kappa = { linspace = [0.05, 1.0, 100] }
p = { linspace = [0.05, 0.95, 100] }
""", "grid", "disk"),
])
def test_what_cannot_fit_is_refused_before_any_work(tmp_path, capsys, name, text, field,
                                                    resource):
    study = _huge(tmp_path, text, name)
    peak = refused_peak(study)
    err = capsys.readouterr().err
    assert f"{study}: {field}: the study needs about " in err and f"of {resource}" in err
    assert "would fit" in err or "needs less" in err
    assert peak < 64 * 2**20, peak  # estimated, not attempted
    command = "grid" if name.startswith("grid") else "run"
    out = tmp_path / "out.zarr"
    assert cli.main([command, str(study), "--out", str(out), "--quiet"]) == 2
    assert field in capsys.readouterr().err
    assert not out.exists() and not out.with_name(".out.zarr.reesens-lock").exists()


# --- worker processes ---------------------------------------------------------------------

def test_worker_processes_die_with_their_parent(tmp_path):
    text = (ROOT / "studies" / "baseline.toml").read_text()
    study = tmp_path / "study.toml"
    study.write_text(text.replace("N = 65536", "N = 262144\nblock_points = 1024"))
    store = tmp_path / "s.zarr"
    parent = subprocess.Popen([sys.executable, "-m", "reesens", "run", str(study), "--out",
                               str(store), "--quiet", "--estimator", "streaming",
                               "--scheduler", "processes", "--workers", "2"], cwd=ROOT)
    deadline = time.time() + 300
    children = []
    while time.time() < deadline and parent.poll() is None:
        children = [int(p) for p in subprocess.run(["pgrep", "-P", str(parent.pid)],
                                                    capture_output=True, text=True
                                                    ).stdout.split()]
        try:
            if integrity.verified_units(store, "blocks", check=False)[0].sum() >= 2:
                break
        except Exception:  # noqa: BLE001 (the template is still being written)
            pass
        time.sleep(0.2)
    assert parent.poll() is None and children, "the run ended before it could be killed"
    os.kill(parent.pid, signal.SIGKILL)
    parent.wait()
    deadline = time.time() + 60
    while time.time() < deadline and any(Path(f"/proc/{c}").exists() and
                                         "Z" not in _state(c) for c in children):
        time.sleep(0.2)
    assert not [c for c in children if Path(f"/proc/{c}").exists() and "Z" not in _state(c)]


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "Z"
