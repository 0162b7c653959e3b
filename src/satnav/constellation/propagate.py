"""Numerical orbit propagation for designed satellites (two-body + J2 + Sun and Moon).

All satellites are integrated together as one ``(n, 6)`` state with a fixed-step 8th-order
Dormand-Prince Runge-Kutta method (:func:`satnav.dynamics.integrator.dop853_step`). Output at arbitrary times is exact to integrator
precision: each requested time is reached by one extra partial step from the grid node
before it (all requested times in one vectorized step).

Force model (inertial frame, see below):

* central body with the GM of the system whose message format the satellite borrows;
* Earth oblateness J2 (EGM96 value, :data:`satnav.constants.J2_EARTH`), axis = the
  frame's z axis;
* Sun and Moon as point masses, positions from the low-precision analytic series of
  Montenbruck & Gill, *Satellite Orbits* (2000), sec. 3.3.2 (Sun ~0.1-1 %, Moon a few
  hundredths of a degree) - plenty for a perturbation. No solar radiation pressure, no
  higher harmonics, no relativity: against real satellites expect tens of metres over hours.

Frame simplification: the inertial frame is ECEF rotated about z by
``theta(t) = GMST(t_ref) + omega_e (t - t_ref)`` with the GPS ``omega_e``; precession,
nutation and polar motion are ignored (the "ECI" is a true-of-date-like frame frozen at
``t_ref``), and Sun/Moon coordinates (mean equator and equinox of J2000) are used in it as
they are. The resulting ECEF orbits are self-consistent: the broadcast fit and the
simulation use the same rotation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..constants import GM_MOON, GM_SUN, J2_EARTH, OMEGA_E_GPS, WGS84_A
from ..dynamics.integrator import dop853_nodes, dop853_step
from ..gnss_time import NS_PER_S, calendar_to_ns
from .design import Constellation, greenwich_angle

__all__ = [
    "J2_EARTH",
    "R_EARTH",
    "GM_SUN",
    "GM_MOON",
    "OrbitTrack",
    "propagate",
    "propagate_pairs",
    "integrate_orbits",
    "acceleration_eci",
    "acceleration_ecef",
    "sun_position_eci",
    "moon_position_eci",
    "eci_to_ecef",
    "ecef_to_eci",
    "rotation_angle",
    "carried_to",
]

#: Equatorial radius (m) the J2 term uses: the WGS84 semi-major axis.
R_EARTH = WGS84_A

_J2000_GPST_NS = int(calendar_to_ns(2000, 1, 1, 12)) - 51_184_000_000  # TT = GPST + 51.184 s


# --- Sun and Moon ------------------------------------------------------------------------
def _centuries_tt(gpst_ns) -> np.ndarray:
    t = np.asarray(gpst_ns, dtype=np.int64)
    return (t - _J2000_GPST_NS).astype(np.float64) / (36525.0 * 86400.0 * NS_PER_S)


_EPS_J2000 = np.deg2rad(23.43929111)
_ARCSEC = np.pi / (180.0 * 3600.0)


def _ecliptic_to_equatorial(lon, lat, dist) -> np.ndarray:
    x = dist * np.cos(lon) * np.cos(lat)
    y = dist * np.sin(lon) * np.cos(lat)
    z = dist * np.sin(lat)
    ce, se = np.cos(_EPS_J2000), np.sin(_EPS_J2000)
    return np.stack([x, ce * y - se * z, se * y + ce * z], axis=-1)


def _sun_from_centuries(tc) -> np.ndarray:
    # Montenbruck & Gill (2000) eqs. 3.43-3.45 (equinox J2000)
    m = np.deg2rad(357.5256 + 35999.049 * tc)
    lon = np.deg2rad(282.9400) + m + (6892.0 * np.sin(m) + 72.0 * np.sin(2 * m)) * _ARCSEC
    dist = (149.619 - 2.499 * np.cos(m) - 0.021 * np.cos(2 * m)) * 1e9
    return _ecliptic_to_equatorial(lon, np.zeros_like(lon), dist)


def _moon_from_centuries(tc) -> np.ndarray:
    # Montenbruck & Gill (2000) eqs. 3.46-3.48 (equinox J2000)
    d2r = np.pi / 180.0
    l0 = (218.31617 + 481267.88088 * tc - 1.3972 * tc) * d2r
    el = (134.96292 + 477198.86753 * tc) * d2r
    lp = (357.52543 + 35999.04944 * tc) * d2r
    f = (93.27283 + 483202.01873 * tc) * d2r
    d = (297.85027 + 445267.11135 * tc) * d2r
    lon = l0 + _ARCSEC * (
        22640 * np.sin(el)
        + 769 * np.sin(2 * el)
        - 4586 * np.sin(el - 2 * d)
        + 2370 * np.sin(2 * d)
        - 668 * np.sin(lp)
        - 412 * np.sin(2 * f)
        - 212 * np.sin(2 * el - 2 * d)
        - 206 * np.sin(el + lp - 2 * d)
        + 192 * np.sin(el + 2 * d)
        - 165 * np.sin(lp - 2 * d)
        + 148 * np.sin(el - lp)
        - 125 * np.sin(d)
        - 110 * np.sin(el + lp)
        - 55 * np.sin(2 * f - 2 * d)
    )
    lat = _ARCSEC * (
        18520 * np.sin(f + lon - l0 + _ARCSEC * (412 * np.sin(2 * f) + 541 * np.sin(lp)))
        - 526 * np.sin(f - 2 * d)
        + 44 * np.sin(el + f - 2 * d)
        - 31 * np.sin(-el + f - 2 * d)
        - 25 * np.sin(-2 * el + f)
        - 23 * np.sin(lp + f - 2 * d)
        + 21 * np.sin(-el + f)
        + 11 * np.sin(-lp + f - 2 * d)
    )
    dist = (
        385000.0
        - 20905 * np.cos(el)
        - 3699 * np.cos(2 * d - el)
        - 2956 * np.cos(2 * d)
        - 570 * np.cos(2 * el)
        + 246 * np.cos(2 * el - 2 * d)
        - 205 * np.cos(lp - 2 * d)
        - 171 * np.cos(el + 2 * d)
        - 152 * np.cos(el + lp - 2 * d)
    ) * 1e3
    return _ecliptic_to_equatorial(lon, lat, dist)


def sun_position_eci(gpst_ns) -> np.ndarray:
    """Geocentric Sun position (m), shape (..., 3), mean equator/equinox J2000.

    Montenbruck & Gill, Satellite Orbits (2000), sec. 3.3.2 (accuracy ~0.1-1 %)."""
    return _sun_from_centuries(_centuries_tt(gpst_ns))


def moon_position_eci(gpst_ns) -> np.ndarray:
    """Geocentric Moon position (m), shape (..., 3), mean equator/equinox J2000.

    Montenbruck & Gill, Satellite Orbits (2000), sec. 3.3.2 (a few arcmin, ~500 km)."""
    return _moon_from_centuries(_centuries_tt(gpst_ns))


# --- Forces ------------------------------------------------------------------------------
def _third_body(r, body):
    d = body - r
    dn = np.linalg.norm(d, axis=-1, keepdims=True)
    bn = np.linalg.norm(body, axis=-1, keepdims=True)
    return d / dn**3 - body / bn**3


def acceleration_eci(r, gm, *, j2=True, sun=None, moon=None) -> np.ndarray:
    """Acceleration (m/s^2) at inertial positions ``r`` (..., n, 3).

    ``gm`` broadcasts against ``r[..., 0]``; ``sun``/``moon`` are body positions (m) that
    broadcast against ``r`` (e.g. shape (..., 1, 3)) or None to leave them out.
    J2 term: Montenbruck & Gill (2000) eq. 3.13 with only C20.
    """
    gm = np.asarray(gm, dtype=np.float64)[..., None]
    x, y, z = r[..., 0], r[..., 1], r[..., 2]
    r2 = x * x + y * y + z * z
    rn = np.sqrt(r2)
    acc = -gm * r / (r2 * rn)[..., None]
    if j2:
        k = -1.5 * J2_EARTH * gm[..., 0] * R_EARTH**2 / (r2 * r2 * rn)
        zz = 5.0 * z * z / r2
        acc = acc + np.stack([k * x * (1 - zz), k * y * (1 - zz), k * z * (3 - zz)], axis=-1)
    if sun is not None:
        acc = acc + GM_SUN * _third_body(r, sun)
    if moon is not None:
        acc = acc + GM_MOON * _third_body(r, moon)
    return acc


def acceleration_ecef(r, v, gm, *, j2: bool = True) -> np.ndarray:
    """Acceleration (m/s^2) in the rotating (ECEF) frame of :func:`eci_to_ecef`.

    ``r``, ``v``: ECEF positions (m) and velocities (m/s), (..., n, 3). The gravity of
    :func:`acceleration_eci` (central body and J2, which are symmetric about the z axis
    both frames share; no Sun and Moon) plus the Coriolis and centrifugal terms of the
    rotation at the GPS omega_e: ``a = a_g - 2 w x v - w x (w x r)``.
    """
    w = OMEGA_E_GPS
    r = np.asarray(r, dtype=np.float64)
    v = np.asarray(v, dtype=np.float64)
    rotating = np.stack(
        [2.0 * w * v[..., 1] + w * w * r[..., 0], -2.0 * w * v[..., 0] + w * w * r[..., 1],
         np.zeros(r.shape[:-1])], axis=-1,
    )  # fmt: skip
    return acceleration_eci(r, gm, j2=j2) + rotating


# --- Integration -------------------------------------------------------------------------
def _derivative(t_s, y, epoch_ns, gm, j2, third_body):
    """dy/dt for states y (..., n, 6); t_s seconds from epoch (scalar or shape y.shape[:-2])."""
    sun = moon = None
    if third_body:
        tc = _centuries_tt(epoch_ns) + np.asarray(t_s, dtype=np.float64) / (36525.0 * 86400.0)
        sun = _sun_from_centuries(tc)[..., None, :]
        moon = _moon_from_centuries(tc)[..., None, :]
    acc = acceleration_eci(y[..., :3], gm, j2=j2, sun=sun, moon=moon)
    return np.concatenate([y[..., 3:], acc], axis=-1)


def integrate_orbits(
    position_m,
    velocity_m_s,
    epoch_ns: int,
    times_ns,
    gm,
    *,
    j2: bool = True,
    third_body: bool = True,
    step_s: float = 300.0,
    columns=None,
) -> tuple[np.ndarray, np.ndarray]:
    """Integrate inertial states from ``epoch_ns`` to every time in ``times_ns``.

    Parameters
    ----------
    position_m, velocity_m_s : array, shape (n, 3)
        Inertial state at ``epoch_ns`` (GPST ns).
    times_ns : int64 array, shape (T,)
        Output times (GPST ns), any order, before or after the epoch.
    gm : float or array (n,)
        Central-body GM (m^3/s^2).
    j2, third_body : bool
        Include the J2 and Sun/Moon accelerations.
    step_s : float
        Fixed integration step (s). 300 s keeps MEO/GEO integration errors at the micrometre level over a day.
    columns : int array, shape (T,), optional
        Evaluate satellite ``columns[i]`` only, at ``times_ns[i]`` (pairs), instead of every
        satellite at every time; the values are the same, bit for bit.

    Returns
    -------
    position_m, velocity_m_s : ndarray, shape (T, n, 3) (with ``columns``: (T, 3))
        Inertial position (m) and velocity (m/s).
    """
    r0 = np.asarray(position_m, dtype=np.float64)
    v0 = np.asarray(velocity_m_s, dtype=np.float64)
    y0 = np.concatenate([r0, v0], axis=-1)
    gm = np.broadcast_to(np.asarray(gm, dtype=np.float64), y0.shape[:-1])
    times = np.atleast_1d(np.asarray(times_ns, dtype=np.int64))
    dt = (times - np.int64(epoch_ns)).astype(np.float64) / NS_PER_S

    def f(t, y):
        return _derivative(t, y, epoch_ns, gm, j2, third_body)

    k_max = int(np.floor(dt.max() / step_s)) if dt.size and dt.max() > 0 else 0
    k_min = int(np.ceil(dt.min() / step_s)) if dt.size and dt.min() < 0 else 0
    nodes = dop853_nodes(f, y0, step_s, k_min, k_max)
    # partial steps from the node toward zero-side of each requested time
    node_k = np.where(dt >= 0, np.floor(dt / step_s), np.ceil(dt / step_s)).astype(np.int64)
    node_k = np.clip(node_k, k_min, k_max)
    h = dt - node_k * step_s
    moving = np.abs(h) > 1e-9
    if columns is None:
        start = nodes[node_k - k_min]
        f_moving = f
    else:  # one satellite per time: (T, 1, 6) states, the same element-wise arithmetic
        cols = np.asarray(columns, dtype=np.intp)
        start = nodes[node_k - k_min, cols][:, None, :]
        gm_moving = gm[cols][moving][:, None]

        def f_moving(t, y):
            return _derivative(t, y, epoch_ns, gm_moving, j2, third_body)

    out = start.copy()
    if np.any(moving):
        out[moving] = dop853_step(f_moving, node_k[moving] * step_s, start[moving], h[moving])
    if columns is not None:
        out = out[:, 0, :]
    return out[..., :3], out[..., 3:]


def rotation_angle(times_ns, frame_epoch_ns: int) -> np.ndarray:
    """Earth rotation angle (rad) of satnav's simplified inertial frame (module doc)."""
    t = np.asarray(times_ns, dtype=np.int64)
    theta0 = float(greenwich_angle(np.int64(frame_epoch_ns)))
    return theta0 + OMEGA_E_GPS * ((t - np.int64(frame_epoch_ns)).astype(np.float64) / NS_PER_S)


