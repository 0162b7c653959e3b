"""Earth orientation: the IERS 2010 transformation between the celestial (GCRS) and the
terrestrial (ITRS) frame, with Earth orientation parameters (EOP).

- Precession-nutation IAU 2006/2000A, Earth rotation angle and polar motion through the SOFA
  routines of ``pyerfa`` (``erfa.c2t06a``), i.e. IERS Conventions (2010) chapter 5, CIO-based.
- EOP (polar motion x_p, y_p; UT1-UTC) from the IERS 20 C04 series shipped offline by the
  ``astropy-iers-data`` package (``eopc04.1962-now``, daily at 0h UTC), linearly interpolated;
  outside the table (future dates) the last values are held and :func:`eop_at` says so through
  its ``extrapolated`` flag. The ocean-tide diurnal/semidiurnal EOP variations (IERS 2010
  sec. 8.2; up to ~0.5 mas and ~50 us, centimetres at GNSS radius) are added on request
  (``subdaily=True``, what precise orbit work uses); the libration terms (< 30 uas) are not.
- Time: engine time is int64 ns GPST; TT = GPST + 51.184 s (TAI = GPST + 19 s);
  UTC = GPST - leap seconds (:func:`satnav.gnss_time.leap_seconds_at_gpst`).

All positions in metres; rotation matrices map GCRS vectors to ITRS: ``r_itrs = R @ r_gcrs``.
``pyerfa`` and ``astropy-iers-data`` are imported on first use (extra ``dynamics``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ..errors import SatnavError
from ..gnss_time import leap_seconds_at_gpst

__all__ = [
    "EarthOrientation",
    "eop_at",
    "julian_dates",
    "gcrs_to_itrs_matrix",
    "gcrs_to_itrs",
    "itrs_to_gcrs",
]

NS_PER_S = 1_000_000_000
GPS_EPOCH_MJD = 44244.0  # 1980-01-06 00:00 (GPST) as a Modified Julian Date
TT_MINUS_GPST_S = 51.184  # TT - TAI = 32.184 s, TAI - GPST = 19 s
ARCSEC = np.pi / (180.0 * 3600.0)
MJD_ZERO_JD = 2400000.5


@dataclass(frozen=True)
class EarthOrientation:
    """Earth orientation parameters at given epochs: polar motion ``xp_rad``, ``yp_rad`` (rad),
    ``ut1_utc_s`` (s); ``extrapolated`` is True where the epoch is outside the EOP table."""

    xp_rad: np.ndarray
    yp_rad: np.ndarray
    ut1_utc_s: np.ndarray
    extrapolated: np.ndarray


@lru_cache(maxsize=1)
def _c04_table() -> np.ndarray:
    """(n, 4) array: MJD (0h UTC), x_p (arcsec), y_p (arcsec), UT1-UTC (s)."""
    try:
        from importlib.resources import files

        path = files("astropy_iers_data") / "data" / "eopc04.1962-now"
        text = path.read_text(encoding="ascii")
    except (ImportError, ModuleNotFoundError, FileNotFoundError) as exc:
        raise SatnavError(
            "Earth orientation needs the package astropy-iers-data "
            "(pip install 'satnav[dynamics]')"
        ) from exc
    rows = [line.split() for line in text.splitlines() if line and not line.startswith("#")]
    table = np.array([[float(r[4]), float(r[5]), float(r[6]), float(r[7])] for r in rows])
    return table


def julian_dates(time_ns) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Two-part Julian dates (day number, fraction) of GPST instants in the scales ``"tt"``,
    ``"utc"`` (quasi-JD as SOFA uses it; leap seconds from satnav's table) and ``"gpst"``."""
    t = np.atleast_1d(np.asarray(time_ns, dtype=np.int64))
    days = t // (86400 * NS_PER_S)
    frac_ns = t - days * 86400 * NS_PER_S
    jd1 = MJD_ZERO_JD + GPS_EPOCH_MJD + days.astype(np.float64)
    gpst_frac = frac_ns.astype(np.float64) / (86400.0 * NS_PER_S)
    leap = np.asarray(leap_seconds_at_gpst(t), dtype=np.float64)
    return {
        "gpst": (jd1, gpst_frac),
        "tt": (jd1, gpst_frac + TT_MINUS_GPST_S / 86400.0),
        "utc": (jd1, gpst_frac - leap / 86400.0),
    }


