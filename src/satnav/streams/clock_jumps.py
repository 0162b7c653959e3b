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

__all__ = ["ClockJumpDetector", "mark_all_phases_slipped"]


class ClockJumpDetector:
    """Feed one epoch at a time (:meth:`update`); the jump in metres (0.0 when none).

    The state (each satellite's last pseudorange and pseudorange rate) is kept in arrays
    over the satellite indices, NaN where a satellite has none: an epoch costs a dozen
    NumPy calls whatever the number of satellites (the same values, in the same
    floating-point operations, as per-satellite dictionaries)."""

    def __init__(self, *, threshold_m: float = 3000.0, max_gap_s: float = 120.0, min_satellites: int = 4):
        self.threshold_m = float(threshold_m)
        self.max_gap_s = float(max_gap_s)
        self.min_satellites = int(min_satellites)
        self._t: int | None = None
        self._p = np.full(MAX_SATELLITES, np.nan)  # last pseudorange (m) per satellite index
        self._rate = np.full(MAX_SATELLITES, np.nan)  # last pseudorange rate (m/s)

    _RANKS: dict = {}  # codes of an epoch -> rank of each code (pseudoranges first, alphabetical)
    _HAS_CODE: dict = {}  # codes of an epoch -> whether one is a pseudorange

    @classmethod
    def _pseudoranges(cls, obs) -> np.ndarray:
        """(MAX_SATELLITES,) each satellite's pseudorange (m) of the first code (alphabetical)
        it has, NaN for satellites without."""
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
        out = np.full(MAX_SATELLITES, np.nan)
        if not cls._HAS_CODE[key]:
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
        p = self._pseudoranges(obs)
        jump = 0.0
        if self._t is not None and 0 < (t - self._t) / 1e9 <= self.max_gap_s:
            dt = (t - self._t) / 1e9
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
