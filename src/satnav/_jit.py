"""Optional numba compilation of satnav's scalar-loop kernels (the ``accel`` extra).

A kernel is a plain Python function of NumPy arrays and numbers, written so that numba can
compile it; its caller keeps a NumPy or pure-Python version of the same computation for when
numba is not installed, fails, or ``SATNAV_NO_NUMBA`` is set (both versions are tested).

The two versions run the same operations on the same shared model cores, but not always the
same elementary functions: compiled code calls the C library's ``sin``, ``cos``, ``exp``,
``arctan2``..., while NumPy, on a CPU with AVX-512 (and a NumPy built for it), evaluates them
with its own vector loops (SVML), which differ from the C library's in the last bit of some
results. Elsewhere the two versions give the same bits; there they agree to the rounding of
those functions, amplified by the solvers (:func:`agree`: the test each kernel passes when it
is loaded, and the one the tests apply).
"""

from __future__ import annotations

import os
import time
import types

import numpy as np

__all__ = ["AGREE_RTOL", "agree", "any_true", "compile_kernels", "numba_wanted", "select", "switch_kernels"]


def select(condition, a, b):
    """``np.where(condition, a, b)`` for the shared model cores that compiled kernels call
    with numbers as well as arrays: compiled, it gives a number for numbers (numba's
    ``np.where`` gives a 0-d array, whose type then changes under arithmetic)."""
    return np.where(condition, a, b)


def any_true(values) -> bool:
    """``np.any(values)`` for the shared model cores that compiled kernels call with numbers
    as well as arrays (numba's ``np.any`` takes arrays only)."""
    return bool(np.any(values))


#: Relative tolerance of :func:`agree`, of an array's largest magnitude: the last-bit
#: differences of the elementary functions (~1e-16) times what a least-squares solution
#: amplifies them by (the condition number of its normal equations, up to ~1e8 with a clock
#: per system; observed: 3e-10 of a receiver clock of 17 m from ranges of 2e7 m whose last
#: bits differ, 1.2e-9 of a chi-square statistic).
AGREE_RTOL = 1e-8


def agree(want, got, *, rtol: float = AGREE_RTOL, atol: float = 0.0) -> bool:
    """Whether ``got`` (a compiled kernel's result) is ``want`` (its NumPy version's) up to
    the rounding of the elementary functions (see the module docstring): the same shape;
    flags, counts and indices (any non-float dtype) equal; floats NaN at the same places and
    ``|got - want| <= atol + rtol * max|want|`` elsewhere (``max|want|`` over the array's
    finite values, so that a quantity near zero in an array of large ones, e.g. a velocity
    component, is held to the array's scale: its rounding comes from the large terms).
    ``atol`` (in the array's units) for a result that is itself rounding noise (the last
    step of converged iterations)."""
    a, b = np.asarray(want), np.asarray(got)
    if a.shape != b.shape:
        return False
    if a.dtype.kind not in "fc" or b.dtype.kind not in "fc":
        return a.dtype.kind == b.dtype.kind and bool(np.array_equal(a, b))
    nan_a, nan_b = np.isnan(a), np.isnan(b)
    if not np.array_equal(nan_a, nan_b):
        return False
    finite = ~nan_a
    if not finite.any():
        return True
    x, y = a[finite], b[finite]
    if not np.array_equal(np.isinf(x), np.isinf(y)) or not np.array_equal(x[np.isinf(x)], y[np.isinf(y)]):
        return False
    x, y = x[np.isfinite(x)], y[np.isfinite(y)]
    if not x.size:
        return True
    scale = float(np.abs(x).max())
    return bool(np.all(np.abs(y - x) <= atol + rtol * scale))


_SELECT_REGISTERED = False

#: Called with a line of text before kernels are compiled rather than loaded from numba's
#: cache (tens of seconds, once per installation and version): ``satnav stream`` sets it to
#: tell the terminal. None: silent.
on_compile = None


def _register_select() -> None:
    global _SELECT_REGISTERED
    if _SELECT_REGISTERED:
        return
    from numba import types
    from numba.extending import overload

    @overload(select)
    def _select(condition, a, b):
        if any(isinstance(t, types.Array) for t in (condition, a, b)):
            return lambda condition, a, b: np.where(condition, a, b)
        return lambda condition, a, b: a if condition else b

    @overload(any_true)
    def _any_true(values):
        if isinstance(values, types.Array):
            return lambda values: values.any()
        return lambda values: bool(values)

    _SELECT_REGISTERED = True


