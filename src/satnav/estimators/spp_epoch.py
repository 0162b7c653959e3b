"""The measurements of one epoch packed for single point positioning: :func:`build_epoch_problem`.

:func:`satnav.estimators.spp._build_problem` for observations holding one epoch (every
epoch of the live engine, a batch time chunk of one epoch): the same problem, every array
equal (tests/estimators/test_spp_epoch.py), in a fixed, small number of NumPy calls.

What a signal plan, the observations' code list, the GLONASS channels and the navigation
data decide is kept on the plan, in an :class:`EpochLayout` (a stream repeats them epoch
after epoch): the measurement columns (one per satellite and band of the plan) with their
constants (:func:`satnav.estimators.spp._cached_column_layout`), kept per GLONASS channels
and navigation data, and, per code list, where each column's codes, in the plan's order of
preference, sit in a ``(codes, satellites)`` table of the epoch's values (a signal that
appears or goes costs only this part, ~25 us, when the plan stays: see
:meth:`satnav.estimators.spp._SppCore.signal_plan`). An epoch is then one scatter of its rows into that table, one gather of
every column's candidate cells (pseudorange, second code of the iono-free combination,
Doppler, C/N0), the first present code of each column (:meth:`_DenseReader.filled
<satnav.estimators.spp._DenseReader.filled>`'s choice), and the packing shared with the
batch path (:func:`satnav.estimators.spp._pack`).
"""

from __future__ import annotations

import numpy as np

from ..satellites import MAX_SATELLITES
from . import spp

__all__ = ["EpochLayout", "build_epoch_problem", "build_problem"]


def build_problem(obs, nav, opts, states_fn, plan, *, ephemeris=None, channels=None):
    """:func:`satnav.estimators.spp._build_problem` of any observations: those holding one
    epoch by :func:`build_epoch_problem`, others by the dense path (the per-epoch engine's
    ``build_problem``)."""
    if len(obs.epochs) == 1:
        return build_epoch_problem(obs, nav, opts, states_fn, plan, ephemeris=ephemeris, channels=channels)
    return spp._build_dense_problem(obs, nav, opts, states_fn, plan, ephemeris=ephemeris, channels=channels)


class EpochLayout:
    """The measurement columns of a signal plan for one list of observation codes: their
    constants (``fields``, set on every problem), the column blocks as the states call reads
    them (``columns``: system, satellites, signals), and the cells of their candidate codes
    in the epoch's table of values.

    Attributes
    ----------
    code_cell, sat_cell : ndarray intp
        Offset of each observation code's row and each satellite index's column in the flat
        table (a row's cell is their sum); codes no column reads share a row, satellites
        outside the plan a column, that no column gathers.
    size : int
        Cells of the table.
    gather : ndarray intp (Q, K * n)
        Cells of the ``Q`` candidate codes (in the plan's order of preference) of the ``K``
        kinds of the ``n`` columns (pseudorange, Doppler, C/N0 and, for ``iono-free``, the
        second code); a row never written (NaN) for a code not observed.
    picks : ndarray intp (K * n,) or None
        ``arange(K * n)`` (None when ``Q`` is 1: no choice to make).
    systems, primary_system : list, ndarray intp (n,)
        The systems of the columns and the index of each first-band column's (the others:
        ``len(systems)``).
    sigma_wanted, last : ndarray (n,) or None
        ``weights="reported"``: the columns with reported sigmas (not an iono-free
        combination) and the index of their last candidate code (the sigma kept where no
        code has a value, as :meth:`_DenseReader.filled_sigma`).
    """

    __slots__ = ("columns", "fields", "n", "code_cell", "sat_cell", "size", "gather", "picks", "c1", "c2",
                 "primary_system", "systems", "last", "sigma_wanted", "nav")


