"""Orbit propagation in the GCRS with the force model of :mod:`satnav.dynamics.forces`, and the
variational equations (state transition and SRP sensitivity matrices).

All satellites are integrated together on one fixed time grid (:func:`~satnav.dynamics.integrator.dop853_step`, default
300 s: integration error below 0.1 mm over a day at GNSS altitudes); states at other times
are 10-point Lagrange interpolations of the grid (sub-millimetre for 300 s nodes). With
``variational=True`` the partial derivatives ``d(r, v)(t) / d(r0, v0, p)`` are integrated
beside the states: ``dPhi/dt = [[0, I], [G, 0]] Phi + [0, 0, da/dp]`` with G the point-mass
gravity gradient (Montenbruck & Gill 2000, sec. 7.2).

Positions m, velocities m/s (GCRS); time int64 ns GPST; SRP parameters nm/s^2.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..gnss_time import NS_PER_S
from .forces import Environment, ForceModel, accelerations, environments_at
from .integrator import DOP853_NODES, dop853_nodes

__all__ = ["Propagation", "Propagator"]

_LAGRANGE_POINTS = 10


@dataclass
class Propagation:
    """States at requested times: ``position_m``, ``velocity_m_s`` (T, n, 3), GCRS, and with
    variational equations ``sensitivity`` (T, n, 6, 6 + k): d(r, v)/d(r0, v0, p)."""

    time: np.ndarray
    position_m: np.ndarray
    velocity_m_s: np.ndarray
    sensitivity: np.ndarray | None = None


class Propagator:
    """Integrates many satellites at once with a :class:`ForceModel`; keeps the environment
    (Earth rotation, Sun, Moon, tides) of every grid instant it has used, so repeated
    propagations over the same span (the iterations of a fit) compute it once."""

    def __init__(self, model: ForceModel | None = None, step_s: float = 300.0):
        self.model = model if model is not None else ForceModel()
        self.step_s = float(step_s)
        self._environments: dict[int, Environment] = {}

    def environment(self, time_ns: int) -> Environment:
        env = self._environments.get(time_ns)
        if env is None:
            self.prepare([time_ns])
            env = self._environments[time_ns]
        return env

    def prepare(self, times_ns) -> None:
        """Compute the environments of these GPST instants (ns) in one vectorized call."""
        times = np.unique(np.asarray(times_ns, dtype=np.int64))
        missing = [int(t) for t in times if int(t) not in self._environments]
        if not missing:
            return
        if len(self._environments) + len(missing) > 200_000:
            self._environments.clear()
        for t, env in zip(missing, environments_at(np.array(missing), self.model)):
            self._environments[t] = env

    def _stage_times(self, epoch_ns: int, k_lo: int, k_hi: int) -> np.ndarray:
        h = self.step_s
        starts = np.concatenate([np.arange(0, k_hi) * h, np.arange(0, k_lo, -1) * h])
        signs = np.concatenate([np.ones(k_hi), -np.ones(-k_lo)])
        t_s = starts[:, None] + signs[:, None] * h * DOP853_NODES[None, :]
        return int(epoch_ns) + np.round(t_s.ravel() * NS_PER_S).astype(np.int64)

    def _derivative(self, epoch_ns: int, params: np.ndarray, variational: bool):
        def f(t_s, y):
            t_ns = int(epoch_ns) + int(np.round(float(t_s) * NS_PER_S))
            env = self.environment(t_ns)
            r, v = y[:, :3, 0], y[:, 3:, 0]
            dy = np.empty_like(y)
            dy[:, :3, :] = y[:, 3:, :]
            if not variational:
                dy[:, 3:, 0] = accelerations(r, v, params, env, self.model)
                return dy
            acc, grad, basis = accelerations(r, v, params, env, self.model, partials=True)
            dy[:, 3:, 0] = acc
            dy[:, 3:, 1:] = np.einsum("nij,njk->nik", grad, y[:, :3, 1:])
            if basis.shape[-1]:
                dy[:, 3:, 7:] += basis
            return dy

        return f

    def propagate(self, epoch_ns: int, position_m, velocity_m_s, times_ns, srp_parameters=None,
                  variational: bool = False) -> Propagation:
        """Integrate GCRS states (n, 3) given at ``epoch_ns`` to every time of ``times_ns``
        (before or after the epoch), with SRP parameters (n, k) (default zeros)."""
        r0 = np.atleast_2d(np.asarray(position_m, dtype=np.float64))
        v0 = np.atleast_2d(np.asarray(velocity_m_s, dtype=np.float64))
        n = r0.shape[0]
        k = len(self.model.srp_parameters)
        params = (np.zeros((n, k)) if srp_parameters is None
                  else np.asarray(srp_parameters, dtype=np.float64).reshape(n, k))
        times = np.atleast_1d(np.asarray(times_ns, dtype=np.int64))
        dt = (times - np.int64(epoch_ns)).astype(np.float64) / NS_PER_S
        h = self.step_s
        half = _LAGRANGE_POINTS // 2
        k_lo = min(0, int(np.floor(dt.min() / h)) - half) if dt.size else 0
        k_hi = max(0, int(np.ceil(dt.max() / h)) + half) if dt.size else 0
        cols = 1 + (6 + k if variational else 0)
        y0 = np.zeros((n, 6, cols))
        y0[:, :3, 0], y0[:, 3:, 0] = r0, v0
        if variational:
            y0[:, :, 1:7] = np.eye(6)
        self.prepare(self._stage_times(epoch_ns, k_lo, k_hi))
        f = self._derivative(epoch_ns, params, variational)
        nodes = dop853_nodes(f, y0, h, k_lo, k_hi)
        out = _interpolate(nodes, k_lo, h, dt)
        return Propagation(times, out[:, :, :3, 0], out[:, :, 3:, 0],
                           out[:, :, :, 1:] if variational else None)


def _interpolate(nodes: np.ndarray, k_lo: int, h: float, dt: np.ndarray) -> np.ndarray:
    """Lagrange interpolation of the grid ``nodes`` (grid index i at ``(i + k_lo) h``) at times
    ``dt`` (s); exact at the nodes."""
    from ..orbits.precise import lagrange_weights

    x = dt / h - k_lo  # fractional node index
    on_node = np.abs(x - np.round(x)) < 1e-9
    out = np.empty((len(dt),) + nodes.shape[1:])
    idx = np.round(x[on_node]).astype(int)
    out[on_node] = nodes[idx]
    off = ~on_node
    if np.any(off):
        m = len(nodes)
        start = np.clip(np.floor(x[off]).astype(int) - (_LAGRANGE_POINTS // 2 - 1), 0,
                        m - _LAGRANGE_POINTS)
        win = start[:, None] + np.arange(_LAGRANGE_POINTS)
        w = lagrange_weights(x[off], win.astype(np.float64))
        out[off] = np.einsum("tw,tw...->t...", w, nodes[win])
    return out
