"""Receiver solutions: one row per observation epoch, solved or not.

:class:`PositionSolution` is the common base of every estimator's solution (single point
:class:`Solution`, relative :class:`~satnav.estimators.rtk_solution.RtkSolution`, later
PPP): one ``geodetic()``, ``enu()``, ``errors()``, ``to_pandas()``, ``solved`` and the
``warnings`` collected during the run.

A :class:`Solution` holds arrays over epochs (``m``) and, for per-satellite quantities,
over the satellite columns (``n``, :attr:`Solution.satellites`). Epochs that could not be
solved are kept, with NaN position and a status code saying why (:data:`STATUS`), so that
``len(solution) == len(obs.epochs)`` always.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from ..frames import ecef_to_enu, ecef_to_geodetic
from ..satellites import satellite_ids

__all__ = ["PositionSolution", "Solution", "STATUS", "SOLVED_STATUS_MAX", "position_error_statistics"]

#: Status code of an epoch -> meaning. Codes below 10 are solved (a position is given);
#: 0 and 1 passed the residual (chi-square) test; 2-6 are solved but flagged.
STATUS = {
    0: "ok",
    1: "ok after fault exclusion",
    2: "unverified: no redundancy for the residual test",
    3: "RAIM failed: residual test failed and no exclusion fixed it",
    4: "weak geometry: GDOP above limit",
    5: "position inconsistent with the Doppler-predicted motion",
    6: "implausible position: height outside the allowed range",
    10: "no observations",
    11: "too few satellites",
    12: "too few satellites with valid ephemeris",
    13: "singular geometry",
    14: "not converged",
}
#: Largest status code of a solved epoch.
SOLVED_STATUS_MAX = 9


class PositionSolution:
    """Common base of per-epoch receiver solutions (arrays over ``m`` epochs).

    Subclasses are dataclasses with at least ``time_ns`` (int64 GPST ns, (m,)),
    ``position_m`` (ECEF m, (m, 3), NaN where unsolved), ``options`` (dict) and
    ``warnings`` (list of str: what the run warned about, also issued through the
    :mod:`warnings` module, kept here so that worker processes can return them), and
    define :attr:`solved`. :meth:`errors` uses the epochs of :meth:`_error_epochs` by
    default (every solved epoch; the fixed ones for RTK).
    """

    time_ns: np.ndarray
    position_m: np.ndarray
    options: dict
    warnings: list
    #: Columns of :meth:`to_pandas` after the position ones: (name, attribute).
    _TABLE_COLUMNS: ClassVar[tuple] = ()
    #: Array fields that are not per epoch (taken from the first part by :meth:`concatenate`).
    _STATIC_FIELDS: ClassVar[tuple] = ()

    def __len__(self) -> int:
        return len(self.time_ns)

    @property
    def solved(self) -> np.ndarray:  # pragma: no cover - every subclass defines it
        """Epochs with a position (bool, (m,))."""
        return np.all(np.isfinite(self.position_m), axis=1)

    def _error_epochs(self) -> np.ndarray:
        """Epochs :meth:`errors` uses when no mask is given."""
        return self.solved

    # ------------------------------------------------------------------ views
    def geodetic(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Latitude, longitude (rad) and ellipsoidal height (m) on WGS84, each (m,)."""
        return ecef_to_geodetic(self.position_m)

    def enu(self, reference_m) -> np.ndarray:
        """East/north/up (m, (m, 3)) of the positions relative to an ECEF reference point (m)."""
        return ecef_to_enu(self.position_m, np.asarray(reference_m, dtype=np.float64))

    def errors(self, reference_m, mask=None) -> dict[str, float]:
        """Position errors (m) against an ECEF reference point (m), over the default epochs
        (:meth:`_error_epochs`: every solved epoch; RTK: the fixed ones) or ``mask`` & solved.

        Returns ``n``, ``h_rms``, ``v_rms``, ``h_95``, ``v_95``, ``h_max``, ``v_max`` and
        ``max_3d`` (:func:`position_error_statistics`)."""
        sel = self._error_epochs() if mask is None else np.asarray(mask, dtype=bool) & self.solved
        return position_error_statistics(self.enu(reference_m)[sel])

    def to_pandas(self):
        """One row per epoch: time (datetime64 GPST), x/y/z (m), lat/lon (deg), height (m),
        then the columns of the solution kind."""
        import pandas as pd

        from ..gnss_time import ns_to_datetime64

        lat, lon, h = self.geodetic()
        data = {
            "time": ns_to_datetime64(self.time_ns),
            "x_m": self.position_m[:, 0],
            "y_m": self.position_m[:, 1],
            "z_m": self.position_m[:, 2],
            "lat_deg": np.degrees(lat),
            "lon_deg": np.degrees(lon),
            "height_m": h,
        }
        data.update(self._table_columns())
        return pd.DataFrame(data)

    def _table_columns(self) -> dict[str, Any]:
        return {name: getattr(self, attr) for name, attr in self._TABLE_COLUMNS}

    # ------------------------------------------------------------------ assembly
    @classmethod
    def concatenate(cls, parts: Sequence[PositionSolution], **columns) -> PositionSolution:
        """One solution of consecutive parts (time chunks or single epochs) of one run.

        Per-epoch arrays (first axis ``len(part)``) are concatenated; other fields are taken
        from the first part; ``warnings`` are joined (each message once). Subclasses with
        per-satellite or per-clock columns override :meth:`_concatenate_field`."""
        parts = list(parts)
        if not parts:
            raise ValueError("concatenate needs at least one solution")
        if len(parts) == 1 and not columns:
            return parts[0]
        values = {}
        for f in dataclasses.fields(cls):
            values[f.name] = cls._concatenate_field(f.name, [getattr(p, f.name) for p in parts], parts, columns)
        return cls(**values)

    @classmethod
    def _concatenate_field(cls, name: str, items: list, parts: list, columns: dict):
        if name == "warnings":
            return list(dict.fromkeys(w for item in items for w in item))
        first = items[0]
        if name in cls._STATIC_FIELDS:
            return first
        if isinstance(first, np.ndarray) and first.ndim >= 1 and all(
            isinstance(a, np.ndarray) and a.ndim >= 1 and len(a) == len(p) for a, p in zip(items, parts)
        ):
            return np.concatenate(items, axis=0)
        return first


