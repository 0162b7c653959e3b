"""SP3 reader and writer, checked against values read by hand from the files."""

from __future__ import annotations

import time
import warnings

import numpy as np
import pytest

from satnav.errors import DamagedRecordWarning, Sp3Error
from satnav.gnss_time import NS_PER_S, calendar_to_ns
from satnav.io.sp3 import read_sp3, write_sp3
from satnav.satellites import satellite_index
from tests.conftest import data_path

KM = 1000.0
US = 1e-6


def corpus(name):
    return data_path("corpus", name)


def value_at(sp3, t_ns, sat_id):
    ti = int(np.searchsorted(sp3.time, t_ns))
    assert sp3.time[ti] == t_ns
    si = int(np.searchsorted(sp3.satellites, satellite_index(sat_id)))
    assert sp3.satellites[si] == satellite_index(sat_id)
    return sp3.position_m[ti, si], sp3.clock_s[ti, si]


def test_sp3a_example_with_elided_lines():
    # the specification's example elides records with lines "   *": each is named and skipped
    with pytest.warns(DamagedRecordWarning, match=r"example1.sp3a:\d+: unexpected line '   \*'") as rec:
        sp3 = read_sp3(corpus("example1.sp3a"))
    lines = [int(str(w.message).split("example1.sp3a:")[1].split(":")[0]) for w in rec]
    assert lines == [28, 29, 30, 37, 38, 39, 48, 49, 50]
    assert sp3.header.version == "a"
    assert sp3.header.agency == "NGS" and sp3.header.coordinate_system == "ITR92"
    assert sp3.header.interval_s == 900.0 and sp3.header.gps_week == 779
    assert len(sp3.satellites) == 25
    assert len(sp3.time) == 3
    # "*  1994 12 17  0  0  0.00000000" / "P  1  16258.524750  -3529.015750 -20611.427050    -62.540600"
    pos, clk = value_at(sp3, calendar_to_ns(1994, 12, 17), "G01")
    np.testing.assert_allclose(pos, np.array([16258.524750, -3529.015750, -20611.427050]) * KM, atol=1e-6)
    assert clk == pytest.approx(-62.540600 * US, abs=1e-15)
    # "*  1994 12 17 23 45  0.00000000" / "P 31   6034.395625 -25605.621951  -2843.783172     71.121661"
    pos, clk = value_at(sp3, calendar_to_ns(1994, 12, 17, 23, 45), "G31")
    np.testing.assert_allclose(pos, np.array([6034.395625, -25605.621951, -2843.783172]) * KM, atol=1e-6)
    assert clk == pytest.approx(71.121661 * US, abs=1e-15)
    # G04 is absent at the middle epoch (elided in the example)
    pos, clk = value_at(sp3, calendar_to_ns(1994, 12, 17, 0, 15), "G04")
    assert np.all(np.isnan(pos)) and np.isnan(clk)


def test_sp3c_minimal_missing_clock():
    sp3 = read_sp3(corpus("minimal.sp3c"))
    assert sp3.header.version == "c" and sp3.header.coordinate_system == "IGS14"
    assert sp3.satellite_ids() == [f"G{i:02d}" for i in range(1, 33)]
    # "PG04  25253.655993   7343.450049   4436.609553 999999.999999"
    pos, clk = value_at(sp3, calendar_to_ns(2017, 2, 14), "G04")
    np.testing.assert_allclose(pos, np.array([25253.655993, 7343.450049, 4436.609553]) * KM, atol=1e-6)
    assert np.isnan(clk)
    # "PG01   9950.635414 -20205.485937 -13973.830231     49.177035  7  6  8 122"
    pos, clk = value_at(sp3, calendar_to_ns(2017, 2, 14), "G01")
    np.testing.assert_allclose(pos, np.array([9950.635414, -20205.485937, -13973.830231]) * KM, atol=1e-6)
    assert clk == pytest.approx(49.177035e-6, abs=1e-15)
    assert not any(f.any() for f in sp3.flags.values())


