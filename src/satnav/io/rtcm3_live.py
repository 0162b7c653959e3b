"""The live RTCM 3 epoch: a whole epoch of MSM4-7 messages decoded with a plan of its layout.

A receiver streams the same message layout epoch after epoch: the same messages, the same
satellite, signal and cell masks, hence the same bit position of every field and the same
rows of the epoch's :class:`~satnav.observations.Observations`. :class:`LiveEpochs` keeps,
per layout (message numbers, masks and frame offsets), an :class:`EpochPlan` made once: the
byte and bit position of every field of every cell, the cells' satellites, signals,
wavelengths and lock-time tables; per pattern of values present, the rows of the
observations and their codes (``satnav.io._raw_obs.row_order``); per station data, the
header. An epoch is then a fixed number of NumPy calls over all its cells (one gather of
the fields' bytes, the scalings, the rows taken), about 0.2 ms of CPU for three MSM7
messages of ~40 satellites with ~110 signal cells. The cells (fields, values, lock times)
are one loop, :func:`_cells_kernel`, when numba compiles it (:func:`use_compiled_rtcm_live`;
``satnav stream``'s feeds load it at their start): the same bits as the NumPy path
:func:`_cells_numpy`, ~0.1 ms less per epoch. A new layout (a satellite rises or sets, a
signal appears: every few epochs of a real stream) is made the same way: the masks read
with a few Python operations (:class:`MessagePlan`), then the arrays of all its cells in one
loop, :func:`_plan_kernel` (~50 us for three messages; NumPy, :meth:`MessagePlan.arrays`,
the reference: ~0.1-0.3 ms).

The result is the :class:`~satnav.io.stream_items.EpochItem` that
:class:`satnav.io.rtcm3.Rtcm3Decoder`'s general path (:func:`satnav.io.rtcm3_obs.decode_msm_message`,
``_decode_chunk``, :func:`satnav.io._raw_obs.observations_from_measurements`) gives for the
same bytes, value for value (tests/io/test_rtcm3_live.py), and the same decoder state after
it (time reference, lock times, GLONASS channels). Anything else -- frames of other
messages, MSM1-3, an epoch cut across reads or not closed by its last message, masks that do
not fit, unknown signals, a cell of one signal in two messages, an invalid time -- is left
to the general path (:meth:`LiveEpochs.decode` returns None).

Epochs of one layout and station data share one :class:`~satnav.observations.ObsHeader`
(observations and their headers are read-only).

Sources: RTCM 10403.3 (2016) 3.5.16 (the MSM layout, as :mod:`satnav.io.rtcm3_obs`).
"""

from __future__ import annotations

import numpy as np

from ..constants import SPEED_OF_LIGHT
from ..gnss_time import _LEAP_GPST_NS, _LEAP_VALUES
from ..observations import Observations
from ..satellites import SATELLITES_PER_SYSTEM, SYSTEMS
from ..signals import SIGNALS
from ._raw_obs import _code_plan, row_order
from .rtcm3_obs import (
    _DF402_MS,
    _DF407_MS,
    _FINE_SCALE,
    _MSM_HEADER_BITS,
    _SAT_FIELDS,
    _SIG_FIELDS,
    _SIGNAL_TABLE,
    _WAVELENGTH,
    MSM_TYPES,
    SIGNAL_LIST,
    _mask_positions,
    wavelengths,
)
from .stream_items import EpochItem

__all__ = ["LiveEpochs", "EpochPlan", "MessagePlan", "resolve_time_ms", "use_compiled_rtcm_live"]

RANGE_MS = SPEED_OF_LIGHT * 1e-3
_W_MS = 604_800_000
_D_MS = 86_400_000
_GLO = SYSTEMS.index("R")
_BDS = SYSTEMS.index("C")
#: Columns of a cell's fields (its satellite's, then its own); absent fields read zero bytes.
_COLUMNS = ("rough_ms", "rough_mod", "ext", "rate", "fine_pr", "fine_cp", "lock", "half", "cnr", "fine_rate")
_SIGNED_COLUMNS = np.array([c in ("rate", "fine_pr", "fine_cp", "fine_rate") for c in _COLUMNS])
#: DF402 then DF407 lock-time tables (ms): MSM4/5 indicators at 0, MSM6/7 at 16.
_LOCK_MS = np.concatenate((_DF402_MS, _DF407_MS))
_SPAN = np.arange(5, dtype=np.int64)
_WEIGHTS = np.array([1 << 32, 1 << 24, 1 << 16, 1 << 8, 1], dtype=np.int64)
#: Zero bytes around an epoch's data (absent fields read the first; 5-byte reads of the last
#: fields end in the last).
_PAD = bytes(16)
#: Plans kept at most (layouts change when satellites rise and set: a few per hour).
MAX_PLANS = 64
#: The compiled :func:`_cells_kernel`, :func:`_rows_kernel` and :func:`_plan_kernel` in use (None or
#: False: NumPy) and as loaded (None: not tried).
_KERNELS = None
_LOADED = None


def resolve_time_ms(systems: list[int], time_ms: list[int], ref_ns: int) -> list[int] | None:
    """GPST ns of the observation messages of one read, as :func:`satnav.io.rtcm3.resolve_times`
    gives them (week of the first GPS-like message nearest ``ref_ns``, unwrapped in stream
    order; GLONASS days near the previous GPS-like message), on Python integers; None when a
    time field is invalid."""
    n = len(systems)
    out = [0] * n
    ref_ms = ref_ns // 1_000_000
    g = [k for k in range(n) if systems[k] != _GLO]
    for k in range(n):
        if time_ms[k] >= (_D_MS if systems[k] == _GLO else _W_MS):
            return None
    if g:
        cont = _unwrapped([(time_ms[k] + 14_000) % _W_MS if systems[k] == _BDS else time_ms[k] for k in g], _W_MS)
        week0 = round((ref_ms - cont[0]) / _W_MS)
        for k, c in zip(g, cont):
            out[k] = (c + week0 * _W_MS) * 1_000_000
    r = [k for k in range(n) if systems[k] == _GLO]
    if r:
        from ..gnss_time import leap_seconds_at_gpst

        leap_ms = int(leap_seconds_at_gpst(ref_ns)) * 1000
        tods = [(time_ms[k] - 3 * 3_600_000 + leap_ms) % _D_MS for k in r]
        if g:
            for k, tod in zip(r, tods):
                before = [j for j in g if j < k]
                refs = out[before[-1] if before else g[0]] // 1_000_000
                out[k] = (tod + _D_MS * round((refs - tod) / _D_MS)) * 1_000_000
        else:
            cont = _unwrapped(tods, _D_MS)
            day0 = round((ref_ms - cont[0]) / _D_MS)
            for k, c in zip(r, cont):
                out[k] = (c + day0 * _D_MS) * 1_000_000
    return out


