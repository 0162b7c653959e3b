"""Earth-fixed coordinate frames: ECEF, geodetic, local east-north-up, azimuth/elevation.

Pure functions that broadcast over NumPy arrays, in the style of pymap3d.

Conventions
-----------
* Cartesian positions and vectors are arrays of shape ``(..., 3)`` (x, y, z or e, n, u
  in the last axis), in metres. Inputs broadcast against each other; outputs have the
  broadcast shape.
* Angles are radians: latitude in [-pi/2, pi/2], longitude in (-pi, pi], azimuth in
  [0, 2 pi) clockwise from north, elevation in [-pi/2, pi/2]. Use :func:`numpy.degrees`
  / :func:`numpy.radians` at the interface when degrees are wanted.
* Geodetic coordinates are *ellipsoidal* latitude, longitude and height above the
  ellipsoid. ``ellipsoid`` is ``"WGS84"`` (default), ``"PZ90"`` (PZ-90.11, GLONASS) or
  an ``(a, f)`` tuple (semi-major axis in m, flattening).

ECEF -> geodetic uses Bowring's (1976) latitude formula iterated to convergence (four
iterations reach < 1e-12 rad from 1 km below the ellipsoid to beyond geostationary
altitude, including the poles), with the height from the closed form
``h = p cos(lat) + z sin(lat) - a sqrt(1 - e^2 sin^2 lat)`` (e.g. Fukushima 1999),
which stays exact at the poles where ``p / cos(lat) - N`` breaks down.

References: B. R. Bowring, "Transformation from spatial to geographical coordinates",
Survey Review 23(181), 1976; J. Zhu, "Conversion of Earth-centered Earth-fixed coordinates
to geodetic coordinates", IEEE TAES 30(3), 1994.
"""

from __future__ import annotations

import numpy as np

from .constants import PZ90_A, PZ90_F, WGS84_A, WGS84_F

__all__ = [
    "ELLIPSOIDS",
    "ellipsoid_parameters",
    "geodetic_to_ecef",
    "ecef_to_geodetic",
    "enu_rotation",
    "ecef_to_enu",
    "enu_to_ecef",
    "azimuth_elevation",
    "PZ90_11_TO_ITRF2008",
    "pz90_11_to_itrf",
    "itrf_to_pz90_11",
]

#: Semi-major axis (m) and flattening of the supported ellipsoids.
ELLIPSOIDS = {
    "WGS84": (WGS84_A, WGS84_F),
    "PZ90": (PZ90_A, PZ90_F),
}
_ALIASES = {"WGS-84": "WGS84", "PZ-90": "PZ90", "PZ-90.11": "PZ90", "PZ90.11": "PZ90"}

_BOWRING_ITERATIONS = 4


def ellipsoid_parameters(ellipsoid="WGS84") -> tuple[float, float]:
    """``(a, f)`` of an ellipsoid name (``"WGS84"``, ``"PZ90"``, ``"PZ-90.11"``) or tuple."""
    if isinstance(ellipsoid, str):
        key = ellipsoid.strip().upper()
        key = _ALIASES.get(key, key)
        try:
            return ELLIPSOIDS[key]
        except KeyError:
            raise ValueError(
                f"unknown ellipsoid {ellipsoid!r}, expected one of {', '.join(ELLIPSOIDS)}"
            ) from None
    a, f = ellipsoid
    return float(a), float(f)


def _stack_xyz(x, y, z):
    x, y, z = np.broadcast_arrays(
        np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64), np.asarray(z, dtype=np.float64)
    )
    return np.stack([x, y, z], axis=-1)


def geodetic_to_ecef(lat_rad, lon_rad, h_m, ellipsoid="WGS84") -> np.ndarray:
    """ECEF position (m) of geodetic coordinates.

    Parameters
    ----------
    lat_rad, lon_rad : array_like
        Geodetic latitude and longitude (rad); broadcast with ``h_m``.
    h_m : array_like
        Height above the ellipsoid (m).
    ellipsoid : str or (a, f)
        ``"WGS84"`` or ``"PZ90"`` (PZ-90.11).

    Returns
    -------
    ndarray, shape (..., 3)
        ECEF x, y, z (m).
    """
    a, f = ellipsoid_parameters(ellipsoid)
    e2 = f * (2.0 - f)
    lat = np.asarray(lat_rad, dtype=np.float64)
    lon = np.asarray(lon_rad, dtype=np.float64)
    h = np.asarray(h_m, dtype=np.float64)
    sin_lat, cos_lat = np.sin(lat), np.cos(lat)
    n = a / np.sqrt(1.0 - e2 * sin_lat**2)  # prime vertical radius of curvature
    x = (n + h) * cos_lat * np.cos(lon)
    y = (n + h) * cos_lat * np.sin(lon)
    z = (n * (1.0 - e2) + h) * sin_lat
    return _stack_xyz(x, y, z)