def eci_to_ecef(position_m, velocity_m_s, times_ns, frame_epoch_ns: int):
    """Rotate inertial states (T, ..., 3) at ``times_ns`` (T,) to ECEF (m, m/s)."""
    theta = rotation_angle(times_ns, frame_epoch_ns)
    theta = theta.reshape(theta.shape + (1,) * (np.ndim(position_m) - 1 - theta.ndim))
    c, s = np.cos(theta), np.sin(theta)
    r = np.asarray(position_m, dtype=np.float64)
    v = np.asarray(velocity_m_s, dtype=np.float64)
    x = c * r[..., 0] + s * r[..., 1]
    y = -s * r[..., 0] + c * r[..., 1]
    vx = c * v[..., 0] + s * v[..., 1] + OMEGA_E_GPS * y
    vy = -s * v[..., 0] + c * v[..., 1] - OMEGA_E_GPS * x
    return (
        np.stack([x, y, r[..., 2]], axis=-1),
        np.stack([vx, vy, v[..., 2]], axis=-1),
    )


def ecef_to_eci(position_m, velocity_m_s, times_ns, frame_epoch_ns: int):
    """Inverse of :func:`eci_to_ecef`."""
    theta = rotation_angle(times_ns, frame_epoch_ns)
    theta = theta.reshape(theta.shape + (1,) * (np.ndim(position_m) - 1 - theta.ndim))
    c, s = np.cos(theta), np.sin(theta)
    r = np.asarray(position_m, dtype=np.float64)
    v = np.asarray(velocity_m_s, dtype=np.float64)
    vx_in = v[..., 0] - OMEGA_E_GPS * r[..., 1]
    vy_in = v[..., 1] + OMEGA_E_GPS * r[..., 0]
    x = c * r[..., 0] - s * r[..., 1]
    y = s * r[..., 0] + c * r[..., 1]
    return (
        np.stack([x, y, r[..., 2]], axis=-1),
        np.stack([c * vx_in - s * vy_in, s * vx_in + c * vy_in, v[..., 2]], axis=-1),
    )


