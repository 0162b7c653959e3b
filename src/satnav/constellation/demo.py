"""``satnav demo``: the system-segment job on an embedded default, no downloads.

One hour (30 s epochs, from 2020-06-25 02:00 GPST) of the built-in GPS, GLONASS, Galileo and
BeiDou-3 constellations plus the example regional system (3 GEO + 4 IGSO centred on 100 deg E)
at a site in the regional system's service area (25 N, 100 E, 2000 m):
design -> broadcast navigation messages -> simulated RINEX 3.05 observations -> single point
positioning per constellation combination -> service table, and a self-contained HTML report
(service table + PNG plots embedded as base64: horizontal/vertical error over time and
satellites visible per system).

The closed loop (with the ``dynamics`` extra): the regional system's control segment run
reduced so that the demo stays quick (:func:`closed_loop`: 600 s monitoring data of the
eight stations, one ODTS over a 24 h arc, 2 iterations from a warm start, 2 h of broadcast
evaluated); the service table compares the broadcast fitted to the truth with the broadcast
from the ODTS predictions: SISRE, orbit and clock RMS, and a user's position error. The
full control segment (24 h arcs at 30 s, SISRE ~0.16 m) is ``satnav odts``.
"""

from __future__ import annotations

import html
import time
from pathlib import Path

import numpy as np

from ..io.atomic import atomic_output

__all__ = ["run_demo", "demo_report_html", "closed_loop", "format_closed_loop", "DEFAULT_OUT_DIR"]

#: The reduced control segment of the demo (the full one: ``satnav odts``).
CLOSED_LOOP_NOTE = ("reduced ODTS for speed: 600 s data of the 8 monitoring stations, one 24 h arc, "
                    "2 iterations from a warm start, 2 h of broadcast evaluated; the full control "
                    "segment (24 h arcs at 30 s) is 'satnav odts'")
CLOSED_LOOP_COLUMNS = ("system", "broadcast", "SISRE RMS (m)", "orbit 3D RMS (m)", "clock RMS (m)",
                       "user 3D RMS (m)")

#: Output directory of the demo (relative to the working directory).
DEFAULT_OUT_DIR = "satnav-demo"


def _plots(sim, solutions) -> list[bytes]:
    """PNG figures: position errors against the truth per combination, satellites visible."""
    from ..frames import ecef_to_enu
    from ..report.plots import lines_png

    horizontal, vertical = {}, {}
    for name, sol in solutions:
        enu = ecef_to_enu(sol.position_m, sim.receiver_ecef_m)
        horizontal[name] = np.hypot(enu[:, 0], enu[:, 1])
        vertical[name] = enu[:, 2]
    names = sim.constellation.system_name
    visible = {s: sim.visible[:, names == s].sum(axis=1) for s in dict.fromkeys(names)}
    return [
        lines_png(sim.times_ns, [("horizontal error (m)", horizontal), ("vertical error (m)", vertical)]),
        lines_png(sim.times_ns, [(f"satellites above {sim.mask_deg:g} deg", visible)]),
        _ground_tracks_png(sim),
    ]


def _ground_tracks_png(sim) -> bytes:
    """World map of the simulated satellites' ground tracks over the span, the site marked."""
    from ..frames import ecef_to_geodetic
    from .ground_tracks import ground_tracks, ground_tracks_png

    step_s = max(60.0, (sim.times_ns[-1] - sim.times_ns[0]) / 1e9 / 60.0)
    tracks = ground_tracks(sim.constellation, int(sim.times_ns[0]), int(sim.times_ns[-1]), step_s)
    lat, lon, _ = ecef_to_geodetic(np.asarray(sim.receiver_ecef_m[0], dtype=np.float64))
    return ground_tracks_png(tracks, sites=[("site", float(np.degrees(lat)), float(np.degrees(lon)))])


