"""Writers of receiver solutions (and a reader of RTKLIB ``.pos`` files).

Formats (``FORMATS``):

=============  ================================================================================
``pos``        RTKLIB solution file, latitude/longitude (deg) and ellipsoidal height (m)
``pos-ecef``   RTKLIB solution file, ECEF x/y/z (m)
``nmea``       NMEA 0183 GGA + RMC + GSA sentences per epoch (via ``pynmeagps``)
``gpx``        GPX 1.1 track (plus waypoints for the flagged epochs)
``kml``        KML 2.2 track line plus one point per epoch
``geojson``    RFC 7946 FeatureCollection: the track and one feature per epoch
``csv``        one row per epoch (``Solution.to_pandas`` columns plus ``time_gpst_ns``,
               ``solved`` and ``valid``)
``parquet``    the same table as Parquet (needs ``pyarrow``)
=============  ================================================================================

The ``.pos`` layout is RTKLIB's byte for byte (``outsolheads``/``outpos``/``outecef`` of
RTKLIB ``solution.c``): ``%14.9f`` latitude/longitude, ``%10.4f`` height or ``%14.4f``
x/y/z, ``%3d`` Q and ns, six ``%8.4f`` standard deviations (the off-diagonal ones as
``sign(c) sqrt(|c|)``), ``%6.2f`` age and ``%6.1f`` ratio; lines end with ``\\n`` rather
than RTKLIB's mixed ``\\r\\n``. Q is 5 ("single") for single point positions.

Epochs that could not be solved are never dropped silently: in ``.pos`` files they are
written as ``%`` comment lines with their reason (RTKLIB's readers skip ``%`` lines), in
NMEA as empty GGA/RMC sentences, in GeoJSON as features with a null geometry, and in the
CSV/Parquet tables as rows with NaN positions and their ``status``/``reason``.

Epochs that were solved but failed the integrity checks (``Solution.status`` 3-6: RAIM
failed, weak geometry, inconsistent with the Doppler motion, implausible height;
``Solution.valid`` False) are never written as ordinary good fixes:

=============  ================================================================================
``pos``        ``% <time> flagged (<reason>): <the data row>`` comment lines (the numbers kept;
               ``flagged="write"`` writes them as data rows, ``"skip"`` leaves them out)
``nmea``       GGA fix quality 0 (invalid), RMC status V, GSA mode 1 (no fix); position kept
``gpx``        left out of the track; waypoints ``<wpt>`` named ``flagged`` with the reason in
               ``desc`` (``flagged="skip"`` leaves them out)
``kml``        left out of the track line; red Placemarks named ``flagged`` in their own Folder
               ``flagged epochs`` (``flagged="skip"`` leaves them out)
``geojson``    left out of the ``track`` LineString; Point features with ``"flagged": true``
               and the ``reason``
``csv``        rows with ``status``, ``reason`` and the booleans ``solved`` and ``valid``
=============  ================================================================================

Epochs that are *unverified* (status 2: exactly as many satellites as unknowns, e.g. four
satellites of one system, so the residual test has no redundancy) are ordinary single
solutions to RTKLIB, which writes them as Q=5 rows. In ``.pos`` files they are
``% <time> flagged (...)`` comments like the other flagged epochs by default
(``unverified="comment"``: with no redundancy a fault cannot be detected, and real files
have such epochs tens of km off), or Q=5 data rows with ``unverified="write"`` (the header
then says how many there are; their ``ns`` column shows the satellite count). Other formats
treat them as flagged.

Relative solutions (``RtkSolution``, no ``valid`` attribute) count every solved epoch as
valid: their quality is in RTKLIB's Q.

Heights are ellipsoidal (WGS84) in every format: no geoid model is applied. In NMEA GGA
the altitude field carries the ellipsoidal height and the geoid separation is 0, so that
their sum (the ellipsoidal height) stays right.
"""

from __future__ import annotations

import datetime as _dt
import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import FormatError, SatnavError, warn_damaged
from ..frames import ecef_to_geodetic, enu_rotation, geodetic_to_ecef
from ..gnss_time import (
    NS_PER_S,
    calendar_to_ns,
    from_gpst,
    gps_week_tow,
    gpst_from_week_tow,
    ns_to_calendar,
    to_gpst,
)
from ..satellites import prn_of, system_of
from ..signals import per_system
from .atomic import atomic_output

__all__ = [
    "FORMATS",
    "write_solution",
    "write_pos",
    "format_pos",
    "iter_pos_text",
    "write_nmea",
    "nmea_sentences",
    "write_gpx",
    "write_kml",
    "write_geojson",
    "write_csv",
    "write_parquet",
    "PosFile",
    "read_pos",
    "format_for_path",
]


def _xml_escape(text: str) -> str:
    """XML character data: ``&``, ``<`` and ``>`` as entities (what
    ``xml.sax.saxutils.escape`` does; importing that module pulls in ``urllib.request``,
    ~20 ms of every ``satnav solve`` start-up)."""
    return text.replace("&", "&amp;").replace(">", "&gt;").replace("<", "&lt;")


FORMATS = ("pos", "pos-ecef", "nmea", "gpx", "kml", "geojson", "csv", "parquet")

_EXTENSIONS = {
    ".pos": "pos",
    ".nmea": "nmea",
    ".gpx": "gpx",
    ".kml": "kml",
    ".geojson": "geojson",
    ".json": "geojson",
    ".csv": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
}

#: RTKLIB's solution quality for single point positioning.
Q_SINGLE = 5
_SYSTEM_NAMES = per_system("rtklib_name")
_RTKLIB_SYSTEM_ORDER = "GREJCIS"  # order of RTKLIB's "navi sys" line
_IONO_NAMES = {"klobuchar": "Broadcast", "iono-free": "Iono-Free LC", "none": "OFF"}


