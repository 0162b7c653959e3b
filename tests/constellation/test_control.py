"""The control segment (satnav.constellation.control, ``satnav odts``).

Truth: the simulated truth world (its orbits from the precise dynamics validated against IGS
orbits in tests/dynamics, clocks, troposphere); the estimator sees only the monitoring
observations. The checks are the issue's acceptance figures: broadcast SISRE <= 0.5 m per
satellite, an injected 10 m clock jump detected within one data interval and flagged
unhealthy in the next message, and degraded networks that run without a crash. Clock models
are checked against the Allan deviation they state (the textbook estimator, Allan 1966).
"""

import json
from dataclasses import replace

import numpy as np
import pytest

pytest.importorskip("erfa")
pytest.importorskip("astropy_iers_data")

from satnav.constellation.control.clocks import allan_deviation, simulate_clock  # noqa: E402
from satnav.constellation.control.scenario import load_control_scenario, run_odts  # noqa: E402
from satnav.constellation.control.truth import FaultSpec  # noqa: E402
from satnav.errors import FormatError  # noqa: E402


def _adev(x, tau_epochs, interval_s):
    d2 = x[2 * tau_epochs:] - 2 * x[tau_epochs:-tau_epochs] + x[: -2 * tau_epochs]
    tau = tau_epochs * interval_s
    return np.sqrt(np.mean(d2**2) / (2 * tau**2))


@pytest.mark.parametrize("kind", ["rubidium", "passive-maser", "hydrogen-maser", "caesium"])
def test_simulated_clocks_have_their_stated_allan_deviation(kind):
    rng = np.random.default_rng(5)
    x = simulate_clock(kind, 200_000, 1.0, rng)
    for m in (1, 10, 100):
        assert _adev(x, m, 1.0) == pytest.approx(float(allan_deviation(kind, m)), rel=0.1)


@pytest.fixture(scope="module")
def faulty_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("odts")
    s = load_control_scenario(None)
    s = replace(s, interval_s=300.0, evaluation_hours=3.0,
                faults=(FaultSpec("I03", "clock_jump", 25.1, 10.0), FaultSpec("I05", "clock_ramp", 25.1, 5.0)))
    return run_odts(s, out), out


def test_broadcast_sisre_of_every_healthy_satellite(faulty_run):
    report, _ = faulty_run
    rows = {r["satellite"]: r for r in report["satellites"]}
    assert sorted(rows) == [f"I0{i}" for i in range(1, 8)]
    for sid, row in rows.items():
        if sid not in ("I03", "I05"):  # the faulty ones
            assert row["sisre_rms_m"] <= 0.5, row
            assert row["orbit_rms_m"] < 3.0 and row["clock_rms_m"] < 1.5, row
    assert report["by_age_of_data"][0]["age_of_data_h"] == 0
    assert report["odts_runs"][0]["phase_rms_m"] < 0.02  # phase noise 3 mm / sin(el)
    # a user's position error with the ODTS broadcast within 20 % of the truth-fitted one's
    user = report["user_accuracy"]
    assert user["odts"]["epochs"] > 30 and user["ratio"] <= 1.2, user


