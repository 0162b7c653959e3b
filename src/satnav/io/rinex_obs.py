"""Read RINEX observation files, versions 2.10/2.11, 3.00-3.05 and 4.00/4.01.

One job: RINEX observation text -> :class:`satnav.observations.Observations`.
Compression (gz/Z/bz2/zip) and Hatanaka (CRINEX 1/3) are undone by
:func:`satnav.io.textfile.read_bytes` first.

How the fast path works (RINEX 3/4)
-----------------------------------
The whole text is one NumPy ``uint8`` array. Line starts come from
``np.flatnonzero(buf == 10)``; epoch records are the lines that start with ``>``; their
few fields are decoded vectorized. Each satellite line holds 16-column slots
(``F14.3`` value, LLI digit, SSI digit). Every slot of every line is gathered at once as
a ``(n, 16)`` byte matrix (through a strided 16-byte window view of the buffer, so the
gather costs one index per slot) and decoded with SWAR digit arithmetic on ``uint64``
words: the 13 digits give the value as an exact integer number of thousandths, divided
by 1000 (correctly rounded, the same double as ``float(text)``). Each slot is validated
(characters, decimal point, sign placement) with word arithmetic too; an epoch holding a
bad slot is skipped with a warning naming the line. Slots are generated in the order
that sorts rows by satellite and then code, so no sort of the ~10^6 rows is needed.

RINEX 2 files are small; their records are walked in Python per epoch (the epoch lines
found by one regular expression over the whole text) and their values are decoded by
the same vectorized slot decoder.

Conventions
-----------
* A blank value slot is absent (no row). A value of ``0.000`` is kept as 0.0: RINEX
  says blank means "not observed"; some RINEX 2 writers write 0.000 for that too (RTKLIB
  drops zeros, georinex keeps them) -- satnav keeps what the file says.
* LLI and SSI are 0 when blank.
* Epoch times are receiver time tags converted from the file's time system (``TIME OF
  FIRST OBS``; default from the file's system letter) to GPST ns: ``GLO`` files give
  UTC(SU) and are converted as UTC, ``BDT`` as BDS.
* ``SYS / SCALE FACTOR`` (RINEX 3) and ``OBS SCALE FACTOR`` (RINEX 2) are applied
  (values divided by the factor).
* Blank phase-shift corrections in ``SYS / PHASE SHIFT`` are stored as NaN (unknown).
* Event records (epoch flags 2-6) become :class:`~satnav.observations.Event` with the raw
  lines that follow them; flag 4 header records that redefine the observation types
  (``SYS / # / OBS TYPES`` or ``# / TYPES OF OBSERV``) change the decoding of the
  following epochs; ``GLONASS SLOT / FRQ #`` records there update the header. Epoch
  flag 1 (power failure) epochs are observation epochs.
* Blank lines and ``COMMENT`` lines between records are skipped.

Structure rules (damaged and unusual input)
-------------------------------------------
* A damaged record is skipped with a :class:`~satnav.errors.DamagedRecordWarning` naming
  ``FILE:LINE`` (an error with ``strict``); at most 10 warnings of one kind are printed
  per file, the rest summed up in one closing warning ("... and 97 more").
* Epoch times outside the calendar (month 1-12, day 1-31, hour 0-23, minute 0-59,
  second 0-60, year 1688-2271: what int64 ns hold) are damaged records, never wrapped.
* A RINEX 2 satellite line holding more fields than observation types are left for it (a
  shifted, swapped or foreign line; data lines that keep the old count after an event
  flag 4 redefined the types) makes that satellite's record damaged.
* Duplicate epochs (the same time again): the first record of the time is kept, later
  ones are damaged records. Epochs out of time order are kept and sorted into time order
  (one :class:`~satnav.errors.SatnavWarning`); ``epochs`` are then in time order.
* Event flag 3 (new site occupation): the header records that follow apply from the
  event on, never to the epochs before it. ``read_rinex_obs(path)`` keeps every epoch (as
  stop-and-go survey files are read) with the *first* occupation's header -- the site
  records of a flag-3 event (marker, position, antenna, receiver, observer) do not replace
  it; they stay in the :class:`~satnav.observations.Event` -- and warns where the second
  occupation starts. ``occupation=k`` reads the k-th occupation alone: the header is the
  file header updated by every flag 3/4 record up to it, the epochs those from its event
  to the next flag-3 event.
* Implausible header values -- an ``APPROX POSITION XYZ`` not finite or not 0 (unknown)
  nor 6 000-100 000 km from the Earth's centre, antenna offsets beyond 1 km or not finite,
  an ``INTERVAL`` not in (0, 86400] s -- are ignored (left unset) with a warning.
* ``Observations.epoch_lines`` holds the 1-based line of each epoch record and
  ``Event.line`` that of each event record (lines of the Hatanaka-expanded text), so
  events without a time keep their place among the epochs when written again.

RINEX 2 -> RINEX 3 observation codes (:func:`rinex2_to_rinex3_codes`)
--------------------------------------------------------------------
Following the RINEX 3.05 tracking-mode attributes and the choices gfzrnx makes:

==========  ============================================================================
GPS         C1->C1C, P1->C1W, C2->C2X (L2C M+L), P2->C2W, C5->C5X;
            L1/D1/S1 -> ``1C`` (or ``1W`` when the file has P1 but no C1);
            L2/D2/S2 -> ``2W`` (or ``2X`` when the file has C2 but no P2); L5/D5/S5 -> 5X
GLONASS     C1->C1C, P1->C1P, C2->C2C, P2->C2P; L1/D1/S1 -> 1C (1P if P1 but no C1);
            L2/D2/S2 -> 2P (2C if C2 but no P2); band 3 -> 3X
Galileo     every band: attribute X (C1->C1X, L1->L1X, C5->C5X, C7->C7X, C8->C8X, C6->C6X)
SBAS        band 1: attribute C (C1->C1C, L1->L1C); band 5: X
QZSS        band 1: C (L1 C/A); band 2: X (L2C); band 5: X; band 6: X
BeiDou      RINEX 2 band 1 is B1I -> 2I (C1->C2I, L1->L2I); bands 2/7/6 -> I
NavIC       band 5 and 9 -> A
==========  ============================================================================

P1/P2 of systems without a P code (all but GPS and GLONASS) are dropped; other codes map
to attribute X. If two
RINEX 2 codes map to the same RINEX 3 code for one system, the first one is kept and the
later one is ignored for that system (warning).
"""

from __future__ import annotations

import copy
import dataclasses
import math
import os
import re
import warnings
from os import PathLike

import numpy as np

from ..errors import DamagedRecordWarning, FormatError, RinexError, SatnavWarning
from ..gnss_time import MAX_YEAR, MIN_YEAR, NS_PER_DAY, NS_PER_S, calendar_to_ns, to_gpst
from ..observations import Event, Observations, ObsHeader
from ..satellites import SATELLITES_PER_SYSTEM, SYSTEMS, system_number_of, system_of
from ._damage import DamageLog
from .textfile import is_hatanaka, read_bytes

__all__ = ["read_rinex_obs", "parse_rinex_obs", "rinex2_to_rinex3_codes", "iter_rinex_obs", "iter_rinex_obs_texts",
           "ChunkText", "ChunkTexts", "parse_chunk_text", "check_chunk_order",
           "NotChunkableError", "DEFAULT_CHUNK_EPOCHS"]

# ----------------------------------------------------------------------------- constants
_SYS_NUM = {s: i for i, s in enumerate(SYSTEMS)}
#: Time scales whose labels are GPST (:func:`satnav.gnss_time.to_gpst` returns them as is).
_GPST_LIKE = frozenset(("GPS", "GAL", "QZS", "IRN", "GST", "QZSST", "IRNSST", "GPST"))
_MISSING = object()  # a cache miss (None is a cached "not a satellite list")
#: byte -> system number (-1 for anything that is not a system letter)
_SYS_LUT = np.full(256, -1, dtype=np.int8)
for _s, _i in _SYS_NUM.items():
    _SYS_LUT[ord(_s)] = _i
#: RINEX time system -> satnav time scale (RINEX obs "GLO" epochs are UTC(SU))
_TIME_SCALE = {"GPS": "GPS", "GAL": "GAL", "QZS": "QZS", "IRN": "IRN", "BDT": "BDS",
               "GLO": "UTC", "UTC": "UTC", "": "GPS"}
_DEFAULT_TIME_SYSTEM = {"G": "GPS", "R": "GLO", "E": "GAL", "C": "BDT", "J": "QZS",
                        "I": "IRN", "S": "GPS", "M": "GPS"}
_CHUNK = 1 << 16  # slots decoded per block (keeps the byte matrices in cache)
_TAIL = 4096  # bytes of the text end copied into a padded buffer (see _gather)
_PAD = 256

_U = np.uint64
_ALL01 = _U(0x0101010101010101)


# ----------------------------------------------------------------------------- public API
def read_rinex_obs(path: str | PathLike, *, strict: bool = False,
                   occupation: int | None = None) -> Observations:
    """Read a RINEX 2/3/4 observation file (plain, Hatanaka, gz/Z/bz2/zip).

    Parameters
    ----------
    path : str or PathLike
        The file.
    strict : bool
        Raise :class:`~satnav.errors.RinexError` on the first damaged record instead of
        skipping it with a :class:`~satnav.errors.DamagedRecordWarning`.
    occupation : int, optional
        Read only this site occupation (1 = the first) of a file that event flag 3 (new
        site occupation) records split; default all epochs with the first occupation's
        header. See "Structure rules" in the module docstring.

    Returns
    -------
    Observations
        Rows sorted by time, satellite and code; values in the file's units (m, cycles,
        Hz, dB-Hz); epochs in GPST ns.

    Raises
    ------
    RinexError
        Header errors (no ``RINEX VERSION / TYPE``, no ``END OF HEADER``, unknown version,
        not an observation file, malformed observation-type records), or any damaged
        record when ``strict``.
    """
    return parse_rinex_obs(read_bytes(path, strict=strict), path=str(path), strict=strict,
                           occupation=occupation)


def parse_rinex_obs(text: bytes, *, path: str = "<bytes>", strict: bool = False,
                    occupation: int | None = None, systems: str | None = None) -> Observations:
    """Parse RINEX observation text already in memory (see :func:`read_rinex_obs`).

    ``systems`` (letters, RINEX 3/4 only): decode the satellite lines of these systems only
    (what a solve of those systems uses; the others are neither read nor checked, the
    epoch records and satellite counts are); None: every system."""
    if isinstance(text, str):
        text = text.encode("ascii", "replace")
    if occupation is not None and int(occupation) < 1:
        raise ValueError(f"occupation must be 1 or more, got {occupation}")
    reader = _Reader(text, path, strict, None if occupation is None else int(occupation), systems)
    return reader.run()


# ----------------------------------------------------------------------------- RINEX 2 codes
def rinex2_to_rinex3_codes(system: str, codes_v2: list[str]) -> list[str | None]:
    """RINEX 3 codes for RINEX 2 observation types of one system (see module docstring).

    Returns one entry per input code; ``None`` where the code cannot be represented
    (unknown type letter, or a duplicate of an earlier code for this system).
    """
    have = {c.strip().upper() for c in codes_v2}
    out: list[str | None] = []
    seen: set[str] = set()
    for raw in codes_v2:
        c = raw.strip().upper()
        code = _map_v2_code(system, c, have)
        if code is not None and code in seen:
            code = None
        if code is not None:
            seen.add(code)
        out.append(code)
    return out


