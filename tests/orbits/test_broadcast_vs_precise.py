"""Acceptance: broadcast-derived orbits and clocks against precise products (the truth).

Runs the command-line path ``satnav orbits NAV... --compare SP3... --clk CLK`` once per
dataset and checks the per-system 3D orbit RMS against the bounds of issue 3 (they include
the centre-of-mass vs antenna-phase-centre offset):
GPS <= 2.5 m, Galileo <= 1.5 m, QZSS <= 3 m, BeiDou MEO/IGSO <= 4 m, GEO <= 15 m,
GLONASS <= 6 m.

Data limits (stated, not hidden): the GRG0MGXFIN (2020-177) and COD0OPSRAP (2023-073)
products hold GPS, GLONASS and Galileo only, so BeiDou and QZSS cannot be checked against
a precise truth here; the test requires them to be reported with the reason "no data in
the product" instead. The COD 2023 files are truncated test excerpts (3 SP3 epochs
00:00-00:10 at 5 min, one CLK epoch), so that comparison uses those 3 epochs (exactly on
the SP3 nodes, no interpolation error) and the SP3 clocks.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from satnav.satellites import satellite_id
from tests.conftest import data_path

pytest.importorskip("satnav.io.sp3")
pytest.importorskip("satnav.orbits.ephemeris")

BOUNDS_M = {"G": 2.5, "E": 1.5, "J": 3.0, "C-MEO": 4.0, "C-IGSO": 4.0, "C-GEO": 15.0, "R": 6.0}


def _run_cli(tmp_path, argv):
    from satnav.cli import main

    out = tmp_path / "brdc.sp3"
    js = tmp_path / "result.json"
    rc = main(["orbits", *map(str, argv), "-o", str(out), "--json", str(js)])
    assert rc == 0
    return out, json.loads(js.read_text())


@pytest.fixture(scope="module")
def esbc(tmp_path_factory):
    d = "esbc-2020-177"
    nav = [data_path(d, "ESBC00DNK_R_20201770000_01D_MN.rnx.gz"),
           data_path(d, "MOJN00DNK_R_20201770000_01D_MN.rnx.gz")]
    sp3 = [data_path(d, "GRG0MGXFIN_20201760000_01D_15M_ORB.SP3.gz"),
           data_path(d, "GRG0MGXFIN_20201770000_01D_15M_ORB.SP3.gz")]
    clk = data_path(d, "GRG0MGXFIN_20201770000_01D_30S_CLK.CLK.gz")
    tmp = tmp_path_factory.mktemp("esbc")
    out, res = _run_cli(tmp, [*nav, "--compare", *sp3, "--clk", clk,
                              "--antex", data_path(d, "igs14_small.atx.gz")])
    return nav, out, res


def _groups(res, key="groups"):
    return {g["group"]: g for g in res[key]}


def test_esbc_whole_day_orbit_rms_within_bounds(esbc):
    _, _, res = esbc
    assert res["epochs"] == 96 and res["start"].startswith("2020-06-25T00:00:00")
    raw = _groups(res, "groups_raw")
    pco = _groups(res)
    assert set(raw) == {"G", "R", "E"}  # the GRG product's systems
    for g, row in raw.items():
        assert row["rms3d_raw"] <= BOUNDS_M[g], (g, row)
        assert np.isfinite(row["sisre"]) and row["sisre"] < row["rms3d_raw"] + 1.0
        assert row["satellites"] >= {"G": 28, "R": 18, "E": 20}[g]
    # with the nominal antenna offsets the radial bias shrinks (Galileo, GPS)
    for g in "GE":
        assert abs(pco[g]["radial"]) <= raw[g]["radial"] + 1e-9


def test_esbc_every_healthy_satellite_reported(esbc):
    from satnav.io.rinex_nav import read_rinex_nav
    from satnav.io.sp3 import read_sp3

    nav_paths, out, res = esbc
    nav = read_rinex_nav(*nav_paths)
    day0 = np.datetime64("2020-06-25", "ns")
    from satnav.gnss_time import GPS_EPOCH

    t0 = int((day0 - GPS_EPOCH).astype(np.int64))
    healthy = set()
    for letter in nav.messages:
        m = nav.for_system(letter)
        sel = (m["health"] == 0) & (m["toc"] >= t0) & (m["toc"] < t0 + 86_400 * 10**9)
        healthy |= {satellite_id(int(s)) for s in np.unique(m["sat"][sel])}
    compared = {r["sat"] for r in res["satellites_compared"]}
    listed = {r["sat"]: r["reason"] for r in res["not_compared"]}
    missing = healthy - compared - set(listed)
    assert not missing, f"silently missing: {sorted(missing)}"
    for s in healthy:
        if s[0] in "CJS":
            assert "no data in the product" in listed[s]
    # every listed satellite has a reason
    assert all(r["reason"] for r in res["not_compared"])
    # the SP3 written by the command holds every satellite of the navigation files
    written = read_sp3(out)
    assert {satellite_id(int(s)) for s in written.satellites} == set(nav.satellites())
    assert len(written.time) == 96


def test_esbc_written_sp3_matches_broadcast_states(esbc):
    from satnav.io.rinex_nav import read_rinex_nav
    from satnav.io.sp3 import read_sp3
    from satnav.orbits.ephemeris import broadcast_states

    nav_paths, out, _ = esbc
    nav = read_rinex_nav(*nav_paths)
    written = read_sp3(out)
    sats = np.asarray(written.satellites)
    st = broadcast_states(nav, sats[None, :], np.asarray(written.time)[:, None])
    pos = np.asarray(written.position_m)
    ok = st.valid
    assert np.array_equal(np.isfinite(pos).all(-1), ok)
    assert np.abs(pos[ok] - st.position_m[ok]).max() < 1e-3  # SP3 resolution 1 mm
    clk = np.asarray(written.clock_s)
    both = ok & np.isfinite(clk)
    assert np.abs(clk[both] - st.clock_s[both]).max() < 1e-12


def test_cod_2023_excerpt(tmp_path):
    d = "orbits-2023-073"
    nav = [data_path(d, "BRDC00WRD_S_20230730000_01D_MN.rnx"),
           data_path(d, "BRDM00DLR_S_20230730000_01D_MN.rnx")]
    sp3 = data_path(d, "COD0OPSRAP_20230730000_01D_05M_ORB.SP3")
    _, res = _run_cli(tmp_path, [*nav, "--compare", sp3, "--start", "2023-03-14T00:00:00",
                                 "--end", "2023-03-14T00:10:00", "--interval", "300"])
    raw = _groups(res, "groups_raw")
    assert set(raw) == {"G", "R", "E"}
    for g, row in raw.items():
        assert row["rms3d_raw"] <= BOUNDS_M[g], (g, row)
    listed = {r["sat"]: r["reason"] for r in res["not_compared"]}
    for s in ("C01", "J02"):
        assert "no data in the product" in listed[s]
