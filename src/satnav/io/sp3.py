"""SP3 precise orbit files (versions a, c and d): reading, merging and writing.

Format references: S. Hilla, "The Extended Standard Product 3 Orbit Format (SP3-c)",
NGS 2002/2010, and "SP3-d", IGS 2016; B. Remondi, SP3-a (NGS 1989).

Reading is vectorized: the body is classified line by line with NumPy and the fixed
columns of all position ('P') and velocity ('V') records are parsed at once.

Units in the data model are SI: positions m (SP3: km), velocities m/s (SP3: dm/s),
clocks s (SP3: microseconds), clock rates s/s (SP3: 1e-4 microseconds/s). Epochs are
int64 GPST nanoseconds, converted from the file's time system (``%c`` line): GPS, GAL,
QZS, IRN as is, BDT + 14 s, UTC + leap seconds, TAI - 19 s, and GLO as UTC(SU), i.e. UTC
(the SP3-c/d definition: "GLO denotes GLONASS UTC time", the same convention as RINEX; not
GLONASS system time UTC(SU) + 3 h).

Missing values (position component 0.000000, clock 999999.999999 or larger, of either sign:
the "bad or absent value" marker) are NaN.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path

import numpy as np

from ..errors import Sp3Error, warn_damaged
from ..gnss_time import NS_PER_S, calendar_to_ns, gps_week_tow, ns_to_calendar, to_gpst
from ..satellites import SYSTEMS, satellite_id, satellite_ids, satellite_index, satellite_index_of
from ._fixed_columns import LineTable, parse_floats, parse_ints
from .textfile import read_bytes

__all__ = ["Sp3", "Sp3Header", "read_sp3", "write_sp3", "SP3_MISSING_CLOCK"]

#: Clock value marking a missing clock (microseconds); anything >= this is missing.
SP3_MISSING_CLOCK = 999999.999999

_MISSING_CLOCK_FROM = SP3_MISSING_CLOCK - 1e-6  # tolerant of the last digit's rounding

#: satellite system character -> system number in satnav.satellites.SYSTEMS ('' = GPS)
_SYSTEM_NUMBER = np.full(256, -1, dtype=np.int64)
for _i, _s in enumerate(SYSTEMS):
    _SYSTEM_NUMBER[ord(_s)] = _i
_SYSTEM_NUMBER[ord(" ")] = 0  # SP3-a: blank system = GPS

_FLAG_NAMES = ("clock_event", "clock_predicted", "maneuver", "orbit_predicted")
_FLAG_COLUMNS = {"clock_event": (74, "E"), "clock_predicted": (75, "P"), "maneuver": (78, "M"), "orbit_predicted": (79, "P")}


@dataclass
class Sp3Header:
    """Header of an SP3 file (of the first file when several were merged).

    ``accuracy_m`` holds the ``++`` accuracy (2**exponent mm, in m) per header
    satellite (NaN when 0 = unknown); ``base_position``/``base_clock`` are the ``%f``
    bases of the standard deviations in the records.
    """

    version: str = "d"
    pv_flag: str = "P"
    start_time: int = 0
    number_of_epochs: int = 0
    data_used: str = ""
    coordinate_system: str = ""
    orbit_type: str = ""
    agency: str = ""
    gps_week: int = 0
    seconds_of_week: float = 0.0
    interval_s: float = 0.0
    mjd: int = 0
    fraction_of_day: float = 0.0
    file_type: str = "G"
    time_system: str = "GPS"
    satellites: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int16))
    accuracy_m: np.ndarray = field(default_factory=lambda: np.zeros(0))
    base_position: float = 0.0
    base_clock: float = 0.0
    comments: list = field(default_factory=list)


@dataclass
class Sp3:
    """Precise orbits and clocks on a grid of epochs x satellites.

    Attributes
    ----------
    time : ndarray int64 (m,)
        Epochs, GPST nanoseconds, sorted and unique.
    satellites : ndarray int16 (k,)
        Satellite indices (see :mod:`satnav.satellites`), sorted.
    position_m : ndarray float64 (m, k, 3)
        ECEF positions (m) in the file's frame (``header.coordinate_system``), NaN where
        missing.
    clock_s : ndarray float64 (m, k)
        Satellite clock offsets (s), NaN where missing.
    velocity_m_s : ndarray (m, k, 3) or None
        Velocities (m/s) when the file has 'V' records.
    clock_rate_s_s : ndarray (m, k) or None
        Clock rates (s/s) when the file has 'V' records.
    flags : dict of str -> ndarray bool (m, k)
        "clock_event", "clock_predicted", "maneuver", "orbit_predicted".
    header : Sp3Header
    sources : list of str
        The files read.
    """

    time: np.ndarray
    satellites: np.ndarray
    position_m: np.ndarray
    clock_s: np.ndarray
    velocity_m_s: np.ndarray | None = None
    clock_rate_s_s: np.ndarray | None = None
    flags: dict = field(default_factory=dict)
    header: Sp3Header = field(default_factory=Sp3Header)
    sources: list = field(default_factory=list)

    def satellite_ids(self) -> list[str]:
        """Satellite ids ("G01", "R21", ...) in the order of :attr:`satellites`."""
        return satellite_ids(self.satellites).tolist()

    @property
    def interval_s(self) -> float:
        """Most common spacing of the epochs (s), or the header interval."""
        if len(self.time) > 1:
            d = np.diff(self.time)
            values, counts = np.unique(d, return_counts=True)
            return float(values[np.argmax(counts)]) / NS_PER_S
        return float(self.header.interval_s)

    def __repr__(self) -> str:
        return (
            f"Sp3({len(self.time)} epochs x {len(self.satellites)} satellites, "
            f"version {self.header.version}, {self.header.agency.strip()}, "
            f"velocities={'yes' if self.velocity_m_s is not None else 'no'})"
        )


# --------------------------------------------------------------------------- reading


def _gpst_from_labels(label_ns, time_system: str):
    """GPST ns of epoch labels in the file's time system (blank or 'ccc': GPS)."""
    ts = time_system.strip().upper()
    if ts in ("", "CCC", "GPS"):
        return np.asarray(label_ns, dtype=np.int64)
    if ts == "GLO":  # SP3: "GLONASS UTC time", i.e. UTC(SU) without the +3 h of GLONASST
        ts = "UTC"
    return to_gpst(np.asarray(label_ns, dtype=np.int64), ts)


