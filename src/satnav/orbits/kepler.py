"""Keplerian broadcast orbits and clocks: GPS, QZSS, Galileo, BeiDou (incl. GEO) and NavIC.

Every function is vectorized over (message, time) pairs: the message parameters are arrays
aligned with the times (gather them with the row of the message chosen for each pair, see
:mod:`satnav.orbits.ephemeris`).

Sources
-------
- GPS LNAV: IS-GPS-200N table 20-IV (user algorithm for ephemeris determination), 20.3.3.3.3
  (satellite clock correction, relativistic term, T_GD). CNAV (RINEX 4 ``CNAV``/``CNV2``):
  IS-GPS-200N table 30-II (A_k = A_0 + Adot t_k, n_A = n_0 + dn_0 + dn_0dot t_k / 2).
- QZSS: IS-QZSS-PNT-005, identical algorithm and constants as GPS.
- Galileo: OS SIS ICD 2.1, 5.1.1 (table 58) and 5.1.4-5.1.5 (clock, BGD), its GM.
- BeiDou: BDS-SIS-ICD-B1I-3.0, 5.2.4.12 (table 5-11): MEO/IGSO as GPS with CGCS2000 GM and
  Earth rotation rate; GEO satellites (PRN 1-5, 59-63) computed in an inertial-like frame and
  rotated by R_z(omega_e t_k) R_x(-5 deg). BDS-3 CNAV (B-CNAV1/2/3) uses the same Adot/dn_0dot
  extension as GPS CNAV.
- NavIC: IRNSS SIS ICD for SPS 1.1, 6.2 (GPS-like algorithm).

Velocities are the analytic time derivatives of the position formulas (no finite differences).
"""

from __future__ import annotations

import numpy as np

from satnav import constants as C
from satnav._jit import any_true, select
from satnav.gnss_time import NS_PER_S, SECONDS_PER_WEEK
from satnav.satellites import prn_of

__all__ = [
    "SYSTEM_CONSTANTS",
    "is_beidou_geo",
    "solve_kepler",
    "kepler_orbit",
    "kepler_states",
    "kepler_clock",
    "kepler_constants",
    "gather_constants",
    "pack_constants",
    "KeplerConstants",
]

#: (GM m^3/s^2, Earth rotation rate rad/s) used by each system's user algorithm.
SYSTEM_CONSTANTS = {
    "G": (C.GM_GPS, C.OMEGA_E_GPS),
    "J": (C.GM_QZSS, C.OMEGA_E_QZSS),
    "E": (C.GM_GALILEO, C.OMEGA_E_GALILEO),
    "C": (C.GM_BEIDOU, C.OMEGA_E_BEIDOU),
    "I": (C.GM_NAVIC, C.OMEGA_E_NAVIC),
}

_HALF_WEEK = SECONDS_PER_WEEK / 2
#: SYSTEM_CONSTANTS as arrays indexed by the system letter's code point (for per-element
#: system letters: several systems' messages evaluated in one call).
_GM_BY_CODE = np.full(128, np.nan)
_OMEGA_BY_CODE = np.full(128, np.nan)
for _letter, (_gm, _omega) in SYSTEM_CONSTANTS.items():
    _GM_BY_CODE[ord(_letter)], _OMEGA_BY_CODE[ord(_letter)] = _gm, _omega


def _system_constants(system):
    """(GM, Earth rotation rate) of ``system``: floats for one letter, arrays (the same
    values element by element) for an array of letters."""
    if isinstance(system, str):
        return SYSTEM_CONSTANTS[system]
    code = np.asarray(system, dtype="U1").view(np.int32)
    return _GM_BY_CODE[code], _OMEGA_BY_CODE[code]
_SIN5 = np.sin(np.deg2rad(-5.0))
_COS5 = np.cos(np.deg2rad(-5.0))


def is_beidou_geo(prn) -> np.ndarray:
    """True for BeiDou GEO satellites (PRN 1-5 and 59-63, BDS-SIS-ICD)."""
    prn = np.asarray(prn)
    return ((prn >= 1) & (prn <= 5)) | ((prn >= 59) & (prn <= 63))


