"""One code and carrier-phase measurement model for every estimator and the simulator.

A code pseudorange ``P`` and a carrier phase ``L`` (both in metres) of satellite ``s``
seen by receiver ``r`` on a signal of frequency ``f`` are modelled as (RTKLIB 2.4.2
manual, appendix E.2-E.7; ESA GNSS Data Processing Book TM-23 vol. I, 5.1-5.4;
IERS Conventions 2010 ch. 7 for the PPP terms)::

    P = rho + c dt_r - c (dt^s - TGD^s) + I_f + T + d_ant + d_tide
    L = rho + c dt_r - c dt^s           - I_f + T + d_ant + d_tide + lambda (N + w)

* ``rho`` geometric range: the satellite position at the **transmission** time
  (:func:`transmission_time`, :func:`satellite_states_at_transmission`) in the ECEF
  frame of that instant, rotated about the z axis by ``omega_e tau`` into the ECEF
  frame of **reception** (Earth rotation during the flight time ``tau``, "Sagnac";
  IS-GPS-200 20.3.3.4.3.4, :func:`sagnac_rotate`), minus the receiver position
  (:func:`geometry`). The simulator solves the light-time equation exactly
  (:func:`light_time_solve`).
* ``dt_r`` receiver clock; ``dt^s`` satellite clock including the periodic relativistic
  term ``-2 r.v / c^2`` (:func:`satnav.models.corrections.relativistic_clock_correction`;
  the broadcast orbits add it themselves) and ``TGD^s`` the broadcast group delay of the
  code (:func:`satellite_clock_m`).
* ``I_f`` first-order ionospheric group delay on ``f`` (code delayed, phase advanced):
  broadcast Klobuchar of GPS or BeiDou scaled by ``(f_ref / f)^2``
  (:func:`ionospheric_delay_m`), zero for the ionosphere-free combination
  (:func:`satnav.models.ionosphere.ionosphere_free`).
* ``T`` tropospheric delay (:func:`tropospheric_delay_m`, Saastamoinen).
* PPP terms (hooks of :func:`predicted_code_m` / :func:`predicted_phase_m`, zero when not
  given): antenna phase-centre offsets of the satellite and the receiver and solid-Earth
  / ocean tide displacements, as range corrections (:func:`line_of_sight_projection_m`
  turns an ECEF displacement into one); phase wind-up ``w`` (cycles, Wu et al. 1993)
  and the ambiguity.

Conventions: positions ECEF metres in the last axis (``(..., 3)``), times int64 GPST
nanoseconds, clocks seconds, angles radians, delays metres. Every function broadcasts
``epochs x satellites``: a receiver of shape ``(m, 1, 3)`` (or ``(3,)``) against
satellites of shape ``(m, n, 3)``. The order of floating-point operations is that of the
estimators' historic code, so that solutions stay bit-identical.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from .._jit import select
from ..constants import OMEGA_E_GPS, SPEED_OF_LIGHT
from ..frames import ecef_to_geodetic, enu_rotation
from .ionosphere import (
    KLOBUCHAR_DEFAULT_ALPHA,
    KLOBUCHAR_DEFAULT_BETA,
    klobuchar_beidou,
    klobuchar_beidou_core,
    klobuchar_gps,
    klobuchar_gps_core,
)
from .troposphere import saastamoinen_delay

__all__ = [
    "Geometry",
    "LightTime",
    "transmission_time",
    "satellite_states_at_transmission",
    "position_at_transmission",
    "sagnac_rotate",
    "sagnac_correction_m",
    "geometric_range",
    "look_angles",
    "geometry",
    "light_time_solve",
    "range_rate_m_s",
    "tropospheric_delay_m",
    "ionospheric_delay_m",
    "satellite_clock_m",
    "line_of_sight_projection_m",
    "predicted_code_m",
    "predicted_phase_m",
]

_NS_PER_S = 1e9


# --------------------------------------------------------------------------- transmission
def transmission_time(receive_ns, pseudorange_m, sat_clock_s=None):
    """Signal transmission time (int64 GPST ns) from the reception time and the pseudorange.

    ``t_tx = t_rx - P / c - dt^s`` (IS-GPS-200 20.3.3.3.3.1; RTKLIB manual E.4): the
    pseudorange gives the transmission time read on the satellite clock (the receiver
    clock cancels because the time tag is read on the same clock), subtracting the
    satellite clock bias ``sat_clock_s`` (s) gives GPST. Each term is rounded to the
    nanosecond on its own (``t_rx - round(P / c) - round(dt^s)``), as the estimators do.

    Parameters
    ----------
    receive_ns : array_like of int64
        Reception time tags, GPST ns.
    pseudorange_m : array_like
        Pseudoranges (m), broadcast with ``receive_ns``.
    sat_clock_s : array_like, optional
        Satellite clock biases (s); none: the time read on the satellite clock.

    Returns
    -------
    int64 ndarray (a NumPy integer for scalar input); -1 where the pseudorange (or the
    clock) is not finite.
    """
    rx = np.asarray(receive_ns, dtype=np.int64)
    p = np.asarray(pseudorange_m, dtype=np.float64)
    finite = np.isfinite(p)
    if not finite.all():
        p = np.where(finite, p, 0.0)
    out = rx - transmission_delay_ns_core(p).astype(np.int64)
    if sat_clock_s is not None:
        clk = np.asarray(sat_clock_s, dtype=np.float64)
        ok = np.isfinite(clk)
        if not ok.all():
            finite = finite & ok
            clk = np.where(ok, clk, 0.0)
        out = out - np.round(clk * _NS_PER_S).astype(np.int64)
    if not finite.all():
        out = np.where(finite, out, -1)
    return out if np.ndim(out) else np.int64(out)


def transmission_delay_ns_core(pseudorange_m):
    """``P / c`` rounded to the nanosecond (ns, float; half to even) of a float array or a
    number: the term of :func:`transmission_time`, shared with the compiled one-epoch
    kernels (only operations numba compiles)."""
    return np.rint(pseudorange_m / SPEED_OF_LIGHT * _NS_PER_S)


def position_at_transmission(position_m, velocity_m_s, clock_s):
    """Satellite position (m) at the true transmission time from its state at the time
    read on the satellite clock: ``r(t - dt^s) = r(t) - v dt^s`` (first order; the error
    is ``a dt^s^2 / 2``, below 0.1 mm for ``|dt^s| < 1 ms``).

    ``position_m``, ``velocity_m_s`` ECEF (..., 3); ``clock_s`` (...) in seconds.
    """
    return position_m - velocity_m_s * np.asarray(clock_s)[..., None]


def satellite_states_at_transmission(states_fn, sat, receive_ns, pseudorange_m, *, clocks_fn=None):
    """Satellite states at the true transmission time, in two passes.

    The satellite clock is evaluated at the time read on the satellite clock
    (``t_rx - P / c``), then the states at ``t_rx - P / c - dt^s``
    (:func:`transmission_time`). ``states_fn(sat, time_ns)`` returns an object with
    ``clock_s`` (and whatever else the caller uses, e.g.
    :class:`~satnav.orbits.states.SatelliteStates`); ``clocks_fn`` (same signature) may
    give the clocks alone, faster. Clocks that are not finite are taken as 0 for the second
    pass.

    Returns
    -------
    time_ns : int64 ndarray
        The transmission times (GPST ns).
    states
        ``states_fn(sat, time_ns)``.
    """
    first = (clocks_fn or states_fn)(sat, transmission_time(receive_ns, pseudorange_m))
    clock = np.where(np.isfinite(first.clock_s), first.clock_s, 0.0)
    t_tx = transmission_time(receive_ns, pseudorange_m, clock)
    return t_tx, states_fn(sat, t_tx)


# --------------------------------------------------------------------------- Sagnac, range
def sagnac_rotate(position_m, flight_time_s, omega=OMEGA_E_GPS):
    """Rotate ECEF positions (or vectors) at transmission into the ECEF frame at reception.

    ``x' = x cos a + y sin a``, ``y' = -x sin a + y cos a``, ``z' = z`` with
    ``a = omega * flight_time_s`` (rad): the Earth turns by ``a`` during the signal flight
    (IS-GPS-200 20.3.3.4.3.4; RTKLIB manual E.3).

    Parameters
    ----------
    position_m : array (..., 3)
        Satellite ECEF position (m) at transmission time.
    flight_time_s : array (...)
        Signal flight time (s), broadcast against the positions' leading dimensions.
    omega : float
        Earth rotation rate (rad/s); the WGS84/IS-GPS-200 value by default.
    """
    return sagnac_core(np.asarray(position_m, dtype=np.float64), np.asarray(flight_time_s, dtype=np.float64), omega)


def sagnac_core(pos, flight_s, omega):
    """:func:`sagnac_rotate` of float arrays (only operations numba compiles: compiled
    kernels share it)."""
    xr, yr = sagnac_xy(pos[..., 0], pos[..., 1], omega * flight_s)
    out = np.empty(xr.shape + (3,))
    out[..., 0] = xr
    out[..., 1] = yr
    out[..., 2] = pos[..., 2]
    return out


def sagnac_xy(x, y, angle):
    """x and y of :func:`sagnac_rotate` by ``angle = omega * flight_time_s`` (rad), of arrays
    or numbers (only operations numba compiles: compiled kernels share it)."""
    ca, sa = np.cos(angle), np.sin(angle)
    return ca * x + sa * y, -sa * x + ca * y


def sagnac_correction_m(receiver_ecef, satellite_ecef, omega=OMEGA_E_GPS):
    """First-order Sagnac range correction (m): ``omega / c (x_s y_r - y_s x_r)``
    (RTKLIB manual eq. E.3.8b).

    Add it to the geometric distance computed in one (non-rotated) frame; it equals the
    effect of :func:`sagnac_rotate` to better than a millimetre for GNSS orbits.
    """
    r = np.asarray(receiver_ecef, dtype=np.float64)
    s = np.asarray(satellite_ecef, dtype=np.float64)
    return omega / SPEED_OF_LIGHT * (s[..., 0] * r[..., 1] - s[..., 1] * r[..., 0])


def geometric_range(receiver_ecef, satellite_ecef, omega=OMEGA_E_GPS, iterations: int = 3):
    """Receiver-satellite distance (m) with the Earth rotation during signal flight,
    iterated to convergence.

    ``satellite_ecef`` is the position at transmission time (its own ECEF frame); the flight
    time is found by fixed-point iteration ``tau = |R(omega tau) r_s - r_r| / c`` (3
    iterations converge to far below a millimetre). :func:`geometry` does one step, which
    is what the estimators use (the difference is below 1 micrometre).

    Returns
    -------
    range_m : ndarray
        The distance.
    satellite_rotated : ndarray (..., 3)
        The satellite position in the ECEF frame of reception.
    """
    r = np.asarray(receiver_ecef, dtype=np.float64)
    s = np.asarray(satellite_ecef, dtype=np.float64)
    rho = np.linalg.norm(s - r, axis=-1)
    rotated = s
    for _ in range(iterations):
        rotated = sagnac_rotate(s, rho / SPEED_OF_LIGHT, omega)
        rho = np.linalg.norm(rotated - r, axis=-1)
    return rho, rotated


def _norm(v):
    """Euclidean norm over the last axis (3): ``np.linalg.norm(v, axis=-1)``'s operations
    (``sqrt(add.reduce(v * v))``: ``(x^2 + y^2) + z^2``, the same bits) without its call
    overhead, and compiled by numba too."""
    return norm_xyz(v[..., 0], v[..., 1], v[..., 2])


def norm_xyz(x, y, z):
    """:func:`_norm` of the components (arrays or numbers)."""
    return np.sqrt((x * x + y * y) + z * z)


# --------------------------------------------------------------------------- look angles
def look_angles(unit_vector, latitude_rad, longitude_rad, *, rotation=None):
    """Azimuth and elevation (rad) of unit line-of-sight vectors seen from a receiver.

    The vector (ECEF, receiver to satellite, unit length) is rotated into the receiver's
    local east-north-up frame (:func:`satnav.frames.enu_rotation`); ``el = asin(u)``,
    ``az = atan2(e, n)`` in [0, 2 pi) clockwise from north (RTKLIB ``satazel``).
    :func:`satnav.frames.azimuth_elevation` gives the same angles from two positions.

    Parameters
    ----------
    unit_vector : array (..., 3)
        Unit line-of-sight vectors (ECEF).
    latitude_rad, longitude_rad : array_like
        Receiver geodetic latitude and longitude, broadcast against ``unit_vector[..., 0]``
        (e.g. shape (m, 1) against vectors (m, n, 3)).
    rotation : array (..., 3, 3), optional
        ``enu_rotation(latitude_rad, longitude_rad)`` when the caller has it.

    Returns
    -------
    azimuth_rad, elevation_rad : ndarray
    """
    rot = enu_rotation(latitude_rad, longitude_rad) if rotation is None else rotation
    unit = np.asarray(unit_vector, dtype=np.float64)
    return look_angles_core(tuple(rot[..., i, j] for i in range(3) for j in range(3)), unit)


def look_angles_core(rot, unit):
    """:func:`look_angles` from the nine elements of the rotation
    (:func:`satnav.frames.enu_rotation_elements`) and unit vectors (..., 3), float arrays
    (only operations numba compiles: compiled kernels share it). The products are summed as
    ``np.einsum`` sums them (``(r0 u0 + r2 u2) + r1 u1``), so that the angles keep their bits."""
    return look_angles_xyz(rot, unit[..., 0], unit[..., 1], unit[..., 2])


def look_angles_xyz(rot, ux, uy, uz):
    """:func:`look_angles_core` of the unit vectors' components (arrays or numbers)."""
    east = (rot[0] * ux + rot[2] * uz) + rot[1] * uy
    north = (rot[3] * ux + rot[5] * uz) + rot[4] * uy
    up = (rot[6] * ux + rot[8] * uz) + rot[7] * uy
    elevation = np.arcsin(np.minimum(np.maximum(up, -1.0), 1.0))
    azimuth = np.mod(np.arctan2(east, north), 2 * np.pi)
    return azimuth, elevation


