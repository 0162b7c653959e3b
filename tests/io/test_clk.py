"""RINEX clock reader, checked against values read by hand from the files."""

from __future__ import annotations

import time

import numpy as np
import pytest

from satnav.errors import ClockFileError, DamagedRecordWarning
from satnav.gnss_time import NS_PER_S, calendar_to_ns
from satnav.io.clk import read_clk
from satnav.satellites import satellite_index
from tests.conftest import data_path


def bias_at(clk, t_ns, sat_id):
    ti = int(np.searchsorted(clk.satellite_time, t_ns))
    assert clk.satellite_time[ti] == t_ns
    si = int(np.searchsorted(clk.satellites, satellite_index(sat_id)))
    assert clk.satellites[si] == satellite_index(sat_id)
    return clk.satellite_bias_s[ti, si], clk.satellite_bias_sigma_s[ti, si]


def station_at(clk, name, t_ns):
    t, b = clk.stations[name]
    i = int(np.searchsorted(t, t_ns))
    assert t[i] == t_ns
    return b[i], clk.station_sigma_s[name][i]


def test_code_final_2019_version_200():
    clk = read_clk(data_path("corpus", "COD20352.CLK"))
    h = clk.header
    assert h.version == 2.0 and h.time_system == "GPS" and h.leap_seconds == 18
    assert h.analysis_center == "COD" and h.data_types == ["AR", "AS"]
    assert len(h.stations) == 316 and h.stations[0] == "PIE1"
    # "PIE1 40456M001           -1640917096 -5014781190  3575447020SOLN STA NAME / NUM" (mm)
    np.testing.assert_allclose(h.station_positions_m["PIE1"], [-1640917.096, -5014781.190, 3575447.020])
    t0 = calendar_to_ns(2019, 1, 8)
    # line 664: "AS G17  2019 01 08 00 00  0.000000  2   -0.783654813758E-05  0.313664338540E-11"
    b, s = bias_at(clk, t0, "G17")
    assert b == pytest.approx(-0.783654813758e-05, rel=1e-12)
    assert s == pytest.approx(0.313664338540e-11, rel=1e-12)
    # line 717: "AS G17  2019 01 08 00 00 30.000000  1   -0.783634765768E-05" (no sigma)
    b, s = bias_at(clk, t0 + 30 * NS_PER_S, "G17")
    assert b == pytest.approx(-0.783634765768e-05, rel=1e-12) and np.isnan(s)
    # line 340: "AR PIE1 2019 01 08 00 00  0.000000  2   -0.434274916279E-03  0.162031620104E-10"
    b, s = station_at(clk, "PIE1", t0)
    assert b == pytest.approx(-0.434274916279e-03, rel=1e-12)
    assert s == pytest.approx(0.162031620104e-10, rel=1e-12)
    # line 754: "AR PIE1 2019 01 08 00 01  0.000000  1   -0.434274946116E-03"
    b, _ = station_at(clk, "PIE1", t0 + 60 * NS_PER_S)
    assert b == pytest.approx(-0.434274946116e-03, rel=1e-12)
    assert clk.satellite_rate_s_s is None


def test_usno_spec_example_version_300():
    # corpus USNO1.txt is the RINEX clock 3.00 specification's example (AR with 6 values,
    # CR/DR calibration and discontinuity records that are skipped)
    clk = read_clk(data_path("corpus", "USNO1.txt"))
    assert clk.header.version == 3.0 and clk.header.leap_seconds == 15
    assert clk.header.analysis_center == "USN"
    assert len(clk.header.satellites) == 27  # the two PRN LIST lines hold 15 + 12
    t = calendar_to_ns(1994, 7, 14, 20, 59)
    # "AS G16  1994 07 14 20 59  0.000000  2   -0.123456789012E+00 -0.123456789012E+01"
    b, s = bias_at(clk, t, "G16")
    assert b == pytest.approx(-0.123456789012, rel=1e-12)
    assert s == pytest.approx(-1.23456789012, rel=1e-12)
    # "AR AREQ 1994 07 14 20 59  0.000000  6   -0.123456789012E+00 -0.123456789012E+01"
    assert list(clk.stations) == ["AREQ"]
    b, _ = station_at(clk, "AREQ", t)
    assert b == pytest.approx(-0.123456789012, rel=1e-12)


