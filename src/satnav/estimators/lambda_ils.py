"""Integer least squares for carrier-phase ambiguities: the LAMBDA method.

Given float ambiguities ``a`` (cycles) with covariance ``Q`` (cycles^2), find the integer
vectors ``z`` minimising ``(a - z)^T Q^-1 (a - z)``:

1. ``Q = L^T D L`` (L unit lower triangular, D diagonal): :func:`ltdl`;
2. decorrelation by integer Gauss transformations and permutations (the Z-transformation,
   ``Q_z = Z^T Q Z``): :func:`decorrelate`;
3. depth-first search of the best candidates with shrinking ellipsoid (MLAMBDA):
   :func:`search`.

References: P. J. de Jonge and C. C. J. M. Tiberius (1996), *The LAMBDA method for integer
ambiguity estimation: implementation aspects*, LGR series 12, TU Delft; X.-W. Chang,
X. Yang and T. Zhou (2005), *MLAMBDA: a modified LAMBDA method for integer least-squares
estimation*, J. Geodesy 79:552-565. The structure follows RTKLIB's ``lambda.c``.

Validation and partial fixing: the ratio test (second best over best squared distance,
:func:`ratio_test`), partial ambiguity resolution that drops the least precise (or lowest)
ambiguities until the ratio test passes (:func:`resolve_partial`), and the bootstrapped
success rate of Teunissen (1998) (:func:`bootstrap_success_rate`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..errors import SatnavError

__all__ = [
    "ltdl",
    "decorrelate",
    "search",
    "lambda_search",
    "ratio_test",
    "bootstrap_success_rate",
    "resolve_partial",
    "AmbiguityFix",
]

_LOOP_MAX = 100_000  # most search steps (RTKLIB LOOPMAX is 10000)


def ltdl(Q):
    """Factorise a symmetric positive definite matrix as ``Q = L^T diag(D) L``.

    Parameters
    ----------
    Q : array_like (n, n)

    Returns
    -------
    L : ndarray (n, n)
        Unit lower triangular.
    D : ndarray (n,)
        Positive diagonal.

    Raises
    ------
    SatnavError
        When ``Q`` is not positive definite.
    """
    A = np.array(Q, dtype=np.float64, copy=True)
    n = A.shape[0]
    L = np.zeros((n, n))
    D = np.empty(n)
    for i in range(n - 1, -1, -1):
        D[i] = A[i, i]
        if not D[i] > 0.0:
            raise SatnavError("ambiguity covariance is not positive definite")
        a = math.sqrt(D[i])
        L[i, : i + 1] = A[i, : i + 1] / a
        # A[:i, :i] -= outer(L[i, :i], L[i, :i]) (lower part is all that is used)
        A[:i, :i] -= np.outer(L[i, :i], L[i, :i])
        L[i, : i + 1] /= L[i, i]
    return L, D


def decorrelate(L, D):
    """LAMBDA reduction: integer Gauss transformations and permutations.

    Parameters
    ----------
    L : ndarray (n, n)
        Unit lower triangular factor of ``Q = L^T diag(D) L`` (modified in a copy).
    D : ndarray (n,)

    Returns
    -------
    L, D : the factors of ``Q_z = Z^T Q Z``
    Z : ndarray (n, n)
        Unimodular integer matrix (float dtype holding integers): ``z = Z^T a``.
    """
    # Plain Python floats: the matrices are small and the loop does many tiny updates,
    # where list arithmetic is several times faster than NumPy slicing.
    n = len(D)
    L = [[float(v) for v in row] for row in np.asarray(L, dtype=np.float64)]
    D = [float(d) for d in D]
    Z = [[1.0 if r == c else 0.0 for c in range(n)] for r in range(n)]
    j = k = n - 2
    while j >= 0:
        if j <= k:
            for i in range(j + 1, n):
                mu = math.floor(L[i][j] + 0.5)
                if mu != 0:  # integer Gauss transformation
                    for r in range(i, n):
                        L[r][j] -= mu * L[r][i]
                    for r in range(n):
                        Z[r][j] -= mu * Z[r][i]
        lj = L[j + 1][j]
        delta = D[j] + lj * lj * D[j + 1]
        if delta + 1e-6 < D[j + 1]:  # permutation of j and j+1
            eta = D[j] / delta
            lam = D[j + 1] * lj / delta
            D[j] = eta * D[j + 1]
            D[j + 1] = delta
            rj, rj1 = L[j], L[j + 1]
            for c in range(j):
                a0, a1 = rj[c], rj1[c]
                rj[c] = -lj * a0 + a1
                rj1[c] = eta * a0 + lam * a1
            rj1[j] = lam
            for r in range(j + 2, n):
                row = L[r]
                row[j], row[j + 1] = row[j + 1], row[j]
            for row in Z:
                row[j], row[j + 1] = row[j + 1], row[j]
            k = j
            j = n - 2
        else:
            j -= 1
    return np.array(L).reshape(n, n), np.array(D), np.array(Z).reshape(n, n)


def search(L, D, zs, m=2):
    """MLAMBDA depth-first search of the ``m`` best integer vectors.

    Parameters
    ----------
    L, D : factors of ``Q_z = L^T diag(D) L``
    zs : ndarray (n,)
        Float (decorrelated) ambiguities.
    m : int
        Number of candidates.

    Returns
    -------
    candidates : ndarray (m, n)
        Integer vectors (float dtype), best first.
    distances : ndarray (m,)
        Squared distances ``(zs - z)^T Q_z^-1 (zs - z)``, ascending.
    """
    n = len(D)
    Lt = L.tolist()
    Dl = D.tolist()
    zsl = [float(v) for v in zs]
    S = [[0.0] * n for _ in range(n)]
    dist = [0.0] * n
    zb = [0.0] * n
    z = [0.0] * n
    step = [0.0] * n
    cand: list[list[float]] = []
    cdist: list[float] = []
    imax = 0
    maxdist = math.inf

    def sgn(x):
        return -1.0 if x <= 0.0 else 1.0

    k = n - 1
    dist[k] = 0.0
    zb[k] = zsl[k]
    z[k] = math.floor(zb[k] + 0.5)
    y = zb[k] - z[k]
    step[k] = sgn(y)
    for _ in range(_LOOP_MAX):
        newdist = dist[k] + y * y / Dl[k]
        if newdist < maxdist:
            if k != 0:
                k -= 1
                dist[k] = newdist
                dz = z[k + 1] - zb[k + 1]
                row1 = S[k + 1]
                Lrow = Lt[k + 1]
                rowk = S[k]
                for i in range(k + 1):
                    rowk[i] = row1[i] + dz * Lrow[i]
                zb[k] = zsl[k] + rowk[k]
                z[k] = math.floor(zb[k] + 0.5)
                y = zb[k] - z[k]
                step[k] = sgn(y)
            else:
                if len(cand) < m:
                    if not cand or newdist > cdist[imax]:
                        imax = len(cand)
                    cand.append(list(z))
                    cdist.append(newdist)
                    if len(cand) == m:
                        maxdist = cdist[imax]
                else:
                    if newdist < cdist[imax]:
                        cand[imax] = list(z)
                        cdist[imax] = newdist
                        imax = int(np.argmax(cdist))
                    maxdist = cdist[imax]
                z[0] += step[0]
                y = zb[0] - z[0]
                step[0] = -step[0] - sgn(step[0])
        else:
            if k == n - 1:
                break
            k += 1
            z[k] += step[k]
            y = zb[k] - z[k]
            step[k] = -step[k] - sgn(step[k])
    else:  # pragma: no cover - pathological covariance
        raise SatnavError("integer search did not converge")
    order = np.argsort(cdist, kind="stable")
    return np.asarray(cand)[order], np.asarray(cdist)[order]


def lambda_search(a, Q, m=2):
    """The ``m`` best integer least-squares solutions of float ambiguities ``a``.

    Parameters
    ----------
    a : array_like (n,)
        Float ambiguities (cycles).
    Q : array_like (n, n)
        Their covariance (cycles^2), symmetric positive definite.
    m : int
        Number of candidates (2 for the ratio test).

    Returns
    -------
    candidates : ndarray int64 (m, n)
        Best first.
    distances : ndarray (m,)
        Squared norms ``(a - c)^T Q^-1 (a - c)`` of each candidate, ascending.

    Examples
    --------
    >>> c, d = lambda_search([0.9, 2.1], [[1e-2, 0], [0, 1e-2]])
    >>> c[0].tolist()
    [1, 2]
    """
    a = np.asarray(a, dtype=np.float64)
    Q = np.asarray(Q, dtype=np.float64)
    n = len(a)
    if n == 0:
        return np.zeros((m, 0), np.int64), np.zeros(m)
    if Q.shape != (n, n) or not np.all(np.isfinite(Q)) or not np.all(np.isfinite(a)):
        raise SatnavError("float ambiguities or covariance are not finite / of matching size")
    Q = 0.5 * (Q + Q.T)
    # Shift to small numbers for the search; integers are added back afterwards.
    base = np.floor(a)
    L, D = ltdl(Q)
    L, D, Z = decorrelate(L, D)
    zs = Z.T @ (a - base)
    E, dist = search(L, D, zs, m)
    # a-space candidates: F = Z^-T E; Z is unimodular so the result is integer.
    F = np.linalg.solve(Z.T, E.T).T
    F = np.rint(F) + base
    return F.astype(np.int64), dist


def ratio_test(distances, threshold=3.0) -> tuple[bool, float]:
    """Ratio test: second-best over best squared distance.

    Returns
    -------
    passed : bool
        ``ratio >= threshold``.
    ratio : float
        ``distances[1] / distances[0]`` (capped at 999.9 as RTKLIB reports it).
    """
    d0, d1 = float(distances[0]), float(distances[1])
    ratio = d1 / d0 if d0 > 0 else 999.9
    ratio = min(ratio, 999.9)
    return ratio >= threshold, ratio


def _normal_cdf(x):
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


def bootstrap_success_rate(Q) -> float:
    """Success rate of integer bootstrapping after decorrelation (Teunissen 1998).

    ``P = prod_i (2 Phi(1 / (2 sqrt(D_i))) - 1)`` with ``D`` the conditional variances of
    the decorrelated ambiguities; a lower bound of the integer least-squares success rate.
    """
    Q = np.asarray(Q, dtype=np.float64)
    if Q.size == 0:
        return 1.0
    L, D = ltdl(0.5 * (Q + Q.T))
    _, D, _ = decorrelate(L, D)
    p = 1.0
    for d in D:
        p *= 2.0 * _normal_cdf(1.0 / (2.0 * math.sqrt(d))) - 1.0
    return p


@dataclass
class AmbiguityFix:
    """Result of :func:`resolve_partial`.

    Attributes
    ----------
    fixed : bool
        The ratio test passed for the subset :attr:`used`.
    used : ndarray bool (n,)
        Which ambiguities were fixed (all False when not fixed).
    integers : ndarray int64 (n,)
        Best integers for the used ambiguities (0 elsewhere).
    ratio : float
        Ratio of the last subset tried (of the accepted one when fixed).
    distances : ndarray (2,)
    success_rate : float
        Bootstrapped success rate of the accepted subset (NaN when not fixed).
    """

    fixed: bool
    used: np.ndarray
    integers: np.ndarray
    ratio: float
    distances: np.ndarray
    success_rate: float = float("nan")


def resolve_partial(a, Q, *, ratio_threshold=3.0, min_count=4, drop_order=None,
                    max_drops=None, success_rate_min=0.0) -> AmbiguityFix:
    """Integer resolution with partial ambiguity resolution.

    Tries the full set first; while the ratio test fails, drops one ambiguity at a time,
    in ``drop_order`` (default: largest variance first), and tries again, until the test
    passes or fewer than ``min_count`` would remain.

    Parameters
    ----------
    a : array_like (n,)
        Float ambiguities (cycles).
    Q : array_like (n, n)
        Their covariance (cycles^2).
    ratio_threshold : float
    min_count : int
        Fewest ambiguities that may be fixed.
    drop_order : array_like of int, optional
        Indices in the order they may be dropped (e.g. ascending elevation).
    max_drops : int, optional
        Most ambiguities dropped (default: as many as ``min_count`` allows).
    success_rate_min : float
        Also require the bootstrapped success rate of the subset to reach this.

    Returns
    -------
    AmbiguityFix
    """
    a = np.asarray(a, dtype=np.float64)
    Q = np.asarray(Q, dtype=np.float64)
    n = len(a)
    used = np.ones(n, dtype=bool)
    if drop_order is None:
        drop_order = np.argsort(-np.diag(Q), kind="stable")
    drop_order = [int(i) for i in drop_order]
    if max_drops is None:
        max_drops = n
    ratio = 0.0
    dist = np.array([np.nan, np.nan])
    drops = 0
    while used.sum() >= max(min_count, 1):
        idx = np.flatnonzero(used)
        cand, dist = lambda_search(a[idx], Q[np.ix_(idx, idx)], 2)
        ok, ratio = ratio_test(dist, ratio_threshold)
        if ok:
            sr = bootstrap_success_rate(Q[np.ix_(idx, idx)]) if success_rate_min > 0 else float("nan")
            if not success_rate_min > 0 or sr >= success_rate_min:
                ints = np.zeros(n, np.int64)
                ints[idx] = cand[0]
                return AmbiguityFix(True, used, ints, ratio, dist, sr)
        if drops >= max_drops or not drop_order:
            break
        # drop the next one still in use
        while drop_order and not used[drop_order[0]]:
            drop_order.pop(0)
        if not drop_order:
            break
        used[drop_order.pop(0)] = False
        drops += 1
    return AmbiguityFix(False, np.zeros(n, bool), np.zeros(n, np.int64), ratio, dist)
