"""RTCM 3 decoding (satnav.io.rtcm3) against independent outputs: RTKLIB 2.4.3 ``convbin``
(Debian package ``rtklib``) run here on the same logs, pyrtcm's field values, and the RINEX
navigation file of the day of the Galileo HAS recording."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from satnav.constants import SPEED_OF_LIGHT
from satnav.gnss_time import calendar_to_ns
from satnav.io.framing import frame_stream
from satnav.io.rinex_obs import read_rinex_obs
from satnav.io.rtcm3 import decode_rtcm3, read_rtcm3
from satnav.satellites import satellite_index

DATA = Path(os.environ.get("SATNAV_DATA", Path(__file__).resolve().parents[3] / "shared" / "data"))
STREAMS = DATA / "streams"
pytestmark = pytest.mark.skipif(not STREAMS.exists(), reason="stream test data not available")
CONVBIN = shutil.which("convbin")
needs_convbin = pytest.mark.skipif(CONVBIN is None, reason="RTKLIB convbin not installed")
RESOLUTION = {
    "C": 0.0015,
    "L": 0.0015,
    "D": 0.0015,
    "S": 0.25,
}  # RINEX; RTKLIB keeps S in 0.25 dB-Hz


def _rows(obs):
    names = obs.codes
    return {
        (int(t), int(s), names[c]): (float(v), int(lli))
        for t, s, c, v, lli in zip(obs.time, obs.sat, obs.code, obs.value, obs.lli)
    }


def _convbin(log: Path, tmp_path: Path, day: str) -> Path:
    out = tmp_path / (log.name + ".obs")
    subprocess.run(
        [CONVBIN, "-r", "rtcm3", "-tr", day, "00:00:00", "-od", "-os", "-o", str(out), str(log)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    return out


def _assert_equal_rows(a: dict, b: dict) -> None:
    assert set(b) <= set(a)
    for key, (ref, ref_lli) in b.items():
        value, lli = a[key]
        assert abs(value - ref) <= RESOLUTION[key[2][0]], (key, value, ref)
        if key[2][0] == "L":
            # convbin adds 3 (not 2) for a half-cycle ambiguity: compare bit 0 where it is clear
            if not ref_lli & 2:
                assert (lli & 1) == (ref_lli & 1), key
            assert bool(lli & 2) == bool(ref_lli & 2), key


@needs_convbin
def test_msm7_of_a_mixed_log_equals_convbin(tmp_path):
    # an F9P base: RTCM 1005/1077/1087/1097/1127/1230 interleaved with UBX and NMEA
    log = STREAMS / "pygpsdata-rtcm3.log"
    ours = read_rtcm3(log, time_hint_ns=int(calendar_to_ns(2020, 1, 1)))
    assert (
        ours.counts["ubx"] == 174 and ours.counts["nmea"] == 4661 and ours.counts["rtcm3"] == 1106
    )
    ref = read_rinex_obs(_convbin(log, tmp_path, "2020/01/01"))
    np.testing.assert_array_equal(ours.observations.epochs, ref.epochs)
    a, b = _rows(ours.observations), _rows(ref)
    assert set(a) == set(b) and len(a) == 30744
    _assert_equal_rows(a, b)
    assert ours.observations.header.approx_position_m is not None


@needs_convbin
def test_msm4_to_7_and_legacy_of_six_systems_equal_convbin(tmp_path):
    log = STREAMS / "pygpsdata-NTRIP-USCL00CHL0.log"
    ours = read_rtcm3(log, time_hint_ns=int(calendar_to_ns(2020, 1, 1)))
    ref = read_rinex_obs(_convbin(log, tmp_path, "2020/01/01"))
    # the log ends with a 1002 of the next second: an epoch convbin never closes
    assert len(ours.observations.epochs) == 2 and ours.observations.epochs[0] == ref.epochs[0]
    a = {k: v for k, v in _rows(ours.observations).items() if k[0] == ref.epochs[0]}
    b = _rows(ref)
    assert set(a) == set(b)
    _assert_equal_rows(a, b)
    np.testing.assert_allclose(
        ours.stations[0].position_m, [1762489.6191, -5027633.8438, -3496008.8438], atol=1e-4
    )
    assert {"G", "R", "E", "C", "S"} <= set(ours.observations.header.obs_codes)


@needs_convbin
def test_gmsd_beidou_equals_convbin_and_week_rollover(tmp_path):
    log = STREAMS / "GMSD7_20121014.rtcm3"
    ours = read_rtcm3(log)  # week from the log's own 1019 ephemerides
    # the log's BeiDou MSM carry GPST time tags (a 2012 draft): decoded as BDT they fall
    # 14 s after the other systems' epochs, as in convbin's conversion (BeiDou only)
    ref = read_rinex_obs(_convbin(log, tmp_path, "2012/10/14"))
    a = {k: v for k, v in _rows(ours.observations).items() if k[1] // 100 == 3}
    _assert_equal_rows(a, _rows(ref))
    assert set(a) == set(_rows(ref))
    # GPS time crosses the end of GPS week 1710 (2012-10-14 00:00 GPST)
    week_start = int(calendar_to_ns(2012, 10, 14))
    gps_epochs = np.unique(ours.observations.time[ours.observations.sat < 100])
    assert gps_epochs[0] == week_start - 16 * 10**9 and gps_epochs[-1] > week_start
    assert np.all(np.diff(gps_epochs) == 10**9)
    assert ours.counts["truncated"] == 1  # the log is cut at 256 KiB


def test_gmsd_msm7_values_equal_pyrtcm_fields():
    from pyrtcm import RTCMReader
    from pyrtcm.rtcmhelpers import parse_msm

    log = STREAMS / "GMSD7_20121014.rtcm3"
    ours = read_rtcm3(log)
    obs = ours.observations
    a = _rows(obs)
    t0 = int(calendar_to_ns(2012, 10, 13, 23, 59, 44))  # the first GPS epoch (tow 604784 s)
    letters = {"GPS": "G", "GLONASS": "R", "QZSS": "J"}
    checked = 0
    with open(log, "rb") as fh:
        for _, msg in RTCMReader(fh, quitonerror=0):
            if msg is None or msg.identity not in ("1077", "1087", "1117"):
                continue
            meta, sats, cells = parse_msm(msg)
            rough = {s["PRN"]: s["DF397"] + s["DF398"] for s in sats}
            t = t0  # GLONASS time of day 2:59:28 UTC(SU)+3h = the same GPST instant
            for c in cells:
                if c["DF405"] is None or c["CELLSIG"] not in ("1C", "2W", "2P", "1P", "2X", "5X"):
                    continue
                prn = int(c["CELLPRN"])
                prn = prn - 192 if prn > 192 else prn  # pyrtcm numbers QZSS 193..
                sat = satellite_index(f"{letters[meta['gnss']]}{prn:02d}")
                pr = (rough[c["CELLPRN"]] + c["DF405"]) * SPEED_OF_LIGHT * 1e-3
                value, _ = a[(t, sat, "C" + c["CELLSIG"])]
                assert abs(value - pr) < 1e-4
                value, _ = a[(t, sat, "S" + c["CELLSIG"])]
                assert value == c["DF408"]
                checked += 1
            if msg.identity == "1117":
                break
    assert checked >= 30


def test_faults_are_counted_not_fatal():
    data = (STREAMS / "GMSD7_20121014.rtcm3").read_bytes()
    clean = frame_stream(data, ubx=False)
    starts = clean.rtcm_start.tolist()
    broken = bytearray(data)
    broken[starts[10] + 20] ^= 0xFF  # a CRC failure
    broken[starts[30] : starts[30]] = b"\x00garbage\xd3\x00\x05junk"  # garbage and a false preamble
    log = decode_rtcm3(bytes(broken))
    assert log.counts["rtcm3"] == len(starts) - 1
    assert log.counts["rtcm3_crc_failures"] >= 1
    assert log.counts["garbage_bytes"] > 0
    ref = read_rtcm3(STREAMS / "GMSD7_20121014.rtcm3")
    assert len(log.observations.epochs) == len(ref.observations.epochs)
    # nothing but damaged bytes
    assert len(decode_rtcm3(b"\xd3\x00\x13" + bytes(40)).observations) == 0


def _nav_key(letter, rec):
    if letter == "R":
        return (int(rec["sat"]), int(rec["toc"]))
    return (
        int(rec["sat"]),
        int(rec["toc"]),
        float(rec["iode"]),
        float(np.nan_to_num(rec["data_source"])),
    )


def _assert_same_messages(ours, ref, letter, skip=("line", "source", "transmission_time")):
    table = {_nav_key(letter, r): r for r in ref.messages[letter]}
    matched = 0
    for rec in ours.messages[letter]:
        other = table.get(_nav_key(letter, rec))
        if other is None:
            continue
        matched += 1
        for name in rec.dtype.names:
            if name in skip:
                continue
            a, b = rec[name], other[name]
            if isinstance(a, np.floating):
                assert (np.isnan(a) and np.isnan(b)) or np.isclose(a, b, rtol=1e-11, atol=0), (
                    name,
                    a,
                    b,
                )
            else:
                assert a == b, (name, a, b)
    return matched


def test_ephemerides_equal_the_days_rinex_navigation():
    from satnav.io.rinex_nav import read_rinex_nav

    ours = read_rtcm3(STREAMS / "idd2023229c.rtc").navigation
    assert ours.count_by_system() == {"G": 51, "E": 128}  # distinct messages of 3407 + 2672
    ref = read_rinex_nav(STREAMS / "OBE42023229c.nav")
    # the RINEX file is another receiver's: the messages both hold are equal field by field
    assert _assert_same_messages(ours, ref, "G") == 11
    assert _assert_same_messages(ours, ref, "E") == 36  # I/NAV (1046, data source 517)


@needs_convbin
def test_gps_and_glonass_ephemerides_equal_convbin(tmp_path):
    from satnav.io.rinex_nav import read_rinex_nav

    log = STREAMS / "GMSD7_20121014.rtcm3"
    nav = tmp_path / "gmsd.nav"
    subprocess.run([CONVBIN, "-r", "rtcm3", "-tr", "2012/10/14", "00:00:00", "-o", str(tmp_path / "x.obs"),
                    "-n", str(nav), str(log)], check=True, capture_output=True, timeout=120)  # fmt: skip
    ours = read_rtcm3(log).navigation
    ref = read_rinex_nav(nav)
    assert ours.count_by_system() == ref.count_by_system() == {"G": 15, "R": 16}
    assert _assert_same_messages(ours, ref, "G", skip=("line", "source")) == 15
    # RINEX 3.04 has no GLONASS group delay
    assert _assert_same_messages(ours, ref, "R", skip=("line", "source", "group_delay")) == 16


def test_one_message_of_each_ephemeris_type_equals_pyrtcm():
    from pyrtcm import RTCMReader

    log = STREAMS / "pygpsdata-NTRIP-USCL00CHL0.log"
    nav = read_rtcm3(log, time_hint_ns=int(calendar_to_ns(2024, 3, 13))).navigation
    fields = {"1019": ("G", {"DF092": "sqrt_a", "DF090": "e", "DF084": "af0", "DF093": "toe_sow"}),
              "1042": ("C", {"DF504": "sqrt_a", "DF502": "e", "DF496": "af0", "DF505": "toe_sow"}),
              "1045": ("E", {"DF303": "sqrt_a", "DF301": "e", "DF296": "af0", "DF304": "toe_sow"}),
              "1046": ("E", {"DF303": "sqrt_a", "DF301": "e", "DF296": "af0", "DF304": "toe_sow"}),
              "1020": ("R", {"DF112": "x", "DF111": "vx", "DF040": "freq_num"})}  # fmt: skip
    seen = set()
    with open(log, "rb") as fh:
        for _, msg in RTCMReader(fh, quitonerror=0):
            if msg is None or msg.identity not in fields:
                continue
            letter, names = fields[msg.identity]
            recs = nav.messages[letter]
            if msg.identity in ("1045", "1046"):
                recs = recs[recs["message_type"] == ("FNAV" if msg.identity == "1045" else "INAV")]
            rec = recs[0]
            for df, name in names.items():
                value = getattr(msg, df)
                if name in ("x", "vx"):
                    value *= 1e3  # km -> m
                if name == "freq_num":
                    value -= 7
                assert np.isclose(rec[name], value, rtol=1e-12), (
                    msg.identity,
                    name,
                    rec[name],
                    value,
                )
            seen.add(msg.identity)
    assert seen == set(fields)


def test_incremental_decoder_equals_the_file_decoder():
    from satnav.io.rtcm3 import Rtcm3Decoder
    from satnav.io.stream_items import EpochItem, StationItem

    log = STREAMS / "pygpsdata-rtcm3.log"
    hint = int(calendar_to_ns(2020, 1, 1))
    ref = read_rtcm3(log, time_hint_ns=hint).observations
    data = log.read_bytes()
    dec = Rtcm3Decoder(time_hint_ns=hint)
    rng = np.random.default_rng(1)
    items, pos = [], 0
    while pos < len(data):  # arbitrary splits, mid-frame included
        n = int(rng.integers(1, 3000))
        items += dec.feed(data[pos : pos + n])
        pos += n
    items += dec.flush()
    epochs = [i.observations for i in items if isinstance(i, EpochItem)]
    np.testing.assert_array_equal([int(e.epochs[0]) for e in epochs], ref.epochs)
    for k in (0, 1, 77, len(epochs) - 1):
        assert _rows(epochs[k]) == _rows(ref.epoch_slice(k, k + 1))
    assert sum(isinstance(i, StationItem) for i in items) == 158


def test_mixed_stream_decoder_routes_rtcm_and_ubx():
    from satnav.io.rtcm3 import MixedStreamDecoder
    from satnav.io.stream_items import EpochItem

    log = STREAMS / "pygpsdata-rtcm3.log"
    data = log.read_bytes()
    broken = (
        data[:100000]
        + b"\xd3\x00\x10garbage"
        + bytes([0xB5, 0x62, 1, 7, 4, 0, 1, 2, 3, 4, 0, 0])
        + data[100000:]
    )
    dec = MixedStreamDecoder(time_hint_ns=int(calendar_to_ns(2020, 1, 1)))
    items = []
    for k in range(0, len(broken), 4096):
        items += dec.feed(broken[k : k + 4096])
    items += dec.flush()
    assert sum(isinstance(i, EpochItem) and i.protocol == "rtcm3" for i in items) >= 157
    # the bytes went in the middle of a frame: that one frame is lost (a CRC failure)
    assert dec.counts["ubx"] == 174 and dec.counts["nmea"] == 4661 and dec.counts["rtcm3"] == 1105
    assert dec.counts["ubx_checksum_failures"] >= 1 and dec.counts["garbage_bytes"] > 0


def test_convert_info_and_solve_accept_rtcm3_logs(tmp_path, capsys):
    import gzip

    from satnav.cli.main import main
    from satnav.info import detect_format
    from satnav.io.rinex_nav import read_rinex_nav

    gz = tmp_path / "gmsd.rtcm3.gz"  # compressed, and a name that says nothing
    gz.write_bytes(gzip.compress((STREAMS / "GMSD7_20121014.rtcm3").read_bytes()))
    assert detect_format(gz) == ("rtcm3", None)
    assert (
        main(["convert", str(gz), "-o", str(tmp_path / "o.rnx"), "--nav", str(tmp_path / "n.rnx")])
        == 0
    )
    obs = read_rinex_obs(tmp_path / "o.rnx")
    ref = read_rtcm3(STREAMS / "GMSD7_20121014.rtcm3").observations
    np.testing.assert_array_equal(obs.epochs, ref.epochs)
    assert len(obs) == len(ref)
    assert read_rinex_nav(tmp_path / "n.rnx").count_by_system() == {"G": 15, "R": 16}
    assert main(["info", "--json", str(gz)]) == 0
    assert '"format": "rtcm3"' in capsys.readouterr().out
    # SPP from the log alone (its own 1019/1020 ephemerides)
    assert main(["solve", str(gz), "-o", str(tmp_path / "g.pos")]) == 0
    from satnav.io.solution import read_pos

    sol = read_pos(tmp_path / "g.pos")
    xyz = np.nanmedian(sol.position_m, axis=0)
    gmsd = np.array([-3607665.5, 4147867.9, 3223716.9])  # the station's 2020 coordinate
    assert np.linalg.norm(xyz - gmsd) < 20.0
    assert (
        main(
            [
                "convert",
                str(STREAMS / "pygpsdata-rtcm3.log"),
                "-o",
                str(tmp_path / "x.rnx"),
                "--time",
                "x",
            ]
        )
        == 2
    )


@needs_convbin
def test_legacy_glonass_1012_equals_convbin(tmp_path):
    log = STREAMS / "testglo.rtcm3"  # RTKLIB's test data: legacy 1004/1012, 1019/1020
    ours = read_rtcm3(log, time_hint_ns=int(calendar_to_ns(2020, 1, 1)))
    ref = read_rinex_obs(_convbin(log, tmp_path, "2020/01/01"))  # convbin keeps GLONASS only
    a = {k: v for k, v in _rows(ours.observations).items() if k[1] // 100 == 1}
    b = _rows(ref)
    assert set(a) == set(b) and len(b) == 6569
    _assert_equal_rows(a, b)


def test_random_payloads_with_valid_crcs_never_raise():
    """Frames of every decoded message number with random contents (valid CRC-24Q, any
    length): masks, counts and lengths that lie are dropped or counted, never an exception."""
    from satnav.io.rtcm3 import Rtcm3Decoder
    from satnav.io.rtcm3_encode import frame
    from satnav.io.rtcm3_nav import EPHEMERIS_TYPES
    from satnav.io.rtcm3_obs import LEGACY_TYPES, MSM_TYPES

    rng = np.random.default_rng(13)
    types = [*MSM_TYPES, *LEGACY_TYPES, *EPHEMERIS_TYPES, 1005, 1006, 1007, 1008, 1033, 1230, 4072]
    hint = int(calendar_to_ns(2020, 1, 1))
    for _ in range(60):
        out = b""
        for mtype in rng.choice(types, 20).tolist():
            payload = bytearray(rng.integers(0, 256, int(rng.integers(2, 300)), dtype=np.uint8).tobytes())
            payload[0], payload[1] = mtype >> 4, ((mtype & 0xF) << 4) | (payload[1] & 0xF)
            out += frame(bytes(payload))
        log = decode_rtcm3(out, time_hint_ns=hint)
        assert log.counts["rtcm3"] == 20
        dec = Rtcm3Decoder(time_hint_ns=hint)
        dec.feed(out[: len(out) // 3])
        dec.feed(out[len(out) // 3 :])
        dec.flush()


def test_decoding_in_pieces_equals_one_piece():
    for name, hint in (("GMSD7_20121014.rtcm3", None), ("pygpsdata-rtcm3.log", int(calendar_to_ns(2020, 1, 1)))):
        data = (STREAMS / name).read_bytes()
        whole = decode_rtcm3(data, time_hint_ns=hint)
        pieces = decode_rtcm3(data, time_hint_ns=hint, chunk_frames=37)
        a, b = whole.observations, pieces.observations
        assert a.codes == b.codes
        for field in ("epochs", "time", "sat", "code", "value", "lli"):
            np.testing.assert_array_equal(getattr(a, field), getattr(b, field))
        assert whole.navigation.count_by_system() == pieces.navigation.count_by_system()


def _bits_of(payload: bytes) -> str:
    return "".join(f"{b:08b}" for b in payload)


def _msm7_to_compact(payload: bytes, k: int) -> bytes:
    """An MSM7 payload re-packed by hand as MSM``k`` (1-3) following RTCM 10403.3 tables
    3.5-78 to 3.5-82 (header, DF398 per satellite; DF400 / DF401, DF402, DF420 per cell):
    DF400 = DF405 / 2^5, DF401 = DF406 / 2^2 (rounded), DF402 = DF407 // 64 (capped at 15)."""
    b = _bits_of(payload)
    nsat, nsig = b[73:137].count("1"), b[137:169].count("1")
    ncell = b[169 : 169 + nsat * nsig].count("1")
    p = 169 + nsat * nsig
    header = f"{int(b[:12], 2) - 7 + k:012b}" + b[12:p]
    sat = [b[p + 8 * nsat + 4 * nsat + 10 * i : p + 8 * nsat + 4 * nsat + 10 * (i + 1)] for i in range(nsat)]
    q = p + nsat * (8 + 4 + 10 + 14)

    def field(offset, width, i):
        return b[q + offset * ncell + width * i : q + offset * ncell + width * (i + 1)]

    def signed(text):
        v = int(text, 2)
        return v - (1 << len(text)) if text[0] == "1" else v

    def pack(v, width):
        return f"{v & ((1 << width) - 1):0{width}b}"

    df400, df401, df402, df420 = [], [], [], []
    for i in range(ncell):
        fine_pr, fine_cp = signed(field(0, 20, i)), signed(field(20, 24, i))
        lock, half = int(field(44, 10, i), 2), field(54, 1, i)
        df400.append(pack(-(1 << 14) if fine_pr == -(1 << 19) else round(fine_pr / 32), 15))
        df401.append(pack(-(1 << 21) if fine_cp == -(1 << 23) else round(fine_cp / 4), 22))
        df402.append(pack(min(15, lock // 64), 4))
        df420.append(half)
    signal = {1: df400, 2: df401 + df402 + df420, 3: df400 + df401 + df402 + df420}[k]
    bits = header + "".join(sat) + "".join(signal)
    bits += "0" * (-len(bits) % 8)
    return int(bits, 2).to_bytes(len(bits) // 8, "big")


def test_msm1_to_3_of_every_system_equal_pyrtcm_fields():
    """MSM1, MSM2 and MSM3 of seven systems (built by hand from the MSM7 of the NTRIP log, see
    _msm7_to_compact), decoded by satnav.io.rtcm3_obs.decode_msm, equal pyrtcm's fields:
    rough range modulo 1 ms (DF398) + fine pseudorange (DF400) and phase range (DF401), lock
    indicator (DF402) and half-cycle flag (DF420) of every cell (pyrtcm 1.2 cannot parse
    MSM2: its DF420 group is mistyped, so MSM2 is checked against pyrtcm's MSM3 of the same
    cells, which carries the same fields); a log of them converts without error, the messages
    counted, no range written (they are modulo 1 ms)."""
    import io

    from pyrtcm import RTCMReader
    from pyrtcm.rtcmhelpers import calc_crc24q, parse_msm

    from satnav.io._bits import padded
    from satnav.io.rtcm3_obs import RANGE_MS, decode_msm, lock_time_ms

    data = (STREAMS / "pygpsdata-NTRIP-USCL00CHL0.log").read_bytes()
    fr = frame_stream(data)
    built = []  # per MSM7: {k: frame}
    for s, n, t in zip(fr.rtcm_start.tolist(), fr.rtcm_length.tolist(), fr.rtcm_type.tolist()):
        if t % 10 == 7 and 1077 <= t <= 1137:
            group = {}
            for k in (1, 2, 3):
                payload = _msm7_to_compact(data[s + 3 : s + 3 + n], k)
                head = bytes([0xD3, len(payload) >> 8, len(payload) & 0xFF]) + payload
                group[k] = head + calc_crc24q(head).to_bytes(3, "big")
            built.append(group)
    assert len(built) == 7
    checked = 0
    for group in built:
        ref = {}
        for k in (1, 3):
            _, msg = RTCMReader(io.BytesIO(group[k]), quitonerror=2).read()
            meta, sats, cells = parse_msm(msg)
            ref[k] = ({s["PRN"]: s["DF398"] for s in sats}, cells)
        for k in (1, 2, 3):
            frame = group[k]
            fs = frame_stream(frame)
            assert fs.counts["rtcm3"] == 1 and fs.counts["rtcm3_crc_failures"] == 0
            mtype = int(fs.rtcm_type[0])
            got = decode_msm(padded(frame), np.array([0]), fs.rtcm_start + 3, fs.rtcm_length, mtype, {})
            rough, cells = ref[1 if k == 1 else 3]
            assert len(got.sat) == len(cells)
            for j, c in enumerate(cells):
                r = rough[c["CELLPRN"]]
                if k in (1, 3):
                    want = None if c["DF400"] is None else (r + c["DF400"]) * RANGE_MS
                    assert (want is None and np.isnan(got.pseudorange_m[j])) or abs(got.pseudorange_m[j] - want) < 1e-6
                else:
                    assert np.isnan(got.pseudorange_m[j])
                if k in (2, 3):
                    want = None if c["DF401"] is None else (r + c["DF401"]) * RANGE_MS
                    assert (want is None and np.isnan(got.phase_range_m[j])) or abs(got.phase_range_m[j] - want) < 1e-6
                    assert got.lock_ms[j] == lock_time_ms(np.array([c["DF402"]]), 3)[0]
                    assert got.half[j] == c["DF420"]
                assert got.cnr_dbhz[j] == 0
                checked += 1
    assert checked > 300
    log = b"".join(f for group in built for f in group.values())
    decoded = decode_rtcm3(log, time_hint_ns=int(calendar_to_ns(2022, 1, 1)))
    assert decoded.counts["msm1_3_messages"] == 21
    assert len(decoded.observations) == 0 and len(decoded.observations.epochs) == 0


def test_msm_decoded_message_by_message_equals_all_at_once():
    """The live path (one message at a time, :func:`decode_msm_message`) gives the cells of
    the vectorized decoder (checked against convbin and pyrtcm above) for every MSM message
    of four recordings, damaged ones and MSM4/5/6/7 of six systems included."""
    from satnav.io._bits import padded
    from satnav.io.rtcm3_obs import MSM_TYPES, ObsCells, decode_msm, decode_msm_message

    checked = set()
    for name in ("GMSD7_20121014.rtcm3", "pygpsdata-NTRIP-USCL00CHL0.log", "pygpsdata-rtcm3.log", "testglo.rtcm3"):
        data = (STREAMS / name).read_bytes()
        fr = frame_stream(data)
        buf = padded(data)
        for i in np.flatnonzero(np.isin(fr.rtcm_type, list(MSM_TYPES))).tolist()[:400]:
            mtype, s, n = int(fr.rtcm_type[i]), int(fr.rtcm_start[i]) + 3, int(fr.rtcm_length[i])
            for payload in (data[s : s + n], data[s : s + n // 2]):  # whole, and cut short
                c_all, c_one = {}, {}
                ref = decode_msm(buf if len(payload) == n else padded(payload), np.array([i]),
                                 np.array([s if len(payload) == n else 0]), np.array([len(payload)]), mtype, c_all)
                got = decode_msm_message(payload, i, mtype, c_one)
                assert c_one == c_all
                for f in ObsCells.__dataclass_fields__:
                    a, b = getattr(ref, f), getattr(got, f)
                    assert a.dtype == b.dtype, f
                    np.testing.assert_array_equal(a, b, err_msg=f)
            checked.add(mtype)
    assert len(checked) >= 12


@pytest.mark.parametrize("compiled", [False, True])
def test_live_framing_walk_equals_the_framer(compiled):
    """A live buffer walked frame by frame gives :func:`frame_stream`'s framing (the chain of
    frames from the first byte, an incomplete last frame held), for buffers cut anywhere; in
    Python and compiled (numba, skipped without it)."""
    from satnav.io import framing

    if compiled and not framing.use_compiled_framing(True):
        pytest.skip("numba not available (or SATNAV_NO_NUMBA set)")
    try:
        _walk_equals_the_framer(framing)
    finally:
        framing.use_compiled_framing(None)


def test_compiled_framing_equals_python():
    """The compiled walk gives the Python walk's framing on random chains (cut, damaged,
    with NMEA after them), and None where that gives None."""
    from satnav.io import framing

    if not framing.use_compiled_framing(True):
        pytest.skip("numba not available (or SATNAV_NO_NUMBA set)")
    rng = np.random.default_rng(12)
    try:
        for case in range(200):
            data = framing._check_chain(rng, case)
            got = framing._frame_chain(data, True, case % 3 != 1)
            framing.use_compiled_framing(False)
            want = framing._frame_chain(data, True, case % 3 != 1)
            framing.use_compiled_framing(True)
            assert framing._same_frames(want, got)
    finally:
        framing.use_compiled_framing(None)


def _walk_equals_the_framer(framing):

    data = (STREAMS / "pygpsdata-rtcm3.log").read_bytes()[:60000]  # RTCM 3, UBX and NMEA
    rng = np.random.default_rng(5)
    walked, buf, pos = 0, b"", 0
    while pos < len(data):
        n = int(rng.choice([3, 40, 700, 3000]))
        buf, pos = buf + data[pos : pos + n], pos + n
        chain = framing._frame_chain(buf, True, True)
        if chain is not None:
            ref = framing._frame_general(buf, ubx=True, rtcm3=True, nmea=True, final=False)
            for f in ("ubx_start", "ubx_cls", "ubx_id", "ubx_length", "rtcm_start", "rtcm_length", "rtcm_type"):
                np.testing.assert_array_equal(getattr(chain, f), getattr(ref, f), err_msg=f)
            assert (chain.consumed, chain.counts, chain.nmea) == (ref.consumed, ref.counts, ref.nmea)
            walked += 1
        buf = buf[frame_stream(buf, final=False).consumed :]
    assert walked >= 10


@needs_convbin
def test_rtklib_encoded_msm7_equals_convbin_slips_carried(rtklib_msm7_log, tmp_path):
    """An encoder nobody here wrote (RTKLIB str2str, from the F9T UBX log): the rows, values
    and loss-of-lock bits of convbin's RINEX of the same bytes, including the slips a
    receiver reports while it gives no phase (here the first cells of a signal, before its
    first valid phase), flagged at the signal's next valid phase."""
    ours = read_rtcm3(rtklib_msm7_log, time_hint_ns=int(calendar_to_ns(2025, 8, 11)))
    ref = read_rinex_obs(_convbin(rtklib_msm7_log, tmp_path, "2025/08/11"))
    np.testing.assert_array_equal(ours.observations.epochs, ref.epochs)
    a, b = _rows(ours.observations), _rows(ref)
    assert set(a) == set(b) and len(a) == 38530
    _assert_equal_rows(a, b)
    # phases after epochs of the same signal without one, flagged: the carried slips
    obs = ours.observations
    names = obs.codes
    by_epoch: dict = {}
    for t, s, c, lli in zip(obs.time.tolist(), obs.sat.tolist(), obs.code.tolist(), obs.lli.tolist()):
        by_epoch.setdefault(t, {})[(s, names[c])] = lli
    seen: set = set()
    previous: dict = {}
    carried = 0
    for rows in by_epoch.values():
        for (s, code), lli in rows.items():
            if code[0] == "L" and (s, code[1:]) in seen and (s, code) not in previous and lli & 1:
                carried += 1
        previous = rows
        seen |= {(s, code[1:]) for s, code in rows}
    assert carried >= 5


@needs_convbin
def test_rtklib_encoded_msm4_and_ephemerides_equal_convbin(rtklib_encode, tmp_path):
    """MSM4 and GPS 1019 that str2str encodes from the cold-start UBX log (2025-04-25): the
    observations of convbin's RINEX, and each broadcast message once (the station repeats
    them), with convbin's values."""
    log = rtklib_encode("16dBatt_no_interference_coldstart.ubx.gz", "1074,1094,1019")
    ours = read_rtcm3(log, time_hint_ns=int(calendar_to_ns(2025, 4, 25)))
    obs_file = _convbin(log, tmp_path, "2025/04/25")
    ref = read_rinex_obs(obs_file)
    a, b = _rows(ours.observations), _rows(ref)
    assert set(a) == set(b) and len(a) > 30000
    _assert_equal_rows(a, b)
    assert (frame_stream(log.read_bytes(), ubx=False).rtcm_type == 1019).sum() > 10 * 9  # each repeated
    nav_file = tmp_path / "convbin.nav"
    subprocess.run([CONVBIN, "-r", "rtcm3", "-tr", "2025/04/25", "00:00:00", "-o", str(tmp_path / "x.obs"),
                    "-n", str(nav_file), str(log)], check=True, capture_output=True, timeout=120)
    from satnav.io.rinex_nav import read_rinex_nav

    want = read_rinex_nav(nav_file).messages["G"]
    got = ours.navigation.messages["G"]
    assert len(got) == len(want) == 9
    for name in ("sat", "toe", "toc", "iode", "iodc", "week"):
        np.testing.assert_array_equal(got[name], want[name], err_msg=name)
    for name in ("sqrt_a", "e", "m0", "omega0", "i0", "omega", "delta_n", "af0", "af1", "tgd"):
        np.testing.assert_allclose(got[name], want[name], rtol=1e-11, atol=1e-20, err_msg=name)


def test_log_without_ephemerides_or_date_warns(rtklib_msm7_log):
    """MSM time tags carry no week: without ephemerides or a date, the current week is assumed
    and said (a log recorded earlier would otherwise be dated wrong without a word)."""
    import warnings

    from satnav.errors import SatnavWarning

    with pytest.warns(SatnavWarning, match="no ephemeris message dates the observations"):
        read_rtcm3(rtklib_msm7_log)
    with warnings.catch_warnings():
        warnings.simplefilter("error", SatnavWarning)
        log = read_rtcm3(rtklib_msm7_log, time_hint_ns=int(calendar_to_ns(2025, 8, 11)))
    assert log.observations.epochs[0] == calendar_to_ns(2025, 8, 11, 21, 31, 31) + 1_000_000