def _parse_epoch_text(text: str):
    """'YYYY MM DD HH MM SS.SSSSSSSS' (SP3 columns 4-31) -> label ns or None."""
    try:
        year = int(text[0:4])
        month, day, hour, minute = (int(text[i : i + 2]) for i in (5, 8, 11, 14))
        second = float(text[17:28])
    except ValueError:
        return None
    if not (1 <= month <= 12 and 1 <= day <= 31 and 0 <= hour <= 24 and 0 <= minute <= 60):
        return None
    return int(calendar_to_ns(year, month, day, hour, minute, second))


def _parse_sat_token(token: str):
    """Satellite index of an SP3 satellite token ('G01', 'R 5', '  1'); None for 0/blank."""
    t = token.strip()
    if not t or t in ("0", "00"):
        return None
    if t[0].isdigit():
        t = "G" + t
    return satellite_index(t)


def _read_header(table: LineTable, path, strict: bool = False) -> tuple[Sp3Header, int]:
    """Parse the header; returns it and the 0-based index of the first body line."""
    n = len(table)
    line0 = table.line(0) if n else ""
    if not line0.strip():
        raise Sp3Error("empty file, expected an SP3 header line starting '#a', '#c' or '#d'", path, 1)
    if not line0.startswith("#") or line0.startswith("##"):
        raise Sp3Error(f"expected an SP3 header line starting '#a', '#c' or '#d', found {line0[:20]!r}", path, 1)
    h = Sp3Header()
    version = line0[1:2].strip().lower() or "a"
    if version not in "abcd":
        raise Sp3Error(f"unsupported SP3 version {line0[1:2]!r}, expected a, b, c or d", path, 1)
    h.version = version
    h.pv_flag = line0[2:3].strip().upper() or "P"
    start = _parse_epoch_text(line0[3:31])
    if start is None:
        raise Sp3Error("bad start epoch in the first header line, expected 'YYYY MM DD HH MM SS.S'", path, 1)
    try:
        h.number_of_epochs = int(line0[32:39])
    except ValueError:
        h.number_of_epochs = 0
    h.data_used = line0[40:45].strip()
    h.coordinate_system = line0[46:51].strip()
    h.orbit_type = line0[52:55].strip()
    h.agency = line0[56:60].strip()

    i = 1
    if i < n and table.line(i).startswith("##"):
        line = table.line(i)
        try:
            h.gps_week = int(line[3:7])
            h.seconds_of_week = float(line[8:23])
            h.interval_s = float(line[24:38])
            h.mjd = int(line[39:44])
            h.fraction_of_day = float(line[45:60])
        except ValueError:
            raise Sp3Error(
                "bad second header line, expected '## week seconds-of-week interval MJD fraction'", path, i + 1
            ) from None
        i += 1
    else:
        raise Sp3Error("missing the second header line '##'", path, i + 1)

    sats: list[int] = []
    accuracy: list[int] = []
    n_sats = None
    time_system = None
    first_c = True
    first_f = True
    while i < n:
        line = table.line(i)
        if line.startswith("*"):
            break
        if line.startswith("++"):
            for k in range(9, 60, 3):
                field_text = line[k : k + 3].strip()
                if field_text:
                    try:
                        accuracy.append(int(field_text))
                    except ValueError:
                        raise Sp3Error(f"bad accuracy {field_text!r} in '++' line", path, i + 1) from None
        elif line.startswith("+"):
            if n_sats is None:
                try:
                    n_sats = int(line[1:6])
                except ValueError:
                    raise Sp3Error("bad number of satellites in the first '+' line", path, i + 1) from None
            for k in range(9, 60, 3):
                try:
                    s = _parse_sat_token(line[k : k + 3])
                except ValueError as exc:
                    raise Sp3Error(f"bad satellite id in '+' line ({exc})", path, i + 1) from None
                if s is not None:
                    sats.append(s)
        elif line.startswith("%c"):
            if first_c:
                h.file_type = line[3:5].strip() or "G"
                time_system = line[9:12].strip()
                first_c = False
        elif line.startswith("%f"):
            if first_f:
                try:
                    h.base_position = float(line[3:13] or 0)
                    h.base_clock = float(line[14:26] or 0)
                except ValueError:
                    pass
                first_f = False
        elif line.startswith("%i"):
            pass
        elif line.startswith("/*"):
            h.comments.append(line[3:].rstrip())
        elif line.strip() == "":
            pass
        elif line.startswith("EOF"):
            break
        else:
            raise Sp3Error(
                f"unexpected header line {line[:20]!r}, expected '+', '++', '%c', '%f', '%i', '/*' or an epoch '*'",
                path,
                i + 1,
            )
        i += 1
    if n_sats is not None and n_sats != len(sats):
        # keep what is listed, but say so
        warn_damaged(
            f"header announces {n_sats} satellites but lists {len(sats)}", path, 3, strict, error=Sp3Error
        )
    h.satellites = np.array(sats, dtype=np.int16)
    acc = np.array(accuracy[: len(sats)], dtype=np.float64)
    acc = np.concatenate([acc, np.zeros(len(sats) - len(acc))])
    h.accuracy_m = np.where(acc > 0, 2.0**acc * 1e-3, np.nan)
    if time_system is None or time_system.lower() in ("", "ccc"):
        time_system = "GPS"
    if time_system.upper() not in ("GPS", "GLO", "GAL", "UTC", "TAI", "BDT", "BDS", "QZS", "IRN"):
        raise Sp3Error(
            f"unknown time system {time_system!r} in the '%c' line, expected GPS, GLO, GAL, UTC, TAI, BDT, QZS or IRN",
            path,
            None,
        )
    h.time_system = time_system.upper()
    h.start_time = int(_gpst_from_labels(start, h.time_system))
    return h, i


