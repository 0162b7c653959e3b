"""Loopback integration (127.0.0.1 only, ephemeral ports, bounded in time): a satnav base
station replays GEONET 3040 (RINEX) as RTCM 3 MSM7 at 1000 times its rate; the stream reaches
the rover through RTKLIB's str2str caster (``ntripc://``) or satnav's own caster; the rover
(0759 replayed from its RINEX file at the same rate) runs ``satnav stream`` in RTK mode with
the ephemerides of the base stream. Its positions equal ``satnav solve --base`` on the same
files -- the rover file and the RTCM 3 the base station sent (<= 1 mm) -- and NMEA arrives on
its TCP output."""

from __future__ import annotations

import io
import shutil
import socket
import subprocess
import threading

import numpy as np
import pytest

from satnav.options import SolveOptions, StreamOptions
from satnav.pipeline import solve_files
from satnav.streams.ntrip import wait_for
from satnav.streams.session import open_session
from tests.conftest import data_path

SPEED = 1000.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _NmeaClient:
    def __init__(self, port: int):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.data = bytearray()
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        self.sock.settimeout(30)
        while True:
            try:
                chunk = self.sock.recv(65536)
            except OSError:
                return
            if not chunk:
                return
            self.data.extend(chunk)

    def messages(self):
        from pynmeagps import NMEAReader

        self.thread.join(5)
        self.sock.close()
        return [m for _, m in NMEAReader(io.BytesIO(bytes(self.data)), validate=1)]


def _run_pair(tmp_path, base_out: str, rover_base: str, extra=None):
    """Base station and rover sessions; (rover summary, NMEA messages, RTCM 3 file sent)."""
    d = data_path("gsi-2005-092")
    sent = tmp_path / "sent.rtcm3"
    base = open_session(StreamOptions(replay_speed=SPEED), str(d / "30400920.05o"), navs=[d / "30400920.05n"],
                        outputs=[f"rtcm3:{base_out}", f"rtcm3:{sent}"])
    try:
        if extra is not None:
            extra(base)
        rover = open_session(StreamOptions(mode="rtk-kinematic", replay_speed=SPEED, base_wait_s=2.0, reconnect_s=0.1),
                             str(d / "07590920.05o"), base=rover_base, outputs=["nmea:tcp://127.0.0.1:0"],
                             keep_fixes=True)
        client = _NmeaClient(rover.sinks[0].port)
        assert wait_for(lambda: rover.sinks[0].n_clients == 1, 5)
        result = {}
        t = threading.Thread(target=lambda: result.setdefault("summary", rover.run(duration_s=60)), daemon=True)
        t.start()
        # the rover has its first epoch (the week of the RTCM 3 time tags) and its caster link
        assert wait_for(lambda: rover.loop.first_rover_ns is not None
                        and rover.loop.base.status.state == "connected", 20), rover.loop.base.status
        base.loop.run(duration_s=60)  # a base station stays up: closed after the rover
        t.join(60)
        assert "summary" in result
        return result["summary"], client.messages(), sent
    finally:
        base.close()


def _check(summary, nmea, sent):
    d = data_path("gsi-2005-092")
    batch = solve_files(str(d / "07590920.05o"), [], SolveOptions(mode="rtk-kinematic"), base=str(sent))
    fixes = summary.fixes
    assert len(fixes) == len(batch) == 120
    q = np.array([f.quality for f in fixes])
    np.testing.assert_array_equal(q, batch.quality)
    assert (q == 1).sum() >= 110
    pos = np.array([f.position_m for f in fixes])
    assert np.max(np.abs(pos - batch.position_m)[q == 1]) <= 1e-3
    gga = [m for m in nmea if m.msgID == "GGA"]
    assert len(gga) == 120 and sum(m.quality == 4 for m in gga) == (q == 1).sum()


@pytest.mark.skipif(shutil.which("str2str") is None, reason="RTKLIB str2str not installed")
def test_through_str2str_caster(tmp_path):
    cport = _free_port()
    procs = []

    def start_str2str(base):
        port = base.sinks[0].port
        procs.append(subprocess.Popen(["str2str", "-in", f"tcpcli://127.0.0.1:{port}", "-out",
                                       f"ntripc://u:p@:{cport}/GSI3040"],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        assert wait_for(lambda: base.sinks[0].n_clients == 1, 10)

    try:
        summary, nmea, sent = _run_pair(tmp_path, "tcp://127.0.0.1:0", f"ntrip://u:p@127.0.0.1:{cport}/GSI3040",
                                        start_str2str)
    finally:
        for p in procs:
            p.terminate()
            p.wait(5)
    _check(summary, nmea, sent)


def test_through_satnav_caster(tmp_path):
    cport = _free_port()
    summary, nmea, sent = _run_pair(tmp_path, f"ntripc://u:p@127.0.0.1:{cport}/GSI3040",
                                    f"ntrip1://u:p@127.0.0.1:{cport}/GSI3040")
    _check(summary, nmea, sent)
