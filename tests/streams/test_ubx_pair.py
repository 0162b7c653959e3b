"""RTK from a u-blox UBX rover and a UBX base (issue 13): GEONET 0759 (rover) and 3040 (base),
2005-04-02, encoded as UBX-RXM-RAWX by pyubx2 (an encoder nobody here wrote: its
``UBXMessage``), solved by ``satnav solve rover.ubx --base base.ubx`` and by ``satnav stream``
with UBX sources, navigation from the RINEX files: the positions equal ``satnav solve --base``
on the RINEX files (<= 1 mm), and the fixed ones are within 3 cm of RTKLIB's fixed solution
(stations.csv row 0759-rtk).

The RAWX messages carry what the RINEX files do: L1 C/A code and phase (sigId 0) and the L2
code and phase (P2/L2, here as sigId 3, L2 CL: UBX has no P(Y) signal; the band is what the
RTK uses), with the lock time restarting where the RINEX loss-of-lock flag is set, half-cycle
resolved, no Doppler and no C/N0 (the RINEX files have none). The RAWX version byte (1: sigId
valid) is the first byte of pyubx2's ``reserved1``.
"""

from __future__ import annotations

import csv

import numpy as np
import pytest

import satnav
from satnav.gnss_time import NS_PER_WEEK
from satnav.options import SolveOptions, StreamOptions
from satnav.pipeline import read_observations, solve_files
from satnav.satellites import satellite_id
from tests.conftest import data_path

pyubx2 = pytest.importorskip("pyubx2")

GSI = "gsi-2005-092"
LEAP_S = 13  # GPS - UTC in 2005


def _encode_rawx(obs) -> bytes:
    """UBX-RXM-RAWX messages (pyubx2) of every epoch of a GPS L1/L2 observation set."""
    sats = obs.satellite_indices
    bands = ((0, "C1C", "L1C"), (3, "C2W", "L2W"))  # (sigId, code, phase)
    dense = {c: obs.dense(c) for _, code, phase in bands for c in (code, phase)}
    lli = {phase: obs.dense(phase, what="lli") for _, _, phase in bands}
    lock_ms = {}  # (sat column, sigId) -> lock time at the previous epoch
    out = bytearray()
    for i, t in enumerate(np.asarray(obs.epochs, np.int64).tolist()):
        dt_ms = 0 if i == 0 else (t - int(obs.epochs[i - 1])) // 1_000_000
        meas = []
        for j, sat in enumerate(sats.tolist()):
            prn = int(satellite_id(sat)[1:])
            for sig, code, phase in bands:
                pr, cp = dense[code][i, j], dense[phase][i, j]
                if not (np.isfinite(pr) or np.isfinite(cp)):
                    continue
                flag = lli[phase][i, j]
                slipped = np.isfinite(cp) and np.isfinite(flag) and int(flag) & 1
                lock = 0 if slipped else min(lock_ms.get((j, sig), 1000 - dt_ms) + dt_ms, 64500)
                lock_ms[(j, sig)] = lock
                meas.append(dict(prMes=float(pr) if np.isfinite(pr) else 0.0,
                                 cpMes=float(cp) if np.isfinite(cp) else 0.0, doMes=0.0, gnssId=0, svId=prn,
                                 sigId=sig, freqId=0, locktime=lock, cno=0, prStd=5, cpStd=2, doStd=5,
                                 prValid=int(np.isfinite(pr)), cpValid=int(np.isfinite(cp)), halfCyc=1,
                                 subHalfCyc=0))
        fields = {f"{k}_{n + 1:02d}": v for n, m in enumerate(meas) for k, v in m.items()}
        week, ns = divmod(t, NS_PER_WEEK)
        msg = pyubx2.UBXMessage("RXM", "RXM-RAWX", pyubx2.GET, rcvTow=ns / 1e9, week=week, leapS=LEAP_S,
                                numMeas=len(meas), leapSec=1, reserved1=1, **fields)
        out += msg.serialize()
    return bytes(out)


@pytest.fixture(scope="module")
def ubx_pair(tmp_path_factory):
    d = tmp_path_factory.mktemp("ubx_pair")
    rover = data_path(GSI, "07590920.05o")
    base = data_path(GSI, "30400920.05o")
    for src, name in ((rover, "0759.ubx"), (base, "3040.ubx")):
        (d / name).write_bytes(_encode_rawx(satnav.read_obs(src)))
    navs = [str(data_path(GSI, "07590920.05n")), str(data_path(GSI, "30400920.05n"))]
    base_pos = satnav.read_obs(base).header.approx_position_m
    batch = solve_files(str(rover), navs, SolveOptions(mode="rtk-kinematic"), base=str(base))
    return d / "0759.ubx", d / "3040.ubx", navs, np.asarray(base_pos, float), batch


