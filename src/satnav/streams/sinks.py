"""Byte sinks of a live stream: file, stdout, TCP server (any number of clients), NTRIP
server (pushing to a caster), and a mount point of satnav's own caster.

``write(data)`` never blocks the live loop for long and never raises on a network
problem: a TCP client that cannot keep up is dropped, an NTRIP server connection is made
and remade by a thread of its own (exponential backoff), with a bounded queue whose oldest
data are dropped (and counted) when the caster is away. Each sink has a
:class:`~satnav.streams.status.StreamStatus`.
"""

from __future__ import annotations

import os
import queue
import socket
import sys
import threading
import time

from ..errors import SatnavError
from .ntrip import NtripCaster, NtripError, chunk, open_ntrip_server
from .status import StreamStatus

__all__ = ["Sink", "FileSink", "StdoutSink", "TcpServerSink", "NtripServerSink", "CasterSink"]


class Sink:
    """A byte sink: :meth:`write`, :meth:`close`, :attr:`status`."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.status = StreamStatus(name, state="connected")

    def write(self, data: bytes) -> None:
        raise NotImplementedError

    def close(self) -> None:
        self.status.set("closed")

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class FileSink(Sink):
    """Append to a file (created; an existing file is refused unless ``append``), flushed
    at every write so that another program can follow it."""

    def __init__(self, path, *, append: bool = False) -> None:
        super().__init__(f"file {path}")
        self.path = os.fspath(path)
        try:
            self._fh = open(self.path, "ab" if append else "xb")
        except FileExistsError:
            raise SatnavError(f"{self.path}: the output file exists: a stream is not written over a file "
                              "(remove it or name another)") from None

    def write(self, data: bytes) -> None:
        self._fh.write(data)
        self._fh.flush()
        self.status.bytes += len(data)

    def close(self) -> None:
        if not self._fh.closed:
            self._fh.close()
        super().close()


class StdoutSink(Sink):
    """Standard output (binary), flushed at every write; a closed pipe ends the writes."""

    def __init__(self, stream=None) -> None:
        super().__init__("stdout")
        self._out = stream if stream is not None else sys.stdout.buffer

    def write(self, data: bytes) -> None:
        if self.status.state == "closed":
            return
        try:
            self._out.write(data)
            self._out.flush()
            self.status.bytes += len(data)
        except (BrokenPipeError, ValueError):
            self.status.set("closed", "the reader of standard output went away")


class TcpServerSink(Sink):
    """Serve the data to every TCP client of ``host:port`` (port 0: a free one, see
    :attr:`port`). A client whose send would block longer than ``client_timeout_s`` is
    dropped."""

    def __init__(self, host: str = "", port: int = 0, *, client_timeout_s: float = 2.0) -> None:
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind((host, int(port)))
        self._listener.listen(16)
        self._listener.settimeout(0.2)
        self.host, self.port = host, self._listener.getsockname()[1]
        super().__init__(f"tcpsrv://{host}:{self.port}")
        self.status.set("listening")
        self.client_timeout_s = client_timeout_s
        self._clients: list[socket.socket] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, name=f"tcp-sink:{self.port}", daemon=True)
        self._thread.start()

    @property
    def n_clients(self) -> int:
        return len(self._clients)

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, addr = self._listener.accept()
            except (TimeoutError, BlockingIOError):
                continue
            except OSError:
                return
            conn.settimeout(self.client_timeout_s)
            try:  # each write is one epoch's output: sent at once, not held for the next (Nagle)
                conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:
                pass
            with self._lock:
                self._clients.append(conn)
            self.status.set("connected", f"{len(self._clients)} client(s), last {addr[0]}:{addr[1]}")

    def write(self, data: bytes) -> None:
        with self._lock:
            clients = list(self._clients)
        for c in clients:
            try:
                c.sendall(data)
            except OSError:
                with self._lock:
                    if c in self._clients:
                        self._clients.remove(c)
                try:
                    c.close()
                except OSError:
                    pass
                self.status.set("listening" if not self._clients else "connected",
                                f"a client left or was too slow; {len(self._clients)} client(s)")
        self.status.bytes += len(data)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self._listener.close()
        with self._lock:
            for c in self._clients:
                try:
                    c.close()
                except OSError:
                    pass
            self._clients.clear()
        super().close()


class NtripServerSink(Sink):
    """Push the data to ``mount`` of an NTRIP caster (``SOURCE`` 1.0 or ``POST`` 2.0), from
    a thread that connects and reconnects (backoff ``reconnect_s`` doubling up to
    ``reconnect_max_s``). At most ``queue_bytes`` wait while the caster is away; older data
    are dropped (:attr:`dropped_bytes`)."""

    def __init__(self, host: str, port: int, mount: str, *, user: str | None = None,
                 password: str | None = None, version: int = 2, reconnect_s: float = 1.0,
                 reconnect_max_s: float = 30.0, queue_bytes: int = 1 << 20, timeout_s: float = 5.0) -> None:
        super().__init__(f"ntrips://{host}:{port}/{mount}")
        self.status.set("connecting")
        self.host, self.port, self.mount = host, int(port), mount
        self.user, self.password, self.version = user, password, int(version)
        self.reconnect_s, self.reconnect_max_s, self.timeout_s = reconnect_s, reconnect_max_s, timeout_s
        self.queue_bytes = int(queue_bytes)
        self.dropped_bytes = 0
        self._queue: queue.Queue = queue.Queue()
        self._queued = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"ntrip-server:{mount}", daemon=True)
        self._thread.start()

    def write(self, data: bytes) -> None:
        with self._lock:
            self._queue.put(bytes(data))
            self._queued += len(data)
            while self._queued > self.queue_bytes:
                try:
                    old = self._queue.get_nowait()
                except queue.Empty:
                    break
                self._queued -= len(old)
                self.dropped_bytes += len(old)

    def _take(self, timeout: float) -> bytes | None:
        try:
            data = self._queue.get(timeout=timeout)
        except queue.Empty:
            return None
        with self._lock:
            self._queued -= len(data)
        return data

    def _run(self) -> None:
        delay = self.reconnect_s
        while not self._stop.is_set():
            try:
                sock = open_ntrip_server(self.host, self.port, self.mount, user=self.user, password=self.password,
                                         version=self.version, timeout_s=self.timeout_s)
            except (OSError, NtripError) as exc:
                state = "refused" if "refused" in str(exc) else "disconnected"
                self.status.set(state, f"{exc}; retrying in {delay:.1f} s")
                self._stop.wait(delay)
                delay = min(delay * 2, self.reconnect_max_s)
                continue
            delay = self.reconnect_s
            self.status.connects += 1
            self.status.set("connected", f"NTRIP {self.version}.0 server of {self.mount}")
            try:
                sock.settimeout(self.timeout_s)
                while not self._stop.is_set():
                    data = self._take(0.2)
                    if data is None:
                        continue
                    sock.sendall(chunk(data) if self.version == 2 else data)
                    self.status.bytes += len(data)
                if self.version == 2:
                    sock.sendall(b"0\r\n\r\n")
            except OSError as exc:
                self.status.set("disconnected", f"{exc.strerror or exc}; reconnecting")
            finally:
                try:
                    sock.close()
                except OSError:
                    pass

    def close(self) -> None:
        deadline = time.monotonic() + 2.0
        while not self._queue.empty() and time.monotonic() < deadline and self.status.state == "connected":
            time.sleep(0.02)
        self._stop.set()
        self._thread.join(timeout=3)
        super().close()


class CasterSink(Sink):
    """Serve the data as mount point ``mount`` of satnav's own :class:`NtripCaster` (made
    here, or given)."""

    def __init__(self, mount: str = "SATNAV", *, host: str = "", port: int = 2101, user: str | None = None,
                 password: str | None = None, caster: NtripCaster | None = None, **kw) -> None:
        self.caster = caster if caster is not None else NtripCaster(host or "0.0.0.0", port, (mount,), user=user,
                                                                    password=password, **kw)
        self._own = caster is None
        self.mount = mount
        super().__init__(f"ntripc://{host}:{self.caster.port}/{mount}")
        self.port = self.caster.port

    def write(self, data: bytes) -> None:
        self.caster.publish(self.mount, data)
        self.status.bytes += len(data)

    def close(self) -> None:
        if self._own:
            self.caster.close()
        super().close()
