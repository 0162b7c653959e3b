"""Solution writers and the RTKLIB .pos reader, checked against RTKLIB's own files.

The RTKLIB EX 2.5.1 solutions in ../shared/reference/rtklib are the outside authority for
the .pos layout: a Solution built from one of them must be written back byte for byte.
Other formats are read back with independent parsers (pynmeagps, xml.etree, json, csv).
"""

from __future__ import annotations

import csv
import json
import os
import re
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

from satnav.errors import FormatError, SatnavError
from satnav.estimators.solution import STATUS, Solution
from satnav.frames import ecef_to_geodetic, geodetic_to_ecef
from satnav.gnss_time import calendar_to_ns
from satnav.io.solution import (
    format_pos,
    nmea_sentences,
    read_pos,
    write_csv,
    write_geojson,
    write_gpx,
    write_kml,
    write_parquet,
    write_pos,
    write_solution,
)
from tests.conftest import REPO

REFERENCE = Path(os.environ.get("SATNAV_REFERENCE", REPO.parent / "shared" / "reference"))


def ref_path(*parts) -> Path:
    p = REFERENCE.joinpath("rtklib", *parts)
    if not p.exists():
        pytest.skip(f"reference not available: {p}")
    return p


def _cov_from_rtklib_sd(sd):
    """ECEF covariance from RTKLIB's sdx, sdy, sdz, sdxy, sdyz, sdzx (signed square roots)."""
    v = np.sign(sd) * sd**2
    c = np.zeros((len(sd), 3, 3))
    c[:, 0, 0], c[:, 1, 1], c[:, 2, 2] = v[:, 0], v[:, 1], v[:, 2]
    c[:, 0, 1] = c[:, 1, 0] = v[:, 3]
    c[:, 1, 2] = c[:, 2, 1] = v[:, 4]
    c[:, 2, 0] = c[:, 0, 2] = v[:, 5]
    return c


def make_solution(time_ns, position_m, n_used, covariance=None, status=None, velocity=None):
    """A Solution with the given epochs and positions (other fields plain)."""
    m = len(time_ns)
    sats = np.array([5, 12, 20, 121, 211, 319, 405], dtype=np.int16)  # G05 G12 G20 R21 E11 C19 J05
    nan = np.full(m, np.nan)
    used = np.zeros((m, len(sats)), dtype=bool)
    used[:, :6] = True
    return Solution(
        time_ns=np.asarray(time_ns, dtype=np.int64),
        position_m=np.asarray(position_m, dtype=np.float64),
        clock_bias_s=np.zeros((m, 1)),
        clock_systems=("G",),
        velocity_m_s=np.full((m, 3), np.nan) if velocity is None else velocity,
        clock_drift_s_s=nan.copy(),
        gdop=np.full(m, 2.0),
        pdop=np.full(m, 1.8),
        hdop=np.full(m, 0.9),
        vdop=np.full(m, 1.5),
        tdop=np.full(m, 1.0),
        status=np.zeros(m, np.int8) if status is None else np.asarray(status, np.int8),
        n_used=np.asarray(n_used, dtype=np.int16),
        n_used_by_system={"G": np.full(m, 3, np.int16), "R": np.ones(m, np.int16), "E": np.ones(m, np.int16)},
        satellites=sats,
        residuals_m=np.zeros((m, len(sats))),
        used=used,
        excluded=np.zeros((m, len(sats)), bool),
        azimuth_rad=np.zeros((m, len(sats))),
        elevation_rad=np.zeros((m, len(sats))),
        test_statistic=nan.copy(),
        test_threshold=nan.copy(),
        covariance_m2=np.zeros((m, 3, 3)) if covariance is None else covariance,
        iterations=np.ones(m, np.int16),
        options={"iono": "klobuchar", "elevation_mask_deg": 10.0},
    )


@pytest.fixture(scope="module")
def esbc_rtklib():
    path = ref_path("esbc-2020-177", "spp_multi_ESBC.pos")
    pos = read_pos(path)
    sol = make_solution(pos.time_ns, pos.position_m, pos.ns, _cov_from_rtklib_sd(pos.sd_m))
    return path, pos, sol


