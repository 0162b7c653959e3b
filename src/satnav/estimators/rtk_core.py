"""The RTK/DGNSS filter itself: one epoch's Kalman filter step, shared by the batch
solver (:class:`satnav.estimators.rtk.RtkFilter`, inputs vectorized over whole files) and
the per-epoch engine (:class:`satnav.estimators.rtk_engine.RtkEngine`, inputs prepared
from one epoch at a time).

:class:`RtkCore` holds the options, the state (rover position, optionally velocity, and
one single-difference ambiguity per satellite column and frequency, in cycles), and runs
for one rover epoch (:meth:`RtkCore._filter_epoch`):

1. time update (kinematic: reset to the rover's single point solution; static: constant;
   ``dynamics``: constant velocity), :meth:`RtkCore._time_update`;
2. the epoch's single-difference residuals, from the subclass (:meth:`_epoch_inputs`);
3. ambiguity bookkeeping: slips, outages and new arcs re-initialise an ambiguity,
   :meth:`RtkCore._update_ambiguities`;
4. double differences (:meth:`RtkCore._double_differences`, :meth:`RtkCore._dd_system`) and
   the measurement update with outlier rejection and the post-fit test for undetected
   slips, :meth:`RtkCore._measurement_update`;
5. integer resolution (LAMBDA, ratio test, partial fixing), validation of the fixed
   solution by its phase residuals, fix-and-hold, :meth:`RtkCore._resolve`.

Subclasses lay out the satellite columns (:meth:`RtkCore._init_layout`; the columns are
sorted by satellite index, so the double differences of any layout come in the same
order) and provide :meth:`_epoch_inputs` and :meth:`_code_residuals`. Results of the epoch
go to row ``slot`` of the ``out_*`` arrays. Units: metres, cycles, seconds; ECEF frame.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from ..errors import SatnavError
from ..satellites import SYSTEMS
from . import kalman
from .lambda_ils import resolve_partial

__all__ = ["RtkCore", "single_differences", "sd_variance", "VALIDATION_DEFAULTS",
           "GLONASS_AR_MODES", "IFB_RATE_SIGMA_M", "glonass_channel_numbers", "auto_glonass_ar"]

#: Systems whose ambiguities are resolved to integers.
INTEGER_SYSTEMS = "GECJ"

#: Fix validation options: name -> (dual-frequency default, single-frequency default).
#: An option left ``None`` takes these; a quantile ``p`` of 1 (or more), a time of 0 /
#: ``inf`` or ``half_cycle=False`` switches a test off. See :meth:`RtkCore._validate_fix`.
#:
#: * ``success_rate_min``: least bootstrapped success rate of the integers fixed;
#: * ``min_lock_s``: least time (s) an ambiguity must have been tracked without a slip
#:   (or a lock restart after a base gap) before it may be fixed. It guards single-frequency
#:   fixes against float ambiguities biased by code multipath, which is correlated over
#:   minutes (a reflector 1.5-3 m below the antenna: periods of several minutes at L1) and
#:   which the filter's white-noise code model does not know;
#: * ``min_lock_cross_s``: the same for a fix confirmed by a second, independent set of
#:   integers: GLONASS integers (``glonass_ar="on"``) that pass the inter-frequency bias test
#:   given the other systems' integers (:meth:`RtkCore._glonass_consistent`). A baseline
#:   biased by multipath, or a wrong integer set, cannot put both the CDMA and the FDMA
#:   double differences (other wavelengths, other geometry) on integers, so the long lock time
#:   is not needed there. A value of ``min_lock_s`` or more switches the cross-checked search
#:   off;
#: * ``autocal_success_rate_min``: least bootstrapped success rate of the GLONASS integers
#:   searched given the other systems' (``glonass_ar="autocal"``, second stage of
#:   :meth:`RtkCore._resolve_staged`); their float values then carry the uncertainty of the
#:   free IFB rate (success rates ~0.95 on the simulated low-cost pairs), and the integers
#:   still pass :meth:`RtkCore._glonass_consistent`;
#: * ``glonass_test_floor_cyc``: sigma (cycles) added to each GLONASS double difference in
#:   that test for the carrier-phase multipath the white-noise phase model lacks: it does not
#:   average out over the epochs (minutes of correlation), so the conditional sigmas of
#:   long-tracked ambiguities (0.01-0.04 cycle) alone refused correct integers 0.02-0.05
#:   cycle off; an IFB of 3 cm per channel (0.16 cycle per channel number) or a wrong set of
#:   the other systems' integers (decimetres) stays far outside;
#: * ``fix_test_p``: the fixed solution's weighted phase residuals may exceed the float
#:   solution's by no more than this chi-square quantile (``(a - N)^T Qa^-1 (a - N)``
#:   with one degree of freedom per integer);
#: * ``jump_test_p``: the fixed baseline may move from the float one by no more than this
#:   chi-square quantile (3 degrees of freedom) of the float position covariance;
#: * ``code_test_p``: the code double differences at the fixed position: chi-square
#:   quantile of their weighted sum (also each within ``validation_sigma``);
#: * ``wrong_fix_p``: after a fix, the next epochs' integers must agree with it and the
#:   post-fit phase residuals stay below this chi-square quantile; else the fix is dropped
#:   and every ambiguity it involved re-initialised;
#: * ``base_gap_s``: a rover epoch whose base epoch is older than this (s) restarts the
#:   lock time of every ambiguity: the next fix must wait ``min_lock_s`` / the minimum
#:   lock epochs again (re-validated after the gap);
#: * ``half_cycle``: ambiguities with the half-cycle flag (RINEX LLI bit 1) of either
#:   receiver are not fixed, and are re-initialised when the flag clears.
VALIDATION_DEFAULTS = {
    "success_rate_min": (0.3, 0.99),
    "min_lock_s": (0.0, 60.0),
    "min_lock_cross_s": (0.0, 0.0),
    "autocal_success_rate_min": (0.3, 0.3),
    "glonass_test_floor_cyc": (0.03, 0.03),
    "fix_test_p": (1.0, 1.0),
    "jump_test_p": (1.0, 1.0),
    "code_test_p": (0.9999, 0.9999),
    "wrong_fix_p": (0.9999, 0.9999),
    "base_gap_s": (10.0, 10.0),
    "half_cycle": (True, True),
}
#: GLONASS ambiguity resolution (``glonass_ar``):
#:
#: * ``"off"``: GLONASS single-difference ambiguities stay float (they still strengthen the
#:   float solution): safe for any receiver pair;
#: * ``"on"``: GLONASS double-difference ambiguities are fixed like GPS's, assuming the
#:   receivers' carrier-phase inter-frequency biases (IFB) cancel in the single difference
#:   (same receiver brand and firmware; Wanninger 2012). The state holds one single-
#:   difference ambiguity per satellite in cycles of that satellite's own wavelength, the
#:   double-difference phase is ``lam_j N_j - lam_r N_r = lam_j (N_j - N_r) + (lam_j -
#:   lam_r) N_r``: the integer fixed is ``N_j - N_r`` and the small second term (at most
#:   0.5 % of ``N_r``) is carried by the float reference ambiguity ``N_r``, which the fixed
#:   solution keeps as a float state (RTKLIB ``pos2-gloarmode=on``, Takasu's rtkpos.c
#:   ``ddres``; Leick, Rapoport & Tatarnikov 2015, GPS Satellite Surveying, 4th ed., 7.2.3);
#: * ``"autocal"``: as ``"on"`` plus one state per frequency for the receivers' IFB rate
#:   (m per channel number ``k``; the double difference gains ``rate (k_j - k_r)``), prior
#:   sigma :data:`IFB_RATE_SIGMA_M`; the rate becomes known through the fixed integers
#:   (RTKLIB ``pos2-gloarmode=autocal``; Wanninger 2012; Sleewaegen et al. 2012). For mixed
#:   receiver pairs. On one frequency the GLONASS and the other systems' integers are
#:   searched together in a basis that separates the rate (:meth:`RtkCore._resolve_joint`),
#:   else (and when that fails) the other systems' first (:meth:`RtkCore._resolve_staged`);
#:
#: * ``"auto"`` (the default): ``"on"`` when both receivers' headers name the same receiver
#:   type (RINEX ``REC # / TYPE / VERS``, the raw log's receiver; versions equal where both
#:   are given), else ``"autocal"`` (:func:`auto_glonass_ar`); the choice and its reason are
#:   a note of the solution.
#:
#: Wanninger, L. (2012) Carrier-phase inter-frequency biases of GLONASS receivers. J Geod
#: 86:139-148. Sleewaegen, J.-M. et al. (2012) Demystifying GLONASS inter-frequency carrier
#: phase biases. Inside GNSS 7(3):57-61.
GLONASS_AR_MODES = ("off", "on", "autocal", "auto")
#: Prior sigma (m per channel number) of the GLONASS phase IFB rate (``glonass_ar="autocal"``):
#: rates between receiver brands are a few centimetres per channel (Wanninger 2012); a
#: rate larger by one wavelength (0.19 m) per channel is almost indistinguishable from a
#: shift of every integer by its channel difference, and this prior tells them apart.
IFB_RATE_SIGMA_M = 0.05
#: Least epochs tracked before a single-frequency ambiguity is fixed (``min_lock_epochs``
#: default; dual frequency: 1).
SINGLE_FREQUENCY_MIN_LOCK_EPOCHS = 1


def sd_variance(el, a=0.003, b=0.003):
    """RTKLIB's phase error model ``a^2 + b^2 / sin^2(el)`` (m^2), el in rad (>= 1 deg)."""
    s = np.sin(np.maximum(el, np.radians(1.0)))
    return a * a + (b * b) / (s * s)


