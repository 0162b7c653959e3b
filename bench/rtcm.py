"""``satnav convert`` of an RTCM 3 log vs RTKLIB's ``convbin`` on the same file.

The log is the ESBC day (``$SATNAV_DATA/esbc-2020-177``, GPS, GLONASS, Galileo, BeiDou,
QZSS, SBAS, 30 s) encoded as MSM7 with satnav's encoder (1006 + 1033 once, the day's
ephemerides, one MSM7 per system and epoch). ``--rate 1`` makes it a 1 Hz day: each 30 s
epoch is sent 30 times with its time tags advanced by 1 s (the frames rewritten and their
CRCs recomputed): the decoding work of a 24 h, 1 Hz, 6-system log, with values that repeat.
Whole processes (interpreter start-up and imports included for satnav), interleaved runs,
medians, peak resident memory of each. Usage:
``python bench/rtcm.py [--rate 30|1] [--hours H] [--repeat N]``. Needs ``convbin``
(Debian package rtklib).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import DATA  # noqa: E402

ESBC = DATA / "esbc-2020-177"


def build(out: Path, rate: int, hours: float) -> None:
    """Write the benchmark log (module docstring)."""
    from satnav.io.framing import frame_stream
    from satnav.io.rinex_nav import read_rinex_nav
    from satnav.io.rinex_obs import read_rinex_obs
    from satnav.io.rtcm3_encode import Rtcm3Encoder, frame

    obs = read_rinex_obs(ESBC / "ESBC00DNK_R_20201770000_01D_30S_MO.crx.gz")
    n = min(len(obs.epochs), int(hours * 120))
    obs = obs.epoch_slice(0, n)
    nav = read_rinex_nav(ESBC / "ESBC00DNK_R_20201770000_01D_MN.rnx.gz")
    enc = Rtcm3Encoder(1, msm=7)
    h = obs.header
    parts = [enc.encode_station(h.approx_position_m, 0.0, antenna=h.antenna_type, receiver=h.receiver_type),
             enc.encode_navigation(nav)]  # fmt: skip
    epochs = [enc.encode_epoch(obs, i) for i in range(n)]
    with open(out, "wb") as fh:
        for p in parts:
            fh.write(p)
        for data in epochs:
            if rate >= 30:
                fh.write(data)
                continue
            fr = frame_stream(data, ubx=False, nmea=False)
            for k in range(0, 30, rate):
                for s, ln, t in zip(fr.rtcm_start.tolist(), fr.rtcm_length.tolist(), fr.rtcm_type.tolist()):
                    payload = data[s + 3 : s + 3 + ln]
                    if k:
                        bits = int.from_bytes(payload, "big")
                        nb = 8 * ln
                        glo = 1081 <= t <= 1087
                        pos, width, period = (27, 27, 86_400_000) if glo else (24, 30, 604_800_000)
                        shift = nb - pos - width
                        value = (bits >> shift) & ((1 << width) - 1)
                        value = (value + 1000 * k) % period
                        bits = (bits & ~(((1 << width) - 1) << shift)) | (value << shift)
                        payload = bits.to_bytes(ln, "big")
                    fh.write(frame(payload))


def _run(cmd: list[str]) -> tuple[float, float, float]:
    """(wall seconds, peak RSS MB, CPU seconds (user + system, its children included) of the
    child): on a shared machine the CPU time is the steadier figure."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    if status != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}")
    return time.perf_counter() - t0, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rate", type=int, default=30, help="seconds between epochs: 30 (as ESBC) or 1")
    p.add_argument("--hours", type=float, default=24.0)
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--keep", type=Path, help="build the log here (reused when it exists)")
    args = p.parse_args()
    convbin = shutil.which("convbin")
    if convbin is None:
        sys.exit("convbin not found (apt-get install rtklib)")
    with tempfile.TemporaryDirectory() as tmp:
        log = args.keep or Path(tmp) / "esbc.rtcm3"
        if not log.exists():
            t0 = time.perf_counter()
            build(log, args.rate, args.hours)
            print(f"built {log} ({log.stat().st_size / 1e6:.1f} MB) in {time.perf_counter() - t0:.0f} s")
        ours = [sys.executable, "-m", "satnav", "convert", str(log), "-o", f"{tmp}/s.obs", "--nav", f"{tmp}/s.nav"]
        theirs = [convbin, "-r", "rtcm3", "-tr", "2020/06/25", "00:00:00", "-od", "-os", "-o", f"{tmp}/c.obs",
                  "-n", f"{tmp}/c.nav", str(log)]  # fmt: skip
        t_ours, t_theirs, m_ours, m_theirs, c_ours, c_theirs = [], [], [], [], [], []
        for _ in range(args.repeat):  # interleaved
            for f in (f"{tmp}/s.obs", f"{tmp}/s.nav"):
                if os.path.exists(f):
                    os.remove(f)
            for cmd, t, m, c in ((ours, t_ours, m_ours, c_ours), (theirs, t_theirs, m_theirs, c_theirs)):
                wall, rss, cpu = _run(cmd)
                t.append(wall)
                m.append(rss)
                c.append(cpu)
        a, b = statistics.median(t_ours), statistics.median(t_theirs)
        ca, cb = statistics.median(c_ours), statistics.median(c_theirs)
        print(f"{log.name}: {log.stat().st_size / 1e6:.1f} MB, rate {args.rate} s, {args.hours:g} h")
        print(f"  satnav convert {a:.2f} s (peak {max(m_ours):.0f} MB)   convbin {b:.2f} s (peak {max(m_theirs):.0f} MB)"
              f"   ratio satnav/convbin {a / b:.2f}; CPU {ca:.1f} s / {cb:.1f} s, ratio {ca / cb:.2f}")
        print(f"  load average {os.getloadavg()[0]:.1f}; runs satnav {[round(x, 2) for x in t_ours]}, "
              f"convbin {[round(x, 2) for x in t_theirs]}; CPU satnav {[round(x, 1) for x in c_ours]}, "
              f"convbin {[round(x, 1) for x in c_theirs]}")


if __name__ == "__main__":
    main()
