"""Optional numba compilation of satnav's scalar-loop kernels (the ``accel`` extra).

A kernel is a plain Python function of NumPy arrays and numbers, written so that numba can
compile it; its caller keeps a NumPy or pure-Python version of the same computation for when
numba is not installed, fails, or ``SATNAV_NO_NUMBA`` is set (both versions are tested).
"""

from __future__ import annotations

import os
import types

__all__ = ["compile_kernels"]


def compile_kernels(functions, warm_up, helpers: int = 0) -> tuple | bool:
    """``functions`` compiled by ``numba.njit`` (cached on disk where the package folder is
    writable, in memory otherwise) and run once by ``warm_up(kernels)``, so that the first
    real call does not compile; False when numba is missing or fails or ``SATNAV_NO_NUMBA``
    is set.

    The first ``helpers`` functions are helpers of the others: compiled first, and each
    later function compiled with the compiled helpers in place of the plain ones it names
    (numba cannot call a plain Python function: without this the kernel would not compile,
    and the caller would silently fall back to NumPy). Returns the compiled functions
    after the helpers."""
    if os.environ.get("SATNAV_NO_NUMBA"):
        return False
    try:
        import numba
    except ImportError:
        return False
    for cache in (True, False):  # no cache where the package folder is read-only
        try:
            jit = numba.njit(cache=cache, nogil=True)
            compiled = {}
            kernels = []
            for k, f in enumerate(functions):
                kernel = jit(_with_globals(f, compiled) if compiled else f)
                if k < helpers:
                    compiled[f.__name__] = kernel
                else:
                    kernels.append(kernel)
            kernels = tuple(kernels)
            warm_up(kernels)
        except Exception:  # pragma: no cover - a broken numba install
            continue
        return kernels
    return False


def _with_globals(f, names: dict):
    """A copy of the function ``f`` whose global names ``names`` are these values."""
    g = dict(f.__globals__)
    g.update(names)
    copy = types.FunctionType(f.__code__, g, f.__name__, f.__defaults__, f.__closure__)
    copy.__qualname__, copy.__module__, copy.__doc__ = f.__qualname__, f.__module__, f.__doc__
    copy.__kwdefaults__ = f.__kwdefaults__
    return copy
