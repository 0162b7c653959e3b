"""``satnav stream``: live positioning from a receiver stream, and a base station.

The flags become a :class:`~satnav.options.StreamOptions`; the run is
:func:`satnav.streams.session.open_session`. On a terminal a one-line status (rich) shows
the fix, satellites, age of corrections, ratio and the streams' states; otherwise (and with
``-q``) nothing but the events (a stream lost, stale corrections, dropped epochs, clock
jumps) on stderr. Ctrl-C ends the run; a summary follows.
"""

from __future__ import annotations

import math
import signal
import sys
import threading
import time

from ..errors import SatnavError
from ..options import StreamOptions
from .checks import bounded_float, bounded_int
from .terminal import printable

__all__ = ["register", "stream_options_from_args"]

_MODES = {"spp": "spp", "dgnss": "dgnss", "kinematic": "rtk-kinematic", "static": "rtk-static"}


def stream_options_from_args(args) -> StreamOptions:
    from .solve import parse_xyz

    return StreamOptions(
        mode=_MODES[args.mode], systems=args.systems, elevation_mask_deg=args.mask,
        base_position=tuple(parse_xyz(args.base_pos, "--base-pos")) if args.base_pos else None,
        ratio_threshold=args.ratio, fix_and_hold=args.fix_and_hold, frequencies=args.frequencies,
        max_age_s=args.max_age, base_wait_s=args.base_wait, replay_speed=args.speed,
        rover_format=args.rover_format, base_format=args.base_format, reconnect_s=args.reconnect,
        stall_s=args.stall, gga_interval_s=args.gga_interval, time=args.time,
    )


class _StatusLine:
    """The one-line live status (rich, on a terminal only) and the event lines."""

    def __init__(self, quiet: bool):
        self.quiet = quiet
        self.live = None
        self.fix = None
        self.n = 0
        if quiet or not sys.stderr.isatty():
            return
        try:
            from rich.console import Console
            from rich.live import Live
        except ImportError:
            return
        self.console = Console(stderr=True)
        self.live = Live("", console=self.console, refresh_per_second=4, transient=True)
        self.live.start()
        self._last = 0.0

    def event(self, text: str) -> None:
        line = f"satnav: stream: {printable(text, newlines=False)}"
        if self.live is not None:
            self.live.console.print(line, markup=False, highlight=False)
        else:
            print(line, file=sys.stderr, flush=True)

    def update(self, fix, session) -> None:
        self.fix = fix
        self.n += 1
        if self.live is None or time.monotonic() - self._last < 0.2:
            return
        self._last = time.monotonic()
        from ..gnss_time import format_gpst

        age = f"{fix.age_s:4.1f} s" if math.isfinite(fix.age_s) else "  -  "
        states = " ".join(f"{f.role}:{f.status.state}" for f in session.feeds)
        text = (f"{format_gpst(fix.time_ns)[11:19]} {fix.quality_name:>6} sats {fix.n_satellites:2d} "
                f"age {age} ratio {fix.ratio:5.1f} | {states} | epochs {self.n}"
                + (f" | {fix.note}" if fix.note else ""))
        from rich.text import Text

        self.live.update(Text(text, no_wrap=True, overflow="ellipsis"))

    def close(self) -> None:
        if self.live is not None:
            self.live.stop()


def cmd_stream(args) -> int:
    from ..streams.session import open_session

    if args.sourcetable:
        return _print_source_table(args.sourcetable)
    if not args.rover:
        raise SatnavError("no rover source: satnav stream SOURCE [--base SOURCE] [--out FORMAT:ADDRESS ...]")
    options = stream_options_from_args(args)
    station = None
    if any(o.startswith("rtcm3:") for o in args.out):
        from ..streams.base_station import StationOptions
        from .solve import parse_xyz

        station = StationOptions(station_id=args.station_id,
                                 position_m=tuple(parse_xyz(args.station_pos, "--station-pos"))
                                 if args.station_pos else None)
    status = _StatusLine(args.quiet)
    if not args.quiet:  # the live engines' numba kernels, compiled at the first run
        from .. import _jit

        _jit.on_compile = lambda text: print(f"satnav: {text}", file=sys.stderr, flush=True)
    holder: list = []
    session = open_session(options, args.rover, base=args.base, navs=args.nav, outputs=args.out,
                           on_fix=lambda fix: status.update(fix, holder[0]), on_event=status.event,
                           station=station)
    holder.append(session)
    # (the loop keeps what the set-up made out of the collections, collects between epochs
    # and shortens the interpreter's switch interval: satnav.streams.live.LiveLoop)
    t0 = time.monotonic()
    interrupted = False
    stop = threading.Event()
    previous = _stop_on_ctrl_c(stop)
    try:
        summary = session.run(stop=stop, duration_s=args.duration)
        interrupted = stop.is_set()
    except KeyboardInterrupt:  # a second Ctrl-C: the summary of what was done follows
        interrupted = True
        summary = session.loop.summary
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
        status.close()
    if args.stats:
        _write_stats(args.stats, summary, session, time.monotonic() - t0)
    if not args.quiet:
        print(_summary_text(summary, time.monotonic() - t0), file=sys.stderr)
    if interrupted:
        print("satnav: interrupted", file=sys.stderr)
        return 130
    solved = sum(v for k, v in summary.counts.items() if k.startswith("q") and k != "q0")
    return 0 if solved or not summary.counts.get("rover_epochs") else 1


