"""The per-epoch RTK engine against the batch solver on the GEONET 0759 (rover) / 3040 (base)
pair (3.3 km, GPS L1/L2, 120 epochs at 30 s): fed epoch by epoch, :class:`RtkEngine` gives
the positions and quality flags of :func:`solve_rtk` (which shares its filter core) - the
refactor-equivalence reference is the batch result computed here; the batch itself is held
to the truth in test_rtk.py."""

from __future__ import annotations

import numpy as np
import pytest

import satnav
from satnav.errors import SatnavError, SatnavWarning
from satnav.estimators.cycle_slips import SlipTracker, detect_slips
from satnav.estimators.rtk import RtkFilter, solve_rtk
from satnav.estimators.rtk_engine import RtkEngine
from satnav.observations import Observations
from tests.conftest import assert_agree, data_path

TRUTH = np.array([-3976219.6644, 3382372.5414, 3652513.0556])  # as test_rtk.py


@pytest.fixture(scope="module")
def gsi():
    rover = satnav.read_obs(data_path("gsi-2005-092", "07590920.05o"))
    base = satnav.read_obs(data_path("gsi-2005-092", "30400920.05o"))
    nav = satnav.read_nav(data_path("gsi-2005-092", "07590920.05n"),
                          data_path("gsi-2005-092", "30400920.05n"))
    return rover, base, nav


def _feed(engine, rover, base, max_age_s=30.0):
    """Rover epochs one by one, each after the base epochs up to ``max_age_s`` later (what
    the batch pairing can choose from)."""
    out, j = [], 0
    for epoch in rover.iter_epochs():
        t = epoch.epochs[0]
        while j < len(base.epochs) and base.epochs[j] <= t + max_age_s * 1e9:
            engine.add_base(base.epoch_slice(j, j + 1))
            j += 1
        out.append(engine.process(epoch))
    return out


def _assert_same(out, batch, tol_m=1e-3):
    pos = np.array([o.position_m for o in out])
    q = np.array([o.quality for o in out])
    np.testing.assert_array_equal(q, batch.quality)
    d = np.linalg.norm(pos - batch.position_m, axis=1)
    assert np.nanmax(d) <= tol_m, np.nanmax(d)
    assert (np.isnan(pos) == np.isnan(batch.position_m)).all()
    np.testing.assert_array_equal([o.n_fixed for o in out], batch.n_fixed)
    np.testing.assert_array_equal([o.n_satellites for o in out], batch.n_satellites)
    # (1e-5: the ratio divides by the best candidate's small residual norm, and the engine may
    # run the compiled geometry, whose elementary functions can differ from NumPy's in the
    # last bit: satnav._jit.agree; against the threshold of 3 it is nothing)
    np.testing.assert_allclose([o.ratio for o in out], batch.ratio, rtol=1e-5, atol=1e-9)


def _thin(obs, every):
    keep = np.arange(len(obs.epochs)) % every == 0
    rows = np.isin(obs.time, obs.epochs[keep])
    return Observations(obs.time[rows], obs.sat[rows], obs.code[rows], obs.value[rows],
                        obs.lli[rows], obs.ssi[rows], obs.codes, obs.epochs[keep],
                        header=obs.header)


def test_kinematic_epoch_by_epoch_equals_batch(gsi):
    rover, base, nav = gsi
    batch = solve_rtk(rover, base, nav, mode="kinematic", elevation_mask_deg=10)
    out = _feed(RtkEngine(nav, mode="kinematic", elevation_mask_deg=10), rover, base)
    _assert_same(out, batch)
    assert sum(o.quality == 1 for o in out) >= 116  # as the batch: 119 of 120
    fixed = np.array([o.position_m for o in out if o.quality == 1])
    assert np.linalg.norm(fixed - TRUTH, axis=1).max() <= 0.10
    # the covariance, time and base age of each epoch as the batch's
    np.testing.assert_allclose(np.array([o.covariance_m2 for o in out]), batch.covariance_m2,
                               atol=1e-9)
    np.testing.assert_array_equal([o.time_ns for o in out], batch.time_ns)
    np.testing.assert_allclose([o.age_s for o in out], batch.age_s)
    assert all(len(o.satellites) == o.n_satellites for o in out)


@pytest.mark.parametrize("mode", ["static", "dgnss"])
def test_static_and_dgnss_on_a_subset(gsi, mode):
    rover, base, nav = gsi
    part = rover.epoch_slice(20, 60)
    batch = solve_rtk(part, base, nav, mode=mode, elevation_mask_deg=10)
    out = _feed(RtkEngine(nav, mode=mode, elevation_mask_deg=10), part, base)
    _assert_same(out, batch)
    if mode == "static":
        assert out[-1].quality == 1 and sum(o.quality == 1 for o in out) >= 35
    else:
        assert {o.quality for o in out} == {4}


