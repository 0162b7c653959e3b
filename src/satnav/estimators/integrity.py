"""Receiver autonomous integrity monitoring: residual test and fault exclusion helpers.

The snapshot residual test (e.g. Brown 1992, "A baseline GPS RAIM scheme and a note on
the equivalence of three RAIM methods", Navigation 39(3)) compares the weighted sum of
squared post-fit residuals ``T = sum(v_i^2 / sigma_i^2)`` of an epoch with the
chi-square quantile for its redundancy ``n - p``. A failing epoch's most likely faulty
measurement is the one with the largest *standardized* residual
``|v_i| / sqrt(sigma_i^2 - (H Q H^T)_ii)`` (Baarda's w-test), with ``Q = (H^T W H)^-1``.

The functions here are vectorized over epochs; the exclusion loop itself, which needs
the measurement model, lives in :mod:`satnav.estimators.spp`.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "DEFAULT_FALSE_ALARM",
    "chi_square_threshold",
    "test_statistic",
    "standardized_residuals",
]

#: Default probability of false alarm of the residual test (per epoch).
DEFAULT_FALSE_ALARM = 1e-3

# Chi-square quantiles for probability 0.999 and 1..30 degrees of freedom (standard
# tables, e.g. NIST/SEMATECH e-Handbook 1.3.6.7.4; the same as scipy.stats.chi2.ppf).
_CHI2_999 = np.array([
    10.828, 13.816, 16.266, 18.467, 20.515, 22.458, 24.322, 26.124, 27.877, 29.588,
    31.264, 32.909, 34.528, 36.123, 37.697, 39.252, 40.790, 42.312, 43.820, 45.315,
    46.797, 48.268, 49.728, 51.179, 52.620, 54.052, 55.476, 56.892, 58.301, 59.703,
])


#: ``statistics.NormalDist().inv_cdf(1 - DEFAULT_FALSE_ALARM)``, the same double (tested):
#: the ``statistics`` module (it imports ``fractions`` and ``decimal``) is not loaded for it.
_Z_DEFAULT = 3.090232306167813


def _normal_quantile(p: float) -> float:
    """Standard normal quantile of probability ``p`` (``statistics.NormalDist``)."""
    if p == 1.0 - DEFAULT_FALSE_ALARM:
        return _Z_DEFAULT
    from statistics import NormalDist

    return NormalDist().inv_cdf(p)


def chi_square_threshold(dof, false_alarm: float = DEFAULT_FALSE_ALARM) -> np.ndarray:
    """Chi-square quantile ``P(X > threshold) = false_alarm`` for ``dof`` degrees of freedom.

    Exact table values for ``false_alarm = 1e-3`` and ``dof <= 30``; otherwise the
    Wilson-Hilferty approximation ``k (1 - 2/(9k) + z sqrt(2/(9k)))^3`` (relative error
    below 0.2 % for k >= 30 at 1e-3; a few % at k = 1..3 for other probabilities).

    Parameters
    ----------
    dof : array_like of int
        Degrees of freedom; NaN is returned where ``dof < 1``.
    false_alarm : float
        Probability of false alarm, 0 < p < 1.

    Returns
    -------
    ndarray of float
    """
    if not 0.0 < false_alarm < 1.0:
        raise ValueError(f"false-alarm probability must be in (0, 1), got {false_alarm}")
    if false_alarm == DEFAULT_FALSE_ALARM:  # every dof in the table: its values (as below)
        if type(dof) is np.ndarray and dof.shape == (1,) and dof.dtype.kind in "iu":  # one epoch's
            d = int(dof[0])
            if 1 <= d <= len(_CHI2_999):
                return _CHI2_999[d - 1:d].copy()
        ki = np.asarray(dof)
        if ki.ndim and ki.size and ki.dtype.kind in "iu" and ki.min() >= 1 and ki.max() <= len(_CHI2_999):
            return _CHI2_999[ki - 1]
    k = np.asarray(dof, dtype=np.float64)
    z = _normal_quantile(1.0 - false_alarm)
    with np.errstate(invalid="ignore", divide="ignore"):
        c = 2.0 / (9.0 * k)
        out = k * (1.0 - c + z * np.sqrt(c)) ** 3
    if false_alarm == DEFAULT_FALSE_ALARM:
        ki = np.asarray(dof)
        in_table = (k >= 1) & (k <= len(_CHI2_999))
        idx = np.where(in_table, ki, 1).astype(np.intp) - 1
        out = np.where(in_table, _CHI2_999[idx], out)
    return np.where(k >= 1, out, np.nan)


def test_statistic(residuals, weights, used) -> np.ndarray:
    """Weighted sum of squared residuals per epoch, ``sum(w v^2)`` over ``used`` (last axis)."""
    v = np.where(used, residuals, 0.0)
    w = np.where(used, weights, 0.0)
    return np.sum(w * v * v, axis=-1)


def standardized_residuals(residuals, variances, design, cofactor, used) -> np.ndarray:
    """Standardized (w-test) residuals ``|v| / sqrt(sigma^2 - h Q h^T)`` per measurement.

    Parameters
    ----------
    residuals, variances : ndarray (m, k)
        Post-fit residuals (m) and a-priori variances (m^2).
    design : ndarray (m, k, p)
        Design matrix rows.
    cofactor : ndarray (m, p, p)
        ``(H^T W H)^-1``.
    used : ndarray bool (m, k)

    Returns
    -------
    ndarray (m, k)
        0 where unused or where the residual has no redundancy (its variance is ~0, e.g.
        the only satellite of a clock group): such a measurement cannot be identified.
    """
    hq = np.matmul(design, cofactor)  # (m, k, p)
    h_ii = np.sum(hq * design, axis=-1)
    r = variances - h_ii
    ok = used & (r > 1e-6 * variances)
    with np.errstate(invalid="ignore", divide="ignore"):
        w = np.abs(residuals) / np.sqrt(np.where(ok, r, 1.0))
    return np.where(ok, w, 0.0)
