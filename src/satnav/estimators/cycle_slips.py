"""Cycle-slip detection on carrier phase, vectorized over epochs x satellites.

Every detector takes dense ``(epochs, satellites)`` arrays (NaN where no measurement) and
returns a boolean array of the same shape: True at the epoch where a slip (or a new arc
after a long gap) starts for that satellite.

* :func:`lli_slips` - the receiver's loss-of-lock indicator (RINEX LLI bit 0);
* :func:`geometry_free_slips` - jumps in the geometry-free combination
  ``GF = lambda1 L1 - lambda2 L2`` (m), compared with the robust trend of its recent
  epoch-to-epoch changes (the ionosphere drifts slowly; a slip jumps);
* :func:`melbourne_wubbena_slips` - jumps of the Melbourne-Wuebbena combination (wide-lane
  cycles) from its running mean within the arc (Melbourne 1985, Wuebbena 1985);
* :func:`doppler_phase_slips` - phase change against integrated Doppler, after removing
  the change common to all satellites (receiver clock jumps);
* :func:`detect_slips` - all of them for ``(epochs, satellites, frequencies)`` arrays.

Geometry-free and Melbourne-Wuebbena tests see a combination of two carriers and cannot
tell which one slipped: they mark both frequencies of that satellite (and only that
satellite). LLI and Doppler tests mark one frequency.

Blind spots: slips of (n1, n2) cycles with ``lambda1 n1 ~ lambda2 n2`` and ``n1 - n2``
below the Melbourne-Wuebbena threshold (e.g. (5, 4): 2.5 cm in GF, 1 wide-lane cycle)
escape both two-frequency tests; without Doppler they are left to the RTK filter's
post-fit residual test.
"""

from __future__ import annotations

import numpy as np

from ..constants import SPEED_OF_LIGHT

__all__ = [
    "lli_slips",
    "geometry_free",
    "melbourne_wubbena",
    "geometry_free_slips",
    "melbourne_wubbena_slips",
    "doppler_phase_slips",
    "detect_slips",
    "doppler_slip_thresholds",
    "SlipTracker",
    "half_cycle_flags",
    "HalfCycleTracker",
]


def lli_slips(lli) -> np.ndarray:
    """Loss of lock from RINEX LLI flags (bit 0 set); absent values (-1) are not slips."""
    lli = np.asarray(lli)
    return (lli > 0) & ((lli & 1) != 0)


def geometry_free(phase1_cyc, phase2_cyc, wavelength1_m, wavelength2_m) -> np.ndarray:
    """Geometry-free phase combination ``lambda1 L1 - lambda2 L2`` (m)."""
    return np.asarray(wavelength1_m) * phase1_cyc - np.asarray(wavelength2_m) * phase2_cyc


def melbourne_wubbena(phase1_cyc, phase2_cyc, code1_m, code2_m, f1_hz, f2_hz) -> np.ndarray:
    """Melbourne-Wuebbena combination in wide-lane cycles.

    ``MW = L1 - L2 - (f1 P1 + f2 P2) / ((f1 + f2) lambda_WL)``, ``lambda_WL = c / (f1 - f2)``;
    constant over an arc apart from code noise and multipath.
    """
    f1 = np.asarray(f1_hz, dtype=np.float64)
    f2 = np.asarray(f2_hz, dtype=np.float64)
    lam_wl = SPEED_OF_LIGHT / (f1 - f2)
    return phase1_cyc - phase2_cyc - (f1 * code1_m + f2 * code2_m) / ((f1 + f2) * lam_wl)


def _nanmedian_last(x: np.ndarray) -> np.ndarray:
    """``np.nanmedian(x, axis=-1)`` (NaN where a row has no value, without the warning):
    the same values, by one sort (NaNs sort last) and one gather of the two middle values
    of each row (their mean: the middle value itself when the count is odd, ``(v + v) / 2
    == v`` for any ``|v| < 8e307``), some 15 NumPy calls whatever the shape (the per-epoch
    slip trackers call it on a few hundred values, where the calls are the cost)."""
    x = np.asarray(x, dtype=np.float64)
    w = x.shape[-1]
    if w == 0 or x.size == 0:
        return np.full(x.shape[:-1], np.nan)
    flat = np.sort(x, axis=-1).reshape(-1)
    k = (x == x).sum(axis=-1).reshape(-1)  # values per row (NaN != NaN)
    start = np.arange(0, flat.size, w)
    lo = flat[start + (np.maximum(k - 1, 0) >> 1)]
    hi = flat[start + (k >> 1)]  # a row without values: its first (NaN)
    return ((lo + hi) / 2).reshape(x.shape[:-1])


def _previous_valid(valid: np.ndarray) -> np.ndarray:
    """Index of the previous epoch with a valid value, per column (-1 when none)."""
    m = valid.shape[0]
    idx = np.where(valid, np.arange(m)[:, None], -1)
    prev = np.maximum.accumulate(idx, axis=0)
    out = np.full_like(prev, -1)
    out[1:] = prev[:-1]
    return out


