"""RINEX clock files (2.00, 3.00-3.04): satellite (AS) and receiver (AR) clocks.

Format reference: J. Ray, W. Gurtner, M. Coleman, "RINEX Extensions to Handle Clock
Information", versions 2.00 (1999), 3.00 (2006), 3.02 (2010) and 3.04 (2017).

Layout differences handled here:

* up to 3.02 the header labels are in columns 61-80 and a data record starts
  ``AS G01  2020  6 25 ...`` (4-character name, year in columns 9-12);
* 3.04 widened the station/satellite name to 9 characters (``AS G01      2020 ...``,
  year in columns 14-17) and moved the header labels to columns 66-85.

The layout of every data record is recognised from where its year is, so files that
do not follow their announced version still read. Records carry 1-6 values (bias,
bias sigma, rate, rate sigma, acceleration, acceleration sigma); values 3-6 are on a
continuation line. Calibration (CR), discontinuity (DR) and monitor (MS) records are
skipped. All numbers are in seconds (s, s/s, s/s^2); the bad-value marker 999999.999999
(either sign) is a missing value (NaN).

Epochs are converted to int64 GPST ns from the ``TIME SYSTEM ID`` (GPS when absent);
as in RINEX observation files, ``GLO`` is taken as UTC(SU) (leap seconds, no 3 h).

:func:`write_clk` writes version 3.04 (Table A15 header records, labels in columns 66-85;
Table A16 data records ``A2,1X,A9,1X,I4,1X,4(I2,1X),F9.6,1X,I2,3X,E19.12``): AR records
of receivers and AS records of satellites, one value (the bias) each, epochs in GPST.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path

import numpy as np

from ..errors import ClockFileError, warn_damaged
from ..gnss_time import calendar_to_ns, to_gpst
from ..satellites import SYSTEMS, satellite_id, satellite_ids, satellite_index, satellite_index_of
from ._fixed_columns import LineTable, parse_floats, parse_ints
from .textfile import read_bytes

__all__ = ["ClockData", "ClockHeader", "read_clk", "write_clk", "widelane_satellite_biases"]

_SYSTEM_NUMBER = np.full(256, -1, dtype=np.int64)
for _i, _s in enumerate(SYSTEMS):
    _SYSTEM_NUMBER[ord(_s)] = _i
_SYSTEM_NUMBER[ord(" ")] = 0  # a blank system letter means GPS (RINEX 2)

#: Values of this size or larger (either sign) are the "bad or absent value" marker
#: 999999.999999 (and its rounding), read as missing (NaN).
CLK_MISSING_VALUE_FROM = 999999.999999 - 1e-6

_RECORD_TYPES = (b"AR", b"AS", b"CR", b"DR", b"MS")


@dataclass
class ClockHeader:
    """Header of a RINEX clock file (the first one when several are merged)."""

    version: float = 0.0
    system: str = ""
    program: str = ""
    run_by: str = ""
    time_system: str = "GPS"
    leap_seconds: int | None = None
    data_types: list = field(default_factory=list)
    analysis_center: str = ""
    analysis_center_name: str = ""
    reference_clocks: list = field(default_factory=list)
    stations: list = field(default_factory=list)
    station_positions_m: dict = field(default_factory=dict)
    terrestrial_reference_frame: str = ""
    satellites: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int16))
    comments: list = field(default_factory=list)


@dataclass
class ClockData:
    """Precise clocks from RINEX clock files.

    Attributes
    ----------
    satellite_time : ndarray int64 (m,)
        Epochs of the satellite clocks, GPST ns, sorted and unique.
    satellites : ndarray int16 (k,)
        Satellite indices, sorted.
    satellite_bias_s : ndarray float64 (m, k)
        Satellite clock bias (s), NaN where absent.
    satellite_bias_sigma_s : ndarray float64 (m, k)
        Its standard deviation (s), NaN where absent.
    satellite_rate_s_s, satellite_rate_sigma_s_s : ndarray (m, k) or None
        Clock rate (s/s) and its sigma when any record carries them.
    satellite_acceleration_s_s2, satellite_acceleration_sigma_s_s2 : ndarray or None
    stations : dict of str -> (time ndarray int64, bias_s ndarray float64)
        Receiver (AR) clocks per station name, sorted by time.
    station_sigma_s : dict of str -> ndarray float64
        Bias sigma (s) per station, aligned with ``stations[name][0]``.
    header : ClockHeader
    sources : list of str
    """

    satellite_time: np.ndarray
    satellites: np.ndarray
    satellite_bias_s: np.ndarray
    satellite_bias_sigma_s: np.ndarray
    satellite_rate_s_s: np.ndarray | None = None
    satellite_rate_sigma_s_s: np.ndarray | None = None
    satellite_acceleration_s_s2: np.ndarray | None = None
    satellite_acceleration_sigma_s_s2: np.ndarray | None = None
    stations: dict = field(default_factory=dict)
    station_sigma_s: dict = field(default_factory=dict)
    header: ClockHeader = field(default_factory=ClockHeader)
    sources: list = field(default_factory=list)

    def satellite_ids(self) -> list[str]:
        """Satellite ids ("G01", ...) in the order of :attr:`satellites`."""
        return satellite_ids(self.satellites).tolist()

    def __repr__(self) -> str:
        return (
            f"ClockData({len(self.satellite_time)} epochs x {len(self.satellites)} satellites, "
            f"{len(self.stations)} stations, version {self.header.version:.2f})"
        )


def widelane_satellite_biases(header: ClockHeader) -> dict[int, float]:
    """Wide-lane satellite biases (cycles) in the COMMENT lines of CNES/CLS GRG clock files
    (integer-clock products before bias SINEX OSB)::

        WL G01  2020  6 25 12  0  0.000000  1   -0.110300E+01  0102 COMMENT

    (satellite, epoch, count, value; GPS values whole, Galileo values fractional): satellite
    index -> value. The Melbourne-Wuebbena combination of P1/P2 (C1W/C2W) or E1/E5a codes
    *plus* this value is an integer up to a receiver bias (checked on ESBC 2020-177: the arc
    means of 60 GPS and 40 Galileo arcs fall within +-0.1 cycle of one receiver value per
    system with the plus sign, spread over the cycle with the minus). Empty when none."""
    out = {}
    for line in header.comments:
        words = line.split()
        if len(words) >= 10 and words[0] == "WL":
            try:
                out[int(satellite_index(words[1]))] = float(words[9])
            except (ValueError, KeyError):
                continue
    return out


# ---------------------------------------------------------------------------- header


def _label(line: str) -> str:
    """Header label of a line (columns 61-80 before 3.04, 66-85 from 3.04 on)."""
    return line[60:].strip()


_KNOWN_LABELS = (
    "RINEX VERSION / TYPE", "PGM / RUN BY / DATE", "COMMENT", "SYS / # / OBS TYPES",
    "TIME SYSTEM ID", "LEAP SECONDS", "LEAP SECONDS GNSS", "SYS / DCBS APPLIED",
    "SYS / PCVS APPLIED", "# / TYPES OF DATA", "STATION NAME / NUM", "STATION CLK REF",
    "ANALYSIS CENTER", "# OF CLK REF", "ANALYSIS CLK REF", "# OF SOLN STA / TRF",
    "SOLN STA NAME / NUM", "# OF SOLN SATS", "PRN LIST", "END OF HEADER",
)


def _split_label(line: str, v304: bool) -> tuple[str, str]:
    """(content, label) of a header line, accepting either label column."""
    for start in ((65, 60) if v304 else (60, 65)):
        lab = line[start:].strip()
        if lab in _KNOWN_LABELS:
            return line[:start], lab
    # unknown label: take columns 61+ (or 66+) as label
    start = 65 if v304 else 60
    return line[:start], line[start:].strip()


def _read_header(table: LineTable, path, strict: bool = False) -> tuple[ClockHeader, int]:
    n = len(table)
    first = table.line(0) if n else ""
    if not first.strip():
        raise ClockFileError("empty file, expected 'RINEX VERSION / TYPE' on the first line", path, 1)
    h = ClockHeader()
    try:
        h.version = float(first[0:9])
    except ValueError:
        raise ClockFileError(
            f"bad RINEX version {first[0:9]!r}, expected e.g. 2.00, 3.00, 3.04", path, 1
        ) from None
    v304 = h.version >= 3.035
    if "CLOCK" not in first[20:60].upper() and first[20:40].strip()[:1] != "C":
        raise ClockFileError("not a RINEX clock file: 'C' / 'CLOCK DATA' expected in columns 21-40", path, 1)
    h.system = first[40:41].strip() if not v304 else first[42:43].strip()
    ts = None
    sats: list[int] = []
    i = 1
    while i < n:
        line = table.line(i)
        content, label = _split_label(line, v304)
        if label == "END OF HEADER":
            return _finish_header(h, ts, sats), i + 1
        if label == "PGM / RUN BY / DATE":
            h.program, h.run_by = content[0:20].strip(), content[20:40].strip()
        elif label == "COMMENT":
            h.comments.append(content.rstrip())
        elif label == "TIME SYSTEM ID":
            ts = content[3:6].strip() or None
        elif label == "LEAP SECONDS":
            try:
                h.leap_seconds = int(content[0:6])
            except ValueError:
                warn_damaged("bad LEAP SECONDS value", path, i + 1, strict, error=ClockFileError)
        elif label == "# / TYPES OF DATA":
            h.data_types = content[6:].split()
        elif label == "ANALYSIS CENTER":
            h.analysis_center, h.analysis_center_name = content[0:3].strip(), content[5:].strip()
        elif label == "ANALYSIS CLK REF":
            h.reference_clocks.append(content[0:9 if v304 else 4].strip())
        elif label == "# OF SOLN STA / TRF":
            h.terrestrial_reference_frame = content[10:].strip()
        elif label == "SOLN STA NAME / NUM":
            width = 9 if v304 else 4
            name = content[0:width].strip()
            h.stations.append(name)
            try:
                xyz = [int(content[k : k + 12]) * 1e-3 for k in ((25, 37, 49) if v304 else (25, 37, 49))]
                h.station_positions_m[name] = np.array(xyz)
            except ValueError:
                pass
        elif label == "PRN LIST":
            for tok in content.split():
                try:
                    sats.append(satellite_index(tok))
                except ValueError:
                    warn_damaged(f"bad satellite id {tok!r} in PRN LIST", path, i + 1, strict, error=ClockFileError)
        i += 1
    raise ClockFileError("no END OF HEADER line: header incomplete or not a RINEX clock file", path, n)


def _finish_header(h: ClockHeader, ts, sats) -> ClockHeader:
    h.time_system = (ts or "GPS").upper()
    h.satellites = np.array(sats, dtype=np.int16)
    return h


def _gpst(label_ns, time_system: str):
    """GPST ns of epoch labels in the file's TIME SYSTEM ID."""
    ts = time_system.upper()
    if ts == "GLO":
        ts = "UTC"  # RINEX convention: GLO epochs are UTC(SU)
    return to_gpst(label_ns, ts)


