"""satnav.orbits.compare (R/A/C, clock offsets, SISRE) and the ``satnav orbits`` command.

Truth: hand-built geometry (known offsets along known directions), the SISRE formula and
weights of Montenbruck et al. (2015, 2018) evaluated by hand, and file text.
"""

from __future__ import annotations

import numpy as np
import pytest

from satnav.constants import SPEED_OF_LIGHT
from satnav.gnss_time import calendar_to_ns, parse_gpst
from satnav.orbits.compare import (
    NOMINAL_PCO_Z_M,
    compare_states,
    nominal_pco_z,
    orbit_group,
    rac_frame,
)
from satnav.orbits.states import SatelliteStates
from satnav.satellites import satellite_indices


def _states(pos, vel, clock):
    shape = clock.shape
    nan = np.full(shape, np.nan)
    valid = np.isfinite(pos).all(-1)
    return SatelliteStates(
        position_m=pos, velocity_m_s=vel, clock_s=clock, clock_drift_s_s=nan,
        relativity_s=nan, group_delay_s=nan, iode=nan,
        message_toe_ns=np.full(shape, -1, np.int64), valid=valid,
        reason=np.where(valid, 0, 5).astype(np.int8))


def test_parse_gpst():
    assert parse_gpst("2020-06-25T00:00:00") == calendar_to_ns(2020, 6, 25)
    assert parse_gpst("2020-06-25 12:30") == calendar_to_ns(2020, 6, 25, 12, 30)
    from satnav.errors import SatnavError

    with pytest.raises(SatnavError, match="ISO 8601"):
        parse_gpst("25/06/2020")


def test_rac_frame_equatorial_orbit():
    r = np.array([26_560e3, 0.0, 0.0])
    v_inertial = np.array([0.0, 3874.0, 0.0])
    v_ecef = v_inertial - np.cross([0, 0, 7.2921151467e-5], r)
    e_r, e_a, e_c = rac_frame(r, v_ecef)
    assert np.allclose(e_r, [1, 0, 0]) and np.allclose(e_a, [0, 1, 0])
    assert np.allclose(e_c, [0, 0, 1])


def test_orbit_groups():
    g = orbit_group(satellite_indices(["G01", "C01", "C08", "C11", "C59", "C38", "C45", "J02"]))
    assert g.tolist() == ["G", "C-GEO", "C-IGSO", "C-MEO", "C-GEO", "C-IGSO", "C-MEO", "J"]
    z = nominal_pco_z(satellite_indices(["G01", "R01", "E01"]))
    assert z.tolist() == [NOMINAL_PCO_Z_M["G"], NOMINAL_PCO_Z_M["R"], NOMINAL_PCO_Z_M["E"]]