def format_for_path(path, fmt: str | None = None) -> str:
    """Output format name from ``fmt`` or the file extension (``.pos`` -> ``"pos"``)."""
    if fmt:
        f = fmt.strip().lower()
        aliases = {"ecef": "pos-ecef", "xyz": "pos-ecef", "llh": "pos", "json": "geojson", "pq": "parquet"}
        f = aliases.get(f, f)
        if f not in FORMATS:
            raise SatnavError(f"unknown output format {fmt!r}; expected one of {', '.join(FORMATS)}")
        return f
    suffix = Path(str(path)).suffix.lower()
    if suffix not in _EXTENSIONS:
        raise SatnavError(
            f"cannot tell the output format from {str(path)!r}; give --format, one of {', '.join(FORMATS)}"
        )
    return _EXTENSIONS[suffix]


def write_solution(solution, path, fmt: str | None = None, **kwargs) -> Path:
    """Write ``solution`` to ``path`` in ``fmt`` (default: from the extension). Returns the path."""
    f = format_for_path(path, fmt)
    writer = {
        "pos": lambda s, p, **k: write_pos(s, p, frame="llh", **k),
        "pos-ecef": lambda s, p, **k: write_pos(s, p, frame="ecef", **k),
        "nmea": write_nmea,
        "gpx": write_gpx,
        "kml": write_kml,
        "geojson": write_geojson,
        "csv": write_csv,
        "parquet": write_parquet,
    }[f]
    writer(solution, path, **kwargs)
    return Path(path)


# ====================================================================== helpers
def _sqvar(c):
    """RTKLIB's ``sqvar``: signed square root of a covariance."""
    c = np.asarray(c, dtype=np.float64)
    return np.sign(c) * np.sqrt(np.abs(c))


def _safe_sqrt(v):
    """RTKLIB's ``SQRT``: 0 for non-positive variances."""
    v = np.asarray(v, dtype=np.float64)
    return np.sqrt(np.where(v > 0, v, 0.0))


def _solved_valid(solution, pos) -> tuple[np.ndarray, np.ndarray]:
    """Masks (m,) of the epochs with a finite position and of those that also passed the
    integrity checks (``solution.valid``; every solved epoch for solutions without one)."""
    solved = np.asarray(solution.solved, dtype=bool) & np.all(np.isfinite(pos), axis=1)
    valid = np.asarray(getattr(solution, "valid", solved), dtype=bool) & solved
    return solved, valid


def _covariance(solution) -> np.ndarray:
    cov = getattr(solution, "covariance_m2", None)
    m = len(solution.time_ns)
    if cov is None:
        return np.zeros((m, 3, 3))
    cov = np.asarray(cov, dtype=np.float64)
    return np.where(np.isfinite(cov), cov, 0.0)


