"""Write :class:`~satnav.navigation.Navigation` data as RINEX 3.05 (or 4.00/4.01) navigation.

Numbers are written as ``D19.12`` (``-5.154609680176E-04``: 13 significant digits, ``E``
exponent), the most any RINEX writer gives (``0.xxxD+yy`` writers give 12), so values read
from a RINEX file are written back digit for digit and re-read to identical floats. Unknown values (NaN) are written as
blank fields, except the GLONASS group delay of RINEX 3.05/4 records, written as
``.999999999999E+09`` as the format requires. GLONASS and SBAS positions are written in km.
Times are written in each system's time scale (BDT for BeiDou, UTC for GLONASS).

Layouts: RINEX 3.05 Tables A6-A18; RINEX 4.00 Tables A5-A33 and section 5.4-5.6.
"""

from __future__ import annotations

import math
import warnings
from os import PathLike

import numpy as np

from ..errors import SatnavWarning
from ..gnss_time import from_gpst, ns_to_calendar
from ..navigation import Navigation
from ..satellites import SYSTEM_NAMES, SYSTEMS, satellite_id, system_of
from ._rinex_nav_layout import ARCSEC, DAY, KM_FIELDS, LAYOUTS, TIME_SCALE, UNKNOWN_TEXT, V3_TYPES
from .atomic import atomic_output

__all__ = ["write_rinex_nav", "format_field"]

_BLANK = " " * 19


def format_field(value: float) -> str:
    """One ``D19.12`` field (13 significant digits); NaN -> 19 blanks."""
    if value != value:  # NaN
        return _BLANK
    text = f"{value:19.12E}"
    if len(text) > 19:  # three-digit exponent
        text = f"{value:19.11E}"
    return text


def _label(text: str, label: str) -> str:
    return f"{text[:60]:<60}{label}"


def _header_lines(nav: Navigation, version: float, system: str) -> list[str]:
    h = nav.header
    sys_text = "M: MIXED" if system == "M" else f"{system}: {SYSTEM_NAMES[system].upper()}"
    out = [
        _label(f"{version:9.2f}{'':11}{'N: GNSS NAV DATA':<20}{sys_text:<20}", "RINEX VERSION / TYPE")
    ]
    from datetime import datetime, timezone

    from .._version import __version__

    now = datetime.now(timezone.utc).strftime("%Y%m%d %H%M%S UTC")
    out.append(_label(f"{'satnav ' + __version__:<20.20}{h.run_by[:20]:<20}{now:<20}", "PGM / RUN BY / DATE"))
    for c in h.comments:
        out.append(_label(c, "COMMENT"))
    if version >= 4:  # RINEX 4.00 5.x: ionosphere and time-system corrections are ION/STO records
        return out + _leap_and_end(h)
    for key, vals in h.iono_corrections.items():
        vals = list(vals)[:4]
        text = f"{key:<4} " + "".join(
            " " * 12 if v != v else f"{v:12.4E}" for v in vals
        )
        out.append(_label(text, "IONOSPHERIC CORR"))
    for key, (a0, a1, t_ref, week) in h.time_corrections.items():
        t_ref = 0 if t_ref != t_ref else int(t_ref)
        week = 0 if week != week else int(week)
        a0t = " " * 17 if a0 != a0 else f"{a0:17.10E}"
        a1t = " " * 16 if a1 != a1 else f"{a1:16.9E}"
        out.append(_label(f"{key:<4} {a0t}{a1t} {t_ref:6d} {week:4d}", "TIME SYSTEM CORR"))
    return out + _leap_and_end(h)


def _leap_and_end(h) -> list[str]:
    out = []
    if h.leap_seconds is not None:
        out.append(_label(f"{h.leap_seconds:6d}", "LEAP SECONDS"))
    out.append(_label("", "END OF HEADER"))
    return out


def _record_lines(first: str, values: list[str]) -> list[str]:
    """Lines of one record: epoch text then 3 fields, then 4 fields per line."""
    lines = [(first + "".join(values[:3])).rstrip()]
    for k in range(3, len(values), 4):
        lines.append(("    " + "".join(values[k : k + 4])).rstrip())
    return lines


def _calendar(ns: np.ndarray, system: str):
    y, mo, d, h, mi, s = ns_to_calendar(from_gpst(ns, TIME_SCALE[system]))
    return (np.asarray(v) for v in (y, mo, d, h, mi, np.rint(np.asarray(s)).astype(np.int64)))


def _epoch_texts(toc, system):
    y, mo, d, h, mi, s = _calendar(np.asarray(toc, dtype=np.int64), system)
    return [
        f"{y[i]:04d} {mo[i]:02d} {d[i]:02d} {h[i]:02d} {mi[i]:02d} {s[i]:02d}"
        for i in range(len(y))
    ]


