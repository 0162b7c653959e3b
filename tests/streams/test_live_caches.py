"""The per-epoch engines' caches kept between epochs against an independent evaluation of
the same epoch, where a cache must be dropped or must not apply.

The live path is one engine fed epoch after epoch (:class:`~satnav.estimators.spp_engine.SppEngine`,
:class:`~satnav.streams.live.LiveEngine`), navigation given mid-stream with ``add_navigation``;
the independent path is a fresh engine per epoch holding the navigation known at that moment,
with the module-level caches (receiver frames, one-epoch code layouts, DOP clock groups)
emptied first, started from the same point as the live engine (its header position or its
warm start). Data: the ESBC day (IGS, 2020-06-25, 30 s) around the 02:00 GPS ephemeris
change, navigation split in parts given at different times, and modified copies of its
epochs and messages (satellites and signals removed, a message's health or values changed,
a GLONASS stream without the header's channels, the GPS week's end); for RTK the GEONET
0759/3040 pair against the batch solver and against fresh satellite states.
"""

from __future__ import annotations

import time

import numpy as np
import pytest

from satnav.estimators import rtk_engine, spp_epoch
from satnav.estimators.spp_engine import SppEngine
from satnav.gnss_time import NS_PER_S
from satnav.io.rinex_nav import read_rinex_nav
from satnav.models import measurement
from satnav.navigation import Navigation
from satnav.options import StreamOptions
from satnav.pipeline import read_observations
from satnav.satellites import satellite_index
from satnav.streams.live import LiveEngine
from tests.conftest import data_path

FIRST, LAST = 216, 264  # ESBC epochs 01:48:00 .. 02:11:30 (30 s): the 02:00 GPS ephemerides
SYSTEMS = "GREC"


@pytest.fixture(scope="module")
def esbc_day():
    obs = read_observations(data_path("esbc-2020-177", "ESBC00DNK_R_20201770000_01D_30S_MO.crx.gz"))
    nav = read_rinex_nav(data_path("esbc-2020-177", "ESBC00DNK_R_20201770000_01D_MN.rnx.gz"))
    return obs, nav


@pytest.fixture(scope="module")
def esbc(esbc_day):
    obs, nav = esbc_day
    return obs.epoch_slice(FIRST, LAST), nav


def _clear_module_caches():
    measurement._RECEIVER_FRAMES.clear()
    spp_epoch._CODE_ROWS.clear()
    rtk_engine._DOP_GROUPS.clear()


def _split(nav: Navigation, keep) -> tuple[Navigation, Navigation]:
    """(messages where ``keep(letter, records)`` is true, the others)."""
    a, b = Navigation(header=nav.header), Navigation(header=nav.header)
    for letter, arr in nav.messages.items():
        k = np.asarray(keep(letter, arr), bool)
        if k.any():
            a.add_messages(letter, arr[k])
        if (~k).any():
            b.add_messages(letter, arr[~k])
    return a, b


def _by_time(nav, t_ns):
    """(messages with reference time before ``t_ns``, the others)."""
    return _split(nav, lambda letter, arr: arr["toc"] < t_ns)


def _same_solution(live, ref, where=""):
    assert live.satellites.tolist() == ref.satellites.tolist(), where
    assert np.array_equal(live.solved, ref.solved), where
    assert np.array_equal(live.used, ref.used), where
    assert np.array_equal(live.n_used, ref.n_used), where
    lp, rp = live.position_m, ref.position_m
    assert np.array_equal(np.isfinite(lp), np.isfinite(rp)), where
    ok = np.isfinite(lp)
    assert np.all(np.abs(lp[ok] - rp[ok]) < 1e-6), (where, np.abs(lp[ok] - rp[ok]).max())
    lr, rr = live.residuals_m, ref.residuals_m
    assert np.array_equal(np.isfinite(lr), np.isfinite(rr)), where
    ok = np.isfinite(lr)
    assert np.all(np.abs(lr[ok] - rr[ok]) < 1e-6), where
    for a, b in ((live.pdop, ref.pdop), (live.clock_bias_s, ref.clock_bias_s), (live.velocity_m_s, ref.velocity_m_s)):
        assert np.allclose(a, b, rtol=0, atol=1e-9, equal_nan=True), where