def _calendar_text(gpst_ns, decimals: int, scale: str = "GPS") -> list[str]:
    """``YYYY/MM/DD HH:MM:SS.sss`` per epoch, rounded to ``decimals`` like RTKLIB's time2str."""
    ns = from_gpst(np.asarray(gpst_ns, dtype=np.int64), scale)
    unit = 10 ** (9 - decimals)
    ns = (ns + unit // 2) // unit * unit
    y, mo, d, h, mi, s = ns_to_calendar(ns)
    whole = np.floor(s).astype(np.int64)
    frac = (ns % NS_PER_S) // unit
    out = []
    for row in zip(y.tolist(), mo.tolist(), d.tolist(), h.tolist(), mi.tolist(), whole.tolist(), frac.tolist()):
        sec = f"{row[5]:02d}.{row[6]:0{decimals}d}" if decimals else f"{row[5]:02d}"
        out.append(f"{row[0]:04d}/{row[1]:02d}/{row[2]:02d} {row[3]:02d}:{row[4]:02d}:{sec}")
    return out


def _tow_text(gpst_ns, decimals: int) -> list[str]:
    week, _ = gps_week_tow(gpst_ns)
    tow_ns = np.asarray(gpst_ns, dtype=np.int64) - week * (604800 * NS_PER_S)
    unit = 10 ** (9 - decimals)
    tow_units = (tow_ns + unit // 2) // unit
    width = 6 + (decimals + 1 if decimals > 0 else 0)
    out = []
    for w, t in zip(week.tolist(), tow_units.tolist()):
        whole, frac = divmod(t, 10**decimals)
        text = f"{whole}.{frac:0{decimals}d}" if decimals else f"{whole}"
        out.append(f"{w:4d} {text:>{width}}")
    return out


def _systems_used(solution) -> str:
    used = getattr(solution, "n_used_by_system", {}) or {}
    letters = [s for s in _RTKLIB_SYSTEM_ORDER if s in used and np.any(np.asarray(used[s]) > 0)]
    if not letters:
        letters = [s for s in _RTKLIB_SYSTEM_ORDER if s in used]
    return " ".join(_SYSTEM_NAMES[s] for s in letters)


def _header_lines(solution, inputs, program) -> list[str]:
    t = np.asarray(solution.time_ns, dtype=np.int64)
    lines = [f"% program   : {program}"]
    for p in inputs or ():
        lines.append(f"% inp file  : {p}")
    if len(t):
        for label, v in (("obs start", t[0]), ("obs end  ", t[-1])):
            week, tow = gps_week_tow(v)
            lines.append(f"% {label} : {_calendar_text([v], 1)[0]} GPST (week{int(week):04d} {float(tow):8.1f}s)")
    opts = getattr(solution, "options", {}) or {}
    lines.append(f"% pos mode  : {opts.get('pos_mode', 'Single')}")
    for name, text in (opts.get("models") or {}).items():
        lines.append(f"% model     : {name}: {text}")
    if "elevation_mask_deg" in opts:
        lines.append(f"% elev mask : {float(opts['elevation_mask_deg']):.1f} deg")
    if "iono" in opts:
        lines.append(f"% ionos opt : {_IONO_NAMES.get(str(opts['iono']), str(opts['iono']))}")
    if "troposphere" in opts:
        lines.append(f"% tropo opt : {'Saastamoinen' if opts['troposphere'] else 'OFF'}")
    if opts.get("smoothing_s"):
        lines.append(f"% code smth : carrier (Hatch) {float(opts['smoothing_s']):g} s")
    lines.append("% ephemeris : Broadcast" if "ephemeris" not in opts else f"% ephemeris : {opts['ephemeris']}")
    systems = _systems_used(solution)
    if systems:
        lines.append(f"% navi sys  : {systems}")
    if opts.get("glonass"):
        # RTK with GLONASS: its ambiguity resolution (glonass_ar), and why "auto" chose it
        why = opts.get("glonass_ar_reason")
        lines.append(f"% glo ar    : {opts.get('glonass_ar')}" + (f" (auto: {why})" if why else ""))
    if getattr(solution, "fixed_systems", None) is not None and np.any(solution.quality == 1):
        # RTK: which systems' ambiguities the fixes include (per epoch: the CSV/Parquet
        # column fixed_systems)
        lines.append("% fixed sys : " + solution.fixed_systems_text().removeprefix("fixed systems: "))
    lines.append("%")
    return lines


# ====================================================================== RTKLIB .pos
def iter_pos_text(
    solution,
    *,
    frame: str = "llh",
    time_format: str = "hms",
    time_system: str = "GPST",
    decimals: int = 3,
    quality=None,
    inputs=(),
    program: str | None = None,
    header: bool = True,
    unsolved: str = "comment",
    flagged: str = "comment",
    unverified: str = "comment",
    block_epochs: int = 10_000,
) -> Iterator[str]:
    """Text of an RTKLIB ``.pos`` file in pieces (the header, then the rows of
    ``block_epochs`` epochs at a time): ``"".join`` of the pieces is :func:`format_pos`'s
    text, and the memory the text takes is bounded by a block (see :func:`write_pos`)."""
    frame = frame.lower()
    if frame in ("xyz", "ecef", "pos-ecef"):
        frame = "ecef"
    elif frame in ("llh", "pos", "geodetic"):
        frame = "llh"
    else:
        raise SatnavError(f"unknown .pos frame {frame!r}; expected 'llh' or 'ecef'")
    if time_format not in ("hms", "tow"):
        raise SatnavError(f"unknown time format {time_format!r}; expected 'hms' or 'tow'")
    tsys = time_system.upper()
    if tsys not in ("GPST", "UTC"):
        raise SatnavError(f"unknown time system {time_system!r}; expected 'GPST' or 'UTC'")
    if unsolved not in ("comment", "skip"):
        raise SatnavError(f"unknown unsolved-epoch policy {unsolved!r}; expected 'comment' or 'skip'")
    if flagged not in ("comment", "write", "skip"):
        raise SatnavError(
            f"unknown flagged-epoch policy {flagged!r}; expected 'comment', 'write' or 'skip'"
        )
    if unverified not in UNVERIFIED_POLICIES:
        raise SatnavError(
            f"unknown unverified-epoch policy {unverified!r}; expected one of {', '.join(UNVERIFIED_POLICIES)}"
        )
    if program is None:
        from .._version import __version__

        program = f"satnav {__version__}"

    t = np.asarray(solution.time_ns, dtype=np.int64)
    m = len(t)
    pos = np.asarray(solution.position_m, dtype=np.float64).reshape(m, 3)
    solved, valid = _solved_valid(solution, pos)
    if quality is None:
        quality = getattr(solution, "quality", None)  # relative solutions carry their own Q
    q = np.full(m, Q_SINGLE, dtype=np.int64) if quality is None else np.broadcast_to(np.asarray(quality, dtype=np.int64), (m,))
    age = np.nan_to_num(np.broadcast_to(np.asarray(getattr(solution, "age_s", 0.0), dtype=np.float64), (m,)))
    ratio = np.nan_to_num(np.broadcast_to(np.asarray(getattr(solution, "ratio", 0.0), dtype=np.float64), (m,)))
    ns = np.asarray(solution.n_used, dtype=np.int64)
    cov = _covariance(solution)
    unverified_rows = unverified_epochs(solution, solved, valid)
    if unverified == "write":
        valid = valid | unverified_rows

    if time_format == "hms":
        def time_text(tt):
            return _calendar_text(tt, decimals, "UTC" if tsys == "UTC" else "GPS")
        time_width = 16 + decimals + 1
    else:
        def time_text(tt):
            return _tow_text(tt if tsys == "GPST" else from_gpst(tt, "UTC"), decimals)
        time_width = 8 + decimals + 1
    tlabel = "GPST" if tsys == "GPST" else "UTC "

    out: list[str] = []
    if header:
        out.extend(_header_lines(solution, inputs, program))
        if unverified == "write" and unverified_rows.any():
            out.append(
                f"% unverified: {int(unverified_rows.sum())} epochs without redundancy for the residual "
                "test (RAIM), e.g. 4 satellites, are written as Q=5 rows"
            )
        if frame == "ecef":
            out.append("% (x/y/z-ecef=WGS84,Q=1:fix,2:float,3:sbas,4:dgps,5:single,6:ppp,ns=# of satellites)")
            head = f"{'x-ecef(m)':>14} {'y-ecef(m)':>14} {'z-ecef(m)':>14}"
            sds = ("sdx(m)", "sdy(m)", "sdz(m)", "sdxy(m)", "sdyz(m)", "sdzx(m)")
        else:
            out.append(
                "% (lat/lon/height=WGS84/ellipsoidal,Q=1:fix,2:float,3:sbas,4:dgps,5:single,6:ppp,ns=# of satellites)"
            )
            head = f"{'latitude(deg)':>14} {'longitude(deg)':>14} {'height(m)':>10}"
            sds = ("sdn(m)", "sde(m)", "sdu(m)", "sdne(m)", "sdeu(m)", "sdun(m)")
        out.append(
            f"%  {tlabel:<{time_width}} {head} {'Q':>3} {'ns':>3} "
            + " ".join(f"{c:>8}" for c in sds)
            + f" {'age(s)':>6} {'ratio':>6}"
        )

    if frame == "ecef":
        c1 = pos
        sd = np.stack(
            [
                _safe_sqrt(cov[:, 0, 0]),
                _safe_sqrt(cov[:, 1, 1]),
                _safe_sqrt(cov[:, 2, 2]),
                _sqvar(cov[:, 0, 1]),
                _sqvar(cov[:, 1, 2]),
                _sqvar(cov[:, 2, 0]),
            ],
            axis=1,
        )
        fmt = "%s %14.4f %14.4f %14.4f %3d %3d %8.4f %8.4f %8.4f %8.4f %8.4f %8.4f %6.2f %6.1f"
    else:
        lat, lon, h = ecef_to_geodetic(np.where(np.isfinite(pos), pos, 0.0))
        c1 = np.stack([np.degrees(lat), np.degrees(lon), h], axis=1)
        rot = enu_rotation(lat, lon)
        qe = np.einsum("mij,mjk,mlk->mil", rot, cov, rot)  # ENU covariance
        sd = np.stack(
            [
                _safe_sqrt(qe[:, 1, 1]),
                _safe_sqrt(qe[:, 0, 0]),
                _safe_sqrt(qe[:, 2, 2]),
                _sqvar(qe[:, 0, 1]),
                _sqvar(qe[:, 0, 2]),
                _sqvar(qe[:, 1, 2]),
            ],
            axis=1,
        )
        fmt = "%s %14.9f %14.9f %10.4f %3d %3d %8.4f %8.4f %8.4f %8.4f %8.4f %8.4f %6.2f %6.1f"
    # RTKLIB prints "-0.0000" for tiny negative numbers too; keep numbers as they are.
    reasons = None
    written = bool(out)
    if out:
        yield "\n".join(out) + "\n"
    step = max(int(block_epochs), 1)
    for a in range(0, m, step):
        b = min(a + step, m)
        out = []
        times = time_text(t[a:b])
        c1l, sdl, ql, nsl = c1[a:b].tolist(), sd[a:b].tolist(), q[a:b].tolist(), ns[a:b].tolist()
        agel, ratiol = age[a:b].tolist(), ratio[a:b].tolist()
        for k, i in enumerate(range(a, b)):
            if solved[i]:
                if valid[i] or flagged == "write":
                    out.append(fmt % (times[k], *c1l[k], ql[k], nsl[k], *sdl[k], agel[k], ratiol[k]))
                elif flagged == "comment":
                    if reasons is None:
                        reasons = solution.reasons
                    row = fmt % ("", *c1l[k], ql[k], nsl[k], *sdl[k], agel[k], ratiol[k])
                    out.append(f"% {times[k]} flagged ({reasons[i]}):{row}")
            elif unsolved == "comment":
                if reasons is None:
                    reasons = solution.reasons
                out.append(f"% {times[k]} no solution: {reasons[i]}")
        if out:
            written = True
            yield "\n".join(out) + "\n"
    if not written:
        yield "\n"


def format_pos(solution, **kwargs) -> str:
    """Text of an RTKLIB ``.pos`` file (see :func:`write_pos`; the keywords are those of
    :func:`iter_pos_text`)."""
    return "".join(iter_pos_text(solution, **kwargs))


#: ``unverified=`` policies of :func:`format_pos` / :func:`write_pos`.
UNVERIFIED_POLICIES = ("write", "comment")
#: ``Solution.status`` of an epoch solved without redundancy for the residual test.
STATUS_UNVERIFIED = 2


def unverified_epochs(solution, solved=None, valid=None) -> np.ndarray:
    """Mask (m,) of the epochs solved without redundancy for the residual test
    (``status`` 2, e.g. exactly four satellites): a position, but no RAIM check."""
    if solved is None or valid is None:
        pos = np.asarray(solution.position_m, dtype=np.float64).reshape(-1, 3)
        solved, valid = _solved_valid(solution, pos)
    status = getattr(solution, "status", None)
    if status is None or not hasattr(solution, "valid"):
        return np.zeros(len(solved), dtype=bool)
    return solved & ~valid & (np.asarray(status) == STATUS_UNVERIFIED)


def write_pos(solution, path, *, frame: str = "llh", **kwargs) -> None:
    """Write an RTKLIB-compatible ``.pos`` solution file.

    Parameters
    ----------
    solution : satnav.estimators.solution.Solution
    path : str or Path
    frame : {"llh", "ecef"}
        Latitude/longitude (deg)/ellipsoidal height (m) with ENU standard deviations, or ECEF
        x/y/z (m) with ECEF ones.
    time_format : {"hms", "tow"}
        ``2020/06/25 00:10:00.000`` or GPS week and time of week ``2111 345600.000``.
    time_system : {"GPST", "UTC"}
    decimals : int
        Decimals of the seconds (RTKLIB ``out-timendec``, default 3).
    quality : int or array, optional
        RTKLIB Q per epoch (default 5, single).
    inputs : sequence of str
        Input file names for the ``inp file`` header lines.
    header : bool
        Write the header (processing options and the column legend).
    unsolved : {"comment", "skip"}
        Unsolved epochs as ``% <time> no solution: <reason>`` comment lines (default) or not
        at all (as RTKLIB does).
    flagged : {"comment", "write", "skip"}
        Epochs solved but failing the integrity checks (``solution.valid`` False, status
        2-6): as comment lines ``% <time> flagged (<reason>): <the data row>`` that keep
        every number of the row (default; RTKLIB-style readers skip them), as ordinary data
        rows (``"write"``, the position then looks like a good fix), or not at all.
        Solutions without ``valid`` (relative ``RtkSolution``) write every solved epoch.
    unverified : {"write", "comment"}
        Epochs solved without redundancy for the residual test (status 2, e.g. exactly four
        satellites): as the flagged comment lines (default), or as Q=5 data rows like
        RTKLIB's single solutions, with a header line giving their number (``"write"``).

    Notes
    -----
    The text is written a block of epochs at a time (:func:`iter_pos_text`): the memory
    it takes does not grow with the number of epochs.
    """
    with atomic_output(path, "w", encoding="ascii", newline="\n") as fh:
        for piece in iter_pos_text(solution, frame=frame, **kwargs):
            fh.write(piece)


# ---------------------------------------------------------------------- reader
@dataclass
class PosFile:
    """Contents of an RTKLIB ``.pos`` file.

    Attributes
    ----------
    time_ns : ndarray int64 (n,)
        Epochs, GPST ns (converted from UTC/JST when the file uses those).
    position_m : ndarray (n, 3)
        ECEF position (m) (converted from latitude/longitude/height for ``llh`` files, the
        height taken as ellipsoidal). For ``enu`` files the baseline east/north/up (m).
    lat_deg, lon_deg, height_m : ndarray (n,)
        Geodetic coordinates (WGS84) of ``position_m`` (for ``xyz`` files converted).
    q : ndarray int8 (n,)
        Solution quality (1 fix, 2 float, 3 SBAS, 4 DGPS, 5 single, 6 PPP).
    ns : ndarray int16 (n,)
        Number of satellites.
    sd_m : ndarray (n, 6)
        The six standard-deviation columns as written (sdx..sdzx or sdn..sdun).
    age_s, ratio : ndarray (n,)
    velocity : ndarray (n, k) or None
        Velocity columns when present (as written).
    frame : str
        ``"xyz"``, ``"llh"`` or ``"enu"``.
    time_system : str
        Time system of the file's epochs (``"GPST"``, ``"UTC"`` or ``"JST"``).
    columns : list of str
        Column names from the column header line (after the time).
    header : list of str
        The ``%`` lines before the first solution line.
    """

    time_ns: np.ndarray
    position_m: np.ndarray
    lat_deg: np.ndarray
    lon_deg: np.ndarray
    height_m: np.ndarray
    q: np.ndarray
    ns: np.ndarray
    sd_m: np.ndarray
    age_s: np.ndarray
    ratio: np.ndarray
    velocity: np.ndarray | None
    frame: str
    time_system: str
    columns: list = field(default_factory=list)
    header: list = field(default_factory=list)
    path: str = ""

    def __len__(self) -> int:
        return len(self.time_ns)

    def __repr__(self) -> str:
        return f"<PosFile {self.path} {len(self)} epochs, frame {self.frame}, {self.time_system}>"


_HMS = re.compile(r"^(\d{4})/(\d{1,2})/(\d{1,2})$")


def read_pos(path, strict: bool = False) -> PosFile:
    """Read an RTKLIB solution (``.pos``) file: xyz, llh (degrees or d m s) or enu layout,
    ``hms`` (``2020/06/25 00:10:00.000``) or ``tow`` (``2111 345600.000``) time, GPST/UTC/JST,
    blank or comma field separators.

    Damaged solution lines are skipped with a warning naming the line (``strict`` raises
    :class:`~satnav.errors.FormatError`).
    """
    from .textfile import read_bytes

    raw = read_bytes(path)
    text = raw.decode("ascii", errors="replace")
    header: list[str] = []
    frame = None
    tsys = "GPST"
    columns: list[str] = []
    dms = False
    rows: list[list[str]] = []
    line_numbers: list[int] = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        s = line.strip()
        if not s:
            continue
        if s[0] == "%":
            if not rows:
                header.append(line.rstrip("\r"))
            body = s[1:].strip()
            if "x/y/z-ecef" in body:
                frame = "xyz"
            elif "lat/lon/height" in body:
                frame = "llh"
            elif "e/n/u-baseline" in body:
                frame = "enu"
            else:
                m = re.match(r"^(GPST|UTC|JST)\s", body)
                if m and ("(m)" in body or "ecef" in body or "latitude" in body):
                    tsys = m.group(1)
                    columns = re.split(r"[\s,]+", body[len(m.group(1)):].strip())
                    if columns and columns[0].startswith("latitude(d'"):
                        dms = True
                    if columns and columns[0].startswith("x-ecef"):
                        frame = frame or "xyz"
                    elif columns and columns[0].startswith("latitude"):
                        frame = frame or "llh"
                    elif columns and columns[0].startswith("e-baseline"):
                        frame = frame or "enu"
            continue
        rows.append(re.split(r"[\s,]+", s))
        line_numbers.append(lineno)
    if frame is None:
        raise FormatError("not an RTKLIB solution file: no column legend such as '(x/y/z-ecef=WGS84,...' found", path)

    ncoord = 6 if dms else 3
    cal: list[tuple] = []  # (y, m, d, h, mi, s) or (week, tow, None, ...) per kept line
    values: list[list[float]] = []
    nvals = None
    for fields, lineno in zip(rows, line_numbers):
        try:
            m = _HMS.match(fields[0])
            if m:
                hh, mm, ss = fields[1].split(":")
                when = (int(m.group(1)), int(m.group(2)), int(m.group(3)), int(hh), int(mm), float(ss))
            else:
                when = (int(fields[0]), float(fields[1]))
            vals = [float(v) for v in fields[2:]]
            if len(vals) < ncoord + 2:
                raise ValueError(f"{len(vals)} numbers")
        except (ValueError, IndexError) as exc:
            warn_damaged(
                f"unreadable RTKLIB solution line ({exc}); expected time, {ncoord} coordinates, Q and ns",
                path, lineno, strict, error=FormatError,
            )
            continue
        if nvals is None:
            nvals = len(vals)
        if len(vals) != nvals:
            warn_damaged(
                f"solution line has {len(vals)} numbers, the lines before it {nvals}",
                path, lineno, strict, error=FormatError,
            )
            continue
        cal.append(when)
        values.append(vals)

    hms = [c for c in cal if len(c) == 6]
    if hms and len(hms) != len(cal):
        raise FormatError("solution lines mix calendar and week/time-of-week times", path)
    if hms:
        y, mo, d, hh, mi, ss = (np.array(c) for c in zip(*hms))
        times = calendar_to_ns(y, mo, d, hh, mi, ss)
    elif cal:
        wk, tow = (np.array(c) for c in zip(*cal))
        times = gpst_from_week_tow(wk, tow)
    else:
        times = np.zeros(0, dtype=np.int64)
    n = len(values)
    arr = np.array(values, dtype=np.float64).reshape(n, nvals or (ncoord + 14))
    t = np.atleast_1d(np.asarray(times, dtype=np.int64))
    if tsys == "UTC":
        t = to_gpst(t, "UTC")
    elif tsys == "JST":
        t = to_gpst(t - 9 * 3600 * NS_PER_S, "UTC")
    coords = arr[:, :ncoord]
    if dms:
        def _deg(d, mi, se):
            sign = np.where((d < 0) | ((d == 0) & (mi < 0)), -1.0, 1.0)
            return sign * (np.abs(d) + np.abs(mi) / 60 + np.abs(se) / 3600)

        # RTKLIB writes d m s with the sign on the degrees (and on m or s when d is 0)
        coords = np.stack([_deg(coords[:, 0], coords[:, 1], coords[:, 2]),
                           _deg(coords[:, 3], coords[:, 4], coords[:, 5])], axis=1)
        coords = np.concatenate([coords, arr[:, 6:7]], axis=1)
    rest = arr[:, ncoord:]
    if frame == "llh":
        lat, lon, h = coords[:, 0], coords[:, 1], coords[:, 2]
        xyz = geodetic_to_ecef(np.radians(lat), np.radians(lon), h).reshape(n, 3)
    elif frame == "xyz":
        xyz = coords[:, :3].copy()
        la, lo, h = ecef_to_geodetic(xyz) if n else (np.zeros(0),) * 3
        lat, lon = np.degrees(la), np.degrees(lo)
    else:
        xyz = coords[:, :3].copy()
        lat = lon = h = np.full(n, np.nan)
    velocity = rest[:, 10:] if rest.shape[1] > 10 else None
    return PosFile(
        time_ns=t,
        position_m=xyz,
        lat_deg=np.asarray(lat, dtype=np.float64),
        lon_deg=np.asarray(lon, dtype=np.float64),
        height_m=np.asarray(h, dtype=np.float64),
        q=rest[:, 0].astype(np.int8),
        ns=rest[:, 1].astype(np.int16),
        sd_m=rest[:, 2:8] if rest.shape[1] >= 8 else np.full((n, 6), np.nan),
        age_s=rest[:, 8] if rest.shape[1] > 8 else np.zeros(n),
        ratio=rest[:, 9] if rest.shape[1] > 9 else np.zeros(n),
        velocity=velocity,
        frame=frame,
        time_system=tsys,
        columns=columns,
        header=header,
        path=str(path),
    )


# ====================================================================== NMEA
def _utc_datetimes(gpst_ns) -> list[_dt.datetime]:
    utc = from_gpst(np.asarray(gpst_ns, dtype=np.int64), "UTC")
    # round to 10 ms (NMEA's hhmmss.ss) before splitting into calendar fields
    utc = (utc + 5_000_000) // 10_000_000 * 10_000_000
    y, mo, d, h, mi, s = ns_to_calendar(utc)
    us = (utc % NS_PER_S) // 1000
    return [
        _dt.datetime(*r[:5], int(r[5]), int(r[6]))
        for r in zip(y.tolist(), mo.tolist(), d.tolist(), h.tolist(), mi.tolist(), np.floor(s).tolist(), us.tolist())
    ]


#: NMEA 4.11 GNSS system ID and talker id per satnav system letter
#: (:attr:`satnav.signals.SystemSignals.nmea_system_id`, ``nmea_talker``).
_NMEA_SYSTEM_ID = per_system("nmea_system_id")
_NMEA_TALKER = per_system("nmea_talker")


@functools.lru_cache(maxsize=1024)
def _nmea_svid(sat: int) -> int:
    letter, prn = system_of(int(sat)), int(prn_of(int(sat)))
    if letter == "R":
        return prn + 64  # GLONASS 65-96
    if letter == "S":
        return prn + 13  # SBAS PRN 120-158 -> 33-71 (our S prn = PRN - 100)
    return prn


def nmea_sentences(solution, *, talker: str = "GN") -> list[bytes]:
    """NMEA 0183 (4.11) sentences per epoch: GGA, RMC, then one GSA per system used.

    Built with ``pynmeagps`` (its checksums). Unsolved epochs give GGA quality 0 and RMC
    status V with empty position fields; solved but flagged epochs (status 2-6, failed the
    integrity checks) keep their position fields but are marked invalid the same way: GGA
    quality 0, RMC status V (navigational status C, caution) and GSA mode 1 (no fix), so
    that a consumer that checks the fix quality does not take them as fixes. Speed and
    course come from the Doppler velocity (empty when not estimated).
    """
    try:
        from pynmeagps import GET, NMEAMessage
    except ImportError:  # pragma: no cover - depends on the environment
        raise SatnavError("writing NMEA needs pynmeagps: pip install pynmeagps") from None

    t = np.asarray(solution.time_ns, dtype=np.int64)
    m = len(t)
    pos = np.asarray(solution.position_m, dtype=np.float64).reshape(m, 3)
    solved, valid = _solved_valid(solution, pos)
    lat, lon, h = ecef_to_geodetic(np.where(np.isfinite(pos), pos, 0.0))
    vel = np.asarray(getattr(solution, "velocity_m_s", np.full((m, 3), np.nan)), dtype=np.float64).reshape(m, 3)
    venu = np.einsum("mij,mj->mi", enu_rotation(lat, lon), vel)
    speed_kn = np.hypot(venu[:, 0], venu[:, 1]) / (1852.0 / 3600.0)
    course = np.degrees(np.arctan2(venu[:, 0], venu[:, 1])) % 360.0
    when = _utc_datetimes(t)
    sats = np.asarray(solution.satellites)
    used = np.asarray(solution.used, dtype=bool).reshape(m, len(sats))
    sys_of_col = system_of(np.asarray(sats)) if len(sats) else np.zeros(0, "U1")
    out: list[bytes] = []
    lat_d, lon_d = np.degrees(lat), np.degrees(lon)
    for i in range(m):
        tm, dt = when[i].time(), when[i].date()
        if solved[i]:
            la, lo = float(lat_d[i]), float(lon_d[i])
            common = dict(lat=la, NS="N" if la >= 0 else "S", lon=lo, EW="E" if lo >= 0 else "W")
            hdop = float(solution.hdop[i])
            out.append(
                NMEAMessage(
                    talker, "GGA", GET, hpnmeamode=True, time=tm, quality=1 if valid[i] else 0,
                    numSV=int(solution.n_used[i]), HDOP=round(hdop, 1) if np.isfinite(hdop) else "",
                    alt=round(float(h[i]), 3), altUnit="M", sep=0.0, sepUnit="M",
                    diffAge="", diffStation="", **common,
                ).serialize()
            )
            has_v = bool(np.all(np.isfinite(venu[i])))
            out.append(
                NMEAMessage(
                    talker, "RMC", GET, hpnmeamode=True, time=tm, status="A" if valid[i] else "V",
                    spd=round(float(speed_kn[i]), 3) if has_v else "",
                    cog=round(float(course[i]), 2) if has_v else "",
                    date=dt, mv="", mvEW="", posMode="A", navStatus="S" if valid[i] else "C",
                    **common,
                ).serialize()
            )
            cols = used[i]
            for letter in "GRECJI":
                sel = cols & (sys_of_col == letter) if letter != "G" else cols & np.isin(sys_of_col, ["G", "S"])
                ids = [_nmea_svid(s) for s in sats[sel]][:12]
                if not ids:
                    continue
                svs = {f"svid_{k + 1:02d}": (ids[k] if k < len(ids) else "") for k in range(12)}
                dops = [float(solution.pdop[i]), float(solution.hdop[i]), float(solution.vdop[i])]
                dops = [round(v, 1) if np.isfinite(v) else "" for v in dops]
                out.append(
                    NMEAMessage(
                        talker, "GSA", GET, opMode="A", navMode=3 if valid[i] else 1,
                        PDOP=dops[0], HDOP=dops[1],
                        VDOP=dops[2], systemId=_NMEA_SYSTEM_ID[letter], **svs,
                    ).serialize()
                )
        else:
            empty = dict(lat="", NS="", lon="", EW="")
            out.append(
                NMEAMessage(
                    talker, "GGA", GET, time=tm, quality=0, numSV=0, HDOP="", alt="", altUnit="",
                    sep="", sepUnit="", diffAge="", diffStation="", **empty,
                ).serialize()
            )
            out.append(
                NMEAMessage(
                    talker, "RMC", GET, time=tm, status="V", spd="", cog="", date=dt, mv="",
                    mvEW="", posMode="N", navStatus="V", **empty,
                ).serialize()
            )
    return out


def write_nmea(solution, path, *, talker: str = "GN") -> None:
    """Write NMEA GGA/RMC/GSA sentences (see :func:`nmea_sentences`), CR LF terminated."""
    data = b"".join(nmea_sentences(solution, talker=talker))
    with atomic_output(path, "wb") as fh:
        fh.write(data)


# ====================================================================== GPX / KML / GeoJSON
def _iso_utc(gpst_ns) -> list[str]:
    return [d.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-4] + "Z" for d in _utc_datetimes(gpst_ns)]


def _track_arrays(solution):
    t = np.asarray(solution.time_ns, dtype=np.int64)
    m = len(t)
    pos = np.asarray(solution.position_m, dtype=np.float64).reshape(m, 3)
    solved, valid = _solved_valid(solution, pos)
    lat, lon, h = ecef_to_geodetic(np.where(np.isfinite(pos), pos, 0.0))
    return t, solved, valid, np.degrees(lat), np.degrees(lon), h


def _fmt_dop(v) -> str | None:
    return f"{float(v):.2f}" if np.isfinite(v) else None


def _flagged_policy(flagged: str, allowed=("points", "skip")) -> str:
    if flagged not in allowed:
        raise SatnavError(
            f"unknown flagged-epoch policy {flagged!r}; expected {' or '.join(repr(a) for a in allowed)}"
        )
    return flagged


def write_gpx(solution, path, *, name: str = "satnav solution", flagged: str = "points") -> None:
    """Write a GPX 1.1 track of the epochs that passed the integrity checks.

    ``ele`` is the ellipsoidal height, ``time`` UTC, with ``sat``/``hdop``/``vdop``/``pdop``.
    Epochs solved but flagged (``solution.valid`` False) are never track points: with
    ``flagged="points"`` (default) they are waypoints (``<wpt>``, before the track as GPX
    1.1 orders them) named ``flagged``, of ``type`` ``flagged``, with the reason in ``desc``;
    with ``flagged="skip"`` they are left out. Unsolved epochs are left out.
    """
    _flagged_policy(flagged)
    t, solved, valid, lat, lon, h = _track_arrays(solution)
    times = _iso_utc(t)
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<gpx version="1.1" creator="satnav" xmlns="http://www.topografix.com/GPX/1/1">',
    ]

    def point(tag, i, extra=()):
        pt = [f'<{tag} lat="{lat[i]:.9f}" lon="{lon[i]:.9f}">', f"<ele>{h[i]:.4f}</ele>", f"<time>{times[i]}</time>"]
        pt.extend(extra)
        pt.append("<fix>3d</fix>" if valid[i] else "<fix>none</fix>")
        pt.append(f"<sat>{int(solution.n_used[i])}</sat>")
        for dop, arr in (("hdop", solution.hdop), ("vdop", solution.vdop), ("pdop", solution.pdop)):
            v = _fmt_dop(arr[i])
            if v is not None:
                pt.append(f"<{dop}>{v}</{dop}>")
        pt.append(f"</{tag}>")
        return "".join(pt)

    if flagged == "points":
        reasons = solution.reasons
        for i in np.flatnonzero(solved & ~valid):
            extra = ("<name>flagged</name>", f"<desc>{_xml_escape(str(reasons[i]))}</desc>", "<type>flagged</type>")
            parts.append("  " + point("wpt", i, extra))
    parts.append(f"  <trk>\n    <name>{_xml_escape(name)}</name>\n    <trkseg>")
    for i in np.flatnonzero(valid):
        parts.append("      " + point("trkpt", i))
    parts.append("    </trkseg>\n  </trk>\n</gpx>\n")
    with atomic_output(path, "w", encoding="utf-8") as fh:
        fh.write("\n".join(parts))


