"""One self-contained HTML report of a receiver solution.

:func:`write_report` writes a single ``.html`` file that needs nothing else: the figures of
:mod:`satnav.report.plots` are embedded as ``data:image/png;base64`` URIs, the style sheet
is inline, and there is no external link, font or script. It accepts

* a :class:`~satnav.estimators.solution.Solution` (from ``satnav solve``): summary with
  status counts and reasons, satellites per system, DOP, accuracy against a reference;
  track, east/north/up, satellites and DOP, a sky plot per system and the residuals;
* a :class:`~satnav.io.solution.PosFile` (an RTKLIB or satnav ``.pos`` file): the figures
  its columns allow (track, east/north/up, number of satellites), optionally followed by
  the per-satellite detail of a ``detail`` Solution re-computed from the observations.

A short inline script marks ``<body data-images-rendered="all N">`` once every image has
been decoded by the browser (``"broken K of N"`` otherwise), for automatic checks.
"""

from __future__ import annotations

import base64
import html
import re
import struct
from pathlib import Path

import numpy as np

from ..errors import SatnavError
from ..estimators.solution import position_error_statistics
from ..frames import ecef_to_enu, ecef_to_geodetic
from ..gnss_time import NS_PER_S, format_gpst
from ..io.atomic import atomic_output
from ..satellites import SYSTEM_NAMES, SYSTEMS, satellite_ids, system_of
from . import plots

__all__ = ["write_report", "report_html", "page_html", "table_html", "image_html", "png_size", "RTKLIB_QUALITY"]

#: RTKLIB solution quality flag -> (name, colour as in rtkplot).
RTKLIB_QUALITY = {
    1: ("fix", "#2ca02c"),
    2: ("float", "#ff9f0e"),
    3: ("SBAS", "#e377c2"),
    4: ("DGPS", "#1f77b4"),
    5: ("single", "#d62728"),
    6: ("PPP", "#17becf"),
}
#: Colour of each satnav status code in the track.
_STATUS_COLORS = {
    0: "#2ca02c",
    1: "#17becf",
    2: "#bcbd22",
    3: "#d62728",
    4: "#ff7f0e",
    5: "#e377c2",
    6: "#8c564b",
}
#: A header approximate position farther than this from the median solution (m) is not
#: taken as the reference (a moving receiver, or a header left at zero/elsewhere).
HEADER_REFERENCE_MAX_M = 1000.0

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;
 margin:0 auto;max-width:980px;padding:16px 24px;color:#222;background:#fff}
