"""Constellation specs: built-ins against published constellation parameters."""

from __future__ import annotations

import numpy as np
import pytest

from satnav.constellation.design import (
    BUILTIN_SPECS,
    GEOSYNCHRONOUS_A_M,
    combine,
    constellation_from_spec,
    elements_to_state,
    greenwich_angle,
    load_constellation,
    regional_example,
    state_to_elements,
)
from satnav.errors import FormatError
from satnav.gnss_time import calendar_to_ns


def test_gmst_at_j2000():
    # GMST at 2000-01-01 12:00 UT1 is 280.46061837 deg (IAU 1982; Astronomical Almanac);
    # UTC = UT1 within 0.36 s that day (0.0015 deg), GPST = UTC + 13 s.
    theta = greenwich_angle(calendar_to_ns(2000, 1, 1, 12, 0, 13))
    assert np.rad2deg(theta) == pytest.approx(280.46061837, abs=0.002)


@pytest.mark.parametrize("name, count", [("gps", 24), ("glonass", 24), ("galileo", 24),
                                         ("beidou3", 30), ("regional", 7)])  # fmt: skip
def test_builtin_sizes(name, count):
    c = load_constellation(name)
    assert len(c) == count
    assert len(set(c.ids)) == count


def test_gps_nominal_period():
    # GPS nominal orbit: a = 26 559.7 km, period half a sidereal day (11 h 58 min)
    c = load_constellation("gps")
    period = 2 * np.pi * np.sqrt(c.elements[:, 0] ** 3 / c.gm)
    assert np.allclose(period, 43082.0, atol=5.0)
    assert np.allclose(np.rad2deg(c.elements[:, 2]), 55.0)
    # plane B node is 60 deg east of plane A (SPS PS 2001 table 3-1)
    assert np.rad2deg(c.elements[4, 3] - c.elements[0, 3]) == pytest.approx(60.0)


def test_glonass_walker_geometry():
    # GLONASS ICD 5.1 sec. 3.1: 3 planes 120 deg apart, 8 slots 45 deg apart, 64.8 deg,
    # 19 100 km altitude, planes shifted 15 deg in argument of latitude
    c = load_constellation("glonass")
    el = c.elements
    assert np.allclose(el[:, 0], (6378.137 + 19100.0) * 1e3)
    assert np.allclose(np.rad2deg(el[:, 2]), 64.8)
    nodes = np.rad2deg(el[::8, 3])
    assert np.allclose(np.mod(np.diff(nodes), 360), 120.0)
    u = np.rad2deg(el[:, 4] + el[:, 5])
    assert np.allclose(np.mod(np.diff(u[:8]), 360), 45.0)
    assert np.mod(u[8] - u[0], 360) == pytest.approx(15.0)
    assert c.ids[0] == "R01" and c.ids[-1] == "R24"
    assert np.all((c.fdma_channel >= -7) & (c.fdma_channel <= 6))


def test_geo_slot_longitude_and_radius():
    c = regional_example(100.0)
    r, _ = c.initial_state()
    # inertial -> ECEF at the epoch: rotate by -GMST
    th = greenwich_angle(c.epoch_ns)
    x = np.cos(th) * r[:, 0] + np.sin(th) * r[:, 1]
    y = -np.sin(th) * r[:, 0] + np.cos(th) * r[:, 1]
    lon = np.rad2deg(np.arctan2(y, x))
    geo = c.orbit_type == "GEO"
    assert np.allclose(lon[geo], [60.0, 100.0, 140.0], atol=1e-6)
    # geostationary radius 42 164 km (GM / omega_e^2)^(1/3)
    assert GEOSYNCHRONOUS_A_M == pytest.approx(42_164.17e3, abs=50.0)
    shifted = regional_example(40.0)
    assert np.allclose(np.rad2deg(shifted.elements[geo, 3] - c.elements[geo, 3]) % 360, 300.0)


def test_elements_roundtrip():
    rng = np.random.default_rng(1)
    el = np.column_stack([
        rng.uniform(2.0e7, 4.3e7, 50), rng.uniform(0.001, 0.2, 50), rng.uniform(0.1, 1.5, 50),
        rng.uniform(0, 6.2, 50), rng.uniform(0, 6.2, 50), rng.uniform(0, 6.2, 50),
    ])  # fmt: skip
    r, v = elements_to_state(el, 3.986005e14)
    back = state_to_elements(r, v, 3.986005e14)
    assert np.allclose(back[:, :3], el[:, :3], rtol=1e-10, atol=1e-12)
    d = np.mod(back[:, 3:] - el[:, 3:] + np.pi, 2 * np.pi) - np.pi
    assert np.abs(d).max() < 1e-8


def test_combine_and_clash():
    both = combine(load_constellation("gps"), regional_example())
    assert len(both) == 31
    assert set(both.system_name) == {"GPS", "Regional example"}
    with pytest.raises(FormatError):
        combine(load_constellation("gps"), load_constellation("gps"))


@pytest.mark.parametrize(
    "spec, what",
    [
        ({"system": "G", "epoch": "2020-01-01T00:00:00"}, "message_format"),
        ({"message_format": "GPS LNAV", "system": "R", "epoch": "2020-01-01T00:00:00",
          "geo": [{"longitudes_deg": [0.0]}]}, "letter"),  # fmt: skip
        ({"message_format": "GPS LNAV", "epoch": "2020-01-01T00:00:00",
          "walker": [{"total": 10, "planes": 3, "inclination_deg": 55, "altitude_km": 20000}]},
         "multiple"),  # fmt: skip
        ({"message_format": "GPS LNAV", "epoch": "2020-01-01T00:00:00"}, "no satellites"),
        ({"message_format": "GPS LNAV", "epoch": "yesterday", "geo": [{"longitudes_deg": [0]}]},
         "epoch"),
    ],
)
def test_bad_specs_raise(spec, what):
    with pytest.raises(FormatError, match=what):
        constellation_from_spec(spec)


def test_spec_file(tmp_path):
    p = tmp_path / "mine.toml"
    p.write_text(
        'name = "Mine"\nsystem = "J"\nmessage_format = "QZSS LNAV"\n'
        "epoch = 2021-03-01T00:00:00\n"
        "[[satellite]]\nsemi_major_axis_km = 42164.0\neccentricity = 0.075\n"
        "inclination_deg = 41.0\nnode_longitude_deg = 135.0\nargument_of_perigee_deg = 270.0\n"
        "prns = [2]\n"
    )
    c = load_constellation(p)
    assert c.ids == ["J02"]
    assert c.elements[0, 1] == pytest.approx(0.075)
    assert np.rad2deg(c.elements[0, 4]) == pytest.approx(270.0)
    bad = tmp_path / "bad.toml"
    bad.write_text("name = = 3")
    with pytest.raises(FormatError, match="bad.toml"):
        load_constellation(bad)


def test_all_builtins_listed():
    assert set(BUILTIN_SPECS) == {"gps", "glonass", "galileo", "beidou3", "regional"}
