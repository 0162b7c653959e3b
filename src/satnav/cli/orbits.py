"""``satnav orbits``: broadcast-derived SP3 files and broadcast-versus-precise comparisons.

::

    satnav orbits NAV... [--start T] [--end T] [--interval S] -o OUT.sp3
                  [--compare PRECISE.sp3 ...] [--clk PRECISE.clk ...] [--systems GRECJ]
                  [--antex FILE.atx] [--json FILE] [--jobs N]

Times are ISO 8601 in GPS time (``2020-06-25T00:00:00``); by default the whole day of
the navigation files (the day holding most messages' reference times) at 15-min steps.
The work is :func:`satnav.pipeline.broadcast_orbits` and :func:`satnav.pipeline.compare_orbits`;
this module parses the arguments and prints.
"""

from __future__ import annotations

import numpy as np

from ..io.atomic import atomic_output
from ..options import OrbitComparisonOptions
from .checks import bounded_float, bounded_int, check_output_file
from .terminal import json_text

__all__ = ["register", "cmd_orbits", "run_orbits", "orbit_options_from_args"]


def register(subparsers) -> None:
    """Add the ``orbits`` subcommand to satnav's argument parser."""
    s = subparsers.add_parser(
        "orbits",
        help="write broadcast-derived SP3 orbits/clocks; compare them with precise products",
        description="Satellite positions and clocks from broadcast ephemerides for every "
        "satellite of the navigation files, written as SP3-d; with --compare, orbit "
        "(radial/along/cross, 3D) and SISRE statistics against precise SP3/CLK products.",
    )
    s.add_argument("nav", nargs="+", metavar="NAV", help="RINEX navigation file(s)")
    s.add_argument("--start", metavar="T", help="first epoch, ISO GPST (default: the nav day)")
    s.add_argument("--end", metavar="T", help="last epoch, ISO GPST (default: end of the day)")
    s.add_argument("--interval", type=bounded_float("an epoch spacing in seconds", 0.0, low_open=True),
                   default=900.0, metavar="S",
                   help="epoch spacing in seconds (default 900)")
    s.add_argument("-o", "--output", required=True, metavar="OUT.sp3", help="SP3-d file to write")
    s.add_argument("--compare", nargs="+", action="extend", metavar="PRECISE.sp3", default=None,
                   help="precise SP3 file(s), consecutive days are merged")
    s.add_argument("--clk", nargs="+", action="extend", metavar="PRECISE.clk", default=None,
                   help="precise RINEX clock file(s) (default: the SP3 clocks)")
    s.add_argument("--systems", default=None, metavar="GRECJ",
                   help="system letters to use (default: all in the nav files)")
    s.add_argument("--antex", default=None, metavar="ATX",
                   help="ANTEX file with satellite PCOs (default: nominal table)")
    s.add_argument("--json", default=None, metavar="FILE", help="write the statistics as JSON")
    s.add_argument("--strict", action="store_true", help="damaged records are errors")
    s.add_argument("--jobs", metavar="N", type=bounded_int("a number of processes", 1), default=None,
                   help="processes computing the states (a system each) and writing the SP3 (a range "
                        "of epochs each); the same file (default: every core)")
    s.set_defaults(func=cmd_orbits, input_args=("nav", "compare", "clk", "antex"),
                   output_args=("output", "json"))


def orbit_options_from_args(args) -> OrbitComparisonOptions:
    """The :class:`~satnav.options.OrbitComparisonOptions` of ``satnav orbits`` arguments."""
    return OrbitComparisonOptions(start=args.start, end=args.end, interval_s=args.interval,
                                  systems=args.systems, strict=args.strict, jobs=getattr(args, "jobs", None))


def run_orbits(args) -> dict:
    """Do the work of ``satnav orbits`` (without printing): write the SP3 file, compare with
    the precise products when asked; returns the results."""
    from .. import pipeline

    check_output_file(args.output)
    check_output_file(args.json)
    options = orbit_options_from_args(args)
    broadcast = pipeline.broadcast_orbits(args.nav, options)
    broadcast.write_sp3(args.output)
    if not args.compare:
        return dict(output=str(args.output), **broadcast.summary())
    comparison = pipeline.compare_orbits(broadcast, args.compare, args.clk or (), options,
                                         antex=args.antex)
    result = dict(output=str(args.output), **comparison.summary())
    result["_comparison"] = comparison.comparison
    return result


