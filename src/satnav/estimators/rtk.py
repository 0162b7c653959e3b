"""Real-time-kinematic (carrier-phase differential) and DGNSS (code differential) positioning.

:func:`solve_rtk` processes a rover and a base receiver observing the same satellites:

* **Zero-difference residuals** of each receiver, ``y = obs - (rho + T - c dt_sat)``, with
  the satellite at its own transmission time (``t_rx - P / c - dt_sat``, which needs no
  receiver clock), the Earth rotation during flight (Sagnac), Saastamoinen troposphere at
  each receiver. Base residuals are computed for every epoch at once (its position is
  known), rover residuals per epoch at the filter's position.
* **Double differences** (rover - base, satellite - reference satellite; the reference is
  the highest satellite of each system and frequency) of carrier phase (m) and code (m),
  with the correlated covariance ``R = D diag(sigma_sd^2) D^T`` and RTKLIB's error model
  ``sigma^2 = a^2 + b^2 / sin^2(el)`` (a = b = 3 mm for phase, code 300 times that),
  plus ``(1.5 mm/s x age)^2`` per single difference for a base epoch ``age`` seconds
  away from the rover epoch (RTKLIB ``varerr``): a stale base epoch gives float, not a
  fix biased by the unmodelled change of the atmosphere in between.
* **Extended Kalman filter** (per-epoch sequential updates; RTKLIB ``relpos``, Takasu &
  Yasuda 2009) over the rover position (reset to the rover's single-point solution every
  epoch in kinematic mode, as RTKLIB does without dynamics; with ``dynamics=True`` a
  constant-velocity model with position and velocity states; constant in static mode)
  and one **single-difference ambiguity per satellite and frequency** (cycles). A slip on
  either receiver, or an outage, re-initialises only that ambiguity.
* **Integer resolution** of the double-difference ambiguities of GPS, Galileo, BeiDou and
  QZSS with LAMBDA (:mod:`satnav.estimators.lambda_ils`), the ratio test, partial
  ambiguity resolution (the least precise ambiguities are dropped until the test passes),
  and a validation of the fixed solution by its phase residuals, which rejects wrong
  fixes. **GLONASS ambiguities** are fixed by default (``glonass_ar="auto"``): assuming
  no inter-frequency bias when both headers name the same receiver type (``"on"``), else
  with an estimated inter-frequency bias rate (``"autocal"``); ``"off"`` keeps them float
  (they still help the float solution)
  (:data:`satnav.estimators.rtk_core.GLONASS_AR_MODES`). Optional fix-and-hold.

DGNSS (``mode="dgnss"``) uses the double-differenced code only, one epoch at a time.
Rover epochs without a base epoch (within ``max_age_s``) fall back to the single point
solution (quality 5).

The filter itself (time update, double differences, measurement update, LAMBDA,
validation, hold) is :class:`satnav.estimators.rtk_core.RtkCore`; :class:`RtkFilter` here
prepares its inputs for whole files at once (vectorized), and
:class:`satnav.estimators.rtk_engine.RtkEngine` one epoch at a time (streams).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np

from ..constants import SPEED_OF_LIGHT
from ..errors import SatnavError, SatnavWarning
from ..gnss_time import format_gpst
from ..models import measurement
from ..progress import ProgressCounter
from ..satellites import SYSTEMS, system_number_of, system_of
from ..signals import RTK_ATTRIBUTE_PREFERENCE, carrier_frequency, glonass_channels, per_system
from .cycle_slips import (
    detect_slips,
    doppler_phase_slips,
    doppler_slip_thresholds,
    half_cycle_flags,
)
from .rtk_core import RtkCore, glonass_ar_note, single_differences
from .rtk_solution import RtkSolution

__all__ = ["solve_rtk", "RtkSolution", "RtkFilter", "QUALITY", "FREQUENCY_BANDS"]

#: Quality flag -> meaning (RTKLIB's Q values).
QUALITY = {0: "no solution", 1: "fixed", 2: "float", 4: "DGNSS", 5: "single (no base epoch)"}

#: RINEX band digits of each frequency name, per system, in order of preference (the first
#: band both receivers track is used; :attr:`satnav.signals.SystemSignals.rtk_bands`). L2 is
#: E5b for Galileo; L1 is B1I for BeiDou and L2 B2I/B2b, else B3I.
FREQUENCY_BANDS = per_system("rtk_bands")
_ATTRIBUTE_PREFERENCE = RTK_ATTRIBUTE_PREFERENCE
#: Growth (m/s) of each single difference's sigma with the base age (RTKLIB's
#: ``stats-clkstab`` 5e-12 s/s times c; rtkpos.c ``varerr``).
BASE_AGE_SIGMA_M_PER_S = 5e-12 * SPEED_OF_LIGHT
#: Systems whose ambiguities are resolved to integers.
_INTEGER_SYSTEMS = "".join(s for s, integer in per_system("rtk_integer").items() if integer)


# ====================================================================== preparation
@dataclass
class _Receiver:
    """Dense arrays of one receiver over its epochs x the common satellite columns."""

    time_ns: np.ndarray  # (m,)
    phase_cyc: np.ndarray  # (m, n, k)
    code_m: np.ndarray  # (m, n, k)
    lli: np.ndarray  # (m, n, k)
    doppler_hz: np.ndarray | None
    sat_pos: np.ndarray  # (m, n, 3) at transmission, not rotated
    sat_clock_s: np.ndarray  # (m, n)
    sat_valid: np.ndarray  # (m, n)
    slips: np.ndarray | None = None


def _codes_by_system(obs):
    """Observation codes present per system letter (sets), from
    :meth:`Observations.codes_by_system`."""
    return {s: set(codes) for s, codes in obs.codes_by_system().items()}


def _choose_signals(rover, base, systems, frequencies):
    """Per system and frequency: (phase code, code code), common to both receivers."""
    cr, cb = _codes_by_system(rover), _codes_by_system(base)
    chosen = {}
    for s in systems:
        if s not in FREQUENCY_BANDS:
            continue
        have = set(cr.get(s, [])) & set(cb.get(s, []))
        per = []
        for fname in frequencies:
            pick = None
            for band in FREQUENCY_BANDS[s].get(fname, ""):
                if pick is not None:
                    break
                for a in _ATTRIBUTE_PREFERENCE:
                    if "L" + band + a in have:
                        codes = ["C" + band + a] + ["C" + band + b for b in _ATTRIBUTE_PREFERENCE]
                        code = next((c for c in codes if c in have), None)
                        if code is not None:
                            pick = ("L" + band + a, code)
                            break
            per.append(pick)
        if any(p is not None for p in per):
            chosen[s] = per
    return chosen


def _glonass_k(rover, nav, sats):
    return glonass_channels(rover, nav, sats)


def _dense(obs, chosen, sats, nf):
    m, n = len(obs.epochs), len(sats)
    phase = np.full((m, n, nf), np.nan)
    code = np.full((m, n, nf), np.nan)
    lli = np.full((m, n, nf), -1, np.int8)
    dop = np.full((m, n, nf), np.nan)
    sysn = system_number_of(sats)
    for s, per in chosen.items():
        cols = np.flatnonzero(sysn == SYSTEMS.index(s))
        if not len(cols):
            continue
        for f, pick in enumerate(per):
            if pick is None:
                continue
            lc, cc = pick
            phase[:, cols, f] = obs.dense(lc, sats[cols])
            lli[:, cols, f] = obs.dense(lc, sats[cols], "lli")
            code[:, cols, f] = obs.dense(cc, sats[cols])
            dc = "D" + lc[1:]
            if dc in obs.codes:
                dop[:, cols, f] = obs.dense(dc, sats[cols])
    # zero phase means "no measurement" in RINEX
    phase[phase == 0.0] = np.nan
    code[code == 0.0] = np.nan
    return phase, code, lli, (dop if np.isfinite(dop).any() else None)


def _satellite_states(nav, sats, time_ns, code_m, states_fn):
    """Satellite position/clock at transmission time for every (epoch, satellite).

    Only the (epoch, satellite) cells with a pseudorange are evaluated (the others can
    never be used); their position and clock are NaN and they are not valid."""
    p = code_m[..., 0]
    for f in range(1, code_m.shape[-1]):
        p = np.where(np.isfinite(p), p, code_m[..., f])
    ok = np.isfinite(p)
    ei, si = np.nonzero(ok)
    # clocks first (a states function may offer them alone: ``states_fn.clocks``), then
    # the states at the true transmission time
    _t_tx, st = measurement.satellite_states_at_transmission(
        states_fn, sats[si], time_ns[ei], p[ei, si], clocks_fn=getattr(states_fn, "clocks", None))
    pos = np.full(ok.shape + (3,), np.nan)
    clock = np.full(ok.shape, np.nan)
    valid = np.zeros(ok.shape, bool)
    pos[ei, si] = st.position_m
    clock[ei, si] = st.clock_s
    valid[ei, si] = np.asarray(st.valid, bool) & np.all(np.isfinite(st.position_m), axis=-1)
    return pos, clock, valid


def _geometry(sat_pos, receiver, azimuth=False):
    """Range (m), unit line of sight receiver->satellite, elevation (rad), troposphere (m)
    (:func:`satnav.models.measurement.geometry`: Earth rotation during the flight), and
    the azimuth (rad) after them when ``azimuth``."""
    geo = measurement.geometry(receiver, sat_pos)
    el = geo.elevation_rad
    trop = measurement.tropospheric_delay_m(geo.latitude_rad, geo.height_m, el)
    if azimuth:
        return geo.range_m, geo.unit_vector, el, trop, geo.azimuth_rad
    return geo.range_m, geo.unit_vector, el, trop


def _name(obs, role):
    """``role`` followed by the file the observations came from, for messages."""
    return f"{role} {obs.source}" if getattr(obs, "source", "") else role


def _sat_text(obs, chosen, limit=12):
    """Satellites of the chosen systems, e.g. ``"G01 G03 G05"`` (``"none"`` when empty)."""
    ids = [i for i in obs.satellites if i[0] in chosen]
    if not ids:
        return "none"
    return " ".join(ids[:limit]) + (f" ... ({len(ids)} in all)" if len(ids) > limit else "")


def _signal_text(obs):
    """Observation codes per system, e.g. ``"G: C1C L1C C2W L2W"`` (``"none"`` when empty)."""
    per = _codes_by_system(obs)
    return ", ".join(f"{s}: {' '.join(sorted(c))}" for s, c in sorted(per.items())) or "none"


def _span_text(epochs):
    if not len(epochs):
        return "no epochs"
    return f"{format_gpst(int(epochs.min()))} .. {format_gpst(int(epochs.max()))} ({len(epochs)} epochs)"


def _interval_s(epochs):
    """Most common epoch spacing (s), or None with fewer than two epochs."""
    d = np.diff(np.sort(np.asarray(epochs, dtype=np.int64)))
    d = d[d > 0]
    if not len(d):
        return None
    vals, counts = np.unique(np.round(d / 1e6).astype(np.int64), return_counts=True)
    return float(vals[np.argmax(counts)]) / 1e3


def _warn_unpaired(rover, base, base_index, max_age_s):
    """Warn when rover epochs have no base epoch within ``max_age_s`` (they fall back to the
    single point solution, quality 5) or when the two receivers log at different intervals."""
    missing = int((base_index < 0).sum())
    dt_r, dt_b = _interval_s(rover.epochs), _interval_s(base.epochs)
    differ = dt_r is not None and dt_b is not None and abs(dt_r - dt_b) > 1e-3
    if not missing and not differ:
        return
    what = (f"rover logs every {dt_r:g} s, base every {dt_b:g} s: each rover epoch uses the "
            f"nearest base epoch within max_age_s={max_age_s:g} s; " if differ else "")
    warnings.warn(
        f"{what}{missing} of {len(base_index)} rover epochs have no base epoch within "
        f"{max_age_s:g} s and fall back to single point positioning (quality 5)",
        SatnavWarning, stacklevel=4,
    )


def _doppler_slip_thresholds(phase_cyc, doppler_hz, time_ns, floor_cycles=3.0, n_sigma=8.0):
    """Threshold (cycles) of the Doppler/phase slip test per satellite and frequency (n, k),
    from the misclosures ``dL + (D(t) + D(t_prev)) / 2 * dt`` between consecutive epochs of
    the whole file (:func:`~satnav.estimators.cycle_slips.doppler_slip_thresholds`)."""
    t = np.asarray(time_ns, dtype=np.int64)
    if len(t) < 3:
        return np.full(phase_cyc.shape[1:], floor_cycles)
    dt = (np.diff(t) / 1e9)[:, None, None]
    mis = np.diff(phase_cyc, axis=0) + 0.5 * (doppler_hz[1:] + doppler_hz[:-1]) * dt
    return doppler_slip_thresholds(mis, floor_cycles, n_sigma)


def _receiver_slips(r, freq, gf_threshold_m):
    """Slips of one receiver (m, n, k): LLI, geometry-free and Melbourne-Wuebbena tests
    (:func:`~satnav.estimators.cycle_slips.detect_slips`) and the Doppler/phase test with
    a threshold for each satellite and frequency from the data
    (:func:`_doppler_slip_thresholds`)."""
    slips = detect_slips(r.phase_cyc, r.code_m, r.lli, None, frequency_hz=freq,
                         time_ns=r.time_ns, gf_threshold_m=gf_threshold_m)
    if r.doppler_hz is not None:
        thresholds = _doppler_slip_thresholds(r.phase_cyc, r.doppler_hz, r.time_ns)
        for f in range(slips.shape[-1]):
            if np.isfinite(r.doppler_hz[..., f]).any():
                slips[..., f] |= doppler_phase_slips(r.phase_cyc[..., f], r.doppler_hz[..., f],
                                                     r.time_ns, thresholds[:, f])
    return slips


def _match_base(rover_t, base_t, max_age_s):
    """Index of the base epoch for each rover epoch (nearest not after, else nearest)."""
    if not len(base_t):
        return np.full(len(rover_t), -1)
    j = np.searchsorted(base_t, rover_t, side="right") - 1
    j_next = np.minimum(j + 1, len(base_t) - 1)
    jc = np.maximum(j, 0)
    d_prev = np.where(j >= 0, np.abs(rover_t - base_t[jc]), np.iinfo(np.int64).max)
    d_next = np.abs(base_t[j_next] - rover_t)
    best = np.where(d_next < d_prev, j_next, jc)
    age = np.abs(rover_t - base_t[best]) / 1e9
    return np.where(age <= max_age_s, best, -1)


def _base_position(base, base_position):
    """(position or None, source): the argument, ``"spp"`` (None: averaged later), else the
    base header's APPROX POSITION XYZ."""
    if base_position is not None and not isinstance(base_position, str):
        return np.asarray(base_position, dtype=np.float64).reshape(3), "argument"
    if base_position == "spp":
        return None, "base SPP average"
    approx = base.header.approx_position_m
    if approx is not None and np.linalg.norm(approx) > 6.0e6:
        return np.asarray(approx, dtype=np.float64), "base header"
    raise SatnavError(f"missing base position: {_name(base, 'the base file')} has no APPROX "
                      "POSITION XYZ; use --base-pos X,Y,Z (ECEF m) or --base-spp "
                      "(base_position=[x, y, z] or base_position='spp' in Python)")


