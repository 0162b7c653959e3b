"""Single point positioning: batched weighted least squares over all epochs at once.

:func:`solve_spp` turns code pseudoranges of every system into one position per epoch.
Every epoch is solved at the same time: the measurements are packed into arrays of
shape ``(epochs, slots)`` (the satellites seen at each epoch, padded), the normal
equations of all epochs are built with one matrix product and solved with one batched
``numpy.linalg.solve``; iterations continue until every epoch has converged.

Measurement model of a pseudorange P (m) on signal s of satellite j at epoch i::

    P = |r_j(t_tx) rotated by Earth rotation during flight - r_i| + c dt_i[group(j)]
        - c (dt_j - TGD_j,s) + I_ij * (f_ref / f_s)^2 + T_ij + noise

* transmission time ``t_tx = t_rx - P / c - dt_j`` (the receiver clock cancels);
* satellite clock ``dt_j`` with the relativistic correction, and the broadcast group
  delay of the signal (:class:`~satnav.orbits.states.SatelliteStates`);
* Sagnac: satellite position rotated by ``omega_e * tau``
  (:func:`satnav.models.measurement.geometry`, the model shared with RTK and the
  simulator);
* ionosphere: GPS Klobuchar scaled to the signal's frequency (GLONASS per channel);
  BeiDou's own Klobuchar for BeiDou when the navigation header has ``BDSA/BDSB``;
  or the iono-free combination of two codes (``iono="iono-free"``); or the delays the
  ``states`` source provides (``iono="states"``, e.g. those of a GSDC phone file); or none;
* troposphere: Saastamoinen with the standard atmosphere, 1/sin(el) mapping;
* one receiver clock per clock group: G (with QZSS and SBAS), R, E, C, I.

Weights follow RTKLIB's single-point model so results compare one to one:
``sigma^2 = F_sys^2 R^2 (a^2 + b^2 / sin el) + sigma_cbias^2 + (0.5 I)^2
+ (0.3 / (sin el + 0.1))^2 + sigma_sat^2`` with R = 300 the code/phase error ratio and
a = b = 0.003 m (:data:`ERROR_MODEL`), system factors F (GLONASS 1.5, NavIC 1.5,
SBAS 3, others 1, :data:`SYSTEM_ERROR_FACTORS`), an optional C/N0 term and the broadcast
orbit + clock error sigma_sat of :data:`SATELLITE_ERROR_M` (GLONASS 5 m, as RTKLIB's
``ERREPH_GLO``; not modelled for the other systems).
With ``weights="reported"`` the receiver's own 1-sigma of each pseudorange
(:attr:`Observations.sigma <satnav.observations.Observations>`, from Android logs) replaces
the noise term where it is larger. With ``multi_signal=True`` every band tracked gives a
pseudorange, with one inter-frequency bias per clock group and further band.

Integrity: chi-square test of the weighted residuals per epoch; fault detection and
exclusion of the measurement with the largest standardized residual, or of a whole
system when that alone makes the test pass, repeated while the test fails and
redundancy remains (:mod:`satnav.estimators.integrity`). Every epoch keeps a status
(:data:`satnav.estimators.solution.STATUS`); unsolvable epochs are reported, not
dropped.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import SimpleNamespace
from typing import TYPE_CHECKING

import numpy as np

from .._jit import select
from ..constants import FREQ_B1I, FREQ_L1, SPEED_OF_LIGHT
from ..errors import SatnavError, SatnavWarning
from ..frames import ecef_to_geodetic, enu_rotation
from ..models import measurement
from ..models.ionosphere import ionosphere_free_coefficients
from ..orbits.glonass import BROADCAST_ERROR_M
from ..progress import ProgressCounter
from ..satellites import (
    MAX_SATELLITES,
    SYSTEMS,
    satellite_index,
    satellite_index_of,
    system_number_of,
)
from ..signals import carrier_frequency, glonass_channels, per_system
from .dop import dilution_of_precision, dilution_of_precision_epoch, enu_line_of_sight
from .integrity import DEFAULT_FALSE_ALARM, chi_square_threshold, standardized_residuals
from .solution import SOLVED_STATUS_MAX, Solution
from .velocity import estimate_velocity

if TYPE_CHECKING:
    from ..io.rinex_nav import Navigation
    from ..observations import Observations

__all__ = [
    "solve_spp", "SppOptions", "spp_options", "finish_solution", "motion_inconsistent", "DEFAULT_CHUNK_EPOCHS", "DEFAULT_SIGNALS", "IONO_FREE_SIGNALS", "MULTI_SIGNALS", "ERROR_MODEL", "SYSTEM_ERROR_FACTORS",
    "SATELLITE_ERROR_M",
]

#: Default code per system, in order of preference; the first one present in the file is
#: used, later ones *of the same band* fill gaps satellite by satellite
#: (:attr:`satnav.signals.SystemSignals.spp_codes`).
DEFAULT_SIGNALS = per_system("spp_codes")
#: Further bands per system used by ``multi_signal=True`` (codes in order of preference per
#: band, each band used where the file has one of its codes); the default signal's band is
#: never repeated (:attr:`satnav.signals.SystemSignals.spp_multi_codes`).
MULTI_SIGNALS = per_system("spp_multi_codes")
#: Code pairs per system for the iono-free combination (first, second frequency)
#: (:attr:`satnav.signals.SystemSignals.spp_iono_free_codes`).
IONO_FREE_SIGNALS = per_system("spp_iono_free_codes")
#: Pseudorange error factors per system (RTKLIB EFACT_*).
SYSTEM_ERROR_FACTORS = per_system("error_factor")
#: RTKLIB's default error model as used for its SPP: code/phase error ratio 300 times the
#: phase errors a = b = 0.003 m; code-bias sigma 0.3 m; broadcast-iono error factor 0.5;
#: Saastamoinen sigma 0.3 m at the zenith; sigma 5 m for an uncorrected ionosphere.
ERROR_MODEL = {
    "code_phase_ratio": 300.0,
    "a_m": 0.003,
    "b_m": 0.003,
    "code_bias_m": 0.3,
    "iono_factor": 0.5,
    "iono_none_m": 5.0,
    "tropo_m": 0.3,
    "min_elevation_deg": 5.0,
    "cn0_max_dbhz": 52.0,
}
#: 1-sigma broadcast orbit + clock range error (m) added to the variance of every pseudorange
#: of the system, whatever its elevation (RTKLIB ``pntpos``: ``var = vare + ...``, with
#: ``vare = ERREPH_GLO^2`` for GLONASS from ``geph2pos``). Only GLONASS: its broadcast
#: states are 3-4x worse than GPS's (SISRE 2.2 m vs 0.65 m on 2020-06-25, bench/RESULTS.md),
#: and without this term its low satellites, dominated by that error too, were weighted as
#: if only noise, troposphere and ionosphere grew with the elevation. Systems not listed: 0.
SATELLITE_ERROR_M = {"R": BROADCAST_ERROR_M}
#: Clock group of each system (QZSS and SBAS share GPS time and the GPS clock).
CLOCK_GROUP_OF = per_system("clock_group")

_MAX_GDOP = 30.0
_CONVERGED_M = 1e-4
_NOT_CONVERGED_M = 1.0
_EARTH_SURFACE_MIN_M = 6.0e6
_MIN_ELEVATION_RAD = np.radians(ERROR_MODEL["min_elevation_deg"])
#: Epochs solved at once by :func:`solve_spp` (its working memory is bounded by this, not by
#: the file's length). Results do not depend on it.
DEFAULT_CHUNK_EPOCHS = 2000


# ====================================================================== options
@dataclass(frozen=True)
class SppOptions:
    """Options of single point positioning: plain data (pickles, prints, round-trips through
    :func:`dataclasses.asdict`). The meaning of every field is given in :func:`solve_spp`'s
    parameters of the same name; ``chunk_epochs`` is the number of epochs solved at once by
    the batch call (memory bound; results do not depend on it)."""

    systems: str = "GRECJI"
    elevation_mask_deg: float = 10.0
    exclude: tuple = ()
    signals: Mapping | None = None
    iono: str = "klobuchar"
    troposphere: bool = True
    raim: bool = True
    false_alarm: float = DEFAULT_FALSE_ALARM
    max_exclusions: int = 8
    cn0_error_m: float = 0.0
    velocity: bool = True
    motion_check: bool = True
    height_range_m: tuple | None = (-1000.0, 100_000.0)
    initial_position_m: tuple | None = None
    reduce_to_marker: bool = False
    max_iterations: int = 15
    weights: str = "model"
    multi_signal: bool = False
    smoothing_s: float = 0.0
    chunk_epochs: int = DEFAULT_CHUNK_EPOCHS

    def __post_init__(self) -> None:
        # normalize containers so that the options stay plain, comparable data
        if isinstance(self.exclude, str):
            object.__setattr__(self, "exclude", (self.exclude,))
        else:
            object.__setattr__(self, "exclude", tuple(self.exclude or ()))
        if self.height_range_m is not None:
            object.__setattr__(self, "height_range_m", tuple(float(v) for v in self.height_range_m))
        if self.initial_position_m is not None:
            x0 = np.asarray(self.initial_position_m, dtype=np.float64).reshape(3)
            object.__setattr__(self, "initial_position_m", tuple(float(v) for v in x0))

    def check(self, states=None) -> None:
        """Raise :class:`SatnavError` on an unknown or inconsistent option."""
        if self.iono not in ("klobuchar", "iono-free", "states", "none"):
            raise SatnavError(
                f"unknown ionosphere option {self.iono!r}, expected klobuchar, iono-free, states or none"
            )
        if self.iono == "states" and not callable(getattr(states, "ionosphere_m", None)):
            raise SatnavError("iono='states' needs a states source with ionospheric delays (ionosphere_m)")
        if self.weights not in ("model", "reported"):
            raise SatnavError(f"unknown weights option {self.weights!r}, expected model or reported")
        if self.multi_signal and self.iono == "iono-free":
            raise SatnavError(
                "multi_signal=True cannot be combined with iono='iono-free' (one combination per satellite)"
            )
        if self.smoothing_s and not (np.isfinite(self.smoothing_s) and self.smoothing_s > 0):
            raise SatnavError(
                f"carrier smoothing window must be a positive number of seconds, got {self.smoothing_s!r}"
            )
        if int(self.chunk_epochs) < 1:
            raise SatnavError(f"chunk_epochs must be at least 1, got {self.chunk_epochs!r}")


def spp_options(options: SppOptions | None = None, **keywords) -> SppOptions:
    """``options`` (default :class:`SppOptions()`) with the given fields replaced."""
    base = SppOptions() if options is None else options
    if not isinstance(base, SppOptions):
        raise TypeError(f"options must be an SppOptions, got {type(base).__name__}")
    return dataclasses.replace(base, **keywords) if keywords else base


# ====================================================================== public entry
def solve_spp(obs: Observations, nav: Navigation | None, options: SppOptions | None = None, *,
              states: Callable | None = None, progress: Callable[[int, int], None] | None = None,
              **keywords) -> Solution:
    """Single point positioning of every epoch of ``obs``.

    ``solve_spp(obs, nav, SppOptions(...))`` or, as a convenience, the options as keywords
    (``solve_spp(obs, nav, systems="GE", iono="iono-free")``; keywords given with an options
    object replace its fields). The epochs are solved in time chunks of
    ``options.chunk_epochs`` (the solver's working memory does not grow with the file's
    length); every epoch's solution is independent of the chunking, except the carrier
    smoothing (done over the whole file first) and the motion check (over the assembled
    solution), which see every epoch. :class:`satnav.estimators.spp_engine.SppEngine` solves
    one epoch at a time with the same core.

    Parameters
    ----------
    obs : satnav.observations.Observations
        Code pseudoranges (and Doppler, C/N0 when present).
    nav : Navigation
        Broadcast ephemerides (and the Klobuchar coefficients of its header).
    options : SppOptions, optional
        All options as one plain-data object (fields below).
    states : callable, optional
        ``states(sat, time_ns, signal) -> SatelliteStates`` replacing the broadcast
        ephemerides (e.g. precise orbits, or a simulator in tests).
    systems : str
        System letters to use, e.g. ``"GRECJI"`` (default) or ``"G"``.
    elevation_mask_deg : float
        Elevation mask (degrees).
    exclude : iterable of str
        Satellite ids (``"R09"``) or system letters to leave out.
    signals : dict, optional
        Code per system letter (``{"E": "C1X"}``; a tuple gives preferences), or for
        ``iono="iono-free"`` a pair of codes (``{"G": ("C1C", "C2W")}``). Systems not named
        use :data:`DEFAULT_SIGNALS` / :data:`IONO_FREE_SIGNALS`.
    iono : {"klobuchar", "iono-free", "states", "none"}
        Ionospheric correction. ``"states"``: the slant delays (m, at the signal's
        frequency) of ``states.ionosphere_m(sat, time_ns, signal)`` (e.g. the broadcast-model
        delays Google writes in a GSDC ``device_gnss.csv``, whose navigation message is not
        in the file), Klobuchar where that gives NaN.
    troposphere : bool
        Apply Saastamoinen (default True).
    raim : bool
        Fault detection and exclusion (the residual test is always computed).
    false_alarm : float
        Probability of false alarm of the residual test.
    max_exclusions : int
        Most exclusion rounds per epoch (a whole-system exclusion counts as one).
    cn0_error_m : float
        Coefficient ``c`` (m) of the C/N0 variance term ``(R c)^2 10^((52 - C/N0) / 10)``
        (RTKLIB EX's model, R = 300), used where the file has the C/N0 (``S..``) of the
        signal. 0 (default, as RTKLIB) weights by elevation only. 0.003 improves esbc
        slightly (H RMS 0.68 -> 0.62 m) but lets weak, consistently wrong signals pass
        the residual test more easily (the ubx data after 06:57), so it is opt-in.
    velocity : bool
        Estimate velocity and clock drift from Doppler when present.
    motion_check : bool
        Flag epochs (status 5) whose position disagrees with both neighbouring epochs'
        positions carried forward by the Doppler velocities (:func:`motion_inconsistent`):
        the residual test cannot see faults when redundancy is low or every measurement
        is wrong, but positions kilometres apart from one second to the next while the
        Doppler says the receiver barely moves can be seen.
    height_range_m : (float, float) or None
        Plausible ellipsoidal heights (m); a solution outside is flagged (status 6): a set
        of consistently wrong pseudoranges can pass the residual test (e.g. five
        satellites tracking garbage), but not put a receiver 2 km underground. None
        disables the check (e.g. for receivers in orbit).
    initial_position_m : array_like (3,), optional
        Linearization start; default the header's approximate position when plausible,
        else the Earth's centre.
    reduce_to_marker : bool
        Subtract the header's antenna height/eccentricity (``ANTENNA: DELTA H/E/N``) to
        report the marker instead of the antenna reference point.
    max_iterations : int
        Most Gauss-Newton iterations.
    weights : {"model", "reported"}
        ``"model"`` (default): the error model above. ``"reported"``: where the observations
        carry the receiver's own 1-sigma of a pseudorange (``obs.sigma``, e.g. Android's
        ``ReceivedSvTimeUncertaintyNanos * c``), the code-noise variance is
        ``F^2 max(sigma_reported^2, R^2 (a^2 + b^2 / sin el + C/N0 term))``: the model's
        elevation (and, with ``cn0_error_m``, C/N0) noise acts as a floor under what the
        receiver reports (phones report a constant 6 ns = 1.8 m on L5 whatever the C/N0);
        the iono, tropo and code-bias terms are added as before. Measurements without a
        reported sigma (RINEX) keep the model.
    multi_signal : bool
        Use one pseudorange per *band* tracked (e.g. GPS L1 + L5, Galileo E1 + E5a, as
        phones track them), not only the default signal: each further band of a clock
        group adds one inter-frequency bias parameter (m) to the clock of the first band,
        which absorbs the receiver's inter-signal delay and the part of the satellites'
        group delays common to all (GPS L5 ISC is not in LNAV). Bands and codes per system:
        :data:`MULTI_SIGNALS`. Off by default. Not with ``iono="iono-free"``. The broadcast
        ionosphere's error is counted independently per band although it is common to a
        satellite's bands: the weights of the ionospheric term are somewhat optimistic.
    smoothing_s : float
        Carrier-smooth the pseudoranges over this window (s) first (Hatch filter,
        :func:`satnav.estimators.carrier_smoothing.carrier_smooth`, with the receiver's
        common code-carrier drift compensated); 0 (default, as RTKLIB) uses the raw code.
        Phones (:data:`satnav.io.android.PHONE_SOLVE_OPTIONS`) use 60 s.
    chunk_epochs : int
        Epochs solved at once (default :data:`DEFAULT_CHUNK_EPOCHS`).
    progress : callable, optional
        ``progress(epochs_done, epochs)`` after each time chunk (:mod:`satnav.progress`).

    Returns
    -------
    Solution
        One row per epoch of ``obs.epochs``; :attr:`Solution.warnings` holds the warnings
        of the run (also issued as :class:`~satnav.errors.SatnavWarning`).
    """
    opts = spp_options(options, **keywords)
    opts.check(states)
    if opts.smoothing_s:
        obs = _carrier_smoothed(obs, nav, opts)
    plan = _signal_plan(obs, opts)
    core = _SppCore(nav, opts, states)
    x0 = _initial_position(obs, opts.initial_position_m)
    m = len(obs.epochs)
    chunk = int(opts.chunk_epochs)
    parts, counts = [], {}
    counter = ProgressCounter(progress, m)
    for start in range(0, max(m, 1), chunk):
        part, seen = core.solve(obs.epoch_slice(start, start + chunk) if m > chunk else obs, x0, plan)
        parts.append(part)
        for s, n in seen.items():
            counts[s] = counts.get(s, 0) + n
        counter.update(start + chunk)
    solution = parts[0] if len(parts) == 1 else Solution.concatenate(
        parts, satellites=plan.satellites, clock_systems=plan.clock_systems)
    solution.signals = dict(plan.signals)
    finish_solution(solution, nav if states is None else None, counts, opts, obs.header)
    if opts.smoothing_s:
        solution.options["smoothing_s"] = float(opts.smoothing_s)
    counter.finish()
    return solution


def finish_solution(solution: Solution, nav, counts: dict, opts: SppOptions, header) -> None:
    """What follows solving the time chunks of a file, in place: the missing-navigation
    warnings (``nav`` None: not checked; ``counts``: pseudoranges per system letter), the
    motion check over neighbouring epochs and the reduction to the marker with ``header``'s
    antenna eccentricity. Shared by :func:`solve_spp` and the streamed path of
    :func:`satnav.pipeline.solve_files`."""
    if nav is not None:
        for message in _check_navigation_systems(nav, counts):
            warnings.warn(message, SatnavWarning, stacklevel=3)
            solution.warnings.append(message)
    if opts.velocity and opts.motion_check:
        jump = motion_inconsistent(solution.time_ns, solution.position_m, solution.velocity_m_s,
                                   solution.solved)
        solution.status[jump & (solution.status <= 2)] = 5
    if opts.reduce_to_marker:
        _reduce_to_marker(solution, SimpleNamespace(header=header))


def _reduce_to_marker(solution: Solution, obs) -> None:
    """Subtract the header's antenna eccentricity (``ANTENNA: DELTA H/E/N``) in place."""
    delta = getattr(obs.header, "antenna_delta_hen_m", None)
    if delta is None:
        return
    hgt, east, north = (float(x) for x in np.asarray(delta).reshape(3))
    lat, lon, _ = ecef_to_geodetic(solution.position_m)
    rot = enu_rotation(lat, lon)
    offset = np.einsum("mji,j->mi", rot, np.array([east, north, hgt]))
    solution.position_m = solution.position_m - offset
    solution.reference_point = "marker"


