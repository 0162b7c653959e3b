"""Issue 11, RINEX observation/navigation readers: the reproducers of
``../shared/cases/robustness/README.md`` (used in place) and crafted damage.

Expected behaviour (from that README): damaged records skipped with a warning naming
``FILE:LINE`` (an error with ``strict``), dates never wrapped, duplicate / out-of-order epochs
warned and resolved by a stated rule, event flag 3 site records applied from the event on,
implausible header values and navigation fields never used.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
import pytest

from satnav.errors import DamagedRecordWarning, RinexError, SatnavError, SatnavWarning
from satnav.gnss_time import calendar_to_ns, parse_gpst
from satnav.io.rinex_nav import read_rinex_nav
from satnav.io.rinex_obs import read_rinex_obs

_REPO = Path(__file__).resolve().parents[2]
#: SATNAV_CASES, else the sibling of SATNAV_DATA, else <repo>/../shared/cases
CASES = Path(
    os.environ.get("SATNAV_CASES")
    or (Path(os.environ["SATNAV_DATA"]).parent / "cases" if os.environ.get("SATNAV_DATA")
        else _REPO.parent / "shared" / "cases")
)
ROB = CASES / "robustness"


def case(name: str) -> Path:
    p = ROB / name
    if not p.exists():
        pytest.skip(f"case not available: {p}")
    return p


def read_warned(reader, *args, **kw):
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        out = reader(*args, **kw)
    return out, [str(x.message) for x in w], [x.category for x in w]


def test_calendar_to_ns_rejects_dates_int64_ns_cannot_hold():
    assert calendar_to_ns(2020, 1, 1) == 1261872000000000000  # unchanged for valid dates
    for year in (0, 1000, 9999):
        with pytest.raises(SatnavError, match="1688-2271"):
            calendar_to_ns(year, 1, 1)
    with pytest.raises(SatnavError):
        calendar_to_ns(np.array([2020, 9999]), 1, 1)
    with pytest.raises(SatnavError, match="9999"):
        parse_gpst("9999-01-01T00:00:00")


def test_01_nav_non_ascii_first_column_skips_the_record_with_its_line():
    path = case("01_nav_nonascii_col1.05n")
    nav, msgs, cats = read_warned(read_rinex_nav, path)
    assert len(nav.messages["G"]) == 2  # the two intact records
    assert any(m.startswith(f"{path}:21: ") for m in msgs)
    assert all("\xe9" not in m for m in msgs)
    with pytest.raises(RinexError, match=r":21: "):
        read_rinex_nav(path, strict=True)


def test_06_year_0000_epoch_is_a_damaged_record_not_wrapped():
    path = case("06_obs_year0000.rnx")
    obs, msgs, _ = read_warned(read_rinex_obs, path)
    assert len(obs.epochs) == 1
    assert obs.epochs[0] == calendar_to_ns(2022, 6, 8, 10, 0, 0)
    assert any(m.startswith(f"{path}:187: ") for m in msgs)
    with pytest.raises(RinexError, match=":187: "):
        read_rinex_obs(path, strict=True)


def test_07_rinex2_line_with_more_fields_than_types_left_is_damaged():
    path = case("07_r2_swapped_lines.10o")
    obs, msgs, _ = read_warned(read_rinex_obs, path)
    assert any(m.startswith(f"{path}:44: ") and "more fields" in m for m in msgs)
    # no C/N0 from a shifted line (0.1.0 read S1C = 34 357 446 dB-Hz)
    s1 = obs.codes.index("S1C")
    assert np.all(obs.value[obs.code == s1] < 100)
    with pytest.raises(RinexError, match=":44: "):
        read_rinex_obs(path, strict=True)


def test_09_flag3_site_records_apply_from_the_event_on():
    base = read_rinex_obs(case("gsi_obs_cut.05o"))
    path = case("09_flag3_newsite.05o")
    with pytest.warns(SatnavWarning, match=r"09_flag3_newsite.05o:54: event flag 3"):
        obs = read_rinex_obs(path)
    # the first occupation's header, not the new site's (0.1.0: -3000000, 4000000, ...)
    np.testing.assert_array_equal(obs.header.approx_position_m, base.header.approx_position_m)
    assert obs.header.marker_name == base.header.marker_name
    assert obs.events[0].flag == 3 and "NEWSITE" in obs.events[0].records[0]
    first = read_rinex_obs(path, occupation=1)
    second = read_rinex_obs(path, occupation=2)
    assert second.header.marker_name == "NEWSITE"
    np.testing.assert_array_equal(second.header.approx_position_m, [-3e6, 4e6, 4e6])
    assert len(first.epochs) + len(second.epochs) == len(obs.epochs)
    assert first.epochs.max() < second.epochs.min()
    with pytest.raises(RinexError, match="occupation 3"):
        read_rinex_obs(path, occupation=3)


def test_10_duplicate_epoch_keeps_the_first_record():
    base = read_rinex_obs(case("gsi_obs_cut.05o"))
    path = case("10_dup_conflict.05o")
    obs, msgs, _ = read_warned(read_rinex_obs, path)
    assert any(m.startswith(f"{path}:72: duplicate epoch") for m in msgs)
    np.testing.assert_array_equal(obs.epochs, base.epochs)
    np.testing.assert_array_equal(obs.value, base.value)
    with pytest.raises(RinexError, match=":72: duplicate"):
        read_rinex_obs(path, strict=True)


def test_10b_out_of_order_epochs_are_sorted_with_a_warning():
    base = read_rinex_obs(case("gsi_obs_cut.05o"))
    path = case("10b_out_of_order.05o")
    with pytest.warns(SatnavWarning, match=r"10b_out_of_order.05o:54: 1 epoch\(s\) out of time order"):
        obs = read_rinex_obs(path)
    np.testing.assert_array_equal(obs.epochs, base.epochs)
    np.testing.assert_array_equal(obs.time, base.time)
    np.testing.assert_array_equal(obs.value, base.value)
    assert np.all(np.diff(obs.epoch_lines[:1]) >= 0)


def test_16_implausible_antenna_height_is_ignored_with_a_warning():
    path = case("16_antenna_height_1e300.05o")
    with pytest.warns(DamagedRecordWarning, match=r"16_antenna_height_1e300.05o:10: implausible"):
        obs = read_rinex_obs(path)
    assert obs.header.antenna_delta_hen_m is None
    with pytest.raises(RinexError, match=":10: implausible"):
        read_rinex_obs(path, strict=True)


def test_15_nan_approx_position_is_ignored():
    obs, msgs, _ = read_warned(read_rinex_obs, case("15_approx_nan_json.05o"))
    assert obs.header.approx_position_m is None or np.isfinite(obs.header.approx_position_m).all()


def test_17_flag4_types_with_old_data_lines_are_detected_and_capped():
    path = case("17_flag4_types_mismatch.05o")
    obs, msgs, _ = read_warned(read_rinex_obs, path)
    more = [m for m in msgs if "more fields" in m]
    assert more and more[0].startswith(f"{path}:57: ")
    # at most 10 of one kind, then one closing "... and N more"
    assert len(more) <= 11 and "... and" in more[-1]
    assert len(obs.epochs) == 10


def _nav_with(tmp_path, old: str, new: str) -> Path:
    text = case("gsi_nav_cut.05n").read_text()
    assert old in text
    p = tmp_path / "bad.05n"
    p.write_text(text.replace(old, new, 1))
    return p


@pytest.mark.parametrize(
    ("old", "new", "why"),
    [
        ("5.153636478420D+03", "1.00000000000D+300", "beyond 1e20"),  # sqrtA 1e300
        ("5.153636478420D+03", "               NaN", "blank or NaN"),
        ("5.153636478420D+03", "               inf", "infinite"),
        ("5.153636478420D+03", "1.000000000000D+02", "sqrt\\(A\\)"),  # orbit inside the Earth
        ("5.957618006510D-03", "1.500000000000D+00", "eccentricity"),
        (" 1 05  4  2  2  0  0.0", " 1 05  4  2 25  0  0.0", "epoch field"),  # hour 25
        (" 1 05  4  2  2  0  0.0", " 1 05  4  2  2 60  0.0", "epoch field"),  # minute 60
        (" 1 05  4  2  2  0  0.0", " 1 05  4  2  2  0 61.0", "epoch field"),  # second 61
    ],
)
def test_nav_implausible_record_is_skipped_naming_its_line(tmp_path, old, new, why):
    good = read_rinex_nav(case("gsi_nav_cut.05n"))
    path = _nav_with(tmp_path, old, new)
    nav, msgs, _ = read_warned(read_rinex_nav, path)
    assert len(nav.messages["G"]) == len(good.messages["G"]) - 1
    assert any(m.startswith(f"{path}:13: ") and __import__("re").search(why, m) for m in msgs), msgs
    with pytest.raises(RinexError, match=":13: "):
        read_rinex_nav(path, strict=True)


def test_obs_epoch_fields_out_of_range_are_damaged(tmp_path):
    text = case("gsi_obs_cut.05o").read_text()
    first = next(ln for ln in text.splitlines() if ln.startswith(" 05  4  2"))
    for bad in (first[:10] + "25" + first[12:], first[:13] + "60" + first[15:],
                first[:16] + "61" + first[18:]):
        p = tmp_path / "o.05o"
        p.write_text(text.replace(first, bad, 1))
        obs, msgs, _ = read_warned(read_rinex_obs, p)
        assert len(obs.epochs) == 9 and any("bad epoch time" in m for m in msgs)


def test_warning_cap_sums_up_repeats(tmp_path):
    """30 damaged nav records -> 10 warnings of that kind and one '... and 20 more'."""
    text = case("gsi_nav_cut.05n").read_text()
    head, _, body = text.partition("END OF HEADER")
    head += "END OF HEADER" + body[: body.index("\n") + 1]
    body = body[body.index("\n") + 1 :]
    rec = body.splitlines()[:8]
    bad = [rec[0]] + [rec[1]] + [rec[2].replace("5.153636478420D+03", "1.000000000000D+02")] + rec[3:]
    p = tmp_path / "many.05n"
    p.write_text(head + ("\n".join(bad) + "\n") * 30)
    nav, msgs, _ = read_warned(read_rinex_nav, p)
    assert sum("sqrt(A)" in m for m in msgs) == 10
    assert sum("... and 20 more" in m for m in msgs) == 1
