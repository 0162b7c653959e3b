"""Broadcast satellite states: choose the message for each (satellite, time) and evaluate it.

:func:`broadcast_states` is the entry point. For every pair it takes the healthy message of
that satellite whose reference time (toe; GLONASS and SBAS: toc = t_b) is nearest to the
requested time, provided it lies within the system's validity window below (the usual
post-processing rule; a real-time receiver would use the latest message received). It is
vectorized: per system one ``np.searchsorted`` over the messages sorted by (satellite,
reference time), no loop over epochs.

Validity windows (``VALIDITY_S``: seconds before and after the reference time in which a
message may be used). They were set from how the broadcast orbits of 2020-06-25 (ESBC
navigation file) depart from the GRG0MGXFIN precise orbits (and, for BeiDou, from the next
messages) as a function of t - ref; the median / 95th percentile 3D errors are quoted:

=======  ===========  =========================================================================
system   window       why
=======  ===========  =========================================================================
GPS      -/+ fit/2    IS-GPS-200 20.3.4.4: curve fit interval, 4 h -> 2 h (fit flag 0 or blank
                      -> 4 h, flag 1 "> 4 h" -> 6 h). Measured 1.3 / 2.1 m within, 3.7 / 9 m at
                      2.5 h.
QZSS     -/+ fit/2    RINEX fit flag 0 -> 2 h fit, 1 -> 4 h; hourly updates.
Galileo  -1 h, +3 h   The data sets are fitted forward from toe: 0.9 / 1.1 m from -0.5 h to
                      +2.5 h, 1.0 / 1.9 m at 3 h but 4.5 / 9.7 m at 4 h (the SDD's nominal 4 h)
                      and 1.3 / 2.9 m at -1 h, 6.7 / 14 m at -2 h.
BeiDou   -1 h, +2 h   Hourly updates (BDS-SIS-ICD); message-to-message differences 0.1-0.4 /
                      0.5-0.9 m at -1 h..+2 h, 3-4 / 6-7 m at -2 h and +3 h.
NavIC    -/+ 2 h      Updated every 2 h (IRNSS SPS ICD).
GLONASS  -/+ 30 min   t_b spaced 30 min (ICD 5.1), so the nearest message is normally within
                      15 min (2.7 / 5.6 m); one missing update is bridged (9 / 15 m at 45 min).
                      RTKLIB uses the same limit (MAXDTOE_GLO).
SBAS     -/+ 6 min    GEO navigation (MT 9) repeated every 2 min; RTKLIB's MAXDTOE_SBS.
=======  ===========  =========================================================================

The nearest valid message in reference time is used (ties: the earlier one). A receiver in
real time would use the latest message received; nearest-toe is the post-processing rule.

Health: GPS/QZSS/BeiDou/NavIC/GLONASS/SBAS messages are used when their health word is 0
(QZSS: bit 0, the L1C health of older messages, is ignored as in RTKLIB). Galileo: the SVH
bits of the signal in use (E1-B bits 0-2, E5a bits 3-5, E5b bits 6-8, RINEX 3 table A8).
GPS/QZSS messages with IODE != IODC mod 256 (a cut-over caught mid-message) are refused with
reason ``INCONSISTENT_ISSUE``.
"""

from __future__ import annotations

import time

import numpy as np

from satnav import constants as C
from satnav import satellite_states as S
from satnav.gnss_time import NS_PER_S
from satnav.orbits.glonass import glonass_states
from satnav.orbits.kepler import gather_constants, kepler_constants, kepler_states, pack_constants
from satnav.satellites import MAX_SATELLITES, SYSTEMS, system_number_of

__all__ = ["broadcast_states", "BroadcastEphemeris", "VALIDITY_S", "signal_band", "select_messages"]

#: Default validity window (seconds before, seconds after the reference time) per system; GPS
#: and QZSS use the fit interval of each message instead (see module doc).
VALIDITY_S = {
    "G": (2 * 3600.0, 2 * 3600.0),
    "J": (1 * 3600.0, 1 * 3600.0),
    "E": (1 * 3600.0, 3 * 3600.0),
    "C": (1 * 3600.0, 2 * 3600.0),
    "I": (2 * 3600.0, 2 * 3600.0),
    "R": (30 * 60.0, 30 * 60.0),
    "S": (6 * 60.0, 6 * 60.0),
}

_KEPLER_SYSTEMS = "GJECI"
_SUPPORTED_TYPES = {
    "G": ("LNAV", "CNAV", "CNV2", ""),
    "J": ("LNAV", "CNAV", "CNV2", ""),
    "E": ("INAV", "FNAV"),
    "C": ("D1", "D2", "CNV1", "CNV2", "CNV3", ""),
    "I": ("LNAV", ""),
    "R": ("FDMA", ""),
    "S": ("SBAS", ""),
}
_KEPLER_FIELDS = (
    "sat", "toe", "toe_sow", "toc", "sqrt_a", "e", "m0", "delta_n", "omega0", "omega_dot",
    "i0", "idot", "omega", "cuc", "cus", "crc", "crs", "cic", "cis", "af0", "af1", "af2",
    "adot", "delta_n_dot",
)  # fmt: skip
#: The float fields of _KEPLER_FIELDS (:meth:`_SystemTable.kepler_matrix`).
_KEPLER_FLOAT_FIELDS = tuple(f for f in _KEPLER_FIELDS if f not in ("sat", "toe", "toc"))
_GLONASS_FIELDS = (
    "toc",
    "x",
    "y",
    "z",
    "vx",
    "vy",
    "vz",
    "ax",
    "ay",
    "az",
    "clock_bias",
    "gamma_n",
)

# Galileo SVH bit masks (RINEX 3.05 table A8)
_GAL_E1B, _GAL_E5A, _GAL_E5B = 0x007, 0x038, 0x1C0


def signal_band(signal) -> str | None:
    """RINEX band digit of a signal named as "C1C", "L5Q", "1C", "5" (None stays None)."""
    if signal is None:
        return None
    s = str(signal).strip().upper()
    if len(s) == 3 and s[0] in "CLDS" and s[1].isdigit():
        return s[1]
    if s and s[0].isdigit():
        return s[0]
    raise ValueError(f"cannot read a band from signal {signal!r}, expected e.g. 'C1C' or '5'")


def _message_types(msgs) -> np.ndarray:
    if "message_type" in (msgs.dtype.names or ()):
        # strip the few distinct texts (numpy.char costs ~10 ms of import at start-up)
        distinct, inverse = np.unique(np.asarray(msgs["message_type"]).astype(str), return_inverse=True)
        stripped = np.array([t.strip() for t in distinct.tolist()], dtype=distinct.dtype)
        return stripped[inverse.reshape(-1)]
    return np.full(len(msgs), "", dtype="<U4")


