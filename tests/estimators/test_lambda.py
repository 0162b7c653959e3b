"""LAMBDA integer least squares against an independent brute-force search."""

from __future__ import annotations

import importlib.util
import itertools
import math
import os

import numpy as np
import pytest

from satnav.errors import SatnavError
from satnav.estimators import lambda_ils as li
from satnav.estimators.lambda_ils import (
    bootstrap_success_rate,
    decorrelate,
    lambda_search,
    ltdl,
    ratio_test,
    reduce_for_search,
    resolve_partial,
)
from tests.conftest import data_path


def brute_force(a, Q, m=2):
    """The m best integer vectors by enumerating every integer point of a box that must
    contain them (independent of LAMBDA: no factorisation, no search tree)."""
    a = np.asarray(a, float)
    Qi = np.linalg.inv(Q)
    n = len(a)

    def dist(z):
        r = a - z
        return float(r @ Qi @ r)

    # an upper bound of the m-th best distance from m distinct simple candidates
    simple = [np.rint(a)] + [np.rint(a) + s * np.eye(n)[i] for i in range(n) for s in (1, -1)]
    bound = sorted(dist(z) for z in simple)[m - 1]
    # (a - z)^T Q^-1 (a - z) <= bound implies |a_i - z_i| <= sqrt(bound * Q_ii)
    half = np.sqrt(bound * np.diag(Q))
    ranges = [range(math.ceil(a[i] - half[i]), math.floor(a[i] + half[i]) + 1) for i in range(n)]
    assert np.prod([len(r) for r in ranges]) < 2_000_000
    pts = np.array(list(itertools.product(*ranges)), float)
    r = a - pts
    d = np.einsum("ki,ij,kj->k", r, Qi, r)
    order = np.argsort(d)[:m]
    return pts[order].astype(np.int64), d[order]


def random_problem(rng, n, ill):
    A = rng.normal(size=(n, n))
    if ill:  # strongly correlated, like L1/L2 ambiguities over one epoch
        A = A @ np.diag(np.geomspace(1.0, 0.05, n)) @ rng.normal(size=(n, n))
    Q = A @ A.T * rng.uniform(0.02, 0.3) + 1e-3 * np.eye(n)
    a = rng.normal(size=n) * 10
    return a, Q


@pytest.mark.parametrize("ill", [False, True])
def test_matches_brute_force(ill):
    rng = np.random.default_rng(7 + ill)
    for _ in range(60):
        n = int(rng.integers(1, 5 if ill else 6))
        a, Q = random_problem(rng, n, ill)
        cand, d = lambda_search(a, Q, 2)
        ref, dref = brute_force(a, Q, 2)
        np.testing.assert_allclose(d, dref, rtol=1e-9, atol=1e-9)
        if dref[1] - dref[0] > 1e-9:  # unique best
            assert cand[0].tolist() == ref[0].tolist()


def test_classic_three_dimensional_example():
    # The 3-D example of the LAMBDA literature (Teunissen 1993; de Jonge & Tiberius
    # 1996): float a = (5.45, 3.10, 2.97), best integers (5, 3, 4). Cross-checked with
    # the brute-force search (the exact literature values are quoted from memory).
    Q = np.array([[6.290, 5.978, 0.544], [5.978, 6.292, 2.340], [0.544, 2.340, 6.288]])
    a = np.array([5.45, 3.10, 2.97])
    cand, d = lambda_search(a, Q, 2)
    assert cand[0].tolist() == [5, 3, 4]
    ref, dref = brute_force(a, Q, 2)
    assert cand.tolist() == ref.tolist()
    np.testing.assert_allclose(d, dref, rtol=1e-10)


def test_factorisation_and_decorrelation():
    rng = np.random.default_rng(3)
    a, Q = random_problem(rng, 6, True)
    L, D = ltdl(Q)
    np.testing.assert_allclose(L.T @ np.diag(D) @ L, Q, rtol=1e-10, atol=1e-12)
    L2, D2, Z = decorrelate(L, D)
    assert np.all(Z == np.rint(Z)) and abs(abs(np.linalg.det(Z)) - 1) < 1e-9  # unimodular
    np.testing.assert_allclose(L2.T @ np.diag(D2) @ L2, Z.T @ Q @ Z, rtol=1e-8, atol=1e-10)
    # decorrelation does not increase the largest conditional variance
    assert D2.max() <= D.max() * (1 + 1e-9)


def test_not_positive_definite_raises():
    with pytest.raises(SatnavError):
        lambda_search([0.1, 0.2], [[1.0, 2.0], [2.0, 1.0]])


