"""The per-epoch SPP engine and the chunked batch solver against the one-shot batch call
(refactor equivalence on esbc: the batch result is computed in the test)."""

from __future__ import annotations

import dataclasses
import pickle
import time
import warnings

import numpy as np
import pytest

import satnav
from satnav.estimators.carrier_smoothing import HatchSmoother
from satnav.estimators.rtk import RtkSolution
from satnav.estimators.solution import PositionSolution, Solution
from satnav.estimators.spp import SppOptions, motion_inconsistent, solve_spp
from satnav.estimators.spp_engine import SppEngine, merge_navigation
from tests.conftest import data_path

ESBC = "esbc-2020-177"
#: ESBC marker, RTKLIB PPP-static with GRG precise products (shared/data/README.md).
REFERENCE = np.array([3582104.8024, 532590.1716, 5232755.1824])
EPOCHS = 600  # the engine test feeds the first 5 hours one epoch at a time


@pytest.fixture(scope="module")
def esbc():
    d = data_path(ESBC)
    obs = satnav.read_obs(d / "ESBC00DNK_R_20201770000_01D_30S_MO.crx.gz")
    nav_esbc = satnav.read_nav(d / "ESBC00DNK_R_20201770000_01D_MN.rnx.gz")
    nav_mojn = satnav.read_nav(d / "MOJN00DNK_R_20201770000_01D_MN.rnx.gz")
    nav = satnav.read_nav(d / "ESBC00DNK_R_20201770000_01D_MN.rnx.gz", d / "MOJN00DNK_R_20201770000_01D_MN.rnx.gz")
    return obs, nav, nav_esbc, nav_mojn


@pytest.fixture(scope="module")
def batch(esbc):
    obs, nav, _, _ = esbc
    return solve_spp(obs, nav)


def _assert_same(a: Solution, b: Solution, status=True):
    assert len(a) == len(b)
    np.testing.assert_array_equal(a.time_ns, b.time_ns)
    assert np.array_equal(np.isnan(a.position_m), np.isnan(b.position_m))
    diff = np.nanmax(np.abs(a.position_m - b.position_m), initial=0.0)
    assert diff <= 1e-3, diff
    if status:
        np.testing.assert_array_equal(a.status, b.status)
    return diff


def test_chunked_batch_equals_one_shot(esbc, batch):
    obs, nav, _, _ = esbc
    chunked = solve_spp(obs, nav, chunk_epochs=100)
    assert _assert_same(chunked, batch) == 0.0  # bit-identical
    for f in ("clock_bias_s", "velocity_m_s", "gdop", "pdop", "hdop", "vdop", "tdop", "residuals_m",
              "azimuth_rad", "elevation_rad", "test_statistic", "test_threshold", "covariance_m2"):
        np.testing.assert_array_equal(getattr(chunked, f), getattr(batch, f), err_msg=f)
    for f in ("n_used", "used", "excluded", "satellites", "iterations"):
        np.testing.assert_array_equal(getattr(chunked, f), getattr(batch, f), err_msg=f)
    assert chunked.clock_systems == batch.clock_systems
    assert chunked.signals == batch.signals
    assert list(chunked.n_used_by_system) == list(batch.n_used_by_system)
    for s, n in batch.n_used_by_system.items():
        np.testing.assert_array_equal(chunked.n_used_by_system[s], n)


def test_options_object_equals_keywords(esbc):
    obs, nav, _, _ = esbc
    part = obs.epoch_slice(0, 50)
    opts = SppOptions(systems="GE", iono="iono-free", exclude=["G05"])
    a = solve_spp(part, nav, opts)
    b = solve_spp(part, nav, systems="GE", iono="iono-free", exclude=("G05",))
    c = solve_spp(part, nav, SppOptions(systems="GE"), iono="iono-free", exclude=("G05",))
    assert _assert_same(a, b) == 0.0 and _assert_same(a, c) == 0.0
    assert pickle.loads(pickle.dumps(opts)) == opts
    assert dataclasses.asdict(opts)["exclude"] == ("G05",)


