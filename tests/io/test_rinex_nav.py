"""RINEX navigation reader: values read by hand from the files (lines quoted), message
counts counted independently from the file text, bad input."""

from __future__ import annotations

import gzip
import re
import warnings
from pathlib import Path

import numpy as np
import pytest

from satnav.errors import DamagedRecordWarning, RinexError
from satnav.io.rinex_nav import (
    GLONASS_DTYPE,
    KEPLER_DTYPE,
    SBAS_DTYPE,
    Navigation,
    read_rinex_nav,
)
from tests.conftest import DATA, data_path

EPOCH = np.datetime64("1980-01-06T00:00:00", "ns")


def gpst(iso: str, offset_s: float = 0.0) -> int:
    """GPST ns of a calendar label plus ``offset_s`` (GPST - scale), by numpy datetime64."""
    return int((np.datetime64(iso, "ns") - EPOCH).astype(np.int64)) + int(offset_s * 1e9)


def text_of(path: Path) -> str:
    data = path.read_bytes()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    return data.decode("latin-1")


def count_records(path: Path) -> dict[str, int]:
    """Distinct ephemeris records per system, counted from the text with regexes."""
    text = text_of(path)
    body = text.split("END OF HEADER", 1)[1].split("\n", 1)[1]
    lines = body.splitlines()
    version = float(text[:9])
    records: dict[str, set] = {}
    if version >= 4:
        starts = [i for i, ln in enumerate(lines) if ln.startswith(">")] + [len(lines)]
        for a, b in zip(starts[:-1], starts[1:]):
            m = re.match(r"> EPH ([A-Z])", lines[a])
            if m:
                records.setdefault(m.group(1), set()).add("\n".join(lines[a:b]).rstrip())
        return {k: len(v) for k, v in records.items()}
    start_re = re.compile(r"^([A-Z])[ \d]\d \d{4} " if version >= 3 else r"^[ \d]\d [ \d]\d ")
    starts = [i for i, ln in enumerate(lines) if start_re.match(ln)] + [len(lines)]
    v2sys = {"N": "G", "G": "R", "E": "E", "H": "S"}[text[20]] if version < 3 else None
    for a, b in zip(starts[:-1], starts[1:]):
        system = lines[a][0] if version >= 3 else v2sys
        records.setdefault(system, set()).add("\n".join(x.rstrip() for x in lines[a:b]).rstrip())
    return {k: len(v) for k, v in records.items()}


def one(arr: np.ndarray, sat: int, toc: int, **match) -> np.void:
    sel = (arr["sat"] == sat) & (arr["toc"] == toc)
    for k, v in match.items():
        sel &= arr[k] == v
    assert sel.sum() == 1, f"{sel.sum()} messages for sat {sat} toc {toc}"
    return arr[sel][0]


