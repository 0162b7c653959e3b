"""Broadcast message selection and states: against precise orbits (GRG0MGXFIN), against the
navigation file's own values (quoted), and the reasons given for invalid pairs."""

from __future__ import annotations

import copy
import gzip

import numpy as np
import pytest

from satnav.constants import FREQ_E5B, FREQ_L1, FREQ_L2, FREQ_L5
from satnav.gnss_time import NS_PER_S, calendar_to_ns, gpst_from_bdt_week_tow
from satnav.orbits import states as S
from satnav.orbits.ephemeris import broadcast_states, signal_band
from satnav.satellites import satellite_index
from tests.conftest import data_path

D = "esbc-2020-177"


@pytest.fixture(scope="module")
def nav():
    from satnav.io.rinex_nav import read_rinex_nav

    return read_rinex_nav(data_path(D, "ESBC00DNK_R_20201770000_01D_MN.rnx.gz"))


def _read_sp3_positions(path):
    """Minimal independent SP3-c reader: epochs (GPST ns), satellite indices, positions (m)."""
    times, rows = [], {}
    with gzip.open(path, "rt") as f:
        for line in f:
            if line.startswith("*"):
                y, mo, d, h, mi = (int(v) for v in line[1:].split()[:5])
                times.append(int(calendar_to_ns(y, mo, d, h, mi, float(line.split()[6]))))
            elif line.startswith("P") and times:
                xyz = [float(line[4 + 14 * k : 18 + 14 * k]) for k in range(3)]
                rows.setdefault(satellite_index(line[1:4]), {})[len(times) - 1] = xyz
    sats = np.array(sorted(rows))
    pos = np.full((len(times), sats.size, 3), np.nan)
    for j, s in enumerate(sats):
        for k, xyz in rows[s].items():
            pos[k, j] = xyz
    pos[np.all(pos == 0, axis=-1)] = np.nan
    return np.array(times, dtype=np.int64), sats, pos * 1e3


@pytest.fixture(scope="module")
def precise():
    return _read_sp3_positions(data_path(D, "GRG0MGXFIN_20201770000_01D_15M_ORB.SP3.gz"))


def test_broadcast_against_precise_orbits_whole_day(nav, precise):
    """Issue 3 bounds (3D RMS, broadcast antenna phase centre vs precise centre of mass, so
    they include the antenna offset): GPS <= 2.5 m, Galileo <= 1.5 m, GLONASS <= 6 m. The GRG
    product holds G, R, E only: BeiDou/QZSS are checked in test_kepler.py instead."""
    times, sats, truth = precise
    st = broadcast_states(nav, sats[None, :], times[:, None])
    err = np.linalg.norm(st.position_m - truth, axis=-1)
    for letter, number, bound, min_pairs in (
        ("G", 0, 2.5, 1500),
        ("R", 1, 6.0, 700),
        ("E", 2, 1.5, 1200),
    ):
        cols = sats // 100 == number
        e = err[:, cols][st.valid[:, cols]]
        assert e.size >= min_pairs, (letter, e.size)
        assert np.all(np.isfinite(e))
        rms = np.sqrt(np.mean(e**2))
        assert rms <= bound, (letter, rms)
        assert np.max(e) < 4 * bound, (letter, np.max(e))
    # invalid pairs are NaN and say why
    assert np.all(np.isnan(st.position_m[~st.valid]))
    assert np.all(st.reason[~st.valid] > 0) and np.all(st.reason[st.valid] == 0)


def test_selects_nearest_toe_and_matches_file(nav):
    # ESBC ..._MN.rnx lines 15880 and 15888: G01 toc/toe 2020-06-25 04:00:00 and 06:00:00
    g01 = satellite_index("G01")
    t = np.array(
        [
            calendar_to_ns(2020, 6, 25, h, m, 0)
            for h, m in ((3, 0), (4, 59), (5, 0), (5, 1), (6, 30))
        ]
    )
    st = broadcast_states(nav, g01, t, signal="C1C")
    toe4, toe6 = calendar_to_ns(2020, 6, 25, 4, 0, 0), calendar_to_ns(2020, 6, 25, 6, 0, 0)
    np.testing.assert_array_equal(st.message_toe_ns, [toe4, toe4, toe4, toe6, toe6])
    np.testing.assert_array_equal(st.iode, [58, 58, 58, 61, 61])  # IODE as written
    assert st.valid.all()
    # TGD 5.122274160385e-09 (line 15886); L2: gamma = (f1/f2)^2 (IS-GPS-200 20.3.3.3.3.2)
    np.testing.assert_allclose(st.group_delay_s, 5.122274160385e-09)
    st2 = broadcast_states(nav, g01, t[0], signal="C2W")
    np.testing.assert_allclose(st2.group_delay_s, (FREQ_L1 / FREQ_L2) ** 2 * 5.122274160385e-09)
    assert np.isnan(broadcast_states(nav, g01, t[0]).group_delay_s)  # no signal: NaN
    assert np.isnan(broadcast_states(nav, g01, t[0], signal="C5Q").group_delay_s)  # needs ISC


