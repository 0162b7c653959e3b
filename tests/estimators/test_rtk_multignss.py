"""Multi-GNSS RTK on a simulated short baseline: GPS, Galileo, BeiDou-3, QZSS(-like) with
integer resolution, GLONASS float; single and dual frequency; kinematic and static.

No real multi-GNSS base/rover pair is available, so a base and a rover 2.8 km apart (10 m
height difference) are simulated (satnav.constellation.simulate) over the same 61 epochs
(30 min at 30 s, the interval of the real gsi-2005-092 pair), seeded, with every default
error on. The truth is the simulated rover position.

Why the two receivers' errors cancel in double differences (checked below against the
simulation's truth components): the orbits, broadcast messages and satellite clocks
(``broadcast=``, ``clock=``, ``satellite_seed=`` shared) are the same satellites'; the
ionosphere (1.25 x Klobuchar) and troposphere (1.05 x Saastamoinen) are deterministic
functions of the site and the look angles, nearly equal at sites 2.8 km apart. Noise,
multipath and receiver clocks are each receiver's own (different ``seed``). The carrier
phase carries an integer ambiguity per satellite arc and signal (checked below).

There is no built-in QZSS constellation: a QZSS-like system (1 GEO at 127 E + 3 IGSO at
41 deg inclination over 135 E, ids J01-J04, QZSS LNAV messages, L1C/L2L/L5Q) is designed
here from a spec dict.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from satnav.constants import SPEED_OF_LIGHT
from satnav.constellation.design import load_constellation
from satnav.constellation.simulate import ErrorModel, simulate
from satnav.estimators.rtk import RtkFilter, solve_rtk
from satnav.estimators.rtk_core import VALIDATION_DEFAULTS
from satnav.frames import ecef_to_enu, geodetic_to_ecef
from satnav.gnss_time import NS_PER_S, calendar_to_ns
from satnav.models.troposphere import saastamoinen_delay
from satnav.satellites import SYSTEMS

START = int(calendar_to_ns(2020, 6, 25, 2))
TIMES = START + np.arange(0, 30 * 60 + 1, 30, dtype=np.int64) * NS_PER_S
LAT, LON = 25.0, 100.0
BASE = geodetic_to_ecef(math.radians(LAT), math.radians(LON), 2000.0)
# 2 km north, 2 km east (2.8 km), 10 m higher
ROVER_LLH = (LAT + 2000.0 / 111.0e3, LON + 2000.0 / 101.0e3, 2010.0)
ROVER = geodetic_to_ecef(math.radians(ROVER_LLH[0]), math.radians(ROVER_LLH[1]), ROVER_LLH[2])
MASK = 15.0  # solve_rtk's default elevation mask (deg)

QZSS_LIKE = {
    "name": "QZSS-like", "system": "J", "message_format": "QZSS LNAV",
    "epoch": "2020-06-25T00:00:00", "code_noise_m": 0.3, "time_offset_s": 0.0,
    "signals": {"1C": 1575.42e6, "2L": 1227.60e6, "5Q": 1176.45e6},
    "geo": [{"longitudes_deg": [127.0], "inclination_deg": 1.0}],
    "igso": [{"count": 3, "inclination_deg": 41.0, "node_longitude_deg": 135.0}],
}  # fmt: skip
GLONASS_NOTE = "GLONASS ambiguities are estimated as float only"


def _constellations(epoch_ns):
    names = ("gps", "galileo", "beidou3", "glonass")
    return [load_constellation(n, epoch_ns=epoch_ns) for n in names] + [
        load_constellation(QZSS_LIKE, epoch_ns=epoch_ns)
    ]


def _pair(times, errors=None, constellations=None):
    cons = constellations or _constellations(START)
    base = simulate(cons, BASE, times, seed=1, errors=errors, name="BASE")
    # same satellites: the base's broadcast fit, clock polynomials and clock errors
    rover = simulate(cons, ROVER, times, broadcast=base.broadcast, clock=base.clock, seed=2,
                     satellite_seed=1, errors=errors, name="ROVR")  # fmt: skip
    return base, rover


@pytest.fixture(scope="module")
def pair():
    return _pair(TIMES)


_SOLUTIONS: dict = {}


def _solve(pair, systems, mode, frequencies, glonass_ar="auto"):
    key = (systems, mode, frequencies, glonass_ar)
    if key not in _SOLUTIONS:
        base, rover = pair
        _SOLUTIONS[key] = solve_rtk(rover.obs, base.obs, base.nav, mode=mode, base_position=BASE,
                                    systems=systems, frequencies=frequencies,
                                    glonass_ar=glonass_ar)  # fmt: skip
    return _SOLUTIONS[key]


def _letters(sim):
    return np.array([SYSTEMS[int(s) // 100] for s in sim.constellation.sat])


def _seen(base, rover):
    """(epochs, satellites): observed by both receivers above the solver's mask (truth)."""
    return (base.visible & rover.visible & (base.elevation_deg >= MASK)
            & (rover.elevation_deg >= MASK))  # fmt: skip