def write_kml(solution, path, *, name: str = "satnav solution", points: bool = True,
              flagged: str = "points") -> None:
    """Write KML 2.2: a LineString ``track`` of the epochs that passed the integrity checks
    (absolute ellipsoidal heights) and, with ``points``, one green Placemark per such epoch
    with its UTC TimeStamp in the Folder ``epochs``.

    Epochs solved but flagged (``solution.valid`` False) are never part of the track: with
    ``flagged="points"`` (default) they are red Placemarks named ``flagged`` (reason in the
    description) in their own Folder ``flagged epochs``, which a viewer can hide; with
    ``flagged="skip"`` they are left out. Unsolved epochs are left out.
    """
    _flagged_policy(flagged)
    t, solved, valid, lat, lon, h = _track_arrays(solution)
    times = _iso_utc(t)
    reasons = solution.reasons
    good = np.flatnonzero(valid)
    coords = " ".join(f"{lon[i]:.9f},{lat[i]:.9f},{h[i]:.4f}" for i in good)
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<kml xmlns="http://www.opengis.net/kml/2.2">',
        "<Document>",
        f"<name>{_xml_escape(name)}</name>",
        '<Style id="ok"><IconStyle><color>ff00ff00</color><scale>0.4</scale></IconStyle></Style>',
        '<Style id="flagged"><IconStyle><color>ff0000ff</color><scale>0.4</scale></IconStyle></Style>',
        '<Style id="track"><LineStyle><color>ffffffff</color><width>1</width></LineStyle></Style>',
        "<Placemark><name>track</name><styleUrl>#track</styleUrl><LineString>"
        f"<altitudeMode>absolute</altitudeMode><coordinates>{coords}</coordinates></LineString></Placemark>",
    ]

    def placemark(i, style, label=""):
        return (
            f"<Placemark>{label}<TimeStamp><when>{times[i]}</when></TimeStamp><styleUrl>#{style}</styleUrl>"
            f"<description>{_xml_escape(str(reasons[i]))}; {int(solution.n_used[i])} satellites</description>"
            f"<Point><altitudeMode>absolute</altitudeMode><coordinates>{lon[i]:.9f},{lat[i]:.9f},{h[i]:.4f}"
            "</coordinates></Point></Placemark>"
        )

    if points:
        parts.append("<Folder><name>epochs</name>")
        parts.extend(placemark(i, "ok") for i in good)
        parts.append("</Folder>")
    bad = np.flatnonzero(solved & ~valid)
    if flagged == "points" and len(bad):
        parts.append("<Folder><name>flagged epochs</name>")
        parts.extend(placemark(i, "flagged", "<name>flagged</name>") for i in bad)
        parts.append("</Folder>")
    parts.append("</Document>\n</kml>\n")
    with atomic_output(path, "w", encoding="utf-8") as fh:
        fh.write("\n".join(parts))