# ---------------------------------------------------------------------- read_pos
def test_read_pos_values_read_by_hand(esbc_rtklib):
    path, pos, _ = esbc_rtklib
    # README: RTKLIB solves 1276 of 2880 epochs with the files as distributed
    assert len(pos) == 1276 and pos.frame == "xyz" and pos.time_system == "GPST"
    # "2020/06/25 00:10:00.000   3582102.6443    532589.5584   5232756.9851   5  33   1.4926
    #  1.2461   2.6800   0.2928   0.8442   1.3536   0.00    0.0"
    assert pos.time_ns[0] == calendar_to_ns(2020, 6, 25, 0, 10, 0)
    np.testing.assert_array_equal(pos.position_m[0], [3582102.6443, 532589.5584, 5232756.9851])
    assert pos.q[0] == 5 and pos.ns[0] == 33
    np.testing.assert_array_equal(pos.sd_m[0], [1.4926, 1.2461, 2.6800, 0.2928, 0.8442, 1.3536])
    # last line "2020/06/25 23:59:30.000   3582104.0162    532589.3448   5232754.2713   5  30 ..."
    assert pos.time_ns[-1] == calendar_to_ns(2020, 6, 25, 23, 59, 30)
    np.testing.assert_array_equal(pos.position_m[-1], [3582104.0162, 532589.3448, 5232754.2713])
    assert pos.columns[:5] == ["x-ecef(m)", "y-ecef(m)", "z-ecef(m)", "Q", "ns"]


def test_read_pos_rtk_fix_and_ratio():
    pos = read_pos(ref_path("gsi-2005-092", "rtk_kin_continuous_0759_3040.pos"))
    # "2005/04/02 00:02:00.000  -3976219.6641   3382372.5376   3652513.0546   1   7   0.0092
    #  0.0099   0.0075  -0.0086   0.0067  -0.0064   0.00   49.9"
    i = int(np.flatnonzero(pos.time_ns == calendar_to_ns(2005, 4, 2, 0, 2, 0))[0])
    assert pos.q[i] == 1 and pos.ns[i] == 7 and pos.ratio[i] == 49.9
    np.testing.assert_array_equal(pos.position_m[i], [-3976219.6641, 3382372.5376, 3652513.0546])
    assert pos.sd_m[i][3] == -0.0086
    assert len(pos) == 120 and pos.q[0] == 2


def test_read_pos_rejects_other_files(tmp_path):
    p = tmp_path / "x.pos"
    p.write_text("hello\nworld\n")
    with pytest.raises(FormatError, match="not an RTKLIB solution file"):
        read_pos(p)


def test_read_pos_skips_damaged_line(tmp_path, esbc_rtklib):
    path, pos, _ = esbc_rtklib
    lines = path.read_text().splitlines()
    first = next(i for i, s in enumerate(lines) if not s.startswith("%"))
    lines[first + 1] = lines[first + 1][:40]  # cut in the middle of a number line
    p = tmp_path / "damaged.pos"
    p.write_text("\n".join(lines) + "\n")
    with pytest.warns(UserWarning, match=rf"damaged.pos:{first + 2}:"):
        got = read_pos(p)
    assert len(got) == len(pos) - 1
    with pytest.raises(FormatError, match=rf":{first + 2}:"):
        read_pos(p, strict=True)


# ---------------------------------------------------------------------- .pos writer
def test_pos_ecef_reproduces_rtklib_byte_for_byte(esbc_rtklib):
    path, pos, sol = esbc_rtklib
    ours = format_pos(sol, frame="ecef").splitlines()
    ref = path.read_text().replace("\r", "").splitlines()
    ref_data = [s for s in ref if not s.startswith("%")]
    our_data = [s for s in ours if not s.startswith("%")]
    assert our_data == ref_data
    # the legend and the column header lines are RTKLIB's too
    assert ours[-len(our_data) - 2 :][:2] == ref[-len(ref_data) - 2 :][:2]
    # header lines that carry the same options are written the same way
    for label in ("% pos mode  : Single", "% elev mask : 10.0 deg", "% ionos opt : Broadcast",
                  "% ephemeris : Broadcast", "% obs end   : 2020/06/25 23:59:30.0 GPST (week2111 431970.0s)"):
        assert label in ref and label in ours


# RTKLIB solution.c outsolheads: "%s  %-*s%s" then "%14s%s%14s%s%10s%s%3s%s%3s%s%8s..." (llh)
RTKLIB_LLH_HEADER = "%  " + "GPST".ljust(20) + " " + " ".join(
    s.rjust(w) for w, s in zip(
        [14, 14, 10, 3, 3] + [8] * 6 + [6, 6],
        ["latitude(deg)", "longitude(deg)", "height(m)", "Q", "ns", "sdn(m)", "sde(m)", "sdu(m)",
         "sdne(m)", "sdeu(m)", "sdun(m)", "age(s)", "ratio"],
    )
)
# outpos: "%s%s%14.9f%s%14.9f" "%s%10.4f%s%3d%s%3d%s%8.4f..."
LLH_LINE = re.compile(
    r"^(\d{4})/(\d\d)/(\d\d) (\d\d):(\d\d):(\d\d\.\d{3})"
    r" ([ -]{0,4}\d+\.\d{9}) ([ -]{0,4}\d+\.\d{9}) ([ -]*\d+\.\d{4}) ([ \d]{2}\d) ([ \d]{2}\d)"
    + r"( [ -]*\d+\.\d{4})" * 6
    + r" ([ \d]+\.\d{2}) ([ \d]+\.\d)$"
)


