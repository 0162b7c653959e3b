"""Benchmark: kinematic RTK on the GEONET 0759 (rover) / 3040 (base) pair, 120 epochs.

Times satnav's :func:`satnav.estimators.rtk.solve_rtk` (reading separately, then solving,
then both together) and, in the same run, RTKLIB 2.4.3's ``postpos`` through the PyPI
package ``pyrtklib`` when it is installed (its time includes its own file reading). Prints
epochs per second, fix rates and the fixed-solution error against the truth of
shared/data/README.md. The headline is the like-for-like ratio: satnav read+solve against
RTKLIB (whose time includes its reading); the solve-only ratio follows it.

The integer search (LAMBDA reduction and search loops) runs compiled by numba when it is
installed (``satnav.estimators.lambda_ils.use_accelerator``); the pure-Python path is then
timed too, in the same run. The first call's compilation (or cache load) is not in the
best-of-N times; it is printed separately.

Usage: ``python bench/rtk.py [--repeat N] [--mask DEG]`` (data from $SATNAV_DATA, default
../shared/data). The mask defaults to 10 deg, as RTKLIB's reference run.
"""

from __future__ import annotations

import argparse
import math
import os
import tempfile
from pathlib import Path

import numpy as np

import satnav
from common import DATA as SHARED_DATA
from common import best_of
from satnav.estimators import lambda_ils
from satnav.estimators.rtk import solve_rtk

REPO = Path(__file__).resolve().parents[1]
DATA = SHARED_DATA / "gsi-2005-092"
TRUTH = np.array([-3976219.6644, 3382372.5414, 3652513.0556])
ROVER, BASE = DATA / "07590920.05o", DATA / "30400920.05o"
NAVS = [DATA / "07590920.05n", DATA / "30400920.05n"]


