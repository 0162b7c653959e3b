"""Open GNSS text files whatever their compression, within bounded resources.

``.gz``, ``.Z`` (Unix compress), ``.bz2`` and ``.zip`` are recognised by their magic
bytes, not their names, and Hatanaka-compressed RINEX (CRINEX 1.0/3.0) is expanded
through the ``hatanaka`` package. Readers get the whole text as ``bytes``.

Resources are bounded (:func:`limits`): the decompressed text may not exceed
``SATNAV_MAX_INPUT_BYTES`` (default 2 GiB) and no line may be longer than
``SATNAV_MAX_LINE_BYTES`` (default 1 MiB); both are environment variables (bytes, or
with a ``K``/``M``/``G`` suffix). Decompression stops as soon as a limit is passed, so a
decompression bomb costs at most the limit in memory. Only regular files are read: a
FIFO, a device (``/dev/zero``) or a socket is refused with a one-line error instead of
blocking or reading without end.

A member of a zip or tar archive is named ``ARCHIVE::MEMBER`` (see
:mod:`satnav.io.archive`); a zip holding exactly one file is opened as that file.
"""

from __future__ import annotations

import bz2
import gzip
import io
import os
import zipfile
import zlib
from os import PathLike
from pathlib import Path

from ..errors import FormatError
from ._bounded import (
    DEFAULT_MAX_INPUT_BYTES,
    DEFAULT_MAX_LINE_BYTES,
    MEMBER_SEPARATOR,
    _is_compressed,
    _LineGuard,
    _one_line,
    _read_stream,
    _too_big,
    limits,
    open_regular,
)

__all__ = [
    "read_bytes", "read_head", "decompress", "is_hatanaka", "limits", "open_regular",
    "DEFAULT_MAX_INPUT_BYTES", "DEFAULT_MAX_LINE_BYTES", "MEMBER_SEPARATOR",
]

class _CappedWriter(io.RawIOBase):
    """Write target that refuses more than ``limit`` bytes (for ncompress)."""

    def __init__(self, path, limit: int, guard):
        self.buf = io.BytesIO()
        self.path, self.limit, self.guard = path, limit, guard

    def writable(self) -> bool:
        return True

    def write(self, b) -> int:
        if self.buf.tell() + len(b) > self.limit:
            raise _too_big(self.path, self.limit)
        if not self.buf.tell() and _is_compressed(bytes(b[:4])):
            self.guard = None  # an inner layer: its text is checked when unwrapped
        if self.guard is not None:
            self.guard.feed(b)
        return self.buf.write(b)


_ZIP_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError, RuntimeError,
               NotImplementedError, zlib.error)


def _unwrap(data: bytes, path, limit: int, guard: _LineGuard | None, head: int | None) -> tuple[bytes, bool]:
    """One layer of gzip / .Z / bzip2 / zip removed from ``data`` (at most ``head`` bytes
    of it when given); (data, whether a layer was removed)."""
    cap = limit if head is None else head
    # a head read never fails on the cap: it just stops
    cap_error = head is None
    if head is not None and (data[:2] == b"\x1f\x8b" or data[:3] == b"BZh"):
        # the start of a stream decompresses without the rest of it
        try:
            if data[:2] == b"\x1f\x8b":
                return zlib.decompressobj(47).decompress(data, head), True
            return bz2.BZ2Decompressor().decompress(data, max_length=head), True
        except (zlib.error, OSError, EOFError, ValueError) as exc:
            what = "gzip" if data[:2] == b"\x1f\x8b" else "bzip2"
            raise FormatError(f"damaged {what} data ({_one_line(exc)})", path) from None
    if data[:2] == b"\x1f\x8b":
        stream = gzip.GzipFile(fileobj=io.BytesIO(data))
        return _read_limited(stream, path, cap, guard, cap_error, (OSError, EOFError, zlib.error),
                             "gzip"), True
    if data[:2] == b"\x1f\x9d":
        import ncompress  # installed with hatanaka

        out = _CappedWriter(path, limit, guard)
        try:
            ncompress.decompress(data, out)
        except FormatError:
            raise
        except Exception as exc:  # ncompress raises plain errors
            raise FormatError(f"damaged .Z (compress) data ({_one_line(exc)})", path) from None
        return out.buf.getvalue()[: cap], True
    if data[:3] == b"BZh":
        stream = bz2.BZ2File(io.BytesIO(data))
        return _read_limited(stream, path, cap, guard, cap_error, (OSError, ValueError, EOFError), "bzip2"), True
    if data[:4] == b"PK\x03\x04":
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                names = [n for n in zf.namelist() if not n.endswith("/")]
                if len(names) != 1:
                    raise FormatError(
                        f"zip archive holds {len(names)} files, expected one (name a member as "
                        f"ARCHIVE{MEMBER_SEPARATOR}MEMBER)", path,
                    )
                with zf.open(names[0]) as stream:
                    return _read_limited(stream, path, cap, guard, cap_error, _ZIP_ERRORS, "zip"), True
        except FormatError:
            raise
        except _ZIP_ERRORS as exc:
            raise FormatError(f"damaged zip archive ({_one_line(exc)})", path) from None
    return data, False