def _gap_starts(valid, time_ns, max_gap_s):
    """Valid epochs whose previous valid epoch is more than ``max_gap_s`` earlier."""
    prev = _previous_valid(valid)
    t = np.asarray(time_ns, dtype=np.int64)
    has_prev = prev >= 0
    dt = np.where(has_prev, (t[:, None] - t[np.maximum(prev, 0)]) / 1e9, np.inf)
    return valid & has_prev & (dt > max_gap_s), prev


def geometry_free_slips(phase1_cyc, phase2_cyc, wavelength1_m, wavelength2_m, time_ns,
                        threshold_m=0.05, window=5, max_gap_s=300.0) -> np.ndarray:
    """Slips from jumps in the geometry-free combination.

    The change of GF since the previous valid epoch is compared with the median of the
    (up to ``window``) preceding changes of the same satellite, scaled to the time step;
    a difference above ``threshold_m`` (m) is a slip. A value after a gap longer than
    ``max_gap_s`` starts a new arc and is marked too.

    Parameters
    ----------
    phase1_cyc, phase2_cyc : ndarray (m, n)
        Carrier phases (cycles) on two frequencies, NaN where absent.
    wavelength1_m, wavelength2_m : float or ndarray (n,)
    time_ns : ndarray int64 (m,)
    threshold_m : float
        RTKLIB's default ``slipthres`` is 0.05 m.

    Returns
    -------
    ndarray bool (m, n)
    """
    gf = geometry_free(phase1_cyc, phase2_cyc, wavelength1_m, wavelength2_m)
    valid = np.isfinite(gf)
    gap, prev = _gap_starts(valid, time_ns, max_gap_s)
    t = np.asarray(time_ns, dtype=np.int64)
    has_prev = valid & (prev >= 0) & ~gap
    p = np.maximum(prev, 0)
    cols = np.arange(gf.shape[1])[None, :]
    dt = (t[:, None] - t[p]) / 1e9
    rate = np.where(has_prev, (gf - gf[p, cols]) / np.where(dt > 0, dt, np.nan), np.nan)
    # trend: median of the preceding `window` rates (NaN-aware) of the same column
    m, n = gf.shape
    # the last `window` valid rates before each epoch, following previous-valid links
    hist = np.full((m, n, window), np.nan)
    link = _previous_valid(np.isfinite(rate))
    cur = link
    for k in range(window):
        ok = cur >= 0
        hist[..., k] = np.where(ok, rate[np.maximum(cur, 0), cols], np.nan)
        cur = np.where(ok, link[np.maximum(cur, 0), cols], -1)
    trend = _nanmedian_last(hist)
    trend = np.where(np.isfinite(trend), trend, 0.0)
    jump = np.abs(rate - trend) * dt
    slips = has_prev & (jump > threshold_m)
    return slips | gap


def melbourne_wubbena_slips(phase1_cyc, phase2_cyc, code1_m, code2_m, f1_hz, f2_hz, time_ns,
                            breaks=None, threshold_cycles=3.0, sigma_factor=5.0,
                            max_gap_s=300.0, max_iterations=20) -> np.ndarray:
    """Slips from jumps of the Melbourne-Wuebbena combination.

    Within each arc, the MW value (wide-lane cycles) is compared with the mean of the
    arc's earlier values; a departure above ``max(threshold_cycles, sigma_factor * std)``
    (std of the earlier values, once there are at least 3) is a slip that starts a new
    arc. ``breaks`` (bool (m, n)) are known arc starts (LLI, other detectors).
    Arcs are re-split and the test repeated until nothing new is found.
    """
    mw = melbourne_wubbena(phase1_cyc, phase2_cyc, code1_m, code2_m, f1_hz, f2_hz)
    valid = np.isfinite(mw)
    gap, _ = _gap_starts(valid, time_ns, max_gap_s)
    starts = gap.copy()
    if breaks is not None:
        starts |= np.asarray(breaks, bool) & valid
    found = np.zeros_like(valid)
    x = np.where(valid, mw, 0.0)
    m, n = mw.shape
    rows = np.arange(m)[:, None]
    for _ in range(max_iterations):
        # cumulative sums restart at each arc start (exclusive prefix sums per arc)
        cnt = np.cumsum(valid, axis=0)
        s1 = np.cumsum(x, axis=0)
        s2 = np.cumsum(x * x, axis=0)
        # values at the last start row of each arc (exclusive prefix)
        start_row = np.where(starts, rows, -1)
        start_row = np.maximum.accumulate(start_row, axis=0)
        base = start_row - 1
        cols = np.arange(n)[None, :]

        has_base = base >= 0
        b = np.maximum(base, 0)
        k = cnt - np.where(has_base, cnt[b, cols], 0) - valid  # earlier values in this arc
        sum1 = s1 - np.where(has_base, s1[b, cols], 0.0) - x
        sum2 = s2 - np.where(has_base, s2[b, cols], 0.0) - x * x
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = sum1 / k
            var = np.maximum(sum2 / k - mean**2, 0.0)
        limit = np.maximum(threshold_cycles, sigma_factor * np.sqrt(var))
        limit = np.where(k >= 3, limit, np.maximum(limit, 2.0 * threshold_cycles))
        flag = valid & (k >= 1) & ~starts & (np.abs(x - mean) > limit)
        if not flag.any():
            break
        # only the first flag of a column is certain (later ones compare with a mean
        # that spans the slip): make it an arc start and test again
        first = np.zeros_like(flag)
        has = flag.any(axis=0)
        first[np.argmax(flag, axis=0)[has], np.flatnonzero(has)] = True
        found |= first
        starts |= first
    return found | gap


