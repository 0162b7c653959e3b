"""Observations from per-signal receiver measurements: the step every raw-log decoder
(UBX RXM-RAWX, RTCM 3 MSM and legacy messages) ends with.

A decoder produces, for each measurement of one signal of one satellite at one epoch, the
pseudorange (m), carrier phase (cycles), Doppler (Hz) and C/N0 (dB-Hz) with a presence
mask and the phase loss-of-lock indicator; :func:`observations_from_measurements` turns
them into the rows of an :class:`~satnav.observations.Observations` (RINEX 3 codes ``C``,
``L``, ``D``, ``S`` + band + attribute), sorted by time, satellite and code, one row per
(epoch, satellite, code): of duplicates the one of highest ``priority`` is kept, the first
in stream order among equals (or the last).
"""

from __future__ import annotations

import numpy as np

from ..observations import Observations, ObsHeader
from ..satellites import SYSTEMS

__all__ = ["observations_from_measurements", "concat_observations", "OBS_TYPES", "log_comment",
           "conversion_comments", "carried_slips"]

#: Observation types of each signal, in the order of the value columns.
OBS_TYPES = "CLDS"
#: How the RINEX files converted from a raw log name its format.
LOG_FORMAT_NAMES = {"ubx": "u-blox UBX", "rtcm3": "RTCM 3"}


def log_comment(fmt: str, what: str) -> str:
    """The header comment of a file decoded from a raw log: ``"u-blox UBX log, <what>"``."""
    return f"{LOG_FORMAT_NAMES[fmt]} log, {what}"


def conversion_comments(fmt: str, source: str, what: str) -> list[str]:
    """Header comments of a navigation file converted from the raw log ``source``: the program
    and the input file, then :func:`log_comment` (the observation writer states the program
    and input itself)."""
    from pathlib import Path

    name = Path(source).name
    text = f"CONVERTED BY SATNAV FROM {name}"
    head = [text] if len(text) <= 60 else ["CONVERTED BY SATNAV FROM"] + [name[i : i + 60] for i in range(0, len(name), 60)]
    return head + [log_comment(fmt, what)]


