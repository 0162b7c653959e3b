"""Benchmark: fixed cost, ``satnav info`` and ``satnav orbits`` as whole processes, two
revisions and RTKLIB interleaved in one run (issue 12).

Jobs, each for the ``--before`` and ``--after`` source trees (a checkout's ``src`` first on
``PYTHONPATH``, bytecode cache enabled as for an installed package, one warm-up run each):

1. ``python -c pass`` (the interpreter's own start, the floor of every job) and
   ``satnav --help`` (the package's fixed cost; target <= 0.15 s);
2. ``satnav info`` of the ESBC day as distributed (``.crx.gz``, 2880 epochs, 6 systems);
   the peer is RTKLIB 2.4.3 ``rnx2rtkp`` (Debian package ``rtklib``) given the same file and
   no navigation file: it expands it (``gzip``, ``crx2rnx``), reads every epoch, then stops
   with "no nav data" -- RTKLIB's time to read the file (target: satnav <= that);
3. ``satnav orbits`` of the ESBC navigation file, the whole day at 30 s (2880 epochs x 115
   satellites) written as SP3-d. RTKLIB 2.4.3 has no command that writes SP3 from broadcast
   ephemerides, so this job is compared with the earlier revision only.

The outputs of the two trees are compared: ``info`` text and ``--json`` identical, SP3 files
byte-identical. Each figure is the median of ``--repeat`` wall times (``os.wait4`` gives the
CPU time and the peak RSS of the child).

Usage: ``python bench/info_orbits.py --before /tmp/old/src [--after src] [--repeat 7]``.
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

from common import DATA
from revisions import _run

ESBC = DATA / "esbc-2020-177"
CRX = ESBC / "ESBC00DNK_R_20201770000_01D_30S_MO.crx.gz"
NAV = ESBC / "ESBC00DNK_R_20201770000_01D_MN.rnx.gz"
PEER = "RTKLIB 2.4.3 rnx2rtkp"


def _same_outputs(trees: dict, envs: dict, tmp: Path) -> list[str]:
    """Lines saying whether both trees give the same ``info`` text/JSON and SP3 bytes."""
    out = []
    for what in (["info", str(CRX)], ["info", "--json", str(CRX)]):
        texts = {name: subprocess.run([sys.executable, "-m", "satnav", *what], env=envs[name],
                                      capture_output=True, check=True).stdout for name in trees}
        out.append(f"satnav {' '.join(what[:-1])}: before and after identical: "
                   f"{texts['before'] == texts['after']} ({len(texts['after'])} bytes)")
    a, b = (tmp / f"orbits-{name}.sp3" for name in ("after", "before"))
    out.append(f"satnav orbits SP3: byte-identical: {a.read_bytes() == b.read_bytes()} "
               f"({a.stat().st_size} bytes)")
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--before", required=True, help="src directory of the earlier revision")
    ap.add_argument("--after", default=str(Path(__file__).resolve().parents[1] / "src"))
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="satnav-info-orbits-"))
    trees = {"before": str(Path(args.before).resolve()), "after": str(Path(args.after).resolve())}
    envs = {}
    for name, src in trees.items():
        env = dict(os.environ, PYTHONPATH=src, OPENBLAS_NUM_THREADS="1",
                   PYTHONPYCACHEPREFIX=str(tmp / f"pycache-{name}"))
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        envs[name] = env
    py = sys.executable
    jobs = {
        "python -c pass": lambda name: [py, "-c", "pass"],
        "satnav --help": lambda name: [py, "-m", "satnav", "--help"],
        "satnav info ESBC day (.crx.gz)": lambda name: [py, "-m", "satnav", "info", str(CRX)],
        "satnav orbits ESBC day at 30 s": lambda name: [
            py, "-m", "satnav", "orbits", str(NAV), "--interval", "30", "-o", str(tmp / f"orbits-{name}.sp3")],
    }
    peers = {}
    rnx2rtkp = shutil.which("rnx2rtkp")
    if rnx2rtkp:  # RTKLIB expands the file beside itself: a copy in the temporary directory
        peer_dir = tmp / "rtklib"
        peer_dir.mkdir()
        shutil.copy(CRX, peer_dir / CRX.name)
        peers["satnav info ESBC day (.crx.gz)"] = [
            rnx2rtkp, "-p", "0", "-o", str(peer_dir / "out.pos"), str(peer_dir / CRX.name)]
    results: dict[tuple[str, str], list] = {}
    for job, argv_of in jobs.items():
        for name in trees:  # warm-up: bytecode cache, page cache
            _run(argv_of(name), envs[name])
        if job in peers:
            _run(peers[job], dict(os.environ))
        for _ in range(args.repeat):
            for name in trees:
                results.setdefault((job, name), []).append(_run(argv_of(name), envs[name]))
            if job in peers:
                results.setdefault((job, PEER), []).append(_run(peers[job], dict(os.environ)))

    load = os.getloadavg()
    print(f"# {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {os.cpu_count()} cores, "
          f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}, median of {args.repeat} interleaved runs")
    print(f"# before = {trees['before']}\n# after  = {trees['after']}")
    print("| job | run | wall (s) | CPU (s) | peak RSS (MB) |")
    print("|---|---|---|---|---|")
    for (job, name), runs in results.items():
        wall = statistics.median(r[0] for r in runs)
        cpu = statistics.median(r[1] for r in runs)
        rss = max(r[2] for r in runs)
        print(f"| {job} | {name} | {wall:.3f} | {cpu:.3f} | {rss:.0f} |")
    for job in jobs:
        b = statistics.median(r[0] for r in results[(job, "before")])
        a = statistics.median(r[0] for r in results[(job, "after")])
        line = f"{job}: after / before = {a / b:.3f}"
        if (job, PEER) in results:
            p = statistics.median(r[0] for r in results[(job, PEER)])
            line += f"; satnav / {PEER}: before {b / p:.2f}x, after {a / p:.2f}x"
        print(line)
    for line in _same_outputs(trees, envs, tmp):
        print(line)
    shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
