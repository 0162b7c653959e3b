"""Satellite-state sources: one interface over broadcast, precise, tabulated and designed orbits.

A satellite-state source is a callable ``source(sat, time_ns, signal=None) ->
SatelliteStates`` (:class:`SatelliteStateSource`): satellite indices ``sat``
(:mod:`satnav.satellites`) and GPST ns ``time_ns`` (signal transmission time, int64) broadcast
together; the states are ECEF positions (m), velocities (m/s), clocks (s) and clock drifts
(s/s) with the conventions of :class:`~satnav.orbits.states.SatelliteStates`; ``signal`` is a
RINEX 3 code or band (``"C1C"``, ``"5"``) for the broadcast group delay and message choice.
Every source also offers ``clocks(sat, time_ns)`` (the clocks at least, for the first pass of
the transmission-time search; it may skip the orbits) and describes itself with
``satellites`` (int16 indices it may give states for), ``systems`` (their system letters, in
``"GRECJIS"`` order) and ``span`` (GPST ns interval of its data, or None when unbounded).
A source of ionospheric delays also has ``ionosphere_m(sat, time_ns, signal=None)``
(:class:`IonosphereSource`).

Implementations, each a thin wrapper that returns exactly what the function it wraps returns:

* :class:`BroadcastSource` - broadcast ephemerides (:func:`~satnav.orbits.ephemeris.broadcast_states`);
* :class:`PreciseSource` - SP3 orbits and RINEX clocks (:func:`~satnav.orbits.precise.precise_states`);
* :class:`TabulatedSource` - the satellite states of a Google Smartphone Decimeter Challenge
  file (:class:`satnav.io.android.GsdcStates`), with their ionospheric delays;
* :class:`satnav.constellation.designed_source.DesignedSource` - designed constellations,
  numerically propagated (in the constellation layer, which registers it:
  :func:`register_state_source`)
  (:func:`~satnav.constellation.propagate.propagate_pairs`);
* :class:`CombinedSource` - several sources, each satellite from the first that has it.

:func:`state_source` turns a ``Navigation``, ``Sp3`` (or ``(Sp3, ClockData)``),
``Constellation``, ``GsdcStates``, a list of them or an existing source into a source.
Every source can be given to :func:`satnav.estimators.spp.solve_spp` and
:func:`satnav.estimators.rtk.solve_rtk` as ``states=``.
"""

from __future__ import annotations

import sys
from typing import Protocol, runtime_checkable

import numpy as np

from .. import satellite_states as S
from ..errors import SatnavError
from ..satellite_states import SatelliteStates
from ..satellites import SYSTEMS, system_number_of

__all__ = [
    "register_state_source",
    "SatelliteStateSource",
    "IonosphereSource",
    "BroadcastSource",
    "PreciseSource",
    "TabulatedSource",
    "CombinedSource",
    "state_source",
]


@runtime_checkable
class SatelliteStateSource(Protocol):
    """What every satellite-state source offers (see the module doc)."""

    def __call__(self, sat, time_ns, signal: str | None = None) -> SatelliteStates:
        """States of satellites ``sat`` at GPST ns ``time_ns`` (broadcast together)."""
        ...

    def clocks(self, sat, time_ns) -> SatelliteStates:
        """States with at least ``clock_s`` and ``valid`` filled (positions may be NaN)."""
        ...

    @property
    def satellites(self) -> np.ndarray:
        """Satellite indices (int16) the source may give states for."""
        ...

    @property
    def systems(self) -> str:
        """System letters of :attr:`satellites` in ``"GRECJIS"`` order."""
        ...

    @property
    def span(self) -> tuple[int, int] | None:
        """First and last time (GPST ns) of the source's data; None when unbounded."""
        ...


@runtime_checkable
class IonosphereSource(Protocol):
    """A source that also gives slant ionospheric delays (``solve_spp(iono="states")``)."""

    def ionosphere_m(self, sat, time_ns, signal: str | None = None) -> np.ndarray:
        """Slant ionospheric delay (m) at the frequency of ``signal``; NaN where unknown."""
        ...


