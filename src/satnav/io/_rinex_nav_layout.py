"""Field layouts of RINEX navigation records (versions 2.x, 3.xx and 4.0x), per system and
message type, shared by the reader (:mod:`satnav.io.rinex_nav`) and the writer
(:mod:`satnav.io.rinex_nav_writer`).

Private to ``satnav.io``: the names here have no leading underscore so that both modules
can import them, but they are not part of the public API.
"""

from __future__ import annotations

import math

__all__ = [
    "LAYOUTS",
    "DEFAULT_TYPE",
    "V3_TYPES",
    "TIME_SCALE",
    "KM_FIELDS",
    "BDS_GEO_PRNS",
    "ARCSEC",
    "DAY",
    "UNKNOWN_VALUE",
    "UNKNOWN_TEXT",
]

#: The value RINEX 3.05 writes for "unknown" (GLONASS group delay), read as NaN.
UNKNOWN_VALUE = 0.999999999999e09
#: How it is written (a D19.12 field).
UNKNOWN_TEXT = "  .999999999999E+09"

# Field layouts: the stored field of each 19-character data field of a record, in order
# (first line's 3 fields after the epoch, then 4 per continuation line). None = not stored.
# Sources: RINEX 3.05 Tables A6-A18 (3.x records), RINEX 4.00 Tables A5-A33 (4.x records),
# RINEX 2.11 Tables A4, A11, A16 (2.x records; same order).
_CLOCK = ["af0", "af1", "af2"]
_ORBIT_1_4 = [
    "crs", "delta_n", "m0",
    "cuc", "e", "cus", "sqrt_a",
    "toe_sow", "cic", "omega0", "cis",
    "i0", "crc", "omega", "omega_dot",
]  # fmt: skip
_LAYOUT_GPS_LNAV = _CLOCK + ["iode"] + _ORBIT_1_4 + [
    "idot", "codes_l2", "week", "l2p_flag",
    "accuracy", "health", "tgd", "iodc",
    "transmission_time", "fit_interval", None, None,
]  # fmt: skip
_LAYOUT_GAL = _CLOCK + ["iode"] + _ORBIT_1_4 + [
    "idot", "data_source", "week", None,
    "accuracy", "health", "bgd_e5a", "bgd_e5b",
    "transmission_time", None, None, None,
]  # fmt: skip
_LAYOUT_BDS_D1D2 = _CLOCK + ["iode"] + _ORBIT_1_4 + [
    "idot", None, "week", None,
    "accuracy", "health", "tgd", "tgd2",
    "transmission_time", "iodc", None, None,
]  # fmt: skip
_LAYOUT_IRN = _CLOCK + ["iode"] + _ORBIT_1_4 + [
    "idot", None, "week", None,
    "accuracy", "health", "tgd", None,
    "transmission_time", None, None, None,
]  # fmt: skip
# RINEX 4.00 GPS/QZSS CNAV (Table A32 ff.): no IODE/week; toe = toc; URAI are indices.
_LAYOUT_CNAV = _CLOCK + ["adot"] + _ORBIT_1_4 + [
    "idot", "delta_n_dot", None, None,
    None, "health", "tgd", None,
    None, None, None, None,
    "transmission_time", None, None, None,
]  # fmt: skip
_LAYOUT_CNV2 = _LAYOUT_CNAV[:-4] + [None, None, None, None] + ["transmission_time", None, None, None]
# RINEX 4.00 BeiDou B-CNAV1/2 (10 lines) and B-CNAV3 (9 lines).
_LAYOUT_BDS_CNV12 = _CLOCK + ["adot"] + _ORBIT_1_4 + [
    "idot", "delta_n_dot", None, None,
    None, None, None, None,
    None, None, "tgd", "tgd2",
    None, "health", None, "iodc",
    "transmission_time", None, None, "iode",
]  # fmt: skip
_LAYOUT_BDS_CNV3 = _CLOCK + ["adot"] + _ORBIT_1_4 + [
    "idot", "delta_n_dot", None, None,
    None, None, None, None,
    None, "health", None, "tgd",
    "transmission_time", None, None, None,
]  # fmt: skip
_LAYOUT_GLO = [
    "clock_bias", "gamma_n", "frame_time",
    "x", "vx", "ax", "health",
    "y", "vy", "ay", "freq_num",
    "z", "vz", "az", "age",
    "status_flags", "group_delay", "urai", "health_flags",
]  # fmt: skip
_LAYOUT_SBAS = [
    "af0", "af1", "transmission_time",
    "x", "vx", "ax", "health",
    "y", "vy", "ay", "accuracy",
    "z", "vz", "az", "iodn",
]  # fmt: skip