def _run_spp(epochs, nav0, arrivals=None, *, start=None, ahead=False, **options):
    """Feed ``epochs`` (one-epoch Observations) to one SppEngine, navigation ``arrivals``
    (epoch number -> Navigation) added before that epoch; each epoch compared with a fresh
    engine holding the navigation known then. ``start``: epoch number -> position to
    start that epoch from (a receiver that moved); ``ahead``: the engine works ahead
    (``prepare_ahead``, in small slices) between epochs. Returns the live solutions."""
    arrivals = arrivals or {}
    start = start or {}
    engine = SppEngine(nav0, **options)
    known = nav0
    out = []
    for k, ep in enumerate(epochs):
        if k in arrivals:
            engine.add_navigation(arrivals[k])
            known = arrivals[k] if known is None else known.merge(arrivals[k])
        if k in start and engine._x0 is not None:
            engine._x0 = np.asarray(start[k], float)
        x0 = None if engine._x0 is None else engine._x0.copy()
        clock0 = None if engine._clock0 is None else dict(engine._clock0)
        last_fix = engine._x0_last_fix
        sol = engine.process(ep)
        while ahead and not engine.prepare_ahead(time.perf_counter() + 1e-4):
            pass
        _clear_module_caches()
        fresh = SppEngine(known, **options)
        if x0 is not None:
            fresh._x0, fresh._x0_last_fix, fresh._clock0 = x0, last_fix, clock0
        _same_solution(sol, fresh.process(ep), f"epoch {k}")
        out.append(sol)
    return out


def _epochs(obs):
    return list(obs.iter_epochs())


def _without(obs, drop):
    """``obs`` without the rows where ``drop(obs)`` (a row mask) is true."""
    return obs.select(~np.asarray(drop(obs), bool))


def _cold(obs):
    """``obs`` with no header position (a receiver stream): the engine starts each epoch
    from its last fix."""
    import copy

    header = copy.copy(obs.header)
    header.approx_position_m = None
    obs = obs.select(slice(None))
    obs.header = header
    return obs


# ----------------------------------------------------------------------------- navigation
def test_ephemerides_arriving_mid_stream(esbc):
    obs, nav = esbc
    epochs = _epochs(obs)
    t_change = int(epochs[24].epochs[0])  # 02:00
    early, late = _by_time(nav, t_change - 1800 * NS_PER_S)
    middle, late = _by_time(late, t_change)
    sols = _run_spp(epochs, early, {8: middle, 20: late}, systems=SYSTEMS)
    assert all(s.solved[0] for s in sols)


def test_work_ahead_between_epochs(esbc):
    """The message choices of satellites not seen yet computed between epochs
    (``prepare_ahead``): the same solutions as a fresh engine's, with navigation arriving
    and satellites rising mid-stream; the work is done in slices, then nothing is left."""
    obs, nav = esbc
    epochs = _epochs(obs)
    t_change = int(epochs[24].epochs[0])  # 02:00
    early, late = _by_time(nav, t_change - 1800 * NS_PER_S)
    g = [satellite_index(f"G{p:02d}") for p in range(1, 33)]
    rising = [_without(ep, lambda o: np.isin(o.sat, g[:16])) if k < 10 else ep for k, ep in enumerate(epochs)]
    engine = SppEngine(nav, systems=SYSTEMS)
    engine.process(epochs[0])
    selectors = [sel for table in engine._core.ephemeris._tables.values() if table is not None
                 for sel in table._selectors.values()]
    assert selectors and all(len(sel._intervals_of) < len(np.unique(sel.msg_sat)) for sel in selectors)
    slices = 0
    while not engine.prepare_ahead(time.perf_counter() + 1e-4):
        slices += 1
    assert slices > 3  # (tens of satellites of 0.1-1 ms each)
    assert all(set(np.unique(sel.msg_sat).tolist()) <= set(sel._intervals_of) for sel in selectors)
    assert engine.prepare_ahead(time.perf_counter())  # nothing left: True at once
    sols = _run_spp(rising, early, {20: late}, ahead=True, systems=SYSTEMS)
    assert all(s.solved[0] for s in sols)
    # and where the station is: its coordinate in shared/data/stations.csv (RTKLIB PPP-static)
    ref = np.array([3582104.8024, 532590.1716, 5232755.1824])
    err = np.linalg.norm(np.array([s.position_m[0] for s in sols]) - ref, axis=1)
    assert err.max() < 15.0, err.max()
    # new messages: the choices asked of the replaced messages made ahead, before the next epoch
    engine.add_navigation(late)
    expected = engine._core.ephemeris._expected
    assert {letter for letter, _ in expected} == {"G", "E", "C", "R"} & set(SYSTEMS)
    while not engine.prepare_ahead(time.perf_counter() + 1e-4):
        pass
    fresh_selectors = [sel for table in engine._core.ephemeris._tables.values() if table is not None
                       for sel in table._selectors.values()]
    assert len(fresh_selectors) == len(selectors)
    assert all(set(np.unique(sel.msg_sat).tolist()) <= set(sel._intervals_of) for sel in fresh_selectors)


