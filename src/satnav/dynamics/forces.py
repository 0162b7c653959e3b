"""The force model of a GNSS satellite in the GCRS: Earth gravity (EGM96 12x12 with solid-Earth
tides), Sun and Moon, solar radiation pressure (ECOM) with eclipses, relativity.

- Earth gravity: :mod:`satnav.dynamics.gravity`, evaluated in the ITRS and rotated with the
  IERS 2010 matrix of :mod:`satnav.models.earth_orientation` (C04 EOP with the sub-daily
  ocean-tide terms).
- Sun and Moon: point masses at the positions of :mod:`satnav.models.sun_moon`, the usual
  direct minus indirect term (Montenbruck & Gill, *Satellite Orbits*, 2000, eq. 3.37), with
  :data:`satnav.constants.GM_SUN` and :data:`satnav.constants.GM_MOON`.
- Solar radiation pressure: the empirical CODE orbit model in the Sun-oriented frame
  ``e_D`` (satellite to Sun), ``e_Y = e_D x r / |e_D x r|`` (along the solar panels' axis),
  ``e_B = e_D x e_Y``, scaled by ``(1 AU / |r_sun - r|)^2`` and the shadow factor:
  ``"ecom1"`` D0, Dc, Ds, Y0, Yc, Ys, B0, Bc, Bs (Beutler et al. 1994, Manuscripta Geodaetica
  19:367; once-per-revolution terms in the argument of latitude measured from the Sun's
  direction in the orbit plane, ``du``), ``"ecom5"`` D0, Y0, B0, Bc, Bs (its reduced form),
  ``"ecom2"`` D0, Y0, B0, Bc, Bs, D2c, D2s, D4c, D4s (Arnold et al. 2015, J. Geodesy 89:775),
  ``"ecomc"`` the union of ECOM1 and ECOM2 (13 parameters: what fits both GPS and the
  elongated Galileo bodies to ~2 cm over a day without an a priori box-wing model).
  Parameters in nm/s^2 (1e-9 m/s^2).
- Shadow: conical Earth shadow with the penumbra as the overlap of the solar and Earth disks
  (Montenbruck & Gill 2000, sec. 3.4.2), Earth radius 6378.137 km, Sun radius 696 000 km.
  The shadow switches the SRP off within about a minute; a fixed-step integrator does not
  resolve that switch: over a day a satellite crossing the shadow moves by centimetres (up to
  decimetres for a grazing geometry with 100 nm/s^2 of SRP) between 300 s and 20 s steps.
  Truth and estimator share the integrator, and the fits to IGS orbits stay at 1-2 cm; a
  step refinement at shadow crossings is the fix when that matters.
- Relativity: the Schwarzschild term of IERS Conventions (2010) eq. 10.12 (beta = gamma = 1).

Time is int64 ns GPST; positions m, velocities m/s, accelerations m/s^2.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..constants import GM_EARTH, GM_MOON, GM_SUN, SPEED_OF_LIGHT, WGS84_A
from ..errors import SatnavError
from .gravity import GravityField, egm96, gravity_acceleration, solid_tide_corrections

__all__ = [
    "SRP_MODELS",
    "SUN_RADIUS_M",
    "ForceModel",
    "Environment",
    "environment_at",
    "environments_at",
    "shadow_factor",
    "srp_basis",
    "accelerations",
]

AU_M = 149_597_870_700.0
#: Solar radius (m) for the shadow cone (IAU 2015 nominal, 695 700 km; 696 000 km classic).
SUN_RADIUS_M = 696_000e3

#: Names of the solar radiation pressure parameters of each ECOM variant (nm/s^2).
SRP_MODELS: dict[str, tuple[str, ...]] = {
    "none": (),
    "ecom5": ("D0", "Y0", "B0", "Bc", "Bs"),
    "ecom1": ("D0", "Dc", "Ds", "Y0", "Yc", "Ys", "B0", "Bc", "Bs"),
    "ecom2": ("D0", "Y0", "B0", "Bc", "Bs", "D2c", "D2s", "D4c", "D4s"),
    "ecomc": ("D0", "Dc", "Ds", "Y0", "Yc", "Ys", "B0", "Bc", "Bs", "D2c", "D2s", "D4c", "D4s"),
}


@dataclass(frozen=True)
class ForceModel:
    """Which forces act (all in the GCRS).

    ``degree``: Earth gravity degree and order (0 = point mass, 2..12 EGM96);
    ``third_body``: Sun and Moon; ``solid_tides``: solid-Earth tide changes of degrees 2-3;
    ``relativity``: Schwarzschild term; ``srp``: one of :data:`SRP_MODELS`.
    """

    degree: int = 12
    third_body: bool = True
    solid_tides: bool = True
    relativity: bool = True
    srp: str = "ecom2"

    def __post_init__(self):
        if self.srp not in SRP_MODELS:
            raise SatnavError(f"SRP model {self.srp!r}: expected one of {', '.join(SRP_MODELS)}")
        if not (self.degree == 0 or 2 <= self.degree <= 12):
            raise SatnavError(f"gravity degree {self.degree}: expected 0 or 2 to 12")

    @property
    def srp_parameters(self) -> tuple[str, ...]:
        return SRP_MODELS[self.srp]

    def field(self) -> GravityField | None:
        return egm96(self.degree) if self.degree >= 2 else None


@dataclass(frozen=True)
class Environment:
    """What the forces need at one instant: the GCRS->ITRS matrix, Sun and Moon (GCRS, m) and
    the gravity field with its tidal changes."""

    rotation: np.ndarray
    sun: np.ndarray
    moon: np.ndarray
    field: GravityField | None


def environments_at(times_ns, model: ForceModel) -> list[Environment]:
    """The :class:`Environment` at each GPST instant (ns) of ``times_ns``, computed for all
    instants at once (vectorized Earth orientation, Sun, Moon and tides)."""
    from ..models.earth_orientation import gcrs_to_itrs_matrix
    from ..models.sun_moon import sun_moon_gcrs

    t = np.atleast_1d(np.asarray(times_ns, dtype=np.int64))
    rot = gcrs_to_itrs_matrix(t, subdaily=True)
    sun, moon = sun_moon_gcrs(t)
    field = model.field()
    if field is None:
        return [Environment(rot[i], sun[i], moon[i], None) for i in range(len(t))]
    if not model.solid_tides:
        return [Environment(rot[i], sun[i], moon[i], field) for i in range(len(t))]
    sun_e = np.einsum("tij,tj->ti", rot, sun)
    moon_e = np.einsum("tij,tj->ti", rot, moon)
    dc, ds = solid_tide_corrections([sun_e, moon_e], [GM_SUN, GM_MOON], field)
    return [Environment(rot[i], sun[i], moon[i],
                        GravityField(field.c + dc[i], field.s + ds[i], field.gm, field.radius))
            for i in range(len(t))]


def environment_at(time_ns: int, model: ForceModel) -> Environment:
    """The :class:`Environment` at one GPST instant (ns)."""
    return environments_at([time_ns], model)[0]


def _cross(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Cross product of (..., 3) arrays (np.cross's axis handling costs more than the
    arithmetic for the small arrays of one force evaluation)."""
    return np.stack([a[..., 1] * b[..., 2] - a[..., 2] * b[..., 1],
                     a[..., 2] * b[..., 0] - a[..., 0] * b[..., 2],
                     a[..., 0] * b[..., 1] - a[..., 1] * b[..., 0]], axis=-1)


