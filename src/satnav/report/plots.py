"""Figures of a receiver solution, each rendered to PNG bytes.

Every function takes plain arrays (so that it serves a :class:`~satnav.estimators.solution.Solution`
as well as an RTKLIB ``.pos`` file read by :func:`~satnav.io.solution.read_pos`) and returns
the PNG image as ``bytes``. matplotlib is imported lazily, and only its object-oriented
API is used (``matplotlib.figure.Figure`` rendered by the Agg canvas), so that making a
report never changes the caller's pyplot backend or global state.

Conventions: time axes are GPST (``datetime64``); east/north/up in metres in the local
tangent frame of the origin; azimuth clockwise from north, elevation above the horizon.
"""

from __future__ import annotations

import io

import numpy as np

from ..errors import SatnavError
from ..gnss_time import ns_to_datetime64
from ..satellites import SYSTEM_NAMES, SYSTEMS, satellite_ids, system_of
from ..signals import per_system

__all__ = [
    "SYSTEM_COLORS",
    "track_png",
    "enu_png",
    "satellites_dop_png",
    "count_png",
    "skyplot_png",
    "residuals_png",
    "lines_png",
    "location_png",
    "location_map",
]

#: Colour of each system in every figure (:attr:`satnav.signals.SystemSignals.color`).
SYSTEM_COLORS = per_system("color")

_DPI = 100


def _figure(width_in: float, height_in: float):
    """A new matplotlib Figure (no pyplot); raises SatnavError without matplotlib."""
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise SatnavError(
            "the HTML report needs matplotlib, which is not installed: pip install 'satnav[plot]'"
        ) from None
    return Figure(figsize=(width_in, height_in), dpi=_DPI, layout="constrained")


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=_DPI)
    return buf.getvalue()


def _no_data(ax, text="no data"):
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color="0.4")


def _time_axis(ax, label="time (GPST)"):
    import matplotlib.dates as mdates

    locator = mdates.AutoDateLocator()
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    ax.set_xlabel(label)
    ax.grid(True, alpha=0.3)


def track_png(enu_m, groups, *, origin_label: str = "mean position") -> bytes:
    """Horizontal track: north against east (m) about an origin, equal aspect.

    Parameters
    ----------
    enu_m : array (m, 3)
        East/north/up (m) of each epoch relative to the origin (NaN where unsolved).
    groups : list of (label, colour, mask)
        Epoch classes drawn in their own colour (e.g. by status or RTKLIB Q); ``mask`` is a
        boolean array (m,).
    origin_label : str
        What the origin (0, 0) is, for the axis labels.
    """
    enu = np.asarray(enu_m, dtype=np.float64).reshape(-1, 3)
    fig = _figure(6.4, 5.6)
    ax = fig.add_subplot()
    finite = np.all(np.isfinite(enu[:, :2]), axis=1)
    if finite.any():
        ax.plot(enu[finite, 0], enu[finite, 1], "-", color="0.75", lw=0.6, zorder=1)
        for label, color, mask in groups:
            sel = np.asarray(mask, dtype=bool) & finite
            if sel.any():
                ax.plot(enu[sel, 0], enu[sel, 1], "o", ms=2.5, color=color, zorder=2,
                        label=f"{label} ({int(sel.sum())})", rasterized=True)
        ax.plot([0], [0], "+", color="k", ms=14, mew=1.5, zorder=3, label=origin_label)
        ax.legend(loc="best", fontsize=8, framealpha=0.8)
    else:
        _no_data(ax, "no solved epoch")
    ax.set_aspect("equal", adjustable="datalim")
    ax.set_xlabel(f"east of {origin_label} (m)")
    ax.set_ylabel(f"north of {origin_label} (m)")
    ax.grid(True, alpha=0.3)
    return _png(fig)


