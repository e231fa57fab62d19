"""The commands that only read (validate, show, verify, export) start without numba,
matplotlib or dask: each runs in a fresh process, as the console script runs it, and
reports which heavy packages it imported."""
import json
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import reesens

ROOT = Path(__file__).resolve().parents[2]
BASELINE = ROOT / "studies" / "baseline.toml"
HEAVY = ("numba", "llvmlite", "matplotlib", "dask", "distributed")
STORE_READERS = ("xarray", "zarr", "pandas")  # what validate, reading no store, needs none of


def imported(*argv) -> tuple[int, list[str]]:
    """(exit status, the packages of HEAVY and STORE_READERS imported) of `reesens *argv`
    in a fresh process."""
    script = f"""if True:
        import json, sys
        sys.argv = ["reesens", *{[str(a) for a in argv]!r}]
        from reesens.__main__ import command_line
        try:
            status = command_line()
        except SystemExit as e:
            status = e.code
        packages = {{m.partition(".")[0] for m in sys.modules}}
        print(json.dumps([status, sorted(packages & {set(HEAVY + STORE_READERS)!r})]))
    """
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          cwd=ROOT, timeout=600)
    assert done.returncode == 0, done.stderr
    status, packages = json.loads(done.stdout.strip().splitlines()[-1])
    return status, packages


@pytest.fixture(scope="module")
def stores(tmp_path_factory):
    """(a Monte Carlo store at N = 64, a grid store of 3^6 cells)."""
    folder = tmp_path_factory.mktemp("startup")
    reesens.run(reesens.load_study(BASELINE, N=64), out=folder / "run.zarr", workers=1)
    table = tomllib.loads((ROOT / "studies" / "paper_audit_grid.toml").read_text())
    for axis in table["grid"].values():
        if isinstance(axis, dict):  # an axis, not the outputs
            axis["linspace"][2] = 3
    table["name"] = "small_grid"
    reesens.grid(reesens.load_study(table), out=folder / "grid.zarr", workers=1)
    return folder / "run.zarr", folder / "grid.zarr"


@pytest.mark.parametrize("command", ["validate", "show", "verify", "export", "show grid",
                                     "verify grid"])
def test_the_reading_commands_import_neither_numba_nor_matplotlib_nor_dask(
        command, stores, tmp_path):
    run, grid = stores
    store = grid if command.endswith("grid") else run
    argv = {"validate": [BASELINE], "export": [store, "--out", tmp_path / "sobol.csv"]}.get(
        command, [store])
    status, packages = imported(command.split()[0], *argv)
    assert status == 0
    assert not set(packages) & set(HEAVY), packages
    if command == "validate":
        assert packages == [], packages
