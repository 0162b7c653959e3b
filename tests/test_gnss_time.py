"""GNSS time scales against published dates, week numbers and leap seconds."""

from __future__ import annotations

import numpy as np
import pytest

from satnav.gnss_time import (
    BDT_EPOCH_GPST_NS,
    NS_PER_DAY,
    NS_PER_S,
    NS_PER_WEEK,
    bdt_week_tow,
    calendar_to_ns,
    datetime64_to_ns,
    format_gpst,
    from_gpst,
    glonass_day_number,
    gps_week_tow,
    gpst_from_bdt_week_tow,
    gpst_from_week_tow,
    leap_seconds_at_gpst,
    leap_seconds_at_utc,
    ns_to_calendar,
    ns_to_datetime64,
    to_gpst,
)

S = NS_PER_S


def test_gps_epoch_is_week_zero():
    assert calendar_to_ns(1980, 1, 6) == 0
    week, tow = gps_week_tow(0)
    assert (week, tow) == (0, 0.0)


@pytest.mark.parametrize(
    "date, week, tow",
    [
        # the first week rollover (IS-GPS-200: week 1024 began 1999-08-22 00:00 GPST)
        ((1999, 8, 22), 1024, 0.0),
        # the second rollover, 2019-04-07
        ((2019, 4, 7), 2048, 0.0),
        # the esbc day: Thursday 2020-06-25 = GPS week 2111 day 4 (SP3 header "## 2111 345600.")
        ((2020, 6, 25), 2111, 345600.0),
        # 2023-03-14 (COD0OPSRAP day 073): SP3 header "## 2253 172800."
        ((2023, 3, 14), 2253, 172800.0),
    ],
)
def test_gps_week_and_tow_of_known_dates(date, week, tow):
    ns = calendar_to_ns(*date)
    assert gps_week_tow(ns) == (week, tow)
    assert gpst_from_week_tow(week, tow) == ns


def test_week_tow_vectorized_and_fractional():
    ns = calendar_to_ns([2020, 2020], [6, 6], [25, 27], [0, 23], [0, 59], [0.0, 59.5])
    week, tow = gps_week_tow(ns)
    np.testing.assert_array_equal(week, [2111, 2111])
    # Saturday 2020-06-27 23:59:59.5 is the last half second of the week
    np.testing.assert_array_equal(tow, [345600.0, 7 * 86400 - 0.5])
    np.testing.assert_array_equal(gpst_from_week_tow(week, tow), ns)


def test_leap_seconds_around_2017():
    # IERS Bulletin C 52: UTC stepped 2016-12-31 23:59:60; TAI-UTC 36 -> 37 s, GPST-UTC 17 -> 18 s
    before_utc = calendar_to_ns(2016, 12, 31, 23, 59, 59.0)
    after_utc = calendar_to_ns(2017, 1, 1, 0, 0, 0.0)
    assert leap_seconds_at_utc(before_utc) == 17
    assert leap_seconds_at_utc(after_utc) == 18
    gpst_before = to_gpst(before_utc, "UTC")
    gpst_after = to_gpst(after_utc, "UTC")
    assert gpst_before == before_utc + 17 * S
    assert gpst_after == after_utc + 18 * S
    # two UTC seconds apart on the label scale plus the inserted leap second
    assert gpst_after - gpst_before == 2 * S
    assert leap_seconds_at_gpst(gpst_before) == 17
    assert leap_seconds_at_gpst(gpst_after) == 18
    # round trip UTC <-> GPST across the step, second by second
    utc = calendar_to_ns(2016, 12, 31, 23, 59, 0.0) + np.arange(-5, 120) * S
    np.testing.assert_array_equal(from_gpst(to_gpst(utc, "UTC"), "UTC"), utc)
    # and a few historical values (IERS): 1 s from 1981-07-01, 13 s in 1999-2005, 14 s in 2006
    assert leap_seconds_at_utc(calendar_to_ns(1981, 6, 30, 23, 59, 59)) == 0
    assert leap_seconds_at_utc(calendar_to_ns(1981, 7, 1)) == 1
    assert leap_seconds_at_utc(calendar_to_ns(2005, 6, 1)) == 13
    assert leap_seconds_at_utc(calendar_to_ns(2006, 6, 1)) == 14