def test_ratio_and_partial_resolution():
    rng = np.random.default_rng(11)
    n = 8
    truth = rng.integers(-50, 50, n)
    Q = np.diag(np.full(n, 0.01**2)) + 0.00001
    Q[7, 7] = 4.0  # one hopeless ambiguity (e.g. a satellite that just rose)
    a = truth + rng.normal(size=n) * 0.01
    a[7] = truth[7] + 0.5
    full = lambda_search(a, Q)
    assert not ratio_test(full[1], 3.0)[0]
    res = resolve_partial(a, Q, ratio_threshold=3.0, min_count=4)
    assert res.fixed and res.used.tolist() == [True] * 7 + [False]
    assert res.integers[:7].tolist() == truth[:7].tolist()
    assert res.ratio >= 3.0
    # drop order by (e.g.) elevation: dropping a good one first still ends fixed
    res2 = resolve_partial(a, Q, drop_order=[0, 7, 1], min_count=4)
    assert res2.fixed and not res2.used[7]
    # min_count stops partial fixing
    assert not resolve_partial(a, Q, min_count=8).fixed


def test_partial_fix_with_low_success_rate_refused():
    # 4 good ambiguities, sigma 0.3 cycles each, 0.05 cycles from their integers, and a
    # hopeless fifth: the full set fails the ratio test, the 4 pass it by far (ratio ~90),
    # but their bootstrapped success rate is only erf(1 / (2 * 0.3 * sqrt 2))^4 = 0.67
    Q = np.diag([0.09] * 4 + [4.0])
    a = np.array([3.05, -7.05, 12.05, 0.05, 5.5])
    loose = resolve_partial(a, Q, min_count=4)
    assert loose.fixed and loose.used.tolist() == [True] * 4 + [False] and loose.ratio > 50
    strict = resolve_partial(a, Q, min_count=4, success_rate_min=0.99)
    assert not strict.fixed and not strict.used.any()
    ok = resolve_partial(a, Q, min_count=4, success_rate_min=0.6)
    assert ok.fixed and ok.integers[:4].tolist() == [3, -7, 12, 0]
    assert ok.success_rate == pytest.approx(math.erf(1 / (0.6 * math.sqrt(2))) ** 4, rel=1e-12)


def test_bootstrap_success_rate():
    # diagonal: product of 2 Phi(1 / (2 sigma)) - 1, written with erf
    sig = np.array([0.1, 0.2, 0.3])
    expected = np.prod([math.erf(1 / (2 * s * math.sqrt(2))) for s in sig])
    assert bootstrap_success_rate(np.diag(sig**2)) == pytest.approx(expected, rel=1e-12)
    # correlated: a lower bound of the simulated integer least-squares success rate
    rng = np.random.default_rng(5)
    A = rng.normal(size=(3, 3)) * 0.15
    Q = A @ A.T + 0.01 * np.eye(3)
    p_boot = bootstrap_success_rate(Q)
    c = np.linalg.cholesky(Q)
    trials = 1500
    ok = sum(lambda_search(c @ rng.normal(size=3), Q, 2)[0][0].tolist() == [0, 0, 0]
             for _ in range(trials))
    p_ils = ok / trials
    assert p_ils >= p_boot - 3 * math.sqrt(p_boot * (1 - p_boot) / trials)
    assert 0.0 < p_boot < 1.0


# ---------------------------------------------------------------- reduction, warm starts
def test_partial_reduction_is_a_valid_lambda_reduction():
    # Q_z = Z^T Q Z = L^T D L with Z unimodular; no permutation condition left violated
    rng = np.random.default_rng(21)
    for _ in range(20):
        a, Q = random_problem(rng, int(rng.integers(2, 9)), True)
        L, D = ltdl(Q)
        L2, D2, Z = reduce_for_search(L, D)
        assert np.all(Z == np.rint(Z)) and abs(abs(np.linalg.det(Z)) - 1) < 1e-6
        np.testing.assert_allclose(L2.T @ np.diag(D2) @ L2, Z.T @ Q @ Z, rtol=1e-8, atol=1e-10)
        sub = np.diagonal(L2, -1) - np.floor(np.diagonal(L2, -1) + 0.5)
        assert np.all(D2[:-1] + sub**2 * D2[1:] + 1e-6 >= D2[1:])
        assert np.abs(np.tril(L2, -1)).max(initial=0.0) <= 0.5  # fully size-reduced


def _ill_conditioned(rng, n):
    A = rng.normal(size=(n, n)) @ np.diag(np.geomspace(1, 0.01, n)) @ rng.normal(size=(n, n))
    return A @ A.T


