"""``satnav solve``: positions from an observation file and navigation files.

The flags become a :class:`~satnav.options.SolveOptions` (:func:`solve_options_from_args`),
the work is :func:`satnav.pipeline.solve_files` (RINEX 2/3/4, Hatanaka, compressed; Android
GnssLogger logs and GSDC ``device_gnss.csv``; SPP, DGNSS or RTK); this module writes the
solution in the requested format and ends with a summary a person can read at a glance.
"""

from __future__ import annotations

import sys
import time

import numpy as np

from ..errors import SatnavError
from ..options import SolveOptions
from ..satellites import SYSTEM_NAMES, SYSTEMS
from .checks import bounded_float, bounded_int, check_near_surface, check_output_file
from .progress import ProgressBar, add_verbosity
from .terminal import printable

__all__ = ["register", "parse_xyz", "solve_summary", "rtk_summary", "solve_options_from_args"]


def parse_xyz(text: str, option: str = "--ref/--base-pos") -> np.ndarray:
    """``"X,Y,Z"`` (m, ECEF) -> array; raises SatnavError with what was expected: three
    finite numbers, a point near the Earth's surface (:func:`~satnav.cli.checks.check_near_surface`)."""
    try:
        v = np.array([float(t) for t in text.replace(" ", "").split(",")])
    except ValueError:
        v = np.array([])
    if v.shape != (3,) or not np.all(np.isfinite(v)):
        raise SatnavError(f"{option} {text!r}: expected three ECEF coordinates X,Y,Z in metres")
    check_near_surface(v, f"{option} {text}")
    return v


def _parse_signals(text: str | None):
    if not text:
        return None
    out = {}
    for item in text.split(","):
        if ":" not in item:
            raise SatnavError(f"--signals {item!r}: expected SYSTEM:CODE such as G:C1C,E:C1X")
        s, c = item.split(":", 1)
        s = s.strip().upper()
        if s not in SYSTEMS:
            raise SatnavError(f"--signals: unknown system letter {s!r}, expected one of {SYSTEMS}")
        codes = tuple(x for x in c.strip().split("+") if x)
        out[s] = codes[0] if len(codes) == 1 else codes
    return out


def solve_summary(solution, reference_m=None, reference_label: str = "", elapsed_s=None) -> str:
    """Closing summary: epochs solved/total, satellites per system, DOP, errors vs reference."""
    m = len(solution)
    solved = solution.solved
    valid = solution.valid
    lines = [
        f"epochs      {int(solved.sum())} solved / {m} total"
        f" ({int(valid.sum())} passed the integrity test)"
    ]
    unsolved = {}
    for e in np.flatnonzero(~valid):
        r = solution.reason(int(e))
        unsolved[r] = unsolved.get(r, 0) + 1
    for r, n in sorted(unsolved.items(), key=lambda kv: -kv[1]):
        lines.append(f"  {n:6d} epochs: {r}")
    per = []
    for s, n in solution.n_used_by_system.items():
        n = np.asarray(n)[solved]
        if len(n) and n.max() > 0:
            per.append(f"{SYSTEM_NAMES.get(s, s)} {np.mean(n):.1f}")
    if per:
        lines.append("satellites  mean used per epoch: " + ", ".join(per))
    if solved.any():
        lines.append(
            f"DOP         median PDOP {np.nanmedian(solution.pdop[solved]):.2f}, "
            f"HDOP {np.nanmedian(solution.hdop[solved]):.2f}, VDOP {np.nanmedian(solution.vdop[solved]):.2f}"
        )
    if reference_m is not None and valid.any():
        err = solution.errors(reference_m, mask=valid)
        lines.append(
            f"accuracy    vs {reference_label}: horizontal RMS {err['h_rms']:.2f} m, 95% {err['h_95']:.2f} m; "
            f"vertical RMS {err['v_rms']:.2f} m, 95% {err['v_95']:.2f} m ({err['n']} epochs)"
        )
    if elapsed_s is not None:
        lines.append(f"time        {elapsed_s:.2f} s")
    return "\n".join(lines)


#: ``--mode`` (with ``--base``) -> SolveOptions.mode.
_MODES = {"dgnss": "dgnss", "kinematic": "rtk-kinematic", "static": "rtk-static"}


