"""Benchmark: the control segment (``satnav odts``) of the example regional system.

Cases: the built-in scenario (8 stations, 30 s data, ODTS every 3 h over 24 h arcs, hourly
uploads, SISRE over the following day); then at 300 s: 4 stations, all stations in a small
area (the master and three stations within ~250 km of it), and two stations out for 6 h.
Printed per case: SISRE RMS over all satellites, the worst satellite, SISRE at age of data
0 h and 2 h, the ODTS runs' time and iterations, wall and CPU time. The load average is
printed: the machine is shared.

Usage: ``python bench/odts.py [--quick]`` (``--quick``: the 300 s cases only);
``--mismatch``: the truth's force model richer than the estimator's (an SRP model with terms
the ODTS lacks, a higher gravity degree) at 300 s, 6 h evaluated; ``--one-day``: the speed of one
24 h ODTS at 30 s (8 stations, 7 satellites), truth and observations apart, ``--repeat`` times;
``--day-only``: the built-in scenario's case alone.
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from dataclasses import replace

from satnav.constellation.control.network import MonitoringNetwork, Outage, _station
from satnav.constellation.control.scenario import load_control_scenario, run_odts


def _case(name, scenario):
    cpu0 = resource.getrusage(resource.RUSAGE_SELF).ru_utime
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as out:
        r = run_odts(scenario, out)
    wall = time.perf_counter() - t0
    cpu = resource.getrusage(resource.RUSAGE_SELF).ru_utime - cpu0
    worst = max(r["satellites"], key=lambda s: s["sisre_rms_m"] or 0)
    ages = {a["age_of_data_h"]: a["sisre_rms_m"] for a in r["by_age_of_data"]}
    runs = r["odts_runs"]
    per_sat = " ".join(f"{s['satellite']}:{s['sisre_rms_m']:.2f}" for s in r["satellites"])
    print(f"{name}: SISRE RMS {r['sisre_rms_m']:.3f} m (worst {worst['satellite']} {worst['sisre_rms_m']:.3f} m; "
          f"age 0 h {ages.get(0, float('nan')):.3f}, 2 h {ages.get(2, float('nan')):.3f}); per satellite {per_sat}; "
          f"{len(runs)} ODTS runs, {sum(x['seconds'] for x in runs):.0f} s "
          f"(first {runs[0]['seconds']:.0f} s, {runs[0]['iterations']} it.; then median "
          f"{sorted(x['seconds'] for x in runs[1:])[len(runs[1:]) // 2] if len(runs) > 1 else 0:.0f} s); "
          f"truth+obs {r['timing']['truth_and_observations_s']:.0f} s; wall {wall:.0f} s, CPU {cpu:.0f} s",
          flush=True)


def _one_day(repeat: int) -> None:
    """One 24 h ODTS at 30 s: the first run of the built-in scenario (2 h evaluated)."""
    base = replace(load_control_scenario(None), evaluation_hours=2.0, time_links=False)
    for k in range(repeat):
        cpu0 = resource.getrusage(resource.RUSAGE_SELF).ru_utime
        t0 = time.perf_counter()
        r = run_odts(base, None)
        wall = time.perf_counter() - t0
        run = r["odts_runs"][0]
        print(f"one-day ODTS #{k + 1}: {run['seconds']:.1f} s ({run['iterations']} iterations), truth and "
              f"observations {r['timing']['truth_and_observations_s']:.1f} s; wall {wall:.1f} s, CPU "
              f"{resource.getrusage(resource.RUSAGE_SELF).ru_utime - cpu0:.1f} s; load {os.getloadavg()[0]:.1f}",
              flush=True)


def _mismatch() -> None:
    base = replace(load_control_scenario(None), interval_s=300.0, evaluation_hours=6.0, time_links=False)
    _case("same model (ECOM5, 12x12), 300 s, 6 h evaluated", base)
    _case("truth ECOM 13 terms, ODTS ECOM5", replace(base, truth_srp="ecomc"))
    _case("truth 12x12, ODTS 8x8 gravity", replace(base, options=replace(base.options, degree=8)))
    _case("truth 12x12 + ECOM 13 terms, ODTS 8x8 + ECOM5",
          replace(base, truth_srp="ecomc", options=replace(base.options, degree=8)))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--mismatch", action="store_true")
    ap.add_argument("--one-day", action="store_true")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--day-only", action="store_true", help="only the built-in scenario (8 stations, 30 s)")
    args = ap.parse_args()
    print(f"load average at start: {os.getloadavg()}")
    if args.one_day:
        _one_day(args.repeat)
        return
    if args.mismatch:
        _mismatch()
        print(f"load average at end: {os.getloadavg()}")
        return
    base = load_control_scenario(None)
    net = base.network
    if not args.quick:
        _case("8 stations, 30 s", base)
    if args.day_only:
        print(f"load average at end: {os.getloadavg()}")
        return
    coarse = replace(base, interval_s=300.0)
    _case("8 stations, 300 s", coarse)
    _case("4 stations, 300 s", replace(coarse, network=net.subset(["XIAN", "URUM", "SANY", "HRBN"])))
    small = MonitoringNetwork((net.stations[net.master_index],
                               _station("XA-N", 36.0, 109.5, 800.0, "caesium", False),
                               _station("XA-E", 34.5, 111.8, 400.0, "caesium", False),
                               _station("XA-S", 32.6, 108.8, 600.0, "caesium", False)), net.mask_deg, net.tracked)
    _case("small area (4 stations within 250 km), 300 s", replace(coarse, network=small))
    outage = MonitoringNetwork(net.stations, net.mask_deg, net.tracked,
                               (Outage("KUNM", 26.0, 32.0), Outage("SANY", 26.0, 32.0)))
    _case("8 stations, KUNM + SANY out 26-32 h, 300 s", replace(coarse, network=outage))
    print(f"load average at end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