def _read_one(path, strict: bool) -> dict:
    data = read_bytes(path)
    table = LineTable(data)
    header, body_start = _read_header(table, path, strict)
    n = len(table)

    firsts = table.block(np.arange(n), 0, 2)
    c0 = firsts[:, 0]
    c1 = firsts[:, 1]
    body = np.zeros(n, dtype=bool)
    body[body_start:] = True
    # everything after an EOF line is ignored
    eof_rows = np.flatnonzero(body & (c0 == ord("E")) & (c1 == ord("O")))
    has_eof = len(eof_rows) > 0
    if has_eof:
        body[eof_rows[0] :] = False
        after = np.flatnonzero(table.lengths[eof_rows[0] + 1 :] > 0) + eof_rows[0] + 1
        after = [int(r) for r in after if table.line(int(r)).strip()]
        if after:
            warn_damaged(
                f"{len(after)} non-blank line(s) after the EOF line, from line {after[0] + 1}, ignored",
                path, int(eof_rows[0]) + 1, strict, error=Sp3Error,
            )
    is_epoch = body & (c0 == ord("*"))
    is_pos = body & (c0 == ord("P"))
    is_vel = body & (c0 == ord("V"))
    is_corr = body & (c0 == ord("E")) & ((c1 == ord("P")) | (c1 == ord("V")))
    is_comment = body & (c0 == ord("/")) & (c1 == ord("*"))
    is_blank = body & (table.lengths == 0) | (body & np.all(firsts == 32, axis=1) & (table.lengths <= 2))
    other = body & ~(is_epoch | is_pos | is_vel | is_corr | is_comment | is_blank)
    if other.any():
        # blank lines of spaces are harmless; anything else is named
        for r in np.flatnonzero(other):
            if table.line(int(r)).strip():
                warn_damaged(
                    f"unexpected line {table.line(int(r))[:20]!r} in the SP3 body, expected '*', 'P', 'V', 'EP', 'EV' or '/*'",
                    path,
                    int(r) + 1,
                    strict,
                    error=Sp3Error,
                )
    header.comments.extend(table.line(int(r))[3:].rstrip() for r in np.flatnonzero(is_comment))

    # ---- epochs
    epoch_rows = np.flatnonzero(is_epoch)
    eb = table.block(epoch_rows, 0, 31)
    year, ok_y = parse_ints(eb[:, 3:7])
    month, ok_m = parse_ints(eb[:, 8:10])
    day, ok_d = parse_ints(eb[:, 11:13])
    hour, ok_h = parse_ints(eb[:, 14:16])
    minute, ok_mi = parse_ints(eb[:, 17:19])
    second, ok_s = parse_floats(eb[:, 20:31])
    epoch_ok = ok_y & ok_m & ok_d & ok_h & ok_mi & ok_s & np.isfinite(second)
    epoch_ok &= (month >= 1) & (month <= 12) & (day >= 1) & (day <= 31) & (hour <= 24) & (minute <= 60)
    epoch_ok &= year > 1900
    for r in epoch_rows[~epoch_ok]:
        warn_damaged(
            "bad epoch line, expected '*  YYYY MM DD HH MM SS.SSSSSSSS' (epoch and its records skipped)",
            path,
            int(r) + 1,
            strict,
            error=Sp3Error,
        )
    label_ns = calendar_to_ns(
        np.where(epoch_ok, year, 1980), np.where(epoch_ok, month, 1), np.where(epoch_ok, day, 6),
        hour * epoch_ok, minute * epoch_ok, np.where(epoch_ok, second, 0.0),
    )
    epoch_ns = np.atleast_1d(_gpst_from_labels(label_ns, header.time_system))
    # index of the epoch each line belongs to (-1 before the first epoch)
    epoch_of_line = np.cumsum(is_epoch) - 1

    def records(mask, kind):
        rows = np.flatnonzero(mask)
        ep = epoch_of_line[rows]
        before = ep < 0
        for r in rows[before]:
            warn_damaged(f"'{kind}' record before the first epoch line", path, int(r) + 1, strict, error=Sp3Error)
        rows, ep = rows[~before], ep[~before]
        good_epoch = epoch_ok[ep]
        rows, ep = rows[good_epoch], ep[good_epoch]
        blk = table.block(rows, 0, 80)
        sysnum = _SYSTEM_NUMBER[blk[:, 1]]
        prn, ok_prn = parse_ints(blk[:, 2:4])
        x, okx = parse_floats(blk[:, 4:18])
        y, oky = parse_floats(blk[:, 18:32])
        z, okz = parse_floats(blk[:, 32:46])
        c, okc = parse_floats(blk[:, 46:60])
        ok = (sysnum >= 0) & ok_prn & (prn >= 1) & (prn <= 99) & okx & oky & okz & okc
        ok &= table.lengths[rows] >= 46
        # a clock (F14.6, columns 47-60) ends in column 60: a number in a line shorter than
        # that was cut short (damaged); a blank or left-out clock field is a missing clock
        ok &= (table.lengths[rows] >= 60) | np.isnan(c)
        ok &= ~(np.isnan(x) | np.isnan(y) | np.isnan(z))
        for r in rows[~ok]:
            warn_damaged(
                f"damaged '{kind}' record, expected '{kind}' + satellite id + x, y, z, clock (F14.6 each)",
                path,
                int(r) + 1,
                strict,
                error=Sp3Error,
            )
        sat = satellite_index_of(sysnum, prn).astype(np.int16)
        flags = {}
        if kind == "P":
            for name, (col, char) in _FLAG_COLUMNS.items():
                flags[name] = (blk[:, col] == ord(char))[ok]
        return {
            "rows": rows[ok],
            "epoch": ep[ok],
            "sat": sat[ok],
            "xyz": np.stack([x, y, z], axis=-1)[ok],
            "clock": c[ok],
            "flags": flags,
        }

    pos = records(is_pos, "P")
    vel = records(is_vel, "V") if is_vel.any() else None

    # ---- the damaged end of a truncated file
    keep_epoch = epoch_ok.copy()
    if len(epoch_rows):
        counts = np.bincount(pos["epoch"], minlength=len(epoch_rows))
        if not has_eof:
            last = len(epoch_rows) - 1
            if counts[last] == 0 and epoch_ok[last]:
                keep_epoch[last] = False
                warn_damaged(
                    "file ends after this epoch line without any satellite record or EOF (truncated file?)",
                    path,
                    int(epoch_rows[last]) + 1,
                    strict,
                    error=Sp3Error,
                )
            elif last > 0 and counts[last] < counts[last - 1]:
                warn_damaged(
                    f"file ends without EOF and the last epoch has {counts[last]} satellite records, "
                    f"the one before {counts[last - 1]} (truncated file?)",
                    path,
                    n,
                    strict,
                    error=Sp3Error,
                )
    elif not has_eof or header.number_of_epochs:
        if header.number_of_epochs:
            warn_damaged("no epoch records after the header", path, n, strict, error=Sp3Error)

    return {
        "path": str(path),
        "header": header,
        "epoch_ns": epoch_ns,
        "keep_epoch": keep_epoch,
        "pos": pos,
        "vel": vel,
    }