def _stop_on_ctrl_c(stop):
    """Make Ctrl-C (SIGINT) set ``stop``: the loop ends at its next turn (within 0.2 s), its
    feeds and sinks closed in order; a second Ctrl-C interrupts at once. The previous handler
    (None when not in the main thread, where no handler can be set)."""
    if threading.current_thread() is not threading.main_thread():
        return None

    def handler(signum, frame):
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()

    return signal.signal(signal.SIGINT, handler)


def _write_stats(path: str, summary, session, elapsed: float) -> None:
    """The run's summary as JSON (``--stats``): counts, events, and per epoch (ms) the
    latency from the last byte in to the outputs written, the loop thread's CPU time solving
    and writing, and each stream's decoding CPU time."""
    import json

    def ms(values) -> list[float]:
        return [round(v * 1e3, 4) for v in values]

    doc = {
        "elapsed_s": round(elapsed, 3),
        "counts": dict(summary.counts),
        "events": list(summary.events),
        "latency_ms": ms(summary.latencies_s),
        "cpu_ms": ms(summary.cpu_s),
        "decode_cpu_ms": {f.role: ms(getattr(f, "decode_cpu_s", ())) for f in session.feeds},
    }
    try:
        with open(path, "w") as fh:
            json.dump(doc, fh)
            fh.write("\n")
    except OSError as exc:
        raise SatnavError(f"{path}: cannot write the statistics ({exc.strerror or exc})") from None


def _summary_text(summary, elapsed: float) -> str:
    c = summary.counts
    names = {"q1": "fixed", "q2": "float", "q4": "DGNSS", "q5": "single", "q0": "no valid fix"}
    parts = [f"{names[k]} {c[k]}" for k in ("q1", "q2", "q4", "q5", "q0") if c.get(k)]
    lines = [f"stream      {c.get('rover_epochs', 0)} rover epochs in {elapsed:.1f} s: " + (", ".join(parts) or "none")]
    drops = {k: v for k, v in c.items() if k.endswith(("_duplicates", "_out_of_order", "_clock_jumps", "_crc",
                                                        "_garbage", "_truncated", "_undecodable"))}
    if drops:
        lines.append("dropped     " + ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in sorted(drops.items())))
    lat = summary.latency_percentiles_ms()
    if lat:
        lines.append(f"latency     p50 {lat['p50']:.2f} ms, p99 {lat['p99']:.2f} ms (last byte in to outputs written)")
    return "\n".join(lines)


def _print_source_table(address: str) -> int:
    from ..streams.ntrip import list_source_table
    from ..streams.urls import parse_address

    text = address if "://" in address else f"ntrip://{address}/"
    a = parse_address(text)
    entries = list_source_table(a.host, a.port, user=a.user, password=a.password, version=a.version)
    for e in entries:
        where = (f"{e.latitude_deg:.2f},{e.longitude_deg:.2f}"
                 if e.latitude_deg is not None and e.longitude_deg is not None else "")
        print(printable(f"{e.mountpoint:<20} {e.format:<12} {e.nav_system:<20} {e.country:<4} {where:<16} "
                        f"{'nmea' if e.nmea else '':<4} {e.identifier}", newlines=False))
    print(f"{len(entries)} mount points", file=sys.stderr)
    return 0