class Geometry(NamedTuple):
    """Receiver-satellite geometry at reception (:func:`geometry`)."""

    #: Geometric range (m), Earth rotation during the flight included.
    range_m: np.ndarray
    #: Unit line-of-sight vector receiver -> satellite, ECEF at reception (..., 3).
    unit_vector: np.ndarray
    #: Azimuth (rad, clockwise from north, [0, 2 pi)) and elevation (rad).
    azimuth_rad: np.ndarray
    elevation_rad: np.ndarray
    #: Satellite position rotated into the ECEF frame of reception (m).
    satellite_ecef_m: np.ndarray
    #: Receiver geodetic latitude, longitude (rad) and height (m), WGS84; the shape of the
    #: receiver without its last axis.
    latitude_rad: np.ndarray
    longitude_rad: np.ndarray
    height_m: np.ndarray


def geometry(receiver_ecef_m, satellite_ecef_m, *, omega=OMEGA_E_GPS) -> Geometry:
    """Range with the Earth rotation during flight, line of sight and look angles.

    The flight time is ``tau = |r_s - r_r| / c`` with the satellite at transmission
    (one step of the light-time iteration: the range error is below 1 micrometre), the
    satellite is rotated by ``omega tau`` into the frame of reception
    (:func:`sagnac_rotate`), and ``rho = |R(omega tau) r_s - r_r|`` (RTKLIB manual
    E.3; IS-GPS-200 20.3.3.4.3.4).

    Parameters
    ----------
    receiver_ecef_m : array (..., 3)
        Receiver ECEF position(s) (m), e.g. (3,), or (m, 1, 3) against satellites (m, n, 3).
    satellite_ecef_m : array (..., 3)
        Satellite ECEF position(s) (m) at transmission, in the ECEF frame of that instant.
    omega : float
        Earth rotation rate (rad/s).

    Returns
    -------
    Geometry
    """
    rr = np.asarray(receiver_ecef_m, dtype=np.float64)
    rs = np.asarray(satellite_ecef_m, dtype=np.float64)
    rng, unit, rotated = line_of_sight(rr, rs, omega)
    lat, lon, h, rot = _receiver_frame(rr)
    az, el = look_angles(unit, lat, lon, rotation=rot)
    return Geometry(rng, unit, az, el, rotated, lat, lon, h)


