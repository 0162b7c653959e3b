"""Optional numba compilation of satnav's scalar-loop kernels (the ``accel`` extra).

A kernel is a plain Python function of NumPy arrays and numbers, written so that numba can
compile it; its caller keeps a NumPy or pure-Python version of the same computation for when
numba is not installed, fails, or ``SATNAV_NO_NUMBA`` is set (both versions are tested).
"""

from __future__ import annotations

import os
import types

__all__ = ["compile_kernels"]


def compile_kernels(functions, warm_up) -> tuple | bool:
    """``functions`` compiled by ``numba.njit`` (cached on disk where the package folder is
    writable, in memory otherwise) and run once by ``warm_up(kernels)``, so that the first
    real call does not compile; False when numba is missing or fails or ``SATNAV_NO_NUMBA``
    is set."""
    if os.environ.get("SATNAV_NO_NUMBA"):
        return False
    try:
        import numba
    except ImportError:
        return False
    for cache in (True, False):  # no cache where the package folder is read-only
        try:
            jit = numba.njit(cache=cache, nogil=True)
            memo: dict = {}
            kernels = tuple(_compiled(f, jit, memo) for f in functions)
            warm_up(kernels)
        except Exception:  # pragma: no cover - a broken numba install
            continue
        return kernels
    return False


def _compiled(function, jit, memo):
    """``jit(function)`` where the satnav functions it calls by global name (shared NumPy
    cores such as :func:`satnav.frames.geodetic_core`, recursively) are compiled too: the
    kernel runs on a copy of ``function`` whose globals name the compiled helpers (the
    modules keep their plain functions, which the NumPy callers use)."""
    if function in memo:
        return memo[function]
    names = function.__code__.co_names
    helpers = [n for n in names if isinstance(function.__globals__.get(n), types.FunctionType)
               and function.__globals__[n].__module__.startswith("satnav")]
    if not helpers:
        memo[function] = out = jit(function)
        return out
    scope = dict(function.__globals__)
    copy = types.FunctionType(function.__code__, scope, function.__name__, function.__defaults__,
                              function.__closure__)
    copy.__qualname__, copy.__module__ = function.__qualname__, function.__module__
    memo[function] = out = jit(copy)
    for name in helpers:
        scope[name] = _compiled(scope[name], jit, memo)
    return out
