"""Corrections shared by the orbit engines, the simulator and the estimators.

Only models that are not specific to one constellation's message live here; the
Keplerian form of the relativistic correction (``F e sqrt(A) sin E``, IS-GPS-200
20.3.3.3.3.1) is evaluated inside :mod:`satnav.orbits.kepler` from the message itself.
"""

from __future__ import annotations

import numpy as np

from ..constants import SPEED_OF_LIGHT

__all__ = ["relativistic_clock_correction", "shapiro_delay_m"]


def relativistic_clock_correction(position_m, velocity_m_s):
    """Periodic relativistic satellite clock correction ``-2 r.v / c^2`` (s).

    The eccentricity effect on the satellite clock (IS-GPS-200 20.3.3.3.3.1, IGS
    convention of precise clocks; ESA GNSS Data Processing Book vol. I, 5.2.1), from the
    ECEF (or inertial) position (m) and velocity (m/s), shape ``(..., 3)``; the result has
    shape ``(...)``. Add it to a clock that excludes it (precise clocks) to obtain the
    clock a receiver sees.
    """
    r = np.asarray(position_m, dtype=np.float64)
    v = np.asarray(velocity_m_s, dtype=np.float64)
    return -2.0 * np.sum(r * v, axis=-1) / SPEED_OF_LIGHT**2


def shapiro_delay_m(satellite_ecef_m, receiver_ecef_m):
    """Relativistic (Shapiro) signal delay (m) in the Earth's gravity field:
    ``2 GM / c^2 ln((r_s + r_r + rho) / (r_s + r_r - rho))`` (IERS Conventions 2010
    eq. 11.17 for the Earth only; Kouba, "A guide to using IGS products", 2009, 5.2.4):
    about 12.7 mm at zenith, 18.7 mm at the horizon for GPS, added to code and phase alike.
    """
    from ..constants import GM_EARTH

    s = np.asarray(satellite_ecef_m, dtype=np.float64)
    r = np.asarray(receiver_ecef_m, dtype=np.float64)
    rs = np.linalg.norm(s, axis=-1)
    rr = np.linalg.norm(r, axis=-1)
    rho = np.linalg.norm(s - r, axis=-1)
    return 2.0 * GM_EARTH / SPEED_OF_LIGHT**2 * np.log((rs + rr + rho) / (rs + rr - rho))
