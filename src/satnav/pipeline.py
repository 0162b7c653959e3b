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
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from os import PathLike
from typing import Any

import numpy as np

from .errors import SatnavError, SatnavWarning
from .options import OrbitComparisonOptions, SolveOptions
from .progress import ProgressCounter

__all__ = [
    "solve_files",
    "precise_products",
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
    "STREAM_CHUNK_EPOCHS",
    "default_jobs",
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
    if fmt in ("ubx", "rtcm3"):
        return read_raw_log(path)[0]
    if fmt in ("android-gnsslogger", "gsdc-device-gnss", "gsdc-derived") or str(path).endswith(".csv"):
        from .io.android import read_phone_observations

        return read_phone_observations(path, fmt, strict=strict)
    raise SatnavError(f"{path}: a {fmt} file is not an observation file; expected RINEX observations")


def read_raw_log(path: PathType, *, time_hint_ns: int | None = None):
    """(Observations, Navigation) of a raw receiver log, u-blox UBX or RTCM 3 (told by
    content, plain or gzip; :func:`satnav.io.rawlog.log_protocol`). ``time_hint_ns`` (GPST
    ns) places RTCM 3 time tags in the right week when the log has no ephemerides to do so."""
    from .io.rawlog import log_protocol, read_head_bytes

    head = read_head_bytes(path)
    protocol = log_protocol(head) if head else None
    if protocol == "ubx":
        from .io.ubx import read_ubx

        log = read_ubx(path)
    elif protocol == "rtcm3":
        from .io.rtcm3 import read_rtcm3

        log = read_rtcm3(path, time_hint_ns=time_hint_ns)
    else:
        raise SatnavError(f"{path}: not a raw receiver log; expected u-blox UBX or RTCM 3 frames")
    return log.observations, log.navigation


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
    progress: Callable[[int, int], None] | None = None,
    per_satellite: bool = True,
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
        ``progress(epochs_done, epochs)`` as the epochs are solved (:mod:`satnav.progress`;
        for a RINEX 3/4 file solved in time chunks, the total is estimated from the header's
        first/last observation and interval until the file is read), ending with the
        number of epochs of the solution twice.
    per_satellite : bool
        Keep the per-satellite columns of an SPP solution (residuals, used, excluded,
        azimuth, elevation: epochs x satellites). False keeps the per-epoch ones only (about
        0.25 MB per 1000 epochs), as ``satnav solve`` does unless it writes a report.

    Notes
    -----
    Memory and cores: SPP of a RINEX 3/4 *file* (a path), without carrier smoothing, is
    read and solved in time chunks (:data:`STREAM_CHUNK_EPOCHS` epochs; the observations
    of a few chunks at a time in memory) on ``options.jobs`` cores (default every core: this
    process reads the text and parses and solves chunks, ``jobs - 1`` worker processes parse
    and solve others), with the one-shot result (:func:`_solve_spp_streamed` gives the rules). Observations
    already read, RINEX 2, phone files, smoothing and relative modes are solved in one
    piece, in this process.

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
            counter = ProgressCounter(progress)
            solution = _solve(obs, navs, options, base=base, states=states, progress=counter,
                              per_satellite=per_satellite)
            counter.finish(len(solution))
    finally:  # outside the recording context: the caller's filters and display apply
        _reissue(caught)
    messages = [str(w.message) for w in caught] + list(getattr(solution, "warnings", None) or ())
    solution.warnings = list(dict.fromkeys(messages))  # each message once, in the order issued
    return solution


def _forward(counter: ProgressCounter):
    """A progress callback of an inner call that reports through ``counter``."""

    def progress(done: int, total: int) -> None:
        counter.set_total(total)
        counter.update(done)

    return progress


def _reissue(caught) -> None:
    """Issue recorded warnings again once the recording context is left (the caller's filters
    and display apply), the same warning at the same place once per run as usual."""
    if not caught:
        return
    registry: dict = {}
    for w in caught:
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno, registry=registry,
                               source=w.source)


