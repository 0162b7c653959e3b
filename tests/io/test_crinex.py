"""The tolerant Compact RINEX decoder (satnav.io.crinex), fallback of the ``hatanaka`` package.

Cross-check: on every undamaged Compact RINEX file of ``SATNAV_DATA`` the decoder writes the
same RINEX text as the ``hatanaka`` package (RNXCMP's CRX2RNX), which the RINEX reader turns
into the same observations. Damage (robustness case 12, seeded mutations) loses only the
damaged records, with ``FILE:LINE:`` warnings naming the Compact RINEX line.
"""

from __future__ import annotations

import os
import random
import re
import warnings
from pathlib import Path

import numpy as np
import pytest

from satnav.errors import DamagedRecordWarning, FormatError, SatnavError
from satnav.io.crinex import crx_to_rnx
from satnav.io.rinex_obs import parse_rinex_obs, read_rinex_obs
from satnav.io.textfile import decompress

from ..conftest import DATA

hatanaka = pytest.importorskip("hatanaka")

_REPO = Path(__file__).resolve().parents[2]
CASES = Path(
    os.environ.get("SATNAV_CASES")
    or (Path(os.environ["SATNAV_DATA"]).parent / "cases" if os.environ.get("SATNAV_DATA")
        else _REPO.parent / "shared" / "cases")
)
CASE12 = CASES / "robustness" / "12_crx_one_bad_line.crx"

#: Undamaged Compact RINEX files (CRINEX 1 and 3; RINEX 2, 3 and 4). The two other full days
#: (NYA1 2024-124, BOR1 2024-035) also give identical text but take ~10 s each.
SMALL = sorted(
    p.relative_to(DATA).as_posix()
    for pattern in ("corpus/*.crx", "corpus/*.??[dD]", "nl-2021-001/*.??d")
    for p in DATA.glob(pattern)
) if DATA.exists() else []
FULL_DAY = "esbc-2020-177/ESBC00DNK_R_20201770000_01D_30S_MO.crx.gz"


def _hatanaka_text(data: bytes) -> bytes:
    out = hatanaka.crx2rnx(data)
    return out.encode("ascii") if isinstance(out, str) else out


