"""`satnav solve` on the degraded u-blox data: epochs that fail the integrity checks are
flagged in the .pos, never written as ordinary good fixes.

Data: ../shared/data/ubx (README): 1 Hz GPS + Galileo, 2072 epochs; "From 06:57:05 on the
data degrade to 4-7 satellites". Reference: the header position (stations.csv
"ubx,16dBatt,4313748.4701,452890.2201,4661040.2158"). Issue 4 acceptance: 06:38 to
06:57:04 H RMS <= 4.8 m and V RMS <= 9.6 m, and after 06:57:05 every epoch flagged or
excluded rather than reported km off as if it were good.

The README's times are GPST, the time system of the RINEX epochs and of the .pos: the header
says "2025 04 25 06 38 07.996 GPS  TIME OF FIRST OBS", the file has 21 satellites up to
"> 2025 04 25 06 56 39.9960000  0 21", 1-5 from 06:56:40 and "> 2025 04 25 06 57
05.9960000  0  7" is the first epoch of the 4-7 satellite stretch (in UTC, 18 s earlier,
06:57:05 would fall in the middle of the 1-satellite gap).

The .pos written is read back with a parser written here (split on blanks) and the errors
computed with the WGS84 formulas written here, not with satnav's.
"""

from __future__ import annotations

import datetime as dt
import gzip
import math
import re

import numpy as np

from satnav.cli import main
from tests.conftest import data_path

UBX_REF = np.array([4313748.4701, 452890.2201, 4661040.2158])  # stations.csv (header)
CUT = dt.datetime(2025, 4, 25, 6, 57, 5)  # GPST, README "From 06:57:05 on ..."
START = dt.datetime(2025, 4, 25, 6, 38, 0)
A_WGS84 = 6378137.0  # m, NIMA TR8350.2 table 3.1
F_WGS84 = 1 / 298.257223563


def _ecef(lat_deg, lon_deg, h_m):
    """WGS84 geodetic -> ECEF (m), the closed form of NIMA TR8350.2 eq. 4-14."""
    e2 = F_WGS84 * (2 - F_WGS84)
    la, lo = math.radians(lat_deg), math.radians(lon_deg)
    n = A_WGS84 / math.sqrt(1 - e2 * math.sin(la) ** 2)
    return np.array([
        (n + h_m) * math.cos(la) * math.cos(lo),
        (n + h_m) * math.cos(la) * math.sin(lo),
        (n * (1 - e2) + h_m) * math.sin(la),
    ])


def _enu_error(lat_deg, lon_deg, h_m, ref):
    """(horizontal, vertical) error (m) of a geodetic point against an ECEF reference,
    in the local frame at the point."""
    d = _ecef(lat_deg, lon_deg, h_m) - ref
    la, lo = math.radians(lat_deg), math.radians(lon_deg)
    e = -math.sin(lo) * d[0] + math.cos(lo) * d[1]
    n = -math.sin(la) * math.cos(lo) * d[0] - math.sin(la) * math.sin(lo) * d[1] + math.cos(la) * d[2]
    u = math.cos(la) * math.cos(lo) * d[0] + math.cos(la) * math.sin(lo) * d[1] + math.sin(la) * d[2]
    return math.hypot(e, n), u


def _when(date, clock):
    return dt.datetime.strptime(f"{date} {clock}", "%Y/%m/%d %H:%M:%S.%f")


def _parse(path):
    """Data rows (time, lat, lon, h, Q) and comment epochs (time, kind, reason, numbers)."""
    rows, comments = [], []
    for line in open(path):
        line = line.rstrip("\n")
        if line.startswith("%"):
            m = re.match(r"^% (\S+) (\S+) (flagged \((.*)\):(.*)|no solution: (.*))$", line)
            if m:
                kind = "flagged" if m.group(4) is not None else "unsolved"
                reason = m.group(4) if kind == "flagged" else m.group(6)
                nums = [float(v) for v in m.group(5).split()] if kind == "flagged" else []
                comments.append((_when(m.group(1), m.group(2)), kind, reason, nums))
            continue
        f = line.split()
        rows.append((_when(f[0], f[1]), float(f[2]), float(f[3]), float(f[4]), int(f[5])))
    return rows, comments


def _obs_epochs(path):
    """Epoch times of a RINEX 3 observation file, from its '>' lines."""
    out = []
    with gzip.open(path, "rt") as f:
        for line in f:
            if line.startswith(">"):
                y, mo, d, h, mi = (int(v) for v in line[1:].split()[:5])
                s = float(line[1:].split()[5])
                out.append(dt.datetime(y, mo, d, h, mi) + dt.timedelta(seconds=s))
    return out


def test_solve_ubx_flags_degraded_epochs(tmp_path):
    d = data_path("ubx")
    obs = d / "16dBatt_no_interference_coldstart.obs.gz"
    out = tmp_path / "ubx.pos"
    rc = main(["solve", str(obs), str(d / "16dBatt_no_interference_coldstart.nav.gz"), "-o", str(out), "-q"])
    assert rc == 0
    rows, comments = _parse(out)

    # every epoch of the file is in the .pos exactly once: a row or a comment line
    epochs = _obs_epochs(obs)
    assert len(epochs) == 2072  # README
    written = sorted([r[0] for r in rows] + [c[0] for c in comments])
    assert len(written) == len(epochs)
    assert max(abs((a - b).total_seconds()) for a, b in zip(written, epochs)) < 1e-3

    errors = np.array([_enu_error(lat, lon, h, UBX_REF) for _, lat, lon, h, _ in rows])
    times = [r[0] for r in rows]
    # no data row is far off: whatever is written as a fix is a fix
    assert np.max(errors[:, 0]) < 50.0
    assert {r[4] for r in rows} == {5}  # Q = 5, single
    # after 06:57:05 every epoch is flagged or has no solution: no data row at all
    assert max(times) < CUT
    late = [c for c in comments if c[0] >= CUT]
    assert len(late) == sum(e >= CUT for e in epochs)
    # the flagged epochs are there, with their reason and position, up to ~157 km off
    late_flagged = [c for c in late if c[1] == "flagged"]
    assert len(late_flagged) >= 600  # 632 in issue 4's audit
    assert all(c[2] for c in late_flagged)
    far = max(_enu_error(*c[3][:3], UBX_REF)[0] for c in late_flagged)
    assert far > 10_000.0

    # accuracy of the good stretch (issue 4): H RMS <= 4.8 m, V RMS <= 9.6 m
    sel = np.array([START <= t < CUT for t in times])
    assert sel.sum() >= 1000  # 1113 epochs pass integrity of 1129 up to 06:57:04
    h_rms = math.sqrt(np.mean(errors[sel, 0] ** 2))
    v_rms = math.sqrt(np.mean(errors[sel, 1] ** 2))
    assert h_rms <= 4.8 and v_rms <= 9.6, (h_rms, v_rms)
