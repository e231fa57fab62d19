"""Files that reesens writes whole (reports, exported tables): each is written to a
temporary file beside it, created exclusively under a name no user would pick, and
renamed into place, so that no reader sees half a file and no file of the user is ever
replaced or removed under a name reesens made up.

A temporary file's name is the target's with this process's random token, so that a
caller can list it (a report's marker) before atomic_write creates it."""
from __future__ import annotations

import os
import secrets
from pathlib import Path

TEMP_SUFFIX = ".reesens-tmp"
_token = secrets.token_hex(8)


def _new_token() -> None:
    global _token
    _token = secrets.token_hex(8)


os.register_at_fork(after_in_child=_new_token)  # a forked process has a token of its own


def temp_name(path: Path) -> Path:
    """The temporary file of `path` in this process: .<name>.<token>.reesens-tmp beside it."""
    path = Path(path)
    return path.with_name(f".{path.name}.{_token}{TEMP_SUFFIX}")


def atomic_write(path: Path, write) -> Path:
    """Write `path` whole: `write(temp)` fills temp_name(path), created exclusively (never
    an existing file), which is then renamed onto `path`. On any failure only that
    temporary file is removed and the error is raised. Returns path."""
    path = Path(path)
    temp = temp_name(path)
    os.close(os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
    try:
        write(temp)
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return path
