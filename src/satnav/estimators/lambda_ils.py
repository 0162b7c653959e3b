"""Integer least squares for carrier-phase ambiguities: the LAMBDA method.

Given float ambiguities ``a`` (cycles) with covariance ``Q`` (cycles^2), find the integer
vectors ``z`` minimising ``(a - z)^T Q^-1 (a - z)``:

1. ``Q = L^T D L`` (L unit lower triangular, D diagonal): :func:`ltdl`;
2. reduction by integer Gauss transformations and permutations (the Z-transformation,
   ``Q_z = Z^T Q Z``). :func:`lambda_search` uses the partial reduction of Al Borno, Chang
   & Xie (2014) (:func:`reduce_for_search`: Gauss transformations only on the column about
   to be permuted, then one size reduction of the whole of ``L`` before the search);
   :func:`decorrelate` is the full LAMBDA decorrelation (RTKLIB's ``reduction``);
3. depth-first search of the best candidates with shrinking ellipsoid (MLAMBDA):
   :func:`search`.

A filter resolving the same ambiguities epoch after epoch passes the previous
Z-transformation back (``transform=`` / ``resolve_partial(warm=...)``): its covariance then
needs a few permutations at most instead of ~100. The reduction and search loops (scalar
loops with data-dependent branches: nothing NumPy can vectorise) run compiled by numba when
it is installed, with results bit-identical to the pure-Python code
(:func:`use_accelerator`).

References: P. J. de Jonge and C. C. J. M. Tiberius (1996), *The LAMBDA method for integer
ambiguity estimation: implementation aspects*, LGR series 12, TU Delft; X.-W. Chang,
X. Yang and T. Zhou (2005), *MLAMBDA: a modified LAMBDA method for integer least-squares
estimation*, J. Geodesy 79:552-565; M. Al Borno, X.-W. Chang and X. Xie (2014), *On
"decorrelation" in solving integer least-squares problems for ambiguity determination*,
Survey Review 46:37-49. The structure follows RTKLIB's ``lambda.c``.

Validation and partial fixing: the ratio test (second best over best squared distance,
:func:`ratio_test`), partial ambiguity resolution that drops the least precise (or lowest)
ambiguities until the ratio test passes (:func:`resolve_partial`), and the bootstrapped
success rate of Teunissen (1998) (:func:`bootstrap_success_rate`).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from ..errors import SatnavError

__all__ = [
    "ltdl",
    "decorrelate",
    "reduce_for_search",
    "search",
    "lambda_search",
    "ratio_test",
    "bootstrap_success_rate",
    "resolve_partial",
    "use_accelerator",
    "AmbiguityFix",
]

_LOOP_MAX = 100_000  # most search steps (RTKLIB LOOPMAX is 10000)
#: What ndarray.sum/max/min call, without their Python wrappers (per-epoch code).
_sum, _max, _min = np.add.reduce, np.maximum.reduce, np.minimum.reduce

try:  # the LAPACK (potrf) gufunc behind np.linalg.cholesky and its error handler
    from numpy.linalg import _umath_linalg
    from numpy.linalg._linalg import _raise_linalgerror_nonposdef

    _POTRF = _umath_linalg.cholesky_lo
except (ImportError, AttributeError):  # pragma: no cover - other NumPy layouts
    _POTRF = None


def _cholesky(A):
    """``np.linalg.cholesky(A)`` of a float64 square matrix: the same LAPACK call and
    result without the wrapper's checks (a LAMBDA runs every epoch of a filter)."""
    if _POTRF is None:  # pragma: no cover
        return np.linalg.cholesky(A)
    with np.errstate(call=_raise_linalgerror_nonposdef, invalid="call", over="ignore",
                     divide="ignore", under="ignore"):
        return _POTRF(A, signature="d->d")


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
    # With J the reversal permutation, J Q J = (J L^T J) diag(J D) (J L J) is the ordinary
    # L D L^T factorisation of J Q J, i.e. its Cholesky factor with the diagonal divided out.
    A = np.asarray(Q, dtype=np.float64)
    if A.ndim != 2 or A.shape[0] != A.shape[1]:
        raise SatnavError("ambiguity covariance must be a square matrix")
    if A.shape[0] == 0:
        return np.zeros((0, 0)), np.zeros(0)
    try:
        C = _cholesky(A[::-1, ::-1])  # A: float64, square (checked above)
    except np.linalg.LinAlgError:
        raise SatnavError("ambiguity covariance is not positive definite") from None
    d = C.diagonal()
    if not _min(d) > 0.0:  # also NaN
        raise SatnavError("ambiguity covariance is not positive definite")
    # L = ((C / d)[::-1, ::-1].T), C-contiguous, by one division; D = (d * d)[::-1]
    dr = d[::-1]
    L = np.divide(C[::-1, ::-1].T, dr[:, None], order="C")
    return L, dr * dr


