"""What the live engine writes for each epoch: :class:`LiveFix` and its text as NMEA 0183
(GGA, RMC, GSA, GST), an RTKLIB ``.pos`` line, or a JSON line.

NMEA (NMEA 0183 4.11, sentences formatted by :mod:`satnav.io.nmea_text`): GGA fix quality
4 for RTK fixed, 5 float, 2 DGNSS, 1 single point, **0 for anything not to be trusted**
(an epoch without a solution, or one that failed the integrity checks: RAIM, Doppler motion,
height); RMC status A/V and mode R (fixed), F (float), D (DGNSS), A (single), N (none); GSA
mode 3 (3-D) or 1 (no fix) with the satellites used per system; GST with the standard
deviations of latitude, longitude and height (from the RTK covariance, or for single point
the residual RMS scaled by the DOPs). Heights are ellipsoidal with geoid separation 0, as
:func:`satnav.io.solution.nmea_sentences` writes them.

``.pos`` lines are :func:`satnav.io.solution.iter_pos_text` rows of the epoch's one-row
solution (flagged and unsolved epochs as ``%`` comment lines), so a live ``.pos`` file is
read like a post-processed one. JSON lines carry every field of :class:`LiveFix`.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
from dataclasses import dataclass, field

import numpy as np

from ..frames import ecef_to_geodetic, enu_rotation
from ..gnss_time import format_gpst
from ..satellites import SATELLITES_PER_SYSTEM, SYSTEMS, satellite_id

#: System letter per system number (satellite index // SATELLITES_PER_SYSTEM).
_SYSTEM_LETTER = tuple(SYSTEMS)

__all__ = ["LiveFix", "nmea_lines", "pos_line", "pos_header", "json_line", "FORMATTERS", "QUALITY_NAMES"]

#: RTKLIB Q -> name (the status line, JSON).
QUALITY_NAMES = {0: "none", 1: "fixed", 2: "float", 4: "DGNSS", 5: "single"}
#: RTKLIB Q -> NMEA GGA fix quality.
_GGA_QUALITY = {1: 4, 2: 5, 4: 2, 5: 1, 0: 0}
#: RTKLIB Q -> NMEA RMC/GNS mode indicator.
_RMC_MODE = {1: "R", 2: "F", 4: "D", 5: "A", 0: "N"}


@dataclass
class LiveFix:
    """One epoch of the live engine.

    ``quality``: RTKLIB Q (1 fixed, 2 float, 4 DGNSS, 5 single point, 0 none); ``valid``:
    False when the position must not be used (no solution, or it failed the integrity
    checks: then NMEA says quality 0 whatever ``quality`` is). Positions ECEF m; covariance
    ECEF m^2 (NaN when unknown); ``age_s`` of the corrections (NaN without). ``note`` says
    why the mode is not the one asked for (stale corrections, no base data yet). DOPs are
    those of the satellites used, seen from the position (single point: the solver's; RTK/DGNSS:
the satellites with double differences, :class:`~satnav.estimators.rtk_engine.RtkEpochSolution`);
NaN (an empty GGA HDOP field) without a solution.
    """

    time_ns: int
    position_m: np.ndarray
    quality: int
    valid: bool
    mode: str
    n_satellites: int = 0
    satellites: list = field(default_factory=list)
    hdop: float = math.nan
    pdop: float = math.nan
    vdop: float = math.nan
    gdop: float = math.nan
    covariance_m2: np.ndarray | None = None
    residual_rms_m: float = math.nan
    velocity_m_s: np.ndarray | None = None
    ratio: float = 0.0
    age_s: float = math.nan
    note: str = ""
    reason: str = ""
    solution: object = field(default=None, repr=False)  # the one-row Solution / RtkSolution
    latency_s: float = math.nan

    @property
    def quality_name(self) -> str:
        return QUALITY_NAMES.get(self.quality, str(self.quality)) if self.valid else "none"


def _std_llh(fix: LiveFix, lat: float, lon: float) -> tuple[float, float, float]:
    cov = fix.covariance_m2
    if cov is not None and np.all(np.isfinite(cov)) and np.any(cov):
        r = enu_rotation(np.array([lat]), np.array([lon]))[0]
        q = r @ np.asarray(cov) @ r.T
        return tuple(float(math.sqrt(max(q[i, i], 0.0))) for i in (1, 0, 2))
    if math.isfinite(fix.residual_rms_m) and math.isfinite(fix.hdop) and math.isfinite(fix.vdop):
        s = fix.residual_rms_m
        return s * fix.hdop / math.sqrt(2), s * fix.hdop / math.sqrt(2), s * fix.vdop
    return math.nan, math.nan, math.nan


#: GPST - UTC (s) per GPST day (-1: a leap second inside the day); filled as days are met.
_LEAP_BY_DAY: dict[int, int] = {}
_GPS_EPOCH = _dt.datetime(1980, 1, 6)
_NS_PER_DAY = 86_400_000_000_000


def _utc(time_ns: int) -> _dt.datetime:
    """UTC of GPST ns rounded to 10 ms (NMEA's hhmmss.ss), as
    :func:`satnav.io.solution._utc_datetimes` gives it; the leap seconds looked up once per
    day (the day of a leap second: every time)."""
    t = int(time_ns)
    day = t // _NS_PER_DAY
    leap = _LEAP_BY_DAY.get(day)
    if leap is None:
        from ..gnss_time import leap_seconds_at_gpst

        lo, hi = leap_seconds_at_gpst(np.array([day * _NS_PER_DAY, (day + 1) * _NS_PER_DAY - 1], np.int64))
        leap = int(lo) if lo == hi else -1
        if len(_LEAP_BY_DAY) > 64:
            _LEAP_BY_DAY.clear()
        _LEAP_BY_DAY[day] = leap
    if leap < 0 or t < 0:
        from ..io.solution import _utc_datetimes

        return _utc_datetimes(np.array([t], np.int64))[0]
    utc = (t - leap * 1_000_000_000 + 5_000_000) // 10_000_000 * 10_000_000
    return _GPS_EPOCH + _dt.timedelta(microseconds=utc // 1000)


def nmea_lines(fix: LiveFix, *, talker: str = "GN") -> bytes:
    """GGA, RMC, GSA (one per system used) and GST of one epoch, CR LF terminated
    (formatted by :mod:`satnav.io.nmea_text`; read back with ``pynmeagps`` in the tests)."""
    from ..io.nmea_text import (
        nmea_date,
        nmea_latitude,
        nmea_longitude,
        nmea_number,
        nmea_sentence,
        nmea_time,
    )
    from ..io.solution import _NMEA_SYSTEM_ID

    when = _utc(fix.time_ns)
    tm, dt = nmea_time(when), nmea_date(when)
    pos = np.asarray(fix.position_m, float)
    solved = bool(np.all(np.isfinite(pos))) and fix.quality > 0
    if not solved:
        return (nmea_sentence(talker + "GGA", (tm, "", "", "", "", "0", "0", "", "", "", "", "", "", ""))
                + nmea_sentence(talker + "RMC", (tm, "V", "", "", "", "", "", "", dt, "", "", "N", "V")))
    lat, lon, h = (float(v[0]) for v in ecef_to_geodetic(pos[None, :]))
    la, ns = nmea_latitude(math.degrees(lat))
    lo, ew = nmea_longitude(math.degrees(lon))
    q = _GGA_QUALITY.get(fix.quality, 0) if fix.valid else 0
    age = nmea_number(fix.age_s, 1) if fix.quality in (1, 2, 4) else ""
    out = [nmea_sentence(talker + "GGA", (tm, la, ns, lo, ew, str(q), str(int(fix.n_satellites)),
                                          nmea_number(fix.hdop, 1), nmea_number(h, 4), "M", "0.0", "M", age, ""))]
    spd = cog = ""
    v = fix.velocity_m_s
    if v is not None and np.all(np.isfinite(v)):
        venu = enu_rotation(np.array([lat]), np.array([lon]))[0] @ np.asarray(v, float)
        spd = nmea_number(math.hypot(venu[0], venu[1]) / (1852.0 / 3600.0), 3)
        cog = nmea_number(math.degrees(math.atan2(venu[0], venu[1])) % 360.0, 2)
    out.append(nmea_sentence(talker + "RMC", (
        tm, "A" if fix.valid else "V", la, ns, lo, ew, spd, cog, dt, "", "",
        _RMC_MODE.get(fix.quality, "A") if fix.valid else "N", "S" if fix.valid else "C")))
    dops = [nmea_number(x, 1) for x in (fix.pdop, fix.hdop, fix.vdop)]
    ids_of = _gsa_satellites(fix.satellites)
    for letter in "GRECJI":
        ids = ids_of.get(letter)
        if not ids:
            continue
        out.append(nmea_sentence(talker + "GSA", ("A", "3" if fix.valid else "1", *ids, *[""] * (12 - len(ids)),
                                                  *dops, str(_NMEA_SYSTEM_ID[letter]))))
    s_lat, s_lon, s_alt = _std_llh(fix, lat, lon)
    out.append(nmea_sentence(talker + "GST", (tm, nmea_number(fix.residual_rms_m, 3), "", "", "",
                                              nmea_number(s_lat, 3), nmea_number(s_lon, 3), nmea_number(s_alt, 3))))
    return b"".join(out)


def _gsa_satellites(satellites) -> dict[str, list[str]]:
    """NMEA satellite ids (text) per GSA system letter, at most 12 each, in the order of
    ``satellites`` (satellite indices); SBAS satellites are listed with GPS. Kept for the
    last few lists (epoch after epoch the same satellites are used); not to be modified."""
    key = tuple(satellites)
    out = _GSA_LISTS.get(key)
    if out is None:
        if len(_GSA_LISTS) > 16:
            _GSA_LISTS.clear()
        out = _GSA_LISTS[key] = _gsa_lists(key)
    return out


_GSA_LISTS: dict = {}


def _gsa_lists(satellites) -> dict[str, list[str]]:
    from ..io.solution import _nmea_svid

    out: dict[str, list[str]] = {}
    for sat in satellites:
        sat = int(sat)
        letter = _SYSTEM_LETTER[sat // SATELLITES_PER_SYSTEM]
        ids = out.setdefault("G" if letter == "S" else letter, [])
        if len(ids) < 12:
            ids.append(str(_nmea_svid(sat)))
    return out


def pos_header(frame: str = "llh") -> bytes:
    """The column line of a live ``.pos`` file (as :func:`satnav.io.solution.iter_pos_text`)."""
    if frame == "ecef":
        return (b"%  GPST                  x-ecef(m)      y-ecef(m)      z-ecef(m)   Q  ns   sdx(m)   sdy(m)   "
                b"sdz(m)  sdxy(m)  sdyz(m)  sdzx(m) age(s)  ratio\n")
    return (b"%  GPST                  latitude(deg) longitude(deg)  height(m)   Q  ns   sdn(m)   sde(m)   "
            b"sdu(m)  sdne(m)  sdeu(m)  sdun(m) age(s)  ratio\n")


def pos_line(fix: LiveFix, *, frame: str = "llh") -> bytes:
    """The ``.pos`` row of one epoch (a ``%`` comment line when unsolved or flagged)."""
    from ..io.solution import iter_pos_text

    if fix.solution is None:
        return f"% {format_gpst(fix.time_ns)} no solution: {fix.reason or 'no data'}\n".encode()
    return "".join(iter_pos_text(fix.solution, frame=frame, header=False)).encode()


def json_line(fix: LiveFix) -> bytes:
    """One JSON object per epoch (NaN as null): time, ECEF and geodetic position, quality,
    satellites, DOPs, standard deviations, ratio, age, note, latency."""
    pos = np.asarray(fix.position_m, float)
    ok = bool(np.all(np.isfinite(pos)))
    lat = lon = h = math.nan
    if ok:
        lat, lon, h = (float(v[0]) for v in ecef_to_geodetic(pos[None, :]))
    s = _std_llh(fix, lat, lon) if ok else (math.nan,) * 3

    def num(x, nd=4):
        return round(float(x), nd) if x is not None and math.isfinite(float(x)) else None

    obj = {
        "time": format_gpst(fix.time_ns), "time_gpst_ns": int(fix.time_ns), "mode": fix.mode,
        "quality": fix.quality_name, "q": int(fix.quality), "valid": bool(fix.valid),
        "x_m": num(pos[0]), "y_m": num(pos[1]), "z_m": num(pos[2]),
        "lat_deg": num(math.degrees(lat), 9) if ok else None, "lon_deg": num(math.degrees(lon), 9) if ok else None,
        "height_m": num(h), "sd_north_m": num(s[0]), "sd_east_m": num(s[1]), "sd_up_m": num(s[2]),
        "satellites": int(fix.n_satellites), "used": [satellite_id(int(x)) for x in fix.satellites],
        "hdop": num(fix.hdop, 2), "pdop": num(fix.pdop, 2), "vdop": num(fix.vdop, 2), "gdop": num(fix.gdop, 2),
        "ratio": num(fix.ratio, 2), "age_s": num(fix.age_s, 2), "note": fix.note, "reason": fix.reason,
        "latency_ms": num(fix.latency_s * 1e3, 3),
    }
    return (json.dumps(obj, separators=(",", ":")) + "\n").encode()


#: Output format -> function of a LiveFix giving bytes.
FORMATTERS = {"nmea": nmea_lines, "pos": pos_line, "json": json_line}
