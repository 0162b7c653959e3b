"""Nominal yaw-steering attitude of GNSS satellites and eclipse flags.

Nominal attitude (IGS convention; Montenbruck et al., "Enhanced solar radiation pressure
modeling for Galileo satellites", J. Geod. 89, 2015, section 2; Kouba, "A guide to using
IGS products", 2009, 5.1.1): the body z axis points to the Earth's centre, the y axis is
perpendicular to the plane Sun-satellite-Earth (the solar panels' rotation axis), the x
axis completes the right-handed frame and points to the half-space that holds the Sun::

    e_z = -r / |r|,   e_y = (e_z x (r_sun - r)) / |...|,   e_x = e_y x e_z

During eclipse seasons the real attitude departs from this near orbit noon and midnight
(noon/midnight turns; inside the Earth's shadow GPS IIA/IIF and GLONASS-M yaw at their own
rates). This module does not model those manoeuvres; it flags them: the satellite is in
the Earth's (cylindrical) shadow, and the Sun's elevation above the orbit plane (beta
angle) is small (``|beta|`` below :data:`ECLIPSE_SEASON_BETA_RAD`, where the yaw rate
required near noon exceeds what the satellites can do). Measurements during such
manoeuvres carry wind-up and x-offset errors of up to a few cm: PPP excludes satellites
in the shadow (and for 30 min after) by default.
"""

from __future__ import annotations

import numpy as np

from ..constants import OMEGA_E_GPS, WGS84_A

__all__ = ["ECLIPSE_SEASON_BETA_RAD", "nominal_attitude", "in_earth_shadow", "beta_angle_rad"]

#: |beta| under which noon/midnight turns happen for GPS satellites (about 13.5 deg for the
#: maximum yaw rates of IIR/IIF; Kouba 2009, "A simplified yaw-attitude model for eclipsing
#: GPS satellites", GPS Solutions 13).
ECLIPSE_SEASON_BETA_RAD = np.radians(13.5)


def _unit(v):
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def nominal_attitude(satellite_ecef_m, sun_ecef_m) -> np.ndarray:
    """(..., 3, 3) body axes of the nominal yaw attitude: rows e_x, e_y, e_z (ECEF unit vectors).

    A body-frame vector ``b`` (x, y, z) is ``b @ axes`` in ECEF."""
    r = np.asarray(satellite_ecef_m, dtype=np.float64)
    ez = _unit(-r)
    ey = _unit(np.cross(ez, np.asarray(sun_ecef_m, dtype=np.float64) - r))
    ex = np.cross(ey, ez)
    return np.stack([ex, ey, ez], axis=-2)


def in_earth_shadow(satellite_ecef_m, sun_ecef_m, radius_m: float = WGS84_A) -> np.ndarray:
    """True where the satellite is inside the Earth's cylindrical shadow."""
    r = np.asarray(satellite_ecef_m, dtype=np.float64)
    s = _unit(np.asarray(sun_ecef_m, dtype=np.float64))
    along = np.sum(r * s, axis=-1)
    perp = np.linalg.norm(r - along[..., None] * s, axis=-1)
    return (along < 0) & (perp < radius_m)


def beta_angle_rad(satellite_ecef_m, satellite_velocity_m_s, sun_ecef_m, omega=OMEGA_E_GPS) -> np.ndarray:
    """Elevation (rad) of the Sun above the orbit plane (inertial velocity ``v + omega x r``)."""
    r = np.asarray(satellite_ecef_m, dtype=np.float64)
    v = np.asarray(satellite_velocity_m_s, dtype=np.float64) + np.cross([0.0, 0.0, omega], r)
    normal = _unit(np.cross(r, v))
    return np.arcsin(np.clip(np.sum(normal * _unit(np.asarray(sun_ecef_m, dtype=np.float64)), axis=-1), -1, 1))