def doppler_phase_slips(phase_cyc, doppler_hz, time_ns, threshold_cycles=3.0,
                        max_gap_s=300.0) -> np.ndarray:
    """Slips from phase changes that disagree with integrated Doppler.

    ``dL + (D(t) + D(t_prev)) / 2 * dt`` (cycles; RINEX phase decreases when Doppler is
    positive) should be zero; its median over the satellites of the epoch (a receiver
    clock jump moves every phase) is removed before the test.

    Parameters
    ----------
    phase_cyc, doppler_hz : ndarray (m, n)
    time_ns : ndarray int64 (m,)
    threshold_cycles : float
    """
    ok = np.isfinite(phase_cyc) & np.isfinite(doppler_hz)
    gap, prev = _gap_starts(ok, time_ns, max_gap_s)
    t = np.asarray(time_ns, dtype=np.int64)
    p = np.maximum(prev, 0)
    cols = np.arange(phase_cyc.shape[1])[None, :]
    has = ok & (prev >= 0) & ~gap
    dt = (t[:, None] - t[p]) / 1e9
    mis = np.where(has, phase_cyc - phase_cyc[p, cols] + 0.5 * (doppler_hz + doppler_hz[p, cols]) * dt,
                   np.nan)
    common = _nanmedian_last(mis)[:, None]
    common = np.where(np.isfinite(common), common, 0.0)
    return (has & (np.abs(mis - common) > threshold_cycles)) | gap


def detect_slips(phase_cyc, code_m=None, lli=None, doppler_hz=None, *, frequency_hz,
                 time_ns, gf_threshold_m=0.05, mw_threshold_cycles=3.0,
                 doppler_threshold_cycles=3.0, max_gap_s=300.0) -> np.ndarray:
    """All detectors on ``(epochs, satellites, frequencies)`` arrays.

    Parameters
    ----------
    phase_cyc : ndarray (m, n, k)
        Carrier phases (cycles); frequency 0 and 1 feed the two-frequency tests.
    code_m : ndarray (m, n, k), optional
        Pseudoranges (m) for Melbourne-Wuebbena.
    lli : ndarray int (m, n, k), optional
        RINEX LLI flags (-1 where absent).
    doppler_hz : ndarray (m, n, k), optional
    frequency_hz : ndarray (n, k)
        Carrier frequency of each satellite and frequency slot.
    time_ns : ndarray int64 (m,)

    Returns
    -------
    ndarray bool (m, n, k)
        True where the phase of that satellite/frequency starts a new arc.
    """
    phase_cyc = np.asarray(phase_cyc, dtype=np.float64)
    m, n, k = phase_cyc.shape
    freq = np.broadcast_to(np.asarray(frequency_hz, dtype=np.float64), (n, k))
    slips = np.zeros((m, n, k), bool)
    for f in range(k):
        valid = np.isfinite(phase_cyc[..., f])
        gap, _ = _gap_starts(valid, time_ns, max_gap_s)
        slips[..., f] |= gap
    if lli is not None:
        slips |= lli_slips(lli)
    if doppler_hz is not None:
        for f in range(k):
            d = np.asarray(doppler_hz, dtype=np.float64)[..., f]
            if np.isfinite(d).any():
                slips[..., f] |= doppler_phase_slips(phase_cyc[..., f], d, time_ns,
                                                     doppler_threshold_cycles, max_gap_s)
    if k >= 2:
        lam = SPEED_OF_LIGHT / freq
        gf = geometry_free_slips(phase_cyc[..., 0], phase_cyc[..., 1], lam[:, 0], lam[:, 1],
                                 time_ns, gf_threshold_m, max_gap_s=max_gap_s)
        both = gf.copy()
        if code_m is not None:
            c = np.asarray(code_m, dtype=np.float64)
            mw = melbourne_wubbena_slips(phase_cyc[..., 0], phase_cyc[..., 1], c[..., 0], c[..., 1],
                                         freq[:, 0], freq[:, 1], time_ns,
                                         breaks=slips[..., 0] | slips[..., 1] | gf,
                                         threshold_cycles=mw_threshold_cycles, max_gap_s=max_gap_s)
            both |= mw
        slips[..., 0] |= both
        slips[..., 1] |= both
    return slips


