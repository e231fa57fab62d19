"""The code counts a grid stores with each chunk: equal to the cube's, read (not the cube)
by `show` and `report`, checked like every other part of a chunk, refused in a store of
an earlier reesens; and one progress bar per command."""
import numpy as np
import pytest
import zarr

from reesens import cli
from reesens.core import progress
from reesens.core.regions import unit_region
from reesens.design import grid as grid_design
from reesens.present import report
from reesens.runs import grid
from reesens.store import cube as cube_store
from reesens.store import verify
from reesens.store.integrity import IntegrityError
from reesens.store.ownership import StoreError
from reesens.study.parse import parse
from tests.runs.test_grid import _audit_table, _grid_table, _sweep
from tests.runs.test_pipeline import _data_bytes


@pytest.fixture
def audit_grid(tmp_path, monkeypatch):
    """The audit grid in chunks of 44 cells (32 of them); its store and loaded cube."""
    monkeypatch.setattr(grid_design, "CHUNK_CELLS", 64)
    cube = _sweep(tmp_path, "a", _audit_table()).load()
    return tmp_path / "a.zarr", cube


def _cube_counts(cube, names, where=()) -> np.ndarray:
    """The counts of `names`' codes (jointly, C order over their flag values) over the
    cube's region `where`, counted from its cells."""
    values = [cube[n].values[where].ravel() for n in names]
    flags = [cube[n].attrs["flag_values"] for n in names]
    counts = np.zeros([len(f) for f in flags], dtype=np.int64)
    for cell in zip(*values):
        counts[tuple(f.index(int(c)) for f, c in zip(flags, cell))] += 1
    return counts


def test_each_chunks_counts_equal_its_cells(audit_grid):
    store, cube = audit_grid
    counts = zarr.open_group(store, mode="r")[f"grid/{cube_store.COUNTS}"]
    series = [tuple(s) for s in counts.attrs["counted"]]
    assert series == [("eq_paper",), ("eq_verifiable",), ("sets_differ",), ("region",),
                      ("disagreement_region",), ("region", "sets_differ")]
    stored = counts[...]
    chunks = cube.attrs["chunk_shape"]
    assert stored.shape[0] == 32
    for chunk in range(stored.shape[0]):
        where = unit_region(cube["region"].shape, chunks, chunk)
        expected = np.concatenate([_cube_counts(cube, s, where).ravel() for s in series])
        np.testing.assert_array_equal(stored[chunk], expected, err_msg=str(chunk))
    total = cube_store.stored_counts(store)
    for s in series:
        np.testing.assert_array_equal(total[s], _cube_counts(cube, s))


def test_reported_shares_equal_the_cubes(audit_grid, tmp_path):
    store, cube = audit_grid
    shares = report.code_shares(cube, cube_store.stored_counts(store))
    for name in ("eq_paper", "region"):
        values = cube[name].values
        meanings = dict(zip(cube[name].attrs["flag_values"],
                            cube[name].attrs["flag_meanings"].split()))
        codes, n = np.unique(values, return_counts=True)
        assert shares[name] == ", ".join(
            f"{report.labels.code_words(meanings[c])} {report.labels.share(k, values.size)}"
            for c, k in zip(codes.tolist(), n.tolist()))
    report.write_report(store, tmp_path / "out")
    text = (tmp_path / "out" / "summary.md").read_text()
    differ = cube["sets_differ"].values == 1
    assert f"differ on {differ.mean():.1%} of the grid cells" in text
    region = cube["region"].values
    for code in np.unique(region[region >= 0]).tolist():
        size = int((region == code).sum())
        assert f"({size:,} cells, " in text
        assert f"they differ on {differ[region == code].mean():.1%} of it." in text


def test_a_chunk_whose_counts_are_corrupted_is_found_and_recomputed(audit_grid, capsys):
    """Counts rewritten through zarr (their encoding intact, their digest not): verify
    names the chunk, show and report refuse the store, a resume writes it again."""
    store, _ = audit_grid
    expected = _data_bytes(store)
    counts = zarr.open_group(store, mode="r+")[f"grid/{cube_store.COUNTS}"]
    wrong = counts[5]
    wrong[0] += 1
    counts[5] = wrong
    problems, _ = verify.verify(store)
    assert problems == [f"grid chunk 5: grid/{cube_store.COUNTS} does not match its checksum"]
    with pytest.raises(IntegrityError, match="grid chunk 5"):
        report.write_report(store, store.parent / "out")
    assert cli.main(["show", str(store)]) == 2
    assert "grid chunk 5" in capsys.readouterr().err
    grid.run_grid(parse(_audit_table()), out=store, progress=False, resume=True)
    assert _data_bytes(store) == expected


