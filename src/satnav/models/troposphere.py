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
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "RELATIVE_HUMIDITY",
    "standard_atmosphere",
    "saastamoinen_zenith",
    "saastamoinen_delay",
    "cosecant_mapping",
]

#: Relative humidity assumed by the standard atmosphere (RTKLIB's REL_HUMI).
RELATIVE_HUMIDITY = 0.7


def standard_atmosphere(height_m, relative_humidity=RELATIVE_HUMIDITY):
    """Pressure (hPa), temperature (K) and water-vapour pressure (hPa) of the standard
    atmosphere at ellipsoidal height ``height_m`` (negative heights are taken as 0)."""
    h = np.maximum(np.asarray(height_m, dtype=np.float64), 0.0)
    pressure = 1013.25 * (1.0 - 2.2557e-5 * h) ** 5.2568
    temperature = 15.0 - 6.5e-3 * h + 273.16
    vapour = 6.108 * relative_humidity * np.exp((17.15 * temperature - 4684.0) / (temperature - 38.45))
    return pressure, temperature, vapour


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
    h = np.maximum(np.asarray(height_m, dtype=np.float64), 0.0)
    lat = np.asarray(latitude_rad, dtype=np.float64)
    zhd = 0.0022768 * pressure_hpa / (1.0 - 0.00266 * np.cos(2.0 * lat) - 0.00028 * h / 1e3)
    zwd = 0.002277 * (1255.0 / temperature_k + 0.05) * vapour_hpa
    return zhd, zwd


def cosecant_mapping(elevation_rad):
    """Mapping ``1 / sin(elevation)`` (dimensionless)."""
    return 1.0 / np.sin(np.asarray(elevation_rad, dtype=np.float64))


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
    el = np.asarray(elevation_rad, dtype=np.float64)
    h = np.asarray(height_m, dtype=np.float64)
    h_model = np.clip(h, 0.0, 1.0e4)  # outside: result replaced by 0 below
    pressure, temperature, vapour = standard_atmosphere(h_model, relative_humidity)
    zhd, zwd = saastamoinen_zenith(latitude_rad, h_model, pressure, temperature, vapour)
    ok = (el > 0.0) & (h <= 1.0e4)
    with np.errstate(divide="ignore", invalid="ignore"):
        delay = (zhd + zwd) * cosecant_mapping(el)
    return np.where(ok, delay, np.where(np.isnan(el), np.nan, 0.0))
