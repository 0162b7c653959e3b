"""Benchmark: broadcast satellite states for a whole day, satnav vs gnss_lib_py.

Task (issue 3): states of every satellite in the ESBC navigation file (2020-06-25, all
systems) at 30 s steps, 2880 epochs x ~115 satellites, from broadcast ephemerides. Target:
< 1 s on one core, and >= 20x faster than gnss_lib_py per (satellite, epoch) pair for the
systems it supports (its Keplerian ``find_sv_states`` is GPS-style: we time GPS + Galileo).

gnss_lib_py has no whole-day vectorized path: ``add_sv_states_rinex`` loops over epochs
(``loop_time``) and picks, per epoch, the latest message broadcast before it
(``get_time_cropped_rinex``, a pandas groupby). Two figures are given for it, on a subset
of epochs (every ``--peer-step``-th, since it is slow), as a per-pair rate:

- "compute only": the messages for each epoch are chosen beforehand with NumPy (not timed)
  and only its ``find_sv_states`` calls are timed -- the most favourable view of the peer;
- "with selection": its own per-epoch selection (``NavData.where`` + pandas groupby, as in
  ``get_time_cropped_rinex``) plus ``find_sv_states``, i.e. what ``add_sv_states`` does.

The ratio printed is satnav's rate of *valid* pairs (pairs outside every message's validity
cost satnav only the selection, so they are not counted) over the peer's "compute only" rate
(the peer always returns a state, however old the message): the conservative comparison.

Usage: ``python bench/orbits.py [--repeat 5] [--peer-step 30] [--no-peer]``. gnss_lib_py is
optional (``pip install gnss-lib-py``; it pins older pandas/xarray, so a separate virtual
environment with ``--system-site-packages`` is advisable).
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from common import DATA, best_of  # noqa: E402

NAV = DATA / "esbc-2020-177" / "ESBC00DNK_R_20201770000_01D_MN.rnx.gz"
NS = 1_000_000_000


def bench_satnav(repeat):
    from satnav.gnss_time import calendar_to_ns
    from satnav.io.rinex_nav import read_rinex_nav
    from satnav.orbits.ephemeris import broadcast_states

    t_read, nav = best_of(lambda: read_rinex_nav(NAV), 1)
    sats = np.unique(np.concatenate([m["sat"] for m in nav.messages.values()])).astype(np.int16)
    epochs = calendar_to_ns(2020, 6, 25) + np.arange(2880, dtype=np.int64) * 30 * NS
    t_all, st = best_of(lambda: broadcast_states(nav, sats[None, :], epochs[:, None]), repeat)
    ge = sats[(sats // 100 == 0) | (sats // 100 == 2)]
    t_ge, st_ge = best_of(lambda: broadcast_states(nav, ge[None, :], epochs[:, None]), repeat)
    per_system = {}
    for number, letter in enumerate("GRECJIS"):
        cols = sats // 100 == number
        if cols.any():
            per_system[letter] = (int(cols.sum()), float(st.valid[:, cols].mean()))
    return dict(
        read_s=t_read,
        pairs=int(st.valid.size),
        valid=float(st.valid.mean()),
        all_s=t_all,
        ge_pairs=int(st_ge.valid.size),
        ge_valid=int(st_ge.valid.sum()),
        ge_s=t_ge,
        per_system=per_system,
        epochs=epochs,
        ge_sats=ge,
    )


def bench_gnss_lib_py(epochs_ns, step, ge_sats):
    from gnss_lib_py.navdata.navdata import NavData
    from gnss_lib_py.parsers.rinex_nav import RinexNav
    from gnss_lib_py.utils import sv_models

    from satnav.satellites import satellite_ids

    t0 = time.perf_counter()
    wanted = [str(s) for s in satellite_ids(ge_sats)]
    nav = RinexNav(str(NAV), satellites=wanted)
    t_parse = time.perf_counter() - t0
    keep = np.isin(np.asarray(nav["gnss_id"]), ["gps", "galileo"])
    nav = nav.copy(cols=np.flatnonzero(keep))
    # Galileo rows: gnss_lib_py keeps the week in GALWeek (= GPS week in RINEX 3)
    if "GALWeek" in nav.rows:
        gal = np.asarray(nav["gnss_id"]) == "galileo"
        weeks = np.asarray(nav["gps_week"], dtype=float)
        weeks[gal] = np.asarray(nav["GALWeek"], dtype=float)[gal]
        nav["gps_week"] = weeks
    sub = epochs_ns[::step]
    millis = sub / 1e6  # GPST ns since 1980-01-06 -> gps_millis
    msg_millis = np.asarray(nav["gps_millis"], dtype=float)
    msg_sat = np.asarray(nav["gnss_sv_id"]).astype(str)
    # "compute only": latest message at or before each epoch per satellite, chosen with NumPy
    pre = []
    for ms in millis:
        idx = []
        for s in np.unique(msg_sat):
            cand = np.flatnonzero((msg_sat == s) & (msg_millis <= ms))
            if cand.size:
                idx.append(cand[np.argmax(msg_millis[cand])])
        pre.append(nav.copy(cols=np.array(idx)))
    pairs = 0
    t0 = time.perf_counter()
    for ms, eph in zip(millis, pre):
        sv_models.find_sv_states(ms, eph)
        pairs += eph.shape[1]
    t_compute = time.perf_counter() - t0
    # "with selection": as get_time_cropped_rinex + find_sv_states, per epoch
    t0 = time.perf_counter()
    for ms in millis:
        cropped = nav.where("gps_millis", ms, "lesser")
        df = cropped.pandas_df().sort_values("gps_millis").groupby("gnss_sv_id").last()
        eph = NavData(pandas_df=df.reset_index())
        sv_models.find_sv_states(ms, eph)
    t_select = time.perf_counter() - t0
    return dict(
        parse_s=t_parse, epochs=len(sub), pairs=pairs, compute_s=t_compute, select_s=t_select
    )


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--peer-step", type=int, default=30, help="gnss_lib_py: every N-th epoch")
    ap.add_argument("--no-peer", action="store_true")
    args = ap.parse_args(argv)
    s = bench_satnav(args.repeat)
    print(f"navigation file: {NAV.name} (read {s['read_s']:.3f} s, satnav.io.rinex_nav)")
    print(
        f"satnav, all systems: {s['pairs']} pairs (2880 epochs x {s['pairs'] // 2880} sats), "
        f"{s['valid'] * 100:.1f} % valid, {s['all_s']:.3f} s = {s['pairs'] / s['all_s'] / 1e6:.2f} M pairs/s"
    )
    for letter, (n, v) in s["per_system"].items():
        print(f"  {letter}: {n} satellites, {v * 100:.1f} % of pairs valid")
    # rate over the pairs that got a state (invalid ones cost only the selection)
    rate_satnav = s["ge_valid"] / s["ge_s"]
    print(
        f"satnav, GPS+Galileo: {s['ge_pairs']} pairs ({s['ge_valid']} valid), {s['ge_s']:.3f} s "
        f"= {rate_satnav / 1e6:.2f} M valid pairs/s"
    )
    print(f"target < 1 s all systems: {'OK' if s['all_s'] < 1.0 else 'FAILS'}")
    if args.no_peer:
        return 0
    try:
        g = bench_gnss_lib_py(s["epochs"], args.peer_step, s["ge_sats"])
    except ImportError as exc:
        print(f"gnss_lib_py not available ({exc}); skipped")
        return 0
    import gnss_lib_py

    rate_compute = g["pairs"] / g["compute_s"]
    rate_select = g["pairs"] / g["select_s"]
    print(
        f"gnss_lib_py {gnss_lib_py.__version__}: RinexNav parse {g['parse_s']:.2f} s (not counted)"
    )
    print(
        f"  {g['epochs']} epochs, {g['pairs']} GPS+Galileo pairs: compute only {g['compute_s']:.3f} s "
        f"= {rate_compute:.0f} pairs/s; with its per-epoch selection {g['select_s']:.3f} s "
        f"= {rate_select:.0f} pairs/s"
    )
    ratio = rate_satnav / rate_compute
    print(
        f"ratio satnav / gnss_lib_py per pair: {ratio:.0f}x (compute only), "
        f"{rate_satnav / rate_select:.0f}x (with selection); target >= 20x: "
        f"{'OK' if ratio >= 20 else 'FAILS'}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