def _smoothing_codes(opts: SppOptions) -> dict[str, set]:
    """Codes per system that the solver may use (those worth carrier-smoothing)."""
    wanted = {}
    for system in opts.systems:
        codes = set()
        for group in _signal_preferences(system, opts.signals, opts.iono) or ():
            codes.update([group] if isinstance(group, str) else group)
        if opts.multi_signal:
            for group in MULTI_SIGNALS.get(system, ()):
                codes.update(group)
        wanted[system] = codes
    return wanted


def _smoothing_channels(obs, nav) -> dict[int, int]:
    """GLONASS channel per satellite index (observation header first, then navigation)."""
    sats = obs.satellite_indices
    glo = sats[system_number_of(sats) == SYSTEMS.index("R")]
    k = _glonass_channels(obs, nav, glo) if len(glo) else np.zeros(0)
    return {int(s): int(v) for s, v in zip(glo.tolist(), k.tolist()) if np.isfinite(v)}


def _carrier_smoothed(obs, nav, opts: SppOptions):
    """``obs`` with the pseudoranges the solver may use carrier-smoothed over the whole file
    (GLONASS channels from the observation header or the navigation messages)."""
    from .carrier_smoothing import carrier_smooth

    return carrier_smooth(obs, window_s=opts.smoothing_s, signals=_smoothing_codes(opts),
                          glonass_channels=_smoothing_channels(obs, nav))


# ====================================================================== problem setup
class _Problem:
    """Packed measurements (epochs x slots) and everything constant over iterations."""


def _parse_exclude(exclude):
    sats, systems = set(), set()
    for item in exclude or ():
        s = str(item).strip().upper()
        if len(s) == 1 and s in SYSTEMS:
            systems.add(s)
        elif s:
            try:
                sats.add(satellite_index(s))
            except ValueError:
                raise SatnavError(f"bad satellite to exclude {item!r}, expected e.g. R09 or C01") from None
    return sats, systems


def _codes_by_system(obs) -> dict[str, set]:
    """Codes carrying at least one value, per system letter (every system, in SYSTEMS order)."""
    per = obs.codes_by_system()
    return {s: set(per.get(s, ())) for s in SYSTEMS}


def _choose_codes(have: set, preferences) -> list[str]:
    """Codes of ``preferences`` in ``have``, restricted to the band of the first one."""
    present = [c for c in preferences if c in have]
    if not present:
        return []
    band = present[0][1]
    return [c for c in present if c[1] == band]


def _signal_preferences(system, signals, iono):
    user = (signals or {}).get(system)
    if iono == "iono-free":
        if user is not None:
            a, b = user
            return (tuple([a]) if isinstance(a, str) else tuple(a), tuple([b]) if isinstance(b, str) else tuple(b))
        return IONO_FREE_SIGNALS.get(system)
    if user is not None:
        return (tuple([user]) if isinstance(user, str) else tuple(user),)
    return (DEFAULT_SIGNALS.get(system, ()),)


class _DenseReader:
    """``epochs x satellites`` arrays of observation codes, from the observations' cached
    row -> epoch index (:meth:`~satnav.observations.Observations.epoch_index`)."""

    def __init__(self, obs):
        self.obs = obs

    def dense(self, code, sats, what="value"):
        obs = self.obs
        out = np.full((len(obs.epochs), len(sats)), np.nan)
        if code not in obs.codes or (what == "sigma" and obs.sigma is None):
            return out
        rows = obs.rows_of_code(code)
        col = np.full(MAX_SATELLITES, -1, dtype=np.intp)
        col[np.asarray(sats, dtype=np.intp)] = np.arange(len(sats))
        c = col[obs.sat[rows]]
        keep = c >= 0
        out[obs.epoch_index()[rows[keep]], c[keep]] = getattr(obs, what)[rows[keep]]
        return out

    def filled(self, codes, sats):
        """Values of the first code, gaps filled from the following codes."""
        out = self.dense(codes[0], sats)
        for c in codes[1:]:
            gap = np.isnan(out)
            if not gap.any():
                break
            out = np.where(gap, self.dense(c, sats), out)
        return out

    def filled_sigma(self, codes, sats):
        """Reported sigmas of the values :meth:`filled` picks (same code per cell)."""
        value = self.dense(codes[0], sats)
        out = self.dense(codes[0], sats, "sigma")
        for c in codes[1:]:
            gap = np.isnan(value)
            if not gap.any():
                break
            value = np.where(gap, self.dense(c, sats), value)
            out = np.where(gap, self.dense(c, sats, "sigma"), out)
        return out

    def optional(self, codes, sats):
        present = [c for c in codes if c in self.obs.codes]
        return self.filled(present, sats) if present else None


