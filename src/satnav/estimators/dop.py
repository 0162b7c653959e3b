"""Dilution of precision from satellite azimuths and elevations (or east/north/up
line-of-sight vectors), vectorized over epochs: satnav's one DOP computation, used by the
estimators and by constellation coverage.

The design matrix row of a satellite is ``[-u_e, -u_n, -u_u, 1_g]`` with ``u`` the local
east/north/up unit vector towards the satellite and ``1_g`` a one for the satellite's
clock group (one receiver clock per system group, as in the estimator). With
``Q = (H^T H)^-1``: GDOP = sqrt(trace Q), PDOP = sqrt(Qee + Qnn + Quu),
HDOP = sqrt(Qee + Qnn), VDOP = sqrt(Quu), TDOP = sqrt(Q of the first clock group)
(Misra & Enge, "Global Positioning System", 2nd ed., 6.1.2). With a single clock group
this is the classic DOP.
"""

from __future__ import annotations

import numpy as np

__all__ = ["dilution_of_precision", "dilution_of_precision_enu", "dilution_of_precision_epoch",
           "enu_line_of_sight"]

try:  # the LAPACK gufuncs behind np.linalg.eigvalsh and np.linalg.inv, and their error handlers
    from numpy.linalg import _umath_linalg
    from numpy.linalg._linalg import (
        _raise_linalgerror_eigenvalues_nonconvergence,
        _raise_linalgerror_singular,
    )

    _EIGVALSH, _INV = _umath_linalg.eigvalsh_lo, _umath_linalg.inv
except (ImportError, AttributeError):  # pragma: no cover - other NumPy layouts
    _EIGVALSH = _INV = None


_ARANGE = np.arange(64)


def enu_line_of_sight(azimuth_rad, elevation_rad) -> np.ndarray:
    """East/north/up unit vectors (..., 3) towards satellites at azimuth/elevation (rad)."""
    ce = np.cos(elevation_rad)
    east = ce * np.sin(azimuth_rad)
    out = np.empty(east.shape + (3,))  # (np.stack's values, in fewer calls)
    out[..., 0] = east
    out[..., 1] = ce * np.cos(azimuth_rad)
    out[..., 2] = np.sin(elevation_rad)
    return out


def dilution_of_precision(azimuth_rad, elevation_rad, used=None, clock_group=None, n_clock_groups=None):
    """GDOP, PDOP, HDOP, VDOP and TDOP per epoch.

    Parameters
    ----------
    azimuth_rad, elevation_rad : array_like (m, k)
        Satellite azimuths and elevations (rad); NaN entries are ignored.
    used : array_like of bool (m, k), optional
        Satellites to include (default: all finite entries).
    clock_group : array_like of int (m, k) or (k,), optional
        Clock group of each satellite (default: one group).
    n_clock_groups : int, optional
        Number of clock groups (default: ``max(clock_group) + 1``).

    Returns
    -------
    gdop, pdop, hdop, vdop, tdop : ndarray (m,)
        NaN where the geometry is singular (fewer satellites than unknowns). A clock group
        with no satellite at an epoch is left out of that epoch's model; TDOP is NaN then
        when it is the first group.
    """
    az = np.atleast_2d(np.asarray(azimuth_rad, dtype=np.float64))
    el = np.atleast_2d(np.asarray(elevation_rad, dtype=np.float64))
    return dilution_of_precision_enu(enu_line_of_sight(az, el), used, clock_group, n_clock_groups)


