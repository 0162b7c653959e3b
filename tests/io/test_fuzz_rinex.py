"""Issue 11 item 7 for the RINEX readers: a seeded mutation fuzzer.

Seed files: RINEX 2/3/4 observation and navigation files and a Hatanaka (CRINEX 3) file from
``SATNAV_DATA`` and the robustness cases. Each is mutated (byte flips, line swaps,
truncation, digit changes, inserted garbage, non-ASCII bytes) with a fixed random seed and
read. The contract: only satnav's own exceptions (:class:`satnav.errors.SatnavError`) escape,
and no read hangs (an alarm fails the test after a few seconds). Bounded to a few seconds.
"""

from __future__ import annotations

import gzip
import os
import random
import signal
import time
import warnings
from pathlib import Path

import pytest

from satnav.errors import SatnavError
from satnav.io.rinex_nav import read_rinex_nav
from satnav.io.rinex_obs import read_rinex_obs

from ..conftest import DATA

_REPO = Path(__file__).resolve().parents[2]
CASES = Path(
    os.environ.get("SATNAV_CASES")
    or (Path(os.environ["SATNAV_DATA"]).parent / "cases" if os.environ.get("SATNAV_DATA")
        else _REPO.parent / "shared" / "cases")
)

#: (reader, seed file, lines kept from the start or None for all)
SEEDS = [
    ("obs", CASES / "robustness" / "gsi_obs_cut.05o", None),  # RINEX 2.10 obs
    ("nav", CASES / "robustness" / "gsi_nav_cut.05n", None),  # RINEX 2.10 GPS nav
    ("obs", DATA / "corpus" / "demo3.10o", None),  # RINEX 3 obs
    ("nav", DATA / "corpus" / "demo_nav3.17n", None),  # RINEX 3 nav
    ("obs", CASES / "robustness" / "06_obs_year0000.rnx", 180),  # RINEX 3 obs (KMS3)
    ("nav", DATA / "corpus" / "KMS300DNK_R_20221591000_01H_MN.rnx.gz", 400),  # RINEX 4 nav
    ("nav", DATA / "corpus" / "p1462100.18g", None),  # RINEX 2 GLONASS nav
    ("obs", DATA / "corpus" / "KUNZ00CZE.crx", None),  # CRINEX 3
]
MUTATIONS_PER_SEED = 12
SECONDS_PER_READ = 20  # alarm: a read that takes longer is a hang


def _seed_bytes(path: Path, keep: int | None) -> bytes:
    data = path.read_bytes()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    if keep is not None:
        data = b"".join(data.splitlines(keepends=True)[:keep])
    return data


def _mutate(data: bytes, rng: random.Random) -> bytes:
    """One to three random mutations of ``data`` (a RINEX text)."""
    b = bytearray(data)
    for _ in range(rng.randint(1, 3)):
        kind = rng.randrange(7)
        n = len(b)
        if n == 0:
            break
        i = rng.randrange(n)
        if kind == 0:  # flip bits of a byte
            b[i] ^= 1 << rng.randrange(8)
        elif kind == 1:  # change a digit
            digits = [k for k in range(max(0, i - 200), min(n, i + 200)) if 48 <= b[k] <= 57]
            if digits:
                b[rng.choice(digits)] = rng.choice(b"0123456789-. E+")
        elif kind == 2:  # swap two lines
            lines = bytes(b).splitlines(keepends=True)
            if len(lines) > 2:
                x, y = rng.randrange(len(lines)), rng.randrange(len(lines))
                lines[x], lines[y] = lines[y], lines[x]
                b = bytearray(b"".join(lines))
        elif kind == 3:  # truncate
            del b[i:]
        elif kind == 4:  # inserted garbage
            junk = rng.choice([b"\x00\xff\xfe", b"9" * 40, b"NaN inf 1e300", b"\n\n>\n",
                               b"\xe9\xe8", b"\r", b"  4  3\n", b"-" * 20])
            b[i:i] = junk
        elif kind == 5:  # delete a line
            lines = bytes(b).splitlines(keepends=True)
            if len(lines) > 1:
                del lines[rng.randrange(len(lines))]
                b = bytearray(b"".join(lines))
        else:  # duplicate a line
            lines = bytes(b).splitlines(keepends=True)
            if lines:
                k = rng.randrange(len(lines))
                lines.insert(k, lines[k])
                b = bytearray(b"".join(lines))
    return bytes(b)


