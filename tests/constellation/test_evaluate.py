"""Service table: solve a simulation per combination and compare with the truth."""

from __future__ import annotations

import math

import numpy as np
import pytest

from satnav.constellation.design import builtin_constellation, regional_example
from satnav.constellation.evaluate import (
    default_combinations,
    evaluate,
    evaluate_directory,
    format_table,
)
from satnav.constellation.simulate import simulate
from satnav.errors import SatnavError
from satnav.frames import geodetic_to_ecef
from satnav.gnss_time import NS_PER_S, calendar_to_ns

START = int(calendar_to_ns(2020, 6, 25, 2))
TIMES = START + np.arange(0, 10 * 60 + 1, 60, dtype=np.int64) * NS_PER_S
SITE = geodetic_to_ecef(math.radians(25.0), math.radians(100.0), 2000.0)
SYSTEMS = {"GLONASS": "R", "Regional example": "I"}


@pytest.fixture(scope="module")
def sim():
    cons = [builtin_constellation("glonass", epoch_ns=START), regional_example(epoch_ns=START)]
    return simulate(cons, SITE, TIMES, noise_free=True)


def test_default_combinations():
    combos = default_combinations({"GPS": "G", "GLONASS": "R", "Regional": "I"})
    assert combos == [("GPS", "G"), ("GLONASS", "R"), ("Regional", "I"),
                      ("GLONASS + Regional", "RI"), ("All", "GRI")]  # fmt: skip


def test_noise_free_service_table(sim):
    rows = evaluate(sim.obs, sim.nav, SITE, SYSTEMS)
    assert [r.systems for r in rows] == ["R", "I", "RI"]
    for r in rows:
        assert r.availability_pct == 100.0
        assert r.h_rms_m < 0.01 and r.v_95_m < 0.01
    # satellites used = satellites the simulation saw above the mask
    vis = sim.visible.sum(axis=1).mean()
    assert rows[-1].mean_sats == pytest.approx(vis)
    assert rows[-1].pdop_median < min(rows[0].pdop_median, rows[1].pdop_median)
    text = format_table(rows, rich=False)
    assert "GLONASS + Regional example" in text and "100.0" in text


def test_evaluate_directory(sim, tmp_path):
    sim.write(tmp_path)
    rows = evaluate_directory(tmp_path)
    assert rows[-1].h_rms_m < 0.01
    with pytest.raises(SatnavError, match="simulation.json"):
        evaluate_directory(tmp_path / "nothing")
