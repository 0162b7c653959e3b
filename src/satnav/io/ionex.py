"""Global ionosphere maps in the IONEX format (IONEX 1.0: Schaer, Gurtner and Feltens,
"IONEX: The IONosphere Map EXchange Format Version 1", 1998).

Only two-dimensional vertical TEC maps (``MAP DIMENSION 2``) are read: per ``START OF TEC
MAP`` block, its epoch (``EPOCH OF CURRENT MAP``), then one ``LAT/LON1/LON2/DLON/H`` record
per latitude followed by the values (I5, 16 per line) in units of ``10^EXPONENT`` TECU
(``9999``: no value). RMS and height maps are skipped. The slant delay a receiver sees is
:func:`satnav.models.ionosphere.ionex_slant_delay_m`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from os import PathLike

import numpy as np

from ..errors import FormatError, warn_damaged
from ..gnss_time import calendar_to_ns
from .textfile import read_bytes

__all__ = ["IonexMaps", "read_ionex"]


@dataclass
class IonexMaps:
    """Vertical TEC maps.

    Attributes
    ----------
    time_ns : (k,) int64
        Epochs of the maps (GPST ns; IONEX epochs are UT, taken as GPST within the ~20 s
        difference, a fraction of the hourly map spacing).
    latitude_deg : (a,) float
        Grid latitudes (degrees, as in the file: usually from north to south).
    longitude_deg : (b,) float
        Grid longitudes (degrees).
    tec_tecu : (k, a, b) float
        Vertical TEC (TECU = 1e16 electrons/m^2), NaN where missing.
    height_m : float
        Height of the single layer (m above ``base_radius_m``).
    base_radius_m : float
        Mean Earth radius of the maps (m).
    agency : str
    source : str
    """

    time_ns: np.ndarray
    latitude_deg: np.ndarray
    longitude_deg: np.ndarray
    tec_tecu: np.ndarray
    height_m: float = 450e3
    base_radius_m: float = 6371e3
    agency: str = ""
    source: str = ""
    comments: list = field(default_factory=list)

    def vertical_tec(self, time_ns, latitude_rad, longitude_rad) -> np.ndarray:
        """VTEC (TECU) at pierce points: bilinear in latitude/longitude on each of the two
        maps around ``time_ns``, each map rotated by the Earth's rotation relative to the
        Sun (longitude shifted by 360 deg/day times the time from the map epoch), then
        linear in time (IONEX 1.0 section 2.3, "interpolation with rotated maps"). NaN
        outside the maps' span or where a grid value is missing."""
        t = np.asarray(time_ns, dtype=np.int64)
        lat = np.degrees(np.asarray(latitude_rad, dtype=np.float64))
        lon = np.degrees(np.asarray(longitude_rad, dtype=np.float64))
        t, lat, lon = np.broadcast_arrays(t, lat, lon)
        times = self.time_ns
        i = np.clip(np.searchsorted(times, t, side="right") - 1, 0, len(times) - 2)
        t0, t1 = times[i], times[i + 1]
        w = (t - t0) / np.where(t1 > t0, (t1 - t0), 1).astype(np.float64)
        out = np.full(t.shape, np.nan)
        inside = (t >= times[0]) & (t <= times[-1])
        v0 = self._grid(i, lat, lon + 360.0 * (t - t0) / 86400e9)
        v1 = self._grid(i + 1, lat, lon + 360.0 * (t - t1) / 86400e9)
        out[inside] = ((1 - w) * v0 + w * v1)[inside]
        return out

    def _grid(self, k, lat, lon):
        lats, lons = self.latitude_deg, self.longitude_deg
        order = np.argsort(lats)
        la = lats[order]
        lon = (lon - lons[0]) % 360.0 + lons[0]
        fi = np.interp(lat, la, np.arange(len(la)))
        fj = (lon - lons[0]) / (lons[1] - lons[0])
        i0 = np.clip(np.floor(fi).astype(int), 0, len(la) - 2)
        j0 = np.clip(np.floor(fj).astype(int), 0, len(lons) - 2)
        u, v = fi - i0, fj - j0
        grid = self.tec_tecu[:, order, :]
        g00, g01 = grid[k, i0, j0], grid[k, i0, j0 + 1]
        g10, g11 = grid[k, i0 + 1, j0], grid[k, i0 + 1, j0 + 1]
        return (1 - u) * ((1 - v) * g00 + v * g01) + u * ((1 - v) * g10 + v * g11)


