"""satnav._jit.agree: what "the compiled kernel gives NumPy's values" means, on values written
by hand (the last bits of an elementary function, a flag, a NaN, a shape)."""

from __future__ import annotations

import math

import numpy as np

from satnav._jit import AGREE_RTOL, agree


def test_last_bits_agree_a_model_difference_does_not():
    x = np.array([2.2e7, 1.5e3, -0.25, 0.0])
    assert agree(x, x.copy())
    assert agree(x, np.nextafter(x, np.inf))  # an ulp of each value
    # rounding of the large terms reaches the small ones: held to the array's scale
    assert agree(x, x + np.array([0.0, 0.0, 1e-3 * AGREE_RTOL * 2.2e7, 0.0]))
    assert not agree(x, x + np.array([0.0, 0.0, 2.0 * AGREE_RTOL * 2.2e7, 0.0]))
    # 1 mm on a range of 2.2e7 m is a model difference, not rounding
    assert not agree(x, x + np.array([1e-3, 0.0, 0.0, 0.0]), rtol=0.0, atol=1e-6)
    assert agree(x, x + np.array([1e-7, 0.0, 0.0, 0.0]), rtol=0.0, atol=1e-6)


def test_flags_counts_nans_and_shapes_must_be_equal():
    assert agree(np.array([True, False]), np.array([True, False]))
    assert not agree(np.array([True, False]), np.array([True, True]))
    assert not agree(np.array([6]), np.array([7]))  # an iteration count
    assert not agree(np.array([6]), np.array([6.0]))  # an integer is not a float
    assert agree(np.array([1.0, math.nan]), np.array([1.0, math.nan]))
    assert not agree(np.array([1.0, math.nan]), np.array([1.0, 1.0]))
    assert not agree(np.array([math.inf, 1.0]), np.array([-math.inf, 1.0]))
    assert agree(np.array([math.nan]), np.array([math.nan]))
    assert not agree(np.zeros(3), np.zeros((1, 3)))
    assert agree(3.5, 3.5) and not agree(3.5, 3.6)