@lru_cache(maxsize=1)
def _c04_continuous() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(MJD, UT1-UTC without its leap-second jumps, the jumps summed): UT1-UTC jumps by 1 s at
    leap seconds, so it is interpolated as a continuous series and the jumps added back."""
    tab = _c04_table()
    ut1 = tab[:, 3]
    jumps = np.cumsum(np.concatenate([[0.0], np.round(np.diff(ut1))]))
    return tab[:, 0], ut1 - jumps, jumps


def eop_at(time_ns, subdaily: bool = False) -> EarthOrientation:
    """EOP at GPST instants (linear interpolation of the daily C04 values in UTC MJD); with
    ``subdaily`` the ocean-tide diurnal and semidiurnal variations are added
    (:mod:`satnav.models.subdaily_eop`, IERS 2010 sec. 8.2), as precise orbits use them."""
    jd = julian_dates(time_ns)["utc"]
    mjd = (jd[0] - MJD_ZERO_JD) + jd[1]
    tab = _c04_table()
    days, continuous, jumps = _c04_continuous()
    outside = (mjd < days[0]) | (mjd > days[-1])
    xp = np.interp(mjd, days, tab[:, 1]) * ARCSEC
    yp = np.interp(mjd, days, tab[:, 2]) * ARCSEC
    i = np.clip(np.searchsorted(days, mjd, side="right") - 1, 0, len(days) - 1)
    ut1_utc = np.interp(mjd, days, continuous) + jumps[i]
    if subdaily:
        from .subdaily_eop import subdaily_eop

        tt1, tt2 = julian_dates(time_ns)["tt"]
        dx, dy, dut1 = subdaily_eop((tt1 - MJD_ZERO_JD) + tt2)
        xp, yp, ut1_utc = xp + dx, yp + dy, ut1_utc + dut1
    return EarthOrientation(xp, yp, ut1_utc, outside)


def gcrs_to_itrs_matrix(time_ns, eop: EarthOrientation | None = None,
                        subdaily: bool = False) -> np.ndarray:
    """(n, 3, 3) rotation matrices GCRS -> ITRS at GPST instants (IAU 2006/2000A, CIO based,
    with polar motion and UT1 from :func:`eop_at` (``subdaily`` variations or not) unless
    ``eop`` is given)."""
    import erfa

    jd = julian_dates(time_ns)
    if eop is None:
        eop = eop_at(time_ns, subdaily)
    tt1, tt2 = jd["tt"]
    utc1, utc2 = jd["utc"]
    ut2 = utc2 + eop.ut1_utc_s / 86400.0
    return erfa.c2t06a(tt1, tt2, utc1, ut2, eop.xp_rad, eop.yp_rad)


def gcrs_to_itrs(time_ns, r_gcrs_m: np.ndarray, eop: EarthOrientation | None = None,
                 subdaily: bool = False) -> np.ndarray:
    """Rotate (n, 3) GCRS vectors (m) to ITRS at the matching instants."""
    rot = gcrs_to_itrs_matrix(time_ns, eop, subdaily)
    return np.einsum("nij,nj->ni", rot, np.atleast_2d(r_gcrs_m))


def itrs_to_gcrs(time_ns, r_itrs_m: np.ndarray, eop: EarthOrientation | None = None,
                 subdaily: bool = False) -> np.ndarray:
    """Rotate (n, 3) ITRS vectors (m) to GCRS at the matching instants."""
    rot = gcrs_to_itrs_matrix(time_ns, eop, subdaily)
    return np.einsum("nji,nj->ni", rot, np.atleast_2d(r_itrs_m))
