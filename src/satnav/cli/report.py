"""``satnav report``: an HTML report of a solution file (RTKLIB or satnav ``.pos``).

``satnav report SOLUTION.pos -o report.html`` shows what the file holds (track,
east/north/up, number of satellites). With ``--obs OBS --nav NAV...`` the observations are
re-solved with :func:`satnav.estimators.spp.solve_spp` (elevation mask, systems and
ionosphere option taken from the file's RTKLIB header when present) to add the
per-satellite detail (satellites per system, DOP, sky plots, residuals); the page says so.
"""

from __future__ import annotations

import numpy as np

from ..errors import SatnavError
from ..satellites import SYSTEMS
from .checks import bounded_float, check_output_file
from .progress import add_verbosity

__all__ = ["register", "cmd_report", "solve_options_from_header"]

_SYSTEM_LETTERS = {
    "GPS": "G", "GLONASS": "R", "GALILEO": "E", "QZSS": "J", "BDS": "C", "BEIDOU": "C",
    "COMPASS": "C", "NAVIC": "I", "IRNSS": "I",
}


def solve_options_from_header(header_lines) -> dict:
    """solve_spp keyword arguments from an RTKLIB ``.pos`` header (``% elev mask : 10.0 deg``,
    ``% navi sys  : GPS GLONASS``, ``% ionos opt : Broadcast``); only the ones found."""
    opts: dict = {}
    for line in header_lines:
        body = line.lstrip("%").strip()
        if ":" not in body:
            continue
        key, value = (x.strip() for x in body.split(":", 1))
        if key == "elev mask":
            try:
                opts["elevation_mask_deg"] = float(value.split()[0])
            except (ValueError, IndexError):
                pass
        elif key == "navi sys":
            letters = "".join(dict.fromkeys(_SYSTEM_LETTERS[w.upper()] for w in value.split()
                                            if w.upper() in _SYSTEM_LETTERS))
            if letters:
                opts["systems"] = letters
        elif key == "ionos opt":
            v = value.lower()
            if v.startswith("broadcast"):
                opts["iono"] = "klobuchar"
            elif v.startswith("iono-free"):
                opts["iono"] = "iono-free"
            elif v == "off":
                opts["iono"] = "none"
    return opts


def cmd_report(args) -> int:
    from ..io.solution import read_pos
    from ..report.html import write_report
    from .solve import parse_xyz

    if args.nav and not args.obs:
        raise SatnavError("--nav needs --obs: the observations to re-solve for the per-satellite detail")
    check_output_file(args.output)
    reference = parse_xyz(args.ref, "--ref") if args.ref else None
    pos = read_pos(args.solution, strict=args.strict)
    obs = detail = None
    notes = []
    if args.obs:
        from ..io.rinex_obs import read_rinex_obs

        obs = read_rinex_obs(args.obs, strict=args.strict)
    if args.nav:
        from ..estimators.spp import solve_spp
        from ..io.rinex_nav import read_rinex_nav

        nav = read_rinex_nav(*args.nav, strict=args.strict)
        opts = solve_options_from_header(pos.header)
        if args.systems:
            opts["systems"] = args.systems.upper()
        if args.mask is not None:
            opts["elevation_mask_deg"] = args.mask
        bad = set(opts.get("systems", "")) - set(SYSTEMS)
        if bad:
            raise SatnavError(f"--systems {args.systems!r}: unknown letters {''.join(sorted(bad))}, expected some of {SYSTEMS}")
        from .progress import ProgressBar

        with ProgressBar("re-solving", "epochs", quiet=args.quiet, verbose=args.verbose) as bar:
            detail = solve_spp(obs, nav, progress=bar, **opts)
        shown = ", ".join(f"{k}={v}" for k, v in sorted(opts.items())) or "satnav's defaults"
        notes.append(
            f"Per-satellite detail re-solved by satnav single point positioning from {args.obs} "
            f"and {', '.join(args.nav)} ({shown})."
        )
    elif obs is not None:
        notes.append("Observations given without navigation data: only their header is used (the "
                     "approximate position as reference); give --nav too for the per-satellite detail.")
    path = write_report(pos, args.output, obs=obs, reference_m=reference, title=args.title,
                        detail=detail, notes=notes)
    if not args.quiet:
        extra = f", per-satellite detail from {int(np.sum(detail.solved))} re-solved epochs" if detail else ""
        print(f"{path}: report of {len(pos)} epochs{extra}")
    return 0


_MASK = bounded_float("an elevation mask in degrees", 0.0, 90.0, high_open=True)


def register(subparsers) -> None:
    s = subparsers.add_parser(
        "report", help="self-contained HTML report of a solution (.pos) file",
        description="One HTML file with the track, east/north/up, satellites and, with --obs and "
                    "--nav, DOP, sky plots and residuals from a re-solution of the observations.",
    )
    s.add_argument("solution", metavar="SOLUTION", help="RTKLIB or satnav .pos solution file")
    s.add_argument("--obs", metavar="OBS", help="observation file (reference from its header; re-solved with --nav)")
    s.add_argument("--nav", metavar="NAV", nargs="+", action="extend", help="broadcast navigation files (with --obs)")
    s.add_argument("--ref", metavar="X,Y,Z", help="reference position (ECEF m): errors instead of deviations")
    s.add_argument("--systems", help="systems for the re-solution (default: the file header's, else GRECJI)")
    s.add_argument("--mask", type=_MASK, help="elevation mask for the re-solution, degrees (default: header's, else 10)")
    s.add_argument("--title", help="page title")
    s.add_argument("-o", "--output", required=True, metavar="HTML", help="report file to write")
    s.add_argument("--strict", action="store_true", help="damaged records are errors")
    add_verbosity(s, quiet_help="print nothing but errors")
    s.set_defaults(func=cmd_report, input_args=("solution", "obs", "nav"), output_args=("output",))
