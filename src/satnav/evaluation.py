"""Scoring solutions against a reference trajectory (ground truth).

:func:`truth_at` interpolates a reference trajectory (for example a GSDC
``ground_truth.csv`` read by :func:`satnav.io.android.read_gsdc_ground_truth`) to the
solution epochs; :func:`horizontal_errors_vs_truth` gives the horizontal errors GSDC scores
(``satnav solve --truth``).
"""

from __future__ import annotations

import numpy as np

from .gnss_time import NS_PER_S

__all__ = ["truth_at", "horizontal_errors_vs_truth"]


def truth_at(truth: dict, time_ns, *, max_gap_s: float = 2.0, tolerance_s: float = 0.01) -> np.ndarray:
    """Ground-truth ECEF positions (m) at GPST times ``time_ns`` (NaN where unmatched).

    Linear interpolation between the two fixes around each time when they are at most
    ``max_gap_s`` apart; otherwise the nearest fix when it is within ``tolerance_s``.
    """
    tt = np.asarray(truth["time_ns"], dtype=np.int64)
    pp = np.asarray(truth["position_m"], dtype=np.float64)
    t = np.asarray(time_ns, dtype=np.int64)
    out = np.full((len(t), 3), np.nan)
    if not len(tt):
        return out
    j = np.searchsorted(tt, t, side="right") - 1
    jl, jr = np.clip(j, 0, len(tt) - 1), np.clip(j + 1, 0, len(tt) - 1)
    bracket = (j >= 0) & (j + 1 < len(tt)) & (tt[jr] - tt[jl] <= max_gap_s * NS_PER_S) & (tt[jr] > tt[jl])
    u = np.where(bracket, (t - tt[jl]) / np.maximum(tt[jr] - tt[jl], 1), 0.0)
    out[bracket] = pp[jl[bracket]] + u[bracket, None] * (pp[jr[bracket]] - pp[jl[bracket]])
    dl = np.abs(t - tt[jl])
    dr = np.abs(tt[jr] - t)
    nearest = np.where(dl <= dr, jl, jr)
    close = ~bracket & (np.minimum(dl, dr) <= tolerance_s * NS_PER_S)
    out[close] = pp[nearest[close]]
    return out


def horizontal_errors_vs_truth(solution, truth_path, *, only_valid: bool = False, **match) -> np.ndarray:
    """Horizontal errors (m) of a solution against a GSDC ``ground_truth.csv``.

    Parameters
    ----------
    solution : satnav.estimators.solution.Solution
    truth_path : str or Path
    only_valid : bool
        Only epochs that passed the integrity test (default: every solved epoch, as GSDC
        scores every epoch).
    **match
        ``max_gap_s``, ``tolerance_s`` of :func:`truth_at`.

    Returns
    -------
    ndarray (k,)
        ``sqrt(east^2 + north^2)`` of the solution minus the truth in the local frame at the
        truth, for the solution epochs that have a position and a matching truth, in epoch
        order.
    """
    from .frames import enu_rotation
    from .io.android import read_gsdc_ground_truth

    truth = read_gsdc_ground_truth(truth_path)
    pos = np.asarray(solution.position_m, dtype=np.float64)
    ref = truth_at(truth, solution.time_ns, **match)
    use = np.all(np.isfinite(pos), axis=1) & np.all(np.isfinite(ref), axis=1)
    if only_valid:
        use &= np.asarray(solution.valid, dtype=bool)
    if not use.any():
        return np.zeros(0)
    from .frames import ecef_to_geodetic

    lat, lon, _ = ecef_to_geodetic(ref[use])
    enu = np.einsum("mij,mj->mi", enu_rotation(lat, lon), pos[use] - ref[use])
    return np.hypot(enu[:, 0], enu[:, 1])