def enu_png(time_ns, enu_m, *, kind: str = "deviation", origin_label: str = "mean position",
            flagged=None) -> bytes:
    """East, north and up (m) over time, three stacked panels sharing the time axis.

    Parameters
    ----------
    time_ns : array int64 (m,)
        Epochs, GPST ns.
    enu_m : array (m, 3)
        East/north/up (m) relative to the origin (NaN where unsolved).
    kind : str
        ``"error"`` (origin is a known reference) or ``"deviation"`` (origin is the mean),
        used in the axis labels.
    flagged : array bool (m,), optional
        Epochs solved but flagged by the integrity checks, drawn in red.
    """
    t = ns_to_datetime64(np.asarray(time_ns, dtype=np.int64))
    enu = np.asarray(enu_m, dtype=np.float64).reshape(-1, 3)
    fig = _figure(9.0, 6.0)
    axes = fig.subplots(3, 1, sharex=True)
    flagged = np.zeros(len(t), bool) if flagged is None else np.asarray(flagged, dtype=bool)
    for k, (ax, name) in enumerate(zip(axes, ("east", "north", "up"))):
        v = enu[:, k]
        finite = np.isfinite(v)
        if finite.any():
            ax.plot(t, v, "-", color="0.6", lw=0.6)
            good = finite & ~flagged
            ax.plot(t[good], v[good], ".", ms=2.5, color="#1f77b4", rasterized=True)
            if (finite & flagged).any():
                ax.plot(t[finite & flagged], v[finite & flagged], ".", ms=3, color="#d62728",
                        label="flagged", rasterized=True)
                ax.legend(loc="upper right", fontsize=8)
            ax.axhline(0.0, color="k", lw=0.6)
            rms = float(np.sqrt(np.mean(v[finite] ** 2)))
            ax.text(0.01, 0.95, f"RMS {rms:.2f} m", transform=ax.transAxes, va="top", fontsize=8,
                    bbox={"facecolor": "white", "alpha": 0.7, "edgecolor": "none"})
        else:
            _no_data(ax)
        ax.set_ylabel(f"{name} {kind} (m)")
        ax.grid(True, alpha=0.3)
    axes[0].set_title(f"{kind} relative to the {origin_label}", fontsize=10)
    _time_axis(axes[-1])
    return _png(fig)


def satellites_dop_png(time_ns, n_by_system, dop=None) -> bytes:
    """Satellites used per system (stacked) and, when given, DOP over time.

    Parameters
    ----------
    time_ns : array int64 (m,)
    n_by_system : dict str -> array int (m,)
        Satellites used per system letter.
    dop : dict str -> array (m,), optional
        DOP series by name (``{"PDOP": ..., "HDOP": ..., "VDOP": ...}``), NaN where unsolved.
    """
    t = ns_to_datetime64(np.asarray(time_ns, dtype=np.int64))
    fig = _figure(9.0, 5.2 if dop else 3.0)
    axes = np.atleast_1d(fig.subplots(2 if dop else 1, 1, sharex=True))
    ax = axes[0]
    letters = [s for s in SYSTEMS if s in n_by_system] + [s for s in n_by_system if s not in SYSTEMS]
    series = [np.asarray(n_by_system[s], dtype=np.float64) for s in letters]
    if len(t) and series:
        ax.stackplot(t, *series, step="post", colors=[SYSTEM_COLORS.get(s, "0.5") for s in letters],
                     labels=[SYSTEM_NAMES.get(s, s) for s in letters], alpha=0.85)
        total = np.sum(series, axis=0)
        ax.set_ylim(0, max(4.0, float(np.max(total)) + 1.0))
        ax.legend(loc="upper left", fontsize=8, ncol=len(letters), framealpha=0.8)
    else:
        _no_data(ax)
    ax.set_ylabel("satellites used")
    ax.grid(True, alpha=0.3)
    if dop:
        ax = axes[1]
        anything = False
        for (name, v), color in zip(dop.items(), ("k", "#1f77b4", "#d62728", "#2ca02c", "#9467bd")):
            v = np.asarray(v, dtype=np.float64)
            if np.isfinite(v).any():
                ax.plot(t, v, "-", lw=0.9, color=color, label=name)
                anything = True
        if anything:
            finite = np.concatenate([np.asarray(v, float)[np.isfinite(v)] for v in dop.values()])
            top = float(np.percentile(finite, 99)) if finite.size else 5.0
            ax.set_ylim(0, max(2.0, 1.15 * top))
            ax.legend(loc="upper left", fontsize=8, ncol=len(dop))
        else:
            _no_data(ax)
        ax.set_ylabel("DOP")
    _time_axis(axes[-1])
    return _png(fig)