def test_reasons_no_message_expired_unhealthy(nav):
    t = calendar_to_ns(2020, 6, 25, 10, 30, 0)
    sats = np.array([satellite_index(s) for s in ("G23", "I01", "G01", "E14", "S23")])
    st = broadcast_states(nav, sats, t)
    # G23 and I01: no message in the file; G01: messages at 06:00 and 14:00 (lines 15888,
    # 15896) only, both beyond 2 h; E14: SVH 390 (E1-B/E5b "in test"); S23: health 63
    assert st.reason.tolist()[:5] == [
        S.NO_EPHEMERIS,
        S.NO_EPHEMERIS,
        S.EXPIRED,
        S.UNHEALTHY,
        S.UNHEALTHY,
    ]
    assert not st.valid[:5].any()
    assert np.all(np.isnan(st.position_m[:5])) and np.all(np.isnan(st.clock_s[:5]))
    assert np.all(st.message_toe_ns[:5] == -1)
    assert st.reason_text()[2] == "ephemeris expired"
    # far from every message: expired
    late = broadcast_states(nav, satellite_index("G01"), calendar_to_ns(2020, 7, 1))
    assert late.reason == S.EXPIRED and not late.valid


def test_inconsistent_iode_and_unsupported_type(nav):
    bad = copy.copy(nav)
    bad.messages = dict(nav.messages)
    g = nav.messages["G"].copy()
    g01 = satellite_index("G01")
    rows = np.flatnonzero(g["sat"] == g01)
    g["iodc"][rows] = g["iode"][rows] + 1  # IODE != IODC mod 256 on every G01 message
    g02 = satellite_index("G02")
    g["message_type"][g["sat"] == g02] = "XXXX"
    bad.messages["G"] = g
    t = g["toe"][rows[0]]
    st = broadcast_states(bad, np.array([g01, g02]), np.array([t, t]))
    assert st.reason.tolist() == [S.INCONSISTENT_ISSUE, S.UNSUPPORTED]
    assert S.REASONS[S.INCONSISTENT_ISSUE].startswith("inconsistent")


def test_galileo_inav_fnav_by_signal(nav):
    # ESBC ..._MN.rnx, E01 2020 06 24 23 30 00: F/NAV (data source 258) and I/NAV (517):
    #     3.120000000000e+00 0.000000000000e+00-1.862645149231e-09 0.000000000000e+00  (F/NAV)
    #     3.120000000000e+00 0.000000000000e+00-1.862645149231e-09-2.095475792885e-09  (I/NAV)
    e01 = satellite_index("E01")
    t = calendar_to_ns(2020, 6, 24, 23, 31, 0)
    bgd_a, bgd_b = -1.862645149231e-09, -2.095475792885e-09
    fnav = broadcast_states(nav, e01, t, signal="C5Q")
    inav_e1 = broadcast_states(nav, e01, t, signal="C1C")
    inav_e5b = broadcast_states(nav, e01, t, signal="C7Q")
    assert fnav.valid and inav_e1.valid and inav_e5b.valid
    np.testing.assert_allclose(
        fnav.group_delay_s, (FREQ_L1 / FREQ_L5) ** 2 * bgd_a
    )  # OS SIS ICD 5.1.5
    np.testing.assert_allclose(inav_e1.group_delay_s, bgd_b)
    np.testing.assert_allclose(inav_e5b.group_delay_s, (FREQ_L1 / FREQ_E5B) ** 2 * bgd_b)
    # F/NAV and I/NAV clocks differ (E5a/E1 vs E5b/E1 reference): af0 lines differ by 5.8e-13 s
    assert fnav.clock_s != inav_e1.clock_s
    assert np.linalg.norm(fnav.position_m - inav_e1.position_m) < 0.05


