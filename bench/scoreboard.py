"""Benchmark: every job of issue 12 against RTKLIB, whole processes, interleaved in one run.

Each job is run as a user runs it (interpreter start, imports, reading, solving, writing) by
``satnav`` and, where RTKLIB has the same job, by Debian's native RTKLIB 2.4.3 ``rnx2rtkp``
(package ``rtklib``) with the reference configurations of ``../shared/reference/rtklib``.
The runs of one repetition go job after job, satnav then RTKLIB, so that the machine's load
(shared: other agents) falls on both alike; figures are medians of ``--repeat``.

Issue 12 states its targets against RTKLIB EX 2.5.1 (rtklibexplorer, not installed here),
measured at 2.3x faster than Debian's 2.4.3 on the ESBC SPP day: the "vs EX" column is
``satnav time / (2.4.3 time / 2.3)``. The two ratios use wall times; CPU times (user + sys
of the process and the children it waited for: ``crx2rnx``, ``gzip``, ``--jobs`` workers)
are printed too and are the steadier figure on a loaded machine.

Jobs (inputs copied or expanded into a temporary folder; RTKLIB expands compressed inputs
beside themselves, so it is given copies). Compact RINEX is expanded by the native
``crx2rnx`` of the ``hatanaka`` package for both programs (first on RTKLIB's ``PATH``; the
``crx2rnx`` on a pyenv ``PATH`` is a Python launcher, ~0.1-0.3 s more per call):

* ``spp esbc .crx.gz``: the ESBC day as distributed (``.crx.gz`` + the two ``MN.rnx.gz``),
  all systems, ``--jobs 1`` and the default (every core);
* ``spp esbc plain``, ``spp esbc G``: the same day expanded once (all systems; GPS only);
* ``spp esbc 1 h``: its first hour (120 epochs), plain;
* ``spp nya1 .crx.gz``: the NYA1 day (G R E C) as distributed;
* ``rtk gsi``: kinematic RTK, gsi 0759 rover / 3040 base, 120 epochs, GPS L1+L2;
* ``satnav --help`` (target <= 0.15 s) beside ``python -c pass`` and ``python -c "import
  numpy"`` (the start-up floor of any NumPy program);
* ``info esbc``: ``satnav info`` on the ``.crx.gz``, ``--jobs 1`` and every core; the peer is
  ``rnx2rtkp`` given the file and no navigation data (it expands and reads every epoch, then
  stops: RTKLIB's read time);
* ``orbits esbc``: ``satnav orbits`` of the ESBC navigation file, the day at 30 s, to SP3,
  ``--jobs 1`` and every core (no RTKLIB command writes SP3 from broadcast ephemerides:
  absolute figure only).

Usage: ``python bench/scoreboard.py [--repeat 5] [--only NAME,...] [--before OTHER/src]``; run it
with the real interpreter (not a pyenv shim) so that the interpreter start is not inflated.
``--before`` runs every satnav job a second time with another source tree, right after the
first (rows ``[before]``): a before/after comparison under the same load.
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

SRC = Path(__file__).resolve().parents[1] / "src"
REF = DATA.parent / "reference" / "rtklib"
ESBC = DATA / "esbc-2020-177"
NYA1 = DATA / "nya1-2024-124"
GSI = DATA / "gsi-2005-092"
EX_FACTOR = 2.3  # RTKLIB EX 2.5.1 is this much faster than 2.4.3 on the ESBC SPP day (issue 12)
#: (job, target ratio vs EX) -- None: an absolute target or none
TARGETS = {
    "spp esbc .crx.gz --jobs 1": 1.0, "spp esbc .crx.gz (every core)": 0.6, "spp esbc plain": 1.0,
    "spp esbc G": 1.0, "spp esbc 1 h": 1.0, "spp nya1 .crx.gz": 1.0, "rtk gsi": 1.5,
    "info esbc .crx.gz --jobs 1": EX_FACTOR,  # <= RTKLIB's (2.4.3's) own read time
    "info esbc .crx.gz (every core)": EX_FACTOR,
}


def _crx2rnx_dir() -> str:
    from hatanaka.hatanaka import executables

    return str(executables)


_EXPAND = """
import gzip, sys
from pathlib import Path
src, dst, n = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
if src.name.endswith(".crx.gz"):
    import hatanaka
    text = hatanaka.decompress(src)
else:
    with gzip.open(src, "rb") as f:
        text = f.read()
if n:  # the first n epochs
    cut = -1
    for _ in range(n + 1):
        cut = text.find(b"\\n>", cut + 1)
    text = text[: cut + 1]
