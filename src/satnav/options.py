"""Options of satnav's workflows as plain data.

:class:`SolveOptions` holds every option of ``satnav solve`` that changes the solution (the
command's flags map onto its fields one to one, see the table in its docstring);
:class:`OrbitComparisonOptions` those of ``satnav orbits``. Both are frozen dataclasses:
they are hashable, pickle, print as their constructor call, and round-trip through a dict,
JSON and TOML::

    opts = SolveOptions(mode="spp", systems="GE", elevation_mask_deg=15)
    SolveOptions.from_toml(opts.to_toml()) == opts      # True
    opts.replace(iono="iono-free")                      # a new object

Invalid values raise :class:`satnav.errors.SatnavError` with a one-line message when the
object is made. ``None`` means "automatic": the workflow chooses (for example the
ionosphere model of a GSDC ``device_gnss.csv`` file is the file's own, ``"states"``).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any, ClassVar

from .errors import SatnavError
from .satellites import SYSTEMS

__all__ = ["SolveOptions", "OrbitComparisonOptions", "StreamOptions", "SOLVE_MODES", "FUTURE_SOLVE_MODES"]

#: Solution modes :class:`SolveOptions` accepts.
SOLVE_MODES = ("spp", "dgnss", "rtk-kinematic", "rtk-static", "ppp-static", "ppp-kinematic")
#: Modes reserved for later (rejected with a message); empty since PPP is available.
FUTURE_SOLVE_MODES: tuple[str, ...] = ()
#: Modes that need base observations.
RELATIVE_MODES = ("dgnss", "rtk-kinematic", "rtk-static")
#: Ionospheric corrections (``None``: automatic).
IONO_MODELS = ("klobuchar", "iono-free", "states", "none", "uncombined")
#: GLONASS ambiguity resolution of RTK (:data:`satnav.estimators.rtk_core.GLONASS_AR_MODES`).
GLONASS_AR_MODES = ("auto", "off", "on", "autocal")
#: Measurement weights (``None``: the error model).
WEIGHT_MODELS = ("model", "reported")


def _finite(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _number(name: str, value, what: str, low=None, high=None, *, low_open=False, high_open=False,
            optional=False) -> float | None:
    """``value`` as a float within the bounds, or SatnavError naming ``name`` and ``what``."""
    if value is None and optional:
        return None
    ok = _finite(value)
    if ok and low is not None:
        ok = value > low if low_open else value >= low
    if ok and high is not None:
        ok = value < high if high_open else value <= high
    if not ok:
        lo = "" if low is None else f"{low:g} {'<' if low_open else '<='} "
        hi = "" if high is None else f" {'<' if high_open else '<='} {high:g}"
        raise SatnavError(f"{name} {value!r}: expected {what}, {lo}value{hi}")
    return float(value)


def _xyz(name: str, value) -> tuple[float, float, float]:
    try:
        v = tuple(float(x) for x in value)
    except (TypeError, ValueError):
        v = ()
    if len(v) != 3 or not all(math.isfinite(x) for x in v):
        raise SatnavError(f"{name} {value!r}: expected three ECEF coordinates X, Y, Z in metres")
    return v


def _check_jobs(jobs) -> None:
    """``jobs``: a number of processes (int >= 1) or None (every core)."""
    if jobs is not None and (isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1):
        raise SatnavError(f"jobs {jobs!r}: expected a number of processes, 1 or more (None: every core)")


def _systems(name: str, value, *, optional=False) -> str | None:
    if value is None and optional:
        return None
    if not isinstance(value, str):
        raise SatnavError(f"{name} {value!r}: expected system letters such as 'GRE'")
    letters = value.upper()
    bad = set(letters) - set(SYSTEMS)
    if bad:
        raise SatnavError(f"{name} {value!r}: unknown letters {''.join(sorted(bad))}, expected some of {SYSTEMS}")
    return letters


def _choice(name: str, value, choices, *, optional=True) -> str | None:
    if value is None and optional:
        return None
    if value not in choices:
        default = " (or None for the default)" if optional else ""
        raise SatnavError(f"{name} {value!r}: unknown, expected one of {', '.join(choices)}{default}")
    return value


def _signals(value) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """``{"G": "C1C", "E": ("C1X", "C1C")}`` or pairs -> ``(("G", ("C1C",)), ...)``."""
    if value is None:
        return ()
    try:
        items = [(system, codes) for system, codes in (value.items() if hasattr(value, "items") else value)]
    except (TypeError, ValueError):
        raise SatnavError(f"signals {value!r}: expected a mapping system letter -> codes such as "
                          "{'G': 'C1C', 'E': ('C1X',)}") from None
    out = []
    for system, codes in items:
        if not isinstance(system, str) or len(system) != 1 or system.upper() not in SYSTEMS:
            raise SatnavError(f"signals: unknown system letter {system!r}, expected one of {SYSTEMS}")
        codes = (codes,) if isinstance(codes, str) else tuple(codes) if isinstance(codes, (list, tuple)) else ()
        if not codes or not all(isinstance(c, str) and c for c in codes):
            raise SatnavError(f"signals {system}: {codes!r}: expected RINEX 3 codes such as C1C")
        out.append((system.upper(), codes))
    return tuple(out)


class _PlainData:
    """dict / JSON / TOML round trips and ``replace`` for the frozen option classes."""

    #: Fields written as tuples (lists in JSON and TOML).
    _TUPLE_FIELDS: ClassVar[tuple[str, ...]] = ()

    def replace(self, **changes):
        """A copy with ``changes`` applied (and validated)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """Field -> value with lists for tuples (JSON-ready); ``None`` kept."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if f.name == "signals":
                v = {s: list(c) for s, c in v}
            elif isinstance(v, tuple):
                v = list(v)
            out[f.name] = v
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]):
        """The inverse of :meth:`to_dict`; unknown keys are an error, missing ones default."""
        if not isinstance(data, dict):
            raise SatnavError(f"{cls.__name__}: expected a mapping of option names, got {type(data).__name__}")
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise SatnavError(f"{cls.__name__}: unknown option(s) {', '.join(unknown)}, expected some of "
                              f"{', '.join(sorted(names))}")
        return cls(**data)

    def to_json(self, **kwargs) -> str:
        """JSON text of :meth:`to_dict` (``kwargs`` go to :func:`json.dumps`)."""
        import json

        return json.dumps(self.to_dict(), **kwargs)

    @classmethod
    def from_json(cls, text: str):
        import json

        try:
            data = json.loads(text)
        except ValueError as exc:
            raise SatnavError(f"{cls.__name__}: bad JSON ({exc})") from None
        return cls.from_dict(data)

    def to_toml(self) -> str:
        """TOML text, one ``key = value`` line per field that is not ``None``."""
        lines = []
        for key, v in self.to_dict().items():
            if v is not None:
                lines.append(f"{key} = {_toml_value(v)}")
        return "\n".join(lines) + "\n"

    @classmethod
    def from_toml(cls, text: str):
        try:
            import tomllib
        except ModuleNotFoundError:  # Python < 3.11
            import tomli as tomllib
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise SatnavError(f"{cls.__name__}: bad TOML ({exc})") from None
        return cls.from_dict(data)

    def _set(self, name: str, value) -> None:
        object.__setattr__(self, name, value)


def _toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return repr(v) if math.isfinite(v) else ("nan" if v != v else ("inf" if v > 0 else "-inf"))
    if isinstance(v, str):
        import json

        return json.dumps(v)  # a JSON string is a TOML basic string
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k} = {_toml_value(x)}" for k, x in v.items()) + "}"
    raise TypeError(f"cannot write {v!r} as TOML")


@dataclass(frozen=True)
class SolveOptions(_PlainData):
    """How to solve observation files (:func:`satnav.pipeline.solve_files`).

    ``satnav solve`` flag -> field:

    ======================  ==========================================================
    (no --base) / --mode    ``mode``: ``"spp"`` without a base; with ``--base``,
                            ``dgnss`` -> ``"dgnss"``, ``kinematic`` -> ``"rtk-kinematic"``,
                            ``static`` -> ``"rtk-static"``
    --systems               ``systems`` (letters, default ``"GRECJI"``)
    --exclude               ``exclude`` (satellite ids or system letters)
    --mask                  ``elevation_mask_deg`` (degrees, 0 <= mask < 90)
    --iono                  ``iono`` (``None``: ``"states"`` for a GSDC file, else ``"klobuchar"``)
    --signals               ``signals`` (``(("G", ("C1C", "C2W")), ...)``; a dict is accepted)
    --weights               ``weights`` (``None``: the error model)
    --multi-signal          ``multi_signal``
    --smooth                ``smoothing_s`` (s; ``None``: 0, phones 60)
    --no-raim               ``raim`` (False)
    --marker                ``reduce_to_marker``
    --ref                   ``reference_position_m`` (ECEF m, for accuracy summaries)
    --base-pos / --base-spp ``base_position`` (ECEF m, ``"spp"``, or ``None``: the base header)
    --ratio                 ``ratio_threshold``
    --fix-and-hold          ``fix_and_hold``
    --ppp-ar                ``ppp_ar`` (PPP: integer ambiguity resolution with integer-clock products)
    --max-age               ``max_age_s`` (s; the workflow adds 0.5 s of time-tag tolerance)
    --strict                ``strict`` (damaged records are errors)
    --frequencies           ``frequencies`` (RTK: 1 = L1, 2 = L1 + L2, 3 = L1 + L2 + L5)
    --glonass-ar            ``glonass_ar`` (RTK: ``"auto"``, ``"off"``, ``"on"``, ``"autocal"``)
    --tropo                 ``tropo`` (PPP: ``"gmf"`` GPT + GMF, ``"niell"`` standard atmosphere + NMF)
    --min-lock              ``min_lock_s`` (RTK: s an ambiguity is tracked before a fix)
    --min-lock-cross        ``min_lock_cross_s`` (RTK: the same for a fix cross-checked by GLONASS)
    --success-rate          ``success_rate_min`` (RTK: least bootstrapped success rate)
    --autocal-success-rate  ``autocal_success_rate_min`` (RTK: GLONASS integers, autocal)
    --glonass-test-floor    ``glonass_test_floor_cyc`` (RTK: cycles of multipath in the GLONASS test)
    --fix-test              ``fix_test_p`` (RTK: chi-square quantile, 1 = off)
    --jump-test             ``jump_test_p`` (RTK: chi-square quantile, 1 = off)
    --code-test             ``code_test_p`` (RTK: chi-square quantile, 1 = off)
    --wrong-fix-test        ``wrong_fix_p`` (RTK: chi-square quantile, 1 = off)
    --base-gap              ``base_gap_s`` (RTK: s of base age that restarts every lock)
    --half-cycle            ``half_cycle`` (RTK: ``on``/``off``, half-cycle flags respected)
    (no flag)               ``cn0_error_m`` (m; ``None``: 0.003 for phones, else 0 = no C/N0 term)
    --jobs                  ``jobs`` (processes for epoch-independent SPP; ``None``: every core)
    ======================  ==========================================================

    The RTK validation fields left ``None`` take the single- or dual-frequency defaults of
    :data:`satnav.estimators.rtk_core.VALIDATION_DEFAULTS`.

    Output choices (``-o``, ``--format``, ``--report``, ``--truth``, ``-q``) are not
    options of the solution and stay with the command. The modes ``"ppp-static"`` and
    ``"ppp-kinematic"`` are precise point positioning (:func:`satnav.estimators.ppp.solve_ppp`:
    precise products among the input files, ``systems`` restricted to those PPP supports,
    default GPS + Galileo).
    """

    mode: str = "spp"
    systems: str = "GRECJI"
    exclude: tuple[str, ...] = ()
    elevation_mask_deg: float = 10.0
    iono: str | None = None
    signals: tuple[tuple[str, tuple[str, ...]], ...] = ()
    weights: str | None = None
    multi_signal: bool = False
    smoothing_s: float | None = None
    raim: bool = True
    reduce_to_marker: bool = False
    reference_position_m: tuple[float, float, float] | None = None
    base_position: tuple[float, float, float] | str | None = None
    ratio_threshold: float = 3.0
    fix_and_hold: bool = False
    max_age_s: float = 30.0
    strict: bool = False
    ppp_ar: bool = False
    cn0_error_m: float | None = field(default=None)
    frequencies: int = 2
    glonass_ar: str = "auto"
    tropo: str = "gmf"
    min_lock_s: float | None = None
    min_lock_cross_s: float | None = None
    success_rate_min: float | None = None
    autocal_success_rate_min: float | None = None
    glonass_test_floor_cyc: float | None = None
    fix_test_p: float | None = None
    jump_test_p: float | None = None
    code_test_p: float | None = None
    wrong_fix_p: float | None = None
    base_gap_s: float | None = None
    half_cycle: bool | None = None
    jobs: int | None = None

    def __post_init__(self):
        if self.mode in FUTURE_SOLVE_MODES:
            raise SatnavError(f"mode {self.mode!r} (precise point positioning) is not available yet, "
                              f"expected one of {', '.join(SOLVE_MODES)}")
        _choice("mode", self.mode, SOLVE_MODES, optional=False)
        self._set("systems", _systems("systems", self.systems))
        if isinstance(self.exclude, str):
            self._set("exclude", tuple(x.strip() for x in self.exclude.split(",") if x.strip()))
        else:
            try:
                self._set("exclude", tuple(self.exclude or ()))
            except TypeError:
                raise SatnavError(f"exclude {self.exclude!r}: expected satellite ids or system letters "
                                  "such as ('R09', 'C')") from None
        if not all(isinstance(x, str) and x for x in self.exclude):
            raise SatnavError(f"exclude {self.exclude!r}: expected satellite ids or system letters such as ('R09', 'C')")
        self._set("elevation_mask_deg", _number("elevation_mask_deg", self.elevation_mask_deg,
                                                "an elevation mask in degrees", 0.0, 90.0, high_open=True))
        _choice("iono", self.iono, IONO_MODELS)
        if self.iono == "uncombined" and not self.mode.startswith("ppp-"):
            raise SatnavError("iono 'uncombined' (slant ionosphere states) is a PPP model: expected mode ppp-static or "
                              "ppp-kinematic")
        self._set("signals", _signals(self.signals))
        _choice("weights", self.weights, WEIGHT_MODELS)
        for name in ("multi_signal", "raim", "reduce_to_marker", "fix_and_hold", "strict", "ppp_ar"):
            if not isinstance(getattr(self, name), bool):
                raise SatnavError(f"{name} {getattr(self, name)!r}: expected true or false")
        self._set("smoothing_s", _number("smoothing_s", self.smoothing_s, "a smoothing window in seconds",
                                         0.0, optional=True))
        if self.reference_position_m is not None:
            self._set("reference_position_m", _xyz("reference_position_m", self.reference_position_m))
        if self.base_position is not None and self.base_position != "spp":
            if isinstance(self.base_position, str):
                raise SatnavError(f"base_position {self.base_position!r}: expected 'spp', three ECEF "
                                  "coordinates X, Y, Z in metres, or None (the base header)")
            self._set("base_position", _xyz("base_position", self.base_position))
        self._set("ratio_threshold", _number("ratio_threshold", self.ratio_threshold,
                                             "a ratio-test threshold", 1.0))
        self._set("max_age_s", _number("max_age_s", self.max_age_s, "a time difference in seconds", 0.0,
                                       low_open=True))
        self._set("cn0_error_m", _number("cn0_error_m", self.cn0_error_m, "a C/N0 error term in metres",
                                         0.0, optional=True))
        if self.frequencies not in (1, 2, 3) or isinstance(self.frequencies, bool):
            raise SatnavError(f"frequencies {self.frequencies!r}: expected 1 (L1), 2 (L1 + L2) or "
                              "3 (L1 + L2 + L5)")
        self._set("frequencies", int(self.frequencies))
        _choice("glonass_ar", self.glonass_ar, GLONASS_AR_MODES, optional=False)
        _choice("tropo", self.tropo, ("gmf", "niell"), optional=False)
        for name, what in (("min_lock_s", "a lock time in seconds"),
                           ("min_lock_cross_s", "a lock time in seconds"),
                           ("glonass_test_floor_cyc", "a sigma in cycles"),
                           ("base_gap_s", "a base gap in seconds")):
            self._set(name, _number(name, getattr(self, name), what, 0.0, optional=True))
        for name in ("success_rate_min", "autocal_success_rate_min", "fix_test_p", "jump_test_p",
                     "code_test_p", "wrong_fix_p"):
            self._set(name, _number(name, getattr(self, name), "a probability", 0.0, 1.0, optional=True))
        if self.half_cycle is not None and not isinstance(self.half_cycle, bool):
            raise SatnavError(f"half_cycle {self.half_cycle!r}: expected true, false or none")
        _check_jobs(self.jobs)

    @property
    def rtk_frequencies(self) -> tuple[str, ...]:
        """``frequencies`` as :func:`~satnav.estimators.rtk.solve_rtk` takes them."""
        return ("L1", "L2", "L5")[:self.frequencies]

    @property
    def rtk_validation(self) -> dict[str, Any]:
        """The RTK fix validation options (``None``: the default) as keywords of
        :func:`~satnav.estimators.rtk.solve_rtk`."""
        return {name: getattr(self, name) for name in (
            "min_lock_s", "min_lock_cross_s", "success_rate_min", "autocal_success_rate_min",
            "glonass_test_floor_cyc",
            "fix_test_p", "jump_test_p", "code_test_p", "wrong_fix_p", "base_gap_s", "half_cycle",
            "glonass_ar")}

    @property
    def relative(self) -> bool:
        """True for the modes that need base observations (DGNSS, RTK)."""
        return self.mode in RELATIVE_MODES

    @property
    def ppp(self) -> bool:
        """True for precise point positioning (``ppp-static``, ``ppp-kinematic``)."""
        return self.mode.startswith("ppp-")

    @property
    def signals_dict(self) -> dict[str, str | tuple[str, ...]] | None:
        """``signals`` as :func:`~satnav.estimators.spp.solve_spp` takes them (a code, or a
        tuple of codes in preference order, per system letter), or None."""
        if not self.signals:
            return None
        return {s: c[0] if len(c) == 1 else c for s, c in self.signals}


@dataclass(frozen=True)
class OrbitComparisonOptions(_PlainData):
    """How to compute broadcast orbits and compare them with precise products
    (:func:`satnav.pipeline.broadcast_orbits`, :func:`satnav.pipeline.compare_orbits`;
    ``satnav orbits``).

    Fields: ``start``, ``end`` (ISO 8601 GPST such as ``"2020-06-25T00:00:00"``; ``None``:
    the day holding most navigation messages, to its end), ``interval_s`` (epoch spacing,
    s, default 900), ``systems`` (letters; ``None``: all in the navigation files),
    ``strict`` (damaged records are errors), ``jobs`` (processes: the systems' states and
    the SP3 text split over them, the same result; ``None``: every core).
    """

    start: str | None = None
    end: str | None = None
    interval_s: float = 900.0
    systems: str | None = None
    strict: bool = False
    jobs: int | None = None

    def __post_init__(self):
        from .gnss_time import format_gpst, parse_gpst

        start = parse_gpst(self.start) if self.start is not None else None
        end = parse_gpst(self.end) if self.end is not None else None
        if start is not None and end is not None and end < start:
            raise SatnavError(f"--end {format_gpst(end)} is before --start {format_gpst(start)}: "
                              "expected an end after the start")
        if not (_finite(self.interval_s) and self.interval_s > 0):
            raise SatnavError(f"--interval {self.interval_s!r}: expected a positive epoch spacing in seconds")
        self._set("interval_s", float(self.interval_s))
        if self.systems is not None:
            if not isinstance(self.systems, str):
                raise SatnavError(f"systems {self.systems!r}: expected system letters such as 'GRE'")
            bad = set(self.systems.upper()) - set(SYSTEMS)
            if bad:
                raise SatnavError(f"unknown system letter(s) {''.join(sorted(bad))}, expected some of {SYSTEMS}")
            self._set("systems", self.systems.upper())
        if not isinstance(self.strict, bool):
            raise SatnavError(f"strict {self.strict!r}: expected true or false")
        _check_jobs(self.jobs)

    @property
    def start_ns(self) -> int | None:
        """``start`` as GPST ns (None: automatic)."""
        from .gnss_time import parse_gpst

        return parse_gpst(self.start) if self.start is not None else None

    @property
    def end_ns(self) -> int | None:
        """``end`` as GPST ns (None: automatic)."""
        from .gnss_time import parse_gpst

        return parse_gpst(self.end) if self.end is not None else None


#: Stream formats of ``StreamOptions.rover_format`` / ``base_format``.
STREAM_FORMATS = ("auto", "ubx", "rtcm3", "rinex")


@dataclass(frozen=True)
class StreamOptions(_PlainData):
    """How ``satnav stream`` positions a live rover (:mod:`satnav.streams.live`).

    ``satnav stream`` flag -> field:

    ======================  ==========================================================
    --mode                  ``mode``: ``spp`` -> ``"spp"``, ``dgnss`` -> ``"dgnss"``,
                            ``kinematic`` -> ``"rtk-kinematic"``, ``static`` -> ``"rtk-static"``
    --systems, --mask       ``systems``, ``elevation_mask_deg``
    --base-pos              ``base_position`` (ECEF m; ``None``: the base stream's RTCM
                            1005/1006, else the base file header)
    --ratio, --fix-and-hold ``ratio_threshold``, ``fix_and_hold``
    --frequencies           ``frequencies`` (RTK: 1 = L1, 2 = L1 + L2, 3 = + L5)
    --max-age               ``max_age_s``: corrections older than this are not used (the
                            rover falls back to single point and says so)
    --base-wait             ``base_wait_s``: how long a rover epoch waits for the base epoch
                            of its time (s, wall clock) before it is solved with older ones
    --speed                 ``replay_speed``: a file source replayed at this many times its
                            recorded rate (``None``: as fast as possible)
    --rover-format          ``rover_format`` (``auto``, ``ubx``, ``rtcm3``, ``rinex``)
    --base-format           ``base_format``
    --reconnect             ``reconnect_s`` (first wait, doubling up to ``reconnect_max_s``)
    --stall                 ``stall_s``: a connected stream silent this long is reported and
                            reconnected
    --gga-interval          ``gga_interval_s``: GGA sent to an NTRIP caster this often
    --time                  ``time``: ISO 8601 GPST near the data, for RTCM 3 streams
                            replayed from the past (their time tags hold no week;
                            default: the rover's first epoch, else now)
    ======================  ==========================================================
    """

    mode: str = "spp"
    systems: str = "GRECJ"
    elevation_mask_deg: float = 10.0
    base_position: tuple[float, float, float] | None = None
    ratio_threshold: float = 3.0
    fix_and_hold: bool = False
    frequencies: int = 2
    glonass_ar: str = "auto"
    max_age_s: float = 30.0
    base_wait_s: float = 1.0
    replay_speed: float | None = None
    rover_format: str = "auto"
    base_format: str = "auto"
    reconnect_s: float = 1.0
    reconnect_max_s: float = 30.0
    stall_s: float = 10.0
    gga_interval_s: float = 10.0
    time: str | None = None

    def __post_init__(self):
        _choice("mode", self.mode, SOLVE_MODES, optional=False)
        if self.time is not None:
            from .gnss_time import parse_gpst

            parse_gpst(self.time)
        self._set("systems", _systems("systems", self.systems))
        self._set("elevation_mask_deg", _number("elevation_mask_deg", self.elevation_mask_deg,
                                                "an elevation mask in degrees", 0.0, 90.0, high_open=True))
        if self.base_position is not None:
            self._set("base_position", _xyz("base_position", self.base_position))
        self._set("ratio_threshold", _number("ratio_threshold", self.ratio_threshold, "a ratio-test threshold", 1.0))
        if not isinstance(self.fix_and_hold, bool):
            raise SatnavError(f"fix_and_hold {self.fix_and_hold!r}: expected true or false")
        if self.frequencies not in (1, 2, 3) or isinstance(self.frequencies, bool):
            raise SatnavError(f"frequencies {self.frequencies!r}: expected 1 (L1), 2 (L1 + L2) or 3 (L1 + L2 + L5)")
        _choice("glonass_ar", self.glonass_ar, GLONASS_AR_MODES, optional=False)
        for name, what in (("max_age_s", "an age of corrections in seconds"), ("reconnect_s", "a time in seconds"),
                           ("reconnect_max_s", "a time in seconds"), ("stall_s", "a time in seconds"),
                           ("gga_interval_s", "a time in seconds")):
            self._set(name, _number(name, getattr(self, name), what, 0.0, low_open=True))
        self._set("base_wait_s", _number("base_wait_s", self.base_wait_s, "a time in seconds", 0.0))
        self._set("replay_speed", _number("replay_speed", self.replay_speed, "a replay speed factor", 0.0,
                                          low_open=True, optional=True))
        _choice("rover_format", self.rover_format, STREAM_FORMATS, optional=False)
        _choice("base_format", self.base_format, STREAM_FORMATS, optional=False)

    @property
    def relative(self) -> bool:
        """True for the modes that use a base (DGNSS, RTK)."""
        return self.mode != "spp"

    @property
    def rtk_frequencies(self) -> tuple[str, ...]:
        return ("L1", "L2", "L5")[:self.frequencies]

    @property
    def time_ns(self) -> int | None:
        """``time`` as GPST ns (None: not given)."""
        from .gnss_time import parse_gpst

        return parse_gpst(self.time) if self.time is not None else None