def test_reduction_of_large_problems_stays_small_and_exact():
    # 25-50 strongly correlated ambiguities (as dual-frequency multi-GNSS). Reducing only
    # L[k+1, k] before each permutation let the other entries of L and Z grow to 1e93 and
    # beyond (NaN at n = 50) on these very problems: the search then failed. Reference:
    # the full LAMBDA decorrelation (decorrelate, RTKLIB's reduction: every column fully
    # reduced, restart after each permutation) ends at the same Z and D.
    rng = np.random.default_rng(30)
    for _ in range(6):
        n = int(rng.integers(25, 51))
        Q = _ill_conditioned(rng, n)
        L, D = ltdl(Q)
        L2, D2, Z, Zi = li._reduce(L, D)
        L3, D3, Z3 = decorrelate(L, D)
        assert np.array_equal(Z, Z3)
        np.testing.assert_allclose(D2, D3, rtol=1e-8)
        np.testing.assert_allclose(L2, L3, atol=1e-8)
        assert np.abs(np.tril(L2, -1)).max() <= 0.5
        assert np.array_equal(Z @ Zi, np.eye(n))  # exact integers, Zi = Z^-1
        Qz = Z.T @ Q @ Z
        np.testing.assert_allclose(L2.T @ np.diag(D2) @ L2, Qz, atol=1e-4 * np.abs(Qz).max())


def test_warm_started_transformation_ends_fully_reduced():
    # from a previous epoch's Z (here: of a slightly different covariance) or a random
    # unimodular start, the kept Z leaves a size-reduced L for the next epoch too
    rng = np.random.default_rng(17)
    for _ in range(10):
        n = int(rng.integers(8, 20))
        Q = _ill_conditioned(rng, n) * 1e-3 + 1e-4 * np.eye(n)
        a = rng.normal(size=n) * 10
        _, _, keep, _ = li._ils(a, Q, 2)
        Q2 = Q * 1.05 + 1e-4 * np.diag(rng.uniform(size=n))
        cand, dist, keep2, _ = li._ils(a, Q2, 2, keep)
        assert keep is not None and keep2 is not None
        for (Z, Zi), Qk in ((keep, Q), (keep2, Q2)):
            assert np.array_equal(Z @ Zi, np.eye(n))
            L, _ = ltdl(Z.T @ Qk @ Z)
            assert np.abs(np.tril(L, -1)).max() <= 0.5 + 1e-9
        cold = li._ils(a, Q2, 2)
        assert np.array_equal(cand, cold[0])
        np.testing.assert_allclose(dist, cold[1], rtol=1e-8)


def test_transformation_too_large_to_map_back_exactly_raises(monkeypatch):
    # never a silently wrong integer vector: Z beyond exact double arithmetic raises
    a, Q = random_problem(np.random.default_rng(4), 5, True)
    assert np.abs(reduce_for_search(*ltdl(Q))[2]).max() > 1
    monkeypatch.setattr(li, "_MAX_EXACT_ENTRY", 1.0)
    with pytest.raises(SatnavError, match="too large"):
        lambda_search(a, Q)


def test_warm_start_gives_the_same_integers():
    # any unimodular start (here: a random product of Gauss transformations and swaps,
    # and the previous problem's own Z) leaves the integer least-squares answer unchanged
    rng = np.random.default_rng(5)
    for _ in range(30):
        n = int(rng.integers(2, 5))
        a, Q = random_problem(rng, n, True)
        Z0 = np.eye(n)
        for _ in range(6):
            i, j = rng.choice(n, 2, replace=False)
            Z0[:, j] -= rng.integers(-2, 3) * Z0[:, i]
            Z0[:, [i, j]] = Z0[:, [j, i]]
        cold = lambda_search(a, Q)
        warm = lambda_search(a, Q, transform=Z0)
        ref = brute_force(a, Q)
        assert warm[0].tolist() == cold[0].tolist()
        np.testing.assert_allclose(warm[1], ref[1], rtol=1e-9, atol=1e-9)


def test_resolve_partial_with_warm_dict_matches_cold():
    # a slowly changing problem, as from one filter epoch to the next
    rng = np.random.default_rng(9)
    n = 10
    A = rng.normal(size=(n, n)) @ np.diag(np.geomspace(1, 0.01, n)) @ rng.normal(size=(n, n))
    truth = rng.integers(-30, 30, n)
    warm = {}
    for k in range(15):
        Q = (A @ A.T) * 0.05 / (1 + k) + 1e-4 * np.eye(n)
        a = truth + np.linalg.cholesky(Q) @ rng.normal(size=n) * 0.3
        Q[9, 9] += 2.0  # one poor ambiguity: partial resolution drops it
        cold = resolve_partial(a, Q, ratio_threshold=2.0)
        hot = resolve_partial(a, Q, ratio_threshold=2.0, warm=warm)
        assert hot.fixed == cold.fixed and hot.used.tolist() == cold.used.tolist()
        assert hot.integers.tolist() == cold.integers.tolist()
        assert hot.ratio == pytest.approx(cold.ratio, rel=1e-8)
    assert () in warm  # the full set's transformation is kept for the next call


