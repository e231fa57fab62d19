"""Limits before work: the estimates bound what a run writes and allocates, Morris designs
and replicates are estimated, every estimate says roughly how long, and a resume needs
only what is left."""
import dataclasses
import errno
import math
import re
import tracemalloc
from pathlib import Path

import pytest
import tomli_w
import zarr

from reesens import cli
from reesens.design import morris as morris_design
from reesens.kernels import registry
from reesens.methods import counts as slice_counts
from reesens.runs import limits
from reesens.runs import montecarlo as run
from reesens.store import blocks
from reesens.study.parse import parse
from tests.runs.test_pipeline import _woods_table

ROOT = Path(__file__).resolve().parents[2]
COUNTED = {"methods": ["sobol", "pawn", "delta", "given_data"], "slices": 64, "bins": 64,
           "resamples": 20}
MORRIS = {"design": "morris", "trajectories": 300, "seed": 2}
UNITS = {"B": 1, "kB": 1e3, "MB": 1e6, "GB": 1e9, "TB": 1e12, "PB": 1e15, "EB": 1e18}


def refused_peak(study) -> int:
    """Bytes traced at most while `validate` refuses the study (exit 2)."""
    tracemalloc.start()
    try:
        assert cli.main(["validate", str(study)]) == 2
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def _written(store: Path) -> int:
    """Bytes of every file under a store."""
    return sum(p.stat().st_size for p in store.rglob("*") if p.is_file())


def _checked(monkeypatch) -> list:
    """The needs each limits.check_run / check_morris call returns, as they are made."""
    seen = []
    for name in ("check_run", "check_morris"):
        real = getattr(limits, name, None)

        def spy(*args, _real=real, **kwargs):
            seen.append(_real(*args, **kwargs))
            return seen[-1]
        monkeypatch.setattr(limits, name, spy, raising=False)
    return seen


def _study_file(tmp_path, table, name="study") -> Path:
    path = tmp_path / f"{name}.toml"
    path.write_text(tomli_w.dumps(table))
    return path


def _bytes(text: str) -> float:
    """"1.05 TB" -> 1.05e12."""
    number, unit = text.split()
    return float(number) * UNITS[unit]


# --- disk: an upper bound of what a run writes --------------------------------------------

@pytest.mark.parametrize("name, table, options", [
    ("counts", _woods_table(sampling={"N": 1024, "block_points": 256, "seed": 3},
                            analysis=COUNTED), {}),
    ("plain", _woods_table(), {}),
    ("replicates", _woods_table(analysis={"intervals": "replicates", "scramblings": 4}),
     {}),
    ("bootstrap", _woods_table(analysis={"intervals": "bootstrap", "resamples": 50}), {}),
    ("keep_samples", _woods_table(), {"keep_samples": True}),
    ("salib", _woods_table(analysis={"estimator": "salib", "resamples": 20}), {}),
    ("morris", _woods_table(sampling=MORRIS, analysis={"resamples": 20}), {}),
])
def test_the_estimates_bound_what_the_run_writes_and_allocates(tmp_path, monkeypatch, name,
                                                               table, options):
    run.run(parse(table), out=tmp_path / "warm.zarr", progress=False, **options)  # compiled
    seen = _checked(monkeypatch)
    store = tmp_path / f"{name}.zarr"
    tracemalloc.start()
    try:
        run.run(parse(table), out=store, progress=False, **options)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    (needs,) = seen
    estimate, written = limits.total(needs, "disk"), _written(store)
    assert written <= estimate <= 20 * written, (limits.size(estimate),
                                                 limits.size(written))
    assert peak <= limits.total(needs, "memory"), limits.size(peak)


@pytest.mark.parametrize("name, points", [("paper_audit_grid", None),
                                          ("baseline_grid", 12), ("baseline_grid", 20)])
