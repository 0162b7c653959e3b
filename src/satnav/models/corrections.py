"""Corrections shared by the orbit engines, the simulator and the estimators.

Only models that are not specific to one constellation's message live here; the
Keplerian form of the relativistic correction (``F e sqrt(A) sin E``, IS-GPS-200
20.3.3.3.3.1) is evaluated inside :mod:`satnav.orbits.kepler` from the message itself.
"""

from __future__ import annotations

import numpy as np

from ..constants import SPEED_OF_LIGHT

__all__ = ["relativistic_clock_correction"]


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