@dataclass
class Solution(PositionSolution):
    """Per-epoch receiver solution (single point positioning).

    Attributes
    ----------
    time_ns : ndarray int64 (m,)
        Observation epochs (receiver time tags), GPST ns.
    position_m : ndarray (m, 3)
        Receiver antenna position, ECEF (m, the broadcast orbits' frame, WGS84/ITRF-like);
        NaN where unsolved. The antenna reference point unless the solver was asked to
        reduce it to the marker (see ``reference_point``).
    clock_bias_s : ndarray (m, c)
        Receiver clock bias (s) per clock group in :attr:`clock_systems` (NaN where the
        group had no satellite). The difference of two columns is the inter-system bias.
    clock_systems : tuple of str
        System letters whose satellites share each clock column (``("G", "R", "E", "C")``).
    velocity_m_s : ndarray (m, 3)
        ECEF velocity from Doppler (m/s); NaN where not estimated.
    clock_drift_s_s : ndarray (m,)
        Receiver clock drift (s/s); NaN where not estimated.
    gdop, pdop, hdop, vdop, tdop : ndarray (m,)
        Dilutions of precision of the satellites used, with the estimation model (one clock
        per clock group; TDOP of the first clock group).
    status : ndarray int8 (m,)
        Code from :data:`STATUS`.
    n_used : ndarray int16 (m,)
        Satellites used.
    n_used_by_system : dict str -> ndarray int16 (m,)
        Satellites used per system letter.
    satellites : ndarray int16 (n,)
        Satellite indices of the per-satellite columns.
    residuals_m : ndarray (m, n)
        Post-fit pseudorange residuals (m) of the used measurements (of excluded ones too:
        their misfit); NaN where no measurement.
    used : ndarray bool (m, n)
        Measurement used in the final solution.
    excluded : ndarray bool (m, n)
        Measurement excluded by fault detection and exclusion.
    azimuth_rad, elevation_rad : ndarray (m, n)
        Satellite azimuth/elevation from the solved position (NaN where unknown).
    test_statistic, test_threshold : ndarray (m,)
        Weighted sum of squared residuals and its chi-square threshold (NaN where no
        redundancy).
    covariance_m2 : ndarray (m, 3, 3)
        ECEF position covariance from the weight model (m^2).
    iterations : ndarray int16 (m,)
    signals : dict str -> str
        Observation code (or ``"C1C+C2W"`` for iono-free) used per system.
    reference_point : str
        ``"ARP"`` (antenna reference point) or ``"marker"``.
    options : dict
        Options of the run worth reporting (iono, mask, weights, smoothing; per-epoch
        inter-frequency biases of ``multi_signal``).
    warnings : list of str
        Warnings of the run (also issued as :class:`~satnav.errors.SatnavWarning`).
    """

    time_ns: np.ndarray
    position_m: np.ndarray
    clock_bias_s: np.ndarray
    clock_systems: tuple
    velocity_m_s: np.ndarray
    clock_drift_s_s: np.ndarray
    gdop: np.ndarray
    pdop: np.ndarray
    hdop: np.ndarray
    vdop: np.ndarray
    tdop: np.ndarray
    status: np.ndarray
    n_used: np.ndarray
    n_used_by_system: dict
    satellites: np.ndarray
    residuals_m: np.ndarray
    used: np.ndarray
    excluded: np.ndarray
    azimuth_rad: np.ndarray
    elevation_rad: np.ndarray
    test_statistic: np.ndarray
    test_threshold: np.ndarray
    covariance_m2: np.ndarray
    iterations: np.ndarray
    signals: dict = field(default_factory=dict)
    reference_point: str = "ARP"
    options: dict = field(default_factory=dict)
    warnings: list = field(default_factory=list)

    _STATIC_FIELDS: ClassVar[tuple] = ("satellites",)

    def __repr__(self) -> str:
        m = len(self)
        return (
            f"<Solution {m} epochs, {int(self.solved.sum())} solved, "
            f"{int(self.valid.sum())} passed integrity, systems {''.join(self.n_used_by_system)}>"
        )

    # ------------------------------------------------------------------ masks
    @property
    def solved(self) -> np.ndarray:
        """Epochs with a position (bool, (m,))."""
        return self.status <= SOLVED_STATUS_MAX

    @property
    def valid(self) -> np.ndarray:
        """Epochs solved and passing the residual test (status 0 or 1)."""
        return self.status <= 1

    def reason(self, epoch: int) -> str:
        """Meaning of the status of one epoch."""
        return STATUS.get(int(self.status[epoch]), "unknown")

    @property
    def reasons(self) -> np.ndarray:
        """Meaning of the status of every epoch (array of str)."""
        table = np.array([STATUS.get(i, "unknown") for i in range(max(STATUS) + 1)], dtype=object)
        return table[self.status.astype(np.intp)]

    def status_counts(self) -> dict[str, int]:
        """Number of epochs per status meaning."""
        codes, counts = np.unique(self.status, return_counts=True)
        return {STATUS.get(int(c), str(c)): int(n) for c, n in zip(codes, counts)}

    @property
    def isb_s(self) -> dict[str, np.ndarray]:
        """Inter-system biases (s) relative to the first clock group."""
        return {
            s: self.clock_bias_s[:, i] - self.clock_bias_s[:, 0]
            for i, s in enumerate(self.clock_systems)
            if i > 0
        }

    def excluded_satellites(self, epoch: int) -> list[str]:
        """Satellite ids excluded by fault detection at one epoch."""
        return satellite_ids(self.satellites[self.excluded[epoch]]).tolist()

    def _table_columns(self) -> dict:
        """Columns of :meth:`to_pandas` after the position: clocks, velocity, DOPs,
        n_used, status and reason, satellites used per system."""
        data = {}
        for i, s in enumerate(self.clock_systems):
            data[f"clock_{s}_s"] = self.clock_bias_s[:, i]
        data.update(
            {
                "vx_m_s": self.velocity_m_s[:, 0],
                "vy_m_s": self.velocity_m_s[:, 1],
                "vz_m_s": self.velocity_m_s[:, 2],
                "clock_drift_s_s": self.clock_drift_s_s,
                "gdop": self.gdop,
                "pdop": self.pdop,
                "hdop": self.hdop,
                "vdop": self.vdop,
                "tdop": self.tdop,
                "n_used": self.n_used,
                "status": self.status,
                "reason": self.reasons,
            }
        )
        for s, n in self.n_used_by_system.items():
            data[f"n_{s}"] = n
        return data

    # ------------------------------------------------------------------ assembly
    @classmethod
    def concatenate(cls, parts: Sequence[Solution], *, satellites=None, clock_systems=None) -> Solution:
        """One solution of consecutive parts of one run (time chunks, or the epochs of
        :class:`~satnav.estimators.spp_engine.SppEngine`).

        Per-satellite columns are put on the union of the parts' satellites (or
        ``satellites``, int indices, when given: a run's full column list), clock columns on
        the union of clock groups (or ``clock_systems``); NaN / False / 0 where a part had
        no such column. ``signals`` and ``options`` are merged (per-epoch inter-frequency
        biases concatenated, NaN where a part had none)."""
        parts = list(parts)
        if not parts:
            raise ValueError("concatenate needs at least one solution")
        if satellites is None:
            satellites = list(dict.fromkeys(int(v) for p in parts for v in p.satellites))
        if clock_systems is None:
            clock_systems = tuple(dict.fromkeys(g for p in parts for g in p.clock_systems))
        columns = {
            "satellites": np.asarray(satellites, dtype=parts[0].satellites.dtype),
            "clock_systems": tuple(clock_systems),
        }
        return super().concatenate(parts, **columns)

    @classmethod
    def _concatenate_field(cls, name: str, items: list, parts: list, columns: dict):
        if name in ("satellites", "clock_systems"):
            return columns[name]
        if name in ("residuals_m", "used", "excluded", "azimuth_rad", "elevation_rad"):
            return np.concatenate([_remap(a, p.satellites.tolist(), columns["satellites"].tolist())
                                   for a, p in zip(items, parts)])
        if name == "clock_bias_s":
            return np.concatenate([_remap(a, list(p.clock_systems), list(columns["clock_systems"]))
                                   for a, p in zip(items, parts)])
        if name == "n_used_by_system":
            keys = list(dict.fromkeys(k for item in items for k in item))
            return {k: np.concatenate([item.get(k, np.zeros(len(p), np.int16)) for item, p in zip(items, parts)])
                    for k in keys}
        if name == "signals":
            merged: dict = {}
            for item in items:
                for k, v in item.items():
                    merged.setdefault(k, v)
            return merged
        if name == "options":
            merged = dict(items[0])
            ifb = [item.get("inter_frequency_bias_m") for item in items]
            if any(v is not None for v in ifb):
                keys = list(dict.fromkeys(k for v in ifb if v for k in v))
                merged["inter_frequency_bias_m"] = {
                    k: np.concatenate([(v or {}).get(k, np.full(len(p), np.nan)) for v, p in zip(ifb, parts)])
                    for k in keys
                }
            return merged
        return super()._concatenate_field(name, items, parts, columns)


