"""IONEX reader and the single-layer slant delay, against the file (values read by hand),
a second analysis centre's maps and BOR1's own dual-frequency code observations."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from satnav.constants import FREQ_L1, FREQ_L2
from satnav.errors import FormatError
from satnav.gnss_time import calendar_to_ns
from satnav.io.ionex import read_ionex
from satnav.models.ionosphere import ionex_slant_delay_m
from tests.conftest import data_path

BOR1 = np.array([3738358.1332, 1148174.0088, 5021815.9338])


@pytest.fixture(scope="module")
def code_maps():
    return read_ionex(data_path("bor1-2024-035", "COD0OPSFIN_20240350000_01D_01H_GIM.INX.gz"))


def test_ionex_header_and_first_values(code_maps):
    m = code_maps
    assert m.tec_tecu.shape == (25, 71, 73)  # 25 hourly maps, 87.5..-87.5 by 2.5, -180..180 by 5
    assert m.height_m == 450e3 and m.base_radius_m == 6371e3
    assert m.time_ns[0] == calendar_to_ns(2024, 2, 4) and m.time_ns[-1] == calendar_to_ns(2024, 2, 5)
    # first map, latitude 87.5: "  173  175  176  177  179" in 0.1 TECU (EXPONENT -1)
    assert m.tec_tecu[0, 0, :5] == pytest.approx([17.3, 17.5, 17.6, 17.7, 17.9])
    # on a grid node at a map epoch the interpolation returns the node
    assert m.vertical_tec(m.time_ns[0], np.radians(87.5), np.radians(-175.0)) == pytest.approx(17.5)


def test_two_analysis_centres_agree_at_bor1(code_maps):
    igs = read_ionex(data_path("bor1-2024-035", "IGS0OPSFIN_20240350000_01D_02H_GIM.INX.gz"))
    t = np.array([int(calendar_to_ns(2024, 2, 4, h)) for h in range(0, 24, 2)])
    a = code_maps.vertical_tec(t, np.radians(52.28), np.radians(17.07))
    b = igs.vertical_tec(t, np.radians(52.28), np.radians(17.07))
    assert np.all(np.isfinite(a)) and a.max() > 25.0  # a winter day: ~6 TECU at night, ~34 at noon
    assert np.max(np.abs(a - b)) < 4.0


def test_slant_delay_by_hand(code_maps):
    # zenith: the vertical delay 40.3 VTEC 1e16 / f^2
    t = int(code_maps.time_ns[12])
    vtec = code_maps.vertical_tec(t, np.radians(52.28), np.radians(17.07))
    zenith = ionex_slant_delay_m(code_maps, t, np.radians(52.28), np.radians(17.07), 0.0, np.pi / 2, FREQ_L1)
    assert zenith == pytest.approx(40.3 * vtec * 1e16 / FREQ_L1**2)


def test_slant_delays_explain_bor1_geometry_free_code(code_maps):
    """Slant L1 delays of the maps against BOR1's C2W - C1C (CODE OSB applied): after one
    receiver constant (its code bias), the maps explain the observations (correlation > 0.9)
    with a residual RMS below 1 m at L1 (GIM accuracy and code noise)."""
    from satnav.io.bias_sinex import read_bias_sinex
    from satnav.io.sp3 import read_sp3
    from satnav.models.measurement import geometry
    from satnav.orbits.precise import precise_states
    from satnav.pipeline import read_observations
    from satnav.satellites import system_of

    d = "bor1-2024-035"
    obs = read_observations(data_path(d, "BOR100POL_R_20240350000_01D_30S_MO.crx.gz"))
    obs = obs.select(obs.time % (600 * 10**9) == 0)
    sats = obs.satellite_indices[np.asarray(system_of(obs.satellite_indices)) == "G"]
    t = obs.epochs
    bias = read_bias_sinex(data_path(d, "COD0OPSFIN_20240350000_01D_01D_OSB.BIA.gz"))
    b1 = np.array([bias.osb_m(s, "C1C", int(t[0])) for s in sats])
    b2 = np.array([bias.osb_m(s, "C2W", int(t[0])) for s in sats])
    i1 = ((obs.dense("C2W", sats) - b2) - (obs.dense("C1C", sats) - b1)) / (FREQ_L1**2 / FREQ_L2**2 - 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sp3 = read_sp3(*[data_path(d, f"COD0OPSFIN_2024{day}0000_01D_05M_ORB.SP3.gz") for day in ("034", "035", "036")])
    st = precise_states(sp3, sats[None, :], t[:, None], require_clock=False)
    geo = geometry(BOR1, st.position_m)
    model = ionex_slant_delay_m(code_maps, t[:, None], geo.latitude_rad, geo.longitude_rad, geo.azimuth_rad,
                                geo.elevation_rad, FREQ_L1)
    ok = np.isfinite(i1) & np.isfinite(model) & (geo.elevation_rad > np.radians(15))
    assert ok.sum() > 1000
    r = (i1 - model)[ok]
    r = r - np.median(r)
    assert np.sqrt(np.mean(r**2)) < 1.0
    assert np.corrcoef(i1[ok], model[ok])[0, 1] > 0.9


def test_not_ionex(tmp_path):
    p = tmp_path / "x.inx"
    p.write_text("hello\n")
    with pytest.raises(FormatError, match="not an IONEX file"):
        read_ionex(p)
