"""solve_spp on simulated pseudoranges (tests/estimators/simulate.py: light time solved in
the inertial frame, independent of the solver's Sagnac formula): exact recovery, clocks
per system, Doppler velocity, DOP, fault exclusion and unsolvable epochs."""

from __future__ import annotations

import numpy as np
import pytest

from satnav.estimators.dop import dilution_of_precision
from satnav.estimators.spp import solve_spp
from satnav.frames import ecef_to_enu
from satnav.satellites import satellite_index

from .simulate import C, FakeNav, make_constellation, simulate

CON = make_constellation()


@pytest.fixture(scope="module")
def clean():
    obs, truth = simulate(CON, n_epochs=8)
    return obs, truth


def _solve(obs, **kw):
    kw.setdefault("systems", "GRE")
    return solve_spp(obs, FakeNav(), states=CON.states, **kw)


def test_recovers_position_and_clocks(clean):
    obs, truth = clean
    sol = _solve(obs)
    assert len(sol) == len(obs.epochs)
    assert np.all(sol.status == 0)
    err = np.linalg.norm(sol.position_m - truth["position"], axis=1)
    assert err.max() < 1e-3
    t = (obs.epochs - obs.epochs[0]) / 1e9
    dtr = truth["receiver_clock_s"](t)
    g, r, e = (sol.clock_systems.index(s) for s in "GRE")
    assert np.allclose(sol.clock_bias_s[:, g], dtr, atol=1e-12)
    # inter-system biases: GLONASS +35 m, Galileo -12 m (simulate defaults)
    assert np.allclose((sol.clock_bias_s[:, r] - sol.clock_bias_s[:, g]) * C, 35.0, atol=1e-3)
    assert np.allclose((sol.clock_bias_s[:, e] - sol.clock_bias_s[:, g]) * C, -12.0, atol=1e-3)
    assert sol.n_used_by_system["G"].min() >= 4
    assert np.all(sol.n_used == sum(sol.n_used_by_system.values()))
    # residuals of a noise-free simulation vanish
    assert np.nanmax(np.abs(sol.residuals_m[sol.used])) < 1e-3


def test_velocity_and_clock_drift_from_doppler(clean):
    obs, _ = clean
    sol = _solve(obs)
    assert np.all(np.isfinite(sol.velocity_m_s))
    # static receiver; the simulated clock drifts by 1e-8 s/s. The SPP Doppler model (as
    # RTKLIB's) neglects the light-time rate terms (~ v^2 / c, a few mm/s).
    assert np.abs(sol.velocity_m_s).max() < 0.01
    assert np.allclose(sol.clock_drift_s_s, 1e-8, atol=2e-11)  # 2e-11 s/s = 6 mm/s


def test_moving_receiver_velocity():
    v = np.array([12.0, -7.0, 3.0])
    obs, _ = simulate(CON, n_epochs=3, velocity=v)
    sol = _solve(obs)
    # position at each epoch's true time, velocity from Doppler
    assert np.abs(sol.velocity_m_s - v).max() < 0.02