def test_engine_epoch_by_epoch_equals_batch(esbc, batch):
    obs, nav, _, _ = esbc
    engine = SppEngine(nav, keep=True)
    t0 = time.perf_counter()
    for epoch in obs.epoch_slice(0, EPOCHS).iter_epochs():
        out = engine.process(epoch)
        assert len(out) == 1
    per_epoch_ms = (time.perf_counter() - t0) / EPOCHS * 1e3
    whole = Solution.concatenate(engine.solutions, satellites=batch.satellites,
                                 clock_systems=batch.clock_systems)
    ref = batch
    sel = slice(0, EPOCHS)
    diff = np.nanmax(np.abs(whole.position_m - ref.position_m[sel]))
    print(f"engine: {per_epoch_ms:.2f} ms per epoch, max position difference {diff:.2e} m")
    assert diff <= 1e-3
    # status equal except the motion check's documented difference (none on esbc)
    np.testing.assert_array_equal(whole.status, ref.status[sel])
    # (1 nm/s: the engine may run the compiled kernel, whose elementary functions can differ
    # from NumPy's in the last bit: satnav._jit.agree)
    np.testing.assert_allclose(whole.velocity_m_s, ref.velocity_m_s[sel], rtol=0, atol=1e-9)
    np.testing.assert_allclose(whole.pdop, ref.pdop[sel], rtol=1e-12)
    np.testing.assert_allclose(whole.residuals_m, ref.residuals_m[sel], atol=1e-6)


def test_engine_navigation_added_mid_way(esbc):
    """Fed only MOJN's messages first, then ESBC's: epochs after the addition equal the
    batch call with both files."""
    obs, nav, nav_esbc, nav_mojn = esbc
    part = obs.epoch_slice(0, 40)
    batch = solve_spp(part, nav)
    engine = SppEngine(nav_mojn)
    before = [engine.process(e) for e in part.epoch_slice(0, 20).iter_epochs()]
    engine.add_navigation(nav_esbc)
    after = Solution.concatenate([engine.process(e) for e in part.epoch_slice(20, 40).iter_epochs()])
    merged = merge_navigation(nav_mojn, nav_esbc)
    assert merged.count_by_system() == nav.count_by_system()
    diff = np.nanmax(np.abs(after.position_m - batch.position_m[20:40]))
    assert diff <= 1e-3
    np.testing.assert_array_equal(after.status, batch.status[20:40])
    assert len(before) == 20 and all(len(b) == 1 for b in before)


def test_motion_check_engine_flags_an_isolated_jump():
    """Batch and engine rules on a static track with one epoch 1 km off: both flag it alone."""
    t = np.arange(10) * 1_000_000_000
    x = np.tile([4e6, 1e6, 4.8e6], (10, 1)).astype(float)
    x[4, 0] += 1000.0
    v = np.zeros((10, 3))
    batch = motion_inconsistent(t, x, v, np.ones(10, bool))
    sol = Solution.concatenate([_fake(t[i:i + 1], x[i:i + 1]) for i in range(10)])
    engine = SppEngine(None, states=object())
    for i in range(10):
        one = _fake(t[i:i + 1], x[i:i + 1])
        engine._motion_check(one)
        sol.status[i] = one.status[0]
    assert np.flatnonzero(batch).tolist() == [4]
    assert np.flatnonzero(sol.status == 5).tolist() == [4]


