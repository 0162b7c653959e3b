"""Byte sources and sinks on 127.0.0.1 (ephemeral ports, each test bounded to seconds):
file, serial (pyserial's loop://), TCP client/server, NTRIP 1/2 client against satnav's
caster and against RTKLIB's str2str caster, NTRIP servers pushing, reconnection after a cut,
a refused mount point, the source table."""

from __future__ import annotations

import gzip
import shutil
import socket
import subprocess
import sys
import threading
import time

import pytest

from satnav.errors import SatnavError
from satnav.streams.ntrip import (
    NtripCaster,
    NtripRefused,
    list_source_table,
    open_ntrip_client,
    parse_source_table,
    wait_for,
)
from satnav.streams.sinks import FileSink, NtripServerSink, TcpServerSink
from satnav.streams.sources import (
    FileSource,
    NtripClientSource,
    SerialSource,
    TcpClientSource,
    TcpServerSource,
)
from satnav.streams.urls import parse_address
from tests.conftest import data_path


def _collect(source, until, timeout_s=5.0):
    """Bytes from ``source`` until ``until(data)`` or the timeout (then the source is closed)."""
    out = bytearray()
    end = time.monotonic() + timeout_s
    for chunk in source.chunks():
        out += chunk
        if until(bytes(out)) or time.monotonic() > end:
            break
    source.close()
    return bytes(out)


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_file_source_plain_and_gzip(tmp_path):
    data = bytes(range(256)) * 1000
    (tmp_path / "a.bin").write_bytes(data)
    (tmp_path / "a.bin.gz").write_bytes(gzip.compress(data))
    for name in ("a.bin", "a.bin.gz"):
        src = FileSource(tmp_path / name, chunk=1000)
        assert b"".join(src.chunks()) == data
        assert src.status.state == "ended"


def test_file_source_missing_file_says_so(tmp_path):
    src = FileSource(tmp_path / "nope.ubx")
    assert b"".join(src.chunks()) == b""
    assert src.status.state == "ended" and "nope.ubx" in src.status.message


def test_serial_loopback():
    src = SerialSource("loop://", 9600, poll_s=0.05)
    it = src.chunks()
    assert next(it) == b"" or True
    src.write(b"$GPGGA,hello*00\r\n")
    got = bytearray()
    end = time.monotonic() + 3
    while b"hello" not in got and time.monotonic() < end:
        got += next(it)
    src.close()
    assert b"hello" in got


def test_tcp_server_sink_to_tcp_client_source_with_reconnect():
    sink = TcpServerSink("127.0.0.1", 0)
    src = TcpClientSource("127.0.0.1", sink.port, reconnect_s=0.05, poll_s=0.05)
    got = bytearray()
    it = src.chunks()
    end = time.monotonic() + 5
    while sink.n_clients == 0 and time.monotonic() < end:
        next(it)
    sink.write(b"first;")
    while b"first;" not in got and time.monotonic() < end:
        got += next(it)
    # the server goes away and comes back on the same port: the source reconnects
    port = sink.port
    sink.close()
    while src.status.state == "connected" and time.monotonic() < end:
        got += next(it)
    assert src.status.state in ("disconnected", "reconnecting", "connecting")
    sink = TcpServerSink("127.0.0.1", port)
    while sink.n_clients == 0 and time.monotonic() < end:
        got += next(it)
    sink.write(b"second;")
    while b"second;" not in got and time.monotonic() < end:
        got += next(it)
    src.close()
    sink.close()
    assert bytes(got) == b"first;second;"
    assert src.status.reconnects >= 1


def test_tcp_server_source_reads_a_pushing_client():
    src = TcpServerSource("127.0.0.1", 0, poll_s=0.05)

    def push():
        with socket.create_connection(("127.0.0.1", src.port)) as c:
            c.sendall(b"pushed data")

    threading.Thread(target=push, daemon=True).start()
    assert _collect(src, lambda d: b"pushed data" in d) == b"pushed data"


@pytest.mark.parametrize("version", [1, 2])
def test_ntrip_server_caster_client(version):
    with NtripCaster("127.0.0.1", 0, ("BASE",), user="u", password="p", server_password="s") as caster:
        server = NtripServerSink("127.0.0.1", caster.port, "BASE", user="x", password="s", version=version,
                                 reconnect_s=0.05)
        assert wait_for(lambda: server.status.state == "connected", 5), server.status
        src = NtripClientSource("127.0.0.1", caster.port, "BASE", user="u", password="p", version=version,
                                poll_s=0.05)
        it = src.chunks()
        got = bytearray()
        end = time.monotonic() + 5
        while caster.clients("BASE") == 0 and time.monotonic() < end:
            next(it)
        for k in range(5):
            server.write(b"rtcm%d;" % k)
        while len(got) < 30 and time.monotonic() < end:
            got += next(it)
        src.close()
        server.close()
        assert bytes(got) == b"rtcm0;rtcm1;rtcm2;rtcm3;rtcm4;"


