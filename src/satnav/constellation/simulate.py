"""Observation simulation: pseudorange, carrier phase, Doppler and C/N0 of designed systems.

:func:`simulate` produces, for a static site or a trajectory, the observations a receiver
would make of every satellite of a designed :class:`~satnav.constellation.design.Constellation`
above an elevation mask, together with the broadcast navigation messages that a user
receives (:func:`~satnav.constellation.broadcast.broadcast_navigation`) and the truth.
Everything is vectorized over ``epochs x satellites``.

Measurement model (signal ``s`` of satellite ``j`` at receiver time tag ``t``, SI units)::

    P  = rho + c (dt_r - dt_j) + I_s + T + m_P + e_P                  (m)
    L  = (rho + c (dt_r - dt_j) - I_s + T + m_L + e_L) / lambda_s + N  (cycles)
    D  = -(rho_dot + c (ddt_r - ddt_j) - dI_s/dt + dT/dt) / lambda_s + e_D   (Hz)
    S  = C/N0(el) + e_S                                                (dB-Hz)

* **Geometry / light time.** The true reception time is ``t_r = t - dt_r`` (the time tag
  is read on the receiver clock). The emission time ``t_r - tau`` is found by iterating
  ``tau = |R3(omega_e tau) r_j(t_r - tau) - r_r(t_r)| / c`` (4 iterations, converged far
  below a micrometre) in ECEF, with the satellite position at emission rotated into the
  ECEF frame of reception (Sagnac; IS-GPS-200 20.3.3.4.3.4, ``omega_e`` of WGS84;
  :func:`satnav.models.measurement.light_time_solve`).
  ``rho = c tau``. The range rate is the exact derivative of the light-time equation,
  ``rho_dot = e.(v_j - v_r) / (1 + e.v_j / c)``.
* **Truth orbits.** With ephemeris errors on (default), the satellites fly the propagated
  orbits (:func:`~satnav.constellation.propagate.propagate`, J2 + Sun + Moon); at the
  emission time the state is a second-order Taylor expansion from the epoch (two-body
  with the WGS84 GM + J2 + Coriolis + centrifugal acceleration,
  :func:`~satnav.constellation.propagate.acceleration_ecef`; |tau| < 0.15 s leaves
  < 1e-6 m). The user's broadcast messages are fits to those orbits, so the
  broadcast-ephemeris error is truth minus fitted message (centimetres: the fit residual).
  With ephemeris errors off (``noise_free``), the satellites fly the broadcast orbits
  themselves.
* **Satellite clocks.** ``dt_j`` = the broadcast clock polynomial (random per satellite,
  :func:`satellite_clock_polynomials`) + the relativistic periodic term ``-2 r.v / c^2`` of
  the truth orbit (not for GLONASS, whose broadcast clock contains it, GLONASS ICD 5.1)
  + the offset of the system's time scale from GPST (fractional part of
  ``Constellation.time_offset_s``: whole seconds such as BDT's 14 s are time-scale
  bookkeeping that the navigation messages already carry) + the clock prediction error
  (satellite-clock errors on): a constant plus a drift per satellite, normal with
  1-sigma ``sat_clock_sigma_m`` (0.5 m) and ``sat_clock_drift_sigma_m_h`` (0.3 m/h).
* **Receiver clock.** Two-state model (bias, drift): initial bias ``rx_clock_bias_s``
  (1e-4 s), initial drift ``rx_clock_drift_s_s`` (5e-9 s/s); with receiver-clock errors on,
  white frequency noise and random-walk frequency noise of a TCXO (Brown & Hwang,
  *Introduction to Random Signals and Applied Kalman Filtering*, 4th ed., 2012, sec. 9.3:
  ``q_bias = h0 / 2``, ``q_drift = 2 pi^2 h_-2`` with h0 = 2e-19 s, h_-2 = 2e-20 1/s).
* **Ionosphere.** GPS Klobuchar (IS-GPS-200 20.3.3.5.2.5) with the coefficients
  :data:`KLOBUCHAR_ALPHA` / :data:`KLOBUCHAR_BETA` (the GPS broadcast of 2020-06-25, from the
  ESBC00DNK navigation file of that day), which the navigation file header broadcasts
  (``GPSA``/``GPSB``); the truth is that delay times ``iono_scale`` (1.25: the broadcast
  model removes 80 % of the true delay), scaled to each carrier by ``(f_L1 / f)^2``
  (GLONASS per frequency channel). Code delayed, phase advanced by the same amount.
* **Troposphere.** Saastamoinen with the standard atmosphere and 1/sin(el) mapping
  (:func:`satnav.models.troposphere.saastamoinen_delay`), times ``tropo_scale`` (1.05: the
  user's standard-atmosphere model misses 5 % of the true delay).
* **Noise.** White, normal, elevation dependent (Euler & Goad 1991 form):
  ``sigma(el) = sigma_0 (1 + 3 exp(-el / 10 deg))`` with ``sigma_0`` the constellation's
  ``code_noise_m`` for code, ``phase_noise_m`` (2 mm) for phase, ``doppler_noise_m_s``
  (0.03 m/s) for Doppler, and 1 dB for C/N0.
* **Multipath.** One horizontal reflector ``reflector_height_m`` below the antenna (seeded,
  1.5-3 m): relative phase ``psi = 4 pi h sin(el) / lambda + phi_j`` (``phi_j`` random per
  satellite); code error ``M(el) cos(psi)`` with ``M(el) = multipath_code_m exp(-el / 15 deg)``
  (1 m at the horizon, 0.5 m at 10 deg); phase error
  ``lambda / (2 pi) atan2(a sin psi, 1 + a cos psi)`` with ``a = 0.5 exp(-el / 15 deg)``
  (Braasch, in *GPS: Theory and Applications* vol. I, AIAA 1996, ch. 14). Slow,
  quasi-periodic errors as real multipath is, without a recursion over epochs.
* **Doppler** rates of the ionospheric and tropospheric delays are central differences over
  the epochs (the phase rate they cause); multipath rates are left out.
* **C/N0** ``= 36 + 14 sin(el)`` dB-Hz (38.4 at 10 deg, 50 at the zenith).
* **Ambiguities.** Per satellite arc and signal, the integer that makes the phase equal
  the code at the arc's first epoch; LLI bit 0 set at arcs starting after the first epoch.

``noise_free=True`` (:meth:`ErrorModel.noise_free`) turns every random error off and makes
every deterministic one exactly what the user's broadcast models predict (orbits and
clocks = the messages, ionosphere = broadcast Klobuchar, troposphere = Saastamoinen with the
standard atmosphere): a standard single point positioning then recovers the truth to
millimetres. Individual switches and magnitudes are fields of :class:`ErrorModel`.

Outputs (:meth:`Simulation.write`): RINEX 3.05 observation file
(:func:`satnav.io.rinex_obs_writer.write_rinex_obs`), RINEX 3.05 navigation file
(:func:`~satnav.constellation.broadcast.write_broadcast`), the truth trajectory CSV and a
``simulation.json`` manifest that :mod:`satnav.constellation.evaluate` reads.
"""

from __future__ import annotations

import csv
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from ..constants import FREQ_L1, GM_EARTH, SPEED_OF_LIGHT
from ..errors import FormatError, SatnavError
from ..frames import ecef_to_geodetic, geodetic_to_ecef
from ..gnss_time import NS_PER_S, format_gpst, gps_week_tow, leap_seconds_at_gpst, ns_to_calendar
from ..io.atomic import atomic_output
from ..models import measurement
from ..models.corrections import relativistic_clock_correction
from ..observations import Observations, ObsHeader
from ..progress import ProgressCounter
from ..satellites import SYSTEMS, system_number_of, system_of
from ..signals import carrier_frequency, per_system
from .design import Constellation, combine

__all__ = [
    "ErrorModel",
    "Simulation",
    "simulate",
    "satellite_clock_polynomials",
    "read_trajectory_csv",
    "write_truth_csv",
    "KLOBUCHAR_ALPHA",
    "KLOBUCHAR_BETA",
    "Scenario",
    "load_scenario",
    "run_scenario",
    "scenario_constellations",
    "interpolate_trajectory",
    "DEFAULT_SITE",
]

