"""Library workflows: what the ``satnav`` commands do, callable from Python.

* :func:`solve_files` - positions from observation and navigation files (``satnav solve``):
  file kinds detected by content, phone defaults for Android logs and GSDC files, the
  ionosphere default, the navigation-coverage warning, single point positioning or, with
  base observations, DGNSS / RTK. Nothing is printed; warnings are issued as usual and
  also collected on the solution (``solution.warnings``), so that worker processes can
  return them.
* :func:`broadcast_orbits` and :func:`compare_orbits` - broadcast satellite orbits and
  clocks on a time grid and their comparison with precise SP3/CLK products
  (``satnav orbits``).

Options are plain data (:mod:`satnav.options`). Nothing here imports the command line.
"""

from __future__ import annotations

import warnings
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from os import PathLike
from typing import Any

import numpy as np

from .errors import SatnavError, SatnavWarning
from .options import OrbitComparisonOptions, SolveOptions

__all__ = [
    "solve_files",
    "read_observations",
    "PHONE_SOLVE_OPTIONS",
    "phone_solve_options",
    "is_phone",
    "warn_if_no_overlap",
    "broadcast_orbits",
    "compare_orbits",
    "BroadcastOrbits",
    "OrbitComparison",
    "TIME_TAG_TOLERANCE_S",
]

PathType = str | PathLike

#: :func:`~satnav.estimators.spp.solve_spp` options for phones (used by :func:`solve_files`
#: on Android input): phone code errors are metres to tens of metres and grow quickly as the
#: C/N0 falls (small antennas, multipath), so the measurements are weighted by C/N0 with
#: RTKLIB EX's model ``(300 c)^2 10^((52 - C/N0) / 10)``, c = 0.003 m (sigma about 6 m at
#: 32 dB-Hz, 18 m at 22 dB-Hz). With elevation weighting alone the residual test fails on
#: most phone epochs and fault exclusion removes good measurements. The code is also
#: carrier-smoothed over 60 s (Hatch filter on the accumulated delta range, restarted at
#: every ADR reset, slip or clock discontinuity): phone code noise and multipath are metres
#: from one second to the next while the ADR is millimetres.
PHONE_SOLVE_OPTIONS = {"cn0_error_m": 0.003, "smoothing_s": 60.0}

#: Receivers' time tags differ by milliseconds (gsi: up to 9 ms): a base epoch "30 s" old is
#: often 30.004 s old, so :attr:`SolveOptions.max_age_s` is allowed this much more.
TIME_TAG_TOLERANCE_S = 0.5

#: SolveOptions.mode -> :func:`~satnav.estimators.rtk.solve_rtk` mode.
_RTK_MODES = {"dgnss": "dgnss", "rtk-kinematic": "kinematic", "rtk-static": "static"}

#: ``ObsHeader.program`` of observations read from a GSDC ``device_gnss.csv``.
_GSDC_PROGRAM = "satnav (GSDC device_gnss.csv)"


# ---------------------------------------------------------------------------- observations
def read_observations(path: PathType, *, strict: bool = False):
    """Observations of ``path`` whatever its format, told by content
    (:func:`satnav.info.detect_format`): RINEX 2/3/4 (Hatanaka, compressed), an Android
    GnssLogger log, or a GSDC ``device_gnss.csv`` (by its ``.csv`` name).

    Returns :class:`satnav.observations.Observations`; raises SatnavError for other files.
    """
    from .info import detect_format, split_archive_inputs

    path, _ = split_archive_inputs(path, None)  # an archive gives its observation member
    fmt, _ = detect_format(path)
    if fmt == "rinex-obs":
        from .io.rinex_obs import read_rinex_obs

        return read_rinex_obs(path, strict=strict)
    if fmt in ("android-gnsslogger", "gsdc-device-gnss", "gsdc-derived") or str(path).endswith(".csv"):
        from .io.android import read_phone_observations

        return read_phone_observations(path, fmt, strict=strict)
    raise SatnavError(f"{path}: a {fmt} file is not an observation file; expected RINEX observations")


def is_phone(obs) -> bool:
    """True when ``obs`` came from an Android log or a GSDC file (marker ``Android``)."""
    return getattr(obs.header, "marker_name", "") == "Android"


def _is_gsdc(obs) -> bool:
    """True when ``obs`` was read from a GSDC ``device_gnss.csv`` (it carries Google's
    satellite states: no navigation file is needed)."""
    return getattr(obs.header, "program", "") in (_GSDC_PROGRAM, "satnav (GSDC derived.csv)")


