"""The `reesens` console script end to end, through a subprocess."""
import os
import subprocess
import sys
from pathlib import Path

import pytest
import xarray as xr

ROOT = Path(__file__).resolve().parents[2]
BASELINE = ROOT / "studies" / "baseline.toml"


def reesens(*args, cwd=ROOT):
    """Run the CLI as a user would; returns the CompletedProcess."""
    script = Path(sys.executable).with_name("reesens")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "reesens"]
    return subprocess.run([*command, *map(str, args)], cwd=cwd, capture_output=True,
                          text=True, timeout=600, env={**os.environ, "PYTHONWARNINGS": "error"})


def test_validate_good_and_bad():
    ok = reesens("validate", BASELINE)
    assert ok.returncode == 0 and "ok" in ok.stdout
    bad_file = ROOT / "tests" / "study" / "bad_studies" / "inverted_bounds.toml"
    bad = reesens("validate", bad_file)
    assert bad.returncode == 2
    assert f"{bad_file}: parameters.p: bounds inverted" in bad.stderr


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    store = tmp_path_factory.mktemp("cli") / "tiny.zarr"
    result = reesens("run", BASELINE, "--out", store, "--n", 64, "--workers", 2,
                     "--keep-samples")
    return store, result


def test_run_prints_the_table_and_leaves_a_store(tiny_run):
    store, result = tiny_run
    assert result.returncode == 0, result.stderr
    assert "block 1/1" in result.stderr  # not a terminal: plain progress lines
    assert "mu_star" in result.stdout and "the equilibrium choice is driven by" in result.stdout
    sobol = xr.open_zarr(store, group="sobol")
    assert sobol.attrs["N"] == 64 and "--n 64" in xr.open_zarr(store).attrs["command"]
    assert xr.open_zarr(store, group="samples").sizes["sample"] == 64 * 8


def test_show_reprints_the_table(tiny_run):
    store, result = tiny_run
    shown = reesens("show", store)
    assert shown.returncode == 0
    table = result.stdout.split("\nstore:")[0]
    assert shown.stdout.strip() == table.strip()


def test_bad_arguments_exit_2_and_compute_nothing(tmp_path):
    assert reesens("run", BASELINE, "--n", 100).returncode == 2
    precious = tmp_path / "notes.txt"
    precious.write_text("keep me")
    inside_file = reesens("run", BASELINE, "--n", 64, "--out", precious / "x.zarr")
    assert inside_file.returncode == 2 and "notes.txt" in inside_file.stderr
    refused = reesens("run", BASELINE, "--n", 64, "--out", precious)
    assert refused.returncode == 2 and precious.read_text() == "keep me"
    assert reesens("show", tmp_path).returncode == 2
    assert reesens("frobnicate").returncode == 2


def test_readme_example_reads_a_store(tiny_run):
    store, _ = tiny_run
    readme = (ROOT / "README.md").read_text()
    example = next(block.split("```")[0] for block in readme.split("```python\n")[1:]
                   if "open_zarr" in block)
    namespace = {}
    exec(example.replace('"results/baseline.zarr"', repr(str(store))), namespace)
    assert namespace["sobol"].attrs["study"] == "baseline"


def test_grid_and_report_commands(tmp_path):
    study = ROOT / "studies" / "paper_audit_grid.toml"
    bad = reesens("grid", study, "--out", tmp_path / "g.zarr", "--chunks-per-task", 0)
    assert bad.returncode == 2 and "--chunks-per-task must be >= 1, got 0" in bad.stderr
    swept = reesens("grid", study, "--out", tmp_path / "g.zarr", "--quiet")
    assert swept.returncode == 0, swept.stderr
    assert "= 7,770,000 cells" in swept.stdout
    reported = reesens("report", tmp_path / "g.zarr", "--out", tmp_path / "report")
    assert reported.returncode == 0, reported.stderr
    assert (tmp_path / "report" / "phase_kappa_p.png").exists()
    assert "differ on 50.4% of the grid cells" in (tmp_path / "report" / "summary.md").read_text()
    monte_carlo = reesens("run", study, "--out", tmp_path / "mc.zarr")
    assert monte_carlo.returncode == 2 and "samples no parameter" in monte_carlo.stderr


