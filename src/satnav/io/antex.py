"""Antenna phase-centre offsets (PCO) and variations (PCV) from ANTEX 1.4 files and from
the NGS calibration format (``ngs_abs.pcv`` of the Debian package ``rtklib``).

:func:`read_antex` reads every antenna, satellites and receivers, with their PCO and the
non-azimuthal PCV (``NOAZI`` rows; the azimuth-dependent rows are read too and used by
:meth:`Antenna.pcv_m`), :func:`read_ngs_pcv` the NGS format; both return an
:class:`AntennaSet`. :func:`read_antex_satellites` is the earlier, smaller reader for orbit
comparisons: for every satellite antenna block, the satellite id
(``TYPE / SERIAL NO`` columns 21-23), the antenna type (block name), the validity
interval and the per-frequency offsets ``NORTH / EAST / UP`` which, for satellites,
are the X / Y / Z components in the IGS satellite body frame (z towards the Earth's
centre), millimetres in the file, metres here (ANTEX 1.4 format description,
Rothacher & Schmid, IGS). Receiver antennas and phase-centre variations are ignored.
A block cut short (a new ``START OF ANTENNA`` before ``END OF ANTENNA``, or the end of the
file) keeps the frequencies it completed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from os import PathLike

import numpy as np

from ..errors import FormatError, warn_damaged
from ..gnss_time import calendar_to_ns
from .textfile import read_bytes

__all__ = ["SatelliteAntenna", "read_antex_satellites", "satellite_pco", "Antenna", "AntennaSet",
           "read_antex", "read_ngs_pcv", "receiver_key", "read_antennas", "write_antex"]

_NEVER = np.iinfo(np.int64).max


@dataclass
class SatelliteAntenna:
    """One satellite antenna block of an ANTEX file."""

    sat_id: str  #: e.g. "G01"
    antenna_type: str  #: e.g. "BLOCK IIF", "GALILEO-2"
    svn: str  #: e.g. "G063"
    valid_from_ns: int  #: GPST ns (-inf: min int64)
    valid_until_ns: int  #: GPST ns (max int64 when open)
    pco_m: dict[str, np.ndarray] = field(default_factory=dict)  #: "G01" -> (3,) x,y,z m
    line: int = 0  #: 1-based line of TYPE / SERIAL NO


def _calendar(text: str) -> int:
    parts = text.split()
    y, mo, d, h, mi = (int(p) for p in parts[:5])
    s = float(parts[5]) if len(parts) > 5 else 0.0
    return int(calendar_to_ns(y, mo, d, h, mi, s))


def read_antex_satellites(path: str | PathLike, strict: bool = False) -> list[SatelliteAntenna]:
    """Satellite antennas of an ANTEX file (compressed or not).

    Raises :class:`satnav.errors.FormatError` when the file is not ANTEX; a damaged line
    inside a block is skipped with a warning naming the line (error with ``strict``).
    """
    text = read_bytes(path).decode("ascii", errors="replace").splitlines()
    if not text or "ANTEX VERSION" not in text[0][60:]:
        raise FormatError("not an ANTEX file (no 'ANTEX VERSION / SYST' first line)", path, 1)
    result: list[SatelliteAntenna] = []
    cur: SatelliteAntenna | None = None
    freq: str | None = None
    for lineno, raw in enumerate(text, start=1):
        label = raw[60:].strip()
        if label == "START OF ANTENNA":
            if cur is not None and cur.pco_m:
                result.append(cur)
            cur, freq = None, None
        elif label == "TYPE / SERIAL NO":
            sat_id = raw[20:23].strip()
            if len(sat_id) == 3 and sat_id[0].isalpha() and sat_id[1:].isdigit():
                cur = SatelliteAntenna(
                    sat_id=sat_id, antenna_type=raw[:20].strip(), svn=raw[40:44].strip(),
                    valid_from_ns=np.iinfo(np.int64).min, valid_until_ns=_NEVER, line=lineno,
                )
            else:
                cur = None  # a receiver antenna
        elif cur is None:
            continue
        elif label in ("VALID FROM", "VALID UNTIL"):
            try:
                value = _calendar(raw[:43])
            except (ValueError, IndexError):
                warn_damaged(f"bad {label} date, expected 'YYYY MM DD HH MM SS'", path,
                             lineno, strict, FormatError)
                continue
            if label == "VALID FROM":
                cur.valid_from_ns = value
            else:
                cur.valid_until_ns = value
        elif label == "START OF FREQUENCY":
            freq = raw[3:6].strip()
        elif label == "NORTH / EAST / UP" and freq:
            try:
                cur.pco_m[freq] = np.array([float(v) for v in raw[:30].split()[:3]]) / 1000.0
                if cur.pco_m[freq].shape != (3,):
                    raise ValueError
            except ValueError:
                cur.pco_m.pop(freq, None)
                warn_damaged("bad NORTH / EAST / UP offsets, expected three numbers (mm)",
                             path, lineno, strict, FormatError)
        elif label == "END OF FREQUENCY":
            freq = None
        elif label == "END OF ANTENNA":
            if cur.pco_m:
                result.append(cur)
            cur = None
    if cur is not None and cur.pco_m:
        result.append(cur)
    return result


def satellite_pco(antennas: list[SatelliteAntenna], sat_id: str, time_ns: int,
                  frequencies: tuple[str, str], coefficients: tuple[float, float]):
    """PCO (x, y, z in m, satellite body frame) of a combination of two frequencies.

    Parameters
    ----------
    antennas : list of SatelliteAntenna
    sat_id : str
        e.g. "G05".
    time_ns : int
        GPST ns, to pick the antenna valid then.
    frequencies : (str, str)
        ANTEX frequency codes, e.g. ("G01", "G02").
    coefficients : (float, float)
        Combination coefficients (ionosphere-free: ``f1^2/(f1^2-f2^2)``,
        ``-f2^2/(f1^2-f2^2)``).

    Returns
    -------
    (3,) float array or None when no valid antenna has both frequencies.
    """
    for a in antennas:
        if a.sat_id == sat_id and a.valid_from_ns <= time_ns < a.valid_until_ns:
            if all(f in a.pco_m for f in frequencies):
                return coefficients[0] * a.pco_m[frequencies[0]] + \
                    coefficients[1] * a.pco_m[frequencies[1]]
    return None


# ====================================================================== full reader
def receiver_key(antenna_type: str) -> str:
    """The 20-character IGS antenna name (type in columns 1-16, radome in 17-20, ``NONE`` when
    blank) of a RINEX ``ANT # / TYPE`` or ANTEX ``TYPE / SERIAL NO`` field, upper-cased."""
    text = antenna_type.upper()
    ant = text[:16].strip()
    radome = text[16:20].strip() if len(text) > 16 else ""
    if not radome and len(text.split()) > 1 and len(text[:16].split()) > 1:  # "TYPE RADOME" short form
        ant, radome = text.split()[0], text.split()[1]
    return f"{ant:<16}{radome or 'NONE':<4}"