def test_refused_mount_point_and_credentials():
    with NtripCaster("127.0.0.1", 0, ("BASE",), user="u", password="p") as caster:
        with pytest.raises(NtripRefused, match="no mount point 'NOPE'"):
            open_ntrip_client("127.0.0.1", caster.port, "NOPE", user="u", password="p")
        with pytest.raises(NtripRefused, match="credentials"):
            open_ntrip_client("127.0.0.1", caster.port, "BASE", user="u", password="wrong")
        # as a source: reported "refused", retried with backoff, never raises
        src = NtripClientSource("127.0.0.1", caster.port, "NOPE", reconnect_s=0.05, max_reconnects=2, poll_s=0.02)
        assert b"".join(src.chunks()) == b""
        assert src.status.state == "refused" and "NOPE" in src.status.message
        table = list_source_table("127.0.0.1", caster.port, version=1)
        assert [e.mountpoint for e in table] == ["BASE"]
        assert [e.mountpoint for e in list_source_table("127.0.0.1", caster.port)] == ["BASE"]


def test_source_table_parsing():
    text = ("STR;MNT1;Here;RTCM 3.2;1005(10),1077(1);2;GPS+GLO;EUREF;DEU;50.09;8.66;0;0;sNTRIP;none;B;N;2400;\r\n"
            "CAS;caster.example;2101;X;Y;0;DEU;50;8;\r\nENDSOURCETABLE\r\n")
    (e,) = parse_source_table(text)
    assert (e.mountpoint, e.format, e.latitude_deg, e.longitude_deg, e.authentication) == ("MNT1", "RTCM 3.2", 50.09, 8.66, "B")


def test_stall_is_reported():
    sink = TcpServerSink("127.0.0.1", 0)
    src = TcpClientSource("127.0.0.1", sink.port, stall_s=0.3, poll_s=0.05, reconnect_on_stall=False)
    states = []
    src.status.on_event = lambda st, text: states.append(st.state)
    end = time.monotonic() + 3
    for _ in src.chunks():
        if "stalled" in states or time.monotonic() > end:
            break
    src.close()
    sink.close()
    assert "stalled" in states


def test_file_sink_refuses_to_overwrite(tmp_path):
    p = tmp_path / "out.nmea"
    p.write_text("keep")
    with pytest.raises(SatnavError, match="output file exists"):
        FileSink(p)
    assert p.read_text() == "keep"


def test_stream_output_over_a_file_is_one_line_exit_2(tmp_path):
    """``satnav stream ... --out nmea:EXISTING``: one line naming the file, exit 2, the file
    as it was (it said "cannot read (file exists)" before)."""
    out = tmp_path / "out.nmea"
    out.write_text("keep")
    obs = data_path("esbc-2020-177", "ESBC00DNK_R_20201770000_01D_30S_MO.crx.gz")
    nav = data_path("esbc-2020-177", "ESBC00DNK_R_20201770000_01D_MN.rnx.gz")
    run = subprocess.run([sys.executable, "-m", "satnav", "stream", str(obs), "--nav", str(nav),
                          "--out", f"nmea:{out}", "-q"], capture_output=True, text=True, timeout=120)
    assert run.returncode == 2, run.stderr
    assert run.stderr.strip().splitlines() == [
        f"satnav: {out}: the output file exists: a stream is not written over a file (remove it or name another)"]
    assert out.read_text() == "keep"


def test_addresses():
    a = parse_address("ntrip://me:secret@caster.example:2102/MOUNT1")
    assert (a.kind, a.host, a.port, a.mount, a.user, a.password, a.version) == (
        "ntrip", "caster.example", 2102, "MOUNT1", "me", "secret", 2)
    assert parse_address("ntrip1://caster.example/M").port == 2101
    assert parse_address("ntrip1://caster.example/M").version == 1
    assert parse_address("serial:/dev/ttyACM0:38400").baudrate == 38400
    assert parse_address("serial:/dev/ttyACM0").path == "/dev/ttyACM0"
    assert parse_address("tcpsrv://:5000").port == 5000
    assert parse_address("tcp://:5000", sink=True).kind == "tcpsrv"
    assert parse_address("ntripc://:2101/BASE", sink=True).kind == "ntripc"
    assert parse_address("ntrips://:pw@localhost:2101/BASE", sink=True).password == "pw"
    for bad in ("tcp://host", "tcp://:99999", "ftp://x", "ntrip://host:2101"):
        with pytest.raises(SatnavError):
            from satnav.streams.urls import open_source

            open_source(bad)
    with pytest.raises(SatnavError, match="is an output"):
        parse_address("ntripc://:2101/BASE")


STR2STR = shutil.which("str2str")