def solve_kepler(mean_anomaly, eccentricity, tol: float = 1e-15, max_iter: int = 30):
    """Eccentric anomaly E (rad) from M = E - e sin E, by Newton iteration (vectorized).

    Starts from Danby's E_0 = M + 0.85 e sign(sin M) (J. M. A. Danby, "The solution of
    Kepler's equation III", Celestial Mechanics 40, 1987), from which Newton's method
    converges for every 0 <= e < 1 (from E_0 = M it can diverge near e = 1, e.g. e = 0.99).
    All elements iterate together until every correction is below
    ``tol (1 + |M|) / (1 - e)`` (rad): the rounding noise of a correction, so that the loop
    ends as soon as E is exact to rounding, whatever the size of M; Newton's quadratic
    convergence makes the last correction exact. 3 iterations for e < 0.02, 4 for e < 0.2,
    12 for e = 0.999. Each element stops at its own last correction (those converged are
    not corrected further while others iterate), so that an element's value does not
    depend on the others evaluated with it (a time chunk, the systems of one call). The one Kepler solver of satnav: broadcast orbits, the broadcast fit
    and the constellation designer all use it.
    """
    m = np.asarray(mean_anomaly, dtype=np.float64)
    e = np.asarray(eccentricity, dtype=np.float64)
    return solve_kepler_core(m, e, tol, max_iter)


def solve_kepler_core(m, e, tol, max_iter):
    """:func:`solve_kepler` of float arrays or of numbers ``m`` (rad), ``e``: only
    operations numba compiles (the one-epoch kernels call it element by element, the same
    operations, the same bits)."""
    limit = tol * (1.0 + np.abs(m)) / np.maximum(1.0 - e, tol)
    ecc_anomaly = m + 0.85 * e * np.sign(np.sin(m))
    done = limit < 0.0  # (False: nothing converged yet)
    for iteration in range(max_iter):
        step = (ecc_anomaly - e * np.sin(ecc_anomaly) - m) / (1.0 - e * np.cos(ecc_anomaly))
        if iteration:  # an element stops at its own last correction
            step = select(done, 0.0, step)
        ecc_anomaly = ecc_anomaly - step
        going = np.abs(step) > limit  # NaNs (invalid messages) do not keep it going
        if not any_true(going):
            break
        done = np.logical_not(going)
    return ecc_anomaly


def _field(eph, name, like):
    """A field of ``eph`` as float array; zeros when absent; NaN (unknown) read as 0 for the
    optional RINEX 4 fields."""
    try:
        v = np.asarray(eph[name], dtype=np.float64)
    except (KeyError, ValueError, IndexError):
        return np.zeros_like(like)
    return np.where(np.isnan(v), 0.0, v)


def _time_from(t_ns, ref_ns):
    """t - ref (s) from int64 ns, wrapped into +-half a week (:func:`time_from_core`)."""
    return time_from_core(np.asarray(t_ns, dtype=np.int64), np.asarray(ref_ns, dtype=np.int64))


class KeplerConstants:
    """What :func:`kepler_orbit` and :func:`kepler_states` compute from the message
    parameters alone (:func:`kepler_constants`): kept by a caller that evaluates the same
    messages at many times (a per-epoch solver's satellites epoch after epoch); the results
    are the same, bit for bit. Arrays have the messages' shape (not broadcast). Gathered
    from packed rows (:func:`gather_constants`), ``floats`` and ``times`` are those rows
    (``(messages, columns)`` as :data:`_PACKED_FIELDS`, ``(messages, 2)`` toe and toc, GPST
    ns), the input of :func:`kepler_state_of_row`; None otherwise."""

    __slots__ = ("gm", "omega_e", "sqrt_a", "e", "adot", "a0", "n_base", "half_delta_n_dot", "m0", "sqrt_1me2",
                 "omega", "c_sin", "c_cos", "i0", "idot", "node_rate", "omega0", "node_at_toe", "rel_factor",
                 "geo", "any_geo", "toe", "toc", "af0", "af1", "two_af2", "af2", "floats", "times")