# ------------------------------------------------------------------------------ body


def _read_one(path, strict: bool) -> dict:
    data = read_bytes(path)
    table = LineTable(data)
    header, body_start = _read_header(table, path, strict)
    try:
        _gpst(np.int64(0), header.time_system)
    except ValueError:
        raise ClockFileError(
            f"unknown TIME SYSTEM ID {header.time_system!r}, expected GPS, GAL, BDT, GLO, UTC, TAI, QZS or IRN",
            path,
        ) from None
    n = len(table)
    rows = np.arange(body_start, n)
    head = table.block(rows, 0, 3)
    two = head[:, :2].copy().view("S2").ravel()
    is_record = np.isin(two, np.array(_RECORD_TYPES, dtype="S2")) & (head[:, 2] == 32)
    lengths = table.lengths[rows]
    is_blank = np.all(table.block(rows, 0, 8) == 32, axis=1) & (lengths < 20) | (lengths == 0)
    is_cont = ~is_record & ~is_blank & (head[:, 0] == 32)

    wanted = is_record & ((two == b"AS") | (two == b"AR"))
    rec_rows = rows[wanted]
    blk = table.block(rec_rows, 0, 85)
    # layout: year in columns 9-12 (<= 3.02) or 14-17 (3.04)
    year_a, ok_a = parse_ints(blk[:, 8:12])
    ok_a &= year_a > 1900
    shift = np.where(ok_a, 0, 5)
    if (~ok_a).any():
        # move the 3.04 rows left by 5 columns (name keeps 9 characters in its own field)
        sub = ~ok_a
        moved = blk[sub].copy()
        name9 = moved[:, 3:12].copy()
        moved[:, 8:80] = moved[:, 13:85]
        blk[sub] = moved
        names = np.concatenate([blk[:, 3:7], np.full((len(blk), 5), 32, np.uint8)], axis=1)
        names[sub] = name9
    else:
        names = blk[:, 3:7]
    # records of one epoch are usually consecutive: parse each run of equal epoch text once
    epoch_text = blk[:, 8:34]
    run_start = np.ones(len(blk), dtype=bool)
    if len(blk) > 1:
        run_start[1:] = np.any(epoch_text[1:] != epoch_text[:-1], axis=1)
    run_of = np.cumsum(run_start) - 1
    eb = epoch_text[run_start]
    fields = [
        parse_ints(eb[:, 0:4]), parse_ints(eb[:, 4:7]), parse_ints(eb[:, 7:10]),
        parse_ints(eb[:, 10:13]), parse_ints(eb[:, 13:16]), parse_floats(eb[:, 16:26]),
    ]
    (year, ok_y), (month, ok_mo), (day, ok_d), (hour, ok_h), (minute, ok_mi), (second, ok_s) = (
        (v[run_of], o[run_of]) for v, o in fields
    )
    nval, ok_n = parse_ints(blk[:, 34:37])
    v1, ok_v1 = parse_floats(blk[:, 39:59])
    v2, ok_v2 = parse_floats(blk[:, 59:79])
    ok_epoch = ok_y & ok_mo & ok_d & ok_h & ok_mi & ok_s & (year > 1900) & (month >= 1) & (month <= 12)
    ok_epoch &= (day >= 1) & (day <= 31) & (hour <= 24) & (minute <= 60) & np.isfinite(second)
    ok_vals = ok_n & (nval >= 1) & (nval <= 6) & ok_v1 & ok_v2 & np.isfinite(v1)

    # fall back to whitespace splitting where the fixed columns did not parse
    for j in np.flatnonzero(ok_epoch & ~ok_vals):
        text = table.line(int(rec_rows[j]))[34 + int(shift[j]) :].split()
        try:
            k = int(text[0])
            vals = [float(t.replace("D", "E").replace("d", "e")) for t in text[1:3]]
        except (ValueError, IndexError):
            continue
        if 1 <= k <= 6 and vals:
            nval[j], v1[j] = k, vals[0]
            v2[j] = vals[1] if len(vals) > 1 else np.nan
            ok_vals[j] = True
    ok = ok_epoch & ok_vals
    for j in np.flatnonzero(~ok):
        warn_damaged(
            "damaged clock data record, expected 'AS/AR name yyyy mm dd hh mm ss.ssssss n value value'",
            path,
            int(rec_rows[j]) + 1,
            strict,
            error=ClockFileError,
        )
    v2 = np.where(nval >= 2, v2, np.nan)
    # the "bad or absent value" marker 999999.999999 (s, either sign) is a missing value
    v1 = np.where(np.abs(v1) < CLK_MISSING_VALUE_FROM, v1, np.nan)
    v2 = np.where(np.abs(v2) < CLK_MISSING_VALUE_FROM, v2, np.nan)

    # continuation lines (values 3-6) follow records with more than 2 values
    extra = None
    line_pos = np.searchsorted(rows, rec_rows)
    need = ok & (nval > 2)
    if need.any():
        extra = np.full((len(rec_rows), 4), np.nan)
        for j in np.flatnonzero(need):
            p = line_pos[j] + 1
            if p < len(rows) and is_cont[p]:
                try:
                    vals = [float(t.replace("D", "E")) for t in table.line(int(rows[p])).split()]
                except ValueError:
                    vals = None
                if vals is not None:
                    vals = [v if abs(v) < CLK_MISSING_VALUE_FROM else np.nan for v in vals]
                if vals is not None and len(vals) >= int(nval[j]) - 2:
                    extra[j, : len(vals[:4])] = vals[:4]
                    extra[j, int(nval[j]) - 2 :] = np.nan
                    continue
            warn_damaged(
                f"record announces {int(nval[j])} values but its continuation line is missing or damaged "
                "(extra values dropped)",
                path,
                int(rows[min(p, len(rows) - 1)]) + 1,
                strict,
                error=ClockFileError,
            )
    # stray lines that are neither records, continuations of records nor blank
    owner_ok = np.zeros(len(rows), dtype=bool)
    rec_all = np.flatnonzero(is_record)
    if len(rec_all):
        nxt = rec_all + 1
        nxt = nxt[nxt < len(rows)]
        owner_ok[nxt] = True  # a continuation directly after any record is tolerated
    stray = ~is_record & ~is_blank & ~(is_cont & owner_ok)
    for p in np.flatnonzero(stray):
        warn_damaged(
            f"unexpected line {table.line(int(rows[p]))[:20]!r}, expected a clock data record (AS, AR, CR, DR, MS)",
            path,
            int(rows[p]) + 1,
            strict,
            error=ClockFileError,
        )

    label_ns = calendar_to_ns(
        np.where(ok, year, 1980), np.where(ok, month, 1), np.where(ok, day, 6),
        hour * ok, minute * ok, np.where(ok, second, 0.0),
    )
    t = np.atleast_1d(_gpst(label_ns, header.time_system))
    kind = blk[:, 1]
    is_sat = ok & (kind == ord("S"))
    is_rcv = ok & (kind == ord("R"))

    # satellites: system letter + 2-digit number
    sysnum = _SYSTEM_NUMBER[blk[:, 3]]
    prn, ok_prn = parse_ints(blk[:, 4:6])
    bad_sat = is_sat & ~((sysnum >= 0) & ok_prn & (prn >= 1) & (prn <= 99))
    for j in np.flatnonzero(bad_sat):
        warn_damaged("bad satellite id in AS record, expected e.g. G01", path, int(rec_rows[j]) + 1, strict,
                     error=ClockFileError)
    is_sat &= ~bad_sat
    sat = satellite_index_of(sysnum, prn).astype(np.int16)

    out = {
        "path": str(path),
        "header": header,
        "sat_time": t[is_sat],
        "sat": sat[is_sat],
        "sat_values": np.column_stack([v1, v2])[is_sat],
        "sat_extra": None if extra is None else extra[is_sat],
    }
    rcv_names = np.char.strip(np.ascontiguousarray(names[is_rcv]).view(f"S{names.shape[1]}").ravel())
    stations = {}
    for name in np.unique(rcv_names):
        sel = rcv_names == name
        stations[name.decode("ascii", "replace")] = (t[is_rcv][sel], v1[is_rcv][sel], v2[is_rcv][sel])
    out["stations"] = stations
    return out