def _frequency(system, code, glonass_k):
    """Carrier frequency (Hz) per satellite of one system and code (array over sats)."""
    band = code[1]
    if system == "R" and band in "12":
        return np.asarray(carrier_frequency("R", band, np.nan_to_num(glonass_k)), dtype=np.float64)
    if system == "C" and code == "C1I":
        return np.full(len(glonass_k), FREQ_B1I)  # RINEX 3.02 name of B1I
    return np.full(len(glonass_k), carrier_frequency(system, band))


def _glonass_channels(obs, nav, sats) -> np.ndarray:
    """GLONASS frequency channel k per satellite (NaN when unknown): observation header
    ``GLONASS SLOT / FRQ #`` first, then the navigation messages."""
    return glonass_channels(obs, nav, sats)


def _nav_glonass_channels(nav) -> dict[int, int]:
    """Satellite index -> frequency channel from the GLONASS navigation messages."""
    return glonass_channels(None, nav)


@dataclass
class _SignalPlan:
    """Codes per system decided once for a run (from the codes present in the observations):
    ``codes[system] = (first-band codes, second-band codes of iono-free or (), further bands
    of multi_signal)``, the signal names reported, the output satellite columns and clock
    groups of the whole run (for assembling chunks)."""

    codes: dict
    signals: dict
    excluded_sats: set
    satellites: np.ndarray
    clock_systems: tuple
    #: Satellites (columns) per system of ``codes``, in the order of :attr:`satellites`.
    sats_by_system: dict = dataclasses.field(default_factory=dict)


def _signal_plan(obs, opts: SppOptions, *, require: bool = True) -> _SignalPlan:
    """The codes to use per system, from the codes present in ``obs``; raises
    :class:`SatnavError` when no system has one (unless ``require`` is False)."""
    return _plan_of(_code_choice(_codes_by_system(obs), opts), obs.satellite_indices, require=require)


@dataclass
class _CodeChoice:
    """The codes per system of a signal plan, chosen from the codes present per system
    (``have``), before the satellites: ``codes`` and ``signals`` as :class:`_SignalPlan`'s,
    for every system that has them (in the order of the options' systems)."""

    codes: dict
    signals: dict
    excluded_sats: set
    have: dict
    systems: str


def _code_choice(have_codes: dict, opts: SppOptions) -> _CodeChoice:
    """:class:`_CodeChoice` of the options for the codes present per system (``have_codes``,
    :func:`_codes_by_system`)."""
    systems = "".join(dict.fromkeys(str(opts.systems).upper()))
    bad = [s for s in systems if s not in SYSTEMS]
    if bad:
        raise SatnavError(f"unknown system letter(s) {''.join(bad)!r}, expected letters of {SYSTEMS}")
    ex_sats, ex_systems = _parse_exclude(opts.exclude)
    codes, signals = {}, {}
    for s in systems:
        prefs = _signal_preferences(s, opts.signals, opts.iono)
        if s in ex_systems or prefs is None:
            continue
        have = have_codes.get(s, set())
        codes1 = _choose_codes(have, prefs[0])
        if not codes1:
            continue
        codes2 = []
        if opts.iono == "iono-free":
            codes2 = _choose_codes(have, prefs[1]) if len(prefs) > 1 else []
            if not codes2:
                continue
            signals[s] = f"{codes1[0]}+{codes2[0]}"
        else:
            signals[s] = codes1[0]
        extra_bands = []
        if opts.multi_signal:
            used_bands = {codes1[0][1]}
            for band_prefs in MULTI_SIGNALS.get(s, ()):
                extra = _choose_codes(have, band_prefs)
                if not extra or extra[0][1] in used_bands:
                    continue
                used_bands.add(extra[0][1])
                extra_bands.append(extra)
                signals[s] += "," + extra[0]
        codes[s] = (codes1, codes2, extra_bands)
    return _CodeChoice(codes, signals, ex_sats, have_codes, systems)


def _choice_key(choice: _CodeChoice) -> tuple:
    """What a :class:`_SignalPlan` takes of a :class:`_CodeChoice` (its codes, signals and
    excluded satellites), as a key: choices made for different codes present that choose
    the same codes have the same key."""
    codes = tuple((s, tuple(c1), tuple(c2), tuple(map(tuple, extra))) for s, (c1, c2, extra) in choice.codes.items())
    return codes, tuple(choice.signals.items()), tuple(sorted(choice.excluded_sats))


#: Where each system's satellite indices start (and the last one's end).
_SYSTEM_STARTS = np.array([satellite_index_of(n, 0) for n in range(len(SYSTEMS) + 1)])


def _plan_of(choice: _CodeChoice, all_sats: np.ndarray, *, require: bool = True) -> _SignalPlan:
    """The :class:`_SignalPlan` of the codes ``choice`` for the satellites ``all_sats``
    (sorted unique indices, :attr:`Observations.satellite_indices`): the systems of the
    choice with a satellite not excluded."""
    bounds = np.searchsorted(all_sats, _SYSTEM_STARTS).tolist()  # (satellites sorted by system)
    excluded = list(choice.excluded_sats)
    codes, signals, satellites, by_system = {}, {}, [], {}
    for s, c in choice.codes.items():
        n = SYSTEMS.index(s)
        sats = all_sats[bounds[n]:bounds[n + 1]]
        if excluded:
            sats = sats[~np.isin(sats, excluded)]
        if not len(sats):
            continue
        codes[s] = c
        signals[s] = choice.signals[s]
        satellites.append(sats)
        by_system[s] = sats
    if not codes and require:
        have = "; ".join(f"{k}: {' '.join(sorted(v))}" for k, v in choice.have.items() if v)
        raise SatnavError(
            f"no usable pseudoranges: none of the systems {choice.systems!r} has a supported code "
            f"in the observations (have {have or 'nothing'})"
        )
    clock_systems = tuple(dict.fromkeys(CLOCK_GROUP_OF[s] for s in codes))
    sats = np.concatenate(satellites) if satellites else np.zeros(0, dtype=np.int16)
    return _SignalPlan(codes, signals, set(choice.excluded_sats), sats, clock_systems, by_system)


def _build_problem(obs, nav, opts: SppOptions, states_fn, plan: _SignalPlan, *, ephemeris=None,
                   channels=None) -> _Problem | None:
    """Pack the measurements of the epochs of ``obs`` (epochs x slots) with the satellite
    states at transmission time; None when ``obs`` holds no satellite of a planned system.
    ``ephemeris``: the prepared :class:`~satnav.orbits.ephemeris.BroadcastEphemeris` of
    ``nav`` (default: prepared for this call); ``channels``: see :func:`_measurement_columns`.
    The per-epoch engine packs its one epoch with
    :func:`satnav.estimators.spp_epoch.build_epoch_problem` instead (the same problem in fewer
    NumPy calls), given to :class:`_SppCore` as its ``build_problem``."""
    return _build_dense_problem(obs, nav, opts, states_fn, plan, ephemeris=ephemeris, channels=channels)


def _build_dense_problem(obs, nav, opts: SppOptions, states_fn, plan: _SignalPlan, *, ephemeris=None,
                         channels=None) -> _Problem | None:
    """:func:`_build_problem` of any number of epochs, from their ``epochs x satellites``
    arrays (:func:`_measurement_columns`)."""
    columns = _measurement_columns(obs, nav, opts, plan, channels)
    if not columns:
        return None
    pb = _Problem()
    pb.epochs = np.asarray(obs.epochs, dtype=np.int64)
    pb.m = len(pb.epochs)
    pb.signals = dict(plan.signals)
    _cached_column_layout(pb, columns, plan, nav)
    pseudorange, c1, c2 = _combined_pseudoranges(columns, opts.iono, pb.m)
    with np.errstate(invalid="ignore"):
        have = np.isfinite(pseudorange) & (pseudorange > 1.0e6) & (pseudorange < 1.0e8)
    pb.n_observed = have.sum(axis=1)
    # plausible observations per system of the first-band columns (navigation check)
    counts = have[:, pb.col_primary].sum(axis=0)
    pb.observed_by_system = {}
    for s, n in zip(pb.col_system.tolist(), counts.tolist()):
        if n:
            pb.observed_by_system[s] = pb.observed_by_system.get(s, 0) + int(n)
    ei, ci = np.nonzero(have)
    states = _transmission_states(nav, states_fn, opts.iono, columns, pb.col_set, pb.col_sats,
                                  pb.epochs[ei], ci, pseudorange[ei, ci], c1, c2, ephemeris)
    valid = states["valid"]
    pb.n_with_ephemeris = np.bincount(ei[valid], minlength=pb.m)
    measured = {key: _stacked(columns, key, pb.m) for key in ("doppler", "cn0", "sigma")}
    _pack(pb, nav, opts, measured, ei[valid], ci[valid], pseudorange, states, valid)
    return pb


def _measurement_columns(obs, nav, opts: SppOptions, plan: _SignalPlan, channels=None) -> list[dict]:
    """One dict of arrays (epochs x satellites of one system) per system and band of the
    plan, over the satellites of the plan (those of the whole run: a time chunk's columns
    are the run's, so that its solution needs no remapping). ``channels(obs, nav, sats)``
    replaces :func:`_glonass_channels` (a cache of the caller)."""
    reported = opts.weights == "reported"
    reader = _DenseReader(obs)
    columns = []
    frames = _column_frames(plan, lambda sats: (channels or _glonass_channels)(obs, nav, sats))
    static = plan.__dict__["_static"]
    for col, codes, second in frames:
        sats = col["sats"]
        col["p1"] = reader.filled(codes, sats)
        if second:
            col["p2"] = reader.filled(second, sats)
        doppler_codes, cn0_codes = _derived_codes(static, codes)
        col["doppler"] = reader.optional(doppler_codes, sats)
        col["cn0"] = reader.optional(cn0_codes, sats)
        if reported and not second:
            col["sigma"] = reader.filled_sigma(codes, sats)
        columns.append(col)
    return columns


def _column_frames(plan: _SignalPlan, glonass_channels) -> list[tuple[dict, list, list]]:
    """The measurement columns of a plan without the epochs' values (the part shared by the
    dense path, :func:`_measurement_columns`, and the one-epoch layouts of
    :mod:`~satnav.estimators.spp_epoch`): per system and band, (column: system, satellites,
    signal, GLONASS channels, band, carrier frequency ``f1`` (Hz) and, with a second code for
    the iono-free combination, ``signal2`` and ``f2``; the codes it reads in order of
    preference; the second codes, or none). ``glonass_channels(sats)``: the channels of
    GLONASS satellites; other systems get a shared NaN array (never written). Frequencies
    and channels kept in the plan's ``_static`` dict."""
    static = plan.__dict__.setdefault("_static", {})
    out = []
    for s, (codes1, codes2, extra_bands) in plan.codes.items():
        sats = plan.sats_by_system[s]
        if not len(sats):
            continue
        if s == "R":
            glo_k = glonass_channels(sats)
        else:
            glo_k = static.get(s)
            if glo_k is None:
                glo_k = static[s] = np.full(len(sats), np.nan)  # (shared, never written)
        col = {"system": s, "sats": sats, "signal": codes1[0], "f1": _cached_frequency(static, s, codes1[0], glo_k),
               "glo_k": glo_k, "band": ""}
        if codes2:
            col.update(signal2=codes2[0], f2=_cached_frequency(static, s, codes2[0], glo_k))
        out.append((col, codes1, codes2))
        for codes in extra_bands:
            out.append(({"system": s, "sats": sats, "signal": codes[0], "f1": _cached_frequency(static, s, codes[0], glo_k),
                         "glo_k": glo_k, "band": codes[0][1]}, codes, ()))
    return out


