"""Framing of receiver byte streams: UBX, RTCM 3 and NMEA 0183, interleaved with garbage.

Sources: u-blox ZED-F9P Interface Description (UBX-18010854) 3.2 (frame: ``0xB5 0x62``,
class, id, little-endian length, payload, 8-bit Fletcher checksum over class..payload,
3.4); RTCM 10403.3 section 4 (frame: preamble ``0xD3``, 6 reserved zero bits, 10-bit
length, payload, CRC-24Q over preamble..payload, 4.2); NMEA 0183 4.11 (``$`` sentence
``*hh`` XOR checksum, CR LF).

A byte stream may interleave the three protocols and garbage (a receiver restarting,
another program's output, bytes lost on a serial line). :func:`frame_stream` finds every
frame at once with NumPy: each UBX sync pair is checked (length in the buffer, Fletcher
checksum from two prefix sums mod 256), each RTCM 3 preamble is checked (CRC-24Q of all
candidates together, one byte position at a time over the candidates still that long:
the work is the size of the frames, not a Python loop per byte). Valid frames of both
protocols are then kept greedily in stream order (a candidate inside an accepted frame is
payload); the bytes between frames are searched for NMEA sentences; what is left is
garbage. Nothing stops the framer: checksum and CRC failures, truncated frames and
garbage are counted in :attr:`StreamFrames.counts`.

For live use (``final=False``) the bytes at the end that may still become a frame (a
candidate cut by the end of the buffer, an unterminated sentence, a lone sync byte) are
left undecided: :attr:`StreamFrames.consumed` says where they start, and nothing after it
is counted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

__all__ = ["StreamFrames", "frame_stream", "crc24q", "crc24q_short", "crc24q_spans", "crc24q_frames",
           "RTCM3_MAX_PAYLOAD", "use_compiled_framing"]

#: Largest RTCM 3 payload (10-bit length field).
RTCM3_MAX_PAYLOAD = 1023
_COUNT_KEYS = ("ubx", "nmea", "rtcm3", "ubx_checksum_failures", "nmea_checksum_failures",
               "rtcm3_crc_failures", "truncated", "garbage_bytes")  # fmt: skip


def _crc24q_table() -> np.ndarray:
    """CRC-24Q (polynomial 0x1864CFB) byte table."""
    table = np.zeros(256, np.int64)
    for i in range(256):
        c = i << 16
        for _ in range(8):
            c <<= 1
            if c & 0x1000000:
                c ^= 0x1864CFB
        table[i] = c & 0xFFFFFF
    return table


_TABLE = _crc24q_table()
_TABLE_LIST = _TABLE.tolist()


def crc24q(data: bytes) -> int:
    """CRC-24Q (RTCM 10403.3 4.2; Galileo OS SIS ICD 4.3.4.4) of ``data``."""
    crc = 0
    table = _TABLE_LIST
    for b in data:
        crc = ((crc << 8) & 0xFFFFFF) ^ table[(crc >> 16) ^ b]
    return crc


_BY_DISTANCE: np.ndarray | None = None  # flat (distance from the end, byte) -> CRC term
_ROWS = np.arange(RTCM3_MAX_PAYLOAD + 6, dtype=np.int64) * 256


def _crc_terms() -> np.ndarray:
    """CRC-24Q is linear: the CRC of a message is the XOR over its bytes of the CRC of that
    byte followed by as many zero bytes as follow it. Table of those terms for every byte
    value and distance up to a whole RTCM 3 frame, rows in order of decreasing distance
    (built on first use: 12 ms, 1 MB)."""
    global _BY_DISTANCE
    if _BY_DISTANCE is None:
        n = len(_ROWS)
        terms = np.zeros((n, 256), np.int64)
        terms[0] = _TABLE
        for k in range(1, n):
            c = terms[k - 1]
            terms[k] = ((c << 8) & 0xFFFFFF) ^ _TABLE[c >> 16]
        _BY_DISTANCE = terms[::-1].astype(np.uint32).ravel()
    return _BY_DISTANCE


def crc24q_short(data: bytes) -> int:
    """CRC-24Q of at most ``RTCM3_MAX_PAYLOAD + 6`` bytes (one frame) with a few NumPy calls
    (the same value as :func:`crc24q`, which loops over the bytes in Python)."""
    n = len(data)
    if n < 16:
        return crc24q(data)
    terms = _crc_terms()
    return int(np.bitwise_xor.reduce(terms[_ROWS[len(_ROWS) - n :] + np.frombuffer(data, np.uint8)]))


def crc24q_spans(data: bytes, starts: list[int], lengths: list[int]) -> list[int]:
    """CRC-24Q of ``data[s : s + n]`` for a few (start, length) pairs of at most
    ``RTCM3_MAX_PAYLOAD + 6`` bytes each (the frames of a live read), with a fixed number of
    NumPy calls for them all (:func:`crc24q_short`'s terms, XOR-reduced per span)."""
    terms = _crc_terms()
    buf = np.frombuffer(data, np.uint8)
    top = len(_ROWS)
    rows = np.concatenate([_ROWS[top - n :] for n in lengths])
    vals = terms[rows + np.concatenate([buf[s : s + n] for s, n in zip(starts, lengths)])]
    offsets = [0]
    for n in lengths[:-1]:
        offsets.append(offsets[-1] + n)
    return np.bitwise_xor.reduceat(vals, offsets).tolist()


def crc24q_frames(buf: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """CRC-24Q of ``buf[s : s + n]`` for every (start, length) pair, int64.

    All frames advance together, one byte position per step, over the frames still that
    long (sorted longest first, so they are a prefix): NumPy work proportional to the bytes
    covered, ``max(lengths)`` steps.
    """
    starts = np.asarray(starts, np.int64)
    lengths = np.asarray(lengths, np.int64)
    if len(starts) <= 8:  # a few frames (a live stream): the byte loop beats NumPy's call overhead
        raw = buf.tobytes() if len(buf) < 1 << 16 else None
        out = np.zeros(len(starts), np.int64)
        for i, (s, n) in enumerate(zip(starts.tolist(), lengths.tolist())):
            out[i] = crc24q(raw[s : s + n] if raw is not None else buf[s : s + n].tobytes())
        return out
    order = np.argsort(-lengths, kind="stable")
    s, n = starts[order], lengths[order]
    crc = np.zeros(len(s), np.int64)
    if len(s) == 0:
        return crc
    # number of frames longer than j, for every j: frames are sorted longest first
    active = np.searchsorted(-n, -np.arange(int(n[0])), side="left")
    for j in range(int(n[0])):
        k = int(active[j])
        c = crc[:k]
        crc[:k] = ((c << 8) & 0xFFFFFF) ^ _TABLE[(c >> 16) ^ buf[s[:k] + j]]
    out = np.empty_like(crc)
    out[order] = crc
    return out


@dataclass
class StreamFrames:
    """Where the frames of a byte stream are.

    Attributes
    ----------
    ubx_start, ubx_length : ndarray int64
        Offset of each UBX message (its ``0xB5`` byte) and its payload length (the payload
        starts at ``start + 6``), in stream order.
    ubx_cls, ubx_id : ndarray uint8
        UBX class and id.
    rtcm_start, rtcm_length : ndarray int64
        Offset of each RTCM 3 frame (its ``0xD3`` byte) and its payload length (payload at
        ``start + 3``).
    rtcm_type : ndarray int64
        RTCM 3 message number (first 12 payload bits; -1 for an empty payload).
    nmea : list of (int, int)
        (start, end) of each NMEA sentence with a valid checksum.
    counts : dict
        ``ubx``, ``rtcm3``, ``nmea`` frames; ``ubx_checksum_failures``,
        ``rtcm3_crc_failures``, ``nmea_checksum_failures``; ``truncated`` (a candidate cut
        by the end of the stream); ``garbage_bytes`` (bytes in no frame).
    consumed : int
        Bytes decided (the whole buffer when ``final``).
    """

    ubx_start: np.ndarray
    ubx_cls: np.ndarray
    ubx_id: np.ndarray
    ubx_length: np.ndarray
    rtcm_start: np.ndarray
    rtcm_length: np.ndarray
    rtcm_type: np.ndarray
    nmea: list = field(default_factory=list)
    counts: dict = field(default_factory=dict)
    consumed: int = 0


_NMEA = re.compile(rb"\$([A-Z][A-Z0-9]{1,5},[\x20-\x7e]*?)\*([0-9A-Fa-f]{2})\r?\n")


def _ubx_candidates(buf: np.ndarray):
    """UBX candidates: (start, payload length, end, checksum ok, fits in the buffer)."""
    n = len(buf)
    cand = np.flatnonzero((buf[:-1] == 0xB5) & (buf[1:] == 0x62)).astype(np.int64)
    cand = cand[cand + 8 <= n]
    length = buf[cand + 4].astype(np.int64) | (buf[cand + 5].astype(np.int64) << 8)
    end = cand + 8 + length
    fits = end <= n
    ok = np.zeros(len(cand), bool)
    if fits.any():
        # Fletcher-8 over [s+2, e-2) from prefix sums mod 256 (uint8 arithmetic wraps):
        # ck_a = sum b_i, ck_b = sum (e-2-i) b_i = (e-2) ck_a - sum i b_i
        prefix_a = np.zeros(n + 1, np.uint8)
        np.cumsum(buf, dtype=np.uint8, out=prefix_a[1:])
        weights = np.resize(np.arange(256, dtype=np.uint8), n)
        prefix_w = np.zeros(n + 1, np.uint8)
        np.cumsum(weights * buf, dtype=np.uint8, out=prefix_w[1:])
        del weights
        c, e = cand[fits], end[fits]
        lo, hi = c + 2, e - 2
        ck_a = prefix_a[hi] - prefix_a[lo]
        ck_b = (hi & 0xFF).astype(np.uint8) * ck_a - (prefix_w[hi] - prefix_w[lo])
        ok[fits] = (ck_a == buf[hi]) & (ck_b == buf[hi + 1])
    return cand, length, end, ok, fits


def _rtcm_candidates(buf: np.ndarray):
    """RTCM 3 candidates: (start, payload length, end, CRC ok, fits in the buffer)."""
    n = len(buf)
    cand = np.flatnonzero((buf[:-2] == 0xD3) & ((buf[1:-1] & 0xFC) == 0)).astype(np.int64)
    length = ((buf[cand + 1].astype(np.int64) & 0x03) << 8) | buf[cand + 2]
    end = cand + 6 + length
    fits = end <= n
    ok = np.zeros(len(cand), bool)
    c, ln = cand[fits], length[fits]
    if len(c):
        crc = crc24q_frames(buf, c, ln + 3)
        e = c + 3 + ln
        sent = (buf[e].astype(np.int64) << 16) | (buf[e + 1].astype(np.int64) << 8) | buf[e + 2]
        ok[fits] = crc == sent
    return cand, length, end, ok, fits


def _greedy(start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """Indices (into the start-sorted frames) of the frames kept: a frame starting inside an
    earlier kept one is dropped (it is payload)."""
    keep = np.arange(len(start))
    while len(keep):
        s, e = start[keep], end[keep]
        prev_end = np.concatenate(([0], np.maximum.accumulate(e)[:-1]))
        inside = s < prev_end
        if not inside.any():
            break
        keep = np.delete(keep, int(np.argmax(inside)))  # the first nested one; re-check
    return keep


def frame_stream(
    data: bytes, *, ubx: bool = True, rtcm3: bool = True, nmea: bool = True, final: bool = True
) -> StreamFrames:
    """Find the UBX, RTCM 3 and NMEA frames of a byte stream (module docstring).

    Parameters
    ----------
    data : bytes
    ubx, rtcm3, nmea : bool
        Protocols looked for (a pure RTCM 3 log is framed faster with ``ubx=False``).
    final : bool
        True: the stream ends here (a cut frame is counted as truncated). False: the end of
        the buffer may continue; :attr:`StreamFrames.consumed` tells where the undecided
        tail starts.
    """
    if not final and len(data) <= CHAIN_MAX:
        chain = _frame_chain(data, ubx, rtcm3)
        if chain is not None:
            return chain
    return _frame_general(data, ubx=ubx, rtcm3=rtcm3, nmea=nmea, final=final)


def _frame_general(data: bytes, *, ubx: bool, rtcm3: bool, nmea: bool, final: bool) -> StreamFrames:
    """:func:`frame_stream` with NumPy over the whole buffer (module docstring)."""
    buf = np.frombuffer(data, dtype=np.uint8)
    n = len(buf)
    counts = dict.fromkeys(_COUNT_KEYS, 0)
    empty = np.zeros(0, np.int64)
    u = (
        _ubx_candidates(buf)
        if ubx and n >= 8
        else (empty, empty, empty, empty.astype(bool), empty.astype(bool))
    )
    r = (
        _rtcm_candidates(buf)
        if rtcm3 and n >= 6
        else (empty, empty, empty, empty.astype(bool), empty.astype(bool))
    )
    # valid frames of both protocols, in stream order, nested ones dropped
    vs = np.concatenate((u[0][u[3]], r[0][r[3]]))
    ve = np.concatenate((u[2][u[3]], r[2][r[3]]))
    vproto = np.concatenate((np.zeros(int(u[3].sum()), np.int8), np.ones(int(r[3].sum()), np.int8)))
    vlen = np.concatenate((u[1][u[3]], r[1][r[3]]))
    order = np.argsort(vs, kind="stable")
    vs, ve, vproto, vlen = vs[order], ve[order], vproto[order], vlen[order]
    keep = _greedy(vs, ve)
    vs, ve, vproto, vlen = vs[keep], ve[keep], vproto[keep], vlen[keep]
    last_end = int(ve[-1]) if len(ve) else 0
    consumed = n
    if not final:
        consumed = _undecided_tail(data, buf, last_end, u, r, nmea)
        inside = ve <= consumed
        vs, ve, vproto, vlen = vs[inside], ve[inside], vproto[inside], vlen[inside]
    is_ubx = vproto == 0
    ustart, ulen = vs[is_ubx], vlen[is_ubx]
    rstart, rlen = vs[~is_ubx], vlen[~is_ubx]
    counts["ubx"] = int(len(ustart))
    counts["rtcm3"] = int(len(rstart))
    # gaps between kept frames (up to ``consumed``): failed candidates, NMEA, garbage
    gaps_lo = np.concatenate(([0], ve))
    gaps_hi = np.concatenate((vs, [consumed]))
    gap_ix = np.flatnonzero(gaps_hi > gaps_lo)
    sentences: list = []
    tail_start = consumed
    if len(gap_ix):
        for cand, _, end, ok, fits in (u, r):
            if not len(cand):
                continue
            g = np.searchsorted(gaps_hi, cand, side="right")
            g = np.minimum(g, len(gaps_lo) - 1)
            in_gap = (cand >= gaps_lo[g]) & (cand < gaps_hi[g]) & (cand < consumed)
            key = "ubx_checksum_failures" if cand is u[0] else "rtcm3_crc_failures"
            counts[key] += int(np.count_nonzero(~ok & fits & in_gap & (end <= consumed)))
            if final:
                cut = ~fits & in_gap
                counts["truncated"] += int(np.count_nonzero(cut))
                if cut.any():  # the bytes of a frame cut by the end are not garbage
                    tail_start = min(tail_start, int(cand[cut][0]))
        used = 0
        for gi in gap_ix.tolist():
            lo, hi = int(gaps_lo[gi]), int(gaps_hi[gi])
            if nmea:
                for m in _NMEA.finditer(data, lo, hi):
                    body, ck = m.group(1), int(m.group(2), 16)
                    x = 0
                    for b in body:
                        x ^= b
                    if x == ck:
                        counts["nmea"] += 1
                        sentences.append((m.start(), m.end()))
                    else:
                        counts["nmea_checksum_failures"] += 1
                    used += m.end() - m.start()
            used -= hi - lo
        counts["garbage_bytes"] = max(0, -used - (consumed - tail_start))
    rtype = np.full(len(rstart), -1, np.int64)
    has = rlen >= 2
    rtype[has] = (buf[rstart[has] + 3].astype(np.int64) << 4) | (buf[rstart[has] + 4] >> 4)
    return StreamFrames(
        ustart,
        buf[ustart + 2],
        buf[ustart + 3],
        ulen,
        rstart,
        rlen,
        rtype,
        sentences,
        counts,
        consumed,
    )


#: Live buffers up to this size are first walked frame by frame (:func:`_frame_chain`).
CHAIN_MAX = 16384


#: The compiled :func:`_chain_kernel` in use (None or False: Python and NumPy) and as loaded
#: (None: not tried).
_KERNELS = None
_LOADED = None


def _frame_chain(data: bytes, ubx: bool, rtcm3: bool) -> StreamFrames | None:
    """The framing of a live buffer that is a chain of valid UBX / RTCM 3 frames from its
    first byte, possibly ending with the start of a frame still incomplete (held, as
    :func:`frame_stream` holds it); None for anything else (garbage, a checksum failure,
    NMEA: the general framer decides). A live stream is such a chain nearly always, and
    walking it costs a few operations per frame instead of NumPy passes over the buffer
    (compiled: :func:`_chain_kernel`, when loaded by :func:`use_compiled_framing`)."""
    if _KERNELS:
        return _frame_chain_compiled(data, ubx, rtcm3)
    n = len(data)
    pos = 0
    rs: list[int] = []
    rl: list[int] = []
    us: list[int] = []
    ul: list[int] = []
    sent: list[int] = []
    while pos < n:
        b = data[pos]
        if b == 0xD3 and rtcm3:
            if n - pos < 3:
                break
            if data[pos + 1] & 0xFC:
                return None
            ln = ((data[pos + 1] & 0x03) << 8) | data[pos + 2]
            end = pos + 6 + ln
            if end > n:
                break
            sent.append(int.from_bytes(data[pos + 3 + ln : end], "big"))  # checked below, all at once
            rs.append(pos)
            rl.append(ln)
            pos = end
        elif b == 0xB5 and ubx:
            if n - pos < 8:
                if n - pos >= 2 and data[pos + 1] != 0x62:
                    return None
                break
            if data[pos + 1] != 0x62:
                return None
            ln = data[pos + 4] | (data[pos + 5] << 8)
            end = pos + 8 + ln
            if end > n:
                break
            body = np.frombuffer(data, np.uint8, end - 2 - (pos + 2), pos + 2).astype(np.int64)
            ck_a = int(body.sum()) & 0xFF
            ck_b = int(body @ np.arange(len(body), 0, -1, dtype=np.int64)) & 0xFF
            if ck_a != data[end - 2] or ck_b != data[end - 1]:
                return None
            us.append(pos)
            ul.append(ln)
            pos = end
        else:
            return None
    if rs and crc24q_spans(data, rs, [ln + 3 for ln in rl]) != sent:
        return None
    counts = dict.fromkeys(_COUNT_KEYS, 0)
    counts["ubx"], counts["rtcm3"] = len(us), len(rs)
    types = [(data[p + 3] << 4) | (data[p + 4] >> 4) if ln >= 2 else -1 for p, ln in zip(rs, rl)]
    return StreamFrames(
        np.array(us, np.int64),
        np.array([data[p + 2] for p in us], np.uint8),
        np.array([data[p + 3] for p in us], np.uint8),
        np.array(ul, np.int64),
        np.array(rs, np.int64),
        np.array(rl, np.int64),
        np.array(types, np.int64),
        [],
        counts,
        pos,
    )


def _frame_chain_compiled(data: bytes, ubx: bool, rtcm3: bool) -> StreamFrames | None:
    """:func:`_frame_chain` by :func:`_chain_kernel`."""
    cap = len(data) // 6 + 1
    rtcm, ubx_frames = np.empty((cap, 3), np.int64), np.empty((cap, 4), np.int64)
    nr, nu, pos = _KERNELS[0](np.frombuffer(data, np.uint8), ubx, rtcm3, _TABLE, rtcm, ubx_frames)
    if pos < 0:
        return None
    counts = dict.fromkeys(_COUNT_KEYS, 0)
    counts["ubx"], counts["rtcm3"] = nu, nr
    if nu:
        u = ubx_frames[:nu]
        ubx_fields = (u[:, 0], u[:, 2].astype(np.uint8), u[:, 3].astype(np.uint8), u[:, 1])
    else:  # (an RTCM 3 stream)
        ubx_fields = _NO_UBX
    return StreamFrames(*ubx_fields, rtcm[:nr, 0], rtcm[:nr, 1], rtcm[:nr, 2], [], counts, pos)


def _read_only(a: np.ndarray) -> np.ndarray:
    a.flags.writeable = False
    return a


#: The UBX fields of a buffer without UBX frames (read-only: shared by all).
_NO_UBX = (_read_only(np.zeros(0, np.int64)), _read_only(np.zeros(0, np.uint8)), _read_only(np.zeros(0, np.uint8)),
           _read_only(np.zeros(0, np.int64)))


def _chain_kernel(buf, ubx, rtcm3, table, rtcm, ubx_frames):
    """The walk of :func:`_frame_chain` as one loop, for numba: ``(RTCM 3 frames, UBX frames,
    bytes consumed)``, consumed -1 where the buffer is not such a chain; each RTCM 3 frame's
    (start, payload length, message number) in ``rtcm``, each UBX frame's (start, payload
    length, class, id) in ``ubx_frames`` (rows enough: one per 6 bytes). CRC-24Q with the
    byte ``table`` (:func:`crc24q`), UBX Fletcher-8 (``_frame_chain``)."""
    n = len(buf)
    pos = 0
    nr = 0
    nu = 0
    while pos < n:
        b = buf[pos]
        if b == 0xD3 and rtcm3:
            if n - pos < 3:
                break
            if buf[pos + 1] & 0xFC:
                return nr, nu, -1
            ln = (np.int64(buf[pos + 1] & 0x03) << 8) | np.int64(buf[pos + 2])
            end = pos + 6 + ln
            if end > n:
                break
            crc = np.int64(0)
            for j in range(pos, end - 3):
                crc = ((crc << 8) & 0xFFFFFF) ^ table[(crc >> 16) ^ np.int64(buf[j])]
            sent = (np.int64(buf[end - 3]) << 16) | (np.int64(buf[end - 2]) << 8) | np.int64(buf[end - 1])
            if crc != sent:
                return nr, nu, -1
            rtcm[nr, 0] = pos
            rtcm[nr, 1] = ln
            rtcm[nr, 2] = (np.int64(buf[pos + 3]) << 4) | (np.int64(buf[pos + 4]) >> 4) if ln >= 2 else -1
            nr += 1
            pos = end
        elif b == 0xB5 and ubx:
            if n - pos < 8:
                if n - pos >= 2 and buf[pos + 1] != 0x62:
                    return nr, nu, -1
                break
            if buf[pos + 1] != 0x62:
                return nr, nu, -1
            ln = np.int64(buf[pos + 4]) | (np.int64(buf[pos + 5]) << 8)
            end = pos + 8 + ln
            if end > n:
                break
            ck_a = np.int64(0)
            ck_b = np.int64(0)
            for j in range(pos + 2, end - 2):
                ck_a = (ck_a + np.int64(buf[j])) & 0xFF
                ck_b = (ck_b + ck_a) & 0xFF
            if ck_a != buf[end - 2] or ck_b != buf[end - 1]:
                return nr, nu, -1
            ubx_frames[nu, 0] = pos
            ubx_frames[nu, 1] = ln
            ubx_frames[nu, 2] = buf[pos + 2]
            ubx_frames[nu, 3] = buf[pos + 3]
            nu += 1
            pos = end
        else:
            return nr, nu, -1
    return nr, nu, pos


def _load_kernels():
    from .._jit import compile_kernels

    def warm_up(kernels):
        """Compile (or load from the cache) now, and check the kernel against the Python walk
        on chains of RTCM 3 and UBX frames, cut, damaged and with garbage."""
        global _KERNELS
        saved = _KERNELS
        rng = np.random.default_rng(3)
        try:
            for case in range(40):
                data = _check_chain(rng, case)
                _KERNELS = False
                want = _frame_chain(data, True, case % 3 != 1)
                _KERNELS = kernels
                got = _frame_chain(data, True, case % 3 != 1)
                if not _same_frames(want, got):
                    raise RuntimeError("the compiled framing differs from Python's")
        finally:
            _KERNELS = saved

    return compile_kernels((_chain_kernel,), warm_up)


def _check_chain(rng, case: int) -> bytes:
    """Frames of random payloads (RTCM 3 and UBX, valid checksums) end to end, then for some
    ``case`` cut short, a byte flipped or garbage in between."""
    out = b""
    for _ in range(int(rng.integers(1, 6))):
        payload = rng.integers(0, 256, int(rng.integers(0, 300))).astype(np.uint8).tobytes()
        if rng.random() < 0.6:
            head = bytes([0xD3, len(payload) >> 8, len(payload) & 0xFF]) + payload
            out += head + crc24q(head).to_bytes(3, "big")
        else:
            body = bytes([2, 0x15, len(payload) & 0xFF, len(payload) >> 8]) + payload
            a = b = 0
            for x in body:
                a = (a + x) & 0xFF
                b = (b + a) & 0xFF
            out += b"\xb5\x62" + body + bytes([a, b])
    if case % 4 == 1:
        out = out[: int(rng.integers(0, len(out) + 1))]
    elif case % 4 == 2 and out:
        k = int(rng.integers(0, len(out)))
        out = out[:k] + bytes([out[k] ^ (1 << int(rng.integers(0, 8)))]) + out[k + 1 :]
    elif case % 8 == 3:
        out += b"$GPGGA,1*00\r\n"
    return out


def _same_frames(a: StreamFrames | None, b: StreamFrames | None) -> bool:
    if a is None or b is None:
        return a is None and b is None
    for f in ("ubx_start", "ubx_cls", "ubx_id", "ubx_length", "rtcm_start", "rtcm_length", "rtcm_type"):
        x, y = getattr(a, f), getattr(b, f)
        if x.dtype != y.dtype or not np.array_equal(x, y):
            return False
    return (a.consumed, a.counts, a.nmea) == (b.consumed, b.counts, b.nmea)


def use_compiled_framing(enabled: bool | None = True) -> bool:
    """Walk live buffers (:func:`_frame_chain`) with the compiled :func:`_chain_kernel`
    (``True``: load it now; ``satnav stream``'s feeds do this at their start) or in Python
    and NumPy (``False``; ``None``: back to those until asked again); returns whether the
    kernel is in use. Both give the same framing (tests/io/test_rtcm3.py)."""
    global _KERNELS, _LOADED
    from .._jit import switch_kernels

    _KERNELS, _LOADED = switch_kernels(_LOADED, enabled, _load_kernels)
    return bool(_KERNELS)


def _undecided_tail(data: bytes, buf: np.ndarray, last_end: int, u, r, nmea: bool) -> int:
    """Where the bytes that may still become a frame start (live streams)."""
    n = len(buf)
    tail = n
    for cand, _, _, _, fits in (u, r):
        cut = cand[~fits & (cand >= last_end)]
        if len(cut):
            tail = min(tail, int(cut[0]))
    # sync bytes too close to the end for a length to be read
    for pos in range(max(last_end, n - 8), n):
        b = buf[pos]
        # (RTCM 3 candidates are looked for in buffers of 6 bytes or more: in a shorter one,
        # any preamble may start a frame)
        if (b == 0xB5 and (pos == n - 1 or buf[pos + 1] == 0x62)) or (b == 0xD3 and (pos >= n - 2 or n < 6)):
            tail = min(tail, pos)
            break
    if nmea:
        dollar = data.rfind(b"$", last_end, n)
        if dollar >= 0 and data.find(b"\n", dollar, n) < 0 and n - dollar <= 100:
            tail = min(tail, dollar)
    return tail