def kepler_constants(eph, system, geo=None) -> KeplerConstants:
    """:class:`KeplerConstants` of the messages ``eph`` (as :func:`kepler_orbit`'s ``eph``;
    with ``toe``, ``toc`` and the clock terms as :func:`kepler_states`'s when present) of
    ``system`` (a letter or one per message). ``geo``: BeiDou GEO flags (default: as
    :func:`kepler_states` decides them, from the system and the satellite numbers)."""
    k = KeplerConstants()
    k.floats = k.times = None
    gm, omega_e = _system_constants(system)
    k.gm, k.omega_e = gm, omega_e
    sqrt_a = np.asarray(eph["sqrt_a"], dtype=np.float64)

    def f(name):
        return np.asarray(eph[name], dtype=np.float64)

    k.sqrt_a = sqrt_a
    e = k.e = f("e")
    k.adot = _field(eph, "adot", sqrt_a)
    delta_n_dot = _field(eph, "delta_n_dot", sqrt_a)
    # Table 20-IV (with the CNAV terms of table 30-II, zero for legacy messages)
    a0 = k.a0 = sqrt_a * sqrt_a
    n0 = np.sqrt(gm / (a0 * a0 * a0))
    k.n_base = n0 + f("delta_n")
    k.half_delta_n_dot = 0.5 * delta_n_dot
    k.m0 = f("m0")
    k.sqrt_1me2 = np.sqrt(1.0 - e * e)
    k.omega = f("omega")
    # harmonic corrections of (u, r, i): sine and cosine amplitudes on the last axis
    k.c_sin = np.stack(np.broadcast_arrays(f("cus"), f("crs"), f("cis")), axis=-1)
    k.c_cos = np.stack(np.broadcast_arrays(f("cuc"), f("crc"), f("cic")), axis=-1)
    k.i0, k.idot = f("i0"), f("idot")
    if geo is None:
        if isinstance(system, str):
            geo = system == "C" and is_beidou_geo(prn_of(eph["sat"]))
        else:
            geo = (np.asarray(system) == "C") & is_beidou_geo(prn_of(eph["sat"]))
    geo = np.asarray(geo, dtype=bool)
    k.geo, k.any_geo = geo, bool(np.any(geo))
    omega_dot = f("omega_dot")
    # GEO (BDS-SIS-ICD table 5-11): node in the inertial-like frame, then rotations below
    k.node_rate = np.where(geo, omega_dot, omega_dot - omega_e)
    k.omega0 = f("omega0")
    k.node_at_toe = omega_e * f("toe_sow")
    f_rel = -2.0 * np.sqrt(gm) / C.SPEED_OF_LIGHT**2
    k.rel_factor = f_rel * e * sqrt_a
    k.toe = k.toc = k.af0 = k.af1 = k.af2 = k.two_af2 = None
    names = getattr(eph, "dtype", None)
    names = names.names if names is not None else tuple(eph)
    if "toe" in names:
        k.toe = np.asarray(eph["toe"], dtype=np.int64)
    if "toc" in names:
        k.toc = np.asarray(eph["toc"], dtype=np.int64)
        k.af0, k.af1, k.af2 = f("af0"), f("af1"), f("af2")
        k.two_af2 = 2.0 * k.af2
    return k


#: The columns of :attr:`PackedConstants.floats`, in order (``c_sin`` and ``c_cos`` three
#: each: the u, r, i amplitudes); with every field present (messages with ``toc`` and the
#: clock terms) their indices are the ``COL_*`` constants below (the one-epoch kernels'
#: :func:`kepler_state_of_row`).
_PACKED_FIELDS = ("sqrt_a", "e", "adot", "a0", "n_base", "half_delta_n_dot", "m0", "sqrt_1me2", "omega", "c_sin",
                  "c_cos", "i0", "idot", "node_rate", "omega0", "node_at_toe", "rel_factor", "af0", "af1", "two_af2",
                  "af2", "omega_e")
(COL_SQRT_A, COL_E, COL_ADOT, COL_A0, COL_N_BASE, COL_HALF_DELTA_N_DOT, COL_M0, COL_SQRT_1ME2, COL_OMEGA,
 COL_CUS, COL_CRS, COL_CIS, COL_CUC, COL_CRC, COL_CIC, COL_I0, COL_IDOT, COL_NODE_RATE, COL_OMEGA0,
 COL_NODE_AT_TOE, COL_REL_FACTOR, COL_AF0, COL_AF1, COL_TWO_AF2, COL_AF2, COL_OMEGA_E) = range(26)


class PackedConstants:
    """:class:`KeplerConstants` of many messages (all the messages of one system) packed by
    message (:func:`pack_constants`): the float values as one (messages, columns) array,
    the times and the GEO flags beside it, so that the constants of a few rows are gathered
    in a few steps (:func:`gather_constants`)."""

    __slots__ = ("floats", "times", "geo", "columns", "absent")


