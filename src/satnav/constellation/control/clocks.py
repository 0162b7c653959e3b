"""Stochastic clock models: the two-state (phase, frequency) model with white and random-walk
frequency noise (Zucca & Tavella 2005, IEEE UFFC 52:289), whose Allan deviation is
``sigma_y(tau)^2 = q1 / tau + q2 tau / 3``.

The table holds representative figures of the standards a navigation system flies and runs
(orders of magnitude from manufacturers' data sheets and on-orbit analyses of GNSS clocks,
e.g. Montenbruck et al. 2012 for Galileo RAFS/PHM): sigma_y(1 s) from white FM and
sigma_y(1 day) from random-walk FM (whichever dominates there):

=================  =============  ================  ========================================
standard           sigma_y(1 s)   sigma_y(1 day)     use
=================  =============  ================  ========================================
rubidium (RAFS)    2e-12          5e-14 (RW FM)     satellites (GPS IIF, Galileo, BeiDou)
passive H-maser    7e-13          2e-14             satellites (Galileo PHM)
caesium beam       1e-11          3e-14             satellites (GPS IIA), monitor stations
active H-maser     1e-13          3e-15             the master station: system time
quartz (OCXO)      1e-11          1e-10             receivers without an external standard
=================  =============  ================  ========================================

Phases in seconds, frequencies dimensionless, time in int64 ns GPST.
"""

from __future__ import annotations

import numpy as np

from ...errors import SatnavError

__all__ = ["CLOCK_MODELS", "allan_deviation", "simulate_clock"]

DAY_S = 86400.0

#: standard -> (q1 (s), q2 (1/s)): white FM and random-walk FM diffusion coefficients from
#: the sigma_y(1 s) and the random-walk part of sigma_y(1 day) in the module table.
CLOCK_MODELS: dict[str, tuple[float, float]] = {
    "rubidium": ((2e-12) ** 2, 3 * (5e-14) ** 2 / DAY_S),
    "passive-maser": ((7e-13) ** 2, 3 * (2e-14) ** 2 / DAY_S),
    "caesium": ((1e-11) ** 2, 3 * (3e-14) ** 2 / DAY_S),
    "hydrogen-maser": ((1e-13) ** 2, 3 * (3e-15) ** 2 / DAY_S),
    "quartz": ((1e-11) ** 2, 3 * (1e-10) ** 2 / DAY_S),
}


def _model(kind: str) -> tuple[float, float]:
    try:
        return CLOCK_MODELS[kind]
    except KeyError:
        raise SatnavError(f"clock {kind!r}: expected one of {', '.join(CLOCK_MODELS)}") from None


def allan_deviation(kind: str, tau_s) -> np.ndarray:
    """Allan deviation of the model of ``kind`` at averaging times ``tau_s`` (s)."""
    q1, q2 = _model(kind)
    tau = np.asarray(tau_s, dtype=np.float64)
    return np.sqrt(q1 / tau + q2 * tau / 3.0)


def simulate_clock(kind: str, n_epochs: int, interval_s: float, rng: np.random.Generator, *,
                   offset_s: float = 0.0, frequency: float = 0.0) -> np.ndarray:
    """Phase (s) of a clock of ``kind`` at ``n_epochs`` epochs ``interval_s`` apart: the exact
    discrete two-state model (covariance of the integrated white and random-walk FM)."""
    q1, q2 = _model(kind)
    d = float(interval_s)
    cov = np.array([[q1 * d + q2 * d**3 / 3.0, q2 * d**2 / 2.0], [q2 * d**2 / 2.0, q2 * d]])
    w = rng.standard_normal((max(n_epochs - 1, 0), 2)) @ np.linalg.cholesky(cov).T
    y = frequency + np.concatenate([[0.0], np.cumsum(w[:, 1])])
    x = np.empty(n_epochs)
    x[0] = offset_s
    if n_epochs > 1:
        x[1:] = offset_s + np.cumsum(y[:-1] * d + w[:, 0])
    return x