def _cached_frequency(static: dict, system, code, glo_k):
    """:func:`_frequency`, kept in a plan's ``static`` dict (the arrays are shared, never written)."""
    key = (system, code, glo_k.tobytes())
    out = static.get(key)
    if out is None:
        if len(static) > 256:
            static.clear()
        out = static[key] = _frequency(system, code, glo_k)
    return out


def _derived_codes(static: dict, codes) -> tuple[list, list]:
    """The Doppler and C/N0 codes of pseudorange codes (``C1C`` -> ``D1C``, ``S1C``), kept in
    a plan's ``static`` dict."""
    key = ("derived", tuple(codes))
    out = static.get(key)
    if out is None:
        out = static[key] = (["D" + c[1:] for c in codes], ["S" + c[1:] for c in codes])
    return out


def _column_layout(pb: _Problem, columns: list[dict]) -> None:
    """Measurement columns (one per satellite and signal), output columns (one per
    satellite), clock groups, inter-frequency-bias parameters and the constants of each
    column's system (error factor, broadcast orbit + clock variance: None when no system
    has one). Each column dict (``system``, ``band``, ``sats``, ``f1``, ``glo_k``) gives one
    block of columns: what is constant over a block is repeated over its satellites."""
    widths = [len(c["sats"]) for c in columns]
    systems = [c["system"] for c in columns]
    first = [c["band"] == "" for c in columns]
    sats = np.concatenate([c["sats"] for c in columns])
    pb.col_sats = sats
    pb.col_set = block = np.repeat(np.arange(len(columns)), widths)
    primary = np.repeat(first, widths)
    pb.satellites = sats[primary]
    pb.col_primary = primary
    # output column: the satellite's among the first-band columns (a further band's block
    # holds its system's satellites in the same order)
    shift, out_of, start, out = [], {}, 0, 0
    for s, w, f in zip(systems, widths, first):
        if f:
            out_of[s] = out
            out += w
        shift.append(out_of[s] - start)
        start += w
    pb.col_out = np.arange(len(sats)) + np.array(shift, dtype=np.intp)[block]
    col_sys = np.array(systems)[block]
    pb.col_sys_all = col_sys
    pb.col_system = col_sys[primary]
    groups = list(dict.fromkeys(CLOCK_GROUP_OF[s] for s in systems))
    pb.clock_systems = tuple(groups)
    group = [groups.index(CLOCK_GROUP_OF[s]) for s in systems]
    pb.col_group = np.array(group, dtype=np.intp)[block]
    pb.ifb_keys = list(dict.fromkeys((groups[g], c["band"]) for g, c, f in zip(group, columns, first) if not f))
    pb.ifb_group = np.array([groups.index(g) for g, _ in pb.ifb_keys], dtype=np.intp)
    ifb = [-1 if f else pb.ifb_keys.index((groups[g], c["band"])) for g, c, f in zip(group, columns, first)]
    pb.col_ifb = np.array(ifb, dtype=np.intp)[block]
    pb.col_f1 = np.concatenate([c["f1"] for c in columns])
    pb.col_glo_k = np.concatenate([c["glo_k"] for c in columns])
    pb.col_error_factor = np.array([SYSTEM_ERROR_FACTORS.get(s, 1.0) for s in systems])[block]
    sat_var = np.array([SATELLITE_ERROR_M.get(s, 0.0) ** 2 for s in systems])
    pb.col_satellite_var = sat_var[block] if sat_var.any() else None


#: What :func:`_column_layout` and :func:`_column_constants` set (kept per plan).
_LAYOUT_FIELDS = ("col_sats", "col_set", "satellites", "col_out", "col_primary", "col_sys_all", "col_system",
                  "clock_systems", "col_group", "ifb_keys", "ifb_group", "col_ifb", "col_f1", "col_glo_k",
                  "col_iono_scale", "col_iono_bds", "col_error_factor", "col_satellite_var", "col_wavelength",
                  "iono_gps", "iono_bds")


def _cached_column_layout(pb: _Problem, columns: list[dict], plan: _SignalPlan, nav) -> None:
    """:func:`_column_layout` and :func:`_column_constants` of ``pb``, computed once per plan,
    GLONASS channels and navigation data (what they depend on besides the plan) and
    kept on the plan (a per-epoch engine meets the same plan epoch after epoch; the arrays are
    shared, never written)."""
    key = (b"".join(c["glo_k"].tobytes() for c in columns), id(nav))
    cache = plan.__dict__.setdefault("_layouts", {})
    hit = cache.get(key)
    if hit is None or hit[0] is not nav:
        _column_layout(pb, columns)
        _column_constants(pb, nav)
        if len(cache) > 16:
            cache.clear()
        cache[key] = (nav, {f: getattr(pb, f) for f in _LAYOUT_FIELDS})
    else:
        pb.__dict__.update(hit[1])


def _column_constants(pb: _Problem, nav) -> None:
    """The broadcast ionosphere coefficients (GPS, BeiDou; None when absent) and per
    measurement column: ionosphere scale from the model's reference frequency to the
    signal's (and whether BeiDou's model applies) and carrier wavelength (m; NaN for a
    GLONASS satellite of unknown channel)."""
    col_sys = pb.col_sys_all
    pb.iono_gps = _iono_coefficients(nav, "GPS")
    pb.iono_bds = _iono_coefficients(nav, "BDS")
    pb.col_iono_bds = bds_model = (col_sys == "C") & (pb.iono_bds is not None)
    ref = np.where(bds_model, FREQ_B1I, FREQ_L1)
    pb.col_iono_scale = (ref / pb.col_f1) ** 2
    lam = SPEED_OF_LIGHT / pb.col_f1
    pb.col_wavelength = np.where((col_sys == "R") & np.isnan(pb.col_glo_k), np.nan, lam)


def _stacked(columns: list[dict], key: str, m: int, fill=np.nan) -> np.ndarray | None:
    """(epochs, measurement columns) array of one column field (``fill`` where absent); None
    when no column has it."""
    if all(c.get(key) is None for c in columns):
        return None
    parts = []
    for c in columns:
        v = c.get(key)
        parts.append(np.full((m, len(c["sats"])), fill) if v is None else v)
    return np.concatenate(parts, axis=1)


def _combination_coefficients(columns: list[dict], iono: str):
    """Coefficients (c1, c2) per measurement column of its pseudorange as solved: the
    iono-free combination's of its two codes, else (1, 0)."""
    f1 = np.concatenate([c["f1"] for c in columns])
    if iono == "iono-free":
        return ionosphere_free_coefficients(f1, np.concatenate([c["f2"] for c in columns]))
    return np.ones(len(f1)), np.zeros(len(f1))


def _combined_pseudoranges(columns: list[dict], iono: str, m: int):
    """Pseudoranges (m) as solved (iono-free combination or the code), with the
    combination's coefficients per column."""
    c1, c2 = _combination_coefficients(columns, iono)
    if iono == "iono-free":
        return c1 * _stacked(columns, "p1", m) + c2 * _stacked(columns, "p2", m), c1, c2  # (always given)
    return _stacked(columns, "p1", m), c1, c2


def _transmission_states(nav, states_fn, iono, columns, col_set, col_sats, t_rx, ci, p_flat, c1, c2,
                         ephemeris=None) -> dict:
    """Satellite position (at the true transmission time), velocity, clock, drift, group
    delay and validity per measurement (flat), one states call per system and signal."""
    if states_fn is None and ephemeris is None:
        ephemeris = _prepared_ephemeris(nav)
    k_total = len(ci)
    systems = [c["system"] for c in columns]
    if states_fn is None and iono != "iono-free" and len(set(systems)) == len(systems) and k_total:
        # one signal per system: every system's states in one call (the same values)
        signals = {c["system"]: _nav_signal(c["signal"]) for c in columns}
        sats = col_sats[ci].astype(np.int64)
        if _STATES_COMPILED is not None and k_total <= 128:  # (the live engine's epochs)
            out = _STATES_COMPILED.transmission_states(ephemeris, sats, t_rx, p_flat, signals)
            if out is not None:
                return out
        t_tx = measurement.transmission_time(t_rx, p_flat)
        st = ephemeris.states_by_system(sats, t_tx, signals)
        dts = st.clock_s
        gd = st.group_delay_s
        return {"pos": measurement.position_at_transmission(st.position_m, st.velocity_m_s, dts),
                "vel": st.velocity_m_s, "clk": dts, "drift": st.clock_drift_s_s,
                "gd": gd if np.isfinite(gd).all() else np.nan_to_num(gd),
                "valid": st.valid & np.isfinite(st.position_m).all(axis=1) & np.isfinite(dts)}
    t_tx = measurement.transmission_time(t_rx, p_flat)
    out = {
        "pos": np.full((k_total, 3), np.nan), "vel": np.full((k_total, 3), np.nan),
        "clk": np.full(k_total, np.nan), "drift": np.full(k_total, np.nan), "gd": np.zeros(k_total),
        "valid": np.zeros(k_total, dtype=bool), "iono": np.full(k_total, np.nan),
    }
    for j, c in enumerate(columns):
        sel = col_set[ci] == j
        if not sel.any():
            continue
        sat, t = col_sats[ci[sel]], t_tx[sel]
        st = _get_states(ephemeris, states_fn, sat, t, c["signal"])
        dts = st.clock_s
        # position at the true transmission time t_tx - dts (linear in dts, mm-exact)
        out["pos"][sel] = measurement.position_at_transmission(st.position_m, st.velocity_m_s, dts)
        out["vel"][sel] = st.velocity_m_s
        out["clk"][sel] = dts
        out["drift"][sel] = st.clock_drift_s_s
        g1 = np.nan_to_num(np.asarray(st.group_delay_s, dtype=np.float64))
        if iono == "iono-free":
            st2 = _get_states(ephemeris, states_fn, sat, t, c["signal2"])
            g2 = np.nan_to_num(np.asarray(st2.group_delay_s, dtype=np.float64))
            out["gd"][sel] = c1[ci[sel]] * g1 + c2[ci[sel]] * g2
        else:
            out["gd"][sel] = g1
        out["valid"][sel] = (np.asarray(st.valid, dtype=bool) & np.all(np.isfinite(st.position_m), axis=1)
                             & np.isfinite(dts))
        if iono == "states":
            out["iono"][sel] = states_fn.ionosphere_m(sat, t, c["signal"])
    return out


