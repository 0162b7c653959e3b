"""The compiled satellite states of one SPP epoch (satnav.estimators.spp_states_kernel, numba)
are NumPy's, bit for bit where NumPy's elementary functions are the C library's and to their
rounding where they are NumPy's own (AVX-512; satnav._jit.agree): over the whole ESBC day for every Keplerian system of its navigation
file (GPS, Galileo I/NAV and F/NAV, BeiDou with its GEO satellites, QZSS), and through the
SPP engine on the live stream's epochs (RTCM 3 MSM7 GEC round trip) and on RINEX epochs with
GLONASS (whose plans the kernel leaves to NumPy). NumPy's broadcast states themselves are
held to the precise orbits by tests/orbits. Skipped without numba; the fallback (SATNAV_NO_NUMBA)
is tested."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import numpy as np
import pytest

from satnav.estimators import spp_states_kernel
from satnav.estimators.solution import Solution
from satnav.estimators.spp_engine import SppEngine
from satnav.models.measurement import position_at_transmission, transmission_time
from satnav.orbits.ephemeris import BroadcastEphemeris
from satnav.orbits.kepler import is_beidou_geo, kepler_state_of_row
from satnav.satellites import prn_of
from tests.conftest import assert_agree
from tests.estimators.test_spp_kernel import (
    _numba_present_or_skip,
    _rtcm_epochs,
    assert_same_solutions,
)


def _assert_states(want, got, what: str = "states") -> None:
    """Satellite states (rows: position at transmission, velocity, clock, drift, ...) agree
    column by column, each to its own scale (satnav.estimators.spp_states_kernel.STATES_RTOL)."""
    want, got = np.atleast_1d(want), np.atleast_1d(got)
    if want.ndim == 1:
        want, got = want[:, None], got[:, None]
    for j in range(want.shape[1]):
        assert_agree(want[:, j], got[:, j], f"{what} column {j}", rtol=spp_states_kernel.STATES_RTOL)


@pytest.fixture(scope="module")
def compiled():
    if not spp_states_kernel.use_compiled_states(True):
        _numba_present_or_skip()
        pytest.fail("numba is installed but the compiled SPP states kernel was not taken (its check "
                    "against NumPy failed: satnav._jit.agree)")
    yield spp_states_kernel._KERNELS[0]
    spp_states_kernel.use_compiled_states(None)


def _day_pairs(nav, letter, signal):
    """Every (satellite, epoch) pair of the day (30 s) of one system with a usable message,
    received with a pseudorange of 20 000-26 000 km, and NumPy's states of them (as
    spp._transmission_states computes them)."""
    eph = BroadcastEphemeris(nav)
    sats = np.unique(nav.messages[letter]["sat"]).astype(np.int64)
    t0 = int(nav.messages["G"]["toe"].min()) // 86_400_000_000_000 * 86_400_000_000_000
    epochs = t0 + np.arange(0, 86_400, 30, dtype=np.int64) * 1_000_000_000
    sat, receive = np.broadcast_arrays(sats[None, :], epochs[:, None])
    sat, receive = sat.ravel(), receive.ravel()
    pseudorange = 2.0e7 + 6.0e6 * np.random.default_rng(5).random(sat.size)
    t_tx = transmission_time(receive, pseudorange)
    signals = {letter: signal}
    st = eph.states_by_system(sat, t_tx, signals)
    ok = st.valid
    sat, receive, pseudorange, t_tx = sat[ok], receive[ok], pseudorange[ok], t_tx[ok]
    st = eph.states_by_system(sat, t_tx, signals)
    want = np.column_stack([position_at_transmission(st.position_m, st.velocity_m_s, st.clock_s), st.velocity_m_s,
                            st.clock_s, st.clock_drift_s_s])
    plan = eph.epoch_plan(sat, t_tx, signals)
    return sat, receive, pseudorange, t_tx, plan, want, st


@pytest.mark.parametrize("letter,signal", [("G", "C1C"), ("E", "C1C"), ("E", "C5Q"), ("C", "C2I"), ("J", "C1C")])
def test_whole_day_every_system(compiled, esbc_day, letter, signal):
    _, nav = esbc_day
    sat, receive, pseudorange, t_tx, plan, want, st = _day_pairs(nav, letter, signal)
    assert sat.size > 2000 or letter == "J"
    floats, times, geo, group_delay = plan.packed_rows()
    if letter == "C":  # the GEO rotation is exercised
        assert 300 < geo.sum() == is_beidou_geo(prn_of(sat)).sum()
    out, valid = np.empty((sat.size, 8)), np.empty(sat.size, dtype=bool)
    assert compiled(receive, pseudorange, False, plan.low, plan.high, floats, times, geo, out, valid)
    _assert_states(want, out)
    assert valid.all()
    np.testing.assert_array_equal(group_delay, np.nan_to_num(st.group_delay_s))
    # the same cores called with numbers by Python (no numba): the same values too
    for i in range(0, sat.size, 97):
        x, y, z, vx, vy, vz, clock, drift, rel = kepler_state_of_row(int(t_tx[i]), floats[i], int(times[i, 0]),
                                                                     int(times[i, 1]), bool(geo[i]))
        for j, v in enumerate([x - vx * clock, y - vy * clock, z - vz * clock, vx, vy, vz, clock, drift]):
            assert abs(v - want[i, j]) <= spp_states_kernel.STATES_RTOL * np.abs(want[:, j]).max(), (i, j)
        assert abs(rel - st.relativity_s[i]) <= spp_states_kernel.STATES_RTOL * np.abs(st.relativity_s).max()


def test_row_table_and_its_intervals(compiled, esbc_day):
    """The kernel reads the kept rows of a set of satellites whose intervals hold and refuses a
    time outside them; :func:`transmission_states` then renews the rows (the NumPy path's
    plan, its values). Rows prepared ahead serve a set never asked (a rising satellite) with
    NumPy's values."""
    _, nav = esbc_day
    eph = BroadcastEphemeris(nav)
    sats = np.unique(nav.messages["G"]["sat"]).astype(np.int64)
    t = int(nav.messages["G"]["toe"].min()) + 3_600_000_000_000
    signals = {"G": "C1C"}
    sats = sats[BroadcastEphemeris(nav).states(sats, np.full(sats.size, t), signal="C1C").valid]
    receive = np.full(sats.size, t, dtype=np.int64)
    pseudorange = np.full(sats.size, 2.2e7)
    table = eph.row_table(signals)
    assert table.gather(sats) is None
    got = spp_states_kernel.transmission_states(eph, sats, receive, pseudorange, signals)
    st = eph.states_by_system(sats, transmission_time(receive, pseudorange), signals)
    _assert_states(st.clock_s, got["clk"])
    rows = table.gather(sats)
    assert rows is not None and (rows[0] < t).all() and (rows[1] > t).all()
    out, valid = np.empty((sats.size, 8)), np.empty(sats.size, dtype=bool)
    assert compiled(receive, pseudorange, True, *rows[:5], out, valid)
    _assert_states(st.clock_s, out[:, 6])
    np.testing.assert_array_equal(rows[5], np.nan_to_num(st.group_delay_s))
    late = receive + 45 * 60_000_000_000  # past the midpoint between two messages
    assert not compiled(late, pseudorange, True, *rows[:5], out, valid)
    got = spp_states_kernel.transmission_states(eph, sats, late, pseudorange, signals)
    st = eph.states_by_system(sats, transmission_time(late, pseudorange), signals)
    assert st.valid.all()
    _assert_states(st.clock_s, got["clk"])
    _assert_states(position_at_transmission(st.position_m, st.velocity_m_s, st.clock_s), got["pos"])
    assert got["valid"].all()
    # ahead: every GPS satellite with messages at the last time read; a subset never asked
    # is then served from the rows (no plan made), with NumPy's values
    other = BroadcastEphemeris(nav)
    signals = {"G": "C1C", "E": "C1C"}
    ahead = other.row_table(signals)
    ahead.read(t)
    while not other.prepare_ahead(time.perf_counter() + 1):
        pass
    some = np.unique(np.concatenate([nav.messages[s]["sat"] for s in "GE"])).astype(np.int64)
    some = some[other.states_by_system(some, np.full(some.size, t), signals).valid][::3]
    plans = len(other._plans)
    receive = np.full(some.size, t + 75_000_000, dtype=np.int64)
    pseudorange = np.full(some.size, 2.3e7)
    got = spp_states_kernel.transmission_states(other, some, receive, pseudorange, signals)
    assert len(other._plans) == plans  # (no plan of the set)
    st = BroadcastEphemeris(nav).states_by_system(some, transmission_time(receive, pseudorange), signals)
    _assert_states(st.clock_s, got["clk"])
    _assert_states(position_at_transmission(st.position_m, st.velocity_m_s, st.clock_s), got["pos"])
    np.testing.assert_array_equal(got["gd"], np.nan_to_num(st.group_delay_s))
    # ahead, the choices after the intervals that end soon: a time past the end is served
    # from those (no plan made), with NumPy's values
    end = int(ahead.now.high[some].min())
    sat = some[ahead.now.high[some] == end][:1]
    ahead.read(end - 2_000_000_000)
    while not other.prepare_ahead(time.perf_counter() + 1):
        pass
    assert ahead.next.holds(sat, np.array([end + 1_000_000_000]))
    receive = np.array([end + 1_000_000_000 + 75_000_000])
    got = spp_states_kernel.transmission_states(other, sat, receive, np.array([2.3e7]), signals)
    assert len(other._plans) == plans
    st = BroadcastEphemeris(nav).states_by_system(sat, transmission_time(receive, np.array([2.3e7])), signals)
    _assert_states(st.clock_s, got["clk"])
    _assert_states(position_at_transmission(st.position_m, st.velocity_m_s, st.clock_s), got["pos"])


