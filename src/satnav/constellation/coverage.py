"""Service coverage: visible satellites, DOPs and availability at a site or over a region.

Satellite positions come from any satellite-state source (:mod:`satnav.orbits.sources`):
real broadcast navigation data (:class:`satnav.navigation.Navigation`, through
:func:`satnav.orbits.ephemeris.broadcast_states`, invalid/unhealthy states left out), precise
products, or a designed :class:`~satnav.constellation.design.Constellation` (propagated
numerically, :mod:`satnav.constellation.propagate`); a list mixes them.

DOPs: the usual least-squares geometry of :mod:`satnav.estimators.dop` (Misra & Enge,
*Global Positioning System*, 2nd ed., sec. 6.1.2) for every satellite above the elevation
mask. By default one receiver clock for all systems (as for a combined-system receiver with
known inter-system biases); ``clock_per_system=True`` adds one clock column per system
present (TDOP is then the first system's). Fewer satellites than unknowns -> NaN DOPs
(counted as unavailable).

Plotting (PNG) needs matplotlib, imported only when a plot is asked for (Agg backend).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..estimators.dop import dilution_of_precision_enu
from ..frames import enu_rotation, geodetic_to_ecef
from ..gnss_time import NS_PER_S, format_gpst
from ..io.atomic import atomic_output
from ..progress import ProgressCounter
from ..satellites import SYSTEMS, satellite_ids, system_of

__all__ = [
    "SiteCoverage",
    "RegionCoverage",
    "satellite_positions",
    "dops",
    "plan_site",
    "plan_region",
    "write_site_csv",
    "write_region_csv",
    "plot_site",
    "plot_region",
]

_DOP_NAMES = ("GDOP", "PDOP", "HDOP", "VDOP", "TDOP")


def satellite_positions(source, times_ns, systems=None) -> tuple[np.ndarray, np.ndarray]:
    """ECEF positions (m) of every satellite of ``source`` at ``times_ns``.

    Parameters
    ----------
    source : Navigation, Constellation, SP3, a satellite-state source, or a list/tuple of them
        Anything :func:`satnav.orbits.sources.state_source` accepts; a list gives the
        satellites of each part side by side.
    times_ns : int64 array (T,)
        GPST ns.
    systems : str, optional
        System letters to keep (e.g. ``"GRE"``); default all.

    Returns
    -------
    sat : int16 array (N,)
    position_m : ndarray (T, N, 3)
        NaN where a broadcast state is invalid (no message, expired, unhealthy).
    """
    from ..orbits.sources import PreciseSource, state_source

    times = np.atleast_1d(np.asarray(times_ns, dtype=np.int64))
    if isinstance(source, (list, tuple)) and not isinstance(state_source(source), PreciseSource):
        # each part's satellites, side by side
        parts = [satellite_positions(s, times, systems) for s in source]
        if not parts:
            return np.zeros(0, np.int16), np.zeros((len(times), 0, 3))
        return (
            np.concatenate([p[0] for p in parts]),
            np.concatenate([p[1] for p in parts], axis=1),
        )
    states_of = state_source(source)
    sat = states_of.satellites
    if systems is not None:
        sat = sat[np.isin(system_of(sat), list(systems))]
    if len(sat) == 0:
        return sat, np.zeros((len(times), 0, 3))
    states = states_of(sat[None, :], times[:, None])
    pos = np.where(states.valid[..., None], states.position_m, np.nan)
    return sat, pos


def _look_angles(receiver_ecef, sat_ecef):
    """Unit ENU line-of-sight vectors and elevation/azimuth (rad).

    receiver_ecef (P, 3); sat_ecef (T, N, 3) -> los (P, T, N, 3), elevation, azimuth (P, T, N).
    """
    from ..frames import ecef_to_geodetic

    rx = np.asarray(receiver_ecef, dtype=np.float64).reshape(-1, 3)
    lat, lon, _ = ecef_to_geodetic(rx)
    rot = enu_rotation(lat, lon)  # (P, 3, 3)
    d = sat_ecef[None, :, :, :] - rx[:, None, None, :]
    enu = np.einsum("pij,ptnj->ptni", rot, d)
    rng = np.linalg.norm(enu, axis=-1)
    los = enu / rng[..., None]
    elevation = np.arcsin(np.clip(los[..., 2], -1.0, 1.0))
    azimuth = np.mod(np.arctan2(los[..., 0], los[..., 1]), 2 * np.pi)
    return los, elevation, azimuth


def dops(los_enu, visible, system_of_sat=None, clock_per_system: bool = False) -> dict:
    """Dilutions of precision from unit ENU line-of-sight vectors, by name.

    The computation is :func:`satnav.estimators.dop.dilution_of_precision_enu`; this adapter
    turns system letters into clock groups and returns a dict.

    Parameters
    ----------
    los_enu : array (..., N, 3)
        Unit vectors receiver -> satellite in east-north-up.
    visible : bool array (..., N)
        Satellites used (above the mask, valid).
    system_of_sat : array (N,) of system letters, optional
        Needed with ``clock_per_system``.
    clock_per_system : bool
        One receiver clock per system (of those in ``system_of_sat``, in satnav's system
        order) instead of one common clock.

    Returns
    -------
    dict
        ``"GDOP"``, ``"PDOP"``, ``"HDOP"``, ``"VDOP"``, ``"TDOP"`` -> arrays (...); NaN where
        the geometry cannot be solved. A system with no visible satellite is left out of
        that epoch's model; TDOP (the first system's clock) is NaN then when it is the first.
    """
    group = n_groups = None
    if clock_per_system and system_of_sat is not None:
        letters_of_sat = np.asarray(system_of_sat)
        letters = [s for s in SYSTEMS if s in set(letters_of_sat.tolist())]
        group = np.zeros(letters_of_sat.shape, dtype=np.intp)
        for k, letter in enumerate(letters):
            group[letters_of_sat == letter] = k
        n_groups = len(letters)
    values = dilution_of_precision_enu(los_enu, visible, group, n_groups)
    return dict(zip(_DOP_NAMES, values))


@dataclass
class SiteCoverage:
    """Visibility and DOPs over time at one site (see :func:`plan_site`).

    Attributes
    ----------
    times_ns : int64 (T,)
    sat : int16 (N,)
    site_ecef : (3,) m
    mask_deg : float
    elevation_deg, azimuth_deg : (T, N), NaN where no valid position
    visible : bool (T, N)
    counts : dict
        System letter -> visible satellites (T,) int; ``"all"`` for the total.
    dop : dict
        ``"GDOP"``... -> (T,)
    """

    times_ns: np.ndarray
    sat: np.ndarray
    site_ecef: np.ndarray
    mask_deg: float
    elevation_deg: np.ndarray
    azimuth_deg: np.ndarray
    visible: np.ndarray
    counts: dict = field(default_factory=dict)
    dop: dict = field(default_factory=dict)

    def summary(self) -> dict:
        """Mean visible satellites per system and DOP median/95th percentile."""
        out = {f"mean_visible_{k}": float(np.mean(v)) for k, v in self.counts.items()}
        for name, v in self.dop.items():
            finite = v[np.isfinite(v)]
            out[f"{name}_median"] = float(np.median(finite)) if finite.size else float("nan")
            out[f"{name}_p95"] = float(np.percentile(finite, 95)) if finite.size else float("nan")
        return out


def _time_grid(start_ns, end_ns, step_s):
    step = int(round(step_s * NS_PER_S))
    if step <= 0 or end_ns < start_ns:
        raise ValueError("need end >= start and a positive step")
    return np.arange(int(start_ns), int(end_ns) + 1, step, dtype=np.int64)


def plan_site(
    source,
    site_ecef,
    start_ns: int,
    end_ns: int,
    step_s: float = 300.0,
    mask_deg: float = 10.0,
    *,
    systems: str | None = None,
    clock_per_system: bool = False,
) -> SiteCoverage:
    """Visible satellites per system and DOPs at a site over a time span.

    Parameters
    ----------
    source : Navigation, Constellation or list of them
        Real broadcast navigation data and/or designed constellations.
    site_ecef : array (3,)
        Receiver ECEF position (m).
    start_ns, end_ns : int
        GPST ns, inclusive.
    step_s : float
        Time step (s).
    mask_deg : float
        Elevation mask (deg).
    systems : str, optional
        Letters of the systems to use (default all in ``source``).
    clock_per_system : bool
        DOP with one receiver clock per system.
    """
    times = _time_grid(start_ns, end_ns, step_s)
    site = np.asarray(site_ecef, dtype=np.float64).reshape(3)
    sat, pos = satellite_positions(source, times, systems)
    los, el, az = _look_angles(site, pos)
    los, el, az = los[0], el[0], az[0]
    visible = np.isfinite(el) & (el >= np.deg2rad(mask_deg))
    letters = system_of(np.asarray(sat))
    counts = {s: visible[:, letters == s].sum(axis=1) for s in SYSTEMS if np.any(letters == s)}
    counts["all"] = visible.sum(axis=1)
    return SiteCoverage(
        times_ns=times,
        sat=np.asarray(sat, dtype=np.int16),
        site_ecef=site,
        mask_deg=float(mask_deg),
        elevation_deg=np.rad2deg(el),
        azimuth_deg=np.rad2deg(az),
        visible=visible,
        counts=counts,
        dop=dops(los, visible, letters, clock_per_system),
    )


@dataclass
class RegionCoverage:
    """Coverage maps over a latitude/longitude grid (see :func:`plan_region`).

    Attributes
    ----------
    lat_deg : (A,), lon_deg : (B,)
        Grid (geodetic, deg).
    times_ns : (T,)
    mask_deg, pdop_threshold : float
    mean_visible : (A, B)
        Mean number of visible satellites.
    mean_visible_by_system : dict letter -> (A, B)
    pdop_percentiles : dict percentile (50, 95, ...) -> (A, B); epochs without a solvable
        geometry count as infinite PDOP; the "higher" sample is taken (no interpolation)
    availability : (A, B)
        Fraction of epochs with PDOP <= ``pdop_threshold``.
    """

    lat_deg: np.ndarray
    lon_deg: np.ndarray
    times_ns: np.ndarray
    mask_deg: float
    pdop_threshold: float
    mean_visible: np.ndarray
    mean_visible_by_system: dict
    pdop_percentiles: dict
    availability: np.ndarray


def plan_region(
    source,
    lat_range_deg,
    lon_range_deg,
    grid_step_deg: float,
    start_ns: int,
    end_ns: int,
    step_s: float = 900.0,
    mask_deg: float = 10.0,
    *,
    pdop_threshold: float = 6.0,
    percentiles=(50, 95),
    height_m: float = 0.0,
    systems: str | None = None,
    clock_per_system: bool = False,
    chunk_points: int = 256,
    progress=None,
) -> RegionCoverage:
    """Maps of mean visible satellites, PDOP percentiles and availability over a region.

    Parameters
    ----------
    source : Navigation, Constellation or list of them
    lat_range_deg, lon_range_deg : (min, max)
        Box (deg), both ends included when on the grid.
    grid_step_deg : float
        Grid spacing (deg).
    start_ns, end_ns, step_s : time span (GPST ns) and step (s)
    mask_deg : float
        Elevation mask (deg).
    pdop_threshold : float
        Availability = fraction of epochs with PDOP <= this.
    percentiles : sequence of float
        PDOP percentiles to map.
    height_m : float
        Ellipsoidal height of the grid points (m).
    progress : callable, optional
        ``progress(points_done, grid_points)`` after each chunk of ``chunk_points`` grid
        points (:mod:`satnav.progress`).
    """
    check_grid(lat_range_deg, lon_range_deg, grid_step_deg)
    lat = np.arange(lat_range_deg[0], lat_range_deg[1] + 1e-9, grid_step_deg)
    lon = np.arange(lon_range_deg[0], lon_range_deg[1] + 1e-9, grid_step_deg)
    times = _time_grid(start_ns, end_ns, step_s)
    sat, pos = satellite_positions(source, times, systems)
    letters = system_of(np.asarray(sat))
    glat, glon = np.meshgrid(lat, lon, indexing="ij")
    points = geodetic_to_ecef(np.deg2rad(glat.ravel()), np.deg2rad(glon.ravel()), height_m)
    npts = len(points)
    mean_vis = np.empty(npts)
    by_sys = {s: np.empty(npts) for s in SYSTEMS if np.any(letters == s)}
    pct = {p: np.empty(npts) for p in percentiles}
    avail = np.empty(npts)
    mask = np.deg2rad(mask_deg)
    counter = ProgressCounter(progress, npts)
    counter.update(0)
    for lo in range(0, npts, chunk_points):
        hi = min(lo + chunk_points, npts)
        los, el, _ = _look_angles(points[lo:hi], pos)
        vis = np.isfinite(el) & (el >= mask)
        mean_vis[lo:hi] = vis.sum(axis=-1).mean(axis=-1)
        for s in by_sys:
            by_sys[s][lo:hi] = vis[..., letters == s].sum(axis=-1).mean(axis=-1)
        pdop = dops(los, vis, letters, clock_per_system)["PDOP"]
        pdop_inf = np.where(np.isfinite(pdop), pdop, np.inf)
        for p in percentiles:
            pct[p][lo:hi] = np.percentile(pdop_inf, p, axis=-1, method="higher")
        avail[lo:hi] = np.mean(pdop_inf <= pdop_threshold, axis=-1)
        counter.update(hi)
    counter.finish()
    shape = glat.shape
    return RegionCoverage(
        lat_deg=lat,
        lon_deg=lon,
        times_ns=times,
        mask_deg=float(mask_deg),
        pdop_threshold=float(pdop_threshold),
        mean_visible=mean_vis.reshape(shape),
        mean_visible_by_system={s: v.reshape(shape) for s, v in by_sys.items()},
        pdop_percentiles={p: v.reshape(shape) for p, v in pct.items()},
        availability=avail.reshape(shape),
    )


#: Most grid points of a region map (a 0.5 deg global grid has 260 281).
MAX_GRID_POINTS = 300_000


def grid_point_count(lat_range_deg, lon_range_deg, grid_step_deg: float) -> float:
    """Number of points of the :func:`plan_region` grid (computed, not allocated)."""
    if not (np.isfinite(grid_step_deg) and grid_step_deg > 0):
        return float("inf")
    n_lat = np.floor((lat_range_deg[1] - lat_range_deg[0] + 1e-9) / grid_step_deg) + 1
    n_lon = np.floor((lon_range_deg[1] - lon_range_deg[0] + 1e-9) / grid_step_deg) + 1
    return float(n_lat * n_lon)


def check_grid(lat_range_deg, lon_range_deg, grid_step_deg: float) -> None:
    """SatnavError when the region grid would have more than :data:`MAX_GRID_POINTS` points
    (or a step that is not a positive number)."""
    from ..errors import SatnavError

    if not (np.isfinite(grid_step_deg) and grid_step_deg > 0):
        raise SatnavError(f"grid step {grid_step_deg!r} deg: expected a positive number of degrees")
    n = grid_point_count(lat_range_deg, lon_range_deg, grid_step_deg)
    if n > MAX_GRID_POINTS:
        raise SatnavError(
            f"grid step {grid_step_deg:g} deg over {lat_range_deg[1] - lat_range_deg[0]:g} x "
            f"{lon_range_deg[1] - lon_range_deg[0]:g} deg gives {n:.3g} grid points, expected at most "
            f"{MAX_GRID_POINTS} (a larger --grid or a smaller --region)"
        )


# --- output --------------------------------------------------------------------------
def write_site_csv(cov: SiteCoverage, path) -> None:
    """One row per epoch: time (GPST), visible satellites per system and total, DOPs."""
    systems = [k for k in cov.counts if k != "all"]
    with atomic_output(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(
            ["time_gpst"] + [f"visible_{s}" for s in systems] + ["visible_all"] + list(_DOP_NAMES)
        )
        for i, t in enumerate(cov.times_ns):
            dop_vals = [f"{cov.dop[n][i]:.3f}" if np.isfinite(cov.dop[n][i]) else "" for n in _DOP_NAMES]
            w.writerow(
                [format_gpst(t)]
                + [int(cov.counts[s][i]) for s in systems]
                + [int(cov.counts["all"][i])]
                + dop_vals
            )


def write_region_csv(cov: RegionCoverage, path) -> None:
    """One row per grid point: lat, lon, mean visible (total and per system), PDOP
    percentiles, availability."""
    systems = list(cov.mean_visible_by_system)
    pcts = list(cov.pdop_percentiles)
    with atomic_output(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(
            ["lat_deg", "lon_deg", "mean_visible"]
            + [f"mean_visible_{s}" for s in systems]
            + [f"pdop_p{p:g}" for p in pcts]
            + [f"availability_pdop_le_{cov.pdop_threshold:g}"]
        )
        for i, la in enumerate(cov.lat_deg):
            for j, lo in enumerate(cov.lon_deg):
                w.writerow(
                    [f"{la:.4f}", f"{lo:.4f}", f"{cov.mean_visible[i, j]:.3f}"]
                    + [f"{cov.mean_visible_by_system[s][i, j]:.3f}" for s in systems]
                    + [
                        f"{cov.pdop_percentiles[p][i, j]:.3f}"
                        if np.isfinite(cov.pdop_percentiles[p][i, j])
                        else "inf"
                        for p in pcts
                    ]
                    + [f"{cov.availability[i, j]:.4f}"]
                )


def _pyplot():
    """pyplot's ``figure``/``subplots``/``close`` made of plain ``matplotlib.figure.Figure``
    objects: no backend is chosen and the caller's pyplot state is left alone."""
    try:
        from matplotlib.figure import Figure
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("coverage plots need matplotlib (pip install matplotlib)") from exc

    class _Figures:
        @staticmethod
        def figure(figsize=None):
            return Figure(figsize=figsize)

        @staticmethod
        def subplots(nrows=1, ncols=1, figsize=None):
            fig = Figure(figsize=figsize)
            return fig, fig.subplots(nrows, ncols)

        @staticmethod
        def close(fig):
            pass

    return _Figures