def phone_solve_options(obs) -> dict[str, Any]:
    """:data:`PHONE_SOLVE_OPTIONS` (C/N0 weighting, 60 s carrier smoothing) when ``obs`` came
    from a phone, else an empty dict."""
    return dict(PHONE_SOLVE_OPTIONS) if is_phone(obs) else {}


def warn_if_no_overlap(obs, nav, obs_label, nav_labels: Sequence[str]) -> None:
    """Warn (naming both spans) when no navigation message is within 4 h of the observations."""
    from .gnss_time import NS_PER_S, format_gpst

    if not len(obs.epochs):
        return
    first, last = int(obs.epochs.min()), int(obs.epochs.max())
    nav_first, nav_last = (int(t) for t in nav.time_span())
    margin = 4 * 3600 * NS_PER_S
    if nav_last < first - margin or nav_first > last + margin:
        warnings.warn(
            f"{obs_label}: observations {format_gpst(first)} .. {format_gpst(last)} but the navigation "
            f"files ({', '.join(nav_labels)}) cover {format_gpst(nav_first)} .. {format_gpst(nav_last)}: "
            "no ephemeris for these epochs",
            SatnavWarning,
            stacklevel=3,
        )


# ---------------------------------------------------------------------------- solving
def solve_files(
    obs,
    navs: Sequence[PathType] | Any = (),
    options: SolveOptions | None = None,
    *,
    base=None,
    states=None,
    progress: Callable[[str], None] | None = None,
):
    """Positions of every epoch of an observation file: what ``satnav solve`` computes.

    Parameters
    ----------
    obs : str, Path or Observations
        Observation file (RINEX, Android GnssLogger log, GSDC ``device_gnss.csv``; the kind
        is told by content, :func:`read_observations`) or observations already read.
    navs : sequence of str or Path, or Navigation
        Broadcast navigation files (RINEX 2/3/4, merged), or navigation data already read.
        May be empty for a GSDC file (its satellite states are used).
    options : SolveOptions, optional
        Mode, systems, masks and models (default ``SolveOptions()``: SPP). ``mode="spp"`` solves single point positions
        (:func:`~satnav.estimators.spp.solve_spp`); the other modes need ``base`` and use
        :func:`~satnav.estimators.rtk.solve_rtk`.
    base : str, Path or Observations, optional
        Base station observations (RINEX) for DGNSS / RTK.
    states : callable, optional
        A satellite-state source for SPP (``states(sat, time_ns, signal)``); default: the
        satellite states of a GSDC file, else the navigation data.
    progress : callable, optional
        Called with a short text as each stage begins (``"reading navigation data"``, ...).

    Returns
    -------
    Solution or RtkSolution
        With ``warnings``: the text of every warning issued during the run (they are also
        re-issued through :mod:`warnings` when the run ends, or fails).

    Phone defaults: for Android logs and GSDC files, :data:`PHONE_SOLVE_OPTIONS` (C/N0
    weighting, 60 s carrier smoothing) unless ``options`` says otherwise; the ionosphere of
    a GSDC file is its own broadcast-model delays (``iono="states"``) unless set.
    """
    if options is None:
        options = SolveOptions()
    if not isinstance(options, SolveOptions):
        raise SatnavError(f"options: expected SolveOptions, got {type(options).__name__}")
    caught: list = []
    try:
        with warnings.catch_warnings(record=True) as caught:
            solution = _solve(obs, navs, options, base=base, states=states, progress=progress or _no_progress)
    finally:  # outside the recording context: the caller's filters and display apply
        _reissue(caught)
    messages = [str(w.message) for w in caught] + list(getattr(solution, "warnings", None) or ())
    solution.warnings = list(dict.fromkeys(messages))  # each message once, in the order issued
    return solution


def _no_progress(text: str) -> None:
    pass


def _reissue(caught) -> None:
    """Issue recorded warnings again once the recording context is left (the caller's filters
    and display apply), the same warning at the same place once per run as usual."""
    if not caught:
        return
    registry: dict = {}
    for w in caught:
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno, registry=registry,
                               source=w.source)


