"""Saastamoinen with the standard atmosphere, against values computed by hand from the
formulas of Saastamoinen (1972) and RTKLIB's standard atmosphere (manual, E.5)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from satnav.models.troposphere import saastamoinen_delay, saastamoinen_zenith, standard_atmosphere


def test_standard_atmosphere_sea_level():
    p, t, e = standard_atmosphere(0.0)
    assert p == pytest.approx(1013.25)
    assert t == pytest.approx(288.16)  # 15 C + 273.16 (RTKLIB's constant)
    # e = 6.108 * 0.7 * exp((17.15*288.16 - 4684)/(288.16 - 38.45))
    #   = 4.2756 * exp(257.944 / 249.71) = 4.2756 * exp(1.0329743) = 4.2756 * 2.809393
    assert e == pytest.approx(12.0118, abs=2e-4)


def test_standard_atmosphere_at_1000_m():
    p, t, e = standard_atmosphere(1000.0)
    # 1013.25 * (1 - 0.022557)^5.2568 = 1013.25 * 0.886978
    assert p == pytest.approx(898.73, abs=0.01)
    assert t == pytest.approx(281.66)


def test_zenith_delays_sea_level_45_degrees():
    # cos(2*45 deg) = 0, h = 0: ZHD = 0.0022768 * 1013.25 = 2.306968 m
    p, t, e = standard_atmosphere(0.0)
    zhd, zwd = saastamoinen_zenith(math.radians(45.0), 0.0, p, t, e)
    assert zhd == pytest.approx(2.306968, abs=1e-6)
    # ZWD = 0.002277 * (1255/288.16 + 0.05) * 12.0118 = 0.002277 * 4.405224 * 12.0118
    assert zwd == pytest.approx(0.120489, abs=2e-5)


def test_slant_delay_mapping_and_limits():
    lat = math.radians(45.0)
    zenith = saastamoinen_delay(lat, 0.0, math.radians(90.0))
    assert zenith == pytest.approx(2.306968 + 0.120489, abs=3e-5)
    # 1/sin(30 deg) = 2
    assert saastamoinen_delay(lat, 0.0, math.radians(30.0)) == pytest.approx(2 * zenith, rel=1e-12)
    d = saastamoinen_delay(lat, np.array([0.0, 20000.0, 0.0, -500.0]), np.radians([-1.0, 45.0, np.nan, 90.0]))
    assert d[0] == 0.0  # below horizon
    assert d[1] == 0.0  # above 10 km: no standard atmosphere
    assert np.isnan(d[2])
    assert d[3] == pytest.approx(zenith)  # below the ellipsoid: evaluated at 0 m, continuous
    # Height 1000 m at the equator: ZHD = 0.0022768 * 898.8 / (1 - 0.00266 - 0.00028)
    p, _, _ = standard_atmosphere(1000.0)
    zhd, _ = saastamoinen_zenith(0.0, 1000.0, p, 280.0, 0.0)
    assert zhd == pytest.approx(0.0022768 * p / (1 - 0.00266 - 0.00028), rel=1e-12)


# --------------------------------------------------------------------------- GPT and GMF
# IERS Conventions (2010) software collection test cases (NRAO Green Bank, MJD 55055):
# GPT.F (test values as updated 2011-10-18) and GMF.F, values printed in their headers.
_GREEN_BANK = (0.6708665767, -1.393397187)


def test_gpt_iers_test_case():
    from satnav.models.troposphere import gpt

    p, t, n = gpt(55055.0, *_GREEN_BANK, 812.546)
    assert p == pytest.approx(918.0710638757363995, abs=1e-9)
    assert t - 273.15 == pytest.approx(19.31914181012882992, abs=1e-9)
    assert n == pytest.approx(-42.19185643717770517, abs=1e-9)


def test_gmf_iers_test_case():
    from satnav.models.troposphere import gmf_mapping

    mh, mw = gmf_mapping(55055.0, *_GREEN_BANK, 844.715, math.pi / 2 - 1.278564131)
    assert mh == pytest.approx(3.425245519339138678, abs=1e-12)
    assert mw == pytest.approx(3.449589116182419257, abs=1e-12)


def test_gmf_close_to_niell_and_broadcasts():
    """GMF and NMF agree within ~1 % at 5-90 degrees (Boehm et al. 2006, fig. 2: differences
    of a few mm of station height at 5 degrees cutoff); arrays broadcast."""
    from satnav.models.troposphere import gmf_mapping, niell_mapping

    el = np.radians([5.0, 10.0, 30.0, 90.0])
    lat = np.radians(52.1)
    mh, mw = gmf_mapping(60345.0, lat, np.radians(17.1), 80.0, el)
    nh, nw = niell_mapping(lat, 80.0, el, 35.0)
    assert mh.shape == (4,)
    assert mh[-1] == pytest.approx(1.0, abs=1e-9) and mw[-1] == pytest.approx(1.0, abs=1e-9)
    assert np.all(np.abs(mh / nh - 1) < 0.01)
    assert np.all(np.abs(mw / nw - 1) < 0.02)
