"""Ground tracks: the sub-satellite points of a constellation over time, and their world map.

The sub-satellite point of a satellite is the geodetic latitude and longitude (WGS84,
:func:`satnav.frames.ecef_to_geodetic`) of its Earth-fixed position (from any satellite-state
source: a designed :class:`~satnav.constellation.design.Constellation`, broadcast
navigation data, precise orbits, or a list of them; :func:`satnav.constellation.coverage.satellite_positions`).
A geostationary satellite stays at its slot longitude; an inclined geosynchronous one draws
a figure eight; a MEO satellite of GPS repeats its track every sidereal day.

:func:`plot_ground_tracks` draws them on an Equal Earth world map (:mod:`satnav.report.basemap`),
one colour per system, a dot where each satellite is at the first epoch.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..frames import ecef_to_geodetic
from ..gnss_time import NS_PER_S, format_gpst
from ..io.atomic import atomic_output
from ..satellites import SYSTEM_NAMES, system_of
from .coverage import satellite_positions

__all__ = ["GroundTracks", "ground_tracks", "plot_ground_tracks", "ground_tracks_png"]


@dataclass
class GroundTracks:
    """Sub-satellite points (see :func:`ground_tracks`).

    Attributes
    ----------
    times_ns : int64 (T,)
        GPST ns.
    sat : int16 (N,)
        Satellite indices.
    system_name : str array (N,)
        The system of each satellite (a designed constellation's name, else the system's).
    lat_deg, lon_deg : (T, N)
        Geodetic latitude and longitude (deg, longitude in [-180, 180)); NaN where no
        position (an invalid broadcast state).
    """

    times_ns: np.ndarray
    sat: np.ndarray
    system_name: np.ndarray
    lat_deg: np.ndarray
    lon_deg: np.ndarray


def _system_names(source, sat) -> np.ndarray:
    """Name per satellite: from designed constellations where they hold it, else the
    system's name (GPS, GLONASS, ...)."""
    from .design import Constellation

    parts = source if isinstance(source, (list, tuple)) else [source]
    named = {}
    for part in parts:
        if isinstance(part, Constellation):
            for s, name in zip(np.asarray(part.sat).tolist(), np.asarray(part.system_name).tolist()):
                named.setdefault(int(s), str(name))
    letters = system_of(np.asarray(sat)) if len(sat) else np.array([], dtype="<U1")
    return np.array([named.get(int(s), SYSTEM_NAMES.get(str(letter), str(letter)))
                     for s, letter in zip(np.asarray(sat).tolist(), letters.tolist())], dtype=object).astype(str)


def ground_tracks(source, start_ns: int, end_ns: int, step_s: float = 120.0, *,
                  systems: str | None = None) -> GroundTracks:
    """Sub-satellite points of every satellite of ``source`` from ``start_ns`` to
    ``end_ns`` (GPST ns, inclusive) every ``step_s`` seconds.

    ``source`` is anything :func:`satnav.constellation.coverage.satellite_positions` takes;
    ``systems`` keeps those system letters only.
    """
    step = int(round(float(step_s) * NS_PER_S))
    if step <= 0 or int(end_ns) < int(start_ns):
        raise ValueError("need end >= start and a positive step")
    times = np.arange(int(start_ns), int(end_ns) + 1, step, dtype=np.int64)
    sat, position = satellite_positions(source, times, systems)
    lat, lon, _ = ecef_to_geodetic(position.reshape(-1, 3))
    shape = position.shape[:2]
    lon_deg = (np.degrees(lon) + 180.0) % 360.0 - 180.0
    return GroundTracks(times_ns=times, sat=np.asarray(sat, dtype=np.int16),
                        system_name=_system_names(source, sat),
                        lat_deg=np.degrees(lat).reshape(shape), lon_deg=lon_deg.reshape(shape))