def pack_constants(k: KeplerConstants) -> PackedConstants:
    """:class:`PackedConstants` of ``k`` (as returned by :func:`kepler_constants`)."""
    p = PackedConstants()
    n = np.shape(k.sqrt_a)[0]
    cols, columns, absent, at = [], {}, [], 0
    for name in _PACKED_FIELDS:
        v = getattr(k, name)
        if v is None:
            absent.append(name)
            continue
        v = np.broadcast_to(np.asarray(v, dtype=np.float64), (n, *np.shape(v)[1:]))
        width = v.shape[1] if v.ndim == 2 else 0
        columns[name] = slice(at, at + width) if width else at
        cols.append(v if width else v[:, None])
        at += max(width, 1)
    p.floats = np.concatenate(cols, axis=1) if cols else np.zeros((n, 0))
    times = [getattr(k, name) for name in ("toe", "toc")]
    absent += [name for name, v in zip(("toe", "toc"), times) if v is None]
    p.times = np.stack([np.broadcast_to(np.asarray(v, dtype=np.int64), (n,)) if v is not None else np.zeros(n, np.int64)
                        for v in times], axis=1)
    p.geo = np.broadcast_to(np.asarray(k.geo, dtype=bool), (n,)).copy()
    p.columns, p.absent = columns, tuple(absent)
    return p


def gather_constants(pieces, system) -> KeplerConstants:
    """:class:`KeplerConstants` of the messages ``rows`` of each ``(packed, rows)`` of
    ``pieces`` (each ``packed`` the :class:`PackedConstants` of all messages of one system,
    all packed alike), in order; ``system`` as :func:`kepler_constants`' for the gathered
    messages. Every value is computed from its own message alone, so the result is, bit
    for bit, :func:`kepler_constants` of the gathered messages (a per-epoch solver's plan of
    a new set of messages gathers rows of constants kept per system instead)."""
    if len(pieces) == 1:
        p, rows = pieces[0]
        floats, times, geo = p.floats[rows], p.times[rows], p.geo[rows]
    else:
        floats = np.concatenate([p.floats[rows] for p, rows in pieces])
        times = np.concatenate([p.times[rows] for p, rows in pieces])
        geo = np.concatenate([p.geo[rows] for p, rows in pieces])
    p = pieces[0][0]
    k = KeplerConstants()
    k.gm, k.omega_e = _system_constants(system)
    for name, column in p.columns.items():
        setattr(k, name, floats[:, column])
    k.toe, k.toc = times[:, 0], times[:, 1]
    for name in p.absent:
        setattr(k, name, None)
    k.geo, k.any_geo = geo, bool(geo.any())
    # the rows as they are, for the one-epoch kernels (every column present: see _PACKED_FIELDS)
    k.floats, k.times = (floats, times) if not p.absent else (None, None)
    return k


