"""Ionosphere models against the ICD algorithms written out step by step (scalar math,
following the ICD text literally) and against hand-computed constants."""

from __future__ import annotations

import math

import numpy as np
import pytest

from satnav.models.ionosphere import (
    frequency_scale,
    ionosphere_free,
    ionosphere_free_coefficients,
    klobuchar_beidou,
    klobuchar_gps,
)

C = 299792458.0
# ESBC00DNK_R_20201770000_01D_MN.rnx header:
# "GPSA   4.6566e-09  1.4901e-08 -5.9605e-08 -1.1921E-07       IONOSPHERIC CORR"
# "GPSB   8.1920e+04  9.8304e+04 -6.5536e+04 -5.2429E+05       IONOSPHERIC CORR"
GPSA = (4.6566e-09, 1.4901e-08, -5.9605e-08, -1.1921e-07)
GPSB = (8.1920e04, 9.8304e04, -6.5536e04, -5.2429e05)
# BRDM00DLR_S_20230730000_01D_MN.rnx header:
# "BDSA   3.3528e-08  6.7055e-08 -1.0133e-06  1.6093e-06       IONOSPHERIC CORR"
# "BDSB   1.1878e+05  3.2768e+04  7.8643e+05 -7.8643e+05       IONOSPHERIC CORR"
BDSA = (3.3528e-08, 6.7055e-08, -1.0133e-06, 1.6093e-06)
BDSB = (1.1878e05, 3.2768e04, 7.8643e05, -7.8643e05)


def icd_gps(alpha, beta, lat_deg, lon_deg, az_deg, el_deg, gps_seconds_of_week):
    """IS-GPS-200 20.3.3.5.2.5 / figure 20-4, one satellite, in the ICD's semicircles."""
    phi_u = lat_deg / 180.0
    lam_u = lon_deg / 180.0
    a = math.radians(az_deg)
    e = el_deg / 180.0
    psi = 0.0137 / (e + 0.11) - 0.022
    phi_i = phi_u + psi * math.cos(a)
    if phi_i > 0.416:
        phi_i = 0.416
    if phi_i < -0.416:
        phi_i = -0.416
    lam_i = lam_u + psi * math.sin(a) / math.cos(phi_i * math.pi)
    phi_m = phi_i + 0.064 * math.cos((lam_i - 1.617) * math.pi)
    t = 4.32e4 * lam_i + gps_seconds_of_week
    while t >= 86400.0:
        t -= 86400.0
    while t < 0.0:
        t += 86400.0
    f = 1.0 + 16.0 * (0.53 - e) ** 3
    amp = sum(alpha[n] * phi_m**n for n in range(4))
    if amp < 0:
        amp = 0.0
    per = sum(beta[n] * phi_m**n for n in range(4))
    if per < 72000:
        per = 72000.0
    x = 2 * math.pi * (t - 50400) / per
    if abs(x) < 1.57:
        t_iono = f * (5.0e-9 + amp * (1 - x**2 / 2 + x**4 / 24))
    else:
        t_iono = f * 5.0e-9
    return t_iono * C


def icd_beidou(alpha, beta, lat_deg, lon_deg, az_deg, el_deg, bdt_seconds_of_day):
    """BDS-SIS-ICD-B1I-3.0 5.2.4.7, one satellite (R = 6378 km, h = 375 km)."""
    r, h = 6378.0, 375.0
    phi_u, lam_u = math.radians(lat_deg), math.radians(lon_deg)
    a, e = math.radians(az_deg), math.radians(el_deg)
    psi = math.pi / 2 - e - math.asin(r / (r + h) * math.cos(e))
    phi_m = math.asin(math.sin(phi_u) * math.cos(psi) + math.cos(phi_u) * math.sin(psi) * math.cos(a))
    lam_m = lam_u + math.asin(math.sin(psi) * math.sin(a) / math.cos(phi_m))
    t = (bdt_seconds_of_day + lam_m * 43200 / math.pi) % 86400
    pm = abs(phi_m / math.pi)
    a2 = sum(alpha[n] * pm**n for n in range(4))
    if a2 < 0:
        a2 = 0.0
    a4 = sum(beta[n] * pm**n for n in range(4))
    if a4 >= 172800:
        a4 = 172800.0
    if a4 < 72000:
        a4 = 72000.0
    if abs(t - 50400) < a4 / 4:
        iz = 5e-9 + a2 * math.cos(2 * math.pi * (t - 50400) / a4)
    else:
        iz = 5e-9
    return C * iz / math.sqrt(1 - (r / (r + h) * math.cos(e)) ** 2)


