"""Benchmark: ``satnav.dynamics`` orbit fits to IGS final orbits (issue 15's real-data check).

For each SP3 file (GRG 2020-177, CODE 2024-035) and each case (24 h fit; 18 h fit + 6 h
prediction), all GPS, GLONASS and Galileo satellites are fitted in one call of
:func:`satnav.dynamics.orbit_fit.fit_sp3`; printed: satellites, worst and median fit RMS,
worst and median prediction RMS, wall and CPU time. The load average is printed: the machine
is shared.

Usage: ``python bench/fit.py`` (data from $SATNAV_DATA; run from the repository root with
``PYTHONPATH=src``).
"""

from __future__ import annotations

import os
import resource
import time

import numpy as np

from common import DATA
from satnav.dynamics.orbit_fit import fit_sp3
from satnav.io.sp3 import read_sp3

FILES = (("GRG 2020-177", "esbc-2020-177/GRG0MGXFIN_20201770000_01D_15M_ORB.SP3.gz"),
         ("CODE 2024-035", "bor1-2024-035/COD0OPSFIN_20240350000_01D_05M_ORB.SP3.gz"))


def main() -> None:
    print(f"load average at start: {os.getloadavg()}")
    for name, rel in FILES:
        sp3 = read_sp3(DATA / rel)
        for hours in (0.0, 6.0):
            cpu0 = resource.getrusage(resource.RUSAGE_SELF).ru_utime
            t0 = time.perf_counter()
            res = fit_sp3(sp3, systems="GRE", predict_hours=hours)
            wall = time.perf_counter() - t0
            cpu = resource.getrusage(resource.RUSAGE_SELF).ru_utime - cpu0
            fit = np.array([r.fit_rms_m for r in res])
            line = (f"{name} fit {24 - hours:.0f} h: {len(res)} satellites "
                    f"({''.join(sorted({r.satellite[0] for r in res}))}), fit RMS max {fit.max():.4f} m "
                    f"median {np.median(fit):.4f} m")
            if hours:
                pred = np.array([r.prediction_rms_m for r in res])
                worst = res[int(np.argmax(pred))].satellite
                line += f"; prediction {hours:.0f} h RMS max {pred.max():.3f} m ({worst}) median {np.median(pred):.3f} m"
            print(f"{line}; wall {wall:.1f} s, CPU {cpu:.1f} s", flush=True)
    print(f"load average at end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