def _solve(obs, navs, options: SolveOptions, *, base, states, progress, per_satellite=True):
    from .info import split_archive_inputs

    obs, navs = split_archive_inputs(obs, navs)  # archives (zip/tar) give their members
    if options.ppp:
        if base is not None:
            raise SatnavError(f"mode {options.mode!r} (precise point positioning) takes no base observations")
        return _solve_ppp(obs, navs, options, progress=progress)
    if _streamable(obs, options, base=base, states=states):
        solution = _solve_spp_streamed(obs, navs, options, per_satellite=per_satellite, progress=progress)
        if solution is not None:
            return solution
    logs_nav = False  # the navigation data are the logs' own ephemerides
    if isinstance(obs, (str, PathLike)):
        from .info import detect_format

        fmt = detect_format(obs)[0]
        if fmt in ("ubx", "rtcm3"):  # a raw log: its own ephemerides by default
            hint = None
            if fmt == "rtcm3" and (_is_navigation(navs) or list(navs)):
                # navigation files given: read now, their times date the log (RTCM 3 time tags
                # hold no week; a log without ephemerides is dated by them, not by today)
                navs = _navigation(navs, options, needed=False)
                if navs is not None and any(navs.count_by_system().values()):
                    lo, hi = navs.time_span()
                    hint = (lo + hi) // 2
            obs, log_nav = read_raw_log(obs, time_hint_ns=hint)
            if not _is_navigation(navs) and not list(navs) and len(log_nav):
                navs = log_nav
                logs_nav = True
        else:
            obs = read_observations(obs, strict=options.strict)
    if base is not None and isinstance(base, (str, PathLike)):
        base, navs = _base_observations(base, obs, navs, logs_nav, options)
    obs_label = obs.source or "observations"
    gsdc = _is_gsdc(obs)
    nav = _navigation(navs, options, needed=states is None and not gsdc)
    if nav is not None:
        warn_if_no_overlap(obs, nav, obs_label, _nav_labels(navs))
    progress.set_total(len(obs.epochs))
    progress.update(0)  # the bar appears as the solving begins
    if base is not None:
        if not options.relative:
            raise SatnavError("base observations given with mode 'spp': expected mode dgnss, rtk-kinematic "
                              "or rtk-static")
        return _solve_relative(obs, base, nav, options, progress)
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
    solution = solve_spp(
        obs, nav, systems=options.systems, elevation_mask_deg=options.elevation_mask_deg,
        exclude=options.exclude, signals=options.signals_dict, iono=iono, raim=options.raim,
        reduce_to_marker=options.reduce_to_marker, progress=_forward(progress), **kwargs,
    )
    if not per_satellite:
        warnings_of_run = solution.warnings
        solution = _light(solution)
        solution.warnings = warnings_of_run
    solution.observation_header = obs.header
    return solution


#: Formats of the precise products PPP takes (:func:`precise_products`).
PRODUCT_FORMATS = ("sp3", "rinex-clk", "antex", "ngs-pcv", "bias-sinex", "blq", "ionex", "rinex-nav")


def precise_products(paths: Sequence[PathType], *, strict: bool = False):
    """The precise products of PPP from files told by content
    (:func:`satnav.info.detect_format`): SP3 orbits (several days merged), RINEX clocks,
    ANTEX and NGS antenna calibrations, bias SINEX (OSB), BLQ ocean loading. IONEX maps and
    broadcast navigation files are accepted and not used by the ionosphere-free solution
    (the returned notes say so). Returns
    :class:`~satnav.estimators.ppp.PppProducts`; raises SatnavError without an SP3 file or
    for a file of another kind.
    """
    from .estimators.ppp import PppProducts
    from .info import FORMAT_NAMES, detect_format

    kinds: dict[str, list] = {}
    for p in paths:
        fmt, _ = detect_format(p)
        if fmt not in PRODUCT_FORMATS:
            raise SatnavError(f"{p}: a {FORMAT_NAMES.get(fmt, fmt)} file is not a precise product; expected SP3, "
                              "RINEX clock, ANTEX/NGS antenna, bias SINEX or BLQ files")
        kinds.setdefault(fmt, []).append(p)
    if "sp3" not in kinds:
        raise SatnavError("precise point positioning needs precise orbits: no SP3 file among the inputs "
                          "(satnav solve OBS ORBITS.SP3 [CLOCKS.CLK ANTEX.atx BIASES.BIA OCEAN.blq] --mode ppp-static)")
    from .io.sp3 import read_sp3

    sp3 = read_sp3(*kinds["sp3"], strict=strict)
    clk = None
    if "rinex-clk" in kinds:
        from .io.clk import read_clk

        clk = read_clk(*kinds["rinex-clk"], strict=strict)
    antennas = None
    if "antex" in kinds or "ngs-pcv" in kinds:
        from .io.antex import read_antennas

        antennas = read_antennas(*kinds.get("antex", []), *kinds.get("ngs-pcv", []), strict=strict)
    biases = None
    if "bias-sinex" in kinds:
        from .io.bias_sinex import read_bias_sinex

        parts = [read_bias_sinex(p, strict=strict) for p in kinds["bias-sinex"]]
        biases = parts[0]
        for extra in parts[1:]:
            if extra.analysis_centre != biases.analysis_centre:
                raise SatnavError(f"bias files of two analysis centres ({biases.analysis_centre}, "
                                  f"{extra.analysis_centre}): expected the biases of the clocks' centre only")
            for k, v in extra.biases.items():
                biases.biases.setdefault(k, []).extend(v)
    blq = None
    if "blq" in kinds:
        from .io.blq import read_blq

        blq = {}
        for p in kinds["blq"]:
            blq.update(read_blq(p, strict=strict))
    products = PppProducts(sp3, clk, antennas, biases, blq, sources=[str(p) for p in paths])
    if "ionex" in kinds:
        from .io.ionex import read_ionex

        products.ionex = read_ionex(kinds["ionex"][0], strict=strict)
        warnings.warn(f"{', '.join(map(str, kinds['ionex']))}: IONEX maps are read but not used by the "
                      "ionosphere-free PPP solution", SatnavWarning, stacklevel=3)
    return products


