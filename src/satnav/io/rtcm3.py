"""RTCM 3 logs and streams: observations, ephemerides and station data.

Sources: RTCM 10403.3 (2016) with amendments 1-2. Framing (CRC-24Q, resynchronisation after
garbage) is :func:`satnav.io.framing.frame_stream`'s; observation messages (MSM1-7 of GPS,
GLONASS, Galileo, SBAS, QZSS, BeiDou, NavIC; legacy 1002/1004/1010/1012) are decoded by
:mod:`satnav.io.rtcm3_obs` (MSM1-3 carry ranges modulo one light-millisecond: decoded, counted
in ``counts["msm1_3_messages"]``, no observation written from them, as RTKLIB does), ephemerides (1019, 1020, 1041, 1042, 1044, 1045, 1046) by
:mod:`satnav.io.rtcm3_nav`, all frames of a type at once with NumPy. Station messages
(1005/1006 antenna reference point, 1007/1008 antenna, 1033 antenna and receiver) and the
GLONASS code-phase biases (1230) are few and decoded one by one. Any other message number
is counted (:attr:`Rtcm3Log.messages`), never an error; damaged frames are counted in
:attr:`Rtcm3Log.counts`.

**Time.** MSM and legacy messages carry a time of week (GPS, Galileo, QZSS, SBAS, NavIC: GPST;
BeiDou: BDT = GPST - 14 s) or a GLONASS time of day (UTC(SU) + 3 h), never a week. The week
is taken from a reference time: the caller's ``time_hint`` (GPST ns), else the
ephemerides of the log (Galileo and BeiDou send full weeks; a GPS/QZSS 10-bit week is put
in the latest 1024-week era not after today), else today (RTKLIB does the same). Then the
time tags are unwrapped in stream order (a GPS week rollover inside a log moves to the
next week), and each GLONASS time of day goes to the day nearest the previous GPS-like
message (leap seconds of the reference date).

**Streams.** :class:`Rtcm3Decoder` is the incremental decoder
(:class:`~satnav.io.stream_items.StreamDecoder`): bytes in any split, an
:class:`~satnav.io.stream_items.EpochItem` when an epoch is complete (a message with the
multiple-message bit clear, or the first message of a later epoch), ephemerides as
:class:`~satnav.io.stream_items.NavigationItem`, station data as
:class:`~satnav.io.stream_items.StationItem`, CRC failures and garbage as
:class:`~satnav.io.stream_items.ProblemItem`. :func:`read_rtcm3` decodes a whole file
(plain or gzip) in one vectorized pass with the same decoding steps.
"""

from __future__ import annotations

import time as _time
from dataclasses import dataclass, field
from os import PathLike

import numpy as np

from ..errors import SatnavWarning
from ..gnss_time import (
    NS_PER_S,
    NS_PER_WEEK,
    datetime64_to_ns,
    gpst_from_bdt_week_tow,
    leap_seconds_at_gpst,
    to_gpst,
)
from ..navigation import NavHeader, Navigation, message_keys
from ..observations import Observations, ObsHeader
from ..satellites import SATELLITES_PER_SYSTEM, SYSTEMS, satellite_id
from ._bits import bits_s, bits_u, padded
from ._raw_obs import (
    carried_slips,
    concat_observations,
    conversion_comments,
    log_comment,
    observations_from_measurements,
)
from .framing import StreamFrames, frame_stream
from .rawlog import log_protocol, read_head_bytes, read_log_bytes
from .rtcm3_live import LiveEpochs
from .rtcm3_nav import EPHEMERIS_TYPES, decode_ephemerides, ephemeris_fields
from .rtcm3_obs import (
    LEGACY_TYPES,
    MSM_TYPES,
    SIGNAL_LIST,
    ObsCells,
    decode_legacy,
    decode_msm,
    decode_msm_message,
    wavelengths,
)
from .stream_items import EpochItem, NavigationItem, ProblemItem, StationItem, StreamItem

__all__ = [
    "Rtcm3Log",
    "Rtcm3Decoder",
    "decode_rtcm3",
    "read_rtcm3",
    "read_log_bytes",
    "is_rtcm3",
    "is_rtcm3_file",
    "rtcm3_info",
    "station_items",
    "MixedStreamDecoder",
]

_W_MS = 604_800_000
_D_MS = 86_400_000
_GLO = SYSTEMS.index("R")
_BDS = SYSTEMS.index("C")
STATION_TYPES = (1005, 1006, 1007, 1008, 1033)
#: Message numbers decoded (others are counted as unknown).
_KNOWN_TYPES = frozenset(MSM_TYPES) | frozenset(LEGACY_TYPES) | frozenset(EPHEMERIS_TYPES) | frozenset(STATION_TYPES) | {1230}
#: Framing counts that a decoder reports as problems.
_PROBLEMS = ("rtcm3_crc_failures", "truncated", "garbage_bytes")
#: MSM1-3 message numbers (compact: ranges modulo one light-millisecond).
_COMPACT_MSM = [t for t, (_, k) in MSM_TYPES.items() if k < 4]
#: Observation message numbers (MSM1-7 of every system, legacy 1001-1004 and 1009-1012).
_OBSERVATION_TYPES = np.array(sorted(set(MSM_TYPES) | set(LEGACY_TYPES)), np.int64)


# ============================================================================ time
def now_gpst_ns() -> int:
    """The current time, GPST ns (the reference of last resort)."""
    utc = int(datetime64_to_ns(np.datetime64(int(_time.time() * 1e9), "ns")))
    return int(to_gpst(utc, "UTC"))


def reference_or_now(ref: int | None, frames: StreamFrames, source: str = "") -> int:
    """``ref`` (GPST ns near a log: the caller's date or its ephemerides'), else the current
    time, with a warning (:class:`~satnav.errors.SatnavWarning`) when ``frames`` hold
    observation messages: their time tags carry no week, and a log recorded earlier would be
    dated wrong without a word."""
    if ref is not None:
        return ref
    now = now_gpst_ns()
    if np.isin(frames.rtcm_type, _OBSERVATION_TYPES).any():
        import warnings

        from ..gnss_time import format_gpst

        warnings.warn(f"{source or 'RTCM 3 data'}: no ephemeris message dates the observations (their time tags "
                      f"carry no week): the current week is assumed ({format_gpst(now)[:10]}); give the date of "
                      "the recording (satnav convert / stream --time DATE; satnav solve: navigation files of that day)", SatnavWarning, stacklevel=3)
    return now