def test_sp3d_minimal_multi_gnss_header():
    sp3 = read_sp3(corpus("minimal.sp3d"))
    h = sp3.header
    assert h.version == "d" and h.agency == "GFZ" and h.time_system == "GPS" and h.file_type == "M"
    assert len(sp3.satellites) == 116 and len(h.satellites) == 116
    # first '++' entries "10 10 10  0 10": 2**10 mm, and 0 = unknown
    np.testing.assert_allclose(h.accuracy_m[:5], [1.024, 1.024, 1.024, np.nan, 1.024])
    assert "(manually truncated)" in " ".join(h.comments)
    # "PC03 -14779.087533  39523.780866     78.676697 999999.999999"
    pos, clk = value_at(sp3, calendar_to_ns(2020, 1, 24), "C03")
    np.testing.assert_allclose(pos, np.array([-14779.087533, 39523.780866, 78.676697]) * KM, atol=1e-6)
    assert np.isnan(clk)
    ids = sp3.satellite_ids()
    assert ids[0] == "G01" and "R23" in ids and "J07" in ids and "C46" in ids


def test_code_1997_sp3c():
    sp3 = read_sp3(corpus("co108870.sp3"))
    assert len(sp3.time) == 96 and len(sp3.satellites) == 24
    assert sp3.time[1] - sp3.time[0] == 900 * NS_PER_S
    # "PG01  15439.211089  21527.722470  -1767.012001     10.550979"
    pos, clk = value_at(sp3, calendar_to_ns(1997, 1, 5), "G01")
    np.testing.assert_allclose(pos, np.array([15439.211089, 21527.722470, -1767.012001]) * KM, atol=1e-6)
    assert clk == pytest.approx(10.550979 * US, abs=1e-15)


def test_emr_1997_sp3a_numeric_ids():
    sp3 = read_sp3(corpus("emr08874.sp3"))
    assert sp3.header.version == "a" and len(sp3.time) == 96 and len(sp3.satellites) == 25
    # "P  1  15216.987064  21732.838988   1335.487660     10.539895"
    pos, clk = value_at(sp3, calendar_to_ns(1997, 1, 9), "G01")
    np.testing.assert_allclose(pos, np.array([15216.987064, 21732.838988, 1335.487660]) * KM, atol=1e-6)
    assert clk == pytest.approx(10.539895 * US, abs=1e-15)


def test_sio_1992_no_version_letter_no_eof():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # complete file: no warning although EOF is missing
        sp3 = read_sp3(corpus("sio06492.sp3"))
    assert len(sp3.time) == 148 and len(sp3.satellites) == 17
    assert sp3.header.interval_s == 1350.0
    # "*  1992  6 15  8 37 29.00000000" / "P  2  -9453.958236  21829.668884  11346.840538 999999.999999"
    pos, clk = value_at(sp3, calendar_to_ns(1992, 6, 15, 8, 37, 29.0), "G02")
    np.testing.assert_allclose(pos, np.array([-9453.958236, 21829.668884, 11346.840538]) * KM, atol=1e-6)
    assert np.isnan(clk)
    # last epoch "*  1992  6 17 15 44 59.00000000", last line "P 28  13418.861531 -10140.983029  20531.843378"
    pos, _ = value_at(sp3, calendar_to_ns(1992, 6, 17, 15, 44, 59.0), "G28")
    np.testing.assert_allclose(pos, np.array([13418.861531, -10140.983029, 20531.843378]) * KM, atol=1e-6)


def test_iac_multi_gnss_gz():
    sp3 = read_sp3(corpus("Sta21114.sp3.gz"))
    assert len(sp3.time) == 97 and len(sp3.satellites) == 121
    # "*  2020 06 25  0  0  0.00000000" / "PC01 -34346.145771  24493.239073    626.704364   -387.166264"
    pos, clk = value_at(sp3, calendar_to_ns(2020, 6, 25), "C01")
    np.testing.assert_allclose(pos, np.array([-34346.145771, 24493.239073, 626.704364]) * KM, atol=1e-6)
    assert clk == pytest.approx(-387.166264 * US, abs=1e-15)
    # the 97th epoch "*  2020 06 26  0  0  0.00000000", last record
    # "PR26 -12699.804671   5258.967720  21500.325395   -392.016830"
    pos, clk = value_at(sp3, calendar_to_ns(2020, 6, 26), "R26")
    np.testing.assert_allclose(pos, np.array([-12699.804671, 5258.967720, 21500.325395]) * KM, atol=1e-6)
    # "PC44 -13451.826877 -10691.412607  21986.206671 999999.999999" (first epoch)
    _, clk = value_at(sp3, calendar_to_ns(2020, 6, 25), "C44")
    assert np.isnan(clk)