def _frequencies(chosen, letters, k_glo, nf):
    """Carrier frequency (Hz) of each satellite column and frequency slot (n, nf), NaN where
    the system has no signal chosen (or a GLONASS channel is unknown)."""
    freq = np.full((len(letters), nf), np.nan)
    for f in range(nf):
        for s in chosen:
            cols = letters == s
            if chosen[s][f] is None:
                continue
            band = chosen[s][f][0][1]  # of the phase code chosen, e.g. "L6I"
            freq[cols, f] = carrier_frequency(s, band, k_glo[cols] if s == "R" else None)
    return freq


def _broadcast_states(nav):
    """``states(sat, t)`` of the broadcast ephemerides of ``nav`` (positions and clocks, all
    the filter uses), with ``states.clocks`` for the clock-only first pass of
    :func:`_satellite_states`."""
    from ..orbits.ephemeris import broadcast_states

    def states(sat, t):
        return broadcast_states(nav, sat, t, velocity=False)

    def clocks(sat, t):
        return broadcast_states(nav, sat, t, velocity=False, positions=False)

    states.clocks = clocks
    return states


def _base_slips_at_rover(base_slips, base_index):
    """Base slips mapped to rover epochs: a base slip between two used base epochs is seen
    at the first rover epoch using the later one (the first used base epoch: its own)."""
    bslip = np.zeros((len(base_index),) + base_slips.shape[1:], bool)
    cum = np.cumsum(base_slips, axis=0)
    prev_b = -1
    last_used = np.full(len(base_index), -1)
    for i, j in enumerate(base_index):  # tiny loop over indices only
        last_used[i] = prev_b
        if j >= 0:
            prev_b = j
    has = (base_index >= 0) & (last_used >= 0)
    idx = np.flatnonzero(has)
    bslip[idx] = (cum[base_index[idx]] - cum[last_used[idx]]) > 0
    first = (base_index >= 0) & (last_used < 0)
    bslip[first] = base_slips[base_index[first]]
    return bslip