def test_time_links_replace_the_inter_system_bias(faulty_run):
    # system time (the master's maser, tens of ns from GPST) estimated from the master's GPS
    # code to well below a nanosecond, GLONASST - GPST (GLGP, through the master's GLONASS
    # code with GLONASS's 1.5 m broadcast clock errors) to a few ns; a user of GLONASS or GPS
    # + the designed system applying the broadcast offsets does as well as one estimating an
    # inter-system bias (tolerance 5 %; here better: one unknown fewer)
    report, out = faulty_run
    links = report["time_links"]
    assert links["offsets"]["IRGP"]["fit_rms_vs_truth_ns"] < 0.5
    assert links["offsets"]["GLGP"]["fit_rms_vs_truth_ns"] < 3.0
    assert links["offsets"]["IRUT"]["fit_rms_vs_truth_ns"] < 2.0  # GPS's UTC parameters (1 ns) + IRGP
    for partner in ("glonass", "gps"):
        user = links["users"][f"{partner}_plus_designed"]
        assert user["broadcast_offset"]["epochs"] > 30
        assert user["broadcast_offset"]["position_rms_m"] <= 1.05 * user["estimated_isb"]["position_rms_m"], user
    assert links["users"]["glonass_plus_designed"]["broadcast_offset_error_rms_ns"] < 3.0
    assert links["users"]["gps_plus_designed"]["broadcast_offset_error_rms_ns"] < 0.5
    from satnav.io.rinex_nav import read_rinex_nav

    # RINEX 3.05: TIME SYSTEM CORR header lines (A4,1X,D17.10,D16.9,1X,I6,1X,I4 read by hand)
    lines = (out / "odts_broadcast.rnx").read_text().splitlines()
    corr = {x[:4]: x for x in lines if x[60:].strip() == "TIME SYSTEM CORR"}
    assert sorted(corr) == ["GLGP", "GLUT", "GPUT", "IRGP", "IRUT"]
    assert float(corr["IRGP"][5:22].replace("D", "E")) * 1e9 == pytest.approx(links["offsets"]["IRGP"]["a0_ns"], abs=1e-6)
    assert float(corr["GLGP"][5:22]) * 1e9 == pytest.approx(links["offsets"]["GLGP"]["a0_ns"], abs=1e-6)
    assert int(corr["IRGP"][39:45]) == 432000 and int(corr["IRGP"][46:50]) == 2111  # 2020-06-26 00:00 GPST
    header = read_rinex_nav(out / "odts_broadcast.rnx").header.time_corrections
    assert header["IRUT"][0] * 1e9 == pytest.approx(links["offsets"]["IRUT"]["a0_ns"], abs=1e-6)
    # RINEX 4.01: the same offsets as STO records, one set per ODTS run
    nav4 = read_rinex_nav(out / "odts_broadcast_v4.rnx")
    sto = {r["code"]: r for r in nav4.sto_records}
    assert len(nav4.sto_records) == 5 * links["estimations"] and sorted(sto) == sorted(corr)
    assert sto["GLUT"]["utc_id"] == "UTC(SU)" and sto["GLUT"]["a0"] == pytest.approx(header["GLUT"][0], abs=1e-18)
    assert len(nav4.messages["I"]) == len(read_rinex_nav(out / "odts_broadcast.rnx").messages["I"])
    assert "> STO I01 LNAV" in (out / "odts_broadcast_v4.rnx").read_text()


def test_clock_jump_and_ramp_detected_and_flagged(faulty_run):
    # the acceptance: an injected 10 m clock jump is alarmed at the first epoch after it (300 s
    # data), before the next message (uploaded at 26 h), which flags the satellite unhealthy;
    # a 5 m/h clock ramp (0.4 m per epoch, below the 1 m jump threshold) is alarmed when its
    # accumulated change since the message came into use passes 1 m: ~15 min, also before
    # the next message
    report, out = faulty_run
    jump, ramp = report["faults"]
    assert jump["kind"] == "clock_jump" and ramp["kind"] == "clock_ramp"
    for f in (jump, ramp):
        assert f["detected"] and f["flagged_in_next_message"], f
        assert f["time_h"] < f["alarm_h"] < f["next_upload_h"] == 26.0, f
    assert 0 <= jump["time_to_alarm_s"] <= 300  # the first epoch after the jump
    assert 600 <= ramp["time_to_alarm_s"] <= 1200  # 1 m / (5 m/h) = 12 min, in 300 s steps
    assert report["time_to_alarm_s"] == ramp["time_to_alarm_s"]
    assert report["missed_detections"] == 0
    assert sorted(a["satellite"] for a in report["alarms"]) == ["I03", "I05"]  # no false alarm
    # a user who ignores the ground's alarm: its own RAIM sees the jump from its first epoch
    assert report["user_raim"]["alarm_epochs"] >= 5
    assert 25.1 <= report["user_raim"]["first_alarm_h"] <= 25.1 + 300 / 3600 + 1e-9
    from satnav.io.rinex_nav import read_rinex_nav
    from satnav.io.sp3 import read_sp3

    nav = read_rinex_nav(out / "odts_broadcast.rnx").messages["I"]
    i03 = nav[nav["sat"] == 503]
    after = i03["toc"] > np.int64(1593043200 - 315964800 + 18 + 26 * 3600) * 10**9  # toe after 26 h
    assert np.all(i03["health"][after] == 1) and np.all(i03["health"][~after] == 0)
    sp3 = read_sp3(out / "odts_estimated.sp3")
    assert sp3.satellite_ids() == [f"I0{i}" for i in range(1, 8)] and len(sp3.time) == 288


