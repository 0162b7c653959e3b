"""u-blox UBX decoding (satnav.io.ubx) against independent conversions: RTKLIB demo5
convbin's RINEX of the same log (observations and navigation), Debian's convbin 2.4.3
(F9T L1/L2 log, when installed) and pyubx2's field values."""

from __future__ import annotations

import gzip
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from satnav.cli.main import main
from satnav.info import detect_format, file_info
from satnav.io.rinex_nav import read_rinex_nav
from satnav.io.rinex_obs import read_rinex_obs
from satnav.io.ubx import decode_rawx, frame_ubx, read_ubx, read_ubx_bytes

DATA = Path(os.environ.get("SATNAV_DATA", Path(__file__).resolve().parents[3] / "shared" / "data"))
UBX = DATA / "ubx" / "16dBatt_no_interference_coldstart.ubx.gz"
F9T = DATA / "ubx" / "F9T-L2-5min.ubx.gz"
STREAMS = DATA / "streams"
pytestmark = pytest.mark.skipif(not UBX.exists(), reason="UBX test data not available")


def _rows(obs, rename=lambda sat, code: code):
    names = obs.codes
    return {
        (int(t), int(s), rename(int(s), names[c])): (float(v), int(lli))
        for t, s, c, v, lli in zip(obs.time, obs.sat, obs.code, obs.value, obs.lli)
    }


def _convbin_code(sat: int, code: str) -> str:
    # convbin (no -MULTICODE) writes Galileo E1 B/C as the combined "1X"; u-blox sigId 0 is E1 C
    return code[:2] + "C" if sat // 100 == 2 and code.endswith("X") else code


@pytest.fixture(scope="module")
def log():
    return read_ubx(UBX)


def test_observations_equal_convbin_epoch_by_epoch(log):
    ours = log.observations
    ref = read_rinex_obs(UBX.with_name(UBX.name.replace(".ubx.gz", ".obs.gz")))
    # the UBX file is the first 3 MB of the log convbin converted: compare over its span
    lo, hi = ours.epochs[0], ours.epochs[-1]
    ref_epochs = ref.epochs[(ref.epochs >= lo) & (ref.epochs <= hi)]
    assert len(ours.epochs) == 562
    np.testing.assert_array_equal(ours.epochs, ref_epochs)
    a = _rows(ours)
    b = {k: v for k, v in _rows(ref, _convbin_code).items() if lo <= k[0] <= hi}
    assert set(a) == set(b)  # same epochs, satellites, signals and observation types
    for key, (value, lli) in a.items():
        ref_value, ref_lli = b[key]
        # RINEX resolution: 1 mm, 1 mcycle, 1 mHz, 0.001 dB-Hz (values rounded to 3 decimals)
        assert abs(value - ref_value) <= 0.0005 + 1e-6, key
        if key[2][0] == "L":
            assert lli == ref_lli, key
    lli = np.array([v[1] for k, v in a.items() if k[2][0] == "L"])
    assert (lli & 1).sum() > 0  # loss-of-lock flags are exercised


def test_ephemerides_equal_convbin_nav(log):
    ref = read_rinex_nav(UBX.with_name(UBX.name.replace(".ubx.gz", ".nav.gz")))
    nav = log.navigation
    assert nav.count_by_system() == {"G": 9, "E": 19}
    floats = [n for n in nav.messages["G"].dtype.names if nav.messages["G"].dtype[n] == np.float64]
    for system, mine in nav.messages.items():
        theirs = ref.messages[system]
        for rec in mine:
            m = theirs[(theirs["sat"] == rec["sat"]) & (theirs["toe"] == rec["toe"]) & (theirs["iode"] == rec["iode"])]
            assert len(m) == 1, (system, rec["sat"], rec["toe"])
            assert rec["toc"] == m[0]["toc"]
            for name in floats:
                a, b = rec[name], m[0][name]
                if name == "transmission_time" and system == "E":
                    # convbin keeps the ephemeris from a later I/NAV subframe for some satellites
                    assert 0 <= b - a <= 30, (rec["sat"], a, b)
                    continue
                if np.isnan(a) and np.isnan(b):
                    continue
                # the RINEX file holds 12 significant digits
                assert abs(a - b) <= 5.1e-12 * max(abs(a), abs(b)), (system, rec["sat"], name, a, b)
    assert "GAL" in nav.header.iono_corrections


def test_rawx_fields_equal_pyubx2():
    pyubx2 = pytest.importorskip("pyubx2")
    data = read_ubx_bytes(F9T)
    frames = frame_ubx(data)
    obs = decode_rawx(data, frames, phase_std_limit=15)
    offsets = frames.select(0x02, 0x15)[:3]
    rows = _rows(obs)
    checked = 0
    for off in offsets.tolist():
        length = int.from_bytes(data[off - 2 : off], "little")
        msg = pyubx2.UBXReader.parse(data[off - 6 : off + length + 2])
        week, tow = msg.week, msg.rcvTow
        t = int(week) * 604800 * 10**9 + int(round(tow * 1e9))
        for i in range(1, msg.numMeas + 1):
            g = getattr(msg, f"gnssId_{i:02d}")
            if g != 0:  # GPS
                continue
            sv, sig = getattr(msg, f"svId_{i:02d}"), getattr(msg, f"sigId_{i:02d}")
            band = {0: "1C", 3: "2L"}[sig]
            pr = rows.get((t, sv, "C" + band))
            if getattr(msg, f"prValid_{i:02d}"):
                assert pr is not None and abs(pr[0] - getattr(msg, f"prMes_{i:02d}")) < 1e-6
            cno = rows[(t, sv, "S" + band)][0]
            assert cno == getattr(msg, f"cno_{i:02d}")
            dop = rows[(t, sv, "D" + band)][0]
            assert abs(dop - getattr(msg, f"doMes_{i:02d}")) < 1e-3
            checked += 1
    assert checked > 20