@dataclass
class Antenna:
    """One antenna (satellite or receiver) with its phase-centre model.

    ``pco_m`` maps an ANTEX frequency code (``"G01"``, ``"E05"``) to the offset (m): north,
    east, up of a receiver antenna (from its reference point, ARP), or x, y, z of a
    satellite antenna in the IGS body frame (from the centre of mass). ``pcv_m`` maps the
    frequency to the non-azimuthal variations (m) on ``zenith_rad`` (receivers: zenith
    angle; satellites: nadir angle); ``pcv_azimuth_m`` to the (azimuths, zenith) grid when
    the calibration has one (``azimuth_rad``). ANTEX 1.4, section "ANTEX format".
    """

    name: str  #: receivers: 20-character type + radome; satellites: "G01"
    antenna_type: str
    sat_id: str = ""
    svn: str = ""
    valid_from_ns: int = int(np.iinfo(np.int64).min)
    valid_until_ns: int = int(_NEVER)
    zenith_rad: np.ndarray = field(default_factory=lambda: np.zeros(0))
    azimuth_rad: np.ndarray = field(default_factory=lambda: np.zeros(0))
    pco_m: dict = field(default_factory=dict)
    pcv_m: dict = field(default_factory=dict)
    pcv_azimuth_m: dict = field(default_factory=dict)
    source: str = ""

    def frequency(self, code: str) -> str | None:
        """The frequency code present for ``code`` (``"G01"``): itself, else (receivers
        calibrated on GPS only, NGS files) the GPS frequency of the same band number
        (``"E01"`` -> ``"G01"``, ``"E05"`` -> ``"G02"`` as RTKLIB does), else None."""
        if code in self.pco_m:
            return code
        if self.sat_id:
            return None
        fallback = {"1": "G01", "2": "G02", "5": "G02", "7": "G02", "6": "G02", "8": "G02"}.get(code[-1])
        return fallback if fallback in self.pco_m else None

    def pcv_m_at(self, code: str, zenith_rad, azimuth_rad=None) -> np.ndarray:
        """PCV (m) of frequency ``code`` at zenith (nadir) angles, linearly interpolated
        (held at the grid's ends); azimuth-dependent where the calibration has it and
        ``azimuth_rad`` is given. Zeros when the antenna has no PCV for that frequency."""
        z = np.asarray(zenith_rad, dtype=np.float64)
        f = self.frequency(code)
        if f is None or f not in self.pcv_m or not len(self.zenith_rad):
            return np.zeros_like(z)
        if azimuth_rad is not None and f in self.pcv_azimuth_m and len(self.azimuth_rad) > 1:
            grid = self.pcv_azimuth_m[f]  # (naz, nz)
            a = np.mod(np.asarray(azimuth_rad, dtype=np.float64), 2 * np.pi)
            step = self.azimuth_rad[1] - self.azimuth_rad[0]
            i = np.clip((a / step).astype(np.int64), 0, len(self.azimuth_rad) - 2)
            w = np.clip(a / step - i, 0.0, 1.0)
            zi = np.clip((z - self.zenith_rad[0]) / (self.zenith_rad[1] - self.zenith_rad[0]), 0,
                         len(self.zenith_rad) - 1)
            j = np.clip(np.floor(zi).astype(np.int64), 0, len(self.zenith_rad) - 2)
            u = zi - j
            v00, v01 = grid[i, j], grid[i, j + 1]
            v10, v11 = grid[i + 1, j], grid[i + 1, j + 1]
            return (1 - w) * ((1 - u) * v00 + u * v01) + w * ((1 - u) * v10 + u * v11)
        return np.interp(z, self.zenith_rad, self.pcv_m[f])


