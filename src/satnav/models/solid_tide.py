"""Solid Earth tide displacement of a station (IERS Conventions 2010, section 7.1.1).

Step 1 of the IERS procedure (eqs. 7.5 and 7.6) for the Moon and the Sun: degree-2 Love
and Shida numbers with their latitude dependence (eq. 7.2: ``h2 = 0.6078 - 0.0006
(3 sin^2 phi - 1) / 2``, ``l2 = 0.0847 + 0.0002 (3 sin^2 phi - 1) / 2``) and the degree-3
terms (``h3 = 0.292``, ``l3 = 0.015``)::

    dr = sum_j GM_j / GM_E  R_E^4 / R_j^3  [ h2 r^ (3/2 (Rj^.r^)^2 - 1/2)
                                             + 3 l2 (Rj^.r^) (Rj^ - (Rj^.r^) r^) ]
       + sum_j GM_j / GM_E  R_E^5 / R_j^4  [ h3 r^ (5/2 (Rj^.r^)^3 - 3/2 (Rj^.r^))
                                             + l3 (15/2 (Rj^.r^)^2 - 3/2) (Rj^ - (Rj^.r^) r^) ]

with the step-1 corrections of :func:`solid_tide_displacement`: the out-of-phase parts of
the degree-2 numbers from mantle anelasticity in the diurnal (``h_I = -0.0025``,
``l_I = -0.0007``, eq. 7.10) and semidiurnal bands (``h_I = -0.0022``, ``l_I = -0.0007``,
eq. 7.11), and the ``l^(1)`` latitude terms of the transverse displacement (``0.0012``
diurnal, ``0.0024`` semidiurnal, eqs. 7.12, 7.13).

Step 2 (:func:`solid_tide_step2`, applied when the time is given): the frequency dependence of
the Love and Shida numbers, as in-phase and out-of-phase corrections of the tidal
constituents of Table 7.3a (31 diurnal lines; K1 12 mm x sin 2 phi radial) and Table 7.3b (5
long-period lines), with Doodson-type arguments from the mean longitudes of the Moon ``s``,
the Sun ``h``, the lunar perigee ``p``, the node ``N'`` (``-N``) and the solar perigee ``p_s``
(IERS 2010 eqs. 7.12a-b, 7.14a-b) and the local angle ``theta_f + lambda``.

The result is the displacement of a "conventional tide free" position (ITRF, IGS
coordinates): the permanent tide is inside the formula, so nothing is restored (IERS
2010 7.1.1, "Permanent deformation"). Up to ~30 cm radial, ~5 cm horizontal. The two test
cases of the IERS software collection's ``DEHANTTIDEINEL`` are reproduced to 1e-6 m
(``tests/models/test_ppp_models.py``); Kouba, "A guide to using IGS products" (2009), 5.2.1
gives the step-1 model.
"""

from __future__ import annotations

import numpy as np

from ..constants import GM_EARTH, GM_MOON, GM_SUN

__all__ = ["EARTH_EQUATORIAL_RADIUS_IERS_M", "solid_tide_displacement", "solid_tide_step2"]

#: Equatorial radius of the Earth of the IERS Conventions 2010 (table 1.1), m.
EARTH_EQUATORIAL_RADIUS_IERS_M = 6_378_136.6


