"""PPP integer ambiguity resolution (issue 14 item 3): the pieces against hand values and
the product checks. The BOR1 accuracy tests with GRG integer-clock products are in
test_ppp.py."""

from __future__ import annotations

import numpy as np
import pytest

from satnav.errors import SatnavError
from satnav.estimators.ppp import PppOptions
from satnav.estimators.ppp_ar import (
    ArSettings,
    WidelaneAverages,
    lane_factors,
    resolve_ppp_ambiguities,
)


def test_lane_factors_by_hand():
    # GPS L1/L2 (IS-GPS-200: 1575.42, 1227.60 MHz) and Galileo E1/E5a (1575.42, 1176.45 MHz):
    # lambda_NL = c / (f1 + f2), beta = c f2 / (f1^2 - f2^2), computed by hand
    lam, beta = lane_factors([1575.42e6, 1575.42e6], [1227.60e6, 1176.45e6])
    assert lam == pytest.approx([0.1069534, 0.1089414], abs=1e-7)
    assert beta == pytest.approx([0.3774825, 0.3212373], abs=1e-7)


def test_widelane_averages_restart_and_statistics():
    rng = np.random.default_rng(1)
    wl = WidelaneAverages(8)
    values = rng.normal(3.2, 0.3, size=(40, 2))
    for v in values[:20]:
        wl.add([2, 5], v)
    wl.restart([5])
    for v in values[20:]:
        wl.add([2, 5], [v[0], np.nan if v[1] > 3.5 else v[1]])
    mean, sigma, n = wl.estimate([2, 5, 7])
    assert mean[0] == pytest.approx(values[:, 0].mean())
    assert sigma[0] == pytest.approx(values[:, 0].std(ddof=1) / np.sqrt(40))
    tail = values[20:, 1][values[20:, 1] <= 3.5]
    assert n[1] == len(tail) and mean[1] == pytest.approx(tail.mean())
    assert n[2] == 0 and np.isnan(mean[2])


def test_resolution_of_a_synthetic_float_state():
    """Integers put into the ionosphere-free ambiguities come back (B = lambda_NL N1 + beta Nw
    plus a receiver bias common to the system), and the constraint moves the state."""
    rng = np.random.default_rng(7)
    k = 7
    f1, f2 = np.full(k, 1575.42e6), np.full(k, 1227.60e6)
    lam, beta = lane_factors(f1, f2)
    n1 = rng.integers(-30, 30, k)
    nw = rng.integers(-10, 10, k)
    receiver = 0.0371  # m, common receiver phase bias
    x = np.zeros(4 + k)
    x[4:] = lam * n1 + beta * nw + receiver + rng.normal(0, 0.002, k)
    P = np.eye(4 + k) * 1e-2
    P[4:, 4:] = np.eye(k) * 0.003**2
    wl_mean = nw + 0.43 + rng.normal(0, 0.03, k)  # receiver wide-lane bias 0.43 cycles
    res = resolve_ppp_ambiguities(x, P, np.arange(4, 4 + k), np.arange(1, k + 1), np.array(["G"] * k), f1, f2,
                                  np.radians(np.linspace(20, 80, k)), wl_mean, np.full(k, 0.03),
                                  np.full(k, 50), ArSettings())
    assert res.fixed and res.n_fixed == k - 1 and res.n_widelane == k - 1
    ref = k - 1  # the highest satellite
    for sat, r, w, n in res.pairs:
        assert r == ref + 1
        assert w == nw[sat - 1] - nw[ref] and n == n1[sat - 1] - n1[ref]
    assert np.all(np.abs(res.wl_fractions) < 0.15)
    d = res.x[4:] - res.x[4 + ref]
    assert np.allclose(d, lam * (n1 - n1[ref]) + beta * (nw - nw[ref]), atol=0.002)


def test_ambiguity_resolution_option():
    with pytest.raises(SatnavError, match="ambiguity_resolution 'on': expected 'off', 'fix' or 'hold'"):
        PppOptions(ambiguity_resolution="on")


def _bor1(*names):
    from tests.conftest import data_path

    return [data_path("bor1-2024-035", n) for n in names]


@pytest.fixture(scope="module")
def bor1_hour():
    from satnav.pipeline import read_observations
    from tests.conftest import data_path

    return read_observations(data_path("bor1-2024-035", "BOR100POL_R_20240350000_01D_30S_MO.crx.gz")).epoch_slice(0, 120)


def test_products_without_integer_clocks_stay_float(bor1_hour):
    """GRG orbits/clocks with CODE biases: mixed centres, so the biases are not applied and
    ambiguity resolution is off (said); the uncombined model has no AR either."""
    from satnav.errors import SatnavWarning
    from satnav.estimators.ppp import solve_ppp
    from satnav.pipeline import precise_products

    mixed = precise_products(_bor1("GRG0MGXFIN_20240350000_01D_05M_ORB.SP3.gz",
                                   "COD0OPSFIN_20240350000_01D_01D_OSB.BIA.gz"))
    with pytest.warns(SatnavWarning, match="ambiguity resolution off: the bias file is not of the clocks' analysis "
                                           "centre; the solution is float"):
        sol = solve_ppp(bor1_hour, mixed, PppOptions(ambiguity_resolution="fix"))
    assert not sol.fixed.any() and sol.models["ambiguity-resolution"].startswith("off (")
    assert np.array_equal(sol.position_m, sol.float_position_m, equal_nan=True)
    grg = precise_products(_bor1("GRG0MGXFIN_20240350000_01D_05M_ORB.SP3.gz", "GRG0MGXFIN_20240350000_01D_01D_OSB.BIA"))
    with pytest.warns(SatnavWarning, match="ambiguity resolution off: implemented for the ionosphere-free model"):
        solve_ppp(bor1_hour.epoch_slice(0, 20), grg, PppOptions(ambiguity_resolution="fix", ionosphere="uncombined"))