def closed_loop(quick: bool = True) -> list[dict] | None:
    """The regional system's broadcast fitted to the truth and from its control segment
    (:func:`~satnav.constellation.control.scenario.run_odts`, reduced as
    :data:`CLOSED_LOOP_NOTE` says when ``quick``): one row per broadcast with SISRE, orbit,
    clock and user position RMS (m). None without the ``dynamics`` extra."""
    try:
        import astropy_iers_data  # noqa: F401
        import erfa  # noqa: F401
    except ImportError:
        return None
    from dataclasses import replace

    from .control.scenario import load_control_scenario, run_odts

    s = load_control_scenario(None)
    if quick:
        s = replace(s, interval_s=600.0, arc_hours=24.0, evaluation_hours=2.0, odts_every_hours=2.0,
                    apriori_sigma_m=1.0, time_links=False,
                    options=replace(s.options, arc_hours=24.0, iterations=2))
    report = run_odts(s, None)

    def rms(rows, key):
        vals = [r[key] for r in rows if r[key] is not None]
        return float(np.sqrt(np.mean(np.square(vals)))) if vals else None

    user = report["user_accuracy"]
    out = []
    for name, part, label in (("truth_fitted", report["truth_fitted"], "fitted to the truth"),
                              ("odts", report, "from the ODTS (control segment)")):
        out.append({"system": f"{report['constellation']} (I)", "broadcast": label,
                    "SISRE RMS (m)": part["sisre_rms_m"], "orbit 3D RMS (m)": rms(part["satellites"], "orbit_rms_m"),
                    "clock RMS (m)": rms(part["satellites"], "clock_rms_m"),
                    "user 3D RMS (m)": user[name]["position_rms_m"]})
    return out


def _loop_cells(row) -> list[str]:
    return [str(row[c]) if isinstance(row[c], str) else ("-" if row[c] is None else f"{row[c]:.3f}")
            for c in CLOSED_LOOP_COLUMNS]


