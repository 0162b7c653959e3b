"""The receiver's own solutions in a UBX log (UBX-NAV-PVT, UBX-NAV-HPPOSLLH), to compare
satnav's positions with.

Sources: u-blox ZED-F9P Interface Description (UBX-18010854) 3.15.13 UBX-NAV-PVT (92-byte
payload: iTOW ms, lon/lat 1e-7 deg, height above the ellipsoid mm, hAcc/vAcc mm, fixType,
flags bit 0 gnssFixOK, bits 6-7 carrSoln, numSV, velN/E/D mm/s, pDOP 0.01) and 3.15.6
UBX-NAV-HPPOSLLH (36-byte payload: flags bit 0 invalidLlh, iTOW, lon/lat 1e-7 deg with
lonHp/latHp 1e-9 deg, height mm with heightHp 0.1 mm, hAcc/vAcc 0.1 mm). All messages of a
type are read with one ``np.frombuffer`` of a structured dtype. Times: iTOW is GPS time of
week (ms), placed in the week nearest a reference time (the log's first RXM-RAWX epoch).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..gnss_time import NS_PER_WEEK

__all__ = ["ReceiverSolutions", "receiver_solutions", "NAV_PVT_DTYPE", "NAV_HPPOSLLH_DTYPE"]

NAV_PVT_DTYPE = np.dtype(
    [("itow", "<u4"), ("year", "<u2"), ("month", "u1"), ("day", "u1"), ("hour", "u1"), ("min", "u1"),
     ("sec", "u1"), ("valid", "u1"), ("tacc", "<u4"), ("nano", "<i4"), ("fix_type", "u1"), ("flags", "u1"),
     ("flags2", "u1"), ("num_sv", "u1"), ("lon", "<i4"), ("lat", "<i4"), ("height", "<i4"), ("hmsl", "<i4"),
     ("hacc", "<u4"), ("vacc", "<u4"), ("vel_n", "<i4"), ("vel_e", "<i4"), ("vel_d", "<i4"),
     ("gspeed", "<i4"), ("head_mot", "<i4"), ("sacc", "<u4"), ("head_acc", "<u4"), ("pdop", "<u2"),
     ("flags3", "<u2"), ("res", "<u4"), ("head_veh", "<i4"), ("mag_dec", "<i2"), ("mag_acc", "<u2")]
)  # fmt: skip
NAV_HPPOSLLH_DTYPE = np.dtype(
    [("version", "u1"), ("res", "u1", 2), ("flags", "u1"), ("itow", "<u4"), ("lon", "<i4"), ("lat", "<i4"),
     ("height", "<i4"), ("hmsl", "<i4"), ("lon_hp", "i1"), ("lat_hp", "i1"), ("height_hp", "i1"),
     ("hmsl_hp", "i1"), ("hacc", "<u4"), ("vacc", "<u4")]
)  # fmt: skip


@dataclass
class ReceiverSolutions:
    """Receiver positions of one message type, one row per message (stream order).

    ``time_ns`` GPST; ``lat_rad``, ``lon_rad``, ``height_m`` (WGS84 ellipsoid); ``h_acc_m``,
    ``v_acc_m`` the receiver's accuracy estimates; ``valid`` (NAV-PVT gnssFixOK, NAV-HPPOSLLH
    not invalidLlh); ``fix_type`` (NAV-PVT: 0 none .. 3 3D, 4 GNSS+DR, 5 time only; -1 for
    HPPOSLLH), ``carrier_solution`` (NAV-PVT carrSoln: 0 none, 1 float, 2 fixed; -1),
    ``num_sv`` (-1 when not sent), ``velocity_ned_mps`` (n, 3) or None.
    """

    message: str
    time_ns: np.ndarray
    lat_rad: np.ndarray
    lon_rad: np.ndarray
    height_m: np.ndarray
    h_acc_m: np.ndarray
    v_acc_m: np.ndarray
    valid: np.ndarray
    fix_type: np.ndarray
    carrier_solution: np.ndarray
    num_sv: np.ndarray
    velocity_ned_mps: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.time_ns)


def _times(itow_ms: np.ndarray, ref_ns: int) -> np.ndarray:
    """GPST ns of times of week (ms), the first in the week that puts it nearest ``ref_ns``,
    the others unwrapped in stream order."""
    t = itow_ms.astype(np.int64) * 1_000_000
    if not len(t):
        return t
    d = np.diff(t)
    jumps = np.where(d < -NS_PER_WEEK // 2, 1, np.where(d > NS_PER_WEEK // 2, -1, 0))
    week0 = int(np.round((ref_ns - t[0]) / NS_PER_WEEK))
    return t + NS_PER_WEEK * (week0 + np.concatenate(([0], np.cumsum(jumps))))


def receiver_solutions(data: bytes, frames, ref_ns: int) -> dict[str, ReceiverSolutions]:
    """``{"NAV-PVT": ..., "NAV-HPPOSLLH": ...}`` of the messages of a framed UBX stream
    (:func:`satnav.io.ubx.frame_ubx`); a type without messages is left out. ``ref_ns``: a
    GPST time within half a week of the first message (e.g. the first RAWX epoch)."""
    out: dict[str, ReceiverSolutions] = {}
    for name, mid, dtype in (("NAV-PVT", 0x07, NAV_PVT_DTYPE), ("NAV-HPPOSLLH", 0x14, NAV_HPPOSLLH_DTYPE)):
        sel = (frames.cls == 0x01) & (frames.id == mid)
        offsets = frames.start[sel] + 6
        offsets = offsets[frames.length[sel] >= dtype.itemsize]
        if not len(offsets):
            continue
        mv = memoryview(data)
        k = dtype.itemsize
        m = np.frombuffer(b"".join([mv[o : o + k] for o in offsets.tolist()]), dtype)
        deg = np.pi / 180.0
        if name == "NAV-PVT":
            lat = m["lat"] * 1e-7 * deg
            lon = m["lon"] * 1e-7 * deg
            height = m["height"] * 1e-3
            hacc, vacc = m["hacc"] * 1e-3, m["vacc"] * 1e-3
            valid = (m["flags"] & 1) != 0
            fix = m["fix_type"].astype(np.int64)
            carr = ((m["flags"] >> 6) & 3).astype(np.int64)
            nsv = m["num_sv"].astype(np.int64)
            vel = np.stack([m["vel_n"], m["vel_e"], m["vel_d"]], axis=1) * 1e-3
        else:
            lat = (m["lat"] * 1e-7 + m["lat_hp"] * 1e-9) * deg
            lon = (m["lon"] * 1e-7 + m["lon_hp"] * 1e-9) * deg
            height = m["height"] * 1e-3 + m["height_hp"] * 1e-4
            hacc, vacc = m["hacc"] * 1e-4, m["vacc"] * 1e-4
            valid = (m["flags"] & 1) == 0
            fix = carr = nsv = np.full(len(m), -1, np.int64)
            vel = None
        out[name] = ReceiverSolutions(name, _times(m["itow"], ref_ns), lat, lon, height, hacc, vacc, valid,
                                      fix, carr, nsv, vel)  # fmt: skip
    return out
