"""Benchmark: two satnav revisions side by side, as whole processes, interleaved in one run.

A refactor must not make satnav slower. This script times the same user jobs with two
source trees (``--before`` and ``--after``, each a checkout's ``src`` directory put first on
``PYTHONPATH``), alternating the two runs so that machine load affects both alike:

1. ``python -c "import satnav"`` (the package's import cost);
2. ``satnav solve`` of the full ESBC day (2880 epochs, GRECJ, plain RINEX expanded once,
   not timed) to a ``.pos``;
3. ``satnav solve`` kinematic RTK of gsi-2005-092 (0759 rover, 3040 base, 120 epochs);
4. RTKLIB 2.4.3 ``rnx2rtkp`` (Debian package ``rtklib``) on the same SPP and RTK jobs with the
   reference configurations of ``../shared/reference/rtklib`` when installed, so the
   like-for-like ratios are measured in the same run.

Each figure is the median of ``--repeat`` wall times (``os.wait4`` also gives the CPU time and
the peak RSS of the child). Python's bytecode cache is enabled for both trees (one warm-up run
each, not counted), as for an installed package.

Usage: ``python bench/revisions.py --before /tmp/old/src --after src [--repeat 7]``; a
``--before`` revision can be checked out with ``git worktree add /tmp/old COMMIT``.
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

ESBC = DATA / "esbc-2020-177"
GSI = DATA / "gsi-2005-092"


_EXPAND = """
import gzip, sys
from pathlib import Path
import hatanaka
src, tmp = Path(sys.argv[1]), Path(sys.argv[2])
(tmp / "ESBC00DNK_R_20201770000_01D_30S_MO.rnx").write_bytes(
    hatanaka.decompress(src / "ESBC00DNK_R_20201770000_01D_30S_MO.crx.gz"))
for name in ("ESBC00DNK_R_20201770000_01D_MN.rnx.gz", "MOJN00DNK_R_20201770000_01D_MN.rnx.gz"):
    with gzip.open(src / name, "rb") as f:
        (tmp / name[:-3]).write_bytes(f.read())
"""


def _expand(tmp: Path) -> dict:
    """The ESBC day as plain RINEX (Hatanaka + gzip expanded once), in a child process so
    that this process stays small (a child's peak RSS counts its parent's before ``exec``)."""
    subprocess.run([sys.executable, "-c", _EXPAND, str(ESBC), str(tmp)], check=True)
    return {
        "obs": tmp / "ESBC00DNK_R_20201770000_01D_30S_MO.rnx",
        "nav": [tmp / "ESBC00DNK_R_20201770000_01D_MN.rnx", tmp / "MOJN00DNK_R_20201770000_01D_MN.rnx"],
    }


def _run(argv: list[str], env: dict) -> tuple[float, float, float, int]:
    """(wall s, CPU s, peak RSS MB, exit status) of one child process."""
    with tempfile.TemporaryFile() as err_file:  # a pipe could fill up and block the child
        t0 = time.perf_counter()
        proc = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=err_file)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        err_file.seek(0)
        err = err_file.read().decode(errors="replace")[-2000:]
    proc.returncode = code = os.waitstatus_to_exitcode(status)
    if code not in (0, 1):
        raise SystemExit(f"{' '.join(map(str, argv))} failed ({code}):\n{err}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024.0, code


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--before", required=True, help="src directory of the earlier revision")
    ap.add_argument("--after", default=str(Path(__file__).resolve().parents[1] / "src"))
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="satnav-rev-"))
    files = _expand(tmp)
    trees = {"before": str(Path(args.before).resolve()), "after": str(Path(args.after).resolve())}
    envs = {}
    for name, src in trees.items():
        env = dict(os.environ, PYTHONPATH=src, OPENBLAS_NUM_THREADS="1",
                   PYTHONPYCACHEPREFIX=str(tmp / f"pycache-{name}"))
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        envs[name] = env
    py = sys.executable
    jobs = {
        "import satnav": lambda name: [py, "-c", "import satnav"],
        "SPP esbc day (GRECJ)": lambda name: [
            py, "-m", "satnav", "solve", str(files["obs"]), *map(str, files["nav"]),
            "-o", str(tmp / f"esbc-{name}.pos"), "--systems", "GRECJ", "-q"],
        "RTK gsi kinematic (120 epochs)": lambda name: [
            py, "-m", "satnav", "solve", str(GSI / "07590920.05o"), str(GSI / "07590920.05n"),
            str(GSI / "30400920.05n"), "--base", str(GSI / "30400920.05o"), "--mode", "kinematic",
            "--mask", "10", "-o", str(tmp / f"gsi-{name}.pos"), "-q"],
    }
    rnx2rtkp = shutil.which("rnx2rtkp")
    peers = {}
    if rnx2rtkp:  # the reference configurations of ../shared/reference/rtklib
        ref = DATA.parent / "reference" / "rtklib"
        peers["SPP esbc day (GRECJ)"] = [
            rnx2rtkp, "-k", str(ref / "esbc-2020-177" / "spp_multi.conf"), "-o", str(tmp / "rtklib-spp.pos"),
            str(files["obs"]), *map(str, files["nav"])]
        # RTKLIB 2.4.3 spells the EX option value "l1+l2" as "l1+2"
        conf = tmp / "rtk_kin_continuous_sys1.conf"
        conf.write_text((ref / "gsi-2005-092" / "rtk_kin_continuous_sys1.conf").read_text()
                        .replace("=l1+l2 ", "=l1+2  "))
        peers["RTK gsi kinematic (120 epochs)"] = [
            rnx2rtkp, "-k", str(conf), "-o",
            str(tmp / "rtklib-rtk.pos"), str(GSI / "07590920.05o"), str(GSI / "30400920.05o"),
            str(GSI / "07590920.05n"), str(GSI / "30400920.05n")]
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
                results.setdefault((job, "RTKLIB 2.4.3 rnx2rtkp"), []).append(_run(peers[job], dict(os.environ)))

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
        peer_runs = results.get((job, "RTKLIB 2.4.3 rnx2rtkp"))
        if peer_runs:
            p = statistics.median(r[0] for r in peer_runs)
            line += f"; satnav / RTKLIB 2.4.3: before {b / p:.2f}x, after {a / p:.2f}x"
        print(line)
    shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
