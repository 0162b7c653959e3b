"""``kalman.solve``: the LAPACK gesv call behind ``np.linalg.solve`` without its wrapper
must give NumPy's public result bit for bit and its errors."""

from __future__ import annotations

import numpy as np
import pytest

from satnav.estimators.kalman import solve


def test_solve_equals_numpy_bit_for_bit():
    rng = np.random.default_rng(7)
    for n in (1, 2, 5, 20, 28):
        a = rng.standard_normal((n, n)) + n * np.eye(n)
        for b in (rng.standard_normal(n), rng.standard_normal((n, 3))):
            assert np.array_equal(solve(a, b), np.linalg.solve(a, b))
    # other dtypes and shapes go through the public function
    a = np.eye(3, dtype=np.float32)
    assert solve(a, np.ones(3, dtype=np.float32)).dtype == np.float32


def test_solve_singular_raises_linalg_error():
    with pytest.raises(np.linalg.LinAlgError):
        solve(np.zeros((3, 3)), np.ones(3))
    with pytest.raises(np.linalg.LinAlgError):
        solve(np.ones((4, 4)), np.ones((4, 2)))