def _split_at_edge(lon_rel: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """NaN between consecutive points that jump across the map's edge (> 180 deg)."""
    jump = np.abs(np.diff(lon_rel)) > 180.0
    if not jump.any():
        return lon_rel, lat
    cut = np.flatnonzero(jump) + 1
    return np.insert(lon_rel, cut, np.nan), np.insert(lat, cut, np.nan)


def ground_tracks_png(tracks: GroundTracks, *, central_lon_deg: float = 0.0, sites=(),
                      title: str | None = None, dpi: int = 100) -> bytes:
    """The map of :func:`plot_ground_tracks` as PNG bytes (for a report)."""
    import io

    fig, _ = _ground_track_figure(tracks, central_lon_deg, sites, title, dpi)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


def plot_ground_tracks(tracks: GroundTracks, path, *, central_lon_deg: float = 0.0,
                       sites=(), title: str | None = None, dpi: int = 100):
    """Write a PNG world map (Equal Earth, coastlines and borders) of the ground tracks.

    Parameters
    ----------
    tracks : GroundTracks
    path : str or Path
        Output image (PNG; another extension picks another matplotlib format).
    central_lon_deg : float
        Central meridian of the map (deg).
    sites : sequence of (label, lat_deg, lon_deg)
        Places to mark (e.g. the simulated receiver).
    title : str, optional
    dpi : int
        Resolution of the image.

    Returns
    -------
    satnav.report.basemap.MapAxes
        The map: ``pixel(lon, lat)`` locates a place in the image written.
    """
    fig, m = _ground_track_figure(tracks, central_lon_deg, sites, title, dpi)
    with atomic_output(path, "wb") as fh:
        fig.savefig(fh, dpi=dpi, format=Path(path).suffix.lstrip(".").lower() or "png")
    return m


def _ground_track_figure(tracks: GroundTracks, central_lon_deg: float, sites, title, dpi):
    from matplotlib.figure import Figure

    from ..report.basemap import world_map
    from ..signals import per_system

    colors = per_system("color")
    fig = Figure(figsize=(11.0, 6.2), dpi=dpi, layout="constrained")
    ax = fig.add_subplot()
    m = world_map(ax, central_lon_deg)
    names = list(dict.fromkeys(tracks.system_name.tolist()))
    letters = system_of(tracks.sat) if len(tracks.sat) else np.array([], dtype="<U1")
    palette = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2"]
    used_colors: set[str] = set()
    width = 1.0 if len(tracks.sat) <= 40 else 0.7
    for k, name in enumerate(names):
        cols = np.flatnonzero(tracks.system_name == name)
        color = colors.get(str(letters[cols[0]]), palette[k % len(palette)])
        if color in used_colors:  # two designed systems with one letter: tell them apart
            color = next((c for c in palette if c not in used_colors), color)
        used_colors.add(color)
        for j in cols:
            lon = tracks.lon_deg[:, j]
            lat = tracks.lat_deg[:, j]
            lon_rel = central_lon_deg + (lon - central_lon_deg + 180.0) % 360.0 - 180.0
            lo, la = _split_at_edge(lon_rel, lat)
            x, y = m.projection.forward(lo, la)
            ax.plot(x, y, "-", color=color, lw=width, zorder=4)
            first = np.flatnonzero(np.isfinite(lon_rel) & np.isfinite(lat))
            if first.size:
                x0, y0 = m.projection.forward(lon_rel[first[0]], lat[first[0]])
                ax.plot([x0], [y0], "o", color=color, ms=3.5, mec="k", mew=0.4, zorder=5)
        ax.plot([], [], "-o", color=color, ms=3.5, label=f"{name} ({len(cols)})")
    for label, lat, lon in sites:
        x, y = m.projection.forward(central_lon_deg + (lon - central_lon_deg + 180.0) % 360.0 - 180.0, lat)
        ax.plot([x], [y], "*", color="#ffd400", mec="k", mew=0.6, ms=11, zorder=6)
        ax.annotate(str(label), (x, y), xytext=(5, 5), textcoords="offset points", fontsize=8, zorder=6)
    if names:  # below the map, so that every pixel of a track's colour on the map is a track
        fig.legend(loc="outside lower center", fontsize=8, ncol=min(len(names), 6), frameon=False)
    if title is None and len(tracks.times_ns):
        hours = (tracks.times_ns[-1] - tracks.times_ns[0]) / 3600e9
        title = f"ground tracks, {format_gpst(tracks.times_ns[0])[:16]} GPST + {hours:.3g} h"
    if title:
        ax.set_title(title, fontsize=10)
    return fig, m
