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
import types
from dataclasses import dataclass, field

import numpy as np

from .._jit import _with_globals
from ..frames import (
    ecef_to_geodetic,
    ellipsoid_parameters,
    enu_rotation,
    enu_rotation_elements,
    geodetic_core,
)
from ..gnss_time import format_gpst
from ..io.nmea_text import (
    nmea_date,
    nmea_latitude,
    nmea_longitude,
    nmea_number,
    nmea_sentence,
    nmea_time,
)
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


# ---------------------------------------------------------------- the numbers of one epoch
#: :func:`satnav.frames.geodetic_core` and :func:`satnav.frames.enu_rotation_elements` (the
#: one model of each) evaluated on Python floats by the ``math`` module's functions, which
#: call the C library's ``sin``, ``cos``, ``atan2``, ``sqrt`` and ``pow`` as NumPy's float64
#: loops do where it has no vector versions of its own (``hypot``: the C library's through
#: ctypes, as Python's ``math.hypot`` is computed otherwise). An epoch's position then costs
#: a few microseconds instead of the forty NumPy calls of
#: :func:`~satnav.frames.ecef_to_geodetic` on one row (about 45 us warm, several times that
#: after an idle 100 ms between epochs). Checked against NumPy once
#: (:func:`_scalar_frames_ok`): the same bits where NumPy's float64 loops are the C library's;
#: where NumPy has vector functions of its own (an AVX-512 build using SVML) they differ in
#: the last bit, and the check holds them to 1e-12 rad (6 um) and 1 um of height.


def _c_hypot():
    """The C library's ``hypot`` (what NumPy's float64 loop calls) through ctypes, about
    0.3 us a call; NumPy's ufunc on two floats (1-4 us) where it cannot be found."""
    try:
        import ctypes
        import ctypes.util

        name = ctypes.util.find_library("m")
        if name:
            f = ctypes.CDLL(name).hypot
            f.restype, f.argtypes = ctypes.c_double, (ctypes.c_double, ctypes.c_double)
            return f
    except (ImportError, OSError, AttributeError):  # pragma: no cover - no C library found
        pass
    return lambda x, y: float(np.hypot(x, y))  # pragma: no cover


_SCALAR_MATH = types.SimpleNamespace(hypot=_c_hypot(), arctan2=math.atan2, sin=math.sin, cos=math.cos,
                                     sqrt=math.sqrt)
_geodetic_scalar = _with_globals(geodetic_core, {"np": _SCALAR_MATH})
_enu_elements_scalar = _with_globals(enu_rotation_elements, {"np": _SCALAR_MATH})
_WGS84 = ellipsoid_parameters("WGS84")
_SCALAR_OK: list = []  # [whether the scalar path gives NumPy's values], once checked
#: Largest difference of a scalar latitude, longitude (rad) or rotation element from NumPy's.
SCALAR_ANGLE_TOLERANCE_RAD = 1e-12
#: Largest difference of a scalar height (m) from NumPy's.
SCALAR_HEIGHT_TOLERANCE_M = 1e-6


def _scalar_frames_ok() -> bool:
    """Whether the scalar geodetic conversion and ENU rotation give NumPy's values here (its
    bits, or within the last bits of the elementary functions: 1e-12 rad, 1 um of height,
    1e-12 of a rotation element), on positions from the Earth's surface to geostationary
    height, poles and equator included (checked once, 20-40 ms: the live engine does it at
    its start)."""
    if not _SCALAR_OK:
        rng = np.random.default_rng(1)
        n = 1000
        d = rng.normal(size=(n, 3))
        d[:8] = [[0, 0, 1], [0, 0, -1], [1, 0, 0], [0, 1, 0], [-1, 0, 0], [1, 1, 1e-9], [1, -1, 0], [0, -1, 1]]
        xyz = d / np.linalg.norm(d, axis=1)[:, None] * rng.uniform(6.35e6, 4.3e7, (n, 1))
        lat, lon, h = ecef_to_geodetic(xyz)
        rot = enu_rotation(lat, lon).reshape(n, 9)
        ok = True
        for i, (x, y, z) in enumerate(xyz.tolist()):
            la, lo, hh = _geodetic_scalar(x, y, z, *_WGS84)
            elements = np.array(_enu_elements_scalar(la, lo))
            if (abs(la - lat[i]) > SCALAR_ANGLE_TOLERANCE_RAD or abs(lo - lon[i]) > SCALAR_ANGLE_TOLERANCE_RAD
                    or abs(hh - h[i]) > SCALAR_HEIGHT_TOLERANCE_M
                    or np.abs(elements - rot[i]).max() > SCALAR_ANGLE_TOLERANCE_RAD):
                ok = False
                break
        _SCALAR_OK.append(ok)
    return _SCALAR_OK[0]


