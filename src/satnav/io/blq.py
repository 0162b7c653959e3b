"""Ocean tide loading coefficients in the BLQ format (Onsala Space Observatory service).

A BLQ file holds, per station, 11 tidal constituents in the column order
``M2 S2 N2 K2 K1 O1 P1 Q1 MF MM SSA`` and six rows: amplitudes (m) of the radial, the
tangential east-west and the tangential north-south displacement, then their phases
(degrees, lagging positive, relative to Greenwich). Displacement is positive **up, west
and south** (the file's own header says so; IERS Conventions 2010 section 7.1.2,
HARDISP's input). Lines starting with ``$$`` are comments; a station block starts with
its name (the first 4 characters are the IGS 4-character id) and is followed by the six
rows of 11 numbers.

:func:`read_blq` returns ``{"BOR1": (6, 11) array}`` with the station names upper-cased
(the 4-character id); the displacement itself is :mod:`satnav.models.ocean_loading`.
"""

from __future__ import annotations

from os import PathLike

import numpy as np

from ..errors import FormatError, warn_damaged
from .textfile import read_bytes

__all__ = ["BLQ_CONSTITUENTS", "read_blq"]

#: Column order of every BLQ block.
BLQ_CONSTITUENTS = ("M2", "S2", "N2", "K2", "K1", "O1", "P1", "Q1", "MF", "MM", "SSA")


def _numbers(line: str) -> list[float] | None:
    try:
        values = [float(v) for v in line.split()]
    except ValueError:
        return None
    return values if len(values) == 11 else None


def read_blq(path: str | PathLike, strict: bool = False) -> dict[str, np.ndarray]:
    """Ocean loading coefficients per station: ``name -> (6, 11)`` float array.

    Rows 0-2: amplitudes (m) radial (up), west, south; rows 3-5: phases (degrees) in the
    same order; columns :data:`BLQ_CONSTITUENTS`. Station names are the first word of the
    block's name line, upper-cased (``"bor1"`` -> ``"BOR1"``). A block with a damaged
    row is skipped with a warning naming the line (an error with ``strict``). Raises
    :class:`~satnav.errors.FormatError` when no station block is found.
    """
    lines = read_bytes(path).decode("ascii", errors="replace").splitlines()
    out: dict[str, np.ndarray] = {}
    name: str | None = None
    name_line = 0
    rows: list[list[float]] = []
    for lineno, raw in enumerate(lines, start=1):
        text = raw.strip()
        if not text or text.startswith("$$"):
            continue
        values = _numbers(text)
        if values is None:
            if name is not None and rows:
                warn_damaged(f"BLQ block of {name} cut short ({len(rows)} of 6 rows), expected 6 rows "
                             "of 11 numbers", path, lineno, strict, FormatError)
            name, name_line, rows = text.split()[0].upper(), lineno, []
            continue
        if name is None:
            warn_damaged("numbers outside a station block, expected a station name first", path, lineno,
                         strict, FormatError)
            continue
        rows.append(values)
        if len(rows) == 6:
            out[name] = np.array(rows, dtype=np.float64)
            name, rows = None, []
    if name is not None and rows:
        warn_damaged(f"BLQ block of {name} (line {name_line}) cut short at the end of the file", path,
                     len(lines), strict, FormatError)
    if not out:
        raise FormatError("no ocean loading station block, expected a BLQ file (a station name and 6 rows "
                          "of 11 numbers)", path, 1)
    return out