@dataclass
class AntennaSet:
    """Antennas of one or several ANTEX / NGS files: satellites by id (several validity
    periods each) and receivers by 20-character name (:func:`receiver_key`)."""

    satellites: dict = field(default_factory=dict)
    receivers: dict = field(default_factory=dict)
    sources: list = field(default_factory=list)

    def satellite(self, sat_id: str, time_ns: int) -> Antenna | None:
        """The antenna of satellite ``sat_id`` valid at ``time_ns`` (None when none)."""
        for a in self.satellites.get(sat_id, ()):
            if a.valid_from_ns <= time_ns < a.valid_until_ns:
                return a
        return None

    def receiver(self, antenna_type: str) -> tuple[Antenna | None, bool]:
        """(antenna, exact) for a RINEX antenna type + radome: the calibration of that
        radome, else (``exact`` False) of the same antenna without radome (``NONE``)."""
        key = receiver_key(antenna_type)
        if key in self.receivers:
            return self.receivers[key], True
        bare = f"{key[:16]}NONE"
        if bare in self.receivers:
            return self.receivers[bare], False
        return None, False

    def merge(self, other: AntennaSet) -> AntennaSet:
        """Antennas of both (this set's first where both have one)."""
        out = AntennaSet(dict(other.satellites), dict(other.receivers), self.sources + other.sources)
        out.satellites.update(self.satellites)
        out.receivers.update(self.receivers)
        return out