def test_compare_states_known_offsets_and_sisre():
    """Two epochs x three satellites (G, G, E) with offsets placed along R/A/C by hand."""
    sats = satellite_indices(["G01", "G02", "E01"])
    rng = np.random.default_rng(1)
    pos = rng.normal(size=(2, 3, 3))
    pos = 26_000e3 * pos / np.linalg.norm(pos, axis=-1, keepdims=True)
    vel = np.cross(pos, rng.normal(size=(2, 3, 3)))
    vel = 3_900 * vel / np.linalg.norm(vel, axis=-1, keepdims=True)
    e_r, e_a, e_c = rac_frame(pos, vel)
    dr, da, dc = -0.9, 1.5, -0.4
    bpos = pos + dr * e_r + da * e_a + dc * e_c
    # clocks: common offsets per system/epoch plus 0.3 m on G02 only
    common = np.array([[10.0, 10.0, -40.0], [12.0, 12.0, 30.0]]) / SPEED_OF_LIGHT
    pclock = rng.normal(size=(2, 3)) * 1e-4
    extra = np.array([0.0, 0.3, 0.0]) / SPEED_OF_LIGHT
    bclock = pclock + common + extra
    cmp = compare_states(_states(bpos, vel, bclock), _states(pos, vel, pclock), sats,
                         np.array([0, 900]) * 10**9, pco_z_m=np.array([0.9, 0.9, 0.8]))
    assert np.allclose(cmp.radial_m, dr, atol=1e-6)
    assert np.allclose(cmp.along_m, da, atol=1e-6)
    assert np.allclose(cmp.cross_m, dc, atol=1e-6)
    # median of two GPS clocks {0, 0.3} is 0.15: residuals -0.15 and +0.15; Galileo 0
    assert np.allclose(cmp.clock_m[:, :2], [[-0.15, 0.15]] * 2, atol=1e-6)
    assert np.allclose(cmp.clock_m[:, 2], 0.0, atol=1e-6)
    # SISRE by hand, GPS weights 0.98 and 1/49 (Montenbruck et al. 2015)
    r_corr = dr + 0.9
    expected = np.sqrt((0.98 * r_corr - 0.15) ** 2 + (da**2 + dc**2) / 49)
    assert cmp.sisre_epochs()[0, 1] == pytest.approx(expected, abs=1e-6)
    # Galileo: 0.98 and 1/61, no clock residual
    r_e = dr + 0.8
    assert cmp.sisre_epochs()[1, 2] == pytest.approx(
        np.sqrt((0.98 * r_e) ** 2 + (da**2 + dc**2) / 61), abs=1e-6)
    rows = {r["group"]: r for r in cmp.group_rows()}
    assert rows["G"]["rms3d_raw"] == pytest.approx(np.sqrt(dr**2 + da**2 + dc**2), abs=1e-6)
    assert rows["G"]["rms3d"] == pytest.approx(np.sqrt(r_corr**2 + da**2 + dc**2), abs=1e-6)
    assert rows["G"]["mean_radial_raw"] == pytest.approx(dr, abs=1e-6)
    assert rows["E"]["satellites"] == 1 and rows["G"]["epochs"] == 4
    sat_rows = cmp.satellite_rows()
    assert [r["sat"] for r in sat_rows] == ["G01", "G02", "E01"]


def test_compare_skips_missing_pairs():
    sats = satellite_indices(["G01", "G02"])
    pos = np.array([[[26e6, 0, 0], [0, 26e6, 0]]])
    vel = np.array([[[0, 3.9e3, 0], [-3.9e3, 0, 0]]])
    bpos = pos + 1.0
    bpos[0, 1] = np.nan
    cmp = compare_states(_states(bpos, vel, np.zeros((1, 2))), _states(pos, vel, np.zeros((1, 2))),
                         sats, np.array([0]))
    assert np.isfinite(cmp.radial_m[0, 0]) and np.isnan(cmp.radial_m[0, 1])
    assert [r["sat"] for r in cmp.satellite_rows()] == ["G01"]


def test_orbits_jobs_write_the_one_process_file(tmp_path, capsys):
    # --jobs: each system's states in one process, the SP3 records in ranges of epochs; the
    # file and the printed summary are those of one process, byte for byte
    from satnav.cli import main
    from tests.conftest import data_path

    nav = data_path("esbc-2020-177", "ESBC00DNK_R_20201770000_01D_MN.rnx.gz")
    texts = []
    for jobs in ("1", "2", "3"):
        out = tmp_path / f"j{jobs}.sp3"
        assert main(["orbits", str(nav), "--interval", "600", "-o", str(out), "--jobs", jobs]) == 0
        texts.append(capsys.readouterr().out.replace(str(out), "OUT"))
    one = (tmp_path / "j1.sp3").read_bytes()
    assert one.count(b"\n*  ") == 144 and one.endswith(b"EOF\n")
    assert (tmp_path / "j2.sp3").read_bytes() == one
    assert (tmp_path / "j3.sp3").read_bytes() == one
    assert texts[1] == texts[0] and texts[2] == texts[0]
