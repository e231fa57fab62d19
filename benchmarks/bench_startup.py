"""asv: start-up of the commands that should answer at once, each in a fresh interpreter
(asv's timeraw), beside `import numpy` in the same run."""
import tempfile
from pathlib import Path

BASELINE = Path(__file__).resolve().parents[1] / "studies" / "baseline.toml"


def _command(*args: str) -> str:
    """Code that runs `reesens <args>` in this interpreter, its output discarded."""
    return (f"import contextlib, io\nfrom reesens import cli\n"
            f"with contextlib.redirect_stdout(io.StringIO()):\n"
            f"    assert cli.main({list(args)!r}) == 0\n")


class Startup:
    """Whole-process time of a command: import, parse, answer (the tiny run: N = 64 of the
    baseline into a fresh store, its kernels taken from numba's disk cache)."""

    timeout = 120

    def setup_cache(self):
        store = Path(tempfile.mkdtemp(prefix="reesens-startup-")) / "tiny.zarr"
        from reesens import cli
        assert cli.main(["run", str(BASELINE), "--n", "64", "--out", str(store),
                         "--quiet"]) == 0
        return str(store)

    def timeraw_import_numpy(self, store):
        return "import numpy"

    def timeraw_version(self, store):
        return ("import contextlib, io\nfrom reesens import cli\n"
                "with contextlib.redirect_stdout(io.StringIO()):\n"
                "    try:\n        cli.main(['--version'])\n    except SystemExit:\n"
                "        pass\n")

    def timeraw_validate(self, store):
        return _command("validate", str(BASELINE))

    def timeraw_show(self, store):
        return _command("show", store)

    def timeraw_tiny_run(self, store):
        out = Path(tempfile.mkdtemp(prefix="reesens-tiny-")) / "t.zarr"
        return _command("run", str(BASELINE), "--n", "64", "--out", str(out), "--quiet")