def test_beidou_group_delays(nav):
    # lines 320-327: C05 12:00 BDT, TGD1 1.0e-10, TGD2 -9.3e-09
    c05 = satellite_index("C05")
    t = gpst_from_bdt_week_tow(755, 388800.0)
    got = [broadcast_states(nav, c05, t, signal=s).group_delay_s for s in ("C2I", "C7I", "C6I")]
    np.testing.assert_allclose(got, [1.0e-10, -9.3e-09, 0.0])


def test_shapes_broadcast_and_reshape(nav):
    sats = np.array([satellite_index(s) for s in ("G01", "R01", "E01", "C05", "J01")])
    t = calendar_to_ns(2020, 6, 25, 0, 0, 0) + np.arange(0, 86400, 3600) * NS_PER_S
    st = broadcast_states(nav, sats[None, :], t[:, None])
    assert st.position_m.shape == (24, 5, 3) and st.valid.shape == (24, 5)
    one = broadcast_states(nav, sats[3], t[5])
    assert one.position_m.shape == (3,)
    np.testing.assert_array_equal(one.position_m, st.position_m[5, 3])
    assert st[5, 3].reason == one.reason
    # every system of the file gives valid states at some hour
    assert st.valid.any(axis=0).all()


def test_validity_override(nav):
    g01 = satellite_index("G01")
    t = calendar_to_ns(2020, 6, 25, 7, 30, 0)  # 1.5 h after the 06:00 message
    assert broadcast_states(nav, g01, t).valid
    assert not broadcast_states(nav, g01, t, validity={"G": (3600, 3600)}).valid


def test_signal_band():
    assert signal_band("C1C") == "1" and signal_band("L5Q") == "5" and signal_band("7") == "7"
    assert signal_band(None) is None
    with pytest.raises(ValueError):
        signal_band("XYZ")


def test_bad_input_types(nav):
    with pytest.raises(TypeError):
        broadcast_states(nav, np.array([1.0]), np.array([0]))
    with pytest.raises(TypeError):
        broadcast_states(nav, np.array([1]), np.array([0.5]))


def test_sbas_geo_state_when_healthy(nav):
    # ESBC ..._MN.rnx: S23 2020 06 25 00 00 16, x 3.594460000000e+04 km, y 2.204414e+04 km,
    # velocity and acceleration 0, health 63 (so unusable as broadcast). Marked healthy here
    # to check the second-order expansion r0 + v0 dt + a dt^2 / 2 (RTCA DO-229, A.4.4.11).
    s = nav.messages["S"].copy()
    s23 = satellite_index("S23")
    sel = s["sat"] == s23
    s["health"][sel] = 0
    s["accuracy"][sel] = 2.0
    k = np.flatnonzero(sel)[0]
    s["vx"][k], s["ax"][k], s["af0"][k], s["af1"][k] = 1.5, 2e-4, 1e-6, 1e-11
    fake = copy.copy(nav)
    fake.messages = dict(nav.messages, S=s)
    t0 = calendar_to_ns(2020, 6, 25, 0, 0, 16)
    st = broadcast_states(fake, s23, t0 + 60 * NS_PER_S, signal="C1C")
    assert st.valid and st.message_toe_ns == t0
    np.testing.assert_allclose(st.position_m, [35944.6e3 + 1.5 * 60 + 1e-4 * 3600, 22044.14e3, 0.0])
    np.testing.assert_allclose(st.clock_s, 1e-6 + 1e-11 * 60)
    assert st.group_delay_s == 0.0