def solve_options_from_args(args) -> SolveOptions:
    """The :class:`~satnav.options.SolveOptions` of ``satnav solve`` arguments, flag by flag.

    ``--ref`` and ``--systems`` are checked here first for the command's own messages."""
    reference = tuple(parse_xyz(args.ref, "--ref")) if args.ref else None
    bad = set(args.systems.upper()) - set(SYSTEMS)
    if bad:
        raise SatnavError(f"--systems {args.systems!r}: unknown letters {''.join(sorted(bad))}, expected some of {SYSTEMS}")
    signals = _parse_signals(args.signals)
    base_position = (tuple(parse_xyz(args.base_pos, "--base-pos")) if args.base_pos
                     else ("spp" if args.base_spp else None))
    return SolveOptions(
        mode=args.mode if args.mode.startswith("ppp-") else (_MODES[args.mode] if args.base else "spp"),
        systems=args.systems,
        exclude=tuple(x.strip() for x in args.exclude.split(",") if x.strip()) if args.exclude else (),
        elevation_mask_deg=args.mask,
        iono=args.iono,
        signals=signals or (),
        weights=args.weights,
        multi_signal=args.multi_signal,
        smoothing_s=args.smooth,
        raim=not args.no_raim,
        reduce_to_marker=args.marker,
        reference_position_m=reference,
        base_position=base_position,
        ratio_threshold=args.ratio,
        fix_and_hold=args.fix_and_hold,
        ppp_ar=args.ppp_ar,
        max_age_s=args.max_age,
        strict=args.strict,
        frequencies=args.frequencies,
        glonass_ar=args.glonass_ar,
        tropo=args.tropo,
        min_lock_s=args.min_lock,
        min_lock_cross_s=args.min_lock_cross,
        success_rate_min=args.success_rate,
        autocal_success_rate_min=args.autocal_success_rate,
        glonass_test_floor_cyc=args.glonass_test_floor,
        fix_test_p=args.fix_test,
        jump_test_p=args.jump_test,
        code_test_p=args.code_test,
        wrong_fix_p=args.wrong_fix_test,
        base_gap_s=args.base_gap,
        half_cycle=None if args.half_cycle is None else args.half_cycle == "on",
        jobs=args.jobs,
    )


def cmd_solve(args) -> int:
    from .. import pipeline

    check_output_file(args.output)
    check_output_file(args.report)
    check_output_file(getattr(args, "ztd", None))
    options = solve_options_from_args(args)
    t0 = time.perf_counter()
    bar = ProgressBar("solving", "epochs", quiet=args.quiet, verbose=args.verbose)
    try:
        # without a report (which shows the observations), SPP reads and solves the file in
        # time chunks and keeps the per-epoch solution only (bounded memory)
        obs = pipeline.read_observations(args.obs, strict=args.strict) if args.report else None
        solution = pipeline.solve_files(args.obs if obs is None else obs, args.nav, options, base=args.base,
                                        progress=bar, per_satellite=bool(args.report))
        bar.stage(f"writing {args.output}")
        if args.output:
            from ..io.solution import format_for_path, write_solution

            pos_format = format_for_path(args.output, args.format) in ("pos", "pos-ecef")
            kwargs = {"unverified": args.unverified} if pos_format else {}
            write_solution(solution, args.output, args.format, **kwargs)
    finally:
        bar.close()
    elapsed = time.perf_counter() - t0

    if options.ppp:
        if args.ztd and str(args.ztd).lower().endswith(".tro"):
            solution.write_ztd_sinex(args.ztd, source=str(args.obs))
        elif args.ztd:
            solution.write_ztd_csv(args.ztd)
        if not args.quiet:
            if args.output:
                print(f"{args.output}: {len(solution)} epochs")
            truth = parse_xyz(args.ref) if args.ref else None
            print(printable(solution.summary(truth)))
            if args.ztd:
                print(f"ZTD         {args.ztd}")
            print(f"time        {elapsed:.2f} s")
        if args.report:
            from ..report import write_report

            truth = parse_xyz(args.ref) if args.ref else None
            print(f"report      {write_report(solution, args.report, obs=obs, reference_m=truth)}")
        return 0 if solution.solved.any() else 1
    if args.base:
        if not args.quiet:
            if args.output:
                print(f"{args.output}: {len(solution)} epochs")
            truth = parse_xyz(args.ref) if args.ref else None
            print(rtk_summary(solution, truth))
            print(f"time        {elapsed:.2f} s")
        return _unsolved_status(solution, args)
    reference, label = None, ""
    if args.ref:
        reference, label = parse_xyz(args.ref), "--ref"
    else:
        header = obs.header if obs is not None else getattr(solution, "observation_header", None)
        approx = getattr(header, "approx_position_m", None)
        if approx is not None and np.linalg.norm(approx) > 6.0e6:
            reference, label = np.asarray(approx, float), "header approximate position"
    if not args.quiet:
        if args.output:
            print(f"{args.output}: {len(solution)} epochs")
        print(printable(solve_summary(solution, reference, label, elapsed)))
        _print_unverified(solution, args)
    if args.truth:
        _print_truth(solution, args.truth)
    if args.report:
        from ..report import write_report

        path = write_report(solution, args.report, obs=obs, reference_m=reference)
        print(f"report      {path}")
    return _unsolved_status(solution, args)


