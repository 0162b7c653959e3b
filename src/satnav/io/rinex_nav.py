"""RINEX navigation files (versions 2.x, 3.00-3.05 and 4.00/4.01), all systems.

:func:`read_rinex_nav` reads one or several navigation files into a
:class:`~satnav.navigation.Navigation`: one structured array of broadcast messages per
system (dtypes and field units in :mod:`satnav.navigation`), the header's ionospheric and
time-system corrections, and the RINEX 4 STO, EOP and ION records. The record layouts per
system and message type are in :mod:`satnav.io._rinex_nav_layout`, shared with the writer
(:func:`write_rinex_nav`, :mod:`satnav.io.rinex_nav_writer`). ``Navigation``, ``NavHeader``,
``message_dtype`` and the dtypes are re-exported here for existing callers.

Units are SI (s, m, m/s, m/s^2, rad, rad/s). GLONASS and SBAS positions, velocities and
accelerations are written in km, km/s, km/s^2 and stored in metres. Every ``toc`` and
``toe`` is int64 nanoseconds of GPS time: BeiDou times are read as BDT, GLONASS times as
UTC, all other systems' calendar times as GPST-aligned (RINEX 3.05 section 8.3, RINEX 4.00
section 8.3). Unknown values (blank fields, ``.999999999999e+09`` as written by RINEX 3.05
for an unknown GLONASS group delay) are NaN.

Records are parsed with the fixed columns of the format (RINEX 2: ``3X,4D19.12`` with a
22-character first line; RINEX 3/4: ``4X,4D19.12``), vectorized per system: the text of
all records of one layout is cut into one array of 19-character fields and converted to
float in one call, so numbers without separating blanks and Fortran ``D`` exponents need
no special care.
"""

from __future__ import annotations

import functools
import math
import re
import warnings
from dataclasses import dataclass, field
from os import PathLike

import numpy as np

from ..errors import RinexError, SatnavWarning
from ..gnss_time import (
    MAX_YEAR,
    MIN_YEAR,
    NS_PER_WEEK,
    bdt_week_tow,
    calendar_to_ns,
    gps_week_tow,
    gpst_from_bdt_week_tow,
    gpst_from_week_tow,
    to_gpst,
)
from ..navigation import (
    GLONASS_DTYPE,
    KEPLER_DTYPE,
    SBAS_DTYPE,
    NavHeader,
    Navigation,
    concat_records,
    dedupe_sort,
    message_dtype,
    records_view,
)
from ..satellites import SYSTEMS
from ._damage import DamageLog
from ._rinex_nav_layout import (
    ARCSEC,
    BDS_GEO_PRNS,
    DAY,
    DEFAULT_TYPE,
    KM_FIELDS,
    LAYOUTS,
    TIME_SCALE,
    UNKNOWN_VALUE,
)
from .textfile import read_bytes

__all__ = [
    "KEPLER_DTYPE",
    "GLONASS_DTYPE",
    "SBAS_DTYPE",
    "NavHeader",
    "Navigation",
    "read_rinex_nav",
    "write_rinex_nav",  # noqa: F822  (module __getattr__, loaded on first use)
    "message_dtype",
    "UNKNOWN_VALUE",
]

# ---------------------------------------------------------------------------------------------
# Number parsing
_D_TO_E = bytes.maketrans(b"Dd", b"Ee")


def _float_or_nan(text: str) -> float:
    """One Fortran-style number; blank -> NaN; raises ValueError when unparseable."""
    t = text.strip()
    if not t:
        return math.nan
    return float(t.replace("D", "E").replace("d", "e"))


def _fields_to_float(block: np.ndarray, width: int):
    """Convert a (rows, n*width) uint8 array of fixed-width text fields to floats.

    Returns ``(values (rows, n), bad_rows bool mask)``; blank fields are NaN and a row is
    bad when any of its fields does not parse as a number.
    """
    rows = block.shape[0]
    n = block.shape[1] // width
    cells = np.ascontiguousarray(block).reshape(rows, n, width)
    fast = _fields_to_float_exact(cells)
    if fast is not None:
        return fast, np.zeros(rows, dtype=bool)
    blank = (cells == 32).all(axis=2)
    if width >= 3 and blank.any():
        cells = cells.copy()
        cells[blank] = np.frombuffer(b"nan".ljust(width), dtype=np.uint8)
    strings = cells.reshape(rows * n, width).view(f"S{width}").reshape(rows, n)
    try:
        return strings.astype(np.float64), np.zeros(rows, dtype=bool)
    except ValueError:
        pass
    values, bad, _ = _fields_to_float_slow(strings)
    return values, bad


#: Powers of ten that are exact doubles (5**22 < 2**53).
_EXACT_POW10 = np.array([10.0**k for k in range(23)])
#: Columns of the 13 mantissa digits of a ``D19.12`` field ``-d.ddddddddddddD+dd``.
_D19_DIGITS = np.array([1] + list(range(3, 15)))
_D19_WEIGHTS = 10.0 ** np.arange(12, -1, -1)


