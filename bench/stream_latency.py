"""Live latency and memory of ``satnav stream`` (issue 13): from the last byte of an epoch to
its NMEA line out, and resident memory over a long replay.

**Latency.** The rover (and for RTK the base) stream is RTCM 3 MSM7 sent by this script over
TCP on 127.0.0.1, one epoch every 1/RATE s (1 Hz and 10 Hz); a rover session
(:func:`satnav.streams.session.open_session`, the code ``satnav stream`` runs: TCP sources,
RTCM 3 decoding, the per-epoch engine, NMEA out on a TCP server) solves each epoch; a client
of its NMEA port timestamps each GGA line. Latency = GGA arrival - the time the epoch's last
byte was sent (both ``time.monotonic()`` in this process; the session runs in a thread of it).
Data: ESBC (Esbjerg), 2020-06-25, GPS + Galileo + BeiDou, L1/L2 (E1/E5b, B1I/B2I); the
observations are 30 s apart in the file and replayed at 1 or 10 epochs per second. RTK is a
zero baseline (the base stream is the same station): every filter step, double difference
and LAMBDA search runs as on a short baseline. The first 10 epochs (start-up) are left out.

**Memory.** A 1 h replay at 1 Hz (3601 epochs): ``satnav sim gps,galileo,beidou3 --duration 1
--interval 1`` (GPS L1/L2/L5, Galileo E1/E5a/E5b, BeiDou B1I/B3I, site 55.5 N 8.4 E; made once
into ``~/.cache/satnav-bench``, gzip RINEX 3) replayed as fast as possible through a session
(:func:`satnav.streams.session.open_session`, the code ``satnav stream FILE`` runs: the RINEX
file read in chunks by :class:`satnav.streams.feeds.RinexFeed`, the engine, NMEA to a file), SPP
and RTK (the same file as base: zero baseline); resident set size (``/proc/self/statm``) every
300 epochs and the peak (``VmHWM``) at the end.

The loop's thread CPU time per epoch (solving and writing the outputs, ``time.thread_time``)
is reported beside the wall latency: on a shared machine the wall latency is mostly waiting
for a core.

Usage: ``python bench/stream_latency.py [--epochs 120] [--rates 1,10] [--modes spp,rtk]
[--memory]``. No peer: RTKLIB's ``rtkrcv`` is not installed here (Debian's
``rtklib`` package ships convbin, str2str, rnx2rtkp), so these are satnav's numbers only.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from common import DATA  # noqa: E402

ESBC = DATA / "esbc-2020-177"
OBS = ESBC / "ESBC00DNK_R_20201770000_01D_30S_MO.crx.gz"
NAV = ESBC / "ESBC00DNK_R_20201770000_01D_MN.rnx.gz"


def _rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _frames(obs, nav, n):
    from satnav.io.rtcm3_encode import Rtcm3Encoder

    rover, base = Rtcm3Encoder(1, systems="GEC"), Rtcm3Encoder(2, systems="GEC")
    eps = list(obs.epoch_slice(0, n).iter_epochs())
    rov = [rover.encode_epoch(e) for e in eps]
    bas = []
    for k, e in enumerate(eps):
        head = base.encode_station(obs.header.approx_position_m) if k % 10 == 0 else b""
        bas.append(head + base.encode_epoch(e))
    return rov, bas


def latency_run(obs, nav, mode: str, rate: float, n: int) -> dict:
    from satnav.options import StreamOptions
    from satnav.streams.ntrip import wait_for
    from satnav.streams.session import open_session
    from satnav.streams.sinks import TcpServerSink

    rov, bas = _frames(obs, nav, n)
    rover_sink, base_sink = TcpServerSink("127.0.0.1", 0), TcpServerSink("127.0.0.1", 0)
    relative = mode == "rtk"
    t0_iso = "2020-06-25T00:00:00"
    session = open_session(
        StreamOptions(mode="rtk-kinematic" if relative else "spp", systems="GEC", rover_format="rtcm3",
                      base_format="rtcm3", time=t0_iso, base_wait_s=0.5),
        f"tcp://127.0.0.1:{rover_sink.port}", base=f"tcp://127.0.0.1:{base_sink.port}" if relative else None,
        navs=[NAV], outputs=["nmea:tcp://127.0.0.1:0"], keep_fixes=True)
    nmea_port = session.sinks[0].port
    arrivals: list[float] = []
    client = socket.create_connection(("127.0.0.1", nmea_port))

    def read():
        buf = b""
        client.settimeout(60)
        while True:
            try:
                data = client.recv(65536)
            except OSError:
                return
            if not data:
                return
            now = time.monotonic()
            buf += data
            while b"\r\n" in buf:
                line, buf = buf.split(b"\r\n", 1)
                if line[3:6] == b"GGA":
                    arrivals.append(now)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    stop = threading.Event()
    runner = threading.Thread(target=lambda: session.run(stop=stop), daemon=True)
    runner.start()
    wait_for(lambda: rover_sink.n_clients == 1 and (not relative or base_sink.n_clients == 1)
             and session.sinks[0].n_clients == 1, 20)
    sent = []
    start = time.monotonic() + 0.5
    for k in range(n):
        due = start + k / rate
        delay = due - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        if relative:
            base_sink.write(bas[k])
        rover_sink.write(rov[k])
        sent.append(time.monotonic())
        if k == 0:  # the first epoch includes start-up (navigation, numba kernels): not timed
            wait_for(lambda: len(arrivals) >= 1, 60)
            start = time.monotonic() - 1 / rate
    wait_for(lambda: len(arrivals) >= n, 60)
    stop.set()
    runner.join(10)
    rover_sink.close()
    base_sink.close()
    client.close()
    m = min(len(arrivals), n)
    lat = (np.array(arrivals[:m]) - np.array(sent[:m]))[10:] * 1e3
    q = [f.quality for f in session.loop.summary.fixes]
    cpu = np.array(list(session.loop.summary.cpu_s)[10:]) * 1e3
    return {"mode": mode, "rate_hz": rate, "epochs": len(lat), "p50_ms": float(np.median(lat)),
            "p99_ms": float(np.percentile(lat, 99)), "max_ms": float(lat.max()),
            "cpu_p50_ms": float(np.median(cpu)), "cpu_p99_ms": float(np.percentile(cpu, 99)),
            "fixed": int(sum(x == 1 for x in q)), "single": int(sum(x == 5 for x in q)),
            "satellites": int(np.median([f.n_satellites for f in session.loop.summary.fixes]))}


def _hour_file():
    """The 1 h, 1 Hz simulated RINEX pair (made once with ``satnav sim``)."""
    import gzip
    import shutil
    import subprocess

    out = Path.home() / ".cache" / "satnav-bench" / "sim-gec-1h-1hz"
    obs = sorted(out.glob("*_MO.rnx.gz"))
    if not obs:
        env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1] / "src"))
        subprocess.run([sys.executable, "-m", "satnav", "sim", "gps,galileo,beidou3", "-o", str(out), "--duration",
                        "1", "--interval", "1", "--site", "55.5,8.4,60", "-q"], env=env, check=True)
        for plain in out.glob("*_MO.rnx"):
            with open(plain, "rb") as src, gzip.open(str(plain) + ".gz", "wb") as dst:
                shutil.copyfileobj(src, dst)
            plain.unlink()
        obs = sorted(out.glob("*_MO.rnx.gz"))
    return obs[0], sorted(out.glob("*_MN.rnx"))[0]


def _vm_hwm_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def memory_run(mode: str, out_dir: Path) -> tuple[list[tuple[int, float]], float, int]:
    """RSS (MB) every 300 epochs of the 1 h replay, the peak, and the epochs solved."""
    from satnav.options import StreamOptions
    from satnav.streams.session import open_session

    obs, nav = _hour_file()
    rss = [(0, _rss_mb())]
    count = [0]

    def on_fix(fix):
        count[0] += 1
        if count[0] % 300 == 0:
            rss.append((count[0], _rss_mb()))

    relative = mode == "rtk"
    session = open_session(StreamOptions(mode="rtk-kinematic" if relative else "spp", systems="GEC"), str(obs),
                           base=str(obs) if relative else None, navs=[nav],
                           outputs=[f"nmea:{out_dir / f'{mode}.nmea'}"], on_fix=on_fix)
    session.run()
    return rss, _vm_hwm_mb(), count[0]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--epochs", type=int, default=120, help="epochs per latency run (default 120)")
    p.add_argument("--rates", default="1,10", help="epochs per second (default 1,10)")
    p.add_argument("--modes", default="spp,rtk")
    p.add_argument("--memory", action="store_true", help="only the memory runs (1 h at 1 Hz; one mode per process "
                   "for its own peak: --modes spp or --modes rtk)")
    args = p.parse_args()
    import satnav

    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    if args.memory:
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            for mode in args.modes.split(","):
                t0, c0 = time.monotonic(), time.process_time()
                rss, peak, n = memory_run(mode, Path(tmp))
                print(f"memory  {mode:3s}: {n} epochs in {time.monotonic() - t0:.0f} s (CPU {time.process_time() - c0:.0f} s); "
                      "RSS MB at epochs " + ", ".join(f"{k}: {v:.0f}" for k, v in rss)
                      + f"; peak {peak:.0f} MB  (load {os.getloadavg()[0]:.1f})", flush=True)
        return 0
    obs = satnav.read_obs(OBS)
    nav = satnav.read_nav(NAV)
    for mode in args.modes.split(","):
        for rate in (float(r) for r in args.rates.split(",")):
            r = latency_run(obs, nav, mode, rate, args.epochs)
            print(f"latency {mode:3s} {rate:4.0f} Hz: {r['epochs']} epochs, p50 {r['p50_ms']:.1f} ms, "
                  f"p99 {r['p99_ms']:.1f} ms, max {r['max_ms']:.1f} ms; engine + outputs CPU p50 "
                  f"{r['cpu_p50_ms']:.1f} ms, p99 {r['cpu_p99_ms']:.1f} ms; median {r['satellites']} satellites, "
                  f"fixed {r['fixed']}, single {r['single']}  (load {os.getloadavg()[0]:.1f})", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
