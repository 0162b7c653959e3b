"""Benchmark: ``satnav batch`` throughput, 1 vs 2 Dask workers, and the per-task overhead.

N station-days (SPP, all systems) made of the real full days in shared/data (esbc-2020-177,
nya1-2024-124, bor1-2024-035: 2880 epochs at 30 s each), repeated under other station names
when N is larger (the same files, so the same work per task: a throughput measurement), and
optionally ``--sim K`` simulated station-days (GLONASS + the regional example, ``--sim-hours``
long). Each worker count runs on a fresh ``LocalCluster`` (one thread, one BLAS thread per
worker) into a fresh output directory. Reported: wall time, the sum of the tasks' own solve
times (``run_time_s``), speed-up, per-task overhead ``(wall x workers - sum of task times) /
N`` (scheduling, transfers, output writing outside the timed solve, the cluster's start is
excluded), and the peak resident memory of each worker (``ru_maxrss``). The machine's load
average is printed at the start and the end: the speed-up depends on it.

Usage: ``python bench/batch.py [--n 6] [--sim 0] [--workers 1,2]`` (data from $SATNAV_DATA).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from common import DATA
from satnav.batch import StationDay, run_batch

#: (station, observation, navigation, reference ECEF m from shared/data/stations.csv)
REAL = (
    ("ESBC", "esbc-2020-177/ESBC00DNK_R_20201770000_01D_30S_MO.crx.gz", "esbc-2020-177/ESBC00DNK_R_20201770000_01D_MN.rnx.gz",
     (3582104.8024, 532590.1716, 5232755.1824)),
    ("NYA1", "nya1-2024-124/NYA100NOR_S_20241240000_01D_30S_MO.crx.gz", "nya1-2024-124/NYA100NOR_S_20241240000_01D_GN.rnx.gz",
     (1202433.5682, 252632.4346, 6237772.8159)),
    ("BOR1", "bor1-2024-035/BOR100POL_R_20240350000_01D_30S_MO.crx.gz", "bor1-2024-035/BRDC00CNE_R_20240350000_01D_GN.rnx.gz",
     (3738358.1332, 1148174.0088, 5021815.9338)),
)


def _tasks(n: int, n_sim: int, sim_hours: float, tmp: Path, sim_distinct: int | None = None) -> list[StationDay]:
    tasks = []
    for i in range(n):
        station, obs, nav, reference = REAL[i % len(REAL)]
        tasks.append(StationDay(f"{station}{i // len(REAL)}", "2000-001", str(DATA / obs), (str(DATA / nav),),
                                reference_m=reference))
    if n_sim:
        from satnav.constellation.simulate import Scenario, run_scenario

        distinct = []
        for k in range(min(n_sim, sim_distinct or n_sim)):
            sim, paths = run_scenario(Scenario(duration_h=sim_hours, constellations=("glonass", "regional"),
                                               marker=f"SIM{k % 10}", seed=k + 1), tmp / f"sim{k}")
            distinct.append((paths, tuple(float(v) for v in sim.receiver_ecef_m[0])))
        for k in range(n_sim):
            paths, truth = distinct[k % len(distinct)]
            tasks.append(StationDay(f"SIM{k}", "2020-177", str(paths["obs"]), (str(paths["nav"]),),
                                    reference_m=truth))
    return tasks


def _cpu_s() -> float:
    import resource

    u = resource.getrusage(resource.RUSAGE_SELF)
    return u.ru_utime + u.ru_stime


def _peak_rss_mib() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def run(tasks, workers: int, out: Path) -> dict:
    import logging

    from distributed import Client, LocalCluster

    from satnav.batch import BLAS_THREAD_VARIABLES

    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                      silence_logs=logging.ERROR, env=dict(BLAS_THREAD_VARIABLES)) as cluster, Client(cluster) as client:
        client.wait_for_workers(workers)
        cpu0 = client.run(_cpu_s)
        start = time.perf_counter()
        result = run_batch(tasks, out, client=client, force=True)
        wall = time.perf_counter() - start
        cpu1 = client.run(_cpu_s)
        rss = sorted(client.run(_peak_rss_mib).values())
    cpu = sum(cpu1[w] - cpu0[w] for w in cpu1 if w in cpu0)
    task_time = sum(r["run_time_s"] for r in result.rows)
    return dict(workers=workers, wall_s=wall, task_s=task_time, cpu_s=cpu, failed=result.n_failed,
                overhead_s=(wall * workers - task_time) / len(tasks), rss_mib=rss, rows=result.rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=6, help="real station-days (full days, 2880 epochs)")
    ap.add_argument("--sim", type=int, default=0, help="simulated station-days")
    ap.add_argument("--sim-hours", type=float, default=1.0)
    ap.add_argument("--sim-distinct", type=int, help="simulate this many distinct days, repeated under other "
                    "station names up to --sim (default: --sim)")
    ap.add_argument("--workers", default="1,2")
    args = ap.parse_args()
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}, {os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        tasks = _tasks(args.n, args.sim, args.sim_hours, tmp, args.sim_distinct)
        print(f"{len(tasks)} station-days: {args.n} real full days (esbc, nya1, bor1 repeated), {args.sim} simulated")
        results = []
        for w in (int(x) for x in args.workers.split(",")):
            r = run(tasks, w, tmp / f"out{w}")
            results.append(r)
            per = r["task_s"] / len(tasks)
            print(f"workers {w}: wall {r['wall_s']:.1f} s, tasks {r['task_s']:.1f} s ({per:.2f} s per station-day), "
                  f"overhead {r['overhead_s']:.3f} s per task ({100 * r['overhead_s'] / per:.1f} %), "
                  f"failed {r['failed']}, peak RSS per worker {', '.join(f'{m:.0f}' for m in r['rss_mib'])} MiB, "
                  f"worker CPU {r['cpu_s']:.1f} s ({r['cpu_s'] / len(tasks):.2f} s per station-day)")
        import math
        import statistics

        for group in ("ESBC", "NYA1", "BOR1", "SIM"):
            rows = [r for r in results[-1]["rows"] if r["station"].startswith(group) and r["state"] == "done"]
            if rows:
                med = {k: statistics.median(r[k] for r in rows if not math.isnan(r[k]))
                       for k in ("run_time_s", "h_rms_m", "h_95_m", "v_95_m", "availability")}
                print(f"  {group}: {len(rows)} station-days, median run {med['run_time_s']:.2f} s, availability "
                      f"{med['availability']:.3f}, H RMS {med['h_rms_m']:.2f} m, H 95 % {med['h_95_m']:.2f} m, "
                      f"V 95 % {med['v_95_m']:.2f} m")
        if len(results) > 1:
            base = results[0]["wall_s"]
            for r in results[1:]:
                print(f"speed-up {results[0]['workers']} -> {r['workers']} workers: {base / r['wall_s']:.2f}x")
    print(f"load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