def _fields_to_float_exact(cells: np.ndarray):
    """Fast path of :func:`_fields_to_float` for 19-column fields, or None.

    ``cells`` is (rows, n, 19) uint8 text. Fields in the layout RINEX writers use,
    ``[ -]d.ddddddddddddE[+-]dd`` (``D`` already changed to ``E``), are converted here: the
    13-digit integer of the mantissa (exact in a double) times or divided by an exact power
    of ten (at most 10**22), one correctly rounded IEEE operation on exact operands, hence
    the same double as NumPy's correctly rounded decimal conversion (Clinger's fast path,
    1990). Blank fields are NaN; other fields are converted by NumPy. Returns None when a
    field does not parse (the caller then finds the bad rows)."""
    rows, n, width = cells.shape
    if width != 19 or rows * n == 0:
        return None
    c = cells.reshape(rows * n, 19)
    lead, e_sign = c[:, 0], c[:, 16]
    dig = c[:, _D19_DIGITS] - np.uint8(48)  # wraps above 9 for non-digits
    e_dig = c[:, 17:19] - np.uint8(48)
    ok = (((lead == 32) | (lead == 45)) & (c[:, 2] == 46) & ((c[:, 15] | 32) == 101)
          & ((e_sign == 43) | (e_sign == 45)) & (dig < 10).all(axis=1) & (e_dig < 10).all(axis=1))
    mant = dig.astype(np.float64) @ _D19_WEIGHTS  # integers < 2**53: exact in any order
    e_val = e_dig[:, 0].astype(np.int64) * 10 + e_dig[:, 1]
    k = np.where(e_sign == 45, -e_val, e_val) - 12
    ok &= (np.abs(k) <= 22) | (mant == 0.0)
    kk = np.minimum(np.abs(k), 22)
    val = np.where(k >= 0, mant * _EXACT_POW10[kk], mant / _EXACT_POW10[kk])
    np.negative(val, out=val, where=lead == 45)
    if not ok.all():
        other = np.flatnonzero(~ok)
        blank = (c[other] == 32).all(axis=1)
        val[other[blank]] = np.nan
        rest = other[~blank]
        if len(rest):
            try:
                val[rest] = c[rest].copy().view("S19")[:, 0].astype(np.float64)
            except ValueError:
                return None
    return val.reshape(rows, n)


@functools.cache
def _blank_message(system: str) -> np.ndarray:
    """One message of ``system`` (array of 1) with every float field NaN and the other
    fields zero; callers copy it (``np.repeat``), never write to it."""
    out = np.zeros(1, dtype=message_dtype(system))
    for name in out.dtype.names:
        if out.dtype[name] == np.float64:
            out[name] = np.nan
    out.setflags(write=False)
    return out


def _integer_field(cells: np.ndarray):
    """Values of right-justified unsigned integer fields: ``cells`` (rows, width) or
    (rows, n, width) uint8 text, each field blanks then at least one digit (as the epoch
    fields of the records are written). Returns (rows, 1) or (rows, n) floats, or None
    when any field is not of that form (the caller then converts them as text). Integers
    below 10**width are exact doubles: the same values as the text conversion."""
    if cells.ndim == 2:
        cells = cells[:, None, :]
    rows, _n, width = cells.shape
    if rows == 0:
        return None
    dig = cells - np.uint8(48)  # wraps above 9 for non-digits
    is_dig = dig < 10
    # blanks, then digits only: once a digit is seen, everything to its right is a digit
    if not (is_dig[..., -1].all() and (is_dig | (cells == 32)).all()
            and (np.diff(is_dig.view(np.int8), axis=-1) >= 0).all()):
        return None
    return np.where(is_dig, dig, 0).astype(np.float64) @ (10.0 ** np.arange(width - 1, -1, -1))


def _fields_to_float_slow(strings: np.ndarray):
    """Field-by-field conversion; returns (values, bad row mask, first bad field per row)."""
    rows, n = strings.shape
    values = np.full((rows, n), np.nan)
    bad = np.zeros(rows, dtype=bool)
    first_bad = np.full(rows, -1)
    for r in range(rows):
        try:
            values[r] = strings[r].astype(np.float64)
        except ValueError:
            bad[r] = True
            for k in range(n):
                try:
                    float(strings[r, k])
                except ValueError:
                    first_bad[r] = k
                    break
    return values, bad, first_bad


# ---------------------------------------------------------------------------------------------
# Header
_V2_TYPES = {"N": "G", "G": "R", "H": "S", "E": "E", "L": "E"}


