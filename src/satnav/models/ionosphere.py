"""Ionospheric delay models: broadcast Klobuchar (GPS, BeiDou) and iono-free combinations.

All functions broadcast over NumPy arrays (typically receiver quantities of shape (m, 1)
against satellite quantities of shape (m, n)). Angles in radians, delays in metres of
group delay (add to the geometric range to model a code pseudorange; the carrier phase is
advanced by the same amount).

Frequency scaling: the first-order ionospheric group delay is proportional to 1/f^2, so a
delay ``d_ref`` computed for the model's reference frequency becomes
``d_ref * (f_ref / f)^2`` on frequency ``f`` (:func:`frequency_scale`). GPS Klobuchar is
referenced to L1 (1575.42 MHz), BeiDou Klobuchar to B1I (1561.098 MHz). For GLONASS FDMA
the scale is per satellite (frequency channel ``k``).

References
----------
- IS-GPS-200N, 20.3.3.5.2.5 and figure 20-4 (single-frequency ionospheric model,
  "Klobuchar").
- BDS-SIS-ICD-B1I-3.0 (2019), 5.2.4.7 (BeiDou 8-parameter ionospheric model).
"""

from __future__ import annotations

import numpy as np

from .._jit import select
from ..constants import FREQ_B1I, FREQ_L1, SPEED_OF_LIGHT

__all__ = [
    "IONO_K",
    "ionex_slant_delay_m",
    "klobuchar_gps",
    "klobuchar_beidou",
    "frequency_scale",
    "ionosphere_free",
    "ionosphere_free_coefficients",
    "NIGHT_DELAY_S",
    "KLOBUCHAR_DEFAULT_ALPHA",
    "KLOBUCHAR_DEFAULT_BETA",
]

#: Constant night-time vertical delay of both Klobuchar models (s).
NIGHT_DELAY_S = 5.0e-9

#: GPS Klobuchar coefficients used when a navigation header has none (RTKLIB's default,
#: broadcast on 2004-01-01): alpha (s, s/sc, s/sc^2, s/sc^3) and beta (s, ...).
KLOBUCHAR_DEFAULT_ALPHA = (0.1118e-07, -0.7451e-08, -0.5961e-07, 0.1192e-06)
KLOBUCHAR_DEFAULT_BETA = (0.1167e06, -0.2294e06, -0.1311e06, 0.1049e07)

_NS_PER_DAY = 86_400 * 1_000_000_000
_BDT_MINUS_GPST_NS = -14 * 1_000_000_000


def _seconds_of_day(gpst_ns, offset_ns=0):
    """Seconds of day (0..86400) of int64 GPST ns (an array or a number), optionally shifted
    to another scale. (The int64 divided by 1e9 is converted to float64 first: exact.)"""
    t = gpst_ns + np.int64(offset_ns)
    return np.mod(t, _NS_PER_DAY) / 1e9


def _polynomial(c, x):
    """sum_n c[n] x^n for 4 coefficients (Horner; ``c`` a float array)."""
    return c[0] + x * (c[1] + x * (c[2] + x * c[3]))


def _coefficients(c):
    return np.asarray(c, dtype=np.float64)


def _float(a):
    return np.asarray(a, dtype=np.float64)


def klobuchar_gps(alpha, beta, latitude_rad, longitude_rad, azimuth_rad, elevation_rad, gpst_ns):
    """Slant ionospheric group delay on GPS L1 (m) from the broadcast Klobuchar model.

    Implements IS-GPS-200 20.3.3.5.2.5 (figure 20-4) exactly: pierce point at 350 km by
    the earth-centred angle approximation, geomagnetic latitude of the pierce point,
    cosine day-time term over a 5 ns night floor, obliquity factor
    ``F = 1 + 16 (0.53 - E)^3`` (E in semicircles).

    Parameters
    ----------
    alpha, beta : sequence of 4 float
        Broadcast coefficients (alpha in s, s/semicircle, ...; beta in s, s/semicircle, ...)
        as in the RINEX navigation header (``GPSA`` / ``GPSB``, RINEX 2 ``ION ALPHA/BETA``).
    latitude_rad, longitude_rad : array_like
        Receiver geodetic latitude and longitude (rad).
    azimuth_rad, elevation_rad : array_like
        Satellite azimuth and elevation seen from the receiver (rad).
    gpst_ns : array_like of int64
        Receive time, GPST ns (only the time of day matters).

    Returns
    -------
    ndarray
        Delay (m) on L1, broadcast shape of the inputs; 0 where the elevation is <= 0
        and NaN where an input is NaN. Scale with :func:`frequency_scale` for other
        frequencies.
    """
    return klobuchar_gps_core(_coefficients(alpha), _coefficients(beta), _float(latitude_rad),
                              _float(longitude_rad), _float(azimuth_rad), _float(elevation_rad),
                              np.asarray(gpst_ns, dtype=np.int64))


