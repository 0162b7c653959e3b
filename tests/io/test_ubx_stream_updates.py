"""satnav.io.ubx_stream.UbxDecoder: a broadcast that changes without a new issue of data
reaches the NavigationItems. A real u-blox log (pygpsdata) is fed, then copies of its GPS
RXM-SFRBX subframes with one field changed (IS-GPS-200 20.3.3: the subframe 1 SV health, the
subframe 4 page 18 Klobuchar alpha0), UBX checksum recomputed (u-blox interface description,
8-bit Fletcher; the LNAV parity bits are left as received: the decoder does not check them)."""

from __future__ import annotations

import numpy as np
import pytest

from satnav.io.stream_items import NavigationItem
from satnav.io.ubx import frame_ubx
from satnav.io.ubx_stream import UbxDecoder
from satnav.streams.live import LiveEngine, StreamOptions
from tests.conftest import DATA

LOG = DATA / "streams" / "pygpsdata_testobsnavdata.log"
pytestmark = pytest.mark.skipif(not LOG.exists(), reason="stream test data not available")


def _words(frame: bytes) -> list[int]:
    return np.frombuffer(frame[6 + 8 : 6 + 8 + 40], "<u4").tolist()


def _field(frame: bytes, pos: int, n: int) -> int:
    """Unsigned field at bit ``pos`` of the 240 LNAV data bits (24 a word, parity dropped),
    within one word."""
    k, b = divmod(pos, 24)
    return (_words(frame)[k] >> (30 - b - n)) & ((1 << n) - 1)


def _with_field(frame: bytes, pos: int, n: int, value: int) -> bytes:
    """``frame`` with the LNAV field at ``pos`` set to ``value``, checksum recomputed."""
    k, b = divmod(pos, 24)
    shift = 30 - b - n
    words = _words(frame)
    words[k] = (words[k] & ~(((1 << n) - 1) << shift)) | (value << shift)
    out = bytearray(frame)
    out[14:54] = np.array(words, "<u4").tobytes()
    ck_a = ck_b = 0
    for byte in out[2:-2]:
        ck_a = (ck_a + byte) & 0xFF
        ck_b = (ck_b + ck_a) & 0xFF
    out[-2:] = bytes((ck_a, ck_b))
    return bytes(out)


def _gps_subframes(data: bytes) -> list[tuple[int, int, int, bytes]]:
    """(satellite PRN, subframe id, page id, frame) of the GPS SFRBX messages of ``data``."""
    fr = frame_ubx(data)
    out = []
    for s, c, i, ln in zip(fr.start.tolist(), fr.cls.tolist(), fr.id.tolist(), fr.length.tolist()):
        f = data[s : s + 8 + ln]
        if (c, i) == (2, 0x13) and f[6] == 0 and f[10] >= 10:
            out.append((f[7], _field(f, 43, 3), _field(f, 50, 6), f))
    return out


def _nav_items(data: bytes) -> list:
    dec = UbxDecoder()
    items = dec.feed(data[: len(data) // 2]) + dec.feed(data[len(data) // 2 :]) + dec.flush()
    return [it.navigation for it in items if isinstance(it, NavigationItem)]


def _engine(navs: list):
    """A LiveEngine given the navigation of the items, in order, applied."""
    engine = LiveEngine(StreamOptions())
    for nav in navs:
        engine.add_navigation(nav)
        engine._apply_navigation()
    return engine


@pytest.fixture(scope="module")
def log():
    data = LOG.read_bytes()
    return data, _gps_subframes(data)


def test_a_health_change_with_the_same_issue_of_data_is_sent(log):
    data, subframes = log
    before = _nav_items(data)
    # the last complete subframes 1-3 of one satellite
    for i in range(len(subframes) - 1, 1, -1):
        prn = subframes[i][0]
        own = [f for p, sf, _, f in subframes[: i + 1] if p == prn]
        ids = [_field(f, 43, 3) for f in own[-3:]]
        if ids == [1, 2, 3]:
            f1, f2, f3 = own[-3:]
            break
    health = _field(f1, 64, 6)
    sent = [n.messages["G"] for n in before if "G" in n.messages]
    sent = np.concatenate(sent)
    mine = sent[sent["sat"] % 100 == prn]
    assert len(mine) >= 1 and set(mine["health"].tolist()) == {float(health)}
    sick = _with_field(f1, 64, 6, health ^ 0b100000)
    after = _nav_items(data + sick + f2 + f3)
    assert len(after) == len(before) + 1
    new = after[-1].messages["G"]
    assert len(new) == 1 and new["sat"][0] % 100 == prn and new["health"][0] == float(health ^ 0b100000)
    for name in ("toe", "toc", "iode", "iodc", "sqrt_a", "m0"):
        assert new[name][0] == mine[name][-1], name
    # the same health again, and the old one again: repetitions, nothing new
    again = _nav_items(data + sick + f2 + f3 + f1 + f2 + f3 + sick + f2 + f3)
    assert len(again) == len(after)
    engine = _engine(after)
    held = engine.nav.messages["G"]
    held = held[(held["sat"] % 100 == prn) & (held["toe"] == new["toe"][0])]
    assert set(held["health"].tolist()) == {float(health), float(health ^ 0b100000)}


def test_new_klobuchar_coefficients_are_sent_alone(log):
    data, subframes = log
    page18 = [f for _, sf, page, f in subframes if sf == 4 and page == 56]
    assert page18, "the log has GPS subframe 4 page 18"
    before = _nav_items(data)
    first = [n.header.iono_corrections["GPSA"] for n in before if "GPSA" in n.header.iono_corrections]
    assert len(first) == 1  # the same coefficients from every satellite: sent once
    a0 = _field(page18[-1], 56, 8)
    changed = _with_field(page18[-1], 56, 8, (a0 + 3) & 0xFF)
    after = _nav_items(data + changed)
    assert len(after) == len(before) + 1
    last = after[-1]
    assert not len(last)  # no ephemeris: only the corrections that changed
    assert set(last.header.iono_corrections) == {"GPSA"} and not last.header.time_corrections
    want = first[0].copy()
    want[0] = int(np.uint8((a0 + 3) & 0xFF).view(np.int8)) * 2.0**-30
    np.testing.assert_array_equal(last.header.iono_corrections["GPSA"], want)
    # and the live engine takes them (not undone by the old ones of later items)
    engine = _engine(after + before[-3:])
    np.testing.assert_array_equal(engine.nav.header.iono_corrections["GPSA"], want)