def _permute_py(Lc, D, Zc, k, lk, delta):
    """Swap ambiguities k and k+1 in place (de Jonge & Tiberius 1996; RTKLIB ``perm``):
    ``Lc`` holds L by columns (``Lc[c][r] = L[r, c]``), ``D`` the diagonal, ``Zc`` the columns
    of Z; ``lk = L[k+1, k]`` and ``delta = D[k] + lk^2 D[k+1]`` (already computed)."""
    ck, ck1 = Lc[k], Lc[k + 1]
    eta = D[k] / delta
    lam = D[k + 1] * lk / delta
    D[k] = eta * D[k + 1]
    D[k + 1] = delta
    for c in range(k):
        col = Lc[c]
        a0, a1 = col[k], col[k + 1]
        col[k] = -lk * a0 + a1
        col[k + 1] = eta * a0 + lam * a1
    tail = ck[k + 2:]
    ck[k + 2:] = ck1[k + 2:]
    ck1[k + 2:] = tail
    ck[k + 1] = lam
    Zc[k], Zc[k + 1] = Zc[k + 1], Zc[k]


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
    # where list arithmetic is several times faster than NumPy slicing. L and Z are held
    # by columns (Lc[c][r] = L[r, c]): the Gauss transformations update whole columns and
    # a permutation swaps two columns of Z by reference.
    n = len(D)
    Lc = np.asarray(L, dtype=np.float64).T.tolist()
    D = [float(d) for d in D]
    Zc = np.eye(n).tolist()
    floor = math.floor
    j = k = n - 2
    while j >= 0:
        if j <= k:
            cj = Lc[j]
            for i in range(j + 1, n):
                mu = floor(cj[i] + 0.5)
                if mu != 0:  # integer Gauss transformation
                    ci = Lc[i]
                    for r in range(i, n):
                        cj[r] -= mu * ci[r]
                    Zc[j] = [zj - mu * zi for zj, zi in zip(Zc[j], Zc[i])]
        cj = Lc[j]
        lj = cj[j + 1]
        delta = D[j] + lj * lj * D[j + 1]
        if delta + 1e-6 < D[j + 1]:  # permutation of j and j+1
            _permute_py(Lc, D, Zc, j, lj, delta)
            k = j
            j = n - 2
        else:
            j -= 1
    return np.array(Lc).reshape(n, n).T.copy(), np.array(D), np.array(Zc).reshape(n, n).T.copy()


def reduce_for_search(L, D):
    """Partial LAMBDA reduction (PREDUCTION of Al Borno, Chang & Xie 2014), then a size
    reduction of ``L``.

    Permutations run as in :func:`decorrelate`, but the integer Gauss transformations are
    applied only to the column about to be permuted (all of it, which keeps the entries of
    ``L`` and ``Z`` small: reducing ``L[k+1, k]`` alone lets the other entries grow
    without bound on large problems, to 1e10 and beyond with ~50 dual-frequency
    ambiguities). Once no permutation is left, every off-diagonal entry of ``L`` is
    reduced to ``|L[i, j]| <= 1/2`` (columns right to left), whatever the start, so the
    returned ``Z`` is as small as a full decorrelation's. Same arguments and returns as
    :func:`decorrelate` (``Q_z = Z^T Q Z = L^T diag(D) L``).

    Reference: M. Al Borno, X.-W. Chang and X. Xie (2014), *On "decorrelation" in solving
    integer least-squares problems for ambiguity determination*, Survey Review 46:37-49
    (algorithm PREDUCTION).
    """
    L, D, Z, _ = _reduce(L, D)
    return L, D, (np.eye(len(D)) if Z is None else Z)


