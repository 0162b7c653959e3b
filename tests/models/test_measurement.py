"""The one measurement model: outside values (RTKLIB's Sagnac formula, pyproj's topocentric
frame, hand-computed look angles, real ESBC pseudoranges against the GRG precise orbit and
clock) and bit-equality with the formulas that SPP, RTK and the simulator wrote inline
before they shared it."""

from __future__ import annotations

import math

import numpy as np
import pytest

from satnav.constants import FREQ_B1I, FREQ_L1, FREQ_L2, OMEGA_E_GPS, SPEED_OF_LIGHT
from satnav.frames import azimuth_elevation, ecef_to_geodetic, enu_rotation
from satnav.gnss_time import calendar_to_ns
from satnav.models import measurement as mm
from satnav.models.ionosphere import (
    KLOBUCHAR_DEFAULT_ALPHA,
    KLOBUCHAR_DEFAULT_BETA,
    ionosphere_free,
    klobuchar_beidou,
    klobuchar_gps,
)
from satnav.models.troposphere import saastamoinen_delay
from tests.conftest import data_path

C = 299_792_458.0
# ESBC reference marker (shared/data/README.md) and GRG G01 at 04:15 (SP3 line 1361)
ESBC = np.array([3582104.8024, 532590.1716, 5232755.1824])
G01 = np.array([-14444.367412, 2589.007956, 21909.734433]) * 1e3
# GPS broadcast of 2020-06-25 (ESBC00DNK navigation header)
GPSA = (0.1118e-07, 0.0, -0.5960e-07, 0.5960e-07)
GPSB = (0.8806e05, 0.0, -0.1966e06, 0.6554e05)
BDSA = (0.1118e-07, 0.2980e-07, -0.4172e-06, 0.6557e-06)
BDSB = (0.1413e06, -0.5243e06, 0.1049e07, -0.1049e07)


def _constellation(seed=1, m=7, n=11):
    """Satellites 20 000-26 000 km from the Earth's centre around ESBC, (m, n, 3)."""
    rng = np.random.default_rng(seed)
    d = rng.normal(size=(m, n, 3))
    d /= np.linalg.norm(d, axis=-1, keepdims=True)
    r = rng.uniform(20e6, 26e6, (m, n, 1))
    return d * r


# ------------------------------------------------------------------ transmission time
def test_transmission_time_rounds_each_term_and_marks_missing():
    rx = np.int64(1_277_093_700_000_000_000)
    p = 22_000e3
    assert mm.transmission_time(rx, p) == rx - round(p / C * 1e9)
    assert mm.transmission_time(rx, p, 1.2345678e-3) == rx - round(p / C * 1e9) - round(1.2345678e-3 * 1e9)
    out = mm.transmission_time(np.array([rx, rx, rx]), np.array([20e6, np.nan, 21e6]),
                               np.array([0.0, 0.0, np.nan]))
    assert out.dtype == np.int64 and out[0] == rx - round(20e6 / C * 1e9) and out[1] == -1 and out[2] == -1


def test_satellite_states_at_transmission_two_passes():
    """The clock is read at t_rx - P/c, the states at t_rx - P/c - dt (IS-GPS-200 20.3.3.3.3.1)."""
    from types import SimpleNamespace

    calls = []

    def states(sat, t):
        calls.append(np.array(t))
        return SimpleNamespace(clock_s=np.where(sat == 2, np.nan, 1e-4 * sat), t=t)

    rx = np.array([10**18, 10**18, 10**18], dtype=np.int64)
    p = np.array([2.0e7, 2.1e7, 2.2e7])
    sat = np.array([1, 2, 3])
    t_tx, st = mm.satellite_states_at_transmission(states, sat, rx, p)
    first = rx - np.round(p / C * 1e9).astype(np.int64)
    assert np.array_equal(calls[0], first)
    assert np.array_equal(t_tx, first - np.array([100_000, 0, 300_000]))  # NaN clock: 0
    assert np.array_equal(st.t, t_tx)


def test_position_at_transmission_first_order():
    pos = np.array([[2.0e7, 1.0e7, 5.0e6]])
    vel = np.array([[1000.0, -2000.0, 3000.0]])
    out = mm.position_at_transmission(pos, vel, np.array([1e-3]))
    assert np.allclose(out, pos - vel * 1e-3, rtol=0, atol=1e-9)


