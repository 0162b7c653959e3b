"""GLONASS (FDMA) broadcast orbits: Runge-Kutta integration of the PZ-90.11 state vector.

The broadcast message gives position, velocity and the luni-solar acceleration at t_b in
the rotating PZ-90.11 frame. Following GLONASS ICD edition 5.1 (2008), appendix A.3.1.2, the
equations of motion in that frame are (mu, a_e, J_2^0 = -C_20, omega_E from the ICD)::

    dx/dt = vx,  dy/dt = vy,  dz/dt = vz
    dvx/dt = -mu/r^3 x - 3/2 J2 mu a_e^2 / r^5 x (1 - 5 z^2/r^2) + w^2 x + 2 w vy + ax
    dvy/dt = -mu/r^3 y - 3/2 J2 mu a_e^2 / r^5 y (1 - 5 z^2/r^2) + w^2 y - 2 w vx + ay
    dvz/dt = -mu/r^3 z - 3/2 J2 mu a_e^2 / r^5 z (3 - 5 z^2/r^2)                 + az

with the luni-solar acceleration (ax, ay, az) held constant over the interval, integrated
with the classical 4th-order Runge-Kutta method, steps of at most 60 s, forward or backward
from t_b. Every (message, time) pair is integrated at once: pair i takes n_i = ceil(|dt_i| /
max_step) steps of dt_i / n_i; the pairs are sorted by n_i so that each RK step works on a
contiguous, shrinking slice.

Clock (ICD 3.3.3 / RINEX 3): dt_sv = -tau_n + gamma_n (t - t_b); RINEX stores -tau_n as the
clock bias. Unlike GPS, the GLONASS broadcast clock parameters already absorb the periodic
relativistic effect of the orbit eccentricity (ESA GNSS Data Processing book, TM-23 vol. I,
5.2.1; RTKLIB ``geph2clk`` likewise adds none), so no periodic term is added to the clock.
``relativity_s`` reports the term the broadcast clock contains, -2 r.v / c^2, so that
``clock_s - relativity_s`` follows the IGS convention of precise clocks (periodic term
excluded) for every system. Checked on 2020-06-25 against GRG0MGXFIN 30 s clocks: after
removing a per-epoch reference and per-satellite bias, the GLONASS broadcast-minus-precise
scatter is 0.77 m with the term removed, 0.86 m as broadcast and 1.09 m with it added twice.
"""

from __future__ import annotations

import numpy as np

from satnav import constants as C
from satnav.gnss_time import NS_PER_S
from satnav.models.corrections import relativistic_clock_correction

__all__ = ["glonass_acceleration", "glonass_propagate", "glonass_states", "MAX_STEP_S", "BROADCAST_ERROR_M"]

#: Largest Runge-Kutta step (s).
MAX_STEP_S = 60.0

#: 1-sigma range error (m) of a GLONASS broadcast orbit + clock, the same for every message:
#: RTKLIB's ``ERREPH_GLO`` (``geph2pos`` returns its square as the satellite variance that
#: ``pntpos`` adds to every GLONASS pseudorange). The messages' own accuracy index F_T is
#: mostly "unknown" (15) in RINEX 3.05 files. Measured on 2020-06-25 against GRG0MGXFIN
#: (bench/RESULTS.md): GLONASS broadcast SISRE 2.2 m, GPS 0.65 m, so an elevation-independent
#: error of this size is real for GLONASS and larger than for the CDMA systems.
BROADCAST_ERROR_M = 5.0


def glonass_acceleration(pos, vel, lunisolar):
    """Acceleration (m/s^2) in the rotating PZ-90.11 frame, ICD 5.1 A.3.1.2.

    ``pos``, ``vel``, ``lunisolar``: arrays (..., 3) in m, m/s, m/s^2.
    """
    mu, ae, j2, w = C.GM_PZ90_11, C.AE_GLONASS, C.J2_PZ90_11, C.OMEGA_E_GLONASS
    x, y, z = pos[..., 0], pos[..., 1], pos[..., 2]
    r2 = x * x + y * y + z * z
    r = np.sqrt(r2)
    mu_r3 = mu / (r2 * r)
    k = 1.5 * j2 * mu * ae * ae / (r2 * r2 * r)
    z2r2 = 5.0 * z * z / r2
    acc = np.empty_like(pos)
    radial = -mu_r3 - k * (1.0 - z2r2) + w * w  # the same factor of x and y
    acc[..., 0] = radial * x + 2.0 * w * vel[..., 1]
    acc[..., 1] = radial * y - 2.0 * w * vel[..., 0]
    acc[..., 2] = (-mu_r3 - k * (3.0 - z2r2)) * z
    acc += lunisolar
    return acc