def _reduce(L, D, owned=False):
    """:func:`reduce_for_search` returning ``(L, D, Z, Z^-1)`` (see :func:`_reduce_py`),
    compiled with numba when available (:func:`_kernels`). ``owned``: ``L`` and ``D`` are
    fresh float64 arrays (C-contiguous) of the caller's, which the kernel may overwrite."""
    kern = _kernels()
    if not kern:
        t0 = time.perf_counter()
        out = _reduce_py(L, D)
        _count_python(time.perf_counter() - t0)
        return out
    if owned:
        L2, D2 = L, D
    else:
        L2 = np.array(L, dtype=np.float64)  # copies: the kernel works in place
        D2 = np.array(D, dtype=np.float64)
    nops, Z, Zi = kern[0](L2, D2)
    if nops == 0:
        return L, np.asarray(D, dtype=np.float64), None, None
    return L2, D2, Z, Zi


def _size_reduce_column_py(Lc, Zc, Zi, j):
    """Integer Gauss transformations making ``|L[i, j]| <= 1/2`` for every ``i > j``
    (rows top to bottom: each one changes only the rows below it), on the column lists of
    :func:`_reduce_py`. Returns how many were applied."""
    n = len(Lc)
    cj = Lc[j]
    floor = math.floor
    if j + 1 >= n or (floor(min(cj[j + 1:]) + 0.5) == 0 and floor(max(cj[j + 1:]) + 0.5) == 0):
        return 0  # already reduced (x -> floor(x + 1/2) is monotonic): the common case
    count = 0
    for i in range(j + 1, n):
        mu = floor(cj[i] + 0.5)
        if mu != 0:
            ci = Lc[i]
            for r in range(i, n):
                cj[r] -= mu * ci[r]
            Zc[j] = [zj - mu * zi for zj, zi in zip(Zc[j], Zc[i])]
            Zi[i] = [zi + mu * zj for zi, zj in zip(Zi[i], Zi[j])]
            count += 1
    return count


def _reduce_py(L, D):
    """:func:`reduce_for_search` returning ``(L, D, Z, Z^-1)``, with ``Z`` and ``Z^-1``
    None when neither a permutation nor a Gauss transformation was needed (identity; ``L``
    and ``D`` are then returned as given). ``Z^-1`` is tracked alongside (integer row
    operations), so that candidates go back to the original ambiguities without a linear
    solve."""
    n = len(D)
    Dl = [float(d) for d in D]
    sub = np.diagonal(L, -1).tolist()  # L[k+1, k]: all the test needs until a permutation
    Lc = Zc = Zi = None
    floor = math.floor
    k = n - 2
    while k >= 0:
        lk = sub[k] if Lc is None else Lc[k][k + 1]
        mu = floor(lk + 0.5)
        lr = lk - mu
        delta = Dl[k] + lr * lr * Dl[k + 1]
        if delta + 1e-6 < Dl[k + 1]:  # permutation of k and k+1 (RTKLIB's tolerance)
            if Lc is None:  # by columns: Lc[c][r] = L[r, c]; Zc columns of Z; Zi rows of Z^-1
                Lc = np.asarray(L, dtype=np.float64).T.tolist()
                Zc = np.eye(n).tolist()
                Zi = np.eye(n).tolist()
            # Gauss transformations on column k (the first one leaves L[k+1, k] = lr)
            _size_reduce_column_py(Lc, Zc, Zi, k)
            _permute_py(Lc, Dl, Zc, k, lr, delta)
            Zi[k], Zi[k + 1] = Zi[k + 1], Zi[k]
            if k < n - 2:
                k += 1
        else:
            k -= 1
    if Lc is None:
        if n < 2 or not np.floor(np.tril(np.asarray(L, dtype=np.float64), -1) + 0.5).any():
            return L, np.asarray(D, dtype=np.float64), None, None  # already size-reduced
        Lc = np.asarray(L, dtype=np.float64).T.tolist()
        Zc = np.eye(n).tolist()
        Zi = np.eye(n).tolist()
    for j in range(n - 2, -1, -1):  # size reduction: columns to the right first
        _size_reduce_column_py(Lc, Zc, Zi, j)
    # C-contiguous like the kernel's arrays: products with them then round identically
    return (np.array(Lc).reshape(n, n).T.copy(), np.array(Dl),
            np.array(Zc).reshape(n, n).T.copy(), np.array(Zi).reshape(n, n))


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
    kern = _kernels()
    if kern:
        done, cand, cdist = kern[1](np.asarray(L, dtype=np.float64),
                                    np.asarray(D, dtype=np.float64),
                                    np.asarray(zs, dtype=np.float64), m, _LOOP_MAX)
        if not done:
            raise SatnavError("integer search did not converge")  # pragma: no cover
        if m == 2:
            return (cand, cdist) if cdist[0] <= cdist[1] else (cand[[1, 0]], cdist[[1, 0]])
        order = sorted(range(m), key=cdist.__getitem__)  # stable, as argsort
        return cand[order], cdist[order]
    t0 = time.perf_counter()
    out = _search_py(L, D, zs, m)
    _count_python(time.perf_counter() - t0)
    return out


