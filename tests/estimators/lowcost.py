"""Simulated low-cost receiver pairs for RTK wrong-fix tests (u-blox M8P-like).

A base and a rover a few hundred metres apart observe GPS (+ GLONASS) at 1 Hz with the
constellation simulator (:func:`satnav.constellation.simulate.simulate`: shared
satellite errors, each receiver its own noise, multipath and clock). On top of it, the
impairments of low-cost receivers are applied to the simulated observations here, seeded:

* code noise and multipath several times a geodetic receiver's (``ErrorModel`` fields);
* cycle slips with the loss-of-lock flag (LLI bit 0) on either receiver: whole cycles
  added to the phase from the slip epoch on;
* half-cycle ambiguities: a new arc (the start, or after a slip) may start with its
  half-cycle flag set (LLI bit 1, value 2) for 5-40 s; while it is set, the phase is off
  by half a cycle (with probability 1/2); when the receiver resolves it the flag clears and
  the half cycle is removed from the phase (a jump of 0.5 cycle, without a slip flag);
* base gaps: runs of 5-20 missing base epochs, so that rover epochs use a base epoch up
  to 20 s old (``max_age_s=30``).

The truth is the simulated rover position.
"""

from __future__ import annotations

import math

import numpy as np

from satnav.constellation.design import load_constellation
from satnav.constellation.simulate import ErrorModel, simulate
from satnav.frames import geodetic_to_ecef
from satnav.gnss_time import NS_PER_S, calendar_to_ns
from satnav.observations import Observations

LAT, LON = 35.7, 139.5
BASE = geodetic_to_ecef(math.radians(LAT), math.radians(LON), 60.0)
# 300 m north, 200 m east, 2 m up
ROVER = geodetic_to_ecef(math.radians(LAT + 300.0 / 111.0e3),
                         math.radians(LON + 200.0 / (111.0e3 * math.cos(math.radians(LAT)))), 62.0)
LOW_COST = ErrorModel(phase_noise_m=0.003, multipath_code_m=2.5, multipath_phase_ratio=0.8,
                      doppler_noise_m_s=0.05)


def _constellations(systems, start):
    names = {"G": "gps", "R": "glonass", "E": "galileo", "C": "beidou3"}
    cons = [load_constellation(names[s], epoch_ns=start) for s in systems]
    for c in cons:
        c.code_noise_m = c.code_noise_m * 2.0  # low-cost code noise (0.6-1 m at zenith)
    return cons


def _impair(obs, rng, slips_per_sat_h, half_cycle_p, base=False):
    """Slips (LLI bit 0) and half-cycle flags (LLI bit 1) applied to the phases of ``obs``."""
    value, lli = obs.value.copy(), obs.lli.copy()
    is_phase = np.array([c.startswith("L") for c in obs.codes])[obs.code]
    epoch = np.searchsorted(obs.epochs, obs.time)
    m = len(obs.epochs)
    for sat in np.unique(obs.sat):
        rows_sat = np.flatnonzero((obs.sat == sat) & is_phase)
        if not len(rows_sat):
            continue
        # arc starts: the first epoch, then the slips (same epochs on every signal)
        n_slips = rng.poisson(slips_per_sat_h * m / 3600.0)
        slip_epochs = np.sort(rng.integers(1, m, n_slips))
        starts = [int(epoch[rows_sat].min())] + slip_epochs.tolist()
        for code in np.unique(obs.code[rows_sat]):
            rows = rows_sat[obs.code[rows_sat] == code]
            ep = epoch[rows]
            offset = np.zeros(len(rows))
            for k, t0 in enumerate(starts):
                if k > 0:  # a slip: whole cycles from t0 on, flagged
                    jump = int(rng.integers(1, 20)) * int(rng.choice((-1, 1)))
                    offset[ep >= t0] += jump
                    hit = np.flatnonzero(ep >= t0)
                    if len(hit):
                        lli[rows[hit[0]]] |= 1
                if rng.random() < half_cycle_p:  # half-cycle flag set for a while
                    t1 = t0 + int(rng.integers(5, 40))
                    during = (ep >= t0) & (ep < t1)
                    lli[rows[during]] |= 2
                    if rng.random() < 0.5:
                        offset[during] += 0.5
            value[rows] += offset
    out = Observations(obs.time, obs.sat, obs.code, value, lli, obs.ssi, obs.codes, obs.epochs,
                       header=obs.header)
    return out