# ------------------------------------------------------------------ range and Sagnac
def test_range_matches_rtklib_sagnac_formula():
    """RTKLIB manual eq. E.3.8b: rho = |r_s - r_r| + omega_e / c (x_s y_r - y_s x_r)."""
    geo = mm.geometry(ESBC, G01)
    rtklib = np.linalg.norm(G01 - ESBC) + OMEGA_E_GPS / C * (G01[0] * ESBC[1] - G01[1] * ESBC[0])
    assert abs(geo.range_m - rtklib) < 1e-3
    # one step of the light-time iteration equals the converged one to well below a micrometre
    converged, rotated = mm.geometric_range(ESBC, G01, iterations=5)
    assert abs(geo.range_m - converged) < 1e-6
    # (the flight time of one step is off by ~0.1 us: the satellite turns 0.1 mm further,
    # across the line of sight)
    assert np.allclose(geo.satellite_ecef_m, rotated, rtol=0, atol=1e-4)
    assert geo.unit_vector == pytest.approx((rotated - ESBC) / converged, abs=1e-12)
    assert mm.sagnac_correction_m(ESBC, G01) == pytest.approx(rtklib - np.linalg.norm(G01 - ESBC), abs=1e-7)


def test_geometry_broadcasts_epochs_by_satellites():
    sats = _constellation()
    rx = ESBC + np.arange(7)[:, None] * [10.0, -5.0, 3.0]
    geo = mm.geometry(rx[:, None, :], sats)
    assert geo.range_m.shape == geo.elevation_rad.shape == (7, 11)
    assert geo.unit_vector.shape == geo.satellite_ecef_m.shape == (7, 11, 3)
    assert geo.latitude_rad.shape == geo.height_m.shape == (7, 1)
    one = mm.geometry(rx[3], sats[3])
    assert np.array_equal(one.range_m, geo.range_m[3]) and np.array_equal(one.elevation_rad, geo.elevation_rad[3])
    assert np.allclose(np.linalg.norm(geo.unit_vector, axis=-1), 1.0, atol=1e-15)


# ------------------------------------------------------------------ look angles
def test_look_angles_hand_cases():
    """Receiver on the equator at longitude 0: east is +y, north +z, up +x."""
    s = math.sqrt(0.5)
    unit = np.array([[1.0, 0, 0], [0, 0, 1.0], [0, 1.0, 0], [0, -1.0, 0], [s, 0, s], [s, -s, 0]])
    az, el = mm.look_angles(unit, 0.0, 0.0)
    assert np.degrees(el) == pytest.approx([90, 0, 0, 0, 45, 45], abs=1e-6)
    assert np.degrees(az[1:]) == pytest.approx([0, 90, 270, 0, 270], abs=1e-9)


def test_look_angles_against_pyproj_topocentric():
    pyproj = pytest.importorskip("pyproj")
    x0, y0, z0 = ESBC
    topo = pyproj.Transformer.from_pipeline(
        f"+proj=pipeline +step +proj=topocentric +X_0={x0} +Y_0={y0} +Z_0={z0} +ellps=WGS84")
    sats = np.concatenate([G01[None], _constellation(m=1, n=40)[0]])
    e, n, u = topo.transform(sats[:, 0], sats[:, 1], sats[:, 2])
    az_ref = np.mod(np.arctan2(e, n), 2 * np.pi)
    el_ref = np.arctan2(u, np.hypot(e, n))
    d = sats - ESBC
    lat, lon, _ = ecef_to_geodetic(ESBC)
    az, el = mm.look_angles(d / np.linalg.norm(d, axis=-1, keepdims=True), lat, lon)
    assert np.abs(el - el_ref).max() < 1e-9
    assert np.abs(np.angle(np.exp(1j * (az - az_ref)))).max() < 1e-9
    # the point-to-point function of satnav.frames (RTK's former formula) agrees
    az2, el2 = azimuth_elevation(ESBC, sats)
    assert np.abs(el - el2).max() < 1e-9 and np.abs(np.angle(np.exp(1j * (az - az2)))).max() < 1e-9