def _parse_header(lines: list[str], path: str):
    """Parse the header; returns (NavHeader, index of the first body line)."""
    if not lines or not lines[0].strip():
        raise RinexError(
            "blank first line, expected 'RINEX VERSION / TYPE' header record", path, 1
        )
    first = lines[0]
    if "RINEX VERSION / TYPE" not in first[60:]:
        raise RinexError(
            "not a RINEX file: first line lacks 'RINEX VERSION / TYPE' in columns 61-80", path, 1
        )
    try:
        version = float(first[:9])
    except ValueError:
        raise RinexError(
            f"bad RINEX version {first[:9].strip()!r}, expected a number such as 3.05", path, 1
        ) from None
    ftype = first[20:21].upper()
    sys_col = first[40:41].upper()
    if version < 3:
        if ftype not in _V2_TYPES:
            raise RinexError(
                f"file type {first[20:40].strip()!r} is not navigation data, expected "
                "N (GPS), G (GLONASS), H (SBAS) or E/L (Galileo) navigation",
                path,
                1,
            )
        system = _V2_TYPES[ftype]
        if ftype == "N" and sys_col == "M":
            system = "M"
    else:
        if ftype != "N":
            raise RinexError(
                f"file type {first[20:40].strip()!r} is not navigation data, expected "
                "'N' (NAVIGATION DATA)",
                path,
                1,
            )
        system = sys_col if sys_col in SYSTEMS else "M"
    hdr = NavHeader(version=version, file_type=ftype, system=system)
    end = None
    for i in range(1, len(lines)):
        line = lines[i]
        label = line[60:].strip()
        try:
            try:
                end = _header_record(hdr, line, label, system)
            except ValueError:
                # some writers misalign header numbers: accept blank-separated values
                end = _header_record(hdr, _realign(line, label), label, system)
        except ValueError:
            raise RinexError(
                f"unreadable '{label}' header record, expected numbers in the fixed columns "
                "of the RINEX specification",
                path,
                i + 1,
            ) from None
        if end:
            return hdr, i + 1
    raise RinexError("no 'END OF HEADER' record, expected a complete header", path, len(lines))


# fixed-column layouts of header records holding numbers: (start, width) of each value
_HEADER_COLUMNS = {
    "IONOSPHERIC CORR": ("A5", [(5, 12)] * 4),
    "TIME SYSTEM CORR": ("A5", [(5, 17), (22, 16), (38, 7), (45, 5)]),
    "ION ALPHA": ("", [(2, 12)] * 4),
    "ION BETA": ("", [(2, 12)] * 4),
    "DELTA-UTC: A0,A1,T,W": ("", [(3, 19), (22, 19), (41, 9), (50, 9)]),
}


def _realign(line: str, label: str) -> str:
    """Rewrite a header record whose numbers are blank separated but misaligned into the
    fixed columns of the format (raises ValueError when that is impossible)."""
    for name, (prefix, cols) in _HEADER_COLUMNS.items():
        if label.startswith(name):
            head = line[:4] + " " if prefix else ""
            tokens = line[len(head) : 60].split()
            if not 1 <= len(tokens) <= len(cols):
                raise ValueError(label)
            out = head.ljust(cols[0][0])
            for tok, (_, width) in zip(tokens, cols):
                if len(tok) > width:
                    raise ValueError(label)
                out += tok.rjust(width)
            return out.ljust(60) + line[60:]
    raise ValueError(label)


def _header_record(hdr: NavHeader, line: str, label: str, system: str) -> bool:
    """Store one header record into ``hdr``; True at END OF HEADER."""
    if label.startswith("END OF HEADER"):
        return True
    if label.startswith("PGM / RUN BY / DATE"):
        hdr.program, hdr.run_by, hdr.date = line[:20].strip(), line[20:40].strip(), line[40:60].strip()
    elif label.startswith("COMMENT"):
        hdr.comments.append(line[:60].rstrip())
    elif label.startswith("IONOSPHERIC CORR"):
        key = line[:4].strip()
        vals = [_float_or_nan(line[5 + 12 * k : 17 + 12 * k]) for k in range(4)]
        if key == "GAL":
            vals = vals[:3]
        hdr.iono_corrections.setdefault(key, np.array(vals))
    elif label.startswith("TIME SYSTEM CORR"):
        key = line[:4].strip()
        a0, a1 = _float_or_nan(line[5:22]), _float_or_nan(line[22:38])
        t_ref, week = _float_or_nan(line[38:45]), _float_or_nan(line[45:50])
        hdr.time_corrections.setdefault(key, (a0, a1, t_ref, week))
    elif label.startswith("LEAP SECONDS"):
        if line[:6].strip():
            hdr.leap_seconds = int(line[:6])
    elif label.startswith("ION ALPHA") or label.startswith("ION BETA"):
        vals = [_float_or_nan(line[2 + 12 * k : 14 + 12 * k]) for k in range(4)]
        if system == "E":
            hdr.iono_corrections.setdefault("GAL", np.array(vals[:3]))
        else:
            key = "GPSA" if label.startswith("ION ALPHA") else "GPSB"
            hdr.iono_corrections.setdefault(key, np.array(vals))
    elif label.startswith("DELTA-UTC") or label.startswith("D-UTC"):
        a0, a1 = _float_or_nan(line[3:22]), _float_or_nan(line[22:41])
        t_ref, week = _float_or_nan(line[41:50]), _float_or_nan(line[50:59])
        key = {"E": "GAUT", "S": "SBUT"}.get(system, "GPUT")
        hdr.time_corrections.setdefault(key, (a0, a1, t_ref, week))
    elif label.startswith("CORR TO SYSTEM TIME"):
        year, month, day = int(line[0:6]), int(line[6:12]), int(line[12:18])
        minus_tau_c = _float_or_nan(line[21:40])
        week, tow = gps_week_tow(calendar_to_ns(year, month, day))
        hdr.time_corrections.setdefault("GLUT", (minus_tau_c, 0.0, float(tow), float(week)))
    return False