class _NeighbourIndex:
    """Messages sorted by (satellite, reference time), prepared once for many queries of
    :meth:`query` (see :func:`_neighbours`)."""

    def __init__(self, msg_sat, msg_ref):
        self.size = int(np.size(msg_sat))
        if self.size == 0:
            return
        order = np.lexsort((msg_ref, msg_sat))
        ms = msg_sat[order].astype(np.int64)
        mr = msg_ref[order].astype(np.int64)
        uniq, slot = np.unique(ms, return_inverse=True)
        base = int(mr.min())
        span = int(mr.max()) - base
        pad = span + 1
        stride = span + 2 * pad + 1
        self.order, self.ms, self.mr, self.uniq, self.slot = order, ms, mr, uniq, slot
        self.base, self.span, self.pad, self.stride = base, span, pad, stride
        self.composite = stride * uniq.size < 2**62
        if self.composite:
            self.key_m = slot * stride + (mr - base) + pad

    def query(self, q_sat, q_t):
        """(before, after) message indices per query, -1 where there is none."""
        before = np.full(q_sat.shape, -1, dtype=np.int64)
        after = np.full(q_sat.shape, -1, dtype=np.int64)
        if self.size == 0 or q_sat.size == 0:
            return before, after
        uniq, slot, ms, mr = self.uniq, self.slot, self.ms, self.mr
        qs = q_sat.astype(np.int64)
        qslot = np.clip(np.searchsorted(uniq, qs), 0, uniq.size - 1)
        has = uniq[qslot] == qs
        if self.composite:
            rel = np.clip(q_t.astype(np.int64) - self.base, -self.pad, self.span + self.pad)
            key_q = qslot * self.stride + rel + self.pad
            hi = np.searchsorted(self.key_m, key_q)
        else:  # very long spans: per-satellite searchsorted (loop over satellites, not epochs)
            starts = np.searchsorted(ms, uniq)
            hi = np.empty(q_sat.shape, dtype=np.int64)
            for k, sat_value in enumerate(uniq):
                sel = qslot == k
                hi[sel] = starts[k] + np.searchsorted(mr[ms == sat_value], q_t[sel])
        lo = hi - 1
        m = ms.size
        lo_c, hi_c = np.clip(lo, 0, m - 1), np.clip(hi, 0, m - 1)
        ok_lo = has & (lo >= 0) & (slot[lo_c] == qslot)
        ok_hi = has & (hi < m) & (slot[hi_c] == qslot)
        before[ok_lo] = self.order[lo_c[ok_lo]]
        after[ok_hi] = self.order[hi_c[ok_hi]]
        return before, after


def _neighbours(msg_sat, msg_ref, q_sat, q_t):
    """For each query, the messages of the same satellite just before (reference time < t)
    and at-or-after (>= t) the query time: two index arrays into the message arrays, -1
    where there is none.

    One searchsorted on a composite int64 key (satellite slot, time offset); falls back to
    one searchsorted per satellite when the time span is too large for the key.
    """
    return _NeighbourIndex(msg_sat, msg_ref).query(q_sat, q_t)


def _pick(msg_ref, valid_before_s, valid_after_s, lo, hi, q_t):
    """Of the neighbours ``lo`` (ref < t) and ``hi`` (ref >= t), the nearer one whose
    validity window [ref - before, ref + after] contains t; -1 when neither does."""
    lo_c, hi_c = np.maximum(lo, 0), np.maximum(hi, 0)
    d_lo = (q_t - msg_ref[lo_c]).astype(np.float64)  # >= 0
    d_hi = (msg_ref[hi_c] - q_t).astype(np.float64)  # >= 0
    ok_lo = (lo >= 0) & (d_lo <= valid_after_s[lo_c] * NS_PER_S)
    ok_hi = (hi >= 0) & (d_hi <= valid_before_s[hi_c] * NS_PER_S)
    use_lo = ok_lo & (~ok_hi | (d_lo <= d_hi))
    return np.where(use_lo, lo, np.where(ok_hi, hi, -1))


def select_messages(msg_sat, msg_ref, validity_s, groups, bad_code, q_sat, q_t):
    """Choose a message per query.

    Parameters
    ----------
    msg_sat, msg_ref : arrays (m,)
        Satellite index and reference time (GPST ns) of each message.
    validity_s : tuple of two arrays (m,)
        How long (s) before and after its reference time each message may be used.
    groups : list of bool arrays (m,)
        Usable messages in order of preference; a query falls back to the next group when
        no message of a group is valid at its time.
    bad_code : int array (m,)
        Reason code of each message when it is not usable (0 when usable).
    q_sat, q_t : arrays (n,)
        Queries: satellite index and GPST ns.

    Returns
    -------
    chosen : int64 (n,)
        Index of the message used, -1 for none: the nearest valid one in reference time.
    reason : int8 (n,)
        0, or why there is none: no message at all for the satellite, only messages whose
        window does not contain t (expired), or the nearest message that would be valid is
        unusable (its ``bad_code``: unhealthy, inconsistent, unsupported).
    """
    return _Selector(msg_sat, msg_ref, validity_s, groups, bad_code).select(q_sat, q_t)


#: Queries of at most this many (satellite, time) pairs go through the per-satellite cache
#: of :class:`_Selector` (a per-epoch engine's); larger ones (batch chunks) are computed.
_CACHED_QUERY_MAX = 512
#: Times closer than this to a point where the choice may change are never served from the
#: cache (ns; the comparisons are exact to 1 ns).
_CACHE_MARGIN_NS = 1000