def glonass_propagate(pos0, vel0, lunisolar, dt_s, max_step: float = MAX_STEP_S):
    """Integrate broadcast states by ``dt_s`` seconds (each row its own interval, any sign).

    Parameters
    ----------
    pos0, vel0, lunisolar : ndarray (n, 3)
        Initial PZ-90.11 position (m), velocity (m/s) and constant luni-solar acceleration
        (m/s^2), one row per pair.
    dt_s : ndarray (n,)
        Time from the reference epoch to the wanted epoch (s).
    max_step : float
        Largest RK4 step (s).

    Returns
    -------
    pos, vel : ndarray (n, 3)
    """
    pos0 = np.asarray(pos0, dtype=np.float64).reshape(-1, 3)
    vel0 = np.asarray(vel0, dtype=np.float64).reshape(-1, 3)
    acc_ls = np.asarray(lunisolar, dtype=np.float64).reshape(-1, 3)
    dt = np.asarray(dt_s, dtype=np.float64).reshape(-1)
    finite = np.isfinite(dt)
    nsteps = np.where(finite, np.ceil(np.abs(np.where(finite, dt, 0.0)) / max_step), 0)
    nsteps = nsteps.astype(np.int64)
    order = np.argsort(-nsteps, kind="stable")
    steps_sorted = nsteps[order]
    pos = pos0[order].copy()
    vel = vel0[order].copy()
    als = acc_ls[order]
    h = np.where(steps_sorted > 0, dt[order] / np.maximum(steps_sorted, 1), 0.0)[:, None]
    # active[k] = number of pairs that still need step k (steps sorted descending)
    max_steps = int(steps_sorted[0]) if steps_sorted.size else 0
    counts = np.searchsorted(-steps_sorted, -np.arange(1, max_steps + 1), side="right")
    for k in range(max_steps):
        m = int(counts[k])
        p, v, a, hh = pos[:m], vel[:m], als[:m], h[:m]
        half = 0.5 * hh  # (0.5 * hh) * x: the same products as written out
        sixth = hh / 6.0
        k1v = glonass_acceleration(p, v, a)
        k1p = v
        k2p = v + half * k1v
        k2v = glonass_acceleration(p + half * k1p, k2p, a)
        k3p = v + half * k2v
        k3v = glonass_acceleration(p + half * k2p, k3p, a)
        k4p = v + hh * k3v
        k4v = glonass_acceleration(p + hh * k3p, k4p, a)
        pos[:m] = p + sixth * (k1p + 2.0 * k2p + 2.0 * k3p + k4p)
        vel[:m] = v + sixth * (k1v + 2.0 * k2v + 2.0 * k3v + k4v)
    out_p = np.empty_like(pos)
    out_v = np.empty_like(vel)
    out_p[order] = pos
    out_v[order] = vel
    out_p[~finite] = np.nan
    out_v[~finite] = np.nan
    return out_p, out_v


def glonass_states(eph, t_ns):
    """Position, velocity and clock from GLONASS broadcast messages at GPST times.

    Parameters
    ----------
    eph : structured array or mapping of arrays
        Fields of :data:`satnav.io.rinex_nav.GLONASS_DTYPE` (``x, y, z`` m, ``vx, vy, vz`` m/s,
        ``ax, ay, az`` m/s^2, ``toc`` GPST ns, ``clock_bias`` = -tau_n s, ``gamma_n``), one
        message per time (1-D, aligned with ``t_ns``).
    t_ns : int64 array
        GPST ns (transmission time).

    Returns
    -------
    position_m, velocity_m_s : ndarray (n, 3)
        PZ-90.11 ECEF (m, m/s).
    clock_s, clock_drift_s_s : ndarray (n,)
        -tau_n + gamma_n (t - t_b) (s), gamma_n (s/s).
    relativity_s : ndarray (n,)
        -2 r.v / c^2 (s): contained in the broadcast clock, not added (module docstring).
    """
    t_ns = np.asarray(t_ns, dtype=np.int64)
    dt = (t_ns - np.asarray(eph["toc"], dtype=np.int64)) / NS_PER_S

    def vec(a, b, c):
        return np.stack([np.asarray(eph[n], dtype=np.float64) for n in (a, b, c)], axis=-1)

    pos, vel = glonass_propagate(
        vec("x", "y", "z"), vec("vx", "vy", "vz"), vec("ax", "ay", "az"), dt
    )
    gamma = np.asarray(eph["gamma_n"], dtype=np.float64)
    clock = np.asarray(eph["clock_bias"], dtype=np.float64) + gamma * dt
    relativity = relativistic_clock_correction(pos, vel)
    return pos, vel, clock, gamma + 0.0 * dt, relativity