def test_selection_cache_of_small_queries_equals_the_computed_choice():
    """The per-satellite cache of small queries (a per-epoch engine's) gives exactly the
    choice and reason computed without it: ESBC's multi-system day, every system and band,
    queried epoch by epoch through the day and at each point where a choice may change
    (+-1 ns, +-2 us), with unknown satellites, expired and unhealthy messages among them."""
    import satnav
    from satnav.orbits.ephemeris import BroadcastEphemeris, signal_band
    from tests.conftest import data_path

    nav = satnav.read_nav(data_path("esbc-2020-177", "ESBC00DNK_R_20201770000_01D_MN.rnx.gz"))
    eph = BroadcastEphemeris(nav)
    day0 = int(np.min(nav.messages["G"]["toc"]))
    checked = 0
    for letter, bands in (("G", "12"), ("E", "157"), ("C", "27"), ("R", "12"), ("J", "1")):
        table = eph.table(letter)
        if table is None:
            continue
        sats = np.unique(table.msg_sat)
        sats = np.concatenate([sats, [sats.max() + 1]])  # one without messages
        for band in bands:
            sel = table.selector(signal_band("C" + band + "C"), None)
            probe = [sel._breakpoints(int(s)) for s in sats[:3]]
            special = np.concatenate([b + d for b in probe for d in (-2000, -1, 0, 1, 2000)])
            times = np.concatenate([day0 + np.arange(-3600, 90000, 97) * 1_000_000_000, np.sort(special)])
            for t in times.tolist():
                q_t = np.full(sats.size, t, np.int64) + np.arange(sats.size) * 1_000_000  # ms apart
                got = sel.select(sats, q_t)
                want = sel._select(sats, q_t)
                np.testing.assert_array_equal(got[0], want[0])
                np.testing.assert_array_equal(got[1], want[1])
                checked += 1
    assert checked > 5000


def test_states_by_system_equal_one_call_per_system(nav):
    """Several systems' Keplerian orbits in one evaluation (the per-epoch solver's call):
    every field equal to one :meth:`BroadcastEphemeris.states` call per system and signal
    (GLONASS, SBAS and QZSS included; BeiDou GEO C05 and IGSO; an hour without messages)."""
    from satnav.orbits.ephemeris import BroadcastEphemeris

    eph = BroadcastEphemeris(nav)
    names = ["G01", "G12", "E01", "E24", "C05", "C08", "C20", "R01", "J01", "S27", "G31", "E11"]
    sats = np.array([satellite_index(s) for s in names])
    signals = {"G": "C1C", "E": "C7Q", "C": "C2I", "R": "C1C", "J": "C2L", "S": "C1C"}
    for hour in (0.5, 7.25, 12.0, 23.9, 30.0):
        t = np.full(len(sats), calendar_to_ns(2020, 6, 25, 0, 0, 0) + int(hour * 3600 * NS_PER_S), np.int64)
        t += np.arange(len(sats), dtype=np.int64) * 77_000_000
        got = eph.states_by_system(sats, t, signals)
        for k, s in enumerate(sats):
            want = eph.states(s[None], t[k : k + 1], signal=signals[names[k][0]])
            for field in ("position_m", "velocity_m_s", "clock_s", "clock_drift_s_s", "relativity_s",
                          "group_delay_s", "iode", "message_toe_ns", "valid", "reason"):
                np.testing.assert_array_equal(getattr(got, field)[k], getattr(want, field)[0], err_msg=f"{names[k]} {field}")
        if hour == 12.0:  # G, E (I/NAV for E5b), C GEO/IGSO/MEO, R, J in one call
            assert got.valid.sum() >= 7, got.reason


def test_repeated_small_queries_equal_fresh_ones(nav):
    """A per-epoch solver's query (the same satellites every 5 min over a day, through
    message changes, expiries and gaps) served from the kept query plan equals a fresh
    :func:`broadcast_states` per system, every field."""
    from satnav.orbits.ephemeris import BroadcastEphemeris

    eph = BroadcastEphemeris(nav)
    names = ["G01", "G12", "G25", "E01", "E24", "E11", "C05", "C08", "C20", "C30", "R01", "J01"]
    sats = np.array([satellite_index(s) for s in names])
    signals = {"G": "C1C", "E": "C1C", "C": "C2I", "R": "C1C", "J": "C1C"}
    t0 = calendar_to_ns(2020, 6, 25, 0, 0, 0)
    fields = ("position_m", "velocity_m_s", "clock_s", "clock_drift_s_s", "relativity_s", "group_delay_s", "iode",
              "message_toe_ns", "valid", "reason")
    for k in range(0, 288):
        t = np.full(len(sats), t0 + k * 300 * NS_PER_S, np.int64) - np.arange(len(sats)) * 70_000_000
        got = eph.states_by_system(sats, t, signals)
        for letter in "GECRJ":
            sel = np.array([n[0] == letter for n in names])
            want = broadcast_states(nav, sats[sel], t[sel], signal=signals[letter])
            for f in fields:
                np.testing.assert_array_equal(getattr(got, f)[sel], getattr(want, f), err_msg=f"{k} {letter} {f}")
    assert len(eph._plans) == 1


