"""asv: start-up of the commands that should answer at once, each in a fresh interpreter
(asv's timeraw), beside `import numpy` in the same run."""
import tempfile
from pathlib import Path

import reesens

BASELINE = Path(__file__).resolve().parents[1] / "studies" / "baseline.toml"
# the fresh interpreter imports the reesens this process imported (make bench-regress
# puts a commit's sources first on the path, which asv does not pass on to it); untimed
FRESH_PATH = f"import sys\nsys.path.insert(0, {str(Path(reesens.__file__).parents[1])!r})\n"


def _command(*args: str) -> tuple[str, str]:
    """(code, setup) that run `reesens <args>` in the fresh interpreter, its output
    discarded."""
    return (f"import contextlib, io\nfrom reesens import cli\n"
            f"with contextlib.redirect_stdout(io.StringIO()):\n"
            f"    assert cli.main({list(args)!r}) == 0\n", FRESH_PATH)


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
                "        pass\n", FRESH_PATH)

    def timeraw_validate(self, store):
        return _command("validate", str(BASELINE))

    def timeraw_show(self, store):
        return _command("show", store)

    def timeraw_tiny_run(self, store):
        out = Path(tempfile.mkdtemp(prefix="reesens-tiny-")) / "t.zarr"
        return _command("run", str(BASELINE), "--n", "64", "--out", str(out), "--quiet")