def compile_kernels(functions, warm_up, helpers: int = 0) -> tuple | bool:
    """``functions`` compiled by ``numba.njit`` (cached on disk where the package folder is
    writable, in memory otherwise) and run once by ``warm_up(kernels)``, so that the first
    real call does not compile; False when numba is missing or fails or ``SATNAV_NO_NUMBA``
    is set.

    The first ``helpers`` functions are helpers of the others: compiled first, and each
    later function compiled with the compiled helpers in place of the plain ones it names
    (numba cannot call a plain Python function: without this the kernel would not compile,
    and the caller would silently fall back to NumPy). Other satnav functions a kernel
    names (the shared NumPy cores of the models, see :mod:`satnav.estimators.spp_kernel`)
    are found and compiled with it. Returns the compiled functions after the helpers."""
    if os.environ.get("SATNAV_NO_NUMBA"):
        return False
    try:
        import numba
    except ImportError:
        return False
    for cache in (True, False):  # no cache where the package folder is read-only
        try:
            _register_select()
            jit = numba.njit(cache=cache, nogil=True)
            compiled: dict = {}
            memo: dict = {}
            kernels = []
            for k, f in enumerate(functions):
                kernel = _compiled(f, jit, memo, compiled)
                if k < helpers:
                    compiled[f.__name__] = kernel
                else:
                    kernels.append(kernel)
            kernels = tuple(kernels)
            started = None
            names = ", ".join(f.__name__ for f in functions[helpers:])
            if cache:
                _stamp_sources(memo)
                if on_compile is not None and not _all_cached(kernels):
                    on_compile(f"compiling {names} with numba once (cached for the next runs)")
                    started = time.monotonic()
            warm_up(kernels)
            if started is not None:
                on_compile(f"compiled {names} in {time.monotonic() - started:.0f} s")
        except Exception:  # pragma: no cover - a broken numba install
            continue
        return kernels
    return False


def _all_cached(kernels) -> bool:
    """Whether numba's cache holds every kernel (for the current sources)."""
    try:
        return all(bool(k._cache._cache_file._load_index()) for k in kernels)
    except Exception:  # pragma: no cover - numba's private API changed: say nothing
        return True


def _stamp_sources(compiled: dict) -> None:
    """numba keys a cached function by its own source file only, though its code holds its
    callees': key each of ``compiled`` (plain function -> compiled) by the files of all of
    them, so that editing a shared helper (a model core in another module) recompiles its
    callers instead of loading them with the old helper's code."""
    files = sorted({f.__code__.co_filename for f in compiled})
    try:
        stamp = tuple((name, os.stat(name).st_mtime, os.stat(name).st_size) for name in files)
    except OSError:  # pragma: no cover - sources not on disk
        return
    for kernel in compiled.values():
        cache_file = getattr(getattr(kernel, "_cache", None), "_cache_file", None)
        if cache_file is not None and hasattr(cache_file, "_source_stamp"):
            cache_file._source_stamp = (cache_file._source_stamp, stamp)


def _with_globals(f, names: dict):
    """A copy of the function ``f`` whose global names ``names`` are these values."""
    g = dict(f.__globals__)
    g.update(names)
    copy = types.FunctionType(f.__code__, g, f.__name__, f.__defaults__, f.__closure__)
    copy.__qualname__, copy.__module__, copy.__doc__ = f.__qualname__, f.__module__, f.__doc__
    copy.__kwdefaults__ = f.__kwdefaults__
    return copy


def _compiled(function, jit, memo: dict, names: dict):
    """``jit(function)`` with the compiled helpers ``names`` (name -> kernel) in place of the
    plain functions of those names, and the other satnav functions it calls by global name
    (shared NumPy cores such as :func:`satnav.frames.geodetic_core`, recursively) compiled
    too: the kernel runs on a copy of ``function`` whose globals name the compiled functions
    (the modules keep their plain functions, which the NumPy callers use)."""
    _register_select()
    if function in memo:
        return memo[function]
    scope, used = function.__globals__, function.__code__.co_names
    given = {n: names[n] for n in used if n in names}
    found = [n for n in used if n not in names and isinstance(scope.get(n), types.FunctionType)
             and scope[n].__module__.startswith("satnav") and scope[n] not in (select, any_true)]
    if not given and not found:
        memo[function] = out = jit(function)
        return out
    copy = _with_globals(function, given)
    memo[function] = out = jit(copy)  # (compiled at the first call, after the helpers below)
    for name in found:
        copy.__globals__[name] = _compiled(scope[name], jit, memo, names)
    return out


def numba_wanted() -> bool:
    """Whether compiled kernels are expected here: numba is installed and ``SATNAV_NO_NUMBA``
    is not set (a kernel that then does not load is worth telling the user: its NumPy version
    runs, slower)."""
    import importlib.util

    return not os.environ.get("SATNAV_NO_NUMBA") and importlib.util.find_spec("numba") is not None


def switch_kernels(loaded, enabled: bool | None, load):
    """The ``(kernels in use, kernels loaded)`` of a module's ``use_compiled_*`` switch:
    ``enabled`` True loads them once (``load()``: the kernels, or False when numba is missing,
    fails or is off) and uses them; False uses NumPy; None goes back to NumPy until asked
    again. What was loaded is kept when switched off and on again."""
    if enabled:
        if loaded is None:
            loaded = load()
        return loaded, loaded
    return (None if enabled is None else False), loaded

