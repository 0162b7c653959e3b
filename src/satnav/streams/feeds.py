"""A stream's bytes decoded into items, in a thread of its own: :class:`Feed` (a
:class:`~satnav.streams.sources.Source` and a :class:`~satnav.io.stream_items.StreamDecoder`)
and :class:`RinexFeed` (a RINEX observation file replayed epoch by epoch).

Each item goes to a queue as ``(role, item, t_in)`` with ``t_in`` the ``time.monotonic()``
at which the bytes that completed it were read (the latency clock starts there). The end of
the feed is ``(role, END, t)``. With ``speed`` (a replay of a file) epochs are released
at ``speed`` times their recorded rate, from their time tags.

Decoders by format: ``"ubx"`` (:class:`satnav.io.ubx_stream.UbxDecoder`), ``"rtcm3"``
(:class:`satnav.io.rtcm3.Rtcm3Decoder`), ``"auto"``: :class:`satnav.io.rtcm3.MixedStreamDecoder`
(UBX, RTCM 3 and NMEA in one stream).
"""

from __future__ import annotations

import queue
import threading
import time
from collections import deque
from dataclasses import dataclass

from ..errors import SatnavError
from ..io.stream_items import EpochItem

__all__ = ["Feed", "RinexFeed", "END", "StateChange", "make_decoder", "FORMATS"]

#: Marker put on the queue when a feed ends.
END = object()


@dataclass(frozen=True)
class StateChange:
    """A change of the feed's stream state, queued in order with its items (a consumer that
    looked at the status directly would see a disconnection before the data read before it)."""

    state: str
    message: str = ""
#: Stream formats a feed decodes.
FORMATS = ("auto", "ubx", "rtcm3", "rinex")


def make_decoder(fmt: str, head: bytes = b"", source: str = "", time_hint_ns: int | None = None):
    """A decoder for ``fmt`` (``"auto"``: the mixed UBX + RTCM 3 + NMEA decoder).

    ``time_hint_ns`` (GPST ns near the data; default now) places RTCM 3 time tags (time of
    week or of day only) in the right week: needed when a recording is replayed."""
    if fmt == "ubx":
        from ..io.ubx_stream import UbxDecoder

        return UbxDecoder(source=source)
    if fmt == "rtcm3":
        from ..io.rtcm3 import Rtcm3Decoder

        return Rtcm3Decoder(source=source, time_hint_ns=time_hint_ns)
    if fmt != "auto":
        raise SatnavError(f"stream format {fmt!r}: expected one of {', '.join(FORMATS)}")
    from ..io.rtcm3 import MixedStreamDecoder

    return MixedStreamDecoder(source=source, time_hint_ns=time_hint_ns)


class _Pacer:
    """Sleeps so that epochs come out at ``speed`` times their recorded rate."""

    def __init__(self, speed: float | None, stop: threading.Event):
        self.speed, self.stop = speed, stop
        self.t0 = self.w0 = None

    def wait(self, time_ns: int) -> None:
        if not self.speed:
            return
        if self.t0 is None:
            self.t0, self.w0 = time_ns, time.monotonic()
            return
        due = self.w0 + (time_ns - self.t0) / 1e9 / self.speed
        delay = due - time.monotonic()
        if delay > 0:
            self.stop.wait(delay)


#: Decoding CPU times kept per feed (the last ones; memory stays bounded on a long run).
DECODE_TIMES_KEPT = 100_000


