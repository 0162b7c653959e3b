"""Per-system signal registry: one :class:`SystemSignals` per system letter.

Everything satnav knows about a system's signals lives here, once: the RINEX observation
codes and the order in which the estimators prefer them, the carrier frequency of every
band (the numbers themselves are in :mod:`satnav.constants`), GLONASS FDMA channels, the
pseudorange error factor and receiver-clock group, the Android constellation number, NMEA
ids, the RTKLIB name and the plot colour. Adding a system means adding one entry to
:data:`SIGNALS` (and its letter and name to :data:`satnav.satellites.SYSTEM_NAMES`);
``tests/test_signals.py`` checks that every table covers exactly
:data:`satnav.satellites.SYSTEMS`.

Sources
-------
* Observation codes ``tna`` (type, band digit, attribute) and band digits: RINEX 3.05
  (IGS/RTCM, 2020) section 5.1 and tables 4-10 ("Observation codes"), RINEX 4.00 (2021)
  tables A2-A8 (same codes; BeiDou band 1 = B1C/B1A, band 2 = B1I since 3.03).
* Carrier frequencies: IS-GPS-200 / IS-GPS-705 (L1, L2, L5), GLONASS ICD ed. 5.1 (2008)
  3.3.1.4 (FDMA G1/G2: f = base + k step, k = -7..+6) and the L1OC/L2OC/L3OC CDMA ICDs
  (2016), Galileo OS SIS ICD 2.1 (E1, E5a, E5b, E5, E6), BDS-SIS-ICD B1I 3.0 / B3I 1.0 /
  B1C 1.0 / B2a 1.0, IS-QZSS-PNT-005 (L1, L2, L5, L6), IRNSS SPS ICD 1.1 (L5, S), RTCA
  DO-229 (SBAS L1, L5); values in :mod:`satnav.constants`.
* Error factors: RTKLIB 2.4.3 ``rtklib.h`` ``EFACT_GPS`` ... ``EFACT_SBS``.
* NMEA: NMEA 0183 4.11 talker ids and GNSS system ids (GSA/GSV ``systemId``).
* Android: ``android.location.GnssStatus.CONSTELLATION_*``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np

from . import constants as C
from .satellites import SYSTEM_NAMES, SYSTEMS, satellite_index

__all__ = [
    "SystemSignals",
    "SIGNALS",
    "RTK_ATTRIBUTE_PREFERENCE",
    "per_system",
    "carrier_frequency",
    "glonass_channels",
]

#: Order in which RTK picks a signal's attribute within a band, for phase and code alike
#: (RTKLIB 2.4.3 ``rtkcmn.c`` ``codepris``, merged over systems).
RTK_ATTRIBUTE_PREFERENCE = "CWPSLXQIDBYMZAN"


def _frozen(mapping: Mapping) -> Mapping:
    return MappingProxyType(dict(mapping))


@dataclass(frozen=True)
class SystemSignals:
    """Signals and per-system settings of one GNSS (one entry of :data:`SIGNALS`).

    Attributes
    ----------
    letter : str
        RINEX system letter (``"G"``).
    carrier_hz : Mapping[str, float]
        RINEX band digit -> carrier frequency (Hz) of the CDMA bands (RINEX 3.05 tables 4-10).
    fdma_hz : Mapping[str, tuple[float, float]]
        FDMA band digit -> (base, step) (Hz): ``f = base + k * step`` for frequency channel
        ``k`` (GLONASS G1/G2 only, GLONASS ICD 5.1 3.3.1.4).
    spp_codes : tuple of str
        Default SPP pseudorange codes in order of preference: the first present in the file
        is used, later ones *of the same band* fill gaps satellite by satellite.
    spp_multi_codes : tuple of tuple of str
        Further bands for multi-signal SPP: codes in order of preference per band.
    spp_iono_free_codes : tuple of (tuple of str, tuple of str) or None
        Codes of the first and second frequency of the iono-free combination (None: the
        system has no iono-free pair).
    precise_bands : tuple of (str, str) or None
        RINEX band digits of the ionosphere-free combination IGS precise orbits and clocks
        refer to (ANTEX satellite offsets are combined over them); None where none is used.
    rtk_bands : Mapping[str, str] or None
        RTK frequency name (``"L1"``, ``"L2"``, ``"L5"``) -> RINEX band digits in order of
        preference (RTKLIB frequency numbering); None where RTK does not use the system.
    rtk_integer : bool
        Whether RTK resolves the system's double-difference ambiguities to integers (False
        for GLONASS FDMA: inter-frequency biases are not calibrated).
    max_prn : int
        Highest satellite number in use (RTKLIB 2.4.3 ``rtklib.h`` ``MAXPRN*``; SBAS PRN
        158 is ``S58``): the per-epoch RTK engine lays out satellites 1..max_prn.
    simulated_signals : tuple of str
        Band + attribute (``"1C"``) simulated for the system when a combined designed
        constellation no longer knows its own signals.
    android_constellation : int
        ``GnssStatus.CONSTELLATION_*`` number of the system.
    android_bands : tuple of str
        RINEX band digits a phone's ``CarrierFrequencyHz`` is matched against (CDMA bands).
    android_attributes : Mapping[str, str]
        Band digit -> attribute assumed when a phone log has no ``CodeType``.
    error_factor : float
        Pseudorange error factor (RTKLIB ``EFACT_*``).
    clock_group : str
        Letter of the receiver clock the system shares (QZSS and SBAS use GPS time).
    nmea_talker : str
        NMEA 0183 talker id of the system's sentences.
    nmea_system_id : int
        NMEA 4.11 GNSS system id (GSA ``systemId``).
    rtklib_name : str
        Name of the system in RTKLIB's ``.pos`` header (``navi sys``).
    color : str
        Colour of the system in every figure (matplotlib colour).
    ubx_gnss_id : int or None
        u-blox ``gnssId`` of the system (u-blox ZED-F9P Interface Description UBX-18010854,
        1.5.2 "GNSS identifiers"); None where u-blox has none.
    ubx_signal_codes : Mapping[int, str]
        u-blox ``sigId`` (same document, 1.5.4 "Signal identifiers", UBX-RXM-RAWX version 1)
        -> RINEX 3 band + attribute (``"1C"``) of the signal measured.
    rtcm_msm_base : int or None
        RTCM 3 MSM message number of the system less the MSM type (1070 for GPS: MSM7 is
        1077; RTCM 10403.3 table 3.5-1 and amendment 2 for NavIC); None where none exists.
    rtcm_msm_signals : Mapping[int, str]
        RTCM 3 MSM signal id (1..32, the position in the signal mask) -> RINEX 3 band +
        attribute: the MSM signal-id tables of RTCM 10403.3 section 3.5.12 (BeiDou B1I
        written as band 2, RINEX 3.03+) and of its amendment 2 (NavIC).
    """

    letter: str
    carrier_hz: Mapping[str, float]
    spp_codes: tuple[str, ...]
    spp_multi_codes: tuple[tuple[str, ...], ...]
    spp_iono_free_codes: tuple[tuple[str, ...], tuple[str, ...]] | None
    precise_bands: tuple[str, str] | None
    rtk_bands: Mapping[str, str] | None
    rtk_integer: bool
    max_prn: int
    simulated_signals: tuple[str, ...]
    android_constellation: int
    android_bands: tuple[str, ...]
    android_attributes: Mapping[str, str]
    error_factor: float
    clock_group: str
    nmea_talker: str
    nmea_system_id: int
    rtklib_name: str
    color: str
    fdma_hz: Mapping[str, tuple[float, float]] = field(default_factory=dict)
    ubx_gnss_id: int | None = None
    ubx_signal_codes: Mapping[int, str] = field(default_factory=dict)
    rtcm_msm_base: int | None = None
    rtcm_msm_signals: Mapping[int, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ("carrier_hz", "fdma_hz", "android_attributes", "rtk_bands", "ubx_signal_codes",
                     "rtcm_msm_signals"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, _frozen(value))

    @property
    def name(self) -> str:
        """Name of the system (``"GPS"``, :data:`satnav.satellites.SYSTEM_NAMES`)."""
        return SYSTEM_NAMES[self.letter]

    @property
    def number(self) -> int:
        """Position of the system in :data:`satnav.satellites.SYSTEMS` (satellite index // 100)."""
        return SYSTEMS.index(self.letter)

    @property
    def bands(self) -> tuple[str, ...]:
        """RINEX band digits with a known carrier (FDMA bands first)."""
        return tuple(self.fdma_hz) + tuple(self.carrier_hz)


_SIGNALS = (
    SystemSignals(
        letter="G",
        carrier_hz={"1": C.FREQ_L1, "2": C.FREQ_L2, "5": C.FREQ_L5},
        spp_codes=("C1C", "C1W", "C1P"),
        spp_multi_codes=(("C5Q", "C5X", "C5I"), ("C2W", "C2L", "C2X", "C2S", "C2P")),
        spp_iono_free_codes=(("C1C", "C1W", "C1P"), ("C2W", "C2P", "C2X", "C2L", "C2S", "C5Q", "C5X")),
        precise_bands=("1", "2"),
        rtk_bands={"L1": "1", "L2": "2", "L5": "5"},
        rtk_integer=True,
        max_prn=32,
        simulated_signals=("1C", "2W", "5Q"),
        android_constellation=1,
        android_bands=("1", "2", "5"),
        android_attributes={"1": "C", "2": "L", "5": "Q"},
        error_factor=1.0,
        clock_group="G",
        nmea_talker="GP",
        nmea_system_id=1,
        rtklib_name="GPS",
        color="#1f77b4",
        ubx_gnss_id=0,
        ubx_signal_codes={0: "1C", 3: "2L", 4: "2S", 6: "5I", 7: "5Q"},
        rtcm_msm_base=1070,
        rtcm_msm_signals={2: "1C", 3: "1P", 4: "1W", 8: "2C", 9: "2P", 10: "2W", 15: "2S", 16: "2L",
                          17: "2X", 22: "5I", 23: "5Q", 24: "5X", 30: "1S", 31: "1L", 32: "1X"},
    ),
    SystemSignals(
        letter="R",
        # CDMA L1OC, L2OC, L3OC; G1/G2 FDMA in fdma_hz
        carrier_hz={"4": C.FREQ_G1A, "6": C.FREQ_G2A, "3": C.FREQ_G3},
        fdma_hz={"1": (C.FREQ_G1_BASE, C.FREQ_G1_STEP), "2": (C.FREQ_G2_BASE, C.FREQ_G2_STEP)},
        spp_codes=("C1C", "C1P"),
        spp_multi_codes=(("C2C", "C2P"),),
        spp_iono_free_codes=(("C1C", "C1P"), ("C2C", "C2P")),
        precise_bands=("1", "2"),
        rtk_bands={"L1": "1", "L2": "2"},
        rtk_integer=False,
        max_prn=27,
        simulated_signals=("1C", "2C"),
        android_constellation=3,
        android_bands=("3", "4", "6"),
        android_attributes={"1": "C", "2": "C", "3": "Q", "4": "B", "6": "B"},
        error_factor=1.5,
        clock_group="R",
        nmea_talker="GL",
        nmea_system_id=2,
        rtklib_name="GLONASS",
        color="#d62728",
        ubx_gnss_id=6,
        ubx_signal_codes={0: "1C", 2: "2C"},
        rtcm_msm_base=1080,
        rtcm_msm_signals={2: "1C", 3: "1P", 8: "2C", 9: "2P"},
    ),
    SystemSignals(
        letter="E",
        carrier_hz={"1": C.FREQ_L1, "5": C.FREQ_L5, "7": C.FREQ_E5B, "8": C.FREQ_E5, "6": C.FREQ_E6},
        spp_codes=("C1C", "C1X", "C1B"),
        spp_multi_codes=(("C5Q", "C5X", "C5I"), ("C7Q", "C7X", "C7I")),
        spp_iono_free_codes=(("C1C", "C1X", "C1B"), ("C7Q", "C7X", "C7I", "C5Q", "C5X", "C5I")),
        # L2 is E5b, as in RTKLIB's frequency numbering
        precise_bands=("1", "5"),
        rtk_bands={"L1": "1", "L2": "7", "L5": "5"},
        rtk_integer=True,
        max_prn=36,
        simulated_signals=("1C", "5Q", "7Q"),
        android_constellation=6,
        android_bands=("1", "5", "7", "8", "6"),
        android_attributes={"1": "C", "5": "Q", "7": "Q", "8": "Q", "6": "C"},
        error_factor=1.0,
        clock_group="E",
        nmea_talker="GA",
        nmea_system_id=3,
        rtklib_name="Galileo",
        color="#2ca02c",
        ubx_gnss_id=2,
        ubx_signal_codes={0: "1C", 1: "1B", 3: "5I", 4: "5Q", 5: "7I", 6: "7Q", 8: "6B", 9: "6C", 10: "6A"},
        rtcm_msm_base=1090,
        rtcm_msm_signals={2: "1C", 3: "1A", 4: "1B", 5: "1X", 6: "1Z", 8: "6C", 9: "6A", 10: "6B",
                          11: "6X", 12: "6Z", 14: "7I", 15: "7Q", 16: "7X", 18: "8I", 19: "8Q",
                          20: "8X", 22: "5I", 23: "5Q", 24: "5X"},
    ),
    SystemSignals(
        letter="C",
        # band 2 = B1I, 1 = B1C/B1A, 5 = B2a, 7 = B2I/B2b, 8 = B2a+b, 6 = B3I
        carrier_hz={"1": C.FREQ_L1, "2": C.FREQ_B1I, "5": C.FREQ_L5, "7": C.FREQ_E5B, "8": C.FREQ_E5,
                    "6": C.FREQ_B3I},
        # B1I is C2I in RINEX 3.01 and 3.03+, C1I in RINEX 3.02 (3.04+ band-1 codes
        # C1D/C1P/C1X are B1C, a different signal, and are not used by default)
        spp_codes=("C2I", "C2X", "C1I"),
        # B1C/B2a (BDS-3 only) have no group delay in the D1/D2 messages: the SPP
        # inter-frequency bias parameter absorbs their mean
        spp_multi_codes=(("C7I", "C7X", "C7D"), ("C6I", "C6X"), ("C5P", "C5X", "C5D"), ("C1P", "C1X", "C1D")),
        spp_iono_free_codes=(("C2I", "C2X", "C1I"), ("C6I", "C6X", "C7I", "C7X")),
        # L1 is B1I; L2 is B2I/B2b as in RTKLIB, else B3I: BeiDou-3 satellites do not
        # transmit B2I, and B1I + B3I is their usual dual-frequency pair
        precise_bands=("2", "6"),
        rtk_bands={"L1": "2", "L2": "76", "L5": "5"},
        rtk_integer=True,
        max_prn=63,
        simulated_signals=("2I", "6I"),
        android_constellation=5,
        android_bands=("2", "1", "5", "7", "8", "6"),
        android_attributes={"2": "I", "1": "P", "5": "P", "7": "I", "6": "I", "8": "P"},
        error_factor=1.0,
        clock_group="C",
        nmea_talker="GB",
        nmea_system_id=4,
        rtklib_name="BDS",
        color="#ff7f0e",
        ubx_gnss_id=3,
        ubx_signal_codes={0: "2I", 1: "2I", 2: "7I", 3: "7I", 4: "6I", 10: "6I", 5: "1P", 6: "1D", 7: "5P", 8: "5D"},
        rtcm_msm_base=1120,
        rtcm_msm_signals={2: "2I", 3: "2Q", 4: "2X", 8: "6I", 9: "6Q", 10: "6X", 14: "7I", 15: "7Q",
                          16: "7X", 22: "5D", 23: "5P", 24: "5X", 25: "7D", 30: "1D", 31: "1P",
                          32: "1X"},
    ),
    SystemSignals(
        letter="J",
        carrier_hz={"1": C.FREQ_L1, "2": C.FREQ_L2, "5": C.FREQ_L5, "6": C.FREQ_E6},
        spp_codes=("C1C", "C1X"),
        spp_multi_codes=(("C5Q", "C5X", "C5I"), ("C2L", "C2X", "C2S")),
        spp_iono_free_codes=(("C1C", "C1X"), ("C2L", "C2X", "C5Q", "C5X")),
        precise_bands=("1", "2"),
        rtk_bands={"L1": "1", "L2": "2", "L5": "5"},
        rtk_integer=True,
        max_prn=10,
        simulated_signals=("1C", "2L", "5Q"),
        android_constellation=4,
        android_bands=("1", "2", "5", "6"),
        android_attributes={"1": "C", "2": "L", "5": "Q", "6": "L"},
        error_factor=1.0,
        clock_group="G",
        nmea_talker="GQ",
        nmea_system_id=5,
        rtklib_name="QZSS",
        color="#9467bd",
        ubx_gnss_id=5,
        ubx_signal_codes={0: "1C", 1: "1Z", 4: "2S", 5: "2L", 8: "5I", 9: "5Q"},
        rtcm_msm_base=1110,
        rtcm_msm_signals={2: "1C", 9: "6S", 10: "6L", 11: "6X", 15: "2S", 16: "2L", 17: "2X",
                          22: "5I", 23: "5Q", 24: "5X", 30: "1S", 31: "1L", 32: "1X"},
    ),
    SystemSignals(
        letter="I",
        carrier_hz={"5": C.FREQ_L5, "9": C.FREQ_S, "1": C.FREQ_L1},
        spp_codes=("C5A", "C5X"),
        spp_multi_codes=(),
        spp_iono_free_codes=(("C5A",), ("C9A",)),
        precise_bands=None,
        rtk_bands=None,
        rtk_integer=False,
        max_prn=14,
        simulated_signals=("5A", "9A"),
        android_constellation=7,
        android_bands=("5", "9"),
        android_attributes={"5": "A", "9": "A"},
        error_factor=1.5,
        clock_group="I",
        nmea_talker="GI",
        nmea_system_id=6,
        rtklib_name="NavIC",
        color="#8c564b",
        ubx_gnss_id=7,
        ubx_signal_codes={0: "5A"},
        rtcm_msm_base=1130,
        rtcm_msm_signals={8: "9A", 22: "5A"},
    ),
    SystemSignals(
        letter="S",
        carrier_hz={"1": C.FREQ_L1, "5": C.FREQ_L5},
        spp_codes=("C1C",),
        spp_multi_codes=(),
        spp_iono_free_codes=None,
        precise_bands=None,
        rtk_bands=None,
        rtk_integer=False,
        max_prn=58,
        simulated_signals=(),
        android_constellation=2,
        android_bands=("1", "5"),
        android_attributes={"1": "C", "5": "I"},
        error_factor=3.0,
        clock_group="G",
        # SBAS satellites are GPS satellites to NMEA (SV ids 33-64)
        nmea_talker="GP",
        nmea_system_id=1,
        rtklib_name="SBAS",
        color="#7f7f7f",
        ubx_gnss_id=1,
        ubx_signal_codes={0: "1C"},
        rtcm_msm_base=1100,
        rtcm_msm_signals={2: "1C", 22: "5I", 23: "5Q", 24: "5X"},
    ),
)

#: The registry: system letter -> :class:`SystemSignals`, in :data:`satnav.satellites.SYSTEMS`
#: order.
SIGNALS: Mapping[str, SystemSignals] = MappingProxyType(
    {s.letter: s for s in sorted(_SIGNALS, key=lambda s: SYSTEMS.index(s.letter))}
)


def per_system(attribute: str, *, skip_empty: bool = False) -> dict[str, Any]:
    """``{letter: SIGNALS[letter].<attribute>}`` in :data:`SYSTEMS` order, as a new dict;
    systems whose value is None (or empty, with ``skip_empty``) are left out.

    >>> per_system("error_factor")["R"]
    1.5
    """
    out = {}
    for letter, entry in SIGNALS.items():
        value = getattr(entry, attribute)
        if value is None or (skip_empty and not value):
            continue
        out[letter] = dict(value) if isinstance(value, Mapping) else value
    return out


def carrier_frequency(system: str, band: str, glonass_k=None):
    """Carrier frequency (Hz) of ``system`` and RINEX band digit ``band``.

    GLONASS FDMA bands 1 and 2 need the frequency channel number ``glonass_k`` (scalar or
    array, -7..+6; GLONASS ICD 5.1 3.3.1.4) and return ``base + k * step`` as float64.
    Raises ``ValueError`` for a band the system does not have.
    """
    entry = SIGNALS.get(system)
    if entry is not None and band in entry.fdma_hz:
        if glonass_k is None:
            raise ValueError("GLONASS FDMA frequency needs the channel number k")
        base, step = entry.fdma_hz[band]
        return base + np.asarray(glonass_k, dtype=np.float64) * step
    try:
        return entry.carrier_hz[band]  # type: ignore[union-attr]
    except (KeyError, AttributeError):
        raise ValueError(f"no carrier frequency for system {system!r} band {band!r}") from None


def _header_glonass_channels(obs) -> dict[int, int]:
    """Satellite index -> channel from the observation header (``GLONASS SLOT / FRQ #``)."""
    header = getattr(obs, "header", None)
    slots = getattr(header, "glonass_slots", None) or {}
    out = {}
    for sid, k in slots.items():
        try:
            out[int(satellite_index(sid))] = int(k)
        except (ValueError, KeyError, TypeError):
            continue
    return out


def _nav_glonass_channels(nav) -> dict[int, int]:
    """Satellite index -> channel from the GLONASS navigation messages (the last message of
    each satellite with a finite channel number)."""
    messages = getattr(nav, "messages", {}) or {}
    glo = messages.get("R")
    if glo is None or not len(glo) or "freq_num" not in (glo.dtype.names or ()):
        return {}
    k = np.asarray(glo["freq_num"], dtype=np.float64)
    ok = np.isfinite(k) & (k >= -7) & (k <= 13)
    return {int(s): int(v) for s, v in zip(glo["sat"][ok], k[ok])}


def glonass_channels(obs=None, nav=None, sats=None):
    """GLONASS FDMA frequency channel numbers ``k`` (GLONASS ICD 5.1 3.3.1.4).

    Parameters
    ----------
    obs : Observations, optional
        Its header's ``GLONASS SLOT / FRQ #`` record (``header.glonass_slots``) is used first.
    nav : Navigation, optional
        Fills satellites the header does not list: the last GLONASS message of each
        satellite with a channel number (RINEX navigation ``freq_num``).
    sats : array_like of int, optional
        Satellite indices to look up.

    Returns
    -------
    dict or ndarray
        Without ``sats``: ``{satellite index: k}`` (int) of every satellite known. With
        ``sats``: float64 array of ``k`` per satellite, NaN where unknown.
    """
    table = _header_glonass_channels(obs)
    if nav is not None:
        for sat, k in _nav_glonass_channels(nav).items():
            table.setdefault(sat, k)
    if sats is None:
        return table
    return np.array([table.get(int(s), np.nan) for s in np.ravel(sats).tolist()], dtype=np.float64)

