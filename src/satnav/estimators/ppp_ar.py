"""Integer ambiguity resolution of ionosphere-free PPP (PPP-AR): wide-lane, then narrow-lane.

With products whose satellite clocks keep the integer nature of the phase ambiguities and
the observable-specific biases (OSB) of the same analysis centre applied to codes **and**
phases (CNES/CLS GRG "integer clocks", CODE's IAR clocks and phase OSBs; Laurichesse et al.
2009, Navigation 56(2); Loyer et al. 2012, J. Geod. 86:991-1003; Schaer et al. 2021, J. Geod.
95:81; Banville et al. 2020, J. Geod. 94:10), the ambiguities of one receiver are integers up
to a receiver bias common to the satellites of a system, removed here by single differences
between satellites of a system (reference satellite: the highest one):

1. **Wide-lane** ``N_w = N_1 - N_2`` (cycles of ``lambda_WL = c / (f1 - f2)``): the
   Melbourne-Wuebbena combination (:func:`satnav.estimators.cycle_slips.melbourne_wubbena`),
   averaged over the satellite's arc (:class:`WidelaneAverages`), single-differenced and
   rounded; accepted when its fractional part and the sigma of the arc mean are small.
2. **Narrow-lane**: the float ionosphere-free ambiguity (m) of the filter is
   ``B = lambda_NL N_1 + beta N_w`` with ``lambda_NL = c / (f1 + f2)`` and
   ``beta = c f2 / (f1^2 - f2^2)`` (Ge et al. 2008, J. Geod. 82:389-399); with the
   wide-lane fixed, the single-differenced ``N_1 = (dB - beta dN_w) / lambda_NL`` and its
   covariance go to LAMBDA (:func:`satnav.estimators.lambda_ils.resolve_partial`: ratio
   test, bootstrapped success rate, partial fixing that drops the lowest satellites first).
3. The fixed single-differenced ambiguities constrain the float state (a Kalman update with
   a 1 mm sigma): the fixed solution. Ambiguities fixed to the same integers at two
   consecutive epochs may also be held in the filter itself (``hold``).

GPS and Galileo only: GLONASS (FDMA) has no common receiver bias to difference out and
stays float, as do BeiDou and QZSS here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..constants import SPEED_OF_LIGHT

__all__ = ["WidelaneAverages", "ArSettings", "ArResult", "resolve_ppp_ambiguities", "lane_factors",
           "mw_antenna_cycles", "constrained", "AR_SYSTEMS", "CANDIDATE_DTYPE"]

#: Systems whose ambiguities are resolved (CDMA with integer-clock/OSB products).
AR_SYSTEMS = "GE"

#: One single-differenced ambiguity of one epoch (:attr:`ArResult.candidates`,
#: :attr:`satnav.estimators.ppp_solution.PppSolution.ambiguities`): time (GPST ns, filled by
#: the caller), satellite and reference satellite indices, the wide-lane integer and its
#: fractional part (cycles), float narrow-lane ``N_1`` (cycles) and its sigma, fixed or not.
CANDIDATE_DTYPE = np.dtype([("time_ns", np.int64), ("sat", np.int16), ("ref", np.int16),
                            ("wl_integer", np.int32), ("wl_fraction", np.float64), ("nl_float", np.float64),
                            ("nl_sigma", np.float64),
                            ("fixed", bool)])


class WidelaneAverages:
    """Running mean of the Melbourne-Wuebbena combination (wide-lane cycles) per satellite
    arc (Welford's algorithm), restarted at cycle slips.

    ``size``: number of satellite indices (columns)."""

    def __init__(self, size: int):
        self.count = np.zeros(size, dtype=np.int64)
        self.mean = np.zeros(size)
        self._m2 = np.zeros(size)

    def restart(self, sats) -> None:
        """Start new arcs for ``sats`` (satellite indices or a bool mask over all)."""
        self.count[sats] = 0
        self.mean[sats] = 0.0
        self._m2[sats] = 0.0

    def add(self, sats, mw_cycles) -> None:
        """Add one epoch's values (NaN: no value) of satellites ``sats``."""
        sats = np.asarray(sats, dtype=np.int64)
        v = np.asarray(mw_cycles, dtype=np.float64)
        ok = np.isfinite(v)
        s, v = sats[ok], v[ok]
        n = self.count[s] + 1
        d = v - self.mean[s]
        self.mean[s] += d / n
        self._m2[s] += d * (v - self.mean[s])
        self.count[s] = n

    def estimate(self, sats, floor_cycles: float = 0.03) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(mean, sigma of the mean, count) of ``sats``: NaN mean without values; the sigma
        is the sample scatter over ``sqrt(count)`` (at least ``floor_cycles``, and 0.5/sqrt(n)
        with fewer than 3 values)."""
        sats = np.asarray(sats, dtype=np.int64)
        n = self.count[sats]
        mean = np.where(n > 0, self.mean[sats], np.nan)
        with np.errstate(invalid="ignore", divide="ignore"):
            var = np.where(n > 2, self._m2[sats] / np.maximum(n - 1, 1), 0.25)
            sigma = np.maximum(np.sqrt(var / np.maximum(n, 1)), floor_cycles)
        return mean, sigma, n


@dataclass(frozen=True)
class ArSettings:
    """Thresholds of the resolution (plain data; from :class:`satnav.estimators.ppp.PppOptions`).

    ``min_elevation_rad`` of the satellites whose ambiguities are fixed; ``wl_min_epochs``
    Melbourne-Wuebbena values in the arc; ``wl_max_fraction`` (cycles) and
    ``wl_max_sigma`` (cycles) of the single-differenced wide-lane; ``ratio`` of the LAMBDA
    ratio test; ``success_rate`` the least bootstrapped success rate; ``nl_max_fraction``
    (cycles) the largest distance of a fixed narrow-lane float value from its integer (those
    farther are left float and the rest resolved again); ``min_count`` fewest narrow-lane
    ambiguities fixed; ``constraint_sigma_m`` of the fixed ambiguities."""

    min_elevation_rad: float = np.radians(15.0)
    wl_min_epochs: int = 10
    wl_max_fraction: float = 0.25
    wl_max_sigma: float = 0.10
    ratio: float = 3.0
    success_rate: float = 0.99
    nl_max_fraction: float = 0.15
    min_count: int = 5
    constraint_sigma_m: float = 0.001


@dataclass
class ArResult:
    """Outcome of one epoch's resolution.

    ``fixed``: a narrow-lane set passed validation; ``x``, ``P`` the fixed state and
    covariance (the float ones when not fixed); ``n_fixed`` narrow-lane ambiguities fixed
    (single differences); ``n_widelane`` wide-lanes fixed; ``ratio`` of the accepted (or
    last tried) subset; ``success_rate``; ``pairs`` ``(sat, reference, N_w, N_1)`` of the
    fixed single differences; ``wl_fractions`` the fractional parts of the accepted
    wide-lanes (cycles); ``rows``/``values`` the constraints (state-space rows of +1/-1 on
    the ionosphere-free ambiguities and their fixed values, m); ``candidates`` a record
    array (:data:`CANDIDATE_DTYPE`) of every single difference whose wide-lane was fixed:
    satellite, reference, wide-lane fraction, float narrow-lane (cycles), its sigma, and
    whether it was fixed."""

    fixed: bool
    x: np.ndarray
    P: np.ndarray
    n_fixed: int = 0
    n_widelane: int = 0
    ratio: float = 0.0
    success_rate: float = float("nan")
    pairs: list = field(default_factory=list)
    wl_fractions: np.ndarray = field(default_factory=lambda: np.zeros(0))
    rows: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    values: np.ndarray = field(default_factory=lambda: np.zeros(0))
    candidates: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=CANDIDATE_DTYPE))


def lane_factors(f1_hz, f2_hz) -> tuple[np.ndarray, np.ndarray]:
    """(``lambda_NL``, ``beta``) in metres: ``B_IF = lambda_NL N_1 + beta N_w``."""
    f1 = np.asarray(f1_hz, dtype=np.float64)
    f2 = np.asarray(f2_hz, dtype=np.float64)
    return SPEED_OF_LIGHT / (f1 + f2), SPEED_OF_LIGHT * f2 / (f1**2 - f2**2)


def mw_antenna_cycles(z1_m, z2_m, f1_hz, f2_hz, cos_nadir: float = 0.985) -> np.ndarray:
    """Melbourne-Wuebbena term (wide-lane cycles) of satellite antenna z offsets ``z1_m``,
    ``z2_m`` on the two frequencies: each shortens its range by ``z cos(nadir)``; the
    phase part ``(f1 d1 - f2 d2) / (f1 - f2)`` minus the code part ``(f1 d1 + f2 d2) / (f1 + f2)``
    over ``lambda_WL``. Zero for equal offsets."""
    f1 = np.asarray(f1_hz, dtype=np.float64)
    f2 = np.asarray(f2_hz, dtype=np.float64)
    d1 = -cos_nadir * np.asarray(z1_m, dtype=np.float64)
    d2 = -cos_nadir * np.asarray(z2_m, dtype=np.float64)
    lam_wl = SPEED_OF_LIGHT / (f1 - f2)
    return ((f1 * d1 - f2 * d2) / (f1 - f2) - (f1 * d1 + f2 * d2) / (f1 + f2)) / lam_wl


def constrained(x, P, rows, values, sigma_m: float):
    """The state ``x`` (n,), ``P`` (n, n) updated with ``rows @ x = values`` (sigma
    ``sigma_m``): a Kalman measurement update."""
    from .kalman import update

    v = values - rows @ x
    x2, P2, _S = update(x, P, v, rows, np.eye(len(values)) * sigma_m**2)
    return x2, P2


def resolve_ppp_ambiguities(x, P, amb_index, sats, letters, f1_hz, f2_hz, elevation_rad, wl_mean, wl_sigma,
                            wl_count, settings: ArSettings, warm=None) -> ArResult:
    """Wide-lane and narrow-lane resolution of one epoch.

    Parameters
    ----------
    x, P : ndarray (n,), (n, n)
        Float filter state and covariance (the ionosphere-free ambiguities in m).
    amb_index : ndarray int (k,)
        State index of each satellite's ambiguity.
    sats, letters, f1_hz, f2_hz, elevation_rad : ndarray (k,)
        The satellites, their systems, carrier frequencies (Hz) and elevations.
    wl_mean, wl_sigma, wl_count : ndarray (k,)
        Arc means of the Melbourne-Wuebbena combination with satellite biases removed
        (cycles, NaN where not usable, e.g. no phase bias), their sigmas and counts.
    settings : ArSettings
    warm : dict, optional
        Z-transformations kept between epochs (:func:`~satnav.estimators.lambda_ils.resolve_partial`).
    """
    from .lambda_ils import resolve_partial

    sats = np.asarray(sats, dtype=np.int64)
    amb_index = np.asarray(amb_index, dtype=np.int64)
    el = np.asarray(elevation_rad, dtype=np.float64)
    lam_nl, beta = lane_factors(f1_hz, f2_hz)
    usable = (np.isin(letters, list(AR_SYSTEMS)) & np.isfinite(wl_mean) & (wl_count >= settings.wl_min_epochs)
              & (el >= settings.min_elevation_rad) & np.isfinite(lam_nl))
    pairs = []  # (i, ref, Nw, fraction)
    for letter in AR_SYSTEMS:
        cand = np.flatnonzero(usable & (letters == letter))
        if len(cand) < 2:
            continue
        good = cand[wl_sigma[cand] <= settings.wl_max_sigma]
        if not len(good):
            continue
        ref = int(good[np.argmax(el[good])])
        for i in cand.tolist():
            if i == ref:
                continue
            d = wl_mean[i] - wl_mean[ref]
            nw = float(np.round(d))
            frac = d - nw
            if abs(frac) <= settings.wl_max_fraction and np.hypot(wl_sigma[i], wl_sigma[ref]) <= settings.wl_max_sigma:
                pairs.append((i, ref, nw, frac))
    result = ArResult(False, x, P, n_widelane=len(pairs))
    if len(pairs) < settings.min_count:
        return result
    q = len(pairs)
    D = np.zeros((q, len(x)))
    a = np.zeros(q)
    for r, (i, ref, nw, _frac) in enumerate(pairs):
        D[r, amb_index[i]] = 1.0
        D[r, amb_index[ref]] = -1.0
        a[r] = (x[amb_index[i]] - x[amb_index[ref]] - beta[i] * nw) / lam_nl[i]
    scale = 1.0 / lam_nl[[p[0] for p in pairs]]
    Q = (D * scale[:, None]) @ P @ (D * scale[:, None]).T
    cand = np.zeros(q, dtype=CANDIDATE_DTYPE)
    cand["sat"] = [sats[p[0]] for p in pairs]
    cand["ref"] = [sats[p[1]] for p in pairs]
    cand["wl_integer"] = [p[2] for p in pairs]
    cand["wl_fraction"] = [p[3] for p in pairs]
    cand["nl_float"] = a
    cand["nl_sigma"] = np.sqrt(np.maximum(np.diag(Q), 0.0))
    result.candidates = cand
    keep = np.arange(q)
    for _ in range(3):  # fix; leave float those too far from their integer; fix the rest again
        sub_el = np.array([el[pairs[r][0]] for r in keep])
        fix = resolve_partial(a[keep], Q[np.ix_(keep, keep)], ratio_threshold=settings.ratio,
                              min_count=settings.min_count, drop_order=np.argsort(sub_el),
                              success_rate_min=settings.success_rate, warm=warm if len(keep) == q else None)
        result.ratio = float(fix.ratio) if np.isfinite(fix.ratio) else 0.0
        if not fix.fixed:
            return result
        far = fix.used & (np.abs(a[keep] - fix.integers) > settings.nl_max_fraction)
        if not far.any():
            break
        keep = keep[~far]
        if len(keep) < settings.min_count:
            result.ratio = 0.0
            return result
    else:
        result.ratio = 0.0
        return result
    integers = np.zeros(q, dtype=np.int64)
    integers[keep] = fix.integers
    used = keep[fix.used]
    rows = D[used]
    values = np.array([lam_nl[pairs[r][0]] * integers[r] + beta[pairs[r][0]] * pairs[r][2] for r in used])
    x_fix, P_fix = constrained(x, P, rows, values, settings.constraint_sigma_m)
    result.fixed = True
    cand["fixed"][used] = True
    result.x, result.P = x_fix, P_fix
    result.n_fixed = len(used)
    result.success_rate = float(fix.success_rate)
    result.pairs = [(int(sats[pairs[r][0]]), int(sats[pairs[r][1]]), int(pairs[r][2]), int(integers[r]))
                    for r in used]
    result.wl_fractions = np.array([pairs[r][3] for r in used])
    result.rows, result.values = rows, values
    return result
