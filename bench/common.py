"""What every benchmark shares: where the data is and how a time is taken."""

from __future__ import annotations

import os
import time
from pathlib import Path

#: $SATNAV_DATA, default ../shared/data beside the repository.
DATA = Path(os.environ.get("SATNAV_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))


def best_of(fn, repeat: int):
    """(best wall time in s over ``repeat`` calls, the last call's result)."""
    best, out = float("inf"), None
    for _ in range(max(1, repeat)):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out