# ------------------------------------------------------------------------------------------
def test_gps_rinex2_gsi():
    nav = read_rinex_nav(data_path("gsi-2005-092", "07590920.05n"))
    g = nav.messages["G"]
    assert g.dtype == KEPLER_DTYPE
    # " 1 05  4  2  2  0  0.0 3.966595977540D-04 1.705302565820D-12 0.000000000000D+00"
    # "    1.400000000000D+02-5.218750000000D+01 4.026596389650D-09 2.871534990340D+00"
    # "   -2.676621079440D-06 5.957618006510D-03 4.174187779430D-06 5.153636478420D+03"
    # "    5.256000000000D+05 1.061707735060D-07-2.493184817740D+00-9.313225746150D-08"
    # "    9.833919144490D-01 3.093750000000D+02-1.650496813270D+00-7.889971342930D-09"
    # "   -8.571785642400D-12 1.000000000000D+00 1.316000000000D+03 0.000000000000D+00"
    # "    1.000000000000D+00 0.000000000000D+00-3.259629011150D-09 3.960000000000D+02"
    # "    5.195760000000D+05"
    m = one(g, 1, gpst("2005-04-02T02:00:00"))
    assert m["message_type"] == "LNAV"
    assert m["af0"] == 3.966595977540e-04 and m["af1"] == 1.705302565820e-12 and m["af2"] == 0
    assert m["iode"] == 140 and m["crs"] == -52.1875 and m["delta_n"] == 4.026596389650e-09
    assert m["m0"] == 2.871534990340 and m["cuc"] == -2.676621079440e-06
    assert m["e"] == 5.957618006510e-03 and m["sqrt_a"] == 5.153636478420e03
    assert m["toe_sow"] == 525600 and m["week"] == 1316
    assert m["toe"] == gpst("2005-04-02T02:00:00")  # Saturday 02:00 = 6*86400 + 7200 s of week
    assert m["omega_dot"] == -7.889971342930e-09 and m["idot"] == -8.571785642400e-12
    assert m["accuracy"] == 1.0 and m["health"] == 0 and m["tgd"] == -3.259629011150e-09
    assert m["iodc"] == 396 and m["transmission_time"] == 519576
    assert np.isnan(m["fit_interval"])  # missing in the file
    assert np.isnan(m["bgd_e5a"]) and np.isnan(m["tgd2"])
    assert m["line"] == 13
    h = nav.header
    # "    1.1180D-08  1.4900D-08 -5.9600D-08 -5.9600D-08          ION ALPHA"
    np.testing.assert_array_equal(h.iono_corrections["GPSA"], [1.118e-8, 1.49e-8, -5.96e-8, -5.96e-8])
    # "   -2.793967723850D-09-5.329070518200D-15    61440     1061 DELTA-UTC: A0,A1,T,W"
    assert h.time_corrections["GPUT"] == (-2.793967723850e-09, -5.329070518200e-15, 61440, 1061)
    assert h.leap_seconds == 13 and h.version == 2.10
    assert nav.count_by_system() == count_records(data_path("gsi-2005-092", "07590920.05n"))


def test_glonass_rinex2_km_to_m_and_utc_toc():
    path = data_path("nl-2021-001", "amel0010.21g")
    nav = read_rinex_nav(path)
    r = nav.messages["R"]
    assert r.dtype == GLONASS_DTYPE
    # " 1 20 12 31 23 45  0.0 7.282570004460D-05 0.000000000000D+00 7.380000000000D+04"
    # "   -1.488799804690D+03-2.196182250980D+00 3.725290298460D-09 0.000000000000D+00"
    # "    1.292880712890D+04-2.049269676210D+00 0.000000000000D+00 1.000000000000D+00"
    # "    2.193169775390D+04 1.059645652770D+00-9.313225746150D-10 0.000000000000D+00"
    m = one(r, 101, gpst("2020-12-31T23:45:00", 18))  # UTC + 18 leap seconds
    assert m["clock_bias"] == 7.282570004460e-05 and m["gamma_n"] == 0
    assert m["frame_time"] == 73800  # seconds of the UTC day in RINEX 2
    assert m["x"] == pytest.approx(-1.488799804690e06, rel=1e-15)
    assert m["vx"] == pytest.approx(-2.196182250980e03, rel=1e-15)
    assert m["ax"] == pytest.approx(3.725290298460e-06, rel=1e-15)
    assert m["y"] == pytest.approx(1.292880712890e07, rel=1e-15)
    assert m["z"] == pytest.approx(2.193169775390e07, rel=1e-15)
    assert m["az"] == pytest.approx(-9.313225746150e-07, rel=1e-15)
    assert m["health"] == 0 and m["freq_num"] == 1 and m["age"] == 0
    assert np.isnan(m["group_delay"]) and np.isnan(m["urai"])
    assert nav.header.leap_seconds == 18
    assert nav.count_by_system() == count_records(path)


