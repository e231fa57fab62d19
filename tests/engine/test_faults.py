"""Fault injection at every kind of store write (tests/engine/faults.py): a run and a grid
sweep killed there (or torn, or refused by a full or read-only disk) and run again end
with the bytes of an uninterrupted run, and nothing in between reads as a result."""
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from reesens import cli
from tests.methods.test_streaming import _metadata
from tests.runs.test_pipeline import _data_bytes

ROOT = Path(__file__).resolve().parents[2]
RUN_ARGS = ["--quiet", "--estimator", "streaming", "--intervals", "bootstrap",
            "--keep-samples", "--workers", "1"]
GRID_ARGS = ["--quiet", "--workers", "1"]


def _study(tmp_path) -> Path:
    text = (ROOT / "studies" / "baseline.toml").read_text()
    path = tmp_path / "study.toml"
    path.write_text(text.replace("N = 65536", "N = 256\nblock_points = 64"))
    return path


def _grid_study(tmp_path) -> Path:
    path = tmp_path / "grid.toml"
    path.write_text("""name = "g"
[model]
concepts = ["paper", "verifiable"]
[parameters]
A = { value = 0.5 }
gamma = { value = 0.5 }
delta = { value = 2.0 }
phi_D = { value = 0.5 }
[grid]
kappa = { linspace = [0.05, 1.0, 40] }
p = { linspace = [0.05, 0.95, 30] }
outputs = ["eq", "mu_star"]
""")
    return path


def _faulty(fault: str, command: str, study: Path, store: Path, args):
    """The CLI `command` on `study` into `store`, with `fault` (tests/engine/faults.py)."""
    return subprocess.run([sys.executable, "-m", "tests.engine.faults", fault, "--", command,
                           str(study), "--out", str(store), *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)


def _log(tmp_path, command, study, args) -> list[str]:
    log = tmp_path / f"{command}.log"
    done = _faulty(f"log:{log}", command, study, tmp_path / f"logged-{command}.zarr", args)
    assert done.returncode == 0, done.stderr
    return log.read_text().split()


def _kill_points(log: list[str], unit: str, members: str) -> list[tuple[str, str, int]]:
    """(mode, key, k): every write of the root's metadata, the first and last of each
    group's, every rename and deletion of a group, the first write of a template array and
    of a coordinate chunk, each write of the second unit written (its `members`) and torn
    writes of the identity, a unit's data and a done flag."""
    seen, points = {}, []
    total = {key: log.count(key) for key in set(log)}
    flags = [k for k in log if re.fullmatch(rf"{unit}/c/\d+", k)]
    second = flags[1].rsplit("/", 1)[1]
    first_flag = log.index(flags[0])
    stamp = max(i for i in range(first_flag) if log[i] == unit.split("/")[0] + "/zarr.json")
    coordinate = next(k for k in log[:stamp] if re.fullmatch(r"[a-z]+/\w+/c/0", k))
    template_array = next(k for k in log if re.fullmatch(r"[a-z]+/\w+/zarr\.json", k))

    def unit_write(i, key):
        return i > stamp and re.fullmatch(rf"({members})/c/{second}(/0)*", key)

    for i, key in enumerate(log):
        seen[key] = seen.get(key, 0) + 1
        if (key == "zarr.json" or key.startswith(("rename:", "rmtree:"))
                or (re.fullmatch(r"\w+/zarr\.json", key) and seen[key] in (1, total[key]))
                or (key in (coordinate, template_array) and seen[key] == 1)
                or unit_write(i, key)):
            points.append(("kill", key, seen[key]))
    data = next(k for i, k in enumerate(log) if unit_write(i, k) and not k.startswith(unit))
    points += [("torn", "zarr.json", 1), ("torn", data, 1), ("torn", f"{unit}/c/{second}", 1)]
    return points


def _check_faults(tmp_path, command, study, args, points, reference):
    """Each fault on a store of its own, then: `show` tells the truth, and the same
    command run again ends with the reference's bytes."""
    expected_data, expected_meta = _data_bytes(reference), _metadata(reference)
    stores = [tmp_path / f"fault{i}.zarr" for i in range(len(points))]
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda p: _faulty(f"{p[0][0]}:{p[0][1]}:{p[0][2]}", command,
                                                  study, p[1], args), zip(points, stores)))
    for point, store, killed in zip(points, stores, results):
        mode = point[0]
        assert killed.returncode == (-9 if mode in ("kill", "torn") else 2), (point,
                                                                           killed.stderr)
        if store.exists() and command == "run":
            shown = cli.main(["show", str(store)])
            assert shown == 2 or _data_bytes(store).items() >= {
                k: v for k, v in expected_data.items() if k.startswith("sobol/")}.items(), point
        again = cli.main([command, str(study), "--out", str(store), *args])
        assert again == 0, point
        assert _data_bytes(store) == expected_data, point
        assert _metadata(store) == expected_meta, point


