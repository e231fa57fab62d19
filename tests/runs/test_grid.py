"""Grid sweeps: cube values against direct kernel calls and the numpy oracle, the row
function's path against the batch path, ties, chunking, resumption and refusals."""
import numpy as np
import pytest
import xarray as xr
import zarr

from reesens.design import grid as grid_design
from reesens.kernels import audit, woods
from reesens.kernels import grid as grid_kernel
from reesens.runs import grid
from reesens.runs import montecarlo as run
from reesens.store.cube import BOOKKEEPING
from reesens.store.ownership import StoreError
from reesens.study.parse import parse
from reesens.study.schema import StudyError
from tests import reference_numpy
from tests.runs.test_pipeline import _data_bytes

SHARED = [0.2, 0.4, 0.6, 0.8]  # phi_D and kappa share these: kappa == phi_D cells


def _grid_table(**grid_changes):
    table = {
        "name": "tiny-grid",
        "model": {"name": "woods", "concepts": ["paper", "verifiable"], "selection": "china"},
        "parameters": {"A": {"value": 0.5}, "gamma": {"value": 0.5}},
        # p = 0.4 = mu_star exactly where delta = 2 (A = gamma = 0.5): a p == mu_star tie
        "grid": {"delta": {"values": [0.3, 0.5, 2.0, 4.0]},
                 "phi_D": {"values": SHARED}, "kappa": {"values": SHARED},
                 "p": {"linspace": [0.0, 1.0, 11]},
                 "outputs": ["eq", "eq_set", "n_eq", "mu_star", "china_share"]},
    }
    table["grid"].update(grid_changes)
    return table


def _sweep(tmp_path, name="g", table=None, **options):
    return grid.run_grid(parse(table or _grid_table()), out=tmp_path / f"{name}.zarr",
                         progress=False, **options)


def _direct(cube, concept, evaluate=woods.evaluate):
    """Every cell of the cube from one broadcast call of `evaluate` (same coordinates)."""
    axes = np.meshgrid(*(cube[d].values for d in ("delta", "phi_D", "kappa", "p")),
                       indexing="ij")
    out = evaluate(0.5, 0.5, *axes, concept=concept)
    return {name: np.reshape(a, axes[0].shape) for name, a in out.items()}


@pytest.mark.parametrize("chunk_cells, eval_cells", [(2**20, 2**16), (30, 7)])
def test_cube_equals_direct_kernel_calls(tmp_path, monkeypatch, chunk_cells, eval_cells):
    monkeypatch.setattr(grid_design, "CHUNK_CELLS", chunk_cells)
    monkeypatch.setattr(grid_design, "EVAL_CELLS", eval_cells)
    cube = _sweep(tmp_path, workers=2).load()
    assert cube["eq"].dims == ("concept", "delta", "phi_D", "kappa", "p")
    np.testing.assert_array_equal(cube["p"].values, np.linspace(0, 1, 11))
    assert list(cube["concept"].values) == ["paper", "verifiable"]
    assert cube["eq"].attrs["flag_meanings"].split()[2] == "pool_nd_hedge"
    assert cube.attrs["cells"] == 2 * 4 * 4 * 4 * 11
    assert zarr.open_group(tmp_path / "g.zarr", mode="r")["grid/grid_chunk_done"][:].all()
    for concept in ("paper", "verifiable"):
        direct = _direct(cube, concept)
        for name in ("eq", "eq_set", "n_eq", "mu_star", "china_share"):
            got = cube[name].sel(concept=concept).values
            assert got.dtype == direct[name].dtype, name
            np.testing.assert_array_equal(got, direct[name], err_msg=name)


def _audit_table():
    """The tiny grid of the audit model, both selections, every output."""
    table = _grid_table(outputs=list(audit.OUTPUT_NAMES))
    table["model"] = {"name": "woods_audit", "selections": ["china", "foreign"]}
    return table


@pytest.mark.parametrize("model", ["woods", "woods_audit"])
@pytest.mark.parametrize("chunk_cells, axes", [
    (2**20, {"p": {"linspace": [0.0, 1.0, 37]}}),
    (7, {"delta": {"values": [0.3, 2.0]}, "phi_D": {"values": [0.2, 0.6]}})])
def test_row_function_and_batch_paths_write_the_same_bytes(tmp_path, monkeypatch, model,
                                                           chunk_cells, axes):
    """Whole chunks of 2368 cells (batches of rows end inside runs of p's 37 values) and
    chunks of 7 cells (runs of p's 11 values cut in two), through the row function's
    kernel and through the batch function: the stores hold the same bytes."""
    monkeypatch.setattr(grid_design, "CHUNK_CELLS", chunk_cells)
    table = _grid_table() if model == "woods" else _audit_table()
    table["grid"].update(axes)
    calls = []
    real = grid_kernel.evaluate_chunk
    monkeypatch.setattr(grid_kernel, "evaluate_chunk",
                        lambda *args: calls.append(1) or real(*args))
    _sweep(tmp_path, "rows", table)
    assert calls
    monkeypatch.setattr(grid, "row_function", lambda model: None)
    calls.clear()
    _sweep(tmp_path, "batch", table)
    assert not calls
    assert _data_bytes(tmp_path / "rows.zarr") == _data_bytes(tmp_path / "batch.zarr")