def line_of_sight(rr, rs, omega):
    """Range (m), unit vector and rotated satellite position of :func:`geometry` from float
    arrays ``rr``, ``rs`` (..., 3) (only operations numba compiles: compiled kernels share
    it)."""
    rng, ux, uy, uz, xr, yr = line_of_sight_xyz(rr[..., 0], rr[..., 1], rr[..., 2], rs[..., 0], rs[..., 1],
                                                rs[..., 2], omega)
    unit = np.empty(rng.shape + (3,))
    unit[..., 0] = ux
    unit[..., 1] = uy
    unit[..., 2] = uz
    rotated = np.empty(rng.shape + (3,))
    rotated[..., 0] = xr
    rotated[..., 1] = yr
    rotated[..., 2] = rs[..., 2]
    return rng, unit, rotated


def line_of_sight_xyz(rx, ry, rz, sx, sy, sz, omega):
    """:func:`line_of_sight` of the components (arrays or numbers): range, unit vector x, y,
    z and the rotated satellite's x, y (its z is ``sz``)."""
    dz = sz - rz
    flight_s = norm_xyz(sx - rx, sy - ry, dz) / SPEED_OF_LIGHT
    xr, yr = sagnac_xy(sx, sy, omega * flight_s)
    lx, ly = xr - rx, yr - ry
    rng = norm_xyz(lx, ly, dz)
    return rng, lx / rng, ly / rng, dz / rng, xr, yr


