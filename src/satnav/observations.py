"""The observation data model shared by every observation source.

An :class:`Observations` is a columnar table with one row per (epoch, satellite,
signal): ``time`` (int64 ns GPST), ``sat`` (satellite index, see
:mod:`satnav.satellites`), ``code`` (index into :attr:`Observations.codes`, RINEX 3
codes such as ``"C1C"``, ``"L1C"``, ``"D1C"``, ``"S1C"``), ``value`` (float64, units of
the code: m for pseudorange, cycles for phase, Hz for Doppler, dB-Hz for C/N0), ``lli``
and ``ssi`` (int8, 0 when blank). Rows are sorted by time, then satellite, then code.

Optionally ``sigma`` (float64, same units as ``value``, NaN where unknown): the 1-sigma
uncertainty the *receiver itself* reported for each value. RINEX has no field for it, so
it is None for RINEX input; the Android readers fill it from the phone's
``ReceivedSvTimeUncertaintyNanos`` / ``RawPseudorangeUncertaintyMeters`` (pseudorange),
``PseudorangeRateUncertaintyMetersPerSecond`` (Doppler) and
``AccumulatedDeltaRangeUncertaintyMeters`` (phase). Estimators may use it for weighting
(:func:`satnav.estimators.spp.solve_spp` ``weights="reported"``); writers ignore it.

Views give dense ``epochs x satellites`` arrays for one code (:meth:`dense`), which is what
estimators consume, and georinex's xarray layout (:meth:`to_xarray`).

An :class:`Observations` is treated as immutable once constructed: derived indexes (the
row -> epoch index of :meth:`Observations.epoch_index`) are computed on first use and
cached. Make a new object (e.g. :meth:`Observations.select`) rather than changing ``time``
or ``epochs`` in place.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .gnss_time import ns_to_datetime64
from .satellites import MAX_SATELLITES, SYSTEMS, satellite_id, satellite_ids, system_number_of

__all__ = ["ObsHeader", "Event", "Observations"]


@dataclass
class ObsHeader:
    """Header of an observation file (RINEX or equivalent). Positions in ECEF m."""

    version: float = 3.05
    file_type: str = "O"
    system: str = "M"  # RINEX satellite system letter of the file (G/R/E/C/J/I/S/M)
    program: str = ""
    run_by: str = ""
    date: str = ""
    marker_name: str = ""
    marker_number: str = ""
    marker_type: str = ""
    observer: str = ""
    agency: str = ""
    receiver_number: str = ""
    receiver_type: str = ""
    receiver_version: str = ""
    antenna_number: str = ""
    antenna_type: str = ""
    approx_position_m: np.ndarray | None = None  # (3,) ECEF m or None
    antenna_delta_hen_m: np.ndarray | None = None  # (3,) height, east, north m
    #: observation codes per system letter, RINEX 3 codes, in file order
    obs_codes: dict[str, list[str]] = field(default_factory=dict)
    #: RINEX 2 codes as written in the file (RINEX 2 only), in file order
    obs_codes_v2: list[str] = field(default_factory=list)
    signal_strength_unit: str = ""
    interval_s: float | None = None
    time_of_first_obs_ns: int | None = None  # GPST ns
    time_of_last_obs_ns: int | None = None
    time_system: str = "GPS"  # time system of the epochs in the file
    receiver_clock_offset_applied: bool = False
    leap_seconds: int | None = None
    #: GLONASS frequency channel numbers, "R01" -> k
    glonass_slots: dict[str, int] = field(default_factory=dict)
    #: GLONASS code-phase biases (m), "C1C" -> bias
    glonass_code_phase_bias: dict[str, float] = field(default_factory=dict)
    #: phase shifts: list of (system, code, correction cycles, [satellite ids])
    phase_shifts: list[tuple[str, str, float, list[str]]] = field(default_factory=list)
    comments: list[str] = field(default_factory=list)
    #: any other header records kept verbatim: list of (label, 60-column content)
    other_records: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class Event:
    """A special event record (epoch flags 2-6) in an observation file.

    ``flag``: 2 start moving antenna, 3 new site occupation, 4 header information
    follows, 5 external event, 6 cycle-slip records follow. ``records`` are the raw lines
    that followed the event line, ``line`` its 1-based line number in the file.
    """

    time: int | None  # GPST ns, or None when the event line has no epoch
    flag: int
    line: int
    records: list[str] = field(default_factory=list)


class Observations:
    """Columnar observations (see module docstring).

    Attributes
    ----------
    time : ndarray int64 (n,)
        Epoch of each row, GPST ns (receiver time tags as written in the file).
    sat : ndarray int16 (n,)
        Satellite index of each row.
    code : ndarray int16 (n,)
        Index into :attr:`codes` of each row.
    value, lli, ssi : ndarray (n,)
        float64 value; int8 loss-of-lock indicator and signal strength (0 when blank).
    codes : list[str]
        RINEX 3 observation codes referenced by :attr:`code`.
    epochs : ndarray int64 (m,)
        The observation epochs (flag 0 or 1) in time order (the RINEX reader sorts out-of-order epochs, with a warning), GPST ns. An epoch with no
        satellites is still an epoch.
    epoch_flags : ndarray int8 (m,)
        Epoch flag (0 OK, 1 power failure since previous epoch).
    receiver_clock_offset_s : ndarray float64 (m,)
        Receiver clock offset written with the epoch (NaN when absent).
    events : list[Event]
        Special event records (flags 2-6).
    epoch_lines : ndarray int64 (m,) or None
        1-based line number of each epoch's record in the source text (RINEX: the
        Hatanaka-expanded text; same numbering as :attr:`Event.line`), or None when the source
        has no lines. Places events without a time among the epochs when writing.
    header : ObsHeader
    source : str
        Where the data came from (file path).
    sigma : ndarray float64 (n,) or None
        Receiver-reported 1-sigma uncertainty of each value (units of the code; NaN where
        not reported), or None when the source reports none (RINEX).

    Treated as immutable after construction (module docstring): :meth:`epoch_index` is
    cached.
    """

    def __init__(
        self,
        time,
        sat,
        code,
        value,
        lli,
        ssi,
        codes,
        epochs,
        epoch_flags=None,
        receiver_clock_offset_s=None,
        events=None,
        header=None,
        source="",
        epoch_lines=None,
        sigma=None,
    ):
        self.time = np.asarray(time, dtype=np.int64)
        self.sat = np.asarray(sat, dtype=np.int16)
        self.code = np.asarray(code, dtype=np.int16)
        self.value = np.asarray(value, dtype=np.float64)
        self.lli = np.asarray(lli, dtype=np.int8)
        self.ssi = np.asarray(ssi, dtype=np.int8)
        self.codes = list(codes)
        self.epochs = np.asarray(epochs, dtype=np.int64)
        m = len(self.epochs)
        self.epoch_flags = (
            np.zeros(m, np.int8) if epoch_flags is None else np.asarray(epoch_flags, dtype=np.int8)
        )
        self.receiver_clock_offset_s = (
            np.full(m, np.nan)
            if receiver_clock_offset_s is None
            else np.asarray(receiver_clock_offset_s, dtype=np.float64)
        )
        self.events = list(events or [])
        self.header = header if header is not None else ObsHeader()
        self.source = str(source)
        self.epoch_lines = None if epoch_lines is None else np.asarray(epoch_lines, dtype=np.int64)
        if self.epoch_lines is not None and self.epoch_lines.shape != (m,):
            raise ValueError(
                f"epoch_lines has {self.epoch_lines.size} entries for {m} epochs, expected one per epoch"
            )
        self.sigma = None if sigma is None else np.asarray(sigma, dtype=np.float64)
        if self.sigma is not None and self.sigma.shape != self.value.shape:
            raise ValueError(
                f"sigma has {self.sigma.size} values for {self.value.size} rows, expected one per row"
            )
        self._epoch_index: np.ndarray | None = None
        self._rows_by_code: list | None = None

    # ------------------------------------------------------------------ basic views
    def __len__(self) -> int:
        return len(self.value)

    def __repr__(self) -> str:
        return (
            f"<Observations {self.source or ''} {len(self.epochs)} epochs, "
            f"{len(self.satellites)} satellites, {len(self.codes)} codes, {len(self)} values>"
        )

    @property
    def satellite_indices(self) -> np.ndarray:
        """Sorted unique satellite indices present (int16)."""
        return np.unique(self.sat)

    @property
    def satellites(self) -> list[str]:
        """Sorted satellite ids present, e.g. ``["C19", "E11", "G05", "R21"]``."""
        return sorted(satellite_ids(self.satellite_indices).tolist())

    def codes_by_system(self) -> dict[str, list[str]]:
        """Observation codes that carry at least one value, per system letter (letters and
        codes sorted; one ``bincount`` over the rows)."""
        if not len(self):
            return {}
        n_codes = max(len(self.codes), 1)
        key = system_number_of(self.sat).astype(np.int64) * n_codes + self.code
        counts = np.bincount(key, minlength=len(SYSTEMS) * n_codes).reshape(-1, n_codes)
        out = {s: sorted(self.codes[c] for c in np.flatnonzero(counts[i]).tolist())
               for i, s in enumerate(SYSTEMS) if counts[i].any()}
        return dict(sorted(out.items()))

    def code_index(self, code: str) -> int:
        """Index of ``code`` in :attr:`codes` (raises ``KeyError`` naming the codes present)."""
        try:
            return self.codes.index(code)
        except ValueError:
            raise KeyError(f"observation code {code!r} not present; have {', '.join(self.codes)}") from None

    def epoch_index(self) -> np.ndarray:
        """Row -> index into :attr:`epochs` (int64, read-only), computed once and cached.

        Rows come grouped by epoch (~600 rows share each time in a 30 s multi-GNSS file), so
        the epochs are searched once per run of equal row times rather than once per row.
        """
        if self._epoch_index is None:
            index = _row_epoch_index(self.epochs, self.time)
            index.flags.writeable = False
            self._epoch_index = index
        return self._epoch_index

    def rows_of_code(self, code: str) -> np.ndarray:
        """Row indices (ascending) holding ``code``; empty when the code is absent. The rows
        are grouped by code once (one stable sort) and cached."""
        if self._rows_by_code is None:
            order = np.argsort(self.code, kind="stable")
            bounds = np.searchsorted(self.code[order], np.arange(len(self.codes) + 1))
            groups = [order[bounds[i]:bounds[i + 1]] for i in range(len(self.codes))]
            for g in groups:
                g.flags.writeable = False
            self._rows_by_code = groups
        try:
            return self._rows_by_code[self.codes.index(code)]
        except ValueError:
            return np.zeros(0, dtype=np.intp)

    def dense(self, code: str, satellites=None, what: str = "value"):
        """``epochs x satellites`` array of one code.

        Parameters
        ----------
        code : str
            RINEX 3 code, e.g. ``"C1C"``.
        satellites : sequence of int, optional
            Satellite indices for the columns (default: :attr:`satellite_indices`).
        what : {"value", "lli", "ssi", "sigma"}
            Which column to spread out (``sigma``: all NaN when the source reports none).

        Returns
        -------
        ndarray (m, k)
            float64 with NaN where absent for ``value`` and ``sigma``; int8 with -1 where
            absent otherwise.
        """
        sats = self.satellite_indices if satellites is None else np.asarray(satellites, dtype=np.int16)
        self.code_index(code)  # KeyError naming the codes present
        rows = self.rows_of_code(code)
        col = np.full(MAX_SATELLITES, -1, dtype=np.int64)
        col[sats] = np.arange(len(sats))
        c = col[self.sat[rows]]
        keep = c >= 0
        rows = rows[keep]
        e = self.epoch_index()[rows]
        if what == "sigma" and self.sigma is None:
            return np.full((len(self.epochs), len(sats)), np.nan)
        data = getattr(self, what)[rows]
        if what in ("value", "sigma"):
            out = np.full((len(self.epochs), len(sats)), np.nan)
        else:
            out = np.full((len(self.epochs), len(sats)), -1, dtype=np.int8)
        out[e, c[keep]] = data
        return out

    def select(self, rows) -> Observations:
        """New :class:`Observations` with only the given rows (mask or indices); same epochs."""
        return Observations(
            self.time[rows], self.sat[rows], self.code[rows], self.value[rows], self.lli[rows],
            self.ssi[rows], self.codes, self.epochs, self.epoch_flags, self.receiver_clock_offset_s,
            self.events, self.header, self.source, epoch_lines=self.epoch_lines,
            sigma=None if self.sigma is None else self.sigma[rows],
        )

    def epoch_slice(self, start: int, stop: int) -> Observations:
        """New :class:`Observations` holding epochs ``start:stop`` (indices into
        :attr:`epochs`) and their rows, with the same header, codes and source. This is how
        a file is fed to a per-epoch engine (``stop = start + 1``) or solved in time chunks.
        Events are kept only on the slice that holds the first epoch (``start == 0``)."""
        m = len(self.epochs)
        start, stop, _ = slice(start, stop).indices(m)
        stop = max(stop, start)
        index = self.epoch_index()
        if _is_sorted(index):
            lo, hi = np.searchsorted(index, [start, stop])
            rows = slice(int(lo), int(hi))
        else:
            rows = np.flatnonzero((index >= start) & (index < stop))
        return Observations(
            self.time[rows], self.sat[rows], self.code[rows], self.value[rows], self.lli[rows],
            self.ssi[rows], self.codes, self.epochs[start:stop], self.epoch_flags[start:stop],
            self.receiver_clock_offset_s[start:stop], self.events if start == 0 else None,
            self.header, self.source,
            epoch_lines=None if self.epoch_lines is None else self.epoch_lines[start:stop],
            sigma=None if self.sigma is None else self.sigma[rows],
        )

    def iter_epochs(self, chunk: int = 1):
        """Yield consecutive :meth:`epoch_slice` pieces of ``chunk`` epochs each (the last one
        may be shorter): ``for epoch in obs.iter_epochs(): engine.process(epoch)``."""
        if chunk < 1:
            raise ValueError(f"chunk must be at least one epoch, got {chunk}")
        for start in range(0, len(self.epochs), chunk):
            yield self.epoch_slice(start, start + chunk)

    # ------------------------------------------------------------------ interop
    def to_pandas(self):
        """Long table: one row per value, columns time (datetime64 GPST), sv, code, value, lli, ssi."""
        import pandas as pd

        return pd.DataFrame(
            {
                "time": ns_to_datetime64(self.time),
                "sv": satellite_ids(self.sat),
                "code": np.asarray(self.codes, dtype=object)[self.code] if self.codes else [],
                "value": self.value,
                "lli": self.lli,
                "ssi": self.ssi,
            }
        )

    def to_xarray(self):
        """xarray Dataset in georinex's layout: dims ``time`` and ``sv``, one variable per code
        (NaN where absent), plus ``<code>lli`` and ``<code>ssi`` for phase/code where present;
        attributes ``version``, ``rinextype``, ``position`` and ``interval`` as georinex sets them."""
        import xarray as xr

        sats = self.satellite_indices
        order = np.argsort(satellite_ids(sats))
        sats = sats[order]
        coords = {"time": ns_to_datetime64(self.epochs), "sv": satellite_ids(sats)}
        data_vars = {}
        for code in self.codes:
            ci = self.codes.index(code)
            if not np.any(self.code == ci):
                continue
            data_vars[code] = (("time", "sv"), self.dense(code, sats))
            if code[0] in "LC":
                lli = self.dense(code, sats, "lli").astype(float)
                ssi = self.dense(code, sats, "ssi").astype(float)
                lli[lli < 0] = np.nan
                ssi[ssi < 0] = np.nan
                if code[0] == "L" and np.any(lli > 0):
                    data_vars[code + "lli"] = (("time", "sv"), lli)
                if np.any(ssi > 0):
                    data_vars[code + "ssi"] = (("time", "sv"), ssi)
        h = self.header
        attrs = {
            "version": h.version,
            "rinextype": "obs",
            "fast_processing": 0,
            "time_system": h.time_system,
        }
        if h.approx_position_m is not None:
            attrs["position"] = [float(v) for v in h.approx_position_m]
        if h.interval_s:
            attrs["interval"] = float(h.interval_s)
        if self.source:
            attrs["filename"] = self.source.rsplit("/", 1)[-1]
        return xr.Dataset(data_vars, coords=coords, attrs=attrs)

    def interval_s(self) -> float | None:
        """Nominal epoch interval (s): the header's, else the most common epoch spacing."""
        return nominal_interval_s(self.header.interval_s, self.epochs)

    def satellite_id(self, index: int) -> str:
        return satellite_id(index)


