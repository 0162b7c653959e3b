"""Carrier-phase wind-up of circularly polarised GNSS signals (Wu, Wu, Hajj, Bertiger and
Lichten, "Effects of antenna orientation on GPS carrier phase", Manuscripta Geodaetica 18,
1993; Kouba, "A guide to using IGS products", 2009, 5.1.2).

With ``k`` the unit vector from the satellite to the receiver, the satellite dipole
``(x_s, y_s)`` (body axes of :func:`satnav.models.attitude.nominal_attitude`) and the
receiver dipole ``(x_r, y_r)`` = (north, west) of a levelled antenna::

    D_s = x_s - k (k.x_s) - k x y_s
    D_r = x_r - k (k.x_r) + k x y_r
    dphi = sign(k . (D_s x D_r)) arccos(D_s.D_r / |D_s| |D_r|)     (rad)

The wind-up ``w = dphi / 2 pi + N`` (cycles) is made continuous along an arc with the
integer N closest to the previous value. It enters the phase of every frequency with the
same number of cycles (``lambda_f w`` metres), i.e. ``lambda_NL w`` in the
ionosphere-free combination of two frequencies (``lambda_NL = c / (f1 + f2)``, 10.7 cm
for GPS L1/L2). Up to one cycle over a pass for a static receiver; absorbed by the float
ambiguity when constant.
"""

from __future__ import annotations

import numpy as np

__all__ = ["wind_up_cycles"]


def wind_up_cycles(satellite_axes, receiver_north, receiver_west, unit_sat_to_receiver, previous_cycles=None):
    """Phase wind-up (cycles), continuous with ``previous_cycles`` (NaN: start of an arc).

    Parameters
    ----------
    satellite_axes : (..., 3, 3)
        Satellite body axes (rows x, y, z) in ECEF.
    receiver_north, receiver_west : (..., 3)
        Receiver antenna dipole axes in ECEF (local north and west unit vectors).
    unit_sat_to_receiver : (..., 3)
    previous_cycles : array (...), optional
    """
    k = np.asarray(unit_sat_to_receiver, dtype=np.float64)
    xs, ys = satellite_axes[..., 0, :], satellite_axes[..., 1, :]
    ds = xs - k * np.sum(k * xs, axis=-1, keepdims=True) - np.cross(k, ys)
    dr = receiver_north - k * np.sum(k * receiver_north, axis=-1, keepdims=True) + np.cross(k, receiver_west)
    cosp = np.sum(ds * dr, axis=-1) / (np.linalg.norm(ds, axis=-1) * np.linalg.norm(dr, axis=-1))
    phi = np.arccos(np.clip(cosp, -1.0, 1.0)) / (2.0 * np.pi)
    phi = np.where(np.sum(k * np.cross(ds, dr), axis=-1) < 0, -phi, phi)
    if previous_cycles is None:
        return phi
    prev = np.asarray(previous_cycles, dtype=np.float64)
    return np.where(np.isfinite(prev), phi + np.floor(prev - phi + 0.5), phi)
