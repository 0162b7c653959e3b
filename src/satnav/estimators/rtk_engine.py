"""Per-epoch RTK/DGNSS: :class:`RtkEngine`, fed one rover epoch at a time (streams).

The same filter as :func:`satnav.estimators.rtk.solve_rtk` (:class:`~satnav.estimators.
rtk_core.RtkCore`: time update, double differences, measurement update, LAMBDA, validation,
fix-and-hold); only the preparation of each epoch's inputs differs. The batch solver
prepares them for whole files at once; the engine prepares them from one epoch:

* **signals** per system and frequency: the ``signals`` option, else chosen (as the batch
  does, :func:`~satnav.estimators.rtk._choose_signals`) from the first rover epoch and the
  latest base epoch at the first :meth:`RtkEngine.process` with a base epoch;
* **satellite columns**: every satellite of the systems with signals (:data:`MAX_PRN`, or
  the ``satellites`` option), sorted by index, so the state never needs to grow when a
  satellite rises (ambiguities of satellites not tracked stay inactive and cost nothing
  in the filter, which works on the active sub-state);
* **slips** of each receiver from :class:`~satnav.estimators.cycle_slips.SlipTracker`
  (the previous epochs' phase, geometry-free and Melbourne-Wuebbena values);
* **base epochs** (:meth:`RtkEngine.add_base`): the last ``base_epochs_kept`` are kept,
  with their zero-difference residuals; a rover epoch pairs with the nearest kept base
  epoch not after it, else the nearest, within ``max_age_s`` (as the batch's
  :func:`~satnav.estimators.rtk._match_base`, among the base epochs added so far);
* the rover's **single point solution** of the epoch (:func:`~satnav.estimators.spp.solve_spp`).

Fed the epochs of a file (base epochs up to ``max_age_s`` past each rover epoch added
first), the engine gives the batch solution: tests/estimators/test_rtk_engine.py. The
remaining differences are documented on :class:`RtkEngine`.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

import numpy as np

from ..constants import OMEGA_E_GPS, SPEED_OF_LIGHT, WGS84_A, WGS84_F
from ..errors import SatnavError
from ..frames import enu_rotation_elements, geodetic_core
from ..models.measurement import line_of_sight, look_angles_core
from ..models.troposphere import RELATIVE_HUMIDITY, saastamoinen_core
from ..satellites import MAX_SATELLITES, SYSTEMS, satellite_index_of, system_number_of, system_of
from ..signals import per_system
from .cycle_slips import HalfCycleTracker, SlipTracker
from .rtk import (
    _INTEGER_SYSTEMS,
    BASE_AGE_SIGMA_M_PER_S,
    FREQUENCY_BANDS,
    _choose_signals,
    _frequencies,
    _geometry,
    _glonass_k,
    _satellite_states,
)
from .rtk_core import RtkCore, glonass_ar_note, single_differences

__all__ = ["RtkEngine", "RtkEpochSolution", "MAX_PRN", "use_compiled_geometry"]

#: Base epochs queued at most before they are prepared without waiting for a rover epoch.
_BASE_QUEUED = 64
#: Satellite numbers laid out per system (1..MAX_PRN) when ``satellites`` is not given.
MAX_PRN = per_system("max_prn")


# ---------------------------------------------------------------- optional numba kernel
_KERNELS = None  # None: not loaded; False: NumPy (numba missing or off); else (kernel,)
_LOADED = None  # what loading gave (kept when switched off and on again)


def _geometry_kernel(rr, rs, relative_humidity):
    """:func:`satnav.estimators.rtk._geometry` of one receiver ``rr`` (1, 3) and satellites
    ``rs`` (n, 3) with the azimuths: ``(range, line of sight, elevation, troposphere,
    azimuth)``, compiled by numba on the models' shared cores (the operations of
    :func:`satnav.models.measurement.geometry` and
    :func:`~satnav.models.measurement.tropospheric_delay_m`: the same bits, or the same to
    the rounding of the elementary functions where NumPy's are its own, :func:`satnav._jit.agree`;
    checked when it is loaded). Only the satellites with a position are evaluated (the engine's columns
    are every satellite of the systems, most without one); the others' values are NaN, as
    NumPy's for a NaN position."""
    n = rs.shape[0]
    idx = np.empty(n, np.int64)
    m = 0
    for i in range(n):
        if np.isfinite(rs[i, 0]) and np.isfinite(rs[i, 1]) and np.isfinite(rs[i, 2]):
            idx[m] = i
            m += 1
    sub = np.empty((m, 3))
    for j in range(m):
        for c in range(3):
            sub[j, c] = rs[idx[j], c]
    rng_s, e_s, _rotated = line_of_sight(rr, sub, OMEGA_E_GPS)
    lat, lon, h = geodetic_core(rr[:, 0], rr[:, 1], rr[:, 2], WGS84_A, WGS84_F)
    az_s, el_s = look_angles_core(enu_rotation_elements(lat, lon), e_s)
    trop_s = saastamoinen_core(lat, h, el_s, relative_humidity)
    rng, el, trop, az = np.full(n, np.nan), np.full(n, np.nan), np.full(n, np.nan), np.full(n, np.nan)
    e = np.full((n, 3), np.nan)
    for j in range(m):
        i = idx[j]
        rng[i], el[i], trop[i], az[i] = rng_s[j], el_s[j], trop_s[j], az_s[j]
        for c in range(3):
            e[i, c] = e_s[j, c]
    return rng, e, el, trop, az


