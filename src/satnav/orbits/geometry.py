"""Signal geometry: transmission time, Earth rotation during signal flight (Sagnac), ranges.

Satellite states are computed at the signal's *transmission* time in the ECEF frame of that
instant; the receiver measures at reception, in the ECEF frame of reception, which has
turned by omega_e * tau meanwhile (tau = flight time). Rotating the satellite position by
that angle about the z axis expresses it in the reception frame (IS-GPS-200 20.3.3.4.3.4;
ESA GNSS Data Processing book, TM-23 vol. I, 5.1.1.1).
"""

from __future__ import annotations

import numpy as np

from satnav.constants import OMEGA_E_GPS, SPEED_OF_LIGHT
from satnav.gnss_time import NS_PER_S

__all__ = [
    "transmission_time",
    "sagnac_rotate",
    "sagnac_correction_m",
    "geometric_range",
    "azimuth_elevation",
]


def transmission_time(receive_ns, pseudorange_m, sat_clock_s=0.0):
    """Signal transmission time (GPST ns) from the reception time and the pseudorange.

    ``t_tx = t_rx - P / c - dt_sv`` (IS-GPS-200 20.3.3.3.3.1): the pseudorange gives the
    transmission time read on the satellite clock; subtracting the satellite clock bias
    ``sat_clock_s`` (s) gives GPST. All arguments broadcast; NaN pseudoranges give -1.

    Returns
    -------
    int64 ndarray (or scalar) of GPST ns, rounded to the nanosecond.
    """
    rx = np.asarray(receive_ns, dtype=np.int64)
    offset_s = np.asarray(pseudorange_m, dtype=np.float64) / SPEED_OF_LIGHT + np.asarray(
        sat_clock_s, dtype=np.float64
    )
    finite = np.isfinite(offset_s)
    offset_ns = np.rint(np.where(finite, offset_s, 0.0) * NS_PER_S).astype(np.int64)
    out = np.where(finite, rx - offset_ns, -1)
    return out if out.ndim else np.int64(out)


def sagnac_rotate(position_m, flight_time_s, omega=OMEGA_E_GPS):
    """Rotate ECEF positions at transmission into the ECEF frame at reception.

    ``x' = x cos a + y sin a``, ``y' = -x sin a + y cos a``, ``z' = z`` with
    ``a = omega * flight_time_s`` (rad).

    Parameters
    ----------
    position_m : array (..., 3)
        Satellite ECEF position (m) at transmission time.
    flight_time_s : array (...)
        Signal flight time (s), broadcast against the positions' leading dimensions.
    omega : float
        Earth rotation rate (rad/s); the WGS84/IS-GPS-200 value by default.
    """
    pos = np.asarray(position_m, dtype=np.float64)
    a = omega * np.asarray(flight_time_s, dtype=np.float64)
    ca, sa = np.cos(a), np.sin(a)
    x, y = pos[..., 0], pos[..., 1]
    return np.stack([ca * x + sa * y, -sa * x + ca * y, np.broadcast_to(pos[..., 2], x.shape)], -1)


def sagnac_correction_m(receiver_ecef, satellite_ecef, omega=OMEGA_E_GPS):
    """First-order Sagnac range correction (m): ``omega / c (x_s y_r - y_s x_r)``.

    Add it to the geometric distance computed in one (non-rotated) frame; it equals the
    effect of :func:`sagnac_rotate` to better than a millimetre for GNSS orbits.
    """
    r = np.asarray(receiver_ecef, dtype=np.float64)
    s = np.asarray(satellite_ecef, dtype=np.float64)
    return omega / SPEED_OF_LIGHT * (s[..., 0] * r[..., 1] - s[..., 1] * r[..., 0])


def geometric_range(receiver_ecef, satellite_ecef, omega=OMEGA_E_GPS, iterations: int = 3):
    """Receiver-satellite distance (m) with the Earth rotation during signal flight.

    ``satellite_ecef`` is the position at transmission time (its own ECEF frame); the flight
    time is found by fixed-point iteration ``tau = |R(omega tau) r_s - r_r| / c`` (3
    iterations converge to far below a millimetre).

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


def azimuth_elevation(receiver_ecef, satellite_ecef, ellipsoid="WGS84"):
    """Azimuth and elevation (rad) of satellites from receivers: see
    :func:`satnav.frames.azimuth_elevation` (re-exported here for convenience)."""
    from satnav.frames import azimuth_elevation as _azel

    return _azel(receiver_ecef, satellite_ecef, ellipsoid=ellipsoid)