def test_pos_llh_layout_and_values(esbc_rtklib, tmp_path):
    path, pos, sol = esbc_rtklib
    out = tmp_path / "esbc.pos"
    write_solution(sol, out)  # .pos -> geodetic variant
    lines = out.read_text().splitlines()
    assert "% (lat/lon/height=WGS84/ellipsoidal,Q=1:fix,2:float,3:sbas,4:dgps,5:single,6:ppp,ns=# of satellites)" in lines
    assert RTKLIB_LLH_HEADER in lines
    data = [s for s in lines if not s.startswith("%")]
    assert len(data) == len(pos)
    parsed = []
    for s in data:
        m = LLH_LINE.match(s)
        assert m, s
        assert len(s) == 23 + 15 + 15 + 11 + 4 + 4 + 6 * 9 + 7 + 7
        parsed.append([float(g) for g in m.groups()[6:]])
    parsed = np.array(parsed)
    # back to ECEF with the closed-form geodetic -> ECEF: RTKLIB's coordinates to 1 mm
    xyz = geodetic_to_ecef(np.radians(parsed[:, 0]), np.radians(parsed[:, 1]), parsed[:, 2])
    assert np.max(np.abs(xyz - pos.position_m)) < 1e-3
    # ENU standard deviations: a rotation keeps the trace of the covariance
    tr_enu = parsed[:, 5] ** 2 + parsed[:, 6] ** 2 + parsed[:, 7] ** 2
    tr_xyz = np.sum(pos.sd_m[:, :3] ** 2, axis=1)
    np.testing.assert_allclose(tr_enu, tr_xyz, atol=2e-3)
    # read back through read_pos: same epochs and positions
    back = read_pos(out)
    assert back.frame == "llh"
    np.testing.assert_array_equal(back.time_ns, pos.time_ns)
    assert np.max(np.abs(back.position_m - pos.position_m)) < 1e-3
    np.testing.assert_array_equal(back.q, 5)


def test_pos_week_tow_and_utc(esbc_rtklib):
    _, pos, sol = esbc_rtklib
    text = format_pos(sol, frame="ecef", time_format="tow")
    first = next(s for s in text.splitlines() if not s.startswith("%"))
    # 2020/06/25 00:10:00 GPST is GPS week 2111, 346200 s (Thursday 00:10)
    assert first.startswith("2111 346200.000   3582102.6443")
    assert "%  GPST        " in text  # width (8 + 3 + 1) for week/tow times
    utc = format_pos(sol, frame="ecef", time_system="UTC")
    first_utc = next(s for s in utc.splitlines() if not s.startswith("%"))
    assert first_utc.startswith("2020/06/25 00:09:42.000")  # GPST - 18 s
    assert "%  UTC " in utc


def test_pos_unsolved_epochs_are_comments(esbc_rtklib, tmp_path):
    _, pos, sol = esbc_rtklib
    sol.status[:] = 0
    sol.status[1] = 11  # too few satellites
    sol.position_m[1] = np.nan
    try:
        text = format_pos(sol)
        assert "% 2020/06/25 00:11:00.000 no solution: too few satellites" in text
        assert len([s for s in text.splitlines() if not s.startswith("%")]) == len(pos) - 1
        assert "no solution" not in format_pos(sol, unsolved="skip")
        # RTKLIB-style readers skip the comment line
        p = tmp_path / "x.pos"
        p.write_text(text)
        assert len(read_pos(p)) == len(pos) - 1
    finally:
        sol.position_m[1] = pos.position_m[1]
        sol.status[1] = 0


# ---------------------------------------------------------------------- other formats
@pytest.fixture()
def small_solution():
    t = calendar_to_ns(2020, 6, 25, 0, 0, np.arange(4) * 30.0)
    xyz = np.array([[3582104.8024, 532590.1716, 5232755.1824]] * 4)
    xyz[:, 0] += np.arange(4)
    vel = np.array([[0.0, 0.0, 0.0], [1.0, 2.0, 0.5], [np.nan] * 3, [0.0, 0.0, 0.0]])
    sol = make_solution(t, xyz, [6, 6, 0, 5], status=[0, 3, 11, 1], velocity=vel)
    sol.position_m[2] = np.nan
    return sol


