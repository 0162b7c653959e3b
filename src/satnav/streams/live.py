"""The live engine: rover (and base) stream items in, one :class:`~satnav.streams.outputs.LiveFix`
per rover epoch out, written at once to the outputs.

:class:`LiveEngine` holds the per-epoch engines of the estimators
(:class:`~satnav.estimators.spp_engine.SppEngine`, :class:`~satnav.estimators.rtk_engine.RtkEngine`)
and what a stream adds to them:

* **navigation** from files, from the streams (UBX SFRBX, RTCM 3 ephemerides) or both,
  merged as it comes (:meth:`LiveEngine.add_navigation`); the RTK engine starts once the
  first ephemerides and a base position are known;
* **base epochs** buffered in time order and given to the RTK engine only up to the rover
  epoch being solved (those not after it, and the first one after it), so that a rover
  epoch is paired as the batch solver pairs it (:func:`satnav.estimators.rtk.solve_rtk`)
  whatever the network delivered early; the base position from the base stream (RTCM
  1005/1006) unless given;
* **stale corrections**: a rover epoch without a base epoch within ``max_age_s`` is solved
  single point, with a note saying why (no base data yet, corrections N s old);
* **epochs out of order or repeated** (rover or base) are dropped and counted; epochs
  without navigation data are reported unsolved;
* **receiver clock jumps** (:mod:`satnav.streams.clock_jumps`) are reported, and the
  phases of that epoch marked slipped so that no ambiguity is carried across the jump;
* nothing that failed a check is written as a fix: such epochs have ``valid`` False
  (NMEA quality 0, ``.pos`` comment lines).

:class:`LiveLoop` runs the engine over :class:`~satnav.streams.feeds.Feed` threads: a rover
epoch waits for the base epoch of its time at most ``base_wait_s`` (wall clock; not at all
when the base stream is down or has ended), then is solved and written. Between epochs it
works ahead (:meth:`LiveEngine.prepare_ahead`) and collects the garbage: the interpreter's
collector is off while the loop runs, so that no collection pauses an epoch
(:data:`GC_BUSY_FACTOR`); its switch interval is short (:data:`SWITCH_INTERVAL_S`), so that
a feed woken by an epoch's bytes does not wait for the lock held by other work.
"""

from __future__ import annotations

import copy
import gc
import math
import queue
import sys
import time
import warnings
from collections import Counter, deque
from dataclasses import dataclass, field

import numpy as np

from ..errors import SatnavError
from ..estimators.solution import SOLVED_STATUS_MAX, STATUS
from ..gnss_time import format_gpst
from ..io.stream_items import EpochItem, NavigationItem, ProblemItem, StationItem
from ..options import StreamOptions
from .clock_jumps import ClockJumpDetector, mark_all_phases_slipped, use_compiled_clock_jumps
from .feeds import END, StateChange
from .outputs import FORMATTERS, LiveFix, _scalar_frames_ok

__all__ = ["LiveEngine", "LiveLoop", "LiveSummary", "TIME_TAG_TOLERANCE_S"]

#: As :data:`satnav.pipeline.TIME_TAG_TOLERANCE_S`: receivers' time tags differ by ms.
TIME_TAG_TOLERANCE_S = 0.5
#: Base epochs held (not yet given to the RTK engine) at most.
BASE_BUFFER = 600
#: Latencies kept for the summary (the last ones; memory stays bounded on a long run).
LATENCIES_KEPT = 100_000
#: Rover epochs waiting for base data at most (beyond: solved without waiting).
MAX_PENDING = 10_000
#: While :class:`LiveLoop` runs, the garbage collector is off; it collects between epochs,
#: when the engine has nothing left to do, as the collector would have (its thresholds,
#: ``gc.get_threshold()``), and, in a loop that never waits (a file replayed as fast as
#: possible), after an epoch once this many times the youngest generation's threshold has
#: been allocated.
GC_BUSY_FACTOR = 10
#: Longest wait of rover epochs for a base stream that is still connecting (or a base
#: file still being read) before its first epoch (s).
BASE_START_WAIT_S = 15.0
_RTK_MODES = {"dgnss": "dgnss", "rtk-kinematic": "kinematic", "rtk-static": "static"}


