"""Real time: byte sources and sinks (file, serial, TCP, NTRIP, stdin/stdout), the NTRIP
protocol (client, server, a small caster), the live positioning loop and the base station.

Modules: :mod:`~satnav.streams.status` (what a stream is doing, for the log and the live
status line), :mod:`~satnav.streams.sources` (byte sources with reconnection and stall
detection), :mod:`~satnav.streams.sinks` (byte sinks: file, TCP server, stdout),
:mod:`~satnav.streams.ntrip` (NTRIP 1/2 requests, source tables, :class:`NtripCaster`),
:mod:`~satnav.streams.urls` (``tcp://host:port``, ``ntrip://user:pass@host/MOUNT``, ...),
:mod:`~satnav.streams.feeds` (a source + a decoder -> stream items, paced replay),
:mod:`~satnav.streams.outputs` (NMEA, ``.pos`` and JSON lines per epoch),
:mod:`~satnav.streams.live` (the live engine: SPP / DGNSS / RTK per epoch),
:mod:`~satnav.streams.base_station` (RTCM 3 from a receiver or a RINEX file, served or
pushed to a caster).
"""