def test_bdt_is_gpst_minus_14s_and_its_weeks():
    # BDS-SIS-ICD 5.2: BDT starts 2006-01-01 00:00:00 UTC, when GPST-UTC was 14 s
    assert BDT_EPOCH_GPST_NS == calendar_to_ns(2006, 1, 1, 0, 0, 14.0)
    gpst = calendar_to_ns(2006, 1, 1, 0, 0, 14.0)
    assert bdt_week_tow(gpst) == (0, 0.0)
    assert gpst_from_bdt_week_tow(0, 0.0) == gpst
    t = calendar_to_ns(2020, 6, 25)
    assert to_gpst(t, "BDS") - t == 14 * S
    assert from_gpst(t, "BDT") == t - 14 * S
    # GPS week 2111 TOW 345600 is BDT week 2111-1356 = 755, TOW 345586
    week, tow = bdt_week_tow(t)
    assert (week, tow) == (755, 345586.0)
    np.testing.assert_array_equal(gpst_from_bdt_week_tow([755, 755], [345586.0, 0.0]),
                                  [t, t - 345586 * S])


def test_glonass_time_is_utc_plus_3h_and_day_numbers():
    # 2020-06-25 00:00:00 GPST = 2020-06-24 23:59:42 UTC = 2020-06-25 02:59:42 GLONASST
    gpst = calendar_to_ns(2020, 6, 25)
    glo = from_gpst(gpst, "GLO")
    assert glo == calendar_to_ns(2020, 6, 25, 2, 59, 42.0)
    assert to_gpst(glo, "GLO") == gpst
    # GLONASS ICD 5.1: N4 = 1 for 1996-1999, NT = day in the four-year interval (1..1461).
    # 2020-06-25 is in interval 7 (2020-2023), day 31 + 29 + 31 + 30 + 31 + 25 = 177.
    n4, nt, tod = glonass_day_number(gpst)
    assert (int(n4), int(nt), float(tod)) == (7, 177, 2 * 3600 + 59 * 60 + 42.0)
    # 1996-01-01 00:00 GLONASST is N4=1 NT=1; 1999-12-31 is NT=1461; 2000-01-01 N4=2 NT=1
    times = to_gpst(calendar_to_ns([1996, 1999, 2000], [1, 12, 1], [1, 31, 1], 0, 0, 1.0), "GLO")
    n4, nt, tod = glonass_day_number(times)
    np.testing.assert_array_equal(n4, [1, 1, 2])
    np.testing.assert_array_equal(nt, [1, 1461, 1])
    np.testing.assert_array_equal(tod, [1.0, 1.0, 1.0])


def test_galileo_qzss_navic_share_gpst():
    t = np.array([0, 10**18], dtype=np.int64)
    for scale in ("GAL", "QZS", "IRN", "GPS"):
        np.testing.assert_array_equal(to_gpst(t, scale), t)
        np.testing.assert_array_equal(from_gpst(t, scale), t)
    with pytest.raises(ValueError, match="unknown time scale"):
        to_gpst(0, "XYZ")


def test_ns_to_calendar_inverts_calendar_to_ns():
    rng = np.random.default_rng(7)
    ns = rng.integers(-5 * 365 * NS_PER_DAY, 120 * 365 * NS_PER_DAY, 10_000, dtype=np.int64)
    ns[:3] = [0, -1, NS_PER_WEEK * 2048]
    y, m, d, hh, mm, ss = ns_to_calendar(ns)
    whole = np.floor(ss)
    back = calendar_to_ns(y, m, d, hh, mm, whole) + (ns % S)
    np.testing.assert_array_equal(back, ns)
    # leap days and month ends
    y, m, d, *_ = ns_to_calendar(calendar_to_ns([2020, 2000, 2100], [2, 2, 2], [29, 29, 28]))
    np.testing.assert_array_equal(m, [2, 2, 2])
    np.testing.assert_array_equal(d, [29, 29, 28])
    y, m, d, *_ = ns_to_calendar(calendar_to_ns(2100, 2, 28) + NS_PER_DAY)
    assert (y, m, d) == (2100, 3, 1)  # 2100 is not a leap year


def test_datetime64_interop_and_format():
    t = calendar_to_ns(2020, 6, 25, 12, 30, 15.25)
    assert ns_to_datetime64(t) == np.datetime64("2020-06-25T12:30:15.250", "ns")
    assert datetime64_to_ns("2020-06-25T12:30:15.25") == t
    assert format_gpst(t) == "2020-06-25T12:30:15.25 GPST"
    assert format_gpst(calendar_to_ns(1980, 1, 6)) == "1980-01-06T00:00:00 GPST"