def _alarm(signum, frame):
    raise TimeoutError("a mutated file made a reader hang")


@pytest.mark.parametrize(("kind", "seed_path", "keep"), SEEDS, ids=[p.name for _, p, _ in SEEDS])
def test_mutated_rinex_files_raise_only_satnav_errors(tmp_path, kind, seed_path, keep):
    if not seed_path.exists():
        pytest.skip(f"seed not available: {seed_path}")
    data = _seed_bytes(seed_path, keep)
    reader = read_rinex_obs if kind == "obs" else read_rinex_nav
    rng = random.Random(f"satnav-fuzz-{seed_path.name}")
    suffix = ".crx" if seed_path.suffix == ".crx" else ".rnx"
    has_alarm = hasattr(signal, "SIGALRM")
    old = signal.signal(signal.SIGALRM, _alarm) if has_alarm else None
    start = time.perf_counter()
    try:
        for n in range(MUTATIONS_PER_SEED):
            mutated = _mutate(data, rng)
            p = tmp_path / f"m{n}{suffix}"
            p.write_bytes(mutated)
            if has_alarm:
                signal.alarm(SECONDS_PER_READ)
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    reader(p)
                    reader(p, strict=False)
            except SatnavError:
                pass
            except Exception as exc:  # noqa: BLE001 - the point of the test
                raise AssertionError(
                    f"mutation {n} of {seed_path.name} raised {type(exc).__name__}: {exc}"
                ) from exc
            finally:
                if has_alarm:
                    signal.alarm(0)
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    reader(p, strict=True)
            except SatnavError:
                pass
    finally:
        if has_alarm:
            signal.signal(signal.SIGALRM, old)
    assert time.perf_counter() - start < 60


#: RINEX 3 observation seeds for the "no silently new values" property: every data line of a
#: RINEX 3 file names its satellite, so a structural change (lines swapped, deleted,
#: duplicated, the file cut) can lose values or be reported, but never move a value to
#: another satellite, code or epoch. (RINEX 2 data lines carry no satellite id: two swapped
#: lines with the same number of fields cannot be told apart there, so they are not seeds.)
STRUCTURE_SEEDS = [
    DATA / "corpus" / "demo3.10o",
    CASES / "robustness" / "06_obs_year0000.rnx",
]


def _structural_mutation(data: bytes, rng: random.Random) -> bytes:
    """Lines of the body swapped, deleted, duplicated, or the file cut at a line boundary."""
    lines = data.splitlines(keepends=True)
    body = next((i + 1 for i, x in enumerate(lines) if b"END OF HEADER" in x), 0)
    if len(lines) - body < 3:
        return data
    kind = rng.randrange(4)
    x, y = rng.randrange(body, len(lines)), rng.randrange(body, len(lines))
    if kind == 0:
        lines[x], lines[y] = lines[y], lines[x]
    elif kind == 1:
        del lines[x]
    elif kind == 2:
        lines.insert(x, lines[x])
    else:
        lines = lines[:x]
    return b"".join(lines)


def _value_set(obs) -> set:
    codes = [obs.codes[int(c)] for c in obs.code]
    return set(zip(obs.time.tolist(), obs.sat.tolist(), codes, obs.value.tolist()))


@pytest.mark.parametrize("seed_path", STRUCTURE_SEEDS, ids=[p.name for p in STRUCTURE_SEEDS])
def test_structural_mutations_never_yield_new_values_silently(tmp_path, seed_path):
    """Issue 11 item 7: a mutated file never yields values that the original did not contain
    without a warning (or an error)."""
    if not seed_path.exists():
        pytest.skip(f"seed not available: {seed_path}")
    data = _seed_bytes(seed_path, 180 if seed_path.suffix == ".rnx" else None)
    original = tmp_path / "original.rnx"
    original.write_bytes(data)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference = _value_set(read_rinex_obs(original))
    rng = random.Random(f"satnav-structure-{seed_path.name}")
    silent_new = []
    for n in range(30):
        p = tmp_path / f"s{n}.rnx"
        p.write_bytes(_structural_mutation(data, rng))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                obs = read_rinex_obs(p)
            except SatnavError:
                continue
        new = _value_set(obs) - reference
        if new and not caught:
            silent_new.append((n, sorted(new)[:3]))
    assert not silent_new, f"values not in the original, without a warning: {silent_new}"
