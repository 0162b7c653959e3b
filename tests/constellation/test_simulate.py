"""Observation simulation: noise-free and default-error solutions, broadcast files read
back, and pseudoranges checked against an independent light-time computation."""

from __future__ import annotations

import math

import numpy as np
import pytest

from satnav.constants import SPEED_OF_LIGHT
from satnav.constellation.broadcast import write_broadcast
from satnav.constellation.design import builtin_constellation, regional_example
from satnav.constellation.propagate import propagate
from satnav.constellation.simulate import ErrorModel, read_trajectory_csv, simulate, write_truth_csv
from satnav.estimators.spp import solve_spp
from satnav.frames import geodetic_to_ecef
from satnav.gnss_time import NS_PER_S, calendar_to_ns
from satnav.io.rinex_nav import read_rinex_nav
from satnav.io.rinex_obs import read_rinex_obs
from satnav.orbits.ephemeris import broadcast_states

START = int(calendar_to_ns(2020, 6, 25, 2))
TIMES = START + np.arange(0, 20 * 60 + 1, 60, dtype=np.int64) * NS_PER_S
SITE = geodetic_to_ecef(math.radians(25.0), math.radians(100.0), 2000.0)


@pytest.fixture(scope="module")
def constellations():
    return [builtin_constellation(n, epoch_ns=START) for n in ("gps", "glonass")] + [
        regional_example(epoch_ns=START)
    ]


@pytest.fixture(scope="module")
def noise_free(constellations):
    return simulate(constellations, SITE, TIMES, noise_free=True, seed=3)


@pytest.fixture(scope="module")
def default_errors(constellations):
    return simulate(constellations, SITE, TIMES, seed=3)


@pytest.mark.parametrize("systems", ["G", "R", "I", "RI", "GRI"])
def test_noise_free_solution_within_1cm(noise_free, systems):
    # every error is exactly what the broadcast models predict: SPP recovers the truth
    sol = solve_spp(noise_free.obs, noise_free.nav, systems=systems)
    assert sol.valid.all()
    err = np.linalg.norm(sol.position_m - SITE, axis=1)
    assert err.max() < 0.01


def test_noise_free_files_round_trip(noise_free, tmp_path):
    paths = noise_free.write(tmp_path, name="TEST")
    obs = read_rinex_obs(paths["obs"])
    nav = read_rinex_nav(paths["nav"])
    assert obs.header.glonass_slots["R02"] == -4  # fdma_channels of glonass.toml
    assert np.allclose(obs.header.approx_position_m, SITE, atol=1e-3)
    sol = solve_spp(obs, nav, systems="GRI")
    # RINEX keeps 1 mm in the pseudorange, the nav file 12 significant digits
    assert np.linalg.norm(sol.position_m - SITE, axis=1).max() < 0.01
    t, xyz = read_trajectory_csv(paths["truth"])
    assert np.array_equal(t, TIMES) and np.allclose(xyz, SITE, atol=1e-4)


def test_default_errors_metre_level(default_errors):
    # Error budget (module docstring): zenith code noise 0.3-0.5 m growing to ~2x at 10 deg,
    # multipath 0.5 m at 10 deg, satellite clocks 0.5 m, 20 % of the Klobuchar delay
    # (1-3 m zenith at 25 N mid-morning) and 5 % of the tropospheric delay left after the
    # broadcast corrections -> horizontal RMS of decimetres to ~1.5 m, vertical up to ~3 m
    # (measured with seed 3: GPS H 0.4 / V 1.3 m, GLONASS + regional H 0.6 / V 1.4 m).
    for systems, h_max, v_max in (("G", 2.0, 4.0), ("RI", 2.0, 4.0), ("GRI", 1.5, 3.0)):
        sol = solve_spp(default_errors.obs, default_errors.nav, systems=systems)
        e = sol.errors(SITE)
        assert e["n"] == len(TIMES)
        assert 0.05 < e["h_rms"] < h_max
        assert 0.05 < e["v_rms"] < v_max


def test_default_errors_are_seeded(constellations, default_errors):
    fit, clock = default_errors.broadcast, default_errors.clock
    again = simulate(constellations, SITE, TIMES, seed=3, broadcast=fit, clock=clock)
    other = simulate(constellations, SITE, TIMES, seed=4, broadcast=fit, clock=clock)
    c1 = default_errors.obs.dense("C1C")
    assert np.array_equal(c1, again.obs.dense("C1C"), equal_nan=True)
    assert not np.allclose(c1, other.obs.dense("C1C"), equal_nan=True)


def test_broadcast_file_reproduces_propagated_orbits(noise_free, constellations, tmp_path):
    fit = noise_free.broadcast
    path = tmp_path / "nav.rnx"
    write_broadcast(fit.nav, path)
    nav = read_rinex_nav(path)
    sats = np.concatenate([c.sat for c in constellations])
    t = START + np.arange(0, 20 * 60 + 1, 30, dtype=np.int64) * NS_PER_S
    st = broadcast_states(nav, sats[None, :], t[:, None])
    assert st.valid.all()
    truth = np.concatenate([propagate(c, t).position_m for c in constellations], axis=1)
    diff = np.linalg.norm(st.position_m - truth, axis=-1)
    # within the fit residual (largest residual of any message, < 0.05 m RMS by design)
    assert diff.max() <= fit.max_m.max() + 1e-3
    assert fit.rms_m.max() < 0.05


