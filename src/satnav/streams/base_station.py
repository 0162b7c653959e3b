"""A base station: a receiver's observations (UBX, RTCM 3, or a RINEX file replayed) encoded
as RTCM 3 for the ``rtcm3:`` outputs of :mod:`satnav.streams.session` -- served by satnav's
own caster (``rtcm3:ntripc://:2101/MOUNT``), a TCP server, pushed to an NTRIP caster
(``rtcm3:ntrips://:PASS@HOST:2101/MOUNT``), or written to a file.

The encoding is :class:`satnav.io.rtcm3_encode.Rtcm3Encoder`'s (RTCM 10403.3); this module
decides what is sent when, as base stations usually do:

* every epoch: MSM7 of every system (MSM4 with ``msm=4``);
* with the first epoch and then every ``station_interval_s`` (of data time): 1005/1006
  (antenna reference point: ``position_m``, else the observations' header position) and
  1033 (antenna and receiver descriptors);
* with the first epoch and then every ``navigation_interval_s``: the ephemeris in force of
  every satellite (from the stream's own navigation data and the ``--nav`` files), so that a
  rover connecting at any time gets them within that interval; a new ephemeris is sent as
  soon as it arrives.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import SatnavError
from ..gnss_time import NS_PER_S

__all__ = ["StationOptions", "RtcmEncoderOutput", "current_ephemerides"]


@dataclass(frozen=True)
class StationOptions:
    """The reference station of an RTCM 3 output: id (DF003, 0-4095), antenna reference
    point (ECEF m; None: the observations' header position), antenna height (m), MSM type (4
    or 7), intervals (s of data time) of the station messages and of the ephemerides."""

    station_id: int = 0
    position_m: tuple[float, float, float] | None = None
    antenna_height_m: float | None = None
    msm: int = 7
    station_interval_s: float = 10.0
    navigation_interval_s: float = 60.0
    antenna_type: str = ""
    receiver_type: str = "satnav"


def current_ephemerides(nav, t_ns: int, *, window_s: float = 2 * 3600.0) -> dict:
    """System letter -> the records whose time of clock is within ``window_s`` of ``t_ns``
    (GPS: the ephemeris being broadcast and the one it replaces, toe in the middle of a
    4-hour fit interval, IS-GPS-200 20.3.4.4), so that a receiver has the one in force."""
    out = {}
    w = int(window_s * NS_PER_S)
    for letter, arr in nav.messages.items():
        if not len(arr):
            continue
        toc = np.asarray(arr["toc"], np.int64)
        ok = np.abs(toc - t_ns) <= w
        if ok.any():
            out[letter] = arr[ok]
    return out


class RtcmEncoderOutput:
    """RTCM 3 of the observations and ephemerides of a stream, written to ``sinks``
    (see the module docstring). ``nav``: ephemerides known at the start (files)."""

    def __init__(self, sinks, station: StationOptions | None = None, nav=None) -> None:
        from ..io.rtcm3_encode import Rtcm3Encoder

        self.sinks = list(sinks)
        self.station = station if station is not None else StationOptions()
        self.encoder = Rtcm3Encoder(self.station.station_id, msm=self.station.msm)
        self.nav = nav
        self._station_sent: int | None = None
        self._nav_sent: int | None = None
        self._warned = False
        self.frames = 0

    def navigation(self, nav) -> bytes:
        """New ephemerides of the stream: merged, and sent now (each once here)."""
        self.nav = nav if self.nav is None else self.nav.merge(nav)
        return self.encoder.encode_navigation(nav, only_new=True)

    def epoch(self, obs) -> bytes:
        """The bytes of one epoch: station and ephemeris messages when due, then MSM."""
        from ..io.rtcm3_encode import encode_ephemeris

        t = int(obs.epochs[0])
        out = []
        if self._station_sent is None or (t - self._station_sent) / 1e9 >= self.station.station_interval_s:
            pos = self.station.position_m
            if pos is None:
                pos = obs.header.approx_position_m
            if pos is not None and np.linalg.norm(pos) > 6.0e6:
                height = self.station.antenna_height_m
                if height is None and obs.header.antenna_delta_hen_m is not None:
                    height = float(obs.header.antenna_delta_hen_m[0])
                out.append(self.encoder.encode_station(np.asarray(pos, float), height,
                                                       antenna=self.station.antenna_type or obs.header.antenna_type,
                                                       receiver=self.station.receiver_type))
                self._station_sent = t
            elif not self._warned:
                self._warned = True
                raise SatnavError("rtcm3 output: no station position (give --station-pos X,Y,Z; the "
                                  "observations have no header position)")
        if self.nav is not None and (self._nav_sent is None
                                     or (t - self._nav_sent) / 1e9 >= self.station.navigation_interval_s):
            for letter, recs in current_ephemerides(self.nav, t).items():
                if letter not in self.encoder.systems:
                    continue
                for rec in recs:
                    b = encode_ephemeris(letter, rec)
                    if b is not None:
                        out.append(b)
            self._nav_sent = t
        out.append(self.encoder.encode_epoch(obs))
        data = b"".join(out)
        self.frames += 1
        return data
