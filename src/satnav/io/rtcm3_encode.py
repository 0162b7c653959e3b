"""RTCM 3 encoder: MSM4/MSM7 observations, station messages (1005, 1006, 1033) and broadcast
ephemerides (1019, 1020, 1042, 1045, 1046), for a base station or to write a log.

Sources: RTCM 10403.3 (2016): frame (4, CRC-24Q), MSM (3.5.16), 1005/1006 (3.5.3), 1033
(3.5.8), ephemerides (3.5.6, 3.5.7, 3.5.13, 3.5.15); the bit layouts and scale factors of
the ephemerides are the decoder's (:mod:`satnav.io.rtcm3_nav`), the MSM signal ids
:data:`satnav.signals.SIGNALS` (``rtcm_msm_signals``): one table each, read both ways.

**MSM.** Per satellite the rough range is the first pseudorange of the satellite rounded to
2^-10 ms; each signal's fine pseudorange and phase range are the differences to it. The
phase range of a RINEX phase can be far from the pseudorange (the receiver's arbitrary
integer ambiguity): it is shifted by a whole number of cycles, chosen at the start of each
lock arc and kept while the arc lasts (a new arc when the phase would not fit, with the lock
time restarted): decoded phases equal the input up to that constant integer per arc.
Lock time counts from the first phase of an arc (LLI bit 0 set, or a gap): the DF402/DF407
indicator of the time elapsed. LLI bit 1 (half-cycle unresolved) sets DF420. GLONASS needs
frequency channels (``glonass_channels``, or the observations' ``GLONASS SLOT / FRQ #``).
Several messages of one epoch carry the multiple-message bit, all but the last.
"""

from __future__ import annotations

import math

import numpy as np

from ..constants import SPEED_OF_LIGHT
from ..gnss_time import NS_PER_DAY, NS_PER_S, NS_PER_WEEK, bdt_week_tow, from_gpst
from ..navigation import Navigation
from ..observations import Observations
from ..satellites import SATELLITES_PER_SYSTEM, SYSTEMS, satellite_index
from ..signals import SIGNALS, carrier_frequency
from ._nav_tables import URA_NOMINAL_M
from .framing import crc24q
from .rtcm3_nav import _KEPLER_SCALE, _LAYOUTS, _SCALE_OVERRIDES, _TIME_SCALE
from .rtcm3_obs import _DF402_MS, _DF407_MS, RANGE_MS

__all__ = [
    "BitWriter",
    "frame",
    "encode_msm",
    "encode_station",
    "encode_1033",
    "encode_ephemeris",
    "Rtcm3Encoder",
]

_MSM_NUMBER = {letter: SIGNALS[letter].rtcm_msm_base for letter in SYSTEMS}


