"""Tests of the RINEX observation reader against values read by hand from the files
(quoted), an independent tiny counter (regular expressions on the text), and georinex
(only where installed)."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest

from satnav.errors import DamagedRecordWarning, RinexError
from satnav.gnss_time import calendar_to_ns
from satnav.io.rinex_obs import parse_rinex_obs, read_rinex_obs, rinex2_to_rinex3_codes
from satnav.io.textfile import read_bytes
from satnav.satellites import satellite_index
from tests.conftest import data_path


def value_of(obs, epoch_index, sat_id, code):
    """(value, lli, ssi) of one observation, or None when absent."""
    rows = np.flatnonzero(
        (obs.time == obs.epochs[epoch_index])
        & (obs.sat == satellite_index(sat_id))
        & (obs.code == obs.codes.index(code))
    )
    if len(rows) == 0:
        return None
    assert len(rows) == 1
    r = rows[0]
    return float(obs.value[r]), int(obs.lli[r]), int(obs.ssi[r])


def read_quiet(path, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a clean file must not warn
        return read_rinex_obs(path, **kw)


# --------------------------------------------------------------------------- independent counter
V3_EPOCH = re.compile(r"^> (\d{4}) .{22}  ([0-6]) *(\d+)", re.M)
V2_EPOCH = re.compile(
    r"^ (\d\d| \d) ([ \d]\d) ([ \d]\d) ([ \d]\d) ([ \d]\d)([ \d]{2}\d\.\d{7})  ([0-6])([ \d]{2}\d)(.*)$", re.M
)


def count_v3(text: str):
    """Epochs (flag 0/1) and satellite ids of a clean RINEX 3 text, by regex."""
    epochs, sats = 0, set()
    lines = text.splitlines()
    for i, line in enumerate(lines):
        m = V3_EPOCH.match(line)
        if m and int(m.group(2)) <= 1:
            epochs += 1
            for sl in lines[i + 1 : i + 1 + int(m.group(3))]:
                sats.add(sl[:3].replace(" ", "0"))
    return epochs, sats


def count_v2(text: str):
    epochs, sats = 0, set()
    lines = text.splitlines()
    for i, line in enumerate(lines):
        m = V2_EPOCH.match(line)
        if not m or int(m.group(7)) > 1:
            continue
        epochs += 1
        n = int(m.group(8))
        ids = line[32:68]
        k = 1
        while len(ids) < 3 * n:
            ids += lines[i + k][32:68]
            k += 1
        for j in range(n):
            sid = ids[3 * j : 3 * j + 3]
            sats.add(("G" if sid[0] == " " else sid[0]) + sid[1:].replace(" ", "0"))
    return epochs, sats


CLEAN_FILES = [
    ("corpus", "demo3.10o"),
    ("corpus", "demo.10o"),
    ("corpus", "ACOR00ESP_R_20213550000_01D_30S_MO.crx"),
    ("corpus", "DUTH0630.22D"),
    ("corpus", "KOSG0010.95O"),
    ("corpus", "flrs0010.12o"),
    ("corpus", "npaz3550.21d"),
    ("corpus", "pixel6.23o"),
    ("gsi-2005-092", "07590920.05o"),
    ("nl-2021-001", "delf0010.21o"),
    ("ubx", "16dBatt_no_interference_coldstart.obs.gz"),
]


@pytest.mark.parametrize("parts", CLEAN_FILES, ids=lambda p: p[1])
def test_epochs_and_satellites_match_independent_count(parts):
    path = data_path(*parts)
    text = read_bytes(path).decode("ascii", "replace")
    obs = read_quiet(path)
    epochs, sats = count_v3(text) if obs.header.version >= 3 else count_v2(text)
    assert len(obs.epochs) == epochs
    # satellites with at least one value (a listed satellite may have none: compare subsets)
    assert set(obs.satellites) <= sats
    assert len(sats - set(obs.satellites)) <= 1


# --------------------------------------------------------------------------- hand-read values
def test_demo3_values_read_by_hand():
    obs = read_quiet(data_path("corpus", "demo3.10o"))
    h = obs.header
    assert h.version == 3.01
    assert h.obs_codes["G"] == ["L1C", "L2P", "C1P", "C2P", "C1C", "S1P", "S2P"]
    assert h.obs_codes["R"] == ["L1C", "C1C", "S1C"]
    # "> 2010 03 05 00 00 00.0000000  0 14      -0.123456789012"
    assert obs.epochs[0] == calendar_to_ns(2010, 3, 5)
    assert obs.epochs[1] == calendar_to_ns(2010, 3, 5, 0, 0, 30)
    assert obs.receiver_clock_offset_s[0] == pytest.approx(-0.123456789012, abs=1e-15)
    # "G13 121367582.20508  94572134.49208  23095489.677 9  23095481.949 9  23095483.463 7        42.000          40.000"
    assert value_of(obs, 0, "G13", "L1C") == (121367582.205, 0, 8)
    assert value_of(obs, 0, "G13", "L2P") == (94572134.492, 0, 8)
    assert value_of(obs, 0, "G13", "C1P") == (23095489.677, 0, 9)
    assert value_of(obs, 0, "G13", "C1C") == (23095483.463, 0, 7)
    assert value_of(obs, 0, "G13", "S1P") == (42.0, 0, 0)
    # "R19 134357446.85408  23095483.463 7        51.000"
    assert value_of(obs, 0, "R19", "L1C") == (134357446.854, 0, 8)
    assert value_of(obs, 0, "R19", "S1C") == (51.0, 0, 0)
    # "G 7 118767195.32608 ..." -- blank tens digit of the PRN
    assert value_of(obs, 0, "G07", "L1C") == (118767195.326, 0, 8)
    # "  3 R11 -5R19 +3R23 -6                                      GLONASS SLOT / FRQ #"
    assert h.glonass_slots == {"R11": -5, "R19": 3, "R23": -6}
    # "G L1C  0.00000   9 G07 G09 G12 G13 G15 G20 G21 G26 G31 G32  SYS / PHASE SHIFTS"
    assert h.phase_shifts[0][:3] == ("G", "L1C", 0.0)
    assert h.approx_position_m.tolist() == [4789028.4701, 176610.0133, 4195017.031]
    assert len(obs.satellites) == 14


def test_rinex2_demo_values_and_code_mapping():
    obs = read_quiet(data_path("corpus", "demo.10o"))
    h = obs.header
    assert h.obs_codes_v2 == ["L1", "L2", "P1", "P2", "C1", "S1", "S2"]
    assert h.obs_codes["G"] == ["L1C", "L2W", "C1W", "C2W", "C1C", "S1C", "S2W"]
    assert h.obs_codes["R"] == ["L1C", "L2P", "C1P", "C2P", "C1C", "S1C", "S2P"]
    # " 10  3  5  0  0  0.0000000  0 14G13R19G32G 7R23G31G20R11G12G26G 9G21    -0.12345"
    # "                                G15S24"  (continuation of the satellite list)
    assert obs.epochs[0] == calendar_to_ns(2010, 3, 5)
    assert obs.receiver_clock_offset_s[0] == pytest.approx(-0.12345)
    assert {"G15", "S24", "G07", "G09"} <= set(obs.satellites)
    # G13: " 121367582.20508  94572134.49208  23095489.677 9  23095481.949 9  23095483.463 7"
    #      "        42.000          40.000"
    assert value_of(obs, 0, "G13", "L1C") == (121367582.205, 0, 8)
    assert value_of(obs, 0, "G13", "C1W") == (23095489.677, 0, 9)
    assert value_of(obs, 0, "G13", "C2W") == (23095481.949, 0, 9)
    assert value_of(obs, 0, "G13", "C1C") == (23095483.463, 0, 7)
    assert value_of(obs, 0, "G13", "S2W") == (40.0, 0, 0)
    # S24 (2nd satellite of the continuation): " 195486861.41208 ...  37199916.954 7" / "        45.000"
    assert value_of(obs, 0, "S24", "L1C") == (195486861.412, 0, 8)
    assert value_of(obs, 0, "S24", "C1C") == (37199916.954, 0, 7)
    assert value_of(obs, 0, "S24", "L2W") is None  # blank -> absent


def test_rinex2_two_digit_year_and_blank_system_letter():
    obs = read_quiet(data_path("corpus", "KOSG0010.95O"))
    # " 95 01 01 00 00 00.0000000  0  7 06 17 21 22 23 28 31"  (blank letter = GPS)
    assert obs.epochs[0] == calendar_to_ns(1995, 1, 1)
    assert "G06" in obs.satellites
    # "  21700656.31447  16909599.97044          .00041  24479973.67844  24479975.23247"
    codes = rinex2_to_rinex3_codes("G", obs.header.obs_codes_v2)
    assert value_of(obs, 0, "G06", codes[0]) == (21700656.314, 4, 7)
    assert value_of(obs, 0, "G06", codes[2]) == (0.0, 4, 1)  # ".000" kept as zero
    # " -21615220.85148 -16843025.89046 ..."  (second satellite, G17)
    assert value_of(obs, 0, "G17", codes[0]) == (-21615220.851, 4, 8)


def test_rinex2_to_rinex3_mapping_rules():
    assert rinex2_to_rinex3_codes("G", ["C1", "P1", "L1", "L2", "P2", "C2", "C5", "S1", "D1"]) == [
        "C1C", "C1W", "L1C", "L2W", "C2W", "C2X", "C5X", "S1C", "D1C"]
    assert rinex2_to_rinex3_codes("G", ["C1", "C2", "L1", "L2"]) == ["C1C", "C2X", "L1C", "L2X"]
    assert rinex2_to_rinex3_codes("R", ["C1", "P1", "P2", "L1", "L2"]) == ["C1C", "C1P", "C2P", "L1C", "L2P"]
    assert rinex2_to_rinex3_codes("E", ["C1", "C5", "C7", "C8", "L1"]) == ["C1X", "C5X", "C7X", "C8X", "L1X"]
    assert rinex2_to_rinex3_codes("S", ["C1", "L1"]) == ["C1C", "L1C"]
    assert rinex2_to_rinex3_codes("E", ["C1", "P1"]) == ["C1X", None]  # duplicate dropped


def test_hatanaka_matches_plain_rinex_and_hand_values():
    crx = read_quiet(data_path("corpus", "ACOR00ESP_R_20213550000_01D_30S_MO.crx"))
    rnx = read_quiet(data_path("corpus", "ACOR00ESP_R_20213550000_01D_30S_MO.rnx"))
    for name in ("time", "sat", "code", "value", "lli", "ssi", "epochs"):
        np.testing.assert_array_equal(getattr(crx, name), getattr(rnx, name))
    # "G01  24600158.420   129274705.78406        38.300    24600162.420   100733552.50006 ..."
    # G codes: C1C L1C S1C C2S L2S S2S C2W L2W S2W C5Q L5Q S5Q
    assert value_of(rnx, 0, "G01", "C1C") == (24600158.42, 0, 0)
    assert value_of(rnx, 0, "G01", "L1C") == (129274705.784, 0, 6)
    assert value_of(rnx, 0, "G01", "S1C") == (38.3, 0, 0)
    assert value_of(rnx, 0, "G01", "C2S") == (24600162.42, 0, 0)
    # " C1C  -71.940 C1P  -71.940 C2C  -71.940 C2P  -71.940        GLONASS COD/PHS/BIS"
    assert rnx.header.glonass_code_phase_bias == {"C1C": -71.94, "C1P": -71.94, "C2C": -71.94, "C2P": -71.94}
    assert rnx.header.glonass_slots["R22"] == -3


@pytest.mark.slow
def test_esbc_full_day():
    obs = read_quiet(data_path("esbc-2020-177", "ESBC00DNK_R_20201770000_01D_30S_MO.crx.gz"))
    assert len(obs.epochs) == 2880
    assert np.all(np.diff(obs.epochs) == 30 * 10**9)
    assert obs.codes_by_system().keys() == {"C", "E", "G", "J", "R", "S"}
    # "> 2020 06 25 00 00 00.0000000  0 43"
    # "C05  40715949.461 5                  40715946.882 6        -2.196 5      ...  212018673.07105"
    # C codes: C2I C6I C7I D2I D6I D7I L2I L6I L7I S2I S6I S7I
    assert value_of(obs, 0, "C05", "C2I") == (40715949.461, 0, 5)
    assert value_of(obs, 0, "C05", "C6I") is None
    assert value_of(obs, 0, "C05", "C7I") == (40715946.882, 0, 6)
    assert value_of(obs, 0, "C05", "D2I") == (-2.196, 0, 5)
    assert value_of(obs, 0, "C05", "L2I") == (212018673.071, 0, 5)
    assert value_of(obs, 0, "C05", "S2I") == (34.5, 0, 0)
    # rows sorted by time, satellite, code
    key = np.lexsort((obs.code, obs.sat, obs.time))
    assert np.array_equal(key, np.arange(len(key)))
    assert obs.header.phase_shifts[0][0:2] == ("C", "L2I") and np.isnan(obs.header.phase_shifts[0][2])


# --------------------------------------------------------------------------- broken corpus files
@pytest.mark.parametrize("name", ["blank.10o", "blank1st.10o", "blank3.10o"])
def test_blank_bodies_read_as_empty(name):
    obs = read_quiet(data_path("corpus", name))
    assert len(obs.epochs) == 0 and len(obs) == 0


def test_badtime_warns_and_keeps_good_epoch():
    path = data_path("corpus", "badtime.10o")
    with pytest.warns(DamagedRecordWarning) as rec:
        obs = read_rinex_obs(path)
    lines = sorted(int(str(w.message).split(":")[1]) for w in rec)
    # line 3: "  2010     3     5     0     0    0 .0000000     GPS        TIME OF FIRST OBS"
    # line 5: " 10  3  5  0  0 0 .0000000  0  8G13R19G32G 7R23G31G20R11"
    assert lines == [3, 5]
    # " 10  3  5  0  0 60.0000000  0  1G13" -> 00:01:00
    assert obs.epochs.tolist() == [calendar_to_ns(2010, 3, 5, 0, 1, 0)]
    assert obs.satellites == ["G13"]
    with pytest.raises(RinexError) as exc:
        read_rinex_obs(path, strict=True)
    assert exc.value.line == 3


def test_junk_time_rinex3_skips_one_record():
    path = data_path("corpus", "junk_time_obs3.10o")
    with pytest.warns(DamagedRecordWarning, match=r"junk_time_obs3.10o:10:"):
        obs = read_rinex_obs(path)  # line 10: "> 23 29"
    assert len(obs.epochs) == 2
    assert obs.satellites == ["G07", "G13", "G32", "R19"]
    with pytest.raises(RinexError, match=r":10: "):
        read_rinex_obs(path, strict=True)


def test_wrong_obs_type_count_is_a_header_error():
    with pytest.raises(RinexError) as exc:
        read_rinex_obs(data_path("corpus", "wrong_obs2_count.10o"))
    assert exc.value.line == 2
    assert "6 types but lists 7" in str(exc.value)


def test_rinex2_one_satellite_long_lines():
    obs = read_quiet(data_path("corpus", "rinex2onesat.10o"))
    assert obs.satellites == ["G13"]
    assert len(obs.epochs) == 2
    assert obs.receiver_clock_offset_s.tolist() == [-0.12345, -0.12345]
    # "        42.000          40.000   " (trailing blanks beyond column 80)
    assert value_of(obs, 0, "G13", "S2W") == (40.0, 0, 0)


# --------------------------------------------------------------------------- synthetic damage
def demo3_text():
    return read_bytes(data_path("corpus", "demo3.10o")).decode()


def test_damaged_value_skips_only_that_satellite_line():
    """A bad value on a line whose satellite id is readable loses that line only: the
    epoch and its other satellites are kept (every good record is kept)."""
    text = demo3_text().replace("G20 135891004.29908 105889081.83208", "G20 1358910X4.29908 105889081.83208", 1)
    lines = text.splitlines()
    bad_line = next(i for i, s in enumerate(lines) if "1358910X4" in s) + 1
    with pytest.warns(DamagedRecordWarning, match=rf"<bytes>:{bad_line}:"):
        obs = parse_rinex_obs(text.encode())
    clean = parse_rinex_obs(demo3_text().encode())
    assert obs.epochs.tolist() == clean.epochs.tolist()
    first = obs.epochs[0]
    g20 = satellite_index("G20")
    assert not np.any((obs.time == first) & (obs.sat == g20))
    others = (clean.time != first) | (clean.sat != g20)
    assert len(obs) == int(others.sum())
    np.testing.assert_array_equal(obs.value, clean.value[others])
    with pytest.raises(RinexError) as exc:
        parse_rinex_obs(text.encode(), strict=True)
    assert exc.value.line == bad_line


def test_unreadable_satellite_id_skips_the_epoch():
    text = demo3_text().replace("G20 135891004.29908", "#20 135891004.29908", 1)
    with pytest.warns(DamagedRecordWarning, match="expected a satellite id"):
        obs = parse_rinex_obs(text.encode())
    assert obs.epochs.tolist() == [calendar_to_ns(2010, 3, 5, 0, 0, 30)]


def test_truncated_file_and_wrong_count():
    text = demo3_text()
    lines = text.splitlines(keepends=True)
    truncated = "".join(lines[:-3])  # 8 satellites announced, 5 present
    epoch_line = next(i for i, s in enumerate(lines) if s.startswith("> 2010 03 05 00 00 30")) + 1
    with pytest.warns(DamagedRecordWarning, match=rf":{epoch_line}: epoch record announces 8"):
        obs = parse_rinex_obs(truncated.encode())
    assert len(obs.epochs) == 1 and len(obs.satellites) == 14
    # a blank line and a COMMENT between epochs are skipped silently
    extra = text.replace("> 2010 03 05 00 00 30", "\nA COMMENT" + " " * 51 + "COMMENT\n> 2010 03 05 00 00 30")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert len(parse_rinex_obs(extra.encode()).epochs) == 2


def test_header_errors():
    text = demo3_text()
    with pytest.raises(RinexError, match=r":1: first record is not 'RINEX VERSION / TYPE'"):
        parse_rinex_obs(text.replace("RINEX VERSION / TYPE", "SOMETHING ELSE      ").encode())
    with pytest.raises(RinexError, match="END OF HEADER"):
        parse_rinex_obs(text.replace("END OF HEADER", "END OF HEADEX").encode())
    with pytest.raises(RinexError, match=r":1: unsupported RINEX version"):
        parse_rinex_obs(text.replace("     3.01 ", "     5.01 ", 1).encode())
    with pytest.raises(RinexError, match="not observation"):
        parse_rinex_obs(text.replace("OBSERVATION DATA    M", "N: GNSS NAV DATA    M", 1).encode())
    with pytest.raises(RinexError):
        parse_rinex_obs(b"")


def test_rinex4_header_and_events():
    text = demo3_text().replace("     3.01 ", "     4.01 ", 1)
    text = text.replace(
        "                                                            END OF HEADER",
        "10.5281/zenodo.0000000                                      DOI\n"
        "                                                            END OF HEADER",
    )
    # a flag-4 event that changes the GLONASS types, then an epoch using them
    event = (
        ">                              4  2\n"
        "R    2 C1C L1C                                              SYS / # / OBS TYPES\n"
        "NEW TYPES FOR GLONASS                                       COMMENT\n"
        "> 2010 03 05 00 01 00.0000000  0  1\n"
        "R19  24597748.629 7 129262004.57708\n"
        "> 2010 03 05 00 01 30.0000000  5  0\n"
    )
    obs = parse_rinex_obs((text + event).encode())
    assert obs.header.version == 4.01
    assert ("DOI", "10.5281/zenodo.0000000") in obs.header.other_records
    assert [e.flag for e in obs.events] == [4, 5]
    assert obs.events[0].records[1].startswith("NEW TYPES")
    assert obs.events[1].time == calendar_to_ns(2010, 3, 5, 0, 1, 30)
    assert len(obs.epochs) == 3
    assert value_of(obs, 2, "R19", "C1C") == (24597748.629, 0, 7)
    assert value_of(obs, 2, "R19", "L1C") == (129262004.577, 0, 8)
    # earlier epochs keep the old decoding: "R19 129262004.57708  24597748.629 7        47.000"
    assert value_of(obs, 1, "R19", "L1C") == (129262004.577, 0, 8)
    assert value_of(obs, 1, "R19", "S1C") == (47.0, 0, 0)


def test_rinex2_event_changes_types():
    text = read_bytes(data_path("corpus", "rinex2onesat.10o")).decode()
    text += (
        "                            4  2\n"
        "     2    C1    L1                                          # / TYPES OF OBSERV\n"
        "NEW TYPES                                                   COMMENT\n"
        " 10  3  5  0  1  0.0000000  0  1G13\n"
        "  24799318.768 7 130321269.80108\n"
    )
    obs = parse_rinex_obs(text.encode())
    assert len(obs.epochs) == 3 and obs.events[0].flag == 4
    assert value_of(obs, 2, "G13", "C1C") == (24799318.768, 0, 7)
    assert value_of(obs, 2, "G13", "L1C") == (130321269.801, 0, 8)


def test_epoch_lines_rinex2_with_events():
    """14601736.18o (RINEX 2.11), lines counted in the file:
    34 "                            2  1"   (event, no time)
    36 " 18  6 22  6 17 30.0000000  0 12E07E19G03G07G09G23G30R07R08R09R10R11"
    61 "                            3  5"   (new site occupation, no time)
    67 " 18  6 22  6 17 45.0000000  0 13E07E19G03G07G09G16G23G30R07R08R09R10"
    95 " 18  6 22  6 18  0.0000000  0 13E07E19G03G07G09G16G23G30R07R08R09R10"
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DamagedRecordWarning)
        obs = read_rinex_obs(data_path("corpus", "14601736.18o"))
    assert obs.epoch_lines.dtype == np.int64 and len(obs.epoch_lines) == len(obs.epochs)
    assert obs.epoch_lines[:3].tolist() == [36, 67, 95]
    assert [(e.flag, e.time, e.line) for e in obs.events[:2]] == [(2, None, 34), (3, None, 61)]
    assert np.all(np.diff(obs.epoch_lines) > 0)
    assert all(e.line > 0 for e in obs.events)