def _geometry_numpy(rr, rs):
    """What :func:`_geometry_kernel` computes, by the NumPy path."""
    return _geometry(rs, rr, azimuth=True)


def _receiver_geometry(rr, rs):
    """``(range, line of sight, elevation, troposphere, azimuth)`` of receiver ``rr`` (3,)
    and satellites ``rs`` (n, 3): the compiled kernel when loaded, else NumPy's."""
    rr = np.ascontiguousarray(rr, dtype=np.float64).reshape(1, 3)
    if _KERNELS:
        return _KERNELS[0](rr, np.ascontiguousarray(rs, dtype=np.float64), RELATIVE_HUMIDITY)
    return _geometry_numpy(rr, rs)


def _same_arrays(a, b) -> bool:
    from .._jit import agree

    return all(agree(y, x) for x, y in zip(a, b))


def _load_kernels():
    from .._jit import compile_kernels

    def warm_up(kernels):
        """Compile (or load from the cache) now and check the kernel against NumPy on
        receivers and satellites of every direction (absent satellites NaN): a stale cache
        (a model core edited since) fails here and is compiled again."""
        rng = np.random.default_rng(1)
        for rr in ([3582105.29, 532589.73, 5232754.81], [-3957199.2, 3310199.6, 3737711.6],
                   [1.0e3, -2.0e3, 6356752.0], [4.0e6, 4.0e6, -2.0e6]):
            rs = rng.normal(size=(40, 3))
            rs *= 2.6e7 / np.linalg.norm(rs, axis=1)[:, None]
            rs[::7] = np.nan
            rr = np.array([rr])
            if not _same_arrays(kernels[0](rr, rs, RELATIVE_HUMIDITY), _geometry_numpy(rr, rs)):
                raise RuntimeError("the compiled RTK geometry differs from NumPy's")

    return compile_kernels((_geometry_kernel,), warm_up)


def use_compiled_geometry(enabled: bool | None = True) -> bool:
    """Evaluate the receivers' geometry of each epoch (:meth:`RtkEngine._epoch_inputs`) with
    the compiled kernel (``True``: load it now; the live engine does this at its start) or
    with NumPy (``False``; ``None``: back to NumPy until asked again); returns whether the
    kernel is in use. Both give the same values (:func:`satnav._jit.agree`;
    tests/estimators/test_rtk_engine.py)."""
    global _KERNELS, _LOADED
    from .._jit import switch_kernels

    _KERNELS, _LOADED = switch_kernels(_LOADED, enabled, _load_kernels)
    return bool(_KERNELS)


def _broadcast_states(nav):
    """``states(sat, t)`` of the broadcast ephemerides of ``nav`` with ``states.clocks``, as
    :func:`satnav.estimators.rtk._broadcast_states` (same results), over messages prepared
    once (:class:`~satnav.orbits.ephemeris.BroadcastEphemeris`: the Keplerian orbits of all
    systems evaluated in one step, the message choices of a repeated query kept) rather than
    at every call; positions and clocks only (no velocities), and the clocks pass without
    the orbits."""
    from ..orbits.ephemeris import BroadcastEphemeris

    ephemeris = BroadcastEphemeris(nav)

    def states(sat, t):
        return ephemeris.states(sat, t, velocity=False)

    def clocks(sat, t):
        return ephemeris.states(sat, t, velocity=False, positions=False)

    states.clocks = clocks
    states.ephemeris = ephemeris  # (RtkEngine.prepare_ahead)
    return states