def ecef_to_geodetic(x, y=None, z=None, ellipsoid="WGS84"):
    """Geodetic latitude, longitude (rad) and ellipsoidal height (m) of ECEF positions.

    Parameters
    ----------
    x : array_like
        Either an array of shape (..., 3) of ECEF positions (m), with ``y`` and ``z``
        omitted, or the x coordinates (m) with ``y`` and ``z`` given.
    y, z : array_like, optional
        ECEF y and z (m), broadcast with ``x``.
    ellipsoid : str or (a, f)
        ``"WGS84"`` or ``"PZ90"`` (PZ-90.11).

    Returns
    -------
    lat_rad, lon_rad, h_m : ndarray
        Arrays of the broadcast shape (without the last axis of an (..., 3) input).

    Notes
    -----
    Bowring's formula iterated to convergence (see the module docstring); accurate to
    far better than 0.1 mm from the Earth's surface to beyond geostationary altitude,
    poles and equator included.
    """
    if y is None and z is None:
        xyz = np.asarray(x, dtype=np.float64)
        if xyz.shape[-1:] != (3,):
            raise ValueError(f"expected positions of shape (..., 3), got {xyz.shape}")
        x, y, z = xyz[..., 0], xyz[..., 1], xyz[..., 2]
    elif y is None or z is None:
        raise TypeError("give either one (..., 3) array or all of x, y and z")
    a, f = ellipsoid_parameters(ellipsoid)
    x, y, z = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64), np.asarray(z, dtype=np.float64)
    if not x.shape == y.shape == z.shape:
        x, y, z = np.broadcast_arrays(x, y, z)
    return geodetic_core(x, y, z, a, f)


def geodetic_core(x, y, z, a, f):
    """:func:`ecef_to_geodetic`'s computation on float arrays ``x, y, z`` (m) of one shape and
    the ellipsoid's ``a`` (m) and ``f``: only operations numba compiles, so that compiled
    kernels (:mod:`satnav._jit`) share it (the same operations, the same bits)."""
    b = a * (1.0 - f)
    e2 = f * (2.0 - f)
    ep2 = e2 / (1.0 - e2)  # second eccentricity squared
    p = np.hypot(x, y)
    lon = np.arctan2(y, x)
    # Bowring: parametric (reduced) latitude beta, then geodetic latitude, iterated.
    beta = np.arctan2(z, (1.0 - f) * p)
    lat = beta
    for _ in range(_BOWRING_ITERATIONS):
        sin_b, cos_b = np.sin(beta), np.cos(beta)
        lat = np.arctan2(z + ep2 * b * sin_b**3.0, p - e2 * a * cos_b**3.0)  # (pow(), as x**3 in NumPy)
        beta = np.arctan2((1.0 - f) * np.sin(lat), np.cos(lat))
    sin_lat, cos_lat = np.sin(lat), np.cos(lat)
    h = p * cos_lat + z * sin_lat - a * np.sqrt(1.0 - e2 * sin_lat**2)
    return lat, lon, h


def enu_rotation(lat_rad, lon_rad) -> np.ndarray:
    """Rotation matrices from ECEF vectors to local east-north-up vectors.

    ``enu = R @ d_ecef`` where the rows of ``R`` are the east, north and up unit
    vectors expressed in ECEF.

    Parameters
    ----------
    lat_rad, lon_rad : array_like
        Geodetic latitude and longitude (rad) of the local origin; broadcast together.

    Returns
    -------
    ndarray, shape (..., 3, 3)
    """
    lat = np.asarray(lat_rad, dtype=np.float64)
    lon = np.asarray(lon_rad, dtype=np.float64)
    if lat.shape != lon.shape:
        lat, lon = np.broadcast_arrays(lat, lon)
    r = np.empty(lat.shape + (3, 3))
    (r[..., 0, 0], r[..., 0, 1], r[..., 0, 2],  # east
     r[..., 1, 0], r[..., 1, 1], r[..., 1, 2],  # north
     r[..., 2, 0], r[..., 2, 1], r[..., 2, 2]) = enu_rotation_elements(lat, lon)  # up
    return r


def enu_rotation_elements(lat, lon):
    """The nine elements (row by row: east, north, up) of :func:`enu_rotation` of float
    arrays ``lat, lon`` (rad) of one shape; only operations numba compiles (compiled
    kernels share it)."""
    sl, cl = np.sin(lat), np.cos(lat)
    so, co = np.sin(lon), np.cos(lon)
    return (-so, co, 0.0,
            -sl * co, -sl * so, cl,
            cl * co, cl * so, sl)


def ecef_to_enu(xyz, ref_xyz, ellipsoid="WGS84") -> np.ndarray:
    """East-north-up coordinates (m) of ECEF points relative to an ECEF reference point.

    Parameters
    ----------
    xyz : array_like, shape (..., 3)
        ECEF positions (m).
    ref_xyz : array_like, shape (..., 3)
        ECEF position of the local origin (m); its geodetic normal defines "up".
    ellipsoid : str or (a, f)

    Returns
    -------
    ndarray, shape (..., 3)
        East, north, up (m).
    """
    xyz = np.asarray(xyz, dtype=np.float64)
    ref = np.asarray(ref_xyz, dtype=np.float64)
    lat, lon, _ = ecef_to_geodetic(ref, ellipsoid=ellipsoid)
    rot = enu_rotation(lat, lon)
    return np.einsum("...ij,...j->...i", rot, xyz - ref)


