"""u-blox UBX decoded incrementally: :class:`UbxDecoder`, a
:class:`~satnav.io.stream_items.StreamDecoder` for live streams.

Bytes are fed as they arrive (any split). Complete frames are found with the file framer
(:func:`satnav.io.ubx.frame_ubx`, checksums checked); a frame cut by the end of the bytes
fed so far waits for the rest (at most one UBX frame, 64 KiB, is held). Each RXM-RAWX
becomes an :class:`~satnav.io.stream_items.EpochItem` decoded by
:func:`satnav.io.ubx.decode_rawx`, with the loss-of-lock state carried from one message to
the next so that the flags equal those of the whole-file decoder (:func:`satnav.io.ubx.read_ubx`):
per signal the last lock time and half-cycle bit, and a slip seen while the phase was not
valid kept for the next valid phase (u-blox ZED-F9P Interface Description UBX-18010854,
RXM-RAWX ``locktime``, ``trkStat``). RXM-SFRBX navigation subframes become
:class:`~satnav.io.stream_items.NavigationItem` with each ephemeris once, when its last
subframe/word arrives (:func:`satnav.io.ubx.decode_sfrbx` over the last subframes kept per
satellite). GLONASS strings carry only a time of day and a day number: as in the file
converter (:func:`satnav.io.ubx.sfrbx_times`), each is dated with the receiver time (GPS week
and time of week) of the last RXM-RAWX before it, and strings 1-4 of one frame received within
30 s become one record (GLONASS ICD 5.1 4.4, decoded by the converter's own code). Strings that
arrive before the first RAWX with a valid week are held (the last :data:`SFRBX_KEPT` per
satellite, counted in ``counts["sfrbx_R_held"]``) and dated with that first RAWX, as the converter
dates them; if the stream ends before one, :meth:`UbxDecoder.flush` says so ("undated").
Checksum failures and garbage become :class:`~satnav.io.stream_items.ProblemItem`;
nothing raises.
"""

from __future__ import annotations

import copy
from collections import deque

import numpy as np

from ..gnss_time import NS_PER_WEEK
from ..navigation import Navigation, records_view
from .stream_items import EpochItem, NavigationItem, ProblemItem, StreamItem
from .ubx import (
    RAWX_MEASUREMENT_DTYPE,
    UbxFrames,
    _lookup_tables,
    _prn_of,
    _rawx_time,
    decode_rawx,
    decode_sfrbx,
    frame_ubx,
)

__all__ = ["UbxDecoder"]

#: Longest UBX frame (payload length is 16 bits): bytes held while a frame is incomplete.
MAX_FRAME = 65535 + 8
#: SFRBX messages kept per satellite to assemble ephemerides (GPS: 5 subframes a frame;
#: Galileo I/NAV: word types 1-5 within a 15-word subframe; GLONASS: strings 1-4, 8 s of a
#: 30 s frame, sent on two signals by an F9P).
SFRBX_KEPT = 24
SFRBX_KEPT_BEIDOU_GEO = 60

_SIGNAL_NAMES = None