h1{font-size:1.5em;margin:0.2em 0} h2{font-size:1.2em;margin-top:1.6em;border-bottom:1px solid #ddd}
p.meta{color:#666;margin-top:0}
table{border-collapse:collapse;margin:0.6em 0;font-size:0.92em}
th,td{border:1px solid #ddd;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#f4f6f8;font-weight:600} td.num{text-align:right;font-variant-numeric:tabular-nums}
figure{margin:0.8em 0} figure img{max-width:100%;height:auto;border:1px solid #eee}
figcaption{color:#555;font-size:0.9em}
div.note{background:#fff8e1;border-left:4px solid #f0b400;padding:6px 10px;margin:0.6em 0}
div.sky{display:flex;flex-wrap:wrap;gap:8px} div.sky figure{flex:0 1 400px}
"""

_SCRIPT = """
window.addEventListener("load", function () {
  var imgs = document.images, bad = 0;
  for (var i = 0; i < imgs.length; i++) {
    if (!imgs[i].complete || imgs[i].naturalWidth === 0) { bad++; }
  }
  document.body.setAttribute("data-images-rendered",
    bad === 0 ? "all " + imgs.length : "broken " + bad + " of " + imgs.length);
});
"""


# ============================================================================ helpers
def png_size(data: bytes) -> tuple[int, int]:
    """Width and height (pixels) from a PNG's IHDR chunk (PNG spec section 11.2.2)."""
    if data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR":
        raise SatnavError("not a PNG image")
    return struct.unpack(">II", data[16:24])


def _img(png: bytes, alt: str, caption: str = "") -> str:
    w, h = png_size(png)
    b64 = base64.b64encode(png).decode("ascii")
    cap = f"<figcaption>{html.escape(caption)}</figcaption>" if caption else ""
    return (
        f'<figure><img src="data:image/png;base64,{b64}" width="{w}" height="{h}" '
        f'alt="{html.escape(alt)}">{cap}</figure>'
    )


def _table(rows, header=None, numeric=()) -> str:
    out = ["<table>"]
    if header:
        out.append("<tr>" + "".join(f"<th>{html.escape(str(h))}</th>" for h in header) + "</tr>")
    for row in rows:
        cells = []
        for k, v in enumerate(row):
            if header is None and k == 0:
                cells.append(f"<th>{html.escape(str(v))}</th>")
            else:
                cls = ' class="num"' if k in numeric else ""
                cells.append(f"<td{cls}>{html.escape(str(v))}</td>")
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</table>")
    return "\n".join(out)


def _fmt(v, nd=2, unit="") -> str:
    v = float(v)
    if not np.isfinite(v):
        return "–"
    return f"{v:.{nd}f}{(' ' + unit) if unit else ''}"


def _period(time_ns) -> list[tuple[str, str]]:
    t = np.asarray(time_ns, dtype=np.int64)
    if not len(t):
        return [("period", "no epoch")]
    rows = [("first epoch", format_gpst(t[0])), ("last epoch", format_gpst(t[-1]))]
    if len(t) > 1:
        rows.append(("interval", f"{np.median(np.diff(t)) / NS_PER_S:g} s (median)"))
    return rows


def _errors(enu) -> dict:
    """Horizontal/vertical RMS and 95th percentile (m) of the finite east/north/up rows."""
    enu = np.asarray(enu, dtype=np.float64).reshape(-1, 3)
    return position_error_statistics(enu[np.all(np.isfinite(enu), axis=1)])


def _error_rows(label, err) -> list[tuple]:
    return [(label, err["n"], _fmt(err["h_rms"], 3), _fmt(err["h_95"], 3),
             _fmt(err["v_rms"], 3), _fmt(err["v_95"], 3))]


_ERROR_HEADER = ("epochs", "n", "H RMS (m)", "H 95% (m)", "V RMS (m)", "V 95% (m)")


def _mean_position(position_m, mask) -> np.ndarray | None:
    p = np.asarray(position_m, dtype=np.float64).reshape(-1, 3)
    sel = np.asarray(mask, dtype=bool) & np.all(np.isfinite(p), axis=1)
    return p[sel].mean(axis=0) if sel.any() else None


def _choose_reference(position_m, solved, obs, reference_m, notes):
    """(reference ECEF or None, label) from ``reference_m`` or the obs header."""
    if reference_m is not None:
        ref = np.asarray(reference_m, dtype=np.float64).reshape(3)
        if not np.all(np.isfinite(ref)):
            raise SatnavError(f"reference position {reference_m!r}: expected three finite ECEF metres")
        return ref, "reference position"
    header = getattr(obs, "header", None)
    approx = getattr(header, "approx_position_m", None)
    if approx is None:
        return None, ""
    approx = np.asarray(approx, dtype=np.float64).reshape(3)
    if not (np.all(np.isfinite(approx)) and np.linalg.norm(approx) > 6.0e6):
        return None, ""
    p = np.asarray(position_m, dtype=np.float64).reshape(-1, 3)
    sel = np.asarray(solved, bool) & np.all(np.isfinite(p), axis=1)
    if sel.any():
        d = float(np.median(np.linalg.norm(p[sel] - approx, axis=1)))
        if d > HEADER_REFERENCE_MAX_M:
            notes.append(
                f"The observation header's approximate position is {d / 1000:.1f} km (median) from "
                "the solution, so it is not used as a reference (a moving receiver?); the figures "
                "show deviations from the mean position instead."
            )
            return None, ""
    return approx, "header approximate position"


def _geodetic_text(xyz) -> str:
    lat, lon, h = ecef_to_geodetic(np.asarray(xyz, dtype=np.float64))
    return (f"{np.degrees(float(lat)):.8f}°, {np.degrees(float(lon)):.8f}°, {float(h):.3f} m "
            f"(X {xyz[0]:.3f}, Y {xyz[1]:.3f}, Z {xyz[2]:.3f} m)")


def _location_section(position_m) -> list[str]:
    """The "Location" map: where on Earth the solved positions are."""
    return ["<h2>Location</h2>",
            _img(plots.location_png(position_m), "location map",
                 "Where the receiver is: solved positions (red) and their mean (star) over coastlines "
                 "and borders (GSHHG).")]


def _is_posfile(obj) -> bool:
    return hasattr(obj, "q") and hasattr(obj, "ns") and not hasattr(obj, "status")


# ============================================================================ sections
def _solution_sections(sol, reference, ref_label, *, with_track=True, what="") -> list[str]:
    """Summary and figures of a satnav Solution."""
    out = []
    m = len(sol)
    solved = np.asarray(sol.solved, dtype=bool)
    valid = np.asarray(sol.valid, dtype=bool)
    status = np.asarray(sol.status)
    rows = [("epochs", f"{int(solved.sum())} solved / {m} total ({int(valid.sum())} passed the integrity test)")]
    rows += _period(sol.time_ns)
    if sol.signals:
        rows.append(("signals", ", ".join(f"{SYSTEM_NAMES.get(s, s)} {c}" for s, c in sol.signals.items())))
    mean = _mean_position(sol.position_m, valid if valid.any() else solved)
    if mean is not None:
        rows.append(("mean position", _geodetic_text(mean)))
    if reference is not None:
        rows.append((ref_label, _geodetic_text(reference)))
    if solved.any():
        rows.append(("median DOP", f"PDOP {_fmt(np.nanmedian(sol.pdop[solved]))}, "
                                   f"HDOP {_fmt(np.nanmedian(sol.hdop[solved]))}, "
                                   f"VDOP {_fmt(np.nanmedian(sol.vdop[solved]))}"))
    out.append(_table(rows))

    from ..estimators.solution import STATUS

    codes, counts = np.unique(status, return_counts=True)
    srows = [(int(c), STATUS.get(int(c), "unknown"), "solved" if c <= 9 else "not solved",
              int(n), f"{100.0 * n / max(m, 1):.1f} %") for c, n in zip(codes, counts)]
    out.append("<h3>Epochs by status</h3>")
    out.append(_table(srows, header=("code", "meaning", "position", "epochs", "share"), numeric=(0, 3, 4)))

    exc = np.asarray(sol.excluded, dtype=bool)
    if exc.any():
        per_sat = exc.sum(axis=0)
        order = np.argsort(-per_sat)[:10]
        ids = satellite_ids(np.asarray(sol.satellites)[order])
        top = ", ".join(f"{i} ×{int(per_sat[k])}" for i, k in zip(ids, order) if per_sat[k])
        out.append(
            f"<p>Fault exclusion removed {int(exc.sum())} measurements in "
            f"{int(exc.any(axis=1).sum())} epochs (most often: {html.escape(top)}).</p>"
        )

    sats = np.asarray(sol.satellites)
    used = np.asarray(sol.used, dtype=bool)
    sys_of = system_of(sats) if sats.size else np.array([], dtype="<U1")
    prow = []
    for s in [x for x in SYSTEMS if x in sol.n_used_by_system]:
        n = np.asarray(sol.n_used_by_system[s])[solved]
        distinct = int((used[:, sys_of == s].any(axis=0)).sum()) if sats.size else 0
        prow.append((SYSTEM_NAMES.get(s, s), str(sol.signals.get(s, "")),
                     _fmt(n.mean(), 1) if len(n) else "–", int(n.max()) if len(n) else 0, distinct))
    if prow:
        out.append("<h3>Satellites used per system (solved epochs)</h3>")
        out.append(_table(prow, header=("system", "signal", "mean", "max", "distinct satellites"),
                          numeric=(2, 3, 4)))

    if reference is not None and solved.any():
        erows = _error_rows("passed integrity (status 0–1)", sol.errors(reference, mask=valid))
        if (solved & ~valid).any():
            erows += _error_rows("all solved", sol.errors(reference))
        out.append(f"<h3>Accuracy{html.escape(what)} against the {html.escape(ref_label)}</h3>")
        out.append(_table(erows, header=_ERROR_HEADER, numeric=(1, 2, 3, 4, 5)))

    # ---- figures
    origin = reference if reference is not None else mean
    origin_label = ref_label if reference is not None else "mean position"
    kind = "error" if reference is not None else "deviation"
    if with_track and origin is not None:
        out += _location_section(np.asarray(sol.position_m, dtype=np.float64)[solved])
        enu = ecef_to_enu(np.asarray(sol.position_m, dtype=np.float64), origin)
        enu[~solved] = np.nan
        groups = [(f"{c}: {STATUS.get(int(c), '?')}", _STATUS_COLORS.get(int(c), "k"), status == c)
                  for c in np.unique(status[solved])]
        out.append("<h2>Track</h2>")
        out.append(_img(plots.track_png(enu, groups, origin_label=origin_label),
                        "horizontal track", f"Horizontal positions about the {origin_label}, "
                        "coloured by epoch status (equal scales)."))
        out.append(f"<h2>East, north, up {kind}</h2>")
        out.append(_img(plots.enu_png(sol.time_ns, enu, kind=kind, origin_label=origin_label,
                                      flagged=solved & ~valid),
                        f"east north up {kind}",
                        "Red points: solved but flagged by the integrity checks." if (solved & ~valid).any()
                        else "Every solved epoch passed the integrity checks."))
    out.append("<h2>Satellites and DOP</h2>")
    out.append(_img(plots.satellites_dop_png(sol.time_ns, sol.n_used_by_system,
                                              {"PDOP": sol.pdop, "HDOP": sol.hdop, "VDOP": sol.vdop}),
                    "satellites used and DOP", "Satellites used per system (stacked) and dilution of precision."))
    az, el = np.asarray(sol.azimuth_rad), np.asarray(sol.elevation_rad)
    sky = []
    for s in SYSTEMS:
        cols = np.flatnonzero(sys_of == s)
        if not cols.size or not np.any(np.isfinite(el[:, cols]) & (el[:, cols] >= 0)):
            continue
        name = SYSTEM_NAMES.get(s, s)
        sky.append(_img(plots.skyplot_png(az[:, cols], el[:, cols], sats[cols], used[:, cols], title=name),
                        f"{name} sky plot", f"{name}: coloured where used, grey where not."))
    if sky:
        out.append("<h2>Sky plots</h2>")
        out.append('<div class="sky">' + "\n".join(sky) + "</div>")
    out.append("<h2>Residuals</h2>")
    out.append(_img(plots.residuals_png(sol.time_ns, sol.residuals_m, sats, used, sol.excluded),
                    "pseudorange residuals", "Post-fit pseudorange residuals of the used measurements; "
                    "red crosses: measurements excluded by fault detection."))
    return out


def _ppp_sections(sol, reference, ref_label) -> list[str]:
    """Summary and figures of a PPP solution: coordinate with sigmas, convergence, models,
    accuracy, track, ENU, zenith delays and the code and phase residuals."""
    out = []
    m = len(sol)
    solved = np.asarray(sol.solved, dtype=bool)
    c = sol.coordinate_summary()
    ar = str(sol.models.get("ambiguity-resolution", "off"))
    rows = [("mode", f"PPP {sol.mode} ({'float' if ar.startswith('off') else 'integer ambiguity resolution'}, "
                     "ionosphere-free)"),
            ("epochs", f"{int(solved.sum())} solved / {m} total")]
    if not ar.startswith("off"):
        ttff = sol.time_to_first_fix_s()
        rows.append(("fixed epochs", f"{int(np.sum(sol.fixed))} of {int(solved.sum())}; time to first fix "
                     + (f"{ttff / 60:.1f} min" if np.isfinite(ttff) else "never (float)")))
    rows += _period(sol.time_ns)
    rows.append(("final coordinate", f"X {c['x_m']:.4f}, Y {c['y_m']:.4f}, Z {c['z_m']:.4f} m "
                 f"(sigma {c['sx_m']:.4f}, {c['sy_m']:.4f}, {c['sz_m']:.4f} m)"))
    rows.append(("", f"{c['lat_deg']:.9f}°, {c['lon_deg']:.9f}°, {c['height_m']:.4f} m (sigma E {c['se_m']:.4f}, "
                 f"N {c['sn_m']:.4f}, U {c['su_m']:.4f} m)"))
    conv = sol.convergence_time_s(reference)
    rows.append(("convergence", (f"{conv / 60:.1f} min" if np.isfinite(conv) else "never")
                 + f" to < 10 cm 3D of the {ref_label if reference is not None else 'final coordinate'}"))
    if solved.any():
        rows.append(("zenith total delay", f"median {np.nanmedian(sol.ztd_m[solved]):.4f} m"))
    rows.append(("outliers rejected", str(len(sol.rejections))))
    out.append(_table(rows))
    out.append("<h3>Models</h3>")
    out.append(_table([(k, v) for k, v in sol.models.items()]))
    for note in sol.notes:
        out.append(f'<div class="note">{html.escape(note)}</div>')
    if reference is not None and solved.any():
        out.append(f"<h3>Accuracy against the {html.escape(ref_label)}</h3>")
        out.append(_table(_error_rows("solved", sol.errors(reference)), header=_ERROR_HEADER, numeric=(1, 2, 3, 4, 5)))
    origin = reference if reference is not None else sol.final_position()[0]
    origin_label = ref_label if reference is not None else "final coordinate"
    if solved.any():
        out += _location_section(np.asarray(sol.position_m, dtype=np.float64)[solved])
        enu = ecef_to_enu(np.asarray(sol.position_m, dtype=np.float64), origin)
        enu[~solved] = np.nan
        out.append("<h2>Track</h2>")
        out.append(_img(plots.track_png(enu, [("PPP", "tab:blue", solved)], origin_label=origin_label),
                        "horizontal track", f"Horizontal positions about the {origin_label} (equal scales)."))
        out.append("<h2>East, north, up</h2>")
        out.append(_img(plots.enu_png(sol.time_ns, enu, kind="error" if reference is not None else "deviation",
                                      origin_label=origin_label, flagged=np.zeros(m, bool)),
                        "east north up", f"Positions minus the {origin_label}."))
        out.append("<h2>Zenith total delay</h2>")
        ztd = np.where(solved, sol.ztd_m, np.nan)
        out.append(_img(plots.lines_png(sol.time_ns, [("ZTD (m)", {"ZTD": ztd}),
                                                       ("sigma (m)", {"ZTD sigma": np.where(solved, sol.ztd_sigma_m,
                                                                                            np.nan)})]),
                        "zenith total delay", "A priori hydrostatic + estimated wet zenith delay."))
    amb = getattr(sol, "ambiguities", None)
    if not ar.startswith("off") and amb is not None and len(amb):
        nl = amb["nl_float"][amb["nl_sigma"] < 0.1]
        out.append("<h2>Ambiguity fractions</h2>")
        out.append(_img(plots.fractions_png([("wide-lane, when first fixed", sol.wl_fractions),
                                             ("narrow-lane float (sigma < 0.1 cycle)", nl - np.round(nl))]),
                        "ambiguity fractions", "Fractional parts of the single-differenced wide-lanes and of the "
                        "float narrow-lanes: centred on 0 when the products and the user models agree."))
    sats = np.asarray(sol.satellites)
    phase, code = np.asarray(sol.phase_residuals_m), np.asarray(sol.code_residuals_m)
    out.append("<h2>Residuals</h2>")
    out.append(_img(plots.residuals_png(sol.time_ns, phase, sats, np.isfinite(phase),
                                        title="post-fit ionosphere-free phase residuals", min_span_m=0.02),
                    "phase residuals", "Post-fit ionosphere-free carrier-phase residuals of the used measurements."))
    out.append(_img(plots.residuals_png(sol.time_ns, code, sats, np.isfinite(code),
                                        title="post-fit ionosphere-free code residuals"),
                    "code residuals", "Post-fit ionosphere-free code residuals of the used measurements."))
    return out


def _unsolved_comments(path) -> dict[str, int]:
    """Reasons of the ``% <time> no solution: <reason>`` and ``% <time> flagged (<reason>): ...``
    lines satnav writes into ``.pos`` (epochs without a position row)."""
    try:
        from ..io.textfile import read_bytes

        text = read_bytes(path).decode("ascii", errors="replace")
    except (OSError, SatnavError):
        return {}
    counts: dict[str, int] = {}
    for line in text.splitlines():
        if not line.startswith("%"):
            continue
        if " no solution: " in line:
            reason = line.split(" no solution: ", 1)[1].strip()
        else:
            flagged = _FLAGGED_COMMENT.match(line)
            if not flagged:
                continue
            reason = f"flagged: {flagged.group(1)}"
        counts[reason] = counts.get(reason, 0) + 1
    return counts


#: ``% <time> flagged (<reason>): <row>``: a solved epoch that failed the integrity checks.
_FLAGGED_COMMENT = re.compile(r"^%.*? flagged \((.*)\): ")


def _posfile_sections(pos, reference, ref_label) -> list[str]:
    """Summary and figures of an RTKLIB ``.pos`` file."""
    out = []
    n = len(pos)
    q = np.asarray(pos.q, dtype=np.int64)
    unsolved = _unsolved_comments(pos.path) if pos.path else {}
    n_unsolved = sum(unsolved.values())
    rows = [("file", pos.path or "–"),
            ("epochs", f"{n} with a position" + (f", {n_unsolved} without a position row (comment lines)" if n_unsolved else "")),
            ("coordinates", {"xyz": "ECEF x/y/z", "llh": "latitude/longitude/height",
                             "enu": "east/north/up baseline"}.get(pos.frame, pos.frame)
             + f", time {pos.time_system}")]
    rows += _period(pos.time_ns)
    program = [h.split(":", 1)[1].strip() for h in pos.header if h.lstrip("% ").startswith("program")]
    if program:
        rows.append(("program", program[0]))
    if n:
        rows.append(("satellites", f"mean {np.mean(pos.ns):.1f}, min {int(np.min(pos.ns))}, max {int(np.max(pos.ns))}"))
        sd = np.asarray(pos.sd_m, dtype=np.float64)
        if sd.shape[1] >= 3 and np.isfinite(sd[:, :3]).any():
            names = ("sdn", "sde", "sdu") if pos.frame == "llh" else ("sdx", "sdy", "sdz")
            rows.append(("median standard deviations",
                         ", ".join(f"{k} {_fmt(np.nanmedian(sd[:, i]), 3)} m" for i, k in enumerate(names))))
    mean = _mean_position(pos.position_m, np.ones(n, bool)) if pos.frame != "enu" else None
    if mean is not None:
        rows.append(("mean position", _geodetic_text(mean)))
    if reference is not None:
        rows.append((ref_label, _geodetic_text(reference)))
    out.append(_table(rows))

    qrows = [(int(c), RTKLIB_QUALITY.get(int(c), ("?",))[0], int((q == c).sum()),
              f"{100.0 * (q == c).sum() / max(n, 1):.1f} %") for c in np.unique(q)]
    qrows += [("–", f"no solution: {r}", k, "") for r, k in unsolved.items()]
    out.append("<h3>Epochs by solution quality (Q)</h3>")
    out.append(_table(qrows, header=("Q", "meaning", "epochs", "share"), numeric=(0, 2, 3)))

    p = np.asarray(pos.position_m, dtype=np.float64).reshape(-1, 3)
    if pos.frame == "enu":
        base = np.nanmean(p, axis=0) if n else np.zeros(3)
        enu, origin_label, kind = p - base, "mean baseline", "deviation"
    elif reference is not None:
        enu, origin_label, kind = ecef_to_enu(p, reference), ref_label, "error"
    elif mean is not None:
        enu, origin_label, kind = ecef_to_enu(p, mean), "mean position", "deviation"
    else:
        enu, origin_label, kind = np.full((n, 3), np.nan), "mean position", "deviation"
    if reference is not None and pos.frame != "enu" and n:
        erows = _error_rows("all epochs", _errors(enu))
        if len(np.unique(q)) > 1:
            for c in np.unique(q):
                erows += _error_rows(f"Q={int(c)} ({RTKLIB_QUALITY.get(int(c), ('?',))[0]})", _errors(enu[q == c]))
        out.append(f"<h3>Accuracy against the {html.escape(ref_label)}</h3>")
        out.append(_table(erows, header=_ERROR_HEADER, numeric=(1, 2, 3, 4, 5)))

    groups = [(f"Q={int(c)} {RTKLIB_QUALITY.get(int(c), ('?', 'k'))[0]}",
               RTKLIB_QUALITY.get(int(c), ("?", "k"))[1], q == c) for c in np.unique(q)]
    if pos.frame != "enu":
        out += _location_section(pos.position_m)
    out.append("<h2>Track</h2>")
    out.append(_img(plots.track_png(enu, groups, origin_label=origin_label), "horizontal track",
                    f"Horizontal positions about the {origin_label}, coloured by solution quality Q "
                    "(equal scales)."))
    out.append(f"<h2>East, north, up {kind}</h2>")
    out.append(_img(plots.enu_png(pos.time_ns, enu, kind=kind, origin_label=origin_label),
                    f"east north up {kind}", ""))
    out.append("<h2>Satellites</h2>")
    out.append(_img(plots.count_png(pos.time_ns, pos.ns, label="satellites (ns)"), "satellites",
                    "Number of satellites of each solution (the file's ns column)."))
    return out


# ============================================================================ page
def report_html(solution, *, obs=None, reference_m=None, title=None, detail=None, notes=()) -> str:
    """Text of the HTML report (see :func:`write_report`)."""
    from .._version import __version__

    notes = list(notes)
    is_pos = _is_posfile(solution)
    if is_pos:
        solved = np.ones(len(solution), bool)
        frame_ok = solution.frame != "enu"
        reference, ref_label = (
            _choose_reference(solution.position_m, solved, obs, reference_m, notes) if frame_ok else (None, "")
        )
        if not frame_ok and reference_m is not None:
            notes.append("The file holds baselines (east/north/up), so the reference position is not used.")
        source = solution.path
    elif hasattr(solution, "ztd_m"):  # precise point positioning
        reference, ref_label = _choose_reference(solution.position_m, solution.solved, obs, reference_m, notes)
        source = getattr(obs, "source", "") or ""
    else:
        if not hasattr(solution, "status"):
            raise SatnavError(f"cannot report on a {type(solution).__name__}: expected a Solution or a PosFile")
        reference, ref_label = _choose_reference(solution.position_m, solution.solved, obs, reference_m, notes)
        source = getattr(obs, "source", "") or ""
    if title is None:
        title = f"satnav report: {Path(str(source)).name}" if source else "satnav report"

    body = [f"<h1>{html.escape(title)}</h1>",
            f'<p class="meta">satnav {html.escape(__version__)}'
            + (f" · {html.escape(str(source))}" if source else "") + "</p>"]
    for note in notes:
        body.append(f'<div class="note">{html.escape(note)}</div>')
    body.append("<h2>Summary</h2>")
    if is_pos:
        body += _posfile_sections(solution, reference, ref_label)
        if detail is not None:
            body.append("<h2>Per-satellite detail (re-solved)</h2>")
            body.append(
                '<div class="note">The figures below do not come from the solution file: satnav '
                "re-solved the observations (single point positioning, "
                + html.escape(str(getattr(obs, "source", "") or "the observation file"))
                + ") to obtain satellites, DOP, sky plots and residuals. Its positions may differ "
                "from those of the file.</div>"
            )
            body += _solution_sections(detail, reference, ref_label, with_track=False,
                                       what=" of the re-solution")
    elif hasattr(solution, "ztd_m"):
        body += _ppp_sections(solution, reference, ref_label)
    else:
        body += _solution_sections(solution, reference, ref_label)

    return page_html(title, body)


def page_html(title: str, body) -> str:
    """A whole self-contained page (the report's style sheet and image check) around the
    HTML fragments ``body`` (joined by newlines); ``title`` is the window title."""
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{html.escape(title)}</title>\n<style>{_CSS}</style>\n</head>\n"
        '<body data-images-rendered="pending">\n' + "\n".join(body)
        + f"\n<script>{_SCRIPT}</script>\n</body>\n</html>\n"
    )


def table_html(rows, header=None, numeric=()) -> str:
    """An HTML table of ``rows`` (text is escaped); columns whose index is in ``numeric``
    are right-aligned; without ``header`` the first column is a header column."""
    return _table(rows, header, numeric)


def image_html(png: bytes, alt: str, caption: str = "") -> str:
    """A PNG embedded as a ``data:`` URI in a ``<figure>`` (with its pixel size)."""
    return _img(png, alt, caption)


def write_report(solution, path, *, obs=None, reference_m=None, title=None, detail=None,
                 notes=()) -> Path:
    """Write one self-contained HTML report of a solution.

    Parameters
    ----------
    solution : Solution or PosFile
        A satnav solution, or an RTKLIB/satnav ``.pos`` file read by
        :func:`satnav.io.solution.read_pos`.
    path : str or Path
        Output ``.html`` file.
    obs : Observations, optional
        The observations solved; their header's approximate position is the reference when
        ``reference_m`` is not given (unless it lies more than 1 km from the solution).
    reference_m : array (3,), optional
        Known ECEF position (m): figures show errors against it and the summary its
        horizontal/vertical RMS and 95th percentile; otherwise deviations from the mean.
    title : str, optional
    detail : Solution, optional
        With a PosFile: a solution re-computed from the observations whose per-satellite
        figures (satellites, DOP, sky plots, residuals) are added, marked as re-solved.
    notes : sequence of str
        Remarks shown at the top of the page.

    Returns
    -------
    Path
        ``path``.
    """
    text = report_html(solution, obs=obs, reference_m=reference_m, title=title, detail=detail, notes=notes)
    p = Path(path)
    with atomic_output(p, "w", encoding="utf-8") as fh:
        fh.write(text)
    return p
