"""``satnav convert`` of raw logs piece by piece (satnav.io.rawlog_convert): the files written
are byte for byte those of the whole-log conversion (read_ubx / read_rtcm3 + write_rinex_obs,
whose decoding the UBX and RTCM 3 tests check against RTKLIB convbin and pyubx2/pyrtcm),
with pieces far smaller than the logs so that every seam (framing pieces, RAWX pieces with
their lead-in, RTCM pieces ending with an epoch, SFRBX dated across pieces) is crossed."""

from __future__ import annotations

import gzip
import os
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

import satnav.io.rawlog_convert as rc
import satnav.io.ubx as ubx_module
from satnav.cli.main import main
from satnav.gnss_time import ns_to_calendar, parse_gpst
from satnav.io.framing import frame_stream
from satnav.io.rinex_nav_writer import write_rinex_nav
from satnav.io.rinex_obs_writer import write_rinex_obs
from satnav.io.rtcm3 import read_rtcm3
from satnav.io.ubx import read_ubx
from satnav.satellites import satellite_index

DATA = Path(os.environ.get("SATNAV_DATA", Path(__file__).resolve().parents[3] / "shared" / "data"))
STREAMS = DATA / "streams"
UBX = DATA / "ubx" / "16dBatt_no_interference_coldstart.ubx.gz"
pytestmark = pytest.mark.skipif(not UBX.exists() or not STREAMS.exists(), reason="raw log test data not available")


def _text(path: Path) -> list[bytes]:
    """The file's lines without the run date (PGM / RUN BY / DATE)."""
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    return [line for line in raw.split(b"\n") if b"PGM / RUN BY / DATE" not in line]


def _whole(log, protocol, tmp_path, hint=None):
    """The whole-log conversion (the reference)."""
    if protocol == "ubx":
        decoded = read_ubx(log)
    else:
        decoded = read_rtcm3(log, time_hint_ns=hint)
    obs_path, nav_path = tmp_path / "whole.obs", tmp_path / "whole.nav"
    write_rinex_obs(decoded.observations, obs_path)
    write_rinex_nav(decoded.navigation, nav_path)
    return obs_path, nav_path


@pytest.fixture
def small_pieces(monkeypatch):
    """Pieces far smaller than the test logs."""
    monkeypatch.setattr(rc, "PIECE_BYTES", 50_000)
    monkeypatch.setattr(rc, "RTCM_PIECE_FRAMES", 150)
    monkeypatch.setattr(ubx_module, "RAWX_CHUNK", 120)
    monkeypatch.setattr(ubx_module, "RAWX_LEAD_IN", 45)


CASES = [
    (UBX, "ubx", None, True),
    (DATA / "ubx" / "F9T-L2-5min.ubx.gz", "ubx", None, True),
    (STREAMS / "pygpsdata_testobsnavdata.log", "ubx", None, True),
    # its BeiDou MSM carry GPST tags, decoded as BDT 14 s late (see test_rtcm3): the epochs of
    # one piece reach past the next piece's first ones and join the next piece
    (STREAMS / "GMSD7_20121014.rtcm3", "rtcm3", None, True),
    # legacy 1004 + 1012: 1004 clears the multiple-message bit, so pieces split epochs
    (STREAMS / "testglo.rtcm3", "rtcm3", "2013-05-04", True),
    (STREAMS / "pygpsdata-NTRIP-USCL00CHL0.log", "rtcm3", None, True),
    (STREAMS / "pygpsdata-rtcm3.log", "rtcm3", None, True),
]


@pytest.mark.parametrize("log,protocol,date,streamed", CASES, ids=[c[0].name for c in CASES])
def test_pieces_write_the_files_of_the_whole_log(log, protocol, date, streamed, small_pieces, tmp_path):
    hint = int(parse_gpst(date)) if date else None
    whole_obs, whole_nav = _whole(log, protocol, tmp_path, hint)
    out, nav = tmp_path / "pieces.obs", tmp_path / "pieces.nav"
    # records formatted by forked processes while the next piece is decoded: the same bytes
    done = rc.convert_raw_log(log, out, protocol=protocol, nav_output=nav, time_hint_ns=hint, jobs=2)
    assert done.streamed == streamed
    assert _text(out) == _text(whole_obs)
    assert _text(nav) == _text(whole_nav)
    assert done.epochs > 0 and done.observations > 0