dst.write_bytes(text)
"""


def _expand(src: Path, dst: Path, epochs: int = 0) -> Path:
    """``src`` expanded (gzip, Hatanaka) to ``dst``, its first ``epochs`` epochs when given; in a
    child process, so that this one stays small (a child's peak RSS counts its parent's)."""
    subprocess.run([sys.executable, "-c", _EXPAND, str(src), str(dst), str(epochs)], check=True)
    return dst


def _jobs(tmp: Path, py: str) -> dict:
    """job -> (satnav argv, RTKLIB argv or None)."""
    peer = tmp / "peer"
    peer.mkdir()
    for f in (ESBC / "ESBC00DNK_R_20201770000_01D_30S_MO.crx.gz", ESBC / "ESBC00DNK_R_20201770000_01D_MN.rnx.gz",
              ESBC / "MOJN00DNK_R_20201770000_01D_MN.rnx.gz", NYA1 / "NYA100NOR_S_20241240000_01D_30S_MO.crx.gz",
              *sorted(NYA1.glob("*N.rnx.gz"))):
        shutil.copy(f, peer / f.name)
    esbc_crx = peer / "ESBC00DNK_R_20201770000_01D_30S_MO.crx.gz"
    esbc_nav = [peer / "ESBC00DNK_R_20201770000_01D_MN.rnx.gz", peer / "MOJN00DNK_R_20201770000_01D_MN.rnx.gz"]
    nya1_crx = peer / "NYA100NOR_S_20241240000_01D_30S_MO.crx.gz"
    nya1_nav = sorted(peer.glob("NYA1*N.rnx.gz"))
    plain = _expand(ESBC / "ESBC00DNK_R_20201770000_01D_30S_MO.crx.gz", tmp / "esbc.rnx")
    plain_nav = [_expand(p, tmp / p.name[:-3]) for p in esbc_nav]
    hour = _expand(ESBC / "ESBC00DNK_R_20201770000_01D_30S_MO.crx.gz", tmp / "esbc-1h.rnx", 120)
    rtk_conf = tmp / "rtk_kin_continuous_sys1.conf"  # 2.4.3 spells EX's "l1+l2" "l1+2"
    rtk_conf.write_text((REF / "gsi-2005-092" / "rtk_kin_continuous_sys1.conf").read_text()
                        .replace("=l1+l2 ", "=l1+2  "))
    multi = str(REF / "esbc-2020-177" / "spp_multi.conf")
    rnx2rtkp = shutil.which("rnx2rtkp")

    def satnav(*args):
        return [py, "-m", "satnav", *map(str, args)]

    def rtklib(conf, out, *files):
        return [rnx2rtkp, "-k", str(conf), "-o", str(tmp / out), *map(str, files)] if rnx2rtkp else None

    return {
        "spp esbc .crx.gz --jobs 1": (satnav("solve", esbc_crx, *esbc_nav, "-o", tmp / "s1.pos", "-q", "--jobs", "1"),
                                      rtklib(multi, "r1.pos", esbc_crx, *esbc_nav)),
        "spp esbc .crx.gz (every core)": (satnav("solve", esbc_crx, *esbc_nav, "-o", tmp / "s2.pos", "-q"), None),
        "spp esbc plain": (satnav("solve", plain, *plain_nav, "-o", tmp / "s3.pos", "-q"),
                           rtklib(multi, "r3.pos", plain, *plain_nav)),
        "spp esbc G": (satnav("solve", plain, *plain_nav, "-o", tmp / "s4.pos", "-q", "--systems", "G"),
                       rtklib(REF / "esbc-2020-177" / "spp_gps.conf", "r4.pos", plain, *plain_nav)),
        "spp esbc 1 h": (satnav("solve", hour, *plain_nav, "-o", tmp / "s5.pos", "-q"),
                         rtklib(multi, "r5.pos", hour, *plain_nav)),
        "spp nya1 .crx.gz": (satnav("solve", nya1_crx, *nya1_nav, "-o", tmp / "s6.pos", "-q"),
                             rtklib(REF / "nya1-2024-124" / "spp_multi.conf", "r6.pos", nya1_crx, *nya1_nav)),
        "rtk gsi": (satnav("solve", GSI / "07590920.05o", GSI / "07590920.05n", GSI / "30400920.05n", "--base",
                           GSI / "30400920.05o", "--mode", "kinematic", "--mask", "10", "-o", tmp / "s7.pos", "-q"),
                    rtklib(rtk_conf, "r7.pos", GSI / "07590920.05o", GSI / "30400920.05o", GSI / "07590920.05n",
                           GSI / "30400920.05n")),
        "python -c pass": ([py, "-c", "pass"], None),
        "python -c 'import numpy'": ([py, "-c", "import numpy"], None),  # the floor of any NumPy program
        "satnav --help": (satnav("--help"), None),
        "info esbc .crx.gz --jobs 1": (satnav("info", esbc_crx, "--jobs", "1"),
                                       [rnx2rtkp, "-p", "0", "-o", str(tmp / "r8.pos"), str(esbc_crx)]
                                       if rnx2rtkp else None),
        "info esbc .crx.gz (every core)": (satnav("info", esbc_crx), None),
        "orbits esbc day at 30 s --jobs 1": (satnav("orbits", ESBC / "ESBC00DNK_R_20201770000_01D_MN.rnx.gz",
                                                    "--interval", "30", "-o", tmp / "orbits1.sp3", "--jobs", "1"),
                                             None),
        "orbits esbc day at 30 s (every core)": (satnav("orbits", ESBC / "ESBC00DNK_R_20201770000_01D_MN.rnx.gz",
                                                        "--interval", "30", "-o", tmp / "orbits2.sp3"), None),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--only", help="comma-separated job names (default: all)")
    ap.add_argument("--src", default=str(SRC), help="satnav source tree (default: this checkout's src)")
    ap.add_argument("--before", help="a second satnav source tree (another revision's src): its rows "
                                     "('[before]') are run interleaved with the others")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="satnav-scoreboard-"))
    py = sys.executable
    jobs = _jobs(tmp, py)
    if args.only:
        keep = {j.strip() for j in args.only.split(",")}
        jobs = {k: v for k, v in jobs.items() if k in keep}

    def satnav_env(src: str, cache: str) -> dict:
        env = dict(os.environ, PYTHONPATH=str(Path(src).resolve()), OPENBLAS_NUM_THREADS="1",
                   PYTHONPYCACHEPREFIX=str(tmp / cache))
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        return env

    env = satnav_env(args.src, "pycache")
    envs = {job: env for job in jobs}
    if args.before:  # each satnav job again with the other tree, right after it (outputs beside)
        both = {}
        for job, (ours, theirs) in jobs.items():
            both[job] = (ours, theirs)
            if ours[1:3] == ["-m", "satnav"]:
                both[f"{job} [before]"] = ([str(a).replace(".pos", "-before.pos") for a in ours], None)
                envs[f"{job} [before]"] = satnav_env(args.before, "pycache-before")
        jobs = both
    peer_env = dict(os.environ, PATH=_crx2rnx_dir() + os.pathsep + os.environ.get("PATH", ""))
    loads = [os.getloadavg()[0]]
    for job, (ours, theirs) in jobs.items():  # warm-up: bytecode cache, page cache
        _run(ours, envs.get(job, env))
        if theirs:
            _run(theirs, peer_env)
    results: dict[tuple[str, str], list] = {}
    for _ in range(args.repeat):
        for job, (ours, theirs) in jobs.items():
            results.setdefault((job, "satnav"), []).append(_run(ours, envs.get(job, env)))
            if theirs:
                results.setdefault((job, "rtklib"), []).append(_run(theirs, peer_env))
        loads.append(os.getloadavg()[0])
    print(f"# {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {os.cpu_count()} cores, load average (1 min) "
          f"{min(loads):.2f}-{max(loads):.2f} during the run, median of {args.repeat} interleaved runs")
    print("| job | satnav wall (s) | CPU (s) | peak RSS (MB) | RTKLIB 2.4.3 wall (s) | CPU (s) | "
          "satnav / 2.4.3 wall (CPU) | vs EX = x2.3 | target vs EX |")
    print("|---|---|---|---|---|---|---|---|---|")
    for job in jobs:
        ours = results[(job, "satnav")]
        w, c, m = (statistics.median(r[i] for r in ours) for i in range(3))
        row = f"| {job} | {w:.3f} | {c:.3f} | {max(r[2] for r in ours):.0f} |"
        base = job.removesuffix(" [before]")
        theirs = results.get((base, "rtklib"))
        peer_job = base if theirs else next((j for j in jobs if j.endswith("--jobs 1") and
                                             base.startswith(j[: -len("--jobs 1")])), None)
        theirs = results.get((peer_job, "rtklib")) if peer_job else None
        if theirs:
            pw, pc = (statistics.median(r[i] for r in theirs) for i in range(2))
            row += f" {pw:.3f} | {pc:.3f} | {w / pw:.2f}x ({c / pc:.2f}x) | {EX_FACTOR * w / pw:.2f}x |"
        else:
            row += " - | - | - | - |"
        target = TARGETS.get(base)
        row += f" <= {target:g}x |" if target else (" <= 0.15 s |" if job == "satnav --help" else " - |")
        print(row)
    same = [(a, b) for a, b in (("s1.pos", "s2.pos"), ("orbits1.sp3", "orbits2.sp3"), ("s1.pos", "s1-before.pos"),
                                ("s2.pos", "s2-before.pos"))
            if (tmp / a).exists() and (tmp / b).exists()]
    for a, b in same:
        print(f"# {a} and {b} identical: {(tmp / a).read_bytes() == (tmp / b).read_bytes()}")
    shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
