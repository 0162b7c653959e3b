"""`satnav info --json` against values counted independently from the file text."""

from __future__ import annotations

import json

import pytest

from satnav.cli import main
from tests.conftest import DATA
from tests.rinex_counter import count_rinex_obs


def _is_observation_file(path) -> bool:
    """RINEX/CRINEX observation file, judged from its first line (gzip opened by hand)."""
    import gzip

    try:
        head = path.open("rb").read(4096)
        if head[:2] == b"\x1f\x8b":
            with gzip.open(path, "rb") as fh:
                head = fh.read(4096)
    except OSError:
        return False
    first = head.split(b"\n", 1)[0]
    return b"COMPACT RINEX" in first or b"OBSERVATION DATA" in first


#: Every observation file under the shared data (plain, Hatanaka, gzip), found by content.
OBS_FILES = sorted(
    str(p.relative_to(DATA)) for p in DATA.glob("*/*") if p.is_file() and _is_observation_file(p)
) if DATA.exists() else []

BROKEN = {"corpus/blank1st.10o", "corpus/junk_time_obs3.10o", "corpus/badtime.10o", "corpus/wrong_obs2_count.10o"}

# RINEX 2 -> 3 code mapping is checked in tests/io/test_rinex_obs.py; here only the count.


def info_json(capsys, path):
    rc = main(["info", "--json", str(path)])
    out = capsys.readouterr()
    assert rc == 0, out.err
    return json.loads(out.out)


@pytest.mark.parametrize("rel", [f for f in OBS_FILES if f not in BROKEN])
def test_info_matches_independent_count(rel, capsys):
    path = DATA / rel
    expected = count_rinex_obs(path)
    info = info_json(capsys, path)
    assert info["format"] == "rinex-obs"
    assert info["version"] == pytest.approx(expected["version"])
    assert info["epochs"] == expected["epochs"]
    assert set(info["satellites"]) == expected["satellites"]
    assert info["satellites"] == sorted(info["satellites"])
    for key in ("format", "version", "epochs", "satellites", "observation_codes", "first_epoch", "last_epoch", "interval_s"):
        assert key in info
    if expected["version"] >= 3:
        assert info["observation_codes"] == expected["codes"]
    else:
        # every system present gets as many RINEX 3 codes as the file declares RINEX 2 codes
        # (codes without a RINEX 3 equivalent for a system are dropped)
        for system, codes in info["observation_codes"].items():
            assert 0 < len(codes) <= len(expected["codes"]), system


def test_info_esbc_header_fields(capsys):
    path = DATA / "esbc-2020-177" / "ESBC00DNK_R_20201770000_01D_30S_MO.crx.gz"
    if not path.exists():
        pytest.skip("esbc not available")
    info = info_json(capsys, path)
    # header, read by hand: "ESBC00DNK  MARKER NAME", 30 s interval, 2020-06-25 whole day
    assert info["marker"].startswith("ESBC")
    assert info["interval_s"] == 30.0
    assert info["first_epoch"] == "2020-06-25T00:00:00 GPST"
    assert info["last_epoch"] == "2020-06-25T23:59:30 GPST"
    assert info["epochs"] == 2880
    assert set(info["satellites_per_system"]) == set("GRECJS")
    assert info["approx_position_m"][0] == pytest.approx(3582105.2910, abs=1.0)


def test_info_several_files_gives_a_list(capsys):
    a = DATA / "corpus" / "demo.10o"
    b = DATA / "corpus" / "demo3.10o"
    if not a.exists():
        pytest.skip("corpus not available")
    rc = main(["info", "--json", str(a), str(b)])
    out = capsys.readouterr().out
    assert rc == 0
    data = json.loads(out)
    assert isinstance(data, list) and len(data) == 2


def test_info_jobs_gives_the_whole_file_summary(capsys, monkeypatch, tmp_path):
    # a RINEX 3/4 file's time chunks parsed by N processes (never the file read whole):
    # the summary of the file read whole, key for key
    from satnav import info
    from satnav.io import rinex_obs
    from satnav.io.textfile import read_bytes

    path = DATA / "esbc-2020-177" / "ESBC00DNK_R_20201770000_01D_30S_MO.crx.gz"
    chunked = info._chunked_obs_info
    monkeypatch.setattr(info, "_chunked_obs_info", lambda *a: None)
    whole = json.loads(_run_info(capsys, path, "1")[0])
    assert whole["epochs"] == 2880
    monkeypatch.setattr(info, "_chunked_obs_info", chunked)
    real = rinex_obs.read_rinex_obs
    monkeypatch.setattr(rinex_obs, "read_rinex_obs", lambda *a, **k: pytest.fail("read whole"))
    for jobs in ("1", "2", "3"):
        assert json.loads(_run_info(capsys, path, jobs)[0]) == whole
    # a damaged record (in the second chunk): the file is read whole, its warning once
    monkeypatch.setattr(rinex_obs, "read_rinex_obs", real)
    head, body = read_bytes(path).split(b"END OF HEADER\n", 1)
    records = body.split(b"\n>")[:700]
    lines = records[600].split(b"\n")
    lines[3] = lines[3][:8] + b"x" + lines[3][9:]
    records[600] = b"\n".join(lines)
    damaged = tmp_path / "damaged.rnx"
    damaged.write_bytes(head + b"END OF HEADER\n" + b"\n>".join(records) + b"\n")
    out1, err1 = _run_info(capsys, damaged, "1")
    assert "warning" in err1 and json.loads(out1)["epochs"] == 700
    assert _run_info(capsys, damaged, "2") == (out1, err1)


def _run_info(capsys, path, jobs):
    rc = main(["info", "--json", str(path), "--jobs", jobs])
    out = capsys.readouterr()
    assert rc == 0, out.err
    return out.out, out.err
