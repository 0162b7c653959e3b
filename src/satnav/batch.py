"""Networks of stations: one :func:`~satnav.pipeline.solve_files` run per station-day on Dask.

A batch is a list of :class:`StationDay` tasks, made from a manifest
(:func:`tasks_from_manifest`, CSV or TOML) or from an archive of observation files named
the IGS way (:func:`tasks_from_paths`: ``SSSSMRCCC_R_YYYYDDDHHMM_01D_30S_MO.crx.gz`` with the
``..._MN.rnx.gz`` navigation of the same day found beside it, or RINEX 2 ``ssssDDD0.YYo``
with ``.YYn`` / ``.YYg``). :func:`run_batch` runs one task per station-day (and per
constellation combination, :func:`with_combinations`) on :mod:`dask.distributed`: a
``LocalCluster`` by default, or any existing scheduler. Workers use one BLAS thread.

Outputs under ``out_dir`` (paths relative to it):

``positions/station=S/day=YYYY-DDD/SYSTEMS.parquet``
    One row per epoch (:data:`POSITION_COLUMNS`): time, ECEF and geodetic position, status,
    satellites, DOP, east/north/up error vs the reference (m) when known. The files carry
    their ``station``, ``day`` and ``systems`` columns, so a glob reads the whole network::

        duckdb.sql("select station, avg(n_used) from 'out/positions/**/*.parquet' group by station")
        pandas.read_parquet("out/positions", partitioning=None)

``positions/station=S/day=YYYY-DDD/_SYSTEMS.json``
    The task's summary row and the hash of its inputs (file sizes and modification times,
    options, reference): a later run with the same hash skips the task.

``summary.parquet``, ``summary.csv``, ``summary.html``
    One row per task (:data:`SUMMARY_COLUMNS`), failures included with their one-line error.

Every file is written to a temporary name and renamed when complete: an interrupted run
leaves complete files only. Dask, pyarrow and duckdb are imported only here, lazily (the
``batch`` extra); ``import satnav`` does not need them.
"""

from __future__ import annotations

import csv
import glob
import hashlib
import html
import io
import json
import math
import os
import re
import time
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .errors import SatnavError
from .frames import ecef_to_geodetic
from .options import SolveOptions

__all__ = [
    "StationDay",
    "BatchResult",
    "tasks_from_manifest",
    "tasks_from_paths",
    "with_combinations",
    "run_batch",
    "solve_station_day",
    "input_hash",
    "station_positions",
    "station_map",
    "service_table",
    "daily_series_svg",
    "read_positions",
    "POSITION_COLUMNS",
    "SUMMARY_COLUMNS",
    "BLAS_THREAD_VARIABLES",
]

#: Version of the output layout, part of every input hash.
LAYOUT_VERSION = 1

#: Environment variables that pin BLAS / OpenMP libraries to one thread on the workers.
BLAS_THREAD_VARIABLES = {
    "OPENBLAS_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "BLIS_NUM_THREADS": "1",
    "VECLIB_MAXIMUM_THREADS": "1",
    "NUMEXPR_NUM_THREADS": "1",
}

#: Per-epoch columns of the positions dataset: (name, Arrow type name).
POSITION_COLUMNS = (
    ("station", "string"), ("day", "string"), ("systems", "string"), ("mode", "string"),
    ("time", "timestamp[ns]"),  # GPST as a calendar time
    ("time_ns", "int64"),  # GPST ns
    ("x_m", "float64"), ("y_m", "float64"), ("z_m", "float64"),  # ECEF
    ("lat_deg", "float64"), ("lon_deg", "float64"), ("height_m", "float64"),  # WGS84
    ("status", "int16"),  # SPP: satnav.estimators.solution.STATUS; RTK: quality (1 fixed ...)
    ("reason", "string"),
    ("solved", "bool"),  # a position is given
    ("valid", "bool"),  # SPP: passed the residual test; RTK: solved
    ("n_used", "int16"),
    ("pdop", "float64"), ("hdop", "float64"), ("vdop", "float64"),  # NaN for RTK
    ("east_m", "float64"), ("north_m", "float64"), ("up_m", "float64"),  # vs reference, NaN without
)

#: Columns of the summary table, one row per task.
SUMMARY_COLUMNS = (
    ("station", "string"), ("day", "string"), ("systems", "string"), ("mode", "string"),
    ("state", "string"),  # "done", "skipped" (outputs up to date) or "failed"
    ("epochs", "int64"), ("solved", "int64"),
    ("flagged", "int64"),  # solved but not valid (SPP: integrity test failed or not possible)
    ("availability", "float64"),  # valid / epochs
    ("mean_satellites", "float64"), ("median_pdop", "float64"),
    ("h_rms_m", "float64"), ("h_95_m", "float64"), ("v_rms_m", "float64"), ("v_95_m", "float64"),
    ("lat_deg", "float64"), ("lon_deg", "float64"),  # mean valid position (geodetic, deg)
    ("run_time_s", "float64"), ("n_warnings", "int64"), ("warnings", "string"), ("error", "string"),
    ("observation", "string"), ("input_hash", "string"),
)

_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]*$")

PathType = str | os.PathLike


# ---------------------------------------------------------------------------- tasks
@dataclass(frozen=True)
class StationDay:
    """One task: a station-day (observation file, navigation files, options).

    ``station`` and ``day`` (``YYYY-DDD``) name the outputs; ``observation`` is the
    observation file, ``navigation`` the broadcast navigation files (absolute paths are
    best: workers open them), ``reference_m`` an ECEF reference (m) for the accuracy
    columns, ``base`` the base observation file of DGNSS/RTK modes, ``options`` the
    :class:`SolveOptions` (its ``systems`` name the output file).
    """

    station: str
    day: str
    observation: str
    navigation: tuple[str, ...] = ()
    options: SolveOptions = field(default_factory=SolveOptions)
    reference_m: tuple[float, float, float] | None = None
    base: str | None = None

    def __post_init__(self):
        for name in ("station", "day"):
            value = getattr(self, name)
            if not isinstance(value, str) or not _SAFE_NAME.match(value):
                raise SatnavError(f"{name} {value!r}: expected letters, digits and _.+- (it names output directories)")
        if not isinstance(self.options, SolveOptions):
            raise SatnavError(f"options: expected SolveOptions, got {type(self.options).__name__}")
        object.__setattr__(self, "observation", os.fspath(self.observation))
        object.__setattr__(self, "navigation", tuple(os.fspath(p) for p in self.navigation))
        if self.base is not None:
            object.__setattr__(self, "base", os.fspath(self.base))
        if self.reference_m is not None:
            ref = tuple(float(v) for v in self.reference_m)
            if len(ref) != 3 or not all(math.isfinite(v) for v in ref):
                raise SatnavError(f"{self.station} {self.day}: reference {self.reference_m!r}: expected X, Y, Z in metres")
            object.__setattr__(self, "reference_m", ref)

    @property
    def name(self) -> str:
        """``STATION DAY SYSTEMS``: how the task is named in messages."""
        return f"{self.station} {self.day} {self.options.systems}"

    @property
    def inputs(self) -> tuple[str, ...]:
        """Every file the task reads."""
        return (self.observation, *self.navigation, *((self.base,) if self.base else ()))

    def output_stem(self, out_dir: PathType) -> Path:
        """``out_dir/positions/station=S/day=D/SYSTEMS`` (add ``.parquet``)."""
        return Path(out_dir) / "positions" / f"station={self.station}" / f"day={self.day}" / self.options.systems