def doppler_slip_thresholds(misclosure_cyc, floor_cycles=3.0, n_sigma=8.0) -> np.ndarray:
    """Threshold (cycles) of the Doppler/phase slip test per satellite and frequency.

    ``misclosure_cyc`` (epochs - 1, n, k): ``dL + (D(t) + D(t_prev)) / 2 * dt`` between
    consecutive epochs (NaN where either is missing). The misclosure grows with the
    Doppler noise times the interval: 3 cycles are 7 sigma at 1 s for a Doppler noise of
    0.03 m/s, but not one sigma at 30 s. The threshold is ``n_sigma`` robust sigmas (1.4826
    x the median absolute deviation) of each satellite's misclosures, after removing the
    median over the satellites of the epoch (receiver clock), and at least
    ``floor_cycles``. Slips are rare, so they hardly move the median deviation. Fewer than
    two misclosures (three epochs): the floor."""
    import warnings

    mis = np.asarray(misclosure_cyc, dtype=np.float64)
    if len(mis) < 2:
        return np.full(mis.shape[1:], floor_cycles)
    with warnings.catch_warnings():  # all-NaN epochs and satellites
        warnings.simplefilter("ignore", RuntimeWarning)
        mis = mis - np.nanmedian(mis, axis=1, keepdims=True)
        mad = np.nanmedian(np.abs(mis - np.nanmedian(mis, axis=0)), axis=0)
    sigma = 1.4826 * np.where(np.isfinite(mad), mad, 0.0)
    return np.maximum(floor_cycles, n_sigma * sigma)


def _doppler_thresholds_of(centred, floor_cycles=3.0, n_sigma=8.0) -> np.ndarray:
    """:func:`doppler_slip_thresholds` of misclosures (epochs, columns) whose median over
    the satellites of each epoch is already removed (the same values)."""
    if len(centred) < 2:
        return np.full(centred.shape[1:], floor_cycles)
    x = centred.T  # (columns, epochs): the medians along the last axis
    mad = _nanmedian_last(np.abs(x - _nanmedian_last(x)[:, None]))
    sigma = 1.4826 * np.where(np.isfinite(mad), mad, 0.0)
    return np.maximum(floor_cycles, n_sigma * sigma)


def half_cycle_flags(lli):
    """Half-cycle ambiguity flags (RINEX LLI bit 1, value 2: u-blox and others set it while
    the phase may still be off by half a cycle) over epochs (axis 0): ``(half, cleared)``.

    ``half`` is the flag of each (epoch, ...) with a phase (absent values, -1, are not
    flagged); ``cleared`` marks the epochs where it went from set to clear (the last
    epoch with a phase before had it): the receiver has resolved the half cycle, possibly
    by a jump of half a cycle, so the ambiguity must restart (a slip)."""
    lli = np.asarray(lli)
    have = lli >= 0
    half = have & ((lli & 2) != 0)
    cleared = np.zeros(half.shape, bool)
    prev = np.zeros(half.shape[1:], bool)
    for k in range(len(half)):  # forward fill over epochs without a phase
        cleared[k] = prev & have[k] & ~half[k]
        prev = np.where(have[k], half[k], prev)
    return half, cleared


class HalfCycleTracker:
    """:func:`half_cycle_flags` one epoch at a time (same results as over the whole file)."""

    def __init__(self, shape):
        self.prev = np.zeros(shape, bool)
        self._none = True  # no flag held (prev all False): the common case, a short path

    def update(self, lli):
        """``(half, cleared)`` of this epoch's LLI flags (shape as given to the tracker)."""
        lli = np.asarray(lli)
        have = lli >= 0
        half = have & ((lli & 2) != 0)
        if self._none and not half.any():  # nothing held, nothing flagged: nothing changes
            return half, np.zeros(half.shape, bool)
        cleared = self.prev & have & ~half
        self.prev = np.where(have, half, self.prev)
        self._none = not self.prev.any()
        return half, cleared