def _truth():
    with open(data_path("stations.csv")) as fh:
        row = next(r for r in csv.DictReader(fh) if r["station"] == "0759-rtk")
    return np.array([float(row[k]) for k in ("x_m", "y_m", "z_m")])


def test_ubx_pair_decodes_to_the_rinex_values(ubx_pair):
    rover_ubx, _, _, _, _ = ubx_pair
    got = read_observations(rover_ubx)
    ref = satnav.read_obs(data_path(GSI, "07590920.05o"))
    np.testing.assert_array_equal(got.epochs, ref.epochs)
    for ours, theirs in (("C1C", "C1C"), ("L1C", "L1C"), ("C2L", "C2W"), ("L2L", "L2W")):
        a, b = got.dense(ours), ref.dense(theirs)
        assert a.shape == b.shape
        np.testing.assert_array_equal(np.isnan(a), np.isnan(b))
        np.testing.assert_array_equal(a[np.isfinite(a)], b[np.isfinite(b)])


def test_solve_ubx_rover_with_ubx_base_equals_rinex(ubx_pair, tmp_path):
    from satnav.cli.main import main

    rover_ubx, base_ubx, navs, base_pos, batch = ubx_pair
    opts = SolveOptions(mode="rtk-kinematic", base_position=tuple(base_pos))
    sol = solve_files(str(rover_ubx), navs, opts, base=str(base_ubx))
    np.testing.assert_array_equal(sol.time_ns, batch.time_ns)
    np.testing.assert_array_equal(sol.quality, batch.quality)
    assert np.nanmax(np.abs(sol.position_m - batch.position_m)) <= 1e-3
    fixed = sol.position_m[sol.quality == 1]
    assert len(fixed) > 100 and np.max(np.linalg.norm(fixed - _truth(), axis=1)) < 0.03
    out = tmp_path / "ubx.pos"
    xyz = ",".join(f"{v:.4f}" for v in base_pos)
    assert main(["solve", str(rover_ubx), *navs, "--base", str(base_ubx), "--base-pos", xyz,
                 "--mode", "kinematic", "-o", str(out), "-q"]) == 0
    rows = [line.split() for line in out.read_text().splitlines() if not line.startswith("%")]
    assert len(rows) == len(batch) and sum(r[5] == "1" for r in rows) == int((batch.quality == 1).sum())


def test_stream_ubx_rover_and_base_equals_rinex(ubx_pair):
    from satnav.streams.session import open_session

    rover_ubx, base_ubx, navs, base_pos, batch = ubx_pair
    session = open_session(StreamOptions(mode="rtk-kinematic", base_position=tuple(base_pos)), str(rover_ubx),
                           base=str(base_ubx), navs=navs, keep_fixes=True)
    fixes = session.run(duration_s=120).fixes
    assert len(fixes) == len(batch)
    q = np.array([f.quality for f in fixes])
    np.testing.assert_array_equal(q, batch.quality)
    pos = np.array([f.position_m for f in fixes])
    assert np.nanmax(np.abs(pos - batch.position_m)) <= 1e-3


def test_cli_stream_ubx_pair(ubx_pair, tmp_path):
    """``satnav stream rover.ubx --base base.ubx --nav ... --base-pos ...``: the JSON lines'
    positions (0.1 mm resolution) equal the batch RINEX solution to 1 mm."""
    import json

    from satnav.cli.main import main

    rover_ubx, base_ubx, navs, base_pos, batch = ubx_pair
    out = tmp_path / "live.json"
    xyz = ",".join(repr(float(v)) for v in base_pos)
    assert main(["stream", str(rover_ubx), "--base", str(base_ubx), "--nav", *navs, "--mode", "kinematic",
                 "--base-pos", xyz, "--out", f"json:{out}", "-q"]) == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == len(batch)
    pos = np.array([[r["x_m"], r["y_m"], r["z_m"]] for r in rows], float)
    assert np.nanmax(np.abs(pos - batch.position_m)) <= 1e-3
    assert sum(r["q"] == 1 for r in rows) == int((batch.quality == 1).sum())
