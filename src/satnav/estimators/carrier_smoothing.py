"""Carrier smoothing of code pseudoranges (Hatch filter).

The carrier phase measures the *change* of the range to millimetres while the code
measures the range itself with metre-level noise and multipath (phones: several metres).
The Hatch filter averages the code after carrying every past code value forward with the
phase change since then::

    P_s(k) = P(k) / n + (n - 1) / n * (P_s(k-1) + lambda * (L(k) - L(k-1))),  n = min(k, N)

(Hatch, R. "The synergism of GPS code and carrier measurements", 1982; RTCA DO-229 /
DO-253 use the same recursion with a 100 s time constant). Its noise falls as ``1/sqrt(n)``;
the price is the code-carrier divergence of the ionosphere (the phase advances where the code
is delayed), which biases the smoothed code by about ``2 dI/dt * T`` for a window ``T`` —
centimetres for 100 s in ordinary conditions.

The recursion restarts (``n = 1``, the raw code) for a satellite and signal whenever the
continuity of the phase is in doubt:

- no code or no phase at the previous or the current epoch, or a gap longer than
  ``max_gap_s``;
- a cycle slip seen by :func:`satnav.estimators.cycle_slips.detect_slips`: loss of lock
  (LLI bit 0, which readers also set at receiver clock discontinuities), a phase change that
  disagrees with the integrated Doppler, a jump of the geometry-free combination with
  another band's phase of the same satellite;
- a code value more than ``max_code_carrier_m`` away from the carried-forward smoothed value:
  an unflagged slip the Doppler could not see, or a receiver clock jump in the code.

Frequencies: every system and band of :func:`satnav.signals.carrier_frequency`; GLONASS FDMA
needs the channel number of each satellite (``glonass_channels`` or the observation header's
``GLONASS SLOT / FRQ #``); a satellite without one keeps its raw code.
"""

from __future__ import annotations

import numpy as np

from ..constants import FREQ_B1I, SPEED_OF_LIGHT
from ..errors import SatnavError
from ..observations import Observations
from ..satellites import MAX_SATELLITES, system_of
from ..signals import carrier_frequency
from ..signals import glonass_channels as _channels_of

__all__ = ["carrier_smooth", "common_code_carrier_rate", "HatchSmoother", "DEFAULT_WINDOW_S"]

DEFAULT_WINDOW_S = 100.0
#: Steps of code minus carrier (m) left out of the common drift: receiver clock jumps of the
#: code alone (1 ms = 300 km). Jumps of tens of metres are part of some receivers' drift.
_MAX_RATE_STEP_M = 1000.0


def _phase_code_for(code: str, codes: list[str]) -> str | None:
    """The phase code paired with code pseudorange ``code`` (``C1C`` -> ``L1C``; same band
    with another attribute when the exact one is absent, as RINEX 2 ``P1``/``L1``)."""
    exact = "L" + code[1:]
    if exact in codes:
        return exact
    same_band = sorted(c for c in codes if c[0] == "L" and c[1] == code[1])
    return same_band[0] if same_band else None


def _wavelengths(code: str, sats: np.ndarray, channels: dict) -> np.ndarray:
    """Carrier wavelength (m) of the band of ``code`` per satellite; NaN where unknown."""
    band = code[1]
    lam = np.full(len(sats), np.nan)
    for j, s in enumerate(sats.tolist()):
        system = system_of(s)
        try:
            if system == "R" and band in "12":
                k = channels.get(s)
                if k is None:
                    continue
                f = float(carrier_frequency("R", band, k))
            elif system == "C" and code[1:] in ("1I", "1Q"):
                f = FREQ_B1I  # RINEX 3.02 name of B1I
            else:
                f = float(carrier_frequency(system, band))
        except ValueError:
            continue
        lam[j] = SPEED_OF_LIGHT / f
    return lam


def _header_channels(obs) -> dict:
    """Satellite index -> GLONASS channel from the observation header."""
    return _channels_of(obs)


