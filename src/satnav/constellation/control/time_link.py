"""Time links: the offset of system time (the master station's hydrogen maser) to GPST,
estimated from the master receiver's code observations of GPS and GLONASS (as GGTO is), and
broadcast as a polynomial (RINEX ``TIME SYSTEM CORR`` ``IRGP``: system time minus GPST,
``a0 + a1 (t - t_ref)``); and a user that combines GLONASS with the designed system through
that offset instead of an inter-system clock unknown.

The GPS and GLONASS satellites are satnav's built-in designed constellations
(:mod:`satnav.constellation.design`, propagated by :mod:`satnav.constellation.propagate`)
with clocks on GPST (GLONASS after its broadcast GLONASST-GPST correction): what the link
needs is their geometry and a time scale, not their real orbits. Troposphere is left out of
both the simulation and the estimate (it is common to both solutions of the user test).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...constants import SPEED_OF_LIGHT
from ...gnss_time import NS_PER_S

__all__ = ["TimeOffset", "estimate_system_time_offset", "combined_user_accuracy"]


@dataclass(frozen=True)
class TimeOffset:
    """System time minus GPST: ``a0_s + a1 * (t - t_ref_ns)``; per-epoch estimates (s) and the
    RMS (s) of the polynomial against the truth over the fitted span."""

    a0_s: float
    a1: float
    t_ref_ns: int
    estimates_s: np.ndarray
    rms_vs_truth_s: float

    def at(self, time_ns) -> np.ndarray:
        return self.a0_s + self.a1 * (np.asarray(time_ns, dtype=np.int64) - self.t_ref_ns) / NS_PER_S


def _gnss_positions(times_ns, names=("gps", "glonass")):
    from ..design import builtin_constellation
    from ..propagate import propagate

    tracks = []
    for name in names:
        con = builtin_constellation(name)
        tracks.append(propagate(con, times_ns).position_m)
    return np.concatenate(tracks, axis=1)


def _visible(sat_ecef, site, mask_deg):
    up = site / np.linalg.norm(site)
    d = sat_ecef - site
    rng = np.linalg.norm(d, axis=-1)
    return np.einsum("tni,i->tn", d, up) / rng > np.sin(np.radians(mask_deg)), rng


def estimate_system_time_offset(truth, network, time_ns, *, code_sigma_m: float = 0.5,
                                seed: int = 11) -> TimeOffset:
    """The master station's GPS + GLONASS code observations at ``time_ns`` (truth epochs) ->
    the broadcast system-time offset to GPST (a line over the span)."""
    rng = np.random.default_rng(seed)
    t = np.asarray(time_ns, dtype=np.int64)
    rows = np.searchsorted(truth.time_ns, t)
    master = network.positions_m[network.master_index]
    sats = _gnss_positions(t)
    vis, rho = _visible(sats, master, network.mask_deg)
    offset_true = truth.station_clock_s[rows, network.master_index]
    pr = rho + SPEED_OF_LIGHT * offset_true[:, None] + rng.standard_normal(rho.shape) * code_sigma_m
    per_epoch = np.nanmean(np.where(vis, (pr - rho) / SPEED_OF_LIGHT, np.nan), axis=1)
    ok = np.isfinite(per_epoch)
    t_ref = int(t[-1])
    dt = (t[ok] - t_ref) / NS_PER_S
    a1, a0 = np.polyfit(dt, per_epoch[ok], 1)
    fitted = a0 + a1 * (t - t_ref) / NS_PER_S
    return TimeOffset(float(a0), float(a1), t_ref, per_epoch,
                      float(np.sqrt(np.mean((fitted - offset_true) ** 2))))


def combined_user_accuracy(truth, offset: TimeOffset, site_itrs_m, time_ns, *,
                           code_sigma_m: float = 0.5, mask_deg: float = 10.0, seed: int = 13) -> dict:
    """3-D position RMS (m) of a GLONASS + designed-system user: (a) designed-system clocks
    moved to GPST with the broadcast offset (4 unknowns per epoch), (b) an inter-system bias
    estimated instead (5 unknowns); same pseudoranges. The designed satellites' clocks are the
    truth's against system time (a perfect broadcast clock), isolating the time link."""
    rng = np.random.default_rng(seed)
    t = np.asarray(time_ns, dtype=np.int64)
    rows = np.searchsorted(truth.time_ns, t)
    site = np.asarray(site_itrs_m, dtype=np.float64)
    glo = _gnss_positions(t, ("glonass",))
    vis_r, rho_r = _visible(glo, site, mask_deg)
    reg = truth.position_itrs_m[rows]
    vis_i, rho_i = _visible(reg, site, mask_deg)
    sats = np.concatenate([glo, reg], axis=1)
    vis = np.concatenate([vis_r, vis_i], axis=1)
    rho = np.concatenate([rho_r, rho_i], axis=1)
    is_reg = np.r_[np.zeros(glo.shape[1], bool), np.ones(reg.shape[1], bool)]
    rx_clock = 1e-4 + 1e-9 * (t - t[0]) / NS_PER_S
    system_minus_gpst = truth.station_clock_s[rows, truth.master_index]
    sat_clock_gpst = np.concatenate([np.zeros(glo.shape[:2]),
                                     truth.satellite_clock_vs_system_s()[rows] + system_minus_gpst[:, None]], axis=1)
    pr = rho + SPEED_OF_LIGHT * (rx_clock[:, None] - sat_clock_gpst) + rng.standard_normal(rho.shape) * code_sigma_m
    # broadcast-side clocks: GLONASS on GPST, designed ones against system time + the offset
    known = np.concatenate([np.zeros(glo.shape[:2]), truth.satellite_clock_vs_system_s()[rows]], axis=1)
    out = {}
    for name, n_unknown in (("broadcast_offset", 4), ("estimated_isb", 5)):
        corr = known + (offset.at(t)[:, None] * is_reg if n_unknown == 4 else 0.0)
        x = np.zeros((len(t), n_unknown))
        x[:, :3] = site + 100.0
        for _ in range(6):
            d = sats - x[:, None, :3]
            r = np.linalg.norm(d, axis=-1)
            model = r + x[:, 3:4] - SPEED_OF_LIGHT * corr
            h = [-(d / r[..., None]), np.ones(r.shape + (1,))]
            if n_unknown == 5:
                model = model + x[:, 4:5] * is_reg
                h.append(np.broadcast_to(is_reg[None, :, None], r.shape + (1,)).astype(float))
            h = np.concatenate(h, axis=-1)
            w = vis.astype(float)
            normal = np.einsum("tni,tn,tnj->tij", h, w, h) + np.eye(n_unknown) * 1e-9
            x += np.linalg.solve(normal, np.einsum("tni,tn,tn->ti", h, w, pr - model)[..., None])[..., 0]
        ok = (vis_r.sum(1) >= 1) & (vis_i.sum(1) >= 1) & (vis.sum(1) >= n_unknown + 1)
        err = np.linalg.norm(x[ok, :3] - site, axis=1)
        out[name] = dict(position_rms_m=float(np.sqrt(np.mean(err**2))), epochs=int(ok.sum()))
    return out
