"""The monitoring network of a designed system: stations (ITRS coordinates), their receiver
clocks (one master station whose hydrogen maser realises system time), elevation mask,
tracked systems and outages; read from the ``[monitoring]`` table of a control scenario
(TOML) or built for the example regional system.

TOML::

    [monitoring]
    mask_deg = 10
    tracked = "GRI"            # systems the receivers track (the designed one is required)
    [[monitoring.station]]
    name = "LHAS"
    lat_deg = 29.66
    lon_deg = 91.10
    height_m = 3630
    clock = "hydrogen-maser"   # satnav.constellation.control.clocks.CLOCK_MODELS
    master = true
    [[monitoring.outage]]
    station = "KUNM"
    start_h = 6                # hours from the scenario start
    end_h = 12
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ...errors import FormatError
from ...frames import geodetic_to_ecef
from .clocks import CLOCK_MODELS

__all__ = ["Station", "Outage", "MonitoringNetwork", "network_from_spec", "REGIONAL_STATIONS"]


@dataclass(frozen=True)
class Station:
    """A monitoring station: ``position_m`` ITRS (m), receiver ``clock`` kind, ``master``."""

    name: str
    position_m: tuple[float, float, float]
    clock: str = "caesium"
    master: bool = False


@dataclass(frozen=True)
class Outage:
    """A station that delivers nothing from ``start_h`` to ``end_h`` (hours from the start)."""

    station: str
    start_h: float
    end_h: float


@dataclass(frozen=True)
class MonitoringNetwork:
    """Stations (exactly one ``master``), elevation mask (deg), tracked systems, outages."""

    stations: tuple[Station, ...]
    mask_deg: float = 10.0
    tracked: str = "I"
    outages: tuple[Outage, ...] = field(default_factory=tuple)

    def __post_init__(self):
        masters = [s.name for s in self.stations if s.master]
        if len(masters) != 1:
            raise FormatError(f"monitoring network: {len(masters)} master stations, expected exactly one")
        names = [s.name for s in self.stations]
        if len(set(names)) != len(names):
            raise FormatError("monitoring network: duplicate station names")
        for o in self.outages:
            if o.station not in names:
                raise FormatError(f"monitoring outage: no station {o.station!r}")

    @property
    def positions_m(self) -> np.ndarray:
        return np.array([s.position_m for s in self.stations], dtype=np.float64)

    @property
    def names(self) -> list[str]:
        return [s.name for s in self.stations]

    @property
    def master_index(self) -> int:
        return next(i for i, s in enumerate(self.stations) if s.master)

    def available(self, times_ns, start_ns: int) -> np.ndarray:
        """(T, m) bool: station delivering data at each time."""
        hours = (np.asarray(times_ns, dtype=np.int64) - start_ns) / 3.6e12
        ok = np.ones((len(hours), len(self.stations)), dtype=bool)
        for o in self.outages:
            j = self.names.index(o.station)
            ok[(hours >= o.start_h) & (hours < o.end_h), j] = False
        return ok

    def subset(self, names) -> MonitoringNetwork:
        """The network reduced to the named stations (the master must stay)."""
        keep = tuple(s for s in self.stations if s.name in set(names))
        outages = tuple(o for o in self.outages if o.station in set(names))
        return MonitoringNetwork(keep, self.mask_deg, self.tracked, outages)


#: Eight stations spread over the example regional system's service area (about 60-140 E,
#: 10 S - 50 N): name, latitude (deg), longitude (deg), height (m), clock, master.
REGIONAL_STATIONS = (
    ("XIAN", 34.37, 109.22, 500.0, "hydrogen-maser", True),
    ("LHAS", 29.66, 91.10, 3630.0, "caesium", False),
    ("URUM", 43.81, 87.60, 860.0, "caesium", False),
    ("HRBN", 45.70, 126.62, 150.0, "caesium", False),
    ("KUNM", 25.03, 102.80, 1990.0, "caesium", False),
    ("SANY", 18.25, 109.50, 20.0, "caesium", False),
    ("KASH", 39.47, 75.99, 1290.0, "caesium", False),
    ("SHAO", 31.10, 121.20, 20.0, "caesium", False),
)


def _station(name, lat, lon, h, clock, master) -> Station:
    xyz = geodetic_to_ecef(np.radians(lat), np.radians(lon), h)
    return Station(name, tuple(float(x) for x in np.ravel(xyz)), clock, bool(master))


def regional_network(mask_deg: float = 10.0, tracked: str = "GRI") -> MonitoringNetwork:
    """The default monitoring network of the example regional system (:data:`REGIONAL_STATIONS`)."""
    return MonitoringNetwork(tuple(_station(*row) for row in REGIONAL_STATIONS), mask_deg, tracked)


def network_from_spec(spec: dict, where: str = "monitoring") -> MonitoringNetwork:
    """The network of a ``[monitoring]`` TOML table (module docstring); errors name the key."""
    if not isinstance(spec, dict):
        raise FormatError(f"{where}: expected a table")
    rows = spec.get("station")
    if rows is None:
        base = regional_network()
        stations = base.stations
    else:
        if not isinstance(rows, list) or not rows:
            raise FormatError(f"{where}.station: expected a list of station tables")
        stations = []
        for i, row in enumerate(rows):
            w = f"{where}.station[{i}]"
            try:
                name = str(row["name"])
                lat, lon = float(row["lat_deg"]), float(row["lon_deg"])
                h = float(row.get("height_m", 0.0))
            except (KeyError, TypeError, ValueError) as exc:
                raise FormatError(f"{w}: expected name, lat_deg, lon_deg (numbers), height_m") from exc
            if not 1 <= len(name) <= 9 or not name.isprintable() or " " in name:
                raise FormatError(f"{w}.name: {name!r}, expected 1 to 9 characters without blanks "
                                  "(a RINEX clock 3.04 receiver name)")
            if not (-90 <= lat <= 90 and -180 <= lon <= 360 and -500 <= h <= 9000):
                raise FormatError(f"{w}: coordinates out of range (lat -90..90, lon -180..360 deg, height -500..9000 m)")
            clock = str(row.get("clock", "caesium"))
            if clock not in CLOCK_MODELS:
                raise FormatError(f"{w}.clock: {clock!r}, expected one of {', '.join(CLOCK_MODELS)}")
            stations.append(_station(name, lat, lon, h, clock, bool(row.get("master", False))))
        stations = tuple(stations)
    outages = []
    for i, row in enumerate(spec.get("outage", []) or []):
        try:
            outages.append(Outage(str(row["station"]), float(row["start_h"]), float(row["end_h"])))
        except (KeyError, TypeError, ValueError) as exc:
            raise FormatError(f"{where}.outage[{i}]: expected station, start_h, end_h") from exc
    mask = float(spec.get("mask_deg", 10.0))
    if not 0 <= mask < 60:
        raise FormatError(f"{where}.mask_deg: {mask}, expected 0 <= value < 60")
    return MonitoringNetwork(stations, mask, str(spec.get("tracked", "GRI")), tuple(outages))
