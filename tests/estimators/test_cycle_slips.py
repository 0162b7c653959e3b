"""Cycle-slip detectors on real GEONET phase data (gsi-2005-092) with injected slips."""

from __future__ import annotations

import numpy as np
import pytest

import satnav
from satnav.constants import FREQ_L1, FREQ_L2, SPEED_OF_LIGHT
from satnav.estimators.cycle_slips import (
    SlipTracker,
    detect_slips,
    doppler_phase_slips,
    geometry_free_slips,
    lli_slips,
    melbourne_wubbena_slips,
)
from tests.conftest import data_path

LAM1, LAM2 = SPEED_OF_LIGHT / FREQ_L1, SPEED_OF_LIGHT / FREQ_L2
FREQ = np.array([FREQ_L1, FREQ_L2])


@pytest.fixture(scope="module", params=["07590920.05o", "30400920.05o"])
def arrays(request):
    obs = satnav.read_obs(data_path("gsi-2005-092", request.param))
    s = obs.satellite_indices
    phase = np.stack([obs.dense("L1C", s), obs.dense("L2W", s)], -1)
    code = np.stack([obs.dense("C1C", s), obs.dense("C2W", s)], -1)
    lli = np.stack([obs.dense("L1C", s, "lli"), obs.dense("L2W", s, "lli")], -1)
    return obs, phase, code, lli


def _longest_column(phase):
    return int(np.argmax(np.isfinite(phase[..., 0]).sum(0)))


def test_no_false_alarms_on_clean_data(arrays):
    obs, phase, code, _ = arrays
    t = obs.epochs
    assert not geometry_free_slips(phase[..., 0], phase[..., 1], LAM1, LAM2, t).any()
    assert not melbourne_wubbena_slips(phase[..., 0], phase[..., 1], code[..., 0], code[..., 1],
                                       FREQ_L1, FREQ_L2, t).any()
    assert not detect_slips(phase, code, frequency_hz=FREQ, time_ns=t).any()


@pytest.mark.parametrize("n1,n2", [(1, 0), (0, 1), (-1, 0), (7, 5), (0, -2)])
def test_injected_slip_detected_on_that_satellite_only(arrays, n1, n2):
    obs, phase, code, _ = arrays
    col = _longest_column(phase)
    k = 70
    p = phase.copy()
    p[k:, col, 0] += n1
    p[k:, col, 1] += n2
    found = detect_slips(p, code, frequency_hz=FREQ, time_ns=obs.epochs)
    expected = np.zeros_like(found)
    expected[k, col, :] = True  # two-frequency tests cannot tell which carrier slipped
    assert (found == expected).all(), np.argwhere(found)


def test_melbourne_wubbena_catches_wide_lane_slip(arrays):
    obs, phase, code, _ = arrays
    col = _longest_column(phase)
    p = phase.copy()
    p[50:, col, 0] += 4  # 4 wide-lane cycles
    mw = melbourne_wubbena_slips(p[..., 0], p[..., 1], code[..., 0], code[..., 1], FREQ_L1, FREQ_L2,
                                 obs.epochs)
    assert np.argwhere(mw).tolist() == [[50, col]]


def test_lli_bit0():
    # RINEX LLI: bit 0 lost lock, bit 1 half-cycle, bit 2 anti-spoofing; -1 = no value
    lli = np.array([[-1, 0, 1, 4, 5, 2]], dtype=np.int8)
    assert lli_slips(lli).tolist() == [[False, False, True, False, True, False]]


def test_lli_of_the_rover_file():
    # 07590920.05o line 288-289, epoch " 05  4  2  0 15  0.0010000" (31st epoch), first
    # satellite G03: "  60416220.8711   25622603.521": L1 value 60416220.871 with LLI 1
    obs = satnav.read_obs(data_path("gsi-2005-092", "07590920.05o"))
    s = obs.satellite_indices
    lli = obs.dense("L1C", s, "lli")
    g03 = int(np.flatnonzero(s == 3)[0])
    assert lli_slips(lli)[30, g03]


def test_doppler_phase_consistency():
    # phase from an analytic range with its exact Doppler (RINEX: D = -d(range)/dt / lambda)
    t = np.arange(0, 600, 1.0)
    lam = LAM1
    r0 = np.array([2.2e7, 2.4e7, 2.1e7])
    v = np.array([-300.0, 500.0, 50.0])
    acc = np.array([0.1, -0.12, 0.05])
    rng = r0 + v * t[:, None] + 0.5 * acc * t[:, None] ** 2
    phase = rng / lam
    doppler = -(v + acc * t[:, None]) / lam
    phase += 1e-3 * 299792458.0 / lam * (t[:, None] >= 300)  # 1 ms receiver clock jump: all sats
    tn = (t * 1e9).astype(np.int64)
    assert not doppler_phase_slips(phase, doppler, tn).any()
    phase[400:, 1] += 10
    assert np.argwhere(doppler_phase_slips(phase, doppler, tn)).tolist() == [[400, 1]]


