"""``satnav info``: what a GNSS file holds, for people (text) and programs (JSON).

:func:`detect_format` recognises the file from its first line(s), whatever its name and
compression; :func:`file_info` reads it with the right reader and summarises it as a
plain dict (JSON-ready); :func:`format_info` renders that dict as text.
"""

from __future__ import annotations

import re
from os import PathLike

import numpy as np

from .errors import FormatError, SatnavError
from .gnss_time import format_gpst
from .io.textfile import MEMBER_SEPARATOR, is_hatanaka, read_head
from .satellites import SYSTEM_NAMES, SYSTEMS, satellite_ids

__all__ = ["detect_format", "file_info", "format_info", "split_archive_inputs"]

#: Human names of the formats :func:`detect_format` returns.
FORMAT_NAMES = {
    "rinex-obs": "RINEX observation",
    "rinex-nav": "RINEX navigation",
    "rinex-clk": "RINEX clock",
    "rinex-met": "RINEX meteorological",
    "sp3": "SP3 precise orbit",
    "ionex": "IONEX ionosphere maps",
    "antex": "ANTEX antenna phase centres",
    "ngs-pcv": "NGS antenna calibrations (phase centres)",
    "bias-sinex": "bias SINEX (code/phase biases)",
    "blq": "BLQ ocean tide loading coefficients",
    "android-gnsslogger": "Android GnssLogger raw log",
    "ubx": "u-blox UBX raw log",
    "rtcm3": "RTCM 3 log",
    "archive": "archive (zip/tar) of files",
    "gsdc-device-gnss": "GSDC device_gnss.csv (Android raw measurements)",
    "gsdc-derived": "GSDC 2021 derived.csv (pseudoranges and Google's satellite states)",
}


#: Formats of phones, decoded as observations by :mod:`satnav.io.android`.
PHONE_FORMATS = ("android-gnsslogger", "gsdc-device-gnss", "gsdc-derived")


def _first_lines(path: str | PathLike, n_bytes: int = 4096) -> tuple[list[str], bool]:
    """The first lines of ``path``'s decompressed text (at most ``n_bytes``; never more is
    decompressed) and whether it is Hatanaka compressed."""
    head = read_head(path, n_bytes)
    hatanaka = is_hatanaka(head)
    text = head[:n_bytes].decode("ascii", "replace").replace("\r", "")
    return text.split("\n"), hatanaka


def detect_format(path: str | PathLike) -> tuple[str, float | None]:
    """(format, version) of a file: format is a key of :data:`FORMAT_NAMES`.

    Raises :class:`FormatError` (with line 1) for an empty or unrecognised file.
    """
    from .io.archive import is_archive

    if is_archive(path):
        return "archive", None
    from .io.rawlog import log_protocol, read_head_bytes

    head = read_head_bytes(path)
    protocol = log_protocol(head) if head else None
    if protocol is not None:  # a raw receiver log: "ubx" or "rtcm3"
        return protocol, None
    lines, hatanaka = _first_lines(path, 1 << 16)
    first_nonblank = next((i for i, ln in enumerate(lines) if ln.strip()), None)
    if first_nonblank is None:
        raise FormatError("empty file, expected a RINEX, SP3 or clock file header", path, 1)
    if hatanaka:
        return "rinex-obs", _version_from_rinex_lines(lines, hatanaka=True)
    line = lines[first_nonblank]
    if re.match(r"#[a-d ][PV ] ?\s*\d{4} ", line):
        return "sp3", None
    if line.startswith("%=BIA"):
        return "bias-sinex", _float(line[6:10])
    if line.startswith("$$"):
        return "blq", None
    if line.startswith("<ant_info") or any(ln.startswith("ANTENNA ID") and "DATA SOURCE" in ln for ln in lines[:20]):
        return "ngs-pcv", None
    phone = _phone_format(lines, first_nonblank)
    if phone:
        return phone, None
    label = line[60:].strip()
    if "IONEX VERSION" in label:
        return "ionex", _float(line[:20])
    if "ANTEX VERSION" in label:
        return "antex", _float(line[:20])
    if "RINEX VERSION" in line[55:]:
        version = _float(line[:9]) or _float(line[:20].split()[0] if line[:20].split() else "")
        kind = line[20:40].strip()[:1].upper()
        if "CLOCK" in line[20:60] or (version and version >= 3.04 and line[21:22] == "C"):
            return "rinex-clk", version
        if "METEOROLOGICAL" in line[20:60]:
            return "rinex-met", version
        if kind == "O" or "OBSERVATION" in line[20:40]:
            return "rinex-obs", version
        if kind in ("N", "G", "H", "L", "E", "B") or "NAV" in line[20:60]:
            return "rinex-nav", version
        if kind == "M":
            return "rinex-met", version
        if kind == "C":
            return "rinex-clk", version
        raise FormatError(f"unknown RINEX file type {line[20:40].strip()!r}", path, first_nonblank + 1)
    raise FormatError(
        "not a recognised GNSS file: expected a RINEX, CRINEX, SP3, clock, IONEX or ANTEX header",
        path, first_nonblank + 1,
    )