# Geometries: Esbjerg (55.5 N, 8.4 E), Svalbard (79 N: latitude clamp), Japan, southern
# hemisphere and a western longitude; several azimuths, elevations, times of day.
GEOMETRIES = [
    (55.5, 8.4, 0.0, 90.0),
    (55.5, 8.4, 135.0, 10.0),
    (78.9, 11.9, 10.0, 15.0),
    (35.7, 139.8, 250.0, 35.0),
    (-33.9, 151.2, 300.0, 62.0),
    (40.0, -105.0, 45.0, 5.0),
]
TIMES_S = [0.0, 21600.0, 43200.0, 50400.0, 61200.0, 80000.0]  # seconds of day
WEEK_START_NS = 2111 * 604800 * 10**9  # GPS week 2111 (2020-06-21)


@pytest.mark.parametrize("lat,lon,az,el", GEOMETRIES)
def test_klobuchar_gps_matches_icd_step_by_step(lat, lon, az, el):
    day = 4  # Thursday of the week: the seconds of week, not of day, enter the ICD formula
    for sod in TIMES_S:
        ns = WEEK_START_NS + int((day * 86400 + sod) * 1e9)
        got = klobuchar_gps(GPSA, GPSB, math.radians(lat), math.radians(lon), math.radians(az), math.radians(el), ns)
        want = icd_gps(GPSA, GPSB, lat, lon, az, el, day * 86400 + sod)
        assert got == pytest.approx(want, rel=1e-12, abs=1e-9)


def test_klobuchar_gps_vectorized_and_night_floor():
    lat, lon = np.radians(55.5), np.radians(8.4)
    el = np.radians([[90.0, 30.0, 10.0, -5.0]])
    az = np.radians([[0.0, 90.0, 200.0, 10.0]])
    t = np.array([[WEEK_START_NS + 2 * 3600 * 10**9]])  # 02:00 local: night everywhere near
    d = klobuchar_gps(GPSA, GPSB, lat, lon, az, el, t)
    assert d.shape == (1, 4)
    # Night at the zenith: F * 5 ns * c with F = 1 + 16 (0.53 - 0.5)^3 = 1.000432
    assert d[0, 0] == pytest.approx(1.000432 * 5e-9 * C, rel=1e-9)
    assert d[0, 3] == 0.0  # below the horizon
    assert np.all(np.diff(d[0, :3]) > 0)  # lower elevation: longer slant path


@pytest.mark.parametrize("lat,lon,az,el", GEOMETRIES)
def test_klobuchar_beidou_matches_icd_step_by_step(lat, lon, az, el):
    for sod in TIMES_S:
        ns = WEEK_START_NS + int((3 * 86400 + sod) * 1e9)
        got = klobuchar_beidou(BDSA, BDSB, math.radians(lat), math.radians(lon), math.radians(az), math.radians(el), ns)
        # BDT = GPST - 14 s
        want = icd_beidou(BDSA, BDSB, lat, lon, az, el, (sod - 14.0) % 86400)
        assert got == pytest.approx(want, rel=1e-12, abs=1e-9)


def test_beidou_model_differs_from_gps_model():
    """Same coefficients, same geometry: the two ICD models must not agree. In the southern
    hemisphere BeiDou evaluates its polynomials at |geographic latitude| (symmetric about
    the equator) where GPS uses the signed geomagnetic latitude."""
    args = (math.radians(-33.9), math.radians(151.2), math.radians(300.0), math.radians(62.0))
    ns = WEEK_START_NS  # 00:00 GPST = 10:00 local time in Sydney
    g = klobuchar_gps(BDSA, BDSB, *args, ns)
    b = klobuchar_beidou(BDSA, BDSB, *args, ns)
    assert b > 3 * g


def test_frequency_scale_and_iono_free():
    # (f_L1/f_L2)^2 = (154/120)^2 = 1.646944...
    assert frequency_scale(1227.60e6) == pytest.approx((154 / 120) ** 2, rel=1e-14)
    # GLONASS G1 channel k = -7: 1598.0625 MHz
    assert frequency_scale(1602e6 - 7 * 0.5625e6) == pytest.approx((1575.42 / 1598.0625) ** 2)
    f1, f2 = 1575.42e6, 1227.60e6
    c1, c2 = ionosphere_free_coefficients(f1, f2)
    assert c1 == pytest.approx(2.545727780, rel=1e-9)  # 154^2 / (154^2 - 120^2)
    assert c1 + c2 == pytest.approx(1.0)
    rho, iono = 22_000_000.0, 7.3
    p1 = rho + iono
    p2 = rho + iono * (f1 / f2) ** 2
    assert ionosphere_free(p1, p2, f1, f2) == pytest.approx(rho, abs=1e-6)
    assert np.isnan(ionosphere_free(np.nan, p2, f1, f2))
