"""Receiver clock jumps in a live stream: :class:`ClockJumpDetector`.

Receivers with an uncorrected oscillator let their clock drift until the bias reaches a
limit and then step it (typically by 1 ms: u-blox, many low-cost receivers); every
pseudorange of that epoch jumps by the same ``c * step`` (about 300 km per ms), and the
carrier phase jumps with it or not, depending on the receiver. A filter that differences
consecutive epochs (slip tests, carrier smoothing, RTK ambiguities) must know.

Detection (no navigation data needed): for each satellite, the second difference of its
pseudorange over three consecutive epochs, ``(P(t) - P(t-1)) / dt1 - (P(t-1) - P(t-2)) / dt0``,
scaled by ``dt1``: geometry and a steady clock drift give metres to a few hundred metres
(satellite range acceleration below 0.2 m/s^2, over 30 s at most about 200 m); a clock
step gives the step on every satellite. The median over the satellites (at least 4) beyond
``threshold_m`` (default 3000 m, 10 microseconds) is a jump. After a jump the stored
differences are corrected by it, so that the next epoch is not taken for a jump back.
"""

from __future__ import annotations

import numpy as np

from ..constants import SPEED_OF_LIGHT
from ..satellites import MAX_SATELLITES

__all__ = ["ClockJumpDetector", "mark_all_phases_slipped", "use_compiled_clock_jumps"]

_KERNELS = None  # (the compiled _update_kernel,) in use; None/False: NumPy
_LOADED = None  # what was loaded (kept when switched off)


class ClockJumpDetector:
    """Feed one epoch at a time (:meth:`update`); the jump in metres (0.0 when none).

    The state (each satellite's last pseudorange and pseudorange rate) is kept in arrays
    over the satellite indices, NaN where a satellite has none: an epoch costs a dozen
    NumPy calls whatever the number of satellites (the same values, in the same
    floating-point operations, as per-satellite dictionaries), or one call of the compiled
    :func:`_update_kernel` where it is loaded (:func:`use_compiled_clock_jumps`; the live
    engine does: the same values)."""

    def __init__(self, *, threshold_m: float = 3000.0, max_gap_s: float = 120.0, min_satellites: int = 4):
        self.threshold_m = float(threshold_m)
        self.max_gap_s = float(max_gap_s)
        self.min_satellites = int(min_satellites)
        self._t: int | None = None
        self._p = np.full(MAX_SATELLITES, np.nan)  # last pseudorange (m) per satellite index
        self._rate = np.full(MAX_SATELLITES, np.nan)  # last pseudorange rate (m/s)
        self._spare = (np.empty(MAX_SATELLITES), np.empty(MAX_SATELLITES))  # the compiled path's next state

    _RANKS: dict = {}  # codes of an epoch -> rank of each code (pseudoranges first, alphabetical)
    _HAS_CODE: dict = {}  # codes of an epoch -> whether one is a pseudorange

    @classmethod
    def _ranks(cls, obs) -> tuple[np.ndarray, bool]:
        """Rank of each of ``obs.codes`` (alphabetical; -1 for codes that are not
        pseudoranges) and whether one is a pseudorange, kept per list of codes."""
        key = tuple(obs.codes)
        rank = cls._RANKS.get(key)
        if rank is None:
            codes = np.asarray(obs.codes)
            is_code = np.array([c.startswith("C") for c in key], bool)
            rank = np.where(is_code, np.argsort(np.argsort(codes)), -1) if len(key) else np.zeros(0, np.int64)
            if len(cls._RANKS) > 64:
                cls._RANKS.clear()
                cls._HAS_CODE.clear()
            cls._RANKS[key] = rank
            cls._HAS_CODE[key] = bool(len(rank)) and bool((rank >= 0).any())
        return rank, cls._HAS_CODE[key]

    @classmethod
    def _pseudoranges(cls, obs) -> np.ndarray:
        """(MAX_SATELLITES,) each satellite's pseudorange (m) of the first code (alphabetical)
        it has, NaN for satellites without."""
        rank, has_code = cls._ranks(obs)
        out = np.full(MAX_SATELLITES, np.nan)
        if not has_code:
            return out
        r = rank[obs.code]
        value = obs.value
        ok = (r >= 0) & np.isfinite(value) & (value > 1e6)
        sat = obs.sat[ok].astype(np.int64)
        # each satellite's value of its lowest rank: sorted by (satellite, rank), the first
        order = np.argsort(sat * len(rank) + r[ok], kind="stable")
        sat = sat[order]
        first = np.ones(len(sat), bool)
        first[1:] = sat[1:] != sat[:-1]
        out[sat[first]] = value[ok][order][first]
        return out

    def update(self, obs) -> float:
        """The clock jump (m) at the one epoch of ``obs``: 0.0 when none is seen."""
        t = int(obs.epochs[0])
        dt = (t - self._t) / 1e9 if self._t is not None else 0.0
        if not 0 < dt <= self.max_gap_s:
            dt = 0.0  # no previous epoch, or too long ago: no rates
        if _KERNELS:
            rank, _ = self._ranks(obs)
            p, rate = self._spare
            jump = _KERNELS[0](_plain(obs.code, _INT16), _plain(obs.sat, _INT16), _plain(obs.value, _FLOAT64), rank,
                               self._p, self._rate, p, rate, dt, self.threshold_m, self.min_satellites)
            self._spare = (self._p, self._rate)
            self._t, self._p, self._rate = t, p, rate
            return jump
        p = self._pseudoranges(obs)
        jump = 0.0
        if dt:
            rate = (p - self._p) / dt  # NaN unless the satellite has both
            d2 = (rate - self._rate) * dt
            d2 = d2[np.isfinite(d2)]
            if len(d2) >= self.min_satellites:
                med = _median(d2)
                if abs(med) > self.threshold_m:
                    jump = med
                    rate = rate - med / dt
        else:
            rate = np.full(MAX_SATELLITES, np.nan)
        self._t, self._p, self._rate = t, p, rate
        return jump

    @staticmethod
    def milliseconds(jump_m: float) -> float:
        return jump_m / SPEED_OF_LIGHT * 1e3