# ---------------------------------------------------------------------------------------------
# Body
_V4_RECORD = re.compile(r">\s*(EPH|STO|EOP|ION)\s+([A-Z])\s?(\d\d|  )\s*(\S*)")  # blank number: system-level


@dataclass
class _Group:
    """Records of one (system, message type, line count) layout found in one file."""

    starts: list = field(default_factory=list)  # body index of the record's first data line
    lines: int = 0


def _read_one(path, source: int, strict: bool, nav: Navigation, systems: str | None = None):
    """Read one file; returns (header, {system: array}) and appends v4 records to ``nav``;
    with ``systems``, the ephemeris records of other systems are located but not decoded."""
    path_str = str(path)
    raw = read_bytes(path)
    text = raw.decode("latin-1")
    lines = text.splitlines()
    hdr, body_start = _parse_header(lines, path_str)
    body = lines[body_start:]
    version = hdr.version
    v2 = version < 3
    v4 = version >= 4

    # one fixed-width block of all body lines (80 columns, blank padded)
    padded = "".join([ln[:80].ljust(80) for ln in body])
    block = np.frombuffer(padded.encode("latin-1", "replace"), dtype=np.uint8).reshape(-1, 80)

    groups: dict[tuple, _Group] = {}
    damaged: list[tuple[int, str]] = []  # (body index, message)
    skipped: dict[str, int] = {}
    log = DamageLog(path_str, strict)
    if v4:
        _index_v4(body, groups, damaged, skipped, nav, log, body_start, source)
    else:
        _index_v23(block, hdr, v2, groups, damaged)

    for idx, msg in sorted(damaged):
        log.add(body_start + idx + 1, msg)
    if skipped:
        text_counts = ", ".join(f"{k}: {v}" for k, v in sorted(skipped.items()))
        warnings.warn(
            f"{path_str}: skipped navigation messages of types satnav does not hold ({text_counts})",
            SatnavWarning,
            stacklevel=3,
        )
        for k, v in skipped.items():
            nav.skipped[k] = nav.skipped.get(k, 0) + v

    out: dict[str, list[np.ndarray]] = {}
    for (system, mtype, nlines), grp in groups.items():
        if systems is not None and system not in systems:
            continue
        arr = _parse_group(
            block, np.array(grp.starts, dtype=np.int64), nlines, system, mtype, v2, v4,
            log, body_start, source,
        )  # fmt: skip
        if len(arr):
            out.setdefault(system, []).append(arr)
    log.emit(stacklevel=4)
    return hdr, {s: concat_records(a) for s, a in out.items()}


def _trim(body: list[str], start: int, stop: int) -> int:
    """Stop index after dropping trailing blank lines of a record."""
    while stop > start + 1 and not body[stop - 1].strip():
        stop -= 1
    return stop


def _index_v23(block, hdr, v2, groups, damaged):
    """Find RINEX 2/3 record starts (vectorized over lines) and group them by layout.

    A record starts on a line whose first three columns are not blank (RINEX 2: ``I2``
    PRN; RINEX 3: ``A1,I2.2`` satellite id) and runs to the next start; trailing blank
    lines are not part of it.
    """
    nrows = block.shape[0]
    if nrows == 0:
        return
    rows = np.arange(nrows)
    nonblank = (block != 32).any(axis=1)
    starts = np.flatnonzero((block[:, :3] != 32).any(axis=1))
    last_nonblank = np.maximum.accumulate(np.where(nonblank, rows, -1))
    first_start = starts[0] if len(starts) else nrows
    for i in np.flatnonzero(nonblank[:first_start]):
        damaged.append((int(i), "text outside any navigation record"))
    if not len(starts):
        return
    nxt = np.append(starts[1:], nrows)
    nlines = last_nonblank[nxt - 1] + 1 - starts
    comment = (block[starts, 60:67] == np.frombuffer(b"COMMENT", np.uint8)).all(axis=1)
    letters = block[starts, 0]
    is_letter = ((letters >= 65) & (letters <= 90)) | ((letters >= 97) & (letters <= 122))
    file_sys = hdr.system if hdr.system in SYSTEMS else "G"
    # any byte (non-ASCII too) -> its upper-case letter or "": no text decoding of raw bytes
    systems = np.where(is_letter, _LETTER[letters], file_sys if v2 else "")
    for system in np.unique(systems[~comment]):
        sel = (systems == system) & ~comment
        idx = starts[sel]
        if system not in SYSTEMS or system == "":
            for i in idx:
                what = (
                    f"unknown system letter {_printable(block[i, 0])}, expected one of {SYSTEMS}"
                    if system
                    else "record does not start with a satellite id such as G01"
                )
                damaged.append((int(i), what))
            continue
        mtype = DEFAULT_TYPE[system]
        _, lo, hi = LAYOUTS[(system, mtype)]
        n = nlines[sel]
        for i, k in zip(idx[n < lo], n[n < lo]):
            damaged.append((int(i), f"{system} record has {k} lines, expected {lo} (truncated record)"))
        for i, k in zip(idx[n > hi], n[n > hi]):
            damaged.append((int(i), f"{system} record has {k} lines, expected {hi}"))
        for k in range(lo, hi + 1):
            if (n == k).any():
                grp = groups.setdefault((system, mtype, k), _Group(lines=k))
                grp.starts.extend(idx[n == k].tolist())