def _search_py(L, D, zs, m=2):
    """Pure-Python :func:`search` (lists of floats: faster than NumPy at this size)."""
    n = len(D)
    # strictly lower part of each row of L: the partial sums S[k] need L[k+1, :k+1] only
    Lt = [row[:r] for r, row in enumerate(np.asarray(L, dtype=np.float64).tolist())]
    Dl = [float(d) for d in D]
    zsl = [float(v) for v in zs]
    S: list[list[float]] = [[]] * n
    S[n - 1] = [0.0] * n
    dist = [0.0] * n
    zb = [0.0] * n
    z = [0.0] * n
    step = [0.0] * n
    cand: list[list[float]] = []
    cdist: list[float] = []
    imax = 0
    maxdist = math.inf
    floor = math.floor

    k = n - 1
    dist[k] = 0.0
    zb[k] = zsl[k]
    z[k] = floor(zb[k] + 0.5)
    y = zb[k] - z[k]
    step[k] = -1.0 if y <= 0.0 else 1.0
    for _ in range(_LOOP_MAX):
        newdist = dist[k] + y * y / Dl[k]
        if newdist < maxdist:
            if k != 0:
                k -= 1
                dist[k] = newdist
                dz = z[k + 1] - zb[k + 1]
                rowk = [s + dz * l for s, l in zip(S[k + 1], Lt[k + 1])]
                S[k] = rowk
                zb[k] = zsl[k] + rowk[k]
                z[k] = floor(zb[k] + 0.5)
                y = zb[k] - z[k]
                step[k] = -1.0 if y <= 0.0 else 1.0
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
                        imax = max(range(m), key=cdist.__getitem__)  # first largest
                    maxdist = cdist[imax]
                z[0] += step[0]
                y = zb[0] - z[0]
                step[0] = -step[0] - (-1.0 if step[0] <= 0.0 else 1.0)
        else:
            if k == n - 1:
                break
            k += 1
            z[k] += step[k]
            y = zb[k] - z[k]
            step[k] = -step[k] - (-1.0 if step[k] <= 0.0 else 1.0)
    else:  # pragma: no cover - pathological covariance
        raise SatnavError("integer search did not converge")
    order = sorted(range(len(cdist)), key=cdist.__getitem__)  # stable, as argsort
    return np.array([cand[i] for i in order]), np.array([cdist[i] for i in order])


# ---------------------------------------------------------------- optional numba kernels
# The reduction and the search are scalar loops with data-dependent control flow that
# NumPy cannot express; in pure Python they are most of the time of an RTK epoch. When
# numba is installed these kernels (the same operations, in the same order, as
# _reduce_py and _search_py, so bit-identical results) are compiled on first use.
# SATNAV_NO_NUMBA=1 disables them.