# ------------------------------------------------------------------ historic formulas (bit-equal)
def _spp_historic(rs, rr):
    """SPP's _evaluate before models.measurement (satnav 2026-12)."""
    d0 = rs - rr[:, None, :]
    tau = np.linalg.norm(d0, axis=-1) / SPEED_OF_LIGHT
    rs = mm.sagnac_rotate(rs, tau)
    los = rs - rr[:, None, :]
    rng = np.linalg.norm(los, axis=-1)
    e = los / rng[..., None]
    lat, lon, h = ecef_to_geodetic(rr)
    rot = enu_rotation(lat, lon)
    enu = np.einsum("mij,mkj->mki", rot, e)
    el = np.arcsin(np.clip(enu[..., 2], -1.0, 1.0))
    az = np.mod(np.arctan2(enu[..., 0], enu[..., 1]), 2 * np.pi)
    return rng, e, rs, az, el, lat, h


def test_geometry_is_bit_identical_to_the_former_spp_code():
    sats = _constellation(seed=4, m=9, n=13)
    rr = ESBC + np.random.default_rng(5).normal(0, 50, (9, 3))
    rng, e, rs, az, el, lat, h = _spp_historic(sats, rr)
    geo = mm.geometry(rr[:, None, :], sats)
    for a, b in ((rng, geo.range_m), (e, geo.unit_vector), (rs, geo.satellite_ecef_m),
                 (az, geo.azimuth_rad), (el, geo.elevation_rad), (lat, geo.latitude_rad[:, 0]),
                 (h, geo.height_m[:, 0])):
        assert np.array_equal(a, b)
    tropo = saastamoinen_delay(lat[:, None], h[:, None], el)
    assert np.array_equal(tropo, mm.tropospheric_delay_m(geo.latitude_rad, geo.height_m, geo.elevation_rad))


def _simulator_historic(at, rx, rx_vel, rx_clock_s, m, n, iterations=4):
    """The simulator's _light_time before models.measurement."""
    tau = np.full((m, n), 0.075)
    rx = rx[:, None, :]
    for _ in range(iterations):
        offset = -rx_clock_s[:, None] - tau
        pos, vel = at(offset)
        pos_r = mm.sagnac_rotate(pos, tau)
        tau = np.linalg.norm(pos_r - rx, axis=-1) / SPEED_OF_LIGHT
    offset = -rx_clock_s[:, None] - tau
    pos, vel = at(offset)
    pos_r = mm.sagnac_rotate(pos, tau)
    vel_r = mm.sagnac_rotate(vel, tau)
    los = pos_r - rx
    rho = np.linalg.norm(los, axis=-1)
    e = los / rho[..., None]
    ev = np.sum(e * vel_r, axis=-1)
    rate = (ev - np.sum(e * rx_vel[:, None, :], axis=-1)) / (1.0 + ev / SPEED_OF_LIGHT)
    return rho, rate, e, pos, vel, offset


def _linear_orbit(m, n, seed=2):
    r0 = _constellation(seed=seed, m=m, n=n)
    v = np.cross(r0, [0.3, -0.5, 0.8])  # circular-like motion about a tilted axis
    v *= 3900.0 / np.linalg.norm(v, axis=-1, keepdims=True)

    def at(offset_s):
        return r0 + v * offset_s[..., None], np.broadcast_to(v, r0.shape)

    return at


def test_light_time_solves_the_equation_and_equals_the_former_simulator_code():
    m, n = 5, 8
    at = _linear_orbit(m, n)
    rx = ESBC + np.arange(m)[:, None] * [1.0, 2.0, -1.0]
    rx_vel = np.tile([1.0, 2.0, -1.0], (m, 1))
    clock = np.linspace(1e-4, 1.001e-4, m)
    lt = mm.light_time_solve(at, rx[:, None, :], -clock[:, None], np.full((m, n), 0.075))
    rate = mm.range_rate_m_s(lt.unit_vector, lt.satellite_velocity_m_s, rx_vel[:, None, :])
    rho, rate0, e, pos, vel, offset = _simulator_historic(at, rx, rx_vel, clock, m, n)
    for a, b in ((rho, lt.range_m), (rate0, rate), (e, lt.unit_vector), (pos, lt.position_m),
                 (vel, lt.velocity_m_s), (offset, lt.emission_offset_s)):
        assert np.array_equal(a, b)
    # the light-time equation c tau = |R3(omega tau) r_s(t_r - tau) - r_r| holds
    tau = -clock[:, None] - lt.emission_offset_s
    p, _ = at(lt.emission_offset_s)
    resid = np.linalg.norm(mm.sagnac_rotate(p, tau) - rx[:, None, :], axis=-1) - C * tau
    assert np.abs(resid).max() < 1e-6
    assert np.abs(lt.range_m - C * tau).max() < 1e-6


