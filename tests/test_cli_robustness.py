"""Issue 11, the command line: outputs never destroy inputs, options validated, terminal
and JSON output safe. Cases from ``../shared/cases/robustness`` (``SATNAV_CASES``)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from satnav.cli.main import main
from satnav.errors import SatnavError
from satnav.io.atomic import atomic_output, protected_inputs

CASES = Path(os.environ.get("SATNAV_CASES", Path(__file__).resolve().parents[1] / ".." / "shared" / "cases"))
ROBUST = CASES / "robustness"


def case(name: str) -> Path:
    p = ROBUST / name
    if not p.exists():
        pytest.skip(f"case not available: {p}")
    return p


@pytest.fixture
def pair(tmp_path):
    """The small valid RINEX 2 pair, copied so that a failure could not touch the cases."""
    obs = shutil.copy(case("gsi_obs_cut.05o"), tmp_path / "obs.05o")
    nav = shutil.copy(case("gsi_nav_cut.05n"), tmp_path / "nav.05n")
    return Path(obs), Path(nav)


def run(argv) -> int:
    """Exit status of ``satnav argv`` (usage errors exit through SystemExit)."""
    try:
        return main(argv)
    except SystemExit as exc:
        return int(exc.code)


def _one_line_error(capsys, *fragments):
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("satnav: "), err
    for f in fragments:
        assert f in err, err
    return err


# ------------------------------------------------------------ outputs never destroy inputs
@pytest.mark.parametrize("argv", [
    ["solve", "{obs}", "{nav}", "--report", "{obs}"],
    ["solve", "{obs}", "{nav}", "-o", "{obs}", "--format", "pos"],
    ["solve", "{obs}", "{nav}", "-o", "{nav}", "--format", "pos"],
    ["orbits", "{nav}", "-o", "{nav}"],
    ["convert", "{obs}", "-o", "{obs}"],
    ["convert", "{link}", "-o", "{obs}"],  # the same file through a symbolic link
    ["convert", "{hard}", "-o", "{obs}"],  # ... and a hard link
])
def test_output_equal_to_an_input_is_refused(pair, argv, capsys):
    obs, nav = pair
    (obs.parent / "link.05o").symlink_to(obs)
    os.link(obs, obs.parent / "hard.05o")
    before = obs.read_bytes(), nav.read_bytes()
    names = {"obs": obs, "nav": nav, "link": obs.parent / "link.05o", "hard": obs.parent / "hard.05o"}
    assert main([a.format(**names) for a in argv]) == 2
    _one_line_error(capsys, "overwrite the input")
    assert (obs.read_bytes(), nav.read_bytes()) == before


def test_report_over_its_solution_and_two_outputs_to_one_file(pair, tmp_path, capsys):
    obs, nav = pair
    pos = tmp_path / "x.pos"
    assert main(["solve", str(obs), str(nav), "-o", str(pos), "--report", str(pos)]) == 2
    _one_line_error(capsys, "two outputs")
    assert not pos.exists()
    assert main(["solve", str(obs), str(nav), "-o", str(pos), "-q"]) == 0
    text = pos.read_text()
    assert main(["report", str(pos), "-o", str(pos)]) == 2
    _one_line_error(capsys, "overwrite the input")
    assert pos.read_text() == text


def test_dev_full_names_the_file(pair, capsys):
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full")
    obs, nav = pair
    assert main(["solve", str(obs), str(nav), "-o", "/dev/full", "--format", "pos", "-q"]) == 2
    _one_line_error(capsys, "/dev/full: cannot write (no space left on device)")
    assert main(["convert", str(obs), "-o", "/dev/full"]) == 2
    _one_line_error(capsys, "/dev/full: cannot write (no space left on device)")


def test_atomic_output_keeps_the_old_file_on_failure(tmp_path):
    p = tmp_path / "good.txt"
    p.write_text("good\n")
    with pytest.raises(RuntimeError):
        with atomic_output(p, "w") as fh:
            fh.write("half a fi")
            raise RuntimeError("interrupted")
    assert p.read_text() == "good\n"
    assert sorted(x.name for x in tmp_path.iterdir()) == ["good.txt"]  # no temporary left
    with atomic_output(p, "w") as fh:
        fh.write("new\n")
    assert p.read_text() == "new\n"


def test_protected_inputs_cover_files_written_into_a_directory(tmp_path):
    p = tmp_path / "in.txt"
    p.write_text("input\n")
    with protected_inputs([p]), pytest.raises(SatnavError, match="overwrite an input"):
        with atomic_output(tmp_path / "." / "in.txt", "w") as fh:
            fh.write("x")
    assert p.read_text() == "input\n"


# ------------------------------------------------------------ option validation
@pytest.mark.parametrize("argv, fragment", [
    (["solve", "{obs}", "{nav}", "--smooth", "1e308"], "argument --smooth"),
    (["solve", "{obs}", "{nav}", "--ref", "0,0,0"], "--ref 0,0,0"),
    (["solve", "{obs}", "{nav}", "--base", "{obs}", "--base-pos", "0,0,0"], "--base-pos 0,0,0"),
    (["sim", "gps", "--seed", "-1", "-o", "{tmp}/d"], "argument --seed"),
    (["sim", "gps", "--site", "95,0,0", "-o", "{tmp}/d"], "--site latitude 95"),
    (["sim", "gps", "--start", "9999-01-01T00:00:00", "-o", "{tmp}/d"], "out of range"),
    (["plan", "--region", "0,10,0,10", "--grid", "1e-6", "--constellation", "gps", "-o", "{tmp}/p"],
     "grid points"),
    (["plan", "--site", "35,139,0", "--constellation", "gps", "--systems", "XYZ", "-o", "{tmp}/p"],
     "--systems 'XYZ'"),
    (["report", "{obs}", "--ref", "0,0,0", "-o", "{tmp}/r.html"], "--ref 0,0,0"),
])
def test_bad_options_are_one_line_usage_errors(pair, tmp_path, argv, fragment, capsys):
    obs, nav = pair
    names = {"obs": obs, "nav": nav, "tmp": tmp_path}
    assert run([a.format(**names) for a in argv]) == 2
    _one_line_error(capsys, fragment)
    assert not (tmp_path / "d").exists() and not (tmp_path / "p").exists()


def test_repeated_multi_value_options_accumulate():
    from satnav.cli.main import build_parser

    args = build_parser().parse_args(["plan", "--constellation", "glonass", "--constellation", "regional"])
    assert args.constellation == ["glonass", "regional"]
    args = build_parser().parse_args(["orbits", "n1", "-o", "x.sp3", "--compare", "a", "--compare", "b"])
    assert args.compare == ["a", "b"]


@pytest.mark.parametrize("name, fragment", [
    ("04_binary.toml", "not UTF-8"),
    ("05_scen_interval_zero.toml", "'interval_s' = 0 is out of range"),
    ("19_toml_inc500.toml", "'inclination_deg' = 500.0 is out of range, expected 0 <= value <= 180"),
    ("19b_toml_negative_sma.toml", "orbit radius -29600 km"),
    ("19c_empty.toml", "empty spec"),
])
def test_bad_specs_are_one_line_errors_naming_the_key(name, fragment, tmp_path, capsys):
    assert main(["sim", str(case(name)), "-o", str(tmp_path / "d")]) == 2
    _one_line_error(capsys, fragment)
    assert not (tmp_path / "d").exists() or not any((tmp_path / "d").iterdir())


# ------------------------------------------------------------ terminal and JSON
def test_info_escapes_control_characters(capsys):
    assert main(["info", str(case("14_terminal_escape.05o"))]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\x07" not in out
    assert "\\x1b[2J" in out  # shown, escaped


def test_info_json_is_valid_json(capsys):
    assert main(["info", "--json", str(case("15_approx_nan_json.05o"))]) == 0
    out = capsys.readouterr().out
    json.loads(out, parse_constant=lambda c: pytest.fail(f"invalid JSON constant {c}"))


def test_html_report_still_escapes_the_header(pair, tmp_path):
    obs, nav = pair
    pos = tmp_path / "x.pos"
    assert main(["solve", str(obs), str(nav), "-o", str(pos), "-q"]) == 0
    html = tmp_path / "r.html"
    assert main(["report", str(pos), "--obs", str(case("13_xss_header.05o")), "-o", str(html), "-q"]) == 0
    text = html.read_text()
    assert "<script>alert" not in text.replace(" ", "") and "onerror=" not in text


def test_repeated_warnings_are_capped(tmp_path, capsys):
    """Issue 11: no flood of one kind of warning — ten are printed, then one line counts the rest."""
    from satnav.cli.main import WARNINGS_PER_KIND, _WarningPrinter

    printer = _WarningPrinter()
    for k in range(99):
        printer(f"bad.csv:{k + 2}: ReceivedSvTimeNanos '{k}e300' is out of range (record skipped)",
                UserWarning, "x", 1)
    printer("bad.csv:7: another kind of problem", UserWarning, "x", 1)
    printer.close()
    err = capsys.readouterr().err.splitlines()
    assert len(err) == WARNINGS_PER_KIND + 2
    assert err[-1].startswith(f"satnav: warning: ... and {99 - WARNINGS_PER_KIND} more warnings like this one: bad.csv:2:")
    assert "another kind" in err[WARNINGS_PER_KIND]