#: Klobuchar coefficients broadcast by GPS on 2020-06-25 (ESBC00DNK_R_20201770000_01D_MN
#: header: ``GPSA 4.6566e-09 1.4901e-08 -5.9605e-08 -1.1921E-07``,
#: ``GPSB 8.1920e+04 9.8304e+04 -6.5536e+04 -5.2429E+05``).
KLOBUCHAR_ALPHA = (4.6566e-09, 1.4901e-08, -5.9605e-08, -1.1921e-07)
KLOBUCHAR_BETA = (8.1920e04, 9.8304e04, -6.5536e04, -5.2429e05)

_DEG = np.pi / 180.0
_OBS_KINDS = ("C", "L", "D", "S")


@dataclass
class ErrorModel:
    """Error switches and magnitudes of :func:`simulate` (module docstring for the models).

    Switches (bool): ``ephemeris``, ``satellite_clock``, ``receiver_clock``,
    ``ionosphere``, ``troposphere``, ``noise``, ``multipath``.
    """

    ephemeris: bool = True
    satellite_clock: bool = True
    receiver_clock: bool = True
    ionosphere: bool = True
    troposphere: bool = True
    noise: bool = True
    multipath: bool = True
    #: true ionosphere / broadcast Klobuchar; true troposphere / Saastamoinen model
    iono_scale: float = 1.25
    tropo_scale: float = 1.05
    sat_clock_sigma_m: float = 0.5
    sat_clock_drift_sigma_m_h: float = 0.3
    rx_clock_bias_s: float = 1.0e-4
    rx_clock_drift_s_s: float = 5.0e-9
    rx_clock_h0: float = 2.0e-19
    rx_clock_hm2: float = 2.0e-20
    phase_noise_m: float = 0.002
    doppler_noise_m_s: float = 0.03
    cn0_noise_db: float = 1.0
    multipath_code_m: float = 1.0
    multipath_phase_ratio: float = 0.5
    multipath_elevation_deg: float = 15.0
    #: the terms a precise point positioning user models (all from :mod:`satnav.models`):
    #: the antenna displaced by the solid Earth tide and the pole tide, Shapiro delay, phase
    #: wind-up (nominal yaw), troposphere = GPT/Saastamoinen hydrostatic and wet a priori with
    #: GMF mapping plus ``wet_delay_m`` of zenith wet delay the a priori does not know
    precise: bool = False
    wet_delay_m: float = 0.05
    #: satellite and receiver code and phase biases (per satellite / per system, per signal):
    #: codes normal with 1-sigma ``code_bias_sigma_m``, phases uniform within +-half a cycle
    signal_biases: bool = False
    code_bias_sigma_m: float = 1.0
    #: satellite antenna phase-centre offsets (with ``precise``; body frame, nominal yaw): per
    #: satellite z uniform 0.3-1.6 m (the scatter of the real GPS/Galileo offsets), x uniform
    #: +-0.2 m, and a z difference between the frequencies normal with 1-sigma 5 cm; written
    #: into the products' ANTEX by :func:`~satnav.constellation.precise_products.write_precise_products`
    satellite_antennas: bool = False

    @classmethod
    def noise_free(cls) -> ErrorModel:
        """No random error; deterministic errors exactly as the broadcast models predict."""
        return cls(
            ephemeris=False, satellite_clock=False, receiver_clock=False, noise=False,
            multipath=False, iono_scale=1.0, tropo_scale=1.0,
        )  # fmt: skip

    @classmethod
    def from_dict(cls, values: dict) -> ErrorModel:
        """Build from a dict (e.g. a scenario's ``[errors]`` table); unknown keys are errors."""
        names = set(cls.__dataclass_fields__)
        bad = [k for k in values if k not in names]
        if bad:
            raise FormatError(f"unknown error-model option(s) {', '.join(bad)}; known: {', '.join(sorted(names))}")
        return cls(**values)


@dataclass
class Simulation:
    """Result of :func:`simulate`.

    Attributes
    ----------
    obs : Observations
        Simulated observations (codes ``C..``, ``L..``, ``D..``, ``S..`` per signal).
    nav : satnav.io.rinex_nav.Navigation
        Broadcast messages the user receives (header carries the Klobuchar coefficients).
    constellation : Constellation
    times_ns : int64 (T,)
        Receiver time tags (GPST ns).
    receiver_ecef_m : (T, 3)
        True antenna position at each epoch (m, ECEF).
    receiver_clock_s : (T,)
        True receiver clock bias (s).
    elevation_deg, azimuth_deg : (T, n)
        Truth look angles of every satellite (NaN where no valid state).
    visible : bool (T, n)
        Above the mask (observed).
    errors : ErrorModel
    seed : int
    mask_deg : float
    broadcast : BroadcastFit or None
        The fit that produced ``nav`` (fit residuals), when :func:`simulate` made it.
    clock : ndarray (n, 3)
        Satellite clock polynomials used (pass with ``broadcast`` to reuse a fit).
    components : dict
        ``(T, n)`` truth components (m) of the first signal of each satellite:
        ``range``, ``iono``, ``tropo``, ``sat_clock`` (s), ``multipath``.
    """

    obs: Observations
    nav: object
    constellation: Constellation
    times_ns: np.ndarray
    receiver_ecef_m: np.ndarray
    receiver_clock_s: np.ndarray
    elevation_deg: np.ndarray
    azimuth_deg: np.ndarray
    visible: np.ndarray
    errors: ErrorModel
    seed: int
    mask_deg: float
    broadcast: object = None
    components: dict = field(default_factory=dict)
    name: str = "SIM1"
    clock: np.ndarray | None = None
    #: (n, 2) satellite clock prediction errors (s, s/s from the first epoch) added to ``clock``
    clock_error: np.ndarray | None = None
    #: signal biases added (m): ``{"satellite": {(sat, "C1C"): m}, "receiver": {("G", "L1C"): m}}``
    biases: dict = field(default_factory=dict)
    #: satellite antenna offsets simulated (m, body frame x, y, z): ``{(sat, band): (3,)}``
    satellite_pco_m: dict = field(default_factory=dict)

    def write(self, out_dir, *, name: str | None = None) -> dict[str, Path]:
        """Write the RINEX observation and navigation files, the truth CSV and
        ``simulation.json`` into ``out_dir`` (created). Returns the paths by role."""
        from ..io.rinex_obs_writer import write_rinex_obs
        from .broadcast import write_broadcast

        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        marker = (name or self.name).upper()
        stem = _long_name_stem(marker, int(self.times_ns[0]), self.times_ns)
        obs_path = out / f"{stem}_MO.rnx"
        nav_path = out / f"{stem.rsplit('_', 1)[0]}_MN.rnx"
        truth_path = out / "truth.csv"
        write_rinex_obs(self.obs, obs_path)
        write_broadcast(self.nav, nav_path)
        write_truth_csv(truth_path, self.times_ns, self.receiver_ecef_m, self.receiver_clock_s)
        groups: dict[str, list[str]] = {}
        for sys_name, sat in zip(self.constellation.system_name, self.constellation.sat):
            groups.setdefault(str(sys_name), []).append(system_of(int(sat)))
        manifest = {
            "format": "satnav-simulation-1",
            "observation": obs_path.name,
            "navigation": [nav_path.name],
            "truth": truth_path.name,
            "systems": {k: "".join(dict.fromkeys(v)) for k, v in groups.items()},
            "mask_deg": self.mask_deg,
            "seed": self.seed,
            "errors": asdict(self.errors),
            "start": format_gpst(int(self.times_ns[0])),
            "epochs": int(len(self.times_ns)),
            "static": bool(np.all(np.ptp(self.receiver_ecef_m, axis=0) < 1e-6)),
        }
        manifest_path = out / "simulation.json"
        with atomic_output(manifest_path, "w", encoding="utf-8") as fh:
            fh.write(json.dumps(manifest, indent=2) + "\n")
        return {"obs": obs_path, "nav": nav_path, "truth": truth_path, "manifest": manifest_path}


