"""Shared test fixtures: where the real data lives ($SATNAV_DATA, default ../shared/data)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("SATNAV_DATA", REPO.parent / "shared" / "data"))


def data_path(*parts) -> Path:
    """Path under the shared data folder; skips the test when it is absent."""
    p = DATA.joinpath(*parts)
    if not p.exists():
        pytest.skip(f"data not available: {p}")
    return p


def assert_agree(want, got, err_msg: str = "", **tolerance) -> None:
    """``got`` (a compiled kernel's) is ``want`` (the NumPy path's) to the rounding of the
    elementary functions (:func:`satnav._jit.agree`: bit for bit where NumPy's are the C
    library's; NumPy's AVX-512 loops differ in the last bit); the largest difference in the
    message otherwise."""
    import numpy as np

    from satnav._jit import agree

    if agree(want, got, **tolerance):
        return
    a, b = np.asarray(want), np.asarray(got)
    detail = f"shapes {a.shape} {b.shape}, dtypes {a.dtype} {b.dtype}"
    if a.shape == b.shape and a.dtype.kind in "fc" and b.dtype.kind in "fc":
        d = np.abs(np.asarray(b, float) - np.asarray(a, float))
        detail += f", largest difference {np.nanmax(d) if np.isfinite(d).any() else 'NaN'} of values up to {np.nanmax(np.abs(a))}"
    raise AssertionError(f"{err_msg}: not the same to rounding ({detail})")


@pytest.fixture(scope="session")
def data_dir() -> Path:
    if not DATA.exists():
        pytest.skip(f"SATNAV_DATA not found: {DATA}")
    return DATA


@pytest.fixture(scope="module")
def esbc_day():
    """(observations, navigation) of the ESBC day (esbc-2020-177: 30 s, all systems), read
    once per test module."""
    import satnav

    d = data_path("esbc-2020-177")
    obs = satnav.read_obs(d / "ESBC00DNK_R_20201770000_01D_30S_MO.crx.gz")
    nav = satnav.read_nav(d / "ESBC00DNK_R_20201770000_01D_MN.rnx.gz")
    return obs, nav


@pytest.fixture(scope="session")
def rtklib_encode(tmp_path_factory):
    """``encode(ubx_log, messages)``: the RTCM 3 file that RTKLIB 2.4.3's ``str2str`` encodes
    from a UBX log of ``ubx/`` (``messages`` its ``-msg`` list): a receiver stream from an
    encoder nobody here wrote, with its lock times, the phases it leaves out and its
    ephemeris repetitions. Skips without str2str."""
    import gzip
    import shutil
    import subprocess
    import time

    str2str = shutil.which("str2str")
    if str2str is None:
        pytest.skip("RTKLIB str2str not installed")
    work = tmp_path_factory.mktemp("rtklib_encoded")
    made: dict = {}

    def encode(ubx_log: str, messages: str) -> Path:
        if (ubx_log, messages) in made:
            return made[ubx_log, messages]
        ubx = work / ubx_log.replace(".gz", "")
        if not ubx.exists():
            ubx.write_bytes(gzip.decompress(data_path("ubx", ubx_log).read_bytes()))
        out = work / f"{ubx.stem}-{len(made)}.rtcm3"
        # str2str keeps a file input open at its end: stopped once its output stops growing
        proc = subprocess.Popen([str2str, "-in", f"file://{ubx}#ubx", "-out", f"file://{out}#rtcm3",
                                 "-msg", messages], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        size, steady, deadline = -1, 0, time.monotonic() + 60
        while steady < 4 and time.monotonic() < deadline:
            time.sleep(0.25)
            now = out.stat().st_size if out.exists() else -1
            steady = steady + 1 if now == size and now > 0 else 0
            size = now
        proc.terminate()
        proc.wait(timeout=10)
        if size < 50_000:
            pytest.fail(f"str2str wrote {size} bytes of RTCM 3")
        made[ubx_log, messages] = out
        return out

    return encode


@pytest.fixture(scope="session")
def rtklib_msm7_log(rtklib_encode) -> Path:
    """MSM7 (GPS, GLONASS: none tracked, Galileo, BeiDou) of the F9T log (ubx/F9T-L2-5min,
    2025-08-11), by :func:`rtklib_encode`."""
    return rtklib_encode("F9T-L2-5min.ubx.gz", "1077,1087,1097,1127")


def _is_device(path: str) -> bool:
    import stat

    try:
        return stat.S_ISCHR(os.stat(path).st_mode)
    except OSError:
        return False


@pytest.fixture(scope="session", autouse=True)
def _special_files_survive():
    """Outputs never destroy inputs, nor the system's special files: a writer that renamed a
    temporary file over ``/dev/null`` would turn it into a regular file for the whole machine.
    Fails the run if any test left ``/dev/null`` or ``/dev/full`` not a character device."""
    before = {p: _is_device(p) for p in ("/dev/null", "/dev/full")}
    yield
    broken = [p for p, was in before.items() if was and not _is_device(p)]
    assert not broken, f"a test replaced {broken} with a regular file"
