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