def kepler_orbit(eph, tk_s, system: str, geo=False, *, velocity: bool = True,
                 orbit: bool = True, constants: KeplerConstants | None = None):
    """ECEF position (and velocity) of quasi-Keplerian orbit parameters at t_k from toe.

    The orbit part of the user algorithm (IS-GPS-200N table 20-IV, CNAV table 30-II; BDS GEO
    table 5-11), shared by :func:`kepler_states` (broadcast messages) and the broadcast fit
    of designed constellations (:mod:`satnav.constellation.broadcast`).

    Parameters
    ----------
    eph : structured array or mapping of arrays
        ``sqrt_a`` (m^0.5), ``e``, ``m0``, ``delta_n`` (rad/s), ``omega0``, ``omega_dot``
        (rad/s), ``i0``, ``idot`` (rad/s), ``omega``, ``cuc``, ``cus``, ``cic``, ``cis``
        (rad), ``crc``, ``crs`` (m), ``toe_sow`` (s of the system week); optional ``adot``
        (m/s), ``delta_n_dot`` (rad/s^2). Broadcast against ``tk_s``.
    tk_s : array
        Time from toe (s), already wrapped into +-half a week.
    system : str or array of str
        System letter ("G", "J", "E", "C", "I"): GM and Earth rotation rate; or one letter
        per element (broadcast against ``tk_s``): the same values as one call per system.
    geo : bool or bool array
        Use the BeiDou GEO algorithm (broadcast against ``tk_s``).
    velocity : bool
        Also compute the velocity (False: ``velocity_m_s`` and ``relativity_rate_s_s`` are None).
    orbit : bool
        False: the relativistic clock term only (it needs the eccentric anomaly, not the
        rest of the orbit); ``position_m`` and ``velocity_m_s`` are then None. The term is
        the same, bit for bit.
    constants : KeplerConstants, optional
        :func:`kepler_constants` of ``eph``, ``system`` and ``geo``, kept by the caller
        (``eph``, ``system`` and ``geo`` are then not read).

    Returns
    -------
    position_m, velocity_m_s : ndarray (..., 3)
        ECEF (system frame) position (m) and velocity (m/s).
    relativity_s, relativity_rate_s_s : ndarray
        Periodic relativistic clock term F e sqrt(A) sin E (s), F = -2 sqrt(GM) / c^2
        (IS-GPS-200 20.3.3.3.3.1), and its time derivative (s/s).
    """
    k = constants if constants is not None else kepler_constants(eph, system, geo)
    tk = np.asarray(tk_s, dtype=np.float64)
    shape = np.broadcast_shapes(tk.shape, k.sqrt_a.shape, k.geo.shape)
    if tk.shape != shape:
        tk = np.broadcast_to(tk, shape)
    e = k.e
    n, ecc_anomaly = eccentric_anomaly_core(tk, k.n_base, k.half_delta_n_dot, k.m0, e)
    if not orbit:  # the expression of ``relativity`` of kepler_position_core
        return None, None, k.rel_factor * np.sin(ecc_anomaly), None
    c_sin, c_cos = k.c_sin, k.c_cos
    x, y, z, relativity, parts = kepler_position_core(
        tk, n, ecc_anomaly, k.a0, k.adot, e, k.sqrt_1me2, k.omega, c_sin[..., 0], c_sin[..., 1], c_sin[..., 2],
        c_cos[..., 0], c_cos[..., 1], c_cos[..., 2], k.i0, k.idot, k.node_rate, k.omega0, k.node_at_toe,
        k.rel_factor)
    position = _stacked(x, y, z, shape)
    if not velocity:
        if k.any_geo:
            _rotate_geo(position, None, tk, k)
        return position, None, relativity, None
    vx, vy, vz, relativity_dot = kepler_velocity_core(
        tk, parts, k.adot, k.half_delta_n_dot, e, k.sqrt_1me2, c_sin[..., 0], c_sin[..., 1], c_sin[..., 2],
        c_cos[..., 0], c_cos[..., 1], c_cos[..., 2], k.idot, k.node_rate, k.rel_factor)
    velocity_m_s = _stacked(vx, vy, vz, shape)
    if k.any_geo:
        _rotate_geo(position, velocity_m_s, tk, k)
    return position, velocity_m_s, relativity, relativity_dot


def _stacked(x, y, z, shape):
    """``x, y, z`` (of ``shape`` or broadcast to it) on a last axis."""
    out = np.empty(shape + (3,))
    out[..., 0], out[..., 1], out[..., 2] = x, y, z
    return out


def eccentric_anomaly_core(tk, n_base, half_delta_n_dot, m0, e):
    """Mean motion n (rad/s) and eccentric anomaly E (rad) at t_k (s) from toe (IS-GPS-200N
    table 20-IV with CNAV's dn_0dot, table 30-II) of float arrays or of numbers: the shared
    core of :func:`kepler_orbit` and the one-epoch kernels (only operations numba compiles)."""
    n = n_base + half_delta_n_dot * tk
    mean_anomaly = m0 + n * tk
    return n, solve_kepler_core(mean_anomaly, e, 1e-15, 30)


def kepler_position_core(tk, n, ecc_anomaly, a0, adot, e, sqrt_1me2, omega, cus, crs, cis, cuc, crc, cic, i0,
                         idot, node_rate, omega0, node_at_toe, rel_factor):
    """ECEF position (m, before the BeiDou GEO rotation) and the relativistic clock term (s)
    at t_k (s) from :func:`eccentric_anomaly_core`'s ``n, ecc_anomaly`` and a message's
    :class:`KeplerConstants` (the harmonic amplitudes one by one), of float arrays or of
    numbers (IS-GPS-200N table 20-IV, CNAV table 30-II): ``(x, y, z, relativity, parts)``,
    ``parts`` what :func:`kepler_velocity_core` needs of it. Only operations numba
    compiles: :func:`kepler_orbit` and the one-epoch kernels share it (the same bits)."""
    a = a0 + adot * tk
    sin_e, cos_e = np.sin(ecc_anomaly), np.cos(ecc_anomaly)
    one_minus_ecos = 1.0 - e * cos_e
    true_anomaly = np.arctan2(sqrt_1me2 * sin_e, cos_e - e)

    phi = true_anomaly + omega
    two_phi = 2.0 * phi
    sin2p, cos2p = np.sin(two_phi), np.cos(two_phi)
    # harmonic corrections (du, dr, di) = c_s sin 2phi + c_c cos 2phi
    angle_u = phi + (cus * sin2p + cuc * cos2p)
    r = a * one_minus_ecos + (crs * sin2p + crc * cos2p)
    angle_o = (omega0 + node_rate * tk) - node_at_toe
    angle_i = (i0 + idot * tk) + (cis * sin2p + cic * cos2p)
    sin_u, sin_o, sin_i = np.sin(angle_u), np.sin(angle_o), np.sin(angle_i)
    cos_u, cos_o, cos_i = np.cos(angle_u), np.cos(angle_o), np.cos(angle_i)
    xp, yp = r * cos_u, r * sin_u

    yp_cos_i = yp * cos_i
    x = xp * cos_o - yp_cos_i * sin_o
    y = xp * sin_o + yp_cos_i * cos_o
    z = yp * sin_i
    relativity = rel_factor * sin_e
    parts = (n, a, sin_e, cos_e, one_minus_ecos, sin2p, cos2p, r, sin_u, cos_u, sin_o, cos_o, sin_i, cos_i, yp, x, y)
    return x, y, z, relativity, parts


