"""NTRIP, the Networked Transport of RTCM via Internet Protocol: requests, responses,
source tables, and :class:`NtripCaster`, a small caster of satnav's own.

Sources: RTCM 10410.1 (NTRIP 2.0, 2011) and its appendix on NTRIP 1.0: a client asks
``GET /MOUNT`` with HTTP Basic credentials; an NTRIP 1.0 caster answers ``ICY 200 OK`` and
then the data, NTRIP 2.0 ``HTTP/1.1 200 OK`` with headers (``Ntrip-Version: Ntrip/2.0``,
data possibly ``Transfer-Encoding: chunked``). An unknown mount point gets the source table
(``SOURCETABLE 200 OK`` in 1.0, ``Content-Type: gnss/sourcetable`` in 2.0: ``STR;``,
``CAS;``, ``NET;`` records, then ``ENDSOURCETABLE``), wrong credentials
``401 Unauthorized``. A server (a base station) pushes data with ``SOURCE PASSWORD /MOUNT``
(1.0, answered ``ICY 200 OK``) or ``POST /MOUNT`` (2.0, chunked). A client of a network RTK
mount point sends its position as NMEA GGA sentences on the same connection.

The code here is plain sockets: every step of the protocol is visible and the errors say
which step failed (``pygnssutils``' client is an application with its own threads and
output handling; a live engine needs the bytes and precise failure reasons).
"""

from __future__ import annotations

import base64
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

from .._version import __version__
from ..errors import SatnavError
from .status import LOGGER

__all__ = [
    "NtripError",
    "NtripRefused",
    "SourceTableEntry",
    "client_request",
    "server_request",
    "read_response_head",
    "parse_source_table",
    "format_source_table",
    "dechunk",
    "NtripCaster",
    "open_ntrip_client",
    "open_ntrip_server",
    "list_source_table",
]

AGENT = f"NTRIP satnav/{__version__}"
#: Longest response head accepted (bytes).
MAX_HEAD = 16384
#: Longest source table accepted (bytes).
MAX_TABLE = 4 * 1024 * 1024


class NtripError(SatnavError):
    """An NTRIP exchange failed (connection, protocol)."""


class NtripRefused(NtripError):
    """The caster answered and refused: unknown mount point, wrong credentials."""


@dataclass(frozen=True)
class SourceTableEntry:
    """One ``STR`` record of a source table (RTCM 10410.1 table 7): the fields used here
    plus the whole record."""

    mountpoint: str
    identifier: str = ""
    format: str = ""
    format_details: str = ""
    carrier: str = ""
    nav_system: str = ""
    network: str = ""
    country: str = ""
    latitude_deg: float | None = None
    longitude_deg: float | None = None
    nmea: bool = False
    solution: str = ""
    authentication: str = ""
    record: str = ""


def _basic(user: str | None, password: str | None) -> str:
    if not user and not password:
        return ""
    token = base64.b64encode(f"{user or ''}:{password or ''}".encode()).decode("ascii")
    return f"Authorization: Basic {token}\r\n"


def client_request(host: str, port: int, mount: str, *, user: str | None = None,
                   password: str | None = None, version: int = 2, gga: bytes | None = None) -> bytes:
    """The request of an NTRIP client for ``mount`` (empty: the source table)."""
    path = "/" + mount.lstrip("/")
    if version == 1:
        head = f"GET {path} HTTP/1.0\r\nUser-Agent: {AGENT}\r\n{_basic(user, password)}"
    else:
        head = (f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nNtrip-Version: Ntrip/2.0\r\n"
                f"User-Agent: {AGENT}\r\n{_basic(user, password)}Connection: close\r\n")
        if gga:
            head += f"Ntrip-GGA: {gga.decode('ascii', 'replace').strip()}\r\n"
    return (head + "\r\n").encode("ascii")


def server_request(host: str, port: int, mount: str, *, user: str | None = None,
                   password: str | None = None, version: int = 2) -> bytes:
    """The request of an NTRIP server (a base station pushing data) for ``mount``."""
    path = "/" + mount.lstrip("/")
    if version == 1:
        return (f"SOURCE {password or ''} {path}\r\nSource-Agent: {AGENT}\r\n\r\n").encode("ascii")
    return (f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nNtrip-Version: Ntrip/2.0\r\n"
            f"User-Agent: {AGENT}\r\n{_basic(user, password)}Content-Type: gnss/data\r\n"
            "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n").encode("ascii")