def solid_tide_displacement(station_ecef_m, sun_ecef_m, moon_ecef_m, time_ns=None) -> np.ndarray:
    """Displacement (m, ECEF, shape (..., 3)) of stations by the solid Earth tides.

    Parameters
    ----------
    station_ecef_m : array (..., 3)
        Station positions (ITRS, m).
    sun_ecef_m, moon_ecef_m : array (..., 3)
        Geocentric Sun and Moon positions in the same frame (m), e.g.
        :func:`satnav.models.sun_moon.sun_moon_itrs`; broadcast against the stations.
    time_ns : array (...), optional
        GPST times (ns) of the positions: with them step 2 (:func:`solid_tide_step2`) is
        added; without, step 1 with its corrections only (the diurnal K1 term of step 2,
        up to 12.6 mm radial, then missing).
    """
    r = np.asarray(station_ecef_m, dtype=np.float64)
    r_hat = r / np.linalg.norm(r, axis=-1, keepdims=True)
    sin_lat = r_hat[..., 2:3]  # geocentric latitude: the IERS formula's own approximation
    p2 = (3.0 * sin_lat**2 - 1.0) / 2.0
    h2 = 0.6078 - 0.0006 * p2
    l2 = 0.0847 + 0.0002 * p2
    h3, l3 = 0.292, 0.015
    re = EARTH_EQUATORIAL_RADIUS_IERS_M
    out = np.zeros(np.broadcast_shapes(r.shape, np.shape(sun_ecef_m), np.shape(moon_ecef_m)))
    for body, gm in ((np.asarray(sun_ecef_m, float), GM_SUN), (np.asarray(moon_ecef_m, float), GM_MOON)):
        rb = np.linalg.norm(body, axis=-1, keepdims=True)
        b_hat = body / rb
        dot = np.sum(b_hat * r_hat, axis=-1, keepdims=True)
        tangential = b_hat - dot * r_hat
        k2 = gm / GM_EARTH * re**4 / rb**3
        out = out + k2 * (h2 * r_hat * (1.5 * dot**2 - 0.5) + 3.0 * l2 * dot * tangential)
        k3 = gm / GM_EARTH * re**5 / rb**4
        out = out + k3 * (h3 * r_hat * (2.5 * dot**3 - 1.5 * dot) + l3 * (7.5 * dot**2 - 1.5) * tangential)
    out = out + _step1_corrections(r, np.asarray(sun_ecef_m, float), np.asarray(moon_ecef_m, float), re)
    if time_ns is not None:
        out = out + solid_tide_step2(r, time_ns)
    return out


def _local_frame(r):
    """Geocentric sin/cos of latitude and longitude of positions (..., 3), each (..., 1)."""
    rho = np.hypot(r[..., 0:1], r[..., 1:2])
    rsta = np.linalg.norm(r, axis=-1, keepdims=True)
    return r[..., 2:3] / rsta, rho / rsta, r[..., 1:2] / rho, r[..., 0:1] / rho


def _to_ecef(dr, dn, de, sinphi, cosphi, sinla, cosla):
    """Radial, north and east displacements (..., 1) -> ECEF (..., 3)."""
    return np.concatenate([dr * cosla * cosphi - de * sinla - dn * sinphi * cosla,
                           dr * sinla * cosphi + de * cosla - dn * sinphi * sinla,
                           dr * sinphi + dn * cosphi], axis=-1)


def _step1_corrections(r, sun, moon, re):
    """IERS 2010 eqs. 7.10-7.13: out-of-phase (anelastic) degree-2 terms of the diurnal and
    semidiurnal bands and the latitude dependence ``l^(1)`` of the transverse displacement."""
    sinphi, cosphi, sinla, cosla = _local_frame(r)
    cos2phi = cosphi**2 - sinphi**2
    cos2la, sin2la = cosla**2 - sinla**2, 2.0 * cosla * sinla
    dr = np.zeros_like(sinphi)
    dn = np.zeros_like(sinphi)
    de = np.zeros_like(sinphi)
    for body, gm in ((sun, GM_SUN), (moon, GM_MOON)):
        rb = np.linalg.norm(body, axis=-1, keepdims=True)
        fac = gm / GM_EARTH * re * (re / rb) ** 3  # degree-2 factor (m)
        x, y, z = body[..., 0:1], body[..., 1:2], body[..., 2:3]
        q = fac / rb**2
        diu_s = z * (x * sinla - y * cosla) * q   # diurnal, sin-type
        diu_c = z * (x * cosla + y * sinla) * q   # diurnal, cos-type
        sem_s = ((x**2 - y**2) * sin2la - 2.0 * x * y * cos2la) * q
        sem_c = ((x**2 - y**2) * cos2la + 2.0 * x * y * sin2la) * q
        # out of phase, diurnal (h_I = -0.0025, l_I = -0.0007)
        dr += -3.0 * -0.0025 * sinphi * cosphi * diu_s
        dn += -3.0 * -0.0007 * cos2phi * diu_s
        de += -3.0 * -0.0007 * sinphi * diu_c
        # out of phase, semidiurnal (h_I = -0.0022, l_I = -0.0007)
        dr += -0.75 * -0.0022 * cosphi**2 * sem_s
        dn += 1.5 * -0.0007 * sinphi * cosphi * sem_s
        de += -1.5 * -0.0007 * cosphi * sem_c
        # latitude dependence l^(1): diurnal 0.0012, semidiurnal 0.0024
        dn += 3.0 * -0.0012 * sinphi**2 * diu_c
        de += 3.0 * 0.0012 * sinphi * cos2phi * diu_s
        dn += 3.0 * -0.0024 / 2.0 * sinphi * cosphi * sem_c
        de += 3.0 * -0.0024 / 2.0 * sinphi**2 * cosphi * sem_s
    return _to_ecef(dr, dn, de, sinphi, cosphi, sinla, cosla)