def enu_to_ecef(enu, ref_xyz, ellipsoid="WGS84") -> np.ndarray:
    """ECEF positions (m) of east-north-up coordinates relative to ``ref_xyz``.

    Inverse of :func:`ecef_to_enu`; shapes as there.
    """
    enu = np.asarray(enu, dtype=np.float64)
    ref = np.asarray(ref_xyz, dtype=np.float64)
    lat, lon, _ = ecef_to_geodetic(ref, ellipsoid=ellipsoid)
    rot = enu_rotation(lat, lon)
    return ref + np.einsum("...ji,...j->...i", rot, enu)


def azimuth_elevation(receiver_ecef, satellite_ecef, ellipsoid="WGS84"):
    """Azimuth and elevation (rad) of satellites seen from receivers.

    Parameters
    ----------
    receiver_ecef : array_like, shape (..., 3)
        Receiver ECEF position (m); its geodetic normal (``ellipsoid``) defines the
        local horizon.
    satellite_ecef : array_like, shape (..., 3)
        Satellite ECEF position (m), broadcast against ``receiver_ecef`` (e.g. a
        receiver of shape (3,) with satellites (n_epochs, n_sats, 3)).
    ellipsoid : str or (a, f)

    Returns
    -------
    azimuth_rad : ndarray
        Clockwise from north, in [0, 2 pi).
    elevation_rad : ndarray
        Above the local horizon, in [-pi/2, pi/2]. NaN where a position is NaN.

    See also
    --------
    satnav.models.measurement.look_angles : the same angles from unit line-of-sight
        vectors, as the measurement model of the estimators and the simulator uses them
        (``asin`` of the up component; this function's ``atan2`` form keeps full precision
        at the zenith, the two agree to 1e-9 rad elsewhere).
    """
    rx = np.asarray(receiver_ecef, dtype=np.float64)
    sat = np.asarray(satellite_ecef, dtype=np.float64)
    lat, lon, _ = ecef_to_geodetic(rx, ellipsoid=ellipsoid)
    rot = enu_rotation(lat, lon)
    enu = np.einsum("...ij,...j->...i", rot, sat - rx)
    e, n, u = enu[..., 0], enu[..., 1], enu[..., 2]
    horizontal = np.hypot(e, n)
    elevation = np.arctan2(u, horizontal)
    azimuth = np.mod(np.arctan2(e, n), 2.0 * np.pi)
    return azimuth, elevation


#: PZ-90.11 -> ITRF2008 seven-parameter transformation (EPSG:7960, "Coordinate Frame rotation"
#: convention, epoch 2010.0; from the PZ-90.11 reference document of the Military Topographic
#: Department, Russian General Staff): translations (m), rotations (mas), scale (ppm). The two
#: frames agree to 5 mm at GNSS altitude; WGS84 (G1762 and later) realises ITRF2008/2014 to
#: about a centimetre, so ITRF here stands for WGS84 as well.
PZ90_11_TO_ITRF2008 = {"tx": -0.003, "ty": -0.001, "tz": 0.0, "rx_mas": 0.019, "ry_mas": -0.042,
                       "rz_mas": 0.002, "scale_ppm": 0.0}


def _coordinate_frame_rotation(params: dict, sign: float) -> tuple[np.ndarray, np.ndarray, float]:
    mas = np.pi / (180.0 * 3600.0 * 1000.0)
    rx, ry, rz = (sign * params[k] * mas for k in ("rx_mas", "ry_mas", "rz_mas"))
    rot = np.array([[1.0, rz, -ry], [-rz, 1.0, rx], [ry, -rx, 1.0]])  # EPSG method 1032
    t = sign * np.array([params["tx"], params["ty"], params["tz"]])
    return rot, t, 1.0 + sign * params["scale_ppm"] * 1e-6


def pz90_11_to_itrf(xyz_m) -> np.ndarray:
    """PZ-90.11 ECEF positions (..., 3) (m) to ITRF2008 (:data:`PZ90_11_TO_ITRF2008`)."""
    rot, t, scale = _coordinate_frame_rotation(PZ90_11_TO_ITRF2008, 1.0)
    return scale * np.asarray(xyz_m, dtype=np.float64) @ rot.T + t


def itrf_to_pz90_11(xyz_m) -> np.ndarray:
    """ITRF2008 ECEF positions (..., 3) (m) to PZ-90.11 (the inverse of
    :func:`pz90_11_to_itrf` to first order in the small parameters: < 1e-12 m at GNSS radius)."""
    rot, t, scale = _coordinate_frame_rotation(PZ90_11_TO_ITRF2008, -1.0)
    return scale * np.asarray(xyz_m, dtype=np.float64) @ rot.T + t
