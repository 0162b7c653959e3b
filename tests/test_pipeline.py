"""satnav.pipeline: the library workflows behind ``satnav solve`` and ``satnav orbits``.

Truth: the output of the ``satnav`` command on the same files (refactor equivalence), the
batch solvers called directly, and the gsi 0759 RTK reference coordinate of
../shared/data/README.md.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from satnav import pipeline
from satnav.cli import main
from satnav.errors import SatnavError, SatnavWarning
from satnav.io.solution import write_solution
from satnav.options import OrbitComparisonOptions, SolveOptions
from tests.conftest import data_path

GSI = "gsi-2005-092"
RTK_TRUTH = np.array([-3976219.6644, 3382372.5414, 3652513.0556])  # README: 0759-rtk


def _rows(path):
    return [ln for ln in open(path).read().splitlines() if ln and not ln.startswith("%")]


def test_solve_files_equals_satnav_solve(tmp_path, capsys):
    d = data_path(GSI)
    cli_out = tmp_path / "cli.pos"
    assert main(["solve", str(d / "07590920.05o"), str(d / "07590920.05n"), "-o", str(cli_out), "-q"]) == 0
    sol = pipeline.solve_files(d / "07590920.05o", [d / "07590920.05n"], SolveOptions())
    lib_out = tmp_path / "lib.pos"
    write_solution(sol, lib_out)
    assert _rows(lib_out) == _rows(cli_out) and len(_rows(cli_out)) > 0
    assert sol.warnings == []
    # the same with observations already read and the options as data
    obs = pipeline.read_observations(d / "07590920.05o")
    again = pipeline.solve_files(obs, [str(d / "07590920.05n")], SolveOptions.from_toml(SolveOptions().to_toml()))
    np.testing.assert_array_equal(again.position_m, sol.position_m)


def test_solve_files_with_base_is_the_rtk_result():
    from satnav.estimators.rtk import solve_rtk
    from satnav.io.rinex_nav import read_rinex_nav
    from satnav.io.rinex_obs import read_rinex_obs

    d = data_path(GSI)
    navs = [d / "07590920.05n", d / "30400920.05n"]
    sol = pipeline.solve_files(d / "07590920.05o", navs, SolveOptions(mode="rtk-kinematic"),
                               base=d / "30400920.05o")
    direct = solve_rtk(read_rinex_obs(d / "07590920.05o"), read_rinex_obs(d / "30400920.05o"),
                       read_rinex_nav(*navs), mode="kinematic", elevation_mask_deg=10.0, systems="GRECJI",
                       max_age_s=30.5)
    np.testing.assert_array_equal(sol.position_m, direct.position_m)
    np.testing.assert_array_equal(sol.quality, direct.quality)
    fixed = np.asarray(sol.quality) == 1
    assert fixed.mean() >= 0.95
    e = sol.errors(RTK_TRUTH, mask=fixed)
    assert e["h_rms"] <= 0.02 and e["v_rms"] <= 0.04


def test_phone_file_gets_the_phone_defaults():
    from satnav.estimators.spp import solve_spp
    from satnav.io.android import gsdc_states, read_gsdc_csv

    path = data_path("android-gsdc2023-pixel7pro", "device_gnss.csv")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sol = pipeline.solve_files(path)
        obs = read_gsdc_csv(path)
        direct = solve_spp(obs, None, states=gsdc_states(obs), iono="states", cn0_error_m=0.003,
                           smoothing_s=60.0)
        raw = pipeline.solve_files(path, options=SolveOptions(smoothing_s=0.0, iono="klobuchar"))
    assert pipeline.PHONE_SOLVE_OPTIONS == {"cn0_error_m": 0.003, "smoothing_s": 60.0}
    np.testing.assert_array_equal(sol.position_m, direct.position_m)
    assert not np.array_equal(raw.position_m, sol.position_m)  # the options override the defaults


def test_warnings_are_collected_and_reissued():
    d = data_path("corpus")
    with pytest.warns(SatnavWarning, match="no ephemeris for these epochs"):
        sol = pipeline.solve_files(d / "demo.10o", [d / "demo.10n"])
    assert any("no ephemeris for these epochs" in w for w in sol.warnings)


def test_solve_files_errors():
    d = data_path(GSI)
    with pytest.raises(SatnavError, match="needs base observations"):
        pipeline.solve_files(d / "07590920.05o", [d / "07590920.05n"], SolveOptions(mode="dgnss"))
    with pytest.raises(SatnavError, match="no navigation file given"):
        pipeline.solve_files(d / "07590920.05o")
    with pytest.raises(SatnavError, match="not an observation file"):
        pipeline.solve_files(d / "07590920.05n", [d / "07590920.05n"])


def test_compare_orbits_equals_satnav_orbits(tmp_path, capsys):
    import json

    d = data_path("esbc-2020-177")
    nav = d / "ESBC00DNK_R_20201770000_01D_MN.rnx.gz"
    sp3 = sorted(d.glob("*ORB.SP3*"))
    if not sp3:
        pytest.skip("no precise orbit file in esbc-2020-177")
    out, js = tmp_path / "b.sp3", tmp_path / "b.json"
    assert main(["orbits", str(nav), "-o", str(out), "--compare", *map(str, sp3), "--systems", "GE",
                 "--start", "2020-06-25T00:00:00", "--end", "2020-06-25T06:00:00", "--json", str(js)]) == 0
    options = OrbitComparisonOptions(start="2020-06-25T00:00:00", end="2020-06-25T06:00:00", systems="GE")
    cmp = pipeline.compare_orbits([nav], sp3, options=options)
    got = json.loads(json.dumps(cmp.summary()))
    want = json.loads(js.read_text())
    assert want.pop("output") == str(out)
    assert got == want


def test_rtcm3_log_without_ephemerides_dated_by_the_navigation_file(rtklib_encode):
    """An RTCM 3 log of MSM4 only (RTKLIB str2str's, from the cold-start UBX log of 2025-04-25)
    and RTKLIB's navigation file of that log: the log is dated by the navigation data (its
    time tags hold no week), not by today, and every epoch solved; the positions those of
    the UBX log itself (the same measurements), to the RTCM 3 resolution."""
    from satnav.gnss_time import calendar_to_ns

    log = rtklib_encode("16dBatt_no_interference_coldstart.ubx.gz", "1074,1094")
    nav = data_path("ubx", "16dBatt_no_interference_coldstart.nav.gz")
    with warnings.catch_warnings():
        warnings.simplefilter("error", SatnavWarning)  # (no "current week assumed")
        sol = pipeline.solve_files(log, [nav], SolveOptions(systems="G"))
    day = calendar_to_ns(2025, 4, 25)
    assert (sol.time_ns >= day).all() and (sol.time_ns < day + 86_400 * 10**9).all()
    assert sol.solved.all() and len(sol.time_ns) == 562
    ubx = pipeline.solve_files(data_path("ubx", "16dBatt_no_interference_coldstart.ubx.gz"), [nav],
                               SolveOptions(systems="G"))
    common, a, b = np.intersect1d(sol.time_ns, ubx.time_ns, return_indices=True)
    assert len(common) == 562
    both = sol.solved[a] & ubx.solved[b]
    assert both.sum() > 400
    assert np.median(np.linalg.norm(sol.position_m[a][both] - ubx.position_m[b][both], axis=1)) < 1.0