def count_png(time_ns, count, *, label: str = "satellites") -> bytes:
    """One count over time (e.g. the ``ns`` column of an RTKLIB ``.pos`` file)."""
    t = ns_to_datetime64(np.asarray(time_ns, dtype=np.int64))
    fig = _figure(9.0, 3.0)
    ax = fig.add_subplot()
    c = np.asarray(count, dtype=np.float64)
    if len(t):
        ax.step(t, c, where="post", color="#1f77b4", lw=1.0)
        ax.set_ylim(0, max(4.0, float(np.nanmax(c)) + 1.0) if np.isfinite(c).any() else 4.0)
    else:
        _no_data(ax)
    ax.set_ylabel(label)
    _time_axis(ax)
    return _png(fig)


def skyplot_png(azimuth_rad, elevation_rad, satellites, used=None, *, title: str = "") -> bytes:
    """Polar sky plot of satellite tracks (north up, azimuth clockwise, zenith at the centre).

    Parameters
    ----------
    azimuth_rad, elevation_rad : array (m, n)
        Per epoch and satellite column (NaN where unknown). Only points above the horizon
        are drawn.
    satellites : array int16 (n,)
        Satellite indices of the columns (labels at the end of each track).
    used : array bool (m, n), optional
        Measurement used in the solution: drawn in the satellite's colour; points not used
        (below the mask, excluded, no ephemeris) are drawn light grey.
    """
    az = np.asarray(azimuth_rad, dtype=np.float64)
    el = np.degrees(np.asarray(elevation_rad, dtype=np.float64))
    sats = np.asarray(satellites)
    fig = _figure(5.0, 5.0)
    ax = fig.add_subplot(projection="polar")
    ax.set_theta_zero_location("N")
    ax.set_theta_direction(-1)
    ax.set_rlim(0, 90)
    ax.set_rticks([0, 15, 30, 45, 60, 75, 90])
    ax.set_yticklabels(["90°", "75°", "60°", "45°", "30°", "15°", "0°"], fontsize=7)
    ax.set_xticks(np.radians(np.arange(0, 360, 45)))
    ax.set_xticklabels(["N", "NE", "E", "SE", "S", "SW", "W", "NW"])
    visible = np.isfinite(az) & np.isfinite(el) & (el >= 0)
    ids = satellite_ids(sats) if sats.size else np.array([], dtype="<U3")
    try:
        import matplotlib as mpl

        cmap = mpl.colormaps["tab20"]
    except (ImportError, KeyError, AttributeError):  # pragma: no cover
        cmap = None
    drawn = 0
    for j in range(sats.size):  # loop over satellite columns (tens), not epochs
        vis = visible[:, j]
        if not vis.any():
            continue
        color = cmap(drawn % 20) if cmap is not None else None
        r = np.where(vis, 90.0 - el[:, j], np.nan)
        a = np.where(vis, az[:, j], np.nan)
        ax.plot(a, r, "-", color="0.8", lw=1.0)
        if used is not None:
            u = np.asarray(used[:, j], dtype=bool) & vis
            ax.plot(np.where(u, a, np.nan), np.where(u, r, np.nan), "-", color=color, lw=2.0)
        else:
            ax.plot(a, r, "-", color=color, lw=2.0)
        last = np.flatnonzero(vis)[-1]
        ax.text(a[last], r[last], str(ids[j]), fontsize=7, ha="center", va="center",
                bbox={"boxstyle": "round,pad=0.15", "facecolor": "white", "alpha": 0.8,
                      "edgecolor": color if color is not None else "k"})
        drawn += 1
    if not drawn:
        ax.text(0, 0, "no satellite above the horizon", ha="center", va="center", color="0.4")
    if title:
        ax.set_title(title, fontsize=10, pad=14)
    return _png(fig)