def with_combinations(tasks: Iterable[StationDay], combinations: Sequence[str] | None) -> list[StationDay]:
    """Each task once per constellation combination (``["R", "G", "GR"]``: system
    letters, the ``systems`` option of each copy); the tasks unchanged without combinations."""
    tasks = list(tasks)
    if not combinations:
        return tasks
    combos = []
    for c in combinations:
        systems = SolveOptions(systems=c.strip()).systems if c.strip() else None
        if systems is None:
            raise SatnavError(f"combination {c!r}: expected system letters such as GR")
        if systems not in combos:
            combos.append(systems)
    return [StationDay(t.station, t.day, t.observation, t.navigation, t.options.replace(systems=c),
                       t.reference_m, t.base) for t in tasks for c in combos]


# ---------------------------------------------------------------------------- archives
#: IGS long observation names: SSSSMRCCC_S_YYYYDDDHHMM_PPP_FFF_XO.crx.gz (also .rnx, .gz/.Z/.bz2).
_LONG_OBS = re.compile(r"^(?P<id>[A-Za-z0-9]{9})_[A-Z]_(?P<year>\d{4})(?P<doy>\d{3})\d{4}_\w+?_\w+?_[A-Z]O\."
                       r"(crx|rnx)(\.gz|\.Z|\.bz2)?$")
#: IGS long navigation names: ..._YYYYDDDHHMM_PPP_XN.rnx(.gz).
_LONG_NAV = re.compile(r"^(?P<id>[A-Za-z0-9]{9})_[A-Z]_(?P<year>\d{4})(?P<doy>\d{3})\d{4}_\w+?_(?P<sys>[A-Z])N\."
                       r"rnx(\.gz|\.Z|\.bz2)?$")
#: RINEX 2 short observation names: ssssDDDf.YYo (or .YYd Hatanaka), compressed or not.
_SHORT_OBS = re.compile(r"^(?P<id>[A-Za-z0-9]{4})(?P<doy>\d{3})(?P<f>[A-Za-z0-9])\.(?P<yy>\d{2})[oOdD]"
                        r"(\.gz|\.Z|\.bz2)?$")
#: RINEX 2 short navigation names: ssssDDDf.YYn (GPS), .YYg (GLONASS), .YYl, .YYp, ...
_SHORT_NAV = re.compile(r"^(?P<id>[A-Za-z0-9]{4})(?P<doy>\d{3})(?P<f>[A-Za-z0-9])\.(?P<yy>\d{2})[nNgGlLpPqQfF]"
                        r"(\.gz|\.Z|\.bz2)?$")


def _year(yy: str) -> int:
    y = int(yy)
    return 1900 + y if y >= 80 else 2000 + y


def _navigation_beside(path: Path) -> tuple[str, str, tuple[str, ...]]:
    """(station, day, navigation files) of an observation file named the IGS way.

    Navigation of the same day in the same directory: for a long name, the station's own
    ``_MN`` file, else its per-system ``_xN`` files, else another ``_MN`` (``BRDC`` first),
    else another's ``_xN`` files, then RINEX 2 navigation of that day; for a short name, the
    station's ``.YYn``/``.YYg``..., else ``brdc``'s, else any of that day."""
    name = path.name
    directory = path.parent
    siblings = sorted(p.name for p in directory.iterdir()) if directory.is_dir() else []
    m = _LONG_OBS.match(name)
    if m:
        station_id, year, doy = m["id"], int(m["year"]), m["doy"]
        station = station_id[:4].upper()
        longs = [(n, _LONG_NAV.match(n)) for n in siblings]
        longs = [(n, x) for n, x in longs if x and int(x["year"]) == year and x["doy"] == doy]
        groups = [
            [n for n, x in longs if x["id"] == station_id and x["sys"] == "M"],
            [n for n, x in longs if x["id"] == station_id],
        ]
        others = sorted({x["id"] for n, x in longs if x["id"] != station_id},
                        key=lambda i: (not i.upper().startswith("BRDC"), i))
        for other in others:
            groups.append([n for n, x in longs if x["id"] == other and x["sys"] == "M"])
        for other in others:
            groups.append([n for n, x in longs if x["id"] == other])
    else:
        m = _SHORT_OBS.match(name)
        if not m:
            raise SatnavError(f"{path}: not an IGS observation file name (SSSSMRCCC_R_YYYYDDDHHMM_01D_30S_MO.crx.gz "
                              "or ssssDDD0.YYo): give a manifest instead")
        station, year, doy = m["id"].upper(), _year(m["yy"]), m["doy"]
        groups = []
    shorts = [(n, _SHORT_NAV.match(n)) for n in siblings]
    shorts = [(n, x) for n, x in shorts if x and x["doy"] == doy and _year(x["yy"]) == year]
    groups += [
        [n for n, x in shorts if x["id"].upper() == station],
        [n for n, x in shorts if x["id"].lower() == "brdc"],
        [n for n, x in shorts],
    ]
    navs = next((g for g in groups if g), [])
    if not navs:
        raise SatnavError(f"{path}: no navigation file of {year}-{doy} beside it (expected a ..._MN.rnx[.gz] "
                          "or .YYn/.YYg file in the same directory)")
    return station, f"{year:04d}-{doy}", tuple(str(directory / n) for n in navs)


