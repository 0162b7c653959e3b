"""RTCM 3 broadcast ephemerides (1019, 1020, 1041, 1042, 1044, 1045, 1046), all frames of a
type decoded at once, filled into :class:`~satnav.navigation.Navigation` records in the form
:func:`~satnav.io.rinex_nav.read_rinex_nav` gives them.

Sources: RTCM 10403.3 3.5.6 (1019 GPS, DF071-DF103, DF137), 3.5.7 (1020 GLONASS,
DF038-DF136), 3.5.13 (1045 Galileo F/NAV, 1046 I/NAV: DF252, DF286-DF317), 3.5.14 (1044
QZSS, DF429-DF457), 3.5.15 (1042 BeiDou, DF488-DF515), amendment 2 (1041 NavIC,
DF516-DF545); scale factors are those of the ICDs the fields come from (IS-GPS-200 table
20-III, GLONASS ICD 5.1 table 4.5, Galileo OS SIS ICD table 60, BDS-SIS-ICD-B1I 5.2.4,
IS-QZSS-PNT, IRNSS SPS ICD).

Weeks: GPS, QZSS and NavIC send 10 bits, resolved to the 1024-week era nearest the
reference time; Galileo sends the 12-bit GST week (GPS week - 1024), BeiDou the 13-bit BDT
week. GLONASS sends times of day only (tk, tb in UTC(SU) + 3 h): they are placed on the day
nearest the reference time (the stream's time when the message arrived). Where RTCM has
no field for a RINEX value (transmission time) the reference time is used; the Galileo data
source is I/NAV E1-B with E5b-E1 clock (517) for 1046 and F/NAV E5a (258) for 1045, as RTKLIB writes them.
"""

from __future__ import annotations

import numpy as np

from ..gnss_time import (
    NS_PER_DAY,
    NS_PER_S,
    NS_PER_WEEK,
    bdt_week_tow,
    gpst_from_bdt_week_tow,
    leap_seconds_at_gpst,
)
from ..navigation import GLONASS_DTYPE, KEPLER_DTYPE
from ..satellites import SATELLITES_PER_SYSTEM, SYSTEMS
from ._bits import bits_s, bits_sm, bits_u
from ._nav_tables import SEMICIRCLE_RAD, sisa_m, ura_m

__all__ = ["EPHEMERIS_TYPES", "decode_ephemerides", "ephemeris_fields", "glonass_records", "resolve_week10"]