def test_navigation_in_pieces_per_system_and_satellite(esbc):
    obs, nav = esbc
    epochs = _epochs(obs)
    gps, rest = _split(nav, lambda letter, arr: np.full(len(arr), letter == "G"))
    half, other = _split(rest, lambda letter, arr: arr["sat"] % 2 == 0)
    # Galileo, GLONASS, BeiDou appear later (a system appearing), half the satellites first
    _run_spp(epochs, gps, {5: half, 13: other}, systems=SYSTEMS)
    _run_spp(_epochs(_cold(obs)), gps, {5: half, 13: other}, systems=SYSTEMS)


def _modified(nav, letter, prn, change):
    """A copy of the messages of one satellite changed by ``change(records)`` (in place)."""
    sat = satellite_index(f"{letter}{prn:02d}")
    arr = nav.messages[letter]
    mine = arr[arr["sat"] == sat].copy()
    change(mine)
    out = Navigation(header=nav.header)
    out.add_messages(letter, mine)
    return out


def _used_satellites(sol):
    return set(np.asarray(sol.satellites)[sol.used[0]].tolist())


def test_satellite_unhealthy_then_healthy_in_new_messages(esbc):
    """A satellite first known by unhealthy messages only (not used), then by healthy ones
    (used from that epoch), then unhealthy uploads again (the healthy messages still valid
    are used: an unhealthy message is skipped, not a verdict on the satellite)."""
    obs, nav = esbc
    epochs = _epochs(obs)
    sols = _run_spp(epochs[:2], nav, systems=SYSTEMS)
    used = _used_satellites(sols[-1])
    prn = next(p for p in range(1, 33) if satellite_index(f"G{p:02d}") in used)
    sat = satellite_index(f"G{prn:02d}")
    others, _ = _split(nav, lambda letter, arr: arr["sat"] != sat)

    def sick(m):
        m["health"] = 1

    def sick_upload(m):
        m["health"] = 1
        m["toe"] += 16 * NS_PER_S  # an upload: a new message (new time of ephemeris and clock)
        m["toc"] += 16 * NS_PER_S
        m["toe_sow"] += 16

    sols = _run_spp(epochs, others, {4: _modified(nav, "G", prn, sick), 12: _modified(nav, "G", prn, lambda m: None),
                                     20: _modified(nav, "G", prn, sick_upload)}, systems=SYSTEMS)
    assert [sat in _used_satellites(s) for s in sols[:20]] == [False] * 12 + [True] * 8


def test_uploaded_message_with_new_values(esbc):
    obs, nav = esbc
    epochs = _epochs(obs)

    def upload(m):  # the clock moved by 30 m: the new message must be used at once
        m["af0"] += 1e-7
        m["iode"] = (m["iode"] + 1) % 256
        m["toe"] += 16 * NS_PER_S
        m["toc"] += 16 * NS_PER_S
        m["toe_sow"] += 16

    _run_spp(epochs, nav, {10: _modified(nav, "G", 5, upload), 11: _modified(nav, "E", 11, upload)},
             systems=SYSTEMS)


# ----------------------------------------------------------------------------- observations
def test_satellites_and_signals_coming_and_going(esbc):
    obs, nav = esbc
    g = [satellite_index(f"G{p:02d}") for p in range(1, 33)]
    e = [satellite_index(f"E{p:02d}") for p in range(1, 37)]
    codes = {c: i for i, c in enumerate(obs.codes)}
    epochs = []
    for k, ep in enumerate(obs.iter_epochs()):
        if 4 <= k < 8:  # a satellite lost
            ep = _without(ep, lambda o: np.isin(o.sat, g[:8]))
        elif 8 <= k < 12:  # every second-frequency signal lost, then back
            ep = _without(ep, lambda o: np.isin(o.code, [codes[c] for c in codes if c[1] in "25"]))
        elif 14 <= k < 18:  # Galileo gone
            ep = _without(ep, lambda o: np.isin(o.sat, e))
        elif 20 <= k < 24:  # the GPS L1 code C1C lost: C1W used if the plan falls back to it
            ep = _without(ep, lambda o: o.code == codes["C1C"])
        elif 26 <= k < 30 and k % 2:  # satellites alternating
            ep = _without(ep, lambda o, k=k: np.isin(o.sat, g[k % 5::5]))
        epochs.append(ep)
    _run_spp(epochs, nav, systems=SYSTEMS)
    _run_spp(epochs, nav, systems=SYSTEMS, signals={"G": ["C1W", "C1C"]})
    _run_spp(epochs, nav, systems=SYSTEMS, iono="iono-free")
    _run_spp([_cold(ep) for ep in epochs], nav, systems=SYSTEMS)