def _message_lines(arr: np.ndarray, system: str, version: float, skipped: dict) -> list:
    """[(sort key, lines)] of the messages of one system."""
    out = []
    if len(arr) == 0:
        return out
    epochs = _epoch_texts(arr["toc"], system)
    v4 = version >= 4
    cols = {name: arr[name].astype(np.float64) for name in arr.dtype.names if arr.dtype[name] == np.float64}
    if system in ("R", "S"):
        for name in KM_FIELDS:
            cols[name] = cols[name] / 1000.0
    mtypes = arr["message_type"]
    for i in range(len(arr)):
        mtype = str(mtypes[i])
        if system == "E":
            key = ("E", "GAL")
        elif system == "C" and mtype in ("D1", "D2"):
            key = ("C", "BDS")
        else:
            key = (system, mtype)
        if key not in LAYOUTS or (not v4 and mtype not in V3_TYPES[system]):
            name = f"{system} {mtype}"
            skipped[name] = skipped.get(name, 0) + 1
            continue
        layout, lo, hi = LAYOUTS[key]
        nfields = 3 + 4 * (hi - 1)
        values = []
        for name in layout[:nfields]:
            if name is None:
                values.append(_BLANK)
            elif name == "group_delay" and cols[name][i] != cols[name][i]:
                values.append(UNKNOWN_TEXT)
            else:
                values.append(format_field(cols[name][i]))
        sat = int(arr["sat"][i])
        lines = _record_lines(f"{satellite_id(sat)} {epochs[i]}", values)
        if v4:
            lines.insert(0, f"> EPH {satellite_id(sat)} {mtype}")
        out.append(((int(arr["toc"][i]), sat), lines))
    return out


def _extra_lines(nav: Navigation) -> list:
    """[(sort key, lines)] of RINEX 4 STO, EOP and ION records."""
    out = []
    for rec in nav.sto_records + nav.eop_records + nav.ion_records:
        sat = int(rec["sat"])
        system = system_of(sat)
        epoch = _epoch_texts([rec["time"]], system)[0]
        head = f"> {rec['type']} {satellite_id(sat)} {rec['message']}"
        if rec["type"] == "STO":
            first = f"    {epoch} {rec['code']:<18} {rec['sbas_id']:<18} {rec['utc_id']:<18}"
            vals = [rec["t_tot"], rec["a0"], rec["a1"], rec["a2"]]
            lines = [head, first.rstrip(), ("    " + "".join(map(format_field, vals))).rstrip()]
        elif rec["type"] == "EOP":
            a, d = ARCSEC, DAY
            vals = [
                rec["xp"] / a, rec["dxp"] * d / a, rec["ddxp"] * d * d / a,
                math.nan, rec["yp"] / a, rec["dyp"] * d / a, rec["ddyp"] * d * d / a,
                rec["t_tm"], rec["dut1"], rec["ddut1"] * d, rec["dddut1"] * d * d,
            ]  # fmt: skip
            lines = [head] + _record_lines(f"    {epoch}", [format_field(v) for v in vals])
        else:
            vals = [format_field(v) for v in rec["values"]]
            lines = [head] + _record_lines(f"    {epoch}", vals)
        out.append(((int(rec["time"]), sat), lines))
    return out


def write_rinex_nav(nav: Navigation, path: str | PathLike, version: float = 3.05) -> None:
    """Write navigation messages as a RINEX navigation file.

    Parameters
    ----------
    nav : Navigation
        Messages and header (iono and time-system corrections, leap seconds).
    path : str or PathLike
        Output file (plain text).
    version : float
        3.05 (default) or 4.00/4.01. RINEX 3.05 cannot hold GPS/QZSS CNAV/CNV2 or
        BeiDou CNV1-3 messages nor RINEX 4 STO/EOP/ION records: these are left out with a
        :class:`~satnav.errors.SatnavWarning` giving their number.
    """
    if not (3.0 <= version < 3.06 or 4.0 <= version < 4.02):
        raise ValueError(f"cannot write RINEX navigation version {version}, expected 3.05 or 4.00")
    v4 = version >= 4
    systems = [s for s in SYSTEMS if len(nav.messages.get(s, ())) > 0]
    system = systems[0] if len(systems) == 1 else "M"
    lines = _header_lines(nav, version, system)
    skipped: dict[str, int] = {}
    for s in systems:
        recs = _message_lines(nav.messages[s], s, version, skipped)
        recs.sort(key=lambda r: (r[0][1], r[0][0]))
        for _, rec in recs:
            lines.extend(rec)
    if v4:
        for _, rec in _extra_lines(nav):
            lines.extend(rec)
        n_header = len(nav.header.iono_corrections) + len(nav.header.time_corrections)
        if n_header:  # no header records for them in RINEX 4, and no transmission time to make records
            skipped["header ionosphere/time-system corrections"] = n_header
    else:
        n_extra = len(nav.sto_records) + len(nav.eop_records) + len(nav.ion_records)
        if n_extra:
            skipped["STO/EOP/ION records"] = n_extra
    if skipped:
        counts = ", ".join(f"{k}: {v}" for k, v in sorted(skipped.items()))
        warnings.warn(
            f"{path}: RINEX {version:.2f} cannot hold these, left out ({counts})",
            SatnavWarning,
            stacklevel=2,
        )
    with atomic_output(path, "w", encoding="ascii", newline="\n") as fh:
        fh.write("\n".join(lines) + "\n")

