"""``satnav plan``, ``satnav sim`` and ``satnav evaluate``: the system segment commands.

* ``satnav plan`` - visibility, DOPs and skyplot at a site (``--site LAT,LON,H`` or
  ``--site-ecef X,Y,Z``) or coverage maps over a region (``--region LAT0,LAT1,LON0,LON1
  --grid DEG``), from real navigation files (``--nav``) and/or designed constellations
  (``--constellation``); writes CSV + PNG into ``-o DIR``.
* ``satnav sim SPEC -o DIR`` - design -> broadcast -> simulate a scenario (TOML file or
  built-in name) and write RINEX observation/navigation files and the truth.
* ``satnav evaluate DIR`` - solve a simulation directory per constellation combination and
  print the service table.
"""

from __future__ import annotations

import datetime as _dt
import time
from pathlib import Path

import numpy as np

from ..errors import SatnavError
from ..gnss_time import NS_PER_S, calendar_to_ns, format_gpst
from .checks import (
    bounded_float,
    bounded_int,
    check_near_surface,
    check_output_dir,
    check_output_file,
    check_site,
    check_systems,
)
from .progress import ProgressBar, add_verbosity

__all__ = ["register", "cmd_plan", "cmd_sim", "cmd_evaluate"]


def _floats(text: str, count: int, what: str) -> list[float]:
    try:
        values = [float(v) for v in str(text).replace(" ", "").split(",") if v != ""]
    except ValueError:
        values = []
    if len(values) != count:
        raise SatnavError(f"bad {what} {text!r}, expected {count} comma-separated numbers")
    return values


def _parse_time(text: str) -> int:
    try:
        d = _dt.datetime.fromisoformat(str(text).strip().removesuffix("GPST").strip())
    except ValueError:
        raise SatnavError(f"bad time {text!r}, expected GPST like 2020-06-25T00:00:00") from None
    if not 1980 <= d.year <= 2200:
        raise SatnavError(f"time {text!r} is out of range, expected a year 1980..2200")
    return int(calendar_to_ns(d.year, d.month, d.day, d.hour, d.minute, d.second + d.microsecond * 1e-6))


def _sources(args):
    from ..constellation.design import load_constellation

    sources = []
    if args.nav:
        from ..io.rinex_nav import read_rinex_nav

        for p in args.nav:
            if not Path(p).exists():
                raise SatnavError(f"{p}: no such navigation file")
        sources.append(read_rinex_nav(*args.nav))
    for c in args.constellation or ():
        sources.append(load_constellation(c))
    if not sources:
        raise SatnavError("plan needs --nav FILES and/or --constellation NAME_OR_TOML")
    return sources


def _time_span(args, sources) -> tuple[int, int]:
    from ..constellation.design import Constellation

    day = 86400 * NS_PER_S
    if args.start:
        start = _parse_time(args.start)
    else:
        navs = [s for s in sources if not isinstance(s, Constellation)]
        if navs:
            lo, hi = navs[0].time_span()
            mid = (int(lo) + int(hi)) // 2
            start = mid - mid % day  # the day the messages are centred on
        else:
            start = next(s for s in sources if isinstance(s, Constellation)).epoch_ns
    end = _parse_time(args.end) if args.end else start + day - int(args.step * NS_PER_S)
    if end < start:
        raise SatnavError(
            f"--end {format_gpst(end)} is before --start {format_gpst(start)}: expected an end after the start"
        )
    return start, end


#: A designed constellation whose epoch is further than this from the plan's start is carried
#: to the start by its mean rates (:func:`satnav.constellation.propagate.carried_to`) instead
#: of being integrated all the way (a minute per month of integration).
CARRY_AFTER_DAYS = 3.0