def kepler_velocity_core(tk, parts, adot, half_delta_n_dot, e, sqrt_1me2, cus, crs, cis, cuc, crc, cic, idot,
                         node_rate, rel_factor):
    """ECEF velocity (m/s, before the BeiDou GEO rotation) and the relativistic term's rate
    (s/s): the analytic time derivatives of :func:`kepler_position_core` (``parts`` its
    intermediate values), of float arrays or of numbers; only operations numba compiles."""
    n, a, sin_e, cos_e, one_minus_ecos, sin2p, cos2p, r, sin_u, cos_u, sin_o, cos_o, sin_i, cos_i, yp, x, y = parts
    # d(n tk)/dt with n linear in tk
    ecc_anomaly_dot = (n + half_delta_n_dot * tk) / one_minus_ecos
    true_anomaly_dot = ecc_anomaly_dot * sqrt_1me2 / one_minus_ecos
    # (du, dr, di) time derivatives
    two_nu_dot = 2.0 * true_anomaly_dot
    u_dot = true_anomaly_dot + two_nu_dot * (cus * cos2p - cuc * sin2p)
    r_dot = a * e * sin_e * ecc_anomaly_dot + adot * one_minus_ecos + two_nu_dot * (crs * cos2p - crc * sin2p)
    inc_dot = idot + two_nu_dot * (cis * cos2p - cic * sin2p)
    r_u_dot = r * u_dot
    xp_dot = r_dot * cos_u - r_u_dot * sin_u
    yp_dot = r_dot * sin_u + r_u_dot * cos_u
    yp_sin_i_inc_dot = yp * sin_i
    yp_dot_cos_i = yp_dot * cos_i
    vx = xp_dot * cos_o - yp_dot_cos_i * sin_o + yp_sin_i_inc_dot * sin_o * inc_dot - y * node_rate
    vy = xp_dot * sin_o + yp_dot_cos_i * cos_o - yp_sin_i_inc_dot * cos_o * inc_dot + x * node_rate
    vz = yp_dot * sin_i + yp * cos_i * inc_dot
    relativity_dot = rel_factor * cos_e * ecc_anomaly_dot
    return vx, vy, vz, relativity_dot


def _rotate_geo(position, velocity, tk, k: KeplerConstants) -> None:
    """:func:`beidou_geo_position_core` (and :func:`beidou_geo_velocity_core`) of the
    BeiDou GEO elements (``k.geo``), in place."""
    p, v, geo = position, velocity, k.geo
    xg, yg, zg, sa, ca = beidou_geo_position_core(p[..., 0], p[..., 1], p[..., 2], tk, k.omega_e)
    if v is not None:
        vxg, vyg, vzg = beidou_geo_velocity_core(v[..., 0], v[..., 1], v[..., 2], xg, yg, sa, ca, k.omega_e)
        v[..., 0], v[..., 1], v[..., 2] = (np.where(geo, vxg, v[..., 0]), np.where(geo, vyg, v[..., 1]),
                                           np.where(geo, vzg, v[..., 2]))
    p[..., 0], p[..., 1], p[..., 2] = np.where(geo, xg, p[..., 0]), np.where(geo, yg, p[..., 1]), np.where(geo, zg, p[..., 2])