def test_esbc_mixed_rinex305_one_record_per_system():
    path = data_path("esbc-2020-177", "ESBC00DNK_R_20201770000_01D_MN.rnx.gz")
    nav = read_rinex_nav(path)
    assert nav.count_by_system() == count_records(path)
    assert nav.count_by_system() == {"G": 257, "R": 510, "E": 1602, "C": 357, "J": 15, "S": 2130}
    # only the systems asked for are decoded (what a solve of those systems reads): the same
    # messages as in the whole read, the counts of the text for those systems, no others
    counted = count_records(path)
    for systems in ("G", "RE", "GRECJI"):
        part = read_rinex_nav(path, systems=systems)
        assert part.count_by_system() == {s: n for s, n in counted.items() if s in systems}
        for s in part.messages:
            assert part.messages[s].tobytes() == nav.messages[s].tobytes()

    # G01 2020 06 25 04 00 00 1.604342833161e-05 7.048583938740e-12 0.000000000000e+00
    #      5.800000000000e+01-3.968750000000e+01 4.304822170265e-09 6.342094507864e-01
    #     -2.177432179451e-06 1.000394229777e-02 1.937150955200e-06 5.153707128525e+03
    #      3.600000000000e+05-1.508742570877e-07 2.572838528869e+00 1.359730958939e-07
    #      9.806518601091e-01 3.539687500000e+02 7.941703015008e-01-8.384634967987e-09
    #     -5.714523747137e-11 1.000000000000e+00 2.111000000000e+03 0.000000000000e+00
    #      2.000000000000e+00 0.000000000000e+00 5.122274160385e-09 5.800000000000e+01
    #      3.561060000000e+05 4.000000000000e+00
    g = one(nav.messages["G"], 1, gpst("2020-06-25T04:00:00"))
    assert g["af0"] == 1.604342833161e-05 and g["crs"] == -39.6875 and g["sqrt_a"] == 5153.707128525
    assert g["toe"] == gpst("2020-06-25T04:00:00") and g["week"] == 2111
    assert g["codes_l2"] == 1 and g["l2p_flag"] == 0 and g["accuracy"] == 2.0
    assert g["iodc"] == 58 and g["fit_interval"] == 4 and g["line"] == 15880

    # R01 2020 06 24 23 15 00 6.355904042721e-05 0.000000000000e+00 3.420000000000e+05
    #      1.090894238281e+04 1.407806396484e+00-1.862645149231e-09 0.000000000000e+00
    #     -2.885726074219e+03 2.795855522156e+00-0.000000000000e+00 1.000000000000e+00
    #      2.288353955078e+04-3.169984817505e-01-2.793967723846e-09 0.000000000000e+00
    #                          .999999999999e+09 1.500000000000e+01
    r = one(nav.messages["R"], 101, gpst("2020-06-24T23:15:00", 18))
    assert r["clock_bias"] == 6.355904042721e-05 and r["frame_time"] == 342000
    assert r["x"] == pytest.approx(1.090894238281e07, rel=1e-15)
    assert r["vy"] == pytest.approx(2.795855522156e03, rel=1e-15)
    assert r["freq_num"] == 1
    assert np.isnan(r["group_delay"])  # .999999999999e+09 = unknown (RINEX 3.05)
    assert np.isnan(r["status_flags"]) and np.isnan(r["health_flags"]) and r["urai"] == 15
    assert not np.any(np.abs(nav.messages["R"]["group_delay"]) > 1)  # no 1e9 s delays at all

    # E01 2020 06 24 23 30 00-8.846927667037e-04-7.972289495228e-12 0.000000000000e+00
    #     -6.996720012901e-10 2.580000000000e+02 2.111000000000e+03        (data sources 258)
    #      3.120000000000e+00 0.000000000000e+00-1.862645149231e-09 0.000000000000e+00
    #      3.445400000000e+05
    e_toc = gpst("2020-06-24T23:30:00")
    f = one(nav.messages["E"], 201, e_toc, message_type="FNAV")
    assert f["af0"] == -8.846927667037e-04 and f["data_source"] == 258
    assert f["bgd_e5a"] == -1.862645149231e-09 and f["bgd_e5b"] == 0.0
    assert f["accuracy"] == 3.12 and f["transmission_time"] == 344540
    assert f["toe_sow"] == 343800 and f["toe"] == e_toc
    # E01 2020 06 24 23 30 00-8.846933487803e-04-7.972289495228e-12 0.000000000000e+00
    #     -6.996720012901e-10 5.170000000000e+02 2.111000000000e+03        (data sources 517)
    #      3.120000000000e+00 0.000000000000e+00-1.862645149231e-09-2.095475792885e-09
    i = one(nav.messages["E"], 201, e_toc, message_type="INAV")
    assert i["af0"] == -8.846933487803e-04 and i["data_source"] == 517
    assert i["bgd_e5b"] == -2.095475792885e-09 and i["line"] == 3072

    # C05 2020 06 24 22 00 00-5.154609680176e-04-6.708145150469e-11 0.000000000000e+00 (GEO)
    #      3.384000000000e+05-6.146728992462e-08 2.697580724014e+00 6.146728992462e-08
    #      3.321566928024e-10 0.000000000000e+00 7.550000000000e+02
    #      2.000000000000e+00 0.000000000000e+00 1.000000000000e-10-9.300000000000e-09
    #      3.384276000000e+05 0.000000000000e+00
    c5 = one(nav.messages["C"], 305, gpst("2020-06-24T22:00:00", 14))  # BDT + 14 s
    assert c5["message_type"] == "D2" and c5["af0"] == -5.154609680176e-04
    assert c5["week"] == 755 and c5["toe_sow"] == 338400
    assert c5["toe"] == c5["toc"]  # BDT week 755, 338400 s = 2020-06-24 22:00:00 BDT
    assert c5["tgd"] == 1e-10 and c5["tgd2"] == -9.3e-09 and c5["iodc"] == 0
    # C11 2020 06 25 00 00 00-4.495864268392e-04-2.413269584167e-11 0.000000000000e+00 (MEO)
    #      2.000000000000e+00 0.000000000000e+00 4.000000000000e-09 1.100000000000e-09
    c11 = one(nav.messages["C"], 311, gpst("2020-06-25T00:00:00", 14))
    assert c11["message_type"] == "D1" and c11["iode"] == 1 and c11["sqrt_a"] == 5.282604581833e03
    assert c11["tgd"] == 4e-09 and c11["tgd2"] == 1.1e-09 and c11["toe_sow"] == 345600

    # J01 2020 06 25 11 00 00-2.819551154971e-04 5.684341886081e-12 0.000000000000e+00
    #      1.379343169465e-09 2.000000000000e+00 2.111000000000e+03 1.000000000000e+00
    #      2.800000000000e+00 0.000000000000e+00-5.587935447693e-09 9.690000000000e+02
    #      3.837780000000e+05 0.000000000000e+00
    j = one(nav.messages["J"], 401, gpst("2020-06-25T11:00:00"))
    assert j["codes_l2"] == 2 and j["l2p_flag"] == 1 and j["iodc"] == 969 and j["fit_interval"] == 0

    # S23 2020 06 25 00 00 16 0.000000000000e+00 0.000000000000e+00 3.456300000000e+05
    #      3.594460000000e+04 0.000000000000e+00 0.000000000000e+00 6.300000000000e+01
    #      2.204414000000e+04 0.000000000000e+00 0.000000000000e+00 3.276700000000e+04
    #      0.000000000000e+00 0.000000000000e+00 0.000000000000e+00 9.200000000000e+01
    s = one(nav.messages["S"], 623, gpst("2020-06-25T00:00:16"))
    assert s.dtype == SBAS_DTYPE
    assert s["x"] == 35944600.0 and s["y"] == 22044140.0 and s["health"] == 63
    assert s["accuracy"] == 32767 and s["iodn"] == 92 and s["transmission_time"] == 345630

    # header: "GAGP  2.3574102670E-09 3.996802889E-15 345600 2111          TIME SYSTEM CORR"
    assert nav.header.time_corrections["GAGP"] == (2.3574102670e-09, 3.996802889e-15, 345600, 2111)
    # "GAL    2.8250e+01  7.8125e-03  1.0071e-02  0.0000E+00       IONOSPHERIC CORR"
    np.testing.assert_array_equal(nav.header.iono_corrections["GAL"], [28.25, 7.8125e-3, 1.0071e-2])
    assert nav.header.leap_seconds == 18
    # sorted by (sat, toc)
    for arr in nav.messages.values():
        key = arr["sat"].astype(np.int64) * 2**40 + (arr["toc"] - arr["toc"].min()) // 10**9
        assert np.all(np.diff(key) >= 0)


