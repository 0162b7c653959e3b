"""RTCM 3 observation messages, decoded for all frames of a type at once with NumPy.

Sources: RTCM 10403.3 (2016) with amendments 1-2: 3.5.2 legacy GPS/GLONASS RTK messages
1001-1004 / 1009-1012 (DF009-DF020, DF034-DF050), 3.5.16 Multiple Signal Messages (MSM
header DF002-DF396, satellite data DF397-DF399, signal data DF400-DF408, DF420; lock-time
indicators DF402 and DF407, table 3.5-74 and 3.5-75; MSM1-3 content tables 3.5-80 to 3.5-82
(satellite data DF398 only; signal data DF400 / DF401, DF402, DF420 / DF400, DF401, DF402,
DF420)); signal ids in
:data:`satnav.signals.SIGNALS` (``rtcm_msm_signals``).

Every message of one type is decoded together: header fields are read at fixed bit
offsets of all frames; satellite, signal and cell masks are unpacked into boolean arrays;
each satellite and each cell gets its bit position from the counts of its message
(``np.repeat`` / cumulative sums), so a field is one :func:`~satnav.io._bits.bits_u` call
over the whole file. The result (:class:`ObsCells`) is one row per signal measurement,
not yet on an absolute time scale: :mod:`satnav.io.rtcm3` resolves weeks and days.

Conventions (those of RTKLIB 2.4.3, so that the RINEX written equals ``convbin``'s):
pseudorange, phase and Doppler of a cell exist only where the satellite rough range and
the cell's fine value are valid (not the "invalid" bit patterns); phase in cycles =
phase range / wavelength, Doppler = -(rough + fine phase-range rate) / wavelength
(MSM5/7); GLONASS wavelengths need the frequency channel (MSM5/7 extended satellite
information, 1020 ephemerides or legacy messages); C/N0 0 means absent. Loss of lock
(LLI bit 0): the lock-time indicator fell, or is 0 and was 0 before; half-cycle ambiguity
(DF420 set) gives LLI bit 1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..constants import SPEED_OF_LIGHT
from ..satellites import SATELLITES_PER_SYSTEM, SYSTEMS
from ..signals import SIGNALS, carrier_frequency
from ._bits import bits_s, bits_u

__all__ = [
    "ObsCells",
    "decode_msm",
    "decode_msm_message",
    "decode_legacy",
    "msm_system",
    "lock_time_ms",
    "MSM_TYPES",
    "LEGACY_TYPES",
    "signal_table",
]

RANGE_MS = SPEED_OF_LIGHT * 1e-3  # metres in one light-millisecond

#: MSM message number -> (system letter, MSM type 1-7).
MSM_TYPES: dict[int, tuple[str, int]] = {
    SIGNALS[s].rtcm_msm_base + k: (s, k)
    for s in SYSTEMS
    if SIGNALS[s].rtcm_msm_base
    for k in range(1, 8)
}
#: Legacy observation messages: number -> (system letter, has L2, extended).
LEGACY_TYPES = {1001: ("G", False, False), 1002: ("G", False, True), 1003: ("G", True, False),
                1004: ("G", True, True), 1009: ("R", False, False), 1010: ("R", False, True),
                1011: ("R", True, False), 1012: ("R", True, True)}  # fmt: skip

# field layouts: (name, bits) of the satellite data and of the signal data, per MSM type
_SAT_FIELDS = {
    1: (("rough_mod", 10),),
    2: (("rough_mod", 10),),
    3: (("rough_mod", 10),),
    4: (("rough_ms", 8), ("rough_mod", 10)),
    5: (("rough_ms", 8), ("ext", 4), ("rough_mod", 10), ("rate", 14)),
    6: (("rough_ms", 8), ("rough_mod", 10)),
    7: (("rough_ms", 8), ("ext", 4), ("rough_mod", 10), ("rate", 14)),
}
_SIG_FIELDS = {
    1: (("fine_pr", 15),),
    2: (("fine_cp", 22), ("lock", 4), ("half", 1)),
    3: (("fine_pr", 15), ("fine_cp", 22), ("lock", 4), ("half", 1)),
    4: (("fine_pr", 15), ("fine_cp", 22), ("lock", 4), ("half", 1), ("cnr", 6)),
    5: (("fine_pr", 15), ("fine_cp", 22), ("lock", 4), ("half", 1), ("cnr", 6), ("fine_rate", 15)),
    6: (("fine_pr", 20), ("fine_cp", 24), ("lock", 10), ("half", 1), ("cnr", 10)),
    7: (
        ("fine_pr", 20),
        ("fine_cp", 24),
        ("lock", 10),
        ("half", 1),
        ("cnr", 10),
        ("fine_rate", 15),
    ),
}
#: scale (units of one light-millisecond) of the fine pseudorange and phase range
_FINE_SCALE = {
    1: (2.0**-24, 2.0**-29),
    2: (2.0**-24, 2.0**-29),
    3: (2.0**-24, 2.0**-29),
    4: (2.0**-24, 2.0**-29),
    5: (2.0**-24, 2.0**-29),
    6: (2.0**-29, 2.0**-31),
    7: (2.0**-29, 2.0**-31),
}
_MSM_HEADER_BITS = 169


def _lock_table_df407() -> np.ndarray:
    """DF407 (10-bit extended lock-time indicator) -> minimum lock time (ms), table 3.5-75:
    1 ms steps below 64, then 32 indicators per doubling of the step."""
    out = np.zeros(1024, np.int64)
    out[:64] = np.arange(64)
    value, step = 64, 2
    for i in range(64, 705):
        out[i] = value
        value += step
        if (i - 63) % 32 == 0:
            step *= 2
    out[705:] = out[704]
    return out


_DF407_MS = _lock_table_df407()
#: DF402 (4-bit lock-time indicator) -> minimum lock time (ms), table 3.5-74.
_DF402_MS = np.array([0] + [2 ** (i + 4) for i in range(1, 16)], np.int64)


def lock_time_ms(indicator: np.ndarray, msm: int) -> np.ndarray:
    """Minimum lock time (ms) of MSM lock-time indicators (DF402 for MSM2-5, DF407 for 6/7)."""
    table = _DF402_MS if msm <= 5 else _DF407_MS
    return table[np.asarray(indicator, np.int64)]


def signal_table() -> tuple[np.ndarray, list[tuple[str, str]]]:
    """(system number, MSM signal id) -> index into the list of (letter, band + attribute)."""
    table = np.full((len(SYSTEMS), 33), -1, np.int64)
    signals: list[tuple[str, str]] = []
    for k, letter in enumerate(SYSTEMS):
        for sid, code in SIGNALS[letter].rtcm_msm_signals.items():
            if (letter, code) not in signals:
                signals.append((letter, code))
            table[k, sid] = signals.index((letter, code))
    return table, signals


_SIGNAL_TABLE, SIGNAL_LIST = signal_table()


def msm_system(letter: str) -> int:
    return SYSTEMS.index(letter)


@dataclass
class ObsCells:
    """Signal measurements of a set of observation messages, one row per cell.

    Per message (``msg_*``, stream order of the decoded frames): ``msg_frame`` index of the
    frame in its framing, ``msg_system`` system number, ``msg_time_ms`` the epoch time field
    (GPS/Galileo/QZSS/SBAS/NavIC: ms of GPS week; BeiDou: ms of BDT week; GLONASS: ms of
    the GLONASS day), ``msg_dow`` GLONASS day of week (7 unknown), ``msg_sync`` (multiple
    message bit), ``msg_station``, ``msg_priority`` (higher for finer resolution),
    ``msg_type`` (message number).
    Per cell: ``msg`` (row into the message arrays), ``sat`` satellite index, ``signal``
    (index into :data:`SIGNAL_LIST`), ``pseudorange_m``, ``phase_range_m``,
    ``range_rate_mps`` (NaN where absent), ``cnr_dbhz`` (0 absent), ``lock_ms`` (minimum lock
    time), ``half`` (half-cycle ambiguity), ``glo_channel`` (from the message, -99 unknown).
    """

    msg_frame: np.ndarray
    msg_system: np.ndarray
    msg_time_ms: np.ndarray
    msg_dow: np.ndarray
    msg_sync: np.ndarray
    msg_station: np.ndarray
    msg_priority: np.ndarray
    msg_type: np.ndarray
    msg: np.ndarray
    sat: np.ndarray
    signal: np.ndarray
    pseudorange_m: np.ndarray
    phase_range_m: np.ndarray
    range_rate_mps: np.ndarray
    cnr_dbhz: np.ndarray
    lock_ms: np.ndarray
    half: np.ndarray
    glo_channel: np.ndarray

    @staticmethod
    def concat(parts: list[ObsCells], in_order: bool = False) -> ObsCells:
        """One ObsCells of several, messages re-sorted by frame (stream order); ``in_order``:
        the parts are in stream order already, their cells in message order (no sort)."""
        if not parts:
            return _empty_cells()
        if len(parts) == 1:
            return parts[0]
        if in_order:
            offset, msgs = 0, []
            for p in parts:
                msgs.append(p.msg + offset)
                offset += len(p.msg_frame)
            return ObsCells(**{name: np.concatenate(msgs) if name == "msg" else
                               np.concatenate([getattr(p, name) for p in parts])
                               for name in ObsCells.__dataclass_fields__})
        offsets = np.cumsum([0] + [len(p.msg_frame) for p in parts[:-1]])
        merged = {}
        for name in ObsCells.__dataclass_fields__:
            arrays = [getattr(p, name) for p in parts]
            if name == "msg":
                arrays = [a + o for a, o in zip(arrays, offsets)]
            merged[name] = np.concatenate(arrays)
        order = np.argsort(merged["msg_frame"], kind="stable")
        rank = np.empty_like(order)
        rank[order] = np.arange(len(order))
        for name in ObsCells.__dataclass_fields__:
            if name.startswith("msg_"):
                merged[name] = merged[name][order]
        merged["msg"] = rank[merged["msg"]]
        cell_order = np.argsort(merged["msg"], kind="stable")
        for name in ObsCells.__dataclass_fields__:
            if not name.startswith("msg_"):
                merged[name] = merged[name][cell_order]
        return ObsCells(**merged)


def _empty_cells() -> ObsCells:
    z = np.zeros(0, np.int64)
    f = np.zeros(0, np.float64)
    return ObsCells(z, z, z, z, z, z, z, z, z, z, z, f, f, f, f, z, z, z)


def decode_msm(
    buf: np.ndarray,
    frame_index: np.ndarray,
    payload: np.ndarray,
    length: np.ndarray,
    mtype: int,
    counts: dict,
) -> ObsCells:
    """Cells of all MSM1-7 messages of one message number.

    MSM1-3 (compact: no whole milliseconds of the rough range, no C/N0) give pseudorange and
    phase range modulo one light-millisecond (about 300 km); resolving the whole
    milliseconds needs an approximate range (receiver and satellite positions), which the
    caller may have; :mod:`satnav.io.rtcm3` writes no observation of them.

    ``buf``: padded stream bytes (:func:`~satnav.io._bits.padded`); ``payload``: byte offset
    of each payload, ``length`` its length (bytes); ``frame_index``: the frames' indices (kept
    per message). Messages too short for their masks are counted in
    ``counts["undecodable"]`` and skipped.
    """
    letter, msm = MSM_TYPES[mtype]
    sysnum = SYSTEMS.index(letter)
    P = payload.astype(np.int64) * 8
    nbits = length.astype(np.int64) * 8
    sat_hi, sat_lo = bits_u(buf, P + 73, 32), bits_u(buf, P + 105, 32)
    shifts = 31 - np.arange(32)
    satbits = np.concatenate(
        [(sat_hi[:, None] >> shifts) & 1, (sat_lo[:, None] >> shifts) & 1], axis=1
    ).astype(bool)
    sigbits = ((bits_u(buf, P + 137, 32)[:, None] >> shifts) & 1).astype(bool)
    nsat = satbits.sum(1)
    nsig = sigbits.sum(1)
    nmask = nsat * nsig
    cell_hi, cell_lo = bits_u(buf, P + 169, 32), bits_u(buf, P + 201, 32)
    cellbits = np.concatenate(
        [(cell_hi[:, None] >> shifts) & 1, (cell_lo[:, None] >> shifts) & 1], axis=1
    ).astype(bool)
    cellbits &= np.arange(64)[None, :] < nmask[:, None]
    ncell = cellbits.sum(1)
    sat_w = sum(w for _, w in _SAT_FIELDS[msm])
    sig_w = sum(w for _, w in _SIG_FIELDS[msm])
    total = _MSM_HEADER_BITS + nmask + nsat * sat_w + ncell * sig_w
    ok = (nmask <= 64) & (total <= nbits) & (nbits >= _MSM_HEADER_BITS)
    if not ok.all():
        counts["undecodable"] = counts.get("undecodable", 0) + int((~ok).sum())
        P, satbits, sigbits, cellbits = P[ok], satbits[ok], sigbits[ok], cellbits[ok]
        nsat, nsig, nmask, ncell, frame_index = (
            nsat[ok],
            nsig[ok],
            nmask[ok],
            ncell[ok],
            frame_index[ok],
        )
    nmsg = len(P)
    if letter == "R":
        dow = bits_u(buf, P + 24, 3)
        time_ms = bits_u(buf, P + 27, 27)
    else:
        dow = np.full(nmsg, 7, np.int64)
        time_ms = bits_u(buf, P + 24, 30)
    sync = bits_u(buf, P + 54, 1)
    station = bits_u(buf, P + 12, 12)
    # satellites: message and mask position of each, in message order
    sat_msg, sat_pos = np.nonzero(satbits)
    first_sat = np.cumsum(nsat) - nsat
    sat_local = np.arange(len(sat_msg)) - first_sat[sat_msg]
    sat_start = P + _MSM_HEADER_BITS + nmask
    sat_vals = {}
    off = 0
    for name, w in _SAT_FIELDS[msm]:
        sat_vals[name] = bits_u(buf, sat_start[sat_msg] + off * nsat[sat_msg] + sat_local * w, w)
        off += w
    sig_start = sat_start + nsat * sat_w
    # signals of each message, in mask order
    sig_msg, sig_pos = np.nonzero(sigbits)
    first_sig = np.cumsum(nsig) - nsig
    # cells
    cell_msg, cell_k = np.nonzero(cellbits)
    first_cell = np.cumsum(ncell) - ncell
    cell_local = np.arange(len(cell_msg)) - first_cell[cell_msg]
    cnsig = np.maximum(nsig[cell_msg], 1)
    cell_sat = first_sat[cell_msg] + cell_k // cnsig
    cell_sigid = sig_pos[first_sig[cell_msg] + cell_k % cnsig] + 1
    sig_vals = {}
    off = 0
    for name, w in _SIG_FIELDS[msm]:
        pos = sig_start[cell_msg] + off * ncell[cell_msg] + cell_local * w
        sig_vals[name] = (
            bits_s(buf, pos, w)
            if name in ("fine_pr", "fine_cp", "fine_rate")
            else bits_u(buf, pos, w)
        )
        off += w
    # satellite numbers
    prn = sat_pos[cell_sat] + 1
    if letter == "S":
        prn = prn + 19  # SBAS PRN 120 + id - 1 -> S20 ...
    valid_sat = (prn >= 1) & (prn <= SIGNALS[letter].max_prn)
    signal = _SIGNAL_TABLE[sysnum, cell_sigid]
    known = valid_sat & (signal >= 0)
    if not known.all():
        counts["unknown_signals"] = counts.get("unknown_signals", 0) + int((~known).sum())
    # values (m, m/s); MSM1-3 carry no whole milliseconds of the rough range (DF397): their
    # ranges are modulo one light-millisecond (RTCM 10403.3 3.5.16.3)
    ncells = len(cell_msg)
    if "rough_ms" in sat_vals:
        rough = sat_vals["rough_ms"][cell_sat]
        r = np.where(rough != 255, (rough + sat_vals["rough_mod"][cell_sat] * 2.0**-10) * RANGE_MS, np.nan)
    else:
        r = sat_vals["rough_mod"][cell_sat] * 2.0**-10 * RANGE_MS
    s_pr, s_cp = _FINE_SCALE[msm]
    widths = dict(_SIG_FIELDS[msm])
    pr = np.full(ncells, np.nan)
    cp = np.full(ncells, np.nan)
    if "fine_pr" in sig_vals:
        fine_pr = sig_vals["fine_pr"]
        pr = np.where(fine_pr != -(1 << (widths["fine_pr"] - 1)), r + fine_pr * (s_pr * RANGE_MS), np.nan)
    if "fine_cp" in sig_vals:
        fine_cp = sig_vals["fine_cp"]
        cp = np.where(fine_cp != -(1 << (widths["fine_cp"] - 1)), r + fine_cp * (s_cp * RANGE_MS), np.nan)
    if "rate" in sat_vals:
        rate = bits_to_signed(sat_vals["rate"], 14)[cell_sat]
        fine_rate = sig_vals["fine_rate"]
        rr = np.where((rate != -8192) & (fine_rate != -16384), rate + fine_rate * 1e-4, np.nan)
        ext = sat_vals["ext"][cell_sat]
        glo = np.where((letter == "R") & (ext <= 13), ext - 7, -99)
    else:
        rr = np.full(ncells, np.nan)
        glo = np.full(ncells, -99, np.int64)
    cnr = sig_vals["cnr"] * (1.0 if msm in (4, 5) else 2.0**-4) if "cnr" in sig_vals else np.zeros(ncells)
    lock = lock_time_ms(sig_vals["lock"], msm) if "lock" in sig_vals else np.zeros(ncells, np.int64)
    half = sig_vals["half"] if "half" in sig_vals else np.zeros(ncells, np.int64)
    prio = np.full(nmsg, 2 if msm in (6, 7) else 1 if msm >= 4 else 0, np.int64)
    cells = ObsCells(
        frame_index.astype(np.int64),
        np.full(nmsg, sysnum, np.int64),
        time_ms,
        dow,
        sync,
        station,
        prio,
        np.full(nmsg, mtype, np.int64),
        cell_msg[known],
        (sysnum * SATELLITES_PER_SYSTEM + prn)[known],
        signal[known],
        pr[known],
        cp[known],
        rr[known],
        cnr[known].astype(np.float64),
        lock[known],
        half[known],
        glo[known],
    )
    return cells


#: 2**(w-1) ... 2**0 per field width (float64: exact below 2**53): an MSB-first run of ``w``
#: bits (as 0.0/1.0) times this is its unsigned value.
_BIT_WEIGHTS = {w: 2.0 ** np.arange(w - 1, -1, -1) for w in range(1, 33)}
_SAT_WIDTH = {k: sum(w for _, w in f) for k, f in _SAT_FIELDS.items()}
_SIG_WIDTH = {k: sum(w for _, w in f) for k, f in _SIG_FIELDS.items()}
def _block_weights(fields) -> np.ndarray:
    """(sum of widths, number of fields): each field's bit weights in its own column."""
    out = np.zeros((sum(w for _, w in fields), len(fields)))
    row = 0
    for j, (_, w) in enumerate(fields):
        out[row : row + w, j] = _BIT_WEIGHTS[w]
        row += w
    return out