#: Geodetic position and ENU rotation of the last few single receiver positions (bytes and
#: shape -> arrays): a per-epoch solver evaluates each epoch first at the last epoch's fix.
_RECEIVER_FRAMES: dict = {}


def _receiver_frame(rr):
    """``ecef_to_geodetic(rr)`` and ``enu_rotation`` of it (copies; kept for one receiver)."""
    key = (rr.tobytes(), rr.shape) if rr.size == 3 else None
    hit = _RECEIVER_FRAMES.get(key) if key is not None else None
    if hit is None:
        lat, lon, h = ecef_to_geodetic(rr)
        hit = (lat, lon, h, enu_rotation(lat, lon))
        if key is not None:
            if len(_RECEIVER_FRAMES) >= 8:
                _RECEIVER_FRAMES.clear()
            _RECEIVER_FRAMES[key] = hit
    return tuple(a.copy() for a in hit)


# --------------------------------------------------------------------------- light time
class LightTime(NamedTuple):
    """Solution of the light-time equation (:func:`light_time_solve`)."""

    #: Geometric range (m) and unit line of sight (ECEF at reception).
    range_m: np.ndarray
    unit_vector: np.ndarray
    #: Signal flight time (s) of the last iteration.
    flight_time_s: np.ndarray
    #: Emission time as an offset (s) from the time tags: ``receive_offset_s - tau``.
    emission_offset_s: np.ndarray
    #: Satellite position and velocity at emission, ECEF frame of emission.
    position_m: np.ndarray
    velocity_m_s: np.ndarray
    #: The same rotated into the ECEF frame of reception.
    satellite_ecef_m: np.ndarray
    satellite_velocity_m_s: np.ndarray


