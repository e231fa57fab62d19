"""Numba kernels of the rare-earth trade models (numpy + numba only).

Each model module declares its parameters and outputs in :mod:`kernels.registry`; the
engine reads that declaration and calls the model's batch entry.
"""
from reesens.kernels import alloc, audit, woods  # noqa: F401  (register the models)

DEFAULT_MODEL = woods.MODEL.name  # the model a study that names none runs