class _EpochSpp:
    """The rover's single point solution of one epoch: what
    ``solve_spp(epoch, nav, systems=..., elevation_mask_deg=..., velocity=False)`` returns
    (the same core and steps), with the options, the prepared broadcast messages and the
    GLONASS channels kept between epochs. Rover epochs without a header position (receiver
    streams) start from the last valid fix and its clocks (within 0.1 mm of the batch's
    start from the geocentre)."""

    def __init__(self, nav, systems, elevation_mask_deg):
        from .spp import _SppCore, spp_options
        from .spp_epoch import build_problem

        self.nav = nav
        self.options = spp_options(systems=systems, elevation_mask_deg=elevation_mask_deg, velocity=False)
        self.options.check(None)
        self.core = _SppCore(nav, self.options, None, build_problem)
        self._start = None  # (position, clocks) of the last valid fix (:func:`warm_start`)

    def position(self, obs):
        """(position (3,) m, NaN unless solved; solved) of the one epoch of ``obs``."""
        import warnings

        from ..errors import SatnavWarning
        from .spp import _check_navigation_systems, _initial_position, warm_start

        plan = self.core.signal_plan(obs)
        x0 = _initial_position(obs, None)
        cold = not np.any(x0)  # no header position (a receiver stream): from the last fix
        start = self._start if cold and self._start is not None else (x0, None)
        sol, counts = self.core.solve(obs, start[0], plan, start[1])
        if cold:
            self._start = warm_start(sol) or self._start
        for message in _check_navigation_systems(self.nav, counts):
            warnings.warn(message, SatnavWarning, stacklevel=3)
        pos = np.where(sol.solved[0], sol.position_m[0], np.nan)
        return pos, bool(np.isfinite(pos).all())


class _EpochArrays:
    """Dense phase, code, LLI and Doppler ``(n, nf)`` arrays of one epoch over the engine's
    satellite columns: what :func:`satnav.estimators.rtk._dense` gives for the epoch (its
    row 0; the same values), from one table per set of observation codes mapping (satellite,
    code) to the place of the value, so that an epoch costs some fifteen NumPy calls rather
    than four :meth:`~satnav.observations.Observations.dense` calls per system and
    frequency. A chosen code the epoch lacks leaves its values absent (NaN; LLI -1)."""

    def __init__(self, signals, sats, nf):
        self.signals, self.sats, self.nf = signals, np.asarray(sats, np.int64), nf
        self.size = len(self.sats) * nf  # values of one kind
        self._tables: dict = {}

    def _table(self, codes):
        """(MAX_SATELLITES, len(codes)) int64: the flat place of each (satellite, code)
        value in the ``(3, n, nf)`` buffer of phase, code and Doppler, -1 when not used."""
        key = tuple(codes)
        table = self._tables.get(key)
        if table is not None:
            return table
        index = {c: j for j, c in enumerate(key)}
        table = np.full((MAX_SATELLITES, max(len(key), 1)), -1, np.int64)
        sysn = system_number_of(self.sats)
        for s, per in self.signals.items():
            cols = np.flatnonzero(sysn == SYSTEMS.index(s))
            for f, pick in enumerate(per):
                if pick is None or not len(cols):
                    continue
                lc, cc = pick
                for kind, code in enumerate((lc, cc, "D" + lc[1:])):
                    j = index.get(code)
                    if j is not None:
                        table[self.sats[cols], j] = kind * self.size + cols * self.nf + f
        if len(self._tables) > 16:
            self._tables.clear()
        self._tables[key] = table
        return table

    def __call__(self, obs):
        """``(phase, code, lli, doppler)`` of the one epoch of ``obs`` (doppler None when no
        value is finite)."""
        n, nf, size = len(self.sats), self.nf, self.size
        place = self._table(obs.codes)[obs.sat, obs.code]
        keep = place >= 0
        place = place[keep]
        buf = np.full(3 * size, np.nan)
        buf[place] = obs.value[keep]
        is_phase = place < size
        lli = np.full(size, -1, np.int8)
        lli[place[is_phase]] = obs.lli[keep][is_phase]
        pc = buf[:2 * size]
        pc[pc == 0.0] = np.nan  # zero phase (or code) means "no measurement" in RINEX
        dop = buf[2 * size:]
        return (buf[:size].reshape(n, nf), buf[size:2 * size].reshape(n, nf), lli.reshape(n, nf),
                dop.reshape(n, nf) if np.isfinite(dop).any() else None)


