"""Benchmark: the fixed cost of short jobs (issue 12), whole processes and phase by phase.

Two short jobs of ``bench/scoreboard.py`` -- ``spp esbc 1 h`` (the ESBC day's first 120
epochs, all systems, with the day's two ``MN`` navigation files) and ``rtk gsi`` (kinematic
RTK, 0759 rover / 3040 base, 120 epochs, GPS L1+L2) -- run as a user runs them (``python -m
satnav solve ...``), interleaved with Debian's RTKLIB 2.4.3 ``rnx2rtkp`` on the same inputs and
with the start-up floor of any NumPy program:

* ``python -S -c pass`` (the interpreter alone), ``python -c pass`` (with ``site`` and the
  ``.pth`` files of site-packages), ``python -c "import numpy"``;
* each satnav source tree given (``--src NAME=DIR``, e.g. the revision before a change and
  this checkout), with ``OPENBLAS_NUM_THREADS=1`` as every other bench sets it and, as a user
  runs it, without (``--no-blas-variable``);
* the phases of one satnav run, CPU time of the process (``time.process_time``, in the process
  itself; medians): interpreter start with ``site``, ``import numpy``, satnav's modules until
  the command runs, the command (parser, the modules it imports later, reading the
  navigation and observation files, solving, writing) and the exit after ``atexit``.

Figures are medians of ``--repeat`` interleaved runs: wall and CPU (user + sys of the
process, ``os.wait4``). "vs EX" is satnav / (2.4.3 / 2.3), RTKLIB EX 2.5.1 being 2.3x faster
than 2.4.3 (issue 12). Run it with the real interpreter (not a pyenv shim).

Usage: ``python bench/fixed_cost.py [--repeat 9] [--src before=/tmp/old/src] [--src after=src]
[--no-blas-variable] [--phases]``.
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
from scoreboard import EX_FACTOR, REF, _expand

SRC = Path(__file__).resolve().parents[1] / "src"
ESBC = DATA / "esbc-2020-177"
GSI = DATA / "gsi-2005-092"

#: Run in the measured process instead of ``-m satnav``: the same command, with the CPU time
#: (``time.process_time``) noted at the start of each phase and written to ``$PHASES_OUT``.
_PHASES = r"""
import os, sys, time
P = time.process_time
marks = {"start": P()}
import atexit
atexit.register(lambda: open(os.environ["PHASES_OUT"], "a").write(
    " ".join(f"{k}={v:.6f}" for k, v in {**marks, "atexit": P()}.items()) + "\n"))
import numpy
marks["numpy"] = P()
import satnav.cli.main
import satnav.pipeline as pl
import satnav.io.rinex_obs as ro
import satnav.io.solution as so
main = sys.modules["satnav.cli.main"].main
marks["satnav"] = P()
spent = {}
def timed(mod, name, key):
    f = getattr(mod, name)
    def w(*a, **k):
        t = P()
        try:
            return f(*a, **k)
        finally:
            spent[key] = spent.get(key, 0.0) + P() - t
    setattr(mod, name, w)
timed(pl, "_navigation", "navigation")
timed(ro, "parse_rinex_obs", "observations")
timed(so, "write_solution", "write")
timed(pl, "solve_files", "solve_files")
sys.argv = ["satnav"] + sys.argv[1:]
try:
    status = main()
finally:
    marks["command"] = P()
    for k, v in spent.items():
        marks["spent_" + k] = v
