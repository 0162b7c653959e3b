"""satnav.io.ubx_stream.UbxDecoder: the UBX log fed in pieces of any size gives RTKLIB demo5
convbin's RINEX conversion of the same log (epochs, values, loss-of-lock flags) and its
navigation file's ephemerides; garbage and checksum failures are reported, never fatal."""

from __future__ import annotations

import numpy as np
import pytest

from satnav.io.rinex_nav import read_rinex_nav
from satnav.io.rinex_obs import read_rinex_obs
from satnav.io.stream_items import EpochItem, NavigationItem, ProblemItem
from satnav.io.ubx import read_ubx, read_ubx_bytes
from satnav.io.ubx_stream import UbxDecoder
from tests.conftest import data_path


def _feed(data: bytes, sizes, **kw):
    dec = UbxDecoder(**kw)
    items, i, k = [], 0, 0
    while i < len(data):
        n = sizes[k % len(sizes)]
        items += dec.feed(data[i : i + n])
        i, k = i + n, k + 1
    return dec, items + dec.flush()


def _rows(obs, epochs=None):
    out = {}
    for t, s, c, v, lli in zip(obs.time, obs.sat, obs.code, obs.value, obs.lli):
        if epochs is None or int(t) in epochs:
            out[(int(t), int(s), obs.codes[c])] = (float(v), int(lli))
    return out


@pytest.fixture(scope="module")
def ubx_bytes():
    return read_ubx_bytes(data_path("ubx", "16dBatt_no_interference_coldstart.ubx.gz"))


def test_pieces_give_the_convbin_conversion(ubx_bytes):
    data = ubx_bytes[: 600_000]
    _, items = _feed(data, [1, 7, 4093, 65536, 333])
    epochs = [it.observations for it in items if isinstance(it, EpochItem)]
    assert len(epochs) > 100
    assert all(len(e.epochs) == 1 for e in epochs)
    times = np.array([int(e.epochs[0]) for e in epochs])
    ref = read_rinex_obs(data_path("ubx", "16dBatt_no_interference_coldstart.obs.gz"))
    common = np.intersect1d(times, ref.epochs)
    assert len(common) >= len(times) - 1
    got = {}
    for e in epochs:
        got.update(_rows(e))
    want = _rows(ref, set(common.tolist()))

    def rename(key):  # convbin (no -MULTICODE) writes Galileo E1 as 1X; u-blox sigId 0 is E1 C
        t, s, c = key
        return (t, s, c[:2] + "C" if s // 100 == 2 and c.endswith("X") else c)

    want = {rename(k): v for k, v in want.items()}
    got = {k: v for k, v in got.items() if k[0] in set(common.tolist()) and k[2][0] in "CL"}
    want = {k: v for k, v in want.items() if k[2][0] in "CL"}
    assert set(got) == set(want)
    for k, (v, lli) in want.items():
        g, glli = got[k]
        assert abs(g - v) < 2e-3, k  # RINEX resolution
        if k[2][0] == "L":
            assert glli & 3 == lli & 3, k


def test_equals_whole_file_decoder(ubx_bytes):
    data = ubx_bytes[: 300_000]
    _, items = _feed(data, [1000, 17])
    whole = read_ubx_bytes  # noqa: F841 - the file decoder on the same bytes:
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "part.ubx"
        p.write_bytes(data)
        log = read_ubx(p)
    got = {}
    for it in items:
        if isinstance(it, EpochItem):
            got.update(_rows(it.observations))
    assert got == _rows(log.observations)
    nav = [it.navigation for it in items if isinstance(it, NavigationItem)]
    n_stream = sum(len(n) for n in nav)
    assert n_stream == len(log.navigation)


def test_ephemerides_equal_convbin_navigation(ubx_bytes):
    _, items = _feed(ubx_bytes, [65536])
    navs = [it.navigation for it in items if isinstance(it, NavigationItem)]
    assert navs
    ref = read_rinex_nav(data_path("ubx", "16dBatt_no_interference_coldstart.nav.gz"))
    for letter in ("G", "E"):
        got = np.concatenate([n.messages[letter] for n in navs if letter in n.messages])
        want = ref.messages[letter]
        key = {(int(r["sat"]), int(r["toe"])) for r in want}
        sel = [r for r in got if (int(r["sat"]), int(r["toe"])) in key]
        assert len(sel) == len(got) and len({int(r["sat"]) for r in got}) == len(set(want["sat"].tolist()))
        for r in sel:
            w = want[(want["sat"] == r["sat"]) & (want["toe"] == r["toe"])][0]
            for f in ("sqrt_a", "e", "m0", "omega0", "i0", "af0"):
                assert r[f] == pytest.approx(w[f], rel=1e-9, abs=1e-15)


def test_garbage_and_bad_checksums_are_reported(ubx_bytes):
    data = bytearray(ubx_bytes[:400_000])
    assert data.count(b"\xb5\x62\x02\x15") > 60
    clean = [it for it in _feed(bytes(data), [4096])[1] if isinstance(it, EpochItem)]
    # corrupt a byte inside the 5th RAWX message and insert garbage after the 10th
    p = -1
    for _ in range(40):
        p = data.find(b"\xb5\x62\x02\x15", p + 1)
    data[p + 40] ^= 0xFF
    q = -1
    for _ in range(50):
        q = data.find(b"\xb5\x62\x02\x15", q + 1)
    data[q:q] = b"garbage \xb5\x62 \xd3\x00\x10 more junk" * 5
    dec, items = _feed(bytes(data), [4096])
    epochs = [it for it in items if isinstance(it, EpochItem)]
    problems = [it for it in items if isinstance(it, ProblemItem)]
    assert len(epochs) == len(clean) - 1
    assert {p.kind for p in problems} >= {"crc", "garbage"}
    assert dec.counts["ubx_checksum_failures"] >= 1