class _Selector:
    """:func:`select_messages` prepared once for a set of messages (the neighbour index of
    every preference group and of all messages), queried many times.

    A per-epoch engine asks for the same satellites at times a second apart, and the choice
    of a satellite changes only where the time crosses one of its messages' reference
    times, the edges of their validity windows, the midpoints between neighbouring
    reference times (the nearer one wins) or the ends of the neighbour index: small
    queries are answered from the last choice of each satellite while the time stays
    between the same two such points (the same ``chosen`` and ``reason``, exactly)."""

    def __init__(self, msg_sat, msg_ref, validity_s, groups, bad_code):
        self.msg_ref = msg_ref
        self.valid_before, self.valid_after = validity_s
        self.bad_code = bad_code
        self.groups = []
        for group in groups:
            idx = np.flatnonzero(group)
            if idx.size:
                self.groups.append((idx, _NeighbourIndex(msg_sat[idx], msg_ref[idx])))
        self.msg_sat = msg_sat
        self._all = None
        self._cache = None  # per satellite: (from_ns, to_ns, chosen, reason)
        self._breaks: dict = {}
        self._intervals_of: dict = {}  # per satellite: (breakpoints, chosen, reason), _intervals
        self._ahead: list | None = None  # satellites whose intervals prepare_ahead has still to compute

    def _breakpoints(self, sat: int) -> np.ndarray:
        """Sorted times (GPST ns) where the choice for ``sat`` may change (class docstring)."""
        out = self._breaks.get(sat)
        if out is not None:
            return out
        parts = []
        edges = []
        for idx, index in [*self.groups, (np.arange(self.msg_sat.size), None)]:
            mine = idx[self.msg_sat[idx] == sat]
            ref = np.sort(self.msg_ref[mine].astype(np.int64))
            parts += [ref, (ref[:-1] + ref[1:]) // 2]
            if index is not None and index.size:
                edges += [index.base - index.pad, index.base + index.span + index.pad]
        mine = np.flatnonzero(self.msg_sat == sat)
        ref = self.msg_ref[mine].astype(np.int64)
        after, before = self.valid_after[mine], self.valid_before[mine]
        ok_a, ok_b = np.isfinite(after), np.isfinite(before)
        parts += [ref[ok_a] + np.rint(after[ok_a] * NS_PER_S).astype(np.int64),
                  ref[ok_b] - np.rint(before[ok_b] * NS_PER_S).astype(np.int64),
                  np.asarray(edges, np.int64)]
        out = self._breaks[sat] = np.unique(np.concatenate(parts))
        return out

    def select(self, q_sat, q_t):
        """(chosen, reason) per query, as :func:`select_messages`."""
        if q_sat.size > _CACHED_QUERY_MAX or q_sat.size == 0:
            return self._select(q_sat, q_t)
        if self._cache is None:
            self._cache = (np.zeros(MAX_SATELLITES, np.int64), np.zeros(MAX_SATELLITES, np.int64),
                           np.full(MAX_SATELLITES, -1, np.int64), np.zeros(MAX_SATELLITES, np.int8))
        lo, hi, c_chosen, c_reason = self._cache
        inside = (q_sat >= 0) & (q_sat < MAX_SATELLITES)
        qs = np.where(inside, q_sat, 0)
        hit = inside & (lo[qs] < q_t) & (q_t < hi[qs])
        chosen, reason = c_chosen[qs], c_reason[qs]
        if hit.all():
            return chosen, reason
        miss = np.flatnonzero(~hit)
        m_sat, m_t = q_sat[miss], q_t[miss]
        m_chosen = np.full(miss.size, -1, np.int64)
        m_reason = np.zeros(miss.size, np.int8)
        todo = []
        for i, (k, sat, t) in enumerate(zip(miss.tolist(), m_sat.tolist(), m_t.tolist())):
            if not inside[k]:
                todo.append(i)
                continue
            b, i_chosen, i_reason = self._intervals(sat)
            j = int(np.searchsorted(b, t))
            a = int(b[j - 1]) + _CACHE_MARGIN_NS if j > 0 else np.iinfo(np.int64).min
            z = int(b[j]) - _CACHE_MARGIN_NS if j < b.size else np.iinfo(np.int64).max
            if a < t < z:
                m_chosen[i], m_reason[i] = i_chosen[j], i_reason[j]
                lo[sat], hi[sat], c_chosen[sat], c_reason[sat] = a, z, i_chosen[j], i_reason[j]
            else:
                todo.append(i)
                lo[sat] = hi[sat] = 0  # next to a change: not kept
        if todo:
            todo = np.array(todo, np.intp)
            m_chosen[todo], m_reason[todo] = self._select(m_sat[todo], m_t[todo])
        chosen[miss], reason[miss] = m_chosen, m_reason
        return chosen, reason

    def prepare_ahead(self, deadline: float) -> bool:
        """Compute the choice intervals (:meth:`_intervals`) of every satellite with messages
        before a query asks for them, until ``deadline`` (``time.perf_counter`` s); True
        when none is left. A per-epoch engine calls it while it waits for the next epoch, so
        that a satellite's first appearance costs no selection (nearly a millisecond)."""
        if self._ahead is None:
            self._ahead = np.unique(self.msg_sat).tolist()[::-1]
        ahead = self._ahead
        while ahead:
            sat = ahead[-1]
            if sat not in self._intervals_of and 0 <= sat < MAX_SATELLITES:
                if time.perf_counter() > deadline:
                    return False
                self._intervals(sat)
            ahead.pop()
        return True

    def _intervals(self, sat: int):
        """(breakpoints, chosen, reason) of ``sat``: the choice (:meth:`_select`) in each
        interval between consecutive breakpoints (:meth:`_breakpoints`; before the first,
        after the last), computed once per satellite in one step, so that a query that
        leaves its cached interval is served without a selection."""
        out = self._intervals_of.get(sat)
        if out is None:
            b = self._breakpoints(sat)
            if b.size:
                probe = np.concatenate([b[:1] - NS_PER_S, (b[:-1] + b[1:]) // 2, b[-1:] + NS_PER_S])
            else:
                probe = np.zeros(1, np.int64)
            chosen, reason = self._select(np.full(probe.size, sat, np.int64), probe)
            out = self._intervals_of[sat] = (b, chosen, reason)
        return out

    def _select(self, q_sat, q_t):
        """(chosen, reason) per query, computed."""
        msg_ref, valid_before, valid_after = self.msg_ref, self.valid_before, self.valid_after
        n = q_sat.shape[0]
        chosen = np.full(n, -1, dtype=np.int64)
        remaining = np.arange(n)
        for idx, index in self.groups:
            if remaining.size == 0:
                break
            lo, hi = index.query(q_sat[remaining], q_t[remaining])
            lo = np.where(lo >= 0, idx[np.maximum(lo, 0)], -1)
            hi = np.where(hi >= 0, idx[np.maximum(hi, 0)], -1)
            chosen[remaining] = _pick(msg_ref, valid_before, valid_after, lo, hi, q_t[remaining])
            remaining = remaining[chosen[remaining] < 0]
        reason = np.zeros(n, dtype=np.int8)
        if remaining.size:
            if self._all is None:
                self._all = _NeighbourIndex(self.msg_sat, msg_ref)
            lo, hi = self._all.query(q_sat[remaining], q_t[remaining])
            j = _pick(msg_ref, valid_before, valid_after, lo, hi, q_t[remaining])
            code = np.where(j >= 0, self.bad_code[np.maximum(j, 0)], S.EXPIRED)
            code = np.where(code == S.OK, S.EXPIRED, code)
            reason[remaining] = np.where((lo < 0) & (hi < 0), S.NO_EPHEMERIS, code)
        return chosen, reason


def _validity(letter, msgs, override=None):
    """(before, after) validity arrays (s) of the messages."""
    m = len(msgs)
    if override is not None and letter in override:
        before, after = override[letter]
        return np.full(m, float(before)), np.full(m, float(after))
    before, after = VALIDITY_S[letter]
    if letter in "GJ" and "fit_interval" in msgs.dtype.names:
        fit = np.asarray(msgs["fit_interval"], dtype=np.float64)
        if letter == "G":  # hours as written; 0/NaN -> 4 h; flag 1 (> 4 h) -> 6 h
            hours = np.where(np.isnan(fit) | (fit < 4.0), 4.0, fit)
            hours = np.where(fit == 1.0, 6.0, hours)
        else:  # QZSS: flag 0 -> 2 h, flag 1 -> 4 h, else hours
            hours = np.where(np.isnan(fit) | (fit == 0.0), 2.0, fit)
            hours = np.where(fit == 1.0, 4.0, hours)
        half = hours * 3600.0 / 2.0
        return half, half
    return np.full(m, before), np.full(m, after)


def _health_mask(letter, band, mtype) -> np.ndarray | int:
    """Bits of the health word that must be 0 for the message to be used."""
    if letter == "E":
        type_mask = np.where(mtype == "FNAV", _GAL_E5A, _GAL_E1B | _GAL_E5B)
        signal_mask = {"1": _GAL_E1B, "5": _GAL_E5A, "7": _GAL_E5B}.get(band, 0x1FF)
        both = type_mask & signal_mask
        return np.where(both != 0, both, type_mask)
    if letter == "J":
        return ~np.int64(1)
    return ~np.int64(0)


def _groups(letter, band, mtype, usable):
    """Preference order of message types for a system and signal band."""
    if letter == "E":
        order = (["FNAV"], ["INAV"]) if band == "5" else (["INAV"], ["FNAV"])
    elif letter in "GJ":
        order = (["LNAV", ""], ["CNAV", "CNV2"])
    elif letter == "C":
        legacy, cnav = ["D1", "D2", ""], ["CNV1", "CNV2", "CNV3"]
        first = {"1": ["CNV1"], "5": ["CNV2"]}.get(band)
        order = (first, legacy, cnav) if first else (legacy, cnav)
    else:
        order = (None,)
    return [usable if types is None else usable & np.isin(mtype, types) for types in order]


def _group_delay(letter, band, msgs, rows, mtype_used, column=None):
    """Broadcast group delay (s) for ``band`` of the messages ``msgs[rows]`` (``column(name)``:
    the float64 column of a field, default read from ``msgs``)."""
    n = rows.size
    nan = np.full(n, np.nan)
    if band is None:
        return nan

    def col(name):
        if name not in msgs.dtype.names:
            return nan
        whole = column(name) if column is not None else np.asarray(msgs[name], dtype=np.float64)
        return whole[rows]

    if letter in "GJ":  # IS-GPS-200 20.3.3.3.3.2
        gamma = (C.FREQ_L1 / C.FREQ_L2) ** 2
        return {"1": col("tgd"), "2": gamma * col("tgd")}.get(band, nan)
    if letter == "E":  # OS SIS ICD 5.1.5
        if band == "1":
            return np.where(mtype_used == "FNAV", col("bgd_e5a"), col("bgd_e5b"))
        if band == "5":
            return (C.FREQ_L1 / C.FREQ_L5) ** 2 * col("bgd_e5a")
        if band == "7":
            return (C.FREQ_L1 / C.FREQ_E5B) ** 2 * col("bgd_e5b")
        return nan
    if letter == "C":  # BDS-SIS-ICD 5.2.4.10: clock refers to B3I
        legacy = np.isin(mtype_used, ["D1", "D2", ""])
        value = {"2": col("tgd"), "7": col("tgd2"), "6": np.zeros(n)}.get(band, nan)
        return np.where(legacy, value, np.nan)
    if letter == "I":  # IRNSS SPS ICD 1.1, 6.2.1: clock for the L5/S combination
        gamma = (C.FREQ_L5 / C.FREQ_S) ** 2
        return {"5": col("tgd"), "9": gamma * col("tgd")}.get(band, nan)
    if letter == "R":  # delta tau_n: L2 minus L1 (ICD 5.1 table 4.5), 0 when unknown
        dtau = np.nan_to_num(col("group_delay"), nan=0.0)
        return {"1": np.zeros(n), "2": dtau}.get(band, nan)
    if letter == "S":
        return np.zeros(n) if band == "1" else nan
    return nan


class _SystemTable:
    """The messages of one system prepared for many queries: what does not depend on the
    signal (satellite, reference time, type, health word, consistency, field columns) once,
    and per signal band and validity option the message choice (:class:`_Selector`)."""

    def __init__(self, letter, msgs):
        self.letter = letter
        self.msgs = msgs
        names = self.names = msgs.dtype.names
        self.msg_sat = np.asarray(msgs["sat"], dtype=np.int64)
        self.ref = np.asarray(msgs["toe"] if letter in _KEPLER_SYSTEMS else msgs["toc"], dtype=np.int64)
        self.mtype = _message_types(msgs)
        health = np.asarray(msgs["health"], dtype=np.float64)
        self.health_finite = np.isfinite(health)
        self.health_int = np.where(self.health_finite, health, 0).astype(np.int64)
        self.sbas_unusable = None
        if letter == "S" and "accuracy" in names:  # URA index 15 written as 32767 m: do not use
            self.sbas_unusable = np.asarray(msgs["accuracy"], dtype=np.float64) >= 32767.0
        self.supported = np.isin(self.mtype, _SUPPORTED_TYPES[letter])
        consistent = np.ones(len(msgs), dtype=bool)
        if letter in "GJ" and "iodc" in names:
            iode, iodc = np.asarray(msgs["iode"], float), np.asarray(msgs["iodc"], float)
            consistent = ~(np.isfinite(iode) & np.isfinite(iodc) & (iode != np.mod(iodc, 256)))
        self.consistent = consistent
        self.ref_ok = self.ref > 0
        self._selectors = {}
        self._columns = {}
        self._float_columns = {}

    def column(self, name):
        """Field ``name`` as a contiguous array of its own dtype (gathered fast by rows)."""
        c = self._columns.get(name)
        if c is None:
            c = self._columns[name] = np.ascontiguousarray(self.msgs[name])
        return c

    def kepler_matrix(self):
        """The float fields of :data:`_KEPLER_FLOAT_FIELDS` as one (messages, fields) float64
        array (NaN for a field the messages lack), gathered by rows in one step."""
        m = self._columns.get("__kepler_matrix__")
        if m is None:
            m = np.full((len(self.msgs), len(_KEPLER_FLOAT_FIELDS)), np.nan)
            for j, f in enumerate(_KEPLER_FLOAT_FIELDS):
                if f in self.names:
                    m[:, j] = self.msgs[f]
            m = self._columns["__kepler_matrix__"] = m
        return m

    def kepler_constants(self):
        """:func:`~satnav.orbits.kepler.kepler_constants` of all the messages, packed
        (:func:`~satnav.orbits.kepler.pack_constants`; computed once: a plan gathers its
        rows, :func:`~satnav.orbits.kepler.gather_constants`)."""
        k = self._columns.get("__kepler_constants__")
        if k is None:
            m = self.kepler_matrix()
            eph = {f: m[:, j] for j, f in enumerate(_KEPLER_FLOAT_FIELDS)}
            eph["sat"], eph["toe"], eph["toc"] = self.msg_sat, self.ref, self.column("toc")
            k = self._columns["__kepler_constants__"] = pack_constants(kepler_constants(eph, self.letter))
        return k

    def group_delay(self, band):
        """:func:`_group_delay` of all the messages for ``band`` (computed once per band)."""
        key = ("__group_delay__", band)
        g = self._columns.get(key)
        if g is None:
            rows = np.arange(len(self.msgs))
            g = self._columns[key] = _group_delay(self.letter, band, self.msgs, rows, self.mtype, self.float_column)
        return g

    def float_column(self, name):
        c = self._float_columns.get(name)
        if c is None:
            c = self._float_columns[name] = np.asarray(self.msgs[name], dtype=np.float64)
        return c

    def selector(self, band, validity) -> _Selector:
        key = (band, None if validity is None or self.letter not in validity else tuple(validity[self.letter]))
        sel = self._selectors.get(key)
        if sel is None:
            letter, msgs, mtype = self.letter, self.msgs, self.mtype
            healthy = self.health_finite & ((self.health_int & _health_mask(letter, band, mtype)) == 0)
            if self.sbas_unusable is not None:
                healthy &= ~self.sbas_unusable
            bad_code = np.where(
                ~self.supported | ~self.ref_ok,
                S.UNSUPPORTED,
                np.where(~healthy, S.UNHEALTHY, np.where(~self.consistent, S.INCONSISTENT_ISSUE, S.OK)),
            ).astype(np.int8)
            usable = bad_code == S.OK
            sel = self._selectors[key] = _Selector(
                self.msg_sat, self.ref, _validity(letter, msgs, validity), _groups(letter, band, mtype, usable),
                bad_code,
            )  # fmt: skip
        return sel


def _system_states(table, q_sat, q_t, band, out, where, validity=None):
    """Fill ``out`` (flat SatelliteStates) at positions ``where`` for one system that has no
    Keplerian messages (GLONASS, SBAS; Keplerian systems: :class:`_QueryPlan`)."""
    if table is None:
        out.reason[where] = S.NO_EPHEMERIS
        return
    letter, msgs, names = table.letter, table.msgs, table.names
    chosen, reason = table.selector(band, validity).select(q_sat, q_t)
    out.reason[where] = reason
    ok = chosen >= 0
    if not ok.any():
        return
    rows = chosen[ok]
    tgt = where[ok]
    t = q_t[ok]
    column = table.column
    if letter == "R":
        eph = {f: column(f)[rows] for f in _GLONASS_FIELDS}
        pos, vel, clk, drift, rel = glonass_states(eph, t)
    else:  # SBAS: second-order Taylor expansion of the GEO state (RTCA DO-229 A.4.4.11)
        dt = (t - msgs["toc"][rows]) / NS_PER_S

        def vec(a, b, c):
            return np.stack([np.asarray(msgs[k][rows], dtype=np.float64) for k in (a, b, c)], -1)

        r0, v0, a0 = vec("x", "y", "z"), vec("vx", "vy", "vz"), vec("ax", "ay", "az")
        pos = r0 + v0 * dt[:, None] + 0.5 * a0 * (dt * dt)[:, None]
        vel = v0 + a0 * dt[:, None]
        af1 = np.asarray(msgs["af1"][rows], dtype=np.float64)
        clk = np.asarray(msgs["af0"][rows], dtype=np.float64) + af1 * dt
        drift, rel = af1, np.zeros_like(dt)
    if pos is not None:  # (None: not asked for, left NaN)
        out.position_m[tgt] = pos
    if vel is not None:  # (None: not asked for, left NaN)
        out.velocity_m_s[tgt] = vel
        out.clock_drift_s_s[tgt] = drift
    out.clock_s[tgt] = clk
    out.relativity_s[tgt] = rel
    out.group_delay_s[tgt] = _group_delay(letter, band, msgs, rows, table.mtype[rows], table.float_column)
    out.iode[tgt] = table.float_column("iode")[rows] if "iode" in names else np.nan
    out.message_toe_ns[tgt] = table.ref[rows]
    out.valid[tgt] = True
    out.reason[tgt] = S.OK


class BroadcastEphemeris:
    """The broadcast messages of a ``Navigation`` prepared for many calls of
    :meth:`states` (a solver's time chunks, or a per-epoch engine): per system the message
    tables, and per signal band the sorted message index of :func:`select_messages`, are
    built on first use and kept. :meth:`states` returns exactly what
    :func:`broadcast_states` returns for the same arguments (that function builds a
    throw-away instance). The messages must not change while the instance is used (build
    a new one for new messages: :meth:`Navigation.merge` returns a new ``Navigation``)."""

    def __init__(self, nav) -> None:
        self.nav = nav
        self.messages = getattr(nav, "messages", {}) or {}
        self._tables: dict = {}
        self._plans: dict = {}  # small queries' _QueryPlan by satellites and signals
        self._expected: list = []  # (letter, band) of the choices prepare_ahead makes first (expect)
        self._row_tables: dict = {}  # PackedRowTable by signals (row_table)

    def prepare_ahead(self, deadline: float) -> bool:
        """Work ahead for the small queries to come (a per-epoch engine's, while it waits
        for its next epoch): the message choice intervals of every satellite
        (:meth:`_Selector.prepare_ahead`) for each signal band asked so far, until
        ``deadline`` (``time.perf_counter`` s). True when nothing is left to do. The states
        returned are the same with or without it."""
        while self._expected:
            letter, band = self._expected.pop()
            table = self.table(letter)
            if table is not None:
                table.selector(band, None)
                if letter in _KEPLER_SYSTEMS:  # what a plan gathers (_QueryPlan)
                    table.kepler_constants()
                    table.group_delay(band)
                    table.column("toc")
                    if "iode" in table.names:
                        table.float_column("iode")
            if time.perf_counter() > deadline:
                return False
        for table in self._tables.values():
            if table is None:
                continue
            for key, selector in list(table._selectors.items()):
                if key[1] is None and not selector.prepare_ahead(deadline):
                    return False
        return all(rows.prepare_ahead(self, deadline) for rows in list(self._row_tables.values()))

    def expect(self, older: BroadcastEphemeris) -> None:
        """Prepare in :meth:`prepare_ahead` what ``older`` (the instance this one replaces,
        built for older messages) was asked before any query asks for it: the message
        choices of every signal band of its small queries (default validity) and its
        :meth:`row_table` of each signal set, at the time it was last read. A per-epoch
        engine given new messages mid-stream then answers its next epoch without selecting
        every satellite's message again (tens of milliseconds)."""
        self._expected.extend((letter, key[0]) for letter, table in older._tables.items() if table is not None
                              for key in table._selectors if key[1] is None)
        for rows in older._row_tables.values():
            if rows.last_ns is not None:
                self.row_table(rows.signals).read(rows.last_ns)

    def table(self, letter):
        """:class:`_SystemTable` of a system (None without messages)."""
        if letter not in self._tables:
            msgs = self.messages.get(letter)
            self._tables[letter] = None if msgs is None or len(msgs) == 0 else _SystemTable(letter, msgs)
        return self._tables[letter]

    def __call__(self, sat, time_ns, signal=None) -> S.SatelliteStates:
        """``states(sat, time_ns, signal)`` (a satellite-state source's call)."""
        return self.states(sat, time_ns, signal=signal)

    def states(self, sat, time_ns, *, signal=None, validity=None, velocity=True,
               positions=True) -> S.SatelliteStates:
        """As :func:`broadcast_states` (same parameters, same results)."""
        band = signal_band(signal)
        sat_arr = np.asarray(sat)
        if not np.issubdtype(sat_arr.dtype, np.integer):
            raise TypeError("sat must be integer satellite indices (see satnav.satellites)")
        time_arr = np.asarray(time_ns)
        if not np.issubdtype(time_arr.dtype, np.integer):
            raise TypeError("time_ns must be int64 GPST nanoseconds")
        if sat_arr.shape == time_arr.shape:
            shape = sat_arr.shape
            q_sat = sat_arr.ravel().astype(np.int64)
            q_t = time_arr.ravel().astype(np.int64)
        else:
            shape = np.broadcast_shapes(sat_arr.shape, time_arr.shape)
            q_sat = np.broadcast_to(sat_arr, shape).ravel().astype(np.int64)
            q_t = np.broadcast_to(time_arr, shape).ravel().astype(np.int64)
        return self._fill(q_sat, q_t, {}, band, validity, velocity, positions).reshape(shape)

    def row_table(self, signals: dict) -> PackedRowTable:
        """The :class:`PackedRowTable` of ``signals`` (system letter -> signal code, as
        :meth:`states_by_system`'s), kept: what the one-epoch kernels of the live engine read
        for any set of satellites (and renew from :meth:`epoch_plan` when a time leaves a
        satellite's interval)."""
        key = tuple(signals.items())
        table = self._row_tables.get(key)
        if table is None:
            if len(self._row_tables) > 16:
                self._row_tables.clear()
            table = self._row_tables[key] = PackedRowTable(dict(signals))
        return table

    def states_by_system(self, sat, time_ns, signals: dict, *, validity=None) -> S.SatelliteStates:
        """States of flat (satellite, time) pairs of several systems, each system with its
        own signal (``signals``: system letter -> signal code, as ``signal`` of
        :meth:`states`): the same values as one :meth:`states` call per system, with the
        Keplerian orbits of all systems evaluated in one step (a per-epoch solver's two
        dozen satellites of three or four systems)."""
        q_sat = np.asarray(sat, dtype=np.int64).ravel()
        q_t = np.asarray(time_ns, dtype=np.int64).ravel()
        return self._fill(q_sat, q_t, signals, None, validity)

    def _fill(self, q_sat, q_t, signals, band, validity, velocity=True, positions=True) -> S.SatelliteStates:
        """Flat states of the pairs ``(q_sat, q_t)``, with the band of ``signals[letter]``
        (else ``band``) per system (:meth:`_plan`)."""
        return self._plan(q_sat, q_t, signals, band, validity).fill(q_sat, q_t, velocity, positions)

    def epoch_plan(self, sat, time_ns, signals: dict):
        """The plan of :meth:`states_by_system` for the flat pairs ``(sat, time_ns)`` (int64)
        and ``signals``: the one kept when its message choices hold at these times, else
        renewed (and kept); what :meth:`states_by_system` evaluates (for the one-epoch
        kernels, which evaluate it themselves: :meth:`_QueryPlan.packed_rows`)."""
        return self._plan(sat, time_ns, signals, None, None)

    def _plan(self, q_sat, q_t, signals, band, validity) -> _QueryPlan:
        """The :class:`_QueryPlan` of the pairs ``(q_sat, q_t)``. A small query repeated with
        the same satellites and signals (a per-epoch solver's, epoch after epoch) reuses its
        plan as long as every satellite's message choice stays the same at the new times."""
        key = None
        if validity is None and q_sat.size <= _CACHED_QUERY_MAX:
            key = (q_sat.tobytes(), band, tuple(signals.items()))
            plan = self._plans.get(key)
            if plan is not None:
                if plan.current(q_t):
                    return plan
                selection = plan.refresh(q_sat, q_t)
                if selection is True:
                    return plan
                plan = _QueryPlan(self, q_sat, q_t, signals, band, validity, like=plan, selection=selection)
                self._plans[key] = plan
                return plan
        plan = _QueryPlan(self, q_sat, q_t, signals, band, validity)
        if key is not None:
            if len(self._plans) > 16:
                self._plans.clear()
            self._plans[key] = plan
        return plan


class _QueryPlan:
    """What the states of a set of (satellite, time) pairs need besides the times: per system
    the message chosen for each pair (:meth:`_Selector.select`) and the reasons, the
    Keplerian messages' fields gathered in one array (every system's orbits evaluated in one
    :func:`~satnav.orbits.kepler.kepler_states` call; each element's value does not depend on
    what is evaluated with it), their group delays and issues of data; GLONASS and SBAS
    (:func:`_system_states`) computed at each :meth:`fill`. :meth:`current` says whether the
    choices still hold at other times (every Keplerian pair inside the interval of its
    selector's cache where its choice is constant; never for queries too large for that
    cache)."""

    def __init__(self, eph: BroadcastEphemeris, q_sat, q_t, signals, band, validity, *, like=None, selection=None):
        """``like``: a plan of the same query (satellites, signals, validity) at other times,
        whose systems are taken as they are; ``selection``: :meth:`_select` at ``q_t``, done."""
        self.validity = validity
        if like is not None:
            self.others, self.systems = like.others, like.systems
        else:
            self.others = []  # (table, where, band) of non-Keplerian systems
            self.systems = []  # (table, selector, where, band) of Keplerian systems
            number = system_number_of(q_sat)
            for num in np.unique(number).tolist():
                if not 0 <= num < len(SYSTEMS):
                    continue
                letter = SYSTEMS[num]
                where = np.flatnonzero(number == num)
                table = eph.table(letter)
                b = signal_band(signals[letter]) if letter in signals else band
                if table is None or letter not in _KEPLER_SYSTEMS:
                    self.others.append((table, where, b))
                    continue
                self.systems.append((table, table.selector(b, validity), where, b))
        asked, reasons, lows, highs, choices = selection if selection is not None else self._select(q_sat, q_t)
        self.chosen = choices
        parts = []
        for (table, _, where, b), chosen in zip(self.systems, choices):
            ok = chosen >= 0
            if ok.any():
                parts.append((table, chosen[ok], where[ok], b))
        cat = np.concatenate
        self.asked = cat(asked) if asked else np.zeros(0, np.intp)
        self.reason = cat(reasons) if reasons else np.zeros(0, np.int8)
        self.low = cat(lows) if lows else np.zeros(0, np.int64)
        self.high = cat(highs) if highs else np.zeros(0, np.int64)
        self.where = None
        self.complete = False
        if not parts:
            return
        self.where = cat([p[2] for p in parts])
        # every pair Keplerian with a message, in order: the states are the orbits' as they are
        n = q_sat.size
        self.complete = (not self.others and self.where.size == n
                         and bool(np.array_equal(self.where, np.arange(n))))
        if len(parts) > 1:
            matrix = cat([p[0].kepler_matrix()[p[1]] for p in parts])
            sat = cat([p[0].msg_sat[p[1]] for p in parts])
            self.toe = cat([p[0].ref[p[1]] for p in parts])
            toc = cat([p[0].column("toc")[p[1]] for p in parts])
            self.letters = np.repeat(np.array([p[0].letter for p in parts]), [len(p[1]) for p in parts])
        else:
            table, rows = parts[0][0], parts[0][1]
            matrix, sat, self.toe, toc = (table.kepler_matrix()[rows], table.msg_sat[rows], table.ref[rows],
                                          table.column("toc")[rows])
            self.letters = table.letter
        self.eph = {f: matrix[:, j] for j, f in enumerate(_KEPLER_FLOAT_FIELDS)}
        self.eph["sat"], self.eph["toe"], self.eph["toc"] = sat, self.toe, toc
        # what the orbits and clocks need from the messages alone, once per plan
        self.kepler = gather_constants([(t.kepler_constants(), rows) for t, rows, _, _ in parts], self.letters)
        self.group_delay = cat([t.group_delay(b)[rows] for t, rows, _, b in parts])
        self.iode = cat([t.float_column("iode")[rows] if "iode" in t.names else np.full(rows.size, np.nan)
                         for t, rows, _, _ in parts])

    def _select(self, q_sat, q_t):
        """Per Keplerian system (:attr:`systems`): the pairs asked, their reasons, the
        intervals where their choices hold (0, 0: none) and the messages chosen."""
        asked, reasons, lows, highs, choices = [], [], [], [], []
        for _, selector, where, _ in self.systems:
            chosen, reason, low, high = self._select_system(selector, where, q_sat, q_t)
            asked.append(where)
            reasons.append(reason)
            lows.append(low)
            highs.append(high)
            choices.append(chosen)
        return asked, reasons, lows, highs, choices

    @staticmethod
    def _select_system(selector, where, q_sat, q_t):
        """(chosen, reason, low, high) of the pairs ``where`` of one system (:meth:`_select`)."""
        sats, times = q_sat[where], q_t[where]
        chosen, reason = selector.select(sats, times)
        if selector._cache is not None and where.size <= _CACHED_QUERY_MAX:
            inside = (sats >= 0) & (sats < MAX_SATELLITES)
            s = np.where(inside, sats, 0)
            lo, hi = selector._cache[0][s], selector._cache[1][s]
            # the selector keeps one interval per satellite: a satellite asked at two
            # times (an RTK engine's base and rover epochs in one query) has the
            # interval of one of them; a pair outside the kept interval is never
            # served again (its choice may differ from that interval's)
            own = (lo < times) & (times < hi) & inside
            return chosen, reason, np.where(own, lo, 0), np.where(own, hi, 0)
        zeros = np.zeros(where.size, np.int64)
        return chosen, reason, zeros, zeros

    def refresh(self, q_sat, q_t):
        """Re-select the messages at the times ``q_t`` (of the systems with a pair outside
        its interval): True (the plan's intervals moved on) when every pair's choice and
        reason are those of the plan, so that the plan's arrays, which depend on the choices
        only, hold as they are (a selector's breakpoint passed without a new choice); else
        the selection (:meth:`_select`), for the plan that replaces this one."""
        t = q_t[self.asked]
        held = (self.low < t) & (t < self.high)
        asked, reasons, lows, highs, choices = [], [], [], [], []
        same, at = True, 0
        for (_, selector, where, _), old in zip(self.systems, self.chosen):
            seg = slice(at, at + where.size)
            at += where.size
            if held[seg].all():
                chosen, reason, low, high = old, self.reason[seg], self.low[seg], self.high[seg]
            else:
                chosen, reason, low, high = self._select_system(selector, where, q_sat, q_t)
                same = same and np.array_equal(chosen, old) and np.array_equal(reason, self.reason[seg])
            asked.append(where)
            reasons.append(reason)
            lows.append(low)
            highs.append(high)
            choices.append(chosen)
        if not same:
            return asked, reasons, lows, highs, choices
        self.low = np.concatenate(lows) if lows else np.zeros(0, np.int64)
        self.high = np.concatenate(highs) if highs else np.zeros(0, np.int64)
        return True

    def packed_rows(self):
        """``(floats, times, geo, group_delay)`` of the pairs, in order, for the one-epoch
        kernels: the messages' packed constants (:attr:`KeplerConstants.floats`, ``times``,
        ``geo``; :func:`~satnav.orbits.kepler.kepler_state_of_row`) and group delays (s; 0
        for unknown); None unless every pair is Keplerian with a message (``complete``).
        Read-only arrays, made once per plan."""
        rows = getattr(self, "_packed_rows", False)
        if rows is False:
            k = self.kepler if self.complete else None
            rows = None
            if k is not None and k.floats is not None:
                rows = (k.floats, k.times, k.geo, np.nan_to_num(np.asarray(self.group_delay, dtype=np.float64)))
                for a in rows:
                    a.flags.writeable = False
            self._packed_rows = rows
        return rows

    def current(self, q_t) -> bool:
        """Whether every Keplerian pair's message choice (and reason) holds at the times ``q_t``."""
        t = q_t[self.asked]
        return bool(np.all((self.low < t) & (t < self.high)))

    def fill(self, q_sat, q_t, velocity=True, positions=True) -> S.SatelliteStates:
        if self.complete and velocity and positions:  # (the values written below, without the fill)
            pos, vel, clk, drift, rel = kepler_states(self.eph, q_t, self.letters, constants=self.kepler)
            return S.SatelliteStates(
                position_m=pos, velocity_m_s=vel, clock_s=clk, clock_drift_s_s=drift, relativity_s=rel,
                group_delay_s=np.array(self.group_delay, dtype=np.float64), iode=np.array(self.iode, dtype=np.float64),
                message_toe_ns=np.array(self.toe, dtype=np.int64),
                valid=np.ones(q_sat.size, dtype=bool), reason=np.full(q_sat.size, S.OK, dtype=np.int8))
        out = S.empty_states((q_sat.size,), S.NO_EPHEMERIS)
        out.reason[self.asked] = self.reason
        for table, where, band in self.others:
            _system_states(table, q_sat[where], q_t[where], band, out, where, self.validity)
        where = self.where
        if where is None:
            return out
        pos, vel, clk, drift, rel = kepler_states(self.eph, q_t[where], self.letters, velocity=velocity,
                                                  orbit=positions, constants=self.kepler)
        if pos is not None:  # (None: not asked for, left NaN)
            out.position_m[where] = pos
        if vel is not None:
            out.velocity_m_s[where] = vel
            out.clock_drift_s_s[where] = drift
        out.clock_s[where] = clk
        out.relativity_s[where] = rel
        out.group_delay_s[where] = self.group_delay
        out.iode[where] = self.iode
        out.message_toe_ns[where] = self.toe
        out.valid[where] = True
        out.reason[where] = S.OK
        return out


class _Rows:
    """A row per satellite index: a message choice's interval and, for a Keplerian message,
    its packed constants (:class:`PackedRowTable`)."""

    __slots__ = ("floats", "times", "geo", "group_delay", "has", "low", "high")

    def __init__(self) -> None:
        self.floats = None  # (MAX_SATELLITES, packed columns), made by the first store
        self.times = np.zeros((MAX_SATELLITES, 2), np.int64)
        self.geo = np.zeros(MAX_SATELLITES, bool)
        self.group_delay = np.zeros(MAX_SATELLITES)
        self.has = np.zeros(MAX_SATELLITES, bool)
        self.low = np.zeros(MAX_SATELLITES, np.int64)
        self.high = np.zeros(MAX_SATELLITES, np.int64)

    def store(self, q_sat, plan: _QueryPlan) -> None:
        """The rows of the satellites ``q_sat`` (int64, each once) from ``plan``, their
        :class:`_QueryPlan`."""
        asked = q_sat[plan.asked]
        self.low[asked], self.high[asked] = plan.low, plan.high
        self.has[asked] = False
        k = plan.kepler if plan.where is not None else None
        if k is None or k.floats is None:
            return
        sats = q_sat[plan.where]
        if self.floats is None:
            self.floats = np.zeros((MAX_SATELLITES, k.floats.shape[1]))
        self.floats[sats], self.times[sats], self.geo[sats] = k.floats, k.times, k.geo
        self.group_delay[sats] = np.nan_to_num(np.asarray(plan.group_delay, dtype=np.float64))
        self.has[sats] = True

    def holds(self, sats, t):
        """Whether each satellite's kept choice holds at its time ``t`` (int64 GPST ns)."""
        return (self.low[sats] < t) & (t < self.high[sats])

    def take(self, other: _Rows, sats) -> None:
        """The rows of ``sats`` from ``other``."""
        for name in self.__slots__:
            if name == "floats":
                if other.floats is None:  # (no message there: ``has`` False)
                    continue
                if self.floats is None:
                    self.floats = np.zeros_like(other.floats)
            getattr(self, name)[sats] = getattr(other, name)[sats]


class PackedRowTable:
    """The message choices of single satellites for one set of signals (system letter ->
    signal code), a row per satellite index: what the one-epoch kernels read for any set
    of satellites, so that a satellite rising or setting costs no new plan (a plan of a set
    gathers the same rows: each row depends on its own message alone).

    Each row (:attr:`now`) holds the interval (``low``, ``high``: int64 GPST ns, exclusive;
    0, 0: none) where the satellite's choice (and reason) is the one kept, whether that
    choice is a Keplerian message (``has``), and its packed constants (``floats``,
    ``times``, ``geo``: :meth:`_QueryPlan.packed_rows`) and group delay (``group_delay``,
    s, 0 for unknown). :attr:`next` holds the choice after ``high`` of the satellites whose
    interval ends soon. Rows are written from plans (:meth:`renew`); :meth:`prepare_ahead`
    writes, while the engine waits for its next epoch, those of every satellite with
    messages at the last time read (``last_ns``) and the next ones of the intervals ending
    within a few epochs of it."""

    #: Satellites a plan made ahead takes at a time (a slice of work between looks at the
    #: input: about 0.2 ms).
    AHEAD_CHUNK = 12
    #: Past the end of an interval, the time the next choice is asked at (ns; beyond the
    #: selector's margin around its breakpoints).
    NEXT_OFFSET_NS = 10 * _CACHE_MARGIN_NS

    def __init__(self, signals: dict) -> None:
        self.signals = signals
        self.now, self.next = _Rows(), _Rows()
        self.last_ns: int | None = None
        self._step_ns = 0  # between the last two times read
        self._scanned: int | None = None
        self._todo: list = []  # (rows, satellites, time) of plans to make ahead
        self._candidates = None

    def read(self, t_ns: int) -> None:
        """Set the last time read (``last_ns``, int64 GPST ns) for the work ahead."""
        if self.last_ns is not None and t_ns > self.last_ns:
            self._step_ns = t_ns - self.last_ns
        self.last_ns = t_ns

    def gather(self, sats):
        """``(low, high, floats, times, geo, group_delay)`` of the satellites ``sats`` (int64
        indices), or None unless each has a Keplerian message row."""
        rows = self.now
        if rows.floats is None or not rows.has[sats].all():
            return None
        return rows.low[sats], rows.high[sats], rows.floats[sats], rows.times[sats], rows.geo[sats], \
            rows.group_delay[sats]

    def renew(self, eph: BroadcastEphemeris, sats, t_ns) -> None:
        """Make the rows of ``sats`` (int64, each once) hold at their times ``t_ns`` (int64
        GPST ns): those prepared next where they hold, else from the plan of the others
        (:meth:`BroadcastEphemeris.epoch_plan`)."""
        stale = ~self.now.holds(sats, t_ns)
        if not stale.any():
            return
        sats, t_ns = sats[stale], t_ns[stale]
        ready = self.next.holds(sats, t_ns)
        if ready.any():
            self.now.take(self.next, sats[ready])
            sats, t_ns = sats[~ready], t_ns[~ready]
        if sats.size:
            self.now.store(sats, eph.epoch_plan(sats, t_ns, self.signals))

    def prepare_ahead(self, eph: BroadcastEphemeris, deadline: float) -> bool:
        """Write the rows ahead (class docstring), a few satellites at a time until
        ``deadline`` (``time.perf_counter`` s); True when none is left."""
        t = self.last_ns
        if t is None:
            return True
        if self._scanned != t:
            self._scanned = t
            c = self._satellites(eph)
            now, nxt = self.now, self.next
            todo = [(now, chunk, np.full(chunk.size, t, np.int64)) for chunk in self._chunks(c[~now.holds(c, t)])]
            # the intervals that end within a few epochs: the choice after each
            end = now.high[c]
            soon = now.has[c] & (end > t) & (end - t < max(3 * self._step_ns, 5 * NS_PER_S))
            after = end + self.NEXT_OFFSET_NS
            soon &= ~nxt.holds(c, after)
            todo += [(nxt, chunk, after_chunk) for chunk, after_chunk in zip(self._chunks(c[soon]),
                                                                             self._chunks(after[soon]))]
            self._todo = todo[::-1]
        todo = self._todo
        while todo:
            if time.perf_counter() > deadline:
                return False
            rows, sats, times = todo.pop()
            rows.store(sats, _QueryPlan(eph, sats, times, self.signals, None, None))
        return True

    def _chunks(self, a):
        return [a[i:i + self.AHEAD_CHUNK] for i in range(0, a.size, self.AHEAD_CHUNK)]

    def _satellites(self, eph: BroadcastEphemeris):
        """The satellites with messages of the table's Keplerian systems (int64)."""
        if self._candidates is None:
            found = [np.unique(eph.table(s).msg_sat) for s in self.signals
                     if s in _KEPLER_SYSTEMS and eph.table(s) is not None]
            sats = np.concatenate(found).astype(np.int64) if found else np.zeros(0, np.int64)
            self._candidates = sats[(sats >= 0) & (sats < MAX_SATELLITES)]
        return self._candidates


def broadcast_states(nav, sat, time_ns, *, signal=None, validity=None,
                     velocity=True, positions=True) -> S.SatelliteStates:
    """Satellite states from broadcast ephemerides for (satellite, time) pairs.

    Parameters
    ----------
    nav : satnav.navigation.Navigation
        Navigation messages (``nav.messages[letter]`` structured arrays).
    sat : int array
        Satellite indices (``satnav.satellites.satellite_index``); broadcast against
        ``time_ns`` (e.g. ``sat[None, :]`` and ``time_ns[:, None]`` for epochs x satellites).
    time_ns : int64 array
        GPST ns of signal transmission.
    signal : str, optional
        RINEX 3 signal code or band ("C1C", "C5Q", "7"): chooses Galileo F/NAV for E5a
        (I/NAV otherwise, each falling back to the other), the Galileo health bits checked,
        and the group delay returned. None: no group delay (NaN), all health bits checked.
    validity : dict, optional
        Replaces the validity windows of some systems: ``{"E": (3600, 14400)}`` = usable from
        1 h before to 4 h after the reference time (s). Defaults: :data:`VALIDITY_S`.
    velocity : bool
        False: skip the velocities and clock drifts of Keplerian orbits (NaN in the
        result), for callers that need positions and clocks only (these are unchanged).
    positions : bool
        False: skip the orbits of Keplerian messages too (positions NaN; ``valid`` still
        says which pairs have a usable message), for callers that need the clocks only,
        e.g. to find the transmission time (the clocks are unchanged, bit for bit).

    Returns
    -------
    SatelliteStates
        Arrays of the broadcast shape; invalid pairs are NaN with ``reason`` set.
    """
    return BroadcastEphemeris(nav).states(sat, time_ns, signal=signal, validity=validity,
                                          velocity=velocity, positions=positions)