def test_nmea_parsed_by_pynmeagps(small_solution, tmp_path):
    pynmeagps = pytest.importorskip("pynmeagps")
    sol = small_solution
    out = tmp_path / "x.nmea"
    write_solution(sol, out)
    raw = out.read_bytes().split(b"\r\n")[:-1]
    assert raw == [s.rstrip(b"\r\n") for s in nmea_sentences(sol)]
    msgs = []
    for s in raw:
        # checksum by hand: XOR of the characters between $ and *
        body, cks = s[1:].split(b"*")
        x = 0
        for ch in body:
            x ^= ch
        assert f"{x:02X}".encode() == cks
        msgs.append(pynmeagps.NMEAReader.parse(s + b"\r\n", validate=pynmeagps.VALCKSUM))
    gga = [m for m in msgs if m.msgID == "GGA"]
    rmc = [m for m in msgs if m.msgID == "RMC"]
    gsa = [m for m in msgs if m.msgID == "GSA"]
    assert len(gga) == len(rmc) == 4
    lat, lon, h = ecef_to_geodetic(sol.position_m[0])
    assert abs(gga[0].lat - np.degrees(lat)) < 1e-7 and abs(gga[0].lon - np.degrees(lon)) < 1e-7
    assert abs(gga[0].alt - h) < 1e-3 and gga[0].quality == 1 and gga[0].numSV == 6
    # UTC = GPST - 18 s in 2020
    assert str(gga[0].time) == "23:59:42" and str(rmc[0].date) == "2020-06-24"
    assert rmc[0].status == "A" and rmc[1].status == "V"  # epoch 1 failed RAIM: warning
    # ... and GGA says "invalid" (quality 0) too, the position kept for who wants it
    assert gga[1].quality == 0 and gga[1].lat != "" and gga[3].quality == 1
    assert gga[2].quality == 0 and gga[2].lat == "" and rmc[2].status == "V"
    # speed over ground of epoch 1: |east, north| of (1, 2, 0.5) m/s ECEF, in knots
    from satnav.frames import enu_rotation

    la, lo, _ = ecef_to_geodetic(sol.position_m[1])
    e, n, _ = enu_rotation(la, lo) @ np.array([1.0, 2.0, 0.5])
    assert abs(rmc[1].spd - np.hypot(e, n) * 3600 / 1852) < 1e-3
    # GSA per system: GPS 5, 12, 20; GLONASS 21 -> 85; Galileo 11
    first = [m for m in gsa][:3]
    assert [int(m.systemId) for m in gsa[:4]] == [1, 2, 3, 4]  # C19 used too
    assert [first[0].svid_01, first[0].svid_02, first[0].svid_03] == [5, 12, 20]
    assert first[1].svid_01 == 85 and first[2].svid_01 == 11 and first[0].PDOP == 1.8


def test_gpx_kml_geojson(small_solution, tmp_path):
    sol = small_solution
    lat, lon, h = ecef_to_geodetic(sol.position_m[0])
    write_gpx(sol, tmp_path / "x.gpx")
    ns = {"g": "http://www.topografix.com/GPX/1/1"}
    gpx = ET.parse(tmp_path / "x.gpx").getroot()
    pts = gpx.findall(".//g:trkpt", ns)
    assert len(pts) == 2  # the unsolved epoch has no point, the RAIM-failed one is no track point
    assert abs(float(pts[0].get("lat")) - np.degrees(lat)) < 1e-9
    assert abs(float(pts[0].find("g:ele", ns).text) - h) < 1e-4
    assert pts[0].find("g:time", ns).text == "2020-06-24T23:59:42.00Z"
    assert pts[0].find("g:sat", ns).text == "6"
    wpts = gpx.findall("g:wpt", ns)  # the flagged epoch as a waypoint named "flagged"
    assert len(wpts) == 1 and wpts[0].find("g:name", ns).text == "flagged"
    assert wpts[0].find("g:desc", ns).text.startswith("RAIM failed")

    write_kml(sol, tmp_path / "x.kml")
    k = {"k": "http://www.opengis.net/kml/2.2"}
    root = ET.parse(tmp_path / "x.kml").getroot()
    line = root.find(".//k:LineString/k:coordinates", k).text.split()
    assert len(line) == 2
    x, y, z = (float(v) for v in line[0].split(","))
    assert abs(x - np.degrees(lon)) < 1e-9 and abs(y - np.degrees(lat)) < 1e-9 and abs(z - h) < 1e-4
    folders = {f.find("k:name", k).text: f.findall("k:Placemark", k) for f in root.iter(f"{{{k['k']}}}Folder")}
    assert len(folders["epochs"]) == 2 and len(folders["flagged epochs"]) == 1

    write_geojson(sol, tmp_path / "x.geojson")
    gj = json.loads((tmp_path / "x.geojson").read_text())
    assert gj["type"] == "FeatureCollection" and len(gj["features"]) == 5
    assert gj["features"][0]["geometry"]["type"] == "LineString"
    assert len(gj["features"][0]["geometry"]["coordinates"]) == 2  # epochs 0 and 3
    props = [f["properties"] for f in gj["features"][1:]]
    assert [p["flagged"] for p in props] == [False, True, False, False]
    assert [p["valid"] for p in props] == [True, False, False, True]
    pt = gj["features"][1]["geometry"]["coordinates"]
    assert abs(pt[0] - np.degrees(lon)) < 1e-9 and abs(pt[1] - np.degrees(lat)) < 1e-9
    assert gj["features"][3]["geometry"] is None
    assert gj["features"][3]["properties"]["reason"] == "too few satellites"
    assert gj["features"][1]["properties"]["time_gpst"] == "2020-06-25T00:00:00.000"