_INT16, _FLOAT64 = np.dtype(np.int16), np.dtype(np.float64)


def _plain(a: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """``a`` itself when it is a writable C-contiguous array of ``dtype`` (the one set of
    argument types the kernel is compiled for: another layout, a read-only buffer or another
    type would compile it again, for seconds, in the middle of a stream), else such a copy."""
    if a.dtype == dtype and a.flags.c_contiguous and a.flags.writeable:
        return a
    return np.array(a, dtype)


def _update_kernel(code, sat, value, rank, p_last, rate_last, p, rate, dt, threshold_m, min_satellites):
    """:meth:`ClockJumpDetector.update` as one loop over the rows and one over the satellites
    (numba-compiled; the same floating-point operations as the NumPy path): fills ``p`` (each
    satellite's pseudorange, m, of its lowest-ranked code with a finite value above 1e6 m;
    the first such row on a tie) and ``rate`` (m/s; NaN when ``dt`` (s) is 0: no previous
    epoch within the gap), and returns the jump (m; 0.0 when none)."""
    n_sat = p.shape[0]
    n_rank = rank.shape[0]
    best = np.empty(n_sat, np.int64)
    for s in range(n_sat):
        p[s] = np.nan
        best[s] = n_rank
    for i in range(code.shape[0]):
        c = code[i]
        if c < 0 or c >= n_rank:
            continue
        r = rank[c]
        v = value[i]
        s = sat[i]
        if r >= 0 and np.isfinite(v) and v > 1e6 and 0 <= s < n_sat and r < best[s]:
            best[s] = r
            p[s] = v
    if dt == 0.0:
        for s in range(n_sat):
            rate[s] = np.nan
        return 0.0
    d2 = np.empty(n_sat)
    n = 0
    for s in range(n_sat):
        x = (p[s] - p_last[s]) / dt
        rate[s] = x
        d = (x - rate_last[s]) * dt
        if np.isfinite(d):
            d2[n] = d
            n += 1
    if n < min_satellites or n == 0:
        return 0.0
    for i in range(1, n):  # insertion sort (tens of values; numba's np.sort compiles for seconds)
        x = d2[i]
        j = i - 1
        while j >= 0 and d2[j] > x:
            d2[j + 1] = d2[j]
            j -= 1
        d2[j + 1] = x
    v = d2
    h = n // 2
    med = v[h] if n % 2 else (v[h - 1] + v[h]) / 2.0
    if not abs(med) > threshold_m:
        return 0.0
    q = med / dt
    for s in range(n_sat):
        rate[s] = rate[s] - q
    return med


def _check_epochs() -> list:
    """Synthetic epochs (satellites coming and going, codes missing, NaN and small values,
    duplicated rows, a clock step each way, a gap), with the fields the detector reads."""
    from types import SimpleNamespace

    rng = np.random.default_rng(11)
    codes = ["L1C", "C1W", "C2W", "C1C", "D1C", "C5Q", "L2W", "S1C"]
    sats = np.arange(0, MAX_SATELLITES, 19)
    rho = rng.uniform(2.0e7, 2.6e7, len(sats))
    out, t, step = [], 1_277_000_000 * 1_000_000_000, 0.0
    for k in range(40):
        t += 30_000_000_000 if k != 25 else 200_000_000_000
        step += {10: 299_792.458, 20: -299_792.458}.get(k, 0.0)
        keep = rng.random(len(sats)) > 0.15
        sat = np.repeat(sats[keep], len(codes)).astype(np.int16)
        code = np.tile(np.arange(len(codes)), int(keep.sum())).astype(np.int16)
        value = np.repeat(rho[keep] + 800.0 * k + step, len(codes)) + rng.normal(0, 3, len(sat))
        value[rng.random(len(value)) < 0.1] = np.nan
        value[rng.random(len(value)) < 0.02] = 5.0
        dup = rng.integers(0, len(sat), 3)
        out.append(SimpleNamespace(epochs=np.array([t], np.int64), codes=codes, sat=np.r_[sat, sat[dup]],
                                   code=np.r_[code, code[dup]], value=np.r_[value, value[dup] + 1.0]))
    return out


def _median(values: np.ndarray) -> float:
    """``float(np.median(values))`` of a 1-D float array without NaNs, the same value (the
    middle one, or the two middle ones' sum halved as np.mean does) without its Python
    layers (~40 microseconds a call)."""
    v = sorted(values.tolist())
    n = len(v)
    h = n // 2
    return v[h] if n % 2 else (v[h - 1] + v[h]) / 2.0


def mark_all_phases_slipped(obs):
    """A copy of ``obs`` with loss-of-lock (LLI bit 0) on every carrier phase: the filters
    restart their ambiguities and smoothing at this epoch."""
    out = obs.select(np.ones(len(obs), bool))  # copies the rows
    phase = np.char.startswith(np.asarray(out.codes), "L")[out.code] if len(out) else np.zeros(0, bool)
    out.lli[phase] = out.lli[phase] | 1
    return out


def _load_kernels():
    from .._jit import compile_kernels

    def warm_up(kernels):
        """Compile (or load from the cache) now, and check the kernel against the NumPy path
        on synthetic epochs."""
        global _KERNELS
        saved = _KERNELS
        try:
            for kernel in (False, kernels):
                _KERNELS = kernel
                det = ClockJumpDetector()
                got = [(det.update(e), det._p.copy(), det._rate.copy()) for e in _check_epochs()]
                if not kernel:
                    want = got
            same = all(a[0] == b[0] and np.array_equal(a[1], b[1], equal_nan=True)
                       and np.array_equal(a[2], b[2], equal_nan=True) for a, b in zip(want, got))
        finally:
            _KERNELS = saved
        if not same or not any(j for j, _, _ in want):
            raise RuntimeError("the compiled clock jump detector differs from NumPy's")

    return compile_kernels((_update_kernel,), warm_up)


def use_compiled_clock_jumps(enabled: bool | None = True) -> bool:
    """Run :meth:`ClockJumpDetector.update` by the compiled :func:`_update_kernel` (``True``:
    load it now; the live engine does this at its start) or with NumPy (``False``; ``None``:
    back to NumPy until asked again); returns whether the kernel is in use. Both give the
    same jumps and states (tests/streams/test_clock_jumps.py)."""
    global _KERNELS, _LOADED
    from .._jit import switch_kernels

    _KERNELS, _LOADED = switch_kernels(_LOADED, enabled, _load_kernels)
    return bool(_KERNELS)
