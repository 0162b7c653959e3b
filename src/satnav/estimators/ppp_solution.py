"""The precise point positioning solution: one row per observation epoch.

Built by :func:`satnav.estimators.ppp.solve_ppp` and :class:`~satnav.estimators.ppp.PppEngine`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from ..frames import ecef_to_geodetic, enu_rotation
from .solution import PositionSolution

__all__ = ["PppSolution", "QUALITY_PPP", "convergence_time_s"]

#: RTKLIB's ``.pos`` quality of a PPP solution.
QUALITY_PPP = 6


def convergence_time_s(time_ns, position_m, reference_m, threshold_m: float = 0.10) -> float:
    """Seconds from the first epoch until the 3D distance to ``reference_m`` falls below
    ``threshold_m`` and stays below it to the end (NaN when it never does)."""
    t = np.asarray(time_ns, dtype=np.int64)
    pos = np.asarray(position_m, dtype=np.float64)
    ok = np.all(np.isfinite(pos), axis=1)
    if not ok.any():
        return float("nan")
    t, pos = t[ok], pos[ok]
    d = np.linalg.norm(pos - np.asarray(reference_m, dtype=np.float64), axis=1)
    bad = np.flatnonzero(d >= threshold_m)
    if not len(bad):
        return 0.0
    if bad[-1] == len(d) - 1:
        return float("nan")
    return float((t[bad[-1] + 1] - t[0]) / 1e9)


@dataclass
class PppSolution(PositionSolution):
    """Per-epoch PPP solution (float ionosphere-free ambiguities).

    Attributes
    ----------
    time_ns : ndarray int64 (m,)
        Observation epochs (GPST ns).
    position_m : ndarray (m, 3)
        Marker position, ECEF (m, the frame of the orbit product: ITRF/IGS); NaN where the
        epoch was not processed (no precise clock then, too few satellites).
    covariance_m2 : ndarray (m, 3, 3)
        ECEF covariance of ``position_m`` (m^2).
    quality : ndarray int8 (m,)
        6 (PPP, RTKLIB's code) where solved, 0 elsewhere.
    n_satellites : ndarray int16 (m,)
        Satellites whose phases were used.
    ztd_m, ztd_sigma_m : ndarray (m,)
        Zenith total delay (a priori hydrostatic + estimated wet, m) and its sigma.
    gradient_m : ndarray (m, 2)
        North and east tropospheric gradients (m), NaN when not estimated.
    clock_m : dict str -> ndarray (m,)
        Receiver clock (m) per system letter (their differences are the inter-system biases).
    satellites : ndarray int16 (n,)
        Columns of the per-satellite arrays.
    phase_residuals_m, code_residuals_m : ndarray (m, n)
        Post-fit ionosphere-free residuals (m), NaN where not used.
    elevation_rad : ndarray (m, n)
    reasons_text : ndarray of str (m,)
        Why an epoch has no solution ("" where solved).
    mode : str
        ``"static"`` or ``"kinematic"``.
    models : dict
        Model name -> what was applied (for the output header and report).
    notes : list of str
        What a user must know about the run (clock sampling, missing antennas, ...).
    rejections : list of (time_ns, satellite id, kind, residual_m)
        Measurements rejected as outliers, in order.
    options : dict
    warnings : list of str
    gradient_sigma_m : ndarray (m, 2) or None
        Sigmas of ``gradient_m`` (m).
    fixed : ndarray bool (m,)
        Epochs whose position is the integer-fixed one (PPP-AR validated: ratio test and
        success rate, :mod:`satnav.estimators.ppp_ar`); False where float or unsolved. The
        ``.pos`` keeps Q=6 for every PPP epoch; its ratio column is the fix's ratio on fixed
        epochs and 0 on float ones.
    n_fixed, n_widelane : ndarray int16 (m,)
        Narrow-lane ambiguities fixed (single differences between satellites) and wide-lanes
        fixed at each epoch.
    ratio : ndarray (m,)
        Ratio test of the accepted fix (0 where float).
    float_position_m : ndarray (m, 3)
        The float solution of every epoch (the filter's own position; equal to
        ``position_m`` where not fixed).
    wl_fractions : ndarray
        Fractional parts (cycles) of the single-differenced wide-lanes when each was first
        fixed (rounded and accepted; empty without ambiguity resolution).
    ambiguities : ndarray of :data:`satnav.estimators.ppp_ar.CANDIDATE_DTYPE`
        Every single-differenced ambiguity tried at every epoch: time, satellite, reference,
        wide-lane fraction, float narrow-lane (cycles) with sigma, fixed or not (empty
        without ambiguity resolution).
    """

    time_ns: np.ndarray
    position_m: np.ndarray
    covariance_m2: np.ndarray
    quality: np.ndarray
    n_satellites: np.ndarray
    ztd_m: np.ndarray
    ztd_sigma_m: np.ndarray
    gradient_m: np.ndarray
    clock_m: dict
    satellites: np.ndarray
    phase_residuals_m: np.ndarray
    code_residuals_m: np.ndarray
    elevation_rad: np.ndarray
    reasons_text: np.ndarray
    mode: str = "static"
    models: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)
    rejections: list = field(default_factory=list)
    options: dict = field(default_factory=dict)
    warnings: list = field(default_factory=list)
    gradient_sigma_m: np.ndarray | None = None
    fixed: np.ndarray | None = None
    n_fixed: np.ndarray | None = None
    n_widelane: np.ndarray | None = None
    ratio: np.ndarray | None = None
    float_position_m: np.ndarray | None = None
    wl_fractions: np.ndarray | None = None
    ambiguities: np.ndarray | None = None

    def __post_init__(self):
        m = len(self.time_ns)
        if self.fixed is None:
            self.fixed = np.zeros(m, dtype=bool)
        for name in ("n_fixed", "n_widelane"):
            if getattr(self, name) is None:
                setattr(self, name, np.zeros(m, dtype=np.int16))
        if self.ratio is None:
            self.ratio = np.zeros(m)
        if self.float_position_m is None:
            self.float_position_m = np.array(self.position_m, dtype=np.float64, copy=True)
        if self.wl_fractions is None:
            self.wl_fractions = np.zeros(0)
        if self.ambiguities is None:
            from .ppp_ar import CANDIDATE_DTYPE

            self.ambiguities = np.zeros(0, dtype=CANDIDATE_DTYPE)

    _TABLE_COLUMNS: ClassVar[tuple] = (("quality", "quality"), ("n_satellites", "n_satellites"),
                                       ("ztd_m", "ztd_m"), ("ztd_sigma_m", "ztd_sigma_m"), ("fixed", "fixed"),
                                       ("n_fixed", "n_fixed"))
    _STATIC_FIELDS: ClassVar[tuple] = ("satellites", "wl_fractions", "ambiguities")

    def __repr__(self) -> str:
        return f"<PppSolution {self.mode}, {len(self)} epochs, {int(self.solved.sum())} solved>"

    @property
    def solved(self) -> np.ndarray:
        return self.quality > 0

    @property
    def valid(self) -> np.ndarray:
        return self.solved

    @property
    def status(self) -> np.ndarray:
        return self.quality

    @property
    def n_used(self) -> np.ndarray:
        return self.n_satellites

    @property
    def reasons(self) -> np.ndarray:
        return np.array([r or "ppp" for r in self.reasons_text], dtype=object)

    def reason(self, epoch: int) -> str:
        return str(self.reasons[epoch])

    @property
    def n_used_by_system(self) -> dict:
        """Satellites used per system letter (epochs,)."""
        from ..satellites import system_of

        letters = np.asarray(system_of(self.satellites)) if len(self.satellites) else np.array([], dtype=str)
        used = np.isfinite(self.phase_residuals_m)
        return {s: used[:, letters == s].sum(axis=1).astype(np.int16) for s in dict.fromkeys(letters.tolist())}

    # ------------------------------------------------------------------ results
    def final_position(self) -> tuple[np.ndarray, np.ndarray]:
        """(position (3,), covariance (3, 3)) of the last solved epoch: the station
        coordinate of a static run (ECEF m, m^2)."""
        idx = np.flatnonzero(self.solved)
        if not len(idx):
            return np.full(3, np.nan), np.full((3, 3), np.nan)
        return self.position_m[idx[-1]].copy(), self.covariance_m2[idx[-1]].copy()

    def coordinate_summary(self) -> dict:
        """Final coordinate with sigmas: ``x_m, y_m, z_m, sx_m, sy_m, sz_m`` (ECEF) and
        ``lat_deg, lon_deg, height_m, se_m, sn_m, su_m`` (ENU sigmas)."""
        pos, cov = self.final_position()
        lat, lon, h = ecef_to_geodetic(pos)
        rot = enu_rotation(lat, lon)
        cenu = rot @ cov @ rot.T
        sd = np.sqrt(np.maximum(np.diag(cov), 0.0))
        se = np.sqrt(np.maximum(np.diag(cenu), 0.0))
        return {"x_m": pos[0], "y_m": pos[1], "z_m": pos[2], "sx_m": sd[0], "sy_m": sd[1], "sz_m": sd[2],
                "lat_deg": float(np.degrees(lat)), "lon_deg": float(np.degrees(lon)), "height_m": float(h),
                "se_m": se[0], "sn_m": se[1], "su_m": se[2]}

    def convergence_time_s(self, reference_m=None, threshold_m: float = 0.10) -> float:
        """Seconds until the 3D error stays below ``threshold_m``: against ``reference_m``,
        or (static) the final coordinate of the run."""
        ref = self.final_position()[0] if reference_m is None else np.asarray(reference_m, dtype=np.float64)
        return convergence_time_s(self.time_ns, self.position_m, ref, threshold_m)

    def time_to_first_fix_s(self) -> float:
        """Seconds from the first solved epoch to the first integer-fixed one (NaN when none)."""
        solved = np.flatnonzero(self.solved)
        fixed = np.flatnonzero(self.fixed)
        if not len(solved) or not len(fixed):
            return float("nan")
        return float((self.time_ns[fixed[0]] - self.time_ns[solved[0]]) / 1e9)

    def summary(self, truth_m=None) -> str:
        """Lines for a person: epochs, final coordinate with sigmas, convergence, errors."""
        c = self.coordinate_summary()
        ar = self.models.get("ambiguity-resolution", "off")
        kind = "float" if ar.startswith("off") else "integer ambiguity resolution"
        lines = [f"PPP {self.mode} ({kind}, ionosphere-free): {int(self.solved.sum())} of {len(self)} epochs solved",
                 f"coordinate  X {c['x_m']:.4f} Y {c['y_m']:.4f} Z {c['z_m']:.4f} m "
                 f"(sigma {c['sx_m']:.4f} {c['sy_m']:.4f} {c['sz_m']:.4f})",
                 f"            lat {c['lat_deg']:.9f} lon {c['lon_deg']:.9f} h {c['height_m']:.4f} m "
                 f"(sigma E {c['se_m']:.4f} N {c['sn_m']:.4f} U {c['su_m']:.4f})"]
        if self.solved.any():
            lines.append(f"ZTD         median {np.nanmedian(self.ztd_m[self.solved]):.4f} m")
        conv = self.convergence_time_s(truth_m)
        what = "reference" if truth_m is not None else "final coordinate"
        lines.append(f"convergence {conv / 60:.1f} min to < 10 cm 3D from the {what}" if np.isfinite(conv)
                     else f"convergence: never within 10 cm 3D of the {what}")
        if truth_m is not None:
            e = self.errors(truth_m)
            lines.append(f"errors      vs reference: H RMS {e['h_rms']:.4f} m, V RMS {e['v_rms']:.4f} m over "
                         f"{e['n']} epochs")
            pos, _ = self.final_position()
            from ..frames import ecef_to_enu

            d = ecef_to_enu(pos, np.asarray(truth_m, dtype=np.float64))
            lines.append(f"final       minus reference: E {d[0]:+.4f} N {d[1]:+.4f} U {d[2]:+.4f} m")
        if kind != "float":
            ttff = self.time_to_first_fix_s()
            nf = self.n_fixed[self.fixed]
            lines.append(f"fixed       {int(self.fixed.sum())} of {int(self.solved.sum())} solved epochs"
                         + (f", time to first fix {ttff / 60:.1f} min, median {np.median(nf):.0f} ambiguities fixed "
                            f"(single differences)" if np.isfinite(ttff) else ", never fixed (float solution)"))
        lines += [f"note        {n}" for n in self.notes]
        if self.rejections:
            lines.append(f"outliers    {len(self.rejections)} measurements rejected")
        return "\n".join(lines)

    def write_ztd_csv(self, path) -> None:
        """Zenith total delays as CSV: ``time_gpst,ztd_m,ztd_sigma_m,grad_n_m,grad_e_m``."""
        from ..gnss_time import format_gpst
        from ..io.atomic import atomic_output

        rows = ["time_gpst,ztd_m,ztd_sigma_m,gradient_north_m,gradient_east_m"]
        for i in np.flatnonzero(self.solved):
            g = self.gradient_m[i]
            rows.append(f"{format_gpst(int(self.time_ns[i]))},{self.ztd_m[i]:.5f},{self.ztd_sigma_m[i]:.5f},"
                        f"{g[0]:.6f},{g[1]:.6f}")
        with atomic_output(path) as fh:
            fh.write("\n".join(rows) + "\n")

    def write_ztd_sinex(self, path, *, station: str = "", source: str = "", agency: str = "SAT") -> None:
        """Zenith total delays and gradients as SINEX_TRO 2.00 (:mod:`satnav.io.sinex_tro`):
        the solved epochs, the station coordinate (the final one of a static run, the median
        of a kinematic track), and the models of the run in ``TROP/DESCRIPTION``. ``station``:
        the 9-character id, by default from the observation file name ``source`` (RINEX 3 long
        name) or the marker name."""
        from .._version import __version__
        from ..io.sinex_tro import write_sinex_tro

        header = getattr(self, "observation_header", None)
        if not station:
            station = _station_id(header, source)
        pos = self.final_position()[0] if self.mode == "static" else (
            np.nanmedian(self.position_m[self.solved], axis=0) if self.solved.any() else np.full(3, np.nan))
        mask = self.options.get("elevation_mask_deg")
        models = self.models
        description = [("TROPO MODELING METHOD", "KALMAN FILTER, RANDOM WALK"),
                       ("TROPO ESTIMATION METHOD", "FORWARD (FLOAT PPP)")]
        if mask is not None:
            description.append(("ELEVATION CUTOFF ANGLE", f"{float(mask):g}"))
        trop = str(models.get("troposphere", ""))
        if "GMF" in trop:
            description += [("A PRIORI TROPOSPHERE", "GPT SAASTAMOINEN"), ("TROPO MAPPING FUNCTION", "GMF"),
                            ("GEOID MODEL", "GPT 9X9 EGM")]
        elif "Niell" in trop:
            description += [("A PRIORI TROPOSPHERE", "STANDARD ATMOSPHERE SAASTAMOINEN"),
                            ("TROPO MAPPING FUNCTION", "NIELL")]
        if "gradients" in models and models["gradients"] != "off":
            description.append(("GRADS MAPPING FUNCTION", "CHEN-HERRING"))
        if "ocean-loading" in models:
            description.append(("OCEAN TIDE LOADING MODEL", str(models["ocean-loading"])[:40]))
        frame = str(self.options.get("frame", ""))
        letters = sorted({str(s)[0] for s in self.clock_m})
        systems = "MIX" if len(letters) > 1 else {"G": "GPS", "E": "GAL", "R": "GLO", "C": "BDS", "J": "QZS"}.get(
            letters[0] if letters else "", "MIX")
        write_sinex_tro(path, station=station, time_ns=self.time_ns[self.solved], ztd_m=self.ztd_m[self.solved],
                        ztd_sigma_m=self.ztd_sigma_m[self.solved],
                        gradient_m=self.gradient_m[self.solved],
                        gradient_sigma_m=None if self.gradient_sigma_m is None else self.gradient_sigma_m[self.solved],
                        position_m=pos, reference_frame=frame, agency=agency, software=f"satnav {__version__}",
                        description=description,
                        reference=[("INPUT", str(models.get("orbits", ""))[:60])],
                        receiver=str(getattr(header, "receiver_type", "") or ""),
                        antenna=str(getattr(header, "antenna_type", "") or ""), systems=systems,
                        domes=_domes(getattr(header, "marker_number", "") or ""))


def _domes(marker_number: str) -> str:
    """The marker number when it is an IERS DOMES number (``10118M001``), else ""."""
    import re

    text = marker_number.strip().upper()
    return text if re.fullmatch(r"[0-9]{5}[MS][0-9]{3}", text) else ""


def _station_id(header, source: str) -> str:
    """9-character station id: from a RINEX 3 long file name (``ESBC00DNK_R_...``), else the
    marker name (4 characters)."""
    import re
    from pathlib import PurePath

    m = re.match(r"([A-Z0-9]{4}[0-9]{2}[A-Z]{3})_", PurePath(str(source or "")).name.upper())
    if m:
        return m.group(1)
    name = (getattr(header, "marker_name", "") or "").strip().upper()
    return name[:4] or "UNKN"

