"""A small, independent pseudorange simulator for estimator tests.

Satellites fly circular orbits in an inertial frame; their ECEF states follow from the
Earth rotation. Pseudoranges are made by solving the light-time equation in the inertial
frame (no Sagnac formula involved), so the solver's Sagnac handling, clock groups,
transmission-time computation and least squares are checked against geometry computed
a different way. Atmospheric delays use the model functions (their own tests check them
against the ICD / hand values).
"""

from __future__ import annotations

import numpy as np

from satnav.constants import FREQ_L1, OMEGA_E_GPS, SPEED_OF_LIGHT
from satnav.frames import azimuth_elevation, ecef_to_geodetic
from satnav.models.ionosphere import klobuchar_gps
from satnav.models.troposphere import saastamoinen_delay
from satnav.observations import Observations, ObsHeader
from satnav.orbits.states import SatelliteStates

C = SPEED_OF_LIGHT
GPSA = (4.6566e-09, 1.4901e-08, -5.9605e-08, -1.1921e-07)
GPSB = (8.1920e04, 9.8304e04, -6.5536e04, -5.2429e05)
T0 = 2111 * 604800 * 10**9 + 4 * 86400 * 10**9  # 2020-06-25 00:00 GPST
RECEIVER = np.array([3582104.8024, 532590.1716, 5232755.1824])


class Constellation:
    """Circular orbits: per satellite radius, inclination, node, phase; linear clocks."""

    def __init__(self, sats, radius, inclination, node, phase, clock0, clock1, group_delay):
        self.sats = np.asarray(sats, dtype=np.int16)
        self.radius = np.asarray(radius, float)
        self.inc = np.asarray(inclination, float)
        self.node = np.asarray(node, float)
        self.phase = np.asarray(phase, float)
        self.clock0 = np.asarray(clock0, float)
        self.clock1 = np.asarray(clock1, float)
        self.group_delay = np.asarray(group_delay, float)
        self.rate = np.sqrt(3.986005e14 / self.radius**3)

    def _index(self, sat):
        lookup = {int(s): i for i, s in enumerate(self.sats)}
        return np.array([lookup[int(s)] for s in np.ravel(sat)]).reshape(np.shape(sat))

    def inertial(self, sat, t_s):
        """Inertial position and velocity at t_s seconds after T0."""
        i = self._index(sat)
        u = self.phase[i] + self.rate[i] * t_s
        r, inc, node = self.radius[i], self.inc[i], self.node[i]
        cu, su = np.cos(u), np.sin(u)
        ci, si = np.cos(inc), np.sin(inc)
        cn, sn = np.cos(node), np.sin(node)
        pos = r[..., None] * np.stack([cn * cu - sn * su * ci, sn * cu + cn * su * ci, su * si], -1)
        vel = (r * self.rate[i])[..., None] * np.stack(
            [-cn * su - sn * cu * ci, -sn * su + cn * cu * ci, cu * si], -1
        )
        return pos, vel

    def ecef(self, sat, t_s):
        """ECEF position/velocity: the ECEF frame coincides with the inertial one at T0."""
        pos, vel = self.inertial(sat, t_s)
        a = OMEGA_E_GPS * t_s
        ca, sa = np.cos(a), np.sin(a)
        x = ca * pos[..., 0] + sa * pos[..., 1]
        y = -sa * pos[..., 0] + ca * pos[..., 1]
        p = np.stack([x, y, pos[..., 2]], -1)
        vx = ca * vel[..., 0] + sa * vel[..., 1] + OMEGA_E_GPS * y
        vy = -sa * vel[..., 0] + ca * vel[..., 1] - OMEGA_E_GPS * x
        v = np.stack([vx, vy, vel[..., 2]], -1)
        return p, v

    def clock(self, sat, t_s):
        i = self._index(sat)
        return self.clock0[i] + self.clock1[i] * t_s, self.clock1[i]

    def states(self, sat, time_ns, signal=None):
        sat = np.asarray(sat)
        t_s = (np.asarray(time_ns, dtype=np.int64) - T0) / 1e9
        pos, vel = self.ecef(sat, t_s)
        clk, drift = self.clock(sat, t_s)
        i = self._index(sat)
        shape = np.broadcast(sat, t_s).shape
        return SatelliteStates(
            position_m=pos, velocity_m_s=vel, clock_s=np.broadcast_to(clk, shape).copy(),
            clock_drift_s_s=np.broadcast_to(drift, shape).copy(), relativity_s=np.zeros(shape),
            group_delay_s=np.broadcast_to(self.group_delay[i], shape).copy(), iode=np.zeros(shape),
            message_toe_ns=np.full(shape, T0), valid=np.ones(shape, bool), reason=np.zeros(shape, np.int8),
        )