def _solve_ppp(obs, paths, options: SolveOptions, *, progress):
    from .estimators.ppp import PppOptions, solve_ppp

    if _is_navigation(paths):
        raise SatnavError("precise point positioning needs precise product files (SP3, CLK, ...), not navigation data")
    products = precise_products(list(paths), strict=options.strict)
    if isinstance(obs, (str, PathLike)):
        obs = read_observations(obs, strict=options.strict)
    systems = "".join(s for s in options.systems if s in "GRECJ")
    if not systems:
        raise SatnavError(f"systems {options.systems!r}: PPP uses G, R, E, C or J")
    if options.systems == SolveOptions().systems:
        systems = "GE"  # the default (GLONASS on request: its codes carry inter-frequency biases)
    uncombined = options.iono == "uncombined"
    if options.iono not in (None, "iono-free", "uncombined"):
        raise SatnavError(f"iono {options.iono!r} with PPP: expected iono-free (default) or uncombined")
    if options.frequencies == 1 and not uncombined:
        raise SatnavError("PPP with one frequency needs the uncombined model and an IONEX file: --iono uncombined")
    if options.frequencies == 1 and products.ionex is None:
        raise SatnavError("single-frequency PPP needs global ionosphere maps: give an IONEX file among the products")
    ar = {}
    if options.ppp_ar:  # integer ambiguity resolution; --fix-and-hold, --ratio, --success-rate as for RTK
        ar = {"ambiguity_resolution": "hold" if options.fix_and_hold else "fix", "ar_ratio": options.ratio_threshold}
        if options.success_rate_min is not None:
            ar["ar_success_rate"] = options.success_rate_min
    ppp_options = PppOptions(mode=options.mode.split("-", 1)[1], systems=systems,
                             elevation_mask_deg=options.elevation_mask_deg, exclude=tuple(options.exclude),
                             ionosphere="uncombined" if uncombined else "iono-free",
                             frequencies=1 if options.frequencies == 1 else 2, troposphere=options.tropo, **ar)
    solution = solve_ppp(obs, products, ppp_options, progress=_forward(progress))
    solution.observation_header = obs.header
    return solution


def _nav_labels(navs) -> list[str]:
    if _is_navigation(navs):
        sources = [str(p) for p in getattr(navs, "sources", None) or ()]
        return sources or [str(getattr(navs, "source", "") or "navigation data")]
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

        # only the systems solved for are decoded; when none of them has a message, the
        # files are read whole so that the error names the systems they do hold
        nav = read_rinex_nav(*navs, strict=options.strict, systems=options.systems or None)
        if options.systems and not any(nav.count_by_system().values()):
            nav = read_rinex_nav(*navs, strict=options.strict)
    if not any(nav.count_by_system().values()):
        raise SatnavError(f"{', '.join(labels)}: no ephemeris messages in the navigation files")
    return nav


def _base_observations(base, rover, navs, logs_nav: bool, options: SolveOptions):
    """(base observations, navigation) for a base file: a raw log (UBX, RTCM 3) is read with
    the rover's first epoch as its time hint (RTCM 3 time tags hold no week) and, when no
    navigation file is given, its ephemerides join the rover log's."""
    from .info import detect_format

    if detect_format(base)[0] not in ("ubx", "rtcm3"):
        return read_observations(base, strict=options.strict), navs
    hint = int(rover.epochs[0]) if len(rover.epochs) else None
    base_obs, base_nav = read_raw_log(base, time_hint_ns=hint)
    if len(base_nav) and (logs_nav or (not _is_navigation(navs) and not list(navs))):
        navs = base_nav if not logs_nav else navs.merge(base_nav)
    return base_obs, navs