# --------------------------------------------------------------------------- clocks
def satellite_clock_polynomials(constellation: Constellation, seed: int = 0) -> np.ndarray:
    """Random satellite clock polynomials (n, 3): offset (s), drift (s/s), 0 at the
    constellation epoch. Offset uniform within +-0.5 ms, drift normal 1-sigma 3e-12 s/s
    (GPS/Galileo-like ``af0``/``af1`` magnitudes)."""
    rng = np.random.default_rng([int(seed), 7])
    n = len(constellation)
    out = np.zeros((n, 3))
    out[:, 0] = rng.uniform(-5e-4, 5e-4, n)
    out[:, 1] = rng.normal(0.0, 3e-12, n)
    return out


def _receiver_clock(times_ns, errors: ErrorModel, rng):
    """Bias (s) and drift (s/s) per epoch (two-state random walk, module docstring)."""
    t = (np.asarray(times_ns) - times_ns[0]).astype(np.float64) / NS_PER_S
    drift0, bias0 = errors.rx_clock_drift_s_s, errors.rx_clock_bias_s
    if not errors.receiver_clock:
        return bias0 + drift0 * t, np.full(len(t), drift0)
    dt = np.diff(t)
    q_bias = errors.rx_clock_h0 / 2.0
    q_drift = 2.0 * np.pi**2 * errors.rx_clock_hm2
    w_drift = rng.normal(0.0, 1.0, len(dt)) * np.sqrt(q_drift * dt)
    drift = drift0 + np.concatenate([[0.0], np.cumsum(w_drift)])
    w_bias = rng.normal(0.0, 1.0, len(dt)) * np.sqrt(q_bias * dt)
    # bias integrates the drift (trapezoid) plus white frequency noise
    steps = 0.5 * (drift[1:] + drift[:-1]) * dt + w_bias
    bias = bias0 + np.concatenate([[0.0], np.cumsum(steps)])
    return bias, drift


# --------------------------------------------------------------------------- geometry
class _TruthOrbit:
    """Satellite states at emission times given as offsets (s) from the epoch tags."""

    def __init__(self, constellation, nav, times_ns, use_broadcast):
        self.sat = constellation.sat
        self.times = times_ns
        self.nav = nav
        self.use_broadcast = use_broadcast
        self.valid = np.ones((len(times_ns), len(self.sat)), dtype=bool)
        self.broadcast_clock = None
        if not use_broadcast:
            from .propagate import acceleration_ecef, propagate

            track = propagate(constellation, times_ns)
            self.r0 = track.position_m
            self.v0 = track.velocity_m_s
            # second-order Taylor expansion over the flight time (< 0.1 s)
            self.a0 = acceleration_ecef(self.r0, self.v0, GM_EARTH)

    def at(self, offset_s):
        """Position, velocity (T, n, 3) at ``times + offset_s`` (offset (T, n) s)."""
        if not self.use_broadcast:
            dt = offset_s[..., None]
            pos = self.r0 + self.v0 * dt + 0.5 * self.a0 * dt * dt
            vel = self.v0 + self.a0 * dt
            return pos, vel
        from ..orbits.ephemeris import broadcast_states

        t_ns = self.times[:, None] + np.round(offset_s * NS_PER_S).astype(np.int64)
        rest = offset_s - (t_ns - self.times[:, None]).astype(np.float64) / NS_PER_S
        st = broadcast_states(self.nav, self.sat[None, :], t_ns)
        self.valid = np.asarray(st.valid, dtype=bool) & np.all(np.isfinite(st.position_m), -1)
        self.broadcast_clock = st.clock_s + st.clock_drift_s_s * rest
        return st.position_m + st.velocity_m_s * rest[..., None], st.velocity_m_s


def _light_time(orbit: _TruthOrbit, rx_pos, rx_vel, rx_clock_s, iterations: int = 4):
    """Emission-time iteration with Sagnac (:func:`satnav.models.measurement.light_time_solve`).
    Returns dict of (T, n) arrays."""
    m, n = len(orbit.times), len(orbit.sat)
    lt = measurement.light_time_solve(orbit.at, rx_pos[:, None, :], -rx_clock_s[:, None],
                                      np.full((m, n), 0.075), iterations=iterations)
    rate = measurement.range_rate_m_s(lt.unit_vector, lt.satellite_velocity_m_s, rx_vel[:, None, :])
    return {
        "rho": lt.range_m, "rate": rate, "los": lt.unit_vector, "pos": lt.position_m,
        "vel": lt.velocity_m_s, "offset": lt.emission_offset_s,
    }  # fmt: skip


# --------------------------------------------------------------------------- signals
#: Signals simulated for a system letter when a combined constellation no longer knows
#: which designed system defined which signal (RINEX 3 band + attribute;
#: :attr:`satnav.signals.SystemSignals.simulated_signals`).
DEFAULT_SIGNALS = per_system("simulated_signals", skip_empty=True)


def _signal_table(constellation: Constellation, signals_by_name: dict | None):
    """Per system letter: list of (band+attribute, frequency array over all sats).

    ``signals_by_name``: designed-system name -> (signals, fdma steps) of that system;
    without it the constellation's own signals are used when it is a single system, else
    :data:`DEFAULT_SIGNALS` with the standard frequencies."""
    table: dict[str, list[tuple[str, np.ndarray]]] = {}
    letters = system_of(np.asarray(constellation.sat))
    k = np.nan_to_num(constellation.fdma_channel, nan=0.0)
    single = len(set(constellation.system_name)) == 1
    for letter in dict.fromkeys(letters):
        sel = letters == letter
        freqs: dict[str, np.ndarray] = {}
        for sys_name in dict.fromkeys(constellation.system_name[sel]):
            in_sys = sel & (constellation.system_name == sys_name)
            if signals_by_name and sys_name in signals_by_name:
                sigs, steps = signals_by_name[sys_name]
            elif single:
                sigs, steps = constellation.signals, constellation.fdma_step_hz
            else:
                sigs, steps = {}, {}
                for key in DEFAULT_SIGNALS.get(str(letter), ()):
                    if letter == "R":
                        sigs[key] = float(carrier_frequency("R", key[0], 0))
                        steps[key] = float(carrier_frequency("R", key[0], 1)) - sigs[key]
                    else:
                        sigs[key] = float(carrier_frequency(str(letter), key[0]))
            for key, f0 in sigs.items():
                f = freqs.setdefault(key, np.full(len(sel), np.nan))
                f[in_sys] = (f0 + k * steps.get(key, 0.0))[in_sys]
        if not freqs:
            raise SatnavError(f"constellation {constellation.name!r} defines no signals for {letter}")
        table[str(letter)] = list(freqs.items())
    return table


def _elevation_factor(el_rad):
    """Euler & Goad (1991) style noise growth: 1 + 3 exp(-el / 10 deg)."""
    return 1.0 + 3.0 * np.exp(-el_rad / (10.0 * _DEG))


# --------------------------------------------------------------------------- main
#: Stages of :func:`simulate` reported to its ``progress`` callback.
SIMULATION_STAGES = 4


