"""Vectorized fixed-column parsing of text files held as one byte buffer.

The readers of fixed-format files (SP3, RINEX clock) slice the same columns out of
thousands of lines. Here a file is a ``uint8`` buffer plus the start and length of every
line; a column range of many lines becomes an ``(n, width)`` byte block (space padded
past the line end), which is turned into numbers with NumPy in one go. Every parser
returns the values and a boolean ``ok`` array so the caller can name the bad lines.
"""

from __future__ import annotations

import numpy as np

__all__ = ["LineTable", "parse_ints", "parse_floats", "block_to_str"]

_SPACE = 32
_MINUS = 45
_PLUS = 43
_CHUNK = 8192  # rows per gather, to keep index arrays in cache


class LineTable:
    """Lines of a byte buffer (``\\n`` or ``\\r\\n`` ends), addressable by column.

    Attributes
    ----------
    buf : ndarray of uint8
    starts, lengths : ndarray of int64
        Start offset and length (without line end) of every line; line ``i`` is the
        1-based line ``i + 1`` of the file.
    """

    def __init__(self, data: bytes):
        self.data = data
        buf = np.frombuffer(data, dtype=np.uint8)
        ends = np.flatnonzero(buf == 10)
        if len(buf) and buf[-1] != 10:
            ends = np.append(ends, len(buf))
        starts = np.empty(len(ends), dtype=np.int64)
        if len(ends):
            starts[0] = 0
            starts[1:] = ends[:-1] + 1
        lengths = ends - starts
        # strip a carriage return before the newline
        has_cr = lengths > 0
        has_cr[has_cr] = buf[ends[has_cr] - 1] == 13
        lengths = lengths - has_cr
        # a zero-padded copy so that gathers past the end stay in bounds
        self.buf = np.concatenate([buf, np.full(256, _SPACE, dtype=np.uint8)])
        self.starts = starts
        self.lengths = lengths.astype(np.int64)

    def __len__(self) -> int:
        return len(self.starts)

    def line(self, i: int) -> str:
        """Text of line ``i`` (0-based), decoded leniently."""
        s = int(self.starts[i])
        return self.data[s : s + int(self.lengths[i])].decode("ascii", "replace")

    def first_chars(self, n: int = 1) -> np.ndarray:
        """(lines, n) block of the first ``n`` characters of every line."""
        return self.block(np.arange(len(self)), 0, n)

    def block(self, rows: np.ndarray, a: int, b: int) -> np.ndarray:
        """Characters ``[a, b)`` (0-based columns) of lines ``rows`` as an (n, b-a) uint8
        array, spaces past each line's end."""
        rows = np.asarray(rows, dtype=np.int64)
        n, w = len(rows), b - a
        out = np.empty((n, w), dtype=np.uint8)
        index_type = np.int32 if len(self.buf) + b < 2**31 - 1 else np.int64
        cols = np.arange(a, b, dtype=index_type)
        last = len(self.buf) - 1
        for c0 in range(0, n, _CHUNK):
            r = rows[c0 : c0 + _CHUNK]
            starts = self.starts[r].astype(index_type)
            idx = starts[:, None] + cols[None, :]
            if len(starts) and int(starts.max()) + b > last:
                np.minimum(idx, last, out=idx)
            chunk = self.buf[idx]
            lengths = self.lengths[r]
            if (lengths < b).any():
                np.putmask(chunk, cols[None, :] >= lengths[:, None], _SPACE)
            out[c0 : c0 + len(r)] = chunk
        return out


def block_to_str(block: np.ndarray) -> np.ndarray:
    """(n, w) uint8 block -> array of ``S{w}`` (one bytes string per row)."""
    block = np.ascontiguousarray(block)
    return block.view(f"S{block.shape[1]}").ravel()


def parse_ints(block: np.ndarray, blank=0):
    """Integers written right-aligned (Fortran I format) in an (n, w) uint8 block.

    Returns ``(values int64, ok bool)``. Blank fields give ``blank`` (ok). A field with
    anything but digits, spaces and one leading sign is not ok.
    """
    block = np.asarray(block)
    n, w = block.shape
    value = np.zeros(n, dtype=np.int64)
    ok = np.ones(n, dtype=bool)
    seen_digit = np.zeros(n, dtype=bool)
    seen_sign = np.zeros(n, dtype=bool)
    ended = np.zeros(n, dtype=bool)
    negative = np.zeros(n, dtype=bool)
    for c in range(w):
        ch = block[:, c]
        digit = (ch >= 48) & (ch <= 57)
        space = ch == _SPACE
        minus = ch == _MINUS
        sign = minus | (ch == _PLUS)
        ok &= digit | space | sign
        ok &= ~(sign & (seen_digit | seen_sign))
        ok &= ~(digit & ended)
        ended |= space & seen_digit
        value = np.where(digit, value * 10 + (ch.astype(np.int64) - 48), value)
        seen_digit |= digit
        seen_sign |= sign
        negative |= minus
    ok &= seen_digit | ~seen_sign
    value = np.where(negative, -value, value)
    return np.where(seen_digit, value, blank), ok


def parse_floats(block: np.ndarray):
    """Floating-point numbers (F, E or Fortran D format) in an (n, w) uint8 block.

    Returns ``(values float64, ok bool)``: blank fields are NaN and ok; unparsable
    fields are NaN and not ok.
    """
    block = np.array(block, dtype=np.uint8, copy=True)
    n, w = block.shape
    if n == 0:
        return np.empty(0), np.ones(0, dtype=bool)
    block[(block == 68) | (block == 100)] = 69  # D/d exponent -> E
    blank = np.all(block == _SPACE, axis=1)
    if blank.any():
        if w < 3:
            raise ValueError("float fields need at least 3 columns")
        block[blank, w - 3 :] = np.frombuffer(b"nan", dtype=np.uint8)
    strings = block_to_str(block)
    ok = np.ones(n, dtype=bool)
    try:
        values = strings.astype(np.float64)
    except ValueError:
        values = np.empty(n, dtype=np.float64)
        for i, s in enumerate(strings):
            try:
                values[i] = float(s)
            except ValueError:
                values[i] = np.nan
                ok[i] = False
    return values, ok
