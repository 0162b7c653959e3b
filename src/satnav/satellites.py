"""Satellite identifiers.

A satellite is named as in RINEX 3: a system letter and a two-digit number
("G05", "R21", "E11", "C19", "J02", "I03", "S28"; SBAS PRN 128 is "S28").
Inside arrays satellites are small integers: ``index = 100 * system_number + prn``
(:data:`SATELLITES_PER_SYSTEM` = 100) with the systems numbered in :data:`SYSTEMS` order,
so the mapping is fixed for every file and needs no table (``"G05"`` -> 5, ``"R21"`` -> 121,
``"C59"`` -> 359). Decode indices with :func:`system_of` / :func:`system_number_of` /
:func:`prn_of` and build them with :func:`satellite_index_of`, never with ``// 100``.

The systems themselves are listed once, in :data:`SYSTEM_NAMES`; their signals and
per-system settings are in :mod:`satnav.signals`.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "SYSTEMS",
    "SYSTEM_NAMES",
    "SATELLITES_PER_SYSTEM",
    "MAX_SATELLITES",
    "satellite_index",
    "satellite_id",
    "satellite_ids",
    "satellite_indices",
    "system_of",
    "system_number_of",
    "prn_of",
    "satellite_index_of",
]

#: System letter -> name, in satnav's fixed order (the one list of systems).
SYSTEM_NAMES = {
    "G": "GPS",
    "R": "GLONASS",
    "E": "Galileo",
    "C": "BeiDou",
    "J": "QZSS",
    "I": "NavIC",
    "S": "SBAS",
}
#: System letters in satnav's fixed order: ``"GRECJIS"``.
SYSTEMS = "".join(SYSTEM_NAMES)
#: Index span of one system: ``index = SATELLITES_PER_SYSTEM * system_number + prn``.
SATELLITES_PER_SYSTEM = 100
#: Size of the satellite index space (indices 0 .. MAX_SATELLITES-1; PRN 0 unused); the
#: length of any table indexed by satellite index.
MAX_SATELLITES = SATELLITES_PER_SYSTEM * len(SYSTEMS)

_SYS_NUMBER = {s: i for i, s in enumerate(SYSTEMS)}
_LETTERS = np.array(list(SYSTEMS), dtype="<U1")
_ID_TABLE = np.array(
    [f"{s}{p:02d}" if p else "" for s in SYSTEMS for p in range(SATELLITES_PER_SYSTEM)], dtype="<U3"
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
    return _SYS_NUMBER[system] * SATELLITES_PER_SYSTEM + prn


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
    letters = _LETTERS[arr // SATELLITES_PER_SYSTEM]
    return str(letters) if arr.ndim == 0 else letters


def system_number_of(indices):
    """System number(s) (position in :data:`SYSTEMS`) of satellite indices, for vectorized
    code: an ``int`` for a Python or NumPy integer, else an array of the input's dtype."""
    if isinstance(indices, (int, np.integer)):
        return int(indices) // SATELLITES_PER_SYSTEM
    return np.asarray(indices) // SATELLITES_PER_SYSTEM


def prn_of(indices):
    """Satellite number (1..99) of satellite indices."""
    return np.asarray(indices) % SATELLITES_PER_SYSTEM


def satellite_index_of(system_number, prn):
    """Satellite index(es) of system number(s) and satellite number(s), the inverse of
    :func:`system_number_of` and :func:`prn_of` (``system_number * 100 + prn``; keeps the
    inputs' dtype like the expression does)."""
    return system_number * SATELLITES_PER_SYSTEM + prn
