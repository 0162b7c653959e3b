"""Receiver clock jump detection (satnav.streams.clock_jumps) against a per-satellite
dictionary reference of the same rule (the module docstring's: second difference of each
pseudorange over three epochs, the median over the satellites beyond the threshold), on
real epochs with satellites coming and going, gaps, and clock steps of both signs."""

from __future__ import annotations

import numpy as np
import pytest

import satnav
from satnav.constants import SPEED_OF_LIGHT
from satnav.streams import clock_jumps
from satnav.streams.clock_jumps import ClockJumpDetector
from tests.conftest import data_path


def _reference(epochs, threshold_m=3000.0, max_gap_s=120.0, min_satellites=4):
    """The jumps (m) of ``epochs`` (time ns, {satellite: pseudorange m}) by dictionaries."""
    out, t_prev, p_prev, rate_prev = [], None, {}, {}
    for t, p in epochs:
        jump, rate = 0.0, {}
        if t_prev is not None and 0 < (t - t_prev) / 1e9 <= max_gap_s:
            dt = (t - t_prev) / 1e9
            rate = {s: (v - p_prev[s]) / dt for s, v in p.items() if s in p_prev}
            d2 = [(rate[s] - rate_prev[s]) * dt for s in rate if s in rate_prev]
            if len(d2) >= min_satellites:
                med = float(np.median(d2))
                if abs(med) > threshold_m:
                    jump = med
                    rate = {s: r - med / dt for s, r in rate.items()}
        t_prev, p_prev, rate_prev = t, p, rate
        out.append(jump)
    return out


def _first_code(obs):
    """{satellite: pseudorange} of the alphabetically first code with a value > 1e6 m."""
    codes = np.asarray(obs.codes)[obs.code]
    best = {}
    for s, c, v in zip(obs.sat.tolist(), codes.tolist(), obs.value.tolist()):
        if c.startswith("C") and np.isfinite(v) and v > 1e6 and (s not in best or c < best[s][0]):
            best[s] = (c, v)
    return {s: v for s, (c, v) in best.items()}


@pytest.fixture(scope="module")
def epochs():
    obs = satnav.read_obs(data_path("gsi-2005-092", "07590920.05o"))
    return list(obs.epoch_slice(0, 80).iter_epochs())


def _perturbed(epochs, seed):
    """The epochs with satellites dropped at random, a gap, and clock steps of +-1 ms."""
    rng = np.random.default_rng(seed)
    out, step = [], 0.0
    for k, e in enumerate(epochs):
        if k in (30, 31):  # two epochs missing; then a 1 ms step, later one back
            continue
        if k in (20, 55):
            step += 1e-3 * SPEED_OF_LIGHT * (1 if k == 20 else -1)
        keep = rng.random(len(e)) > 0.1
        e = e.select(keep)
        codes = np.asarray(e.codes)[e.code]
        is_range = np.char.startswith(codes, "C") | np.char.startswith(codes, "P")
        e.value[is_range] += step
        if k == 40:  # one NaN and one zero pseudorange
            e.value[np.flatnonzero(is_range)[:2]] = [np.nan, 0.0]
        out.append(e)
    return out


@pytest.fixture(params=["numpy", "compiled"])
def path(request):
    """Each test on the NumPy path and on the compiled kernel (skipped without numba)."""
    compiled = request.param == "compiled"
    if not clock_jumps.use_compiled_clock_jumps(compiled) and compiled:
        pytest.skip("numba not available (or SATNAV_NO_NUMBA set)")
    yield request.param
    clock_jumps.use_compiled_clock_jumps(None)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_jumps_equal_the_dictionary_rule(epochs, seed, path):
    eps = _perturbed(epochs, seed)
    det = ClockJumpDetector()
    got = [det.update(e) for e in eps]
    ref = _reference([(int(e.epochs[0]), _first_code(e)) for e in eps])
    assert got == ref  # the same floating-point operations: equal, not close
    jumps = [j for j in got if j]
    assert len(jumps) == 2 and jumps[0] == pytest.approx(1e-3 * SPEED_OF_LIGHT, abs=300.0)
    assert jumps[1] == pytest.approx(-1e-3 * SPEED_OF_LIGHT, abs=300.0)


def test_no_jump_without_enough_satellites_or_across_a_gap(epochs, path):
    det = ClockJumpDetector(max_gap_s=10.0)  # the file's 30 s epochs are all gaps
    assert [det.update(e) for e in epochs[:5]] == [0.0] * 5
    det = ClockJumpDetector(min_satellites=99)
    assert [det.update(e) for e in epochs[:5]] == [0.0] * 5


def test_compiled_states_equal_numpys(epochs):
    """The compiled kernel keeps the same state (pseudoranges, rates: NaN where none) as the
    NumPy path, epoch after epoch, on real and on synthetic epochs (duplicated rows, small
    and NaN values, codes not in order)."""
    if not clock_jumps.use_compiled_clock_jumps(True):
        pytest.skip("numba not available (or SATNAV_NO_NUMBA set)")
    try:
        for eps in (_perturbed(epochs, 4), clock_jumps._check_epochs()):
            states = []
            for enabled in (False, True):
                clock_jumps.use_compiled_clock_jumps(enabled)
                det = ClockJumpDetector()
                states.append([(det.update(e), det._p.copy(), det._rate.copy()) for e in eps])
            for (j0, p0, r0), (j1, p1, r1) in zip(*states):
                assert j0 == j1
                assert np.array_equal(p0, p1, equal_nan=True) and np.array_equal(r0, r1, equal_nan=True)
    finally:
        clock_jumps.use_compiled_clock_jumps(None)


def test_without_numba_the_live_engine_uses_numpy():
    """SATNAV_NO_NUMBA: use_compiled_clock_jumps says False and the detector finds the jumps."""
    import os
    import subprocess
    import sys

    code = ("from satnav.streams import clock_jumps as cj; from satnav.streams.clock_jumps import ClockJumpDetector;"
            "assert not cj.use_compiled_clock_jumps(True); d = ClockJumpDetector();"
            "js = [d.update(e) for e in cj._check_epochs()]; print(sum(1 for j in js if j))")
    env = dict(os.environ, SATNAV_NO_NUMBA="1", PYTHONPATH=os.pathsep.join(sys.path))
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "2"


def test_compiled_takes_any_layout_without_compiling_again(epochs):
    """Read-only, strided or other-typed arrays go through the kernel of the one signature."""
    if not clock_jumps.use_compiled_clock_jumps(True):
        pytest.skip("numba not available (or SATNAV_NO_NUMBA set)")
    from types import SimpleNamespace

    try:
        kernel = clock_jumps._KERNELS[0]
        eps = _perturbed(epochs, 5)
        det, got = ClockJumpDetector(), []
        for k, e in enumerate(eps):
            value = np.repeat(e.value, 2)[::2] if k % 2 else e.value.copy()
            value.flags.writeable = bool(k % 3)
            odd = SimpleNamespace(epochs=e.epochs, codes=e.codes, sat=e.sat.astype(np.int64), code=e.code, value=value)
            got.append(det.update(odd))
        clock_jumps.use_compiled_clock_jumps(False)
        ref = ClockJumpDetector()
        assert got == [ref.update(e) for e in eps] and any(got)
        assert len(kernel.signatures) == 1
    finally:
        clock_jumps.use_compiled_clock_jumps(None)
