"""Tropospheric delay: Saastamoinen zenith delays with a standard atmosphere, and mapping.

The model is the one RTKLIB uses for single point positioning (``tropmodel`` with
relative humidity 0.7), so that solutions compare one to one:

* standard atmosphere at ellipsoidal height ``h`` (m, clipped at 0):
  ``p = 1013.25 (1 - 2.2557e-5 h)^5.2568`` hPa, ``T = 15 - 6.5e-3 h + 273.16`` K,
  water-vapour pressure ``e = 6.108 RH exp((17.15 T - 4684) / (T - 38.45))`` hPa;
* Saastamoinen (1972) zenith hydrostatic delay
  ``0.0022768 p / (1 - 0.00266 cos 2 phi - 0.00028 h_km)`` m and zenith wet delay
  ``0.002277 (1255 / T + 0.05) e`` m;
* mapping by ``1 / cos z = 1 / sin(elevation)`` for both parts (RTKLIB's SPP choice:
  adequate above the usual 10-15 degree masks, about 1-2 % too large at 5 degrees
  compared with Niell's mapping functions).

References: J. Saastamoinen, "Atmospheric correction for the troposphere and
stratosphere in radio ranging of satellites", Geophysical Monograph 15, AGU, 1972;
T. Takasu, RTKLIB 2.4.2 manual, appendix E.5 (standard atmosphere and model).

For precise point positioning: the Global Pressure and Temperature model GPT (Boehm et al.
2007, :func:`gpt`: pressure, temperature and geoid undulation from degree-9 spherical
harmonics with an annual term; the a priori of the zenith hydrostatic delay, IERS
Conventions 2010 ch. 9), the Global Mapping Function GMF (Boehm et al. 2006,
:func:`gmf_mapping`, the IERS 2010 recommendation when no numerical-weather-model VMF1 is
at hand), Niell's (1996) hydrostatic and wet mapping functions (:func:`niell_mapping`, kept
as an option: NMF differs from GMF by up to ~1 cm in slant delay at 5 degrees, a few mm in
height at a 10 degree mask, with a latitude/season pattern) and the Chen-Herring gradient
mapping (:func:`gradient_mapping`).
"""

from __future__ import annotations

import numpy as np

from .._jit import select

__all__ = [
    "RELATIVE_HUMIDITY",
    "standard_atmosphere",
    "water_vapour_pressure",
    "saastamoinen_zenith",
    "saastamoinen_delay",
    "cosecant_mapping",
    "niell_mapping",
    "gpt",
    "gmf_mapping",
    "gradient_mapping",
]

#: Relative humidity assumed by the standard atmosphere (RTKLIB's REL_HUMI).
RELATIVE_HUMIDITY = 0.7


def standard_atmosphere(height_m, relative_humidity=RELATIVE_HUMIDITY):
    """Pressure (hPa), temperature (K) and water-vapour pressure (hPa) of the standard
    atmosphere at ellipsoidal height ``height_m`` (negative heights are taken as 0)."""
    return _standard_atmosphere(np.asarray(height_m, dtype=np.float64), relative_humidity)


def _standard_atmosphere(height_m, relative_humidity):
    h = np.maximum(height_m, 0.0)
    pressure = 1013.25 * (1.0 - 2.2557e-5 * h) ** 5.2568
    temperature = 15.0 - 6.5e-3 * h + 273.16
    return pressure, temperature, _water_vapour_pressure(temperature, relative_humidity)


def water_vapour_pressure(temperature_k, relative_humidity=RELATIVE_HUMIDITY):
    """Partial pressure of water vapour (hPa) at ``temperature_k`` (K) and relative humidity
    0..1: ``6.108 RH exp((17.15 T - 4684) / (T - 38.45))`` (RTKLIB manual E.5)."""
    return _water_vapour_pressure(np.asarray(temperature_k, dtype=np.float64), relative_humidity)


def _water_vapour_pressure(t, relative_humidity):
    return 6.108 * relative_humidity * np.exp((17.15 * t - 4684.0) / (t - 38.45))


def saastamoinen_zenith(latitude_rad, height_m, pressure_hpa, temperature_k, vapour_hpa):
    """Saastamoinen zenith hydrostatic and wet delays (m).

    Parameters
    ----------
    latitude_rad, height_m : array_like
        Geodetic latitude (rad) and height (m, negative taken as 0).
    pressure_hpa, temperature_k, vapour_hpa : array_like
        Surface pressure (hPa), temperature (K) and water-vapour partial pressure (hPa).

    Returns
    -------
    zhd_m, zwd_m : ndarray
    """
    return _saastamoinen_zenith(np.asarray(latitude_rad, dtype=np.float64), np.asarray(height_m, dtype=np.float64),
                                pressure_hpa, temperature_k, vapour_hpa)


