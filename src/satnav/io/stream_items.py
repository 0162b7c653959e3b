"""What an incremental receiver-stream decoder yields: the contract between the protocol
decoders (UBX, RTCM 3, NMEA in :mod:`satnav.io`) and the real-time engine
(:mod:`satnav.streams`).

A decoder is fed bytes as they arrive (any split, including mid-message) and returns the
items completed by those bytes, in stream order:

- :class:`EpochItem` — one receiver epoch of observations (an :class:`Observations` whose
  ``epochs`` has length 1; time int64 ns GPST), emitted when the epoch is complete (for RTCM
  MSM: the message with the "multiple message" bit clear; for UBX: one RXM-RAWX);
- :class:`NavigationItem` — decoded broadcast ephemerides (a :class:`Navigation` with one or
  more messages);
- :class:`StationItem` — reference-station data (RTCM 1005/1006/1007/1008/1033): antenna
  reference point in ECEF metres, antenna height (m), antenna/receiver descriptors;
- :class:`ProblemItem` — a frame dropped (CRC/checksum failure, garbage skipped, message
  unknown or undecodable), with the byte offset in the stream; never fatal.

Decoders keep whatever partial state they need between calls; ``flush()`` returns what a
final partial epoch allows (or nothing) at end of stream.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from ..navigation import Navigation
from ..observations import Observations

__all__ = [
    "EpochItem",
    "NavigationItem",
    "StationItem",
    "ProblemItem",
    "StreamItem",
    "StreamDecoder",
]


@dataclass(frozen=True)
class EpochItem:
    """One complete receiver epoch. ``observations.epochs`` has exactly one time (ns GPST)."""

    observations: Observations
    protocol: str = ""  # "ubx", "rtcm3", ...


@dataclass(frozen=True)
class NavigationItem:
    """Broadcast ephemerides decoded from the stream."""

    navigation: Navigation
    protocol: str = ""


@dataclass(frozen=True)
class StationItem:
    """Reference-station description (RTCM 3 1005-1008/1033 or equivalent).

    ``position_m``: antenna reference point, ECEF metres (None when not sent);
    ``antenna_height_m``: ARP height above the marker (m, 0 when not sent).
    """

    station_id: int
    position_m: np.ndarray | None = None
    antenna_height_m: float = 0.0
    antenna_type: str = ""
    antenna_serial: str = ""
    receiver_type: str = ""
    receiver_firmware: str = ""
    receiver_serial: str = ""


@dataclass(frozen=True)
class ProblemItem:
    """A frame that could not be used: ``kind`` is one of "crc", "garbage", "unknown",
    "undecodable"; ``offset`` the byte offset of the frame in the stream."""

    kind: str
    offset: int
    message: str = ""
    details: dict = field(default_factory=dict)


StreamItem = EpochItem | NavigationItem | StationItem | ProblemItem


class StreamDecoder(Protocol):
    """An incremental decoder of one receiver protocol (or of a mixed stream)."""

    def feed(self, data: bytes) -> list[StreamItem]:
        """Consume ``data`` (the next bytes of the stream) and return the completed items."""
        ...

    def flush(self) -> list[StreamItem]:
        """End of stream: return what remains decodable."""
        ...