def test_rinex4_kms300():
    path = data_path("corpus", "KMS300DNK_R_20221591000_01H_MN.rnx.gz")
    nav = read_rinex_nav(path)
    assert nav.header.version == 4.0
    assert nav.count_by_system() == count_records(path)
    text = text_of(path)
    assert nav.count_by_system()["E"] == len(re.findall(r"^> EPH E\d\d (INAV|FNAV)", text, re.M))
    e = nav.messages["E"]
    assert set(e["message_type"]) == {"INAV", "FNAV"}
    # > EPH C05 D2 / "C05 2022 06 08 09 00 00 2.531307982281E-04 ..."
    # "    -1.075044779930E-10                    8.570000000000E+02"   (blank spare -> NaN)
    c5 = one(nav.messages["C"], 305, gpst("2022-06-08T09:00:00", 14))
    assert c5["message_type"] == "D2" and c5["af0"] == 2.531307982281e-04 and c5["week"] == 857
    # > ION G29 LNAV
    #     2022 06 08 09 59 48 1.024454832077E-08 2.235174179077E-08-5.960464477539E-08
    #     -1.192092895508E-07 9.625600000000E+04 1.310720000000E+05-6.553600000000E+04
    #     -5.898240000000E+05 0.000000000000E+00
    ion = [r for r in nav.ion_records if r["sat"] == 29][0]
    assert ion["time"] == gpst("2022-06-08T09:59:48") and ion["model"] == "KLOBUCHAR"
    np.testing.assert_array_equal(
        ion["values"],
        [1.024454832077e-08, 2.235174179077e-08, -5.960464477539e-08, -1.192092895508e-07,
         9.6256e04, 1.31072e05, -6.5536e04, -5.89824e05, 0.0],
    )  # fmt: skip
    # > STO G26 LNAV
    #     2022 06 10 19 56 48 GPUT                                  UTC(USNO)
    #      2.952840000000E+05 9.313225746155E-10 2.664535259100E-15 0.000000000000E+00
    sto = [r for r in nav.sto_records if r["sat"] == 26][0]
    assert sto["code"] == "GPUT" and sto["utc_id"] == "UTC(USNO)"
    assert sto["t_tot"] == 295284 and sto["a0"] == 9.313225746155e-10 and sto["a1"] == 2.6645352591e-15
    assert len(nav.sto_records) == 3 and len(nav.ion_records) == 3 and nav.eop_records == []