def test_show_and_report_read_the_counts_and_the_chunks_of_their_slices(tmp_path,
                                                                         monkeypatch):
    """A damaged chunk outside the report's slices is left to `reesens verify`; one that
    a slice cuts is refused."""
    monkeypatch.setattr(grid_design, "CHUNK_CELLS", 64)
    store = tmp_path / "g.zarr"
    cube = _sweep(tmp_path, "g").load()
    plan = grid_design.GridPlan.of(parse(_grid_table()))
    position = report._slice_at(cube, ["delta", "phi_D", "kappa", "p"], "kappa", "p", {},
                                ("kappa", "phi_D"))  # the one plane drawn
    read = set(cube_store.chunks_at(cube, position))
    assert 0 < len(read) < plan.n_chunks
    elsewhere = min(set(range(plan.n_chunks)) - read)
    index = np.unravel_index(elsewhere, plan.chunk_counts)
    chunk = store / "grid" / "eq" / "c" / "/".join(map(str, index))
    chunk.write_bytes(chunk.read_bytes()[:-1])
    report.write_report(store, tmp_path / "out")
    assert cli.main(["show", str(store)]) == 0
    (problem,) = verify.verify(store)[0]
    assert problem.startswith(f"grid chunk {elsewhere}: grid/eq corrupt")
    index = np.unravel_index(min(read), plan.chunk_counts)
    chunk = store / "grid" / "eq" / "c" / "/".join(map(str, index))
    chunk.write_bytes(chunk.read_bytes()[:-1])
    with pytest.raises(IntegrityError, match=f"grid chunk {min(read)}: grid/eq corrupt"):
        report.write_report(store, tmp_path / "out")


def test_a_grid_store_without_counts_is_refused(tmp_path, monkeypatch):
    """A store written as an earlier reesens did (no counts, none in its identity): its
    report names the command that writes them, a sweep of the same grid is refused
    naming the counts, and --overwrite sweeps it again."""
    table = _grid_table()
    store = tmp_path / "old.zarr"
    with monkeypatch.context() as earlier:
        earlier.setattr(cube_store, "counted", lambda study: [])
        identity = grid.identity
        earlier.setattr(grid, "identity", lambda study, plan: {
            k: v for k, v in identity(study, plan).items() if k != "counts"})
        _sweep(tmp_path, "old", table)
    assert verify.verify(store)[0] == []
    with pytest.raises(StoreError, match="an earlier reesens.*--overwrite"):
        report.write_report(store, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    with pytest.raises(StoreError, match=r"the code counts stored with each grid chunk"):
        _sweep(tmp_path, "old", table)
    _sweep(tmp_path, "old", table, overwrite=True)
    report.write_report(store, tmp_path / "out")


def test_grid_and_report_show_one_progress_bar_each(tmp_path, monkeypatch, capsys):
    """Off a terminal, at most progress.LINES lines of one bar each: the sweep's chunks,
    then the chunks the report reads."""
    monkeypatch.setattr(grid_design, "CHUNK_CELLS", 44)
    monkeypatch.setattr(progress, "LINES", 10)
    monkeypatch.setattr(report, "PROGRESS_CHUNKS", 2)
    store = tmp_path / "g.zarr"
    grid.run_grid(parse(_grid_table()), out=store, progress=True)
    swept = capsys.readouterr().err.splitlines()
    n = grid_design.GridPlan.of(parse(_grid_table())).n_chunks
    assert n > progress.LINES
    assert len(swept) <= progress.LINES and swept[-1] == f"chunk {n}/{n}"
    assert all(line.startswith("chunk ") for line in swept)
    report.write_report(store, tmp_path / "out", progress=True)
    lines = capsys.readouterr().err.splitlines()
    assert 0 < len(lines) <= progress.LINES
    assert all(line.startswith("grid chunk read ") for line in lines)
    k, total = map(int, lines[-1].rsplit(" ", 1)[1].split("/"))
    assert k == total
    report.write_report(store, tmp_path / "out", progress=False)
    assert capsys.readouterr().err == ""