SC = SEMICIRCLE_RAD
# (field, bits, kind): u unsigned, s two's complement, m sign-magnitude; "-" reserved
_LAYOUTS: dict[int, tuple[tuple[str, int, str], ...]] = {
    1019: (("prn", 6, "u"), ("week", 10, "u"), ("ura", 4, "u"), ("codes_l2", 2, "u"), ("idot", 14, "s"),
           ("iode", 8, "u"), ("toc", 16, "u"), ("af2", 8, "s"), ("af1", 16, "s"), ("af0", 22, "s"),
           ("iodc", 10, "u"), ("crs", 16, "s"), ("delta_n", 16, "s"), ("m0", 32, "s"), ("cuc", 16, "s"),
           ("e", 32, "u"), ("cus", 16, "s"), ("sqrt_a", 32, "u"), ("toe", 16, "u"), ("cic", 16, "s"),
           ("omega0", 32, "s"), ("cis", 16, "s"), ("i0", 32, "s"), ("crc", 16, "s"), ("omega", 32, "s"),
           ("omega_dot", 24, "s"), ("tgd", 8, "s"), ("health", 6, "u"), ("l2p_flag", 1, "u"),
           ("fit", 1, "u")),
    1044: (("prn", 4, "u"), ("toc", 16, "u"), ("af2", 8, "s"), ("af1", 16, "s"), ("af0", 22, "s"),
           ("iode", 8, "u"), ("crs", 16, "s"), ("delta_n", 16, "s"), ("m0", 32, "s"), ("cuc", 16, "s"),
           ("e", 32, "u"), ("cus", 16, "s"), ("sqrt_a", 32, "u"), ("toe", 16, "u"), ("cic", 16, "s"),
           ("omega0", 32, "s"), ("cis", 16, "s"), ("i0", 32, "s"), ("crc", 16, "s"), ("omega", 32, "s"),
           ("omega_dot", 24, "s"), ("idot", 14, "s"), ("codes_l2", 2, "u"), ("week", 10, "u"),
           ("ura", 4, "u"), ("health", 6, "u"), ("tgd", 8, "s"), ("iodc", 10, "u"), ("fit", 1, "u")),
    1041: (("prn", 6, "u"), ("week", 10, "u"), ("af0", 22, "s"), ("af1", 16, "s"), ("af2", 8, "s"),
           ("ura", 4, "u"), ("toc", 16, "u"), ("tgd", 8, "s"), ("delta_n", 22, "s"), ("iode", 8, "u"),
           ("-", 10, "u"), ("l5_flag", 1, "u"), ("s_flag", 1, "u"), ("cuc", 15, "s"), ("cus", 15, "s"),
           ("cic", 15, "s"), ("cis", 15, "s"), ("crc", 15, "s"), ("crs", 15, "s"), ("idot", 14, "s"),
           ("-", 2, "u"), ("m0", 32, "s"), ("toe", 16, "u"), ("e", 32, "u"), ("sqrt_a", 32, "u"),
           ("omega0", 32, "s"), ("omega", 32, "s"), ("omega_dot", 22, "s"), ("i0", 32, "s"), ("-", 2, "u")),
    1042: (("prn", 6, "u"), ("week", 13, "u"), ("ura", 4, "u"), ("idot", 14, "s"), ("iode", 5, "u"),
           ("toc", 17, "u"), ("af2", 11, "s"), ("af1", 22, "s"), ("af0", 24, "s"), ("iodc", 5, "u"),
           ("crs", 18, "s"), ("delta_n", 16, "s"), ("m0", 32, "s"), ("cuc", 18, "s"), ("e", 32, "u"),
           ("cus", 18, "s"), ("sqrt_a", 32, "u"), ("toe", 17, "u"), ("cic", 18, "s"), ("omega0", 32, "s"),
           ("cis", 18, "s"), ("i0", 32, "s"), ("crc", 18, "s"), ("omega", 32, "s"), ("omega_dot", 24, "s"),
           ("tgd", 10, "s"), ("tgd2", 10, "s"), ("health", 1, "u")),
    1045: (("prn", 6, "u"), ("week", 12, "u"), ("iode", 10, "u"), ("sisa", 8, "u"), ("idot", 14, "s"),
           ("toc", 14, "u"), ("af2", 6, "s"), ("af1", 21, "s"), ("af0", 31, "s"), ("crs", 16, "s"),
           ("delta_n", 16, "s"), ("m0", 32, "s"), ("cuc", 16, "s"), ("e", 32, "u"), ("cus", 16, "s"),
           ("sqrt_a", 32, "u"), ("toe", 14, "u"), ("cic", 16, "s"), ("omega0", 32, "s"), ("cis", 16, "s"),
           ("i0", 32, "s"), ("crc", 16, "s"), ("omega", 32, "s"), ("omega_dot", 24, "s"),
           ("bgd_e5a", 10, "s"), ("e5a_hs", 2, "u"), ("e5a_dvs", 1, "u")),
    1046: (("prn", 6, "u"), ("week", 12, "u"), ("iode", 10, "u"), ("sisa", 8, "u"), ("idot", 14, "s"),
           ("toc", 14, "u"), ("af2", 6, "s"), ("af1", 21, "s"), ("af0", 31, "s"), ("crs", 16, "s"),
           ("delta_n", 16, "s"), ("m0", 32, "s"), ("cuc", 16, "s"), ("e", 32, "u"), ("cus", 16, "s"),
           ("sqrt_a", 32, "u"), ("toe", 14, "u"), ("cic", 16, "s"), ("omega0", 32, "s"), ("cis", 16, "s"),
           ("i0", 32, "s"), ("crc", 16, "s"), ("omega", 32, "s"), ("omega_dot", 24, "s"),
           ("bgd_e5a", 10, "s"), ("bgd_e5b", 10, "s"), ("e5b_hs", 2, "u"), ("e5b_dvs", 1, "u"),
           ("e1b_hs", 2, "u"), ("e1b_dvs", 1, "u")),
    1020: (("prn", 6, "u"), ("fcn", 5, "u"), ("cn", 1, "u"), ("cn_avail", 1, "u"), ("p1", 2, "u"),
           ("tk_h", 5, "u"), ("tk_m", 6, "u"), ("tk_s", 1, "u"), ("bn", 1, "u"), ("p2", 1, "u"),
           ("tb", 7, "u"), ("vx", 24, "m"), ("x", 27, "m"), ("ax", 5, "m"), ("vy", 24, "m"), ("y", 27, "m"),
           ("ay", 5, "m"), ("vz", 24, "m"), ("z", 27, "m"), ("az", 5, "m"), ("p3", 1, "u"),
           ("gamma", 11, "m"), ("p", 2, "u"), ("ln3", 1, "u"), ("tau", 22, "m"), ("dtau", 5, "m"),
           ("en", 5, "u"), ("p4", 1, "u"), ("ft", 4, "u"), ("nt", 11, "u"), ("m", 2, "u"),
           ("avail", 1, "u"), ("na", 11, "u"), ("tauc", 32, "m"), ("n4", 5, "u"), ("taugps", 22, "m"),
           ("ln5", 1, "u")),
}  # fmt: skip
#: Ephemeris message number -> system letter.
EPHEMERIS_TYPES = {1019: "G", 1020: "R", 1041: "I", 1042: "C", 1044: "J", 1045: "E", 1046: "E"}

