"""SINEX_TRO 2.00 writer: zenith total delays and gradients of one station.

Layout after R. Pacione, J. Douša et al., "SINEX_TRO - Solution (Software/technique)
INdependent EXchange Format for combination of TROpospheric estimates, Version 2.00"
(IGS/EUREF/E-GVAP troposphere working groups, 2017):

* header line ``%=TRO 2.00 AGC YYYY:DDD:SSSSS AGD YYYY:DDD:SSSSS YYYY:DDD:SSSSS P MIX``
  (file agency, creation time, data agency, start and end of the data, technique ``P`` =
  GNSS, solution contents), trailer ``%=ENDTRO``;
* blocks ``+NAME`` ... ``-NAME``, comment lines ``*``, data lines starting with a blank;
  epochs ``YYYY:DDD:SSSSS`` (4-digit year, day of year, seconds of day) in the time system
  of ``TIME SYSTEM`` (``G``: GPS time);
* ``FILE/REFERENCE`` (18-character info type, then the information), ``TROP/DESCRIPTION``
  (29-character keyword, then values; ``TROPO PARAMETER NAMES/UNITS/WIDTH`` describe the
  columns of ``TROP/SOLUTION``: the unit ``1e+03`` means the values are in mm),
  ``SITE/ID`` (9-character station id, point code, DOMES, technique, description,
  longitude and latitude in degrees, ellipsoidal height), ``SITE/RECEIVER``,
  ``SITE/ANTENNA``, ``TROP/STA_COORDINATES`` (ECEF X, Y, Z in m with their reference
  system) and ``TROP/SOLUTION`` (station, epoch, ``TROTOT STDDEV TGNTOT STDDEV TGETOT
  STDDEV``).

Written through :func:`satnav.io.atomic.atomic_output` (never over an input).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from ..gnss_time import NS_PER_DAY, NS_PER_S, calendar_to_ns, ns_to_calendar
from .atomic import atomic_output

__all__ = ["sinex_epoch", "write_sinex_tro"]

_RULE = "*" + "-" * 79


def sinex_epoch(time_ns: int) -> str:
    """``YYYY:DDD:SSSSS`` of a GPST time (ns; seconds of day rounded to the second)."""
    t = int(round(int(time_ns) / NS_PER_S)) * NS_PER_S
    y = int(np.asarray(ns_to_calendar(t)[0]))
    start = int(calendar_to_ns(y, 1, 1))
    doy = (t - start) // NS_PER_DAY + 1
    sod = (t - start) % NS_PER_DAY // NS_PER_S
    return f"{y:04d}:{doy:03d}:{sod:05d}"


def _field(value: float, width: int, decimals: int) -> str:
    if not math.isfinite(value):
        return " " * (width - 3) + "NaN" if width >= 3 else "-" * width
    text = f"{value:{width}.{decimals}f}"
    return text if len(text) <= width else f"{value:{width}.0f}"[:width]


def write_sinex_tro(path, *, station: str, time_ns, ztd_m, ztd_sigma_m, gradient_m=None, gradient_sigma_m=None,
                    position_m=None, reference_frame: str = "", agency: str = "SAT", software: str = "satnav",
                    description: Sequence[tuple[str, str]] = (), reference: Sequence[tuple[str, str]] = (),
                    receiver: str = "", antenna: str = "", domes: str = "", systems: str = "MIX",
                    creation_ns: int | None = None) -> None:
    """Write one station's zenith delays as SINEX_TRO 2.00.

    Parameters
    ----------
    path : path-like
        Output file.
    station : str
        Station id, 9 characters (``ESBC00DNK``; a 4-character marker is padded).
    time_ns : array (m,) int64
        Epochs (GPST ns).
    ztd_m, ztd_sigma_m : array (m,)
        Zenith total delay and its sigma (m); epochs with NaN are left out.
    gradient_m, gradient_sigma_m : array (m, 2), optional
        North and east total gradients and sigmas (m); without them the file has only
        ``TROTOT STDDEV``.
    position_m : array (3,), optional
        ECEF station coordinate (m) for ``SITE/ID`` and ``TROP/STA_COORDINATES``, in
        ``reference_frame`` (e.g. ``IGS20``).
    agency : str
        3-character agency code of the file and the data.
    description, reference : sequences of (keyword, value)
        Extra ``TROP/DESCRIPTION`` and ``FILE/REFERENCE`` lines (the mapping function, the
        elevation cutoff, the a priori model, ...).
    receiver, antenna, domes : str
        For ``SITE/RECEIVER``, ``SITE/ANTENNA`` and ``SITE/ID`` when known.
    systems : str
        Solution contents of the header line (``MIX``, ``GPS``, ...).
    creation_ns : int, optional
        Creation time (GPST ns); default now.
    """
    t = np.asarray(time_ns, dtype=np.int64)
    ztd = np.asarray(ztd_m, dtype=np.float64)
    sig = np.asarray(ztd_sigma_m, dtype=np.float64)
    keep = np.isfinite(ztd)
    has_grad = gradient_m is not None and np.isfinite(np.asarray(gradient_m, dtype=np.float64)[keep]).any()
    site = f"{station.strip().upper()[:9]:<9s}"
    agency = f"{agency.strip().upper()[:3]:<3s}"
    if creation_ns is None:
        from .rtcm3 import now_gpst_ns

        creation_ns = now_gpst_ns()
    start, end = (int(t[keep].min()), int(t[keep].max())) if keep.any() else (int(creation_ns),) * 2
    names = ["TROTOT", "STDDEV"] + (["TGNTOT", "STDDEV", "TGETOT", "STDDEV"] if has_grad else [])
    lines = [f"%=TRO 2.00 {agency} {sinex_epoch(creation_ns)} {agency} {sinex_epoch(start)} {sinex_epoch(end)} P "
             f"{systems[:4]}", _RULE, "+FILE/REFERENCE", "*INFO_TYPE_________ INFO" + "_" * 56]
    for key, value in (("DESCRIPTION", "Zenith delays of a precise point positioning solution"),
                       ("OUTPUT", "Total troposphere zenith path delay and gradients"),
                       ("SOFTWARE", software), *reference):
        lines.append(f" {key[:18]:<18s} {str(value)[:60]}")
    lines += ["-FILE/REFERENCE", _RULE, "+TROP/DESCRIPTION", "*_________KEYWORD_____________ __VALUE(S)" + "_" * 38]
    intervals = np.diff(np.unique(t))
    sampling = int(np.median(intervals) // NS_PER_S) if len(intervals) else 0
    for key, value in (("TROPO SAMPLING INTERVAL", f"{sampling}"), ("TIME SYSTEM", "G"), *description,
                       ("TROPO PARAMETER NAMES", " ".join(names)),
                       ("TROPO PARAMETER UNITS", " ".join(["1e+03"] * len(names))),
                       ("TROPO PARAMETER WIDTH", " ".join(["6"] * len(names)))):
        lines.append(f" {key[:29]:<29s} {value}")
    lines += ["-TROP/DESCRIPTION"]
    if position_m is not None and np.all(np.isfinite(position_m)):
        from ..frames import ecef_to_geodetic

        pos = np.asarray(position_m, dtype=np.float64)
        lat, lon, h = (float(v) for v in ecef_to_geodetic(pos))
        lon_deg = math.degrees(lon) % 360.0
        lines += [_RULE, "+SITE/ID",
                  "*STATION__ PT __DOMES__ T _STATION_DESCRIPTION__ _LONGITUDE _LATITUDE_ _HGT_ELI_",
                  f" {site} {'A':>2s} {domes[:9]:<9s} P {station.strip()[:22]:<22s} {lon_deg:10.6f} "
                  f"{math.degrees(lat):10.6f} {h:9.3f}", "-SITE/ID"]
    for block, head, value in (("SITE/RECEIVER", "*STATION__ PT SOLN T __DATA_START__ __DATA_END____ "
                                "___RECEIVER_TYPE____", receiver),
                               ("SITE/ANTENNA", "*STATION__ PT SOLN T __DATA_START__ __DATA_END____ "
                                "____ANTENNA_TYPE____", antenna)):
        if value:
            lines += [_RULE, f"+{block}", head,
                      f" {site} {'A':>2s} {1:4d} P {sinex_epoch(start)} {sinex_epoch(end)} {value[:20]:<20s}",
                      f"-{block}"]
    if position_m is not None and np.all(np.isfinite(position_m)):
        x, y, z = (float(v) for v in np.asarray(position_m, dtype=np.float64))
        lines += [_RULE, "+TROP/STA_COORDINATES",
                  "*STATION__ PT SOLN T __STA_X_____ __STA_Y_____ __STA_Z_____ SYSTEM REMRK",
                  f" {site} {'A':>2s} {1:4d} P {x:12.3f} {y:12.3f} {z:12.3f} {reference_frame[:6]:<6s} {agency}",
                  "-TROP/STA_COORDINATES"]
    lines += [_RULE, "+TROP/SOLUTION", "*STATION__ ____EPOCH_____ " + " ".join(f"{n:>6s}" for n in names)]
    grad = np.asarray(gradient_m, dtype=np.float64) if has_grad else None
    gsig = (np.asarray(gradient_sigma_m, dtype=np.float64) if gradient_sigma_m is not None
            else np.full_like(grad, np.nan)) if has_grad else None
    for i in np.flatnonzero(keep).tolist():
        values = [_field(ztd[i] * 1e3, 6, 1), _field(sig[i] * 1e3, 6, 1)]
        if has_grad:
            values += [_field(grad[i, 0] * 1e3, 6, 3), _field(gsig[i, 0] * 1e3, 6, 3),
                       _field(grad[i, 1] * 1e3, 6, 3), _field(gsig[i, 1] * 1e3, 6, 3)]
        lines.append(f" {site} {sinex_epoch(int(t[i]))} " + " ".join(values))
    lines += ["-TROP/SOLUTION", "%=ENDTRO"]
    with atomic_output(path) as fh:
        fh.write("\n".join(lines) + "\n")