# ---------------------------------------------------------------------------- printing
_GROUP_COLUMNS = [("group", "system", "{}"), ("satellites", "sats", "{}"), ("epochs", "pairs", "{}"),
                  ("radial", "R", "{:.3f}"), ("along", "A", "{:.3f}"), ("cross", "C", "{:.3f}"),
                  ("mean_radial_raw", "mean dR raw", "{:+.3f}"),
                  ("rms3d_raw", "3D raw", "{:.3f}"), ("rms3d", "3D PCO", "{:.3f}"),
                  ("rms3d_bias_free", "3D no bias", "{:.3f}"),
                  ("clock", "clock", "{:.3f}"), ("sisre_orbit", "SISRE orb", "{:.3f}"),
                  ("sisre", "SISRE", "{:.3f}")]
_SAT_COLUMNS = [("sat", "sat", "{}")] + [c for c in _GROUP_COLUMNS if c[0] not in
                                         ("group", "satellites")] + [("pco_z", "PCO z", "{:.2f}")]
_MISSING_COLUMNS = [("sat", "sat", "{}"), ("compared_epochs", "compared", "{}"),
                    ("reason", "reason", "{}")]


def _cell(fmt, v):
    if isinstance(v, float) and not np.isfinite(v):
        return "-"
    return fmt.format(v)


def _print_table(title, rows, columns):
    """``rows`` as a table: rich's on a terminal, plain columns otherwise (a pipe or a file:
    the same cells, without loading rich, ~60 ms)."""
    import sys

    try:
        if not sys.stdout.isatty():
            raise ImportError
        from rich.console import Console
        from rich.table import Table
    except (ImportError, AttributeError, ValueError):
        print(f"\n{title}")
        header = [c[1] for c in columns]
        body = [[_cell(c[2], r.get(c[0], float("nan"))) for c in columns] for r in rows]
        widths = [max(len(h), *(len(b[i]) for b in body)) if body else len(h)
                  for i, h in enumerate(header)]
        print("  ".join(h.rjust(w) for h, w in zip(header, widths)))
        for b in body:
            print("  ".join(x.rjust(w) for x, w in zip(b, widths)))
        return
    table = Table(title=title)
    for c in columns:
        table.add_column(c[1], justify="left" if c[0] in ("reason",) else "right")
    for r in rows:
        table.add_row(*[_cell(c[2], r.get(c[0], float("nan"))) for c in columns])
    Console(width=160).print(table)


def cmd_orbits(args) -> int:
    res = run_orbits(args)
    print(f"{res['output']}: SP3-d, {res['epochs']} epochs {res['start']} .. {res['end']} "
          f"every {res['interval_s']:g} s, {res['satellites']} satellites "
          f"({res['broadcast_valid']} valid broadcast states)")
    if "groups" in res:
        print("Broadcast minus precise (m, RMS). R/A/C and SISRE with the nominal PCO applied "
              "to the radial; '3D raw' without it. Clock: after removing the per-epoch "
              f"per-system median; precise clocks from {res['clock_source']}.")
        _print_table("Per system", res["groups"], _GROUP_COLUMNS)
        _print_table("Per satellite", res["satellites_compared"], _SAT_COLUMNS)
        if res["not_compared"]:
            _print_table("Satellites not compared at every epoch", res["not_compared"],
                         _MISSING_COLUMNS)
        n_full = sum(1 for r in res["satellites_compared"])
        print(f"Summary: {res['satellites']} satellites in the navigation files, "
              f"{n_full} compared, {len(res['not_compared'])} listed with a reason; "
              + ", ".join(f"{g['group']} 3D {g['rms3d_raw']:.2f} m raw / {g['rms3d']:.2f} m PCO,"
                          f" SISRE {g['sisre']:.2f} m" for g in res["groups"]))
    elif res["broadcast_missing"]:
        _print_table("Satellites without a valid broadcast state at every epoch",
                     [dict(sat=m["sat"], compared_epochs=m["broadcast_epochs"],
                           reason=m["reason"]) for m in res["broadcast_missing"]],
                     _MISSING_COLUMNS)
    if args.json:
        payload = {k: v for k, v in res.items() if not k.startswith("_")}
        text = json_text(payload, indent=1)  # NaN and infinities as null
        with atomic_output(args.json, "w", encoding="utf-8") as fh:
            fh.write(text)
    return 0
