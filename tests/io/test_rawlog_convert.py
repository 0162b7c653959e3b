"""``satnav convert`` of raw logs piece by piece (satnav.io.rawlog_convert): the files written
are byte for byte those of the whole-log conversion (read_ubx / read_rtcm3 + write_rinex_obs,
whose decoding the UBX and RTCM 3 tests check against RTKLIB convbin and pyubx2/pyrtcm),
with pieces far smaller than the logs so that every seam (framing pieces, RAWX pieces with
their lead-in, RTCM pieces ending with an epoch, SFRBX dated across pieces) is crossed."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import numpy as np
import pytest

import satnav.io.rawlog_convert as rc
import satnav.io.ubx as ubx_module
from satnav.cli.main import main
from satnav.gnss_time import parse_gpst
from satnav.io.framing import frame_stream
from satnav.io.rinex_nav_writer import write_rinex_nav
from satnav.io.rinex_obs_writer import write_rinex_obs
from satnav.io.rtcm3 import read_rtcm3
from satnav.io.ubx import read_ubx

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
    done = rc.convert_raw_log(log, out, protocol=protocol, nav_output=nav, time_hint_ns=hint)
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


def test_a_new_observation_type_later_in_the_log_widens_the_records(small_pieces, tmp_path):
    # the first epochs of the cold-start log track fewer signals than later ones
    whole_obs, _ = _whole(UBX, "ubx", tmp_path)
    out = tmp_path / "p.obs"
    done = rc.convert_raw_log(UBX, out, protocol="ubx")
    assert _text(out) == _text(whole_obs)
    assert done.passes >= 1


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
