"""Benchmark: latency of the per-epoch engines (real-time use), against their batch solvers.

* :class:`~satnav.estimators.spp_engine.SppEngine` fed the ESBC day (RINEX 3, 30 s, GPS +
  GLONASS + Galileo + BeiDou + QZSS, ~40 satellites an epoch) one epoch at a time,
  default options (systems GRECJI, RAIM, velocity, motion check);
* :class:`~satnav.estimators.rtk_engine.RtkEngine` on the GEONET 0759 / 3040 pair
  (gsi-2005-092, GPS L1/L2, 120 epochs, kinematic), each rover epoch after the base epochs
  up to 30 s later (as tests/estimators/test_rtk_engine.py feeds it).

Reported per engine: per-epoch latency of ``process`` (CPU time of this process, p50 /
p90 / p99 / max in ms; the first epoch, which lays out the state, is included in max only),
whole-file throughput (epochs per CPU second, slicing the epochs included) and the batch
solver's throughput on the same epochs, plus the largest position difference engine -
batch (m). CPU time is used because the benchmark machine may be shared.

Usage: ``python bench/engine.py [--spp-epochs 2880] [--repeat 1] [--json out.json]``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import satnav  # noqa: E402
from common import DATA  # noqa: E402
from satnav.estimators.rtk import solve_rtk  # noqa: E402
from satnav.estimators.rtk_engine import RtkEngine  # noqa: E402
from satnav.estimators.solution import Solution  # noqa: E402
from satnav.estimators.spp import solve_spp  # noqa: E402
from satnav.estimators.spp_engine import SppEngine  # noqa: E402


def _stats(ms: list[float]) -> dict:
    a = np.asarray(ms[1:] if len(ms) > 1 else ms)
    return {"p50_ms": float(np.percentile(a, 50)), "p90_ms": float(np.percentile(a, 90)),
            "p99_ms": float(np.percentile(a, 99)), "max_ms": float(max(ms)), "first_ms": float(ms[0])}


def bench_spp(epochs: int) -> dict:
    d = DATA / "esbc-2020-177"
    obs = satnav.read_obs(d / "ESBC00DNK_R_20201770000_01D_30S_MO.crx.gz")
    nav = satnav.read_nav(d / "ESBC00DNK_R_20201770000_01D_MN.rnx.gz",
                          d / "MOJN00DNK_R_20201770000_01D_MN.rnx.gz")
    part = obs.epoch_slice(0, epochs)
    t0 = time.process_time()
    batch = solve_spp(part, nav)
    t_batch = time.process_time() - t0
    engine = SppEngine(nav)
    ms, sols = [], []
    t_all = time.process_time()
    for epoch in part.iter_epochs():
        t = time.process_time()
        sols.append(engine.process(epoch))
        ms.append((time.process_time() - t) * 1e3)
    t_all = time.process_time() - t_all
    whole = Solution.concatenate(sols, satellites=batch.satellites, clock_systems=batch.clock_systems)
    diff = float(np.nanmax(np.abs(whole.position_m - batch.position_m), initial=0.0))
    return {"engine": "SppEngine", "data": "esbc-2020-177 GRECJI", "epochs": len(part.epochs),
            **_stats(ms), "engine_epochs_per_s": len(part.epochs) / t_all,
            "batch_epochs_per_s": len(part.epochs) / t_batch, "max_diff_vs_batch_m": diff,
            "same_status": bool(np.array_equal(whole.status, batch.status))}


def bench_rtk() -> dict:
    d = DATA / "gsi-2005-092"
    rover = satnav.read_obs(d / "07590920.05o")
    base = satnav.read_obs(d / "30400920.05o")
    nav = satnav.read_nav(d / "07590920.05n", d / "30400920.05n")
    t0 = time.process_time()
    batch = solve_rtk(rover, base, nav, mode="kinematic", elevation_mask_deg=10)
    t_batch = time.process_time() - t0
    engine = RtkEngine(nav, mode="kinematic", elevation_mask_deg=10)
    ms, out, j = [], [], 0
    t_all = time.process_time()
    for epoch in rover.iter_epochs():
        t = epoch.epochs[0]
        while j < len(base.epochs) and base.epochs[j] <= t + 30e9:
            engine.add_base(base.epoch_slice(j, j + 1))
            j += 1
        t1 = time.process_time()
        out.append(engine.process(epoch))
        ms.append((time.process_time() - t1) * 1e3)
    t_all = time.process_time() - t_all
    pos = np.array([o.position_m for o in out])
    diff = float(np.nanmax(np.linalg.norm(pos - batch.position_m, axis=1), initial=0.0))
    return {"engine": "RtkEngine", "data": "gsi-2005-092 kinematic GPS L1/L2", "epochs": len(out),
            **_stats(ms), "engine_epochs_per_s": len(out) / t_all,
            "batch_epochs_per_s": len(out) / t_batch, "max_diff_vs_batch_m": diff,
            "same_quality": bool(np.array_equal([o.quality for o in out], batch.quality))}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--spp-epochs", type=int, default=2880, help="ESBC epochs fed (default: the day)")
    ap.add_argument("--json", help="write the results here too")
    args = ap.parse_args(argv)
    warnings.simplefilter("ignore")
    rows = [bench_spp(args.spp_epochs), bench_rtk()]
    for r in rows:
        print(f"{r['engine']:10s} {r['data']}, {r['epochs']} epochs: per epoch p50 {r['p50_ms']:.2f} ms, "
              f"p90 {r['p90_ms']:.2f}, p99 {r['p99_ms']:.2f}, max {r['max_ms']:.2f} (first {r['first_ms']:.1f}); "
              f"throughput {r['engine_epochs_per_s']:.0f} epochs/s (batch {r['batch_epochs_per_s']:.0f}); "
              f"max |engine - batch| {r['max_diff_vs_batch_m']:.1e} m")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
