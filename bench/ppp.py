"""Benchmark: precise point positioning on ESBC 2020-177 (GRG SP3 + 30 s CLK), satnav against
RTKLIB 2.4.3's ``rnx2rtkp`` on the same inputs, whole processes.

1. **Speed**: full-day PPP-kinematic (GPS + Galileo, ionosphere-free, 10 deg mask), satnav
   (``python -m satnav solve OBS.crx.gz SP3 SP3 CLK ATX NGS --mode ppp-kinematic``, reading
   the Hatanaka/gzip files itself) and ``rnx2rtkp`` (given the files expanded beforehand, plus
   the broadcast navigation file it needs for its first single point solution), runs
   interleaved, medians of ``--repeat`` runs; wall and CPU time of each process (``os.wait4``).
   Also the accuracy of each kinematic track against the reference coordinate after the
   first hour (horizontal / vertical RMS).
2. **Convergence**: PPP-static restarted every 2 hours over the day (12 sessions); per
   session the time until the 3D distance to the reference stays below 10 cm; the median.
   Reference: satnav's own full-day static coordinate (all models; the stations.csv
   coordinate of ESBC is an RTKLIB run without ESBC's antenna calibration: a height offset of
   ~7 cm that is not convergence), and stations.csv as a second figure.

3. **Ambiguity resolution** (BOR1 2024-035, integer-clock products GRG and CODE with their
   OSB, 5-min clocks): static sessions restarted every 2 hours, float and with
   ``ambiguity_resolution="fix"``: time to < 10 cm 3D against the IGS SINEX coordinate, time to
   first fix, fixed epochs, and the spread of the narrow-lane fractions.

Usage: ``python bench/ppp.py [--repeat N] [--skip-speed] [--skip-convergence] [--skip-ar]``.
"""

from __future__ import annotations

import argparse
import gzip
import os
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

from common import DATA, bor1_integer_clock_products

REPO = Path(__file__).resolve().parents[1]
D = DATA / "esbc-2020-177"
OBS = D / "ESBC00DNK_R_20201770000_01D_30S_MO.crx.gz"
PRODUCTS = [D / "GRG0MGXFIN_20201760000_01D_15M_ORB.SP3.gz", D / "GRG0MGXFIN_20201770000_01D_15M_ORB.SP3.gz",
            D / "GRG0MGXFIN_20201770000_01D_30S_CLK.CLK.gz", D / "igs14_small.atx.gz"]
NGS = Path("/usr/share/rtklib/ngs_abs.pcv")
NAV = D / "ESBC00DNK_R_20201770000_01D_MN.rnx.gz"
REFERENCE = np.array([3582104.8024, 532590.1716, 5232755.1824])

#: rnx2rtkp configuration (PPP-kinematic; the static runs replace the mode), shared with the tests.
RTKLIB_CONF = (Path(__file__).resolve().parent / "rtklib_ppp.conf").read_text()


def expand(src: Path, dst_dir: Path) -> Path:
    """A plain copy of a .gz / .crx.gz file for RTKLIB (Hatanaka expanded with ``hatanaka``)."""
    name = src.name[:-3] if src.name.endswith(".gz") else src.name
    if name.endswith(".crx"):
        import hatanaka

        out = dst_dir / (name[:-4] + ".rnx")
        out.write_bytes(hatanaka.decompress(src.read_bytes()))
        return out
    out = dst_dir / name
    with gzip.open(src) if src.name.endswith(".gz") else open(src, "rb") as fh, open(out, "wb") as dst:
        shutil.copyfileobj(fh, dst)
    return out


def run_process(cmd: list[str]) -> tuple[float, float, int]:
    """(wall s, CPU s of the child, exit status)."""
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         env={**os.environ, "PYTHONPATH": str(REPO / "src"), "OPENBLAS_NUM_THREADS": "1"})
    _pid, status, usage = os.wait4(p.pid, 0)
    return time.perf_counter() - t0, usage.ru_utime + usage.ru_stime, status


