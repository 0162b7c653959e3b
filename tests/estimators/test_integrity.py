"""The residual test's thresholds against outside values."""

from __future__ import annotations

from statistics import NormalDist

import numpy as np

from satnav.estimators import integrity


def test_default_normal_quantile_is_the_statistics_one():
    # kept as a constant so that the statistics module is not imported at every solve
    assert integrity._normal_quantile(1.0 - integrity.DEFAULT_FALSE_ALARM) == NormalDist().inv_cdf(0.999)
    assert integrity._normal_quantile(0.99) == NormalDist().inv_cdf(0.99)


def test_chi_square_thresholds_match_the_tables():
    # chi-square 0.999 quantiles (NIST/SEMATECH e-Handbook 1.3.6.7.4): 1, 10, 30 dof
    np.testing.assert_allclose(integrity.chi_square_threshold([1, 10, 30]), [10.828, 29.588, 59.703])
    # beyond the table: Wilson-Hilferty, within 0.2 % of the exact 0.999 quantile for 50 dof (86.661)
    np.testing.assert_allclose(integrity.chi_square_threshold(50), 86.661, rtol=2e-3)