def light_time_solve(
    states_at: Callable, receiver_ecef_m, receive_offset_s, flight_time_s=0.075, *,
    iterations: int = 4, omega=OMEGA_E_GPS,
) -> LightTime:
    """Solve ``tau = |R3(omega tau) r_s(t_r - tau) - r_r(t_r)| / c`` by fixed-point iteration.

    The true signal flight, for simulating observations: the satellite state is evaluated
    at the emission time each iteration (4 iterations converge far below a micrometre).

    Parameters
    ----------
    states_at : callable
        ``states_at(offset_s) -> (position_m, velocity_m_s)``: satellite ECEF states at
        the instants ``time tag + offset_s`` (offset broadcast (..., n)).
    receiver_ecef_m : array (..., 3)
        Receiver position at the true reception time (m), e.g. (m, 1, 3).
    receive_offset_s : array_like
        True reception time minus the time tag (s), e.g. ``-dt_r`` of shape (m, 1).
    flight_time_s : array_like
        Starting flight time (s); its shape (e.g. (m, n)) is that of the iteration.
    iterations : int
    omega : float
        Earth rotation rate (rad/s).

    Returns
    -------
    LightTime
    """
    rx = np.asarray(receiver_ecef_m, dtype=np.float64)
    tau = np.asarray(flight_time_s, dtype=np.float64)
    for _ in range(iterations):
        offset = receive_offset_s - tau
        pos, vel = states_at(offset)
        pos_r = sagnac_rotate(pos, tau, omega)
        tau = np.linalg.norm(pos_r - rx, axis=-1) / SPEED_OF_LIGHT
    offset = receive_offset_s - tau
    pos, vel = states_at(offset)
    pos_r = sagnac_rotate(pos, tau, omega)
    vel_r = sagnac_rotate(vel, tau, omega)  # the velocity vector, into the reception frame too
    los = pos_r - rx
    rho = np.linalg.norm(los, axis=-1)
    return LightTime(rho, los / rho[..., None], tau, offset, pos, vel, pos_r, vel_r)


