"""States of a designed constellation as a satellite-state source
(:class:`satnav.orbits.sources.SatelliteStateSource`): numerically propagated orbits and the
simulator's clock convention. Lives in the constellation layer because it propagates designed
orbits; :func:`satnav.orbits.sources.state_source` finds it through
the registration at the end of this module (done when :mod:`satnav.constellation` is imported)."""

from __future__ import annotations

import numpy as np

from .. import satellite_states as S
from ..orbits.sources import _systems_of, register_state_source
from ..satellite_states import SatelliteStates
from ..satellites import SYSTEMS, system_number_of

__all__ = ["DesignedSource"]


class DesignedSource:
    """States of a designed constellation, propagated numerically (two-body + J2 + Sun/Moon).

    Parameters
    ----------
    constellation : satnav.constellation.design.Constellation
    clock : array (n, 1..3), optional
        Satellite clock polynomials at the constellation epoch (s, s/s, s/s^2), one row per
        satellite (e.g. :func:`satnav.constellation.simulate.satellite_clock_polynomials`);
        default zero (perfect clocks).
    j2, third_body, step_s
        Force model and integration step of :func:`~satnav.constellation.propagate.propagate`.

    Notes
    -----
    Positions and velocities at ``time_ns`` are those of
    :func:`~satnav.constellation.propagate.propagate` at that time, bit for bit. The clock
    is the polynomial plus the fractional-second part of the satellite's system time offset
    (``time_offset_s``) plus, except for GLONASS, the periodic relativistic term
    ``-2 r.v / c^2`` (``relativity_s``), as the simulator builds it
    (:mod:`satnav.constellation.simulate`). No group delays (NaN), no issue of data.
    Satellites not in the constellation are invalid (reason ``NO_EPHEMERIS``).
    """

    def __init__(self, constellation, clock=None, *, j2: bool = True, third_body: bool = True,
                 step_s: float = 300.0):  # fmt: skip
        self.constellation = constellation
        n = len(constellation)
        coeff = np.zeros((n, 3))
        if clock is not None:
            c = np.asarray(clock, dtype=np.float64).reshape(n, -1)
            coeff[:, : c.shape[1]] = c[:, :3]
        self.clock = coeff
        self.j2, self.third_body, self.step_s = j2, third_body, step_s

    def __call__(self, sat, time_ns, signal: str | None = None) -> SatelliteStates:
        from ..gnss_time import NS_PER_S
        from ..models.corrections import relativistic_clock_correction
        from .propagate import propagate_pairs

        sat_b, t_b = np.broadcast_arrays(np.asarray(sat, dtype=np.int64), np.asarray(time_ns, dtype=np.int64))
        shape = sat_b.shape
        q_sat, q_t = sat_b.ravel(), t_b.ravel()
        out = S.empty_states((q_sat.size,), S.NO_EPHEMERIS)
        c = self.constellation
        order = np.argsort(c.sat, kind="stable")
        pos_in = np.clip(np.searchsorted(c.sat[order], q_sat), 0, max(len(c) - 1, 0))
        col = order[pos_in] if len(c) else pos_in
        known = (np.asarray(c.sat)[col] == q_sat) if len(c) else np.zeros(q_sat.size, bool)
        if known.any():
            used = np.unique(col[known])  # the satellites asked for, in constellation order
            sub = c.select(used)
            idx = np.searchsorted(used, col[known])
            t = q_t[known]
            pos, vel = propagate_pairs(sub, idx, t, j2=self.j2, third_body=self.third_body,
                                       step_s=self.step_s)  # fmt: skip
            k = self.clock[used][idx]
            dt = (t - np.int64(c.epoch_ns)).astype(np.float64) / NS_PER_S
            rel = relativistic_clock_correction(pos, vel)
            glonass = system_number_of(np.asarray(sub.sat)[idx]) == SYSTEMS.index("R")
            offset = sub.time_offset_s[idx] - np.round(sub.time_offset_s[idx])
            out.position_m[known] = pos
            out.velocity_m_s[known] = vel
            out.clock_s[known] = k[:, 0] + k[:, 1] * dt + k[:, 2] * dt**2 + np.where(glonass, 0.0, rel) + offset
            out.clock_drift_s_s[known] = k[:, 1] + 2 * k[:, 2] * dt
            out.relativity_s[known] = rel
            out.valid[known] = True
            out.reason[known] = S.OK
        return out.reshape(shape)

    def clocks(self, sat, time_ns, signal: str | None = None) -> SatelliteStates:
        """The full states (the relativistic clock term needs the orbit)."""
        return self(sat, time_ns, signal)

    @property
    def satellites(self) -> np.ndarray:
        return np.asarray(self.constellation.sat, dtype=np.int16)

    @property
    def systems(self) -> str:
        return _systems_of(self.satellites)

    @property
    def span(self) -> tuple[int, int] | None:
        """None: propagation works at any time (accuracy degrades far from the epoch)."""
        return None

    def __repr__(self) -> str:
        return f"<DesignedSource {self.constellation.name!r} {len(self.constellation)} satellites>"


def _register() -> None:
    from .design import Constellation

    register_state_source(Constellation, DesignedSource)


_register()
