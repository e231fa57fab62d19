"""Reports and exported tables that can be trusted: written whole (a kill or a full disk at
any write leaves a directory the next report takes, and no empty figure), byte-identical
from process to process, and never touching a file reesens did not create."""
import hashlib
import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from reesens import cli
from reesens.present import report
from tests.engine.test_faults import _grid_study

ROOT = Path(__file__).resolve().parents[2]
TEMP = ".reesens-tmp"  # core.files.TEMP_SUFFIX


def _tree(path: Path, but=()) -> dict:
    """{relative path: sha256 or 'dir'} of everything under path, but the names in `but`
    (what reesens writes there) and what is under them."""
    out = {}
    for p in sorted(Path(path).rglob("*")):
        rel = p.relative_to(path)
        if rel.parts[0] not in but:
            out[str(rel)] = "dir" if p.is_dir() else hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def _user_files(where: Path) -> None:
    """Files a user keeps beside reesens' outputs, some with the names a careless temporary
    file would take."""
    where.mkdir(parents=True, exist_ok=True)
    for name in ("notes.txt", ".out.csv.partial", ".out.csv.tmp", "out.csv~", ".report.tmp",
                 f".out.csv.0123456789abcdef{TEMP}"):
        (where / name).write_text(f"the user's {name}\n")


