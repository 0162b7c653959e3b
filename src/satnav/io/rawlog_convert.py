"""Raw receiver logs (u-blox UBX, RTCM 3) to RINEX observation and navigation files, piece by
piece: memory bounded by a piece, whatever the length of the log.

:func:`convert_raw_log` is what ``satnav convert LOG -o OUT [--nav NAV]`` runs. Three steps:

1. **Framing** (:func:`frame_log`): the log (plain or gzip) is read in pieces of
   :data:`PIECE_BYTES`, each framed by :func:`satnav.io.framing.frame_stream` with the bytes
   that may still become a frame carried to the next piece; the frames' offsets in the log
   are kept (24 bytes a frame), the bytes are not. For RTCM 3 the same pass gathers what the
   decoding of any piece needs from the whole log, as :func:`satnav.io.rtcm3.decode_rtcm3`
   takes it: the ephemerides' reference time, the GLONASS channels of every 1020 message and
   where the epochs close.
2. **Decoding** in pieces read again from the log in order: UBX RXM-RAWX in pieces of
   :data:`satnav.io.ubx.RAWX_CHUNK` messages with the :data:`~satnav.io.ubx.RAWX_LEAD_IN`
   messages before each (the pieces of :func:`satnav.io.ubx.decode_rawx_chunked`; RXM-SFRBX
   subframes are gathered and decoded at the end); RTCM 3 in pieces of about
   :data:`RTCM_PIECE_FRAMES` frames ending with an epoch, the decoding state carried over
   (:class:`satnav.io.rtcm3.PieceDecoder`).
3. **Writing**: each piece's epochs are formatted as RINEX records at once
   (:class:`satnav.io.rinex_obs_writer.RinexObsPieceWriter`) with the observation types of
   the first piece with data; the header, which depends on the whole log (last epoch, station data,
   GLONASS slots, leap seconds), is written at the end before the records. A piece is
   written once the next one is decoded, up to the next one's first epoch: later epochs (one
   split by the piece boundary, as when legacy RTCM messages clear the multiple-message bit
   mid-epoch, or late time tags) are joined with the next piece. Should a later piece bring
   an observation type the first ones lacked (a signal first tracked hours into the log),
   the records written so far are laid out again with the wider types (blank fields added
   at the new types' columns: :meth:`~satnav.io.rinex_obs_writer.RinexObsPieceWriter.widen`);
   should a piece hold
   epochs earlier than those written (a log out of time order), the log is
   converted whole in memory as :func:`satnav.io.ubx.read_ubx` /
   :func:`satnav.io.rtcm3.read_rtcm3` and :func:`satnav.io.rinex_obs_writer.write_rinex_obs`
   do. Either way the file is byte for byte the one those write (tested).
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass, field
from os import PathLike

import numpy as np

from ..errors import SatnavError
from ..gnss_time import NS_PER_S, NS_PER_WEEK
from ..navigation import Navigation
from ..observations import Observations
from ..satellites import SYSTEMS
from ._bits import padded
from ._raw_obs import OBS_TYPES, concat_observations, conversion_comments
from .framing import StreamFrames, frame_stream

__all__ = ["convert_raw_log", "frame_log", "RawConversion", "PIECE_BYTES", "RTCM_PIECE_FRAMES"]

#: Bytes of the log read and framed at a time.
PIECE_BYTES = 16 * 1024 * 1024
#: RTCM 3 frames decoded at a time (about 20 minutes of a 1 Hz six-system MSM7 stream; the
#: decoding's temporaries stay near 200 MB).
RTCM_PIECE_FRAMES = 8000
_FRAME_KEYS = ("ubx_start", "ubx_cls", "ubx_id", "ubx_length", "rtcm_start", "rtcm_length", "rtcm_type")


@dataclass
class RawConversion:
    """What :func:`convert_raw_log` wrote: epochs, satellites (ids), observations (values),
    the navigation messages (when asked for), whether the log was converted piece by piece
    (``streamed``; False: converted whole, see the module docstring) and how many times the
    records written were laid out again for new observation types (``widenings``)."""

    epochs: int
    satellites: list[str]
    observations: int
    navigation: Navigation | None = None
    streamed: bool = True
    widenings: int = 0


def _open_log(path: str | PathLike):
    """A binary file object of the log's bytes (decompressed when gzip)."""
    with open(path, "rb") as fh:
        magic = fh.read(2)
    return gzip.open(path, "rb") if magic == b"\x1f\x8b" else open(path, "rb")


