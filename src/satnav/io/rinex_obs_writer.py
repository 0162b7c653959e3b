"""Write observations as a RINEX 3.05 (or 4.01/4.02) observation file.

:func:`write_rinex_obs` turns an :class:`~satnav.observations.Observations` (from any
reader) into a RINEX 3.05 file that reads back to the same values, LLI, SSI, epochs and
satellites. Formats follow RINEX 3.05 (IGS/RTCM-SC104, 2020), Appendix A2 (header) and
A3 (data records):

* epoch record ``A1,1X,I4,4(1X,I2.2),F11.7,2X,I1,I3,6X,F15.12``;
* one line per satellite ``A3,m(F14.3,I1,I1)`` with the codes of its system in the order of
  its ``SYS / # / OBS TYPES`` record, blanks where a value is absent, lines right-trimmed.

Epochs are always written in GPS time (``TIME OF FIRST OBS`` says ``GPS``), because the data
model holds GPST; a COMMENT says so when the source file used another time system.

The body is formatted without a Python loop over epochs or values: every value becomes a
scaled integer, its digits are laid out with array arithmetic into a ``lines x columns``
byte matrix (one row per epoch line, satellite line or event line, in file order), and the
rows are right-trimmed and joined with one boolean-mask gather. Work proceeds in blocks of
epochs so memory stays bounded whatever the file size.
"""

from __future__ import annotations

import contextlib
import gzip
import math
import shutil
import tempfile
import warnings
from datetime import datetime, timezone
from os import PathLike
from pathlib import Path

import numpy as np

from ..errors import SatnavError, SatnavWarning
from ..gnss_time import NS_PER_S, ns_to_calendar
from ..observations import Event, Observations
from ..satellites import MAX_SATELLITES, SYSTEMS, satellite_ids, system_number_of
from .atomic import atomic_output

__all__ = ["write_rinex_obs", "format_fixed", "header_text", "body_blocks", "RinexObsPieceWriter"]

#: Default output version.
RINEX_VERSION = 3.05
#: Versions written: 3.05 and 4.01/4.02. RINEX 4 observation files have the data records of
#: 3.05 and its header records (RINEX 4.01 table A2 adds the optional DOI, LICENSE OF USE and
#: STATION INFORMATION); RINEX 4.00 changed the navigation files
#: (:mod:`satnav.io.rinex_nav_writer`).
RINEX_VERSIONS = (3.05, 4.01, 4.02)

_SYSTEM_TITLES = {
    "G": "G: GPS",
    "R": "R: GLONASS",
    "E": "E: GALILEO",
    "C": "C: BEIDOU",
    "J": "J: QZSS",
    "I": "I: NAVIC/IRNSS",
    "S": "S: SBAS PAYLOAD",
    "M": "M: MIXED",
}

#: Header records kept verbatim from ``ObsHeader.other_records`` (valid in RINEX 3.05 and
#: not rebuilt from the data model). Other records there (RINEX 2-only ones such as
#: ``WAVELENGTH FACT L1/2``, unknown labels) are kept as COMMENT lines, see below.
_PASS_THROUGH_LABELS = (
    "ANTENNA: DELTA X/Y/Z",
    "ANTENNA: PHASECENTER",
    "ANTENNA: B.SIGHT XYZ",
    "ANTENNA: ZERODIR AZI",
    "ANTENNA: ZERODIR XYZ",
    "CENTER OF MASS: XYZ",
    "SYS / DCBS APPLIED",
    "SYS / PCVS APPLIED",
    "DOI",
    "LICENSE OF USE",
    "STATION INFORMATION",
)

#: Counts that RINEX 3.05 makes optional and that a conversion would have to recompute:
#: left out. Other records of ``other_records`` not passed through become COMMENT lines.
_RECOUNTED_LABELS = ("# OF SATELLITES", "PRN / # OF OBS")

#: Header records inside flag-4 events that would change how the body is read (observation
#: types, scale factors, wavelength factors) or RINEX 2-only records: not written, since the
#: body is written with one set of observation types per system.
_EVENT_LABELS_DROPPED = (
    "SYS / # / OBS TYPES",
    "# / TYPES OF OBSERV",
    "SYS / SCALE FACTOR",
    "WAVELENGTH FACT L1/2",
    "# OF SATELLITES",
    "PRN / # OF OBS",
    "END OF HEADER",
)

_SPACE = 32
_NEWLINE = 10
#: Target size (bytes) of the line matrix built per block of epochs.
_BLOCK_BYTES = 4 * 1024 * 1024
#: 3-digit groups as bytes, for laying out digits three at a time: ``[0]`` zero-padded
#: ("007"), ``[1]`` leading zeros blank ("  7", "   " for 0), ``[2]`` same but "  0" for 0.
_DIGITS3 = np.array(
    [
        [list(f"{i:03d}".encode()) for i in range(1000)],
        [list((f"{i:3d}" if i else "   ").encode()) for i in range(1000)],
        [list(f"{i:3d}".encode()) for i in range(1000)],
    ],
    dtype=np.uint8,
)
#: 10, 100, ... : ``searchsorted(_POWERS_OF_10, x, "right")`` + 1 is the digit count of x.
_POWERS_OF_10 = np.array([10**k for k in range(1, 19)], dtype=np.int64)


