"""Satellite antenna phase-centre offsets (PCO) from ANTEX 1.4 files.

Only what orbit comparisons need: for every satellite antenna block, the satellite id
(``TYPE / SERIAL NO`` columns 21-23), the antenna type (block name), the validity
interval and the per-frequency offsets ``NORTH / EAST / UP`` which, for satellites,
are the X / Y / Z components in the IGS satellite body frame (z towards the Earth's
centre), millimetres in the file, metres here (ANTEX 1.4 format description,
Rothacher & Schmid, IGS). Receiver antennas and phase-centre variations are ignored.
A block cut short (a new ``START OF ANTENNA`` before ``END OF ANTENNA``, or the end of the
file) keeps the frequencies it completed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from os import PathLike

import numpy as np

from ..errors import FormatError, warn_damaged
from ..gnss_time import calendar_to_ns
from .textfile import read_bytes

__all__ = ["SatelliteAntenna", "read_antex_satellites", "satellite_pco"]

_NEVER = np.iinfo(np.int64).max


@dataclass
class SatelliteAntenna:
    """One satellite antenna block of an ANTEX file."""

    sat_id: str  #: e.g. "G01"
    antenna_type: str  #: e.g. "BLOCK IIF", "GALILEO-2"
    svn: str  #: e.g. "G063"
    valid_from_ns: int  #: GPST ns (-inf: min int64)
    valid_until_ns: int  #: GPST ns (max int64 when open)
    pco_m: dict[str, np.ndarray] = field(default_factory=dict)  #: "G01" -> (3,) x,y,z m
    line: int = 0  #: 1-based line of TYPE / SERIAL NO


def _calendar(text: str) -> int:
    parts = text.split()
    y, mo, d, h, mi = (int(p) for p in parts[:5])
    s = float(parts[5]) if len(parts) > 5 else 0.0
    return int(calendar_to_ns(y, mo, d, h, mi, s))


def read_antex_satellites(path: str | PathLike, strict: bool = False) -> list[SatelliteAntenna]:
    """Satellite antennas of an ANTEX file (compressed or not).

    Raises :class:`satnav.errors.FormatError` when the file is not ANTEX; a damaged line
    inside a block is skipped with a warning naming the line (error with ``strict``).
    """
    text = read_bytes(path).decode("ascii", errors="replace").splitlines()
    if not text or "ANTEX VERSION" not in text[0][60:]:
        raise FormatError("not an ANTEX file (no 'ANTEX VERSION / SYST' first line)", path, 1)
    result: list[SatelliteAntenna] = []
    cur: SatelliteAntenna | None = None
    freq: str | None = None
    for lineno, raw in enumerate(text, start=1):
        label = raw[60:].strip()
        if label == "START OF ANTENNA":
            if cur is not None and cur.pco_m:
                result.append(cur)
            cur, freq = None, None
        elif label == "TYPE / SERIAL NO":
            sat_id = raw[20:23].strip()
            if len(sat_id) == 3 and sat_id[0].isalpha() and sat_id[1:].isdigit():
                cur = SatelliteAntenna(
                    sat_id=sat_id, antenna_type=raw[:20].strip(), svn=raw[40:44].strip(),
                    valid_from_ns=np.iinfo(np.int64).min, valid_until_ns=_NEVER, line=lineno,
                )
            else:
                cur = None  # a receiver antenna
        elif cur is None:
            continue
        elif label in ("VALID FROM", "VALID UNTIL"):
            try:
                value = _calendar(raw[:43])
            except (ValueError, IndexError):
                warn_damaged(f"bad {label} date, expected 'YYYY MM DD HH MM SS'", path,
                             lineno, strict, FormatError)
                continue
            if label == "VALID FROM":
                cur.valid_from_ns = value
            else:
                cur.valid_until_ns = value
        elif label == "START OF FREQUENCY":
            freq = raw[3:6].strip()
        elif label == "NORTH / EAST / UP" and freq:
            try:
                cur.pco_m[freq] = np.array([float(v) for v in raw[:30].split()[:3]]) / 1000.0
                if cur.pco_m[freq].shape != (3,):
                    raise ValueError
            except ValueError:
                cur.pco_m.pop(freq, None)
                warn_damaged("bad NORTH / EAST / UP offsets, expected three numbers (mm)",
                             path, lineno, strict, FormatError)
        elif label == "END OF FREQUENCY":
            freq = None
        elif label == "END OF ANTENNA":
            if cur.pco_m:
                result.append(cur)
            cur = None
    if cur is not None and cur.pco_m:
        result.append(cur)
    return result


def satellite_pco(antennas: list[SatelliteAntenna], sat_id: str, time_ns: int,
                  frequencies: tuple[str, str], coefficients: tuple[float, float]):
    """PCO (x, y, z in m, satellite body frame) of a combination of two frequencies.

    Parameters
    ----------
    antennas : list of SatelliteAntenna
    sat_id : str
        e.g. "G05".
    time_ns : int
        GPST ns, to pick the antenna valid then.
    frequencies : (str, str)
        ANTEX frequency codes, e.g. ("G01", "G02").
    coefficients : (float, float)
        Combination coefficients (ionosphere-free: ``f1^2/(f1^2-f2^2)``,
        ``-f2^2/(f1^2-f2^2)``).

    Returns
    -------
    (3,) float array or None when no valid antenna has both frequencies.
    """
    for a in antennas:
        if a.sat_id == sat_id and a.valid_from_ns <= time_ns < a.valid_until_ns:
            if all(f in a.pco_m for f in frequencies):
                return coefficients[0] * a.pco_m[frequencies[0]] + \
                    coefficients[1] * a.pco_m[frequencies[1]]
    return None
