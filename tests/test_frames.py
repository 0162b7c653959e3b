"""Frames: ECEF <-> geodetic, ENU and azimuth/elevation against published and independent values."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from satnav.constants import PZ90_A, PZ90_F, WGS84_A, WGS84_F
from satnav.frames import (
    azimuth_elevation,
    ecef_to_enu,
    ecef_to_geodetic,
    ellipsoid_parameters,
    enu_rotation,
    enu_to_ecef,
    geodetic_to_ecef,
)
from tests.conftest import data_path

MM = 1e-3
ARCSEC = np.radians(1.0 / 3600.0)


def _dms(text: str) -> float:
    """Site-log angle '+DDMMSS.SS' / '-DDDMMSS.SS' -> degrees."""
    sign = -1.0 if text[0] == "-" else 1.0
    body = text[1:]
    return sign * (int(body[:-7]) + int(body[-7:-5]) / 60.0 + float(body[-5:]) / 3600.0)


def _heikkinen(xyz, a, f):
    """Independent closed-form ECEF -> geodetic (Heikkinen 1982, as in Zhu 1994 eq. 9)."""
    x, y, z = xyz[..., 0], xyz[..., 1], xyz[..., 2]
    b = a * (1 - f)
    e2 = f * (2 - f)
    ep2 = (a * a - b * b) / (b * b)
    p = np.hypot(x, y)
    F = 54 * b * b * z * z
    G = p * p + (1 - e2) * z * z - e2 * (a * a - b * b)
    c = e2 * e2 * F * p * p / G**3
    s = np.cbrt(1 + c + np.sqrt(c * c + 2 * c))
    P = F / (3 * (s + 1 / s + 1) ** 2 * G * G)
    Q = np.sqrt(1 + 2 * e2 * e2 * P)
    r0 = -P * e2 * p / (1 + Q) + np.sqrt(
        a * a / 2 * (1 + 1 / Q) - P * (1 - e2) * z * z / (Q * (1 + Q)) - P * p * p / 2
    )
    U = np.sqrt((p - e2 * r0) ** 2 + z * z)
    V = np.sqrt((p - e2 * r0) ** 2 + (1 - e2) * z * z)
    z0 = b * b * z / (a * V)
    h = U * (1 - b * b / (a * V))
    lat = np.arctan((z + ep2 * z0) / p)
    lon = np.arctan2(y, x)
    return lat, lon, h


def test_ellipsoid_constants():
    # NGA.STND.0036 (WGS84) and GLONASS ICD / PZ-90.11
    assert ellipsoid_parameters("WGS84") == (6378137.0, 1 / 298.257223563)
    assert ellipsoid_parameters("PZ-90.11") == (6378136.0, 1 / 298.25784)
    assert ellipsoid_parameters((WGS84_A, WGS84_F)) == (WGS84_A, WGS84_F)
    with pytest.raises(ValueError, match="unknown ellipsoid"):
        ellipsoid_parameters("GRS67")


def test_known_points():
    # On the equator at lon 0 the point is (a, 0, 0); at the pole (0, 0, b).
    np.testing.assert_allclose(geodetic_to_ecef(0.0, 0.0, 0.0), [WGS84_A, 0, 0], atol=1e-9)
    b = WGS84_A * (1 - WGS84_F)
    np.testing.assert_allclose(geodetic_to_ecef(np.pi / 2, 1.0, 100.0), [0, 0, b + 100.0], atol=1e-6)
    lat, lon, h = ecef_to_geodetic([0.0, 0.0, -(b + 20_000e3)])
    assert lat == pytest.approx(-np.pi / 2) and h == pytest.approx(20_000e3, abs=1e-6)
    lat, lon, h = ecef_to_geodetic(0.0, PZ90_A + 5.0, 0.0, ellipsoid="PZ90")
    assert (lat, lon, h) == pytest.approx((0.0, np.pi / 2, 5.0), abs=1e-9)


@pytest.mark.parametrize("ellipsoid", ["WGS84", "PZ90"])
def test_round_trip_random_points(ellipsoid):
    rng = np.random.default_rng(42)
    n = 100_000
    lat = np.arcsin(rng.uniform(-1, 1, n))
    lon = rng.uniform(-np.pi, np.pi, n)
    h = rng.uniform(-1000.0, 40_000e3, n)
    # poles, equator, extreme heights
    lat[:8] = [np.pi / 2, -np.pi / 2, 0.0, 0.0, np.pi / 2, -np.pi / 2, 1e-12, np.radians(89.9999)]
    h[:8] = [-1000.0, 40_000e3, -1000.0, 40_000e3, 35_786e3, 0.0, 20_200e3, 500.0]
    xyz = geodetic_to_ecef(lat, lon, h, ellipsoid)
    lat2, lon2, h2 = ecef_to_geodetic(xyz, ellipsoid=ellipsoid)
    xyz2 = geodetic_to_ecef(lat2, lon2, h2, ellipsoid)
    assert np.abs(xyz2 - xyz).max() < 0.1 * MM
    assert np.abs(h2 - h).max() < 0.1 * MM
    # latitude error expressed as a distance on the ground
    assert np.abs(lat2 - lat).max() * WGS84_A < 0.1 * MM
    away_from_pole = np.abs(lat) < np.radians(89.99)
    dlon = np.angle(np.exp(1j * (lon2 - lon)))[away_from_pole]
    assert (np.abs(dlon) * np.cos(lat[away_from_pole]) * (WGS84_A + h[away_from_pole])).max() < 0.1 * MM


def test_separate_xyz_and_stacked_agree_and_broadcast():
    xyz = geodetic_to_ecef(np.radians([10.0, 50.0]), np.radians([20.0, -120.0]), [0.0, 1e3])
    assert xyz.shape == (2, 3)
    a = ecef_to_geodetic(xyz)
    b = ecef_to_geodetic(xyz[:, 0], xyz[:, 1], xyz[:, 2])
    for u, v in zip(a, b):
        np.testing.assert_array_equal(u, v)
    # scalar lat/lon with array heights broadcast
    assert geodetic_to_ecef(0.3, 0.2, np.zeros((4, 5))).shape == (4, 5, 3)
    with pytest.raises(ValueError):
        ecef_to_geodetic(np.zeros((3, 2)))


def test_published_igs_site_log_brux():
    # IGS site log brux (Brussels, 13101M010), section 2 "Approximate Position (ITRF)":
    #   X coordinate (m)       : 4027881.628
    #   Y coordinate (m)       : 306998.537
    #   Z coordinate (m)       : 4919498.984
    #   Latitude (N is +)      : +504753.03
    #   Longitude (E is +)     : +0042130.83
    #   Elevation (m,ellips.)  : 158.3
    # (the log rounds to 0.01" and 0.1 m, so allow those plus a little)
    lat, lon, h = ecef_to_geodetic([4027881.628, 306998.537, 4919498.984])
    assert abs(np.degrees(lat) - _dms("+504753.03")) * 3600 < 0.01
    assert abs(np.degrees(lon) - _dms("+0042130.83")) * 3600 < 0.01
    assert h == pytest.approx(158.3, abs=0.06)


def _stations():
    path = data_path("stations.csv")
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    return {r["station"]: np.array([float(r["x_m"]), float(r["y_m"]), float(r["z_m"])]) for r in rows}


def test_station_coordinates_against_independent_closed_form():
    stations = _stations()
    xyz = np.array(list(stations.values()))
    for name, (a, f) in {"WGS84": (WGS84_A, WGS84_F), "PZ90": (PZ90_A, PZ90_F)}.items():
        lat, lon, h = ecef_to_geodetic(xyz, ellipsoid=name)
        lat_ref, lon_ref, h_ref = _heikkinen(xyz, a, f)
        assert np.abs(lat - lat_ref).max() * WGS84_A < 0.1 * MM
        assert np.abs(lon - lon_ref).max() * WGS84_A < 0.1 * MM
        assert np.abs(h - h_ref).max() < 0.1 * MM
    # ESBC (Esbjerg) and NYA1 (Ny-Alesund) are where the town names say they are
    lat, lon, h = ecef_to_geodetic(stations["ESBC"])
    assert np.degrees(lat) == pytest.approx(55.49, abs=0.01)
    assert np.degrees(lon) == pytest.approx(8.46, abs=0.01)
    assert 0.0 < h < 100.0
    lat, lon, h = ecef_to_geodetic(stations["NYA1"])
    assert np.degrees(lat) == pytest.approx(78.93, abs=0.01)
    assert np.degrees(lon) == pytest.approx(11.87, abs=0.01)


def test_station_coordinates_against_pyproj():
    pyproj = pytest.importorskip("pyproj")
    stations = _stations()
    xyz = np.array(list(stations.values()))
    tr = pyproj.Transformer.from_crs("EPSG:4978", "EPSG:4979", always_xy=True)
    lon_ref, lat_ref, h_ref = tr.transform(xyz[:, 0], xyz[:, 1], xyz[:, 2])
    lat, lon, h = ecef_to_geodetic(xyz)
    np.testing.assert_allclose(np.degrees(lat), lat_ref, atol=1e-9)
    np.testing.assert_allclose(np.degrees(lon), lon_ref, atol=1e-9)
    np.testing.assert_allclose(h, h_ref, atol=0.1 * MM)


def test_enu_rotation_is_orthonormal_and_points_the_right_way():
    rot = enu_rotation(np.radians(45.0), np.radians(90.0))
    np.testing.assert_allclose(rot @ rot.T, np.eye(3), atol=1e-15)
    # at lon 90 deg east is -x; up at lat 45 is (0, 1, 1)/sqrt2
    np.testing.assert_allclose(rot[0], [-1, 0, 0], atol=1e-15)
    np.testing.assert_allclose(rot[2], [0, np.sqrt(0.5), np.sqrt(0.5)], atol=1e-15)
    assert enu_rotation(np.zeros((2, 4)), 0.0).shape == (2, 4, 3, 3)


def test_enu_round_trip_and_simple_offsets():
    ref = geodetic_to_ecef(np.radians(55.49), np.radians(8.46), 60.0)
    up_point = geodetic_to_ecef(np.radians(55.49), np.radians(8.46), 1060.0)
    np.testing.assert_allclose(ecef_to_enu(up_point, ref), [0, 0, 1000.0], atol=1e-6)
    rng = np.random.default_rng(3)
    enu = rng.normal(scale=1e5, size=(50, 3))
    back = ecef_to_enu(enu_to_ecef(enu, ref), ref)
    np.testing.assert_allclose(back, enu, atol=1e-7)


def test_azimuth_elevation_hand_made_geometry():
    lat0, lon0 = np.radians(55.0), np.radians(8.0)
    rx = geodetic_to_ecef(lat0, lon0, 0.0)
    rot = enu_rotation(lat0, lon0)
    e, n, u = rot
    d = 20_000e3
    sats = np.array(
        [
            rx + d * u,  # zenith
            rx + d * n,  # due north on the horizon
            rx + d * e,  # due east on the horizon
            rx - d * n,  # due south
            rx + d * (-e + u) / np.sqrt(2),  # west at 45 deg
            rx - d * u,  # nadir
        ]
    )
    az, el = azimuth_elevation(rx, sats)
    np.testing.assert_allclose(
        np.degrees(el), [90.0, 0.0, 0.0, 0.0, 45.0, -90.0], atol=1e-9
    )
    np.testing.assert_allclose(np.degrees(az[1:5]), [0.0, 90.0, 180.0, 270.0], atol=1e-9)
    assert np.all((az >= 0) & (az < 2 * np.pi))
    # broadcasting: 2 receivers x 6 satellites
    az2, el2 = azimuth_elevation(np.stack([rx, rx])[:, None, :], sats[None, :, :])
    assert az2.shape == (2, 6)
    np.testing.assert_allclose(el2[1], el)


def test_azimuth_elevation_satellite_above_pole_and_nan():
    rx = geodetic_to_ecef(0.0, 0.0, 0.0)
    az, el = azimuth_elevation(rx, [WGS84_A + 1e7, 0.0, 0.0])
    assert np.degrees(el) == pytest.approx(90.0)
    az, el = azimuth_elevation(rx, [np.nan, 0.0, 0.0])
    assert np.isnan(el)


def test_pz90_11_to_itrf2008_matches_epsg_7960_through_proj():
    # parameters from the EPSG database as pyproj ships it; the Helmert arithmetic by PROJ
    pyproj = pytest.importorskip("pyproj")
    from pyproj.crs import CoordinateOperation

    from satnav.frames import PZ90_11_TO_ITRF2008, itrf_to_pz90_11, pz90_11_to_itrf

    epsg = {p.name: p.value for p in CoordinateOperation.from_epsg(7960).params}
    assert epsg["X-axis translation"] == PZ90_11_TO_ITRF2008["tx"]
    assert epsg["Y-axis translation"] == PZ90_11_TO_ITRF2008["ty"]
    assert epsg["Z-axis translation"] == PZ90_11_TO_ITRF2008["tz"]
    assert epsg["X-axis rotation"] == PZ90_11_TO_ITRF2008["rx_mas"]
    assert epsg["Y-axis rotation"] == PZ90_11_TO_ITRF2008["ry_mas"]
    assert epsg["Z-axis rotation"] == PZ90_11_TO_ITRF2008["rz_mas"]
    assert epsg["Scale difference"] == PZ90_11_TO_ITRF2008["scale_ppm"]
    p = PZ90_11_TO_ITRF2008
    helmert = pyproj.Transformer.from_pipeline(
        f"+proj=helmert +convention=coordinate_frame +x={p['tx']} +y={p['ty']} +z={p['tz']} "
        f"+rx={p['rx_mas'] / 1000} +ry={p['ry_mas'] / 1000} +rz={p['rz_mas'] / 1000} +s={p['scale_ppm']}")
    xyz = np.array([[20e6, 10e6, 15e6], [-5e6, 24e6, -8e6], [3e6, 4e6, 5e6]])
    ref = np.array(helmert.transform(xyz[:, 0], xyz[:, 1], xyz[:, 2])).T
    ours = pz90_11_to_itrf(xyz)
    assert np.max(np.abs(ours - ref)) < 1e-6
    assert 1e-3 < np.max(np.linalg.norm(ours - xyz, axis=1)) < 0.01  # millimetres at GNSS radius
    assert np.max(np.abs(itrf_to_pz90_11(ours) - xyz)) < 1e-6
