"""``satnav demo``: the system-segment job on an embedded default, no downloads.

One hour (30 s epochs, from 2020-06-25 02:00 GPST) of the built-in GPS, GLONASS, Galileo and
BeiDou-3 constellations plus the example regional system (3 GEO + 4 IGSO centred on 100 deg E)
at a site in the regional system's service area (25 N, 100 E, 2000 m):
design -> broadcast navigation messages -> simulated RINEX 3.05 observations -> single point
positioning per constellation combination -> service table, and a self-contained HTML report
(service table + PNG plots embedded as base64: horizontal/vertical error over time and
satellites visible per system).
"""

from __future__ import annotations

import html
import time
from pathlib import Path

import numpy as np

from ..io.atomic import atomic_output

__all__ = ["run_demo", "demo_report_html", "DEFAULT_OUT_DIR"]

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


def demo_report_html(title: str, rows, plots, facts) -> str:
    """The demo's self-contained page (:func:`satnav.report.page_html`): facts, the service
    table of :func:`~satnav.constellation.evaluate.evaluate` and the figures."""
    from ..report import image_html, page_html, table_html
    from .evaluate import _COLUMNS, _cells

    captions = ("Position error against the truth", "Satellites visible",
                "Ground tracks of the satellites over the simulated span (dot: at the start)")
    body = [f"<h1>{html.escape(title)}</h1>", "<ul>" + "".join(f"<li>{html.escape(f)}</li>" for f in facts) + "</ul>",
            "<h2>Service table</h2>",
            table_html([_cells(r) for r in rows], [c[0] for c in _COLUMNS], numeric=range(2, len(_COLUMNS)))]
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
    report = out / "report.html"
    page = demo_report_html("satnav demo: regional system beside GLONASS, GPS, Galileo, BeiDou",
                            rows, _plots(sim, solutions), facts)
    with atomic_output(report, "w", encoding="utf-8") as fh:
        fh.write(page)
    say(f"report: {report.resolve()}")
    say(f"done in {time.perf_counter() - t0:.1f} s")
    return 0