def read_response_head(sock: socket.socket, *, timeout_s: float = 10.0) -> tuple[str, dict[str, str], bytes]:
    """(status line, headers with lower-case names, bytes read after the head).

    An NTRIP 1.0 ``ICY 200 OK`` may be followed directly by data (no blank line): the head
    then ends at the status line."""
    sock.settimeout(timeout_s)
    buf = b""
    while True:
        end = buf.find(b"\r\n\r\n")
        first = buf.find(b"\r\n")
        if first >= 0 and (buf.startswith(b"ICY 200") or buf.startswith(b"SOURCETABLE")) and end != first:
            status, rest = buf[:first], buf[first + 2 :]
            if buf.startswith(b"SOURCETABLE") and end >= 0:  # its headers, then the table
                status, rest = buf[:first], buf[end + 4 :]
                return status.decode("latin-1"), _headers(buf[first + 2 : end]), rest
            if buf.startswith(b"ICY 200"):
                return status.decode("latin-1"), {}, rest
        if end >= 0:
            lines = buf[:end].split(b"\r\n")
            return lines[0].decode("latin-1"), _headers(b"\r\n".join(lines[1:])), buf[end + 4 :]
        if len(buf) > MAX_HEAD:
            raise NtripError(f"no end of the response head in {MAX_HEAD} bytes: not an NTRIP caster?")
        try:
            chunk = sock.recv(4096)
        except TimeoutError:
            raise NtripError(f"no answer in {timeout_s:g} s") from None
        if not chunk:
            if buf:
                text = buf.split(b"\r\n")[0].decode("latin-1", "replace")[:80]
                raise NtripError(f"connection closed after {text!r}")
            raise NtripError("connection closed without an answer")
        buf += chunk


def _headers(block: bytes) -> dict[str, str]:
    out = {}
    for line in block.split(b"\r\n"):
        if b":" in line:
            k, v = line.split(b":", 1)
            out[k.decode("latin-1").strip().lower()] = v.decode("latin-1").strip()
    return out


def parse_source_table(text: str) -> list[SourceTableEntry]:
    """The ``STR`` records of a source table (other records and bad lines are skipped)."""
    out = []
    for line in text.splitlines():
        if not line.startswith("STR;"):
            continue
        f = line.split(";")
        f += [""] * (19 - len(f))

        def num(s):
            try:
                return float(s)
            except ValueError:
                return None

        out.append(SourceTableEntry(mountpoint=f[1], identifier=f[2], format=f[3], format_details=f[4],
                                    carrier=f[5], nav_system=f[6], network=f[7], country=f[8],
                                    latitude_deg=num(f[9]), longitude_deg=num(f[10]), nmea=f[11] == "1",
                                    solution=f[12], authentication=f[15], record=line))
    return out


def format_source_table(entries: list[SourceTableEntry] | list[str]) -> str:
    """Source table text (records then ``ENDSOURCETABLE``, CR LF)."""
    lines = [e.record if isinstance(e, SourceTableEntry) else str(e) for e in entries]
    return "".join(line + "\r\n" for line in lines) + "ENDSOURCETABLE\r\n"


def dechunk() -> Iterator:
    """A generator decoding HTTP chunked transfer encoding: ``send(bytes)`` returns the data
    bytes completed (prime it with ``next``)."""
    buf = b""
    out = b""
    while True:
        data = yield out
        out = b""
        buf += data or b""
        while True:
            nl = buf.find(b"\r\n")
            if nl < 0:
                break
            try:
                size = int(buf[:nl].split(b";")[0].strip() or b"0", 16)
            except ValueError:
                raise NtripError(f"bad chunk size {buf[:nl][:20]!r} in a chunked NTRIP 2 stream") from None
            if len(buf) < nl + 2 + size + 2:
                break
            out += buf[nl + 2 : nl + 2 + size]
            buf = buf[nl + 2 + size + 2 :]
            if size == 0:
                return


def _status_code(status: str) -> int:
    parts = status.split()
    try:
        return int(parts[1])
    except (IndexError, ValueError):
        return 0