class _Ranges:
    """Reads byte ranges of a log in increasing order (a gzip log is decompressed once)."""

    def __init__(self, path: str | PathLike):
        self._fh = _open_log(path)
        self._pos = 0

    def read(self, lo: int, hi: int) -> bytes:
        if lo != self._pos:
            self._fh.seek(lo)
        data = self._fh.read(max(0, hi - lo))
        self._pos = lo + len(data)
        if len(data) != hi - lo:
            raise SatnavError(f"{getattr(self._fh, 'name', 'log')}: changed while being converted")
        return data

    def close(self) -> None:
        self._fh.close()


def frame_log(path: str | PathLike, *, on_piece=None, piece_bytes: int = PIECE_BYTES) -> StreamFrames:
    """The frames of a whole log file read in pieces (module docstring, step 1), offsets in
    the (decompressed) log; ``counts`` summed over the pieces; no NMEA sentence list.

    ``on_piece(buf, frames)``, when given, is called for every piece with its bytes (padded,
    :func:`satnav.io._bits.padded`) and its frames (offsets into the piece), in log order.
    """
    cols: dict[str, list] = {k: [] for k in _FRAME_KEYS}
    counts: dict = {}
    tail = b""
    offset = 0  # log offset of tail[0]
    try:
        fh = _open_log(path)
    except OSError as exc:
        raise SatnavError(f"{path}: cannot read ({exc.strerror or exc})") from None
    with fh:
        while True:
            try:
                new = fh.read(piece_bytes)
            except (OSError, EOFError) as exc:
                raise SatnavError(f"{path}: damaged gzip file ({exc})") from None
            final = not new
            buf = tail + new
            if not buf:
                break
            fr = frame_stream(buf, final=final)
            if not final and fr.consumed == 0 and len(buf) > 4 * piece_bytes:
                fr = frame_stream(buf, final=True)  # nothing decided in a long stretch: decide it
            for k, v in fr.counts.items():
                counts[k] = counts.get(k, 0) + v
            if on_piece is not None and (len(fr.rtcm_start) or len(fr.ubx_start)):
                on_piece(padded(buf[: fr.consumed]), fr)
            for k in _FRAME_KEYS:
                v = getattr(fr, k)
                cols[k].append(v + offset if k.endswith("_start") else v)
            tail = buf[fr.consumed :]
            offset += fr.consumed
            if final:
                break
    cat = {k: (np.concatenate(v) if v else np.zeros(0, np.int64)) for k, v in cols.items()}
    return StreamFrames(cat["ubx_start"], cat["ubx_cls"].astype(np.uint8), cat["ubx_id"].astype(np.uint8),
                        cat["ubx_length"], cat["rtcm_start"], cat["rtcm_length"], cat["rtcm_type"], [],
                        counts, offset)  # fmt: skip