def test_receiver_moving_fast_and_jumping(esbc):
    obs, nav = esbc
    epochs = _epochs(_cold(obs))
    x = obs.header.approx_position_m
    # the warm start replaced by positions far and near: the receiver frame memo keyed by
    # the start position must give each its own frame (1 nm, 1 mm, 5 km, 200 km apart)
    starts = {3: x + 1e-9, 4: x + np.array([1e-3, 0, 0]), 5: x + np.array([5e3, -3e3, 1e3]),
              6: x + np.array([2e5, 0, 0]), 7: x, 8: np.nextafter(x, np.inf)}
    _run_spp(epochs[:12], nav, start=starts, systems=SYSTEMS)


def test_glonass_channels_from_navigation_arriving_later(esbc):
    """GLONASS observations without the header's slot/channel list (a receiver stream): the
    frequency channels come from the GLONASS messages, which arrive after the first epochs,
    some satellites later than others."""
    import copy

    obs, nav = esbc
    obs = _cold(obs)
    obs.header = copy.copy(obs.header)
    obs.header.glonass_slots = {}
    no_r, r = _split(nav, lambda letter, arr: np.full(len(arr), letter != "R"))
    r_even, r_odd = _split(r, lambda letter, arr: arr["sat"] % 2 == 0)
    sols = _run_spp(_epochs(obs)[:16], no_r, {4: r_even, 9: r_odd}, systems="GR")
    glonass = [satellite_index(f"R{p:02d}") for p in range(1, 28)]
    assert not np.isin(list(_used_satellites(sols[3])), glonass).any()
    assert np.isin(list(_used_satellites(sols[12])), glonass).sum() >= 4


def test_carrier_smoothing_with_glonass_channels_arriving_later(esbc):
    """Carrier smoothing (causal, per satellite) of GLONASS without the header's channels:
    the wavelengths come from the messages, which arrive at the fifth epoch; from then on
    the engine equals one that had them from that epoch (nothing smoothed before: no
    wavelength), and its pseudoranges are smoothed (not the raw ones)."""
    import copy

    obs, nav = esbc
    obs = obs.select(slice(None))
    obs.header = copy.copy(obs.header)
    obs.header.glonass_slots = {}
    _, r = _split(nav, lambda letter, arr: np.full(len(arr), letter != "R"))
    epochs = _epochs(obs)[:20]
    options = {"systems": "R", "smoothing_s": 300.0}
    live = SppEngine(None, **options)
    for ep in epochs[:4]:
        assert not live.process(ep).solved[0]
    live.add_navigation(r)
    ref = SppEngine(r, **options)
    raw = SppEngine(r, systems="R")
    moved = 0.0
    for k, ep in enumerate(epochs[4:]):
        a, b, c = live.process(ep), ref.process(ep), raw.process(ep)
        _same_solution(a, b, f"epoch {k + 4}")
        moved = max(moved, float(np.linalg.norm(a.position_m[0] - c.position_m[0])))
    assert moved > 0.05  # smoothed


def test_epochs_out_of_order_fed_to_the_engine(esbc):
    """SppEngine itself (no LiveEngine filter) fed epochs backwards and repeated: each
    equals a fresh evaluation (the message choices kept by time interval, both ways)."""
    obs, nav = esbc
    epochs = _epochs(obs)
    order = [30, 29, 28, 24, 23, 24, 25, 0, 47, 1, 1, 46, 20]
    _run_spp([epochs[k] for k in order], nav, systems=SYSTEMS)
    _run_spp([_cold(epochs[k]) for k in order], nav, systems=SYSTEMS)