def test_pseudorange_against_independent_light_time(constellations):
    # only geometry and clocks: truth orbits propagated, no atmosphere, noise, multipath
    errors = ErrorModel(satellite_clock=False, receiver_clock=False, ionosphere=False,
                        troposphere=False, noise=False, multipath=False)  # fmt: skip
    gps = constellations[0]
    clock = np.zeros((len(gps), 3))
    clock[:, 0] = 1e-4
    clock[:, 1] = 2e-12
    sim = simulate([gps], SITE, TIMES, errors=errors, clock=clock, seed=1)
    k = 7  # epoch 7 min after start
    col = int(np.flatnonzero(sim.visible[k])[0])
    sat = int(gps.sat[col])
    p_sim = sim.obs.dense("C1C", [sat])[k, 0]

    # plain computation: receiver clock bias b + drift d t, so the true reception time is
    # t_tag - (b + d t); iterate the flight time with the satellite propagated to the
    # emission instant and rotated by the Earth's rotation during the flight.
    c = SPEED_OF_LIGHT
    omega = 7.2921151467e-5
    t_tag = int(TIMES[k])
    rx_clock = 1.0e-4 + 5.0e-9 * (t_tag - START) / 1e9
    tau = 0.07
    for _ in range(6):
        t_emit = t_tag - rx_clock * 1e9 - tau * 1e9
        t_ns = int(math.floor(t_emit))
        tr = propagate(gps.select([col]), np.array([t_ns]))
        r = tr.position_m[0, 0] + tr.velocity_m_s[0, 0] * (t_emit - t_ns) / 1e9
        a = omega * tau
        x = math.cos(a) * r[0] + math.sin(a) * r[1]
        y = -math.sin(a) * r[0] + math.cos(a) * r[1]
        tau = math.dist((x, y, r[2]), tuple(SITE)) / c
    v = tr.velocity_m_s[0, 0]
    relativity = -2.0 * float(np.dot(r, v)) / c**2
    dt = (t_emit - gps.epoch_ns) / 1e9
    sat_clock = 1e-4 + 2e-12 * dt + relativity
    expected = c * tau + c * (rx_clock - sat_clock)
    assert p_sim == pytest.approx(expected, abs=2e-3)


def test_doppler_matches_phase_rate(noise_free):
    # noise-free: Doppler (Hz) = minus the rate of the carrier phase (cycles/s)
    obs = noise_free.obs
    sats = obs.satellite_indices
    phase = obs.dense("L1C", sats)
    dop = obs.dense("D1C", sats)
    dt = np.diff(TIMES) / 1e9
    rate = -np.diff(phase, axis=0) / dt[:, None]
    mid = 0.5 * (dop[1:] + dop[:-1])
    ok = np.isfinite(rate) & np.isfinite(mid)
    assert ok.sum() > 100
    # trapezoid rule over 60 s: error dt^2/12 * dD/dt^2 ~ 0.05 Hz for MEO satellites
    assert np.max(np.abs(rate[ok] - mid[ok])) < 0.1
    assert np.median(np.abs(rate[ok] - mid[ok])) < 0.02


def test_iono_code_delay_phase_advance(default_errors):
    # code minus phase (m) = 2 I + ambiguity + multipath/noise: the dual-frequency
    # geometry-free change follows the 1/f^2 law of the simulated ionosphere
    obs = default_errors.obs
    g = [s for s in obs.satellite_indices if s < 100]
    iono = default_errors.components["iono"]
    assert np.nanmax(iono) > 0.5  # metres on L1 at 25 N mid-morning
    c1, c2 = obs.dense("C1C", g), obs.dense("C2W", g)
    gf = c2 - c1  # = I1 ((f1/f2)^2 - 1) + noise
    col = np.isin(default_errors.constellation.sat, g)
    expected = iono[:, col] * ((1575.42 / 1227.60) ** 2 - 1)
    ok = np.isfinite(gf) & np.isfinite(expected)
    assert np.median(np.abs(gf[ok] - expected[ok])) < 1.5  # code noise + multipath of two signals


def test_trajectory_and_errors(tmp_path, constellations):
    path = tmp_path / "traj.csv"
    # a receiver moving 20 m/s north
    lat = 25.0 + np.arange(len(TIMES)) * 60 * 20 / 111_000
    ecef = geodetic_to_ecef(np.radians(lat), np.radians(np.full(len(TIMES), 100.0)), np.full(len(TIMES), 50.0))
    write_truth_csv(path, TIMES, ecef)
    t, xyz = read_trajectory_csv(path)
    assert np.allclose(xyz, ecef, atol=1e-3)
    sim = simulate(constellations[:1], xyz, t, noise_free=True)
    sol = solve_spp(sim.obs, sim.nav, systems="G")
    assert np.linalg.norm(sol.position_m - xyz, axis=1).max() < 0.01
    bad = tmp_path / "bad.csv"
    bad.write_text("time,lat,lon,height\n2020-06-25T02:00:00,abc,1,2\n")
    from satnav.errors import FormatError

    with pytest.raises(FormatError, match="bad.csv:2"):
        read_trajectory_csv(bad)