def _print_unverified(solution, args) -> None:
    """Say where the epochs without redundancy for RAIM (e.g. four satellites) went."""
    from ..io.solution import format_for_path, unverified_epochs

    n = int(unverified_epochs(solution).sum())
    if not n or not args.output:
        return
    if format_for_path(args.output, args.format) not in ("pos", "pos-ecef"):
        print(f"unverified  {n} epochs without redundancy for RAIM written as flagged in {args.output}")
    elif args.unverified == "write":
        print(f"unverified  {n} epochs without redundancy for RAIM (e.g. 4 satellites) written as Q=5 "
              f"solutions in {args.output}")
    else:
        print(f"unverified  {n} epochs without redundancy for RAIM (e.g. 4 satellites) written as "
              f"comments in {args.output} (--unverified write: as Q=5 solutions)")


def _unsolved_status(solution, args) -> int:
    """0, or 1 with a closing line on stderr when no epoch at all could be solved (the output
    and the summary, with the reasons, are written all the same)."""
    if len(solution) and np.asarray(solution.solved).any():
        return 0
    if not args.quiet:
        where = "see the reasons above"
    elif args.output:
        where = f"see the reasons in {args.output}"
    else:
        where = "run without -q for the reasons"
    sys.stdout.flush()
    print(f"satnav: no epoch could be solved ({where})", file=sys.stderr)
    return 1


_QUALITY_NAMES = {1: "fixed", 2: "float", 4: "DGNSS", 5: "single point"}


def rtk_summary(solution, truth_m=None) -> str:
    """Closing summary of a relative solution (:meth:`RtkSolution.summary` without its error
    line) and, with a reference position ``truth_m`` (ECEF m), the errors of the epochs that
    mode is about: fixed epochs (float ones when none is fixed) in kinematic and static
    mode, DGNSS epochs (quality 4) in DGNSS mode; in static mode also the final position and
    its east/north/up error."""
    from ..frames import ecef_to_enu
    from ..gnss_time import format_gpst

    lines = [solution.summary(None)]
    quality = np.asarray(solution.quality)
    if solution.mode == "dgnss":
        wanted = (4,)
    else:
        wanted = (1,) if (quality == 1).any() else (2,)
    if truth_m is not None:
        name = _QUALITY_NAMES[wanted[0]]
        e = solution.errors(truth_m, mask=np.isin(quality, wanted))
        if e["n"]:
            lines.append(f"{name}-solution error: H RMS {e['h_rms']:.4f} m, V RMS {e['v_rms']:.4f} m, "
                         f"max 3-D {e['max_3d']:.4f} m over {e['n']} epochs")
        else:
            lines.append(f"{name}-solution error: no {name} epoch to compare with --ref")
    if solution.mode == "static":
        solved = np.flatnonzero(solution.solved)
        if len(solved):
            i = int(solved[-1])
            x = np.asarray(solution.position_m[i], float)
            q = _QUALITY_NAMES.get(int(quality[i]), f"quality {int(quality[i])}")
            lines.append(f"final position {x[0]:.4f} {x[1]:.4f} {x[2]:.4f} m (ECEF, {q}, "
                         f"{format_gpst(int(solution.time_ns[i]))})")
            if truth_m is not None:
                enu = ecef_to_enu(x[None, :], np.asarray(truth_m, float))[0]
                lines.append(f"final position error vs --ref: E {enu[0]:+.4f} N {enu[1]:+.4f} "
                             f"U {enu[2]:+.4f} m, H {np.hypot(enu[0], enu[1]):.4f} m, "
                             f"3-D {np.linalg.norm(enu):.4f} m")
    return "\n".join(lines)