# ====================================================================== the batch filter
class RtkFilter(RtkCore):
    """The RTK/DGNSS filter (:class:`~satnav.estimators.rtk_core.RtkCore`) over whole rover
    and base files, its inputs prepared for all epochs at once (see :func:`solve_rtk`).

    Use :meth:`run` for all epochs, or :meth:`step` epoch by epoch (tests use this to
    inspect and to offer candidate integers to :meth:`fix`).
    """

    def __init__(self, rover, base, nav, *, mode="kinematic", base_position=None,
                 frequencies=("L1", "L2"), elevation_mask_deg=15.0, ratio_threshold=3.0,
                 fix_and_hold=False, systems="GREJC", max_age_s=30.0, dynamics=False,
                 min_fix_ambiguities=4, max_outage_epochs=5, validation_sigma=4.0,
                 slip_threshold_m=0.05, max_fixed_sigma_m=0.05, min_lock_epochs=None, states=None,
                 spp=None, age_sigma_m_per_s=BASE_AGE_SIGMA_M_PER_S, **validation):
        self._init_options(mode=mode, ratio_threshold=ratio_threshold, fix_and_hold=fix_and_hold,
                           elevation_mask_deg=elevation_mask_deg,
                           min_fix_ambiguities=min_fix_ambiguities,
                           max_outage_epochs=max_outage_epochs, validation_sigma=validation_sigma,
                           max_fixed_sigma_m=max_fixed_sigma_m, min_lock_epochs=min_lock_epochs,
                           age_sigma_m_per_s=age_sigma_m_per_s, dynamics=dynamics, **validation)
        systems = "".join(s for s in systems.upper() if s in FREQUENCY_BANDS)
        frequencies = tuple(frequencies) if mode != "dgnss" else tuple(frequencies)[:1]
        self.base_pos, self.base_source = _base_position(base, base_position)
        chosen = self._prepare_signals(rover, base, nav, systems, frequencies)
        self.rover, self.base = self._receivers((rover, base), chosen,
                                                states if states is not None else _broadcast_states(nav))
        self._pair_epochs(rover, base, max_age_s)
        self._prepare_spp(rover, base, nav, spp, systems, elevation_mask_deg)
        self._prepare_base_residuals()
        self._prepare_slips(slip_threshold_m)
        self._init_layout(self.sats, self.letters, self.lam, self.integer_ok)
        self._prepare_rover_residuals()
        self._init_outputs(len(self.rover.time_ns))

    # ------------------------------------------------------------------ preparation
    def _prepare_signals(self, rover, base, nav, systems, frequencies):
        """Signals common to both receivers (:func:`_choose_signals`), the satellites both
        observe, their systems, carrier frequencies and wavelengths. Returns the signals."""
        chosen = _choose_signals(rover, base, systems, frequencies)
        if not chosen:
            raise SatnavError(
                f"{_name(rover, 'rover')} and {_name(base, 'base')} have no phase and code "
                f"signals in common for systems {systems} on {'+'.join(frequencies)} (rover has "
                f"{_signal_text(rover)}; base has {_signal_text(base)}); choose systems both "
                "receivers track with --systems (systems= in Python)")
        self.signals = {s: [p for p in per] for s, per in chosen.items()}
        sats = np.intersect1d(rover.satellite_indices, base.satellite_indices)
        sats = sats[np.isin(system_number_of(sats), [SYSTEMS.index(s) for s in chosen])]
        if not len(sats):
            raise SatnavError(
                f"{_name(rover, 'rover')} and {_name(base, 'base')} have no satellite in common "
                f"for systems {''.join(chosen)} (rover: {_sat_text(rover, chosen)}; base: "
                f"{_sat_text(base, chosen)}): relative positioning needs satellites seen by both")
        self.sats = sats.astype(np.int64)
        self.nf = len(frequencies)
        self.letters = system_of(self.sats)
        self._choose_glonass_ar(rover.header, base.header)
        if "R" in chosen and self.mode != "dgnss":
            self.notes.append(glonass_ar_note(self.glonass_ar, self.glonass_ar_reason))
        self.freq = _frequencies(chosen, self.letters, _glonass_k(rover, nav, self.sats), self.nf)
        self.lam = SPEED_OF_LIGHT / self.freq
        self.integer_ok = np.isin(self.letters, list(_INTEGER_SYSTEMS))
        return chosen

    def _receivers(self, observations, chosen, states):
        """Dense arrays of each receiver; the satellite states of all of them come from
        one evaluation over their epochs stacked (fewer, larger ephemeris calls)."""
        dense = [_dense(obs, chosen, self.sats, self.nf) for obs in observations]
        times = [np.asarray(obs.epochs, dtype=np.int64) for obs in observations]
        pos, clk, valid = _satellite_states(None, self.sats, np.concatenate(times),
                                            np.concatenate([d[1] for d in dense]), states)
        out, start = [], 0
        for t, (phase, code, lli, dop) in zip(times, dense):
            sl = slice(start, start + len(t))
            start += len(t)
            out.append(_Receiver(t, phase, code, lli, dop, pos[sl], clk[sl], valid[sl]))
        return out

    def _pair_epochs(self, rover, base, max_age_s):
        """The base epoch of each rover epoch (:func:`_match_base`); errors when none pair
        or no satellite is ever seen by both, a warning for unpaired rover epochs."""
        self.base_index = _match_base(self.rover.time_ns, self.base.time_ns, max_age_s)
        if not (self.base_index >= 0).any():
            raise SatnavError(
                f"{_name(rover, 'rover')} and {_name(base, 'base')} have no common epochs "
                f"(within max_age_s={max_age_s:g} s): rover {_span_text(rover.epochs)}, base "
                f"{_span_text(base.epochs)}; give observations of the same time")
        paired = self.base_index >= 0
        common = (np.isfinite(self.rover.code_m[paired]).any(axis=-1)
                  & np.isfinite(self.base.code_m[self.base_index[paired]]).any(axis=-1))
        if not common.any():
            raise SatnavError(
                f"{_name(rover, 'rover')} and {_name(base, 'base')} never observe a satellite "
                f"at the same time (within max_age_s={max_age_s:g} s): relative positioning "
                "needs satellites seen by both")
        _warn_unpaired(rover, base, self.base_index, max_age_s)

    def _prepare_spp(self, rover, base, nav, spp, systems, elevation_mask_deg):
        """Single point solutions of the rover (kinematic reset, fallback) and, for
        ``base_position="spp"``, the base position as the mean of the base's."""
        if spp is None:
            from .spp import solve_spp

            # positions and which epochs are solved are all that is used: the Doppler
            # velocities (and the motion check they feed, whose status 5 is still solved)
            # are not needed
            spp = solve_spp(rover, nav, systems=systems, elevation_mask_deg=elevation_mask_deg,
                            velocity=False)
        self.spp_pos = np.where(spp.solved[:, None], spp.position_m, np.nan)
        self._spp_ok = np.isfinite(self.spp_pos).all(axis=1)
        if self.base_pos is None:
            from .spp import solve_spp

            bs = solve_spp(base, nav, systems=systems, elevation_mask_deg=elevation_mask_deg)
            good = bs.valid if bs.valid.any() else bs.solved
            if not good.any():
                raise SatnavError(f"missing base position: no single point solution of "
                                  f"{_name(base, 'the base')} to average (--base-spp, "
                                  "base_position='spp' in Python); use --base-pos X,Y,Z")
            self.base_pos = np.mean(bs.position_m[good], axis=0)

    def _prepare_base_residuals(self):
        """Base zero-difference residuals (m) of all epochs at once (its position is known)."""
        b = self.base
        rng, e, el, trop = _geometry(b.sat_pos, self.base_pos)
        model = rng + trop - SPEED_OF_LIGHT * b.sat_clock_s
        self.base_el = el
        self.base_yL = self.lam[None] * b.phase_cyc - model[..., None]
        self.base_yP = b.code_m - model[..., None]
        self.base_ok = b.sat_valid & np.isfinite(el)

    def _prepare_slips(self, slip_threshold_m):
        """Slips of each receiver (:func:`_receiver_slips`), the base's mapped to rover epochs:
        ``self.slips`` (m, n, nf)."""
        halves = []
        for r in (self.rover, self.base):
            r.slips = _receiver_slips(r, self.freq, slip_threshold_m)
            half, cleared = half_cycle_flags(r.lli)
            if self.half_cycle:
                r.slips |= cleared  # the half cycle resolved: the ambiguity restarts
            halves.append(half)
        self.slips = self.rover.slips | _base_slips_at_rover(self.base.slips, self.base_index)
        # half-cycle flags of either receiver at each rover epoch (None: never set)
        self.half = None
        if self.half_cycle and (halves[0].any() or halves[1].any()):
            self.half = halves[0] | np.where((self.base_index >= 0)[:, None, None],
                                             halves[1][np.maximum(self.base_index, 0)], False)

    def _prepare_rover_residuals(self):
        """Rover single differences, all epochs at once where the linearisation point is
        known before the filter runs: in kinematic (no dynamics) and DGNSS mode every epoch
        starts from the rover's single point solution. Also the keys of their double
        difference rows, the satellite counts and the precomputed double differences."""
        m = len(self.rover.time_ns)
        self._pre = None
        if self.mode != "static" and not self.dynamics:
            self._pre = self._rover_residuals(np.arange(m), self.spp_pos)
        # what the epochs of self._pre need from their usable satellites, for all at once:
        # the key of their double-difference rows (see _double_differences) and the
        # satellite count
        self._pre_keys = self._pre_nsat = None
        if self._pre is not None:
            _e, el_all, _yl, _yp, okP_all, okL_all, _v = self._pre
            self._pre_nsat = okP_all.any(axis=2).sum(axis=1).tolist()
            if self._system_ranges is not None:
                ok2 = np.stack((okL_all, okP_all), axis=1)  # (m, 2, n, nf)
                elm = np.where(ok2, el_all[:, None, :, None], -np.inf)
                refs = [elm[:, :, lo:hi].argmax(axis=2) for lo, hi in self._system_ranges]
                self._pre_keys = [ok2[k].tobytes() + b"".join(r[k].tobytes() for r in refs)
                                  for k in range(len(ok2))]
        # per-epoch values as Python objects (no NumPy scalar arithmetic in the loop)
        self._rover_t = self.rover.time_ns.tolist()
        self._base_t = self.base.time_ns.tolist()
        self._base_index_list = self.base_index.tolist()
        self._spp_ok_list = self._spp_ok.tolist()
        # the phase and code residuals of the precomputed epochs side by side, flat: a
        # double difference of either is one gather from it (see _dd_system)
        self._pre_yLP = None
        if self._pre is not None:
            _e, _el, yl, yp = self._pre[:4]
            self._pre_yLP = np.concatenate((yl.reshape(m, -1), yp.reshape(m, -1)), axis=1)
        self._pre_dd = self._precompute_dd() if self._pre_keys is not None else None

    def _precompute_dd(self):
        """What :meth:`_dd_system` computes from the rows and the epoch's residuals alone, for
        every epoch of ``self._pre`` that the filter will process from it, at once per set of
        double-difference rows: ``out[i] = (rows, y0, H_geometry, R, sqrt(diag(R)))``
        (``rows`` None when the epoch has too few double differences), None for the other
        epochs. The same element-wise operations as the per-epoch code, so the same bits."""
        e_all, el_all, _yl, _yp, okP_all, okL_all, var_all = self._pre
        m = len(self._pre_keys)
        out = [None] * m
        by_key: dict = {}
        age_var = [0.0] * m
        for i, key in enumerate(self._pre_keys):
            j = self._base_index_list[i]
            if j < 0 or not self._spp_ok_list[i]:
                continue
            age_var[i] = (self.age_sigma * ((self._rover_t[i] - self._base_t[j]) / 1e9)) ** 2
            by_key.setdefault(key, []).append(i)
        var_flat = var_all.reshape(m, -1)
        for key, ks in by_key.items():
            k0 = ks[0]
            rows = self._double_differences(okL_all[k0], okP_all[k0], el_all[k0], key)
            if rows is None:
                for i in ks:
                    out[i] = (None, None, None, None, None)
                continue
            ka = np.array(ks)
            yLP = self._pre_yLP[ka]
            y0 = yLP[:, rows["gi"]] - yLP[:, rows["gr"]]
            e = e_all[ka]
            Hg = -(e[:, rows["sat"]] - e[:, rows["ref"]])
            scale, d, same = rows["scale"], rows["diag"], rows["same"]
            vsd = var_flat[ka]
            vi = vsd[:, rows["fi"]] * scale
            vr = vsd[:, rows["fr"]] * scale
            ages = np.array([age_var[i] for i in ks])
            aged = ages > 0.0  # as _dd_system: ((vr + vi) + age) + age on the diagonal
            if aged.all():
                a = ages[:, None]
                R = np.where(same, vr[:, :, None] + a[:, :, None], 0.0)
                R[:, d, d] = ((vr + vi) + a) + a
            else:
                R = np.where(same, vr[:, :, None], 0.0)
                R[:, d, d] = vr + vi
                if aged.any():
                    a = ages[aged][:, None]
                    Ra = np.where(same, vr[aged][:, :, None] + a[:, :, None], 0.0)
                    Ra[:, d, d] = ((vr[aged] + vi[aged]) + a) + a
                    R[aged] = Ra
            sd = np.sqrt(np.diagonal(R, axis1=1, axis2=2))  # sigmas of the rows
            for t, i in enumerate(ks):
                out[i] = (rows, y0[t], Hg[t], R[t], sd[t])
        return out

    def _rover_residuals(self, i, pos):
        """Rover-minus-base single-difference residuals at rover epochs ``i`` (array or
        scalar) linearised at rover positions ``pos`` ((..., 3), ECEF m): see
        :func:`~satnav.estimators.rtk_core.single_differences`."""
        r = self.rover
        j = np.maximum(self.base_index[i], 0)
        return single_differences(_geometry, self.lam, self.mask, self.mode == "dgnss",
                                  r.sat_pos[i], r.sat_clock_s[i], r.phase_cyc[i], r.code_m[i],
                                  r.sat_valid[i], self.base_yL[j], self.base_yP[j],
                                  self.base_ok[j], self.base_el[j], pos)

    def _epoch_inputs(self, i, pos, at_spp):
        pre = self._pre
        if pre is not None and at_spp:  # pos is spp_pos[i]
            e, el, yL, yP, okP, okL, var_sd = (a[i] for a in pre)
            dd0 = self._pre_dd[i] if self._pre_dd is not None else None
            rows_key = self._pre_keys[i] if self._pre_keys is not None else None
            return (e, el, yL, yP, okP, okL, var_sd, self._pre_yLP[i], self._pre_nsat[i],
                    rows_key, dd0)
        e, el, yL, yP, okP, okL, var_sd = self._rover_residuals(i, pos)
        yLP = np.concatenate((yL.ravel(), yP.ravel()))
        return e, el, yL, yP, okP, okL, var_sd, yLP, int(okP.any(axis=1).sum()), None, None

    def _code_residuals(self, i, pos):
        r = self.rover
        j = self._base_index_list[i]
        rng2, e2, _, trop2 = _geometry(r.sat_pos[i], pos)
        model2 = rng2 + trop2 - SPEED_OF_LIGHT * r.sat_clock_s[i]
        return e2, r.code_m[i] - model2[:, None] - self.base_yP[j]

    # ------------------------------------------------------------------ epoch processing
    def run(self, progress=None) -> RtkSolution:
        """Process every rover epoch and return the solution (``progress(epochs_done,
        epochs)`` after each epoch, :mod:`satnav.progress`)."""
        n = len(self.rover.time_ns)
        counter = ProgressCounter(progress, n)
        for i in range(n):
            self.step(i)
            counter.update(i + 1)
        counter.finish()
        return self.solution()

    def solution(self) -> RtkSolution:
        bt = self.base.time_ns
        age = np.where(self.base_index >= 0,
                       (self.rover.time_ns - bt[np.maximum(self.base_index, 0)]) / 1e9, np.nan)
        return RtkSolution(
            time_ns=self.rover.time_ns.copy(), position_m=self.out_pos, float_position_m=self.out_float,
            quality=self.out_q, ratio=self.out_ratio, n_fixed=self.out_nfix, n_satellites=self.out_ns,
            covariance_m2=self.out_cov, age_s=age, base_position_m=self.base_pos,
            base_position_source=self.base_source, mode=self.mode, notes=list(self.notes),
            options={"ratio_threshold": self.ratio_threshold, "fix_and_hold": self.fix_and_hold,
                     "elevation_mask_deg": math.degrees(self.mask), "dynamics": self.dynamics,
                     "signals": self.signals, "glonass_ar": self.glonass_ar,
                     "glonass_ar_reason": self.glonass_ar_reason,
                     "glonass": bool((self.letters == "R").any()) and self.mode != "dgnss"},
            fixed_systems=self.out_fixsys,
        )

    def step(self, i):
        """Process rover epoch ``i``."""
        j = self._base_index_list[i]
        spp_ok = self._spp_ok_list[i]
        if j < 0:
            self._spp_now, self._spp_ok_now = self.spp_pos[i], spp_ok
            self._single(i)
            return
        self._filter_epoch(i, i, self._rover_t[i], (self._rover_t[i] - self._base_t[j]) / 1e9,
                           self.spp_pos[i], spp_ok, self.slips[i].ravel(),
                           None if self.half is None else self.half[i].ravel())