def test_a_grid_estimate_is_near_what_its_store_takes(tmp_path, capsys, name, points):
    """validate says about how much disk a grid's store takes (as sample chunks compress)
    and at most how much (raw): the store, directories and all, takes no more than the
    first and at least a quarter of it; the raw bound is no less."""
    import tomllib
    table = tomllib.loads((ROOT / "studies" / f"{name}.toml").read_text())
    if points:
        for axis in table["grid"].values():
            if isinstance(axis, dict):
                axis["linspace"][2] = points
    study = _study_file(tmp_path, table)
    assert cli.main(["validate", str(study)]) == 0
    out = capsys.readouterr().out
    about, at_most = re.search(r"and about (\S+ \S+) of disk \(as 3 pieces of it compress, "
                               r"with room to spare; at most (\S+ \S+)\)", out).groups()
    store = tmp_path / "g.zarr"
    assert cli.main(["grid", str(study), "--out", str(store), "--quiet"]) == 0
    taken = sum(p.lstat().st_blocks * 512 for p in [store, *store.rglob("*")])  # as du -s
    assert taken / 4 <= _bytes(about) <= 1.01 * _bytes(at_most), (about, taken, at_most)
    assert taken <= _bytes(about) * 1.01, (about, taken)


def test_per_slice_counts_are_in_the_memory_estimate(tmp_path):
    """Counts of 128 slices by 128 bins: the run's peak allocation (numpy's included,
    traced) stays within the estimate, which the counts and their null levels drive."""
    table = _woods_table(sampling={"N": 1024, "block_points": 512, "seed": 3},
                         analysis={**COUNTED, "slices": 128, "bins": 128})
    study = parse(table)
    run.run(parse(_woods_table(analysis={**COUNTED, "slices": 8, "bins": 8})),
            out=tmp_path / "warm.zarr", progress=False)  # kernels loaded before tracing
    needs = limits.run_needs(study, N=study.N, estimator="streaming", workers=1,
                             keep_samples=False)
    counts = 8 * 15 * 6 * 128 * 128  # a block's: 15 measured outputs, 6 parameters
    tracemalloc.start()
    try:
        run.run(study, out=tmp_path / "s.zarr", progress=False)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    estimate = limits.total(needs, "memory")
    assert 3 * counts <= peak <= estimate, (limits.size(peak), limits.size(estimate))


def test_sparse_counts_are_bounded_by_the_rows_that_fill_them():
    """slices = bins = 1024 at N = 8192 (the baseline): 755 MB of raw counts a block, but
    only 2 N rows to put in them: the disk bound is what those can take, the memory the
    raw arrays."""
    study = parse(_woods_table(sampling={"N": 8192, "seed": 3},
                               analysis={**COUNTED, "slices": 1024, "bins": 1024}))
    counts, sums, nonzero = slice_counts.count_arrays(study)
    assert counts == 8 * 15 * 6 * 1024 * 1024 and nonzero == 15 * 6 * 2 * 8192
    needs = {n.what: n for n in limits.run_needs(study, N=study.N, estimator="streaming",
                                                 workers=2, keep_samples=False)}
    assert needs["per-slice counts"].bytes < counts / 10
    assert needs["per-slice counts (per worker)"].bytes >= 2 * counts
    assert needs["merging per-slice counts and the measures from them"].bytes >= 2 * counts


# --- Morris -------------------------------------------------------------------------------

def test_a_morris_design_is_estimated_and_refused_when_it_cannot_fit(tmp_path, capsys,
                                                                     monkeypatch):
    table = _woods_table(sampling={"design": "morris", "trajectories": 2**20, "seed": 2})
    study = _study_file(tmp_path, table)
    assert cli.main(["validate", str(study)]) == 0
    out = capsys.readouterr().out
    assert re.search(r"Morris 1048576 trajectories on 4 levels, needs about \S+ \S+ of "
                     r"memory and at most \S+ \S+ of disk, roughly \S+ \w+ on \d+ "
                     r"workers?\)", out)
    monkeypatch.setattr(limits, "available_memory", lambda: 2**30)
    peak = refused_peak(study)
    err = capsys.readouterr().err
    assert f"{study}: sampling.trajectories: the study needs about " in err
    assert "of memory" in err and "would fit" in err
    assert peak < 64 * 2**20, peak  # estimated, not drawn
    fit = int(re.search(r"trajectories = (\d+) would fit", err).group(1))
    table["sampling"]["trajectories"] = fit
    assert cli.main(["validate", str(_study_file(tmp_path, table, "fits"))]) == 0
    out = tmp_path / "out.zarr"
    assert cli.main(["run", str(study), "--out", str(out), "--quiet"]) == 2
    assert "sampling.trajectories" in capsys.readouterr().err
    assert not out.exists()


