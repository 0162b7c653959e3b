"""Observable-specific signal biases (OSB) and differential code biases (DSB) from
bias SINEX files (SINEX_BIAS 1.00, IGS Bias Working Group, 2016).

The ``+BIAS/SOLUTION`` block holds one row per bias::

    *BIAS SVN_ PRN STATION__ OBS1 OBS2 BIAS_START____ BIAS_END______ UNIT __ESTIMATED_VALUE____ ...
     OSB  G063 G01           C1C       2024:035:00000 2024:036:00000 ns                  9.5198

Columns (fixed): type 1-4, SVN 6-9, PRN 11-13, station 15-23, OBS1 25-28, OBS2 30-33,
start 35-48 and end 50-63 (``YYYY:DOY:SSSSS``), unit 65-68, value 70-90. Units ``ns`` for
code and phase biases (``cyc`` also occurs for phase biases). The convention (SINEX_BIAS
1.00 section 3.3, repeated in the files' comments): **corrected observation = measured
observation - bias**; a code bias of ``b`` ns is ``c b`` metres to subtract.

Only satellite biases (rows without a station) are kept. The header line
``%=BIA 1.00 AGY ...`` gives the agency that made the file (``analysis_centre``), which a
PPP run checks against the agency of its orbits and clocks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from os import PathLike

import numpy as np

from ..constants import SPEED_OF_LIGHT
from ..errors import FormatError, warn_damaged
from ..gnss_time import calendar_to_ns
from ..satellites import satellite_index
from .textfile import read_bytes

__all__ = ["BiasSet", "read_bias_sinex", "write_bias_sinex"]

_NS_PER_S = 1_000_000_000


def _sinex_time(text: str) -> int:
    """``YYYY:DOY:SSSSS`` -> GPST ns (``0000:000:00000`` -> min int64, open)."""
    y, doy, sec = (int(v) for v in text.strip().split(":"))
    if y == 0:
        return int(np.iinfo(np.int64).min)
    if y < 100:
        y += 2000 if y < 80 else 1900
    return int(calendar_to_ns(y, 1, 1, 0, 0, 0.0)) + (doy - 1) * 86400 * _NS_PER_S + sec * _NS_PER_S


@dataclass
class BiasSet:
    """Satellite biases of a bias SINEX file.

    Attributes
    ----------
    analysis_centre : str
        Agency of the file (``%=BIA`` header, e.g. ``"COD"``, ``"GRG"``).
    kind : dict
        ``(sat, obs1, obs2)`` -> list of (start ns, end ns, value s); ``obs2`` is ``""`` for
        an OSB. Phase biases (``L...``) are kept in seconds too (cycles are converted).
    clock_reference : dict
        System letter -> reference observables of the satellite clocks
        (``SATELLITE_CLOCK_REFERENCE_OBSERVABLES``), e.g. ``{"G": ("C1W", "C2W")}``.
    source : str
    """

    analysis_centre: str
    biases: dict = field(default_factory=dict)
    clock_reference: dict = field(default_factory=dict)
    source: str = ""

    def osb_s(self, sat: int, code: str, time_ns: int) -> float:
        """Observable-specific bias (s) of ``code`` (``"C1C"``, ``"L2W"``) of satellite
        ``sat`` at ``time_ns``; NaN when the file has none valid then."""
        for start, end, value in self.biases.get((int(sat), code, ""), ()):
            if start <= time_ns < end or (end == start):
                return value
        return float("nan")

    def osb_m(self, sat: int, code: str, time_ns: int) -> float:
        """:meth:`osb_s` in metres (``c`` times the bias): subtract it from the observation."""
        return SPEED_OF_LIGHT * self.osb_s(sat, code, time_ns)

    @property
    def satellites(self) -> np.ndarray:
        """Satellite indices with at least one bias (sorted int16)."""
        return np.array(sorted({k[0] for k in self.biases}), dtype=np.int16)

    @property
    def span_ns(self) -> tuple[int, int] | None:
        """(first start, last end) of the biases (GPST ns)."""
        ranges = [(s, e) for rows in self.biases.values() for s, e, _ in rows]
        if not ranges:
            return None
        return min(r[0] for r in ranges), max(r[1] for r in ranges)


def read_bias_sinex(path: str | PathLike, strict: bool = False) -> BiasSet:
    """Satellite OSB/DSB of a bias SINEX file (compressed or not).

    Raises :class:`~satnav.errors.FormatError` when the first line is not ``%=BIA``; a
    damaged row is skipped with a warning naming its line (an error with ``strict``).
    """
    text = read_bytes(path).decode("ascii", errors="replace").splitlines()
    if not text or not text[0].startswith("%=BIA"):
        raise FormatError("not a bias SINEX file (no '%=BIA' first line)", path, 1)
    head = text[0].split()
    result = BiasSet(analysis_centre=head[2] if len(head) > 2 else "", source=str(path))
    block = ""
    for lineno, raw in enumerate(text[1:], start=2):
        if raw.startswith("+"):
            block = raw[1:].strip()
            continue
        if raw[:1] in ("-", "*", "%") or not raw.strip():
            continue
        if block == "BIAS/DESCRIPTION":
            words = raw.split()
            if words and words[0] == "SATELLITE_CLOCK_REFERENCE_OBSERVABLES" and len(words) >= 2:
                result.clock_reference[words[1]] = tuple(words[2:])
            continue
        if block != "BIAS/SOLUTION" or raw[15:24].strip():
            continue  # receiver biases are not used
        try:
            kind = raw[1:5].strip()
            prn = raw[11:14].strip()
            station = raw[15:24].strip()
            obs1, obs2 = raw[25:29].strip(), raw[30:34].strip()
            start, end = _sinex_time(raw[35:49]), _sinex_time(raw[50:64])
            unit = raw[65:69].strip()
            value = float(raw[70:91])
            if kind not in ("OSB", "DSB", "ISB") or not prn or not obs1:
                raise ValueError
        except (ValueError, IndexError):
            warn_damaged("bad bias row, expected the SINEX_BIAS 1.00 columns (type, SVN, PRN, station, "
                         "OBS1, OBS2, start, end, unit, value)", path, lineno, strict, FormatError)
            continue
        if station or kind == "ISB":
            continue
        try:
            sat = int(satellite_index(prn))
        except (ValueError, KeyError):
            continue
        if unit == "ns":
            seconds = value * 1e-9
        elif unit == "cyc" and obs1.startswith("L"):
            from ..signals import SIGNALS

            try:
                freq = SIGNALS[prn[0]].carrier_hz[obs1[1]]
            except (KeyError, AttributeError):
                continue
            seconds = value / freq
        else:
            warn_damaged(f"bias unit {unit!r}, expected ns (or cyc for phase)", path, lineno, strict,
                         FormatError)
            continue
        if end == start:
            end = int(np.iinfo(np.int64).max)
        result.biases.setdefault((sat, obs1, obs2 if kind == "DSB" else ""), []).append((start, end, seconds))
    if not result.biases:
        raise FormatError("no satellite bias rows in +BIAS/SOLUTION", path, 1)
    return result


def _sinex_stamp(time_ns: int) -> str:
    """GPST ns -> ``YYYY:DOY:SSSSS``."""
    from ..gnss_time import ns_to_calendar

    y = int(np.ravel(ns_to_calendar(np.int64(time_ns))[0])[0])
    start = int(calendar_to_ns(y, 1, 1, 0, 0, 0.0))
    days, rest = divmod(int(time_ns) - start, 86400 * _NS_PER_S)
    return f"{y:04d}:{days + 1:03d}:{rest // _NS_PER_S:05d}"


def write_bias_sinex(path: str | PathLike, agency: str, biases: dict, start_ns: int, end_ns: int, *,
                     clock_reference: dict | None = None) -> None:
    """Write satellite OSBs as a SINEX_BIAS 1.00 file that :func:`read_bias_sinex` reads:
    ``biases`` maps ``(sat, obs)`` (``obs`` ``"C1C"``, ``"L2W"``) to the bias in metres
    (corrected observation = observation - bias), written in ns (to 0.1 ps) valid from
    ``start_ns`` to ``end_ns``; ``agency`` the 3-letter analysis centre of the header;
    ``clock_reference`` system letter -> reference observables of the clocks. Written
    atomically, never over an input (:mod:`satnav.io.atomic`)."""
    from ..satellites import satellite_id
    from .atomic import atomic_output

    first, last = _sinex_stamp(start_ns), _sinex_stamp(end_ns)
    lines = [f"%=BIA 1.00 {agency[:3]:<3} {first[2:]} {agency[:3]:<3} {first[2:]} {last[2:]} P {len(biases):08d}",
             "+BIAS/DESCRIPTION", " OBSERVATION_SAMPLING                    30", " DETERMINATION_METHOD  simulation truth",
             " BIAS_MODE                               ABSOLUTE", " TIME_SYSTEM                             G"]
    for letter, obs in (clock_reference or {}).items():
        lines.append(f" SATELLITE_CLOCK_REFERENCE_OBSERVABLES {letter} {' '.join(obs)}")
    lines += ["-BIAS/DESCRIPTION", "+BIAS/SOLUTION",
              "*BIAS SVN_ PRN STATION__ OBS1 OBS2 BIAS_START____ BIAS_END______ UNIT __ESTIMATED_VALUE____ _STD_DEV___"]
    for (sat, obs), metres in sorted(biases.items()):
        prn = satellite_id(int(sat))
        ns = metres / SPEED_OF_LIGHT * 1e9
        lines.append(f" OSB  {prn[0]}{int(prn[1:]):03d} {prn:3} {'':9} {obs:<4} {'':4} {first} {last} {'ns':<4} "
                     f"{ns:21.4f} {0.0:11.4f}")
    lines += ["-BIAS/SOLUTION", "%=ENDBIA"]
    with atomic_output(path, "w", encoding="ascii") as fh:
        fh.write("\n".join(lines) + "\n")
