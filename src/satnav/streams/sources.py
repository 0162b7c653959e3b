"""Byte sources of a live stream: file, stdin, serial port, TCP client, TCP server, NTRIP
client.

Every source is an iterator of ``bytes`` (:meth:`Source.chunks`) that never raises on a
network problem: it reports it in its :class:`~satnav.streams.status.StreamStatus` and
reconnects with exponential backoff (``reconnect_s`` doubling up to ``reconnect_max_s``;
``max_reconnects`` None: forever). While connected, a stream silent for ``stall_s`` is
reported ``stalled`` (and reconnected when ``reconnect_on_stall``). The iterator yields
``b""`` at least every ``poll_s`` whatever happens, so that the consumer can check its own
clock and stop flag, and ends at the end of a file (or of stdin), or after :meth:`close`.

A file is read as fast as possible; paced replay at the recorded rate (from the epoch times
the decoder finds) is :mod:`satnav.streams.feeds`' job, since only a decoder knows where an
epoch ends.
"""

from __future__ import annotations

import gzip
import os
import select
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator

from ..errors import SatnavError
from .ntrip import NtripError, NtripRefused, dechunk, open_ntrip_client
from .status import StreamStatus

__all__ = [
    "Source",
    "FileSource",
    "StdinSource",
    "SerialSource",
    "TcpClientSource",
    "TcpServerSource",
    "NtripClientSource",
]

CHUNK = 65536