def test_tie_cells_follow_the_rules_of_model_md(tmp_path):
    cube = _sweep(tmp_path).load()
    for concept in ("paper", "verifiable"):
        oracle = _direct(cube, concept, reference_numpy.evaluate)
        np.testing.assert_array_equal(cube["eq_set"].sel(concept=concept).values,
                                      oracle["eq_set"], err_msg=concept)
        np.testing.assert_array_equal(cube["eq"].sel(concept=concept).values, oracle["eq"])
    # kappa == phi_D, p < mu_star, A < delta: the paper's {pool_nd_press, separating}
    tie = cube.sel(delta=2.0, phi_D=0.6, kappa=0.6, p=0.2)
    assert tie["eq_set"].sel(concept="paper") == (1 << 2) | (1 << 3)
    # verifiable at the same cell: pool_nd_press (kappa <= phi_D) and separating
    # (kappa >= phi_D); no hybrid (needs kappa > phi_D)
    assert tie["eq_set"].sel(concept="verifiable") == (1 << 2) | (1 << 3)
    # p == mu_star (0.4): paper says boundary; verifiable has both poolings
    at = cube.sel(delta=2.0, phi_D=0.4, kappa=0.2, p=0.4)
    assert float(at["mu_star"].sel(concept="paper")) == 0.4
    assert at["eq"].sel(concept="paper") == 6
    assert at["eq_set"].sel(concept="verifiable") == (1 << 1) | (1 << 2)
    # A == delta is not on this grid; A > delta (delta = 0.3): {pool_nd_press} everywhere
    assert (cube["eq_set"].sel(delta=0.3) == 1 << 2).all()


def test_interrupted_grid_resumes_to_identical_bytes(tmp_path, monkeypatch):
    monkeypatch.setattr(grid_design, "CHUNK_CELLS", 64)
    reference = tmp_path / "whole.zarr"
    _sweep(tmp_path, "whole", workers=1)
    real = grid.evaluate_chunk

    calls = []

    def crash_at_the_tenth_chunk(study, plan, chunk):
        calls.append(chunk)
        if len(calls) == 10:
            raise RuntimeError("simulated crash")
        return real(study, plan, chunk)

    monkeypatch.setattr(grid, "evaluate_chunk", crash_at_the_tenth_chunk)
    monkeypatch.setattr(grid, "stored_share", lambda study: 1.0)  # counts chunks written
    with pytest.raises(RuntimeError, match="simulated crash"):
        _sweep(tmp_path, "broken", workers=1)
    store = tmp_path / "broken.zarr"
    done = zarr.open_group(store, mode="r")["grid/grid_chunk_done"][:]
    assert done.sum() == 9 and not done[calls[9]]
    (store / "grid" / "eq" / "c" / f"0.{'feed' * 8}.partial").write_bytes(b"torn")  # zarr's name
    monkeypatch.setattr(grid, "evaluate_chunk", real)
    cube = _sweep(tmp_path, "broken", workers=2, resume=True)
    assert _data_bytes(store) == _data_bytes(reference)
    assert zarr.open_group(store, mode="r").attrs["resumed"] == 1
    xr.testing.assert_identical(cube.load(), xr.open_zarr(reference, group="grid").load()
                                .drop_vars(BOOKKEEPING))


def test_another_grid_is_refused_and_kept(tmp_path):
    _sweep(tmp_path)
    before = _data_bytes(tmp_path / "g.zarr")
    other = _grid_table(p={"linspace": [0.0, 1.0, 5]})
    with pytest.raises(StoreError, match=r"differing in grid.p.linspace: store \[.*\], now "
                                         r"\[0.0, 1.0, 5\]; refusing"):
        _sweep(tmp_path, table=other)
    assert _data_bytes(tmp_path / "g.zarr") == before


@pytest.mark.parametrize("change, message", [
    ({"p": {"values": [0.5, 0.1]}}, r"grid\.p\.values: must be .* increasing order"),
    ({"p": {"linspace": [0.0, 2.0, 5]}},
     r"grid\.p: 1\.5 is outside the domain; allowed: p in \[0, 1\]"),
    ({"kappa": {"logspace": [0.0, 1.0, 5]}}, r"grid\.kappa\.logspace: start must be > 0"),
    ({"kappa": {"linspace": [0.1, 1.0]}}, r"grid\.kappa\.linspace: must be \[start, stop, num\]"),
    ({"kappa": {"linspace": [0.1, 1.0, 3], "values": [1]}}, r"grid\.kappa: give exactly one"),
    ({"rate": {"values": [1.0]}}, r"grid\.rate: unknown parameter"),
    ({"outputs": ["eq", "nope"]}, r"grid\.outputs: must be a non-empty list of outputs"),
])
def test_bad_grids_are_refused_naming_the_field(change, message):
    with pytest.raises(StudyError, match=message):
        parse(_grid_table(**change))


def test_grid_and_monte_carlo_runs_refuse_the_other_kind(tmp_path):
    table = _grid_table()
    table["parameters"]["A"] = {"dist": "unif", "lower": 0.1, "upper": 1.0}
    with pytest.raises(StudyError, match=r"parameters\.A: sampled but not swept in \[grid\]"):
        parse(table)
    with pytest.raises(StoreError, match="samples no parameter"):
        run.run(parse(_grid_table()), out=tmp_path / "mc.zarr", progress=False)
    mc = _grid_table()
    del mc["grid"]
    mc["parameters"].update({n: {"dist": "unif", "lower": 0.1, "upper": 0.9}
                             for n in ("delta", "phi_D", "kappa", "p")})
    with pytest.raises(StoreError, match="no \\[grid\\]"):
        grid.run_grid(parse(mc), out=tmp_path / "grid.zarr", progress=False)