def range_rate_m_s(unit_vector, satellite_velocity_m_s, receiver_velocity_m_s):
    """Rate of the geometric range (m/s), the exact derivative of the light-time equation:
    ``rho_dot = e.(v_s - v_r) / (1 + e.v_s / c)`` (velocities ECEF at reception, m/s)."""
    ev = np.sum(unit_vector * satellite_velocity_m_s, axis=-1)
    return (ev - np.sum(unit_vector * receiver_velocity_m_s, axis=-1)) / (1.0 + ev / SPEED_OF_LIGHT)


# --------------------------------------------------------------------------- atmosphere
def tropospheric_delay_m(latitude_rad, height_m, elevation_rad):
    """Slant tropospheric delay (m): Saastamoinen with the standard atmosphere and
    ``1 / sin(el)`` mapping (:func:`satnav.models.troposphere.saastamoinen_delay`, as
    RTKLIB's SPP). Receiver latitude (rad) and ellipsoidal height (m) broadcast against
    the elevations (rad); 0 for elevations <= 0."""
    return saastamoinen_delay(latitude_rad, height_m, elevation_rad)


def _expanded(a, shape) -> np.ndarray:
    """``a`` broadcast to ``shape`` as an array of its own (the values copied; cheaper than
    ``np.broadcast_to`` for the small arrays of one epoch)."""
    a = np.asarray(a)
    if a.shape == shape:
        return a
    out = np.empty(shape, a.dtype)
    out[...] = a
    return out