# ------------------------------------------------------------------ the simulation itself
def test_atmosphere_and_satellite_errors_common_to_both_receivers(pair):
    base, rover = pair
    both = base.visible & rover.visible
    # satellite clocks (incl. the prediction errors) are the satellites', not the receivers'
    dclk = (rover.components["sat_clock"] - base.components["sat_clock"])[both]
    assert np.abs(dclk).max() * SPEED_OF_LIGHT < 1e-4  # m (emission times differ by us)

    def between_receiver_dd(name):
        sd = np.where(both, rover.components[name] - base.components[name], np.nan)
        return sd - np.nanmean(sd, axis=1, keepdims=True)

    # ionosphere: a smooth Klobuchar field, 2.8 km apart -> millimetres (about 1 ppm)
    assert np.nanmax(np.abs(between_receiver_dd("iono"))) < 0.01
    # troposphere: 1.05 x Saastamoinen; the solver models Saastamoinen at each site, so
    # what is left in the double differences is 5 % of the difference (10 m height)
    el_b = np.radians(base.elevation_deg)
    el_r = np.radians(rover.elevation_deg)
    model = (saastamoinen_delay(math.radians(ROVER_LLH[0]), ROVER_LLH[2], el_r)
             - saastamoinen_delay(math.radians(LAT), 2000.0, el_b))  # fmt: skip
    left = np.where(both, rover.components["tropo"] - base.components["tropo"] - model, np.nan)
    left = left - np.nanmean(left, axis=1, keepdims=True)
    assert np.nanmax(np.abs(left)) < 0.002


def test_independent_satellite_clock_errors_without_shared_seed():
    # the failure mode the shared satellite_seed removes: each receiver seed drew its own
    # "satellite" clock errors (0.5 m), which do not cancel between receivers
    cons = [load_constellation("gps", epoch_ns=START)]
    times = TIMES[:2]
    base = simulate(cons, BASE, times, seed=1)
    alone = simulate(cons, ROVER, times, broadcast=base.broadcast, clock=base.clock, seed=2)
    shared = simulate(cons, ROVER, times, broadcast=base.broadcast, clock=base.clock, seed=2,
                      satellite_seed=1)  # fmt: skip
    ok = base.visible & alone.visible
    d_alone = (alone.components["sat_clock"] - base.components["sat_clock"])[ok] * SPEED_OF_LIGHT
    d_shared = (shared.components["sat_clock"] - base.components["sat_clock"])[ok] * SPEED_OF_LIGHT
    assert np.abs(d_alone).max() > 0.1 and np.abs(d_shared).max() < 1e-4
    # the receiver's own errors still differ
    assert not np.allclose(shared.receiver_clock_s, base.receiver_clock_s)


def test_phase_is_range_over_wavelength_plus_integer():
    # noise and multipath off: L - (rho + c (dt_r - dt_s) + T - I) / lambda must be an
    # integer for every satellite, signal and epoch (IS-GPS-200 carrier frequencies)
    cons = [load_constellation("gps", epoch_ns=START)]
    times = TIMES[:3]
    sim = simulate(cons, BASE, times, seed=4, errors=ErrorModel(noise=False, multipath=False))
    sats = sim.constellation.sat
    c = sim.components
    geom = (c["range"] + SPEED_OF_LIGHT * (sim.receiver_clock_s[:, None] - c["sat_clock"])
            + c["tropo"])  # fmt: skip
    for code, f in (("L1C", 1575.42e6), ("L2W", 1227.60e6)):
        lam = SPEED_OF_LIGHT / f
        iono = c["iono"] * (1575.42e6 / f) ** 2  # components are L1 delays
        phase = sim.obs.dense(code, sats)
        n = phase - (geom - iono) / lam
        ok = np.isfinite(n)
        assert ok.sum() > 10
        assert np.abs(n[ok] - np.round(n[ok])).max() < 1e-3
        # and constant over the arc
        full = ok.all(axis=0)
        assert np.ptp(n[:, full], axis=0).max() < 1e-3


def test_no_false_slips_at_30_s(pair):
    # Doppler noise (0.03 m/s x elevation factor) integrated over 30 s is several cycles:
    # the Doppler/phase test must not reset ambiguities on it. Only the new arcs (LLI) are
    # slips here.
    base, rover = pair
    flt = RtkFilter(rover.obs, base.obs, base.nav, base_position=BASE, systems="GECJ")
    for rx in (flt.rover, flt.base):
        lli = (rx.lli > 0) & ((rx.lli & 1) != 0)
        assert np.array_equal(rx.slips[1:], lli[1:])


