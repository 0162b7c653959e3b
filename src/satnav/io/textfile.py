"""Open GNSS text files whatever their compression.

``.gz``, ``.Z`` (Unix compress), ``.bz2`` and ``.zip`` are recognised by their magic
bytes, not their names, and Hatanaka-compressed RINEX (CRINEX 1.0/3.0) is expanded
through the ``hatanaka`` package. Readers get the whole text as ``bytes``.
"""

from __future__ import annotations

import bz2
import gzip
import io
import zipfile
from os import PathLike
from pathlib import Path

from ..errors import FormatError

__all__ = ["read_bytes", "decompress", "is_hatanaka"]


def decompress(data: bytes, path: str | PathLike = "<bytes>") -> bytes:
    """Undo gzip / compress (.Z) / bzip2 / zip wrapping (possibly nested) of ``data``."""
    for _ in range(3):
        if data[:2] == b"\x1f\x8b":
            try:
                data = gzip.decompress(data)
            except (OSError, EOFError) as exc:
                raise FormatError(f"damaged gzip data ({exc})", path) from None
        elif data[:2] == b"\x1f\x9d":
            import ncompress  # installed with hatanaka

            try:
                data = ncompress.decompress(data)
            except Exception as exc:  # ncompress raises plain errors
                raise FormatError(f"damaged .Z (compress) data ({exc})", path) from None
        elif data[:3] == b"BZh":
            try:
                data = bz2.decompress(data)
            except (OSError, ValueError, EOFError) as exc:
                raise FormatError(f"damaged bzip2 data ({exc})", path) from None
        elif data[:4] == b"PK\x03\x04":
            try:
                with zipfile.ZipFile(io.BytesIO(data)) as zf:
                    names = [n for n in zf.namelist() if not n.endswith("/")]
                    if len(names) != 1:
                        raise FormatError(f"zip archive holds {len(names)} files, expected one", path)
                    data = zf.read(names[0])
            except zipfile.BadZipFile as exc:
                raise FormatError(f"damaged zip archive ({exc})", path) from None
        else:
            break
    return data


def is_hatanaka(data: bytes) -> bool:
    """True when ``data`` starts like a Compact RINEX (Hatanaka) file."""
    return b"COMPACT RINEX FORMAT" in data[:200] or b"CRINEX VERS" in data[:200]


def read_bytes(path: str | PathLike, *, expand_hatanaka: bool = True, strict: bool = False) -> bytes:
    """Whole decompressed content of ``path`` (Hatanaka expanded when asked).

    Hatanaka data go through the ``hatanaka`` package; when it fails (a damaged record),
    :func:`satnav.io.crinex.crx_to_rnx` expands the file again, skipping the damaged records
    with ``FILE:LINE:`` warnings (an error when ``strict``).
    """
    p = Path(path)
    try:
        data = p.read_bytes()
    except FileNotFoundError:
        raise FormatError("no such file", path) from None
    except IsADirectoryError:
        raise FormatError("is a directory, expected a file", path) from None
    except PermissionError:
        raise FormatError("permission denied", path) from None
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
    return data
