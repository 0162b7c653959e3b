"""Ground tracks: a geostationary satellite stays at its slot, a GPS satellite's track
reaches the orbit's inclination; both read back from the rendered world map's pixels."""

from __future__ import annotations

import sys
from importlib import resources

import numpy as np
import pytest

from satnav.constellation.design import load_constellation
from satnav.constellation.ground_tracks import ground_tracks, plot_ground_tracks
from satnav.signals import per_system

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

NS = 1_000_000_000


def _one_geo(longitude_deg: float):
    """The built-in regional spec with one GEO at ``longitude_deg`` and no IGSO."""
    text = resources.files("satnav.constellation").joinpath("specs", "regional.toml").read_text()
    spec = tomllib.loads(text)
    spec["geo"] = [dict(spec["geo"][0], longitudes_deg=[longitude_deg])]
    spec.pop("igso")
    return load_constellation(spec)


def _track_pixels(m, img, color_hex: str, tol: float = 40.0):
    """(lon, lat) of the map's pixels of a track colour, inside the map's Axes."""
    rgb = np.array([int(color_hex[i:i + 2], 16) for i in (1, 3, 5)], dtype=float)
    rows, cols = np.nonzero(np.linalg.norm(img - rgb, axis=-1) < tol)
    bbox = m.ax.bbox  # display pixels, origin at the bottom
    height = m.ax.figure.bbox.height
    inside = (cols >= bbox.x0) & (cols <= bbox.x1) & (height - rows >= bbox.y0) & (height - rows <= bbox.y1)
    return m.lonlat(cols[inside] + 0.5, rows[inside] + 0.5)


def test_geo_at_100e_stays_at_100e(tmp_path):
    pytest.importorskip("matplotlib")
    from tests.report.test_basemap import read_png

    c = _one_geo(100.0)
    tracks = ground_tracks(c, c.epoch_ns, c.epoch_ns + 86400 * NS, 600.0)
    assert tracks.lon_deg.shape == (145, 1)
    # the spec's slot (100 E) and inclination (1 deg), over one day
    assert np.all(np.abs(tracks.lon_deg - 100.0) < 0.5)
    assert np.all(np.abs(tracks.lat_deg) < 1.1)
    m = plot_ground_tracks(tracks, tmp_path / "geo.png")
    img = read_png(tmp_path / "geo.png")
    lon, lat = _track_pixels(m, img, per_system("color")["I"])
    assert len(lon) >= 10
    # one pixel is ~40 km; the dot marking the first epoch is a few pixels wide
    assert np.median(lon) == pytest.approx(100.0, abs=0.5)
    assert np.all(np.abs(lon - 100.0) < 3.0)
    assert np.all(np.abs(lat) < 3.0)


def test_gps_tracks_reach_the_inclination(tmp_path):
    pytest.importorskip("matplotlib")
    from tests.report.test_basemap import read_png

    gps = load_constellation("gps")  # IS-GPS-200 nominal: 55 deg inclination, 6 planes
    tracks = ground_tracks(gps, gps.epoch_ns, gps.epoch_ns + 12 * 3600 * NS, 300.0)
    assert np.nanmax(np.abs(tracks.lat_deg)) == pytest.approx(55.0, abs=0.5)
    m = plot_ground_tracks(tracks, tmp_path / "gps.png", central_lon_deg=-60.0)
    img = read_png(tmp_path / "gps.png")
    lon, lat = _track_pixels(m, img, per_system("color")["G"])
    assert lat.max() == pytest.approx(55.0, abs=1.5)
    assert lat.min() == pytest.approx(-55.0, abs=1.5)
    # 12 h of 24 satellites cover all longitudes: some track pixel in every 30-degree sector
    sectors = np.floor(((lon + 180.0) % 360.0) / 30.0)
    assert len(np.unique(sectors)) == 12
