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
  fixes. **GLONASS ambiguities stay float** (no inter-frequency bias calibration): they
  still help the float solution. Optional fix-and-hold.

DGNSS (``mode="dgnss"``) uses the double-differenced code only, one epoch at a time.
Rover epochs without a base epoch (within ``max_age_s``) fall back to the single point
solution (quality 5).
"""

from __future__ import annotations

import functools
import math
import warnings
from dataclasses import dataclass, field

import numpy as np

from ..constants import SPEED_OF_LIGHT, carrier_frequency
from ..errors import SatnavError, SatnavWarning
from ..frames import ecef_to_enu, ecef_to_geodetic
from ..gnss_time import format_gpst
from ..models import measurement
from ..satellites import SYSTEMS, satellite_ids
from . import kalman
from .cycle_slips import detect_slips, doppler_phase_slips
from .lambda_ils import resolve_partial

__all__ = ["solve_rtk", "RtkSolution", "RtkFilter", "QUALITY", "FREQUENCY_BANDS"]

#: Quality flag -> meaning (RTKLIB's Q values).
QUALITY = {0: "no solution", 1: "fixed", 2: "float", 4: "DGNSS", 5: "single (no base epoch)"}

#: RINEX band digits of each frequency name, per system, in order of preference (the first
#: band both receivers track is used). L2 is E5b for Galileo; L1 is B1I for BeiDou and L2
#: B2I/B2b, as in RTKLIB's frequency numbering, else B3I: BeiDou-3 satellites do not
#: transmit B2I, and B1I + B3I is their usual dual-frequency pair.
FREQUENCY_BANDS = {
    "G": {"L1": "1", "L2": "2", "L5": "5"},
    "R": {"L1": "1", "L2": "2"},
    "E": {"L1": "1", "L2": "7", "L5": "5"},
    "C": {"L1": "2", "L2": "76", "L5": "5"},
    "J": {"L1": "1", "L2": "2", "L5": "5"},
}
_ATTRIBUTE_PREFERENCE = "CWPSLXQIDBYMZAN"
#: Growth (m/s) of each single difference's sigma with the base age (RTKLIB's
#: ``stats-clkstab`` 5e-12 s/s times c; rtkpos.c ``varerr``).
BASE_AGE_SIGMA_M_PER_S = 5e-12 * SPEED_OF_LIGHT
#: Systems whose ambiguities are resolved to integers.
_INTEGER_SYSTEMS = "GECJ"


@dataclass
class RtkSolution:
    """Per-epoch RTK/DGNSS solution of the rover (one row per rover epoch).

    Attributes
    ----------
    time_ns : ndarray int64 (m,)
        Rover epochs (GPST ns).
    position_m : ndarray (m, 3)
        Best rover position, ECEF (m): fixed where ``quality == 1``, else float, DGNSS or
        single point; NaN where none.
    float_position_m : ndarray (m, 3)
        Float (or DGNSS) filter position (NaN where the filter did not run).
    quality : ndarray int8 (m,)
        :data:`QUALITY` code: 1 fixed, 2 float, 4 DGNSS, 5 single point, 0 none.
    ratio : ndarray (m,)
        Ratio-test value of the last integer search (0 when none ran).
    n_fixed : ndarray int16 (m,)
        Double-difference ambiguities fixed.
    n_satellites : ndarray int16 (m,)
        Satellites with double differences (rover and base).
    covariance_m2 : ndarray (m, 3, 3)
        ECEF covariance of ``position_m`` (m^2).
    age_s : ndarray (m,)
        Rover minus base epoch time (s); NaN without a base epoch.
    base_position_m : ndarray (3,)
    base_position_source : str
        ``"argument"``, ``"base header"`` or ``"base SPP average"``.
    mode : str
    notes : list of str
        What the solver did that a user should know (e.g. GLONASS float only).
    options : dict
    """

    time_ns: np.ndarray
    position_m: np.ndarray
    float_position_m: np.ndarray
    quality: np.ndarray
    ratio: np.ndarray
    n_fixed: np.ndarray
    n_satellites: np.ndarray
    covariance_m2: np.ndarray
    age_s: np.ndarray
    base_position_m: np.ndarray
    base_position_source: str
    mode: str
    notes: list = field(default_factory=list)
    options: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.time_ns)

    def __repr__(self) -> str:
        return (f"<RtkSolution {self.mode} {len(self)} epochs, fixed {int(self.fixed.sum())}, "
                f"fix rate {100 * self.fix_rate:.1f} %, base from {self.base_position_source}>")

    @property
    def solved(self) -> np.ndarray:
        """Epochs with a position."""
        return self.quality > 0

    @property
    def n_used(self) -> np.ndarray:
        """Satellites used per epoch (alias of :attr:`n_satellites`, as in SPP solutions)."""
        return self.n_satellites

    @property
    def reasons(self) -> np.ndarray:
        """Text of each epoch's quality (``"fixed"``, ``"float"``, ..., ``"no solution"``)."""
        names = {0: "no solution", 1: "fixed", 2: "float", 4: "DGNSS", 5: "single point (no base epoch)"}
        return np.array([names.get(int(q), f"quality {int(q)}") for q in self.quality], dtype=object)

    @property
    def fixed(self) -> np.ndarray:
        """Epochs with fixed ambiguities."""
        return self.quality == 1

    @property
    def fix_rate(self) -> float:
        """Fraction of all rover epochs that are fixed."""
        return float(self.fixed.mean()) if len(self) else 0.0

    @property
    def status(self) -> np.ndarray:
        """Alias of :attr:`quality`."""
        return self.quality

    @property
    def baseline_m(self) -> np.ndarray:
        """Rover minus base, ECEF (m, (m, 3))."""
        return self.position_m - self.base_position_m

    def geodetic(self):
        """Latitude, longitude (rad), ellipsoidal height (m) of :attr:`position_m`."""
        return ecef_to_geodetic(self.position_m)

    def enu(self, reference_m) -> np.ndarray:
        """East/north/up (m) of the positions relative to an ECEF reference point."""
        return ecef_to_enu(self.position_m, np.asarray(reference_m, dtype=np.float64))

    def errors(self, reference_m, mask=None) -> dict:
        """Horizontal/vertical RMS and maxima (m) against a reference, over the fixed epochs
        (or ``mask``)."""
        sel = self.fixed if mask is None else np.asarray(mask, bool) & self.solved
        enu = self.enu(reference_m)[sel]
        if not len(enu):
            nan = float("nan")
            return {"n": 0, "h_rms": nan, "v_rms": nan, "h_max": nan, "v_max": nan, "max_3d": nan}
        h = np.hypot(enu[:, 0], enu[:, 1])
        v = np.abs(enu[:, 2])
        return {"n": int(len(h)), "h_rms": float(np.sqrt(np.mean(h**2))),
                "v_rms": float(np.sqrt(np.mean(v**2))), "h_max": float(h.max()),
                "v_max": float(v.max()), "max_3d": float(np.linalg.norm(enu, axis=1).max())}

    def summary(self, truth_m=None) -> str:
        """Lines for a report: fix rate, base position source, notes, errors vs truth."""
        lines = [f"mode {self.mode}: {len(self)} epochs, fixed {int(self.fixed.sum())} "
                 f"({100 * self.fix_rate:.1f} %), float {int((self.quality == 2).sum())}, "
                 f"DGNSS {int((self.quality == 4).sum())}, single {int((self.quality == 5).sum())}",
                 f"base position from {self.base_position_source}: "
                 + " ".join(f"{v:.4f}" for v in self.base_position_m)]
        lines += self.notes
        if truth_m is not None:
            e = self.errors(truth_m)
            lines.append(f"fixed-solution error: H RMS {e['h_rms']:.4f} m, V RMS {e['v_rms']:.4f} m, "
                         f"max 3-D {e['max_3d']:.4f} m over {e['n']} epochs")
        return "\n".join(lines)

    def to_pandas(self):
        """One row per epoch: time, x/y/z, lat/lon/height, quality, ratio, n_fixed, ..."""
        import pandas as pd

        from ..gnss_time import ns_to_datetime64

        lat, lon, h = self.geodetic()
        return pd.DataFrame({
            "time": ns_to_datetime64(self.time_ns),
            "x_m": self.position_m[:, 0], "y_m": self.position_m[:, 1], "z_m": self.position_m[:, 2],
            "lat_deg": np.degrees(lat), "lon_deg": np.degrees(lon), "height_m": h,
            "quality": self.quality, "n_satellites": self.n_satellites,
            "ratio": self.ratio, "n_fixed": self.n_fixed, "age_s": self.age_s,
        })


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
    """Observation codes present per system letter (sets): what
    :meth:`Observations.codes_by_system` lists, by one ``bincount`` over the rows."""
    if not len(obs.sat):
        return {}
    nc = len(obs.codes)
    key = (np.asarray(obs.sat, np.int64) // 100) * nc + np.asarray(obs.code, np.int64)
    out: dict[str, set] = {}
    for k in np.flatnonzero(np.bincount(key)).tolist():
        sysn, c = divmod(k, nc)
        out.setdefault(SYSTEMS[sysn], set()).add(obs.codes[c])
    return out


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
    try:
        from .spp import _glonass_channels

        return _glonass_channels(rover, nav, sats)
    except Exception:  # pragma: no cover - fall back to the header only
        k = np.full(len(sats), np.nan)
        slots = rover.header.glonass_slots or {}
        for i, sid in enumerate(satellite_ids(sats)):
            k[i] = slots.get(sid, np.nan)
        return k


def _dense(obs, chosen, sats, nf):
    m, n = len(obs.epochs), len(sats)
    phase = np.full((m, n, nf), np.nan)
    code = np.full((m, n, nf), np.nan)
    lli = np.full((m, n, nf), -1, np.int8)
    dop = np.full((m, n, nf), np.nan)
    sysn = sats // 100
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


def _geometry(sat_pos, receiver):
    """Range (m), unit line of sight receiver->satellite, elevation (rad), troposphere (m)
    (:func:`satnav.models.measurement.geometry`: Earth rotation during the flight)."""
    geo = measurement.geometry(receiver, sat_pos)
    el = geo.elevation_rad
    trop = measurement.tropospheric_delay_m(geo.latitude_rad, geo.height_m, el)
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
    """Threshold (cycles) of the Doppler/phase slip test per satellite and frequency (n, k).

    The misclosure ``dL + (D(t) + D(t_prev)) / 2 * dt`` grows with the Doppler noise times
    the interval: 3 cycles are 7 sigma at 1 s for a Doppler noise of 0.03 m/s, but not
    one sigma at 30 s. The threshold is ``n_sigma`` robust sigmas (1.4826 x the median
    absolute deviation) of each satellite's misclosures between consecutive epochs, after
    removing the median over the satellites of the epoch (receiver clock), and at least
    ``floor_cycles``. Slips are rare, so they hardly move the median deviation."""
    t = np.asarray(time_ns, dtype=np.int64)
    if len(t) < 3:
        return np.full(phase_cyc.shape[1:], floor_cycles)
    dt = (np.diff(t) / 1e9)[:, None, None]
    mis = np.diff(phase_cyc, axis=0) + 0.5 * (doppler_hz[1:] + doppler_hz[:-1]) * dt
    with warnings.catch_warnings():  # all-NaN epochs and satellites
        warnings.simplefilter("ignore", RuntimeWarning)
        mis = mis - np.nanmedian(mis, axis=1, keepdims=True)
        mad = np.nanmedian(np.abs(mis - np.nanmedian(mis, axis=0)), axis=0)
    sigma = 1.4826 * np.where(np.isfinite(mad), mad, 0.0)
    return np.maximum(floor_cycles, n_sigma * sigma)


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


def _variance(el, a=0.003, b=0.003):
    s = np.sin(np.maximum(el, np.radians(1.0)))
    return a * a + (b * b) / (s * s)


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


# ====================================================================== the filter
class RtkFilter:
    """Per-epoch RTK/DGNSS filter over prepared rover/base data (see :func:`solve_rtk`).

    Use :meth:`run` for all epochs, or :meth:`step` epoch by epoch (tests use this to
    inspect and to offer candidate integers to :meth:`fix`).
    """

    #: Least bootstrapped success rate (Teunissen 1998) of the ambiguities fixed, on top
    #: of the ratio test (see :func:`satnav.estimators.lambda_ils.resolve_partial`). With
    #: ambiguities reset every few epochs, single-frequency G-only/E-only fixes of 4
    #: ambiguities passed the ratio test (3.2-5.8) with wrong integers (0.2-1.4 m) at success
    #: rates < 0.3; 0.3 refused all 75 of them in simulations, keeping every acceptance
    #: figure (0.99 refused them too but lowered single-frequency fix rates to 83-88 %).
    success_rate_min = 0.3

    def __init__(self, rover, base, nav, *, mode="kinematic", base_position=None,
                 frequencies=("L1", "L2"), elevation_mask_deg=15.0, ratio_threshold=3.0,
                 fix_and_hold=False, systems="GREJC", max_age_s=30.0, dynamics=False,
                 min_fix_ambiguities=4, max_outage_epochs=5, validation_sigma=4.0,
                 slip_threshold_m=0.05, max_fixed_sigma_m=0.05, min_lock_epochs=1, states=None,
                 spp=None, age_sigma_m_per_s=BASE_AGE_SIGMA_M_PER_S):
        if mode not in ("kinematic", "static", "dgnss"):
            raise SatnavError(f"unknown RTK mode {mode!r}: expected kinematic, static or dgnss "
                              "(--mode; mode= in Python)")
        self.mode = mode
        self.ratio_threshold = float(ratio_threshold)
        self.fix_and_hold = bool(fix_and_hold)
        self.mask = math.radians(elevation_mask_deg)
        self.min_fix = int(min_fix_ambiguities)
        self.max_outage = int(max_outage_epochs)
        self.validation_sigma = float(validation_sigma)
        self.max_fixed_sigma = float(max_fixed_sigma_m)
        self.min_lock = int(min_lock_epochs)
        self.age_sigma = float(age_sigma_m_per_s)
        self._age_var = 0.0  # variance (m^2) of each single difference from the base age
        self.slip_sigma = 6.0  # post-fit phase residual (sigmas) that betrays a missed slip
        self.n_residual_resets = 0
        self.dynamics = bool(dynamics) and mode == "kinematic"
        self.notes = []
        systems = "".join(s for s in systems.upper() if s in FREQUENCY_BANDS)
        frequencies = tuple(frequencies) if mode != "dgnss" else tuple(frequencies)[:1]
        self.nf = len(frequencies)

        # ---------------- base position
        if base_position is not None and not isinstance(base_position, str):
            self.base_pos = np.asarray(base_position, dtype=np.float64).reshape(3)
            self.base_source = "argument"
        elif base_position == "spp":
            self.base_pos, self.base_source = None, "base SPP average"
        elif base.header.approx_position_m is not None and np.linalg.norm(base.header.approx_position_m) > 6.0e6:
            self.base_pos = np.asarray(base.header.approx_position_m, dtype=np.float64)
            self.base_source = "base header"
        else:
            raise SatnavError(f"missing base position: {_name(base, 'the base file')} has no APPROX "
                              "POSITION XYZ; use --base-pos X,Y,Z (ECEF m) or --base-spp "
                              "(base_position=[x, y, z] or base_position='spp' in Python)")

        # ---------------- signals and satellites
        chosen = _choose_signals(rover, base, systems, frequencies)
        if not chosen:
            raise SatnavError(
                f"{_name(rover, 'rover')} and {_name(base, 'base')} have no phase and code "
                f"signals in common for systems {systems} on {'+'.join(frequencies)} (rover has "
                f"{_signal_text(rover)}; base has {_signal_text(base)}); choose systems both "
                "receivers track with --systems (systems= in Python)")
        self.signals = {s: [p for p in per] for s, per in chosen.items()}
        sats = np.intersect1d(rover.satellite_indices, base.satellite_indices)
        sats = sats[np.isin(sats // 100, [SYSTEMS.index(s) for s in chosen])]
        if not len(sats):
            raise SatnavError(
                f"{_name(rover, 'rover')} and {_name(base, 'base')} have no satellite in common "
                f"for systems {''.join(chosen)} (rover: {_sat_text(rover, chosen)}; base: "
                f"{_sat_text(base, chosen)}): relative positioning needs satellites seen by both")
        self.sats = sats.astype(np.int64)
        n = len(sats)
        letters = np.array([SYSTEMS[i] for i in self.sats // 100])
        self.letters = letters
        if "R" in chosen and mode != "dgnss":
            self.notes.append("GLONASS ambiguities are estimated as float only (no "
                              "inter-frequency bias calibration); they are not fixed")
        k_glo = _glonass_k(rover, nav, self.sats)
        freq = np.full((n, self.nf), np.nan)
        for f in range(self.nf):
            for s in chosen:
                cols = letters == s
                if chosen[s][f] is None:
                    continue
                band = chosen[s][f][0][1]  # of the phase code chosen, e.g. "L6I"
                freq[cols, f] = carrier_frequency(s, band, k_glo[cols] if s == "R" else None)
        self.freq = freq
        self.lam = SPEED_OF_LIGHT / freq
        self.integer_ok = np.isin(letters, list(_INTEGER_SYSTEMS))

        # ---------------- dense data and satellite states
        if states is None:
            from ..orbits.ephemeris import broadcast_states

            def states(sat, t):  # positions and clocks are all the filter uses
                return broadcast_states(nav, sat, t, velocity=False)

            def clocks(sat, t):  # the first pass of _satellite_states: clocks only
                return broadcast_states(nav, sat, t, velocity=False, positions=False)

            states.clocks = clocks

        self.rover, self.base = self._receivers((rover, base), chosen, states)
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

        # ---------------- single point solutions (kinematic reset, fallback)
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

        # ---------------- base zero-difference residuals (all epochs at once)
        b = self.base
        rng, e, el, trop = _geometry(b.sat_pos, self.base_pos)
        model = rng + trop - SPEED_OF_LIGHT * b.sat_clock_s
        self.base_el = el
        self.base_yL = self.lam[None] * b.phase_cyc - model[..., None]
        self.base_yP = b.code_m - model[..., None]
        self.base_ok = b.sat_valid & np.isfinite(el)

        # ---------------- slips on each receiver, mapped to rover epochs
        for r in (self.rover, self.base):
            r.slips = _receiver_slips(r, freq, slip_threshold_m)
        # a base slip between two used base epochs is seen at the first rover epoch using it
        bslip = np.zeros_like(self.rover.slips)
        bi = self.base_index
        cum = np.cumsum(self.base.slips, axis=0)
        prev_b = -1
        last_used = np.full(len(bi), -1)
        for i, j in enumerate(bi):  # tiny loop over indices only
            last_used[i] = prev_b
            if j >= 0:
                prev_b = j
        has = (bi >= 0) & (last_used >= 0)
        idx = np.flatnonzero(has)
        bslip[idx] = (cum[bi[idx]] - cum[last_used[idx]]) > 0
        first = (bi >= 0) & (last_used < 0)
        bslip[first] = self.base.slips[bi[first]]
        self.slips = self.rover.slips | bslip

        # ---------------- rover zero-difference residuals, all epochs at once where the
        # linearisation point is known before the filter runs: in kinematic (no dynamics)
        # and DGNSS mode every epoch starts from the rover's single point solution.
        self._pre = None
        if self.mode != "static" and not self.dynamics:
            self._pre = self._rover_residuals(np.arange(len(self.rover.time_ns)), self.spp_pos)
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

        # ---------------- state layout
        self.nx_pos = 6 if self.dynamics else 3
        self.nx = self.nx_pos + n * self.nf
        self.x = np.zeros(self.nx)
        self.P = np.zeros((self.nx, self.nx))
        self.active = np.zeros(n * self.nf, bool)
        self.last_seen = np.full(n * self.nf, -10**9)
        self.lock = np.zeros(n * self.nf, np.int64)  # epochs tracked since (re)initialisation
        self.initialised = False
        self.t_prev = None
        self.fixed_ints = None
        self._z_warm = None  # (DD pairs, {subset: Z-transformation}) of the last search
        self._pos_idx = np.arange(self.nx_pos)
        self._dd_cache = None  # (DD pairs and sub-state, D) of the last integer resolution
        self._integer_flat = np.repeat(self.integer_ok, self.nf)

        m = len(self.rover.time_ns)
        # per-epoch values as Python objects (no NumPy scalar arithmetic in the loop)
        self._rover_t = self.rover.time_ns.tolist()
        self._base_t = self.base.time_ns.tolist()
        self._base_index_list = self.base_index.tolist()
        self._spp_ok_list = self._spp_ok.tolist()
        self._var_blocks = {}  # variance -> 3 x 3 diagonal block (_reset_position)
        self._flat_cache = {}  # sub-state -> flat indices into P (_flat_index)
        # the phase and code residuals of the precomputed epochs side by side, flat: a
        # double difference of either is one gather from it (see _dd_system)
        self._pre_yLP = None
        if self._pre is not None:
            _e, _el, yl, yp = self._pre[:4]
            self._pre_yLP = np.concatenate((yl.reshape(m, -1), yp.reshape(m, -1)), axis=1)
        self._pre_dd = self._precompute_dd() if self._pre_keys is not None else None
        self.out_pos = np.full((m, 3), np.nan)
        self.out_float = np.full((m, 3), np.nan)
        self.out_q = np.zeros(m, np.int8)
        self.out_ratio = np.zeros(m)
        self.out_nfix = np.zeros(m, np.int16)
        self.out_ns = np.zeros(m, np.int16)
        self.out_cov = np.full((m, 3, 3), np.nan)

    # ------------------------------------------------------------------ preparation
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

    def _rover_residuals(self, i, pos):
        """Rover-minus-base single-difference residuals at rover epochs ``i`` (array or
        scalar) linearised at rover positions ``pos`` ((..., 3), ECEF m).

        Returns ``(e, el, yL, yP, okP, okL, var_sd)``: line of sight, elevation (rad), phase
        and code residuals (m), the usable code and phase (satellite, frequency) and the
        single-difference variances."""
        r = self.rover
        j = np.maximum(self.base_index[i], 0)
        pos = np.asarray(pos)[..., None, :]
        rng, e, el, trop = _geometry(r.sat_pos[i], pos)
        model = rng + trop - SPEED_OF_LIGHT * r.sat_clock_s[i]
        yL = self.lam * r.phase_cyc[i] - model[..., None] - self.base_yL[j]
        yP = r.code_m[i] - model[..., None] - self.base_yP[j]
        ok = (r.sat_valid[i] & self.base_ok[j] & (el >= self.mask))[..., None]
        okP = ok & np.isfinite(yP)
        okL = okP & np.isfinite(yL) if self.mode != "dgnss" else np.zeros_like(okP)
        var = _variance(el) + _variance(self.base_el[j])
        var_sd = np.repeat(var[..., None], self.nf, axis=-1)
        return e, el, yL, yP, okP, okL, var_sd

    # ------------------------------------------------------------------ epoch processing
    def run(self) -> RtkSolution:
        """Process every rover epoch and return the solution."""
        for i in range(len(self.rover.time_ns)):
            self.step(i)
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
                     "signals": self.signals},
        )

    def _single(self, i):
        if self._spp_ok[i]:
            self.out_pos[i] = self.spp_pos[i]
            self.out_q[i] = 5

    def _time_update(self, i):
        t = self._rover_t[i]
        t_prev, self.t_prev = self.t_prev, t
        spp_ok = self._spp_ok_list[i]
        if self.mode == "static":
            if not self.initialised:
                if not spp_ok:
                    return False
                self._reset_position(self.spp_pos[i], 30.0**2)
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
        self._reset_position(self.spp_pos[i], 30.0**2)
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
        j = self.nx_pos + k
        self.P[j, :] = 0.0
        self.P[:, j] = 0.0
        self.x[j] = 0.0
        self.active[k] = False

    def step(self, i):
        """Process rover epoch ``i``."""
        j = self._base_index_list[i]
        if j < 0:
            self._single(i)
            return
        age_s = (self._rover_t[i] - self._base_t[j]) / 1e9
        self._age_var = (self.age_sigma * age_s) ** 2
        if not self._time_update(i):
            return
        # ---------------- rover geometry at the current position
        r = self.rover
        pos = self.x[0:3].copy()
        pre = self._pre
        rows_key = dd0 = None
        if pre is not None and self._spp_ok_list[i]:  # pos is spp_pos[i]
            e, el, yL, yP, okP, okL, var_sd = (a[i] for a in pre)
            yLP = self._pre_yLP[i]
            if self._pre_dd is not None:
                dd0 = self._pre_dd[i]
            n_sat = self._pre_nsat[i]
            if self._pre_keys is not None:
                rows_key = self._pre_keys[i]
        else:
            e, el, yL, yP, okP, okL, var_sd = self._rover_residuals(i, pos)
            yLP = np.concatenate((yL.ravel(), yP.ravel()))
            n_sat = int(okP.any(axis=1).sum())

        # ---------------- ambiguity bookkeeping: slips, outages, new arcs
        act = None
        if self.mode != "dgnss":
            flat_ok = okL.ravel()
            active = self.active
            stale = self.last_seen < i - self.max_outage  # (i - last_seen) > max_outage
            # (ndarray.nonzero and np.count_nonzero below: np.flatnonzero, .sum(), .any()
            # and .all() of these 1-D masks, without the Python wrappers around them)
            for k in (active & (self.slips[i].ravel() | stale)).nonzero()[0].tolist():
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
            self.last_seen[flat_ok] = i
            # slow random walk of the ambiguities (RTKLIB prnbias)
            act = self.nx_pos + active.nonzero()[0]
            if self.P.flags.c_contiguous:  # P.reshape(-1) is then a view
                self.P.reshape(-1)[act * (self.nx + 1)] += 1e-8  # P[act, act]
            else:
                self.P[act, act] += 1e-8

        self.out_ns[i] = n_sat
        # ---------------- double differences
        if dd0 is not None:  # precomputed: y and H without the ambiguities, and R
            rows = dd0[0]
            if rows is not None:
                rows = dict(rows)
                rows["R"] = dd0[3]
        else:
            rows = self._double_differences(okL, okP, el, rows_key)
        if rows is None:
            self.out_pos[i] = pos
            self.out_q[i] = 5 if self._spp_ok[i] else 0
            return
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
                self._single(i)
                return
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
                    rng2, e2, _, trop2 = _geometry(r.sat_pos[i], xs[0:3])
                    model2 = rng2 + trop2 - SPEED_OF_LIGHT * r.sat_clock_s[i]
                    yP2 = r.code_m[i] - model2[:, None] - self.base_yP[j]
                    yLP2 = np.concatenate((yL.ravel(), yP2.ravel()))
                    v2, H2, R2 = self._dd_system(rows, yLP2, e2, var_sd, ix)
                    v2 = v2 + H2 @ (xs - x_prior)  # innovations about the prior state
                    xs, Ps, _ = kalman.update(x_prior, P_prior, v2[keep], H2[keep],
                                              R2[np.ix_(keep, keep)])
            except np.linalg.LinAlgError:
                self._single(i)
                return
            if self.mode == "dgnss":
                break
            if sd is None:
                sd = np.sqrt(R.diagonal())
            if not self._undetected_slip(rows, keep, v, H, sd, xs, x_prior, yL, yP,
                                         n_keep == len(keep)):
                break
        self.x[ix] = xs
        self.P.put(flat, Ps)  # P[ix[:, None], ix] = Ps
        self.out_float[i] = xs[0:3]
        self.out_pos[i] = xs[0:3]
        self.out_cov[i] = Ps[0:3, 0:3]
        self.out_q[i] = 4 if self.mode == "dgnss" else 2
        if self.mode == "dgnss":
            return
        # what the validation of a fix needs: innovations about the prior state
        phase_idx = rows["phase_idx"] if n_keep == len(keep) else np.flatnonzero(rows["phase"][keep])
        self._epoch = {"i": i, "ix": ix, "v": v, "H": H, "R": R, "x_prior": x_prior,
                       "phase_idx": phase_idx, "sd": sd}
        self._resolve(i, ix, xs, Ps, okL, el, rows)

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
            if len(cache) > 8:
                cache.clear()
            amb = cache[ixb] = (H0, self.nx_pos + fip, self.nx_pos + frp, lam_i, lam_r)
        H0, ki, kr, lam_i, lam_r = amb
        H = H0.copy()
        H[:, 0:3] = -(e[si] - e[sr]) if pre is None else pre[2]
        if len(p):
            y[p] -= lam_i * self.x[ki] - lam_r * self.x[kr]
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
    def _fixable_dd(self, okL, el, ix, rows=None):
        """DD ambiguity transform D (rows over the sub-state ix) for integer systems.

        Returns ``(D, pairs)`` with ``pairs[r] = (satellite column, reference column,
        frequency)`` of row ``r``. ``rows``: this epoch's double differences; when every
        satellite with phase is fixable (the usual case) its phase rows of the integer
        systems are exactly the pairs (same references, same order)."""
        nf, nx_pos = self.nf, self.nx_pos
        fixable = self.active & (self.lock >= self.min_lock)
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
        D, pairs = self._fixable_dd(okL, el, ix, rows)
        if D is None or len(pairs) < self.min_fix:
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
        self._try_fix(i, ix, xs, Ps, D, a, PDt, Qa, res.used, res.integers, pairs)

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
        self._candidate = {"ix": ix, "xs": xs, "Ps": Ps, "D": D, "a": a, "PDt": PDt, "Qa": Qa,
                           "integers": ints, "used": used, "pairs": pairs}
        ok, xf, Pf = self._apply_fix(ix, xs, Ps, D, a, PDt, Qa, used, ints)
        if not ok:
            return
        p00, p11, p22 = Pf.diagonal().tolist()
        if math.sqrt(max(p00 + p11 + p22, 0.0)) > self.max_fixed_sigma:
            return  # integers accepted but the geometry is too weak for a centimetre fix
        self.out_pos[i] = xf[0:3]
        self.out_cov[i] = Pf[0:3, 0:3]
        self.out_q[i] = 1
        self.out_nfix[i] = np.count_nonzero(used)
        if self.fix_and_hold:
            u = np.flatnonzero(used)
            Hh = D[u]
            vh = ints[u] - D[u] @ xs
            Rh = np.eye(len(u)) * 0.001
            xs2, Ps2, _ = kalman.update(xs, Ps, vh, Hh, Rh)
            self.x[ix], self.P[np.ix_(ix, ix)] = xs2, Ps2

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
        ok = self._validate(xf)
        if validate_only:
            return ok, xf[0:3]
        Pf = Ps[0:3, 0:3] - PDu[0:3] @ sol[:, 1:4]
        return ok, xf, Pf

    def _validate(self, xf):
        """Phase residuals of the fixed solution: each within ``validation_sigma`` sigma and
        their chi-square below its 99.9 % quantile."""
        ep = self._epoch
        ph = ep["phase_idx"]
        if not len(ph):
            return False
        rp = (ep["v"] - ep["H"] @ (xf - ep["x_prior"]))[ph]
        Rp = ep["R"].take(ph, 0).take(ph, 1)
        sd = ep.get("sd")
        sdp = np.sqrt(np.diagonal(Rp)) if sd is None else sd.take(ph)
        if np.count_nonzero(np.abs(rp) > self.validation_sigma * sdp):
            return False
        chi2 = float(rp @ kalman.solve(Rp, rp))
        return chi2 <= _chi2_quantile(max(len(rp) - 3, 1), 0.999)


@functools.lru_cache(maxsize=256)
def _chi2_quantile(dof, p):
    """Chi-square quantile (Wilson-Hilferty approximation, adequate for a threshold)."""
    z = {0.99: 2.326348, 0.999: 3.090232, 0.9999: 3.719016}[p]
    k = float(dof)
    return k * (1.0 - 2.0 / (9.0 * k) + z * math.sqrt(2.0 / (9.0 * k))) ** 3


def solve_rtk(rover_obs, base_obs, nav, *, mode="kinematic", base_position=None,
              frequencies=("L1", "L2"), elevation_mask_deg=15.0, ratio_threshold=3.0,
              fix_and_hold=False, systems="GREJC", max_age_s=30.0, dynamics=False,
              min_fix_ambiguities=4, max_fixed_sigma_m=0.05, min_lock_epochs=1,
              states=None, age_sigma_m_per_s=BASE_AGE_SIGMA_M_PER_S) -> RtkSolution:
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
        System letters; GLONASS ambiguities stay float.
    max_age_s : float
        Largest rover-base time difference for pairing epochs.
    dynamics : bool
        Kinematic mode with a constant-velocity model (position and velocity states)
        instead of a fresh position every epoch.
    min_fix_ambiguities : int
        Fewest DD ambiguities for a fix (partial resolution stops there).
    min_lock_epochs : int
        An ambiguity takes part in integer resolution only after this many epochs since it
        was (re)initialised (1: not in the epoch of a new arc or slip).
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
                    age_sigma_m_per_s=age_sigma_m_per_s)
    return flt.run()
