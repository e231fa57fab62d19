"""A plain-numpy, vectorised reimplementation of docs/model.md (sections 1-4).

Written from the specification alone, as a table of set memberships and a table of
outcomes per code, so that it shares no structure with the numba kernels. It is the oracle
of tests/kernels/test_numpy_oracle.py and the "plain numpy" baseline of the benchmarks.
"""
import numpy as np

CODES = np.arange(7)  # 0 none .. 6 boundary; -1 (invalid) is set at the end


def evaluate(A, gamma, delta, phi_D, kappa, p, *, concept="verifiable", selection="china",
             bargaining="inside", rho_C=0.9, rho_F=0.9, S=1.0):
    """Same signature and outputs as kernels.woods.evaluate (1-D results)."""
    A, gamma, delta, phi_D, kappa, p, rho_C, rho_F, S = (
        np.ravel(a).astype(np.float64) for a in
        np.broadcast_arrays(A, gamma, delta, phi_D, kappa, p, rho_C, rho_F, S))
    n = A.size
    with np.errstate(all="ignore"):
        valid = ((A > 0) & (gamma > 0) & (delta > 0) & (phi_D > 0) & (kappa > 0)
                 & np.isfinite(A) & np.isfinite(gamma) & np.isfinite(delta)
                 & np.isfinite(phi_D) & np.isfinite(kappa) & (p >= 0) & (p <= 1)
                 & (rho_C >= 0) & (rho_C < 1) & (rho_F >= 0) & (rho_F < 1)
                 & (S > 0) & np.isfinite(S))

        mu = (A + gamma) / (gamma + delta)
        above, tie, below = p > mu, p == mu, p < mu
        k_lt, k_eq, k_gt = kappa < phi_D, kappa == phi_D, kappa > phi_D
        always_press = A >= delta

        member = np.zeros((n, 7), dtype=bool)
        if concept == "paper":
            member[:, 1] = above
            member[:, 2] = below & (k_lt | k_eq)
            member[:, 3] = below & k_eq
            member[:, 0] = below & k_gt
            member[:, 6] = tie
        elif concept == "verifiable":
            member[:, 1] = above | tie
            member[:, 2] = (below | tie) & (k_lt | k_eq)
            member[:, 3] = k_gt | k_eq
            member[:, 4] = above & k_gt
        elif concept == "mimicable":
            member[:, 1] = above | tie
            member[:, 2] = below | tie
            member[:, 3] = k_eq
            member[:, 5] = (above | tie) & (k_gt | k_eq)
        else:
            raise ValueError(concept)
        member[always_press] = CODES == 2

        # Outcome table, columns = codes 0..6: hedge, disclose, china, foreign.
        sigma = 1 - mu * (1 - p) / (p * (1 - mu))
        x = phi_D / kappa
        nan, zero, one = np.full(n, np.nan), np.zeros(n), np.ones(n)
        sep_china = np.where(kappa == phi_D, -kappa, -p * phi_D - (1 - p) * kappa)
        hedge = np.stack([nan, one, zero, p, p * sigma + (1 - p * sigma) * (1 - x), one, nan], 1)
        disclose = np.stack([nan, zero, zero, p, p * sigma, one, nan], 1)
        china = np.stack([nan, zero, -kappa, sep_china, -phi_D, -phi_D, nan], 1)
        press_foreign = np.where(p == mu, -A, (1 - p) * gamma - p * delta)  # indifferent
        foreign = np.stack([nan, -A, press_foreign, -p * A + (1 - p) * gamma, -A, -A, nan], 1)

        criterion = {"china": china, "foreign": foreign, "hedge": hedge,
                     "transparent": disclose}[selection]
        real = member[:, 1:6]
        scores = np.where(real, criterion[:, 1:6], -np.inf)
        has_real = real.any(1)
        eq = np.where(has_real, 1 + np.argmax(scores, axis=1),
                      np.where(member[:, 6], 6, 0))
        pick = lambda table: np.take_along_axis(table, eq[:, None], 1)[:, 0]  # noqa: E731
        hedge_prob, disclose_prob = pick(hedge), pick(disclose)
        china_payoff, foreign_payoff = pick(china), pick(foreign)

        china_full = -phi_D - kappa * ((1 - p) + p * always_press)
        foreign_full = p * np.maximum(-A, -delta) + (1 - p) * gamma

        x_C, x_F, agreement = bargain(bargaining, china_payoff, foreign_payoff,
                                     rho_C, rho_F, S)

        out = {
            "mu_star": mu, "margin": p - mu,
            "dmu_dA": 1 / (gamma + delta),
            "dmu_dgamma": (delta - A) / (gamma + delta) ** 2,
            "dmu_ddelta": -(A + gamma) / (gamma + delta) ** 2,
            "eq_set": (member * (1 << CODES)).sum(1).astype(np.uint8),
            "n_eq": real.sum(1).astype(np.int8),
            "eq": eq.astype(np.int8),
            "hedge_prob": hedge_prob, "disclose_prob": disclose_prob,
            "china_payoff": china_payoff, "foreign_payoff": foreign_payoff,
            "leverage": china_payoff - china_full,
            "adjustment_cost": foreign_full - foreign_payoff,
            "china_share": x_C / S, "foreign_share": x_F / S, "agreement": agreement,
        }
    for name, a in out.items():
        if a.dtype.kind == "f":
            a[~valid] = np.nan
    out["eq"][~valid] = -1
    out["eq_set"][~valid] = 0
    out["n_eq"][~valid] = 0
    return out


def bargain(mode, d_C, d_F, rho_C, rho_F, S):
    """(x_C, x_F, agreement) of docs/model.md section 4, elementwise; NaN where d is NaN."""
    with np.errstate(all="ignore"):
        eta = (1 - rho_F) / (1 - rho_C * rho_F)
        if mode == "inside":
            surplus = S - d_C - d_F
            gain = np.maximum(surplus, 0)
            x_C, x_F = d_C + eta * gain, d_F + (1 - eta) * gain
            agreement = (surplus > 0).astype(float)
        elif mode == "outside":
            eta_F = (1 - rho_C) / (1 - rho_C * rho_F)
            walk_F = d_F > rho_F * eta_F * S
            walk_C = d_C > rho_C * eta * S
            x_C = np.where(walk_F, S - d_F,
                           np.where(walk_C,
                                    np.where(d_F <= rho_F * (S - d_C), S - rho_F * (S - d_C),
                                             S - d_F),
                                    eta * S))
            disagree = d_C + d_F >= S
            x_C = np.where(disagree, d_C, x_C)
            x_F = np.where(disagree, d_F, S - x_C)
            agreement = np.where(disagree, 0.0, 1.0)
        else:
            raise ValueError(mode)
    undefined = np.isnan(d_C) | np.isnan(d_F)
    return (np.where(undefined, np.nan, x_C), np.where(undefined, np.nan, x_F),
            np.where(undefined, np.nan, agreement))