def register(subparsers) -> None:
    from ..streams.session import OUTPUT_FORMATS

    s = subparsers.add_parser(
        "stream", help="live positioning from a receiver or NTRIP stream; RTCM 3 base station",
        description="Live SPP / DGNSS / RTK from a rover stream (UBX, RTCM 3, or a RINEX file replayed), "
                    "with an optional base/correction stream. Sources: FILE or file:PATH, -, "
                    "serial:/dev/ttyACM0[:BAUD], tcp://HOST:PORT, tcpsrv://:PORT, "
                    "ntrip://[USER:PASS@]HOST[:PORT]/MOUNT (ntrip1:// for NTRIP 1.0). Outputs FORMAT:ADDRESS "
                    f"with FORMAT one of {', '.join(OUTPUT_FORMATS)} and ADDRESS a file, -, tcp://:PORT, "
                    "ntrips://[USER]:PASS@HOST:PORT/MOUNT (push to a caster) or ntripc://:PORT/MOUNT (serve "
                    "as satnav's own caster); rtcm3 outputs make a base station of the rover source.",
    )
    s.add_argument("rover", metavar="SOURCE", nargs="?", help="rover (or base-station receiver) stream address")
    s.add_argument("--base", metavar="SOURCE", help="base / correction stream (RTCM 3, UBX or a RINEX file)")
    s.add_argument("--nav", metavar="NAV", nargs="+", default=[], help="RINEX navigation files (besides the "
                   "ephemerides decoded from the streams)")
    s.add_argument("--mode", choices=tuple(_MODES), default=None,
                   help="spp (default without --base), dgnss, kinematic (default with --base), static")
    s.add_argument("--out", metavar="FORMAT:ADDRESS", action="append", default=[],
                   help="an output, repeatable: nmea:tcp://:10110, pos:rover.pos, json:-, rtcm3:ntripc://:2101/BASE")
    s.add_argument("--systems", default="GRECJ", help="systems to use (default GRECJ)")
    s.add_argument("--mask", type=bounded_float("an elevation mask in degrees", 0.0, 90.0, high_open=True),
                   default=10.0, help="elevation mask, degrees (default 10)")
    s.add_argument("--base-pos", metavar="X,Y,Z", help="base position (ECEF m); default the base stream's "
                   "RTCM 1005/1006 or the base file header")
    s.add_argument("--ratio", type=bounded_float("a ratio-test threshold", 1.0), default=3.0,
                   help="RTK: ratio-test threshold (default 3)")
    s.add_argument("--fix-and-hold", action="store_true", help="RTK: hold fixed ambiguities")
    s.add_argument("--frequencies", type=int, choices=(1, 2, 3), default=2,
                   help="RTK: 1 = L1, 2 = L1 + L2 (default), 3 = L1 + L2 + L5")
    s.add_argument("--max-age", type=bounded_float("an age in seconds", 0.0, low_open=True), default=30.0, metavar="S",
                   help="corrections older than this are not used: single point, said so (default 30)")
    s.add_argument("--base-wait", type=bounded_float("a time in seconds", 0.0), default=1.0, metavar="S",
                   help="longest wait of a rover epoch for the base epoch of its time (default 1 s)")
    s.add_argument("--speed", type=bounded_float("a replay speed", 0.0, low_open=True), metavar="X",
                   help="replay files at X times their recorded rate (default: as fast as possible)")
    s.add_argument("--rover-format", choices=("auto", "ubx", "rtcm3", "rinex"), default="auto",
                   help="format of the rover stream (default: told by content)")
    s.add_argument("--base-format", choices=("auto", "ubx", "rtcm3", "rinex"), default="auto",
                   help="format of the base stream (default: told by content)")
    s.add_argument("--reconnect", type=bounded_float("a time in seconds", 0.0, low_open=True), default=1.0,
                   metavar="S", help="first reconnection wait, doubling up to 30 s (default 1)")
    s.add_argument("--stall", type=bounded_float("a time in seconds", 0.0, low_open=True), default=10.0,
                   metavar="S", help="a stream silent this long is reported and reconnected (default 10)")
    s.add_argument("--gga-interval", type=bounded_float("a time in seconds", 0.0, low_open=True), default=10.0,
                   metavar="S", help="GGA sent to an NTRIP caster this often (network RTK; default 10)")
    s.add_argument("--time", metavar="YYYY-MM-DDTHH:MM:SS",
                   help="GPST near the data, for RTCM 3 recordings replayed (their time tags hold no week; "
                        "default: the rover's first epoch, else now)")
    s.add_argument("--duration", type=bounded_float("a time in seconds", 0.0, low_open=True), metavar="S",
                   help="stop after this many seconds")
    s.add_argument("--station-pos", metavar="X,Y,Z", help="rtcm3 outputs: the station's ARP (ECEF m; default "
                   "the RINEX header position)")
    s.add_argument("--station-id", type=bounded_int("an RTCM station id", 0, 4095), default=0,
                   help="rtcm3 outputs: reference station id (default 0)")
    s.add_argument("--sourcetable", metavar="HOST[:PORT]", help="list the mount points of an NTRIP caster and exit")
    s.add_argument("--stats", metavar="FILE", help="at the end, write the run's summary as JSON to FILE: counts, "
                   "events, and per epoch the latency (last byte in to outputs written), the CPU time solving "
                   "and writing, and each stream's decoding CPU time (ms)")
    s.add_argument("-q", "--quiet", action="store_true", help="no status line and no summary")
    s.set_defaults(func=_run, input_args=("nav",))


def _run(args) -> int:
    if args.mode is None:
        args.mode = "kinematic" if args.base else "spp"
    if args.base is None and args.mode != "spp":
        raise SatnavError(f"--mode {args.mode} needs a base or correction stream: --base SOURCE")
    return cmd_stream(args)
