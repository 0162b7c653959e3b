"""The iterations of one SPP epoch compiled by numba (the live engine's hot loop).

:func:`solve_epoch` is :func:`satnav.estimators.spp._iterate` followed by
:func:`satnav.estimators.spp._fit` for a problem of one epoch, as loops over its
satellites: the same physical models (the numba-compatible cores that the NumPy path calls
too: :func:`satnav.models.measurement.line_of_sight` (Sagnac),
:func:`satnav.frames.geodetic_core`, :func:`satnav.models.measurement.look_angles_core`,
:func:`satnav.models.measurement.broadcast_delay_core` (Klobuchar GPS and BeiDou),
:func:`satnav.models.troposphere.saastamoinen_core`,
:func:`satnav.estimators.spp.code_variance`) and the same floating-point operations in the
same order (the normal equations by the same BLAS product, the right-hand side and the sums
as NumPy's einsum and pairwise summation add them, the same LAPACK solve), so that the
solution is NumPy's bit for bit where NumPy's elementary functions are the C library's, and
agrees to their rounding where they are not (AVX-512: :func:`satnav._jit.agree`;
tests/estimators/test_spp_kernel.py). On a
24-satellite epoch it takes tens of microseconds where NumPy's calls take about 2 ms.

Loaded by :func:`use_compiled_spp` (the live engine does, at its start); the batch
``satnav solve`` never imports numba. An exactly singular system (LAPACK's error) falls
back to the NumPy path, which handles it.
"""

from __future__ import annotations

import dataclasses
import os
import sys

import numpy as np

from .._jit import agree
from ..constants import OMEGA_E_GPS, SPEED_OF_LIGHT, WGS84_A, WGS84_F
from ..frames import enu_rotation_elements, geodetic_core
from ..models.ionosphere import KLOBUCHAR_DEFAULT_ALPHA, KLOBUCHAR_DEFAULT_BETA
from ..models.measurement import (
    broadcast_delay_core,
    code_model,
    line_of_sight_xyz,
    look_angles_xyz,
    norm_xyz,
)
from ..models.troposphere import RELATIVE_HUMIDITY, saastamoinen_core
from . import spp
from .spp import code_variance, epoch_status

__all__ = ["use_compiled_spp", "solve_epoch", "solve_compiled", "finish_epoch", "finish_compiled", "EPOCHS_COMPILED",
           "EPOCHS_FINISHED"]


def _pairwise_sum(a, n):
    """Sum of ``a[:n]`` (``n`` <= 128) as NumPy's pairwise summation adds it
    (numpy/_core/src/umath/loops_utils.h.src: below 8 in order, else 8 accumulators; longer
    sums are split in halves, which this kernel never meets: :func:`solve_compiled` leaves
    epochs of more than 128 slots to NumPy. No recursion: numba's cache of a recursive
    function called from a cached one crashes when loaded, numba 0.68)."""
    if n < 8:
        res = -0.0
        for i in range(n):
            res += a[i]
        return res
    r0, r1, r2, r3 = a[0], a[1], a[2], a[3]
    r4, r5, r6, r7 = a[4], a[5], a[6], a[7]
    end = n - n % 8
    i = 8
    while i < end:
        r0 += a[i]
        r1 += a[i + 1]
        r2 += a[i + 2]
        r3 += a[i + 3]
        r4 += a[i + 4]
        r5 += a[i + 5]
        r6 += a[i + 6]
        r7 += a[i + 7]
        i += 8
    res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    for j in range(end, n):
        res += a[j]
    return res


def _evaluate_epoch(rr, clk, sat_pos, present, pseudorange, sat_clock, group, ifb, ng, epoch_ns, iono_mode,
                    alpha, beta, has_bds, bds_alpha, bds_beta, use_bds, iono_scale, has_given, iono_given,
                    troposphere, mask_rad, error_factor, em, iono_free_factor, use_snr, snr, cn0_error_m,
                    use_reported, reported_var, use_satellite_var, satellite_var, surface_min_m):
    """:func:`satnav.estimators.spp._evaluate` of one epoch at ``rr`` (3,), ``clk``: the
    models' cores called with numbers, satellite by satellite (the same operations as
    NumPy's element by element; numbers compile in seconds where arrays took a minute)."""
    k = present.size
    rx, ry, rz = rr[0], rr[1], rr[2]
    lat, lon, height = geodetic_core(rx, ry, rz, WGS84_A, WGS84_F)
    near = norm_xyz(rx, ry, rz) > surface_min_m
    rot = enu_rotation_elements(lat, lon)
    az, el, rng = np.empty(k), np.empty(k), np.empty(k)
    e, rs = np.empty((k, 3)), np.empty((k, 3))
    residual, variance = np.empty(k), np.empty(k)
    usable = np.empty(k, dtype=np.bool_)
    nb = ifb.size
    for i in range(k):
        r_i, ux, uy, uz, xr, yr = line_of_sight_xyz(rx, ry, rz, sat_pos[i, 0], sat_pos[i, 1], sat_pos[i, 2],
                                                   OMEGA_E_GPS)
        rng[i] = r_i
        e[i, 0], e[i, 1], e[i, 2] = ux, uy, uz
        rs[i, 0], rs[i, 1], rs[i, 2] = xr, yr, sat_pos[i, 2]
        if near:
            az_i, el_i = look_angles_xyz(rot, ux, uy, uz)
        else:  # receivers far from the surface (the start at the geocentre) have no horizon
            az_i, el_i = 0.0, np.pi / 2
        az[i], el[i] = az_i, el_i
        iono = 0.0
        trop = 0.0
        if near:
            if iono_mode == 0:
                if has_bds:
                    iono = broadcast_delay_core(alpha, beta, (bds_alpha, bds_beta), use_bds[i], iono_scale[i], lat,
                                                lon, az_i, el_i, epoch_ns)
                else:
                    iono = broadcast_delay_core(alpha, beta, None, use_bds[i], iono_scale[i], lat, lon, az_i, el_i,
                                                epoch_ns)
                if has_given and np.isfinite(iono_given[i]):
                    iono = iono_given[i]
                if not present[i]:
                    iono = 0.0
            if troposphere:
                trop = saastamoinen_core(lat, height, el_i, RELATIVE_HUMIDITY)
        c = clk[group[i]]
        if nb:
            c = c + (clk[ng + max(ifb[i], 0)] if ifb[i] >= 0 else 0.0)
        model = code_model(r_i, c, sat_clock[i], iono, trop, None, None, None)
        res = pseudorange[i] - model if present[i] else 0.0
        residual[i] = res
        variance[i] = code_variance(el_i, iono, error_factor[i], em, iono_mode, troposphere, iono_free_factor,
                                    use_snr, snr[i], cn0_error_m, use_reported, reported_var[i],
                                    use_satellite_var, satellite_var[i])
        usable[i] = present[i] and (el_i >= mask_rad or not near) and np.isfinite(res)
    return az, el, e, rng, rs, near, height, residual, variance, usable


