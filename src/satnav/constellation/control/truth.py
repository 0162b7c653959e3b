"""The truth world a control segment observes: satellite orbits with the precise dynamics
(:mod:`satnav.dynamics`: EGM96 12x12, solid tides, Sun/Moon, ECOM SRP with per-satellite
parameters drawn here and never shown to the estimator, relativity; IERS 2010 frames),
satellite and station clocks (:mod:`.clocks`), zenith wet delays, and the monitoring
stations' ionosphere-free code and carrier-phase observations with noise and multipath.

Observation model (ionosphere-free combination, metres)::

    P = rho + c (dt_station - dt_satellite) + ZHD m_h + ZWD m_w + multipath + noise
    L = rho + c (dt_station - dt_satellite) + ZHD m_h + ZWD m_w + B + noise

``rho`` is the geometric range in the GCRS from the satellite at transmission (light time,
second-order Taylor step from the epoch) to the station at reception; ZHD from Saastamoinen
with the standard atmosphere, Niell mapping functions; ``B`` a float ambiguity per
continuous pass. Clocks are relative to an ideal time scale; system time is the master
station's clock (``clock_vs_system_s``). Not modelled: Shapiro delay, antenna offsets and
phase centre variations, phase wind-up, inter-frequency/hardware biases.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...constants import GM_EARTH, OMEGA_E_GPS, SPEED_OF_LIGHT
from ...gnss_time import NS_PER_S
from .clocks import simulate_clock
from .network import MonitoringNetwork

__all__ = ["TruthWorld", "build_truth", "MonitoringData", "simulate_monitoring",
           "satellite_at_transmission", "FaultSpec"]

#: Clock standard of each designed satellite by orbit type (the truth's choice).
SATELLITE_CLOCKS = {"GEO": "rubidium", "IGSO": "passive-maser", "MEO": "rubidium", "KEPLER": "rubidium"}


@dataclass(frozen=True)
class FaultSpec:
    """An injected fault: ``kind`` ``"clock_jump"`` (``size_m`` step), ``"clock_ramp"``
    (``size_m`` per hour) or ``"manoeuvre"`` (an impulsive along-track velocity change of
    ``size_m`` m/s, at the first epoch at or after ``time_h``), on ``satellite`` from
    ``time_h`` hours after the start."""

    satellite: str
    kind: str
    time_h: float
    size_m: float


@dataclass
class TruthWorld:
    """Truth at the epochs ``time_ns`` (T,): GCRS and ITRS satellite states (T, n, 3), the
    GCRS->ITRS matrices (T, 3, 3), clocks (s) of satellites (T, n) and stations (T, m) against
    ideal time, zenith wet delays (T, m), SRP parameters (n, k)."""

    time_ns: np.ndarray
    sat: np.ndarray
    ids: list
    position_gcrs_m: np.ndarray
    velocity_gcrs_m_s: np.ndarray
    rotation: np.ndarray
    position_itrs_m: np.ndarray
    velocity_itrs_m_s: np.ndarray
    satellite_clock_s: np.ndarray
    station_clock_s: np.ndarray
    zwd_m: np.ndarray
    srp_parameters: np.ndarray
    srp_model: str
    initial_state_gcrs: np.ndarray
    master_index: int

    def satellite_clock_vs_system_s(self) -> np.ndarray:
        """(T, n) satellite clocks against system time (the master station's clock)."""
        return self.satellite_clock_s - self.station_clock_s[:, [self.master_index]]


def _initial_gcrs_state(constellation):
    from ...models.earth_orientation import gcrs_to_itrs_matrix
    from ..propagate import eci_to_ecef

    epoch = constellation.epoch_ns
    r_i, v_i = constellation.initial_state()
    r_e, v_e = eci_to_ecef(r_i[None], v_i[None], np.array([epoch]), epoch)
    r_e, v_e = r_e[0], v_e[0]
    rot = gcrs_to_itrs_matrix(np.array([epoch], dtype=np.int64), subdaily=True)[0]
    omega = np.array([0.0, 0.0, OMEGA_E_GPS])
    return np.concatenate([r_e @ rot, (v_e + np.cross(omega, r_e)) @ rot], axis=1)


def _itrs_velocity(rot, v_gcrs, r_itrs):
    omega = np.array([0.0, 0.0, OMEGA_E_GPS])
    return np.einsum("tij,tnj->tni", rot, v_gcrs) - np.cross(omega, r_itrs)


def build_truth(constellation, network: MonitoringNetwork, time_ns, *, seed: int = 1,
                srp: str = "ecom5", faults=(), step_s: float = 300.0, degree: int = 12) -> TruthWorld:
    """Propagate the designed satellites with the precise dynamics from the constellation's
    epoch to the epochs ``time_ns`` (evenly spaced), and draw clocks and wet delays."""
    from ...dynamics.forces import ForceModel
    from ...dynamics.propagator import Propagator
    from ...models.earth_orientation import gcrs_to_itrs_matrix

    rng = np.random.default_rng(seed)
    times = np.asarray(time_ns, dtype=np.int64)
    n = len(constellation)
    model = ForceModel(srp=srp, degree=degree)
    k = len(model.srp_parameters)
    params = np.zeros((n, k))
    names = model.srp_parameters
    # the ECOM5 terms from the world's generator, any further terms of a richer model from
    # their own: a truth with extra SRP terms keeps the same ECOM5 values and clocks
    extra = np.random.default_rng(seed + 7919)
    for name in ("D0", "Y0", "B0", "Bc", "Bs"):
        if name in names:
            params[:, names.index(name)] = (-rng.uniform(60.0, 140.0, n) if name == "D0"  # ~ 0.01-0.02 m^2/kg
                                            else rng.normal(0.0, 1.5 if name.startswith("B") else 0.5, n))
    for j, name in enumerate(names):
        if name not in ("D0", "Y0", "B0", "Bc", "Bs"):
            params[:, j] = extra.normal(0.0, 1.5 if name.startswith("B") else 0.5, n)
    state0 = _initial_gcrs_state(constellation)
    prop = Propagator(model, step_s).propagate(constellation.epoch_ns, state0[:, :3], state0[:, 3:],
                                               times, params)
    ids = constellation.ids
    hours = (times - times[0]) / 3.6e12
    for fault in faults:
        if fault.kind != "manoeuvre":
            continue
        j = ids.index(fault.satellite)
        k = int(np.searchsorted(hours, fault.time_h))
        if k >= len(times):
            continue
        r, v = prop.position_m[k, j], prop.velocity_m_s[k, j]
        v = v + fault.size_m * v / np.linalg.norm(v)
        after = Propagator(model, step_s).propagate(int(times[k]), r[None], v[None], times[k:], params[[j]])
        prop.position_m[k:, j] = after.position_m[:, 0]
        prop.velocity_m_s[k:, j] = after.velocity_m_s[:, 0]
    rot = gcrs_to_itrs_matrix(times, subdaily=True)
    r_itrs = np.einsum("tij,tnj->tni", rot, prop.position_m)
    v_itrs = _itrs_velocity(rot, prop.velocity_m_s, r_itrs)
    interval = float(np.median(np.diff(times))) / NS_PER_S if len(times) > 1 else 30.0
    sat_clock = np.stack([
        simulate_clock(SATELLITE_CLOCKS.get(str(kind), "rubidium"), len(times), interval, rng,
                       offset_s=rng.uniform(-5e-4, 5e-4), frequency=rng.normal(0, 1e-11))
        for kind in constellation.orbit_type], axis=1)
    for fault in faults:
        j = ids.index(fault.satellite)
        after = hours >= fault.time_h
        if fault.kind == "clock_jump":
            sat_clock[after, j] += fault.size_m / SPEED_OF_LIGHT
        elif fault.kind == "clock_ramp":
            sat_clock[after, j] += (hours[after] - fault.time_h) * fault.size_m / SPEED_OF_LIGHT
    sta_clock = np.stack([
        simulate_clock(s.clock, len(times), interval, rng,
                       offset_s=rng.uniform(-3e-8, 3e-8) if s.master else rng.uniform(-1e-6, 1e-6),
                       frequency=rng.normal(0, 1e-14) if s.master else rng.normal(0, 1e-12))
        for s in network.stations], axis=1)
    m = len(network.stations)
    walk = np.cumsum(rng.normal(0.0, 0.01 * np.sqrt(interval / 3600.0), (len(times), m)), axis=0)
    zwd = np.clip(rng.uniform(0.05, 0.25, m) + walk, 0.0, None)
    return TruthWorld(times, constellation.sat.copy(), ids, prop.position_m, prop.velocity_m_s, rot,
                      r_itrs, v_itrs, sat_clock, sta_clock, zwd, params, srp, state0,
                      network.master_index)


def satellite_at_transmission(r_sat, v_sat, r_sta, iterations: int = 3):
    """GCRS satellite positions at transmission for reception at the epoch: ``r - v tau + a
    tau^2 / 2`` (point-mass ``a``), ``tau = |r(t - tau) - r_station| / c``; returns the
    positions and the geometric ranges (m). Shapes broadcast: (..., 3)."""
    acc = -GM_EARTH * r_sat / np.linalg.norm(r_sat, axis=-1, keepdims=True) ** 3
    tau = np.linalg.norm(r_sat - r_sta, axis=-1, keepdims=True) / SPEED_OF_LIGHT
    for _ in range(iterations):
        r_tx = r_sat - v_sat * tau + 0.5 * acc * tau * tau
        rho = np.linalg.norm(r_tx - r_sta, axis=-1, keepdims=True)
        tau = rho / SPEED_OF_LIGHT
    return r_tx, rho[..., 0]


def troposphere_zenith_and_mapping(stations_itrs, elevation_rad, time_ns):
    """(ZHD (m, per station), hydrostatic and wet mapping (T, m, n)) for the stations."""
    from ...frames import ecef_to_geodetic
    from ...gnss_time import ns_to_calendar
    from ...models.troposphere import niell_mapping, saastamoinen_zenith, standard_atmosphere

    lat, _lon, h = ecef_to_geodetic(stations_itrs)
    p, t, e = standard_atmosphere(h)
    zhd, _ = saastamoinen_zenith(lat, h, p, t, e)
    year, month, day = (int(np.ravel(x)[0]) for x in ns_to_calendar(np.asarray(time_ns[:1], dtype=np.int64))[:3])
    doy = float((np.datetime64(f"{year:04d}-{month:02d}-{day:02d}") - np.datetime64(f"{year:04d}-01-01"))
                / np.timedelta64(1, "D")) + 1.0
    el = np.clip(elevation_rad, np.radians(1.0), None)
    mh, mw = niell_mapping(lat[None, :, None], h[None, :, None], el, doy)
    return zhd, mh, mw


@dataclass
class MonitoringData:
    """Monitoring observations (T, m, n), metres, NaN where not observed: ionosphere-free code
    and phase; ``pass_id`` (T, m, n) numbers the continuous passes (-1 unobserved)."""

    time_ns: np.ndarray
    code_m: np.ndarray
    phase_m: np.ndarray
    pass_id: np.ndarray
    stations_itrs_m: np.ndarray
    station_names: list
    master_index: int
    mask_deg: float


def geometry(r_sat_gcrs, v_sat_gcrs, rotation, stations_itrs):
    """Ranges (T, m, n), elevations (T, m, n) and GCRS line-of-sight unit vectors (station to
    satellite, (T, m, n, 3)) for satellites (T, n, 3) seen from ITRS stations (m, 3)."""
    sta_gcrs = np.einsum("tji,mj->tmi", rotation, stations_itrs)  # R^T r
    r_tx, rho = satellite_at_transmission(r_sat_gcrs[:, None], v_sat_gcrs[:, None], sta_gcrs[:, :, None])
    los = (r_tx - sta_gcrs[:, :, None]) / rho[..., None]
    up = stations_itrs / np.linalg.norm(stations_itrs, axis=1, keepdims=True)
    up_gcrs = np.einsum("tji,mj->tmi", rotation, up)
    el = np.arcsin(np.clip(np.einsum("tmi,tmni->tmn", up_gcrs, los), -1, 1))
    return rho, el, los


def simulate_monitoring(truth: TruthWorld, network: MonitoringNetwork, *, seed: int = 2,
                        code_sigma_m: float = 0.3, phase_sigma_m: float = 0.003,
                        multipath_m: float = 0.3) -> MonitoringData:
    """Ionosphere-free code and phase of every station to every satellite above the mask.

    Noise: ``sigma / sin(elevation)`` white; code multipath a sum of two sinusoids of the
    elevation (periods of a few degrees) with amplitude ``multipath_m`` at the horizon
    decreasing as ``cos(elevation)^2`` (a GEO sees a nearly constant multipath bias)."""
    rng = np.random.default_rng(seed)
    stations = network.positions_m
    rho, el, _ = geometry(truth.position_gcrs_m, truth.velocity_gcrs_m_s, truth.rotation, stations)
    zhd, mh, mw = troposphere_zenith_and_mapping(stations, el, truth.time_ns)
    tropo = zhd[None, :, None] * mh + truth.zwd_m[:, :, None] * mw
    clocks = SPEED_OF_LIGHT * (truth.station_clock_s[:, :, None] - truth.satellite_clock_s[:, None, :])
    visible = (el >= np.radians(network.mask_deg)) & network.available(truth.time_ns, int(truth.time_ns[0]))[:, :, None]
    sin_el = np.sin(np.clip(el, np.radians(5), None))
    phase0 = rng.uniform(0, 2 * np.pi, el.shape[1:] + (2,))
    mp = multipath_m * np.cos(el) ** 2 * (np.sin(np.degrees(el) / 3.0 * 2 * np.pi + phase0[..., 0])
                                         + 0.5 * np.sin(np.degrees(el) / 1.3 * 2 * np.pi + phase0[..., 1])) / 1.5
    code = rho + clocks + tropo + mp + rng.standard_normal(el.shape) * code_sigma_m / sin_el
    phase = rho + clocks + tropo + rng.standard_normal(el.shape) * phase_sigma_m / sin_el
    # passes: a new pass (and ambiguity) after every gap
    pass_id = np.full(el.shape, -1, dtype=np.int64)
    start = visible & ~np.concatenate([np.zeros((1,) + visible.shape[1:], bool), visible[:-1]], axis=0)
    counter = np.cumsum(start.reshape(len(el), -1), axis=0).reshape(el.shape)
    pair = np.arange(el.shape[1] * el.shape[2]).reshape(el.shape[1:])
    ids = pair[None] * 1000 + counter
    pass_id[visible] = ids[visible]
    uniq, inv = np.unique(pass_id[visible], return_inverse=True)
    pass_id[visible] = inv
    ambiguity = rng.uniform(-1e3, 1e3, len(uniq))
    phase[visible] += ambiguity[inv]
    code[~visible] = np.nan
    phase[~visible] = np.nan
    return MonitoringData(truth.time_ns, code, phase, pass_id, stations, network.names,
                          network.master_index, network.mask_deg)