def read_antex(path: str | PathLike, strict: bool = False) -> AntennaSet:
    """Every antenna of an ANTEX 1.4 file (compressed or not) with PCO and PCV (m).

    Raises :class:`satnav.errors.FormatError` when the file is not ANTEX; a damaged line is
    skipped with a warning naming it (an error with ``strict``), its antenna keeping what
    was read.
    """
    text = read_bytes(path).decode("ascii", errors="replace").splitlines()
    if not text or "ANTEX VERSION" not in text[0][60:]:
        raise FormatError("not an ANTEX file (no 'ANTEX VERSION / SYST' first line)", path, 1)
    out = AntennaSet(sources=[str(path)])
    cur: Antenna | None = None
    freq: str | None = None
    dazi = 0.0
    zen = (0.0, 0.0, 1.0)
    azi_rows: list = []

    def finish(a: Antenna | None):
        if a is None or not a.pco_m:
            return
        if a.sat_id:
            out.satellites.setdefault(a.sat_id, []).append(a)
        else:
            out.receivers.setdefault(a.name, a)

    for lineno, raw in enumerate(text, start=1):
        label = raw[60:].strip()
        try:
            if label == "START OF ANTENNA":
                finish(cur)
                cur, freq = None, None
            elif label == "TYPE / SERIAL NO":
                sat_id = raw[20:23].strip()
                is_sat = len(sat_id) == 3 and sat_id[0].isalpha() and sat_id[1:].isdigit()
                cur = Antenna(name=sat_id if is_sat else receiver_key(raw[:20]), antenna_type=raw[:20].strip(),
                              sat_id=sat_id if is_sat else "", svn=raw[40:44].strip(), source=str(path))
            elif cur is None:
                continue
            elif label == "DAZI":
                dazi = float(raw[2:8])
            elif label == "ZEN1 / ZEN2 / DZEN":
                zen = tuple(float(v) for v in raw[2:20].split())
                nz = int(round((zen[1] - zen[0]) / zen[2])) + 1
                cur.zenith_rad = np.radians(zen[0] + zen[2] * np.arange(nz))
                if dazi > 0:
                    cur.azimuth_rad = np.radians(np.arange(0.0, 360.0 + dazi / 2, dazi))
            elif label in ("VALID FROM", "VALID UNTIL"):
                value = _calendar(raw[:43])
                if label == "VALID FROM":
                    cur.valid_from_ns = value
                else:
                    cur.valid_until_ns = value
            elif label == "START OF FREQUENCY":
                freq = raw[3:6].strip()
                azi_rows = []
            elif label == "NORTH / EAST / UP" and freq:
                v = np.array([float(x) for x in raw[:30].split()[:3]]) / 1000.0
                if v.shape != (3,):
                    raise ValueError
                cur.pco_m[freq] = v
            elif label == "END OF FREQUENCY":
                if freq and azi_rows and len(cur.azimuth_rad):
                    grid = np.array(azi_rows) / 1000.0
                    if grid.shape == (len(cur.azimuth_rad), len(cur.zenith_rad)):
                        cur.pcv_azimuth_m[freq] = grid
                freq = None
            elif label == "END OF ANTENNA":
                finish(cur)
                cur = None
            elif freq and not label[:1].isalpha() and raw[:8].strip():
                # PCV rows (no label in columns 61-80: the values run across the line)
                words = raw.split()
                if words[0] == "NOAZI":
                    cur.pcv_m[freq] = np.array([float(x) for x in words[1:]]) / 1000.0
                    if len(cur.pcv_m[freq]) != len(cur.zenith_rad):
                        cur.pcv_m.pop(freq)
                        raise ValueError
                else:
                    azi_rows.append([float(x) for x in words[1:]])
        except (ValueError, IndexError):
            warn_damaged(f"bad ANTEX record {label or raw[:20]!r}, expected the ANTEX 1.4 layout", path, lineno,
                         strict, FormatError)
    finish(cur)
    return out


def read_ngs_pcv(path: str | PathLike, strict: bool = False) -> AntennaSet:
    """Receiver antennas of an NGS calibration file (``ngs_abs.pcv``, RTKLIB's format).

    Each antenna: a name line (type columns 1-16, radome 17-20), then for L1 and L2 one line
    of offsets north, east, up (mm) and two lines of 19 PCV values (mm) at elevations 90,
    85, ..., 0 degrees (NGS antenna calibration format; the same values as ANTEX's
    ``G01``/``G02`` on zenith angles 0..90). Absolute calibrations (``ngs_abs``) are
    absolute like IGS ANTEX. Raises :class:`~satnav.errors.FormatError` when no antenna is
    found; a damaged block is skipped with a warning naming its line.
    """
    lines = read_bytes(path).decode("ascii", errors="replace").splitlines()
    out = AntennaSet(sources=[str(path)])
    zenith = np.radians(np.arange(0.0, 90.1, 5.0))
    i = 0
    n = len(lines)

    def numbers(k):
        return [float(x) for x in lines[k].split()]

    while i < n:
        raw = lines[i]
        head = raw[:20]
        if not raw.strip() or raw.startswith(" ") or raw.startswith("<") or raw.startswith("ANTENNA ID") \
                or i + 6 >= n:
            i += 1
            continue
        try:
            rows = [numbers(i + k) for k in range(1, 7)]
            if [len(r) for r in rows] != [3, 10, 9, 3, 10, 9]:
                raise ValueError
        except ValueError:
            i += 1
            if head[:1].isalnum() and "NGS" in raw[40:]:
                warn_damaged("bad NGS antenna block, expected offsets (3 numbers) and 19 PCV values per "
                             "frequency", path, i, strict, FormatError)
            continue
        key = receiver_key(head)
        ant = Antenna(name=key, antenna_type=head.strip(), zenith_rad=zenith, source=str(path))
        for f, (off, a, b) in (("G01", rows[0:3]), ("G02", rows[3:6])):
            ant.pco_m[f] = np.array(off) / 1000.0
            ant.pcv_m[f] = np.array(a + b) / 1000.0
        out.receivers.setdefault(key, ant)
        i += 7
    if not out.receivers:
        raise FormatError("no antenna calibration found, expected an NGS antenna file (ngs_abs.pcv)", path, 1)
    return out