def _num(v, nd=4):
    v = float(v)
    return round(v, nd) if np.isfinite(v) else None


def geojson_dict(solution) -> dict:
    """GeoJSON FeatureCollection (RFC 7946: [lon, lat, ellipsoidal height], WGS84).

    First a LineString ``track`` of the epochs that passed the integrity checks, then one
    feature per epoch: a Point for solved epochs (null geometry when unsolved) with
    ``time_gpst``, ``time_utc``, ``time_gpst_ns``, ``status``, ``reason``, ``valid``,
    ``flagged`` (solved but failed the integrity checks: not part of the track),
    ``n_used`` and DOPs.
    """
    t, solved, valid, lat, lon, h = _track_arrays(solution)
    utc = _iso_utc(t)
    y, mo, d, hh, mi, ss = ns_to_calendar(t)
    reasons = solution.reasons
    features = [
        {
            "type": "Feature",
            "geometry": {
                "type": "LineString",
                "coordinates": [[round(float(lon[i]), 9), round(float(lat[i]), 9), round(float(h[i]), 4)] for i in np.flatnonzero(valid)],
            },
            "properties": {"name": "track"},
        }
    ]
    for i in range(len(t)):
        geom = (
            {"type": "Point", "coordinates": [round(float(lon[i]), 9), round(float(lat[i]), 9), round(float(h[i]), 4)]}
            if solved[i]
            else None
        )
        features.append(
            {
                "type": "Feature",
                "geometry": geom,
                "properties": {
                    "time_gpst": f"{int(y[i]):04d}-{int(mo[i]):02d}-{int(d[i]):02d}T{int(hh[i]):02d}:{int(mi[i]):02d}:{float(ss[i]):06.3f}",
                    "time_utc": utc[i],
                    "time_gpst_ns": int(t[i]),
                    "status": int(solution.status[i]),
                    "reason": str(reasons[i]),
                    "valid": bool(valid[i]),
                    "flagged": bool(solved[i] and not valid[i]),
                    "n_used": int(solution.n_used[i]),
                    "pdop": _num(solution.pdop[i], 2),
                    "hdop": _num(solution.hdop[i], 2),
                    "vdop": _num(solution.vdop[i], 2),
                },
            }
        )
    return {"type": "FeatureCollection", "features": features}