def test_f9t_l2_codes_and_convbin_243():
    log = read_ubx(F9T)
    obs = log.observations
    assert "C2L" in obs.header.obs_codes["G"] and "L2L" in obs.header.obs_codes["G"]
    assert log.counts["garbage_bytes"] == 644  # the gpsd JSON lines before the first frame
    assert len(obs.epochs) == 299
    convbin = shutil.which("convbin")
    if convbin is None:
        pytest.skip("convbin (Debian package rtklib) not installed")
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "f9t.ubx"
        raw.write_bytes(gzip.decompress(F9T.read_bytes()))
        out = Path(tmp) / "f9t.obs"
        subprocess.run([convbin, "-r", "ubx", "-o", str(out), str(raw)], check=True, capture_output=True, timeout=120)
        ref = read_rinex_obs(out)
    np.testing.assert_array_equal(obs.epochs, ref.epochs)
    a, b = _rows(obs), _rows(ref)
    # code, Doppler and C/N0 of every signal convbin 2.4.3 writes (it has no BeiDou B1C);
    # its phase validity and LLI rules differ from demo5's
    common = [k for k in b if k[2][0] in "CDS"]
    assert len(common) > 10000
    for k in common:
        assert abs(a[k][0] - b[k][0]) <= 0.0005 + 1e-6, k


def test_mixed_streams_decode_without_errors():
    log = read_ubx(STREAMS / "pygpsdata-rxmsfrbx.log")
    assert log.messages == {"RXM-SFRBX": 49773}
    assert log.counts["garbage_bytes"] == 0 and log.counts["ubx_checksum_failures"] == 0
    assert log.navigation.count_by_system()["G"] > 0 and log.navigation.count_by_system()["E"] > 0
    log = read_ubx(STREAMS / "pygpsdata_testobsnavdata.log")
    assert log.messages == {"RXM-SFRBX": 1125, "RXM-RAWX": 75}
    assert len(log.observations.epochs) == 75
    assert set(log.observations.header.obs_codes) == {"G", "R", "E", "C"}


def test_framer_resynchronises_after_garbage_and_bad_checksums():
    data = read_ubx_bytes(F9T)[644:200000]
    clean = frame_ubx(data)
    broken = bytearray(data)
    cut = int(clean.start[10])
    broken[cut + 8] ^= 0xFF  # one checksum failure
    broken[:0] = b"\xb5\x62garbage$GPGGA,1*00\r\n"  # garbage and a bad NMEA sentence
    nmea = b"$GPTXT,01,01,02,hello*" + f"{_xor(b'GPTXT,01,01,02,hello'):02X}".encode() + b"\r\n"
    rtcm_body = bytes([0x3E, 0xD0, 0, 0])  # 1005-like payload, 4 bytes
    rtcm = b"\xd3\x00\x04" + rtcm_body
    from satnav.io.ubx import _crc24q

    rtcm += _crc24q(rtcm).to_bytes(3, "big")
    at = int(clean.start[20]) + len(b"\xb5\x62garbage$GPGGA,1*00\r\n")
    broken[at:at] = nmea + rtcm
    frames = frame_ubx(bytes(broken))
    assert len(frames.start) == len(clean.start) - 1
    # the corrupted message and the sync bytes at the head of the garbage
    assert frames.counts["ubx_checksum_failures"] == 2
    assert frames.counts["nmea"] == 1 and frames.counts["nmea_checksum_failures"] == 1
    assert frames.counts["rtcm3"] == 1
    # the truncated tail is counted, not fatal
    tail = frame_ubx(bytes(broken[:-100]))
    assert tail.counts["truncated"] == 1


def _xor(body: bytes) -> int:
    x = 0
    for b in body:
        x ^= b
    return x


def test_convert_and_info_commands(tmp_path, capsys):
    out, nav = tmp_path / "out.rnx", tmp_path / "out_nav.rnx"
    assert main(["convert", str(UBX), "-o", str(out), "--nav", str(nav)]) == 0
    obs = read_rinex_obs(out)
    assert len(obs.epochs) == 562
    assert read_rinex_nav(nav).count_by_system() == {"G": 9, "E": 19}
    assert detect_format(UBX) == ("ubx", None)
    info = file_info(F9T)
    assert info["format"] == "ubx" and info["epochs"] == 299
    assert main(["info", str(UBX)]) == 0
    assert "u-blox UBX" in capsys.readouterr().out
