"""Broadcast versus precise satellite states: orbit (R/A/C), clock and SISRE statistics.

Conventions (documented here once, used by ``satnav orbits --compare``):

* **Differences** are broadcast minus precise, in the radial / along-track / cross-track
  frame of the *precise* state: ``e_r = r/|r|``, ``e_c = r x v_i / |r x v_i|``,
  ``e_a = e_c x e_r`` with the inertial velocity ``v_i = v + omega_E x r`` (ECEF
  velocity plus Earth rotation, IS-GPS-200 rate).
* **Reference point.** Precise SP3 orbits refer to the satellite's centre of mass (CoM);
  broadcast orbits of GPS, Galileo, BeiDou, QZSS and NavIC refer to the antenna phase
  centre (APC) (Montenbruck et al. 2015, GPS Solut 19:321-333). The APC lies ``z`` metres
  below the CoM towards the Earth (satellite z axis points to the Earth's centre), so
  a perfect APC broadcast orbit shows ``dR = -z``. The "PCO applied" figures add the
  nominal ``z`` (:data:`NOMINAL_PCO_Z_M`, or an ANTEX value) to the radial difference;
  along/cross offsets (|x|,|y| < 0.3 m for most blocks) are not applied. Raw and
  corrected figures are both reported: the residual shows how nominal the table is.
  The offsets used by the system operators differ per satellite (on 2020-06-25 the mean
  broadcast-minus-GRG radial was ~0.0 m for GPS IIR-M and some IIR, -1.1 m for IIF,
  -1.6 m for other IIR, -0.9 m for Galileo and -2.1 m for GLONASS-M: GLONASS broadcast
  orbits refer to the APC as well), so a third figure removes each satellite's mean
  radial difference over the compared span ("bias-free": an estimate of its offset).
* **Clocks.** Broadcast clocks refer to each system's own time scale (GPST, GST, BDT,
  UTC(SU)) and signal (GPS/QZSS: L1/L2 P(Y) ionosphere-free, the same as IGS precise
  clocks, so TGD is not applied; Galileo I/NAV: E1/E5b ionosphere-free while precise
  products use E1/E5a, a per-satellite constant of BGD(E5a)-BGD(E5b), not removed;
  BeiDou: B3I, converted to the B1I/B3I ionosphere-free reference with TGD1 when the
  caller passes it; GLONASS: per-satellite inter-frequency biases remain). Therefore the
  common clock offset is removed **per system and per epoch**: the median over that
  system's satellites of ``c*(dt_broadcast - dt_precise)`` (median rather than mean so a
  single bad clock cannot shift the others; BeiDou GEO/IGSO/MEO share one offset).
* **SISRE** (global average, orbit + clock), per epoch
  ``sqrt((w_r*dR - dT)^2 + w_ac^2*(dA^2 + dC^2))``, RMS over epochs/satellites, with the
  weights of Montenbruck et al. 2015 (Table 3) / Montenbruck, Steigenberger & Hauschild
  2018 (Adv. Space Res. 61:3020-3038): GPS 0.98 / 1/49, GLONASS 0.98 / 1/45, Galileo
  0.98 / 1/61, BeiDou MEO 0.98 / 1/54, BeiDou IGSO/GEO and QZSS (and NavIC)
  0.99 / 1/126. ``dR`` is the PCO-corrected radial difference when ``pco=True``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..constants import OMEGA_E_GPS, SPEED_OF_LIGHT
from ..models.antenna import NOMINAL_PCO_Z_M
from ..satellites import prn_of, satellite_id, system_of

__all__ = [
    "SISRE_WEIGHTS",
    "NOMINAL_PCO_Z_M",
    "orbit_group",
    "rac_frame",
    "nominal_pco_z",
    "StateComparison",
    "compare_states",
]

#: (w_r, w_ac^2) per orbit group, Montenbruck et al. 2015 Table 3 / 2018.
SISRE_WEIGHTS = {
    "G": (0.98, 1 / 49),
    "R": (0.98, 1 / 45),
    "E": (0.98, 1 / 61),
    "C-MEO": (0.98, 1 / 54),
    "C-IGSO": (0.99, 1 / 126),
    "C-GEO": (0.99, 1 / 126),
    "J": (0.99, 1 / 126),
    "I": (0.99, 1 / 126),
    "S": (0.99, 1 / 126),
}

#: Systems whose broadcast orbits refer to the centre of mass (no PCO to apply). Empty:
#: the 2020-177 GRG comparison shows GLONASS-M broadcast radials 2.1 m below the CoM too.
BROADCAST_REFERS_TO_COM = frozenset()

_C_GEO = {1, 2, 3, 4, 5, 59, 60, 61, 62, 63}
_C_IGSO = {6, 7, 8, 9, 10, 13, 16, 31, 38, 39, 40, 56}


def orbit_group(sat) -> np.ndarray:
    """Orbit group of satellite indices: the system letter, with BeiDou split into
    "C-GEO" (PRN 1-5, 59-63), "C-IGSO" (6-10, 13, 16, 31, 38-40, 56) and "C-MEO" (others)."""
    sat = np.atleast_1d(np.asarray(sat))
    letters = np.asarray(system_of(sat), dtype="<U6")
    prn = prn_of(sat)
    bds = letters == "C"
    geo = np.isin(prn, list(_C_GEO))
    igso = np.isin(prn, list(_C_IGSO))
    letters[bds] = "C-MEO"
    letters[bds & geo] = "C-GEO"
    letters[bds & igso] = "C-IGSO"
    return letters


def rac_frame(position_m, velocity_m_s, omega=OMEGA_E_GPS):
    """Radial, along-track, cross-track unit vectors (..., 3) from an ECEF state.

    The along/cross directions use the inertial velocity ``v + omega x r``.
    """
    r = np.asarray(position_m, dtype=np.float64)
    v = np.asarray(velocity_m_s, dtype=np.float64)
    vi = v + np.cross(np.array([0.0, 0.0, omega]), r)
    e_r = r / np.linalg.norm(r, axis=-1, keepdims=True)
    h = np.cross(r, vi)
    e_c = h / np.linalg.norm(h, axis=-1, keepdims=True)
    e_a = np.cross(e_c, e_r)
    return e_r, e_a, e_c


def nominal_pco_z(sat, time_ns=None, antennas=None) -> np.ndarray:
    """Radial APC offset (m) to add to broadcast-minus-precise radial differences.

    ANTEX values (ionosphere-free combination of the system's first two frequencies)
    are used when ``antennas`` (from :func:`satnav.io.antex.read_antex_satellites`)
    holds a valid block with both frequencies for that satellite, else
    :data:`NOMINAL_PCO_Z_M`. Systems in :data:`BROADCAST_REFERS_TO_COM` get 0.
    """
    from ..signals import SIGNALS, per_system

    sat = np.atleast_1d(np.asarray(sat))
    groups = orbit_group(sat)
    z = np.array([NOMINAL_PCO_Z_M.get(g, 0.0) for g in groups], dtype=np.float64)
    if antennas and time_ns is not None:
        from ..io.antex import satellite_pco

        pairs = per_system("precise_bands")
        for i, s in enumerate(sat):
            letter = system_of(int(s))
            if letter not in pairs or letter == "R":
                continue
            b1, b2 = pairs[letter]
            f1 = SIGNALS[letter].carrier_hz[b1]
            f2 = SIGNALS[letter].carrier_hz[b2]
            k1 = f1**2 / (f1**2 - f2**2)
            pco = satellite_pco(antennas, satellite_id(int(s)), int(time_ns),
                                (letter + "0" + b1, letter + "0" + b2), (k1, 1 - k1))
            if pco is not None:
                z[i] = pco[2]
    z[np.isin(system_of(sat), list(BROADCAST_REFERS_TO_COM))] = 0.0
    return z


def _rms(a, axis=None):
    a = np.asarray(a, dtype=np.float64)
    n = np.sum(np.isfinite(a), axis=axis)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.sqrt(np.nansum(a * a, axis=axis) / n)


@dataclass
class StateComparison:
    """Broadcast minus precise differences on an epochs x satellites grid.

    Attributes
    ----------
    time_ns : (m,) int64, GPST ns
    sat : (k,) int16
    group : (k,) str, orbit group (see :func:`orbit_group`)
    radial_m, along_m, cross_m : (m, k) float, raw broadcast (APC) minus precise (CoM)
    pco_z_m : (k,) float, radial offset added for the "PCO applied" figures
    clock_m : (m, k) float, c*(dt_b - dt_p) minus the per-epoch per-system median, m
    clock_offset_m : dict system letter -> (m,) removed common offset, m
    broadcast_reason, precise_reason : (m, k) int8 (``SatelliteStates.reason``)
    """

    time_ns: np.ndarray
    sat: np.ndarray
    group: np.ndarray
    radial_m: np.ndarray
    along_m: np.ndarray
    cross_m: np.ndarray
    pco_z_m: np.ndarray
    clock_m: np.ndarray
    clock_offset_m: dict
    broadcast_reason: np.ndarray
    precise_reason: np.ndarray

    @property
    def both_valid(self) -> np.ndarray:
        """(m, k) bool: the orbit difference exists."""
        return np.isfinite(self.radial_m)

    def radial(self, pco: bool = True) -> np.ndarray:
        """Radial difference (m), with the APC offset added when ``pco``."""
        return self.radial_m + self.pco_z_m[None, :] if pco else self.radial_m

    def orbit_3d(self, pco: bool = True) -> np.ndarray:
        """(m, k) 3D position difference (m)."""
        return np.sqrt(self.radial(pco) ** 2 + self.along_m**2 + self.cross_m**2)

    def orbit_3d_bias_free(self) -> np.ndarray:
        """(m, k) 3D difference after removing each satellite's mean radial difference."""
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            bias = np.nanmean(self.radial_m, axis=0)
        radial = self.radial_m - bias[None, :]
        return np.sqrt(radial**2 + self.along_m**2 + self.cross_m**2)

    def sisre_epochs(self, pco: bool = True, orbit_only: bool = False) -> np.ndarray:
        """(m, k) instantaneous global-average SISRE (m); NaN without a clock difference."""
        w_r = np.array([SISRE_WEIGHTS.get(g, (1.0, 0.0))[0] for g in self.group])
        w_ac2 = np.array([SISRE_WEIGHTS.get(g, (1.0, 0.0))[1] for g in self.group])
        radial = w_r[None, :] * self.radial(pco)
        if not orbit_only:
            radial = radial - self.clock_m
        return np.sqrt(radial**2 + w_ac2[None, :] * (self.along_m**2 + self.cross_m**2))

    def satellite_rows(self, pco: bool = True) -> list[dict]:
        """Per satellite: id, group, epochs, R/A/C RMS, mean radial, 3D RMS (raw and with
        PCO), clock RMS, SISRE, orbit-only SISRE (m)."""
        rows = []
        errors = self._error_arrays(pco)
        with np.errstate(invalid="ignore"):
            for j, s in enumerate(self.sat):
                n = int(np.sum(np.isfinite(self.radial_m[:, j])))
                if n == 0:
                    continue
                rows.append(dict(
                    sat=satellite_id(int(s)), group=str(self.group[j]), epochs=n,
                    **self._statistics(errors, _ORBIT_STATISTICS, j),
                    pco_z=float(self.pco_z_m[j]),
                    **self._statistics(errors, _CLOCK_STATISTICS, j),
                ))
        return rows

    def group_rows(self, pco: bool = True) -> list[dict]:
        """Per orbit group: satellites, epochs, R/A/C RMS, 3D RMS raw and PCO-corrected,
        mean raw radial, clock RMS, SISRE and orbit-only SISRE (m), over all pairs."""
        rows = []
        errors = self._error_arrays(pco)
        order = ["G", "R", "E", "C-MEO", "C-IGSO", "C-GEO", "J", "I", "S"]
        with np.errstate(invalid="ignore"):
            for g in order:
                cols = self.group == g
                if not cols.any():
                    continue
                have = np.isfinite(self.radial_m[:, cols])
                if not have.any():
                    continue
                rows.append(dict(
                    group=g, satellites=int(np.sum(have.any(axis=0))), epochs=int(have.sum()),
                    **self._statistics(errors, _ORBIT_STATISTICS + _CLOCK_STATISTICS, cols),
                ))
        return rows

    def _error_arrays(self, pco: bool) -> dict:
        """The (m, k) differences the rows summarise, by row key (m)."""
        return {
            "radial": self.radial(pco), "along": self.along_m, "cross": self.cross_m,
            "rms3d_raw": self.orbit_3d(False), "rms3d": self.orbit_3d(True),
            "rms3d_bias_free": self.orbit_3d_bias_free(), "clock": self.clock_m,
            "sisre": self.sisre_epochs(pco), "sisre_orbit": self.sisre_epochs(pco, orbit_only=True),
        }

    def _statistics(self, errors: dict, keys, cols) -> dict:
        """RMS over the columns ``cols`` (index or mask) of each keyed difference; the mean
        for ``mean_radial_raw``."""
        return {
            key: float(np.nanmean(self.radial_m[:, cols])) if key == "mean_radial_raw"
            else float(_rms(errors[key][:, cols]))
            for key in keys
        }


#: Row keys of the orbit and of the clock statistics, in report order.
_ORBIT_STATISTICS = (
    "radial", "along", "cross", "mean_radial_raw", "rms3d_raw", "rms3d", "rms3d_bias_free",
)  # fmt: skip
_CLOCK_STATISTICS = ("clock", "sisre", "sisre_orbit")


def compare_states(broadcast, precise, sat, time_ns, pco_z_m=None,
                   broadcast_clock_correction_s=None) -> StateComparison:
    """Compare broadcast and precise :class:`SatelliteStates` on an epochs x satellites grid.

    Parameters
    ----------
    broadcast, precise : SatelliteStates
        Shape (m, k) (``sat[None, :]`` with ``time_ns[:, None]``); the precise states
        should come from ``precise_states(..., require_clock=False)`` so orbits are compared
        even where a precise clock is missing.
    sat : (k,) int
    time_ns : (m,) int64
    pco_z_m : (k,) float, optional
        Radial APC offsets (m); default :func:`nominal_pco_z`.
    broadcast_clock_correction_s : (m, k) float, optional
        Added to the broadcast clock before differencing (e.g. BeiDou TGD1 scaling to
        the B1I/B3I ionosphere-free reference).

    Returns
    -------
    StateComparison
    """
    sat = np.asarray(sat)
    time_ns = np.asarray(time_ns, dtype=np.int64)
    e_r, e_a, e_c = rac_frame(precise.position_m, precise.velocity_m_s)
    d = np.asarray(broadcast.position_m) - np.asarray(precise.position_m)
    radial = np.einsum("...j,...j->...", d, e_r)
    along = np.einsum("...j,...j->...", d, e_a)
    cross = np.einsum("...j,...j->...", d, e_c)
    dt_b = np.asarray(broadcast.clock_s, dtype=np.float64)
    if broadcast_clock_correction_s is not None:
        dt_b = dt_b + np.nan_to_num(np.asarray(broadcast_clock_correction_s), nan=0.0)
    dclk = SPEED_OF_LIGHT * (dt_b - np.asarray(precise.clock_s, dtype=np.float64))
    dclk[~np.isfinite(radial)] = np.nan
    letters = np.asarray(system_of(sat))
    offsets = {}
    clock = np.full(dclk.shape, np.nan)
    for letter in dict.fromkeys(letters.tolist()):
        cols = letters == letter
        block = dclk[:, cols]
        with np.errstate(all="ignore"):
            import warnings

            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                off = np.nanmedian(block, axis=1)
        offsets[letter] = off
        clock[:, cols] = block - off[:, None]
    if pco_z_m is None:
        pco_z_m = nominal_pco_z(sat)
    return StateComparison(
        time_ns=time_ns, sat=sat.astype(np.int16), group=orbit_group(sat),
        radial_m=radial, along_m=along, cross_m=cross,
        pco_z_m=np.asarray(pco_z_m, dtype=np.float64), clock_m=clock, clock_offset_m=offsets,
        broadcast_reason=np.asarray(broadcast.reason), precise_reason=np.asarray(precise.reason),
    )