def _assemble(parts: list[dict]) -> Sp3:
    """Merge parsed files onto one grid; later files win on duplicate (epoch, satellite)."""
    # order files by their first epoch so that a later day's values win at boundaries
    parts = sorted(parts, key=lambda p: (p["epoch_ns"][p["keep_epoch"]].min() if p["keep_epoch"].any() else 0))
    all_times = np.concatenate([p["epoch_ns"][p["keep_epoch"]] for p in parts]) if parts else np.zeros(0, np.int64)
    time = np.unique(all_times.astype(np.int64))
    sats = np.unique(
        np.concatenate(
            [p["header"].satellites.astype(np.int16) for p in parts] + [p["pos"]["sat"] for p in parts]
        ).astype(np.int16)
    )
    m, k = len(time), len(sats)
    position = np.full((m, k, 3), np.nan)
    clock = np.full((m, k), np.nan)
    flags = {name: np.zeros((m, k), dtype=bool) for name in _FLAG_NAMES}
    has_vel = any(p["vel"] is not None for p in parts)
    velocity = np.full((m, k, 3), np.nan) if has_vel else None
    rate = np.full((m, k), np.nan) if has_vel else None
    for p in parts:
        for rec, kind in ((p["pos"], "P"), (p["vel"], "V")):
            if rec is None:
                continue
            keep = p["keep_epoch"][rec["epoch"]]
            t = p["epoch_ns"][rec["epoch"][keep]]
            ti = np.searchsorted(time, t)
            si = np.searchsorted(sats, rec["sat"][keep])
            xyz = rec["xyz"][keep]
            clk = rec["clock"][keep]
            missing_xyz = np.any(xyz == 0.0, axis=1)
            missing_clk = ~(np.abs(clk) < _MISSING_CLOCK_FROM)  # the bad-value marker (either sign), NaN
            if kind == "P":
                position[ti, si] = np.where(missing_xyz[:, None], np.nan, xyz * 1000.0)
                clock[ti, si] = np.where(missing_clk, np.nan, clk * 1e-6)
                for name in _FLAG_NAMES:
                    flags[name][ti, si] = rec["flags"][name][keep]
            else:
                velocity[ti, si] = np.where(missing_xyz[:, None], np.nan, xyz * 0.1)
                rate[ti, si] = np.where(missing_clk, np.nan, clk * 1e-10)
    header = dataclasses.replace(parts[0]["header"]) if parts else Sp3Header()
    if len(parts) > 1:
        header.number_of_epochs = m
        header.comments = [c for p in parts for c in p["header"].comments]
    return Sp3(
        time=time,
        satellites=sats,
        position_m=position,
        clock_s=clock,
        velocity_m_s=velocity,
        clock_rate_s_s=rate,
        flags=flags,
        header=header,
        sources=[p["path"] for p in parts],
    )