def test_rinex_clock_output_against_the_truth(faulty_run):
    # the ODTS writes its last arc's clocks as RINEX clock 3.04 (layout checked by hand in
    # tests/io/test_clk.py): AS for the seven satellites, AR for the eight stations with the
    # master (system time) at zero; the satellite clocks agree with the truth world's clocks
    # against system time to the level of the clock part of the SISRE
    report, out = faulty_run
    from satnav.constellation.control.truth import build_truth
    from satnav.constellation.design import builtin_constellation
    from satnav.io.clk import read_clk

    assert str(out / "odts_clock.clk") in report["outputs"]
    clk = read_clk(out / "odts_clock.clk")
    assert clk.header.version == 3.04 and clk.satellite_ids() == [f"I0{i}" for i in range(1, 8)]
    assert sorted(clk.stations) == sorted(report["stations"]) and len(clk.satellite_time) == 288
    np.testing.assert_array_equal(clk.stations["XIAN"][1], 0.0)
    s = load_control_scenario(None)
    con = builtin_constellation("regional")
    times = con.epoch_ns + np.arange(0, 27 * 3600 + 1, 300, dtype=np.int64) * 10**9  # the fixture's run
    truth = build_truth(con, s.network, times, seed=s.seed, faults=(FaultSpec("I03", "clock_jump", 25.1, 10.0),
                                                                    FaultSpec("I05", "clock_ramp", 25.1, 5.0)))
    rows = np.searchsorted(times, clk.satellite_time)
    assert np.array_equal(times[rows], clk.satellite_time)
    err = (clk.satellite_bias_s - truth.satellite_clock_vs_system_s()[rows]) * 299792458.0
    rms = np.sqrt(np.nanmean(err**2, axis=0))
    assert np.all(rms < 1.0), rms  # m: a clock estimate, not a copy of the truth (> 1 cm)
    assert np.all(rms > 0.01), rms
    # each station's clock against system time likewise
    j = s.network.names.index("LHAS")
    t, b = clk.stations["LHAS"]
    d = (b - truth.station_clock_s[rows, j] + truth.station_clock_s[rows, s.network.master_index]) * 299792458.0
    assert np.sqrt(np.nanmean(d**2)) < 1.0


def test_degraded_network_runs_from_the_command_line(tmp_path, capsys):
    from satnav.cli.main import main

    rc = main(["odts", "-o", str(tmp_path), "--interval", "900", "--evaluation-hours", "1",
               "--stations", "XIAN,KUNM,SANY,SHAO", "--outage", "KUNM:20:22",
               "--fault", "I06:manoeuvre:24.5:0.05", "--json"])
    assert rc == 0
    report = json.loads(capsys.readouterr().out)
    assert report["stations"] == ["XIAN", "KUNM", "SANY", "SHAO"]
    for row in report["satellites"]:
        assert set(row) >= {"satellite", "orbit_rms_m", "clock_rms_m", "sisre_rms_m"}
    # a 5 cm/s along-track manoeuvre: detected at the first epoch after it (900 s data)
    (fault,) = report["faults"]
    assert fault["kind"] == "manoeuvre" and fault["detected"]
    assert 0 <= report["time_to_alarm_s"] <= 900


def test_scenario_errors(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text('constellation = "regional"\nuplod_hours = 1\n')
    with pytest.raises(FormatError, match="unknown key 'uplod_hours'"):
        load_control_scenario(bad)
    bad.write_text('truth_srp = "ecom9"\n')
    with pytest.raises(FormatError, match="truth_srp = 'ecom9', expected one of ecom5, ecom1, ecom2, ecomc"):
        load_control_scenario(bad)
    bad.write_text('odts_gravity_degree = 20\n')
    with pytest.raises(FormatError, match="odts_gravity_degree = 20.0, expected 2 <= value <= 12"):
        load_control_scenario(bad)
    bad.write_text('[monitoring]\n[[monitoring.station]]\nname = "XIAN STATION"\nlat_deg = 34\nlon_deg = 109\n'
                   'master = true\n')
    with pytest.raises(FormatError, match=r"station\[0\].name: 'XIAN STATION', expected 1 to 9 characters"):
        load_control_scenario(bad)
    good = tmp_path / "good.toml"
    good.write_text('truth_srp = "ecomc"\nodts_gravity_degree = 8\n')
    s = load_control_scenario(good)
    assert (s.truth_srp, s.truth_degree, s.options.srp, s.options.degree) == ("ecomc", 12, "ecom5", 8)
    bad.write_text('[monitoring]\n[[monitoring.station]]\nname = "A"\nlat_deg = 95\nlon_deg = 0\nmaster = true\n')
    with pytest.raises(FormatError, match=r"station\[0\]: coordinates out of range"):
        load_control_scenario(bad)
    from satnav.cli.main import main

    assert main(["odts", str(bad), "-o", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("satnav:") and err.count("\n") == 1
