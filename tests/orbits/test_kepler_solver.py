"""The one Kepler solver (satnav.orbits.kepler.solve_kepler) over the whole elliptic range the
constellation designer accepts, checked against Kepler's equation itself."""

from __future__ import annotations

import numpy as np
import pytest

from satnav.orbits.kepler import solve_kepler


@pytest.mark.parametrize("e", [0.0, 0.01, 0.3, 0.75, 0.9, 0.99, 0.999])
def test_solves_keplers_equation_for_any_eccentricity(e):
    # M = E - e sin E (Kepler's equation) holds to rounding, also where Newton's
    # method from E0 = M diverges (e = 0.99) and for mean anomalies of several revolutions
    m = np.linspace(-20.0, 20.0, 40001)
    ecc = solve_kepler(m, e)
    assert np.max(np.abs(ecc - e * np.sin(ecc) - m) / (1.0 + np.abs(m))) < 1e-15


def test_invalid_messages_stay_nan():
    out = solve_kepler(np.array([0.5, np.nan, 1.0]), np.array([0.01, 0.01, np.nan]))
    assert np.isfinite(out[0]) and np.isnan(out[1]) and np.isnan(out[2])
