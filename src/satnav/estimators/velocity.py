"""Receiver velocity and clock drift from Doppler, weighted least squares per epoch.

Model (e.g. Misra & Enge 6.2; RTKLIB ``resdop``): the measured range rate
``-lambda * D`` (m/s; D in Hz, positive when the satellite approaches) equals

``e . (v_s - v_r) + omega_e / c (v_sy x_r + y_s v_rx - v_sx y_r - x_s v_ry)
+ c (ddt_r - ddt_s)``

with ``e`` the receiver-to-satellite unit vector, ``v_s``/``x_s`` the satellite ECEF
velocity/position, ``v_r``/``x_r`` the receiver's, the Sagnac-rate term, and the
receiver / satellite clock drifts. The model is linear in (v_r, c ddt_r), so one solve
per epoch is exact. One receiver clock drift serves all systems.
"""

from __future__ import annotations

import numpy as np

from ..constants import OMEGA_E_GPS, SPEED_OF_LIGHT
from .cycle_slips import _nanmedian_last

__all__ = ["estimate_velocity"]

try:  # the LAPACK gufuncs behind np.linalg.det and np.linalg.solve, and solve's error handler
    from numpy.linalg import _umath_linalg
    from numpy.linalg._linalg import _raise_linalgerror_singular

    _DET, _SOLVE = _umath_linalg.det, _umath_linalg.solve
except (ImportError, AttributeError):  # pragma: no cover - other NumPy layouts
    _DET = _SOLVE = None


def estimate_velocity(
    range_rate_m_s,
    receiver_position_m,
    satellite_position_m,
    satellite_velocity_m_s,
    satellite_clock_drift_s_s,
    used,
    weights=None,
    max_residual_m_s: float = 5.0,
):
    """Velocity (m/s, ECEF) and clock drift (s/s) per epoch from range rates.

    Parameters
    ----------
    range_rate_m_s : ndarray (m, k)
        Measured range rates ``-lambda * D`` (m/s); NaN where absent.
    receiver_position_m : ndarray (m, 3)
        Receiver ECEF position (m).
    satellite_position_m, satellite_velocity_m_s : ndarray (m, k, 3)
        Satellite ECEF position (m, Earth rotation during flight applied) and velocity (m/s).
    satellite_clock_drift_s_s : ndarray (m, k)
    used : ndarray bool (m, k)
        Measurements allowed (e.g. those used for the position).
    weights : ndarray (m, k), optional
        Relative weights (default 1).
    max_residual_m_s : float
        After a first solve, measurements with |residual| above this (and above 5 times
        the epoch's median |residual|) are dropped and the epoch solved again.

    Returns
    -------
    velocity_m_s : ndarray (m, 3)
    clock_drift_s_s : ndarray (m,)
    residuals_m_s : ndarray (m, k)
        NaN where not used.
    used : ndarray bool (m, k)
        Measurements used in the final solve.
    """
    rr = np.asarray(receiver_position_m, dtype=np.float64)
    rs = np.asarray(satellite_position_m, dtype=np.float64)
    vs = np.asarray(satellite_velocity_m_s, dtype=np.float64)
    rate = np.asarray(range_rate_m_s, dtype=np.float64)
    ok = np.asarray(used, dtype=bool) & np.isfinite(rate) & np.isfinite(vs).all(axis=-1)
    ok &= np.isfinite(rr).all(axis=-1)[:, None]
    w = np.ones(rate.shape) if weights is None else np.asarray(weights, dtype=np.float64)
    # every measurement allowed (a receiver's epoch, usually): the masks below change nothing
    every = bool(ok.all())
    los = rs - rr[:, None, :]
    e = los / np.sqrt(np.add.reduce(los * los, axis=-1, keepdims=True))  # (np.linalg.norm's operations)
    if not every:
        e = np.where(ok[..., None], e, 0.0)
    dts_dot = _finite(np.asarray(satellite_clock_drift_s_s, dtype=np.float64))
    # satellite-only part of the modelled range rate (receiver velocity zero)
    sat_rate = np.add.reduce(e * vs, axis=-1) + OMEGA_E_GPS / SPEED_OF_LIGHT * (
        vs[..., 1] * rr[:, None, 0] - vs[..., 0] * rr[:, None, 1]
    )
    y = rate - sat_rate + SPEED_OF_LIGHT * dts_dot
    if not every:
        y = np.where(ok, y, 0.0)
    # receiver velocity enters as -e . v_r plus the Sagnac-rate terms in v_r
    om = OMEGA_E_GPS / SPEED_OF_LIGHT
    h = np.empty(rate.shape + (4,))
    h[..., 0] = -e[..., 0] + om * rs[..., 1]
    h[..., 1] = -e[..., 1] - om * rs[..., 0]
    h[..., 2] = -e[..., 2]
    h[..., 3] = 1.0
    if not every:
        h = np.where(ok[..., None], h, 0.0)
    for attempt in range(3):
        x, ok = _solve(h, y, w, ok, every)
        every = False  # (``ok`` may have lost epochs without enough measurements)
        res = np.where(ok, y - np.einsum("mkp,mp->mk", h, _finite(x)), np.nan)
        if attempt == 2:
            break
        a = np.abs(res)
        big = a > max_residual_m_s  # (False where NaN: not used)
        if not big.any():  # nothing to drop (the median test below needs a big residual too)
            break
        med = np.nan_to_num(_nanmedian_last(a))  # np.nanmedian(a, axis=-1), by one sort
        bad = ok & big & (a > 5.0 * med[:, None])
        if not bad.any():
            break
        ok = ok & ~bad
    return x[:, :3], x[:, 3] / SPEED_OF_LIGHT, res, ok