def kepler_states(eph, t_ns, system: str, *, velocity: bool = True, orbit: bool = True,
                  constants: KeplerConstants | None = None):
    """Broadcast position, velocity and clock of Keplerian messages at GPST times.

    Parameters
    ----------
    eph : structured array or mapping of arrays
        Message fields of :data:`satnav.io.rinex_nav.KEPLER_DTYPE` (``sqrt_a``, ``e``, ``m0``,
        ``delta_n``, ``omega0``, ``omega_dot``, ``i0``, ``idot``, ``omega``, ``cuc``, ``cus``,
        ``crc``, ``crs``, ``cic``, ``cis``, ``toe`` (GPST ns), ``toe_sow``, ``toc``, ``af0``,
        ``af1``, ``af2``, ``sat``; optional ``adot``, ``delta_n_dot``), broadcast against
        ``t_ns``: one message per pair.
    t_ns : int64 array
        GPST ns of signal transmission.
    system : str or array of str
        System letter ("G", "J", "E", "C", "I"): selects GM, Earth rotation rate and the
        BeiDou GEO algorithm; or one letter per message (several systems in one call, the
        same values element by element).
    velocity : bool
        Also compute the velocity and clock drift (False: both None; the positions and
        clocks are the same, bit for bit).
    orbit : bool
        False: the clocks only (position and velocity None, clock drift None; the clocks
        are the same, bit for bit), e.g. for the clock of a transmission-time iteration.
    constants : KeplerConstants, optional
        :func:`kepler_constants` of ``eph`` and ``system``, kept by the caller (``eph`` and
        ``system`` are then not read).

    Returns
    -------
    position_m, velocity_m_s : ndarray (..., 3)
        ECEF (system frame) position (m) and velocity (m/s) (:func:`kepler_orbit`).
    clock_s : ndarray
        a_f0 + a_f1 (t - toc) + a_f2 (t - toc)^2 + relativistic term (s).
    clock_drift_s_s : ndarray
        Its time derivative (s/s).
    relativity_s : ndarray
        F e sqrt(A) sin E (s), F = -2 sqrt(GM) / c^2.
    """
    k = constants if constants is not None else kepler_constants(eph, system)
    t_ns = np.asarray(t_ns, dtype=np.int64)
    tk = _time_from(t_ns, k.toe)
    position, vel, relativity, relativity_dot = kepler_orbit(None, tk, system, velocity=velocity and orbit,
                                                             orbit=orbit, constants=k)
    # Clock (IS-GPS-200 20.3.3.3.3.1; Galileo 5.1.4; BDS 5.2.4.10)
    poly, poly_dot = kepler_clock(None, t_ns, constants=k)
    if not velocity or not orbit:
        return position, None, poly + relativity, None, relativity
    return position, vel, poly + relativity, poly_dot + relativity_dot, relativity


def kepler_state_of_row(t_ns, f, toe_ns, toc_ns, geo):
    """:func:`kepler_states` of one message at one time, from its packed constants: ``f`` a
    row of :attr:`KeplerConstants.floats` (every column of :data:`_PACKED_FIELDS`),
    ``toe_ns``, ``toc_ns`` its :attr:`KeplerConstants.times` (GPST ns), ``geo`` its BeiDou
    GEO flag, ``t_ns`` the GPST ns of transmission. Returns the numbers ``(x, y, z, vx, vy,
    vz, clock_s, clock_drift_s_s, relativity_s)`` (m, m/s, s, s/s, s), the values of
    :func:`kepler_states` (bit for bit where NumPy's elementary functions are the C library's,
    to their last bits where NumPy has its own: :mod:`satnav._jit`): the same cores, called
    with numbers. Written for
    numba (the one-epoch kernels of the live engine call it in their loop over the
    satellites; :mod:`satnav.estimators.spp_states_kernel`)."""
    tk = time_from_core(t_ns, toe_ns)
    e = f[COL_E]
    n, ecc_anomaly = eccentric_anomaly_core(tk, f[COL_N_BASE], f[COL_HALF_DELTA_N_DOT], f[COL_M0], e)
    cus, crs, cis, cuc, crc, cic = f[COL_CUS], f[COL_CRS], f[COL_CIS], f[COL_CUC], f[COL_CRC], f[COL_CIC]
    x, y, z, relativity, parts = kepler_position_core(
        tk, n, ecc_anomaly, f[COL_A0], f[COL_ADOT], e, f[COL_SQRT_1ME2], f[COL_OMEGA], cus, crs, cis, cuc, crc, cic,
        f[COL_I0], f[COL_IDOT], f[COL_NODE_RATE], f[COL_OMEGA0], f[COL_NODE_AT_TOE], f[COL_REL_FACTOR])
    vx, vy, vz, relativity_dot = kepler_velocity_core(
        tk, parts, f[COL_ADOT], f[COL_HALF_DELTA_N_DOT], e, f[COL_SQRT_1ME2], cus, crs, cis, cuc, crc, cic,
        f[COL_IDOT], f[COL_NODE_RATE], f[COL_REL_FACTOR])
    if geo:
        omega_e = f[COL_OMEGA_E]
        xg, yg, zg, sa, ca = beidou_geo_position_core(x, y, z, tk, omega_e)
        vx, vy, vz = beidou_geo_velocity_core(vx, vy, vz, xg, yg, sa, ca, omega_e)
        x, y, z = xg, yg, zg
    poly, poly_dot = clock_polynomial_core(time_from_core(t_ns, toc_ns), f[COL_AF0], f[COL_AF1], f[COL_AF2],
                                           f[COL_TWO_AF2])
    return x, y, z, vx, vy, vz, poly + relativity, poly_dot + relativity_dot, relativity