_SAT_BLOCKS = {k: _block_weights(f) for k, f in _SAT_FIELDS.items()}
_SIG_BLOCKS = {k: _block_weights(f) for k, f in _SIG_FIELDS.items()}
_SAT_NAMES = {k: [name for name, _ in f] for k, f in _SAT_FIELDS.items()}
_SIG_NAMES = {k: [name for name, _ in f] for k, f in _SIG_FIELDS.items()}
#: byte value -> positions of its set bits (0 = the most significant)
_BYTE_BITS = [[i for i in range(8) if b >> (7 - i) & 1] for b in range(256)]


def _mask_positions(mask: int, nbits: int) -> list[int]:
    """Positions (0 = the first, most significant bit) of the set bits of an ``nbits``-bit
    mask (``nbits`` <= 64)."""
    raw = (mask << (64 - nbits)).to_bytes(8, "big")
    return [8 * j + i for j, b in enumerate(raw) if b for i in _BYTE_BITS[b]]


def decode_msm_message(payload: bytes, frame_index: int, mtype: int, counts: dict) -> ObsCells:
    """Cells of one MSM1-7 message (``payload``: its bytes, without frame header and CRC):
    the same result as :func:`decode_msm` of that one frame, for a live stream where each
    message is decoded as it arrives. The header and masks are read from one Python integer;
    each run of equal-width fields (rough ranges of all satellites, fine pseudoranges of all
    cells, ...) is one product of the message's unpacked bits (a (count, width) view) with
    the bit weights, so the work is a fixed number of NumPy calls per message, not per cell."""
    letter, msm = MSM_TYPES[mtype]
    sysnum = SYSTEMS.index(letter)
    nbits = len(payload) * 8
    head = int.from_bytes(payload[:30].ljust(30, b"\0"), "big")  # 240 bits: header and cell mask

    def field(pos: int, w: int) -> int:
        return (head >> (240 - pos - w)) & ((1 << w) - 1)

    sat_pos = _mask_positions(field(73, 64), 64)
    sig_pos = _mask_positions(field(137, 32), 32)
    nsat, nsig = len(sat_pos), len(sig_pos)
    nmask = nsat * nsig
    cell_k = _mask_positions(field(169, nmask), nmask) if 0 < nmask <= 64 else []
    ncell = len(cell_k)
    total = _MSM_HEADER_BITS + nmask + nsat * _SAT_WIDTH[msm] + ncell * _SIG_WIDTH[msm]
    if nmask > 64 or total > nbits or nbits < _MSM_HEADER_BITS:
        counts["undecodable"] = counts.get("undecodable", 0) + 1
        return _empty_cells()
    if letter == "R":
        dow, time_ms = field(24, 3), field(27, 27)
    else:
        dow, time_ms = 7, field(24, 30)
    bits = np.unpackbits(np.frombuffer(payload, np.uint8, min(len(payload), total // 8 + 1))).astype(np.float64)
    # the runs of a field side by side, (count, width of all fields), times the block-diagonal
    # bit weights: every field of every satellite (cell) in one product
    pos = _MSM_HEADER_BITS + nmask
    runs = []
    for _, w in _SAT_FIELDS[msm]:
        runs.append(bits[pos : pos + nsat * w].reshape(nsat, w))
        pos += nsat * w
    sat = dict(zip(_SAT_NAMES[msm], (np.concatenate(runs, axis=1) @ _SAT_BLOCKS[msm]).T))  # unsigned, float64
    runs = []
    for _, w in _SIG_FIELDS[msm]:
        runs.append(bits[pos : pos + ncell * w].reshape(ncell, w))
        pos += ncell * w
    sig = dict(zip(_SIG_NAMES[msm], (np.concatenate(runs, axis=1) @ _SIG_BLOCKS[msm]).T))
    widths = dict(_SIG_FIELDS[msm])
    if nsig == 1:
        cell_sat = cell_k
        sig_of_cell = [sig_pos[0]] * ncell
    else:
        cell_sat = [k // nsig for k in cell_k]
        sig_of_cell = [sig_pos[k % nsig] for k in cell_k]
    prn = np.array([sat_pos[i] for i in cell_sat], np.int64) + (20 if letter == "S" else 1)
    signal = _SIGNAL_TABLE[sysnum][np.array(sig_of_cell, np.int64) + 1]
    known = (prn >= 1) & (prn <= SIGNALS[letter].max_prn) & (signal >= 0)
    n_unknown = ncell - int(np.count_nonzero(known))
    if n_unknown:
        counts["unknown_signals"] = counts.get("unknown_signals", 0) + n_unknown
    cs = np.array(cell_sat, np.int64)
    if "rough_ms" in sat:
        rough = sat["rough_ms"]
        r_sat = (rough + sat["rough_mod"] * 2.0**-10) * RANGE_MS
        r_sat[rough == 255] = np.nan
    else:
        r_sat = sat["rough_mod"] * 2.0**-10 * RANGE_MS
    r = r_sat[cs]
    s_pr, s_cp = _FINE_SCALE[msm]
    values = []
    for name, scale in (("fine_pr", s_pr), ("fine_cp", s_cp)):
        if name not in sig:
            values.append(np.full(ncell, np.nan))
            continue
        raw, half = sig[name], 2.0 ** (widths[name] - 1)
        v = r + (raw - (raw >= half) * (2 * half)) * (scale * RANGE_MS)
        v[raw == half] = np.nan  # the "invalid" pattern: -2**(w-1)
        values.append(v)
    pr, cp = values
    if "rate" in sat:
        rate_raw, fine = sat["rate"][cs], sig["fine_rate"]
        rr = (rate_raw - (rate_raw >= 8192) * 16384.0) + (fine - (fine >= 16384) * 32768.0) * 1e-4
        rr[(rate_raw == 8192) | (fine == 16384)] = np.nan
        if letter == "R":
            ext = sat["ext"][cs].astype(np.int64)
            glo = np.where(ext <= 13, ext - 7, -99)
        else:
            glo = np.full(ncell, -99, np.int64)
    else:
        rr = np.full(ncell, np.nan)
        glo = np.full(ncell, -99, np.int64)
    cnr = sig["cnr"] * (1.0 if msm in (4, 5) else 2.0**-4) if "cnr" in sig else np.zeros(ncell)
    lock = (_DF402_MS if msm <= 5 else _DF407_MS)[sig["lock"].astype(np.int64)] if "lock" in sig \
        else np.zeros(ncell, np.int64)
    half_cycle = sig["half"].astype(np.int64) if "half" in sig else np.zeros(ncell, np.int64)
    if n_unknown:
        prn, signal, pr, cp, rr, cnr, lock, half_cycle, glo = (
            a[known] for a in (prn, signal, pr, cp, rr, cnr, lock, half_cycle, glo))
    head_fields = np.array([frame_index, sysnum, time_ms, dow, field(54, 1), field(12, 12),
                            2 if msm in (6, 7) else 1 if msm >= 4 else 0, mtype], np.int64)
    return ObsCells(
        *(head_fields[k : k + 1] for k in range(8)),  # the message's fields, one element each
        np.zeros(len(prn), np.int64), sysnum * SATELLITES_PER_SYSTEM + prn, signal, pr, cp, rr,
        cnr, lock, half_cycle, glo,
    )


def bits_to_signed(v: np.ndarray, n: int) -> np.ndarray:
    """Two's complement of ``n``-bit unsigned values."""
    return np.where(v >> (n - 1) != 0, v - (1 << n), v)


# DF013 / DF019 / DF043 / DF049: 7-bit lock-time indicator -> minimum lock time (s), table 3.4-2
def _legacy_lock_s(i: np.ndarray) -> np.ndarray:
    i = np.asarray(i, np.int64)
    return np.select(
        [i < 24, i < 48, i < 72, i < 96, i < 120, i < 127],
        [i, 2 * i - 24, 4 * i - 120, 8 * i - 408, 16 * i - 1176, 32 * i - 3096],
        937,
    )


#: legacy L2 code indicator (DF016) -> RINEX attribute of L2 (RTKLIB 2.4.3 convention)
_L2_CODES_GPS = ("2X", "2P", "2D", "2W")
_L2_CODES_GLO = ("2C", "2P", "2P", "2P")


def decode_legacy(
    buf: np.ndarray,
    frame_index: np.ndarray,
    payload: np.ndarray,
    length: np.ndarray,
    mtype: int,
    counts: dict,
) -> ObsCells:
    """Cells of legacy GPS (1001-1004) or GLONASS (1009-1012) RTK observation messages.

    1001/1003/1009/1011 carry no pseudorange ambiguity and no C/N0: they are counted as
    ``legacy_without_ambiguity`` and give no cells (RTKLIB does the same).
    """
    letter, has_l2, extended = LEGACY_TYPES[mtype]
    sysnum = SYSTEMS.index(letter)
    P = payload.astype(np.int64) * 8
    glo = letter == "R"
    hdr_bits = 61 if glo else 64
    nsat = bits_u(buf, P + (52 if glo else 55), 5)
    blk = {(False, False): 58, (False, True): 74, (True, False): 101, (True, True): 125}[
        (has_l2, extended)
    ]
    if glo:
        blk = {(False, False): 64, (False, True): 79, (True, False): 107, (True, True): 130}[
            (has_l2, extended)
        ]
    ok = hdr_bits + nsat * blk <= length.astype(np.int64) * 8
    if not ok.all():
        counts["undecodable"] = counts.get("undecodable", 0) + int((~ok).sum())
        P, nsat, frame_index = P[ok], nsat[ok], frame_index[ok]
    nmsg = len(P)
    time_ms = bits_u(buf, P + 24, 27 if glo else 30)
    sync = bits_u(buf, P + (51 if glo else 54), 1)
    station = bits_u(buf, P + 12, 12)
    if not extended:
        counts["legacy_without_ambiguity"] = counts.get("legacy_without_ambiguity", 0) + nmsg
        nsat = np.zeros_like(nsat)
    sat_msg = np.repeat(np.arange(nmsg), nsat)
    first = np.cumsum(nsat) - nsat
    local = np.arange(len(sat_msg)) - first[sat_msg]
    p = P[sat_msg] + hdr_bits + local * blk
    f: dict[str, np.ndarray] = {}
    layout = [("prn", 6), ("code1", 1)]
    if glo:
        layout += [("fcn", 5), ("pr1", 25), ("ppr1", 20), ("lock1", 7), ("amb", 7), ("cnr1", 8)]
    else:
        layout += [("pr1", 24), ("ppr1", 20), ("lock1", 7), ("amb", 8), ("cnr1", 8)]
    if has_l2:
        layout += [("code2", 2), ("pr21", 14), ("ppr2", 20), ("lock2", 7), ("cnr2", 8)]
    off = 0
    for name, w in layout:
        f[name] = (bits_s if name in ("ppr1", "pr21", "ppr2") else bits_u)(buf, p + off, w)
        off += w
    unit = 599584.916 if glo else RANGE_MS  # DF014 / DF044 modulus (m)
    pr1 = f["pr1"] * 0.02 + f["amb"] * unit
    prn = f["prn"]
    if glo:
        channel = f["fcn"] - 7
        sat_ok = (prn >= 1) & (prn <= SIGNALS["R"].max_prn)
        sat = sysnum * SATELLITES_PER_SYSTEM + prn
    else:
        channel = np.full(len(prn), -99, np.int64)
        # RTCM DF009 ids 40-63 are SBAS PRN 120-143: not decoded here (counted)
        sat = sysnum * SATELLITES_PER_SYSTEM + prn
        sat_ok = (prn >= 1) & (prn <= SIGNALS["G"].max_prn)
        if (prn >= 40).any():
            counts["legacy_sbas_not_decoded"] = counts.get("legacy_sbas_not_decoded", 0) + int((prn >= 40).sum())
    code1 = np.where(f["code1"] == 1, "1P", "1C")
    rows_sig, rows_pr, rows_cp, rows_lock, rows_cnr, rows_msg, rows_sat, rows_glo = (
        [],
        [],
        [],
        [],
        [],
        [],
        [],
        [],
    )
    ppr1_ok = f["ppr1"] != -(1 << 19)
    cp1 = np.where(ppr1_ok, pr1 + f["ppr1"] * 0.0005, np.nan)
    for letter_sig, pr, cp, lock, cnr in ((code1, pr1, cp1, f["lock1"], f["cnr1"] * 0.25),) + (
        (
            (
                np.asarray(_L2_CODES_GLO if glo else _L2_CODES_GPS)[f["code2"]],
                np.where(f["pr21"] != -(1 << 13), pr1 + f["pr21"] * 0.02, np.nan),
                np.where(f["ppr2"] != -(1 << 19), pr1 + f["ppr2"] * 0.0005, np.nan),
                f["lock2"],
                f["cnr2"] * 0.25,
            ),
        )
        if has_l2
        else ()
    ):
        sig = np.array(
            [_SIGNAL_TABLE_BY_CODE.get((letter, c), -1) for c in letter_sig.tolist()], np.int64
        )
        rows_sig.append(sig)
        rows_pr.append(pr)
        rows_cp.append(cp)
        rows_lock.append(_legacy_lock_s(lock) * 1000)
        rows_cnr.append(cnr)
        rows_msg.append(sat_msg)
        rows_sat.append(sat)
        rows_glo.append(channel)
    if not rows_sig:
        return _empty_cells()
    sig = np.concatenate(rows_sig)
    keep = (sig >= 0) & np.tile(sat_ok, len(rows_sig))
    msg = np.concatenate(rows_msg)
    order = np.argsort(msg[keep], kind="stable")

    def take(a):
        return np.concatenate(a)[keep][order]

    satr = take(rows_sat)
    # SBAS rows of a GPS legacy message keep the GPS signal table entry of their code
    return ObsCells(
        frame_index.astype(np.int64),
        np.full(nmsg, sysnum, np.int64),
        time_ms,
        np.full(nmsg, 7, np.int64),
        sync,
        station,
        np.zeros(nmsg, np.int64),
        np.full(nmsg, mtype, np.int64),
        take(rows_msg),
        satr,
        sig[keep][order],
        take(rows_pr),
        take(rows_cp),
        np.full(len(satr), np.nan),
        take(rows_cnr).astype(np.float64),
        take(rows_lock).astype(np.int64),
        np.zeros(len(satr), np.int64),
        take(rows_glo),
    )


_SIGNAL_TABLE_BY_CODE = {sig: i for i, sig in enumerate(SIGNAL_LIST)}


def _fixed_wavelengths() -> tuple[np.ndarray, list[int]]:
    """Wavelength (m) of each signal of :data:`SIGNAL_LIST` (NaN for a GLONASS FDMA band),
    and the indices of the FDMA signals."""
    out = np.full(len(SIGNAL_LIST), np.nan)
    fdma = []
    for i, (letter, code) in enumerate(SIGNAL_LIST):
        if code[0] in SIGNALS[letter].fdma_hz:
            fdma.append(i)
        else:
            out[i] = SPEED_OF_LIGHT / carrier_frequency(letter, code[0])
    return out, fdma


_WAVELENGTH, _FDMA_SIGNALS = _fixed_wavelengths()


def wavelengths(sat: np.ndarray, signal: np.ndarray, channel: np.ndarray) -> np.ndarray:
    """Carrier wavelength (m) of each cell; NaN for GLONASS FDMA without a channel."""
    signal = np.asarray(signal, np.int64)
    out = _WAVELENGTH[np.clip(signal, 0, len(SIGNAL_LIST) - 1)]
    out[(signal < 0) | (signal >= len(SIGNAL_LIST))] = np.nan
    for i in _FDMA_SIGNALS:
        sel = signal == i
        if not sel.any():
            continue
        letter, code = SIGNAL_LIST[i]
        k = channel[sel]
        f = np.where(k > -99, carrier_frequency(letter, code[0], np.where(k > -99, k, 0)), np.nan)
        out[sel] = SPEED_OF_LIGHT / f
    return out