def klobuchar_gps_core(alpha, beta, latitude_rad, longitude_rad, azimuth_rad, elevation_rad, gpst_ns):
    """:func:`klobuchar_gps` of float arrays (coefficients float arrays of 4, times int64):
    only operations numba compiles, so that compiled kernels share it (the same bits)."""
    el_sc = elevation_rad / np.pi  # semicircles
    az = azimuth_rad
    phi_u = latitude_rad / np.pi
    lam_u = longitude_rad / np.pi
    # earth-centred angle between user and pierce point (semicircles)
    psi = 0.0137 / (el_sc + 0.11) - 0.022
    # sub-ionospheric latitude (clamped to +-0.416) and longitude (semicircles)
    phi_i = np.minimum(np.maximum(phi_u + psi * np.cos(az), -0.416), 0.416)
    lam_i = lam_u + psi * np.sin(az) / np.cos(phi_i * np.pi)
    # geomagnetic latitude of the pierce point (semicircles)
    phi_m = phi_i + 0.064 * np.cos((lam_i - 1.617) * np.pi)
    # local time at the pierce point (s, 0..86400)
    t = 4.32e4 * lam_i + _seconds_of_day(gpst_ns)
    t = np.mod(t, 86400.0)
    # obliquity factor
    d = 0.53 - el_sc
    f = 1.0 + 16.0 * (d * d * d)  # products, not pow(): ~20x faster per element
    amp = np.maximum(_polynomial(alpha, phi_m), 0.0)
    per = np.maximum(_polynomial(beta, phi_m), 72000.0)
    x = 2.0 * np.pi * (t - 50400.0) / per
    x2 = x * x
    day = NIGHT_DELAY_S + amp * (1.0 - x2 / 2.0 + x2 * x2 / 24.0)
    delay_s = f * select(np.abs(x) < 1.57, day, NIGHT_DELAY_S)
    return select(el_sc > 0.0, SPEED_OF_LIGHT * delay_s, select(np.isnan(el_sc), np.nan, 0.0))


#: BeiDou model constants (BDS-SIS-ICD-B1I 5.2.4.7): mean earth radius and layer height (m).
_BDS_EARTH_RADIUS_M = 6_378_000.0
_BDS_LAYER_HEIGHT_M = 375_000.0


def klobuchar_beidou(alpha, beta, latitude_rad, longitude_rad, azimuth_rad, elevation_rad, gpst_ns):
    """Slant ionospheric group delay on BeiDou B1I (m) from BeiDou's broadcast model.

    BDS-SIS-ICD-B1I-3.0 5.2.4.7. Differences from GPS Klobuchar: the pierce point is at
    375 km from spherical trigonometry (R = 6378 km); the amplitude and period
    polynomials are evaluated at the *geographic* latitude of the pierce point (absolute
    value, semicircles), not the geomagnetic one; the period is clamped to
    [72000, 172800] s; the night term is 5 ns; the cosine is used exactly (not its
    series) while ``|t - 50400| < A4 / 4``; the mapping is
    ``1 / sqrt(1 - (R / (R + h) cos E)^2)``; local time is BDT seconds of day
    (BDT = GPST - 14 s); the result refers to B1I.

    Parameters
    ----------
    alpha, beta : sequence of 4 float
        BeiDou broadcast coefficients (RINEX ``BDSA`` / ``BDSB``), same units as GPS.
    latitude_rad, longitude_rad, azimuth_rad, elevation_rad : array_like
        Receiver geodetic latitude/longitude and satellite azimuth/elevation (rad).
    gpst_ns : array_like of int64
        Receive time, GPST ns.

    Returns
    -------
    ndarray
        Delay (m) on B1I (1561.098 MHz); 0 where the elevation is <= 0.
    """
    return klobuchar_beidou_core(_coefficients(alpha), _coefficients(beta), _float(latitude_rad),
                                 _float(longitude_rad), _float(azimuth_rad), _float(elevation_rad),
                                 np.asarray(gpst_ns, dtype=np.int64))