def carrier_smooth(
    obs: Observations,
    *,
    window_s: float = DEFAULT_WINDOW_S,
    signals: dict | None = None,
    glonass_channels: dict | None = None,
    max_gap_s: float | None = None,
    max_code_carrier_m: float = 30.0,
    compensate_clock_rate: bool = True,
    return_counts: bool = False,
):
    """Observations whose code pseudoranges are carrier-smoothed (Hatch filter).

    Parameters
    ----------
    obs : Observations
        Code (``C..``) and phase (``L..``, cycles) of the same band; Doppler (``D..``, Hz)
        and the phase of a second band serve slip detection where present. Other rows are
        returned unchanged.
    window_s : float
        Filter length ``N`` in seconds (``N = window_s / interval`` epochs, at least 1).
    signals : dict, optional
        System letter -> codes to smooth (``{"G": ["C1C"], "E": ["C1C", "C5Q"]}``); default
        every code pseudorange that has a phase in its band.
    glonass_channels : dict, optional
        Satellite index -> GLONASS frequency channel ``k``; default: the header's slots.
    max_gap_s : float, optional
        Longest gap (s) across which the filter continues; default 1.5 x the interval.
    max_code_carrier_m : float
        Restart when the code differs from the carried-forward smoothed value by more.
    compensate_clock_rate : bool
        Estimate the drift of code minus carrier common to all satellites
        (:func:`common_code_carrier_rate`) and carry the code forward with it (default).
    return_counts : bool
        Also return ``{code: (epochs x satellites) int array}`` of the number of epochs
        averaged (0 where not smoothed or no code), columns :attr:`Observations.satellite_indices`.

    Returns
    -------
    Observations (and the counts when asked)
        A copy with the smoothed code values; the phase, Doppler, LLI and C/N0 are kept.
    """
    if not window_s > 0:
        raise SatnavError(f"carrier smoothing window must be positive seconds, got {window_s!r}")
    interval = obs.interval_s() or 1.0
    n_max = max(1, int(round(window_s / interval)))
    gap_limit_ns = int(round((max_gap_s if max_gap_s is not None else 1.5 * interval) * 1e9))
    channels = _header_channels(obs)
    if glonass_channels:
        channels.update({int(s): int(k) for s, k in glonass_channels.items() if k == k})

    all_sats = obs.satellite_indices
    sys_of = system_of(all_sats)
    grid = _Dense(obs)
    t_epoch = obs.epochs.astype(np.int64)
    # one block of columns per (code, satellites of the systems that smooth it)
    blocks = []
    for code in obs.codes:
        if code[0] != "C":
            continue
        phase_code = _phase_code_for(code, obs.codes)
        if phase_code is None:
            continue
        if signals is None:
            use = np.ones(len(all_sats), bool)
        else:
            use = np.array([code in signals.get(sy, ()) for sy in sys_of.tolist()], dtype=bool)
        sats = all_sats[use]
        if not len(sats):
            continue
        lam = _wavelengths(code, sats, channels)
        keep = np.isfinite(lam)
        sats, lam = sats[keep], lam[keep]
        if not len(sats):
            continue
        blocks.append((code, phase_code, sats, lam))
    counts: dict = {}
    if not blocks:
        return (obs, counts) if return_counts else obs
    code_m = np.concatenate([grid.dense(b[0], b[2]) for b in blocks], axis=1)
    phase_cyc = np.concatenate([grid.dense(b[1], b[2]) for b in blocks], axis=1)
    lam = np.concatenate([b[3] for b in blocks])
    lost = _slips(obs, grid, blocks, phase_cyc, lam, channels, t_epoch)
    phase_m = phase_cyc * lam
    rate = None
    if compensate_clock_rate:
        rate = common_code_carrier_rate(code_m, phase_m, lost, t_epoch, gap_limit_ns, _MAX_RATE_STEP_M,
                                        max(2 * n_max, 20))
    smoothed, n = _hatch(code_m, phase_m, lost, t_epoch, n_max, gap_limit_ns, max_code_carrier_m, rate)

    value = obs.value.copy()
    epoch_of_row = obs.epoch_index()
    col = 0
    for code, _, sats, _ in blocks:
        width = len(sats)
        col_of = np.full(MAX_SATELLITES, -1, dtype=np.int64)
        col_of[sats] = np.arange(width)
        rows = grid.rows(code)
        c = col_of[obs.sat[rows]]
        rows, c = rows[c >= 0], c[c >= 0]
        value[rows] = smoothed[epoch_of_row[rows], col + c]
        if return_counts:
            full = np.zeros((len(t_epoch), len(all_sats)), dtype=np.int32)
            full[:, np.searchsorted(all_sats, sats)] = n[:, col:col + width]
            counts[code] = full
        col += width
    out = Observations(obs.time, obs.sat, obs.code, value, obs.lli, obs.ssi, obs.codes, obs.epochs,
                       epoch_flags=obs.epoch_flags, receiver_clock_offset_s=obs.receiver_clock_offset_s,
                       events=obs.events, header=obs.header, source=obs.source,
                       epoch_lines=obs.epoch_lines, sigma=obs.sigma)
    return (out, counts) if return_counts else out


