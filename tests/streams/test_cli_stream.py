"""``satnav stream`` on the command line: a RINEX replay in RTK mode writes the positions of
``satnav solve --base`` (the same .pos rows); bad addresses and options are one-line errors
with exit status 2."""

from __future__ import annotations

import pytest

from satnav.cli.main import main
from tests.conftest import data_path


def _rows(path):
    return [x for x in path.read_text().splitlines() if x.strip() and not x.startswith("%")]


def test_stream_rtk_replay_equals_solve(tmp_path, capsys):
    d = data_path("gsi-2005-092")
    rover, base, nav = (str(d / n) for n in ("07590920.05o", "30400920.05o", "07590920.05n"))
    assert main(["stream", rover, "--base", base, "--nav", nav, "--out", f"pos:{tmp_path / 'live.pos'}", "-q"]) == 0
    assert main(["solve", rover, nav, "--base", base, "-o", str(tmp_path / "batch.pos"), "-q"]) == 0
    assert _rows(tmp_path / "live.pos") == _rows(tmp_path / "batch.pos")


@pytest.mark.parametrize("argv, message", [
    (["stream", "tcp://localhost"], "no port, expected HOST:PORT"),
    (["stream", "ftp://x/y"], "unknown stream address"),
    (["stream", "nosuchfile.ubx"], "nosuchfile.ubx: cannot read"),
    (["stream", "-", "--mode", "kinematic"], "needs a base or correction stream"),
    (["stream", "-", "--out", "xml:out.xml"], "expected FORMAT:ADDRESS"),
    (["stream", "-", "--out", "nmea:ntrip://caster/MNT"], "is a source"),
])
def test_bad_arguments_are_one_line(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("satnav: ") and message in err[0], err


def test_existing_output_is_not_overwritten(tmp_path, capsys):
    d = data_path("gsi-2005-092")
    out = tmp_path / "keep.pos"
    out.write_text("precious")
    assert main(["stream", str(d / "07590920.05o"), "--nav", str(d / "07590920.05n"), "--out", f"pos:{out}", "-q"]) == 2
    assert out.read_text() == "precious"
    assert "keep.pos" in capsys.readouterr().err


def test_stats_file_has_per_epoch_latency_and_cpu(tmp_path, capsys):
    """``--stats``: the run's counts and, per epoch solved, the latency, the loop's CPU time
    and the rover decoder's CPU time (an RTCM 3 stream from a file)."""
    import json

    from satnav.io.rinex_obs import read_rinex_obs
    from satnav.io.rtcm3_encode import Rtcm3Encoder

    d = data_path("gsi-2005-092")
    obs = read_rinex_obs(d / "07590920.05o")
    enc = Rtcm3Encoder(1)
    rtcm = tmp_path / "rover.rtcm3"
    rtcm.write_bytes(b"".join(enc.encode_epoch(e) for e in obs.epoch_slice(0, 20).iter_epochs()))
    stats = tmp_path / "stats.json"
    assert main(["stream", str(rtcm), "--nav", str(d / "07590920.05n"), "--time", "2005-04-02T00:00:00",
                 "--out", f"nmea:{tmp_path / 'out.nmea'}", "--stats", str(stats), "-q"]) == 0
    doc = json.loads(stats.read_text())
    assert doc["counts"]["rover_epochs"] == 20 and doc["counts"]["q5"] == 20
    assert len(doc["latency_ms"]) == len(doc["cpu_ms"]) == len(doc["decode_cpu_ms"]["rover"]) == 20
    assert all(v >= 0 for v in doc["latency_ms"] + doc["cpu_ms"] + doc["decode_cpu_ms"]["rover"])
    assert (tmp_path / "out.nmea").read_bytes().count(b"GGA,") == 20


def test_ctrl_c_ends_the_run_and_writes_the_statistics(tmp_path):
    """SIGINT (Ctrl-C) ends ``satnav stream`` at the loop's next turn: exit status 130, the
    statistics written, within a few seconds (a live TCP source that sends nothing)."""
    import json
    import os
    import signal
    import socket
    import subprocess
    import sys
    import time
    from pathlib import Path

    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(30)
    stats = tmp_path / "stats.json"
    src = str(Path(__file__).resolve().parents[2] / "src")
    env = dict(os.environ, PYTHONPATH=src + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.Popen([sys.executable, "-m", "satnav", "stream", f"tcp://127.0.0.1:{server.getsockname()[1]}",
                             "--out", f"nmea:{tmp_path / 'out.nmea'}", "--stats", str(stats)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        conn, _ = server.accept()  # the stream connected: its loop runs
        time.sleep(0.5)
        t0 = time.monotonic()
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=10)
        assert time.monotonic() - t0 < 5
    finally:
        if proc.poll() is None:
            proc.kill()
        server.close()
    assert proc.returncode == 130, err
    assert b"satnav: interrupted" in err
    assert json.loads(stats.read_text())["counts"].get("rover_epochs", 0) == 0
