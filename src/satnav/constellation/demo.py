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

import base64
import html
import io
import time
from pathlib import Path

import numpy as np

__all__ = ["run_demo", "DEFAULT_OUT_DIR"]

#: Output directory of the demo (relative to the working directory).
DEFAULT_OUT_DIR = "satnav-demo"


def _png_base64(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _plots(sim, solutions) -> list[tuple[str, str]]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..frames import ecef_to_enu

    minutes = (sim.times_ns - sim.times_ns[0]) / 60e9
    out = []
    fig, axes = plt.subplots(2, 1, figsize=(9, 6), sharex=True)
    for name, sol in solutions:
        enu = ecef_to_enu(sol.position_m, sim.receiver_ecef_m)
        axes[0].plot(minutes, np.hypot(enu[:, 0], enu[:, 1]), label=name, lw=1)
        axes[1].plot(minutes, enu[:, 2], label=name, lw=1)
    axes[0].set_ylabel("horizontal error (m)")
    axes[1].set_ylabel("vertical error (m)")
    axes[1].set_xlabel("minutes from start")
    axes[0].legend(fontsize=7, ncol=2)
    for a in axes:
        a.grid(alpha=0.3)
    out.append(("Position error against the truth", _png_base64(fig)))
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(9, 3.5))
    names = sim.constellation.system_name
    for sys_name in dict.fromkeys(names):
        ax.plot(minutes, sim.visible[:, names == sys_name].sum(axis=1), label=sys_name)
    ax.set_ylabel(f"satellites above {sim.mask_deg:g} deg")
    ax.set_xlabel("minutes from start")
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    out.append(("Satellites visible", _png_base64(fig)))
    plt.close(fig)
    return out


def _html(title, rows, plots, facts) -> str:
    from .evaluate import _COLUMNS, _cells

    head = "".join(f"<th>{html.escape(c[0])}</th>" for c in _COLUMNS)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in _cells(r)) + "</tr>" for r in rows)
    items = "".join(f"<li>{html.escape(f)}</li>" for f in facts)
    figs = "".join(
        f"<h2>{html.escape(t)}</h2><img alt='{html.escape(t)}' src='data:image/png;base64,{b}'>"
        for t, b in plots
    )
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><style>body{{font-family:sans-serif;margin:2em}}"
        "table{border-collapse:collapse}td,th{border:1px solid #999;padding:3px 8px;text-align:right}"
        "td:first-child,th:first-child{text-align:left}</style></head><body>"
        f"<h1>{html.escape(title)}</h1><ul>{items}</ul><h2>Service table</h2>"
        f"<table><tr>{head}</tr>{body}</table>{figs}</body></html>\n"
    )


def run_demo(out_dir=None, *, quiet: bool = False) -> int:
    """Run the demo scenario, write RINEX files + ``report.html`` into ``out_dir``
    (default ``./satnav-demo``), print the service table and the report path. Returns 0."""
    from ..estimators.spp import solve_spp
    from ..satellites import system_of
    from .evaluate import _service_row, default_combinations, format_table
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

    # solve the files as a user would (read back)
    from ..io.rinex_nav import read_rinex_nav
    from ..io.rinex_obs import read_rinex_obs

    obs = read_rinex_obs(paths["obs"])
    nav = read_rinex_nav(paths["nav"])
    systems: dict[str, str] = {}
    for name, sat in zip(sim.constellation.system_name, sim.constellation.sat):
        letter = system_of(int(sat))
        if letter not in systems.setdefault(str(name), ""):
            systems[str(name)] += letter
    rows, solutions = [], []
    truth = np.broadcast_to(sim.receiver_ecef_m[0], (len(obs.epochs), 3))
    for name, letters in default_combinations(systems):
        sol = solve_spp(obs, nav, systems=letters, elevation_mask_deg=scenario.mask_deg)
        rows.append(_service_row(name, letters, sol, truth, 6.0))
        solutions.append((name, sol))
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
    report.write_text(_html("satnav demo: regional system beside GLONASS, GPS, Galileo, BeiDou",
                            rows, _plots(sim, solutions), facts))  # fmt: skip
    say(f"report: {report.resolve()}")
    say(f"done in {time.perf_counter() - t0:.1f} s")
    return 0
