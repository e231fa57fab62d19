"""A real SLURM: a one-node cluster on localhost (munged, slurmctld, slurmd; Debian's
slurm-wlm, which `make test` installs where it runs as root with apt-get), and
`reesens run --cluster slurm` submitting real jobs through dask-jobqueue. Same bytes as a
local run; the job scripts make numba and BLAS single-threaded; a worker job cancelled
mid-run costs nothing."""
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.runs.test_cluster import (ROOT, _done, _finish, _reesens, _study, _wait,
                                     local_bytes)
from tests.runs.test_pipeline import _data_bytes

NEEDED = ("munged", "slurmctld", "slurmd", "sinfo", "squeue", "scancel", "scontrol")
pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or any(shutil.which(c) is None for c in NEEDED),
    reason="SLURM's tests need root and Debian's slurm-wlm and munge (make test installs "
           "them where it runs as root with apt-get)")

CONF = """ClusterName=reesens
SlurmctldHost=localhost
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation={root}/state
SlurmdSpoolDir={root}/spool
SlurmctldPidFile={root}/slurmctld.pid
SlurmdPidFile={root}/slurmd.pid
SlurmctldLogFile={root}/slurmctld.log
SlurmdLogFile={root}/slurmd.log
SlurmctldPort=16817
SlurmdPort=16818
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
ReturnToService=2
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SlurmdParameters=config_overrides
NodeName=localhost NodeAddr=127.0.0.1 CPUs=32 RealMemory=4000 State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
"""
# (32 CPUs declared, whatever the machine has: the README's job script asks for them)
# dask-jobqueue's settings for the jobs (a user's ~/.config/dask/jobqueue.yaml)
SETTINGS = {"cores": 1, "memory": "1GB", "processes": 1, "walltime": "00:20:00"}


def _settings(root: Path) -> dict:
    """SETTINGS, with the jobs' output files in the cluster's folder (by default SLURM
    writes slurm-<job>.out where the job was submitted)."""
    return {**SETTINGS, "log-directory": str(root / "logs")}


def _environment(settings: dict) -> dict:
    """The settings as dask reads them from the environment of a process it starts in."""
    return {f"DASK_JOBQUEUE__SLURM__{k.upper().replace('-', '_')}": str(v)
            for k, v in settings.items()}


def _munge_works() -> bool:
    made = subprocess.run(["munge", "-n"], capture_output=True)
    return made.returncode == 0 and subprocess.run(
        ["unmunge"], input=made.stdout, capture_output=True).returncode == 0


@pytest.fixture(scope="module")
def slurm(tmp_path_factory):
    """The one-node cluster, up until the module's tests end; its environment (SLURM_CONF,
    the jobqueue settings) set for them."""
    root = tmp_path_factory.mktemp("slurm")
    for d in ("state", "spool", "logs"):
        (root / d).mkdir()
    conf = root / "slurm.conf"
    conf.write_text(CONF.format(root=root))
    started = []
    if not _munge_works():
        Path("/run/munge").mkdir(exist_ok=True)
        shutil.chown("/run/munge", "munge", "munge")
        subprocess.run(["runuser", "-u", "munge", "--", "munged"], check=True)
        started.append("munged")
        _wait(_munge_works, "munged")
    env = {**os.environ, "SLURM_CONF": str(conf)}
    daemons = [subprocess.Popen([f"/usr/sbin/{d}", "-D", "-f", str(conf), *extra], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                start_new_session=True)
               for d, extra in (("slurmctld", ["-i"]), ("slurmd", ["-N", "localhost"]))]
    jobqueue = _environment(_settings(root))
    saved = {k: os.environ.get(k) for k in ["SLURM_CONF", *jobqueue]}
    os.environ.update({"SLURM_CONF": str(conf), **jobqueue})
    try:
        _wait(lambda: subprocess.run(["sinfo", "-h", "-o", "%T"], capture_output=True,
                                     text=True).stdout.strip() == "idle", "an idle node", 60)
        yield root
    finally:
        subprocess.run(["scancel", "--user", "root"], capture_output=True)
        for p in daemons:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
        if started:
            subprocess.run(["pkill", "-x", "munged"])
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _jobs() -> list[str]:
    return subprocess.run(["squeue", "-h", "-o", "%i %T"], capture_output=True,
                          text=True).stdout.split("\n")


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    return local_bytes(tmp_path_factory.mktemp("local"))