def format_closed_loop(rows) -> str:
    """The closed-loop table as text."""
    widths = [max(len(c), *(len(_loop_cells(r)[i]) for r in rows)) for i, c in enumerate(CLOSED_LOOP_COLUMNS)]
    lines = ["Closed loop: the regional system's broadcast (" + CLOSED_LOOP_NOTE + ")",
             "  ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(CLOSED_LOOP_COLUMNS, widths)))]
    for r in rows:
        cells = _loop_cells(r)
        lines.append("  ".join(x.ljust(w) if i < 2 else x.rjust(w) for i, (x, w) in enumerate(zip(cells, widths))))
    return "\n".join(lines)


def demo_report_html(title: str, rows, plots, facts, loop=None) -> str:
    """The demo's self-contained page (:func:`satnav.report.page_html`): facts, the service
    table of :func:`~satnav.constellation.evaluate.evaluate`, the closed-loop table of
    :func:`closed_loop` (when given) and the figures."""
    from ..report import image_html, page_html, table_html
    from .evaluate import _COLUMNS, _cells

    captions = ("Position error against the truth", "Satellites visible",
                "Ground tracks of the satellites over the simulated span (dot: at the start)")
    body = [f"<h1>{html.escape(title)}</h1>", "<ul>" + "".join(f"<li>{html.escape(f)}</li>" for f in facts) + "</ul>",
            "<h2>Service table</h2>",
            table_html([_cells(r) for r in rows], [c[0] for c in _COLUMNS], numeric=range(2, len(_COLUMNS)))]
    if loop:
        body += ["<h2>Closed loop: broadcast fitted to the truth vs broadcast from the control segment</h2>",
                 f"<p>{html.escape(CLOSED_LOOP_NOTE[0].upper() + CLOSED_LOOP_NOTE[1:])}.</p>",
                 table_html([_loop_cells(r) for r in loop], list(CLOSED_LOOP_COLUMNS),
                            numeric=range(2, len(CLOSED_LOOP_COLUMNS)))]
    for caption, png in zip(captions, plots):
        body += [f"<h2>{html.escape(caption)}</h2>", image_html(png, caption)]
    return page_html(title, body)


def run_demo(out_dir=None, *, quiet: bool = False) -> int:
    """Run the demo scenario, write RINEX files + ``report.html`` into ``out_dir``
    (default ``./satnav-demo``), print the service table and the report path. Returns 0."""
    from ..satellites import system_of
    from .evaluate import evaluate, format_table
    from .simulate import load_scenario, run_scenario

    def say(*a):
        if not quiet:
            print(*a, flush=True)

    t0 = time.perf_counter()
    out = Path(out_dir if out_dir is not None else DEFAULT_OUT_DIR)
    scenario = load_scenario("demo")
    say("satnav demo: GPS + GLONASS + Galileo + BeiDou-3 + example regional system (3 GEO + 4 IGSO, 100 E)")
    lat, lon, h = scenario.site
    say(f"site {lat:g} N {lon:g} E {h:g} m, {scenario.start} GPST + {scenario.duration_h:g} h, "
        f"{scenario.interval_s:g} s epochs, mask {scenario.mask_deg:g} deg")  # fmt: skip
    sim, paths = run_scenario(scenario, out)
    say(f"simulated {len(sim.obs)} observations of {len(sim.constellation)} satellites "
        f"({time.perf_counter() - t0:.1f} s); broadcast fit RMS <= {np.max(sim.broadcast.rms_m):.3f} m")  # fmt: skip
    for role in ("obs", "nav", "truth"):
        say(f"  wrote {paths[role]}")

    # solve the files as a user would (read back), per constellation combination
    from ..io.rinex_nav import read_rinex_nav
    from ..io.rinex_obs import read_rinex_obs

    obs = read_rinex_obs(paths["obs"])
    nav = read_rinex_nav(paths["nav"])
    systems: dict[str, str] = {}
    for name, sat in zip(sim.constellation.system_name, sim.constellation.sat):
        letter = system_of(int(sat))
        if letter not in systems.setdefault(str(name), ""):
            systems[str(name)] += letter
    solutions: list = []
    rows = evaluate(obs, nav, sim.receiver_ecef_m[0], systems, mask_deg=scenario.mask_deg,
                    pdop_limit=6.0, solutions=solutions)
    table = format_table(rows, title="Service per constellation combination (simulated, SPP)")
    say(table)
    facts = [
        f"Site {lat:g} N, {lon:g} E, {h:g} m; {scenario.start} GPST, {scenario.duration_h:g} h, "
        f"{scenario.interval_s:g} s epochs, elevation mask {scenario.mask_deg:g} deg, seed {scenario.seed}.",
        "Errors: receiver clock random walk, broadcast Klobuchar x1.25 ionosphere, Saastamoinen x1.05 "
        "troposphere, elevation-dependent noise and multipath, satellite clock 0.5 m, "
        "broadcast-ephemeris fit error.",
        "Solution: satnav single point positioning (Klobuchar, Saastamoinen, RAIM), read from the "
        "written RINEX files.",
        f"Files: {paths['obs'].name}, {paths['nav'].name}, {paths['truth'].name}.",
    ]
    t1 = time.perf_counter()
    loop = closed_loop()
    if loop is None:
        say("closed loop (control segment) skipped: it needs the 'dynamics' extra (pyerfa, astropy-iers-data)")
    else:
        say(format_closed_loop(loop))
        say(f"closed loop in {time.perf_counter() - t1:.1f} s")
    report = out / "report.html"
    page = demo_report_html("satnav demo: regional system beside GLONASS, GPS, Galileo, BeiDou",
                            rows, _plots(sim, solutions), facts, loop)
    with atomic_output(report, "w", encoding="utf-8") as fh:
        fh.write(page)
    say(f"report: {report.resolve()}")
    say(f"done in {time.perf_counter() - t0:.1f} s")
    return 0