def track_errors(path: Path, skip_s: float = 3600.0) -> tuple[float, float, int]:
    """Horizontal and vertical RMS (m) of a .pos (ECEF or llh) after ``skip_s`` seconds."""
    from satnav.frames import ecef_to_enu, geodetic_to_ecef

    rows = []
    for line in path.read_text().splitlines():
        if line.startswith("%") or not line.strip():
            continue
        w = line.split()
        rows.append((w[1], float(w[2]), float(w[3]), float(w[4])))
    if not rows:
        return float("nan"), float("nan"), 0
    xyz = np.array([r[1:] for r in rows])
    if np.abs(xyz[0, 0]) < 1000:  # latitude/longitude/height
        xyz = geodetic_to_ecef(np.radians(xyz[:, 0]), np.radians(xyz[:, 1]), xyz[:, 2])
    secs = np.array([sum(float(x) * f for x, f in zip(r[0].split(":"), (3600, 60, 1))) for r in rows])
    keep = secs - secs[0] >= skip_s
    enu = ecef_to_enu(xyz[keep], REFERENCE)
    return float(np.sqrt(np.mean(enu[:, 0] ** 2 + enu[:, 1] ** 2))), float(np.sqrt(np.mean(enu[:, 2] ** 2))), \
        int(keep.sum())


def speed(repeat: int) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="bench_ppp_"))
    plain = [expand(p, tmp) for p in [OBS, NAV] + PRODUCTS[:3]]
    atx = expand(PRODUCTS[3], tmp)
    conf = tmp / "ppp_kine.conf"
    conf.write_text(RTKLIB_CONF.format(atx=atx, ngs=NGS))
    out_r, out_s = tmp / "rtklib.pos", tmp / "satnav.pos"
    rtk_cmd = ["rnx2rtkp", "-k", str(conf), "-o", str(out_r), *map(str, plain)]
    sat_cmd = [sys.executable, "-m", "satnav", "solve", str(OBS), *map(str, PRODUCTS), str(NGS),
               "--mode", "ppp-kinematic", "-q", "-o", str(out_s)]
    times = {"satnav": [], "rnx2rtkp": []}
    for _ in range(repeat):
        for name, cmd in (("rnx2rtkp", rtk_cmd), ("satnav", sat_cmd)):
            wall, cpu, status = run_process(cmd)
            times[name].append((wall, cpu, status))
    print(f"load average before/after: {os.getloadavg()}")
    for name, runs in times.items():
        walls = [r[0] for r in runs]
        cpus = [r[1] for r in runs]
        print(f"{name:9s} wall median {np.median(walls):7.2f} s (runs {', '.join(f'{w:.2f}' for w in walls)}), "
              f"CPU median {np.median(cpus):7.2f} s, exit {[r[2] for r in runs]}")
    for name, path in (("rnx2rtkp", out_r), ("satnav", out_s)):
        h, v, n = track_errors(path)
        print(f"{name:9s} kinematic track after the first hour vs reference: H RMS {h:.3f} m, V RMS {v:.3f} m "
              f"({n} epochs)")
    print(f"files in {tmp}")


def final_position(path: Path) -> np.ndarray:
    """Last solution row of a .pos (ECEF or llh) as ECEF (m)."""
    from satnav.frames import geodetic_to_ecef

    last = [ln for ln in path.read_text().splitlines() if ln.strip() and not ln.startswith("%")][-1].split()
    xyz = np.array([float(v) for v in last[2:5]])
    if abs(xyz[0]) < 1000:
        xyz = geodetic_to_ecef(np.radians(xyz[0]), np.radians(xyz[1]), xyz[2])
    return np.asarray(xyz, dtype=float).reshape(3)