def _phone_format(lines: list[str], first: int) -> str | None:
    """Android formats told by content: a GnssLogger log (comment lines ``#`` then records
    such as ``Raw,``/``Fix,``, however long the comment header), a GSDC ``device_gnss.csv``
    (``MessageType,`` header, ``Raw`` rows) or a GSDC 2021 ``*_derived.csv``."""
    line = lines[first]
    if line.startswith("MessageType,"):
        return "gsdc-device-gnss"
    if "," in line:  # a CSV header (the phone reader is not loaded for other files)
        from .io.android import is_gsdc_derived_header

        if is_gsdc_derived_header(line):
            return "gsdc-derived"
    records = ("Raw,", "Fix,", "Status,", "Nav,", "UncalAccel,", "UncalGyro,", "UncalMag,", "OrientationDeg,",
               "Agc,", "GameRotationVector,")
    if line.startswith("# Header Description") or any(ln.startswith(records[0]) for ln in lines):
        return "android-gnsslogger"
    if line.startswith("#") and any(ln.startswith(records) or ln.startswith("# Raw,") for ln in lines):
        return "android-gnsslogger"
    return None


def split_archive_inputs(obs, navs) -> tuple:
    """(observation input, navigation inputs) with archives replaced by their members.

    The rule: an archive (zip/tar, :mod:`satnav.io.archive`) as ``obs`` gives its one
    observation member (a :class:`SatnavError` listing them when there are several: name one
    as ``ARCHIVE::MEMBER``); an archive among ``navs`` gives its navigation members; and when
    no navigation input is given at all, observations taken from an archive (whole, or
    ``ARCHIVE::MEMBER``, or :class:`Observations` read from one) use the navigation members
    of that archive. Other inputs are kept as they are.
    """
    import os

    from .io.archive import is_archive, member_names

    def kinds(archive):
        found: dict[str, list[str]] = {}
        for spec in member_names(archive):
            try:
                fmt, _ = detect_format(spec)
            except SatnavError:
                continue
            found.setdefault(fmt, []).append(spec)
        return found

    source_archive = None
    if isinstance(obs, (str, PathLike)) and is_archive(obs):
        found = kinds(obs)
        observations = [s for f in ("rinex-obs", *PHONE_FORMATS) for s in found.get(f, [])]
        if len(observations) != 1:
            names = ", ".join(observations) or "none"
            raise SatnavError(f"{obs}: the archive holds {len(observations)} observation files ({names}): "
                              f"name one as ARCHIVE{MEMBER_SEPARATOR}MEMBER")
        source_archive, obs = obs, observations[0]
    else:
        source = os.fspath(obs) if isinstance(obs, (str, PathLike)) else str(getattr(obs, "source", "") or "")
        head, sep, _ = source.partition(MEMBER_SEPARATOR)
        if sep and not os.path.exists(source) and os.path.isfile(head):
            source_archive = head
    if isinstance(navs, (list, tuple)):
        expanded = []
        for p in navs:
            if isinstance(p, (str, PathLike)) and is_archive(p):
                members = kinds(p).get("rinex-nav", [])
                if not members:
                    raise SatnavError(f"{p}: the archive holds no navigation file")
                expanded.extend(members)
            else:
                expanded.append(p)
        if not expanded and source_archive is not None:
            expanded = kinds(source_archive).get("rinex-nav", [])
        navs = expanded
    return obs, navs