@dataclass
class OrbitTrack:
    """Propagated orbits of a constellation.

    Attributes
    ----------
    times_ns : int64 array (T,)
        GPST ns.
    sat : int16 array (n,)
        Satellite indices.
    position_m, velocity_m_s : arrays (T, n, 3)
        ECEF position (m) and velocity (m/s) in satnav's simplified Earth-fixed frame.
    """

    times_ns: np.ndarray
    sat: np.ndarray
    position_m: np.ndarray
    velocity_m_s: np.ndarray


def propagate_pairs(
    constellation: Constellation,
    index,
    times_ns,
    *,
    j2: bool = True,
    third_body: bool = True,
    step_s: float = 300.0,
) -> tuple[np.ndarray, np.ndarray]:
    """ECEF position (m) and velocity (m/s), shape (P, 3), of satellite ``index[i]`` (row of
    ``constellation``) at ``times_ns[i]`` (GPST ns) for P pairs: the values of
    :func:`propagate` at those times, bit for bit, without propagating every satellite to
    every time."""
    times = np.atleast_1d(np.asarray(times_ns, dtype=np.int64))
    index = np.broadcast_to(np.asarray(index, dtype=np.intp), times.shape)
    r0, v0 = constellation.initial_state()
    r, v = integrate_orbits(
        r0,
        v0,
        constellation.epoch_ns,
        times,
        constellation.gm,
        j2=j2,
        third_body=third_body,
        step_s=step_s,
        columns=index,
    )
    return eci_to_ecef(r, v, times, constellation.epoch_ns)