def _assemble(parts: list[dict]) -> ClockData:
    parts = sorted(parts, key=lambda p: p["sat_time"].min() if len(p["sat_time"]) else 0)
    time = np.unique(np.concatenate([p["sat_time"] for p in parts]))
    sats = np.unique(np.concatenate([p["sat"] for p in parts] + [p["header"].satellites for p in parts]))
    m, k = len(time), len(sats)
    bias = np.full((m, k), np.nan)
    sigma = np.full((m, k), np.nan)
    has_extra = any(p["sat_extra"] is not None for p in parts)
    extra = np.full((4, m, k), np.nan) if has_extra else None
    for p in parts:
        ti = np.searchsorted(time, p["sat_time"])
        si = np.searchsorted(sats, p["sat"])
        bias[ti, si] = p["sat_values"][:, 0]
        sigma[ti, si] = p["sat_values"][:, 1]
        if p["sat_extra"] is not None:
            for c in range(4):
                extra[c, ti, si] = p["sat_extra"][:, c]
    stations: dict = {}
    station_sigma: dict = {}
    names = sorted({name for p in parts for name in p["stations"]})
    for name in names:
        ts, bs, ss = [], [], []
        for p in parts:
            if name in p["stations"]:
                t, b, s = p["stations"][name]
                ts.append(t)
                bs.append(b)
                ss.append(s)
        t = np.concatenate(ts)
        b = np.concatenate(bs)
        s = np.concatenate(ss)
        # sort by time; on duplicates the later file wins
        order = np.argsort(t, kind="stable")[::-1]
        t_rev = t[order]
        uniq, first = np.unique(t_rev, return_index=True)
        pick = order[first]
        stations[name] = (uniq, b[pick])
        station_sigma[name] = s[pick]
    header = parts[0]["header"]
    return ClockData(
        satellite_time=time,
        satellites=sats.astype(np.int16),
        satellite_bias_s=bias,
        satellite_bias_sigma_s=sigma,
        satellite_rate_s_s=None if extra is None else extra[0],
        satellite_rate_sigma_s_s=None if extra is None else extra[1],
        satellite_acceleration_s_s2=None if extra is None else extra[2],
        satellite_acceleration_sigma_s_s2=None if extra is None else extra[3],
        stations=stations,
        station_sigma_s=station_sigma,
        header=header,
        sources=[p["path"] for p in parts],
    )


