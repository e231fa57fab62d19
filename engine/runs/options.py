"""A run's options, checked once for the command line and the Python API: each bad value
is refused with one line naming the option (StoreError), before any work."""
from __future__ import annotations

from reesens.store.ownership import StoreError
from reesens.study.schema import Study

TARGET_GROWTH = 64  # --target-ci without --max-n: N may grow to 64 N (half-widths ~ 1/8)


def choose_estimator(study: Study) -> str:
    """The study's estimator: "auto" is streaming (SALib only when asked for by name)."""
    return "salib" if study.estimator == "salib" else "streaming"


def check_execution(*, workers, per_task, per_task_flag: str = "--blocks-per-task") -> None:
    """--workers and the units per task: integers >= 1."""
    for option, value in (("--workers", workers), (per_task_flag, per_task)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise StoreError(f"{option} must be an integer >= 1, got {value!r}")
        if value < 1:
            raise StoreError(f"{option} must be >= 1, got {value}")


def check_run(study: Study, *, target_ci=None, max_N=None, keep_samples: bool = False,
              workers=1, blocks_per_task=1) -> None:
    """What a Monte Carlo or Morris run of the study can take."""
    check_execution(workers=workers, per_task=blocks_per_task)
    if not study.sampled:
        raise StoreError(f"{study.path}: the study samples no parameter; it only sweeps a "
                         "grid (reesens grid STUDY)")
    if target_ci is not None and (isinstance(target_ci, bool) or not isinstance(
            target_ci, (int, float)) or not target_ci > 0):
        raise StoreError(f"--target-ci must be > 0, got {target_ci!r}")
    if max_N is not None and target_ci is None:
        raise StoreError("--max-n bounds the growth of N for --target-ci; give --target-ci "
                         "too (or --n for a fixed N)")
    if study.design == "morris":
        if keep_samples or target_ci is not None:
            raise StoreError(f"{study.path}: a Morris design keeps its rows in the `morris` "
                             "group and has no --target-ci; drop --keep-samples and "
                             "--target-ci")
        return
    if target_ci is not None and study.estimator == "salib":
        raise StoreError("--target-ci needs the streaming estimator's intervals; "
                         "drop --estimator salib")
    levels(study, target_ci, max_N)


def levels(study: Study, target_ci=None, max_N=None) -> list[int]:
    """The N a run may reach: the study's, and with --target-ci each doubling up to max_N
    (default TARGET_GROWTH times N, a power of two)."""
    if target_ci is None:
        return [study.N]
    max_N = max_N or TARGET_GROWTH * study.N
    if isinstance(max_N, bool) or not isinstance(max_N, int) or max_N < study.N \
            or max_N & (max_N - 1):
        raise StoreError(f"--max-n must be a power of two >= N = {study.N}, got {max_N!r}")
    out = [study.N]
    while out[-1] < max_N:
        out.append(2 * out[-1])
    return out
