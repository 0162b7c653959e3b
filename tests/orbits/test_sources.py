"""Satellite-state sources: each equals the function it wraps, bit for bit, on real data;
every source fits the protocol and drives the SPP and RTK solvers."""

from __future__ import annotations

import csv
import dataclasses
import warnings

import numpy as np
import pytest

import satnav
from satnav.constellation.designed_source import DesignedSource
from satnav.errors import SatnavError
from satnav.orbits.ephemeris import broadcast_states
from satnav.orbits.precise import precise_states
from satnav.orbits.sources import (
    BroadcastSource,
    CombinedSource,
    IonosphereSource,
    PreciseSource,
    SatelliteStateSource,
    TabulatedSource,
    state_source,
)
from satnav.orbits.states import SatelliteStates
from satnav.satellites import satellite_indices
from tests.conftest import DATA, data_path

D = "esbc-2020-177"
FIELDS = [f.name for f in dataclasses.fields(SatelliteStates)]


def assert_same_states(a: SatelliteStates, b: SatelliteStates):
    for name in FIELDS:
        x, y = getattr(a, name), getattr(b, name)
        assert x.shape == y.shape and x.dtype == y.dtype, name
        np.testing.assert_array_equal(x, y, err_msg=name)  # NaN == NaN, bit for bit otherwise


@pytest.fixture(scope="module")
def nav():
    return satnav.read_nav(data_path(D, "ESBC00DNK_R_20201770000_01D_MN.rnx.gz"))


@pytest.fixture(scope="module")
def precise():
    from satnav.io.clk import read_clk
    from satnav.io.sp3 import read_sp3

    sp3 = read_sp3(data_path(D, "GRG0MGXFIN_20201760000_01D_15M_ORB.SP3.gz"),
                   data_path(D, "GRG0MGXFIN_20201770000_01D_15M_ORB.SP3.gz"))  # fmt: skip
    clk = read_clk(data_path(D, "GRG0MGXFIN_20201770000_01D_30S_CLK.CLK.gz"))
    return sp3, clk


@pytest.fixture(scope="module")
def grid(nav):
    """Every satellite of the navigation file (all systems) x 97 times over the day, with
    odd nanoseconds (no sample hit exactly)."""
    sats = satellite_indices(nav.satellites())
    t0 = nav.time_span()[0]
    times = t0 + np.arange(0, 86400, 900, dtype=np.int64) * 10**9 + 123_456_789
    return sats[None, :], times[:, None]


@pytest.mark.parametrize("signal", [None, "C1C", "C5Q", "C7Q", "C2I", "C1I"])
def test_broadcast_source_equals_broadcast_states(nav, grid, signal):
    src = BroadcastSource(nav)
    expected_signal = "C2I" if signal == "C1I" else signal
    assert_same_states(src(*grid, signal), broadcast_states(nav, *grid, signal=expected_signal))
    assert_same_states(src.clocks(*grid, signal),
                       broadcast_states(nav, *grid, signal=expected_signal, velocity=False, positions=False))
    fast = BroadcastSource(nav, velocity=False)(*grid, signal)
    assert_same_states(fast, broadcast_states(nav, *grid, signal=expected_signal, velocity=False))
    assert src.systems == "GRECJ" or set(src.systems) <= set("GRECJIS")
    assert src.span == nav.time_span()
    np.testing.assert_array_equal(src.satellites, grid[0][0])


def test_precise_source_equals_precise_states(precise, grid):
    sp3, clk = precise
    sats = grid[0][:, np.isin(grid[0][0], sp3.satellites)]
    for kw in ({}, {"clk": clk}, {"clk": clk, "order": 8, "require_clock": False}):
        src = PreciseSource(sp3, **kw)
        expected = precise_states(sp3, sats, grid[1], **kw)
        assert_same_states(src(sats, grid[1], "C1C"), expected)
        assert_same_states(src.clocks(sats, grid[1]), expected)
        assert expected.valid.sum() > 0.7 * expected.valid.size
    src = PreciseSource(sp3, clk)
    assert src.span == (int(sp3.time[0]), int(sp3.time[-1]))
    assert set(src.satellites.tolist()) <= set(clk.satellites.tolist())
    assert "G" in src.systems and "E" in src.systems