def common_code_carrier_rate(code_m, phase_m, lost, t_ns, gap_limit_ns, max_step_m, span):
    """Drift rate (m/s) of code minus carrier common to every satellite, per epoch.

    Code and phase should share the receiver clock, so that code minus carrier changes only
    with the ionosphere, multipath and noise of each satellite. Some receivers break this:
    a u-blox log here drifts by -0.9 m/s on every satellite (1 km in 20 minutes).
    A Hatch filter then lags by ``rate * (n - 1) / 2`` for a satellite averaged over ``n``
    epochs: metres, different between satellites, which the receiver clock cannot absorb.

    The steps of code minus carrier of every continuing satellite and signal, summed over
    ``span`` epochs centred on the epoch and divided by the time they cover. A sum rather
    than a median per epoch: a receiver whose code falls behind its carrier by a slow ramp
    *and* by jumps that come at different epochs on different satellites (the u-blox log:
    -0.06 m/s plus -21 m every ~28 s, -0.9 m/s overall) has only the ramp in the median.
    The code noise cancels in the sum (it telescopes along each satellite's arc): the rate
    is good to about ``sigma sqrt(2) / (span dt sqrt(satellites))``.

    Parameters
    ----------
    code_m, phase_m, lost : ndarray (epochs, columns)
        Code (m), phase (m) and slip flags of every satellite and signal.
    t_ns : ndarray int64 (epochs,)
    gap_limit_ns : int
        Steps across longer gaps are not used.
    max_step_m : float
        Steps larger than this (slips, code clock jumps) are not used.
    span : int
        Averaging length (epochs).

    Returns
    -------
    ndarray (epochs,)
        Rate (m/s) for the step into each epoch (0 where it cannot be estimated).
    """
    m = len(t_ns)
    if m < 2:
        return np.zeros(m)
    cmc = code_m - phase_m
    d = cmc[1:] - cmc[:-1]
    d[lost[1:]] = np.nan
    dt = np.diff(t_ns) * 1e-9
    with np.errstate(invalid="ignore"):
        d[np.abs(d) > max_step_m] = np.nan
    d[np.diff(t_ns) > gap_limit_ns] = np.nan
    have = np.isfinite(d)
    step_sum = np.where(have, d, 0.0).sum(axis=1)
    time_sum = have.sum(axis=1) * dt
    half = max(1, int(span)) // 2
    csum = np.concatenate(([0.0], np.cumsum(step_sum)))
    tsum = np.concatenate(([0.0], np.cumsum(time_sum)))
    lo = np.clip(np.arange(m - 1) - half, 0, m - 1)
    hi = np.clip(np.arange(m - 1) + half + 1, 0, m - 1)
    total = csum[hi] - csum[lo]
    seconds = tsum[hi] - tsum[lo]
    rate = np.zeros(m)
    rate[1:] = np.where(seconds > 0, total / np.where(seconds > 0, seconds, 1.0), 0.0)
    return rate


class _Dense:
    """``obs.dense`` with NaN (or -1) arrays for absent codes."""

    def __init__(self, obs):
        self.obs = obs

    def rows(self, code):
        return self.obs.rows_of_code(code)

    def dense(self, code, sats, what="value"):
        if code in self.obs.codes:
            return self.obs.dense(code, sats, what)
        m = len(self.obs.epochs)
        return np.full((m, len(sats)), -1, dtype=np.int8) if what == "lli" else np.full((m, len(sats)), np.nan)