def _map_v2_code(system: str, c: str, have: set[str]) -> str | None:
    if len(c) != 2 or c[0] not in "CPLDS" or not c[1].isdigit():
        return None
    kind, band = c[0], c[1]
    if kind == "P" and system not in "GR":
        return None  # only GPS and GLONASS have P codes
    obs = "C" if kind in "CP" else kind
    if system == "G":
        if band == "1":
            if kind == "P":
                attr = "W"
            elif kind == "C":
                attr = "C"
            else:
                attr = "W" if ("P1" in have and "C1" not in have) else "C"
        elif band == "2":
            if kind == "P":
                attr = "W"
            elif kind == "C":
                attr = "X"
            else:
                attr = "X" if ("C2" in have and "P2" not in have) else "W"
        else:
            attr = "X"
    elif system == "R":
        if band in "12":
            if kind == "P":
                attr = "P"
            elif kind == "C":
                attr = "C"
            else:
                if band == "1":
                    attr = "P" if ("P1" in have and "C1" not in have) else "C"
                else:
                    attr = "C" if ("C2" in have and "P2" not in have) else "P"
        else:
            attr = "X"
    elif system == "S":
        attr = "C" if band == "1" else "X"
    elif system == "J":
        attr = "C" if band == "1" else "X"
    elif system == "C":
        if band == "1":
            band = "2"
        attr = "I"
    elif system == "I":
        attr = "A"
    else:  # Galileo and anything else
        attr = "X"
    return f"{obs}{band}{attr}"


