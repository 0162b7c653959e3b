"""Signal geometry: transmission time, Earth rotation during signal flight (Sagnac), ranges.

Satellite states are computed at the signal's *transmission* time in the ECEF frame of that
instant; the receiver measures at reception, in the ECEF frame of reception, which has
turned by omega_e * tau meanwhile (tau = flight time). Rotating the satellite position by
that angle about the z axis expresses it in the reception frame (IS-GPS-200 20.3.3.4.3.4;
ESA GNSS Data Processing book, TM-23 vol. I, 5.1.1.1).

The functions live in :mod:`satnav.models.measurement` (the one measurement model); they
are re-exported here under their historic names.
"""

from __future__ import annotations

from satnav.models.measurement import (
    geometric_range,
    sagnac_correction_m,
    sagnac_rotate,
    transmission_time,
)

__all__ = [
    "transmission_time",
    "sagnac_rotate",
    "sagnac_correction_m",
    "geometric_range",
    "azimuth_elevation",
]


def azimuth_elevation(receiver_ecef, satellite_ecef, ellipsoid="WGS84"):
    """Azimuth and elevation (rad) of satellites from receivers: see
    :func:`satnav.frames.azimuth_elevation` (re-exported here for convenience)."""
    from satnav.frames import azimuth_elevation as _azel

    return _azel(receiver_ecef, satellite_ecef, ellipsoid=ellipsoid)