def read_antennas(*paths: str | PathLike, strict: bool = False) -> AntennaSet:
    """ANTEX and NGS files (told by content) merged into one :class:`AntennaSet`; the first
    file that has an antenna wins."""
    result = AntennaSet()
    for p in paths:
        head = read_bytes(p)[:200].decode("ascii", errors="replace")
        part = read_antex(p, strict) if "ANTEX VERSION" in head.splitlines()[0][60:] else read_ngs_pcv(p, strict)
        result = result.merge(part) if (result.satellites or result.receivers) else part
    return result


def write_antex(path: str | PathLike, antennas, *, comment: str = "") -> None:
    """Write ``antennas`` (:class:`Antenna`: PCO per frequency, non-azimuthal PCV on
    ``zenith_rad`` or zero) as an ANTEX 1.4 file that :func:`read_antex` reads back
    (absolute, ``NOAZI`` rows only; PCO in mm to 0.01, PCV to 0.01 mm). Satellites get
    ``VALID FROM``/``VALID UNTIL`` from their validity. Written atomically, never over an
    input (:mod:`satnav.io.atomic`)."""
    from ..gnss_time import ns_to_calendar
    from .atomic import atomic_output

    def rec(payload: str, label: str) -> str:
        return f"{payload:<60.60}{label}"

    def when(t: int) -> str:
        y, mo, d, h, mi, sec = (np.ravel(v)[0] for v in ns_to_calendar(np.int64(t)))
        return f"{int(y):6d}{int(mo):6d}{int(d):6d}{int(h):6d}{int(mi):6d}{float(sec):13.7f}"

    lines = [rec(f"{1.4:8.1f}{'':12}M", "ANTEX VERSION / SYST"), rec("A", "PCV TYPE / REFANT")]
    if comment:
        lines.append(rec(comment, "COMMENT"))
    lines.append(rec("", "END OF HEADER"))
    for a in antennas:
        zen = np.degrees(a.zenith_rad) if len(a.zenith_rad) > 1 else np.arange(0.0, 91.0, 5.0)
        step = float(zen[1] - zen[0])
        lines.append(rec("", "START OF ANTENNA"))
        lines.append(rec(f"{a.antenna_type:<20.20}{a.sat_id:<20.20}{a.svn:<10.10}", "TYPE / SERIAL NO"))
        lines.append(rec(f"{'FIELD':<20}{'satnav':<20}{0:6d}", "METH / BY / # / DATE"))
        lines.append(rec(f"{0.0:8.1f}", "DAZI"))
        lines.append(rec(f"{'':2}{zen[0]:6.1f}{zen[-1]:6.1f}{step:6.1f}", "ZEN1 / ZEN2 / DZEN"))
        lines.append(rec(f"{len(a.pco_m):6d}", "# OF FREQUENCIES"))
        if a.sat_id and a.valid_from_ns > np.iinfo(np.int64).min:
            lines.append(rec(when(a.valid_from_ns), "VALID FROM"))
        if a.sat_id and a.valid_until_ns < _NEVER:
            lines.append(rec(when(a.valid_until_ns), "VALID UNTIL"))
        for freq, pco in a.pco_m.items():
            lines.append(rec(f"{'':3}{freq}", "START OF FREQUENCY"))
            n, e, u = (1000.0 * np.asarray(pco, dtype=np.float64)).tolist()
            lines.append(rec(f"{n:10.2f}{e:10.2f}{u:10.2f}", "NORTH / EAST / UP"))
            pcv = 1000.0 * np.asarray(a.pcv_m.get(freq, np.zeros(len(zen))), dtype=np.float64)
            lines.append(f"{'':3}NOAZI" + "".join(f"{v:8.2f}" for v in pcv))
            lines.append(rec(f"{'':3}{freq}", "END OF FREQUENCY"))
        lines.append(rec("", "END OF ANTENNA"))
    with atomic_output(path, "w", encoding="ascii") as fh:
        fh.write("\n".join(lines) + "\n")