def build_epoch_problem(obs, nav, opts, states_fn, plan, *, ephemeris=None, channels=None):
    """:func:`satnav.estimators.spp._build_problem` of observations holding one epoch (the
    same arguments; the same problem)."""
    lay = epoch_layout(obs, nav, opts, plan, channels)
    if lay is None:
        return None
    n = lay.n
    # the epoch's values in a (codes, satellites) table; the last row of a cell wins, as
    # in the dense reader
    cell = lay.code_cell[obs.code] + lay.sat_cell[obs.sat]
    table = np.full(lay.size, np.nan)
    table[cell] = obs.value
    candidates = table[lay.gather]
    if lay.picks is None:
        first = None
        values = candidates[0]
    else:  # the first code with a value (none: the first, NaN)
        first = np.isnan(candidates).argmin(axis=0)
        values = candidates[first, lay.picks]
    values = values.reshape(-1, n)
    pb = spp._Problem()
    pb.epochs = np.asarray(obs.epochs, dtype=np.int64)
    pb.m = 1
    pb.signals = dict(plan.signals)
    pb.__dict__.update(lay.fields)
    c1, c2 = lay.c1, lay.c2
    if opts.iono == "iono-free":
        pseudorange = c1 * values[0:1] + c2 * values[3:4]
    else:
        pseudorange = values[0:1]
    have = (pseudorange > 1.0e6) & (pseudorange < 1.0e8)  # (False for NaN)
    ci = np.flatnonzero(have[0])
    ei = np.zeros(len(ci), dtype=np.intp)
    pb.n_observed = np.array([len(ci)], dtype=np.int64)
    # plausible observations per system of the first-band columns (navigation check)
    counts = np.bincount(lay.primary_system[ci], minlength=len(lay.systems) + 1).tolist()
    pb.observed_by_system = {s: k for s, k in zip(lay.systems, counts) if k}
    states = spp._transmission_states(nav, states_fn, opts.iono, lay.columns, pb.col_set, pb.col_sats,
                                      pb.epochs[ei], ci, pseudorange[0, ci], c1, c2, ephemeris)
    valid = states["valid"]
    ci = ci[valid]
    pb.n_with_ephemeris = np.array([len(ci)], dtype=np.int64)
    measured = {"doppler": values[1:2], "cn0": values[2:3], "sigma": None}
    if lay.sigma_wanted is not None and obs.sigma is not None:
        measured["sigma"] = _reported_sigma(obs, lay, cell, candidates, first)
    spp._pack(pb, nav, opts, measured, ei[:len(ci)], ci, pseudorange, states, valid)
    return pb


def _reported_sigma(obs, lay, cell, candidates, first):
    """(1, n) reported sigmas of the pseudoranges picked (NaN for the columns without)."""
    n = lay.n
    table = np.full(lay.size, np.nan)
    table[cell] = obs.sigma
    sigmas = table[lay.gather[:, :n]]
    if first is None:
        out = sigmas[0]
    else:  # the code picked; where no code has a value the last one's (filled_sigma's loop)
        pick = np.where(np.isnan(candidates[:, :n]).all(axis=0), lay.last, first[:n])
        out = sigmas[pick, lay.picks[:n]]
    return np.where(lay.sigma_wanted, out, np.nan)[None]


def epoch_layout(obs, nav, opts, plan, channels=None) -> EpochLayout | None:
    """The :class:`EpochLayout` of ``plan`` for the codes of ``obs``, kept on the plan per
    GLONASS channels and navigation data (its measurement columns, :class:`_PlanColumns`) and
    per code list (where the codes sit); None when the plan has no column."""
    glo = b""
    glo_k = None
    if "R" in plan.codes:
        sats = plan.sats_by_system["R"]
        if len(sats):
            glo_k = (channels or spp._glonass_channels)(obs, nav, sats)
            glo = glo_k.tobytes()
    key = (glo, id(nav))
    cache = plan.__dict__.setdefault("_epoch_columns", {})
    cols = cache.get(key)
    if cols is None or cols.nav is not nav:
        if len(cache) > 16:
            cache.clear()
        cols = cache[key] = _PlanColumns(nav, opts, plan, glo_k)
    if not cols.n:
        return None
    codes = tuple(obs.codes)
    lay = cols.layouts.get(codes)
    if lay is None:
        if len(cols.layouts) > 16:
            cols.layouts.clear()
        lay = cols.layouts[codes] = _new_layout(cols, codes, opts, plan)
    return lay


class _PlanColumns:
    """The measurement columns of a signal plan for some GLONASS channels and navigation
    data (what does not depend on the epoch's code list), and the :class:`EpochLayout` made
    from them per code list (``layouts``): an epoch whose codes change (a signal appears or
    goes) with the same plan takes only where its codes sit."""

    __slots__ = ("nav", "columns", "n", "fields", "c1", "c2", "sat_cell", "width", "block", "col_cell", "layouts")

    def __init__(self, nav, opts, plan, glo_k) -> None:
        self.nav = nav
        self.layouts: dict = {}
        # the columns as spp._measurement_columns makes them, without the epoch's values
        self.columns = columns = [col for col, _, _ in spp._column_frames(plan, lambda sats: glo_k)]
        self.n = 0
        if not columns:
            return
        pb = spp._Problem()
        spp._cached_column_layout(pb, columns, plan, nav)
        self.fields = {f: getattr(pb, f) for f in spp._LAYOUT_FIELDS}
        self.n = len(pb.col_sats)
        self.c1, self.c2 = spp._combination_coefficients(columns, opts.iono)
        # the table: a row of the plan's satellites (and one column for the others) per code
        # read, a row for the codes not read and a row never written (codes not observed)
        ns = len(pb.satellites)
        self.width = ns + 1
        self.sat_cell = np.full(MAX_SATELLITES, ns, dtype=np.intp)
        self.sat_cell[pb.satellites] = np.arange(ns)
        self.block, self.col_cell = pb.col_set, self.sat_cell[pb.col_sats]  # (each column's satellite's)