def _engine_run(epochs, nav, use_kernel, **options):
    spp_states_kernel.use_compiled_states(True if use_kernel else False)
    before = spp_states_kernel.EPOCHS_COMPILED[0]
    try:
        engine = SppEngine(nav, **options)
        sols = [engine.process(e) for e in epochs]
        taken = spp_states_kernel.EPOCHS_COMPILED[0] - before
    finally:
        spp_states_kernel.use_compiled_states(True)
    return Solution.concatenate(sols), taken


@pytest.mark.parametrize("source,options", [
    ("rtcm", {"systems": "GEC"}),
    ("rinex", {"systems": "GREC"}),  # GLONASS in the plan: NumPy's states
    ("rinex", {"systems": "GEC", "iono": "iono-free"}),  # two signals a system: NumPy's
])
def test_engine_solutions_identical(compiled, esbc_day, source, options):
    obs, nav = esbc_day
    epochs = _rtcm_epochs(obs, 120) if source == "rtcm" else list(obs.epoch_slice(600, 660).iter_epochs())
    kernel, n_kernel = _engine_run(epochs, nav, True, **options)
    numpy, n_numpy = _engine_run(epochs, nav, False, **options)
    assert n_numpy == 0
    if source == "rtcm":
        assert n_kernel == len(epochs)  # every epoch, plan renewals included
    else:
        assert n_kernel == 0
    assert_same_solutions(kernel, numpy)
    assert numpy.solved.sum() >= 0.9 * len(numpy)