# ------------------------------------------------------------------ RTK
CASES = [(s, m, f) for s in ("GECRJ", "G", "E", "C") for m in ("kinematic", "static")
         for f in (("L1", "L2"), ("L1",))]  # fmt: skip


@pytest.mark.parametrize("systems, mode, frequencies", CASES)
def test_fix_rate_and_fixed_errors(pair, systems, mode, frequencies):
    s = _solve(pair, systems, mode, frequencies)
    assert s.base_position_source == "argument"
    # dual frequency uses the second frequency of every system (BeiDou-3: B3I)
    signals = s.options["signals"]
    for letter in systems.replace("R", ""):
        assert len(signals[letter]) == len(frequencies) and all(signals[letter]), signals
    # the first epoch has new ambiguities only (min_lock_epochs=1); from the second on.
    # One system on one frequency (4-7 ambiguities) needs a success rate of 0.99 since
    # issue 18 (0.3 let wrong fixes through on low-cost pairs): its first fix comes after
    # 7-9 epochs (3.5-4.5 min at 30 s) instead of 2, fix rates 0.82-0.87 (measured)
    least = 0.80 if len(frequencies) == 1 and len(systems) == 1 else 0.95
    assert s.fixed[1:].mean() >= least, (s.fixed.mean(), s.ratio)
    e = s.errors(ROVER)
    assert e["h_rms"] < 0.02 and e["v_rms"] < 0.04, e
    assert e["max_3d"] < 0.05, e  # no wrong fix
    if mode == "static":
        enu = ecef_to_enu(s.position_m[-1], ROVER)
        assert s.quality[-1] == 1 and np.linalg.norm(enu) < 0.01, enu


def test_glonass_ambiguities_never_fixed(pair):
    """``glonass_ar="off"``: GLONASS stays float (the default, ``"auto"``, fixes it for
    these simulated receivers of one type)."""
    base, rover = pair
    auto = _solve(pair, "GECRJ", "kinematic", ("L1", "L2"))
    assert any("glonass_ar=on" in n and "chosen by glonass_ar=auto" in n for n in auto.notes)
    s = _solve(pair, "GECRJ", "kinematic", ("L1", "L2"), "off")
    assert any(GLONASS_NOTE in n for n in s.notes)
    # every fixed epoch fixes at most the double differences of G, E, C, J, two
    # frequencies, counted from the simulation's truth elevations at both sites
    letters = _letters(base)
    seen = _seen(base, rover)
    integer_dd = sum(np.maximum(seen[:, letters == x].sum(axis=1) - 1, 0) for x in "GECJ") * 2
    fx = s.fixed
    assert (s.n_fixed[fx] <= integer_dd[fx]).all()
    # ... and all of them, QZSS included, at nearly every fixed epoch (no partial fix)
    assert (s.n_fixed[fx] == integer_dd[fx]).mean() >= 0.9
    # GLONASS alone: float throughout, decimetres
    r = _solve(pair, "R", "static", ("L1", "L2"), "off")
    assert any(GLONASS_NOTE in n for n in r.notes)
    assert not r.fixed.any() and (r.quality == 2).all()
    assert np.linalg.norm(ecef_to_enu(r.position_m[-1], ROVER)) < 0.3


def test_qzss_with_gps(pair):
    s = _solve(pair, "GJ", "kinematic", ("L1", "L2"))
    g = _solve(pair, "G", "kinematic", ("L1", "L2"))
    assert s.options["signals"]["J"] == [("L1C", "C1C"), ("L2L", "C2L")]
    assert s.fixed[1:].mean() >= 0.95 and s.errors(ROVER)["max_3d"] < 0.05
    # QZSS double differences are fixed too: (J satellites above the mask - 1) per
    # frequency more than with GPS alone (truth elevations at both sites)
    base, rover = pair
    seen = _seen(base, rover)[:, _letters(base) == "J"].sum(axis=1)
    assert seen.min() >= 3
    both = s.fixed & g.fixed
    assert ((s.n_fixed - g.n_fixed)[both] == 2 * (seen[both] - 1)).mean() >= 0.9


# ------------------------------------------------------------------ 1 s, Doppler slips
@pytest.fixture(scope="module")
def pair_1s():
    times = START + np.arange(0, 40, dtype=np.int64) * NS_PER_S
    cons = [load_constellation(n, epoch_ns=START) for n in ("gps", "galileo", "beidou3", "glonass")]
    return _pair(times, constellations=cons)


