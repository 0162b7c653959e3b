"""RINEX navigation writer: read -> write -> read gives identical values (round trip)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from satnav.errors import SatnavWarning
from satnav.io.rinex_nav import read_rinex_nav, write_rinex_nav
from satnav.io.rinex_nav_writer import format_field
from tests.conftest import data_path


def assert_same_messages(a, b):
    assert a.count_by_system() == b.count_by_system()
    for s in a.messages:
        x, y = a.messages[s], b.messages[s]
        for name in x.dtype.names:
            if name in ("line", "source"):
                continue
            if x.dtype[name].kind == "f":
                np.testing.assert_array_equal(x[name], y[name], err_msg=f"{s} {name}")
            else:
                assert np.array_equal(x[name], y[name]), f"{s} {name}"


def assert_same_header(a, b):
    ha, hb = a.header, b.header
    assert ha.leap_seconds == hb.leap_seconds
    assert ha.iono_corrections.keys() == hb.iono_corrections.keys()
    for k in ha.iono_corrections:
        np.testing.assert_array_equal(ha.iono_corrections[k], hb.iono_corrections[k])
    assert ha.time_corrections == hb.time_corrections


def test_format_field_matches_rinex_d19_12():
    # as written in ESBC00DNK_R_20201770000_01D_MN: "-5.154609680176e-04", "6.355904042721e-05"
    assert format_field(-5.154609680176e-04) == "-5.154609680176E-04"
    assert format_field(6.355904042721e-05) == " 6.355904042721E-05"
    assert len(format_field(1.0)) == 19 and len(format_field(-1.0e-300)) == 19
    assert format_field(float("nan")) == " " * 19
    assert float(format_field(0.1 + 0.2)) == float(f"{0.1 + 0.2:.12e}")


def test_round_trip_esbc_mn(tmp_path):
    src = data_path("esbc-2020-177", "ESBC00DNK_R_20201770000_01D_MN.rnx.gz")
    nav = read_rinex_nav(src)
    out = tmp_path / "esbc.rnx"
    write_rinex_nav(nav, out)
    back = read_rinex_nav(out)
    assert back.header.version == 3.05
    assert_same_messages(nav, back)
    assert_same_header(nav, back)
    text = out.read_text()
    # every GLONASS record has the 3.05 fifth line with the "unknown" group delay marker
    assert text.count(".999999999999E+09") == len(nav.messages["R"])
    assert "GPUT  9.3132257462E-10 2.664535259E-15 589824 2111" in text
    assert "\n    18" in text and "LEAP SECONDS" in text


@pytest.mark.parametrize("version", [3.05, 4.0])
def test_round_trip_rinex4_kms300(tmp_path, version):
    src = data_path("corpus", "KMS300DNK_R_20221591000_01H_MN.rnx.gz")
    nav = read_rinex_nav(src)
    out = tmp_path / "kms.rnx"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        write_rinex_nav(nav, out, version=version)
    back = read_rinex_nav(out)
    assert_same_messages(nav, back)
    assert_same_header(nav, back)
    if version >= 4:
        assert not caught
        for kind in ("sto_records", "ion_records", "eop_records"):
            ra, rb = getattr(nav, kind), getattr(back, kind)
            assert len(ra) == len(rb)
            for x, y in zip(ra, rb):
                for k in x:
                    if k in ("line", "source"):
                        continue
                    if k == "values":
                        np.testing.assert_array_equal(x[k], y[k])
                    else:
                        assert x[k] == y[k], (kind, k)
    else:  # STO/ION records have no place in RINEX 3.05: said, not silently dropped
        assert any(issubclass(w.category, SatnavWarning) and "STO/EOP/ION" in str(w.message) for w in caught)


@pytest.mark.parametrize(
    "parts",
    [
        ("gsi-2005-092", "07590920.05n"),
        ("nl-2021-001", "amel0010.21g"),
        ("corpus", "ceda2100.18e"),
        ("orbits-2023-073", "BRDM00DLR_S_20230730000_01D_MN.rnx"),
        ("nya1-2024-124", "NYA100NOR_S_20241240000_01D_CN.rnx.gz"),
    ],
    ids=lambda p: p[1],
)
def test_round_trip_other_files(tmp_path, parts):
    nav = read_rinex_nav(data_path(*parts))
    out = tmp_path / "out.rnx"
    write_rinex_nav(nav, out)
    assert_same_messages(nav, read_rinex_nav(out))


def test_bad_version(tmp_path):
    nav = read_rinex_nav(data_path("corpus", "demo_nav3.17n"))
    with pytest.raises(ValueError):
        write_rinex_nav(nav, tmp_path / "x.rnx", version=2.11)