class SlipTracker:
    """The detectors of :func:`detect_slips` (gaps, LLI, geometry-free,
    Melbourne-Wuebbena) and the Doppler/phase test, fed one epoch at a time.

    Each :meth:`update` takes one epoch's ``(n, k)`` arrays over fixed satellite columns
    and returns its slips; the state between calls is what the batch detectors read from
    earlier epochs: the previous valid phase, Doppler and geometry-free values and their
    times, the last ``window`` geometry-free rates, and the Melbourne-Wuebbena running
    sums (kept from the first epoch, as the batch's cumulative sums, so the same bits).
    The results equal :func:`detect_slips` on the same epochs (without Doppler), except
    that the batch re-splits Melbourne-Wuebbena arcs at most ``max_iterations`` (20) times
    per satellite and file. The Doppler test's thresholds
    (:func:`doppler_slip_thresholds`) come from the misclosures of the last
    ``doppler_history`` epochs up to this one, where the batch uses the whole file; with
    fewer than ``doppler_min_epochs`` of them the Doppler test is not made (a threshold
    from a handful of misclosures flags Doppler noise as slips at long intervals).
    """

    def __init__(self, frequency_hz, *, gf_threshold_m=0.05, mw_threshold_cycles=3.0,
                 max_gap_s=300.0, window=5, doppler_history=600,
                 doppler_min_epochs=10):
        self.freq = np.asarray(frequency_hz, dtype=np.float64)
        n, k = self.freq.shape
        self.gf_threshold_m = float(gf_threshold_m)
        self.mw_threshold = float(mw_threshold_cycles)
        self.max_gap_s = float(max_gap_s)
        self.doppler_history = int(doppler_history)
        self.doppler_min_epochs = int(doppler_min_epochs)
        none = np.iinfo(np.int64).min
        self._t_phase = np.full((n, k), none, np.int64)  # last valid phase, per frequency
        self._t_gf = np.full(n, none, np.int64)
        self._gf = np.full(n, np.nan)
        self._rates = np.full((n, window), np.nan)  # last valid GF rates, newest first
        self._t_mw = np.full(n, none, np.int64)
        self._cnt = np.zeros(n, np.int64)  # MW running sums since the first epoch
        self._s1 = np.zeros(n)
        self._s2 = np.zeros(n)
        self._b_cnt = np.zeros(n, np.int64)  # ... at the start of the current arc
        self._b_s1 = np.zeros(n)
        self._b_s2 = np.zeros(n)
        self._t_dop = np.full((n, k), none, np.int64)  # last phase with Doppler
        self._dop_prev = np.full((n, k, 2), np.nan)  # its phase and Doppler
        # time, phase and Doppler of the previous epoch with Doppler (time None before one)
        self._last_t: int | None = None
        self._last_phase = np.full((n, k), np.nan)
        self._last_dop = np.full((n, k), np.nan)
        # consecutive-epoch Doppler misclosures, each epoch's median removed: the last
        # ``doppler_history`` epochs in a ring (their order does not matter: the thresholds
        # are medians over them)
        self._mis = np.full((self.doppler_history, n, k), np.nan)
        self._n_mis = 0  # misclosure epochs seen (the ring holds the last doppler_history)
        self.doppler_floor_cycles = 3.0  # as doppler_slip_thresholds
        self._counters = np.zeros(2, np.int64)  # the kernel's: last Doppler time, n_mis
        self._absent = None  # the kernel's stand-ins for arrays not given

    def _gap(self, last_t, valid, t):
        """(gap start, has a previous value not across a gap, dt s) for ``valid`` values."""
        has = last_t != np.iinfo(np.int64).min
        dt = np.where(has, (t - np.where(has, last_t, t)) / 1e9, np.inf)
        gap = valid & has & (dt > self.max_gap_s)
        return gap, valid & has & ~gap, dt

    def update(self, time_ns, phase_cyc, code_m=None, lli=None, doppler_hz=None) -> np.ndarray:
        """Slips (n, k) of the epoch at ``time_ns`` (int ns): phase (cycles), code (m), LLI
        (-1 absent) and Doppler (Hz) over the satellite columns, NaN where absent."""
        t = int(time_ns)
        phase = np.asarray(phase_cyc, dtype=np.float64)
        if _KERNELS:
            return self._update_compiled(t, phase, code_m, lli, doppler_hz)
        n, k = phase.shape
        valid = np.isfinite(phase)
        slips, _has, _dt = self._gap(self._t_phase, valid, t)
        self._t_phase[valid] = t
        if lli is not None:
            slips |= lli_slips(lli)
        if k >= 2:
            both = self._geometry_free(t, phase)
            if code_m is not None:
                both |= self._melbourne_wubbena(t, phase, np.asarray(code_m, dtype=np.float64),
                                                slips[:, 0] | slips[:, 1] | both)
            slips[:, 0] |= both
            slips[:, 1] |= both
        if doppler_hz is not None:
            slips |= self._doppler(t, phase, np.asarray(doppler_hz, dtype=np.float64))
        return slips

    def _update_compiled(self, t, phase, code_m, lli, doppler_hz):
        """:meth:`update` by the compiled kernel (:func:`_slip_kernel`, the same steps and
        floating-point operations over the same state)."""
        n, k = phase.shape
        absent = self._absent
        if absent is None or absent[0].shape != (n, k):
            absent = self._absent = (np.zeros((n, k)), np.zeros((n, k), np.int8))
        code = absent[0] if code_m is None else np.ascontiguousarray(code_m, dtype=np.float64)
        flags = np.ascontiguousarray(lli, dtype=np.int8) if lli is not None else absent[1]
        dop = absent[0] if doppler_hz is None else np.ascontiguousarray(doppler_hz, dtype=np.float64)
        counters = self._counters
        counters[0] = _NO_TIME if self._last_t is None else self._last_t
        counters[1] = self._n_mis
        slips = np.zeros((n, k), bool)
        _KERNELS[0](
            t, np.ascontiguousarray(phase), code, flags, dop, code_m is not None, lli is not None,
            doppler_hz is not None, self.freq, SPEED_OF_LIGHT, self.gf_threshold_m, self.mw_threshold,
            self.max_gap_s, self.doppler_floor_cycles, self.doppler_min_epochs, self._t_phase, self._t_gf,
            self._gf, self._rates, self._t_mw, self._cnt, self._s1, self._s2, self._b_cnt, self._b_s1,
            self._b_s2, self._t_dop, self._dop_prev, self._last_phase, self._last_dop, self._mis, counters,
            slips)
        self._last_t = None if counters[0] == _NO_TIME else int(counters[0])
        self._n_mis = int(counters[1])
        return slips

    def _geometry_free(self, t, phase):
        lam = SPEED_OF_LIGHT / self.freq
        gf = geometry_free(phase[:, 0], phase[:, 1], lam[:, 0], lam[:, 1])
        valid = np.isfinite(gf)
        gap, has, dt = self._gap(self._t_gf, valid, t)
        with np.errstate(invalid="ignore"):
            rate = np.where(has, (gf - self._gf) / np.where(dt > 0, dt, np.nan), np.nan)
        trend = _nanmedian_last(self._rates)
        trend = np.where(np.isfinite(trend), trend, 0.0)
        jump = np.abs(rate - trend) * dt
        slips = (has & (jump > self.gf_threshold_m)) | gap
        fin = np.isfinite(rate)
        if fin.any():
            self._rates[fin, 1:] = self._rates[fin, :-1]
            self._rates[fin, 0] = rate[fin]
        self._gf[valid] = gf[valid]
        self._t_gf[valid] = t
        return slips

    def _melbourne_wubbena(self, t, phase, code, breaks):
        f1, f2 = self.freq[:, 0], self.freq[:, 1]
        mw = melbourne_wubbena(phase[:, 0], phase[:, 1], code[:, 0], code[:, 1], f1, f2)
        valid = np.isfinite(mw)
        gap, _has, _dt = self._gap(self._t_mw, valid, t)
        self._t_mw[valid] = t
        starts = gap | (breaks & valid)
        x = np.where(valid, mw, 0.0)
        # the sums before this epoch are the base of an arc starting here
        b = starts
        self._b_cnt[b], self._b_s1[b], self._b_s2[b] = self._cnt[b], self._s1[b], self._s2[b]
        pre = (self._cnt.copy(), self._s1.copy(), self._s2.copy())
        self._cnt += valid
        self._s1 += x
        self._s2 += x * x
        kk = self._cnt - self._b_cnt - valid
        sum1 = self._s1 - self._b_s1 - x
        sum2 = self._s2 - self._b_s2 - x * x
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = sum1 / kk
            var = np.maximum(sum2 / kk - mean**2, 0.0)
            limit = np.maximum(self.mw_threshold, 5.0 * np.sqrt(var))
            limit = np.where(kk >= 3, limit, np.maximum(limit, 2.0 * self.mw_threshold))
            flag = valid & (kk >= 1) & ~starts & (np.abs(x - mean) > limit)
        if flag.any():  # a slip starts a new arc here
            self._b_cnt[flag], self._b_s1[flag], self._b_s2[flag] = (p[flag] for p in pre)
        return flag | gap

    def _doppler(self, t, phase, dop):
        ok = np.isfinite(phase) & np.isfinite(dop)
        gap, has, dt = self._gap(self._t_dop, ok, t)
        with np.errstate(invalid="ignore"):
            mis = np.where(has, phase - self._dop_prev[..., 0]
                           + 0.5 * (dop + self._dop_prev[..., 1]) * dt, np.nan)
        if self._last_t is not None:  # consecutive epochs, for the thresholds
            t0, p0, d0 = self._last_t, self._last_phase, self._last_dop
            row = phase - p0 + 0.5 * (dop + d0) * ((t - t0) / 1e9)
            # the medians over the satellites of each epoch (receiver clock) of both, in
            # one call: that of ``row`` removed once, that of ``mis`` the common part below
            medians = _nanmedian_last(np.stack((row.T, mis.T)))
            self._mis[self._n_mis % self.doppler_history] = row - medians[0]
            self._n_mis += 1
            common = medians[1]
        else:
            common = _nanmedian_last(mis.T)
        self._last_t = t
        self._last_phase[...] = phase
        self._last_dop[...] = dop
        common = np.where(np.isfinite(common), common, 0.0)
        with np.errstate(invalid="ignore"):
            excess = has & (np.abs(mis - common) > self.doppler_floor_cycles)
        slips = gap.copy()
        if self._n_mis >= self.doppler_min_epochs and excess.any():
            # thresholds (never below the floor) only where the floor is exceeded: the
            # same slips as :func:`doppler_slip_thresholds` over all columns, at a fraction
            # of the cost of the medians over the whole history at every epoch
            i, f = np.nonzero(excess)
            history = self._mis if self._n_mis >= self.doppler_history else self._mis[:self._n_mis]
            thresholds = _doppler_thresholds_of(history[:, i, f], self.doppler_floor_cycles)
            slips[i, f] |= np.abs(mis[i, f] - common[f]) > thresholds
        self._dop_prev[ok, 0] = phase[ok]
        self._dop_prev[ok, 1] = dop[ok]
        self._t_dop[ok] = t
        return slips & np.isfinite(dop).any(axis=0)