def single_differences(geometry, lam, mask, dgnss, sat_pos, sat_clock_s, phase_cyc, code_m,
                       sat_valid, base_yL, base_yP, base_ok, base_el, pos):
    """Rover-minus-base single-difference residuals linearised at rover position ``pos``.

    ``geometry(sat_pos, receiver) -> (range, line of sight, elevation, troposphere)``
    (:func:`satnav.estimators.rtk._geometry`); rover arrays ``(..., n)`` / ``(..., n, nf)``
    over satellite columns; base zero-difference residuals (m) of the matched base epochs.
    Returns ``(e, el, yL, yP, okP, okL, var_sd)``: line of sight, elevation (rad), phase and
    code residuals (m), the usable code and phase (satellite, frequency) and the
    single-difference variances (m^2). The same element-wise operations for one epoch or
    many, so the same bits."""
    from ..constants import SPEED_OF_LIGHT

    pos = np.asarray(pos)[..., None, :]
    rng, e, el, trop = geometry(sat_pos, pos)
    model = rng + trop - SPEED_OF_LIGHT * sat_clock_s
    yL = lam * phase_cyc - model[..., None] - base_yL
    yP = code_m - model[..., None] - base_yP
    ok = (sat_valid & base_ok & (el >= mask))[..., None]
    okP = ok & np.isfinite(yP)
    okL = okP & np.isfinite(yL) if not dgnss else np.zeros_like(okP)
    var = sd_variance(el) + sd_variance(base_el)
    var_sd = np.repeat(var[..., None], lam.shape[-1], axis=-1)
    return e, el, yL, yP, okP, okL, var_sd


def glonass_channel_numbers(letters, lam):
    """GLONASS FDMA channel number ``k`` of each satellite column and frequency slot (n, nf)
    from its wavelength ``lam`` (m; G1 ``1602 + 0.5625 k`` MHz, G2 ``1246 + 0.4375 k`` MHz,
    GLONASS ICD 3.3.1.4); 0 for other systems, CDMA signals and unknown channels."""
    from ..constants import FREQ_G1_BASE, FREQ_G1_STEP, FREQ_G2_BASE, FREQ_G2_STEP, SPEED_OF_LIGHT

    with np.errstate(invalid="ignore", divide="ignore"):
        f = SPEED_OF_LIGHT / np.asarray(lam, np.float64)
        k1 = (f - FREQ_G1_BASE) / FREQ_G1_STEP
        k2 = (f - FREQ_G2_BASE) / FREQ_G2_STEP
    ok1 = (np.abs(k1) <= 8.5) & (np.abs(k1 - np.round(k1)) < 1e-3)
    ok2 = (np.abs(k2) <= 8.5) & (np.abs(k2 - np.round(k2)) < 1e-3)
    k = np.where(ok1, np.round(k1), np.where(ok2, np.round(k2), 0.0))
    k = np.where(np.isfinite(k), k, 0.0)
    return np.where((np.asarray(letters) == "R")[:, None], k, 0.0)


def _receiver_text(header):
    """``(type, version)`` of an observation header, upper case, blanks collapsed."""
    def norm(v):
        return " ".join(str(v or "").upper().split())

    return (norm(getattr(header, "receiver_type", "")), norm(getattr(header, "receiver_version", "")))


def auto_glonass_ar(rover_header, base_header) -> tuple[str, str]:
    """``glonass_ar="auto"``: ``("on", reason)`` when the rover and base headers
    (:class:`~satnav.observations.ObsHeader`) name the same receiver type, and the same
    firmware version where both give one; else ``("autocal", reason)``. A blank type (RTKLIB
    ``convbin`` leaves ``REC # / TYPE / VERS`` as the user set it, often empty) is unknown:
    autocal. Receivers of one type share their GLONASS carrier-phase inter-frequency biases,
    which cancel in the single difference; other types differ by up to centimetres per
    frequency channel (Wanninger 2012), and firmware versions of one type can too."""
    rt, rv = _receiver_text(rover_header)
    bt, bv = _receiver_text(base_header)
    if not rt or not bt:
        blank = " and ".join(w for w, t in (("rover", rt), ("base", bt)) if not t)
        return "autocal", f"receiver type unknown (blank REC # / TYPE in the {blank} header)"
    if rt != bt:
        return "autocal", f"receiver types differ (rover {rt!r}, base {bt!r})"
    if rv and bv and rv != bv:
        return "autocal", f"receiver {rt!r} with different firmware (rover {rv!r}, base {bv!r})"
    return "on", f"same receiver type {rt!r} in both headers"


def glonass_ar_note(glonass_ar, reason=None):
    """The solution note on GLONASS ambiguities for ``glonass_ar`` (:data:`GLONASS_AR_MODES`);
    ``reason``: why ``"auto"`` chose it (:func:`auto_glonass_ar`)."""
    why = f"; chosen by glonass_ar=auto: {reason}" if reason else ""
    if glonass_ar == "on":
        return ("GLONASS ambiguities are fixed assuming no inter-frequency bias between the "
                f"receivers (glonass_ar=on: same-brand receivers{why})")
    if glonass_ar == "autocal":
        return ("GLONASS ambiguities are fixed with an estimated inter-frequency bias rate "
                f"(glonass_ar=autocal{why})")
    return ("GLONASS ambiguities are estimated as float only (no "
            "inter-frequency bias calibration); they are not fixed")


