"""Service evaluation: solve simulated observations per constellation combination.

:func:`evaluate` runs :func:`satnav.estimators.spp.solve_spp` (broadcast Klobuchar and
Saastamoinen corrections, RAIM on, the simulation's elevation mask) on the same simulated
observations once per combination of designed systems (each system alone, GLONASS with the
regional system, all together, ...) and compares every epoch's position with the truth:
the service table a system designer wants.

Table columns (one row per combination):

* ``availability_pct``: epochs with a position that passed the residual test (status 0/1)
  and PDOP <= ``pdop_limit`` (6), in % of all epochs;
* ``mean_sats``: mean number of satellites used (over solved epochs);
* ``pdop_median``: median PDOP of the solved epochs;
* ``h_rms_m``, ``h_95_m``, ``v_rms_m``, ``v_95_m``: horizontal / vertical error against the
  truth (RMS and 95th percentile, m) over the available epochs.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import SatnavError
from ..estimators.solution import position_error_statistics
from ..frames import ecef_to_enu
from ..progress import ProgressCounter

__all__ = ["ServiceRow", "evaluate", "evaluate_directory", "default_combinations", "format_table"]

#: PDOP above which an epoch does not count as available.
PDOP_LIMIT = 6.0


@dataclass
class ServiceRow:
    """Service of one constellation combination (units in the field names)."""

    name: str
    systems: str
    epochs: int
    availability_pct: float
    mean_sats: float
    pdop_median: float
    h_rms_m: float
    h_95_m: float
    v_rms_m: float
    v_95_m: float

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def default_combinations(systems: dict[str, str]) -> list[tuple[str, str]]:
    """(name, letters) combinations: every designed system alone, GLONASS + each system
    that is neither GLONASS nor a global core one (the regional case), and all together.

    ``systems`` maps designed-system name -> satellite-id letters (``{"GLONASS": "R"}``)."""
    combos = [(name, letters) for name, letters in systems.items()]
    glonass = [n for n, v in systems.items() if v == "R"]
    core = {"G", "R", "E", "C"}
    regional = [n for n, v in systems.items() if not set(v) <= core]
    for g in glonass:
        for r in regional:
            combos.append((f"{g} + {r}", "".join(dict.fromkeys(systems[g] + systems[r]))))
    if len(systems) > 1:
        combos.append(("All", "".join(dict.fromkeys("".join(systems.values())))))
    seen, out = set(), []
    for name, letters in combos:
        if letters not in seen:
            seen.add(letters)
            out.append((name, letters))
    return out


def _service_row(name, letters, sol, truth_ecef, pdop_limit) -> ServiceRow:
    m = len(sol)
    solved = sol.solved & np.all(np.isfinite(sol.position_m), axis=1)
    ok = sol.valid & (sol.pdop <= pdop_limit)
    nan = float("nan")
    err = position_error_statistics(ecef_to_enu(sol.position_m, truth_ecef)[ok])

    def stat(x, f):
        return float(f(x)) if len(x) else nan

    return ServiceRow(
        name=name,
        systems=letters,
        epochs=m,
        availability_pct=100.0 * float(ok.sum()) / m if m else nan,
        mean_sats=stat(sol.n_used[solved].astype(float), np.mean),
        pdop_median=stat(sol.pdop[solved], np.median),
        h_rms_m=err["h_rms"],
        h_95_m=err["h_95"],
        v_rms_m=err["v_rms"],
        v_95_m=err["v_95"],
    )


def evaluate(
    obs,
    nav,
    truth_ecef,
    systems: dict[str, str],
    *,
    combinations=None,
    mask_deg: float = 10.0,
    pdop_limit: float = PDOP_LIMIT,
    truth_times_ns=None,
    solutions: list | None = None,
    progress=None,
) -> list[ServiceRow]:
    """Solve ``obs`` per combination and compare with the truth.

    Parameters
    ----------
    obs : Observations
    nav : Navigation
    truth_ecef : array (3,) or (T, 3)
        True antenna position (ECEF m), static or per epoch of ``truth_times_ns``.
    systems : dict
        Designed-system name -> id letters.
    combinations : list of (name, letters), optional
        Default :func:`default_combinations`.
    mask_deg, pdop_limit : float
    truth_times_ns : int64 (T,), optional
        Epochs of a moving truth; matched to ``obs.epochs`` exactly.
    solutions : list, optional
        When given, ``(name, Solution)`` of every combination is appended to it.
    progress : callable, optional
        ``progress(epochs_done, combinations x epochs)`` (:mod:`satnav.progress`).

    Returns
    -------
    list of ServiceRow
    """
    from ..estimators.spp import solve_spp

    truth = np.asarray(truth_ecef, dtype=np.float64)
    if truth.ndim == 2 and len(truth) > 1:
        if truth_times_ns is None:
            raise SatnavError("a moving truth needs its epochs")
        idx = np.searchsorted(truth_times_ns, obs.epochs)
        idx = np.clip(idx, 0, len(truth_times_ns) - 1)
        if np.any(np.asarray(truth_times_ns)[idx] != obs.epochs):
            raise SatnavError("truth trajectory epochs do not match the observation epochs")
        truth = truth[idx]
    else:
        truth = np.broadcast_to(truth.reshape(3), (len(obs.epochs), 3))
    rows = []
    combinations = list(combinations or default_combinations(systems))
    m = len(obs.epochs)
    counter = ProgressCounter(progress, m * len(combinations))
    for k, (name, letters) in enumerate(combinations):
        sol = solve_spp(obs, nav, systems=letters, elevation_mask_deg=mask_deg,
                        progress=lambda done, _, k=k: counter.update(k * m + done))
        rows.append(_service_row(name, letters, sol, truth, pdop_limit))
        if solutions is not None:
            solutions.append((name, sol))
    counter.finish()
    return rows


def evaluate_directory(directory, *, combinations=None, pdop_limit: float = PDOP_LIMIT, progress=None):
    """Evaluate a directory written by :meth:`Simulation.write` (``simulation.json``);
    ``progress`` as for :func:`evaluate`."""
    from ..io.rinex_nav import read_rinex_nav
    from ..io.rinex_obs import read_rinex_obs
    from .simulate import read_trajectory_csv

    d = Path(directory)
    manifest_path = d / "simulation.json"
    if not manifest_path.exists():
        raise SatnavError(f"{d}: not a simulation directory (no simulation.json; run `satnav sim` first)")
    try:
        manifest = json.loads(manifest_path.read_text())
        obs_path = d / manifest["observation"]
        nav_paths = [d / p for p in manifest["navigation"]]
        truth_path = d / manifest["truth"]
        systems = dict(manifest["systems"])
    except (ValueError, KeyError, TypeError) as exc:
        raise SatnavError(f"{manifest_path}: damaged simulation manifest ({exc})") from None
    obs = read_rinex_obs(obs_path)
    nav = read_rinex_nav(*nav_paths)
    t, ecef = read_trajectory_csv(truth_path)
    return evaluate(
        obs, nav, ecef, systems, combinations=combinations, mask_deg=float(manifest.get("mask_deg", 10.0)),
        pdop_limit=pdop_limit, truth_times_ns=t, progress=progress,
    )  # fmt: skip


_COLUMNS = (
    ("Constellations", "name", "{}"),
    ("Sys", "systems", "{}"),
    ("Avail %", "availability_pct", "{:.1f}"),
    ("Sats", "mean_sats", "{:.1f}"),
    ("PDOP med", "pdop_median", "{:.2f}"),
    ("H RMS m", "h_rms_m", "{:.2f}"),
    ("H 95% m", "h_95_m", "{:.2f}"),
    ("V RMS m", "v_rms_m", "{:.2f}"),
    ("V 95% m", "v_95_m", "{:.2f}"),
)


def _cells(row: ServiceRow) -> list[str]:
    out = []
    for _, attr, fmt in _COLUMNS:
        v = getattr(row, attr)
        out.append("-" if isinstance(v, float) and not np.isfinite(v) else fmt.format(v))
    return out


def format_table(rows, *, title: str = "Service per constellation combination", rich: bool | None = None) -> str:
    """The service table as text: rich's table when installed (``rich=None``), else plain."""
    if rich is not False:
        try:
            from rich.console import Console
            from rich.table import Table
        except ImportError:
            if rich:
                raise
        else:
            table = Table(title=title)
            for head, attr, _ in _COLUMNS:
                table.add_column(head, justify="left" if attr in ("name", "systems") else "right")
            for r in rows:
                table.add_row(*_cells(r))
            console = Console(width=120, record=True, file=io.StringIO())
            console.print(table)
            return console.export_text().rstrip()
    heads = [c[0] for c in _COLUMNS]
    cells = [_cells(r) for r in rows]
    widths = [max(len(h), *(len(c[i]) for c in cells)) if cells else len(h) for i, h in enumerate(heads)]

    def line(items):
        return "  ".join(
            (s.ljust(w) if i < 2 else s.rjust(w)) for i, (s, w) in enumerate(zip(items, widths))
        ).rstrip()

    out = [title, line(heads), line(["-" * w for w in widths])]
    out += [line(c) for c in cells]
    return "\n".join(out)
