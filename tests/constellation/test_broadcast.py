"""Broadcast fits: residuals, RINEX round trip through satnav's reader and orbit engine,
and an independent reader (georinex)."""

from __future__ import annotations

import numpy as np
import pytest

from satnav import read_sp3
from satnav.constellation.broadcast import (
    broadcast_navigation,
    fit_kepler_messages,
    kepler_positions,
    write_broadcast,
)
from satnav.constellation.design import combine, load_constellation, regional_example
from satnav.constellation.propagate import propagate
from satnav.io.rinex_nav import read_rinex_nav
from satnav.orbits.ephemeris import broadcast_states
from satnav.orbits.precise import precise_states
from tests.conftest import data_path

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


def _fit_arcs(c, toe, hours, **propagate_options):
    """4 h (or other) fits of every satellite of ``c`` centred on ``toe``, 5-min samples."""
    half = int(hours * 1800)
    times = toe + np.arange(-half, half + 1, 300, dtype=np.int64) * NS
    track = propagate(c, times, **propagate_options)
    n = len(c)
    params, toe_sow, res = fit_kepler_messages(
        np.broadcast_to(times, (n, len(times))),
        track.position_m.transpose(1, 0, 2),
        track.velocity_m_s[len(times) // 2],
        c.sat,
        np.full(n, toe),
        "G",
    )
    return times, track.position_m.transpose(1, 0, 2), params, toe_sow, res


def test_keplerian_orbits_fit_exactly_over_4_hours():
    # A two-body orbit is an IS-GPS-200 message with Delta n = IDOT = harmonics = 0 and
    # OMEGA DOT = 0, so the 4 h fit must reproduce it to round-off: this checks that
    # propagate's ECEF (rotation at OMEGA_E_GPS, GPST time tags) is the ICD algorithm's frame.
    # With J2 the ICD's harmonic corrections and secular rates absorb the oblateness
    # (IS-GPS-200 20.3.3.4.3): millimetres.
    c = load_constellation("gps").select([0, 5, 10, 15, 20])
    toe = c.epoch_ns + 2 * 3600 * NS
    res = _fit_arcs(c, toe, 4, j2=False, third_body=False)[-1]
    assert np.sqrt(np.mean(res**2, axis=1)).max() < 1e-5
    res = _fit_arcs(c, toe, 4, third_body=False)[-1]
    assert np.sqrt(np.mean(res**2, axis=1)).max() < 0.005


def test_4_hour_fit_is_the_least_squares_minimum():
    # Full force model (Moon included), 4 h: MINPACK's Levenberg-Marquardt (scipy), started
    # away from our solution, must not find a lower cost. The 0.1-0.3 m 4 h residual is the
    # ICD model's limit, not a fit stuck short of it.
    optimize = pytest.importorskip("scipy.optimize")
    c = load_constellation("gps").select([3, 12])
    toe = c.epoch_ns + 2 * 3600 * NS
    times, pos, params, toe_sow, res = _fit_arcs(c, toe, 4)
    tk = (times - toe) / NS
    ours = np.sqrt(np.mean(res**2, axis=1))
    assert ours.min() > 0.05  # the case the docs describe
    rng = np.random.default_rng(7)
    scale = np.array([1e-2, 0, 1e-6, 1e-6, 0, 1e-6, 1e-11, 1e-11, 1e-11, 1e-7, 1e-7, 1.0, 1.0,
                      1e-7, 1e-7])  # fmt: skip
    for j in range(len(c)):

        def f(p, j=j):
            return (kepler_positions(p, tk, toe_sow[j], "G") - pos[j]).ravel()

        start = params[j] + rng.normal(size=15) * scale
        sol = optimize.least_squares(
            f, start, method="lm", x_scale="jac", xtol=1e-15, ftol=1e-15, gtol=1e-15
        )
        theirs = np.sqrt(np.sum(sol.fun**2) / len(tk))
        assert ours[j] <= theirs + 1e-5


def test_real_gps_precise_orbits_fit():
    # GRG final orbits of real GPS satellites (IGS-grade, all real forces) fitted with the
    # same fitter: 2 h arcs stay below 5 cm RMS, while 4 h arcs of real orbits cannot be held
    # to 5 cm by the IS-GPS-200 model either (0.1-0.7 m, module doc): the 2 h default is not
    # an artefact of satnav's propagated orbits.
    sp3 = read_sp3(data_path("esbc-2020-177", "GRG0MGXFIN_20201770000_01D_15M_ORB.SP3.gz"))
    gps = sp3.satellites[sp3.satellites // 100 == 0]
    rms = {}
    for hours in (2, 4):
        half = hours * 1800
        out = []
        for toe in sp3.time[[24, 48, 72]]:  # 06:00, 12:00, 18:00 GPST
            times = toe + np.arange(-half, half + 1, 300, dtype=np.int64) * NS
            st = precise_states(sp3, gps[:, None], times[None, :], require_clock=False)
            ok = st.valid.all(axis=1)
            centre = len(times) // 2
            _, _, res = fit_kepler_messages(
                np.broadcast_to(times, (ok.sum(), len(times))),
                st.position_m[ok],
                st.velocity_m_s[ok, centre],
                gps[ok],
                np.full(ok.sum(), toe),
                "G",
            )
            out.append(np.sqrt(np.mean(res**2, axis=1)))
        rms[hours] = np.concatenate(out)
        assert len(rms[hours]) >= 80
    # measured: 2 h median 0.014 m, max 0.049 m; 4 h median 0.23 m, max 0.74 m, 2 % < 5 cm
    assert np.median(rms[2]) < 0.02 and rms[2].max() < 0.06
    assert np.median(rms[4]) > 0.1 and np.mean(rms[4] < 0.05) < 0.1