def test_sfrbx_before_and_between_rawx_pieces(small_pieces, tmp_path):
    # the long SFRBX log: subframes dated by the RAWX before them, across pieces
    log = STREAMS / "pygpsdata_testobsnavdata.log"
    whole_obs, whole_nav = _whole(log, "ubx", tmp_path)
    out, nav = tmp_path / "p.obs", tmp_path / "p.nav.gz"
    rc.convert_raw_log(log, out, protocol="ubx", nav_output=nav)
    assert _text(nav) == _text(whole_nav)


def _ubx_frame(cls: int, mid: int, payload: bytes) -> bytes:
    body = bytes([cls, mid]) + len(payload).to_bytes(2, "little") + payload
    a = b = 0
    for x in body:
        a = (a + x) & 0xFF
        b = (b + a) & 0xFF
    return b"\xb5\x62" + body + bytes([a, b])


def test_a_new_observation_type_later_in_the_log_widens_the_records(small_pieces, tmp_path):
    # the cold-start log with its Galileo measurements taken out of the first 300 RXM-RAWX
    # messages: the Galileo types appear pieces later, the records written are laid out again
    data = gzip.decompress(UBX.read_bytes())
    fr = frame_stream(data)
    out_frames, k = [], 0
    for s, n, c, i in zip(fr.ubx_start.tolist(), fr.ubx_length.tolist(), fr.ubx_cls.tolist(), fr.ubx_id.tolist()):
        frame = data[s : s + n + 8]
        if (c, i) == (2, 0x15) and k < 300 and n >= 16:
            payload = frame[6:-2]
            meas = [payload[16 + 32 * j : 48 + 32 * j] for j in range(payload[11])]
            kept = [m for m in meas if m[20] != 2]  # gnssId 2: Galileo
            frame = _ubx_frame(2, 0x15, payload[:11] + bytes([len(kept)]) + payload[12:16] + b"".join(kept))
        k += (c, i) == (2, 0x15)
        out_frames.append(frame)
    log = tmp_path / "late_galileo.ubx"
    log.write_bytes(b"".join(out_frames))
    whole_obs, _ = _whole(log, "ubx", tmp_path)
    for jobs in (1, 2):
        out = tmp_path / f"p{jobs}.obs"
        done = rc.convert_raw_log(log, out, protocol="ubx", jobs=jobs)
        assert done.streamed and done.widenings >= 1
        assert _text(out) == _text(whole_obs)
    assert b"E    4 C1C L1C D1C S1C" in out.read_bytes()


def test_a_log_out_of_time_order_is_converted_whole(small_pieces, tmp_path):
    # the second half of the RAWX messages before the first half
    data = gzip.decompress(UBX.read_bytes())
    fr = frame_stream(data)
    rawx = np.flatnonzero((fr.ubx_cls == 2) & (fr.ubx_id == 0x15))
    frames = [data[s : s + n + 8] for s, n in zip(fr.ubx_start[rawx].tolist(), fr.ubx_length[rawx].tolist())]
    half = len(frames) // 2
    log = tmp_path / "swapped.ubx"
    log.write_bytes(b"".join(frames[half:] + frames[:half]))
    whole_obs, _ = _whole(log, "ubx", tmp_path)
    out = tmp_path / "p.obs"
    done = rc.convert_raw_log(log, out, protocol="ubx")
    assert not done.streamed
    assert _text(out) == _text(whole_obs)


