"""The fast NaN-median of the cycle-slip detectors against numpy.nanmedian."""

from __future__ import annotations

import warnings

import numpy as np

from satnav.estimators.cycle_slips import _nanmedian_last


def test_nanmedian_last_equals_numpy():
    rng = np.random.default_rng(4)
    for shape in [(50, 7, 5), (40, 12), (3, 1), (6, 4)]:
        x = rng.normal(size=shape) * 0.01
        x[rng.random(shape) < 0.35] = np.nan
        x[0] = np.nan  # rows without any value
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            ref = np.nanmedian(x, axis=-1)
        assert np.array_equal(_nanmedian_last(x), ref, equal_nan=True)  # bit for bit
