"""Satellite states from precise products: SP3 orbits (+ RINEX clock files).

Positions are interpolated with a Lagrange polynomial through ``order`` SP3 epochs
centred on the requested time (the classic IGS practice, e.g. Schenewerk 2003,
"A brief review of basic GPS orbit interpolation strategies", GPS Solutions 6:265-267:
order 9-11 at 15-min spacing gives mm-level GPS positions). The window may span files
merged from consecutive days (``read_sp3(day176, day177)``): nodes are taken from the
merged epoch list, whatever their spacing. Velocities come from SP3 velocity records
when the file has them, otherwise from the derivative of the same polynomial.

Clocks are interpolated linearly between neighbouring samples, from the RINEX clock
file when one is given (30 s samples), else from the SP3 clock records. A clock is
NaN when a neighbour is missing or the two neighbours are more than two nominal
intervals apart (a gap, where a clock jump may hide); a requested time that falls
exactly on a sample uses that sample.

Precise (IGS) clocks exclude the periodic relativistic term; this module adds it
(``-2 r.v / c^2``, IS-GPS-200 20.3.3.3.3.1) so that ``clock_s`` has the same meaning
as for broadcast states (see docs/ORBIT_API). Precise orbits refer to the satellite's
centre of mass and precise clocks to the ionosphere-free combination of the product's
reference signals (GPS L1/L2 P(Y)); ``group_delay_s`` is NaN.
"""

from __future__ import annotations

import numpy as np

from ..models.corrections import relativistic_clock_correction
from ..satellites import MAX_SATELLITES

__all__ = [
    "precise_states",
    "lagrange_weights",
    "interpolate_positions",
    "interpolate_clock",
    "REASON_OK",
    "REASON_NO_PRECISE",
]

REASON_OK = 0
#: reason code of ``SatelliteStates`` for "no precise data / outside interpolation span".
REASON_NO_PRECISE = 5


# ---------------------------------------------------------------------------- Lagrange
def lagrange_weights(x: np.ndarray, nodes: np.ndarray, derivative: bool = False):
    """Lagrange basis weights (and their derivatives) at points ``x``.

    Parameters
    ----------
    x : (N,) float
        Evaluation abscissae (any unit; the same as ``nodes``).
    nodes : (N, n) float
        Interpolation nodes for each point (distinct within a row).
    derivative : bool
        Also return ``dL_j/dx``.

    Returns
    -------
    w : (N, n) float
        ``L_j(x)``: the interpolated value is ``sum_j w_j y_j``.
    dw : (N, n) float, only with ``derivative``
        ``dL_j/dx`` (exact also when ``x`` equals a node), from prefix/suffix products
        of the factors ``(x - x_k)`` and their derivatives.
    """
    x = np.asarray(x, dtype=np.float64)
    nodes = np.asarray(nodes, dtype=np.float64)
    n = nodes.shape[1]
    f = x[:, None] - nodes  # factors (N, n)
    # prefix[i] = prod_{k<i} f_k  (and derivative), suffix[i] = prod_{k>=i} f_k
    pre = np.ones((n + 1,) + x.shape)
    dpre = np.zeros((n + 1,) + x.shape)
    for i in range(n):
        pre[i + 1] = pre[i] * f[:, i]
        dpre[i + 1] = dpre[i] * f[:, i] + pre[i]
    suf = np.ones((n + 1,) + x.shape)
    dsuf = np.zeros((n + 1,) + x.shape)
    for i in range(n - 1, -1, -1):
        suf[i] = suf[i + 1] * f[:, i]
        dsuf[i] = dsuf[i + 1] * f[:, i] + suf[i + 1]
    # denominators prod_{k != j} (x_j - x_k)
    dx = nodes[:, :, None] - nodes[:, None, :]  # (N, n, n)
    idx = np.arange(n)
    dx[:, idx, idx] = 1.0
    denom = np.prod(dx, axis=2)
    num = (pre[:n] * suf[1:]).T  # (N, n)
    w = num / denom
    if not derivative:
        return w
    dnum = (dpre[:n] * suf[1:] + pre[:n] * dsuf[1:]).T
    return w, dnum / denom