class Source:
    """A byte source (see the module docstring). Subclasses implement :meth:`_connect`
    (returns a ``read()`` callable giving bytes, ``b""`` on a timeout, None at the end of
    the connection) and optionally :meth:`write`."""

    #: Sources that end (files) are not reconnected.
    finite = False

    def __init__(self, name: str, *, reconnect_s: float = 1.0, reconnect_max_s: float = 30.0,
                 max_reconnects: int | None = None, stall_s: float = 10.0, reconnect_on_stall: bool = True,
                 poll_s: float = 0.2) -> None:
        self.name = name
        self.status = StreamStatus(name)
        self.reconnect_s, self.reconnect_max_s = float(reconnect_s), float(reconnect_max_s)
        self.max_reconnects = max_reconnects
        self.stall_s, self.reconnect_on_stall = float(stall_s), reconnect_on_stall
        self.poll_s = float(poll_s)
        self._stop = threading.Event()
        self._conn = None

    # ------------------------------------------------------------------ public
    def chunks(self) -> Iterator[bytes]:
        """The bytes of the stream as they come (``b""`` on idle polls)."""
        delay = self.reconnect_s
        failures = 0
        while not self._stop.is_set():
            self.status.set("connecting" if self.status.connects == 0 else "reconnecting",
                            self.describe())
            try:
                read = self._connect()
            except NtripRefused as exc:
                read, why, state = None, str(exc), "refused"
            except (OSError, NtripError, SatnavError) as exc:
                read, why, state = None, _reason(exc), "disconnected"
            if read is not None:
                self.status.connects += 1
                if self.status.connects > 1:
                    self.status.reconnects += 1
                self.status.set("connected", self.describe())
                self.status.last_data = time.monotonic()
                failures, delay = 0, self.reconnect_s
                why, state = yield from self._pump(read)
                self._disconnect()
                if state == "ended":
                    self.status.set("ended", why)
                    return
            if self._stop.is_set():
                break
            failures += 1
            if self.finite:
                self.status.set("ended", why)
                return
            if self.max_reconnects is not None and failures > self.max_reconnects:
                self.status.set(state, f"{why}; giving up after {failures} attempts")
                return
            self.status.set(state, f"{why}; retrying in {delay:.1f} s")
            end = time.monotonic() + delay
            while time.monotonic() < end and not self._stop.is_set():
                yield b""
                self._stop.wait(min(self.poll_s, max(0.0, end - time.monotonic())))
            delay = min(delay * 2.0, self.reconnect_max_s)
        self.status.set("closed")

    def __iter__(self) -> Iterator[bytes]:
        return self.chunks()

    def close(self) -> None:
        """Stop: the iterator ends at its next poll."""
        self._stop.set()
        self._disconnect()

    def write(self, data: bytes) -> None:
        """Send bytes upstream (GGA to a caster, commands to a receiver) when the source can."""

    def describe(self) -> str:
        return self.name

    # ------------------------------------------------------------------ internals
    def _connect(self) -> Callable[[], bytes | None]:
        raise NotImplementedError

    def _disconnect(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except OSError:
                pass

    def _pump(self, read):
        """Yield the data of one connection; (reason, state) when it ends."""
        stalled = False
        while not self._stop.is_set():
            try:
                data = read()
            except (OSError, NtripError, SatnavError) as exc:
                return _reason(exc), "disconnected"
            if data is None:
                return ("end of data", "ended") if self.finite else ("connection closed by the peer", "disconnected")
            if data:
                self.status.data(len(data))
                stalled = False
                yield data
                continue
            idle = self.status.idle_s() or 0.0
            if not self.finite and idle > self.stall_s and not stalled:
                stalled = True
                self.status.set("stalled", f"no data for {idle:.1f} s")
                if self.reconnect_on_stall:
                    return f"no data for {idle:.1f} s", "disconnected"
            yield b""
        return "closed", "closed"


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and not isinstance(exc, NtripError):
        what = exc.strerror or str(exc) or type(exc).__name__
        return what[:1].lower() + what[1:]
    return str(exc)


class FileSource(Source):
    """A file (plain or gzip-compressed) read in chunks as fast as the consumer takes them.

    ``follow``: at the end, wait for more data (a log being written) instead of ending."""

    finite = True

    def __init__(self, path, *, chunk: int = CHUNK, follow: bool = False, **kw) -> None:
        super().__init__(f"file {path}", **kw)
        self.path = os.fspath(path)
        self.chunk = int(chunk)
        self.follow = follow
        if follow:
            self.finite = False

    def _connect(self):
        if not os.path.isfile(self.path):
            kind = "missing" if not os.path.exists(self.path) else "not a regular file"
            raise SatnavError(f"{self.path}: cannot read ({kind})")
        with open(self.path, "rb") as fh:
            magic = fh.read(2)
        fh = gzip.open(self.path, "rb") if magic == b"\x1f\x8b" else open(self.path, "rb")
        self._conn = fh

        def read():
            data = fh.read(self.chunk)
            if data:
                return data
            if self.follow:
                self._stop.wait(self.poll_s)
                return b""
            return None

        return read


class StdinSource(Source):
    """Standard input (``-``), read without blocking the consumer's polls."""

    finite = True

    def __init__(self, *, stream=None, **kw) -> None:
        super().__init__("stdin", **kw)
        self.stream = stream if stream is not None else sys.stdin.buffer

    def _connect(self):
        fd = self.stream.fileno()

        def read():
            ready, _, _ = select.select([fd], [], [], self.poll_s)
            if not ready:
                return b""
            data = os.read(fd, CHUNK)
            return data if data else None

        return read


class SerialSource(Source):
    """A serial port (pyserial; any ``serial_for_url`` URL, e.g. ``loop://`` in tests)."""

    def __init__(self, port: str, baudrate: int = 115200, **kw) -> None:
        super().__init__(f"serial {port}:{baudrate}", **kw)
        self.port, self.baudrate = port, int(baudrate)

    def _connect(self):
        try:
            import serial
        except ImportError:
            raise SatnavError("serial ports need pyserial: pip install 'satnav[streams]'") from None
        try:
            conn = serial.serial_for_url(self.port, baudrate=self.baudrate, timeout=self.poll_s)
        except (serial.SerialException, ValueError) as exc:
            raise SatnavError(f"{self.port}: cannot open ({exc})") from None
        self._conn = conn

        def read():
            try:
                data = conn.read(max(1, min(CHUNK, conn.in_waiting or 1)))
            except serial.SerialException as exc:
                raise SatnavError(f"{self.port}: {exc}") from None
            return data

        return read

    def write(self, data: bytes) -> None:
        conn = self._conn
        if conn is not None:
            try:
                conn.write(data)
            except Exception:  # noqa: BLE001 - a failed write is reported by the next read
                pass


def _socket_reader(sock: socket.socket, poll_s: float, decode=None):
    sock.settimeout(poll_s)

    def read():
        try:
            data = sock.recv(CHUNK)
        except TimeoutError:
            return b""
        if not data:
            return None
        if decode is not None:
            try:
                return decode.send(data)
            except StopIteration:
                return None
        return data

    return read


class TcpClientSource(Source):
    """A TCP connection to ``host:port`` (a receiver's TCP port, ``str2str -out tcpsvr://``)."""

    def __init__(self, host: str, port: int, *, timeout_s: float = 10.0, **kw) -> None:
        super().__init__(f"tcp://{host}:{port}", **kw)
        self.host, self.port, self.timeout_s = host, int(port), float(timeout_s)

    def _connect(self):
        sock = socket.create_connection((self.host, self.port), timeout=self.timeout_s)
        self._conn = sock
        return _socket_reader(sock, self.poll_s)

    def write(self, data: bytes) -> None:
        conn = self._conn
        if conn is not None:
            try:
                conn.sendall(data)
            except OSError:
                pass


class TcpServerSource(Source):
    """Listen on ``host:port`` and read from the client that connects (one at a time; the
    next one is accepted when it leaves). ``port`` 0 takes a free port (:attr:`port`)."""

    def __init__(self, host: str = "", port: int = 0, **kw) -> None:
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind((host, int(port)))
        self._listener.listen(1)
        self._listener.settimeout(kw.get("poll_s", 0.2))
        self.host, self.port = host, self._listener.getsockname()[1]
        super().__init__(f"tcpsrv://{host}:{self.port}", **kw)

    def chunks(self) -> Iterator[bytes]:
        """As :meth:`Source.chunks`; waiting for a client is not a failure (no backoff)."""
        while not self._stop.is_set():
            self.status.set("listening", f"waiting for a client on port {self.port}")
            try:
                conn, addr = self._listener.accept()
            except (TimeoutError, BlockingIOError):
                yield b""
                continue
            except OSError:
                break
            self._conn = conn
            self.status.connects += 1
            self.status.set("connected", f"client {addr[0]}:{addr[1]}")
            self.status.last_data = time.monotonic()
            why, state = yield from self._pump(_socket_reader(conn, self.poll_s))
            self._disconnect()
            if not self._stop.is_set():
                self.status.set("disconnected", why)
        self.status.set("closed")

    def close(self) -> None:
        super().close()
        try:
            self._listener.close()
        except OSError:
            pass


class NtripClientSource(Source):
    """An NTRIP client of ``mount`` on a caster (NTRIP 1.0 or 2.0).

    ``gga``: a callable returning the latest NMEA GGA sentence (bytes) or None; when it gives
    one, it is sent to the caster at connection and every ``gga_interval_s`` (network RTK
    mount points need the rover's approximate position)."""

    def __init__(self, host: str, port: int, mount: str, *, user: str | None = None,
                 password: str | None = None, version: int = 2, gga: Callable[[], bytes | None] | None = None,
                 gga_interval_s: float = 10.0, timeout_s: float = 10.0, **kw) -> None:
        super().__init__(f"ntrip://{host}:{port}/{mount}", **kw)
        self.host, self.port, self.mount = host, int(port), mount
        self.user, self.password, self.version = user, password, int(version)
        self.gga, self.gga_interval_s, self.timeout_s = gga, float(gga_interval_s), float(timeout_s)
        self._gga_sent = 0.0

    def describe(self) -> str:
        return f"NTRIP {self.version}.0 {self.host}:{self.port}/{self.mount}"

    def _connect(self):
        gga = self.gga() if self.gga is not None else None
        sock, rest, chunked = open_ntrip_client(self.host, self.port, self.mount, user=self.user,
                                                password=self.password, version=self.version, gga=gga,
                                                timeout_s=self.timeout_s)
        self._conn = sock
        self._gga_sent = time.monotonic() if gga else 0.0
        decode = None
        if chunked:
            decode = dechunk()
            next(decode)
            rest = decode.send(rest) if rest else b""
        read = _socket_reader(sock, self.poll_s, decode)
        first = [rest]

        def reader():
            if first:
                data = first.pop()
                if data:
                    return data
            self._send_gga()
            return read()

        return reader

    def _send_gga(self) -> None:
        if self.gga is None or time.monotonic() - self._gga_sent < self.gga_interval_s:
            return
        sentence = self.gga()
        if sentence:
            self.write(sentence)
            self._gga_sent = time.monotonic()

    def write(self, data: bytes) -> None:
        conn = self._conn
        if conn is not None:
            try:
                conn.sendall(data)
            except OSError:
                pass
