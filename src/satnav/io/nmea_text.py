"""NMEA 0183 sentences as text: the fields and the checksum, formatted directly.

A sentence is ``$`` + talker + type + ``,`` + the comma-separated fields + ``*`` + the
two-digit hexadecimal XOR of every character between ``$`` and ``*`` + CR LF (NMEA 0183
4.11, section 5.2). Latitude and longitude are (d)ddmm.mmmmmmm (seven decimals of a minute,
1.8 mm: the high-precision form u-blox and ``pynmeagps``'s ``hpnmeamode`` write), times
hhmmss.ss UTC, dates ddmmyy. These helpers serve the live outputs
(:func:`satnav.streams.outputs.nmea_lines`), where building ``pynmeagps`` message objects
cost about 1.5 ms per epoch, a quarter of a single point epoch; the sentences are read back
with ``pynmeagps`` in the tests (tests/io/test_nmea_text.py).
"""

from __future__ import annotations

import datetime as _dt
import math
from functools import reduce
from operator import xor

__all__ = ["nmea_sentence", "nmea_checksum", "nmea_latitude", "nmea_longitude", "nmea_time", "nmea_date",
           "nmea_number"]


def nmea_checksum(body: str) -> str:
    """Two upper-case hexadecimal digits: the XOR of the characters of ``body`` (the text
    between ``$`` and ``*``), taken eight bytes at a time (the text padded with zero bytes,
    which change no XOR, read as 64-bit words) and the word's eight bytes then folded onto
    its lowest: every byte meets every other once, as in a byte-by-byte XOR."""
    data = body.encode("ascii")
    x = reduce(xor, memoryview(data + _ZEROS[: -len(data) % 8]).cast("Q"), 0)
    x ^= x >> 32
    x ^= x >> 16
    x ^= x >> 8
    return "%02X" % (x & 0xFF)


_ZEROS = bytes(8)


def nmea_sentence(address: str, fields) -> bytes:
    """``$ADDRESS,field,...*CS`` + CR LF; ``address`` is talker + type (``"GNGGA"``),
    ``fields`` strings (empty for a null field)."""
    body = address + "," + ",".join(fields)
    return f"${body}*{nmea_checksum(body)}\r\n".encode("ascii")


def _dmm(degrees: float, width: int) -> str:
    whole, minutes = divmod(abs(degrees) * 60.0, 60.0)
    return f"{int(whole * 100) + minutes:.7f}".zfill(width)


def nmea_latitude(latitude_deg: float) -> tuple[str, str]:
    """(ddmm.mmmmmmm, "N" or "S") of a latitude in degrees; ("", "") when not finite."""
    if not math.isfinite(latitude_deg):
        return "", ""
    return _dmm(latitude_deg, 12), "N" if latitude_deg >= 0 else "S"


def nmea_longitude(longitude_deg: float) -> tuple[str, str]:
    """(dddmm.mmmmmmm, "E" or "W") of a longitude in degrees; ("", "") when not finite."""
    if not math.isfinite(longitude_deg):
        return "", ""
    return _dmm(longitude_deg, 13), "E" if longitude_deg >= 0 else "W"


def nmea_time(when: _dt.datetime | _dt.time) -> str:
    """hhmmss.ss (UTC; hundredths truncated)."""
    return f"{when.hour:02d}{when.minute:02d}{when.second:02d}.{when.microsecond // 10000:02d}"


def nmea_date(when: _dt.datetime | _dt.date) -> str:
    """ddmmyy."""
    return f"{when.day:02d}{when.month:02d}{when.year % 100:02d}"


def nmea_number(value, decimals: int) -> str:
    """``value`` rounded to ``decimals`` as the shortest decimal text (``0.5``, ``58.9096``);
    empty when it is None or not finite."""
    if value is None or not math.isfinite(value):
        return ""
    return repr(round(float(value), decimals))