def test_base_gaps_as_the_batch(gsi):
    # base every 4th epoch: rover epochs 60 s from both neighbours have no base epoch
    # (single point, quality 5); the others pair with a base epoch up to 30 s old
    rover, base, nav = gsi
    b = _thin(base, 4)
    with pytest.warns(SatnavWarning):
        batch = solve_rtk(rover, b, nav, elevation_mask_deg=10, max_age_s=30.5)
    out = _feed(RtkEngine(nav, elevation_mask_deg=10, max_age_s=30.5), rover, b, 30.5)
    _assert_same(out, batch)
    assert 30 <= sum(o.quality == 5 for o in out) <= 32
    assert all(np.isnan(o.age_s) for o in out if o.quality == 5)


def test_base_dropped_for_a_while(gsi):
    # ten base epochs lost in the middle: the engine, given only the others, matches the
    # batch on the same base file, outage and re-initialisation included
    rover, base, nav = gsi
    keep = np.ones(len(base.epochs), bool)
    keep[50:60] = False
    rows = np.isin(base.time, base.epochs[keep])
    b = Observations(base.time[rows], base.sat[rows], base.code[rows], base.value[rows],
                     base.lli[rows], base.ssi[rows], base.codes, base.epochs[keep],
                     header=base.header)
    with pytest.warns(SatnavWarning):
        batch = solve_rtk(rover, b, nav, elevation_mask_deg=10)
    out = _feed(RtkEngine(nav, elevation_mask_deg=10), rover, b)
    _assert_same(out, batch)
    assert {o.quality for o in out[51:59]} == {5}


def test_slip_tracker_equals_batch_detectors(gsi):
    rover, base, nav = gsi
    f = RtkFilter(rover, base, nav, elevation_mask_deg=10)
    r = f.rover
    # a slip of (3, 7) cycles on one satellite mid-file, for the detectors to find
    phase = r.phase_cyc.copy()
    col = int(np.flatnonzero(np.isfinite(phase[60, :, 0]))[0])
    phase[60:, col] += [3.0, 7.0]
    batch = detect_slips(phase, r.code_m, r.lli, None, frequency_hz=f.freq, time_ns=r.time_ns)
    tracker = SlipTracker(f.freq)
    stream = np.array([tracker.update(t, phase[k], r.code_m[k], r.lli[k])
                       for k, t in enumerate(r.time_ns.tolist())])
    np.testing.assert_array_equal(stream, batch)
    assert stream[60, col].all()


def test_engine_inputs_checked(gsi):
    rover, base, nav = gsi
    engine = RtkEngine(nav)
    with pytest.raises(SatnavError, match="one rover epoch"):
        engine.process(rover.epoch_slice(0, 2))
    with pytest.raises(SatnavError, match="whole base file"):
        RtkEngine(nav, base_position="spp")
    with pytest.raises(SatnavError, match="unknown RTK mode"):
        RtkEngine(nav, mode="ppp")
    # no base epoch yet: the single point solution
    sol = engine.process(rover.epoch_slice(0, 1))
    assert sol.quality == 5 and np.isfinite(sol.position_m).all()


def test_navigation_added_later(gsi):
    rover, base, nav = gsi
    nav1 = satnav.read_nav(data_path("gsi-2005-092", "07590920.05n"))
    nav2 = satnav.read_nav(data_path("gsi-2005-092", "30400920.05n"))
    engine = RtkEngine(nav1, elevation_mask_deg=10)
    engine.add_navigation(nav2)
    part = rover.epoch_slice(0, 20)
    batch = solve_rtk(part, base, nav, elevation_mask_deg=10)
    _assert_same(_feed(engine, part, base), batch)