def write_geojson(solution, path) -> None:
    """Write :func:`geojson_dict` as a GeoJSON file."""
    import json

    text = json.dumps(geojson_dict(solution), allow_nan=False)
    with atomic_output(path, "w", encoding="utf-8") as fh:
        fh.write(text)


# ====================================================================== tables
def _table(solution):
    df = solution.to_pandas()
    df.insert(0, "time_gpst_ns", np.asarray(solution.time_ns, dtype=np.int64))
    m = len(solution.time_ns)
    solved, valid = _solved_valid(solution, np.asarray(solution.position_m, dtype=np.float64).reshape(m, 3))
    at = df.columns.get_loc("status") if "status" in df.columns else len(df.columns)
    for name, col in (("valid", valid), ("solved", solved)):
        if name not in df.columns:
            df.insert(at, name, col)
    return df


def write_csv(solution, path) -> None:
    """Write one row per epoch as CSV: ``Solution.to_pandas()`` plus ``time_gpst_ns`` and the
    booleans ``solved`` (a position is given) and ``valid`` (solved and passed the integrity
    checks); flagged epochs are the rows with ``solved`` true and ``valid`` false."""
    try:
        import pandas  # noqa: F401
    except ImportError:  # pragma: no cover
        raise SatnavError("writing CSV needs pandas: pip install pandas") from None
    table = _table(solution)
    with atomic_output(path, "w", encoding="utf-8", newline="") as fh:
        table.to_csv(fh, index=False)


def write_parquet(solution, path) -> None:
    """Write the table of :func:`write_csv` as Parquet (needs pandas and pyarrow)."""
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        raise SatnavError(
            "writing Parquet needs pyarrow, which is not installed: pip install pyarrow "
            "(or choose --format csv)"
        ) from None
    df = _table(solution)
    df["reason"] = df["reason"].astype(str)
    with atomic_output(path, "wb") as fh:
        df.to_parquet(fh, engine="pyarrow", index=False)
