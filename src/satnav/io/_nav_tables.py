"""Tables shared by the broadcast-ephemeris decoders (UBX subframes, RTCM 3 messages).

Sources: IS-GPS-200 20.3.3.3.1.3 (URA index -> nominal URA) and table 20-III (pi for
semicircles); Galileo OS SIS ICD 5.1.12 (SISA index -> metres). BeiDou URAI uses the same
nominal table (as RINEX navigation files write BeiDou accuracy).
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["SEMICIRCLE_RAD", "URA_NOMINAL_M", "ura_m", "sisa_m"]

#: Semicircles -> radians (IS-GPS-200 uses pi = 3.1415926535898).
SEMICIRCLE_RAD = math.pi
#: IS-GPS-200 20.3.3.3.1.3: nominal URA (m) of URA index N (15: no accuracy prediction).
URA_NOMINAL_M = (2.0, 2.8, 4.0, 5.7, 8.0, 11.3, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0,
                 1024.0, 2048.0, 4096.0, math.nan)  # fmt: skip


def ura_m(index):
    """GPS/QZSS/NavIC URA index (0..15) -> nominal URA (m), NaN for 15; float64 array."""
    return np.asarray(URA_NOMINAL_M)[np.clip(np.asarray(index, np.int64), 0, 15)]


def sisa_m(index):
    """Galileo SISA index (0..255) -> metres (Galileo OS SIS ICD 5.1.12); NaN for 126-255
    (spare, or no accuracy prediction available)."""
    x = np.asarray(index, np.float64)
    out = np.select(
        [x < 50, x < 75, x < 100, x < 126],
        [x * 0.01, 0.5 + (x - 50) * 0.02, 1.0 + (x - 75) * 0.04, 2.0 + (x - 100) * 0.16],
        np.nan,
    )
    return out if out.ndim else float(out)
