"""The compiled one-epoch SPP iterations (satnav.estimators.spp_kernel, numba) give the NumPy
path's solutions epoch by epoch, bit for bit where NumPy's elementary functions are the C
library's and to their rounding where they are NumPy's own (AVX-512; satnav._jit.agree; the
positions to 1 um), the same flags, satellites and iterations: ESBC (GPS + Galileo + BeiDou through an RTCM 3
MSM7 round trip, as the live stream delivers it; GLONASS alone; iono-free; C/N0 weights; no
ionosphere or troposphere model) and GEONET 0759 (RINEX 2: GPS, multi_signal with an
inter-frequency bias, reported weights). The NumPy path itself is held to the batch solver
and RTKLIB by test_spp_engine.py / test_spp_real.py. Skipped without numba (the NumPy path
then runs, tested everywhere else); the fallback is tested with SATNAV_NO_NUMBA."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

import satnav
from satnav.estimators import spp_kernel
from satnav.estimators.solution import Solution
from satnav.estimators.spp_engine import SppEngine
from tests.conftest import assert_agree, data_path

FIELDS = ("time_ns", "position_m", "clock_bias_s", "velocity_m_s", "clock_drift_s_s", "gdop", "pdop", "hdop",
          "vdop", "tdop", "status", "n_used", "residuals_m", "used", "excluded", "azimuth_rad", "elevation_rad",
          "test_statistic", "test_threshold", "covariance_m2", "iterations")
#: The tolerance of a field besides satnav._jit.agree's default (of the array's scale):
#: ECEF positions (m) to 1 um.
TOLERANCE = {"position_m": {"rtol": 0.0, "atol": 1e-6}}


def assert_same_solutions(kernel, numpy, fields=FIELDS) -> None:
    """``kernel``'s solution fields are ``numpy``'s (to the elementary functions' rounding)."""
    for f in fields:
        assert_agree(getattr(numpy, f), getattr(kernel, f), f, **TOLERANCE.get(f, {}))


def _numba_present_or_skip() -> None:
    from satnav._jit import numba_wanted

    if not numba_wanted():
        pytest.skip("numba not available (or SATNAV_NO_NUMBA set)")


@pytest.fixture(scope="module")
def compiled():
    if not spp_kernel.use_compiled_spp(True):
        _numba_present_or_skip()
        pytest.fail("numba is installed but the compiled SPP epoch kernel was not taken (its check "
                    "against NumPy failed: satnav._jit.agree)")
    yield
    spp_kernel.use_compiled_spp(None)


@pytest.fixture(scope="module")
def esbc(esbc_day):
    return esbc_day


@pytest.fixture(scope="module")
def gsi():
    d = data_path("gsi-2005-092")
    return satnav.read_obs(d / "07590920.05o"), satnav.read_nav(d / "07590920.05n")


def _engine_run(epochs, nav, use_kernel, **options):
    spp_kernel.use_compiled_spp(True if use_kernel else False)
    before = spp_kernel.EPOCHS_COMPILED[0], spp_kernel.EPOCHS_FINISHED[0]
    try:
        engine = SppEngine(nav, **options)
        sols = [engine.process(e) for e in epochs]
        taken = spp_kernel.EPOCHS_COMPILED[0] - before[0], spp_kernel.EPOCHS_FINISHED[0] - before[1]
    finally:
        spp_kernel.use_compiled_spp(True)
    return Solution.concatenate(sols), taken


def _assert_identical(epochs, nav, finished=0.9, **options):
    """The kernel's and NumPy's solutions of ``epochs`` are the same; each path was taken
    (the solution assembled by finish_epoch for at least the fraction ``finished`` of them)."""
    kernel, (n_kernel, n_finished) = _engine_run(epochs, nav, True, **options)
    numpy, (n_numpy, n_numpy_finished) = _engine_run(epochs, nav, False, **options)
    assert n_numpy == 0 and n_kernel >= len(epochs), (n_kernel, n_numpy)  # each path really taken
    assert n_numpy_finished == 0 and n_finished >= finished * len(epochs), (n_finished, len(epochs))
    assert_same_solutions(kernel, numpy)
    for s, n in numpy.n_used_by_system.items():
        np.testing.assert_array_equal(kernel.n_used_by_system[s], n)
    ifb_k = kernel.options.pop("inter_frequency_bias_m", {})
    ifb_n = numpy.options.pop("inter_frequency_bias_m", {})
    assert kernel.options == numpy.options and list(ifb_k) == list(ifb_n)
    for key, value in ifb_n.items():
        assert_agree(value, ifb_k[key], key)
    numpy.options["inter_frequency_bias_m"] = ifb_n
    assert numpy.solved.sum() >= 0.9 * len(numpy)
    return numpy, n_finished


def _rtcm_epochs(obs, n):
    """The first ``n`` epochs of ``obs`` as a live RTCM 3 stream delivers them (MSM7 GEC,
    encoded and decoded again; as bench/engine.py's round trip)."""
    from satnav.io.rtcm3 import Rtcm3Decoder
    from satnav.io.rtcm3_encode import Rtcm3Encoder
    from satnav.io.stream_items import EpochItem

    enc = Rtcm3Encoder(1, systems="GEC")
    dec = Rtcm3Decoder(time_hint_ns=int(obs.epochs[0]))
    items = []
    for k, e in enumerate(obs.epoch_slice(0, n).iter_epochs()):
        head = enc.encode_station(obs.header.approx_position_m) if k % 10 == 0 else b""
        items.extend(dec.feed(head + enc.encode_epoch(e)))
    items.extend(dec.flush())
    return [i.observations for i in items if isinstance(i, EpochItem)]


def test_rtcm_stream_gec(compiled, esbc):
    obs, nav = esbc
    _assert_identical(_rtcm_epochs(obs, 120), nav, systems="GEC")


@pytest.mark.parametrize("options", [
    {"systems": "R"},  # GLONASS: frequency channels, broadcast orbit + clock variance
    {"systems": "GEC", "iono": "iono-free"},
    {"systems": "GREC", "cn0_error_m": 0.3},
    {"systems": "GE", "iono": "none", "troposphere": False, "exclude": ("G05",)},
])
def test_rinex_options(compiled, esbc, options):
    obs, nav = esbc
    _assert_identical(list(obs.epoch_slice(600, 700).iter_epochs()), nav, **options)


@pytest.mark.parametrize("options", [{}, {"multi_signal": True}, {"weights": "reported"}])
def test_gsi_gps(compiled, gsi, options):
    obs, nav = gsi
    # (multi_signal: a satellite in two measurement columns, assembled by NumPy)
    sol, _ = _assert_identical(list(obs.iter_epochs()), nav, finished=0.0 if options else 0.9, **options)
    if options.get("multi_signal"):
        assert sol.options["inter_frequency_bias_m"]  # the bias column is estimated


def test_velocity_outliers_and_faults_assembled_by_numpy(compiled, esbc):
    """Epochs whose Doppler velocity needs the outlier rounds (a Doppler 100 Hz off: 19 m/s) are
    handed back to NumPy by finish_epoch, epochs with a pseudorange fault excluded are not;
    the solutions are NumPy's either way."""
    obs, nav = esbc
    epochs = []
    for k, e in enumerate(obs.epoch_slice(300, 340).iter_epochs()):
        rows = e.rows_of_code("D1C")
        value = e.value.copy()
        if k % 4 == 0 and len(rows):
            value[rows[k % len(rows)]] += 100.0  # Hz
        rows = e.rows_of_code("C1C")
        if k % 5 == 1 and len(rows):
            value[rows[0]] += 300.0  # m
        e.value = value  # (a new array: the day's observations are not touched)
        epochs.append(e)
    sol, n_finished = _assert_identical(epochs, nav, finished=0.6, systems="GE")
    assert n_finished < len(epochs)  # the outliers' epochs handed back
    assert (sol.status == 1).sum() >= 5  # the faults excluded


def test_without_numba_the_numpy_path():
    """SATNAV_NO_NUMBA (or numba missing): use_compiled_spp says False and the live engine
    solves with NumPy; with numba the live engine reports the kernel in use."""
    code = ("import satnav.estimators.spp_kernel as k, satnav.estimators.spp as s, sys;"
            "r = k.use_compiled_spp(True); print(r, s._COMPILED is None, 'numba' in sys.modules)")
    env = dict(os.environ, SATNAV_NO_NUMBA="1", PYTHONPATH=os.pathsep.join(sys.path))
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "True", "False"]