def test_dop_against_explicit_inverse(clean):
    obs, _ = clean
    sol = _solve(obs)
    groups = {"G": 0, "R": 1, "E": 2}
    for i in range(len(sol)):
        used = sol.used[i]
        az, el = sol.azimuth_rad[i, used], sol.elevation_rad[i, used]
        letters = [str(s) for s in np.array(list("GRECJIS"))[sol.satellites[used] // 100]]
        rows = []
        for a, e, s in zip(az, el, letters):
            row = [-np.cos(e) * np.sin(a), -np.cos(e) * np.cos(a), -np.sin(e), 0.0, 0.0, 0.0]
            row[3 + groups[s]] = 1.0
            rows.append(row)
        q = np.linalg.inv(np.array(rows).T @ np.array(rows))
        assert sol.gdop[i] == pytest.approx(np.sqrt(np.trace(q)), rel=1e-9)
        assert sol.pdop[i] == pytest.approx(np.sqrt(q[0, 0] + q[1, 1] + q[2, 2]), rel=1e-9)
        assert sol.hdop[i] == pytest.approx(np.sqrt(q[0, 0] + q[1, 1]), rel=1e-9)
        assert sol.vdop[i] == pytest.approx(np.sqrt(q[2, 2]), rel=1e-9)
        assert sol.tdop[i] == pytest.approx(np.sqrt(q[3, 3]), rel=1e-9)


def test_dop_single_clock_textbook_case():
    # four satellites: zenith and three at 0 deg elevation 120 deg apart (GDOP known in
    # closed form): H = [[0,0,-1,1],[-sin a,-cos a,0,1] x3] gives HDOP = sqrt(4/3), VDOP and
    # TDOP from the 2x2 block [[1,-1],[-1,4]]^-1 = [[4,1],[1,1]]/3.
    az = np.radians([[0.0, 0.0, 120.0, 240.0]])
    el = np.radians([[90.0, 0.0, 0.0, 0.0]])
    g, p, h, v, t = dilution_of_precision(az, el)
    assert h[0] == pytest.approx(np.sqrt(4 / 3))
    assert v[0] == pytest.approx(np.sqrt(4 / 3))
    assert t[0] == pytest.approx(np.sqrt(1 / 3))
    assert g[0] == pytest.approx(np.sqrt(4 / 3 + 4 / 3 + 1 / 3))


def _corrupt(obs, pick, offset):
    """Add ``offset`` (m) to the C1C rows selected by ``pick(row_mask)``."""
    value = obs.value.copy()
    rows = pick(obs)
    value[rows] += offset
    return type(obs)(obs.time, obs.sat, obs.code, value, obs.lli, obs.ssi, obs.codes, obs.epochs, header=obs.header)


def test_raim_excludes_one_corrupted_pseudorange_per_epoch(clean):
    obs, truth = clean
    code = obs.code_index("C1C")
    bad_sats = []
    ref = _solve(obs)
    used_gps = [set(ref.satellites[ref.used[k] & (ref.satellites < 100)].tolist()) for k in range(len(ref))]

    def pick(o):
        rows = np.zeros(len(o), bool)
        for k, t in enumerate(o.epochs):
            cand = np.flatnonzero((o.time == t) & (o.code == code) & np.isin(o.sat, list(used_gps[k])))
            j = cand[k % len(cand)]
            rows[j] = True
            bad_sats.append(int(o.sat[j]))
        return rows

    bad = _corrupt(obs, pick, 300.0)
    sol = _solve(bad)
    assert np.all(sol.status == 1)
    for k, s in enumerate(bad_sats):
        assert sol.excluded_satellites(k) == [f"G{s:02d}"]
    assert np.linalg.norm(sol.position_m - truth["position"], axis=1).max() < 1e-3
    # without RAIM the error stays and the epochs are flagged as failing the test
    off = _solve(bad, raim=False)
    assert np.all(off.status == 3)
    assert np.linalg.norm(off.position_m - truth["position"], axis=1).max() > 5.0


def test_whole_constellation_exclusion(clean):
    obs, truth = clean
    code = obs.code_index("C1C")
    rng = np.random.default_rng(7)
    offsets = {int(s): rng.uniform(200.0, 600.0) for s in np.unique(obs.sat) if 200 < s < 300}

    def add(o):
        value = o.value.copy()
        for s, off in offsets.items():
            value[(o.sat == s) & (o.code == code)] += off
        return value

    value = add(obs)
    bad = type(obs)(obs.time, obs.sat, obs.code, value, obs.lli, obs.ssi, obs.codes, obs.epochs, header=obs.header)
    sol = _solve(bad)
    assert np.all(sol.status == 1)
    assert np.all(sol.n_used_by_system["E"] == 0)
    assert np.all(sol.n_used_by_system["G"] >= 4) and np.all(sol.n_used_by_system["R"] >= 1)
    assert np.linalg.norm(sol.position_m - truth["position"], axis=1).max() < 1e-3


def test_common_constellation_offset_is_absorbed_by_its_clock(clean):
    obs, truth = clean
    code = obs.code_index("C1C")
    bad = _corrupt(obs, lambda o: (o.sat > 200) & (o.sat < 300) & (o.code == code), 500.0)
    sol = _solve(bad)
    assert np.all(sol.status == 0)
    g, e = sol.clock_systems.index("G"), sol.clock_systems.index("E")
    assert np.allclose((sol.clock_bias_s[:, e] - sol.clock_bias_s[:, g]) * C, 488.0, atol=1e-3)
    assert np.linalg.norm(sol.position_m - truth["position"], axis=1).max() < 1e-3


def test_unsolvable_epochs_are_reported_not_dropped(clean):
    obs, truth = clean
    t = obs.epochs
    g_rows = obs.sat < 100
    keep = np.ones(len(obs), bool)
    keep[obs.time == t[1]] = False  # epoch 1: no observations at all
    e2 = np.flatnonzero((obs.time == t[2]) & g_rows)
    sats2 = np.unique(obs.sat[e2])[:3]
    keep[(obs.time == t[2]) & ~np.isin(obs.sat, sats2)] = False  # epoch 2: three satellites
    e3 = (obs.time == t[3])
    sats3 = np.unique(obs.sat[e3 & g_rows])[:4]
    keep[e3 & ~np.isin(obs.sat, sats3)] = False  # epoch 3: four GPS: no redundancy
    sol = _solve(obs.select(keep))
    assert len(sol) == len(t)
    assert sol.status[1] == 10 and "no observations" in sol.reason(1)
    assert sol.status[2] == 11 and "too few" in sol.reason(2)
    assert np.all(np.isnan(sol.position_m[[1, 2]]))
    assert sol.status[3] == 2 and "unverified" in sol.reason(3)
    assert np.linalg.norm(sol.position_m[3] - truth["position"]) < 1e-3
    assert np.all(sol.status[[0, 4, 5, 6, 7]] == 0)
    counts = sol.status_counts()
    assert counts["ok"] == 5


def test_options_exclude_systems_and_start_from_earth_centre(clean):
    obs, truth = clean
    sol = _solve(obs, exclude=("E", "G05"), initial_position_m=(0.0, 0.0, 0.0))
    assert "E" not in sol.n_used_by_system
    assert satellite_index("G05") not in sol.satellites
    assert np.linalg.norm(sol.position_m - truth["position"], axis=1).max() < 1e-3
    gps_only = _solve(obs, systems="G")
    assert gps_only.clock_systems == ("G",)
    enu = ecef_to_enu(gps_only.position_m, truth["position"])
    assert np.abs(enu).max() < 1e-3


def test_bad_options_raise_satnav_errors(clean):
    from satnav.errors import SatnavError

    obs, _ = clean
    with pytest.raises(SatnavError, match="ionosphere"):
        _solve(obs, iono="nequick")
    with pytest.raises(SatnavError, match="system"):
        _solve(obs, systems="GX")
    with pytest.raises(SatnavError, match="exclude"):
        _solve(obs, exclude=("G5x",))
    with pytest.raises(SatnavError, match="no usable pseudoranges"):
        _solve(obs, systems="C")