def solve_rtk(rover_obs, base_obs, nav, *, mode="kinematic", base_position=None,
              frequencies=("L1", "L2"), elevation_mask_deg=15.0, ratio_threshold=3.0,
              fix_and_hold=False, systems="GREJC", max_age_s=30.0, dynamics=False,
              min_fix_ambiguities=4, max_fixed_sigma_m=0.05, min_lock_epochs=None,
              states=None, age_sigma_m_per_s=BASE_AGE_SIGMA_M_PER_S, min_lock_s=None,
              success_rate_min=None, fix_test_p=None, jump_test_p=None, code_test_p=None,
              wrong_fix_p=None, base_gap_s=None, half_cycle=None, glonass_ar="auto",
              min_lock_cross_s=None, autocal_success_rate_min=None,
              glonass_test_floor_cyc=None, progress=None) -> RtkSolution:
    """Relative positioning of a rover against a base receiver.

    Parameters
    ----------
    rover_obs, base_obs : satnav.observations.Observations
    nav : satnav.io.rinex_nav.Navigation
        Broadcast ephemerides (for both receivers).
    mode : {"kinematic", "static", "dgnss"}
        ``kinematic``: rover position re-estimated every epoch; ``static``: one constant
        rover position; ``dgnss``: code differential, epoch by epoch (quality 4).
    base_position : array_like (3,) or "spp", optional
        Base ECEF position (m). Default: the base header's ``APPROX POSITION XYZ``;
        ``"spp"``: the mean single point solution of the base. Which one was used is
        :attr:`RtkSolution.base_position_source`.
    frequencies : tuple of str
        Frequency names, ``("L1",)`` single or ``("L1", "L2")`` dual frequency (L2 means
        E5b for Galileo, B2I/B2b or else B3I for BeiDou; see :data:`FREQUENCY_BANDS`).
    elevation_mask_deg : float
    ratio_threshold : float
        Ratio test threshold for accepting integers.
    fix_and_hold : bool
        Feed fixed integers back into the filter as tight constraints.
    systems : str
        System letters (GLONASS ambiguity resolution: ``glonass_ar``).
    max_age_s : float
        Largest rover-base time difference for pairing epochs.
    dynamics : bool
        Kinematic mode with a constant-velocity model (position and velocity states)
        instead of a fresh position every epoch.
    min_fix_ambiguities : int
        Fewest DD ambiguities for a fix (partial resolution stops there).
    min_lock_epochs : int, optional
        An ambiguity takes part in integer resolution only after this many epochs since it
        was (re)initialised (1: not in the epoch of a new arc or slip). Default 1.
    min_lock_s, success_rate_min, fix_test_p, jump_test_p, code_test_p, wrong_fix_p, base_gap_s, half_cycle : optional
        Fix validation (:data:`satnav.estimators.rtk_core.VALIDATION_DEFAULTS`, which holds
        the defaults for single- and dual-frequency processing): least lock time (s) of an
        ambiguity before it is fixed; least bootstrapped success rate; chi-square quantiles
        of the float-to-fixed residual increase, of the baseline jump from the float
        solution, of the code residuals at the fixed position and of the phase residuals
        after a held fix (a wrong fix found after acceptance, or integers disagreeing with
        an earlier fix's, re-initialise the ambiguities involved); the base age (s) beyond
        which every ambiguity's lock restarts; whether half-cycle flags (LLI bit 1) keep an
        ambiguity from being fixed and restart it when they clear. A quantile of 1, a time
        of 0 or ``half_cycle=False`` switches a test off.
    min_lock_cross_s : float, optional
        Least lock time (s) of the ambiguities of a fix whose GLONASS integers are confirmed
        by the other systems' (``glonass_ar="on"``; default 0: such a cross-checked fix
        does not wait ``min_lock_s``).
    autocal_success_rate_min : float, optional
        Least success rate of the GLONASS integers searched given the other systems'
        (``glonass_ar="autocal"``; default 0.3).
    glonass_test_floor_cyc : float, optional
        Sigma (cycles) added to each GLONASS double difference in the test of GLONASS
        integers against the other systems' (unmodelled phase multipath; default 0.03).
    glonass_ar : {"auto", "off", "on", "autocal"}
        GLONASS ambiguity resolution (:data:`satnav.estimators.rtk_core.GLONASS_AR_MODES`):
        ``"off"`` float only (safe for any receiver pair); ``"on"`` fixed, for receivers of
        the same brand (inter-frequency biases cancel); ``"autocal"`` fixed with an
        estimated inter-frequency bias rate (m per channel number), for mixed pairs;
        ``"auto"`` (default) ``"on"`` when both headers name the same receiver type, else
        ``"autocal"`` (:func:`satnav.estimators.rtk_core.auto_glonass_ar`; the choice and
        its reason are in :attr:`RtkSolution.notes`).
        :attr:`RtkSolution.fixed_systems` tells which systems each fix includes.
    progress : callable, optional
        ``progress(epochs_done, epochs)`` as the rover epochs are processed
        (:mod:`satnav.progress`).
    age_sigma_m_per_s : float
        Growth (m/s) of the sigma of each single difference with the age of the base epoch
        (rover minus base time): the ionosphere, troposphere and satellite clocks change
        between the two times and nothing models it. Default RTKLIB's ``stats-clkstab``
        (5e-12 s/s) x c = 1.5 mm/s, so a 30 s old base epoch adds 4.5 cm; such epochs
        then report float rather than a biased fix.
    max_fixed_sigma_m : float
        A fix whose formal 3-D position sigma (phase error model) exceeds this is reported
        as float: with few satellites in a weak geometry, correct integers still give
        decimetre positions.
    states : callable, optional
        ``states(sat, time_ns) -> SatelliteStates`` in place of the broadcast ephemerides.

    Returns
    -------
    RtkSolution

    Raises
    ------
    SatnavError
        No common epochs, satellites (or none observed by both at the same time) or
        signals; no base position available. Messages name the command-line option and the
        keyword that fix them.

    Warns
    -----
    SatnavWarning
        Rover epochs without a base epoch within ``max_age_s`` (they fall back to the
        single point solution, quality 5), or rover and base logging at different intervals.
    """
    flt = RtkFilter(rover_obs, base_obs, nav, mode=mode, base_position=base_position,
                    frequencies=frequencies, elevation_mask_deg=elevation_mask_deg,
                    ratio_threshold=ratio_threshold, fix_and_hold=fix_and_hold, systems=systems,
                    max_age_s=max_age_s, dynamics=dynamics,
                    min_fix_ambiguities=min_fix_ambiguities, max_fixed_sigma_m=max_fixed_sigma_m,
                    min_lock_epochs=min_lock_epochs, states=states,
                    age_sigma_m_per_s=age_sigma_m_per_s, min_lock_s=min_lock_s,
                    success_rate_min=success_rate_min, fix_test_p=fix_test_p,
                    jump_test_p=jump_test_p, code_test_p=code_test_p, wrong_fix_p=wrong_fix_p,
                    base_gap_s=base_gap_s, half_cycle=half_cycle, glonass_ar=glonass_ar,
                    min_lock_cross_s=min_lock_cross_s,
                    autocal_success_rate_min=autocal_success_rate_min,
                    glonass_test_floor_cyc=glonass_test_floor_cyc)
    return flt.run(progress)