def _carried(sources, start: int, say) -> list:
    from ..constellation.design import Constellation
    from ..constellation.propagate import carried_to

    out = []
    for s in sources:
        if isinstance(s, Constellation) and abs(start - s.epoch_ns) > CARRY_AFTER_DAYS * 86400 * NS_PER_S:
            days = (start - s.epoch_ns) / (86400 * NS_PER_S)
            say(f"{s.name}: start {days:+.0f} days from its epoch {format_gpst(s.epoch_ns)}: carried there by its "
                "mean rates fitted to 2 days of its propagation (positions to tens-hundreds of km: fine for visibility and DOP)")
            s = carried_to(s, start)
        out.append(s)
    return out


def _parse_region(text: str) -> tuple[float, float, float, float]:
    """``LAT0,LAT1,LON0,LON1`` (deg) with -90 <= lat0 < lat1 <= 90 and lon0 < lon1 at most
    360 deg apart; SatnavError saying what was expected otherwise."""
    lat0, lat1, lon0, lon1 = _floats(text, 4, "--region LAT0,LAT1,LON0,LON1")
    if not all(np.isfinite([lat0, lat1, lon0, lon1])):
        raise SatnavError(f"--region {text!r}: expected finite numbers LAT0,LAT1,LON0,LON1 (deg)")
    if not (-90.0 <= lat0 < lat1 <= 90.0):
        raise SatnavError(
            f"--region {text!r}: latitudes {lat0:g}..{lat1:g}, expected -90 <= LAT0 < LAT1 <= 90"
        )
    if not (lon0 < lon1 <= lon0 + 360.0) or not (-360.0 <= lon0 and lon1 <= 360.0):
        raise SatnavError(
            f"--region {text!r}: longitudes {lon0:g}..{lon1:g}, expected LON0 < LON1 (deg, "
            "at most 360 apart)"
        )
    return lat0, lat1, lon0, lon1


def _say(args):
    """``print`` unless ``--quiet``."""

    def say(*parts) -> None:
        if not args.quiet:
            print(*parts, flush=True)

    return say


def cmd_plan(args) -> int:
    from ..constellation import coverage
    from ..frames import geodetic_to_ecef

    t0 = time.perf_counter()
    say = _say(args)

    region = _parse_region(args.region) if args.region else None
    if region:
        coverage.check_grid(region[:2], region[2:], args.grid)
    systems = check_systems(args.systems)
    check_output_dir(args.output)
    sources = _sources(args)
    start, end = _time_span(args, sources)
    sources = _carried(sources, start, say)
    source = sources[0] if len(sources) == 1 else sources
    if (end - start) / (args.step * NS_PER_S) > _MAX_EPOCHS:
        raise SatnavError(
            f"--step {args.step:g} s over {(end - start) / NS_PER_S:g} s gives more than {_MAX_EPOCHS} "
            "epochs: expected a larger --step or a shorter span"
        )
    if args.ground_tracks:
        check_output_file(args.ground_tracks)
        if Path(args.ground_tracks).suffix.lower() not in (".png", ".svg", ".pdf"):
            raise SatnavError(f"--ground-tracks {args.ground_tracks}: expected an image file name ending "
                              ".png, .svg or .pdf")
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    cov = None
    if region:
        lat0, lat1, lon0, lon1 = region
        step = args.step if args.step_given else 900.0
        with ProgressBar("coverage grid", "points", quiet=args.quiet, verbose=args.verbose) as bar:
            cov = coverage.plan_region(
                source, (lat0, lat1), (lon0, lon1), args.grid, start, end, step, args.mask,
                pdop_threshold=args.pdop, systems=systems, progress=bar,
            )  # fmt: skip
        csv_path, png_path = out / "region.csv", out / "region.png"
        coverage.write_region_csv(cov, csv_path)
        coverage.plot_region(cov, png_path)
        best = np.unravel_index(np.nanargmax(cov.mean_visible), cov.mean_visible.shape)
        say(
            f"region {lat0:g}..{lat1:g} N, {lon0:g}..{lon1:g} E, grid {args.grid:g} deg, "
            f"{len(cov.times_ns)} epochs from {format_gpst(start)}: mean visible "
            f"{np.nanmin(cov.mean_visible):.1f}-{np.nanmax(cov.mean_visible):.1f} (best at "
            f"{cov.lat_deg[best[0]]:g} N {cov.lon_deg[best[1]]:g} E), availability (PDOP <= "
            f"{args.pdop:g}) {100 * np.nanmin(cov.availability):.0f}-{100 * np.nanmax(cov.availability):.0f} %; "
            f"{cov.mean_visible.size} grid points in {time.perf_counter() - t0:.1f} s"
        )
    elif args.site_ecef or args.site or not args.ground_tracks:
        if args.site_ecef:
            site = np.array(_floats(args.site_ecef, 3, "--site-ecef"))
            check_near_surface(site, f"--site-ecef {args.site_ecef}")
        elif args.site:
            lat, lon, h = _floats(args.site, 3, "--site")
            check_site(lat, lon, h, "--site")
            site = geodetic_to_ecef(np.radians(lat), np.radians(lon), h)
        else:
            raise SatnavError("plan needs --site LAT,LON,H, --site-ecef X,Y,Z, --region or --ground-tracks")
        step = args.step if args.step_given else 300.0
        cov = coverage.plan_site(source, site, start, end, step, args.mask, systems=systems)
        csv_path, png_path = out / "site.csv", out / "site.png"
        coverage.write_site_csv(cov, csv_path)
        coverage.plot_site(cov, png_path)
        parts = [
            f"{k} {np.mean(v):.1f}" for k, v in cov.counts.items() if k != "all"
        ]
        pdop = cov.dop.get("PDOP", np.array([np.nan]))
        say(
            f"site {format_gpst(start)} .. {format_gpst(end)}, {len(cov.times_ns)} epochs, mask "
            f"{args.mask:g} deg: mean visible {np.mean(cov.counts['all']):.1f} ({', '.join(parts)}), "
            f"PDOP median {np.nanmedian(pdop):.2f}"
        )
    if cov is not None:
        say(f"wrote {csv_path}")
        say(f"wrote {png_path}")
    if args.ground_tracks:
        _plot_ground_tracks(args, source, start, end, systems, say)
    return 0


