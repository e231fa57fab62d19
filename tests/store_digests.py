"""Digests of every array of stores from the shipped studies at small N, to show that a
change of the code's structure leaves every store's numbers as they were.

    python -m tests.store_digests record FILE   # run the cases, write their digests
    python -m tests.store_digests check FILE    # run them again, list what differs

Each case is a shipped study (or a variant of one) with the options a researcher uses:
each interval kind, the count-based measures, groups, Morris, scenarios, swept options,
a grid, kept samples, the SALib estimator and second order. A digest is the sha256 of an
array's decoded values and dtype, so it compares numbers, not the metadata around them.
Floating-point bits can differ between CPUs and library versions: compare digests taken
on one machine with one environment.
"""
from __future__ import annotations

import contextlib
import hashlib
import io
import json
import sys
import tempfile
from pathlib import Path

import numpy as np
import zarr

from reesens import cli

ROOT = Path(__file__).resolve().parents[1]
STUDIES = ROOT / "studies"
SMALL = ["--n", "256", "--quiet", "--workers", "1"]
CASES = {  # name: (command, study file or (study file, text replacements), options)
    "delta": ("run", "baseline.toml", SMALL),
    "bootstrap": ("run", "baseline.toml", [*SMALL, "--intervals", "bootstrap"]),
    "replicates": ("run", "baseline.toml", [*SMALL, "--intervals", "replicates"]),
    "measures": ("run", "baseline.toml", [*SMALL, "--methods", "sobol,pawn,delta,given_data"]),
    "second_order_samples": ("run", "baseline.toml", [*SMALL, "--second-order",
                                                      "--keep-samples"]),
    "salib": ("run", "baseline.toml", [*SMALL, "--estimator", "salib"]),
    "groups": ("run", "baseline_groups.toml", SMALL),
    "morris": ("run", ("screening.toml", {"trajectories = 400": "trajectories = 40"}),
               ["--quiet", "--workers", "1"]),
    "scenarios": ("run", "partners.toml", SMALL),
    "swept_options": ("run", ("baseline.toml", {
        'concept = "verifiable"': 'concepts = ["paper", "verifiable"]',
        'selection = "china"': 'selections = ["china", "foreign"]'}), SMALL),
    "audit": ("run", "paper_audit.toml", SMALL),
    "grid": ("grid", "paper_audit_grid.toml", ["--quiet", "--workers", "1"]),
}


def study_file(spec, where: Path) -> Path:
    """The study of a case: a shipped file, or a variant of one written to `where`."""
    if isinstance(spec, str):
        return STUDIES / spec
    name, replacements = spec
    text = (STUDIES / name).read_text()
    for old, new in replacements.items():
        if old not in text:
            raise SystemExit(f"{name}: {old!r} not found; update tests/store_digests.py")
        text = text.replace(old, new)
    path = where / f"variant-{name}"
    path.write_text(text)
    return path


def array_digests(store: Path) -> dict[str, str]:
    """{array path: sha256 of its dtype and values} of every array of a store."""
    out = {}
    root = zarr.open_group(store, mode="r", use_consolidated=False)
    for path, array in sorted(root.arrays(), key=lambda x: x[0]):
        out[path] = _digest(array[...])
    for name, group in sorted(root.groups(), key=lambda x: x[0]):
        for path, array in sorted(group.arrays(), key=lambda x: x[0]):
            out[f"{name}/{path}"] = _digest(array[...])
    return out


def _digest(values) -> str:
    values = np.asarray(values)
    h = hashlib.sha256(values.dtype.str.encode())
    if values.dtype.kind in "OUT":
        h.update("\0".join(map(str, values.ravel().tolist())).encode())
    else:
        h.update(np.ascontiguousarray(values).data)
    return h.hexdigest()[:20]


def digests() -> dict[str, dict[str, str]]:
    """{case: {array: digest}} of every case, run in a temporary directory."""
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        out = {}
        for name, (command, spec, options) in CASES.items():
            store = tmp / f"{name}.zarr"
            with contextlib.redirect_stdout(io.StringIO()):  # the tables: not compared
                code = cli.main([command, str(study_file(spec, tmp)), "--out", str(store),
                                 *options])
            if code:
                raise SystemExit(f"case {name}: reesens {command} exited {code}")
            out[name] = array_digests(store)
            print(f"{name}: {len(out[name])} arrays", file=sys.stderr)
        return out


def main(argv) -> int:
    if len(argv) != 2 or argv[0] not in ("record", "check"):
        print(__doc__, file=sys.stderr)
        return 2
    path = Path(argv[1])
    found = digests()
    if argv[0] == "record":
        path.write_text(json.dumps(found, indent=1, sort_keys=True) + "\n")
        return 0
    expected = json.loads(path.read_text())
    differ = [f"{case}/{array}" for case in sorted(set(expected) | set(found))
              for array in sorted(set(expected.get(case, {})) | set(found.get(case, {})))
              if expected.get(case, {}).get(array) != found.get(case, {}).get(array)]
    print("\n".join(differ) or "every array of every case is identical")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
