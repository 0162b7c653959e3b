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


@needs_convbin
def test_live_decoder_gives_the_beidou_d1_ephemerides_of_convbin(tmp_path):
    """The stream decoder (bytes in 4 KB pieces, as from a serial port) assembles BeiDou D1
    ephemerides too, the same as convbin's conversion of the whole log."""
    from satnav.io.stream_items import NavigationItem
    from satnav.io.ubx_stream import UbxDecoder
    from satnav.navigation import Navigation

    log = STREAMS / "pygpsdata-rxmsfrbx.log"
    data = log.read_bytes()
    decoder = UbxDecoder(source=str(log))
    nav = Navigation()
    for i in range(0, len(data), 4096):
        for item in decoder.feed(data[i : i + 4096]):
            if isinstance(item, NavigationItem):
                nav = nav.merge(item.navigation)
    assert nav.count_by_system()["C"] == 23
    _compare(nav, _convbin_nav(log, tmp_path), "C")


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


# BeiDou D2 subframe 1, pages 1 and 3-10 (BDS-SIS-ICD-B1I 3.0 5.3.3, figure 5-11): the data
# bits after the page number, in transmission order, as (field, field bits, first, last) parts
# of each field's two's complement bits (most significant first); page 3 starts with 38
# reserved bits. Fields continue from one page to the next where the figure splits them.
_D2_PAGES = {
    1: (("health", 1, 0, 1), ("iodc", 5, 0, 5), ("urai", 4, 0, 4), ("week", 13, 0, 13), ("toc", 17, 0, 17),
        ("tgd", 10, 0, 10), ("tgd2", 10, 0, 10)),
    3: (("reserved", 38, 0, 38), ("af0", 24, 0, 24), ("af1", 22, 0, 4)),
    4: (("af1", 22, 4, 22), ("af2", 11, 0, 11), ("iode", 5, 0, 5), ("delta_n", 16, 0, 16), ("cuc", 18, 0, 14)),
    5: (("cuc", 18, 14, 18), ("m0", 32, 0, 32), ("cus", 18, 0, 18), ("e", 32, 0, 10)),
    6: (("e", 32, 10, 32), ("sqrt_a", 32, 0, 32), ("cic", 18, 0, 10)),
    7: (("cic", 18, 10, 18), ("cis", 18, 0, 18), ("toe", 17, 0, 17), ("i0", 32, 0, 21)),
    8: (("i0", 32, 21, 32), ("crc", 18, 0, 18), ("crs", 18, 0, 18), ("omega_dot", 24, 0, 19)),
    9: (("omega_dot", 24, 19, 24), ("omega0", 32, 0, 32), ("omega", 32, 0, 27)),
    10: (("omega", 32, 27, 32), ("idot", 14, 0, 14)),
}  # fmt: skip
#: scale of each field (ICD table 5-11 as for D1; pi: semicircles -> rad)
_D2_SCALE = {"af0": (2.0**-33, 1), "af1": (2.0**-50, 1), "af2": (2.0**-66, 1), "delta_n": (2.0**-43, np.pi),
             "cuc": (2.0**-31, 1), "cus": (2.0**-31, 1), "cic": (2.0**-31, 1), "cis": (2.0**-31, 1),
             "m0": (2.0**-31, np.pi), "e": (2.0**-33, 1), "sqrt_a": (2.0**-19, 1), "i0": (2.0**-31, np.pi),
             "crc": (2.0**-6, 1), "crs": (2.0**-6, 1), "omega_dot": (2.0**-43, np.pi), "omega0": (2.0**-31, np.pi),
             "omega": (2.0**-31, np.pi), "idot": (2.0**-43, np.pi), "tgd": (1e-10, 1), "tgd2": (1e-10, 1)}


