"""Morris designs: trajectories drawn by SALib, blocked for the store."""
from __future__ import annotations

import numpy as np

from reesens.design import sampling
from reesens.study.schema import Study

TRAJECTORIES_PER_BLOCK = 64


def unit_design(study: Study) -> np.ndarray:
    """float64 (trajectories * (D + 1), D): SALib's Morris trajectories in the unit cube."""
    from SALib.sample import morris  # scipy.stats: import only to use

    D = len(study.sampled_names)
    unit = {"num_vars": D, "names": list(study.sampled_names), "bounds": [[0.0, 1.0]] * D}
    return morris.sample(unit, study.trajectories, num_levels=study.levels,
                         optimal_trajectories=study.optimal_trajectories or None,
                         local_optimization=True, seed=study.seed)


def design_rows(study: Study, unit: np.ndarray) -> np.ndarray:
    """float64 (scenarios, rows, D): the unit design in each scenario's distributions."""
    return np.stack([sampling.scale(unit, sampling.salib_problem(study.sampled_names, s))
                     for _, _, s in study.scenario_items()])