def _solve(obs, navs, options: SolveOptions, *, base, states, progress):
    from .info import split_archive_inputs

    obs, navs = split_archive_inputs(obs, navs)  # archives (zip/tar) give their members
    if isinstance(obs, (str, PathLike)):
        progress(f"reading {obs}")
        obs = read_observations(obs, strict=options.strict)
    obs_label = obs.source or "observations"
    progress("reading navigation data")
    gsdc = _is_gsdc(obs)
    nav = _navigation(navs, options, needed=states is None and not gsdc)
    if nav is not None:
        warn_if_no_overlap(obs, nav, obs_label, _nav_labels(navs))
    progress(f"solving {len(obs.epochs)} epochs")
    if base is not None:
        if not options.relative:
            raise SatnavError("base observations given with mode 'spp': expected mode dgnss, rtk-kinematic "
                              "or rtk-static")
        return _solve_relative(obs, base, nav, options)
    if options.relative:
        raise SatnavError(f"mode {options.mode!r} needs base observations (base=...)")
    from .estimators.spp import solve_spp

    kwargs = phone_solve_options(obs)
    if options.cn0_error_m is not None:
        kwargs["cn0_error_m"] = options.cn0_error_m
    if options.weights:
        kwargs["weights"] = options.weights
    if options.multi_signal:
        kwargs["multi_signal"] = True
    if options.smoothing_s is not None:
        kwargs["smoothing_s"] = options.smoothing_s
    if states is not None:
        kwargs["states"] = states
    elif gsdc:
        from .io.android import gsdc_states

        kwargs["states"] = gsdc_states(obs)
    iono = options.iono or (
        "states" if callable(getattr(kwargs.get("states"), "ionosphere_m", None)) else "klobuchar"
    )
    return solve_spp(
        obs, nav, systems=options.systems, elevation_mask_deg=options.elevation_mask_deg,
        exclude=options.exclude, signals=options.signals_dict, iono=iono, raim=options.raim,
        reduce_to_marker=options.reduce_to_marker, **kwargs,
    )


def _nav_labels(navs) -> list[str]:
    if _is_navigation(navs):
        return [str(getattr(navs, "source", "") or "navigation data")]
    return [str(p) for p in navs]


def _is_navigation(navs) -> bool:
    return hasattr(navs, "count_by_system") and hasattr(navs, "time_span")


def _navigation(navs, options: SolveOptions, *, needed: bool):
    """The merged navigation data of ``navs`` (None when none is given and none is needed)."""
    if _is_navigation(navs):
        nav = navs
        labels = _nav_labels(navs)
    else:
        labels = [str(p) for p in navs]
        if not labels:
            if needed:
                raise SatnavError("no navigation file given: satnav solve OBS NAV... -o OUT")
            return None
        from .io.rinex_nav import read_rinex_nav

        nav = read_rinex_nav(*navs, strict=options.strict)
    if not any(nav.count_by_system().values()):
        raise SatnavError(f"{', '.join(labels)}: no ephemeris messages in the navigation files")
    return nav


def _solve_relative(rover, base, nav, options: SolveOptions):
    from .estimators.rtk import solve_rtk

    if isinstance(base, (str, PathLike)):
        from .io.rinex_obs import read_rinex_obs

        base = read_rinex_obs(base, strict=options.strict)
    return solve_rtk(rover, base, nav, mode=_RTK_MODES[options.mode], base_position=options.base_position,
                     elevation_mask_deg=options.elevation_mask_deg, ratio_threshold=options.ratio_threshold,
                     fix_and_hold=options.fix_and_hold, systems=options.systems,
                     max_age_s=options.max_age_s + TIME_TAG_TOLERANCE_S)


# ---------------------------------------------------------------------------- orbits
#: Most satellite states (epochs x satellites) one broadcast-orbit run computes.
MAX_ORBIT_STATES = 5_000_000