def residuals_png(time_ns, residuals_m, satellites, used, excluded=None, *,
                  title: str = "post-fit pseudorange residuals", min_span_m: float = 1.0) -> bytes:
    """Post-fit pseudorange residuals (m) over time, one panel per system (``title`` and the
    least y span ``min_span_m`` for other residuals, e.g. PPP phases).

    Used measurements are drawn in the system colour; measurements excluded by fault
    detection as red crosses (their misfit). The y range of each panel covers the used
    residuals (0.1-99.9th percentile, widened), so that one huge excluded residual does not
    flatten the rest; points outside the range are drawn clipped to its edge.
    """
    t = ns_to_datetime64(np.asarray(time_ns, dtype=np.int64))
    res = np.asarray(residuals_m, dtype=np.float64)
    used = np.asarray(used, dtype=bool)
    excluded = np.zeros_like(used) if excluded is None else np.asarray(excluded, dtype=bool)
    sats = np.asarray(satellites)
    sys_of = system_of(sats) if sats.size else np.array([], dtype="<U1")
    letters = [s for s in SYSTEMS if np.any((sys_of == s)[None, :] & (used | excluded))]
    fig = _figure(9.0, 1.0 + 2.0 * max(1, len(letters)))
    axes = np.atleast_1d(fig.subplots(max(1, len(letters)), 1, sharex=True, squeeze=False)[:, 0])
    if not letters:
        _no_data(axes[0], "no residuals")
    for ax, s in zip(axes, letters):
        cols = np.flatnonzero(sys_of == s)
        r = res[:, cols]
        u = used[:, cols] & np.isfinite(r)
        x = excluded[:, cols] & np.isfinite(r)
        ru = np.where(u, r, np.nan)
        if u.any():
            lo, hi = np.percentile(r[u], [0.1, 99.9])
            span = max(hi - lo, min_span_m)
            lo, hi = lo - 0.1 * span, hi + 0.1 * span
        else:
            lo, hi = -10.0, 10.0
        ax.plot(t, np.clip(ru, lo, hi), ".", ms=1.5, color=SYSTEM_COLORS.get(s, "k"), rasterized=True)
        if x.any():
            ei, ej = np.nonzero(x)
            ax.plot(t[ei], np.clip(r[ei, ej], lo, hi), "x", ms=4, color="#d62728",
                    label=f"excluded ({int(x.sum())})")
            ax.legend(loc="upper right", fontsize=8)
        ax.axhline(0.0, color="k", lw=0.6)
        ax.set_ylim(lo, hi)
        rms = float(np.sqrt(np.mean(r[u] ** 2))) if u.any() else float("nan")
        ax.set_ylabel(f"{SYSTEM_NAMES.get(s, s)} (m)")
        ax.text(0.01, 0.95, f"RMS {rms:.3f} m ({int(u.sum())} used)" if min_span_m < 1.0 else
                f"RMS {rms:.2f} m ({int(u.sum())} used)", transform=ax.transAxes,
                va="top", fontsize=8, bbox={"facecolor": "white", "alpha": 0.7, "edgecolor": "none"})
        ax.grid(True, alpha=0.3)
    axes[0].set_title(title, fontsize=10)
    _time_axis(axes[-1])
    return _png(fig)


def fractions_png(panels) -> bytes:
    """Histograms of fractional parts of ambiguities (cycles, -0.5..0.5): ``panels`` a list of
    (title, values)."""
    fig = _figure(4.5 * max(len(panels), 1), 3.0)
    axes = fig.subplots(1, max(len(panels), 1), squeeze=False)[0]
    for ax, (title, values) in zip(axes, panels):
        v = np.asarray(values, dtype=np.float64)
        v = v[np.isfinite(v)]
        if len(v):
            ax.hist(v, bins=np.linspace(-0.5, 0.5, 21), color="#1f77b4", edgecolor="white")
        else:
            _no_data(ax)
        ax.set_xlim(-0.5, 0.5)
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("fraction (cycles)")
        ax.grid(True, alpha=0.3)
    axes[0].set_ylabel("count")
    return _png(fig)