def read_sp3(*paths: str | PathLike, strict: bool = False) -> Sp3:
    """Read one or several SP3 (a, c, d) files and merge them on one epoch grid.

    Parameters
    ----------
    *paths : str or PathLike
        SP3 files, plain or compressed (.gz, .Z, .bz2, .zip). Several files (e.g.
        consecutive days) are merged: epochs sorted, duplicates at day boundaries kept
        once (values of the later file win), satellite sets united.
    strict : bool
        Raise :class:`~satnav.errors.Sp3Error` on a damaged record instead of warning
        and skipping it.

    Returns
    -------
    Sp3

    Raises
    ------
    Sp3Error
        On a file that is not SP3 (empty, bad header), naming the file and line.
    """
    if not paths:
        raise TypeError("read_sp3() needs at least one path")
    parts = [_read_one(p, strict) for p in paths]
    return _assemble(parts)


# --------------------------------------------------------------------------- writing


def write_sp3(*args, **kwargs) -> Path:
    """Write an SP3-d file (GPS time) from an :class:`Sp3` or from arrays.

    Accepted call forms::

        write_sp3(sp3, path)
        write_sp3(path, time, satellites, position_m, clock_s=None, velocity_m_s=None,
                  clock_rate_s_s=None, *, agency=..., comment=...)
        write_sp3(None, path, time=..., satellites=..., position_m=..., ...)

    ``time`` (m,) GPST ns, ``satellites`` (k,) indices, ``position_m`` (m, k, 3) ECEF m,
    optional ``clock_s`` (m, k), ``velocity_m_s`` (m, k, 3), ``clock_rate_s_s`` (m, k).
    Keywords: ``agency``, ``coordinate_system``, ``orbit_type``, ``data_used``,
    ``comments`` (list of str) or ``comment`` (str); ``jobs`` (processes formatting the
    records, each a range of epochs: the same bytes; default 1).

    NaN positions are written as 0.000000 (missing) and NaN clocks as 999999.999999.
    Satellites with no position at any epoch are still listed. Positions are written to
    1 mm and clocks to 1 ps (the format's resolution), so :func:`read_sp3` reads the
    file back to those resolutions. Flags are written from ``sp3.flags`` when present.

    Returns the path written.
    """
    comment = kwargs.pop("comment", None)
    if comment:
        kwargs["comments"] = [*kwargs.get("comments", ()), comment]
    if args and isinstance(args[0], Sp3):
        sp3, rest = args[0], args[1:]
        if rest:
            kwargs["path"] = rest[0]
        return _write_sp3(sp3, **kwargs)
    if args and args[0] is None:
        if len(args) > 1:
            kwargs["path"] = args[1]
        return _write_sp3(None, **kwargs)
    if args:
        names = ("path", "time", "satellites", "position_m", "clock_s", "velocity_m_s", "clock_rate_s_s")
        if len(args) > len(names):
            raise TypeError("too many positional arguments to write_sp3")
        kwargs.update(zip(names, args))
    sp3 = kwargs.pop("sp3", None)
    return _write_sp3(sp3, **kwargs)