def _faulty(fault: str, *args):
    """The CLI with `fault` at one whole-file write (tests/engine/faults.py whole_files)."""
    code = ("import sys; from tests.engine.faults import whole_files; "
            "sys.exit(whole_files(sys.argv[1:]))")
    return subprocess.run([sys.executable, "-c", code, fault, "--", *map(str, args)],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def stores(tmp_path_factory):
    """{name: store}: the baseline at N = 64 with every measure, the partners' scenarios
    at N = 64, and a small grid."""
    base = tmp_path_factory.mktemp("outputs")
    done = {"baseline": base / "baseline.zarr", "partners": base / "partners.zarr",
            "grid": base / "grid.zarr"}
    assert cli.main(["run", str(ROOT / "studies" / "baseline.toml"), "--n", "64",
                     "--methods", "sobol,pawn,delta,given_data", "--out",
                     str(done["baseline"]), "--quiet", "--workers", "1"]) == 0
    assert cli.main(["run", str(ROOT / "studies" / "partners.toml"), "--n", "64", "--out",
                     str(done["partners"]), "--quiet", "--workers", "1"]) == 0
    assert cli.main(["grid", str(_grid_study(base)), "--out", str(done["grid"]),
                     "--quiet", "--workers", "1"]) == 0
    return done


# --- export ------------------------------------------------------------------------------

def test_export_leaves_every_file_of_the_user(stores, tmp_path, capsys):
    _user_files(tmp_path)
    before = _tree(tmp_path)
    out = tmp_path / "out.csv"
    assert cli.main(["export", str(stores["baseline"]), "--out", str(out)]) == 0
    assert _tree(tmp_path, but={"out.csv"}) == before
    assert out.read_text().startswith("output,param,param_2,index,value")
    assert cli.main(["export", str(stores["baseline"]), "--out", str(out), "--group",
                     "pawn", "--overwrite"]) == 0
    assert _tree(tmp_path, but={"out.csv"}) == before
    assert "pawn_median" in out.read_text()


@pytest.mark.parametrize("existing", [False, True])
def test_a_full_disk_during_export_removes_only_its_own_temporary_file(stores, tmp_path,
                                                                       existing):
    _user_files(tmp_path)
    out = tmp_path / "out.csv"
    if existing:  # the table of an earlier export, which --overwrite would replace
        out.write_text("an earlier table\n")
    before = _tree(tmp_path)
    failed = _faulty("enospc:1", "export", stores["baseline"], "--out", out,
                     *["--overwrite"] * existing)
    assert failed.returncode == 2, failed.stderr
    assert "the disk is full: free some space, then run the same command again" in \
        failed.stderr and "--resume" not in failed.stderr
    assert _tree(tmp_path) == before  # no table, no temporary file, the user's files whole


@pytest.mark.parametrize("mode", ["before", "torn"])
def test_an_export_killed_at_its_write_leaves_the_old_table_or_none(stores, tmp_path, mode):
    """Killed before or while writing its table: the earlier table (or none) is whole, the
    user's files are untouched, and the same command again writes the uninterrupted
    table."""
    _user_files(tmp_path)
    out = tmp_path / "out.csv"
    out.write_text("an earlier table\n")
    reference = tmp_path / "reference" / "out.csv"
    reference.parent.mkdir()
    assert cli.main(["export", str(stores["baseline"]), "--out", str(reference)]) == 0
    before = _tree(tmp_path)
    killed = _faulty(f"{mode}:1", "export", stores["baseline"], "--out", out, "--overwrite")
    assert killed.returncode == -9, killed.stderr
    left = _tree(tmp_path)
    assert {k: v for k, v in left.items() if k in before} == before  # the old table whole
    assert all(k.endswith(TEMP) for k in left.keys() - before.keys())  # its own file only
    assert cli.main(["export", str(stores["baseline"]), "--out", str(out),
                     "--overwrite"]) == 0
    assert out.read_bytes() == reference.read_bytes()


def test_export_is_the_same_bytes_in_every_process(stores, tmp_path):
    """Tables in the order of the dataset's coordinates, whatever PYTHONHASHSEED."""
    tables = [("baseline", group, "csv") for group in ("sobol", "pawn", "delta",
                                                        "given_data", "summary")]
    tables += [("partners", "sobol", "csv"), ("partners", "sobol", "parquet")]
    code = ("import sys; from reesens import cli\n"
            "for store, group, out in zip(*[iter(sys.argv[1:])] * 3):\n"
            "    assert cli.main(['export', store, '--group', group, '--out', out]) == 0\n")

    def export(seed):
        args = [str(a) for name, group, fmt in tables for a in (
            stores[name], group, tmp_path / f"{seed}-{name}-{group}.{fmt}")]
        return subprocess.run([sys.executable, "-c", code, *args], cwd=ROOT, timeout=600,
                              env={**os.environ, "PYTHONHASHSEED": str(seed)},
                              capture_output=True, text=True)

    seeds = (1, 2, 3)  # two orders of a Dataset's dims among them (CPython 3, xarray 2026)
    with ThreadPoolExecutor(2) as pool:
        for done in pool.map(export, seeds):
            assert done.returncode == 0, done.stderr
    for name, group, fmt in tables:
        first = (tmp_path / f"{seeds[0]}-{name}-{group}.{fmt}").read_bytes()
        for seed in seeds[1:]:
            assert (tmp_path / f"{seed}-{name}-{group}.{fmt}").read_bytes() == first, \
                (name, group, fmt, seed)
    rows = (tmp_path / "1-partners-sobol.csv").read_text().splitlines()
    assert rows[0].startswith("scenario,output,param,")
    params = ["A", "gamma", "delta", "phi_D", "kappa", "p"]  # the case dims come first
    assert [r.split(",")[:3] for r in rows[1:7]] == [["united_states", "mu_star", p]
                                                      for p in params]


# --- report ------------------------------------------------------------------------------

def _report(store, out, *args) -> int:
    return cli.main(["report", str(store), "--out", str(out), "--quiet", *args])


@pytest.fixture(scope="module")
def reports(stores, tmp_path_factory):
    """(the grid store's report: {name: sha256}, an earlier report in SVG to write over)."""
    base = tmp_path_factory.mktemp("reports")
    assert _report(stores["grid"], base / "reference") == 0
    assert _report(stores["grid"], base / "earlier", "--format", "svg") == 0
    return _tree(base / "reference"), base / "earlier"


def _check_acceptable(out: Path) -> None:
    """What a killed or refused report leaves: every file whole or absent (no empty or
    half figure under its own name), and every name listed in the marker."""
    if not out.exists():
        return
    listed = set((out / report.MARKER).read_text().split())
    for p in out.iterdir():
        assert p.name == report.MARKER or p.name in listed, p
        if p.suffix == ".png":
            assert p.read_bytes().endswith(b"IEND\xaeB`\x82"), p  # a whole PNG


def _write_points(stores, tmp_path) -> int:
    log = tmp_path / "writes.log"
    done = _faulty(f"log:{log}", "report", stores["grid"], "--out", tmp_path / "logged")
    assert done.returncode == 0, done.stderr
    writes = log.read_text().split()
    assert {"phase_kappa_p.png", "disagreement_kappa_p.png", "summary.md", "index.html",
            report.MARKER} <= set(writes)
    return len(writes)


def _run_faults(stores, tmp_path, points, earlier):
    """Each (mode, k) on a directory of its own beside the user's files: over a copy of
    `earlier` (a report of other files), or new when None. Returns [(point, parent, out,
    completed process)]."""
    cases = []
    for i, point in enumerate(points):
        parent = tmp_path / f"case{i}"
        _user_files(parent)
        out = parent / "report"
        if earlier is not None:
            shutil.copytree(earlier, out)
        cases.append((point, parent, out, _tree(parent, but={"report"})))
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda c: _faulty(f"{c[0][0]}:{c[0][1]}", "report",
                                                  stores["grid"], "--out", c[2]), cases))
    return [(*case, done) for case, done in zip(cases, results)]


