"""A real dask.distributed cluster: `dask scheduler` and `dask worker` processes started
from their command line, and `reesens run --scheduler-file` against them. Same bytes as a
local run; a worker killed (-9) mid-run costs nothing; a scheduler killed mid-run is one
line, exit 2 and the resume command, and a resume on local threads finishes the store
with the same bytes; workers that see another filesystem are refused before any block."""
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import zarr

from tests.runs.test_pipeline import _data_bytes

ROOT = Path(__file__).resolve().parents[2]
DASK = str(Path(sys.executable).with_name("dask"))
BLOCKS = 32  # blocks of the study below: a run long enough to lose a process in


def _study(tmp_path) -> Path:
    text = (ROOT / "studies" / "baseline.toml").read_text()
    path = tmp_path / "study.toml"
    path.write_text(text.replace("N = 65536", f"N = {BLOCKS * 256}\nblock_points = 256"))
    return path


def _start(args, **kwargs) -> subprocess.Popen:
    return subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True, **kwargs)


def _wait(condition, what: str, limit: float = 60.0) -> None:
    end = time.monotonic() + limit
    while not condition():
        if time.monotonic() > end:
            raise TimeoutError(what)
        time.sleep(0.05)


class Cluster:
    """A scheduler and workers as separate processes, through a scheduler file."""

    def __init__(self, tmp_path: Path, workers: int = 2):
        self.file = tmp_path / "scheduler.json"
        self.scheduler = _start([DASK, "scheduler", "--scheduler-file", str(self.file),
                                 "--no-dashboard", "--port", "0"])
        _wait(self.file.exists, "the scheduler file")
        self.workers = [self.worker() for _ in range(workers)]
        self.wait_for(workers)

    def worker(self, prefix=()) -> subprocess.Popen:
        return _start([*prefix, DASK, "worker", "--scheduler-file", str(self.file),
                       "--nthreads", "1", "--no-dashboard", "--no-nanny"],
                      env={**os.environ, "NUMBA_NUM_THREADS": "1"})

    def wait_for(self, n: int) -> None:
        from distributed import Client
        with Client(scheduler_file=str(self.file), timeout=30) as client:
            client.wait_for_workers(n, timeout=60)

    def close(self) -> None:
        for p in [*self.workers, self.scheduler]:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
            p.wait()


@pytest.fixture
def cluster(tmp_path):
    found = Cluster(tmp_path)
    yield found
    found.close()


def _reesens(*args) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "reesens", *map(str, args)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _finish(process: subprocess.Popen, timeout: float) -> tuple[int, str, str]:
    """(exit status, stdout, stderr) of a _reesens process, its pipes closed."""
    out, err = process.communicate(timeout=timeout)
    return process.returncode, out, err


def _done(store: Path) -> int:
    try:
        return int(np.asarray(zarr.open_array(store=str(store), path="blocks/block_done",
                                              mode="r")[:]).sum())
    except Exception:  # noqa: BLE001 (not written yet)
        return 0


def local_bytes(tmp: Path) -> dict:
    """The data bytes of the study run on two local threads."""
    store = tmp / "local.zarr"
    status, _, err = _finish(_reesens("run", _study(tmp), "--out", store, "--quiet",
                                      "--workers", "2"), 600)
    assert status == 0, err
    return _data_bytes(store)


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    return local_bytes(tmp_path_factory.mktemp("local"))


def test_a_cluster_from_the_command_line_writes_the_local_bytes(cluster, tmp_path,
                                                                reference):
    store = tmp_path / "cluster.zarr"
    status, _, err = _finish(_reesens("run", _study(tmp_path), "--out", store, "--quiet",
                                      "--scheduler-file", cluster.file), 600)
    assert status == 0, err
    assert _data_bytes(store) == reference