def test_tabulated_source_equals_gsdc_states():
    from satnav.io.android import gsdc_states

    path = data_path("android-gsdc2023-pixel7pro", "device_gnss.csv")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table = gsdc_states(path)
        src = TabulatedSource.from_gsdc(path)
    sats = src.satellites
    lo, hi = src.span
    t = np.linspace(lo - 2 * 10**9, hi + 2 * 10**9, 23).astype(np.int64)
    for signal in (None, "C1C", "C5Q"):
        expected = table(sats[None, :], t[:, None], signal)
        assert expected.valid.any()
        assert_same_states(src(sats[None, :], t[:, None], signal), expected)
        assert_same_states(src.clocks(sats[None, :], t[:, None], signal), expected)
        np.testing.assert_array_equal(src.ionosphere_m(sats, t[5], signal), table.ionosphere_m(sats, t[5], signal))
    assert isinstance(state_source(table), TabulatedSource)
    assert isinstance(src, IonosphereSource) and isinstance(src, SatelliteStateSource)


def _designed(epoch_ns):
    from satnav.constellation.design import builtin_constellation, combine

    return combine(builtin_constellation("gps", epoch_ns=epoch_ns),
                   builtin_constellation("glonass", epoch_ns=epoch_ns))  # fmt: skip


def test_designed_source_equals_propagate(nav):
    from satnav.constellation.propagate import propagate
    from satnav.constellation.simulate import satellite_clock_polynomials
    from satnav.models.corrections import relativistic_clock_correction

    t0 = nav.time_span()[0]
    con = _designed(t0)
    times = t0 + np.arange(-3600, 86400, 2345, dtype=np.int64) * 10**9 + 17
    track = propagate(con, times)
    src = DesignedSource(con)
    st = src(con.sat[None, :], times[:, None])
    np.testing.assert_array_equal(st.position_m, track.position_m)
    np.testing.assert_array_equal(st.velocity_m_s, track.velocity_m_s)
    assert st.valid.all()
    # scattered pairs (a subset of satellites, each at its own time) give the same values
    rng = np.random.default_rng(1)
    ti, si = rng.integers(0, len(times), 50), rng.integers(0, len(con), 50)
    pairs = src(con.sat[si], times[ti])
    np.testing.assert_array_equal(pairs.position_m, track.position_m[ti, si])
    # clocks: polynomial + relativity (not for GLONASS), as the simulator has them
    clock = satellite_clock_polynomials(con, seed=3)
    st = DesignedSource(con, clock)(con.sat[None, :], times[:, None])
    dt = (times[:, None] - con.epoch_ns) / 1e9
    rel = relativistic_clock_correction(track.position_m, track.velocity_m_s)
    glo = (con.sat // 100 == 1)[None, :]
    np.testing.assert_allclose(st.clock_s, clock[:, 0] + clock[:, 1] * dt + np.where(glo, 0.0, rel),
                               rtol=0, atol=1e-18)  # fmt: skip
    # satellites not in the constellation are invalid
    out = src(np.array([satellite_indices(["E01"])[0], con.sat[0]]), times[0])
    assert out.valid.tolist() == [False, True] and out.reason[0] == 1
    assert src.span is None and src.systems == "GR"


def test_protocol_conformance_and_state_source(nav, precise):
    sp3, clk = precise
    con = _designed(nav.time_span()[0])
    sources = [BroadcastSource(nav), PreciseSource(sp3, clk), DesignedSource(con),
               CombinedSource([PreciseSource(sp3, clk), nav])]  # fmt: skip
    for src in sources:
        assert isinstance(src, SatelliteStateSource)
        assert not isinstance(src, IonosphereSource)  # solve_spp's iono="states" needs it
        assert state_source(src) is src
    assert not isinstance(nav, SatelliteStateSource)
    assert isinstance(state_source(nav), BroadcastSource)
    assert isinstance(state_source(sp3), PreciseSource)
    p = state_source((sp3, clk))
    assert isinstance(p, PreciseSource) and p.clk is clk
    assert isinstance(state_source(con), DesignedSource)
    assert isinstance(state_source([nav, con]), CombinedSource)
    for bad in (42, "nav.rnx", clk, None):
        with pytest.raises(SatnavError, match="no satellite states"):
            state_source(bad)


def test_combined_source_takes_each_satellite_from_the_first(nav, precise, grid):
    sp3, clk = precise
    comb = CombinedSource([PreciseSource(sp3, clk), BroadcastSource(nav)])
    st = comb(*grid, "C1C")
    in_sp3 = np.isin(grid[0][0], PreciseSource(sp3, clk).satellites)
    sats = grid[0][0]
    assert_same_states(st[:, in_sp3], precise_states(sp3, sats[in_sp3][None, :], grid[1], clk=clk))
    assert_same_states(st[:, ~in_sp3], broadcast_states(nav, sats[~in_sp3][None, :], grid[1], signal="C1C"))
    assert comb.span == (min(nav.time_span()[0], int(sp3.time[0])), max(nav.time_span()[1], int(sp3.time[-1])))


def _reference(dataset):
    with open(DATA / "stations.csv", newline="") as fh:
        for row in csv.DictReader(fh):
            if row["dataset"] == dataset:
                return np.array([float(row["x_m"]), float(row["y_m"]), float(row["z_m"])])
    pytest.skip(f"no reference coordinate for {dataset}")


@pytest.fixture(scope="module")
def esbc_obs():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return satnav.read_obs(data_path(D, "ESBC00DNK_R_20201770000_01D_30S_MO.crx.gz"))


def test_spp_with_precise_source_near_station(esbc_obs, precise):
    sp3, clk = precise
    ref = _reference(D)
    sol = satnav.solve_spp(esbc_obs, None, states=PreciseSource(sp3, clk), iono="iono-free", systems="GE")
    ok = np.all(np.isfinite(sol.position_m), axis=1)
    assert ok.mean() > 0.95
    err = np.linalg.norm(sol.position_m[ok] - ref, axis=1)
    assert np.median(err) < 3.0, np.median(err)


def test_spp_with_broadcast_source_is_the_default(esbc_obs, nav):
    obs = esbc_obs.epoch_slice(0, 240)  # two hours
    a = satnav.solve_spp(obs, nav)
    b = satnav.solve_spp(obs, nav, states=BroadcastSource(nav))
    np.testing.assert_array_equal(a.position_m, b.position_m)
    np.testing.assert_array_equal(a.clock_bias_s, b.clock_bias_s)
    np.testing.assert_array_equal(a.residuals_m, b.residuals_m)


def test_rtk_with_broadcast_source_is_the_default():
    from satnav.estimators.rtk import solve_rtk

    rover = satnav.read_obs(data_path("gsi-2005-092", "07590920.05o"))
    base = satnav.read_obs(data_path("gsi-2005-092", "30400920.05o"))
    nav = satnav.read_nav(data_path("gsi-2005-092", "07590920.05n"), data_path("gsi-2005-092", "30400920.05n"))
    rover = rover.epoch_slice(0, 120)
    a = solve_rtk(rover, base, nav, mode="kinematic", elevation_mask_deg=10)
    for src in (BroadcastSource(nav), BroadcastSource(nav, velocity=False)):
        b = solve_rtk(rover, base, nav, mode="kinematic", elevation_mask_deg=10, states=src)
        np.testing.assert_array_equal(a.position_m, b.position_m)
        np.testing.assert_array_equal(a.status, b.status)


def test_spp_with_designed_source_recovers_the_simulated_receiver():
    """Simulated ranges of a designed constellation (perfect-clock model off, no atmosphere,
    no noise) solved with the same constellation's DesignedSource: the orbit and clock
    conventions agree with the simulator's to micrometres."""
    from satnav.constellation.design import builtin_constellation
    from satnav.constellation.simulate import ErrorModel, satellite_clock_polynomials, simulate
    from satnav.gnss_time import calendar_to_ns

    t0 = int(calendar_to_ns(2024, 3, 1))
    con = builtin_constellation("gps", epoch_ns=t0)
    clock = satellite_clock_polynomials(con, seed=0)
    times = t0 + np.arange(0, 1800, 30, dtype=np.int64) * 10**9
    rx = np.array([3582104.8, 532590.2, 5232755.2])
    errors = ErrorModel(satellite_clock=False, ionosphere=False, troposphere=False, noise=False, multipath=False)
    sim = simulate(con, rx, times, clock=clock, errors=errors)
    sol = satnav.solve_spp(sim.obs, None, states=DesignedSource(con, clock), iono="none", troposphere=False)
    assert np.all(np.isfinite(sol.position_m))
    assert np.abs(sol.position_m - rx).max() < 1e-3
