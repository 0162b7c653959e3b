"""What every benchmark shares: where the data is and how a time is taken."""

from __future__ import annotations

import os
import time
from pathlib import Path

#: $SATNAV_DATA, default ../shared/data beside the repository.
DATA = Path(os.environ.get("SATNAV_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))


def steal_ms() -> float:
    """CPU time this (virtual) machine lost to its host so far, all cores (ms; the ``steal``
    column of ``/proc/stat``; 0 where there is none): the difference over a run says how
    much of the machine was taken away while it ran."""
    try:
        with open("/proc/stat") as fh:
            fields = fh.readline().split()
        return int(fields[8]) * 1000.0 / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def best_of(fn, repeat: int):
    """(best wall time in s over ``repeat`` calls, the last call's result)."""
    best, out = float("inf"), None
    for _ in range(max(1, repeat)):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def bor1_integer_clock_products() -> dict:
    """BOR1 2024-035's integer-clock product sets by analysis centre (PPP-AR benches): GRG's 5-min
    SP3 + OSB, CODE's three 5-min SP3 (days 034-036, clocks inside) + OSB."""
    b = DATA / "bor1-2024-035"
    return {"GRG": [b / "GRG0MGXFIN_20240350000_01D_05M_ORB.SP3.gz", b / "GRG0MGXFIN_20240350000_01D_01D_OSB.BIA"],
            "COD": [b / f"COD0OPSFIN_2024{d}0000_01D_05M_ORB.SP3.gz" for d in ("034", "035", "036")]
            + [b / "COD0OPSFIN_20240350000_01D_01D_OSB.BIA.gz"]}