def open_ntrip_client(host: str, port: int, mount: str, *, user: str | None = None,
                      password: str | None = None, version: int = 2, gga: bytes | None = None,
                      timeout_s: float = 10.0) -> tuple[socket.socket, bytes, bool]:
    """Connect and ask for ``mount``: (socket, data already read, chunked).

    Raises :class:`NtripRefused` when the caster answers with its source table (the mount
    point is not there), 401/403 (credentials) or 404; :class:`NtripError` otherwise."""
    try:
        sock = socket.create_connection((host, port), timeout=timeout_s)
    except OSError as exc:
        raise NtripError(f"cannot connect to {host}:{port} ({exc.strerror or exc})") from None
    try:
        sock.sendall(client_request(host, port, mount, user=user, password=password, version=version, gga=gga))
        status, headers, rest = read_response_head(sock, timeout_s=timeout_s)
        code = _status_code(status)
        table = status.startswith("SOURCETABLE") or "sourcetable" in headers.get("content-type", "")
        if table:
            raise NtripRefused(f"caster {host}:{port} has no mount point {mount!r} (it answered with its "
                               "source table)")
        if code in (401, 403):
            raise NtripRefused(f"caster {host}:{port} refused the credentials for {mount!r} ({status.strip()})")
        if code != 200:
            raise NtripRefused(f"caster {host}:{port} refused {mount!r}: {status.strip()[:100]}")
        chunked = "chunked" in headers.get("transfer-encoding", "").lower()
        if version == 1 and gga:
            sock.sendall(gga)
        return sock, rest, chunked
    except BaseException:
        sock.close()
        raise


def list_source_table(host: str, port: int, *, user: str | None = None, password: str | None = None,
                      version: int = 2, timeout_s: float = 10.0) -> list[SourceTableEntry]:
    """The source table of a caster."""
    try:
        sock = socket.create_connection((host, port), timeout=timeout_s)
    except OSError as exc:
        raise NtripError(f"cannot connect to {host}:{port} ({exc.strerror or exc})") from None
    with sock:
        sock.sendall(client_request(host, port, "", user=user, password=password, version=version))
        status, headers, rest = read_response_head(sock, timeout_s=timeout_s)
        code = _status_code(status)
        if not status.startswith("SOURCETABLE") and code != 200:
            raise NtripError(f"caster {host}:{port} answered {status.strip()[:100]!r} to a source-table request")
        chunks = [rest]
        total = len(rest)
        while b"ENDSOURCETABLE" not in b"".join(chunks[-2:]) and total < MAX_TABLE:
            try:
                data = sock.recv(65536)
            except TimeoutError:
                break
            if not data:
                break
            chunks.append(data)
            total += len(data)
    raw = b"".join(chunks)
    if "chunked" in headers.get("transfer-encoding", "").lower():
        d = dechunk()
        next(d)
        try:
            raw = d.send(raw)
        except StopIteration:
            pass
    return parse_source_table(raw.decode("latin-1"))


def open_ntrip_server(host: str, port: int, mount: str, *, user: str | None = None,
                      password: str | None = None, version: int = 2,
                      timeout_s: float = 10.0) -> socket.socket:
    """Connect to a caster as the server of ``mount`` (a base station pushing data);
    raises :class:`NtripRefused` when the caster refuses. With ``version=2`` the data
    written afterwards must be chunked (:func:`chunk`)."""
    try:
        sock = socket.create_connection((host, port), timeout=timeout_s)
    except OSError as exc:
        raise NtripError(f"cannot connect to {host}:{port} ({exc.strerror or exc})") from None
    try:
        sock.sendall(server_request(host, port, mount, user=user, password=password, version=version))
        status, _headers, _rest = read_response_head(sock, timeout_s=timeout_s)
        code = _status_code(status)
        if not (status.startswith("ICY 200") or code == 200):
            raise NtripRefused(f"caster {host}:{port} refused to take {mount!r}: {status.strip()[:100]}")
        return sock
    except BaseException:
        sock.close()
        raise


def chunk(data: bytes) -> bytes:
    """``data`` as one HTTP chunk."""
    return f"{len(data):X}\r\n".encode("ascii") + data + b"\r\n"


# ============================================================================ caster
class _Mount:
    def __init__(self, name: str, record: str):
        self.name = name
        self.record = record
        self.clients: list[socket.socket] = []
        self.has_server = False
        self.lock = threading.Lock()