def test_epoch_lines_rinex2_gsi_splice_comment():
    """07590920.05o: line 846 " 05  4  2  0 47 30.0040000  0  8G 1G 4G 7G11G19G20G24G28", line 855
    "                            4  1" (a COMMENT record), line 857 " 05  4  2  0 48  0.0040000 ..."
    and the first epoch on line 18 (after END OF HEADER on line 17); 8 satellites x 1 line."""
    obs = read_quiet(data_path("gsi-2005-092", "07590920.05o"))
    assert obs.epoch_lines[0] == 18
    k = int(np.flatnonzero(obs.epochs == calendar_to_ns(2005, 4, 2, 0, 47, 30.004))[0])
    assert obs.epoch_lines[k : k + 2].tolist() == [846, 857]
    assert obs.events[0].line == 855 and obs.events[0].time is None and obs.events[0].flag == 4


def test_epoch_lines_rinex3_and_select():
    """demo3.10o: epochs on lines 67 and 82 ("> 2010 03 05 00 00 00.0000000  0 14" and
    "> 2010 03 05 00 00 30.0000000  0 8"); appended events and epoch get the following lines."""
    obs = read_quiet(data_path("corpus", "demo3.10o"))
    assert obs.epoch_lines.tolist() == [67, 82]
    assert obs.select(obs.sat < 200).epoch_lines.tolist() == [67, 82]
    text = demo3_text()
    n = len(text.splitlines())
    text += (
        ">                              4  1\n"
        "SPLICE                                                      COMMENT\n"
        "> 2010 03 05 00 01 00.0000000  0  1\n"
        "R19 129262004.57708  24597748.629 7        47.000\n"
    )
    obs = parse_rinex_obs(text.encode())
    assert obs.epoch_lines.tolist() == [67, 82, n + 3]
    assert [(e.flag, e.time, e.line) for e in obs.events] == [(4, None, n + 1)]


