"""Low-cost RTK pairs (issue 18): satnav vs RTKLIB 2.4.3 ``rnx2rtkp`` on the same simulated data.

Seeded simulated receiver pairs of :mod:`tests.estimators.lowcost` (u-blox M8P-like: L1
only, GPS + GLONASS, 1 Hz, 300 epochs, code noise and multipath, slips, half-cycle flags,
base gaps up to 20 s; or dual-frequency G+E+C) are written as RINEX 3.05 and solved by
RTKLIB ``rnx2rtkp`` (ratio 3, continuous AR, GLONASS AR off and on, same 15 deg mask and
base position: :data:`tests.estimators.lowcost.RTKLIB_OPTIONS`) and by satnav's
``solve_rtk`` (defaults: ``glonass_ar="auto"``; ``"autocal"``; ``"off"``). ``--ifb`` gives the
rover a GLONASS phase inter-frequency bias (m per channel) and another receiver type in its
header (a mixed pair: the default then chooses autocal). Per seed: fixed epochs, wrong fixes (more
than 10 cm from the simulated truth), first fixed epoch, and the fixed epochs' E/N/U
scatter about their mean. The figures go to bench/RESULTS.md ("Low-cost RTK vs RTKLIB").

``python bench/rtk_lowcost.py [--seeds 0-5] [--kind sf|df] [--ifb 0.02]``. Needs ``rnx2rtkp`` on PATH
(Debian package ``rtklib``).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from tests.estimators.lowcost import (  # noqa: E402
    BASE,
    fix_statistics,
    low_cost_pair,
    rtklib_solution,
)

from satnav.estimators.rtk import solve_rtk  # noqa: E402

HOURS = (0, 4, 8, 12, 16, 20)
KINDS = {"sf": ("GR", ("L1",)), "df": ("GEC", ("L1", "L2"))}


def _seeds(text):
    lo, _, hi = text.partition("-")
    return range(int(lo), int(hi or lo) + 1)


def run(seeds, kind, tmp, ifb=0.0):
    systems, freqs = KINDS[kind]
    runs = {"RTKLIB AR GLO off": ("rtklib", "off"), "RTKLIB AR GLO on": ("rtklib", "on"),
            "satnav default (auto)": ("satnav", None), "satnav autocal": ("satnav", "autocal"),
            "satnav off": ("satnav", "off")}
    if "R" not in systems:
        runs = {"RTKLIB": ("rtklib", "off"), "satnav default": ("satnav", None)}
    rows = {name: [] for name in runs}
    for seed in seeds:
        r, b, nav, truth = low_cost_pair(seed, systems=systems, hour=HOURS[seed % len(HOURS)],
                                         ifb_m_per_channel=ifb)
        for name, (who, glo) in runs.items():
            if who == "rtklib":
                t, pos, q = rtklib_solution(r, b, nav, Path(tmp) / f"{kind}{seed}", systems=systems,
                                            n_frequencies=len(freqs), glonass_ar=glo)
                st = fix_statistics(t, pos, q == 1, truth, len(r.epochs))
            else:
                kw = {} if glo is None else {"glonass_ar": glo}
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    s = solve_rtk(r, b, nav, base_position=BASE, frequencies=freqs, systems=systems,
                                  max_age_s=30.0, **kw)
                st = fix_statistics(s.time_ns, s.position_m, s.fixed, truth, len(r.epochs))
            rows[name].append(st)
    what = f" IFB {1000 * ifb:g} mm/ch" if ifb else ""
    print(f"| {kind}{what} seeds {seeds.start}-{seeds.stop - 1} | " + " | ".join(runs) + " |")
    print("|---" * (len(runs) + 1) + "|")
    for k, seed in enumerate(seeds):
        cells = []
        for name in runs:
            st = rows[name][k]
            sc = st["scatter_enu_m"] * 1000
            scat = "-" if not np.isfinite(sc).all() else f"{sc[0]:.0f}/{sc[1]:.0f}/{sc[2]:.0f}"
            cells.append(f"{st['fixed']} ({st['wrong']} wrong), first {st['first']}, {scat} mm")
        print(f"| seed {seed} | " + " | ".join(cells) + " |")
    cells = []
    for name in runs:
        f = sum(st["fixed"] for st in rows[name])
        n = sum(st["n"] for st in rows[name])
        w = sum(st["wrong"] for st in rows[name])
        cells.append(f"**{100 * f / n:.1f} %** ({w} wrong)")
    print("| all | " + " | ".join(cells) + " |")
    return rows


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", default="0-5", help="seed range, e.g. 0-5 (default) or 6-29")
    ap.add_argument("--kind", choices=sorted(KINDS), default="sf",
                    help="sf: L1 GPS+GLONASS (default); df: L1+L2 GPS+Galileo+BeiDou")
    ap.add_argument("--ifb", type=float, default=0.0, metavar="M",
                    help="GLONASS phase inter-frequency bias of the rover (m per channel; a mixed pair)")
    args = ap.parse_args(argv)
    if not shutil.which("rnx2rtkp"):
        sys.exit("rnx2rtkp (RTKLIB) not found on PATH")
    with tempfile.TemporaryDirectory() as tmp:
        run(_seeds(args.seeds), args.kind, tmp, args.ifb)


if __name__ == "__main__":
    main()