def _epoch(text: str) -> int:
    y, mo, d, h, mi, s = (int(float(v)) for v in text.split()[:6])
    return int(calendar_to_ns(y, mo, d, h, mi, float(s)))


def read_ionex(path: str | PathLike, strict: bool = False) -> IonexMaps:
    """Vertical TEC maps of an IONEX file (compressed or not).

    Raises :class:`~satnav.errors.FormatError` when the file is not IONEX or has no TEC
    map; a damaged map is skipped with a warning naming its line (error with ``strict``).
    """
    lines = read_bytes(path).decode("ascii", errors="replace").splitlines()
    if not lines or "IONEX VERSION" not in lines[0][60:]:
        raise FormatError("not an IONEX file (no 'IONEX VERSION / TYPE' first line)", path, 1)
    exponent, height, radius, agency = -1, 450.0, 6371.0, ""
    lat_grid = lon_grid = None
    maps, times = [], []
    i = 0
    n = len(lines)
    while i < n:
        raw = lines[i]
        label = raw[60:].strip()
        try:
            if label == "PGM / RUN BY / DATE":
                agency = raw[20:40].strip()
            elif label == "EXPONENT":
                exponent = int(raw[:6])
            elif label == "BASE RADIUS":
                radius = float(raw[:8])
            elif label == "HGT1 / HGT2 / DHGT":
                height = float(raw[2:8])
            elif label == "LAT1 / LAT2 / DLAT":
                a, b, d = (float(v) for v in raw[2:20].split())
                lat_grid = np.arange(a, b + d / 2, d)
            elif label == "LON1 / LON2 / DLON":
                a, b, d = (float(v) for v in raw[2:20].split())
                lon_grid = np.arange(a, b + d / 2, d)
            elif label == "START OF TEC MAP":
                if lat_grid is None or lon_grid is None:
                    raise ValueError
                start = i
                grid = np.full((len(lat_grid), len(lon_grid)), np.nan)
                epoch = None
                i += 1
                row = -1
                values: list = []
                while i < n and lines[i][60:].strip() != "END OF TEC MAP":
                    lab = lines[i][60:].strip()
                    if lab == "EPOCH OF CURRENT MAP":
                        epoch = _epoch(lines[i][:36])
                    elif lab == "LAT/LON1/LON2/DLON/H":
                        if row >= 0:
                            grid[row, :len(values)] = values[:len(lon_grid)]
                        lat = float(lines[i][2:8])
                        row = int(np.argmin(np.abs(lat_grid - lat)))
                        values = []
                    else:
                        values += [float(lines[i][k:k + 5]) for k in range(0, len(lines[i].rstrip()), 5)]
                    i += 1
                if row >= 0:
                    grid[row, :len(values)] = values[:len(lon_grid)]
                if epoch is None:
                    warn_damaged("TEC map without 'EPOCH OF CURRENT MAP': skipped", path, start + 1, strict, FormatError)
                else:
                    grid[grid >= 9999] = np.nan
                    maps.append(grid * 10.0**exponent)
                    times.append(epoch)
            elif label == "START OF RMS MAP" or label == "START OF HEIGHT MAP":
                end = "END OF RMS MAP" if "RMS" in label else "END OF HEIGHT MAP"
                while i < n and lines[i][60:].strip() != end:
                    i += 1
        except (ValueError, IndexError):
            warn_damaged(f"bad IONEX record {label or raw[:20]!r}, expected the IONEX 1.0 layout", path, i + 1,
                         strict, FormatError)
        i += 1
    if not maps:
        raise FormatError("no TEC map in the IONEX file", path, 1)
    order = np.argsort(times)
    return IonexMaps(np.asarray(times, dtype=np.int64)[order], lat_grid, lon_grid, np.asarray(maps)[order],
                     height * 1e3, radius * 1e3, agency, str(path))