def _pack(pb: _Problem, nav, opts: SppOptions, measured: dict, ei, ci, pseudorange, states, valid) -> None:
    """Pack the valid measurements ``(ei, ci)`` into (epochs, slots) arrays of ``pb``;
    ``measured``: the (epochs, measurement columns) Doppler, C/N0 and reported sigma
    (``"doppler"``, ``"cn0"``, ``"sigma"``; None where absent: :func:`_stacked`)."""
    m = pb.m
    if m == 1:  # (the values below: one epoch's measurements in order)
        kmax = len(ei)
        slot = np.arange(kmax)
    else:
        counts = np.bincount(ei, minlength=m)
        kmax = int(counts.max(initial=0))
        start = np.concatenate([[0], np.cumsum(counts)[:-1]])
        slot = np.arange(len(ei)) - start[ei]
    # as many slots as the widest epoch of the chunk: the float sums over the slots are
    # taken as if padded to a multiple of 8 (:func:`_slot_sum`), so that a chunked run is
    # bit-identical to a one-shot run without the cost of padding every array
    pb.k = max(kmax, 1)
    shape = (m, pb.k)

    if m == 1 and len(ei) == pb.k:  # one epoch: its measurements fill the slots in order
        # (ei all 0: the (epoch, slot) of the i-th measurement is (0, i))
        def pack(values, fill=np.nan, dtype=np.float64):
            return np.array(values, dtype=dtype)[None]
    else:
        def pack(values, fill=np.nan, dtype=np.float64):
            out = np.full(shape + np.shape(values)[1:], fill, dtype=dtype)
            out[ei, slot] = values
            return out

    pb.present = pack(np.ones(len(ei), bool), False, bool)
    pb.col = pack(ci, -1, np.intp)
    pb.pseudorange = pack(pseudorange[ei, ci])
    pb.sat_pos = pack(states["pos"][valid])
    pb.sat_vel = pack(states["vel"][valid])
    pb.sat_clock_m = pack(measurement.satellite_clock_m(states["clk"][valid], states["gd"][valid]), 0.0)
    pb.sat_drift = pack(states["drift"][valid])
    one_full = m == 1 and len(ei) == pb.k  # one epoch, every slot a measurement
    key = (id(pb.col_group), ci.tobytes()) if one_full else None
    hit = _PER_SLOT.get(key) if one_full else None
    if hit is None or hit[0] is not pb.col_group:
        fields = _per_slot_fields(pb, colx=np.maximum(pb.col, 0), full=len(ei) == m * pb.k)
        if one_full:  # kept for the next epochs with the same measurement columns (read-only)
            for a in fields:
                if a is not None:
                    a.flags.writeable = False
            if len(_PER_SLOT) > 32:
                _PER_SLOT.clear()
            hit = _PER_SLOT[key] = (pb.col_group, fields)
    else:
        fields = hit[1]
    (pb.group, pb.ifb, pb.primary, pb.system, pb.iono_scale, pb.use_bds_model, pb.error_factor,
     pb.satellite_var) = fields
    cn0 = measured["cn0"]
    pb.cn0 = pack(cn0[ei, ci]) if cn0 is not None and np.isfinite(cn0).any() else None
    reported = measured["sigma"]
    pb.reported_var = pack(reported[ei, ci] ** 2) if reported is not None and np.isfinite(reported).any() else None
    pb.cn0_error_m = opts.cn0_error_m
    pb.iono_free_factor = 3.0 if opts.iono == "iono-free" else 1.0
    # Doppler: range rate -lambda D (m/s); GLONASS needs its channel number
    doppler = measured["doppler"]
    pb.range_rate = (pack(-pb.col_wavelength[ci] * doppler[ei, ci]) if doppler is not None
                     else np.full(shape, np.nan))
    pb.excluded = np.zeros(shape, dtype=bool)
    pb.iono_given = pack(states["iono"][valid]) if opts.iono == "states" else None
    pb.mask_rad = np.radians(opts.elevation_mask_deg)
    pb.troposphere = opts.troposphere
    pb.iono = opts.iono
    pb.nav = nav
    pb.weights = opts.weights


#: Per-slot column constants of one-epoch problems, by layout and measurement columns.
_PER_SLOT: dict = {}


def _per_slot_fields(pb: _Problem, colx, full) -> tuple:
    """(group, ifb, primary, system, iono_scale, use_bds_model, error_factor, satellite_var)
    per slot of ``pb`` from its columns' constants (``colx``: the column of each slot, 0 where
    none; ``full``: every slot holds a measurement, no fill needed)."""
    if full:
        def per_slot(values, fill):
            return values[colx]
    else:
        def per_slot(values, fill):
            return np.where(pb.present, values[colx], fill)
    sat_var = pb.col_satellite_var
    return (per_slot(pb.col_group, 0), per_slot(pb.col_ifb, -1), pb.present & pb.col_primary[colx],
            per_slot(pb.col_sys_all, ""),
            # ionosphere scale from the model's reference frequency to the signal's (_column_constants)
            per_slot(pb.col_iono_scale, 0.0), per_slot(pb.col_iono_bds, False),
            per_slot(pb.col_error_factor, 1.0), None if sat_var is None else per_slot(sat_var, 0.0))


def _check_navigation_systems(nav, observed: dict[str, int]) -> list[str]:
    """Messages for each system whose observations have no ephemeris message at all in
    ``nav`` ("no GLONASS navigation data: its 2880 observations are not used"); raise
    :class:`SatnavError` when no observed system has any.

    ``observed``: system letter -> plausible first-band pseudoranges of the run.
    """
    from ..satellites import SYSTEM_NAMES

    count_by_system = getattr(nav, "count_by_system", None)
    if not callable(count_by_system) or not observed:
        return []
    messages = count_by_system()
    missing = {s: n for s, n in observed.items() if not messages.get(s, 0)}
    observed_systems = sorted(observed, key=SYSTEMS.find)
    if missing and set(missing) == set(observed_systems):
        have = ", ".join(SYSTEM_NAMES.get(s, s) for s, n in messages.items() if n) or "no system"
        wanted = ", ".join(SYSTEM_NAMES.get(s, s) for s in observed_systems)
        raise SatnavError(
            f"no navigation data for the requested systems {''.join(observed_systems)}: the navigation "
            f"files hold ephemerides of {have} only, expected ones of {wanted}"
        )
    return [f"no {SYSTEM_NAMES.get(s, s)} navigation data: its {missing[s]} observations are not used"
            for s in sorted(missing, key=SYSTEMS.find)]


def _prepared_ephemeris(nav):
    """The broadcast messages of ``nav`` prepared for many states calls."""
    from ..orbits.ephemeris import BroadcastEphemeris

    return BroadcastEphemeris(nav)


def _get_states(ephemeris, states_fn, sat, time_ns, signal):
    """States from ``states_fn``, else from the prepared broadcast ``ephemeris``
    (:meth:`BroadcastEphemeris.states <satnav.orbits.ephemeris.BroadcastEphemeris.states>`,
    the same as :func:`~satnav.orbits.ephemeris.broadcast_states`)."""
    if states_fn is not None:
        return states_fn(sat, time_ns, signal)
    return ephemeris.states(sat, time_ns, signal=_nav_signal(signal))


def _nav_signal(signal):
    """The signal name the broadcast group delays know (RINEX 3.02's C1I: BeiDou B1I, C2I in
    RINEX 3.01 and 3.03+)."""
    return "C2I" if signal == "C1I" else signal


def _iono_coefficients(nav, prefix):
    """(alpha, beta) from the navigation header (``GPSA``/``GPSB`` or ``BDSA``/``BDSB``)."""
    header = getattr(nav, "header", None)
    table = getattr(header, "iono_corrections", None) or {}
    a, b = table.get(prefix + "A"), table.get(prefix + "B")
    if a is None or b is None:
        return None
    a = np.asarray(a, dtype=np.float64)[:4]
    b = np.asarray(b, dtype=np.float64)[:4]
    if len(a) < 4 or len(b) < 4 or not (np.any(a != 0) or np.any(b != 0)):
        return None
    return a, b


def _initial_position(obs, initial):
    if initial is not None:
        x0 = np.asarray(initial, dtype=np.float64).reshape(3)
        return x0
    approx = getattr(obs.header, "approx_position_m", None)
    if approx is not None:
        a = np.asarray(approx, dtype=np.float64).reshape(-1)
        if a.size == 3 and np.all(np.isfinite(a)) and 6.2e6 < np.linalg.norm(a) < 6.5e6:
            return a
    return np.zeros(3)


# ====================================================================== model
class _Evaluation:
    """Residuals, design rows and variances of the packed measurements at given positions."""


def _evaluate(pb, ep, rr, clk, *, corrections=True) -> _Evaluation:
    """Linearize the measurements of epochs ``ep`` at receiver positions ``rr`` (len(ep), 3)
    and clocks ``clk`` (len(ep), G) (m).

    (``ep`` is sorted without repeats: as long as ``pb``, it is every epoch, and the packed
    arrays are used as they are; masks that are all true are not applied: the same values.)"""
    if len(ep) == pb.m:
        def rows(a):
            return a
    else:
        def rows(a):
            return a[ep]
    present = rows(pb.present)
    everywhere = present.all()
    # range with the Earth rotation during the flight, line of sight, look angles
    geo = measurement.geometry(rr[:, None, :], rows(pb.sat_pos))
    rng, e, rs = geo.range_m, geo.unit_vector, geo.satellite_ecef_m
    norm_rr = np.sqrt(np.add.reduce(rr * rr, axis=-1))  # (np.linalg.norm(rr, axis=-1))
    near = norm_rr > _EARTH_SURFACE_MIN_M
    # receivers far from the surface (the start at the geocentre) have no horizon
    all_near = near.all()
    if all_near:
        el, az = geo.elevation_rad, geo.azimuth_rad
    else:
        el = np.where(near[:, None], geo.elevation_rad, np.pi / 2)
        az = np.where(near[:, None], geo.azimuth_rad, 0.0)
    ev = _Evaluation()
    ev.az, ev.el, ev.e, ev.rng, ev.sat_pos = az, el, e, rng, rs
    ev.near = near
    ev.height = geo.height_m[:, 0]  # ellipsoidal height of rr (m)
    iono = trop = None  # (zeros where not modelled)
    do = corrections & near
    do_all = bool(corrections) and all_near
    do_any = do_all or do.any()
    if pb.iono in ("klobuchar", "states") and do_any:
        wanted = None if do_all and everywhere else do[:, None] & present  # the models evaluated there only
        iono = measurement.ionospheric_delay_m(
            geo.latitude_rad, geo.longitude_rad, az, el, rows(pb.epochs)[:, None], pb.iono_gps,
            beidou=pb.iono_bds, use_beidou=rows(pb.use_bds_model), frequency_scale=rows(pb.iono_scale),
            where=wanted)
        if pb.iono_given is not None:
            given = rows(pb.iono_given)
            iono = np.where(np.isfinite(given), given, iono)
        if wanted is not None:
            iono = np.where(wanted, iono, 0.0)
    if pb.troposphere and do_any:
        trop = measurement.tropospheric_delay_m(geo.latitude_rad, geo.height_m, el)
        if not do_all:
            trop = np.where(do[:, None], trop, 0.0)
    if iono is None:
        iono = np.zeros(present.shape)
    if trop is None:
        trop = np.zeros(present.shape)
    g = rows(pb.group)
    clock_term = clk[np.arange(len(clk))[:, None], g]  # (np.take_along_axis(clk, g, axis=1))
    if len(pb.ifb_keys):
        ifb = rows(pb.ifb)
        ng = len(pb.clock_systems)
        bias = np.take_along_axis(clk, ng + np.maximum(ifb, 0), axis=1)
        clock_term = clock_term + np.where(ifb >= 0, bias, 0.0)
    model = measurement.predicted_code_m(rng, clock_term, rows(pb.sat_clock_m), iono, trop)
    ev.residual = rows(pb.pseudorange) - model
    if not everywhere:
        ev.residual = np.where(present, ev.residual, 0.0)
    use_snr = pb.cn0 is not None and pb.cn0_error_m > 0
    ev.variance = code_variance(
        el, iono, rows(pb.error_factor), _error_constants(), _IONO_MODES[pb.iono], pb.troposphere,
        pb.iono_free_factor, use_snr, rows(pb.cn0) if use_snr else None, pb.cn0_error_m,
        pb.reported_var is not None, None if pb.reported_var is None else rows(pb.reported_var),
        pb.satellite_var is not None, None if pb.satellite_var is None else rows(pb.satellite_var))
    if all_near:
        ev.usable = present & (el >= pb.mask_rad) & np.isfinite(ev.residual)
    else:
        ev.usable = present & ((el >= pb.mask_rad) | ~near[:, None]) & np.isfinite(ev.residual)
    return ev


#: ``iono`` option -> how :func:`code_variance` counts the ionosphere's error.
_IONO_MODES = {"klobuchar": 0, "states": 0, "none": 1, "iono-free": 2}


def _error_constants() -> np.ndarray:
    """:data:`ERROR_MODEL` as the numbers :func:`code_variance` takes (m, rad, dB-Hz)."""
    e = ERROR_MODEL
    return np.array([e["code_phase_ratio"], e["a_m"], e["b_m"], e["code_bias_m"], e["iono_factor"],
                     e["iono_none_m"], e["tropo_m"], _MIN_ELEVATION_RAD, e["cn0_max_dbhz"]])