# scale factors (ICD units: semicircles -> rad through SC)
_KEPLER_SCALE = {
    "crs": 2.0**-5, "crc": 2.0**-5, "cuc": 2.0**-29, "cus": 2.0**-29, "cic": 2.0**-29, "cis": 2.0**-29,
    "delta_n": 2.0**-43 * SC, "m0": 2.0**-31 * SC, "e": 2.0**-33, "sqrt_a": 2.0**-19,
    "omega0": 2.0**-31 * SC, "i0": 2.0**-31 * SC, "omega": 2.0**-31 * SC, "omega_dot": 2.0**-43 * SC,
    "idot": 2.0**-43 * SC, "af0": 2.0**-31, "af1": 2.0**-43, "af2": 2.0**-55, "tgd": 2.0**-31,
}  # fmt: skip
_SCALE_OVERRIDES = {
    1042: {"crs": 2.0**-6, "crc": 2.0**-6, "cuc": 2.0**-31, "cus": 2.0**-31, "cic": 2.0**-31,
           "cis": 2.0**-31, "af0": 2.0**-33, "af1": 2.0**-50, "af2": 2.0**-66, "tgd": 1e-10, "tgd2": 1e-10},
    1045: {"af0": 2.0**-34, "af1": 2.0**-46, "af2": 2.0**-59, "bgd_e5a": 2.0**-32},
    1046: {"af0": 2.0**-34, "af1": 2.0**-46, "af2": 2.0**-59, "bgd_e5a": 2.0**-32, "bgd_e5b": 2.0**-32},
    1041: {"crs": 2.0**-4, "crc": 2.0**-4, "cuc": 2.0**-28, "cus": 2.0**-28, "cic": 2.0**-28,
           "cis": 2.0**-28, "delta_n": 2.0**-41 * SC, "omega_dot": 2.0**-41 * SC},
}  # fmt: skip
_TIME_SCALE = {1019: 16.0, 1044: 16.0, 1041: 16.0, 1042: 8.0, 1045: 60.0, 1046: 60.0}