def _index_v4(body, groups, damaged, skipped, nav, log, body_start, source):
    """Find RINEX 4 '>' records; parse STO/EOP/ION directly, group EPH by layout."""
    starts = [i for i, ln in enumerate(body) if ln.startswith(">")]
    for i in range(starts[0] if starts else len(body)):
        if body[i].strip():
            damaged.append((i, "text outside any navigation record, expected '> EPH ...'"))
    starts.append(len(body))
    for k in range(len(starts) - 1):
        i, stop = starts[k], _trim(body, starts[k], starts[k + 1])
        m = _V4_RECORD.match(body[i])
        if not m:
            damaged.append((i, "bad record header, expected e.g. '> EPH G01 LNAV'"))
            continue
        kind, system, prn, mtype = m.group(1), m.group(2), int(m.group(3).strip() or 0), m.group(4)
        if system not in SYSTEMS:
            damaged.append((i, f"unknown system letter {system!r}, expected one of {SYSTEMS}"))
            continue
        if kind != "EPH":
            try:
                rec = _parse_v4_extra(body[i + 1 : stop], kind, system, prn, mtype)
            except (ValueError, IndexError):
                log.add(body_start + i + 1, f"unreadable {kind} record, expected the RINEX 4 layout")
                continue
            rec["line"] = body_start + i + 1
            rec["source"] = source
            {"STO": nav.sto_records, "EOP": nav.eop_records, "ION": nav.ion_records}[kind].append(rec)
            continue
        key = (system, mtype)
        if system == "E" and mtype in ("INAV", "FNAV"):
            pass
        elif key not in LAYOUTS:
            name = f"{system} {mtype}"
            skipped[name] = skipped.get(name, 0) + 1
            continue
        layout, lo, hi = LAYOUTS[key]
        n = stop - i - 1
        if n < lo or n > hi:
            damaged.append(
                (i, f"{system} {mtype} record has {n} data lines, expected {lo}"
                 + (" (truncated record)" if n < lo else ""))
            )
            continue
        grp = groups.setdefault((system, mtype, n), _Group(lines=n))
        grp.starts.append(i + 1)


def _epoch_v4(line: str, system: str) -> int:
    """GPST ns of a RINEX 4 STO/EOP/ION epoch line ('    2022 06 08 10 00 00 ...');
    ValueError for fields out of range."""
    y, mo, d = int(line[4:8]), int(line[9:11]), int(line[12:14])
    h, mi, s = int(line[15:17]), int(line[18:20]), int(line[21:23])
    if not (MIN_YEAR <= y <= MAX_YEAR and 1 <= mo <= 12 and 1 <= d <= 31 and 0 <= h <= 23
            and 0 <= mi <= 59 and 0 <= s <= 60):
        raise ValueError(line)
    return int(to_gpst(calendar_to_ns(y, mo, d, h, mi, s), TIME_SCALE[system]))


def _v4_values(lines: list[str], first_col: int = 23) -> list[float]:
    """Data fields of an STO/EOP/ION record (first line after the epoch, then 4X,4D19.12)."""
    vals = []
    for k, ln in enumerate(lines):
        ln = ln.ljust(80)
        start = first_col if k == 0 else 4
        vals.extend(_float_or_nan(ln[c : c + 19]) for c in range(start, 80 - 18, 19))
    return vals