def _norm(a: np.ndarray) -> np.ndarray:
    return np.sqrt(np.sum(a * a, axis=-1))


def shadow_factor(r: np.ndarray, sun: np.ndarray) -> np.ndarray:
    """Fraction (0..1) of the solar disk seen from positions ``r`` (..., 3) with the Sun at
    ``sun`` (3,) (same geocentric frame, m): conical Earth shadow with penumbra."""
    d = sun - r
    dn = _norm(d)
    rn = _norm(r)
    a = np.arcsin(np.clip(SUN_RADIUS_M / dn, -1, 1))  # apparent solar radius
    b = np.arcsin(np.clip(WGS84_A / rn, -1, 1))  # apparent Earth radius
    c = np.arccos(np.clip(-np.sum(r * d, axis=-1) / (rn * dn), -1, 1))  # their separation
    nu = np.ones(rn.shape)
    nu[c < b - a] = 0.0  # umbra (the Sun is smaller than the Earth seen from a GNSS orbit)
    part = (c < a + b) & (c >= b - a)
    if np.any(part):
        ap, bp, cp = a[part], b[part], c[part]
        x = (cp * cp + ap * ap - bp * bp) / (2 * cp)
        y = np.sqrt(np.clip(ap * ap - x * x, 0, None))
        area = (ap * ap * np.arccos(np.clip(x / ap, -1, 1))
                + bp * bp * np.arccos(np.clip((cp - x) / bp, -1, 1)) - cp * y)
        nu[part] = 1.0 - area / (np.pi * ap * ap)
    return nu


