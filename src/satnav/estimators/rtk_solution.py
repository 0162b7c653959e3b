"""The relative (RTK / DGNSS) solution of a rover: one row per rover epoch.

Built by :func:`satnav.estimators.rtk.solve_rtk` (also importable from there).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from .solution import PositionSolution

__all__ = ["RtkSolution"]


@dataclass
class RtkSolution(PositionSolution):
    """Per-epoch RTK/DGNSS solution of the rover (one row per rover epoch).

    Attributes
    ----------
    time_ns : ndarray int64 (m,)
        Rover epochs (GPST ns).
    position_m : ndarray (m, 3)
        Best rover position, ECEF (m): fixed where ``quality == 1``, else float, DGNSS or
        single point; NaN where none.
    float_position_m : ndarray (m, 3)
        Float (or DGNSS) filter position (NaN where the filter did not run).
    quality : ndarray int8 (m,)
        :data:`QUALITY` code: 1 fixed, 2 float, 4 DGNSS, 5 single point, 0 none.
    ratio : ndarray (m,)
        Ratio-test value of the last integer search (0 when none ran).
    n_fixed : ndarray int16 (m,)
        Double-difference ambiguities fixed.
    n_satellites : ndarray int16 (m,)
        Satellites with double differences (rover and base).
    covariance_m2 : ndarray (m, 3, 3)
        ECEF covariance of ``position_m`` (m^2).
    age_s : ndarray (m,)
        Rover minus base epoch time (s); NaN without a base epoch.
    base_position_m : ndarray (3,)
    base_position_source : str
        ``"argument"``, ``"base header"`` or ``"base SPP average"``.
    mode : str
    notes : list of str
        What the solver did that a user should know (e.g. GLONASS float only).
    options : dict
    warnings : list of str
        Warnings of the run (also issued as :class:`~satnav.errors.SatnavWarning`).
    fixed_systems : ndarray of str (m,), optional
        Letters of the systems whose ambiguities were fixed at each epoch (``"GR"``: GPS
        and GLONASS; ``""`` where not fixed): partial fixing may leave a system float.
    """

    time_ns: np.ndarray
    position_m: np.ndarray
    float_position_m: np.ndarray
    quality: np.ndarray
    ratio: np.ndarray
    n_fixed: np.ndarray
    n_satellites: np.ndarray
    covariance_m2: np.ndarray
    age_s: np.ndarray
    base_position_m: np.ndarray
    base_position_source: str
    mode: str
    notes: list = field(default_factory=list)
    options: dict = field(default_factory=dict)
    warnings: list = field(default_factory=list)
    fixed_systems: np.ndarray | None = None

    _TABLE_COLUMNS: ClassVar[tuple] = (
        ("quality", "quality"), ("n_satellites", "n_satellites"), ("ratio", "ratio"),
        ("n_fixed", "n_fixed"), ("age_s", "age_s"), ("fixed_systems", "fixed_systems_per_epoch"),
    )
    _STATIC_FIELDS: ClassVar[tuple] = ("base_position_m",)

    def __repr__(self) -> str:
        return (f"<RtkSolution {self.mode} {len(self)} epochs, fixed {int(self.fixed.sum())}, "
                f"fix rate {100 * self.fix_rate:.1f} %, base from {self.base_position_source}>")

    @property
    def solved(self) -> np.ndarray:
        """Epochs with a position."""
        return self.quality > 0

    @property
    def n_used(self) -> np.ndarray:
        """Satellites used per epoch (alias of :attr:`n_satellites`, as in SPP solutions)."""
        return self.n_satellites

    @property
    def reasons(self) -> np.ndarray:
        """Text of each epoch's quality (``"fixed"``, ``"float"``, ..., ``"no solution"``)."""
        names = {0: "no solution", 1: "fixed", 2: "float", 4: "DGNSS", 5: "single point (no base epoch)"}
        return np.array([names.get(int(q), f"quality {int(q)}") for q in self.quality], dtype=object)

    @property
    def fixed(self) -> np.ndarray:
        """Epochs with fixed ambiguities."""
        return self.quality == 1

    @property
    def fix_rate(self) -> float:
        """Fraction of all rover epochs that are fixed."""
        return float(self.fixed.mean()) if len(self) else 0.0

    @property
    def status(self) -> np.ndarray:
        """Alias of :attr:`quality`."""
        return self.quality

    @property
    def baseline_m(self) -> np.ndarray:
        """Rover minus base, ECEF (m, (m, 3))."""
        return self.position_m - self.base_position_m

    def _error_epochs(self) -> np.ndarray:
        """Fixed epochs: :meth:`errors` without a mask measures the fixed solution."""
        return self.fixed

    @property
    def fixed_systems_per_epoch(self) -> np.ndarray:
        """Letters of the systems whose ambiguities each epoch's fix includes (str (m,),
        ``""`` for epochs not fixed), e.g. ``"GR"``: the ``fixed_systems`` column of
        :meth:`to_pandas` (CSV, Parquet)."""
        if self.fixed_systems is None:
            return np.full(len(self), "", dtype=object)
        return np.asarray(self.fixed_systems, dtype=object)

    def fixed_systems_text(self) -> str:
        """Per system, the fixed epochs whose fix includes its ambiguities, e.g.
        ``"fixed systems: G 812 epochs (100.0 % of fixed), R 640 (78.8 %)"``."""
        fs = [] if self.fixed_systems is None else [str(v) for v in self.fixed_systems]
        n_fixed = int(self.fixed.sum())
        counts = {}
        for v in fs:
            for c in v:
                counts[c] = counts.get(c, 0) + 1
        if not counts:
            return "fixed systems: none"
        parts = [f"{c} {n} epochs ({100 * n / max(n_fixed, 1):.1f} % of fixed)"
                 for c, n in counts.items()]
        return "fixed systems: " + ", ".join(parts)

    def summary(self, truth_m=None) -> str:
        """Lines for a report: fix rate, base position source, notes, errors vs truth."""
        lines = [f"mode {self.mode}: {len(self)} epochs, fixed {int(self.fixed.sum())} "
                 f"({100 * self.fix_rate:.1f} %), float {int((self.quality == 2).sum())}, "
                 f"DGNSS {int((self.quality == 4).sum())}, single {int((self.quality == 5).sum())}",
                 f"base position from {self.base_position_source}: "
                 + " ".join(f"{v:.4f}" for v in self.base_position_m)]
        lines += self.notes
        if self.options.get("glonass_ar", "off") != "off" and self.fixed_systems is not None:
            lines.append(self.fixed_systems_text())
        if truth_m is not None:
            e = self.errors(truth_m)
            lines.append(f"fixed-solution error: H RMS {e['h_rms']:.4f} m, V RMS {e['v_rms']:.4f} m, "
                         f"max 3-D {e['max_3d']:.4f} m over {e['n']} epochs")
        return "\n".join(lines)
