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
