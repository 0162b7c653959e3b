"""Single point positioning one epoch at a time: :class:`SppEngine`.

The engine is fed one epoch of observations (an :class:`~satnav.observations.Observations`
holding one epoch, e.g. from :meth:`Observations.iter_epochs`, or a few consecutive ones)
and new navigation messages as they arrive, and returns the solution of those epochs. It
shares its core with the batch :func:`~satnav.estimators.spp.solve_spp` (which solves the
same core over time chunks), so that the positions are the same as the batch call's.

State kept between calls:

- the linearization start (the first observations' header position, as the batch call;
  without one -- a receiver stream, UBX or RTCM 3, has none -- the last valid position
  and receiver clocks (:func:`~satnav.estimators.spp.warm_start`), so that an epoch needs
  two iterations rather than six or seven from the geocentre: positions then differ from
  the batch call's, which starts every epoch at the geocentre, by less than the
  convergence limit, 0.1 mm);
- the carrier-smoothing (Hatch) filter of every satellite and signal
  (:class:`~satnav.estimators.carrier_smoothing.HatchSmoother`, causal: see below);
- the last accepted position and velocity, for the motion check.

Differences from the batch call, by design (it cannot see the future):

- **Motion check.** The batch call flags an epoch (status 5) whose position disagrees with
  the Doppler-predicted motion on *both* sides. The engine compares each epoch with the last
  epoch it did not flag (within ``max_gap_s``): an isolated bad epoch is flagged as in the
  batch call and its successor is compared with the good epoch before it, so it is not
  flagged; the first epoch is never flagged. Positions are not affected (status only).
- **Signals.** The batch call chooses the code per system from the codes present in the
  whole file; the engine from those present in the epoch. Both give the same choice where
  a file keeps its codes (the usual case), unless ``signals`` fixes them.
- **Carrier smoothing** (``smoothing_s``) is causal: the receiver's common code-carrier drift
  is averaged over the preceding epochs (the batch call centres that window), and slips
  are found from the loss-of-lock flags, gaps, the Doppler and the code-carrier jump test
  between consecutive epochs (the batch call also uses the geometry-free combination over
  the whole file). Smoothed positions therefore differ slightly from the batch call's.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from ..errors import SatnavWarning
from .solution import SOLVED_STATUS_MAX, Solution
from .spp import (
    SppOptions,
    _initial_position,
    _nav_glonass_channels,
    _reduce_to_marker,
    _smoothing_channels,
    _smoothing_codes,
    _SppCore,
    spp_options,
    warm_start,
)
from .spp_epoch import build_problem

if TYPE_CHECKING:
    from ..io.rinex_nav import Navigation
    from ..observations import Observations

__all__ = ["SppEngine", "merge_navigation"]


class SppEngine:
    """Single point positioning fed one epoch at a time.

    Parameters
    ----------
    nav : Navigation or None
        Broadcast ephemerides known so far (more with :meth:`add_navigation`).
    options : SppOptions, optional
        As :func:`~satnav.estimators.spp.solve_spp`; keywords replace its fields.
    states : callable, optional
        Satellite states source replacing the broadcast ephemerides.

    Examples
    --------
    >>> engine = SppEngine(nav, systems="GE")                      # doctest: +SKIP
    >>> for epoch in obs.iter_epochs():                            # doctest: +SKIP
    ...     sol = engine.process(epoch)
    >>> whole = Solution.concatenate(engine.solutions)             # doctest: +SKIP
    """

    def __init__(self, nav: Navigation | None, options: SppOptions | None = None, *,
                 states: Callable | None = None, motion_tolerance_m: float = 50.0,
                 motion_tolerance_m_s: float = 2.0, max_gap_s: float = 120.0, keep: bool = False,
                 **keywords) -> None:
        self.options = spp_options(options, **keywords)
        self.options.check(states)
        self.nav = nav
        self.states = states
        self._core = _SppCore(nav, self.options, states, build_problem)
        self._nav_systems = None  # systems with navigation messages (set at the first epoch)
        self._x0 = None if self.options.initial_position_m is None else np.asarray(self.options.initial_position_m)
        self._x0_last_fix = False  # no start position known: start from the last valid fix
        self._clock0 = None  # ... and its receiver clocks (m per clock group)
        self._smoother = None
        self._last = None  # (time_ns, position, velocity) of the last accepted epoch
        self._motion = (motion_tolerance_m, motion_tolerance_m_s, max_gap_s)
        self._warned: set[str] = set()
        #: Solutions returned so far (only with ``keep=True``).
        self.solutions: list[Solution] = []
        self._keep = keep

    def prepare_ahead(self, deadline: float) -> bool:
        """Work ahead while waiting for the next epoch, until ``deadline``
        (``time.perf_counter`` s): the broadcast message choices of the satellites not seen
        yet and their packed rows for the compiled states
        (:meth:`~satnav.orbits.ephemeris.BroadcastEphemeris.prepare_ahead`; a rising
        satellite then costs no selection and no new plan in its first epoch). True when nothing is left;
        the solutions are the same with or without it."""
        ephemeris = self._core.ephemeris
        return ephemeris is None or ephemeris.prepare_ahead(deadline)

    def add_navigation(self, nav: Navigation) -> None:
        """Add broadcast messages (a :class:`Navigation`); used from the next epoch on. Its
        header's ionospheric and time corrections replace those held (newer broadcast
        values: :func:`merge_navigation`)."""
        self.nav = nav if self.nav is None else merge_navigation(self.nav, nav)
        old = self._core.ephemeris
        self._core = _SppCore(self.nav, self.options, self.states, build_problem)
        if old is not None and self._core.ephemeris is not None:  # (prepare_ahead makes them first)
            self._core.ephemeris.expect(old)
        self._nav_systems = None
        if self._smoother is not None:  # GLONASS wavelengths of satellites without them so far
            self._smoother.add_channels(_nav_glonass_channels(self.nav))

    def process(self, obs: Observations) -> Solution:
        """Solution of the epochs of ``obs`` (usually one), in time order after the
        previous call's."""
        opts = self.options
        if self._x0 is None:
            self._x0 = _initial_position(obs, None)
            self._x0_last_fix = not np.any(self._x0)
        if opts.smoothing_s:
            if self._smoother is None:
                from .carrier_smoothing import HatchSmoother

                # channels of every satellite with messages (not only those of this epoch)
                channels = {} if self.nav is None else _nav_glonass_channels(self.nav)
                channels.update(_smoothing_channels(obs, self.nav))
                self._smoother = HatchSmoother(
                    window_s=opts.smoothing_s, signals=_smoothing_codes(opts),
                    glonass_channels=channels, interval_s=obs.interval_s(),
                )
            obs = self._smoother.smooth(obs)
        plan = self._core.signal_plan(obs, require=False)
        solution, observed = self._core.solve(obs, self._x0, plan, self._clock0)
        if self.states is None and self.nav is not None:
            self._navigation_warnings(solution, observed)
        if opts.velocity and opts.motion_check:
            self._motion_check(solution)
        if self._x0_last_fix:
            start = warm_start(solution)
            if start is not None:
                self._x0, self._clock0 = start
        if opts.reduce_to_marker:
            _reduce_to_marker(solution, obs)
        if opts.smoothing_s:
            solution.options["smoothing_s"] = float(opts.smoothing_s)
        if self._keep:
            self.solutions.append(solution)
        return solution

    # ------------------------------------------------------------------ internals
    def _navigation_warnings(self, solution: Solution, observed: dict) -> None:
        import warnings

        from ..satellites import SYSTEM_NAMES

        if self._nav_systems is None:  # systems with messages, kept until the navigation changes
            count_by_system = getattr(self.nav, "count_by_system", None)
            if not callable(count_by_system):
                return
            self._nav_systems = {s for s, n in count_by_system().items() if n}
        for s in observed:
            if s not in self._nav_systems and s not in self._warned:
                self._warned.add(s)
                # an engine's navigation grows (a stream's ephemerides arrive one by one)
                text = (f"no {SYSTEM_NAMES.get(s, s)} navigation data yet: its observations are not used "
                        "until its ephemerides arrive")
                warnings.warn(text, SatnavWarning, stacklevel=3)
                solution.warnings.append(text)

    def _motion_check(self, solution: Solution) -> None:
        """Flag (status 5) epochs that disagree with the last accepted epoch's position
        carried forward by the Doppler velocities (trapezoid rule, as
        :func:`~satnav.estimators.spp.motion_inconsistent`). On Python floats: an epoch's few
        numbers cost less so than as arrays."""
        tol_m, tol_m_s, max_gap_s = self._motion
        status = solution.status
        positions, velocities = solution.position_m.tolist(), solution.velocity_m_s.tolist()
        for i, t in enumerate(solution.time_ns.tolist()):
            x, v = positions[i], velocities[i]
            if status[i] > SOLVED_STATUS_MAX or not all(map(math.isfinite, x + v)):
                continue
            if self._last is not None:
                t0, x0, v0 = self._last
                dt = (t - t0) / 1e9
                if dt <= max_gap_s:
                    d = [x[j] - (x0[j] + 0.5 * (v0[j] + v[j]) * dt) for j in range(3)]
                    miss = math.sqrt(d[0] * d[0] + d[1] * d[1] + d[2] * d[2])
                    if miss > tol_m + tol_m_s * dt:
                        if status[i] <= 2:
                            status[i] = 5
                        continue
            self._last = (t, x, v)


def merge_navigation(a: Navigation, b: Navigation) -> Navigation:
    """Navigation holding the messages of ``a`` then ``b`` (:meth:`Navigation.merge`: per
    system sorted by satellite and time of clock, exact duplicates dropped), with ``a``'s
    header but ``b``'s ionospheric and time corrections where ``b`` has them: ``b`` came
    later (a stream's new broadcast coefficients; the batch merge keeps the first file's)."""
    out = a.merge(b)
    out.header.iono_corrections.update(b.header.iono_corrections)
    out.header.time_corrections.update(b.header.time_corrections)
    return out