def ephemeris_fields(buf: np.ndarray, payload: np.ndarray, mtype: int) -> tuple[dict, np.ndarray]:
    """Raw integer fields of every message of one type, and which messages were long enough."""
    layout = _LAYOUTS[mtype]
    P = payload.astype(np.int64) * 8 + 12
    out = {}
    pos = 0
    for name, w, kind in layout:
        if name != "-":
            fn = bits_u if kind == "u" else bits_s if kind == "s" else bits_sm
            out[name] = fn(buf, P + pos, w)
        pos += w
    return out, np.int64(12 + pos)


def resolve_week10(week10: np.ndarray, ref_week: int) -> np.ndarray:
    """10-bit week numbers placed in the 1024-week era nearest ``ref_week``."""
    w = np.asarray(week10, np.int64)
    return w + 1024 * np.round((ref_week - w) / 1024).astype(np.int64)


def _near(t: np.ndarray, ref: np.ndarray, period: int) -> np.ndarray:
    """``t`` moved by whole ``period`` to within half a period of ``ref``."""
    return t + period * np.round((ref - t) / period).astype(np.int64)


def decode_ephemerides(
    buf: np.ndarray,
    payload: np.ndarray,
    length: np.ndarray,
    mtype: int,
    ref_ns: np.ndarray,
    counts: dict,
) -> tuple[str, np.ndarray]:
    """(system letter, records) of all ephemeris messages of one type.

    ``ref_ns``: the reference time of each message (GPST ns; the stream's time when it
    arrived, or the caller's hint): resolves 10-bit weeks and GLONASS days, and is the
    transmission time written. Messages too short are counted in ``counts["undecodable"]``.
    """
    f, need_bits = ephemeris_fields(buf, payload, mtype)
    ok = length.astype(np.int64) * 8 >= need_bits
    if not ok.all():
        counts["undecodable"] = counts.get("undecodable", 0) + int((~ok).sum())
        f = {k: v[ok] for k, v in f.items()}
        ref_ns = ref_ns[ok]
    letter = EPHEMERIS_TYPES[mtype]
    if mtype == 1020:
        return letter, glonass_records(f, ref_ns)
    return letter, _kepler_records(f, mtype, letter, ref_ns)


def _kepler_records(f: dict, mtype: int, letter: str, ref_ns: np.ndarray) -> np.ndarray:
    n = len(f["prn"])
    rec = np.zeros(n, KEPLER_DTYPE)
    for name in KEPLER_DTYPE.names:
        if KEPLER_DTYPE[name] == np.float64:
            rec[name] = np.nan
    scale = dict(_KEPLER_SCALE)
    scale.update(_SCALE_OVERRIDES.get(mtype, {}))
    for name, s in scale.items():
        if name in f:
            rec[name] = f[name] * s
    prn = f["prn"]
    sysnum = SYSTEMS.index(letter)
    rec["sat"] = sysnum * SATELLITES_PER_SYSTEM + prn
    ref_week = np.floor_divide(ref_ns, NS_PER_WEEK)
    toe_sow = f["toe"] * _TIME_SCALE[mtype]
    toc_sow = f["toc"] * _TIME_SCALE[mtype]
    if mtype in (1045, 1046):
        week = f["week"] + 1024  # GST week -> GPS week (RINEX "GAL week")
    elif mtype == 1042:
        week = f["week"]  # BDT week
    else:
        week = resolve_week10(f["week"], ref_week)
    if mtype == 1042:
        toe = gpst_from_bdt_week_tow(week, toe_sow)
        toc = gpst_from_bdt_week_tow(week, toc_sow)
    else:
        toe = week * NS_PER_WEEK + np.rint(toe_sow * NS_PER_S).astype(np.int64)
        toc = week * NS_PER_WEEK + np.rint(toc_sow * NS_PER_S).astype(np.int64)
    toc = _near(toc, toe, NS_PER_WEEK)
    rec["week"] = week
    rec["toe_sow"] = toe_sow
    rec["toe"] = toe
    rec["toc"] = toc
    rec["iode"] = f["iode"]
    rec["transmission_time"] = np.where(
        ref_ns > 0, (ref_ns - week * NS_PER_WEEK) / NS_PER_S, np.nan
    )
    if mtype in (1019, 1044):
        rec["message_type"] = "LNAV"
        rec["iodc"] = f["iodc"]
        rec["codes_l2"] = f["codes_l2"]
        rec["accuracy"] = ura_m(f["ura"])
        rec["health"] = f["health"]
        rec["fit_interval"] = (
            np.where(f["fit"] == 0, 4.0, 0.0) if mtype == 1019 else f["fit"].astype(float)
        )
        rec["l2p_flag"] = f.get("l2p_flag", np.zeros(n))
    elif mtype == 1041:
        rec["message_type"] = "LNAV"
        rec["accuracy"] = ura_m(f["ura"])
        rec["health"] = (f["l5_flag"] << 1) | f["s_flag"]
    elif mtype == 1042:
        geo = (prn <= 5) | (prn >= 59)
        rec["message_type"] = np.where(geo, "D2", "D1")
        rec["iodc"] = f["iodc"]
        rec["accuracy"] = ura_m(f["ura"])  # the nominal URA table, as RINEX writers use it
        rec["health"] = f["health"]
        rec["transmission_time"] = bdt_week_tow(ref_ns)[1]
    else:
        rec["accuracy"] = sisa_m(f["sisa"])
        if mtype == 1046:
            rec["message_type"] = "INAV"
            rec["health"] = (
                f["e1b_dvs"] | (f["e1b_hs"] << 1) | (f["e5b_dvs"] << 6) | (f["e5b_hs"] << 7)
            )
            rec["data_source"] = 517.0
        else:
            rec["message_type"] = "FNAV"
            rec["bgd_e5b"] = 0.0  # not in F/NAV; RINEX writes 0
            rec["health"] = (f["e5a_dvs"] << 3) | (f["e5a_hs"] << 4)
            rec["data_source"] = 258.0
    return rec