def _window_starts(times_ns: np.ndarray, t_ns: np.ndarray, n: int) -> np.ndarray:
    """First node index of the ``n``-point window centred on each ``t`` (clipped at the ends)."""
    left = np.searchsorted(times_ns, t_ns, side="right") - 1  # last node <= t
    start = left - (n // 2 - 1) if n % 2 == 0 else left - n // 2
    # odd n: centre on the nearer node
    if n % 2 == 1:
        nearer_right = np.zeros(t_ns.shape, dtype=bool)
        ok = (left >= 0) & (left + 1 < len(times_ns))
        li = np.clip(left, 0, len(times_ns) - 1)
        ri = np.clip(left + 1, 0, len(times_ns) - 1)
        nearer_right[ok] = (times_ns[ri] - t_ns)[ok] < (t_ns - times_ns[li])[ok]
        start = start + nearer_right
    return np.clip(start, 0, max(len(times_ns) - n, 0))


def interpolate_positions(times_ns, values, col, t_ns, order=10, velocities=None):
    """Lagrange interpolation of tabulated positions for (column, time) pairs.

    Parameters
    ----------
    times_ns : (m,) int64
        Node epochs, strictly increasing (GPST ns).
    values : (m, k, 3) float
        Positions (m), NaN where missing.
    col : (N,) int
        Column (satellite) of each request; -1 for "not in the product".
    t_ns : (N,) int64
        Requested times.
    order : int
        Number of nodes (reduced to ``m`` when the product has fewer epochs).
    velocities : (m, k, 3) float, optional
        Tabulated velocities (m/s), interpolated with the same weights when given.

    Returns
    -------
    position : (N, 3) float, m
    velocity : (N, 3) float, m/s
    ok : (N,) bool
        False outside ``[times[0], times[-1]]``, for ``col == -1`` or when any node of the
        window is missing (NaN).
    """
    times_ns = np.asarray(times_ns, dtype=np.int64)
    t_ns = np.asarray(t_ns, dtype=np.int64)
    col = np.asarray(col, dtype=np.intp)
    m = len(times_ns)
    N = t_ns.shape[0]
    position = np.full((N, 3), np.nan)
    velocity = np.full((N, 3), np.nan)
    ok = np.zeros(N, dtype=bool)
    if m < 2 or N == 0:
        if m == 1:  # a single epoch: exact matches only
            hit = (t_ns == times_ns[0]) & (col >= 0)
            position[hit] = values[0, col[hit]]
            if velocities is not None:
                velocity[hit] = velocities[0, col[hit]]
            ok = hit & np.isfinite(position).all(axis=1)
        return position, velocity, ok
    n = min(int(order), m)
    inside = (t_ns >= times_ns[0]) & (t_ns <= times_ns[-1]) & (col >= 0)
    req = np.nonzero(inside)[0]
    if req.size == 0:
        return position, velocity, ok
    c = col[req]
    # the weights depend on the time only: compute them once per distinct time
    t_unique, inverse = np.unique(t_ns[req], return_inverse=True)
    start_u = _window_starts(times_ns, t_unique, n)
    h = float(np.median(np.diff(times_ns))) / 1e9  # nominal spacing, s
    # abscissae in units of the spacing, relative to the window's first node
    win_u = start_u[:, None] + np.arange(n)
    nodes = (times_ns[win_u] - times_ns[start_u][:, None]).astype(np.float64) / 1e9 / h
    x = (t_unique - times_ns[start_u]).astype(np.float64) / 1e9 / h
    w_u, dw_u = lagrange_weights(x, nodes, derivative=True)
    w, dw, win = w_u[inverse], dw_u[inverse], win_u[inverse]  # (R, n)
    y = values[win, c[:, None]]  # (R, n, 3)
    pos = np.einsum("rn,rnj->rj", w, y)
    if velocities is not None:
        vy = velocities[win, c[:, None]]
        vel = np.einsum("rn,rnj->rj", w, vy)
        missing_v = ~np.isfinite(vel).all(axis=1)
        if missing_v.any():
            vel[missing_v] = np.einsum("rn,rnj->rj", dw[missing_v], y[missing_v]) / h
    else:
        vel = np.einsum("rn,rnj->rj", dw, y) / h
    good = np.isfinite(pos).all(axis=1)
    position[req[good]] = pos[good]
    velocity[req[good]] = vel[good]
    ok[req[good]] = True
    return position, velocity, ok


# ---------------------------------------------------------------------------- clocks
#: Seconds a clock product's first/last sample line is extended (signal travel time at a
#: day's first epoch, see :func:`interpolate_clock`).
_CLOCK_EDGE_S = 0.5


def interpolate_clock(times_ns, bias_s, col, t_ns, max_gap_factor=2.0, edge_s=0.0):
    """Linear interpolation of tabulated clock biases between neighbouring samples.

    Parameters
    ----------
    times_ns : (m,) int64
        Sample epochs, increasing (GPST ns).
    bias_s : (m, k) float
        Clock bias (s), NaN where missing.
    col : (N,) int
        Column of each request, -1 when the satellite has no clock in the product.
    t_ns : (N,) int64
        Requested times.
    max_gap_factor : float
        Neighbours further apart than this many nominal (median) intervals are a gap.
    edge_s : float
        Requests up to this many seconds before the first or after the last sample take the
        line of the edge interval (default 0: none). :func:`precise_states` allows 0.5 s: a
        signal leaves the satellite ~0.07-0.13 s before the receiver's first epoch of a day,
        which a day's clock file starts at; never more than a second, never minutes.

    Returns
    -------
    clock : (N,) float, s
    drift : (N,) float, s/s (NaN with a single sample)
    ok : (N,) bool
    """
    times_ns = np.asarray(times_ns, dtype=np.int64)
    t_ns = np.asarray(t_ns, dtype=np.int64)
    col = np.asarray(col, dtype=np.intp)
    m = len(times_ns)
    N = t_ns.shape[0]
    clock = np.full(N, np.nan)
    drift = np.full(N, np.nan)
    if m == 0 or N == 0:
        return clock, drift, np.zeros(N, dtype=bool)
    has = col >= 0
    if m == 1:
        hit = has & (t_ns == times_ns[0])
        clock[hit] = bias_s[0, col[hit]]
        return clock, drift, np.isfinite(clock)
    edge = int(round(edge_s * 1e9))
    inside = has & (t_ns >= times_ns[0] - edge) & (t_ns <= times_ns[-1] + edge)
    req = np.nonzero(inside)[0]
    t = t_ns[req]
    c = col[req]
    i0 = np.clip(np.searchsorted(times_ns, t, side="right") - 1, 0, m - 2)
    i1 = i0 + 1
    dt_nodes = (times_ns[i1] - times_ns[i0]).astype(np.float64) / 1e9
    nominal = float(np.median(np.diff(times_ns))) / 1e9
    b0 = bias_s[i0, c]
    b1 = bias_s[i1, c]
    frac = (t - times_ns[i0]).astype(np.float64) / 1e9 / dt_nodes
    val = b0 + frac * (b1 - b0)
    # exactly on a sample: that sample alone decides
    on0 = t == times_ns[i0]
    on1 = t == times_ns[i1]
    val = np.where(on0, b0, np.where(on1, b1, val))
    gap = dt_nodes > max_gap_factor * nominal * (1 + 1e-9)
    val[gap & ~on0 & ~on1] = np.nan
    drv = (b1 - b0) / dt_nodes
    drv[gap] = np.nan
    clock[req] = val
    drift[req] = drv
    return clock, drift, np.isfinite(clock)


# ---------------------------------------------------------------------------- public
def _column_lookup(satellites) -> np.ndarray:
    table = np.full(MAX_SATELLITES, -1, dtype=np.intp)
    sats = np.asarray(satellites, dtype=np.intp)
    table[sats] = np.arange(len(sats))
    return table


def _sorted_unique_epochs(times_ns):
    """Index that makes the epochs strictly increasing (first of duplicates kept)."""
    times_ns = np.asarray(times_ns, dtype=np.int64)
    if len(times_ns) < 2 or np.all(np.diff(times_ns) > 0):
        return None
    _, first = np.unique(times_ns, return_index=True)
    return first


def precise_states(sp3, sat, time_ns, clk=None, order=10, require_clock=True):
    """Satellite states interpolated from a precise SP3 orbit (and RINEX clock) product.

    Parameters
    ----------
    sp3 : satnav.io.sp3.Sp3
        Precise orbits: ``time`` (m,) int64 GPST ns, ``satellites`` (k,) int16,
        ``position_m`` (m, k, 3) ECEF centre of mass, ``clock_s`` (m, k) NaN where
        missing, ``velocity_m_s`` (m, k, 3) or None. Several days may be merged.
    sat : int array
        Satellite indices; broadcast against ``time_ns``.
    time_ns : int64 array
        GPST ns (signal transmission time).
    clk : satnav.io.clk.ClockData, optional
        Precise clocks (``satellite_time``, ``satellites``, ``satellite_bias_s``). When
        given, clocks come only from it; otherwise from the SP3 clock records.
    order : int
        Number of Lagrange nodes (9-11 recommended; 10 default). Products with fewer
        epochs use all of them.
    require_clock : bool
        True (default, for estimators): a satellite without a clock at that time is
        invalid (reason 5) and its position NaN. False (orbit comparisons): validity and
        position depend on the orbit only and ``clock_s`` may be NaN.

    Returns
    -------
    SatelliteStates
        ``position_m`` ECEF (m, centre of mass, frame of the product), ``velocity_m_s``,
        ``clock_s`` (s, incl. the periodic relativistic term ``relativity_s``),
        ``clock_drift_s_s``; ``group_delay_s`` and ``iode`` NaN, ``message_toe_ns`` -1;
        ``reason`` 5 outside the product's span, for satellites the product lacks, or
        when a node of the interpolation window (or a clock neighbour) is missing.
    """
    from ..satellite_states import SatelliteStates

    sat_b, t_b = np.broadcast_arrays(np.asarray(sat, dtype=np.intp), np.asarray(time_ns))
    shape = sat_b.shape
    sat_f = sat_b.ravel()
    t_f = t_b.astype(np.int64).ravel()
    if np.any((sat_f < 0) | (sat_f >= MAX_SATELLITES)):
        raise ValueError("satellite index out of range")

    times = np.asarray(sp3.time, dtype=np.int64)
    pos_tab = np.asarray(sp3.position_m, dtype=np.float64)
    vel_tab = getattr(sp3, "velocity_m_s", None)
    clk_tab = getattr(sp3, "clock_s", None)
    keep = _sorted_unique_epochs(times)
    if keep is not None:
        times, pos_tab = times[keep], pos_tab[keep]
        vel_tab = None if vel_tab is None else np.asarray(vel_tab)[keep]
        clk_tab = None if clk_tab is None else np.asarray(clk_tab)[keep]
    col = _column_lookup(sp3.satellites)[sat_f]
    position, velocity, ok = interpolate_positions(
        times, pos_tab, col, t_f, order=order,
        velocities=None if vel_tab is None else np.asarray(vel_tab, dtype=np.float64),
    )

    if clk is not None:
        ctimes = np.asarray(clk.satellite_time, dtype=np.int64)
        cbias = np.asarray(clk.satellite_bias_s, dtype=np.float64)
        ckeep = _sorted_unique_epochs(ctimes)
        if ckeep is not None:
            ctimes, cbias = ctimes[ckeep], cbias[ckeep]
        ccol = _column_lookup(clk.satellites)[sat_f]
        clock, drift, clock_ok = interpolate_clock(ctimes, cbias, ccol, t_f, edge_s=_CLOCK_EDGE_S)
    elif clk_tab is not None:
        clock, drift, clock_ok = interpolate_clock(
            times, np.asarray(clk_tab, dtype=np.float64), col, t_f, edge_s=_CLOCK_EDGE_S
        )
    else:
        clock = np.full(t_f.shape, np.nan)
        drift = clock.copy()
        clock_ok = np.zeros(t_f.shape, dtype=bool)

    relativity = relativistic_clock_correction(position, velocity)
    valid = ok & clock_ok if require_clock else ok
    position[~valid] = np.nan
    velocity[~valid] = np.nan
    clock = clock + relativity
    clock[~(valid & clock_ok)] = np.nan
    drift[~(valid & clock_ok)] = np.nan
    relativity[~valid] = np.nan
    reason = np.where(valid, REASON_OK, REASON_NO_PRECISE).astype(np.int8)

    return SatelliteStates(
        position_m=position.reshape(shape + (3,)),
        velocity_m_s=velocity.reshape(shape + (3,)),
        clock_s=clock.reshape(shape),
        clock_drift_s_s=drift.reshape(shape),
        relativity_s=relativity.reshape(shape),
        group_delay_s=np.full(shape, np.nan),
        iode=np.full(shape, np.nan),
        message_toe_ns=np.full(shape, -1, dtype=np.int64),
        valid=valid.reshape(shape),
        reason=reason.reshape(shape),
    )
