"""u-blox UBX receiver logs: a tolerant framer, RXM-RAWX observations, RXM-SFRBX ephemerides.

Sources: u-blox ZED-F9P Interface Description (UBX-18010854) and u-blox 8 / M8 Receiver
Description (UBX-13003221): frame layout (3.2), checksum (3.4, 8-bit Fletcher over class,
id, length and payload), UBX-RXM-RAWX (3.17.x) and UBX-RXM-SFRBX; GPS LNAV subframes
IS-GPS-200 20.3.3.3-20.3.3.4 (table 20-III scale factors); Galileo I/NAV word types 1-5
Galileo OS SIS ICD 4.3.5 (CRC-24Q, 4.3.4.4); RTCM 3 framing RTCM 10403.3 4.2 (CRC-24Q).

**Framing** (:func:`frame_ubx`): :func:`satnav.io.framing.frame_stream` (UBX, RTCM 3 and
NMEA interleaved with garbage, all found at once with NumPy; checksum and CRC failures,
truncated frames and garbage counted, never fatal).

**Observations** (:func:`decode_rawx`). All RXM-RAWX payloads are gathered into one byte
string and read with one ``np.frombuffer`` of a structured dtype (the 32-byte measurement
blocks); rows, codes, validity and loss-of-lock flags are NumPy expressions over all
measurements of the file. ``gnssId``/``sigId`` -> satellite and RINEX 3 code through
:data:`satnav.signals.SIGNALS` (``ubx_gnss_id``, ``ubx_signal_codes``). Times: ``rcvTow``
and ``week`` are GPST (receiver time tags, not rounded). Where the u-blox documents leave
the choice to the converter, RTKLIB demo5 ``convbin``'s choices are followed so that the
RINEX written equals its conversion:

* pseudorange only where ``trkStat`` bit 0 (prValid); carrier phase only where bit 1
  (cpValid), ``cpMes != -0.5`` and ``cpStdev`` index <= 5 for u-blox 8 receivers, <= 14 once
  a ninth-generation receiver shows itself (a ``sigId`` above 1): RTKLIB demo5 thresholds;
* BeiDou GEO phases (PRN 1-5, 59-63) get +0.5 cycle (their half-cycle offset in u-blox);
* LLI bit 1 (half-cycle ambiguity unresolved) where ``trkStat`` bit 2 (halfCyc) is clear
  (SBAS: lock time <= 8 s); LLI bit 0 (loss of lock) at the first valid phase after a
  lock-time reset (lock time 0 or decreasing), a change of ``trkStat`` bit 3 (subHalfCyc)
  or a ``cpStdev`` index of 15, tracked per satellite and signal in file order;
* zero values are absent (RTKLIB writes 0 as blank); SSI is not set.

**Ephemerides** (:func:`decode_sfrbx`): GPS and QZSS LNAV (subframes 1-3 with matching
IODE/IODC), Galileo I/NAV (word types 1-5 with one IODnav), GLONASS strings 1-4 of one frame
(GLONASS ICD 5.1 4.4; dated by the receiver time of the RAWX before them), BeiDou D1
subframes 1-3 (BDS-SIS-ICD-B1I 3.0 5.2.4; MEO/IGSO satellites) and BeiDou D2 subframe 1
pages 1 and 3-10 (5.3.3; GEO satellites C01-C05, C59-C63), filled into
:class:`~satnav.navigation.Navigation` with :meth:`~satnav.navigation.Navigation.add_messages`;
each ephemeris is kept once, at its first complete transmission (as RTKLIB does), with the
Klobuchar / NeQuick coefficients and GPS-UTC / GST-UTC parameters in the header when
broadcast.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from os import PathLike

import numpy as np

from ..gnss_time import NS_PER_S, NS_PER_WEEK, gpst_from_bdt_week_tow
from ..navigation import KEPLER_DTYPE, NavHeader, Navigation
from ..observations import Observations, ObsHeader
from ..satellites import SATELLITES_PER_SYSTEM, SYSTEMS
from ..signals import SIGNALS
from ._nav_tables import SEMICIRCLE_RAD, URA_NOMINAL_M, sisa_m
from ._raw_obs import (
    carried_slips,
    concat_observations,
    conversion_comments,
    log_comment,
    observations_from_measurements,
)
from .framing import crc24q, frame_stream
from .rawlog import log_protocol, read_head_bytes, read_log_bytes

__all__ = [
    "UbxFrames",
    "UbxLog",
    "is_ubx",
    "is_ubx_file",
    "read_ubx_bytes",
    "frame_ubx",
    "decode_rawx",
    "decode_sfrbx",
    "read_ubx",
    "ubx_info",
    "RAWX_MEASUREMENT_DTYPE",
]

SYNC = b"\xb5\x62"
#: What the navigation files converted from UBX logs say they hold.
SFRBX_COMMENT = "ephemerides of RXM-SFRBX (satnav.io.ubx)"
#: Message names of the (class, id) pairs counted by name.
MESSAGE_NAMES = {
    (0x02, 0x15): "RXM-RAWX", (0x02, 0x13): "RXM-SFRBX", (0x02, 0x14): "RXM-MEASX",
    (0x01, 0x07): "NAV-PVT", (0x01, 0x14): "NAV-HPPOSLLH", (0x01, 0x01): "NAV-POSECEF",
    (0x01, 0x02): "NAV-POSLLH", (0x01, 0x03): "NAV-STATUS", (0x01, 0x04): "NAV-DOP",
    (0x01, 0x35): "NAV-SAT", (0x01, 0x43): "NAV-SIG", (0x01, 0x20): "NAV-TIMEGPS",
    (0x01, 0x21): "NAV-TIMEUTC", (0x01, 0x22): "NAV-CLOCK", (0x01, 0x3C): "NAV-RELPOSNED",
    (0x0A, 0x04): "MON-VER", (0x0A, 0x09): "MON-HW", (0x0A, 0x38): "MON-RF",
    (0x0D, 0x03): "TIM-TM2", (0x0D, 0x01): "TIM-TP", (0x05, 0x01): "ACK-ACK", (0x05, 0x00): "ACK-NAK",
}  # fmt: skip

#: One RXM-RAWX measurement block (32 bytes, little-endian).
RAWX_MEASUREMENT_DTYPE = np.dtype(
    [("pr", "<f8"), ("cp", "<f8"), ("do", "<f4"), ("gnss", "u1"), ("sv", "u1"), ("sig", "u1"),
     ("freq", "u1"), ("lock", "<u2"), ("cno", "u1"), ("prstd", "u1"), ("cpstd", "u1"),
     ("dostd", "u1"), ("trk", "u1"), ("res", "u1")]
)  # fmt: skip
_RAWX_HEADER_DTYPE = np.dtype(
    [("tow", "<f8"), ("week", "<u2"), ("leap", "i1"), ("n", "u1"), ("stat", "u1"),
     ("version", "u1"), ("res", "<u2")]
)  # fmt: skip


# ============================================================================ framing
@dataclass
class UbxFrames:
    """Where the messages of a byte stream are.

    Attributes
    ----------
    start : ndarray int64
        Offset of each UBX message (its ``0xB5`` sync byte), in stream order.
    cls, id : ndarray uint8
        Message class and id.
    length : ndarray int64
        Payload length (bytes); the payload starts at ``start + 6``.
    rtcm : list of (int, int)
        (offset, total length) of each RTCM 3 frame with a valid CRC.
    counts : dict
        ``ubx`` messages, ``nmea`` sentences, ``rtcm3`` frames, ``ubx_checksum_failures``,
        ``nmea_checksum_failures``, ``rtcm3_crc_failures``, ``truncated`` (a frame cut by
        the end of the stream), ``garbage_bytes`` (bytes in no frame).
    """

    start: np.ndarray
    cls: np.ndarray
    id: np.ndarray
    length: np.ndarray
    rtcm: list = field(default_factory=list)
    counts: dict = field(default_factory=dict)

    def select(self, cls: int, mid: int) -> np.ndarray:
        """Payload offsets (int64) of the messages of one class and id."""
        return self.start[(self.cls == cls) & (self.id == mid)] + 6

    def message_counts(self) -> dict[str, int]:
        """``"RXM-RAWX"`` (or ``"0x02-0x15"`` for unnamed ones) -> number of messages."""
        key = self.cls.astype(np.int64) * 256 + self.id
        vals, n = np.unique(key, return_counts=True)
        out = {}
        for v, c in zip(vals.tolist(), n.tolist()):
            pair = (v >> 8, v & 0xFF)
            out[MESSAGE_NAMES.get(pair, f"0x{pair[0]:02X}-0x{pair[1]:02X}")] = c
        return out


_crc24q = crc24q


def frame_ubx(data: bytes) -> UbxFrames:
    """Find the UBX messages (and the RTCM 3 frames; count NMEA and garbage) of a byte stream.

    The framing is :func:`satnav.io.framing.frame_stream`'s; never raises on bad data (see
    :class:`UbxFrames`).
    """
    fr = frame_stream(data)
    rtcm = list(zip(fr.rtcm_start.tolist(), (fr.rtcm_length + 6).tolist()))
    return UbxFrames(fr.ubx_start, fr.ubx_cls, fr.ubx_id, fr.ubx_length, rtcm, fr.counts)


def _gather(data: bytes, offsets: np.ndarray, sizes) -> bytes:
    """The bytes ``data[o : o + size]`` of each offset, concatenated."""
    mv = memoryview(data)
    if np.isscalar(sizes):
        k = int(sizes)
        return b"".join([mv[o : o + k] for o in offsets.tolist()])
    return b"".join([mv[o : o + k] for o, k in zip(offsets.tolist(), np.asarray(sizes).tolist())])


# ============================================================================ RXM-RAWX
_TYPES = "CLDS"


@functools.cache
def _lookup_tables():
    """gnssId -> system number (-1 unknown); (system number, sigId) -> signal index; the
    signals ("1C") and their system letters (made once; read-only)."""
    gnss_sys = np.full(256, -1, np.int64)
    signals: list[tuple[str, str]] = []
    sig_table = np.full((len(SYSTEMS), 256), -1, np.int64)
    for letter, entry in SIGNALS.items():
        if entry.ubx_gnss_id is None:
            continue
        k = SYSTEMS.index(letter)
        gnss_sys[entry.ubx_gnss_id] = k
        for sig, code in entry.ubx_signal_codes.items():
            if (letter, code) not in signals:
                signals.append((letter, code))
            sig_table[k, sig] = signals.index((letter, code))
    gnss_sys.setflags(write=False)
    sig_table.setflags(write=False)
    return gnss_sys, sig_table, signals


def _prn_of(sysnum: np.ndarray, sv: np.ndarray) -> np.ndarray:
    """u-blox svId -> PRN of the satellite index (SBAS svId 120-158 -> 20-58)."""
    prn = sv.astype(np.int64)
    sbas = sysnum == SYSTEMS.index("S")
    prn[sbas] -= 100
    max_prn = np.array([SIGNALS[s].max_prn for s in SYSTEMS], np.int64)
    bad = (sysnum < 0) | (prn < 1) | (prn > max_prn[np.maximum(sysnum, 0)])
    prn[bad] = -1
    return prn


def _lli(group: np.ndarray, lock: np.ndarray, halfc: np.ndarray, std_slip: np.ndarray,
         phase_ok: np.ndarray) -> np.ndarray:
    """Loss-of-lock bit 0 of each measurement (file order), per signal ``group``.

    A slip is a lock time of 0, a lock time below the previous one of the same signal, a
    change of the half-cycle-subtracted bit or a cpStdev index of 15; it is reported at the
    first valid phase at or after it. The first measurement of a signal is a slip too (no
    continuity is known before it: RTKLIB demo5 convbin flags it the same way)."""
    n = len(group)
    order = np.lexsort((np.arange(n), group))  # stable: file order within each signal
    g, lk, hc = group[order], lock[order].astype(np.int64), halfc[order]
    first = np.ones(n, bool)
    first[1:] = g[1:] != g[:-1]
    prev_lock = np.where(first, 0, np.roll(lk, 1))
    prev_hc = np.where(first, 0, np.roll(hc, 1))
    toggled = hc != prev_hc
    slip = first | (lk == 0) | (lk < prev_lock) | toggled | std_slip[order]
    valid = phase_ok[order]
    bit0 = (valid & carried_slips(first, slip, valid)) | toggled
    out = np.zeros(n, np.int8)
    out[order] = bit0.astype(np.int8)
    return out


def decode_rawx(data: bytes, frames: UbxFrames, *, source: str = "",
                phase_std_limit: int | None = None) -> Observations:
    """Observations of every RXM-RAWX message of a framed stream (module docstring).

    Parameters
    ----------
    data : bytes
        The stream :func:`frame_ubx` framed.
    frames : UbxFrames
    source : str
        Name kept in :attr:`Observations.source`.
    phase_std_limit : int, optional
        Largest ``cpStdev`` index (0.004 cycle units) of a phase kept; default RTKLIB
        demo5's: 5 for u-blox 8, 14 after the first ninth-generation signal.

    Returns
    -------
    Observations
        One epoch per RAWX message with a week number (GPST receiver time tags), one row per
        epoch, satellite and code; header ``leap_seconds`` from the last valid ``leapS``.
    """
    offsets = frames.select(0x02, 0x15)
    lengths = frames.length[(frames.cls == 0x02) & (frames.id == 0x15)]
    offsets, lengths = offsets[lengths >= 16], lengths[lengths >= 16]
    hdr = np.frombuffer(_gather(data, offsets, 16), _RAWX_HEADER_DTYPE)
    nmeas = hdr["n"].astype(np.int64)
    good = (lengths >= 16 + 32 * nmeas) & (hdr["week"] > 0)
    hdr, offsets, nmeas = hdr[good], offsets[good], nmeas[good]
    times = hdr["week"].astype(np.int64) * NS_PER_WEEK + np.rint(hdr["tow"] * NS_PER_S).astype(np.int64)
    meas = np.frombuffer(_gather(data, offsets + 16, 32 * nmeas), RAWX_MEASUREMENT_DTYPE)
    msg = np.repeat(np.arange(len(hdr)), nmeas)
    gnss_sys, sig_table, signals = _lookup_tables()
    sysnum = gnss_sys[meas["gnss"]]
    prn = _prn_of(sysnum, meas["sv"])
    version0 = hdr["version"][msg] == 0  # sigId reserved: the first signal of the system
    sig = np.where(version0, 0, meas["sig"])
    signal = np.where(sysnum >= 0, sig_table[np.maximum(sysnum, 0), sig], -1)
    use = (prn > 0) & (signal >= 0)
    meas, msg, sysnum, prn, signal = meas[use], msg[use], sysnum[use], prn[use], signal[use]
    sat = sysnum * SATELLITES_PER_SYSTEM + prn
    trk = meas["trk"]
    cpstd = meas["cpstd"] & 0x0F
    if phase_std_limit is None:  # RTKLIB demo5: 9th generation once a sigId > 1 was seen before
        gen9_msg = np.zeros(len(hdr), bool)
        later = np.bincount(msg[meas["sig"] > 1], minlength=len(hdr)) > 0
        gen9_msg[1:] = np.cumsum(later)[:-1] > 0
        limit = np.where(gen9_msg[msg], 14, 5)
    else:
        limit = np.full(len(meas), int(phase_std_limit))
    pr = np.where((trk & 1) != 0, meas["pr"], 0.0)
    cp = meas["cp"].copy()
    phase_ok = ((trk & 2) != 0) & (cp != -0.5) & (cpstd <= limit) & (cp != 0.0)
    bds_geo = (sysnum == SYSTEMS.index("C")) & ((prn <= 5) | (prn >= 59))
    cp = np.where(bds_geo & phase_ok, cp + 0.5, cp)
    sbas = sysnum == SYSTEMS.index("S")
    half_valid = np.where(sbas, meas["lock"] > 8000, (trk & 4) != 0)
    group = sat * 256 + signal
    bit0 = _lli(group, meas["lock"], (trk & 8) != 0, cpstd >= 15, phase_ok)
    lli = bit0 | np.where(phase_ok & ~half_valid, 2, 0).astype(np.int8)
    values = np.stack([pr, np.where(phase_ok, cp, 0.0), meas["do"].astype(np.float64),
                       meas["cno"].astype(np.float64)], axis=1)  # fmt: skip
    header = ObsHeader(receiver_type="u-blox", time_system="GPS")
    header.comments.append(log_comment("ubx", "observations of RXM-RAWX (satnav.io.ubx)"))
    leap_ok = (hdr["stat"] & 1) != 0
    if leap_ok.any():
        header.leap_seconds = int(hdr["leap"][leap_ok][-1])
    header.version = 0.0
    return observations_from_measurements(times[msg], sat, signal, signals, values, lli, header=header,
                                          source=source, epochs=np.unique(times))


# ============================================================================ RXM-SFRBX
_SC = SEMICIRCLE_RAD
_URA_NOMINAL = URA_NOMINAL_M


def _u(word: int, total: int, pos: int, n: int) -> int:
    """Unsigned ``n``-bit field at bit ``pos`` (0 = most significant) of a ``total``-bit int."""
    return (word >> (total - pos - n)) & ((1 << n) - 1)


def _s(word: int, total: int, pos: int, n: int) -> int:
    v = _u(word, total, pos, n)
    return v - (1 << n) if v >> (n - 1) else v


def _sisa(x: int) -> float:
    """Galileo SISA index -> metres (Galileo OS SIS ICD 5.1.12)."""
    return float(sisa_m(x))


def _adjust_week(t_ns: int, ref_ns: int) -> int:
    """``t_ns`` moved by whole weeks to within half a week of ``ref_ns``."""
    d = t_ns - ref_ns
    half = NS_PER_WEEK // 2
    if d > half:
        t_ns -= NS_PER_WEEK
    elif d < -half:
        t_ns += NS_PER_WEEK
    return t_ns


def _gps_lnav(sf: dict, sat: int, week_hint: int) -> dict | None:
    """Keplerian record of GPS subframes 1-3 (240-bit ints without parity), or None."""
    s1, s2, s3 = sf[1], sf[2], sf[3]
    T = 240
    iodc = (_u(s1, T, 70, 2) << 8) | _u(s1, T, 168, 8)
    iode2, iode3 = _u(s2, T, 48, 8), _u(s3, T, 216, 8)
    if not (iode2 == iode3 == (iodc & 0xFF)):
        return None
    tow = _u(s1, T, 24, 17) * 6.0  # HOW TOW count (start of the next subframe), as RTKLIB writes it
    week10 = _u(s1, T, 48, 10)
    week = week10 + 1024 * max(0, round((week_hint - week10) / 1024))
    ttr = week * NS_PER_WEEK + int(round(tow * 1e9))
    toc_sow = _u(s1, T, 176, 16) * 16.0
    toe_sow = _u(s2, T, 216, 16) * 16.0
    toc = _adjust_week(week * NS_PER_WEEK + int(toc_sow * 1e9), ttr)
    toe = _adjust_week(week * NS_PER_WEEK + int(toe_sow * 1e9), ttr)
    ura = _u(s1, T, 60, 4)
    return dict(
        sat=sat, message_type="LNAV", toc=toc, toe=toe, week=float(week), toe_sow=toe_sow,
        af0=_s(s1, T, 216, 22) * 2.0**-31, af1=_s(s1, T, 200, 16) * 2.0**-43, af2=_s(s1, T, 192, 8) * 2.0**-55,
        iode=float(iode2), iodc=float(iodc), codes_l2=float(_u(s1, T, 58, 2)), l2p_flag=float(_u(s1, T, 72, 1)),
        accuracy=_URA_NOMINAL[ura], health=float(_u(s1, T, 64, 6)), tgd=_s(s1, T, 160, 8) * 2.0**-31,
        crs=_s(s2, T, 56, 16) * 2.0**-5, delta_n=_s(s2, T, 72, 16) * 2.0**-43 * _SC,
        m0=_s(s2, T, 88, 32) * 2.0**-31 * _SC, cuc=_s(s2, T, 120, 16) * 2.0**-29,
        e=_u(s2, T, 136, 32) * 2.0**-33, cus=_s(s2, T, 168, 16) * 2.0**-29,
        sqrt_a=_u(s2, T, 184, 32) * 2.0**-19,
        fit_interval=4.0 if _u(s2, T, 232, 1) == 0 else 0.0,
        cic=_s(s3, T, 48, 16) * 2.0**-29, omega0=_s(s3, T, 64, 32) * 2.0**-31 * _SC,
        cis=_s(s3, T, 96, 16) * 2.0**-29, i0=_s(s3, T, 112, 32) * 2.0**-31 * _SC,
        crc=_s(s3, T, 144, 16) * 2.0**-5, omega=_s(s3, T, 160, 32) * 2.0**-31 * _SC,
        omega_dot=_s(s3, T, 192, 24) * 2.0**-43 * _SC, idot=_s(s3, T, 224, 14) * 2.0**-43 * _SC,
        transmission_time=tow, _key=(sat, iode2, iodc, toe, toc),
    )  # fmt: skip


def _gal_inav(w: dict, sat: int, data_source: float) -> dict | None:
    """Keplerian record of Galileo I/NAV word types 1-5 (128-bit ints), or None."""
    T = 128
    iods = {_u(w[k], T, 6, 10) for k in (1, 2, 3, 4)}
    if len(iods) != 1:
        return None
    w1, w2, w3, w4, w5 = (w[k] for k in (1, 2, 3, 4, 5))
    wn = _u(w5, T, 73, 12)
    tow5 = _u(w5, T, 85, 20)
    week = wn + 1024  # GST week -> GPS week (RINEX 3.05 Galileo "GAL week")
    ttr = week * NS_PER_WEEK + tow5 * NS_PER_S
    toe_sow = _u(w1, T, 16, 14) * 60.0
    toc_sow = _u(w4, T, 54, 14) * 60.0
    toe = _adjust_week(week * NS_PER_WEEK + int(toe_sow) * NS_PER_S, ttr)
    toc = _adjust_week(week * NS_PER_WEEK + int(toc_sow) * NS_PER_S, ttr)
    e5b_hs, e1b_hs = _u(w5, T, 67, 2), _u(w5, T, 69, 2)
    e5b_dvs, e1b_dvs = _u(w5, T, 71, 1), _u(w5, T, 72, 1)
    health = e1b_dvs | (e1b_hs << 1) | (e5b_dvs << 6) | (e5b_hs << 7)
    iod = iods.pop()
    return dict(
        sat=sat, message_type="INAV", toc=toc, toe=toe, week=float(week), toe_sow=toe_sow,
        iode=float(iod), m0=_s(w1, T, 30, 32) * 2.0**-31 * _SC, e=_u(w1, T, 62, 32) * 2.0**-33,
        sqrt_a=_u(w1, T, 94, 32) * 2.0**-19,
        omega0=_s(w2, T, 16, 32) * 2.0**-31 * _SC, i0=_s(w2, T, 48, 32) * 2.0**-31 * _SC,
        omega=_s(w2, T, 80, 32) * 2.0**-31 * _SC, idot=_s(w2, T, 112, 14) * 2.0**-43 * _SC,
        omega_dot=_s(w3, T, 16, 24) * 2.0**-43 * _SC, delta_n=_s(w3, T, 40, 16) * 2.0**-43 * _SC,
        cuc=_s(w3, T, 56, 16) * 2.0**-29, cus=_s(w3, T, 72, 16) * 2.0**-29,
        crc=_s(w3, T, 88, 16) * 2.0**-5, crs=_s(w3, T, 104, 16) * 2.0**-5,
        accuracy=_sisa(_u(w3, T, 120, 8)),
        cic=_s(w4, T, 22, 16) * 2.0**-29, cis=_s(w4, T, 38, 16) * 2.0**-29,
        af0=_s(w4, T, 68, 31) * 2.0**-34, af1=_s(w4, T, 99, 21) * 2.0**-46, af2=_s(w4, T, 120, 6) * 2.0**-59,
        bgd_e5a=_s(w5, T, 47, 10) * 2.0**-32, bgd_e5b=_s(w5, T, 57, 10) * 2.0**-32,
        health=float(health), data_source=data_source, transmission_time=float(tow5),
        _key=(sat, iod, toe, toc),
    )  # fmt: skip


def _records(rows: list[dict]) -> np.ndarray:
    out = np.zeros(len(rows), KEPLER_DTYPE)
    for name in KEPLER_DTYPE.names:
        if KEPLER_DTYPE[name] == np.float64:
            out[name] = np.nan
    for i, r in enumerate(rows):
        for k, v in r.items():
            if not k.startswith("_"):
                out[i][k] = v
    return out


def decode_sfrbx(data: bytes, frames: UbxFrames, *, week_hint: int | None = None,
                 counts: dict | None = None, times_ns: np.ndarray | None = None,
                 latest: bool = False) -> Navigation:
    """Broadcast ephemerides of the RXM-SFRBX messages of a framed stream.

    GPS LNAV (subframes 1-3) and Galileo I/NAV (word types 1-5) become Keplerian records
    (:data:`~satnav.navigation.KEPLER_DTYPE`), each ephemeris once, at its first complete
    transmission; GPS subframe 4 page 18 gives the Klobuchar coefficients (``GPSA``,
    ``GPSB``) and GPS-UTC (``GPUT``), Galileo word 5 the NeQuick ``GAL`` coefficients.
    ``week_hint`` (GPS week, e.g. from RAWX) resolves the 10-bit GPS week; default 2048
    era. ``counts`` (a dict) receives ``sfrbx_<system>`` message counts and
    ``sfrbx_crc_failures``. QZSS LNAV is decoded as GPS LNAV. GLONASS strings 1-4 of one
    frame (GLONASS ICD 5.1 4.4, received within 30 s) become :data:`GLONASS_DTYPE` records
    when ``times_ns`` gives each SFRBX message's receiver time (GPST ns, e.g. of the RAWX
    before it: :func:`sfrbx_times`), which places their times of day on a date. The header
    keeps the first ionospheric/time corrections of the messages and the first transmission of
    each ephemeris (as the converter writes them), or with ``latest`` the last ones (a
    live stream's newest broadcast: a health change without a new issue of data).
    """
    counts = {} if counts is None else counts
    put = dict.__setitem__ if latest else dict.setdefault
    offsets = frames.select(0x02, 0x13)
    lengths = frames.length[(frames.cls == 0x02) & (frames.id == 0x13)]
    hint = 2048 + 200 if week_hint is None else int(week_hint)
    gnss_sys, _, _ = _lookup_tables()
    gps_sub: dict[int, dict] = {}
    gal_words: dict[int, dict] = {}
    glo_strings: dict[int, dict] = {}
    bds_sub: dict[int, dict] = {}
    bds_pages: dict[int, dict] = {}
    seen: dict = {}  # message key -> (system letter, row)

    def keep(letter: str, key, rec) -> None:
        """Each message once: the first transmission, or the last with ``latest``."""
        at = seen.get(key)
        if at is None:
            seen[key] = (letter, len(rows[letter]))
            rows[letter].append(rec)
        elif latest:
            rows[at[0]][at[1]] = rec
    rows: dict[str, list] = {"G": [], "E": [], "J": [], "R": [], "C": []}
    header = NavHeader()
    mv = memoryview(data)
    tlist = times_ns.tolist() if times_ns is not None else [None] * len(offsets)
    for off, ln, t_rx in zip(offsets.tolist(), lengths.tolist(), tlist):
        if ln < 8:
            continue
        gnss, sv, sig, nwords = data[off], data[off + 1], data[off + 2], data[off + 4]
        if ln < 8 + 4 * nwords:
            continue
        k = int(gnss_sys[gnss])
        letter = SYSTEMS[k] if k >= 0 else "?"
        counts[f"sfrbx_{letter}"] = counts.get(f"sfrbx_{letter}", 0) + 1
        words = np.frombuffer(mv[off + 8 : off + 8 + 4 * nwords], "<u4").tolist()
        sat = k * SATELLITES_PER_SYSTEM + sv
        if letter == "R" and nwords >= 4 and t_rx is not None and 1 <= sv <= SIGNALS["R"].max_prn:
            bits = 0
            for wd in words[:4]:
                bits = (bits << 32) | wd
            m = _u(bits, 128, 1, 4)
            if 1 <= m <= 4:
                store = glo_strings.setdefault(sat, {})
                store[m] = (bits, t_rx, data[off + 3] - 7)
                if m == 4 and all(j in store for j in (1, 2, 3)) and t_rx - min(store[j][1] for j in (1, 2, 3)) <= 30 * NS_PER_S:
                    rec = _glonass_strings(store, sat, t_rx)
                    keep("R", (sat, int(rec["toc"][0])), rec)
            continue
        if letter == "C" and nwords >= 10 and (sv <= 5 or sv >= 59) and 1 <= sv <= SIGNALS["C"].max_prn:
            bits = 0  # D2 (GEO): subframe 1 pages 1-10 carry the ephemeris
            for wd in words[:10]:
                bits = (bits << 30) | (wd & 0x3FFFFFFF)
            if _u(bits, 300, 15, 3) == 1:
                pnum = _u(bits, 300, 42, 4)
                if 1 <= pnum <= 10:
                    store = bds_pages.setdefault(sat, {})
                    store[pnum] = bits
                    if pnum == 10 and all(j in store for j in (1, 3, 4, 5, 6, 7, 8, 9)):
                        rec = _bds_d2(store, sat)
                        if rec is not None:
                            keep("C", rec["_key"], rec)
            continue
        if letter == "C" and nwords >= 10 and 6 <= sv <= 58:  # D1 (MEO/IGSO)
            bits = 0
            for wd in words[:10]:
                bits = (bits << 30) | (wd & 0x3FFFFFFF)
            frn = _u(bits, 300, 15, 3)
            if 1 <= frn <= 3:
                store = bds_sub.setdefault(sat, {})
                store[frn] = bits
                if frn == 3 and all(j in store for j in (1, 2)):
                    rec = _bds_d1(store, sat)
                    if rec is not None:
                        keep("C", rec["_key"], rec)
            continue
        if letter in "GJ" and nwords >= 10 and 1 <= sv <= SIGNALS[letter].max_prn:
            bits = 0
            for wd in words[:10]:
                bits = (bits << 24) | ((wd >> 6) & 0xFFFFFF)
            if bits >> 232 != 0x8B:
                continue
            sfid = _u(bits, 240, 43, 3)
            if sfid in (1, 2, 3):
                gps_sub.setdefault(sat, {})[sfid] = bits
                if sfid == 3 and len(gps_sub[sat]) == 3:
                    rec = _gps_lnav(gps_sub[sat], sat, hint)
                    if rec is not None:
                        keep(letter, rec["_key"], rec)
            elif sfid == 4 and _u(bits, 240, 50, 6) == 56:  # page 18: ionosphere and UTC
                T = 240
                alpha = [_s(bits, T, 56, 8) * 2.0**-30, _s(bits, T, 64, 8) * 2.0**-27,
                         _s(bits, T, 72, 8) * 2.0**-24, _s(bits, T, 80, 8) * 2.0**-24]
                beta = [_s(bits, T, 88, 8) * 2.0**11, _s(bits, T, 96, 8) * 2.0**14,
                        _s(bits, T, 104, 8) * 2.0**16, _s(bits, T, 112, 8) * 2.0**16]
                a1 = _s(bits, T, 120, 24) * 2.0**-50
                a0 = _s(bits, T, 144, 32) * 2.0**-30
                tot = _u(bits, T, 176, 8) * 4096.0
                wnt = _u(bits, T, 184, 8)
                week_t = wnt + 256 * round((hint - wnt) / 256)
                put(header.iono_corrections, "GPSA", np.array(alpha))
                put(header.iono_corrections, "GPSB", np.array(beta))
                put(header.time_corrections, "GPUT", (a0, a1, tot, week_t))
                if header.leap_seconds is None:
                    header.leap_seconds = _s(bits, T, 192, 8)
        elif letter == "E" and nwords >= 8:
            bits = 0
            for wd in words[:8]:
                bits = (bits << 32) | wd
            even, odd = bits >> 128, bits & ((1 << 128) - 1)
            if _u(even, 128, 0, 1) != 0 or _u(odd, 128, 0, 1) != 1:
                continue
            if _u(even, 128, 1, 1) or _u(odd, 128, 1, 1):  # alert pages
                continue
            crc_in = ((even >> 14) << 82) | (odd >> 46)  # 114 + 82 bits
            if _crc24q(crc_in.to_bytes(25, "big")) != _u(odd, 128, 82, 24):
                counts["sfrbx_crc_failures"] = counts.get("sfrbx_crc_failures", 0) + 1
                continue
            word = (_u(even, 128, 2, 112) << 16) | _u(odd, 128, 2, 16)
            wtype = word >> 122
            if 1 <= wtype <= 5:
                store = gal_words.setdefault(sat, {})
                store[wtype] = word
                if wtype == 5:
                    ai = (_u(word, 128, 6, 11) * 2.0**-2, _s(word, 128, 17, 11) * 2.0**-8,
                          _s(word, 128, 28, 14) * 2.0**-15)
                    put(header.iono_corrections, "GAL", np.array(ai))
                if all(t in store for t in (1, 2, 3, 4, 5)) and wtype in (4, 5):
                    source = 513.0 if sig == 1 else 516.0 if sig == 5 else 513.0
                    rec = _gal_inav(store, sat, source)
                    if rec is not None:
                        keep("E", rec["_key"], rec)
    nav = Navigation(header=header)
    for letter, lst in rows.items():
        if lst:
            nav.add_messages(letter, np.concatenate(lst) if letter == "R" else _records(lst))
    return nav


def _u2(word: int, total: int, p1: int, n1: int, p2: int, n2: int) -> int:
    """A field split over two places (BeiDou D1: parts on both sides of a parity field)."""
    return (_u(word, total, p1, n1) << n2) | _u(word, total, p2, n2)


def _s2(word: int, total: int, p1: int, n1: int, p2: int, n2: int) -> int:
    v = _u2(word, total, p1, n1, p2, n2)
    n = n1 + n2
    return v - (1 << n) if v >> (n - 1) else v


def _bds_week_of_toe(week: int, toe_sow: float, transmission_sow: int) -> int:
    """BeiDou week of toe: the transmission week moved by one where toe (s of week) lies more
    than half a week from the transmission time (a message sent across a week boundary)."""
    if toe_sow > transmission_sow + 302400:
        return week + 1
    if toe_sow < transmission_sow - 302400:
        return week - 1
    return week


def _bds_d1(sf: dict, sat: int) -> dict | None:
    """Keplerian record of BeiDou D1 subframes 1-3 (300-bit ints of the ten 30-bit words,
    parity bits in place; BDS-SIS-ICD-B1I 3.0 5.2.4), or None when they disagree."""
    s1, s2, s3 = sf[1], sf[2], sf[3]
    T = 300
    sow = [_u2(x, T, 18, 8, 30, 12) for x in (s1, s2, s3)]
    if sow[1] != sow[0] + 6 or sow[2] != sow[1] + 6:
        return None
    toc_sow = _u2(s1, T, 73, 9, 90, 8) * 8.0
    toe_sow = ((_u(s2, T, 290, 2) << 15) | _u2(s3, T, 42, 10, 60, 5)) * 8.0
    if toc_sow != toe_sow:
        return None
    week = _bds_week_of_toe(_u(s1, T, 60, 13), toe_sow, sow[0])
    toe = int(gpst_from_bdt_week_tow(week, toe_sow))
    iode, iodc = _u(s1, T, 287, 5), _u(s1, T, 43, 5)
    return dict(
        sat=sat, message_type="D1", toc=toe, toe=toe, week=float(week), toe_sow=toe_sow,
        health=float(_u(s1, T, 42, 1)), iodc=float(iodc), iode=float(iode),
        accuracy=float(URA_NOMINAL_M[_u(s1, T, 48, 4)]),
        tgd=_s(s1, T, 98, 10) * 1e-10, tgd2=_s2(s1, T, 108, 4, 120, 6) * 1e-10,
        af2=_s(s1, T, 214, 11) * 2.0**-66, af0=_s2(s1, T, 225, 7, 240, 17) * 2.0**-33,
        af1=_s2(s1, T, 257, 5, 270, 17) * 2.0**-50,
        delta_n=_s2(s2, T, 42, 10, 60, 6) * 2.0**-43 * _SC, cuc=_s2(s2, T, 66, 16, 90, 2) * 2.0**-31,
        m0=_s2(s2, T, 92, 20, 120, 12) * 2.0**-31 * _SC, e=_u2(s2, T, 132, 10, 150, 22) * 2.0**-33,
        cus=_s(s2, T, 180, 18) * 2.0**-31, crc=_s2(s2, T, 198, 4, 210, 14) * 2.0**-6,
        crs=_s2(s2, T, 224, 8, 240, 10) * 2.0**-6, sqrt_a=_u2(s2, T, 250, 12, 270, 20) * 2.0**-19,
        i0=_s2(s3, T, 65, 17, 90, 15) * 2.0**-31 * _SC, cic=_s2(s3, T, 105, 7, 120, 11) * 2.0**-31,
        omega_dot=_s2(s3, T, 131, 11, 150, 13) * 2.0**-43 * _SC, cis=_s2(s3, T, 163, 9, 180, 9) * 2.0**-31,
        idot=_s2(s3, T, 189, 13, 210, 1) * 2.0**-43 * _SC, omega0=_s2(s3, T, 211, 21, 240, 11) * 2.0**-31 * _SC,
        omega=_s2(s3, T, 251, 11, 270, 21) * 2.0**-31 * _SC, transmission_time=float(sow[0]),
        _key=(sat, iode, toe),
    )  # fmt: skip


def _u3(word: int, total: int, *parts: tuple[int, int]) -> int:
    """A field split over several places (BeiDou D2: parts on both sides of parity fields),
    most significant part first: ``parts`` are (first bit, bits)."""
    v = 0
    for pos, n in parts:
        v = (v << n) | _u(word, total, pos, n)
    return v


def _s3(word: int, total: int, *parts: tuple[int, int]) -> int:
    v = _u3(word, total, *parts)
    n = sum(k for _, k in parts)
    return v - (1 << n) if v >> (n - 1) else v


def _bds_d2(pages: dict, sat: int) -> dict | None:
    """Keplerian record of BeiDou D2 subframe 1 pages 1 and 3-10 (300-bit ints of the ten
    30-bit words, parity bits in place; BDS-SIS-ICD-B1I 3.0 5.3.3, figure 5-11), or None when
    their seconds of week do not follow one another (pages 3 s apart) or toc differs from
    toe. Fields split between pages are joined most significant part first."""
    T = 300
    p = {k: pages[k] for k in (1, 3, 4, 5, 6, 7, 8, 9, 10)}
    sow = {k: _u2(v, T, 18, 8, 30, 12) for k, v in p.items()}
    if any(sow[k] != sow[1] + 3 * (k - 1) for k in p):
        return None
    p1, p3, p4, p5, p6, p7, p8, p9, p10 = (p[k] for k in (1, 3, 4, 5, 6, 7, 8, 9, 10))
    toc_sow = _u2(p1, T, 77, 5, 90, 12) * 8.0
    toe_sow = _u3(p7, T, (80, 2), (90, 15)) * 8.0
    if toc_sow != toe_sow:
        return None
    week = _bds_week_of_toe(_u(p1, T, 64, 13), toe_sow, sow[1])
    toe = int(gpst_from_bdt_week_tow(week, toe_sow))
    iode, iodc = _u(p4, T, 91, 5), _u(p1, T, 47, 5)

    def joined(*parts):  # (page, first bit, bits) parts -> signed value
        v, n = 0, 0
        for page, pos, k in parts:
            v = (v << k) | _u(page, T, pos, k)
            n += k
        return v - (1 << n) if v >> (n - 1) else v

    e = 0
    for page, pos, k in ((p5, 124, 10), (p6, 46, 6), (p6, 60, 16)):
        e = (e << k) | _u(page, T, pos, k)
    sqrt_a = _u3(p6, T, (76, 6), (90, 22), (120, 4)) * 2.0**-19
    return dict(
        sat=sat, message_type="D2", toc=toe, toe=toe, week=float(week), toe_sow=toe_sow,
        health=float(_u(p1, T, 46, 1)), iodc=float(iodc), iode=float(iode),
        accuracy=float(URA_NOMINAL_M[_u(p1, T, 60, 4)]),
        tgd=_s(p1, T, 102, 10) * 1e-10, tgd2=_s(p1, T, 120, 10) * 1e-10,
        af0=_s3(p3, T, (100, 12), (120, 12)) * 2.0**-33,
        af1=joined((p3, 132, 4), (p4, 46, 6), (p4, 60, 12)) * 2.0**-50,
        af2=_s3(p4, T, (72, 10), (90, 1)) * 2.0**-66,
        delta_n=_s(p4, T, 96, 16) * 2.0**-43 * _SC,
        cuc=joined((p4, 120, 14), (p5, 46, 4)) * 2.0**-31,
        m0=_s3(p5, T, (50, 2), (60, 22), (90, 8)) * 2.0**-31 * _SC,
        cus=_s3(p5, T, (98, 14), (120, 4)) * 2.0**-31,
        e=e * 2.0**-33, sqrt_a=sqrt_a,
        cic=joined((p6, 124, 10), (p7, 46, 6), (p7, 60, 2)) * 2.0**-31,
        cis=_s(p7, T, 62, 18) * 2.0**-31,
        i0=joined((p7, 105, 7), (p7, 120, 14), (p8, 46, 6), (p8, 60, 5)) * 2.0**-31 * _SC,
        crc=_s3(p8, T, (65, 17), (90, 1)) * 2.0**-6, crs=_s(p8, T, 91, 18) * 2.0**-6,
        omega_dot=joined((p8, 109, 3), (p8, 120, 16), (p9, 46, 5)) * 2.0**-43 * _SC,
        omega0=joined((p9, 51, 1), (p9, 60, 22), (p9, 90, 9)) * 2.0**-31 * _SC,
        omega=joined((p9, 99, 13), (p9, 120, 14), (p10, 46, 5)) * 2.0**-31 * _SC,
        idot=joined((p10, 51, 1), (p10, 60, 13)) * 2.0**-43 * _SC,
        transmission_time=float(sow[1]), _key=(sat, iode, toe),
    )  # fmt: skip


#: GLONASS ICD 5.1 4.4 string layouts: (field, first bit, bits, sign-magnitude) counted from the
#: idle bit (0) of the 85-bit string; m (the string number) is bits 1-4.
_GLO_STRINGS = {
    1: (("p1", 7, 2, False), ("tk_h", 9, 5, False), ("tk_m", 14, 6, False), ("tk_s", 20, 1, False),
        ("vx", 21, 24, True), ("ax", 45, 5, True), ("x", 50, 27, True)),
    2: (("bn", 5, 3, False), ("p2", 8, 1, False), ("tb", 9, 7, False), ("vy", 21, 24, True),
        ("ay", 45, 5, True), ("y", 50, 27, True)),
    3: (("p3", 5, 1, False), ("gamma", 6, 11, True), ("p", 18, 2, False), ("ln3", 20, 1, False),
        ("vz", 21, 24, True), ("az", 45, 5, True), ("z", 50, 27, True)),
    4: (("tau", 5, 22, True), ("dtau", 27, 5, True), ("en", 32, 5, False), ("p4", 51, 1, False),
        ("ft", 52, 4, False), ("nt", 59, 11, False), ("n", 70, 5, False), ("m", 75, 2, False)),
}  # fmt: skip


def _glonass_strings(store: dict, sat: int, t_rx: int) -> np.ndarray:
    """GLONASS record of strings 1-4 (128-bit ints, string MSB first) received near ``t_rx``."""
    from .rtcm3_nav import glonass_records

    f: dict = {}
    for m, layout in _GLO_STRINGS.items():
        bits = store[m][0]
        for name, pos, n, sm in layout:
            v = _u(bits, 128, pos, n)
            if sm:
                v = -(v & ((1 << (n - 1)) - 1)) if v >> (n - 1) else v
            f[name] = np.array([v], np.int64)
    f["prn"] = np.array([sat % SATELLITES_PER_SYSTEM], np.int64)
    f["fcn"] = np.array([store[1][2] + 7], np.int64)
    f["bn"] = f["bn"] >> 2  # the health flag: the MSB of Bn
    return glonass_records(f, np.array([t_rx], np.int64))


def sfrbx_times(data: bytes, frames: UbxFrames) -> np.ndarray:
    """Receiver time (GPST ns) of each RXM-SFRBX message: the RXM-RAWX before it in the stream
    (the first RAWX for SFRBX before any); 0 when the log has no RAWX."""
    sf = frames.select(0x02, 0x13)
    rx = frames.select(0x02, 0x15)
    rx = rx[frames.length[(frames.cls == 0x02) & (frames.id == 0x15)] >= 16]
    if not len(rx):
        return np.zeros(len(sf), np.int64)
    hdr = np.frombuffer(_gather(data, rx, 16), _RAWX_HEADER_DTYPE)
    t = hdr["week"].astype(np.int64) * NS_PER_WEEK + np.rint(hdr["tow"] * NS_PER_S).astype(np.int64)
    ix = np.clip(np.searchsorted(rx, sf) - 1, 0, len(rx) - 1)
    return t[ix]


# ============================================================================ files
def is_ubx(head: bytes) -> bool:
    """Whether a stream looks like a UBX log (:func:`satnav.io.rawlog.log_protocol` of its
    first 64 KB is ``"ubx"``)."""
    return log_protocol(head) == "ubx"


def is_ubx_file(path: str | PathLike) -> bool:
    """Whether a file (plain or gzip-compressed) is a UBX log (:func:`is_ubx` of its head)."""
    head = read_head_bytes(path)
    return head is not None and is_ubx(head)


#: The bytes of a (gzip-compressed or plain) log file.
read_ubx_bytes = read_log_bytes


@dataclass
class UbxLog:
    """A decoded UBX log: observations, navigation messages, the framing counts and the
    receiver's own solutions (``receiver``: ``"NAV-PVT"``/``"NAV-HPPOSLLH"`` ->
    :class:`satnav.io.ubx_nav.ReceiverSolutions`, when the log has RAWX to date them)."""

    observations: Observations
    navigation: Navigation
    counts: dict
    messages: dict
    receiver: dict = field(default_factory=dict)


#: RXM-RAWX messages decoded at a time by :func:`read_ubx` (a day at 1 Hz in 24 pieces: the
#: temporary arrays of the decoding stay small; the result is the same).
RAWX_CHUNK = 3600
#: Messages decoded again before each piece so that loss-of-lock flags continue across it
#: (a signal's previous measurement is in them unless it was lost for longer: then its lock
#: time restarted and the flag is set either way).
RAWX_LEAD_IN = 300


def decode_rawx_chunked(data: bytes, frames: UbxFrames, *, source: str = "", chunk: int = RAWX_CHUNK,
                        lead_in: int = RAWX_LEAD_IN) -> Observations:
    """:func:`decode_rawx` of a long log in pieces of ``chunk`` RXM-RAWX messages (bounded
    memory), each decoded with the ``lead_in`` messages before it and those epochs dropped;
    equal to one :func:`decode_rawx` of the whole log (tested)."""
    sel = (frames.cls == 0x02) & (frames.id == 0x15)
    starts, lengths = frames.start[sel], frames.length[sel]
    n = len(starts)
    if n <= chunk + lead_in:
        return decode_rawx(data, frames, source=source)
    # the first message with a sigId > 1 (a ninth-generation receiver: decode_rawx's rule)
    trigger = n
    for i, (st, ln) in enumerate(zip(starts.tolist(), lengths.tolist())):
        if ln < 16:
            continue
        nmeas = data[st + 6 + 11]
        if ln >= 16 + 32 * nmeas and any(data[st + 6 + 16 + 32 * k + 22] > 1 for k in range(nmeas)):
            trigger = i
            break
    parts = []
    for lo in range(0, n, chunk):
        lead = max(0, lo - lead_in)
        piece = slice(lead, min(n, lo + chunk))
        sub = UbxFrames(starts[piece], np.full(piece.stop - lead, 0x02, np.uint8),
                        np.full(piece.stop - lead, 0x15, np.uint8), lengths[piece], [], {})  # fmt: skip
        obs = decode_rawx(data, sub, source=source, phase_std_limit=14 if trigger < lead else None)
        epochs = obs.epochs
        keep_from = _rawx_time(data, int(starts[lo])) if lo > 0 else None
        if keep_from is not None:  # drop the lead-in epochs
            obs = obs.select(np.flatnonzero(obs.time >= keep_from))
            epochs = epochs[epochs >= keep_from]
        parts.append((obs, epochs))
    return concat_observations(parts, source)


def _rawx_time(data: bytes, start: int) -> int | None:
    """GPST ns of the RXM-RAWX message at ``start`` (None when its week is 0)."""
    hdr = np.frombuffer(data[start + 6 : start + 22], _RAWX_HEADER_DTYPE)[0]
    if hdr["week"] == 0:
        return None
    return int(hdr["week"]) * NS_PER_WEEK + int(np.rint(hdr["tow"] * NS_PER_S))


def read_ubx(path: str | PathLike, *, navigation: bool = True) -> UbxLog:
    """Decode a UBX log file (plain or ``.gz``): RXM-RAWX observations (in pieces of
    :data:`RAWX_CHUNK` messages: :func:`decode_rawx_chunked`) and (unless ``navigation`` is
    False) RXM-SFRBX ephemerides; see the module docstring."""
    data = read_ubx_bytes(path)
    frames = frame_ubx(data)
    obs = decode_rawx_chunked(data, frames, source=str(path))
    counts = dict(frames.counts)
    nav = Navigation()
    if navigation:
        hint = int(obs.epochs[0] // NS_PER_WEEK) if len(obs.epochs) else None
        times = sfrbx_times(data, frames) if len(obs.epochs) else None
        nav = decode_sfrbx(data, frames, week_hint=hint, counts=counts, times_ns=times)
        nav.sources = [str(path)]
        nav.header.comments.extend(conversion_comments("ubx", str(path), SFRBX_COMMENT))
        if nav.header.leap_seconds is None and obs.header.leap_seconds is not None:
            nav.header.leap_seconds = obs.header.leap_seconds
    receiver = {}
    if len(obs.epochs):
        from .ubx_nav import receiver_solutions

        receiver = receiver_solutions(data, frames, int(obs.epochs[0]))
    return UbxLog(obs, nav, counts, frames.message_counts(), receiver)


def ubx_info(path: str | PathLike) -> dict:
    """JSON-ready summary of a UBX log (for ``satnav info``)."""
    from ._raw_obs import raw_log_info

    log = read_ubx(path)
    return raw_log_info("ubx", log.observations, log.navigation, log.messages, log.counts)