def test_esa_unsorted_header_satellites():
    sp3 = read_sp3(corpus("ESA0OPSRAP_20232390000_01D_15M_ORB.SP3.gz"))
    assert len(sp3.satellites) == 54 and np.all(np.diff(sp3.satellites) > 0)
    assert sp3.header.satellites[0] == satellite_index("G13")  # header order kept there
    assert sp3.header.coordinate_system == "ITRF2"
    # "PG13   2925.049664  14841.662132 -22014.457083    565.049354"
    pos, clk = value_at(sp3, calendar_to_ns(2023, 8, 27), "G13")
    np.testing.assert_allclose(pos, np.array([2925.049664, 14841.662132, -22014.457083]) * KM, atol=1e-6)
    assert clk == pytest.approx(565.049354 * US, abs=1e-15)


def test_cod_rapid_2023():
    sp3 = read_sp3(data_path("orbits-2023-073", "COD0OPSRAP_20230730000_01D_05M_ORB.SP3"))
    assert len(sp3.satellites) == 78 and len(sp3.time) == 3
    assert sp3.header.interval_s == 300.0 and sp3.header.gps_week == 2253
    # "PG01  21831.572967  14746.989380  -4963.026791    203.089254"
    pos, clk = value_at(sp3, calendar_to_ns(2023, 3, 14), "G01")
    np.testing.assert_allclose(pos, np.array([21831.572967, 14746.989380, -4963.026791]) * KM, atol=1e-6)
    assert clk == pytest.approx(203.089254 * US, abs=1e-15)


def _grg(day):
    return data_path("esbc-2020-177", f"GRG0MGXFIN_2020{day}0000_01D_15M_ORB.SP3.gz")


def test_grg_merge_two_days():
    one = read_sp3(_grg(177))
    both = read_sp3(_grg(177), _grg(176))  # order of the arguments does not matter
    assert len(one.time) == 96 and len(both.time) == 192
    assert both.time[0] == calendar_to_ns(2020, 6, 24)
    assert both.time[-1] == calendar_to_ns(2020, 6, 25, 23, 45)
    assert np.all(np.diff(both.time) == 900 * NS_PER_S)
    assert len(both.sources) == 2 and len(both.satellites) == 75
    # day 176 last epoch "*  2020  6 24 23 45  0.00000000" / "PR24  11879.021625 -22553.459230    771.978765      3.888965"
    pos, clk = value_at(both, calendar_to_ns(2020, 6, 24, 23, 45), "R24")
    np.testing.assert_allclose(pos, np.array([11879.021625, -22553.459230, 771.978765]) * KM, atol=1e-6)
    assert clk == pytest.approx(3.888965 * US, abs=1e-15)
    # day 177 "PE08 -10261.549481 -27718.753350   1430.183889   6158.999594"
    pos, clk = value_at(both, calendar_to_ns(2020, 6, 25), "E08")
    np.testing.assert_allclose(pos, np.array([-10261.549481, -27718.753350, 1430.183889]) * KM, atol=1e-6)
    assert clk == pytest.approx(6158.999594 * US, abs=1e-15)
    # the same file twice: duplicate epochs removed
    twice = read_sp3(_grg(177), _grg(177))
    np.testing.assert_array_equal(twice.time, one.time)
    np.testing.assert_array_equal(twice.position_m, one.position_m)


def test_grg_reads_fast():
    path = _grg(177)
    read_sp3(path)
    t0 = time.perf_counter()
    read_sp3(path)
    assert time.perf_counter() - t0 < 0.5  # typically ~0.015 s; generous for CI


def test_blank_file_is_an_error_on_line_1():
    with pytest.raises(Sp3Error, match=r"blank.sp3:1: empty file"):
        read_sp3(corpus("blank.sp3"))


def test_truncated_file_keeps_good_epochs_and_names_the_damaged_end():
    with pytest.warns(DamagedRecordWarning, match=r"truncated.sp3:38: file ends after this epoch line"):
        sp3 = read_sp3(corpus("truncated.sp3"))
    assert len(sp3.time) == 1 and len(sp3.satellites) == 32
    assert np.isfinite(sp3.position_m).all(axis=-1).sum() == 32
    with pytest.raises(Sp3Error, match=r"truncated.sp3:38:"):
        read_sp3(corpus("truncated.sp3"), strict=True)