def simulate(
    constellation,
    receiver,
    times_ns,
    *,
    broadcast=None,
    clock=None,
    errors: ErrorModel | None = None,
    noise_free: bool = False,
    seed: int = 0,
    mask_deg: float = 10.0,
    name: str = "SIM1",
    satellite_seed: int | None = None,
    progress=None,
) -> Simulation:
    """Simulate observations of ``constellation`` at a site or along a trajectory.

    Parameters
    ----------
    constellation : Constellation or sequence of Constellation
        Designed satellites. A sequence is combined here and keeps each system's signals
        (a constellation combined beforehand uses :data:`DEFAULT_SIGNALS` per letter).
    receiver : array_like (3,) or (T, 3)
        True antenna position(s), ECEF (m): one static position, or one per epoch.
    times_ns : int64 array (T,)
        Receiver time tags, GPST ns (read on the receiver clock).
    broadcast : BroadcastFit or Navigation, optional
        Broadcast messages the user gets. Default: fitted here to the propagated orbits
        with the satellite clocks ``clock`` (:func:`broadcast_navigation`).
    clock : array (n, 1..3), optional
        Satellite clock polynomials at the constellation epoch (s, s/s, s/s^2); default
        :func:`satellite_clock_polynomials` (seeded) when ``broadcast`` is None, zero when
        a ``broadcast`` is given.
    errors : ErrorModel, optional
        Error switches and magnitudes (default :class:`ErrorModel()`).
    noise_free : bool
        Shortcut for ``errors=ErrorModel.noise_free()``.
    seed : int
        Seed of every random draw (same seed, same observations).
    satellite_seed : int, optional
        Seed of the errors that belong to the satellites, not to the receiver: the
        satellite clock prediction errors. Default ``seed``. Receivers observing the same
        satellites at the same time (a base and a rover) must share it, with the same
        ``broadcast`` and ``clock``, as real receivers share the satellites' clock errors
        (they cancel in between-receiver differences); give each receiver its own ``seed``
        for its own noise, multipath and clock. ``satellite_seed=k`` draws the same
        satellite clock errors as a simulation with ``seed=k``.
    mask_deg : float
        Elevation mask (deg): satellites below are not observed.
    name : str
        Marker name (4 characters are used in file names).
    progress : callable, optional
        ``progress(stages_done, SIMULATION_STAGES)`` (:mod:`satnav.progress`) after each
        stage: broadcast fit, truth orbits and light time, look angles and atmosphere,
        observations.

    Returns
    -------
    Simulation
    """
    from .broadcast import BroadcastFit, broadcast_navigation

    signals_by_name = None
    if not isinstance(constellation, Constellation):
        parts = list(constellation)
        signals_by_name = {c.name: (c.signals, c.fdma_step_hz) for c in parts}
        constellation = parts[0] if len(parts) == 1 else combine(*parts)
    if noise_free:
        errors = ErrorModel.noise_free()
    errors = errors or ErrorModel()
    times = np.atleast_1d(np.asarray(times_ns, dtype=np.int64))
    if times.ndim != 1 or len(times) == 0:
        raise SatnavError("simulate needs at least one epoch")
    if np.any(np.diff(times) <= 0):
        raise SatnavError("simulation epochs must increase")
    m, n = len(times), len(constellation)
    rx_pos = np.asarray(receiver, dtype=np.float64)
    if rx_pos.shape == (3,):
        rx_pos = np.broadcast_to(rx_pos, (m, 3)).copy()
    if rx_pos.shape != (m, 3):
        raise SatnavError(f"receiver positions must be (3,) or ({m}, 3), got {rx_pos.shape}")
    if np.any(np.linalg.norm(rx_pos, axis=1) < 6.2e6):
        raise SatnavError("receiver positions must be ECEF metres near the Earth's surface")
    rx_vel = np.zeros_like(rx_pos)
    if m > 1:
        dt_s = np.diff(times).astype(np.float64) / NS_PER_S
        rx_vel = np.gradient(rx_pos, np.concatenate([[0.0], np.cumsum(dt_s)]), axis=0)

    stages = ProgressCounter(progress, SIMULATION_STAGES)
    stages.update(0)
    seeds = np.random.SeedSequence(int(seed)).spawn(8)
    rngs = [np.random.default_rng(s) for s in seeds]

    fit = None
    if broadcast is None:
        if clock is None:
            clock = satellite_clock_polynomials(constellation, seed)
        margin = 60 * NS_PER_S
        fit = broadcast_navigation(constellation, int(times[0]) - margin, int(times[-1]) + margin, clock=clock)
        nav = fit.nav
    elif isinstance(broadcast, BroadcastFit):
        fit, nav = broadcast, broadcast.nav
    else:
        nav = broadcast
    coeff = np.zeros((n, 3))
    if clock is not None:
        c = np.asarray(clock, dtype=np.float64).reshape(n, -1)
        coeff[:, : c.shape[1]] = c
    stages.advance()  # broadcast messages fitted
    nav.header.iono_corrections = dict(nav.header.iono_corrections or {})
    nav.header.iono_corrections["GPSA"] = np.array(KLOBUCHAR_ALPHA)
    nav.header.iono_corrections["GPSB"] = np.array(KLOBUCHAR_BETA)

    # receiver clock and the true reception time
    rx_clock, rx_drift = _receiver_clock(times, errors, rngs[0])
    rx_true = rx_pos - rx_vel * rx_clock[:, None]
    sun = None
    if errors.precise:  # the antenna moves with the solid Earth tide and the pole tide
        sun, rx_true = _tidal_position(times, rx_true)

    orbit = _TruthOrbit(constellation, nav, times, use_broadcast=not errors.ephemeris)
    geo = _light_time(orbit, rx_true, rx_vel, rx_clock)
    valid = orbit.valid & np.isfinite(geo["rho"])
    stages.advance()  # truth orbits and light time

    letters = system_of(np.asarray(constellation.sat))
    glonass = letters == "R"
    # satellite clock (s) relative to GPST at emission
    t_emit_s = (times[:, None] - constellation.epoch_ns).astype(np.float64) / NS_PER_S + geo["offset"]
    if errors.ephemeris:
        poly = coeff[:, 0] + coeff[:, 1] * t_emit_s + coeff[:, 2] * t_emit_s**2
        rel = relativistic_clock_correction(geo["pos"], geo["vel"])
        sat_clock = poly + np.where(glonass, 0.0, rel)
    else:
        sat_clock = np.asarray(orbit.broadcast_clock, dtype=np.float64)
    sat_drift = coeff[:, 1] + 2 * coeff[:, 2] * t_emit_s
    offsets = constellation.time_offset_s - np.round(constellation.time_offset_s)
    sat_clock = sat_clock + offsets
    clock_error = np.zeros((n, 2))
    if errors.satellite_clock:
        rng = rngs[1]
        if satellite_seed is not None:  # the stream a simulation with seed=satellite_seed uses
            rng = np.random.default_rng(np.random.SeedSequence(int(satellite_seed)).spawn(8)[1])
        b = rng.normal(0.0, errors.sat_clock_sigma_m, n) / SPEED_OF_LIGHT
        d = rng.normal(0.0, errors.sat_clock_drift_sigma_m_h, n) / SPEED_OF_LIGHT / 3600.0
        hours_s = (times - times[0]).astype(np.float64)[:, None] / NS_PER_S
        sat_clock = sat_clock + b + d * hours_s
        sat_drift = sat_drift + d
        clock_error = np.column_stack([b, d])

    # look angles from the true receiver position
    lat, lon, h = ecef_to_geodetic(rx_true[:, None, :])
    az, el = measurement.look_angles(geo["los"], lat, lon)
    el = np.where(valid, el, np.nan)
    az = np.where(valid, az, np.nan)
    visible = valid & (el >= mask_deg * _DEG)

    # atmosphere (metres on L1 / any frequency)
    iono_l1 = np.zeros((m, n))
    if errors.ionosphere:
        iono_l1 = errors.iono_scale * measurement.ionospheric_delay_m(
            lat, lon, az, el, times[:, None], (KLOBUCHAR_ALPHA, KLOBUCHAR_BETA)
        )
    tropo = np.zeros((m, n))
    if errors.troposphere and errors.precise:
        tropo = _precise_troposphere(times, lat, lon, h, el, errors.wet_delay_m)
    elif errors.troposphere:
        tropo = errors.tropo_scale * measurement.tropospheric_delay_m(lat, h, el)
    # their rates for the Doppler (central differences over the epochs)
    d_iono_l1 = np.zeros((m, n))
    d_tropo = np.zeros((m, n))
    if m > 1:
        t_s = (times - times[0]).astype(np.float64) / NS_PER_S
        d_iono_l1 = np.nan_to_num(np.gradient(np.nan_to_num(iono_l1), t_s, axis=0))
        d_tropo = np.nan_to_num(np.gradient(np.nan_to_num(tropo), t_s, axis=0))
    iono_l1 = np.where(visible, iono_l1, 0.0)
    tropo = np.where(visible, tropo, 0.0)
    stages.advance()  # look angles and atmosphere

    # the code/phase model of satnav.models.measurement (predicted_code_m / predicted_phase_m)
    # with the truth terms, summed in the simulator's own order (clock difference first,
    # ionosphere last) so that simulated files stay bit for bit what they were
    common = geo["rho"] + SPEED_OF_LIGHT * (rx_clock[:, None] - sat_clock) + tropo
    windup = np.zeros((m, n))
    if errors.precise:
        from ..models.attitude import nominal_attitude
        from ..models.corrections import shapiro_delay_m

        common = common + shapiro_delay_m(geo["pos"], rx_true[:, None, :])
        axes = nominal_attitude(geo["pos"], sun[:, None, :])
        windup = _wind_up(geo, axes, lat[:, 0], lon[:, 0])
    elif errors.satellite_antennas:
        raise SatnavError("simulated satellite antenna offsets need ErrorModel(precise=True) (nominal attitude)")
    pco_rng = np.random.default_rng(np.random.SeedSequence(
        [int(seed if satellite_seed is None else satellite_seed), 23]))
    sat_pco: dict = {}
    pco_z = pco_rng.uniform(0.3, 1.6, n)
    pco_x = pco_rng.uniform(-0.2, 0.2, n)
    bias_rng = np.random.default_rng(np.random.SeedSequence([int(seed), 11]))
    sat_bias_rng = np.random.default_rng(np.random.SeedSequence(
        [int(seed if satellite_seed is None else satellite_seed), 13]))
    biases: dict = {"satellite": {}, "receiver": {}}
    rate = geo["rate"] + SPEED_OF_LIGHT * (rx_drift[:, None] - sat_drift) + d_tropo
    factor = _elevation_factor(np.where(visible, el, np.pi / 2))
    sin_el = np.sin(np.where(visible, el, np.pi / 2))
    reflector_h = rngs[2].uniform(1.5, 3.0)
    mp_phase0 = rngs[2].uniform(0.0, 2 * np.pi, n)
    arc_start = visible & ~np.vstack([np.zeros((1, n), bool), visible[:-1]])
    arc_id = np.maximum.accumulate(np.where(arc_start, np.arange(m)[:, None], 0), axis=0)
    lli = (arc_start & (np.arange(m)[:, None] > 0)).astype(np.int8)

    table = _signal_table(constellation, signals_by_name)
    noise_rng = rngs[3]
    cn0_base = 36.0 + 14.0 * sin_el
    codes: list[str] = []
    chunks = []  # (code index, value (m, n), lli, ssi, mask)
    first_signal = {}
    for letter, entries in table.items():
        sel = letters == letter
        for key, freq in entries:
            lam = SPEED_OF_LIGHT / freq
            iono = iono_l1 * (FREQ_L1 / freq) ** 2
            psi = 4 * np.pi * reflector_h * sin_el / lam + mp_phase0
            env = np.exp(-np.where(visible, el, np.pi / 2) / (errors.multipath_elevation_deg * _DEG))
            if errors.multipath:
                mp_code = errors.multipath_code_m * env * np.cos(psi)
                a = errors.multipath_phase_ratio * env
                mp_phase = lam / (2 * np.pi) * np.arctan2(a * np.sin(psi), 1 + a * np.cos(psi))
            else:
                mp_code = mp_phase = np.zeros((m, n))
            if errors.noise:
                sig0 = constellation.code_noise_m[None, :]
                e_p = noise_rng.normal(0.0, 1.0, (m, n)) * sig0 * factor
                e_l = noise_rng.normal(0.0, 1.0, (m, n)) * errors.phase_noise_m * factor
                e_d = noise_rng.normal(0.0, 1.0, (m, n)) * errors.doppler_noise_m_s * factor
                e_s = noise_rng.normal(0.0, errors.cn0_noise_db, (m, n))
            else:
                e_p = e_l = e_d = e_s = 0.0
            code_m = common + iono + mp_code + e_p
            phase_m = common - iono + mp_phase + e_l
            if errors.satellite_antennas:  # the signal leaves the antenna, not the centre of mass
                band_dz = pco_rng.normal(0.0, 0.05, n) if key[0] != table[letter][0][0][0] else np.zeros(n)
                pco = np.column_stack([pco_x, np.zeros(n), pco_z + band_dz])
                for j in np.flatnonzero(sel).tolist():
                    sat_pco[(int(constellation.sat[j]), key[0])] = pco[j].copy()
                d = np.einsum("ni,mnij->mnj", pco, axes)
                ant = np.where(sel[None, :], np.sum(geo["los"] * d, axis=-1), 0.0)
                code_m = code_m + ant
                phase_m = phase_m + ant
            # ambiguity: phase = code at the arc's first epoch (integer cycles)
            start_diff = (code_m - phase_m) / lam
            amb = np.round(np.take_along_axis(start_diff, arc_id, axis=0))
            phase_cyc = phase_m / lam + amb
            if errors.precise:
                phase_cyc = phase_cyc + windup
            if errors.signal_biases:  # added after the integer ambiguity: N stays an integer
                code_b, phase_b = _signal_biases(biases, letter, key, constellation.sat, sel, lam, errors,
                                                 sat_bias_rng, bias_rng)
                code_m = code_m + code_b[None, :]
                phase_cyc = phase_cyc + (phase_b / np.where(sel, lam, 1.0))[None, :]
            doppler = -(rate - d_iono_l1 * (FREQ_L1 / freq) ** 2 + e_d) / lam
            cn0 = cn0_base + e_s
            ssi = np.clip(np.floor(cn0 / 6.0), 1, 9).astype(np.int8)
            mask = visible & sel[None, :]
            for kind, values, flags in (
                ("C", code_m, None), ("L", phase_cyc, lli), ("D", doppler, None), ("S", cn0, None)
            ):  # fmt: skip
                code = kind + key
                if code not in codes:
                    codes.append(code)
                chunks.append((codes.index(code), values, flags, ssi if kind in "CL" else None, mask))
            if letter not in first_signal:
                first_signal[letter] = (iono, mp_code)

    iono_first = np.zeros((m, n))
    mp_first = np.zeros((m, n))
    for letter, (iono, mp) in first_signal.items():
        sel = letters == letter
        iono_first[:, sel] = iono[:, sel]
        mp_first[:, sel] = mp[:, sel]

    obs = _assemble(times, constellation.sat, codes, chunks)
    obs.header = _header(constellation, obs, times, rx_pos, name, errors, seed, mask_deg)
    obs.source = "simulation"
    components = {
        "range": np.where(visible, geo["rho"], np.nan),
        "iono": np.where(visible, iono_first, np.nan),
        "tropo": np.where(visible, tropo, np.nan),
        "sat_clock": np.where(valid, sat_clock, np.nan),
        "multipath": np.where(visible, mp_first, np.nan),
    }
    stages.finish()
    return Simulation(
        obs=obs, nav=nav, constellation=constellation, times_ns=times, receiver_ecef_m=rx_pos,
        receiver_clock_s=rx_clock, elevation_deg=np.degrees(el), azimuth_deg=np.degrees(az),
        visible=visible, errors=errors, seed=int(seed), mask_deg=float(mask_deg), broadcast=fit,
        components=components, name=name, clock=coeff, clock_error=clock_error, biases=biases,
        satellite_pco_m=sat_pco,
    )  # fmt: skip