def _parse_v4_extra(lines, kind, system, prn, mtype) -> dict:
    """One RINEX 4 STO, EOP or ION record (RINEX 4.00 section 5.4-5.6) as a dict, SI units."""
    sat = 100 * SYSTEMS.index(system) + prn
    if not lines:
        raise ValueError("empty record")
    time = _epoch_v4(lines[0], system)
    rec = {"sat": sat, "type": kind, "message": mtype, "time": time}
    if kind == "STO":
        first = lines[0].ljust(80)
        rec["code"] = first[24:42].strip()
        rec["sbas_id"] = first[43:61].strip()
        rec["utc_id"] = first[62:80].strip()
        vals = _v4_values(lines[1:], first_col=4)
        rec.update(t_tot=vals[0], a0=vals[1], a1=vals[2], a2=vals[3])
    elif kind == "EOP":
        v = _v4_values(lines)  # xp dxp ddxp / yp dyp ddyp / t_tm dut1 ddut1 dddut1
        v = v + [math.nan] * (12 - len(v))
        rec.update(
            xp=v[0] * ARCSEC, dxp=v[1] * ARCSEC / DAY, ddxp=v[2] * ARCSEC / DAY**2,
            yp=v[4] * ARCSEC, dyp=v[5] * ARCSEC / DAY, ddyp=v[6] * ARCSEC / DAY**2,
            t_tm=v[7], dut1=v[8], ddut1=v[9] / DAY, dddut1=v[10] / DAY**2,
        )  # fmt: skip
    else:  # ION: Klobuchar (LNAV, D1D2, CNVX of G/J), NeQuick-G (IFNV), BDGIM (C CNVX)
        vals = [x for x in _v4_values(lines)]
        while vals and math.isnan(vals[-1]):
            vals.pop()
        if system == "E":
            rec["model"] = "NEQUICK"
        elif system == "C" and mtype == "CNVX":
            rec["model"] = "BDGIM"
        else:
            rec["model"] = "KLOBUCHAR"
        rec["values"] = np.array(vals)
    return rec