def read_clk(*paths: str | PathLike, strict: bool = False) -> ClockData:
    """Read one or several RINEX clock files (2.00, 3.00-3.04) and merge them.

    Parameters
    ----------
    *paths : str or PathLike
        Clock files, plain or compressed. Several files are merged: epochs sorted and
        unique (the later file's value wins on a duplicate), satellites and stations
        united.
    strict : bool
        Raise :class:`~satnav.errors.ClockFileError` on a damaged record instead of
        warning and skipping it.

    Returns
    -------
    ClockData
    """
    if not paths:
        raise TypeError("read_clk() needs at least one path")
    return _assemble([_read_one(p, strict) for p in paths])


# ---------------------------------------------------------------------------- writer

#: Per written version: header label column, name width, PRN LIST entries per line.
_WRITE_LAYOUT = {3.04: (65, 9, 16), 3.00: (60, 4, 15)}


def _record(kind: str, name: str, time_ns: int, value: float, version: float) -> str:
    """One data record with one value (Table A16). 3.04: ``A2,1X,A9,1X,I4,1X,4(I2,1X),F9.6,
    1X,I2,3X,E19.12`` (year in columns 14-17, bias in 46-64); 3.00: ``A2,1X,A4,1X,I4,4I3,
    F10.6,I3,3X,E19.12`` (year in columns 9-12, bias in 41-59)."""
    from ..gnss_time import ns_to_calendar
    from .rinex_nav_writer import format_field

    y, mo, d, h, mi, _ = (int(np.ravel(x)[0]) for x in ns_to_calendar(np.int64(time_ns)))
    sec = (int(time_ns) % (60 * 10**9)) / 1e9
    if version >= 3.04:
        return f"{kind:2} {name:<9.9} {y:4d} {mo:02d} {d:02d} {h:02d} {mi:02d} {sec:9.6f} {1:2d}   {format_field(value)}"
    return f"{kind:2} {name:<4.4} {y:4d}{mo:3d}{d:3d}{h:3d}{mi:3d}{sec:10.6f}{1:3d}   {format_field(value)}"