def _plot_ground_tracks(args, source, start: int, end: int, systems, say) -> None:
    """``--ground-tracks FILE``: the world map of the sub-satellite points over the span."""
    from ..constellation.ground_tracks import ground_tracks, plot_ground_tracks
    from ..frames import ecef_to_geodetic

    step = args.step if args.step_given else 120.0
    tracks = ground_tracks(source, start, end, step, systems=systems)
    sites = []
    if args.site:
        lat, lon, _ = _floats(args.site, 3, "--site")
        sites.append(("site", lat, lon))
    elif args.site_ecef:
        lat, lon, _ = ecef_to_geodetic(np.array(_floats(args.site_ecef, 3, "--site-ecef")))
        sites.append(("site", float(np.degrees(lat)), float(np.degrees(lon))))
    plot_ground_tracks(tracks, args.ground_tracks, sites=sites, central_lon_deg=args.map_center)
    counts = ", ".join(f"{name} {int(np.sum(tracks.system_name == name))}"
                       for name in dict.fromkeys(tracks.system_name.tolist()))
    say(f"ground tracks of {len(tracks.sat)} satellites ({counts}), {len(tracks.times_ns)} epochs "
        f"from {format_gpst(start)}")
    say(f"wrote {args.ground_tracks}")


#: Most epochs a ``plan`` run computes (one day at 1 s is 86400).
_MAX_EPOCHS = 1_000_000


