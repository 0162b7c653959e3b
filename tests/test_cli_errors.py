"""User errors of the ``satnav`` command: one line ``satnav: ...`` on stderr, exit status 2,
never a traceback (issue 4, "Bad input"); warnings for what is skipped; exit status 1 when
nothing could be solved.

Expected values come from outside satnav: the shared data README (reference coordinates),
the files' own text (quoted where used) and an independent line counter of the RINEX text
(``tests.rinex_counter``, which decompresses with gzip and the ``hatanaka`` package only).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from satnav.cli import main
from tests.conftest import data_path

RTK_TRUTH = "-3976219.6644,3382372.5414,3652513.0556"  # README: 0759-rtk (gsi-2005-092)
NYA1_OBS = "NYA100NOR_S_20241240000_01D_30S_MO.crx.gz"


def _err_lines(capsys) -> list[str]:
    return [ln for ln in capsys.readouterr().err.splitlines() if ln.strip()]


def _one_error(capsys, pattern: str) -> str:
    """The single stderr line; it must match ``pattern`` (a regular expression)."""
    lines = _err_lines(capsys)
    assert len(lines) == 1, lines
    assert re.fullmatch(pattern, lines[0]), lines[0]
    assert "Traceback" not in lines[0]
    return lines[0]


def _usage_error(argv, capsys, pattern: str) -> str:
    """argparse-level errors exit through SystemExit(2) with exactly one line."""
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    return _one_error(capsys, pattern)


def _gsi():
    d = data_path("gsi-2005-092")
    return d, [str(d / "07590920.05o"), str(d / "07590920.05n")]


def _esbc_nav() -> str:
    return str(data_path("esbc-2020-177", "ESBC00DNK_R_20201770000_01D_MN.rnx.gz"))


# ------------------------------------------------------------------ 1. unwritable outputs
def test_solve_output_in_missing_directory(tmp_path, capsys):
    _, files = _gsi()
    out = tmp_path / "no" / "such" / "out.pos"
    rc = main(["solve", *files, "-o", str(out), "-q"])
    assert rc == 2
    _one_error(capsys, re.escape(f"satnav: {out}: cannot write (directory {out.parent} does not exist)"))
    assert not out.parent.exists()


def test_solve_output_is_a_directory(tmp_path, capsys):
    _, files = _gsi()
    rc = main(["solve", *files, "-o", str(tmp_path), "--format", "pos", "-q"])
    assert rc == 2
    _one_error(capsys, re.escape(f"satnav: {tmp_path}: cannot write (") + r"is a directory.*\)")


def test_os_error_while_writing_is_caught_centrally(tmp_path, capsys, monkeypatch):
    """An OSError the early checks cannot foresee (here: raised by the writer) is still one line."""
    import satnav.io.solution as solution_io

    out = tmp_path / "out.pos"

    def refuse(solution, path, fmt=None, *a, **k):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(solution_io, "write_solution", refuse)
    _, files = _gsi()
    rc = main(["solve", *files, "-o", str(out), "-q"])
    assert rc == 2
    _one_error(capsys, re.escape(f"satnav: {out}: cannot write (permission denied)"))


def test_os_error_on_an_input_says_read(tmp_path, capsys, monkeypatch):
    import satnav.info as info

    def refuse(path, *a, **k):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(info, "file_info", refuse)
    rc = main(["info", str(tmp_path / "x.rnx")])
    assert rc == 2
    _one_error(capsys, re.escape(f"satnav: {tmp_path / 'x.rnx'}: cannot read (permission denied)"))


def test_orbits_output_in_missing_directory(tmp_path, capsys):
    out = tmp_path / "missing" / "o.sp3"
    rc = main(["orbits", _esbc_nav(), "-o", str(out)])
    assert rc == 2
    _one_error(capsys, re.escape(f"satnav: {out}: cannot write (directory {out.parent} does not exist)"))


def test_orbits_json_in_missing_directory(tmp_path, capsys):
    out = tmp_path / "missing" / "o.json"
    rc = main(["orbits", _esbc_nav(), "-o", str(tmp_path / "o.sp3"), "--json", str(out)])
    assert rc == 2
    _one_error(capsys, re.escape(f"satnav: {out}: cannot write (directory {out.parent} does not exist)"))
    assert not (tmp_path / "o.sp3").exists()  # checked before any work


def test_report_output_in_missing_directory(tmp_path, capsys):
    _, files = _gsi()
    sol = tmp_path / "s.pos"
    assert main(["solve", *files, "-o", str(sol), "-q"]) == 0
    capsys.readouterr()
    out = tmp_path / "missing" / "r.html"
    rc = main(["report", str(sol), "-o", str(out)])
    assert rc == 2
    _one_error(capsys, re.escape(f"satnav: {out}: cannot write (directory {out.parent} does not exist)"))


def test_convert_output_in_missing_directory(tmp_path, capsys):
    src = data_path("corpus", "demo.10o")
    out = tmp_path / "missing" / "x.rnx"
    rc = main(["convert", str(src), "-o", str(out)])
    assert rc == 2
    _one_error(capsys, re.escape(f"satnav: {out}: cannot write (directory {out.parent} does not exist)"))


@pytest.mark.parametrize("command", ["plan", "sim", "demo"])
def test_output_directory_blocked_by_a_file(tmp_path, capsys, command):
    blocker = tmp_path / "afile"
    blocker.write_text("not a directory\n")
    out = blocker / "sub"
    argv = {
        "plan": ["plan", "--nav", _esbc_nav(), "--site", "55,10,0", "-o", str(out)],
        "sim": ["sim", "demo", "--duration", "0.1", "-o", str(out)],
        "demo": ["demo", "-o", str(out)],
    }[command]
    rc = main(argv)
    assert rc == 2
    _one_error(capsys, re.escape(f"satnav: {out}: cannot write ({blocker} is not a directory)"))


def test_unwritable_output_as_a_process(tmp_path):
    """The real command: no traceback, one line, status 2."""
    _, files = _gsi()
    out = tmp_path / "no" / "dir" / "out.pos"
    r = subprocess.run([sys.executable, "-m", "satnav", "solve", *files, "-o", str(out)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2
    assert "Traceback" not in r.stderr
    assert r.stderr.strip().splitlines() == [
        f"satnav: {out}: cannot write (directory {out.parent} does not exist)"
    ]


# ------------------------------------------------------------------ 2. missing navigation data
def _count_code_observations(path, wanted) -> dict:
    """Satellite records (epoch flag 0/1) per system with a plausible pseudorange in the first
    of ``wanted[system]`` codes present, counted straight from the RINEX 3 text."""
    from tests.rinex_counter import _text

    lines = _text(Path(path))
    codes: dict[str, list[str]] = {}
    i, pending = 0, None
    while "END OF HEADER" not in lines[i][60:]:
        ln = lines[i]
        if ln[60:].strip() == "SYS / # / OBS TYPES":
            if ln[0] != " ":
                pending = ln[0]
                codes[pending] = []
            codes[pending] += ln[7:60].split()
        i += 1
    count = dict.fromkeys(wanted, 0)
    ok = True
    for ln in lines[i + 1:]:
        if ln.startswith(">"):
            ok = ln[31:32] in "01"
            continue
        s = ln[:1]
        if not ok or s not in wanted:
            continue
        for c in wanted[s]:
            if c in codes[s]:
                j = codes[s].index(c)
                field = ln[3 + 16 * j: 3 + 16 * j + 14].strip()
                if field and 1e6 < float(field) < 1e8:
                    count[s] += 1
                    break
    return count


def test_missing_navigation_data_warns_once_per_system(tmp_path, capsys):
    """nya1 with only the GPS navigation file: GLONASS, Galileo and BeiDou are named, each
    once, with the number of their pseudoranges left unused (counted from the text: the
    default codes R C1C/C1P, E C1C/C1X/C1B, C C2I/C2X/C1I of 'SYS / # / OBS TYPES')."""
    d = data_path("nya1-2024-124")
    rc = main(["solve", str(d / NYA1_OBS), str(d / "NYA100NOR_S_20241240000_01D_GN.rnx.gz"),
               "-o", str(tmp_path / "n.pos"), "-q"])
    assert rc == 0
    expected = _count_code_observations(
        d / NYA1_OBS, {"R": ("C1C", "C1P"), "E": ("C1C", "C1X", "C1B"), "C": ("C2I", "C2X", "C1I")}
    )
    assert all(n > 10000 for n in expected.values())
    assert _err_lines(capsys) == [
        f"satnav: warning: no GLONASS navigation data: its {expected['R']} observations are not used",
        f"satnav: warning: no Galileo navigation data: its {expected['E']} observations are not used",
        f"satnav: warning: no BeiDou navigation data: its {expected['C']} observations are not used",
    ]


@pytest.mark.parametrize("systems, names", [("R", "GLONASS"), ("RC", "GLONASS, BeiDou")])
def test_requested_systems_without_navigation_data_is_an_error(tmp_path, capsys, systems, names):
    d = data_path("nya1-2024-124")
    out = tmp_path / "n.pos"
    rc = main(["solve", str(d / NYA1_OBS), str(d / "NYA100NOR_S_20241240000_01D_GN.rnx.gz"),
               "-o", str(out), "--systems", systems])
    assert rc == 2
    _one_error(capsys, re.escape(
        f"satnav: no navigation data for the requested systems {systems}: the navigation files "
        f"hold ephemerides of GPS only, expected ones of {names}"
    ))
    assert not out.exists()


# ------------------------------------------------------------------ 3. argparse errors
@pytest.mark.parametrize(
    "argv, pattern",
    [
        (["solve", "OBS", "NAV", "--format", "bogus"],
         r"satnav: solve: argument --format: invalid choice: 'bogus' \(choose from .*\) "
         r"\(see satnav solve --help\)"),
        (["solve", "OBS", "NAV", "--iono", "magic"],
         r"satnav: solve: argument --iono: invalid choice: 'magic' .* \(see satnav solve --help\)"),
        (["solve"], r"satnav: solve: the following arguments are required: OBS.* "
                    r"\(see satnav solve --help\)"),
        (["solve", "OBS", "--mode"], r"satnav: solve: argument --mode: expected one argument "
                                     r"\(see satnav solve --help\)"),
        (["orbits", "NAV"], r"satnav: orbits: the following arguments are required: -o/--output "
                            r"\(see satnav orbits --help\)"),
        (["plan", "--mask", "x"], r"satnav: plan: argument --mask: 'x' is not a number, expected "
                                  r"an elevation mask in degrees \(see satnav plan --help\)"),
        (["frobnicate"], r"satnav: argument COMMAND: invalid choice: 'frobnicate' .* "
                         r"\(see satnav --help\)"),
        (["solve", "OBS", "NAV", "--no-such-option"],
         r"satnav: solve: unrecognized arguments: --no-such-option \(see satnav solve --help\)"),
        (["--no-such-option"], r"satnav: unrecognized arguments: --no-such-option \(see satnav --help\)"),
    ],
)
def test_usage_errors_are_one_line(argv, pattern, capsys):
    _usage_error(argv, capsys, pattern)


def test_usage_error_as_a_process():
    r = subprocess.run([sys.executable, "-m", "satnav", "solve", "a.obs", "b.nav", "--iono", "x"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2
    assert "Traceback" not in r.stderr and "usage:" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    assert r.stderr.startswith("satnav: solve: argument --iono: invalid choice: 'x'")


# ------------------------------------------------------------------ 4. option values
@pytest.mark.parametrize(
    "command, option, value, expected",
    [
        ("solve", "--mask", "90", "an elevation mask in degrees, 0 <= value < 90"),
        ("solve", "--mask", "-1", "an elevation mask in degrees, 0 <= value < 90"),
        ("solve", "--mask", "nan", "an elevation mask in degrees, 0 <= value < 90"),
        ("solve", "--ratio", "0.5", "a ratio-test threshold, value >= 1"),
        ("solve", "--max-age", "0", "a time difference in seconds, value > 0"),
        ("report", "--mask", "95", "an elevation mask in degrees, 0 <= value < 90"),
        ("plan", "--step", "0", "a time step in seconds, value > 0"),
        ("plan", "--grid", "0", "a grid step in degrees, 0 < value <= 90"),
        ("plan", "--grid", "-5", "a grid step in degrees, 0 < value <= 90"),
        ("orbits", "--interval", "0", "an epoch spacing in seconds, value > 0"),
        ("sim", "--duration", "0", "a duration in hours, value > 0"),
        ("sim", "--interval", "-30", "a time step in seconds, value > 0"),
    ],
)
def test_out_of_range_option_values(command, option, value, expected, capsys):
    positional = {"solve": ["OBS", "NAV"], "report": ["S.pos", "-o", "r.html"], "plan": [],
                  "orbits": ["NAV", "-o", "o.sp3"], "sim": ["demo", "-o", "dir"]}[command]
    _usage_error(
        [command, *positional, f"{option}={value}"], capsys,
        re.escape(f"satnav: {command}: argument {option}: {value} is out of range, expected "
                  f"{expected} (see satnav {command} --help)"),
    )


@pytest.mark.parametrize(
    "region, pattern",
    [
        ("60,40,0,10", r"--region '60,40,0,10': latitudes 60\.\.40, expected -90 <= LAT0 < LAT1 <= 90"),
        ("40,95,0,10", r"--region '40,95,0,10': latitudes 40\.\.95, expected -90 <= LAT0 < LAT1 <= 90"),
        ("40,60,10,0", r"--region '40,60,10,0': longitudes 10\.\.0, expected LON0 < LON1 .*"),
        ("40,60,10", r"bad --region LAT0,LAT1,LON0,LON1 '40,60,10', expected 4 comma-separated numbers"),
    ],
)
def test_plan_region_checked(tmp_path, capsys, region, pattern):
    rc = main(["plan", "--nav", _esbc_nav(), "--region", region, "-o", str(tmp_path / "p")])
    assert rc == 2
    _one_error(capsys, "satnav: " + pattern)
    assert not (tmp_path / "p").exists()


def test_plan_end_before_start(tmp_path, capsys):
    rc = main(["plan", "--nav", _esbc_nav(), "--site", "55,10,0", "--start", "2020-06-25T10:00:00",
               "--end", "2020-06-25T09:00:00", "-o", str(tmp_path / "p")])
    assert rc == 2
    _one_error(capsys, re.escape("satnav: --end 2020-06-25T09:00:00 GPST is before --start "
                                 "2020-06-25T10:00:00 GPST: expected an end after the start"))


def test_plan_too_many_epochs(tmp_path, capsys):
    rc = main(["plan", "--nav", _esbc_nav(), "--site", "55,10,0", "--step", "0.01",
               "-o", str(tmp_path / "p")])
    assert rc == 2
    _one_error(capsys, r"satnav: --step 0\.01 s over 86400 s gives more than 1000000 epochs: "
                       r"expected a larger --step or a shorter span")


@pytest.mark.parametrize(
    "args, pattern",
    [
        (["--start", "2020-06-25T10:00:00", "--end", "2020-06-25T09:00:00"],
         r"--end 2020-06-25T09:00:00 GPST is before --start 2020-06-25T10:00:00 GPST: "
         r"expected an end after the start"),
        (["--start", "yesterday"], r"bad time 'yesterday', expected ISO 8601 like 2020-06-25T00:00:00"),
        (["--interval", "0.001"], r"--interval 0\.001 s from .* more than 5000000 states: "
                                  r"expected a larger --interval or a shorter span"),
        # esbc's navigation messages are of 2020-06-24/25 (file name: day 177 of 2020)
        (["--start", "2021-01-01T00:00:00"],
         r"--start/--end 2021-01-01T00:00:00 GPST \.\. 2021-01-01T23:45:00 GPST is more than a day "
         r"away from the navigation messages \(2020-06-2.*\): expected times the navigation files cover"),
    ],
)
def test_orbits_time_options_checked(tmp_path, capsys, args, pattern):
    out = tmp_path / "o.sp3"
    rc = main(["orbits", _esbc_nav(), "-o", str(out), *args])
    assert rc == 2
    _one_error(capsys, "satnav: " + pattern)
    assert not out.exists()


def test_sim_too_many_epochs(tmp_path, capsys):
    rc = main(["sim", "demo", "--duration", "24", "--interval", "0.01", "-o", str(tmp_path / "s")])
    assert rc == 2
    _one_error(capsys, r"satnav: a duration of 24 h at 0\.01 s epochs gives 8640000 epochs, "
                       r"expected 1 to 1000000 \(--duration, --interval\)")


@pytest.mark.parametrize("args", [["--step", "0"], ["--region", "60,40,0,10"]])
def test_plan_bad_values_as_a_process(tmp_path, args):
    """These two were tracebacks (ValueError, IndexError) before."""
    r = subprocess.run(
        [sys.executable, "-m", "satnav", "plan", "--nav", _esbc_nav(), *args, "-o", str(tmp_path / "p")],
        capture_output=True, text=True, timeout=120,
    )
    assert r.returncode == 2
    assert "Traceback" not in r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("satnav: ")


# ------------------------------------------------------------------ 5. nothing solved
def test_nothing_solved_exits_1_quiet(tmp_path, capsys):
    """corpus demo.10o (2010-03-05) with demo.10n (one 1999-09-02 message): the output is
    written with the reasons, status 1, a closing line pointing at them."""
    d = data_path("corpus")
    out = tmp_path / "d.pos"
    rc = main(["solve", str(d / "demo.10o"), str(d / "demo.10n"), "-o", str(out), "-q"])
    assert rc == 1
    err = _err_lines(capsys)
    assert err[-1] == f"satnav: no epoch could be solved (see the reasons in {out})"
    assert out.read_text().count("no solution:") == 2


# ------------------------------------------------------------------ 6. relative summaries
def test_dgnss_summary_reports_dgnss_epochs(capsys):
    d, files = _gsi()
    rc = main(["solve", *files, str(d / "30400920.05n"), "--base", str(d / "30400920.05o"),
               "--mode", "dgnss", "--ref", RTK_TRUTH])
    out = capsys.readouterr().out
    assert rc == 0
    assert "nan" not in out
    m = re.search(r"DGNSS-solution error: H RMS (\S+) m, V RMS (\S+) m, max 3-D \S+ m over (\d+) epochs", out)
    assert m, out
    # code differential over 3.3 km: decimetres to a metre against the RTK truth of the README
    assert float(m[1]) < 1.0 and float(m[2]) < 1.5 and int(m[3]) == 120


def test_static_summary_reports_final_position(capsys):
    d, files = _gsi()
    rc = main(["solve", *files, str(d / "30400920.05n"), "--base", str(d / "30400920.05o"),
               "--mode", "static", "--ref", RTK_TRUTH])
    out = capsys.readouterr().out
    assert rc == 0
    m = re.search(r"final position (\S+) (\S+) (\S+) m \(ECEF, fixed", out)
    assert m, out
    truth = np.array([float(v) for v in RTK_TRUTH.split(",")])
    # README: RTKLIB's fixed epochs scatter 5 mm H / 10 mm V around this truth
    assert np.linalg.norm(np.array([float(m[i]) for i in (1, 2, 3)]) - truth) < 0.03
    e = re.search(r"final position error vs --ref: E \S+ N \S+ U \S+ m, H (\S+) m, 3-D (\S+) m", out)
    assert e and float(e[2]) < 0.03


# ------------------------------------------------------------------ 7. satnav info text
def test_info_file_without_epochs(capsys):
    rc = main(["info", str(data_path("corpus", "blank.10o"))])
    out = capsys.readouterr().out
    assert rc == 0
    assert "None" not in out
    assert re.search(r"time span\s+no epochs", out)


def test_info_sp3_interval_from_header(capsys):
    """example1.sp3a line 2: '##  779 518400.00000000   900.00000000 49703 0.0000000000000'
    (900 s), while its damaged body keeps only 3 epochs 00:00 .. 23:45."""
    rc = main(["info", str(data_path("corpus", "example1.sp3a"))])
    out = capsys.readouterr().out
    assert rc == 0
    assert re.search(r"interval\s+900 s\n", out)
    assert re.search(r"epochs\s+3 \(the header says 96\)", out)  # line 1: '... 96 d ITR92 ...'
