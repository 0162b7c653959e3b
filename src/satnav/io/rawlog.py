"""Raw receiver logs on disk: their bytes (plain or gzip-compressed) and their protocol.

:func:`log_protocol` tells a u-blox UBX log from an RTCM 3 log by content (the frames with
valid checksums in its first 64 KB: :func:`satnav.io.framing.frame_stream`), whatever the
file name; a log that mixes both protocols is the protocol with more frames there.
"""

from __future__ import annotations

import gzip
import os
import zlib
from os import PathLike

from ..errors import SatnavError

__all__ = ["read_log_bytes", "read_head_bytes", "log_protocol", "HEAD_BYTES"]

#: Bytes of a log looked at to tell its protocol.
HEAD_BYTES = 65536
#: A log's first frame starts within this many bytes.
EARLY_BYTES = 1024


def read_log_bytes(path: str | PathLike) -> bytes:
    """The bytes of a (gzip-compressed or plain) log file; SatnavError for a damaged gzip."""
    with open(path, "rb") as fh:
        raw = fh.read()
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as exc:
            raise SatnavError(f"{path}: damaged gzip file ({exc})") from None
    return raw


def read_head_bytes(path: str | PathLike, n: int = HEAD_BYTES) -> bytes | None:
    """The first ``n`` decompressed bytes of a regular file, or None when it is not one or
    cannot be read (the caller reports that)."""
    if not os.path.isfile(path):  # missing, a directory, a FIFO or device: never opened here
        return None
    try:
        with open(path, "rb") as fh:
            head = fh.read(n)
    except OSError:
        return None
    if head[:2] == b"\x1f\x8b":
        try:
            with gzip.open(path, "rb") as fh:
                head = fh.read(n)
        except (OSError, EOFError, zlib.error):  # a damaged archive: the caller reports it
            return None
    return head


def log_protocol(head: bytes) -> str | None:
    """``"ubx"``, ``"rtcm3"`` or None for the first bytes of a log: the protocol of a frame
    with a valid checksum starting in its first KB, the one with more frames in ``head``
    when both occur (u-blox logs often carry RTCM 3 and the reverse).

    Text (a first KB of ASCII bytes: RINEX, SP3, CSV) is None at once, without the framing
    module: both preambles (UBX ``0xB5 0x62``, RTCM 3 ``0xD3``) are bytes above 0x7F."""
    if bytes(head[:EARLY_BYTES]).isascii():
        return None
    from .framing import frame_stream

    fr = frame_stream(bytes(head[:HEAD_BYTES]), nmea=False, final=False)
    starts = {"ubx": fr.ubx_start, "rtcm3": fr.rtcm_start}
    early = [p for p, s in starts.items() if len(s) and int(s[0]) < EARLY_BYTES]
    if not early:
        return None
    return max(starts, key=lambda p: len(starts[p]))