def test_plan_constants_gathered_equal_computed(nav):
    """The Keplerian constants a query plan gathers from each system's table
    (:func:`~satnav.orbits.kepler.gather_constants`) equal, bit for bit, those computed
    from the gathered messages (:func:`~satnav.orbits.kepler.kepler_constants`), for one
    system and for several (GPS, Galileo, BeiDou with GEOs) in one plan."""
    from satnav.orbits.ephemeris import BroadcastEphemeris
    from satnav.orbits.kepler import KeplerConstants, kepler_constants

    eph = BroadcastEphemeris(nav)
    t0 = calendar_to_ns(2020, 6, 25, 12, 0, 0)
    for names in (["G01", "G12", "G25"], ["G01", "E01", "E24", "C01", "C03", "C05", "C08", "C30", "G25"]):
        sats = np.array([satellite_index(s) for s in names])
        eph.states_by_system(sats, np.full(sats.size, t0, np.int64), {"G": "C1C", "E": "C1C", "C": "C2I"})
        plan = next(iter(eph._plans.values()))
        eph._plans.clear()
        want = kepler_constants(plan.eph, plan.letters)
        # the packed rows (the one-epoch kernels' input): their columns are the constants
        floats = plan.kepler.floats
        assert floats.shape == (want.sqrt_a.size, 26) and want.floats is None
        for j, name in enumerate(("sqrt_a", "e", "adot", "a0", "n_base", "half_delta_n_dot", "m0", "sqrt_1me2",
                                  "omega")):
            np.testing.assert_array_equal(floats[:, j], getattr(want, name), err_msg=name)
        np.testing.assert_array_equal(floats[:, 9:15], np.concatenate([want.c_sin, want.c_cos], axis=1))
        for j, name in enumerate(("i0", "idot", "node_rate", "omega0", "node_at_toe", "rel_factor", "af0", "af1",
                                  "two_af2", "af2", "omega_e")):
            np.testing.assert_array_equal(floats[:, 15 + j], getattr(want, name), err_msg=name)
        np.testing.assert_array_equal(plan.kepler.times, np.column_stack([want.toe, want.toc]))
        for name in KeplerConstants.__slots__:
            if name in ("floats", "times"):
                continue
            got, exp = getattr(plan.kepler, name), getattr(want, name)
            if name == "geo":
                exp = np.broadcast_to(exp, plan.kepler.sqrt_a.shape)
            np.testing.assert_array_equal(got, exp, err_msg=f"{names} {name}")
            assert np.asarray(got).dtype == np.asarray(exp).dtype, name
        assert plan.kepler.any_geo == want.any_geo == (len(names) > 3)


def test_selector_cached_choices_equal_computed(nav):
    """A selector's small queries, answered from its per-satellite intervals between
    breakpoints (computed once per satellite) and its last choices, equal the selection
    computed for each query (``_select``), through a day of message changes, including
    times at and next to the breakpoints."""
    from satnav.orbits.ephemeris import BroadcastEphemeris

    eph = BroadcastEphemeris(nav)
    t0 = calendar_to_ns(2020, 6, 25, 0, 0, 0)
    for letter, band in (("E", "1"), ("E", "5"), ("G", "1"), ("C", "2")):
        table = eph.table(letter)
        sel = table.selector(band, None)
        sats = np.unique(table.msg_sat)[:12].astype(np.int64)
        near = np.concatenate([sel._breakpoints(int(s))[::7] for s in sats[:3]])
        times = np.concatenate([t0 + np.arange(0, 86400, 97) * NS_PER_S, near, near - 1000, near + 1001, near + 5])
        for t in times.tolist():
            q_t = np.full(sats.size, t, np.int64) - np.arange(sats.size) * 70_000_000
            got = sel.select(sats, q_t)
            want = sel._select(sats, q_t)
            np.testing.assert_array_equal(got[0], want[0], err_msg=f"{letter}{band} {t}")
            np.testing.assert_array_equal(got[1], want[1], err_msg=f"{letter}{band} {t}")
