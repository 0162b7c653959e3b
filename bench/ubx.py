"""``satnav convert`` of a u-blox UBX log vs RTKLIB's ``convbin`` on the same file.

Whole processes (interpreter start-up and imports included for satnav), interleaved runs,
medians. Both read the same decompressed ``.ubx`` and write RINEX observation + navigation
files. Usage: ``python bench/ubx.py [FILE.ubx[.gz]] [--repeat N]``; default the F9T L1/L2
log and the 16dBatt log of ``$SATNAV_DATA/ubx``. Needs ``convbin`` (Debian package rtklib).

``--day OUT.ubx [--hours H]`` first builds a 24 h (or H h), 1 Hz, 4-system (GPS, GLONASS,
Galileo, BeiDou; L1 + L2/E5b/B2I) log from pygnssutils' ``pygpsdata_testobsdata.log``
(1800 RXM-RAWX epochs of an F9P): the 1800 messages are repeated with ``rcvTow`` advanced
by 1800 s per copy (GPS week carried) and their checksums recomputed; the measurements
repeat, the decoding work is that of a real day. The log is then benchmarked like the others.
"""

from __future__ import annotations

import argparse
import gzip
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

DEFAULT = [DATA / "ubx" / "F9T-L2-5min.ubx.gz", DATA / "ubx" / "16dBatt_no_interference_coldstart.ubx.gz"]


def _time(cmd: list[str]) -> tuple[float, float, float]:
    """(wall seconds, peak RSS MB, CPU seconds (user + system, its children included) of the
    child): on a shared machine the CPU time is the steadier figure."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    if status != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}")
    return time.perf_counter() - t0, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime


def bench(path: Path, repeat: int, convbin: str) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / path.name.removesuffix(".gz")
        data = path.read_bytes()
        raw.write_bytes(gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data)
        ours = [sys.executable, "-m", "satnav", "convert", str(raw), "-o", f"{tmp}/s.obs", "--nav", f"{tmp}/s.nav"]
        theirs = [convbin, "-r", "ubx", "-o", f"{tmp}/c.obs", "-n", f"{tmp}/c.nav", str(raw)]
        t_ours, t_theirs, m_ours, m_theirs, c_ours, c_theirs = [], [], [], [], [], []
        for _ in range(repeat):  # interleaved
            for f in (f"{tmp}/s.obs", f"{tmp}/s.nav"):
                if os.path.exists(f):
                    os.remove(f)
            for cmd, t, m, c in ((ours, t_ours, m_ours, c_ours), (theirs, t_theirs, m_theirs, c_theirs)):
                wall, rss, cpu = _time(cmd)
                t.append(wall)
                m.append(rss)
                c.append(cpu)
    print(f"  load average {os.getloadavg()[0]:.1f}; runs satnav {[round(x, 2) for x in t_ours]}, "
          f"convbin {[round(x, 2) for x in t_theirs]}; peak RSS satnav {max(m_ours):.0f} MB, "
          f"convbin {max(m_theirs):.0f} MB; CPU (median) satnav {statistics.median(c_ours):.1f} s, "
          f"convbin {statistics.median(c_theirs):.1f} s")
    return statistics.median(t_ours), statistics.median(t_theirs)


def build_day(out: Path, hours: float) -> None:
    """Write the synthetic 1 Hz log (module docstring)."""
    import numpy as np

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    from satnav.io.ubx import frame_ubx

    data = (DATA / "streams" / "pygpsdata_testobsdata.log").read_bytes()
    fr = frame_ubx(data)
    sel = (fr.cls == 0x02) & (fr.id == 0x15)
    msgs = [bytearray(data[s : s + 8 + n]) for s, n in zip(fr.start[sel].tolist(), fr.length[sel].tolist())]
    span = len(msgs)
    with open(out, "wb") as fh:
        for k in range(int(round(hours * 3600 / span))):
            for m in msgs:
                tow = np.frombuffer(bytes(m[6:14]), "<f8")[0] + k * span
                week = int(np.frombuffer(bytes(m[14:16]), "<u2")[0]) + int(tow // 604800)
                m2 = bytearray(m)
                m2[6:14] = np.float64(tow % 604800).tobytes()
                m2[14:16] = np.uint16(week).tobytes()
                body = np.frombuffer(bytes(m2[2:-2]), np.uint8)
                ck_a = int(body.sum()) & 0xFF
                ck_b = int(np.cumsum(body, dtype=np.int64).sum()) & 0xFF
                m2[-2], m2[-1] = ck_a, ck_b
                fh.write(m2)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("files", nargs="*", type=Path)
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--day", type=Path, help="build the synthetic 1 Hz log here (reused when it exists)")
    p.add_argument("--hours", type=float, default=24.0)
    args = p.parse_args()
    if args.day is not None:
        if not args.day.exists():
            build_day(args.day, args.hours)
        args.files = [args.day]
    convbin = shutil.which("convbin")
    if convbin is None:
        sys.exit("convbin not found (apt-get install rtklib)")
    for path in args.files or DEFAULT:
        size = len(gzip.decompress(path.read_bytes())) if path.suffix == ".gz" else path.stat().st_size
        ours, theirs = bench(path, args.repeat, convbin)
        print(f"{path.name}: {size / 1e6:.1f} MB  satnav convert {ours:.3f} s  convbin {theirs:.3f} s  "
              f"ratio {ours / theirs:.2f} (median of {args.repeat}, whole processes)")


if __name__ == "__main__":
    main()