def test_grg_full_day_30s_all_satellites():
    path = data_path("esbc-2020-177", "GRG0MGXFIN_20201770000_01D_30S_CLK.CLK.gz")
    t0 = time.perf_counter()
    clk = read_clk(path)
    elapsed = time.perf_counter() - t0
    assert elapsed < 5.0  # ~0.45 s on the development machine; generous for CI
    assert len(clk.satellite_time) == 2880 and len(clk.satellites) == 75
    assert np.all(np.diff(clk.satellite_time) == 30 * NS_PER_S)
    assert clk.stations == {}
    assert "WIDELANE SATELLITE FRACTIONNAL BIASES FOR GALILEO" in " ".join(clk.header.comments)
    # line 108231: "AS R08  2020  6 25 12  0  0.000000  2   -0.530647239514E-04  0.489755907427E-10"
    b, s = bias_at(clk, calendar_to_ns(2020, 6, 25, 12), "R08")
    assert b == pytest.approx(-0.530647239514e-04, rel=1e-12)
    assert s == pytest.approx(0.489755907427e-10, rel=1e-12)
    # last line: "AS G01  2020  6 25 23 59 30.000000  2    0.165567088123E-04  0.649636041352E-11"
    b, _ = bias_at(clk, calendar_to_ns(2020, 6, 25, 23, 59, 30), "G01")
    assert b == pytest.approx(0.165567088123e-04, rel=1e-12)
    # every satellite of the header has a value at (almost) every epoch
    assert np.isfinite(clk.satellite_bias_s).mean() > 0.95


def test_cod_rapid_2023_and_merge():
    path = data_path("orbits-2023-073", "COD0OPSRAP_20230730000_01D_30S_CLK.CLK")
    clk = read_clk(path)
    assert len(clk.satellites) == 78 and len(clk.satellite_time) == 1
    t = calendar_to_ns(2023, 3, 14)
    # line 242: "AS E05  2023 03 14 00 00 00.000000  2   -0.867353661934E-04  0.203924741284E-10"
    b, s = bias_at(clk, t, "E05")
    assert b == pytest.approx(-0.867353661934e-04, rel=1e-12)
    assert s == pytest.approx(0.203924741284e-10, rel=1e-12)
    # line 133: "AR WAB2 2023 03 14 00 00 00.000000  2    0.245905105131E-06  0.388229519012E-10"
    b, _ = station_at(clk, "WAB2", t)
    assert b == pytest.approx(0.245905105131e-06, rel=1e-12)
    # merging with the 2019 file: both epochs sets, satellites united
    old = read_clk(data_path("corpus", "COD20352.CLK"))
    both = read_clk(path, data_path("corpus", "COD20352.CLK"))
    assert len(both.satellite_time) == len(old.satellite_time) + 1
    assert set(both.satellites) == set(old.satellites) | set(clk.satellites)
    assert both.sources[0].endswith("COD20352.CLK")  # sorted by time
    twice = read_clk(path, path)
    np.testing.assert_array_equal(twice.satellite_bias_s, clk.satellite_bias_s)
    np.testing.assert_array_equal(twice.stations["WAB2"][0], clk.stations["WAB2"][0])


def _h(content, label, v304):
    return f"{content:<65s}{label}" if v304 else f"{content:<60s}{label}"


def _hand_made(v304: bool, time_system="GPS") -> str:
    ver = "3.04" if v304 else "3.00"
    lines = [
        _h(f"     {ver}           C                   M", "RINEX VERSION / TYPE", v304),
        _h(f"   {time_system}", "TIME SYSTEM ID", v304),
        _h("    18", "LEAP SECONDS", v304),
        _h("     2    AR    AS", "# / TYPES OF DATA", v304),
        _h("TST  hand-made test file", "ANALYSIS CENTER", v304),
        _h("", "END OF HEADER", v304),
    ]
    name_g, name_st = ("G05      ", "ESBC00DNK") if v304 else ("G05 ", "ESBC")
    for sec in (0, 30):
        lines.append(
            f"AS {name_g} 2020 06 25 00 00 {sec:9.6f}  4   -0.100000000000E-03  0.100000000000E-10"
        )
        lines.append("    0.200000000000E-11  0.300000000000E-13")
        lines.append(f"AS {'C59      ' if v304 else 'C59 '} 2020 06 25 00 00 {sec:9.6f}  1    0.500000000000E-04")
        lines.append(f"AR {name_st} 2020 06 25 00 00 {sec:9.6f}  1    0.100000000000E-06")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("v304", [False, True])
