"""satnav.streams.live.LiveEngine: a GLONASS ephemeris repeated by an RTCM 3 station (1020,
the same tb and values, a new t_k: the string 1 read 30 s later) is a repetition, not a new
message; one with other values is new."""

from __future__ import annotations

import numpy as np
import pytest

from satnav.io.rtcm3 import Rtcm3Decoder
from satnav.io.stream_items import NavigationItem
from satnav.streams.live import LiveEngine, StreamOptions
from tests.conftest import DATA

LOG = DATA / "streams" / "testglo.rtcm3"
pytestmark = pytest.mark.skipif(not LOG.exists(), reason="stream test data not available")


def test_glonass_repetitions_with_a_new_frame_time_are_skipped():
    data = LOG.read_bytes()
    dec = Rtcm3Decoder()
    navs = []
    for i in range(0, len(data), 4096):
        navs += [x.navigation for x in dec.feed(data[i : i + 4096]) if isinstance(x, NavigationItem)]
    records = np.concatenate([n.messages["R"] for n in navs if "R" in n.messages])
    when = {"line", "source", "transmission_time", "frame_time"}
    what = [n for n in records.dtype.names if n not in when]
    distinct = {repr(r[what].tolist()) for r in records}  # (NaN fields: compared as text)
    frame_times = {tuple(r[["sat", "toc"]].tolist()): set() for r in records}
    for r in records:
        frame_times[tuple(r[["sat", "toc"]].tolist())].add(float(r["frame_time"]))
    assert any(len(v) > 1 for v in frame_times.values())  # the station repeats them
    assert len(distinct) < len(records)
    engine = LiveEngine(StreamOptions())
    for nav in navs:
        engine.add_navigation(nav)
        engine._apply_navigation()
    assert len(engine.nav.messages["R"]) == len(distinct)
    # a repetition with other values (a health change) is new
    sick = engine.nav.messages["R"][:1].copy()
    sick["health"] = 1.0 - sick["health"]
    sick["frame_time"] += 30.0
    more = navs[0].__class__()
    more.add_messages("R", sick)
    engine.add_navigation(more)
    engine._apply_navigation()
    assert len(engine.nav.messages["R"]) == len(distinct) + 1