def test_range_rate_is_the_derivative_of_the_light_time_range():
    m, n = 1, 6
    at = _linear_orbit(m, n, seed=7)
    rx = ESBC[None]
    h = 1e-3

    def rho(dt):
        def shifted(offset):
            return at(offset + dt)
        return mm.light_time_solve(shifted, rx[:, None, :], np.zeros((1, 1)), np.full((m, n), 0.075),
                                   iterations=6).range_m

    lt = mm.light_time_solve(at, rx[:, None, :], np.zeros((1, 1)), np.full((m, n), 0.075), iterations=6)
    rate = mm.range_rate_m_s(lt.unit_vector, lt.satellite_velocity_m_s, np.zeros((1, 1, 3)))
    # a receiver fixed in ECEF; the formula leaves out the change of the Sagnac rotation with
    # the flight time (omega r rho_dot / c, a few mm/s at most)
    numeric = (rho(h) - rho(-h)) / (2 * h)
    assert np.abs(numeric).max() > 100.0
    assert np.abs(rate - numeric).max() < 5e-3


# ------------------------------------------------------------------ atmosphere and clocks
def test_ionospheric_delay_wraps_klobuchar_models():
    lat, lon = np.radians(55.4), np.radians(8.4)
    az = np.radians([[30.0, 120.0, 250.0]])
    el = np.radians([[15.0, 45.0, 80.0]])
    t = np.array([[calendar_to_ns(2020, 6, 25, 13)]])
    gps = klobuchar_gps(*(GPSA, GPSB), lat, lon, az, el, t)
    got = mm.ionospheric_delay_m(lat, lon, az, el, t, (GPSA, GPSB))
    assert np.array_equal(got, gps) and np.all((got > 1.0) & (got < 30.0))
    default = mm.ionospheric_delay_m(lat, lon, az, el, t)
    assert np.array_equal(default, klobuchar_gps(KLOBUCHAR_DEFAULT_ALPHA, KLOBUCHAR_DEFAULT_BETA, lat, lon, az, el, t))
    # on L2: (f_L1 / f_L2)^2 = 1.6469 times the L1 delay
    l2 = mm.ionospheric_delay_m(lat, lon, az, el, t, (GPSA, GPSB), frequency_scale=(FREQ_L1 / FREQ_L2) ** 2)
    assert l2 == pytest.approx(1.64694 * gps, rel=1e-5)
    # BeiDou's own model where asked, scaled from B1I
    use = np.array([[False, True, True]])
    bds = mm.ionospheric_delay_m(lat, lon, az, el, t, (GPSA, GPSB), beidou=(BDSA, BDSB), use_beidou=use,
                                 frequency_scale=np.where(use, 1.0, (FREQ_L1 / FREQ_B1I) ** 2))
    assert bds[0, 0] == pytest.approx(gps[0, 0] * (FREQ_L1 / FREQ_B1I) ** 2, rel=1e-15)
    assert np.array_equal(bds[0, 1:], klobuchar_beidou(BDSA, BDSB, lat, lon, az, el, t)[0, 1:])


def test_satellite_clock_with_group_delay_and_relativity():
    assert mm.satellite_clock_m(1e-4) == pytest.approx(C * 1e-4)
    assert mm.satellite_clock_m(1e-4, 5e-9) == C * (1e-4 - 5e-9)
    assert mm.satellite_clock_m(1e-4, 5e-9, relativity_s=-2e-8) == C * ((1e-4 - 2e-8) - 5e-9)


