"""GNSS time scales as int64 nanoseconds.

satnav's internal time is **int64 nanoseconds of GPS time (GPST) since
1980-01-06 00:00:00 GPST**. Every function here is vectorized over NumPy arrays.

Time scales (``scale`` arguments use the RINEX 3 time-system names):

======  ===================================================  ========================
name    definition                                           GPST minus scale
======  ===================================================  ========================
GPS     GPS time (IS-GPS-200)                                0
GAL     Galileo System Time, GST (steered to GPST origin)    0
QZS     QZSS time (IS-QZSS)                                  0
IRN     NavIC / IRNSS system time                            0
BDS     BeiDou time, BDT (0 at 2006-01-01 00:00:00 UTC)      +14 s
UTC     Coordinated Universal Time                           +leap seconds
GLO     GLONASS time, UTC(SU) + 3 h                          +leap seconds - 3 h
TAI     International Atomic Time (GPST = TAI - 19 s)        -19 s
======  ===================================================  ========================

A *calendar label* in a scale (year, month, ..., second as written in a file) is first
turned into "label nanoseconds" — nanoseconds since 1980-01-06 00:00:00 counted as if
every day had 86400 s — and then shifted to GPST with :func:`to_gpst`.

Note that RINEX observation files with time system ``GLO`` give epochs in UTC(SU)
(no +3 h): use scale ``"UTC"`` for them. ``"GLO"`` here is GLONASS system time as
used in the GLONASS ICD (day number, t_b), which is UTC(SU) + 3 h.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "NS_PER_S",
    "SECONDS_PER_WEEK",
    "NS_PER_WEEK",
    "NS_PER_DAY",
    "GPS_EPOCH",
    "BDT_EPOCH_GPST_NS",
    "LEAP_SECONDS",
    "TIME_SCALES",
    "calendar_to_ns",
    "ns_to_calendar",
    "datetime64_to_ns",
    "ns_to_datetime64",
    "leap_seconds_at_gpst",
    "leap_seconds_at_utc",
    "to_gpst",
    "from_gpst",
    "gps_week_tow",
    "gpst_from_week_tow",
    "bdt_week_tow",
    "gpst_from_bdt_week_tow",
    "glonass_day_number",
    "format_gpst",
    "parse_gpst",
    "MIN_YEAR",
    "MAX_YEAR",
]

NS_PER_S = 1_000_000_000
SECONDS_PER_WEEK = 604_800
NS_PER_DAY = 86_400 * NS_PER_S
NS_PER_WEEK = SECONDS_PER_WEEK * NS_PER_S
#: The GPS time origin as a NumPy datetime64 (label of 0 ns).
GPS_EPOCH = np.datetime64("1980-01-06T00:00:00", "ns")
#: BDT origin 2006-01-01 00:00:00 BDT expressed in GPST ns (BDT = GPST - 14 s).
BDT_EPOCH_GPST_NS = int((np.datetime64("2006-01-01", "ns") - GPS_EPOCH).astype(np.int64)) + 14 * NS_PER_S

#: GPST - UTC in seconds, from the UTC date when it took effect (IERS Bulletin C).
LEAP_SECONDS = (
    ("1981-07-01", 1),
    ("1982-07-01", 2),
    ("1983-07-01", 3),
    ("1985-07-01", 4),
    ("1988-01-01", 5),
    ("1990-01-01", 6),
    ("1991-01-01", 7),
    ("1992-07-01", 8),
    ("1993-07-01", 9),
    ("1994-07-01", 10),
    ("1996-01-01", 11),
    ("1997-07-01", 12),
    ("1999-01-01", 13),
    ("2006-01-01", 14),
    ("2009-01-01", 15),
    ("2012-07-01", 16),
    ("2015-07-01", 17),
    ("2017-01-01", 18),
)

TIME_SCALES = ("GPS", "GAL", "QZS", "IRN", "BDS", "UTC", "GLO", "TAI")

#: TAI minus GPST (ns): 19 s, constant (IS-GPS-200 3.3.4, GPST = TAI - 19 s).
_TAI_MINUS_GPST_NS = 19 * NS_PER_S

# Leap-second steps as UTC label ns and as GPST ns.
_LEAP_UTC_NS = np.array(
    [(np.datetime64(d, "ns") - GPS_EPOCH).astype(np.int64) for d, _ in LEAP_SECONDS], dtype=np.int64
)
_LEAP_VALUES = np.array([v for _, v in LEAP_SECONDS], dtype=np.int64)
_LEAP_GPST_NS = _LEAP_UTC_NS + _LEAP_VALUES * NS_PER_S
_THREE_HOURS_NS = 3 * 3600 * NS_PER_S

#: Calendar years that int64 nanoseconds since 1980-01-06 can hold (about +-292 years:
#: 1687-07 .. 2272-04), with a margin: dates outside are rejected, never wrapped.
MIN_YEAR = 1688
MAX_YEAR = 2271
_MAX_ABS_S = 9.2e9  # |seconds since 1980-01-06| below int64 ns overflow (9.22e9 s)


def calendar_to_ns(year, month, day, hour=0, minute=0, second=0.0):
    """Label nanoseconds (since 1980-01-06 00:00:00 of the same scale) of calendar fields.

    All arguments broadcast; ``second`` may be fractional and is rounded to the nearest
    nanosecond. Two-digit years are not accepted here (resolve them first).
    Returns int64 (scalar for scalar input).

    Raises
    ------
    SatnavError
        When a date is outside what int64 nanoseconds hold (years :data:`MIN_YEAR` ..
        :data:`MAX_YEAR`) or a field is not finite: such dates are never wrapped around.
        (Out-of-range months, days, hours... are the callers' plausibility checks: days past
        the month end are counted on, as the algorithm does.)
    """
    _check_calendar_range(year, month, day, hour, minute, second)
    year = np.asarray(year, dtype=np.int64)
    month = np.asarray(month, dtype=np.int64)
    day = np.asarray(day, dtype=np.int64)
    # days from civil (proleptic Gregorian), H. Hinnant's algorithm
    y = year - (month <= 2)
    era = np.floor_divide(y, 400)
    yoe = y - era * 400
    mp = (month + 9) % 12
    doy = (153 * mp + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    days_unix = era * 146097 + doe - 719468
    days = days_unix - 3657  # 1980-01-06 is day 3657 after 1970-01-01
    sec = np.asarray(second, dtype=np.float64)
    whole = np.floor(sec)
    frac_ns = np.rint((sec - whole) * NS_PER_S).astype(np.int64)
    ns = (
        days * NS_PER_DAY
        + (np.asarray(hour, dtype=np.int64) * 3600 + np.asarray(minute, dtype=np.int64) * 60 + whole.astype(np.int64))
        * NS_PER_S
        + frac_ns
    )
    return ns if ns.ndim else np.int64(ns)


def _check_calendar_range(year, month, day, hour, minute, second) -> None:
    """Raise SatnavError unless every date lies inside the int64-ns range (see calendar_to_ns)."""
    with np.errstate(all="ignore"):
        y = np.asarray(year, dtype=np.float64)
        approx_s = (
            (y - 1980.0) * 365.2425 * 86400.0
            + (np.asarray(month, dtype=np.float64) - 1.0) * 30.6 * 86400.0
            + np.asarray(day, dtype=np.float64) * 86400.0
            + np.asarray(hour, dtype=np.float64) * 3600.0
            + np.asarray(minute, dtype=np.float64) * 60.0
            + np.asarray(second, dtype=np.float64)
        )
        bad = ~((y >= MIN_YEAR) & (y <= MAX_YEAR) & (np.abs(approx_s) < _MAX_ABS_S))
    if np.any(bad):
        from .errors import SatnavError

        first = int(np.flatnonzero(np.ravel(bad))[0])
        yy = np.ravel(np.broadcast_arrays(y, bad)[0])[first]
        raise SatnavError(
            f"date outside the years {MIN_YEAR}-{MAX_YEAR} that satnav's time (int64 ns since "
            f"1980-01-06) can hold (year {yy:g})"
        )


def ns_to_datetime64(ns):
    """Label nanoseconds -> ``datetime64[ns]`` (for display and interop only)."""
    return GPS_EPOCH + np.asarray(ns, dtype=np.int64).astype("timedelta64[ns]")


def datetime64_to_ns(t):
    """``datetime64`` (any unit) or ISO string(s) -> label nanoseconds (int64)."""
    return (np.asarray(t, dtype="datetime64[ns]") - GPS_EPOCH).astype(np.int64)


def ns_to_calendar(ns):
    """Label nanoseconds -> (year, month, day, hour, minute, second) arrays (second float)."""
    ns = np.asarray(ns, dtype=np.int64)
    days = np.floor_divide(ns, NS_PER_DAY)
    rem = ns - days * NS_PER_DAY
    z = days + 3657 + 719468
    era = np.floor_divide(z, 146097)
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    y = yoe + era * 400
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = np.where(mp < 10, mp + 3, mp - 9)
    y = y + (m <= 2)
    hour = rem // (3600 * NS_PER_S)
    rem = rem - hour * 3600 * NS_PER_S
    minute = rem // (60 * NS_PER_S)
    second = (rem - minute * 60 * NS_PER_S) / NS_PER_S
    return y, m, d, hour, minute, second


def leap_seconds_at_utc(utc_ns):
    """GPST - UTC (s, int64) at UTC label nanoseconds."""
    idx = np.searchsorted(_LEAP_UTC_NS, np.asarray(utc_ns, dtype=np.int64), side="right")
    return np.where(idx > 0, _LEAP_VALUES[np.maximum(idx - 1, 0)], 0)


def leap_seconds_at_gpst(gpst_ns):
    """GPST - UTC (s, int64) at GPST nanoseconds."""
    idx = np.searchsorted(_LEAP_GPST_NS, np.asarray(gpst_ns, dtype=np.int64), side="right")
    return np.where(idx > 0, _LEAP_VALUES[np.maximum(idx - 1, 0)], 0)


def to_gpst(ns, scale: str = "GPS"):
    """Label nanoseconds in ``scale`` -> GPST nanoseconds (int64). See module doc for scales."""
    scale = scale.strip().upper() or "GPS"
    ns = np.asarray(ns, dtype=np.int64)
    if scale in ("GPS", "GAL", "QZS", "IRN", "GST", "QZSST", "IRNSST", "GPST"):
        out = ns
    elif scale in ("BDS", "BDT"):
        out = ns + 14 * NS_PER_S
    elif scale == "UTC":
        out = ns + leap_seconds_at_utc(ns) * NS_PER_S
    elif scale in ("GLO", "GLONASST"):
        utc = ns - _THREE_HOURS_NS
        out = utc + leap_seconds_at_utc(utc) * NS_PER_S
    elif scale == "TAI":
        out = ns - _TAI_MINUS_GPST_NS
    else:
        raise ValueError(f"unknown time scale {scale!r}, expected one of {', '.join(TIME_SCALES)}")
    return out if out.ndim else np.int64(out)


def from_gpst(gpst_ns, scale: str = "GPS"):
    """GPST nanoseconds -> label nanoseconds in ``scale`` (inverse of :func:`to_gpst`)."""
    scale = scale.strip().upper() or "GPS"
    ns = np.asarray(gpst_ns, dtype=np.int64)
    if scale in ("GPS", "GAL", "QZS", "IRN", "GST", "QZSST", "IRNSST", "GPST"):
        out = ns
    elif scale in ("BDS", "BDT"):
        out = ns - 14 * NS_PER_S
    elif scale == "UTC":
        out = ns - leap_seconds_at_gpst(ns) * NS_PER_S
    elif scale in ("GLO", "GLONASST"):
        out = ns - leap_seconds_at_gpst(ns) * NS_PER_S + _THREE_HOURS_NS
    elif scale == "TAI":
        out = ns + _TAI_MINUS_GPST_NS
    else:
        raise ValueError(f"unknown time scale {scale!r}, expected one of {', '.join(TIME_SCALES)}")
    return out if out.ndim else np.int64(out)


def gps_week_tow(gpst_ns):
    """GPS week number (int64, not rolled over) and time of week (s, float64)."""
    ns = np.asarray(gpst_ns, dtype=np.int64)
    week = np.floor_divide(ns, NS_PER_WEEK)
    return week, (ns - week * NS_PER_WEEK) / NS_PER_S


def gpst_from_week_tow(week, tow_s):
    """GPST nanoseconds from GPS week and time of week (s). Also valid for GST/QZSST weeks
    as written in RINEX 3 (aligned with GPS weeks)."""
    tow = np.asarray(tow_s, dtype=np.float64)
    return np.asarray(week, dtype=np.int64) * NS_PER_WEEK + np.rint(tow * NS_PER_S).astype(np.int64)


def bdt_week_tow(gpst_ns):
    """BeiDou week (since 2006-01-01) and BDT time of week (s) of GPST nanoseconds."""
    ns = np.asarray(gpst_ns, dtype=np.int64) - BDT_EPOCH_GPST_NS
    week = np.floor_divide(ns, NS_PER_WEEK)
    return week, (ns - week * NS_PER_WEEK) / NS_PER_S


def gpst_from_bdt_week_tow(week, tow_s):
    """GPST nanoseconds from BDT week and time of week (s)."""
    tow = np.asarray(tow_s, dtype=np.float64)
    return (
        BDT_EPOCH_GPST_NS
        + np.asarray(week, dtype=np.int64) * NS_PER_WEEK
        + np.rint(tow * NS_PER_S).astype(np.int64)
    )


def glonass_day_number(gpst_ns):
    """GLONASS calendar numbers of GPST nanoseconds, in GLONASS time (UTC(SU) + 3 h).

    Returns ``(n4, nt, tod_s)``: the four-year interval number N4 (1 for 1996-1999),
    the day number NT within it (1..1461) and the time of day (s), as in the GLONASS ICD.
    """
    glo = np.asarray(from_gpst(gpst_ns, "GLO"), dtype=np.int64)
    day = np.floor_divide(glo, NS_PER_DAY)
    tod = (glo - day * NS_PER_DAY) / NS_PER_S
    days_since_1996 = day - int(calendar_to_ns(1996, 1, 1) // NS_PER_DAY)
    n4 = days_since_1996 // 1461 + 1
    nt = days_since_1996 % 1461 + 1
    return n4, nt, tod


def format_gpst(gpst_ns) -> str:
    """ISO-like text of one GPST time, e.g. ``2020-06-25T00:00:00 GPST`` (to 1 ns when needed)."""
    y, m, d, hh, mm, ss = (int(v) if i < 5 else float(v) for i, v in enumerate(ns_to_calendar(gpst_ns)))
    whole = int(ss)
    frac = int(np.asarray(gpst_ns, dtype=np.int64) % NS_PER_S)
    text = f"{y:04d}-{m:02d}-{d:02d}T{hh:02d}:{mm:02d}:{whole:02d}"
    if frac:
        text += f".{frac:09d}".rstrip("0")
    return text + " GPST"


def parse_gpst(text: str) -> int:
    """GPST ns of an ISO 8601 date-time such as ``2020-06-25T00:00:00`` (no time zone; the
    text is read as GPS time). Raises :class:`~satnav.errors.SatnavError` otherwise."""
    from .errors import SatnavError

    clean = str(text).strip().replace(" ", "T").rstrip("Z")
    try:
        t_s = np.datetime64(clean, "s")  # seconds hold any year: checked before going to ns
        t = np.datetime64(clean, "ns")
    except (ValueError, OverflowError):
        raise SatnavError(f"bad time {text!r}, expected ISO 8601 like 2020-06-25T00:00:00") from None
    year = t_s.astype("datetime64[Y]").astype(np.int64) + 1970
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise SatnavError(f"time {text!r} is outside the years {MIN_YEAR}-{MAX_YEAR} that satnav's "
                          "time (int64 ns since 1980-01-06) can hold")
    return int((t - GPS_EPOCH).astype(np.int64))
