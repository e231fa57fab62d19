"""The reesens pipeline: study files -> samples -> Dask evaluation -> Sobol -> zarr.

study (load and check), sampling (Saltelli rows per block), evaluate (one Dask task per
block), sobol (SALib indices), store (summary, samples, provenance, zarr), report (text
tables), run (one study end to end), cli (the `reesens` command). Models are read only
through :mod:`kernels.registry`.
"""
