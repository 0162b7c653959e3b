"""Sun/Moon positions and Earth orientation against values read by hand from the
Astronomical Almanac style quantities (declination, distance) and the IERS C04 table."""

import numpy as np
import pytest

pytest.importorskip("erfa")
pytest.importorskip("astropy_iers_data")

from satnav.gnss_time import parse_gpst  # noqa: E402
from satnav.models.earth_orientation import eop_at  # noqa: E402
from satnav.models.sun_moon import sun_moon_gcrs, sun_moon_itrs  # noqa: E402


def test_eop_2024_035_matches_c04_row():
    # IERS 20 C04, 2024-02-04 0h UTC: x 0.057635", y 0.224313", UT1-UTC 0.0031545 s
    t = parse_gpst("2024-02-04T00:00:18")  # 0h UTC = 18 s GPST
    e = eop_at(np.array([t]))
    assert e.xp_rad[0] / np.pi * 180 * 3600 == pytest.approx(0.057635, abs=1e-6)
    assert e.yp_rad[0] / np.pi * 180 * 3600 == pytest.approx(0.224313, abs=1e-6)
    assert e.ut1_utc_s[0] == pytest.approx(0.0031545, abs=1e-7)
    assert not e.extrapolated[0]


def test_sun_at_june_solstice_and_noon():
    # 2020-06-20 21:44 UTC solstice: declination +23.44 deg, distance 1.0163 au
    t = np.array([parse_gpst("2020-06-20T21:44:18")])
    sun, moon = sun_moon_gcrs(t)
    r = np.linalg.norm(sun[0])
    assert r / 149_597_870_700.0 == pytest.approx(1.0163, abs=2e-4)
    assert np.degrees(np.arcsin(sun[0, 2] / r)) == pytest.approx(23.44, abs=0.01)
    assert 356_000e3 < np.linalg.norm(moon[0]) < 407_000e3
    # Earth-fixed: at 12h UTC the Sun is within ~4.5 deg (equation of time) of Greenwich
    t = np.array([parse_gpst("2020-06-25T12:00:18")])
    sun_e, _ = sun_moon_itrs(t)
    assert abs(np.degrees(np.arctan2(sun_e[0, 1], sun_e[0, 0]))) < 4.5