def _saastamoinen_zenith(lat, height_m, pressure_hpa, temperature_k, vapour_hpa):
    h = np.maximum(height_m, 0.0)
    zhd = 0.0022768 * pressure_hpa / (1.0 - 0.00266 * np.cos(2.0 * lat) - 0.00028 * h / 1e3)
    zwd = 0.002277 * (1255.0 / temperature_k + 0.05) * vapour_hpa
    return zhd, zwd


def cosecant_mapping(elevation_rad):
    """Mapping ``1 / sin(elevation)`` (dimensionless)."""
    return _cosecant(np.asarray(elevation_rad, dtype=np.float64))


def _cosecant(elevation_rad):
    return 1.0 / np.sin(elevation_rad)


def saastamoinen_delay(latitude_rad, height_m, elevation_rad, relative_humidity=RELATIVE_HUMIDITY):
    """Slant tropospheric delay (m) from Saastamoinen with the standard atmosphere.

    Parameters
    ----------
    latitude_rad : array_like
        Receiver geodetic latitude (rad).
    height_m : array_like
        Receiver ellipsoidal height (m).
    elevation_rad : array_like
        Satellite elevation (rad); broadcast with the receiver quantities.
    relative_humidity : float
        0..1 (default 0.7).

    Returns
    -------
    ndarray
        Delay (m). 0 where the elevation is <= 0 or the height is above 10 km (the
        standard atmosphere does not apply there, as in RTKLIB); NaN where the elevation
        is NaN. Heights below 0 are evaluated at 0 m. (RTKLIB returns 0 below -100 m; that
        step of several metres made iterations oscillate when a faulty measurement pulled
        a solution below -100 m, so the delay is kept continuous here.)
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        return saastamoinen_core(np.asarray(latitude_rad, dtype=np.float64), np.asarray(height_m, dtype=np.float64),
                                 np.asarray(elevation_rad, dtype=np.float64), relative_humidity)


def saastamoinen_core(latitude_rad, height_m, elevation_rad, relative_humidity):
    """:func:`saastamoinen_delay` of float arrays: only operations numba compiles, so that
    compiled kernels share it (the same bits)."""
    el = elevation_rad
    h = height_m
    h_model = np.minimum(np.maximum(h, 0.0), 1.0e4)  # outside: result replaced by 0 below
    pressure, temperature, vapour = _standard_atmosphere(h_model, relative_humidity)
    zhd, zwd = _saastamoinen_zenith(latitude_rad, h_model, pressure, temperature, vapour)
    ok = (el > 0.0) & (h <= 1.0e4)
    delay = (zhd + zwd) * _cosecant(el)
    return select(ok, delay, select(np.isnan(el), np.nan, 0.0))


# --------------------------------------------------------------------------- Niell (1996)
#: Niell (1996) coefficients at latitudes 15, 30, 45, 60, 75 degrees: hydrostatic average
#: and seasonal amplitude (a, b, c), wet (a, b, c); height correction (a, b, c). A. E. Niell,
#: "Global mapping functions for the atmosphere delay at radio wavelengths", J. Geophys.
#: Res. 101(B2), 1996, table 3 (also IERS Technical Note 32, 2004, ch. 9).
_NMF_LAT_DEG = np.array([15.0, 30.0, 45.0, 60.0, 75.0])
_NMF_HYD_AVG = np.array([
    [1.2769934e-3, 1.2683230e-3, 1.2465397e-3, 1.2196049e-3, 1.2045996e-3],
    [2.9153695e-3, 2.9152299e-3, 2.9288445e-3, 2.9022565e-3, 2.9024912e-3],
    [62.610505e-3, 62.837393e-3, 63.721774e-3, 63.824265e-3, 64.258455e-3],
])
_NMF_HYD_AMP = np.array([
    [0.0, 1.2709626e-5, 2.6523662e-5, 3.4000452e-5, 4.1202191e-5],
    [0.0, 2.1414979e-5, 3.0160779e-5, 7.2562722e-5, 11.723375e-5],
    [0.0, 9.0128400e-5, 4.3497037e-5, 84.795348e-5, 170.37206e-5],
])
_NMF_WET = np.array([
    [5.8021897e-4, 5.6794847e-4, 5.8118019e-4, 5.9727542e-4, 6.1641693e-4],
    [1.4275268e-3, 1.5138625e-3, 1.4572752e-3, 1.5007428e-3, 1.7599082e-3],
    [4.3472961e-2, 4.6729510e-2, 4.3908931e-2, 4.4626982e-2, 5.4736038e-2],
])
_NMF_HEIGHT = (2.53e-5, 5.49e-3, 1.14e-3)


def _marini(sin_el, a, b, c):
    """Marini's continued fraction normalised to 1 at zenith (Herring 1992 form)."""
    return (1.0 + a / (1.0 + b / (1.0 + c))) / (sin_el + a / (sin_el + b / (sin_el + c)))