def _write_sp3(
    sp3: Sp3 | None = None,
    path: str | PathLike = "out.sp3",
    *,
    time=None,
    satellites=None,
    position_m=None,
    clock_s=None,
    velocity_m_s=None,
    clock_rate_s_s=None,
    agency: str = "SNAV",
    coordinate_system: str = "IGS20",
    orbit_type: str = "BCT",
    data_used: str = "u",
    comments=(),
    jobs: int = 1,
) -> Path:
    flags = {}
    if sp3 is not None:
        time, satellites, position_m = sp3.time, sp3.satellites, sp3.position_m
        clock_s, velocity_m_s, clock_rate_s_s = sp3.clock_s, sp3.velocity_m_s, sp3.clock_rate_s_s
        flags = sp3.flags or {}
        agency = sp3.header.agency or agency
        coordinate_system = sp3.header.coordinate_system or coordinate_system
        orbit_type = sp3.header.orbit_type or orbit_type
        data_used = sp3.header.data_used or data_used
        comments = list(comments) + [c for c in sp3.header.comments if c.strip()]
    if time is None or satellites is None or position_m is None:
        raise TypeError("write_sp3 needs an Sp3 or time, satellites and position_m arrays")
    time = np.asarray(time, dtype=np.int64)
    satellites = np.asarray(satellites, dtype=np.int16)
    order = np.argsort(satellites, kind="stable")
    satellites = satellites[order]
    position_m = np.asarray(position_m, dtype=np.float64)[:, order]
    m, k = len(time), len(satellites)
    if position_m.shape != (m, k, 3):
        raise ValueError(f"position_m has shape {position_m.shape}, expected {(m, k, 3)}")
    clock_s = np.full((m, k), np.nan) if clock_s is None else np.asarray(clock_s, dtype=np.float64)[:, order]
    if velocity_m_s is not None:
        velocity_m_s = np.asarray(velocity_m_s, dtype=np.float64)[:, order]
        clock_rate_s_s = (
            np.full((m, k), np.nan) if clock_rate_s_s is None else np.asarray(clock_rate_s_s, dtype=np.float64)[:, order]
        )
    flags = {name: np.asarray(v, dtype=bool)[:, order] for name, v in flags.items() if v is not None}
    if m == 0:
        raise ValueError("write_sp3 needs at least one epoch")
    interval = float(np.median(np.diff(time))) / NS_PER_S if m > 1 else 0.0

    def cal(t):
        y, mo, d, hh, mi, ss = (v.item() for v in ns_to_calendar(np.int64(t)))
        return y, mo, d, hh, mi, ss

    lines = []
    y, mo, d, hh, mi, ss = cal(time[0])
    pv = "V" if velocity_m_s is not None else "P"
    lines.append(
        f"#d{pv}{y:4d} {mo:2d} {d:2d} {hh:2d} {mi:2d} {ss:11.8f} {m:7d} {data_used[:5]:<5s} "
        f"{coordinate_system[:5]:<5s} {orbit_type[:3]:<3s} {agency[:4]:<4s}"
    )
    week, sow = gps_week_tow(time[0])
    day_ns = 86400 * NS_PER_S
    mjd = 44244 + int(time[0] // day_ns)  # MJD 44244 = 1980-01-06
    fraction = int(time[0] % day_ns) / day_ns
    lines.append(f"## {int(week):4d} {float(sow):15.8f} {interval:14.8f} {mjd:5d} {fraction:15.13f}")
    ids = [satellite_id(s) for s in satellites]
    n_plus = max(5, -(-k // 17))
    for i in range(n_plus):
        chunk = ids[i * 17 : (i + 1) * 17]
        chunk += ["  0"] * (17 - len(chunk))
        head = f"+  {k:3d}   " if i == 0 else "+        "
        lines.append(head + "".join(chunk))
    for _ in range(n_plus):
        lines.append("++       " + "  0" * 17)
    systems = {s[0] for s in ids}
    file_type = systems.pop() if len(systems) == 1 else "M"
    lines.append(f"%c {file_type:<2s} cc GPS ccc cccc cccc cccc cccc ccccc ccccc ccccc ccccc")
    lines.append("%c cc cc ccc ccc cccc cccc cccc cccc ccccc ccccc ccccc ccccc")
    lines.append("%f  1.2500000  1.025000000  0.00000000000  0.000000000000000")
    lines.append("%f  0.0000000  0.000000000  0.00000000000  0.000000000000000")
    lines.append("%i    0    0    0    0      0      0      0      0         0")
    lines.append("%i    0    0    0    0      0      0      0      0         0")
    comments = list(comments) or ["written by satnav"]
    while len(comments) < 4:
        comments.append("")
    for c in comments:
        lines.append(("/* " + c)[:80])

    pos_km = np.where(np.isfinite(position_m), position_m / 1000.0, 0.0)
    pos_km[~np.all(np.isfinite(position_m), axis=-1)] = 0.0
    clk_us = np.where(np.isfinite(clock_s), clock_s * 1e6, SP3_MISSING_CLOCK)
    clk_us = np.where(np.abs(clk_us) >= SP3_MISSING_CLOCK, SP3_MISSING_CLOCK, clk_us)
    if velocity_m_s is not None:
        vel_dm = np.where(np.all(np.isfinite(velocity_m_s), axis=-1)[..., None], velocity_m_s * 10.0, 0.0)
        rate = np.where(np.isfinite(clock_rate_s_s), clock_rate_s_s * 1e10, SP3_MISSING_CLOCK)
    flag_cols = {name: flags.get(name) for name in _FLAG_NAMES}
    records = _Sp3Records(time, ids, pos_km, clk_us, vel_dm if velocity_m_s is not None else None,
                          rate if velocity_m_s is not None else None, flag_cols)
    out = Path(path)
    from .atomic import atomic_output  # every output is written atomically

    with atomic_output(out, "wb") as fh:
        fh.write(("\n".join(lines) + "\n").encode("ascii"))
        if jobs > 1 and m > 1:  # ranges of epochs formatted by jobs processes, written in order
            from ..parallel import map_forked

            # at most _PARALLEL_RANGE_BYTES of text per range: a round of jobs ranges at a time
            per_range = max(1, min(-(-m // jobs), _PARALLEL_RANGE_BYTES // records.epoch_bytes))
            ranges = [(a, min(m, a + per_range)) for a in range(0, m, per_range)]
            for r in range(0, len(ranges), jobs):
                for text in map_forked(records.text, ranges[r : r + jobs], jobs):
                    fh.write(text)
        else:
            block = max(1, _BLOCK_BYTES // records.epoch_bytes)
            for start in range(0, m, block):
                fh.write(records.text(start, min(m, start + block)))
        fh.write(b"EOF\n")
    return out



#: Target size (bytes) of the text of one block of epochs formatted at once.
_BLOCK_BYTES = 4 * 1024 * 1024
#: Most text (bytes) of one range of epochs formatted by one process with ``jobs``.
_PARALLEL_RANGE_BYTES = 16 * 1024 * 1024
#: Width of a P/V record without flags: ``A1,A3,4F14.6`` (SP3-d).
_RECORD_CHARS = 60


def _words(texts) -> np.ndarray:
    return np.frombuffer("".join(texts).encode("ascii"), dtype="<u4")


#: 4-character groups as little-endian uint32 words, for laying out ``F14.6`` four bytes at a
#: time: ``"dddd"``, ``"  dd"`` (the two leading columns, padded to a word) and ``"d.dd"``.
_WORD_4 = _words(f"{i:04d}" for i in range(10000))
_WORD_2 = _words(f"  {i:02d}" for i in range(100))
_WORD_POINT = _words(f"{i // 100}.{i % 100:02d}" for i in range(1000))
#: 10 .. 10**7: ``searchsorted(_POWERS_OF_10, x, "right") + 1`` is the digit count of x < 10**8.
_POWERS_OF_10 = np.array([10**k for k in range(1, 8)], dtype=np.int64)


def _f14_6(scaled: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Fortran ``F14.6`` text (uint8 (n, 14)) of ``scaled = round(value * 1e6)`` (int64,
    ``|scaled| <= 10**13``), and where it does not fit (bool (n,), the text then undefined).

    The 16 bytes ``"  " + text`` are four uint32 words looked up in tables: columns
    ``  W0W1 | W2W3W4W5 | W6.F0F1 | F2F3F4F5``; then leading zeros become blanks and the
    sign goes before the first digit.
    """
    n = len(scaled)
    whole, frac = np.divmod(np.abs(scaled), 1_000_000)
    overflow = whole >= 10_000_000
    whole = np.minimum(whole, 9_999_999).astype(np.int32)
    high, units = np.divmod(whole, 10)
    w0, w1 = np.divmod(high, 10_000)
    f0, f1 = np.divmod(frac.astype(np.int32), 10_000)
    words = np.empty((n, 4), dtype="<u4")
    words[:, 0] = _WORD_2[w0]
    words[:, 1] = _WORD_4[w1]
    words[:, 2] = _WORD_POINT[units * 100 + f0]
    words[:, 3] = _WORD_4[f1]
    text = words.view(np.uint8)[:, 2:]
    digits = np.searchsorted(_POWERS_OF_10, whole, side="right") + 1
    text[:, :6][np.arange(6) < (7 - digits)[:, None]] = ord(" ")
    negative = np.flatnonzero(scaled < 0)
    sign_col = 6 - digits[negative]
    overflow[negative[sign_col < 0]] = True
    text[negative[sign_col >= 0], sign_col[sign_col >= 0]] = ord("-")
    return text, overflow


class _Sp3Records:
    """The body of an SP3 file (epoch lines, P and V records) as bytes, block by block.

    Numbers are laid out as ``F14.6`` with array arithmetic (:func:`_f14_6`): every value
    becomes ``round(value * 1e6)`` and its digits are written into an ``epochs x bytes``
    matrix. The text is byte-identical to Python's
    ``f"{value:14.6f}"``: an epoch holding a value that this layout could render otherwise --
    within one ulp of a rounding tie (Python rounds the exact binary value), a negative value
    that rounds to zero (``-0.000000``), a value too wide for the field or not finite -- or a
    record flag, is written by :meth:`_epoch_text`, the per-value Python formatting.
    """

    def __init__(self, time, ids, pos_km, clk_us, vel_dm, rate, flag_cols):
        self.time, self.ids = time, ids
        self.pos_km, self.clk_us, self.vel_dm, self.rate = pos_km, clk_us, vel_dm, rate
        self.flag_cols = flag_cols
        self.k = len(ids)
        self.per_sat = 2 if vel_dm is not None else 1
        self.epoch_bytes = 32 + self.k * self.per_sat * (_RECORD_CHARS + 1)
        self.id_bytes = np.frombuffer("".join(ids).encode("ascii"), dtype=np.uint8).reshape(self.k, 3)

    def _cal(self, t):
        return tuple(v.item() for v in ns_to_calendar(np.int64(t)))

    def _epoch_line(self, t) -> str:
        y, mo, d, hh, mi, ss = self._cal(t)
        return f"*  {y:4d} {mo:2d} {d:2d} {hh:2d} {mi:2d} {ss:11.8f}"

    def _epoch_text(self, e: int) -> bytes:
        """Epoch ``e``'s lines, each value formatted by Python (the reference layout)."""
        pos_km, clk_us, vel_dm, rate, ids = self.pos_km, self.clk_us, self.vel_dm, self.rate, self.ids
        lines = [self._epoch_line(self.time[e])]
        for j in range(self.k):
            line = f"P{ids[j]}{pos_km[e, j, 0]:14.6f}{pos_km[e, j, 1]:14.6f}{pos_km[e, j, 2]:14.6f}{clk_us[e, j]:14.6f}"
            if any(f is not None and f[e, j] for f in self.flag_cols.values()):
                chars = [" "] * 20
                for name, (col, char) in _FLAG_COLUMNS.items():
                    f = self.flag_cols[name]
                    if f is not None and f[e, j]:
                        chars[col - 60] = char
                line += "".join(chars).rstrip()
            lines.append(line)
            if vel_dm is not None:
                lines.append(
                    f"V{ids[j]}{vel_dm[e, j, 0]:14.6f}{vel_dm[e, j, 1]:14.6f}{vel_dm[e, j, 2]:14.6f}{rate[e, j]:14.6f}"
                )
        return ("\n".join(lines) + "\n").encode("ascii")

    def text(self, a: int, b: int) -> bytes:
        """The lines of epochs ``a`` to ``b - 1``."""
        n, k, per_sat = b - a, self.k, self.per_sat
        buf = np.empty((n, self.epoch_bytes), dtype=np.uint8)
        special = np.zeros(n, dtype=bool)
        cal = zip(*(v.tolist() for v in ns_to_calendar(self.time[a:b])))
        heads = [f"*  {y:4d} {mo:2d} {d:2d} {hh:2d} {mi:2d} {ss:11.8f}" for y, mo, d, hh, mi, ss in cal]
        if all(len(h) == 31 for h in heads):
            buf[:, :31] = np.frombuffer("".join(heads).encode("ascii"), dtype=np.uint8).reshape(n, 31)
        else:
            special[:] = True
        buf[:, 31] = ord("\n")
        rec = buf[:, 32:].reshape(n, k, per_sat, _RECORD_CHARS + 1)
        columns = [(0, "P", np.concatenate([self.pos_km[a:b], self.clk_us[a:b, :, None]], axis=-1))]
        if self.vel_dm is not None:
            columns.append((1, "V", np.concatenate([self.vel_dm[a:b], self.rate[a:b, :, None]], axis=-1)))
        for slot, letter, values in columns:
            rec[:, :, slot, 0] = ord(letter)
            rec[:, :, slot, 1:4] = self.id_bytes
            rec[:, :, slot, _RECORD_CHARS] = ord("\n")
            finite = np.isfinite(values) & (np.abs(values) < 1e7)
            x = np.where(finite, values, 0.0)
            p = x * 1e6
            scaled = np.rint(p)
            tie = np.abs(np.abs(p - np.floor(p)) - 0.5) <= 2 * np.spacing(np.abs(p))
            odd = ~finite | tie | ((scaled == 0) & np.signbit(x))
            digits, overflow = _f14_6(scaled.astype(np.int64).ravel())
            rec[:, :, slot, 4:4 + 56] = digits.reshape(n, k, 56)
            special |= (odd | overflow.reshape(n, k, 4)).any(axis=(1, 2))
        for f in self.flag_cols.values():
            if f is not None:
                special |= f[a:b].any(axis=1)
        if not special.any():
            return buf.tobytes()
        return b"".join(self._epoch_text(a + i) if special[i] else buf[i].tobytes() for i in range(n))
