"""GLONASS broadcast orbits: RK4 integration against an independent high-accuracy integration
of the ICD equations (scipy ``solve_ivp``, rtol 1e-12) and against the next broadcast message.
"""

from __future__ import annotations

import numpy as np
import pytest

from satnav.gnss_time import NS_PER_S, calendar_to_ns, to_gpst
from satnav.orbits.glonass import glonass_states
from tests.conftest import data_path

# ESBC00DNK_R_20201770000_01D_MN.rnx, lines 18056-18065 (km, km/s, km/s^2; toc in UTC):
# R01 2020 06 24 23 15 00 6.355904042721e-05 0.000000000000e+00 3.420000000000e+05
#      1.090894238281e+04 1.407806396484e+00-1.862645149231e-09 0.000000000000e+00
#     -2.885726074219e+03 2.795855522156e+00-0.000000000000e+00 1.000000000000e+00
#      2.288353955078e+04-3.169984817505e-01-2.793967723846e-09 0.000000000000e+00
#                          .999999999999e+09 1.500000000000e+01
# R01 2020 06 24 23 45 00 6.355997174978e-05 0.000000000000e+00 3.438000000000e+05
#      1.372008105469e+04 1.682619094849e+00-0.000000000000e+00 0.000000000000e+00
#      1.826717285156e+03 2.401678085327e+00 0.000000000000e+00 1.000000000000e+00
#      2.143656884766e+04-1.280283927917e+00-2.793967723846e-09 0.000000000000e+00
R01_TOC = int(to_gpst(calendar_to_ns(2020, 6, 24, 23, 15, 0), "UTC"))
R01 = dict(
    clock_bias=6.355904042721e-05, gamma_n=0.0,
    x=1.090894238281e04 * 1e3, vx=1.407806396484e00 * 1e3, ax=-1.862645149231e-09 * 1e3,
    y=-2.885726074219e03 * 1e3, vy=2.795855522156e00 * 1e3, ay=-0.0,
    z=2.288353955078e04 * 1e3, vz=-3.169984817505e-01 * 1e3, az=-2.793967723846e-09 * 1e3,
)  # fmt: skip
R01_NEXT_TOC = int(to_gpst(calendar_to_ns(2020, 6, 24, 23, 45, 0), "UTC"))
R01_NEXT_POS = np.array([1.372008105469e04, 1.826717285156e03, 2.143656884766e04]) * 1e3
R01_NEXT_VEL = np.array([1.682619094849e00, 2.401678085327e00, -1.280283927917e00]) * 1e3


def _icd_derivative(t, s, acc):
    """GLONASS ICD 5.1 A.3.1.2, written out: PZ-90 constants, rotating frame."""
    mu, ae, j2, w = 398600.4418e9, 6378136.0, 1082625.75e-9, 7.292115e-5
    x, y, z, vx, vy, vz = s
    r = np.sqrt(x * x + y * y + z * z)
    c = 1.5 * j2 * mu * ae**2 / r**5
    return [
        vx,
        vy,
        vz,
        -mu / r**3 * x - c * x * (1 - 5 * z * z / r**2) + w * w * x + 2 * w * vy + acc[0],
        -mu / r**3 * y - c * y * (1 - 5 * z * z / r**2) + w * w * y - 2 * w * vx + acc[1],
        -mu / r**3 * z - c * z * (3 - 5 * z * z / r**2) + acc[2],
    ]


def _eph(m, toc, n):
    e = {k: np.full(n, v) for k, v in m.items()}
    e["toc"] = np.full(n, toc, dtype=np.int64)
    return e


def test_rk4_matches_solve_ivp_forward_and_backward():
    integrate = pytest.importorskip("scipy.integrate")
    offsets = np.array([-1800.0, -900.0, -437.5, 0.0, 30.0, 600.0, 900.0, 1799.0])
    t = R01_TOC + (offsets * NS_PER_S).astype(np.int64)
    pos, vel, clk, drift, rel = glonass_states(_eph(R01, R01_TOC, offsets.size), t)
    s0 = [R01[k] for k in ("x", "y", "z", "vx", "vy", "vz")]
    acc = [R01["ax"], R01["ay"], R01["az"]]
    for k, dt in enumerate(offsets):
        if dt == 0:
            np.testing.assert_array_equal(pos[k], s0[:3])
            continue
        sol = integrate.solve_ivp(
            _icd_derivative, (0.0, dt), s0, args=(acc,), method="DOP853", rtol=1e-12, atol=1e-6
        )
        ref = sol.y[:, -1]
        assert np.linalg.norm(pos[k] - ref[:3]) < 0.01, (dt, pos[k] - ref[:3])
        assert np.linalg.norm(vel[k] - ref[3:]) < 1e-5
    np.testing.assert_allclose(clk, R01["clock_bias"])  # gamma_n = 0: no relativity added
    # the diagnostic periodic term -2 r.v / c^2: at most F e sqrt(A) ~ 1e-9 s for e < 0.003
    np.testing.assert_allclose(rel, -2 * np.sum(pos * vel, axis=1) / 299792458.0**2)
    assert np.all(np.abs(rel) < 5e-9)