def _parse_group(block, starts, nlines, system, mtype, v2, v4, log, body_start, source):
    """Parse all records of one layout (vectorized); returns a structured array."""
    layout = LAYOUTS[(system, mtype)][0]
    rows = block[starts[:, None] + np.arange(nlines)[None, :]]  # (R, nlines, 80)
    first = rows[:, 0, :]
    if v2:
        data = np.concatenate([first[:, 22:79], rows[:, 1:, 3:79].reshape(len(starts), -1)], axis=1)
    else:
        data = np.concatenate([first[:, 23:80], rows[:, 1:, 4:80].reshape(len(starts), -1)], axis=1)
    data = np.ascontiguousarray(data)
    # Fortran D exponents
    data[(data == 68) | (data == 100)] += 1
    values, bad = _fields_to_float(data, 19)
    bad_line = np.zeros(len(starts), dtype=np.int64)  # line within the record of a bad number
    if bad.any():
        idx = np.flatnonzero(bad)
        cells = data[idx].reshape(len(idx), -1, 19).copy()
        blank = (cells == 32).all(axis=2)
        cells[blank] = np.frombuffer(b"nan".ljust(19), dtype=np.uint8)
        strings = cells.reshape(-1, 19).view("S19").reshape(len(idx), -1)
        _, _, first_bad = _fields_to_float_slow(strings)
        bad_line[idx] = np.where(first_bad < 3, 0, 1 + (first_bad - 3) // 4)
    values[values == UNKNOWN_VALUE] = np.nan

    # epoch and PRN
    if v2:
        cols = [(0, 3), (3, 5), (6, 8), (9, 11), (12, 14), (15, 17), (17, 22)]
    else:
        cols = [(0, 3), (4, 8), (9, 11), (12, 14), (15, 17), (18, 20), (21, 23)]
    ep = np.empty((len(starts), 7))
    prn_text = first[:, 0:3].copy()
    letter = np.isin(prn_text[:, 0], np.frombuffer(SYSTEMS.encode(), np.uint8))
    prn_text[letter, 0] = 32
    bad0 = np.zeros(len(starts), dtype=bool)
    # PRN and year .. minute are unsigned integers as written: converted from the digits
    # (the 2-column ones at once) when they all are, else as text (as the seconds)
    done = set()
    two = [k for k in range(1, 6) if cols[k][1] - cols[k][0] == 2]
    if two:
        v = _integer_field(first[:, [c for k in two for c in range(*cols[k])]]
                           .reshape(len(starts), len(two), 2))
        if v is not None:
            ep[:, two] = v
            done.update(two)
    for k, (a, b) in enumerate(cols):
        if k in done:
            continue
        text = prn_text if k == 0 else first[:, a:b]
        v = None
        if k < 6:  # PRN, year .. minute; trailing blanks (v2 PRN "12 ") do not count
            digits = text[:, :-1] if k == 0 and (text[:, -1] == 32).all() else text
            v = _integer_field(digits)
        if v is not None:
            ep[:, k] = v[:, 0]
            continue
        v, b_ = _fields_to_float(text, text.shape[1])
        ep[:, k] = v[:, 0]
        bad0 |= b_
    bad |= bad0 | np.isnan(ep).any(axis=1)
    if v2:
        yy = ep[:, 1]
        ep[:, 1] = np.where(yy < 80, yy + 2000, np.where(yy < 100, yy + 1900, yy))
    prn = ep[:, 0]
    bad |= (prn < 1) | (prn > 99) | (ep[:, 2] < 1) | (ep[:, 2] > 12) | (ep[:, 3] < 1) | (ep[:, 3] > 31)
    if bad.any():
        for i in np.flatnonzero(bad):
            log.add(
                body_start + int(starts[i]) + 1 + int(bad_line[i]),
                f"unreadable {system} navigation record (record starts at line "
                f"{body_start + int(starts[i]) + 1 - int(v4)}), expected numbers in the fixed "
                "columns of the RINEX format",
                kind=f"unreadable {system} navigation record",
            )  # fmt: skip
    # epoch fields and values that no real message holds: the record is damaged
    implausible = ~bad & _implausible_epoch(ep)
    why = np.where(implausible, "epoch field out of range (year "
                   f"{MIN_YEAR}-{MAX_YEAR}, month 1-12, day 1-31, hour 0-23, minute 0-59, second 0-60)", "")
    vbad, vwhy = _implausible_values(values, LAYOUTS[(system, mtype)][0], system)
    vbad &= ~bad & ~implausible
    why = np.where(vbad, vwhy, why)
    for i in np.flatnonzero(implausible | vbad):
        log.add(body_start + int(starts[i]) + 1 - int(v4),
                f"implausible {system} navigation record: {why[i]}",
                kind=f"implausible {system} navigation record")
    bad |= implausible | vbad
    if bad.any():
        keep = ~bad
        values, ep, starts = values[keep], ep[keep], starts[keep]
        prn = prn[keep]
    R = len(starts)
    if R == 0:
        return np.zeros(R, dtype=message_dtype(system))
    blank = _blank_message(system)
    out = np.repeat(records_view(blank), R).view(blank.dtype)  # float fields NaN, others zero
    nf = values.shape[1]
    for k, name in enumerate(layout):
        if name is not None and k < nf:
            out[name] = values[:, k]
    sat = 100 * SYSTEMS.index(system) + prn.astype(np.int64)
    out["sat"] = sat
    sec = ep[:, 6]
    label_ns = calendar_to_ns(ep[:, 1], ep[:, 2], ep[:, 3], ep[:, 4], ep[:, 5], sec)
    toc = np.asarray(to_gpst(label_ns, TIME_SCALE[system]), dtype=np.int64)
    out["toc"] = toc
    out["line"] = body_start + starts + 1 - int(v4)
    out["source"] = source
    if system in ("R", "S"):
        for name in KM_FIELDS:
            out[name] *= 1000.0
        out["message_type"] = mtype
        return out
    # Kepler systems: message type and toe
    if system == "E" and mtype == "GAL":
        ds = np.nan_to_num(out["data_source"], nan=0).astype(np.int64)
        out["message_type"] = np.where((ds & 0b010) != 0, "FNAV", "INAV")
    elif system == "C" and mtype == "BDS":
        out["message_type"] = np.where(np.isin(prn.astype(int), list(BDS_GEO_PRNS)), "D2", "D1")
    else:
        out["message_type"] = mtype
    if system in ("G", "J") and mtype in ("CNAV", "CNV2"):
        # GPS/QZSS CNAV: t_oe = t_oc (IS-GPS-200 30.3.3.1.1); RINEX 4 gives t_op in the toe
        # slot. (BeiDou B-CNAV1/2/3 -- "C CNV2" too -- write t_oe there: handled below.)
        out["toe_sow"] = np.nan
        week, tow = gps_week_tow(toc)
        out["toe"] = toc
        out["toe_sow"] = tow
        out["week"] = week.astype(np.float64)
        return out
    out["toe"] = _toe_from_week(out["week"], out["toe_sow"], toc, system)
    return out


#: Semi-major axis range (m) of a broadcast orbit: above the atmosphere (6 478 km) to
#: beyond GEO (42 164 km) with a margin. sqrt(A) outside sqrt of it is a damaged record.
_SQRT_A_RANGE = (math.sqrt(6.478e6), math.sqrt(5.0e7))
#: Geocentric distance range (m) of a GLONASS/SBAS broadcast position (GLONASS 25 500 km,
#: SBAS GEO 42 164 km), with a margin.
_RADIUS_RANGE = (6.478e6, 5.0e7)
#: Any value larger than this (or +-inf) is no broadcast quantity: the record is damaged.
_MAX_ABS_VALUE = 1e20
#: Kepler fields every message needs (NaN -> damaged record).
_KEPLER_REQUIRED = ("sqrt_a", "e", "m0", "omega0", "i0", "omega", "toe_sow", "af0")
_LETTER = np.array([chr(c).upper() if chr(c).isascii() and chr(c).isalpha() else "" for c in range(256)])


def _printable(byte) -> str:
    """A byte of a damaged line for a message: the character when printable ASCII, else
    its code (no raw bytes echoed to a terminal)."""
    b = int(byte)
    return repr(chr(b)) if 32 <= b < 127 else f"byte 0x{b:02x}"


def _implausible_epoch(ep: np.ndarray) -> np.ndarray:
    """Rows of (prn, year, month, day, hour, minute, second) outside the calendar's ranges."""
    with np.errstate(invalid="ignore"):
        return ~((ep[:, 1] >= MIN_YEAR) & (ep[:, 1] <= MAX_YEAR) & (ep[:, 4] >= 0) & (ep[:, 4] <= 23)
                 & (ep[:, 5] >= 0) & (ep[:, 5] <= 59) & (ep[:, 6] >= 0) & (ep[:, 6] < 61))


def _implausible_values(values: np.ndarray, layout, system: str):
    """Rows of a record block with values no real message holds; returns (mask, reason)."""
    n = values.shape[0]
    reason = np.full(n, "", dtype=object)
    with np.errstate(invalid="ignore"):
        huge = ~(np.abs(np.nan_to_num(values, nan=0.0)) <= _MAX_ABS_VALUE)
    bad = huge.any(axis=1)
    reason[bad] = "a value is infinite or beyond 1e20"
    col = {name: k for k, name in enumerate(layout) if name is not None and k < values.shape[1]}

    def mark(mask, text):
        nonlocal bad
        new = mask & ~bad
        reason[new] = text
        bad = bad | new

    with np.errstate(invalid="ignore"):
        if system in ("R", "S"):
            if all(c in col for c in ("x", "y", "z")):
                xyz = values[:, [col["x"], col["y"], col["z"]]] * 1000.0  # km -> m
                r = np.sqrt((xyz**2).sum(axis=1))
                mark(~((r >= _RADIUS_RANGE[0]) & (r <= _RADIUS_RANGE[1])),
                     "satellite position not 6 478-50 000 km from the Earth's centre")
        else:
            missing = np.zeros(n, dtype=bool)
            for name in _KEPLER_REQUIRED:
                if name in col:
                    missing |= np.isnan(values[:, col[name]])
            mark(missing, "a required orbit or clock value (sqrtA, e, M0, OMEGA0, i0, omega, "
                          "toe, af0) is blank or NaN")
            if "sqrt_a" in col:
                sa = values[:, col["sqrt_a"]]
                mark(~((sa >= _SQRT_A_RANGE[0]) & (sa <= _SQRT_A_RANGE[1])),
                     "sqrt(A) outside 2 545-7 071 m^0.5 (orbit radius 6 478-50 000 km)")
            if "e" in col:
                e = values[:, col["e"]]
                mark(~((e >= 0.0) & (e < 1.0)), "eccentricity outside [0, 1)")
    return bad, reason.astype(str)


def _toe_from_week(week, toe_sow, toc, system):
    """toe in GPST ns from the written week and seconds of week, checked against toc.

    When the week is missing or disagrees with toc by more than half a week (rolled-over
    or mis-written weeks), the week is taken from toc and toe put within half a week of it.
    """
    sow = np.nan_to_num(toe_sow, nan=0.0)
    wk = np.nan_to_num(week, nan=0.0).astype(np.int64)
    if system == "C":
        toe = gpst_from_bdt_week_tow(wk, sow)
        toc_week, _ = bdt_week_tow(toc)
        fallback = gpst_from_bdt_week_tow(toc_week, sow)
    else:
        toe = gpst_from_week_tow(wk, sow)
        toc_week, _ = gps_week_tow(toc)
        fallback = gpst_from_week_tow(toc_week, sow)
    half = NS_PER_WEEK // 2
    fallback = np.where(fallback - toc > half, fallback - NS_PER_WEEK, fallback)
    fallback = np.where(toc - fallback > half, fallback + NS_PER_WEEK, fallback)
    wrong = np.isnan(week) | (np.abs(toe - toc) > half)
    return np.where(wrong, fallback, toe).astype(np.int64)


# ---------------------------------------------------------------------------------------------
def read_rinex_nav(*paths: str | PathLike, strict: bool = False, systems: str | None = None) -> Navigation:
    """Read and merge RINEX 2/3/4 navigation files of any system.

    Parameters
    ----------
    *paths : str or PathLike
        Navigation files (plain, .gz, .Z, .bz2, .zip).
    strict : bool
        Raise on a damaged record instead of skipping it with a warning.
    systems : str, optional
        System letters (``"GE"``): only the ephemeris messages of these systems are decoded
        and held; the records of the others are located (a damaged record layout is still
        reported) but their fields are not read (a solve of GPS alone skips decoding the
        ~90 % of a multi-GNSS file that it would drop). None (default): every system.

    Returns
    -------
    Navigation
        Messages per system sorted by (sat, toc), exact duplicates removed.

    Raises
    ------
    RinexError
        When a file is not a navigation file or its header is unreadable (file and line).
    """
    if not paths:
        raise ValueError("read_rinex_nav needs at least one file")
    nav = Navigation()
    per_system: dict[str, list[np.ndarray]] = {}
    for source, path in enumerate(paths):
        hdr, msgs = _read_one(path, source, strict, nav, systems)
        nav.sources.append(str(path))
        if source == 0:
            nav.header = hdr
        else:
            nav.header.merge_corrections(hdr)
        for s, arr in msgs.items():
            per_system.setdefault(s, []).append(arr)
    for s in SYSTEMS:
        if s in per_system:
            nav.messages[s] = dedupe_sort(concat_records(per_system[s]))
    return nav


def __getattr__(name: str):
    """``write_rinex_nav`` re-exported from :mod:`satnav.io.rinex_nav_writer` on first use
    (reading navigation files does not load the writer)."""
    if name == "write_rinex_nav":
        from .rinex_nav_writer import write_rinex_nav

        return write_rinex_nav
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