def _geodetic(x: float, y: float, z: float) -> tuple[float, float, float]:
    """Latitude, longitude (rad) and height (m, WGS84) of one ECEF position (m):
    :func:`~satnav.frames.ecef_to_geodetic`'s values (see ``_SCALAR_MATH``)."""
    if _scalar_frames_ok():
        return _geodetic_scalar(x, y, z, *_WGS84)
    lat, lon, h = ecef_to_geodetic(np.array([[x, y, z]]))
    return float(lat[0]), float(lon[0]), float(h[0])


def _enu_rotation(lat: float, lon: float) -> np.ndarray:
    """(3, 3) :func:`~satnav.frames.enu_rotation` of one latitude and longitude (rad)."""
    if _scalar_frames_ok():
        return np.array(_enu_elements_scalar(lat, lon)).reshape(3, 3)
    return enu_rotation(np.array([lat]), np.array([lon]))[0]


def _xyz(position_m) -> tuple[float, float, float]:
    """The ECEF position (m) as three floats."""
    x, y, z = (position_m.tolist() if isinstance(position_m, np.ndarray)
               else np.asarray(position_m, float).tolist())
    return float(x), float(y), float(z)


#: GPST - UTC (s) per GPST day (-1: a leap second inside the day); filled as days are met.
_LEAP_BY_DAY: dict[int, int] = {}
#: NMEA date (ddmmyy) per UTC day since the GPS epoch, as days are met.
_DATE_BY_DAY: dict[int, str] = {}
_GPS_EPOCH = _dt.datetime(1980, 1, 6)
_NS_PER_DAY = 86_400_000_000_000


def _leap_of_day(day: int) -> int:
    """GPST - UTC (s) through the GPST day ``day`` (days since the GPS epoch); -1 when a
    leap second falls inside it."""
    leap = _LEAP_BY_DAY.get(day)
    if leap is None:
        from ..gnss_time import leap_seconds_at_gpst

        lo, hi = leap_seconds_at_gpst(np.array([day * _NS_PER_DAY, (day + 1) * _NS_PER_DAY - 1], np.int64))
        leap = int(lo) if lo == hi else -1
        if len(_LEAP_BY_DAY) > 64:
            _LEAP_BY_DAY.clear()
        _LEAP_BY_DAY[day] = leap
    return leap


