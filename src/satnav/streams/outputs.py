"""What the live engine writes for each epoch: :class:`LiveFix` and its text as NMEA 0183
(GGA, RMC, GSA, GST), an RTKLIB ``.pos`` line, or a JSON line.

NMEA (NMEA 0183 4.11, sentences built and checksummed by ``pynmeagps``): GGA fix quality
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

import json
import math
from dataclasses import dataclass, field

import numpy as np

from ..frames import ecef_to_geodetic, enu_rotation
from ..gnss_time import format_gpst
from ..satellites import satellite_id, system_of

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
    those of single point fixes (NaN for RTK/DGNSS fixes: the GGA HDOP field is then empty).
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


def _utc(time_ns: int):
    from ..io.solution import _utc_datetimes

    return _utc_datetimes(np.array([time_ns], np.int64))[0]


def nmea_lines(fix: LiveFix, *, talker: str = "GN") -> bytes:
    """GGA, RMC, GSA (one per system used) and GST of one epoch, CR LF terminated."""
    from pynmeagps import GET, NMEAMessage

    from ..io.solution import _NMEA_SYSTEM_ID, _nmea_svid

    when = _utc(fix.time_ns)
    tm, dt = when.time(), when.date()
    pos = np.asarray(fix.position_m, float)
    out = []
    solved = bool(np.all(np.isfinite(pos))) and fix.quality > 0
    if not solved:
        empty = dict(lat="", NS="", lon="", EW="")
        out.append(NMEAMessage(talker, "GGA", GET, time=tm, quality=0, numSV=0, HDOP="", alt="", altUnit="",
                               sep="", sepUnit="", diffAge="", diffStation="", **empty).serialize())
        out.append(NMEAMessage(talker, "RMC", GET, time=tm, status="V", spd="", cog="", date=dt, mv="",
                               mvEW="", posMode="N", navStatus="V", **empty).serialize())
        return b"".join(out)
    lat, lon, h = (float(v[0]) for v in ecef_to_geodetic(pos[None, :]))
    la, lo = math.degrees(lat), math.degrees(lon)
    common = dict(lat=abs(la), NS="N" if la >= 0 else "S", lon=abs(lo), EW="E" if lo >= 0 else "W")
    q = _GGA_QUALITY.get(fix.quality, 0) if fix.valid else 0
    age = round(fix.age_s, 1) if fix.quality in (1, 2, 4) and math.isfinite(fix.age_s) else ""
    out.append(NMEAMessage(talker, "GGA", GET, hpnmeamode=True, time=tm, quality=q, numSV=int(fix.n_satellites),
                           HDOP=round(fix.hdop, 1) if math.isfinite(fix.hdop) else "", alt=round(h, 4),
                           altUnit="M", sep=0.0, sepUnit="M", diffAge=age, diffStation="", **common).serialize())
    spd = cog = ""
    v = fix.velocity_m_s
    if v is not None and np.all(np.isfinite(v)):
        venu = enu_rotation(np.array([lat]), np.array([lon]))[0] @ np.asarray(v, float)
        spd = round(float(math.hypot(venu[0], venu[1]) / (1852.0 / 3600.0)), 3)
        cog = round(float(math.degrees(math.atan2(venu[0], venu[1])) % 360.0), 2)
    out.append(NMEAMessage(talker, "RMC", GET, hpnmeamode=True, time=tm, status="A" if fix.valid else "V",
                           spd=spd, cog=cog, date=dt, mv="", mvEW="",
                           posMode=_RMC_MODE.get(fix.quality, "A") if fix.valid else "N",
                           navStatus="S" if fix.valid else "C", **common).serialize())
    dops = [round(x, 1) if math.isfinite(x) else "" for x in (fix.pdop, fix.hdop, fix.vdop)]
    sats = [int(s) for s in fix.satellites]
    letters = system_of(np.asarray(sats, np.int64)) if sats else np.zeros(0, "U1")
    for letter in "GRECJI":
        sel = [s for s, x in zip(sats, letters) if x == letter or (letter == "G" and x == "S")]
        ids = [_nmea_svid(s) for s in sel][:12]
        if not ids:
            continue
        svs = {f"svid_{k + 1:02d}": (ids[k] if k < len(ids) else "") for k in range(12)}
        out.append(NMEAMessage(talker, "GSA", GET, opMode="A", navMode=3 if fix.valid else 1, PDOP=dops[0],
                               HDOP=dops[1], VDOP=dops[2], systemId=_NMEA_SYSTEM_ID[letter], **svs).serialize())
    s_lat, s_lon, s_alt = _std_llh(fix, lat, lon)

    def r3(x):
        return round(x, 3) if math.isfinite(x) else ""

    out.append(NMEAMessage(talker, "GST", GET, time=tm, rangeRms=r3(fix.residual_rms_m), stdMajor="", stdMinor="",
                           orient="", stdLat=r3(s_lat), stdLong=r3(s_lon), stdAlt=r3(s_alt)).serialize())
    return b"".join(out)


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
        "hdop": num(fix.hdop, 2), "pdop": num(fix.pdop, 2), "vdop": num(fix.vdop, 2),
        "ratio": num(fix.ratio, 2), "age_s": num(fix.age_s, 2), "note": fix.note, "reason": fix.reason,
        "latency_ms": num(fix.latency_s * 1e3, 3),
    }
    return (json.dumps(obj, separators=(",", ":")) + "\n").encode()


#: Output format -> function of a LiveFix giving bytes.
FORMATTERS = {"nmea": nmea_lines, "pos": pos_line, "json": json_line}
