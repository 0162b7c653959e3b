"""Benchmark: ``satnav solve`` on the full esbc day vs RTKLIB and gnss_lib_py, in one run.

Issue 4 target: the whole ESBC day (2880 epochs, all systems, plain RINEX input) read +
solved + written as a ``.pos`` by one ``satnav solve`` process in <= 1.5x RTKLIB's time
for the same job, >= 20x faster than gnss_lib_py's WLS on the same data, peak memory
< 1 GB.

Steps (everything in one temporary directory):

1. the Hatanaka/gzip observation file and the two navigation files are expanded to plain
   RINEX (not timed: both programs then read the same plain text);
2. ``satnav solve OBS NAV NAV -o out.pos --systems GRECJ`` as a subprocess, best of
   ``--repeat`` wall times, with its own peak RSS and CPU time (``os.wait4``). Python's
   bytecode cache is enabled for it (``PYTHONPYCACHEPREFIX`` in the temporary directory,
   one warm-up run not counted), as for an installed package; the time of the first,
   cache-less run (every module compiled from source) is printed as well;
3. RTKLIB 2.4.3 ``postpos`` through pyrtklib (``../shared/tools/rtklib_pos.py``): same
   files, 10 deg mask, broadcast Klobuchar, Saastamoinen, systems GREJC (RAIM off, as in
   the reference runs); its own postpos time and the subprocess wall time;
4. gnss_lib_py (optional, another interpreter given by ``--peer-python``, default
   ``/tmp/glp/bin/python`` when present: gnss-lib-py pins older pandas/xarray, so it lives
   in a separate virtual environment). Its WLS has one receiver clock, so the comparison
   is on **GPS only** (C1C): this script hands it the GPS C1C pseudoranges (epoch, PRN,
   value, read by satnav, not timed) as a NavData; gnss_lib_py then, per epoch, selects
   the latest message broadcast before the epoch as ``get_time_cropped_rinex`` does
   (``NavData.where`` + pandas groupby), computes the states at transmission time with
   ``find_sv_states``, corrects the pseudoranges with its satellite clock ``b_sv_m`` and
   its Klobuchar and troposphere models at the header position (``calculate_pseudorange_
   corr``; the Klobuchar coefficients are taken from the navigation header because its
   RINEX 3.05 header reader returns none), drops satellites below 10 deg, and runs
   ``solve_wls`` (which rotates for the Earth rotation itself). The three stages are timed
   separately; the ratio target uses ``solve_wls`` alone (the most favourable view of the
   peer) against the whole satnav process (reading and writing included), also for a
   satnav GPS-only run.

Accuracy: H/V RMS of every written epoch against the ESBC PPP coordinate (data README).

Usage: ``python bench/spp.py [--repeat 3] [--peer-python PY | --no-peer] [--no-rtklib]``.
The peer half runs as ``PY bench/spp.py --peer-worker ...`` (only NumPy and gnss_lib_py
are imported there).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

import numpy as np

from common import DATA

ESBC = DATA / "esbc-2020-177"
OBS = ESBC / "ESBC00DNK_R_20201770000_01D_30S_MO.crx.gz"
NAVS = (ESBC / "ESBC00DNK_R_20201770000_01D_MN.rnx.gz", ESBC / "MOJN00DNK_R_20201770000_01D_MN.rnx.gz")
RTKLIB_TOOL = DATA.parent / "tools" / "rtklib_pos.py"
#: ESBC marker, RTKLIB PPP-static with GRG precise products (shared/data/README.md).
REFERENCE = np.array([3582104.8024, 532590.1716, 5232755.1824])
EPOCHS = 2880
#: RTKLIB EX 2.5.1 on this machine class (shared/data/README.md; not measured here).
RTKLIB_EX_S = (1.06, 1.33)
C = 299_792_458.0


# ---------------------------------------------------------------------- helpers
def _run(cmd, env=None, cwd=None):
    """Run ``cmd``; (wall s, user+sys s, peak RSS MB, stdout text). Raises on failure."""
    with tempfile.TemporaryFile("w+") as out:
        t0 = time.perf_counter()
        p = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=cwd)
        _, status, ru = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t0
        p.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read()
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, cmd))} failed ({p.returncode}):\n{text}")
    return wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss / 1024.0, text


def _best(runs):
    """The run with the least wall time."""
    return min(runs, key=lambda r: r[0])


def _expand(tmp: Path):
    from satnav.io.textfile import read_bytes

    out = []
    for src, name in ((OBS, "ESBC.rnx"), (NAVS[0], "ESBC_MN.rnx"), (NAVS[1], "MOJN_MN.rnx")):
        dst = tmp / name
        dst.write_bytes(read_bytes(src))
        out.append(dst)
    return out


def _satnav_command():
    """The installed ``satnav`` console script (not a pyenv shim), else ``python -m``."""
    script = Path(sysconfig.get_path("scripts")) / "satnav"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "import sys; from satnav.cli import main; sys.exit(main())"]


def _errors(positions: np.ndarray):
    """(n, H RMS, V RMS) of ECEF ``positions`` (n, 3) against :data:`REFERENCE`."""
    from satnav.frames import ecef_to_geodetic, enu_rotation

    positions = positions[np.all(np.isfinite(positions), axis=1)]
    if not len(positions):
        return 0, float("nan"), float("nan")
    lat, lon, _ = ecef_to_geodetic(REFERENCE)
    enu = (positions - REFERENCE) @ np.asarray(enu_rotation(lat, lon)).reshape(3, 3).T
    h = np.sqrt(np.mean(enu[:, 0] ** 2 + enu[:, 1] ** 2))
    v = np.sqrt(np.mean(enu[:, 2] ** 2))
    return len(positions), float(h), float(v)


def _pos_errors(path):
    from satnav.io.solution import read_pos

    return _errors(read_pos(path).position_m)


def _klobuchar_from_header(path):
    """GPSA/GPSB of a RINEX 3 navigation header as a 2x4 array (alpha, beta)."""
    rows = {}
    with open(path) as f:
        for line in f:
            if line[:4] in ("GPSA", "GPSB"):
                rows[line[:4]] = [float(line[5 + 12 * i : 17 + 12 * i].replace("D", "E")) for i in range(4)]
            if "END OF HEADER" in line:
                break
    return np.array([rows["GPSA"], rows["GPSB"]])


# ---------------------------------------------------------------------- satnav
def bench_satnav(tmp, obs, navs, repeat, systems):
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    out = tmp / f"satnav_{systems}.pos"
    cmd = _satnav_command() + ["solve", str(obs), *map(str, navs), "-o", str(out), "--systems", systems,
                                "--ref", ",".join(f"{v:.4f}" for v in REFERENCE)]
    cold_env = dict(env, PYTHONDONTWRITEBYTECODE="1")
    cold_env.pop("PYTHONPYCACHEPREFIX", None)
    warm_env = dict(env, PYTHONPYCACHEPREFIX=str(tmp / "pycache"))
    warm_env.pop("PYTHONDONTWRITEBYTECODE", None)
    cold = _run(cmd, cold_env)  # every module compiled from source
    _run(cmd, warm_env)  # fills the bytecode cache
    best = _best([_run(cmd, warm_env) for _ in range(repeat)])
    n, h, v = _pos_errors(out)
    return dict(wall=best[0], cpu=best[1], rss=best[2], cold=cold[0], n=n, h=h, v=v, summary=best[3])


# ---------------------------------------------------------------------- RTKLIB
def bench_rtklib(tmp, obs, navs, repeat):
    out = tmp / "rtklib.pos"
    cmd = [sys.executable, str(RTKLIB_TOOL), "--mode", "single", "--systems", "GREJC", "--elmask", "10",
           "-o", str(out), str(obs), *map(str, navs)]
    runs = [_run(cmd) for _ in range(repeat)]
    best = _best(runs)
    postpos = min(float(r[3].strip().splitlines()[-1]) for r in runs)
    n, h, v = _pos_errors(out)
    return dict(wall=best[0], cpu=best[1], rss=best[2], postpos=postpos, n=n, h=h, v=v)


# ---------------------------------------------------------------------- stages in-process
def bench_stages(tmp, obs_path, navs, repeat):
    """Best-of-``repeat`` times (s) of each stage inside one process, and the observations."""
    from satnav.estimators.spp import solve_spp
    from satnav.io.rinex_nav import read_rinex_nav
    from satnav.io.rinex_obs import read_rinex_obs
    from satnav.io.solution import write_solution

    def best(fn):
        times, out = [], None
        for _ in range(repeat):
            t0 = time.perf_counter()
            out = fn()
            times.append(time.perf_counter() - t0)
        return min(times), out

    t_obs, obs = best(lambda: read_rinex_obs(obs_path))
    t_nav, nav = best(lambda: read_rinex_nav(*navs))
    t_all, sol = best(lambda: solve_spp(obs, nav, systems="GRECJ"))
    t_gps, _ = best(lambda: solve_spp(obs, nav, systems="G"))
    t_write, _ = best(lambda: write_solution(sol, tmp / "stages.pos"))
    return dict(obs=t_obs, nav=t_nav, spp=t_all, spp_gps=t_gps, write=t_write), obs


# ---------------------------------------------------------------------- gnss_lib_py
def bench_peer(tmp, obs, navs, python):
    code = obs.codes.index("C1C")
    rows = (obs.sat // 100 == 0) & (obs.code == code) & np.isfinite(obs.value)
    epochs = np.asarray(obs.epochs, dtype=np.int64)[obs.epoch_index()[rows]]
    npz = tmp / "peer_in.npz"
    np.savez(npz, gps_millis=epochs / 1e6, prn=obs.sat[rows].astype(np.int64), pr=obs.value[rows],
             rx0=np.asarray(obs.header.approx_position_m, dtype=float),
             klobuchar=_klobuchar_from_header(navs[0]))
    result = tmp / "peer_out.npz"
    wall, cpu, rss, text = _run([python, __file__, "--peer-worker", str(npz), str(result), *map(str, navs)])
    info = json.loads(text.strip().splitlines()[-1])
    with np.load(result) as r:
        positions = r["position"]
    n, h, v = _errors(positions)
    info.update(n=n, h=h, v=v, wall=wall, cpu=cpu, rss=rss)
    return info


def peer_worker(npz_path, out_path, navs):
    """Runs under the gnss_lib_py interpreter: GPS WLS per epoch, stages timed."""
    import warnings

    warnings.simplefilter("ignore")
    import gnss_lib_py
    from gnss_lib_py.algorithms.snapshot import solve_wls
    from gnss_lib_py.navdata.navdata import NavData
    from gnss_lib_py.parsers.rinex_nav import RinexNav
    from gnss_lib_py.utils.coordinates import ecef_to_el_az
    from gnss_lib_py.utils.gnss_models import calculate_pseudorange_corr
    from gnss_lib_py.utils.sv_models import find_sv_states

    d = np.load(npz_path)
    t0 = time.perf_counter()
    nav = RinexNav(list(navs), satellites=[f"G{i:02d}" for i in range(1, 33)])
    t_parse = time.perf_counter() - t0
    rx0 = NavData()
    for name, value in zip(("x_rx_m", "y_rx_m", "z_rx_m"), d["rx0"]):
        rx0[name] = np.array([value])
    for name in ("vx_rx_mps", "vy_rx_mps", "vz_rx_mps", "b_rx_m", "b_dot_rx_mps"):
        rx0[name] = np.array([0.0])
    iono = {"gps": d["klobuchar"]}
    millis, prn, pr = d["gps_millis"], d["prn"], d["pr"]
    t_states = t_corr = 0.0
    parts = {k: [] for k in ("gps_millis", "sv_id", "x", "y", "z", "pr")}
    bounds = np.flatnonzero(np.diff(millis)) + 1
    for sl in np.split(np.arange(len(millis)), bounds):
        ms = float(millis[sl[0]])
        t0 = time.perf_counter()
        # its per-epoch selection (get_time_cropped_rinex): latest message before the epoch
        cropped = nav.where("gps_millis", ms, "lesser")
        if not len(cropped):
            continue
        df = cropped.pandas_df().sort_values("gps_millis").groupby("gnss_sv_id").last().reset_index()
        ephem = NavData(pandas_df=df)
        # ephemeris age limit (not in gnss_lib_py): toc within 2 h of the epoch, as RTKLIB
        fresh = np.abs(ms - np.asarray(ephem["gps_millis"], dtype=float)) <= 7.2e6
        have = np.isin(prn[sl], np.asarray(ephem["sv_id"], dtype=int)[fresh])
        sl = sl[have]
        ephem = ephem.where("sv_id", prn[sl].tolist(), "eq")
        order = np.argsort(np.asarray(ephem["sv_id"], dtype=int))
        pos_in_eph = np.searchsorted(np.asarray(ephem["sv_id"], dtype=int)[order], prn[sl])
        ephem = ephem.copy(cols=order[pos_in_eph])
        states = find_sv_states(ms - pr[sl] / C * 1e3, ephem)
        t_states += time.perf_counter() - t0
        t0 = time.perf_counter()
        tropo, ion = calculate_pseudorange_corr(ms, state=rx0, sv_posvel=states, iono_params=iono)
        b_sv = np.asarray(states["b_sv_m"])
        # position at the true transmission time t_rx - P/c - dt_sv (linear in dt_sv)
        sv = np.vstack([states["x_sv_m"], states["y_sv_m"], states["z_sv_m"]]) - np.vstack(
            [states["vx_sv_mps"], states["vy_sv_mps"], states["vz_sv_mps"]]) * (b_sv / C)
        el = ecef_to_el_az(d["rx0"].reshape(3, 1), sv)[0]
        keep = el >= 10.0
        # satellite clock and the L1 C/A group delay (IS-GPS-200 20.3.3.3.3.2)
        corr = pr[sl] + b_sv - C * np.asarray(ephem["TGD"], dtype=float) - tropo - ion
        t_corr += time.perf_counter() - t0
        parts["gps_millis"].append(np.full(keep.sum(), ms))
        parts["sv_id"].append(prn[sl][keep])
        for k, row in zip("xyz", sv):
            parts[k].append(row[keep])
        parts["pr"].append(corr[keep])
    meas = NavData()
    meas["gps_millis"] = np.concatenate(parts["gps_millis"])
    meas["gnss_id"] = np.array(["gps"] * len(meas["gps_millis"]))
    meas["sv_id"] = np.concatenate(parts["sv_id"])
    meas["x_sv_m"] = np.concatenate(parts["x"])
    meas["y_sv_m"] = np.concatenate(parts["y"])
    meas["z_sv_m"] = np.concatenate(parts["z"])
    meas["corr_pr_m"] = np.concatenate(parts["pr"])
    t0 = time.perf_counter()
    est = solve_wls(meas)
    t_wls = time.perf_counter() - t0
    position = np.vstack([est["x_rx_wls_m"], est["y_rx_wls_m"], est["z_rx_wls_m"]]).T
    np.savez(out_path, position=position)
    print(json.dumps(dict(version=gnss_lib_py.__version__, parse_s=t_parse, states_s=t_states,
                          corr_s=t_corr, wls_s=t_wls, epochs=int(len(position)),
                          measurements=int(len(meas["gps_millis"])))))
    return 0


# ---------------------------------------------------------------------- main
def _machine():
    model = "?"
    try:
        for line in subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines():
            if line.startswith("Model name"):
                model = line.split(":", 1)[1].strip()
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} at the start"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    default_peer = "/tmp/glp/bin/python" if Path("/tmp/glp/bin/python").exists() else None
    ap.add_argument("--peer-python", default=default_peer, help="interpreter with gnss_lib_py")
    ap.add_argument("--no-peer", action="store_true")
    ap.add_argument("--no-rtklib", action="store_true")
    ap.add_argument("--keep", metavar="DIR", help="keep the expanded files and solutions in DIR")
    ap.add_argument("--peer-worker", nargs="+", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.peer_worker:
        npz, out, *navs = args.peer_worker
        return peer_worker(npz, out, navs)

    print(f"machine: {_machine()}")
    tmp_obj = tempfile.TemporaryDirectory(prefix="satnav_bench_spp_")
    tmp = Path(args.keep) if args.keep else Path(tmp_obj.name)
    tmp.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    obs, *navs = _expand(tmp)
    print(f"expanded {OBS.name} ({obs.stat().st_size / 1e6:.1f} MB) and 2 navigation files to plain "
          f"RINEX in {time.perf_counter() - t0:.2f} s (not counted)")

    s = bench_satnav(tmp, obs, navs, args.repeat, "GRECJ")
    print("satnav solve, its own summary (best run):")
    print("  " + s["summary"].strip().replace("\n", "\n  "))
    sg = bench_satnav(tmp, obs, navs, args.repeat, "G")
    rows = [("satnav solve (GRECJ)", s), ("satnav solve --systems G", sg)]

    st, obs_data = bench_stages(tmp, obs, navs, args.repeat)
    print(f"satnav stages in one process (best of {args.repeat}): read obs {st['obs']:.3f} s, "
          f"read nav {st['nav']:.3f} s, solve_spp GRECJ {st['spp']:.3f} s (G only {st['spp_gps']:.3f} s), "
          f"write .pos {st['write']:.3f} s")

    r = None
    if not args.no_rtklib:
        try:
            r = bench_rtklib(tmp, obs, navs, args.repeat)
            rows.append(("RTKLIB 2.4.3 postpos (pyrtklib, GREJC)", r))
        except (RuntimeError, OSError) as exc:
            print(f"RTKLIB skipped: {exc}")
    g = None
    if not args.no_peer and args.peer_python:
        try:
            g = bench_peer(tmp, obs_data, navs, args.peer_python)
            rows.append((f"gnss_lib_py {g['version']} WLS (G, C1C)", g))
        except (RuntimeError, OSError, ValueError) as exc:
            print(f"gnss_lib_py skipped: {exc}")

    print(f"\n{'run':42s} {'wall s':>7s} {'cpu s':>6s} {'RSS MB':>7s} {'epochs':>7s} {'H RMS':>6s} {'V RMS':>6s}")
    for name, x in rows:
        print(f"{name:42s} {x['wall']:7.3f} {x.get('cpu', float('nan')):6.2f} {x['rss']:7.0f} "
              f"{x['n']:5d}/{EPOCHS} {x['h']:6.2f} {x['v']:6.2f}")
    print(f"\nsatnav: first run without a bytecode cache {s['cold']:.3f} s (GRECJ), {sg['cold']:.3f} s (G)")
    ok = True
    if r is not None:
        ratio = s["wall"] / r["postpos"]
        print(f"satnav / RTKLIB 2.4.3: {ratio:.2f}x its postpos time ({r['postpos']:.3f} s), "
              f"{s['wall'] / r['wall']:.2f}x its process wall time; target <= 1.5x: "
              f"{'OK' if ratio <= 1.5 else 'FAILS'}")
        ok &= ratio <= 1.5
    lo, hi = RTKLIB_EX_S
    print(f"satnav / RTKLIB EX 2.5.1 (quoted {lo}-{hi} s, not run here): {s['wall'] / hi:.2f}-"
          f"{s['wall'] / lo:.2f}x; target <= 1.5x: {'OK' if s['wall'] <= 1.5 * lo else 'FAILS'}")
    print(f"peak RSS {s['rss']:.0f} MB; target < 1024 MB: {'OK' if s['rss'] < 1024 else 'FAILS'}")
    ok &= s["rss"] < 1024
    if g is not None:
        per_g = g["wls_s"] / g["epochs"]
        print(f"gnss_lib_py: RinexNav parse {g['parse_s']:.2f} s, selection+states {g['states_s']:.2f} s, "
              f"corrections {g['corr_s']:.2f} s, solve_wls {g['wls_s']:.2f} s for {g['epochs']} epochs "
              f"({g['measurements']} measurements) = {per_g * 1e3:.2f} ms/epoch")
        full_g = (g["states_s"] + g["corr_s"] + g["wls_s"]) / g["epochs"]
        print(f"  its states+corrections+WLS: {full_g * 1e3:.2f} ms/epoch")
        for label, per_s in (
            ("satnav solve_spp G (states, corrections, WLS, RAIM, DOP, velocity)", st["spp_gps"] / EPOCHS),
            ("satnav GPS-only whole process (read, solve, write)", sg["wall"] / EPOCHS),
            ("satnav all-systems whole process", s["wall"] / EPOCHS),
        ):
            print(f"  vs {label}: solve_wls alone {per_g / per_s:.1f}x, "
                  f"states+corrections+WLS {full_g / per_s:.0f}x")
        ratio = full_g / (sg["wall"] / EPOCHS)
        print(f"  target >= 20x (same job: its states+corrections+WLS vs the satnav GPS-only process): "
              f"{'OK' if ratio >= 20 else 'FAILS'}")
        ok &= ratio >= 20
    if args.keep:
        print(f"files kept in {tmp}")
    else:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
