"""``satnav fit``: fit the precise orbit dynamics to SP3 files and predict.

::

    satnav fit SP3... [--predict-hours H] [--systems GRE] [--satellites G05,E11]
               [--srp ecomc|ecom1|ecom2|ecom5] [--degree 12] [--json]

The first ``24 h - H`` of the (merged) SP3 files are fitted (initial state and SRP parameters
per satellite, :func:`satnav.dynamics.orbit_fit.fit_sp3`), the last ``H`` hours predicted;
prints the 3-D RMS of the fit and of the prediction per satellite.
"""

from __future__ import annotations

from .checks import bounded_float
from .terminal import json_text

__all__ = ["register", "cmd_fit"]

HELP = "fit the orbit dynamics (gravity, Sun/Moon, SRP) to SP3 orbits; predict"


def register(subparsers) -> None:
    """Add the ``fit`` subcommand to satnav's argument parser."""
    from ..dynamics.forces import SRP_MODELS

    s = subparsers.add_parser(
        "fit", help=HELP,
        description="Least-squares fit of satnav's orbit dynamics (EGM96 12x12 with solid tides, "
        "Sun and Moon, ECOM solar radiation pressure with eclipses, relativity; IERS 2010 "
        "frames) to the positions of precise SP3 files: per satellite the 3-D RMS of the fit "
        "over the first 24 h - H and of the prediction over the last H hours.",
    )
    s.add_argument("sp3", nargs="+", metavar="SP3", help="precise orbit file(s); consecutive days are merged")
    s.add_argument("--predict-hours", type=bounded_float("a number of hours", 0.0, 23.0), default=0.0,
                   metavar="H", help="hours at the end of the 24 h arc to predict (default 0)")
    s.add_argument("--systems", default=None, metavar="GRE", help="system letters (default: all)")
    s.add_argument("--satellites", default=None, metavar="G05,E11", help="only these satellites")
    s.add_argument("--srp", default=None, choices=[m for m in SRP_MODELS if m != "none"],
                   help="solar radiation pressure parameters (default ecomc: ECOM1 + ECOM2 terms)")
    s.add_argument("--arc-hours", type=bounded_float("a number of hours", 1.0, 72.0), default=24.0,
                   metavar="HOURS", help="arc length from the first epoch (default 24)")
    s.add_argument("--json", action="store_true", help="print a JSON list, one object per satellite")
    s.add_argument("--strict", action="store_true", help="damaged records are errors")
    s.set_defaults(func=cmd_fit, input_args=("sp3",))


def cmd_fit(args) -> int:
    from ..dynamics.orbit_fit import fit_sp3
    from ..io.sp3 import read_sp3

    sp3 = read_sp3(*args.sp3, strict=args.strict)
    satellites = None
    if args.satellites:
        satellites = [s.strip().upper() for s in args.satellites.split(",") if s.strip()]
    results = fit_sp3(sp3, predict_hours=args.predict_hours, systems=args.systems,
                      satellites=satellites, arc_hours=args.arc_hours, srp=args.srp)
    rows = [r.to_dict() for r in results]
    if args.json:
        print(json_text(rows, indent=2))
        return 0
    print(f"{'sat':4} {'fit RMS (m)':>12} {'prediction RMS (m)':>19} {'epochs':>7}")
    for r in results:
        pred = "-" if r.prediction_rms_m is None else f"{r.prediction_rms_m:.3f}"
        print(f"{r.satellite:4} {r.fit_rms_m:12.4f} {pred:>19} {r.fit_epochs:7d}")
    return 0
