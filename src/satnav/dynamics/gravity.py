"""Earth's gravity field: EGM96 spherical harmonics to degree and order 12, solid-Earth tides.

- Coefficients: ``egm96_degree12.txt`` beside this module (EGM96, Lemoine et al. 1998,
  NASA/TP-1998-206861; fully normalized, tide-free, GM = 3.986004415e14 m^3/s^2, reference
  radius 6378136.3 m; the file header states where the numbers come from).
- Acceleration: the gradient of ``U = GM/r sum_n (a/r)^n sum_m Pnm(sin phi) (Cnm cos m lambda +
  Snm sin m lambda)`` in geocentric spherical coordinates, with fully normalized associated
  Legendre functions by the standard forward column recursions (Holmes & Featherstone 2002,
  J. Geodesy 76:279, eqs. 11-13) and their latitude derivatives, vectorized over points; the
  loops run over the degree only. Not for points on the polar axis (GNSS orbits never are).
- Solid-Earth tides: IERS Conventions (2010) sec. 6.2.1 step 1 (eq. 6.6), frequency-independent
  Love numbers k20 = 0.30190, k21 = 0.29830, k22 = 0.30102 (anelastic, table 6.3, real part)
  and k3m = 0.093, Sun and Moon as the tide-raising bodies. With the tide-free EGM96 field
  this includes the permanent tide as the conventions require.

Frame: ITRS (Earth-fixed); positions in metres, accelerations in m/s^2.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

__all__ = [
    "EGM96_GM",
    "EGM96_RADIUS",
    "GravityField",
    "egm96",
    "legendre_normalized",
    "gravity_acceleration",
    "solid_tide_corrections",
    "use_accelerator",
]

#: EGM96 gravitational parameter (m^3/s^2) and reference radius (m) (file header, ICGEM).
EGM96_GM = 3.986004415e14
EGM96_RADIUS = 6378136.3

_COEFFICIENT_FILE = Path(__file__).with_name("egm96_degree12.txt")

#: IERS 2010 table 6.3 (anelastic, real parts) and the degree-3 value (sec. 6.2.1).
LOVE_K2 = (0.30190, 0.29830, 0.30102)
LOVE_K3 = 0.093


@dataclass(frozen=True)
class GravityField:
    """Fully normalized coefficients ``c[n, m]``, ``s[n, m]`` to ``degree`` (n, m <= degree),
    with their ``gm`` (m^3/s^2) and reference ``radius`` (m)."""

    c: np.ndarray
    s: np.ndarray
    gm: float
    radius: float

    @property
    def degree(self) -> int:
        return self.c.shape[0] - 1

    def truncated(self, degree: int) -> GravityField:
        """The same field to ``degree`` (<= its own)."""
        d = int(degree)
        return GravityField(self.c[: d + 1, : d + 1].copy(), self.s[: d + 1, : d + 1].copy(),
                            self.gm, self.radius)


@lru_cache(maxsize=4)
def egm96(degree: int = 12) -> GravityField:
    """EGM96 to ``degree`` (2..12), read from the coefficient file shipped with satnav."""
    rows = np.loadtxt(_COEFFICIENT_FILE, comments="#")
    degree = int(degree)
    if not 2 <= degree <= 12:
        from ..errors import SatnavError

        raise SatnavError(f"EGM96 degree {degree}: expected 2 to 12 (the shipped coefficients)")
    c = np.zeros((13, 13))
    s = np.zeros((13, 13))
    n = rows[:, 0].astype(int)
    m = rows[:, 1].astype(int)
    c[n, m] = rows[:, 2]
    s[n, m] = rows[:, 3]
    c[0, 0] = 1.0
    return GravityField(c, s, EGM96_GM, EGM96_RADIUS).truncated(degree)


@lru_cache(maxsize=8)
def _recursion_factors(nmax: int):
    n = np.arange(nmax + 2, dtype=np.float64)[:, None]
    m = np.arange(nmax + 2, dtype=np.float64)[None, :]
    with np.errstate(divide="ignore", invalid="ignore"):
        a = np.sqrt((2 * n - 1) * (2 * n + 1) / ((n - m) * (n + m)))
        b = np.sqrt((2 * n + 1) * (n + m - 1) * (n - m - 1) / ((n - m) * (n + m) * (2 * n - 3)))
    a[~np.isfinite(a)] = 0.0
    b[~np.isfinite(b)] = 0.0
    # d Pnm / d phi = e_nm P(n, m+1) - m tan(phi) Pnm; e_n0 carries the m = 0 normalization
    e = np.sqrt(np.clip((n - m) * (n + m + 1), 0.0, None))
    e[:, 0] /= np.sqrt(2.0)
    return a, b, e


def legendre_normalized(nmax: int, sin_phi, cos_phi) -> np.ndarray:
    """Fully normalized associated Legendre functions ``P[..., n, m]`` of ``sin(phi)``,
    n, m = 0..nmax+1 (zero for m > n), for arrays of latitudes given by sine and cosine.

    Normalization: ``sqrt((2 - delta_m0)(2n + 1)(n - m)!/(n + m)!)`` (geodesy convention,
    Heiskanen & Moritz), no Condon-Shortley phase."""
    t = np.asarray(sin_phi, dtype=np.float64)
    u = np.asarray(cos_phi, dtype=np.float64)
    size = nmax + 2
    a, b, _ = _recursion_factors(nmax)
    p = np.zeros(t.shape + (size, size))
    p[..., 0, 0] = 1.0
    p[..., 1, 1] = np.sqrt(3.0) * u
    p[..., 1, 0] = np.sqrt(3.0) * t
    for n in range(2, size):
        p[..., n, n] = np.sqrt((2 * n + 1) / (2.0 * n)) * u * p[..., n - 1, n - 1]
        m = slice(0, n)
        p[..., n, m] = a[n, m] * t[..., None] * p[..., n - 1, m] - b[n, m] * p[..., n - 2, m]
    return p


def gravity_acceleration(r_itrs_m: np.ndarray, field: GravityField) -> np.ndarray:
    """Acceleration (m/s^2, ITRS) of the gravity ``field`` at ITRS positions ``(..., 3)`` (m),
    central term included.

    For a few points (an orbit integration calls this once per stage with the satellites
    of a constellation) the per-call cost of the NumPy version is its Python loops over the
    degree: with numba installed (the ``accel`` extra) a compiled kernel of the same sums
    (:func:`_gravity_kernel`, agreeing to rounding) takes over once the NumPy sums have cost
    :data:`ACCELERATE_AFTER_S`; ``SATNAV_NO_NUMBA=1`` or :func:`use_accelerator` turns it
    off or on."""
    r = np.asarray(r_itrs_m, dtype=np.float64)
    kernel = _kernel() if r.ndim == 2 and r.shape[0] <= 64 else None
    if kernel:
        a, b, e = _recursion_factors(field.degree)
        return kernel(np.ascontiguousarray(r), np.ascontiguousarray(field.c), np.ascontiguousarray(field.s),
                      float(field.radius), float(field.gm), a, b, e)
    if kernel is None:
        return _gravity_numpy(r, field)
    t0 = time.perf_counter()
    out = _gravity_numpy(r, field)
    global _NUMPY_SECONDS
    _NUMPY_SECONDS += time.perf_counter() - t0
    return out


def _gravity_numpy(r: np.ndarray, field: GravityField) -> np.ndarray:
    """:func:`gravity_acceleration` vectorized over points with NumPy."""
    x, y, z = r[..., 0], r[..., 1], r[..., 2]
    rho2 = x * x + y * y
    rho = np.sqrt(rho2)
    rn = np.sqrt(rho2 + z * z)
    sin_phi, cos_phi = z / rn, rho / rn
    cos_lam, sin_lam = x / rho, y / rho
    nmax = field.degree
    p = legendre_normalized(nmax, sin_phi, cos_phi)
    _, _, e = _recursion_factors(nmax)
    deg = np.arange(nmax + 1)
    # cos(m lambda), sin(m lambda) by the angle-addition recurrence
    cm = np.empty(r.shape[:-1] + (nmax + 1,))
    sm = np.empty_like(cm)
    cm[..., 0], sm[..., 0] = 1.0, 0.0
    for m in range(1, nmax + 1):
        cm[..., m] = cm[..., m - 1] * cos_lam - sm[..., m - 1] * sin_lam
        sm[..., m] = sm[..., m - 1] * cos_lam + cm[..., m - 1] * sin_lam
    ratio = field.radius / rn
    scale = ratio[..., None] ** deg  # (a/r)^n
    c, s = field.c, field.s
    # per (n, m): A = C cos + S sin, B = S cos - C sin (the lambda derivative / m)
    amn = c * cm[..., None, :] + s * sm[..., None, :]
    bmn = s * cm[..., None, :] - c * sm[..., None, :]
    pnm = p[..., : nmax + 1, : nmax + 1]
    tan_phi = sin_phi / cos_phi
    dp = e[: nmax + 1, : nmax + 1] * p[..., : nmax + 1, 1 : nmax + 2] - deg * tan_phi[..., None, None] * pnm
    du_dr = -np.einsum("...n,...nm->...", scale * (deg + 1), pnm * amn)
    du_dphi = np.einsum("...n,...nm->...", scale, dp * amn)
    du_dlam = np.einsum("...n,...nm->...", scale, deg * pnm * bmn)
    k = field.gm / rn
    g_r = k * du_dr / rn
    g_phi = k * du_dphi / rn
    g_lam = k * du_dlam / rho  # (1 / (r cos phi)) dU/dlambda
    # unit vectors of r, phi (north), lambda (east)
    ax = g_r * cos_phi * cos_lam - g_phi * sin_phi * cos_lam - g_lam * sin_lam
    ay = g_r * cos_phi * sin_lam - g_phi * sin_phi * sin_lam + g_lam * cos_lam
    az = g_r * sin_phi + g_phi * cos_phi
    return np.stack([ax, ay, az], axis=-1)


def _gravity_kernel(r, c, s, radius, gm, a, b, e):
    """The sums of :func:`_gravity_numpy` as scalar loops, point by point (compiled by numba
    when available): Legendre recursion, cos/sin(m lambda) recurrences, the three partial
    derivatives of U, the spherical-to-Cartesian rotation."""
    nmax = c.shape[0] - 1
    size = nmax + 2
    out = np.empty((r.shape[0], 3))
    p = np.zeros((size, size))
    cm = np.empty(nmax + 1)
    sm = np.empty(nmax + 1)
    for i in range(r.shape[0]):
        x, y, z = r[i, 0], r[i, 1], r[i, 2]
        rho2 = x * x + y * y
        rho = np.sqrt(rho2)
        rn = np.sqrt(rho2 + z * z)
        t = z / rn
        u = rho / rn
        cos_lam = x / rho
        sin_lam = y / rho
        p[:, :] = 0.0
        p[0, 0] = 1.0
        p[1, 1] = np.sqrt(3.0) * u
        p[1, 0] = np.sqrt(3.0) * t
        for n in range(2, size):
            p[n, n] = np.sqrt((2 * n + 1) / (2.0 * n)) * u * p[n - 1, n - 1]
            for m in range(n):
                p[n, m] = a[n, m] * t * p[n - 1, m] - b[n, m] * p[n - 2, m]
        cm[0] = 1.0
        sm[0] = 0.0
        for m in range(1, nmax + 1):
            cm[m] = cm[m - 1] * cos_lam - sm[m - 1] * sin_lam
            sm[m] = sm[m - 1] * cos_lam + cm[m - 1] * sin_lam
        tan_phi = t / u
        ratio = radius / rn
        scale = 1.0
        du_dr = 0.0
        du_dphi = 0.0
        du_dlam = 0.0
        for n in range(nmax + 1):
            sr = 0.0
            sp = 0.0
            sl = 0.0
            for m in range(nmax + 1):
                amn = c[n, m] * cm[m] + s[n, m] * sm[m]
                bmn = s[n, m] * cm[m] - c[n, m] * sm[m]
                sr += p[n, m] * amn
                sp += (e[n, m] * p[n, m + 1] - m * tan_phi * p[n, m]) * amn
                sl += m * p[n, m] * bmn
            du_dr -= scale * (n + 1) * sr
            du_dphi += scale * sp
            du_dlam += scale * sl
            scale *= ratio
        k = gm / rn
        g_r = k * du_dr / rn
        g_phi = k * du_dphi / rn
        g_lam = k * du_dlam / rho
        out[i, 0] = g_r * u * cos_lam - g_phi * t * cos_lam - g_lam * sin_lam
        out[i, 1] = g_r * u * sin_lam - g_phi * t * sin_lam + g_lam * cos_lam
        out[i, 2] = g_r * t + g_phi * u
    return out


_KERNEL = None  # None: not loaded yet; False: NumPy only; else the compiled kernel
_AUTOMATIC = True  # load numba once the NumPy sums have cost about its import
_NUMPY_SECONDS = 0.0
#: NumPy time (s) of the sums after which the kernel is loaded: importing numba and loading
#: the cached kernel costs about as much (0.5-3 s on 2 shared cores), so a short job (a few
#: hundred force evaluations) never pays it and a long one (an ODTS: thousands) switches
#: after its first second.
ACCELERATE_AFTER_S = 1.0


def _kernel():
    """The compiled kernel, False for NumPy (not installed, turned off, or in automatic mode
    before :data:`ACCELERATE_AFTER_S` of NumPy sums)."""
    global _KERNEL
    if _KERNEL is None:
        if _AUTOMATIC and _NUMPY_SECONDS < ACCELERATE_AFTER_S:
            return False
        _KERNEL = _load_kernel()
    return _KERNEL


def _load_kernel():
    from .._jit import compile_kernels

    def warm_up(kernels):
        a, b, e = _recursion_factors(2)
        kernels[0](np.array([[7e6, 1e5, 1e5]]), np.eye(3), np.zeros((3, 3)), 6.4e6, 4e14, a, b, e)

    kernels = compile_kernels((_gravity_kernel,), warm_up)
    return kernels[0] if kernels else False


def use_accelerator(enabled: bool | None) -> bool:
    """Use the compiled gravity kernel (``True``: loaded now, when numba is installed), NumPy
    only (``False``), or back to automatic (``None``: loaded after :data:`ACCELERATE_AFTER_S`
    of NumPy sums); returns whether the kernel is in use now."""
    global _KERNEL, _AUTOMATIC
    _AUTOMATIC = enabled is None
    _KERNEL = None if enabled is not False else False
    return bool(_kernel())


def solid_tide_corrections(bodies_itrs_m, body_gms, field: GravityField) -> tuple[np.ndarray, np.ndarray]:
    """Changes ``(dC, dS)`` (shape ``(..., n + 1, n + 1)`` of ``field.c``) of the normalized
    coefficients of degrees 2 and 3 from the solid-Earth tides raised by point masses at ITRS
    positions ``bodies_itrs_m`` (list of (..., 3) arrays, m; one per body) with parameters
    ``body_gms`` (m^3/s^2): IERS Conventions (2010) eq. 6.6 with the Love numbers of the
    module docstring. ``dC - i dS = k_nm / (2n + 1) sum_j GM_j / GM (a / r_j)^(n+1)
    P_nm(sin phi_j) exp(-i m lambda_j)``."""
    size = field.degree + 1
    shape = np.shape(bodies_itrs_m[0])[:-1]
    dc = np.zeros(shape + (size, size))
    ds = np.zeros(shape + (size, size))
    for pos, gm in zip(bodies_itrs_m, body_gms):
        pos = np.asarray(pos, dtype=np.float64)
        rj = np.sqrt(np.sum(pos * pos, axis=-1))
        rho = np.hypot(pos[..., 0], pos[..., 1])
        p = legendre_normalized(3, pos[..., 2] / rj, rho / rj)
        lam = np.arctan2(pos[..., 1], pos[..., 0])
        for n, ks in ((2, LOVE_K2), (3, (LOVE_K3,) * 4)):
            if n > field.degree:
                continue
            f = gm / field.gm * (field.radius / rj) ** (n + 1) / (2 * n + 1)
            for m in range(n + 1):
                dc[..., n, m] += ks[m] * f * p[..., n, m] * np.cos(m * lam)
                ds[..., n, m] += ks[m] * f * p[..., n, m] * np.sin(m * lam)
    return dc, ds
