"""Benchmark: latency of the per-epoch engines (real-time use), against their batch solvers.

* :class:`~satnav.estimators.spp_engine.SppEngine` fed the ESBC day (RINEX 3, 30 s, GPS +
  GLONASS + Galileo + BeiDou + QZSS, ~40 satellites an epoch) one epoch at a time,
  default options (systems GRECJI, RAIM, velocity, motion check);
* :class:`~satnav.streams.live.LiveEngine` in SPP mode (what ``satnav stream`` runs per epoch)
  fed ESBC epochs as a live RTCM 3 stream delivers them: the first ``--live-epochs`` epochs
  (GPS + Galileo + BeiDou, L1/L2: E1/E5b, B1I/B2I, ~24 satellites) encoded as MSM7 and
  decoded by :class:`~satnav.io.rtcm3.Rtcm3Decoder` beforehand (not timed); timed per epoch:
  ``LiveEngine.process`` + the NMEA GGA/RMC/GSA/GST text (thread CPU time);
* :class:`~satnav.estimators.rtk_engine.RtkEngine` on the GEONET 0759 / 3040 pair
  (gsi-2005-092, GPS L1/L2, 120 epochs, kinematic), each rover epoch after the base epochs
  up to 30 s later (as tests/estimators/test_rtk_engine.py feeds it).

Reported per engine: per-epoch latency of ``process`` (CPU time of this process, p50 /
p90 / p99 / max in ms; the first epoch, which lays out the state, is included in max only),
whole-file throughput (epochs per CPU second, slicing the epochs included) and the batch
solver's throughput on the same epochs, plus the largest position difference engine -
batch (m). CPU time is used because the benchmark machine may be shared.

Usage: ``python bench/engine.py [--spp-epochs 2880] [--live-epochs 200] [--only spp,live,rtk]
[--json out.json]``.
"""

from __future__ import annotations

import argparse
import json
import math
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


def _rtcm_epochs(obs, n: int) -> list:
    """The first ``n`` epochs of ``obs`` (GEC) as a live RTCM 3 stream delivers them: MSM7
    encoded, then decoded epoch by epoch."""
    from satnav.io.rtcm3 import Rtcm3Decoder
    from satnav.io.rtcm3_encode import Rtcm3Encoder
    from satnav.io.stream_items import EpochItem

    enc = Rtcm3Encoder(1, systems="GEC")
    dec = Rtcm3Decoder(time_hint_ns=int(obs.epochs[0]))
    out = []
    for e in obs.epoch_slice(0, n).iter_epochs():
        out += [i.observations for i in dec.feed(enc.encode_epoch(e)) if isinstance(i, EpochItem)]
    out += [i.observations for i in dec.flush() if isinstance(i, EpochItem)]
    return out


def bench_live(epochs: int, repeat: int = 1) -> dict:
    from satnav.options import StreamOptions
    from satnav.streams.live import LiveEngine
    from satnav.streams.outputs import FORMATTERS

    d = DATA / "esbc-2020-177"
    obs = satnav.read_obs(d / "ESBC00DNK_R_20201770000_01D_30S_MO.crx.gz")
    nav = satnav.read_nav(d / "ESBC00DNK_R_20201770000_01D_MN.rnx.gz")
    eps = _rtcm_epochs(obs, epochs)
    ms, nsat = [], []
    for _ in range(max(1, repeat)):
        engine = LiveEngine(StreamOptions(mode="spp", systems="GEC"), nav)
        nmea = FORMATTERS["nmea"]
        for k, e in enumerate(eps):
            t = time.thread_time()
            fix = engine.process(e)
            nmea(fix)
            dt = (time.thread_time() - t) * 1e3
            if k:  # the first epoch lays out the state
                ms.append(dt)
                nsat.append(fix.n_satellites)
    a = np.asarray(ms)
    return {"engine": "LiveEngine", "data": f"esbc-2020-177 GEC L1/L2 RTCM 3 (median {np.median(nsat):.0f} used)",
            "epochs": len(eps), "p50_ms": float(np.percentile(a, 50)), "p90_ms": float(np.percentile(a, 90)),
            "p99_ms": float(np.percentile(a, 99)), "max_ms": float(a.max()), "first_ms": math.nan}


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
    ap.add_argument("--live-epochs", type=int, default=200, help="ESBC epochs fed to LiveEngine (default 200)")
    ap.add_argument("--repeat", type=int, default=1, help="LiveEngine passes over its epochs (default 1)")
    ap.add_argument("--only", default="spp,live,rtk", help="which benches (default spp,live,rtk)")
    ap.add_argument("--json", help="write the results here too")
    args = ap.parse_args(argv)
    warnings.simplefilter("ignore")
    only = set(args.only.split(","))
    rows = ([bench_spp(args.spp_epochs)] if "spp" in only else []) + (
        [bench_live(args.live_epochs, args.repeat)] if "live" in only else []) + (
        [bench_rtk()] if "rtk" in only else [])
    for r in rows:
        line = (f"{r['engine']:10s} {r['data']}, {r['epochs']} epochs: per epoch p50 {r['p50_ms']:.2f} ms, "
                f"p90 {r['p90_ms']:.2f}, p99 {r['p99_ms']:.2f}, max {r['max_ms']:.2f} (first {r['first_ms']:.1f})")
        if "engine_epochs_per_s" in r:
            line += (f"; throughput {r['engine_epochs_per_s']:.0f} epochs/s (batch {r['batch_epochs_per_s']:.0f}); "
                     f"max |engine - batch| {r['max_diff_vs_batch_m']:.1e} m")
        print(line)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