def test_live_engine_takes_the_compiled_path(compiled, esbc):
    from satnav.options import StreamOptions
    from satnav.streams.live import LiveEngine

    obs, nav = esbc
    engine = LiveEngine(StreamOptions(mode="spp", systems="GEC"), nav)
    assert engine.compiled_spp
    before = spp_kernel.EPOCHS_COMPILED[0]
    fixes = [engine.process(e) for e in _rtcm_epochs(obs, 5)]
    assert spp_kernel.EPOCHS_COMPILED[0] - before >= 5 and all(f is not None for f in fixes)
    assert not any("did not load" in e for e in engine.events)


def test_live_engine_says_when_a_kernel_did_not_load(compiled, monkeypatch):
    """numba installed but the kernel refused (as its exact check once did on every AVX-512
    machine): the live engine runs NumPy and says so among its events."""
    from satnav.options import StreamOptions
    from satnav.streams.live import LiveEngine

    monkeypatch.setattr(spp_kernel, "_LOADED", False)  # (what a failed load leaves)
    try:
        engine = LiveEngine(StreamOptions(mode="spp", systems="GEC"))
        assert not engine.compiled_spp
        assert [e for e in engine.events if "compiled SPP epoch kernel did not load" in e], list(engine.events)
    finally:
        monkeypatch.undo()
        spp_kernel.use_compiled_spp(True)


@pytest.mark.slow
def test_first_compile_is_announced_then_cached(tmp_path):
    """A first run (empty numba cache) says that it compiles (``satnav stream`` prints it) and
    two processes compiling at once both succeed; the next run loads the cache silently."""
    code = ("import satnav._jit as j, satnav.estimators.spp_kernel as k;"
            "j.on_compile = lambda text: print('NOTE', text);"
            "print(k.use_compiled_spp(True))")
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path), PYTHONPATH=os.pathsep.join(sys.path))
    env.pop("SATNAV_NO_NUMBA", None)
    first = [subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, text=True)
             for _ in range(2)]
    outs = [p.communicate(timeout=600)[0] for p in first]
    for out in outs:
        assert "NOTE compiling solve_epoch" in out and out.split()[-1] == "True", out
    again = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=600)
    assert again.stdout.split() == ["True"], again.stdout