# ---------------------------------------------------------------- optional numba kernel
_NO_TIME = np.iinfo(np.int64).min  # "no value yet" of the time arrays
_KERNELS = None  # None: not loaded; False: NumPy (numba missing or off); else (kernel,)


def _slip_kernel(t, phase, code, lli, dop, has_code, has_lli, has_dop, freq, c, gf_threshold,
                 mw_threshold, max_gap_s, floor, min_epochs, t_phase, t_gf, gf_prev, rates, t_mw,
                 cnt, s1, s2, b_cnt, b_s1, b_s2, t_dop, dop_prev, last_phase, last_dop, ring,
                 counters, slips):
    """:meth:`SlipTracker.update` as loops (numba): the same tests, state and floating-point
    operations in the same order (no transcendental functions: the same bits), writing the
    slips into ``slips`` (n, k) and the state in place; ``counters``: the time of the last
    epoch with Doppler (``_NO_TIME`` before one) and the misclosure epochs seen. Medians
    are those of :func:`_nanmedian_last`: the NaNs left out, the mean of the two middle
    values of the sorted rest."""
    n, k = phase.shape
    none = -9223372036854775807 - 1
    # ---- gaps of each phase, LLI
    for i in range(n):
        for f in range(k):
            v = phase[i, f]
            if v == v and not (v == np.inf or v == -np.inf):
                last = t_phase[i, f]
                if last != none and (t - last) / 1e9 > max_gap_s:
                    slips[i, f] = True
                t_phase[i, f] = t
            if has_lli and lli[i, f] > 0 and (lli[i, f] & 1) != 0:
                slips[i, f] = True
    if k >= 2:
        # ---- geometry-free: the jump from the trend (median of the last rates)
        w = rates.shape[1]
        buf = np.empty(max(w, n, ring.shape[0]))
        both = np.zeros(n, np.bool_)
        for i in range(n):
            lam1 = c / freq[i, 0]
            lam2 = c / freq[i, 1]
            gf = lam1 * phase[i, 0] - lam2 * phase[i, 1]
            if not (gf == gf and gf != np.inf and gf != -np.inf):
                continue
            last = t_gf[i]
            if last != none:
                dt = (t - last) / 1e9
                if dt > max_gap_s:
                    both[i] = True
                elif dt > 0:
                    rate = (gf - gf_prev[i]) / dt
                    trend = _finite_median(rates[i], buf)
                    if not (trend == trend and trend != np.inf and trend != -np.inf):
                        trend = 0.0
                    if abs(rate - trend) * dt > gf_threshold:
                        both[i] = True
                    if rate == rate and rate != np.inf and rate != -np.inf:
                        for j in range(w - 1, 0, -1):
                            rates[i, j] = rates[i, j - 1]
                        rates[i, 0] = rate
            gf_prev[i] = gf
            t_gf[i] = t
        # ---- Melbourne-Wuebbena: departures from the running mean of the arc
        if has_code:
            for i in range(n):
                f1, f2 = freq[i, 0], freq[i, 1]
                lam_wl = c / (f1 - f2)
                mw = phase[i, 0] - phase[i, 1] - (f1 * code[i, 0] + f2 * code[i, 1]) / ((f1 + f2) * lam_wl)
                valid = mw == mw and mw != np.inf and mw != -np.inf
                gap = False
                if valid:
                    last = t_mw[i]
                    gap = last != none and (t - last) / 1e9 > max_gap_s
                    t_mw[i] = t
                start = gap or (valid and (slips[i, 0] or slips[i, 1] or both[i]))
                x = mw if valid else 0.0
                if start:
                    b_cnt[i], b_s1[i], b_s2[i] = cnt[i], s1[i], s2[i]
                p_cnt, p_s1, p_s2 = cnt[i], s1[i], s2[i]
                cnt[i] += 1 if valid else 0
                s1[i] += x
                s2[i] += x * x
                kk = cnt[i] - b_cnt[i] - (1 if valid else 0)
                flag = False
                if valid and kk >= 1 and not start:
                    mean = (s1[i] - b_s1[i] - x) / kk
                    var = (s2[i] - b_s2[i] - x * x) / kk - mean * mean
                    if var < 0.0:
                        var = 0.0
                    limit = 5.0 * np.sqrt(var)
                    if limit < mw_threshold:
                        limit = mw_threshold
                    if kk < 3 and limit < 2.0 * mw_threshold:
                        limit = 2.0 * mw_threshold
                    flag = abs(x - mean) > limit
                if flag:
                    b_cnt[i], b_s1[i], b_s2[i] = p_cnt, p_s1, p_s2
                if flag or gap:
                    both[i] = True
        for i in range(n):
            if both[i]:
                slips[i, 0] = True
                slips[i, 1] = True
    if not has_dop:
        return
    # ---- Doppler: phase change against integrated Doppler, the epoch's median removed
    buf = np.empty(max(n, ring.shape[0]))
    dev = np.empty(ring.shape[0])
    mis = np.full((n, k), np.nan)
    has = np.zeros((n, k), np.bool_)
    gaps = np.zeros((n, k), np.bool_)
    for i in range(n):
        for f in range(k):
            p, d = phase[i, f], dop[i, f]
            if p == p and p != np.inf and p != -np.inf and d == d and d != np.inf and d != -np.inf:
                last = t_dop[i, f]
                if last != none:
                    dt = (t - last) / 1e9
                    if dt > max_gap_s:
                        gaps[i, f] = True
                    else:
                        has[i, f] = True
                        mis[i, f] = phase[i, f] - dop_prev[i, f, 0] + 0.5 * (dop[i, f] + dop_prev[i, f, 1]) * dt
    history = ring.shape[0]
    common = np.zeros(k)
    t0 = counters[0]
    for f in range(k):
        if t0 != none:
            dts = (t - t0) / 1e9
            slot = counters[1] % history
            for i in range(n):  # this epoch's misclosures, then their median removed
                ring[slot, i, f] = phase[i, f] - last_phase[i, f] + 0.5 * (dop[i, f] + last_dop[i, f]) * dts
            med = _finite_median(ring[slot, :, f], buf)
            for i in range(n):
                ring[slot, i, f] = ring[slot, i, f] - med
        med = _finite_median(mis[:, f], buf)
        common[f] = med if (med == med and med != np.inf and med != -np.inf) else 0.0
    if t0 != none:
        counters[1] += 1
    counters[0] = t
    n_mis = counters[1]
    count = n_mis if n_mis < history else history
    any_dop = np.zeros(k, np.bool_)
    for i in range(n):
        for f in range(k):
            d = dop[i, f]
            if d == d and d != np.inf and d != -np.inf:
                any_dop[f] = True
    for i in range(n):
        for f in range(k):
            slip = gaps[i, f]
            if has[i, f] and n_mis >= min_epochs and abs(mis[i, f] - common[f]) > floor:
                threshold = floor
                if count >= 2:  # 8 robust sigmas of this column's misclosures (at least the floor)
                    med = _finite_median(ring[:count, i, f], buf)
                    for j in range(count):  # (NaN for the absent ones: left out)
                        dev[j] = abs(ring[j, i, f] - med)
                    mad = _finite_median(dev[:count], buf)
                    sigma = 1.4826 * (mad if (mad == mad and mad != np.inf and mad != -np.inf) else 0.0)
                    threshold = max(floor, 8.0 * sigma)
                slip = slip or abs(mis[i, f] - common[f]) > threshold
            if slip and any_dop[f]:
                slips[i, f] = True
            p, d = phase[i, f], dop[i, f]
            if p == p and p != np.inf and p != -np.inf and d == d and d != np.inf and d != -np.inf:
                dop_prev[i, f, 0] = p
                dop_prev[i, f, 1] = d
                t_dop[i, f] = t
            last_phase[i, f] = p
            last_dop[i, f] = d