def _row_epoch_index(epochs: np.ndarray, time: np.ndarray) -> np.ndarray:
    """Index into ``epochs`` of every row time: one binary search per run of equal times."""
    if not _is_sorted(epochs):
        return _lookup(epochs, time)
    if len(time) == 0:
        return np.searchsorted(epochs, time)
    starts = np.flatnonzero(np.concatenate(([True], time[1:] != time[:-1])))
    lengths = np.diff(np.append(starts, len(time)))
    return np.repeat(np.searchsorted(epochs, time[starts]), lengths)


def _is_sorted(a: np.ndarray) -> bool:
    return bool(len(a) < 2 or np.all(a[1:] >= a[:-1]))


def _lookup(keys: np.ndarray, values: np.ndarray) -> np.ndarray:
    order = np.argsort(keys, kind="stable")
    pos = np.searchsorted(keys[order], values)
    return order[np.minimum(pos, len(keys) - 1)]


def nominal_interval_s(header_interval_s: float | None, epochs: np.ndarray) -> float | None:
    """Nominal epoch interval (s) of epochs (GPST ns, in time order): the header's interval
    when it gives one, else the most common positive spacing of the epochs (None: fewer
    than two epochs)."""
    if header_interval_s:
        return float(header_interval_s)
    if len(epochs) < 2:
        return None
    d = np.diff(epochs)
    d = d[d > 0]
    if not len(d):
        return None
    vals, counts = np.unique(d, return_counts=True)
    return float(vals[np.argmax(counts)]) / 1e9