def test_a_slurm_run_writes_the_local_bytes(slurm, tmp_path, reference):
    store = tmp_path / "slurm.zarr"
    status, _, err = _finish(_reesens("run", _study(tmp_path), "--out", store, "--quiet",
                                      "--cluster", "slurm", "--workers", "2"), 300)
    assert status == 0, err
    assert _data_bytes(store) == reference
    assert list((slurm / "logs").glob("*.out"))  # the jobs' output, not in the checkout


def test_the_job_scripts_make_numba_and_blas_single_threaded(slurm):
    """The script SLURM holds for a job of reesens' jobqueue cluster exports every thread
    cap, and its worker reads them."""
    import dask
    from distributed import Client

    from reesens.execute import tasks
    settings = {f"jobqueue.slurm.{k}": v for k, v in _settings(slurm).items()}  # dask
    with dask.config.set(settings), tasks.jobqueue_cluster("slurm") as cluster:  # read its
        cluster.scale(jobs=1)  # environment before the fixture set it
        with Client(cluster) as client:
            client.wait_for_workers(1, timeout=120)
            seen = client.run(lambda: {k: os.environ.get(k) for k in tasks.SINGLE_THREADED})
            job = next(line.split()[0] for line in _jobs() if line.strip())
            script = subprocess.run(["scontrol", "write", "batch_script", job, "-"],
                                    capture_output=True, text=True).stdout
    assert [dict(v) for v in seen.values()] == [tasks.SINGLE_THREADED]
    for name in tasks.SINGLE_THREADED:
        assert f"export {name}=1" in script, script


def test_a_worker_job_cancelled_mid_run_costs_nothing(slurm, tmp_path, reference):
    """scancel of one worker job once some blocks are done: the run finishes on the other
    job with the local bytes."""
    store = tmp_path / "slurm.zarr"
    run = _reesens("run", _study(tmp_path), "--out", store, "--quiet", "--cluster", "slurm",
                   "--workers", "2")
    _wait(lambda: _done(store) >= 2 or run.poll() is not None, "two blocks", 120)
    assert run.poll() is None, "the run ended before a job could be cancelled"
    running = [line.split()[0] for line in _jobs() if line.endswith("RUNNING")]
    assert len(running) == 2, running
    subprocess.run(["scancel", running[0]], check=True)
    status, _, err = _finish(run, 300)
    assert status == 0, err
    assert _data_bytes(store) == reference
    _wait(lambda: not any(line.strip() for line in _jobs()), "the jobs to end", 60)


def test_the_readmes_job_script_runs_as_written(slurm, tmp_path):
    """The README's SLURM job script, on one node instead of four and with a small N:
    scheduler and worker as srun steps, the run through the scheduler file; the store
    verifies."""
    readme = (ROOT / "README.md").read_text()
    script = readme.split("```bash\n#!/bin/bash\n", 1)[1].split("```", 1)[0]
    assert "--nodes=4" in script and "srun --overlap" in script
    job = tmp_path / "job.sh"
    job.write_text("#!/bin/bash\n" + script.replace("--nodes=4", "--nodes=1", 1))
    home = tmp_path / "home"
    home.mkdir()
    path = f"{Path(sys.executable).parent}:{os.environ['PATH']}"
    done = subprocess.run(["sbatch", "--wait", f"--chdir={ROOT}",
                           f"--output={tmp_path / 'job.out'}",
                           f"--export=ALL,N=1024,HOME={home},PATH={path}", str(job)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, (done.stderr, (tmp_path / "job.out").read_text())
    status, out, _ = _finish(_reesens("verify", home / "results" / "baseline26.zarr"), 120)
    assert status == 0, out
