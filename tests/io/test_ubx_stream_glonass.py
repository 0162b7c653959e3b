"""GLONASS ephemerides of the live UBX decoder (satnav.io.ubx_stream.UbxDecoder): RXM-SFRBX
strings 1-4 dated by the receiver time of the RXM-RAWX before them, fed in pieces as from a
serial port, against RTKLIB 2.4.3 ``convbin``'s navigation file of the same log (converted
here) and against the file converter; ``satnav stream`` then uses GLONASS with no navigation
file and writes the positions of ``satnav solve`` on the same log once every ephemeris is in."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from satnav.io.rinex_nav import read_rinex_nav
from satnav.io.stream_items import EpochItem, NavigationItem, ProblemItem
from satnav.io.ubx import frame_ubx, read_ubx
from satnav.io.ubx_stream import UbxDecoder
from satnav.navigation import Navigation

DATA = Path(os.environ.get("SATNAV_DATA", Path(__file__).resolve().parents[3] / "shared" / "data"))
#: an F9P log: RAWX and SFRBX of GPS, GLONASS, Galileo and BeiDou (pygnssutils' test data)
LOG = DATA / "streams" / "pygpsdata_testobsnavdata.log"
CONVBIN = shutil.which("convbin")
pytestmark = pytest.mark.skipif(not LOG.exists(), reason="stream test data not available")


def _live(data: bytes, sizes=(4096,)):
    """The navigation of the NavigationItems of ``data`` fed in pieces of ``sizes`` bytes
    (cycled), the decoder and all its items."""
    decoder = UbxDecoder(source="live")
    nav, items, i, k = Navigation(), [], 0, 0
    while i < len(data):
        n = sizes[k % len(sizes)]
        items += decoder.feed(data[i : i + n])
        i, k = i + n, k + 1
    items += decoder.flush()
    for item in items:
        if isinstance(item, NavigationItem):
            nav = nav.merge(item.navigation)
    return nav, decoder, items


def _sorted(records: np.ndarray) -> np.ndarray:
    return records[np.lexsort((records["toc"], records["sat"]))]


def _assert_same(got: np.ndarray, want: np.ndarray, skip=(), rtol=0.0) -> None:
    got, want = _sorted(got), _sorted(want)
    assert len(got) == len(want)
    for name in got.dtype.names:
        if name in ("line", "source", *skip):
            continue
        a, b = got[name], want[name]
        if a.dtype.kind == "f":
            same = (np.isnan(a) & np.isnan(b)) | np.isclose(a, b, rtol=rtol, atol=0)
        else:
            same = a == b
        assert same.all(), (name, a[~same], b[~same])


@pytest.mark.skipif(CONVBIN is None, reason="RTKLIB convbin not installed")
def test_live_glonass_ephemerides_equal_convbin(tmp_path):
    """4 KB pieces: the 8 GLONASS ephemerides equal convbin's to the 12 digits of RINEX 3
    (group delay: not in RINEX 3.04; frame time: convbin keeps a later copy's)."""
    out = tmp_path / "log.nav"
    subprocess.run([CONVBIN, "-r", "ubx", "-o", str(tmp_path / "log.obs"), "-n", str(out), str(LOG)],
                   check=True, capture_output=True, timeout=120)  # fmt: skip
    ref = read_rinex_nav(out)
    nav, _, _ = _live(LOG.read_bytes())
    assert nav.count_by_system()["R"] == 8 == len(ref.messages["R"])
    _assert_same(nav.messages["R"], ref.messages["R"], skip=("group_delay", "frame_time"), rtol=1e-11)


def test_live_glonass_equals_the_converter_in_any_pieces():
    """Pieces of 1 byte to 4 KB: the same records, every field, as the file converter."""
    whole = read_ubx(LOG).navigation
    nav, decoder, _ = _live(LOG.read_bytes(), sizes=(1, 7, 4093, 333, 64))
    _assert_same(nav.messages["R"], whole.messages["R"])
    assert nav.count_by_system() == whole.count_by_system()
    assert "sfrbx_R_held" not in decoder.counts  # the log starts with a RAWX


def _without_first_rawx(data: bytes, n: int) -> bytes:
    """``data`` less its first ``n`` RXM-RAWX frames."""
    frames = frame_ubx(data)
    drop = np.flatnonzero((frames.cls == 0x02) & (frames.id == 0x15))[:n]
    keep = np.ones(len(frames.start), bool)
    keep[drop] = False
    return b"".join(data[s : s + 8 + ln] for s, ln in zip(frames.start[keep].tolist(), frames.length[keep].tolist()))


def test_strings_before_the_first_rawx_are_held_and_dated_by_it(tmp_path):
    """The first 20 RAWX removed: GLONASS strings before the first receiver time are held
    (counted) and dated with it, as the converter dates them; the records equal its records."""
    data = _without_first_rawx(LOG.read_bytes(), 20)
    path = tmp_path / "late_rawx.ubx"
    path.write_bytes(data)
    whole = read_ubx(path).navigation
    nav, decoder, items = _live(data)
    assert decoder.counts["sfrbx_R_held"] > 40
    assert len(whole.messages["R"]) >= 5
    first = next(i for i, it in enumerate(items) if isinstance(it, EpochItem))
    after = items[first + 1 : first + 7]  # the held frames' records, right after the first epoch
    assert all(isinstance(it, NavigationItem) and "R" in it.navigation.messages for it in after)
    _assert_same(nav.messages["R"], whole.messages["R"])
    assert not [it for it in items if isinstance(it, ProblemItem)]


def test_strings_without_any_rawx_are_dropped_and_said():
    frames = frame_ubx(LOG.read_bytes())
    data = _without_first_rawx(LOG.read_bytes(), len(frames.start))
    nav, decoder, items = _live(data)
    assert "R" not in nav.messages and nav.count_by_system()["E"] == 5
    undated = [it for it in items if isinstance(it, ProblemItem) and it.kind == "undated"]
    assert len(undated) == 1 and str(decoder.counts["sfrbx_R_held"]) in undated[0].message


def test_stream_uses_glonass_from_the_stream(tmp_path, capsys):
    """``satnav stream LOG --systems GR`` with no navigation file: GLONASS satellites are used,
    and once every ephemeris has arrived the positions are those of ``satnav solve LOG``
    (ephemerides of the whole file from the converter)."""
    from satnav.cli.main import main

    live, batch, js = tmp_path / "live.pos", tmp_path / "batch.pos", tmp_path / "live.json"
    assert main(["stream", str(LOG), "--systems", "GR", "--out", f"pos:{live}", "--out", f"json:{js}", "-q"]) == 0
    assert main(["solve", str(LOG), "--systems", "GR", "-o", str(batch), "-q"]) == 0
    used = [json.loads(x)["used"] for x in js.read_text().splitlines()]
    glonass = {s for u in used for s in u if s.startswith("R")}
    assert len(glonass) == 6 and sum(1 for u in used if len(u) >= 9) >= 25
    rows = {x[:23]: x for x in live.read_text().splitlines() if x.strip() and not x.startswith("%")}
    ref = {x[:23]: x for x in batch.read_text().splitlines() if x.strip() and not x.startswith("%")}
    last = sorted(rows)[-25:]  # all 9 satellites in use
    assert [rows[k] for k in last] == [ref[k] for k in last]