def _drop_base_gaps(obs, rng, n_gaps):
    """Runs of 5-20 base epochs removed."""
    m = len(obs.epochs)
    keep_epoch = np.ones(m, bool)
    for _ in range(n_gaps):
        t0 = int(rng.integers(5, m - 25))
        keep_epoch[t0:t0 + int(rng.integers(5, 21))] = False
    keep_t = obs.epochs[keep_epoch]
    rows = np.isin(obs.time, keep_t)
    return Observations(obs.time[rows], obs.sat[rows], obs.code[rows], obs.value[rows],
                        obs.lli[rows], obs.ssi[rows], obs.codes, keep_t, header=obs.header)


def add_glonass_ifb(obs, nav, rate_m_per_channel):
    """``obs`` with a GLONASS carrier-phase inter-frequency bias ``rate * k`` (m) added to
    every FDMA phase (k: the satellite's frequency channel): what a receiver of another
    brand than the base shows (Wanninger 2012). Its header names another receiver type."""
    import dataclasses

    from satnav.constants import SPEED_OF_LIGHT
    from satnav.satellites import system_of
    from satnav.signals import carrier_frequency, glonass_channels

    value = obs.value.copy()
    k = glonass_channels(obs, nav, obs.sat)
    glo = (system_of(obs.sat) == "R") & np.isfinite(k)
    for ci, code in enumerate(obs.codes):
        if not code.startswith("L") or code[1] not in "12":
            continue
        rows = np.flatnonzero(glo & (obs.code == ci))
        lam = SPEED_OF_LIGHT / carrier_frequency("R", code[1], k[rows])
        value[rows] += rate_m_per_channel * k[rows] / lam
    header = dataclasses.replace(obs.header, receiver_type=f"{obs.header.receiver_type} IFB {rate_m_per_channel:g}")
    return Observations(obs.time, obs.sat, obs.code, value, obs.lli, obs.ssi, obs.codes,
                        obs.epochs, header=header)


def low_cost_pair(seed, *, systems="GR", n_epochs=300, hour=2, slips_per_sat_h=6.0,
                  half_cycle_p=0.3, n_gaps=3, errors=LOW_COST, ifb_m_per_channel=0.0):
    """(rover Observations, base Observations, nav, rover truth) of one seeded pair.

    ``hour``: start hour (UTC) on 2020-06-25, so that seeds see different geometries.
    ``ifb_m_per_channel``: GLONASS phase inter-frequency bias rate of the rover
    (:func:`add_glonass_ifb`; 0: a same-brand pair)."""
    start = int(calendar_to_ns(2020, 6, 25, hour)) + int(seed) * 97 * NS_PER_S
    times = start + np.arange(n_epochs, dtype=np.int64) * NS_PER_S
    cons = _constellations(systems, int(calendar_to_ns(2020, 6, 25)))
    base = simulate(cons, BASE, times, seed=1000 + seed, errors=errors, name="BASE")
    rover = simulate(cons, ROVER, times, broadcast=base.broadcast, clock=base.clock,
                     seed=2000 + seed, satellite_seed=1000 + seed, errors=errors, name="ROVR")
    rng = np.random.default_rng(seed)
    r = _impair(rover.obs, rng, slips_per_sat_h, half_cycle_p)
    b = _impair(base.obs, rng, slips_per_sat_h, half_cycle_p, base=True)
    b = _drop_base_gaps(b, rng, n_gaps)
    if ifb_m_per_channel:
        r = add_glonass_ifb(r, base.nav, ifb_m_per_channel)
    return r, b, base.nav, ROVER