def _is_observation_name(name: str) -> bool:
    return bool(_LONG_OBS.match(name) or _SHORT_OBS.match(name))


def tasks_from_paths(patterns: Sequence[PathType], options: SolveOptions | None = None, *,
                     references: dict[str, tuple[float, float, float]] | None = None) -> list[StationDay]:
    """Tasks of the observation files matching ``patterns`` (files or globs, ``**``
    recursive), with their navigation found beside them (:func:`_navigation_beside`).

    Files whose names are not observation names (navigation, products) are ignored;
    ``references`` maps station names (4 characters, upper case) to ECEF coordinates (m).
    Raises SatnavError when nothing matches."""
    options = options or SolveOptions()
    references = {k.upper(): v for k, v in (references or {}).items()}
    paths: list[Path] = []
    for pattern in patterns:
        text = os.fspath(pattern)
        found = sorted(glob.glob(text, recursive=True)) if glob.has_magic(text) else [text]
        if not glob.has_magic(text) and not os.path.exists(text):
            raise SatnavError(f"{text}: no such file")
        paths += [Path(p) for p in found if os.path.isfile(p) and _is_observation_name(os.path.basename(p))]
    paths = list(dict.fromkeys(p.resolve() for p in paths))
    if not paths:
        raise SatnavError(f"{', '.join(map(os.fspath, patterns))}: no observation file (IGS long or RINEX 2 names)")
    tasks = []
    for p in paths:
        station, day, navs = _navigation_beside(p)
        tasks.append(StationDay(station, day, str(p), navs, options, references.get(station)))
    return tasks


def read_references(path: PathType) -> dict[str, tuple[float, float, float]]:
    """Station coordinates from a CSV with columns ``station``, ``x_m``, ``y_m``, ``z_m``
    (ECEF m; other columns ignored; the first row of a station wins)."""
    out: dict[str, tuple[float, float, float]] = {}
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        missing = {"station", "x_m", "y_m", "z_m"} - set(reader.fieldnames or ())
        if missing:
            raise SatnavError(f"{path}: expected columns station, x_m, y_m, z_m (missing {', '.join(sorted(missing))})")
        for i, row in enumerate(reader, start=2):
            try:
                xyz = (float(row["x_m"]), float(row["y_m"]), float(row["z_m"]))
            except (TypeError, ValueError):
                raise SatnavError(f"{path}:{i}: expected numbers in x_m, y_m, z_m") from None
            out.setdefault(row["station"].strip().upper(), xyz)
    return out


# ---------------------------------------------------------------------------- manifests
_MANIFEST_KEYS = {"station", "day", "observation", "obs", "navigation", "nav", "reference", "base", "options"}


def _split_files(value) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [v for v in re.split(r"[;\s]+", value.strip()) if v]
    return [str(v) for v in value]


def _task_of_entry(entry: dict, base_options: SolveOptions, directory: Path, where: str) -> StationDay:
    option_keys = set(SolveOptions.__dataclass_fields__)
    unknown = set(entry) - _MANIFEST_KEYS - option_keys
    if unknown:
        raise SatnavError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}, expected station, day, "
                          "observation, navigation, reference, base, options or SolveOptions fields")
    station = str(entry.get("station") or "").strip()
    day = str(entry.get("day") or "").strip()
    obs = _split_files(entry.get("observation", entry.get("obs")))
    if not station or not day or len(obs) != 1:
        raise SatnavError(f"{where}: expected a station, a day and one observation file")
    navs = _split_files(entry.get("navigation", entry.get("nav")))
    changes: dict[str, Any] = {}
    extra = entry.get("options")
    if isinstance(extra, str) and extra.strip():
        try:
            extra = json.loads(extra)
        except ValueError as exc:
            raise SatnavError(f"{where}: options: bad JSON ({exc})") from None
    if isinstance(extra, dict):
        changes.update(extra)
    elif extra not in (None, ""):
        raise SatnavError(f"{where}: options: expected a table of SolveOptions fields")
    for key in option_keys & set(entry):
        value = entry[key]
        if value in (None, ""):
            continue
        changes[key] = _typed_option(key, value)
    try:
        options = SolveOptions.from_dict({**base_options.to_dict(), **changes})
    except SatnavError as exc:
        raise SatnavError(f"{where}: {exc}") from None
    reference = entry.get("reference")
    if isinstance(reference, str):
        reference = [v for v in re.split(r"[,\s]+", reference.strip()) if v] or None
    if reference is not None:
        try:
            reference = tuple(float(v) for v in reference)
        except (TypeError, ValueError):
            reference = ()
        if len(reference) != 3:
            raise SatnavError(f"{where}: reference: expected X Y Z in metres (ECEF)")
    base = entry.get("base") or None

    def resolve(p: str) -> str:
        return str((directory / p).resolve()) if not os.path.isabs(p) else p

    return StationDay(station, day, resolve(obs[0]), tuple(resolve(n) for n in navs), options,
                      reference, resolve(str(base)) if base else None)


def _typed_option(key: str, value):
    """A CSV cell as the type of SolveOptions field ``key`` (TOML values are kept)."""
    if not isinstance(value, str):
        return value
    default = SolveOptions.__dataclass_fields__[key].default
    text = value.strip()
    if isinstance(default, bool):
        return text.lower() in ("1", "true", "yes", "y")
    if isinstance(default, float) or key in ("smoothing_s", "cn0_error_m"):
        try:
            return float(text)
        except ValueError:
            return text
    if key in ("reference_position_m", "base_position") and "," in text:
        return [float(v) for v in text.split(",")]
    return text