def _systems_of(sats: np.ndarray) -> str:
    present = set(np.unique(system_number_of(np.asarray(sats, dtype=np.int64))).tolist())
    return "".join(s for i, s in enumerate(SYSTEMS) if i in present)


# --------------------------------------------------------------------------- broadcast
class BroadcastSource:
    """States from broadcast navigation messages.

    Parameters
    ----------
    nav : satnav.navigation.Navigation
        Broadcast messages.
    validity : dict, optional
        Validity windows per system (see :func:`~satnav.orbits.ephemeris.broadcast_states`).
    velocity : bool
        False: velocities and clock drifts of Keplerian orbits are not computed (NaN), for
        callers that use positions and clocks only (those are unchanged, bit for bit).

    Notes
    -----
    Calls are :func:`~satnav.orbits.ephemeris.broadcast_states` ``(nav, sat, time_ns,
    signal=signal)``; the RINEX 3.02 BeiDou B1I code ``"C1I"`` is read as ``"C2I"`` (its
    name in RINEX 3.01 and 3.03+), as :func:`~satnav.estimators.spp.solve_spp` does.
    """

    def __init__(self, nav, *, validity: dict | None = None, velocity: bool = True):
        self.nav = nav
        self.validity = validity
        self.velocity = velocity

    def __call__(self, sat, time_ns, signal: str | None = None) -> SatelliteStates:
        from .ephemeris import broadcast_states

        if signal == "C1I":
            signal = "C2I"
        return broadcast_states(self.nav, sat, time_ns, signal=signal, validity=self.validity,
                                velocity=self.velocity)  # fmt: skip

    def clocks(self, sat, time_ns, signal: str | None = None) -> SatelliteStates:
        """Clocks only (positions NaN, ``valid`` as for full states); the same clocks."""
        from .ephemeris import broadcast_states

        if signal == "C1I":
            signal = "C2I"
        return broadcast_states(self.nav, sat, time_ns, signal=signal, validity=self.validity,
                                velocity=False, positions=False)  # fmt: skip

    @property
    def satellites(self) -> np.ndarray:
        from ..satellites import satellite_indices

        return satellite_indices(self.nav.satellites()).astype(np.int16)

    @property
    def systems(self) -> str:
        return "".join(s for s in SYSTEMS if len(self.nav.messages.get(s, ())))

    @property
    def span(self) -> tuple[int, int] | None:
        """First and last reference time of clock (toc) of the messages; None when empty."""
        try:
            return self.nav.time_span()
        except ValueError:
            return None

    def __repr__(self) -> str:
        return f"<BroadcastSource {self.nav!r}>"


# --------------------------------------------------------------------------- precise
class PreciseSource:
    """States interpolated from precise SP3 orbits (and RINEX clocks).

    Parameters
    ----------
    sp3 : satnav.io.sp3.Sp3
    clk : satnav.io.clk.ClockData, optional
        Clocks; default the SP3 clock records.
    order : int
        Lagrange interpolation nodes.
    require_clock : bool
        Invalidate states without a clock (default; for estimators).

    Notes
    -----
    Calls are :func:`~satnav.orbits.precise.precise_states` ``(sp3, sat, time_ns, clk=clk,
    order=order, require_clock=require_clock)``; ``signal`` is ignored (precise clocks refer
    to the product's ionosphere-free reference signals; ``group_delay_s`` is NaN).
    """

    def __init__(self, sp3, clk=None, *, order: int = 10, require_clock: bool = True):
        self.sp3 = sp3
        self.clk = clk
        self.order = order
        self.require_clock = require_clock

    def __call__(self, sat, time_ns, signal: str | None = None) -> SatelliteStates:
        from .precise import precise_states

        return precise_states(self.sp3, sat, time_ns, clk=self.clk, order=self.order,
                              require_clock=self.require_clock)  # fmt: skip

    def clocks(self, sat, time_ns, signal: str | None = None) -> SatelliteStates:
        """The full states (their clocks need the orbit for the relativistic term)."""
        return self(sat, time_ns, signal)

    @property
    def satellites(self) -> np.ndarray:
        sats = np.asarray(self.sp3.satellites, dtype=np.int16)
        if self.clk is not None and self.require_clock:
            sats = sats[np.isin(sats, np.asarray(self.clk.satellites))]
        return sats

    @property
    def systems(self) -> str:
        return _systems_of(self.satellites)

    @property
    def span(self) -> tuple[int, int] | None:
        """First and last SP3 epoch (GPST ns)."""
        t = np.asarray(self.sp3.time)
        return (int(t[0]), int(t[-1])) if len(t) else None

    def __repr__(self) -> str:
        return f"<PreciseSource {len(self.sp3.satellites)} satellites, clk={'yes' if self.clk is not None else 'no'}>"


