"""``satnav plan``, ``satnav sim``, ``satnav evaluate`` and ``satnav demo``."""

from __future__ import annotations

import csv
import time

import numpy as np
import pytest

from satnav.cli import main
from tests.conftest import data_path

ESBC_NAV = ("esbc-2020-177", "ESBC00DNK_R_20201770000_01D_MN.rnx.gz")
# ESBC00DNK observation header: "3582105.2910   532589.7313  5232754.8054  APPROX POSITION XYZ"
ESBC_SITE = "3582105.2910,532589.7313,5232754.8054"


def test_plan_site_on_esbc(tmp_path, capsys):
    nav = data_path(*ESBC_NAV)
    rc = main(["plan", "--nav", str(nav), "--site-ecef", ESBC_SITE, "--mask", "10", "-o", str(tmp_path)])
    assert rc == 0
    rows = list(csv.DictReader(open(tmp_path / "site.csv")))
    assert len(rows) == 288  # one day at 300 s
    assert rows[0]["time_gpst"].startswith("2020-06-25T00:00:00")
    # 55.7 N: 6-13 GPS, 4-12 GLONASS satellites above 10 degrees at every epoch
    gps = [int(r["visible_G"]) for r in rows]
    glo = [int(r["visible_R"]) for r in rows]
    assert 6 <= min(gps) and max(gps) <= 13
    assert 4 <= min(glo) and max(glo) <= 12
    assert (tmp_path / "site.png").stat().st_size > 10_000
    assert "wrote" in capsys.readouterr().out


def test_plan_region_regional(tmp_path):
    rc = main(["plan", "--constellation", "regional", "--region", "-30,50,40,160", "--grid", "20",
               "--end", "2020-06-25T12:00:00", "--start", "2020-06-25T00:00:00",
               "-o", str(tmp_path)])  # fmt: skip
    assert rc == 0
    rows = list(csv.DictReader(open(tmp_path / "region.csv")))
    assert rows and (tmp_path / "region.png").exists()


def test_plan_ground_tracks(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    from tests.report.test_basemap import read_png

    png = tmp_path / "tracks.png"
    rc = main(["plan", "--constellation", "regional", "--ground-tracks", str(png), "--site", "25,100,0",
               "--start", "2020-06-25T00:00:00", "--end", "2020-06-25T06:00:00", "-o", str(tmp_path)])
    assert rc == 0
    out = capsys.readouterr().out
    assert "ground tracks of 7 satellites (Regional example 7)" in out and f"wrote {png}" in out
    img = read_png(png)
    assert img.shape[0] > 400 and len(np.unique(img.reshape(-1, 3), axis=0)) > 50
    # tracks only: no --site/--region needed; a file name matplotlib cannot write is refused
    assert main(["plan", "--constellation", "gps", "--ground-tracks", str(tmp_path / "t.png"),
                 "--end", "2020-06-25T01:00:00"]) == 0
    assert main(["plan", "--constellation", "gps", "--ground-tracks", str(tmp_path / "t.txt")]) == 2
    assert "expected an image file name" in capsys.readouterr().err


def test_plan_far_from_the_epoch_carries_the_constellation(tmp_path, capsys):
    # 60 days after the regional system's epoch: carried there (said so), not integrated
    # for 60 days; at 25 N 100 E all 7 satellites stay in view (3 GEO + 4 IGSO over 100 E)
    rc = main(["plan", "--constellation", "regional", "--site", "25,100,0", "--start", "2020-08-24T00:00:00",
               "--end", "2020-08-24T06:00:00", "-o", str(tmp_path)])
    assert rc == 0
    out = capsys.readouterr().out
    assert "start +60 days from its epoch" in out and "carried there" in out
    rows = list(csv.DictReader(open(tmp_path / "site.csv")))
    assert rows[0]["time_gpst"].startswith("2020-08-24T00:00:00")
    assert all(int(r["visible_I"]) == 7 for r in rows)


def test_plan_errors(capsys):
    assert main(["plan", "--site", "91,0,0", "--constellation", "gps"]) == 2
    assert "satnav: --site latitude" in capsys.readouterr().err
    assert main(["plan", "--site", "10,0", "--constellation", "gps"]) == 2
    assert main(["plan", "--site", "10,0,0"]) == 2
    assert main(["sim", "no-such-scenario", "-o", "x"]) == 2
    assert "satnav: scenario" in capsys.readouterr().err


def test_sim_and_evaluate(tmp_path, capsys):
    out = tmp_path / "sim"
    rc = main(["sim", "glonass,regional", "--duration", "0.2", "--interval", "60", "-o", str(out),
               "--noise-free", "--seed", "5"])  # fmt: skip
    assert rc == 0
    assert (out / "simulation.json").exists() and (out / "truth.csv").exists()
    assert len(list(out.glob("*_MO.rnx"))) == 1 and len(list(out.glob("*_MN.rnx"))) == 1
    capsys.readouterr()
    assert main(["evaluate", str(out), "--plain"]) == 0
    text = capsys.readouterr().out
    line = [ln for ln in text.splitlines() if ln.startswith("GLONASS + Regional example")][0]
    cells = line.split()
    assert float(cells[-1]) < 0.01 and float(cells[-4]) < 0.01  # V 95 %, H RMS (m)


def test_sim_scenario_file(tmp_path):
    spec = tmp_path / "scenario.toml"
    spec.write_text(
        'name = "t"\nmarker = "TST1"\nstart = 2020-06-25T06:00:00\nduration_h = 0.1\n'
        'interval_s = 60\nconstellations = ["galileo"]\n[site]\nlat_deg = 48.0\nlon_deg = 11.0\n'
        'height_m = 600.0\n[errors]\nmultipath = false\n'
    )
    assert main(["sim", str(spec), "-o", str(tmp_path / "o")]) == 0
    assert list((tmp_path / "o").glob("TST100SIM_S_20201770600_*_MO.rnx"))
    spec.write_text('constellations = ["galileo"]\nbogus = 1\n')
    assert main(["sim", str(spec), "-o", str(tmp_path / "o")]) == 2


@pytest.mark.slow
def test_demo_under_60_s(tmp_path, capsys):
    t0 = time.perf_counter()
    assert main(["demo", "-o", str(tmp_path / "demo")]) == 0
    elapsed = time.perf_counter() - t0
    assert elapsed < 60
    out = capsys.readouterr().out
    assert "report:" in out and "All" in out
    html = (tmp_path / "demo" / "report.html").read_text()
    assert "data:image/png;base64," in html and "Regional example" in html
    # the closed loop: broadcast fitted to the truth vs from the (reduced, and said so) ODTS
    pytest.importorskip("erfa")
    pytest.importorskip("astropy_iers_data")
    assert "Closed loop" in out and "reduced ODTS" in out and "Closed loop" in html and "Reduced ODTS" in html
    rows = [line for line in out.splitlines() if line.startswith("Regional example (I)")]
    fitted, odts = (float(r.split()[-4]) for r in rows)  # SISRE RMS (m) of each broadcast
    # the acceptance of the control segment: broadcast SISRE <= 0.5 m (the reduced run gives ~0.14 m)
    assert fitted < 0.05 and fitted < odts < 0.5