def ionospheric_delay_m(latitude_rad, longitude_rad, azimuth_rad, elevation_rad, receive_ns,
                        gps=None, *, beidou=None, use_beidou=None, frequency_scale=None, where=None):
    """First-order slant ionospheric group delay (m) from the broadcast models.

    GPS Klobuchar (IS-GPS-200 20.3.3.5.2.5) with the coefficients ``gps`` (alpha, beta;
    RTKLIB's default set when None), replaced by BeiDou's model (BDS-SIS-ICD-B1I 5.2.4.7)
    with ``beidou`` coefficients where ``use_beidou`` is true, then multiplied by
    ``frequency_scale`` = ``(f_ref / f)^2`` (:func:`satnav.models.ionosphere.frequency_scale`;
    f_ref L1 for GPS's model, B1I for BeiDou's). Add to the code, subtract from the phase.
    For the ionosphere-free combination the delay is 0 (not modelled).

    Parameters
    ----------
    latitude_rad, longitude_rad : array_like
        Receiver geodetic coordinates (rad), e.g. (m, 1).
    azimuth_rad, elevation_rad : array_like
        Look angles (rad), e.g. (m, n).
    receive_ns : array_like of int64
        Reception time (GPST ns), e.g. (m, 1).
    gps, beidou : (alpha, beta), optional
        Broadcast coefficients (RINEX ``GPSA/GPSB``, ``BDSA/BDSB``).
    use_beidou : bool array, optional
        Where BeiDou's model applies (broadcast against the look angles).
    frequency_scale : array_like, optional
        Factor from the model's reference frequency to the signal's.
    where : bool array, optional
        Where the delay is wanted (broadcast against the look angles): the models are
        evaluated there only (the same values), and the delay is 0 elsewhere.
    """
    alpha, beta = gps if gps is not None else (KLOBUCHAR_DEFAULT_ALPHA, KLOBUCHAR_DEFAULT_BETA)
    args = (latitude_rad, longitude_rad, azimuth_rad, elevation_rad, receive_ns)
    bds = beidou is not None and use_beidou is not None and np.any(use_beidou)
    if where is None and np.size(elevation_rad) < 64:  # a few delays: the models everywhere
        f = lambda a: np.asarray(a, dtype=np.float64)  # noqa: E731
        return broadcast_delay_core(
            f(alpha), f(beta), (f(beidou[0]), f(beidou[1])) if bds else None, use_beidou,
            frequency_scale, f(latitude_rad), f(longitude_rad), f(azimuth_rad), f(elevation_rad),
            np.asarray(receive_ns, dtype=np.int64))
    shape = np.broadcast_shapes(*(np.shape(a) for a in args), np.shape(where) if where is not None else ())
    elevation = np.broadcast_to(np.asarray(elevation_rad, dtype=np.float64), shape)
    known = ~np.isnan(elevation)
    if where is not None:
        known &= np.broadcast_to(np.asarray(where, dtype=bool), shape)
    if known.all():  # (every delay wanted and known)
        iono = klobuchar_gps(alpha, beta, *args)
        if bds:
            iono = np.where(use_beidou, klobuchar_beidou(*beidou, *args), iono)
    else:
        # each model only where it applies and the elevation is known (both are NaN where it
        # is not): the same element-wise operations on fewer elements, the same doubles
        iono = np.full(shape, np.nan if where is None else 0.0)
        if where is not None:
            iono[np.broadcast_to(np.asarray(where, dtype=bool), shape) & ~known] = np.nan
        on_bds = known & np.broadcast_to(use_beidou, shape) if bds else np.zeros(shape, dtype=bool)
        full = None
        for model, coefficients, sel in ((klobuchar_gps, (alpha, beta), known & ~on_bds),
                                         (klobuchar_beidou, beidou, on_bds)):
            if sel.any():
                full = full or [_expanded(a, shape) for a in args]
                iono[sel] = model(*coefficients, *(a[sel] for a in full))
    if frequency_scale is not None:
        iono = iono * frequency_scale
    return iono


def broadcast_delay_core(alpha, beta, beidou, use_beidou, frequency_scale, latitude_rad, longitude_rad,
                         azimuth_rad, elevation_rad, receive_ns):
    """:func:`ionospheric_delay_m` everywhere (``beidou`` None: GPS's model only;
    ``frequency_scale`` None: 1) of float arrays (coefficients float arrays of 4, times int64),
    with only operations numba compiles (compiled kernels share it)."""
    iono = klobuchar_gps_core(alpha, beta, latitude_rad, longitude_rad, azimuth_rad, elevation_rad, receive_ns)
    if beidou is not None:
        iono = select(use_beidou, klobuchar_beidou_core(beidou[0], beidou[1], latitude_rad, longitude_rad,
                                                          azimuth_rad, elevation_rad, receive_ns), iono)
    if frequency_scale is not None:
        iono = iono * frequency_scale
    return iono


# --------------------------------------------------------------------------- clocks
def satellite_clock_m(clock_s, group_delay_s=None, relativity_s=None):
    """Satellite clock term (m) of a code: ``c (dt^s + dt_rel - TGD)``.

    ``clock_s`` the clock bias (s; broadcast clocks already include the relativistic
    term); ``relativity_s`` the periodic relativistic correction to add to clocks that
    exclude it (precise clocks;
    :func:`satnav.models.corrections.relativistic_clock_correction`); ``group_delay_s`` the
    code's broadcast group delay (s, IS-GPS-200 20.3.3.3.3.2; 0 for the phase and for the
    ionosphere-free combination of the reference codes).
    """
    clock = clock_s if relativity_s is None else clock_s + relativity_s
    if group_delay_s is None:
        return SPEED_OF_LIGHT * clock
    return SPEED_OF_LIGHT * (clock - group_delay_s)