def test_epoch_lines_skip_damaged_epochs():
    text = demo3_text().replace("G20 135891004.29908", "#20 135891004.29908", 1)
    with pytest.warns(DamagedRecordWarning):
        obs = parse_rinex_obs(text.encode())
    assert obs.epoch_lines.tolist() == [82]


def test_glonass_time_system_is_utc():
    text = demo3_text().replace("    GPS         TIME OF FIRST OBS", "    GLO         TIME OF FIRST OBS")
    obs = parse_rinex_obs(text.encode())
    assert obs.header.time_system == "GLO"
    assert obs.epochs[0] == calendar_to_ns(2010, 3, 5) + 15 * 10**9  # GPST - UTC = 15 s in 2010


# --------------------------------------------------------------------------- georinex
@pytest.mark.parametrize("parts", [("corpus", "demo3.10o"), ("gsi-2005-092", "07590920.05o"),
                                   ("corpus", "pixel6.23o")], ids=lambda p: p[1])
def test_agrees_with_georinex(parts):
    georinex = pytest.importorskip("georinex")
    path = data_path(*parts)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = georinex.load(path)
    obs = read_quiet(path)
    v2 = obs.header.version < 3
    svs = [str(s) for s in ds.sv.values]
    compared = 0
    for var in ds.data_vars:
        if var.endswith(("lli", "ssi")):
            continue
        for system in sorted({s[0] for s in svs}):
            code = var
            if v2:
                code = rinex2_to_rinex3_codes(system, obs.header.obs_codes_v2)[obs.header.obs_codes_v2.index(var)]
            cols = [i for i, s in enumerate(svs) if s[0] == system]
            theirs = ds[var].values[:, cols]
            if code not in obs.codes:
                assert np.all(np.isnan(theirs))
                continue
            ours = obs.dense(code, [satellite_index(svs[i]) for i in cols])
            np.testing.assert_array_equal(ours, theirs)
            compared += int(np.isfinite(theirs).sum())
    assert compared == len(obs)


