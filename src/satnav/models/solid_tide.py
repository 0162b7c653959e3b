"""Solid Earth tide displacement of a station (IERS Conventions 2010, section 7.1.1).

Step 1 of the IERS procedure (eqs. 7.5 and 7.6) for the Moon and the Sun: degree-2 Love
and Shida numbers with their latitude dependence (eq. 7.2: ``h2 = 0.6078 - 0.0006
(3 sin^2 phi - 1) / 2``, ``l2 = 0.0847 + 0.0002 (3 sin^2 phi - 1) / 2``) and the degree-3
terms (``h3 = 0.292``, ``l3 = 0.015``)::

    dr = sum_j GM_j / GM_E  R_E^4 / R_j^3  [ h2 r^ (3/2 (Rj^.r^)^2 - 1/2)
                                             + 3 l2 (Rj^.r^) (Rj^ - (Rj^.r^) r^) ]
       + sum_j GM_j / GM_E  R_E^5 / R_j^4  [ h3 r^ (5/2 (Rj^.r^)^3 - 3/2 (Rj^.r^))
                                             + l3 (15/2 (Rj^.r^)^2 - 3/2) (Rj^ - (Rj^.r^) r^) ]

The result is the displacement of a "conventional tide free" position (ITRF, IGS
coordinates): the permanent tide is inside the formula, so nothing is restored (IERS
2010 7.1.1, "Permanent deformation"). Up to ~30 cm radial, ~5 cm horizontal.

Not modelled: the step-1 out-of-phase and latitude-dependence corrections of the
horizontal Love numbers (eqs. 7.10-7.13, below 1 mm) and step 2 (frequency dependence of
the Love numbers; its largest term, K1, is 12.6 mm x sin 2 phi radial, diurnal: it
averages out of a daily static coordinate but not out of a kinematic track).
Kouba, "A guide to using IGS products" (2009), 5.2.1 gives the same step-1 model.
"""

from __future__ import annotations

import numpy as np

from ..constants import GM_EARTH, GM_MOON, GM_SUN

__all__ = ["EARTH_EQUATORIAL_RADIUS_IERS_M", "solid_tide_displacement"]

#: Equatorial radius of the Earth of the IERS Conventions 2010 (table 1.1), m.
EARTH_EQUATORIAL_RADIUS_IERS_M = 6_378_136.6


def solid_tide_displacement(station_ecef_m, sun_ecef_m, moon_ecef_m) -> np.ndarray:
    """Displacement (m, ECEF, shape (..., 3)) of stations by the solid Earth tides.

    Parameters
    ----------
    station_ecef_m : array (..., 3)
        Station positions (ITRS, m).
    sun_ecef_m, moon_ecef_m : array (..., 3)
        Geocentric Sun and Moon positions in the same frame (m), e.g.
        :func:`satnav.models.sun_moon.sun_moon_itrs`; broadcast against the stations.
    """
    r = np.asarray(station_ecef_m, dtype=np.float64)
    r_hat = r / np.linalg.norm(r, axis=-1, keepdims=True)
    sin_lat = r_hat[..., 2:3]  # geocentric latitude: the IERS formula's own approximation
    p2 = (3.0 * sin_lat**2 - 1.0) / 2.0
    h2 = 0.6078 - 0.0006 * p2
    l2 = 0.0847 + 0.0002 * p2
    h3, l3 = 0.292, 0.015
    re = EARTH_EQUATORIAL_RADIUS_IERS_M
    out = np.zeros(np.broadcast_shapes(r.shape, np.shape(sun_ecef_m), np.shape(moon_ecef_m)))
    for body, gm in ((np.asarray(sun_ecef_m, float), GM_SUN), (np.asarray(moon_ecef_m, float), GM_MOON)):
        rb = np.linalg.norm(body, axis=-1, keepdims=True)
        b_hat = body / rb
        dot = np.sum(b_hat * r_hat, axis=-1, keepdims=True)
        tangential = b_hat - dot * r_hat
        k2 = gm / GM_EARTH * re**4 / rb**3
        out = out + k2 * (h2 * r_hat * (1.5 * dot**2 - 0.5) + 3.0 * l2 * dot * tangential)
        k3 = gm / GM_EARTH * re**5 / rb**4
        out = out + k3 * (h3 * r_hat * (2.5 * dot**3 - 1.5 * dot) + l3 * (7.5 * dot**2 - 1.5) * tangential)
    return out