def _slips(obs, grid, blocks, phase_cyc, lam, channels, t_ns):
    """Slip flags (epochs x columns): LLI, Doppler and, with the phase of another band of
    the same satellite (the first one present), geometry-free."""
    from .cycle_slips import detect_slips

    m = len(t_ns)
    others, other_lams, dopplers, llis = [], [], [], []
    for _, phase_code, sats, _ in blocks:
        n = len(sats)
        other = np.full((m, n), np.nan)
        other_lam = np.full(n, np.nan)
        for code in obs.codes:
            if code[0] != "L" or code[1] == phase_code[1] or not len(grid.rows(code)):
                continue
            values = grid.dense(code, sats)
            take = np.isnan(other_lam) & np.isfinite(values).any(axis=0)
            if not take.any():
                continue
            lam2 = _wavelengths(code, sats, channels)
            take &= np.isfinite(lam2)
            other[:, take] = values[:, take]
            other_lam[take] = lam2[take]
        others.append(other)
        other_lams.append(other_lam)
        dopplers.append(grid.dense("D" + phase_code[1:], sats))
        llis.append(grid.dense(phase_code, sats, "lli"))
    other = np.concatenate(others, axis=1)
    other_lam = np.concatenate(other_lams)
    doppler = np.concatenate(dopplers, axis=1)
    lli = np.concatenate(llis, axis=1)
    freq = np.stack([SPEED_OF_LIGHT / lam, SPEED_OF_LIGHT / other_lam], axis=-1)
    with np.errstate(invalid="ignore"):
        slips = detect_slips(
            np.stack([phase_cyc, other], axis=-1), None,
            np.stack([lli, np.full(lli.shape, -1, dtype=np.int64)], axis=-1),
            np.stack([doppler, np.full(doppler.shape, np.nan)], axis=-1),
            frequency_hz=freq, time_ns=t_ns,
        )
    return slips[..., 0]


def _hatch(code_m, phase_m, lost, t_ns, n_max, gap_limit_ns, max_code_carrier_m, rate=None):
    """The recursion over epochs, vectorized over satellites. Returns (smoothed, counts)."""
    m, k = code_m.shape
    smoothed = np.full((m, k), np.nan)
    counts = np.zeros((m, k), dtype=np.int32)
    prev_s = np.full(k, np.nan)
    prev_phase = np.full(k, np.nan)
    prev_t = np.zeros(k, dtype=np.int64)
    n = np.zeros(k, dtype=np.int64)
    for e in range(m):
        c = code_m[e]
        ph = phase_m[e]
        ok = np.isfinite(c)
        both = ok & np.isfinite(ph)
        dt_ns = t_ns[e] - prev_t
        cont = both & np.isfinite(prev_s) & ~lost[e] & (dt_ns <= gap_limit_ns)
        pred = prev_s + (ph - prev_phase)
        if rate is not None:
            pred = pred + rate[e] * (dt_ns * 1e-9)
        with np.errstate(invalid="ignore"):
            cont &= np.abs(c - pred) <= max_code_carrier_m
        n = np.where(cont, np.minimum(n + 1, n_max), np.where(ok, 1, 0))
        s = np.where(cont, c / np.maximum(n, 1) + (n - 1) / np.maximum(n, 1) * pred, c)
        smoothed[e] = s
        counts[e] = n
        prev_s = np.where(both, s, np.nan)
        prev_phase = np.where(both, ph, np.nan)
        prev_t = np.where(both, t_ns[e], prev_t)
    return smoothed, counts


