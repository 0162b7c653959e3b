"""``satnav odts``: run the control segment of a designed system.

::

    satnav odts [SCENARIO.toml] -o DIR [--json] [--interval S] [--evaluation-hours H]
                [--stations XIAN,LHAS,...] [--outage STATION:START_H:END_H]
                [--fault SAT:clock_jump|clock_ramp|manoeuvre:TIME_H:SIZE]

Without a scenario the built-in one (the example regional system and its eight monitoring
stations, ``constellation/specs/regional_control.toml``). The work is
:func:`satnav.constellation.control.scenario.run_odts`; this module parses and prints.
"""

from __future__ import annotations

import sys
from dataclasses import replace

from .checks import bounded_float, check_output_dir
from .terminal import json_text

__all__ = ["register", "cmd_odts"]

HELP = "control segment: monitoring, orbit determination and time sync, broadcast, SISRE"


def register(subparsers) -> None:
    """Add the ``odts`` subcommand to satnav's argument parser."""
    s = subparsers.add_parser(
        "odts", help=HELP,
        description="Simulate a designed system's control segment: a truth world (precise "
        "dynamics, clocks, troposphere, noise) observed by its monitoring network, batch "
        "orbit determination and time synchronisation over sliding arcs, predictions, "
        "broadcast messages at an upload cadence, integrity monitoring of injected faults; "
        "reports SISRE per satellite and by age of data against the truth.",
    )
    s.add_argument("scenario", nargs="?", default=None, metavar="SCENARIO",
                   help="control scenario TOML (default: the built-in regional one)")
    s.add_argument("-o", "--output", required=True, metavar="DIR", help="output directory")
    s.add_argument("--json", action="store_true", help="print the report as JSON")
    s.add_argument("--interval", type=bounded_float("a data interval in seconds", 1.0, 900.0),
                   default=None, metavar="S", help="monitoring data interval (s)")
    s.add_argument("--evaluation-hours", type=bounded_float("a number of hours", 1.0, 72.0),
                   default=None, metavar="H", help="hours of broadcast evaluated after the first arc")
    s.add_argument("--stations", default=None, metavar="A,B,...",
                   help="use only these monitoring stations (the master must be one)")
    s.add_argument("--outage", action="append", default=[], metavar="STATION:START_H:END_H",
                   help="a station outage (hours from the start); repeatable")
    s.add_argument("--fault", action="append", default=[], metavar="SAT:KIND:TIME_H:SIZE_M",
                   help="inject a fault: clock_jump (m), clock_ramp (m/h) or manoeuvre (m/s along-track); repeatable")
    s.set_defaults(func=cmd_odts, input_args=("scenario",), output_args=())


def cmd_odts(args) -> int:
    from ..constellation.control.network import MonitoringNetwork, Outage
    from ..constellation.control.scenario import load_control_scenario, run_odts
    from ..constellation.control.truth import FaultSpec
    from ..errors import SatnavError

    check_output_dir(args.output)
    scenario = load_control_scenario(args.scenario)
    if args.interval is not None:
        scenario = replace(scenario, interval_s=args.interval)
    if args.evaluation_hours is not None:
        scenario = replace(scenario, evaluation_hours=args.evaluation_hours)
    network = scenario.network
    if args.stations:
        names = [s.strip().upper() for s in args.stations.split(",") if s.strip()]
        unknown = [n for n in names if n not in network.names]
        if unknown:
            raise SatnavError(f"--stations: no station {unknown[0]}, expected some of {', '.join(network.names)}")
        network = network.subset(names)
    outages = list(network.outages)
    for text in args.outage:
        try:
            name, a, b = text.split(":")
            outages.append(Outage(name.upper(), float(a), float(b)))
        except ValueError:
            raise SatnavError(f"--outage {text!r}: expected STATION:START_H:END_H") from None
    network = MonitoringNetwork(network.stations, network.mask_deg, network.tracked, tuple(outages))
    faults = list(scenario.faults)
    for text in args.fault:
        try:
            sat, kind, t, size = text.split(":")
            faults.append(FaultSpec(sat.upper(), kind, float(t), float(size)))
        except ValueError:
            raise SatnavError(f"--fault {text!r}: expected SAT:KIND:TIME_H:SIZE_M") from None
        if kind not in ("clock_jump", "clock_ramp", "manoeuvre"):
            raise SatnavError(f"--fault {text!r}: kind {kind!r}, expected clock_jump, clock_ramp or manoeuvre")
    scenario = replace(scenario, network=network, faults=tuple(faults))

    def progress(msg):
        if not args.json:
            print(msg, flush=True)
        else:
            print(msg, file=sys.stderr, flush=True)

    report = run_odts(scenario, args.output, progress=progress)
    if args.json:
        print(json_text(report, indent=2))
        return 0
    print(f"{'sat':4} {'orbit RMS (m)':>14} {'clock RMS (m)':>14} {'SISRE RMS (m)':>14}")
    for row in report["satellites"]:
        cells = [("-" if row[k] is None else f"{row[k]:.3f}") for k in ("orbit_rms_m", "clock_rms_m", "sisre_rms_m")]
        print(f"{row['satellite']:4} {cells[0]:>14} {cells[1]:>14} {cells[2]:>14}")
    print(f"SISRE RMS, all satellites: {report['sisre_rms_m']:.3f} m")
    for f in report.get("faults", []):
        tta = "not detected" if f["time_to_alarm_s"] is None else f"time to alarm {f['time_to_alarm_s']:.0f} s"
        print(f"fault {f['kind']} {f['satellite']} at {f['time_h']:.2f} h: {tta}, "
              f"{'flagged' if f['flagged_in_next_message'] else 'not flagged'} in the next message")
    for path in report.get("outputs", []):
        print(path)
    return 0
