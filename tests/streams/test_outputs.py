"""The live outputs' per-epoch numbers (satnav.streams.outputs): the geodetic position and ENU
rotation of one epoch computed on floats against satnav.frames' NumPy conversion (the same
bits, or the same to the last bits of the elementary functions where NumPy has its own), the NMEA text the same whichever path computed them, and the NMEA time and date made
by integer arithmetic against the solution writers' UTC (leap-second days included)."""

from __future__ import annotations

import datetime as dt

import numpy as np

from satnav.frames import ecef_to_geodetic, enu_rotation, geodetic_to_ecef
from satnav.io.nmea_text import nmea_date, nmea_time
from satnav.streams import outputs
from satnav.streams.outputs import LiveFix, json_line, nmea_lines


def _positions(n, seed):
    rng = np.random.default_rng(seed)
    lat = np.arcsin(rng.uniform(-1, 1, n))
    lon = rng.uniform(-np.pi, np.pi, n)
    h = np.concatenate([rng.uniform(-400, 9000, n // 2), rng.uniform(9000, 3.6e7, n - n // 2)])
    xyz = np.stack(geodetic_to_ecef(lat, lon, h), axis=-1).reshape(n, 3)
    xyz[:4] = [[0.0, 0.0, 6356752.3], [0.0, 0.0, -6356752.3], [6378137.0, 0.0, 0.0], [0.0, -6378137.0, 1e-3]]
    return xyz


def test_one_epoch_geodetic_and_enu_are_numpys():
    """The scalar path's numbers are NumPy's: its bits where NumPy's float64 loops are the C
    library's; within the last bits of the elementary functions where they are NumPy's own
    (AVX-512), checked at the start (_scalar_frames_ok, which must then accept them)."""
    assert outputs._scalar_frames_ok()
    xyz = _positions(3000, 5)
    lat, lon, h = ecef_to_geodetic(xyz)
    rot = enu_rotation(lat, lon)
    angle, height = outputs.SCALAR_ANGLE_TOLERANCE_RAD, outputs.SCALAR_HEIGHT_TOLERANCE_M
    for i, (x, y, z) in enumerate(xyz.tolist()):
        la, lo, hh = outputs._geodetic(x, y, z)
        assert abs(la - lat[i]) <= angle and abs(lo - lon[i]) <= angle and abs(hh - h[i]) <= height, i
        assert np.abs(outputs._enu_rotation(float(lat[i]), float(lon[i])) - rot[i]).max() <= angle, i


def _fixes(n, seed):
    rng = np.random.default_rng(seed)
    t0 = 1_277_000_000 * 1_000_000_000
    for k, x in enumerate(_positions(n, seed)):
        yield LiveFix(t0 + k * 100_000_000, x, int(rng.choice([1, 2, 4, 5])), bool(k % 5), "spp",
                      n_satellites=12, satellites=[1, 3, 7, 70, 140, 141, 210, 211, 212],
                      hdop=float(rng.uniform(0.5, 3)), pdop=float(rng.uniform(1, 4)), vdop=float(rng.uniform(0.5, 3)),
                      covariance_m2=None if k % 2 else np.diag(rng.uniform(1e-4, 1.0, 3)),
                      residual_rms_m=float(rng.uniform(0.1, 5)), velocity_m_s=rng.normal(0, 20, 3),
                      age_s=float(rng.uniform(0, 10)))


def test_nmea_and_json_the_same_on_the_numpy_path(monkeypatch):
    fixes = list(_fixes(300, 9))
    scalar = [(nmea_lines(f), json_line(f)) for f in fixes]
    monkeypatch.setattr(outputs, "_SCALAR_OK", [False])
    assert [(nmea_lines(f), json_line(f)) for f in fixes] == scalar


def test_nmea_time_and_date_equal_the_writers_utc():
    from satnav.gnss_time import calendar_to_ns

    rng = np.random.default_rng(2)
    times = [calendar_to_ns(2016, 12, 31, 23, 59, 40) + k * 250_000_000 for k in range(120)]  # a leap second
    times += [calendar_to_ns(2020, 6, 25, 23, 59, 59) + k * 1_000_000 for k in range(3000)]  # GPST day != UTC day
    times += list(calendar_to_ns(1999, 1, 1, 0, 0, 0) + rng.integers(0, 30 * 365 * 86400, 500) * 1_000_000_000
                  + rng.integers(0, 1_000_000_000, 500))
    times += [-1_500_000_000, 0, 4_990_000, 5_000_000]
    for t in times:
        when = outputs._utc(int(t))
        assert outputs._utc_text(int(t)) == (nmea_time(when), nmea_date(when)), t


def test_nmea_time_by_hand():
    # 2020-06-25 00:00:00 GPST is 2020-06-24 23:59:42 UTC (GPST - UTC = 18 s); 10 ms rounding
    t = (dt.datetime(2020, 6, 25) - dt.datetime(1980, 1, 6)) // dt.timedelta(microseconds=1) * 1000
    assert outputs._utc_text(t) == ("235942.00", "240620")
    assert outputs._utc_text(t + 18_004_999_999) == ("000000.00", "250620")
    assert outputs._utc_text(t + 18_005_000_000) == ("000000.01", "250620")
    assert outputs._utc_text(t + 60_000_000_000) == ("000042.00", "250620")