def lines_png(time_ns, panels, *, width_in: float = 9.0, panel_height_in: float = 2.8) -> bytes:
    """Labelled curves over time, one panel per ``(ylabel, {label: values})`` of ``panels``
    (a shared GPST time axis; e.g. the errors of several solutions against the truth)."""
    t = ns_to_datetime64(np.asarray(time_ns, dtype=np.int64))
    panels = list(panels)
    fig = _figure(width_in, panel_height_in * max(len(panels), 1) + 0.6)
    axes = fig.subplots(max(len(panels), 1), 1, sharex=True, squeeze=False)[:, 0]
    for ax, (ylabel, series) in zip(axes, panels):
        if len(t) and series:
            for label, values in series.items():
                ax.plot(t, np.asarray(values, dtype=np.float64), lw=1.0, label=str(label))
            ax.legend(fontsize=7, ncol=2)
        else:
            _no_data(ax)
        ax.set_ylabel(ylabel)
        ax.grid(True, alpha=0.3)
    _time_axis(axes[-1])
    return _png(fig)


def location_png(position_m, *, label: str = "mean position", min_span_deg: float = 16.0) -> bytes:
    """Where the receiver is: :func:`location_map` as a PNG."""
    fig = _figure(6.4, 5.2)
    location_map(fig.add_subplot(), position_m, label=label, min_span_deg=min_span_deg)
    return _png(fig)


def location_map(ax, position_m, *, label: str = "mean position", min_span_deg: float = 16.0):
    """Draw on ``ax`` a regional map (equirectangular, GSHHG coastlines and borders,
    :mod:`satnav.report.basemap`) with the positions as a red track and a star at their
    mean; returns the :class:`~satnav.report.basemap.MapAxes` (None without a position).

    Parameters
    ----------
    position_m : array (m, 3)
        ECEF positions (m) of the epochs to show (NaN rows are left out).
    label : str
        Name of the star (the mean position).
    min_span_deg : float
        Smallest width and height of the map (deg): a static receiver is shown with its
        surroundings.
    """
    from ..frames import ecef_to_geodetic
    from .basemap import region_extent, region_map

    xyz = np.asarray(position_m, dtype=np.float64).reshape(-1, 3)
    xyz = xyz[np.all(np.isfinite(xyz), axis=1)]
    if not len(xyz):
        _no_data(ax, "no solved epoch")
        return None
    lat, lon, _ = ecef_to_geodetic(xyz)
    lat, lon = np.degrees(lat), np.degrees(lon)
    extent = region_extent(lon, lat, margin_deg=2.0, min_span_deg=min_span_deg)
    m = region_map(ax, extent)
    centre = 0.5 * (extent[0] + extent[1])
    lon = centre + (lon - centre + 180.0) % 360.0 - 180.0  # continuous over the antimeridian
    x, y = m.xy(lon, lat)
    ax.plot(x, y, "-", color="#d62728", lw=1.2, zorder=5)
    mean_lat, mean_lon, _ = ecef_to_geodetic(np.mean(xyz, axis=0))
    mean_lat = np.degrees(float(mean_lat))
    mean_lon = centre + (np.degrees(float(mean_lon)) - centre + 180.0) % 360.0 - 180.0
    xm, ym = m.xy(mean_lon, mean_lat)
    ax.plot([xm], [ym], "*", color="#ffd400", mec="k", mew=0.7, ms=14, zorder=6)
    ax.set_title(f"star: {label} {mean_lat:.4f}°, {(mean_lon + 180) % 360 - 180:.4f}°", fontsize=9)
    return m
