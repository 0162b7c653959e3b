"""The navigation data model: broadcast messages of every system, whatever their source.

A :class:`Navigation` holds one structured array of broadcast messages per system letter
(one row per message, one column per broadcast parameter; dtypes below), the ionospheric
and time-system corrections of a navigation header (:class:`NavHeader`) and the RINEX 4
STO, EOP and ION records. The RINEX reader (:func:`satnav.io.rinex_nav.read_rinex_nav`)
fills it; so can a stream decoder (RTCM 3, UBX) or a broadcast fit
(:mod:`satnav.constellation.broadcast`), through :meth:`Navigation.add_messages` and
:meth:`Navigation.merge`. The orbit code (:mod:`satnav.orbits.ephemeris`) reads it.

Units are SI (s, m, m/s, m/s^2, rad, rad/s); every ``toc`` and ``toe`` is int64
nanoseconds of GPS time (GPST), whatever the system's own time scale (BeiDou BDT, GLONASS
UTC(SU)). Unknown values are NaN.

Fields of :data:`KEPLER_DTYPE` (GPS, Galileo, BeiDou, QZSS, NavIC; IS-GPS-200 table 20-III,
Galileo OS SIS ICD 5.1.1, BDS-SIS-ICD-B1I 5.2.4, RINEX 3.05 tables A6-A18):

==================  =============================================================
sat                 satellite index (:mod:`satnav.satellites`, ``100 * system + PRN``)
message_type        ``"LNAV"``, ``"CNAV"``, ``"CNV2"`` (GPS, QZSS), ``"INAV"``,
                    ``"FNAV"`` (Galileo), ``"D1"``, ``"D2"``, ``"CNV1"``, ``"CNV2"``,
                    ``"CNV3"`` (BeiDou), ``"LNAV"`` (NavIC)
toc                 time of clock, GPST ns
af0, af1, af2       clock bias (s), drift (s/s), drift rate (s/s^2) at ``toc``
iode                issue of data, ephemeris (GPS/QZSS IODE, Galileo IODnav, BeiDou AODE,
                    NavIC IODEC); NaN for CNAV
crs, crc            orbit radius harmonic corrections (m)
cuc, cus            argument-of-latitude harmonic corrections (rad)
cic, cis            inclination harmonic corrections (rad)
delta_n             mean motion difference (rad/s)
m0                  mean anomaly at ``toe`` (rad)
omega0              longitude of the ascending node at the start of the week (rad)
i0                  inclination at ``toe`` (rad)
omega               argument of perigee (rad)
e                   eccentricity
sqrt_a              square root of the semi-major axis (m^0.5); CNAV: of A_ref + dA
toe_sow             time of ephemeris, seconds of the system's week (BDT for BeiDou)
week                week number as written (GPS week for GPS, QZSS, NavIC and Galileo in
                    RINEX; BDT week for BeiDou)
toe                 time of ephemeris, GPST ns
omega_dot           rate of right ascension (rad/s)
idot                rate of inclination (rad/s)
tgd                 group delay (s): GPS/QZSS/NavIC TGD, BeiDou TGD1 (B1I) / TGD_B1Cp
tgd2                BeiDou TGD2 (B2I) / TGD_B2ap (s)
bgd_e5a, bgd_e5b    Galileo BGD E1-E5a, E1-E5b (s)
iodc                issue of data, clock (GPS/QZSS IODC, BeiDou AODC)
health              health as written (GPS 6-bit SV health, Galileo bits, BeiDou SatH1)
accuracy            user range accuracy (m): URA, SISA, BeiDou URA
transmission_time   transmission time of the message, seconds of week
fit_interval        fit interval as written (GPS/QZSS: hours, or the flag)
data_source         Galileo data-source bits (I/NAV or F/NAV, E1/E5a/E5b)
codes_l2, l2p_flag  GPS codes on L2 and L2 P data flag
adot                CNAV rate of semi-major axis (m/s)
delta_n_dot         CNAV rate of mean motion difference (rad/s^2)
line                1-based line of the record in its file (0 when not from a file)
source              index of the file in :attr:`Navigation.sources`
==================  =============================================================

Fields of :data:`GLONASS_DTYPE` (GLONASS ICD 5.1, RINEX 3.05 table A10): ``sat``,
``message_type`` (``"FDMA"``), ``toc`` (GPST ns), ``clock_bias`` (-tau_n, s),
``gamma_n`` (relative frequency bias, s/s), ``frame_time`` (message frame time, s of the
UTC(SU) week as written), ``x``, ``y``, ``z`` (PZ-90.11 position, m), ``vx``, ``vy``,
``vz`` (m/s), ``ax``, ``ay``, ``az`` (luni-solar acceleration, m/s^2), ``health`` (B_n, 0 =
healthy), ``freq_num`` (frequency channel k), ``age`` (E_n, days), ``status_flags``,
``health_flags``, ``urai`` (as written, RINEX 3.05), ``group_delay`` (delta tau_n L1-L2,
s), ``line``, ``source``.

Fields of :data:`SBAS_DTYPE` (RTCA DO-229, RINEX 3.05 table A16): ``sat``,
``message_type`` (``"SBAS"``), ``toc`` (GPST ns), ``af0`` (a_Gf0, s), ``af1`` (a_Gf1, s/s),
``transmission_time`` (s of GPS week), ``x``, ``y``, ``z`` (WGS84 position, m), ``vx``,
``vy``, ``vz`` (m/s), ``ax``, ``ay``, ``az`` (m/s^2), ``health``, ``accuracy`` (URA, m),
``iodn``, ``line``, ``source``.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

import numpy as np

from .satellites import SYSTEMS, satellite_id

__all__ = [
    "KEPLER_DTYPE",
    "GLONASS_DTYPE",
    "SBAS_DTYPE",
    "NavHeader",
    "Navigation",
    "message_dtype",
]

_KEPLER_FLOATS = (
    "af0 af1 af2 iode crs crc cuc cus cic cis delta_n m0 omega0 i0 omega e sqrt_a toe_sow week"
).split()
_KEPLER_FLOATS2 = (
    "omega_dot idot tgd tgd2 bgd_e5a bgd_e5b iodc health accuracy transmission_time fit_interval "
    "data_source codes_l2 l2p_flag adot delta_n_dot"
).split()

#: Broadcast Keplerian messages of GPS, Galileo, BeiDou, QZSS and NavIC (module doc).
KEPLER_DTYPE = np.dtype(
    [("sat", np.int16), ("message_type", "U4"), ("toc", np.int64)]
    + [(n, np.float64) for n in _KEPLER_FLOATS]
    + [("toe", np.int64)]
    + [(n, np.float64) for n in _KEPLER_FLOATS2]
    + [("line", np.int32), ("source", np.int16)]
)

#: GLONASS FDMA messages (PZ-90 state vectors in metres; module doc).
GLONASS_DTYPE = np.dtype(
    [("sat", np.int16), ("message_type", "U4"), ("toc", np.int64)]
    + [
        (n, np.float64)
        for n in (
            "clock_bias gamma_n frame_time x y z vx vy vz ax ay az health freq_num age "
            "status_flags health_flags urai group_delay"
        ).split()
    ]
    + [("line", np.int32), ("source", np.int16)]
)

#: SBAS (GEO) messages (WGS84 state vectors in metres; module doc).
SBAS_DTYPE = np.dtype(
    [("sat", np.int16), ("message_type", "U4"), ("toc", np.int64)]
    + [
        (n, np.float64)
        for n in "af0 af1 transmission_time x y z vx vy vz ax ay az health accuracy iodn".split()
    ]
    + [("line", np.int32), ("source", np.int16)]
)


def message_dtype(system: str) -> np.dtype:
    """The structured dtype of the messages of one system letter."""
    if system == "R":
        return GLONASS_DTYPE
    if system == "S":
        return SBAS_DTYPE
    if system in "GECJI" and len(system) == 1:
        return KEPLER_DTYPE
    raise ValueError(f"unknown system letter {system!r}, expected one of {SYSTEMS}")


@dataclass
class NavHeader:
    """Header of a RINEX navigation file (or its equivalent from another source).

    Attributes
    ----------
    version : float
    file_type : str
        ``"N"`` (RINEX 3/4 and GPS RINEX 2), ``"G"`` (GLONASS RINEX 2), ``"H"`` (SBAS
        RINEX 2), ``"E"``/``"L"`` (Galileo RINEX 2).
    system : str
        System letter of the file (``"M"`` for mixed).
    iono_corrections : dict
        ``"GPSA"``, ``"GPSB"``, ``"GAL"``, ``"BDSA"``, ... -> coefficients as written
        (Klobuchar alpha in s, s/semicircle, ...; NeQuick a_i0..a_i2).
    time_corrections : dict
        ``"GPUT"``, ``"GAGP"``, ``"GLUT"``, ... -> ``(a0 s, a1 s/s, t_ref s of week, week)``.
    leap_seconds : int or None
        Current number of leap seconds (GPS - UTC) from ``LEAP SECONDS``.
    """

    version: float = 3.05
    file_type: str = "N"
    system: str = "M"
    program: str = ""
    run_by: str = ""
    date: str = ""
    comments: list[str] = field(default_factory=list)
    iono_corrections: dict[str, np.ndarray] = field(default_factory=dict)
    time_corrections: dict[str, tuple] = field(default_factory=dict)
    leap_seconds: int | None = None

    def merge_corrections(self, other: NavHeader) -> None:
        """Add the ionospheric and time corrections of ``other`` that this header lacks
        (this header's values win), and its leap seconds when this header has none."""
        for k, v in other.iono_corrections.items():
            self.iono_corrections.setdefault(k, v)
        for k, v in other.time_corrections.items():
            self.time_corrections.setdefault(k, v)
        if self.leap_seconds is None:
            self.leap_seconds = other.leap_seconds


class Navigation:
    """Broadcast navigation messages of one or several files (or streams).

    Attributes
    ----------
    messages : dict[str, numpy.ndarray]
        System letter -> structured array (:data:`KEPLER_DTYPE`, :data:`GLONASS_DTYPE` or
        :data:`SBAS_DTYPE`), one row per message, sorted by (sat, toc). Only systems with
        messages are present.
    header : NavHeader
        Header of the first file; ionospheric and time corrections merged from all files
        (the first file's value wins).
    sources : list[str]
        The files read; ``messages[...]["source"]`` indexes this list.
    ion_records, sto_records, eop_records : list[dict]
        RINEX 4 ``> ION``, ``> STO`` and ``> EOP`` records (SI units, times GPST ns).
    skipped : dict[str, int]
        ``"SYS TYPE"`` -> number of messages of types the model does not hold (e.g.
        ``"R L1OC"``), read past without error.
    """

    def __init__(self, messages=None, header=None, sources=None):
        self.messages: dict[str, np.ndarray] = dict(messages or {})
        self.header: NavHeader = header if header is not None else NavHeader()
        self.sources: list[str] = list(sources or [])
        self.ion_records: list[dict] = []
        self.sto_records: list[dict] = []
        self.eop_records: list[dict] = []
        self.skipped: dict[str, int] = {}

    @classmethod
    def empty(cls) -> Navigation:
        """A Navigation without messages (default header), to be filled message by message."""
        return cls()

    def add_messages(self, system: str, records: np.ndarray) -> None:
        """Add messages of one system in place.

        ``records`` (a structured array of :func:`message_dtype` ``(system)``, or one that
        converts to it field by field) are appended after the messages held; exact
        duplicates (equal in every field but ``line`` and ``source``) are dropped, the first
        kept, and the system's messages sorted by (sat, toc, source, line), as
        :func:`~satnav.io.rinex_nav.read_rinex_nav` does for the messages of its files.
        """
        dtype = message_dtype(system)
        records = np.asarray(records)
        if records.dtype != dtype:
            converted = np.zeros(records.shape, dtype=dtype)
            for name in dtype.names:
                if name in records.dtype.names:
                    converted[name] = records[name]
                elif dtype[name] == np.float64:
                    converted[name] = np.nan
            records = converted
        records = records.ravel()
        held = self.messages.get(system)
        parts = [records] if held is None or len(held) == 0 else [held, records]
        merged = dedupe_sort(concat_records(parts))
        if len(merged):
            self.messages[system] = merged

    def merge(self, other: Navigation) -> Navigation:
        """A new Navigation with the messages and records of ``self`` then ``other``.

        Equal to reading the files of both in one :func:`~satnav.io.rinex_nav.read_rinex_nav`
        call: ``other``'s ``source`` indexes are shifted past ``self.sources``; messages
        deduplicated and sorted per system (:meth:`add_messages`); the header is ``self``'s,
        with the corrections only ``other`` has added. Neither input is changed.
        """
        out = Navigation(header=copy.deepcopy(self.header), sources=self.sources + other.sources)
        out.header.merge_corrections(other.header)
        shift = len(self.sources)
        for kind in ("ion_records", "sto_records", "eop_records"):
            mine = [dict(r) for r in getattr(self, kind)]
            theirs = [dict(r, source=r.get("source", 0) + shift) for r in getattr(other, kind)]
            setattr(out, kind, mine + theirs)
        for src in (self.skipped, other.skipped):
            for k, v in src.items():
                out.skipped[k] = out.skipped.get(k, 0) + v
        for s in SYSTEMS:
            parts = []
            if len(self.messages.get(s, ())):
                parts.append(self.messages[s])
            if len(other.messages.get(s, ())):
                theirs = other.messages[s].copy()
                theirs["source"] += shift
                parts.append(theirs)
            if parts:
                out.messages[s] = dedupe_sort(concat_records(parts))
        return out

    def satellites(self) -> list[str]:
        """Sorted satellite ids (``"G05"``, ``"R21"``, ...) with at least one message."""
        sats = set()
        for arr in self.messages.values():
            sats.update(int(s) for s in np.unique(arr["sat"]))
        return [satellite_id(s) for s in sorted(sats)]

    def count_by_system(self) -> dict[str, int]:
        """System letter -> number of ephemeris messages (systems in ``"GRECJIS"`` order)."""
        return {s: len(self.messages[s]) for s in SYSTEMS if s in self.messages}

    def time_span(self) -> tuple[int, int]:
        """First and last ``toc`` (GPST ns) of all messages; raises ``ValueError`` if empty."""
        tocs = [arr["toc"] for arr in self.messages.values() if len(arr)]
        if not tocs:
            raise ValueError("navigation data holds no messages")
        allt = np.concatenate(tocs)
        return int(allt.min()), int(allt.max())

    def for_system(self, letter: str) -> np.ndarray:
        """Messages of one system, or an empty array of that system's dtype."""
        arr = self.messages.get(letter)
        return arr if arr is not None else np.zeros(0, dtype=message_dtype(letter))

    def __len__(self) -> int:
        return sum(len(a) for a in self.messages.values())

    def __repr__(self) -> str:
        counts = ", ".join(f"{k}: {v}" for k, v in self.count_by_system().items())
        return f"<Navigation {len(self.sources)} file(s), messages {{{counts}}}>"


# ---------------------------------------------------------------------------------------------
# Record-level helpers (shared with the RINEX reader)
def records_view(arr: np.ndarray) -> np.ndarray:
    """The messages of a structured array as opaque records (``np.void`` of the item
    size; no padding in the message dtypes): copying, taking and concatenating them moves
    each record at once instead of field by field (~10x faster), the same bytes."""
    arr = np.ascontiguousarray(arr)
    return arr.view(np.dtype((np.void, arr.dtype.itemsize)))


#: Message fields that say where or when a message was read, not what it says: ``line`` and
#: ``source`` (the file), ``transmission_time`` (RTCM 3 gives a repetition its frame's time;
#: GPS LNAV the HOW time of subframe 1, every 30 s), GLONASS ``frame_time`` (t_k of the string 1
#: read, every 30 s).
READ_FIELDS = ("line", "source", "transmission_time", "frame_time")


def message_keys(letter: str, arr: np.ndarray, ignore: tuple = READ_FIELDS) -> list:
    """One hashable key per message of ``arr`` (system ``letter``): its bytes with the fields
    ``ignore`` zeroed, so that messages equal in every other field (a repetition) have equal
    keys and any other change (health, an upload with the same issue of data) a new one."""
    key = records_view(arr).copy().view(arr.dtype)
    for name in ignore:
        if name in arr.dtype.names:
            key[name] = 0
    return [(letter, k) for k in records_view(key).tolist()]


def concat_records(parts: list) -> np.ndarray:
    """``np.concatenate(parts)`` of structured arrays of one dtype, record by record."""
    dtype = parts[0].dtype
    if len(parts) == 1 or any(p.dtype != dtype for p in parts):
        return np.concatenate(parts)
    return np.concatenate([records_view(p) for p in parts]).view(dtype)


def dedupe_sort(arr: np.ndarray) -> np.ndarray:
    """Drop exact duplicate messages (ignoring line/source) and sort by (sat, toc)."""
    if len(arr) == 0:
        return arr
    rec = records_view(arr)
    key = rec.copy().view(arr.dtype)
    key["line"] = 0
    key["source"] = 0
    # the first of each set of byte-identical records, in order (what np.unique's
    # return_index gives, sorted; a dict of the bytes instead of sorting the records)
    first: dict[bytes, int] = {}
    for i, b in enumerate(records_view(key).tolist()):
        first.setdefault(b, i)
    rec = rec[np.fromiter(first.values(), np.int64, len(first))]
    arr = rec.view(arr.dtype)
    order = np.lexsort((arr["line"], arr["source"], arr["toc"], arr["sat"]))
    return rec[order].view(arr.dtype)