def test_propagated_state_meets_next_message():
    pos, vel, *_ = glonass_states(_eph(R01, R01_TOC, 1), np.array([R01_NEXT_TOC]))
    # ICD accuracy of the broadcast state: a few metres; the two messages are independent fits
    assert np.linalg.norm(pos[0] - R01_NEXT_POS) < 5.0
    assert np.linalg.norm(vel[0] - R01_NEXT_VEL) < 0.01


def test_clock_with_frequency_bias():
    m = dict(R01, gamma_n=1.818989403546e-12)
    t = np.array([R01_TOC + 600 * NS_PER_S, R01_TOC - 300 * NS_PER_S])
    _, _, clk, drift, _ = glonass_states(_eph(m, R01_TOC, 2), t)
    # RINEX: clock_bias = -tau_n; dt_sv = -tau_n + gamma_n (t - t_b)
    np.testing.assert_allclose(
        clk, m["clock_bias"] + m["gamma_n"] * np.array([600.0, -300.0]), rtol=0, atol=1e-18
    )
    np.testing.assert_allclose(drift, m["gamma_n"])


def test_whole_day_next_message_consistency():
    from satnav.io.rinex_nav import read_rinex_nav

    nav = read_rinex_nav(data_path("esbc-2020-177", "ESBC00DNK_R_20201770000_01D_MN.rnx.gz"))
    r = nav.messages["R"]
    r = r[np.lexsort((r["toc"], r["sat"]))]
    i = np.flatnonzero(
        (np.diff(r["sat"]) == 0) & (np.diff(r["toc"]) == 1800 * NS_PER_S) & (r["health"][:-1] == 0)
    )
    assert i.size > 300
    eph = {f: r[f][i] for f in r.dtype.names}
    pos, vel, *_ = glonass_states(eph, r["toc"][i + 1])  # all pairs in one vectorized call
    nxt = np.stack([r["x"][i + 1], r["y"][i + 1], r["z"][i + 1]], axis=1)
    d = np.linalg.norm(pos - nxt, axis=1)
    assert np.median(d) < 3.0 and np.max(d) < 6.0, (np.median(d), np.max(d))


def test_against_rtklib_geph2pos(tmp_path):
    """Every GLONASS message of the ESBC file against RTKLIB's ``geph2pos`` (pyrtklib), 15
    min before, at and 15 min after t_b: 1 cm (RTKLIB uses the older PZ-90 GM and J2, which
    move a 15 min arc by ~1 mm), clocks to 1e-12 s."""
    rtk = pytest.importorskip("pyrtklib")
    from satnav.io.rinex_nav import read_rinex_nav
    from satnav.io.textfile import read_bytes
    from satnav.satellites import satellite_index

    src = data_path("esbc-2020-177", "ESBC00DNK_R_20201770000_01D_MN.rnx.gz")
    plain = tmp_path / "nav.rnx"
    plain.write_bytes(read_bytes(src))
    rnav, obs, sta = rtk.nav_t(), rtk.obs_t(), rtk.sta_t()
    assert rtk.readrnx(str(plain), 1, "", obs, rnav, sta) == 1
    r = read_rinex_nav(src).messages["R"]
    index = {(int(r["sat"][k]), int(r["toc"][k])): k for k in range(len(r))}
    buf, dts, var = rtk.Arr1Ddouble(6), rtk.Arr1Ddouble(1), rtk.Arr1Ddouble(1)
    name = rtk.Arr1Dchar(8)
    gps_unix = 315964800
    rows, times, ref_pos, ref_clk = [], [], [], []
    for i in range(rnav.ng):
        g = rnav.geph[i]
        rtk.satno2id(g.sat, name)
        toe_ns = int(round((g.toe.time - gps_unix + g.toe.sec) * 1e9))
        k = index.get((satellite_index(str(name[0])[:3]), toe_ns))
        if k is None:
            continue
        for dt in (-900, 0, 900):
            t = rtk.gtime_t()
            t.time, t.sec = g.toe.time + dt, g.toe.sec
            rtk.geph2pos(t, g, buf, dts, var)
            rows.append(k)
            times.append(toe_ns + dt * NS_PER_S)
            ref_pos.append([buf[0], buf[1], buf[2]])
            ref_clk.append(dts[0])
    assert len(rows) >= 3 * 0.9 * len(r)
    k = np.array(rows)
    pos, _, clk, *_ = glonass_states({f: r[f][k] for f in r.dtype.names}, np.array(times))
    assert np.max(np.linalg.norm(pos - np.array(ref_pos), axis=1)) < 0.01
    assert np.max(np.abs(clk - np.array(ref_clk))) < 1e-12