def test_predicted_code_and_phase_terms_and_ppp_hooks():
    rho, dtr, dts, iono, trop = 2.2e7, 3.0e4, 1.5e3, 4.0, 2.5
    code = mm.predicted_code_m(rho, dtr, dts, iono, trop)
    assert code == rho + dtr - dts + iono + trop
    assert mm.predicted_code_m(rho) == rho
    lam = C / FREQ_L1
    phase = mm.predicted_phase_m(rho, dtr, dts, iono, trop, wavelength_m=lam, ambiguity_cyc=7.0, wind_up_cyc=0.25)
    assert phase == pytest.approx(rho + dtr - dts - iono + trop + lam * 7.25, abs=1e-6)
    # code minus phase: twice the ionosphere minus the ambiguity
    assert code - phase == pytest.approx(2 * iono - lam * 7.25, abs=1e-6)
    # antenna and tide hooks: a receiver raised 1 m along the line of sight is 1 m nearer
    e = np.array([0.0, 0.6, 0.8])
    up = mm.line_of_sight_projection_m(np.array([0.0, 0.6, 0.8]), e)
    assert mm.predicted_code_m(rho, receiver_antenna_m=-up, satellite_antenna_m=0.5, tides_m=-0.1) == \
        pytest.approx(rho - 1.0 + 0.5 - 0.1, abs=1e-9)
    with pytest.raises(ValueError):
        mm.predicted_phase_m(rho, wind_up_cyc=0.1)


# ------------------------------------------------------------------ real data
def test_esbc_iono_free_pseudoranges_against_grg_precise_orbit_and_clock():
    """Real ESBC GPS P1/P2 (C1W/C2W) iono-free pseudoranges at 04:15 minus the model from
    the GRG precise orbit and clock (P1/P2 iono-free clocks: transmission time, Sagnac,
    relativity, Saastamoinen, antenna height) at the PPP coordinate: what is left is the
    receiver clock (common to all satellites), code noise and multipath (times 3 in the
    combination) and the troposphere's model error: 0.4 m RMS about the common clock."""
    from satnav.io.clk import read_clk
    from satnav.io.rinex_obs import read_rinex_obs
    from satnav.io.sp3 import read_sp3
    from satnav.orbits.precise import precise_states

    d = "esbc-2020-177"
    obs = read_rinex_obs(data_path(d, "ESBC00DNK_R_20201770000_01D_30S_MO.crx.gz"))
    sp3 = read_sp3(data_path(d, "GRG0MGXFIN_20201760000_01D_15M_ORB.SP3.gz"),
                   data_path(d, "GRG0MGXFIN_20201770000_01D_15M_ORB.SP3.gz"))
    clk = read_clk(data_path(d, "GRG0MGXFIN_20201770000_01D_30S_CLK.CLK.gz"))
    t = calendar_to_ns(2020, 6, 25, 4, 15, 0)
    epoch = int(np.flatnonzero(np.asarray(obs.epochs) == t)[0])
    sats = obs.satellite_indices[np.asarray(obs.satellite_indices) < 100]
    p1 = obs.dense("C1W", sats)[epoch]
    p2 = obs.dense("C2W", sats)[epoch]
    ok = np.isfinite(p1) & np.isfinite(p2)
    sats, pif = sats[ok], ionosphere_free(p1[ok], p2[ok], FREQ_L1, FREQ_L2)
    rx_t = np.full(len(sats), t, dtype=np.int64)

    def states(sat, time_ns):
        return precise_states(sp3, sat, time_ns, clk=clk)

    _t_tx, st = mm.satellite_states_at_transmission(states, sats, rx_t, pif)
    geo = mm.geometry(ESBC, st.position_m)
    # above 20 deg (lower, the semi-codeless P2 and multipath reach metres)
    use = np.isfinite(st.clock_s) & (geo.elevation_rad > np.radians(20.0))
    assert use.sum() >= 5
    lat, lon, h = ecef_to_geodetic(ESBC)
    antenna = enu_rotation(lat, lon)[2] * 0.216  # ANTENNA: DELTA H/E/N, up 0.216 m
    model = mm.predicted_code_m(
        geo.range_m, None, mm.satellite_clock_m(st.clock_s), None,
        mm.tropospheric_delay_m(geo.latitude_rad, geo.height_m, geo.elevation_rad),
        receiver_antenna_m=-mm.line_of_sight_projection_m(antenna, geo.unit_vector))
    residual = (pif - model)[use]
    clock_m = np.median(residual)
    assert 0 < abs(clock_m) < 3e5  # a receiver clock below 1 ms
    spread = residual - clock_m
    assert np.sqrt(np.mean(spread**2)) < 0.6
    assert np.abs(spread).max() < 1.0
    # a metre-level error in the model (here: no Sagnac rotation, up to ~30 m) would show
    plain = np.linalg.norm(st.position_m - ESBC, axis=-1)
    assert np.abs(geo.range_m - plain)[use].max() > 5.0
