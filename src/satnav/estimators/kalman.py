"""Extended Kalman filter steps on dense NumPy matrices.

Small, allocation-light helpers used by the RTK filter (:mod:`satnav.estimators.rtk`):
the prediction ``x = F x``, ``P = F P F^T + Q`` and the measurement update with
innovation ``v = z - h(x)`` (already linearised by the caller), in the symmetric form
``P = P - K S K^T`` (Gelb 1974, ch. 6; RTKLIB ``filter()``).
"""

from __future__ import annotations

import numpy as np

__all__ = ["predict", "update", "innovation_test"]


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
    Kt = np.linalg.solve(S, PHt.T)
    K = Kt.T
    x = x + K @ v
    P = P - K @ PHt.T
    return x, 0.5 * (P + P.T), S


def innovation_test(v, S, threshold):
    """Normalised innovations ``|v_i| / sqrt(S_ii)`` above ``threshold`` (bool array)."""
    return np.abs(v) > threshold * np.sqrt(np.maximum(np.diag(S), 0.0))