def _version_from_rinex_lines(lines: list[str], hatanaka: bool) -> float | None:
    for ln in lines[:5]:
        if "RINEX VERSION / TYPE" in ln:
            return _float(ln[:9])
    return None


def _float(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _time_text(ns) -> str | None:
    return None if ns is None else format_gpst(int(ns))


def _epoch_summary(time_ns, header_interval_s=None) -> dict:
    """Number of epochs, first and last epoch (text) and interval (s) of GPST ns: the
    header's interval when it gives one (> 0), else the median spacing of the epochs."""
    t = np.sort(np.unique(np.asarray(time_ns, dtype=np.int64)))
    if header_interval_s is not None and np.isfinite(header_interval_s) and header_interval_s > 0:
        interval = float(header_interval_s)
    else:
        interval = float(np.median(np.diff(t))) / 1e9 if len(t) > 1 else None
    return {
        "epochs": int(len(t)),
        "first_epoch": _time_text(t.min()) if len(t) else None,
        "last_epoch": _time_text(t.max()) if len(t) else None,
        "interval_s": interval,
    }


# ----------------------------------------------------------------------------- per format
def _obs_info(path, strict: bool, jobs: int = 1) -> dict:
    from .io.rinex_obs import read_rinex_obs

    info = _chunked_obs_info(path, strict, jobs)  # bounded memory, and several cores
    if info is not None:
        return info
    return _observations_summary(read_rinex_obs(path, strict=strict))


#: Epoch records per chunk of ``satnav info --jobs`` (a chunk of a day at 30 s ~ 6 MB of text).
INFO_CHUNK_EPOCHS = 500


def _taken(entry):
    """A chunk's part: a worker's future (waited for) or a part parsed here."""
    return entry.result() if hasattr(entry, "result") else entry


def _chunk_part(path, raw, strict: bool):
    """What the summary needs of one chunk (:class:`~satnav.io.rinex_obs.ChunkText`); None
    when the chunk warned (damaged records: the file is then read whole, which warns once
    per file) or holds header records (event flag 3/4)."""
    import warnings

    from .io.rinex_obs import parse_chunk_text

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        obs = parse_chunk_text(path, raw, strict)
    if any(not issubclass(w.category, ResourceWarning) for w in caught) or \
            any(e.flag in (3, 4) for e in obs.events):
        return None
    return dict(header=obs.header, sats=obs.satellite_indices, codes=obs.codes_by_system(),
                epochs=obs.epochs, flags=obs.epoch_flags, events=len(obs.events), rows=len(obs))


def _chunked_obs_info(path, strict: bool, jobs: int) -> dict | None:
    """:func:`_observations_summary` of a RINEX 3/4 file from its time chunks, parsed by
    this process and ``jobs - 1`` worker processes (forked once; a chunk's text goes to a
    worker while fewer than two per worker wait, else it is parsed here) while this one
    reads the text; the summary of the whole file read at once. None (read it whole) for a
    file that is not chunked that way: not RINEX 3/4, damaged records, header records in
    the body, epochs out of order across chunks."""
    from collections import deque

    from .io.rinex_obs import NotChunkableError, iter_rinex_obs_texts
    from .observations import nominal_interval_s
    from .parallel import can_fork

    parts: list = []
    try:
        texts = iter_rinex_obs_texts(path, chunk_epochs=INFO_CHUNK_EPOCHS)
    except NotChunkableError:
        return None
    pool = None
    pending: deque = deque()  # futures of the workers, or parts parsed here, in file order
    try:
        if can_fork() and jobs > 1:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            pool = ProcessPoolExecutor(max_workers=jobs - 1, mp_context=multiprocessing.get_context("fork"))
        for raw in texts:
            while pending and (not hasattr(pending[0], "done") or pending[0].done()):
                parts.append(_taken(pending.popleft()))
            busy = sum(1 for f in pending if hasattr(f, "done") and not f.done())
            if pool is not None and busy < 2 * (jobs - 1):
                pending.append(pool.submit(_chunk_part, path, raw, strict))
            else:
                pending.append(_chunk_part(path, raw, strict))
            del raw
            if any(p is None for p in parts):
                return None
        while pending:
            parts.append(_taken(pending.popleft()))
    except NotChunkableError:
        return None
    finally:
        texts.close()  # ends any Hatanaka expansion still running
        for f in pending:
            if hasattr(f, "cancel"):
                f.cancel()
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
    if not parts or any(p is None for p in parts):
        return None
    epochs = np.concatenate([p["epochs"] for p in parts])
    if len(epochs) > 1 and (np.diff(epochs) <= 0).any():
        return None  # out of order or duplicate across chunks: the whole-file reader decides
    codes: dict[str, set] = {}
    for p in parts:
        for system, cs in p["codes"].items():
            codes.setdefault(system, set()).update(cs)
    sats = np.unique(np.concatenate([p["sats"] for p in parts]))
    header = parts[0]["header"]
    return _summary(header, sorted(satellite_ids(sats).tolist()), epochs,
                    np.concatenate([p["flags"] for p in parts]), sum(p["events"] for p in parts),
                    {s: sorted(c) for s, c in sorted(codes.items())}, sum(p["rows"] for p in parts),
                    nominal_interval_s(header.interval_s, epochs))


def _phone_info(path, fmt: str, strict: bool) -> dict:
    """Android GnssLogger logs and GSDC files, decoded as observations."""
    import warnings

    from .errors import DamagedRecordWarning, SatnavWarning
    from .io.android import read_phone_observations

    with warnings.catch_warnings():
        # the count of measurements without a pseudorange is a note of the summary (its
        # header comment), not a warning about a place in the file; damaged records still warn
        warnings.filterwarnings("ignore", category=SatnavWarning)
        warnings.filterwarnings("default", category=DamagedRecordWarning)
        obs = read_phone_observations(path, fmt, strict=strict)
    info = _observations_summary(obs)
    info["format"] = fmt
    info["version"] = None
    info["notes"] = [c.replace(f"{path}: ", "", 1) for c in obs.header.comments]
    return info


def _observations_summary(obs) -> dict:
    return _summary(obs.header, obs.satellites, obs.epochs, obs.epoch_flags, len(obs.events),
                    obs.codes_by_system(), len(obs), obs.interval_s())


def _summary(h, sats: list[str], epochs, epoch_flags, n_events: int, codes_with_data: dict, rows: int,
             interval_s) -> dict:
    """The summary of observations: header ``h``, satellite ids, epochs (GPST ns) and their
    flags, number of events, codes with values per system, number of rows, interval (s)."""
    per_system: dict[str, int] = {}
    for s in sats:
        per_system[s[0]] = per_system.get(s[0], 0) + 1
    codes_declared = {k: list(v) for k, v in sorted(h.obs_codes.items())}
    ok = np.isin(epoch_flags, (0, 1))
    first = int(epochs.min()) if len(epochs) else None
    last = int(epochs.max()) if len(epochs) else None
    return {
        "format": "rinex-obs",
        "version": h.version,
        "hatanaka": None,
        "marker": h.marker_name,
        "marker_number": h.marker_number,
        "receiver": " ".join(x for x in (h.receiver_type, h.receiver_version) if x).strip(),
        "antenna": h.antenna_type,
        "approx_position_m": None if h.approx_position_m is None else [float(v) for v in h.approx_position_m],
        "time_system": h.time_system,
        "first_epoch": _time_text(first),
        "last_epoch": _time_text(last),
        "interval_s": interval_s,
        "epochs": int(np.count_nonzero(ok)),
        "events": n_events,
        "satellites": sats,
        "satellites_per_system": per_system,
        "observation_codes": codes_declared,
        "observation_codes_with_data": codes_with_data,
        "observations": rows,
    }


def _nav_info(path, strict: bool) -> dict:
    from .io.rinex_nav import read_rinex_nav

    nav = read_rinex_nav(path, strict=strict)
    counts = nav.count_by_system()
    per_system_time = {}
    for letter, msgs in nav.messages.items():
        if len(msgs):
            per_system_time[letter] = [_time_text(msgs["toc"].min()), _time_text(msgs["toc"].max())]
    span = nav.time_span() if any(counts.values()) else (None, None)
    return {
        "format": "rinex-nav",
        "version": nav.header.version,
        "messages": {k: int(v) for k, v in counts.items()},
        "satellites": nav.satellites(),
        "first_message": _time_text(span[0]),
        "last_message": _time_text(span[1]),
        "time_per_system": per_system_time,
        "iono_corrections": sorted(nav.header.iono_corrections),
        "time_corrections": sorted(nav.header.time_corrections),
        "leap_seconds": nav.header.leap_seconds,
    }


def _sp3_info(path, strict: bool) -> dict:
    from .io.sp3 import read_sp3

    sp3 = read_sp3(path, strict=strict)
    return {
        "format": "sp3",
        "version": getattr(sp3.header, "version", None),
        "agency": getattr(sp3.header, "agency", None),
        "coordinate_system": getattr(sp3.header, "coordinate_system", None),
        "time_system": getattr(sp3.header, "time_system", None),
        **_epoch_summary(sp3.time, getattr(sp3.header, "interval_s", None)),
        "epochs_in_header": getattr(sp3.header, "number_of_epochs", None),
        "satellites": sorted(satellite_ids(sp3.satellites).tolist()),
        "velocities": sp3.velocity_m_s is not None,
    }


def _clk_info(path, strict: bool) -> dict:
    from .io.clk import read_clk

    clk = read_clk(path, strict=strict)
    return {
        "format": "rinex-clk",
        "version": getattr(clk.header, "version", None),
        **_epoch_summary(clk.satellite_time),
        "satellites": sorted(satellite_ids(clk.satellites).tolist()),
        "stations": sorted(clk.stations),
    }


def _header_only_info(path, fmt: str, version) -> dict:
    """Formats satnav does not decode yet (met, IONEX, ANTEX, Android logs): name the format."""
    lines, _ = _first_lines(path, 1 << 16)
    info = {"format": fmt, "version": version, "decoded": False}
    if fmt == "android-gnsslogger":
        info["version"] = None
        info["raw_records_in_first_64k"] = sum(1 for ln in lines if ln.startswith("Raw,"))
    else:
        info["comments"] = [ln[:60].rstrip() for ln in lines if ln[60:].strip() == "COMMENT"][:5]
    return info


def _product_info(path, fmt: str, version, strict: bool) -> dict:
    """PPP products: bias SINEX (agency, satellites, span), BLQ (stations), ANTEX and NGS
    antenna files (satellite and receiver antennas)."""
    info: dict = {"format": fmt, "version": version, "decoded": True}
    if fmt == "bias-sinex":
        from .io.bias_sinex import read_bias_sinex

        b = read_bias_sinex(path, strict=strict)
        span = b.span_ns
        info.update(agency=b.analysis_centre, satellites=[str(x) for x in satellite_ids(b.satellites)],
                    biases=sum(len(v) for v in b.biases.values()),
                    clock_reference={k: list(v) for k, v in b.clock_reference.items()},
                    first_epoch=_time_text(span[0]) if span else None,
                    last_epoch=_time_text(span[1]) if span and span[1] < np.iinfo(np.int64).max else None)
    elif fmt == "blq":
        from .io.blq import read_blq

        info["stations"] = sorted(read_blq(path, strict=strict))
    elif fmt == "ionex":
        from .io.ionex import read_ionex

        maps = read_ionex(path, strict=strict)
        info.update(agency=maps.agency, maps=len(maps.time_ns), first_epoch=_time_text(int(maps.time_ns[0])),
                    last_epoch=_time_text(int(maps.time_ns[-1])),
                    grid=f"{maps.latitude_deg[0]:g}..{maps.latitude_deg[-1]:g} deg latitude, "
                         f"{maps.longitude_deg[0]:g}..{maps.longitude_deg[-1]:g} deg longitude, "
                         f"layer {maps.height_m / 1e3:g} km",
                    max_vtec_tecu=float(np.nanmax(maps.tec_tecu)))
    else:
        from .io.antex import read_antennas

        ants = read_antennas(path, strict=strict)
        info["satellite_antennas"] = sorted(ants.satellites)
        info["receiver_antennas"] = sorted(k.strip() for k in ants.receivers)
    return info


def _archive_info(path) -> dict:
    """Every member of a zip/tar archive: name, size and format (or why it is not read)."""
    from .io.archive import list_members

    members = []
    for m in list_members(path):
        entry = {"name": m.name, "size": m.size, "format": None, "version": None}
        try:
            entry["format"], entry["version"] = detect_format(m.spec(path))
        except SatnavError as exc:
            entry["error"] = getattr(exc, "message", str(exc))
        members.append(entry)
    return {"format": "archive", "version": None, "members": members,
            "member_syntax": f"{path}{MEMBER_SEPARATOR}MEMBER"}


def file_info(path: str | PathLike, *, strict: bool = False, jobs: int = 1) -> dict:
    """Summary of one file as a JSON-ready dict (keys documented in README). A RINEX 3/4
    observation file is read in time chunks (memory bounded by a few chunks), parsed by
    ``jobs`` processes (the same summary as the file read whole)."""
    fmt, version = detect_format(path)
    if fmt == "rinex-obs":
        info = _obs_info(path, strict, jobs)
    elif fmt == "rinex-nav":
        info = _nav_info(path, strict)
    elif fmt == "sp3":
        info = _sp3_info(path, strict)
    elif fmt == "rinex-clk":
        info = _clk_info(path, strict)
    elif fmt == "ubx":
        from .io.ubx import ubx_info

        info = ubx_info(path)
    elif fmt == "rtcm3":
        from .io.rtcm3 import rtcm3_info

        info = rtcm3_info(path)
    elif fmt in PHONE_FORMATS:
        info = _phone_info(path, fmt, strict)
    elif fmt == "archive":
        info = _archive_info(path)
    elif fmt in ("bias-sinex", "blq", "antex", "ngs-pcv", "ionex"):
        info = _product_info(path, fmt, version, strict)
    else:
        info = _header_only_info(path, fmt, version)
    info = {"file": str(path), **info}
    if fmt == "rinex-obs":
        _, hatanaka = _first_lines(path, 512)
        info["hatanaka"] = hatanaka
    return info


def _span_text(first, last, what: str) -> str:
    """``first .. last``, or ``no epochs`` (``no messages``) when there is none."""
    if first is None or last is None:
        return f"no {what}"
    return f"{first} .. {last}"


def format_info(info: dict) -> str:
    """Text rendering of :func:`file_info`'s dict."""
    fmt = info["format"]
    version = info.get("version")
    out = [f"{info['file']}", f"  format      {FORMAT_NAMES.get(fmt, fmt)}" + (f" {version}" if version else "")]
    if fmt == "rinex-obs" and info.get("hatanaka"):
        out[-1] += " (Hatanaka compressed)"

    def add(label, value):
        if value not in (None, "", [], {}):
            out.append(f"  {label:<11} {value}")

    if fmt == "rinex-obs" or fmt in PHONE_FORMATS:
        add("marker", " ".join(x for x in (info["marker"], info["marker_number"]) if x))
        add("receiver", info["receiver"])
        add("antenna", info["antenna"])
        if info["approx_position_m"]:
            add("position", "X {:.4f}  Y {:.4f}  Z {:.4f} m".format(*info["approx_position_m"]))
        add("time span", _span_text(info["first_epoch"], info["last_epoch"], "epochs"))
        add("interval", f"{info['interval_s']:g} s" if info["interval_s"] else None)
        add("epochs", f"{info['epochs']}" + (f" (+{info['events']} event records)" if info["events"] else ""))
        add("satellites", f"{len(info['satellites'])}")
        per_system = info["satellites_per_system"]
        for s in sorted(per_system, key=lambda letter: SYSTEMS.find(letter) % 99):
            n = per_system[s]
            codes = " ".join(info["observation_codes"].get(s, []))
            out.append(f"    {SYSTEM_NAMES.get(s, s):<9} {n:3d} satellites  {codes}")
        add("values", info["observations"])
        for note in info.get("notes", []):
            add("note", note)
    elif fmt == "rinex-nav":
        for s in sorted(info["messages"], key=lambda letter: SYSTEMS.find(letter) % 99):
            n = info["messages"][s]
            span = info["time_per_system"].get(s, [None, None])
            out.append(f"    {SYSTEM_NAMES.get(s, s):<9} {n:5d} messages  {_span_text(*span, 'messages')}")
        if not any(info["messages"].values()):
            out.append("  messages    no ephemeris messages")
        add("satellites", len(info["satellites"]))
        add("iono", " ".join(info["iono_corrections"]))
        add("time corr", " ".join(info["time_corrections"]))
        add("leap sec", info["leap_seconds"])
    elif fmt in ("sp3", "rinex-clk"):
        add("time span", _span_text(info["first_epoch"], info["last_epoch"], "epochs"))
        add("interval", f"{info['interval_s']:g} s" if info.get("interval_s") else None)
        declared = info.get("epochs_in_header")
        add("epochs", f"{info['epochs']}" + (f" (the header says {declared})"
                                             if declared and declared != info["epochs"] else ""))
        add("satellites", f"{len(info['satellites'])}: {' '.join(info['satellites'])}")
        if fmt == "rinex-clk":
            add("stations", len(info["stations"]))
    elif fmt in ("ubx", "rtcm3"):
        add("time span", _span_text(info["first_epoch"], info["last_epoch"], "epochs"))
        add("interval", f"{info['interval_s']:g} s" if info["interval_s"] else None)
        add("epochs", info["epochs"])
        add("satellites", len(info["satellites"]))
        for s, codes in info["observation_codes"].items():
            out.append(f"    {SYSTEM_NAMES.get(s, s):<9} {info['satellites_per_system'].get(s, 0):3d} satellites  {' '.join(codes)}")
        add("values", info["observations"])
        add("ephemeris", " ".join(f"{k}: {v}" for k, v in info["ephemerides"].items()))
        add("messages", ", ".join(f"{k} {v}" for k, v in sorted(info["messages"].items())))
        add("framing", ", ".join(f"{k} {v}" for k, v in info["framing"].items() if v))
    elif fmt == "bias-sinex":
        add("agency", info["agency"])
        add("time span", _span_text(info["first_epoch"], info["last_epoch"], "biases"))
        add("biases", f"{info['biases']} satellite biases")
        add("satellites", f"{len(info['satellites'])}: {' '.join(info['satellites'])}")
        add("clock ref", "; ".join(f"{k}: {' '.join(v)}" for k, v in info["clock_reference"].items() if v))
    elif fmt == "ionex":
        add("agency", info["agency"])
        add("time span", _span_text(info["first_epoch"], info["last_epoch"], "maps"))
        add("maps", f"{info['maps']} vertical TEC maps, {info['grid']}, peak {info['max_vtec_tecu']:.1f} TECU")
    elif fmt == "blq":
        add("stations", f"{len(info['stations'])}: {' '.join(info['stations'])}")
    elif fmt in ("antex", "ngs-pcv"):
        add("satellites", f"{len(info['satellite_antennas'])} {' '.join(info['satellite_antennas'])}".strip())
        add("receivers", f"{len(info['receiver_antennas'])} antenna types")
    elif fmt == "archive":
        out.append(f"  members     {len(info['members'])} (read one as {info['member_syntax']})")
        for m in info["members"]:
            what = FORMAT_NAMES.get(m["format"], m["format"]) if m["format"] else f"not read: {m.get('error')}"
            version = f" {m['version']}" if m.get("version") else ""
            out.append(f"    {m['name']:<28} {m['size']:>10d} B  {what}{version}")
    else:
        out.append("  (header recognised; satnav does not decode this format's records yet)")
    return "\n".join(out)