# ---------------------------------------------------------------- optional numba kernels
def _problems(seed, count=120):
    rng = np.random.default_rng(seed)
    for _ in range(count):
        n = int(rng.integers(1, 15))
        A = rng.normal(size=(n, n)) @ np.diag(np.geomspace(1, 0.02, n)) @ rng.normal(size=(n, n))
        yield rng.normal(size=n) * 20, A @ A.T * 0.1 + 1e-4 * np.eye(n)


def test_array_kernels_equal_the_list_implementation():
    # the kernels numba compiles, run here as plain Python: bit-identical to the lists
    for a, Q in _problems(1):
        L, D = ltdl(Q)
        ref = li._reduce_py(L, D)
        nperm, Z, Zi = li._reduce_kernel(L.copy(), D.copy())
        L2, D2 = L.copy(), D.copy()
        li._reduce_kernel(L2, D2)
        if ref[2] is None:
            assert nperm == 0
            L2, D2, Z = L, D, np.eye(len(D))
        else:
            assert nperm > 0
            assert np.array_equal(Z, ref[2]) and np.array_equal(Zi, ref[3])
            assert np.array_equal(L2, ref[0]) and np.array_equal(D2, ref[1])
        zs = Z.T @ (a - np.floor(a))
        done, cand, cdist = li._search_kernel(L2, D2, zs, 2, 100_000)
        c_ref, d_ref = li._search_py(L2, D2, zs, 2)
        order = np.argsort(cdist, kind="stable")
        assert done and np.array_equal(cand[order], c_ref) and np.array_equal(cdist[order], d_ref)
    rng = np.random.default_rng(31)  # large problems: many permutations and Gauss steps
    for _ in range(4):
        L, D = ltdl(_ill_conditioned(rng, int(rng.integers(25, 51))))
        ref = li._reduce_py(L, D)
        L2, D2 = L.copy(), D.copy()
        nops, Z, Zi = li._reduce_kernel(L2, D2)
        assert nops > 0 and np.array_equal(Z, ref[2]) and np.array_equal(Zi, ref[3])
        assert np.array_equal(L2, ref[0]) and np.array_equal(D2, ref[1])


def test_numba_accelerator_is_bit_identical():
    pytest.importorskip("numba")
    try:
        assert li.use_accelerator(True) or os.environ.get("SATNAV_NO_NUMBA")
        for a, Q in _problems(2, 60):
            li.use_accelerator(True)
            fast = lambda_search(a, Q), resolve_partial(a, Q, min_count=1)
            li.use_accelerator(False)
            slow = lambda_search(a, Q), resolve_partial(a, Q, min_count=1)
            assert np.array_equal(fast[0][0], slow[0][0]) and np.array_equal(fast[0][1], slow[0][1])
            assert fast[1].ratio == slow[1].ratio
            assert fast[1].integers.tolist() == slow[1].integers.tolist()
        rng = np.random.default_rng(32)
        for _ in range(4):
            L, D = ltdl(_ill_conditioned(rng, int(rng.integers(25, 51))))
            li.use_accelerator(True)
            fast = li._reduce(L, D)
            li.use_accelerator(False)
            slow = li._reduce(L, D)
            assert all(np.array_equal(f, s) for f, s in zip(fast, slow))
    finally:
        li.use_accelerator(None)


def test_numba_is_loaded_only_once_the_search_has_cost_its_import():
    """Automatic mode: pure Python until the reduction and search have spent
    ACCELERATE_AFTER_S (about numba's import cost), then the compiled kernels. A short RTK
    job in a fresh process (the 120-epoch gsi pair) never imports numba."""
    import subprocess
    import sys

    saved = li._PY_SECONDS
    try:
        li._PY_SECONDS = 0.0
        assert li.use_accelerator(None) is False
        assert li._kernels() is False
        li._PY_SECONDS = li.ACCELERATE_AFTER_S
        if importlib.util.find_spec("numba") and not os.environ.get("SATNAV_NO_NUMBA"):
            assert li._kernels()
    finally:
        li._PY_SECONDS = saved
        li.use_accelerator(None)
    d = data_path("gsi-2005-092")
    code = (
        "import sys; from satnav.cli import main; "
        f"rc = main(['solve', {str(d / '07590920.05o')!r}, {str(d / '07590920.05n')!r}, "
        f"'--base', {str(d / '30400920.05o')!r}, '-q']); "
        "print(rc, 'numba' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.stdout.split() == ["0", "False"], out.stdout + out.stderr
