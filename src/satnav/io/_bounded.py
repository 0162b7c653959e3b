"""Bounded reading of inputs: size and line-length limits, regular files only.

The limits (:func:`limits`) come from the environment variables ``SATNAV_MAX_INPUT_BYTES``
(default 2 GiB) and ``SATNAV_MAX_LINE_BYTES`` (default 1 MiB): bytes, or with a ``K``/``M``/``G``
suffix. Used by :mod:`satnav.io.textfile` and :mod:`satnav.io.archive`.
"""

from __future__ import annotations

import os
import stat
from os import PathLike
from pathlib import Path

import numpy as np

from ..errors import FormatError

__all__ = ["limits", "open_regular", "DEFAULT_MAX_INPUT_BYTES", "DEFAULT_MAX_LINE_BYTES", "MEMBER_SEPARATOR"]

#: Default cap on the (decompressed) size of one input: 2 GiB.
DEFAULT_MAX_INPUT_BYTES = 2 << 30
#: Default cap on the length of one line: 1 MiB.
DEFAULT_MAX_LINE_BYTES = 1 << 20
#: Separator of an archive and a member in an input name (``day.zip::ABMF0010.24o``).
MEMBER_SEPARATOR = "::"

_CHUNK = 8 << 20  # decompression step (bytes)
_SCAN = 64 << 20  # line-length scan window (bytes)


def _size_from_env(name: str, default: int) -> int:
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    scale = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}.get(text[-1:].upper(), 1)
    try:
        value = int(float(text[:-1] if scale > 1 else text) * scale)
    except ValueError:
        raise FormatError(f"{name}={text!r} is not a size, expected bytes such as 2G, 512M or 1048576") from None
    if value <= 0:
        raise FormatError(f"{name}={text!r} must be a positive size")
    return value


def limits() -> tuple[int, int]:
    """(largest decompressed input, longest line) in bytes, from the environment variables
    ``SATNAV_MAX_INPUT_BYTES`` and ``SATNAV_MAX_LINE_BYTES`` or the defaults (2 GiB, 1 MiB)."""
    return (_size_from_env("SATNAV_MAX_INPUT_BYTES", DEFAULT_MAX_INPUT_BYTES),
            _size_from_env("SATNAV_MAX_LINE_BYTES", DEFAULT_MAX_LINE_BYTES))


def _too_big(path, limit: int) -> FormatError:
    return FormatError(
        f"more than {_human(limit)} of (decompressed) data: refused (raise the limit with "
        "SATNAV_MAX_INPUT_BYTES if the file is genuine)", path,
    )


def _human(n: int) -> str:
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= size and n % size == 0:
            return f"{n // size} {unit}"
    return f"{n} bytes"


class _LineGuard:
    """Checks line lengths of text arriving in pieces (bounded memory)."""

    def __init__(self, path, max_line: int):
        self.path = path
        self.max_line = max_line
        self.current = 0  # length of the unfinished line so far
        self.lines = 0  # complete lines seen

    def feed(self, data) -> None:
        mv = memoryview(data)
        for start in range(0, len(mv), _SCAN):
            buf = np.frombuffer(mv[start : start + _SCAN], dtype=np.uint8)
            nl = np.flatnonzero(buf == 10)
            if not len(nl):
                self.current += len(buf)
                self._check(self.current, self.lines + 1)
                continue
            first = self.current + int(nl[0])
            self._check(first, self.lines + 1)
            if len(nl) > 1:
                gaps = np.diff(nl) - 1
                worst = int(np.argmax(gaps))
                self._check(int(gaps[worst]), self.lines + worst + 2)
            self.lines += len(nl)
            self.current = len(buf) - int(nl[-1]) - 1
            self._check(self.current, self.lines + 1)

    def _check(self, length: int, line: int) -> None:
        if length > self.max_line:
            raise FormatError(
                f"line longer than {_human(self.max_line)}: not a GNSS text file (raise the limit with "
                "SATNAV_MAX_LINE_BYTES if the file is genuine)", self.path, line,
            )


def _read_stream(stream, path, limit: int, guard: _LineGuard | None, errors: tuple, what: str) -> bytes:
    """Everything ``stream`` yields, read in chunks, at most ``limit`` bytes."""
    parts, total = [], 0
    try:
        while True:
            chunk = stream.read(min(_CHUNK, limit + 1 - total))
            if not chunk:
                break
            if not total and guard is not None and _is_compressed(chunk):
                guard = None  # an inner layer: its text is checked when unwrapped
            total += len(chunk)
            if total > limit:
                raise _too_big(path, limit)
            if guard is not None:
                guard.feed(chunk)
            parts.append(chunk)
    except errors as exc:
        raise FormatError(f"damaged {what} data ({_one_line(exc)})", path) from None
    return b"".join(parts)


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def open_regular(path: str | PathLike):
    """Binary file object of ``path``, refusing what is not a regular file (one-line
    :class:`FormatError` for a missing file, a directory, a FIFO, a device, a socket, or no
    read permission)."""
    p = Path(path)
    try:
        st = p.stat()
    except FileNotFoundError:
        raise FormatError("no such file", path) from None
    except PermissionError:
        raise FormatError("permission denied", path) from None
    except OSError as exc:
        raise FormatError(f"cannot open ({_one_line(exc)})", path) from None
    if stat.S_ISDIR(st.st_mode):
        raise FormatError("is a directory, expected a file", path)
    if not stat.S_ISREG(st.st_mode):
        kind = "a FIFO" if stat.S_ISFIFO(st.st_mode) else "a device" if (
            stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode)) else "a socket or special file"
        raise FormatError(f"is {kind}, not a regular file: expected a GNSS file on disk", path)
    try:
        return open(p, "rb")
    except PermissionError:
        raise FormatError("permission denied", path) from None
    except OSError as exc:
        raise FormatError(f"cannot open ({_one_line(exc)})", path) from None


def _is_compressed(data: bytes) -> bool:
    return data[:2] in (b"\x1f\x8b", b"\x1f\x9d") or data[:3] == b"BZh" or data[:4] == b"PK\x03\x04"