def test_rinex4_unknown_message_types_are_counted_not_fatal(tmp_path):
    src = data_path("corpus", "KMS300DNK_R_20221591000_01H_MN.rnx.gz")
    text = text_of(src)
    extra = (
        "> EPH R05 L1OC\n"
        "R05 2022 06 08 10 00 00 1.000000000000E-04 0.000000000000E+00 0.000000000000E+00\n"
        "     1.000000000000E+00 2.000000000000E+00 3.000000000000E+00 4.000000000000E+00\n"
    )
    p = tmp_path / "with_l1oc.rnx"
    p.write_text(text + extra)
    with pytest.warns(UserWarning, match="R L1OC: 1"):
        nav = read_rinex_nav(p)
    assert nav.skipped == {"R L1OC": 1}
    assert nav.count_by_system() == count_records(src)


NAV_FILES = [
    ("corpus", "BRDC00IGS_R_20201360000_01D_MN.rnx"),
    ("corpus", "BRDM00DLR_R_20130010000_01D_MN.rnx"),
    ("corpus", "qzss_nav3.14n"),
    ("corpus", "demo_nav3.17n"),
    ("corpus", "demo.10n"),
    ("corpus", "spare_filled_nav3.rnx"),
    ("corpus", "ab422100.18n"),
    ("corpus", "ceda2100.18e"),
    ("corpus", "p1462100.18g"),
    ("corpus", "brdc0320.16l.txt"),
    ("corpus", "ijmu3650.21n.gz"),
    ("corpus", "HERT00GBR_R_20240920000_01D_GN.rnx.gz"),
    ("corpus", "KMS300DNK_R_20221591000_01H_MN.rnx.gz"),
    ("corpus", "14601736.18n"),
    ("nl-2021-001", "dlf10010.21g"),
    ("nl-2021-001", "cbw10010.21n.gz"),
    ("nl-2021-001", "AMEL00NLD_R_20210010000_01D_MN.rnx"),
    ("nl-2021-001", "BRDC00GOP_R_20210010000_01D_MN.rnx.gz"),
    ("nl-2021-001", "CBW100NLD_R_20210010000_01D_MN.rnx"),
    ("esbc-2020-177", "MOJN00DNK_R_20201770000_01D_MN.rnx.gz"),
    ("orbits-2023-073", "BRDC00WRD_S_20230730000_01D_MN.rnx"),
    ("orbits-2023-073", "BRDM00DLR_S_20230730000_01D_MN.rnx"),
    ("nya1-2024-124", "NYA100NOR_S_20241240000_01D_CN.rnx.gz"),
    ("nya1-2024-124", "NYA100NOR_S_20241240000_01D_EN.rnx.gz"),
    ("nya1-2024-124", "NYA100NOR_S_20241240000_01D_GN.rnx.gz"),
    ("ubx", "16dBatt_no_interference_coldstart.nav.gz"),
]


