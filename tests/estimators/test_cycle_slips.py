"""Cycle-slip detectors on real GEONET phase data (gsi-2005-092) with injected slips."""

from __future__ import annotations

import numpy as np
import pytest

import satnav
from satnav.constants import FREQ_L1, FREQ_L2, SPEED_OF_LIGHT
from satnav.estimators.cycle_slips import (
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