# --------------------------------------------------------------------------- tabulated
class TabulatedSource:
    """States interpolated from a table of satellite states (the GSDC ``device_gnss.csv``).

    Wraps a :class:`satnav.io.android.GsdcStates` (see there for the interpolation and the
    clock convention: ``clock_s`` includes the group delay of the signal's band, so
    ``group_delay_s`` is 0); calls return exactly what it returns. Also an
    :class:`IonosphereSource` (Google's broadcast-model delays).
    """

    def __init__(self, table):
        self.table = table

    @classmethod
    def from_gsdc(cls, obs_or_path, **options) -> TabulatedSource:
        """From a GSDC file or the Observations read from one (:func:`satnav.io.android.gsdc_states`)."""
        from ..io.android import gsdc_states

        return cls(gsdc_states(obs_or_path, **options))

    def __call__(self, sat, time_ns, signal: str | None = None) -> SatelliteStates:
        return self.table(sat, time_ns, signal)

    def clocks(self, sat, time_ns, signal: str | None = None) -> SatelliteStates:
        return self.table(sat, time_ns, signal)

    def ionosphere_m(self, sat, time_ns, signal: str | None = None) -> np.ndarray:
        return self.table.ionosphere_m(sat, time_ns, signal)

    @property
    def satellites(self) -> np.ndarray:
        return np.unique(np.asarray(self.table.keys) // 10).astype(np.int16)

    @property
    def systems(self) -> str:
        return _systems_of(self.satellites)

    @property
    def span(self) -> tuple[int, int] | None:
        """First and last tabulated state time (GPST ns)."""
        t = np.asarray(self.table.t)
        return (int(t.min()), int(t.max())) if len(t) else None

    def __repr__(self) -> str:
        return f"<TabulatedSource {self.table!r}>"


# --------------------------------------------------------------------------- combined
class CombinedSource:
    """Several sources as one: each satellite's states come from the first source that
    lists it in ``satellites`` (e.g. precise orbits for GPS and Galileo, broadcast for the
    others)."""

    def __init__(self, sources):
        self.sources = [state_source(s) for s in sources]

    def _route(self, sat, time_ns, signal, method):
        sat_b, t_b = np.broadcast_arrays(np.asarray(sat, dtype=np.int64), np.asarray(time_ns, dtype=np.int64))
        shape = sat_b.shape
        q_sat, q_t = sat_b.ravel(), t_b.ravel()
        out = S.empty_states((q_sat.size,), S.NO_EPHEMERIS)
        free = np.ones(q_sat.size, dtype=bool)
        for src in self.sources:
            take = free & np.isin(q_sat, np.asarray(src.satellites, dtype=np.int64))
            if not take.any():
                continue
            st = getattr(src, method)(q_sat[take], q_t[take], signal)
            for name in ("position_m", "velocity_m_s", "clock_s", "clock_drift_s_s", "relativity_s",
                         "group_delay_s", "iode", "message_toe_ns", "valid", "reason"):  # fmt: skip
                getattr(out, name)[take] = getattr(st, name)
            free &= ~take
        return out.reshape(shape)

    def __call__(self, sat, time_ns, signal: str | None = None) -> SatelliteStates:
        return self._route(sat, time_ns, signal, "__call__")

    def clocks(self, sat, time_ns, signal: str | None = None) -> SatelliteStates:
        return self._route(sat, time_ns, signal, "clocks")

    @property
    def satellites(self) -> np.ndarray:
        parts = [np.asarray(s.satellites, dtype=np.int16) for s in self.sources]
        return np.unique(np.concatenate(parts)) if parts else np.zeros(0, np.int16)

    @property
    def systems(self) -> str:
        return _systems_of(self.satellites)

    @property
    def span(self) -> tuple[int, int] | None:
        """The union of the sources' spans; None when any is unbounded (or none given)."""
        spans = [s.span for s in self.sources]
        if not spans or any(sp is None for sp in spans):
            return None
        return min(sp[0] for sp in spans), max(sp[1] for sp in spans)

    def __repr__(self) -> str:
        return f"<CombinedSource {self.sources!r}>"


# --------------------------------------------------------------------------- factory
def _instance(obj, module: str, name: str) -> bool:
    """``isinstance(obj, module.name)`` without importing ``module`` (an object of the class
    exists only once its module is imported): no import-time cost, no upward import."""
    mod = sys.modules.get(module)
    return mod is not None and isinstance(obj, getattr(mod, name))


#: (class, factory) pairs added by higher layers (:func:`register_state_source`).
_REGISTERED: list = []


def register_state_source(cls: type, factory) -> None:
    """Let :func:`state_source` turn objects of ``cls`` into a source with ``factory(obj)``.

    For sources defined above the orbit layer (a designed constellation's
    :class:`~satnav.constellation.designed_source.DesignedSource` registers itself for
    :class:`~satnav.constellation.design.Constellation` when :mod:`satnav.constellation` is
    imported), so that this module never imports upwards."""
    _REGISTERED.append((cls, factory))


def state_source(obj) -> SatelliteStateSource:
    """A satellite-state source for ``obj``.

    ``obj`` may be a source already (returned as is), a
    :class:`~satnav.navigation.Navigation` (:class:`BroadcastSource`), an SP3 product or a
    pair ``(Sp3, ClockData)`` (:class:`PreciseSource`), a designed
    :class:`~satnav.constellation.design.Constellation` (a
    :class:`~satnav.constellation.designed_source.DesignedSource`, registered by that layer), a
    :class:`~satnav.io.android.GsdcStates` (:class:`TabulatedSource`), or a list/tuple of
    these (:class:`CombinedSource`).

    Raises
    ------
    SatnavError
        For anything else.
    """
    if isinstance(obj, SatelliteStateSource):
        return obj
    from ..navigation import Navigation

    if isinstance(obj, Navigation):
        return BroadcastSource(obj)
    if _instance(obj, "satnav.io.sp3", "Sp3"):
        return PreciseSource(obj)
    for cls, factory in _REGISTERED:
        if isinstance(obj, cls):
            return factory(obj)
    if _instance(obj, "satnav.io.android", "GsdcStates"):
        return TabulatedSource(obj)
    if isinstance(obj, (list, tuple)):
        if (len(obj) == 2 and _instance(obj[0], "satnav.io.sp3", "Sp3")
                and (obj[1] is None or _instance(obj[1], "satnav.io.clk", "ClockData"))):  # fmt: skip
            return PreciseSource(obj[0], obj[1])
        return CombinedSource(obj)
    raise SatnavError(
        f"no satellite states from a {type(obj).__name__}: expected a Navigation, an SP3 product (with its "
        "clocks), a Constellation, GSDC states, a list of them or a satellite-state source"
    )
