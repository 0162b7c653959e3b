"""UBX gaps filled in satnav.io.ubx: RXM-SFRBX GLONASS strings and BeiDou D1 subframes against
RTKLIB 2.4.3 ``convbin``'s navigation file of the same logs (converted here), the receiver's
NAV-PVT / NAV-HPPOSLLH against pyubx2, RXM-RAWX decoded in pieces against one piece."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from satnav.io.rinex_nav import read_rinex_nav
from satnav.io.ubx import read_ubx

DATA = Path(os.environ.get("SATNAV_DATA", Path(__file__).resolve().parents[3] / "shared" / "data"))
STREAMS = DATA / "streams"
CONVBIN = shutil.which("convbin")
pytestmark = pytest.mark.skipif(not STREAMS.exists(), reason="stream test data not available")
needs_convbin = pytest.mark.skipif(CONVBIN is None, reason="RTKLIB convbin not installed")


def _convbin_nav(log: Path, tmp_path: Path):
    out = tmp_path / (log.name + ".nav")
    subprocess.run([CONVBIN, "-r", "ubx", "-o", str(tmp_path / "x.obs"), "-n", str(out), str(log)],
                   check=True, capture_output=True, timeout=120)  # fmt: skip
    return read_rinex_nav(out)


def _compare(ours, ref, letter, skip=()):
    table = {(int(r["sat"]), int(r["toc"])): r for r in ref.messages[letter]}
    assert len(ours.messages[letter]) == len(table)
    for rec in ours.messages[letter]:
        other = table[(int(rec["sat"]), int(rec["toc"]))]
        for name in rec.dtype.names:
            if name in ("line", "source", *skip):
                continue
            a, b = rec[name], other[name]
            if isinstance(a, np.floating):
                assert (np.isnan(a) and np.isnan(b)) or np.isclose(a, b, rtol=1e-11, atol=0), (name, a, b)
            else:
                assert a == b, (name, a, b)


@needs_convbin
def test_glonass_strings_and_beidou_d1_equal_convbin(tmp_path):
    log = STREAMS / "pygpsdata_testobsnavdata.log"  # an F9P: RAWX and SFRBX of G, R, E, C
    ours = read_ubx(log).navigation
    ref = _convbin_nav(log, tmp_path)
    assert ours.count_by_system()["R"] == 8 and ours.count_by_system()["C"] == 4
    # RINEX 3.04 has no GLONASS group delay; convbin keeps the frame time of a later copy
    _compare(ours, ref, "R", skip=("group_delay", "frame_time"))
    _compare(ours, ref, "C")


@needs_convbin
def test_beidou_d1_of_a_long_sfrbx_log_equals_convbin(tmp_path):
    log = STREAMS / "pygpsdata-rxmsfrbx.log"  # 49 773 subframes, no RAWX
    ours = read_ubx(log).navigation
    ref = _convbin_nav(log, tmp_path)
    assert ours.count_by_system()["C"] == 23
    _compare(ours, ref, "C")


def test_receiver_solutions_equal_pyubx2_fields():
    import gzip
    import io

    from pyubx2 import UBXReader

    log_path = DATA / "ubx" / "16dBatt_no_interference_coldstart.ubx.gz"
    log = read_ubx(log_path)
    pvt, hp = log.receiver["NAV-PVT"], log.receiver["NAV-HPPOSLLH"]
    assert len(pvt) == len(hp) == 582
    data = gzip.decompress(log_path.read_bytes())
    ref_pvt, ref_hp = [], []
    for _, msg in UBXReader(io.BytesIO(data), protfilter=2, quitonerror=0):
        if msg is None:
            continue
        if msg.identity == "NAV-PVT":
            ref_pvt.append((msg.lat, msg.lon, msg.height / 1e3, msg.hAcc / 1e3, msg.numSV, msg.fixType, msg.gnssFixOk))
        elif msg.identity == "NAV-HPPOSLLH":
            # pyubx2 combines the high-precision parts: lat/lon in deg, height and hAcc in mm
            ref_hp.append((msg.lat, msg.lon, msg.height / 1e3, msg.hAcc / 1e3))
    ref_pvt, ref_hp = np.array(ref_pvt, float), np.array(ref_hp, float)
    deg = np.pi / 180
    np.testing.assert_allclose(pvt.lat_rad, ref_pvt[:, 0] * deg, atol=1e-12)
    np.testing.assert_allclose(pvt.lon_rad, ref_pvt[:, 1] * deg, atol=1e-12)
    np.testing.assert_allclose(pvt.height_m, ref_pvt[:, 2], atol=1e-9)
    np.testing.assert_allclose(pvt.h_acc_m, ref_pvt[:, 3], atol=1e-9)
    np.testing.assert_array_equal(pvt.num_sv, ref_pvt[:, 4])
    np.testing.assert_array_equal(pvt.fix_type, ref_pvt[:, 5])
    np.testing.assert_array_equal(pvt.valid, ref_pvt[:, 6] != 0)
    np.testing.assert_allclose(hp.lat_rad, ref_hp[:, 0] * deg, atol=1e-13)
    np.testing.assert_allclose(hp.lon_rad, ref_hp[:, 1] * deg, atol=1e-13)
    np.testing.assert_allclose(hp.height_m, ref_hp[:, 2], atol=1e-9)
    np.testing.assert_allclose(hp.h_acc_m, ref_hp[:, 3], atol=1e-9)
    # dated with the RAWX epochs: the last solution is the last observation epoch (to 10 ms)
    assert abs(int(pvt.time_ns[-1]) - int(log.observations.epochs[-1])) < 10**7


def test_rawx_decoded_in_pieces_equals_one_piece():
    from satnav.io.ubx import decode_rawx, decode_rawx_chunked, frame_ubx, read_ubx_bytes

    for path in (STREAMS / "pygpsdata_testobsdata.log", DATA / "ubx" / "16dBatt_no_interference_coldstart.ubx.gz"):
        data = read_ubx_bytes(path)
        frames = frame_ubx(data)
        whole = decode_rawx(data, frames)
        pieces = decode_rawx_chunked(data, frames, chunk=97, lead_in=40)
        np.testing.assert_array_equal(pieces.epochs, whole.epochs)
        assert pieces.codes == whole.codes and pieces.header.obs_codes == whole.header.obs_codes
        for name in ("time", "sat", "code", "value", "lli"):
            np.testing.assert_array_equal(getattr(pieces, name), getattr(whole, name))
