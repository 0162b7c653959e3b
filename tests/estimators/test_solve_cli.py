"""`satnav solve` end to end: real files in, RTKLIB-layout .pos out, summary, errors.

Truth: the reference coordinates of ../shared/data/README.md (stations.csv); the .pos
written is re-read by an independent line parser (plain split on whitespace).
"""

from __future__ import annotations

import re
import subprocess
import sys

import numpy as np
import pytest

from satnav.cli import main
from satnav.frames import ecef_to_enu, geodetic_to_ecef
from tests.conftest import data_path

ESBC_REF = np.array([3582104.8024, 532590.1716, 5232755.1824])  # README: PPP coordinate
RTK_TRUTH = np.array([-3976219.6644, 3382372.5414, 3652513.0556])  # README: 0759-rtk


def _read_pos_llh(path):
    """(lat deg, lon deg, h m, Q) of the data lines of an RTKLIB-layout .pos file."""
    rows = []
    for line in open(path):
        if line.startswith("%") or not line.strip():
            continue
        f = line.split()
        rows.append((float(f[2]), float(f[3]), float(f[4]), int(f[5])))
    return np.array(rows)


def _enu_errors(rows, ref):
    xyz = geodetic_to_ecef(np.radians(rows[:, 0]), np.radians(rows[:, 1]), rows[:, 2])
    enu = ecef_to_enu(xyz, ref)
    return np.hypot(enu[:, 0], enu[:, 1]), enu[:, 2]


def test_solve_esbc_all_epochs_within_rtklib_accuracy(tmp_path, capsys):
    d = data_path("esbc-2020-177")
    out = tmp_path / "esbc.pos"
    rc = main([
        "solve", str(d / "ESBC00DNK_R_20201770000_01D_30S_MO.crx.gz"),
        str(d / "ESBC00DNK_R_20201770000_01D_MN.rnx.gz"), str(d / "MOJN00DNK_R_20201770000_01D_MN.rnx.gz"),
        "-o", str(out), "--ref", ",".join(str(v) for v in ESBC_REF),
    ])
    text = capsys.readouterr().out
    assert rc == 0
    assert "2880 solved / 2880 total" in text
    rows = _read_pos_llh(out)
    assert len(rows) == 2880  # all epochs solved (RTKLIB: 1276 with the files as distributed)
    h, v = _enu_errors(rows, ESBC_REF)
    assert np.sqrt(np.mean(h**2)) <= 1.00  # RTKLIB, nav patched: 1.00
    assert np.sqrt(np.mean(v**2)) <= 1.51  # RTKLIB, nav patched: 1.51
    assert re.search(r"horizontal RMS \d+\.\d\d m", text)


@pytest.mark.parametrize("systems", ["G", "R"])
def test_solve_esbc_single_system(tmp_path, capsys, systems):
    d = data_path("esbc-2020-177")
    out = tmp_path / f"esbc_{systems}.pos"
    rc = main([
        "solve", str(d / "ESBC00DNK_R_20201770000_01D_30S_MO.crx.gz"),
        str(d / "ESBC00DNK_R_20201770000_01D_MN.rnx.gz"), str(d / "MOJN00DNK_R_20201770000_01D_MN.rnx.gz"),
        "-o", str(out), "--systems", systems, "-q",
    ])
    assert rc == 0
    rows = _read_pos_llh(out)
    h, v = _enu_errors(rows, ESBC_REF)
    assert len(rows) >= 2800
    # GPS alone: RTKLIB 1.11 / 1.30; GLONASS alone (about 7 satellites): a few metres
    limit_h, limit_v = (1.3, 1.5) if systems == "G" else (3.0, 4.0)
    assert np.sqrt(np.mean(h**2)) <= limit_h
    assert np.sqrt(np.mean(v**2)) <= limit_v


def test_solve_rtk_gsi_kinematic(tmp_path, capsys):
    d = data_path("gsi-2005-092")
    out = tmp_path / "rtk.pos"
    rc = main([
        "solve", str(d / "07590920.05o"), str(d / "07590920.05n"), str(d / "30400920.05n"),
        "--base", str(d / "30400920.05o"), "--mode", "kinematic", "-o", str(out),
        "--ref", ",".join(str(v) for v in RTK_TRUTH),
    ])
    text = capsys.readouterr().out
    assert rc == 0, text
    rows = _read_pos_llh(out)
    fixed = rows[rows[:, 3] == 1]
    assert len(fixed) / 120 >= 0.967  # RTKLIB: 116 / 120
    h, v = _enu_errors(fixed, RTK_TRUTH)
    assert np.sqrt(np.mean(h**2)) <= 0.02 and np.sqrt(np.mean(v**2)) <= 0.04
    assert np.max(np.hypot(h, v)) < 0.10  # no wrong fix
    assert "base position from base header" in text


@pytest.mark.parametrize(
    "args, message",
    [
        (["--systems", "GX"], "unknown letters X"),
        (["--iono", "magic"], None),  # argparse: exit 2 with usage
    ],
)
def test_solve_bad_options_are_one_line_errors(args, message, capsys):
    d = data_path("gsi-2005-092")
    with pytest.raises(SystemExit) if message is None else _no_raise():
        rc = main(["solve", str(d / "07590920.05o"), str(d / "07590920.05n"), *args])
        assert rc == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and message in err[0]


class _no_raise:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_solve_observation_file_given_as_navigation_is_a_clear_error():
    d = data_path("gsi-2005-092")
    r = subprocess.run(
        [sys.executable, "-m", "satnav.cli", "solve", str(d / "07590920.05n"), str(d / "07590920.05n")],
        capture_output=True, text=True, timeout=120,
    )
    assert r.returncode == 2
    assert "Traceback" not in r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("satnav: ") and "not an observation file" in lines[0]


def test_solve_nl_reports_every_epoch(tmp_path, capsys):
    """nl-2021-001: the navigation files cover three GPS satellites: every epoch is either
    solved or reported unsolvable with its reason (as a % comment in the .pos)."""
    d = data_path("nl-2021-001")
    out = tmp_path / "delf.pos"
    rc = main(["solve", str(d / "delf0010.21o"), str(d / "cbw10010.21n.gz"), str(d / "dlf10010.21g"),
               str(d / "amel0010.21g"), "-o", str(out)])
    assert rc == 0
    text = open(out).read()
    data = [ln for ln in text.splitlines() if not ln.startswith("%")]
    unsolved = [ln for ln in text.splitlines() if "no solution:" in ln]
    assert len(data) + len(unsolved) == 105  # epochs in delf0010.21o, counted from the file
    assert all(re.search(r"no solution: \w+", ln) for ln in unsolved)


def test_solve_warns_when_navigation_does_not_cover_observations(tmp_path, capsys):
    """corpus demo.10o is 2010-03-05 while demo.10n holds a 1999-09-02 message (read by hand:
    ' 6 99  9  2 19  0  0.0 ...'): every epoch unsolved, with a warning naming both spans; the
    output and the summary are written, and the exit status is 1 with a closing line."""
    d = data_path("corpus")
    rc = main(["solve", str(d / "demo.10o"), str(d / "demo.10n"), "-o", str(tmp_path / "d.pos")])
    out = capsys.readouterr()
    assert rc == 1
    assert out.err.splitlines()[-1] == "satnav: no epoch could be solved (see the reasons above)"
    assert "1999-09-02T19:00:00" in out.err and "no ephemeris for these epochs" in out.err
    assert "0 solved / 2 total" in out.out
    assert open(tmp_path / "d.pos").read().count("no solution:") == 2