HAND_MADE = """\
#dV2020  6 25  0  0  0.00000000       2 ORBIT IGS14 HLM  TEST
## 2111 345600.00000000   900.00000000 59025 0.0000000000000
+    2   G01R05  0  0  0  0  0  0  0  0  0  0  0  0  0  0  0
++         5  6  0  0  0  0  0  0  0  0  0  0  0  0  0  0  0
%c M  cc {ts} ccc cccc cccc cccc cccc ccccc ccccc ccccc ccccc
%c cc cc ccc ccc cccc cccc cccc cccc ccccc ccccc ccccc ccccc
%f  1.2500000  1.025000000  0.00000000000  0.000000000000000
%f  0.0000000  0.000000000  0.00000000000  0.000000000000000
%i    0    0    0    0      0      0      0      0         0
%i    0    0    0    0      0      0      0      0         0
/* hand-made test file
*  2020  6 25  0  0  0.00000000
PG01  10000.000001 -20000.000002  15000.500000    -12.345678  7  6  8 122 EP  MP
EP   5   6   7   11 1234567 -1234567 5999999      -30      -40       50
VG01  12345.678901  -2345.678901    345.678901      1.234567
EV  22  22  22  222 1234567 1234567 1234567 1234567 1234567 1234567
PR05      0.000000   1000.000000   2000.000000 999999.999999
VR05      0.000000      0.000000      0.000000 999999.999999
*  2020  6 25  0 15  0.00000000
PG01  10001.000001 -20001.000002  15001.500000    -12.345000
PR05  -5000.000000   6000.000000   7000.000000     99.000001 11 12 13 100      P
EOF
"""


@pytest.mark.parametrize(
    "ts, offset_s", [("GPS", 0), ("GAL", 0), ("UTC", 18), ("TAI", -19), ("BDT", 14), ("GLO", 18)]  # SP3 GLO: GLONASS UTC time
)
def test_hand_made_sp3d_velocities_flags_and_time_systems(tmp_path, ts, offset_s):
    path = tmp_path / "hand.sp3"
    path.write_text(HAND_MADE.format(ts=ts))
    sp3 = read_sp3(path)
    t0 = calendar_to_ns(2020, 6, 25) + offset_s * NS_PER_S
    np.testing.assert_array_equal(sp3.time, [t0, t0 + 900 * NS_PER_S])
    assert sp3.header.time_system == ts
    assert sp3.satellite_ids() == ["G01", "R05"]
    np.testing.assert_allclose(sp3.position_m[0, 0], [10000000.001, -20000000.002, 15000500.0], atol=1e-7)
    assert sp3.clock_s[0, 0] == pytest.approx(-12.345678e-6, abs=1e-16)
    # velocities in dm/s -> m/s, clock rate 1e-4 us/s -> s/s
    np.testing.assert_allclose(sp3.velocity_m_s[0, 0], [1234.5678901, -234.5678901, 34.5678901], atol=1e-9)
    assert sp3.clock_rate_s_s[0, 0] == pytest.approx(1.234567e-10, rel=1e-12)
    # R05 at the first epoch: 0.000000 position and 999999.999999 clock are missing
    assert np.isnan(sp3.position_m[0, 1]).all() and np.isnan(sp3.clock_s[0, 1])
    assert np.isnan(sp3.velocity_m_s[0, 1]).all() and np.isnan(sp3.clock_rate_s_s[0, 1])
    # no V records at the second epoch
    assert np.isnan(sp3.velocity_m_s[1]).all()
    # flags: "EP  MP" in columns 75-80 of G01 at epoch 1, "  P" orbit prediction at column 80 of R05
    f = sp3.flags
    assert f["clock_event"][0, 0] and f["clock_predicted"][0, 0]
    assert f["maneuver"][0, 0] and f["orbit_predicted"][0, 0]
    assert not f["clock_event"][1, 1] and f["orbit_predicted"][1, 1]
    assert f["clock_event"].sum() == 1 and f["orbit_predicted"].sum() == 2
    np.testing.assert_allclose(sp3.header.accuracy_m, [0.032, 0.064])


def test_damaged_record_in_the_middle_is_skipped(tmp_path):
    text = HAND_MADE.format(ts="GPS").replace("PG01  10001.000001", "PG01  10001.0x0001")
    path = tmp_path / "damaged.sp3"
    path.write_text(text)
    with pytest.warns(DamagedRecordWarning, match=r"damaged.sp3:20: damaged 'P' record"):
        sp3 = read_sp3(path)
    assert len(sp3.time) == 2 and np.isnan(sp3.position_m[1, 0]).all()
    assert sp3.position_m[1, 1] == pytest.approx([-5e6, 6e6, 7e6])
    with pytest.raises(Sp3Error, match=r"damaged.sp3:20:"):
        read_sp3(path, strict=True)


