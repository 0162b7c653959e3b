"""A satnav base station (``satnav stream BASE.obs --nav NAV --out rtcm3:...``) and RTK from raw
logs (``satnav solve ROVER --base BASE.rtcm3``):

* the RTCM 3 it writes is read by RTKLIB's convbin (an independent decoder): the same epochs,
  pseudoranges to the MSM7 resolution, phases up to a constant whole number of cycles per
  arc; pyrtcm reads its station message (the header position);
* ``satnav solve rover.obs --base base.rtcm3`` takes the navigation data from the base log and
  the week from the rover (RTCM time tags hold none): the same qualities as with the RINEX base
  and fixed positions within 2 mm of them and within 3 cm of RTKLIB's fixed solution.
"""

from __future__ import annotations

import csv
import shutil
import subprocess

import numpy as np
import pytest

import satnav
from satnav.cli.main import main
from tests.conftest import data_path


@pytest.fixture(scope="module")
def base_rtcm(tmp_path_factory):
    d = data_path("gsi-2005-092")
    out = tmp_path_factory.mktemp("base") / "3040.rtcm3"
    assert main(["stream", str(d / "30400920.05o"), "--nav", str(d / "30400920.05n"), "--out", f"rtcm3:{out}",
                 "--station-id", "3040", "-q"]) == 0
    return out


@pytest.mark.skipif(shutil.which("convbin") is None, reason="RTKLIB convbin not installed")
def test_convbin_reads_the_base_station_stream(base_rtcm, tmp_path):
    obs_out = tmp_path / "cb.obs"
    subprocess.run(["convbin", "-r", "rtcm3", "-tr", "2005/04/02", "00:00:00", str(base_rtcm), "-o", str(obs_out)],
                   check=True, capture_output=True, timeout=60)
    got = satnav.read_obs(obs_out)
    ref = satnav.read_obs(data_path("gsi-2005-092", "30400920.05o"))
    np.testing.assert_array_equal(got.epochs, ref.epochs)
    def table(o, prefix):
        names = np.asarray(o.codes)[o.code]
        sel = np.char.startswith(names, prefix)
        return {(int(t), int(s), str(n)[:2]): v for t, s, n, v in zip(o.time[sel], o.sat[sel], names[sel], o.value[sel])}
    for prefix, tol in (("C1", 1e-3), ("C2", 1e-3)):
        a, b = table(got, prefix), table(ref, prefix)
        common = set(a) & set(b)
        assert len(common) >= 0.99 * len(b)
        assert max(abs(a[k] - b[k]) for k in common) <= tol
    for prefix in ("L1", "L2"):
        a, b = table(got, prefix), table(ref, prefix)
        common = sorted(set(a) & set(b))
        assert len(common) >= 0.99 * len(b)
        d = np.array([a[k] - b[k] for k in common])
        assert np.max(np.abs(d - np.round(d))) < 2e-3  # whole cycles apart
        per_sat = {}
        for k, x in zip(common, np.round(d)):
            per_sat.setdefault(k[1], set()).add(x)
        assert sum(len(v) for v in per_sat.values()) <= 2 * len(per_sat)  # constant per arc


def test_pyrtcm_reads_the_station_message(base_rtcm):
    pyrtcm = pytest.importorskip("pyrtcm")
    ref = satnav.read_obs(data_path("gsi-2005-092", "30400920.05o")).header.approx_position_m
    with open(base_rtcm, "rb") as fh:
        msgs = [m for _, m in pyrtcm.RTCMReader(fh, quitonerror=0) if m is not None]
    ids = {m.identity for m in msgs}
    assert {"1006", "1033", "1019", "1077"} <= ids
    st = next(m for m in msgs if m.identity == "1006")
    assert st.DF003 == 3040
    xyz = np.array([st.DF025, st.DF026, st.DF027])
    assert np.max(np.abs(xyz - ref)) < 1e-4


def _rows(path):
    out = {}
    for line in open(path):
        if line.startswith("%") or not line.strip():
            continue
        f = line.split()
        out[f[0] + " " + f[1]] = (np.array([float(x) for x in f[2:5]]), int(f[5]))
    return out


def test_solve_with_a_raw_base_log(base_rtcm, tmp_path):
    d = data_path("gsi-2005-092")
    rover = str(d / "07590920.05o")
    assert main(["solve", rover, "--base", str(base_rtcm), "-o", str(tmp_path / "raw.pos"), "-q"]) == 0
    assert main(["solve", rover, str(d / "07590920.05n"), "--base", str(d / "30400920.05o"),
                 "-o", str(tmp_path / "rinex.pos"), "-q"]) == 0
    a, b = _rows(tmp_path / "raw.pos"), _rows(tmp_path / "rinex.pos")
    assert a.keys() == b.keys() and len(a) == 120
    assert all(a[k][1] == b[k][1] for k in a)
    deg = np.array([111e3, 91e3, 1.0])  # m per degree of latitude / longitude here, height m
    assert max(np.max(np.abs(a[k][0] - b[k][0]) * deg) for k in a if a[k][1] == 1) < 2e-3
    with open(data_path("stations.csv")) as fh:
        truth = next(np.array([float(r[c]) for c in ("x_m", "y_m", "z_m")]) for r in csv.DictReader(fh)
                     if r["station"] == "0759-rtk")
    from satnav.frames import ecef_to_geodetic

    lat, lon, h = (float(v[0]) for v in ecef_to_geodetic(truth[None, :]))
    t_llh = np.array([np.degrees(lat), np.degrees(lon), h])
    fixed = [a[k][0] for k in a if a[k][1] == 1]
    assert len(fixed) > 100
    assert max(np.max(np.abs(x - t_llh) * deg) for x in fixed) < 0.03


def test_ubx_receiver_as_a_base_station(tmp_path):
    """A u-blox log as the base station's receiver: RTCM 3 MSM7 of GPS and Galileo with the
    ephemerides decoded from its SFRBX, read back by pyrtcm."""
    pyrtcm = pytest.importorskip("pyrtcm")
    ubx = data_path("ubx", "16dBatt_no_interference_coldstart.ubx.gz")
    out = tmp_path / "ublox.rtcm3"
    xyz = "4313751.0,452888.0,4661044.0"
    assert main(["stream", str(ubx), "--out", f"rtcm3:{out}", "--station-pos", xyz, "-q"]) == 0
    with open(out, "rb") as fh:
        msgs = [m for _, m in pyrtcm.RTCMReader(fh, quitonerror=0) if m is not None]
    counts = {}
    for m in msgs:
        counts[m.identity] = counts.get(m.identity, 0) + 1
    assert counts.get("1077", 0) >= 500 and counts.get("1097", 0) >= 500
    assert counts.get("1019", 0) >= 5 and counts.get("1046", 0) + counts.get("1045", 0) >= 5
    st = next(m for m in msgs if m.identity in ("1005", "1006"))
    assert abs(st.DF025 - 4313751.0) < 1e-3