class HatchSmoother:
    """Causal, stateful Hatch filter: feed consecutive pieces of one receiver's observations
    (single epochs or time chunks) to :meth:`smooth`; the filter state of every satellite and
    signal is carried from one call to the next, so the result does not depend on how the
    observations are cut (one epoch at a time equals the whole file in one call).

    The same recursion as :func:`carrier_smooth`, with what a real-time filter can know:

    - slips: loss of lock (LLI bit 0), gaps longer than ``max_gap_s``, a phase change that
      disagrees with the integrated Doppler by more than ``doppler_threshold_cycles`` (after
      removing the epoch's median, a receiver clock jump), and the code-carrier jump test
      (``max_code_carrier_m``); no geometry-free test;
    - the common code-carrier drift (``compensate_clock_rate``) is the sum of the steps of the
      preceding ``span`` epochs (the batch function centres this window on the epoch).

    Parameters are those of :func:`carrier_smooth`; ``interval_s`` is the nominal epoch
    interval (s) that sets ``N = window_s / interval_s`` (default: that of the first
    observations given, else 1 s).
    """

    def __init__(self, *, window_s: float = DEFAULT_WINDOW_S, signals: dict | None = None,
                 glonass_channels: dict | None = None, interval_s: float | None = None,
                 max_gap_s: float | None = None, max_code_carrier_m: float = 30.0,
                 compensate_clock_rate: bool = True, doppler_threshold_cycles: float = 3.0) -> None:
        if not window_s > 0:
            raise SatnavError(f"carrier smoothing window must be positive seconds, got {window_s!r}")
        self.window_s = float(window_s)
        self.signals = signals
        self.channels = {int(s): int(k) for s, k in (glonass_channels or {}).items() if k == k}
        self.interval_s = interval_s
        self.max_gap_s = max_gap_s
        self.max_code_carrier_m = max_code_carrier_m
        self.compensate_clock_rate = compensate_clock_rate
        self.doppler_threshold_cycles = doppler_threshold_cycles
        self._ready = False
        self._slot: dict = {}  # (code, sat) -> state slot
        self._lam: dict = {}  # (code, sat) -> wavelength (m) or NaN
        self._state = {k: np.zeros(0) for k in ("s", "phase", "doppler", "t", "n", "cmc")}
        self._steps: list = []  # (sum of code-minus-carrier steps (m), seconds) per epoch

    def _setup(self, obs) -> None:
        interval = self.interval_s or obs.interval_s() or 1.0
        self.n_max = max(1, int(round(self.window_s / interval)))
        self.gap_limit_ns = int(round((self.max_gap_s if self.max_gap_s is not None else 1.5 * interval) * 1e9))
        self.span = max(2 * self.n_max, 20)
        channels = _header_channels(obs)
        channels.update(self.channels)
        self.channels = channels
        self._ready = True

    def add_channels(self, glonass_channels: dict) -> None:
        """GLONASS channels learnt later (satellite index -> k; e.g. from messages that
        arrived after the first epochs): satellites without a channel so far are smoothed
        from their next epoch on (not smoothed until then: no wavelength); known ones keep
        theirs."""
        new = {int(s): int(k) for s, k in glonass_channels.items() if k == k and int(s) not in self.channels}
        if not new:
            return
        self.channels.update(new)
        for (code, s), lam in list(self._lam.items()):
            if s in new and lam != lam:
                self._lam[(code, s)] = float(_wavelengths(code, np.array([s]), self.channels)[0])

    def _slots(self, code: str, sats: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """State slots and wavelengths (m) of ``code`` for satellites ``sats``."""
        new = [int(s) for s in sats.tolist() if (code, int(s)) not in self._slot]
        if new:
            lam = _wavelengths(code, np.asarray(new), self.channels)
            for s, v in zip(new, lam.tolist()):
                self._slot[(code, s)] = len(self._slot)
                self._lam[(code, s)] = v
            size = len(self._slot)
            for k, a in self._state.items():
                grown = np.full(size, np.nan) if k != "n" else np.zeros(size)
                grown[:len(a)] = a
                self._state[k] = grown
        slots = np.array([self._slot[(code, int(s))] for s in sats.tolist()], dtype=np.intp)
        lam = np.array([self._lam[(code, int(s))] for s in sats.tolist()])
        return slots, lam

    def smooth(self, obs: Observations) -> Observations:
        """``obs`` with its code pseudoranges smoothed (a copy; phase, Doppler, LLI kept)."""
        if not self._ready:
            self._setup(obs)
        all_sats = obs.satellite_indices
        sys_of = system_of(all_sats)
        grid = _Dense(obs)
        blocks = []
        for code in obs.codes:
            if code[0] != "C" or not len(grid.rows(code)):
                continue
            phase_code = _phase_code_for(code, obs.codes)
            if phase_code is None:
                continue
            if self.signals is None:
                sats = all_sats
            else:
                sats = all_sats[np.array([code in self.signals.get(sy, ()) for sy in sys_of.tolist()], dtype=bool)]
            if not len(sats):
                continue
            slots, lam = self._slots(code, sats)
            keep = np.isfinite(lam)
            if keep.any():
                blocks.append((code, phase_code, sats[keep], slots[keep], lam[keep]))
        if not blocks:
            return obs
        code_m = np.concatenate([grid.dense(b[0], b[2]) for b in blocks], axis=1)
        phase_cyc = np.concatenate([grid.dense(b[1], b[2]) for b in blocks], axis=1)
        doppler = np.concatenate([grid.dense("D" + b[1][1:], b[2]) for b in blocks], axis=1)
        lli = np.concatenate([grid.dense(b[1], b[2], "lli") for b in blocks], axis=1)
        slots = np.concatenate([b[3] for b in blocks])
        lam = np.concatenate([b[4] for b in blocks])
        smoothed = np.full(code_m.shape, np.nan)
        t_epoch = obs.epochs.astype(np.int64)
        for e in range(len(t_epoch)):
            smoothed[e] = self._step(int(t_epoch[e]), code_m[e], phase_cyc[e], doppler[e], lli[e], slots, lam)
        value = obs.value.copy()
        epoch_of_row = obs.epoch_index()
        col = 0
        for code, _, sats, _, _ in blocks:
            col_of = np.full(MAX_SATELLITES, -1, dtype=np.int64)
            col_of[sats] = np.arange(len(sats))
            rows = grid.rows(code)
            c = col_of[obs.sat[rows]]
            rows, c = rows[c >= 0], c[c >= 0]
            value[rows] = smoothed[epoch_of_row[rows], col + c]
            col += len(sats)
        return Observations(obs.time, obs.sat, obs.code, value, obs.lli, obs.ssi, obs.codes, obs.epochs,
                            epoch_flags=obs.epoch_flags, receiver_clock_offset_s=obs.receiver_clock_offset_s,
                            events=obs.events, header=obs.header, source=obs.source,
                            epoch_lines=obs.epoch_lines, sigma=obs.sigma)

    def _step(self, t: int, c, ph_cyc, dop, lli, slots, lam) -> np.ndarray:
        """One epoch of the recursion over the columns (state slots ``slots``)."""
        st = self._state
        prev_s, prev_ph, prev_d, prev_t = st["s"][slots], st["phase"][slots], st["doppler"][slots], st["t"][slots]
        n = st["n"][slots]
        ph = ph_cyc * lam
        ok = np.isfinite(c)
        both = ok & np.isfinite(ph)
        with np.errstate(invalid="ignore"):
            dt_ns = t - prev_t
            cont = both & np.isfinite(prev_s) & (dt_ns <= self.gap_limit_ns) & ~((lli > 0) & ((lli & 1) != 0))
            dt = dt_ns * 1e-9
            # Doppler: phase change against the integrated Doppler (cycles), epoch median removed
            mis = (ph_cyc - prev_ph / lam) + 0.5 * (dop + prev_d) * dt
            have = cont & np.isfinite(mis)
            if have.any():
                common = np.median(mis[have])
                cont &= ~(have & (np.abs(mis - common) > self.doppler_threshold_cycles))
            rate = 0.0
            if self.compensate_clock_rate:
                # common drift of code minus carrier over the preceding `span` epochs
                d = (c - ph) - st["cmc"][slots]
                use = cont & np.isfinite(d) & (np.abs(d) <= _MAX_RATE_STEP_M)
                self._steps.append((float(d[use].sum()), float(dt[use].sum())))
                del self._steps[:-self.span]
                seconds = sum(w[1] for w in self._steps)
                if seconds > 0:
                    rate = sum(w[0] for w in self._steps) / seconds
            pred = prev_s + (ph - prev_ph) + rate * dt
            cont &= np.abs(c - pred) <= self.max_code_carrier_m
        n = np.where(cont, np.minimum(n + 1, self.n_max), np.where(ok, 1, 0))
        s = np.where(cont, c / np.maximum(n, 1) + (n - 1) / np.maximum(n, 1) * pred, c)
        st["s"][slots] = np.where(both, s, np.nan)
        st["phase"][slots] = np.where(both, ph, np.nan)
        st["doppler"][slots] = np.where(both, dop, np.nan)
        st["t"][slots] = np.where(both, t, prev_t)
        st["n"][slots] = n
        st["cmc"][slots] = np.where(both, c - ph, np.nan)
        return s
