"""Optional numba compilation of satnav's scalar-loop kernels (the ``accel`` extra).

A kernel is a plain Python function of NumPy arrays and numbers, written so that numba can
compile it; its caller keeps a NumPy or pure-Python version of the same computation for when
numba is not installed, fails, or ``SATNAV_NO_NUMBA`` is set (both versions are tested).
"""

from __future__ import annotations

import os

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
            kernels = tuple(jit(f) for f in functions)
            warm_up(kernels)
        except Exception:  # pragma: no cover - a broken numba install
            continue
        return kernels
    return False