def _finite_median(values, buf):
    """Median of the values of the 1-D array ``values`` that are not NaN (NaN when none):
    :func:`_nanmedian_last`'s (the mean of the two middle values of the sorted rest), by
    loops for :func:`_slip_kernel` (compiled with it); ``buf`` a scratch array at least
    as long as ``values`` (not ``values`` itself)."""
    m = 0
    for j in range(len(values)):
        x = values[j]
        if x == x:
            buf[m] = x
            m += 1
    if m == 0:
        return np.nan
    srt = np.sort(buf[:m])
    return (srt[(m - 1) >> 1] + srt[m >> 1]) / 2


def _load_kernels():
    from .._jit import compile_kernels

    def warm_up(kernels):  # compile (or load from the cache) now, on a small tracker
        tracker = SlipTracker(np.array([[1.57542e9, 1.2276e9], [1.57542e9, 1.2276e9]]), doppler_history=12,
                              doppler_min_epochs=2)
        global _KERNELS
        saved, _KERNELS = _KERNELS, kernels
        try:
            for e in range(4):
                ph = np.array([[1e7 + e, 8e6 + e], [2e7 - e, np.nan]])
                tracker.update(e * 10**9, ph, ph * 0.19, np.zeros((2, 2), np.int8), np.ones((2, 2)))
        finally:
            _KERNELS = saved

    # the helper first: the kernel is compiled calling the compiled helper
    kernels = compile_kernels((_finite_median, _slip_kernel), warm_up, helpers=1)
    return kernels


def use_compiled_slip_tracker(enabled: bool | None = True) -> bool:
    """Run :meth:`SlipTracker.update` compiled by numba (``True``: load the kernel now; a
    live engine does this before its first epoch) or with NumPy (``False``; ``None``: back to
    NumPy until asked again); returns whether the kernel is in use. The two give the same
    slips (tests/estimators/test_cycle_slips.py); the kernel takes a few microseconds where
    NumPy's calls take a few hundred on one epoch's arrays."""
    global _KERNELS
    if enabled:
        if not _KERNELS:
            _KERNELS = _load_kernels()
    else:
        _KERNELS = None if enabled is None else False
    return bool(_KERNELS)