class UbxDecoder:
    """Incremental UBX decoder (see the module docstring).

    ``feed(data)`` returns the items completed by ``data``; ``flush()`` at end of stream
    reports a frame left incomplete. :attr:`counts` accumulates the framer's counts
    (``ubx``, ``ubx_checksum_failures``, ``garbage_bytes``, ``nmea``, ``rtcm3``, ...).
    """

    protocol = "ubx"

    def __init__(self, *, source: str = "", navigation: bool = True) -> None:
        self.source = source
        self.navigation = navigation
        self._buf = b""
        self._offset = 0  # stream offset of _buf[0]
        self.counts: dict[str, int] = {}
        # loss-of-lock state per signal group (sat * 256 + signal index)
        self._lock: dict[int, int] = {}
        self._halfc: dict[int, int] = {}
        self._pending: set[int] = set()
        self._gen9 = False
        self._week: int | None = None
        self._t_rx: int | None = None  # GPST ns of the last RXM-RAWX with a valid week
        self._sfrbx: dict[tuple[int, int], deque] = {}  # (frame, receiver time or None)
        self._held: set[tuple[int, int]] = set()  # GLONASS satellites with strings not dated yet
        self._glonass_last: dict[tuple[int, int], tuple] = {}  # strings 1-4 last assembled
        self._ephemeris_keys: set = set()
        self._header_keys: set = set()

    # ------------------------------------------------------------------ protocol
    def feed(self, data: bytes) -> list[StreamItem]:
        """Consume the next bytes of the stream; the items they complete, in stream order."""
        if not data:
            return []
        buf = self._buf + bytes(data)
        n = len(buf)
        clean, p = _clean_frames(buf)  # a stream of checked UBX frames: no framing pass
        if p == n or _waits(buf, p):
            cut, frames = p, _frames_of(clean, {})
        else:  # anything else (garbage, NMEA, RTCM, a bad checksum): the tolerant framer
            rest = buf[p:]
            frames = frame_ubx(rest)
            last_end = int(frames.start[-1] + 8 + frames.length[-1]) if len(frames.start) else 0
            cut = p + self._cut(rest, last_end)
            if cut < n:  # the counts of the part consumed only
                frames = frame_ubx(buf[p:cut])
            frames = _frames_of(clean + list(zip((frames.start + p).tolist(), frames.cls.tolist(),
                                                 frames.id.tolist(), frames.length.tolist())), frames.counts)
        items = self._items(buf[:cut], frames)
        self._offset += cut
        self._buf = buf[cut:]
        return items

    def flush(self) -> list[StreamItem]:
        """End of stream: a frame left incomplete is reported (never decoded)."""
        items: list[StreamItem] = []
        held = self.counts.get("sfrbx_R_held", 0) if self._t_rx is None else 0
        if held:
            items.append(ProblemItem("undated", self._offset,
                                     f"{held} GLONASS string(s) dropped: no RXM-RAWX receiver time to date them",
                                     {"strings": held}))
        if self._buf:
            items.append(ProblemItem("truncated", self._offset,
                                     f"{len(self._buf)} bytes at the end of the stream are an incomplete frame"))
            self.counts["truncated"] = self.counts.get("truncated", 0) + 1
            self._offset += len(self._buf)
            self._buf = b""
        return items

    # ------------------------------------------------------------------ internals
    @staticmethod
    def _cut(buf: bytes, last_end: int) -> int:
        """Bytes of ``buf`` that may be consumed now: up to the first UBX header after the
        last complete message whose frame does not fit yet (a trailing ``0xB5`` too)."""
        n = len(buf)
        p = buf.find(b"\xb5\x62", last_end)
        while p >= 0:
            if p + 6 > n:
                return p
            length = buf[p + 4] | (buf[p + 5] << 8)
            if p + 8 + length > n:
                return p
            p = buf.find(b"\xb5\x62", p + 1)
        return n - 1 if n > last_end and buf[-1] == 0xB5 else n

    def _items(self, data: bytes, frames) -> list[StreamItem]:
        items: list[StreamItem] = []
        self.counts["ubx"] = self.counts.get("ubx", 0) + len(frames.start)
        for k, v in frames.counts.items():
            if k != "ubx":
                self.counts[k] = self.counts.get(k, 0) + int(v)
        c = {k: frames.counts.get(k, 0) for k in ("ubx_checksum_failures", "nmea_checksum_failures",
                                                   "rtcm3_crc_failures", "garbage_bytes")}
        bad = c["ubx_checksum_failures"] + c["nmea_checksum_failures"] + c["rtcm3_crc_failures"]
        if bad:
            items.append(ProblemItem("crc", self._offset, f"{bad} frame(s) with a bad checksum dropped",
                                     {"ubx": c["ubx_checksum_failures"], "nmea": c["nmea_checksum_failures"],
                                      "rtcm3": c["rtcm3_crc_failures"]}))
        if c["garbage_bytes"]:
            items.append(ProblemItem("garbage", self._offset, f"{c['garbage_bytes']} bytes outside any frame skipped",
                                     {"bytes": c["garbage_bytes"]}))
        for i in range(len(frames.start)):
            cls, mid = int(frames.cls[i]), int(frames.id[i])
            start, length = int(frames.start[i]), int(frames.length[i])
            if cls == 0x02 and mid == 0x15:
                item = self._rawx(data[start : start + 8 + length])
                if item is not None:
                    items.append(item)
                if self._held and self._t_rx is not None:
                    items += self._date_held()
            elif cls == 0x02 and mid == 0x13 and self.navigation:
                item = self._sfrbx_item(data[start : start + 8 + length])
                if item is not None:
                    items.append(item)
        return items

    def _rawx(self, frame: bytes):
        """The epoch of one RXM-RAWX frame, its loss-of-lock flags from the carried state."""
        if len(frame) >= 8 + 16:
            t = _rawx_time(frame, 0)
            if t is not None:
                self._t_rx = t
        one = _one_frame(frame)
        obs = decode_rawx(frame, one, source=self.source, phase_std_limit=14 if self._gen9 else 5)
        payload = frame[6:-2]
        if len(payload) < 16:
            return None
        nmeas = payload[11]
        meas = np.frombuffer(payload[16 : 16 + 32 * nmeas], RAWX_MEASUREMENT_DTYPE)
        if not len(obs.epochs):
            return None
        self._week = int(obs.epochs[0] // NS_PER_WEEK)
        self._fix_lli(obs, meas, int(payload[13]))
        if (meas["sig"] > 1).any():
            self._gen9 = True
        return EpochItem(obs, "ubx")

    def _fix_lli(self, obs, meas, version: int) -> None:
        """Replace LLI bit 0 of the phase rows of ``obs`` (the whole-file decoder's rule,
        with the per-signal state carried between messages)."""
        gnss_sys, sig_table, signals = _lookup_tables()
        sysnum = gnss_sys[meas["gnss"]]
        prn = _prn_of(sysnum, meas["sv"])
        sig = meas["sig"] if version != 0 else np.zeros(len(meas), np.uint8)
        signal = np.where(sysnum >= 0, sig_table[np.maximum(sysnum, 0), sig], -1)
        from ..satellites import SATELLITES_PER_SYSTEM

        limit = 14 if self._gen9 else 5
        lli_of: dict[tuple[int, str], int] = {}
        # plain Python values: one conversion per field, not a NumPy scalar per access
        sat_of = (sysnum * SATELLITES_PER_SYSTEM + prn).tolist()
        ok = ((prn > 0) & (signal >= 0)).tolist()
        rows = zip(ok, sat_of, signal.tolist(), meas["trk"].tolist(), meas["lock"].tolist(),
                   (meas["cpstd"] & 0x0F).tolist(), meas["cp"].tolist())
        for use, sat, sig_k, trk, lock, cpstd, cp in rows:
            if not use:
                continue
            g = sat * 256 + sig_k
            valid = bool(trk & 2) and cp != -0.5 and cpstd <= limit and cp != 0.0
            hc = 1 if trk & 8 else 0
            first = g not in self._lock
            prev_lock = 0 if first else self._lock[g]
            prev_hc = 0 if first else self._halfc[g]
            toggled = hc != prev_hc
            slip = first or lock == 0 or lock < prev_lock or toggled or cpstd >= 15
            carried = slip or g in self._pending
            if valid:
                self._pending.discard(g)
            elif carried:
                self._pending.add(g)
            self._lock[g], self._halfc[g] = lock, hc
            bit0 = (valid and carried) or toggled
            lli_of[(sat, "L" + signals[sig_k][1])] = int(bit0)
        if not lli_of:
            return
        names = obs.codes
        lli = obs.lli
        is_phase = np.array([c.startswith("L") for c in names], bool)
        rows_l = np.flatnonzero(is_phase[obs.code]) if len(names) else np.zeros(0, np.int64)
        for r, sat, code in zip(rows_l.tolist(), obs.sat[rows_l].tolist(), obs.code[rows_l].tolist()):
            b = lli_of.get((sat, names[code]))
            if b is not None:
                lli[r] = (lli[r] & ~1) | b

    def _sfrbx_item(self, frame: bytes):
        payload = frame[6:-2]
        if len(payload) < 8:
            return None
        key = (payload[0], payload[1])
        # a BeiDou GEO's ten subframe-1 pages span 30 s, 50 subframes of 0.6 s
        size = SFRBX_KEPT_BEIDOU_GEO if key[0] == 3 and _beidou_geo(key[1]) else SFRBX_KEPT
        kept = self._sfrbx.setdefault(key, deque(maxlen=size))
        kept.append((frame, self._t_rx))
        if key[0] == 6 and self._t_rx is None:  # GLONASS before any receiver time: held
            self.counts["sfrbx_R_held"] = self.counts.get("sfrbx_R_held", 0) + 1
            self._held.add(key)
            return None
        if not _completes(payload):
            return None
        if key[0] == 6:  # GLONASS: a string 4 whose strings 1-4 were assembled already
            latest = _glonass_latest(kept)  # (the copy on the second signal) gives nothing new
            if latest == self._glonass_last.get(key):
                return None
            self._glonass_last[key] = latest
        return self._assemble(kept)

    def _date_held(self) -> list[StreamItem]:
        """The GLONASS strings held before the first receiver time, dated with it (the
        converter's rule: the first RAWX for SFRBX before any) and assembled."""
        items = []
        for key in sorted(self._held):
            kept = self._sfrbx[key]
            for i, (frame, t) in enumerate(kept):
                if t is None:
                    kept[i] = (frame, self._t_rx)
            item = self._assemble(kept)
            if item is not None:
                items.append(item)
        self._held.clear()
        return items

    def _assemble(self, kept: deque):
        """A NavigationItem of the ephemerides (and header parameters) of the kept SFRBX
        frames of one satellite not sent before; None when nothing is new."""
        data = b"".join(f for f, _ in kept)
        times = [t for _, t in kept]
        times_ns = None if any(t is None for t in times) else np.array(times, np.int64)
        rows, start = [], 0  # the kept frames were checked when they arrived: no framing pass
        for f, _ in kept:
            rows.append((start, 0x02, 0x13, len(f) - 8))
            start += len(f)
        nav = decode_sfrbx(data, _frames_of(rows, {}), week_hint=self._week, times_ns=times_ns,
                           latest=True)
        # corrections by name and value: new broadcast coefficients are sent again; only the
        # new ones go in the item (old ones of the kept frames would undo them downstream)
        header = copy.copy(nav.header)
        header.iono_corrections, header.time_corrections = {}, {}
        found = False
        for held, sent in ((nav.header.iono_corrections, header.iono_corrections),
                           (nav.header.time_corrections, header.time_corrections)):
            for name, value in held.items():
                k = (name, repr(np.asarray(value).tolist()))
                if k not in self._header_keys:
                    self._header_keys.add(k)
                    sent[name] = value
                    found = True
        new = Navigation(header=header)
        for letter, records in nav.messages.items():
            keys = _message_keys(letter, records)
            fresh = [i for i, k in enumerate(keys) if k not in self._ephemeris_keys]
            if fresh:
                self._ephemeris_keys.update(keys[i] for i in fresh)
                new.add_messages(letter, records[fresh])
                found = True
        if not found:
            return None
        new.sources = [self.source] if self.source else []
        return NavigationItem(new, "ubx")


#: Message fields that say where or when a message was read, not what it says: a message
#: equal to one sent in every other field is a repetition (GPS LNAV ``transmission_time`` is
#: the HOW time of its subframe 1, repeated every 30 s; GLONASS ``frame_time`` the t_k of the
#: string 1 read; ``data_source`` the Galileo signal of the same I/NAV words).
_READ_FIELDS = ("line", "source", "transmission_time", "frame_time", "data_source")


def _message_keys(letter: str, records: np.ndarray) -> list:
    """One hashable key per message record: its bytes with :data:`_READ_FIELDS` zeroed, so
    that any other change (health, an upload with the same issue of data) is a new message."""
    key = records_view(records).copy().view(records.dtype)
    for name in _READ_FIELDS:
        if name in records.dtype.names:
            key[name] = 0
    return [(letter, k) for k in records_view(key).tolist()]


def _one_frame(frame: bytes) -> UbxFrames:
    """The :class:`~satnav.io.ubx.UbxFrames` of one checked frame (no framing pass)."""
    return UbxFrames(np.zeros(1, np.int64), np.array([frame[2]], np.uint8), np.array([frame[3]], np.uint8),
                     np.array([len(frame) - 8], np.int64), [], {})


def _completes(payload: bytes) -> bool:
    """Whether an SFRBX payload may complete what :func:`~satnav.io.ubx.decode_sfrbx`
    assembles: GPS and QZSS LNAV subframe 3 (ephemeris) or 4 (ionosphere/UTC page), Galileo
    I/NAV word type 4 or 5, BeiDou D1 subframe 3 or D2 subframe 1 page 10 (IS-GPS-200 20.3.3 HOW
    subframe id; Galileo OS SIS ICD 4.3.5 word type in the first 6 data bits of the even page;
    BDS-SIS-ICD-B1I 3.0 5.2.3/5.3.3: FraID in bits 16-18 of word 1, D2 Pnum in bits 43-46;
    GLONASS string 4 (ICD 5.1 4.4: string number m in bits 81-84, after the idle bit, the top of
    u-blox's first word)."""
    gnss, sv, nwords = payload[0], payload[1], payload[4]
    if len(payload) < 8 + 4 * max(nwords, 2):
        return False
    w0, w1 = int.from_bytes(payload[8:12], "little"), int.from_bytes(payload[12:16], "little")
    if gnss in (0, 5):  # GPS, QZSS: subframe id, bits 20-22 of the HOW (word 2)
        return ((w1 >> 6) & 0xFFFFFF) >> 2 & 7 in (3, 4)
    if gnss == 2:  # Galileo I/NAV
        return (w0 >> 24) & 0x3F in (4, 5)
    if gnss == 6:  # GLONASS
        return (w0 >> 27) & 0xF == 4
    if gnss == 3:  # BeiDou: 30-bit words right-aligned
        fraid = (w0 >> 12) & 7
        if _beidou_geo(sv):
            return fraid == 1 and (w1 >> 14) & 0xF == 10
        return fraid == 3
    return False


def _glonass_latest(kept: deque) -> tuple:
    """The last GLONASS strings 1-4 among kept SFRBX frames (words 1-4 and freqId; string
    number m in the top bits of word 1 after the idle bit), what
    :func:`~satnav.io.ubx.decode_sfrbx` assembles a record of: equal strings give the same
    record (the converter's 30 s window only narrows as the receiver time grows)."""
    latest: dict[int, bytes] = {}
    for frame, _ in kept:
        m = frame[17] >> 3 & 0xF  # payload byte 11: the top byte of the first word
        if 1 <= m <= 4 and frame[10] >= 4:
            latest[m] = frame[9:10] + frame[14:30]
    return tuple(latest.get(m) for m in (1, 2, 3, 4))


def _beidou_geo(sv: int) -> bool:
    """BeiDou GEO satellites (D2 navigation message): PRN 1-5 and 59-63."""
    return sv <= 5 or sv >= 59


def _fletcher_ok(buf: bytes, start: int, end: int) -> bool:
    """UBX checksum (8-bit Fletcher over class, id, length and payload) of ``buf[start:end]``."""
    a = np.frombuffer(buf, np.uint8, count=end - 2 - (start + 2), offset=start + 2).astype(np.int64)
    ck_a = int(a.sum()) & 0xFF
    ck_b = int((a * np.arange(len(a), 0, -1)).sum()) & 0xFF
    return buf[end - 2] == ck_a and buf[end - 1] == ck_b


def _clean_frames(buf: bytes) -> tuple[list, int]:
    """The UBX frames at the start of ``buf`` that follow each other with no gap and check,
    as (start, class, id, length); and where they stop."""
    out = []
    p, n = 0, len(buf)
    while p + 8 <= n and buf[p] == 0xB5 and buf[p + 1] == 0x62:
        length = buf[p + 4] | (buf[p + 5] << 8)
        end = p + 8 + length
        if end > n or not _fletcher_ok(buf, p, end):
            break
        out.append((p, buf[p + 2], buf[p + 3], length))
        p = end
    return out, p


def _waits(buf: bytes, p: int) -> bool:
    """Whether ``buf[p:]`` is the beginning of a UBX frame not complete yet."""
    rest = buf[p:]
    if rest == b"\xb5":
        return True
    if len(rest) < 2 or rest[:2] != b"\xb5\x62":
        return False
    return len(rest) < 6 or 8 + (rest[4] | (rest[5] << 8)) > len(rest)


def _frames_of(rows: list, counts: dict) -> UbxFrames:
    if not rows:
        e = np.zeros(0, np.int64)
        return UbxFrames(e, e.astype(np.uint8), e.astype(np.uint8), e, [], dict(counts))
    start, cls, mid, length = (np.array(x) for x in zip(*rows))
    return UbxFrames(start.astype(np.int64), cls.astype(np.uint8), mid.astype(np.uint8), length.astype(np.int64),
                     [], dict(counts))