def _tidal_position(times, rx_true):
    """(Sun ITRS (T, 3), antenna displaced by the solid Earth tide (IERS 2010 ch. 7) and
    the pole tide) with the models the PPP user applies (:mod:`satnav.models`)."""
    from ..models.earth_orientation import eop_at
    from ..models.pole_tide import pole_tide_displacement
    from ..models.solid_tide import solid_tide_displacement
    from ..models.sun_moon import sun_moon_itrs

    eop = eop_at(times)
    sun, moon = sun_moon_itrs(times, eop)
    disp = solid_tide_displacement(rx_true, sun, moon, times) + pole_tide_displacement(rx_true, times, eop)
    return sun, rx_true + disp


def _precise_troposphere(times, lat, lon, h, el, wet_delay_m):
    """Slant delay (m): GPT pressure/temperature, Saastamoinen zenith hydrostatic and wet
    delays plus ``wet_delay_m``, Global Mapping Functions (IERS 2010 ch. 9)."""
    from ..models.earth_orientation import GPS_EPOCH_MJD
    from ..models.troposphere import gmf_mapping, gpt, saastamoinen_zenith, water_vapour_pressure

    mjd = GPS_EPOCH_MJD + times / (86400.0 * NS_PER_S)
    lat1, lon1, h1 = lat[:, 0], lon[:, 0], h[:, 0]
    pres, temp, undulation = gpt(mjd, lat1, lon1, h1)
    zhd, zwd = saastamoinen_zenith(lat1, h1, pres, temp, water_vapour_pressure(temp))
    mh, mw = gmf_mapping(mjd[:, None], lat1[:, None], lon1[:, None], (h1 - undulation)[:, None],
                         np.where(np.isfinite(el), el, np.pi / 2))
    return zhd[:, None] * mh + (zwd + wet_delay_m)[:, None] * mw