def _solve_relative(rover, base, nav, options: SolveOptions, progress: ProgressCounter | None = None):
    from .estimators.rtk import solve_rtk

    if isinstance(base, (str, PathLike)):
        base = read_observations(base, strict=options.strict)  # RINEX, UBX or RTCM 3
    return solve_rtk(rover, base, nav, mode=_RTK_MODES[options.mode], base_position=options.base_position,
                     elevation_mask_deg=options.elevation_mask_deg, ratio_threshold=options.ratio_threshold,
                     fix_and_hold=options.fix_and_hold, systems=options.systems,
                     max_age_s=options.max_age_s + TIME_TAG_TOLERANCE_S,
                     frequencies=options.rtk_frequencies, **options.rtk_validation,
                     progress=_forward(progress) if progress is not None else None)


# ---------------------------------------------------------------------------- SPP in chunks
#: Epochs read and solved at a time by the streamed SPP path of :func:`solve_files`.
STREAM_CHUNK_EPOCHS = 1000
#: Per-satellite (epochs x satellites) fields of a Solution, dropped with ``per_satellite=False``.
_PER_SATELLITE_FIELDS = ("residuals_m", "used", "excluded", "azimuth_rad", "elevation_rad")


def default_jobs() -> int:
    """Processes used when :attr:`SolveOptions.jobs` is None: the cores this process may run on."""
    from .parallel import cores

    return cores()


def _streamable(obs, options: SolveOptions, *, base, states) -> bool:
    """Whether ``obs`` may be read and solved in time chunks (see :func:`_solve_spp_streamed`)."""
    if not isinstance(obs, (str, PathLike)) or base is not None or states is not None:
        return False
    if options.relative or options.smoothing_s:
        return False
    from .info import detect_format

    try:
        fmt, version = detect_format(obs)
    except SatnavError:
        return False  # the one-shot path says what is wrong
    return fmt == "rinex-obs" and version is not None and version >= 3


class _Restart(Exception):
    """The streamed pass cannot give the one-shot result: ``seen`` (the codes per system and
    the satellites seen so far) for a new pass, or None to use the one-shot path."""

    def __init__(self, seen=None):
        super().__init__()
        self.seen = seen


class _Seen:
    """The observation codes per system (with values) and the satellites of the chunks read
    so far: the SPP signal plan made from them is the plan of the whole file once every
    chunk is in (:func:`~satnav.estimators.spp._signal_plan` reads
    ``satellite_indices`` and ``codes_by_system()``)."""

    def __init__(self, codes=None, sats=None):
        self.codes: dict[str, set] = {s: set(c) for s, c in (codes or {}).items()}
        self.sats: set = set(sats or ())

    def add(self, chunk) -> None:
        self.add_parts(chunk.codes_by_system(), chunk.satellite_indices.tolist())

    def add_parts(self, codes: dict[str, list[str]], sats) -> None:
        for s, cs in codes.items():
            self.codes.setdefault(s, set()).update(cs)
        self.sats.update(sats)

    def copy(self) -> _Seen:
        return _Seen(self.codes, self.sats)

    @property
    def satellite_indices(self) -> np.ndarray:
        return np.array(sorted(self.sats), dtype=np.int16)

    def codes_by_system(self) -> dict[str, list[str]]:
        return {s: sorted(c) for s, c in self.codes.items() if c}


def _light(solution):
    """``solution`` without its per-satellite columns (the per-epoch ones are kept)."""
    import dataclasses

    m = len(solution)
    empty = {name: np.empty((m, 0), dtype=getattr(solution, name).dtype) for name in _PER_SATELLITE_FIELDS}
    return dataclasses.replace(solution, satellites=np.zeros(0, dtype=solution.satellites.dtype), **empty)


@dataclass
class _ChunkInfo:
    """What the reading process needs to know of a chunk parsed elsewhere
    (:func:`_parse_and_solve`) to keep the rules of :func:`_solve_spp_streamed`."""

    damaged: bool  # warnings while parsing (damaged records): the one-shot path decides
    codes: dict[str, list[str]] = field(default_factory=dict)
    sats: list[int] = field(default_factory=list)
    first_epoch: int | None = None
    last_epoch: int | None = None
    header_records: bool = False  # an event flag 3/4 (header records in the body)
    key: Any = None  # the signal plan the chunk was solved with


