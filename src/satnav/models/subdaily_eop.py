"""Diurnal and semidiurnal variations of the Earth orientation parameters from ocean tides.

The IERS Conventions (2010) sec. 8.2 model (class 1) in its orthoweight form: R. Eanes'
ORTHO_EOP (IERS Conventions software, 1997), Ray, Steinberg, Chao & Cartwright (1994, Science
264:830) ocean-tide model expressed through 12 orthoweights per parameter applied to the
orthotide functions of the second-degree tidal potential; the potential is the sum of the 71
diurnal and semidiurnal Cartwright-Tayler-Edden lines below (n = 2, order m, amplitude,
phase at MJD 37076.5 (rad), frequency (rad/day)). Amplitudes reach ~0.5 mas in polar motion
and ~50 microseconds in UT1, i.e. centimetres at GNSS altitude: precise orbits (IGS) are
expressed with them.

Time: the model's MJD in TT. Outputs: polar motion (rad) and UT1 (s).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

__all__ = ["subdaily_eop", "ortho_eop"]

# order m, amplitude, phase (rad), frequency (rad/day) of the 71 tidal lines (ORTHO_EOP)
_LINES = """
1 -1.94 9.0899831 5.18688050|1 -1.25 8.8234208 5.38346657|1 -6.64 12.1189598 5.38439079
1 -1.51 1.4425700 5.41398343|1 -8.02 4.7381090 5.41490765|1 -9.47 4.4715466 5.61149372
1 -50.20 7.7670857 5.61241794|1 -1.80 -2.9093042 5.64201057|1 -9.54 0.3862349 5.64293479
1 1.52 -3.1758666 5.83859664|1 -49.45 0.1196725 5.83952086|1 -262.21 3.4152116 5.84044508
1 1.70 12.8946194 5.84433381|1 3.43 5.5137686 5.87485066|1 1.94 6.4441883 6.03795537
1 1.37 -4.2322016 6.06754801|1 7.41 -0.9366625 6.06847223|1 20.62 8.5427453 6.07236095
1 4.14 11.8382843 6.07328517|1 3.94 1.1618945 6.10287781|1 -7.14 5.9693878 6.24878055
1 1.37 -1.2032249 6.26505830|1 -122.03 2.0923141 6.26598252|1 1.02 -1.7847596 6.28318449
1 2.89 8.0679449 6.28318613|1 -7.30 0.8953321 6.29946388|1 368.78 4.1908712 6.30038810
1 50.01 7.4864102 6.30131232|1 -1.08 10.7819493 6.30223654|1 2.93 0.3137975 6.31759007
1 5.25 6.2894282 6.33479368|1 3.95 7.2198478 6.49789839|1 20.62 -0.1610030 6.52841524
1 4.09 3.1345361 6.52933946|1 3.42 2.8679737 6.72592553|1 1.69 -4.5128771 6.75644239
1 11.29 4.9665307 6.76033111|1 7.23 8.2620698 6.76125533|1 1.51 11.5576089 6.76217955
1 2.16 0.6146566 6.98835826|1 1.38 3.9101957 6.98928248|2 1.80 20.6617051 11.45675174
2 4.67 13.2808543 11.48726860|2 16.01 16.3098310 11.68477889|2 19.32 8.9289802 11.71529575
2 1.30 5.0519065 11.73249771|2 -1.02 15.8350306 11.89560406|2 -4.51 8.6624178 11.91188181
2 120.99 11.9579569 11.91280603|2 1.13 8.0808832 11.93000800|2 22.98 4.5771061 11.94332289
2 1.06 0.7000324 11.96052486|2 -1.90 14.9869335 12.11031632|2 -2.18 11.4831564 12.12363121
2 -23.58 4.3105437 12.13990896|2 631.92 7.6060827 12.14083318|2 1.92 3.7290090 12.15803515
2 -4.66 10.6350594 12.33834347|2 -17.86 3.2542086 12.36886033|2 4.47 12.7336164 12.37274905
2 1.97 16.0291555 12.37367327|2 17.20 10.1602590 12.54916865|2 294.00 6.2831853 12.56637061
2 -2.46 2.4061116 12.58357258|2 -1.02 5.0862033 12.59985198|2 79.96 8.3817423 12.60077620
2 23.83 11.6772814 12.60170041|2 2.59 14.9728205 12.60262463|2 4.47 4.0298682 12.82880334
2 1.95 7.3254073 12.82972756|2 1.17 9.1574019 13.06071921
"""

#: Orthoweights (12 per parameter): x_p and y_p in microarcseconds, UT1 in microseconds.
_ORTHOWEIGHTS = np.array([
    [-6.77832, -14.86323, 0.47884, -1.45303, 0.16406, 0.42030,
     0.09398, 25.73054, -4.77974, 0.28080, 1.94539, -0.73089],
    [14.86283, -6.77846, 1.45234, 0.47888, -0.42056, 0.16469,
     15.30276, -4.30615, 0.07564, 2.28321, -0.45717, -1.62010],
    [-1.76335, 1.03364, -0.27553, 0.34569, -0.12343, -0.10146,
     -0.47119, 1.28997, -0.19336, 0.02724, 0.08955, 0.04726],
])
#: Orthotide weight factors, per order m = 1, 2.
_SP = np.array([[0.0298, 0.1408, 0.0805, 0.6002, 0.3025, 0.1517],
                [0.0200, 0.0905, 0.0638, 0.3476, 0.1645, 0.0923]])
_MJD_1960 = 37076.5
_SPACING_DAYS = 2.0
_MAS_PER_RAD = 180.0 * 3600.0 * 1000.0 / np.pi


@lru_cache(maxsize=1)
def _lines() -> np.ndarray:
    rows = [r.split() for r in _LINES.replace("\n", "|").split("|") if r.strip()]
    return np.array(rows, dtype=np.float64)


def subdaily_eop(mjd_tt) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(dx_p, dy_p (rad), dUT1 (s)) ocean-tide variations at Modified Julian Dates (TT;
    :func:`satnav.models.earth_orientation.eop_at` passes GPST instants converted)."""
    eop = ortho_eop(mjd_tt)
    return eop[:, 0] * 1e-3 / _MAS_PER_RAD, eop[:, 1] * 1e-3 / _MAS_PER_RAD, eop[:, 2] * 1e-6