def run_rtklib(mask_deg, repeat):
    """RTKLIB kinematic RTK as shared/tools/rtklib_pos.py sets it up; None if unavailable."""
    try:
        import pyrtklib as rk
    except ImportError:
        return None
    out = Path(tempfile.mkdtemp()) / "rtklib.pos"

    def once():
        popt, sopt = rk.prcopt_default, rk.solopt_default
        popt.mode = 2  # kinematic
        popt.navsys = 1  # GPS
        popt.elmin = math.radians(mask_deg)
        popt.ionoopt, popt.tropopt = 1, 1
        popt.nf = 2
        popt.modear = 1
        popt.refpos = 3
        popt.thresar[0] = 3.0
        sopt.posf = 1
        files = [str(ROVER), str(BASE)] + [str(p) for p in NAVS]
        ret = rk.postpos(rk.gtime_t(), rk.gtime_t(), 0.0, 0.0, popt, sopt, rk.filopt_t(), files,
                         len(files), rk.Arr1Dchar(str(out)), "", "")
        if ret != 0:
            raise RuntimeError(f"postpos returned {ret}")

    secs, _ = best_of(once, repeat)
    rows = [ln.split() for ln in out.read_text().splitlines() if ln and not ln.startswith("%")]
    q = np.array([int(r[5]) for r in rows])
    xyz = np.array([[float(v) for v in r[2:5]] for r in rows])
    return secs, q, xyz


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--mask", type=float, default=10.0)
    ap.add_argument("--no-processes", dest="processes", action="store_false",
                    help="skip the whole-process comparison")
    a = ap.parse_args()

    def read():
        return satnav.read_obs(ROVER), satnav.read_obs(BASE), satnav.read_nav(*NAVS)

    print(f"load average (1 min) {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    t_read, (rover, base, nav) = best_of(read, a.repeat)

    def solve():
        return solve_rtk(rover, base, nav, mode="kinematic", elevation_mask_deg=a.mask)

    t_load, accel = best_of(lambda: lambda_ils.use_accelerator(True), 1)  # import numba, load
    t_first, _ = best_of(solve, 1)
    t_solve, sol = best_of(solve, a.repeat)
    m = len(sol)
    e = sol.errors(TRUTH)
    kind = "numba kernels" if accel else "pure Python (numba not installed)"
    print(f"satnav ({kind}): {m} epochs, read {t_read:.4f} s, solve {t_solve:.4f} s "
          f"= {m / t_solve:.0f} epochs/s (read+solve {m / (t_read + t_solve):.0f} epochs/s); "
          f"first call {t_first:.3f} s" + (f" after {t_load:.3f} s to import numba and load "
                                            "(or compile) the kernels" if accel else ""))
    if accel:
        lambda_ils.use_accelerator(False)
        t_pure, sol_pure = best_of(solve, a.repeat)
        lambda_ils.use_accelerator(True)
        same = np.array_equal(sol_pure.position_m, sol.position_m, equal_nan=True) and \
            np.array_equal(sol_pure.ratio, sol.ratio)
        print(f"satnav (pure Python integer search): solve {t_pure:.4f} s = "
              f"{m / t_pure:.0f} epochs/s; results bit-identical: {same}")
    print(f"satnav: fixed {int(sol.fixed.sum())}/{m} ({100 * sol.fix_rate:.1f} %), "
          f"H RMS {e['h_rms'] * 1000:.1f} mm, V RMS {e['v_rms'] * 1000:.1f} mm, "
          f"max 3-D {e['max_3d'] * 1000:.1f} mm")
    rk = run_rtklib(a.mask, a.repeat)
    if rk is None:
        print("RTKLIB: pyrtklib not installed (pip install pyrtklib)")
        return
    secs, q, xyz = rk
    fixed = q == 1
    from satnav.frames import ecef_to_enu

    enu = ecef_to_enu(xyz[fixed], TRUTH)
    h = np.hypot(enu[:, 0], enu[:, 1])
    print(f"RTKLIB 2.4.3 (pyrtklib postpos, incl. its reading): {len(q)} epochs, {secs:.4f} s "
          f"= {len(q) / secs:.0f} epochs/s")
    print(f"RTKLIB: fixed {int(fixed.sum())}/{len(q)}, H RMS {np.sqrt(np.mean(h**2)) * 1000:.1f} mm, "
          f"V RMS {np.sqrt(np.mean(enu[:, 2]**2)) * 1000:.1f} mm")
    # like for like: RTKLIB's time includes reading its four files, so satnav's must too
    print(f"HEADLINE like for like (read+solve, both reading the same 4 files): satnav "
          f"{m / (t_read + t_solve):.0f} epochs/s vs RTKLIB {len(q) / secs:.0f} epochs/s = "
          f"{secs / (t_read + t_solve):.2f}x RTKLIB's speed (>= 1 is faster)")
    print(f"(satnav solve alone, reading excluded: {secs / t_solve:.2f}x RTKLIB's speed)")
    if a.processes:
        processes(a.mask, a.repeat)


_RTKLIB_PROCESS = '''
import math, sys
import pyrtklib as rk
rover, base, nav1, nav2, out, mask = sys.argv[1:7]
popt, sopt = rk.prcopt_default, rk.solopt_default
popt.mode, popt.navsys, popt.elmin = 2, 1, math.radians(float(mask))
popt.ionoopt, popt.tropopt, popt.nf, popt.modear, popt.refpos = 1, 1, 2, 1, 3
popt.thresar[0] = 3.0
sopt.posf = 1
files = [rover, base, nav1, nav2]
sys.exit(rk.postpos(rk.gtime_t(), rk.gtime_t(), 0.0, 0.0, popt, sopt, rk.filopt_t(), files, 4,
                    rk.Arr1Dchar(out), "", ""))
'''


def processes(mask_deg, repeat):
    """Whole processes, start to exit: ``satnav solve ... --base`` against a Python process
    that imports pyrtklib and runs postpos (both pay the interpreter start)."""
    import subprocess
    import sys

    tmp = Path(tempfile.mkdtemp())
    script = tmp / "rtklib_rtk.py"
    script.write_text(_RTKLIB_PROCESS)
    satnav_cmd = [sys.executable, "-m", "satnav", "solve", str(ROVER), *map(str, NAVS), "--base", str(BASE),
                  "--mask", str(mask_deg), "-q", "-o", str(tmp / "satnav.pos")]
    rtklib_cmd = [sys.executable, str(script), str(ROVER), str(BASE), *map(str, NAVS), str(tmp / "rtklib.pos"),
                  str(mask_deg)]
    times = {}
    for name, cmd in (("satnav solve --base", satnav_cmd), ("python + pyrtklib postpos", rtklib_cmd)):
        def once(cmd=cmd):
            subprocess.run(cmd, check=True, capture_output=True)
        times[name], _ = best_of(once, repeat)
    for name, t in times.items():
        print(f"process: {name}: {t:.3f} s")
    print(f"process ratio: satnav {times['python + pyrtklib postpos'] / times['satnav solve --base']:.2f}x "
          "RTKLIB's speed as whole processes (>= 1 is faster)")


if __name__ == "__main__":
    main()