def _parse_and_solve(raw, seen: _Seen, per_satellite: bool, core, x0, path, strict: bool):
    """Parse one chunk's text (:class:`~satnav.io.rinex_obs.ChunkText`) and solve it with the
    plan of ``seen`` and the chunk's own codes and satellites: (result of
    :func:`_solve_chunk` or None when damaged, :class:`_ChunkInfo`). This is what a worker
    process runs; the reading process checks the info in time order."""
    from .estimators.spp import _signal_plan
    from .io.rinex_obs import parse_chunk_text

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        obs = parse_chunk_text(path, raw, strict, systems=core.opts.systems)
    del raw
    if any(not issubclass(w.category, ResourceWarning) for w in caught):
        return None, _ChunkInfo(damaged=True)
    epochs = obs.epochs
    info = _ChunkInfo(damaged=False, codes=obs.codes_by_system(), sats=obs.satellite_indices.tolist(),
                      first_epoch=int(epochs[0]) if len(epochs) else None,
                      last_epoch=int(epochs[-1]) if len(epochs) else None,
                      header_records=any(e.flag in (3, 4) for e in obs.events))
    local = seen.copy()
    local.add_parts(info.codes, info.sats)
    plan = _signal_plan(local, core.opts, require=False)
    info.key = (plan.codes, plan.signals)
    return _solve_chunk(obs, local, per_satellite, core, x0), info


def _solve_chunk(chunk, seen: _Seen, per_satellite: bool, core, x0):
    """Solve one chunk with the plan of ``seen``; (solution, plausible pseudoranges per
    system, warnings as (message, category))."""
    from .estimators.spp import _signal_plan

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        plan = _signal_plan(seen, core.opts, require=False)
        part, observed = core.solve(chunk, x0, plan)
    if not per_satellite:
        part = _light(part)
    return part, observed, [(w.message, w.category) for w in caught]


def _solve_spp_streamed(path, navs, options: SolveOptions, *, per_satellite: bool = True,
                        progress: ProgressCounter | None = None):
    """SPP of a RINEX 3/4 file read and solved in time chunks of :data:`STREAM_CHUNK_EPOCHS`
    (:func:`satnav.io.rinex_obs.iter_rinex_obs`): memory is bounded by a chunk plus the
    per-epoch solution (and the per-satellite columns with ``per_satellite``). With
    ``options.jobs`` > 1 (None: :func:`default_jobs`) the chunks are half as long and, from
    the second on (when a third follows), parsed and solved by ``jobs - 1`` worker processes and this one
    (:func:`_solve_parallel`); results are taken in time order.

    The result is the one-shot result (:func:`~satnav.estimators.spp.solve_spp` of the whole
    file): every epoch is solved independently with the signal plan of the whole file, made
    from the codes (with values) and satellites of the chunks read so far -- when a chunk
    brings a code or system that changes the plan, the pass starts again from the first
    chunk with what has been seen (rare: receivers keep their codes); the motion check (it
    needs both neighbours of an epoch), the reduction to the marker and the navigation
    check run on the assembled per-epoch solution. Carrier smoothing is not causal in the
    batch call: smoothed runs are never streamed. Only the satellite lines of
    ``options.systems`` are decoded (a GPS-only solve skips the others' numbers; a damaged
    line of a system not solved is not seen, and changes nothing in the solution).

    Returns None (the caller then reads the file whole) when the file is not streamable
    with that guarantee: a phone file (its defaults smooth), a header change or epochs out
    of order across chunks (:class:`~satnav.io.rinex_obs.NotChunkableError`), any warning
    while reading (damaged records: their warnings are capped per file), or no usable code
    in the first chunk.
    """
    seen = _Seen()
    nav = None
    for _ in range(64):
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                solution, nav = _streamed_pass(path, navs, nav, options, seen, per_satellite,
                                               progress or ProgressCounter(None))
        except _Restart as restart:
            if restart.seen is None:
                return None
            seen = restart.seen
            continue
        for w in caught:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno, source=w.source)
        return solution
    return None


def _spp_options(options: SolveOptions):
    """The :class:`~satnav.estimators.spp.SppOptions` of a streamed (RINEX, not phone) run, as
    :func:`_solve` gives them to :func:`~satnav.estimators.spp.solve_spp`."""
    from .estimators.spp import spp_options

    keywords: dict[str, Any] = {}
    if options.cn0_error_m is not None:
        keywords["cn0_error_m"] = options.cn0_error_m
    if options.weights:
        keywords["weights"] = options.weights
    if options.multi_signal:
        keywords["multi_signal"] = True
    opts = spp_options(systems=options.systems, elevation_mask_deg=options.elevation_mask_deg,
                       exclude=options.exclude, signals=options.signals_dict, iono=options.iono or "klobuchar",
                       raim=options.raim, reduce_to_marker=options.reduce_to_marker, **keywords)
    opts.check(None)
    return opts