# ============================================================================ UBX
def _ubx_parts(path, frames: StreamFrames, out: dict, *, navigation: bool):
    """Observations of the RXM-RAWX pieces of a UBX log in order (module docstring, step 2);
    at the end ``out["header"]`` (the last piece's header) and ``out["navigation"]``."""
    from .ubx import (
        _RAWX_HEADER_DTYPE,
        RAWX_CHUNK,
        RAWX_LEAD_IN,
        SFRBX_COMMENT,
        UbxFrames,
        _rawx_time,
        decode_rawx,
        decode_sfrbx,
    )

    source = str(path)
    is_rawx = (frames.ubx_cls == 0x02) & (frames.ubx_id == 0x15)
    is_sfrbx = (frames.ubx_cls == 0x02) & (frames.ubx_id == 0x13)
    r_start, r_len = frames.ubx_start[is_rawx], frames.ubx_length[is_rawx]
    s_start, s_len = frames.ubx_start[is_sfrbx], frames.ubx_length[is_sfrbx]
    n = len(r_start)
    log_end = int(max(int((r_start + r_len + 8).max(initial=0)), int((s_start + s_len + 8).max(initial=0))))
    if n <= RAWX_CHUNK + RAWX_LEAD_IN:  # decode_rawx_chunked: one piece
        pieces = [(0, n)]
    else:
        pieces = [(lo, min(n, lo + RAWX_CHUNK)) for lo in range(0, n, RAWX_CHUNK)]
    reader = _Ranges(path)
    pos = 0
    lead_frames: list[bytes] = []  # the RAWX frames before the piece (its lead-in)
    trigger = None  # index of the first RAWX with a sigId > 1 (a ninth-generation receiver)
    sf_frames: list[bytes] = []
    sf_times: list[np.ndarray] = []
    last_rx_t = first_rx_t = None  # receiver time of the last and first RAWX read (with a header)
    first_epoch = None
    header = None
    try:
        for lo, hi in pieces:
            end = int(r_start[hi]) if hi < n else log_end
            data = reader.read(pos, end)
            mv = memoryview(data)
            own = [bytes(mv[s : s + k + 8]) for s, k in zip((r_start[lo:hi] - pos).tolist(), r_len[lo:hi].tolist())]
            lead = max(0, lo - RAWX_LEAD_IN) if len(pieces) > 1 else 0
            frames_here = lead_frames[len(lead_frames) - (lo - lead) :] if lo > lead else []
            blob = b"".join(frames_here + own)
            sizes = np.array([len(f) for f in frames_here + own], np.int64)
            starts = np.concatenate(([0], np.cumsum(sizes)[:-1])) if len(sizes) else sizes
            lens = sizes - 8
            if trigger is None:
                k = _first_gen9(blob, starts[len(frames_here) :], lens[len(frames_here) :])
                if k is not None:
                    trigger = lo + k
            sub = UbxFrames(starts, np.full(len(sizes), 0x02, np.uint8), np.full(len(sizes), 0x15, np.uint8), lens)
            limit = 14 if trigger is not None and trigger < lead else None
            obs = decode_rawx(blob, sub, source=source, phase_std_limit=limit)
            if lo > 0:
                keep_from = _rawx_time(blob, int(starts[len(frames_here)]))
                if keep_from is not None:
                    k = int(np.searchsorted(obs.epochs, keep_from))
                    obs = obs.epoch_slice(k, len(obs.epochs))
            header = obs.header
            if len(obs.epochs) and first_epoch is None:
                first_epoch = int(obs.epochs[0])
            yield obs
            lead_frames = (frames_here + own)[-RAWX_LEAD_IN:]
            if navigation:  # the SFRBX frames of this stretch, dated by the RAWX before each
                in_range = (s_start >= pos) & (s_start < end)
                ss, sl = s_start[in_range] - pos, s_len[in_range]
                sf_frames.extend(bytes(mv[s : s + k + 8]) for s, k in zip(ss.tolist(), sl.tolist()))
                rs = r_start - pos
                ok = (rs >= 0) & (rs < len(data)) & (r_len >= 16)
                rs = rs[ok]
                hdr = np.frombuffer(b"".join(mv[s + 6 : s + 22] for s in rs.tolist()), _RAWX_HEADER_DTYPE)
                rt = hdr["week"].astype(np.int64) * NS_PER_WEEK + np.rint(hdr["tow"] * NS_PER_S).astype(np.int64)
                ix = np.searchsorted(rs, ss) - 1
                prev = -1 if last_rx_t is None else last_rx_t
                t = np.where(ix >= 0, rt[np.maximum(ix, 0)] if len(rt) else prev, prev)
                sf_times.append(np.asarray(t, np.int64))
                if len(rt):
                    last_rx_t = int(rt[-1])
                    first_rx_t = int(rt[0]) if first_rx_t is None else first_rx_t
            pos = end
    finally:
        reader.close()
    out["header"] = header
    nav = None
    if navigation:
        blob = b"".join(sf_frames)
        sizes = np.array([len(f) for f in sf_frames], np.int64)
        starts = np.concatenate(([0], np.cumsum(sizes)[:-1])) if len(sizes) else sizes
        sub = UbxFrames(starts, np.full(len(sizes), 0x02, np.uint8), np.full(len(sizes), 0x13, np.uint8), sizes - 8)
        times = np.concatenate(sf_times) if sf_times else np.zeros(0, np.int64)
        if (times < 0).any():  # SFRBX before the first RAWX: dated by the first RAWX
            times = np.where(times < 0, first_rx_t or 0, times)
        hint = int(first_epoch // NS_PER_WEEK) if first_epoch is not None else None
        nav = decode_sfrbx(blob, sub, week_hint=hint, counts={},
                           times_ns=times if first_epoch is not None else None)  # fmt: skip
        nav.sources = [source]
        nav.header.comments.extend(conversion_comments("ubx", source, SFRBX_COMMENT))
        if nav.header.leap_seconds is None and header is not None and header.leap_seconds is not None:
            nav.header.leap_seconds = header.leap_seconds
    out["navigation"] = nav


def _first_gen9(blob: bytes, starts: np.ndarray, lens: np.ndarray) -> int | None:
    """Index (among ``starts``) of the first RXM-RAWX frame with a measurement of sigId > 1."""
    buf = np.frombuffer(blob, np.uint8)
    if not len(starts):
        return None
    ok = lens >= 16
    nmeas = np.where(ok, buf[np.minimum(starts + 17, len(buf) - 1)], 0).astype(np.int64)
    ok &= lens >= 16 + 32 * nmeas
    nmeas = np.where(ok, nmeas, 0)
    msg = np.repeat(np.arange(len(starts)), nmeas)
    first = np.concatenate(([0], np.cumsum(nmeas)[:-1]))
    k = np.arange(len(msg)) - first[msg]
    sig = buf[starts[msg] + 6 + 16 + 32 * k + 22]
    hit = msg[sig > 1]
    return int(hit[0]) if len(hit) else None


# ============================================================================ RTCM 3
@dataclass
class _RtcmWhole:
    """What the decoding of any RTCM 3 piece needs from the whole log (gathered while framing)."""

    ephemeris_times: dict = field(default_factory=dict)
    channels: dict = field(default_factory=dict)
    closes: list = field(default_factory=list)

    def __call__(self, buf: np.ndarray, frames: StreamFrames) -> None:
        from .rtcm3 import ephemeris_times, epoch_closes, glonass_channels_1020

        for k, v in ephemeris_times(buf, frames).items():
            self.ephemeris_times.setdefault(k, []).append(v)
        self.channels.update(glonass_channels_1020(buf, frames))
        self.closes.append(epoch_closes(buf, frames))


def _rtcm_parts(path, frames: StreamFrames, whole: _RtcmWhole, out: dict, *, time_hint_ns: int | None):
    """Observations of the pieces of an RTCM 3 log in order (module docstring, step 2); at the
    end ``out["header"]`` and ``out["navigation"]``."""
    from .rtcm3 import (
        PieceDecoder,
        _State,
        frames_slice,
        piece_bounds,
        reference_of,
        reference_or_now,
    )

    times = {k: np.concatenate(v) for k, v in whole.ephemeris_times.items()}
    ref = time_hint_ns if time_hint_ns is not None else reference_of(times)
    state = _State(ref_ns=reference_or_now(ref, frames, str(path)))
    state.channels.update(whole.channels)
    decoder = PieceDecoder(state, dict(frames.counts), source=str(path))
    n = len(frames.rtcm_type)
    closes = np.concatenate(whole.closes) if whole.closes else np.zeros(0, bool)
    reader = _Ranges(path)
    try:
        for lo, hi in piece_bounds(closes, RTCM_PIECE_FRAMES) if n else []:
            base = int(frames.rtcm_start[lo])
            end = int(frames.rtcm_start[hi - 1] + frames.rtcm_length[hi - 1] + 6)
            data = reader.read(base, end)
            obs, _ = decoder.decode(data, frames_slice(frames, lo, hi, base))
            yield obs
    finally:
        reader.close()
    out["header"] = decoder.header()
    out["navigation"] = decoder.navigation()


# ============================================================================ conversion
class _OutOfOrder(Exception):
    """A piece has epochs not after those written."""


def _code_key(item: tuple[str, str]):
    letter, code = item
    return SYSTEMS.index(letter), code[1:], OBS_TYPES.index(code[0])


def _codes_of(pairs) -> dict[str, list[str]]:
    """Observation types per system in the order the decoders give them."""
    out: dict[str, list[str]] = {}
    for letter, code in sorted(set(pairs), key=_code_key):
        out.setdefault(letter, []).append(code)
    return {s: out[s] for s in SYSTEMS if s in out}


def _pairs(obs: Observations) -> set:
    return {(s, c) for s, codes in obs.header.obs_codes.items() for c in codes}


def nav_version(version: float) -> float:
    """The RINEX navigation version written beside observation version ``version``: 3.05, or
    4.01 (the RINEX 4 navigation records satnav writes) for RINEX 4 observations."""
    return 4.01 if version >= 4 else 3.05


def convert_raw_log(path: str | PathLike, output: str | PathLike, *, protocol: str,
                    nav_output: str | PathLike | None = None, time_hint_ns: int | None = None,
                    version: float = 3.05, jobs: int = 1) -> RawConversion:
    """Convert a UBX (``protocol="ubx"``) or RTCM 3 (``"rtcm3"``) log to a RINEX observation
    file ``output`` (and navigation file ``nav_output``), piece by piece (module docstring).
    ``time_hint_ns``: GPST ns near an RTCM 3 log without ephemerides; ``version``: RINEX
    observation version, 3.05, 4.01 or 4.02 (navigation: :func:`nav_version`); ``jobs`` > 1:
    the records of each piece are formatted by a forked process while the next piece is
    decoded (:class:`~satnav.io.rinex_obs_writer.RinexObsPieceWriter`), the same file."""
    from .rinex_nav_writer import write_rinex_nav
    from .rinex_obs_writer import RinexObsPieceWriter

    if protocol not in ("ubx", "rtcm3"):
        raise ValueError(f"protocol must be 'ubx' or 'rtcm3', got {protocol!r}")
    whole = _RtcmWhole() if protocol == "rtcm3" else None
    frames = frame_log(path, on_piece=whole)
    pairs: set = set()
    codes: dict | None = None  # observation types of the records (fixed by the first piece with data)
    widenings = 0
    out: dict = {}
    if protocol == "ubx":
        parts = _ubx_parts(path, frames, out, navigation=nav_output is not None)
    else:
        parts = _rtcm_parts(path, frames, whole, out, time_hint_ns=time_hint_ns)
    writer = RinexObsPieceWriter(output, version=version, jobs=jobs)
    pending = None  # the last piece, written once the next one shows where its epochs start
    try:
        for obs in parts:
            if not len(obs.epochs):
                continue
            new = _pairs(obs)
            if not new <= pairs:
                pairs |= new
                old, codes = codes, _codes_of(pairs)
                if old is not None and writer.epochs:  # records written with fewer types: laid out again
                    writer.widen(old, codes)
                    widenings += 1
            if pending is None:
                pending = obs
                continue
            t0 = int(obs.epochs[0])
            if writer.last_ns is not None and t0 <= writer.last_ns:
                raise _OutOfOrder
            # epochs of the last piece before the new one's first are complete; later ones
            # (an epoch split by the piece boundary, late time tags) join the new piece
            k = int(np.searchsorted(pending.epochs, t0))
            writer.append(pending.epoch_slice(0, k), codes or {})
            rest = pending.epoch_slice(k, len(pending.epochs))
            pending = concat_observations([(rest, rest.epochs), (obs, obs.epochs)], str(path)) if len(rest.epochs) else obs
        if pending is not None:
            writer.append(pending, codes or {})
    except _OutOfOrder:
        writer.discard()
        parts.close()
        return _convert_whole(path, output, protocol=protocol, nav_output=nav_output, time_hint_ns=time_hint_ns,
                              version=version)
    except BaseException:
        writer.discard()
        raise
    header = out["header"]
    if header is not None and codes:
        header.obs_codes = dict(codes)
    stats = writer.close(header, codes, source=str(path))
    nav = out.get("navigation")
    if nav_output is not None:
        write_rinex_nav(nav, nav_output, version=nav_version(version))
    return RawConversion(stats["epochs"], stats["satellites"], stats["observations"], nav, True, widenings)


def _convert_whole(path, output, *, protocol: str, nav_output, time_hint_ns, version: float) -> RawConversion:
    """The log decoded whole in memory and written at once (a log out of time order)."""
    from .rinex_nav_writer import write_rinex_nav
    from .rinex_obs_writer import write_rinex_obs

    if protocol == "ubx":
        from .ubx import read_ubx

        log = read_ubx(path, navigation=nav_output is not None)
    else:
        from .rtcm3 import read_rtcm3

        log = read_rtcm3(path, time_hint_ns=time_hint_ns)
    obs = log.observations
    write_rinex_obs(obs, output, version=version)
    if nav_output is not None:
        write_rinex_nav(log.navigation, nav_output, version=nav_version(version))
    return RawConversion(len(obs.epochs), list(obs.satellites), len(obs), log.navigation, False, 0)