def _calendar_ns_int(year: int, month: int, day: int, hour: int, minute: int) -> int:
    """Label nanoseconds since 1980-01-06 of whole calendar fields, in Python integers:
    :func:`satnav.gnss_time.calendar_to_ns` (H. Hinnant's days-from-civil) for one epoch."""
    y = year - (month <= 2)
    era = y // 400
    yoe = y - era * 400
    doy = (153 * ((month + 9) % 12) + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    days = era * 146097 + doe - 719468 - 3657  # 1980-01-06 is day 3657 after 1970-01-01
    return days * NS_PER_DAY + (hour * 3600 + minute * 60) * NS_PER_S


# ----------------------------------------------------------------------------- slot decoding
def _swar8(x: np.ndarray) -> np.ndarray:
    """Eight digit values (0..9) packed in little-endian uint64 bytes -> their number,
    first byte most significant (D. Lemire, "Fast number parsing", 2021)."""
    x = x * _U(10) + (x >> _U(8))
    mask = _U(0x000000FF000000FF)
    return ((x & mask) * _U(0x000F424000000064) + ((x >> _U(16)) & mask) * _U(0x0000271000000001)) >> _U(32)


def _gather(buf: np.ndarray, tail: np.ndarray, starts: np.ndarray, width: int) -> np.ndarray:
    """``(n, width)`` uint8 copy of ``buf[start : start + width]`` for each start.

    ``buf`` is the unpadded text; ``tail`` its last ``_TAIL`` bytes followed by ``_PAD``
    blanks, used for starts too close to the end for a whole window."""
    n_buf = len(buf)
    windows = np.ndarray((max(n_buf - width + 1, 0),), dtype=f"V{width}", buffer=buf, strides=(1,))
    limit = n_buf - width
    near = starts > limit
    if not near.any():
        return windows[starts].view(np.uint8).reshape(-1, width)
    out = np.empty((len(starts), width), np.uint8)
    far = ~near
    if far.any():
        out[far] = windows[starts[far]].view(np.uint8).reshape(-1, width)
    off = starts[near] - (n_buf - (len(tail) - _PAD))
    tw = np.ndarray((len(tail) - width + 1,), dtype=f"V{width}", buffer=tail, strides=(1,))
    out[near] = tw[off].view(np.uint8).reshape(-1, width)
    return out


def _decode_slots(tail: np.ndarray, starts: np.ndarray, valid: np.ndarray, buf: np.ndarray):
    """Decode 16-column RINEX observation slots ``F14.3, I1, I1``.

    Parameters
    ----------
    tail : ndarray uint8
        See :func:`_gather`.
    starts : ndarray int64
        Byte offset of each slot.
    buf : ndarray uint8
        The text.
    valid : ndarray int64
        Number of slot bytes before the end of the line (>= 16 for a whole slot).

    Returns
    -------
    value : float64, lli : int8, ssi : int8, present : bool, bad : bool
        ``present`` False for a blank value; ``bad`` True for a slot that is not a valid
        ``F14.3`` field with digit (or blank) LLI and SSI.
    """
    n = len(starts)
    value = np.empty(n, np.float64)
    lli = np.empty(n, np.int8)
    ssi = np.empty(n, np.int8)
    present = np.empty(n, bool)
    bad = np.empty(n, bool)
    col = np.arange(16)
    for a in range(0, n, _CHUNK):
        b = min(n, a + _CHUNK)
        raw = _gather(buf, tail, starts[a:b], 16)
        short = np.flatnonzero(valid[a:b] < 16)
        if len(short):  # bytes past the end of the line are blanks
            sub = raw[short]
            sub[col >= valid[a:b][short, None]] = 32
            raw[short] = sub
        t = raw ^ np.uint8(48)
        isd = t < 10
        dv = t * isd
        issp = raw == 32
        ism = raw == 45
        ok = isd | issp
        ok |= ism
        w = raw.view("<u8")
        wd = dv.view("<u8")
        wsp = issp.view("<u8")
        wm = ism.view("<u8")
        wok = ok.view("<u8")
        wdig = isd.view("<u8")
        A, B = w[:, 0], w[:, 1]
        # value: integer part digits 0-7 (word A) and 8,9; decimals 11-13 (word B)
        dB = wd[:, 1]
        b5 = ((dB & _U(0xFFFF)) << _U(24)) | ((dB & _U(0xFFFFFF000000)) << _U(16))
        thousandths = _swar8(wd[:, 0]) * _U(100000) + _swar8(b5)
        neg = (wm[:, 0] != 0) | ((wm[:, 1] & _U(0xFFFF)) != 0)
        v = thousandths.astype(np.float64) / 1000.0
        np.negative(v, out=v, where=neg)
        value[a:b] = v
        lli[a:b] = dv[:, 14]
        ssi[a:b] = dv[:, 15]
        present[a:b] = ~((A == _U(0x2020202020202020)) & ((B & _U(0xFFFFFFFFFFFF)) == _U(0x202020202020)))
        # validation
        okA = wok[:, 0] == _ALL01
        okB = wok[:, 1]
        good = okA & ((okB & _U(0xFFFF)) == _U(0x0101))
        good &= ((B >> _U(16)) & _U(0xFF)) == _U(46)  # '.'
        good &= ((wdig[:, 1] >> _U(24)) & _U(0xFFFFFF)) == _U(0x010101)  # 3 decimals
        good &= (okB >> _U(48)) == _U(0x0101)  # LLI, SSI digit or blank...
        good &= ((wm[:, 1] >> _U(48)) == 0)  # ...not '-'
        # spaces must form a prefix of columns 0-9 and a '-' must follow it directly
        sA = wsp[:, 0]
        sB = wsp[:, 1] & _U(0xFFFF)
        y = sA * _U(255)
        fullA = sA == _ALL01
        good &= ((y & (y + _U(1))) == 0) | fullA
        good &= (sB == 0) | (fullA & ((sB == 1) | (sB == _U(0x0101))))
        nsp = (sA * _ALL01) >> _U(56)
        nsp = nsp + np.where(fullA, (sB * _U(0x0101)) >> _U(8) & _U(0xFF), _U(0))
        mA = wm[:, 0]
        mB = wm[:, 1] & _U(0xFFFF)
        anym = (mA | mB) != 0
        if anym.any():
            idx = np.flatnonzero(anym)
            k = nsp[idx]
            expA = np.where(k < 8, _U(1) << (_U(8) * np.minimum(k, _U(7))), _U(0))
            expB = np.where(k == 8, _U(1), np.where(k == 9, _U(0x100), _U(0)))
            good[idx] &= (mA[idx] == expA) & (mB[idx] == expB) & (k < 10)
        bad[a:b] = ~good & present[a:b]
    return value, lli, ssi, present, bad


def _v2_epoch_lines(w: np.ndarray) -> np.ndarray:
    """Rows of ``w`` ((n, 32) uint8: the first 32 bytes from each line start) that
    :data:`_V2_EPOCH` matches: the same test, column by column over all lines at once
    (a line ending before column 32 fails it on its newline byte)."""
    digit = (w >= 48) & (w <= 57)
    space = w == 32
    sd = space | digit
    ok = space[:, 26] & space[:, 27] & (w[:, 28] >= 48) & (w[:, 28] <= 54)
    ok &= sd[:, 29] & sd[:, 30] & digit[:, 31]
    # ' YY MM DD HH MM SS.SSSSSSS' (I2 fields with blank or digit tens) or 26 blanks
    timed = (space[:, [0, 3, 6, 9, 12]].all(axis=1) & sd[:, [1, 4, 7, 10, 13, 15, 16]].all(axis=1)
             & digit[:, [2, 5, 8, 11, 14, 17]].all(axis=1) & (w[:, 18] == 46)
             & digit[:, 19:26].all(axis=1))
    ok &= timed | space[:, :26].all(axis=1)
    return np.flatnonzero(ok)


# ----------------------------------------------------------------------------- the reader
_V2_EPOCH = re.compile(
    rb"^(?: [ \d]\d [ \d]\d [ \d]\d [ \d]\d [ \d]\d[ \d]{2}\d\.\d{7}| {26})  [0-6][ \d]{2}\d",
    re.M,
)


#: Geocentric distance range (m) of a plausible APPROX POSITION XYZ (0 = unknown is allowed).
_POSITION_RADIUS = (6.0e6, 1.0e8)
#: Largest plausible antenna offset (m) in ANTENNA: DELTA H/E/N.
_MAX_ANTENNA_OFFSET_M = 1000.0

#: ObsHeader fields describing a site occupation (kept from the first one, see apply_event_records).
_SITE_FIELDS = ("marker_name", "marker_number", "marker_type", "observer", "agency", "receiver_number",
                "receiver_type", "receiver_version", "antenna_number", "antenna_type",
                "approx_position_m", "antenna_delta_hen_m", "other_records")

_GLO_SLOT = re.compile(r"R\s?(\d{1,2})\s*([+-]?\s?\d{1,2})")


def _three_floats(content: str) -> np.ndarray:
    """3F14.4 (positions, antenna offsets); whitespace-separated as a fallback for writers
    that use wider columns."""
    try:
        return np.array([float(content[14 * m : 14 * m + 14]) for m in range(3)])
    except ValueError:
        parts = content.split()
        if len(parts) != 3:
            raise
        return np.array([float(p) for p in parts])


def _continued_fields(
    lines, k, n, label, blank_to, first, width, per_line, length=None, prefix=False
):
    """Fields of a header record that may continue over the following lines.

    ``per_line`` fields of ``length`` characters (default ``width``), one every ``width``
    columns from 0-based column ``first``; a continuation line repeats the label (columns
    61-80; ``prefix``: a label starting with ``label``) and is blank in columns
    1..``blank_to`` (RINEX 3.05 A.2, 2.11 table A1). Reads until ``n`` non-blank fields are
    collected.

    Returns
    -------
    fields : list[str]
    k : int
        Index into ``lines`` of the first line after the record.
    """
    length = width if length is None else length
    _, s = lines[k]
    fields: list[str] = []
    while True:
        for m in range(per_line):
            c = s[first + width * m : first + width * m + length].strip()
            if c:
                fields.append(c)
        k += 1
        if len(fields) >= n or k >= len(lines):
            return fields, k
        _, s = lines[k]
        text = s[60:80].strip().upper()
        if not (text.startswith(label) if prefix else text == label) or s[:blank_to].strip():
            return fields, k


class _Reader:
    def __init__(self, text: bytes, path: str, strict: bool, occupation: int | None = None,
                 systems: str | None = None):
        self.path = path
        self.strict = strict
        self.occupation = occupation
        self.systems = systems
        self.log = DamageLog(path, strict)
        self.next_occupation_line: int | None = None  # 1-based line of the next flag-3 event
        self.occupations_seen = 1
        self.out_of_order: list[int] = []  # 1-based lines of epochs earlier than one before
        if not text.endswith(b"\n"):
            text = text + b"\n"
        self.text = text
        self.buf = np.frombuffer(text, dtype=np.uint8)
        self.tail = np.frombuffer(text[-_TAIL:].rjust(_TAIL) + b" " * _PAD, dtype=np.uint8)
        step = 1 << 22  # find newlines block by block (bounded temporary memory)
        nl = np.concatenate([np.flatnonzero(self.buf[a : a + step] == 10) + a
                             for a in range(0, len(text), step)] or [np.zeros(0, np.int64)])
        self.starts = np.empty(len(nl), np.int64)
        self.starts[0] = 0
        self.starts[1:] = nl[:-1] + 1
        ends = nl.astype(np.int64)
        if len(nl):
            ends -= self.buf[np.maximum(nl - 1, 0)] == 13
        self.ends = np.maximum(ends, self.starts)
        self.nlines = len(nl)
        # epoch text -> (year .. minute, that minute in GPST ns or None, scale) (v2_time)
        self._v2_minutes: dict[str, tuple] = {}
        self.events: list[Event] = []
        self.header = ObsHeader()
        self.scale = "GPS"

    # -- helpers -----------------------------------------------------------------------
    def line(self, i: int) -> str:
        return self.text[self.starts[i] : self.ends[i]].decode("ascii", "replace")

    def error(self, msg: str, line: int | None):
        raise RinexError(msg, self.path, line)

    def damaged(self, line0: int, msg: str, kind: str | None = None):
        """Record a damaged record at 0-based line ``line0`` (raises when strict)."""
        self.log.add(line0 + 1, msg, kind)

    # -- driver --------------------------------------------------------------------------
    def run(self) -> Observations:
        body = self.parse_header()
        if self.header.version < 3:
            parts = self.body_v2(body)
        else:
            parts = self.body_v3(body)
        self.log.emit(stacklevel=5)
        if self.out_of_order:
            warnings.warn(f"{self.path}:{self.out_of_order[0]}: {len(self.out_of_order)} epoch(s) out of "
                          "time order (earlier than an epoch before them): sorted into time order",
                          SatnavWarning, stacklevel=4)
        if self.next_occupation_line is not None:
            k = self.occupation
            if k is None:
                what = ("site occupation 2 starts here; its epochs are kept, with the header of the "
                        "first occupation (read_rinex_obs(..., occupation=2) reads it alone with its "
                        "own header)")
            else:
                what = (f"the epochs from here on are site occupation {k + 1}, kept apart and not "
                        f"read with occupation {k}")
            warnings.warn(f"{self.path}:{self.next_occupation_line}: event flag 3 (new site "
                          f"occupation): {what}", SatnavWarning, stacklevel=4)
        elif self.occupation is not None and self.occupations_seen < self.occupation:
            raise RinexError(f"the file holds {self.occupations_seen} site occupation(s), "
                             f"occupation {self.occupation} was asked for", self.path)
        return parts

    # -- header ----------------------------------------------------------------------------
    def parse_header(self) -> int:
        i = 0
        while i < self.nlines and self.starts[i] == self.ends[i] or (
            i < self.nlines and not self.line(i).strip()
        ):
            i += 1
        if i >= self.nlines:
            self.error("empty file, expected a RINEX observation header", None)
        first = self.line(i)
        if first[60:80].strip().upper() != "RINEX VERSION / TYPE":
            if "COMPACT RINEX" in first.upper() or "CRINEX" in first.upper():
                self.error("Hatanaka (CRINEX) text could not be expanded", i + 1)
            self.error("first record is not 'RINEX VERSION / TYPE', not a RINEX file", i + 1)
        try:
            version = float(first[:9])
        except ValueError:
            self.error(f"bad RINEX version {first[:9].strip()!r}, expected e.g. 2.11, 3.05, 4.01", i + 1)
        if not (2 <= version < 5):
            self.error(f"unsupported RINEX version {version}, expected 2.x, 3.x or 4.x", i + 1)
        if first[20:21].upper() != "O":
            self.error(f"file type {first[20:21]!r} is not observation data ('O')", i + 1)
        h = self.header
        h.version = version
        h.file_type = "O"
        h.system = (first[40:41].strip().upper() or "G")
        if h.system not in SYSTEMS and h.system != "M":
            h.system = "M"
        end = self.text.find(b"END OF HEADER")
        if end < 0:
            self.error("no 'END OF HEADER' record", self.nlines)
        end_line = int(np.searchsorted(self.starts, end, side="right")) - 1
        self.v2_types: list[str] = []
        self.v2_types_line = None
        self.v3_types: dict[str, list[str]] = {}
        self.scale_factors: dict[tuple[str, str], float] = {}
        self.pending = None
        self.time_system = ""
        self.tfirst_line = None
        lines = [(j, self.line(j)) for j in range(i + 1, end_line)]
        self.apply_header_records(lines, in_body=False)
        h.time_system = self.time_system or _DEFAULT_TIME_SYSTEM.get(h.system, "GPS")
        self.scale = _TIME_SCALE.get(h.time_system, None)
        if self.scale is None:
            self.error(f"unknown time system {h.time_system!r} in TIME OF FIRST OBS, "
                       "expected GPS, GLO, GAL, BDT, QZS, IRN or UTC", self.tfirst_line)
        for attr in ("time_of_first_obs_ns", "time_of_last_obs_ns"):
            raw = getattr(h, attr)
            if raw is not None:
                setattr(h, attr, int(to_gpst(raw, self.scale)))
        if version < 3:
            if not self.v2_types:
                self.error("no '# / TYPES OF OBSERV' record in the header", end_line + 1)
        elif not self.v3_types:
            self.error("no 'SYS / # / OBS TYPES' record in the header", end_line + 1)
        return end_line + 1

    def apply_header_records(self, lines: list[tuple[int, str]], in_body: bool):
        """Apply header records (0-based line index, text). Used for the header and for
        epoch-flag 3/4 records."""
        h = self.header
        k = 0
        new_v3: dict[str, list[str]] = {}
        while k < len(lines):
            j, s = lines[k]
            label = s[60:80].strip().upper()
            content = s[:60]
            k += 1
            try:
                if label == "COMMENT":
                    if not in_body:
                        h.comments.append(content.rstrip())
                elif label == "PGM / RUN BY / DATE":
                    h.program, h.run_by, h.date = (content[0:20].strip(), content[20:40].strip(),
                                                   content[40:60].strip())
                elif label == "MARKER NAME":
                    h.marker_name = content.strip()
                elif label == "MARKER NUMBER":
                    h.marker_number = content[:20].strip()
                elif label == "MARKER TYPE":
                    h.marker_type = content[:20].strip()
                elif label == "OBSERVER / AGENCY":
                    h.observer, h.agency = content[:20].strip(), content[20:60].strip()
                elif label == "REC # / TYPE / VERS":
                    h.receiver_number, h.receiver_type, h.receiver_version = (
                        content[:20].strip(), content[20:40].strip(), content[40:60].strip())
                elif label == "ANT # / TYPE":
                    h.antenna_number, h.antenna_type = content[:20].strip(), content[20:40].strip()
                elif label == "APPROX POSITION XYZ":
                    xyz = _three_floats(content)
                    r = float(np.sqrt(np.sum(xyz**2))) if np.isfinite(xyz).all() else math.nan
                    if r == 0.0 or _POSITION_RADIUS[0] <= r <= _POSITION_RADIUS[1]:
                        h.approx_position_m = xyz
                    else:
                        self.header_damage(j, "implausible 'APPROX POSITION XYZ' (not finite, nor 0 "
                                              "nor 6 000-100 000 km from the Earth's centre): ignored")
                elif label == "ANTENNA: DELTA H/E/N":
                    hen = _three_floats(content)
                    if np.isfinite(hen).all() and (np.abs(hen) <= _MAX_ANTENNA_OFFSET_M).all():
                        h.antenna_delta_hen_m = hen
                    else:
                        self.header_damage(j, "implausible 'ANTENNA: DELTA H/E/N' (not finite or beyond "
                                              f"{_MAX_ANTENNA_OFFSET_M:g} m): ignored")
                elif label == "# / TYPES OF OBSERV":
                    k = self.parse_v2_types(lines, k - 1)
                elif label == "SYS / # / OBS TYPES":
                    k = self.parse_v3_types(lines, k - 1, new_v3)
                elif label == "SIGNAL STRENGTH UNIT":
                    h.signal_strength_unit = content[:20].strip()
                elif label == "INTERVAL":
                    iv = float(content[:10])
                    if iv == 0.0:
                        h.interval_s = None
                    elif 0.0 < iv <= 86400.0:
                        h.interval_s = iv
                    else:
                        self.header_damage(j, "implausible 'INTERVAL' (not in (0, 86400] s): ignored")
                elif label in ("TIME OF FIRST OBS", "TIME OF LAST OBS"):
                    self.parse_time_record(label, j, content, in_body)
                elif label == "RCV CLOCK OFFS APPL":
                    h.receiver_clock_offset_applied = content[:6].strip() == "1"
                elif label == "LEAP SECONDS":
                    h.leap_seconds = int(content[:6])
                elif label == "GLONASS SLOT / FRQ #":
                    # 8(1X,A3,1X,I2); tolerate a missing separator ("R11 -5R19 +3")
                    if content[3:].strip() and not _GLO_SLOT.search(content[3:]):
                        raise ValueError(content)
                    for prn, chan in _GLO_SLOT.findall(content[3:]):
                        h.glonass_slots[f"R{int(prn):02d}"] = int(chan.replace(" ", ""))
                elif label == "GLONASS COD/PHS/BIS":
                    for m in range(4):
                        code = content[1 + 13 * m : 4 + 13 * m].strip()
                        if code:
                            h.glonass_code_phase_bias[code] = float(content[5 + 13 * m : 13 + 13 * m])
                elif label in ("SYS / PHASE SHIFT", "SYS / PHASE SHIFTS"):
                    k = self.parse_phase_shift(lines, k - 1)
                elif label == "SYS / SCALE FACTOR":
                    k = self.parse_scale_factor(lines, k - 1)
                elif label == "OBS SCALE FACTOR" and h.version < 3:
                    fac = int(content[:6])
                    n = int(content[6:12] or 0)
                    types = [content[12 + 6 * m : 18 + 6 * m].strip() for m in range(n)]
                    for t in types or [None]:
                        self.scale_factors[("v2", t)] = float(fac)
                elif label == "END OF HEADER":
                    pass
                else:
                    h.other_records.append((label, content.rstrip()))
            except RinexError:
                raise
            except (ValueError, IndexError):
                msg = f"bad '{label}' header record"
                if in_body:
                    self.damaged(j, msg)
                else:
                    self.header_damage(j, msg)
        if new_v3:
            # RINEX 3 obs types: a new record for a system replaces that system's list
            self.v3_types.update(new_v3)
            self.header.obs_codes.update({s: list(c) for s, c in new_v3.items()})

    def apply_event_records(self, lines: list[tuple[int, str]], flag: int):
        """Header records of an event flag 3/4. When all occupations are read (no
        ``occupation`` asked), a flag-3 event's site records do not replace the first
        occupation's header (module docstring, "Structure rules")."""
        if flag != 3 or self.occupation is not None:
            self.apply_header_records(lines, in_body=True)
            return
        h = self.header
        site = {f: copy.deepcopy(getattr(h, f)) for f in _SITE_FIELDS}
        self.apply_header_records(lines, in_body=True)
        for f, v in site.items():
            setattr(h, f, v)

    def header_damage(self, j: int, msg: str):
        self.log.add(j + 1, msg)

    def parse_time_record(self, label, j, content, in_body):
        h = self.header
        # 5I6, F13.7, 5X, A3 -- some writers shift the seconds one column: use tokens
        tokens = content[30:].split()
        if label == "TIME OF FIRST OBS":
            self.tfirst_line = j + 1
            if len(tokens) >= 2 and tokens[-1].isalpha():
                self.time_system = tokens[-1].upper()[:3]
        y, mo, d, hh, mi = (int(content[6 * m : 6 * m + 6]) for m in range(5))
        if not (MIN_YEAR <= y <= MAX_YEAR and 1 <= mo <= 12 and 1 <= d <= 31 and 0 <= hh <= 23
                and 0 <= mi <= 59):
            raise ValueError(content)
        sec = tokens[0] if tokens else ""
        if not re.fullmatch(r"\d{1,2}\.\d+|\d{1,2}", sec) or (len(tokens) > 1 and not tokens[1].isalpha()):
            raise ValueError(sec)
        whole, _, frac = sec.partition(".")
        ns = int(calendar_to_ns(y, mo, d, hh, mi, 0)) + int(whole) * NS_PER_S + int((frac + "0" * 9)[:9])
        if label == "TIME OF FIRST OBS":
            h.time_of_first_obs_ns = ns  # label ns; converted once the time system is known
        else:
            h.time_of_last_obs_ns = ns

    def parse_v2_types(self, lines, k) -> int:
        j, s = lines[k]
        try:
            n = int(s[:6])
        except ValueError:
            self.error("bad count in '# / TYPES OF OBSERV', expected I6", j + 1)
        first = j
        codes, k = _continued_fields(lines, k, n, "# / TYPES OF OBSERV", 6, 6, 6, 9)
        if len(codes) != n:
            self.error(f"'# / TYPES OF OBSERV' announces {n} types but lists {len(codes)}", first + 1)
        self.v2_types = codes
        self.header.obs_codes_v2 = list(codes)
        return k

    def parse_v3_types(self, lines, k, out) -> int:
        j, s = lines[k]
        sysl = s[0].upper()
        if sysl not in _SYS_NUM:
            self.error(f"unknown system letter {s[0]!r} in 'SYS / # / OBS TYPES'", j + 1)
        try:
            n = int(s[3:6])
        except ValueError:
            self.error("bad count in 'SYS / # / OBS TYPES', expected I3 in columns 4-6", j + 1)
        first = j
        codes, k = _continued_fields(lines, k, n, "SYS / # / OBS TYPES", 6, 7, 4, 13, 3)
        if len(codes) != n:
            self.error(f"'SYS / # / OBS TYPES' for {sysl} announces {n} types but lists {len(codes)}",
                       first + 1)
        for c in codes:
            if len(c) != 3 or c[0] not in "CLDSX" or not c[1].isdigit():
                self.error(f"bad observation code {c!r} in 'SYS / # / OBS TYPES'", first + 1)
        out[sysl] = codes
        return k

    def parse_phase_shift(self, lines, k) -> int:
        j, s = lines[k]
        sysl, code = s[0], s[2:5].strip()
        corr_txt = s[6:14].strip()
        corr = float(corr_txt) if corr_txt else float("nan")
        n = int(s[16:18]) if s[16:18].strip() else 0
        sats, k = _continued_fields(lines, k, n, "SYS / PHASE SHIFT", 18, 19, 4, 10, 3, prefix=True)
        if sysl.strip():
            self.header.phase_shifts.append((sysl, code, corr, sats))
        return k

    def parse_scale_factor(self, lines, k) -> int:
        j, s = lines[k]
        sysl = s[0]
        fac = float(int(s[2:6]))
        n = int(s[8:10]) if s[8:10].strip() else 0
        types, k = _continued_fields(lines, k, n, "SYS / SCALE FACTOR", 10, 11, 4, 12, 3)
        for t in types or [None]:
            self.scale_factors[(sysl, t)] = fac
        return k

    # -- epoch times -------------------------------------------------------------------------
    def epoch_ns(self, y, mo, d, hh, mi, sec_ns):
        if (type(y) is type(mo) is type(d) is type(hh) is type(mi) is type(sec_ns) is int
                and (self.scale.strip().upper() or "GPS") in _GPST_LIKE):
            # one epoch of a GPST-aligned scale: the same integer arithmetic as
            # calendar_to_ns in plain Python (NumPy's per-call overhead dominates here)
            return _calendar_ns_int(y, mo, d, hh, mi) + sec_ns
        label = calendar_to_ns(y, mo, d, hh, mi, 0) + sec_ns
        return to_gpst(label, self.scale)

    # -- RINEX 3/4 body --------------------------------------------------------------------------
    def body_v3(self, body: int) -> Observations:
        buf, starts, ends = self.buf, self.starts, self.ends
        nlines = self.nlines
        first = buf[starts[body:nlines]] if body < nlines else np.zeros(0, np.uint8)
        lens = ends[body:nlines] - starts[body:nlines]
        first = np.where(lens > 0, first, 0)
        E = np.flatnonzero(first == 62) + body  # '>' lines
        ne = len(E)
        # decode the epoch lines vectorized: fixed columns of RINEX 3/4
        M = _gather(buf, self.tail, starts[E], 64).copy()
        elen = (ends[E] - starts[E])
        M[np.arange(64)[None, :] >= elen[:, None]] = 32
        dig = M.astype(np.int64) - 48
        isd = (dig >= 0) & (dig <= 9)
        issp = M == 32

        def num(c0, c1, blank_ok=True):
            """Integer in columns c0..c1-1: blanks, digits, then (leniently) blanks."""
            v = np.zeros(ne, np.int64)
            okk = np.ones(ne, bool)
            started = np.zeros(ne, bool)
            ended = np.zeros(ne, bool)
            for c in range(c0, c1):
                dc = isd[:, c]
                sp = issp[:, c]
                okk &= (dc & ~ended) | (sp & (blank_ok | started))
                ended |= sp & started
                started |= dc
                v = np.where(dc, v * 10 + dig[:, c], v)
            return v, okk & started

        y, ok = num(2, 6)
        mo, o = num(7, 9)
        ok &= o
        d, o = num(10, 12)
        ok &= o
        hh, o = num(13, 15)
        ok &= o
        mi, o = num(16, 18)
        ok &= o
        ss, o = num(18, 21)
        ok &= o
        frac, o = num(22, 29, blank_ok=False)
        ok &= o & (M[:, 21] == 46)
        flag, o = num(31, 32, blank_ok=False)
        ok &= o
        nsat, o = num(32, 35)
        ok_n = o
        seps = [1, 6, 9, 12, 15]
        for c in seps:
            ok &= issp[:, c]
        ok &= (mo >= 1) & (mo <= 12) & (d >= 1) & (d <= 31) & (hh <= 23) & (mi <= 59) & (ss <= 60)
        ok &= (y >= MIN_YEAR) & (y <= MAX_YEAR)
        flag_ok = isd[:, 31] & (flag <= 6)
        has_time = ok
        no_time = issp[:, 2:31].all(axis=1)
        # receiver clock offset F15.12 in columns 42-56 (optional)
        clk_txt = [None] * ne
        clk_present = ~issp[:, 41:56].all(axis=1)
        for k in np.flatnonzero(clk_present):
            clk_txt[k] = self.text[starts[E[k]] + 41 : min(ends[E[k]], starts[E[k]] + 56)]
        times = np.zeros(ne, np.int64)
        if ne:
            times[has_time] = self.epoch_ns(y[has_time], mo[has_time], d[has_time], hh[has_time],
                                           mi[has_time], ss[has_time] * NS_PER_S + frac[has_time] * 100)
        nsat = np.where(ok_n, nsat, -1)

        # block structure: lines between consecutive '>' lines
        nxt = np.append(E[1:], nlines)
        cnt = nxt - E - 1
        is_obs = flag_ok & (flag <= 1) & has_time & ok_n
        regular = is_obs & (cnt == nsat)
        # site occupations (event flag 3): an epoch's occupation counts the flag-3 events before
        # it; only the asked one is read (module docstring, "Structure rules")
        new_site = flag_ok & ok_n & (flag == 3)
        occ_of = 1 + np.cumsum(new_site) if new_site.any() else np.ones(ne, np.int64)
        self.occupations_seen = int(occ_of[-1]) if ne else 1
        want = self.occupation
        if (occ_of > (want or 1)).any():
            self.next_occupation_line = int(E[np.flatnonzero(occ_of > (want or 1))[0]]) + 1
        if want is not None and (want > 1 or new_site.any()):
            regular &= occ_of == want
        else:
            occ_of = np.zeros(ne, np.int64)  # every epoch is read
            want = 0
        # irregular blocks: examine in Python (rare)
        data_lines_extra: list[np.ndarray] = []
        epoch_ok = regular.copy()
        seg_breaks: list[int] = []  # epoch indices where new obs types start
        self._types_history = [dict(self.v3_types)]
        # lines between header and the first '>' line
        pre = E[0] if ne else nlines
        for j in range(body, pre):
            s = self.line(j)
            if s.strip() and s[60:80].strip().upper() != "COMMENT":
                self.damaged(j, "unexpected line before the first epoch record, expected '>'")
                break
        irregular: list[int] = []  # epochs of data_lines_extra
        for k in np.flatnonzero(~regular):
            e = int(E[k])
            if occ_of[k] > want or (occ_of[k] < want and not (flag_ok[k] and flag[k] in (3, 4))):
                continue  # another occupation (its flag 3/4 records before the asked one apply)
            s_line = self.line(e)
            if not flag_ok[k] or not ok_n[k]:
                self.damaged(e, "bad epoch record (flag or satellite count), expected "
                             "'> YYYY MM DD HH MM SS.SSSSSSS  F NNN'")
                continue
            fl = int(flag[k])
            if fl >= 2:
                t = int(times[k]) if has_time[k] else None
                if not has_time[k] and not no_time[k] and fl != 4 and fl != 3:
                    self.damaged(e, "bad time in event record")
                    continue
                if fl == 5 and t is None:
                    self.damaged(e, "external event record (flag 5) without a time")
                    continue
                n = int(nsat[k])
                recs = list(range(e + 1, int(nxt[k])))
                if len(recs) < n:
                    self.damaged(e, f"event record announces {n} records but {len(recs)} follow")
                    continue
                body_recs = recs[:n]
                for j in recs[n:]:
                    if self.line(j).strip() and self.line(j)[60:80].strip().upper() != "COMMENT":
                        self.damaged(j, "unexpected line after event records, expected '>'")
                        break
                rec_text = [self.line(j) for j in body_recs]
                if occ_of[k] == want:
                    self.events.append(Event(time=t, flag=fl, line=e + 1, records=rec_text))
                if fl in (3, 4):
                    before = dict(self.v3_types)
                    self.apply_event_records(list(zip(body_recs, rec_text)), fl)
                    if self.v3_types != before:
                        seg_breaks.append(int(k))
                        self._types_history.append(dict(self.v3_types))
                continue
            if not has_time[k]:
                self.damaged(e, f"bad epoch time in {s_line[:35].rstrip()!r}, expected "
                             "'> YYYY MM DD HH MM SS.SSSSSSS'")
                continue
            n = int(nsat[k])
            cand = [j for j in range(e + 1, int(nxt[k]))
                    if self.line(j).strip() and self.line(j)[60:80].strip().upper() != "COMMENT"]
            if len(cand) != n:
                self.damaged(e, f"epoch record announces {n} satellites but {len(cand)} satellite "
                             "lines follow")
                continue
            epoch_ok[k] = True
            irregular.append(int(k))
            data_lines_extra.append(np.array(cand, dtype=np.int64))
        # duplicate epochs: the first record of a time is kept; later ones are damaged records
        okk = np.flatnonzero(epoch_ok)
        if len(okk) > 1:
            tk = times[okk]
            _, first_of = np.unique(tk, return_index=True)
            if len(first_of) < len(okk):
                dup = np.setdiff1d(np.arange(len(okk)), first_of)
                for k in okk[dup]:
                    self.damaged(int(E[k]), "duplicate epoch (a record of this time came before): the "
                                 "first record of a time is kept", kind="duplicate epoch")
                epoch_ok[okk[dup]] = False
                regular[okk[dup]] = False
                dropped = set(okk[dup].tolist())
                kept = [m for m, k in enumerate(irregular) if k not in dropped]
                irregular = [irregular[m] for m in kept]
                data_lines_extra = [data_lines_extra[m] for m in kept]
        regular_idx = np.flatnonzero(regular)
        # satellite lines of regular epochs: ranges E+1 .. E+nsat
        nreg = nsat[regular_idx]
        tot = int(nreg.sum())
        offs = np.repeat(np.cumsum(nreg) - nreg, nreg)
        lines = np.repeat(E[regular_idx] + 1, nreg) + (np.arange(tot) - offs)
        line_epoch = np.repeat(regular_idx, nreg)
        if data_lines_extra:
            irr = np.asarray(irregular, np.int64)
            extra = np.concatenate(data_lines_extra) if data_lines_extra else np.zeros(0, np.int64)
            extra_ep = np.repeat(irr, [len(a) for a in data_lines_extra])
            lines = np.concatenate([lines, extra])
            line_epoch = np.concatenate([line_epoch, extra_ep])
        if self.systems is not None and len(lines):
            # only the satellite lines of these systems are decoded (and an unreadable id,
            # which is reported); the epoch structure above was checked on every line
            sysn = _SYS_LUT[self.buf[self.starts[lines]]]
            wanted = np.zeros(len(SYSTEMS), bool)
            wanted[[_SYS_NUM[c] for c in self.systems.upper() if c in _SYS_NUM]] = True
            keep = (sysn < 0) | wanted[np.maximum(sysn, 0)]
            lines, line_epoch = lines[keep], line_epoch[keep]
        obs_epochs = np.flatnonzero(epoch_ok)
        # epochs in file order, rank for sorting by time
        ep_times = times[obs_epochs]
        ep_rank_of = np.full(ne, -1, np.int64)
        order = np.argsort(ep_times, kind="stable")
        rank = np.empty(len(order), np.int64)
        rank[order] = np.arange(len(order))
        ep_rank_of[obs_epochs] = rank
        # segments of constant observation types
        codes, code_tabs, seg_of_epoch = self.code_tables_v3(ne, seg_breaks)
        result = self.decode_lines_v3(lines, line_epoch, ep_rank_of, times, codes, code_tabs,
                                      seg_of_epoch, epoch_ok, E)
        time_r, sat_r, code_r, value_r, lli_r, ssi_r = result
        # drop damaged epochs after decoding (decode marks them)
        obs_epochs = np.flatnonzero(epoch_ok)
        clk = np.full(len(obs_epochs), np.nan)
        for m, k in enumerate(obs_epochs):
            if clk_txt[k] is not None:
                try:
                    clk[m] = float(clk_txt[k])
                except ValueError:
                    self.damaged(int(E[k]), "bad receiver clock offset in epoch record")
        return self.finish(codes, time_r, sat_r, code_r, value_r, lli_r, ssi_r,
                           times[obs_epochs], flag[obs_epochs], clk, E[obs_epochs] + 1)

    def code_tables_v3(self, ne, seg_breaks):
        """Global code list and, per segment, a (7, maxn) table of global code indices."""
        history = self._types_history
        all_codes = sorted({c for tab in history for cl in tab.values() for c in cl})
        gidx = {c: i for i, c in enumerate(all_codes)}
        tabs = []
        maxn = max([len(v) for tab in history for v in tab.values()] + [1])
        for tab in history:
            t = np.full((len(SYSTEMS), maxn), -1, np.int64)
            for s, cl in tab.items():
                t[_SYS_NUM[s], : len(cl)] = [gidx[c] for c in cl]
            tabs.append(t)
        seg_of_epoch = np.zeros(ne, np.int64)
        for b in seg_breaks:
            seg_of_epoch[b:] += 1
        return all_codes, tabs, seg_of_epoch

    def decode_lines_v3(self, lines, line_epoch, ep_rank_of, times, codes, tabs, seg_of_epoch,
                        epoch_ok, E):
        buf, starts, ends = self.buf, self.starts, self.ends
        ls = starts[lines]
        ll = ends[lines] - ls
        b0 = buf[ls]
        sysn = _SYS_LUT[b0].astype(np.int64)
        last = len(buf) - 1
        p1 = buf[np.minimum(ls + 1, last)].astype(np.int64) - 48
        p2 = buf[np.minimum(ls + 2, last)].astype(np.int64) - 48
        prn_ok = ((p1 >= 0) & (p1 <= 9) | (p1 == -16)) & (p2 >= 0) & (p2 <= 9)
        prn = np.where(p1 >= 0, p1, 0) * 10 + p2
        line_bad = (sysn < 0) | ~prn_ok | (prn < 1) | (ll < 3)
        # a line whose satellite id is readable can be dropped alone; one without a readable
        # id leaves the epoch's satellite count in doubt, so the whole epoch goes
        id_bad = line_bad.copy()
        sat = np.where(line_bad, 0, sysn * SATELLITES_PER_SYSTEM + prn)
        seg = seg_of_epoch[line_epoch]
        nseg = len(tabs)
        maxn = max(t.shape[1] for t in tabs)
        # per (segment, system): number of codes and slot order sorted by global code index
        ncodes = np.zeros((nseg, len(SYSTEMS)), np.int64)
        perm = np.zeros((nseg, len(SYSTEMS), maxn + 1, maxn), np.int64)
        for g, t in enumerate(tabs):
            for s in range(len(SYSTEMS)):
                row = t[s]
                n = int((row >= 0).sum())
                ncodes[g, s] = n
                srt = np.argsort(row[:n], kind="stable")
                for k in range(n + 1):
                    sel = srt[srt < k]
                    perm[g, s, k, : len(sel)] = sel
        sysc = np.maximum(sysn, 0)
        n_s = ncodes[seg, sysc]
        line_bad |= (n_s == 0) & ~line_bad & (sysn >= 0)
        nfield = np.clip((ll - 3 + 15) // 16, 0, None)
        too_long = nfield > n_s
        # a line longer than its codes: fine only if the extra columns are blank
        for q in np.flatnonzero(too_long & ~line_bad):
            extra = self.text[ls[q] + 3 + 16 * n_s[q] : ends[lines[q]]]
            if extra.strip():
                line_bad[q] = True
        k_line = np.where(line_bad, 0, np.minimum(nfield, n_s))
        # sort the lines by (epoch time rank, satellite); slots are generated in that order
        key = ep_rank_of[line_epoch] * 1024 + sat
        lorder = np.argsort(key, kind="stable").astype(np.int32)
        code_tab = np.stack(tabs, axis=0) if nseg > 1 else tabs[0]
        out_ep, out_sat, out_code, out_val, out_lli, out_ssi = [], [], [], [], [], []
        step = 8192  # lines per block: bounds the memory of the per-slot temporaries
        for a in range(0, len(lorder), step):
            lo_blk = lorder[a : a + step]
            k_o = k_line[lo_blk]
            tot = int(k_o.sum())
            rep = np.repeat(np.arange(len(lo_blk), dtype=np.int32), k_o)
            pos = np.arange(tot, dtype=np.int32) - np.repeat((np.cumsum(k_o) - k_o).astype(np.int32), k_o)
            lo = lo_blk[rep]
            del rep
            sy = sysc[lo]
            slot = perm[seg[lo], sy, k_line[lo], pos] if nseg > 1 else perm[0, sy, k_line[lo], pos]
            fstart = ls[lo] + 3 + 16 * slot
            fvalid = ll[lo] - 3 - 16 * slot
            value, lli, ssi, present, bad = _decode_slots(self.tail, fstart, fvalid, buf)
            code = code_tab[seg[lo], sy, slot] if nseg > 1 else code_tab[sy, slot]
            if bad.any():  # damaged lines -> damaged epochs (handled below)
                line_bad[np.unique(lo[bad])] = True
            lo = lo[present]
            out_ep.append(line_epoch[lo].astype(np.int32))
            out_sat.append(sat[lo].astype(np.int16))
            out_code.append(code[present].astype(np.int16))
            out_val.append(value[present])
            out_lli.append(lli[present])
            out_ssi.append(ssi[present])
        ep_r = np.concatenate(out_ep) if out_ep else np.zeros(0, np.int32)
        del out_ep
        sat_r = np.concatenate(out_sat) if out_sat else np.zeros(0, np.int16)
        del out_sat
        code_r = np.concatenate(out_code) if out_code else np.zeros(0, np.int16)
        del out_code
        value_r = np.concatenate(out_val) if out_val else np.zeros(0)
        del out_val
        lli_r = np.concatenate(out_lli) if out_lli else np.zeros(0, np.int8)
        ssi_r = np.concatenate(out_ssi) if out_ssi else np.zeros(0, np.int8)
        for q in np.flatnonzero(line_bad & id_bad):
            k = int(line_epoch[q])
            if epoch_ok[k]:
                epoch_ok[k] = False
                self.damaged(int(lines[q]), self._line_problem(int(lines[q]), int(n_s[q])))
        # damaged values on a line with a good satellite id: skip that satellite's line only
        alone = np.flatnonzero(line_bad & ~id_bad & epoch_ok[line_epoch])
        for q in alone:
            self.damaged(int(lines[q]), self._line_problem(int(lines[q]), int(n_s[q])))
        # a satellite twice in one epoch (lines swapped or duplicated between epochs): which
        # record is right cannot be told, so both are skipped, naming the later line
        line_key = line_epoch.astype(np.int64) * 1024 + sat
        named = np.flatnonzero(~id_bad & epoch_ok[line_epoch])
        twice = np.zeros(0, np.int64)
        if len(named):
            _, inverse, count = np.unique(line_key[named], return_inverse=True, return_counts=True)
            repeated = named[count[inverse] > 1]
            if len(repeated):
                repeated = repeated[np.argsort(lines[repeated], kind="stable")]
                seen = set()
                for q in repeated.tolist():
                    if int(line_key[q]) in seen:
                        self.damaged(int(lines[q]), f"satellite {self.line(int(lines[q]))[:3]!r} appears "
                                     "twice in one epoch record: both of its records in this epoch "
                                     "are skipped")
                    seen.add(int(line_key[q]))
                twice = line_key[repeated]
        keep = epoch_ok[ep_r]
        if len(alone) or len(twice):
            bad_keys = np.concatenate([line_key[alone], twice])
            keep &= ~np.isin(ep_r.astype(np.int64) * 1024 + sat_r, bad_keys)
        if not keep.all():
            ep_r, sat_r, code_r, value_r, lli_r, ssi_r = (
                x[keep] for x in (ep_r, sat_r, code_r, value_r, lli_r, ssi_r))
        scale = self._scale_array(codes, system_number_of(sat_r), code_r)
        if scale is not None:
            value_r /= scale
        return times[ep_r], sat_r, code_r, value_r, lli_r, ssi_r

    def _line_problem(self, j: int, n_s: int) -> str:
        s = self.line(j)
        if not s[:1] or s[0] not in _SYS_NUM:
            return f"bad satellite line {s[:20]!r}, expected a satellite id such as G05"
        if n_s == 0:
            return f"satellite system {s[0]} has no 'SYS / # / OBS TYPES' record"
        return f"bad observation value in satellite line {s[:3]!r}, expected F14.3 with LLI and SSI digits"

    def _scale_array(self, codes, sysc, code):
        if not self.scale_factors:
            return None
        tab = np.ones((len(SYSTEMS), max(len(codes), 1)))
        for (s, c), fac in self.scale_factors.items():
            if fac in (0.0, 1.0):
                continue
            if s == "v2":
                continue  # handled in body_v2
            if s not in _SYS_NUM:
                continue
            if c is None:
                tab[_SYS_NUM[s], :] = fac
            elif c in codes:
                tab[_SYS_NUM[s], codes.index(c)] = fac
        if np.all(tab == 1.0):
            return None
        return tab[sysc, code]

    # -- results ---------------------------------------------------------------------------
    def finish(self, codes, time_r, sat_r, code_r, value_r, lli_r, ssi_r, epochs, flags, clk,
               epoch_lines):
        h = self.header
        if not h.obs_codes and self.v3_types:
            h.obs_codes = {s: list(c) for s, c in self.v3_types.items()}
        epochs = np.asarray(epochs, np.int64)
        if len(epochs) > 1 and (np.diff(epochs) < 0).any():
            # rows are already in time order; the epochs follow (stable: file order kept)
            lines = np.asarray(epoch_lines, np.int64)
            later = epochs < np.maximum.accumulate(epochs)
            self.out_of_order = sorted(lines[later].tolist())
            order = np.argsort(epochs, kind="stable")
            epochs, flags, clk, epoch_lines = (np.asarray(x)[order] for x in (epochs, flags, clk, lines))
        return Observations(time_r, sat_r, code_r, value_r, lli_r, ssi_r, codes, epochs,
                            epoch_flags=flags, receiver_clock_offset_s=clk, events=self.events,
                            header=h, source=self.path, epoch_lines=epoch_lines)

    # -- RINEX 2 body ------------------------------------------------------------------------------
    def body_v2(self, body: int) -> Observations:
        starts = self.starts
        # candidate epoch lines (the pattern of _V2_EPOCH, vectorized over the body lines)
        cand = body + _v2_epoch_lines(_gather(self.buf, self.tail, starts[body:self.nlines], 32))
        cand_arr = np.zeros(self.nlines + 1, bool)
        cand_arr[cand] = True
        nextcand_arr = np.full(self.nlines + 1, self.nlines, np.int64)
        # next candidate at or after line i
        if len(cand):
            idx = np.searchsorted(cand, np.arange(self.nlines + 1))
            nextcand_arr = np.where(idx < len(cand), cand[np.minimum(idx, len(cand) - 1)], self.nlines)
        # Python lists: the loop below reads them element by element (NumPy scalars are slow)
        cand_set, nextcand = cand_arr.tolist(), nextcand_arr.tolist()
        sat_lists: dict[str, list[int] | None] = {}  # satellite-list text -> indices (repeats)
        types = list(self.v2_types)
        seg_types = [types]
        rec_sat: list[int] = []  # per satellite record
        ep_nsat: list[int] = []  # per kept epoch: satellites, first data line, lines per record
        ep_first: list[int] = []
        ep_lps: list[int] = []
        ep_seg: list[int] = []
        ep_time: list[int] = []
        ep_flag: list[int] = []
        ep_clk: list[float] = []
        ep_line: list[int] = []  # 1-based line of each epoch record
        i = body
        n_lines = self.nlines
        want, occ = self.occupation, 1  # site occupation asked for (None: all) / of this record
        seen_times: set[int] = set()
        while i < n_lines:
            if not cand_set[i]:
                s = self.line(i)
                if s.strip() and s[60:80].strip().upper() != "COMMENT":
                    nc = int(nextcand[i])
                    self.damaged(i, f"unexpected line {s[:30].rstrip()!r}, expected an epoch record "
                                 "' YY MM DD HH MM SS.SSSSSSS  F NNN'")
                    i = nc
                    continue
                i += 1
                continue
            s = self.line(i)
            try:
                fl = int(s[28])
                n = int(s[29:32])
            except ValueError:
                self.damaged(i, "bad epoch flag or satellite count")
                i = int(nextcand[i + 1])
                continue
            has_time = bool(s[1:26].strip())
            t = None
            if has_time:
                try:
                    t = self.v2_time(s)
                except ValueError:
                    self.damaged(i, f"bad epoch time {s[:26]!r}")
                    i = int(nextcand[i + 1])
                    continue
            if 2 <= fl <= 5:
                recs = list(range(i + 1, min(i + 1 + n, n_lines)))
                bad = [j for j in recs if cand_set[j]]
                if len(recs) < n or bad:
                    self.damaged(i, f"event record announces {n} records but fewer follow")
                    i = int(nextcand[i + 1])
                    continue
                rec_text = [self.line(j) for j in recs]
                if fl == 3:
                    occ += 1
                    self.occupations_seen = occ
                    if occ > (want or 1) and self.next_occupation_line is None:
                        self.next_occupation_line = i + 1
                    if want is not None and occ > want:  # the next occupation: kept apart
                        break
                if want is None or occ == want:
                    self.events.append(Event(time=None if t is None else int(t), flag=fl, line=i + 1,
                                             records=rec_text))
                if fl in (3, 4):
                    self.apply_event_records(list(zip(recs, rec_text)), fl)
                    if self.v2_types != types:
                        types = list(self.v2_types)
                        seg_types.append(types)
                i += 1 + n
                continue
            if t is None:
                self.damaged(i, "observation epoch record without a time")
                i = int(nextcand[i + 1])
                continue
            # satellite list: 12 per line, continuation lines
            nsl = max(1, -(-n // 12))
            sats: list[int] = []
            okl = True
            for c in range(nsl):
                j = i + c
                if j >= n_lines or (c > 0 and cand_set[j]):
                    okl = False
                    break
                sl = s if c == 0 else self.line(j)
                k = max(0, min(12, n - 12 * c))
                ids = sl[32 : 32 + 3 * k]
                got = sat_lists.get(ids, _MISSING) if len(ids) == 3 * k else None
                if got is _MISSING:
                    got = []
                    for m in range(k):
                        sat = self._v2_sat(ids[3 * m : 3 * m + 3])
                        if sat is None:
                            got = None
                            break
                        got.append(sat)
                    sat_lists[ids] = got
                if got is None:  # a short line or an unreadable id
                    okl = False
                    break
                sats += got
            if not okl:
                self.damaged(i, f"bad satellite list in epoch record, expected {n} satellite ids")
                i = int(nextcand[i + 1])
                continue
            clk = float("nan")
            ct = s[68:80].strip()
            if ct:
                try:
                    clk = float(ct)
                except ValueError:
                    self.damaged(i, "bad receiver clock offset")
                    i = int(nextcand[i + 1])
                    continue
            nobs = len(types)
            lps = max(1, -(-nobs // 5))
            first_data = i + nsl
            last = first_data + n * lps
            if last > n_lines and int(nextcand[first_data]) >= n_lines and n_lines - first_data > (n - 1) * lps:
                # the file ends inside the last satellite's record: keep what is there
                missing = last - n_lines
                msg = (f"file ends {missing} line(s) early inside the last satellite record of the "
                       "epoch; the missing values are treated as absent")
                if self.strict:
                    raise RinexError(msg, self.path, n_lines)
                warnings.warn(f"{self.path}:{n_lines}: {msg}", DamagedRecordWarning, stacklevel=4)
                self.starts = np.append(self.starts, np.full(missing, len(self.text), np.int64))
                self.ends = np.append(self.ends, np.full(missing, len(self.text), np.int64))
            elif last > n_lines or int(nextcand[first_data]) < last:
                got = min(int(nextcand[first_data]), n_lines) - first_data
                self.damaged(i, f"epoch record announces {n} satellites ({n * lps} data lines) "
                             f"but {got} lines follow")
                i = int(nextcand[first_data])
                continue
            if want is not None and occ < want:
                i = last
                continue
            if fl == 6:
                self.events.append(Event(time=int(t), flag=6, line=i + 1,
                                         records=[self.line(j) for j in range(i + 1, last)]))
                i = last
                continue
            if t in seen_times:
                self.damaged(i, "duplicate epoch (a record of this time came before): the first "
                             "record of a time is kept", kind="duplicate epoch")
                i = last
                continue
            seen_times.add(t)
            ep_time.append(int(t))
            ep_flag.append(fl)
            ep_clk.append(clk)
            ep_line.append(i + 1)
            rec_sat += sats
            ep_nsat.append(len(sats))
            ep_first.append(first_data)
            ep_lps.append(lps)
            ep_seg.append(len(seg_types) - 1)
            i = last
        # per satellite record: epoch, first data line, segment of observation types
        ep_nsat_a = np.asarray(ep_nsat, np.int64)
        rec_epoch = np.repeat(np.arange(len(ep_nsat_a)), ep_nsat_a)
        within = np.arange(len(rec_epoch)) - np.repeat(np.cumsum(ep_nsat_a) - ep_nsat_a, ep_nsat_a)
        rec_line = (np.asarray(ep_first, np.int64)[rec_epoch]
                    + within * np.asarray(ep_lps, np.int64)[rec_epoch])
        rec_seg = np.asarray(ep_seg, np.int64)[rec_epoch]
        return self.decode_v2(seg_types, rec_epoch, rec_sat, rec_line, rec_seg, ep_time, ep_flag, ep_clk,
                              ep_line)

    def v2_time(self, s: str) -> int:
        # the year .. minute fields repeat from epoch to epoch: checked once per text
        cached = self._v2_minutes.get(s[1:15])
        if cached is None or cached[2] is not self.scale:
            yy = int(s[1:3])
            year = yy + (1900 if yy >= 80 else 2000)
            mo, d, hh, mi = int(s[4:6]), int(s[7:9]), int(s[10:12]), int(s[13:15])
            if not (1 <= mo <= 12 and 1 <= d <= 31 and hh <= 23 and mi <= 59):
                raise ValueError(s)
            # the minute as GPST ns where epoch_ns would compute it in integers (a
            # GPST-aligned scale): epoch_ns(year, ..., ns) is then minute + ns
            minute = (_calendar_ns_int(year, mo, d, hh, mi)
                      if (self.scale.strip().upper() or "GPS") in _GPST_LIKE else None)
            cached = self._v2_minutes[s[1:15]] = ((year, mo, d, hh, mi), minute, self.scale)
        sec = s[15:26].strip()
        whole, _, frac = sec.partition(".")
        if not int(whole) <= 60:
            raise ValueError(s)
        ns = int(whole) * NS_PER_S + int((frac + "0" * 9)[:9])
        if cached[1] is not None:
            return cached[1] + ns
        return int(self.epoch_ns(*cached[0], ns))

    def _v2_sat(self, sid: str) -> int | None:
        if len(sid) < 3:
            return None
        letter = sid[0].upper() if sid[0] != " " else "G"
        num = sid[1:3].strip()
        if letter not in _SYS_NUM or not num.isdigit() or not 1 <= int(num) <= 99:
            return None
        return _SYS_NUM[letter] * SATELLITES_PER_SYSTEM + int(num)

    def decode_v2(self, seg_types, rec_epoch, rec_sat, rec_line, rec_seg, ep_time, ep_flag, ep_clk,
                  ep_line):
        rec_epoch = np.asarray(rec_epoch, np.int64)
        rec_sat = np.asarray(rec_sat, np.int64)
        rec_line = np.asarray(rec_line, np.int64)
        rec_seg = np.asarray(rec_seg, np.int64)
        ep_time = np.asarray(ep_time, np.int64)
        # global RINEX 3 code list over all systems seen and all segments
        systems_seen = sorted({system_of(s) for s in np.unique(rec_sat)} or {self.header.system}
                              - {"M"}, key=SYSTEMS.index)
        maps = []  # per segment: (7, nobs) global code index or -1
        names: dict[str, int] = {}
        all3 = set()
        per_seg_codes = []
        for types in seg_types:
            per_sys = {}
            for s in systems_seen:
                mapped = rinex2_to_rinex3_codes(s, types)
                per_sys[s] = mapped
                all3.update(c for c in mapped if c)
            per_seg_codes.append(per_sys)
        codes = sorted(all3)
        names = {c: i for i, c in enumerate(codes)}
        width = max([len(t) for t in seg_types] + [1])
        for per_sys in per_seg_codes:
            t = np.full((len(SYSTEMS), width), -1, np.int64)
            for s, mapped in per_sys.items():
                t[_SYS_NUM[s], : len(mapped)] = [names[c] if c else -1 for c in mapped]
            maps.append(t)
        h = self.header
        h.obs_codes = {s: [c for c in per_seg_codes[-1][s] if c] for s in systems_seen}
        nobs_seg = np.array([len(t) for t in seg_types], np.int64)
        # slots: per record nobs slots over ceil(nobs/5) lines
        nob = nobs_seg[rec_seg]
        tot = int(nob.sum())
        rep = np.repeat(np.arange(len(rec_line)), nob)
        slot = np.arange(tot) - np.repeat(np.cumsum(nob) - nob, nob)
        line = rec_line[rep] + slot // 5
        col = 16 * (slot % 5)
        fstart = self.starts[line] + col
        fvalid = self.ends[line] - fstart
        value, lli, ssi, present, bad = _decode_slots(self.tail, fstart, fvalid, self.buf)
        epoch_ok = np.ones(len(ep_time), bool)
        sysn = system_number_of(rec_sat)
        gcode = np.stack(maps)[rec_seg[rep], sysn[rep], slot] if len(maps) > 1 else maps[0][sysn[rep], slot]
        # a damaged value loses that satellite's record only (its satellite is known from the
        # epoch record), never the epoch's other satellites
        rec_ok = np.ones(len(rec_line), bool)
        # a data line with more fields than observation types are left for it (or anything
        # past column 80): that satellite's record is damaged (swapped or shifted lines, data
        # lines keeping the old count after an event flag 4 redefined the types)
        lps_r = (nob + 4) // 5
        rl = np.repeat(np.arange(len(rec_line)), lps_r)
        m = np.arange(int(lps_r.sum())) - np.repeat(np.cumsum(lps_r) - lps_r, lps_r)
        dl = rec_line[rl] + m
        allowed = 16 * np.minimum(5, nob[rl] - 5 * m)
        for q in np.flatnonzero(self.ends[dl] - self.starts[dl] > allowed):
            if not rec_ok[rl[q]]:
                continue
            if self.text[int(self.starts[dl[q]]) + int(allowed[q]) : int(self.ends[dl[q]])].strip():
                rec_ok[rl[q]] = False
                self.damaged(int(dl[q]), f"satellite data line holds more fields than the "
                             f"{int(allowed[q]) // 16} observation type(s) left for it (the header's "
                             f"'# / TYPES OF OBSERV' has {int(nob[rl[q]])})",
                             kind="satellite data line with more fields than observation types")
        if bad.any():
            for q in np.unique(rep[bad]):
                if not rec_ok[q]:
                    continue
                rec_ok[q] = False
                bl = line[np.flatnonzero(bad & (rep == q))[0]]
                self.damaged(int(bl), "bad observation value, expected F14.3 with LLI and SSI digits")
        keep = present & (gcode >= 0) & rec_ok[rep] & epoch_ok[rec_epoch[rep]]
        # OBS SCALE FACTOR (RINEX 2): divide
        if any(k[0] == "v2" for k in self.scale_factors):
            fac = np.ones(tot)
            types_of = np.array([seg_types[g][j] for g, j in zip(rec_seg[rep], slot)]) if tot else np.zeros(0, str)
            for (s, c), f in self.scale_factors.items():
                if s == "v2" and f not in (0.0, 1.0):
                    fac[types_of == c if c else slice(None)] = f
            value = value / fac
        rk = rep[keep]
        t_rows = ep_time[rec_epoch[rk]]
        sat_rows = rec_sat[rk]
        code_rows = gcode[keep]
        order = np.lexsort((code_rows, sat_rows, t_rows))
        ep = np.flatnonzero(epoch_ok)
        return self.finish(codes, t_rows[order], sat_rows[order].astype(np.int16),
                           code_rows[order].astype(np.int16), value[keep][order], lli[keep][order],
                           ssi[keep][order], ep_time[ep], np.asarray(ep_flag, np.int8)[ep],
                           np.asarray(ep_clk, float)[ep], np.asarray(ep_line, np.int64)[ep])



# ----------------------------------------------------------------------------- time chunks
#: Epoch records per chunk of :func:`iter_rinex_obs` (default).
DEFAULT_CHUNK_EPOCHS = 2000
#: Bytes read from the file at a time by :func:`iter_rinex_obs` (decompressed text).
READ_BLOCK_BYTES = 1 << 23
_WHERE = re.compile(r"^(?P<path>.*?):(?P<line>\d+): ")


class NotChunkableError(RinexError):
    """The file cannot be read in time chunks with results identical to reading it whole
    (:func:`iter_rinex_obs`): a header change in the body (event flag 3 or 4) before the last
    chunk, or epochs earlier than a previous chunk's. Read it with :func:`read_rinex_obs`."""


def iter_rinex_obs(path: str | PathLike, *, chunk_epochs: int = DEFAULT_CHUNK_EPOCHS,
                   strict: bool = False, block_bytes: int = READ_BLOCK_BYTES):
    """Read a RINEX observation file in time chunks: yield :class:`Observations` of
    consecutive epochs, ``chunk_epochs`` epoch records each (the last one may be shorter),
    all with the file's header and the header's observation codes.

    RINEX 3/4 text is streamed ``block_bytes`` at a time and split at epoch records
    (``>`` lines): each chunk is the header plus its records, parsed by
    :func:`parse_rinex_obs`, so that memory is bounded by a chunk, not by the file. Plain,
    gzip and bzip2 files are decompressed as a stream, and Hatanaka (CRINEX) text is
    expanded as a stream by the ``crx2rnx`` program of the ``hatanaka`` package, within the
    input limits of :func:`satnav.io.textfile.limits`; archive members, ``.Z``, zip and
    nested compression are read whole first by :func:`read_bytes` (the text is held as
    bytes; the parsed arrays are still per chunk). Damaged Compact RINEX (which
    :func:`read_bytes` expands again skipping the damaged records) raises
    :class:`NotChunkableError` once the stream ends. RINEX 2 files (small) are read whole
    and yielded in slices (:meth:`Observations.epoch_slice`).

    The concatenated chunks hold the epochs and rows of :func:`read_rinex_obs`, with these
    rules: ``epoch_lines`` and ``Event.line`` are lines of the whole file; damaged-record
    warnings name the file's lines too, but their cap (10 of a kind) applies per chunk;
    duplicate and out-of-order epochs are handled within a chunk, and an epoch earlier
    than (or equal to) the previous chunk's last one raises :class:`NotChunkableError`, as
    does an event flag 3/4 (header records in the body) in any chunk but the last. Each
    chunk is parsed just before it is yielded (a damaged record raises then with
    ``strict``).

    Parameters
    ----------
    path : str or PathLike
    chunk_epochs : int
        Epoch records per chunk (at least 1).
    strict : bool
        As :func:`read_rinex_obs`.
    block_bytes : int
        Bytes of text read at a time.
    """
    chunk_epochs = int(chunk_epochs)
    if chunk_epochs < 1:
        raise ValueError(f"chunk_epochs must be at least 1, got {chunk_epochs}")
    blocks = _text_blocks(path, max(int(block_bytes), 1 << 12))
    buf, hend = _gather_header(blocks)
    if hend < 0:  # no END OF HEADER: the reader says what is wrong
        yield parse_rinex_obs(bytes(buf), path=str(path), strict=strict)
        return
    header = bytes(buf[:hend])
    head_obs = parse_rinex_obs(header, path=str(path), strict=strict)
    del buf[:hend]
    if head_obs.header.version < 3:  # RINEX 2: whole file, yielded in slices
        for block in blocks:
            buf += block
        obs = parse_rinex_obs(header + bytes(buf), path=str(path), strict=strict)
        del buf
        if not len(obs.epochs):
            yield obs
            return
        yield from obs.iter_epochs(chunk_epochs)
        return
    yield from _v3_chunks(path, header, buf, blocks, chunk_epochs, strict)


def _gather_header(blocks) -> tuple[bytearray, int]:
    """Read text blocks until the END OF HEADER line is in; returns (the bytes read, the
    offset just past the header, -1 when the blocks ended without one)."""
    buf = bytearray()
    for block in blocks:
        buf += block
        hend = _header_end(buf)
        if hend >= 0:
            return buf, hend
    return buf, -1


def _header_end(buf: bytearray) -> int:
    """Offset just past the ``END OF HEADER`` line of ``buf`` (-1 when not yet there)."""
    k = 0
    while True:
        k = buf.find(b"END OF HEADER", k)
        if k < 0:
            return -1
        line_start = buf.rfind(b"\n", 0, k) + 1
        nl = buf.find(b"\n", k)
        if nl < 0:
            return -1
        if k - line_start == 60:
            return nl + 1
        k += 1


def _v3_chunks(path, header: bytes, body: bytearray, blocks, chunk_epochs: int, strict: bool):
    """Chunks of a RINEX 3/4 body (see :func:`iter_rinex_obs`)."""
    last_epoch = None
    for raw in _v3_texts(header, body, blocks, chunk_epochs):
        obs = parse_chunk_text(path, raw, strict)
        check_chunk_order(path, obs, raw.final, last_epoch)
        if len(obs.epochs):
            last_epoch = int(obs.epochs[-1])
        yield obs


@dataclasses.dataclass
class ChunkText:
    """The text of one time chunk of a RINEX 3/4 file (:func:`iter_rinex_obs_texts`):
    ``text`` the header and the chunk's epoch records, ``header_bytes`` how much of it is
    the header, ``line_offset`` the body lines before the chunk, ``final`` whether it is the
    file's last chunk."""

    text: bytes
    header_bytes: int
    line_offset: int
    final: bool


def iter_rinex_obs_texts(path: str | PathLike, *, chunk_epochs: int = DEFAULT_CHUNK_EPOCHS,
                         block_bytes: int = READ_BLOCK_BYTES):
    """The chunks of :func:`iter_rinex_obs` as text, not parsed (:class:`ChunkText`), so that
    they can be parsed elsewhere (another process): ``parse_chunk_text`` then
    ``check_chunk_order`` on each, in order, give what :func:`iter_rinex_obs` yields. RINEX
    3/4 only; raises :class:`NotChunkableError` for other files (RINEX 2, no header end).
    The file is opened and its header read by this call (Compact RINEX expansion starts
    then, in the background); the chunks come from the iterator it returns. A Compact RINEX
    expansion that fails or warns (damaged records) raises :class:`NotChunkableError` at
    the end: read the file whole, which skips the damaged records with warnings."""
    chunk_epochs = int(chunk_epochs)
    if chunk_epochs < 1:
        raise ValueError(f"chunk_epochs must be at least 1, got {chunk_epochs}")
    probe: dict = {}
    blocks = _text_blocks(path, max(int(block_bytes), 1 << 12), recheck=False, probe=probe)
    buf, hend = _gather_header(blocks)
    if hend < 0 or not re.match(rb"\s*[34]\.", bytes(buf[:9])):
        blocks.close()
        raise NotChunkableError("not a RINEX 3/4 observation file with a header: read it whole "
                                "(read_rinex_obs)", str(path))
    header = bytes(buf[:hend])
    del buf[:hend]
    state: dict = {}
    return ChunkTexts(_v3_texts(header, buf, blocks, chunk_epochs, state), state, probe, chunk_epochs)


class ChunkTexts:
    """The :class:`ChunkText` iterator of :func:`iter_rinex_obs_texts`, which also tells
    whether its next chunk is there without waiting for a Compact RINEX expansion
    (:meth:`ready`), so that a caller with other work does that first."""

    def __init__(self, chunks, state: dict, probe: dict, chunk_epochs: int):
        self._chunks = chunks
        self._state = state  # kept up to date by _v3_texts
        self._probe = probe  # filled by _expanded_blocks
        self._chunk_epochs = chunk_epochs

    def __iter__(self):
        return self

    def __next__(self) -> ChunkText:
        return next(self._chunks)

    def set_chunk_epochs(self, chunk_epochs: int) -> None:
        """Epoch records of the chunks from the next one on (at least 1)."""
        self._chunk_epochs = max(1, int(chunk_epochs))
        self._state["chunk_epochs"] = self._chunk_epochs

    def ready(self) -> bool:
        """Whether the next chunk (or the end) can be had at once: the text is not streamed
        from an expansion, or the text read and the expansion's pieces waiting hold at least
        as many bytes as the previous chunk (per epoch record)."""
        queued = self._probe.get("queued")
        state = self._state
        if queued is None or state.get("exhausted") or state.get("epochs", 0) > self._chunk_epochs:
            return True
        have = state.get("buffered", 0) + queued() * self._probe["piece"]
        need = state.get("last_bytes", 1 << 62) * self._chunk_epochs // state.get("last_epochs", self._chunk_epochs)
        return have >= need or self._probe["ended"]()

    def close(self) -> None:
        """End the reading (and any expansion still running)."""
        self._chunks.close()


def _v3_texts(header: bytes, body: bytearray, blocks, chunk_epochs: int, state: dict | None = None):
    """:class:`ChunkText` of a RINEX 3/4 body: ``chunk_epochs`` epoch records each (or
    ``state["chunk_epochs"]`` once set). ``state`` (when given) says how far the reading is
    (for :meth:`ChunkTexts.ready`): ``buffered`` bytes and ``epochs`` starts read and not yet
    given out, ``last_bytes`` of the last chunk given, ``exhausted``."""
    state = state if state is not None else {}
    line_offset = 0  # body lines before the current chunk
    starts = [0] if body[:1] == b">" else []
    scan = len(starts)  # the next byte to look at
    exhausted = False
    find = body.find
    while True:
        # epoch records: a '>' after a line end (a memchr per '>', rare elsewhere in a body:
        # 4x faster than a regex scan for b"\n>")
        k = find(b">", scan)
        while k >= 0:
            if k and body[k - 1] == 10:
                starts.append(k)
            k = find(b">", k + 1)
        scan = len(body)
        while len(starts) > state.get("chunk_epochs", chunk_epochs):
            chunk_epochs = state.get("chunk_epochs", chunk_epochs)  # (ChunkTexts.set_chunk_epochs)
            cut = starts[chunk_epochs]
            with memoryview(body) as view:
                text = header + view[:cut]  # the one copy of the chunk's text
            del body[:cut]
            starts = [s - cut for s in starts[chunk_epochs:]]
            scan -= cut
            raw = ChunkText(text, len(header), line_offset, final=False)
            line_offset += text.count(b"\n", len(header))
            del text
            state.update(buffered=len(body), epochs=len(starts), last_bytes=cut, last_epochs=chunk_epochs)
            yield raw
            del raw
        if exhausted:
            break
        block = next(blocks, None)
        if block is None:
            exhausted = True
            state["exhausted"] = True
            continue
        body += block
        state.update(buffered=len(body), epochs=len(starts))
    if starts or line_offset == 0:  # the rest (or a file without epochs: its header)
        text = header + body
        del body
        yield ChunkText(text, len(header), line_offset, final=True)


def parse_chunk_text(path, raw: ChunkText, strict: bool = False, systems: str | None = None) -> Observations:
    """One chunk (:class:`ChunkText`) parsed (only the satellite lines of ``systems`` when
    given, :func:`parse_rinex_obs`), lines put back in the file's numbering; its warnings
    are issued with the file's line numbers."""
    header_lines = raw.text.count(b"\n", 0, raw.header_bytes)
    line_offset = raw.line_offset
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            obs = parse_rinex_obs(raw.text, path=str(path), strict=strict, systems=systems)
    except FormatError as exc:
        if exc.line is not None and exc.line > header_lines:
            raise type(exc)(exc.message, exc.path, exc.line + line_offset) from None
        raise
    for w in caught:
        text = str(w.message)
        hit = _WHERE.match(text)
        if hit and hit.group("path") == str(path):
            text = f"{hit.group('path')}:{int(hit.group('line')) + line_offset}: {text[hit.end():]}"
        warnings.warn(text, w.category, stacklevel=4)
    if line_offset:
        if obs.epoch_lines is not None:
            obs.epoch_lines = obs.epoch_lines + line_offset
        obs.events = [dataclasses.replace(e, line=e.line + line_offset) for e in obs.events]
    return obs


def check_chunk_order(path, obs: Observations, final: bool, last_epoch: int | None) -> None:
    """Raise :class:`NotChunkableError` when a chunk read after others cannot give the
    one-shot result: header records in the body (event flag 3/4) before the last chunk, or
    an epoch not after ``last_epoch`` (the previous chunk's last, GPST ns)."""
    if not final and any(e.flag in (3, 4) for e in obs.events):
        line = next(e.line for e in obs.events if e.flag in (3, 4))
        raise NotChunkableError("header records in the body (event flag 3/4) change the decoding of the "
                                "epochs after them: read the file whole (read_rinex_obs)", str(path), line)
    if last_epoch is not None and len(obs.epochs) and int(obs.epochs[0]) <= last_epoch:
        line = None if obs.epoch_lines is None else int(obs.epoch_lines[0])
        raise NotChunkableError("epoch not after the previous chunk's last epoch (out of order or "
                                "duplicate): read the file whole (read_rinex_obs)", str(path), line)


def _text_blocks(path, block: int, recheck: bool = True, probe: dict | None = None):
    """Decompressed text of ``path`` in blocks of about ``block`` bytes: streamed for plain,
    gzip and bzip2 regular files (Hatanaka through the ``crx2rnx`` program), within the
    input limits of :func:`satnav.io.textfile.limits` (total size; line length of RINEX
    text); everything else (archive members, ``.Z``, zip, nested compression, a failure)
    through :func:`read_bytes` whole."""
    import bz2
    import gzip

    from ._bounded import _LineGuard, _too_big
    from .expansion import FIRST_READ_BYTES, crx2rnx_program, gzip_program
    from .textfile import MEMBER_SEPARATOR, limits, open_regular

    stream = first = None
    text = str(path)
    if not (MEMBER_SEPARATOR in text and not os.path.exists(text)):
        try:
            with open_regular(path) as fh:
                magic = fh.read(4)
        except FormatError:
            magic = None  # read_bytes says what is wrong
        if magic is not None and magic[:2] != b"\x1f\x9d" and magic[:4] != b"PK\x03\x04":
            opener = gzip.open if magic[:2] == b"\x1f\x8b" else bz2.open if magic[:3] == b"BZh" else open
            stream = opener(path, "rb")
            try:
                first = stream.read(min(block, FIRST_READ_BYTES))
            except (OSError, EOFError, ValueError):
                first = None  # damaged: read_bytes says what is wrong
            if first is None or first[:2] in (b"\x1f\x8b", b"\x1f\x9d") or first[:3] == b"BZh" or \
                    first[:4] == b"PK\x03\x04" or (is_hatanaka(first) and crx2rnx_program() is None):
                stream.close()
                stream = None
    if stream is None:
        data = read_bytes(path)
        view = memoryview(data)
        for a in range(0, len(data), block):
            yield view[a : a + block]
        return
    limit, max_line = limits()
    total = 0
    if is_hatanaka(first):
        gunzip = gzip_program() if magic is not None and magic[:2] == b"\x1f\x8b" else None
        pieces = _expanded_blocks(path, first, stream, block, recheck, gunzip, probe)
        guard = None  # the Compact RINEX lines are checked as they are read, not the expansion
    else:
        pieces = _plain_blocks(path, first, stream, block)
        guard = _LineGuard(path, max_line)
    for piece in pieces:
        total += len(piece)
        if total > limit:
            pieces.close()
            raise _too_big(path, limit)
        if guard is not None:
            guard.feed(piece)
        yield piece


def _plain_blocks(path, first: bytes, stream, block: int):
    with stream:
        yield first
        while True:
            try:
                more = stream.read(block)
            except (OSError, EOFError) as exc:
                raise FormatError(f"damaged compressed data ({exc})", str(path)) from None
            if not more:
                return
            yield more


def _expanded_blocks(path, first: bytes, stream, block: int, recheck: bool = True, gunzip=None,
                     probe: dict | None = None):
    """The RINEX text of Compact RINEX content (``first``, then the rest of ``stream``)
    expanded by the ``crx2rnx`` program as a stream, in blocks
    (:class:`satnav.io.expansion.Expansion`; the one started early for this file by
    :func:`~satnav.io.expansion.start_expansion`, if any). With ``gunzip`` (the path of a
    ``gzip`` program, for a gzip file) the file is decompressed by that program straight
    into ``crx2rnx`` (``gzip -dc FILE | crx2rnx -``: no decompression or copying in this
    process, which parses meanwhile), else by a thread of this process. ``probe`` (a dict)
    is given the expansion's ``queued``, ``piece`` and ``ended`` (for
    :meth:`ChunkTexts.ready`). On any failure the file is read again by :func:`read_bytes`,
    which raises the error (or the warning) it gives; without ``recheck``,
    :class:`NotChunkableError` is raised at once (a caller that then reads the file whole
    does not expand a damaged file twice with the slow tolerant decoder)."""
    from .expansion import EXPANSION_PIECE_BYTES, Expansion, take_expansion

    piece = min(block, EXPANSION_PIECE_BYTES)
    expansion = take_expansion(path) if gunzip is not None else None
    if expansion is not None and expansion.gunzip == gunzip:
        stream.close()
    else:
        if expansion is not None:
            expansion.close()
        expansion = Expansion(path, first=first, stream=stream, gunzip=gunzip, piece_bytes=piece)
    if probe is not None:  # how much is waiting (ChunkTexts.ready)
        probe.update(queued=expansion.queued, piece=piece, ended=expansion.drained)
    try:
        yield from expansion.pieces()
    finally:
        expansion.close()
    failed = list(expansion.failed)
    if expansion.gzip_returncode not in (None, 0):
        failed.append(OSError(f"gzip ended with status {expansion.gzip_returncode}"))
    if failed or expansion.returncode != 0 or expansion.stderr:
        if not recheck:  # the caller reads the file whole (once) and says what is wrong
            raise NotChunkableError("Compact RINEX (Hatanaka) expansion failed or warned: read the file "
                                    "whole (read_rinex_obs)", str(path))
        read_bytes(path)  # raises (or warns) as reading the file whole does
        if failed or expansion.returncode not in (0, 2):  # damaged records that read_bytes skips
            raise NotChunkableError("damaged Compact RINEX (Hatanaka) data: read the file whole "
                                    "(read_rinex_obs), which skips the damaged records", str(path))