def _fake(t, x):
    m = len(t)
    nan = np.full(m, np.nan)
    return Solution(time_ns=t, position_m=x, clock_bias_s=np.zeros((m, 1)), clock_systems=("G",),
                    velocity_m_s=np.zeros((m, 3)), clock_drift_s_s=nan, gdop=nan, pdop=nan, hdop=nan,
                    vdop=nan, tdop=nan, status=np.zeros(m, np.int8), n_used=np.zeros(m, np.int16),
                    n_used_by_system={}, satellites=np.zeros(0, np.int16), residuals_m=np.zeros((m, 0)),
                    used=np.zeros((m, 0), bool), excluded=np.zeros((m, 0), bool),
                    azimuth_rad=np.zeros((m, 0)), elevation_rad=np.zeros((m, 0)), test_statistic=nan,
                    test_threshold=nan, covariance_m2=np.zeros((m, 3, 3)), iterations=np.zeros(m, np.int16))


def test_hatch_smoother_is_chunk_invariant_and_close_to_batch():
    """The causal smoother gives the same values fed one epoch at a time or in one call, and
    its smoothed esbc solution stays within decimetres of the batch smoothing's."""
    d = data_path(ESBC)
    obs = satnav.read_obs(d / "ESBC00DNK_R_20201770000_01D_30S_MO.crx.gz").epoch_slice(0, 120)
    nav = satnav.read_nav(d / "ESBC00DNK_R_20201770000_01D_MN.rnx.gz")
    whole = HatchSmoother(window_s=600.0).smooth(obs)
    s = HatchSmoother(window_s=600.0, interval_s=30.0)
    pieces = [s.smooth(e) for e in obs.iter_epochs(7)]
    value = np.concatenate([p.value for p in pieces])
    np.testing.assert_array_equal(value, whole.value)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        batch = solve_spp(obs, nav, systems="GE", smoothing_s=600.0)
        engine = SppEngine(nav, systems="GE", smoothing_s=600.0)
        one = Solution.concatenate([engine.process(e) for e in obs.iter_epochs()])
    e_batch = batch.errors(REFERENCE)
    e_engine = one.errors(REFERENCE)
    print("smoothing batch", e_batch, "engine", e_engine)
    assert e_engine["h_rms"] <= e_batch["h_rms"] + 0.2
    assert np.nanmax(np.linalg.norm(one.position_m - batch.position_m, axis=1)) < 3.0


def test_one_solution_family(esbc, batch):
    assert issubclass(Solution, PositionSolution) and issubclass(RtkSolution, PositionSolution)
    e = batch.errors(REFERENCE)
    assert {"n", "h_rms", "v_rms", "h_95", "v_95", "h_max", "v_max", "max_3d"} <= set(e)
    assert e["n"] == len(batch) and e["h_rms"] < 1.5
    assert batch.warnings == []
    df = batch.to_pandas()
    assert list(df.columns[:7]) == ["time", "x_m", "y_m", "z_m", "lat_deg", "lon_deg", "height_m"]
    assert "clock_G_s" in df and "reason" in df and len(df) == len(batch)


def test_warm_start_of_one_epoch_equals_the_general_rule():
    """warm_start of a one-epoch solution (the engine's, on Python numbers) gives what the
    rule over many epochs gives for that epoch: its position and clocks (m), NaN clocks left
    out; None when the epoch is not valid or has no position."""
    from satnav.estimators.spp import warm_start

    t = np.array([0, 10**9])
    x = np.array([[3582104.8, 532590.2, 5232755.2], [np.nan, np.nan, np.nan]])
    sol = _fake(t, x)
    sol.clock_bias_s = np.array([[1.5e-4, np.nan, -2.25e-5], [0.0, 0.0, 0.0]])
    sol.clock_systems = ("G", "R", "E")
    general = warm_start(sol)  # (the second epoch has no position: the first one is taken)
    one = _fake(t[:1], x[:1])
    one.clock_bias_s, one.clock_systems = sol.clock_bias_s[:1], sol.clock_systems
    got = warm_start(one)
    np.testing.assert_array_equal(got[0], general[0])
    assert got[1] == general[1] and list(got[1]) == ["G", "E"]
    one.status[0] = 3
    assert warm_start(one) is None
    one.status[0], one.position_m = 0, x[1:]
    assert warm_start(one) is None