def cmd_sim(args) -> int:
    from ..constellation.simulate import load_scenario, run_scenario

    check_output_dir(args.output)
    scenario = load_scenario(args.spec)
    if args.duration is not None:
        scenario.duration_h = args.duration
    if args.interval is not None:
        scenario.interval_s = args.interval
    if args.site:
        scenario.site = tuple(_floats(args.site, 3, "--site"))
        check_site(*scenario.site, "--site")
        scenario.trajectory = None
    if args.trajectory:
        scenario.trajectory = args.trajectory
    if args.seed is not None:
        scenario.seed = args.seed
    if args.noise_free:
        scenario.noise_free = True
    if args.precise_products:
        if scenario.noise_free:
            raise SatnavError("--precise-products needs the simulated truth orbits and biases; not with --noise-free")
        scenario.errors = {**scenario.errors, "precise": True, "signal_biases": True, "satellite_antennas": True}
    if args.start:
        scenario.start = args.start
    if args.mask is not None:
        scenario.mask_deg = args.mask
    n_epochs = float(scenario.duration_h) * 3600.0 / float(scenario.interval_s)
    if not 0 < n_epochs <= _MAX_EPOCHS:
        raise SatnavError(
            f"a duration of {scenario.duration_h:g} h at {scenario.interval_s:g} s epochs gives "
            f"{n_epochs:.0f} epochs, expected 1 to {_MAX_EPOCHS} (--duration, --interval)"
        )
    say = _say(args)
    with ProgressBar("simulating", "stages", quiet=args.quiet, verbose=args.verbose) as bar:
        sim, paths = run_scenario(scenario, args.output, progress=bar)
    vis = sim.visible.sum(axis=1)
    say(
        f"simulated {len(sim.times_ns)} epochs of {len(sim.constellation)} satellites "
        f"({', '.join(dict.fromkeys(sim.constellation.system_name))}), {vis.mean():.1f} visible "
        f"on average, {len(sim.obs)} observations in {bar.elapsed_s:.1f} s"
    )
    if sim.broadcast is not None:
        say(f"broadcast fit residual RMS max {np.max(sim.broadcast.rms_m):.3f} m")
    for role in ("obs", "nav", "truth", "manifest"):
        say(f"wrote {paths[role]}")
    if args.precise_products:
        from pathlib import Path

        from ..constellation.precise_products import write_precise_products

        for role, path in write_precise_products(sim, Path(args.output) / "products").items():
            say(f"wrote {path} ({role})")
    return 0


def cmd_evaluate(args) -> int:
    from ..constellation.evaluate import evaluate_directory, format_table

    check_output_file(args.json)
    with ProgressBar("evaluating", "epochs", quiet=args.quiet, verbose=args.verbose) as bar:
        rows = evaluate_directory(args.directory, pdop_limit=args.pdop, progress=bar)
    print(format_table(rows, rich=None if not args.plain else False))
    if not args.quiet:
        print(f"{len(rows)} combinations evaluated in {bar.elapsed_s:.1f} s")
    if args.json:

        from ..io.atomic import atomic_output
        from .terminal import json_text

        text = json_text([r.as_dict() for r in rows], indent=2) + "\n"
        with atomic_output(args.json, "w", encoding="utf-8") as fh:
            fh.write(text)
        if not args.quiet:
            print(f"wrote {args.json}")
    return 0


_MASK = bounded_float("an elevation mask in degrees", 0.0, 90.0, high_open=True)
_POSITIVE_S = bounded_float("a time step in seconds", 0.0, low_open=True)
_POSITIVE_DEG = bounded_float("a grid step in degrees", 0.0, 90.0, low_open=True)
_PDOP = bounded_float("a PDOP threshold", 0.0, low_open=True)


