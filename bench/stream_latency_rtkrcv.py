"""Latency of RTKLIB 2.4.3's ``rtkrcv`` (Debian ``rtklib``), the native peer of
``bench/stream_latency.py``, measured the same way: the same ESBC RTCM 3 MSM7 epochs (GPS +
Galileo + BeiDou) served on a TCP port at RATE epochs per second, rtkrcv reading them
(``inpstr1-type=tcpcli``) and writing NMEA on a TCP server (``outstr1``), GGA arrival minus
the time before the epoch's bytes were sent; first 10 epochs left out. Single point,
elevation mask 10 deg, broadcast ionosphere, Saastamoinen, ``misc-svrcycle=1`` (1 ms server
cycle). rtkrcv takes its ephemerides from the stream: the broadcast messages within 2 h of
the start are sent first, moved by whole weeks to the current week (rtkrcv resolves RTCM 3
weeks from the system clock; the MSM epochs carry the time of week only). Console on a telnet
port (``-d /dev/null`` crashed it: malloc corruption).

Usage: ``python bench/stream_latency_rtkrcv.py RATE EPOCHS`` (e.g. ``10 120``).
"""
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import satnav  # noqa: E402
import stream_latency as sl  # noqa: E402
from common import steal_ms  # noqa: E402
from satnav.io.rinex_nav import read_rinex_nav  # noqa: E402
from satnav.io.rtcm3_encode import Rtcm3Encoder  # noqa: E402
from satnav.navigation import Navigation  # noqa: E402


def main() -> int:
    rate, n = float(sys.argv[1]), int(sys.argv[2])
    steal0 = steal_ms()
    obs = satnav.read_obs(sl.OBS)
    nav = read_rinex_nav(sl.NAV)
    rov, _ = sl._frames(obs, None, n)
    t0 = int(obs.epochs[0])
    shift_w = int((time.time() - 315964800 + 18) // 604800 - (t0 // 10**9) // 604800)
    sub = Navigation(header=nav.header)
    for letter, arr in nav.messages.items():
        if letter in "GEC":
            keep = np.abs(arr["toe"].astype(np.int64) - t0) < 2 * 3600 * 10**9
            if keep.any():
                part = arr[keep].copy()
                part["week"] += shift_w
                part["toe"] += shift_w * 604800 * 10**9
                part["toc"] += shift_w * 604800 * 10**9
                sub.add_messages(letter, part)
    navbytes = Rtcm3Encoder(1, systems="GEC").encode_navigation(sub, only_new=False)
    rover, nport = sl._Server(), sl._free_port()
    conf = (f"inpstr1-type=tcpcli\ninpstr1-path=127.0.0.1:{rover.port}\ninpstr1-format=rtcm3\n"
            f"outstr1-type=tcpsvr\noutstr1-path=:{nport}\noutstr1-format=nmea\npos1-posmode=single\n"
            "pos1-navsys=45\npos1-elmask=10\npos1-ionoopt=brdc\npos1-tropopt=saas\nmisc-svrcycle=1\n")
    work = Path(tempfile.mkdtemp())
    (work / "rk.conf").write_text(conf)
    log = open(work / "rk.log", "w")
    proc = subprocess.Popen(["rtkrcv", "-s", "-o", str(work / "rk.conf"), "-p", str(sl._free_port()), "-w", ""],
                            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                            cwd=work)  # (it writes rtkrcv.nav where it runs)
    sent: list = []
    try:
        sl._wait(lambda: rover.conn is not None, 20, "rtkrcv to connect")
        time.sleep(0.5)
        client = None
        for _ in range(50):
            try:
                client = socket.create_connection(("127.0.0.1", nport))
                break
            except OSError:
                time.sleep(0.1)

        arrivals = sl.gga_arrivals(client)
        rover.write(navbytes)
        time.sleep(1.0)
        start = time.monotonic()
        for k in range(n):
            delay = start + k / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            sent.append(time.monotonic())
            rover.write(rov[k])
        time.sleep(1.5)
    finally:
        proc.terminate()
        proc.wait(5)
        log.close()
        rover.close()
    # each GGA to its epoch by its time of day (UTC = GPST - 18 s in 2020; epochs 30 s apart)
    first_sod = t0 // 10**9 % 86400
    lat = []
    for now, line in arrivals:
        f = line.split(b",")
        if len(f) < 7 or not f[1] or f[6] == b"0":
            continue
        sod = int(f[1][:2]) * 3600 + int(f[1][2:4]) * 60 + float(f[1][4:]) + 18
        k = int(round((sod - first_sod) / 30))
        if 0 <= k < n:
            lat.append((now - sent[k]) * 1e3)
    lat = np.array(lat[10:])
    print(f"rtkrcv {rate:g} Hz: {len(lat)} epochs, wall p50 {np.median(lat):.1f} ms, p99 {np.percentile(lat, 99):.1f} "
          f"ms, max {lat.max():.1f} ms  (load {os.getloadavg()[0]:.1f}, steal {steal_ms() - steal0:.0f} ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