def _reduce_kernel(L, D):
    """In-place reduction of ``L``, ``D`` (see :func:`_reduce_py`, same operations in the
    same order); returns the number of permutations and Gauss transformations, ``Z`` and
    ``Z^-1``."""
    n = D.shape[0]
    Z = np.eye(n)
    Zi = np.eye(n)
    nops = 0
    k = n - 2
    while k >= 0:
        lk = L[k + 1, k]
        mu = math.floor(lk + 0.5)
        lr = lk - mu
        delta = D[k] + lr * lr * D[k + 1]
        if delta + 1e-6 < D[k + 1]:
            nops += 1
            for i in range(k + 1, n):  # Gauss transformations on column k
                mu = math.floor(L[i, k] + 0.5)
                if mu != 0:
                    for r in range(i, n):
                        L[r, k] -= mu * L[r, i]
                    for r in range(n):
                        Z[r, k] = Z[r, k] - mu * Z[r, i]
                        Zi[i, r] = Zi[i, r] + mu * Zi[k, r]
                    nops += 1
            eta = D[k] / delta
            lam = D[k + 1] * lr / delta
            D[k] = eta * D[k + 1]
            D[k + 1] = delta
            for c in range(k):
                a0 = L[k, c]
                a1 = L[k + 1, c]
                L[k, c] = -lr * a0 + a1
                L[k + 1, c] = eta * a0 + lam * a1
            for r in range(k + 2, n):
                t = L[r, k]
                L[r, k] = L[r, k + 1]
                L[r, k + 1] = t
            L[k + 1, k] = lam
            for r in range(n):
                t = Z[r, k]
                Z[r, k] = Z[r, k + 1]
                Z[r, k + 1] = t
                t = Zi[k, r]
                Zi[k, r] = Zi[k + 1, r]
                Zi[k + 1, r] = t
            if k < n - 2:
                k += 1
        else:
            k -= 1
    for j in range(n - 2, -1, -1):  # size reduction of L: columns to the right first
        for i in range(j + 1, n):
            mu = math.floor(L[i, j] + 0.5)
            if mu != 0:
                for r in range(i, n):
                    L[r, j] -= mu * L[r, i]
                for r in range(n):
                    Z[r, j] = Z[r, j] - mu * Z[r, i]
                    Zi[i, r] = Zi[i, r] + mu * Zi[j, r]
                nops += 1
    return nops, Z, Zi


def _search_kernel(L, D, zs, m, loop_max):
    """MLAMBDA search on arrays (see :func:`_search_py`): returns ``(done, cand (m, n),
    cdist (m,))``, candidates unordered; ``done`` False when ``loop_max`` steps did not
    suffice."""
    n = D.shape[0]
    cand = np.zeros((m, n))
    cdist = np.zeros(m)
    S = np.zeros((n, n))
    dist = np.zeros(n)
    zb = np.zeros(n)
    z = np.zeros(n)
    step = np.zeros(n)
    ncand = 0
    imax = 0
    maxdist = np.inf
    k = n - 1
    zb[k] = zs[k]
    z[k] = math.floor(zb[k] + 0.5)
    y = zb[k] - z[k]
    step[k] = -1.0 if y <= 0.0 else 1.0
    for _ in range(loop_max):
        newdist = dist[k] + y * y / D[k]
        if newdist < maxdist:
            if k != 0:
                k -= 1
                dist[k] = newdist
                dz = z[k + 1] - zb[k + 1]
                for i in range(k + 1):
                    S[k, i] = S[k + 1, i] + dz * L[k + 1, i]
                zb[k] = zs[k] + S[k, k]
                z[k] = math.floor(zb[k] + 0.5)
                y = zb[k] - z[k]
                step[k] = -1.0 if y <= 0.0 else 1.0
            else:
                if ncand < m:
                    if ncand == 0 or newdist > cdist[imax]:
                        imax = ncand
                    cand[ncand, :] = z
                    cdist[ncand] = newdist
                    ncand += 1
                    if ncand == m:
                        maxdist = cdist[imax]
                else:
                    if newdist < cdist[imax]:
                        cand[imax, :] = z
                        cdist[imax] = newdist
                        imax = 0
                        for i in range(1, m):  # first largest
                            if cdist[i] > cdist[imax]:
                                imax = i
                    maxdist = cdist[imax]
                z[0] += step[0]
                y = zb[0] - z[0]
                step[0] = -step[0] - (-1.0 if step[0] <= 0.0 else 1.0)
        else:
            if k == n - 1:
                return True, cand, cdist
            k += 1
            z[k] += step[k]
            y = zb[k] - z[k]
            step[k] = -step[k] - (-1.0 if step[k] <= 0.0 else 1.0)
    return False, cand, cdist