def propagate(
    constellation: Constellation,
    times_ns,
    *,
    j2: bool = True,
    third_body: bool = True,
    step_s: float = 300.0,
) -> OrbitTrack:
    """ECEF positions/velocities of every satellite of ``constellation`` at ``times_ns``.

    Starts from the constellation's elements at its epoch (osculating, inertial) and
    integrates two-body + J2 (+ Sun and Moon) for all satellites at once. The frame's
    reference epoch is the constellation's epoch. See the module doc for the model.
    """
    times = np.atleast_1d(np.asarray(times_ns, dtype=np.int64))
    r0, v0 = constellation.initial_state()
    r, v = integrate_orbits(
        r0,
        v0,
        constellation.epoch_ns,
        times,
        constellation.gm,
        j2=j2,
        third_body=third_body,
        step_s=step_s,
    )
    pos, vel = eci_to_ecef(r, v, times, constellation.epoch_ns)
    return OrbitTrack(times, constellation.sat.copy(), pos, vel)


def carried_to(constellation: Constellation, epoch_ns: int, *, fit_days: float = 2.0) -> Constellation:
    """The constellation with its epoch moved to ``epoch_ns`` without integrating the whole
    way: semi-major axis, eccentricity and inclination as designed; the node, the perigee and
    the mean longitude advanced by their mean rates, fitted (least-squares lines) to the
    osculating elements of a ``fit_days`` numerical propagation (two-body + J2 + Sun/Moon,
    :func:`integrate_orbits`) from the design epoch; the node re-expressed in the inertial
    frame of the new epoch (:func:`rotation_angle`). For planning far from the design epoch
    (visibility, DOP), not for precise work: lunisolar long-period terms (a GEO's inclination
    drift of ~0.8 deg a year) and the short-period J2 terms at the new epoch are left out,
    so positions differ from a propagation from the design epoch by up to a few hundred km
    after months."""
    from dataclasses import replace

    from .design import state_to_elements

    t0 = int(constellation.epoch_ns)
    dt = np.arange(0.0, fit_days * 86400.0 + 1.0, 600.0)
    times = t0 + np.round(dt * NS_PER_S).astype(np.int64)
    r0, v0 = constellation.initial_state()
    r, v = integrate_orbits(r0, v0, t0, times, constellation.gm)
    el = state_to_elements(r, v, constellation.gm[None, :])
    node = np.unwrap(el[..., 3], axis=0)
    perigee = np.unwrap(el[..., 4], axis=0)
    longitude = np.unwrap(el[..., 3] + el[..., 4] + el[..., 5], axis=0)
    rate_node, rate_perigee, rate_longitude = (np.polyfit(dt, x, 1)[0] for x in (node, perigee, longitude))
    span = (int(epoch_ns) - t0) / NS_PER_S
    frame = float(rotation_angle(np.int64(epoch_ns), int(epoch_ns)) - rotation_angle(np.int64(epoch_ns), t0))
    a, e, inc, node0, perigee0, m0 = constellation.elements.T
    new = constellation.elements.copy()
    new[:, 3] = node0 + rate_node * span + frame
    new[:, 4] = perigee0 + rate_perigee * span
    new[:, 5] = (node0 + perigee0 + m0 + rate_longitude * span) - (node0 + rate_node * span) - new[:, 4]
    new[:, 3:] = np.mod(new[:, 3:], 2.0 * np.pi)
    return replace(constellation, epoch_ns=int(epoch_ns), elements=new)