def test_a_worker_killed_mid_run_costs_nothing(cluster, tmp_path, reference):
    """kill -9 of one worker once some blocks are done: its tasks run on the other, the
    store has the local bytes, and every block is written once (each block's flag and
    digest agree with its data: verify passes)."""
    store = tmp_path / "cluster.zarr"
    run = _reesens("run", _study(tmp_path), "--out", store, "--quiet",
                   "--scheduler-file", cluster.file)
    _wait(lambda: _done(store) >= 2 or run.poll() is not None, "two blocks")
    assert run.poll() is None, "the run ended before a worker could be lost"
    os.killpg(cluster.workers[0].pid, signal.SIGKILL)
    status, _, err = _finish(run, 600)
    assert status == 0, err
    assert _data_bytes(store) == reference
    status, out, _ = _finish(_reesens("verify", store), 120)
    assert status == 0, out


def test_a_scheduler_killed_mid_run_is_one_line_and_resumes_locally(cluster, tmp_path,
                                                                    reference):
    store = tmp_path / "cluster.zarr"
    study = _study(tmp_path)
    run = _reesens("run", study, "--out", store, "--quiet", "--scheduler-file", cluster.file)
    _wait(lambda: _done(store) >= 2 or run.poll() is not None, "two blocks")
    assert run.poll() is None, "the run ended before the scheduler could be lost"
    os.killpg(cluster.scheduler.pid, signal.SIGKILL)
    status, _, err = _finish(run, 300)
    assert status == 2, err
    err = err.strip()
    assert len(err.splitlines()) == 1, err
    assert "the dask scheduler at" in err and "is gone" in err and "--resume" in err, err
    status, _, err = _finish(_reesens("run", study, "--out", store, "--quiet", "--resume"),
                             600)
    assert status == 0, err
    assert _data_bytes(store) == reference


def _can_unshare() -> bool:
    """Whether this process may start one in a mount namespace of its own (root, and a
    container that allows it)."""
    return shutil.which("unshare") is not None and os.geteuid() == 0 and subprocess.run(
        ["unshare", "--mount", "true"], capture_output=True).returncode == 0


@pytest.mark.skipif(not _can_unshare(),
                    reason="a worker with a filesystem of its own needs root and unshare")
def test_workers_that_see_another_filesystem_are_refused_before_any_block(cluster,
                                                                          tmp_path):
    """A third worker in a mount namespace of its own, where the store's folder is an
    empty tmpfs: the run stops before any block with one line naming the cause."""
    outputs = tmp_path / "shared"
    outputs.mkdir()
    blind = cluster.worker(prefix=["unshare", "--mount", "--propagation", "private", "sh",
                                   "-c", f'mount -t tmpfs none "{outputs}" && exec "$0" "$@"'])
    cluster.workers.append(blind)
    cluster.wait_for(3)
    store = outputs / "cluster.zarr"
    status, _, err = _finish(_reesens("run", _study(tmp_path), "--out", store, "--quiet",
                                      "--scheduler-file", cluster.file), 300)
    assert status == 2, err
    err = err.strip()
    assert len(err.splitlines()) == 1, err
    assert "1 of the 3 dask workers see no such store" in err, err
    assert "on a filesystem they share" in err
    assert _done(store) == 0


def test_a_task_run_again_never_writes_a_block_already_done(tmp_path, monkeypatch):
    """What a lost worker's task does when the scheduler runs it again: blocks the store
    already flags done are skipped, the others written."""
    from reesens.evaluate import series
    from reesens.execute import tasks
    from reesens.runs import montecarlo as run
    from reesens.store import blocks as store_blocks
    from reesens.study import registry
    from reesens.study.parse import load
    study = load(_study(tmp_path), intervals="delta")
    store = tmp_path / "s.zarr"
    run.run(study, out=store, progress=False)
    plan = series.plan(study, "streaming")
    statistics = registry.statistics(plan)
    contexts = [s.prepare(plan) for s in statistics]
    written = []
    monkeypatch.setattr(store_blocks, "write_block",
                        lambda path, study, block, *rest: written.append(block))
    zarr.open_array(store=str(store), path="blocks/block_done", mode="r+")[3] = 0
    tasks.blocks_task([plan], statistics, contexts, [2, 3, 4], str(store), False, BLOCKS)
    assert written == [3]