def dilution_of_precision_enu(line_of_sight_enu, used=None, clock_group=None, n_clock_groups=None):
    """GDOP, PDOP, HDOP, VDOP and TDOP from unit east/north/up line-of-sight vectors.

    As :func:`dilution_of_precision`, for callers that hold line-of-sight vectors rather than
    azimuths and elevations; any number of leading dimensions.

    Parameters
    ----------
    line_of_sight_enu : array_like (..., k, 3)
        Unit vectors receiver -> satellite in the local east-north-up frame; entries with a
        NaN component are ignored.
    used : array_like of bool (..., k), optional
        Satellites to include (default: all finite entries).
    clock_group : array_like of int, broadcast against (..., k), optional
        Clock group of each satellite (default: one group).
    n_clock_groups : int, optional
        Number of clock groups (default: ``max(clock_group) + 1``).

    Returns
    -------
    gdop, pdop, hdop, vdop, tdop : ndarray (...)
        As :func:`dilution_of_precision`.
    """
    los = np.asarray(line_of_sight_enu, dtype=np.float64)
    ok = np.isfinite(los).all(axis=-1)
    if used is not None:
        ok &= np.asarray(used, dtype=bool)
    if clock_group is None:
        group = np.zeros(ok.shape, dtype=np.intp)
    else:
        group = np.asarray(clock_group)
        if group.shape != ok.shape:
            group = np.broadcast_to(group, ok.shape)
    ng = int(n_clock_groups) if n_clock_groups is not None else int(group.max(initial=0)) + 1
    # design matrix [-u, one-hot clock group] (the values of np.concatenate, in fewer calls)
    ar = _ARANGE if ng + 3 <= len(_ARANGE) else np.arange(ng + 3)
    h = np.empty(ok.shape + (3 + ng,))
    h[..., 3:] = group[..., None] == ar[:ng]
    if ok.all():  # (the masking below changes nothing then: x * 1.0 == x)
        np.negative(los, out=h[..., :3])
        present = h[..., 3:].sum(axis=-2) > 0  # (..., ng)
    else:
        np.negative(np.where(ok[..., None], los, 0.0), out=h[..., :3])
        h *= ok[..., None]
        present = h[..., 3:].sum(axis=-2) > 0
    n = _normal_matrix(h)
    idx = ar[3:3 + ng]
    n[..., idx, idx] += ~present  # pseudo-constraint for absent clock groups
    q = _safe_inverse(n)
    d = np.diagonal(q, axis1=-2, axis2=-1)
    with np.errstate(invalid="ignore"):
        pos_trace = d[..., 0] + d[..., 1] + d[..., 2]
        gdop = np.sqrt(pos_trace + np.sum(np.where(present, d[..., 3:], 0.0), axis=-1))
        pdop = np.sqrt(pos_trace)
        hdop = np.sqrt(d[..., 0] + d[..., 1])
        vdop = np.sqrt(d[..., 2])
        tdop = np.where(present[..., 0], np.sqrt(d[..., 3]), np.nan)
    return gdop, pdop, hdop, vdop, tdop


def dilution_of_precision_epoch(line_of_sight_enu, clock_group, n_clock_groups, used=None) -> tuple:
    """GDOP, PDOP, HDOP, VDOP and TDOP (floats) of one epoch: what
    :func:`dilution_of_precision_enu` gives for ``line_of_sight_enu[None]`` (the same
    operations, the same bits), in a third of the NumPy calls, for a per-epoch engine.

    Parameters
    ----------
    line_of_sight_enu : ndarray (k, 3)
        Finite unit vectors receiver -> satellite (east, north, up), every one used (unless
        ``used`` is given).
    clock_group : ndarray of int (k,)
        Clock group of each satellite, in ``0 .. n_clock_groups - 1``.
    n_clock_groups : int
    used : ndarray of bool (k,), optional
        Satellites to include, as :func:`dilution_of_precision_enu`'s ``used`` (rows of the
        others, and of non-finite vectors, are zeros of the design matrix as there: the
        same bits).
    """
    los = np.asarray(line_of_sight_enu, dtype=np.float64)
    group = np.asarray(clock_group, dtype=np.intp)
    ng = int(n_clock_groups)
    h = np.empty((len(los), 3 + ng))
    np.equal(group[:, None], np.arange(ng), out=h[:, 3:], casting="unsafe")
    if used is None:
        np.negative(los, out=h[:, :3])
    else:
        ok = np.isfinite(los).all(axis=-1) & np.asarray(used, dtype=bool)
        np.negative(np.where(ok[:, None], los, 0.0), out=h[:, :3])
        h *= ok[:, None]  # (x * 1.0 == x where used)
    n = _normal_matrix(h)
    present = n.diagonal()[3:] > 0  # (the onehot columns' sums of squares: their counts)
    if not present.all():
        idx = np.flatnonzero(~present) + 3
        n[idx, idx] += 1.0  # pseudo-constraint for absent clock groups
    q = _safe_inverse_one(n)
    d = q.diagonal().tolist()
    with np.errstate(invalid="ignore"):
        pos_trace = d[0] + d[1] + d[2]
        clocks = float(np.add.reduce(np.where(present, q.diagonal()[3:], 0.0)))
        sqrt = np.sqrt  # (np.sqrt of a float: NaN, not an error, for a negative value)
        gdop = float(sqrt(pos_trace + clocks))
        pdop = float(sqrt(pos_trace))
        hdop = float(sqrt(d[0] + d[1]))
        vdop = float(sqrt(d[2]))
        tdop = float(sqrt(d[3])) if present[0] else float("nan")
    return gdop, pdop, hdop, vdop, tdop


