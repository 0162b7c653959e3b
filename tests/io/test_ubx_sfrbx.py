"""UBX RXM-SFRBX GLONASS strings, BeiDou D1 subframes and QZSS LNAV (satnav.io.ubx) against
RTKLIB 2.4.3 ``convbin``'s navigation file of the same logs, converted here."""

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
pytestmark = [
    pytest.mark.skipif(not STREAMS.exists(), reason="stream test data not available"),
    pytest.mark.skipif(CONVBIN is None, reason="RTKLIB convbin not installed"),
]


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


def test_glonass_strings_and_beidou_d1_equal_convbin(tmp_path):
    log = STREAMS / "pygpsdata_testobsnavdata.log"  # an F9P: RAWX and SFRBX of G, R, E, C
    ours = read_ubx(log).navigation
    ref = _convbin_nav(log, tmp_path)
    assert ours.count_by_system()["R"] == 8 and ours.count_by_system()["C"] == 4
    # RINEX 3.04 has no GLONASS group delay; convbin keeps the frame time of a later copy
    _compare(ours, ref, "R", skip=("group_delay", "frame_time"))
    _compare(ours, ref, "C")


def test_beidou_d1_of_a_long_sfrbx_log_equals_convbin(tmp_path):
    log = STREAMS / "pygpsdata-rxmsfrbx.log"  # 49 773 subframes, no RAWX
    ours = read_ubx(log).navigation
    ref = _convbin_nav(log, tmp_path)
    assert ours.count_by_system()["C"] == 23
    _compare(ours, ref, "C")