def static_peer() -> None:
    """PPP-static of the whole day by rnx2rtkp and by satnav on the same inputs: rnx2rtkp with
    ESBC's NGS calibration and with the reference's configuration (no receiver calibration),
    satnav with all its models (default) and with RTKLIB's model set (solid tide only, Niell,
    satellites missing from ANTEX at zero, no Shapiro delay); final coordinates against the
    reference and each other."""
    from satnav.estimators.ppp import PPP_MODELS, PppOptions, solve_ppp
    from satnav.frames import ecef_to_enu
    from satnav.pipeline import precise_products, read_observations

    tmp = Path(tempfile.mkdtemp(prefix="bench_ppp_static_"))
    plain = [expand(p, tmp) for p in [OBS, NAV] + PRODUCTS[:3]]
    atx = expand(PRODUCTS[3], tmp)
    runs = {}
    for label, rcv in (("rnx2rtkp, NGS calibration", NGS), ("rnx2rtkp, the reference's configuration", atx)):
        conf = tmp / "ppp_static.conf"
        conf.write_text(RTKLIB_CONF.format(atx=atx, ngs=rcv).replace("=ppp-kine", "=ppp-static"))
        out = tmp / "rtklib.pos"
        run_process(["rnx2rtkp", "-k", str(conf), "-o", str(out), *map(str, plain)])
        runs[label] = final_position(out)
    out_s = tmp / "satnav.pos"
    run_process([sys.executable, "-m", "satnav", "solve", str(OBS), *map(str, PRODUCTS), str(NGS),
                 "--mode", "ppp-static", "-q", "-o", str(out_s)])
    runs["satnav, all models (default)"] = final_position(out_s)
    warnings.simplefilter("ignore")
    obs = read_observations(OBS)
    like = tuple(m for m in PPP_MODELS if m not in ("pole-tide", "ocean-loading", "shapiro"))
    for label, files, models in (("satnav, RTKLIB's model set, NGS calibration", PRODUCTS + [NGS], like),
                                 ("satnav, the reference's model set", PRODUCTS,
                                  tuple(m for m in like if m != "receiver-antenna"))):
        sol = solve_ppp(obs, precise_products(files), PppOptions(mode="static", models=models,
                                                                 missing_satellite_antenna="zero", troposphere="niell"))
        runs[label] = sol.final_position()[0]
    for name, pos in runs.items():
        e, n, u = ecef_to_enu(pos, REFERENCE)
        print(f"{name:45s} static final minus reference: E {e:+.4f} N {n:+.4f} U {u:+.4f} m")
    for a, b in (("satnav, RTKLIB's model set, NGS calibration", "rnx2rtkp, NGS calibration"),
                 ("satnav, the reference's model set", "rnx2rtkp, the reference's configuration")):
        e, n, u = ecef_to_enu(runs[a], runs[b])
        print(f"{a} minus {b}: E {e:+.4f} N {n:+.4f} U {u:+.4f} m")


def convergence() -> None:
    from satnav.estimators.ppp import PppOptions, solve_ppp
    from satnav.pipeline import precise_products, read_observations

    warnings.simplefilter("ignore")
    obs = read_observations(OBS)
    products = precise_products(PRODUCTS + [NGS])
    full = solve_ppp(obs.select(obs.time % (60 * 10**9) == 0), products, PppOptions(mode="static"))
    own, _ = full.final_position()
    print(f"own full-day static coordinate (1-min epochs): {own.round(4)}; minus stations.csv: "
          f"{(own - REFERENCE).round(4)}")
    per_session = {"own": [], "stations.csv": []}
    for k in range(12):
        part = obs.epoch_slice(k * 240, (k + 1) * 240)
        sol = solve_ppp(part, products, PppOptions(mode="static"))
        for label, ref in (("own", own), ("stations.csv", REFERENCE)):
            per_session[label].append(sol.convergence_time_s(ref, 0.10) / 60.0)
    for label, values in per_session.items():
        v = np.array(values)
        print(f"convergence to < 10 cm 3D vs {label}: sessions (min) {', '.join(f'{x:.1f}' for x in v)}; "
              f"median {np.nanmedian(v):.1f} min ({int(np.isnan(v).sum())} never within 2 h)")