def _dops(azimuth_rad, elevation_rad, sats) -> tuple[float, float, float, float]:
    """(GDOP, PDOP, HDOP, VDOP) of satellites at these azimuths and elevations (rad), one
    receiver clock per clock group (:data:`satnav.signals.SIGNALS`), as the single point
    DOPs (:func:`satnav.estimators.dop.dilution_of_precision`)."""
    from .dop import dilution_of_precision_epoch, enu_line_of_sight
    from .spp import CLOCK_GROUP_OF

    key = np.asarray(sats, np.int64).tobytes()
    groups = _DOP_GROUPS.get(key)
    if groups is None:  # (the same satellites epoch after epoch: kept)
        names = [CLOCK_GROUP_OF[s] for s in system_of(np.asarray(sats, np.int64)).tolist()]
        index = {g: k for k, g in enumerate(dict.fromkeys(names))}
        if len(_DOP_GROUPS) > 32:
            _DOP_GROUPS.clear()
        groups = _DOP_GROUPS[key] = (np.array([index[x] for x in names], np.intp), len(index))
    g, p, h, v, _ = dilution_of_precision_epoch(enu_line_of_sight(azimuth_rad, elevation_rad), *groups)
    return g, p, h, v


#: :func:`_dops`' clock groups (indices, count) per set of satellites, the last few.
_DOP_GROUPS: dict = {}


@dataclass
class RtkEpochSolution:
    """The solution of one rover epoch (ECEF m). ``quality``: 1 fixed, 2 float, 4 DGNSS,
    5 single point (no base epoch within ``max_age_s``, or too few double differences),
    0 none (:data:`satnav.estimators.rtk.QUALITY`)."""

    time_ns: int
    position_m: np.ndarray  # (3,), NaN without a solution
    float_position_m: np.ndarray  # (3,), the float solution (NaN when none)
    quality: int
    ratio: float  # LAMBDA ratio test (0 when no search)
    n_fixed: int  # double-difference ambiguities fixed
    n_satellites: int  # satellites with code single differences
    covariance_m2: np.ndarray  # (3, 3) of position_m (NaN for single point)
    age_s: float  # rover minus base epoch time (s), NaN without a base epoch
    satellites: np.ndarray  # satellite indices used (code single differences)
    fixed_systems: str = ""  # letters of the systems fixed ("" unless quality 1)
    #: DOPs of ``satellites`` (one receiver clock per clock group, as the single point DOPs:
    #: :func:`satnav.estimators.dop.dilution_of_precision`) at the azimuths and elevations
    #: of the filter's linearisation point (kinematic: the epoch's single point position,
    #: metres from ``position_m``: the DOPs differ from those seen from it in the sixth
    #: digit), Earth rotation during the flight included; NaN without an RTK/DGNSS solution.
    gdop: float = math.nan
    pdop: float = math.nan
    hdop: float = math.nan
    vdop: float = math.nan


@dataclass
class _BaseEpoch:
    t: int
    phase: np.ndarray  # (n, nf) cycles
    code: np.ndarray  # (n, nf) m
    sat_pos: np.ndarray  # (n, 3) satellite positions at transmission (ECEF m)
    clk: np.ndarray  # (n,) satellite clocks (s)
    valid: np.ndarray  # (n,) usable satellite state
    cum: np.ndarray  # (n, nf) slips counted since the first base epoch
    slips: np.ndarray  # (n, nf) this epoch's
    half: np.ndarray | None = None  # (n, nf) half-cycle flags (LLI bit 1)
    # zero-difference residuals, set when a rover epoch first uses the epoch
    # (:meth:`RtkEngine._epoch_inputs`: the geometry of both receivers in one call)
    yL: np.ndarray | None = None  # (n, nf) phase residuals (m)
    yP: np.ndarray | None = None  # (n, nf) code residuals (m)
    el: np.ndarray | None = None  # (n,) elevation (rad)
    ok: np.ndarray | None = None  # (n,) usable satellite state and elevation


