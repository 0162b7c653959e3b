"""Coverage: satellite counts against a real observation file, DOP of a hand-solved
geometry, and the shape of the regional example's service area."""

from __future__ import annotations

import numpy as np
import pytest

from satnav.constellation.coverage import (
    dops,
    plan_region,
    plan_site,
    write_region_csv,
    write_site_csv,
)
from satnav.constellation.design import regional_example
from tests.conftest import data_path

NS = 1_000_000_000
ESBC = np.array([3582104.8024, 532590.1716, 5232755.1824])  # data README reference


def test_dop_of_hand_solved_geometry():
    # zenith + four horizon satellites at azimuth 0/90/180/270: G^T G has ee = nn = 2,
    # uu = 1, tt = 5, ut = -1 -> HDOP = 1, VDOP = sqrt(5/4), TDOP = 1/2, PDOP = 1.5
    los = np.array([[0, 0, 1], [0, 1, 0], [1, 0, 0], [0, -1, 0], [-1, 0, 0]], dtype=float)
    d = dops(los, np.ones(5, bool))
    assert d["HDOP"] == pytest.approx(1.0)
    assert d["VDOP"] == pytest.approx(np.sqrt(1.25))
    assert d["TDOP"] == pytest.approx(0.5)
    assert d["PDOP"] == pytest.approx(1.5)
    assert d["GDOP"] == pytest.approx(np.sqrt(2.5))
    # three satellites: not solvable
    assert np.isnan(dops(los, np.array([1, 1, 1, 0, 0], bool))["PDOP"])