@dataclass
class BroadcastOrbits:
    """Broadcast satellite states on a time grid (:func:`broadcast_orbits`).

    ``times_ns`` (GPST ns, (T,)), ``satellites`` (indices, (S,)), ``states``
    (:class:`~satnav.orbits.states.SatelliteStates` of shape (T, S): ECEF m, clock s),
    ``systems`` (letters used), ``navigation`` (the merged navigation data).
    """

    times_ns: np.ndarray
    satellites: np.ndarray
    states: Any
    systems: str
    interval_s: float
    navigation: Any = field(repr=False, default=None)

    def write_sp3(self, path) -> None:
        """Write the states as SP3-d (agency ``SNV``)."""
        from .io.sp3 import write_sp3

        write_sp3(path, self.times_ns, self.satellites, self.states.position_m, self.states.clock_s,
                  agency="SNV", comment="broadcast-derived orbits and clocks by satnav orbits")

    def summary(self) -> dict[str, Any]:
        """Span, counts and the satellites without a valid broadcast state at every epoch
        (``broadcast_missing``: sat, broadcast_epochs, reason)."""
        from .gnss_time import format_gpst
        from .satellites import satellite_id

        bst, times = self.states, self.times_ns
        out = dict(start=format_gpst(int(times[0])), end=format_gpst(int(times[-1])),
                   interval_s=self.interval_s, epochs=len(times), satellites=len(self.satellites),
                   broadcast_valid=int(bst.valid.sum()))
        missing = []
        for j, s in enumerate(self.satellites):
            n_ok = int(bst.valid[:, j].sum())
            if n_ok < len(times):
                missing.append(dict(sat=satellite_id(int(s)), broadcast_epochs=n_ok,
                                    reason=_reason_summary(bst.reason[:, j])))
        out["broadcast_missing"] = missing
        return out


@dataclass
class OrbitComparison:
    """Broadcast minus precise orbits and clocks (:func:`compare_orbits`).

    ``broadcast`` (:class:`BroadcastOrbits`), ``comparison``
    (:class:`~satnav.orbits.compare.OrbitComparison`-like result of
    :func:`~satnav.orbits.compare.compare_states`), ``not_compared`` (rows sat,
    compared_epochs, reason), ``clock_source`` (``"CLK"`` or ``"SP3"``).
    """

    broadcast: BroadcastOrbits
    comparison: Any
    not_compared: list[dict[str, Any]]
    clock_source: str

    def summary(self) -> dict[str, Any]:
        """The broadcast summary plus ``groups_raw``, ``groups`` (per system/orbit group,
        m RMS; without and with the nominal PCO), ``satellites_compared``, ``not_compared``
        and ``clock_source``."""
        out = self.broadcast.summary()
        out["groups_raw"] = self.comparison.group_rows(pco=False)
        out["groups"] = self.comparison.group_rows(pco=True)
        out["satellites_compared"] = self.comparison.satellite_rows(pco=True)
        out["not_compared"] = self.not_compared
        out["clock_source"] = self.clock_source
        return out


def _reason_summary(reasons: np.ndarray) -> str:
    from .orbits.states import REASONS

    counts = Counter(int(r) for r in reasons.ravel() if r != 0)
    return ", ".join(f"{REASONS.get(r, r)} x{n}" for r, n in sorted(counts.items()))