_KERNELS = None  # None: not loaded yet; False: pure Python; else the compiled pair
_AUTOMATIC = True  # load numba only once the pure-Python loops have cost about its import
_PY_SECONDS = 0.0  # time spent so far in the pure-Python reduction and search
#: Pure-Python reduction + search time (s) after which the numba kernels are loaded: about
#: what importing numba and loading the cached kernels costs (0.45 s on a 2-core EPYC). A
#: short job (the 120-epoch gsi pair: ~20 ms of integer search) never pays the import; a
#: long one switches after its first ~0.5 s of searching (results are bit-identical).
ACCELERATE_AFTER_S = 0.5


def _kernels():
    """``(reduce, search)`` compiled by numba, or False while the pure-Python versions run:
    numba not installed or not compiling, ``SATNAV_NO_NUMBA`` set, or (automatic mode) the
    pure-Python loops have not yet cost :data:`ACCELERATE_AFTER_S`."""
    global _KERNELS
    if _KERNELS is None:
        if _AUTOMATIC and _PY_SECONDS < ACCELERATE_AFTER_S:
            return False
        _KERNELS = _load_kernels()
    return _KERNELS


def _load_kernels():
    from .._jit import compile_kernels

    def warm_up(kernels):  # compile (or load from the cache) now, on a 2 x 2 problem
        L = np.array([[1.0, 0.0], [0.7, 1.0]])
        kernels[0](L, np.array([1.0, 0.1]))
        kernels[1](L, np.array([0.1, 1.0]), np.array([0.3, -0.2]), 2, _LOOP_MAX)

    return compile_kernels((_reduce_kernel, _search_kernel), warm_up)


def _count_python(seconds: float) -> None:
    global _PY_SECONDS
    _PY_SECONDS += seconds


def use_accelerator(enabled: bool | None) -> bool:
    """Turn the numba kernels of the reduction and search on (``True``: load them now) or
    off (``False``), or back to automatic (``None``: loaded once the pure-Python loops have
    cost :data:`ACCELERATE_AFTER_S`); returns whether they are in use now."""
    global _KERNELS, _AUTOMATIC
    _AUTOMATIC = enabled is None
    _KERNELS = None if enabled is not False else False
    return bool(_kernels())