def _wind_up(geo, axes, lat, lon):
    """Phase wind-up (cycles, (T, n)) of a levelled antenna, satellites in nominal yaw
    (body ``axes`` (T, n, 3, 3) of :func:`satnav.models.attitude.nominal_attitude`;
    :mod:`satnav.models.wind_up`), continuous over the epochs."""
    from ..frames import enu_rotation
    from ..models.wind_up import wind_up_cycles

    enu = enu_rotation(lat, lon)
    w = np.nan_to_num(wind_up_cycles(axes, enu[:, None, 1, :], -enu[:, None, 0, :], -geo["los"]))
    steps = np.diff(w, axis=0)
    return w[:1] + np.vstack([np.zeros((1, w.shape[1])), np.cumsum(steps - np.round(steps), axis=0)])


def _signal_biases(biases, letter, key, sats, sel, lam, errors, sat_rng, rx_rng):
    """Code and phase biases (m, each (n,), zero outside ``sel``) of signal ``key`` of the
    satellites ``sats[sel]`` of system ``letter`` (wavelengths ``lam`` (n,) m): satellite +
    receiver (the receiver's common to the system); recorded in ``biases``."""
    k = int(np.count_nonzero(sel))
    lam_sel = np.asarray(lam, dtype=np.float64)[sel]
    sat_code = sat_rng.normal(0.0, errors.code_bias_sigma_m, k)
    sat_phase = sat_rng.uniform(-0.5, 0.5, k) * lam_sel
    rx_code = float(rx_rng.normal(0.0, errors.code_bias_sigma_m))
    rx_cycles = float(rx_rng.uniform(-0.5, 0.5))
    for s, bc, bp in zip(np.asarray(sats)[sel].tolist(), sat_code, sat_phase):
        biases["satellite"][(int(s), "C" + key)] = float(bc)
        biases["satellite"][(int(s), "L" + key)] = float(bp)
    biases["receiver"][(letter, "C" + key)] = rx_code
    biases["receiver"][(letter, "L" + key)] = rx_cycles * float(np.nanmedian(lam_sel)) if k else 0.0
    code, phase = np.zeros(len(sel)), np.zeros(len(sel))
    code[sel] = sat_code + rx_code
    phase[sel] = sat_phase + rx_cycles * lam_sel
    return code, phase


def _assemble(times, sats, codes, chunks) -> Observations:
    """Columnar rows (time, sat, code) sorted as the data model requires."""
    # reorder codes: per band C, L, D, S (RINEX habit), keep rows consistent
    order = sorted(range(len(codes)), key=lambda i: (codes[i][1:], _OBS_KINDS.index(codes[i][0])))
    remap = np.empty(len(codes), dtype=np.int16)
    remap[order] = np.arange(len(codes))
    codes_sorted = [codes[i] for i in order]
    t_parts, s_parts, c_parts, v_parts, l_parts, q_parts = [], [], [], [], [], []
    for ci, values, flags, ssi, mask in chunks:
        ei, si = np.nonzero(mask)
        t_parts.append(times[ei])
        s_parts.append(sats[si])
        c_parts.append(np.full(len(ei), remap[ci], dtype=np.int16))
        v_parts.append(values[ei, si])
        l_parts.append(np.zeros(len(ei), np.int8) if flags is None else flags[ei, si])
        q_parts.append(np.zeros(len(ei), np.int8) if ssi is None else ssi[ei, si])
    t = np.concatenate(t_parts) if t_parts else np.zeros(0, np.int64)
    s = np.concatenate(s_parts) if s_parts else np.zeros(0, np.int16)
    c = np.concatenate(c_parts) if c_parts else np.zeros(0, np.int16)
    rows = np.lexsort((c, s, t))
    return Observations(
        t[rows], s[rows], c[rows], np.concatenate(v_parts)[rows], np.concatenate(l_parts)[rows],
        np.concatenate(q_parts)[rows], codes_sorted, times,
    )  # fmt: skip


def _header(constellation, obs, times, rx_pos, name, errors, seed, mask_deg) -> ObsHeader:
    codes_by_system = {}
    for letter in dict.fromkeys(system_of(np.asarray(constellation.sat)).tolist()):
        present = obs.codes_by_system().get(letter)
        if present:
            codes_by_system[letter] = [c for c in obs.codes if c in present]
    slots = {}
    for sid, sat, k in zip(constellation.ids, constellation.sat, constellation.fdma_channel):
        if system_number_of(sat) == SYSTEMS.index("R") and np.isfinite(k):
            slots[sid] = int(k)
    switches = ", ".join(
        f"{k}={'on' if getattr(errors, k) else 'off'}"
        for k in ("ephemeris", "satellite_clock", "receiver_clock", "ionosphere", "troposphere", "noise", "multipath")
    )
    comments = [
        "satnav.constellation.simulate: simulated observations",
        f"systems: {', '.join(dict.fromkeys(constellation.system_name))}"[:60],
        f"seed {seed}, elevation mask {mask_deg:g} deg",
    ]
    for i in range(0, len(switches), 58):
        comments.append(switches[i : i + 58])
    interval = float(np.median(np.diff(times))) / NS_PER_S if len(times) > 1 else None
    systems = list(codes_by_system)
    return ObsHeader(
        version=3.05,
        system=systems[0] if len(systems) == 1 else "M",
        program="satnav",
        run_by="satnav.constellation",
        marker_name=name,
        marker_type="GEODETIC" if np.all(np.ptp(rx_pos, axis=0) < 1e-6) else "NON_GEODETIC",
        observer="simulation",
        agency="satnav",
        receiver_number="0",
        receiver_type="SATNAV SIMULATOR",
        receiver_version="1",
        antenna_number="0",
        antenna_type="SIMULATED       NONE",
        approx_position_m=np.array(rx_pos[0], dtype=np.float64),
        antenna_delta_hen_m=np.zeros(3),
        obs_codes=codes_by_system,
        signal_strength_unit="DBHZ",
        interval_s=interval,
        time_of_first_obs_ns=int(times[0]),
        time_of_last_obs_ns=int(times[-1]),
        time_system="GPS",
        leap_seconds=int(leap_seconds_at_gpst(np.int64(times[0]))),
        glonass_slots=slots,
        glonass_code_phase_bias={"C1C": 0.0, "C1P": 0.0, "C2C": 0.0, "C2P": 0.0} if slots else {},
        comments=comments,
    )


def _long_name_stem(marker: str, start_ns: int, times) -> str:
    """RINEX 3 long-name stem ``MMMM00SIM_S_YYYYDOYHHMM_DDU_IIU``."""
    y, mo, d, hh, mi, _ = ns_to_calendar(np.int64(start_ns))
    import datetime as _dt

    doy = _dt.date(int(y), int(mo), int(d)).timetuple().tm_yday
    span_s = (int(times[-1]) - int(times[0])) / NS_PER_S + (
        (int(times[1]) - int(times[0])) / NS_PER_S if len(times) > 1 else 1
    )
    if span_s >= 86400:
        span = f"{int(round(span_s / 86400)):02d}D"
    elif span_s >= 3600:
        span = f"{int(round(span_s / 3600)):02d}H"
    else:
        span = f"{max(1, int(round(span_s / 60))):02d}M"
    interval = (int(times[1]) - int(times[0])) / NS_PER_S if len(times) > 1 else 1
    ival = f"{int(round(interval)):02d}S" if interval < 100 else f"{int(round(interval / 60)):02d}M"
    m4 = (marker + "XXXX")[:4]
    return f"{m4}00SIM_S_{int(y):04d}{doy:03d}{int(hh):02d}{int(mi):02d}_{span}_{ival}"