def niell_mapping(latitude_rad, height_m, elevation_rad, day_of_year):
    """Niell (1996) hydrostatic and wet mapping functions (dimensionless).

    Parameters
    ----------
    latitude_rad, height_m : array_like
        Receiver geodetic latitude (rad) and height (m), broadcast with the elevations.
    elevation_rad : array_like
    day_of_year : float
        Day of year (1.0 = 1 January 0h UT), for the hydrostatic seasonal term (phase
        28 days, half a year later in the southern hemisphere).

    Returns
    -------
    hydrostatic, wet : ndarray
        Mapping factors (about 1 at zenith, ~5.5 at 10 degrees, ~10 at 5 degrees).
    """
    lat = np.asarray(latitude_rad, dtype=np.float64)
    el = np.asarray(elevation_rad, dtype=np.float64)
    lat_deg = np.abs(np.degrees(lat))
    phase = (np.asarray(day_of_year, dtype=np.float64) - 28.0) / 365.25
    season = np.cos(2.0 * np.pi * (phase + np.where(lat < 0, 0.5, 0.0)))
    coef_h = [np.interp(lat_deg, _NMF_LAT_DEG, _NMF_HYD_AVG[i]) - np.interp(lat_deg, _NMF_LAT_DEG, _NMF_HYD_AMP[i])
              * season for i in range(3)]
    coef_w = [np.interp(lat_deg, _NMF_LAT_DEG, _NMF_WET[i]) for i in range(3)]
    sin_el = np.sin(el)
    hydro = _marini(sin_el, *coef_h)
    height_km = np.asarray(height_m, dtype=np.float64) / 1e3
    hydro = hydro + (1.0 / sin_el - _marini(sin_el, *_NMF_HEIGHT)) * height_km
    return hydro, _marini(sin_el, *coef_w)


# ------------------------------------------------------------- GPT (2007) and GMF (2006)
#: Day-of-year origin of GPT/GMF (and Niell): 28 January 1980 = MJD 44239 + 28 - 1.
_DOY_ORIGIN_MJD = 44239.0 - 1.0 + 28.0


def _harmonics(latitude_rad, longitude_rad):
    """The 55 terms ``P_nm(sin lat) cos(m lon)`` and ``P_nm(sin lat) sin(m lon)``
    (n = 0..9, m = 0..n; unnormalised, no Condon-Shortley phase), each (55, ...)."""
    lat = np.asarray(latitude_rad, dtype=np.float64)
    lon = np.asarray(longitude_rad, dtype=np.float64)
    t = np.sin(lat)
    c = np.cos(lat)  # sqrt(1 - t^2) >= 0
    p = {(0, 0): np.ones_like(t)}
    for m in range(1, 10):  # sectorial: P_mm = (2m - 1) cos(lat) P_m-1,m-1
        p[(m, m)] = (2 * m - 1) * c * p[(m - 1, m - 1)]
    for m in range(0, 10):  # P_m+1,m and the recursion up in n
        if m + 1 <= 9:
            p[(m + 1, m)] = (2 * m + 1) * t * p[(m, m)]
        for n in range(m + 2, 10):
            p[(n, m)] = ((2 * n - 1) * t * p[(n - 1, m)] - (n + m - 1) * p[(n - 2, m)]) / (n - m)
    cos_terms, sin_terms = [], []
    for n in range(10):
        for m in range(n + 1):
            cos_terms.append(p[(n, m)] * np.cos(m * lon))
            sin_terms.append(p[(n, m)] * np.sin(m * lon))
    return np.stack(cos_terms), np.stack(sin_terms)


def _expand(tables_a, tables_b, harmonics):
    cos_terms, sin_terms = harmonics
    return np.tensordot(tables_a, cos_terms, axes=(0, 0)) + np.tensordot(tables_b, sin_terms, axes=(0, 0))