def _read_limited(stream, path, cap, guard, cap_error: bool, errors, what) -> bytes:
    if cap_error:
        return _read_stream(stream, path, cap, guard, errors, what)
    try:
        return stream.read(cap)
    except errors as exc:
        raise FormatError(f"damaged {what} data ({_one_line(exc)})", path) from None


def decompress(data: bytes, path: str | PathLike = "<bytes>", *, head: int | None = None) -> bytes:
    """Undo gzip / compress (.Z) / bzip2 / zip wrapping (possibly nested) of ``data``.

    With ``head`` only the first ``head`` decompressed bytes are produced (format
    sniffing); otherwise the whole text, within :func:`limits` (:class:`FormatError` past
    them, and for damaged compressed data).
    """
    limit, max_line = limits()
    for _ in range(3):
        guard = None if head is not None else _LineGuard(path, max_line)
        data, unwrapped = _unwrap(data, path, limit, guard, head)
        if not unwrapped:
            break
    if head is None:
        _LineGuard(path, max_line).feed(data)
    return data


def is_hatanaka(data: bytes) -> bool:
    """True when ``data`` starts like a Compact RINEX (Hatanaka) file."""
    return b"COMPACT RINEX FORMAT" in data[:200] or b"CRINEX VERS" in data[:200]


def _raw(path, n: int | None) -> bytes:
    """At most ``n`` bytes (all, within the input limit, when None) of ``path``, which may
    name an archive member (``ARCHIVE::MEMBER``)."""
    text = os.fspath(path)
    if MEMBER_SEPARATOR in str(text) and not Path(text).exists():
        from .archive import read_member

        return read_member(text, n)
    limit, _ = limits()
    with open_regular(path) as fh:
        data = fh.read(limit + 1 if n is None else n)
    if n is None and len(data) > limit:
        raise _too_big(path, limit)
    return data


def read_head(path: str | PathLike, n_bytes: int = 1 << 16) -> bytes:
    """The first ``n_bytes`` of the decompressed content of ``path`` (never more is
    decompressed: format detection of any file costs little)."""
    data = _raw(path, max(n_bytes, 1 << 16))
    if _is_compressed(data):
        # gzip and bzip2 decompress from their start; zip (its directory is at the end)
        # and .Z need the whole compressed file (within the input limit)
        if data[:4] == b"PK\x03\x04" or data[:2] == b"\x1f\x9d":
            data = _raw(path, None)
        try:
            data = decompress(data, path, head=n_bytes)
        except FormatError:  # e.g. a zip inside a gzip: the whole file, within the limits
            data = decompress(_raw(path, None), path)
    return data[:n_bytes]


def read_bytes(path: str | PathLike, *, expand_hatanaka: bool = True, strict: bool = False) -> bytes:
    """Whole decompressed content of ``path`` (Hatanaka expanded when asked), within
    :func:`limits`; ``path`` may name an archive member (``ARCHIVE::MEMBER``).

    Hatanaka data go through the ``hatanaka`` package; when it fails (a damaged record),
    :func:`satnav.io.crinex.crx_to_rnx` expands the file again, skipping the damaged records
    with ``FILE:LINE:`` warnings (an error when ``strict``).
    """
    data = _raw(path, None)
    data = decompress(data, path)
    if expand_hatanaka and is_hatanaka(data):
        import hatanaka

        try:
            expanded = hatanaka.crx2rnx(data)
        except Exception:  # hatanaka raises ValueError/HatanakaException: damaged records
            from .crinex import crx_to_rnx

            expanded = crx_to_rnx(data, str(path), strict=strict)
        if isinstance(expanded, str):
            expanded = expanded.encode("ascii", "replace")
        data = expanded
        limit, _ = limits()
        if len(data) > limit:
            raise _too_big(path, limit)
    return data
