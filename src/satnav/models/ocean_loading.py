"""Ocean tide loading displacement of a station from BLQ coefficients.

The 11 main constituents of a BLQ file (:mod:`satnav.io.blq`) summed with their
astronomical arguments, as the IERS HARDISP program does before its spline admittance
interpolation of further minor tides (IERS Conventions 2010, section 7.1.2, eq. 7.16)::

    d_c(t) = sum_k A_ck cos(chi_k(t) - phi_ck)       (c = radial, west, south)

with amplitudes ``A`` (m) and phase lags ``phi`` of the file, and the constituent arguments
``chi_k = omega_k t_UT + a_k h0 + b_k s0 + c_k p0 + d_k 2 pi`` (Doodson-type arguments:
mean longitudes of the Sun ``h0``, the Moon ``s0`` and the lunar perigee ``p0`` at 0h UT
of the day; the angular speeds and multipliers of Scherneck's ARG routine distributed with
the BLQ service, used by IERS 1996/2003 conventions and Kouba's PPP guide). Simplified
against HARDISP: no nodal (18.6-year) modulation factors f and u (up to ~3 % of the
lunar amplitudes, i.e. below 1 mm at most stations) and no minor tides (~10 % of the
total, 1-2 mm). Displacements reach a few cm at coasts (BOR1: M2 3.8 mm radial).

Displacements are positive up, west, south in the file; returned as ECEF metres.
"""

from __future__ import annotations

import numpy as np

from ..frames import ecef_to_geodetic, enu_rotation
from ..gnss_time import leap_seconds_at_gpst

__all__ = ["TIDE_SPEEDS_RAD_S", "astronomical_arguments_rad", "ocean_loading_displacement"]

#: Angular speeds (rad/s) of M2 S2 N2 K2 K1 O1 P1 Q1 Mf Mm Ssa.
TIDE_SPEEDS_RAD_S = np.array([1.40519e-4, 1.45444e-4, 1.37880e-4, 1.45842e-4, 0.72921e-4, 0.67598e-4,
                              0.72523e-4, 0.64959e-4, 0.053234e-4, 0.026392e-4, 0.003982e-4])
#: Multipliers of h0, s0, p0 and of 2 pi (quarter cycles) per constituent.
_ARGUMENT_FACTORS = np.array([
    [2, -2, 0, 0.00], [0, 0, 0, 0.00], [2, -3, 1, 0.00], [2, 0, 0, 0.00],
    [1, 0, 0, 0.25], [1, -2, 0, -0.25], [-1, 0, 0, -0.25], [1, -3, 1, -0.25],
    [0, 2, 0, 0.00], [0, 1, -1, 0.00], [2, 0, 0, 0.00],
])
_GPS_EPOCH_JD = 2444244.5
_NS_PER_DAY = 86_400_000_000_000


def astronomical_arguments_rad(time_ns) -> np.ndarray:
    """(n, 11) arguments chi_k (rad) of the BLQ constituents at GPST instants (UT taken as
    UTC = GPST - leap seconds; UT1-UTC < 0.9 s moves them by < 1e-4 rad)."""
    t = np.atleast_1d(np.asarray(time_ns, dtype=np.int64))
    utc = t - np.asarray(leap_seconds_at_gpst(t), dtype=np.int64) * 1_000_000_000
    day = utc // _NS_PER_DAY
    seconds = (utc - day * _NS_PER_DAY).astype(np.float64) / 1e9
    jd0 = _GPS_EPOCH_JD + day.astype(np.float64)  # 0h UT of the day
    capt = (jd0 - 2415020.0) / 36525.0  # Julian centuries since 1900.0
    h0 = np.radians(279.69668 + (36000.768930485 + 3.03e-4 * capt) * capt)
    s0 = np.radians(((1.9e-6 * capt - 0.001133) * capt + 481267.88314137) * capt + 270.434358)
    p0 = np.radians(((-1.2e-5 * capt - 0.010325) * capt + 4069.0340329577) * capt + 334.329653)
    f = _ARGUMENT_FACTORS
    return (TIDE_SPEEDS_RAD_S[None, :] * seconds[:, None] + f[:, 0] * h0[:, None] + f[:, 1] * s0[:, None]
            + f[:, 2] * p0[:, None] + f[:, 3] * 2.0 * np.pi)


def ocean_loading_displacement(station_ecef_m, time_ns, blq: np.ndarray) -> np.ndarray:
    """Ocean loading displacement (m, ECEF (n, 3)) at GPST instants ``time_ns`` (n,).

    ``blq``: the station's (6, 11) block of :func:`satnav.io.blq.read_blq` (amplitudes m
    up/west/south, phases degrees).
    """
    chi = astronomical_arguments_rad(time_ns)  # (n, 11)
    amp = np.asarray(blq, dtype=np.float64)[:3]
    phase = np.radians(np.asarray(blq, dtype=np.float64)[3:])
    d = np.einsum("ck,nck->nc", amp, np.cos(chi[:, None, :] - phase[None, :, :]))  # up, west, south
    enu = np.stack([-d[:, 1], -d[:, 2], d[:, 0]], axis=-1)
    lat, lon, _ = ecef_to_geodetic(np.asarray(station_ecef_m, dtype=np.float64))
    rot = enu_rotation(lat, lon)
    return enu @ rot if rot.ndim == 2 else np.einsum("nji,nj->ni", rot, enu)