# --------------------------------------------------------------------------- truth files
def write_truth_csv(path, times_ns, ecef_m, clock_s=None) -> None:
    """Truth trajectory CSV: time (GPST ISO), GPS week/seconds, lat/lon (deg), height (m),
    ECEF x/y/z (m) and the receiver clock bias (s)."""
    times = np.asarray(times_ns, dtype=np.int64)
    pos = np.asarray(ecef_m, dtype=np.float64)
    lat, lon, h = ecef_to_geodetic(pos)
    week, tow = gps_week_tow(times)
    clock = np.full(len(times), np.nan) if clock_s is None else np.asarray(clock_s)
    with atomic_output(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["time", "gps_week", "gps_seconds", "lat_deg", "lon_deg", "height_m",
                    "x_m", "y_m", "z_m", "clock_s"])  # fmt: skip
        for i in range(len(times)):
            w.writerow([
                format_gpst(int(times[i])), int(week[i]), f"{float(tow[i]):.3f}",
                f"{np.degrees(lat[i]):.10f}", f"{np.degrees(lon[i]):.10f}", f"{h[i]:.4f}",
                f"{pos[i, 0]:.4f}", f"{pos[i, 1]:.4f}", f"{pos[i, 2]:.4f}", f"{clock[i]:.12e}",
            ])  # fmt: skip


def read_trajectory_csv(path):
    """Read a trajectory CSV with columns ``time, lat, lon, height`` (header names may be
    ``lat_deg``/``lon_deg``/``height_m``; ``time`` ISO GPST like ``2020-06-25T01:00:00`` or
    GPS seconds since 1980-01-06). Returns (times_ns int64 (T,), ecef_m (T, 3)) sorted by time.
    Also reads :func:`write_truth_csv` output."""
    from ..gnss_time import calendar_to_ns

    path = Path(path)
    try:
        text = path.read_text().splitlines()
    except OSError as exc:
        raise SatnavError(f"{path}: cannot read trajectory: {exc.strerror}") from None
    rows = list(csv.reader(line for line in text if line.strip() and not line.startswith("#")))
    if not rows:
        raise FormatError("empty trajectory file", str(path))
    head = [h.strip().lower() for h in rows[0]]

    def col(*names):
        for nm in names:
            if nm in head:
                return head.index(nm)
        raise FormatError(
            f"trajectory header needs a column {names[0]!r} (have {', '.join(head)})", str(path), 1
        )

    it, ila, ilo, ih = col("time"), col("lat", "lat_deg"), col("lon", "lon_deg"), col(
        "height", "height_m", "h"
    )
    times, lat, lon, hgt = [], [], [], []
    for k, row in enumerate(rows[1:], start=2):
        try:
            tv = row[it].strip().removesuffix("GPST").strip()
            if any(ch in tv for ch in "-:T"):
                d = __import__("datetime").datetime.fromisoformat(tv.replace("Z", ""))
                t = int(calendar_to_ns(d.year, d.month, d.day, d.hour, d.minute, d.second + d.microsecond * 1e-6))
            else:
                t = int(round(float(tv) * NS_PER_S))
            times.append(t)
            lat.append(float(row[ila]))
            lon.append(float(row[ilo]))
            hgt.append(float(row[ih]))
        except (ValueError, IndexError):
            raise FormatError(
                "bad trajectory row, expected time, lat (deg), lon (deg), height (m)", str(path), k
            ) from None
    if not times:
        raise FormatError("trajectory has no rows", str(path))
    order = np.argsort(times, kind="stable")
    t = np.asarray(times, dtype=np.int64)[order]
    if all(c in head for c in ("x_m", "y_m", "z_m")):  # exact ECEF of write_truth_csv
        try:
            xyz = np.array([[float(r[head.index(c)]) for c in ("x_m", "y_m", "z_m")] for r in rows[1:]])
        except (ValueError, IndexError):
            xyz = None
        if xyz is not None:
            return t, xyz[order]
    ecef = geodetic_to_ecef(np.radians(np.asarray(lat)[order]), np.radians(np.asarray(lon)[order]),
                            np.asarray(hgt)[order])  # fmt: skip
    return t, ecef


def interpolate_trajectory(times_ns, traj_times_ns, traj_ecef):
    """Linear interpolation of trajectory positions to ``times_ns`` (must lie inside)."""
    t = np.asarray(times_ns, dtype=np.int64)
    tt = np.asarray(traj_times_ns, dtype=np.int64)
    if t.min() < tt.min() or t.max() > tt.max():
        raise SatnavError("simulation epochs extend beyond the trajectory's time span")
    x = (t - tt[0]).astype(np.float64)
    xp = (tt - tt[0]).astype(np.float64)
    return np.stack([np.interp(x, xp, traj_ecef[:, k]) for k in range(3)], axis=-1)




# --------------------------------------------------------------------------- scenarios
#: Default site of the built-in scenarios: in the example regional system's service area,
#: at its centre longitude (100 deg E), 25 deg N, 2000 m (near Dali, Yunnan).
DEFAULT_SITE = (25.0, 100.0, 2000.0)
#: Start of the built-in scenarios (GPST): 2020-06-25 02:00, mid-morning at 100 deg E.
DEFAULT_START = "2020-06-25T02:00:00"
#: Built-in scenario names -> constellations.
BUILTIN_SCENARIOS = {
    "demo": ("gps", "glonass", "galileo", "beidou3", "regional"),
    "all": ("gps", "glonass", "galileo", "beidou3", "regional"),
}


@dataclass
class Scenario:
    """What :func:`run_scenario` simulates (a TOML scenario file or a built-in name).

    TOML keys: ``name``, ``marker`` (4 characters), ``start`` (GPST date-time),
    ``duration_h``, ``interval_s``, ``mask_deg``, ``seed``, ``noise_free``,
    ``constellations`` (built-in names or spec paths, relative to the scenario file),
    ``regional_center_deg``, table ``[site]`` with ``lat_deg``, ``lon_deg``, ``height_m``
    or key ``trajectory`` (CSV path: time, lat, lon, height), table ``[errors]``
    (:class:`ErrorModel` fields).
    """

    name: str = "scenario"
    marker: str = "SIM1"
    start: str = DEFAULT_START
    duration_h: float = 1.0
    interval_s: float = 30.0
    mask_deg: float = 10.0
    seed: int = 1
    noise_free: bool = False
    constellations: tuple = BUILTIN_SCENARIOS["demo"]
    regional_center_deg: float | None = None
    site: tuple | None = DEFAULT_SITE
    trajectory: str | None = None
    errors: dict = field(default_factory=dict)


