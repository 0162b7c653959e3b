"""Solid Earth pole tide: the station displacement caused by polar motion (IERS Conventions
2010, section 7.1.4, eq. 7.26, with the secular pole of the 2018 update, eq. 7.25).

With ``m1 = x_p - x_s``, ``m2 = -(y_p - y_s)`` (arcsec; x_p, y_p polar motion, x_s, y_s the
secular pole ``x_s = 55.0 + 1.677 (t - 2000)`` mas, ``y_s = 320.5 + 3.460 (t - 2000)`` mas,
t in years), colatitude theta and longitude lambda::

    S_r      = -33 sin 2theta (m1 cos lambda + m2 sin lambda)   mm  (up)
    S_theta  =  -9 cos 2theta (m1 cos lambda + m2 sin lambda)   mm  (south)
    S_lambda =   9 cos theta  (m1 sin lambda - m2 cos lambda)   mm  (east)

A few millimetres (at most ~25 mm radial); it changes over months, so it biases a daily
coordinate as a whole. Polar motion from :func:`satnav.models.earth_orientation.eop_at`.
"""

from __future__ import annotations

import numpy as np

from ..frames import ecef_to_geodetic, enu_rotation
from .earth_orientation import ARCSEC, eop_at

__all__ = ["secular_pole_arcsec", "pole_tide_displacement"]

_J2000_GPST_NS = 630_763_148_816_000_000  # 2000-01-01 12:00 TT as GPST ns (close enough for years)


def secular_pole_arcsec(time_ns) -> tuple[np.ndarray, np.ndarray]:
    """IERS 2010 (2018 update) secular pole ``(x_s, y_s)`` in arcsec at GPST instants."""
    years = (np.asarray(time_ns, dtype=np.float64) - _J2000_GPST_NS) / (365.25 * 86400e9)
    return (55.0 + 1.677 * years) * 1e-3, (320.5 + 3.460 * years) * 1e-3


def pole_tide_displacement(station_ecef_m, time_ns, eop=None) -> np.ndarray:
    """Pole-tide displacement (m, ECEF (n, 3)) of a station at GPST instants ``time_ns`` (n,).

    ``eop``: :class:`~satnav.models.earth_orientation.EarthOrientation` at those instants
    (default :func:`~satnav.models.earth_orientation.eop_at`).
    """
    t = np.atleast_1d(np.asarray(time_ns, dtype=np.int64))
    eop = eop_at(t) if eop is None else eop
    xs, ys = secular_pole_arcsec(t)
    m1 = eop.xp_rad / ARCSEC - xs
    m2 = -(eop.yp_rad / ARCSEC - ys)
    lat, lon, _ = ecef_to_geodetic(np.asarray(station_ecef_m, dtype=np.float64))
    theta = np.pi / 2 - lat
    a = m1 * np.cos(lon) + m2 * np.sin(lon)
    up = -33e-3 * np.sin(2 * theta) * a
    south = -9e-3 * np.cos(2 * theta) * a
    east = 9e-3 * np.cos(theta) * (m1 * np.sin(lon) - m2 * np.cos(lon))
    enu = np.stack(np.broadcast_arrays(east, -south, up), axis=-1)
    rot = enu_rotation(lat, lon)  # rows: east, north, up unit vectors (ECEF)
    return np.einsum("...ji,...j->...i", np.broadcast_to(rot, enu.shape[:-1] + (3, 3)), enu)