def lambda_search(a, Q, m=2, *, transform=None):
    """The ``m`` best integer least-squares solutions of float ambiguities ``a``.

    Parameters
    ----------
    a : array_like (n,)
        Float ambiguities (cycles).
    Q : array_like (n, n)
        Their covariance (cycles^2), symmetric positive definite.
    m : int
        Number of candidates (2 for the ratio test).
    transform : ndarray (n, n), optional
        A unimodular integer matrix ``Z0`` to start the reduction from (warm start), e.g.
        the Z-transformation of the previous epoch for the same ambiguities. The
        candidates do not depend on it (integer least squares is invariant under
        unimodular transformations); a good one saves most of the permutations.

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
    warm = None
    if transform is not None:
        Z0 = np.asarray(transform, dtype=np.float64)
        if Z0.shape != (len(a), len(a)) or abs(abs(np.linalg.det(Z0)) - 1.0) > 1e-6:
            raise SatnavError("transform must be a unimodular integer matrix of the ambiguities' size")
        warm = (Z0, np.rint(np.linalg.inv(Z0)))
    cand, dist, _, _ = _ils(a, Q, m, warm)
    return cand, dist


#: Largest Z-transformation entry kept for a warm start (beyond it the next epoch starts
#: from the identity, keeping ``E Z^-1`` exact in floating point).
_MAX_TRANSFORM_ENTRY = 1.0e3
#: Largest entry of ``Z`` or ``Z^-1`` with which candidates still map back exactly: the
#: sums of ``E Z^-1`` (``|E| <~ n max|Z|``, n <= ~100) stay inside the 2^53 of a double.
#: Beyond it LAMBDA raises rather than return wrong integers (the size reduction keeps
#: the entries of real problems below ~10).
_MAX_EXACT_ENTRY = 1.0e6




class _Transform(tuple):
    """``(Z, Z^-1)`` of a search, for the next warm start, with ``zmax`` = the largest
    ``|entry|`` of both (checked already: not computed again while they are reused)."""


def _ils(a, Q, m, warm=None):
    """LAMBDA (partial reduction + search) from an optional warm start ``(Z0, Z0^-1)``.

    Returns ``(candidates int64 (m, n), distances (m,), (Z, Z^-1) or None, D)``: the
    transformation used, for the next warm start (None when its entries grew beyond
    ``_MAX_TRANSFORM_ENTRY``), and the conditional variances ``D`` of ``Z^T Q Z``."""
    a = np.asarray(a, dtype=np.float64)
    Q = np.asarray(Q, dtype=np.float64)
    n = len(a)
    if n == 0:
        return np.zeros((m, 0), np.int64), np.zeros(m), None, np.zeros(0)
    # one sum is non-finite when any element is (or beyond ~1e308, as unusable)
    # (np.add.reduce, np.maximum.reduce: what .sum() and .max() call, without their
    # Python wrappers; this runs every epoch of a filter)
    if Q.shape != (n, n) or not math.isfinite(float(_sum(Q, axis=None)) + float(_sum(a))):
        raise SatnavError("float ambiguities or covariance are not finite / of matching size")
    Q = 0.5 * (Q + Q.T)
    # Shift to small numbers for the search; integers are added back afterwards.
    base = np.floor(a)
    try:
        zmax = None  # max |entry| of Z and Z^-1 when known (the warm start's, unchanged)
        if warm is not None and warm[0].shape == (n, n):
            Z, Zi = warm
            L, D, Z1, Zi1 = _reduce(*ltdl(Z.T @ Q @ Z), owned=True)
            changed = Z1 is not None
            if changed:
                Z, Zi = Z @ Z1, Zi1 @ Zi
            else:
                zmax = getattr(warm, "zmax", None)
        else:
            L, D, Z, Zi = _reduce(*ltdl(Q), owned=True)
            changed = Z is not None
    except (OverflowError, ValueError):  # math.floor of a non-finite entry
        raise SatnavError("ambiguity decorrelation failed (non-finite factor)") from None
    if Z is None:  # identity
        E, dist = search(L, D, a - base, m)
        F = E
        keep = _Transform((np.eye(n), np.eye(n)))
        keep.zmax = 1.0
    else:
        if zmax is None:
            zmax = max(_max(np.abs(Z), axis=None), _max(np.abs(Zi), axis=None))
        if not zmax <= _MAX_EXACT_ENTRY:  # also NaN
            raise SatnavError("ambiguity decorrelation failed (Z-transformation too large to "
                              "stay exact)")
        E, dist = search(L, D, Z.T @ (a - base), m)
        # a-space candidates: a = Z^-T z, F = E Z^-1 (integer: Z is unimodular)
        F = np.rint(E @ Zi)
        keep = _Transform((Z, Zi))
        keep.zmax = zmax
        if changed and zmax > _MAX_TRANSFORM_ENTRY:
            keep = None
    return (F + base).astype(np.int64), dist, keep, D


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
    # the reduction of lambda_search (from Q itself, not a warm start): it ends with the
    # same D as decorrelate (same permutations; only Gauss transformations are skipped)
    _, D, _, _ = _reduce(*ltdl(0.5 * (Q + Q.T)), owned=True)
    return _bootstrap_from_d(D)


def _bootstrap_from_d(D) -> float:
    """``prod_i (2 Phi(1 / (2 sqrt(D_i))) - 1)`` (see :func:`bootstrap_success_rate`)."""
    # _normal_cdf inlined (same operations, same bits): called every epoch of a filter
    p = 1.0
    erf, sqrt, sqrt2 = math.erf, math.sqrt, math.sqrt(2.0)
    for d in np.asarray(D, dtype=np.float64).tolist():
        p *= 2.0 * (0.5 * (1.0 + erf((1.0 / (2.0 * sqrt(d))) / sqrt2))) - 1.0
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
        Bootstrapped success rate of the accepted subset (NaN when not fixed or not
        asked for): a lower bound of its integer least-squares success rate.
    """

    fixed: bool
    used: np.ndarray
    integers: np.ndarray
    ratio: float
    distances: np.ndarray
    success_rate: float = float("nan")