def _d2_subframes(values: dict, sow0: int) -> dict:
    """The pages (ten 30-bit words each, parity bits zero) of D2 subframe 1 holding the integer
    ``values``: preamble, frame id 1, seconds of week (page k sent 3 (k - 1) s after page 1),
    page number, then the fields of _D2_PAGES; each word's 22 data bits then 8 parity bits (the
    first word: 26 data bits, 4 parity)."""
    pages = {}
    for page, parts in _D2_PAGES.items():
        bits = "".join(f"{values.get(name, 0) & ((1 << n) - 1):0{n}b}"[lo:hi] for name, n, lo, hi in parts)
        sow = sow0 + 3 * (page - 1)
        data = "11100010010" + "0000" + "001" + f"{sow >> 12:08b}" + f"{sow & 0xFFF:012b}" + f"{page:04b}" + bits
        assert len(data) <= 26 + 22 * 9
        data += "0" * (26 + 22 * 9 - len(data))
        words = [data[:26] + "0000"] + [data[26 + 22 * i : 48 + 22 * i] + "0" * 8 for i in range(9)]
        pages[page] = [int(w, 2) for w in words]
    return pages


def _sfrbx_frame(sv: int, words: list[int]) -> bytes:
    payload = bytes([3, sv, 0, 0, len(words), 0, 2, 0]) + b"".join(w.to_bytes(4, "little") for w in words)
    body = bytes([0x02, 0x13]) + len(payload).to_bytes(2, "little") + payload
    a = b = 0
    for x in body:
        a = (a + x) & 0xFF
        b = (b + a) & 0xFF
    return b"\xb5\x62" + body + bytes([a, b])


def test_beidou_d2_geo_ephemeris_equals_the_rinex_navigation_values():
    """BeiDou D2 (GEO) subframe 1 pages built from the ESBC day's broadcast GEO ephemerides
    (RINEX navigation, IGS) field by field as figure 5-11 of the ICD lays them out, in
    RXM-SFRBX messages (with other pages and a D1 satellite between): decoded, every
    parameter equals the RINEX value to its broadcast resolution (a real D2 recording was not
    available: no public u-blox log here has GEO subframes)."""
    from satnav.gnss_time import NS_PER_S, NS_PER_WEEK
    from satnav.io.ubx import decode_sfrbx, frame_ubx

    nav = read_rinex_nav(DATA / "esbc-2020-177" / "ESBC00DNK_R_20201770000_01D_MN.rnx.gz")
    c = nav.messages["C"]
    geo = c[((c["sat"] % 100 <= 5) | (c["sat"] % 100 >= 59))]
    picked = [geo[geo["sat"] == s][0] for s in np.unique(geo["sat"])[:4]]
    frames = []
    for rec in picked:
        ints = {name: int(round(float(rec[name]) / (sc * unit))) for name, (sc, unit) in _D2_SCALE.items()}
        week = int(rec["week"])
        toe = int(round(float(rec["toe_sow"])))
        ints.update(week=week, toc=toe // 8, toe=toe // 8, iode=int(rec["iode"]), iodc=int(rec["iodc"]),
                    health=int(rec["health"]), urai=0)
        sow0 = toe - 600  # transmitted 10 min before toe
        pages = _d2_subframes(ints, sow0)
        sv = int(rec["sat"]) % 100
        for page in (1, 3, 4, 5, 6, 7, 8, 9, 10):
            frames.append(_sfrbx_frame(sv, pages[page]))
    data = b"".join(frames)
    decoded = decode_sfrbx(data, frame_ubx(data), week_hint=int(picked[0]["toe"] // NS_PER_WEEK))
    out = decoded.messages["C"]
    assert len(out) == len(picked)
    for rec, got in zip(picked, out):
        assert got["sat"] == rec["sat"] and got["message_type"] == "D2"
        assert got["toe"] == rec["toe"] and got["toc"] == rec["toc"]
        assert got["iode"] == rec["iode"] and got["iodc"] == rec["iodc"] and got["health"] == rec["health"]
        for name, (sc, unit) in _D2_SCALE.items():
            assert abs(float(got[name]) - float(rec[name])) <= 0.5 * sc * unit * (1 + 1e-9), name
        assert abs(int(got["toe"]) - int(rec["toe"])) < NS_PER_S