def write_clk(path: str | PathLike, satellite_time_ns, satellites, satellite_bias_s, *,
              station_time_ns=None, stations=(), station_bias_s=None, station_positions_m=None,
              reference_station: str | None = None, system: str = "M", program: str = "satnav",
              run_by: str = "", analysis_center: tuple[str, str] = ("SAT", "satnav"),
              frame: str = "ITRS", comments=(), version: float = 3.04) -> Path:
    """Write a RINEX clock file (3.04, or 3.00 for older readers): AS records for
    ``satellites`` (ids "I01" or indices) at ``satellite_time_ns`` (m,) GPST ns with biases
    ``satellite_bias_s`` (m, k) seconds, and AR records for ``stations`` (names, at most 9
    characters; 4 in 3.00) at ``station_time_ns`` with ``station_bias_s`` (m', s) seconds;
    NaN values are not written. Epochs are GPST (``TIME SYSTEM ID`` GPS). The header names
    ``reference_station`` as the analysis clock reference and the stations' ITRS
    coordinates (``station_positions_m`` (s, 3), written in mm). Written atomically; an
    existing input is never overwritten (:mod:`satnav.io.atomic`)."""
    from datetime import datetime, timezone

    from .atomic import atomic_output

    if version not in _WRITE_LAYOUT:
        raise ClockFileError(f"RINEX clock version {version}: expected 3.04 or 3.00", path)
    col, width, per_line = _WRITE_LAYOUT[version]

    def head(payload: str, label: str) -> str:
        return f"{payload[:col]:<{col}}{label}"

    sat_ids = [s if isinstance(s, str) else satellite_id(int(s)) for s in satellites]
    for s in sat_ids:
        satellite_index(s)  # raises on an unknown id
    t_sat = np.asarray(satellite_time_ns, dtype=np.int64)
    bias = np.asarray(satellite_bias_s, dtype=np.float64).reshape(len(t_sat), len(sat_ids))
    names = [str(n) for n in stations]
    bad = [n for n in names if not 1 <= len(n) <= width or " " in n]
    if bad:
        raise ClockFileError(f"station name {bad[0]!r}: expected 1 to {width} characters without blanks "
                             f"in RINEX clock {version:.2f}", path)
    t_sta = np.zeros(0, np.int64) if station_time_ns is None else np.asarray(station_time_ns, dtype=np.int64)
    sta_bias = (np.zeros((len(t_sta), 0)) if station_bias_s is None
                else np.asarray(station_bias_s, dtype=np.float64).reshape(len(t_sta), len(names)))
    types = (["AR"] if names else []) + ["AS"]
    now = f"{datetime.now(timezone.utc):%Y%m%d %H%M%S} UTC"
    if version >= 3.04:  # Table A15 of 3.04: F4.2,17X,A1,20X,A1,22X; program/agency/date
        first = f"{version:4.2f}{'':17}C{'':20}{system[:1]}"
        pgm = f"{program:<19.19}{'':2}{run_by:<19.19}{'':2}{now}"
    else:  # 3.00: F9.2,11X,A1,19X,A1,19X; 3A20
        first = f"{version:9.2f}{'':11}C{'':19}{system[:1]}"
        pgm = f"{program:<20.20}{run_by:<20.20}{now}"
    lines = [head(first, "RINEX VERSION / TYPE"), head(pgm, "PGM / RUN BY / DATE"),
             *(head(c, "COMMENT") for c in comments),
             head("   GPS", "TIME SYSTEM ID"),
             head(f"{len(types):6d}" + "".join(f"{'':4}{t}" for t in types), "# / TYPES OF DATA"),
             head(f"{analysis_center[0]:<3.3}  {analysis_center[1]}", "ANALYSIS CENTER")]
    if reference_station is not None:
        lines += [head(f"{1:6d}", "# OF CLK REF"), head(f"{reference_station:<{width}}", "ANALYSIS CLK REF")]
    if names:
        lines.append(head(f"{len(names):6d}{'':4}{frame}", "# OF SOLN STA / TRF"))
        xyz = (np.zeros((len(names), 3)) if station_positions_m is None
               else np.asarray(station_positions_m, dtype=np.float64).reshape(len(names), 3))
        for n, p in zip(names, np.rint(xyz * 1000).astype(np.int64)):
            lines.append(head(f"{n:<{width}} {'':20}{p[0]:11d} {p[1]:11d} {p[2]:11d}", "SOLN STA NAME / NUM"))
    lines.append(head(f"{len(sat_ids):6d}", "# OF SOLN SATS"))
    for i in range(0, len(sat_ids), per_line):
        lines.append(head("".join(f"{s:<4}" for s in sat_ids[i:i + per_line]), "PRN LIST"))
    lines.append(head("", "END OF HEADER"))
    # data: epoch by epoch, receivers before satellites (the order of IGS files)
    events = []
    for i, t in enumerate(t_sta):
        events += [(int(t), 0, i, j) for j in range(len(names)) if np.isfinite(sta_bias[i, j])]
    for i, t in enumerate(t_sat):
        events += [(int(t), 1, i, j) for j in range(len(sat_ids)) if np.isfinite(bias[i, j])]
    events.sort()
    body = [_record("AR", names[j], t, sta_bias[i, j], version) if kind == 0
            else _record("AS", sat_ids[j], t, bias[i, j], version) for t, kind, i, j in events]
    out = Path(path)
    with atomic_output(out, "wb") as fh:
        fh.write(("\n".join(lines + body) + "\n").encode("ascii"))
    return out