# ---------------------------------------------------------------------------- number layout
def format_fixed(scaled, width: int, decimals: int):
    """Fortran ``F<width>.<decimals>`` (or ``I<width>`` when ``decimals`` is 0) text of numbers
    given as integers already scaled by ``10**decimals``.

    Parameters
    ----------
    scaled : array_like of int64 (n,)
        ``round(value * 10**decimals)``.
    width, decimals : int
        Field width and number of decimals.

    Returns
    -------
    text : ndarray uint8 (n, width)
        ASCII bytes, right-justified, ``-`` before the first digit of negative numbers and at
        least one digit before the decimal point (``"    0.123"``), as Fortran writes them.
    overflow : ndarray bool (n,)
        True where the number does not fit the field (its text is then undefined).
    """
    scaled = np.asarray(scaled, dtype=np.int64)
    n = len(scaled)
    int_cols = width - decimals - (1 if decimals else 0)
    out = np.empty((n, width), dtype=np.uint8)
    negative = scaled < 0
    magnitude = np.abs(scaled)
    whole = magnitude
    if decimals:
        unit = 10**decimals
        whole, frac = np.divmod(magnitude, unit)
        out[:, int_cols] = ord(".")
        end = width
        while end > int_cols + 1:  # fraction digits, zero-padded, three at a time
            k = min(3, end - int_cols - 1)
            frac, group = np.divmod(frac, 10**k)
            out[:, end - k:end] = _DIGITS3[0, group][:, 3 - k:]
            end -= k
    # integer digits, three at a time from the units up; leading zeros blank
    rest = whole
    end, table = int_cols, 2  # the units group shows "0" for zero
    while end > 0:
        k = min(3, end)
        rest, group = np.divmod(rest, 10**k)
        style = np.where(rest > 0, 0, table)
        out[:, end - k:end] = _DIGITS3[style, group][:, 3 - k:]
        end -= k
        table = 1
    overflow = rest > 0
    if negative.any():
        ndigits = np.searchsorted(_POWERS_OF_10, whole, side="right") + 1
        sign_col = int_cols - ndigits - 1
        overflow |= negative & (sign_col < 0)
        rows = np.flatnonzero(negative & (sign_col >= 0))
        out[rows, sign_col[rows]] = ord("-")
    return out, overflow


def _zero_padded(values, width: int) -> np.ndarray:
    """``I<width>.<width>`` text (uint8 (n, width)) of non-negative integers < 10**width."""
    values = np.asarray(values, dtype=np.int64)
    out = np.empty((len(values), width), dtype=np.uint8)
    for c in range(width - 1, -1, -1):
        out[:, c] = 48 + values % 10
        values = values // 10
    return out


def _single_digit(values) -> np.ndarray:
    """One column of digits 1-9, blank for 0 (LLI / signal strength). Out of range -> blank."""
    values = np.asarray(values, dtype=np.int64)
    return np.where((values >= 1) & (values <= 9), 48 + values, _SPACE).astype(np.uint8)


# ---------------------------------------------------------------------------- header
def _record(content: str, label: str) -> str:
    return f"{content[:60]:<60}{label}".rstrip()


def _utc_now_text() -> str:
    return datetime.now(timezone.utc).strftime("%Y%m%d %H%M%S UTC")


def _epoch_fields(ns: int) -> tuple[int, int, int, int, int, float]:
    y, m, d, hh, mm, _ = ns_to_calendar(np.int64(ns))
    sec = (int(ns) % (60 * NS_PER_S)) / NS_PER_S
    return int(y), int(m), int(d), int(hh), int(mm), sec


def _time_record(ns: int, label: str) -> str:
    y, m, d, hh, mm, sec = _epoch_fields(ns)
    return _record(f"{y:6d}{m:6d}{d:6d}{hh:6d}{mm:6d}{sec:13.7f}     GPS", label)


def _obs_types_records(system: str, codes: list[str]) -> list[str]:
    lines = []
    for i in range(0, max(len(codes), 1), 13):
        chunk = "".join(f" {c:<3}" for c in codes[i:i + 13])
        head = f"{system}  {len(codes):3d}" if i == 0 else " " * 6
        lines.append(_record(head + chunk, "SYS / # / OBS TYPES"))
    return lines


