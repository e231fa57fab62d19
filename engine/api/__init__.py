"""reesens: Monte Carlo Sobol' sensitivity studies of game-theoretic rare-earth trade models.

The public API (see the README's "Python API")::

    study = reesens.load_study("studies/baseline.toml")   # or a dict of the TOML tables
    groups = reesens.run(study, out="results/baseline.zarr")
    groups["sobol"]                                        # xarray.Dataset of indices
    reesens.report("results/baseline.zarr")                # figures and summary.md

The command line is `reesens` (or `python -m reesens`); models of one's own register
through the `reesens.models` entry point group (docs/models.md).
"""