def tasks_from_manifest(path: PathType, options: SolveOptions | None = None) -> list[StationDay]:
    """Tasks of a manifest: CSV (one row per station-day) or TOML (``[[station_day]]``
    tables, an optional ``[options]`` table applying to all).

    Fields: ``station``, ``day`` (``YYYY-DDD``), ``observation`` (one file), ``navigation``
    (files, separated by ``;`` or spaces in CSV), ``reference`` (``X Y Z`` ECEF m),
    ``base`` (base observations for DGNSS/RTK), ``options`` (JSON in CSV, a table in TOML)
    and any :class:`SolveOptions` field as its own column/key (``mode``, ``systems``,
    ``elevation_mask_deg``, ...). Relative paths are relative to the manifest. The
    options of a row are ``options`` updated by the manifest's ``[options]`` and the row's.
    """
    path = Path(path)
    base_options = options or SolveOptions()
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise SatnavError(f"{path}: not a text manifest (expected CSV or TOML)") from None
    directory = path.parent
    tasks = []
    if path.suffix.lower() == ".toml":
        try:
            import tomllib
        except ModuleNotFoundError:  # Python < 3.11
            import tomli as tomllib
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise SatnavError(f"{path}: bad TOML ({exc})") from None
        if "options" in data:
            try:
                base_options = SolveOptions.from_dict({**base_options.to_dict(), **data["options"]})
            except SatnavError as exc:
                raise SatnavError(f"{path}: [options]: {exc}") from None
        entries = data.get("station_day", [])
        if not isinstance(entries, list):
            raise SatnavError(f"{path}: expected [[station_day]] tables")
        for i, entry in enumerate(entries, start=1):
            tasks.append(_task_of_entry(entry, base_options, directory, f"{path}: station_day {i}"))
    else:
        reader = csv.DictReader(io.StringIO(text))
        for i, row in enumerate(reader, start=2):
            row = {k.strip(): (v.strip() if isinstance(v, str) else v) for k, v in row.items() if k}
            if not any(row.values()):
                continue
            tasks.append(_task_of_entry(row, base_options, directory, f"{path}:{i}"))
    if not tasks:
        raise SatnavError(f"{path}: no station-day in the manifest")
    return tasks


# ---------------------------------------------------------------------------- one task
def input_hash(task: StationDay) -> str:
    """SHA-256 (hex) of what decides a task's outputs: the input files' paths, sizes and
    modification times, the options (JSON), the reference, the satnav version and the
    layout version. A missing input hashes as missing (the task will fail)."""
    from ._version import __version__

    files = []
    for p in task.inputs:
        try:
            st = os.stat(p)
            files.append([os.path.abspath(p), st.st_size, st.st_mtime_ns])
        except OSError:
            files.append([os.path.abspath(p), None, None])
    payload = {
        "layout": LAYOUT_VERSION, "satnav": __version__, "station": task.station, "day": task.day,
        "files": files, "base": task.base is not None, "options": task.options.to_dict(),
        "reference_m": task.reference_m,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def _empty_row(task: StationDay, digest: str) -> dict[str, Any]:
    row: dict[str, Any] = {name: math.nan if kind == "float64" else None for name, kind in SUMMARY_COLUMNS}
    row.update(station=task.station, day=task.day, systems=task.options.systems, mode=task.options.mode,
               observation=task.observation, input_hash=digest, n_warnings=0, warnings="", error="")
    return row


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    if isinstance(exc, SatnavError):
        return text
    if isinstance(exc, OSError) and exc.filename is not None:
        return f"{exc.filename}: cannot read ({(exc.strerror or text).strip()})"
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def solve_station_day(task: StationDay, out_dir: PathType, digest: str | None = None) -> dict[str, Any]:
    """Solve one task and write its positions (Parquet) and its marker (JSON); returns its
    summary row. Never raises for a bad input: the row's ``state`` is ``"failed"`` and
    ``error`` the one-line message. This is what a worker runs."""
    digest = digest or input_hash(task)
    row = _empty_row(task, digest)
    start = time.perf_counter()
    caught: list = []
    try:
        from .pipeline import solve_files

        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            # one core per task (the cluster runs one task per worker thread); results do not
            # depend on the number of processes
            options = task.options if task.options.jobs is not None else task.options.replace(jobs=1)
            navigation = _shared_navigation(task, options)
            solution = solve_files(task.observation, navigation, options, base=task.base)
        table = _positions_table(task, solution)
        row.update(_summary_numbers(task, solution))
        messages = list(solution.warnings)
        stem = task.output_stem(out_dir)
        stem.parent.mkdir(parents=True, exist_ok=True)
        _write_parquet(table, stem.with_suffix(".parquet"))
        row.update(state="done", n_warnings=len(messages), warnings="; ".join(messages))
        row["run_time_s"] = time.perf_counter() - start
        _write_json({"input_hash": digest, "row": row}, _marker_path(stem))
    except Exception as exc:  # one task's failure is reported in its row, never raised
        messages = list(dict.fromkeys(str(w.message) for w in caught))
        row.update(state="failed", error=_one_line(exc), n_warnings=len(messages), warnings="; ".join(messages),
                   run_time_s=time.perf_counter() - start)
    return row


#: Navigation data read by this (worker) process: (files, sizes, modification times, strict)
#: -> (Navigation, warnings). The stations of a network share a day's navigation files
#: (BRDC, or a neighbour's): each worker reads them once, not once per station-day.
_NAVIGATION_CACHE: dict[tuple, tuple[Any, list]] = {}
NAVIGATION_CACHE_SIZE = 4


def _shared_navigation(task: StationDay, options: SolveOptions):
    """The task's navigation data, read once per worker for all station-days that name the
    same files (the reading's warnings are issued again for each); the file names
    themselves when they are not plain RINEX navigation files or the task has a base
    (relative modes read navigation their own way)."""
    from .info import detect_format

    paths = task.navigation
    if task.base is not None or not paths:
        return paths
    try:
        stats = [os.stat(p) for p in paths]
        if not all(os.path.isfile(p) and detect_format(p)[0] == "rinex-nav" for p in paths):
            return paths
    except (OSError, SatnavError):
        return paths  # solve_files says what is wrong
    key = (tuple((os.path.abspath(p), st.st_size, st.st_mtime_ns) for p, st in zip(paths, stats)), options.strict)
    hit = _NAVIGATION_CACHE.get(key)
    if hit is None:
        from .io.rinex_nav import read_rinex_nav

        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            nav = read_rinex_nav(*paths, strict=options.strict)
        nav.source = ", ".join(str(p) for p in paths)  # the labels solve_files gives the file names
        hit = (nav, [(w.message, w.category) for w in caught])
        while len(_NAVIGATION_CACHE) >= NAVIGATION_CACHE_SIZE:
            _NAVIGATION_CACHE.pop(next(iter(_NAVIGATION_CACHE)))
        _NAVIGATION_CACHE[key] = hit
    for message, category in hit[1]:
        warnings.warn(message, category, stacklevel=2)
    return hit[0]


def _positions_table(task: StationDay, solution):
    import pyarrow as pa

    from .gnss_time import ns_to_datetime64

    m = len(solution)
    rtk = not hasattr(solution, "pdop")
    lat, lon, h = solution.geodetic()
    solved = np.asarray(solution.solved, dtype=bool)
    valid = solved if rtk else np.asarray(solution.valid, dtype=bool)
    nan = np.full(m, np.nan)
    if task.reference_m is not None:
        enu = solution.enu(task.reference_m)
    else:
        enu = np.full((m, 3), np.nan)
    columns = {
        "station": [task.station] * m, "day": [task.day] * m, "systems": [task.options.systems] * m,
        "mode": [task.options.mode] * m,
        "time": ns_to_datetime64(solution.time_ns), "time_ns": np.asarray(solution.time_ns, dtype=np.int64),
        "x_m": solution.position_m[:, 0], "y_m": solution.position_m[:, 1], "z_m": solution.position_m[:, 2],
        "lat_deg": np.degrees(lat), "lon_deg": np.degrees(lon), "height_m": h,
        "status": np.asarray(solution.status, dtype=np.int16), "reason": [str(r) for r in solution.reasons],
        "solved": solved, "valid": valid, "n_used": np.asarray(solution.n_used, dtype=np.int16),
        "pdop": nan if rtk else solution.pdop, "hdop": nan if rtk else solution.hdop,
        "vdop": nan if rtk else solution.vdop,
        "east_m": enu[:, 0], "north_m": enu[:, 1], "up_m": enu[:, 2],
    }
    schema = pa.schema([(name, pa.type_for_alias(kind)) for name, kind in POSITION_COLUMNS])
    return pa.table({name: pa.array(columns[name], type=schema.field(name).type) for name in schema.names},
                    schema=schema)


def _summary_numbers(task: StationDay, solution) -> dict[str, Any]:
    rtk = not hasattr(solution, "pdop")
    solved = np.asarray(solution.solved, dtype=bool)
    valid = solved if rtk else np.asarray(solution.valid, dtype=bool)
    m = len(solution)
    out: dict[str, Any] = {
        "epochs": m, "solved": int(solved.sum()), "flagged": int((solved & ~valid).sum()),
        "availability": float(valid.sum() / m) if m else 0.0,
        "mean_satellites": float(np.mean(solution.n_used[solved])) if solved.any() else math.nan,
        "median_pdop": math.nan if rtk or not solved.any() else float(np.nanmedian(solution.pdop[solved])),
    }
    if valid.any():
        lat, lon, _ = ecef_to_geodetic(np.mean(np.asarray(solution.position_m, dtype=np.float64)[valid], axis=0))
        out.update(lat_deg=math.degrees(float(lat)), lon_deg=math.degrees(float(lon)))
    if task.reference_m is not None and valid.any():
        err = solution.errors(task.reference_m) if rtk else solution.errors(task.reference_m, mask=valid)
        out.update(h_rms_m=err["h_rms"], h_95_m=err["h_95"], v_rms_m=err["v_rms"], v_95_m=err["v_95"])
    return {k: (float(v) if isinstance(v, np.floating) else v) for k, v in out.items()}


def _write_parquet(table, path: Path) -> None:
    import pyarrow.parquet as pq

    from .io.atomic import atomic_output

    with atomic_output(path, "wb") as fh:
        pq.write_table(table, fh, compression="zstd")


def _write_json(data, path: Path) -> None:
    from .io.atomic import atomic_output

    with atomic_output(path, "w", encoding="utf-8") as fh:
        json.dump(_json_safe(data), fh, indent=1, sort_keys=True)


def _json_safe(value):
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, (float, np.floating)):
        return None if not math.isfinite(value) else float(value)
    if isinstance(value, np.integer):
        return int(value)
    return value