def _remap(a: np.ndarray, have: list, want: list) -> np.ndarray:
    """Columns ``have`` of the (m, len(have)) array ``a`` put on the columns ``want``
    (NaN, False or 0 where absent)."""
    if have == want:
        return a
    out = np.zeros((len(a), len(want)), dtype=a.dtype)
    if a.dtype.kind == "f":
        out[:] = np.nan
    index = {v: i for i, v in enumerate(want)}
    for j, v in enumerate(have):
        if v not in index:
            raise ValueError(f"column {v!r} of a part is not among the assembled columns")
        out[:, index[v]] = a[:, j]
    return out


def position_error_statistics(enu_m) -> dict[str, float]:
    """Horizontal and vertical RMS, 95th percentile and maximum (m) of position errors.

    ``enu_m``: east/north/up errors (n, 3) (m). Returns ``n`` (rows) and ``h_rms``,
    ``v_rms``, ``h_95``, ``v_95``, ``h_max``, ``v_max``, ``max_3d`` (horizontal =
    hypot(east, north), vertical = |up|, 3-D = the vector's length; NaN when there is no row).
    """
    enu = np.asarray(enu_m, dtype=np.float64).reshape(-1, 3)
    if not len(enu):
        nan = float("nan")
        return {"n": 0, "h_rms": nan, "v_rms": nan, "h_95": nan, "v_95": nan, "h_max": nan,
                "v_max": nan, "max_3d": nan}
    h = np.hypot(enu[:, 0], enu[:, 1])
    v = np.abs(enu[:, 2])
    return {
        "n": int(len(h)),
        "h_rms": float(np.sqrt(np.mean(h**2))),
        "v_rms": float(np.sqrt(np.mean(v**2))),
        "h_95": float(np.percentile(h, 95)),
        "v_95": float(np.percentile(v, 95)),
        "h_max": float(h.max()),
        "v_max": float(v.max()),
        "max_3d": float(np.linalg.norm(enu, axis=1).max()),
    }