def test_a_run_killed_at_any_write_resumes_to_the_same_bytes(tmp_path, capsys):
    study = _study(tmp_path)
    log = _log(tmp_path, "run", study, RUN_ARGS)
    points = _kill_points(log, "blocks/block_done", "blocks/block_[a-z_]+|samples/eq")
    kinds = {re.sub(r"\d+", "#", key) for _, key, _ in points}
    for needed in ("zarr.json", "blocks/zarr.json", "samples/zarr.json",
                   "blocks/block_base_mean/c/#/#/#", "blocks/block_bootstrap_mean/c/#/#/#/#",
                   "blocks/block_digest/c/#/#", "blocks/block_done/c/#", "samples/eq/c/#",
                   "staging_sobol/zarr.json", "staging_summary/zarr.json",
                   "rename:staging_sobol>sobol", "rename:staging_summary>summary"):
        assert needed in kinds, needed
    reference = tmp_path / "reference.zarr"
    assert cli.main(["run", str(study), "--out", str(reference), *RUN_ARGS]) == 0
    _check_faults(tmp_path, "run", study, RUN_ARGS, points, reference)


def test_a_rerun_killed_while_swapping_results_keeps_old_or_resumes(tmp_path, capsys):
    """A finished store re-run with new results (a --target-ci run met at N = 256, run
    again at N = 512 from the same blocks): killed at each step of replacing its results,
    it shows the old results or refuses, and a re-run completes."""
    study = _study(tmp_path)
    args = ["--quiet", "--workers", "1"]
    old_args = [*args, "--target-ci", "1.0", "--max-n", "512"]
    old = tmp_path / "old.zarr"
    assert cli.main(["run", str(study), "--out", str(old), *old_args]) == 0
    reference = tmp_path / "new.zarr"
    new_args = [*args, "--n", "512"]
    assert cli.main(["run", str(study), "--out", str(reference), *old_args]) == 0
    assert cli.main(["run", str(study), "--out", str(reference), *new_args]) == 0
    assert not (reference / "convergence").exists()
    points = [("kill", k, 1) for k in ("zarr.json", "staging_sobol/zarr.json",
                                      "rename:sobol>trash_sobol", "rmtree:trash_sobol",
                                      "rename:staging_sobol>sobol")]
    old_sobol = {k: v for k, v in _data_bytes(old).items() if k.startswith("sobol/")}
    for i, (mode, key, k) in enumerate(points):
        store = tmp_path / f"swap{i}.zarr"
        subprocess.run(["cp", "-a", str(old), str(store)], check=True)
        killed = _faulty(f"{mode}:{key}:{k}", "run", study, store, new_args)
        assert killed.returncode == -9, (key, killed.stderr)
        shown = cli.main(["show", str(store)])
        if shown == 0:  # the old results, untouched
            assert {k: v for k, v in _data_bytes(store).items()
                    if k.startswith("sobol/")} == old_sobol, key
        else:
            assert "run not finished" in capsys.readouterr().err, key
        assert cli.main(["run", str(study), "--out", str(store), *new_args]) == 0
        assert _data_bytes(store) == _data_bytes(reference), key


