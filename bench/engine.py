"""Benchmark: latency of the per-epoch engines (real-time use), against their batch solvers.

* :class:`~satnav.estimators.spp_engine.SppEngine` fed the ESBC day (RINEX 3, 30 s, GPS +
  GLONASS + Galileo + BeiDou + QZSS, ~40 satellites an epoch) one epoch at a time,
  default options (systems GRECJI, RAIM, velocity, motion check);
* :class:`~satnav.streams.live.LiveEngine` in SPP mode (``--live-spp``, issue 13: what
  ``satnav stream`` runs per epoch) fed the first ``--live-epochs`` ESBC epochs as a live
  RTCM 3 stream delivers them (GPS + Galileo + BeiDou, L1/L2: E1/E5b, B1I/B2I, ~24
  satellites; encoded as MSM7 and decoded beforehand, not timed; no header position: each
  epoch starts from the last fix); timed per epoch: ``LiveEngine.process`` + the NMEA
  GGA/RMC/GSA/GST text, in ``time.thread_time``; ``--repeat`` passes (a new engine each);
* :class:`~satnav.estimators.rtk_engine.RtkEngine` on the GEONET 0759 / 3040 pair
  (gsi-2005-092, GPS L1/L2, 120 epochs, kinematic), each rover epoch after the base epochs
  up to 30 s later (as tests/estimators/test_rtk_engine.py feeds it);
* :class:`~satnav.streams.live.LiveEngine` in RTK mode (``--live``, issue 13: what ``satnav
  stream`` does per rover epoch): ESBC 2020-06-25 GPS + Galileo + BeiDou L1/L2 as a zero
  baseline (the same epochs as rover and base), each epoch sent through the RTCM 3 MSM7
  encoder and decoder first (as ``bench/stream_latency.py`` streams it: no header position,
  MSM resolution), and the gsi 0759 / 3040 pair (GPS L1/L2, RINEX epochs). Timed: one rover
  epoch's ``LiveEngine.process`` (base epochs handed over, RTK, the fix) plus its NMEA
  lines, in ``time.thread_time`` (the CPU of this thread: comparable under load).

Reported per engine: per-epoch latency of ``process`` (CPU time of this process, p50 /
p90 / p99 / max in ms; the first epoch, which lays out the state, is included in max only),
whole-file throughput (epochs per CPU second, slicing the epochs included) and the batch
solver's throughput on the same epochs, plus the largest position difference engine -
batch (m). CPU time is used because the benchmark machine may be shared.

Usage: ``python bench/engine.py [--spp-epochs 2880] [--json out.json]``, or
``python bench/engine.py --live [--live-epochs 200] [--repeat 3]`` for the live RTK epochs only, or
``python bench/engine.py --live-spp [--live-epochs 200] [--repeat 3]`` for the live SPP epochs only.
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


def _rtcm_round_trip(obs, station_id: int, position_m, n: int) -> list:
    """The first ``n`` epochs of ``obs`` as a live RTCM 3 stream delivers them: encoded as MSM7
    (a 1005 station message every 10 epochs) and decoded again; the decoder's items in order."""
    from satnav.io.rtcm3 import Rtcm3Decoder
    from satnav.io.rtcm3_encode import Rtcm3Encoder

    enc = Rtcm3Encoder(station_id, systems="GEC")
    dec = Rtcm3Decoder(time_hint_ns=int(obs.epochs[0]))
    items = []
    for k, e in enumerate(obs.epoch_slice(0, n).iter_epochs()):
        head = enc.encode_station(position_m) if k % 10 == 0 else b""
        items.extend(dec.feed(head + enc.encode_epoch(e)))
    items.extend(dec.flush())
    return items


