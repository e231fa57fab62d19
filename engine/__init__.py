"""The reesens pipeline: study files -> samples -> Dask evaluation -> Sobol -> zarr.

It reads models only through :mod:`kernels.registry`. The modules (study, sampling,
evaluate, sobol, store, report, cli) arrive with the pipeline issue.
"""
