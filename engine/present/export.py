"""`reesens export`: a store's indices, measures or output summary as one tidy table (CSV
or Parquet).

One row per case, output, parameter (and second parameter for S2) and index kind:
columns are the case dims (concept, selection, scenario, ...; N for the convergence
group), `output`, `param`, `param_2` (S2 only, else empty), `index` (S1, ST, S2; for the
other groups the variable, e.g. pawn_median, delta, given_data_S1, morris_mu_star, ks,
lower; for the summary group mean, variance and nan_count, with `param` empty; for rsa
and prim `output` names the region), `value`, `half_width` (of the interval at the
store's conf_level; empty for PAWN, delta, rsa and prim, which have none, and for the
summary's mean unless its intervals are independent scramblings), for groups with null
levels `null_level` (PAWN, delta and rsa: what a parameter the output or region ignores
reads at most), and `skip_reason` (why an output has none, else empty). Which variables
of a group are rows is its method's declaration (study.registry.Method.export).
"""
from __future__ import annotations

from pathlib import Path

import xarray as xr

from reesens.core import files
from reesens.store import ownership, verify
from reesens.store.ownership import StoreError
from reesens.study import registry

FORMATS = {"csv": ".csv", "parquet": ".parquet"}
COLUMNS = ("output", "param", "param_2", "index", "value", "half_width", "null_level",
           "skip_reason")


def groups() -> list[str]:
    """The result groups `reesens export` writes: every method's (study.registry)."""
    return [g for m in registry.methods() for g in m.export]


def tidy(ds: xr.Dataset, group: str = "sobol"):
    """pandas.DataFrame, the long table of a group's indices or measures: the rows of
    each variable its method exports (study.registry.Method.export)."""
    import pandas as pd

    method = registry.of_group(group)
    declared = method.export.get(group, {}) if method else {}
    exported = {v: index for v, index in declared.items() if v in ds}
    reasons = next((ds[v] for v in ds.data_vars if v.endswith("_skip_reason")), None)
    frames = []
    for q, index in exported.items():
        nan = xr.full_like(ds[q], float("nan"), dtype=float)
        part = xr.Dataset({"value": ds[q], "half_width": ds.get(f"{q}_conf", nan),
                           "null_level": ds.get(f"{q}_null", nan)}).reset_coords(drop=True)
        pair = [d for d in part["value"].dims if d.startswith("param_")]
        if pair:  # a pair of parameters (S2): each pair once (j < k), as SALib reports it
            part = part.rename(dict(zip(pair, ("param", "param_2"))))
            frame = _frame(part)
            order = {p: i for i, p in enumerate(ds["param"].values.tolist())}
            frame = frame[frame["param"].map(order) < frame["param_2"].map(order)]
        else:
            frame = _frame(part)
            frame["param_2"] = ""
        if "param" not in frame:  # a measure per output, not per parameter
            frame["param"] = ""
        frame["index"] = index
        frames.append(frame)
    table = pd.concat(frames, ignore_index=True)
    if reasons is not None:
        reason = reasons.reset_coords(drop=True).to_dataframe(name="skip_reason").reset_index()
        table = table.merge(reason, on=[d for d in reasons.dims], how="left")
    else:
        table["skip_reason"] = ""
    cases = [c for c in table.columns if c not in COLUMNS]
    nulls = any(f"{q}_null" in ds for q in exported)
    columns = [c for c in COLUMNS if c != "null_level" or nulls]
    return table[cases + columns].astype({"output": str, "param": str, "param_2": str,
                                          "skip_reason": str})


def _frame(part: xr.Dataset):
    """The rows of `part` in the order of its value's dims (case dims first): a Dataset's
    own dim order is a set's, which varies with PYTHONHASHSEED."""
    return part.to_dataframe(dim_order=list(part["value"].dims)).reset_index()


def default_out(store: Path, group: str, format: str) -> Path:
    return store.with_name(f"{store.name.removesuffix('.zarr')}-{group}{FORMATS[format]}")


def export(store: Path, out: Path | None = None, *, format: str | None = None,
           group: str = "sobol", overwrite: bool = False,
           options=("--overwrite", "--out")) -> Path:
    """Write the tidy table of `group` of a finished, intact store to `out` (default
    <store>-<group>.<format>); the format is `format`, else out's suffix, else CSV. The
    file is written whole (core.files.atomic_write); an existing `out` is refused
    unless `overwrite`. Returns the path written. `options`: how the caller names the
    overwrite and output options, for a refusal (the command line's flags by default)."""
    if format is None:
        format = next((f for f, ext in FORMATS.items()
                       if out is not None and out.suffix == ext), "csv")
    if format not in FORMATS:
        raise StoreError(f"--format must be one of {', '.join(FORMATS)}, got {format!r}")
    if group not in groups():
        raise StoreError(f"--group must be one of {', '.join(groups())} (the groups "
                         f"that hold results), got {group!r}")
    held = verify.require_intact(store)
    if group not in held:
        raise StoreError(f"{store}: has no {group!r} group (it holds {', '.join(held)})"
                         + ("; a grid store has no indices: `reesens show` summarises it"
                            if "grid" in held else ""))
    out = Path(out) if out is not None else default_out(store, group, format)
    ownership.refuse_inside_zarr(out.resolve())
    if out.exists() and not overwrite:
        raise StoreError(f"{out}: exists; refusing to replace it (use {options[0]} or "
                         f"another {options[1]})")
    if format == "parquet":
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise StoreError("--format parquet needs pyarrow: pip install "
                             "'reesens[parquet]' (or pyarrow)") from None
    table = tidy(verify.open_group(store, group).load(), group)
    if format == "csv":
        return files.atomic_write(out, lambda temp: table.to_csv(temp, index=False))
    return files.atomic_write(out, lambda temp: table.to_parquet(temp, index=False))