def _utc(time_ns: int) -> _dt.datetime:
    """UTC of GPST ns rounded to 10 ms (NMEA's hhmmss.ss), as
    :func:`satnav.io.solution._utc_datetimes` gives it; the leap seconds looked up once per
    day (the day of a leap second: every time)."""
    t = int(time_ns)
    leap = _leap_of_day(t // _NS_PER_DAY)
    if leap < 0 or t < 0:
        from ..io.solution import _utc_datetimes

        return _utc_datetimes(np.array([t], np.int64))[0]
    utc = (t - leap * 1_000_000_000 + 5_000_000) // 10_000_000 * 10_000_000
    return _GPS_EPOCH + _dt.timedelta(microseconds=utc // 1000)


def _utc_text(time_ns: int) -> tuple[str, str]:
    """NMEA time (hhmmss.ss) and date (ddmmyy) of :func:`_utc` ``(time_ns)``, from integer
    arithmetic (the date made once per day)."""
    t = int(time_ns)
    leap = _leap_of_day(t // _NS_PER_DAY)
    if leap < 0 or t < 0:
        when = _utc(t)
        return nmea_time(when), nmea_date(when)
    day, cs = divmod((t - leap * 1_000_000_000 + 5_000_000) // 10_000_000, 8_640_000)  # hundredths of s
    date = _DATE_BY_DAY.get(day)
    if date is None:
        if len(_DATE_BY_DAY) > 64:
            _DATE_BY_DAY.clear()
        date = _DATE_BY_DAY[day] = nmea_date(_GPS_EPOCH + _dt.timedelta(days=day))
    s, c = divmod(cs, 100)
    m, s = divmod(s, 60)
    h, m = divmod(m, 60)
    return f"{h:02d}{m:02d}{s:02d}.{c:02d}", date


def nmea_lines(fix: LiveFix, *, talker: str = "GN") -> bytes:
    """GGA, RMC, GSA (one per system used) and GST of one epoch, CR LF terminated
    (formatted by :mod:`satnav.io.nmea_text`; read back with ``pynmeagps`` in the tests)."""
    tm, dt = _utc_text(fix.time_ns)
    x, y, z = _xyz(fix.position_m)
    if not (math.isfinite(x) and math.isfinite(y) and math.isfinite(z) and fix.quality > 0):
        return (nmea_sentence(talker + "GGA", (tm, "", "", "", "", "0", "0", "", "", "", "", "", "", ""))
                + nmea_sentence(talker + "RMC", (tm, "V", "", "", "", "", "", "", dt, "", "", "N", "V")))
    lat, lon, h = _geodetic(x, y, z)
    la, ns = nmea_latitude(math.degrees(lat))
    lo, ew = nmea_longitude(math.degrees(lon))
    valid = bool(fix.valid)
    q = _GGA_QUALITY.get(fix.quality, 0) if valid else 0
    age = nmea_number(fix.age_s, 1) if fix.quality in (1, 2, 4) else ""
    out = [nmea_sentence(talker + "GGA", (tm, la, ns, lo, ew, str(q), str(int(fix.n_satellites)),
                                          nmea_number(fix.hdop, 1), nmea_number(h, 4), "M", "0.0", "M", age, ""))]
    spd = cog = ""
    v = fix.velocity_m_s
    if v is not None:
        v = np.asarray(v, float)
        vx, vy, vz = v.tolist()
        if math.isfinite(vx) and math.isfinite(vy) and math.isfinite(vz):
            ve, vn, _ = (_enu_rotation(lat, lon) @ v).tolist()
            spd = nmea_number(math.hypot(ve, vn) / (1852.0 / 3600.0), 3)
            cog = nmea_number(math.degrees(math.atan2(ve, vn)) % 360.0, 2)
    out.append(nmea_sentence(talker + "RMC", (
        tm, "A" if valid else "V", la, ns, lo, ew, spd, cog, dt, "", "",
        _RMC_MODE.get(fix.quality, "A") if valid else "N", "S" if valid else "C")))
    out.append(_gsa_sentences(talker, fix.satellites, valid, (nmea_number(fix.pdop, 1), nmea_number(fix.hdop, 1),
                                                                nmea_number(fix.vdop, 1))))
    s_lat, s_lon, s_alt = _std_llh(fix, lat, lon)
    out.append(nmea_sentence(talker + "GST", (tm, nmea_number(fix.residual_rms_m, 3), "", "", "",
                                              nmea_number(s_lat, 3), nmea_number(s_lon, 3), nmea_number(s_alt, 3))))
    return b"".join(out)


#: GSA sentences of the last few (talker, satellites, valid, DOP texts): epoch after epoch
#: the same satellites are used and the DOPs (one decimal) change slowly.
_GSA_SENTENCES: dict = {}


def _gsa_sentences(talker: str, satellites, valid: bool, dops: tuple) -> bytes:
    """The GSA sentences (one per system used, in the order G R E C J I) of an epoch."""
    key = (talker, tuple(satellites), valid, dops)
    out = _GSA_SENTENCES.get(key)
    if out is None:
        from ..io.solution import _NMEA_SYSTEM_ID

        ids_of = _gsa_satellites(key[1])
        lines = []
        for letter in "GRECJI":
            ids = ids_of.get(letter)
            if not ids:
                continue
            lines.append(nmea_sentence(talker + "GSA", ("A", "3" if valid else "1", *ids, *[""] * (12 - len(ids)),
                                                        *dops, str(_NMEA_SYSTEM_ID[letter]))))
        if len(_GSA_SENTENCES) > 64:
            _GSA_SENTENCES.clear()
        out = _GSA_SENTENCES[key] = b"".join(lines)
    return out


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
    pos = _xyz(fix.position_m)
    ok = math.isfinite(pos[0]) and math.isfinite(pos[1]) and math.isfinite(pos[2])
    lat = lon = h = math.nan
    if ok:
        lat, lon, h = _geodetic(*pos)
    s = _std_llh(fix, lat, lon) if ok else (math.nan,) * 3

    def num(x, nd=4):
        return round(float(x), nd) if x is not None and math.isfinite(float(x)) else None

    obj = {
        "time": format_gpst(fix.time_ns), "time_gpst_ns": int(fix.time_ns), "mode": fix.mode,
        "quality": fix.quality_name, "q": int(fix.quality), "valid": bool(fix.valid),
        "x_m": num(pos[0]), "y_m": num(pos[1]), "z_m": num(pos[2]),
        "lat_deg": num(math.degrees(lat), 9) if ok else None, "lon_deg": num(math.degrees(lon), 9) if ok else None,
        "height_m": num(h), "sd_north_m": num(s[0]), "sd_east_m": num(s[1]), "sd_up_m": num(s[2]),
        "satellites": int(fix.n_satellites), "used": _satellite_ids(fix.satellites),
        "hdop": num(fix.hdop, 2), "pdop": num(fix.pdop, 2), "vdop": num(fix.vdop, 2), "gdop": num(fix.gdop, 2),
        "ratio": num(fix.ratio, 2), "age_s": num(fix.age_s, 2), "note": fix.note, "reason": fix.reason,
        "latency_ms": num(fix.latency_s * 1e3, 3),
    }
    return (json.dumps(obj, separators=(",", ":")) + "\n").encode()


#: Satellite ids of the last few lists of satellites used (epoch after epoch the same).
_SATELLITE_IDS: dict = {}


def _satellite_ids(satellites) -> list[str]:
    """``satellite_id`` of each satellite index (a new list each time: json_line's)."""
    key = tuple(satellites)
    ids = _SATELLITE_IDS.get(key)
    if ids is None:
        if len(_SATELLITE_IDS) > 16:
            _SATELLITE_IDS.clear()
        ids = _SATELLITE_IDS[key] = [satellite_id(int(x)) for x in key]
    return list(ids)


#: Output format -> function of a LiveFix giving bytes.
FORMATTERS = {"nmea": nmea_lines, "pos": pos_line, "json": json_line}