# ---------------------------------------------------------------------- RTKLIB on the pairs
#: ``rnx2rtkp`` options of the peer runs (RTKLIB 2.4.3): the issue 18 settings (ratio 3,
#: continuous AR, forward filter), RTKLIB's own error model and thresholds (the values satnav
#: copies: 3 mm phase, code ratio 300, 30 m initial bias sigma, 1.5 mm/s base age), the base
#: position given on the command line (``-r``), broadcast ephemerides, Klobuchar, Saastamoinen.
RTKLIB_OPTIONS = {
    "pos1-posmode": "kinematic", "pos1-soltype": "forward", "pos1-dynamics": "off",
    "pos1-ionoopt": "brdc", "pos1-tropopt": "saas", "pos1-sateph": "brdc",
    "pos2-armode": "continuous", "pos2-arthres": "3", "pos2-arlockcnt": "0",
    "pos2-arelmask": "0", "pos2-aroutcnt": "5", "pos2-maxage": "30", "pos2-slipthres": "0.05",
    "pos2-niter": "1", "out-solformat": "xyz", "out-outhead": "on", "stats-eratio1": "300",
    "stats-eratio2": "300", "stats-errphase": "0.003", "stats-errphaseel": "0.003",
    "stats-stdbias": "30", "stats-prnbias": "0.0001", "stats-clkstab": "5e-12",
    "ant2-postype": "xyz",
}
_NAVSYS = {"G": 1, "R": 4, "E": 8, "J": 16, "C": 32}


def rtklib_solution(rover, base, nav, directory, *, systems="GR", n_frequencies=1,
                    glonass_ar="off", mask_deg=15.0, base_position=BASE, exe="rnx2rtkp"):
    """RTKLIB ``rnx2rtkp`` on ``rover``/``base``/``nav`` written as RINEX 3.05 into
    ``directory`` (:data:`RTKLIB_OPTIONS`; ``glonass_ar``: ``pos2-gloarmode``). Returns
    (time_ns, position_m (m, 3), quality (m,)) of its ``.pos`` file."""
    import subprocess
    import warnings
    from pathlib import Path

    from satnav.io.rinex_nav_writer import write_rinex_nav
    from satnav.io.rinex_obs_writer import write_rinex_obs
    from satnav.io.solution import read_pos

    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        write_rinex_obs(rover, d / "rover.obs")
        write_rinex_obs(base, d / "base.obs")
        write_rinex_nav(nav, d / "nav.rnx")
    opts = dict(RTKLIB_OPTIONS)
    opts["pos1-frequency"] = ("l1", "l1+l2", "l1+l2+l5")[n_frequencies - 1]
    opts["pos1-elmask"] = f"{mask_deg:g}"
    opts["pos1-navsys"] = str(sum(_NAVSYS[s] for s in systems))
    opts["pos2-gloarmode"] = glonass_ar
    conf = d / "rtk.conf"
    conf.write_text("".join(f"{k:<18} ={v}\n" for k, v in opts.items()))
    out = d / "rtklib.pos"
    subprocess.run([exe, "-k", str(conf), "-r", *(repr(float(v)) for v in base_position),
                    "-o", str(out), str(d / "rover.obs"), str(d / "base.obs"), str(d / "nav.rnx")],
                   check=True, capture_output=True, timeout=300)
    pos = read_pos(out)
    return pos.time_ns, pos.position_m, pos.q


def fix_statistics(time_ns, position_m, fixed, truth, n_epochs):
    """Fixed epochs, wrong fixes (> 10 cm from ``truth``), first fixed epoch (index into
    the ``n_epochs`` rover epochs from the first, None when none) and the fixed epochs'
    E/N/U scatter about their mean (m; NaN with fewer than 2) of one solution."""
    from satnav.frames import ecef_to_enu

    fixed = np.asarray(fixed, bool)
    err = np.linalg.norm(np.asarray(position_m) - truth, axis=1)
    first = None
    if fixed.any():
        t = np.asarray(time_ns, np.int64)
        first = int(round((int(t[fixed][0]) - int(t.min())) / NS_PER_S))
    enu = np.full(3, np.nan)
    if fixed.sum() >= 2:
        d = ecef_to_enu(np.asarray(position_m)[fixed], truth)
        enu = np.std(d, axis=0)
    return {"fixed": int(fixed.sum()), "n": int(n_epochs), "wrong": int((fixed & (err > 0.10)).sum()),
            "first": first, "scatter_enu_m": enu}
