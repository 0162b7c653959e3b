"""Time links of a designed system: the offsets of its system time (the master station's
hydrogen maser) to GPST, to GLONASS time (GLONASST = UTC(SU) + 3 h) and to UTC, estimated
from the monitoring data as Galileo estimates GGTO, and broadcast; and users that combine
GPS or GLONASS with the designed system through those offsets instead of an inter-system
clock unknown.

Convention (RINEX 3.05 ``TIME SYSTEM CORR``, RINEX 4 ``STO``): the code ``XXYY`` is the
fractional offset ``XX - YY`` in seconds (integer leap seconds and GLONASS's 3 h excluded),
broadcast as ``a0 + a1 (t - t_ref)``; the designed system takes NavIC's letters (``IR``):

=======  =====================================  =============================================
code     offset                                 estimated from
=======  =====================================  =============================================
IRGP     system time - GPST                     the master's GPS code, GPS broadcast clocks
IRGL     system time - GLONASST                 the master's GLONASS code, GLONASS clocks
         (internal: broadcast as IRGP - GLGP)
GLGP     GLONASST - GPST (GLONASS's -tau_GPS)   IRGP - IRGL (the ground's own estimate)
IRUT     system time - UTC                      IRGP + GPUT (GPS's broadcast UTC parameters)
GPUT     GPST - UTC (relayed from GPS)          GPS's navigation message
GLUT     GLONASST - UTC(SU) (-tau_c)            GLGP + GPUT (UTC(SU) taken as UTC)
=======  =====================================  =============================================

The truth: GPST is the ideal time scale of the truth world; GLONASST - GPST and GPST - UTC
are lines of representative size (:data:`GLONASST_MINUS_GPST`, :data:`GPST_MINUS_UTC`:
tens of ns drifting a few ns a day, GLONASS's published tau_GPS and GPS's A0 are of this
order); GPS and GLONASS satellites' broadcast clocks err by a constant per satellite
(:data:`BROADCAST_CLOCK_SIGMA_M`: GPS ~0.5 m, GLONASS ~1.5 m SISRE). The GPS and GLONASS
orbits are satnav's built-in designed constellations (:mod:`satnav.constellation.design`,
:mod:`satnav.constellation.propagate`): the link needs their geometry and time scales, not
their real orbits. Troposphere is left out of both the simulation and the estimate (common
to both solutions of the user test).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...constants import SPEED_OF_LIGHT
from ...gnss_time import NS_PER_S

__all__ = ["TimeOffset", "TimeLinks", "estimate_time_links", "links_in_force", "combined_user_accuracy",
           "GLONASST_MINUS_GPST", "GPST_MINUS_UTC", "BROADCAST_CLOCK_SIGMA_M", "BROADCAST_CODES"]

#: Truth: GLONASST - GPST (fractional): (s at the start, s/s).
GLONASST_MINUS_GPST = (42e-9, 3e-9 / 86400.0)
#: Truth: GPST - UTC - leap seconds: (s at the start, s/s); GPS broadcasts it (GPUT) to
#: ``GPUT_BROADCAST_ERROR_S``.
GPST_MINUS_UTC = (4e-9, 0.5e-9 / 86400.0)
GPUT_BROADCAST_ERROR_S = 1e-9
#: Per-satellite constant error (m) of the partner systems' broadcast clocks.
BROADCAST_CLOCK_SIGMA_M = {"gps": 0.5, "glonass": 1.5}
#: The codes written into the navigation file, in order.
BROADCAST_CODES = ("IRGP", "IRUT", "GLGP", "GPUT", "GLUT")


@dataclass(frozen=True)
class TimeOffset:
    """One broadcast offset ``a0_s + a1 * (t - t_ref_ns)`` (s) and its RMS (s) against the
    truth over the fitted span."""

    a0_s: float
    a1: float
    t_ref_ns: int
    rms_vs_truth_s: float

    def at(self, time_ns) -> np.ndarray:
        return self.a0_s + self.a1 * (np.asarray(time_ns, dtype=np.int64) - self.t_ref_ns) / NS_PER_S


@dataclass(frozen=True)
class TimeLinks:
    """The offsets (code -> :class:`TimeOffset`, module table) of one estimation, made at
    ``origin_ns`` (the data cut-off) and in force from then on."""

    origin_ns: int
    offsets: dict

    def __getitem__(self, code: str) -> TimeOffset:
        return self.offsets[code]


def _truth_line(coeffs, t_ns, t0_ns):
    return coeffs[0] + coeffs[1] * (np.asarray(t_ns, dtype=np.int64) - t0_ns) / NS_PER_S


def truth_offsets(truth, time_ns) -> dict:
    """True offsets (s) of the module table at ``time_ns`` (truth epochs)."""
    t = np.asarray(time_ns, dtype=np.int64)
    t0 = int(truth.time_ns[0])
    system = truth.station_clock_s[np.searchsorted(truth.time_ns, t), truth.master_index]
    glo = _truth_line(GLONASST_MINUS_GPST, t, t0)
    gput = _truth_line(GPST_MINUS_UTC, t, t0)
    return {"IRGP": system, "IRGL": system - glo, "GLGP": glo, "IRUT": system + gput, "GPUT": gput,
            "GLUT": glo + gput}


_TRACKS: dict = {}  # name -> (GPST ns grid, ECEF positions) of the last propagation


def _partner_positions(times_ns, name):
    """ECEF positions (T, n, 3) of the built-in ``name`` constellation at ``times_ns``; the
    last propagation of each is kept, so that epochs within it (a user's evaluation within
    the master's span) are looked up instead of propagated again."""
    from ..design import builtin_constellation
    from ..propagate import propagate

    t = np.asarray(times_ns, dtype=np.int64)
    if name in _TRACKS:
        grid, pos = _TRACKS[name]
        rows = np.minimum(np.searchsorted(grid, t), len(grid) - 1)
        if np.array_equal(grid[rows], t):
            return pos[rows]
    pos = propagate(builtin_constellation(name), t).position_m
    _TRACKS[name] = (t.copy(), pos)
    return pos


def _visible(sat_ecef, site, mask_deg):
    up = site / np.linalg.norm(site)
    d = sat_ecef - site
    rng = np.linalg.norm(d, axis=-1)
    return np.einsum("tni,i->tn", d, up) / rng > np.sin(np.radians(mask_deg)), rng


def _broadcast_clock_errors(n, name, seed):
    return np.random.default_rng(seed).normal(0.0, BROADCAST_CLOCK_SIGMA_M[name], n) / SPEED_OF_LIGHT


@dataclass
class MasterTimeData:
    """Per-epoch estimates (s) at the master of system - GPST (from GPS) and system -
    GLONASST (from GLONASS) at ``time_ns``, and the truth at the same epochs."""

    time_ns: np.ndarray
    system_minus_gpst_s: np.ndarray
    system_minus_glonasst_s: np.ndarray
    truth: dict


def master_time_data(truth, network, time_ns, *, code_sigma_m: float = 0.5, seed: int = 11) -> MasterTimeData:
    """The master station's GPS and GLONASS code at ``time_ns`` (truth epochs) reduced with
    the partner systems' broadcast orbits (taken as exact) and clocks (their errors stay):
    per epoch the mean over the visible satellites of ``(P - rho) / c + dt_broadcast``."""
    rng = np.random.default_rng(seed)
    t = np.asarray(time_ns, dtype=np.int64)
    true = truth_offsets(truth, t)
    master = network.positions_m[network.master_index]
    out = {}
    for name, scale_minus_gpst in (("gps", 0.0), ("glonass", true["GLGP"])):
        sats = _partner_positions(t, name)
        vis, rho = _visible(sats, master, network.mask_deg)
        err = _broadcast_clock_errors(sats.shape[1], name, seed + (name == "glonass"))
        sat_clock = np.asarray(scale_minus_gpst).reshape(-1, 1) + err[None, :]  # true, vs GPST
        pr = rho + SPEED_OF_LIGHT * (true["IRGP"][:, None] - sat_clock) + rng.standard_normal(rho.shape) * code_sigma_m
        # reduced with the broadcast clocks (zero against the partner's own time): the
        # satellites' broadcast errors stay in, averaged over the visible ones
        out[name] = np.nanmean(np.where(vis, (pr - rho) / SPEED_OF_LIGHT, np.nan), axis=1)
    return MasterTimeData(t, out["gps"], out["glonass"], true)


def _line(t_ns, y, t_ref_ns, true):
    ok = np.isfinite(y)
    a1, a0 = np.polyfit((t_ns[ok] - t_ref_ns) / NS_PER_S, y[ok], 1)
    fitted = a0 + a1 * (t_ns - t_ref_ns) / NS_PER_S
    return TimeOffset(float(a0), float(a1), int(t_ref_ns), float(np.sqrt(np.mean((fitted - true) ** 2))))


def estimate_time_links(data: MasterTimeData, window, origin_ns: int) -> TimeLinks:
    """The offsets of the module table from the epochs of ``data`` selected by ``window``
    (bool), referenced to ``origin_ns``: lines fitted to the master's per-epoch estimates;
    GPUT is GPS's broadcast (the truth plus :data:`GPUT_BROADCAST_ERROR_S`)."""
    w = np.asarray(window, bool)
    t = data.time_ns[w]
    true = {k: v[w] for k, v in data.truth.items()}
    irgp = _line(t, data.system_minus_gpst_s[w], origin_ns, true["IRGP"])
    irgl = _line(t, data.system_minus_glonasst_s[w], origin_ns, true["IRGL"])
    gput_true = _line(t, true["GPUT"], origin_ns, true["GPUT"])
    gput = TimeOffset(gput_true.a0_s + GPUT_BROADCAST_ERROR_S, gput_true.a1, origin_ns, GPUT_BROADCAST_ERROR_S)

    def combine(a, b, sign, key):
        a0, a1 = a.a0_s + sign * b.a0_s, a.a1 + sign * b.a1
        fitted = a0 + a1 * (t - origin_ns) / NS_PER_S
        return TimeOffset(a0, a1, origin_ns, float(np.sqrt(np.mean((fitted - true[key]) ** 2))))

    glgp = combine(irgp, irgl, -1.0, "GLGP")
    return TimeLinks(int(origin_ns), {"IRGP": irgp, "IRGL": irgl, "GLGP": glgp,
                                      "IRUT": combine(irgp, gput, 1.0, "IRUT"), "GPUT": gput,
                                      "GLUT": combine(glgp, gput, 1.0, "GLUT")})


def links_in_force(links: list[TimeLinks], code: str, time_ns) -> np.ndarray:
    """The broadcast value (s) of ``code`` at each time: from the latest estimation whose
    origin is at or before it (the first one before them all)."""
    t = np.asarray(time_ns, dtype=np.int64)
    origins = np.array([x.origin_ns for x in links], dtype=np.int64)
    k = np.clip(np.searchsorted(origins, t, side="right") - 1, 0, len(links) - 1)
    out = np.empty(len(t))
    for i, lk in enumerate(links):
        out[k == i] = lk[code].at(t[k == i])
    return out


def combined_user_accuracy(truth, links: list[TimeLinks], site_itrs_m, time_ns, partner: str = "glonass", *,
                           code_sigma_m: float = 0.5, mask_deg: float = 10.0, seed: int = 13) -> dict:
    """3-D position RMS (m) of a user of ``partner`` ("gps" or "glonass") + the designed
    system, from the same pseudoranges: (a) designed-system clocks moved to the partner's
    time with the broadcast offsets in force (IRGP for GPS; IRGP - GLGP for GLONASS): 4
    unknowns per epoch; (b) an inter-system bias estimated instead: 5 unknowns. The designed
    satellites' clocks are the truth's against system time (a perfect broadcast clock) and
    the partner's carry their broadcast errors: the comparison isolates the time link."""
    rng = np.random.default_rng(seed)
    t = np.asarray(time_ns, dtype=np.int64)
    rows = np.searchsorted(truth.time_ns, t)
    true = truth_offsets(truth, t)
    site = np.asarray(site_itrs_m, dtype=np.float64)
    other = _partner_positions(t, partner)
    vis_p, rho_p = _visible(other, site, mask_deg)
    reg = truth.position_itrs_m[rows]
    vis_i, rho_i = _visible(reg, site, mask_deg)
    sats = np.concatenate([other, reg], axis=1)
    vis = np.concatenate([vis_p, vis_i], axis=1)
    rho = np.concatenate([rho_p, rho_i], axis=1)
    is_reg = np.r_[np.zeros(other.shape[1], bool), np.ones(reg.shape[1], bool)]
    scale = true["GLGP"] if partner == "glonass" else np.zeros(len(t))  # partner time - GPST
    err = _broadcast_clock_errors(other.shape[1], partner, seed + 1)
    rx_clock = 1e-4 + 1e-9 * (t - t[0]) / NS_PER_S
    vs_system = truth.satellite_clock_vs_system_s()[rows]
    sat_clock_gpst = np.concatenate([scale[:, None] + err[None, :], vs_system + true["IRGP"][:, None]], axis=1)
    pr = rho + SPEED_OF_LIGHT * (rx_clock[:, None] - sat_clock_gpst) + rng.standard_normal(rho.shape) * code_sigma_m
    # broadcast clocks against the partner's time: the partner's (zero, its error unknown to
    # the user) and the designed ones moved by the broadcast offset system - partner time
    offset = links_in_force(links, "IRGP", t)
    if partner == "glonass":
        offset = offset - links_in_force(links, "GLGP", t)
    out = {}
    for name, n_unknown in (("broadcast_offset", 4), ("estimated_isb", 5)):
        known = np.concatenate([np.zeros(other.shape[:2]), vs_system + (offset[:, None] if n_unknown == 4 else 0.0)],
                               axis=1)
        x = np.zeros((len(t), n_unknown))
        x[:, :3] = site + 100.0
        for _ in range(6):
            d = sats - x[:, None, :3]
            r = np.linalg.norm(d, axis=-1)
            model = r + x[:, 3:4] - SPEED_OF_LIGHT * known
            h = [-(d / r[..., None]), np.ones(r.shape + (1,))]
            if n_unknown == 5:
                model = model + x[:, 4:5] * is_reg
                h.append(np.broadcast_to(is_reg[None, :, None], r.shape + (1,)).astype(float))
            h = np.concatenate(h, axis=-1)
            w = vis.astype(float)
            normal = np.einsum("tni,tn,tnj->tij", h, w, h) + np.eye(n_unknown) * 1e-9
            x += np.linalg.solve(normal, np.einsum("tni,tn,tn->ti", h, w, pr - model)[..., None])[..., 0]
        ok = (vis_p.sum(1) >= 1) & (vis_i.sum(1) >= 1) & (vis.sum(1) >= n_unknown + 1)
        e = np.linalg.norm(x[ok, :3] - site, axis=1)
        out[name] = dict(position_rms_m=float(np.sqrt(np.mean(e**2))), epochs=int(ok.sum()))
    out["broadcast_offset_error_rms_ns"] = float(np.sqrt(np.mean(
        (offset - (true["IRGP"] - (true["GLGP"] if partner == "glonass" else 0.0))) ** 2)) * 1e9)
    return out