@pytest.mark.slow
def test_esbc_counts_match_observed_satellites(tmp_path):
    # Satellites predicted above 10 deg from the real navigation file vs satellites with
    # code observations in the ESBC observation file (elevation of both from broadcast
    # positions): within one satellite per system for >= 95 % of the 2880 epochs.
    from satnav import read_nav, read_obs

    nav = read_nav(data_path("esbc-2020-177", "ESBC00DNK_R_20201770000_01D_MN.rnx.gz"))
    obs = read_obs(data_path("esbc-2020-177", "ESBC00DNK_R_20201770000_01D_30S_MO.crx.gz"))
    times = obs.epochs
    cov = plan_site(nav, ESBC, int(times[0]), int(times[-1]), 30.0, 10.0)
    assert np.array_equal(cov.times_ns, times)
    col = {int(s): j for j, s in enumerate(cov.sat)}
    is_code = np.array([c.startswith("C") for c in obs.codes])
    rows = is_code[obs.code] & np.isfinite(obs.value)
    sats = obs.sat[rows]
    known = np.isin(sats, cov.sat)
    observed = np.zeros(cov.visible.shape, bool)
    observed[obs.epoch_index()[rows][known], [col[int(s)] for s in sats[known]]] = True
    # "above the same mask": the observed satellites' elevations come from the precise GRG
    # orbits for G/R/E (independent of the broadcast engine the plan uses), from the plan's
    # broadcast elevations for BeiDou/QZSS (not in GRG). Two-sided: a plan that under- or
    # over-predicts fails.
    from satnav import read_sp3
    from satnav.frames import azimuth_elevation
    from satnav.orbits.precise import precise_states

    sp3 = read_sp3(
        data_path("esbc-2020-177", "GRG0MGXFIN_20201760000_01D_15M_ORB.SP3.gz"),
        data_path("esbc-2020-177", "GRG0MGXFIN_20201770000_01D_15M_ORB.SP3.gz"),
    )
    st = precise_states(sp3, cov.sat[None, :], times[:, None], require_clock=False)
    _, el_precise = azimuth_elevation(ESBC, st.position_m)
    elevation = np.where(np.isfinite(el_precise), np.degrees(el_precise), cov.elevation_deg)
    observed &= elevation >= 10.0
    letters = np.array(list("GRECJIS"))[cov.sat // 100]
    checked = set()
    for s in "GRECJ":
        m = letters == s
        if not m.any():
            continue
        diff = cov.counts[s] - observed[:, m].sum(axis=1)
        assert np.mean(np.abs(diff) <= 1) >= 0.95, s
        checked.add(s)
    assert {"G", "R", "E", "C"} <= checked
    assert 6 <= cov.counts["G"].mean() <= 12
    write_site_csv(cov, tmp_path / "site.csv")
    lines = (tmp_path / "site.csv").read_text().splitlines()
    assert len(lines) == 2881 and lines[0].startswith("time_gpst,visible_G")


@pytest.fixture(scope="module")
def regional_maps():
    out = {}
    for center in (100.0, 40.0):
        c = regional_example(center)
        out[center] = plan_region(
            c, (-40, 40), (-20, 220), 20.0, c.epoch_ns, c.epoch_ns + 86400 * NS, 3600.0, 10.0
        )
    return out


def test_regional_coverage_peaks_over_its_longitude(regional_maps, tmp_path):
    for center, cov in regional_maps.items():
        eq = int(np.argmin(np.abs(cov.lat_deg)))
        row = cov.mean_visible[eq]
        best = cov.lon_deg[np.argmax(row)]
        assert abs(best - center) <= 20.0
        k = int(np.argmin(np.abs(cov.lon_deg - center)))
        # all 7 satellites (3 GEO + 4 IGSO) visible most of the time at the centre ...
        assert row[k] > 6.0
        # ... and far fewer 120 deg away
        far = int(np.argmin(np.abs(cov.lon_deg - (center + 120.0))))
        assert row[far] < row[k] - 3.0
        avail = cov.availability[eq]
        assert avail[k] >= 0.95
        assert avail[far] < 0.5
    assert np.all(regional_maps[100.0].pdop_percentiles[95] >= regional_maps[100.0].pdop_percentiles[50])
    write_region_csv(regional_maps[100.0], tmp_path / "region.csv")
    text = (tmp_path / "region.csv").read_text().splitlines()
    assert text[0].startswith("lat_deg,lon_deg,mean_visible")
    assert len(text) == 1 + 5 * 13


def test_plots_written(regional_maps, tmp_path):
    pytest.importorskip("matplotlib")
    from satnav.constellation.coverage import plot_site

    c = regional_example()
    cov = plan_site(c, ESBC, c.epoch_ns, c.epoch_ns + 6 * 3600 * NS, 600.0, 5.0)
    plot_site(cov, tmp_path / "site.png")
    assert (tmp_path / "site.png").stat().st_size > 1000


def test_coverage_map_is_drawn_over_coastlines(regional_maps, tmp_path):
    # Each of the three maps (mean visible satellites, PDOP, availability) shows the
    # coastline at Cape Agulhas (34.83 S, 20.00 E, Africa's southern tip) as a dark line over
    # the data, and none in the open Indian Ocean (20 S, 80 E, a grid point).
    pytest.importorskip("matplotlib")
    from satnav.constellation.coverage import plot_region
    from tests.report.test_basemap import read_png

    maps = plot_region(regional_maps[100.0], tmp_path / "region.png")
    img = read_png(tmp_path / "region.png")
    assert len(maps) == 3
    for m in maps:
        for (lat, lon), line in (((-34.83, 20.00), True), ((-20.0, 80.0), False)):
            col, row = m.pixel(lon, lat)
            r, c = int(round(float(row))), int(round(float(col)))
            window = img[r - 3:r + 4, c - 3:c + 4].reshape(-1, 3).sum(axis=1)
            assert (window.min() < np.median(window) - 60) == line, (lat, lon)
        # the data is drawn: the map's pixels are not one colour
        col0, row0 = m.pixel(60.0, -30.0)
        col1, row1 = m.pixel(140.0, 30.0)
        panel = img[int(row1):int(row0), int(col0):int(col1)]
        assert len(np.unique(panel.reshape(-1, 3), axis=0)) > 10
