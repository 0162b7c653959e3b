"""Fitting the dynamic orbit model to tabulated positions (precise SP3 orbits), and predicting.

The unknowns per satellite are its GCRS state at the first epoch of the arc and its SRP
parameters (:data:`satnav.dynamics.forces.SRP_MODELS`); they are estimated by Gauss-Newton
least squares on the 3-D position differences with the partials of the variational
equations (:mod:`satnav.dynamics.propagator`), all satellites in one vectorized propagation.
ITRS positions (SP3) are rotated to the GCRS with :mod:`satnav.models.earth_orientation`; an
RMS of 3-D differences is the same in either frame.

``fit_sp3`` fits the first ``24 h - H`` of SP3 files and predicts the last ``H`` hours: the
residual RMS of the fit says how well the force model represents the real orbit, the
prediction RMS how well it extrapolates.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import SatnavError
from ..gnss_time import NS_PER_S
from .forces import ForceModel
from .propagator import Propagator

__all__ = ["OrbitFit", "fit_orbits", "fit_sp3", "SatelliteFit", "FIT_DEFAULT_MODELS"]

#: SRP model per system letter for real satellites (the 13-term ECOM1 + ECOM2 union: with it
#: a 24 h fit to IGS final orbits leaves ~2 cm for GPS, GLONASS and Galileo alike).
FIT_DEFAULT_MODELS = {"G": "ecomc", "R": "ecomc", "E": "ecomc", "C": "ecomc", "J": "ecomc",
                      "I": "ecomc", "S": "ecomc"}

#: A priori standard deviation (nm/s^2) of the SRP parameters: a weak constraint that keeps
#: the normal equations regular on short arcs, far above real values (D0 ~ 100 nm/s^2).
SRP_SIGMA_NM_S2 = 1000.0


@dataclass
class OrbitFit:
    """Fitted GCRS states at ``epoch_ns`` (n, 6), SRP parameters (n, k), the per-satellite 3-D
    residual RMS (m) and number of positions used, and the propagator to predict with."""

    epoch_ns: int
    state: np.ndarray
    srp_parameters: np.ndarray
    rms_m: np.ndarray
    used: np.ndarray
    iterations: int
    propagator: Propagator

    def positions_gcrs(self, times_ns) -> np.ndarray:
        """(T, n, 3) GCRS positions (m) of the fitted orbits."""
        p = self.propagator.propagate(self.epoch_ns, self.state[:, :3], self.state[:, 3:],
                                      times_ns, self.srp_parameters)
        return p.position_m

    def positions_itrs(self, times_ns) -> np.ndarray:
        """(T, n, 3) ITRS positions (m) of the fitted orbits."""
        from ..models.earth_orientation import gcrs_to_itrs_matrix

        rot = gcrs_to_itrs_matrix(np.atleast_1d(np.asarray(times_ns, dtype=np.int64)), subdaily=True)
        return np.einsum("tij,tnj->tni", rot, self.positions_gcrs(times_ns))


def _initial_states(times_ns, pos, epoch_ns, propagator_point_mass):
    """GCRS states at ``epoch_ns`` from tabulated positions: the 10-point Lagrange velocity at
    each satellite's first valid epoch, moved to the epoch with a point-mass orbit."""
    from ..orbits.precise import interpolate_positions

    n = pos.shape[1]
    state = np.zeros((n, 6))
    valid = np.isfinite(pos).all(axis=2)
    for j in range(n):
        first = int(np.argmax(valid[:, j]))
        good = np.nonzero(valid[:, j])[0][:12]
        p, v, ok = interpolate_positions(times_ns[good], pos[good][:, None, j],
                                         np.zeros(1, dtype=int), times_ns[[first]])
        if not ok[0]:
            raise SatnavError("too few consecutive positions to start an orbit fit")
        if times_ns[first] != epoch_ns:
            prop = propagator_point_mass.propagate(int(times_ns[first]), p, v, [epoch_ns])
            p, v = prop.position_m[0], prop.velocity_m_s[0]
        state[j, :3], state[j, 3:] = p.reshape(3), v.reshape(3)
    return state


def fit_orbits(times_ns, positions_gcrs_m, model: ForceModel | None = None, *,
               iterations: int = 8, step_s: float = 300.0, tolerance_m: float = 1e-4,
               propagator: Propagator | None = None) -> OrbitFit:
    """Least-squares fit of the dynamic model to GCRS positions (T, n, 3) (NaN = missing) at
    ``times_ns`` (T,); the state epoch is ``times_ns[0]``."""
    times = np.asarray(times_ns, dtype=np.int64)
    pos = np.asarray(positions_gcrs_m, dtype=np.float64)
    model = model if model is not None else ForceModel()
    prop = propagator if propagator is not None else Propagator(model, step_s)
    epoch = int(times[0])
    valid = np.isfinite(pos).all(axis=2)
    n = pos.shape[1]
    if np.any(valid.sum(axis=0) < 12):
        raise SatnavError("an orbit fit needs at least 12 positions of each satellite")
    point_mass = Propagator(ForceModel(degree=0, third_body=False, solid_tides=False,
                                       relativity=False, srp="none"), step_s)
    state = _initial_states(times, pos, epoch, point_mass)
    k = len(model.srp_parameters)
    params = np.zeros((n, k))
    m = 6 + k
    prior = np.zeros((m, m))
    prior[6:, 6:] = np.eye(k) / SRP_SIGMA_NM_S2**2
    done = 0
    for it in range(iterations):
        p = prop.propagate(epoch, state[:, :3], state[:, 3:], times, params, variational=True)
        res = np.where(valid[..., None], pos - p.position_m, 0.0)  # (T, n, 3)
        a = p.sensitivity[:, :, :3, :] * valid[:, :, None, None]  # (T, n, 3, m)
        normal = np.einsum("tnim,tnil->nml", a, a) + prior
        rhs = np.einsum("tnim,tni->nm", a, res)
        rhs[:, 6:] -= params / SRP_SIGMA_NM_S2**2
        scale = 1.0 / np.sqrt(np.einsum("nii->ni", normal))
        dx = np.linalg.solve(normal * scale[:, :, None] * scale[:, None, :], (rhs * scale)[..., None])
        dx = dx[..., 0] * scale
        state += dx[:, :6]
        params += dx[:, 6:]
        done = it + 1
        if np.max(np.abs(dx[:, :3])) < tolerance_m and np.max(np.abs(dx[:, 3:6])) < tolerance_m * 1e-3:
            break
    # residuals after the last (sub-tolerance) update, to first order: res - A dx
    res = res - np.einsum("tnim,nm->tni", a, dx)
    rms = np.sqrt(np.sum(res**2, axis=(0, 2)) / valid.sum(axis=0))
    return OrbitFit(epoch, state, params, rms, valid.sum(axis=0), done, prop)