#: IERS 2010 Table 7.3a (diurnal band): multipliers of s, h, p, N', p_s (added to tau) and the
#: corrections (mm): radial in phase, radial out of phase, transverse in phase, transverse out
#: of phase. Rows with zero corrections (the two 3rd-order lines) are left out.
_STEP2_DIURNAL = np.array([
    [-3, 0, 2, 0, 0, -0.01, 0.0, 0.0, 0.0],
    [-3, 2, 0, 0, 0, -0.01, 0.0, 0.0, 0.0],
    [-2, 0, 1, -1, 0, -0.02, 0.0, 0.0, 0.0],
    [-2, 0, 1, 0, 0, -0.08, 0.0, -0.01, 0.01],
    [-2, 2, -1, 0, 0, -0.02, 0.0, 0.0, 0.0],
    [-1, 0, 0, -1, 0, -0.10, 0.0, 0.0, 0.0],
    [-1, 0, 0, 0, 0, -0.51, 0.0, -0.02, 0.03],
    [-1, 2, 0, 0, 0, 0.01, 0.0, 0.0, 0.0],
    [0, -2, 1, 0, 0, 0.01, 0.0, 0.0, 0.0],
    [0, 0, -1, 0, 0, 0.02, 0.0, 0.0, 0.0],
    [0, 0, 1, 0, 0, 0.06, 0.0, 0.0, 0.0],
    [0, 0, 1, 1, 0, 0.01, 0.0, 0.0, 0.0],
    [0, 2, -1, 0, 0, 0.01, 0.0, 0.0, 0.0],
    [1, -3, 0, 0, 1, -0.06, 0.0, 0.0, 0.0],
    [1, -2, 0, -1, 0, 0.01, 0.0, 0.0, 0.0],
    [1, -2, 0, 0, 0, -1.23, -0.07, 0.06, 0.01],
    [1, -1, 0, 0, -1, 0.02, 0.0, 0.0, 0.0],
    [1, -1, 0, 0, 1, 0.04, 0.0, 0.0, 0.0],
    [1, 0, 0, -1, 0, -0.22, 0.01, 0.01, 0.0],
    [1, 0, 0, 0, 0, 12.00, -0.80, -0.67, -0.03],
    [1, 0, 0, 1, 0, 1.73, -0.12, -0.10, 0.0],
    [1, 0, 0, 2, 0, -0.04, 0.0, 0.0, 0.0],
    [1, 1, 0, 0, -1, -0.50, -0.01, 0.03, 0.0],
    [1, 1, 0, 0, 1, 0.01, 0.0, 0.0, 0.0],
    [0, 1, 0, 1, -1, -0.01, 0.0, 0.0, 0.0],
    [1, 2, -2, 0, 0, -0.01, 0.0, 0.0, 0.0],
    [1, 2, 0, 0, 0, -0.11, 0.01, 0.01, 0.0],
    [2, -2, 1, 0, 0, -0.01, 0.0, 0.0, 0.0],
    [2, 0, -1, 0, 0, -0.02, 0.0, 0.0, 0.0],
])
#: IERS 2010 Table 7.3b (long-period band): multipliers of s, h, p, N', p_s and the
#: corrections (mm): radial in phase, transverse in phase, radial out of phase, transverse
#: out of phase.
_STEP2_LONG = np.array([
    [0, 0, 0, 1, 0, 0.47, 0.23, 0.16, 0.07],
    [0, 2, 0, 0, 0, -0.20, -0.12, -0.11, -0.05],
    [1, 0, -1, 0, 0, -0.11, -0.08, -0.09, -0.04],
    [2, 0, 0, 0, 0, -0.13, -0.11, -0.15, -0.07],
    [2, 0, 0, 1, 0, -0.05, -0.05, -0.06, -0.03],
])