def _marker_path(stem: Path) -> Path:
    """The task marker beside ``stem.parquet``: ``_SYSTEMS.json`` (a leading ``_`` keeps it
    out of pyarrow/pandas dataset reads)."""
    return stem.with_name(f"_{stem.name}.json")


def _done_row(task: StationDay, out_dir: PathType, digest: str) -> dict[str, Any] | None:
    """The summary row of a task whose outputs are complete for ``digest``, else None."""
    stem = task.output_stem(out_dir)
    try:
        data = json.loads(_marker_path(stem).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if data.get("input_hash") != digest or not stem.with_suffix(".parquet").is_file():
        return None
    row = _empty_row(task, digest)
    row.update({k: v for k, v in (data.get("row") or {}).items() if k in row})
    for name, kind in SUMMARY_COLUMNS:
        if kind == "float64" and row[name] is None:
            row[name] = math.nan
    row["state"] = "skipped"
    return row


# ---------------------------------------------------------------------------- the cluster
class _SingleThreadBlas:
    """Worker plugin: one BLAS/OpenMP thread (environment, and threadpoolctl when
    installed, for libraries already loaded), and the solvers imported once."""

    name = "satnav-single-thread-blas"

    def setup(self, worker=None):
        os.environ.update(BLAS_THREAD_VARIABLES)
        try:
            from threadpoolctl import threadpool_limits
        except ImportError:
            pass
        else:
            threadpool_limits(1)
        from . import pipeline  # noqa: F401  warm the imports once per worker
        from .estimators import rtk, spp  # noqa: F401

    def teardown(self, worker=None):
        pass


def _worker_plugin():
    from distributed.diagnostics.plugin import WorkerPlugin

    plugin_class = type("SatnavSingleThreadBlas", (_SingleThreadBlas, WorkerPlugin), {})
    return plugin_class()


def _client(workers: int | None, scheduler: str | None, processes: bool, memory_limit: str | float | None):
    """(client, cluster or None): a client of ``scheduler`` or of a new LocalCluster."""
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise SatnavError("satnav batch needs dask.distributed: pip install 'satnav[batch]'") from None
    import logging

    if scheduler:
        try:
            client = Client(scheduler, timeout="10s")
        except OSError as exc:
            raise SatnavError(f"--scheduler {scheduler}: cannot connect ({' '.join(str(exc).split())})") from None
        return client, None
    n = workers or min(os.cpu_count() or 1, 4)
    kwargs: dict[str, Any] = dict(n_workers=n, threads_per_worker=1, processes=processes,
                                  dashboard_address=None, silence_logs=logging.ERROR)
    if processes:
        kwargs["env"] = dict(BLAS_THREAD_VARIABLES)
        kwargs["memory_limit"] = memory_limit if memory_limit is not None else "auto"
    cluster = LocalCluster(**kwargs)
    return Client(cluster), cluster


# ---------------------------------------------------------------------------- the batch
@dataclass
class BatchResult:
    """What :func:`run_batch` did: ``rows`` (one summary row per task, in task order),
    ``out_dir`` and the summary file paths."""

    rows: list[dict[str, Any]]
    out_dir: Path
    summary_paths: dict[str, Path] = field(default_factory=dict)
    interrupted: bool = False

    @property
    def n_failed(self) -> int:
        return sum(r["state"] == "failed" for r in self.rows)

    @property
    def n_skipped(self) -> int:
        return sum(r["state"] == "skipped" for r in self.rows)

    @property
    def n_done(self) -> int:
        return sum(r["state"] == "done" for r in self.rows)

    def to_pandas(self):
        """The summary as a pandas DataFrame."""
        import pandas as pd

        return pd.DataFrame(self.rows, columns=[name for name, _ in SUMMARY_COLUMNS])


def run_batch(
    tasks: Sequence[StationDay],
    out_dir: PathType,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    force: bool = False,
    processes: bool = True,
    memory_limit: str | float | None = None,
    progress: Callable[[dict[str, Any], int, int], None] | None = None,
    client=None,
) -> BatchResult:
    """Solve every task on Dask and write the dataset and the summary under ``out_dir``.

    ``scheduler``: address of an existing scheduler (``tcp://host:8786``; its workers must
    see the input files and ``out_dir`` at the same paths); else a ``LocalCluster`` of
    ``workers`` processes (default min(CPUs, 4); one thread each, one BLAS thread,
    ``memory_limit`` per worker; ``processes=False`` runs them as threads of this process)
    made for the run and closed after it; or ``client``, a ``distributed.Client`` to use.
    Tasks whose outputs exist for the same inputs (:func:`input_hash`) are skipped unless
    ``force``. ``progress(row, n_finished, n_total)`` is called as each task ends (skipped
    ones first). On KeyboardInterrupt the running tasks are cancelled, the summary of the
    finished ones written, and the interrupt raised again.
    """
    tasks = list(tasks)
    out = Path(out_dir)
    names = [(t.station, t.day, t.options.systems) for t in tasks]
    if len(set(names)) != len(names):
        dup = next(n for n in names if names.count(n) > 1)
        raise SatnavError(f"station {dup[0]} day {dup[1]} systems {dup[2]}: given twice, expected one task each")
    out.mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, Any] | None] = [None] * len(tasks)
    pending = []
    finished = 0
    for i, task in enumerate(tasks):
        digest = input_hash(task)
        row = None if force else _done_row(task, out, digest)
        if row is not None:
            rows[i] = row
            finished += 1
            if progress:
                progress(row, finished, len(tasks))
        else:
            pending.append((i, task, digest))
    result = BatchResult(rows=[], out_dir=out)
    if pending:
        own = client is None
        cluster = None
        if own:
            client, cluster = _client(workers, scheduler, processes, memory_limit)
        try:
            try:
                client.register_plugin(_worker_plugin())
            except AttributeError:  # distributed < 2023.9
                client.register_worker_plugin(_worker_plugin())
            finished = _run_pending(client, pending, out, rows, finished, len(tasks), progress)
        except KeyboardInterrupt:
            result.interrupted = True
            raise
        finally:
            if own:
                client.close()
                if cluster is not None:
                    cluster.close()
            result.rows = [r for r in rows if r is not None]
            result.summary_paths = write_summary(result.rows, out)
    else:
        result.rows = [r for r in rows if r is not None]
        result.summary_paths = write_summary(result.rows, out)
    return result


