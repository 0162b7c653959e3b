"""A live run from addresses: what ``satnav stream`` sets up, callable from Python.

:func:`open_session` turns stream addresses (:mod:`satnav.streams.urls`) into feeds, sinks
and a :class:`~satnav.streams.live.LiveLoop`; :meth:`Session.run` runs it and closes
everything. A rover (or base) address that names a RINEX observation file is replayed
epoch by epoch; any other is decoded as ``options.rover_format`` (default: told by content).

Outputs are ``FORMAT:ADDRESS``: ``nmea``, ``pos``, ``json`` (per epoch) or ``rtcm3`` (the
rover's own observations and ephemerides encoded as RTCM 3, for a base station), to any
sink address (``nmea:tcp://:10110``, ``pos:out.pos``, ``rtcm3:ntripc://:2101/BASE``, ...).
"""

from __future__ import annotations

import queue
from dataclasses import dataclass, field

from ..errors import SatnavError
from ..options import StreamOptions
from .feeds import Feed, RinexFeed
from .live import LiveEngine, LiveLoop, LiveSummary
from .outputs import FORMATTERS, pos_header

__all__ = ["Session", "open_session", "OUTPUT_FORMATS", "parse_output"]

#: Output formats of ``FORMAT:ADDRESS``.
OUTPUT_FORMATS = (*FORMATTERS, "rtcm3")


def parse_output(text: str) -> tuple[str, str]:
    """``"nmea:tcp://:10110"`` -> ("nmea", "tcp://:10110")."""
    fmt, sep, address = text.partition(":")
    if not sep or fmt not in OUTPUT_FORMATS or not address:
        raise SatnavError(f"--out {text!r}: expected FORMAT:ADDRESS with FORMAT one of {', '.join(OUTPUT_FORMATS)} "
                          "(e.g. nmea:tcp://:10110, pos:rover.pos, json:-, rtcm3:ntripc://:2101/BASE)")
    return fmt, address


def _is_rinex_obs(address: str) -> bool:
    from .urls import parse_address

    a = parse_address(address)
    if a.kind != "file":
        return False
    from ..info import detect_format

    try:
        return detect_format(a.path)[0] == "rinex-obs"
    except (SatnavError, OSError):
        return False


@dataclass
class Session:
    """Everything a live run holds (feeds, sinks, loop); :meth:`run` then :meth:`close`."""

    loop: LiveLoop
    sinks: list = field(default_factory=list)
    feeds: list = field(default_factory=list)

    @property
    def engine(self) -> LiveEngine:
        return self.loop.engine

    def run(self, *, stop=None, duration_s: float | None = None) -> LiveSummary:
        try:
            return self.loop.run(stop=stop, duration_s=duration_s)
        finally:
            self.close()

    def close(self) -> None:
        for f in self.feeds:
            f.stop()
        for s in self.sinks:
            try:
                s.close()
            except OSError:
                pass


def _feed(role: str, address: str, q: queue.Queue, fmt: str, options: StreamOptions, gga=None, time_hint=None):
    from .urls import open_source, parse_address

    if fmt == "rinex" or (fmt == "auto" and _is_rinex_obs(address)):
        a = parse_address(address)
        if a.kind != "file":
            raise SatnavError(f"{address}: RINEX observations are read from a file, expected a file path")
        return RinexFeed(role, a.path, q, speed=options.replay_speed)
    kw = dict(reconnect_s=options.reconnect_s, reconnect_max_s=options.reconnect_max_s, stall_s=options.stall_s)
    a = parse_address(address)
    if a.kind == "ntrip":
        kw.update(gga=gga, gga_interval_s=options.gga_interval_s)
    source = open_source(a, **kw)
    return Feed(role, source, q, fmt=fmt, speed=options.replay_speed if a.kind == "file" else None,
                time_hint=time_hint)


def open_session(options: StreamOptions, rover: str, *, base: str | None = None, navs=(), outputs=(),
                 on_fix=None, on_event=None, keep_fixes: bool = False, station=None) -> Session:
    """Set up a live run (nothing starts before :meth:`Session.run`).

    ``rover``/``base``: stream addresses; ``navs``: RINEX navigation files; ``outputs``:
    ``FORMAT:ADDRESS`` texts; ``station``: options of the RTCM 3 encoder of ``rtcm3:``
    outputs (:class:`satnav.streams.base_station.StationOptions`).
    """
    if options.relative and base is None:
        raise SatnavError(f"mode {options.mode} needs a base or correction stream: --base SOURCE")
    nav = None
    if navs:
        from ..io.rinex_nav import read_rinex_nav

        nav = read_rinex_nav(*navs)
    engine = LiveEngine(options, nav)
    q: queue.Queue = queue.Queue(maxsize=4096)
    parsed = [parse_output(o) for o in outputs]
    sinks, outs, rtcm_sinks = [], [], []
    session = Session(loop=None, sinks=sinks)  # type: ignore[arg-type]
    try:
        from .urls import open_sink

        for fmt, address in parsed:
            sink = open_sink(address)
            sinks.append(sink)
            if fmt == "rtcm3":
                rtcm_sinks.append(sink)
            else:
                if fmt == "pos":
                    sink.write(pos_header())
                outs.append((fmt, sink))
        latest: list = []

        def gga():
            """The GGA sentence of the last valid fix (sent to a network-RTK caster)."""
            if not latest:
                return None
            from .outputs import nmea_lines

            return nmea_lines(latest[-1]).split(b"\r\n")[0] + b"\r\n"

        def fix_seen(fix):
            if fix.valid and fix.quality:
                latest[:] = [fix]
            if on_fix is not None:
                on_fix(fix)

        def time_hint():
            """GPST ns near the data: --time, else the rover's first epoch, else the files'
            ephemerides, else None (now)."""
            if options.time_ns is not None:
                return options.time_ns
            loop = session.loop
            if loop is not None and loop.first_rover_ns is not None:
                return loop.first_rover_ns
            if engine.nav is not None and len(engine.nav):
                lo, hi = engine.nav.time_span()
                return (int(lo) + int(hi)) // 2
            return None

        rover_feed = _feed("rover", rover, q, options.rover_format, options, time_hint=time_hint)
        base_feed = (_feed("base", base, q, options.base_format, options, gga=gga, time_hint=time_hint)
                     if base is not None else None)
        encoders = []
        if rtcm_sinks:
            from .base_station import RtcmEncoderOutput

            encoders.append(RtcmEncoderOutput(rtcm_sinks, station, nav=engine.nav))
        session.feeds = [f for f in (rover_feed, base_feed) if f is not None]
        session.loop = LiveLoop(engine, q, rover=rover_feed, base=base_feed, outputs=outs, on_fix=fix_seen,
                                on_event=on_event, keep_fixes=keep_fixes, encoders=encoders)
        return session
    except BaseException:
        session.close()
        raise
