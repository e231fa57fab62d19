"""The reesens command line with a fault injected at one store write.

    python -m tests.engine.faults FAULT -- reesens-arguments...

FAULT is `log:FILE` (append every write's key to FILE, inject nothing) or
`MODE:KEY:K`: at the K-th write whose key is KEY, `kill` sends this process SIGKILL
before the write (as kill -9 would), `torn` writes half of it to the temporary file a
killed zarr write leaves and then kills, `enospc` and `erofs` raise that OSError.
Writes are every file zarr's LocalStore writes (chunks and metadata; not its writes
"if absent" of files that exist, which write nothing) and the renames and deletions of
whole groups that exist (`rename:SRC>DST`, `rmtree:PATH`); keys are paths relative
to the store given with --out.
"""
import errno
import os
import shutil
import signal
import sys
import threading
from pathlib import Path

import zarr.storage._local as local

from reesens.engine import cli


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
                    Path(str(path) + ".0badc0de.partial").write_bytes(
                        bytes(value.as_buffer_like())[: max(1, len(value) // 2)])
                os.kill(os.getpid(), signal.SIGKILL)
            code = {"enospc": errno.ENOSPC, "erofs": errno.EROFS}[mode]
            raise OSError(code, os.strerror(code), str(path))

    put, rename, rmtree = local._put, os.rename, shutil.rmtree

    def faulty_put(path, value, exclusive=False):
        if not (exclusive and Path(path).exists()):  # else zarr writes nothing
            hit(key_of(path), path, value)
        return put(path, value, exclusive=exclusive)

    def faulty_rename(src, dst, *a, **k):
        hit(f"rename:{key_of(src)}>{key_of(dst)}", src)
        return rename(src, dst, *a, **k)

    def faulty_rmtree(path, *a, **k):
        if Path(path).exists():  # else nothing is deleted
            hit(f"rmtree:{key_of(path)}", path)
        return rmtree(path, *a, **k)

    local._put, os.rename, shutil.rmtree = faulty_put, faulty_rename, faulty_rmtree
    return cli.main(args)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
