"""Reports and exported tables that can be trusted."""
import os

import pytest

from reesens.engine import cli


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
