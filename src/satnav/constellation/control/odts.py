"""Orbit determination and time synchronisation (ODTS) of a designed system from its
monitoring network, prediction, broadcast messages from the prediction, and SISRE.

Batch least squares over an arc (one Gauss-Newton solution per iteration of the orbits):

* global unknowns: per satellite its GCRS state at the arc start and its ECOM SRP parameters
  (:mod:`satnav.dynamics`, partials from the variational equations); per station a zenith wet
  delay per block of ``zwd_block_hours`` (Niell wet mapping); a float ambiguity per pass;
* epoch unknowns: every satellite clock and every station clock except the master's (whose
  hydrogen maser realises system time: its clock is the reference, zero by definition),
  eliminated epoch by epoch from the normal equations (Schur complement, all epochs at once
  as batched 14x14 systems) and recovered by back-substitution.

Observations: ionosphere-free code and phase (:mod:`.truth`), weights ``1 / (sigma /
sin(elevation))^2``. The estimator shares the force model family with the truth but not its
SRP values: it starts from the design elements without SRP and must find them.

Prediction: orbits by propagating the estimated state; clocks by a line fitted to the last
``clock_fit_hours`` of estimated clocks. Broadcast: every ``upload_hours`` a quasi-Keplerian
message (NavIC/GPS LNAV model, :func:`satnav.constellation.broadcast.fit_kepler_messages`)
is fitted to the predicted orbit over twice the upload interval and the predicted clock
expanded at toc; users apply it from upload to upload. SISRE per epoch
``sqrt((w_r dR - c dT)^2 + w_ac^2 (dA^2 + dC^2))`` with the IGSO/GEO weights of
:data:`satnav.orbits.compare.SISRE_WEIGHTS`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ...constants import SPEED_OF_LIGHT
from ...gnss_time import NS_PER_S
from .truth import MonitoringData, geometry, troposphere_zenith_and_mapping

__all__ = ["OdtsOptions", "OdtsSolution", "estimate_orbits_clocks", "Prediction", "predict",
           "broadcast_from_prediction", "broadcast_fit_times", "sisre_report"]


@dataclass(frozen=True)
class OdtsOptions:
    """ODTS settings: arc and prediction lengths (h), upload cadence (h), ZWD block (h), SRP
    model and gravity degree of the estimator's dynamics, Gauss-Newton iterations (stopping when no initial position changes by more than
    ``tolerance_m``), observation sigmas (m, zenith), clock-prediction window (h)."""

    arc_hours: float = 24.0
    predict_hours: float = 6.0
    upload_hours: float = 1.0
    zwd_block_hours: float = 2.0
    srp: str = "ecom5"
    degree: int = 12
    iterations: int = 4
    code_sigma_m: float = 0.5
    phase_sigma_m: float = 0.005
    clock_fit_hours: float = 2.0
    step_s: float = 300.0
    tolerance_m: float = 0.05


@dataclass
class OdtsSolution:
    """Estimates over the arc epochs ``time_ns`` (T,): satellite GCRS ``state`` at the arc start
    (n, 6), ``srp_parameters`` (n, k), satellite clocks against system time (T, n) and station
    clocks (T, m) in seconds (NaN where not determined), ZWD blocks (m, b), postfit RMS of code
    and phase (m), and the propagator for predictions."""

    time_ns: np.ndarray
    state: np.ndarray
    srp_parameters: np.ndarray
    satellite_clock_s: np.ndarray
    station_clock_s: np.ndarray
    zwd_m: np.ndarray
    code_rms_m: float
    phase_rms_m: float
    iterations: int
    propagator: object
    residuals_code_m: np.ndarray = field(repr=False, default=None)
    #: GCRS states (T', n, 6) of the estimated orbits at ``states_time_ns`` (the arc epochs
    #: and the prediction times asked for): the last propagation moved by its state
    #: transition times the last correction (first order; the correction is below the
    #: iterations' tolerance), so that predicting needs no propagation of its own
    states_time_ns: np.ndarray | None = field(repr=False, default=None)
    states_gcrs: np.ndarray | None = field(repr=False, default=None)

    def gcrs_states(self, time_ns) -> np.ndarray | None:
        """(T, n, 6) GCRS states at ``time_ns`` if all are among :attr:`states_time_ns`."""
        if self.states_time_ns is None:
            return None
        t = np.asarray(time_ns, dtype=np.int64)
        rows = np.minimum(np.searchsorted(self.states_time_ns, t), len(self.states_time_ns) - 1)
        return self.states_gcrs[rows] if np.array_equal(self.states_time_ns[rows], t) else None


def _scatter_sum(index, values, size):
    return np.bincount(index.ravel(), weights=values.ravel(), minlength=size)[:size]


def _normal_equations(rows, G: int, T: int, L: int, n: int, p: int):
    """Normal-equation blocks ``(N_gg, b_g, N_gl, N_ll, b_l)`` (flat where per epoch) of the
    observation rows: each row has ``p`` orbit columns (its satellite's block), a ZWD and an
    ambiguity column (``gidx``/``gval``; a zero value where absent) and two epoch columns
    (``lidx``/``lval``: satellite and station clock). The orbit-orbit blocks are one matrix
    product per satellite; every other product is summed by index (``np.bincount``)."""
    ngg = np.zeros((G, G))
    bg = np.zeros(G)
    ngl = np.zeros(T * G * L)
    nll = np.zeros(T * L * L)
    bl = np.zeros(T * L)
    for ee, y, w, gidx, gval, lidx, lval in rows:
        sat = gidx[:, 0] // p
        h = gval[:, :p]
        for j in range(n):
            sel = sat == j
            hw = h[sel] * w[sel, None]
            ngg[j * p:(j + 1) * p, j * p:(j + 1) * p] += hw.T @ h[sel]
        # orbit x (ZWD, ambiguity) both ways, and (ZWD, ambiguity) x (ZWD, ambiguity)
        gi_o, gi_x = gidx[:, :p], gidx[:, p:]
        v_ox = (w[:, None, None] * h[:, :, None]) * gval[:, None, p:]
        cross = _scatter_sum(gi_o[:, :, None] * G + gi_x[:, None, :], v_ox, G * G).reshape(G, G)
        ngg += cross + cross.T
        ngg += _scatter_sum(gi_x[:, :, None] * G + gi_x[:, None, :],
                            w[:, None, None] * gval[:, p:, None] * gval[:, None, p:], G * G).reshape(G, G)
        bg += _scatter_sum(gidx, w[:, None] * gval * y[:, None], G)
        ngl += _scatter_sum((ee[:, None, None] * G + gidx[:, :, None]) * L + lidx[:, None, :],
                            w[:, None, None] * gval[:, :, None] * lval[:, None, :], T * G * L)
        nll += _scatter_sum((ee[:, None, None] * L + lidx[:, :, None]) * L + lidx[:, None, :],
                            w[:, None, None] * lval[:, :, None] * lval[:, None, :], T * L * L)
        bl += _scatter_sum(ee[:, None] * L + lidx, w[:, None] * lval * y[:, None], T * L)
    return ngg, bg, ngl, nll, bl


def estimate_orbits_clocks(data: MonitoringData, rotation: np.ndarray, initial_state: np.ndarray,
                           options: OdtsOptions = OdtsOptions(), *, epochs=None,
                           propagator=None, predict_times_ns=None) -> OdtsSolution:
    """Batch least squares over ``data`` (or its epochs selected by ``epochs``, a bool mask);
    ``rotation``: GCRS->ITRS matrices of the epochs (T, 3, 3); ``initial_state``: a priori
    GCRS states (n, 6) at the first epoch; ``propagator``: one to reuse (its environments are
    kept between runs over overlapping arcs); ``predict_times_ns``: times (after the arc)
    whose states the iterations' propagations carry along for :func:`predict`."""
    from ...dynamics.forces import ForceModel
    from ...dynamics.propagator import Propagator

    sel = np.ones(len(data.time_ns), bool) if epochs is None else np.asarray(epochs, bool)
    times = data.time_ns[sel]
    rot = rotation[sel]
    code, phase, pass_id = data.code_m[sel], data.phase_m[sel], data.pass_id[sel]
    T, m, n = code.shape
    model = ForceModel(srp=options.srp, degree=options.degree)
    k = len(model.srp_parameters)
    p = 6 + k
    prop = propagator if propagator is not None else Propagator(model, options.step_s)
    block = np.minimum(((times - times[0]) // int(options.zwd_block_hours * 3600 * NS_PER_S)).astype(int),
                       int(np.ceil(options.arc_hours / options.zwd_block_hours)) - 1)
    nb = int(block.max()) + 1
    used_pass = np.unique(pass_id[pass_id >= 0])
    amb_col = np.full(int(pass_id.max()) + 2 if pass_id.size else 1, -1)
    amb_col[used_pass] = np.arange(len(used_pass))
    n_orb, n_zwd, n_amb = n * p, m * nb, len(used_pass)
    G = n_orb + n_zwd + n_amb
    master = data.master_index
    station_local = np.full(m, -1)
    others = [i for i in range(m) if i != master]
    station_local[others] = n + np.arange(m - 1)
    L = n + m - 1
    state = np.asarray(initial_state, dtype=np.float64).copy()
    params = np.zeros((n, k))
    d0 = list(model.srp_parameters).index("D0") if "D0" in model.srp_parameters else None
    if d0 is not None:
        params[:, d0] = -100.0  # a typical value: smaller first step, same solution
    e_idx, s_idx, j_idx = np.nonzero(np.isfinite(code))
    ok_phase = np.isfinite(phase[e_idx, s_idx, j_idx])
    code_rms = phase_rms = np.nan
    prior = np.zeros(G)
    prior[np.arange(n)[:, None] * p + 6 + np.arange(k)] = 1.0 / 1000.0**2  # SRP, nm/s^2
    prior[n_orb:n_orb + n_zwd] = 1.0 / 0.5**2  # ZWD, m
    done = 0
    all_times = times if predict_times_ns is None else np.union1d(times, np.asarray(predict_times_ns, np.int64))
    arc_rows = np.searchsorted(all_times, times)
    for it in range(options.iterations):
        full = prop.propagate(int(times[0]), state[:, :3], state[:, 3:], all_times, params, variational=True)
        pr = full if predict_times_ns is None else type(full)(
            times, full.position_m[arc_rows], full.velocity_m_s[arc_rows], full.sensitivity[arc_rows])
        rho, el, los = geometry(pr.position_m, pr.velocity_m_s, rot, data.stations_itrs_m)
        zhd, mh, mw = troposphere_zenith_and_mapping(data.stations_itrs_m, el, times)
        computed = rho + zhd[None, :, None] * mh
        # observation rows: code for every observed triple, phase where present
        e, s, j = e_idx, s_idx, j_idx
        sin_el = np.sin(np.clip(el[e, s, j], np.radians(5.0), None))
        h_orb = np.einsum("ri,rip->rp", los[e, s, j], pr.sensitivity[e, j, :3, :])  # (r, p)
        rows = []
        for kind in ("code", "phase"):
            take = slice(None) if kind == "code" else ok_phase
            obs = (code if kind == "code" else phase)[e[take], s[take], j[take]]
            sigma = (options.code_sigma_m if kind == "code" else options.phase_sigma_m) / sin_el[take]
            r = len(obs)
            gidx = np.zeros((r, p + 2), dtype=np.int64)
            gval = np.zeros((r, p + 2))
            gidx[:, :p] = j[take, None] * p + np.arange(p)
            gval[:, :p] = h_orb[take]
            gidx[:, p] = n_orb + s[take] * nb + block[e[take]]
            gval[:, p] = mw[e[take], s[take], j[take]]
            if kind == "phase":
                gidx[:, p + 1] = n_orb + n_zwd + amb_col[pass_id[e[take], s[take], j[take]]]
                gval[:, p + 1] = 1.0
            lidx = np.stack([j[take], np.maximum(station_local[s[take]], 0)], axis=1)
            lval = np.stack([-np.ones(r), np.where(station_local[s[take]] >= 0, 1.0, 0.0)], axis=1)
            rows.append((e[take], obs - computed[e[take], s[take], j[take]], 1.0 / sigma**2, gidx, gval, lidx, lval))
        ngg, bg, ngl, nll, bl = _normal_equations(rows, G, T, L, n, p)
        ngg = ngg.reshape(G, G)
        ngl = ngl.reshape(T, G, L)
        nll = nll.reshape(T, L, L) + np.eye(L) * 1e-12
        bl = bl.reshape(T, L)
        nll_inv = np.linalg.inv(nll)
        x_lg = nll_inv @ ngl.transpose(0, 2, 1)  # (T, L, G)
        reduced = ngg - ngl.transpose(1, 0, 2).reshape(G, T * L) @ x_lg.reshape(T * L, G)
        rhs = bg - np.einsum("tgl,tl->g", ngl, np.einsum("tlk,tk->tl", nll_inv, bl))
        rhs[:n_orb] -= (prior[:n_orb] * np.concatenate([np.zeros((n, 6)), params], axis=1).ravel())
        x = np.linalg.solve(reduced + np.diag(prior), rhs)
        local = np.einsum("tlk,tk->tl", nll_inv, bl - np.einsum("tgl,g->tl", ngl, x))
        dx = x[:n_orb].reshape(n, p)
        state += dx[:, :6]
        params += dx[:, 6:]
        zwd = x[n_orb:n_orb + n_zwd].reshape(m, nb)
        amb = x[n_orb + n_zwd:]
        done = it + 1
        # postfit residuals (linearised)
        res_all = []
        for ee, y, _w, gidx, gval, lidx, lval in rows:
            v = y - np.sum(gval * np.where(gidx < G, x[np.minimum(gidx, G - 1)], 0.0), axis=1) \
                - np.sum(lval * local[ee[:, None], lidx], axis=1)
            res_all.append(v)
        code_rms = float(np.sqrt(np.mean(res_all[0] ** 2)))
        phase_rms = float(np.sqrt(np.mean(res_all[1] ** 2))) if len(res_all[1]) else np.nan
        if np.max(np.abs(dx[:, :3])) < options.tolerance_m:
            break
    observed_sat = np.zeros((T, n), bool)
    observed_sat[e_idx, j_idx] = True
    sat_clock = np.where(observed_sat, local[:, :n] / SPEED_OF_LIGHT, np.nan)
    sta_clock = np.zeros((T, m))
    sta_clock[:, others] = local[:, n:] / SPEED_OF_LIGHT
    seen = np.zeros((T, m), bool)
    seen[e_idx, s_idx] = True
    sta_clock = np.where(seen, sta_clock, np.nan)
    resid = np.full((T, m, n), np.nan)
    resid[e_idx, s_idx, j_idx] = res_all[0]
    del amb
    states = (np.concatenate([full.position_m, full.velocity_m_s], axis=-1)
              + np.einsum("tnij,nj->tni", full.sensitivity, dx))
    return OdtsSolution(times, state, params, sat_clock, sta_clock, zwd, code_rms, phase_rms, done,
                        prop, resid, all_times, states)


@dataclass
class Prediction:
    """Predicted GCRS/ITRS orbits (T, n, 3) and clocks (T, n) (s, against system time) at
    ``time_ns``, from the ODTS solution's end (``origin_ns``)."""

    time_ns: np.ndarray
    origin_ns: int
    position_itrs_m: np.ndarray
    velocity_itrs_m_s: np.ndarray
    clock_s: np.ndarray
    clock_model: np.ndarray  # (n, 2): offset (s) at origin, drift (s/s)


def predict(solution: OdtsSolution, time_ns, options: OdtsOptions = OdtsOptions()) -> Prediction:
    """Orbits and clocks of ``solution`` propagated / extrapolated to ``time_ns``."""
    from ...models.earth_orientation import gcrs_to_itrs_matrix
    from .truth import _itrs_velocity

    times = np.asarray(time_ns, dtype=np.int64)
    states = solution.gcrs_states(times)
    if states is None:
        pr = solution.propagator.propagate(int(solution.time_ns[0]), solution.state[:, :3],
                                           solution.state[:, 3:], times, solution.srp_parameters)
        states = np.concatenate([pr.position_m, pr.velocity_m_s], axis=-1)
    rot = gcrs_to_itrs_matrix(times, subdaily=True)
    r = np.einsum("tij,tnj->tni", rot, states[..., :3])
    v = _itrs_velocity(rot, states[..., 3:], r)
    origin = int(solution.time_ns[-1])
    window = solution.time_ns >= origin - int(options.clock_fit_hours * 3600) * NS_PER_S
    tw = (solution.time_ns[window] - origin) / NS_PER_S
    n = solution.state.shape[0]
    model = np.zeros((n, 2))
    for j in range(n):
        y = solution.satellite_clock_s[window, j]
        ok = np.isfinite(y)
        if ok.sum() >= 2:
            drift, offset = np.polyfit(tw[ok], y[ok], 1)
            model[j] = offset, drift
        else:
            model[j] = np.nan
    dt = (times - origin) / NS_PER_S
    clock = model[None, :, 0] + model[None, :, 1] * dt[:, None]
    return Prediction(times, origin, r, v, clock, model)


@dataclass
class BroadcastMessages:
    """Broadcast messages from a prediction: per upload ``u`` and satellite ``j`` the
    quasi-Keplerian ``params`` (U, n, 15), ``toe_ns`` (U,), ``toe_sow`` (U, n), clock ``af``
    (U, n, 2) at toc = toe; ``upload_ns`` (U,) the start of each message's use; fit RMS (m);
    ``health`` (U, n) True = unhealthy; ``origin_ns`` (U,) the data cut-off of its ODTS."""

    upload_ns: np.ndarray
    toe_ns: np.ndarray
    params: np.ndarray
    toe_sow: np.ndarray
    af: np.ndarray
    fit_rms_m: np.ndarray
    system: str
    sat: np.ndarray
    health: np.ndarray
    origin_ns: np.ndarray  # (U,): end of the ODTS arc each message was predicted from


def _uploads_and_offsets(start_ns: int, end_ns: int, options: OdtsOptions):
    """Upload times from ``start_ns`` to ``end_ns`` and the offsets (every 300 s over twice
    the upload interval) at which each message is fitted to the prediction."""
    up = int(round(options.upload_hours * 3600)) * NS_PER_S
    uploads = np.arange(start_ns, end_ns, up, dtype=np.int64)
    return uploads, np.arange(0, 2 * up + 1, 300 * NS_PER_S, dtype=np.int64)


def broadcast_fit_times(start_ns: int, end_ns: int, options: OdtsOptions = OdtsOptions()) -> np.ndarray:
    """Every time at which :func:`broadcast_from_prediction` samples the prediction."""
    uploads, offsets = _uploads_and_offsets(start_ns, end_ns, options)
    return np.unique((uploads[:, None] + offsets[None, :]).ravel())


def broadcast_from_prediction(solution: OdtsSolution, sat, start_ns: int, end_ns: int,
                              options: OdtsOptions = OdtsOptions(), system: str = "I",
                              unhealthy=None) -> BroadcastMessages:
    """Messages uploaded every ``upload_hours`` from ``start_ns`` to ``end_ns``, each fitted
    to the predicted orbit over ``[upload, upload + 2 * upload_hours]`` (toe in the middle).
    ``unhealthy``: (U, n) bool, satellites flagged unhealthy in each message."""
    from ..broadcast import fit_kepler_messages

    uploads, offsets = _uploads_and_offsets(start_ns, end_ns, options)
    up = int(round(options.upload_hours * 3600)) * NS_PER_S
    fit_times = (uploads[:, None] + offsets[None, :]).ravel()
    pred = predict(solution, np.unique(fit_times), options)
    idx = np.searchsorted(pred.time_ns, fit_times).reshape(len(uploads), -1)
    n = len(sat)
    U = len(uploads)
    toe = uploads + up
    at_toe = int(np.flatnonzero(offsets == up)[0])
    pos = pred.position_itrs_m[idx]  # (U, S, n, 3)
    vel = pred.velocity_itrs_m_s[idx[:, at_toe]]  # (U, n, 3)
    times = np.broadcast_to((uploads[:, None] + offsets[None, :])[:, None, :], (U, n, len(offsets)))
    params, toe_sow, resid = fit_kepler_messages(
        times.reshape(U * n, -1), pos.transpose(0, 2, 1, 3).reshape(U * n, -1, 3), vel.reshape(U * n, 3),
        np.broadcast_to(np.asarray(sat)[None, :], (U, n)).ravel(), np.repeat(toe, n), system)
    dt = (toe - pred.origin_ns) / NS_PER_S
    af = np.stack([pred.clock_model[None, :, 0] + pred.clock_model[None, :, 1] * dt[:, None],
                   np.broadcast_to(pred.clock_model[None, :, 1], (U, n))], axis=-1)
    health = np.zeros((U, n), bool) if unhealthy is None else np.asarray(unhealthy, bool)
    return BroadcastMessages(uploads, toe, params.reshape(U, n, -1), np.asarray(toe_sow).reshape(U, n), af,
                             np.sqrt(np.mean(resid**2, axis=1)).reshape(U, n), system,
                             np.asarray(sat), health, np.full(U, pred.origin_ns, dtype=np.int64))


def broadcast_states(messages: BroadcastMessages, time_ns) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(ECEF positions (T, n, 3), clocks (T, n) s, age of data (T,) s) of the message in use at
    each time (the latest upload at or before it)."""
    from ..broadcast import kepler_positions

    t = np.asarray(time_ns, dtype=np.int64)
    u = np.clip(np.searchsorted(messages.upload_ns, t, side="right") - 1, 0, len(messages.upload_ns) - 1)
    tk = (t - messages.toe_ns[u]) / NS_PER_S  # (T,)
    n = messages.params.shape[1]
    pos = np.empty((len(t), n, 3))
    for j in range(n):
        pos[:, j] = kepler_positions(messages.params[u, j], tk[:, None], messages.toe_sow[u, j],
                                     messages.system)[:, 0]
    clock = messages.af[u, :, 0] + messages.af[u, :, 1] * tk[:, None]
    return pos, clock, (t - messages.upload_ns[u]) / NS_PER_S


def sisre_report(messages: BroadcastMessages, truth, ids, time_ns) -> dict:
    """SISRE of the broadcast against the truth at ``time_ns`` (within the truth's epochs):
    per satellite orbit 3-D RMS, clock RMS (m), SISRE RMS (m), and SISRE RMS per hour of age
    of data (time since the data cut-off of the ODTS the message in use comes from)."""
    from ...orbits.compare import SISRE_WEIGHTS, rac_frame

    t = np.asarray(time_ns, dtype=np.int64)
    rows = np.searchsorted(truth.time_ns, t)
    pos, clock, _age = broadcast_states(messages, t)
    r_true = truth.position_itrs_m[rows]
    v_true = truth.velocity_itrs_m_s[rows]
    clock_true = truth.satellite_clock_vs_system_s()[rows]
    diff = pos - r_true
    e_r, e_a, e_c = rac_frame(r_true, v_true)
    d_r, d_a, d_c = (np.sum(diff * e, axis=-1) for e in (e_r, e_a, e_c))
    d_t = SPEED_OF_LIGHT * (clock - clock_true)
    w_r, w_ac2 = SISRE_WEIGHTS["I"]
    sisre = np.sqrt((w_r * d_r - d_t) ** 2 + w_ac2 * (d_a**2 + d_c**2))
    in_use = np.clip(np.searchsorted(messages.upload_ns, t, side="right") - 1, 0, None)
    healthy = ~messages.health[in_use]
    age_h = np.floor((t - messages.origin_ns[in_use]) / 3.6e12).astype(int)

    def rms(a, mask):
        return float(np.sqrt(np.mean(a[mask] ** 2))) if np.any(mask) else None

    sats = []
    for j, sid in enumerate(ids):
        ok = healthy[:, j] & np.isfinite(sisre[:, j])
        sats.append(dict(satellite=sid, orbit_rms_m=rms(np.linalg.norm(diff[:, j], axis=-1), ok),
                         radial_rms_m=rms(d_r[:, j], ok), along_rms_m=rms(d_a[:, j], ok),
                         cross_rms_m=rms(d_c[:, j], ok), clock_rms_m=rms(d_t[:, j], ok),
                         sisre_rms_m=rms(sisre[:, j], ok)))
    ok = healthy & np.isfinite(sisre)
    by_age = [dict(age_of_data_h=int(h), sisre_rms_m=rms(sisre, ok & (age_h == h)[:, None]))
              for h in np.unique(age_h)]
    return dict(satellites=sats, sisre_rms_m=rms(sisre, ok), by_age_of_data=by_age,
                unhealthy_epochs=int(np.sum(~healthy)))