def test_gps_week_rollover(esbc_day):
    """GPS epochs and messages carried three sidereal days on (the same Earth-fixed geometry,
    Keplerian orbits unchanged) so that the stream crosses the end of a GPS week: the kept
    message choices, code layouts and frames still equal a fresh evaluation at each epoch."""
    from satnav.gnss_time import NS_PER_WEEK
    from satnav.observations import Observations

    obs, nav = esbc_day
    part = obs.epoch_slice(10, 40)  # 00:05 .. 00:19:30, the week's end at 00:11:48 once moved
    shift = int(round(3 * 86164.0905 * NS_PER_S))
    moved = Observations(part.time + shift, part.sat, part.code, part.value, part.lli, part.ssi, part.codes,
                         part.epochs + shift, header=part.header)
    gps = nav.messages["G"].copy()
    for f in ("toe", "toc"):
        gps[f] += shift
    gps["week"] = gps["toe"] // NS_PER_WEEK
    gps["toe_sow"] = (gps["toe"] - gps["week"].astype(np.int64) * NS_PER_WEEK) / NS_PER_S
    gps["transmission_time"] = np.nan
    moved_nav = Navigation(header=nav.header)
    moved_nav.add_messages("G", gps)
    weeks = (moved.epochs // NS_PER_WEEK).tolist()
    assert weeks[0] + 1 == weeks[-1]
    early, late = _by_time(moved_nav, int(moved.epochs[12]))
    sols = _run_spp(_epochs(moved), early, {12: late}, systems="G")
    x = obs.header.approx_position_m
    assert all(np.linalg.norm(s.position_m[0] - x) < 30 for s in sols)


def test_live_engine_navigation_updates(esbc):
    """Through LiveEngine (its filter of repeated messages, its pending navigation): the
    fixes equal a fresh engine's holding the messages given so far, with messages
    repeated, messages of the same times with changed values or health, and new uploads."""
    obs, nav = esbc
    epochs = _epochs(obs)
    early, late = _by_time(nav, int(epochs[24].epochs[0]))

    def changed(m):  # the same times of clock and ephemeris, other values
        m["af0"] += 1e-7
        m["health"] = 1

    def upload(m):
        m["af0"] += 1e-7
        m["toe"] += 16 * NS_PER_S
        m["toc"] += 16 * NS_PER_S
        m["toe_sow"] += 16

    arrivals = {3: early, 5: _modified(nav, "G", 5, changed), 7: _modified(nav, "G", 7, upload), 20: late,
                21: late, 22: nav}
    engine = LiveEngine(StreamOptions(systems=SYSTEMS))
    known = None
    for k, ep in enumerate(epochs):
        if k in arrivals:
            engine.add_navigation(arrivals[k])
            known = arrivals[k] if known is None else known.merge(arrivals[k])
        fix = engine.process(ep)
        if known is None:
            assert not fix.valid
            continue
        _clear_module_caches()
        ref = SppEngine(known, systems=SYSTEMS, elevation_mask_deg=engine.options.elevation_mask_deg)
        _same_solution(fix.solution, ref.process(ep), f"epoch {k}")


def test_time_going_back_and_repeated_epochs_dropped(esbc):
    obs, nav = esbc
    epochs = _epochs(obs)
    engine = LiveEngine(StreamOptions(systems=SYSTEMS), nav=nav)
    ref = SppEngine(nav, systems=SYSTEMS, elevation_mask_deg=10.0)
    order = [0, 1, 2, 2, 1, 3, 0, 4, 5]
    for k in order:
        fix = engine.process(epochs[k])
        if k in (0, 1, 2, 3, 4, 5) and fix is not None:
            sol = ref.process(epochs[k])
            assert np.all(np.abs(fix.position_m - sol.position_m[0]) < 1e-6)
    assert engine.counts["rover_duplicates"] == 1 and engine.counts["rover_out_of_order"] == 2


def test_repeated_stream_ephemerides_skipped():
    """A caster repeats each ephemeris every minute or so, each repetition with its frame's
    time: LiveEngine keeps one message per distinct (satellite, times, issue of data)."""
    from satnav.io.stream_items import NavigationItem
    from satnav.streams.feeds import make_decoder

    data = data_path("streams", "idd2023229c.rtc").read_bytes()
    decoder = make_decoder("rtcm3", data[:4096])
    items = [it for i in range(0, len(data), 4096) for it in decoder.feed(data[i:i + 4096])
             if isinstance(it, NavigationItem)]
    engine = LiveEngine(StreamOptions())
    distinct = set()
    for it in items:
        engine.add_navigation(it.navigation)
        for letter, arr in it.navigation.messages.items():
            distinct |= {(letter, int(r["sat"]), int(r["toc"]), int(r["toe"]), float(r["iode"])) for r in arr}
    assert len(items) > 10 * len(distinct)
    assert engine.counts["ephemerides"] == len(distinct)


# ----------------------------------------------------------------------------- RTK
@pytest.fixture(scope="module")
def gsi():
    import satnav

    rover = satnav.read_obs(data_path("gsi-2005-092", "07590920.05o"))
    base = satnav.read_obs(data_path("gsi-2005-092", "30400920.05o"))
    nav = satnav.read_nav(data_path("gsi-2005-092", "07590920.05n"), data_path("gsi-2005-092", "30400920.05n"))
    return rover, base, nav


def _every_other(obs):
    """``obs`` with every second epoch (a base logging at 60 s for a 30 s rover)."""
    from satnav.observations import Observations

    keep = np.arange(len(obs.epochs)) % 2 == 0
    rows = np.isin(obs.time, obs.epochs[keep])
    return Observations(obs.time[rows], obs.sat[rows], obs.code[rows], obs.value[rows], obs.lli[rows],
                        obs.ssi[rows], obs.codes, obs.epochs[keep], header=obs.header)


def _gps_upload(nav, t_ns, dt_s=16, clock_s=1e-8):
    """The GPS messages of reference time ``t_ns`` uploaded again ``dt_s`` later: the same
    orbit (mean anomaly, node and inclination carried to the new time of ephemeris), the
    clock moved by ``clock_s``."""
    arr = nav.messages["G"]
    m = arr[arr["toc"] == t_ns].copy()
    n = np.sqrt(3.986005e14 / m["sqrt_a"] ** 6) + m["delta_n"]
    m["m0"] += n * dt_s
    m["omega0"] += m["omega_dot"] * dt_s
    m["i0"] += m["idot"] * dt_s
    m["af0"] += m["af1"] * dt_s + clock_s
    for f in ("toe", "toc"):
        m[f] += dt_s * NS_PER_S
    m["toe_sow"] += dt_s
    out = Navigation(header=nav.header)
    out.add_messages("G", m)
    return out


@pytest.mark.parametrize("ahead", [False, True])
def test_rtk_states_in_use_are_those_of_the_navigation_known(gsi, ahead):
    """At every epoch the satellite states the RTK engine pairs (the rover's and the base
    epoch's, a base epoch prepared before new messages arrived included) equal a fresh
    evaluation with the messages known then; the base logs at 60 s, the rover at 30 s, and
    an upload (3 m of clock) arrives between two base epochs. ``ahead``: the engine works
    ahead (``prepare_ahead``) between epochs and after the upload."""
    from satnav.estimators.rtk import _satellite_states
    from satnav.estimators.rtk_engine import RtkEngine, _broadcast_states

    rover, base, nav = gsi
    base = _every_other(base)
    up = _gps_upload(nav, int(rover.epochs[0]))
    assert len(up) >= 8
    engine = RtkEngine(nav, elevation_mask_deg=10, max_age_s=61)
    known, j, arrival = nav, 0, 41
    for k, ep in enumerate(rover.epoch_slice(0, 60).iter_epochs()):
        if k == arrival:
            engine.add_navigation(up)
            known = known.merge(up)
            if ahead:  # the message choices asked before made again for the new messages
                assert engine._states.ephemeris._expected and engine._spp.core.ephemeris._expected
        while ahead and not engine.prepare_ahead(time.perf_counter() + 1e-4):
            pass
        t = ep.epochs[0]
        while j < len(base.epochs) and base.epochs[j] <= t + 61e9:
            engine.add_base(base.epoch_slice(j, j + 1))
            j += 1
        sol = engine.process(ep)
        assert sol.quality in (1, 2)
        (_t, _ph, code, _lli, _dop, sat_pos, clk, valid), b = engine._cur
        fresh = _broadcast_states(known)
        for times, codes, got in (([int(t)], code, (sat_pos, clk, valid)), ([b.t], b.code, (b.sat_pos, b.clk, b.valid))):
            want = _satellite_states(None, engine.sats, np.array(times, np.int64), codes[None], fresh)
            np.testing.assert_array_equal(got[2], want[2][0])
            np.testing.assert_allclose(got[1], want[1][0], rtol=0, atol=1e-15)
            np.testing.assert_allclose(got[0], want[0][0], rtol=0, atol=1e-6)


def test_rtk_signals_and_satellites_coming_and_going_equal_batch(gsi):
    """The RTK engine (dense-array tables per code set, slip trackers, DOP groups per
    satellite set kept between epochs) equals the batch solver on the same epochs where the
    rover loses its L2 codes on one satellite, then a satellite, and the base a satellite."""
    import warnings

    from satnav.estimators.rtk import solve_rtk
    from satnav.estimators.rtk_engine import RtkEngine

    rover, base, nav = gsi
    rover, base = rover.epoch_slice(0, 60), base.epoch_slice(0, 62)
    sats = np.unique(rover.sat)
    l2 = np.isin(rover.code, [i for i, c in enumerate(rover.codes) if c[1] == "2"])
    t = rover.epochs
    drop = ((rover.sat == sats[1]) & l2 & (rover.time >= t[10]) & (rover.time < t[20]))
    drop |= (rover.sat == sats[3]) & (rover.time >= t[30]) & (rover.time < t[34])
    rover = rover.select(~drop)
    tb = base.epochs
    base = base.select(~((base.sat == sats[4]) & (base.time >= tb[40]) & (base.time < tb[45])))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        batch = solve_rtk(rover, base, nav, elevation_mask_deg=10)
    engine = RtkEngine(nav, elevation_mask_deg=10)
    j = 0
    for k, ep in enumerate(rover.iter_epochs()):
        while j < len(base.epochs) and base.epochs[j] <= ep.epochs[0] + 30e9:
            engine.add_base(base.epoch_slice(j, j + 1))
            j += 1
        _clear_module_caches()
        sol = engine.process(ep)
        assert sol.quality == batch.quality[k], k
        assert sol.n_satellites == batch.n_satellites[k], k
        assert np.all(np.abs(sol.position_m - batch.position_m[k]) < 1e-6), k


def test_repeated_satellites_in_one_query_across_a_message_change(esbc_day):
    """One states query holding a satellite at two times with a change of message between
    them (the RTK engine's base and rover epochs prepared in one call), then the same
    satellites later: every pair equal to a fresh evaluation (the kept plan may only serve
    pairs whose own time lies in the interval kept for their satellite)."""
    from satnav.orbits.ephemeris import BroadcastEphemeris, broadcast_states

    _obs, nav = esbc_day
    names = ["G05", "G12", "E11", "E24", "C20", "J01"]
    sats = np.array([satellite_index(n) for n in names], np.int64)
    probe = BroadcastEphemeris(nav)
    checked = 0
    for letter in "GEC":
        sel = probe.table(letter).selector(None, None)
        for s in sats[[n[0] == letter for n in names]].tolist():
            for b in sel._breakpoints(s)[1:-1][:12].tolist():
                for d in (10, 400):
                    eph = BroadcastEphemeris(nav)
                    q = np.concatenate([sats, sats])
                    t = np.concatenate([np.full(sats.size, b - d * NS_PER_S), np.full(sats.size, b + d * NS_PER_S)])
                    for step in range(4):  # older pairs first, then both moving on
                        tk = t + step * 2 * d * NS_PER_S
                        got, want = eph.states(q, tk, velocity=False), broadcast_states(nav, q, tk, velocity=False)
                        for f in ("message_toe_ns", "valid", "reason"):
                            np.testing.assert_array_equal(getattr(got, f), getattr(want, f), err_msg=f"{s} {b} {d} {f}")
                        np.testing.assert_array_equal(got.clock_s, want.clock_s)
                        checked += 1
    assert checked > 300


def test_rtk_states_with_a_base_one_epoch_late(esbc):
    """ESBC against itself (zero baseline, GPS/Galileo/BeiDou), the base epochs given one
    rover epoch late (each prepared with the next rover epoch in one states query, across
    the Galileo and BeiDou message changes of 01:48-02:11): the rover's and the base epoch's
    states in use equal a fresh evaluation at every epoch."""
    import warnings

    from satnav.estimators.rtk import _satellite_states
    from satnav.estimators.rtk_engine import RtkEngine, _broadcast_states

    obs, nav = esbc
    epochs = _epochs(obs)
    engine = RtkEngine(nav, base_position=obs.header.approx_position_m, systems="GEC", elevation_mask_deg=10,
                       max_age_s=31)
    fresh = _broadcast_states(nav)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for k, ep in enumerate(epochs):
            if k:
                engine.add_base(epochs[k - 1])
            sol = engine.process(ep)
            if not k:
                continue
            assert sol.quality in (1, 2), k
            (_t, _ph, code, _lli, _dop, sat_pos, clk, valid), b = engine._cur
            for t, c, got in ((int(ep.epochs[0]), code, (sat_pos, clk, valid)), (b.t, b.code, (b.sat_pos, b.clk, b.valid))):
                want = _satellite_states(None, engine.sats, np.array([t], np.int64), c[None], fresh)
                np.testing.assert_array_equal(got[2], want[2][0], err_msg=str(k))
                np.testing.assert_allclose(got[1], want[1][0], rtol=0, atol=1e-15, err_msg=str(k))


def test_new_broadcast_ionosphere_replaces_the_old(esbc_day):
    """New Klobuchar coefficients arriving mid-stream (a day's change; ephemerides repeated
    with them) are used from the next epoch: the fixes equal a fresh engine's whose
    navigation carries the new coefficients (they moved the fix), not the first ones.
    Local noon (the night-time model does not depend on the coefficients)."""
    import copy

    obs, nav = esbc_day
    epochs = _epochs(obs.epoch_slice(1440, 1444))
    newer = Navigation(header=copy.deepcopy(nav.header))
    newer.header.iono_corrections = {k: np.asarray(v) * 1.5 for k, v in nav.header.iono_corrections.items()}
    assert "GPSA" in newer.header.iono_corrections
    newer.add_messages("G", nav.messages["G"][:3])  # repetitions: not new
    with_new = nav.merge(Navigation())
    with_new.header.iono_corrections = copy.deepcopy(newer.header.iono_corrections)
    for engine in (LiveEngine(StreamOptions(systems=SYSTEMS), nav=nav), SppEngine(nav, systems=SYSTEMS,
                                                                                  elevation_mask_deg=10.0)):
        first = [engine.process(ep) for ep in epochs[:3]]
        engine.add_navigation(newer)
        got = engine.process(epochs[3])
        got = getattr(got, "solution", got)
        _clear_module_caches()
        want = SppEngine(with_new, systems=SYSTEMS, elevation_mask_deg=10.0)
        want._x0 = np.asarray(obs.header.approx_position_m, float)
        _same_solution(got, want.process(epochs[3]))
        old = SppEngine(nav, systems=SYSTEMS, elevation_mask_deg=10.0).process(epochs[3])
        assert np.linalg.norm(got.position_m[0] - old.position_m[0]) > 0.1
        assert len(first) == 3


def test_rtk_glonass_channels_learnt_later(esbc):
    """ESBC against itself with GLONASS, no header channel list and GLONASS messages
    arriving after the layout: the wavelengths and the channel numbers the GLONASS
    ambiguity resolution uses (kept once computed) follow the channels learnt."""
    import copy
    import warnings

    from satnav.estimators.rtk_core import glonass_channel_numbers
    from satnav.estimators.rtk_engine import RtkEngine

    obs, nav = esbc
    obs = obs.select(slice(None))
    obs.header = copy.copy(obs.header)
    obs.header.glonass_slots = {}
    no_r, r = _split(nav, lambda letter, arr: np.full(len(arr), letter != "R"))
    r_some, r_rest = _split(r, lambda letter, arr: arr["sat"] % 3 == 0)
    epochs = _epochs(obs)[:8]
    engine = RtkEngine(no_r.merge(r_some), base_position=obs.header.approx_position_m, systems="GR",
                       elevation_mask_deg=10, glonass_ar="on")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for k, ep in enumerate(epochs):
            if k == 4:
                before = engine._channel_differences([(0, 0, 0)], [0])  # computes the kept numbers
                assert before.shape == (1,)
                engine.add_navigation(r_rest)
            engine.add_base(ep)
            engine.process(ep)
    glo = engine.letters == "R"
    known = np.isin(engine.sats, np.unique(r.messages["R"]["sat"]))
    assert np.isfinite(engine.lam[glo & known]).all()
    kch = engine._glonass_k_flat
    if kch is None:
        engine._channel_differences([(0, 0, 0)], [0])
        kch = engine._glonass_k_flat
    np.testing.assert_array_equal(kch, glonass_channel_numbers(engine.letters, engine.lam).ravel())
    assert np.isfinite(kch.reshape(engine.lam.shape)[glo & known]).all()
