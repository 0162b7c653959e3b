"""Antenna phase-centre corrections of satellites and receivers as range terms (m).

* Satellite: ANTEX offset (PCO, body frame x/y/z from the centre of mass to the phase
  centre) rotated into ECEF with the nominal yaw attitude
  (:func:`satnav.models.attitude.nominal_attitude`), projected on the line of sight, plus
  the nadir-dependent variation (PCV): ``+ e.(A^T pco) + pcv(nadir)`` where ``e`` is the
  unit vector receiver -> satellite (with IGS axes z points to the Earth: a positive z
  offset brings the phase centre closer to the receiver, ``e.d < 0``).
* Receiver: the antenna reference point (ARP) is the marker plus the RINEX header's
  ``ANTENNA: DELTA H/E/N``; the phase centre is the ARP plus the ANTEX/NGS offset (north,
  east, up); the range is shorter by their projection on the line of sight and longer by
  the zenith- (and azimuth-) dependent variation: ``- e.(enu -> ecef)(d_hen + pco) +
  pcv(zenith, azimuth)``.

Both are combined over the two frequencies of the ionosphere-free combination with its
coefficients (``a1 x_1 + a2 x_2``). IGS ANTEX 1.4 conventions (Rothacher and Schmid,
"ANTEX: The Antenna Exchange Format, Version 1.4", 2010); Kouba, "A guide to using IGS
products" (2009), 5.1.1 and 5.2.

When ANTEX has no block for a satellite, :data:`NOMINAL_PCO_Z_M` gives a per-system z
offset (ionosphere-free, the order of magnitude of the IGS values: the true offsets of
individual blocks differ from it by up to ~1 m in z and 0.4 m in x for GPS IIF): an
error of up to ~3 cm in range that varies with the nadir angle, stated by the caller.
"""

from __future__ import annotations

import numpy as np

__all__ = ["NOMINAL_PCO_Z_M", "satellite_antenna_m", "receiver_antenna_m", "nadir_angle_rad"]

#: Nominal radial (z) antenna offset in metres per orbit group, CoM -> APC of the
#: ionosphere-free combination: typical igs14.atx values (GPS: constellation mean over
#: Block IIR/IIR-M (~0.0-1.6 m) and IIF (~1.1-1.6 m); GLONASS-M ~2.3 m; Galileo FOC/IOV
#: ~0.8 m; BeiDou-2/3 ~1.1 m; QZSS ~3.0 m; NavIC ~1.0 m). Nominal only: used for
#: satellites without an ANTEX block (PPP) and by the broadcast-orbit comparison.
NOMINAL_PCO_Z_M = {
    "G": 0.9,
    "R": 2.3,
    "E": 0.8,
    "C-MEO": 1.1,
    "C-IGSO": 1.1,
    "C-GEO": 1.1,
    "J": 3.0,
    "I": 1.0,
    "S": 0.0,
}


def nadir_angle_rad(satellite_ecef_m, receiver_ecef_m) -> np.ndarray:
    """Angle (rad) at the satellite between the Earth's centre and the receiver."""
    s = np.asarray(satellite_ecef_m, dtype=np.float64)
    d = np.asarray(receiver_ecef_m, dtype=np.float64) - s
    cosn = np.sum(-s * d, axis=-1) / (np.linalg.norm(s, axis=-1) * np.linalg.norm(d, axis=-1))
    return np.arccos(np.clip(cosn, -1.0, 1.0))


def satellite_antenna_m(pco_body_m, axes, unit_receiver_to_satellite, pcv_m=None) -> np.ndarray:
    """Range correction (m) of satellite antenna offsets (and variations).

    Parameters
    ----------
    pco_body_m : (n, 3)
        Offsets x, y, z in the body frame (already combined over the frequencies).
    axes : (n, 3, 3)
        Body axes in ECEF (:func:`~satnav.models.attitude.nominal_attitude`).
    unit_receiver_to_satellite : (n, 3)
    pcv_m : (n,), optional
        Nadir-dependent variations (combined), added as they are.
    """
    d = np.einsum("ni,nij->nj", np.asarray(pco_body_m, dtype=np.float64), axes)
    out = np.sum(unit_receiver_to_satellite * d, axis=-1)
    return out if pcv_m is None else out + pcv_m


def receiver_antenna_m(offset_enu_m, enu_axes, unit_receiver_to_satellite, pcv_m=None) -> np.ndarray:
    """Range correction (m) of a receiver antenna offset (east, north, up from the marker:
    header eccentricity + phase-centre offset, combined over the frequencies) and of its
    variations ``pcv_m`` (n,).

    ``enu_axes``: (3, 3) rows east, north, up in ECEF (:func:`satnav.frames.enu_rotation`).
    """
    d = np.asarray(offset_enu_m, dtype=np.float64) @ enu_axes
    out = -np.asarray(unit_receiver_to_satellite, dtype=np.float64) @ d
    return out if pcv_m is None else out + pcv_m