def _normal_equations(e, use, variance, residual, group, ifb, ifb_group, ng):
    """:func:`satnav.estimators.spp._normal_equations` of one epoch: design rows h (k, p),
    weights, normal matrix and right-hand side, determined clocks / biases."""
    k = use.size
    nb = ifb_group.size
    p = 3 + ng + nb
    present = np.zeros(ng + nb, dtype=np.bool_)
    first_band = np.zeros(ng, dtype=np.bool_)
    for i in range(k):
        if use[i]:
            present[group[i]] = True
            if nb and ifb[i] < 0:
                first_band[group[i]] = True
    if nb:
        for i in range(k):
            if use[i] and ifb[i] >= 0:
                present[ng + ifb[i]] = True
        for j in range(nb):
            present[ng + j] = present[ng + j] and first_band[ifb_group[j]]
    width = max(-(-k // 8) * 8, 8)
    h = np.zeros((width, p))
    w = np.zeros(k)
    for i in range(k):
        if use[i]:
            w[i] = 1.0 / variance[i]
    v = np.zeros(width)
    for i in range(k):
        if use[i]:
            h[i, 0] = -e[i, 0]
            h[i, 1] = -e[i, 1]
            h[i, 2] = -e[i, 2]
            h[i, 3 + group[i]] = 1.0
            if nb and ifb[i] >= 0 and present[ng + ifb[i]]:
                h[i, 3 + ng + ifb[i]] = 1.0
            v[i] = residual[i]
    hw = np.empty((width, p))
    for i in range(width):
        wi = w[i] if i < k else 0.0
        for j in range(p):
            hw[i, j] = h[i, j] * wi
    n = np.dot(hw.T, h)  # the BLAS product of np.matmul
    b = np.empty(p)
    for j in range(p):  # as np.einsum("mkp,mk->mp") adds
        acc = 0.0
        for i in range(width):
            acc += hw[i, j] * v[i]
        b[j] = acc
    for j in range(ng + nb):
        if not present[j]:
            n[3 + j, 3 + j] += 1.0  # constrain absent clocks (RTKLIB does the same)
    return h[:k], w, n, b, present


def _count(flags):
    c = 0
    for f in flags:
        if f:
            c += 1
    return c


def _solve(n, b):
    """``np.linalg.solve(n, b)`` by the LAPACK ``dgesv`` it calls (numba's binding of SciPy's,
    the same LAPACK as NumPy's: the same bits), without numba's wrapper, which takes 6 s of
    the kernel's compilation; LinAlgError for an exactly singular ``n`` (as NumPy), which
    sends the epoch to the NumPy path. (``_GESV``: set when numba is loaded.)"""
    if _GESV is None:  # numba's internals moved: its np.linalg.solve (the same LAPACK call)
        return np.linalg.solve(n, b)
    p = b.size
    a = np.empty(p * p)  # column-major copy (LAPACK's order)
    for j in range(p):
        for i in range(p):
            a[i + j * p] = n[i, j]
    x = b.copy()
    pivots = np.empty(p, dtype=np.int32)
    info = _GESV(100, p, 1, a.ctypes, p, pivots.ctypes, x.ctypes, p)
    if info != 0:
        raise np.linalg.LinAlgError()
    return x


def solve_epoch(rr, clk, max_iterations, sat_pos, present, pseudorange, sat_clock, group, ifb, ifb_group, ng,
                excluded, epoch_ns, iono_mode, alpha, beta, has_bds, bds_alpha, bds_beta, use_bds, iono_scale,
                has_given, iono_given, troposphere, mask_rad, error_factor, em, iono_free_factor, use_snr, snr,
                cn0_error_m, use_reported, reported_var, use_satellite_var, satellite_var, converged_m,
                surface_min_m):
    """Gauss-Newton iterations from ``rr`` (3,), ``clk`` (updated in place), then the
    post-fit quantities (see :func:`solve_compiled` for the outputs)."""
    last_step = np.inf
    singular = False
    iterations = 0
    p = 3 + clk.size
    for _ in range(max_iterations):
        ev = _evaluate_epoch(rr, clk, sat_pos, present, pseudorange, sat_clock, group, ifb, ng, epoch_ns,
                             iono_mode, alpha, beta, has_bds, bds_alpha, bds_beta, use_bds, iono_scale, has_given,
                             iono_given, troposphere, mask_rad, error_factor, em, iono_free_factor, use_snr, snr,
                             cn0_error_m, use_reported, reported_var, use_satellite_var, satellite_var,
                             surface_min_m)
        use = ev[9] & ~excluded
        h, w, n, b, present_groups = _normal_equations(ev[2], use, ev[8], ev[7], group, ifb, ifb_group, ng)
        n_par = 3 + _count(present_groups)
        enough = _count(use) >= n_par
        dx = _solve(n, b)
        ok = True
        for j in range(p):
            if not np.isfinite(dx[j]):
                ok = False
        ok = ok and enough
        if enough and not ok:
            singular = True
        if not ok:
            dx[:] = 0.0
        for j in range(3):
            rr[j] += dx[j]
        for j in range(p - 3):
            clk[j] += dx[3 + j]
        sq = np.empty(p)
        for j in range(p):
            sq[j] = dx[j] * dx[j]
        step = np.sqrt(_pairwise_sum(sq, p))
        last_step = step if ok else np.inf
        iterations += 1
        if step < converged_m or not ok:
            break
    ev = _evaluate_epoch(rr, clk, sat_pos, present, pseudorange, sat_clock, group, ifb, ng, epoch_ns, iono_mode,
                         alpha, beta, has_bds, bds_alpha, bds_beta, use_bds, iono_scale, has_given, iono_given,
                         troposphere, mask_rad, error_factor, em, iono_free_factor, use_snr, snr, cn0_error_m,
                         use_reported, reported_var, use_satellite_var, satellite_var, surface_min_m)
    residual = ev[7]
    use = ev[9] & ~excluded
    h, w, n, b, present_groups = _normal_equations(ev[2], use, ev[8], residual, group, ifb, ifb_group, ng)
    n_par = 3 + _count(present_groups)
    k = use.size
    width = max(-(-k // 8) * 8, 8)
    t = np.zeros(width)
    for i in range(k):
        t[i] = w[i] * residual[i] ** 2
    return (last_step, singular, iterations, ev, use, h, w, n, n_par, present_groups, _count(use) - n_par,
            _pairwise_sum(t, width))


def _fortran(n):
    """Column-major copy of the square matrix ``n`` (LAPACK's order, as NumPy's linalg copies it)."""
    p = n.shape[0]
    a = np.empty(p * p)
    for j in range(p):
        for i in range(p):
            a[i + j * p] = n[i, j]
    return a


def _inverse(n):
    """``(np.linalg.inv(n), True)`` by the LAPACK ``dgesv`` with an identity right-hand side that
    it calls (the same bits); ``(NaN, False)`` for an exactly singular ``n`` (NumPy's
    LinAlgError, which :func:`satnav.estimators.spp._cofactor` turns into NaN)."""
    p = n.shape[0]
    if _GESV is None:  # numba's internals moved: NumPy assembles the solution
        raise np.linalg.LinAlgError()
    a = _fortran(n)
    x = np.zeros(p * p)
    for i in range(p):
        x[i + i * p] = 1.0
    pivots = np.empty(p, dtype=np.int32)
    q = np.empty((p, p))
    if _GESV(100, p, p, a.ctypes, p, pivots.ctypes, x.ctypes, p) != 0:
        q[:, :] = np.nan
        return q, False
    for j in range(p):
        for i in range(p):
            q[i, j] = x[i + j * p]
    return q, True


def _eigenvalues_symmetric(n):
    """``np.linalg.eigvalsh(n)`` (ascending) by the LAPACK ``dsyevd`` (lower triangle) that it
    calls; LinAlgError when it does not converge (as NumPy)."""
    if _EVD is None:  # (as _inverse)
        raise np.linalg.LinAlgError()
    p = n.shape[0]
    a = _fortran(n)
    w = np.empty(p)
    if _EVD(100, 78, 76, p, a.ctypes, p, w.ctypes) != 0:  # kind "d", jobz "N", uplo "L"
        raise np.linalg.LinAlgError()
    return w


def _determinant(n):
    """``np.linalg.det(n)``: NumPy's ``sign * exp(sum log |u_ii|)`` of the LAPACK ``dgetrf``
    factors (0 for an exactly singular ``n``)."""
    if _GETRF is None:  # (as _inverse)
        raise np.linalg.LinAlgError()
    p = n.shape[0]
    a = _fortran(n)
    pivots = np.empty(p, dtype=np.int32)
    if _GETRF(100, p, p, a.ctypes, p, pivots.ctypes) > 0:
        return 0.0
    sign = 1.0
    for i in range(p):
        if pivots[i] != i + 1:
            sign = -sign
    logdet = 0.0
    for i in range(p):
        u = a[i + i * p]
        if u < 0:
            sign = -sign
            u = -u
        logdet += np.log(u)
    return sign * np.exp(logdet)


def _dop_epoch(az, el, use, group, ng):
    """(GDOP, PDOP, HDOP, VDOP, TDOP) of the used satellites of one epoch:
    :func:`satnav.estimators.dop.dilution_of_precision_epoch` of their
    :func:`~satnav.estimators.dop.enu_line_of_sight` (the same operations: rows padded to a
    multiple of 8, ``gemm``, the scaled ``dsyevd`` condition test, ``dgesv`` inverse)."""
    k = az.size
    p = 3 + ng
    width = max(-(-k // 8) * 8, 8)
    h = np.zeros((width, p))
    for i in range(k):
        ce = np.cos(el[i])
        east = ce * np.sin(az[i])
        north = ce * np.cos(az[i])
        up = np.sin(el[i])
        if use[i] and np.isfinite(east) and np.isfinite(north) and np.isfinite(up):
            h[i, 0], h[i, 1], h[i, 2] = -east, -north, -up
            h[i, 3 + group[i]] = 1.0
        else:  # (NumPy's -where(ok, los, 0.0) * 0.0)
            h[i, 0], h[i, 1], h[i, 2] = -0.0, -0.0, -0.0
    n = np.dot(h.T, h)  # (dop._normal_matrix's gemm)
    present = np.empty(ng, dtype=np.bool_)
    for j in range(ng):
        present[j] = n[3 + j, 3 + j] > 0
        if not present[j]:
            n[3 + j, 3 + j] += 1.0  # pseudo-constraint for absent clock groups
    scale = np.empty(p)
    for j in range(p):
        sj = np.sqrt(np.abs(n[j, j]))
        scale[j] = sj if sj > 0 else 1.0
    ns = np.empty((p, p))
    for i in range(p):
        for j in range(p):
            ns[i, j] = n[i, j] / scale[i] / scale[j]
    w = _eigenvalues_symmetric(ns)
    lo, hi = w[0], w[p - 1]
    nan = np.nan
    if not lo > 1e-10 * (hi if hi >= 1e-300 or hi != hi else 1e-300):
        return nan, nan, nan, nan, nan
    q, ok = _inverse(ns)
    d = np.empty(p)
    for j in range(p):
        d[j] = q[j, j] / scale[j] / scale[j]
    pos_trace = d[0] + d[1] + d[2]
    clocks = 0.0
    for j in range(ng):
        clocks += d[3 + j] if present[j] else 0.0
    tdop = np.sqrt(d[3]) if present[0] else nan
    return np.sqrt(pos_trace + clocks), np.sqrt(pos_trace), np.sqrt(d[0] + d[1]), np.sqrt(d[2]), tdop


def _velocity_epoch(rate, rr, rs, vs, drift, used, el, max_residual_m_s):
    """:func:`satnav.estimators.velocity.estimate_velocity` of one epoch (weights
    ``sin(max(el, 0.1))^2``, as the solver's), the same operations: ``(vx, vy, vz, clock
    drift s/s, defer)``; ``defer``: a residual reaches ``max_residual_m_s`` (the outlier
    rounds, left to NumPy; with a margin of 1e-6 m/s for the order of einsum's sums)."""
    k = rate.size
    om = OMEGA_E_GPS / SPEED_OF_LIGHT
    rx, ry, rz = rr[0], rr[1], rr[2]
    rr_ok = np.isfinite(rx) and np.isfinite(ry) and np.isfinite(rz)
    ok = np.zeros(k, dtype=np.bool_)
    h = np.zeros((k, 4))
    hw = np.zeros((k, 4))
    y = np.zeros(k)
    n_ok = 0
    for i in range(k):
        if not (used[i] and np.isfinite(rate[i]) and np.isfinite(vs[i, 0]) and np.isfinite(vs[i, 1])
                and np.isfinite(vs[i, 2]) and rr_ok):
            continue  # (NumPy's rows of zeros)
        ok[i] = True
        n_ok += 1
        lx, ly, lz = rs[i, 0] - rx, rs[i, 1] - ry, rs[i, 2] - rz
        r = np.sqrt(lx * lx + ly * ly + lz * lz)
        ex, ey, ez = lx / r, ly / r, lz / r
        dts_dot = drift[i]
        if not np.isfinite(dts_dot):  # (np.nan_to_num)
            dts_dot = 0.0 if dts_dot != dts_dot else (1.7976931348623157e308 if dts_dot > 0
                                                      else -1.7976931348623157e308)
        sat_rate = (ex * vs[i, 0] + ey * vs[i, 1] + ez * vs[i, 2]) + OMEGA_E_GPS / SPEED_OF_LIGHT * (
            vs[i, 1] * rx - vs[i, 0] * ry)
        y[i] = rate[i] - sat_rate + SPEED_OF_LIGHT * dts_dot
        h[i, 0] = -ex + om * rs[i, 1]
        h[i, 1] = -ey - om * rs[i, 0]
        h[i, 2] = -ez
        h[i, 3] = 1.0
        wi = np.sin(np.maximum(el[i], 0.1)) ** 2
        for j in range(4):
            hw[i, j] = h[i, j] * wi
    nan = np.nan
    n = np.dot(hw.T, h)  # (np.matmul's gemm)
    b = np.zeros(4)
    for j in range(4):  # as np.einsum("mkp,mk->mp") adds
        acc = 0.0
        for i in range(k):
            acc += hw[i, j] * y[i]
        b[j] = acc
    diagonal = ((n[0, 0] * n[1, 1]) * n[2, 2]) * n[3, 3]
    if not (n_ok >= 4 and np.abs(_determinant(n)) > 1e-12 * np.maximum(diagonal, 1e-300)):
        return nan, nan, nan, nan, False
    x = _solve(n, b)
    x0, x1, x2, x3 = x[0], x[1], x[2], x[3]
    for v in (x0, x1, x2, x3):
        if not np.isfinite(v):
            return x0, x1, x2, x3 / SPEED_OF_LIGHT, True
    for i in range(k):
        if ok[i] and not np.abs(y[i] - (h[i, 0] * x0 + h[i, 1] * x1 + h[i, 2] * x2 + h[i, 3] * x3)) < (
                max_residual_m_s - 1e-6):
            return x0, x1, x2, x3 / SPEED_OF_LIGHT, True
    return x0, x1, x2, x3 / SPEED_OF_LIGHT, False


def finish_epoch(rr, clk, ng, az, el, use, excluded, residual, near, group, n, present_groups, dof, t, threshold,
                 height, check_height, height_lo, height_hi, last_step, singular, n_observed, n_with_ephemeris,
                 velocity, range_rate, sat_pos, sat_vel, sat_drift, col_out, n_cols, col_system, n_systems,
                 max_residual_m_s):
    """What follows the iterations of one epoch (:func:`satnav.estimators.spp._solve` after
    the fit and the fault exclusion, for an epoch of one measurement per satellite and no
    inter-frequency bias): the status (:func:`satnav.estimators.spp.epoch_status`), DOPs,
    covariance, Doppler velocity and the per-satellite columns, the same bits as NumPy's.

    Returns ``(status, defer, dops (5, 1), position (1, 3), clock (1, ng), covariance
    (1, 3, 3), velocity (1, 3), clock drift (1,), test statistic (1,), residuals, used,
    excluded, azimuth, elevation (1, n_cols each), satellites used (1,) and per system
    (n_systems, 1))``; ``defer``: the velocity needs NumPy's outlier rounds (the rest is
    valid then too)."""
    k = use.size
    n_used = _count(use)
    n_par = 3 + _count(present_groups)
    enough = n_used >= n_par
    tested = dof >= 1
    failed = tested and t > threshold
    any_excluded = False
    for i in range(k):
        if excluded[i]:
            any_excluded = True
    g, pd, hd, vd, td = _dop_epoch(az, el, use, group, ng)
    height_ok = (not check_height) or (height >= height_lo and height <= height_hi)
    status = epoch_status(any_excluded, tested, dof, failed, g, height_ok, last_step, singular, enough, n_observed,
                          n_with_ephemeris)
    nan = np.nan
    dops = np.empty((5, 1))
    dops[0, 0], dops[1, 0], dops[2, 0], dops[3, 0], dops[4, 0] = g, pd, hd, vd, td
    position = np.empty((1, 3))
    for j in range(3):
        position[0, j] = rr[j]
    clock = np.empty((1, ng))
    for j in range(ng):
        clock[0, j] = clk[j] / SPEED_OF_LIGHT if present_groups[j] else nan
    q, _ = _inverse(n)
    cov = np.empty((1, 3, 3))
    for i in range(3):
        for j in range(3):
            cov[0, i, j] = q[i, j]
    vel = np.full((1, 3), nan)
    drift = np.full(1, nan)
    defer = False
    if velocity:
        any_rate = False
        for i in range(k):
            if np.isfinite(range_rate[i]):
                any_rate = True
        if any_rate:
            vel[0, 0], vel[0, 1], vel[0, 2], drift[0], defer = _velocity_epoch(
                range_rate, rr, sat_pos, sat_vel, sat_drift, use, el, max_residual_m_s)
    statistic = np.full(1, t if tested else nan)
    residuals = np.full((1, n_cols), nan)
    used_cols = np.zeros((1, n_cols), dtype=np.bool_)
    excluded_cols = np.zeros((1, n_cols), dtype=np.bool_)
    az_cols = np.full((1, n_cols), nan)
    el_cols = np.full((1, n_cols), nan)
    by_system = np.zeros((n_systems, 1), dtype=np.int16)
    used_count = np.zeros(1, dtype=np.int16)
    for i in range(k):
        c = col_out[i]
        residuals[0, c] = residual[i] if use[i] or excluded[i] else nan
        used_cols[0, c] = use[i]
        excluded_cols[0, c] = excluded[i]
        if near:
            az_cols[0, c] = az[i]
            el_cols[0, c] = el[i]
    for c in range(n_cols):
        if used_cols[0, c]:
            by_system[col_system[c], 0] += 1
            used_count[0] += 1
    return (status, defer, dops, position, clock, cov, vel, drift, statistic, residuals, used_cols, excluded_cols,
            az_cols, el_cols, used_count, by_system)


# ---------------------------------------------------------------- the NumPy side
_KERNELS = None  # None: not loaded; False: NumPy (numba missing or off); else (solve_epoch, finish_epoch)
_LOADED = None  # the compiled kernel once loaded (False: numba missing, failing or off)
_GESV = None  # numba's dgesv, set by _load_kernels
_EVD = None  # ... dsyevd
_GETRF = None  # ... dgetrf
#: Epochs solved by the kernel so far (one item: tests and benchmarks check the path taken).
EPOCHS_COMPILED = [0]
#: Epochs whose solution :func:`finish_compiled` assembled so far (as :data:`EPOCHS_COMPILED`).
EPOCHS_FINISHED = [0]


def _arguments(pb, rr, clk, max_iterations):
    """The arguments of :func:`solve_epoch` for the one-epoch problem ``pb`` (one set of
    types, whatever the options: one compilation)."""
    k = pb.k if hasattr(pb, "k") else pb.present.shape[1]
    nothing = np.full(k, np.nan)
    gps = pb.iono_gps if pb.iono_gps is not None else (KLOBUCHAR_DEFAULT_ALPHA, KLOBUCHAR_DEFAULT_BETA)
    has_bds = pb.iono_bds is not None and bool(pb.use_bds_model.any())
    bds = pb.iono_bds if has_bds else gps
    use_snr = pb.cn0 is not None and pb.cn0_error_m > 0
    nb = len(pb.ifb_keys)

    def row(a, fill=nothing):
        return fill if a is None else a[0]

    return (rr, clk, int(max_iterations), np.ascontiguousarray(pb.sat_pos[0]), pb.present[0], pb.pseudorange[0], pb.sat_clock_m[0],
            pb.group[0].astype(np.intp), (pb.ifb[0] if nb else np.zeros(0, np.intp)).astype(np.intp),
            np.asarray(pb.ifb_group, dtype=np.intp).reshape(-1)[:nb], len(pb.clock_systems), pb.excluded[0],
            int(pb.epochs[0]), spp._IONO_MODES[pb.iono], np.asarray(gps[0], dtype=np.float64),
            np.asarray(gps[1], dtype=np.float64), has_bds, np.asarray(bds[0], dtype=np.float64),
            np.asarray(bds[1], dtype=np.float64), pb.use_bds_model[0], pb.iono_scale[0],
            pb.iono_given is not None, row(pb.iono_given), bool(pb.troposphere), float(pb.mask_rad),
            pb.error_factor[0], spp._error_constants(), float(pb.iono_free_factor), use_snr,
            row(pb.cn0 if use_snr else None), float(pb.cn0_error_m), pb.reported_var is not None,
            row(pb.reported_var), pb.satellite_var is not None, row(pb.satellite_var, np.zeros(k)),
            spp._CONVERGED_M, spp._EARTH_SURFACE_MIN_M)


def solve_compiled(pb, rr, clk, max_iterations):
    """:func:`satnav.estimators.spp._iterate` and ``_fit`` of the one-epoch problem ``pb``
    from ``rr`` (1, 3) and ``clk`` (1, G + B) by the compiled kernel: ``(rr, clk,
    last_step, singular, iterations, ev)`` as those return them; None when the kernel is
    not loaded or LAPACK found the system singular (the NumPy path then solves it)."""
    if not _KERNELS or pb.present.shape[1] > 128 or clk.shape[1] > 120:
        return None
    x, c = rr[0].copy(), clk[0].copy()
    try:
        out = _KERNELS[0](*_arguments(pb, x, c, max_iterations))
    except np.linalg.LinAlgError:
        return None
    EPOCHS_COMPILED[0] += 1
    last_step, singular, iterations, fit, use, h, w, n, n_par, present_groups, dof, t = out
    ev = spp._Evaluation()
    az, el, e, rng, rs, near, height, residual, variance, usable = fit
    ev.az, ev.el, ev.e, ev.rng, ev.sat_pos = az[None], el[None], e[None], rng[None], rs[None]
    ev.near, ev.height = np.array([near]), np.array([height])
    ev.residual, ev.variance, ev.usable = residual[None], variance[None], usable[None]
    ev.use, ev.h, ev.w, ev.n = use[None], h[None], w[None], n[None]
    ev.n_par = np.array([n_par], dtype=np.int64)
    ev.present_groups = present_groups[None]
    ev.dof = np.array([dof], dtype=np.int64)
    ev.T = np.array([t])
    return (x[None], c[None], np.array([last_step]), np.array([singular]),
            np.array([iterations], dtype=np.int16), ev)


def finish_compiled(pb, ev, rr, clk, threshold, last_step, singular, iterations, opts):
    """The :class:`~satnav.estimators.solution.Solution` of the one-epoch problem ``pb`` after
    its fit (and fault exclusion), by the compiled :func:`finish_epoch`: what
    :func:`satnav.estimators.spp._solve` assembles with NumPy, the same bits; None when the
    kernel is not loaded or the epoch is not of its kind (inter-frequency biases, a satellite
    in several measurement columns, an empty slot, an unsolved epoch, velocity outliers): NumPy
    then assembles it."""
    if not _KERNELS or pb.ifb_keys:
        return None
    layout = _output_layout(pb)
    if layout is None or not pb.present.all():
        return None
    n_cols, col_system, systems = layout
    height_range = opts.height_range_m
    height = getattr(ev, "height", None)
    if height is None:
        height = spp.ecef_to_geodetic(rr)[2]
    out = None
    try:
        out = _KERNELS[1](
            rr[0], clk[0], len(pb.clock_systems), ev.az[0], ev.el[0], ev.use[0], pb.excluded[0], ev.residual[0],
            bool(ev.near[0]), pb.group[0].astype(np.intp), ev.n[0], ev.present_groups[0], int(ev.dof[0]),
            float(ev.T[0]), float(threshold[0]), float(height[0]), height_range is not None,
            float(height_range[0]) if height_range is not None else 0.0,
            float(height_range[1]) if height_range is not None else 0.0, float(last_step[0]), bool(singular[0]),
            int(pb.n_observed[0]), int(pb.n_with_ephemeris[0]), bool(opts.velocity), pb.range_rate[0],
            ev.sat_pos[0], pb.sat_vel[0], pb.sat_drift[0], pb.col_out[pb.col[0]], n_cols, col_system,
            len(systems), 5.0)
    except np.linalg.LinAlgError:  # (NumPy meets it too, and says so)
        return None
    (status, defer, dops, position, clock, cov, vel, drift, statistic, residuals, used, excluded, az, el, n_used,
     by_system) = out
    if defer or status > spp.SOLVED_STATUS_MAX:
        return None
    EPOCHS_FINISHED[0] += 1
    return spp.Solution(
        time_ns=pb.epochs.copy(), position_m=position, clock_bias_s=clock, clock_systems=pb.clock_systems,
        velocity_m_s=vel, clock_drift_s_s=drift, gdop=dops[0], pdop=dops[1], hdop=dops[2], vdop=dops[3],
        tdop=dops[4], status=np.array([status], dtype=np.int8), n_used=n_used,
        n_used_by_system=dict(zip(systems, by_system)), satellites=pb.satellites.copy(), residuals_m=residuals,
        used=used, excluded=excluded, azimuth_rad=az, elevation_rad=el, test_statistic=statistic,
        test_threshold=np.array(threshold, dtype=np.float64), covariance_m2=cov, iterations=iterations,
        signals=dict(pb.signals), reference_point="ARP", options=spp._base_options(opts),
    )


def _output_layout(pb):
    """(output columns, system number of each (intp), system letters in order of appearance)
    of ``pb``'s layout, kept per layout; None when a satellite has several measurement columns
    (multi_signal)."""
    key = id(pb.col_system)
    hit = _LAYOUTS.get(key)
    if hit is None or hit[0] is not pb.col_system:
        if len(_LAYOUTS) > 64:
            _LAYOUTS.clear()
        systems = list(dict.fromkeys(pb.col_system.tolist()))
        number = {s: j for j, s in enumerate(systems)}
        layout = None
        if pb.col_primary.all():
            layout = (len(pb.col_system), np.array([number[s] for s in pb.col_system.tolist()], dtype=np.intp),
                      systems)
        hit = _LAYOUTS[key] = (pb.col_system, layout)
    return hit[1]


_LAYOUTS: dict = {}


def _load_kernels():
    from .._jit import compile_kernels

    global _GESV, _EVD, _GETRF
    if os.environ.get("SATNAV_NO_NUMBA"):
        return False
    try:  # numba's binding of LAPACK's dgesv (np.linalg.solve's, without its wrapper)
        from numba.core import types
        from numba.np.linalg import _LAPACK, F_INT_nptype

        if np.dtype(F_INT_nptype) != np.int32:  # pragma: no cover - an ILP64 LAPACK
            return False
        _GESV = _LAPACK().numba_xgesv(types.float64)
        _EVD = _LAPACK().numba_ez_xxxevd(types.float64)
        _GETRF = _LAPACK().numba_xxgetrf(types.float64)
    except Exception:  # numba missing (compile_kernels says so) or its internals changed
        _GESV = _EVD = _GETRF = None

    def same_as_numpy(kernels) -> bool:
        global _KERNELS
        saved, saved_spp = _KERNELS, spp._COMPILED
        spp._COMPILED = sys.modules[__name__]  # (spp._solve calls finish_compiled)
        try:
            for pb, x0 in _check_problems():
                _KERNELS = False
                want = spp._iterate_fit(_copy(pb), np.arange(1), x0.copy(), np.zeros((1, pb.n_clk)), 15)
                _KERNELS = kernels
                got = solve_compiled(_copy(pb), x0.copy(), np.zeros((1, pb.n_clk)), 15)
                if got is None or not _same(want, got):
                    return False
                if not pb.ifb_keys:  # the solution assembled after the fit
                    _KERNELS = False
                    want = spp._solve(_copy(pb), x0[0], spp.SppOptions())
                    _KERNELS = kernels
                    before = EPOCHS_FINISHED[0]
                    got = spp._solve(_copy(pb), x0[0], spp.SppOptions())
                    if EPOCHS_FINISHED[0] == before or not _same_solution(want, got):
                        return False
        finally:
            _KERNELS, spp._COMPILED = saved, saved_spp
        return True

    def warm_up(kernels):
        """Compile (or load from the cache) now, and check the kernel against the NumPy path
        on small problems. numba's cache of the kernel is keyed by this file only: after an
        edit of a shared model core it is stale, differs here, and is compiled afresh (and
        cached again)."""
        if same_as_numpy(kernels):
            return
        for kernel in kernels:
            cache = getattr(kernel, "_cache", None)
            if cache is not None:
                cache.flush()
            kernel.recompile()
        if not same_as_numpy(kernels):
            raise RuntimeError("the compiled SPP epoch differs from NumPy's")

    return compile_kernels((solve_epoch, finish_epoch), warm_up)


def _same(a, b) -> bool:
    """Whether the fits ``a`` (NumPy) and ``b`` (the kernel) agree (:func:`satnav._jit.agree`):
    the positions (m, ECEF) to 1 um, the clocks and the last step (m) to 1 um besides; the
    flags and iteration counts equal."""
    rr, clk, step, singular, iterations = a[:5]
    if not (agree(rr, b[0], rtol=0.0, atol=1e-6) and agree(clk, b[1], atol=1e-6) and agree(step, b[2], atol=1e-6)
            and agree(singular, b[3]) and agree(iterations, b[4])):
        return False
    return all(agree(getattr(a[5], f), getattr(b[5], f)) for f in spp._FIELDS_2D + spp._FIELDS_ND + spp._FIELDS_1D)


def _same_solution(a, b) -> bool:
    """Whether the solutions ``a`` (NumPy) and ``b`` (the kernel) agree field by field
    (:func:`satnav._jit.agree`; the same dtypes, keys and other values)."""
    for f in dataclasses.fields(a):
        x, y = getattr(a, f.name), getattr(b, f.name)
        if isinstance(x, np.ndarray):
            if x.dtype != y.dtype or not agree(x, y):
                return False
        elif isinstance(x, dict):
            if list(x) != list(y) or not all(agree(x[k], y[k]) for k in x):
                return False
        elif x != y:
            return False
    return True


def _copy(pb):
    out = spp._Problem()
    out.__dict__.update({k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in vars(pb).items()})
    return out


def _check_problems():
    """Two synthetic one-epoch problems (a receiver in Denmark, 12 satellites of three
    clock groups; GPS and BeiDou Klobuchar, C/N0 and reported weights, a GLONASS-like
    satellite variance, an inter-frequency bias) and their start positions."""
    rng = np.random.default_rng(7)
    k = 12
    rx = np.array([3_582_105.0, 532_590.0, 5_232_754.0])
    up = rx / np.linalg.norm(rx)
    d = rng.normal(size=(k, 3)) + 1.2 * up
    d /= np.linalg.norm(d, axis=1)[:, None]
    sat = rx + d * 2.2e7
    out = []
    for variant in range(2):
        pb = spp._Problem()
        pb.m, pb.k = 1, k
        pb.epochs = np.array([1_277_000_000 * 10**9 + 43_200 * 10**9], dtype=np.int64)
        pb.present = np.ones((1, k), bool)
        pb.present[0, 5] = variant == 0
        pb.sat_pos = sat[None].copy()
        pb.sat_clock_m = rng.normal(size=(1, k)) * 1e4
        rho = np.linalg.norm(sat - rx, axis=1)
        pb.pseudorange = (rho + 25.0 - pb.sat_clock_m[0] + rng.normal(size=k) * 2.0)[None]
        pb.group = np.array([[0] * 5 + [1] * 4 + [2] * 3], dtype=np.intp)
        pb.clock_systems = ("G", "E", "C")
        pb.use_bds_model = pb.group == 2
        pb.iono_scale = np.where(pb.use_bds_model, 1.0, 1.02)
        pb.iono_gps = (np.array([1.1e-8, -7.4e-9, -6e-8, 1.2e-7]), np.array([1.1e5, -2.2e5, -1.3e5, 1e6]))
        pb.iono_bds = (np.array([1.3e-8, 2e-8, -1e-7, 5e-8]), np.array([1.2e5, 5e4, -3e5, 2e5]))
        pb.iono_given = None
        pb.excluded = np.zeros((1, k), bool)
        pb.troposphere = True
        pb.mask_rad = np.radians(10.0)
        pb.error_factor = np.where(pb.group == 1, 1.5, 1.0)
        pb.iono_free_factor = 1.0
        pb.iono = "klobuchar"
        if variant == 0:
            pb.ifb_keys, pb.ifb_group = [], np.zeros(0, np.intp)
            pb.ifb = np.full((1, k), -1, np.intp)
            pb.cn0 = (40.0 + rng.normal(size=k))[None]
            pb.cn0_error_m, pb.reported_var, pb.satellite_var = 0.3, None, None
            x0 = np.zeros((1, 3))  # from the geocentre
            # what _solve reads after the fit: output columns, counts, Doppler range rates of a
            # receiver moving at 1-2 m/s (satellites at 3 km/s)
            pb.col, pb.col_out = np.arange(k)[None], np.arange(k)
            pb.col_primary, pb.primary = np.ones(k, bool), np.ones((1, k), bool)
            pb.satellites = np.arange(1, k + 1, dtype=np.int16)
            pb.col_system = np.array(["G"] * 5 + ["E"] * 4 + ["C"] * 3)
            pb.system = pb.col_system[None]
            pb.n_observed = pb.n_with_ephemeris = np.array([k])
            pb.signals = {"G": "C1C", "E": "C1X", "C": "C2I"}
            pb.sat_vel = rng.normal(size=(1, k, 3)) * 3e3
            pb.sat_drift = rng.normal(size=(1, k)) * 1e-11
            e = d / np.linalg.norm(d, axis=1)[:, None]
            pb.range_rate = (np.einsum("kj,kj->k", e, pb.sat_vel[0] - np.array([1.0, -2.0, 0.5]))
                             - 3e8 * pb.sat_drift[0] + 30.0 + rng.normal(size=k) * 0.05)[None]
        else:
            pb.ifb_keys, pb.ifb_group = [("G", "2")], np.array([0], np.intp)
            pb.ifb = np.where(np.arange(k) % 5 == 1, 0, -1)[None].astype(np.intp)
            pb.cn0, pb.cn0_error_m = None, 0.0
            pb.reported_var = np.where(np.arange(k) % 2, 4.0, np.nan)[None]
            pb.satellite_var = np.where(pb.group == 1, 4.0, 0.0)
            pb.iono = "none"
            x0 = (rx + 100.0)[None]
        pb.n_clk = len(pb.clock_systems) + len(pb.ifb_keys)
        out.append((pb, x0))
    return out


def use_compiled_spp(enabled: bool | None = True) -> bool:
    """Solve one-epoch SPP problems with the compiled kernel (``True``: load it now; the
    live engine does this at its start) or with NumPy (``False``; ``None``: back to NumPy
    until asked again); returns whether the kernel is in use. Both give the same solutions
    (tests/estimators/test_spp_kernel.py)."""
    global _KERNELS, _LOADED
    from .._jit import switch_kernels

    _KERNELS, _LOADED = switch_kernels(_LOADED, enabled, _load_kernels)
    spp._COMPILED = sys.modules[__name__] if _KERNELS else None
    return bool(_KERNELS)