def reference_from_ephemerides(buf: np.ndarray, frames: StreamFrames) -> int | None:
    """A GPST ns time near the log, from its ephemerides (None when it has none): the median
    toe of Galileo (full GST week) or BeiDou (full BDT week) messages, else of GPS/QZSS
    messages with the 10-bit week in the latest 1024-week era not after today."""
    return reference_of(ephemeris_times(buf, frames))


#: Ephemeris message numbers in the order :func:`reference_from_ephemerides` prefers them.
REFERENCE_TYPES = (1046, 1045, 1042, 1019, 1044)


def ephemeris_times(buf: np.ndarray, frames: StreamFrames) -> dict[int, np.ndarray]:
    """Message number -> toe (GPST ns, int64) of each complete ephemeris message among
    ``frames`` of the types :data:`REFERENCE_TYPES` (see :func:`reference_from_ephemerides`)."""
    out = {}
    for mtype in REFERENCE_TYPES:
        sel = np.flatnonzero(frames.rtcm_type == mtype)
        if not len(sel):
            continue
        f, need = ephemeris_fields(buf, frames.rtcm_start[sel] + 3, mtype)
        ok = frames.rtcm_length[sel] * 8 >= need
        if not ok.any():
            continue
        week, toe = f["week"][ok], f["toe"][ok]
        if mtype in (1045, 1046):
            t = (week + 1024) * NS_PER_WEEK + toe * 60 * NS_PER_S
        elif mtype == 1042:
            t = gpst_from_bdt_week_tow(week, toe * 8.0)
        else:
            now_week = now_gpst_ns() // NS_PER_WEEK
            t = (week + 1024 * ((now_week - week) // 1024)) * NS_PER_WEEK + toe * 16 * NS_PER_S
        out[mtype] = np.asarray(t, np.int64)
    return out


def reference_of(times: dict[int, np.ndarray]) -> int | None:
    """The median toe of the first message number of :data:`REFERENCE_TYPES` in ``times``
    (:func:`ephemeris_times`, possibly gathered piece by piece), None when there is none."""
    for mtype in REFERENCE_TYPES:
        if mtype in times and len(times[mtype]):
            return int(np.median(times[mtype]))
    return None


def glonass_channels_1020(buf: np.ndarray, frames: StreamFrames) -> dict[int, int]:
    """GLONASS satellite index -> frequency channel of every 1020 message among ``frames``
    (the last one of a satellite wins)."""
    sel = np.flatnonzero(frames.rtcm_type == 1020)
    if not len(sel):
        return {}
    f_ix = frames.rtcm_start[sel] + 3
    fcn = bits_u(buf, f_ix * 8 + 18, 5) - 7
    prn = bits_u(buf, f_ix * 8 + 12, 6)
    return dict(zip((_GLO * SATELLITES_PER_SYSTEM + prn).tolist(), fcn.tolist()))


def resolve_times(
    system: np.ndarray, time_ms: np.ndarray, ref_ns: int
) -> tuple[np.ndarray, np.ndarray]:
    """Absolute GPST ns of observation messages in stream order (module docstring), and
    whether each time field was valid."""
    n = len(system)
    out = np.zeros(n, np.int64)
    glo = system == _GLO
    tow = np.where(system == _BDS, (time_ms + 14_000) % _W_MS, time_ms)
    valid = np.where(glo, time_ms < _D_MS, time_ms < _W_MS)
    g = ~glo & valid
    ref_ms = ref_ns // 1_000_000
    if g.any():
        t = tow[g]
        d = np.diff(t)
        jumps = np.where(d < -_W_MS // 2, 1, np.where(d > _W_MS // 2, -1, 0))
        cont = t + _W_MS * np.concatenate(([0], np.cumsum(jumps)))
        week0 = np.round((ref_ms - cont[0]) / _W_MS).astype(np.int64)
        out[g] = (cont + week0 * _W_MS) * 1_000_000
    r = glo & valid
    if r.any():
        leap_ms = int(leap_seconds_at_gpst(ref_ns)) * 1000
        tod = (time_ms[r] - 3 * 3_600_000 + leap_ms) % _D_MS
        if g.any():
            gpos = np.flatnonzero(g)
            idx = np.clip(np.searchsorted(gpos, np.flatnonzero(r)) - 1, 0, len(gpos) - 1)
            refs = out[gpos[idx]] // 1_000_000
            out[r] = (tod + _D_MS * np.round((refs - tod) / _D_MS).astype(np.int64)) * 1_000_000
        else:
            d = np.diff(tod)
            jumps = np.where(d < -_D_MS // 2, 1, np.where(d > _D_MS // 2, -1, 0))
            cont = tod + _D_MS * np.concatenate(([0], np.cumsum(jumps)))
            day0 = np.round((ref_ms - cont[0]) / _D_MS).astype(np.int64)
            out[r] = (cont + day0 * _D_MS) * 1_000_000
    return out, valid


# ============================================================================ station data
def _field(data: bytes, pos: int, width: int) -> int:
    """The unsigned ``width``-bit field at bit ``pos`` of ``data`` (MSB first; zeros past the
    end, as :func:`~satnav.io._bits.bits_u` of :func:`~satnav.io._bits.padded` bytes), on Python
    integers: station messages are few, one at a time."""
    b0, b1 = pos >> 3, (pos + width + 7) >> 3
    v = int.from_bytes(data[b0:b1].ljust(b1 - b0, b"\0"), "big")
    return (v >> ((b1 << 3) - pos - width)) & ((1 << width) - 1)


def _signed(v: int, width: int) -> int:
    return v - (1 << width) if v >> (width - 1) else v


def _text(data: bytes, bitpos: int, nchar: int) -> str:
    start = bitpos // 8
    if bitpos % 8 == 0:
        raw = data[start : start + nchar]
    else:
        raw = _field(data, bitpos, 8 * nchar).to_bytes(nchar, "big")
    return raw.decode("latin-1").strip("\x00 ")


def station_items(
    data: bytes, frames: StreamFrames, select: np.ndarray
) -> list[tuple[int, StationItem]]:
    """(frame index, StationItem) of the station messages among the frames ``select``."""
    return station_items_of(data, frames.rtcm_start.tolist(), frames.rtcm_length.tolist(),
                            frames.rtcm_type.tolist(), np.flatnonzero(select).tolist())


def station_items_of(data: bytes, starts: list[int], lengths: list[int], types: list[int],
                     select: list[int]) -> list[tuple[int, StationItem]]:
    """:func:`station_items` of frames given as lists (``select``: the frames' indices)."""
    out = []
    for i in select:
        mtype = types[i]
        n = lengths[i]
        P = (starts[i] + 3) * 8
        staid = _field(data, P + 12, 12)
        if mtype in (1005, 1006):
            if n * 8 < 152:
                continue
            # ECEF coordinates DF025-DF027: 38-bit two's complement, 0.1 mm
            xyz = [_signed(_field(data, P + off, 38), 38) * 1e-4 for off in (34, 74, 114)]
            height = _field(data, P + 152, 16) * 1e-4 if mtype == 1006 and n * 8 >= 168 else 0.0
            out.append((i, StationItem(staid, np.array(xyz), height)))
        else:
            pos = P + 24
            texts = []
            groups = {1007: 1, 1008: 2, 1033: 5}[mtype]
            try:
                for k in range(groups):
                    cnt = _field(data, pos, 8)
                    pos += 8
                    if pos + 8 * cnt > P + n * 8:
                        raise ValueError
                    texts.append(_text(data, pos, cnt))
                    pos += 8 * cnt
                    if k == 0:
                        pos += 8  # antenna setup id
            except ValueError:
                continue
            texts += [""] * (5 - len(texts))
            out.append(
                (i, StationItem(staid, None, 0.0, texts[0], texts[1], texts[2], texts[3], texts[4]))
            )
    return out


def _glonass_biases(data: bytes, frames: StreamFrames, select: np.ndarray) -> dict[str, float]:
    """GLONASS code-phase biases (m) of the last 1230 message: ``"C1C"`` -> bias."""
    idx = np.flatnonzero(select)
    if not len(idx):
        return {}
    buf = padded(data)
    P = (int(frames.rtcm_start[idx[-1]]) + 3) * 8
    mask = int(bits_u(buf, P + 28, 4))
    out = {}
    pos = P + 32
    for bit, code in zip((8, 4, 2, 1), ("C1C", "C1P", "C2C", "C2P")):
        if mask & bit:
            out[code] = float(bits_s(buf, pos, 16)) * 0.02
            pos += 16
    return out


# ============================================================================ decoding state
@dataclass
class _State:
    """What the decoding of later bytes needs from earlier ones."""

    ref_ns: int | None = None  # last resolved time (GPST ns), else the reference time
    last_ns: int | None = None  # time of the last observation message decoded (GPST ns)
    last_tow_ms: dict = field(default_factory=dict)
    lock: dict = field(default_factory=dict)  # lock history -> last lock time (ms; -1: a slip to report, _lli)
    channels: dict = field(default_factory=dict)  # GLONASS sat -> channel
    leap_seconds: int | None = None


def _frames_of(frames: StreamFrames, types) -> np.ndarray:
    return np.isin(frames.rtcm_type, list(types))


#: Chunks with at most this many observation messages (a live stream's epoch) are decoded
#: message by message (:func:`~satnav.io.rtcm3_obs.decode_msm_message`: a fixed number of
#: NumPy calls per message); more (a file) all messages of a type at once.
LIVE_MESSAGES = 16


def _decode_cells(buf: np.ndarray, frames: StreamFrames, counts: dict) -> ObsCells:
    types = frames.rtcm_type.tolist()
    obs_ix = [i for i, t in enumerate(types) if t in MSM_TYPES or t in LEGACY_TYPES]
    if len(obs_ix) <= LIVE_MESSAGES and all(types[i] in MSM_TYPES for i in obs_ix):
        parts = []
        starts, lengths = frames.rtcm_start.tolist(), frames.rtcm_length.tolist()
        for i in obs_ix:
            mtype = types[i]
            if MSM_TYPES[mtype][1] < 4:
                counts["msm1_3_messages"] = counts.get("msm1_3_messages", 0) + 1
            p = starts[i] + 3
            parts.append(decode_msm_message(buf[p : p + lengths[i]].tobytes(), i, mtype, counts))
        return ObsCells.concat(parts, in_order=True)
    parts = []
    for mtype in np.unique(frames.rtcm_type).tolist():
        sel = np.flatnonzero(frames.rtcm_type == mtype)
        args = (buf, sel, frames.rtcm_start[sel] + 3, frames.rtcm_length[sel], mtype, counts)
        if mtype in MSM_TYPES:
            if MSM_TYPES[mtype][1] < 4:  # compact: ranges modulo 1 ms, not written (decode_msm)
                counts["msm1_3_messages"] = counts.get("msm1_3_messages", 0) + len(sel)
            parts.append(decode_msm(*args))
        elif mtype in LEGACY_TYPES:
            parts.append(decode_legacy(*args))
    return ObsCells.concat(parts)


def _lli(group: np.ndarray, lock: np.ndarray, state: dict, phase_ok: np.ndarray) -> np.ndarray:
    """Loss of lock (bit 0) of cells in stream order, per ``group``: RTKLIB 2.4.3 convbin's
    rule (the first cell of a signal, a lock time that fell, or one that is 0 and was 0
    before), a slip on a cell without a valid phase (``phase_ok`` False) reported at the
    signal's next valid phase (:func:`~satnav.io._raw_obs.carried_slips`, as convbin's
    RINEX has it). ``state`` (group -> last lock time, -1 where a slip is still to be
    reported: the next cell then starts a new history) is read for the first cell of a
    group and updated."""
    n = len(group)
    if n == 0:
        return np.zeros(0, np.int8)
    order = np.argsort(group, kind="stable")
    g, lk = group[order], lock[order]
    first = np.ones(n, bool)
    first[1:] = g[1:] != g[:-1]
    prev = np.roll(lk, 1)
    firsts = np.flatnonzero(first)
    prev[firsts] = [state.get(k, -1) for k in g[firsts].tolist()]
    slip = (prev < 0) | ((lk == 0) & (prev == 0)) | (lk < prev)
    valid = phase_ok[order]
    carried = carried_slips(first, slip, valid)
    lasts = np.concatenate((firsts[1:] - 1, [n - 1]))
    state.update(zip(g[lasts].tolist(), np.where(carried[lasts] & ~valid[lasts], -1, lk[lasts]).tolist()))
    out = np.zeros(n, np.int8)
    out[order] = carried
    return out


@dataclass
class _Chunk:
    """Decoded content of a set of frames, before it is cut into epochs."""

    cell_time: np.ndarray  # per cell, GPST ns
    cell_frame: np.ndarray  # per cell, frame of its message
    cell_sync: np.ndarray  # per cell, multiple-message bit of its message
    values: np.ndarray  # (n, 4) C L D S
    present: np.ndarray
    lli: np.ndarray
    sat: np.ndarray
    signal: np.ndarray
    priority: np.ndarray
    nav: list  # (frame indices, letter, records) per message number
    stations: list  # (frame index, StationItem)
    biases: dict
    msg_time: np.ndarray  # per observation message
    msg_frame: np.ndarray
    msg_sync: np.ndarray


def _decode_chunk(
    data: bytes,
    frames: StreamFrames,
    state: _State,
    counts: dict,
    glonass_channels: dict | None = None,
    buf: np.ndarray | None = None,
) -> _Chunk:
    buf = padded(data) if buf is None else buf
    cells = _decode_cells(buf, frames, counts)
    ref = state.ref_ns if state.ref_ns is not None else now_gpst_ns()
    msg_time, valid = resolve_times(cells.msg_system, cells.msg_time_ms, ref)
    if (~valid).any():
        counts["bad_time"] = counts.get("bad_time", 0) + int((~valid).sum())
    # stream time at each frame: the last observation message at or before it (the
    # ephemerides' reference; a live epoch without them needs none)
    present_types = set(frames.rtcm_type.tolist())
    nfr = len(frames.rtcm_type)
    if not present_types & set(EPHEMERIS_TYPES):
        frame_time = None
    elif len(msg_time) and valid.any():
        vf, vt = cells.msg_frame[valid], msg_time[valid]
        ix = np.searchsorted(vf, np.arange(nfr), side="right") - 1
        # frames before the first observation message: the last one of earlier bytes
        before = vt[0] if state.last_ns is None else state.last_ns
        frame_time = np.where(ix >= 0, vt[np.maximum(ix, 0)], before)
    else:
        frame_time = np.full(nfr, ref if state.last_ns is None else state.last_ns, np.int64)
    # ephemerides
    nav = []
    for mtype in sorted(present_types & set(EPHEMERIS_TYPES)):
        sel = np.flatnonzero(frames.rtcm_type == mtype)
        letter, rec = decode_ephemerides(
            buf, frames.rtcm_start[sel] + 3, frames.rtcm_length[sel], mtype, frame_time[sel], counts
        )
        if len(rec):  # (frames, letter, records: one per frame when none was too short)
            nav.append((sel if len(rec) == len(sel) else np.full(len(rec), sel[-1]), letter, rec))
        if letter == "R":
            for s, k in zip(rec["sat"].tolist(), rec["freq_num"].tolist()):
                state.channels[int(s)] = int(k)
    stations = (station_items(data, frames, _frames_of(frames, STATION_TYPES))
                if present_types & set(STATION_TYPES) else [])
    biases = _glonass_biases(data, frames, frames.rtcm_type == 1230) if 1230 in present_types else {}
    # GLONASS channels: message extended info, legacy messages, 1020, the caller's table
    has = cells.glo_channel > -99
    state.channels.update(zip(cells.sat[has].tolist(), cells.glo_channel[has].tolist()))
    channel = cells.glo_channel.copy()
    need = ~has & (cells.sat // SATELLITES_PER_SYSTEM == _GLO)
    if need.any():
        table = dict(glonass_channels or {})
        table.update(state.channels)
        channel[need] = [table.get(int(s), -99) for s in cells.sat[need].tolist()]
    wl = wavelengths(cells.sat, cells.signal, channel)
    cell_time = msg_time[cells.msg]
    ok = valid[cells.msg]
    values = np.stack(
        [cells.pseudorange_m, cells.phase_range_m / wl, -cells.range_rate_mps / wl, cells.cnr_dbhz],
        axis=1,
    )
    present = np.isfinite(values) & ok[:, None]
    present[:, 3] &= cells.cnr_dbhz > 0
    if present_types & set(_COMPACT_MSM):
        compact = np.isin(cells.msg_type[cells.msg], _COMPACT_MSM)
        present[compact, :2] = False  # MSM1-3: pseudorange and phase modulo one light-millisecond
    # one lock history per signal and message number (MSM6 and MSM7 of one signal are two)
    group = (cells.msg_type[cells.msg] * 1000 + cells.sat.astype(np.int64)) * 64 + cells.signal
    lli = _lli(group, cells.lock_ms, state.lock, present[:, 1]) | np.where(cells.half != 0, 2, 0).astype(np.int8)
    if len(msg_time) and valid.any():
        state.ref_ns = state.last_ns = int(msg_time[valid][-1])
    elif state.ref_ns is None:
        state.ref_ns = ref
    return _Chunk(
        cell_time,
        cells.msg_frame[cells.msg],
        cells.msg_sync[cells.msg],
        values,
        present,
        lli,
        cells.sat.astype(np.int64),
        cells.signal,
        cells.msg_priority[cells.msg],
        nav,
        stations,
        biases,
        msg_time[valid],
        cells.msg_frame[valid],
        cells.msg_sync[valid],
    )


def epoch_closes(buf: np.ndarray, frames: StreamFrames) -> np.ndarray:
    """Whether each frame is an observation message with the multiple-message bit clear (the
    last message of its epoch)."""
    n = len(frames.rtcm_type)
    is_obs = np.isin(frames.rtcm_type, list(MSM_TYPES) + list(LEGACY_TYPES)) & (frames.rtcm_length >= 8)
    sync_bit = np.where(np.isin(frames.rtcm_type, [1009, 1010, 1011, 1012]), 51, 54)
    closes = np.zeros(n, bool)
    ix = np.flatnonzero(is_obs)
    closes[ix] = bits_u(buf, (frames.rtcm_start[ix] + 3) * 8 + sync_bit[ix], 1) == 0
    return closes


def piece_bounds(closes: np.ndarray, size: int):
    """(first, stop) frame indices of pieces of about ``size`` frames, each ending after a
    frame that closes an epoch (:func:`epoch_closes`) when there is one within ``2 size``."""
    n = len(closes)
    if n <= size:
        yield 0, n
        return
    ends = np.flatnonzero(closes) + 1
    lo = 0
    while lo < n:
        want = lo + size
        k = np.searchsorted(ends, want)
        hi = int(ends[k]) if k < len(ends) else n
        if hi <= lo or hi - lo > 2 * size:
            hi = min(n, want)
        yield lo, hi
        lo = hi


def frames_slice(frames: StreamFrames, lo: int, hi: int, base: int = 0) -> StreamFrames:
    """The RTCM 3 frames ``lo:hi`` of ``frames`` (no UBX frames), offsets moved by ``-base``."""
    sl = slice(lo, hi)
    empty = frames.ubx_start[:0]
    return StreamFrames(empty, frames.ubx_cls[:0], frames.ubx_id[:0], empty, frames.rtcm_start[sl] - base,
                        frames.rtcm_length[sl], frames.rtcm_type[sl], [], {}, frames.consumed)  # fmt: skip


def _frame_pieces(buf: np.ndarray, frames: StreamFrames, size: int):
    """The frames in pieces of about ``size``, each ending after an observation message with
    the multiple-message bit clear (the end of an epoch) when there is one."""
    if len(frames.rtcm_type) <= size:
        yield frames
        return
    for lo, hi in piece_bounds(epoch_closes(buf, frames), size):
        yield frames_slice(frames, lo, hi)


def navigation_of(nav_parts: list, leap: int, source: str = "") -> Navigation:
    """One Navigation of the ``(frames, letter, records)`` ephemeris parts of decoded pieces
    (in stream order). A message repeated (equal in every field but when it was read:
    stations send each ephemeris again every few tens of seconds, each repetition taking its
    frame's time as transmission time) is kept once, as first received: a converted log's
    navigation file holds each broadcast message once, as convbin writes it."""
    nav = Navigation(header=NavHeader(leap_seconds=leap))
    by_sys: dict[str, list] = {}
    for _, letter, rec in nav_parts:
        by_sys.setdefault(letter, []).append(rec)
    for letter, recs in by_sys.items():
        arr = np.concatenate(recs)
        seen: set = set()
        first = [k not in seen and not seen.add(k) for k in message_keys(letter, arr)]
        nav.add_messages(letter, arr[np.array(first, bool)])
    if source:
        nav.sources = [source]
        nav.header.comments.extend(conversion_comments("rtcm3", source, "ephemeris messages (satnav.io.rtcm3)"))
    return nav


def _obs_header(stations: list, biases: dict, channels: dict, leap: int | None) -> ObsHeader:
    header = ObsHeader(time_system="GPS")
    header.comments.append(log_comment("rtcm3", "MSM and legacy observations (satnav.io.rtcm3)"))
    for _, st in stations:
        header.marker_name = header.marker_name or f"{st.station_id:04d}"
        if st.position_m is not None:
            header.approx_position_m = np.asarray(st.position_m, float)
            header.antenna_delta_hen_m = np.array([st.antenna_height_m, 0.0, 0.0])
        if st.antenna_type:
            header.antenna_type = st.antenna_type
            header.antenna_number = st.antenna_serial
        if st.receiver_type:
            header.receiver_type = st.receiver_type
            header.receiver_version = st.receiver_firmware
            header.receiver_number = st.receiver_serial
    header.glonass_slots = {satellite_id(s): k for s, k in sorted(channels.items())}
    header.glonass_code_phase_bias = dict(biases)
    header.leap_seconds = leap
    header.version = 0.0
    return header


# ============================================================================ files
@dataclass
class Rtcm3Log:
    """A decoded RTCM 3 log.

    ``stations``: the station messages in stream order; ``counts``: framing and decoding
    counts (``rtcm3`` frames, ``rtcm3_crc_failures``, ``truncated``, ``garbage_bytes``,
    ``undecodable``, ``unknown_signals``, ...); ``messages``: message number (str) -> count.
    """

    observations: Observations
    navigation: Navigation
    stations: list[StationItem]
    counts: dict
    messages: dict


def decode_rtcm3(
    data: bytes,
    frames: StreamFrames | None = None,
    *,
    time_hint_ns: int | None = None,
    glonass_channels: dict | None = None,
    source: str = "",
    chunk_frames: int = 20000,
) -> Rtcm3Log:
    """Decode the RTCM 3 frames of a byte string (module docstring).

    ``frames``: a framing of ``data`` (:func:`~satnav.io.framing.frame_stream`; framed here
    when None, RTCM 3 and NMEA only); ``time_hint_ns``: GPST ns within half a week of the
    data; ``glonass_channels``: satellite index -> frequency channel for GLONASS MSM4/6
    messages when the log has neither 1020 ephemerides nor MSM5/7; ``chunk_frames``: frames
    decoded at a time (bounded memory for day-long logs; pieces end where an observation
    message closes its epoch, and the decoding state carries over: the result is the same).
    """
    if frames is None:
        frames = frame_stream(data, ubx=False)
    counts = dict(frames.counts)
    buf = padded(data)
    ref = time_hint_ns if time_hint_ns is not None else reference_from_ephemerides(buf, frames)
    state = _State(ref_ns=reference_or_now(ref, frames, source))
    # channels from every 1020 of the log first (MSM4/6 earlier in the log need them too)
    state.channels.update(glonass_channels_1020(buf, frames))
    pd = PieceDecoder(state, counts, glonass_channels=glonass_channels, source=source)
    pieces = [pd.decode(data, part, buf=buf) for part in _frame_pieces(buf, frames, chunk_frames)]
    obs = pieces[0][0] if len(pieces) == 1 else concat_observations(pieces, source)
    nav = pd.navigation()
    stations = pd.stations
    types, n = np.unique(frames.rtcm_type, return_counts=True)
    messages = {str(t): int(c) for t, c in zip(types.tolist(), n.tolist())}
    known = set(MSM_TYPES) | set(LEGACY_TYPES) | set(EPHEMERIS_TYPES) | set(STATION_TYPES) | {1230}
    counts["unknown_messages"] = int(
        sum(c for t, c in zip(types.tolist(), n.tolist()) if t not in known)
    )
    return Rtcm3Log(obs, nav, [st for _, st in stations], counts, messages)


class PieceDecoder:
    """Decodes the pieces of one log in stream order (:func:`decode_rtcm3`, and
    :mod:`satnav.io.rawlog_convert` reading a log piece by piece): the decoding state, station
    data, GLONASS biases and ephemerides carry over from piece to piece.

    ``state`` holds the reference time and the GLONASS channels known before the first piece
    (from the whole log's ephemerides and 1020 messages); the leap seconds of the headers are
    those of that reference time.
    """

    def __init__(self, state: _State, counts: dict, *, glonass_channels: dict | None = None, source: str = ""):
        self.state = state
        self.counts = counts
        self.glonass_channels = glonass_channels
        self.source = source
        self.leap = int(leap_seconds_at_gpst(state.ref_ns))
        self.stations: list = []
        self.biases: dict = {}
        self.nav_parts: list = []

    def decode(self, data: bytes, frames: StreamFrames, buf: np.ndarray | None = None) -> tuple[Observations, np.ndarray]:
        """(observations, epochs) of the frames ``frames`` of ``data`` (a piece that ends with
        an epoch); the observations' header is :meth:`header` as it stands after the piece."""
        chunk = _decode_chunk(data, frames, self.state, self.counts, self.glonass_channels, buf=buf)
        self.stations.extend(chunk.stations)
        self.biases.update(chunk.biases)
        self.nav_parts.extend(chunk.nav)
        # epochs of the observation messages with data (MSM1-3 alone write nothing)
        full = ~np.isin(frames.rtcm_type[chunk.msg_frame], _COMPACT_MSM)
        epochs = np.unique(chunk.msg_time[full])
        obs = observations_from_measurements(
            chunk.cell_time, chunk.sat, chunk.signal, SIGNAL_LIST, chunk.values, chunk.lli, header=self.header(),
            source=self.source, present=chunk.present, priority=chunk.priority, epochs=epochs, keep_last=True,
        )  # fmt: skip
        return obs, epochs

    def header(self) -> ObsHeader:
        """The observation header of the pieces decoded so far (station data, GLONASS slots and
        biases; observation types are set by the caller)."""
        return _obs_header(self.stations, self.biases, self.state.channels, self.leap)

    def navigation(self) -> Navigation:
        """The ephemerides of the pieces decoded so far."""
        return navigation_of(self.nav_parts, self.leap, self.source)


def read_rtcm3(
    path: str | PathLike, *, time_hint_ns: int | None = None, glonass_channels: dict | None = None
) -> Rtcm3Log:
    """Decode an RTCM 3 log file (plain or ``.gz``; UBX and NMEA interleaved are skipped)."""
    data = read_log_bytes(path)
    return decode_rtcm3(
        data,
        frame_stream(data),
        time_hint_ns=time_hint_ns,
        glonass_channels=glonass_channels,
        source=str(path),
    )


def is_rtcm3(head: bytes) -> bool:
    """Whether a stream looks like an RTCM 3 log (:func:`satnav.io.rawlog.log_protocol` of its
    first 64 KB is ``"rtcm3"``)."""
    return log_protocol(head) == "rtcm3"


def is_rtcm3_file(path: str | PathLike) -> bool:
    """Whether a file (plain or gzip-compressed) is an RTCM 3 log (:func:`is_rtcm3`)."""
    head = read_head_bytes(path)
    return head is not None and is_rtcm3(head)


def rtcm3_info(path: str | PathLike) -> dict:
    """JSON-ready summary of an RTCM 3 log (for ``satnav info``)."""
    from ._raw_obs import raw_log_info

    log = read_rtcm3(path)
    station = next((s for s in log.stations if s.position_m is not None), None)
    return raw_log_info("rtcm3", log.observations, log.navigation, log.messages, log.counts,
                        station_position_m=station.position_m.tolist() if station is not None else None)


# ============================================================================ live streams
class Rtcm3Decoder:
    """Incremental RTCM 3 decoder (:class:`~satnav.io.stream_items.StreamDecoder`).

    Parameters
    ----------
    time_hint_ns : int, optional
        GPST ns near the stream's time (default: now, as for a live stream).
    glonass_channels : dict, optional
        GLONASS satellite index -> channel, for MSM4/6 before a 1020 arrives.
    source : str
        Name of the stream (kept in the observations).
    """

    protocol = "rtcm3"

    def __init__(
        self, *, time_hint_ns: int | None = None, glonass_channels: dict | None = None, source: str = ""
    ):
        self.source = source
        self._buffer = b""
        self._offset = 0  # stream offset of the buffer's first byte
        self._state = _State(ref_ns=time_hint_ns)
        self._channels = dict(glonass_channels or {})
        self._pending: list = []  # (chunk, first cell, stop): cells of the epoch not yet complete
        self._pending_time: int | None = None
        self._stations: list = []
        self._biases: dict = {}
        self.counts: dict = {}
        #: whole epochs of MSM4-7 decoded with a plan of their layout (None: the general path only)
        self._live: LiveEpochs | None = LiveEpochs(_obs_header, now_gpst_ns)
        self._held: tuple | None = None  # (data, starts, lengths, types) of an open epoch's frames

    def feed(self, data: bytes) -> list[StreamItem]:
        """Consume the next bytes; return the items they complete, in stream order."""
        self._buffer += bytes(data)
        frames = frame_stream(self._buffer, ubx=False, nmea=False, final=False)
        clean = not any(frames.counts.get(k) for k in _PROBLEMS)
        if self._live is not None and clean and len(frames.rtcm_start):
            whole, rest = self._buffer[: frames.consumed], self._buffer[frames.consumed :]
            self._buffer = b""
            items = self._frames(whole, frames.rtcm_start.tolist(), frames.rtcm_length.tolist(),
                                 frames.rtcm_type.tolist())
            self._buffer = rest
            return items
        if clean and not frames.consumed:
            return self._consume(frames)  # nothing complete yet: held frames stay held
        return self._release_held() + self._consume(frames)

    def feed_frames(self, data: bytes, starts: list[int], lengths: list[int], types: list[int]) -> list[StreamItem]:
        """As :meth:`feed` for bytes that are whole RTCM 3 frames already checked (a framer's
        output: ``starts``, payload ``lengths`` and message ``types`` of each): not framed again."""
        if self._buffer:  # bytes of an earlier feed wait: frame them with these
            return self.feed(data)
        return self._frames(bytes(data), starts, lengths, types)

    def _frames(self, data: bytes, starts: list[int], lengths: list[int], types: list[int]) -> list[StreamItem]:
        """Whole checked frames (the buffer empty): a last run of MSM4-7 frames that is one
        epoch on the fast path (:mod:`satnav.io.rtcm3_live`), the frames before it (station
        data, ephemerides: a base sends them with an epoch) and anything else on the general
        path -- the same items as the general path of all of them (frames split anywhere
        decode the same). MSM4-7 frames that end the read with their epoch still open (a
        receiver sending message by message) are held, undecoded, and put before the frames
        of the next read (or decoded by :meth:`flush`)."""
        if self._held is not None and all(t in MSM_TYPES for t in types):  # the open epoch goes on
            held, self._held = self._held, None
            n = len(held[0])
            data, starts = held[0] + data, held[1] + [s + n for s in starts]
            lengths, types = held[2] + lengths, held[3] + types
        elif self._held is not None:  # other frames: the held ones decoded first, on their own
            return self._release_held() + self._frames(data, starts, lengths, types)
        first = len(types)
        while first and types[first - 1] in MSM_TYPES:
            first -= 1
        if self._live is None or first == len(types):
            return self._general(data, starts, lengths, types)
        if not first:
            items = []
        elif all(t in STATION_TYPES for t in types[:first]):
            items = self._station_frames(data[: starts[first]], starts[:first], lengths[:first], types[:first])
        else:
            items = self._general(data[: starts[first]], starts[:first], lengths[:first], types[:first])
        if first:
            s0 = starts[first]
            data, starts = data[s0:], [s - s0 for s in starts[first:]]
            lengths, types = lengths[first:], types[first:]
        p = starts[-1] + 3
        if (self._pending_time is None and len(types) < LIVE_MESSAGES and lengths[-1] >= 7
                and (data[p + 6] >> 1) & 1 and all(MSM_TYPES[t][1] >= 4 for t in types)):
            self._held = (data, starts, lengths, types)  # the multiple-message bit set: more to come
            return items
        item = self._live.decode(self, data, starts, lengths, types)
        if item is None:
            return items + self._general(data, starts, lengths, types)
        self.counts["rtcm3"] = self.counts.get("rtcm3", 0) + len(starts)
        self._offset += len(data)
        items.append(item)
        return items

    def _release_held(self) -> list[StreamItem]:
        """The held frames (:meth:`_frames`) on the general path."""
        if self._held is None:
            return []
        held, self._held = self._held, None
        buffer, self._buffer = self._buffer, b""
        items = self._general(*held)
        self._buffer = buffer
        return items

    def _station_frames(self, data: bytes, starts: list[int], lengths: list[int], types: list[int]) -> list:
        """:meth:`_general` of station messages only (1005-1008, 1033): their items and the same
        state after them, without the observation steps."""
        if self._state.ref_ns is None:  # (as _decode_chunk: the reference time fixed now)
            self._state.ref_ns = now_gpst_ns()
        self.counts["rtcm3"] = self.counts.get("rtcm3", 0) + len(starts)
        self._offset += len(data)
        items = []
        for fi, st in station_items_of(data, starts, lengths, types, list(range(len(types)))):
            self._stations.append((fi, st))
            items.append(StationItem(**st.__dict__))
        return items

    def _general(self, data: bytes, starts: list[int], lengths: list[int], types: list[int]) -> list[StreamItem]:
        """:meth:`_consume` of whole checked frames (the buffer empty)."""
        self._buffer = data
        counts = {"rtcm3": len(starts)}  # no problems: the framer counted them
        e = np.zeros(0, np.int64)
        frames = StreamFrames(e, e.astype(np.uint8), e.astype(np.uint8), e, np.array(starts, np.int64),
                              np.array(lengths, np.int64), np.array(types, np.int64), [], counts, len(data))
        return self._consume(frames)

    def flush(self) -> list[StreamItem]:
        """End of stream: the last epoch (even without its closing message) and the problems of
        the bytes left."""
        items = self._release_held()
        frames = frame_stream(self._buffer, ubx=False, nmea=False, final=True)
        items += self._consume(frames)
        if self._pending_time is not None:
            items.extend(self._emit_pending())
        return items

    # ------------------------------------------------------------------ internals
    def _consume(self, frames: StreamFrames) -> list[StreamItem]:
        data = self._buffer[: frames.consumed]
        items: list[tuple[int, int, StreamItem]] = []
        for key in _PROBLEMS:
            if frames.counts.get(key):
                self.counts[key] = self.counts.get(key, 0) + frames.counts[key]
                kind = "crc" if key == "rtcm3_crc_failures" else "garbage"
                items.append(
                    (
                        0,
                        0,
                        ProblemItem(
                            kind,
                            self._offset,
                            f"{frames.counts[key]} {key.replace('_', ' ')}",
                            {key: frames.counts[key]},
                        ),
                    )
                )
        self.counts["rtcm3"] = self.counts.get("rtcm3", 0) + frames.counts.get("rtcm3", 0)
        if len(frames.rtcm_start):
            chunk = _decode_chunk(data, frames, self._state, self.counts, self._channels)
            offset = self._offset
            for fis, letter, recs in chunk.nav:
                for fi, k in zip(fis.tolist(), range(len(recs))):
                    nav = Navigation()
                    nav.add_messages(letter, recs[k : k + 1])
                    items.append((int(frames.rtcm_start[fi]), 1, NavigationItem(nav, self.protocol)))
            for fi, st in chunk.stations:
                self._stations.append((fi, st))
                items.append((int(frames.rtcm_start[fi]), 1, StationItem(**st.__dict__)))
            self._biases.update(chunk.biases)
            items.extend(self._epochs(chunk, frames))
            unknown = [fi for fi, t in enumerate(frames.rtcm_type.tolist()) if t not in _KNOWN_TYPES]
            for fi in unknown:
                self.counts["unknown_messages"] = self.counts.get("unknown_messages", 0) + 1
                items.append(
                    (
                        int(frames.rtcm_start[fi]),
                        1,
                        ProblemItem(
                            "unknown",
                            offset + int(frames.rtcm_start[fi]),
                            f"RTCM 3 message {int(frames.rtcm_type[fi])} not decoded",
                        ),
                    )
                )
        self._buffer = self._buffer[frames.consumed :]
        self._offset += frames.consumed
        items.sort(key=lambda x: (x[0], x[1]))
        return [it for _, _, it in items]

    def _epochs(self, chunk: _Chunk, frames: StreamFrames) -> list:
        out = []
        # split the chunk by message time, in stream order; the cells of a message are a
        # contiguous run (cells in message order, messages in frame order)
        times = chunk.msg_time.tolist()
        msg_frame = chunk.msg_frame.tolist()
        sync = chunk.msg_sync.tolist()
        lo = np.searchsorted(chunk.cell_frame, chunk.msg_frame, side="left").tolist()
        hi = np.searchsorted(chunk.cell_frame, chunk.msg_frame, side="right").tolist()
        for k, t in enumerate(times):
            if self._pending_time is not None and t != self._pending_time:
                out.extend((int(frames.rtcm_start[msg_frame[k]]), 0, it) for it in self._emit_pending())
            if self._pending_time is None:
                self._pending_time = t
            last = self._pending[-1] if self._pending else None
            if last is not None and last[0] is chunk and last[2] == lo[k]:
                self._pending[-1] = (chunk, last[1], hi[k])  # the next message of the same chunk
            else:
                self._pending.append((chunk, lo[k], hi[k]))
            if sync[k] == 0:
                out.extend((int(frames.rtcm_start[msg_frame[k]]), 2, it) for it in self._emit_pending())
        return out

    def _emit_pending(self) -> list[StreamItem]:
        if self._pending_time is None:
            return []
        parts = self._pending
        t = self._pending_time
        self._pending, self._pending_time = [], None
        header = _obs_header(
            self._stations, self._biases, self._state.channels, int(leap_seconds_at_gpst(t))
        )
        names = ("cell_time", "sat", "signal", "values", "lli", "present", "priority")
        if len(parts) == 1:
            chunk, a, b = parts[0]
            cat = {name: getattr(chunk, name)[a:b] for name in names}
        else:
            cat = {name: np.concatenate([getattr(c, name)[a:b] for c, a, b in parts]) for name in names}
        obs = observations_from_measurements(
            cat["cell_time"],
            cat["sat"],
            cat["signal"],
            SIGNAL_LIST,
            cat["values"],
            cat["lli"],
            header=header,
            present=cat["present"],
            priority=cat["priority"],
            epochs=np.array([t]),
            keep_last=True,
            source=self.source,
        )
        return [EpochItem(obs, self.protocol)]


#: Longest frame held while incomplete (a UBX frame: 16-bit length).
MAX_HELD = 65535 + 8


class MixedStreamDecoder:
    """Incremental decoder of a stream mixing UBX, RTCM 3 and NMEA (a u-blox base sends all
    three on one port), a :class:`~satnav.io.stream_items.StreamDecoder`.

    The stream is framed with :func:`satnav.io.framing.frame_stream` (UBX checksums and RTCM 3
    CRCs checked, nothing fatal); complete RTCM 3 frames go to an :class:`Rtcm3Decoder`, UBX
    frames to a :class:`satnav.io.ubx_stream.UbxDecoder`, NMEA sentences are counted;
    checksum/CRC failures and garbage become :class:`~satnav.io.stream_items.ProblemItem`
    (pyubx2 alone stops at the first parse error of such a log). ``counts`` accumulates the
    framing counts (``ubx``, ``rtcm3``, ``nmea``, ``ubx_checksum_failures``,
    ``rtcm3_crc_failures``, ``garbage_bytes``, ...).
    """

    protocol = "mixed"

    def __init__(self, *, source: str = "", time_hint_ns: int | None = None) -> None:
        self.source = source
        from .ubx_stream import UbxDecoder

        self.rtcm3 = Rtcm3Decoder(time_hint_ns=time_hint_ns, source=source)
        self.ubx = UbxDecoder(source=source)
        self._buffer = b""
        self._offset = 0
        self.counts: dict = {}

    def feed(self, data: bytes) -> list[StreamItem]:
        """Consume the next bytes; return the items they complete."""
        self._buffer += bytes(data)
        return self._consume(final=False)

    def flush(self) -> list[StreamItem]:
        """End of stream: what the protocol decoders still hold, and the bytes left."""
        items = self._consume(final=True)
        return items + self.rtcm3.flush() + self.ubx.flush()

    def _consume(self, final: bool) -> list[StreamItem]:
        fr = frame_stream(self._buffer, final=final)
        if not final and fr.consumed == 0 and len(self._buffer) > MAX_HELD:
            fr = frame_stream(self._buffer, final=True)  # nothing can complete: decide now
        if fr.consumed and not len(fr.ubx_start) and not fr.nmea:
            lengths = fr.rtcm_length.tolist()
            if len(lengths) * 6 + sum(lengths) == fr.consumed:  # RTCM 3 frames end to end (a live epoch): as they are
                for key, value in fr.counts.items():
                    self.counts[key] = self.counts.get(key, 0) + value
                buf, self._buffer = self._buffer, self._buffer[fr.consumed :]
                self._offset += fr.consumed
                return self.rtcm3.feed_frames(buf[: fr.consumed], fr.rtcm_start.tolist(), lengths,
                                              fr.rtcm_type.tolist())
        items: list[StreamItem] = []
        for key, value in fr.counts.items():
            self.counts[key] = self.counts.get(key, 0) + value
        problems = {k: fr.counts[k] for k in ("ubx_checksum_failures", "rtcm3_crc_failures", "nmea_checksum_failures",
                                               "truncated", "garbage_bytes") if fr.counts.get(k)}  # fmt: skip
        if problems:
            kind = "crc" if any("failures" in k for k in problems) else "garbage"
            text = ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in problems.items())
            items.append(ProblemItem(kind, self._offset, text, problems))
        buf = self._buffer
        r_start, r_len = fr.rtcm_start.tolist(), fr.rtcm_length.tolist()
        rtcm = b"".join(buf[s : s + n + 6] for s, n in zip(r_start, r_len))
        ubx = b"".join(
            buf[s : s + n + 8] for s, n in zip(fr.ubx_start.tolist(), fr.ubx_length.tolist())
        )
        if rtcm:  # checked frames: their places in the joined bytes, not framed again
            starts = np.cumsum([0] + [n + 6 for n in r_len[:-1]]).tolist()
            items.extend(self.rtcm3.feed_frames(rtcm, starts, r_len, fr.rtcm_type.tolist()))
        if ubx:
            items.extend(self.ubx.feed(ubx))
        self._buffer = buf[fr.consumed :]
        self._offset += fr.consumed
        return items