def carried_slips(first: np.ndarray, slip: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Whether a slip happened since the previous valid phase of the same signal (exclusive),
    this measurement included, for measurements sorted by signal, each signal's in stream
    order (``first``: the first of its signal).

    A receiver reports a loss of lock (its lock time restarts) also on a measurement whose
    phase it does not give; the slip is reported at the next valid phase of that signal
    (loss-of-lock indicator bit 0), or it would be lost: the phase would look continuous
    across the outage. RTKLIB's ``convbin`` reports it there too, from UBX and from RTCM 3.
    Where the last measurement of a signal is not valid and this is True, the slip is still
    to be reported (a decoder keeps it for the next call)."""
    n = len(slip)
    idx = np.arange(n)
    csum = np.cumsum(slip)
    last_valid = np.maximum.accumulate(np.where(valid, idx, -1))
    prev_valid = np.concatenate(([-1], last_valid[:-1]))
    group_start = np.maximum.accumulate(np.where(first, idx, 0))
    base_ix = np.maximum(prev_valid, group_start - 1)
    base = np.where(base_ix >= 0, csum[np.maximum(base_ix, 0)], 0)
    return (csum - base) > 0


#: (signals, codes used) -> the code plan of :func:`_code_plan` (a live stream repeats a few;
#: the plans are read, never changed)
_PLANS: dict = {}


def _code_plan(signals: list[tuple[str, str]], used: np.ndarray):
    """For the row codes ``used`` (signal * 4 + type, sorted): the codes in (system, band,
    attribute, type) order, the code names, row code -> code index, and system -> its codes."""
    key = (tuple(signals), used.tobytes())
    plan = _PLANS.get(key)
    if plan is not None:
        return plan
    all_codes = [(letter, t + code) for letter, code in signals for t in OBS_TYPES]
    used_sorted = sorted(
        used.tolist(),
        key=lambda i: (
            SYSTEMS.index(all_codes[i][0]),
            all_codes[i][1][1:],
            OBS_TYPES.index(all_codes[i][1][0]),
        ),
    )
    code_names: list[str] = []
    remap = np.full(len(all_codes), -1, np.int64)
    for i in used_sorted:
        name = all_codes[i][1]
        if name not in code_names:
            code_names.append(name)
        remap[i] = code_names.index(name)
    obs_codes: dict[str, list[str]] = {}
    for i in used_sorted:
        letter, name = all_codes[i]
        lst = obs_codes.setdefault(letter, [])
        if name not in lst:
            lst.append(name)
    if len(_PLANS) > 256:
        _PLANS.clear()
    _PLANS[key] = (used_sorted, code_names, remap, obs_codes)
    return used_sorted, code_names, remap, obs_codes


def row_order(signals: list[tuple[str, str]], row_time: np.ndarray, row_sat: np.ndarray, row_code: np.ndarray,
              row_pri: np.ndarray, keep_last: bool = False):
    """The rows kept of measurement rows (the present values, flattened), in output order, and
    their codes: ``(order, codes, code_names, obs_codes)`` with ``order`` indices into the rows
    (time, satellite, code order; of duplicates the highest priority, then the first -- or with
    ``keep_last`` the last -- in stream order), ``codes`` the code index of every row (before
    ``order``), ``code_names`` and ``obs_codes`` the codes as :class:`Observations` and its
    header name them. ``row_code`` is signal * 4 + type (:data:`OBS_TYPES`)."""
    # codes: per signal C, L, D, S; renumbered in (system, band, attribute, type) order. The
    # codes used by counting (np.unique hashes since NumPy 2.3: ~50 us for a live epoch's 400
    # rows, 70 ms its first call)
    used = np.flatnonzero(np.bincount(row_code, minlength=4 * len(signals)))
    _, code_names, remap, obs_codes = _code_plan(signals, used)
    codes = remap[row_code]
    # one int64 sort key: (epoch, satellite, code, priority); a stable sort keeps stream order
    # among equals (reversed for keep_last, so that the last comes first)
    if len(row_time) and np.all(row_time[1:] >= row_time[:-1]):  # stream order is time order
        tix = np.zeros(len(row_time), np.int64)
        np.cumsum(row_time[1:] != row_time[:-1], out=tix[1:])
    else:
        _, tix = np.unique(row_time, return_inverse=True)
    pri = np.asarray(row_pri, np.int64)
    pri = pri.max(initial=0) - pri
    key = ((tix.astype(np.int64) * 65536 + row_sat) * 1024 + codes) * 16 + pri
    if keep_last:
        rev = np.arange(len(key) - 1, -1, -1)
        order = rev[np.argsort(key[rev], kind="stable")]
    else:
        order = np.argsort(key, kind="stable")
    key = key[order] >> 4
    keep = np.ones(len(order), bool)
    keep[1:] = key[1:] != key[:-1]
    return order[keep], codes, code_names, obs_codes


def observations_from_measurements(
    times: np.ndarray,
    sat: np.ndarray,
    signal: np.ndarray,
    signals: list[tuple[str, str]],
    values: np.ndarray,
    lli: np.ndarray,
    *,
    header: ObsHeader,
    source: str = "",
    present: np.ndarray | None = None,
    priority: np.ndarray | None = None,
    epochs: np.ndarray | None = None,
    keep_last: bool = False,
) -> Observations:
    """Rows of an Observations from measurements (module docstring).

    Parameters
    ----------
    times, sat : ndarray int64 (n,)
        Epoch (GPST ns) and satellite index of each measurement.
    signal : ndarray int64 (n,)
        Index into ``signals`` (``("G", "1C")``: system letter, band + attribute).
    values : ndarray float64 (n, 4)
        Pseudorange (m), carrier phase (cycles), Doppler (Hz), C/N0 (dB-Hz).
    lli : ndarray int8 (n,)
        Loss-of-lock indicator of the phase.
    header : ObsHeader
        Header to fill (``obs_codes`` set here).
    present : ndarray bool (n, 4), optional
        Which values exist (default: the non-zero ones).
    priority : ndarray int (n,), optional
        Of rows for one (epoch, satellite, code), the highest priority is kept.
    epochs : ndarray int64, optional
        The epochs (default: the distinct ``times``).
    keep_last : bool
        Of duplicates of equal priority keep the last in stream order (RTCM: a later message
        overwrites) rather than the first.
    """
    if present is None:
        present = values != 0.0
    row_code = signal[:, None] * 4 + np.arange(4)[None, :]
    row_lli = np.zeros(values.shape, np.int8)
    row_lli[:, 1] = lli
    row_time = np.broadcast_to(times[:, None], values.shape)[present]
    row_sat = np.broadcast_to(sat[:, None], values.shape)[present]
    row_pri = (
        np.zeros(len(row_time), np.int64)
        if priority is None
        else np.broadcast_to(np.asarray(priority)[:, None], values.shape)[present]
    )
    row_code, row_val, row_lli = row_code[present], values[present], row_lli[present]
    order, codes, code_names, obs_codes = row_order(signals, row_time, row_sat, row_code, row_pri, keep_last)
    row_time, row_sat, codes, row_val, row_lli = (
        a[order] for a in (row_time, row_sat, codes, row_val, row_lli)
    )
    header.obs_codes = {s: list(obs_codes[s]) for s in SYSTEMS if s in obs_codes}
    if epochs is None:
        epochs = np.unique(times)
    return Observations(
        row_time,
        row_sat,
        codes,
        row_val,
        row_lli,
        np.zeros(len(row_time), np.int8),
        list(code_names),
        np.asarray(epochs, np.int64),
        header=header,
        source=source,
    )


def concat_observations(parts: list, source: str = "") -> Observations:
    """One Observations of ``(Observations, epochs kept)`` pieces of a log decoded piece by
    piece, in time order: codes unified in the order :func:`observations_from_measurements`
    gives them, rows re-sorted by (time, satellite, code) where an epoch spans two pieces."""
    epoch_parts = [e for _, e in parts]
    parts = [p for p, _ in parts]
    pairs = {(letter, code) for p in parts for letter, codes in p.header.obs_codes.items() for code in codes}
    ordered = sorted(pairs, key=lambda x: (SYSTEMS.index(x[0]), x[1][1:], OBS_TYPES.index(x[1][0])))
    names: list[str] = []
    for _, code in ordered:
        if code not in names:
            names.append(code)
    cols = {k: [] for k in ("time", "sat", "code", "value", "lli")}
    for p in parts:
        remap = np.array([names.index(c) for c in p.codes], np.int64)
        code = remap[p.code] if len(p.codes) else p.code.astype(np.int64)
        order = np.lexsort((code, p.sat, p.time))
        for k, v in (("time", p.time), ("sat", p.sat), ("code", code), ("value", p.value), ("lli", p.lli)):
            cols[k].append(np.asarray(v)[order])
    header = parts[-1].header
    obs_codes: dict[str, list[str]] = {}
    for letter, code in ordered:
        obs_codes.setdefault(letter, []).append(code)
    header.obs_codes = {s: obs_codes[s] for s in SYSTEMS if s in obs_codes}
    cat = {k: np.concatenate(v) for k, v in cols.items()}
    epochs = np.concatenate(epoch_parts)
    t = cat["time"]
    if len(t) > 1 and not np.all(t[1:] >= t[:-1]) or (len(epochs) > 1 and not np.all(epochs[1:] > epochs[:-1])):
        order = np.lexsort((cat["code"], cat["sat"], t))
        cat = {k: v[order] for k, v in cat.items()}
        epochs = np.unique(epochs)
    return Observations(cat["time"], cat["sat"], cat["code"], cat["value"], cat["lli"],
                        np.zeros(len(cat["time"]), np.int8), names, epochs, header=header, source=source)


def raw_log_info(fmt: str, observations: Observations, navigation, messages: dict,
                 framing: dict, **extra) -> dict:
    """JSON-ready summary of a decoded raw receiver log (UBX, RTCM 3) for ``satnav info``:
    span (GPST text), interval (s), epochs, satellites and codes per system, ephemerides per
    system, message and framing counts; ``extra`` keys are added before the counts."""
    from ..gnss_time import format_gpst

    t = observations.epochs
    per_system: dict[str, int] = {}
    for s in observations.satellites:
        per_system[s[0]] = per_system.get(s[0], 0) + 1
    return {
        "format": fmt,
        "version": None,
        "first_epoch": format_gpst(int(t[0])) if len(t) else None,
        "last_epoch": format_gpst(int(t[-1])) if len(t) else None,
        "interval_s": float(np.median(np.diff(t))) / 1e9 if len(t) > 1 else None,
        "epochs": int(len(t)),
        "satellites": list(observations.satellites),
        "satellites_per_system": per_system,
        "observation_codes": {k: list(v) for k, v in observations.header.obs_codes.items()},
        "observations": len(observations),
        "ephemerides": {k: int(v) for k, v in navigation.count_by_system().items()},
        **extra,
        "messages": messages,
        "framing": framing,
    }
