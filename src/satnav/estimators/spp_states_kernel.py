"""The satellite states of one SPP epoch compiled by numba (the live engine's).

:func:`transmission_states` is, for the measurements of one epoch whose satellites' message
choices :class:`~satnav.orbits.ephemeris.BroadcastEphemeris` keeps
(:meth:`~satnav.orbits.ephemeris.BroadcastEphemeris.row_table`: a row per satellite, so
that a new set of satellites needs no new plan), what
:func:`satnav.estimators.spp._transmission_states` computes with NumPy: the transmission
time from the pseudorange (:func:`satnav.models.measurement.transmission_delay_ns_core`),
the check that every satellite's message choice still holds at it, the Keplerian orbit,
velocity, clock (relativistic term included) and drift of GPS, Galileo, BeiDou (GEO
rotation included) and QZSS messages from the plan's packed constants
(:func:`satnav.orbits.kepler.kepler_state_of_row`, on the cores that
:func:`~satnav.orbits.kepler.kepler_states` calls with arrays), the position at the true
transmission time and the validity: one call where NumPy makes about a hundred
(0.5 ms a 24-satellite epoch, more after an idle pause with cold caches). The values are
NumPy's, bit for bit where NumPy's elementary functions are the C library's, to their
rounding elsewhere (:func:`satnav._jit.agree`; tests/estimators/test_spp_states_kernel.py).

A time that leaves the interval where its message choice holds, or a satellite without a
row yet: the plan of those satellites at their transmission times (the NumPy path's), their
rows kept, then the kernel; a plan with GLONASS or SBAS pairs: None, and the NumPy path
runs.

Loaded by :func:`use_compiled_states` (the live engine does, at its start); the batch
``satnav solve`` never imports numba (SATNAV_NO_NUMBA: NumPy).
"""

from __future__ import annotations

import sys

import numpy as np

from .._jit import agree
from ..models.measurement import transmission_delay_ns_core, transmission_time
from ..orbits.kepler import kepler_state_of_row
from . import spp

#: Relative tolerance (of a column's largest magnitude) of the compiled states against
#: NumPy's (:func:`satnav._jit.agree`): no solver amplifies the elementary functions' last
#: bits here (observed: 1.4e-15 of an orbit radius).
STATES_RTOL = 1e-12

__all__ = ["use_compiled_states", "transmission_states", "transmission_states_epoch", "EPOCHS_COMPILED"]


def transmission_states_epoch(receive_ns, pseudorange_m, check, low_ns, high_ns, floats, times, geo, out, valid):
    """The states of the measurements ``i`` (receive time ``receive_ns[i]``, GPST ns;
    pseudorange ``pseudorange_m[i]``, m) from the packed constants of their messages (rows
    ``floats[i]``, ``times[i]``, ``geo[i]`` of :meth:`_QueryPlan.packed_rows`) into ``out[i]``
    (position at the true transmission time (m), velocity (m/s), clock (s), drift (s/s)) and
    ``valid[i]``. False (``out`` partly written) as soon as a pseudorange is not finite or,
    with ``check``, a transmission time is not strictly inside ``(low_ns[i], high_ns[i])``,
    where the plan's message choice holds (without: the plan was made for these times)."""
    for i in range(pseudorange_m.size):
        p = pseudorange_m[i]
        if not np.isfinite(p):
            return False
        t = receive_ns[i] - np.int64(transmission_delay_ns_core(p))
        if check and not (low_ns[i] < t and t < high_ns[i]):
            return False
        x, y, z, vx, vy, vz, clock, drift, _ = kepler_state_of_row(t, floats[i], times[i, 0], times[i, 1], geo[i])
        # measurement.position_at_transmission: r(t - dt^s) = r(t) - v dt^s
        out[i, 0] = x - vx * clock
        out[i, 1] = y - vy * clock
        out[i, 2] = z - vz * clock
        out[i, 3], out[i, 4], out[i, 5] = vx, vy, vz
        out[i, 6], out[i, 7] = clock, drift
        valid[i] = np.isfinite(x) and np.isfinite(y) and np.isfinite(z) and np.isfinite(clock)
    return True


# ---------------------------------------------------------------- the NumPy side
_KERNELS = None  # None: not loaded; False: NumPy (numba missing or off); else (kernel,)
_LOADED = None
#: Epochs whose states the kernel computed so far (one item: tests check the path taken).
EPOCHS_COMPILED = [0]