class LiveEngine:
    """Per-epoch positioning of a live rover (see the module docstring).

    Parameters
    ----------
    options : StreamOptions
    nav : Navigation, optional
        Ephemerides known at the start (files); more with :meth:`add_navigation`.
    """

    def __init__(self, options: StreamOptions | None = None, nav=None) -> None:
        self.options = options if options is not None else StreamOptions()
        self.nav = None
        self.spp = None
        self.rtk = None
        self.base_position = (None if self.options.base_position is None
                              else np.asarray(self.options.base_position, float))
        self.base_position_source = "argument" if self.base_position is not None else ""
        self._base: deque = deque()  # base epochs not yet given to the RTK engine
        self._base_last: int | None = None
        #: Time between the last two base epochs (ns; None before two).
        self.base_interval_ns: int | None = None
        self._base_header_position = None
        self._rover_last: int | None = None
        self.counts: Counter = Counter()
        self.events: deque = deque(maxlen=200)
        self._new_events: list[str] = []
        self._rover_jumps = ClockJumpDetector()
        self._base_jumps = ClockJumpDetector()
        self._rtk_failed = False
        self._nav_keys: set = set()
        self._nav_header_keys: set = set()
        self._nav_pending = None
        if nav is not None:
            self.add_navigation(nav)
            self._apply_navigation()
        if self.options.relative and self.options.mode != "dgnss":
            _warm_up_lambda()
        #: whether the RTK receivers' geometry is compiled (numba; NumPy without it)
        self.compiled_rtk_geometry = False
        if self.options.relative:  # the slip trackers' and geometry kernels too
            from ..estimators.cycle_slips import use_compiled_slip_tracker
            from ..estimators.rtk_engine import use_compiled_geometry

            use_compiled_slip_tracker(True)
            self.compiled_rtk_geometry = use_compiled_geometry(True)
        # the iterations of each epoch's SPP compiled (numba; NumPy without it): whether in use
        from ..estimators.spp_kernel import use_compiled_spp
        from ..estimators.spp_states_kernel import use_compiled_states

        self.compiled_spp = use_compiled_spp(True)
        #: whether the satellite states of each SPP epoch are compiled (numba; NumPy without it)
        self.compiled_spp_states = use_compiled_states(True)
        #: whether the receiver clock jump detectors are compiled (numba; NumPy without it)
        self.compiled_clock_jumps = use_compiled_clock_jumps(True)
        _scalar_frames_ok()  # (the outputs' one-epoch geodetic conversion checked now, not at the first fix)
        self._note_kernels_not_loaded()

    def _note_kernels_not_loaded(self) -> None:
        """Say so when numba is installed and a kernel of the epoch did not load (it failed to
        compile, or its check against its NumPy version, :func:`satnav._jit.agree`, did not
        hold): the NumPy version runs and every epoch takes longer; silent, this once hid
        a refusal on every AVX-512 machine."""
        from .._jit import numba_wanted

        kernels = [("SPP epoch", self.compiled_spp), ("SPP satellite states", self.compiled_spp_states),
                   ("receiver clock jump", self.compiled_clock_jumps)]
        if self.options.relative:
            kernels.append(("RTK receiver geometry", self.compiled_rtk_geometry))
        missing = [name for name, loaded in kernels if not loaded]
        if missing and numba_wanted():
            self.note(f"numba is installed but the compiled {', '.join(missing)} kernel"
                      f"{'s' if len(missing) > 1 else ''} did not load (compilation or the check against "
                      "NumPy failed): NumPy runs instead, each epoch takes longer")

    # ------------------------------------------------------------------ inputs
    def note(self, text: str) -> None:
        """Record a notable event (shown by the command, kept in :attr:`events`)."""
        self.events.append(text)
        self._new_events.append(text)

    def take_events(self) -> list[str]:
        """The events noted since the last call."""
        out, self._new_events = self._new_events, []
        return out

    def add_navigation(self, nav) -> None:
        """Broadcast ephemerides (a :class:`~satnav.navigation.Navigation`) for the next epochs.

        Messages already known (equal in every field but where and when they were read;
        base stations repeat them every minute or so) are skipped; new ones are gathered and
        given to the engines once, before the next epoch is solved."""
        from ..estimators.spp_engine import merge_navigation
        from ..navigation import Navigation, message_keys

        fresh = Navigation(header=nav.header)
        for letter, arr in nav.messages.items():
            if not len(arr):
                continue
            # the whole message is the key, but where and when it was read (RTCM 3 gives a
            # repetition its frame's time, GLONASS its string 1's t_k): a message of the
            # same times with other values (a health change, an upload) is new, the engines
            # hold both as Navigation.merge does
            keys = message_keys(letter, arr)
            new = np.array([k not in self._nav_keys for k in keys])
            if new.any():
                self._nav_keys.update(k for k, n in zip(keys, new) if n)
                fresh.add_messages(letter, arr[new])
        # header corrections by name and value: new broadcast coefficients replace the old
        header_new = {(k, repr(np.asarray(v).tolist())) for k, v in (*nav.header.iono_corrections.items(),
                                                                   *nav.header.time_corrections.items())}
        header_new -= self._nav_header_keys
        if not len(fresh) and not header_new:
            return
        self._nav_header_keys |= header_new
        fresh.header = copy.deepcopy(nav.header)  # (the engines' navigation may change it)
        self.counts["ephemerides"] += len(fresh)
        self._nav_pending = fresh if self._nav_pending is None else merge_navigation(self._nav_pending, fresh)

    def _apply_navigation(self) -> None:
        from ..estimators.spp_engine import merge_navigation

        nav, self._nav_pending = self._nav_pending, None
        if nav is None:
            return
        self.nav = nav if self.nav is None else merge_navigation(self.nav, nav)
        if not len(self.nav):
            return
        if self.spp is None:
            from ..estimators.spp_engine import SppEngine

            self.spp = SppEngine(self.nav, systems=self.options.systems,
                                 elevation_mask_deg=self.options.elevation_mask_deg)
        else:  # new messages, or header corrections (ionosphere, UTC) only
            self.spp.add_navigation(nav)
        if self.rtk is not None:
            self.rtk.add_navigation(nav)

    def prepare_ahead(self, deadline: float) -> bool:
        """Work ahead while no epoch waits, until ``deadline`` (``time.perf_counter`` s): the
        navigation messages received since the last epoch given to the engines, then each
        engine's :meth:`~satnav.estimators.spp_engine.SppEngine.prepare_ahead`. True when
        nothing is left (until new messages arrive). The fixes are the same with or without
        it; the next epoch's latency is lower."""
        if self._nav_pending is not None:
            self._apply_navigation()
            if time.perf_counter() > deadline:
                return False
        for engine in (self.spp, self.rtk):
            if engine is not None and not engine.prepare_ahead(deadline):
                return False
        return True

    def add_station(self, item: StationItem) -> None:
        """The base station's description (RTCM 1005/1006): its position unless given."""
        if item.position_m is None or self.options.base_position is not None:
            return
        pos = np.asarray(item.position_m, float)
        if self.base_position is None or np.linalg.norm(pos - self.base_position) > 1e-3:
            if self.rtk is not None:
                self.note(f"base station position changed to {pos[0]:.4f} {pos[1]:.4f} {pos[2]:.4f}: RTK restarted")
                self.rtk = None
            self.base_position = pos
            self.base_position_source = f"base stream (station {item.station_id})"
            self.note(f"base position from the base stream (station {item.station_id}): "
                      f"{pos[0]:.4f} {pos[1]:.4f} {pos[2]:.4f}")

    def add_base(self, obs) -> bool:
        """Buffer one base epoch; False (counted) when it repeats or precedes the last one."""
        t = int(obs.epochs[0])
        if self._base_last is not None and t <= self._base_last:
            kind = "base_duplicates" if t == self._base_last else "base_out_of_order"
            self.counts[kind] += 1
            self.note(f"base epoch {format_gpst(t)} {'repeated' if t == self._base_last else 'out of order'}: dropped")
            return False
        jump = self._base_jumps.update(obs)
        if jump:
            self.counts["base_clock_jumps"] += 1
            self.note(f"base receiver clock jump of {ClockJumpDetector.milliseconds(jump):+.3f} ms at "
                      f"{format_gpst(t)}: its phases restarted")
            obs = mark_all_phases_slipped(obs)
        if self._base_last is not None:
            self.base_interval_ns = t - self._base_last
        self._base_last = t
        approx = obs.header.approx_position_m
        if approx is not None and np.linalg.norm(approx) > 6.0e6:
            self._base_header_position = np.asarray(approx, float)
        self._base.append(obs)
        while len(self._base) > BASE_BUFFER:
            self._base.popleft()
        self.counts["base_epochs"] += 1
        return True

    @property
    def base_latest_ns(self) -> int | None:
        """Time of the latest base epoch received (None before any)."""
        return self._base_last

    # ------------------------------------------------------------------ one epoch
    def process(self, obs, *, t_in: float | None = None) -> LiveFix | None:
        """Solve one rover epoch; None when it is dropped (repeated or out of order)."""
        t = int(obs.epochs[0])
        if self._rover_last is not None and t <= self._rover_last:
            kind = "rover_duplicates" if t == self._rover_last else "rover_out_of_order"
            self.counts[kind] += 1
            self.note(f"rover epoch {format_gpst(t)} {'repeated' if t == self._rover_last else 'out of order'}: dropped")
            return None
        self._rover_last = t
        self.counts["rover_epochs"] += 1
        self._apply_navigation()
        jump = self._rover_jumps.update(obs)
        if jump:
            self.counts["rover_clock_jumps"] += 1
            self.note(f"rover receiver clock jump of {ClockJumpDetector.milliseconds(jump):+.3f} ms at "
                      f"{format_gpst(t)}: carrier phases restarted")
            obs = mark_all_phases_slipped(obs)
        if self.spp is None:
            fix = LiveFix(t, np.full(3, np.nan), 0, False, "none", reason="no navigation data yet")
        elif self.options.relative:  # single point only when RTK/DGNSS cannot serve the epoch
            fix = self._relative_fix(obs, lambda: self._spp_fix(obs))
        else:
            fix = self._spp_fix(obs)
        self.counts[f"q{fix.quality if fix.valid else 0}"] += 1
        if t_in is not None:
            fix.latency_s = time.monotonic() - t_in
        return fix

    def _spp_fix(self, obs) -> LiveFix:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            sol = self.spp.process(obs)
        for w in caught:
            text = str(w.message)
            if text not in self.events:
                self.note(text)
        status = int(sol.status[0])
        solved = status <= SOLVED_STATUS_MAX  # (Solution.solved and .valid of the one epoch)
        valid = status <= 1
        used = sol.used
        if used.size:
            used = used.reshape(-1)
            sats = sol.satellites[used].tolist()
            res = sol.residuals_m.reshape(-1)
            r = res[used] if res.size == used.size else res[:0]
            r = r[np.isfinite(r)]
        else:
            sats, r = [], ()
        return LiveFix(
            time_ns=int(obs.epochs[0]), position_m=sol.position_m[0], quality=5 if solved else 0, valid=valid,
            mode="spp", n_satellites=int(sol.n_used[0]), satellites=sats, hdop=float(sol.hdop[0]),
            pdop=float(sol.pdop[0]), vdop=float(sol.vdop[0]), gdop=float(sol.gdop[0]),
            # (np.mean's sum and division, np.sqrt's correctly rounded root: the same bits)
            residual_rms_m=math.sqrt(float(np.add.reduce(r * r)) / len(r)) if len(r) else math.nan,
            velocity_m_s=sol.velocity_m_s[0], reason="" if valid else STATUS.get(status, "unknown"),
            solution=sol,
        )

    def _rtk_engine(self):
        if self.rtk is not None or self._rtk_failed:
            return self.rtk
        position = self.base_position if self.base_position is not None else self._base_header_position
        if position is None or self.nav is None or not len(self.nav):
            return None
        from ..estimators.rtk_engine import RtkEngine

        o = self.options
        self.rtk = RtkEngine(self.nav, base_position=position, mode=_RTK_MODES[o.mode],
                             frequencies=o.rtk_frequencies, elevation_mask_deg=o.elevation_mask_deg,
                             ratio_threshold=o.ratio_threshold, fix_and_hold=o.fix_and_hold, systems=o.systems,
                             max_age_s=o.max_age_s + TIME_TAG_TOLERANCE_S, glonass_ar=o.glonass_ar)
        if not self.base_position_source:
            self.base_position_source = "base header"
        return self.rtk

    def _relative_fix(self, obs, single) -> LiveFix:
        """The RTK/DGNSS fix of the epoch, else ``single()`` (the single point fix) with a
        note saying why."""
        t = int(obs.epochs[0])
        rtk = self._rtk_engine()
        if rtk is None:
            why = ("no base data yet" if self._base_last is None and not self._base
                   else "no base position yet (RTCM 1005/1006, --base-pos or a base file header)")
            return self._fallback(single, f"single point: {why}")
        # base epochs not after t, then the first one after it (the batch pairing)
        while self._base and int(self._base[0].epochs[0]) <= t:
            self._add_base(rtk, self._base.popleft())
        if self._base:
            self._add_base(rtk, self._base.popleft())
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                r = rtk.process(obs)
        except SatnavError as exc:
            self.note(f"RTK epoch {format_gpst(t)} not solved: {exc}")
            return self._fallback(single, "single point: RTK failed at this epoch")
        for w in caught:
            if str(w.message) not in self.events:
                self.note(str(w.message))
        if r.quality not in (1, 2, 4):
            last = rtk._base[-1].t if rtk._base else None
            if last is None:
                note = "single point: no base data yet"
            else:
                age = (t - min((b.t for b in rtk._base), key=lambda bt: abs(t - bt))) / 1e9
                note = (f"single point: corrections {abs(age):.1f} s old, more than max age "
                        f"{self.options.max_age_s:g} s" if abs(age) > self.options.max_age_s + TIME_TAG_TOLERANCE_S
                        else "single point: too few common satellites with the base")
            return self._fallback(single, note)
        from ..estimators.rtk_solution import RtkSolution

        one = RtkSolution(
            time_ns=np.array([t], np.int64), position_m=r.position_m[None, :],
            float_position_m=r.float_position_m[None, :], quality=np.array([r.quality], np.int8),
            ratio=np.array([r.ratio]), n_fixed=np.array([r.n_fixed], np.int16),
            n_satellites=np.array([r.n_satellites], np.int16), covariance_m2=r.covariance_m2[None, :, :],
            age_s=np.array([r.age_s]), base_position_m=np.asarray(rtk.base_pos, float),
            base_position_source=self.base_position_source, mode=rtk.mode,
        )
        return LiveFix(
            time_ns=t, position_m=np.asarray(r.position_m, float), quality=int(r.quality), valid=True,
            mode=self.options.mode, n_satellites=int(r.n_satellites), satellites=np.asarray(r.satellites).tolist(),
            covariance_m2=np.asarray(r.covariance_m2, float), gdop=float(r.gdop), pdop=float(r.pdop),
            hdop=float(r.hdop), vdop=float(r.vdop),
            residual_rms_m=math.nan, ratio=float(r.ratio), age_s=float(r.age_s),
            solution=one,
        )

    @staticmethod
    def _fallback(single, note: str) -> LiveFix:
        fix = single()
        fix.note = note
        fix.age_s = math.nan
        return fix

    def _add_base(self, rtk, obs) -> None:
        try:
            rtk.add_base(obs)
        except SatnavError as exc:
            self.note(f"base epoch {format_gpst(int(obs.epochs[0]))} not used: {exc}")


