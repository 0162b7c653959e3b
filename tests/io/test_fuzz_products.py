"""Seeded mutation fuzzing of the product and phone readers (issue 11, item 7).

Seeds: an SP3 and a RINEX clock file of the robustness cases, a GSDC ``device_gnss.csv``, a
GnssLogger log and a GSDC 2021 ``*_derived.csv`` (cut short to keep the run fast), each also
wrapped in gzip and zip, the containers themselves mutated too. Mutations: flipped and
inserted bytes (non-ASCII and control characters included), deleted, duplicated and swapped
lines, numbers replaced by extreme texts (1e300, nan, inf, -999999.999999, 20-digit
integers), truncation. Each target runs for ``SATNAV_FUZZ_SECONDS`` (default 0.6 s) from a
fixed seed (``SATNAV_FUZZ_SEED``, default 11).

Asserted: only satnav's own exceptions (:class:`~satnav.errors.SatnavError`) escape the
readers and ``satnav info``'s :func:`~satnav.info.file_info`; nothing hangs (each target
is bounded in time and every input is a few tens of kB).
"""

from __future__ import annotations

import gzip
import io
import os
import random
import re
import time
import warnings
import zipfile
from pathlib import Path

import pytest

from satnav.errors import SatnavError
from satnav.info import file_info
from tests.conftest import DATA, REPO

CASES = Path(os.environ.get("SATNAV_CASES", REPO.parent / "shared" / "cases"))
SECONDS = float(os.environ.get("SATNAV_FUZZ_SECONDS", "0.6"))
SEED = int(os.environ.get("SATNAV_FUZZ_SEED", "11"))

_EXTREMES = [b"1e300", b"-1e300", b"nan", b"inf", b"-inf", b"999999.999999", b"-999999.999999",
             b"99999999999999999999", b"-0", b"0x1F", b"", b"1.2.3", b"\xff\xfe"]
_NUMBER = re.compile(rb"-?\d+(?:\.\d+)?(?:[eEdD][-+]?\d+)?")


def _seed_text(kind: str) -> bytes | None:
    paths = {
        "sp3": CASES / "robustness" / "11_sp3_satcount_strict.sp3",
        "clk": CASES / "robustness" / "08_clk_bias_999999.clk",
        "gsdc": DATA / "android-gsdc2023-pixel7pro" / "device_gnss.csv",
        "gnsslogger": DATA / "android-gsdc2023-pixel7pro" / "gnss_log.txt",
        "derived": DATA / "android-gsdc2021-pixel4xl" / "Pixel4XL_derived.csv.gz",
    }
    p = paths[kind]
    if not p.exists():
        return None
    data = p.read_bytes()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    lines = data.splitlines(keepends=True)
    keep = {"sp3": 120, "clk": 320, "gsdc": 60, "gnsslogger": 140, "derived": 80}[kind]
    return b"".join(lines[:keep])


def _mutate(data: bytes, rng: random.Random) -> bytes:
    buf = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        if not buf:
            break
        op = rng.randrange(8)
        pos = rng.randrange(len(buf))
        if op == 0:  # flip a byte
            buf[pos] = rng.randrange(256)
        elif op == 1:  # insert odd bytes
            buf[pos:pos] = bytes(rng.choice([0, 9, 13, 27, 0x7F, 0xC3, 0xFF, 44, 32, 10]) for _ in range(rng.randint(1, 5)))
        elif op == 2:  # delete a range
            del buf[pos : pos + rng.randint(1, 200)]
        elif op == 3:  # truncate
            del buf[pos:]
        else:
            lines = bytes(buf).split(b"\n")
            i, j = rng.randrange(len(lines)), rng.randrange(len(lines))
            if op == 4:
                lines.insert(i, lines[j])
            elif op == 5:
                lines[i], lines[j] = lines[j], lines[i]
            elif op == 6:
                del lines[i]
            else:  # a number becomes an extreme text
                nums = list(_NUMBER.finditer(lines[i]))
                if nums:
                    m = rng.choice(nums)
                    lines[i] = lines[i][: m.start()] + rng.choice(_EXTREMES) + lines[i][m.end() :]
            buf = bytearray(b"\n".join(lines))
    return bytes(buf)


def _wrap(data: bytes, how: str, rng: random.Random) -> bytes:
    if how == "gz":
        out = gzip.compress(data, mtime=0)
    elif how == "zip":
        mem = io.BytesIO()
        with zipfile.ZipFile(mem, "w", zipfile.ZIP_DEFLATED) as zf:
            zf.writestr("member.txt", data)
        out = mem.getvalue()
    else:
        return data
    if rng.random() < 0.5:  # damage the container itself
        out = _mutate(out, rng) if rng.random() < 0.5 else out[: rng.randrange(1, len(out))]
    return out


def _readers(kind: str):
    from satnav.io import android
    from satnav.io.clk import read_clk
    from satnav.io.sp3 import read_sp3

    return {
        "sp3": [read_sp3],
        "clk": [read_clk],
        "gsdc": [android.read_gsdc_csv, android.read_gsdc_satellite_states],
        "gnsslogger": [android.read_gnsslogger],
        "derived": [android.read_gsdc_derived, android.gsdc_states],
    }[kind] + [file_info]


@pytest.mark.parametrize("kind", ["sp3", "clk", "gsdc", "gnsslogger", "derived"])
def test_mutated_files_raise_only_satnav_errors(kind, tmp_path):
    seed = _seed_text(kind)
    if seed is None:
        pytest.skip(f"seed file for {kind} not available")
    rng = random.Random(f"{SEED}-{kind}")
    suffix = {"sp3": ".sp3", "clk": ".clk", "gsdc": ".csv", "gnsslogger": ".txt", "derived": ".csv"}[kind]
    readers = _readers(kind)
    deadline = time.monotonic() + SECONDS
    runs = 0
    while time.monotonic() < deadline or runs < 10:
        how = rng.choice(["plain", "plain", "gz", "zip"])
        data = _wrap(_mutate(seed, rng), how, rng)
        path = tmp_path / f"fuzz{runs}{suffix}"
        path.write_bytes(data)
        for read in readers:
            t0 = time.monotonic()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                try:
                    read(path)
                except SatnavError:
                    pass
                except Exception as exc:  # noqa: BLE001 - the point of the test
                    keep = tmp_path.parent / f"fuzz-failure-{kind}{suffix}"
                    keep.write_bytes(data)
                    raise AssertionError(
                        f"{read.__name__} raised {type(exc).__name__}: {exc} on a mutated {kind} file "
                        f"({how}, kept as {keep})") from exc
            assert time.monotonic() - t0 < 10, f"{read.__name__} took too long on a mutated {kind} file"
        path.unlink()
        runs += 1
    assert runs >= 10
