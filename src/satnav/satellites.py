"""Satellite identifiers.

A satellite is named as in RINEX 3: a system letter and a two-digit number
("G05", "R21", "E11", "C19", "J02", "I03", "S28"; SBAS PRN 128 is "S28").
Inside arrays satellites are small integers: ``index = 100 * system_number + prn``
with the systems numbered in :data:`SYSTEMS` order, so the mapping is fixed for every
file and needs no table (``"G05"`` -> 5, ``"R21"`` -> 121, ``"C59"`` -> 359).
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "SYSTEMS",
    "SYSTEM_NAMES",
    "MAX_SATELLITES",
    "satellite_index",
    "satellite_id",
    "satellite_ids",
    "satellite_indices",
    "system_of",
    "prn_of",
]

#: System letters in satnav's fixed order.
SYSTEMS = "GRECJIS"
SYSTEM_NAMES = {
    "G": "GPS",
    "R": "GLONASS",
    "E": "Galileo",
    "C": "BeiDou",
    "J": "QZSS",
    "I": "NavIC",
    "S": "SBAS",
}
#: Size of the satellite index space (indices 0 .. MAX_SATELLITES-1; PRN 0 unused).
MAX_SATELLITES = 100 * len(SYSTEMS)

_SYS_NUMBER = {s: i for i, s in enumerate(SYSTEMS)}
_ID_TABLE = np.array(
    [f"{s}{p:02d}" if p else "" for s in SYSTEMS for p in range(100)], dtype="<U3"
)


def satellite_index(sat_id: str) -> int:
    """Index of a satellite id such as ``"G05"`` (also accepts ``"G 5"`` and ``"5"``, GPS).

    Raises ``ValueError`` for an unknown system letter or a number outside 1..99.
    """
    s = sat_id.strip()
    if not s:
        raise ValueError("empty satellite id")
    if s[0].isdigit():
        system, number = "G", s
    else:
        system, number = s[0].upper(), s[1:].strip()
    if system not in _SYS_NUMBER or not number.isdigit():
        raise ValueError(f"bad satellite id {sat_id!r}, expected e.g. G05, R21, E11, C19")
    prn = int(number)
    if not 1 <= prn <= 99:
        raise ValueError(f"bad satellite number in {sat_id!r}, expected 01..99")
    return _SYS_NUMBER[system] * 100 + prn


def satellite_indices(sat_ids) -> np.ndarray:
    """Vector form of :func:`satellite_index` (int16 array)."""
    return np.array([satellite_index(s) for s in sat_ids], dtype=np.int16)


def satellite_id(index: int) -> str:
    """Satellite id (``"G05"``) of an index."""
    return str(_ID_TABLE[int(index)])


def satellite_ids(indices) -> np.ndarray:
    """Satellite ids of an array of indices (array of ``<U3``)."""
    return _ID_TABLE[np.asarray(indices, dtype=np.intp)]


def system_of(indices):
    """System letter(s) of satellite indices: a str for a scalar, else an array of ``<U1``."""
    arr = np.asarray(indices)
    letters = np.array(list(SYSTEMS), dtype="<U1")[arr // 100]
    return str(letters) if arr.ndim == 0 else letters


def prn_of(indices):
    """Satellite number (1..99) of satellite indices."""
    return np.asarray(indices) % 100