#: (system, message type) -> (layout, minimum lines, maximum lines)
LAYOUTS = {
    ("G", "LNAV"): (_LAYOUT_GPS_LNAV, 8, 8),
    ("J", "LNAV"): (_LAYOUT_GPS_LNAV, 8, 8),
    ("E", "INAV"): (_LAYOUT_GAL, 8, 8),
    ("E", "FNAV"): (_LAYOUT_GAL, 8, 8),
    ("E", "GAL"): (_LAYOUT_GAL, 8, 8),  # RINEX 2/3: type from the data-source bits
    ("C", "D1"): (_LAYOUT_BDS_D1D2, 8, 8),
    ("C", "D2"): (_LAYOUT_BDS_D1D2, 8, 8),
    ("C", "BDS"): (_LAYOUT_BDS_D1D2, 8, 8),  # RINEX 3: D1/D2 from the PRN
    ("I", "LNAV"): (_LAYOUT_IRN, 8, 8),
    ("G", "CNAV"): (_LAYOUT_CNAV, 9, 9),
    ("J", "CNAV"): (_LAYOUT_CNAV, 9, 9),
    ("G", "CNV2"): (_LAYOUT_CNV2, 10, 10),
    ("J", "CNV2"): (_LAYOUT_CNV2, 10, 10),
    ("C", "CNV1"): (_LAYOUT_BDS_CNV12, 10, 10),
    ("C", "CNV2"): (_LAYOUT_BDS_CNV12, 10, 10),
    ("C", "CNV3"): (_LAYOUT_BDS_CNV3, 9, 9),
    ("R", "FDMA"): (_LAYOUT_GLO, 4, 5),
    ("S", "SBAS"): (_LAYOUT_SBAS, 4, 4),
}
#: Message type of RINEX 2/3 records (no type written), per system.
DEFAULT_TYPE = {"G": "LNAV", "J": "LNAV", "E": "GAL", "C": "BDS", "I": "LNAV", "R": "FDMA", "S": "SBAS"}
#: Time scale of the calendar times written in records of each system.
TIME_SCALE = {"G": "GPS", "E": "GAL", "J": "QZS", "I": "IRN", "S": "GPS", "C": "BDS", "R": "UTC"}
#: Fields written in km (km/s, km/s^2) in GLONASS and SBAS records, stored in m.
KM_FIELDS = ("x", "y", "z", "vx", "vy", "vz", "ax", "ay", "az")
#: BeiDou GEO PRNs (D2 messages in RINEX 3, where the record does not say).
BDS_GEO_PRNS = frozenset([1, 2, 3, 4, 5, 59, 60, 61, 62, 63])

#: One arc second (rad) and one day (s): units of the RINEX 4 EOP record.
ARCSEC = math.pi / 648000.0
DAY = 86400.0

#: Message types a RINEX 3.05 file can hold, per system (the others need RINEX 4).
V3_TYPES = {"G": ("LNAV",), "J": ("LNAV",), "E": ("INAV", "FNAV"), "C": ("D1", "D2"),
            "I": ("LNAV",), "R": ("FDMA",), "S": ("SBAS",)}  # fmt: skip