def register(subparsers) -> None:
    """Add ``plan``, ``sim`` and ``evaluate`` to the ``satnav`` command."""
    import argparse

    class StepGiven(argparse.Action):
        def __call__(self, parser, namespace, values, option_string=None):
            setattr(namespace, self.dest, values)
            namespace.step_given = True

    s = subparsers.add_parser("plan", help="visibility, DOPs and coverage maps (CSV + PNG)")
    s.add_argument("--site", metavar="LAT,LON,H", help="site: latitude, longitude (deg), height (m)")
    s.add_argument("--site-ecef", metavar="X,Y,Z", help="site as ECEF metres")
    s.add_argument("--region", metavar="LAT0,LAT1,LON0,LON1", help="region box (deg)")
    s.add_argument("--grid", type=_POSITIVE_DEG, default=5.0, metavar="DEG", help="region grid step (deg, default 5)")
    s.add_argument("--nav", nargs="+", action="extend", metavar="FILE", help="RINEX navigation files")
    s.add_argument("--constellation", nargs="+", action="extend", metavar="NAME_OR_TOML",
                   help="designed constellations: gps glonass galileo beidou3 regional or spec files")  # fmt: skip
    s.add_argument("--start", metavar="TIME", help="GPST start, e.g. 2020-06-25T00:00:00")
    s.add_argument("--end", metavar="TIME", help="GPST end (default start + 1 day)")
    s.add_argument("--step", type=_POSITIVE_S, default=300.0, action=StepGiven,
                   help="time step (s; default 300 for a site, 900 for a region)")  # fmt: skip
    s.add_argument("--mask", type=_MASK, default=10.0, help="elevation mask (deg, default 10)")
    s.add_argument("--pdop", type=_PDOP, default=6.0, help="PDOP threshold of availability (default 6)")
    s.add_argument("--systems", help="system letters to use (default all)")
    s.add_argument("--ground-tracks", metavar="PNG",
                   help="also (or only) a world map of the satellites' ground tracks over the span")
    s.add_argument("--map-center", type=bounded_float("a longitude in degrees", -180.0, 180.0), default=0.0,
                   metavar="LON", help="central meridian of the ground-track map (deg, default 0)")
    s.add_argument("-o", "--output", default=".", metavar="DIR", help="output directory")
    add_verbosity(s)
    s.set_defaults(func=cmd_plan, step_given=False, input_args=("nav", "constellation"),
                   output_args=("ground_tracks",))

    s = subparsers.add_parser("sim", help="simulate observations of designed constellations (RINEX)")
    s.add_argument("spec", metavar="SPEC", help="scenario TOML, constellation spec, or built-in name (demo, glonass,regional...)")  # fmt: skip
    s.add_argument("-o", "--output", required=True, metavar="DIR",
                   help="directory for the RINEX observation, navigation and truth files")
    s.add_argument("--duration", type=bounded_float("a duration in hours", 0.0, low_open=True),
                   metavar="HOURS", help="duration (h)")
    s.add_argument("--interval", type=_POSITIVE_S, metavar="S", help="epoch interval (s)")
    s.add_argument("--site", metavar="LAT,LON,H", help="static site (deg, deg, m)")
    s.add_argument("--trajectory", metavar="CSV", help="trajectory CSV: time, lat, lon, height")
    s.add_argument("--start", metavar="TIME", help="GPST start")
    s.add_argument("--mask", type=_MASK, help="elevation mask (deg)")
    s.add_argument("--seed", type=bounded_int("a random seed", 0), help="random seed (>= 0)")
    s.add_argument("--noise-free", action="store_true", help="no random errors; models exact")
    s.add_argument("--precise-products", action="store_true",
                   help="simulate what PPP models (tides, wind-up, Shapiro, GMF troposphere, satellite antenna "
                        "offsets) with code and phase biases, and write the truth as an analysis centre's SP3, clock, OSB bias SINEX and ANTEX "
                        "into DIR/products (for satnav solve --mode ppp-... --ppp-ar)")
    add_verbosity(s)
    s.set_defaults(func=cmd_sim, input_args=("spec", "trajectory"))

    s = subparsers.add_parser("evaluate", help="solve a simulation and print the service table")
    s.add_argument("directory", metavar="DIR", help="a directory written by satnav sim")
    s.add_argument("--pdop", type=_PDOP, default=6.0, help="PDOP limit of availability")
    s.add_argument("--plain", action="store_true", help="plain-text table even if rich is installed")
    s.add_argument("--json", metavar="FILE", help="also write the rows as JSON")
    add_verbosity(s, quiet_help="no progress bar; the table only")
    s.set_defaults(func=cmd_evaluate, input_args=("directory",), output_args=("json",))