def test_live_engine_takes_the_compiled_states(compiled, esbc_day):
    from satnav.options import StreamOptions
    from satnav.streams.live import LiveEngine

    obs, nav = esbc_day
    engine = LiveEngine(StreamOptions(mode="spp", systems="GEC"), nav)
    assert engine.compiled_spp_states
    before = spp_states_kernel.EPOCHS_COMPILED[0]
    fixes = [engine.process(e) for e in _rtcm_epochs(obs, 5)]
    assert spp_states_kernel.EPOCHS_COMPILED[0] - before == 5 and all(f is not None for f in fixes)


def test_without_numba_the_numpy_path():
    code = ("import satnav.estimators.spp_states_kernel as k, satnav.estimators.spp as s, sys;"
            "r = k.use_compiled_states(True); print(r, s._STATES_COMPILED is None, 'numba' in sys.modules)")
    env = dict(os.environ, SATNAV_NO_NUMBA="1", PYTHONPATH=os.pathsep.join(sys.path))
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "True", "False"]


def test_next_row_without_a_message_is_taken_as_such():
    """A satellite whose next choice (prepared ahead) is no message: past the end of its
    interval its row says so (no Keplerian row: the NumPy path decides), not the old
    message's constants."""
    from satnav.orbits.ephemeris import PackedRowTable

    table = PackedRowTable({"G": "C1C"})
    sat = np.array([5], np.int64)
    now, nxt = table.now, table.next
    now.floats = np.ones((now.has.size, 4))
    now.has[5], now.low[5], now.high[5] = True, 100, 200
    nxt.low[5], nxt.high[5] = 200, 300  # (no floats: no Keplerian row was ever stored there)
    assert table.gather(sat) is not None
    table.renew(None, sat, np.array([250], np.int64))
    assert table.gather(sat) is None
    assert now.holds(sat, np.array([250]))[0] and not now.has[5]