def glonass_records(f: dict, ref_ns: np.ndarray) -> np.ndarray:
    """GLONASS_DTYPE records of raw GLONASS fields (RTCM 1020 / ICD string units), times of
    day on the day nearest ``ref_ns`` (GPST ns)."""
    n = len(f["prn"])
    rec = np.zeros(n, GLONASS_DTYPE)
    for name in GLONASS_DTYPE.names:
        if GLONASS_DTYPE[name] == np.float64:
            rec[name] = np.nan
    rec["sat"] = SYSTEMS.index("R") * SATELLITES_PER_SYSTEM + f["prn"]
    rec["message_type"] = "FDMA"
    leap = leap_seconds_at_gpst(ref_ns) * NS_PER_S
    three_h = 3 * 3600 * NS_PER_S
    # times of day in UTC(SU) + 3 h -> GPST, on the day nearest the reference
    tb_gpst = f["tb"] * 900 * NS_PER_S - three_h + leap
    toc = _near(tb_gpst, ref_ns, NS_PER_DAY)
    tk_gpst = (f["tk_h"] * 3600 + f["tk_m"] * 60 + f["tk_s"] * 30) * NS_PER_S - three_h + leap
    tof = _near(tk_gpst, ref_ns, NS_PER_DAY)
    rec["toc"] = toc
    # frame time: seconds of the UTC week (RINEX 3)
    tof_utc = tof - leap
    rec["frame_time"] = (tof_utc - np.floor_divide(tof_utc, NS_PER_WEEK) * NS_PER_WEEK) / NS_PER_S
    for axis in "xyz":
        rec[axis] = f[axis] * 2.0**-11 * 1e3
        rec["v" + axis] = f["v" + axis] * 2.0**-20 * 1e3
        rec["a" + axis] = f["a" + axis] * 2.0**-30 * 1e3
    rec["clock_bias"] = -f["tau"] * 2.0**-30
    rec["gamma_n"] = f["gamma"] * 2.0**-40
    rec["health"] = f["bn"]
    rec["freq_num"] = f["fcn"] - 7
    rec["age"] = f["en"]
    rec["group_delay"] = f["dtau"] * 2.0**-30
    return rec
