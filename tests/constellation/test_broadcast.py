"""Broadcast fits: residuals, RINEX round trip through satnav's reader and orbit engine,
and an independent reader (georinex)."""

from __future__ import annotations

import numpy as np
import pytest

from satnav.constellation.broadcast import broadcast_navigation, write_broadcast
from satnav.constellation.design import combine, load_constellation, regional_example
from satnav.constellation.propagate import propagate
from satnav.io.rinex_nav import read_rinex_nav
from satnav.orbits.ephemeris import broadcast_states

NS = 1_000_000_000


@pytest.fixture(scope="module")
def designed():
    # a few satellites of every built-in (every message format), incl. BeiDou GEO/IGSO
    bds = load_constellation("beidou3")
    keep = np.isin(bds.ids, ["C01", "C02", "C38", "C19", "C45"])
    c = combine(
        load_constellation("gps").select([0, 7, 13]),
        load_constellation("glonass").select([0, 9, 20]),
        load_constellation("galileo").select([0, 11]),
        bds.select(keep),
        regional_example(),
    )
    start = c.epoch_ns
    end = start + 3 * 3600 * NS
    fit = broadcast_navigation(c, start, end)
    return c, fit, start, end


def test_fit_residual_below_5_cm(designed):
    _, fit, _, _ = designed
    assert np.all(fit.rms_m < 0.05)
    assert np.all(fit.max_m < 0.1)


def test_message_content(designed):
    c, fit, start, end = designed
    nav = fit.nav
    assert set(nav.messages) == {"G", "R", "E", "C", "I"}
    g = nav.messages["G"]
    # hourly messages (2 h fit interval) covering [start, end]
    toes = np.unique(g["toe"])
    assert toes[0] <= start and toes[-1] >= end
    assert np.all(np.diff(toes) == 3600 * NS)
    c_msgs = nav.messages["C"]
    assert set(c_msgs["message_type"][np.isin(c_msgs["sat"] % 100, [1, 2])]) == {"D2"}
    # BeiDou toe on BDT hours: GPST = BDT + 14 s
    assert np.all(np.mod(c_msgs["toe_sow"], 3600) == 0)
    assert np.all((c_msgs["toe"] // NS) % 3600 == 14)
    r = nav.messages["R"]
    # GLONASS t_b at UTC hh:15 / hh:45 (GPST = UTC + 18 s in 2020)
    assert np.all(((r["toc"] // NS - 18) % 1800) == 900)
    assert any("Regional example" in line for line in nav.header.comments)


@pytest.mark.parametrize("version", [3.05, 4.0])
def test_written_file_reproduces_orbits(designed, tmp_path, version):
    c, fit, start, end = designed
    path = tmp_path / f"designed_{version}.rnx"
    write_broadcast(fit.nav, path, version=version)
    nav = read_rinex_nav(path)
    assert nav.count_by_system() == fit.nav.count_by_system()
    times = start + np.arange(0, 3 * 3600 + 1, 150, dtype=np.int64) * NS
    truth = propagate(c, times).position_m
    st = broadcast_states(nav, c.sat[None, :], times[:, None])
    assert np.all(st.valid), np.unique(st.reason)
    err = np.linalg.norm(st.position_m - truth, axis=-1)
    # within the fit residual (largest point residual < 0.1 m) plus GLONASS RK4 (60 s)
    # integration error of the engine (a few mm)
    assert err.max() < fit.max_m.max() + 0.01
    assert np.sqrt(np.mean(err**2)) < 0.05


def test_clock_polynomial_carried(designed):
    c, _, start, end = designed
    sub = c.select(np.isin(c.ids, ["G01", "R01"]))
    clock = np.array([[1e-4, 1e-11], [-2e-5, 0.0]])
    fit = broadcast_navigation(sub, start, start + 3600 * NS, clock=clock)
    t = start + 1800 * NS
    st = broadcast_states(fit.nav, sub.sat, np.array([t, t]))
    dt = (t - sub.epoch_ns) / NS
    expected = clock[:, 0] + clock[:, 1] * dt
    # GPS: the engine adds the periodic relativistic term (< 30 ns for e < 0.02) to the
    # polynomial; GLONASS: tau_n/gamma_n already contain it, the engine adds nothing.
    polynomial = np.where(np.asarray(sub.ids) == "R01", st.clock_s, st.clock_s - st.relativity_s)
    assert polynomial == pytest.approx(expected, abs=1e-15)


@pytest.mark.filterwarnings("ignore::FutureWarning")
def test_georinex_reads_written_file(designed, tmp_path):
    georinex = pytest.importorskip("georinex")
    _, fit, _, _ = designed
    path = tmp_path / "designed.rnx"
    write_broadcast(fit.nav, path, version=3.05)
    # georinex 1.16 reads NavIC records only with their trailing spare fields written out
    # (exactly 28 fields); satnav's writer drops trailing blanks, so I is left to satnav
    ds = georinex.load(path, use={"G", "R", "E", "C"})
    svs = {str(s) for s in ds.sv.values}
    assert {"G01", "R01", "E01", "C01", "C38"} <= svs
    ours = fit.nav.messages["G"]
    row = ours[ours["sat"] == 1][0]
    val = ds.sel(sv="G01")["sqrtA"].dropna("time").values[0]
    assert val == pytest.approx(row["sqrt_a"], rel=1e-12)
    x = ds.sel(sv="R01")["X"].dropna("time").values[0]  # georinex converts km to m
    r = fit.nav.messages["R"]
    assert x == pytest.approx(r[r["sat"] == 101][0]["x"], abs=1e-3)
