"""Every file of the corpus either reads or fails with one clear line (issue 2, Bad input).

For each file the table below says what happens to it; files not listed must read.
`satnav info` is run in-process (stdout/stderr captured) and, for a few files, as a real
subprocess to check the exit status and that no traceback is printed.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from satnav.cli import main
from tests.conftest import DATA

CORPUS = DATA / "corpus"
FILES = sorted(p.name for p in CORPUS.iterdir()) if CORPUS.exists() else []

#: file -> (outcome, detail). outcome "error": exit 2 with one line naming this line number;
#: "warn": reads, with a warning naming the damaged line; default: reads cleanly.
EXPECTED = {
    "blank.sp3": ("error", 1),  # empty file
    # header says 6 observation types and lists 7
    "wrong_obs2_count.10o": ("error", 2),
    # "  2010     3     5     0     0    0 .0000000     GPS    TIME OF FIRST OBS" (line 3) and
    # the epoch " 10  3  5  0  0 0 .0000000 ..." (line 5): both damaged, later epoch kept
    "badtime.10o": ("warn", 5),
    "junk_time_obs3.10o": ("warn", 10),
    # the SP3 specification's example elides records with '   *' lines (line 28 is the first)
    "example1.sp3a": ("warn", 28),
    # ' .312000000000D+00  .000000000000D+00 -.651925802231D-08 . 000000000000D+00' (line 29):
    # a blank inside a number; the record starting at line 23 is skipped, the others kept
    "galileo3.15n": ("warn", 29),
    # '*  2017  2 14  0 15  0.00000000' (line 38) is the last line: an epoch without records
    "truncated.sp3": ("warn", 38),
    # rovn-like truncation does not occur in the corpus; blank1st.10o (blank line before the
    # version record) is read leniently.
}

ERROR_LINE = re.compile(r"^satnav: .+:\d+: \S.*$")


def run_info(capsys, *args):
    rc = main(["info", *args])
    out = capsys.readouterr()
    return rc, out.out, out.err


@pytest.mark.parametrize("name", FILES)
def test_corpus_file_reads_or_fails_cleanly(name, capsys):
    rc, out, err = run_info(capsys, "--json", str(CORPUS / name))
    outcome, detail = EXPECTED.get(name, ("reads", None))
    if outcome == "error":
        assert rc == 2, f"{name}: expected an error, got rc={rc}\n{out}"
        lines = [ln for ln in err.splitlines() if ln.strip()]
        assert len(lines) == 1, err
        assert ERROR_LINE.match(lines[0]), lines[0]
        assert f"{name}:{detail}:" in lines[0], lines[0]
    else:
        assert rc == 0, f"{name}: rc={rc} stderr={err}"
        info = json.loads(out)
        assert info["format"]
        warnings = [ln for ln in err.splitlines() if ln.startswith("satnav: warning")]
        if outcome == "warn":
            assert any(f"{name}:{detail}:" in w for w in warnings), err
        # warnings, if any, always name the file and a line
        for w in warnings:
            assert re.search(rf"{re.escape(name)}:\d+: ", w), w


@pytest.mark.parametrize("name", ["blank.sp3", "wrong_obs2_count.10o"])
def test_cli_error_is_one_line_exit_2_no_traceback(name):
    if not (CORPUS / name).exists():
        pytest.skip("corpus not available")
    r = subprocess.run(
        [sys.executable, "-m", "satnav.cli", "info", str(CORPUS / name)],
        capture_output=True, text=True, timeout=120,
    )
    assert r.returncode == 2
    assert "Traceback" not in r.stderr
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and ERROR_LINE.match(lines[0]), r.stderr


@pytest.mark.parametrize("name", sorted(n for n, (o, _) in EXPECTED.items() if o == "warn"))
def test_strict_turns_damaged_record_warning_into_error(name, capsys):
    if not (CORPUS / name).exists():
        pytest.skip("corpus not available")
    rc, out, err = run_info(capsys, "--strict", str(CORPUS / name))
    assert rc == 2
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and ERROR_LINE.match(lines[0]), err
