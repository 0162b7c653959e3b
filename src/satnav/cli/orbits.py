"""``satnav orbits``: broadcast-derived SP3 files and broadcast-versus-precise comparisons.

::

    satnav orbits NAV... [--start T] [--end T] [--interval S] -o OUT.sp3
                  [--compare PRECISE.sp3 ...] [--clk PRECISE.clk ...] [--systems GRECJ]
                  [--antex FILE.atx] [--json FILE]

Times are ISO 8601 in GPS time (``2020-06-25T00:00:00``); by default the whole day of
the navigation files (the day holding most messages' reference times) at 15-min steps.
"""

from __future__ import annotations

import json
from collections import Counter

import numpy as np

from ..cli import bounded_float, check_output_file
from ..errors import SatnavError
from ..gnss_time import GPS_EPOCH, NS_PER_DAY, NS_PER_S, format_gpst
from ..satellites import SYSTEMS, satellite_id, satellite_indices, system_of

__all__ = ["register", "cmd_orbits", "parse_gpst", "run_orbits"]


def parse_gpst(text: str) -> int:
    """GPST ns of an ISO 8601 date-time such as ``2020-06-25T00:00:00`` (no time zone)."""
    try:
        t = np.datetime64(text.strip().replace(" ", "T").rstrip("Z"), "ns")
    except ValueError:
        raise SatnavError(f"bad time {text!r}, expected ISO 8601 like 2020-06-25T00:00:00") \
            from None
    return int((t - GPS_EPOCH).astype(np.int64))


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
    s.add_argument("-o", "--output", required=True, metavar="OUT.sp3")
    s.add_argument("--compare", nargs="+", metavar="PRECISE.sp3", default=None,
                   help="precise SP3 file(s), consecutive days are merged")
    s.add_argument("--clk", nargs="+", metavar="PRECISE.clk", default=None,
                   help="precise RINEX clock file(s) (default: the SP3 clocks)")
    s.add_argument("--systems", default=None, metavar="GRECJ",
                   help="system letters to use (default: all in the nav files)")
    s.add_argument("--antex", default=None, metavar="ATX",
                   help="ANTEX file with satellite PCOs (default: nominal table)")
    s.add_argument("--json", default=None, metavar="FILE", help="write the statistics as JSON")
    s.add_argument("--strict", action="store_true", help="damaged records are errors")
    s.set_defaults(func=cmd_orbits)