def transmission_states(ephemeris, sats, receive_ns, pseudorange_m, signals) -> dict | None:
    """The states of :func:`satnav.estimators.spp._transmission_states` (its dict: ``pos``,
    ``vel``, ``clk``, ``drift``, ``gd``, ``valid``) of the measurements of satellites ``sats``
    (int64) received at ``receive_ns`` (int64 ns) with pseudoranges ``pseudorange_m``, by the
    compiled kernel from the rows of ``ephemeris`` for ``sats`` and ``signals`` (system ->
    signal code): the rows kept while their message choices hold, else those of the plan at
    the transmission times (:meth:`~satnav.orbits.ephemeris.BroadcastEphemeris.epoch_plan`).
    None when the kernel is not loaded, the plan is not all Keplerian or a pseudorange is not
    finite (the NumPy path then computes them)."""
    if not _KERNELS:
        return None
    n = sats.size
    out = np.empty((n, 8))
    valid = np.empty(n, dtype=bool)
    table = ephemeris.row_table(signals)
    rows = table.gather(sats)
    if rows is None or not _KERNELS[0](receive_ns, pseudorange_m, True, *rows[:5], out, valid):
        # a satellite without a row, or whose message choice may change: the plan of those
        # satellites at their transmission times, their rows kept
        if not np.isfinite(pseudorange_m).all():
            return None
        table.renew(ephemeris, sats, transmission_time(receive_ns, pseudorange_m))
        rows = table.gather(sats)
        # (no check: the other rows hold at these times, those renewed were made for them)
        if rows is None or not _KERNELS[0](receive_ns, pseudorange_m, False, *rows[:5], out, valid):
            return None
    # the time of the rows prepared ahead for the next epoch (transmission ~75 ms earlier)
    table.read(int(receive_ns[0]) - 75_000_000)
    EPOCHS_COMPILED[0] += 1
    return {"pos": out[:, :3], "vel": out[:, 3:6], "clk": out[:, 6], "drift": out[:, 7], "gd": rows[5],
            "valid": valid}


def _check_rows():
    """Synthetic packed rows (a GPS message and a BeiDou GEO one, with CNAV rate terms), their
    times and measurements: the kernel's warm-up, compared with NumPy's kepler_states."""
    from ..orbits.kepler import gather_constants, kepler_constants, pack_constants

    eph = {"sqrt_a": np.array([5153.6, 6493.4]), "e": np.array([0.0112, 0.0004]), "m0": np.array([1.1, -2.3]),
           "delta_n": np.array([4.5e-9, 1.2e-9]), "omega0": np.array([-2.1, 1.4]),
           "omega_dot": np.array([-8.1e-9, 2.2e-9]), "i0": np.array([0.96, 0.05]),
           "idot": np.array([2.1e-10, -3e-10]), "omega": np.array([0.7, -1.9]), "cuc": np.array([1.2e-6, -3e-7]),
           "cus": np.array([8e-6, 2e-6]), "crc": np.array([230.0, -310.0]), "crs": np.array([25.0, -14.0]),
           "cic": np.array([6e-8, -2e-8]), "cis": np.array([-1e-8, 4e-8]), "toe_sow": np.array([345600.0, 345586.0]),
           "af0": np.array([1.2e-4, -3.3e-4]), "af1": np.array([-2e-12, 4e-11]), "af2": np.array([0.0, 1e-20]),
           "adot": np.array([0.0, 0.01]), "delta_n_dot": np.array([0.0, 1e-14]), "sat": np.array([0, 0])}
    t0 = 1_277_000_000 * 10**9
    eph["toe"] = eph["toc"] = np.array([t0, t0 + 14 * 10**9], dtype=np.int64)
    k = kepler_constants(eph, np.array(["G", "C"]), geo=np.array([False, True]))
    k = gather_constants([(pack_constants(k), np.arange(2))], np.array(["G", "C"]))
    receive = np.array([t0 + 1800 * 10**9, t0 - 900 * 10**9], dtype=np.int64)
    pseudorange = np.array([2.21e7, 3.79e7])
    return k, receive, pseudorange


def _same_as_numpy(kernel) -> bool:
    from ..models.measurement import position_at_transmission
    from ..orbits.kepler import kepler_states

    k, receive, pseudorange = _check_rows()
    t_tx = transmission_time(receive, pseudorange)
    pos, vel, clk, drift, _ = kepler_states(None, t_tx, np.array(["G", "C"]), constants=k)
    out, valid = np.empty((2, 8)), np.empty(2, dtype=bool)
    low, high = np.full(2, np.iinfo(np.int64).min), np.full(2, np.iinfo(np.int64).max)
    if not kernel(receive, pseudorange, True, low, high, k.floats, k.times, k.geo, out, valid):
        return False
    want = np.column_stack([position_at_transmission(pos, vel, clk), vel, clk, drift])
    # (column by column: positions, velocities, clock and drift each to their own scale)
    return all(agree(want[:, j], out[:, j], rtol=STATES_RTOL) for j in range(8)) and bool(valid.all())


def _load_kernels():
    from .._jit import compile_kernels

    def warm_up(kernels):
        """Compile (or load from the cache) now and check against NumPy: a stale cache (a
        shared core edited) differs here and is compiled afresh."""
        kernel = kernels[0]
        if _same_as_numpy(kernel):
            return
        cache = getattr(kernel, "_cache", None)
        if cache is not None:
            cache.flush()
        kernel.recompile()
        if not _same_as_numpy(kernel):
            raise RuntimeError("the compiled satellite states differ from NumPy's")

    return compile_kernels((transmission_states_epoch,), warm_up)


def use_compiled_states(enabled: bool | None = True) -> bool:
    """Compute the satellite states of one-epoch SPP problems with the compiled kernel
    (``True``: load it now; the live engine does this at its start) or with NumPy
    (``False``; ``None``: back to NumPy until asked again); returns whether the kernel is in
    use. Both give the same states (tests/estimators/test_spp_states_kernel.py)."""
    global _KERNELS, _LOADED
    from .._jit import switch_kernels

    _KERNELS, _LOADED = switch_kernels(_LOADED, enabled, _load_kernels)
    spp._STATES_COMPILED = sys.modules[__name__] if _KERNELS else None
    return bool(_KERNELS)
