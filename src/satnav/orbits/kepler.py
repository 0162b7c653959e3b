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
from satnav.gnss_time import NS_PER_S, SECONDS_PER_WEEK
from satnav.satellites import prn_of

__all__ = [
    "SYSTEM_CONSTANTS",
    "is_beidou_geo",
    "solve_kepler",
    "kepler_orbit",
    "kepler_states",
    "kepler_clock",
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
    limit = tol * (1.0 + np.abs(m)) / np.maximum(1.0 - e, tol)
    ecc_anomaly = m + 0.85 * e * np.sign(np.sin(m))
    done = None
    for _ in range(max_iter):
        step = (ecc_anomaly - e * np.sin(ecc_anomaly) - m) / (1.0 - e * np.cos(ecc_anomaly))
        if done is not None:  # an element stops at its own last correction
            step = np.where(done, 0.0, step)
        ecc_anomaly = ecc_anomaly - step
        going = np.abs(step) > limit  # NaNs (invalid messages) do not keep it going
        if not going.any():
            break
        done = ~going
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
    """t - ref (s) from int64 ns, wrapped into +-half a week (IS-GPS-200 20.3.3.4.3)."""
    dt = (np.asarray(t_ns, dtype=np.int64) - np.asarray(ref_ns, dtype=np.int64)) / NS_PER_S
    dt = np.where(dt > _HALF_WEEK, dt - SECONDS_PER_WEEK, dt)
    return np.where(dt < -_HALF_WEEK, dt + SECONDS_PER_WEEK, dt)


def kepler_orbit(eph, tk_s, system: str, geo=False, *, velocity: bool = True,
                 orbit: bool = True):
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

    Returns
    -------
    position_m, velocity_m_s : ndarray (..., 3)
        ECEF (system frame) position (m) and velocity (m/s).
    relativity_s, relativity_rate_s_s : ndarray
        Periodic relativistic clock term F e sqrt(A) sin E (s), F = -2 sqrt(GM) / c^2
        (IS-GPS-200 20.3.3.3.3.1), and its time derivative (s/s).
    """
    gm, omega_e = _system_constants(system)
    tk = np.asarray(tk_s, dtype=np.float64)
    sqrt_a = np.asarray(eph["sqrt_a"], dtype=np.float64)
    shape = np.broadcast_shapes(tk.shape, sqrt_a.shape)

    def fit(a):  # broadcast to the pairs' shape (no view needed when it has it already)
        return a if a.shape == shape else np.broadcast_to(a, shape)

    sqrt_a = fit(sqrt_a)
    tk = fit(tk)

    def f(name):
        return fit(np.asarray(eph[name], dtype=np.float64))

    e = f("e")
    adot = fit(_field(eph, "adot", sqrt_a))
    delta_n_dot = fit(_field(eph, "delta_n_dot", sqrt_a))

    # Table 20-IV (with the CNAV terms of table 30-II, zero for legacy messages)
    a0 = sqrt_a * sqrt_a
    a = a0 + adot * tk
    n0 = np.sqrt(gm / (a0 * a0 * a0))
    n = n0 + f("delta_n") + 0.5 * delta_n_dot * tk
    mean_anomaly = f("m0") + n * tk
    ecc_anomaly = solve_kepler(mean_anomaly, e)
    if not orbit:  # the expression of ``relativity`` below
        f_rel = -2.0 * np.sqrt(gm) / C.SPEED_OF_LIGHT**2
        return None, None, f_rel * e * sqrt_a * np.sin(ecc_anomaly), None
    sin_e, cos_e = np.sin(ecc_anomaly), np.cos(ecc_anomaly)
    one_minus_ecos = 1.0 - e * cos_e
    mean_anomaly_dot = n + 0.5 * delta_n_dot * tk  # d(n tk)/dt with n linear in tk
    ecc_anomaly_dot = mean_anomaly_dot / one_minus_ecos
    sqrt_1me2 = np.sqrt(1.0 - e * e)
    true_anomaly = np.arctan2(sqrt_1me2 * sin_e, cos_e - e)

    phi = true_anomaly + f("omega")
    sin2p, cos2p = np.sin(2.0 * phi), np.cos(2.0 * phi)
    cus, cuc, crs, crc, cis, cic = f("cus"), f("cuc"), f("crs"), f("crc"), f("cis"), f("cic")
    du = cus * sin2p + cuc * cos2p
    dr = crs * sin2p + crc * cos2p
    di = cis * sin2p + cic * cos2p

    u = phi + du
    r = a * one_minus_ecos + dr
    inc = f("i0") + f("idot") * tk + di
    sin_u, cos_u = np.sin(u), np.cos(u)
    xp, yp = r * cos_u, r * sin_u

    toe_sow = f("toe_sow")
    omega_dot = f("omega_dot")
    geo = fit(np.asarray(geo, dtype=bool))
    # GEO (BDS-SIS-ICD table 5-11): node in the inertial-like frame, then rotations below
    node_rate = np.where(geo, omega_dot, omega_dot - omega_e)
    node = f("omega0") + node_rate * tk - omega_e * toe_sow
    sin_o, cos_o = np.sin(node), np.cos(node)
    sin_i, cos_i = np.sin(inc), np.cos(inc)

    x = xp * cos_o - yp * cos_i * sin_o
    y = xp * sin_o + yp * cos_i * cos_o
    z = yp * sin_i

    f_rel = -2.0 * np.sqrt(gm) / C.SPEED_OF_LIGHT**2
    relativity = f_rel * e * sqrt_a * sin_e
    if not velocity:
        if np.any(geo):
            x, y, z = _beidou_geo_rotation(x, y, z, None, None, None, tk, omega_e, geo)[:3]
        return np.stack([x, y, z], axis=-1), None, relativity, None

    true_anomaly_dot = ecc_anomaly_dot * sqrt_1me2 / one_minus_ecos
    two_phidot = 2.0 * true_anomaly_dot
    du_dot = two_phidot * (cus * cos2p - cuc * sin2p)
    dr_dot = two_phidot * (crs * cos2p - crc * sin2p)
    di_dot = two_phidot * (cis * cos2p - cic * sin2p)
    u_dot = true_anomaly_dot + du_dot
    r_dot = a * e * sin_e * ecc_anomaly_dot + adot * one_minus_ecos + dr_dot
    inc_dot = f("idot") + di_dot
    xp_dot = r_dot * cos_u - r * u_dot * sin_u
    yp_dot = r_dot * sin_u + r * u_dot * cos_u
    vx = xp_dot * cos_o - yp_dot * cos_i * sin_o + yp * sin_i * sin_o * inc_dot - y * node_rate
    vy = xp_dot * sin_o + yp_dot * cos_i * cos_o - yp * sin_i * cos_o * inc_dot + x * node_rate
    vz = yp_dot * sin_i + yp * cos_i * inc_dot

    if np.any(geo):
        x, y, z, vx, vy, vz = _beidou_geo_rotation(x, y, z, vx, vy, vz, tk, omega_e, geo)

    position = np.stack([x, y, z], axis=-1)
    velocity_m_s = np.stack([vx, vy, vz], axis=-1)
    relativity_dot = f_rel * e * sqrt_a * cos_e * ecc_anomaly_dot
    return position, velocity_m_s, relativity, relativity_dot


def kepler_states(eph, t_ns, system: str, *, velocity: bool = True, orbit: bool = True):
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
    t_ns = np.asarray(t_ns, dtype=np.int64)
    tk = _time_from(t_ns, eph["toe"])
    if isinstance(system, str):
        geo = system == "C" and is_beidou_geo(prn_of(eph["sat"]))
    else:
        geo = (np.asarray(system) == "C") & is_beidou_geo(prn_of(eph["sat"]))
    position, vel, relativity, relativity_dot = kepler_orbit(eph, tk, system, geo,
                                                             velocity=velocity and orbit,
                                                             orbit=orbit)
    # Clock (IS-GPS-200 20.3.3.3.3.1; Galileo 5.1.4; BDS 5.2.4.10)
    poly, poly_dot = kepler_clock(eph, t_ns)
    if not velocity or not orbit:
        return position, None, poly + relativity, None, relativity
    return position, vel, poly + relativity, poly_dot + relativity_dot, relativity


def kepler_clock(eph, t_ns):
    """Clock polynomial a_f0 + a_f1 dt + a_f2 dt^2 (s) and its derivative (s/s), dt = t - toc
    (half-week wrapped), without the relativistic term."""
    dt = _time_from(t_ns, eph["toc"])
    af0 = np.asarray(eph["af0"], dtype=np.float64)
    af1 = np.asarray(eph["af1"], dtype=np.float64)
    af2 = np.asarray(eph["af2"], dtype=np.float64)
    return af0 + (af1 + af2 * dt) * dt, af1 + 2.0 * af2 * dt


def _beidou_geo_rotation(x, y, z, vx, vy, vz, tk, omega_e, geo):
    """BDS GEO: P = R_z(omega_e t_k) R_x(-5 deg) P_GK and its time derivative, applied where
    ``geo`` (BDS-SIS-ICD table 5-11). R_x(a) = [[1,0,0],[0,c,s],[0,-s,c]], R_z likewise.
    Velocities None: positions only (the velocities come back as None)."""
    # R_x(-5 deg)
    y1 = _COS5 * y + _SIN5 * z
    z1 = -_SIN5 * y + _COS5 * z
    ang = omega_e * tk
    sa, ca = np.sin(ang), np.cos(ang)
    xg = ca * x + sa * y1
    yg = -sa * x + ca * y1
    position = (np.where(geo, xg, x), np.where(geo, yg, y), np.where(geo, z1, z))
    if vx is None:
        return position + (None, None, None)
    vy1 = _COS5 * vy + _SIN5 * vz
    vz1 = -_SIN5 * vy + _COS5 * vz
    # d/dt of R_z(omega t) applied to the rotated vector, plus R_z applied to the velocity
    vxg = ca * vx + sa * vy1 + omega_e * yg
    vyg = -sa * vx + ca * vy1 - omega_e * xg
    return position + (np.where(geo, vxg, vx), np.where(geo, vyg, vy), np.where(geo, vz1, vz))