def plot_site(cov: SiteCoverage, path) -> None:
    """PNG: visible satellites per system and DOPs over time, and a skyplot."""
    plt = _pyplot()
    hours = (cov.times_ns - cov.times_ns[0]) / 3600e9
    fig = plt.figure(figsize=(12, 5))
    ax1 = fig.add_subplot(2, 2, 1)
    for k, v in cov.counts.items():
        ax1.step(hours, v, where="post", label=k)
    ax1.set_ylabel("visible satellites")
    ax1.legend(fontsize=7, ncol=4)
    ax2 = fig.add_subplot(2, 2, 3, sharex=ax1)
    for name in ("PDOP", "HDOP", "VDOP"):
        ax2.plot(hours, cov.dop[name], label=name)
    ax2.set_xlabel(f"hours since {format_gpst(cov.times_ns[0])}")
    ax2.set_ylabel("DOP")
    ax2.legend(fontsize=7)
    ax3 = fig.add_subplot(1, 2, 2, projection="polar")
    ax3.set_theta_zero_location("N")
    ax3.set_theta_direction(-1)
    ids = satellite_ids(cov.sat)
    for j in range(len(cov.sat)):
        m = cov.visible[:, j]
        if np.any(m):
            ax3.plot(np.deg2rad(cov.azimuth_deg[m, j]), 90 - cov.elevation_deg[m, j], ".", ms=2)
            k = np.flatnonzero(m)[len(np.flatnonzero(m)) // 2]
            ax3.annotate(ids[j], (np.deg2rad(cov.azimuth_deg[k, j]), 90 - cov.elevation_deg[k, j]),
                         fontsize=6)  # fmt: skip
    ax3.set_rlim(0, 90)
    ax3.set_title(f"skyplot, mask {cov.mask_deg:g} deg", fontsize=9)
    fig.tight_layout()
    with atomic_output(path, "wb") as fh:
        fig.savefig(fh, dpi=110, format=Path(path).suffix.lstrip(".").lower() or "png")
    plt.close(fig)


def plot_region(cov: RegionCoverage, path) -> list:
    """PNG: maps of mean visible satellites, PDOP (highest percentile) and availability,
    over coastlines and borders (:mod:`satnav.report.basemap`; equirectangular over the box,
    Equal Earth for most of the world).

    Each grid value fills the cell around its grid point (half a grid step each way).
    Returns the :class:`~satnav.report.basemap.MapAxes` of the three panels (their
    ``pixel(lon, lat)`` locates a place in the PNG written).
    """
    from ..report.basemap import draw_basemap, label_region_axes, projection_for

    plt = _pyplot()
    top = max(cov.pdop_percentiles)
    maps = [
        ("mean visible satellites", cov.mean_visible, "viridis", None),
        (f"PDOP p{top:g} (capped at 20)", np.minimum(cov.pdop_percentiles[top], 20.0), "viridis_r", None),
        (f"availability PDOP <= {cov.pdop_threshold:g}", cov.availability, "viridis", (0.0, 1.0)),
    ]
    lat_step = float(cov.lat_deg[1] - cov.lat_deg[0]) if len(cov.lat_deg) > 1 else 1.0
    lon_step = float(cov.lon_deg[1] - cov.lon_deg[0]) if len(cov.lon_deg) > 1 else lat_step
    lat_edges = np.clip(np.concatenate([cov.lat_deg - 0.5 * lat_step, cov.lat_deg[-1:] + 0.5 * lat_step]), -90, 90)
    lon_edges = np.concatenate([cov.lon_deg - 0.5 * lon_step, cov.lon_deg[-1:] + 0.5 * lon_step])
    extent = (float(lon_edges[0]), float(lon_edges[-1]), float(lat_edges[0]), float(lat_edges[-1]))
    projection = projection_for(extent)
    corners_x, corners_y = projection.forward(*np.meshgrid(lon_edges, lat_edges))
    outline = projection.outline()
    aspect = float(np.ptp(outline[:, 0]) / max(np.ptp(outline[:, 1]), 1.0))
    stacked = aspect > 1.6
    panel_height = 8.5 / aspect + 0.5  # a 10-inch wide figure, the colour bar beside each map
    fig = plt.figure(figsize=(10, 3 * panel_height) if stacked else (15, 4.6))
    fig.set_layout_engine("constrained")
    fig.set_dpi(_DPI)
    axes = fig.subplots(3, 1) if stacked else fig.subplots(1, 3)
    drawn = []
    for ax, (title, data, cmap, limits) in zip(axes, maps):
        m = draw_basemap(ax, projection, graticule_deg=30.0 if stacked else 10.0,
                         coast_color="k", border_color="0.25", coast_width=0.7)
        values = np.ma.masked_invalid(data)
        kw = {"vmin": limits[0], "vmax": limits[1]} if limits else {}
        mesh = ax.pcolormesh(corners_x, corners_y, values, cmap=cmap, shading="flat", zorder=1, **kw)
        if hasattr(projection, "extent_deg"):
            label_region_axes(m)
        ax.set_title(title, fontsize=9)
        fig.colorbar(mesh, ax=ax, shrink=0.85)
        drawn.append(m)
    with atomic_output(path, "wb") as fh:
        fig.savefig(fh, dpi=_DPI, format=Path(path).suffix.lstrip(".").lower() or "png")
    plt.close(fig)
    return drawn


#: Resolution of the coverage PNGs (dots per inch).
_DPI = 110