def test_not_an_sp3_file(tmp_path):
    path = tmp_path / "x.sp3"
    path.write_text("hello\n")
    with pytest.raises(Sp3Error, match=r"x.sp3:1: expected an SP3 header"):
        read_sp3(path)
    path.write_text("#cP2017  2 14  0  0  0.00000000       2 ORBIT IGS14 HLM  IGS\n")
    with pytest.raises(Sp3Error, match=r"x.sp3:2: missing the second header line"):
        read_sp3(path)


def test_write_and_read_back(tmp_path):
    src = read_sp3(corpus("Sta21114.sp3.gz"))
    out = write_sp3(src, tmp_path / "out.sp3")
    back = read_sp3(out)
    assert back.header.version == "d"
    np.testing.assert_array_equal(back.time, src.time)
    np.testing.assert_array_equal(back.satellites, src.satellites)
    # 1 mm and 1 ps are the format's resolution; values from an SP3 file come back exactly
    np.testing.assert_allclose(back.position_m, src.position_m, atol=1e-6, equal_nan=True)
    np.testing.assert_allclose(back.clock_s, src.clock_s, atol=1e-15, equal_nan=True)
    assert np.array_equal(np.isnan(back.clock_s), np.isnan(src.clock_s))
    # the written text holds the value of the file's first record
    text = out.read_text().splitlines()
    assert text[0].startswith("#dP2020  6 25  0  0  0.00000000      97")
    assert "PC01 -34346.145771  24493.239073    626.704364   -387.166264" in text


def test_write_arrays_with_velocities_flags_and_nan(tmp_path):
    t = calendar_to_ns(2023, 3, 14) + np.arange(3) * 300 * NS_PER_S
    sats = np.array([satellite_index("E11"), satellite_index("C59")])
    rng = np.random.default_rng(0)
    pos = rng.uniform(-4e7, 4e7, (3, 2, 3))
    pos[1, 0] = np.nan
    clk = rng.uniform(-1e-3, 1e-3, (3, 2))
    clk[2, 1] = np.nan
    vel = rng.uniform(-4e3, 4e3, (3, 2, 3))
    rate = rng.uniform(-1e-10, 1e-10, (3, 2))
    out = write_sp3(
        None, tmp_path / "a.sp3", time=t, satellites=sats, position_m=pos, clock_s=clk,
        velocity_m_s=vel, clock_rate_s_s=rate,
    )
    back = read_sp3(out)
    np.testing.assert_array_equal(back.time, t)
    np.testing.assert_allclose(back.position_m, pos, atol=0.5e-3 + 1e-9, equal_nan=True)
    np.testing.assert_allclose(back.clock_s, clk, atol=0.5e-12 + 1e-18, equal_nan=True)
    assert np.isnan(back.position_m[1, 0]).all() and np.isnan(back.clock_s[2, 1])
    np.testing.assert_allclose(back.velocity_m_s, vel, atol=0.5e-7 + 1e-12)
    np.testing.assert_allclose(back.clock_rate_s_s, rate, atol=0.5e-16 + 1e-20)
    # write what was read: flags survive
    src = read_sp3(out)
    src.flags["maneuver"][0, 1] = True
    back2 = read_sp3(write_sp3(src, tmp_path / "b.sp3"))
    assert back2.flags["maneuver"][0, 1] and back2.flags["maneuver"].sum() == 1


def test_write_path_first_call_form(tmp_path):
    # the form used by `satnav orbits`: write_sp3(path, time, satellites, position_m, clock_s, ...)
    t = calendar_to_ns(2020, 6, 25, 6) + np.arange(2) * 900 * NS_PER_S
    sats = np.array([satellite_index("R21"), satellite_index("G05")])
    pos = np.full((2, 2, 3), 2.0e7)
    clk = np.full((2, 2), 1e-4)
    out = write_sp3(tmp_path / "c.sp3", t, sats, pos, clk, agency="SNV", comment="by a test")
    text = out.read_text().splitlines()
    # GPS week 2111, Thursday 06:00 -> SOW 4 * 86400 + 21600; MJD 59025.25
    assert text[1] == "## 2111 367200.00000000   900.00000000 59025 0.2500000000000"
    back = read_sp3(out)
    assert back.satellite_ids() == ["G05", "R21"] and back.header.agency == "SNV"
    assert "by a test" in back.header.comments
    np.testing.assert_allclose(back.position_m, pos)
