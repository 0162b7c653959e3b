"""Keplerian broadcast orbits against the ICD formulas written out here step by step.

The message values are read by hand from the ESBC navigation file (lines quoted); the
reference positions are computed in plain scalar Python (``math``), independently of
``satnav.orbits.kepler``.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from satnav.gnss_time import NS_PER_S, calendar_to_ns, gpst_from_bdt_week_tow, gpst_from_week_tow
from satnav.orbits.kepler import is_beidou_geo, kepler_states, solve_kepler
from tests.conftest import data_path

ESBC_NAV = ("esbc-2020-177", "ESBC00DNK_R_20201770000_01D_MN.rnx.gz")

# ESBC00DNK_R_20201770000_01D_MN.rnx, lines 15880-15887:
# G01 2020 06 25 04 00 00 1.604342833161e-05 7.048583938740e-12 0.000000000000e+00
#      5.800000000000e+01-3.968750000000e+01 4.304822170265e-09 6.342094507864e-01
#     -2.177432179451e-06 1.000394229777e-02 1.937150955200e-06 5.153707128525e+03
#      3.600000000000e+05-1.508742570877e-07 2.572838528869e+00 1.359730958939e-07
#      9.806518601091e-01 3.539687500000e+02 7.941703015008e-01-8.384634967987e-09
#     -5.714523747137e-11 1.000000000000e+00 2.111000000000e+03 0.000000000000e+00
#      2.000000000000e+00 0.000000000000e+00 5.122274160385e-09 5.800000000000e+01
#      3.561060000000e+05 4.000000000000e+00
G01 = dict(
    af0=1.604342833161e-05, af1=7.048583938740e-12, af2=0.0,
    iode=58.0, crs=-3.968750000000e01, delta_n=4.304822170265e-09, m0=6.342094507864e-01,
    cuc=-2.177432179451e-06, e=1.000394229777e-02, cus=1.937150955200e-06,
    sqrt_a=5.153707128525e03,
    toe_sow=3.600000000000e05, cic=-1.508742570877e-07, omega0=2.572838528869e00,
    cis=1.359730958939e-07,
    i0=9.806518601091e-01, crc=3.539687500000e02, omega=7.941703015008e-01,
    omega_dot=-8.384634967987e-09,
    idot=-5.714523747137e-11, week=2111.0, tgd=5.122274160385e-09, iodc=58.0,
)  # fmt: skip

# lines 320-327, BeiDou GEO C05 (toc in BDT):
# C05 2020 06 25 12 00 00-5.188415525481e-04-6.705658250894e-11 0.000000000000e+00
#      1.000000000000e+00-7.423281250000e+02 6.364907981108e-09 2.546968722968e+00
#     -2.396851778030e-05 3.758134553209e-04 6.952323019505e-06 6.493356378555e+03
#      3.888000000000e+05 1.001171767712e-07 2.662878535580e-01 6.984919309616e-08
#      6.499528221725e-02-2.130312500000e+02 1.431258377153e+00-5.347722754118e-09
#     -6.732423289596e-10 0.000000000000e+00 7.550000000000e+02
#      2.000000000000e+00 0.000000000000e+00 1.000000000000e-10-9.300000000000e-09
C05 = dict(
    af0=-5.188415525481e-04, af1=-6.705658250894e-11, af2=0.0,
    iode=1.0, crs=-7.423281250000e02, delta_n=6.364907981108e-09, m0=2.546968722968e00,
    cuc=-2.396851778030e-05, e=3.758134553209e-04, cus=6.952323019505e-06,
    sqrt_a=6.493356378555e03,
    toe_sow=3.888000000000e05, cic=1.001171767712e-07, omega0=2.662878535580e-01,
    cis=6.984919309616e-08,
    i0=6.499528221725e-02, crc=-2.130312500000e02, omega=1.431258377153e00,
    omega_dot=-5.347722754118e-09,
    idot=-6.732423289596e-10, week=755.0, tgd=1.0e-10, tgd2=-9.3e-09,
)  # fmt: skip


def _icd_position(m, tk, gm, omega_e, toe_sow, geo=False):
    """IS-GPS-200 table 20-IV (and BDS-SIS-ICD table 5-11 for GEO), scalar, step by step;
    with ``adot``/``delta_n_dot`` the CNAV form of table 30-II."""
    a0 = m["sqrt_a"] ** 2
    a = a0 + m.get("adot", 0.0) * tk
    n0 = math.sqrt(gm / a0**3)
    n = n0 + m["delta_n"] + 0.5 * m.get("delta_n_dot", 0.0) * tk
    mk = m["m0"] + n * tk
    ek = mk
    for _ in range(50):
        ek = mk + m["e"] * math.sin(ek)
    vk = math.atan2(math.sqrt(1 - m["e"] ** 2) * math.sin(ek), math.cos(ek) - m["e"])
    phik = vk + m["omega"]
    duk = m["cus"] * math.sin(2 * phik) + m["cuc"] * math.cos(2 * phik)
    drk = m["crs"] * math.sin(2 * phik) + m["crc"] * math.cos(2 * phik)
    dik = m["cis"] * math.sin(2 * phik) + m["cic"] * math.cos(2 * phik)
    uk = phik + duk
    rk = a * (1 - m["e"] * math.cos(ek)) + drk
    ik = m["i0"] + dik + m["idot"] * tk
    xk1 = rk * math.cos(uk)
    yk1 = rk * math.sin(uk)
    if not geo:
        om = m["omega0"] + (m["omega_dot"] - omega_e) * tk - omega_e * toe_sow
        return (
            xk1 * math.cos(om) - yk1 * math.cos(ik) * math.sin(om),
            xk1 * math.sin(om) + yk1 * math.cos(ik) * math.cos(om),
            yk1 * math.sin(ik),
        ), ek
    om = m["omega0"] + m["omega_dot"] * tk - omega_e * toe_sow
    xg = xk1 * math.cos(om) - yk1 * math.cos(ik) * math.sin(om)
    yg = xk1 * math.sin(om) + yk1 * math.cos(ik) * math.cos(om)
    zg = yk1 * math.sin(ik)
    f = math.radians(-5.0)
    # R_X(-5 deg)
    y2 = math.cos(f) * yg + math.sin(f) * zg
    z2 = -math.sin(f) * yg + math.cos(f) * zg
    # R_Z(omega_e tk)
    p = omega_e * tk
    return (
        math.cos(p) * xg + math.sin(p) * y2,
        -math.sin(p) * xg + math.cos(p) * y2,
        z2,
    ), ek


def _as_eph(m, toe_ns, toc_ns, sat):
    eph = {k: np.array([v]) for k, v in m.items()}
    eph.update(toe=np.array([toe_ns]), toc=np.array([toc_ns]), sat=np.array([sat]))
    return eph


def test_solve_kepler_converges_to_machine_precision():
    m = np.linspace(-np.pi, np.pi, 1001)
    for e in (0.0, 0.01, 0.16, 0.7):
        ecc = solve_kepler(m, e)
        assert np.max(np.abs(ecc - e * np.sin(ecc) - m)) < 5e-15


def test_gps_position_clock_against_is_gps_200_by_hand():
    gm, we = 3.986005e14, 7.2921151467e-5  # IS-GPS-200 20.3.3.4.3
    toe = int(gpst_from_week_tow(2111, 360000.0))
    toc = int(calendar_to_ns(2020, 6, 25, 4, 0, 0))  # GPST, = toe
    assert toe == toc
    tk = 1234.5
    t = toe + int(tk * NS_PER_S)
    (x, y, z), ek = _icd_position(G01, tk, gm, we, G01["toe_sow"])
    pos, vel, clk, drift, rel = kepler_states(_as_eph(G01, toe, toc, 1), np.array([t]), "G")
    assert np.max(np.abs(pos[0] - [x, y, z])) < 1e-3
    # velocity: analytic in satnav, central difference of the scalar ICD formula here
    h = 0.5
    plus = np.array(_icd_position(G01, tk + h, gm, we, G01["toe_sow"])[0])
    minus = np.array(_icd_position(G01, tk - h, gm, we, G01["toe_sow"])[0])
    assert np.max(np.abs(vel[0] - (plus - minus) / (2 * h))) < 1e-4
    # clock, IS-GPS-200 20.3.3.3.3.1: af0 + af1 dt + af2 dt^2 + F e sqrt(A) sin E
    dtr = -4.442807633e-10 * G01["e"] * G01["sqrt_a"] * math.sin(ek)
    expect = G01["af0"] + G01["af1"] * tk + G01["af2"] * tk**2 + dtr
    assert abs(clk[0] - expect) < 1e-15
    assert abs(rel[0] - dtr) < 1e-15
    assert abs(drift[0] - G01["af1"]) < 1e-11  # relativistic drift is ~1e-12


def test_gps_position_against_precise_orbit_line():
    # GRG0MGXFIN_20201770000_01D_15M_ORB.SP3, lines 1315 and 1361:
    # *  2020  6 25  4 15  0.00000000
    # PG01 -14444.367412   2589.007956  21909.734433     16.053499
    sp3 = np.array([-14444.367412, 2589.007956, 21909.734433]) * 1e3
    toe = int(gpst_from_week_tow(2111, 360000.0))
    t = int(calendar_to_ns(2020, 6, 25, 4, 15, 0))
    pos, *_ = kepler_states(_as_eph(G01, toe, toe, 1), np.array([t]), "G")
    # broadcast (antenna phase centre) vs precise (centre of mass): GPS PCO ~1-2.6 m
    assert np.linalg.norm(pos[0] - sp3) < 3.0


def test_cnav_adot_and_delta_n_dot_against_table_30_ii():
    gm, we = 3.986005e14, 7.2921151467e-5
    m = dict(G01, adot=0.012, delta_n_dot=-3.0e-14)  # RINEX 4 CNAV fields (made-up values)
    toe = int(gpst_from_week_tow(2111, 360000.0))
    for tk in (-3000.0, 2500.0):
        (x, y, z), _ = _icd_position(m, tk, gm, we, m["toe_sow"])
        pos, vel, *_ = kepler_states(_as_eph(m, toe, toe, 1), np.array([toe + int(tk * 1e9)]), "G")
        assert np.max(np.abs(pos[0] - [x, y, z])) < 1e-3
        h = 0.5
        plus = np.array(_icd_position(m, tk + h, gm, we, m["toe_sow"])[0])
        minus = np.array(_icd_position(m, tk - h, gm, we, m["toe_sow"])[0])
        assert np.max(np.abs(vel[0] - (plus - minus) / (2 * h))) < 1e-4
    # the terms matter: without them the position moves by metres
    legacy = kepler_states(_as_eph(G01, toe, toe, 1), np.array([toe + 2500 * NS_PER_S]), "G")[0]
    assert np.linalg.norm(pos[0] - legacy[0]) > 1.0


def test_half_week_wrap_of_tk():
    toe = int(gpst_from_week_tow(2111, 360000.0))
    t = toe + 600 * NS_PER_S
    eph = _as_eph(G01, toe, toe, 1)
    good = kepler_states(eph, np.array([t]), "G")[0]
    # a reader that stamped toe one week off: tk is wrapped into +-302400 s
    eph_wrong_week = _as_eph(G01, toe - 604800 * NS_PER_S, toe - 604800 * NS_PER_S, 1)
    wrapped = kepler_states(eph_wrong_week, np.array([t]), "G")[0]
    assert np.max(np.abs(good - wrapped)) < 1e-6


def test_beidou_geo_against_bds_icd_by_hand():
    gm, we = 3.986004418e14, 7.2921150e-5  # BDS-SIS-ICD 3.2 (CGCS2000)
    toe = int(gpst_from_bdt_week_tow(755, 388800.0))
    toc = toe
    assert is_beidou_geo(5) and not is_beidou_geo(6) and is_beidou_geo(59)
    for tk in (-1800.0, 0.0, 2000.0):
        t = toe + int(tk * NS_PER_S)
        (x, y, z), ek = _icd_position(C05, tk, gm, we, C05["toe_sow"], geo=True)
        pos, vel, clk, *_ = kepler_states(_as_eph(C05, toe, toc, 305), np.array([t]), "C")
        assert np.max(np.abs(pos[0] - [x, y, z])) < 1e-3, tk
        h = 0.5
        plus = np.array(_icd_position(C05, tk + h, gm, we, C05["toe_sow"], geo=True)[0])
        minus = np.array(_icd_position(C05, tk - h, gm, we, C05["toe_sow"], geo=True)[0])
        assert np.max(np.abs(vel[0] - (plus - minus) / (2 * h))) < 1e-4
        f_bds = -2 * math.sqrt(gm) / 299792458.0**2
        dtr = f_bds * C05["e"] * C05["sqrt_a"] * math.sin(ek)
        assert abs(clk[0] - (C05["af0"] + C05["af1"] * tk + dtr)) < 1e-15


def test_beidou_geo_sits_at_its_published_slot():
    # C05 is the BDS-2 GEO at 58.75 deg E (CSNO constellation status): in ECEF it must stay
    # within a fraction of a degree of the slot, within the inclination of the equator, at GEO radius.
    # A wrong GEO rotation (e.g. the MEO formula) puts it thousands of km away.
    toe = int(gpst_from_bdt_week_tow(755, 388800.0))
    t = toe + np.arange(-3600, 3601, 600) * NS_PER_S
    eph = _as_eph(C05, toe, toe, 305)
    pos, vel, *_ = kepler_states(eph, t, "C")
    lon = np.degrees(np.arctan2(pos[:, 1], pos[:, 0]))
    lat = np.degrees(np.arcsin(pos[:, 2] / np.linalg.norm(pos, axis=1)))
    assert np.all(np.abs(lon - 58.75) < 0.5)
    assert np.all(np.abs(lat) < 5.0)  # inclination i0 = 0.065 rad = 3.7 deg
    assert np.all(np.abs(np.linalg.norm(pos, axis=1) - 42_164e3) < 100e3)
    # equatorial speed small; north-south up to r * omega_e * sin(i) ~ 200 m/s
    assert np.all(np.linalg.norm(vel[:, :2], axis=1) < 20.0)
    assert np.all(np.abs(vel[:, 2]) < 250.0)


@pytest.mark.parametrize("letter", ["G", "E", "C"])
def test_consecutive_messages_agree(letter):
    """Each message evaluated at the next message's toe (<= 1 h later, same satellite) agrees
    with that message at its own toe to a few metres: the broadcast orbits are continuous,
    which a wrong GM, rotation rate, toe or GEO rotation would break by kilometres."""
    from satnav.io.rinex_nav import read_rinex_nav

    nav = read_rinex_nav(data_path(*ESBC_NAV))
    m = nav.messages[letter]
    m = m[m["health"] == 0]
    m = m[np.lexsort((m["toe"], m["sat"]))]
    dt = np.diff(m["toe"])
    pair = (np.diff(m["sat"]) == 0) & (dt > 0) & (dt <= 3600 * NS_PER_S)
    i = np.flatnonzero(pair)
    assert i.size > 20
    eph_a = {f: m[f][i] for f in m.dtype.names}
    eph_b = {f: m[f][i + 1] for f in m.dtype.names}
    pa = kepler_states(eph_a, m["toe"][i + 1], letter)[0]
    pb = kepler_states(eph_b, m["toe"][i + 1], letter)[0]
    d = np.linalg.norm(pa - pb, axis=1)
    assert np.median(d) < 1.0 and np.max(d) < 5.0, (np.median(d), np.max(d))
    if letter == "C":
        geo = is_beidou_geo(m["sat"][i] % 100)
        assert geo.any() and np.max(d[geo]) < 5.0


def test_against_rtklib_eph2pos(tmp_path):
    """Every Keplerian message of the ESBC file (GPS, Galileo, BeiDou incl. the GEO C05,
    QZSS) against RTKLIB's independent ``eph2pos`` (via pyrtklib), 30 min before, at, and
    40 min after toe: positions to 1 mm, clocks (with relativity) to 1e-12 s."""
    rtk = pytest.importorskip("pyrtklib")
    from satnav.io.rinex_nav import read_rinex_nav
    from satnav.io.textfile import read_bytes
    from satnav.satellites import satellite_index

    src = data_path(*ESBC_NAV)
    plain = tmp_path / "nav.rnx"
    plain.write_bytes(read_bytes(src))
    rnav, obs, sta = rtk.nav_t(), rtk.obs_t(), rtk.sta_t()
    assert rtk.readrnx(str(plain), 1, "", obs, rnav, sta) == 1
    nav = read_rinex_nav(src)
    gps_unix = 315964800  # 1980-01-06 in RTKLIB's gtime_t (GPST seconds since 1970)
    index = {}
    for letter in "GECJ":
        m = nav.messages[letter]
        for k in range(len(m)):
            key = (int(m["sat"][k]), int(m["toe"][k]), float(m["af0"][k]), float(m["af1"][k]))
            index[key] = (letter, k)
    buf = rtk.Arr1Ddouble(6)
    dts, var = rtk.Arr1Ddouble(1), rtk.Arr1Ddouble(1)
    name = rtk.Arr1Dchar(8)
    offsets = (-1800, 0, 2400)
    rows = {letter: ([], [], [], []) for letter in "GECJ"}
    for i in range(rnav.n):
        e = rnav.eph[i]
        rtk.satno2id(e.sat, name)
        sat = satellite_index(str(name[0])[:3])
        toe_ns = int(round((e.toe.time - gps_unix + e.toe.sec) * 1e9))
        key = (sat, toe_ns, float(e.f0), float(e.f1))
        if key not in index:
            continue
        letter, k = index[key]
        for dt in offsets:
            t = rtk.gtime_t()
            t.time, t.sec = e.toe.time + dt, e.toe.sec
            rtk.eph2pos(t, e, buf, dts, var)
            rows[letter][0].append(k)
            rows[letter][1].append(toe_ns + dt * NS_PER_S)
            rows[letter][2].append([buf[0], buf[1], buf[2]])
            rows[letter][3].append(dts[0])
    for letter, (k, t, ref_pos, ref_clk) in rows.items():
        m = nav.messages[letter]
        assert len(k) >= 3 * min(len(m), 300) * 0.9, letter  # nearly every message matched
        k = np.array(k)
        eph = {f: m[f][k] for f in m.dtype.names}
        pos, _, clk, *_ = kepler_states(eph, np.array(t, dtype=np.int64), letter)
        d = np.linalg.norm(pos - np.array(ref_pos), axis=1)
        assert np.max(d) < 1e-3, (letter, np.max(d))
        assert np.max(np.abs(clk - np.array(ref_clk))) < 1e-12, letter
        if letter == "C":
            assert np.any(is_beidou_geo(m["sat"][k] % 100))
