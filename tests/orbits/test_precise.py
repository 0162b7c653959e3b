"""Precise-product interpolation (satnav.orbits.precise) and the ANTEX satellite PCO reader.

Truth: an analytic Keplerian orbit for the synthetic tests (closed form, independent of the
interpolator); for the real GRG products, the SP3 epochs themselves (leave-one-out) and the
clock values read by hand from the CLK file text.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from satnav.constants import SPEED_OF_LIGHT
from satnav.gnss_time import calendar_to_ns
from satnav.orbits.precise import (
    interpolate_clock,
    interpolate_positions,
    lagrange_weights,
    precise_states,
)
from satnav.satellites import satellite_index, satellite_indices
from tests.conftest import data_path

NS = 1_000_000_000
GM = 3.986004418e14
OMEGA = 7.2921151467e-5


def circular_orbit(t_s, a=26_560e3, inc=0.96, raan=0.3, u0=0.1):
    """ECEF position of a circular orbit (closed form), m."""
    n = np.sqrt(GM / a**3)
    u = u0 + n * t_s
    xp, yp = a * np.cos(u), a * np.sin(u)
    xi = np.stack([xp, yp * np.cos(inc), yp * np.sin(inc)], -1)
    c0, s0 = np.cos(raan), np.sin(raan)
    xi = np.stack([c0 * xi[..., 0] - s0 * xi[..., 1], s0 * xi[..., 0] + c0 * xi[..., 1],
                   xi[..., 2]], -1)
    th = OMEGA * t_s
    c, s = np.cos(th), np.sin(th)
    return np.stack([c * xi[..., 0] + s * xi[..., 1], -s * xi[..., 0] + c * xi[..., 1],
                     xi[..., 2]], -1)


def synthetic_sp3(days=2, step_s=900, clock_step_s=900):
    t = np.arange(0, days * 86_400 + 1, step_s) * NS
    sats = satellite_indices(["G01", "E11"])
    pos = np.stack([circular_orbit(t / NS), circular_orbit(t / NS, a=29_600e3, raan=1.2)], 1)
    clk = np.stack([1e-4 + 1e-11 * t / NS, -2e-4 + 3e-12 * t / NS], 1)
    return SimpleNamespace(time=t, satellites=sats, position_m=pos, clock_s=clk,
                           velocity_m_s=None)


def test_lagrange_weights_reproduce_polynomials_and_derivatives():
    nodes = np.array([[0.0, 1, 2, 3, 4.5, 5, 6, 7, 8, 9.2]])
    x = np.array([3.7])
    w, dw = lagrange_weights(x, nodes, derivative=True)
    for p in range(10):  # exact for degree <= 9
        assert np.isclose(w @ nodes[0] ** p, x[0] ** p, rtol=1e-12)
        expected = p * x[0] ** (p - 1) if p else 0.0
        assert np.isclose(dw @ nodes[0] ** p, expected, rtol=1e-10, atol=1e-12)
    # derivative exact also on a node
    w, dw = lagrange_weights(np.array([4.5]), nodes, derivative=True)
    assert np.isclose(dw @ nodes[0] ** 3, 3 * 4.5**2, rtol=1e-11)


def test_synthetic_orbit_sub_millimetre_and_velocity():
    sp3 = synthetic_sp3()
    t = (3 * 3600 + np.arange(0, 40 * 3600, 37)) * NS + 123
    st = precise_states(sp3, satellite_index("G01"), t)
    truth = circular_orbit(t / NS)
    assert st.valid.all()
    assert np.abs(st.position_m - truth).max() < 1e-3  # m
    v_truth = circular_orbit(t / NS + 0.5) - circular_orbit(t / NS - 0.5)
    assert np.abs(st.velocity_m_s - v_truth).max() < 1e-4  # m/s
    # relativistic term -2 r.v/c^2 is included in the clock
    rel = -2 * np.einsum("ij,ij->i", truth, v_truth) / SPEED_OF_LIGHT**2
    assert np.allclose(st.relativity_s, rel, atol=1e-12)
    lin = 1e-4 + 1e-11 * t / NS
    assert np.allclose(st.clock_s - st.relativity_s, lin, atol=1e-15)
    assert np.allclose(st.clock_drift_s_s, 1e-11)


def test_grid_broadcasting_and_reasons():
    sp3 = synthetic_sp3(days=1)
    sats = satellite_indices(["G01", "E11", "G02"])  # G02 absent from the product
    t = np.array([-NS, 0, 12 * 3600 * NS, 86_400 * NS, 86_400 * NS + 1])
    st = precise_states(sp3, sats[None, :], t[:, None])
    assert st.shape == (5, 3)
    expected_valid = np.array([[0, 0, 0], [1, 1, 0], [1, 1, 0], [1, 1, 0], [0, 0, 0]], bool)
    assert (st.valid == expected_valid).all()
    assert (st.reason[~expected_valid] == 5).all() and (st.reason[expected_valid] == 0).all()
    assert np.isnan(st.position_m[~expected_valid]).all()
    # on a node: the node itself
    assert np.allclose(st.position_m[1, 0], sp3.position_m[0, 0], atol=1e-6)
    assert np.allclose(st.position_m[3, 1], sp3.position_m[-1, 1], atol=1e-6)


def test_missing_nodes_and_clock_gaps():
    sp3 = synthetic_sp3(days=1)
    sp3.position_m[40, 0] = np.nan  # a missing epoch of G01
    sp3.clock_s[60:63, 1] = np.nan  # a 45-min clock gap of E11
    g01 = satellite_index("G01")
    e11 = satellite_index("E11")
    near = sp3.time[40] + 300 * NS
    far = sp3.time[10] + 300 * NS
    st = precise_states(sp3, g01, np.array([near, far]))
    assert list(st.reason) == [5, 0]
    # clocks: NaN inside the gap, valid next to it; require_clock=False keeps the orbit
    t = np.array([sp3.time[61], sp3.time[59] + 100 * NS, sp3.time[58] + 100 * NS])
    st = precise_states(sp3, e11, t)
    assert list(st.valid) == [False, False, True]
    st = precise_states(sp3, e11, t, require_clock=False)
    assert st.valid.all() and np.isnan(st.clock_s[:2]).all() and np.isfinite(st.clock_s[2])


def test_interpolate_clock_rejects_wide_gaps():
    t = np.array([0, 30, 60, 150, 180]) * NS  # 90 s gap = 3 intervals
    b = np.arange(5.0)[:, None] * 1e-9
    c, d, ok = interpolate_clock(t, b, np.zeros(5, int), np.array([15, 60, 100, 150, 181]) * NS)
    assert ok.tolist() == [True, True, False, True, False]
    assert np.isclose(c[0], 0.5e-9) and np.isclose(d[0], 1e-9 / 30)


def test_interpolate_clock_edge_extension():
    """With ``edge_s`` a request just before the first (after the last) sample takes the edge
    interval's line (a day's first epoch: the signal left ~0.08 s before the file starts);
    one further out stays invalid."""
    t = np.array([0, 30, 60]) * NS
    b = np.array([[0.0], [3e-9], [9e-9]])
    q = np.array([-80_000_000, 60 * NS + 300_000_000, -2 * NS])
    c, d, ok = interpolate_clock(t, b, np.zeros(3, int), q, edge_s=0.5)
    assert ok.tolist() == [True, True, False]
    assert np.isclose(c[0], -0.08 * 1e-10) and np.isclose(c[1], 9e-9 + 0.3 * 2e-10)
    assert not interpolate_clock(t, b, np.zeros(3, int), q)[2][:2].any()  # default: no extension


def test_few_epochs_use_lower_order():
    """A product with 3 epochs (like the truncated COD 2023 file) interpolates with a
    quadratic: exact on the nodes, and at mid-interval within the third-derivative bound
    |r'''| h^3 * 3/8 / 6 ~ 1.4e2 m for GPS at 5-min spacing."""
    sp3 = synthetic_sp3(days=1, step_s=300)
    t3, p3 = sp3.time[:3], sp3.position_m[:3]
    p, v, ok = interpolate_positions(t3, p3, np.array([0, 0, 0]),
                                     np.array([0, 150 * NS, 300 * NS]), order=10)
    assert ok.all()
    assert np.allclose(p[[0, 2]], p3[[0, 1], 0], atol=1e-6)
    assert 1 < np.linalg.norm(p[1] - circular_orbit(150.0)) < 150


# ------------------------------------------------------------------ real GRG products
def _read_grg():
    sp3mod = pytest.importorskip("satnav.io.sp3")
    d = "esbc-2020-177"
    return sp3mod.read_sp3(
        data_path(d, "GRG0MGXFIN_20201760000_01D_15M_ORB.SP3.gz"),
        data_path(d, "GRG0MGXFIN_20201770000_01D_15M_ORB.SP3.gz"),
    )


def test_leave_one_out_gps_mm_level_across_day_boundary():
    """Drop one SP3 epoch, interpolate it from the others (10 points, a 30-min hole in the
    middle of the window): GPS RMS 3.4 mm (order 10; 2.2 mm at order 11), maxima ~1 cm
    away from the day boundary, ~2.6 cm next to it (the two daily arcs differ by cm)."""
    sp3 = _read_grg()
    assert len(sp3.time) == 192  # both days merged
    gps = np.asarray(sp3.satellites) < 100
    cols = np.nonzero(gps)[0]
    errs, errs_boundary = [], []
    for e in list(range(20, 90, 3)) + list(range(100, 172, 3)) + [95, 96]:
        keep = np.ones(len(sp3.time), bool)
        keep[e] = False
        p, v, ok = interpolate_positions(
            np.asarray(sp3.time)[keep], np.asarray(sp3.position_m)[keep], cols,
            np.full(cols.size, sp3.time[e]), order=10)
        d3 = np.linalg.norm(p - np.asarray(sp3.position_m)[e, cols], axis=1)
        (errs_boundary if e in (95, 96) else errs).append(d3)
    errs = np.concatenate(errs)
    errs = errs[np.isfinite(errs)]
    assert np.sqrt(np.mean(errs**2)) < 0.005
    assert errs.max() < 0.02
    assert np.nanmax(np.concatenate(errs_boundary)) < 0.04


def test_grg_clock_from_clk_file_by_hand():
    clkmod = pytest.importorskip("satnav.io.clk")
    sp3 = _read_grg()
    clk = clkmod.read_clk(data_path("esbc-2020-177", "GRG0MGXFIN_20201770000_01D_30S_CLK.CLK.gz"))
    g01 = satellite_index("G01")
    t0 = calendar_to_ns(2020, 6, 25, 0, 0, 0)
    # AS G01  2020  6 25  0  0  0.000000  2    0.159438015248E-04  0.640687583086E-11
    # AS G01  2020  6 25  0  0 30.000000  2    0.159440178987E-04  0.648461395541E-11
    t = np.array([t0, t0 + 15 * NS])
    st = precise_states(sp3, g01, t, clk=clk)
    c = st.clock_s - st.relativity_s
    assert c[0] == pytest.approx(0.159438015248e-04, abs=1e-16)
    assert c[1] == pytest.approx(0.5 * (0.159438015248e-04 + 0.159440178987e-04), abs=1e-16)
    assert st.clock_drift_s_s[0] == pytest.approx((0.159440178987e-04 - 0.159438015248e-04) / 30)


# ------------------------------------------------------------------ ANTEX
def test_antex_satellite_pcos():
    from satnav.io.antex import read_antex_satellites, satellite_pco

    ants = read_antex_satellites(data_path("esbc-2020-177", "igs14_small.atx.gz"))
    ids = [(a.sat_id, a.antenna_type) for a in ants]
    assert ids == [("G01", "BLOCK IIA"), ("G01", "BLOCK IIA"), ("E04", "GALILEO-2")]
    # "    279.00      0.00   2319.50      NORTH / EAST / UP" (first G01 block, 1992-2008)
    assert np.allclose(ants[0].pco_m["G01"], [0.279, 0.0, 2.3195])
    assert np.allclose(ants[1].pco_m["G02"], [0.279, 0.0, 2.2893])
    # E04 block is cut short in this small file: E05 and E07 only
    assert sorted(ants[2].pco_m) == ["E05", "E07"]
    assert ants[2].pco_m["E05"][2] == pytest.approx(0.60415)
    t = calendar_to_ns(2000, 1, 1)
    pco = satellite_pco(ants, "G01", t, ("G01", "G02"), (2.5457, -1.5457))
    assert pco[2] == pytest.approx(2.3195)
    assert satellite_pco(ants, "G01", calendar_to_ns(2020, 6, 25), ("G01", "G02"), (1, 0)) is None