def resolve_partial(a, Q, *, ratio_threshold=3.0, min_count=4, drop_order=None,
                    max_drops=None, success_rate_min=0.0, warm=None) -> AmbiguityFix:
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
        Also require the bootstrapped success rate (Teunissen 1998) of the subset to reach
        this: the larger of the ones in the basis of the search (warm-started or not) and
        after a reduction of the subset's covariance itself (:func:`bootstrap_success_rate`),
        both lower bounds of the integer least-squares success rate.
    warm : dict, optional
        Z-transformations (with their inverses) by subset (``tuple`` of the indices used),
        read to warm-start the reduction of each subset tried (see :func:`lambda_search`)
        and updated with the ones of this call. Pass the same dict when the same ambiguities are
        resolved again (e.g. the next epoch of a filter); the integers do not depend on it
        (with ``success_rate_min``, the success rate found may: it is the better of two
        bounds).

    Returns
    -------
    AmbiguityFix
    """
    a = np.asarray(a, dtype=np.float64)
    Q = np.asarray(Q, dtype=np.float64)
    n = len(a)
    used = np.ones(n, dtype=bool)
    n_used = n
    order = None if drop_order is None else [int(i) for i in drop_order]
    if max_drops is None:
        max_drops = n
    ratio = 0.0
    dist = None  # (NaN, NaN) when no subset is tried
    drops = 0
    while n_used >= max(min_count, 1):
        if drops == 0:
            idx, key, a_u, Q_u = None, (), a, Q  # () stands for the full set
        else:
            idx = np.flatnonzero(used)
            key, a_u, Q_u = tuple(idx.tolist()), a[idx], Q[idx][:, idx]
        z0 = warm.get(key) if warm is not None else None
        cand, dist, z, D_u = _ils(a_u, Q_u, 2, z0)
        if warm is not None:
            if z is None:
                warm.pop(key, None)
            else:
                warm[key] = z
        ok, ratio = ratio_test(dist, ratio_threshold)
        if ok:
            sr = float("nan")
            if success_rate_min > 0:
                # bootstrapping in the basis the search used: a lower bound of the success
                # rate of integer least squares, as is the one after a reduction of Q_u
                # itself (bootstrap_success_rate), computed too when the first falls short
                sr = _bootstrap_from_d(D_u)
                if sr < success_rate_min and z0 is not None:
                    sr = max(sr, bootstrap_success_rate(Q_u))
            if not success_rate_min > 0 or sr >= success_rate_min:
                if idx is None:
                    ints = np.array(cand[0], np.int64)
                else:
                    ints = np.zeros(n, np.int64)
                    ints[idx] = cand[0]
                return AmbiguityFix(True, used, ints, ratio, dist, sr)
        if order is None:  # default: largest variance first (needed only from here on)
            order = np.argsort(-np.diag(Q), kind="stable").tolist()
        if drops >= max_drops or not order:
            break
        # drop the next one still in use
        while order and not used[order[0]]:
            order.pop(0)
        if not order:
            break
        used[order.pop(0)] = False
        n_used -= 1
        drops += 1
    if dist is None:
        dist = np.array([np.nan, np.nan])
    return AmbiguityFix(False, np.zeros(n, bool), np.zeros(n, np.int64), ratio, dist)
