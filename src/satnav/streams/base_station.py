"""A base station: a receiver's observations (UBX, or a RINEX file replayed) encoded as
RTCM 3 (MSM7 per system, 1005 station position, 1033 descriptors, ephemerides) for
``rtcm3:`` outputs of :mod:`satnav.streams.session` -- served by satnav's own caster, a TCP
server, pushed to an NTRIP caster, or written to a file.

The encoding is :mod:`satnav.io.rtcm3_encode`'s; this module decides what to send when:
every epoch's MSM7, the station messages (1005, 1033) with the first epoch and then every
``station_interval_s``, each ephemeris once when it is first seen.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import SatnavError

__all__ = ["StationOptions", "RtcmEncoderOutput"]


@dataclass(frozen=True)
class StationOptions:
    """The reference station of an RTCM 3 output: id (0-4095), antenna reference point
    (ECEF m; None: the observations' header position), station messages' interval (s)."""

    station_id: int = 0
    position_m: tuple[float, float, float] | None = None
    station_interval_s: float = 10.0
    antenna_type: str = ""
    receiver_type: str = ""


class RtcmEncoderOutput:
    """RTCM 3 of the observations and ephemerides of a stream, written to ``sinks``."""

    def __init__(self, sinks, station: StationOptions | None = None) -> None:
        try:
            from ..io import rtcm3_encode
        except ImportError:
            raise SatnavError("rtcm3 outputs need satnav.io.rtcm3_encode, which this version does not have") from None
        self._module = rtcm3_encode
        self.sinks = list(sinks)
        self.station = station if station is not None else StationOptions()

    def epoch(self, obs) -> bytes:
        raise NotImplementedError

    def navigation(self, nav) -> bytes:
        raise NotImplementedError
