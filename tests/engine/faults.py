"""The reesens command line with a fault injected at one store write.

    python -m tests.engine.faults FAULT -- reesens-arguments...

FAULT is `log:FILE` (append every write's key to FILE, inject nothing) or
`MODE:KEY:K`: at the K-th write whose key is KEY, `kill` sends this process SIGKILL
before the write (as kill -9 would), `torn` writes half of it to the temporary file a
killed zarr write leaves and then kills, `enospc` and `erofs` raise that OSError.
Writes are every file zarr's LocalStore writes (chunks and metadata; not its writes
"if absent" of files that exist, which write nothing) and the renames and deletions of
whole groups that exist (`rename:SRC>DST`, `rmtree:GROUP` for ownership.remove); keys are paths relative
to the store given with --out.
"""
import errno
import os
import signal
import sys
import threading
from pathlib import Path

import zarr.storage._local as local

from reesens import cli
from reesens.store import ownership


def main(argv) -> int:
    fault, args = argv[0], argv[argv.index("--") + 1:]
    store = Path(args[args.index("--out") + 1]).resolve()
    lock, seen = threading.Lock(), {}
    if fault.startswith("log:"):
        log, mode, target, count = Path(fault[4:]), "log", None, 0
    else:
        log = None
        mode, rest = fault.split(":", 1)
        target, count = rest.rsplit(":", 1)
        count = int(count)

    def key_of(path) -> str:
        path = Path(path)
        try:
            return str(path.resolve().relative_to(store))
        except ValueError:
            return str(path)

    def hit(key: str, path=None, value=None) -> None:
        with lock:
            seen[key] = seen.get(key, 0) + 1
            if log is not None:
                with open(log, "a") as f:
                    f.write(key + "\n")
            if key != target or seen[key] != count:
                return
            if mode in ("kill", "torn"):
                if mode == "torn" and value is not None:
                    Path(path).parent.mkdir(parents=True, exist_ok=True)
                    Path(path).with_suffix(f".{'0badc0de' * 4}.partial").write_bytes(
                        bytes(value.as_buffer_like())[: max(1, len(value) // 2)])
                os.kill(os.getpid(), signal.SIGKILL)
            code = {"enospc": errno.ENOSPC, "erofs": errno.EROFS}[mode]
            raise OSError(code, os.strerror(code), str(path))

    put, rename, remove = local._put, os.rename, ownership.remove

    def faulty_put(path, value, exclusive=False):
        if not (exclusive and Path(path).exists()):  # else zarr writes nothing
            hit(key_of(path), path, value)
        return put(path, value, exclusive=exclusive)

    def faulty_rename(src, dst, *a, **k):
        hit(f"rename:{key_of(src)}>{key_of(dst)}", src)
        return rename(src, dst, *a, **k)

    def faulty_remove(path, name):
        if (Path(path) / name).exists():  # else nothing is deleted
            hit(f"rmtree:{key_of(Path(path) / name)}", path)
        return remove(path, name)

    local._put, os.rename, ownership.remove = faulty_put, faulty_rename, faulty_remove
    return cli.main(args)


def whole_files(argv) -> int:
    """The command line with a fault injected at one write of a whole file (every
    core.files.atomic_write: a report's marker, figures, summary and page, an exported
    table):

        python -c 'import sys; from tests.engine.faults import whole_files;
                   sys.exit(whole_files(sys.argv[1:]))' FAULT -- reesens-arguments...

    FAULT is `log:FILE` (append every written file's name to FILE, inject nothing) or
    `MODE:K`: at the K-th write, `before` sends this process SIGKILL before it begins,
    `torn` once half of the temporary file is written, and `enospc` raises that OSError
    there."""
    from reesens.core import files

    fault, args = argv[0], argv[argv.index("--") + 1:]
    mode, count = fault.split(":", 1)
    log, count = (Path(count), 0) if mode == "log" else (None, int(count))
    real, seen = files.atomic_write, [0]

    def faulty(path, write):
        seen[0] += 1
        if log is not None:
            with open(log, "a") as f:
                f.write(Path(path).name + "\n")
        if seen[0] != count:
            return real(path, write)
        if mode == "before":
            os.kill(os.getpid(), signal.SIGKILL)

        def half(temp):
            write(temp)
            os.truncate(temp, Path(temp).stat().st_size // 2)
            if mode == "torn":
                os.kill(os.getpid(), signal.SIGKILL)
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))

        return real(path, half)

    files.atomic_write = faulty
    return cli.main(args)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
