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
    """Feed one epoch at a time (:meth:`update`); the jump in metres (0.0 when none)."""

    def __init__(self, *, threshold_m: float = 3000.0, max_gap_s: float = 120.0, min_satellites: int = 4):
        self.threshold_m = float(threshold_m)
        self.max_gap_s = float(max_gap_s)
        self.min_satellites = int(min_satellites)
        self._t: int | None = None
        # per satellite index (NaN: none): last pseudorange (m) and range rate (m/s)
        self._p = np.full(MAX_SATELLITES, np.nan)
        self._rate = np.full(MAX_SATELLITES, np.nan)

    _RANKS: dict = {}  # codes of an epoch -> rank of each code (pseudoranges first, alphabetical)

    @classmethod
    def _pseudoranges(cls, obs) -> np.ndarray:
        """Per satellite index: its pseudorange (m) of the first code (alphabetical) it has
        (NaN: none)."""
        key = tuple(obs.codes)
        rank = cls._RANKS.get(key)
        if rank is None:
            codes = np.asarray(obs.codes)
            is_code = np.array([c.startswith("C") for c in key], bool)
            rank = np.where(is_code, np.argsort(np.argsort(codes)), 10**6) if len(key) else np.zeros(0, np.int64)
            if len(cls._RANKS) > 64:
                cls._RANKS.clear()
            cls._RANKS[key] = (rank, bool((rank < 10**6).any()))
            rank = cls._RANKS[key]
        rank, any_code = rank
        out = np.full(MAX_SATELLITES, np.nan)
        if not any_code:
            return out
        r = rank[obs.code]
        value = obs.value
        ok = (r < 10**6) & np.isfinite(value) & (value > 1e6)
        sat, val, rr = obs.sat[ok], value[ok], r[ok]
        order = np.lexsort((rr, sat))
        sat, val = sat[order], val[order]
        first = np.ones(len(sat), bool)
        first[1:] = sat[1:] != sat[:-1]
        out[sat[first]] = val[first]
        return out

    def update(self, obs) -> float:
        """The clock jump (m) at the one epoch of ``obs``: 0.0 when none is seen."""
        t = int(obs.epochs[0])
        p = self._pseudoranges(obs)
        jump = 0.0
        if self._t is not None and 0 < (t - self._t) / 1e9 <= self.max_gap_s:
            dt = (t - self._t) / 1e9
            rate = (p - self._p) / dt  # (NaN where either epoch lacks the satellite)
            d2 = (rate - self._rate) * dt
            d2 = d2[d2 == d2]  # satellites with three epochs
            if len(d2) >= self.min_satellites:
                med = float(np.median(d2))
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


def mark_all_phases_slipped(obs):
    """A copy of ``obs`` with loss-of-lock (LLI bit 0) on every carrier phase: the filters
    restart their ambiguities and smoothing at this epoch."""
    out = obs.select(np.ones(len(obs), bool))  # copies the rows
    phase = np.char.startswith(np.asarray(out.codes), "L")[out.code] if len(out) else np.zeros(0, bool)
    out.lli[phase] = out.lli[phase] | 1
    return out