def test_convert_command_writes_pieces(small_pieces, tmp_path, capsys):
    log = STREAMS / "pygpsdata-NTRIP-USCL00CHL0.log"
    whole_obs, whole_nav = _whole(log, "rtcm3", tmp_path)
    out, nav = tmp_path / "c.obs", tmp_path / "c.nav"
    assert main(["convert", str(log), "-o", str(out), "--nav", str(nav)]) == 0
    assert _text(out) == _text(whole_obs) and _text(nav) == _text(whole_nav)
    printed = capsys.readouterr().out
    assert "RINEX 3.05 navigation" in printed and " epochs, " in printed


#: Header labels of RINEX 4.01 observation files (Table A2: those of 3.05 plus DOI, LICENSE
#: OF USE, STATION INFORMATION; Orekit's RINEX 4 parser accepts the same list).
RINEX4_OBS_LABELS = {
    "RINEX VERSION / TYPE", "PGM / RUN BY / DATE", "COMMENT", "MARKER NAME", "MARKER NUMBER", "MARKER TYPE",
    "OBSERVER / AGENCY", "REC # / TYPE / VERS", "ANT # / TYPE", "APPROX POSITION XYZ", "ANTENNA: DELTA H/E/N",
    "ANTENNA: DELTA X/Y/Z", "ANTENNA: PHASECENTER", "ANTENNA: B.SIGHT XYZ", "ANTENNA: ZERODIR AZI",
    "ANTENNA: ZERODIR XYZ", "CENTER OF MASS: XYZ", "DOI", "LICENSE OF USE", "STATION INFORMATION",
    "SYS / # / OBS TYPES", "SIGNAL STRENGTH UNIT", "INTERVAL", "TIME OF FIRST OBS", "TIME OF LAST OBS",
    "RCV CLOCK OFFS APPL", "SYS / DCBS APPLIED", "SYS / PCVS APPLIED", "SYS / SCALE FACTOR", "SYS / PHASE SHIFT",
    "GLONASS SLOT / FRQ #", "GLONASS COD/PHS/BIS", "LEAP SECONDS", "# OF SATELLITES", "PRN / # OF OBS",
    "END OF HEADER",
}  # fmt: skip
#: Header labels of RINEX 4 navigation files (Table A5: ionosphere and time-system corrections
#: are ION / STO records, not header lines).
RINEX4_NAV_LABELS = {"RINEX VERSION / TYPE", "PGM / RUN BY / DATE", "COMMENT", "REC # / TYPE / VERS", "MERGED FILE",
                     "DOI", "LICENSE OF USE", "STATION INFORMATION", "LEAP SECONDS", "END OF HEADER"}  # fmt: skip


