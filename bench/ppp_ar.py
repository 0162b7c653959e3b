"""Benchmark: PPP integer ambiguity resolution proven on simulation, and the narrow-lane
diagnosis on real data.

1. **Simulation** (the truth is known): a static GPS + Galileo station at Borowiec's latitude,
   2 hours of 30 s data per seed (``ErrorModel(precise=True, signal_biases=True,
   satellite_antennas=True)``: per-satellite antenna offsets, no multipath), its truth written as an analysis centre's files
   (:func:`satnav.constellation.precise_products.write_precise_products`: 5-min SP3, 30 s
   clocks with 10 ps noise, OSB bias SINEX with phase biases, ANTEX) and read back like any
   products. Per seed and mode (static / kinematic), float and AR: time to first fix, fixed
   epochs, the largest 3D error of a fixed epoch against the simulated truth, wrong fixes
   (> 10 cm), and the time the float solution alone needs to stay within the accuracy of
   the fixed epochs. Then the sensitivity to a user ANTEX that differs from the products'
   satellite antenna z offsets (uniform within +-dz per satellite), and no ANTEX at all
   (nominal per-system offsets: the situation of the real data below).
2. **Real data** (BOR1 2024-035, CODE and GRG OSB, nominal satellite antenna offsets): the
   narrow-lane float fractions per system, their stability per satellite pair over the day
   (circular standard deviation) and the triangle closures of the pair means (a constant
   offset per satellite closes to 0).

Usage: ``python bench/ppp_ar.py [--seeds N] [--skip-real]``.
"""

from __future__ import annotations

import argparse
import csv
import os
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

from common import DATA, bor1_integer_clock_products


def _simulate(seed: int, out: Path):
    from satnav.constellation.design import load_constellation
    from satnav.constellation.precise_products import write_precise_products
    from satnav.constellation.simulate import ErrorModel, simulate
    from satnav.frames import geodetic_to_ecef
    from satnav.gnss_time import calendar_to_ns

    t0 = int(calendar_to_ns(2024, 2, 4, 0, 0, 0.0)) + seed * 7200 * 10**9
    times = t0 + np.arange(0, 7201, 30, dtype=np.int64) * 10**9
    cons = [load_constellation(n, epoch_ns=t0 - 7000 * 10**9) for n in ("gps", "galileo")]
    site = np.asarray(geodetic_to_ecef(np.radians(52.28), np.radians(17.07), 120.0)).ravel()
    sim = simulate(cons, site, times, errors=ErrorModel(precise=True, signal_biases=True, satellite_antennas=True,
                                                        multipath=False), seed=seed + 1)
    files = sim.write(out)
    good = write_precise_products(sim, out / "good")
    with open(files["truth"], newline="") as fh:
        row = next(csv.DictReader(fh))
    truth = np.array([float(row[k]) for k in ("x_m", "y_m", "z_m")])
    return sim, files, good, truth


def _products(paths):
    from satnav.pipeline import precise_products

    return precise_products([paths["sp3"], paths["clk"], paths["bias"], paths["antex"]])


def _stay_within(sol, truth, limit):
    """Minutes from the first solved epoch after which the 3D error stays below ``limit``."""
    ok = sol.solved
    err = np.linalg.norm(sol.position_m[ok] - truth, axis=1)
    t = (sol.time_ns[ok] - sol.time_ns[ok][0]) / 60e9
    above = np.flatnonzero(err >= limit)
    if not len(above):
        return 0.0
    return float(t[above[-1] + 1]) if above[-1] + 1 < len(t) else float("nan")