def kepler_clock(eph, t_ns, *, constants: KeplerConstants | None = None):
    """Clock polynomial a_f0 + a_f1 dt + a_f2 dt^2 (s) and its derivative (s/s), dt = t - toc
    (half-week wrapped), without the relativistic term. ``constants``: :func:`kepler_constants`
    of ``eph`` (``eph`` is then not read)."""
    if constants is None:
        dt = _time_from(t_ns, eph["toc"])
        af0 = np.asarray(eph["af0"], dtype=np.float64)
        af1 = np.asarray(eph["af1"], dtype=np.float64)
        af2 = np.asarray(eph["af2"], dtype=np.float64)
        return clock_polynomial_core(dt, af0, af1, af2, 2.0 * af2)
    k = constants
    dt = _time_from(t_ns, k.toc)
    return clock_polynomial_core(dt, k.af0, k.af1, k.af2, k.two_af2)


def clock_polynomial_core(dt, af0, af1, af2, two_af2):
    """a_f0 + a_f1 dt + a_f2 dt^2 (s) and a_f1 + 2 a_f2 dt (s/s) at dt (s) from toc
    (IS-GPS-200 20.3.3.3.3.1; Galileo 5.1.4; BDS 5.2.4.10), of float arrays or of numbers
    (:func:`kepler_clock` and the one-epoch kernels share it)."""
    return af0 + (af1 + af2 * dt) * dt, af1 + two_af2 * dt


def time_from_core(t_ns, ref_ns):
    """t - ref (s) of int64 ns (arrays or numbers), wrapped into +-half a week
    (IS-GPS-200 20.3.3.4.3); only operations numba compiles (shared with the kernels)."""
    dt = (t_ns - ref_ns) / NS_PER_S
    dt = select(dt > _HALF_WEEK, dt - SECONDS_PER_WEEK, dt)
    return select(dt < -_HALF_WEEK, dt + SECONDS_PER_WEEK, dt)


def beidou_geo_position_core(x, y, z, tk, omega_e):
    """BDS GEO: P = R_z(omega_e t_k) R_x(-5 deg) P_GK (BDS-SIS-ICD table 5-11; R_x(a) =
    [[1,0,0],[0,c,s],[0,-s,c]], R_z likewise) of float arrays or of numbers: ``(x, y, z,
    sin, cos)`` of the rotated position and of the angle omega_e t_k (for
    :func:`beidou_geo_velocity_core`). Only operations numba compiles (shared with the kernels)."""
    # R_x(-5 deg)
    y1 = _COS5 * y + _SIN5 * z
    z1 = -_SIN5 * y + _COS5 * z
    ang = omega_e * tk
    sa, ca = np.sin(ang), np.cos(ang)
    xg = ca * x + sa * y1
    yg = -sa * x + ca * y1
    return xg, yg, z1, sa, ca


def beidou_geo_velocity_core(vx, vy, vz, xg, yg, sa, ca, omega_e):
    """The time derivative of :func:`beidou_geo_position_core` (m/s) from the velocity in
    the inertial-like frame and that function's ``xg, yg, sin, cos``."""
    vy1 = _COS5 * vy + _SIN5 * vz
    vz1 = -_SIN5 * vy + _COS5 * vz
    # d/dt of R_z(omega t) applied to the rotated vector, plus R_z applied to the velocity
    vxg = ca * vx + sa * vy1 + omega_e * yg
    vyg = -sa * vx + ca * vy1 - omega_e * xg
    return vxg, vyg, vz1