def test_a_local_run_and_show_import_neither_dask_array_nor_distributed(tmp_path):
    # xarray would import dask.array (~0.9 s) and dask distributed (~0.7 s) for nothing
    code = ("import sys; from reesens import cli; "
            f"assert cli.main(['run', {str(BASELINE)!r}, '--n', '64', '--quiet', '--out', "
            f"{str(tmp_path / 's.zarr')!r}]) == 0; "
            f"assert cli.main(['show', {str(tmp_path / 's.zarr')!r}]) == 0; "
            "print(sorted(m for m in ('dask.array', 'distributed') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=600).stdout
    assert out.strip().splitlines()[-1] == "[]"
    # and a grid store's report, which reads its cube through dask, works after a run
    # in the same process
    study = tmp_path / "small_grid.toml"  # paper_audit_grid on 6^5 x 7 cells
    text = (ROOT / "studies" / "paper_audit_grid.toml").read_text()
    for size in ("5]", "20]", "21]", "37]"):
        text = text.replace(size, "6]" if size != "37]" else "7]")
    study.write_text(text.replace('name = "paper_audit_grid"', 'name = "small_grid"'))
    code = ("import sys; from reesens import cli; "
            f"assert cli.main(['run', {str(BASELINE)!r}, '--n', '64', '--quiet', '--out', "
            f"{str(tmp_path / 't.zarr')!r}]) == 0; "
            f"assert cli.main(['grid', {str(study)!r}, '--quiet', '--out', "
            f"{str(tmp_path / 'g.zarr')!r}]) == 0; "
            f"assert cli.main(['report', {str(tmp_path / 'g.zarr')!r}, '--out', "
            f"{str(tmp_path / 'r')!r}]) == 0; print('dask.array' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=600).stdout
    assert out.strip().splitlines()[-1] == "True"
    assert (tmp_path / "r" / "phase_kappa_p.png").exists()
    assert "of the grid cells" in (tmp_path / "r" / "summary.md").read_text()


def test_show_second_order_and_report_options(tiny_run, tmp_path):
    store, _ = tiny_run
    shown = reesens("show", store, "--second-order")
    assert shown.returncode == 0 and "no second-order indices in this store" in shown.stdout
    bad = reesens("report", store, "--slice", "p", "--out", tmp_path / "r")
    assert bad.returncode == 2 and "--slice p: expected PARAM=VALUE" in bad.stderr
    bad = reesens("report", store, "--slice", "p=0.5", "--out", tmp_path / "r")
    assert bad.returncode == 2 and "--slice applies to grid stores" in bad.stderr
    bad = reesens("report", store, "--dpi", "5", "--out", tmp_path / "r")
    assert bad.returncode == 2 and "--dpi must be within [10, 1200], got 5" in bad.stderr
    assert not (tmp_path / "r").exists()
    made = reesens("report", store, "--format", "svg", "--outputs", "eq,mu_star", "--outputs",
                   "margin", "--out", tmp_path / "svg")
    assert made.returncode == 0, made.stderr
    assert (tmp_path / "svg" / "sobol_all.svg").exists()
    summary = (tmp_path / "svg" / "summary.md").read_text()
    assert all(f"| {o}" in summary or f"{o} " in summary for o in ("eq", "mu_star", "margin"))
    assert "china_payoff" not in summary
    assert (tmp_path / "svg" / "index.html").exists()


def test_ctrl_c_prints_the_resume_command_and_exits_130(tmp_path):
    """Ctrl-C in the middle of a run: one line naming the command that resumes, exit 130,
    no traceback; that command finishes the store."""
    import shlex
    import signal
    store = tmp_path / "b.zarr"
    argv = [str(BASELINE), "--out", str(store), "--n", "4096", "--workers", "1"]
    script = Path(sys.executable).with_name("reesens")
    with subprocess.Popen([str(script), "run", *argv], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, cwd=ROOT) as process:
        for line in process.stderr:  # progress lines: "block k/n"
            if line.startswith("block 1/"):
                process.send_signal(signal.SIGINT)
                break
        err = process.stderr.read()
        process.stdout.read()
        assert process.wait(timeout=120) == 130, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
    lines = [line for line in err.splitlines() if not line.startswith("block ")]
    assert len(lines) == 1 and lines[0].startswith("reesens: interrupted; finished blocks are "
                                                   "kept; resume with: reesens run "), err
    command = shlex.split(lines[0].split("resume with: ", 1)[1])
    assert command[-1] == "--resume"
    again = reesens(*command[1:], "--quiet")
    assert again.returncode == 0, again.stderr
    assert reesens("verify", store).returncode == 0


def test_a_failure_beside_concurrent_writes_is_still_one_line():
    """A store write that fails while zarr's other writes fail beside it (a full disk):
    the one line, and no 'Future exception was never retrieved' traceback when asyncio
    collects the others (in a process of its own, as a user sees it)."""
    script = """if True:
        import asyncio, gc, sys
        from reesens import cli
        from reesens.store.ownership import StoreError

        def failing(args, argv):
            loop = asyncio.new_event_loop()
            beside = loop.create_future()
            beside.set_exception(FileExistsError("a write beside"))  # nothing reads it
            loop.close()
            raise StoreError("s.zarr/zarr.json: the disk is full")

        cli.COMMANDS["verify"] = failing
        status = cli.main(["verify", "s.zarr"])
        gc.collect()
        sys.exit(status)
    """
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 2
    assert done.stderr.splitlines() == ["s.zarr/zarr.json: the disk is full"], done.stderr


@pytest.mark.parametrize("argv", [["--version"], ["--help"], [], ["typo"]])
def test_the_version_and_the_command_list_import_nothing_heavy(argv):
    """`reesens --version`, `--help`, nothing or a command that does not exist answer from
    the front (reesens.__main__) alone: numpy, numba, xarray, zarr, dask and matplotlib
    stay unimported; a command goes on to reesens.cli."""
    script = f"""if True:
        import sys
        sys.argv = ["reesens", *{argv!r}]
        from reesens.__main__ import command_line
        try:
            command_line()
        except SystemExit as e:
            heavy = [m for m in ("numpy", "numba", "xarray", "zarr", "dask", "matplotlib",
                                 "reesens.cli") if m in sys.modules]
            print("exit", e.code, "heavy", heavy)
    """
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120)
    assert done.stdout.strip().splitlines()[-1] == \
        f"exit {0 if argv and argv[0].startswith('--') else 2} heavy []", done
    if argv == ["--help"]:
        assert all(name in done.stdout for name in ("validate", "run", "grid", "show",
                                                    "verify", "export", "report"))


def test_a_command_goes_on_to_the_full_parser():
    done = subprocess.run([sys.executable, "-m", "reesens", "run", "--help"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "--methods" in done.stdout and "sobol, pawn" in \
        done.stdout.replace("\n", " ").replace("  ", " ")