def test_a_selection_of_optimal_trajectories_that_would_take_years_is_refused(
        tmp_path, capsys, monkeypatch):
    table = _woods_table(sampling={"design": "morris", "trajectories": 4000,
                                   "optimal_trajectories": 2000, "seed": 2})
    study = _study_file(tmp_path, table)
    drawn = []
    monkeypatch.setattr(morris_design, "unit_design", lambda s: drawn.append(s))
    assert cli.main(["validate", str(study)]) == 2
    err = capsys.readouterr().err
    assert f"{study}: sampling.optimal_trajectories: selecting the 2000 most spread of " \
           "4000 trajectories" in err and "would take roughly" in err and "years" in err
    offer = re.search(r"; (trajectories = (\d+) with )?optimal_trajectories = (\d+) would "
                      r"take about", err)
    assert offer, err
    if offer.group(2):
        table["sampling"]["trajectories"] = int(offer.group(2))
    table["sampling"]["optimal_trajectories"] = int(offer.group(3))
    assert cli.main(["validate", str(_study_file(tmp_path, table, "quick"))]) == 0
    out = tmp_path / "out.zarr"
    assert cli.main(["run", str(study), "--out", str(out), "--quiet"]) == 2
    assert "sampling.optimal_trajectories" in capsys.readouterr().err
    assert not out.exists() and not drawn


@pytest.mark.parametrize("drawn, best", [(12, 2), (12, 5), (9, 8)])
def test_the_selection_cost_counts_what_salib_computes(monkeypatch, drawn, best):
    from SALib.sample import morris as salib_morris
    from SALib.sample.morris.local import LocalOptimisation
    counted = {"distances": 0, "sets": 0, "pairs": 0}
    distance, total = LocalOptimisation.compute_distance, LocalOptimisation.sum_distances

    def compute_distance(*args):
        counted["distances"] += 1
        return distance(*args)

    def sum_distances(self, indices, matrix):
        counted["sets"] += 1
        counted["pairs"] += math.comb(len(indices), 2)
        return total(self, indices, matrix)
    monkeypatch.setattr(LocalOptimisation, "compute_distance",
                        staticmethod(compute_distance))
    monkeypatch.setattr(LocalOptimisation, "sum_distances", sum_distances)
    problem = {"num_vars": 3, "names": ["a", "b", "c"], "bounds": [[0, 1]] * 3}
    salib_morris.sample(problem, drawn, optimal_trajectories=best, local_optimization=True,
                        seed=1)
    distances, sets, pairs, _ = limits.selection_work(drawn, best)
    assert (counted["distances"], counted["sets"], counted["pairs"]) == (
        distances, sets, pairs)


# --- replicates ---------------------------------------------------------------------------

def test_replicates_estimate_every_scrambling(tmp_path, capsys):
    """N split among 1024 scramblings of 64 points: 1024 blocks, each with its statistics
    and digests on disk, as many as one design of N in blocks of 64 (the delta method's
    subsample co-moments aside)."""
    disks = {}
    for intervals in ("delta", "replicates"):
        table = _woods_table(sampling={"N": 2**16, "block_points": 64, "seed": 3},
                             analysis={"intervals": intervals, "scramblings": 1024})
        assert cli.main(["validate", str(_study_file(tmp_path, table, intervals))]) == 0
        out = capsys.readouterr().out
        disks[intervals] = _bytes(re.search(r"and at most (\S+ \S+) of disk", out).group(1))
    assert "N = 65536 (1024 scramblings of 64)" in out
    assert 1024 * 1000 < disks["replicates"] < disks["delta"], disks


# --- time ---------------------------------------------------------------------------------

ROUGHLY = r"roughly (under a second|[\d.]+(e\d+)? (second|minute|hour|day|week|year)s?) " \
          r"on \d+ workers?"


@pytest.mark.parametrize("name", ["baseline.toml", "screening.toml",
                                  "paper_audit_grid.toml"])
