"""Satellite states: positions, velocities and clocks for many (satellite, time) pairs (data model).

:class:`SatelliteStates` is what every orbit source returns (broadcast ephemerides in
:mod:`satnav.orbits.ephemeris`, precise products in :mod:`satnav.orbits.precise`) and what the
estimators consume. All arrays share the broadcast shape of the requested ``(sat, time)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "REASONS",
    "OK",
    "NO_EPHEMERIS",
    "EXPIRED",
    "UNHEALTHY",
    "UNSUPPORTED",
    "OUTSIDE_PRECISE_SPAN",
    "INCONSISTENT_ISSUE",
    "SatelliteStates",
    "empty_states",
]

OK = 0
NO_EPHEMERIS = 1
EXPIRED = 2
UNHEALTHY = 3
UNSUPPORTED = 4
OUTSIDE_PRECISE_SPAN = 5
INCONSISTENT_ISSUE = 6

#: Why a state is invalid (``SatelliteStates.reason``).
REASONS = {
    OK: "ok",
    NO_EPHEMERIS: "no ephemeris",
    EXPIRED: "ephemeris expired",
    UNHEALTHY: "unhealthy",
    UNSUPPORTED: "unsupported message",
    OUTSIDE_PRECISE_SPAN: "outside precise-product span",
    INCONSISTENT_ISSUE: "inconsistent issue of data (IODE != IODC mod 256)",
}


@dataclass
class SatelliteStates:
    """Satellite positions, velocities and clocks at signal transmission times.

    Attributes
    ----------
    position_m : ndarray, shape (..., 3)
        ECEF position (m) in the system's own frame (WGS84, PZ-90.11, GTRF, CGCS2000; all
        treated as ITRF-aligned) at transmission time; no Earth-rotation (Sagnac) correction.
    velocity_m_s : ndarray, shape (..., 3)
        ECEF velocity (m/s).
    clock_s : ndarray
        Satellite clock bias (s), including the periodic relativistic term, excluding group
        delays.
    clock_drift_s_s : ndarray
        Clock drift (s/s).
    relativity_s : ndarray
        The periodic relativistic term contained in ``clock_s`` (s): computed and added for
        Keplerian messages (F e sqrt(A) sin E); for GLONASS already part of the broadcast clock
        and only reported (-2 r.v / c^2). ``clock_s - relativity_s`` follows the IGS
        convention of precise clocks.
    group_delay_s : ndarray
        Broadcast group delay (s) of the requested signal (NaN when no signal was named or the
        message has none for it). The estimator subtracts ``c * group_delay_s`` from the
        satellite clock term, i.e. ``dt_signal = clock_s - group_delay_s``.
    iode : ndarray
        Issue of data of the message used (NaN when none).
    message_toe_ns : ndarray of int64
        Reference time (toe; GLONASS/SBAS: toc) of the message used, GPST ns; -1 when none.
    valid : ndarray of bool
        True where a healthy message within its validity was used.
    reason : ndarray of int8
        Code from :data:`REASONS` (0 where valid).
    """

    position_m: np.ndarray
    velocity_m_s: np.ndarray
    clock_s: np.ndarray
    clock_drift_s_s: np.ndarray
    relativity_s: np.ndarray
    group_delay_s: np.ndarray
    iode: np.ndarray
    message_toe_ns: np.ndarray
    valid: np.ndarray
    reason: np.ndarray

    @property
    def shape(self) -> tuple[int, ...]:
        return self.valid.shape

    def reason_text(self) -> np.ndarray:
        """The reason codes as text (array of str, same shape)."""
        table = np.array([REASONS.get(i, "?") for i in range(max(REASONS) + 1)], dtype=object)
        return table[self.reason.astype(np.intp)]

    def __getitem__(self, key) -> SatelliteStates:
        """Index every field with the same key over the leading (pair) dimensions."""
        return SatelliteStates(
            position_m=self.position_m[key],
            velocity_m_s=self.velocity_m_s[key],
            clock_s=self.clock_s[key],
            clock_drift_s_s=self.clock_drift_s_s[key],
            relativity_s=self.relativity_s[key],
            group_delay_s=self.group_delay_s[key],
            iode=self.iode[key],
            message_toe_ns=self.message_toe_ns[key],
            valid=self.valid[key],
            reason=self.reason[key],
        )

    def reshape(self, shape) -> SatelliteStates:
        """The same states with the pair dimensions reshaped to ``shape``."""
        shape = tuple(np.atleast_1d(shape)) if not isinstance(shape, tuple) else shape
        return SatelliteStates(
            position_m=self.position_m.reshape(shape + (3,)),
            velocity_m_s=self.velocity_m_s.reshape(shape + (3,)),
            clock_s=self.clock_s.reshape(shape),
            clock_drift_s_s=self.clock_drift_s_s.reshape(shape),
            relativity_s=self.relativity_s.reshape(shape),
            group_delay_s=self.group_delay_s.reshape(shape),
            iode=self.iode.reshape(shape),
            message_toe_ns=self.message_toe_ns.reshape(shape),
            valid=self.valid.reshape(shape),
            reason=self.reason.reshape(shape),
        )


def empty_states(shape, reason: int = NO_EPHEMERIS) -> SatelliteStates:
    """States of the given shape with every entry invalid (NaN) for ``reason``."""
    shape = tuple(shape)
    nan = np.full(shape, np.nan)
    return SatelliteStates(
        position_m=np.full(shape + (3,), np.nan),
        velocity_m_s=np.full(shape + (3,), np.nan),
        clock_s=nan.copy(),
        clock_drift_s_s=nan.copy(),
        relativity_s=nan.copy(),
        group_delay_s=nan.copy(),
        iode=nan.copy(),
        message_toe_ns=np.full(shape, -1, dtype=np.int64),
        valid=np.zeros(shape, dtype=bool),
        reason=np.full(shape, reason, dtype=np.int8),
    )