def make_constellation(seed=1):
    """24 GPS-like (G), 24 Galileo-like (E) and 12 GLONASS-like (R) satellites."""
    rng = np.random.default_rng(seed)
    sats, radius, inc, node, phase = [], [], [], [], []
    for sys_no, count, r, i_deg, planes in ((0, 24, 26_560e3, 55, 6), (2, 24, 29_600e3, 56, 3), (1, 12, 25_510e3, 64.8, 3)):
        for j in range(count):
            sats.append(sys_no * 100 + j + 1)
            radius.append(r)
            inc.append(np.radians(i_deg))
            node.append(2 * np.pi * (j % planes) / planes)
            phase.append(2 * np.pi * (j // planes) / (count // planes) + 0.3 * (j % planes))
    n = len(sats)
    return Constellation(
        sats, radius, inc, node, phase, clock0=rng.uniform(-5e-4, 5e-4, n),
        clock1=rng.uniform(-1e-11, 1e-11, n), group_delay=rng.uniform(-5e-9, 5e-9, n),
    )


def simulate(con, n_epochs=10, interval_s=30.0, receiver=RECEIVER, receiver_clock_s=None,
             isb_m=None, velocity=None, iono=True, tropo=True):
    """Pseudoranges (C1C), Doppler (D1C) and C/N0 (S1C) of all satellites above 0 degrees.

    ``receiver_clock_s(t)`` -> clock bias (s); ``isb_m``: dict system letter -> extra bias (m).
    Returns (Observations, truth dict)."""
    velocity = np.zeros(3) if velocity is None else np.asarray(velocity, float)
    receiver_clock_s = receiver_clock_s or (lambda t: 1e-4 + 1e-8 * t)
    isb_m = isb_m or {"R": 35.0, "E": -12.0}
    times, sats_rows, codes, values = [], [], [], []
    lat, lon, h = ecef_to_geodetic(receiver)
    epochs = T0 + (np.arange(n_epochs) * interval_s * 1e9).astype(np.int64)
    for tag in epochs:
        t_tag = (tag - T0) / 1e9
        dtr = receiver_clock_s(t_tag)
        t_true = t_tag - dtr
        rx = receiver + velocity * t_true
        # light time in the inertial frame: receiver rotated to inertial at t_true
        a = OMEGA_E_GPS * t_true
        ca, sa = np.cos(a), np.sin(a)
        rx_i = np.array([ca * rx[0] - sa * rx[1], sa * rx[0] + ca * rx[1], rx[2]])
        tau = np.full(len(con.sats), 0.075)
        for _ in range(6):
            p_i, _ = con.inertial(con.sats, t_true - tau)
            tau = np.linalg.norm(p_i - rx_i, axis=1) / C
        p_ecef, v_ecef = con.ecef(con.sats, t_true - tau)
        az, el = azimuth_elevation(rx, _rotate(p_ecef, tau))
        vis = el > 0
        dts, drift = con.clock(con.sats, t_true - tau)
        pr = C * tau + C * dtr - C * (dts - con.group_delay)
        if iono:
            pr = pr + klobuchar_gps(GPSA, GPSB, lat, lon, az, el, tag) * _iono_scale(con.sats)
        if tropo:
            pr = pr + saastamoinen_delay(lat, h, el)
        letters = np.array(list("GRECJIS"))[con.sats // 100]
        for s, b in isb_m.items():
            pr = pr + np.where(letters == s, b, 0.0)
        # Doppler from the numerical range rate (finite differences of the same model)
        rate = _range_rate(con, receiver, velocity, t_true, tau) + C * 1e-8 - C * drift
        doppler = -rate * FREQ_L1 / C
        for j in np.flatnonzero(vis):
            for code, val in (("C1C", pr[j]), ("D1C", doppler[j]), ("S1C", 30 + 20 * np.sin(el[j]))):
                times.append(tag)
                sats_rows.append(con.sats[j])
                codes.append(["C1C", "D1C", "S1C"].index(code))
                values.append(val)
    n = len(values)
    header = ObsHeader(approx_position_m=receiver + np.array([120.0, -80.0, 60.0]))
    obs = Observations(times, sats_rows, codes, values, np.zeros(n), np.zeros(n), ["C1C", "D1C", "S1C"], epochs, header=header)
    return obs, {"position": receiver, "isb_m": isb_m, "receiver_clock_s": receiver_clock_s}


def _iono_scale(sats):
    # everything on 1575.42 MHz here except GLONASS-like satellites on channel 0 (1602 MHz)
    return np.where(sats // 100 == 1, (FREQ_L1 / 1602e6) ** 2, 1.0)


def _rotate(p, tau):
    a = OMEGA_E_GPS * tau
    ca, sa = np.cos(a), np.sin(a)
    return np.stack([ca * p[:, 0] + sa * p[:, 1], -sa * p[:, 0] + ca * p[:, 1], p[:, 2]], -1)


def _range_rate(con, receiver, velocity, t, tau, dt=0.05):
    def geometric(tt):
        a = OMEGA_E_GPS * tt
        ca, sa = np.cos(a), np.sin(a)
        rx = receiver + velocity * tt
        rx_i = np.array([ca * rx[0] - sa * rx[1], sa * rx[0] + ca * rx[1], rx[2]])
        tt_tau = tau.copy()
        for _ in range(6):
            p_i, _ = con.inertial(con.sats, tt - tt_tau)
            tt_tau = np.linalg.norm(p_i - rx_i, axis=1) / C
        return tt_tau * C

    return (geometric(t + dt) - geometric(t - dt)) / (2 * dt)


class FakeNav:
    """Navigation stand-in carrying only the header's Klobuchar coefficients."""

    class header:  # noqa: N801 - attribute namespace like NavHeader
        iono_corrections = {"GPSA": np.array(GPSA), "GPSB": np.array(GPSB)}

    messages: dict = {}