def load_scenario(spec) -> Scenario:
    """A :class:`Scenario` from a built-in scenario name (``"demo"``), built-in
    constellation names (``"glonass"`` or ``"glonass,regional"``), a constellation spec
    TOML (has ``message_format``) or a scenario TOML (has ``constellations``)."""
    from .design import BUILTIN_SPECS, _load_toml, read_spec_text

    text = str(spec)
    if text in BUILTIN_SCENARIOS:
        return Scenario(name=text, marker=text[:4].upper(), constellations=BUILTIN_SCENARIOS[text])
    names = [s.strip() for s in text.split(",") if s.strip()]
    if names and all(s in BUILTIN_SPECS for s in names):
        return Scenario(name="-".join(names), constellations=tuple(names))
    path = Path(text)
    if not path.exists():
        raise SatnavError(
            f"scenario {text!r} not found: give a TOML file, a built-in scenario "
            f"({', '.join(BUILTIN_SCENARIOS)}) or constellation names ({', '.join(BUILTIN_SPECS)})"
        )
    data = _load_toml(read_spec_text(path), str(path))
    if "message_format" in data:
        from .design import load_constellation

        load_constellation(path)  # checked now: one-line errors before any work
        return Scenario(name=path.stem, constellations=(str(path),))
    known = set(Scenario.__dataclass_fields__)
    bad = [k for k in data if k not in known]
    if bad:
        raise FormatError(f"unknown scenario key(s) {', '.join(bad)}", str(path))
    if "constellations" not in data:
        raise FormatError("scenario needs 'constellations' (built-in names or spec files), or a "
                          "constellation spec needs 'message_format'", str(path))
    values = dict(data)
    _check_scenario_values(values, str(path))
    if "start" in values:
        values["start"] = str(values["start"]).replace(" ", "T")
    cons = values.get("constellations", Scenario.constellations)
    if isinstance(cons, str):
        cons = [cons]
    values["constellations"] = tuple(
        c if c in BUILTIN_SPECS or Path(c).is_absolute() else str(path.parent / c) for c in cons
    )
    site = values.pop("site", None)
    if isinstance(site, dict):
        if "trajectory" in site:
            values["trajectory"] = site["trajectory"]
            site = None
        else:
            try:
                site = (float(site["lat_deg"]), float(site["lon_deg"]), float(site.get("height_m", 0.0)))
            except (KeyError, TypeError, ValueError):
                raise FormatError("[site] needs lat_deg, lon_deg (and height_m)", str(path)) from None
        values["site"] = site
    if values.get("trajectory") and not Path(values["trajectory"]).is_absolute():
        values["trajectory"] = str(path.parent / values["trajectory"])
    return Scenario(**values)


def _check_scenario_values(values: dict, where: str) -> None:
    """FormatError naming the key and its valid range for a scenario value out of range."""
    import datetime as _dt

    from .design import EPOCH_YEARS, check_number

    checks = {
        "duration_h": (0.0, 24.0 * 366, True), "interval_s": (0.0, 86400.0, True),
        "mask_deg": (0.0, 90.0, False), "regional_center_deg": (-360.0, 360.0, False),
    }
    for key, (low, high, low_open) in checks.items():
        if key in values and not (key == "regional_center_deg" and values[key] is None):
            values[key] = check_number(values[key], key, where, low, high, low_open=low_open,
                                       high_open=key == "mask_deg")
    for key in ("name", "marker"):
        if key in values and not isinstance(values[key], str):
            raise FormatError(f"'{key}' must be a string, got {values[key]!r}", where)
    if "seed" in values:
        seed = values["seed"]
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise FormatError(f"'seed' = {seed!r}, expected an integer >= 0", where)
    if "noise_free" in values and not isinstance(values["noise_free"], bool):
        raise FormatError(f"'noise_free' must be true or false, got {values['noise_free']!r}", where)
    if "start" in values:
        start = values["start"]
        if isinstance(start, _dt.date):
            if not EPOCH_YEARS[0] <= start.year <= EPOCH_YEARS[1]:
                raise FormatError(f"'start' {start} is out of range, expected a year "
                                  f"{EPOCH_YEARS[0]}..{EPOCH_YEARS[1]}", where)
        elif not isinstance(start, str):
            raise FormatError(f"'start' must be a GPST date-time, got {start!r}", where)
    cons = values.get("constellations")
    items = [cons] if isinstance(cons, str) else cons
    if not isinstance(items, list) or not items or not all(isinstance(c, str) and c for c in items):
        raise FormatError(f"'constellations' = {cons!r}, expected a non-empty list of built-in names "
                          "or spec files", where)
    site = values.get("site")
    if site is not None and not isinstance(site, dict):
        raise FormatError(f"'site' must be a table ([site] lat_deg, lon_deg, height_m), got {site!r}", where)
    if isinstance(site, dict) and "trajectory" not in site:
        check_number(site.get("lat_deg"), "site.lat_deg", where, -90.0, 90.0)
        check_number(site.get("lon_deg"), "site.lon_deg", where, -180.0, 360.0)
        check_number(site.get("height_m", 0.0), "site.height_m", where, -1000.0, 100_000.0)
    for key in ("trajectory",):
        if values.get(key) is not None and not isinstance(values[key], str):
            raise FormatError(f"'{key}' must be a file name, got {values[key]!r}", where)
    if isinstance(site, dict) and "trajectory" in site and not isinstance(site["trajectory"], str):
        raise FormatError(f"'site.trajectory' must be a file name, got {site['trajectory']!r}", where)
    errors = values.get("errors", {})
    if not isinstance(errors, dict):
        raise FormatError(f"'errors' must be a table, got {errors!r}", where)
    fields = ErrorModel.__dataclass_fields__
    for key, value in errors.items():
        if key not in fields:
            continue  # ErrorModel.from_dict names unknown keys
        if fields[key].type in ("bool", bool):
            if not isinstance(value, bool):
                raise FormatError(f"'errors.{key}' must be true or false, got {value!r}", where)
        else:
            check_number(value, f"errors.{key}", where, 0.0, 1.0e6)


def scenario_constellations(scenario: Scenario) -> list:
    """The scenario's constellations (epoch moved to the scenario start)."""
    from .design import load_constellation, regional_example

    start = _parse_gpst(scenario.start)
    out = []
    for c in scenario.constellations:
        if c == "regional" and scenario.regional_center_deg is not None:
            out.append(regional_example(float(scenario.regional_center_deg), epoch_ns=start))
        else:
            out.append(load_constellation(c, epoch_ns=start))
    return out


def _parse_gpst(text) -> int:
    import datetime as _dt

    from ..gnss_time import calendar_to_ns
    from .design import EPOCH_YEARS

    try:
        d = _dt.datetime.fromisoformat(str(text).strip().removesuffix("GPST").strip())
    except ValueError:
        raise SatnavError(f"bad time {text!r}, expected GPST like 2020-06-25T02:00:00") from None
    if not EPOCH_YEARS[0] <= d.year <= EPOCH_YEARS[1]:
        raise SatnavError(f"time {text!r} is out of range, expected a year {EPOCH_YEARS[0]}..{EPOCH_YEARS[1]}")
    return int(calendar_to_ns(d.year, d.month, d.day, d.hour, d.minute, d.second + d.microsecond * 1e-6))


def run_scenario(scenario: Scenario, out_dir=None, *, progress=None) -> tuple[Simulation, dict]:
    """Design -> broadcast -> simulate a scenario; write the files when ``out_dir`` is given.

    Returns the :class:`Simulation` and the written paths (empty without ``out_dir``).
    ``progress(stages_done, stages)``: the :func:`simulate` stages, then writing the files
    (:mod:`satnav.progress`)."""
    if scenario.interval_s <= 0 or scenario.duration_h <= 0:
        raise SatnavError("scenario duration and interval must be positive")
    start = _parse_gpst(scenario.start)
    step = int(round(scenario.interval_s * NS_PER_S))
    end = start + int(round(scenario.duration_h * 3600 * NS_PER_S))
    times = np.arange(start, end + 1, step, dtype=np.int64)
    if scenario.trajectory:
        tt, ecef = read_trajectory_csv(scenario.trajectory)
        times = times[(times >= tt[0]) & (times <= tt[-1])]
        if len(times) == 0:
            raise SatnavError(f"{scenario.trajectory}: trajectory does not overlap the scenario time span")
        receiver = interpolate_trajectory(times, tt, ecef)
    else:
        lat, lon, h = scenario.site or DEFAULT_SITE
        receiver = geodetic_to_ecef(np.radians(lat), np.radians(lon), h)
    errors = ErrorModel.noise_free() if scenario.noise_free else ErrorModel()
    if scenario.errors:
        base = asdict(errors)
        base.update(scenario.errors)
        errors = ErrorModel.from_dict(base)
    stages = ProgressCounter(progress, SIMULATION_STAGES + (out_dir is not None))
    sim = simulate(
        scenario_constellations(scenario), receiver, times, errors=errors, seed=scenario.seed,
        mask_deg=scenario.mask_deg, name=scenario.marker, progress=lambda done, _: stages.update(done),
    )  # fmt: skip
    paths = sim.write(out_dir, name=scenario.marker) if out_dir is not None else {}
    stages.finish()
    return sim, paths
