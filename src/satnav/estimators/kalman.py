"""Extended Kalman filter steps on dense NumPy matrices.

Small, allocation-light helpers used by the RTK filter (:mod:`satnav.estimators.rtk`):
the prediction ``x = F x``, ``P = F P F^T + Q`` and the measurement update with
innovation ``v = z - h(x)`` (already linearised by the caller), in the symmetric form
``P = P - K S K^T`` (Gelb 1974, ch. 6; RTKLIB ``filter()``).
"""

from __future__ import annotations

import numpy as np

__all__ = ["predict", "update", "innovation_test", "solve"]

try:  # the LAPACK (gesv) gufuncs behind np.linalg.solve and its error handler
    from numpy.linalg import _umath_linalg
    from numpy.linalg._linalg import _raise_linalgerror_singular

    _GESV, _GESV1 = _umath_linalg.solve, _umath_linalg.solve1
except (ImportError, AttributeError):  # pragma: no cover - other NumPy layouts
    _GESV = _GESV1 = None


def solve(a, b):
    """``np.linalg.solve(a, b)``, the same LAPACK call and result, without the wrapper's
    argument checks and conversions when ``a`` (square) and ``b`` (1-D or 2-D) are float64
    arrays: the filter solves a few systems of ~20 rows per epoch, where those checks are a
    fifth of the time. Raises :class:`numpy.linalg.LinAlgError` for a singular ``a``."""
    if (_GESV is None or type(a) is not np.ndarray or type(b) is not np.ndarray
            or a.dtype != np.float64 or b.dtype != np.float64 or a.ndim != 2
            or a.shape[0] != a.shape[1] or not 1 <= b.ndim <= 2):
        return np.linalg.solve(a, b)
    gufunc = _GESV1 if b.ndim == 1 else _GESV
    with np.errstate(call=_raise_linalgerror_singular, invalid="call", over="ignore",
                     divide="ignore", under="ignore"):
        return gufunc(a, b, signature="dd->d")


def predict(x, P, F, Q):
    """Time update. Returns ``(F x, F P F^T + Q)``."""
    x = F @ x
    P = F @ P @ F.T + Q
    return x, 0.5 * (P + P.T)


def update(x, P, v, H, R):
    """Measurement update.

    Parameters
    ----------
    x : ndarray (n,)
        State.
    P : ndarray (n, n)
        State covariance.
    v : ndarray (k,)
        Innovations ``z - h(x)``.
    H : ndarray (k, n)
        Jacobian of ``h``.
    R : ndarray (k, k)
        Measurement covariance.

    Returns
    -------
    x, P : updated state and covariance
    S : ndarray (k, k)
        Innovation covariance ``H P H^T + R``.

    Raises
    ------
    numpy.linalg.LinAlgError
        When ``S`` is singular.
    """
    PHt = P @ H.T
    S = H @ PHt + R
    S = 0.5 * (S + S.T)
    # K^T = S^-1 (P H^T)^T by one LU solve: NumPy has no triangular solve, and two general
    # solves with the Cholesky factors cost twice as much for the same result.
    Kt = solve(S, PHt.T)
    K = Kt.T
    x = x + K @ v
    P = P - K @ PHt.T
    return x, 0.5 * (P + P.T), S


def innovation_test(v, S, threshold):
    """Normalised innovations ``|v_i| / sqrt(S_ii)`` above ``threshold`` (bool array)."""
    return np.abs(v) > threshold * np.sqrt(np.maximum(np.diag(S), 0.0))