def _warm_up_lambda() -> None:
    """Load the LAMBDA search kernels (:mod:`satnav.estimators.lambda_ils`: numba, from its
    cache) now, before the stream starts, rather than in the middle of it when the
    pure-Python search has run long enough: loading (or, the first time, compiling) them
    holds the interpreter for 0.5 s to seconds, and from a background thread that stalled
    the outputs just the same (measured: one 15 s stall of a 1 Hz RTK stream under load 9)."""
    from ..estimators import lambda_ils

    if getattr(lambda_ils, "_KERNELS", False) is None:
        lambda_ils._KERNELS = lambda_ils._load_kernels()


@dataclass
class LiveSummary:
    """What a live run did: epochs per quality, drops, problems, latencies (s)."""

    counts: Counter = field(default_factory=Counter)
    #: wall time from the bytes read to the outputs written, the last LATENCIES_KEPT epochs
    latencies_s: deque = field(default_factory=lambda: deque(maxlen=LATENCIES_KEPT))
    #: CPU time of the loop's thread solving and writing, the last LATENCIES_KEPT epochs
    cpu_s: deque = field(default_factory=lambda: deque(maxlen=LATENCIES_KEPT))
    events: list = field(default_factory=list)
    fixes: list = field(default_factory=list)  # the LiveFix of each epoch (keep_fixes only)

    def latency_percentiles_ms(self) -> dict[str, float]:
        if not self.latencies_s:
            return {}
        a = np.asarray(self.latencies_s) * 1e3
        return {"p50": float(np.percentile(a, 50)), "p99": float(np.percentile(a, 99)), "max": float(a.max())}