class NtripCaster:
    """A small NTRIP 1.0/2.0 caster: mount points fed by NTRIP servers (``SOURCE``/``POST``)
    or by :meth:`publish` (satnav's own base station), served to any number of clients.

    Parameters
    ----------
    host, port : where to listen (port 0: any free port, see :attr:`port`).
    mounts : mount point names (others are refused: the client gets the source table).
    user, password : client credentials (none: no authentication).
    server_password : password of NTRIP servers pushing data (None: pushing refused).

    A client that cannot take the data as fast as it comes (its socket buffer full for
    more than ``client_timeout_s``) is dropped, so one slow client never holds the others.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, mounts=("SATNAV",), *,
                 user: str | None = None, password: str | None = None,
                 server_password: str | None = None, client_timeout_s: float = 5.0,
                 identifier: str = "satnav", position_deg: tuple[float, float] | None = None) -> None:
        self._sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((host, port))
        self._sock.listen(16)
        self._sock.settimeout(0.2)
        self.host, self.port = host, self._sock.getsockname()[1]
        lat, lon = position_deg if position_deg is not None else (0.0, 0.0)
        self.mounts = {m: _Mount(m, f"STR;{m};{identifier};RTCM 3.3;1005(10),1033(10),MSM7(1);2;GPS+GLO+GAL+BDS;"
                                    f"satnav;;{lat:.2f};{lon:.2f};0;0;satnav;none;{'B' if user else 'N'};N;0;")
                       for m in mounts}
        self.user, self.password, self.server_password = user, password, server_password
        self.client_timeout_s = client_timeout_s
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.log: list[str] = []
        #: Mount point -> the last bytes its clients sent (GGA sentences).
        self.from_clients: dict[str, bytes] = {}
        self._accept = threading.Thread(target=self._serve, name=f"ntrip-caster:{self.port}", daemon=True)
        self._accept.start()

    # ------------------------------------------------------------------ public
    def publish(self, mount: str, data: bytes) -> int:
        """Send ``data`` to every client of ``mount``; the number of clients reached."""
        m = self.mounts[mount]
        with m.lock:
            clients = list(m.clients)
        n = 0
        for c in clients:
            try:
                c.sendall(data)
                n += 1
            except OSError:
                self._drop(m, c, "client gone or too slow")
        return n

    def clients(self, mount: str) -> int:
        return len(self.mounts[mount].clients)

    def close(self) -> None:
        self._stop.set()
        self._accept.join(timeout=2)
        self._sock.close()
        for m in self.mounts.values():
            with m.lock:
                for c in m.clients:
                    _close(c)
                m.clients.clear()
        for t in self._threads:
            t.join(timeout=2)

    def __enter__(self) -> NtripCaster:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ------------------------------------------------------------------ internals
    def _note(self, text: str) -> None:
        self.log.append(text)
        LOGGER.info("caster %d: %s", self.port, text)

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, addr = self._sock.accept()
            except (TimeoutError, BlockingIOError):
                continue
            except OSError:
                return
            t = threading.Thread(target=self._handle, args=(conn, addr), daemon=True)
            self._threads = [x for x in self._threads if x.is_alive()] + [t]
            t.start()

    def _drop(self, m: _Mount, c: socket.socket, why: str) -> None:
        with m.lock:
            if c in m.clients:
                m.clients.remove(c)
                self._note(f"client of {m.name} dropped: {why}")
        _close(c)

    def _authorized(self, headers: dict[str, str]) -> bool:
        if not self.user and not self.password:
            return True
        want = base64.b64encode(f"{self.user or ''}:{self.password or ''}".encode()).decode("ascii")
        got = headers.get("authorization", "")
        return got.split()[-1:] == [want]

    def _handle(self, conn: socket.socket, addr) -> None:
        try:
            conn.settimeout(5.0)
            buf = b""
            while b"\r\n\r\n" not in buf and len(buf) < MAX_HEAD:
                data = conn.recv(4096)
                if not data:
                    _close(conn)
                    return
                buf += data
            head, _, rest = buf.partition(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            request = lines[0].split()
            headers = _headers("\r\n".join(lines[1:]).encode("latin-1"))
            v2 = headers.get("ntrip-version", "").lower().startswith("ntrip/2")
            if len(request) >= 3 and request[0] == "SOURCE":  # NTRIP 1 server
                self._take_server(conn, request[2].lstrip("/"), request[1] == (self.server_password or None),
                                  rest, v2=False)
            elif len(request) >= 2 and request[0] == "POST":
                ok = self.server_password is not None and self._server_authorized(headers)
                self._take_server(conn, request[1].lstrip("/"), ok, rest, v2=True,
                                  chunked="chunked" in headers.get("transfer-encoding", "").lower())
            elif len(request) >= 2 and request[0] == "GET":
                self._take_client(conn, request[1].lstrip("/"), headers, v2)
            else:
                conn.sendall(b"HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n")
                _close(conn)
        except OSError:
            _close(conn)

    def _server_authorized(self, headers) -> bool:
        got = headers.get("authorization", "").split()[-1:]
        if not got:
            return False
        try:
            _user, _, pw = base64.b64decode(got[0]).decode("latin-1").partition(":")
        except ValueError:
            return False
        return pw == self.server_password

    def _table(self, conn, v2: bool) -> None:
        table = format_source_table([m.record for m in self.mounts.values()]).encode("latin-1")
        if v2:
            conn.sendall(b"HTTP/1.1 200 OK\r\nNtrip-Version: Ntrip/2.0\r\nContent-Type: gnss/sourcetable\r\n"
                         + f"Content-Length: {len(table)}\r\nConnection: close\r\n\r\n".encode() + table)
        else:
            conn.sendall(b"SOURCETABLE 200 OK\r\nServer: " + AGENT.encode() + b"\r\nContent-Type: text/plain\r\n"
                         + f"Content-Length: {len(table)}\r\n\r\n".encode() + table)
        _close(conn)

    def _take_client(self, conn, mount: str, headers, v2: bool) -> None:
        m = self.mounts.get(mount)
        if m is None:
            self._note(f"client asked for unknown mount point {mount!r}: source table sent")
            self._table(conn, v2)
            return
        if not self._authorized(headers):
            conn.sendall(b"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"/" + mount.encode()
                         + b"\"\r\nConnection: close\r\n\r\n")
            self._note(f"client of {mount} refused: wrong credentials")
            _close(conn)
            return
        if v2:
            conn.sendall(b"HTTP/1.1 200 OK\r\nNtrip-Version: Ntrip/2.0\r\nContent-Type: gnss/data\r\n"
                         b"Cache-Control: no-store\r\nConnection: close\r\n\r\n")
        else:
            conn.sendall(b"ICY 200 OK\r\n")
        conn.settimeout(self.client_timeout_s)
        with m.lock:
            m.clients.append(conn)
        self._note(f"client of {mount} connected")
        # read (and drop) what the client sends (GGA sentences) until it leaves
        conn_reader = threading.Thread(target=self._drain_client, args=(m, conn), daemon=True)
        conn_reader.start()

    def _drain_client(self, m: _Mount, conn) -> None:
        """Read what a client sends (NMEA GGA of network-RTK rovers: the last 4 KiB are kept
        in :attr:`from_clients`) until it leaves."""
        while not self._stop.is_set():
            try:
                data = conn.recv(4096)
            except TimeoutError:
                continue
            except OSError:
                break
            if not data:
                break
            self.from_clients[m.name] = (self.from_clients.get(m.name, b"") + data)[-4096:]
        self._drop(m, conn, "disconnected")

    def _take_server(self, conn, mount: str, ok: bool, rest: bytes, *, v2: bool, chunked: bool = False) -> None:
        m = self.mounts.get(mount)
        if m is None or not ok or m.has_server:
            why = ("unknown mount point" if m is None else "wrong password" if not ok else "mount point already fed")
            conn.sendall(b"HTTP/1.1 401 Unauthorized\r\nConnection: close\r\n\r\n" if v2 else b"ERROR - Bad Password\r\n")
            self._note(f"server for {mount!r} refused: {why}")
            _close(conn)
            return
        conn.sendall(b"HTTP/1.1 200 OK\r\nNtrip-Version: Ntrip/2.0\r\nConnection: close\r\n\r\n" if v2
                     else b"ICY 200 OK\r\n")
        m.has_server = True
        self._note(f"server for {mount} connected")
        d = None
        if chunked:
            d = dechunk()
            next(d)
        conn.settimeout(0.5)
        try:
            data = rest
            while not self._stop.is_set():
                if data:
                    if d is not None:
                        try:
                            data = d.send(data)
                        except StopIteration:
                            break
                    if data:
                        self.publish(mount, data)
                try:
                    data = conn.recv(65536)
                except TimeoutError:
                    data = b""
                    continue
                if not data:
                    break
        except (OSError, NtripError):
            pass
        finally:
            m.has_server = False
            self._note(f"server for {mount} disconnected")
            _close(conn)


def _close(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    try:
        sock.close()
    except OSError:
        pass


def wait_for(predicate, timeout_s: float, step_s: float = 0.02) -> bool:
    """Poll ``predicate()`` until true or ``timeout_s`` passes (for tests and start-up)."""
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(step_s)
    return bool(predicate())