def _default_day(nav) -> int:
    from .gnss_time import NS_PER_DAY

    tocs = np.concatenate([np.asarray(nav.for_system(s)["toc"], dtype=np.int64)
                           for s in nav.messages])
    if tocs.size == 0:
        raise SatnavError("the navigation files hold no ephemeris message")
    days, counts = np.unique(tocs // NS_PER_DAY, return_counts=True)
    return int(days[np.argmax(counts)]) * NS_PER_DAY


def broadcast_orbits(navs, options: OrbitComparisonOptions | None = None) -> BroadcastOrbits:
    """Broadcast orbits and clocks of every satellite of the navigation files (of
    ``options.systems``) from ``options.start`` to ``options.end`` every
    ``options.interval_s`` (default: the day holding most messages, every 15 min).

    ``navs``: RINEX navigation file paths (merged) or navigation data already read.
    """
    from .gnss_time import NS_PER_DAY, NS_PER_S, format_gpst
    from .orbits.ephemeris import broadcast_states
    from .satellites import SYSTEMS, satellite_indices

    options = options if options is not None else OrbitComparisonOptions()
    if _is_navigation(navs):
        nav = navs
    else:
        from .io.rinex_nav import read_rinex_nav

        nav = read_rinex_nav(*navs, strict=options.strict)
    systems = options.systems or SYSTEMS
    sat_ids = [s for s in nav.satellites() if s[0] in systems]
    if not sat_ids:
        raise SatnavError(f"no satellite of systems {systems} in the navigation files")
    sats = satellite_indices(sat_ids)
    step = int(round(options.interval_s * NS_PER_S))
    if step < 1:
        raise SatnavError(f"--interval {options.interval_s:g}: expected at least 1 ns")
    start_opt, end_opt = options.start_ns, options.end_ns
    start = start_opt if start_opt is not None else _default_day(nav)
    end = end_opt if end_opt is not None else start + NS_PER_DAY - step
    if end < start:
        raise SatnavError(f"--end {format_gpst(end)} is before --start {format_gpst(start)}: "
                          "expected an end after the start")
    n_epochs = (end - start) // step + 1
    if n_epochs * len(sats) > MAX_ORBIT_STATES:
        raise SatnavError(
            f"--interval {options.interval_s:g} s from {format_gpst(start)} to {format_gpst(end)} gives "
            f"{n_epochs} epochs x {len(sats)} satellites, more than {MAX_ORBIT_STATES} states: expected a "
            "larger --interval or a shorter span"
        )
    nav_first, nav_last = nav.time_span()
    if start > nav_last + NS_PER_DAY or end < nav_first - NS_PER_DAY:
        raise SatnavError(
            f"--start/--end {format_gpst(start)} .. {format_gpst(end)} is more than a day away from "
            f"the navigation messages ({format_gpst(nav_first)} .. {format_gpst(nav_last)}): expected "
            "times the navigation files cover"
        )
    times = np.arange(start, end + 1, step, dtype=np.int64)
    bst = broadcast_states(nav, sats[None, :], times[:, None])
    return BroadcastOrbits(times_ns=times, satellites=sats, states=bst, systems=systems,
                           interval_s=options.interval_s, navigation=nav)


def compare_orbits(navs, sp3s: Sequence[PathType], clks: Sequence[PathType] = (),
                   options: OrbitComparisonOptions | None = None, *,
                   antex: PathType | None = None) -> OrbitComparison:
    """Broadcast orbits and clocks compared with precise SP3 (and CLK) products.

    Parameters
    ----------
    navs : paths, navigation data, or a :class:`BroadcastOrbits`
        The broadcast side (computed with :func:`broadcast_orbits` and ``options`` unless
        already given).
    sp3s : sequence of paths
        Precise SP3 files (consecutive days are merged).
    clks : sequence of paths
        Precise RINEX clock files (default: the SP3 clocks).
    options : OrbitComparisonOptions
    antex : path, optional
        ANTEX file with the satellites' antenna phase-centre offsets (default: nominal table).

    Returns
    -------
    OrbitComparison
        Radial / along / cross, 3-D, clock and SISRE statistics (m) per orbit group and
        satellite, and every satellite not compared at every epoch with its reason.
    """
    from .io.sp3 import read_sp3
    from .orbits.compare import compare_states, nominal_pco_z
    from .orbits.precise import precise_states
    from .satellites import satellite_id, system_of

    options = options if options is not None else OrbitComparisonOptions()
    b = navs if isinstance(navs, BroadcastOrbits) else broadcast_orbits(navs, options)
    sats, times, bst = b.satellites, b.times_ns, b.states
    sp3 = read_sp3(*sp3s)
    clk = None
    if clks:
        from .io.clk import read_clk

        clk = read_clk(*clks)
    pst = precise_states(sp3, sats[None, :], times[:, None], clk=clk, require_clock=False)
    antennas = None
    if antex:
        from .io.antex import read_antex_satellites

        antennas = read_antex_satellites(antex, strict=options.strict)
    cmp = compare_states(bst, pst, sats, times,
                         pco_z_m=nominal_pco_z(sats, times[len(times) // 2], antennas))
    # every satellite not compared at every epoch, with its reason
    not_compared = []
    precise_sats = set(np.asarray(sp3.satellites).tolist())
    for j, s in enumerate(sats):
        both = bst.valid[:, j] & pst.valid[:, j]
        if both.all():
            continue
        why = []
        if not bst.valid[:, j].all():
            why.append("broadcast: " + _reason_summary(bst.reason[:, j]))
        if not pst.valid[:, j].all():
            n = int((~pst.valid[:, j]).sum())
            in_product = int(s) in precise_sats
            why.append(f"precise: {'no data in the product' if not in_product else 'outside span / missing'}"
                       f" x{n}")
        not_compared.append(dict(sat=satellite_id(int(s)), compared_epochs=int(both.sum()),
                                 reason="; ".join(why)))
    # precise satellites of the selected systems that the nav files lack
    nav_set = set(int(s) for s in sats)
    for s in np.asarray(sp3.satellites).tolist():
        if system_of(int(s)) in b.systems and int(s) not in nav_set:
            not_compared.append(dict(sat=satellite_id(int(s)), compared_epochs=0,
                                     reason="broadcast: no ephemeris in the navigation files"))
    return OrbitComparison(broadcast=b, comparison=cmp, not_compared=not_compared,
                           clock_source="CLK" if clk is not None else "SP3")