sys.exit(status)
"""

PHASES = (
    ("interpreter and site", lambda m: m["start"]),
    ("import numpy", lambda m: m["numpy"] - m["start"]),
    ("satnav modules before the command", lambda m: m["satnav"] - m["numpy"]),
    ("command: parser, later imports, set-up", lambda m: m["command"] - m["satnav"] - m.get("spent_solve_files", 0)
     - m.get("spent_write", 0)),
    ("  reading navigation", lambda m: m.get("spent_navigation", 0)),
    ("  reading observations", lambda m: m.get("spent_observations", 0)),
    ("  solving (+ imports of the estimators)", lambda m: m.get("spent_solve_files", 0)
     - m.get("spent_navigation", 0) - m.get("spent_observations", 0)),
    ("  writing the .pos", lambda m: m.get("spent_write", 0)),
    ("exit after atexit", lambda m: m["total"] - m["atexit"]),
    ("total (os.wait4)", lambda m: m["total"]),
)


def _run(argv, env) -> tuple[float, float]:
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(map(str, argv))} failed")
    return time.perf_counter() - t0, usage.ru_utime + usage.ru_stime


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=9)
    ap.add_argument("--src", action="append", metavar="NAME=DIR",
                    help="a satnav source tree (repeatable; default: this checkout's src as 'satnav')")
    ap.add_argument("--no-blas-variable", action="store_true",
                    help="also run each tree without OPENBLAS_NUM_THREADS in its environment")
    ap.add_argument("--phases", action="store_true", help="also break each tree's runs down by phase")
    args = ap.parse_args()
    trees = dict(s.split("=", 1) for s in (args.src or [f"satnav={SRC}"]))
    tmp = Path(tempfile.mkdtemp(prefix="satnav-fixed-"))
    py = sys.executable
    nav = [_expand(ESBC / n, tmp / n[:-3]) for n in ("ESBC00DNK_R_20201770000_01D_MN.rnx.gz",
                                                     "MOJN00DNK_R_20201770000_01D_MN.rnx.gz")]
    hour = _expand(ESBC / "ESBC00DNK_R_20201770000_01D_30S_MO.crx.gz", tmp / "esbc-1h.rnx", 120)
    rtk_conf = tmp / "rtk.conf"  # 2.4.3 spells EX's "l1+l2" "l1+2"
    rtk_conf.write_text((REF / "gsi-2005-092" / "rtk_kin_continuous_sys1.conf").read_text().replace("=l1+l2 ", "=l1+2  "))
    gsi = [GSI / "07590920.05o", GSI / "07590920.05n", GSI / "30400920.05n"]
    solve = {"spp esbc 1 h": [hour, *nav, "-q"],
             "rtk gsi": [*gsi, "--base", GSI / "30400920.05o", "--mode", "kinematic", "--mask", "10", "-q"]}
    rnx2rtkp = shutil.which("rnx2rtkp")
    peers = {"spp esbc 1 h": [rnx2rtkp, "-k", REF / "esbc-2020-177" / "spp_multi.conf", "-o", tmp / "r1.pos", hour, *nav],
             "rtk gsi": [rnx2rtkp, "-k", rtk_conf, "-o", tmp / "r2.pos", gsi[0], GSI / "30400920.05o", *gsi[1:]]}

    base_env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_NUM_THREADS", "PYTHONDONTWRITEBYTECODE")}
    runs: dict[str, tuple[list, dict]] = {
        "python -S -c pass": ([py, "-S", "-c", "pass"], base_env),
        "python -c pass": ([py, "-c", "pass"], base_env),
        "python -c 'import numpy'": ([py, "-c", "import numpy"], dict(base_env, OPENBLAS_NUM_THREADS="1")),
    }
    if args.no_blas_variable:
        runs["python -c 'import numpy', no OPENBLAS_NUM_THREADS"] = ([py, "-c", "import numpy"], base_env)
    variants = [("", {"OPENBLAS_NUM_THREADS": "1"})] + ([(", no OPENBLAS_NUM_THREADS", {})]
                                                        if args.no_blas_variable else [])
    phase_files = {}
    for job, job_args in solve.items():
        if rnx2rtkp:
            runs[f"{job}: RTKLIB 2.4.3 rnx2rtkp"] = (list(map(str, peers[job])), base_env)
        for name, src in trees.items():
            for label, extra in variants:
                env = dict(base_env, PYTHONPATH=str(Path(src).resolve()), **extra,
                           PYTHONPYCACHEPREFIX=str(tmp / f"pycache-{name}"))
                out = tmp / f"{name}-{len(runs)}.pos"
                runs[f"{job}: satnav {name}{label}"] = ([py, "-m", "satnav", "solve", *map(str, job_args), "-o", str(out)],
                                                        env)
                if args.phases and not label:
                    phase_files[(job, name)] = tmp / f"phases-{name}-{len(runs)}.txt"
                    runs[f"{job}: satnav {name} (phases)"] = (
                        [py, "-c", _PHASES, "solve", *map(str, job_args), "-o", str(out.with_suffix(".phases.pos"))],
                        dict(env, PHASES_OUT=str(phase_files[(job, name)])))
    loads = [os.getloadavg()[0]]
    results: dict[str, list] = {k: [] for k in runs}
    totals: dict[str, list] = {k: [] for k in runs}
    for rep in range(args.repeat + 1):  # the first round warms the caches (bytecode, pages)
        for key, (argv, env) in runs.items():
            r = _run(argv, env)
            if rep:
                results[key].append(r)
            elif key.endswith("(phases)"):
                Path(env["PHASES_OUT"]).unlink()
        loads.append(os.getloadavg()[0])
    print(f"# {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {os.cpu_count()} cores, load average (1 min) "
          f"{min(loads):.2f}-{max(loads):.2f}, median of {args.repeat} interleaved runs")
    print("| run | wall (s) | CPU (s) | vs RTKLIB 2.4.3 wall | vs EX (x2.3) |")
    print("|---|---|---|---|---|")
    for key, rs in results.items():
        if key.endswith("(phases)"):
            continue
        w, c = statistics.median(r[0] for r in rs), statistics.median(r[1] for r in rs)
        job = key.split(":")[0]
        peer = results.get(f"{job}: RTKLIB 2.4.3 rnx2rtkp")
        ratio = ""
        if peer and "satnav" in key:
            pw = statistics.median(r[0] for r in peer)
            ratio = f" {w / pw:.2f}x | {EX_FACTOR * w / pw:.2f}x |"
        print(f"| {key} | {w:.3f} | {c:.3f} |{ratio or ' | |'}")
        totals[key] = rs
    if phase_files:
        names = list(phase_files)
        print("\n| phase (CPU ms, median) | " + " | ".join(f"{job}: {name}" for job, name in names) + " |")
        print("|---|" + "---|" * len(names))
        marks = {}
        for (job, name), path in phase_files.items():
            rows = [dict((k, float(v)) for k, v in (kv.split("=") for kv in line.split()))
                    for line in path.read_text().split("\n") if line]
            cpu = [r[1] for r in results[f"{job}: satnav {name} (phases)"]]
            for row, c in zip(rows, cpu):
                row["total"] = c
            marks[(job, name)] = rows
        for title, f in PHASES:
            cells = [f"{1000 * statistics.median(f(m) for m in marks[k]):.1f}" for k in names]
            print(f"| {title} | " + " | ".join(cells) + " |")
    outputs = {}
    for key, (argv, _) in runs.items():
        if "satnav" in key and "-o" in argv and not key.endswith("(phases)"):
            outputs.setdefault(key.split(":")[0], set()).add(Path(argv[argv.index("-o") + 1]).read_bytes())
    for job, found in outputs.items():
        print(f"# {job}: the .pos of every satnav run identical: {len(found) == 1}")
    shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