def srp_basis(r: np.ndarray, v: np.ndarray, sun: np.ndarray, model: str) -> np.ndarray:
    """(..., 3, k) accelerations (m/s^2) of one nm/s^2 of each ECOM parameter of ``model``,
    shadow and distance scaling included."""
    names = SRP_MODELS[model]
    if not names:
        return np.zeros(r.shape + (0,))
    d = sun - r
    dn = _norm(d)[..., None]
    e_d = d / dn
    e_y = _cross(e_d, r)
    e_y /= _norm(e_y)[..., None]
    e_b = _cross(e_d, e_y)
    scale = 1e-9 * (AU_M / dn[..., 0]) ** 2 * shadow_factor(r, sun)
    axes = {"D": e_d, "Y": e_y, "B": e_b}
    waves = {}  # "c"/"s" with multiple k of the argument of latitude du: computed when used
    if any(n[1:] != "0" for n in names):
        # argument of latitude from the Sun's projection on the orbit plane
        h = _cross(r, v)
        h /= _norm(h)[..., None]
        s_plane = sun - np.sum(sun * h, axis=-1, keepdims=True) * h
        du = np.arctan2(np.sum(h * _cross(s_plane, r), axis=-1), np.sum(s_plane * r, axis=-1))
        for n in names:
            tail = n[1:]
            if tail != "0" and tail not in waves:
                k = int(tail[:-1]) if len(tail) > 1 else 1
                waves[tail] = np.cos(k * du) if tail[-1] == "c" else np.sin(k * du)
    out = np.empty(r.shape + (len(names),))
    for i, n in enumerate(names):
        factor = scale if n[1:] == "0" else scale * waves[n[1:]]
        out[..., i] = axes[n[0]] * factor[..., None]
    return out


def accelerations(r: np.ndarray, v: np.ndarray, srp_parameters: np.ndarray, env: Environment,
                  model: ForceModel, partials: bool = False):
    """Total acceleration (m/s^2, GCRS) of satellites at GCRS ``r`` (n, 3), ``v`` (n, 3) with
    SRP parameters (n, k) (nm/s^2).

    With ``partials``: also ``(da/dr, da/dp)``, (n, 3, 3) and (n, 3, k): the point-mass gravity
    gradient (the other forces' gradients are 1e-3 of it and left out: they change the
    convergence rate of a fit, not its solution) and the exact SRP parameter partials.
    """
    if env.field is not None:
        r_itrs = r @ env.rotation.T
        acc = gravity_acceleration(r_itrs, env.field) @ env.rotation
    else:
        rn3 = _norm(r)[..., None] ** 3
        acc = -GM_EARTH * r / rn3
    if model.third_body:
        for body, gm in ((env.sun, GM_SUN), (env.moon, GM_MOON)):
            d = body - r
            acc = acc + gm * (d / _norm(d)[..., None] ** 3 - body / _norm(body) ** 3)
    if model.relativity:
        rn = _norm(r)[..., None]
        v2 = np.sum(v * v, axis=-1, keepdims=True)
        rv = np.sum(r * v, axis=-1, keepdims=True)
        acc = acc + GM_EARTH / (SPEED_OF_LIGHT**2 * rn**3) * ((4 * GM_EARTH / rn - v2) * r + 4 * rv * v)
    basis = srp_basis(r, v, env.sun, model.srp)
    if basis.shape[-1]:
        acc = acc + np.einsum("nik,nk->ni", basis, srp_parameters)
    if not partials:
        return acc
    rn = _norm(r)
    u = r / rn[:, None]
    grad = (GM_EARTH / rn**3)[:, None, None] * (3 * u[:, :, None] * u[:, None, :] - np.eye(3))
    return acc, grad, basis