def live_inputs(data: str, epochs: int):
    """(rover epochs, base stream items, StreamOptions, navigation, label) of a live RTK run."""
    from satnav.io.stream_items import EpochItem
    from satnav.options import StreamOptions

    if data == "esbc":
        d = DATA / "esbc-2020-177"
        obs = satnav.read_obs(d / "ESBC00DNK_R_20201770000_01D_30S_MO.crx.gz")
        nav = satnav.read_nav(d / "ESBC00DNK_R_20201770000_01D_MN.rnx.gz")
        rover = [i.observations for i in _rtcm_round_trip(obs, 1, obs.header.approx_position_m, epochs)
                 if isinstance(i, EpochItem)]
        base = _rtcm_round_trip(obs, 2, obs.header.approx_position_m, epochs)
        options = StreamOptions(mode="rtk-kinematic", systems="GEC")
        label = "esbc-2020-177 GEC L1/L2 zero baseline (RTCM 3 MSM7)"
    else:
        d = DATA / "gsi-2005-092"
        r = satnav.read_obs(d / "07590920.05o")
        b = satnav.read_obs(d / "30400920.05o")
        nav = satnav.read_nav(d / "07590920.05n", d / "30400920.05n")
        rover = list(r.epoch_slice(0, epochs).iter_epochs())
        base = [EpochItem(e) for e in b.iter_epochs()]
        options = StreamOptions(mode="rtk-kinematic", systems="G", elevation_mask_deg=10)
        label = "gsi-2005-092 0759/3040 GPS L1/L2 (RINEX)"
    return rover, base, options, nav, label


def live_run(rover, base, options, nav) -> tuple[list[float], list]:
    """Feed a :class:`~satnav.streams.live.LiveEngine`: (CPU ms per rover epoch, the fixes)."""
    from satnav.io.stream_items import EpochItem, StationItem
    from satnav.streams.live import LiveEngine
    from satnav.streams.outputs import FORMATTERS

    engine = LiveEngine(options, nav)
    nmea = FORMATTERS["nmea"]
    ms, fixes, j = [], [], 0
    for epoch in rover:
        t = int(epoch.epochs[0])
        while j < len(base):  # base epochs up to the rover epoch's time (as a stream delivers them)
            item = base[j]
            if isinstance(item, EpochItem):
                if int(item.observations.epochs[0]) > t:
                    break
                engine.add_base(item.observations)
            elif isinstance(item, StationItem):
                engine.add_station(item)
            j += 1
        c = time.thread_time()
        fix = engine.process(epoch)
        nmea(fix)
        ms.append((time.thread_time() - c) * 1e3)
        fixes.append(fix)
    return ms, fixes


def bench_live_spp(epochs: int, repeat: int = 1) -> dict:
    """Per-epoch CPU of :class:`~satnav.streams.live.LiveEngine` in SPP mode plus NMEA (ESBC
    GEC L1/L2 through RTCM 3; the first epoch of each pass, which lays out the state, left out)."""
    from satnav.io.stream_items import EpochItem
    from satnav.options import StreamOptions

    d = DATA / "esbc-2020-177"
    obs = satnav.read_obs(d / "ESBC00DNK_R_20201770000_01D_30S_MO.crx.gz")
    nav = satnav.read_nav(d / "ESBC00DNK_R_20201770000_01D_MN.rnx.gz")
    rover = [i.observations for i in _rtcm_round_trip(obs, 1, obs.header.approx_position_m, epochs)
             if isinstance(i, EpochItem)]
    passes, used = [], []
    for _ in range(max(1, repeat)):
        m, fixes = live_run(rover, [], StreamOptions(mode="spp", systems="GEC"), nav)
        passes.append(m[1:])
        used += [f.n_satellites for f in fixes[1:]]
    ms = [x for p in passes for x in p]
    # each epoch's least CPU over the passes: what it costs when no other process took the
    # core's caches or cycles meanwhile (steadier than the plain figures on a shared machine)
    least = np.min(np.array(passes), axis=0)
    return {"engine": "LiveEngine", "data": f"esbc-2020-177 SPP GEC L1/L2 (RTCM 3 MSM7), median {np.median(used):.0f} "
            f"satellites used", "epochs": len(rover), **_stats([0.0] + ms), "first_ms": math.nan,
            "least_p50_ms": float(np.percentile(least, 50)), "least_p99_ms": float(np.percentile(least, 99))}