class _Thread:
    #: Whether :attr:`decode_cpu_s` is measured (bytes decoded by a decoder).
    measures_decoding = False

    def __init__(self, role: str, out: queue.Queue, speed: float | None):
        self.role, self.out = role, out
        self._stop = threading.Event()
        self._pacer = _Pacer(speed, self._stop)
        self._thread: threading.Thread | None = None
        self.error: str | None = None
        #: CPU time (s, ``time.thread_time``) of the feed's thread decoding the bytes of each
        #: epoch (everything decoded since the previous epoch), the last DECODE_TIMES_KEPT
        self.decode_cpu_s: deque = deque(maxlen=DECODE_TIMES_KEPT)
        self._decode_acc = 0.0

    def start(self) -> None:
        self._thread = threading.Thread(target=self._guarded, name=f"feed-{self.role}", daemon=True)
        self._thread.start()

    def _guarded(self) -> None:
        try:
            self._run()
        except Exception as exc:  # noqa: BLE001 - reported to the loop, never a crash of the thread
            self.error = f"{type(exc).__name__}: {exc}" if not isinstance(exc, SatnavError) else str(exc)
        finally:
            self._put(END, time.monotonic())

    def _put(self, item, t_in: float) -> None:
        while True:
            try:
                self.out.put((self.role, item, t_in), timeout=0.2)
                return
            except queue.Full:
                if self._stop.is_set():
                    return

    def stop(self) -> None:
        self._stop.set()

    def join(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    def _emit(self, items, t_in: float) -> None:
        for item in items:
            if isinstance(item, EpochItem):
                if self.measures_decoding:
                    self.decode_cpu_s.append(self._decode_acc)
                    self._decode_acc = 0.0
                self._pacer.wait(int(item.observations.epochs[0]))
                if self._stop.is_set():
                    return
                t_in = time.monotonic() if self._pacer.speed else t_in
            self._put(item, t_in)


class Feed(_Thread):
    """``source`` decoded with a decoder of ``fmt``, items to ``out`` (see the module docstring)."""

    measures_decoding = True

    def __init__(self, role: str, source, out: queue.Queue, *, fmt: str = "auto", speed: float | None = None,
                 decoder=None, raw_sinks=(), time_hint=None) -> None:
        super().__init__(role, out, speed)
        self.source, self.fmt, self.decoder = source, fmt, decoder
        #: A file read as fast as possible: its data always come (waiting for them never times out).
        self.unpaced_file = bool(getattr(source, "finite", False)) and not speed
        self.time_hint = time_hint  # callable -> GPST ns or None, asked when the first bytes come
        self.status = source.status
        self.raw_sinks = list(raw_sinks)
        #: whether the bytes read are framed and live RTCM 3 epochs' cells decoded by compiled
        #: kernels (numba; loaded now, not at the first bytes; without it: the same results)
        self.compiled_decoding = False
        if fmt in ("auto", "rtcm3", "ubx"):
            from ..io.framing import use_compiled_framing
            from ..io.rtcm3_live import use_compiled_rtcm_live

            self.compiled_decoding = use_compiled_framing(True) and (fmt == "ubx" or use_compiled_rtcm_live(True))

    def stop(self) -> None:
        super().stop()
        self.source.close()

    def _run(self) -> None:
        last = None
        for data in self.source.chunks():
            if self._stop.is_set():
                break
            state = (self.source.status.state, self.source.status.message)
            if state != last:
                last = state
                self._put(StateChange(*state), time.monotonic())
            if not data:
                self._put(None, time.monotonic())  # a poll: lets the loop look at its clocks
                continue
            t_in = time.monotonic()
            if self.decoder is None:
                hint = self.time_hint() if self.time_hint is not None else None
                self.decoder = make_decoder(self.fmt, data, self.source.name, hint)
            for sink in self.raw_sinks:
                sink.write(data)
            cpu = time.thread_time()
            items = self.decoder.feed(data)
            self._decode_acc += time.thread_time() - cpu
            self._emit(items, t_in)
        if self.decoder is not None:
            self._emit(self.decoder.flush(), time.monotonic())


class RinexFeed(_Thread):
    """Epochs of a RINEX observation file (any version, compressed) as :class:`EpochItem`.

    RINEX files are read in time chunks of ``chunk_epochs`` epoch records
    (:func:`satnav.io.rinex_obs.iter_rinex_obs`: the text streamed, Hatanaka expanded as a
    stream), so that memory does not grow with the file: a day at 1 Hz is never held whole.
    A file that cannot be read in chunks with the same result (a header change in its body,
    epochs going back across chunks: :class:`~satnav.io.rinex_obs.NotChunkableError`) is
    then read whole and continues after the last epoch sent; other observation files
    (Android logs) are read whole."""

    def __init__(self, role: str, path, out: queue.Queue, *, speed: float | None = None, strict: bool = False,
                 chunk_epochs: int = 300):
        super().__init__(role, out, speed)
        from .status import StreamStatus

        self.path, self.strict, self.chunk_epochs = path, strict, int(chunk_epochs)
        self.unpaced_file = not speed
        self.status = StreamStatus(f"rinex {path}")  # "connecting" while the file is read
        self._last_ns: int | None = None  # time of the last epoch sent
        self._resumed = False

    def _chunks(self):
        from ..info import detect_format, split_archive_inputs

        path, _ = split_archive_inputs(self.path, None)
        if detect_format(path)[0] != "rinex-obs":
            from ..pipeline import read_observations

            yield read_observations(self.path, strict=self.strict)
            return
        from ..io.rinex_obs import NotChunkableError, iter_rinex_obs, read_rinex_obs

        try:
            yield from iter_rinex_obs(path, chunk_epochs=self.chunk_epochs, strict=self.strict)
        except NotChunkableError:
            self._resumed = True  # whole, from the epoch after the last one sent
            yield read_rinex_obs(path, strict=self.strict)

    def _run(self) -> None:
        started = False
        for chunk in self._chunks():
            if not started:
                started = True
                self.status.set("connected", "")
                self._put(StateChange("connected"), time.monotonic())
            for epoch in chunk.iter_epochs():
                if self._stop.is_set():
                    return
                t = int(epoch.epochs[0])
                if self._resumed and self._last_ns is not None and t <= self._last_ns:
                    continue
                self._last_ns = t
                self.status.data(0)
                self._emit([EpochItem(epoch, "rinex")], time.monotonic())
            del chunk
        self.status.set("ended", "end of file")