class RtkEngine(RtkCore):
    """RTK/DGNSS fed one epoch at a time (see the module docstring).

    ``engine = RtkEngine(nav, base_position=..., mode="kinematic")``, then for each epoch
    :meth:`add_base` (base epochs, as they come) and ``sol = engine.process(rover_epoch)``
    (an :class:`~satnav.observations.Observations` of one epoch, e.g. from
    :meth:`~satnav.observations.Observations.iter_epochs`). :meth:`add_navigation` adds
    ephemerides. Options are those of :func:`~satnav.estimators.rtk.solve_rtk`, plus:

    signals : dict, optional
        System letter -> ``[(phase code, code code) or None per frequency]``, as
        :attr:`RtkSolution.options["signals"] <satnav.estimators.rtk.RtkSolution>` reports.
    satellites : array_like of int, optional
        Satellite indices of the state layout (default: 1..:data:`MAX_PRN` of each system).
    base_epochs_kept : int
        Base epochs kept for pairing.

    Differences from the batch solution on the same data (measured on gsi-2005-092: none
    above 1e-9 m, same quality flags):

    * ``base_position="spp"`` (the mean over the whole base file) is not available;
    * satellite states, geometry and single point solutions are evaluated per epoch, not
      for all epochs at once: the same formulas, but vectorized transcendental functions
      may round differently in the last bit;
    * the Doppler slip test's thresholds come from the epochs seen so far
      (:class:`~satnav.estimators.cycle_slips.SlipTracker`), the batch's from the file;
    * signals are chosen from the first epochs (the batch: from every epoch), and a
      system without signals then is never used;
    * no warning for unpaired epochs: their quality (5) tells.
    """

    def __init__(self, nav, *, base_position=None, mode="kinematic", frequencies=("L1", "L2"),
                 elevation_mask_deg=15.0, ratio_threshold=3.0, fix_and_hold=False,
                 systems="GREJC", max_age_s=30.0, dynamics=False, min_fix_ambiguities=4,
                 max_outage_epochs=5, validation_sigma=4.0, slip_threshold_m=0.05,
                 max_fixed_sigma_m=0.05, min_lock_epochs=None, states=None,
                 age_sigma_m_per_s=BASE_AGE_SIGMA_M_PER_S, signals=None, satellites=None,
                 base_epochs_kept=8, **validation):
        self._init_options(mode=mode, ratio_threshold=ratio_threshold, fix_and_hold=fix_and_hold,
                           elevation_mask_deg=elevation_mask_deg,
                           min_fix_ambiguities=min_fix_ambiguities,
                           max_outage_epochs=max_outage_epochs, validation_sigma=validation_sigma,
                           max_fixed_sigma_m=max_fixed_sigma_m, min_lock_epochs=min_lock_epochs,
                           age_sigma_m_per_s=age_sigma_m_per_s, dynamics=dynamics, **validation)
        if isinstance(base_position, str):
            raise SatnavError(f"base_position={base_position!r} needs the whole base file: give "
                              "base_position=[x, y, z] (ECEF m), or none for the base header's "
                              "APPROX POSITION XYZ")
        self.base_pos = (None if base_position is None
                         else np.asarray(base_position, dtype=np.float64).reshape(3))
        self.base_source = "argument" if base_position is not None else "base header"
        self.nav = nav
        self._own_states = states is None
        self._states = states if states is not None else _broadcast_states(nav)
        self.systems = "".join(s for s in systems.upper() if s in FREQUENCY_BANDS)
        self.frequencies = tuple(frequencies) if mode != "dgnss" else tuple(frequencies)[:1]
        self.nf = len(self.frequencies)
        self.max_age_s = float(max_age_s)
        self.slip_threshold_m = float(slip_threshold_m)
        self._wanted_sats = None if satellites is None else np.asarray(satellites, np.int64)
        self.signals = None if signals is None else {s: list(p) for s, p in signals.items()}
        self._base = deque(maxlen=int(base_epochs_kept))
        self._pending = deque(maxlen=64)  # base epochs before the layout is known
        self._base_new: list = []  # (time, epoch) of base epochs not prepared yet
        self._base_cum = None  # slips counted over base epochs, running
        self._cum_used = None  # ... at the last base epoch used (None: none used yet)
        self.n_epochs = 0
        self._laid_out = False
        self._spp = _EpochSpp(nav, self.systems, math.degrees(self.mask))  # as solve_spp was called
        self._init_outputs(1)

    # ------------------------------------------------------------------ inputs
    def prepare_ahead(self, deadline: float) -> bool:
        """Work ahead while waiting for the next epoch, until ``deadline``
        (``time.perf_counter`` s): the broadcast message choices of the satellites not seen
        yet (:meth:`~satnav.orbits.ephemeris.BroadcastEphemeris.prepare_ahead`), for the
        rover's single point start and for the double differences. True when nothing is left;
        the solutions are the same with or without it."""
        for ephemeris in (self._spp.core.ephemeris, getattr(self._states, "ephemeris", None)):
            if ephemeris is not None and not ephemeris.prepare_ahead(deadline):
                return False
        return True

    def add_navigation(self, nav) -> None:
        """Add the broadcast messages of ``nav`` (a :class:`~satnav.io.rinex_nav.Navigation`)
        to the engine's (exact duplicates dropped); the kept base epochs' satellite states
        are evaluated again with them."""
        merged = self.nav.merge(nav)
        self.nav = merged
        old_spp = self._spp.core.ephemeris
        self._spp = _EpochSpp(merged, self._spp.options.systems, self._spp.options.elevation_mask_deg)
        if old_spp is not None and self._spp.core.ephemeris is not None:  # (prepare_ahead makes them first)
            self._spp.core.ephemeris.expect(old_spp)
        if self._own_states:
            old_states = getattr(self._states, "ephemeris", None)
            self._states = _broadcast_states(merged)
            if old_states is not None:
                self._states.ephemeris.expect(old_states)
            if self._laid_out and self._base:
                # base epochs prepared with the earlier messages, still to be paired (a base
                # logging slower than the rover): their states again with the new messages,
                # as the rover epochs get them (else a message change, e.g. an upload with
                # another clock, reaches one receiver and not the other: no longer cancels)
                kept = list(self._base)
                pos, clk, valid = _satellite_states(None, self.sats, np.array([b.t for b in kept], np.int64),
                                                    np.stack([b.code for b in kept]), self._states)
                for k, b in enumerate(kept):
                    b.sat_pos, b.clk, b.valid = pos[k], clk[k], valid[k]
                    b.yL = b.yP = b.el = b.ok = None  # residuals again at their next use
        if self._laid_out and (self.letters == "R").any():  # GLONASS channels now known
            lost = np.isnan(self.freq).any(axis=1) & (self.letters == "R")
            if lost.any():
                k = _glonass_k(self._first_rover, merged, self.sats)
                freq = _frequencies(self.signals, self.letters, k, self.nf)
                self.freq[lost] = freq[lost]
                self.lam[lost] = SPEED_OF_LIGHT / freq[lost]
                self._glonass_k_flat = None  # the channel numbers of the wavelengths, again

    def add_base(self, base_epoch) -> None:
        """Add base observations (:class:`~satnav.observations.Observations` of one or more
        epochs, in time order)."""
        for k in range(len(base_epoch.epochs)):
            one = base_epoch if len(base_epoch.epochs) == 1 else base_epoch.epoch_slice(k, k + 1)
            if self.base_pos is None:
                approx = one.header.approx_position_m
                if approx is None or np.linalg.norm(approx) <= 6.0e6:
                    raise SatnavError("missing base position: the base observations have no APPROX "
                                      "POSITION XYZ; give base_position=[x, y, z] (ECEF m)")
                self.base_pos = np.asarray(approx, dtype=np.float64)
            if self._laid_out:
                self._queue_base(one)
            else:
                self._pending.append(one)

    def _queue_base(self, obs) -> None:
        """Keep a base epoch (in time order) for the next :meth:`process`, which prepares it
        with the rover epoch: one satellite-states call for both (the calls, not the
        satellites, are the cost of an epoch)."""
        t = int(obs.epochs[0])
        last = self._base_new[-1][0] if self._base_new else (self._base[-1].t if self._base else None)
        if last is not None and t <= last:
            raise SatnavError(f"base epochs must come in time order: {t} after {last}")
        self._base_new.append((t, obs))
        if len(self._base_new) >= _BASE_QUEUED:
            self._prepare_queued(None)

    def _lay_out(self, rover_epoch):
        """Signals (when not given), satellite columns and the filter state, at the first
        rover epoch with a base epoch."""
        if self.signals is None:
            chosen = _choose_signals(rover_epoch, self._pending[-1], self.systems, self.frequencies)
            if not chosen:
                return False
            self.signals = chosen
        chosen = self.signals
        if self._wanted_sats is not None:
            sats = np.unique(self._wanted_sats)
            sats = sats[np.isin(system_number_of(sats), [SYSTEMS.index(s) for s in chosen])]
        else:
            sats = np.array([satellite_index_of(SYSTEMS.index(s), p) for s in sorted(chosen, key=SYSTEMS.index)
                             for p in range(1, MAX_PRN[s] + 1)], np.int64)
        letters = system_of(sats)
        self._choose_glonass_ar(rover_epoch.header, self._pending[-1].header)
        if "R" in chosen and self.mode != "dgnss":
            self.notes.append(glonass_ar_note(self.glonass_ar, self.glonass_ar_reason))
        self._first_rover = rover_epoch
        self.freq = _frequencies(chosen, letters, _glonass_k(rover_epoch, self.nav, sats), self.nf)
        self._init_layout(sats, letters, SPEED_OF_LIGHT / self.freq,
                          np.isin(letters, list(_INTEGER_SYSTEMS)))
        self._arrays = _EpochArrays(chosen, sats, self.nf)
        self._rover_slips = SlipTracker(self.freq, gf_threshold_m=self.slip_threshold_m)
        self._base_slips = SlipTracker(self.freq, gf_threshold_m=self.slip_threshold_m)
        self._rover_half = HalfCycleTracker((len(sats), self.nf))
        self._base_half = HalfCycleTracker((len(sats), self.nf))
        self._base_cum = np.zeros((len(sats), self.nf), np.int64)
        self._laid_out = True
        pending = list(self._pending)
        self._pending.clear()
        for b in pending:
            self._queue_base(b)
        return True

    def _receiver_epochs(self, epochs):
        """Per epoch of ``epochs`` (Observations of one epoch each): time (ns), dense phase,
        code, LLI, Doppler (n, nf) and satellite states, the states of all in one call."""
        arrays = [self._arrays(obs) for obs in epochs]
        t = np.array([int(obs.epochs[0]) for obs in epochs], np.int64)
        code = np.stack([a[1] for a in arrays]) if len(arrays) > 1 else arrays[0][1][None]
        pos, clk, valid = _satellite_states(None, self.sats, t, code, self._states)
        return [(int(t[k]), *arrays[k], pos[k], clk[k], valid[k]) for k in range(len(arrays))]

    def _prepare_queued(self, rover_epoch):
        """Prepare the queued base epochs and ``rover_epoch`` (None: none) together; the
        rover's :meth:`_receiver_epochs` tuple (None without a rover epoch)."""
        base = [obs for _t, obs in self._base_new]
        self._base_new.clear()
        epochs = base if rover_epoch is None else [*base, rover_epoch]
        if not epochs:
            return None
        prepared = self._receiver_epochs(epochs)
        for ep in prepared[:len(base)]:
            self._add_base_epoch(ep)
        return None if rover_epoch is None else prepared[-1]

    def _add_base_epoch(self, ep):
        t, phase, code, lli, dop, pos, clk, valid = ep
        slips = self._base_slips.update(t, phase, code, lli, dop)
        half, cleared = self._base_half.update(lli)
        if self.half_cycle:
            slips = slips | cleared  # the half cycle resolved: the ambiguity restarts
        self._base_cum = self._base_cum + slips
        self._base.append(_BaseEpoch(t, phase, code, pos, clk, valid, self._base_cum, slips, half))

    def _set_base_residuals(self, b, geometry) -> None:
        """The zero-difference residuals of base epoch ``b`` from its ``geometry`` (range,
        line of sight, elevation, troposphere: :func:`~satnav.estimators.rtk._geometry` at
        the base position)."""
        rng, _e, el, trop = geometry
        model = rng + trop - SPEED_OF_LIGHT * b.clk
        b.yL = self.lam * b.phase - model[..., None]
        b.yP = b.code - model[..., None]
        b.el = el
        b.ok = b.valid & np.isfinite(el)

    def _match(self, t):
        """The kept base epoch for rover time ``t``: nearest not after, else nearest, within
        ``max_age_s`` (None when none)."""
        best = None
        for b in self._base:
            if b.t <= t:
                best = b  # the last one not after t
        later = next((b for b in self._base if b.t > t), None)
        if later is not None and (best is None or later.t - t < t - best.t):
            best = later
        if best is None or abs(t - best.t) / 1e9 > self.max_age_s:
            return None
        return best

    # ------------------------------------------------------------------ one epoch
    def process(self, rover_epoch) -> RtkEpochSolution:
        """Solve one rover epoch (:class:`~satnav.observations.Observations` of one epoch)."""
        if len(rover_epoch.epochs) != 1:
            raise SatnavError(f"RtkEngine.process takes one rover epoch, got "
                              f"{len(rover_epoch.epochs)}: feed obs.iter_epochs()")
        t = int(rover_epoch.epochs[0])
        i = self.n_epochs
        self.n_epochs += 1
        spp_pos, spp_ok = self._spp.position(rover_epoch)
        self._init_outputs(1)
        self._spp_now, self._spp_ok_now = spp_pos, spp_ok
        if not self._laid_out and not (self._pending and self._lay_out(rover_epoch)):
            self._single(0)
            return self._solution(t, np.nan, np.zeros(0, np.int64))
        ep = self._prepare_queued(rover_epoch)
        slips = self._rover_slips.update(ep[0], *ep[1:5])
        half, cleared = self._rover_half.update(ep[3])
        if self.half_cycle:
            slips = slips | cleared
        b = self._match(t)
        if b is None:
            self._single(0)
            return self._solution(t, np.nan, np.zeros(0, np.int64))
        # base slips since the last base epoch used (its own at the first)
        bslip = (b.cum - self._cum_used) > 0 if self._cum_used is not None else b.slips
        self._cum_used = b.cum
        self._cur = (ep, b)
        age_s = (t - b.t) / 1e9
        self._used = np.zeros(0, np.int64)
        half = (half | b.half).ravel() if self.half_cycle else None
        self._filter_epoch(i, 0, t, age_s, spp_pos, spp_ok, (slips | bslip).ravel(), half)
        out = self._solution(t, age_s, self._used)
        if out.quality in (1, 2, 4) and len(self._used) >= 4:
            az, el = self._look
            used = self._used_mask
            out.gdop, out.pdop, out.hdop, out.vdop = _dops(az[used], el[used], self._used)
        return out

    def _epoch_inputs(self, i, pos, at_spp):
        (_t, phase, code, _lli, _dop, sat_pos, clk, valid), b = self._cur
        if _KERNELS:  # compiled: each receiver on its own (a few microseconds)
            rover = _receiver_geometry(pos, sat_pos)
            if b.yL is None:
                self._set_base_residuals(b, _receiver_geometry(self.base_pos, b.sat_pos)[:4])
        elif b.yL is None:  # the base epoch's geometry with the rover's, one NumPy call for both
            both = _geometry(np.stack((sat_pos, b.sat_pos)),
                             np.stack((np.asarray(pos, np.float64), self.base_pos))[:, None, :], azimuth=True)
            self._set_base_residuals(b, tuple(g[1] for g in both[:4]))
            rover = tuple(g[0] for g in both)
        else:  # (as single_differences would call it)
            rover = _geometry(sat_pos, np.asarray(pos)[..., None, :], azimuth=True)
        self._look = (rover[4], rover[2])  # azimuth, elevation: the DOPs'

        def geometry(_sat_pos, _pos):
            return rover[:4]

        e, el, yL, yP, okP, okL, var_sd = single_differences(
            geometry, self.lam, self.mask, self.mode == "dgnss", sat_pos, clk, phase, code,
            valid, b.yL, b.yP, b.ok, b.el, pos)
        used = okP.any(axis=1)
        self._used, self._used_mask = self.sats[used], used
        yLP = np.concatenate((yL.ravel(), yP.ravel()))
        return e, el, yL, yP, okP, okL, var_sd, yLP, int(used.sum()), None, None

    def _code_residuals(self, i, pos):
        (_t, _phase, code, _lli, _dop, sat_pos, clk, _valid), b = self._cur
        rng2, e2, _, trop2 = _geometry(sat_pos, pos)
        model2 = rng2 + trop2 - SPEED_OF_LIGHT * clk
        return e2, code - model2[:, None] - b.yP

    def _solution(self, t, age_s, used):
        return RtkEpochSolution(
            time_ns=t, position_m=self.out_pos[0].copy(), float_position_m=self.out_float[0].copy(),
            quality=int(self.out_q[0]), ratio=float(self.out_ratio[0]), n_fixed=int(self.out_nfix[0]),
            n_satellites=int(self.out_ns[0]), covariance_m2=self.out_cov[0].copy(), age_s=age_s,
            satellites=used, fixed_systems=str(self.out_fixsys[0]))