@dataclass
class SatelliteFit:
    """One satellite's result of :func:`fit_sp3`: 3-D RMS (m) of the fit and of the prediction
    (None when nothing is predicted), positions used, SRP parameters (nm/s^2)."""

    satellite: str
    fit_rms_m: float
    prediction_rms_m: float | None
    fit_epochs: int
    prediction_epochs: int
    srp_model: str
    srp_parameters: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return dict(satellite=self.satellite, fit_rms_m=self.fit_rms_m,
                    prediction_rms_m=self.prediction_rms_m, fit_epochs=self.fit_epochs,
                    prediction_epochs=self.prediction_epochs, srp_model=self.srp_model,
                    srp_parameters_nm_s2=self.srp_parameters)


def fit_sp3(sp3, *, predict_hours: float = 0.0, systems: str | None = None,
            satellites=None, arc_hours: float = 24.0, srp: str | None = None,
            degree: int = 12, step_s: float = 300.0) -> list[SatelliteFit]:
    """Fit the dynamic model to every satellite of an :class:`~satnav.io.sp3.Sp3` (ITRS
    positions): the first ``arc_hours - predict_hours`` from the first epoch are fitted, the
    rest of ``arc_hours`` is predicted and compared. ``satellites``: ids to fit (default all of
    ``systems``); satellites flagged as manoeuvring are skipped with a warning."""
    from ..models.earth_orientation import itrs_to_gcrs

    if not 0.0 <= predict_hours < arc_hours:
        raise SatnavError(f"prediction of {predict_hours} h: expected 0 <= H < {arc_hours} h")
    times = np.asarray(sp3.time, dtype=np.int64)
    end = times[0] + int(round(arc_hours * 3600)) * NS_PER_S
    in_arc = times < end
    fit_end = times[0] + int(round((arc_hours - predict_hours) * 3600)) * NS_PER_S
    ids = sp3.satellite_ids()
    wanted = []
    for j, sid in enumerate(ids):
        if systems and sid[0] not in systems.upper():
            continue
        if satellites is not None and sid not in satellites:
            continue
        wanted.append(j)
    if not wanted:
        raise SatnavError("no satellite of the SP3 file matches the selection")
    t = times[in_arc]
    pos_itrs = sp3.position_m[in_arc][:, wanted]
    if sp3.flags.get("maneuver") is not None:
        manoeuvre = sp3.flags["maneuver"][in_arc][:, wanted].any(axis=0)
        pos_itrs = np.where(manoeuvre[None, :, None], np.nan, pos_itrs)
    flat = itrs_to_gcrs(np.repeat(t, len(wanted)), pos_itrs.reshape(-1, 3), subdaily=True)
    pos = flat.reshape(pos_itrs.shape)
    is_fit = t < fit_end
    enough = np.isfinite(pos[is_fit]).all(axis=2).sum(axis=0) >= 12
    results: list[SatelliteFit] = []
    groups: dict[str, list[int]] = {}
    for c in np.nonzero(enough)[0]:
        letter = ids[wanted[c]][0]
        model_name = srp or FIT_DEFAULT_MODELS.get(letter, "ecom2")
        groups.setdefault(model_name, []).append(int(c))
    for model_name, cols in groups.items():
        model = ForceModel(degree=degree, srp=model_name)
        fit = fit_orbits(t[is_fit], pos[is_fit][:, cols], model, step_s=step_s)
        pred_rms = [None] * len(cols)
        n_pred = [0] * len(cols)
        if predict_hours > 0 and np.any(~is_fit):
            predicted = fit.positions_gcrs(t[~is_fit])
            diff = pos[~is_fit][:, cols] - predicted
            ok = np.isfinite(diff).all(axis=2)
            for i in range(len(cols)):
                n_pred[i] = int(ok[:, i].sum())
                if n_pred[i]:
                    pred_rms[i] = float(np.sqrt(np.mean(np.sum(diff[ok[:, i], i] ** 2, axis=-1))))
        for i, c in enumerate(cols):
            results.append(SatelliteFit(
                ids[wanted[c]], float(fit.rms_m[i]), pred_rms[i], int(fit.used[i]), n_pred[i],
                model_name, dict(zip(model.srp_parameters, map(float, fit.srp_parameters[i]))),
            ))
    order = {ids[j]: i for i, j in enumerate(wanted)}
    results.sort(key=lambda r: order[r.satellite])
    return results