def test_a_report_killed_at_any_write_is_taken_by_the_next(stores, reports, tmp_path, capsys):
    reference, earlier = reports
    n = _write_points(stores, tmp_path)
    points = [("before", 1), ("before", n)] + [("torn", k) for k in range(1, n + 1)]
    cases = _run_faults(stores, tmp_path, points, earlier)
    cases += _run_faults(stores, tmp_path / "new", [("before", 1), ("torn", 1), ("torn", 2)],
                         None)
    for point, parent, out, user, killed in cases:
        assert killed.returncode == -9, (point, killed.stderr)
        _check_acceptable(out)
        assert _report(stores["grid"], out) == 0, (point, capsys.readouterr().err)
        assert _tree(out) == reference, point  # the uninterrupted report's files, no more
        assert _tree(parent, but={"report"}) == user, point


def test_a_full_disk_at_any_report_write_leaves_no_empty_figure(stores, reports, tmp_path,
                                                                capsys):
    reference, earlier = reports
    n = _write_points(stores, tmp_path)
    for point, parent, out, user, failed in _run_faults(
            stores, tmp_path, [("enospc", k) for k in range(1, n + 1)], earlier):
        assert failed.returncode == 2, (point, failed.stderr)
        assert "the disk is full: free some space, then run the same command again" in \
            failed.stderr and "--resume" not in failed.stderr, point
        _check_acceptable(out)
        assert not [p for p in out.iterdir() if p.name.endswith(TEMP)], point  # removed
        assert _report(stores["grid"], out) == 0, (point, capsys.readouterr().err)
        assert _tree(out) == reference, point
        assert _tree(parent, but={"report"}) == user, point


def test_a_run_with_report_writes_over_a_killed_report(stores, tmp_path, capsys):
    store = tmp_path / "grid.zarr"
    shutil.copytree(stores["grid"], store)
    _user_files(tmp_path)
    out = tmp_path / "report"
    killed = _faulty("torn:2", "report", store, "--out", out)  # in the first figure
    assert killed.returncode == -9, killed.stderr
    before = _tree(tmp_path, but={"report", "grid.zarr"})
    (tmp_path / "study").mkdir()
    assert cli.main(["grid", str(_grid_study(tmp_path / "study")), "--out", str(store),
                     "--quiet", "--workers", "1", "--report", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == [
        report.MARKER, "disagreement_kappa_p.png", "index.html", "phase_kappa_p.png",
        "summary.md", "values_kappa_p.png"]
    assert _tree(tmp_path, but={"report", "grid.zarr", "study"}) == before


def test_a_report_removes_only_what_its_marker_lists_in_it(stores, tmp_path, capsys):
    """A name outside the directory in the marker is not reesens'; a directory holding a
    file of the user is refused and left as it is."""
    _user_files(tmp_path)
    out = tmp_path / "report"
    out.mkdir()
    outside = tmp_path / ".out.csv.partial"  # named by an absolute path: the user's too
    (out / report.MARKER).write_text(f"old.png\n../notes.txt\n{outside}\n..\n")
    (out / "old.png").write_bytes(b"an earlier report's figure")
    before = _tree(tmp_path, but={"report"})
    assert _report(stores["grid"], out) == 0
    assert not (out / "old.png").exists()
    assert _tree(tmp_path, but={"report"}) == before
    (out / "mine.txt").write_text("the user's")
    kept = _tree(tmp_path)
    assert _report(stores["grid"], out) == 2
    assert "not a reesens report directory (it holds mine.txt)" in capsys.readouterr().err
    assert _tree(tmp_path) == kept


# --- advice on OS errors -----------------------------------------------------------------

@pytest.mark.parametrize("command, again", [
    ("run", "run the same command with --resume"),
    ("grid", "run the same command with --resume"),
    ("report", "run the same command again"),
    ("export", "run the same command again")])
def test_full_disk_advice_names_what_the_command_has(command, again):
    import errno
    for code in (errno.ENOSPC, errno.EDQUOT):
        line = cli._os_error(OSError(code, os.strerror(code), "x"), command)
        assert line.startswith("x: ") and "free some space, then " + again in line
        assert ("--resume" in line) == (command in ("run", "grid"))