def test_every_estimate_says_roughly_how_long(capsys, name):
    assert cli.main(["validate", str(ROOT / "studies" / name)]) == 0
    out = capsys.readouterr().out
    assert len(re.findall(ROUGHLY, out)) == 1 and "if a row of model" not in out, out


def test_a_huge_n_says_how_long_it_would_take(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(limits, "free_disk", lambda path: 2**50)  # whatever this disk has
    text = (ROOT / "studies" / "baseline.toml").read_text()
    study = tmp_path / "huge.toml"
    study.write_text(text.replace("N = 65536", "N = 17179869184"))
    assert cli.main(["validate", str(study)]) == 0
    out = capsys.readouterr().out
    assert re.search(r"N = 17179869184 \(8 scramblings of 2147483648\), needs about \S+ \S+ of memory and at most \S+ \S+ "
                     r"of disk, "
                     + ROUGHLY + r"\)$", out.strip()), out
    parsed = parse(__import__("tomllib").loads(study.read_text()))
    seconds = {N: limits.run_seconds(parsed, N=N, estimator="streaming", workers=2)
               for N in (2**20, 2**34)}
    assert seconds[2**34] > 1000 * seconds[2**20]  # proportional to N, beyond start-up


def test_another_model_says_what_its_estimate_assumes(capsys, monkeypatch):
    assert cli.main(["validate", str(ROOT / "studies" / "baseline.toml")]) == 0
    assert "(if a row" not in capsys.readouterr().out  # woods declares its cost
    monkeypatch.setitem(registry.MODELS, "woods",
                        dataclasses.replace(registry.get_model("woods"), row_seconds=None))
    assert cli.main(["validate", str(ROOT / "studies" / "baseline.toml")]) == 0
    assert "(if a row of model woods takes about 1 us)" in capsys.readouterr().out


def test_durations_read_as_words():
    assert [limits.duration(s) for s in (0.2, 1, 45, 119, 7200, 3.4 * 86400, 1e20)] == [
        "under a second", "1 second", "45 seconds", "120 seconds", "2 hours", "3.4 days",
        "3.2e12 years"]


# --- resuming after a full disk -----------------------------------------------------------

def test_a_resume_needs_disk_only_for_the_blocks_not_done(tmp_path, capsys, monkeypatch):
    table = _woods_table(sampling={"N": 4096, "block_points": 256, "seed": 3},
                         analysis={**COUNTED, "slices": 32, "bins": 32})
    study_path = _study_file(tmp_path, table)
    study = parse(table)
    store, args = tmp_path / "s.zarr", ["--quiet", "--workers", "1"]
    write_block, writes = blocks.write_block, []

    def disk_full_at_the_13th_block(*a, **k):
        writes.append(1)
        if len(writes) == 13:
            raise OSError(errno.ENOSPC, "No space left on device", str(store))
        return write_block(*a, **k)
    monkeypatch.setattr(blocks, "write_block", disk_full_at_the_13th_block)
    assert cli.main(["run", str(study_path), "--out", str(store), *args]) == 2
    assert "--resume" in capsys.readouterr().err
    monkeypatch.setattr(blocks, "write_block", write_block)
    done = zarr.open_group(store, mode="r")["blocks"]["block_done"][:]
    assert done.sum() == 12 and len(done) == 16

    def need(N):
        return limits.total(limits.run_needs(study, N=N, estimator="streaming", workers=1,
                                             keep_samples=False), "disk")
    per_block = (need(4096) - need(2048)) / 8  # 16 blocks against 8
    free = int(need(4096) - 6 * per_block)  # more than 4 blocks need, less than 16
    monkeypatch.setattr(limits, "free_disk", lambda path: free)
    assert cli.main(["run", str(study_path), "--out", str(store), "--resume", *args]) == 0
    assert zarr.open_group(store, mode="r")["blocks"]["block_done"][:].sum() == 16
    fresh = tmp_path / "fresh.zarr"
    assert cli.main(["run", str(study_path), "--out", str(fresh), *args]) == 2
    err = capsys.readouterr().err
    assert "sampling.N: the study needs about" in err and "of disk" in err
    assert not fresh.exists()