def ortho_eop(mjd) -> np.ndarray:
    """(n, 3): dx_p, dy_p (microarcseconds), dUT1 (microseconds) at Modified Julian Dates
    (TT), as the IERS routine ORTHO_EOP defines them."""
    mjd = np.atleast_1d(np.asarray(mjd, dtype=np.float64))
    lines = _lines()
    order, amp, phase, freq = lines.T
    shift = np.where(order % 2 == 1, np.pi / 2, 0.0)  # mod(n + m, 2) * 2 pi / 4 with n = 2
    a = {}
    b = {}
    for k in (-1, 0, 1):
        alpha = phase + freq * ((mjd[:, None] - k * _SPACING_DAYS) - _MJD_1960) - shift
        for m in (1, 2):
            sel = order == m
            a[m, k] = np.sum(amp[sel] * np.cos(alpha[:, sel]), axis=1)
            b[m, k] = -np.sum(amp[sel] * np.sin(alpha[:, sel]), axis=1)
    h = []
    for m in (1, 2):
        sp = _SP[m - 1]
        ap, am = a[m, 1] + a[m, -1], a[m, 1] - a[m, -1]
        bp, bm = b[m, 1] + b[m, -1], b[m, 1] - b[m, -1]
        p = (sp[0] * a[m, 0], sp[1] * a[m, 0] - sp[2] * ap, sp[3] * a[m, 0] - sp[4] * ap + sp[5] * bm)
        q = (sp[0] * b[m, 0], sp[1] * b[m, 0] - sp[2] * bp, sp[3] * b[m, 0] - sp[4] * bp - sp[5] * am)
        for i in range(3):
            h += [p[i], q[i]]
    return np.stack(h, axis=-1) @ _ORTHOWEIGHTS.T
