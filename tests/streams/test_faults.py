"""Faults of live streams, over TCP on 127.0.0.1: the rover (GEONET 0759) and base (3040)
streams are RTCM 3 sent by the test epoch by epoch; the base stream is cut for 10 minutes of
data and restored, garbage and a corrupted frame are injected, rover epochs are repeated and
sent out of order; and a caster refuses the mount point. Expected: clear messages, no crash,
single point (said so) while the corrections are stale, RTK again after, and no fixed
position away from RTKLIB's (stations.csv 0759-rtk)."""

from __future__ import annotations

import csv
import threading

import numpy as np
import pytest

import satnav
from satnav.io.rtcm3_encode import Rtcm3Encoder
from satnav.options import StreamOptions
from satnav.streams.ntrip import NtripCaster, wait_for
from satnav.streams.session import open_session
from satnav.streams.sinks import TcpServerSink
from tests.conftest import data_path


def _truth():
    with open(data_path("stations.csv")) as fh:
        return next(np.array([float(r[c]) for c in ("x_m", "y_m", "z_m")]) for r in csv.DictReader(fh)
                    if r["station"] == "0759-rtk")


@pytest.fixture(scope="module")
def rtcm_epochs():
    d = data_path("gsi-2005-092")
    nav = satnav.read_nav(d / "07590920.05n")
    out = {}
    for name, sid in (("07590920.05o", 759), ("30400920.05o", 3040)):
        obs = satnav.read_obs(d / name)
        enc = Rtcm3Encoder(sid)
        frames = []
        for k, e in enumerate(obs.iter_epochs()):
            b = b""
            if sid == 3040 and k % 4 == 0:
                b += enc.encode_station(obs.header.approx_position_m) + enc.encode_navigation(nav, only_new=False)
            frames.append(b + enc.encode_epoch(e))
        out[sid] = frames
    return out


def test_cut_garbage_repeats_and_out_of_order(rtcm_epochs):
    rover_sink, base_sink = TcpServerSink("127.0.0.1", 0), TcpServerSink("127.0.0.1", 0)
    base_port = base_sink.port
    events = []
    n_fixes = []
    session = open_session(
        StreamOptions(mode="rtk-kinematic", rover_format="rtcm3", base_format="rtcm3", reconnect_s=0.05,
                      reconnect_max_s=0.2, base_wait_s=3.0, time="2005-04-02T00:00:00", stall_s=30.0),
        f"tcp://127.0.0.1:{rover_sink.port}", base=f"tcp://127.0.0.1:{base_port}",
        navs=[data_path("gsi-2005-092", "07590920.05n")], keep_fixes=True, on_event=events.append,
        on_fix=lambda f: n_fixes.append(f.time_ns))
    result = {}
    stop = threading.Event()
    runner = threading.Thread(target=lambda: result.setdefault("s", session.run(stop=stop, duration_s=120)),
                              daemon=True)
    runner.start()
    try:
        assert wait_for(lambda: rover_sink.n_clients == 1 and base_sink.n_clients == 1, 10)
        rov, bas = rtcm_epochs[759], rtcm_epochs[3040]
        cut = range(50, 70)
        for k in range(len(rov)):
            if k == cut.start:
                base_sink.close()
            if k == cut.stop:
                base_sink = TcpServerSink("127.0.0.1", base_port)
                assert wait_for(lambda sink=base_sink: sink.n_clients == 1, 10), "the base stream did not reconnect"
            if k not in cut:
                data = bas[k]
                if k == 20:  # garbage, then the epoch's first frame with a flipped bit
                    bad = bytearray(data)
                    bad[20] ^= 0x10
                    data = b"\x00garbage\xd3\x00\x05junk" + bytes(bad) + data
                base_sink.write(data)
            before = len(n_fixes)
            rover_sink.write(rov[k])
            if k == 30:
                rover_sink.write(rov[k])  # repeated
            if k == 35:
                rover_sink.write(rov[10])  # out of order
            assert wait_for(lambda n=before: len(n_fixes) > n, 15), f"epoch {k} not solved"
    finally:
        stop.set()
        rover_sink.close()
        base_sink.close()
        runner.join(30)
    summary = result["s"]
    c = summary.counts
    assert c["rover_duplicates"] == 1 and c["rover_out_of_order"] == 1
    assert c["base_crc"] >= 1 and c["base_garbage"] >= 1
    fixes = summary.fixes
    assert len(fixes) == 120
    q = np.array([f.quality for f in fixes])
    stale = [f for f in fixes[52:70]]
    assert all(f.quality == 5 and "old" in f.note for f in stale)
    assert (q[80:] == 1).sum() >= 35  # RTK again after the base came back
    truth = _truth()
    for f in fixes:
        if f.quality == 1:
            assert np.linalg.norm(f.position_m - truth) < 0.05
        if f.valid:
            assert np.linalg.norm(f.position_m - truth) < 15.0
    text = "\n".join(events)
    assert "base stream disconnected" in text and "base stream connected" in text
    assert "repeated: dropped" in text and "out of order: dropped" in text


def test_caster_refusing_the_mount_point(tmp_path):
    d = data_path("gsi-2005-092")
    events = []
    with NtripCaster("127.0.0.1", 0, ("GSI3040",), user="u", password="p") as caster:
        session = open_session(
            StreamOptions(mode="rtk-kinematic", reconnect_s=0.05, reconnect_max_s=0.2, replay_speed=1000.0),
            str(d / "07590920.05o"), base=f"ntrip://u:p@127.0.0.1:{caster.port}/NOPE", navs=[d / "07590920.05n"],
            keep_fixes=True, on_event=events.append)
        summary = session.run(duration_s=30)
    fixes = summary.fixes
    assert len(fixes) == 120
    assert all(f.quality == 5 and f.valid and f.note == "single point: no base data yet" for f in fixes[1:])
    text = "\n".join(events)
    assert "base stream refused" in text and "no mount point 'NOPE'" in text