def _run_pending(client, pending, out: Path, rows: list, finished: int, total: int, progress) -> int:
    from distributed import as_completed

    futures = {}
    for i, task, digest in pending:
        key = f"satnav-{task.station}-{task.day}-{task.options.systems}-{digest[:12]}"
        futures[client.submit(solve_station_day, task, str(out.resolve()), digest, key=key, pure=False,
                              retries=0)] = (i, task, digest)
    try:
        for future in as_completed(futures):
            i, task, digest = futures[future]
            try:
                row = future.result()
            except Exception as exc:  # the worker died (memory, killed): the task failed
                row = _empty_row(task, digest)
                row.update(state="failed", error=f"worker lost: {_one_line(exc)}")
            rows[i] = row
            finished += 1
            if progress:
                progress(row, finished, total)
    except BaseException:
        client.cancel(list(futures))
        raise
    return finished


# ---------------------------------------------------------------------------- summaries
def _summary_table(rows: Sequence[dict[str, Any]]):
    import pyarrow as pa

    schema = pa.schema([(name, pa.type_for_alias(kind)) for name, kind in SUMMARY_COLUMNS])
    columns = {}
    for name, kind in SUMMARY_COLUMNS:
        values = [r.get(name) for r in rows]
        if kind == "float64":
            values = [math.nan if v is None else float(v) for v in values]
        columns[name] = pa.array(values, type=schema.field(name).type)
    return pa.table(columns, schema=schema)