class RtkCore:
    """Options, state and the per-epoch step of the RTK/DGNSS Kalman filter (see the module
    docstring). Not used directly: :class:`~satnav.estimators.rtk.RtkFilter` (batch) and
    :class:`~satnav.estimators.rtk_engine.RtkEngine` (per epoch) prepare its inputs."""

    #: Least bootstrapped success rate (Teunissen 1998) of the ambiguities fixed, on top
    #: of the ratio test (see :func:`satnav.estimators.lambda_ils.resolve_partial`). With
    #: ambiguities reset every few epochs, single-frequency G-only/E-only fixes of 4
    #: ambiguities passed the ratio test (3.2-5.8) with wrong integers (0.2-1.4 m) at success
    #: rates < 0.3; 0.3 refused all 75 of them in simulations, keeping every acceptance
    #: figure (0.99 refused them too but lowered single-frequency fix rates to 83-88 %).
    success_rate_min = 0.3
    #: Chi-square quantile of the GLONASS inter-frequency bias test of a fix
    #: (:meth:`_glonass_consistent`).
    GLONASS_TEST_P = 0.999
    #: Largest sigma (cycles) of a GLONASS double-difference ambiguity given the other
    #: systems' integers for that test to be made; a larger one refuses the GLONASS
    #: integers (an IFB of 0.03 m per channel, 0.16 cycle, must be visible).
    GLONASS_TEST_SIGMA_CYC = 0.05
    #: Fewest GLONASS integers in an autocal fix (:meth:`_min_glonass`).
    AUTOCAL_MIN_GLONASS = 3

    # ------------------------------------------------------------------ set-up
    def _init_options(self, *, mode, ratio_threshold, fix_and_hold, elevation_mask_deg,
                      min_fix_ambiguities, max_outage_epochs, validation_sigma, max_fixed_sigma_m,
                      min_lock_epochs, age_sigma_m_per_s, dynamics, glonass_ar="auto",
                      **validation):
        if mode not in ("kinematic", "static", "dgnss"):
            raise SatnavError(f"unknown RTK mode {mode!r}: expected kinematic, static or dgnss "
                              "(--mode; mode= in Python)")
        self.mode = mode
        if glonass_ar not in GLONASS_AR_MODES:
            raise SatnavError(f"unknown GLONASS ambiguity resolution {glonass_ar!r}: expected "
                              "off, on, autocal or auto (--glonass-ar; glonass_ar= in Python)")
        self.glonass_ar = glonass_ar
        self.glonass_ar_reason = None  # why "auto" chose the mode (_choose_glonass_ar)
        self.ratio_threshold = float(ratio_threshold)
        self.fix_and_hold = bool(fix_and_hold)
        self.mask = math.radians(elevation_mask_deg)
        self.min_fix = int(min_fix_ambiguities)
        self.max_outage = int(max_outage_epochs)
        self.validation_sigma = float(validation_sigma)
        self.max_fixed_sigma = float(max_fixed_sigma_m)
        self._min_lock_opt = min_lock_epochs
        self.min_lock = 1 if min_lock_epochs is None else int(min_lock_epochs)
        self.age_sigma = float(age_sigma_m_per_s)
        self._age_var = 0.0  # variance (m^2) of each single difference from the base age
        self.slip_sigma = 6.0  # post-fit phase residual (sigmas) that betrays a missed slip
        self.n_residual_resets = 0
        self.n_wrong_fix_resets = 0  # fixes found wrong after acceptance (see _filter_epoch)
        self.dynamics = bool(dynamics) and mode == "kinematic"
        self.notes = []
        bad = set(validation) - set(VALIDATION_DEFAULTS)
        if bad:
            raise TypeError(f"unknown RTK validation option(s): {', '.join(sorted(bad))}")
        self._validation_opts = {k: validation.get(k) for k in VALIDATION_DEFAULTS}
        self.half_cycle = validation.get("half_cycle") is not False

    def _choose_glonass_ar(self, rover_header, base_header):
        """``glonass_ar="auto"``: the mode for these receivers (:func:`auto_glonass_ar`),
        before the state layout; other modes stay."""
        if self.glonass_ar == "auto":
            self.glonass_ar, self.glonass_ar_reason = auto_glonass_ar(rover_header, base_header)

    def _resolve_validation(self):
        """Effective validation thresholds (:data:`VALIDATION_DEFAULTS`; ``None`` options take
        the single- or dual-frequency default once the number of frequencies is known)."""
        single = self.nf == 1
        for name, (dual, sf) in VALIDATION_DEFAULTS.items():
            value = self._validation_opts[name]
            if value is None:
                value = sf if single else dual
            if name == "success_rate_min":
                if value != type(self).success_rate_min:
                    self.success_rate_min = float(value)
                continue
            if name == "half_cycle":
                continue  # set with the options (the batch prepares its flags first)
            value = float(value)
            if name.endswith("_p") and value >= 1.0:
                value = None  # test off
            setattr(self, name, value)
        if self._min_lock_opt is None:
            self.min_lock = SINGLE_FREQUENCY_MIN_LOCK_EPOCHS if single else 1

    def _init_layout(self, sats, letters, lam, integer_ok):
        """Satellite columns (``sats`` sorted by index, their system ``letters``, wavelengths
        ``lam`` (n, nf) in m, ``integer_ok`` (n,)) and the filter state over them."""
        self.sats = sats
        self.letters = letters
        self.lam = lam
        self.nf = lam.shape[1]
        if self.glonass_ar != "off":
            integer_ok = integer_ok | (letters == "R")
        self.integer_ok = integer_ok
        n = len(sats)
        # satellite columns of each system (fixed order of np.unique)
        self._system_cols = [(s, np.flatnonzero(letters == s)) for s in np.unique(letters)]
        self._integer_cols = [(s, c) for s, c in self._system_cols if self.integer_ok[c[0]]]
        self._system_col_lists = [c.tolist() for _s, c in self._system_cols]
        self._integer_col_lists = [c.tolist() for _s, c in self._integer_cols]
        # satellites are sorted by index, so each system is a contiguous column range
        self._system_ranges = [(int(c[0]), int(c[-1]) + 1) for _s, c in self._system_cols]
        if any(len(c) != hi - lo for (_s, c), (lo, hi) in zip(self._system_cols, self._system_ranges)):
            self._system_ranges = None
        self._rows_cache = None  # (usable satellites and references, rows) of the last epoch
        self.nx_pos = 6 if self.dynamics else 3
        self.nx = self.nx_pos + n * self.nf
        # glonass_ar="autocal": one GLONASS IFB rate state (m per channel) per frequency,
        # after the ambiguities
        self._ifb_idx = None
        if self.glonass_ar == "autocal" and (letters == "R").any():
            self._ifb_idx = self.nx + np.arange(self.nf)
            self.nx += self.nf
        self.x = np.zeros(self.nx)
        self.P = np.zeros((self.nx, self.nx))
        if self._ifb_idx is not None:
            self.P[self._ifb_idx, self._ifb_idx] = IFB_RATE_SIGMA_M**2
        self.active = np.zeros(n * self.nf, bool)
        self.last_seen = np.full(n * self.nf, -10**9)
        self.lock = np.zeros(n * self.nf, np.int64)  # epochs tracked since (re)initialisation
        self.lock_t0 = np.zeros(n * self.nf, np.int64)  # time (ns) the lock (re)started
        self._t_now = 0
        self._half = None  # (n * nf,) half-cycle flags of this epoch (either receiver)
        self._last_fix = {}  # (sat, ref, f, wide-lane) -> integer of the fixes accepted
        self._cross_only = False  # the search under way needs a cross-checked fix (_resolve)
        self._glonass_k_flat = None  # GLONASS channel numbers (n * nf,), when first needed
        self._has_glonass = bool(self.integer_ok[letters == "R"].any()) and bool(
            (letters != "R").any())
        self._letter_list = [str(c) for c in np.asarray(letters).tolist()]  # (Python strings: fast to index)
        self._any_glonass = "R" in self._letter_list
        self._pair_keys = (None, None)  # (pairs, _consistent's keys of them) of the last fix
        self._held = False  # the last epoch's fix was held in the state
        self._resolve_validation()
        self.initialised = False
        self.t_prev = None
        self.fixed_ints = None
        self._z_warm = None  # (DD pairs, {subset: Z-transformation}) of the last search
        self._pos_idx = np.arange(self.nx_pos)
        if self._ifb_idx is not None:  # the IFB rates are always part of the sub-state
            self._pos_idx = np.concatenate((self._pos_idx, self._ifb_idx))
        self._dd_cache = None  # (DD pairs and sub-state, D) of the last integer resolution
        self._integer_flat = np.repeat(self.integer_ok, self.nf)
        self._var_blocks = {}  # variance -> 3 x 3 diagonal block (_reset_position)
        self._flat_cache = {}  # sub-state -> flat indices into P (_flat_index)

    def _init_outputs(self, m):
        """``out_*`` arrays of ``m`` epochs (rows), as an unprocessed epoch reads."""
        self.out_pos = np.full((m, 3), np.nan)
        self.out_float = np.full((m, 3), np.nan)
        self.out_q = np.zeros(m, np.int8)
        self.out_ratio = np.zeros(m)
        self.out_nfix = np.zeros(m, np.int16)
        self.out_ns = np.zeros(m, np.int16)
        self.out_cov = np.full((m, 3, 3), np.nan)
        self.out_fixsys = np.full(m, "", dtype=object)  # letters of the systems fixed

    # ------------------------------------------------------------------ inputs (subclasses)
    def _epoch_inputs(self, i, pos, at_spp):
        """Single differences of rover epoch ``i`` at rover position ``pos`` (``at_spp``: it
        is the epoch's single point solution). Returns ``(e, el, yL, yP, okP, okL, var_sd,
        yLP, n_sat, rows_key, dd0)``: :func:`single_differences`' arrays (n, ...), ``yLP``
        the phase then code residuals flat, the number of satellites with code, the key of
        the double-difference rows when known (else None) and precomputed double
        differences (see :meth:`RtkFilter._precompute_dd`, else None)."""
        raise NotImplementedError

    def _code_residuals(self, i, pos):
        """Line of sight and code single differences (m) of epoch ``i`` at ``pos`` (DGNSS
        relinearisation): ``(e, yP)``."""
        raise NotImplementedError

    # ------------------------------------------------------------------ epoch processing
    def _single(self, s):
        if self._spp_ok_now:
            self.out_pos[s] = self._spp_now
            self.out_q[s] = 5

    def _time_update(self, t, spp_pos, spp_ok):
        t_prev, self.t_prev = self.t_prev, t
        if self.mode == "static":
            if not self.initialised:
                if not spp_ok:
                    return False
                self._reset_position(spp_pos, 30.0**2)
                self.initialised = True
            return True
        dt = 0.0 if t_prev is None else (t - t_prev) / 1e9
        if self.dynamics and self.initialised and dt > 0:
            F = np.eye(self.nx)
            F[0:3, 3:6] = np.eye(3) * dt
            Q = np.zeros((self.nx, self.nx))
            q = 1.0  # m^2/s^3 acceleration noise spectral density
            Q[0:3, 0:3] = np.eye(3) * q * dt**3 / 3
            Q[0:3, 3:6] = Q[3:6, 0:3] = np.eye(3) * q * dt**2 / 2
            Q[3:6, 3:6] = np.eye(3) * q * dt
            self.x, self.P = kalman.predict(self.x, self.P, F, Q)
            return True
        if not spp_ok:
            if not self.initialised:
                return False
            self.P[0:3, 0:3] += np.eye(3) * 30.0**2
            return True
        self._reset_position(spp_pos, 30.0**2)
        if self.dynamics:
            self.x[3:6] = 0.0
            self.P[3:6, :] = 0.0
            self.P[:, 3:6] = 0.0
            self.P[3:6, 3:6] = np.eye(3) * 10.0**2
        self.initialised = True
        return True

    def _reset_position(self, pos, var):
        self.x[0:3] = pos
        P = self.P
        P[0:3] = 0.0
        P[:, 0:3] = 0.0
        block = self._var_blocks.get(var)
        if block is None:
            block = self._var_blocks[var] = np.eye(3) * var
        P[0:3, 0:3] = block  # var on the diagonal (the rest is already 0.0)

    def _reset_ambiguity(self, k):
        self.lock[k] = 0
        if self._last_fix:
            nf = self.nf
            self._last_fix = {key: n for key, n in self._last_fix.items()
                              if k not in (key[0] * nf + key[2], key[1] * nf + key[2])
                              and not (key[3] and k in (key[0] * nf, key[1] * nf))}
        j = self.nx_pos + k
        self.P[j, :] = 0.0
        self.P[:, j] = 0.0
        self.x[j] = 0.0
        self.active[k] = False

    def _filter_epoch(self, i, s, t, age_s, spp_pos, spp_ok, slips, half=None):
        """One rover epoch with a base epoch ``age_s`` seconds older (rover minus base time):
        ``i`` the epoch's number (outages count in epochs), ``s`` its row of the ``out_*``
        arrays, ``t`` its time (ns), ``spp_pos``/``spp_ok`` its single point solution,
        ``slips`` (n * nf,) bool the slips of either receiver since the last epoch,
        ``half`` (n * nf,) bool the half-cycle flags of either receiver (None: none)."""
        self._spp_now, self._spp_ok_now = spp_pos, spp_ok
        self._t_now = t
        self._half = half if (self.half_cycle and half is not None and half.any()) else None
        self._age_var = (self.age_sigma * age_s) ** 2
        if not self._time_update(t, spp_pos, spp_ok):
            return
        # ---------------- rover single differences at the current position
        pos = self.x[0:3].copy()
        e, el, yL, yP, okP, okL, var_sd, yLP, n_sat, rows_key, dd0 = self._epoch_inputs(i, pos, spp_ok)
        act = None
        if self.mode != "dgnss":
            act = self._update_ambiguities(i, okL, yL, yP, slips)
            if self.base_gap_s is not None and abs(age_s) > self.base_gap_s:
                # a long base gap: every ambiguity must earn its lock again before a fix
                self.lock[self.active] = 0
                self.lock_t0[self.active] = t
                self._last_fix = {}
        self.out_ns[s] = n_sat
        # ---------------- double differences
        if dd0 is not None:  # precomputed: y and H without the ambiguities, and R
            rows = dd0[0]
            if rows is not None:
                rows = dict(rows)
                rows["R"] = dd0[3]
        else:
            rows = self._double_differences(okL, okP, el, rows_key)
        if rows is None:
            self.out_pos[s] = pos
            self.out_q[s] = 5 if spp_ok else 0
            return
        upd = self._measurement_update(i, s, rows, act, yLP, yL, yP, e, var_sd, dd0)
        if upd is None:
            return
        ix, xs, Ps, flat, v, H, R, x_prior, keep, n_keep, sd = upd
        self.x[ix] = xs
        self.P.put(flat, Ps)  # P[ix[:, None], ix] = Ps
        self.out_float[s] = xs[0:3]
        self.out_pos[s] = xs[0:3]
        self.out_cov[s] = Ps[0:3, 0:3]
        self.out_q[s] = 4 if self.mode == "dgnss" else 2
        if self.mode == "dgnss":
            return
        # what the validation of a fix needs: innovations about the prior state
        phase_idx = rows["phase_idx"] if n_keep == len(keep) else np.flatnonzero(rows["phase"][keep])
        self._epoch = {"i": i, "ix": ix, "v": v, "H": H, "R": R, "x_prior": x_prior,
                       "phase_idx": phase_idx, "sd": sd}
        if self._held and self._last_fix:
            self._check_held_fix(xs, v, H, R, x_prior, phase_idx, rows, keep, n_keep)
        self._held = False
        self._resolve(s, ix, xs, Ps, okL, el, rows)

    def _check_held_fix(self, xs, v, H, R, x_prior, phase_idx, rows, keep, n_keep):
        """After a held fix: the float solution's post-fit phase residuals (chi-square) must
        stay below the ``wrong_fix_p`` quantile; wrong integers held in the state make them
        grow as the geometry changes. Else the fix is dropped and the ambiguities it
        involved re-initialised (float again until they earn their lock)."""
        if self.wrong_fix_p is None or len(phase_idx) < 2:
            return
        rp = (v - H @ (xs - x_prior))[phase_idx]
        Rp = R.take(phase_idx, 0).take(phase_idx, 1)
        try:
            chi2 = float(rp @ kalman.solve(Rp, rp))
        except np.linalg.LinAlgError:
            return
        if chi2 > _chi2_quantile(len(rp), self.wrong_fix_p):
            self._drop_fix(list(self._last_fix))

    def _drop_fix(self, keys):
        """A fix found wrong: re-initialise every ambiguity of the pairs ``keys``."""
        nf = self.nf
        flat = set()
        for k, ref, f, wl in keys:
            flat.update((k * nf + f, ref * nf + f))
            if wl:
                flat.update((k * nf, ref * nf))
        self._last_fix = {}
        for k in sorted(flat):
            if self.active[k]:
                self._reset_ambiguity(k)
        self.n_wrong_fix_resets += 1

    def _update_ambiguities(self, i, okL, yL, yP, slips):
        """Slips and outages (more than ``max_outage`` epochs unseen) re-initialise an
        ambiguity, new arcs start at ``(yL - yP) / lambda`` with a 30 cycle sigma; every
        active ambiguity random-walks slowly (RTKLIB prnbias). Returns the state indices
        of the active ambiguities."""
        flat_ok = okL.ravel()
        active = self.active
        stale = self.last_seen < i - self.max_outage  # (i - last_seen) > max_outage
        # (ndarray.nonzero and np.count_nonzero below: np.flatnonzero, .sum(), .any()
        # and .all() of these 1-D masks, without the Python wrappers around them)
        for k in (active & (slips | stale)).nonzero()[0].tolist():
            self._reset_ambiguity(k)
        np.add(self.lock, flat_ok & active, out=self.lock)  # +1 where tracked
        new_arcs = (flat_ok & ~active).nonzero()[0]
        if len(new_arcs):
            jx = self.nx_pos + new_arcs
            self.x[jx] = (yL.ravel()[new_arcs] - yP.ravel()[new_arcs]) / self.lam.ravel()[new_arcs]
            self.P[jx, :] = 0.0
            self.P[:, jx] = 0.0
            self.P[jx, jx] = 30.0**2
            active[new_arcs] = True
            self.lock_t0[new_arcs] = self._t_now
        self.last_seen[flat_ok] = i
        act = self.nx_pos + active.nonzero()[0]
        if self.P.flags.c_contiguous:  # P.reshape(-1) is then a view
            self.P.reshape(-1)[act * (self.nx + 1)] += 1e-8  # P[act, act]
        else:
            self.P[act, act] += 1e-8
        return act

    def _measurement_update(self, i, s, rows, act, yLP, yL, yP, e, var_sd, dd0):
        """Kalman update with the double differences over the position and the active
        ambiguities: innovations beyond 5 m (phase) / 30 m (code) are dropped (RTKLIB
        rejphase/rejcode), DGNSS relinearises once, and a post-fit phase residual that
        betrays a missed slip re-initialises that ambiguity and repeats the update (up to 3
        times). Returns ``(ix, xs, Ps, flat, v, H, R, x_prior, keep, n_keep, sd)`` or None
        (the epoch is then single point)."""
        lim = rows["lim"]
        for attempt in range(4):
            if attempt == 0 and act is not None:  # the active ambiguities, as above
                ix = np.concatenate([self._pos_idx, act])
            else:
                ix = np.concatenate([self._pos_idx, self.nx_pos + np.flatnonzero(self.active)])
            v, H, R = self._dd_system(rows, yLP, e, var_sd, ix, dd0)
            flat = self._flat_index(ix)
            xs, Ps = self.x.take(ix), self.P.take(flat).reshape(len(ix), len(ix))
            # outlier rejection (RTKLIB rejphase 5 m / rejcode 30 m on the innovations)
            keep = np.abs(v) <= lim
            n_keep = np.count_nonzero(keep)
            if n_keep < 4:
                self._single(s)
                return None
            if n_keep < len(keep):
                kk = np.flatnonzero(keep)
                v, H, R = v[kk], H[kk], R[kk][:, kk]
                sd = None
            else:
                sd = dd0[4] if dd0 is not None else None
            x_prior, P_prior = xs, Ps  # kalman.update returns new arrays
            try:
                xs, Ps, _ = kalman.update(xs, Ps, v, H, R)
                if self.mode == "dgnss":  # relinearise once at the updated position
                    e2, yP2 = self._code_residuals(i, xs[0:3])
                    yLP2 = np.concatenate((yL.ravel(), yP2.ravel()))
                    v2, H2, R2 = self._dd_system(rows, yLP2, e2, var_sd, ix)
                    v2 = v2 + H2 @ (xs - x_prior)  # innovations about the prior state
                    xs, Ps, _ = kalman.update(x_prior, P_prior, v2[keep], H2[keep],
                                              R2[np.ix_(keep, keep)])
            except np.linalg.LinAlgError:
                self._single(s)
                return None
            if self.mode == "dgnss":
                break
            if sd is None:
                sd = np.sqrt(R.diagonal())
            if not self._undetected_slip(rows, keep, v, H, sd, xs, x_prior, yL, yP,
                                         n_keep == len(keep)):
                break
        return ix, xs, Ps, flat, v, H, R, x_prior, keep, n_keep, sd

    def _flat_index(self, ix):
        """Flat indices of ``P[ix[:, None], ix]`` (row by row), for ``take``/``put``; the
        last few sub-states' are kept (consecutive epochs mostly have the same)."""
        key = ix.tobytes()
        flat = self._flat_cache.get(key)
        if flat is None:
            if len(self._flat_cache) > 8:
                self._flat_cache.clear()
            flat = self._flat_cache[key] = (ix[:, None] * self.nx + ix).ravel()
        return flat

    def _undetected_slip(self, rows, keep, v, H, sd, xs, x_prior, yL, yP, all_kept=False):
        """Post-fit phase residual test; resets the ambiguity of the worst offender.

        A slip the detectors missed leaves a converged ambiguity wrong by whole cycles: its
        double differences keep residuals far above their sigma however the position moves.
        The satellite of the worst row (or the reference satellite, when most rows of its
        group are bad) has that frequency's ambiguity re-initialised; returns True when the
        epoch must be processed again. ``sd``: the square roots of the diagonal of R (the
        rows kept); ``all_kept``: ``keep`` is all True."""
        ph = rows["phase"] if all_kept else rows["phase"][keep]
        res = v - H @ (xs - x_prior)
        z = np.where(ph, np.abs(res) / sd, 0.0)
        if not np.count_nonzero(z > self.slip_sigma):
            return False
        w = int(np.argmax(z))
        sat, ref, f = rows["sat"][keep][w], rows["ref"][keep][w], rows["f"][keep][w]
        group = ph & (rows["ref"][keep] == ref) & (rows["f"][keep] == f)
        target = ref if (z[group] > self.slip_sigma).sum() * 2 > group.sum() and group.sum() > 1 else sat
        k = int(target) * self.nf + int(f)
        self._reset_ambiguity(k)
        jx = self.nx_pos + k
        self.x[jx] = (yL[target, f] - yP[target, f]) / self.lam[target, f]
        self.P[jx, jx] = 30.0**2
        self.active[k] = True
        self.lock_t0[k] = self._t_now
        self.n_residual_resets += 1
        return True

    def _double_differences(self, okL, okP, el, key=None):
        """Rows of double differences: arrays of (sat i, ref, freq, phase?), grouped by
        system, frequency, phase then code; the reference of a group is its highest
        satellite. Also the flat (satellite, frequency) indices of both ends and what
        depends on the rows only. Consecutive epochs usually have the same rows: they are
        rebuilt only when the usable satellites or a reference change. ``key``: the key of
        these arguments when already known (precomputed for all epochs)."""
        if key is not None:
            if self._rows_cache is not None and self._rows_cache[0] == key:
                return dict(self._rows_cache[1])
        elif self._system_ranges is not None:
            ok2 = np.array((okL, okP))  # (2, n, nf)
            elm = np.where(ok2, el[:, None], -np.inf)
            refs = [elm[:, lo:hi].argmax(axis=1) for lo, hi in self._system_ranges]
            key = ok2.tobytes() + b"".join(r.tobytes() for r in refs)
            if self._rows_cache is not None and self._rows_cache[0] == key:
                return dict(self._rows_cache[1])
        # A dozen satellites: Python lists beat NumPy's per-call overhead here.
        nf = self.nf
        okl, okp, elv = okL.tolist(), okP.tolist(), el.tolist()
        si, sr, ff, pp = [], [], [], []
        for cols in self._system_col_lists:
            for f in range(nf):
                for is_phase, okm in ((True, okl), (False, okp)):
                    c = [k for k in cols if okm[k][f]]
                    if len(c) < 2:
                        continue
                    ref = max(c, key=elv.__getitem__)  # first of the highest, as argmax
                    for k in c:
                        if k != ref:
                            si.append(k)
                            sr.append(ref)
                            ff.append(f)
                            pp.append(is_phase)
        if len(si) < 3:
            return None
        sat, ref, f = np.array(si, np.int64), np.array(sr, np.int64), np.array(ff, np.int64)
        ph = np.array(pp, bool)
        fr = ref * nf + f
        group = fr * 2 + ph  # rows sharing a reference satellite, frequency and type
        fi = sat * nf + f
        code_off = np.where(ph, 0, len(okL) * nf)  # code residuals follow the phase ones
        rows = {"sat": sat, "ref": ref, "f": f, "phase": ph, "fi": fi, "fr": fr,
                "gi": fi + code_off, "gr": fr + code_off,
                "phase_idx": np.flatnonzero(ph), "lim": np.where(ph, 5.0, 30.0),
                "scale": np.where(ph, 1.0, 300.0**2), "diag": np.arange(len(si)),
                "same": group[:, None] == group[None, :], "H_by_ix": {}, "memo": {}}
        if key is not None:
            self._rows_cache = (key, rows)
        return dict(rows)

    def _dd_system(self, rows, yLP, e, var_sd, ix, pre=None):
        """Double-difference innovations (m), their Jacobian over the sub-state ``ix`` and
        covariance ``R = D diag(sigma_sd^2) D^T`` (m^2). ``yLP``: the phase residuals (m)
        then the code residuals, flat (``concatenate((yL.ravel(), yP.ravel()))``). ``pre``:
        this epoch's entry of :meth:`_precompute_dd` (then ``rows["R"]`` is its R)."""
        si, sr = rows["sat"], rows["ref"]
        fi, fr, p = rows["fi"], rows["fr"], rows["phase_idx"]
        if pre is None:
            y = yLP[rows["gi"]] - yLP[rows["gr"]]  # phase rows from yL, code rows from yP
        else:
            y = pre[1].copy()
        # the ambiguity columns of H depend on the rows and the sub-state only
        cache, ixb = rows["H_by_ix"], ix.tobytes()
        amb = cache.get(ixb)
        if amb is None:
            H0 = np.zeros((len(si), len(ix)))
            fip, frp = fi[p], fr[p]
            lamf = self.lam.ravel()
            lam_i, lam_r = lamf[fip], lamf[frp]
            if len(p):
                col = np.full(self.nx, -1)
                col[ix] = np.arange(len(ix))
                H0[p, col[self.nx_pos + fip]] = lam_i
                H0[p, col[self.nx_pos + frp]] = -lam_r
            ifb = None
            if self._ifb_idx is not None and len(p):
                # GLONASS IFB rate (m per channel): rate_f * (k_sat - k_ref) on phase rows
                kch = glonass_channel_numbers(self.letters, self.lam).ravel()
                dk = kch[fip] - kch[frp]
                if np.count_nonzero(dk):
                    rate_ix = self._ifb_idx[rows["f"][p]]
                    H0[p, col[rate_ix]] = dk
                    ifb = (rate_ix, dk)
            if len(cache) > 8:
                cache.clear()
            amb = cache[ixb] = (H0, self.nx_pos + fip, self.nx_pos + frp, lam_i, lam_r, ifb)
        H0, ki, kr, lam_i, lam_r, ifb = amb
        H = H0.copy()
        H[:, 0:3] = -(e[si] - e[sr]) if pre is None else pre[2]
        if len(p):
            y[p] -= lam_i * self.x[ki] - lam_r * self.x[kr]
            if ifb is not None:
                y[p] -= self.x[ifb[0]] * ifb[1]
        R = rows.get("R")
        if R is None:  # depends on the rows and variances only: once per epoch
            scale = rows["scale"]
            vsd = var_sd.ravel()
            vi = vsd[fi] * scale
            vr = vsd[fr] * scale
            # R = diag(var_i) + var_ref on the rows sharing a reference (same group); the base
            # age adds the same variance to every single difference. (The sums are those of
            # R = where(same, var_ref); R[d, d] += var_i; R += age * same; R[d, d] += age.)
            d = rows["diag"]
            age = self._age_var
            if age > 0.0:
                R = np.where(rows["same"], vr[:, None] + age, 0.0)
                R[d, d] = ((vr + vi) + age) + age
            else:
                R = np.where(rows["same"], vr[:, None], 0.0)
                R[d, d] = vr + vi
            rows["R"] = R
        return y, H, R

    # ------------------------------------------------------------------ ambiguity resolution
    def _fixable_dd(self, okL, el, ix, rows=None, lock_s=None):
        """DD ambiguity transform D (rows over the sub-state ix) for integer systems.

        Returns ``(D, pairs)`` with ``pairs[r] = (satellite column, reference column,
        frequency)`` of row ``r``. ``rows``: this epoch's double differences; when every
        satellite with phase is fixable (the usual case) its phase rows of the integer
        systems are exactly the pairs (same references, same order)."""
        nf, nx_pos = self.nf, self.nx_pos
        fixable = self.active & (self.lock >= self.min_lock)
        lock_s = self.min_lock_s if lock_s is None else lock_s
        if lock_s:
            locked = (self._t_now - self.lock_t0) >= lock_s * 1e9
            if self._last_fix:
                # integers validated by an accepted fix and not slipped since are held:
                # they need not wait the lock time again (the new fix must agree with them,
                # _consistent)
                nf = self.nf
                for k, ref, f, _wl in self._last_fix:
                    locked[k * nf + f] = locked[ref * nf + f] = True
            fixable &= locked
        if self._half is not None:
            fixable &= ~self._half  # a half-cycle ambiguity is not an integer yet
        okf = okL.ravel() & self._integer_flat
        fix_ok = fixable[okf]
        if rows is not None and np.count_nonzero(fix_ok) == len(fix_ok):  # all fixable
            pairs = rows["memo"].get("pairs")  # the same for every epoch of these rows
            if pairs is None:
                sel = rows["phase"] & self.integer_ok[rows["sat"]]
                pairs = rows["memo"]["pairs"] = list(zip(
                    rows["sat"][sel].tolist(), rows["ref"][sel].tolist(), rows["f"][sel].tolist()))
        else:
            okl, elv, fix = okL.tolist(), el.tolist(), fixable.tolist()
            pairs = []
            for cols in self._integer_col_lists:
                for f in range(nf):
                    c = [k for k in cols if okl[k][f] and fix[k * nf + f]]
                    if len(c) < 2:
                        continue
                    ref = max(c, key=elv.__getitem__)  # first of the highest, as argmax
                    pairs += [(k, ref, f) for k in c if k != ref]
        if not pairs:
            return None, []
        key = (tuple(pairs), ix.tobytes())
        if self._dd_cache is not None and self._dd_cache[0] == key:
            return self._dd_cache[1], pairs
        col = np.full(self.nx, -1)
        col[ix] = np.arange(len(ix))
        colx = col[nx_pos:].tolist()
        # D[r] = e_(sat, f) - e_(ref, f). Second-frequency rows become wide-lane
        # combinations (minus the first-frequency row of the same pair): an integer
        # unimodular change of basis that removes most of the L1/L2 correlation before
        # LAMBDA, so its decorrelation has far less to do.
        first = {(k, ref) for k, ref, f in pairs if f == 0}
        rr, cc, vv = [], [], []
        for r, (k, ref, f) in enumerate(pairs):
            rr += (r, r)
            cc += (colx[k * nf + f], colx[ref * nf + f])
            vv += (1.0, -1.0)
            if f > 0 and (k, ref) in first:
                rr += (r, r)
                cc += (colx[k * nf], colx[ref * nf])
                vv += (-1.0, 1.0)
        D = np.zeros((len(pairs), len(ix)))
        D[rr, cc] = vv
        D.setflags(write=False)  # shared with later epochs through the cache
        self._dd_cache = (key, D)
        return D, pairs

    def _resolve(self, i, ix, xs, Ps, okL, el, rows=None):
        """Integer resolution of epoch row ``i``: with ``glonass_ar="on"`` and a shorter
        lock time for cross-checked fixes (``min_lock_cross_s`` < ``min_lock_s``), first the
        ambiguities locked for ``min_lock_cross_s``, accepted only with GLONASS integers
        confirmed by the other systems' (:meth:`_glonass_consistent`); then, unless fixed,
        the ambiguities locked for ``min_lock_s`` (:meth:`_resolve_set`)."""
        cross = self.min_lock_cross_s
        if (self.glonass_ar in ("on", "autocal") and self.min_lock_s and cross is not None
                and cross < self.min_lock_s and self._has_glonass):
            self._cross_only = True
            try:
                self._resolve_set(i, ix, xs, Ps, okL, el, rows, lock_s=cross)
            finally:
                self._cross_only = False
            if self.out_q[i] == 1:
                return
        self._resolve_set(i, ix, xs, Ps, okL, el, rows)

    def _resolve_set(self, i, ix, xs, Ps, okL, el, rows=None, lock_s=None):
        D, pairs = self._fixable_dd(okL, el, ix, rows, lock_s)
        if D is None or len(pairs) < self.min_fix:
            return
        if self._ifb_idx is not None:
            is_r = np.array([self.letters[k] == "R" for k, _r, _f in pairs])
            if is_r.any():
                if self.nf == 1 and self._resolve_joint(i, ix, xs, Ps, D, pairs, is_r, el):
                    return
                if not self._cross_only:
                    self._resolve_staged(i, ix, xs, Ps, D, pairs, is_r)
                return
        a = D @ xs
        PDt = Ps @ D.T
        Qa = D @ PDt
        # Warm start of LAMBDA's decorrelation from the previous epoch's Z-transformation
        # when the same double differences are resolved (the integers do not depend on it).
        key = tuple(pairs)
        if self._z_warm is None or self._z_warm[0] != key or len(self._z_warm[1]) > 64:
            self._z_warm = (key, {})
        try:
            res = resolve_partial(a, Qa, ratio_threshold=self.ratio_threshold,
                                  min_count=self.min_fix, warm=self._z_warm[1],
                                  success_rate_min=self.success_rate_min)
        except SatnavError:
            return
        self.out_ratio[i] = res.ratio
        if not res.fixed:
            return
        self._glonass_refused = False
        self._try_fix(i, ix, xs, Ps, D, a, PDt, Qa, res.used, res.integers, pairs)
        if self._glonass_refused and not self._cross_only:
            # GLONASS integers not confirmed by the other systems' (an inter-frequency
            # bias?): the other systems' ambiguities searched alone
            g = np.flatnonzero([self.letters[k] != "R" for k, _r, _f in pairs])
            if len(g) < self.min_fix:
                return
            D1 = D[g]
            PD1 = Ps @ D1.T
            Q1 = D1 @ PD1
            a1 = D1 @ xs
            try:
                res = resolve_partial(a1, Q1, ratio_threshold=self.ratio_threshold,
                                      min_count=self.min_fix,
                                      success_rate_min=self.success_rate_min)
            except SatnavError:
                return
            self.out_ratio[i] = res.ratio
            if res.fixed:
                self._try_fix(i, ix, xs, Ps, D1, a1, PD1, Q1, res.used, res.integers,
                              [pairs[r] for r in g.tolist()])

    def _resolve_joint(self, i, ix, xs, Ps, D, pairs, is_r, el):
        """``glonass_ar="autocal"``, one frequency: the other systems' and the GLONASS
        integers searched together, the IFB rate float. The rate and the integers are not
        separable along one direction: every GLONASS single-difference ambiguity moved by
        its channel number ``k`` and the rate by one wavelength per channel leave the phases
        unchanged (to ``lam (df / f) k^2``, < 4 mm), so only the rate's prior
        (:data:`IFB_RATE_SIGMA_M`) tells those integer sets apart and no ratio test or success
        rate could pass on them. The search is therefore made in a unimodular basis
        ``z = U N`` whose first coordinate carries that direction (``U w = e_0``, ``w`` the
        channel differences ``k_j - k_r`` of the pairs over their gcd; a change of integer
        basis keeps integers integer, as LAMBDA's own Z-transformation): ``z[1:]`` by LAMBDA
        (ratio test, success rate), ``z[0]`` rounded given them (either choice gives the
        same position; the rate absorbs it). While the ratio test or the success rate fails,
        the pair of the lowest satellite is left out and the search made again (partial
        fixing; at least ``min_fix_ambiguities`` pairs of the other systems and 2 GLONASS
        ones stay). The integers ``N = U^-1 z`` then go through the same validation as every
        fix (:meth:`_try_fix`: the GLONASS test both ways, the cross-check when the lock
        time was not waited). Returns True when the epoch was fixed."""
        rr = np.flatnonzero(is_r)
        if len(rr) < self._min_glonass() or len(pairs) - len(rr) < self.min_fix:
            return False
        w_all = np.zeros(len(pairs), np.int64)
        w_all[rr] = np.round(self._channel_differences(pairs, rr)).astype(np.int64)
        a = D @ xs
        PDt = Ps @ D.T
        Qa = D @ PDt
        elv = el.tolist()
        order = sorted(range(len(pairs)), key=lambda r: elv[pairs[r][0]])  # lowest first
        keep = np.ones(len(pairs), bool)
        while True:
            sub = np.flatnonzero(keep)
            w = w_all[sub]
            g = math.gcd(*(abs(int(x)) for x in w))
            if g == 0:
                return False  # one channel only: no rate coupling (the staged search fixes it)
            U, Uinv = _unimodular_first(w // g)
            az = U @ a[sub]
            Qz = U @ Qa[np.ix_(sub, sub)] @ U.T
            Qz = 0.5 * (Qz + Qz.T)
            try:
                res = resolve_partial(az[1:], Qz[1:, 1:], ratio_threshold=self.ratio_threshold,
                                      min_count=len(az) - 1, max_drops=0,
                                      success_rate_min=self.success_rate_min)
            except SatnavError:
                return False
            self.out_ratio[i] = max(self.out_ratio[i], res.ratio)
            if res.fixed:
                break
            # partial fixing: leave out the lowest pair that the test still allows
            for r in order:
                if keep[r]:
                    n_r = np.count_nonzero(keep & is_r) - is_r[r]
                    n_g = np.count_nonzero(keep & ~is_r) - (not is_r[r])
                    if n_r >= self._min_glonass() and n_g >= self.min_fix:
                        keep[r] = False
                        break
            else:
                return False
        z = np.empty(len(az))
        z[1:] = res.integers
        try:
            z0 = az[0] - Qz[0, 1:] @ kalman.solve(Qz[1:, 1:], az[1:] - z[1:])
        except np.linalg.LinAlgError:
            return False
        z[0] = np.round(z0)
        ints = np.zeros(len(pairs))
        ints[sub] = np.round(Uinv @ z)
        self._glonass_refused = False
        self._try_fix(i, ix, xs, Ps, D, a, PDt, Qa, keep, ints, pairs)
        return self.out_q[i] == 1

    def _resolve_staged(self, i, ix, xs, Ps, D, pairs, is_r):
        """``glonass_ar="autocal"``: the other systems' integers first (LAMBDA, ratio test,
        success rate), then, conditioned on them (a precise baseline), the GLONASS integers
        together with the float IFB rate; the GLONASS ones are dropped when they do not
        pass (:meth:`_glonass_consistent`). With the baseline known to millimetres the GLONASS float ambiguities are
        ``N_j + rate (k_j - k_r) / lam`` to a few hundredths of a cycle, so the integers and
        the rate separate (RTKLIB demo5 fixes GLONASS in autocal mode only after GPS).
        GLONASS alone (no other system's integers) is not fixed: the rate is unknown."""
        g, rr = np.flatnonzero(~is_r), np.flatnonzero(is_r)
        if len(g) < self.min_fix:
            return
        D1 = D[g]
        a1 = D1 @ xs
        PD1 = Ps @ D1.T
        Q1 = D1 @ PD1
        key = tuple(pairs[r] for r in g.tolist())
        if self._z_warm is None or self._z_warm[0] != key or len(self._z_warm[1]) > 64:
            self._z_warm = (key, {})
        try:
            res1 = resolve_partial(a1, Q1, ratio_threshold=self.ratio_threshold,
                                   min_count=self.min_fix, warm=self._z_warm[1],
                                   success_rate_min=self.success_rate_min)
        except SatnavError:
            return
        self.out_ratio[i] = res1.ratio
        if not res1.fixed:
            return
        used = np.zeros(len(pairs), bool)
        ints = np.zeros(len(pairs))
        used[g], ints[g] = res1.used, res1.integers
        if len(rr) >= 3:
            u1 = np.flatnonzero(res1.used)
            try:
                rhs = np.column_stack((a1[u1] - res1.integers[u1], PD1[:, u1].T))
                sol = kalman.solve(Q1[u1][:, u1], rhs)
                xs1 = xs - PD1[:, u1] @ sol[:, 0]
                Ps1 = Ps - PD1[:, u1] @ sol[:, 1:]
                D2 = D[rr]
                a2 = D2 @ xs1
                Q2 = D2 @ Ps1 @ D2.T
                Q2 = 0.5 * (Q2 + Q2.T)
                res2 = resolve_partial(a2, Q2, ratio_threshold=self.ratio_threshold,
                                       min_count=3, success_rate_min=self.autocal_success_rate_min)
                if res2.fixed:
                    used[rr], ints[rr] = res2.used, res2.integers
            except (SatnavError, np.linalg.LinAlgError):
                pass
        a = D @ xs
        PDt = Ps @ D.T
        Qa = D @ PDt
        resets = self.n_wrong_fix_resets
        self._try_fix(i, ix, xs, Ps, D, a, PDt, Qa, used, ints, pairs)
        if self.out_q[i] != 1 and used[rr].any() and self.n_wrong_fix_resets == resets:
            used = used.copy()
            used[rr] = False  # the GLONASS integers spoilt the fix: the others alone
            self._try_fix(i, ix, xs, Ps, D, a, PDt, Qa, used, ints, pairs)

    def fix(self, integers, used=None):
        """Validate candidate integers for the DD ambiguities of the last epoch processed.

        Returns ``(accepted, position_m)``; for tests of the validation (wrong integers
        must be rejected)."""
        c = self._candidate
        used = np.ones(len(integers), bool) if used is None else np.asarray(used, bool)
        return self._apply_fix(c["ix"], c["xs"], c["Ps"], c["D"], c["a"], c["PDt"], c["Qa"],
                               used, np.asarray(integers), validate_only=True)

    def _try_fix(self, i, ix, xs, Ps, D, a, PDt, Qa, used, ints, pairs):
        # (ints and used are resolve_partial's own new arrays: nothing else writes to them)
        if self.glonass_ar != "off" and not self._glonass_consistent(xs, Ps, D, pairs, used, ints):
            self._glonass_refused = True  # (_resolve then tries the other systems alone)
            return
        if self._cross_only and not self._cross_checked(pairs, used, a, Qa, ints):
            return  # a fix of ambiguities locked for less than min_lock_s needs the check
        self._candidate = {"ix": ix, "xs": xs, "Ps": Ps, "D": D, "a": a, "PDt": PDt, "Qa": Qa,
                           "integers": ints, "used": used, "pairs": pairs}
        ok, xf, Pf = self._apply_fix(ix, xs, Ps, D, a, PDt, Qa, used, ints)
        if not ok:
            return
        p00, p11, p22 = Pf.diagonal().tolist()
        if math.sqrt(max(p00 + p11 + p22, 0.0)) > self.max_fixed_sigma:
            return  # integers accepted but the geometry is too weak for a centimetre fix
        if self.wrong_fix_p is not None and not self._consistent(pairs, used, ints):
            return
        self.out_pos[i] = xf[0:3]
        self.out_cov[i] = Pf[0:3, 0:3]
        self.out_q[i] = 1
        self.out_nfix[i] = np.count_nonzero(used)
        names = self._letter_list
        letters = {names[pairs[r][0]] for r in np.flatnonzero(used).tolist()}
        self.out_fixsys[i] = "".join(c for c in SYSTEMS if c in letters)
        if self.fix_and_hold:
            u = np.flatnonzero(used)
            Hh = D[u]
            vh = ints[u] - D[u] @ xs
            Rh = np.eye(len(u)) * 0.001
            xs2, Ps2, _ = kalman.update(xs, Ps, vh, Hh, Rh)
            self.x[ix], self.P[np.ix_(ix, ix)] = xs2, Ps2
            self._held = True

    def _cross_checked(self, pairs, used, a, Qa, ints):
        """The fix ``used`` holds GLONASS integers and enough of the other systems' for
        :meth:`_glonass_consistent` to have tested them against each other, and its float
        ambiguities ``a`` are close to the integers: ``(a - N)^T (Qa + s^2 I)^-1 (a - N)``
        below the :attr:`GLONASS_TEST_P` chi-square quantile, ``s`` the
        ``glonass_test_floor_cyc`` (an IFB on a mixed pair can pull a joint integer set of
        both systems, each consistent with the other, a cycle away from the floats)."""
        u = np.flatnonzero(used)
        n_r = sum(self.letters[pairs[r][0]] == "R" for r in u.tolist())
        if n_r < self._min_glonass() or len(u) - n_r < self.min_fix:
            return False
        d = a[u] - ints[u]
        Q = Qa[u][:, u].copy()
        Q[np.diag_indices_from(Q)] += (self.glonass_test_floor_cyc or 0.0) ** 2
        try:
            chi2 = float(d @ kalman.solve(Q, d))
        except np.linalg.LinAlgError:
            return False
        return chi2 <= _chi2_quantile(len(u), self.GLONASS_TEST_P)

    def _glonass_consistent(self, xs, Ps, D, pairs, used, ints):
        """Inter-frequency bias test of a fix that includes GLONASS integers: given the
        other systems' integers of the fix, the GLONASS float ambiguities (then known to a
        few hundredths of a cycle) must agree with their integers,
        ``(a_R - N_R)^T Q_R^-1 (a_R - N_R)`` below its chi-square quantile
        :attr:`GLONASS_TEST_P` (``Q_R`` plus ``glonass_test_floor_cyc`` squared on its
        diagonal), each sigma of ``Q_R`` below :attr:`GLONASS_TEST_SIGMA_CYC`. An unmodelled
        receiver IFB (``glonass_ar="on"`` on a mixed pair) leaves them ``rate (k_j - k_r) /
        lam`` cycles off the integers: with ``"on"`` the weighted least-squares rate fitted to
        ``a_R - N_R`` over the channel differences must also be insignificant (1 degree of
        freedom, same quantile), which finds rates of a few mm per channel that the
        multipath floor hides from the chi-square.
        The test needs at least ``min_fix_ambiguities`` integers of the other systems and 2
        GLONASS ones; the sigma limit is not applied with ``"autocal"`` (its IFB rate is
        free). A GLONASS-only fix passes only when no other system is processed."""
        if not self._any_glonass:
            return True  # (no GLONASS column: no GLONASS integer)
        u = np.flatnonzero(used)
        is_r = np.array([self.letters[pairs[r][0]] == "R" for r in u.tolist()], bool)
        if not is_r.any():
            return True
        if is_r.all():  # GLONASS alone: only when no other system is there to test with
            return all(self.letters[k] == "R" for k, _r, _f in pairs)
        g, rr = u[~is_r], u[is_r]
        if len(g) < self.min_fix or len(rr) < self._min_glonass():
            return False  # too few integers on either side for the test to have power
        D1, D2 = D[g], D[rr]
        try:
            xs1, Ps1 = _conditioned(xs, Ps, D1, ints[g])
            d2 = D2 @ xs1 - ints[rr]
            Q2 = D2 @ Ps1 @ D2.T
            if (self._ifb_idx is None
                    and Q2.diagonal().max() > self.GLONASS_TEST_SIGMA_CYC**2):
                return False  # the other systems' integers cannot tell: no test power
            Q2 = 0.5 * (Q2 + Q2.T)
            floor = self.glonass_test_floor_cyc
            if floor:
                Q2[np.diag_indices_from(Q2)] += floor * floor
            Wd = kalman.solve(Q2, np.column_stack((d2, self._channel_differences(pairs, rr))))
            chi2 = float(d2 @ Wd[:, 0])
            if self.glonass_test_floor_cyc:
                # and the other way round: the other systems' float ambiguities given the
                # GLONASS integers (an IFB absorbed by wrong integers of both sets shows here)
                xs2, Ps2 = _conditioned(xs, Ps, D2, ints[rr])
                d1 = D1 @ xs2 - ints[g]
                Q1 = D1 @ Ps2 @ D1.T
                Q1 = 0.5 * (Q1 + Q1.T)
                Q1[np.diag_indices_from(Q1)] += self.glonass_test_floor_cyc ** 2
                if float(d1 @ kalman.solve(Q1, d1)) > _chi2_quantile(len(g), self.GLONASS_TEST_P):
                    return False
            if self._ifb_idx is None:
                # an IFB leaves d2 proportional to the channel differences dk: the weighted
                # least-squares rate (cycles per channel number) must not be significant
                dk = self._channel_differences(pairs, rr)
                den = float(dk @ Wd[:, 1])
                if den > 0.0 and float(d2 @ Wd[:, 1]) ** 2 / den > _chi2_quantile(1, self.GLONASS_TEST_P):
                    return False
        except np.linalg.LinAlgError:
            return False
        return chi2 <= _chi2_quantile(len(rr), self.GLONASS_TEST_P)

    def _min_glonass(self):
        """Fewest GLONASS integers of a fix tested against the other systems': 2, and 3 with
        ``"autocal"``, whose free IFB rate takes one of them (with 2, one rate-free
        combination was left to test, and wrong fixes of 6 integers passed on an unseen
        simulated pair)."""
        return self.AUTOCAL_MIN_GLONASS if self._ifb_idx is not None else 2

    def _channel_differences(self, pairs, rows):
        """GLONASS channel number differences ``k_sat - k_ref`` of the pairs ``rows``."""
        kch = self._glonass_k_flat
        if kch is None:
            kch = self._glonass_k_flat = glonass_channel_numbers(self.letters, self.lam).ravel()
        nf = self.nf
        return np.array([kch[pairs[r][0] * nf + pairs[r][2]] - kch[pairs[r][1] * nf + pairs[r][2]]
                         for r in np.asarray(rows).tolist()], np.float64)

    def _consistent(self, pairs, used, ints):
        """The integers of this fix agree with those of the fixes accepted before on the
        same double differences (no slip or reset since). A disagreement means one of the
        fixes was wrong: the ambiguities involved are re-initialised and this fix refused.
        Else the fix's integers are remembered."""
        keys = self._pair_keys[1] if self._pair_keys[0] is pairs else None
        if keys is None:  # (the same pairs object epoch after epoch: rows["memo"])
            first = {(k, ref) for k, ref, f in pairs if f == 0}
            keys = [(k, ref, f, f > 0 and (k, ref) in first) for k, ref, f in pairs]
            self._pair_keys = (pairs, keys)
        values = ints.tolist()
        now = {keys[r]: int(round(float(values[r]))) for r in np.flatnonzero(used).tolist()}
        last = self._last_fix
        if last:
            bad = [key for key, n in now.items() if last.get(key, n) != n]
            if bad and self._ifb_idx is not None and self._rate_shift_only(bad, now, last):
                # autocal: the GLONASS integers moved along the IFB rate direction (the
                # same position, another rate): the new ones replace the old
                for key in [key for key in last if self.letters[key[0]] == "R"]:
                    del last[key]
                bad = []
            if bad:
                self._drop_fix(bad + [key for key in last if key not in now])
                return False
        last.update(now)
        return True

    def _rate_shift_only(self, bad, now, last):
        """The integers ``now`` differ from ``last`` on the keys ``bad`` only by ``m (k_j -
        k_r)``, one ``m`` for every GLONASS key of one frequency both hold (a move along the
        IFB rate direction, :meth:`_resolve_joint`)."""
        if any(self.letters[key[0]] != "R" for key in bad):
            return False
        kch = self._glonass_k_flat
        if kch is None:
            kch = self._glonass_k_flat = glonass_channel_numbers(self.letters, self.lam).ravel()
        nf = self.nf
        m = {}
        for key, n in now.items():
            if self.letters[key[0]] != "R" or key not in last:
                continue
            k, ref, f, _wl = key
            dk = kch[k * nf + f] - kch[ref * nf + f]
            d = n - last[key]
            if dk == 0:
                if d:
                    return False
                continue
            if abs(m.setdefault(f, d / dk) - d / dk) > 1e-9:
                return False
        return True

    def _apply_fix(self, ix, xs, Ps, D, a, PDt, Qa, used, ints, validate_only=False):
        """Fixed state ``x - P D^T Qa^-1 (a - N)`` and the covariance of its position
        (only the 3 x 3 position block is returned: nothing else of it is used)."""
        if np.count_nonzero(used) == len(used):  # all used
            Qu, PDu, du = Qa, PDt, a - ints
        else:
            u = np.flatnonzero(used)
            Qu, PDu, du = Qa[u][:, u], PDt[:, u], a[u] - ints[u]
        try:
            # one factorisation for both right-hand sides: a - N and (P D^T)[0:3]^T
            rhs = np.empty((len(du), 4))
            rhs[:, 0] = du
            rhs[:, 1:4] = PDu[0:3].T
            sol = kalman.solve(Qu, rhs)
        except np.linalg.LinAlgError:
            return (False, None) if validate_only else (False, None, None)
        xf = xs - PDu @ sol[:, 0]
        ep = self._epoch
        res = ep["v"] - ep["H"] @ (xf - ep["x_prior"])  # the DD residuals at the fixed state
        ok = (self._validate(xf, res)
              and self._validate_fix(xf, xs, Ps, float(du @ sol[:, 0]), len(du), res))
        if validate_only:
            return ok, xf[0:3]
        Pf = Ps[0:3, 0:3] - PDu[0:3] @ sol[:, 1:4]
        return ok, xf, Pf

    def _validate(self, xf, res=None):
        """Phase residuals of the fixed solution: each within ``validation_sigma`` sigma and
        their chi-square below its 99.9 % quantile. ``res``: the epoch's double-difference
        residuals at ``xf`` when known."""
        ep = self._epoch
        ph = ep["phase_idx"]
        if not len(ph):
            return False
        if res is None:
            res = ep["v"] - ep["H"] @ (xf - ep["x_prior"])
        rp = res[ph]
        Rp = ep["R"].take(ph, 0).take(ph, 1)
        sd = ep.get("sd")
        sdp = np.sqrt(np.diagonal(Rp)) if sd is None else sd.take(ph)
        if np.count_nonzero(np.abs(rp) > self.validation_sigma * sdp):
            return False
        chi2 = float(rp @ kalman.solve(Rp, rp))
        return chi2 <= _chi2_quantile(max(len(rp) - 3, 1), 0.999)


    def _validate_fix(self, xf, xs, Ps, chi2_fix, n_fixed, res=None):
        """The tests of a fix beyond the phase residuals (:data:`VALIDATION_DEFAULTS`):
        float-to-fixed residual increase ``chi2_fix = (a - N)^T Qa^-1 (a - N)`` with
        ``n_fixed`` degrees of freedom, the jump of the baseline from the float one against
        the float position covariance, and the code double differences at the fixed
        state (``res``: the epoch's double-difference residuals at ``xf`` when known)."""
        if self.fix_test_p is not None and chi2_fix > _chi2_quantile(n_fixed, self.fix_test_p):
            return False
        if self.jump_test_p is not None:
            d = xf[0:3] - xs[0:3]
            try:
                jump = float(d @ kalman.solve(Ps[0:3, 0:3], d))
            except np.linalg.LinAlgError:
                return False
            if jump > _chi2_quantile(3, self.jump_test_p):
                return False
        if self.code_test_p is not None:
            ep = self._epoch
            ci = ep.get("code_idx")
            if ci is None:
                code = np.ones(len(ep["v"]), bool)
                code[ep["phase_idx"]] = False
                ci = ep["code_idx"] = np.flatnonzero(code)
            if len(ci) > 3:
                if res is None:
                    res = ep["v"] - ep["H"] @ (xf - ep["x_prior"])
                rc = res[ci]
                Rc = ep["R"].take(ci, 0).take(ci, 1)
                if np.count_nonzero(np.abs(rc) > self.validation_sigma * np.sqrt(Rc.diagonal())):
                    return False
                try:
                    chi2 = float(rc @ kalman.solve(Rc, rc))
                except np.linalg.LinAlgError:
                    return False
                if chi2 > _chi2_quantile(len(rc) - 3, self.code_test_p):
                    return False
        return True


def _unimodular_first(w):
    """``(U, U^-1)``: an integer matrix of determinant +-1 with ``U @ w = e_0`` for a
    primitive integer vector ``w`` (gcd of its elements 1), by the column operations of
    Euclid's algorithm on ``w^T`` (``w^T V = e_0^T``, ``U = V^T``)."""
    n = len(w)
    v = [int(x) for x in w]
    V = np.eye(n, dtype=np.int64)
    while True:
        nz = [j for j in range(n) if v[j]]
        p = min(nz, key=lambda j: abs(v[j]))
        if len(nz) == 1:
            break
        for j in nz:
            if j != p:
                q = v[j] // v[p]
                v[j] -= q * v[p]
                V[:, j] -= q * V[:, p]
    if v[p] < 0:
        V[:, p] *= -1
    V[:, [0, p]] = V[:, [p, 0]]
    U = V.T.astype(np.float64)
    return U, np.round(np.linalg.inv(U))


@functools.lru_cache(maxsize=256)
def _chi2_quantile(dof, p):
    """Chi-square quantile (Wilson-Hilferty approximation, adequate for a threshold)."""
    z = {0.99: 2.326348, 0.999: 3.090232, 0.9999: 3.719016, 0.99999: 4.264891,
         0.999999: 4.753424}.get(p)
    if z is None:
        from statistics import NormalDist

        z = NormalDist().inv_cdf(p)
    k = float(dof)
    return k * (1.0 - 2.0 / (9.0 * k) + z * math.sqrt(2.0 / (9.0 * k))) ** 3


def _conditioned(x: np.ndarray, P: np.ndarray, D: np.ndarray, values: np.ndarray):
    """Float ambiguities ``x`` (cycles) and covariance ``P`` conditioned on the double
    differences ``D @ x`` taking ``values`` exactly (the integers of one set): the Kalman update
    with a zero-variance observation, as (x, P)."""
    PD = P @ D.T
    sol = kalman.solve(D @ PD, np.column_stack((D @ x - values, PD.T)))
    return x - PD @ sol[:, 0], P - PD @ sol[:, 1:]