@pytest.mark.skipif(STR2STR is None, reason="RTKLIB str2str not installed")
def test_str2str_caster_serves_our_ntrip_client():
    """RTKLIB's caster (an independent NTRIP implementation) relays a TCP stream to our client."""
    feed = TcpServerSink("127.0.0.1", 0)
    cport = _free_port()
    proc = subprocess.Popen([STR2STR, "-in", f"tcpcli://127.0.0.1:{feed.port}", "-out",
                             f"ntripc://u:p@:{cport}/BASE"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        assert wait_for(lambda: feed.n_clients > 0, 10)
        src = None
        for version in (1, 2):
            src = NtripClientSource("127.0.0.1", cport, "BASE", user="u", password="p", version=version,
                                    poll_s=0.05, reconnect_s=0.1)
            got = bytearray()
            end = time.monotonic() + 8
            for chunk in src.chunks():
                got += chunk
                if src.status.state == "connected":
                    feed.write(b"x" * 100)
                if len(got) >= 300 or time.monotonic() > end:
                    break
            src.close()
            assert len(got) >= 300 and set(got) == {ord("x")}, (version, src.status)
        with pytest.raises(NtripRefused):
            open_ntrip_client("127.0.0.1", cport, "NOPE", user="u", password="p", version=1)
    finally:
        proc.terminate()
        proc.wait(5)
        feed.close()


def test_stdin_source_reads_a_pipe():
    import os

    from satnav.streams.sources import StdinSource

    r, w = os.pipe()
    with os.fdopen(r, "rb") as rf:
        src = StdinSource(stream=rf, poll_s=0.05)
        os.write(w, b"from a pipe")
        os.close(w)
        assert b"".join(src.chunks()) == b"from a pipe"
        assert src.status.state == "ended"


def test_gga_upload_for_network_rtk():
    gga = b"$GPGGA,120000.00,3509.6524,N,13936.8303,E,1,07,1.0,70.0,M,0.0,M,,*4C\r\n"
    with NtripCaster("127.0.0.1", 0, ("VRS",)) as caster:
        for version in (1, 2):
            src = NtripClientSource("127.0.0.1", caster.port, "VRS", version=version, gga=lambda: gga,
                                    gga_interval_s=0.1, poll_s=0.05)
            end = time.monotonic() + 5
            for _ in src.chunks():
                if caster.from_clients.get("VRS", b"").count(b"$GPGGA") >= 2 or time.monotonic() > end:
                    break
            src.close()
            assert caster.from_clients["VRS"].count(gga) >= 2, version
            caster.from_clients.clear()


def test_sourcetable_command(capsys):
    from satnav.cli.main import main

    with NtripCaster("127.0.0.1", 0, ("ALPHA", "BETA")) as caster:
        assert main(["stream", "--sourcetable", f"127.0.0.1:{caster.port}"]) == 0
    out = capsys.readouterr().out.split()
    assert "ALPHA" in out and "BETA" in out


def test_rinex_feed_reads_in_chunks_and_equals_the_whole_file():
    """RinexFeed reads RINEX in time chunks of ``chunk_epochs`` epochs (a RINEX 3 file is
    never held whole) and gives the epochs of the file as read whole, each once and in
    order across the chunk boundaries: gsi 0759 (RINEX 2, sliced, to its end) and esbc
    (Compact RINEX 3, streamed through crx2rnx; the feed stopped after 120 epochs, and the
    epochs it had queued before it saw the stop, however many, checked too)."""
    import itertools
    import queue as _queue

    import numpy as np

    import satnav
    from satnav.io.stream_items import EpochItem
    from satnav.streams.feeds import END, RinexFeed
    from tests.conftest import data_path

    for path, n in ((data_path("gsi-2005-092", "07590920.05o"), None),
                    (data_path("esbc-2020-177", "ESBC00DNK_R_20201770000_01D_30S_MO.crx.gz"), 120)):
        sizes = [len(c.epochs) for c in itertools.islice(RinexFeed("rover", path, _queue.Queue(),
                                                                   chunk_epochs=7)._chunks(), 5)]
        assert sizes == [7] * 5
        q = _queue.Queue()
        feed = RinexFeed("rover", path, q, chunk_epochs=7)
        feed.start()
        got = []
        while True:
            _role, item, _t = q.get(timeout=300)
            if item is END:
                break
            if isinstance(item, EpochItem):
                got.append(item.observations)
                if n is not None and len(got) == n:
                    feed.stop()
        feed.join(10)
        assert feed.error is None
        whole = satnav.read_obs(path)
        if n is None:
            assert len(got) == len(whole.epochs)
        else:
            assert n <= len(got) < len(whole.epochs)
            whole = whole.epoch_slice(0, len(got))
        times = np.concatenate([g.epochs for g in got])
        np.testing.assert_array_equal(times, whole.epochs)  # each epoch once, in order
        for k in (0, 6, 7, 13, 14, len(got) - 1):
            one = whole.epoch_slice(k, k + 1)
            np.testing.assert_array_equal(got[k].epochs, one.epochs)
            assert got[k].codes == one.codes
            np.testing.assert_array_equal(got[k].sat, one.sat)
            np.testing.assert_array_equal(got[k].value, one.value)