def test_csv_and_parquet(small_solution, tmp_path, monkeypatch):
    pytest.importorskip("pandas")
    sol = small_solution
    write_csv(sol, tmp_path / "x.csv")
    with open(tmp_path / "x.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 4
    assert int(rows[0]["time_gpst_ns"]) == sol.time_ns[0]
    assert float(rows[0]["x_m"]) == pytest.approx(sol.position_m[0, 0], abs=1e-4)
    assert rows[2]["x_m"] == "" and rows[2]["reason"] == "too few satellites"
    # status [0, 3, 11, 1]: solved 0, 1, 3; valid (passed integrity) 0 and 3
    assert [r["valid"] for r in rows] == ["True", "False", "False", "True"]
    assert [r["solved"] for r in rows] == ["True", "True", "False", "True"]

    monkeypatch.setitem(sys.modules, "pyarrow", None)  # as if not installed
    with pytest.raises(SatnavError, match="pip install pyarrow"):
        write_parquet(sol, tmp_path / "x.parquet")
    monkeypatch.undo()
    pytest.importorskip("pyarrow")
    import pandas as pd

    write_solution(sol, tmp_path / "x.parquet")
    df = pd.read_parquet(tmp_path / "x.parquet")
    assert list(df["time_gpst_ns"]) == sol.time_ns.tolist()
    assert df["status"].tolist() == [0, 3, 11, 1]
    assert df["valid"].dtype == bool and df["valid"].tolist() == [True, False, False, True]


def test_format_from_extension(small_solution, tmp_path):
    with pytest.raises(SatnavError, match="give --format"):
        write_solution(small_solution, tmp_path / "x.unknown")
    with pytest.raises(SatnavError, match="unknown output format"):
        write_solution(small_solution, tmp_path / "x.pos", "shapefile")
    write_solution(small_solution, tmp_path / "x.txt", "pos-ecef")
    assert "x-ecef(m)" in (tmp_path / "x.txt").read_text()
    write_pos(small_solution, tmp_path / "y.pos", frame="ecef", inputs=["obs.rnx", "nav.rnx"])
    assert "% inp file  : nav.rnx" in (tmp_path / "y.pos").read_text()


# ---------------------------------------------------------------------- flagged epochs
# A real solution (gsi 0759, GPS, 120 epochs at 30 s, 2005/04/02 00:00:00-00:59:30 GPST)
# with statuses set by hand: solved-but-flagged epochs (status 2-6, moved km away as the ubx
# data's bad epochs are) must never be written as ordinary good fixes.
GSI_HEADER_XYZ = np.array([-3976219.5082, 3382372.5671, 3652512.9849])
# " -3976219.5082  3382372.5671  3652512.9849                  APPROX POSITION XYZ"
FLAGGED = {10: 2, 11: 2, 20: 3, 30: 4, 40: 5, 50: 6}  # epoch -> status
UNSOLVED = {60: 11, 61: 14}
OFFSET_M = np.array([5000.0, -3000.0, 2000.0])  # flagged epochs moved ~6 km


@pytest.fixture(scope="module")
def mixed_solution():
    import dataclasses

    from satnav.estimators.spp import solve_spp
    from satnav.io.rinex_nav import read_rinex_nav
    from satnav.io.rinex_obs import read_rinex_obs
    from tests.conftest import data_path

    obs = read_rinex_obs(data_path("gsi-2005-092", "07590920.05o"))
    nav = read_rinex_nav(data_path("gsi-2005-092", "07590920.05n"))
    sol = solve_spp(obs, nav)
    assert len(sol) == 120 and sol.valid.all()  # README: gsi 0759 all 120 epochs solved
    sol = dataclasses.replace(sol, status=sol.status.copy(), position_m=sol.position_m.copy())
    for i, st in FLAGGED.items():
        sol.status[i] = st
        sol.position_m[i] += OFFSET_M
    for i, st in UNSOLVED.items():
        sol.status[i] = st
        sol.position_m[i] = np.nan
    return sol


def _split_pos(text):
    """Independent parse of .pos text: data rows (split on blanks), flagged and unsolved
    comment lines as (time text, reason, numbers)."""
    data, flagged, unsolved = [], [], []
    for line in text.splitlines():
        if not line.startswith("%"):
            data.append(line.split())
            continue
        m = re.match(r"^% (\S+ \S+) flagged \((.*)\):(.*)$", line)
        if m:
            flagged.append((m.group(1), m.group(2), m.group(3).split()))
        m = re.match(r"^% (\S+ \S+) no solution: (.*)$", line)
        if m:
            unsolved.append((m.group(1), m.group(2)))
    return data, flagged, unsolved


def _gpst_text(time_ns):
    """GPST ns as .pos time text, by datetime from the GPS epoch 1980-01-06 (no leap
    seconds in GPST). The gsi epochs are 30 s apart with receiver offsets of a few ms
    (" 05  4  2  0  9 30.0010000  0  8G 3G ..." -> 00:09:30.001)."""
    import datetime as dt

    d = dt.datetime(1980, 1, 6) + dt.timedelta(microseconds=int(time_ns) // 1000)
    return d.strftime("%Y/%m/%d %H:%M:%S.%f")[:-3]


@pytest.mark.parametrize("frame", ["llh", "ecef"])
def test_pos_flagged_epochs_are_comments_not_fixes(mixed_solution, frame, tmp_path):
    from satnav.estimators.solution import STATUS

    sol = mixed_solution
    text = format_pos(sol, frame=frame)
    data, flagged, unsolved = _split_pos(text)
    bad = set(FLAGGED) | set(UNSOLVED)
    good = [i for i in range(120) if i not in bad]
    t = sol.time_ns
    assert [" ".join(r[:2]) for r in data] == [_gpst_text(t[i]) for i in good]
    assert [f[0] for f in flagged] == [_gpst_text(t[i]) for i in sorted(FLAGGED)]
    assert [f[1] for f in flagged] == [STATUS[FLAGGED[i]] for i in sorted(FLAGGED)]
    assert unsolved == [(_gpst_text(t[i]), STATUS[UNSOLVED[i]]) for i in sorted(UNSOLVED)]

    def xyz(rows):
        c = np.array([[float(v) for v in r[:3]] for r in rows])
        return geodetic_to_ecef(np.radians(c[:, 0]), np.radians(c[:, 1]), c[:, 2]) if frame == "llh" else c

    # every data row is a good fix (gsi 0759 SPP: H RMS 0.52 m, V 1.09 m vs the header)
    rows = np.array([r[2:] for r in data])
    assert np.max(np.linalg.norm(xyz(rows) - GSI_HEADER_XYZ, axis=1)) < 20.0
    # the flagged comments keep the whole row: position (to 1 mm), Q 5 and ns
    nums = [f[2] for f in flagged]
    assert len({len(n) for n in nums}) == 1 and len(nums[0]) == len(data[0]) - 2
    got = xyz(nums)
    want = np.array([sol.position_m[i] for i in sorted(FLAGGED)])
    assert np.max(np.abs(got - want)) < 1e-3
    assert [int(n[3]) for n in nums] == [5] * len(FLAGGED)
    assert [int(n[4]) for n in nums] == [int(sol.n_used[i]) for i in sorted(FLAGGED)]

    # RTKLIB-style readers (ours too) skip the comment lines
    p = tmp_path / "mixed.pos"
    p.write_text(text)
    back = read_pos(p)
    np.testing.assert_array_equal(back.time_ns, sol.time_ns[good])
    assert np.max(np.abs(back.position_m - sol.position_m[good])) < 1e-3


def test_pos_flagged_policy(mixed_solution, tmp_path):
    sol = mixed_solution
    data, flagged, unsolved = _split_pos(format_pos(sol, flagged="write"))
    assert len(data) == 120 - len(UNSOLVED) and not flagged and len(unsolved) == len(UNSOLVED)
    data, flagged, unsolved = _split_pos(format_pos(sol, flagged="skip", unsolved="skip"))
    assert len(data) == 120 - len(UNSOLVED) - len(FLAGGED) and not flagged and not unsolved
    assert "flagged" not in format_pos(sol, flagged="skip")
    with pytest.raises(SatnavError, match="flagged-epoch policy"):
        format_pos(sol, flagged="maybe")
    write_pos(sol, tmp_path / "w.pos", frame="ecef", flagged="write")  # passed through
    assert len(read_pos(tmp_path / "w.pos")) == 120 - len(UNSOLVED)


def test_pos_unverified_epochs_as_solutions_on_request(mixed_solution, tmp_path):
    """Epochs without redundancy for RAIM (status 2, e.g. four satellites) are flagged
    comments by default (test above); ``unverified="write"`` makes them Q=5 data rows, as
    RTKLIB writes every single solution, with a header line giving their number (issue 11)."""
    sol = mixed_solution
    unverified = sorted(i for i, st in FLAGGED.items() if st == 2)
    text = format_pos(sol, unverified="write")
    assert f"% unverified: {len(unverified)} epochs without redundancy" in text
    data, flagged, unsolved = _split_pos(text)
    assert len(data) == 120 - len(FLAGGED) - len(UNSOLVED) + len(unverified)
    assert [f[1] for f in flagged] == [STATUS[FLAGGED[i]] for i in sorted(FLAGGED) if i not in unverified]
    rows = {" ".join(r[:2]): r for r in data}
    for i in unverified:
        r = rows[_gpst_text(sol.time_ns[i])]
        assert int(r[5]) == 5 and int(r[6]) == int(sol.n_used[i])  # Q=5 single, ns
    p = tmp_path / "u.pos"
    write_pos(sol, p, unverified="write")
    back = read_pos(p)
    assert len(back) == len(data)
    i = unverified[0]
    k = int(np.flatnonzero(back.time_ns == sol.time_ns[i])[0])
    assert np.max(np.abs(back.position_m[k] - sol.position_m[i])) < 1e-3
    assert "% unverified:" not in format_pos(sol)
    with pytest.raises(SatnavError, match="unverified-epoch policy"):
        format_pos(sol, unverified="maybe")


def test_pos_relative_solution_without_valid_keeps_every_solved_epoch():
    """RtkSolution has quality and solved but no valid: every solved epoch stays a row."""
    from types import SimpleNamespace

    t = calendar_to_ns(2005, 4, 2, 0, 0, np.arange(3) * 30.0)
    pos = np.array([GSI_HEADER_XYZ] * 3)
    pos[2] = np.nan
    rtk = SimpleNamespace(
        time_ns=t, position_m=pos, solved=np.array([True, True, False]),
        quality=np.array([1, 2, 0], np.int8), n_used=np.array([7, 6, 0]),
        reasons=np.array(["fixed", "float", "no base data"], dtype=object),
    )
    data, flagged, unsolved = _split_pos(format_pos(rtk, frame="ecef"))
    assert [int(r[5]) for r in data] == [1, 2]  # Q from the solution
    assert not flagged and unsolved == [("2005/04/02 00:01:00.000", "no base data")]


def test_tracks_leave_flagged_epochs_out(mixed_solution, tmp_path):
    from satnav.estimators.solution import STATUS

    sol = mixed_solution
    bad = set(FLAGGED) | set(UNSOLVED)
    good = np.array([i for i in range(120) if i not in bad])
    lat, lon, h = ecef_to_geodetic(sol.position_m[good])
    flat, flon, _ = ecef_to_geodetic(sol.position_m[sorted(FLAGGED)])

    # GPX: track points are the good epochs only; flagged ones are waypoints named "flagged"
    write_gpx(sol, tmp_path / "x.gpx")
    g = {"g": "http://www.topografix.com/GPX/1/1"}
    root = ET.parse(tmp_path / "x.gpx").getroot()
    trk = root.findall(".//g:trkpt", g)
    np.testing.assert_allclose([float(p.get("lat")) for p in trk], np.degrees(lat), atol=1e-9)
    np.testing.assert_allclose([float(p.get("lon")) for p in trk], np.degrees(lon), atol=1e-9)
    wpt = root.findall("g:wpt", g)
    assert [w.find("g:desc", g).text for w in wpt] == [STATUS[FLAGGED[i]] for i in sorted(FLAGGED)]
    assert {w.find("g:name", g).text for w in wpt} == {"flagged"}
    np.testing.assert_allclose([float(w.get("lat")) for w in wpt], np.degrees(flat), atol=1e-9)
    # GPX 1.1 schema order: wpt before trk
    tags = [c.tag.split("}")[1] for c in root]
    assert tags == ["wpt"] * len(FLAGGED) + ["trk"]
    write_gpx(sol, tmp_path / "y.gpx", flagged="skip")
    assert not ET.parse(tmp_path / "y.gpx").getroot().findall("g:wpt", g)

    # KML: the LineString holds the good epochs only; flagged epochs in their own folder
    write_kml(sol, tmp_path / "x.kml")
    k = {"k": "http://www.opengis.net/kml/2.2"}
    root = ET.parse(tmp_path / "x.kml").getroot()
    line = np.array([[float(v) for v in c.split(",")]
                     for c in root.find(".//k:LineString/k:coordinates", k).text.split()])
    np.testing.assert_allclose(line[:, 0], np.degrees(lon), atol=1e-9)
    np.testing.assert_allclose(line[:, 2], h, atol=1e-4)
    folders = {f.find("k:name", k).text: f.findall("k:Placemark", k) for f in root.iter(f"{{{k['k']}}}Folder")}
    assert len(folders["epochs"]) == len(good)
    assert [p.find("k:name", k).text for p in folders["flagged epochs"]] == ["flagged"] * len(FLAGGED)
    assert {p.find("k:styleUrl", k).text for p in folders["flagged epochs"]} == {"#flagged"}
    write_kml(sol, tmp_path / "y.kml", flagged="skip")
    assert "flagged epochs" not in (tmp_path / "y.kml").read_text()

    # GeoJSON: LineString of the good epochs; flagged epochs are features flagged: true
    write_geojson(sol, tmp_path / "x.geojson")
    gj = json.loads((tmp_path / "x.geojson").read_text())
    track = np.array(gj["features"][0]["geometry"]["coordinates"])
    np.testing.assert_allclose(track[:, 1], np.degrees(lat), atol=1e-9)
    feats = gj["features"][1:]
    assert len(feats) == 120
    fl = [i for i, f in enumerate(feats) if f["properties"]["flagged"]]
    assert fl == sorted(FLAGGED)
    assert all(feats[i]["geometry"]["type"] == "Point" for i in fl)
    assert [feats[i]["properties"]["reason"] for i in fl] == [STATUS[FLAGGED[i]] for i in fl]
    assert [i for i, f in enumerate(feats) if f["geometry"] is None] == sorted(UNSOLVED)
    assert [i for i, f in enumerate(feats) if f["properties"]["valid"]] == good.tolist()


def test_nmea_and_csv_mark_flagged_epochs(mixed_solution, tmp_path):
    pynmeagps = pytest.importorskip("pynmeagps")
    pytest.importorskip("pandas")
    sol = mixed_solution
    msgs = [pynmeagps.NMEAReader.parse(s, validate=pynmeagps.VALCKSUM) for s in nmea_sentences(sol)]
    gga = [m for m in msgs if m.msgID == "GGA"]
    rmc = [m for m in msgs if m.msgID == "RMC"]
    assert len(gga) == len(rmc) == 120
    # GGA quality 0 = "fix not available or invalid" (NMEA 0183), 1 = GPS fix
    assert [i for i, m in enumerate(gga) if m.quality == 0] == sorted(set(FLAGGED) | set(UNSOLVED))
    assert [i for i, m in enumerate(rmc) if m.status == "V"] == sorted(set(FLAGGED) | set(UNSOLVED))
    la, _, _ = ecef_to_geodetic(sol.position_m[20])
    assert abs(gga[20].lat - np.degrees(la)) < 1e-7  # flagged: position kept, marked invalid
    gsa_modes = {int(m.navMode) for m in msgs if m.msgID == "GSA"}
    assert gsa_modes == {1, 3}

    write_csv(sol, tmp_path / "x.csv")
    with open(tmp_path / "x.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [i for i, r in enumerate(rows) if r["valid"] == "False"] == sorted(set(FLAGGED) | set(UNSOLVED))
    assert [i for i, r in enumerate(rows) if r["solved"] == "False"] == sorted(UNSOLVED)
    assert {rows[i]["status"] for i in FLAGGED} == {str(v) for v in FLAGGED.values()}


def test_nmea_hemispheres_south_and_west(mixed_solution):
    """The gsi solution moved to its antipode (south, west): pynmeagps reads back the negative
    latitudes and longitudes (its encoder takes the hemisphere from the value's sign)."""
    import dataclasses

    pynmeagps = pytest.importorskip("pynmeagps")
    sol = dataclasses.replace(mixed_solution, position_m=-mixed_solution.position_m)
    gga = [m for m in (pynmeagps.NMEAReader.parse(s, validate=pynmeagps.VALCKSUM) for s in nmea_sentences(sol))
           if m.msgID == "GGA"]
    la, lo, _ = ecef_to_geodetic(sol.position_m[0])
    assert np.degrees(la) < 0 and np.degrees(lo) < 0
    assert abs(gga[0].lat - np.degrees(la)) < 1e-7 and abs(gga[0].lon - np.degrees(lo)) < 1e-7