def test_epoch_arrays_equal_the_batch_dense_arrays(gsi):
    """The engine's per-epoch dense arrays (one table per set of codes) are the batch's
    :func:`~satnav.estimators.rtk._dense` row by row: on gsi (GPS L1/L2, zero phases) and
    on a multi-GNSS epoch with Doppler on some systems, a code lacking, a zero pseudorange,
    a satellite outside the layout and LLI flags."""
    from satnav.estimators.rtk import _dense
    from satnav.estimators.rtk_engine import _EpochArrays
    from satnav.satellites import satellite_index

    rover, _base, _nav = gsi
    signals = {"G": [("L1C", "C1C"), ("L2W", "C2W")]}
    if "L2W" not in rover.codes:
        signals = {"G": [("L1C", "C1C"), ("L2P", "C2P")]}
    sats = np.array([satellite_index(f"G{p:02d}") for p in range(1, 33)], np.int64)
    arrays = _EpochArrays(signals, sats, 2)
    for epoch in list(rover.iter_epochs())[::7]:
        want = _dense(epoch, signals, sats, 2)
        got = arrays(epoch)
        for w, g in zip(want, got):
            assert (w is None) == (g is None)
            if w is not None:
                np.testing.assert_array_equal(w[0], g)
    # multi-GNSS: G (L1C/L2W with Doppler on L1), E (E1/E5b, no C7Q: code absent), C (B1I only)
    codes = ["C1C", "L1C", "D1C", "C2W", "L2W", "C1X", "L1X", "L7Q", "C2I", "L2I", "D2I", "C1P"]
    rows = [("G01", "C1C", 2.1e7, 0), ("G01", "L1C", 1.1e8, 1), ("G01", "D1C", -1200.5, 0),
            ("G01", "C2W", 2.1e7 + 3, 0), ("G01", "L2W", 8.6e7, 2), ("G07", "C1C", 0.0, 0),
            ("G07", "L1C", 1.2e8, 0), ("G07", "L2W", 0.0, 0), ("E11", "C1X", 2.4e7, 0),
            ("E11", "L1X", 1.3e8, 0), ("E11", "L7Q", 9.9e7, 1), ("C19", "C2I", 2.2e7, 0),
            ("C19", "L2I", 1.1e8, 0), ("C19", "D2I", 300.25, 0), ("J02", "C1C", 3.6e7, 0),
            ("G03", "C1P", 2.0e7, 0)]
    t0 = int(rover.epochs[0])
    obs = Observations(np.full(len(rows), t0, np.int64),
                       np.array([satellite_index(r[0]) for r in rows], np.int16),
                       np.array([codes.index(r[1]) for r in rows], np.int16), np.array([r[2] for r in rows]),
                       np.array([r[3] for r in rows], np.int8), np.zeros(len(rows), np.int8), codes,
                       np.array([t0], np.int64))
    signals = {"G": [("L1C", "C1C"), ("L2W", "C2W")], "E": [("L1X", "C1X"), ("L7Q", "C7Q")],
               "C": [("L2I", "C2I"), None]}
    sats = np.array([satellite_index(f"{s}{p:02d}") for s in "GEC" for p in range(1, 40)], np.int64)
    got = _EpochArrays(signals, sats, 2)(obs)
    obs_full = Observations(obs.time, obs.sat, obs.code, obs.value, obs.lli, obs.ssi, [*codes, "C7Q"], obs.epochs)
    want = _dense(obs_full, signals, sats, 2)  # (the batch needs every chosen code present)
    for w, g in zip(want, got):
        np.testing.assert_array_equal(w[0], g)
    assert np.isfinite(got[3]).sum() == 2 and np.isnan(got[1][sats == satellite_index("G07")]).all()


def test_compiled_geometry_gives_the_same_epochs(gsi):
    """With numba the engine's receiver geometry (range, line of sight, elevation,
    troposphere, azimuth) comes from a compiled kernel on the models' shared cores: every
    epoch's solution (positions, covariances, ratios, DOPs) and the base epochs' residuals
    are those of the NumPy path (bit for bit where NumPy's elementary functions are the C
    library's, to their rounding elsewhere: satnav._jit.agree; positions to 1 um), the same
    fixes and satellites; the live engine loads the kernel."""
    pytest.importorskip("numba")
    from satnav.estimators import rtk_engine
    from satnav.options import StreamOptions
    from satnav.streams.live import LiveEngine

    rover, base, nav = gsi
    rover, base = rover.epoch_slice(0, 40), base.epoch_slice(0, 45)
    runs = []
    try:
        for compiled in (False, True):
            assert rtk_engine.use_compiled_geometry(compiled) is compiled
            engine = RtkEngine(nav, mode="kinematic", elevation_mask_deg=10)
            out = _feed(engine, rover, base)
            runs.append((out, [(b.yL, b.yP, b.el) for b in engine._base]))
        assert LiveEngine(StreamOptions(mode="rtk-kinematic"), nav).compiled_rtk_geometry
        assert rtk_engine._KERNELS
    finally:
        rtk_engine.use_compiled_geometry(None)
    (plain, base_plain), (comp, base_comp) = runs
    assert sum(o.quality == 1 for o in comp) >= 35
    for a, b in zip(plain, comp):
        for name in ("position_m", "float_position_m"):
            assert_agree(getattr(a, name), getattr(b, name), name, rtol=0.0, atol=1e-6)
        np.testing.assert_array_equal(a.satellites, b.satellites)
        for name in ("quality", "n_fixed", "n_satellites"):
            assert getattr(a, name) == getattr(b, name), name
        # (the filter's covariance carries the rounding through every epoch's update of a
        # state with ambiguities, and the ratio divides by the best candidate's small
        # residual norm: larger relative rounding; 1e-6 of a covariance or of a ratio
        # tested against 3 is nothing)
        assert_agree(a.covariance_m2, b.covariance_m2, "covariance_m2", rtol=1e-6)
        assert_agree(a.ratio, b.ratio, "ratio", rtol=1e-6)
        for name in ("gdop", "pdop", "hdop", "vdop"):
            assert_agree(getattr(a, name), getattr(b, name), name)
    for a, b in zip(base_plain, base_comp):
        for x, y in zip(a, b):
            assert_agree(x, y, "base epoch")