def _fundamental_arguments_deg(t_tt):
    """Mean longitudes (degrees) of the Moon ``s``, the Sun ``h``, the lunar perigee ``p``,
    ``N' = -N`` (the node) and the solar perigee ``p_s`` at ``t_tt`` Julian centuries (TT)
    since J2000 (the polynomials of the IERS DEHANTTIDEINEL routines; ``s`` includes the
    general precession in longitude)."""
    t = t_tt
    s = 218.31664563 + (481267.88194 + (-0.0014663889 + 0.00000185139 * t) * t) * t
    s = s + (1.396971278 + (0.000308889 + (0.000000021 + 0.000000007 * t) * t) * t) * t
    h = 280.46645 + (36000.7697489 + (0.00030322222 + (0.000000020 - 0.00000000654 * t) * t) * t) * t
    p = 83.35324312 + (4069.01363525 + (-0.01032172222 + (-0.0000124991 + 0.00000005263 * t) * t) * t) * t
    zns = 234.95544499 + (1934.13626197 + (-0.00207561111 + (-0.00000213944 + 0.00000001650 * t) * t) * t) * t
    ps = 282.93734098 + (1.71945766667 + (0.00045688889 + (-0.00000001778 - 0.00000000334 * t) * t) * t) * t
    return np.stack([s, h, p, zns, ps], axis=-1)


def solid_tide_step2(station_ecef_m, time_ns) -> np.ndarray:
    """Step 2 of the IERS 2010 solid tide (7.1.1): in-phase and out-of-phase corrections for
    the frequency dependence of the Love and Shida numbers, diurnal (Table 7.3a) and long
    period (Table 7.3b) bands. ECEF displacement (m), shape (..., 3).

    ``time_ns``: GPST (ns), broadcast with the stations' leading shape. The arguments use TT
    (GPST + 51.184 s) and, for the local hour angle ``tau``, UT approximated by UTC.
    """
    from ..gnss_time import NS_PER_DAY, NS_PER_S, calendar_to_ns, from_gpst

    r = np.asarray(station_ecef_m, dtype=np.float64)
    t = np.asarray(time_ns, dtype=np.int64)
    j2000_gpst = int(calendar_to_ns(2000, 1, 1, 12, 0, 0.0)) - 51_184_000_000  # 2000-01-01 12:00 TT
    t_tt = (t - j2000_gpst) / NS_PER_S / 86400.0 / 36525.0
    utc = np.asarray(from_gpst(t, "UTC"), dtype=np.int64)
    fhr = (utc % NS_PER_DAY) / (3600.0 * NS_PER_S)
    args = _fundamental_arguments_deg(t_tt)  # (..., 5)
    s = args[..., 0]
    tau = fhr * 15.0 + 280.4606184 + (36000.7700536 + (0.00038793 - 0.0000000258 * t_tt) * t_tt) * t_tt \
        - (s - (1.396971278 + (0.000308889 + (0.000000021 + 0.000000007 * t_tt) * t_tt) * t_tt) * t_tt)
    sinphi, cosphi, sinla, cosla = _local_frame(r)
    lam = np.arctan2(r[..., 1:2], r[..., 0:1])
    # diurnal band
    d = _STEP2_DIURNAL
    theta = np.radians(tau[..., None] + args @ d[:, :5].T) + lam  # (..., rows)
    sin_t, cos_t = np.sin(theta), np.cos(theta)
    dr = 2.0 * sinphi * cosphi * (sin_t @ d[:, 5] + cos_t @ d[:, 6])[..., None]
    dn = (cosphi**2 - sinphi**2) * (sin_t @ d[:, 7] + cos_t @ d[:, 8])[..., None]
    de = sinphi * (cos_t @ d[:, 7] - sin_t @ d[:, 8])[..., None]
    out = _to_ecef(dr, dn, de, sinphi, cosphi, sinla, cosla)
    # long-period band
    g = _STEP2_LONG
    theta = np.radians(args @ g[:, :5].T)
    sin_t, cos_t = np.sin(theta), np.cos(theta)
    dr = (3.0 * sinphi**2 - 1.0) / 2.0 * (cos_t @ g[:, 5] + sin_t @ g[:, 7])[..., None]
    dn = 2.0 * cosphi * sinphi * (cos_t @ g[:, 6] + sin_t @ g[:, 8])[..., None]
    out = out + _to_ecef(dr, dn, np.zeros_like(dr), sinphi, cosphi, sinla, cosla)
    return out / 1000.0