def _f(value, width: int, decimals: int) -> str:
    """Fortran F field, blank for None/NaN."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return " " * width
    return f"{float(value):{width}.{decimals}f}"


def _phase_shift_records(shifts) -> list[str]:
    lines = []
    for system, code, correction, sats in shifts:
        head = f"{system:1} {code:<3} {_f(correction, 8, 5)}"
        sats = list(sats or [])
        if not sats:
            lines.append(_record(head, "SYS / PHASE SHIFT"))
            continue
        for i in range(0, len(sats), 10):
            chunk = "".join(f" {s:<3}" for s in sats[i:i + 10])
            prefix = f"{head}  {len(sats):02d}" if i == 0 else " " * 18
            lines.append(_record(prefix + chunk, "SYS / PHASE SHIFT"))
    return lines


def _glonass_slot_records(slots: dict[str, int]) -> list[str]:
    items = sorted(slots.items())
    lines = []
    for i in range(0, max(len(items), 1), 8):
        chunk = "".join(f"{sat:<3} {int(k):2d} " for sat, k in items[i:i + 8])
        head = f"{len(items):3d} " if i == 0 else " " * 4
        lines.append(_record(head + chunk, "GLONASS SLOT / FRQ #"))
    return lines


def _glonass_bias_record(biases: dict[str, float]) -> str:
    order = ["C1C", "C1P", "C2C", "C2P"]
    codes = [c for c in order if c in biases] + [c for c in biases if c not in order]
    text = "".join(f" {c:<3} {_f(biases[c], 8, 3)}" for c in codes[:4])
    return _record(text, "GLONASS COD/PHS/BIS")


def _comment_records(text: str) -> list[str]:
    text = text.rstrip()
    if not text:
        return [_record("", "COMMENT")]
    return [_record(text[i:i + 60], "COMMENT") for i in range(0, len(text), 60)]


def _header_lines(obs: Observations, codes_by_system: dict[str, list[str]], *,
                  first_ns: int | None = None, last_ns: int | None = None,
                  version: float = RINEX_VERSION) -> list[str]:
    from .._version import __version__

    h = obs.header
    systems = list(codes_by_system)
    letter = systems[0] if len(systems) == 1 else "M"
    lines = [
        _record(
            f"{version:9.2f}{'':11}{'OBSERVATION DATA':<20}{_SYSTEM_TITLES[letter]:<20}",
            "RINEX VERSION / TYPE",
        ),
        _record(f"{'satnav ' + __version__:<20.20}{'':20}{_utc_now_text():<20}", "PGM / RUN BY / DATE"),
    ]
    if h.program or h.run_by or h.date:
        lines.append(_record(f"{h.program:<20.20}{h.run_by:<20.20}{h.date:<20.20}", "COMMENT"))
    source = Path(obs.source).name if obs.source else "observations"
    origin = f"RINEX {h.version:.2f} " if h.version else ""  # a raw log (UBX) has no RINEX version
    converted = f"CONVERTED BY SATNAV FROM {origin}{source}"
    if len(converted) > 60:  # the file name on lines of its own
        lines += _comment_records(f"CONVERTED BY SATNAV FROM {origin}".rstrip()) + _comment_records(source)
    else:
        lines += _comment_records(converted)
    if (h.time_system or "GPS").strip().upper() not in ("GPS", ""):
        lines += _comment_records(f"EPOCHS CONVERTED FROM {h.time_system.strip()} TO GPS TIME")
    for c in h.comments:
        lines += _comment_records(c)
    for label, content in h.other_records:  # kept for the reader of the file, as comments
        if label.strip() not in _PASS_THROUGH_LABELS + _RECOUNTED_LABELS:
            lines += _comment_records(f"{label.strip()}: {content.strip()}")
    lines.append(_record(h.marker_name, "MARKER NAME"))
    if h.marker_number.strip():
        lines.append(_record(h.marker_number, "MARKER NUMBER"))
    if h.marker_type.strip():
        lines.append(_record(h.marker_type, "MARKER TYPE"))
    lines.append(_record(f"{h.observer:<20.20}{h.agency:<40.40}", "OBSERVER / AGENCY"))
    lines.append(
        _record(
            f"{h.receiver_number:<20.20}{h.receiver_type:<20.20}{h.receiver_version:<20.20}",
            "REC # / TYPE / VERS",
        )
    )
    lines.append(_record(f"{h.antenna_number:<20.20}{h.antenna_type:<20.20}", "ANT # / TYPE"))
    if h.approx_position_m is not None:
        x, y, z = (float(v) for v in h.approx_position_m)
        lines.append(_record(f"{x:14.4f}{y:14.4f}{z:14.4f}", "APPROX POSITION XYZ"))
    if h.antenna_delta_hen_m is not None:
        a, b, c = (float(v) for v in h.antenna_delta_hen_m)
        lines.append(_record(f"{a:14.4f}{b:14.4f}{c:14.4f}", "ANTENNA: DELTA H/E/N"))
    other = [(lab.strip(), txt) for lab, txt in h.other_records if lab.strip() in _PASS_THROUGH_LABELS]
    antenna = [(lab, txt) for lab, txt in other if lab.startswith(("ANTENNA:", "CENTER OF MASS"))]
    other = [item for item in other if item not in antenna]
    lines += [_record(txt, lab) for lab, txt in antenna]
    for s, codes in codes_by_system.items():
        lines += _obs_types_records(s, codes)
    if h.signal_strength_unit.strip():
        lines.append(_record(h.signal_strength_unit, "SIGNAL STRENGTH UNIT"))
    if h.interval_s:
        lines.append(_record(f"{float(h.interval_s):10.3f}", "INTERVAL"))
    first = obs.epochs.min() if len(obs.epochs) else h.time_of_first_obs_ns
    last = obs.epochs.max() if len(obs.epochs) else h.time_of_last_obs_ns
    first = first if first_ns is None else first_ns
    last = last if last_ns is None else last_ns
    if first is not None:
        lines.append(_time_record(int(first), "TIME OF FIRST OBS"))
    if last is not None:
        lines.append(_time_record(int(last), "TIME OF LAST OBS"))
    if h.receiver_clock_offset_applied:
        lines.append(_record(f"{1:6d}", "RCV CLOCK OFFS APPL"))
    lines += [_record(txt, lab) for lab, txt in other]
    lines += _phase_shift_records(_phase_shifts(h.phase_shifts, codes_by_system))
    if "R" in codes_by_system or h.glonass_slots:
        lines += _glonass_slot_records(h.glonass_slots)
        lines.append(_glonass_bias_record(h.glonass_code_phase_bias))
    if h.leap_seconds is not None:
        lines.append(_record(f"{int(h.leap_seconds):6d}", "LEAP SECONDS"))
    lines.append(_record("", "END OF HEADER"))
    return lines


def _phase_shifts(shifts, codes_by_system):
    """The header's phase-shift records, else one record per phase code with a blank
    correction ("unknown"): RINEX 3.05 makes the record mandatory, and a zero would claim a
    phase alignment that the source file did not state."""
    if shifts:
        return shifts
    return [(s, c, None, []) for s, codes in codes_by_system.items() for c in codes if c[0] == "L"]


# ---------------------------------------------------------------------------- body pieces
def _codes_by_system(obs: Observations, present_systems) -> dict[str, list[str]]:
    """Observation codes per system: the header's lists (file order), plus any code that has
    data but is missing from them; systems in the header's order, then satnav's order."""
    out: dict[str, list[str]] = {}
    for s, codes in obs.header.obs_codes.items():
        out[s] = list(dict.fromkeys(codes))
    for s in SYSTEMS:
        if s in present_systems:
            out.setdefault(s, [])
    if not out:
        # nothing from the header or the data (e.g. a RINEX 2 file without observations):
        # the RINEX 2 types mapped for the file's system (GPS for mixed files); RINEX 3.05
        # requires at least one SYS / # / OBS TYPES record
        system = obs.header.system if obs.header.system in SYSTEMS else "G"
        codes: list[str] = []
        if obs.header.obs_codes_v2:
            from .rinex_obs import rinex2_to_rinex3_codes

            codes = [c for c in rinex2_to_rinex3_codes(system, obs.header.obs_codes_v2) if c]
        out[system] = codes
    with_data = obs.codes_by_system()
    for s in SYSTEMS:  # codes with data but not in the header, in satnav's code order
        for code in obs.codes:
            if code in with_data.get(s, ()) and code not in out[s]:
                out[s].append(code)
    return out


def _epoch_lines(ns, flags, nsat, clock_s) -> tuple[np.ndarray, int]:
    """Epoch records (uint8 (n, 56)) and how many clock offsets did not fit F15.12."""
    ns = np.asarray(ns, dtype=np.int64)
    n = len(ns)
    out = np.full((n, 56), _SPACE, dtype=np.uint8)
    out[:, 0] = ord(">")
    y, m, d, hh, mm, _ = ns_to_calendar(ns)
    out[:, 2:6] = _zero_padded(y, 4)
    out[:, 7:9] = _zero_padded(m, 2)
    out[:, 10:12] = _zero_padded(d, 2)
    out[:, 13:15] = _zero_padded(hh, 2)
    out[:, 16:18] = _zero_padded(mm, 2)
    sec_ns = np.mod(ns, 60 * NS_PER_S)  # ns already rounded to 100 ns by the caller
    out[:, 18:29], _ = format_fixed(sec_ns // 100, 11, 7)
    out[:, 31] = 48 + np.asarray(flags, dtype=np.int64) % 10
    out[:, 32:35], _ = format_fixed(nsat, 3, 0)
    clock = np.asarray(clock_s, dtype=np.float64)
    has = np.isfinite(clock) & (np.abs(clock) < 100.0)
    text, over = format_fixed(np.where(has, np.rint(clock * 1e12), 0).astype(np.int64), 15, 12)
    has &= ~over
    out[has, 41:56] = text[has]
    bad = int(np.count_nonzero(np.isfinite(clock) & ~has))
    return out, bad


def _event_lines(event: Event) -> list[str]:
    records = [r.rstrip("\n") for r in event.records]
    if event.flag in (2, 3, 4, 5):
        records = [r for r in records if r[60:].strip() not in _EVENT_LABELS_DROPPED]
    if event.time is None:
        when = " " * 27
    else:
        y, m, d, hh, mm, sec = _epoch_fields(event.time)
        when = f"{y:4d} {m:02d} {d:02d} {hh:02d} {mm:02d}{sec:11.7f}"
    head = f"> {when}  {event.flag:1d}{len(records):3d}".rstrip()
    return [head] + [r.rstrip() for r in records]


def _usable_events(obs: Observations) -> list[Event]:
    """Events to write: cycle-slip records (flag 6) of RINEX 2 sources are in RINEX 2 layout
    and cannot be written as they are (left out, with a warning); flag-4 events left with no
    record once layout-changing records are removed are left out."""
    old = bool(obs.header.version) and obs.header.version < 3
    out, dropped = [], 0
    for ev in obs.events:
        if ev.flag == 6 and old:
            dropped += 1
            continue
        if ev.flag == 4 and ev.records and all(
            r[60:].strip() in _EVENT_LABELS_DROPPED for r in ev.records
        ):
            continue
        out.append(ev)
    if dropped:
        warnings.warn(
            f"{dropped} cycle-slip event record(s) (flag 6) in RINEX 2 layout not written",
            SatnavWarning,
            stacklevel=3,
        )
    return out


def _event_positions(obs: Observations, events: list[Event]) -> np.ndarray:
    """Index of the epoch each event is written before (``len(epochs)``: after the last).

    With ``obs.epoch_lines`` (1-based line of each epoch in the source, when the reader
    provides it) events keep their place exactly. Otherwise an event with a time goes before
    the first epoch at or after it, and one without a time goes where the event before it in
    the list went (the start of the file for the first)."""
    epoch_lines = getattr(obs, "epoch_lines", None)
    pos = np.zeros(len(events), dtype=np.int64)
    if epoch_lines is not None and len(epoch_lines) == len(obs.epochs):
        lines = np.asarray(epoch_lines, dtype=np.int64)
        for i, ev in enumerate(events):
            pos[i] = np.searchsorted(lines, ev.line)
        return pos
    timeless = [ev.line for ev in events if ev.time is None]
    if timeless:
        where = f" of {obs.source}" if obs.source else ""
        warnings.warn(
            f"{len(timeless)} event record(s) without a time (line(s) "
            f"{', '.join(str(n) for n in timeless[:5])}{where}) written after the event before "
            "them: the reader gave no epoch line numbers, so their place among the epochs is "
            "not known",
            SatnavWarning,
            stacklevel=3,
        )
    sorted_epochs = len(obs.epochs) < 2 or bool(np.all(np.diff(obs.epochs) >= 0))
    previous = 0
    for i, ev in enumerate(events):
        if ev.time is not None:
            if sorted_epochs:
                previous = int(np.searchsorted(obs.epochs, ev.time, side="left"))
            else:
                later = np.flatnonzero(obs.epochs >= ev.time)
                previous = int(later[0]) if len(later) else len(obs.epochs)
        pos[i] = previous
    return pos


# ---------------------------------------------------------------------------- main
def check_version(version: float) -> float:
    """``version`` rounded to two decimals when it is one of :data:`RINEX_VERSIONS`, else
    :class:`SatnavError`."""
    v = round(float(version), 2)
    if v not in RINEX_VERSIONS:
        raise SatnavError(f"cannot write RINEX observation version {version}; expected one of "
                          + ", ".join(f"{x:.2f}" for x in RINEX_VERSIONS))
    return v


def write_rinex_obs(obs: Observations, path: str | PathLike, *, version: float = 3.05) -> Path:
    """Write ``obs`` as a RINEX 3.05 (or 4.01/4.02) observation file.

    Parameters
    ----------
    obs : Observations
        Observations from any source (epochs in GPST ns).
    path : str or PathLike
        Output file; a name ending in ``.gz`` is gzip-compressed.
    version : float
        RINEX version to write: 3.05 (default), 4.01 or 4.02 (:data:`RINEX_VERSIONS`).

    Returns
    -------
    Path
        The file written.

    Notes
    -----
    Epochs are written in GPS time. Values that RINEX's ``F14.3`` cannot hold (at or above
    1e10, at or below -1e9, infinite) and receiver clock offsets that ``F15.12`` cannot hold
    are left blank, with one warning giving their number. Rows duplicating an (epoch,
    satellite, code) already written are left out with a warning. The observation types of
    each system are the header's list (file order) plus any code with data missing from it.
    Events (flags 2-6) are written between the epochs where they occurred (see
    ``_event_positions``).
    """
    version = check_version(version)
    path = Path(path)
    present_systems = _present_systems(obs)
    codes_by_system = _codes_by_system(obs, present_systems)
    with atomic_output(path, "wb") as raw, _maybe_gzip(raw, path) as fh:
        fh.write(header_text(obs, codes_by_system, version=version))
        for block in body_blocks(obs, codes_by_system):
            fh.write(block)
    return path


def _present_systems(obs: Observations) -> set[str]:
    sat = obs.sat
    return {SYSTEMS[int(s)] for s in np.unique(system_number_of(sat))} if len(sat) else set()


def header_text(obs: Observations, codes_by_system: dict[str, list[str]], *,
                first_ns: int | None = None, last_ns: int | None = None,
                version: float = RINEX_VERSION) -> bytes:
    """The header of a RINEX observation file (``version``: :data:`RINEX_VERSIONS`) of
    ``obs`` (ASCII bytes, END OF HEADER included) with the observation types
    ``codes_by_system``; ``first_ns``/``last_ns`` (GPST ns) replace the first and last epoch
    of ``obs`` in TIME OF FIRST/LAST OBS (a file written in pieces:
    :class:`RinexObsPieceWriter`)."""
    lines = _header_lines(obs, codes_by_system, first_ns=first_ns, last_ns=last_ns, version=check_version(version))
    return ("\n".join(lines) + "\n").encode("ascii", "replace")


def body_blocks(obs: Observations, codes_by_system: dict[str, list[str]]):
    """The data records of ``obs`` (epoch, satellite and event lines) as ASCII byte blocks of
    about :data:`_BLOCK_BYTES`, laid out with the observation types ``codes_by_system``
    (which must hold every code of ``obs`` that has data)."""
    m = len(obs.epochs)
    ei = _row_epochs(obs)
    sat, code = obs.sat, obs.code

    # column of each row within its system's list of codes
    col_table = np.full((len(SYSTEMS), max(len(obs.codes), 1)), -1, dtype=np.int64)
    for s, codes in codes_by_system.items():
        k = SYSTEMS.index(s)
        for j, c in enumerate(codes):
            if c in obs.codes:
                col_table[k, obs.codes.index(c)] = j
    col = col_table[system_number_of(sat), code]
    kmax = max((len(c) for c in codes_by_system.values()), default=0)

    # rows in file order (epoch, satellite, column); exact duplicates are left out
    key = (ei * MAX_SATELLITES + sat) * (kmax + 1) + col
    if len(key) < 2 or bool(np.all(key[1:] > key[:-1])):
        order = np.arange(len(key))
        keep = np.ones(len(key), dtype=bool)
    else:
        order = np.argsort(key, kind="stable")
        key = key[order]
        keep = np.ones(len(key), dtype=bool)
        keep[1:] = key[1:] != key[:-1]
        if not keep.all():
            warnings.warn(
                f"{np.count_nonzero(~keep)} observation(s) repeat an (epoch, satellite, code) "
                "already written and were left out",
                SatnavWarning,
                stacklevel=2,
            )
    ei, sat, col = ei[order], sat[order], col[order]
    # values RINEX cannot hold are written blank; a row left with nothing to write is dropped
    value = obs.value[order]
    thousandths = np.rint(value * 1000.0)
    present = ~np.isnan(value)
    # F14.3 holds -999999999.999 .. 9999999999.999; NaN and inf fail both comparisons
    unwritable = present & ~((thousandths < 1e13) & (thousandths > -1e12))
    if unwritable.any():
        warnings.warn(
            f"{np.count_nonzero(unwritable)} observation value(s) do not fit RINEX's F14.3 "
            "field (|value| too large or infinite) and were written blank",
            SatnavWarning,
            stacklevel=2,
        )
    keep &= (present & ~unwritable) | (obs.lli[order] != 0) | (obs.ssi[order] != 0)
    rows = order[keep]
    ei, sat, col = ei[keep], sat[keep], col[keep]
    del value, thousandths, present, unwritable, order, keep
    lli, ssi = obs.lli[rows], obs.ssi[rows]
    odd = np.count_nonzero((lli < 0) | (lli > 9) | (ssi < 0) | (ssi > 9))
    if odd:
        warnings.warn(
            f"{odd} LLI or signal-strength indicator(s) outside 0-9 written blank",
            SatnavWarning,
            stacklevel=2,
        )
    del lli, ssi

    # satellite records: one per (epoch, satellite)
    new_rec = np.ones(len(sat), dtype=bool)
    if len(sat) > 1:
        new_rec[1:] = (ei[1:] != ei[:-1]) | (sat[1:] != sat[:-1])
    rec_of_row = np.cumsum(new_rec) - 1
    rec_epoch = ei[new_rec]
    rec_sat = sat[new_rec]
    nsat = np.bincount(rec_epoch, minlength=m) if m else np.zeros(0, np.int64)

    events = _usable_events(obs)
    ev_pos = _event_positions(obs, events)
    ev_text = [_event_lines(ev) for ev in events]
    epochs = (obs.epochs + 50) // 100 * 100  # RINEX epochs have 0.1 us resolution
    if np.any(epochs != obs.epochs):
        warnings.warn(
            f"{np.count_nonzero(epochs != obs.epochs)} epoch(s) rounded to the 0.1 us resolution of RINEX",
            SatnavWarning,
            stacklevel=2,
        )
    epoch_text, bad_clock = _epoch_lines(epochs, obs.epoch_flags, nsat, obs.receiver_clock_offset_s)
    if bad_clock:
        warnings.warn(
            f"{bad_clock} receiver clock offset(s) do not fit RINEX's F15.12 field and were left out",
            SatnavWarning,
            stacklevel=2,
        )

    width = max(3 + 16 * kmax, 56, *(len(t) for lines in ev_text for t in lines)) + 1
    ids = np.frombuffer(satellite_ids(np.arange(700)).astype("S3").tobytes(), dtype=np.uint8).reshape(700, 3)

    # blocks of epochs, so the line matrix stays near _BLOCK_BYTES
    rec_start = np.concatenate([[0], np.cumsum(nsat)])  # first record of each epoch
    row_start = np.searchsorted(rec_of_row, rec_start)  # first value row of each epoch
    lines_per_epoch = 1.0 + (float(nsat.mean()) if m else 0.0)
    per_block = max(1, int(_BLOCK_BYTES / (width * lines_per_epoch)))
    bounds = list(range(0, m, per_block)) + [m] if m else [0, 0]
    for a, b in zip(bounds[:-1], bounds[1:]):
        last = b == m
        sel = (ev_pos >= a) & ((ev_pos < b) | (last & (ev_pos == m)))
        block_events = [(int(ev_pos[i]) - a, ev_text[i]) for i in np.flatnonzero(sel)]
        r0, r1 = rec_start[a], rec_start[b]
        v0, v1 = row_start[a], row_start[b]
        yield (
            _format_block(
                epoch_text[a:b], nsat[a:b], ids[rec_sat[r0:r1]], rec_of_row[v0:v1] - r0,
                col[v0:v1], _value_fields(obs, rows[v0:v1]), block_events, width, kmax,
            )
        )


class RinexObsPieceWriter:
    """A RINEX 3.05 (or 4.01/4.02) observation file written from pieces of observations in
    time order (a log converted piece by piece: :mod:`satnav.io.rawlog_convert`).

    :meth:`append` formats each piece's records (:func:`body_blocks`) into a temporary file;
    :meth:`close` writes the header, which may depend on every piece (last epoch, station
    data, leap seconds), then the records, through :func:`atomic_output`. The file equals
    :func:`write_rinex_obs` of the pieces joined, when the pieces are in time order and laid
    out with the same observation types.

    ``jobs`` > 1: each piece is formatted by a forked child process (at most ``jobs - 1`` at
    a time; the piece is not pickled, the child sees it at the fork) while this process goes
    on (decoding the next piece); the pieces' records are joined in order, the same bytes.
    """

    def __init__(self, path: str | PathLike, *, version: float = RINEX_VERSION, jobs: int = 1):
        from ..parallel import can_fork
        from .atomic import check_not_input

        self.version = check_version(version)
        self.path = Path(path)
        check_not_input(self.path)
        self.jobs = max(1, int(jobs)) if can_fork() else 1
        self._parts: list = []  # temporary files of the records, in order
        self._running: list = []  # (pid, warnings file) of the children, in piece order
        self.first_ns: int | None = None
        self.last_ns: int | None = None
        self.epochs = 0
        self.observations = 0
        self._satellites: set[int] = set()

    def append(self, obs: Observations, codes_by_system: dict[str, list[str]]) -> None:
        """Format the records of ``obs`` (epochs after those appended before) with the
        observation types ``codes_by_system``."""
        if self.jobs > 1:
            while len(self._running) >= self.jobs - 1:
                self._collect()
            part = tempfile.TemporaryFile(prefix="satnav-rinex-body-")
            self._parts.append(part)
            self._running.append(_format_in_child(obs, codes_by_system, part))
        else:
            if not self._parts:
                self._parts.append(tempfile.TemporaryFile(prefix="satnav-rinex-body-"))
            for block in body_blocks(obs, codes_by_system):
                self._parts[-1].write(block)
        if len(obs.epochs):
            self.first_ns = int(obs.epochs[0]) if self.first_ns is None else self.first_ns
            self.last_ns = int(obs.epochs[-1])
        self.epochs += len(obs.epochs)
        self.observations += len(obs)
        self._satellites.update(np.unique(obs.sat).tolist())

    def widen(self, old: dict[str, list[str]], new: dict[str, list[str]]) -> None:
        """Lay the records written so far out with the observation types ``new``, a superset
        of ``old`` in which each system's old types keep their order: the satellite lines of
        a system whose list grew get blank fields at the new types' columns (the pieces
        written lacked those types, so their values are blank), re-trimmed."""
        while self._running:
            self._collect()
        moves = {}
        for letter, codes in new.items():
            before = old.get(letter, [])
            if before != codes:
                moves[letter.encode()] = (len(before), [codes.index(c) for c in before], len(codes))
        if not moves or not self._parts:
            return
        parts = []
        for part in self._parts:
            part.seek(0)
            out = tempfile.TemporaryFile(prefix="satnav-rinex-body-")
            rest = b""
            while True:
                block = part.read(1 << 24)
                data = rest + block
                cut = data.rfind(b"\n") + 1 if block else len(data)
                if cut:
                    out.write(_widen_lines(data[:cut], moves))
                rest = data[cut:]
                if not block:
                    break
            part.close()
            parts.append(out)
        self._parts = parts

    def _collect(self) -> None:
        """Wait for the oldest child; its warnings are given here."""
        import os
        import pickle

        pid, notes = self._running.pop(0)
        _, status = os.waitpid(pid, 0)
        with notes:
            notes.seek(0)
            data = notes.read()
        if status != 0 or not data:
            raise SatnavError(f"{self.path}: a process formatting RINEX records failed (wait status {status})")
        ok, messages = pickle.loads(data)
        if not ok:
            raise SatnavError(f"{self.path}: formatting RINEX records failed: {messages}")
        for text in messages:
            warnings.warn(text, SatnavWarning, stacklevel=3)

    def close(self, header, codes_by_system: dict[str, list[str]] | None, *, source: str = "") -> dict:
        """Write the file: header (``header``: an ObsHeader, None for an empty one) and the
        records; returns ``epochs``, ``satellites`` (ids) and ``observations`` (values)."""
        from ..observations import ObsHeader

        try:
            while self._running:
                self._collect()
            empty = np.zeros(0)
            head = Observations(empty, empty, empty, empty, empty, empty, [], empty,
                                header=header if header is not None else ObsHeader(), source=source)  # fmt: skip
            codes = codes_by_system or _codes_by_system(head, set())
            with atomic_output(self.path, "wb") as raw, _maybe_gzip(raw, self.path) as fh:
                fh.write(header_text(head, codes, first_ns=self.first_ns, last_ns=self.last_ns, version=self.version))
                for part in self._parts:
                    part.seek(0)
                    shutil.copyfileobj(part, fh, 1 << 22)
        finally:
            self.discard()
        sats = sorted(self._satellites)
        return {"epochs": self.epochs, "satellites": [str(x) for x in satellite_ids(np.array(sats, np.int64))],
                "observations": self.observations}  # fmt: skip

    def discard(self) -> None:
        """Drop what was appended (nothing is written); children still running are ended."""
        import os
        import signal

        for pid, notes in self._running:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
            os.waitpid(pid, 0)
            notes.close()
        self._running = []
        for part in self._parts:
            part.close()
        self._parts = []


def _widen_lines(text: bytes, moves: dict) -> bytes:
    """Satellite lines of ``text`` (whole lines) re-laid with more observation types:
    ``moves``: system letter (bytes) -> (old number of types, new column of each old type,
    new number of types)."""
    lines = text.split(b"\n")
    blank = b" " * 16
    for i, line in enumerate(lines):
        move = moves.get(line[:1])
        if move is None or len(line) < 3:
            continue
        k_old, columns, k_new = move
        body = line[3:].ljust(16 * k_old)
        fields = [blank] * k_new
        for j, m in enumerate(columns):
            fields[m] = body[16 * j : 16 * j + 16]
        lines[i] = (line[:3] + b"".join(fields)).rstrip()
    return b"\n".join(lines)


def _format_in_child(obs: Observations, codes_by_system: dict, part) -> tuple:
    """Fork a child writing the records of ``obs`` into the file ``part``; (pid, the file of
    its result: (True, warning texts) or (False, error text), pickled)."""
    import os
    import pickle

    notes = tempfile.TemporaryFile(prefix="satnav-rinex-notes-")
    pid = os.fork()
    if pid == 0:  # the child: format, report, end without the parent's exit handlers
        code = 0
        try:
            try:
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always")
                    for block in body_blocks(obs, codes_by_system):
                        part.write(block)
                    part.flush()
                result = (True, [str(w.message) for w in caught])
            except BaseException as exc:  # noqa: BLE001 - every failure goes back to the parent
                code = 1
                result = (False, f"{type(exc).__name__}: {exc}")
            notes.write(pickle.dumps(result))
            notes.flush()
        finally:
            os._exit(code)
    return pid, notes


def _maybe_gzip(raw, path: Path):
    """``raw`` itself, or a gzip stream over it when ``path`` ends in ``.gz`` (the name in
    the gzip header is the destination's, not the temporary file's)."""
    if not path.name.endswith(".gz"):
        return contextlib.nullcontext(raw)
    return gzip.GzipFile(filename=path.name, mode="wb", fileobj=raw)


def _value_fields(obs: Observations, rows: np.ndarray) -> np.ndarray:
    """``F14.3,I1,I1`` text (uint8 (n, 16)) of the given rows; blank where a value is absent
    or does not fit, LLI and signal strength blank when 0 (or outside 1-9)."""
    value = obs.value[rows]
    thousandths = np.rint(value * 1000.0)
    fits = (thousandths < 1e13) & (thousandths > -1e12)
    text, _ = format_fixed(np.where(fits, thousandths, 0).astype(np.int64), 14, 3)
    fields = np.empty((len(rows), 16), dtype=np.uint8)
    fields[:, :14] = text
    fields[~fits, :14] = _SPACE
    fields[:, 14] = _single_digit(obs.lli[rows])
    fields[:, 15] = _single_digit(obs.ssi[rows])
    return fields


def _row_epochs(obs: Observations) -> np.ndarray:
    """Index into ``obs.epochs`` of every row (int64)."""
    if not len(obs):
        return np.zeros(0, np.int64)
    if len(obs.epochs) == 0:
        raise SatnavError(f"{obs.source or 'observations'}: observations without epochs; cannot write them")
    ei = np.asarray(obs.epoch_index(), dtype=np.int64)
    if np.any(obs.epochs[np.minimum(ei, len(obs.epochs) - 1)] != obs.time):
        raise SatnavError(
            f"{obs.source or 'observations'}: some observations are at times that are not epochs; "
            "cannot write them"
        )
    return ei


def _format_block(epoch_text, nsat, sat_ids, rec_of_row, col, fields, block_events, width, kmax):
    """Bytes of one block of epochs: epoch lines, satellite lines, event lines."""
    ne = len(epoch_text)
    nrec = len(sat_ids)
    ev_pos = np.array([p for p, _ in block_events], dtype=np.int64)
    ev_nlines = np.array([len(t) for _, t in block_events], dtype=np.int64)
    # event lines written before each epoch (and after the last for index ne)
    ev_before = np.zeros(ne + 1, dtype=np.int64)
    np.add.at(ev_before, ev_pos, ev_nlines)
    lines_before_epoch = np.concatenate([[0], np.cumsum(1 + nsat)])[:ne] + np.cumsum(ev_before)[:ne]
    total = ne + nrec + int(ev_nlines.sum())
    mat = np.full((total, width), _SPACE, dtype=np.uint8)
    # epoch lines
    epoch_row = lines_before_epoch
    mat[epoch_row, :56] = epoch_text
    # satellite lines: the k-th record of epoch e sits k+1 rows after its epoch line
    rec_epoch = np.repeat(np.arange(ne), nsat)
    first_rec = np.concatenate([[0], np.cumsum(nsat)])[:ne]
    rec_row = epoch_row[rec_epoch] + 1 + (np.arange(nrec) - first_rec[rec_epoch])
    mat[rec_row, :3] = sat_ids
    if kmax:
        view = np.lib.stride_tricks.as_strided(
            mat.reshape(-1)[3:], shape=(total, kmax, 16), strides=(width, 16, 1), writeable=True
        )
        view[rec_row[rec_of_row], col] = fields
    # event lines
    if block_events:
        # first line of the events written before epoch p: all blocks and events before p
        ev_base = np.concatenate([[0], np.cumsum(1 + nsat)]) + np.concatenate(
            [[0], np.cumsum(ev_before)[:-1]]
        )
        cursor = {}
        for (p, text) in block_events:
            start = ev_base[p] + cursor.get(p, 0)
            for j, line in enumerate(text):
                b = line.encode("ascii", "replace")
                mat[start + j, :len(b)] = np.frombuffer(b, dtype=np.uint8)
            cursor[p] = cursor.get(p, 0) + len(text)
    # right-trim and add newlines
    nonblank = mat != _SPACE
    length = width - np.argmax(nonblank[:, ::-1], axis=1)
    length[~nonblank.any(axis=1)] = 0
    mat[np.arange(total), length] = _NEWLINE
    keep = np.arange(width)[None, :] <= length[:, None]
    return mat[keep].tobytes()