def _tracker_epochs(seed, n, k, m=160):
    """Synthetic epochs for a SlipTracker: smooth phases with slips, gaps (past max_gap_s),
    dropouts, LLI flags, code noise, Doppler on some epochs only (None elsewhere), a
    Doppler-less column and outliers."""
    rng = np.random.default_rng(seed)
    t = np.cumsum(rng.choice([1, 1, 1, 30], size=m) * 10**9) + 10**18
    t[m // 2:] += 400 * 10**9  # a gap longer than max_gap_s
    freq = np.tile([FREQ_L1, FREQ_L2, 1176.45e6][:k], (n, 1))
    rate = rng.uniform(-800, 800, n)[:, None] * freq / FREQ_L1  # cycles/s
    ts = (t - t[0]) / 1e9
    phase = 2e7 + rate[None] * ts[:, None, None] + rng.normal(0, 0.01, (m, n, k))
    code = (phase[..., :1] / freq[None, :, :1]) * SPEED_OF_LIGHT + rng.normal(0, 0.5, (m, n, k))
    for _ in range(12):  # slips
        e, s, f = rng.integers(5, m), rng.integers(n), rng.integers(k)
        phase[e:, s, f] += rng.integers(-9, 10)
    if k >= 2:  # wide-lane slips the geometry-free test cannot see: 77 L1 ~ 60 L2 cycles,
        # and 18/14 cycles (4 wide-lane cycles) two epochs into the arc after the gap
        phase[rng.integers(5, m):, 2, :2] += [77, 60]
        phase[m // 2 + 2:, 1, :2] += [18, 14]
    arc = phase[m // 2:m // 2 + 3, 1].copy()
    phase[rng.random((m, n, k)) < 0.05] = np.nan
    phase[rng.random(m) < 0.05] = np.nan  # whole epochs without phase
    phase[m // 2:m // 2 + 3, 1] = arc  # (that arc's first epochs all there)
    lli = np.where(rng.random((m, n, k)) < 0.03, rng.integers(0, 4, (m, n, k)), 0).astype(np.int8)
    lli[np.isnan(phase)] = -1
    dop = -rate[None] + rng.normal(0, 0.05, (m, n, k))
    dop[:, 0] = np.nan  # a satellite without Doppler
    dop[rng.random((m, n, k)) < 0.05] = 20.0  # Doppler outliers
    for e in range(m):
        yield (int(t[e]), phase[e], code[e] if e % 17 else None, lli[e] if e % 13 else None,
               dop[e] if e % 11 else None), freq


@pytest.mark.parametrize("n, k, seed", [(12, 2, 1), (9, 1, 2), (14, 3, 3), (25, 2, 4)])
def test_compiled_slip_tracker_equals_numpy(n, k, seed):
    """The numba kernel of SlipTracker.update gives the NumPy version's slips and state,
    epoch by epoch (skipped without numba); the NumPy version is held to the batch
    detectors in test_rtk_engine.py."""
    from satnav.estimators import cycle_slips

    if not cycle_slips.use_compiled_slip_tracker(True):
        pytest.skip("numba not available")
    try:
        epochs = list(_tracker_epochs(seed, n, k))
        freq = epochs[0][1]
        kw = dict(doppler_history=40, doppler_min_epochs=5)
        compiled = [SlipTracker(freq, **kw), None]
        compiled[1] = [compiled[0].update(*args) for args, _ in epochs]
        cycle_slips.use_compiled_slip_tracker(False)
        numpy = SlipTracker(freq, **kw)
        plain = [numpy.update(*args) for args, _ in epochs]
    finally:
        cycle_slips.use_compiled_slip_tracker(None)
    for a, b in zip(compiled[1], plain):
        np.testing.assert_array_equal(a, b)
    assert sum(int(s.sum()) for s in plain) > 20
    for name, value in vars(numpy).items():
        if isinstance(value, np.ndarray) and name != "_counters":  # (the kernel's scratch)
            np.testing.assert_array_equal(getattr(compiled[0], name), value, err_msg=name)
    assert (compiled[0]._last_t, compiled[0]._n_mis) == (numpy._last_t, numpy._n_mis)


def test_compiled_slip_kernel_is_really_used(monkeypatch):
    """With numba installed the live engines' slip kernel is compiled (with its median
    helper: a kernel calling a plain Python function does not compile, and the tracker
    would fall back to NumPy without a word) and SlipTracker.update runs it."""
    numba = pytest.importorskip("numba")
    from satnav.estimators import cycle_slips

    monkeypatch.delenv("SATNAV_NO_NUMBA", raising=False)
    try:
        assert cycle_slips.use_compiled_slip_tracker(True)
        kernel = cycle_slips._KERNELS[0]
        dispatcher = numba.core.registry.CPUDispatcher
        assert isinstance(kernel, dispatcher) and kernel.signatures
        # (compiled into the kernel; its own signatures stay empty when loaded from the cache)
        assert isinstance(kernel.py_func.__globals__["_finite_median"], dispatcher)
        calls = []

        def counted(*args):
            calls.append(1)
            return kernel(*args)

        monkeypatch.setattr(cycle_slips, "_KERNELS", (counted,))
        epochs = list(_tracker_epochs(5, 6, 2, m=20))
        tracker = SlipTracker(epochs[0][1], doppler_history=8, doppler_min_epochs=2)
        for args, _ in epochs:
            tracker.update(*args)
        assert len(calls) == len(epochs)
    finally:
        monkeypatch.undo()
        cycle_slips.use_compiled_slip_tracker(None)


def test_finite_median_helper_equals_nanmedian():
    """The kernel's median helper (run here as plain Python) is _nanmedian_last's and
    np.nanmedian's: NaNs left out, NaN when none."""
    from satnav.estimators.cycle_slips import _finite_median, _nanmedian_last

    rng = np.random.default_rng(7)
    for _trial in range(300):
        v = rng.normal(size=int(rng.integers(0, 12))) * rng.choice([1.0, 1e6])
        v[rng.random(len(v)) < 0.3] = np.nan
        buf = np.empty(len(v) + 1)
        got = _finite_median(v, buf)
        ref = float(_nanmedian_last(v[None])[0]) if len(v) else np.nan
        assert got == ref or (np.isnan(got) and np.isnan(ref))
        if np.isfinite(v).any():
            assert got == np.nanmedian(v)
