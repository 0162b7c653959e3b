"""Precise products of a simulation, written as a user gets them from an analysis centre.

:func:`write_precise_products` turns the truth of a :class:`~satnav.constellation.simulate.Simulation`
(made with ``ErrorModel(precise=True, signal_biases=True)``) into the files a precise point
positioning run reads:

* an SP3-d orbit file (every ``orbit_interval_s``, 5 min like the IGS analysis centres) of
  the propagated truth orbits (:func:`~satnav.constellation.propagate.propagate`, the
  orbits the simulated signals left from), ECEF, centre of mass (the simulated satellite
  antennas have no offset); a coordinate within 0.5 mm of zero (a satellite crossing an
  axis, e.g. at its design epoch) is written as 1 mm, since 0.000000 means "missing" in SP3;
* a RINEX 3.04 clock file (every ``clock_interval_s``, 30 s) of the true satellite clocks
  **without** the periodic relativistic term (the IGS convention: the user adds
  ``-2 r.v / c^2``), plus white noise of ``clock_noise_s`` (an analysis centre's
  estimation noise, 10 ps = 3 mm by default);
* a bias SINEX (SINEX_BIAS 1.00) with the satellites' observable-specific code **and
  phase** biases of every simulated signal (the simulated truth: integer-clock products);
* an ANTEX file with the satellite antennas as simulated (``Simulation.satellite_pco_m``;
  zero without ``ErrorModel(satellite_antennas=True)``), their z offsets moved by
  ``satellite_pco_m`` when given (a user's ANTEX that does not match the products), and the
  receiver antenna type of the simulated header (zero offsets).

File names follow the IGS long-name convention with the analysis centre ``centre``
(``SIM0OPSFIN_...``) so that a PPP run identifies the centre of each product by name;
``bias_centre`` names the bias file's agency (another centre's biases).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..constants import SPEED_OF_LIGHT
from ..errors import SatnavError
from ..gnss_time import NS_PER_S, ns_to_calendar
from ..satellites import satellite_id, satellite_index, system_of

__all__ = ["write_precise_products", "product_clocks_s"]


def product_clocks_s(sim, times_ns) -> np.ndarray:
    """True satellite clocks (s, (T, n)) of ``sim`` at GPST ``times_ns`` without the
    periodic relativistic term: the broadcast polynomial + the system time offset + the
    prediction error (:func:`~satnav.constellation.simulate.simulate`); for GLONASS, whose
    simulated clock is the polynomial alone, minus the periodic term of the truth orbit."""
    c = sim.constellation
    t = np.asarray(times_ns, dtype=np.int64)
    dt = (t[:, None] - c.epoch_ns).astype(np.float64) / NS_PER_S
    coeff = np.zeros((len(c), 3)) if sim.clock is None else sim.clock
    clk = coeff[:, 0] + coeff[:, 1] * dt + coeff[:, 2] * dt**2
    clk = clk + (c.time_offset_s - np.round(c.time_offset_s))
    if sim.clock_error is not None:
        hours = (t - sim.times_ns[0]).astype(np.float64)[:, None] / NS_PER_S
        clk = clk + sim.clock_error[:, 0] + sim.clock_error[:, 1] * hours
    glonass = system_of(np.asarray(c.sat)) == "R"
    if glonass.any():  # simulated GLONASS clocks contain the periodic term (GLONASS ICD 5.1): remove it
        from ..models.corrections import relativistic_clock_correction
        from .propagate import propagate

        track = propagate(c, t)
        rel = relativistic_clock_correction(track.position_m, track.velocity_m_s)
        clk[:, glonass] = clk[:, glonass] - rel[:, glonass]
    return clk


def _stem(centre: str, start_ns: int, span: str, interval: str, content: str) -> str:
    y, mo, d, h, mi, _s = (int(np.ravel(v)[0]) for v in ns_to_calendar(np.int64(start_ns)))
    doy = (np.datetime64(f"{y:04d}-{mo:02d}-{d:02d}") - np.datetime64(f"{y:04d}-01-01")).astype(int) + 1
    return f"{centre[:3]}0OPSFIN_{y:04d}{doy:03d}{h:02d}{mi:02d}_{span}_{interval}_{content}"


def write_precise_products(sim, out_dir, *, centre: str = "SIM", bias_centre: str | None = None,
                           orbit_interval_s: int = 300, clock_interval_s: int = 30,
                           clock_noise_s: float = 1.0e-11, satellite_pco_m: dict | None = None,
                           bias_perturbation_seed: int | None = None, seed: int = 0) -> dict[str, Path]:
    """Write SP3, RINEX clock, bias SINEX and ANTEX files of ``sim``'s truth into
    ``out_dir`` (module docstring). Returns the paths by role (``sp3``, ``clk``, ``bias``,
    ``antex``).

    ``satellite_pco_m``: satellite id -> z offset error (m, body frame, both frequencies)
    added to the simulated offsets in the ANTEX (a mismatched ANTEX);
    ``bias_perturbation_seed``: the biases of "another centre": every satellite's phase
    biases moved by a random fraction of a cycle and its code biases by 0.3 m (1 sigma),
    labelled ``bias_centre`` (default ``centre``)."""
    from ..io.antex import Antenna, write_antex
    from ..io.bias_sinex import write_bias_sinex
    from ..io.clk import write_clk
    from ..io.sp3 import write_sp3
    from ..signals import carrier_frequency
    from .propagate import propagate

    if not sim.errors.ephemeris:
        raise SatnavError("precise products need the simulation's truth orbits (ErrorModel(ephemeris=True))")
    if not sim.biases.get("satellite"):
        raise SatnavError("precise products need simulated signal biases (ErrorModel(signal_biases=True))")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    t0, t1 = int(sim.times_ns[0]), int(sim.times_ns[-1])
    step = orbit_interval_s * NS_PER_S
    first = (t0 // step - 5) * step
    t_orb = np.arange(first, (t1 // step + 6) * step + 1, step, dtype=np.int64)
    sats = np.asarray(sim.constellation.sat)
    track = propagate(sim.constellation, t_orb)
    # a coordinate within 0.5 mm of 0 would be written as 0.000000, SP3's "missing": 1 mm instead
    position = np.where(np.abs(track.position_m) < 5e-4, np.where(track.position_m < 0, -1e-3, 1e-3),
                        track.position_m)
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 17]))
    paths: dict[str, Path] = {}
    paths["sp3"] = out / f"{_stem(centre, first, '01D', f'{orbit_interval_s // 60:02d}M', 'ORB')}.SP3"
    write_sp3(paths["sp3"], t_orb, sats, position, product_clocks_s(sim, t_orb), agency=centre,
              orbit_type="FIT", data_used="ORBIT", comment="satnav simulation truth (centre of mass)")
    cstep = clock_interval_s * NS_PER_S
    t_clk = np.arange(first, t_orb[-1] + 1, cstep, dtype=np.int64)
    clk = product_clocks_s(sim, t_clk) + rng.normal(0.0, clock_noise_s, (len(t_clk), len(sats)))
    paths["clk"] = out / f"{_stem(centre, first, '01D', f'{clock_interval_s:02d}S', 'CLK')}.CLK"
    write_clk(paths["clk"], t_clk, sats, clk, analysis_center=(centre, "satnav simulation"),
              comments=["satnav simulation truth clocks, no periodic relativistic term"])
    biases = dict(sim.biases["satellite"])
    if bias_perturbation_seed is not None:
        prng = np.random.default_rng(np.random.SeedSequence([int(bias_perturbation_seed), 19]))
        for key in sorted(biases):
            s, obs = key
            if obs[0] == "L":
                lam = SPEED_OF_LIGHT / float(carrier_frequency(system_of(int(s)), obs[1]))
                biases[key] += prng.uniform(-0.5, 0.5) * lam
            else:
                biases[key] += prng.normal(0.0, 0.3)
    agency = (bias_centre or centre)[:3]
    paths["bias"] = out / f"{_stem(agency, first, '01D', '01D', 'OSB')}.BIA"
    write_bias_sinex(paths["bias"], agency, biases, int(t_orb[0]), int(t_orb[-1]))
    antennas = []
    pco = satellite_pco_m or {}
    bands = {}
    for (s, obs) in sim.biases["satellite"]:
        bands.setdefault(satellite_id(int(s)), set()).add(obs[1])
    simulated = getattr(sim, "satellite_pco_m", None) or {}
    for sid in sorted(bands):
        z = float(pco.get(sid, 0.0))
        sat = int(satellite_index(sid))
        freqs = {f"{sid[0]}0{b}": np.asarray(simulated.get((sat, b), np.zeros(3)), dtype=np.float64)
                 + np.array([0.0, 0.0, z]) for b in sorted(bands[sid])}
        antennas.append(Antenna(name=sid, antenna_type="SIMULATED", sat_id=sid, svn=f"{sid[0]}{int(sid[1:]):03d}",
                                zenith_rad=np.radians(np.arange(0.0, 17.5, 1.0)), pco_m=freqs))
    ant_type = getattr(sim.obs.header, "antenna_type", "") or "SIMULATED       NONE"
    letters = sorted({sid[0] for sid in bands})
    rx_freqs = {f"{L}0{b}": np.zeros(3) for L in letters for b in sorted({o[1] for k, o in sim.biases["satellite"]
                                                                          if satellite_id(int(k))[0] == L})}
    antennas.append(Antenna(name=ant_type, antenna_type=ant_type, pco_m=rx_freqs))
    paths["antex"] = out / "simulated.atx"
    write_antex(paths["antex"], antennas, comment="satnav simulation antennas")
    return paths