def write_summary(rows: Sequence[dict[str, Any]], out_dir: PathType) -> dict[str, Path]:
    """Write ``summary.parquet``, ``summary.csv`` and ``summary.html`` under ``out_dir``."""
    import pyarrow.parquet as pq

    from .io.atomic import atomic_output

    out = Path(out_dir)
    paths = {"parquet": out / "summary.parquet", "csv": out / "summary.csv", "html": out / "summary.html"}
    with atomic_output(paths["parquet"], "wb") as fh:
        pq.write_table(_summary_table(rows), fh)
    with atomic_output(paths["csv"], "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow([name for name, _ in SUMMARY_COLUMNS])
        for r in rows:
            writer.writerow(["" if r.get(n) is None or (isinstance(r.get(n), float) and math.isnan(r[n]))
                             else (f"{r[n]:.4f}" if isinstance(r[n], float) else r[n]) for n, _ in SUMMARY_COLUMNS])
    with atomic_output(paths["html"], "w", encoding="utf-8") as fh:
        fh.write(summary_html(rows))
    return paths


def service_table(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The monitoring view: per station and constellation combination (``systems``), over
    the days that did not fail: ``days``, ``epochs``, ``availability`` (valid epochs /
    epochs, pooled), ``mean_satellites`` (epoch-weighted), and the median over days of
    ``median_pdop``, ``h_95_m`` and ``v_95_m`` (NaN without a reference)."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in rows:
        if r.get("state") != "failed":
            groups.setdefault((r["station"], r["systems"]), []).append(r)
    out = []
    for (station, systems), rs in sorted(groups.items()):
        epochs = sum(int(r["epochs"] or 0) for r in rs)
        valid = sum(float(r["availability"] or 0) * int(r["epochs"] or 0) for r in rs)
        solved = sum(int(r["solved"] or 0) for r in rs)
        sats = sum(_num(r["mean_satellites"]) * int(r["solved"] or 0) for r in rs if math.isfinite(_num(r["mean_satellites"])))

        def median(key, rs=rs):
            v = [_num(r[key]) for r in rs if math.isfinite(_num(r[key]))]
            return float(np.median(v)) if v else math.nan

        out.append({"station": station, "systems": systems, "days": len(rs), "epochs": epochs,
                    "availability": valid / epochs if epochs else math.nan,
                    "mean_satellites": sats / solved if solved else math.nan,
                    "median_pdop": median("median_pdop"), "h_95_m": median("h_95_m"), "v_95_m": median("v_95_m")})
    return out


def _num(v) -> float:
    return math.nan if v is None else float(v)


def _fmt(v, digits: int = 2) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return "" if math.isnan(v) else f"{v:.{digits}f}"
    return str(v)


#: Summary columns shown in the printed table and the HTML page: (column, header, digits).
DISPLAY_COLUMNS = (
    ("station", "station", 0), ("day", "day", 0), ("systems", "systems", 0), ("state", "state", 0),
    ("epochs", "epochs", 0), ("solved", "solved", 0), ("flagged", "flagged", 0),
    ("availability", "avail", 3), ("mean_satellites", "sats", 1), ("median_pdop", "PDOP", 2),
    ("h_rms_m", "H RMS m", 2), ("h_95_m", "H 95% m", 2), ("v_rms_m", "V RMS m", 2), ("v_95_m", "V 95% m", 2),
    ("run_time_s", "time s", 1), ("n_warnings", "warn", 0), ("error", "error", 0),
)
#: Columns of :func:`service_table` shown: (column, header, digits).
SERVICE_COLUMNS = (
    ("station", "station", 0), ("systems", "systems", 0), ("days", "days", 0), ("epochs", "epochs", 0),
    ("availability", "availability", 3), ("mean_satellites", "sats", 1), ("median_pdop", "PDOP", 2),
    ("h_95_m", "H 95% m", 2), ("v_95_m", "V 95% m", 2),
)


def display_rows(rows: Sequence[dict[str, Any]], columns=DISPLAY_COLUMNS) -> tuple[list[str], list[list[str]]]:
    """(headers, text cells) of ``rows`` for a table."""
    return [h for _, h, _ in columns], [[_fmt(r.get(c), d) for c, _, d in columns] for r in rows]


def summary_html(rows: Sequence[dict[str, Any]]) -> str:
    """A small self-contained HTML page: the summary and the service per combination."""

    def table(headers, cells) -> str:
        head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
        body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in cells)
        return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"

    failed = sum(r.get("state") == "failed" for r in rows)
    station_map = ""
    png = _station_map_png(rows)
    if png:
        import base64

        station_map = ("<h2>Stations</h2><figure><img alt='station map' src='data:image/png;base64,"
                       + base64.b64encode(png).decode("ascii")
                       + "'><figcaption>Mean solved position of each station; colour: horizontal 95 % "
                         "error against its reference coordinate (median over its days; hollow: no "
                         "reference), or availability when no station has a reference."
                         "</figcaption></figure>")
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>satnav batch summary</title><style>"
        "body{font-family:sans-serif;margin:1.5em}table{border-collapse:collapse;margin-bottom:2em}"
        "td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}td:nth-child(-n+4){text-align:left}"
        "figure img{max-width:100%;height:auto}"
        "</style></head><body><h1>satnav batch</h1>"
        f"<p>{len(rows)} station-days, {failed} failed.</p>" + station_map
        + "<h2>Per day</h2>" + daily_series_svg(rows, "availability", "availability (valid epochs / epochs)")
        + daily_series_svg(rows, "h_95_m", "horizontal error, 95 % (m)")
        + "<h2>Station-days</h2>" + table(*display_rows(rows))
        + "<h2>Service per station and constellation combination</h2>"
        + table(*display_rows(service_table(rows), SERVICE_COLUMNS)) + "</body></html>\n"
    )


def _svg_text(x: float, y: float, text: str) -> str:
    return f"<text x='{x:.1f}' y='{y:.1f}'>{html.escape(text)}</text>"


def daily_series_svg(rows: Sequence[dict[str, Any]], key: str, title: str, width: int = 640,
                     height: int = 220) -> str:
    """An inline SVG time series of the summary column ``key`` per day (x: the days of the
    batch in order), one line per station and constellation combination, a point per
    station-day (its value in the tooltip); failed station-days are left out."""
    days = sorted({str(r["day"]) for r in rows})
    series: dict[tuple[str, str], list[tuple[int, float]]] = {}
    for r in rows:
        v = _num(r.get(key))
        if r.get("state") != "failed" and math.isfinite(v):
            series.setdefault((str(r["station"]), str(r["systems"])), []).append((days.index(str(r["day"])), v))
    values = [v for pts in series.values() for _, v in pts]
    if not values:
        return f"<p>{html.escape(title)}: no value.</p>"
    top = max(values) * 1.1 or 1.0
    left, right, upper, lower = 50, 20, 25, 30

    def xy(i: int, v: float) -> tuple[float, float]:
        return (left + (i + 0.5) * (width - left - right) / len(days),
                upper + (1.0 - v / top) * (height - upper - lower))

    parts = [f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' "
             f"viewBox='0 0 {width} {height}' font-size='11' font-family='sans-serif' role='img'>",
             f"<title>{html.escape(title)}</title>", _svg_text(left, 15, title),
             f"<line x1='{left}' y1='{height - lower}' x2='{width - right}' y2='{height - lower}' stroke='#333'/>",
             f"<line x1='{left}' y1='{upper}' x2='{left}' y2='{height - lower}' stroke='#333'/>",
             _svg_text(5, upper + 4, f"{top:.3g}"), _svg_text(5, height - lower, "0")]
    for i in sorted({0, len(days) - 1}):
        parts.append(_svg_text(xy(i, 0.0)[0] - 25, height - 10, days[i]))
    palette = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f")
    for k, ((station, systems), pts) in enumerate(sorted(series.items())):
        colour = palette[k % len(palette)]
        label = html.escape(f"{station} {systems}")
        pts = sorted(pts)
        if len(pts) > 1:
            coords = " ".join(f"{x:.1f},{y:.1f}" for x, y in (xy(i, v) for i, v in pts))
            parts.append(f"<polyline points='{coords}' fill='none' stroke='{colour}'><title>{label}</title></polyline>")
        for i, v in pts:
            x, y = xy(i, v)
            parts.append(f"<circle cx='{x:.1f}' cy='{y:.1f}' r='2.5' fill='{colour}'>"
                         f"<title>{label} {html.escape(days[i])}: {v:.4g}</title></circle>")
    parts.append("</svg>")
    return "".join(parts)