def bench_live_rtk(data: str, epochs: int, repeat: int = 1) -> dict:
    """Per-epoch CPU of :class:`~satnav.streams.live.LiveEngine` in RTK mode plus NMEA:
    percentiles over every pass's epochs (the first 10 of each, start-up, left out) and of
    each epoch's minimum over the ``repeat`` passes (a new engine each; the minimum is what
    the epoch costs without the waits of a shared machine)."""
    rover, base, options, nav, label = live_inputs(data, epochs)
    runs = []
    for _ in range(max(1, repeat)):
        ms, fixes = live_run(rover, base, options, nav)
        runs.append(ms[10:] if len(ms) > 20 else ms)
    q = np.array([f.quality for f in fixes])
    pooled = np.concatenate(runs)
    low = np.min(runs, axis=0)
    return {"engine": "LiveEngine", "data": label, "epochs": len(ms), "passes": len(runs),
            **_stats([0.0, *pooled.tolist()]), "first_ms": math.nan,
            "min_p50_ms": float(np.percentile(low, 50)), "min_p99_ms": float(np.percentile(low, 99)),
            "fixed": int((q == 1).sum()), "float": int((q == 2).sum()), "single": int((q == 5).sum())}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--spp-epochs", type=int, default=2880, help="ESBC epochs fed (default: the day)")
    ap.add_argument("--json", help="write the results here too")
    ap.add_argument("--live", action="store_true", help="only the live RTK epochs (LiveEngine + NMEA)")
    ap.add_argument("--live-spp", action="store_true", help="only the live SPP epochs (LiveEngine + NMEA)")
    ap.add_argument("--repeat", type=int, default=1, help="passes over the live epochs (default 1)")
    ap.add_argument("--live-epochs", type=int, default=200, help="live epochs (per data set; default 200)")
    ap.add_argument("--live-data", default="esbc,gsi", help="live RTK data sets (default esbc,gsi)")
    args = ap.parse_args(argv)
    warnings.simplefilter("ignore")
    if args.live_spp:
        import os

        r = bench_live_spp(args.live_epochs, args.repeat)
        print(f"LiveEngine {r['data']}, {r['epochs']} epochs x {args.repeat}: CPU per epoch p50 {r['p50_ms']:.2f} ms, "
              f"p90 {r['p90_ms']:.2f}, p99 {r['p99_ms']:.2f}, max {r['max_ms']:.2f}; least of the passes per epoch: p50 "
              f"{r['least_p50_ms']:.2f} ms, p99 {r['least_p99_ms']:.2f} (load {os.getloadavg()[0]:.1f})")
        if args.json:
            Path(args.json).write_text(json.dumps([r], indent=2))
        return 0
    if args.live:
        import os

        rows = []
        for data in args.live_data.split(","):
            r = bench_live_rtk(data, args.live_epochs, args.repeat)
            rows.append(r)
            print(f"LiveEngine RTK {r['data']}, {r['epochs']} epochs x {r['passes']} (first 10 of each not in the "
                  f"percentiles): CPU per epoch p50 {r['p50_ms']:.2f} ms, p90 {r['p90_ms']:.2f}, p99 "
                  f"{r['p99_ms']:.2f}, max {r['max_ms']:.2f}; per-epoch min over the passes p50 "
                  f"{r['min_p50_ms']:.2f}, p99 {r['min_p99_ms']:.2f}; fixed {r['fixed']}, float {r['float']}, "
                  f"single {r['single']}  (load {os.getloadavg()[0]:.1f})", flush=True)
        if args.json:
            Path(args.json).write_text(json.dumps(rows, indent=2))
        return 0
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