def epoch_time(systems: list[int], time_ms: list[int], ref_ns: int) -> int | None:
    """The GPST ns of an epoch's observation messages (:func:`resolve_time_ms`), None when a
    time field is invalid or they are not all the same time. Without GLONASS: the times of
    week (BeiDou's moved to GPS's) must be equal, and the first is placed in the week nearest
    ``ref_ns``, as :func:`resolve_time_ms` does (a few Python operations)."""
    if _GLO in systems:
        resolved = resolve_time_ms(systems, time_ms, ref_ns)
        if resolved is None or any(t != resolved[0] for t in resolved):
            return None
        return resolved[0]
    if max(time_ms) >= _W_MS:
        return None
    tow = [(t + 14_000) % _W_MS if s == _BDS else t for s, t in zip(systems, time_ms)]
    if tow.count(tow[0]) != len(tow):
        return None
    return (tow[0] + round((ref_ns // 1_000_000 - tow[0]) / _W_MS) * _W_MS) * 1_000_000


def _unwrapped(times_ms: list[int], period_ms: int) -> list[int]:
    """Times of week (or of day) ``times_ms`` made continuous in stream order: a step of more
    than half a ``period_ms`` backwards (forwards) is a rollover into the next (previous)
    period."""
    cont, shift, prev = [], 0, None
    for t in times_ms:
        if prev is not None:
            d = t - prev
            shift += 1 if d < -period_ms // 2 else -1 if d > period_ms // 2 else 0
        prev = t
        cont.append(t + period_ms * shift)
    return cont


def _msm_layout(msm: int) -> dict:
    """Per MSM type: where each column's field sits (satellite or signal data), widths, masks,
    sign bits and the constants of its cells (pre-computed rows, tiled per message)."""
    ncol = len(_COLUMNS)
    width = np.ones(ncol, np.int64)
    out = {"sat_cols": [], "sat_w": [], "sat_cum": [], "sig_cols": [], "sig_w": [], "sig_cum": []}
    for kind, fields in (("sat", _SAT_FIELDS[msm]), ("sig", _SIG_FIELDS[msm])):
        cum = 0
        for name, w in fields:  # each field of all satellites (cells), then the next field
            col = _COLUMNS.index(name)
            out[kind + "_cols"].append(col)
            out[kind + "_w"].append(w)
            out[kind + "_cum"].append(cum)
            width[col] = w
            cum += w
    for key in list(out):
        out[key] = np.array(out[key], np.int64)
    absent = np.ones(ncol, bool)
    absent[np.concatenate((out["sat_cols"], out["sig_cols"]))] = False
    out["sat_bits"], out["sig_bits"] = int(out["sat_w"].sum()), int(out["sig_w"].sum())
    out["width"] = width
    # a cell's bit position of each column: (1, cells in the mask, satellites, cells) @ terms,
    # + its satellite (in the message) x satellite field width + its index x signal field width
    terms = np.zeros((4, ncol), np.int64)
    for kind, cols in (("sat", out["sat_cols"]), ("sig", out["sig_cols"])):
        terms[0, cols], terms[1, cols] = _MSM_HEADER_BITS, 1
        terms[2, cols] = out["sat_cum"] if kind == "sat" else out["sat_bits"]
        terms[3, cols] = 0 if kind == "sat" else out["sig_cum"]
    out["terms"] = terms
    out["sat_step"], out["sig_step"] = np.zeros(ncol, np.int64), np.zeros(ncol, np.int64)
    out["sat_step"][out["sat_cols"]], out["sig_step"][out["sig_cols"]] = out["sat_w"], out["sig_w"]
    out["shift"] = 40 - width  # of a field's last bit in 40 bits read from its first byte
    fine = msm >= 6
    # integer constants: mask, sign bit (0: unsigned) of each column, priority, lock table offset,
    # has a rate; float ones: fine pseudorange and phase scales (m), C/N0 scale
    out["ints"] = np.concatenate((np.where(absent, 0, (np.int64(1) << width) - 1), np.where(_SIGNED_COLUMNS, np.int64(1) << (width - 1), 0),
                                  [2 if fine else 1, len(_DF402_MS) if fine else 0, int(msm in (5, 7))]))
    out["floats"] = np.array([*(np.array(_FINE_SCALE[msm]) * RANGE_MS), 2.0**-4 if fine else 1.0])
    return out


_LAYOUTS = {msm: _msm_layout(msm) for msm in (4, 5, 6, 7)}


#: :data:`_LAYOUTS` as arrays per MSM type (row: type - 4) for :func:`_plan_kernel`: the
#: bit position terms, (satellite, signal) steps and shifts, integer and float constants.
_PLAN_TERMS = np.stack([_LAYOUTS[m]["terms"] for m in (4, 5, 6, 7)])
_PLAN_STEPS = np.stack([np.stack((_LAYOUTS[m]["sat_step"], _LAYOUTS[m]["sig_step"], _LAYOUTS[m]["shift"]))
                        for m in (4, 5, 6, 7)])
_PLAN_INTS = np.stack([_LAYOUTS[m]["ints"] for m in (4, 5, 6, 7)])
_PLAN_FLOATS = np.stack([_LAYOUTS[m]["floats"] for m in (4, 5, 6, 7)])


def _plan_kernel(meta, sat_pos, sids, cell_k, terms, steps, ints, floats, wavelength_of, first, shift, mask,
                 sign_bit, priority, lock_offset, has_rate, sat, signal, group, fine_scale, cnr_scale, wavelength):
    """The arrays of an :class:`EpochPlan` (its attributes of the same names) as one loop over
    its messages' cells, for numba: what :meth:`MessagePlan.arrays` and
    ``EpochPlan._numpy_arrays`` make. ``meta``: per message (MSM type - 4, satellites,
    signals, cells, offset of its payload in the padded data, system * satellites per
    system + PRN of satellite position 0, message number); ``sat_pos``, ``sids``,
    ``cell_k``: the messages' satellite positions, signal of each signal position and cell
    positions, one message after the other; the tables :data:`_PLAN_TERMS` ... and the
    wavelength of each signal."""
    ncol = first.shape[1]
    i = 0
    sat_start = sig_start = cell_start = 0
    for m in range(meta.shape[0]):
        t, nsat, nsig, ncell, offset, base, mtype = meta[m]
        nmask = nsat * nsig
        for j in range(ncell):
            k = cell_k[cell_start + j]
            s = k // nsig
            sid = sids[sig_start + k % nsig]
            sv = base + sat_pos[sat_start + s]
            for c in range(ncol):
                pos = (terms[t, 0, c] + terms[t, 1, c] * nmask + terms[t, 2, c] * nsat + terms[t, 3, c] * ncell
                       + s * steps[t, 0, c] + j * steps[t, 1, c])
                first[i, c] = (pos >> 3) + offset
                shift[i, c] = steps[t, 2, c] - (pos & 7)
                mask[i, c] = ints[t, c]
                sign_bit[i, c] = ints[t, ncol + c]
            priority[i] = ints[t, 2 * ncol]
            lock_offset[i] = ints[t, 2 * ncol + 1]
            has_rate[i] = ints[t, 2 * ncol + 2] != 0
            sat[i] = sv
            signal[i] = sid
            group[i] = (mtype * 1000 + sv) * 64 + sid
            fine_scale[i, 0] = floats[t, 0]
            fine_scale[i, 1] = floats[t, 1]
            cnr_scale[i] = floats[t, 2]
            wavelength[i] = wavelength_of[sid]
            i += 1
        sat_start += nsat
        sig_start += nsig
        cell_start += ncell


class MessagePlan:
    """The cells of one MSM4-7 message layout (message number and masks): the positions of
    the satellites, signals and cells in its masks, the signal of each signal position, and
    ``ok`` False for a layout the general path decodes (no cells, unknown signals) -- a few
    Python operations. :class:`EpochPlan` makes the arrays of its cells from these, with the
    compiled :func:`_plan_kernel` or with NumPy (:meth:`arrays`)."""

    def __init__(self, mtype: int, sat_mask: int, sig_mask: int, cell_mask: int):
        self.ok = False
        self.mtype, self.sat_mask = mtype, sat_mask
        letter, self.msm = MSM_TYPES[mtype]
        self.system = sysnum = SYSTEMS.index(letter)
        self.sat_pos = _mask_positions(sat_mask, 64)
        self.sig_pos = _mask_positions(sig_mask, 32)
        nsig = len(self.sig_pos)
        self.nmask = len(self.sat_pos) * nsig
        self.cell_k = cells = _mask_positions(cell_mask, self.nmask)
        if not cells:
            return
        self.prn_offset = offset = 20 if letter == "S" else 1
        table = _SIGNAL_TABLE[sysnum]
        self.sids = [int(table[p + 1]) for p in self.sig_pos]
        # (cells in satellite order: the first and last cells' satellites bound the PRNs)
        if (self.sat_pos[cells[0] // nsig] + offset < 1 or self.sat_pos[cells[-1] // nsig] + offset > SIGNALS[letter].max_prn
                or min(self.sids[j] for j in {k % nsig for k in cells}) < 0):
            return  # unknown signals: counted by the general path
        self.ok = True

    def arrays(self):
        """(bytes of each cell's fields from the payload's first, cells x :data:`_COLUMNS` x 5
        (absent fields: the payload's first bytes, masked to zero); per cell one row of
        integers: shifts, masks, sign bits, the constants of its message type, satellite,
        signal, lock history; one of floats: scales, wavelength) with NumPy, all but the
        bytes per MSM type in :data:`_LAYOUTS`: the reference of :func:`_plan_kernel`."""
        sat_pos, sig_pos = np.array(self.sat_pos, np.int64), np.array(self.sig_pos, np.int64)
        nsat, nsig = len(sat_pos), len(sig_pos)
        cell_k = np.array(self.cell_k, np.int64)
        ncell = len(cell_k)
        s = cell_k // nsig  # the cell's satellite in the message
        sid = np.array(self.sids, np.int64)[cell_k % nsig]
        lay = _LAYOUTS[self.msm]
        ncol = len(_COLUMNS)
        pos = (np.array((1, self.nmask, nsat, ncell)) @ lay["terms"] + s[:, None] * lay["sat_step"]
               + np.arange(ncell)[:, None] * lay["sig_step"])
        index = (pos >> 3)[..., None] + _SPAN
        sat = self.system * SATELLITES_PER_SYSTEM + sat_pos[s] + self.prn_offset
        # per cell: shift of each column, the type's integer constants, satellite, signal, and
        # the lock history (rtcm3._lli: one per message number, satellite, signal)
        nconst = len(lay["ints"])
        ints = np.empty((ncell, ncol + nconst + 3), np.int64)
        np.subtract(lay["shift"], pos & 7, out=ints[:, :ncol])
        ints[:, ncol : ncol + nconst] = lay["ints"]
        ints[:, -3] = sat
        ints[:, -2] = sid
        ints[:, -1] = (self.mtype * 1000 + sat) * 64 + sid
        floats = np.empty((ncell, 4))
        floats[:, :3] = lay["floats"]
        floats[:, 3] = _WAVELENGTH[sid]
        return index, ints, floats


class EpochPlan:
    """What one epoch layout needs (module docstring): its messages' plans, side by side.

    ``messages``: (:class:`MessagePlan`, byte offset of the payload in the epoch's data) per
    message. ``ok`` False: a layout the general path decodes (a satellite of a system in two
    messages: a signal may come twice, which priorities decide; a system's satellites split
    over messages, as a receiver must when satellites x signals > 64, are decoded here)."""

    def __init__(self, messages, kernel=None):
        """``kernel``: the compiled :func:`_plan_kernel` to use (None: the one loaded by
        :func:`use_compiled_rtcm_live`, if any; False: NumPy, :meth:`MessagePlan.arrays`).
        Both make the same arrays (tests/io/test_rtcm3_live.py)."""
        self.ok = False
        seen: dict = {}  # system -> satellite mask of its messages so far
        for m, _ in messages:
            if not m.ok or seen.get(m.system, 0) & m.sat_mask:
                return
            seen[m.system] = seen.get(m.system, 0) | m.sat_mask
        if kernel is None and _KERNELS:
            kernel = _KERNELS[2]
        if kernel:
            self._compiled_arrays(messages, kernel)
        else:
            self._numpy_arrays(messages)
        self.groups = self.group.tolist()
        self.no_lock = [-1] * len(self.groups)
        self.fine_invalid = self.sign_bit[:, 4:6]  # -2**(w-1): the "invalid" pattern
        self.all_rate = bool(self.has_rate.all())
        self.glo = self.sat // SATELLITES_PER_SYSTEM == _GLO
        self.any_glo = bool(self.glo.any())
        self.rows: dict = {}  # present pattern -> rows_of
        self._order = None  # all (cell, type) rows in (satellite, code) order, codes, satellites
        self.glonass_wavelengths: dict = {}  # channels of the cells -> wavelengths
        self.ok = True

    @property
    def index(self) -> np.ndarray:
        """Bytes of each field in the data after :data:`_PAD`: (cells, columns, 5)."""
        return self.first[..., None] + _SPAN

    def _numpy_arrays(self, messages) -> None:
        arrays = [m.arrays() for m, _ in messages]
        ints = np.concatenate([a[1] for a in arrays])
        floats = np.concatenate([a[2] for a in arrays])
        n = len(_COLUMNS)
        # (contiguous: the compiled kernel takes them as they are)
        part = np.ascontiguousarray
        self.first = np.concatenate([a[0][:, :, 0] + (p + len(_PAD)) for a, (_, p) in zip(arrays, messages)])
        self.shift, self.mask, self.sign_bit = part(ints[:, :n]), part(ints[:, n : 2 * n]), part(ints[:, 2 * n : 3 * n])
        self.priority, self.lock_offset = part(ints[:, 3 * n]), part(ints[:, 3 * n + 1])
        self.has_rate = ints[:, 3 * n + 2] != 0
        self.sat, self.signal, self.group = part(ints[:, 3 * n + 3]), part(ints[:, 3 * n + 4]), part(ints[:, 3 * n + 5])
        self.fine_scale, self.cnr_scale = part(floats[:, :2]), part(floats[:, 2])
        self.wavelength = part(floats[:, 3])

    def _compiled_arrays(self, messages, kernel) -> None:
        meta = np.array([(m.msm - 4, len(m.sat_pos), len(m.sig_pos), len(m.cell_k), p + len(_PAD),
                          m.system * SATELLITES_PER_SYSTEM + m.prn_offset, m.mtype) for m, p in messages], np.int64)
        sat_pos = np.array([k for m, _ in messages for k in m.sat_pos], np.int64)
        sids = np.array([k for m, _ in messages for k in m.sids], np.int64)
        cell_k = np.array([k for m, _ in messages for k in m.cell_k], np.int64)
        n, ncol = len(cell_k), len(_COLUMNS)
        self.first, self.shift, self.mask, self.sign_bit = (np.empty((n, ncol), np.int64) for _ in range(4))
        self.priority, self.lock_offset, self.sat, self.signal, self.group = (np.empty(n, np.int64) for _ in range(5))
        self.has_rate = np.empty(n, np.bool_)
        self.fine_scale, self.cnr_scale, self.wavelength = np.empty((n, 2)), np.empty(n), np.empty(n)
        kernel(meta, sat_pos, sids, cell_k, _PLAN_TERMS, _PLAN_STEPS, _PLAN_INTS, _PLAN_FLOATS, _WAVELENGTH,
               self.first, self.shift, self.mask, self.sign_bit, self.priority, self.lock_offset, self.has_rate,
               self.sat, self.signal, self.group, self.fine_scale, self.cnr_scale, self.wavelength)
    def rows_of(self, present: np.ndarray):
        """(flat (cell, type) indices of the rows in output order, their satellites, which rows
        are phases, the cells of those, the rows' codes, code names, obs codes, these as a key,
        the rows' SSI (zeros)) for a pattern of values present (``satnav.io._raw_obs.row_order``'s rows and codes).

        A new pattern (a value appears or goes) takes the rows present in an order of all rows
        kept (satellite, then code in the order of all codes); when their codes (renumbered
        over the codes used) increase along it, that is the output order (no sort); else they
        are sorted, or with a (satellite, code) twice, ``row_order`` decides."""
        key = present.tobytes()
        hit = self.rows.get(key)
        if hit is not None:
            return hit
        if len(self.rows) > 64:
            self.rows.clear()
        if self._order is None:
            flat = np.arange(present.size)
            code, sat = self.signal[flat >> 2] * 4 + (flat & 3), self.sat[flat >> 2]
            order = np.argsort(sat * 4096 + _code_rank()[code], kind="stable")
            self._order = (order, code[order], sat[order])
        order, order_code, order_sat = self._order
        keep = present.ravel()[order]
        rows, row_code, row_sat = order[keep], order_code[keep], order_sat[keep]
        used = np.flatnonzero(np.bincount(row_code, minlength=_NCODES))
        _, names, remap, obs_codes = _code_plan(SIGNAL_LIST, used)
        codes = remap[row_code]
        sort_key = row_sat * 4096 + codes
        if not (sort_key[1:] > sort_key[:-1]).all():
            o = np.argsort(sort_key, kind="stable")
            rows, codes, row_sat, sort_key = rows[o], codes[o], row_sat[o], sort_key[o]
            if (sort_key[1:] == sort_key[:-1]).any():  # a code twice for a satellite: priorities
                return self._rows_by_priority(present, key)
        phase = (rows & 3) == 1
        hit = self.rows[key] = (rows, _shared(row_sat), phase, rows[phase] >> 2, _shared(codes),
                                list(names)) + _obs_codes(obs_codes) + (_shared(np.zeros(len(rows), np.int8)),)
        return hit

    def _rows_by_priority(self, present: np.ndarray, key: bytes):
        flat = np.flatnonzero(present)
        cell = flat >> 2
        row_code = self.signal[cell] * 4 + (flat & 3)
        order, codes, names, obs_codes = row_order(SIGNAL_LIST, np.zeros(len(flat), np.int64), self.sat[cell],
                                                   row_code, self.priority[cell], keep_last=True)
        rows = flat[order]
        hit = (rows, _shared(self.sat[rows >> 2]), (rows & 3) == 1, rows[(rows & 3) == 1] >> 2, _shared(codes[order]),
               list(names)) + _obs_codes(obs_codes) + (_shared(np.zeros(len(rows), np.int8)),)
        self.rows[key] = hit
        return hit


def _cells_numpy(plan: EpochPlan, buf: np.ndarray, glonass_wavelengths, prev: np.ndarray):
    """(values (cells x pseudorange, phase, Doppler, C/N0), values present, LLI, lock times
    (ms) to keep) of an epoch's cells (``buf``: the epoch's data between :data:`_PAD`), with
    NumPy; ``glonass_wavelengths(ext)``: the cells' wavelengths from their extended satellite
    information (GLONASS channels); ``prev``: each cell's last lock time (-1: none, or a slip
    still to be reported, as in ``rtcm3._lli``: the next valid phase is flagged). The
    reference of :func:`_cells_kernel`."""
    # every field of every cell: 40 bits from its first byte, shifted and masked
    v = ((buf[plan.index].astype(np.int64) @ _WEIGHTS) >> plan.shift) & plan.mask
    v -= (v & plan.sign_bit) << 1  # two's complement of the signed fields
    c = v.T
    rough_ms = c[0]
    r = (rough_ms + c[1] * 2.0**-10) * RANGE_MS
    r[rough_ms == 255] = np.nan
    fine = v[:, 4:6]
    pr_cp = r[:, None] + fine * plan.fine_scale
    pr_cp[fine == -plan.fine_invalid] = np.nan
    values = np.empty((len(r), 4))
    wl = plan.wavelength
    if plan.any_glo:
        wl = glonass_wavelengths(c[2])
    values[:, 0] = pr_cp[:, 0]
    values[:, 1] = pr_cp[:, 1] / wl
    rate, fine_rate = c[3], c[9]
    rr = rate + fine_rate * 1e-4
    rr[(rate == -8192) | (fine_rate == -16384)] = np.nan
    if not plan.all_rate:
        rr[~plan.has_rate] = np.nan
    values[:, 2] = -rr / wl
    cnr = c[8] * plan.cnr_scale
    values[:, 3] = cnr
    present = np.isfinite(values)
    present[:, 3] &= cnr > 0
    # loss of lock (rtcm3._lli, each cell its own history): no earlier lock time, a lock
    # time that fell, or 0 twice; a half-cycle ambiguity: bit 1. A slip without a valid
    # phase: lock time -1 kept (to be reported at the next valid phase)
    lock = _LOCK_MS[c[6] + plan.lock_offset]
    slip = (prev < 0) | ((lock == 0) & (prev == 0)) | (lock < prev)
    lli = slip | ((c[7] != 0) << 1)
    return values, present, lli.astype(np.int8), np.where(slip & ~present[:, 1], -1, lock)


def _rows_numpy(values: np.ndarray, lli: np.ndarray, hit: tuple, t: int):
    """(time, value, LLI) of the observations' rows of a pattern (``hit``:
    :meth:`EpochPlan.rows_of`) of an epoch's cells (values, LLI): the reference of
    :func:`_rows_kernel`."""
    rows, phase, phase_cell = hit[0], hit[2], hit[3]
    row_lli = np.zeros(len(rows), np.int8)
    row_lli[phase] = lli[phase_cell]
    return np.full(len(rows), t, np.int64), values.ravel()[rows], row_lli


def _rows_kernel(values, lli, rows, t, row_time, row_value, row_lli):
    """:func:`_rows_numpy` as one loop over the rows, for numba, into ``row_time``,
    ``row_value``, ``row_lli`` (rows: flat (cell, type) indices, type 1 the phase)."""
    for k in range(len(rows)):
        r = rows[k]
        cell, kind = r >> 2, r & 3
        row_time[k] = t
        row_value[k] = values[cell, kind]
        row_lli[k] = lli[cell] if kind == 1 else 0


def _cells_kernel(buf, first, shift, mask, sign_bit, fine_scale, cnr_scale, wavelength, has_rate, lock_index,
                  lock_table, prev, stage, fields, values, present, lli, lock):
    """:func:`_cells_numpy` as one loop over the cells, for numba (the same bits): ``first``
    the first byte of each field (cells x :data:`_COLUMNS`), ``lock_index`` the lock table's
    offset of each cell; ``stage`` 0: the fields only, into ``fields`` (cells x columns);
    1: fields, then ``values``, ``present``, ``lli``, ``lock``; 2: those from ``fields``
    (GLONASS: the wavelengths from the fields in between)."""
    ncell, ncol = first.shape
    nan = np.nan
    for i in range(ncell):
        if stage != 2:
            for j in range(ncol):
                m = mask[i, j]
                if m == 0:
                    fields[i, j] = 0
                    continue
                p = first[i, j]
                x = ((np.int64(buf[p]) << 32) | (np.int64(buf[p + 1]) << 24) | (np.int64(buf[p + 2]) << 16)
                     | (np.int64(buf[p + 3]) << 8) | np.int64(buf[p + 4]))
                x = (x >> shift[i, j]) & m
                fields[i, j] = x - ((x & sign_bit[i, j]) << 1)
        if stage == 0:
            continue
        f = fields[i]
        r = (f[0] + f[1] * 2.0**-10) * RANGE_MS
        if f[0] == 255:
            r = nan
        pr = r + f[4] * fine_scale[i, 0]
        if f[4] == -sign_bit[i, 4]:
            pr = nan
        cp = r + f[5] * fine_scale[i, 1]
        if f[5] == -sign_bit[i, 5]:
            cp = nan
        wl = wavelength[i]
        rr = f[3] + f[9] * 1e-4
        if f[3] == -8192 or f[9] == -16384 or not has_rate[i]:
            rr = nan
        cnr = f[8] * cnr_scale[i]
        values[i, 0] = pr
        values[i, 1] = cp / wl
        values[i, 2] = -rr / wl
        values[i, 3] = cnr
        for k in range(4):
            present[i, k] = np.isfinite(values[i, k])
        present[i, 3] = present[i, 3] and cnr > 0
        lk = lock_table[f[6] + lock_index[i]]
        pv = prev[i]
        slip = pv < 0 or (lk == 0 and pv == 0) or lk < pv
        lli[i] = (1 if slip else 0) | (2 if f[7] != 0 else 0)
        lock[i] = -1 if slip and not present[i, 1] else lk


def _shared(index: np.ndarray) -> np.ndarray:
    """``index`` (satellites or codes of a pattern's rows) as the int16 the observations hold,
    read-only: the observations of all epochs of the pattern share it (not copied each epoch)."""
    out = index.astype(np.int16)
    out.flags.writeable = False
    return out


_NCODES = 4 * len(SIGNAL_LIST)
_OBS_CODES: dict = {}
_RANK: list = []


def _code_rank() -> np.ndarray:
    """Each row code's place (signal * 4 + type) among all codes, as :func:`_code_plan` orders
    them (made once, when first needed)."""
    if not _RANK:
        _RANK.append(_code_plan(SIGNAL_LIST, np.arange(_NCODES))[2])
    return _RANK[0]


def _obs_codes(obs_codes: dict) -> tuple:
    """(the header's obs codes, as a key) of a code plan's system -> codes, kept per plan."""
    hit = _OBS_CODES.get(id(obs_codes))
    if hit is None or hit[0] is not obs_codes:
        if len(_OBS_CODES) > 256:
            _OBS_CODES.clear()
        codes = {s: list(obs_codes[s]) for s in SYSTEMS if s in obs_codes}
        hit = _OBS_CODES[id(obs_codes)] = (obs_codes, codes, tuple((s, tuple(c)) for s, c in codes.items()))
    return hit[1:]


class LiveEpochs:
    """The fast path of :class:`satnav.io.rtcm3.Rtcm3Decoder` (module docstring).

    ``obs_header(stations, biases, channels, leap)``: the decoder's observation header of its
    station data; ``now()``: the reference time of last resort (GPST ns) -- both
    :mod:`satnav.io.rtcm3`'s, given by it (this module is below it)."""

    def __init__(self, obs_header, now) -> None:
        self._obs_header, self._now = obs_header, now
        self.plans: dict = {}
        self.messages: dict = {}
        self.decoded = 0  # epochs decoded here
        self._headers: dict = {}
        self._leap = (0, -1, 0)  # GPST ns interval [lo, hi) of one leap second count, its value

    def _leap_seconds(self, t: int) -> int:
        lo, hi, value = self._leap
        if lo <= t < hi:
            return value
        idx = int(np.searchsorted(_LEAP_GPST_NS, t, side="right"))
        lo = int(_LEAP_GPST_NS[idx - 1]) if idx > 0 else -(1 << 62)
        hi = int(_LEAP_GPST_NS[idx]) if idx < len(_LEAP_GPST_NS) else 1 << 62
        value = int(_LEAP_VALUES[idx - 1]) if idx > 0 else 0
        self._leap = (lo, hi, value)
        return value

    def decode(self, dec, data: bytes, starts: list[int], lengths: list[int], types: list[int]):
        """The EpochItem of ``data`` (whole checked frames at ``starts``, payload ``lengths``,
        message ``types``) when they are exactly one epoch of MSM4-7 messages this path
        decodes, with ``dec``'s state updated as the general path updates it; else None."""
        if dec._pending_time is not None or len(types) > 16:
            return None
        layout, systems, times = [], [], []
        last = len(types) - 1
        for i, mtype in enumerate(types):
            kind = MSM_TYPES.get(mtype)
            if kind is None or kind[1] < 4:
                return None
            p = starts[i] + 3
            nbits = lengths[i] * 8
            if nbits < _MSM_HEADER_BITS:
                return None
            head = int.from_bytes(data[p : p + 30], "big")
            if nbits < 240:  # (a short message, at the end of the data maybe: zeros after it)
                head = int.from_bytes(data[p : p + 30].ljust(30, b"\0"), "big")
            if (head >> 185) & 1 != (i < last):  # the multiple-message bit: set but on the last
                return None
            sat_mask = (head >> 103) & 0xFFFFFFFFFFFFFFFF
            sig_mask = (head >> 71) & 0xFFFFFFFF
            nmask = sat_mask.bit_count() * sig_mask.bit_count()
            if nmask > 64:
                return None
            cell_mask = (head >> (71 - nmask)) & ((1 << nmask) - 1)
            msm = kind[1]
            total = (_MSM_HEADER_BITS + nmask + sat_mask.bit_count() * _SAT_BITS[msm]
                     + cell_mask.bit_count() * _SIG_BITS[msm])
            if total > nbits:
                return None
            letter = kind[0]
            systems.append(_GLO if letter == "R" else SYSTEMS.index(letter))
            times.append((head >> 186) & (0x7FFFFFF if letter == "R" else 0x3FFFFFFF))
            if nmask:  # (a message of no satellite or no signal, as encoders send for a system
                layout.append(((mtype, sat_mask, sig_mask, cell_mask), p))  # not tracked: its time only)
        if not layout:
            return None
        state = dec._state
        ref = state.ref_ns
        if ref is None:
            ref = self._now()
        t = epoch_time(systems, times, ref)
        if t is None:
            return None
        key = tuple(layout)
        plan = self.plans.get(key)
        if plan is None:
            if len(self.plans) >= MAX_PLANS:
                self.plans.clear()
            plan = self.plans[key] = EpochPlan([(self._message(k), p) for k, p in layout])
        if not plan.ok:
            return None
        values, present, lli = self._cells(dec, plan, np.frombuffer(_PAD + data + _PAD, np.uint8))
        hit = plan.rows_of(present)
        rows, row_sat, phase, phase_cell, codes, names = hit[:6]
        n = len(rows)
        if _KERNELS:
            row_time, row_value, row_lli = np.empty(n, np.int64), np.empty(n), np.empty(n, np.int8)
            _KERNELS[1](values, lli, rows, t, row_time, row_value, row_lli)
        else:
            row_time, row_value, row_lli = _rows_numpy(values, lli, hit, t)
        state.ref_ns = state.last_ns = t
        header = self._header(dec, plan, t, hit)
        obs = Observations(row_time, row_sat, codes, row_value, row_lli, hit[8], names, np.array([t], np.int64),
                           header=header, source=dec.source)
        self.decoded += 1
        return EpochItem(obs, dec.protocol)

    def _cells(self, dec, plan: EpochPlan, buf: np.ndarray):
        """(values, present, LLI) of the epoch's cells (:func:`_cells_numpy`, or the compiled
        :func:`_cells_kernel` when loaded), the cells' lock times kept in the decoder's state."""
        lock_state = dec._state.lock
        prev = np.fromiter(map(lock_state.get, plan.groups, plan.no_lock), np.int64, len(plan.groups))
        if _KERNELS:
            kernel = _KERNELS[0]
            n = len(prev)
            fields, values = np.empty((n, len(_COLUMNS)), np.int64), np.empty((n, 4))
            present, lli, lock = np.empty((n, 4), np.bool_), np.empty(n, np.int8), np.empty(n, np.int64)
            wl = plan.wavelength
            if plan.any_glo:
                kernel(buf, plan.first, plan.shift, plan.mask, plan.sign_bit, plan.fine_scale, plan.cnr_scale, wl,
                       plan.has_rate, plan.lock_offset, _LOCK_MS, prev, 0, fields, values, present, lli, lock)
                wl = np.ascontiguousarray(self._glonass_wavelengths(dec, plan, fields[:, 2]), np.float64)
            kernel(buf, plan.first, plan.shift, plan.mask, plan.sign_bit, plan.fine_scale, plan.cnr_scale, wl,
                   plan.has_rate, plan.lock_offset, _LOCK_MS, prev, 2 if plan.any_glo else 1, fields, values,
                   present, lli, lock)
        else:
            values, present, lli, lock = _cells_numpy(plan, buf, lambda ext: self._glonass_wavelengths(dec, plan, ext),
                                                      prev)
        lock_state.update(zip(plan.groups, lock.tolist()))
        return values, present, lli

    def _message(self, key) -> MessagePlan:
        plan = self.messages.get(key)
        if plan is None:
            if len(self.messages) >= 4 * MAX_PLANS:
                self.messages.clear()
            plan = self.messages[key] = MessagePlan(*key)
        return plan

    def _glonass_wavelengths(self, dec, plan: EpochPlan, ext: np.ndarray) -> np.ndarray:
        """Wavelengths with the GLONASS cells' channels (message, 1020, the caller's table), and
        the channels the messages carry kept in the decoder's state (as ``_decode_chunk``)."""
        state = dec._state
        channel = np.where(plan.glo & plan.has_rate & (ext <= 13), ext - 7, -99)
        has = channel > -99
        state.channels.update(zip(plan.sat[has].tolist(), channel[has].tolist()))
        need = ~has & plan.glo
        if need.any():
            table = dict(dec._channels)
            table.update(state.channels)
            channel[need] = [table.get(int(s), -99) for s in plan.sat[need].tolist()]
        key = channel.tobytes()  # the same channels epoch after epoch: their wavelengths kept
        wl = plan.glonass_wavelengths.get(key)
        if wl is None:
            if len(plan.glonass_wavelengths) > 8:
                plan.glonass_wavelengths.clear()
            wl = plan.glonass_wavelengths[key] = wavelengths(plan.sat, plan.signal, channel)
        return wl

    def _header(self, dec, plan: EpochPlan, t: int, rows: tuple):
        """The epoch's header (``rtcm3._obs_header`` of the decoder's station data), one object
        per station data, leap seconds and codes."""
        leap = self._leap_seconds(t)
        state = dec._state
        key = (len(dec._stations), tuple(dec._biases.items()) if dec._biases else (),
               tuple(state.channels.items()) if state.channels else (), leap, rows[7])
        header = self._headers.get(key)
        if header is None:
            if len(self._headers) > 16:
                self._headers.clear()
            header = self._obs_header(dec._stations, dec._biases, state.channels, leap)
            header.obs_codes = {s: list(c) for s, c in rows[6].items()}
            self._headers[key] = header
        return header


_SAT_BITS = {k: sum(w for _, w in f) for k, f in _SAT_FIELDS.items()}
_SIG_BITS = {k: sum(w for _, w in f) for k, f in _SIG_FIELDS.items()}


def _check_messages() -> list:
    """Random MSM4-7 message plans (GPS, GLONASS, Galileo, BeiDou; some cells left out), for
    checking the compiled kernels against NumPy."""
    rng = np.random.default_rng(5)
    sat = sum(1 << (64 - p) for p in (2, 5, 7, 12, 13, 20, 21, 24))
    out = []
    for mtype, sig in ((1077, (2, 16, 22)), (1087, (2, 8)), (1097, (2, 14, 22)), (1127, (2, 14, 8)),
                       (1074, (2, 16)), (1085, (2, 8)), (1126, (2, 14))):
        nmask = 8 * len(sig)
        cell = int(rng.integers(1, 1 << nmask)) | 1
        out.append(MessagePlan(mtype, sat, sum(1 << (32 - k) for k in sig), cell))
    return out


def _check_plans(kernel=False):
    """(epoch plan, bytes) of each of :func:`_check_messages` (plans made by ``kernel``, as
    :class:`EpochPlan` takes it), for checking the compiled kernels against NumPy."""
    rng = np.random.default_rng(7)
    out = []
    for message in _check_messages():
        plan = EpochPlan([(message, 3)], kernel)
        if plan.ok:
            out.append((plan, rng.integers(0, 256, 8 + 1023).astype(np.uint8).tobytes()))
    return out


#: The arrays of an :class:`EpochPlan` made by :func:`_plan_kernel`.
_PLAN_ARRAYS = ("first", "shift", "mask", "sign_bit", "priority", "lock_offset", "has_rate", "sat", "signal", "group",
                "fine_scale", "cnr_scale", "wavelength")


def _same_plans(kernel, messages) -> bool:
    """Whether ``kernel`` (:func:`_plan_kernel`) makes the arrays of the :class:`EpochPlan` of
    ``messages`` ((MessagePlan, offset) pairs) that NumPy makes, bit for bit."""
    want, got = EpochPlan(messages, False), EpochPlan(messages, kernel)
    if not (want.ok and got.ok):
        return want.ok == got.ok
    for name in _PLAN_ARRAYS:
        a, b = getattr(want, name), getattr(got, name)
        if (a.dtype != b.dtype or not a.flags.c_contiguous or not b.flags.c_contiguous
                or not np.array_equal(a, b, equal_nan=a.dtype.kind == "f")):
            return False
    return want.groups == got.groups


def _same_cells(kernels, plan: EpochPlan, data: bytes) -> bool:
    """Whether ``kernels`` (:func:`_cells_kernel`, :func:`_rows_kernel`) give the cells and
    rows of ``data`` that :func:`_cells_numpy` and :func:`_rows_numpy` give, bit for bit."""
    cells_kernel, rows_kernel = kernels[:2]
    buf = np.frombuffer(_PAD + data + _PAD, np.uint8)
    n = len(plan.groups)
    prev = np.resize(np.array([-1, 0, 32, 10**6], np.int64), n)
    want = _cells_numpy(plan, buf, lambda ext: plan.wavelength, prev)
    got = (np.empty((n, 4)), np.empty((n, 4), np.bool_), np.empty(n, np.int8), np.empty(n, np.int64))
    fields = np.empty((n, len(_COLUMNS)), np.int64)
    for stage in (0, 2):
        cells_kernel(buf, plan.first, plan.shift, plan.mask, plan.sign_bit, plan.fine_scale, plan.cnr_scale,
                     plan.wavelength, plan.has_rate, plan.lock_offset, _LOCK_MS, prev, stage, fields, *got)
    hit = plan.rows_of(want[1])
    t = 1_234_567_000_000_000
    want += _rows_numpy(want[0], want[2], hit, t)
    m = len(hit[0])
    got += (np.empty(m, np.int64), np.empty(m), np.empty(m, np.int8))
    rows_kernel(got[0], got[2], hit[0], t, *got[4:])
    return all(x.dtype == y.dtype and np.array_equal(x, y, equal_nan=True) for x, y in zip(want, got))


def _load_kernels():
    from .._jit import compile_kernels

    def warm_up(kernels):
        """Compile (or load from the cache) now, and check the kernels against NumPy on random
        messages of each MSM type and system, one by one and side by side."""
        messages = _check_messages()
        offsets = np.cumsum([3] + [40 + 8 * len(m.cell_k) for m in messages])
        for k in range(len(messages)):
            if not _same_plans(kernels[2], [(messages[k], 3)]):
                raise RuntimeError("the compiled RTCM 3 epoch plans differ from NumPy's")
        if not _same_plans(kernels[2], [(m, int(p)) for m, p in zip(messages[:4], offsets)]):  # (G, R, E, C)
            raise RuntimeError("the compiled RTCM 3 epoch plans differ from NumPy's")
        for plan, data in _check_plans():
            if not _same_cells(kernels, plan, data):
                raise RuntimeError("the compiled RTCM 3 cells differ from NumPy's")

    return compile_kernels((_cells_kernel, _rows_kernel, _plan_kernel), warm_up)


def use_compiled_rtcm_live(enabled: bool | None = True) -> bool:
    """Decode the cells of live epochs, take their rows and make the plans of new layouts with
    the compiled :func:`_cells_kernel`, :func:`_rows_kernel` and :func:`_plan_kernel` (``True``: load them now; ``satnav
    stream``'s feeds do this at their start) or with NumPy (``False``; ``None``: back to NumPy
    until asked again); returns whether the kernels are in use. Both give the same bits
    (tests/io/test_rtcm3_live.py)."""
    global _KERNELS, _LOADED
    from .._jit import switch_kernels

    _KERNELS, _LOADED = switch_kernels(_LOADED, enabled, _load_kernels)
    return bool(_KERNELS)