def _normal_matrix(h: np.ndarray) -> np.ndarray:
    """``H^T H`` of the design rows ``h`` (..., k, p): the rows padded with zeros to a multiple
    of 8 (at least 8) and multiplied by BLAS ``gemm`` of two buffers. Padded, the products
    are summed in the same order whatever the number of rows (a time chunk's widest epoch:
    results do not depend on the chunking); two buffers, because NumPy multiplies ``H^T H``
    of one buffer by ``syrk``, whose bits differ from ``gemm``'s in the last place and which
    the compiled SPP epoch (:func:`satnav.estimators.spp_kernel.finish_epoch`, ``np.dot``: the
    same ``gemm``) cannot call."""
    k = h.shape[-2]
    width = max(-(-k // 8) * 8, 8)
    padded = np.zeros(h.shape[:-2] + (width, h.shape[-1]))
    padded[..., :k, :] = h
    return np.matmul(np.swapaxes(padded, -1, -2), padded.copy())


def _safe_inverse(n: np.ndarray) -> np.ndarray:
    """Batched inverse with NaN for singular or ill-conditioned matrices."""
    p = n.shape[-1]
    scale = np.sqrt(np.abs(np.diagonal(n, axis1=-2, axis2=-1)))
    scale = np.where(scale > 0, scale, 1.0)
    ns = n / scale[..., :, None] / scale[..., None, :]
    ev = _lapack(_EIGVALSH, np.linalg.eigvalsh, ns, _raise_linalgerror_eigenvalues_nonconvergence
                 if _EIGVALSH is not None else None)
    bad = ~(ev[..., 0] > 1e-10 * np.maximum(ev[..., -1], 1e-300))
    if bad.any():
        ns = np.where(bad[..., None, None], np.eye(p), ns)
    q = _lapack(_INV, np.linalg.inv, ns, _raise_linalgerror_singular if _INV is not None else None)
    q = q / scale[..., :, None] / scale[..., None, :]
    q[bad] = np.nan
    return q


def _safe_inverse_one(n: np.ndarray) -> np.ndarray:
    """:func:`_safe_inverse` of one matrix (the same operations and bits), its tests on
    Python floats."""
    scale = np.sqrt(np.abs(n.diagonal()))
    if not (scale > 0).all():
        scale = np.where(scale > 0, scale, 1.0)
    ns = n / scale[:, None] / scale[None, :]
    ev = _lapack(_EIGVALSH, np.linalg.eigvalsh, ns, _raise_linalgerror_eigenvalues_nonconvergence
                 if _EIGVALSH is not None else None)
    lo, hi = float(ev[0]), float(ev[-1])
    if not lo > 1e-10 * (hi if hi >= 1e-300 or hi != hi else 1e-300):  # (np.maximum: NaN wins)
        return np.full(n.shape, np.nan)
    q = _lapack(_INV, np.linalg.inv, ns, _raise_linalgerror_singular if _INV is not None else None)
    return q / scale[:, None] / scale[None, :]


def _lapack(gufunc, public, a, on_error):
    """``public(a)`` (``np.linalg.eigvalsh`` or ``inv``) on a float64 stack of square
    matrices by its LAPACK gufunc directly: the same call and result without the wrapper's
    checks (a few microseconds each, for the few 7 x 7 matrices of one epoch)."""
    if gufunc is None or a.dtype != np.float64:
        return public(a)
    with np.errstate(call=on_error, invalid="call", over="ignore", divide="ignore", under="ignore"):
        return gufunc(a, signature="d->d")