def test_hand_made_versions_with_rates(tmp_path, v304):
    path = tmp_path / "hand.clk"
    path.write_text(_hand_made(v304))
    clk = read_clk(path)
    assert clk.header.version == (3.04 if v304 else 3.0)
    t0 = calendar_to_ns(2020, 6, 25)
    np.testing.assert_array_equal(clk.satellite_time, [t0, t0 + 30 * NS_PER_S])
    assert clk.satellite_ids() == ["G05", "C59"]
    np.testing.assert_allclose(clk.satellite_bias_s[:, 0], -1e-4)
    np.testing.assert_allclose(clk.satellite_bias_sigma_s[:, 0], 1e-11)
    np.testing.assert_allclose(clk.satellite_rate_s_s[:, 0], 2e-12)
    np.testing.assert_allclose(clk.satellite_rate_sigma_s_s[:, 0], 3e-14)
    assert np.isnan(clk.satellite_acceleration_s_s2).all()
    assert np.isnan(clk.satellite_rate_s_s[:, 1]).all() and np.isnan(clk.satellite_bias_sigma_s[:, 1]).all()
    np.testing.assert_allclose(clk.satellite_bias_s[:, 1], 5e-5)
    name = "ESBC00DNK" if v304 else "ESBC"
    np.testing.assert_allclose(clk.stations[name][1], [1e-7, 1e-7])


@pytest.mark.parametrize("ts, offset_s", [("GPS", 0), ("UTC", 18), ("BDT", 14), ("TAI", -19), ("GAL", 0)])
def test_time_systems(tmp_path, ts, offset_s):
    path = tmp_path / "ts.clk"
    path.write_text(_hand_made(False, ts))
    clk = read_clk(path)
    assert clk.satellite_time[0] == calendar_to_ns(2020, 6, 25) + offset_s * NS_PER_S


def test_damaged_record_skipped_with_its_line(tmp_path):
    text = _hand_made(False).replace("0.500000000000E-04", "0.5000000x0000E-04", 1)
    path = tmp_path / "bad.clk"
    path.write_text(text)
    with pytest.warns(DamagedRecordWarning, match=r"bad.clk:9: damaged clock data record"):
        clk = read_clk(path)
    assert np.isnan(clk.satellite_bias_s[0, 1]) and clk.satellite_bias_s[1, 1] == pytest.approx(5e-5)
    with pytest.raises(ClockFileError, match=r"bad.clk:9:"):
        read_clk(path, strict=True)


def test_bad_files(tmp_path):
    path = tmp_path / "x.clk"
    path.write_text("")
    with pytest.raises(ClockFileError, match=r"x.clk:1: empty file"):
        read_clk(path)
    path.write_text(_hand_made(False).replace("END OF HEADER", "END OF HEAD"))
    with pytest.raises(ClockFileError, match=r"no END OF HEADER"):
        read_clk(path)
    path.write_text("     3.00           O                   M" + " " * 20 + "RINEX VERSION / TYPE\n")
    with pytest.raises(ClockFileError, match=r"x.clk:1: not a RINEX clock file"):
        read_clk(path)


def _written(tmp_path, version):
    from satnav.io.clk import write_clk

    t = calendar_to_ns(2020, 6, 25) + np.array([0, 30], dtype=np.int64) * NS_PER_S
    path = tmp_path / f"w{version}.clk"
    write_clk(path, t, ["I01", "I07"], [[1.5e-4, -2.0e-7], [1.50001e-4, np.nan]],
              station_time_ns=t, stations=["XIAN", "LHAS"], station_bias_s=[[0.0, 1e-6], [0.0, 2.5e-6]],
              station_positions_m=[[-1707e3, 5057e3, 3582e3], [-107e3, 5550e3, 3139e3]],
              reference_station="XIAN", system="I", comments=["hand check"], version=version)
    return path, t