def _expected_epochs(header) -> int | None:
    """Epochs of a file by its header (first/last observation and interval), if it says."""
    first, last = getattr(header, "time_of_first_obs_ns", None), getattr(header, "time_of_last_obs_ns", None)
    interval = getattr(header, "interval_s", None)
    if first is None or last is None or not interval or last < first:
        return None
    return int(round((last - first) / (float(interval) * 1e9))) + 1


def _streamed_pass(path, navs, nav, options: SolveOptions, seen: _Seen, per_satellite: bool,
                   progress: ProgressCounter):
    """One pass of :func:`_solve_spp_streamed` starting from what was ``seen`` (added to as
    the chunks come); raises :class:`_Restart`. Returns (solution, navigation data)."""
    from types import SimpleNamespace

    from .estimators.solution import Solution
    from .estimators.spp import _initial_position, _signal_plan, _SppCore, finish_solution
    from .io.rinex_obs import (
        NotChunkableError,
        check_chunk_order,
        iter_rinex_obs_texts,
        parse_chunk_text,
    )
    from .parallel import can_fork

    jobs = options.jobs if options.jobs is not None else default_jobs()
    if not can_fork():
        jobs = 1  # the workers are forked processes
    # several cores: smaller chunks, so that this process and the workers share the work evenly
    chunk_epochs = STREAM_CHUNK_EPOCHS if jobs == 1 else max(1, STREAM_CHUNK_EPOCHS // 2)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:  # opens the file, reads the header and starts any Hatanaka expansion
            texts = iter_rinex_obs_texts(path, chunk_epochs=chunk_epochs)
        except NotChunkableError:
            raise _Restart(None) from None
    if any(not issubclass(w.category, ResourceWarning) for w in caught):
        raise _Restart(None)
    if nav is None:  # read while the observation text is expanded
        nav = _navigation(navs, options, needed=True)

    def next_text():
        """The next chunk's text (None at the end), read in this process (one stream)."""
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                raw = next(texts, None)
            except NotChunkableError:
                raise _Restart(None) from None
        if any(not issubclass(w.category, ResourceWarning) for w in caught):
            raise _Restart(None)  # damaged Compact RINEX: the one-shot path warns once per file
        return raw

    raw = next_text()
    if raw is None:
        raise _Restart(None)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            first = parse_chunk_text(path, raw, options.strict, systems=options.systems or None)
            check_chunk_order(path, first, raw.final, None)
        except NotChunkableError:
            raise _Restart(None) from None
    if any(not issubclass(w.category, ResourceWarning) for w in caught) or is_phone(first):
        raise _Restart(None)  # damaged records: the one-shot path warns once per file
    del raw
    header = first.header
    expected = _expected_epochs(header)
    if expected is not None:
        progress.set_total(expected)
        progress.update(0)
    solved = [0]  # epochs solved in this pass (a new pass starts from the first chunk)
    opts = _spp_options(options)
    x0 = _initial_position(first, opts.initial_position_m)
    seen.add(first)
    plan = _signal_plan(seen, opts, require=False)
    if not plan.codes:
        raise _Restart(None)  # no usable code in the first chunk: the one-shot path decides
    key = (plan.codes, plan.signals)
    parts: list = []
    counts: dict[str, int] = {}
    span: list = []
    last: list = [None]  # the last epoch accepted (GPST ns)

    def collect(result):
        part, observed, caught = result
        for message, category in caught:
            warnings.warn(message, category, stacklevel=2)
        parts.append(part)
        for s, n in observed.items():
            counts[s] = counts.get(s, 0) + n
        solved[0] += len(part)
        if expected is None or solved[0] > progress.total:  # no estimate, or past it: a chunk ahead
            progress.set_total(solved[0] + STREAM_CHUNK_EPOCHS)
        progress.update(solved[0])

    def accept(result, info: _ChunkInfo, final: bool) -> None:
        """A chunk's result, in time order, if it keeps the rules (else restart)."""
        if info.damaged or (info.header_records and not final):
            raise _Restart(None)
        if info.first_epoch is not None:
            if last[0] is not None and info.first_epoch <= last[0]:
                raise _Restart(None)  # epochs out of order across chunks
            last[0] = info.last_epoch
            lo, hi = span or (info.first_epoch, info.last_epoch)
            span[:] = [min(lo, info.first_epoch), max(hi, info.last_epoch)]
        seen.add_parts(info.codes, info.sats)
        p = _signal_plan(seen, opts, require=False)
        if (p.codes, p.signals) != key or info.key != key:
            raise _Restart(seen.copy())
        collect(result)

    core = _SppCore(nav, opts, None)
    first_info = _ChunkInfo(damaged=False, first_epoch=int(first.epochs[0]) if len(first.epochs) else None,
                            last_epoch=int(first.epochs[-1]) if len(first.epochs) else None, key=key)
    held = [first]
    del first

    def solve_first():
        return _solve_chunk(held.pop(), seen.copy(), per_satellite, core, x0), first_info

    def local(raw):
        return _parse_and_solve(raw, seen.copy(), per_satellite, core, x0, path, options.strict)

    if jobs == 1:  # every chunk here
        accept(*solve_first(), True)
        raw = next_text()
        while raw is not None:
            accept(*local(raw), raw.final)
            raw = None  # dropped before the next one is read
            raw = next_text()
    else:  # worker processes only when two more chunks follow the first (the second is not final)
        raw = next_text()
        if raw is None or raw.final:
            accept(*solve_first(), True)
            if raw is not None:
                accept(*local(raw), raw.final)
        else:  # the workers start on the second chunk as soon as it is read
            _solve_parallel(raw, next_text, texts, solve_first, accept, core, x0, jobs, per_satellite,
                            seen, path, options.strict, chunk_epochs, expected)
        del raw
    # assemble as solve_spp does, with the whole file's plan
    plan = _signal_plan(seen, opts, require=False)
    satellites = plan.satellites if per_satellite else np.zeros(0, dtype=np.int16)
    solution = Solution.concatenate(parts, satellites=satellites, clock_systems=plan.clock_systems)
    parts.clear()
    solution.signals = dict(plan.signals)
    if span:
        warn_if_no_overlap(SimpleNamespace(epochs=np.asarray(span, dtype=np.int64)), nav, str(path),
                           _nav_labels(navs))
    finish_solution(solution, nav, counts, opts, header)
    solution.observation_header = header
    return solution, nav


#: With several processes (:func:`_solve_parallel`): chunks put in the shared queue and not yet
#: taken, per worker, that the reading process keeps ahead (no worker waits for a chunk
#: while this process solves one; the texts in memory stay a few chunks).
QUEUED_PER_WORKER = 2


def _solve_parallel(raw, next_text, texts, first, accept, core, x0, jobs: int, per_satellite: bool,
                    seen: _Seen, path, strict: bool, chunk_epochs: int, expected: int | None) -> None:
    """Parse and solve the chunks (texts ``raw``, then ``next_text()``; the file's first chunk,
    already parsed, by ``first()``) on ``jobs`` cores: ``jobs - 1`` worker processes forked
    now (they have ``core``, the navigation data and the solver set up, from the fork) and
    this process take the chunk texts from one shared queue
    (:class:`satnav.parallel.TaskQueue`: texts through shared memory, not pickled). This
    process reads the text (one stream) and keeps :data:`QUEUED_PER_WORKER` chunks per
    worker queued, and takes the next queued chunk itself whenever it has read enough or
    the next text is not there yet (``texts.ready()`` False: the expansion is behind): no
    process waits while a chunk is queued, and at the end this process waits for one chunk
    per worker at most -- of half the size: the chunks of the last ``chunk_epochs * jobs``
    epochs (of ``expected``, the header's count) are read half as long
    (``texts.set_chunk_epochs``). ``accept`` takes the results in time
    order (each chunk solved with the plan of the chunks before it in the file, ``seen``
    when it was read, and its own codes: :func:`_parse_and_solve`)."""
    from .io.rinex_obs import ChunkText
    from .parallel import TaskQueue

    workers = max(1, jobs - 1)

    def task(meta, text):
        (codes, sats), header_bytes, line_offset, final = meta
        return _parse_and_solve(ChunkText(text, header_bytes, line_offset, final), _Seen(codes, sats),
                                per_satellite, core, x0, path, strict)

    done: dict[int, tuple] = {}  # chunk index -> (ok, (result, info) or exception)
    finals: dict[int, bool] = {0: False}
    state = {"accepted": 0, "read": 1}  # chunks accepted (in time order), chunk indices given out
    # epochs read (the first two chunks so far) and the size of the chunks now read
    size = {"read": 2 * chunk_epochs, "chunk": chunk_epochs}

    def take_in_order() -> None:
        while state["accepted"] in done:
            k = state["accepted"]
            ok, value = done.pop(k)
            if not ok:
                raise value
            accept(*value, finals.pop(k))
            state["accepted"] += 1

    with TaskQueue(task, workers) as queue:
        def put(raw) -> None:
            k = state["read"]
            state["read"] += 1
            finals[k] = raw.final
            queue.put(k, ((seen.codes, seen.sats), raw.header_bytes, raw.line_offset, raw.final), raw.text)

        def read_and_put() -> None:
            nonlocal exhausted
            if (expected is not None and size["chunk"] == chunk_epochs and chunk_epochs > 1
                    and expected - size["read"] <= chunk_epochs * jobs):
                size["chunk"] = chunk_epochs // 2  # the tail in smaller chunks: the processes end together
                texts.set_chunk_epochs(size["chunk"])
            raw = next_text()
            if raw is None:
                exhausted = True
                queue.finish()
            else:
                size["read"] += size["chunk"]
                put(raw)

        put(raw)
        raw = None
        first_pending = True
        exhausted = False
        while True:
            for k, ok, value in queue.results():
                done[k] = (ok, value)
            take_in_order()
            # chunks queued: one per worker before the file's first chunk (parsed already) is
            # solved here, then QUEUED_PER_WORKER per worker plus the one this process takes;
            # read when the next text is there (not waiting for the expansion while this
            # process has a chunk to solve), or when there is nothing else to do
            ahead = workers if first_pending else QUEUED_PER_WORKER * workers + 1
            if not exhausted and queue.pending < ahead and (queue.pending < workers or texts.ready()):
                read_and_put()
                continue
            if first_pending:
                first_pending = False
                done[0] = (True, first())
                continue
            mine = queue.take()
            if mine is None and not exhausted:
                read_and_put()  # nothing queued: wait for the text
                continue
            if mine is not None:  # the first queued chunk, here
                k, ((codes, sats), header_bytes, line_offset, final), text = mine
                try:
                    done[k] = (True, _parse_and_solve(ChunkText(text, header_bytes, line_offset, final),
                                                      _Seen(codes, sats), per_satellite, core, x0, path, strict))
                except _Restart:
                    raise
                except Exception as exc:  # raised in time order, as a worker's is
                    done[k] = (False, exc)
                del text
                continue
            if exhausted:
                if state["accepted"] == state["read"]:
                    return
                got = queue.results(wait=True)
                if not got:
                    raise SatnavError("the --jobs worker processes ended without all their results")
                for k, ok, value in got:
                    done[k] = (ok, value)


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
    jobs: int = 1

    def write_sp3(self, path) -> None:
        """Write the states as SP3-d (agency ``SNV``; on ``jobs`` processes, the same bytes)."""
        from .io.sp3 import write_sp3

        write_sp3(path, self.times_ns, self.satellites, self.states.position_m, self.states.clock_s,
                  agency="SNV", comment="broadcast-derived orbits and clocks by satnav orbits", jobs=self.jobs)

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

    codes, counts = np.unique(reasons[reasons != 0], return_counts=True)
    return ", ".join(f"{REASONS.get(int(r), int(r))} x{int(n)}" for r, n in zip(codes, counts))


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
    jobs = options.jobs if options.jobs is not None else default_jobs()
    groups = _system_groups(sats, jobs)
    if len(groups) == 1:
        bst = broadcast_states(nav, sats[None, :], times[:, None])
    else:  # each system's states computed whole in one process: the one-process result
        from .parallel import map_forked

        parts = map_forked(broadcast_states, [(nav, sats[None, g], times[:, None]) for g in groups], jobs)
        bst = _joined_columns(parts, groups, len(sats))
    return BroadcastOrbits(times_ns=times, satellites=sats, states=bst, systems=systems,
                           interval_s=options.interval_s, navigation=nav, jobs=jobs)


def _system_groups(sats: np.ndarray, jobs: int) -> list[np.ndarray]:
    """Column indices of ``sats`` in at most ``jobs`` groups of whole systems, of about equal
    work (satellites, plus a fixed cost per system), largest systems placed first."""
    from .satellites import system_number_of

    numbers = system_number_of(sats)
    systems = np.unique(numbers).tolist()
    if jobs <= 1 or len(systems) <= 1:
        return [np.arange(len(sats))]
    cost = {n: int(np.count_nonzero(numbers == n)) + 5 for n in systems}
    bins: list[list[int]] = [[] for _ in range(min(jobs, len(systems)))]
    load = [0] * len(bins)
    for n in sorted(systems, key=lambda n: -cost[n]):
        k = load.index(min(load))
        bins[k].append(n)
        load[k] += cost[n]
    return [np.flatnonzero(np.isin(numbers, b)) for b in bins]


def _joined_columns(parts, groups, n_sats: int):
    """One epochs x satellites :class:`~satnav.satellite_states.SatelliteStates` from the
    states of column ``groups``."""
    import dataclasses

    first = parts[0]
    fields = {}
    for f in dataclasses.fields(first):
        a = getattr(first, f.name)
        out = np.empty((a.shape[0], n_sats) + a.shape[2:], dtype=a.dtype)
        for part, g in zip(parts, groups):
            out[:, g] = getattr(part, f.name)
        fields[f.name] = out
    return type(first)(**fields)


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