def klobuchar_beidou_core(alpha, beta, latitude_rad, longitude_rad, azimuth_rad, elevation_rad, gpst_ns):
    """:func:`klobuchar_beidou` of float arrays (coefficients float arrays of 4, times
    int64): only operations numba compiles, so that compiled kernels share it."""
    el = elevation_rad
    az = azimuth_rad
    phi_u = latitude_rad
    lam_u = longitude_rad
    ratio_cos_el = _BDS_EARTH_RADIUS_M / (_BDS_EARTH_RADIUS_M + _BDS_LAYER_HEIGHT_M) * np.cos(el)
    psi = np.pi / 2.0 - el - np.arcsin(ratio_cos_el)  # earth-centred angle (rad)
    phi_m = np.arcsin(np.sin(phi_u) * np.cos(psi) + np.cos(phi_u) * np.sin(psi) * np.cos(az))
    lam_m = lam_u + np.arcsin(np.sin(psi) * np.sin(az) / np.cos(phi_m))
    t = np.mod(_seconds_of_day(gpst_ns, _BDT_MINUS_GPST_NS) + lam_m * 43200.0 / np.pi, 86400.0)
    phi_sc = np.abs(phi_m / np.pi)
    a2 = np.maximum(_polynomial(alpha, phi_sc), 0.0)
    a4 = np.minimum(np.maximum(_polynomial(beta, phi_sc), 72000.0), 172800.0)
    dt = t - 50400.0
    vertical = select(
        np.abs(dt) < a4 / 4.0, NIGHT_DELAY_S + a2 * np.cos(2.0 * np.pi * dt / a4), NIGHT_DELAY_S
    )
    slant_s = vertical / np.sqrt(1.0 - ratio_cos_el**2)
    return select(el > 0.0, SPEED_OF_LIGHT * slant_s, select(np.isnan(el), np.nan, 0.0))


def frequency_scale(frequency_hz, reference_hz=FREQ_L1):
    """Factor ``(f_ref / f)^2`` turning a first-order ionospheric delay on ``reference_hz``
    into the delay on ``frequency_hz`` (both Hz; broadcast). Default reference: GPS L1."""
    f = np.asarray(frequency_hz, dtype=np.float64)
    return (np.asarray(reference_hz, dtype=np.float64) / f) ** 2


def ionosphere_free_coefficients(f1_hz, f2_hz):
    """Coefficients ``(c1, c2)`` of the first-order iono-free combination
    ``c1 * P1 + c2 * P2`` with ``c1 = f1^2 / (f1^2 - f2^2)``, ``c2 = -f2^2 / (f1^2 - f2^2)``
    (``c1 + c2 = 1``)."""
    f1s = np.asarray(f1_hz, dtype=np.float64) ** 2
    f2s = np.asarray(f2_hz, dtype=np.float64) ** 2
    d = f1s - f2s
    return f1s / d, -f2s / d


def ionosphere_free(p1, p2, f1_hz, f2_hz):
    """First-order ionosphere-free combination of two code (m) or phase-range (m)
    observables on frequencies ``f1_hz`` and ``f2_hz`` (Hz). Broadcasts; NaN propagates.
    The noise is amplified (about 3x for GPS L1/L2)."""
    c1, c2 = ionosphere_free_coefficients(f1_hz, f2_hz)
    return c1 * np.asarray(p1, dtype=np.float64) + c2 * np.asarray(p2, dtype=np.float64)


# Note: BeiDou B1I reference frequency re-exported for callers scaling BeiDou delays.
B1I_REFERENCE_HZ = FREQ_B1I


#: First-order ionospheric constant: group delay (m) = IONO_K * TEC (electrons/m^2) / f^2 (Hz).
IONO_K = 40.3


def ionex_slant_delay_m(maps, time_ns, latitude_rad, longitude_rad, azimuth_rad, elevation_rad, frequency_hz):
    """First-order slant ionospheric group delay (m) from global ionosphere maps
    (:class:`satnav.io.ionex.IonexMaps`), single-layer model (IONEX 1.0, Schaer 1999):

    pierce point on a sphere of radius ``R + H`` (the maps' base radius and layer height):
    ``sin z' = R / (R + H) sin z`` (z the zenith angle at the receiver), Earth-central angle
    ``a = z - z'``, ``lat_p = asin(sin lat cos a + cos lat sin a cos az)``,
    ``lon_p = lon + asin(sin a sin az / cos lat_p)``; slant TEC = ``VTEC(t, lat_p, lon_p) /
    cos z'``; delay ``40.3 STEC / f^2`` (TEC in electrons/m^2, 1 TECU = 1e16). Add it to
    the code, subtract it from the phase. NaN where the maps have no value.
    """
    el = np.asarray(elevation_rad, dtype=np.float64)
    az = np.asarray(azimuth_rad, dtype=np.float64)
    lat = np.asarray(latitude_rad, dtype=np.float64)
    lon = np.asarray(longitude_rad, dtype=np.float64)
    r, h = maps.base_radius_m, maps.height_m
    z = np.pi / 2 - el
    zp = np.arcsin(r / (r + h) * np.sin(z))
    a = z - zp
    lat_p = np.arcsin(np.clip(np.sin(lat) * np.cos(a) + np.cos(lat) * np.sin(a) * np.cos(az), -1, 1))
    lon_p = lon + np.arcsin(np.clip(np.sin(a) * np.sin(az) / np.cos(lat_p), -1, 1))
    vtec = maps.vertical_tec(time_ns, lat_p, lon_p)
    return IONO_K * vtec * 1e16 / np.cos(zp) / np.asarray(frequency_hz, dtype=np.float64) ** 2

