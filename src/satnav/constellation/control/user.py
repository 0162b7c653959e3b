"""What a user gets from the broadcast: single-frequency-free (ionosphere-free) code
positioning with the designed system alone at a site of its service area, with the broadcast
from the ODTS and with broadcast messages fitted to the truth at the same cadence; the two
3-D error RMS values show how much of the user error the control segment adds.

User pseudoranges are simulated from the truth (geometric range from the satellite at
transmission, satellite clock against system time, a receiver clock, white noise of
``code_sigma_m / sin(elevation)``); the solution is per-epoch least squares of position and
receiver clock (Gauss-Newton from the Earth's centre), the same for both broadcasts and the
same noise draws. The user's RAIM (the residual test of :mod:`satnav.estimators.integrity`)
runs on every solution: ``raim_alarm_epochs`` and the first alarm say whether users see a
fault the ground has not flagged yet.
"""

from __future__ import annotations

import numpy as np

from ...constants import SPEED_OF_LIGHT
from ...gnss_time import NS_PER_S
from .truth import satellite_at_transmission

__all__ = ["broadcast_from_truth", "user_accuracy"]


def broadcast_from_truth(truth, sat, start_ns: int, end_ns: int, upload_hours: float, system: str = "I"):
    """Messages fitted to the true orbits and clocks with the ODTS's cadence and fit span."""
    from ..broadcast import fit_kepler_messages
    from .odts import BroadcastMessages

    up = int(round(upload_hours * 3600)) * NS_PER_S
    uploads = np.arange(start_ns, end_ns, up, dtype=np.int64)
    toe = uploads + up
    n = len(sat)
    U = len(uploads)
    step = int(np.median(np.diff(truth.time_ns)))
    stride = max(1, int(300 * NS_PER_S // step))
    idx = [np.flatnonzero((truth.time_ns >= u) & (truth.time_ns <= u + 2 * up))[::stride] for u in uploads]
    m = min(len(i) for i in idx)
    idx = np.array([i[:m] for i in idx])
    at_toe = np.array([np.searchsorted(truth.time_ns, t) for t in toe])
    times = np.broadcast_to(truth.time_ns[idx][:, None, :], (U, n, m))
    pos = truth.position_itrs_m[idx].transpose(0, 2, 1, 3)
    params, toe_sow, _ = fit_kepler_messages(times.reshape(U * n, m), pos.reshape(U * n, m, 3),
                                             truth.velocity_itrs_m_s[at_toe].reshape(U * n, 3),
                                             np.broadcast_to(np.asarray(sat)[None], (U, n)).ravel(),
                                             np.repeat(toe, n), system)
    clock = truth.satellite_clock_vs_system_s()
    af = np.zeros((U, n, 2))
    for u in range(U):
        span = (truth.time_ns >= uploads[u]) & (truth.time_ns < uploads[u] + up)
        dt = (truth.time_ns[span] - toe[u]) / NS_PER_S
        for j in range(n):
            af[u, j, 1], af[u, j, 0] = np.polyfit(dt, clock[span, j], 1)
    return BroadcastMessages(uploads, toe, params.reshape(U, n, -1), np.asarray(toe_sow).reshape(U, n), af,
                             np.zeros((U, n)), system, np.asarray(sat), np.zeros((U, n), bool),
                             np.full(U, start_ns, dtype=np.int64))


def user_accuracy(truth, messages_by_name: dict, site_itrs_m, time_ns, *, code_sigma_m: float = 0.5,
                  mask_deg: float = 10.0, seed: int = 7, alarms=()) -> dict:
    """3-D position error RMS (m) of a user at ``site_itrs_m`` over ``time_ns`` for each
    broadcast in ``messages_by_name``; epochs with fewer than 5 satellites are skipped.
    ``alarms``: (satellite column, GPST ns) integrity alarms the user honours from their time
    on (an integrity channel, faster than the next message), for every broadcast alike."""
    from ...estimators.integrity import chi_square_threshold, test_statistic
    from .odts import broadcast_states

    rng = np.random.default_rng(seed)
    t = np.asarray(time_ns, dtype=np.int64)
    rows = np.searchsorted(truth.time_ns, t)
    rot = truth.rotation[rows]
    site = np.asarray(site_itrs_m, dtype=np.float64)
    site_g = np.einsum("tji,j->ti", rot, site)
    r_tx, rho = satellite_at_transmission(truth.position_gcrs_m[rows], truth.velocity_gcrs_m_s[rows],
                                          site_g[:, None, :])
    up = site / np.linalg.norm(site)
    los = (r_tx - site_g[:, None]) / rho[..., None]
    el = np.arcsin(np.einsum("ti,tni->tn", np.einsum("tji,j->ti", rot, up), los))
    visible = el > np.radians(mask_deg)
    for column, alarm_ns in alarms:
        visible[t >= alarm_ns, column] = False
    receiver_clock = rng.normal(0, 1e-6) + 1e-9 * (t - t[0]) / NS_PER_S
    noise = rng.standard_normal(rho.shape) * code_sigma_m / np.sin(np.clip(el, np.radians(5), None))
    pr = rho + SPEED_OF_LIGHT * (receiver_clock[:, None] - truth.satellite_clock_vs_system_s()[rows]) + noise
    out = {}
    for name, msgs in messages_by_name.items():
        pos_e, clock, _ = broadcast_states(msgs, t)
        healthy = ~msgs.health[np.clip(np.searchsorted(msgs.upload_ns, t, side="right") - 1, 0, None)]
        use = visible & healthy
        pos_g = np.einsum("tji,tnj->tni", rot, pos_e)  # broadcast ECEF -> GCRS at reception
        vel_g = np.gradient(pos_g, (t - t[0]) / NS_PER_S, axis=0) if len(t) > 1 else np.zeros_like(pos_g)
        x = np.zeros((len(t), 4))
        x[:, :3] = site_g + 1000.0  # start near the site (a user's previous fix)
        for _ in range(6):
            r_b, rho_b = satellite_at_transmission(pos_g, vel_g, x[:, None, :3])
            res = pr - (rho_b + x[:, 3:4] - SPEED_OF_LIGHT * clock)
            h = np.concatenate([-(r_b - x[:, None, :3]) / rho_b[..., None], np.ones(rho_b.shape + (1,))], axis=-1)
            w = np.where(use, np.sin(np.clip(el, np.radians(5), None)) ** 2, 0.0)
            normal = np.einsum("tni,tn,tnj->tij", h, w, h) + np.eye(4) * 1e-9
            x += np.linalg.solve(normal, np.einsum("tni,tn,tn->ti", h, w, res)[..., None])[..., 0]
        ok = use.sum(axis=1) >= 5
        err = np.linalg.norm(x[ok, :3] - site_g[ok], axis=1)
        # the user's RAIM: residual test at P_fa 1e-3 (satnav.estimators.integrity)
        r_b, rho_b = satellite_at_transmission(pos_g, vel_g, x[:, None, :3])
        res = pr - (rho_b + x[:, 3:4] - SPEED_OF_LIGHT * clock)
        weight = (np.sin(np.clip(el, np.radians(5), None)) / code_sigma_m) ** 2
        statistic = test_statistic(res, weight, use)
        alarm = ok & (statistic > chi_square_threshold(use.sum(axis=1) - 4))
        out[name] = dict(position_rms_m=float(np.sqrt(np.mean(err**2))) if ok.any() else None,
                         epochs=int(ok.sum()), raim_alarm_epochs=int(alarm.sum()),
                         first_raim_alarm_ns=int(t[alarm][0]) if alarm.any() else None)
    return out
