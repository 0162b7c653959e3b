"""Geocentric positions of the Sun and the Moon, in GCRS and ITRS (metres).

- Sun: from the Earth's barycentric and heliocentric position of ``erfa.epv00`` (SOFA's
  implementation of the VSOP2000-fitted series; ~few km accuracy for the Earth-Sun vector,
  i.e. < 0.01 arcsec), Sun = -(Earth heliocentric position); TDB taken equal to TT (< 2 ms).
- Moon: ``erfa.moon98`` (Meeus' simplified ELP2000-82B series as in SOFA; ~10 arcsec, ~20 km
  at lunar distance).

These accuracies are far beyond what solid-Earth tides, phase wind-up, satellite attitude and
third-body accelerations on GNSS satellites need (tides: 20 km Moon error ~ 0.05 mm).
Frames: GCRS as returned by SOFA; ITRS through :mod:`satnav.models.earth_orientation`.
Time: int64 ns GPST.
"""

from __future__ import annotations

import numpy as np

from .earth_orientation import EarthOrientation, gcrs_to_itrs_matrix, julian_dates

__all__ = ["AU_M", "sun_moon_gcrs", "sun_moon_itrs"]

AU_M = 149_597_870_700.0  # IAU 2012 astronomical unit, m


def sun_moon_gcrs(time_ns) -> tuple[np.ndarray, np.ndarray]:
    """(sun, moon): (n, 3) geocentric GCRS positions in metres at GPST instants."""
    import erfa

    tt1, tt2 = julian_dates(time_ns)["tt"]
    pvh, _pvb = erfa.epv00(tt1, tt2)  # Earth heliocentric pv, au and au/day
    sun = -np.asarray(pvh[..., 0, :] if pvh.dtype.names is None else pvh["p"]) * AU_M
    pv_moon = erfa.moon98(tt1, tt2)
    moon = np.asarray(pv_moon[..., 0, :] if pv_moon.dtype.names is None else pv_moon["p"]) * AU_M
    return np.atleast_2d(sun), np.atleast_2d(moon)


def sun_moon_itrs(time_ns, eop: EarthOrientation | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(sun, moon): (n, 3) geocentric ITRS (Earth-fixed) positions in metres."""
    sun, moon = sun_moon_gcrs(time_ns)
    rot = gcrs_to_itrs_matrix(time_ns, eop)
    return np.einsum("nij,nj->ni", rot, sun), np.einsum("nij,nj->ni", rot, moon)