@pytest.mark.parametrize("log", [UBX, STREAMS / "pygpsdata-NTRIP-USCL00CHL0.log"], ids=["ubx", "rtcm3"])
def test_rinex4_output_reads_back_and_by_georinex(log, tmp_path):
    """``--rinex-version 4``: RINEX 4.01 observations (header and records read by satnav and by
    georinex's RINEX 3 record reader, the records being the same) and RINEX 4.01 navigation
    with its message-type record lines, both holding what the 3.05 files hold."""
    from satnav.io.rinex_nav import read_rinex_nav
    from satnav.io.rinex_obs import read_rinex_obs

    out3, nav3, out4, nav4 = (tmp_path / n for n in ("o3.rnx", "n3.rnx", "o4.rnx", "n4.rnx"))
    assert main(["convert", str(log), "-o", str(out3), "--nav", str(nav3), "-q"]) == 0
    # (the UBX log's GPS ionosphere/UTC header values are left out of RINEX 4, with a warning)
    assert main(["convert", str(log), "-o", str(out4), "--nav", str(nav4), "--rinex-version", "4", "-q"]) == 0
    text = out4.read_text().splitlines()
    # RINEX 4.01 Table A1: F9.2,11X,A1 ('O'),19X,A1 (system), labels in columns 61-80
    assert text[0][:9] == "     4.01" and text[0][20] == "O" and text[0][40] == "M"
    assert text[0][60:] == "RINEX VERSION / TYPE"
    assert _text(out4)[1:] == _text(out3)[1:]  # only the version differs
    labels = {t[60:] for t in text[: next(i for i, t in enumerate(text) if t[60:] == "END OF HEADER") + 1]}
    assert labels <= RINEX4_OBS_LABELS, labels - RINEX4_OBS_LABELS
    assert {"RINEX VERSION / TYPE", "PGM / RUN BY / DATE", "SYS / # / OBS TYPES", "TIME OF FIRST OBS"} <= labels
    a, b = read_rinex_obs(out4), read_rinex_obs(out3)
    assert a.header.version == 4.01
    for name in ("time", "sat", "code", "value", "lli"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    georinex = pytest.importorskip("georinex")
    from georinex.obs3 import rinexobs3

    code = "C1C"
    n = min(60, len(a.epochs) - 1)  # georinex merges epoch by epoch: the first minute
    cal = ns_to_calendar(a.epochs[[0, n]])
    first, last = (datetime(*[int(c[k]) for c in cal[:6]]) for k in (0, 1))
    last += timedelta(seconds=1)
    ds = rinexobs3(out4, meas=[code], tlim=(first, last))
    sats = [s for s in a.satellites if s in ds.sv.values]
    window = a.epoch_slice(0, len(ds.time))
    dense = window.dense(code, satellites=[satellite_index(s) for s in sats])
    assert len(sats) > 5
    for j in range(len(sats)):
        ref = ds[code].sel(sv=sats[j]).values
        np.testing.assert_allclose(ref, dense[:, j], rtol=0, atol=0.0005, equal_nan=True)
    assert georinex  # used
    # navigation: RINEX 4 record lines "> EPH SSS TYPE" (RINEX 4.01 Table A31-style), no header
    # corrections (RINEX 4 holds them as ION/STO records); the same messages as RINEX 3.05
    nav_text = nav4.read_text().splitlines()
    assert nav_text[0][:9] == "     4.01" and nav_text[0][20] == "N"
    header = nav_text[: next(i for i, t in enumerate(nav_text) if t[60:] == "END OF HEADER") + 1]
    assert {t[60:] for t in header} <= RINEX4_NAV_LABELS
    types = {t[6:9][0] + ":" + t[10:].strip() for t in nav_text if t.startswith("> EPH")}
    expected = {"G:LNAV", "E:INAV", "E:FNAV", "R:FDMA", "C:D1", "C:D2", "J:LNAV", "I:LNAV", "S:SBAS"}
    assert types and types <= expected
    n4, n3 = read_rinex_nav(nav4), read_rinex_nav(nav3)
    assert n4.count_by_system() == n3.count_by_system()
    for s in n3.messages:
        for field_name in ("toe", "sqrt_a", "e", "m0") if s != "R" else ("x", "vx"):
            if field_name in n3.messages[s].dtype.names:
                np.testing.assert_array_equal(n4.messages[s][field_name], n3.messages[s][field_name])


def test_header_comments_say_program_and_input(tmp_path):
    """The converted files say which program made them from which log."""
    from satnav._version import __version__

    for log, fmt in ((UBX, "u-blox UBX log"), (STREAMS / "pygpsdata-NTRIP-USCL00CHL0.log", "RTCM 3 log")):
        obs, nav = tmp_path / "o.rnx", tmp_path / "n.rnx"
        assert main(["convert", str(log), "-o", str(obs), "--nav", str(nav), "-q"]) == 0
        for path in (obs, nav):
            lines = path.read_text().splitlines()
            head = lines[: next(i for i, t in enumerate(lines) if t[60:] == "END OF HEADER") + 1]
            assert head[1][60:] == "PGM / RUN BY / DATE" and head[1][:20].strip() == f"satnav {__version__}"
            comments = " ".join(t[:60].strip() for t in head if t[60:] == "COMMENT")
            assert "CONVERTED BY SATNAV FROM" in comments and log.name in comments.replace(" ", "") or log.name in comments
            assert fmt in comments
