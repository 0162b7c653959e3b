"""Live latency and memory of ``satnav stream`` (issue 13): from the last byte of an epoch to
its NMEA line out, and resident memory over a long replay.

**Latency**, as a user runs it: ``satnav stream`` is started as a process of its own (``python
-m satnav stream tcp://127.0.0.1:R [--base tcp://127.0.0.1:B] --out nmea:tcp://127.0.0.1:N
--nav NAV --stats FILE``: TCP sources, formats told by content, RTCM 3 decoding, the per-epoch
engine, NMEA GGA/RMC/GSA/GST on its TCP server). This script serves the rover (and for RTK the
base) stream, RTCM 3 MSM7 sent one epoch every 1/RATE s (1 Hz and 10 Hz; the base's bytes of
an epoch first, then the rover's, each epoch in one ``sendall``), and is a client of the NMEA
port, timestamping each GGA line. Latency = GGA arrival - the time just before the epoch's last
bytes were handed to the socket (``sendall``), both ``time.monotonic()`` in this process (the two programs share no
interpreter: none of this script's threads compete with the stream's). ``--stats`` gives, per
epoch, the stream process's own view: the latency from the bytes read to the outputs written,
the loop thread's CPU time (solving and writing) and each feed thread's CPU time decoding the
epoch's bytes (``time.thread_time``). The process is ended with SIGINT (Ctrl-C).
Each line ends with the load average and the CPU time this virtual machine lost to its host
during the run (``steal`` of ``/proc/stat``, all cores): outliers come with it.
Data: ESBC (Esbjerg), 2020-06-25, GPS + Galileo + BeiDou, L1/L2 (E1/E5b, B1I/B2I); the
observations are 30 s apart in the file and replayed at 1 or 10 epochs per second. RTK is a
zero baseline (the base stream is the same station): every filter step, double difference
and LAMBDA search runs as on a short baseline. The first 10 epochs (start-up) are left out.
``--src DIR`` runs the ``satnav`` of another source tree (an earlier revision, for
before/after figures; one without ``--stats`` gives the wall latency only).

**Memory.** A 1 h replay at 1 Hz (3601 epochs): ``satnav sim gps,galileo,beidou3 --duration 1
--interval 1`` (GPS L1/L2/L5, Galileo E1/E5a/E5b, BeiDou B1I/B3I, site 55.5 N 8.4 E; made once
into ``~/.cache/satnav-bench``, gzip RINEX 3) replayed as fast as possible through a session
(:func:`satnav.streams.session.open_session`, the code ``satnav stream FILE`` runs: the RINEX
file read in chunks by :class:`satnav.streams.feeds.RinexFeed`, the engine, NMEA to a file), SPP
and RTK (the same file as base: zero baseline); resident set size (``/proc/self/statm``) every
300 epochs and the peak (``VmHWM``) at the end.

``--obs sim-1hz`` streams that simulated hour instead of ESBC (``--obs FILE --nav FILE``: any
RINEX pair): its satellites rise and set as in a real 1 Hz stream, where ESBC's 30 s epochs
replayed at 1 or 10 Hz change the satellite set about every tenth epoch.

Usage: ``python bench/stream_latency.py [--epochs 120] [--rates 1,10] [--modes spp,rtk]
[--src DIR] [--memory] [--obs FILE|sim-1hz --nav FILE]``. The native peer, RTKLIB 2.4.3's ``rtkrcv`` (Debian ``rtklib``), measured
the same way on the same epochs (single point): ``bench/stream_latency_rtkrcv.py``.
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
from common import DATA, steal_ms  # noqa: E402

ESBC = DATA / "esbc-2020-177"
OBS = ESBC / "ESBC00DNK_R_20201770000_01D_30S_MO.crx.gz"
NAV = ESBC / "ESBC00DNK_R_20201770000_01D_MN.rnx.gz"


def _rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _frames(obs, nav, n):
    """RTCM 3 bytes of the first ``n`` epochs: rover (MSM7) and base (MSM7, 1005 and 1033 every
    10th epoch), per epoch."""
    from satnav.io.rtcm3_encode import Rtcm3Encoder

    rover, base = Rtcm3Encoder(1, systems="GEC"), Rtcm3Encoder(2, systems="GEC")
    eps = list(obs.epoch_slice(0, n).iter_epochs())
    rov = [rover.encode_epoch(e) for e in eps]
    bas = []
    for k, e in enumerate(eps):
        head = base.encode_station(obs.header.approx_position_m) if k % 10 == 0 else b""
        bas.append(head + base.encode_epoch(e))
    return rov, bas


class _Server:
    """One TCP client (the stream process) served on 127.0.0.1; ``write`` sends at once."""

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self.conn: socket.socket | None = None
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        conn, _ = self._listener.accept()
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.conn = conn

    def write(self, data: bytes) -> None:
        self.conn.sendall(data)

    def close(self) -> None:
        for s in (self.conn, self._listener):
            if s is not None:
                s.close()


def _free_port() -> int:
    with socket.create_server(("127.0.0.1", 0)) as s:
        return s.getsockname()[1]


def _wait(cond, timeout: float, what: str) -> None:
    end = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > end:
            raise SystemExit(f"stream_latency: timed out waiting for {what}")
        time.sleep(0.01)


def _has_stats(env: dict) -> bool:
    import subprocess

    out = subprocess.run([sys.executable, "-m", "satnav", "stream", "--help"], env=env, capture_output=True,
                         text=True, check=True).stdout
    return "--stats" in out


def gga_arrivals(client: socket.socket) -> list:
    """``(time.monotonic(), line)`` of each NMEA GGA line read from ``client``, appended by a
    thread of this process as the lines arrive (until the connection ends)."""
    arrivals: list = []

    def read():
        buf = b""
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
                    arrivals.append((now, line))

    threading.Thread(target=read, daemon=True).start()
    return arrivals


def latency_run(obs, mode: str, rate: float, n: int, src: Path, workdir: Path, nav: Path = NAV) -> dict:
    import json
    import signal
    import subprocess

    rov, bas = _frames(obs, None, n)
    relative = mode == "rtk"
    rover, base = _Server(), (_Server() if relative else None)
    nmea_port = _free_port()
    env = dict(os.environ, PYTHONPATH=str(src))
    stats = workdir / f"stats-{mode}-{rate:g}.json"
    launcher = ["-m", "satnav"] if not os.environ.get("STREAM_LATENCY_DEBUG") else [
        "-c", "import faulthandler, runpy, signal, sys; faulthandler.register(signal.SIGUSR1); "
              "sys.argv[0] = 'satnav'; runpy.run_module('satnav', run_name='__main__')"]
    from satnav.gnss_time import format_gpst

    day = format_gpst(int(obs.epochs[0]))[:10] + "T00:00:00"  # (RTCM 3 time tags hold no week)
    cmd = [sys.executable, *launcher, "stream", f"tcp://127.0.0.1:{rover.port}", "--nav", str(nav),
           "--systems", "GEC", "--time", day, "--mode", "kinematic" if relative else "spp",
           "--out", f"nmea:tcp://127.0.0.1:{nmea_port}", "-q"]
    if relative:
        cmd += ["--base", f"tcp://127.0.0.1:{base.port}", "--base-wait", "0.5"]
    with_stats = _has_stats(env)
    if with_stats:
        cmd += ["--stats", str(stats)]
    log = open(workdir / f"stream-{mode}-{rate:g}.log", "w")
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        _wait(lambda: rover.conn is not None and (base is None or base.conn is not None), 120,
              "the stream process to connect")
        client = socket.create_connection(("127.0.0.1", nmea_port))
        arrivals = gga_arrivals(client)
        time.sleep(0.3)  # the NMEA client accepted by the stream's server
        sent = []
        start = time.monotonic()
        for k in range(n):
            due = start + k / rate
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            if relative:
                base.write(bas[k])
            # the time before the epoch's last bytes are handed over: taken after ``sendall``
            # it came late whenever the woken stream process took this core first (under load
            # the wall figure then fell below the stream's own CPU time); before, the latency
            # includes the send itself (tens of microseconds): an upper bound
            sent.append(time.monotonic())
            rover.write(rov[k])
            if k == 0:  # the first epoch includes start-up (navigation, numba kernels): not timed
                _wait(lambda: len(arrivals) >= 1, 120, "the first GGA")
                start = time.monotonic() - 1 / rate
        _wait(lambda: len(arrivals) >= n, 60, "the last GGA")
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGINT)  # an earlier revision: Ctrl-C raised wherever the loop was
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            if os.environ.get("STREAM_LATENCY_DEBUG"):
                proc.send_signal(signal.SIGUSR1)  # the threads' tracebacks into the log
                time.sleep(1)
                log.flush()
                print((workdir / f"stream-{mode}-{rate:g}.log").read_text()[-5000:], file=sys.stderr)
            proc.kill()  # (its statistics are lost: wall latency only)
            print(f"stream_latency: {mode} {rate:g} Hz: the stream process did not end after SIGINT: killed",
                  file=sys.stderr)
        client.close()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        log.close()
        rover.close()
        if base is not None:
            base.close()
    m = min(len(arrivals), n)
    lat = (np.array([t for t, _ in arrivals[:m]]) - np.array(sent[:m]))[10:] * 1e3
    out = {"mode": mode, "rate_hz": rate, "epochs": len(lat), "p50_ms": float(np.median(lat)),
           "p99_ms": float(np.percentile(lat, 99)), "max_ms": float(lat.max())}
    if with_stats and stats.exists():
        doc = json.loads(stats.read_text())
        inner = np.array(doc["latency_ms"][10:])
        cpu = np.array(doc["cpu_ms"][10:])
        out.update(inner_p50_ms=float(np.median(inner)), inner_p99_ms=float(np.percentile(inner, 99)),
                   cpu_p50_ms=float(np.median(cpu)), cpu_p99_ms=float(np.percentile(cpu, 99)),
                   counts=doc["counts"])
        for role, values in doc["decode_cpu_ms"].items():
            v = np.array(values[10:])
            if len(v):
                out[f"decode_{role}_p50_ms"] = float(np.median(v))
    return out


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
    p.add_argument("--src", help="the source tree whose satnav runs the stream (default this checkout's src)")
    p.add_argument("--memory", action="store_true", help="only the memory runs (1 h at 1 Hz; one mode per process "
                   "for its own peak: --modes spp or --modes rtk)")
    p.add_argument("--obs", help="observations to stream (default the ESBC day, 30 s epochs); 'sim-1hz': the "
                   "simulated 1 Hz hour of the memory runs (satellites rise and set as in a real 1 Hz stream)")
    p.add_argument("--nav", help="navigation of --obs (default ESBC's; with sim-1hz its own)")
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
    import tempfile

    obs_path, nav_path = Path(args.obs or OBS), Path(args.nav or NAV)
    if args.obs == "sim-1hz":
        obs_path, sim_nav = _hour_file()
        nav_path = Path(args.nav or sim_nav)
    obs = satnav.read_obs(obs_path)
    print(f"observations {obs_path.name}, navigation {nav_path.name}")
    src = Path(args.src).resolve() if args.src else Path(__file__).resolve().parents[1] / "src"
    with tempfile.TemporaryDirectory() as tmp:
        for mode in args.modes.split(","):
            for rate in (float(r) for r in args.rates.split(",")):
                steal = steal_ms()
                r = latency_run(obs, mode, rate, args.epochs, src, Path(tmp), nav_path)
                steal = steal_ms() - steal
                text = (f"latency {mode:3s} {rate:4.0f} Hz: {r['epochs']} epochs, wall p50 {r['p50_ms']:.1f} ms, "
                        f"p99 {r['p99_ms']:.1f} ms, max {r['max_ms']:.1f} ms")
                if "cpu_p50_ms" in r:
                    c = r["counts"]
                    dec = ", ".join(f"{k[7:-7]} {v:.2f}" for k, v in r.items() if k.startswith("decode_"))
                    text += (f"; in-process latency p50 {r['inner_p50_ms']:.1f} / p99 {r['inner_p99_ms']:.1f} ms; "
                             f"loop CPU p50 {r['cpu_p50_ms']:.1f} / p99 {r['cpu_p99_ms']:.1f} ms; decode CPU "
                             f"p50 ({dec}) ms; fixed {c.get('q1', 0)}, single {c.get('q5', 0)}")
                print(text + f"  (load {os.getloadavg()[0]:.1f}, steal {steal:.0f} ms)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
