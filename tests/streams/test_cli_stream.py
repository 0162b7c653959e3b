"""``satnav stream`` on the command line: a RINEX replay in RTK mode writes the positions of
``satnav solve --base`` (the same .pos rows); bad addresses and options are one-line errors
with exit status 2."""

from __future__ import annotations

import pytest

from satnav.cli.main import main
from tests.conftest import data_path


def _rows(path):
    return [x for x in path.read_text().splitlines() if x.strip() and not x.startswith("%")]


def test_stream_rtk_replay_equals_solve(tmp_path, capsys):
    d = data_path("gsi-2005-092")
    rover, base, nav = (str(d / n) for n in ("07590920.05o", "30400920.05o", "07590920.05n"))
    assert main(["stream", rover, "--base", base, "--nav", nav, "--out", f"pos:{tmp_path / 'live.pos'}", "-q"]) == 0
    assert main(["solve", rover, nav, "--base", base, "-o", str(tmp_path / "batch.pos"), "-q"]) == 0
    assert _rows(tmp_path / "live.pos") == _rows(tmp_path / "batch.pos")


@pytest.mark.parametrize("argv, message", [
    (["stream", "tcp://localhost"], "no port, expected HOST:PORT"),
    (["stream", "ftp://x/y"], "unknown stream address"),
    (["stream", "nosuchfile.ubx"], "nosuchfile.ubx: cannot read"),
    (["stream", "-", "--mode", "kinematic"], "needs a base or correction stream"),
    (["stream", "-", "--out", "xml:out.xml"], "expected FORMAT:ADDRESS"),
    (["stream", "-", "--out", "nmea:ntrip://caster/MNT"], "is a source"),
])
def test_bad_arguments_are_one_line(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("satnav: ") and message in err[0], err


def test_existing_output_is_not_overwritten(tmp_path, capsys):
    d = data_path("gsi-2005-092")
    out = tmp_path / "keep.pos"
    out.write_text("precious")
    assert main(["stream", str(d / "07590920.05o"), "--nav", str(d / "07590920.05n"), "--out", f"pos:{out}", "-q"]) == 2
    assert out.read_text() == "precious"
    assert "keep.pos" in capsys.readouterr().err