def _finite(x):
    """``np.nan_to_num(x)`` (NaN -> 0, infinities -> the largest floats), without its cost
    when every value is finite already."""
    return x if np.isfinite(x).all() else np.nan_to_num(x)


def _solve(h, y, w, ok, every=False):
    """Weighted least squares of every epoch; ``every``: ``ok`` is all true (its masks are
    skipped: the same values)."""
    hw = h * (w if every else np.where(ok, w, 0.0))[..., None]
    n = np.matmul(np.swapaxes(hw, -1, -2), h)
    b = np.einsum("mkp,mk->mp", hw, y)
    enough = ok.sum(axis=-1) >= 4
    det_ok = np.abs(_det(n)) > 1e-12 * np.maximum(np.prod(np.diagonal(n, axis1=-2, axis2=-1), axis=-1), 1e-300)
    good = enough & det_ok
    if good.all():
        x = _solve_stack(n, b[..., None])[..., 0]
        return x, ok
    nn = np.where(good[:, None, None], n, np.eye(4))
    x = _solve_stack(nn, np.where(good[:, None], b, 0.0)[..., None])[..., 0]
    x[~good] = np.nan
    return x, ok & good[:, None]


def _det(n):
    """``np.linalg.det(n)`` of a float64 stack by its LAPACK gufunc directly (the same call and
    values without the wrapper's checks: microseconds per one-epoch call)."""
    if _DET is None or n.dtype != np.float64:
        return np.linalg.det(n)
    return _DET(n, signature="d->d")


def _solve_stack(n, b):
    """``np.linalg.solve(n, b)`` of float64 stacks ``n`` (m, p, p) and ``b`` (m, p, 1) by its
    LAPACK gufunc directly (the same call, values and singular-matrix error)."""
    if _SOLVE is None or n.dtype != np.float64 or b.dtype != np.float64:
        return np.linalg.solve(n, b)
    with np.errstate(call=_raise_linalgerror_singular, invalid="call", over="ignore", divide="ignore",
                     under="ignore"):
        return _SOLVE(n, b, signature="dd->d")