def _new_layout(cols: _PlanColumns, obs_codes: tuple, opts, plan) -> EpochLayout:
    lay = EpochLayout()
    lay.nav = cols.nav
    lay.columns, lay.n, lay.fields, lay.c1, lay.c2 = cols.columns, cols.n, cols.fields, cols.c1, cols.c2
    rows = _code_rows(obs_codes, {c["system"]: plan.codes[c["system"]] for c in cols.columns}, opts)
    width = cols.width
    lay.sat_cell = cols.sat_cell
    lay.code_cell = rows.code_row * width
    lay.size = (rows.n_rows + 2) * width
    block = cols.block
    lay.gather = (rows.block_rows[:, :, block] * width + cols.col_cell).reshape(len(rows.block_rows), -1)
    lay.picks = np.arange(lay.gather.shape[1]) if len(rows.block_rows) > 1 else None
    lay.systems = rows.systems
    lay.primary_system = rows.block_system[block]
    if rows.block_sigma is None:
        lay.sigma_wanted = lay.last = None
    else:
        lay.sigma_wanted, lay.last = rows.block_sigma[block], rows.block_last[block]
    return lay


class _CodeRows:
    """Where the codes of each block of measurement columns (one block per system and band
    of a plan) sit in an epoch's table, for one observation code list: what does not change
    with the satellites of the plan."""

    __slots__ = ("code_row", "n_rows", "block_rows", "systems", "block_system", "block_sigma", "block_last")


#: :class:`_CodeRows` by observation codes, the plan's codes per system and options.
_CODE_ROWS: dict = {}


def _code_rows(obs_codes, plan_codes: dict, opts) -> _CodeRows:
    iono_free = opts.iono == "iono-free"
    reported = opts.weights == "reported"
    key = (tuple(obs_codes), tuple((s, tuple(c1), tuple(c2), tuple(map(tuple, extra)))
                                   for s, (c1, c2, extra) in plan_codes.items()), iono_free, reported)
    out = _CODE_ROWS.get(key)
    if out is not None:
        return out
    # the candidate codes of each block: pseudorange, Doppler, C/N0, second code (iono-free);
    # whether it has reported sigmas (not an iono-free combination)
    blocks = []
    for s, (codes1, codes2, extra_bands) in plan_codes.items():
        for codes, second, band in [(codes1, codes2, "")] + [(c, (), c[0][1]) for c in extra_bands]:
            kinds = [codes, ["D" + c[1:] for c in codes], ["S" + c[1:] for c in codes]]
            if iono_free:
                kinds.append(second)
            blocks.append((s, band, kinds, reported and not second))
    index = {c: i for i, c in enumerate(obs_codes)}
    rows: dict = {}
    for _, _, kinds, _ in blocks:
        for codes in kinds:
            for c in codes:
                if c in index:
                    rows.setdefault(c, len(rows))
    out = _CodeRows()
    out.n_rows = n_rows = len(rows)
    out.code_row = np.full(len(obs_codes) + 1, n_rows, dtype=np.intp)  # (the row of codes not read)
    out.code_row[[index[c] for c in rows]] = list(rows.values())
    depth = max(len(codes) for _, _, kinds, _ in blocks for codes in kinds)
    out.block_rows = np.full((depth, len(blocks[0][2]), len(blocks)), n_rows + 1, dtype=np.intp)  # (never written)
    for j, (_, _, kinds, _) in enumerate(blocks):
        for kind, codes in enumerate(kinds):
            for q, c in enumerate(codes):
                if c in rows:
                    out.block_rows[q, kind, j] = rows[c]
    out.systems = list(dict.fromkeys(s for s, _, _, _ in blocks))
    out.block_system = np.array([out.systems.index(s) if band == "" else len(out.systems)
                                 for s, band, _, _ in blocks], dtype=np.intp)
    if reported:
        out.block_sigma = np.array([sigma for _, _, _, sigma in blocks])
        out.block_last = np.array([len(kinds[0]) - 1 for _, _, kinds, _ in blocks], dtype=np.intp)
    else:
        out.block_sigma = out.block_last = None
    if len(_CODE_ROWS) > 64:
        _CODE_ROWS.clear()
    _CODE_ROWS[key] = out
    return out