def test_to_xarray_like_georinex():
    georinex = pytest.importorskip("georinex")
    pytest.importorskip("xarray")
    path = data_path("corpus", "demo3.10o")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = georinex.load(path)
    ours = read_quiet(path).to_xarray()
    assert list(ours.sv.values) == list(ds.sv.values)
    np.testing.assert_array_equal(ours.time.values, ds.time.values)
    for var in ("L1C", "C1C", "S1P", "L2P"):
        np.testing.assert_array_equal(ours[var].values, ds[var].values)


def test_rinex2_damaged_value_skips_only_that_satellite():
    """demo.10o, first epoch (14 satellites, G13 first): a letter in G13's first value
    (' 121367582.20508' -> ' 1213X7582.20508') loses G13's record only."""
    path = data_path("corpus", "demo.10o")
    text = path.read_text()
    assert " 121367582.20508" in text  # read by hand: G13's L1 at 2010-03-05 00:00:00
    bad = text.replace(" 121367582.20508", " 1213X7582.20508", 1)
    with pytest.warns(DamagedRecordWarning, match="bad observation value"):
        obs = parse_rinex_obs(bad.encode())
    clean = parse_rinex_obs(text.encode())
    assert obs.epochs.tolist() == clean.epochs.tolist()
    g13 = satellite_index("G13")
    lost = (clean.time == clean.epochs[0]) & (clean.sat == g13)
    assert lost.sum() == 7  # the seven observation types of the header
    np.testing.assert_array_equal(obs.value, clean.value[~lost])