def station_positions(rows: Sequence[dict[str, Any]]) -> dict[str, tuple[float, float, float]]:
    """Per station of the summary rows that have a position: (latitude deg, longitude deg,
    availability pooled over its station-days and combinations, median horizontal 95 %
    error in m over them, NaN where no reference coordinate is known)."""
    acc: dict[str, list] = {}
    for r in rows:
        lat, lon = _num(r.get("lat_deg")), _num(r.get("lon_deg"))
        if r.get("state") == "failed" or not (math.isfinite(lat) and math.isfinite(lon)):
            continue
        acc.setdefault(r["station"], []).append(
            (lat, lon, _num(r.get("availability")), int(r.get("epochs") or 0), _num(r.get("h_95_m"))))
    out = {}
    for station, items in acc.items():
        a = np.array(items, dtype=np.float64)
        # mean direction of the longitudes (a network across the antimeridian)
        lon = math.degrees(math.atan2(np.mean(np.sin(np.radians(a[:, 1]))), np.mean(np.cos(np.radians(a[:, 1])))))
        epochs = a[:, 3].sum()
        avail = float(np.nansum(a[:, 2] * a[:, 3]) / epochs) if epochs else math.nan
        h95 = a[:, 4][np.isfinite(a[:, 4])]
        out[station] = (float(np.mean(a[:, 0])), lon, avail, float(np.median(h95)) if h95.size else math.nan)
    return out


def _station_map_png(rows: Sequence[dict[str, Any]]) -> bytes | None:
    """PNG map of the stations (:mod:`satnav.report.basemap`), None without matplotlib or
    without any station position."""
    stations = station_positions(rows)
    if not stations:
        return None
    try:
        from matplotlib.figure import Figure
    except ImportError:
        return None
    return station_map(stations, Figure(figsize=(9.0, 5.6), dpi=100, layout="constrained"))[1]


def station_map(stations: dict[str, tuple[float, ...]], fig):
    """Draw the stations ``{name: (lat deg, lon deg, availability[, H 95 % m])}`` on a map in
    ``fig``: regional (equirectangular, at least 16 deg wide) around a local network, Equal
    Earth for one spread over the world. The dots are coloured by accuracy (horizontal 95 %
    error, m) where a reference coordinate made it known, stations without one drawn hollow;
    by availability when no station has a reference. Returns (the
    :class:`~satnav.report.basemap.MapAxes`, PNG bytes)."""
    from .report.basemap import draw_basemap, label_region_axes, projection_for, region_extent

    names = list(stations)
    lat = np.array([stations[n][0] for n in names])
    lon = np.array([stations[n][1] for n in names])
    avail = np.array([stations[n][2] for n in names])
    h95 = np.array([stations[n][3] if len(stations[n]) > 3 else math.nan for n in names])
    by_accuracy = bool(np.isfinite(h95).any())
    spread = max(float(np.ptp(lat)), float(np.ptp((lon - lon[0] + 180.0) % 360.0)))
    extent = region_extent(lon, lat, margin_deg=max(3.0, 0.1 * spread), min_span_deg=16.0)
    projection = projection_for(extent)
    ax = fig.add_subplot()
    regional = hasattr(projection, "extent_deg")
    m = draw_basemap(ax, projection, graticule_deg=10.0 if regional else 30.0)
    if regional:
        label_region_axes(m)
    centre = projection.central_lon_deg
    x, y = m.xy(centre + (lon - centre + 180.0) % 360.0 - 180.0, lat)
    if by_accuracy:
        known = np.isfinite(h95)
        ax.scatter(x[~known], y[~known], facecolors="none", edgecolors="k", s=60, linewidths=1.0, zorder=6)
        points = ax.scatter(x[known], y[known], c=h95[known], cmap="RdYlGn_r", vmin=0.0,
                            vmax=max(float(h95[known].max()), 1e-3), s=60, edgecolors="k",
                            linewidths=0.7, zorder=6)
    else:
        points = ax.scatter(x, y, c=np.nan_to_num(avail, nan=0.0), cmap="RdYlGn", vmin=0.0, vmax=1.0,
                            s=60, edgecolors="k", linewidths=0.7, zorder=6)
    labels: list[list] = []  # stations closer than half a degree share one label
    for name, la, lo, xi, yi in zip(names, lat, lon, x, y):
        near = next((lab for lab in labels if abs(lab[1] - la) < 0.5 and abs((lab[2] - lo + 180) % 360 - 180) < 0.5), None)
        if near is None:
            labels.append([name, la, lo, xi, yi])
        else:
            near[0] += f", {name}"
    for name, _, _, xi, yi in labels:
        ax.annotate(name, (xi, yi), xytext=(5, 4), textcoords="offset points", fontsize=8, zorder=7)
    fig.colorbar(points, ax=ax, shrink=0.7,
                 label="horizontal error, 95 % (m)" if by_accuracy else "availability")
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=fig.dpi)
    return m, buf.getvalue()


def read_positions(out_dir: PathType, where: str | None = None):
    """The positions dataset of a batch as a pandas DataFrame, through DuckDB
    (``where``: an SQL condition such as ``"station = 'ESBC' and valid"``)."""
    import duckdb

    pattern = str(Path(out_dir) / "positions" / "**" / "*.parquet").replace("'", "''")
    query = f"select * from read_parquet('{pattern}', hive_partitioning = false)"
    if where:
        query += f" where {where}"
    return duckdb.sql(query + " order by station, day, systems, time_ns").df()