def gpt(mjd, latitude_rad, longitude_rad, height_m):
    """Global Pressure and Temperature (GPT, Boehm, Heinkelmann and Schuh 2007, J. Geodesy
    81: 679-683; IERS Conventions 2010 ch. 9).

    Parameters
    ----------
    mjd : array_like
        Modified Julian Date (days; the annual terms have their maximum on 28 January).
    latitude_rad, longitude_rad, height_m : array_like
        Geodetic latitude, longitude (rad) and ellipsoidal height (m); broadcast together.

    Returns
    -------
    pressure_hpa, temperature_k, undulation_m : ndarray
        Surface pressure (hPa) and temperature (K) at the station's orthometric height
        ``H = h - N`` (``p = p0 (1 - 2.26e-5 H)^5.225``, ``T = T0 - 6.5e-3 H``), and the
        geoid undulation ``N`` (m) of the model's 9x9 EGM.
    """
    from . import _gpt_gmf_tables as tab

    harm = _harmonics(latitude_rad, longitude_rad)
    annual = np.cos((np.asarray(mjd, dtype=np.float64) - _DOY_ORIGIN_MJD) / 365.25 * 2.0 * np.pi)
    undulation = _expand(tab.GEOID_A, tab.GEOID_B, harm)
    h_ortho = np.asarray(height_m, dtype=np.float64) - undulation
    p0 = _expand(tab.PRESSURE_MEAN_A, tab.PRESSURE_MEAN_B, harm) + _expand(tab.PRESSURE_AMP_A, tab.PRESSURE_AMP_B,
                                                                             harm) * annual
    t0 = _expand(tab.TEMPERATURE_MEAN_A, tab.TEMPERATURE_MEAN_B, harm) \
        + _expand(tab.TEMPERATURE_AMP_A, tab.TEMPERATURE_AMP_B, harm) * annual
    pressure = p0 * (1.0 - 2.26e-5 * h_ortho) ** 5.225
    temperature = t0 - 6.5e-3 * h_ortho + 273.15
    return pressure, temperature, undulation


def gmf_mapping(mjd, latitude_rad, longitude_rad, height_m, elevation_rad):
    """Global Mapping Function (GMF, Boehm, Niell, Tregoning and Schuh 2006, GRL 33, L07304;
    IERS Conventions 2010 ch. 9): hydrostatic and wet mapping factors (dimensionless).

    The ``a`` coefficients come from degree-9 spherical harmonics (mean + annual term,
    :mod:`satnav.models._gpt_gmf_tables`); ``b`` and ``c`` are those of VMF1 (hydrostatic
    ``b = 0.0029``, ``c = 0.062 + ((cos(2 pi doy / 365.25 + psi) + 1) c11 / 2 + c10)
    (1 - cos lat)`` with ``c11, c10, psi = 0.005, 0.001, 0`` north and ``0.007, 0.002, pi``
    south; wet ``b = 0.00146``, ``c = 0.04391``), in Marini's continued fraction
    normalised at zenith, plus Niell's (1996) height correction of the hydrostatic part.

    Parameters
    ----------
    mjd : array_like
        Modified Julian Date (days).
    latitude_rad, longitude_rad : array_like
        Geodetic latitude and longitude (rad).
    height_m : array_like
        Station height (m) above mean sea level for the height correction (the IERS
        routine's argument; :func:`gpt` gives the undulation to take off an ellipsoidal
        height).
    elevation_rad : array_like
        Satellite elevation (rad); all arguments broadcast together.

    Returns
    -------
    hydrostatic, wet : ndarray
    """
    from . import _gpt_gmf_tables as tab

    lat = np.asarray(latitude_rad, dtype=np.float64)
    harm = _harmonics(lat, longitude_rad)
    season = (np.asarray(mjd, dtype=np.float64) - _DOY_ORIGIN_MJD) / 365.25 * 2.0 * np.pi
    south = lat < 0.0
    c11 = np.where(south, 0.007, 0.005)
    c10 = np.where(south, 0.002, 0.001)
    psi = np.where(south, np.pi, 0.0)
    ch = 0.062 + ((np.cos(season + psi) + 1.0) * c11 / 2.0 + c10) * (1.0 - np.cos(lat))
    ah = (_expand(tab.HYDRO_MEAN_A, tab.HYDRO_MEAN_B, harm)
          + _expand(tab.HYDRO_AMP_A, tab.HYDRO_AMP_B, harm) * np.cos(season)) * 1e-5
    aw = (_expand(tab.WET_MEAN_A, tab.WET_MEAN_B, harm)
          + _expand(tab.WET_AMP_A, tab.WET_AMP_B, harm) * np.cos(season)) * 1e-5
    sin_el = np.sin(np.asarray(elevation_rad, dtype=np.float64))
    hydro = _marini(sin_el, ah, 0.0029, ch)
    height_km = np.asarray(height_m, dtype=np.float64) / 1e3
    hydro = hydro + (1.0 / sin_el - _marini(sin_el, *_NMF_HEIGHT)) * height_km
    return hydro, _marini(sin_el, aw, 0.00146, 0.04391)


def gradient_mapping(elevation_rad, azimuth_rad):
    """Partial derivatives of the slant delay w.r.t. the north and east gradients (Chen and
    Herring 1997: ``m_g = 1 / (sin e tan e + 0.0032)``): ``(m_g cos az, m_g sin az)``."""
    el = np.asarray(elevation_rad, dtype=np.float64)
    az = np.asarray(azimuth_rad, dtype=np.float64)
    mg = 1.0 / (np.sin(el) * np.tan(el) + 0.0032)
    return mg * np.cos(az), mg * np.sin(az)