#: Longest piece of work ahead between two looks at the queue (s): an epoch arriving while
#: the engine works ahead waits at most about this long.
AHEAD_SLICE_S = 0.0005
#: The interpreter's switch interval while :class:`LiveLoop` runs (s; ``sys.setswitchinterval``,
#: 5 ms by default): the longest a thread that has just read an epoch's bytes, or the loop with
#: an epoch to solve, waits for the interpreter lock held by another thread (the loop working
#: ahead, another feed decoding) before that thread is asked to let go.
SWITCH_INTERVAL_S = 0.001


class LiveLoop:
    """Run a :class:`LiveEngine` over feeds (see the module docstring).

    ``outputs``: (format, sink) pairs, format one of ``nmea``, ``pos``, ``json``.
    ``on_fix(fix)`` and ``on_event(text)`` are called in the loop's thread.
    """

    def __init__(self, engine: LiveEngine, items: queue.Queue, *, rover, base=None, navigation_feeds=(),
                 outputs=(), on_fix=None, on_event=None, keep_fixes: bool = False,
                 encoders=()) -> None:
        self.engine, self.items = engine, items
        self.rover, self.base = rover, base
        self.feeds = [f for f in (rover, base, *navigation_feeds) if f is not None]
        self.outputs = list(outputs)
        self.encoders = list(encoders)
        self.on_fix, self.on_event = on_fix, on_event
        self.keep_fixes = keep_fixes
        self.summary = LiveSummary()
        self._pending: deque = deque()  # (obs, t_in, t_arrival)
        self._ended: set[str] = set()
        self._states: dict[str, str] = {}  # role -> stream state, in queue order
        #: Time of the first rover epoch (GPST ns; a time hint for RTCM 3 base streams).
        self.first_rover_ns: int | None = None
        self._base_progress = -math.inf  # monotonic time of the last base epoch
        self._ahead = False  # whether the engine may have work to do ahead (LiveEngine.prepare_ahead)
        self._collect = False  # whether the loop collects the garbage (the collector is off while it runs)

    def run(self, *, stop=None, duration_s: float | None = None) -> LiveSummary:
        """Until the rover ends (and its epochs are written), ``stop`` is set, or
        ``duration_s`` passes."""
        for f in self.feeds:
            f.start()
        t_end = None if duration_s is None else time.monotonic() + duration_s
        switch = sys.getswitchinterval()
        sys.setswitchinterval(min(switch, SWITCH_INTERVAL_S))
        collecting = gc.isenabled()
        thawed = gc.get_freeze_count() == 0
        if collecting:  # collections between epochs only (GC_BUSY_FACTOR)
            gc.freeze()  # (what was made before: not traversed by them; as in satnav.cli.main)
            gc.disable()
        self._collect = collecting
        try:
            while True:
                if stop is not None and stop.is_set():
                    break
                if t_end is not None and time.monotonic() > t_end:
                    break
                try:
                    role, item, t_in = self.items.get(timeout=self._timeout())
                except queue.Empty:
                    role = item = t_in = None
                if item is not None:
                    self._take(role, item, t_in)
                    self._ahead = True
                self._solve_ready()
                self._report_events()
                if self._ahead and not self._pending and self.items.empty():
                    self._work_ahead()
                    if self._collect and self.items.empty():
                        self._collect_garbage(1)
                if "rover" in self._ended and not self._pending:
                    break
        finally:
            sys.setswitchinterval(switch)
            if collecting:
                if thawed:  # (a library caller's objects collectable again)
                    gc.unfreeze()
                gc.enable()
            for f in self.feeds:
                f.stop()
            for f in self.feeds:
                f.join(timeout=2)
            self._report_events()
            self.summary.counts = Counter(self.engine.counts)
            self.summary.events = list(self.engine.events)
        return self.summary

    # ------------------------------------------------------------------ internals
    def _collect_garbage(self, factor: int) -> None:
        """Collect the generations the collector would collect now (its thresholds, the
        youngest one's times ``factor``)."""
        counts, limits = gc.get_count(), gc.get_threshold()
        if counts[0] < factor * limits[0]:
            return
        generation = 0
        while generation < 2 and counts[generation + 1] + 1 >= limits[generation + 1]:
            generation += 1
        gc.collect(generation)

    def _work_ahead(self) -> None:
        """The engine's work ahead (:meth:`LiveEngine.prepare_ahead`) in slices of
        :data:`AHEAD_SLICE_S`, while nothing arrives."""
        while self.items.empty():
            if self.engine.prepare_ahead(time.perf_counter() + AHEAD_SLICE_S):
                self._ahead = False
                return

    def _timeout(self) -> float:
        if not self._pending:
            return 0.2
        start = max(self._pending[0][2], self._base_progress)
        wait = self.engine.options.base_wait_s - (time.monotonic() - start)
        return max(0.01, min(0.2, wait))

    def _take(self, role: str, item, t_in: float) -> None:
        eng = self.engine
        if isinstance(item, StateChange):
            previous = self._states.get(role)
            self._states[role] = item.state
            if previous is not None or item.state not in ("connecting", "connected", "listening"):
                eng.note(f"{role} stream {item.state}" + (f": {item.message}" if item.message else ""))
            return
        if item is END:
            self._ended.add(role)
            feed = {"rover": self.rover, "base": self.base}.get(role)
            if feed is not None and getattr(feed, "error", None):
                eng.note(f"{role} stream failed: {feed.error}")
            return
        if isinstance(item, EpochItem):
            if role == "rover":
                if self.first_rover_ns is None:
                    self.first_rover_ns = int(item.observations.epochs[0])
                self._pending.append((item.observations, t_in, time.monotonic()))
                for enc in self.encoders:
                    self._write_encoded(enc, enc.epoch, item.observations)
            elif role == "base":
                eng.add_base(item.observations)
                self._base_progress = time.monotonic()
        elif isinstance(item, NavigationItem):
            eng.add_navigation(item.navigation)
            for enc in self.encoders:
                if role == "rover":
                    self._write_encoded(enc, enc.navigation, item.navigation)
        elif isinstance(item, StationItem):
            if role == "base":
                eng.add_station(item)
        elif isinstance(item, ProblemItem):
            eng.counts[f"{role}_{item.kind}"] += 1
            if item.kind != "garbage" or eng.counts[f"{role}_{item.kind}"] <= 10:
                eng.note(f"{role} stream: {item.message or item.kind} (byte {item.offset})")

    def _write_encoded(self, enc, make, arg) -> None:
        try:
            data = make(arg)
        except SatnavError as exc:
            self.engine.note(str(exc))
            return
        if data:
            for sink in enc.sinks:
                sink.write(data)

    def _base_waiting(self, t: int, arrived: float) -> bool:
        """Whether the rover epoch ``t`` (arrived at ``arrived``, monotonic) should still
        wait for the base epoch of its time: the base has none at or after ``t`` yet, its
        stream is up, and either the rover epoch or the base's last epoch is less than
        ``base_wait_s`` old (a base delivering epochs -- a file replayed as fast as
        possible -- is waited for as long as it makes progress)."""
        if not self.engine.options.relative or self.base is None or "base" in self._ended:
            return False
        state = self._states.get("base", "connecting")
        if state in ("disconnected", "refused", "stalled"):  # its end: the END marker (_ended)
            return False
        if len(self._pending) > MAX_PENDING:
            return False
        latest = self.engine.base_latest_ns
        if latest is not None and latest >= t:
            return False
        interval = self.engine.base_interval_ns
        if latest is not None and interval and t - latest < interval / 2:
            return False  # no later base epoch can be nearer (the batch pairing)
        if getattr(self.base, "unpaced_file", False):
            return True  # a file read as fast as possible: its next epoch is coming
        waited = time.monotonic() - max(arrived, self._base_progress)
        if latest is None and state in ("connecting", "reconnecting", "listening"):
            return waited < max(self.engine.options.base_wait_s, BASE_START_WAIT_S)
        return waited < self.engine.options.base_wait_s

    def _solve_ready(self) -> None:
        while self._pending:
            obs, t_in, arrived = self._pending[0]
            if self._base_waiting(int(obs.epochs[0]), arrived):
                return
            self._pending.popleft()
            cpu = time.thread_time()
            fix = self.engine.process(obs, t_in=t_in)
            if fix is None:
                continue
            for fmt, sink in self.outputs:
                sink.write(FORMATTERS[fmt](fix))
            self.summary.latencies_s.append(time.monotonic() - t_in)
            self.summary.cpu_s.append(time.thread_time() - cpu)
            if self.keep_fixes:
                self.summary.fixes.append(fix)
            if self.on_fix is not None:
                self.on_fix(fix)
            if self._collect:  # (a loop that never waits)
                self._collect_garbage(GC_BUSY_FACTOR)

    def _report_events(self) -> None:
        for text in self.engine.take_events():
            if self.on_event is not None:
                self.on_event(text)