def test_doppler_detects_slip_single_frequency_1s(pair_1s):
    # single frequency: only LLI and Doppler can see a slip. 5 cycles on G-rover L1C from
    # epoch 20, no LLI flag: the Doppler/phase test (3 cycles at 1 s) must flag it.
    base, rover = pair_1s
    obs = rover.obs
    sat = int(obs.satellite_indices[obs.satellite_indices // 100 == 0][0])
    rows = (obs.sat == sat) & (obs.code == obs.codes.index("L1C")) & (obs.time >= obs.epochs[20])
    value = obs.value.copy()
    value[rows] += 5.0
    slipped = type(obs)(obs.time, obs.sat, obs.code, value, obs.lli, obs.ssi, obs.codes,
                        obs.epochs)  # fmt: skip
    slipped.header = obs.header
    # min_lock_s=0: single-frequency ambiguities now wait 60 s of lock by default (issue
    # 18, wrong fixes 2 epochs after a slip); this test is about the slip detection
    # (and success_rate_min=0.3, the single-frequency default before issue 18's 0.99)
    flt = RtkFilter(slipped, base.obs, base.nav, base_position=BASE, systems="G",
                    frequencies=("L1",), min_lock_s=0, success_rate_min=0.3)  # fmt: skip
    col = int(np.flatnonzero(flt.sats == sat)[0])
    assert np.flatnonzero(flt.rover.slips[1:, col, 0]).tolist() == [19]
    assert flt.rover.slips[1:].sum() == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s = flt.run()
    assert s.fixed[22:].all() and s.errors(ROVER)["max_3d"] < 0.05


def test_all_systems_dual_frequency_1s_every_epoch_fixed(pair_1s):
    # ~50 dual-frequency multi-GNSS ambiguities: reducing only L[k+1, k] before each LAMBDA
    # permutation let L and Z grow to 1e9-1e11 here and left ~20 % of epochs float (search
    # not converging); lambda_ils now reduces the permuted column and then all of L
    base, rover = pair_1s
    s = solve_rtk(rover.obs, base.obs, base.nav, base_position=BASE, systems="GECR")
    assert s.fixed[1:].all(), np.flatnonzero(~s.fixed)
    assert s.errors(ROVER)["max_3d"] < 0.05  # the right integers (measured: 11.5 mm)


# ------------------------------------------------------------------ wrong-fix safety
def _with_resets(obs, every, stagger=1):
    """Rover phases with the loss-of-lock bit set on each satellite every ``every`` epochs
    (staggered by PRN), so that ambiguities restart all the time."""
    epoch = np.searchsorted(obs.epochs, obs.time)
    phase = np.array([c.startswith("L") for c in obs.codes])[obs.code]
    hit = phase & ((epoch + stagger * (obs.sat % 100)) % every == 0) & (epoch > 0)
    lli = obs.lli.copy()
    lli[hit] |= 1
    out = type(obs)(obs.time, obs.sat, obs.code, obs.value, lli, obs.ssi, obs.codes, obs.epochs)
    out.header = obs.header
    return out


def test_low_success_rate_partial_fix_refused(pair):
    # Galileo alone, single frequency, every ambiguity restarted every 5 epochs: a few
    # epochs after a restart, 4 of the 7 double differences pass the ratio test with wrong
    # integers (decimetres off) at a bootstrapped success rate far below 0.3. The default
    # success-rate requirement refuses them; the filter keeps fixing the good epochs.
    base, rover = pair
    obs = _with_resets(rover.obs, 5)
    runs = {}
    for rate in (0.0, 0.3):
        # min_lock_s=0: the success rate alone is under test here (the single-frequency
        # default lock time, code test and integer-consistency test of issue 18 refuse
        # these fixes by themselves too)
        flt = RtkFilter(obs, base.obs, base.nav, base_position=BASE, systems="E",
                        frequencies=("L1",), min_lock_s=0, code_test_p=1.0,
                        wrong_fix_p=1.0)  # fmt: skip
        flt.success_rate_min = rate
        s = flt.run()
        runs[rate] = s, s.fixed & (np.linalg.norm(s.position_m - ROVER, axis=1) > 0.10)
    s, wrong = runs[0.0]  # ratio test alone
    assert wrong.any()
    assert (s.n_fixed[wrong] < s.n_satellites[wrong] - 1).all()  # partial fixes
    s, wrong = runs[0.3]  # the dual-frequency default (single frequency: 0.99)
    assert min(VALIDATION_DEFAULTS["success_rate_min"]) >= 0.3
    assert not wrong.any() and s.fixed.sum() >= 30  # of 61 (measured: 38)