def test_an_overwrite_killed_at_any_step_resumes_as_the_new_run(tmp_path, capsys):
    """--overwrite of another run's store gives it the new identity first: killed before
    that, the old store is intact; killed while the old groups are deleted, it is the new
    run's unfinished store, which the plain command resumes."""
    study = _study(tmp_path)
    other = tmp_path / "other.toml"
    other.write_text(study.read_text().replace("seed = 20251123", "seed = 2"))
    args = ["--quiet", "--estimator", "streaming", "--workers", "1"]
    old, reference = tmp_path / "old.zarr", tmp_path / "reference.zarr"
    assert cli.main(["run", str(other), "--out", str(old), *args]) == 0
    assert cli.main(["run", str(study), "--out", str(reference), *args]) == 0
    old_bytes = _data_bytes(old)
    for i, key in enumerate(("zarr.json", "rmtree:blocks", "rmtree:sobol",
                             "rmtree:summary")):
        store = tmp_path / f"over{i}.zarr"
        shutil.copytree(old, store)
        killed = _faulty(f"kill:{key}:1", "run", study, store, [*args, "--overwrite"])
        assert killed.returncode == -9, (key, killed.stderr)
        capsys.readouterr()
        if key == "zarr.json":  # before the new identity: the old store, untouched
            assert _data_bytes(store) == old_bytes
            assert cli.main(["show", str(store)]) == 0
            again = [*args, "--overwrite"]
        else:
            assert cli.main(["show", str(store)]) == 2
            assert "run not finished" in capsys.readouterr().err, key
            again = args
        assert cli.main(["run", str(study), "--out", str(store), *again]) == 0, key
        assert _data_bytes(store) == _data_bytes(reference), key


def test_a_grid_sweep_killed_at_any_write_resumes_to_the_same_bytes(tmp_path, capsys):
    study = _grid_study(tmp_path)
    log = _log(tmp_path, "grid", study, GRID_ARGS)
    points = _kill_points(log, "grid/grid_chunk_done", "grid/[a-z_]+")
    assert {"grid/grid_chunk_digest", "grid/eq", "grid/mu_star"} <= {
        key.split("/c/")[0] for _, key, _ in points}
    reference = tmp_path / "reference.zarr"
    assert cli.main(["grid", str(study), "--out", str(reference), *GRID_ARGS]) == 0
    _check_faults(tmp_path, "grid", study, GRID_ARGS, points, reference)


@pytest.mark.parametrize("mode, advice", [("enospc", "the disk is full"),
                                          ("erofs", "a read-only file system")])
def test_a_full_or_read_only_disk_is_one_line_and_loses_nothing(tmp_path, capsys, mode,
                                                                advice):
    study = _study(tmp_path)
    args = ["--quiet", "--estimator", "streaming", "--workers", "1"]
    reference = tmp_path / "reference.zarr"
    assert cli.main(["run", str(study), "--out", str(reference), *args]) == 0
    for key, k in (("zarr.json", 1), ("blocks/block_base_mean/c/2/0/0", 1),
                   ("staging_sobol/zarr.json", 1)):
        store = tmp_path / f"{mode}-{k}-{key.replace('/', '_')}.zarr"
        failed = _faulty(f"{mode}:{key}:{k}", "run", study, store, args)
        assert failed.returncode == 2, failed.stderr
        lines = failed.stderr.strip().splitlines()
        assert len(lines) == 1 and advice in lines[0] and "Traceback" not in failed.stderr
        assert cli.main(["run", str(study), "--out", str(store), *args]) == 0
        assert _data_bytes(store) == _data_bytes(reference), key
