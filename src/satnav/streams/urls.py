"""Stream addresses as text, for the command line and options files.

Sources (:func:`open_source`):

=====================================  ==============================================
``-``                                  standard input
``PATH`` or ``file:PATH``              a file (plain or gzip); ``PATH`` must exist
``serial:/dev/ttyACM0[:115200]``       a serial port (pyserial), baud rate default 115200
``tcp://HOST:PORT``                    TCP client (``tcpcli://`` too)
``tcpsrv://[HOST]:PORT``               TCP server: read from the client that connects
``ntrip://[USER[:PASS]@]HOST[:PORT]/MOUNT``  NTRIP 2.0 client (``ntrip1://``: NTRIP 1.0);
                                       port default 2101
=====================================  ==============================================

Sinks (:func:`open_sink`):

=====================================  ==============================================
``-``                                  standard output
``PATH`` or ``file:PATH``              a new file
``tcp://[HOST]:PORT``                  TCP server, any number of clients (``tcpsrv://`` too)
``ntrips://[USER]:PASS@HOST[:PORT]/MOUNT``  push to a caster as its NTRIP 2.0 server
                                       (``ntrips1://``: NTRIP 1.0 ``SOURCE``)
``ntripc://[USER:PASS@][HOST]:PORT/MOUNT``  serve it from satnav's own caster
=====================================  ==============================================
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from urllib.parse import unquote

from ..errors import SatnavError

__all__ = ["StreamAddress", "parse_address", "open_source", "open_sink"]

NTRIP_PORT = 2101


@dataclass(frozen=True)
class StreamAddress:
    """A parsed address: ``kind`` (stdio, file, serial, tcp, tcpsrv, ntrip, ntrips, ntripc)."""

    kind: str
    text: str
    path: str = ""
    host: str = ""
    port: int = 0
    mount: str = ""
    user: str | None = None
    password: str | None = None
    version: int = 2
    baudrate: int = 115200


def _host_port(text: str, what: str, default_port: int | None = None) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep:
        host, port = text, ""
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not port:
        if default_port is None:
            raise SatnavError(f"{what}: no port, expected HOST:PORT")
        return host, default_port
    try:
        p = int(port)
    except ValueError:
        p = -1
    if not 0 <= p <= 65535:
        raise SatnavError(f"{what}: port {port!r}, expected a number 0-65535")
    return host, p


def _credentials(netloc: str) -> tuple[str | None, str | None, str]:
    if "@" not in netloc:
        return None, None, netloc
    cred, _, rest = netloc.rpartition("@")
    user, sep, password = cred.partition(":")
    return unquote(user) or None, unquote(password) if sep else None, rest


def parse_address(text: str, *, sink: bool = False) -> StreamAddress:
    """Parse a source (or, with ``sink``, a sink) address; SatnavError says what was expected."""
    if text == "-":
        return StreamAddress("stdio", text)
    scheme, sep, rest = text.partition("://")
    if not sep:
        if text.startswith("file:"):
            return StreamAddress("file", text, path=text[5:])
        if text.startswith("serial:"):
            port, _, baud = text[7:].rpartition(":") if text[7:].count(":") else (text[7:], "", "")
            if not port:
                port, baud = baud, ""
            try:
                rate = int(baud) if baud else 115200
            except ValueError:
                raise SatnavError(f"{text}: baud rate {baud!r}, expected serial:DEVICE[:BAUD]") from None
            return StreamAddress("serial", text, path=port, baudrate=rate)
        return StreamAddress("file", text, path=text)
    scheme = scheme.lower()
    if scheme == "file":
        return StreamAddress("file", text, path=rest)
    if scheme in ("tcp", "tcpcli") and not sink:
        host, port = _host_port(rest.rstrip("/"), text)
        if not host:
            raise SatnavError(f"{text}: no host, expected tcp://HOST:PORT (a server: tcpsrv://:PORT)")
        return StreamAddress("tcp", text, host=host, port=port)
    if scheme in ("tcpsrv",) or (scheme == "tcp" and sink):
        host, port = _host_port(rest.rstrip("/"), text)
        return StreamAddress("tcpsrv", text, host=host, port=port)
    if scheme in ("ntrip", "ntrip1", "ntrip2", "ntrips", "ntrips1", "ntrips2", "ntripc"):
        netloc, _, mount = rest.partition("/")
        user, password, hostport = _credentials(netloc)
        mount = mount.strip("/")
        kind = "ntripc" if scheme == "ntripc" else "ntrips" if scheme.startswith("ntrips") else "ntrip"
        if kind == "ntrip" and sink:
            raise SatnavError(f"{text}: an NTRIP client address is a source; to push data to a caster "
                              "use ntrips://[USER]:PASS@HOST:PORT/MOUNT, to serve it ntripc://:PORT/MOUNT")
        if kind != "ntrip" and not sink:
            raise SatnavError(f"{text}: {scheme}:// is an output; to read from a caster use "
                              "ntrip://[USER:PASS@]HOST:PORT/MOUNT")
        if not mount and kind != "ntrip":
            raise SatnavError(f"{text}: no mount point, expected {scheme}://...HOST:PORT/MOUNT")
        host, port = _host_port(hostport, text, NTRIP_PORT)
        if not host and kind != "ntripc":
            raise SatnavError(f"{text}: no caster host, expected {scheme}://HOST[:PORT]/MOUNT")
        version = 1 if scheme.endswith("1") else 2
        return StreamAddress(kind, text, host=host, port=port, mount=mount, user=user, password=password,
                             version=version)
    raise SatnavError(f"{text}: unknown stream address, expected -, a file, serial:DEVICE[:BAUD], tcp://HOST:PORT, "
                      "tcpsrv://:PORT, ntrip://[USER:PASS@]HOST[:PORT]/MOUNT"
                      + (", ntrips://..., ntripc://:PORT/MOUNT" if sink else ""))


def open_source(text: str | StreamAddress, **kw):
    """The :class:`~satnav.streams.sources.Source` of an address (keywords go to it)."""
    from . import sources

    a = text if isinstance(text, StreamAddress) else parse_address(text)
    if a.kind == "stdio":
        return sources.StdinSource(**kw)
    if a.kind == "file":
        if not os.path.isfile(a.path):
            raise SatnavError(f"{a.path}: cannot read ({'no such file' if not os.path.exists(a.path) else 'not a regular file'})")
        return sources.FileSource(a.path, **kw)
    if a.kind == "serial":
        return sources.SerialSource(a.path, a.baudrate, **kw)
    if a.kind == "tcp":
        return sources.TcpClientSource(a.host, a.port, **kw)
    if a.kind == "tcpsrv":
        return sources.TcpServerSource(a.host, a.port, **kw)
    if a.kind == "ntrip":
        if not a.mount:
            raise SatnavError(f"{a.text}: no mount point, expected ntrip://HOST:PORT/MOUNT "
                              "(satnav stream --sourcetable HOST:PORT lists them)")
        return sources.NtripClientSource(a.host, a.port, a.mount, user=a.user, password=a.password,
                                         version=a.version, **kw)
    raise SatnavError(f"{a.text}: not a source")


def open_sink(text: str | StreamAddress, **kw):
    """The :class:`~satnav.streams.sinks.Sink` of an address."""
    from . import sinks

    a = text if isinstance(text, StreamAddress) else parse_address(text, sink=True)
    if a.kind == "stdio":
        return sinks.StdoutSink()
    if a.kind == "file":
        return sinks.FileSink(a.path, **kw)
    if a.kind == "tcpsrv":
        return sinks.TcpServerSink(a.host, a.port, **kw)
    if a.kind == "ntrips":
        return sinks.NtripServerSink(a.host, a.port, a.mount, user=a.user, password=a.password,
                                     version=a.version, **kw)
    if a.kind == "ntripc":
        return sinks.CasterSink(a.mount, host=a.host, port=a.port, user=a.user, password=a.password, **kw)
    raise SatnavError(f"{a.text}: not an output")