def test_writer_304_columns_by_hand(tmp_path):
    """The 3.04 layout of ``write_clk`` read by hand against the RINEX clock 3.04 tables:
    header labels in columns 66-85 (A15: version F4.2 then the file type 'C' in column 22
    and the system in column 43); data records A16 ``A2,1X,A9,1X,I4,1X,4(I2,1X),F9.6,1X,
    I2,3X,E19.12``: name in columns 4-12, year 14-17, seconds 31-39, count 41-42, bias 46-64."""
    path, t = _written(tmp_path, 3.04)
    lines = path.read_text().splitlines()
    end = lines.index(next(x for x in lines if x[65:] == "END OF HEADER"))
    labels = {"RINEX VERSION / TYPE", "PGM / RUN BY / DATE", "COMMENT", "TIME SYSTEM ID", "# / TYPES OF DATA",
              "ANALYSIS CENTER", "# OF CLK REF", "ANALYSIS CLK REF", "# OF SOLN STA / TRF",
              "SOLN STA NAME / NUM", "# OF SOLN SATS", "PRN LIST", "END OF HEADER"}
    assert all(len(x) <= 85 and x[65:] in labels for x in lines[: end + 1])
    first = lines[0]
    assert first[:4] == "3.04" and first[4:21].strip() == "" and first[21] == "C" and first[42] == "I"
    assert lines[3][:6] == "   GPS" and lines[3][65:] == "TIME SYSTEM ID"
    assert lines[4][:18] == "     2    AR    AS"
    sta = [x for x in lines if x[65:] == "SOLN STA NAME / NUM"]
    assert sta[0][:9] == "XIAN     " and int(sta[0][30:41]) == -1707000000 and int(sta[0][54:65]) == 3582000000
    assert [x[:16] for x in lines if x[65:] == "PRN LIST"] == ["I01 I07         "]
    body = lines[end + 1:]
    assert [x[:12] for x in body] == ["AR XIAN     ", "AR LHAS     ", "AS I01      ", "AS I07      ",
                                      "AR XIAN     ", "AR LHAS     ", "AS I01      "]  # NaN not written
    rec = body[3]
    assert (rec[12], rec[13:17], rec[17], rec[18:20], rec[21:23], rec[24:26], rec[27:29]) == (" ", "2020", " ", "06", "25", "00", "00")
    assert rec[30:39] == " 0.000000" and rec[40:42] == " 1" and rec[42:45] == "   " and len(rec) == 64
    assert float(rec[45:64]) == -2.0e-7 and float(body[6][45:64]) == 1.50001e-4
    assert body[6][30:39] == "30.000000"


@pytest.mark.parametrize("version", [3.04, 3.00])
def test_writer_round_trip(tmp_path, version):
    path, t = _written(tmp_path, version)
    clk = read_clk(path)
    assert clk.header.version == version and clk.header.time_system == "GPS"
    np.testing.assert_array_equal(clk.satellite_time, t)
    assert clk.satellite_ids() == ["I01", "I07"]
    np.testing.assert_array_equal(clk.satellite_bias_s, [[1.5e-4, -2.0e-7], [1.50001e-4, np.nan]])
    np.testing.assert_array_equal(clk.stations["LHAS"][1], [1e-6, 2.5e-6])
    np.testing.assert_array_equal(clk.stations["XIAN"][1], [0.0, 0.0])


def test_writer_values_read_by_rtklib(tmp_path):
    """RTKLIB's ``readrnxc`` (pyrtklib, RTKLIB 2.4.3) reads the clock layout of 3.00 only
    (file type in column 21, values from column 41), so it reads the file ``write_clk``
    writes with ``version=3.00``: the same epochs and satellite biases as satnav's reader
    gets from the 3.04 file."""
    rtk = pytest.importorskip("pyrtklib")
    path, t = _written(tmp_path, 3.00)
    nav = rtk.nav_t()
    assert rtk.readrnxc(str(path), nav) > 0 and nav.nc == 2
    trace = tmp_path / "trace.txt"  # tracepclk prints every epoch's clocks (ns)
    rtk.traceopen(str(trace))
    rtk.tracelevel(1)
    rtk.tracepclk(1, nav)
    rtk.traceclose()
    rows = [x.split() for x in trace.read_text().splitlines() if x.split()[3:4] in (["I01"], ["I07"])]
    got = {(r[1], r[3]): float(r[4]) * 1e-9 for r in rows if float(r[4]) != 0.0}
    ref = read_clk(_written(tmp_path, 3.04)[0])
    assert got == pytest.approx({("00:00:00", "I01"): ref.satellite_bias_s[0, 0],
                                 ("00:00:00", "I07"): ref.satellite_bias_s[0, 1],
                                 ("00:00:30", "I01"): ref.satellite_bias_s[1, 0]}, abs=1e-15)
    assert [int(nav.pclk[i].time.time) for i in range(2)] == list((t // NS_PER_S) + 315964800)


def test_writer_refuses_names_the_format_cannot_hold(tmp_path):
    from satnav.io.clk import write_clk

    t = np.array([0], dtype=np.int64)
    with pytest.raises(ClockFileError, match="station name 'TOOLONGNAME': expected 1 to 9 characters"):
        write_clk(tmp_path / "x.clk", t, ["G01"], [[0.0]], station_time_ns=t, stations=["TOOLONGNAME"],
                  station_bias_s=[[0.0]])
    with pytest.raises(ClockFileError, match="expected 1 to 4 characters"):
        write_clk(tmp_path / "x.clk", t, ["G01"], [[0.0]], station_time_ns=t, stations=["XIAN0"],
                  station_bias_s=[[0.0]], version=3.00)
    assert not (tmp_path / "x.clk").exists()