def code_variance(el, iono, error_factor, em, iono_mode, troposphere, iono_free_factor, use_snr, snr,
                  cn0_error_m, use_reported, reported_var, use_satellite_var, satellite_var):
    """Variance (m^2) of code pseudoranges at elevations ``el`` (rad): RTKLIB's ``varerr``
    model (:data:`ERROR_MODEL` as ``em``, :func:`_error_constants`) of the phase errors
    ``a^2 + b^2 / sin(el)`` (elevation floored at ``min_elevation_deg``) times the code /
    phase ratio squared (and ``iono_free_factor`` squared), the C/N0 term where ``use_snr``
    (``cn0_error_m``; ``snr`` dB-Hz), the receiver's reported variance ``reported_var`` as a
    floor where ``use_reported``, the system's ``error_factor`` squared; plus the code bias,
    the ionosphere's (``iono_mode`` 0: a fraction of the modelled delay ``iono`` (m), 1: not
    modelled, 2: the iono-free combination), the troposphere's (Saastamoinen or not
    modelled) and, where ``use_satellite_var``, the broadcast orbit + clock error
    ``satellite_var`` (:data:`SATELLITE_ERROR_M`). Only operations numba compiles: the
    compiled one-epoch solver (:mod:`satnav.estimators.spp_kernel`) shares it."""
    ratio, a_m, b_m, code_bias_m, iono_factor = em[0], em[1], em[2], em[3], em[4]
    iono_none_m, tropo_m, min_elevation, cn0_max = em[5], em[6], em[7], em[8]
    sin_el = np.sin(np.maximum(el, min_elevation))
    var = a_m**2 + b_m**2 / sin_el
    if use_snr:
        term = cn0_error_m**2 * 10.0 ** (0.1 * np.maximum(cn0_max - snr, 0.0))
        var = var + select(np.isfinite(snr), term, 0.0)
    var = var * ratio**2 * iono_free_factor**2
    if use_reported:  # weights="reported": the model is a floor
        var = select(np.isfinite(reported_var), np.maximum(var, reported_var), var)
    var = var * error_factor**2
    variance = var + (0.0 if iono_mode == 2 else code_bias_m**2)
    if iono_mode == 0:
        variance = variance + (iono_factor * iono) ** 2
    elif iono_mode == 1:
        variance = variance + iono_none_m**2
    else:
        variance = variance + 0.0
    if troposphere:
        variance = variance + (tropo_m / (sin_el + 0.1)) ** 2
    else:
        variance = variance + 3.0**2
    if use_satellite_var:  # broadcast orbit + clock error (SATELLITE_ERROR_M)
        variance = variance + satellite_var
    return variance


# ====================================================================== least squares
def _design(pb, ep, e, use):
    """Design matrix rows (e, k, 3 + G + B) of the used measurements and which clock and
    inter-frequency-bias parameters they determine (e, G + B).

    Columns: position (-line of sight), one clock per clock group, one inter-frequency bias
    per (group, further band) of ``multi_signal``. A bias is estimated only where its group
    also has a measurement on its first band at that epoch; otherwise its column is left
    empty (the bias is held at 0 and those measurements determine the group's clock).
    """
    g = pb.group[ep]
    ng = len(pb.clock_systems)
    clocks = (g[..., None] == np.arange(ng)) & use[..., None]
    present = clocks.any(axis=1)  # (e, ng)
    parts = [-e, clocks.astype(np.float64)]
    nb = len(pb.ifb_keys)
    if nb:
        ifb = pb.ifb[ep]
        bias = (ifb[..., None] == np.arange(nb)) & use[..., None]
        first_band = (clocks & (ifb < 0)[..., None]).any(axis=1)  # (e, ng)
        present_bias = bias.any(axis=1) & first_band[:, pb.ifb_group]
        parts.append((bias & present_bias[:, None, :]).astype(np.float64))
        present = np.concatenate([present, present_bias], axis=1)
    h = np.where(use[..., None], np.concatenate(parts, axis=-1), 0.0)
    return h, present


def _normal_equations(pb, ep, ev, use):
    h, present_groups = _design(pb, ep, ev.e, use)
    w = np.where(use, 1.0 / ev.variance, 0.0)
    hw = h * w[..., None]
    hw_p, h_p = _slot_padded(hw), _slot_padded(h)
    n = np.matmul(np.swapaxes(hw_p, 1, 2), h_p)
    b = np.einsum("mkp,mk->mp", hw_p, _slot_padded(np.where(use, ev.residual, 0.0)))
    idx = np.arange(present_groups.shape[1]) + 3
    n[:, idx, idx] += ~present_groups  # constrain absent clocks (RTKLIB does the same)
    return h, w, n, b, present_groups


def _solve_batched(n, b):
    """x = n^-1 b per epoch; (x, ok) with ok False (x = 0) for singular systems."""
    try:
        x = np.linalg.solve(n, b[..., None])[..., 0]
        ok = np.all(np.isfinite(x), axis=-1)
        return np.where(ok[:, None], x, 0.0), ok
    except np.linalg.LinAlgError:
        pass
    p = n.shape[-1]
    d = np.sqrt(np.abs(np.diagonal(n, axis1=1, axis2=2)))
    d = np.where(d > 0, d, 1.0)
    ns = n / d[:, :, None] / d[:, None, :]
    ev = np.linalg.eigvalsh(ns)
    ok = ev[:, 0] > 1e-12 * np.maximum(ev[:, -1], 1e-300)
    ns = np.where(ok[:, None, None], ns, np.eye(p))
    x = np.linalg.solve(ns, (b / d)[..., None])[..., 0] / d
    return np.where(ok[:, None], x, 0.0), ok


def _cofactor(n):
    try:
        return np.linalg.inv(n)
    except np.linalg.LinAlgError:
        q = np.full(n.shape, np.nan)
        for i in range(len(n)):  # only reached when some matrix is exactly singular
            try:
                q[i] = np.linalg.inv(n[i])
            except np.linalg.LinAlgError:
                pass
    return q


def _iterate(pb, ep, rr, clk, max_iterations):
    """Gauss-Newton iterations for epochs ``ep``. Returns rr, clk, ok flags and stats."""
    ne = len(ep)
    active = np.ones(ne, dtype=bool)
    last_step = np.full(ne, np.inf)
    singular = np.zeros(ne, dtype=bool)
    iterations = np.zeros(ne, dtype=np.int16)
    everyone = np.arange(ne)
    for _ in range(max_iterations):
        idx = everyone if active.all() else np.flatnonzero(active)
        if not len(idx):
            break
        sub = ep[idx]
        ev = _evaluate(pb, sub, rr[idx], clk[idx])
        use = ev.usable & ~(pb.excluded if len(sub) == pb.m else pb.excluded[sub])
        h, w, n, b, present_groups = _normal_equations(pb, sub, ev, use)
        n_par = 3 + present_groups.sum(axis=1)
        enough = use.sum(axis=1) >= n_par
        dx, ok = _solve_batched(n, b)
        ok &= enough
        singular[idx] |= enough & ~ok
        if not ok.all():
            dx[~ok] = 0.0
        rr[idx] += dx[:, :3]
        clk[idx] += dx[:, 3:]
        step = np.sqrt(np.add.reduce(dx * dx, axis=1))  # (np.linalg.norm(dx, axis=1))
        last_step[idx] = np.where(ok, step, np.inf)
        iterations[idx] += 1
        done = (step < _CONVERGED_M) | ~ok
        active[idx[done]] = False
        # an epoch that lost too many satellites stops (reported later)
    return rr, clk, last_step, singular, iterations


def _iterate_fit(pb, ep, rr, clk, max_iterations):
    """:func:`_iterate` then :func:`_fit` at its positions: ``(rr, clk, last_step, singular,
    iterations, ev)``. A problem of one epoch (the live engine's) is solved by the compiled
    kernel when it is loaded (:func:`satnav.estimators.spp_kernel.use_compiled_spp`; the
    same results), by NumPy otherwise."""
    if pb.m == 1 and _COMPILED is not None and len(ep) == 1:
        out = _COMPILED.solve_compiled(pb, rr, clk, max_iterations)
        if out is not None:
            return out
    rr, clk, last_step, singular, iterations = _iterate(pb, ep, rr, clk, max_iterations)
    return rr, clk, last_step, singular, iterations, _fit(pb, ep, rr, clk)


#: :mod:`satnav.estimators.spp_kernel` once something has imported it (the live engine);
#: None keeps the batch solver from importing it (and numba).
_COMPILED = None
#: :mod:`satnav.estimators.spp_states_kernel` once the live engine loaded it (None: NumPy).
_STATES_COMPILED = None