class BitWriter:
    """Big-endian bit fields appended one after the other (RTCM bit order)."""

    def __init__(self) -> None:
        self.value = 0
        self.nbits = 0

    def u(self, v: int, n: int) -> BitWriter:
        self.value = (self.value << n) | (int(v) & ((1 << n) - 1))
        self.nbits += n
        return self

    def s(self, v: int, n: int) -> BitWriter:
        """Two's complement."""
        return self.u(int(v) & ((1 << n) - 1), n)

    def sm(self, v: int, n: int) -> BitWriter:
        """Sign-magnitude."""
        v = int(v)
        return self.u(((1 << (n - 1)) if v < 0 else 0) | min(abs(v), (1 << (n - 1)) - 1), n)

    def to_bytes(self) -> bytes:
        pad = (-self.nbits) % 8
        return (self.value << pad).to_bytes((self.nbits + pad) // 8, "big")


def frame(payload: bytes) -> bytes:
    """An RTCM 3 frame: preamble, length, payload, CRC-24Q."""
    if len(payload) > 1023:
        raise ValueError(f"RTCM 3 payload of {len(payload)} bytes, at most 1023")
    head = bytes([0xD3, len(payload) >> 8, len(payload) & 0xFF]) + payload
    return head + crc24q(head).to_bytes(3, "big")


# ============================================================================ MSM
def _lock_indicator(ms: float, msm: int) -> int:
    """Largest lock-time indicator whose minimum lock time is at most ``ms``."""
    table = _DF402_MS if msm == 4 else _DF407_MS[:705]
    return int(np.searchsorted(table, ms, side="right") - 1)


def _epoch_fields(t_ns: int, letter: str) -> tuple[int, int]:
    """(GLONASS day of week or 0, time field in ms) of a GPST epoch for the system."""
    if letter == "R":
        glo = int(from_gpst(t_ns, "GLO"))
        day = glo // NS_PER_DAY
        # day of week: 0 = Sunday (GPS epoch 1980-01-06 was a Sunday)
        return int(day % 7), int((glo - day * NS_PER_DAY) // 1_000_000)
    if letter == "C":
        _, tow = bdt_week_tow(t_ns)
        return 0, int(round(float(tow) * 1000))
    return 0, int((t_ns % NS_PER_WEEK) // 1_000_000)


def encode_msm(
    rows: dict,
    letter: str,
    t_ns: int,
    *,
    station_id: int = 0,
    msm: int = 7,
    sync: bool = False,
    channels: dict | None = None,
) -> list[bytes]:
    """MSM4 or MSM7 frames of one system at one epoch.

    ``rows``: ``{(sat, "1C"): (pseudorange m, phase range m, range rate m/s, C/N0 dB-Hz,
    lock ms, half)}`` (NaN where absent; phase range already shifted into range by the
    caller). More than 64 cells are split over several messages (by satellite); all but the
    last carry the multiple-message bit, the last carries ``sync``.
    """
    inverse = {code: sid for sid, code in SIGNALS[letter].rtcm_msm_signals.items()}
    sats = sorted({s for s, _ in rows})
    sigs = sorted({inverse[c] for _, c in rows if c in inverse})
    groups: list[list[int]] = []
    per = max(1, 64 // max(1, len(sigs)))
    for i in range(0, len(sats), per):
        groups.append(sats[i : i + per])
    dow, tfield = _epoch_fields(t_ns, letter)
    out = []
    for gi, group in enumerate(groups):
        w = BitWriter()
        w.u(_MSM_NUMBER[letter] + msm, 12).u(station_id, 12)
        if letter == "R":
            w.u(dow, 3).u(tfield, 27)
        else:
            w.u(tfield, 30)
        w.u(1 if (gi < len(groups) - 1 or sync) else 0, 1).u(0, 3).u(0, 7).u(0, 2).u(0, 2).u(
            0, 1
        ).u(0, 3)
        prns = [s % SATELLITES_PER_SYSTEM - (19 if letter == "S" else 0) for s in group]
        mask = 0
        for p in prns:
            mask |= 1 << (64 - p)
        w.u(mask >> 32, 32).u(mask & 0xFFFFFFFF, 32)
        sigmask = 0
        for sid in sigs:
            sigmask |= 1 << (32 - sid)
        w.u(sigmask, 32)
        code_of = {sid: SIGNALS[letter].rtcm_msm_signals[sid] for sid in sigs}
        cells = []
        for s in group:
            for sid in sigs:
                present = (s, code_of[sid]) in rows
                w.u(int(present), 1)
                if present:
                    cells.append((s, sid, rows[(s, code_of[sid])]))
        # satellite data
        rough, ext, rate = {}, {}, {}
        for s in group:
            prs = [v[0] for (ss, _), v in rows.items() if ss == s and np.isfinite(v[0])]
            rr = [v[2] for (ss, _), v in rows.items() if ss == s and np.isfinite(v[2])]
            rough[s] = round(prs[0] / RANGE_MS * 1024) / 1024 if prs else math.nan
            rate[s] = round(rr[0]) if rr else None
            k = (channels or {}).get(s)
            ext[s] = k + 7 if (letter == "R" and k is not None) else 0
        for s in group:
            r = rough[s]
            w.u(int(r) if np.isfinite(r) and r < 255 else 255, 8)
        if msm == 7:
            for s in group:
                w.u(ext[s], 4)
        for s in group:
            r = rough[s]
            w.u(round((r - int(r)) * 1024) if np.isfinite(r) and r < 255 else 0, 10)
        if msm == 7:
            for s in group:
                w.s(rate[s] if rate[s] is not None and abs(rate[s]) < 8192 else -8192, 14)
        # signal data
        fine_pr_bits, fine_cp_bits, s_pr, s_cp = (
            (20, 24, 2.0**-29, 2.0**-31) if msm == 7 else (15, 22, 2.0**-24, 2.0**-29)
        )
        pr_f, cp_f = [], []
        for s, _, v in cells:
            r = rough[s] * RANGE_MS
            a = (v[0] - r) / RANGE_MS / s_pr if np.isfinite(v[0]) and np.isfinite(r) else None
            b = (v[1] - r) / RANGE_MS / s_cp if np.isfinite(v[1]) and np.isfinite(r) else None
            lim_pr, lim_cp = 1 << (fine_pr_bits - 1), 1 << (fine_cp_bits - 1)
            pr_f.append(round(a) if a is not None and abs(a) < lim_pr - 1 else -lim_pr)
            cp_f.append(round(b) if b is not None and abs(b) < lim_cp - 1 else -lim_cp)
        for v in pr_f:
            w.s(v, fine_pr_bits)
        for v in cp_f:
            w.s(v, fine_cp_bits)
        for _, _, v in cells:
            w.u(_lock_indicator(v[4], msm), 10 if msm == 7 else 4)
        for _, _, v in cells:
            w.u(1 if v[5] else 0, 1)
        for _, _, v in cells:
            cnr = v[3] if np.isfinite(v[3]) else 0.0
            if msm == 7:
                w.u(min(1023, max(0, round(cnr * 16))), 10)
            else:
                w.u(min(63, max(0, round(cnr))), 6)
        if msm == 7:
            for s, _, v in cells:
                f = (v[2] - rate[s]) / 1e-4 if np.isfinite(v[2]) and rate[s] is not None else None
                w.s(round(f) if f is not None and abs(f) < 16383 else -16384, 15)
        out.append(frame(w.to_bytes()))
    return out


# ============================================================================ station
def encode_station(station_id: int, position_m, antenna_height_m: float | None = None) -> bytes:
    """1005 (ARP, ECEF m) or, with an antenna height, 1006."""
    w = BitWriter().u(1006 if antenna_height_m is not None else 1005, 12).u(station_id, 12)
    w.u(0, 6).u(1, 1).u(1, 1).u(1, 1).u(0, 1)
    x, y, z = (round(float(c) * 1e4) for c in position_m)
    w.s(x, 38).u(0, 1).u(0, 1).s(y, 38).u(0, 2).s(z, 38)
    if antenna_height_m is not None:
        w.u(round(antenna_height_m * 1e4), 16)
    return frame(w.to_bytes())


def encode_1033(
    station_id: int,
    antenna: str = "",
    antenna_serial: str = "",
    receiver: str = "",
    firmware: str = "",
    receiver_serial: str = "",
) -> bytes:
    """1033: antenna and receiver descriptors (ASCII, at most 31 characters each)."""
    w = BitWriter().u(1033, 12).u(station_id, 12)
    for k, text in enumerate((antenna, antenna_serial, receiver, firmware, receiver_serial)):
        raw = text.encode("ascii", "replace")[:31]
        w.u(len(raw), 8)
        for b in raw:
            w.u(b, 8)
        if k == 0:
            w.u(0, 8)  # antenna setup id
    return frame(w.to_bytes())


# ============================================================================ ephemerides
def _index_of(value: float, table) -> int:
    """Smallest index whose table value is at least ``value`` (15 when NaN)."""
    if not np.isfinite(value):
        return 15
    for i, t in enumerate(table):
        if np.isfinite(t) and t >= value - 1e-9:
            return i
    return 15


def _sisa_index(m: float) -> int:
    if not np.isfinite(m):
        return 255
    if m < 0.5:
        return round(m / 0.01)
    if m < 1.0:
        return 50 + round((m - 0.5) / 0.02)
    if m < 2.0:
        return 75 + round((m - 1.0) / 0.04)
    if m <= 6.0:
        return 100 + round((m - 2.0) / 0.16)
    return 255


def encode_ephemeris(letter: str, rec, *, fnav: bool = False) -> bytes | None:
    """One ephemeris frame of a Navigation record (1019 GPS, 1044 QZSS, 1042 BeiDou, 1045
    Galileo F/NAV with ``fnav`` or an FNAV record, 1046 I/NAV, 1020 GLONASS); None for a
    system RTCM has no message for."""
    if letter == "R":
        return _encode_1020(rec)
    mtype = {"G": 1019, "J": 1044, "C": 1042, "I": 1041}.get(letter)
    if letter == "E":
        mtype = 1045 if (fnav or str(rec["message_type"]) == "FNAV") else 1046
    if mtype is None:
        return None
    scale = dict(_KEPLER_SCALE)
    scale.update(_SCALE_OVERRIDES.get(mtype, {}))
    ts = _TIME_SCALE[mtype]

    def num(name):
        v = float(rec[name])
        return 0.0 if not np.isfinite(v) else v

    raw: dict[str, int] = {}
    for name, s in scale.items():
        raw[name] = round(num(name) / s)
    prn = int(rec["sat"]) % SATELLITES_PER_SYSTEM
    raw["prn"] = prn
    week = int(num("week"))
    raw["week"] = (week - 1024) if mtype in (1045, 1046) else week if mtype == 1042 else week % 1024
    raw["toe"] = round(num("toe_sow") / ts)
    if mtype == 1042:
        toc_sow = float(bdt_week_tow(int(rec["toc"]))[1])
    else:
        toc_sow = (int(rec["toc"]) % NS_PER_WEEK) / NS_PER_S
    raw["toc"] = round(toc_sow / ts)
    raw["iode"] = int(num("iode"))
    raw["iodc"] = int(num("iodc"))
    raw["health"] = int(num("health"))
    raw["codes_l2"] = int(num("codes_l2"))
    raw["l2p_flag"] = int(num("l2p_flag"))
    raw["fit"] = 0 if num("fit_interval") in (2.0, 4.0) else 1  # the decoder's convention
    raw["ura"] = _index_of(num("accuracy"), URA_NOMINAL_M)
    raw["sisa"] = _sisa_index(float(rec["accuracy"]))
    h = int(num("health"))
    raw.update(
        e1b_dvs=h & 1,
        e1b_hs=(h >> 1) & 3,
        e5b_dvs=(h >> 6) & 1,
        e5b_hs=(h >> 7) & 3,
        e5a_dvs=(h >> 3) & 1,
        e5a_hs=(h >> 4) & 3,
        l5_flag=(h >> 1) & 1,
        s_flag=h & 1,
    )
    w = BitWriter().u(mtype, 12)
    for name, bits, kind in _LAYOUTS[mtype]:
        v = raw.get(name, 0) if name != "-" else 0
        if kind == "s":
            w.s(v, bits)
        elif kind == "m":
            w.sm(v, bits)
        else:
            w.u(v, bits)
    return frame(w.to_bytes())


def _encode_1020(rec) -> bytes:
    def num(name):
        v = float(rec[name])
        return 0.0 if not np.isfinite(v) else v

    three_h = 3 * 3600 * NS_PER_S
    glo_toc = int(from_gpst(int(rec["toc"]), "GLO"))
    tb = round(((glo_toc % NS_PER_DAY) / NS_PER_S) / 900)
    # frame time: seconds of the UTC week -> time of day in UTC(SU) + 3 h
    tk = (num("frame_time") * NS_PER_S + three_h) % NS_PER_DAY / NS_PER_S
    tk_h, rem = divmod(int(round(tk)), 3600)
    tk_m, tk_s = divmod(rem, 60)
    raw = {
        "prn": int(rec["sat"]) % SATELLITES_PER_SYSTEM, "fcn": int(num("freq_num")) + 7,
        "tk_h": tk_h, "tk_m": tk_m, "tk_s": tk_s // 30, "bn": int(num("health")), "tb": tb,
        "gamma": round(num("gamma_n") / 2.0**-40), "tau": round(-num("clock_bias") / 2.0**-30),
        "dtau": round(num("group_delay") / 2.0**-30), "en": int(num("age")),
    }  # fmt: skip
    for axis in "xyz":
        raw[axis] = round(num(axis) / 1e3 / 2.0**-11)
        raw["v" + axis] = round(num("v" + axis) / 1e3 / 2.0**-20)
        raw["a" + axis] = round(num("a" + axis) / 1e3 / 2.0**-30)
    w = BitWriter().u(1020, 12)
    for name, bits, kind in _LAYOUTS[1020]:
        v = raw.get(name, 0)
        if kind == "m":
            w.sm(v, bits)
        elif kind == "s":
            w.s(v, bits)
        else:
            w.u(v, bits)
    w.u(0, 7)  # reserved
    return frame(w.to_bytes())


# ============================================================================ encoder
class Rtcm3Encoder:
    """Observations and navigation data -> RTCM 3 bytes, epoch by epoch (a base station).

    Parameters
    ----------
    station_id : int
        Reference station id (DF003, 0-4095).
    msm : int
        4 or 7.
    systems : str
        System letters encoded (default all with MSM messages).
    glonass_channels : dict, optional
        GLONASS satellite index (or id ``"R01"``) -> channel; the observations' header
        ``glonass_slots`` fill what is missing.
    """

    def __init__(
        self,
        station_id: int = 0,
        *,
        msm: int = 7,
        systems: str = "GRECJS",
        glonass_channels: dict | None = None,
    ) -> None:
        if msm not in (4, 7):
            raise ValueError(f"MSM type {msm}: expected 4 or 7")
        self.station_id = int(station_id)
        self.msm = msm
        self.systems = systems
        self.channels = {
            (satellite_index(k) if isinstance(k, str) else int(k)): int(v)
            for k, v in (glonass_channels or {}).items()
        }
        self._arc: dict = {}  # (sat, code) -> (cycle shift, arc start ns, last time ns)
        self._sent: set = set()

    def encode_epoch(self, obs: Observations, index: int = 0) -> bytes:
        """MSM frames of epoch ``index`` of ``obs`` (every system, the last message with the
        multiple-message bit clear)."""
        for sid, k in getattr(obs.header, "glonass_slots", {}).items():
            self.channels.setdefault(satellite_index(sid), int(k))
        t = int(obs.epochs[index])
        ep = obs.epoch_slice(index, index + 1) if len(obs.epochs) > 1 else obs
        codes = np.asarray(ep.codes)
        per: dict[str, dict] = {}
        for s, c, v, lli in zip(
            ep.sat.tolist(), ep.code.tolist(), ep.value.tolist(), ep.lli.tolist()
        ):
            letter = SYSTEMS[s // SATELLITES_PER_SYSTEM]
            if letter not in self.systems:
                continue
            name = str(codes[c])
            sig = name[1:]
            if sig not in SIGNALS[letter].rtcm_msm_signals.values():
                continue
            d = per.setdefault(letter, {}).setdefault(
                (s, sig), [math.nan, math.nan, math.nan, math.nan, 0, 0, 0]
            )
            d[{"C": 0, "L": 1, "D": 2, "S": 3}[name[0]]] = v
            if name[0] == "L":
                d[5] = 1 if lli & 2 else 0
                d[6] = lli
        letters = [x for x in self.systems if x in per]
        out = []
        for li, letter in enumerate(letters):
            rows = {}
            for (s, sig), d in per[letter].items():
                if not (np.isfinite(d[0]) or np.isfinite(d[1])):
                    continue
                wl = self._wavelength(letter, sig, s)
                phase_m, lock = math.nan, 0.0
                if np.isfinite(d[1]) and np.isfinite(wl) and np.isfinite(d[0]):
                    phase_m, lock = self._phase(s, sig, t, d[1], d[0], wl, d[6])
                rate = -d[2] * wl if np.isfinite(d[2]) and np.isfinite(wl) else math.nan
                rows[(s, sig)] = (d[0], phase_m, rate, d[3], lock, d[5])
            if rows:
                out.extend(
                    encode_msm(
                        rows,
                        letter,
                        t,
                        station_id=self.station_id,
                        msm=self.msm,
                        sync=li < len(letters) - 1,
                        channels=self.channels,
                    )
                )
        return b"".join(out)

    def _wavelength(self, letter: str, sig: str, sat: int) -> float:
        band = sig[0]
        try:
            if band in SIGNALS[letter].fdma_hz:
                k = self.channels.get(sat)
                if k is None:
                    return math.nan
                return SPEED_OF_LIGHT / float(carrier_frequency(letter, band, k))
            return SPEED_OF_LIGHT / carrier_frequency(letter, band)
        except ValueError:
            return math.nan

    def _phase(self, sat, sig, t, cycles, pr, wl, lli) -> tuple[float, float]:
        """Phase range (m) shifted by the arc's whole cycles, and the arc's lock time (ms)."""
        key = (sat, sig)
        arc = self._arc.get(key)
        limit = 2.0**23 * 2.0**-31 * RANGE_MS * 0.9
        if arc is not None:
            shift, start, last = arc
            if (lli & 1) or t - last > 60 * NS_PER_S or abs((cycles - shift) * wl - pr) > limit:
                arc = None
        if arc is None:
            shift = float(round(cycles - pr / wl))
            start = t
        self._arc[key] = (shift, start, t)
        return (cycles - shift) * wl, (t - start) / 1e6

    def encode_station(
        self,
        position_m,
        antenna_height_m: float | None = None,
        *,
        antenna: str = "",
        antenna_serial: str = "",
        receiver: str = "",
        firmware: str = "",
        receiver_serial: str = "",
    ) -> bytes:
        """1005/1006 and 1033 frames."""
        return encode_station(self.station_id, position_m, antenna_height_m) + encode_1033(
            self.station_id, antenna, antenna_serial, receiver, firmware, receiver_serial
        )

    def encode_navigation(self, nav: Navigation, *, only_new: bool = True) -> bytes:
        """Ephemeris frames of every message of ``nav`` (those not sent before, with
        ``only_new``) of the encoder's systems."""
        out = []
        for letter, arr in nav.messages.items():
            if letter not in self.systems:
                continue
            for rec in arr:
                key = (letter, int(rec["sat"]), int(rec["toc"]), str(rec["message_type"]))
                if only_new and key in self._sent:
                    continue
                b = encode_ephemeris(letter, rec)
                if b is not None:
                    self._sent.add(key)
                    out.append(b)
        return b"".join(out)