def _print_truth(solution, truth_path):
    from ..evaluation import horizontal_errors_vs_truth

    h = horizontal_errors_vs_truth(solution, truth_path)
    if len(h):
        print(
            f"truth       horizontal error 50% {np.percentile(h, 50):.2f} m, 95% {np.percentile(h, 95):.2f} m "
            f"({len(h)} epochs matched)"
        )


#: Longest ``--smooth`` window (s): one day.
_MAX_SMOOTH_S = 86400.0

#: ``--jobs``: a number of processes, 1 or more.
_JOBS = bounded_int("a number of processes", 1)


#: ``--mask``: an elevation in degrees, 0 <= mask < 90.
_MASK = bounded_float("an elevation mask in degrees", 0.0, 90.0, high_open=True)


def register(subparsers) -> None:
    from ..io.solution import FORMATS

    s = subparsers.add_parser(
        "solve", help="positions from observations and navigation files (SPP, DGNSS, RTK)",
        description="Single point positioning (or relative positioning with --base) of every epoch.",
    )
    s.add_argument("obs", metavar="OBS", help="observation file (RINEX 2/3/4, Hatanaka, Android log)")
    s.add_argument("nav", metavar="NAV", nargs="*", help="broadcast navigation files (RINEX 2/3/4)")
    s.add_argument("-o", "--output", metavar="OUT", help="solution file")
    s.add_argument("--format", choices=sorted(FORMATS), help="output format (default from the file name; .pos)")
    s.add_argument("--systems", default="GRECJI", help="systems to use (default GRECJI)")
    s.add_argument("--exclude", help="satellites or systems to leave out, e.g. R09,C01")
    s.add_argument("--mask", type=_MASK, default=10.0, help="elevation mask, degrees (default 10)")
    s.add_argument(
        "--iono", choices=("klobuchar", "iono-free", "states", "none", "uncombined"), default=None,
        help="ionospheric correction (default klobuchar; for a GSDC device_gnss.csv 'states': "
             "the file's broadcast-model delays; PPP: iono-free (default) or uncombined, with "
             "--frequencies 1 single-frequency PPP with an IONEX map)",
    )
    s.add_argument("--signals", help="code per system, e.g. G:C1C,E:C1X (iono-free: G:C1C+C2W)")
    s.add_argument("--weights", choices=("model", "reported"), default=None,
                   help="measurement weights: the error model (default) or the receiver's reported "
                        "uncertainties with the model as a floor (Android logs)")
    s.add_argument("--multi-signal", action="store_true",
                   help="use every code band tracked (e.g. L1 + L5), one inter-frequency bias per band")
    s.add_argument("--smooth", metavar="SECONDS", type=bounded_float("a smoothing window in seconds", 0.0, _MAX_SMOOTH_S),
                   default=None, help="carrier-smooth the pseudoranges over this window "
                   "(Hatch filter; 0 = raw code; default 0, phones 60)")
    s.add_argument("--no-raim", action="store_true", help="no fault detection and exclusion")
    s.add_argument("--marker", action="store_true", help="reduce to the marker with the header antenna height")
    s.add_argument("--ref", metavar="X,Y,Z", help="reference position (ECEF m) for the accuracy summary")
    s.add_argument("--truth", metavar="CSV", help="ground-truth track (GSDC ground_truth.csv)")
    s.add_argument("--base", metavar="BASE_OBS", help="base station observations (relative positioning)")
    s.add_argument("--base-pos", metavar="X,Y,Z", help="base position (ECEF m); default the base header")
    s.add_argument("--base-spp", action="store_true", help="base position from the mean of its SPP solutions")
    s.add_argument("--mode", choices=("dgnss", "kinematic", "static", "ppp-static", "ppp-kinematic"),
                   default="kinematic",
                   help="with --base: dgnss, kinematic (default) or static RTK; without: ppp-static or "
                        "ppp-kinematic precise point positioning (NAV... are then the precise products: SP3, "
                        "CLK, ANTEX/NGS, bias SINEX, BLQ, told by content)")
    s.add_argument("--ztd", metavar="FILE", help="PPP: write the zenith total delays and gradients: SINEX_TRO 2.00 "
                                                 "for a name ending in .tro, else CSV")
    s.add_argument("--tropo", choices=("gmf", "niell"), default="gmf",
                   help="PPP troposphere: gmf = GPT pressure + Global Mapping Function (default), "
                        "niell = standard atmosphere + Niell mapping")
    s.add_argument("--fix-and-hold", action="store_true", help="RTK (and PPP with --ppp-ar): hold fixed ambiguities")
    s.add_argument("--ratio", type=bounded_float("a ratio-test threshold", 1.0), default=3.0,
                   help="RTK and PPP-AR: ratio-test threshold (default 3)")
    s.add_argument("--ppp-ar", action="store_true",
                   help="PPP: integer ambiguity resolution (wide-lane, narrow-lane; GPS + Galileo) with integer-clock "
                        "products and their phase biases (GRG, CODE OSB); float where not possible")
    s.add_argument("--max-age", type=bounded_float("a time difference in seconds", 0.0, low_open=True),
                   default=30.0, metavar="S",
                   help="largest base-rover time difference (s, default 30; receiver time tags may "
                   "differ by a few ms more)")
    s.add_argument("--frequencies", type=int, choices=(1, 2, 3), default=2,
                   help="RTK: 1 = L1, 2 = L1 + L2 (default), 3 = L1 + L2 + L5; PPP with --iono uncombined: 1 = "
                        "single frequency (needs an IONEX file)")
    s.add_argument("--glonass-ar", choices=("auto", "off", "on", "autocal"), default="auto",
                   help="RTK: GLONASS ambiguities fixed as 'on' when both headers name the same "
                   "receiver type, else as 'autocal' (auto, default); float (off); fixed for "
                   "same-brand receivers only (on; a mixed pair can then give wrong fixes); fixed "
                   "with an estimated inter-frequency bias (autocal: mixed pairs)")
    prob = bounded_float("a probability", 0.0, 1.0)
    secs = bounded_float("a time in seconds", 0.0)
    s.add_argument("--min-lock", type=secs, metavar="S",
                   help="RTK: least lock time (s) of an ambiguity before it is fixed (default: "
                        "60 single frequency, 0 dual)")
    s.add_argument("--min-lock-cross", type=secs, metavar="S",
                   help="RTK: least lock time (s) of the ambiguities of a fix whose GLONASS "
                        "integers are confirmed by the other systems' (--glonass-ar on; default 0)")
    s.add_argument("--success-rate", type=prob,
                   help="RTK: least bootstrapped success rate of a fix (default: 0.99 single "
                        "frequency, 0.3 dual)")
    s.add_argument("--autocal-success-rate", type=prob, metavar="P",
                   help="RTK: least success rate of the GLONASS integers given the other systems' "
                        "(--glonass-ar autocal; default 0.3)")
    s.add_argument("--glonass-test-floor", type=bounded_float("a sigma in cycles", 0.0), metavar="CYC",
                   help="RTK: sigma (cycles) of unmodelled phase multipath added to each GLONASS "
                        "double difference when its integers are tested against the other "
                        "systems' (default 0.03)")
    s.add_argument("--fix-test", type=prob, metavar="P",
                   help="RTK: chi-square quantile of the float-to-fixed residual test (1 = off)")
    s.add_argument("--jump-test", type=prob, metavar="P",
                   help="RTK: chi-square quantile of the fixed-to-float baseline jump test (1 = off)")
    s.add_argument("--code-test", type=prob, metavar="P",
                   help="RTK: chi-square quantile of the code residuals at the fixed position (1 = off)")
    s.add_argument("--wrong-fix-test", type=prob, metavar="P",
                   help="RTK: chi-square quantile of the phase residuals after a fix (1 = off)")
    s.add_argument("--base-gap", type=secs, metavar="S",
                   help="RTK: base age (s) beyond which every ambiguity's lock restarts")
    s.add_argument("--half-cycle", choices=("on", "off"),
                   help="RTK: respect half-cycle flags (LLI bit 1; default on)")
    s.add_argument("--unverified", choices=("comment", "write"), default="comment",
                   help=".pos output: epochs without redundancy for RAIM (e.g. 4 satellites) as "
                        "flagged comment lines (default: a fault cannot be detected) or as Q=5 "
                        "solutions, as RTKLIB writes them (write)")
    s.add_argument("--report", metavar="HTML", help="also write an HTML report")
    s.add_argument("--strict", action="store_true", help="damaged records are errors")
    s.add_argument("--jobs", metavar="N", type=_JOBS, default=None,
                   help="processes for single point positioning (epochs are independent; default: "
                        "every core); RTK and carrier smoothing run in one")
    add_verbosity(s)
    s.set_defaults(func=cmd_solve, input_args=("obs", "nav", "base", "truth"),
                   output_args=("output", "report", "ztd"))