def _slot_padded(x):
    """``x`` (epochs, slots, ...) padded with zeros to a multiple of 8 slots (at least 8), for
    the matrix products over the slots: summed in the same order whatever the number of
    slots (the widest epoch of a time chunk), so that results do not depend on the chunking
    (as :func:`_slot_sum`)."""
    k = x.shape[1]
    width = max(-(-k // 8) * 8, 8)
    if width == k:
        return x
    out = np.zeros((x.shape[0], width) + x.shape[2:], dtype=x.dtype)
    out[:, :k] = x
    return out


def _slot_sum(x):
    """Sum over the slots (axis 1) of ``x`` (epochs, slots) as NumPy sums it padded with
    zeros to a multiple of 8 slots: its pairwise summation then adds every value in the same
    order whatever the number of slots (the widest epoch of a time chunk), so that results
    do not depend on the chunking."""
    k = x.shape[1]
    width = max(-(-k // 8) * 8, 8)
    if width != k:
        padded = np.zeros((x.shape[0], width))
        padded[:, :k] = x
        x = padded
    return np.sum(x, axis=1)


def _fit(pb, ep, rr, clk):
    """Post-fit quantities at the final positions of epochs ``ep``."""
    ev = _evaluate(pb, ep, rr, clk)
    use = ev.usable & ~pb.excluded[ep]
    h, w, n, b, present_groups = _normal_equations(pb, ep, ev, use)
    ev.use = use
    ev.h, ev.w, ev.n = h, w, n
    ev.n_par = 3 + present_groups.sum(axis=1)
    ev.present_groups = present_groups
    ev.dof = use.sum(axis=1) - ev.n_par
    ev.T = _slot_sum(w * ev.residual**2)
    return ev


def _linear_test(pb, ep, ev, use, false_alarm):
    """Chi-square statistic after re-solving (one linear step) with measurements ``use``."""
    ng = ev.present_groups.shape[1]
    h, present = _design(pb, ep, ev.e, use)  # clock / bias presence with the new mask
    w = np.where(use, ev.w, 0.0)
    hw = h * w[..., None]
    hw_p = _slot_padded(hw)
    n = np.matmul(np.swapaxes(hw_p, 1, 2), _slot_padded(h))
    idx = np.arange(ng) + 3
    n[:, idx, idx] += ~present
    v = np.where(use, ev.residual, 0.0)
    b = np.einsum("mkp,mk->mp", hw_p, _slot_padded(v))
    dx, ok = _solve_batched(n, b)
    v2 = v - np.einsum("mkp,mp->mk", h, dx)
    t = _slot_sum(w * v2**2)
    dof = use.sum(axis=1) - 3 - present.sum(axis=1)
    thr = chi_square_threshold(dof, false_alarm)
    return t, dof, thr, ok


# ====================================================================== driver
class _SppCore:
    """Solves any number of epochs at once with fixed navigation data, options and signal
    plan: the core shared by :func:`solve_spp` (time chunks) and
    :class:`~satnav.estimators.spp_engine.SppEngine` (one epoch). Epochs are independent:
    no state is kept between calls. The motion check and the reduction to the marker are
    left to the caller (they need neighbouring epochs / the observation header)."""

    def __init__(self, nav, opts: SppOptions, states=None, build_problem=None) -> None:
        """``build_problem``: packs the measurements (the signature of :func:`_build_problem`,
        which is the default)."""
        self.nav = nav
        self.opts = opts
        self.states = states
        self.build_problem = _build_problem if build_problem is None else build_problem
        # prepared once for every call: the broadcast messages (message tables and their
        # sorted index per signal) and the GLONASS channels of the satellites seen
        self.ephemeris = _prepared_ephemeris(nav) if states is None else None
        self._channels: dict = {}
        self._plans: dict = {}
        self._plans_by_choice: dict = {}
        self._codes: dict = {}
        self._choices: dict = {}

    def signal_plan(self, obs, *, require: bool = True) -> _SignalPlan:
        """:func:`_signal_plan` of ``obs`` with this core's options, kept per satellite set and
        codes present (a per-epoch engine sees the same ones epoch after epoch; the plan
        depends on nothing else of ``obs``). Epochs whose codes present or satellites differ
        but not the codes chosen nor the satellites of the systems planned (a signal no
        column reads appears or goes, a satellite of a system not asked for rises) get the
        same plan object, and so the layouts made for it
        (:func:`satnav.estimators.spp_epoch.epoch_layout`)."""
        # first by the rows' satellites and codes as they are (a stream repeats them epoch
        # after epoch), then by what the plan depends on (satellites, codes per system)
        raw = (require, tuple(obs.codes), obs.sat.tobytes(), obs.code.tobytes())
        plans = self._plans
        plan = plans.get(raw)
        if plan is not None:
            return plan
        sats = obs.satellite_indices
        codes = self._codes_key(obs)
        key = (require, sats.tobytes(), codes)
        plan = plans.get(key)
        if plan is None:  # the codes chosen kept per codes present (satellites come and go)
            hit = self._choices.get(codes)
            if hit is None:
                if len(self._choices) > 128:
                    self._choices.clear()
                per = dict(codes)
                choice = _code_choice({s: set(per.get(s, ())) for s in SYSTEMS}, self.opts)
                hit = self._choices[codes] = (choice, _choice_key(choice))
            # one plan per choice and planned satellites: codes present that change no choice
            # (a signal no column reads appears or goes) and satellites of other systems give
            # the same plan, and with it the layouts made for it
            plan = _plan_of(hit[0], sats, require=require)
            by_choice = (require, plan.satellites.tobytes(), hit[1])
            same = self._plans_by_choice.get(by_choice)
            if same is None:
                if len(self._plans_by_choice) > 128:
                    self._plans_by_choice.clear()
                self._plans_by_choice[by_choice] = plan
            else:
                plan = same
        if len(plans) > 128:
            plans.clear()
        plans[key] = plans[raw] = plan
        return plan

    def _codes_key(self, obs) -> tuple:
        """``obs.codes_by_system()`` as a tuple, kept per codes and (system, code) presence
        (what it depends on; a stream's epochs repeat them)."""
        n_codes = max(len(obs.codes), 1)
        which = system_number_of(obs.sat).astype(np.int64) * n_codes + obs.code
        present = np.bincount(which, minlength=len(SYSTEMS) * n_codes) > 0
        raw = (tuple(obs.codes), present.tobytes())
        out = self._codes.get(raw)
        if out is None:
            if len(self._codes) > 128:
                self._codes.clear()
            out = self._codes[raw] = tuple((k, tuple(v)) for k, v in obs.codes_by_system().items())
        return out

    def _glonass_channels(self, obs, nav, sats) -> np.ndarray:
        """:func:`_glonass_channels`, kept per observation header and satellite set."""
        key = (id(obs.header), sats.tobytes())
        hit = self._channels.get(key)
        if hit is None or hit[0] is not obs.header:
            if len(self._channels) > 256:
                self._channels.clear()
            hit = self._channels[key] = (obs.header, _glonass_channels(obs, nav, sats))
        return hit[1].copy()

    def solve(self, obs, x0, plan: _SignalPlan, clock0: dict | None = None) -> tuple[Solution, dict[str, int]]:
        """Solution of the epochs of ``obs`` and the plausible first-band pseudoranges per
        system (for the navigation check). ``clock0``: clock group -> receiver clock (m) to
        start the iterations from (default 0; :func:`warm_start`)."""
        pb = self.build_problem(obs, self.nav, self.opts, self.states, plan, ephemeris=self.ephemeris,
                                channels=self._glonass_channels)
        if pb is None:
            return _unsolved(obs.epochs, plan, self.opts), {}
        return _solve(pb, x0, self.opts, clock0), pb.observed_by_system


def warm_start(solution: Solution):
    """(position (3,) m, clock group -> receiver clock (m)) of the last valid epoch of
    ``solution``, to start the next epoch's iterations from (a per-epoch engine without a
    start position: two iterations instead of six or seven from the geocentre and a zero
    clock; the converged position moves by less than the convergence limit); None when no
    epoch is valid."""
    if len(solution) == 1:  # (a per-epoch engine's: the same, on Python numbers)
        x = solution.position_m[0].tolist()
        if not (solution.status[0] <= 1 and all(map(math.isfinite, x))):
            return None
        clocks = {g: c * SPEED_OF_LIGHT for g, c in zip(solution.clock_systems, solution.clock_bias_s[0].tolist())
                  if math.isfinite(c)}
        return np.array(x), clocks
    good = np.flatnonzero(solution.valid & np.all(np.isfinite(solution.position_m), axis=1))
    if not len(good):
        return None
    i = good[-1]
    clocks = {g: float(c) * SPEED_OF_LIGHT for g, c in zip(solution.clock_systems, solution.clock_bias_s[i])
              if np.isfinite(c)}
    return solution.position_m[i].copy(), clocks


def _base_options(opts: SppOptions) -> dict:
    return {"iono": opts.iono, "elevation_mask_deg": float(opts.elevation_mask_deg), "weights": opts.weights}


def _unsolved(epochs, plan: _SignalPlan, opts: SppOptions) -> Solution:
    """Solution of epochs without any observation of a planned system (status 10)."""
    m, n, ng = len(epochs), len(plan.satellites), len(plan.clock_systems)
    nan1 = np.full(m, np.nan)
    return Solution(
        time_ns=np.asarray(epochs, dtype=np.int64).copy(), position_m=np.full((m, 3), np.nan),
        clock_bias_s=np.full((m, ng), np.nan), clock_systems=plan.clock_systems,
        velocity_m_s=np.full((m, 3), np.nan), clock_drift_s_s=nan1.copy(),
        gdop=nan1.copy(), pdop=nan1.copy(), hdop=nan1.copy(), vdop=nan1.copy(), tdop=nan1.copy(),
        status=np.full(m, 10, dtype=np.int8), n_used=np.zeros(m, dtype=np.int16),
        n_used_by_system={s: np.zeros(m, dtype=np.int16) for s in plan.codes},
        satellites=plan.satellites.copy(), residuals_m=np.full((m, n), np.nan),
        used=np.zeros((m, n), dtype=bool), excluded=np.zeros((m, n), dtype=bool),
        azimuth_rad=np.full((m, n), np.nan), elevation_rad=np.full((m, n), np.nan),
        test_statistic=nan1.copy(), test_threshold=nan1.copy(),
        covariance_m2=np.full((m, 3, 3), np.nan), iterations=np.zeros(m, dtype=np.int16),
        signals=dict(plan.signals), options=_base_options(opts),
    )


def _solve(pb: _Problem, x0, opts: SppOptions, clock0: dict | None = None) -> Solution:
    """Iterate, exclude faults, grade and assemble the solution of every epoch of ``pb``
    (from the position ``x0`` and the clocks ``clock0``, group -> m, default 0)."""
    m = pb.m
    ng = len(pb.clock_systems)
    rr = np.empty((m, 3))
    rr[:] = x0  # (np.tile's values)
    clk = np.zeros((m, ng + len(pb.ifb_keys)))
    for j, g in enumerate(pb.clock_systems):
        if clock0 and g in clock0:
            clk[:, j] = clock0[g]
    rr, clk, last_step, singular, iterations, ev = _iterate_fit(pb, np.arange(m), rr, clk, opts.max_iterations)
    threshold = chi_square_threshold(ev.dof, opts.false_alarm)
    if opts.raim and (m > 1 or (ev.dof[0] >= 2 and ev.T[0] > threshold[0])):  # (one epoch: only when failing)
        ev, rr, clk, threshold = _fault_exclusion(
            pb, ev, rr, clk, threshold, opts.false_alarm, opts.max_exclusions, opts.max_iterations,
            last_step, singular,
        )
    if m == 1 and _COMPILED is not None:  # the live engine's epoch: the same solution, compiled
        out = _COMPILED.finish_compiled(pb, ev, rr, clk, threshold, last_step, singular, iterations, opts)
        if out is not None:
            return out
    status, tested, dops = _grade(pb, ev, rr, threshold, last_step, singular, opts.height_range_m)
    solved = status <= SOLVED_STATUS_MAX
    position = np.where(solved[:, None], rr, np.nan)
    clock = np.where(solved[:, None] & ev.present_groups[:, :ng], clk[:, :ng] / SPEED_OF_LIGHT, np.nan)
    all_solved = bool(solved.all())
    if all_solved:  # (every matrix inverted, as below)
        cov = _cofactor(ev.n)[:, :3, :3].copy()
    else:
        cov = np.full((m, 3, 3), np.nan)
        if solved.any():
            cov[solved] = _cofactor(ev.n[solved])[:, :3, :3]
    cols = _satellite_columns(pb, ev, solved, all_solved)
    vel = np.full((m, 3), np.nan)
    drift = np.full(m, np.nan)
    if opts.velocity and np.isfinite(pb.range_rate).any():
        vel, drift, _, _ = estimate_velocity(
            pb.range_rate, position, ev.sat_pos, pb.sat_vel, pb.sat_drift,
            ev.use if all_solved else ev.use & solved[:, None], weights=np.sin(np.maximum(ev.el, 0.1)) ** 2,
        )
    if not all_solved:
        unsolved = ~solved
        for a in dops:
            a[unsolved] = np.nan
    options = _base_options(opts)
    if pb.ifb_keys:  # inter-frequency biases (m) of multi_signal, per "group:band"
        options["inter_frequency_bias_m"] = {
            f"{g}:{b}": np.where(solved & ev.present_groups[:, ng + j], clk[:, ng + j], np.nan)
            for j, (g, b) in enumerate(pb.ifb_keys)
        }
    gdop, pdop, hdop, vdop, tdop = dops
    return Solution(
        time_ns=pb.epochs.copy(), position_m=position, clock_bias_s=clock, clock_systems=pb.clock_systems,
        velocity_m_s=vel, clock_drift_s_s=drift, gdop=gdop, pdop=pdop, hdop=hdop, vdop=vdop, tdop=tdop,
        status=status, n_used=(cols["used"].sum(axis=1) if all_solved
                               else np.where(solved, cols["used"].sum(axis=1), 0)).astype(np.int16),
        n_used_by_system=cols["by_system"], satellites=pb.satellites.copy(), residuals_m=cols["residuals"],
        used=cols["used"], excluded=cols["excluded"], azimuth_rad=cols["az"], elevation_rad=cols["el"],
        test_statistic=np.where(solved & tested, ev.T, np.nan),
        test_threshold=np.array(threshold, dtype=np.float64) if all_solved else np.where(solved, threshold, np.nan),
        covariance_m2=cov, iterations=iterations, signals=dict(pb.signals), reference_point="ARP",
        options=options,
    )


def _grade(pb: _Problem, ev, rr, threshold, last_step, singular, height_range_m):
    """Status code of every epoch (:data:`~satnav.estimators.solution.STATUS`), whether it
    had redundancy for the residual test, and its DOPs (g, p, h, v, t)."""
    use = ev.use
    m = pb.m
    ng = len(pb.clock_systems)
    enough = use.sum(axis=1) >= ev.n_par
    tested = ev.dof >= 1
    failed = tested & (ev.T > threshold)
    # DOP of the satellites (each once: its first-band measurement, else a further band's)
    one = _one_per_satellite(pb, use)
    if m == 1:  # (the same values, in a third of the calls)
        los = enu_line_of_sight(ev.az[0], ev.el[0])
        dops = [np.array([v]) for v in dilution_of_precision_epoch(los, pb.group[0], ng, used=one[0])]
    else:
        dops = dilution_of_precision(ev.az, ev.el, one, pb.group, ng)
    height_ok = True
    if height_range_m is not None:
        height = ev.height if getattr(ev, "height", None) is not None else ecef_to_geodetic(rr)[2]
        height_ok = (height >= height_range_m[0]) & (height <= height_range_m[1])
    status = epoch_status(pb.excluded.any(axis=1), tested, ev.dof, failed, dops[0], height_ok, last_step, singular,
                          enough, pb.n_observed, pb.n_with_ephemeris)
    return np.asarray(status, dtype=np.int8), tested, dops


def epoch_status(any_excluded, tested, dof, failed, gdop, height_ok, last_step, singular, enough, n_observed,
                 n_with_ephemeris):
    """Status code (:data:`~satnav.estimators.solution.STATUS`) of epochs (arrays: the batch
    solver's) or of one epoch (numbers: the compiled one-epoch kernel,
    :func:`satnav.estimators.spp_kernel.finish_epoch`), later rules winning: 1 a measurement
    was excluded; 2 no redundancy for the residual test (``tested`` False; or, after an
    exclusion, a single redundant measurement cannot confirm the result); 3 the residual
    test failed (``failed``); 4 GDOP above :data:`_MAX_GDOP` (or NaN) of an epoch otherwise
    0 or 1; 6 height outside the allowed range (``height_ok`` False) of an epoch otherwise
    0-2; 14 not converged (last step above :data:`_NOT_CONVERGED_M`, m); 13 singular (or
    GDOP NaN with enough measurements); 11 fewer measurements than unknowns (``enough``
    False), 12 when that is for want of ephemerides (at least 4 observed, fewer than 4 with
    one); 10 nothing observed. Only operations numba compiles."""
    status = select(any_excluded, 1, 0)
    status = select(np.logical_not(tested) | (any_excluded & (dof < 2)), 2, status)
    status = select(failed, 3, status)
    status = select((status <= 1) & np.logical_not(gdop <= _MAX_GDOP), 4, status)
    status = select((status <= 2) & np.logical_not(height_ok), 6, status)
    status = select(last_step > _NOT_CONVERGED_M, 14, status)
    status = select(singular | (enough & np.logical_not(np.isfinite(gdop))), 13, status)
    short = np.logical_not(enough)
    status = select(short, 11, status)
    status = select(short & (n_observed >= 4) & (n_with_ephemeris < 4), 12, status)
    return select(n_observed == 0, 10, status)


def _satellite_columns(pb: _Problem, ev, solved, all_solved=False) -> dict:
    """Per-satellite outputs (epochs x output columns): residuals, used, excluded, azimuth,
    elevation, and satellites used per system. ``all_solved``: every epoch is solved (its
    masks are skipped: the same values)."""
    m = pb.m
    use = ev.use
    n_cols = len(pb.satellites)
    residuals = np.full((m, n_cols), np.nan)
    used_cols = np.zeros((m, n_cols), dtype=bool)
    excluded_cols = np.zeros((m, n_cols), dtype=bool)
    az_cols = np.full((m, n_cols), np.nan)
    el_cols = np.full((m, n_cols), np.nan)
    # per satellite: first-band values written last so they win over further bands'
    one_column = pb.col_primary.all()  # one measurement column per satellite
    if m == 1 and one_column and all_solved and pb.present.all():
        # one epoch, every slot a measurement, each of its own satellite: the cells below
        # are the slots in order (ei all 0, si = 0, 1, ...), read as rows
        ci = pb.col_out[pb.col[0]]
        excluded_cell = pb.excluded[0]
        residuals[0, ci] = np.where(use[0] | excluded_cell, ev.residual[0], np.nan)
        used_cols[0, ci] = use[0]
        excluded_cols[0, ci] = excluded_cell
        if ev.near[0]:
            az_cols[0, ci] = ev.az[0]
            el_cols[0, ci] = ev.el[0]
    else:
        _satellite_cells(pb, ev, solved, all_solved, one_column, residuals, used_cols, excluded_cols, az_cols,
                         el_cols)
    by_system = {}
    for s, columns in _system_columns(pb):
        by_system[s] = (used_cols[:, columns]).sum(axis=1).astype(np.int16)
    return {"residuals": residuals, "used": used_cols, "excluded": excluded_cols, "az": az_cols,
            "el": el_cols, "by_system": by_system}


def _satellite_cells(pb, ev, solved, all_solved, one_column, residuals, used_cols, excluded_cols, az_cols,
                     el_cols) -> None:
    """:func:`_satellite_columns`' cells of any number of epochs and bands (written in place)."""
    use = ev.use
    ei, si = np.nonzero(pb.present)
    if not one_column:
        order = np.argsort(pb.primary[ei, si], kind="stable")
        ei, si = ei[order], si[order]
    ci = pb.col_out[pb.col[ei, si]]
    use_cell, excluded_cell = use[ei, si], pb.excluded[ei, si]
    if all_solved:  # (solved_cell all true: the same values)
        residuals[ei, ci] = np.where(use_cell | excluded_cell, ev.residual[ei, si], np.nan)
        used_cell = use_cell
        shown = ev.near[ei]
    else:
        solved_cell = solved[ei]
        residuals[ei, ci] = np.where(solved_cell & (use_cell | excluded_cell), ev.residual[ei, si], np.nan)
        used_cell = use_cell & solved_cell
        shown = solved_cell & ev.near[ei]
    if one_column:  # no cell written twice
        used_cols[ei, ci] = used_cell
        excluded_cols[ei, ci] = excluded_cell
    else:
        np.logical_or.at(used_cols, (ei, ci), used_cell)
        np.logical_or.at(excluded_cols, (ei, ci), excluded_cell)
    if shown.all():
        az_cols[ei, ci] = ev.az[ei, si]
        el_cols[ei, ci] = ev.el[ei, si]
    else:
        az_cols[ei, ci] = np.where(shown, ev.az[ei, si], np.nan)
        el_cols[ei, ci] = np.where(shown, ev.el[ei, si], np.nan)


def _system_columns(pb) -> list:
    """(system, output columns of its satellites (bool mask)) per system of ``pb``, in order of
    appearance; kept on the layout arrays (the same for every epoch of a plan)."""
    key = id(pb.col_system)
    hit = _SYSTEM_COLUMNS.get(key)
    if hit is None or hit[0] is not pb.col_system:
        if len(_SYSTEM_COLUMNS) > 64:
            _SYSTEM_COLUMNS.clear()
        cols = pb.col_system
        hit = _SYSTEM_COLUMNS[key] = (cols, [(s, cols == s) for s in dict.fromkeys(cols.tolist())])
    return hit[1]


_SYSTEM_COLUMNS: dict = {}


def _one_per_satellite(pb, use):
    """``use`` keeping one measurement per satellite and epoch (its first band's when used)."""
    if not len(pb.ifb_keys):
        return use
    m = use.shape[0]
    first_used = np.zeros((m, len(pb.satellites)), dtype=bool)
    ei, si = np.nonzero(use & pb.primary)
    first_used[ei, pb.col_out[pb.col[ei, si]]] = True
    out = use & pb.primary
    ei, si = np.nonzero(use & ~pb.primary)
    oc = pb.col_out[pb.col[ei, si]]
    # a further band counts only for a satellite without a first-band measurement (one of them)
    take = ~first_used[ei, oc]
    ei, si, oc = ei[take], si[take], oc[take]
    _, first = np.unique(ei * len(pb.satellites) + oc, return_index=True)
    out[ei[first], si[first]] = True
    return out


def motion_inconsistent(time_ns, position_m, velocity_m_s, solved, tolerance_m=50.0,
                        tolerance_m_s=2.0, max_gap_s=120.0) -> np.ndarray:
    """Epochs whose position contradicts the Doppler-predicted motion on every side.

    For consecutive solved epochs i, j (gap <= ``max_gap_s``) with velocities, the link is
    bad when ``|x_j - x_i - (v_i + v_j) / 2 dt| > tolerance_m + tolerance_m_s dt`` (the
    trapezoid rule is exact for constant acceleration). An epoch is inconsistent when it
    has at least one link and all its links are bad: an isolated bad epoch breaks both of
    its links and is flagged, while its good neighbours keep a good link on their other
    side.

    Returns
    -------
    ndarray bool (m,)
    """
    idx = np.flatnonzero(solved & np.all(np.isfinite(velocity_m_s), axis=1) & np.all(np.isfinite(position_m), axis=1))
    out = np.zeros(len(time_ns), dtype=bool)
    if len(idx) < 2:
        return out
    dt = np.diff(time_ns[idx]) / 1e9
    pred = position_m[idx[:-1]] + 0.5 * (velocity_m_s[idx[:-1]] + velocity_m_s[idx[1:]]) * dt[:, None]
    miss = np.linalg.norm(position_m[idx[1:]] - pred, axis=1)
    link = dt <= max_gap_s
    bad = link & (miss > tolerance_m + tolerance_m_s * dt)
    good = link & ~bad
    n_links = np.zeros(len(idx), dtype=int)
    n_good = np.zeros(len(idx), dtype=int)
    n_links[:-1] += link
    n_links[1:] += link
    n_good[:-1] += good
    n_good[1:] += good
    out[idx] = (n_links > 0) & (n_good == 0)
    return out


def _fault_exclusion(pb, ev, rr, clk, threshold, false_alarm, max_exclusions, max_iterations, last_step, singular):
    """Exclude faulty measurements (or systems) epoch by epoch, all failing epochs at once."""
    systems = None
    for _ in range(max_exclusions):
        failing = (ev.dof >= 1) & (ev.T > threshold)
        # identification needs one more redundant measurement than detection
        cand = np.flatnonzero(failing & (ev.dof >= 2))
        if not len(cand):
            break
        if systems is None:
            systems = list(dict.fromkeys(pb.col_system.tolist()))
        sub = _take(ev, cand)
        q = _cofactor(sub.n)
        w_std = standardized_residuals(sub.residual, sub.variance, sub.h, q, sub.use)
        worst = np.argmax(w_std, axis=1)
        has_worst = w_std[np.arange(len(cand)), worst] > 0
        one = sub.use.copy()
        one[np.arange(len(cand)), worst] = False
        t1, dof1, thr1, ok1 = _linear_test(pb, cand, sub, one, false_alarm)
        pass1 = ok1 & has_worst & (dof1 >= 1) & (t1 <= thr1)
        # whole-system candidates
        best_ratio = np.full(len(cand), np.inf)
        best_sys_mask = np.zeros_like(sub.use)
        for s in systems:
            in_s = sub.use & (pb.system[cand] == s)
            n_s = in_s.sum(axis=1)
            if not (n_s >= 2).any():
                continue
            keep = sub.use & ~in_s
            ts, dofs, thrs, oks = _linear_test(pb, cand, sub, keep, false_alarm)
            ratio = np.where(oks & (n_s >= 2) & (dofs >= 1), ts / thrs, np.inf)
            better = ratio < best_ratio
            best_ratio = np.where(better, ratio, best_ratio)
            best_sys_mask = np.where(better[:, None], in_s, best_sys_mask)
        pass_sys = best_ratio <= 1.0
        exclude_now = np.zeros_like(sub.use)
        take_one = pass1 | (~pass_sys & has_worst)
        exclude_now[np.arange(len(cand)), worst] = take_one
        exclude_now |= np.where((~take_one & pass_sys)[:, None], best_sys_mask, False)
        changed = exclude_now.any(axis=1)
        if not changed.any():
            break
        ep = cand[changed]
        pb.excluded[ep] |= exclude_now[changed]
        rr_e, clk_e, step_e, singular_e, _, new = _iterate_fit(pb, ep, rr[ep].copy(), clk[ep].copy(), max_iterations)
        rr[ep], clk[ep] = rr_e, clk_e
        last_step[ep], singular[ep] = step_e, singular_e
        _put(ev, ep, new)
        threshold[ep] = chi_square_threshold(new.dof, false_alarm)
    return ev, rr, clk, threshold


_FIELDS_2D = ("az", "el", "rng", "residual", "variance", "usable", "use", "w")
_FIELDS_ND = ("e", "sat_pos", "h", "n", "present_groups")
_FIELDS_1D = ("near", "n_par", "dof", "T", "height")


def _take(ev, idx):
    sub = _Evaluation()
    for f in _FIELDS_2D + _FIELDS_ND + _FIELDS_1D:
        setattr(sub, f, getattr(ev, f)[idx])
    return sub


def _put(ev, idx, new):
    for f in _FIELDS_2D + _FIELDS_ND + _FIELDS_1D:
        getattr(ev, f)[idx] = getattr(new, f)