@pytest.mark.parametrize("parts", NAV_FILES, ids=[p[1] for p in NAV_FILES])
def test_navigation_files_read_with_independent_counts(parts):
    path = data_path(*parts)
    with warnings.catch_warnings():
        warnings.simplefilter("error", DamagedRecordWarning)
        nav = read_rinex_nav(path)
    assert nav.count_by_system() == count_records(path)
    assert len(nav) > 0
    for letter, arr in nav.messages.items():
        assert np.all(arr["sat"] // 100 == "GRECJIS".index(letter))
        if arr.dtype == KEPLER_DTYPE:
            # toe within a week of toc; sqrt(A) of a GNSS orbit
            assert np.all(np.abs(arr["toe"] - arr["toc"]) < 7 * 86400 * 10**9)
            assert np.all((arr["sqrt_a"] > 4000) & (arr["sqrt_a"] < 7000))
        elif letter == "R":
            r = np.sqrt(arr["x"] ** 2 + arr["y"] ** 2 + arr["z"] ** 2)
            assert np.all((r > 25.0e6) & (r < 26.0e6))  # GLONASS orbit radius ~25,500 km


def test_brdm_2023_navic_and_sbas():
    nav = read_rinex_nav(data_path("orbits-2023-073", "BRDM00DLR_S_20230730000_01D_MN.rnx"))
    assert set(nav.messages["I"]["message_type"]) == {"LNAV"}
    assert "IRNA" in nav.header.iono_corrections and "BDUT" in nav.header.time_corrections


def test_galileo3_damaged_field_skips_only_that_record():
    # line 29: "      .312000000000D+01  .000000000000D+00 -.651925802231D-08 . 000000000000D+00"
    path = data_path("corpus", "galileo3.15n")
    with pytest.warns(DamagedRecordWarning, match=r"galileo3\.15n:29:"):
        nav = read_rinex_nav(path)
    assert len(nav.messages["E"]) == 2  # three records, the third damaged
    with pytest.raises(RinexError, match=r"galileo3\.15n:29:"):
        read_rinex_nav(path, strict=True)


def test_truncated_last_record_and_bad_number(tmp_path):
    lines = text_of(data_path("gsi-2005-092", "07590920.05n")).splitlines()
    # records start at line 13, 8 lines each; break a number in the 2nd, cut the last
    lines[21 + 2] = lines[21 + 2][:10] + "X" + lines[21 + 2][11:]
    p = tmp_path / "bad.05n"
    p.write_text("\n".join(lines[:-3]) + "\n")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        nav = read_rinex_nav(p)
    messages = [str(w.message) for w in caught if issubclass(w.category, DamagedRecordWarning)]
    assert len(messages) == 2
    assert any("bad.05n:24:" in m and "starts at line 21" in m for m in messages)
    assert any("truncated" in m for m in messages)
    full = count_records(data_path("gsi-2005-092", "07590920.05n"))["G"]
    assert len(nav.messages["G"]) == full - 2


def test_blank_and_headerless_files(tmp_path):
    nav = read_rinex_nav(data_path("corpus", "blank.10n"))  # header only
    assert nav.count_by_system() == {} and len(nav) == 0
    assert nav.for_system("G").dtype == KEPLER_DTYPE and len(nav.for_system("R")) == 0
    p = tmp_path / "nohead.nav"
    p.write_text("G01 2020 06 25 04 00 00 1.604342833161e-05 7.048583938740e-12 0.0\n")
    with pytest.raises(RinexError, match=r"nohead\.nav:1:"):
        read_rinex_nav(p)
    q = tmp_path / "empty.nav"
    q.write_text("")
    with pytest.raises(RinexError, match=r"empty\.nav:1:"):
        read_rinex_nav(q)


def test_header_without_end(tmp_path):
    p = tmp_path / "noend.nav"
    p.write_text(
        "     3.05           N: GNSS NAV DATA    M: MIXED            RINEX VERSION / TYPE\n"
        "    18                                                      LEAP SECONDS\n"
    )
    with pytest.raises(RinexError, match=r"noend\.nav:2: no 'END OF HEADER'"):
        read_rinex_nav(p)


def _corpus_files():
    folder = DATA / "corpus"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


@pytest.mark.filterwarnings("ignore::satnav.errors.DamagedRecordWarning")
@pytest.mark.parametrize("name", _corpus_files())
def test_every_corpus_file_reads_or_raises_rinex_error_with_line(name):
    path = data_path("corpus", name)
    try:
        nav = read_rinex_nav(path)
    except RinexError as exc:
        assert exc.line is not None and exc.path == str(path)
        assert "\n" not in str(exc)
        return
    assert isinstance(nav, Navigation)


def test_met_file_is_a_clear_error():
    with pytest.raises(RinexError, match=r"abvi0010\.15m:1: file type 'METEOROLOGICAL DATA'"):
        read_rinex_nav(data_path("corpus", "abvi0010.15m"))


def test_merge_removes_duplicates():
    a = data_path("esbc-2020-177", "ESBC00DNK_R_20201770000_01D_MN.rnx.gz")
    nav1 = read_rinex_nav(a)
    nav2 = read_rinex_nav(a, a)
    assert nav2.count_by_system() == nav1.count_by_system()
    assert nav2.sources == [str(a), str(a)]
    b = data_path("esbc-2020-177", "MOJN00DNK_R_20201770000_01D_MN.rnx.gz")
    both = read_rinex_nav(a, b)
    nb = read_rinex_nav(b)
    for s, n in both.count_by_system().items():
        assert max(nav1.count_by_system()[s], nb.count_by_system()[s]) <= n
        assert n <= nav1.count_by_system()[s] + nb.count_by_system()[s]
    assert both.time_span()[0] <= nav1.time_span()[0]