def simulation(seeds: int) -> None:
    from satnav.estimators.ppp import PppOptions, solve_ppp
    from satnav.pipeline import read_observations
    from satnav.satellites import satellite_id

    warnings.simplefilter("ignore")
    rows = {"static": [], "kinematic": []}
    sweep: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        for seed in range(seeds):
            out = Path(tmp) / f"s{seed}"
            sim, files, good, truth = _simulate(seed, out)
            obs = read_observations(files["obs"])
            products = _products(good)
            for mode in rows:
                t0 = time.process_time()
                ar = solve_ppp(obs, products, PppOptions(mode=mode, ambiguity_resolution="fix"))
                cpu = time.process_time() - t0
                fl = solve_ppp(obs, products, PppOptions(mode=mode))
                err = np.linalg.norm(ar.position_m[ar.fixed] - truth, axis=1)
                acc = max(0.02, float(err.max())) if len(err) else float("nan")
                rows[mode].append((ar.time_to_first_fix_s() / 60.0, ar.fixed.sum() / ar.solved.sum(),
                                   float(err.max()) if len(err) else float("nan"), int((err > 0.10).sum()),
                                   acc, _stay_within(fl, truth, acc), fl.convergence_time_s(truth, 0.10) / 60.0, cpu))
            from satnav.pipeline import precise_products

            nominal = solve_ppp(obs, precise_products([good["sp3"], good["clk"], good["bias"]]),
                                PppOptions(mode="static", ambiguity_resolution="fix"))
            err = np.linalg.norm(nominal.position_m[nominal.fixed] - truth, axis=1)
            s = sweep.setdefault("nominal", [0, 0, 0])
            s[0] += int(nominal.fixed.sum())
            s[1] += int(nominal.solved.sum())
            s[2] += int((err > 0.10).sum())
            ids = sorted({satellite_id(int(k[0])) for k in sim.biases["satellite"]})
            rng = np.random.default_rng(seed)
            for dz in (0.02, 0.05, 0.1, 0.3):
                from satnav.constellation.precise_products import write_precise_products

                p = write_precise_products(sim, out / f"pco{dz}", satellite_pco_m={s: rng.uniform(-dz, dz) for s in ids})
                sol = solve_ppp(obs, _products(p), PppOptions(mode="static", ambiguity_resolution="fix"))
                err = np.linalg.norm(sol.position_m[sol.fixed] - truth, axis=1)
                s = sweep.setdefault(dz, [0, 0, 0])
                s[0] += int(sol.fixed.sum())
                s[1] += int(sol.solved.sum())
                s[2] += int((err > 0.10).sum())
    for mode, r in rows.items():
        a = np.array(r, dtype=float)
        print(f"simulation {mode} ({seeds} x 2 h, GPS+Galileo): time to first fix per seed (min) "
              f"{', '.join(f'{x:.1f}' for x in a[:, 0])}, median {np.nanmedian(a[:, 0]):.1f}; fixed epochs median "
              f"{np.median(a[:, 1]):.0%}; largest fixed-epoch 3D error {np.nanmax(a[:, 2]) * 100:.1f} cm; wrong fixes "
              f"(> 10 cm) {int(a[:, 3].sum())}; float alone within the fixed accuracy (max(2 cm, largest fixed error)) "
              f"after (min) {', '.join(f'{x:.1f}' for x in a[:, 5])}, median {np.nanmedian(a[:, 5]):.1f}; float < 10 cm "
              f"median {np.nanmedian(a[:, 6]):.1f} min; CPU per AR run median {np.median(a[:, 7]):.2f} s")
    fixed, solved, wrong = sweep.pop("nominal")
    print(f"simulation static, no ANTEX (nominal per-system offsets for the simulated per-satellite ones): "
          f"{fixed} of {solved} epochs fixed, {wrong} wrong (> 10 cm)")
    for dz, (fixed, solved, wrong) in sweep.items():
        print(f"simulation static, user ANTEX z offsets off by uniform +-{dz * 100:.0f} cm per satellite: "
              f"{fixed} of {solved} epochs fixed, {wrong} wrong (> 10 cm)")


def real_data() -> None:
    """BOR1 narrow-lane fractions (module docstring, part 2)."""
    from satnav.estimators.ppp import PppOptions, solve_ppp
    from satnav.pipeline import precise_products, read_observations
    from satnav.satellites import satellite_id

    warnings.simplefilter("ignore")
    obs = read_observations(DATA / "bor1-2024-035" / "BOR100POL_R_20240350000_01D_30S_MO.crx.gz")
    blq = DATA / "oceanload" / "FES2004_subset.blq"
    centres = bor1_integer_clock_products()
    for centre, files in centres.items():
        sol = solve_ppp(obs, precise_products(files + [blq]), PppOptions(mode="static", ambiguity_resolution="fix"))
        a = sol.ambiguities
        a = a[a["nl_sigma"] < 0.1]
        fr = a["nl_float"] - np.round(a["nl_float"])
        letters = np.array([satellite_id(int(s))[0] for s in a["sat"]])
        means = {}
        for letter in "GE":
            m = letters == letter
            stds, mean_abs = [], []
            for key in set(zip(a["sat"][m].tolist(), a["ref"][m].tolist())):
                k = m & (a["sat"] == key[0]) & (a["ref"] == key[1])
                if k.sum() < 10:
                    continue
                z = np.exp(2j * np.pi * fr[k]).mean()
                stds.append(np.sqrt(-2 * np.log(max(abs(z), 1e-9))) / (2 * np.pi))
                means[key] = np.angle(z) / (2 * np.pi)
                means[(key[1], key[0])] = -means[key]
                mean_abs.append(abs(means[key]))
            f = np.abs(fr[m])
            print(f"BOR1 {centre} {letter}: {int(m.sum())} pair-epochs, |frac| < 0.1 {np.mean(f < 0.1):.0%}, median "
                  f"|frac| {np.median(f):.2f} (uniform 20 %, 0.25); {len(stds)} pairs over >= 10 epochs: circular std "
                  f"over the day median {np.median(stds):.3f} cycle, |mean| median {np.median(mean_abs):.2f}")
        sats = sorted({k[0] for k in means})
        clos = []
        for i, x in enumerate(sats):
            for j, y in enumerate(sats[i + 1:]):
                for z in sats[i + j + 2:]:
                    if (x, y) in means and (y, z) in means and (z, x) in means:
                        c = means[(x, y)] + means[(y, z)] + means[(z, x)]
                        clos.append(abs(c - np.round(c)))
        c = np.array(clos)
        print(f"BOR1 {centre}: {len(c)} triangles of pair means, median |closure| {np.median(c):.2f} cycle, "
              f"{np.mean(c < 0.1):.0%} < 0.1 (uniform: 0.25, 20 %)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--skip-real", action="store_true")
    args = ap.parse_args()
    print(f"date {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, cores {os.cpu_count()}, "
          f"load {os.getloadavg()}")
    simulation(args.seeds)
    if not args.skip_real:
        real_data()


if __name__ == "__main__":
    main()