def _assert_same_observations(a, b):
    assert a.codes == b.codes
    for name in ("time", "sat", "code", "lli", "ssi", "epochs", "epoch_flags"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    np.testing.assert_array_equal(a.value, b.value)
    np.testing.assert_array_equal(a.receiver_clock_offset_s, b.receiver_clock_offset_s)
    assert len(a.events) == len(b.events)


@pytest.mark.parametrize("rel", SMALL + [FULL_DAY])
def test_decoder_matches_the_hatanaka_package(rel):
    path = DATA / rel
    if not path.exists():
        pytest.skip(f"data not available: {path}")
    crx = decompress(path.read_bytes())
    ref = _hatanaka_text(crx)
    with warnings.catch_warnings():
        warnings.simplefilter("error", DamagedRecordWarning)
        mine = crx_to_rnx(crx, str(path))
    assert mine == ref
    if rel == FULL_DAY or "corpus" in rel:
        _assert_same_observations(parse_rinex_obs(mine, path=str(path)),
                                  parse_rinex_obs(ref, path=str(path)))


def _case12() -> bytes:
    if not CASE12.exists():
        pytest.skip(f"case not available: {CASE12}")
    return CASE12.read_bytes()


def test_case12_loses_only_the_damaged_observation():
    data = _case12()
    lines = data.split(b"\n")
    bad = 235  # the line holding "99999999999999999999" (the S25 satellite's first field)
    assert lines[bad - 1].startswith(b"99999999999999999999 ")
    with pytest.raises(Exception):  # noqa: B017 - the package stops at the bad line
        hatanaka.crx2rnx(data)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        obs = read_rinex_obs(CASE12)
    msgs = [str(w.message) for w in caught if issubclass(w.category, DamagedRecordWarning)]
    assert len(msgs) == 1
    assert msgs[0].startswith(f"{CASE12}:{bad}: damaged Compact RINEX record skipped")
    assert "S25" in msgs[0] and "expanded RINEX text" in msgs[0]

    # Reference: the same file with the damaged difference replaced by 0, expanded by the
    # hatanaka package. Everything but S25's first observation type from that epoch on
    # (until that arc restarts, which it does not in these 10 epochs) must be identical.
    repaired = b"\n".join(lines[:bad - 1] + [b"0" + lines[bad - 1][20:]] + lines[bad:])
    ref = parse_rinex_obs(_hatanaka_text(repaired), path="repaired")
    assert len(obs.epochs) == len(ref.epochs) == 10  # no epoch lost
    np.testing.assert_array_equal(obs.epochs, ref.epochs)
    key_ref = set(zip(ref.time.tolist(), ref.sat.tolist(), [ref.codes[c] for c in ref.code]))
    key_obs = set(zip(obs.time.tolist(), obs.sat.tolist(), [obs.codes[c] for c in obs.code]))
    lost = key_ref - key_obs
    assert key_obs <= key_ref
    damaged_epoch = int(ref.epochs[1])  # line 235 is in the second epoch
    assert lost and all(t >= damaged_epoch for t, _, _ in lost)
    assert len({(s, c) for _, s, c in lost}) == 1  # one satellite, one signal
    assert len(lost) == len(ref.epochs) - 1  # from the damaged epoch to the end
    assert {c for _, _, c in lost} == {"C1C"}  # the first SBAS type ("S    4 C1C C5I L1C L5I")
    # every kept value, LLI and SSI is the reference's
    ref_rows = {k: (v, li, si) for k, v, li, si in zip(
        zip(ref.time.tolist(), ref.sat.tolist(), [ref.codes[c] for c in ref.code]),
        ref.value.tolist(), ref.lli.tolist(), ref.ssi.tolist())}
    for k, v, li, si in zip(zip(obs.time.tolist(), obs.sat.tolist(), [obs.codes[c] for c in obs.code]),
                            obs.value.tolist(), obs.lli.tolist(), obs.ssi.tolist()):
        assert ref_rows[k] == (v, li, si)


def test_case12_strict_is_an_error_naming_the_line():
    _case12()
    with pytest.raises(FormatError, match=rf"^{re.escape(str(CASE12))}:235: damaged Compact RINEX"):
        read_rinex_obs(CASE12, strict=True)


def test_damaged_epoch_line_skips_to_the_next_initialised_epoch():
    # CRINEX 1 (RINEX 2): break the second epoch line; with one initialising epoch per file the
    # rest cannot be placed in time, so the decoder keeps the first epoch only and says so.
    path = DATA / "corpus" / "AJAC3550.21D"
    if not path.exists():
        pytest.skip(f"data not available: {path}")
    lines = path.read_bytes().split(b"\n")
    starts = [k for k, ln in enumerate(lines) if ln.startswith(b"&")]
    assert len(starts) == 1
    ref = parse_rinex_obs(_hatanaka_text(path.read_bytes()), path="ref")
    # the second epoch line: the first line after the first epoch's data starting with a blank
    # and holding the event flag column
    k = starts[0] + 1
    nsat = int(lines[starts[0]][29:32])
    k += 1 + nsat  # clock line, satellite lines
    lines[k] = b"XX" + lines[k][2:]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = crx_to_rnx(b"\n".join(lines), "x.21d")
    msgs = [str(w.message) for w in caught]
    assert msgs == [f"x.21d:{k + 1}: damaged Compact RINEX record skipped: bad epoch line; skipping to "
                    "the next initialised epoch; line numbers in later messages refer to the "
                    "expanded RINEX text (record skipped)"]
    obs = parse_rinex_obs(out, path="x")
    np.testing.assert_array_equal(obs.epochs, ref.epochs[:1])
    n = int(np.sum(ref.time == ref.epochs[0]))
    np.testing.assert_array_equal(obs.value, ref.value[:n])


def _mutate(data: bytes, rng: random.Random) -> bytes:
    lines = data.split(b"\n")
    for _ in range(rng.randint(1, 3)):
        k = rng.randrange(len(lines))
        kind = rng.randrange(6)
        ln = bytearray(lines[k])
        if kind == 0 and ln:
            ln[rng.randrange(len(ln))] = rng.choice(b"0123456789&- >\x1b\x00\xe9x")
            lines[k] = bytes(ln)
        elif kind == 1:
            del lines[k]
        elif kind == 2:
            lines.insert(k, lines[k])
        elif kind == 3:
            lines[k] = rng.choice([b"9" * 30, b"\x1b[2J", b"7&1", b"-", b"&", b">", b"1& 2& x"])
        elif kind == 4:
            lines = lines[:k]
        else:
            lines[k] = bytes(ln) + b" 123"
        if not lines:
            lines = [b""]
    return b"\n".join(lines)


@pytest.mark.parametrize("name", ["KUNZ00CZE.crx", "AJAC3550.21D"])
def test_mutations_raise_only_satnav_errors_and_never_echo_control_bytes(name):
    path = DATA / "corpus" / name
    if not path.exists():
        pytest.skip(f"data not available: {path}")
    data = path.read_bytes()
    rng = random.Random(f"crinex-{name}")
    for n in range(40):
        mutated = _mutate(data, rng)
        for strict in (False, True):
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                try:
                    out = crx_to_rnx(mutated, "m.crx", strict=strict)
                except SatnavError as exc:
                    assert not re.search(r"[\x00-\x1f\x7f-\xff]", str(exc)), (n, str(exc))
                    continue
                except Exception as exc:  # noqa: BLE001 - the point of the test
                    raise AssertionError(f"mutation {n}: {type(exc).__name__}: {exc}") from exc
            for w in caught:
                assert not re.search(r"[\x00-\x1f\x7f-\xff]", str(w.message)), (n, str(w.message))
                assert str(w.message).startswith("m.crx:")
            assert not re.search(rb"[\x00-\x09\x0b-\x1f\x7f-\xff]", out), n
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                try:
                    parse_rinex_obs(out, path="m")
                except SatnavError:
                    pass