def convergence_ar() -> None:
    """BOR1, GRG and CODE integer-clock products: 2-hour static sessions, float and AR."""
    import csv

    from satnav.estimators.ppp import PppOptions, solve_ppp
    from satnav.pipeline import precise_products, read_observations

    warnings.simplefilter("ignore")
    obs = read_observations(DATA / "bor1-2024-035" / "BOR100POL_R_20240350000_01D_30S_MO.crx.gz")
    with open(DATA / "stations.csv") as fh:
        row = next(r for r in csv.DictReader(fh) if r["station"] == "BOR1")
    ref = np.array([float(row["x_m"]), float(row["y_m"]), float(row["z_m"])])
    blq = DATA / "oceanload" / "FES2004_subset.blq"
    centres = bor1_integer_clock_products()
    for centre, files in centres.items():
        products = precise_products(files + [blq])
        conv = {"off": [], "fix": []}
        ttff, fixed, solved, fractions = [], 0, 0, []
        t0 = time.process_time()
        for k in range(12):
            part = obs.epoch_slice(k * 240, (k + 1) * 240)
            for ar in ("off", "fix"):
                sol = solve_ppp(part, products, PppOptions(mode="static", ambiguity_resolution=ar))
                conv[ar].append(sol.convergence_time_s(ref, 0.10) / 60.0)
                if ar == "fix":
                    ttff.append(sol.time_to_first_fix_s() / 60.0)
                    fixed += int(sol.fixed.sum())
                    solved += int(sol.solved.sum())
                    a = sol.ambiguities
                    late = a["nl_float"][a["nl_sigma"] < 0.1]
                    fractions.extend((late - np.round(late)).tolist())
        cpu = time.process_time() - t0
        for ar, values in conv.items():
            v = np.array(values)
            print(f"BOR1 {centre} static 2-h sessions, AR {ar}: convergence to < 10 cm 3D vs IGS SINEX (min) "
                  f"{', '.join(f'{x:.0f}' for x in v)}; median {np.nanmedian(v):.1f} min "
                  f"({int(np.isnan(v).sum())} never within 2 h)")
        t = np.array(ttff)
        fr = np.abs(np.array(fractions))
        print(f"BOR1 {centre} AR: time to first fix per session (min) {', '.join(f'{x:.0f}' for x in t)}; "
              f"{int(np.isfinite(t).sum())} of 12 sessions fixed, {fixed} of {solved} epochs fixed; narrow-lane "
              f"float fractions (sigma < 0.1 cycle) |frac| < 0.1: {np.mean(fr < 0.1):.0%}, median |frac| "
              f"{np.median(fr):.2f} (0.25 for uniform); CPU {cpu:.1f} s for 24 runs")


def convergence_ar_esbc() -> None:
    """ESBC 2020-177, GRG SP3 + 30 s CLK with its wide-lane biases (no OSB file): 2-hour static
    sessions, float and AR; convergence against satnav's own full-day static coordinate."""
    from satnav.estimators.ppp import PppOptions, solve_ppp
    from satnav.pipeline import precise_products, read_observations

    warnings.simplefilter("ignore")
    obs = read_observations(OBS)
    products = precise_products(PRODUCTS + [NGS])
    own, _ = solve_ppp(obs.select(obs.time % (60 * 10**9) == 0), products, PppOptions(mode="static")).final_position()
    conv = {"off": [], "fix": []}
    ttff, fixed, solved, wl = [], 0, 0, []
    for k in range(12):
        part = obs.epoch_slice(k * 240, (k + 1) * 240)
        for ar in ("off", "fix"):
            sol = solve_ppp(part, products, PppOptions(mode="static", ambiguity_resolution=ar))
            conv[ar].append(sol.convergence_time_s(own, 0.10) / 60.0)
            if ar == "fix":
                ttff.append(sol.time_to_first_fix_s() / 60.0)
                fixed += int(sol.fixed.sum())
                solved += int(sol.solved.sum())
                wl.extend(sol.wl_fractions.tolist())
    for ar, values in conv.items():
        v = np.array(values)
        print(f"ESBC GRG (clock-file wide-lane biases) 2-h sessions, AR {ar}: convergence to < 10 cm 3D vs own "
              f"static (min) median {np.nanmedian(v):.1f} ({int(np.isnan(v).sum())} never)")
    t = np.array(ttff)
    print(f"ESBC AR: time to first fix per session (min) {', '.join(f'{x:.0f}' for x in t)}; {fixed} of {solved} "
          f"epochs fixed; wide-lane fractions within 0.2 cycle: {np.mean(np.abs(wl) < 0.2):.0%} of {len(wl)}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--skip-speed", action="store_true")
    ap.add_argument("--skip-convergence", action="store_true")
    ap.add_argument("--skip-ar", action="store_true")
    args = ap.parse_args()
    print(f"date {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, cores {os.cpu_count()}, "
          f"load {os.getloadavg()}")
    if not args.skip_speed:
        speed(args.repeat)
        static_peer()
    if not args.skip_convergence:
        convergence()
    if not args.skip_ar:
        convergence_ar()
        convergence_ar_esbc()


if __name__ == "__main__":
    main()