# --------------------------------------------------------------------------- assembly
def line_of_sight_projection_m(vector_ecef_m, unit_vector):
    """Component (m) of ECEF displacements along the line of sight: ``e . d``.

    A satellite antenna offset ``d_s`` (centre of mass -> phase centre, ECEF) lengthens the
    range by ``e . d_s``; a receiver displacement ``d_r`` (antenna offset, tides) shortens it
    by ``e . d_r``: pass ``+e.d_s`` and ``-e.d_r`` to the ``*_m`` hooks of
    :func:`predicted_code_m`.
    """
    return np.sum(np.asarray(vector_ecef_m, dtype=np.float64) * unit_vector, axis=-1)


def _add_terms(model, terms):
    for term in terms:
        if term is not None:
            model = model + term
    return model


def predicted_code_m(range_m, receiver_clock_m=None, satellite_clock_m=None, ionosphere_m=None,
                     troposphere_m=None, *, satellite_antenna_m=None, receiver_antenna_m=None,
                     tides_m=None):
    """Modelled code pseudorange (m):
    ``rho + c dt_r - c dt^s + I + T (+ antennas + tides)``.

    Every term (m) broadcasts against ``range_m``; a term left None is not added (so the
    operations, and the bits, of a model without it are those of the shorter sum).
    ``satellite_clock_m`` is :func:`satellite_clock_m` (group delay included);
    ``ionosphere_m`` the group delay on the signal's frequency; the PPP hooks are range
    corrections (see :func:`line_of_sight_projection_m` for their signs).
    """
    return code_model(range_m, receiver_clock_m, satellite_clock_m, ionosphere_m, troposphere_m,
                      satellite_antenna_m, receiver_antenna_m, tides_m)


def code_model(range_m, receiver_clock_m, satellite_clock_m, ionosphere_m, troposphere_m, satellite_antenna_m,
               receiver_antenna_m, tides_m):
    """:func:`predicted_code_m` with every term positional (None: not added), in operations
    numba compiles: the compiled SPP kernel shares it (numba 0.68 binds keyword-only
    arguments wrongly in calls between compiled functions)."""
    model = range_m
    if receiver_clock_m is not None:
        model = model + receiver_clock_m
    if satellite_clock_m is not None:
        model = model - satellite_clock_m
    if ionosphere_m is not None:
        model = model + ionosphere_m
    if troposphere_m is not None:
        model = model + troposphere_m
    if satellite_antenna_m is not None:
        model = model + satellite_antenna_m
    if receiver_antenna_m is not None:
        model = model + receiver_antenna_m
    if tides_m is not None:
        model = model + tides_m
    return model


def predicted_phase_m(range_m, receiver_clock_m=None, satellite_clock_m=None, ionosphere_m=None,
                      troposphere_m=None, *, wavelength_m=None, ambiguity_cyc=None, wind_up_cyc=None,
                      satellite_antenna_m=None, receiver_antenna_m=None, tides_m=None):
    """Modelled carrier phase (m):
    ``rho + c dt_r - c dt^s - I + T (+ antennas + tides) + lambda (N + w)``.

    As :func:`predicted_code_m` with the ionosphere advancing the phase; ``satellite_clock_m``
    without a code group delay. ``ambiguity_cyc`` (N) and ``wind_up_cyc`` (w, phase wind-up
    of circularly polarised signals, Wu et al., Manuscripta Geodaetica 18, 1993) are in
    cycles of ``wavelength_m``.
    """
    model = range_m
    if receiver_clock_m is not None:
        model = model + receiver_clock_m
    if satellite_clock_m is not None:
        model = model - satellite_clock_m
    if ionosphere_m is not None:
        model = model - ionosphere_m
    model = _add_terms(model, (troposphere_m, satellite_antenna_m, receiver_antenna_m, tides_m))
    cycles = None
    for term in (ambiguity_cyc, wind_up_cyc):
        if term is not None:
            cycles = term if cycles is None else cycles + term
    if cycles is not None:
        if wavelength_m is None:
            raise ValueError("ambiguity_cyc / wind_up_cyc need wavelength_m")
        model = model + wavelength_m * cycles
    return model