def _default_day(nav) -> int:
    tocs = np.concatenate([np.asarray(nav.for_system(s)["toc"], dtype=np.int64)
                           for s in nav.messages])
    if tocs.size == 0:
        raise SatnavError("the navigation files hold no ephemeris message")
    days, counts = np.unique(tocs // NS_PER_DAY, return_counts=True)
    return int(days[np.argmax(counts)]) * NS_PER_DAY


def _reason_summary(reasons: np.ndarray) -> str:
    from .states import REASONS

    counts = Counter(int(r) for r in reasons.ravel() if r != 0)
    return ", ".join(f"{REASONS.get(r, r)} x{n}" for r, n in sorted(counts.items()))


#: Most satellite states (epochs x satellites) one ``satnav orbits`` run computes.
_MAX_STATES = 5_000_000


def run_orbits(args) -> dict:
    """Do the work of ``satnav orbits`` (without printing); returns the results."""
    from ..io.rinex_nav import read_rinex_nav
    from ..io.sp3 import write_sp3
    from .ephemeris import broadcast_states

    check_output_file(args.output)
    check_output_file(args.json)
    start_arg = parse_gpst(args.start) if args.start else None
    end_arg = parse_gpst(args.end) if args.end else None
    if start_arg is not None and end_arg is not None and end_arg < start_arg:
        raise SatnavError(f"--end {format_gpst(end_arg)} is before --start {format_gpst(start_arg)}: "
                          "expected an end after the start")
    nav = read_rinex_nav(*args.nav, strict=args.strict)
    systems = args.systems.upper() if args.systems else SYSTEMS
    bad = set(systems) - set(SYSTEMS)
    if bad:
        raise SatnavError(f"unknown system letter(s) {''.join(sorted(bad))}, expected some of "
                          f"{SYSTEMS}")
    sat_ids = [s for s in nav.satellites() if s[0] in systems]
    if not sat_ids:
        raise SatnavError(f"no satellite of systems {systems} in the navigation files")
    sats = satellite_indices(sat_ids)
    if not args.interval > 0:
        raise SatnavError(f"--interval {args.interval:g}: expected a positive epoch spacing in seconds")
    step = int(round(args.interval * NS_PER_S))
    if step < 1:
        raise SatnavError(f"--interval {args.interval:g}: expected at least 1 ns")
    start = start_arg if start_arg is not None else _default_day(nav)
    end = end_arg if end_arg is not None else start + NS_PER_DAY - step
    if end < start:
        raise SatnavError(f"--end {format_gpst(end)} is before --start {format_gpst(start)}: "
                          "expected an end after the start")
    n_epochs = (end - start) // step + 1
    if n_epochs * len(sats) > _MAX_STATES:
        raise SatnavError(
            f"--interval {args.interval:g} s from {format_gpst(start)} to {format_gpst(end)} gives "
            f"{n_epochs} epochs x {len(sats)} satellites, more than {_MAX_STATES} states: expected a "
            "larger --interval or a shorter span"
        )
    nav_first, nav_last = nav.time_span()
    if start > nav_last + NS_PER_DAY or end < nav_first - NS_PER_DAY:
        raise SatnavError(
            f"--start/--end {format_gpst(start)} .. {format_gpst(end)} is more than a day away from "
            f"the navigation messages ({format_gpst(nav_first)} .. {format_gpst(nav_last)}): expected "
            "times the navigation files cover"
        )
    times = np.arange(start, end + 1, step, dtype=np.int64)

    bst = broadcast_states(nav, sats[None, :], times[:, None])
    write_sp3(args.output, times, sats, bst.position_m, bst.clock_s,
              agency="SNV", comment="broadcast-derived orbits and clocks by satnav orbits")
    result = dict(output=str(args.output), start=format_gpst(start), end=format_gpst(end),
                  interval_s=args.interval, epochs=len(times), satellites=len(sats),
                  broadcast_valid=int(bst.valid.sum()))
    missing = []
    for j, s in enumerate(sats):
        n_ok = int(bst.valid[:, j].sum())
        if n_ok < len(times):
            missing.append(dict(sat=satellite_id(int(s)), broadcast_epochs=n_ok,
                                reason=_reason_summary(bst.reason[:, j])))
    result["broadcast_missing"] = missing
    if not args.compare:
        return result

    from ..io.sp3 import read_sp3
    from .compare import compare_states, nominal_pco_z
    from .precise import precise_states

    sp3 = read_sp3(*args.compare)
    clk = None
    if args.clk:
        from ..io.clk import read_clk

        clk = read_clk(*args.clk)
    pst = precise_states(sp3, sats[None, :], times[:, None], clk=clk, require_clock=False)
    antennas = None
    if args.antex:
        from ..io.antex import read_antex_satellites

        antennas = read_antex_satellites(args.antex, strict=args.strict)
    cmp = compare_states(bst, pst, sats, times,
                         pco_z_m=nominal_pco_z(sats, times[len(times) // 2], antennas))
    result["groups_raw"] = cmp.group_rows(pco=False)
    result["groups"] = cmp.group_rows(pco=True)
    result["satellites_compared"] = cmp.satellite_rows(pco=True)

    # every satellite not compared at every epoch, with its reason
    not_compared = []
    for j, s in enumerate(sats):
        both = bst.valid[:, j] & pst.valid[:, j]
        if both.all():
            continue
        why = []
        if not bst.valid[:, j].all():
            why.append("broadcast: " + _reason_summary(bst.reason[:, j]))
        if not pst.valid[:, j].all():
            n = int((~pst.valid[:, j]).sum())
            in_product = int(s) in set(np.asarray(sp3.satellites).tolist())
            why.append(f"precise: {'no data in the product' if not in_product else 'outside span / missing'}"
                       f" x{n}")
        not_compared.append(dict(sat=satellite_id(int(s)), compared_epochs=int(both.sum()),
                                 reason="; ".join(why)))
    # precise satellites of the selected systems that the nav files lack
    nav_set = set(int(s) for s in sats)
    for s in np.asarray(sp3.satellites).tolist():
        if system_of(int(s)) in systems and int(s) not in nav_set:
            not_compared.append(dict(sat=satellite_id(int(s)), compared_epochs=0,
                                     reason="broadcast: no ephemeris in the navigation files"))
    result["not_compared"] = not_compared
    result["clock_source"] = "CLK" if clk is not None else "SP3"
    result["_comparison"] = cmp
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
    try:
        from rich.console import Console
        from rich.table import Table
    except ImportError:
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
        with open(args.json, "w") as fh:
            json.dump(payload, fh, indent=1)
    return 0
