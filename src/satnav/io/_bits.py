"""Bit fields of many messages at once: big-endian (MSB first) fields at arbitrary bit
positions of a byte buffer, read with NumPy for whole arrays of positions.

The RTCM 3 (RTCM 10403.3 3.5, "bit order: most significant bit first") and GNSS navigation
message layouts are sequences of such fields. Signed fields are two's complement
(:func:`bits_s`) or sign-magnitude (:func:`bits_sm`, RTCM "INTS", e.g. GLONASS DF111-DF125).
"""

from __future__ import annotations

import numpy as np

__all__ = ["padded", "bits_u", "bits_s", "bits_sm", "bits_u64"]

#: Zero bytes after the data: more than an RTCM 3 frame (1029 bytes), so that the fields of a
#: message whose lengths come from its own (possibly damaged) masks and counts never index
#: past the buffer, wherever the message is; decoders check lengths and drop what was read
#: past a message.
_PAD = 1100


def padded(data: bytes) -> np.ndarray:
    """``data`` as uint8 with :data:`_PAD` zero bytes after it (module docstring)."""
    buf = np.zeros(len(data) + _PAD, np.uint8)
    buf[: len(data)] = np.frombuffer(data, np.uint8)
    return buf


_SPAN = np.arange(5, dtype=np.int64)
_WEIGHTS = np.array([1 << 32, 1 << 24, 1 << 16, 1 << 8, 1], dtype=np.int64)


def bits_u(buf: np.ndarray, pos, n) -> np.ndarray:
    """Unsigned ``n``-bit fields (``n`` <= 32, scalar or array) at absolute bit positions
    ``pos`` (int64 array; bit 0 is the most significant bit of byte 0), int64."""
    pos = np.asarray(pos, np.int64)
    byte = pos >> 3
    if byte.size <= 256:  # few fields (a live stream): fewer NumPy calls
        v = buf[byte[..., None] + _SPAN].astype(np.int64) @ _WEIGHTS  # 40 bits from the byte
    else:  # many: five gathers stream through memory faster than a (n, 5) matmul
        v = buf[byte].astype(np.int64)
        for i in range(1, 5):
            v = (v << 8) | buf[byte + i]
    n = np.asarray(n, np.int64)
    return (v >> (40 - (pos & 7) - n)) & ((np.int64(1) << n) - 1)


def bits_s(buf: np.ndarray, pos, n) -> np.ndarray:
    """Two's complement ``n``-bit fields (``n`` <= 32), int64."""
    v = bits_u(buf, pos, n)
    n = np.asarray(n, np.int64)
    return np.where(v >> (n - 1) != 0, v - (np.int64(1) << n), v)


def bits_sm(buf: np.ndarray, pos, n) -> np.ndarray:
    """Sign-magnitude ``n``-bit fields (first bit the sign), int64."""
    v = bits_u(buf, pos, n)
    n = np.asarray(n, np.int64)
    mag = v & ((np.int64(1) << (n - 1)) - 1)
    return np.where(v >> (n - 1) != 0, -mag, mag)


def bits_u64(buf: np.ndarray, pos, n: int) -> np.ndarray:
    """Unsigned fields of 33..64 bits (as two reads), uint64."""
    hi = bits_u(buf, pos, n - 32).astype(np.uint64)
    lo = bits_u(buf, np.asarray(pos, np.int64) + (n - 32), 32).astype(np.uint64)
    return (hi << np.uint64(32)) | lo
