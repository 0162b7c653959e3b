"""RINEX 3.05 observation writer and ``satnav convert``.

Expected text is built from values read by hand off the original files (the lines are
quoted in comments), from Python's own ``format`` (an independent implementation of Fortran
F fields), and from georinex (an independent reader) when it is installed. The round-trip
tests need the reader (``satnav.io.rinex_obs``) and compare every value, LLI, SSI, epoch and
satellite of the re-read file with the original read.
"""

from __future__ import annotations

import gzip
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

from satnav.errors import SatnavError, SatnavWarning
from satnav.gnss_time import calendar_to_ns
from satnav.io.rinex_obs_writer import format_fixed, write_rinex_obs
from satnav.observations import Event, Observations, ObsHeader
from satnav.satellites import satellite_index
from tests.conftest import data_path

S = 1_000_000_000

# ACOR00ESP_R_20213550000_01D_30S_MO.rnx, header (RINEX 3.04):
# G   12 C1C L1C S1C C2S L2S S2S C2W L2W S2W C5Q L5Q S5Q      SYS / # / OBS TYPES
# E   15 C1C L1C S1C C5Q L5Q S5Q C6C L6C S6C C7Q L7Q S7Q C8Q  SYS / # / OBS TYPES
#        L8Q S8Q                                              SYS / # / OBS TYPES
ACOR_CODES = {
    "G": "C1C L1C S1C C2S L2S S2S C2W L2W S2W C5Q L5Q S5Q".split(),
    "R": "C1C L1C S1C C2P L2P S2P C2C L2C S2C C3Q L3Q S3Q".split(),
    "E": "C1C L1C S1C C5Q L5Q S5Q C6C L6C S6C C7Q L7Q S7Q C8Q L8Q S8Q".split(),
    "C": "C2I L2I S2I C6I L6I S6I C7I L7I S7I".split(),
}
# First epoch of the same file:
# > 2021 12 21 00 00  0.0000000  0 38
ACOR_EPOCH_LINE = "> 2021 12 21 00 00  0.0000000  0 38"
ACOR_G01 = (
    "G01  24600158.420   129274705.78406        38.300    24600162.420   100733552.50006"
    "        39.200    24600162.100   100733552.49806        37.150    24600160.900"
    "    96536320.75806        40.800"
)
ACOR_G16 = (
    "G16  21389146.080   112400729.55108        50.950                                  "
    "                  21389145.280    87584972.23408        48.750"
)
ACOR_E02 = (
    "E02  27688711.320   145505160.07446        40.600    27688713.600   108656456.44706"
    "        36.950    27688711.420   118104837.13505        35.050    27688713.340"
    "   111490972.17507        42.300    27688714.300   110073712.70907        43.600"
)
# the same lines as (code, value, lli, ssi), read by hand from the text above
ACOR_G01_VALUES = [
    ("C1C", 24600158.420, 0, 0), ("L1C", 129274705.784, 0, 6), ("S1C", 38.300, 0, 0),
    ("C2S", 24600162.420, 0, 0), ("L2S", 100733552.500, 0, 6), ("S2S", 39.200, 0, 0),
    ("C2W", 24600162.100, 0, 0), ("L2W", 100733552.498, 0, 6), ("S2W", 37.150, 0, 0),
    ("C5Q", 24600160.900, 0, 0), ("L5Q", 96536320.758, 0, 6), ("S5Q", 40.800, 0, 0),
]
ACOR_G16_VALUES = [
    ("C1C", 21389146.080, 0, 0), ("L1C", 112400729.551, 0, 8), ("S1C", 50.950, 0, 0),
    ("C2W", 21389145.280, 0, 0), ("L2W", 87584972.234, 0, 8), ("S2W", 48.750, 0, 0),
]
ACOR_E02_VALUES = [
    ("C1C", 27688711.320, 0, 0), ("L1C", 145505160.074, 4, 6), ("S1C", 40.600, 0, 0),
    ("C5Q", 27688713.600, 0, 0), ("L5Q", 108656456.447, 0, 6), ("S5Q", 36.950, 0, 0),
    ("C6C", 27688711.420, 0, 0), ("L6C", 118104837.135, 0, 5), ("S6C", 35.050, 0, 0),
    ("C7Q", 27688713.340, 0, 0), ("L7Q", 111490972.175, 0, 7), ("S7Q", 42.300, 0, 0),
    ("C8Q", 27688714.300, 0, 0), ("L8Q", 110073712.709, 0, 7), ("S8Q", 43.600, 0, 0),
]


def _blank_zero_lli(line: str) -> str:
    """A RINEX 3 satellite line with LLI "0" written blank, as satnav writes it (the data model
    keeps 0 for both; RINEX 3.05 A3 gives them the same meaning)."""
    if line.startswith(">"):
        return line
    chars = list(line)
    for i in range(3 + 14, len(chars), 16):
        if chars[i] == "0":
            chars[i] = " "
    return "".join(chars)


def _build(epochs, records, codes_by_system, clock=None, events=None, **header):
    """Observations from (epoch index, satellite id, [(code, value, lli, ssi), ...])."""
    codes = sorted({c for cs in codes_by_system.values() for c in cs})
    rows = []
    for e, sat, values in records:
        for code, value, lli, ssi in values:
            rows.append((epochs[e], satellite_index(sat), codes.index(code), value, lli, ssi))
    rows.sort(key=lambda r: (r[0], r[1], r[2]))
    t, sat, code, value, lli, ssi = (np.array(c) for c in zip(*rows)) if rows else ([],) * 6
    h = ObsHeader(obs_codes=codes_by_system, **header)
    return Observations(
        t, sat, code, value, lli, ssi, codes, epochs, receiver_clock_offset_s=clock,
        events=events, header=h,
    )


def _body(path) -> list[str]:
    lines = Path(path).read_text().splitlines()
    end = next(i for i, line in enumerate(lines) if line[60:].strip() == "END OF HEADER")
    return lines[end + 1:]


def _header(path) -> list[str]:
    lines = Path(path).read_text().splitlines()
    end = next(i for i, line in enumerate(lines) if line[60:].strip() == "END OF HEADER")
    return lines[: end + 1]


# ---------------------------------------------------------------------------- number layout
@pytest.mark.parametrize("width,decimals", [(14, 3), (11, 7), (15, 12), (3, 0), (6, 0)])
def test_format_fixed_matches_python_format(width, decimals):
    rng = np.random.default_rng(7)
    scaled = np.concatenate(
        [
            rng.integers(-(10**12), 10**14, 20_000),
            rng.integers(-(10**6), 10**6, 20_000),
            [0, 1, -1, 999, -999, 1000, -1000, 10 ** (width - 1) - 1, -(10 ** (width - 2)) + 1],
            [10 ** (width - 1) * 10, -(10 ** (width - 1))],  # too wide
        ]
    ).astype(np.int64)
    text, overflow = format_fixed(scaled, width, decimals)
    for n, t, over in zip(scaled.tolist(), text, overflow):
        ref = f"{n / 10**decimals:{width}.{decimals}f}" if decimals else f"{n:{width}d}"
        if decimals and abs(n) >= 2**53:
            continue  # float division inexact: no reference
        if len(ref) > width:
            assert over, ref
        else:
            assert not over, ref
            assert t.tobytes().decode() == ref


# ---------------------------------------------------------------------------- written text
def test_satellite_and_epoch_lines_match_the_original_text(tmp_path):
    t0 = calendar_to_ns(2021, 12, 21, 0, 0, 0)
    obs = _build(
        np.array([t0]),
        [(0, "G01", ACOR_G01_VALUES), (0, "G16", ACOR_G16_VALUES), (0, "E02", ACOR_E02_VALUES)],
        ACOR_CODES,
    )
    out = write_rinex_obs(obs, tmp_path / "acor.rnx")
    body = _body(out)
    # ACOR's epoch line with 3 satellites instead of 38
    assert body[0] == ACOR_EPOCH_LINE[:-2] + " 3"
    # satnav order: G before E; ACOR writes LLI 0 as "0", satnav leaves it blank
    assert body[1:] == [_blank_zero_lli(x) for x in (ACOR_G01, ACOR_G16, ACOR_E02)]


def test_header_records(tmp_path):
    t0 = calendar_to_ns(2021, 12, 21, 0, 0, 0)
    obs = _build(
        np.array([t0, t0 + 30 * S]),
        [(0, "G01", ACOR_G01_VALUES), (1, "E02", ACOR_E02_VALUES)],
        ACOR_CODES,
        marker_name="ACOR",
        marker_number="13434M001",
        observer="",
        agency="IGNE",
        receiver_number="1833574",
        receiver_type="LEICA GR50",
        receiver_version="4.50/7.710",
        antenna_number="103033",
        antenna_type="LEIAT504        LEIS",
        approx_position_m=np.array([4594489.8680, -678367.9920, 4357065.8700]),
        antenna_delta_hen_m=np.array([3.0460, 0.0, 0.0]),
        signal_strength_unit="DBHZ",
        interval_s=30.0,
        leap_seconds=18,
        glonass_slots={"R01": 1, "R02": -4, "R03": 5, "R04": 6, "R05": 1, "R06": -4, "R07": 5,
                       "R08": 6, "R09": -2},
        glonass_code_phase_bias={"C1C": -71.94, "C1P": -71.94, "C2C": -71.94, "C2P": -71.94},
        phase_shifts=[("E", "L1C", 0.0, []), ("C", "L2I", None, []),
                      ("G", "L2W", 0.25, [f"G{i:02d}" for i in range(1, 13)])],
        comments=["SNR is mapped to RINEX snr flag value [1-9]"],
    )
    header = _header(write_rinex_obs(obs, tmp_path / "h.rnx"))
    # labels start at column 61 on every line
    assert all(len(line) > 60 for line in header)
    assert header[0] == "     3.05           OBSERVATION DATA    M: MIXED            RINEX VERSION / TYPE"
    assert header[1].startswith("satnav ") and header[1].endswith("UTC PGM / RUN BY / DATE")
    expected = [
        # the lines of ACOR's header (quoted in ACOR_CODES and below), rewritten by hand
        "G   12 C1C L1C S1C C2S L2S S2S C2W L2W S2W C5Q L5Q S5Q      SYS / # / OBS TYPES",
        "R   12 C1C L1C S1C C2P L2P S2P C2C L2C S2C C3Q L3Q S3Q      SYS / # / OBS TYPES",
        "E   15 C1C L1C S1C C5Q L5Q S5Q C6C L6C S6C C7Q L7Q S7Q C8Q  SYS / # / OBS TYPES",
        "       L8Q S8Q                                              SYS / # / OBS TYPES",
        "C    9 C2I L2I S2I C6I L6I S6I C7I L7I S7I                  SYS / # / OBS TYPES",
        "ACOR                                                        MARKER NAME",
        "13434M001                                                   MARKER NUMBER",
        "                    IGNE                                    OBSERVER / AGENCY",
        "1833574             LEICA GR50          4.50/7.710          REC # / TYPE / VERS",
        "103033              LEIAT504        LEIS                    ANT # / TYPE",
        "        3.0460        0.0000        0.0000                  ANTENNA: DELTA H/E/N",
        "  4594489.8680  -678367.9920  4357065.8700                  APPROX POSITION XYZ",
        "DBHZ                                                        SIGNAL STRENGTH UNIT",
        "    30.000                                                  INTERVAL",
        "  2021    12    21     0     0    0.0000000     GPS         TIME OF FIRST OBS",
        "  2021    12    21     0     0   30.0000000     GPS         TIME OF LAST OBS",
        "  9 R01  1 R02 -4 R03  5 R04  6 R05  1 R06 -4 R07  5 R08  6 GLONASS SLOT / FRQ #",
        "    R09 -2                                                  GLONASS SLOT / FRQ #",
        " C1C  -71.940 C1P  -71.940 C2C  -71.940 C2P  -71.940        GLONASS COD/PHS/BIS",
        "    18                                                      LEAP SECONDS",
        "SNR is mapped to RINEX snr flag value [1-9]                 COMMENT",
        # RINEX 3.05 A2: A1,1X,A3,1X,F8.5,2X,I2.2,10(1X,A3); continuation 18X,10(1X,A3)
        "E L1C  0.00000                                              SYS / PHASE SHIFT",
        "C L2I                                                       SYS / PHASE SHIFT",
        "G L2W  0.25000  12 G01 G02 G03 G04 G05 G06 G07 G08 G09 G10  SYS / PHASE SHIFT",
        "                   G11 G12                                  SYS / PHASE SHIFT",
    ]
    for line in expected:
        assert line in header, line
    assert header[-1] == " " * 60 + "END OF HEADER"
    # mandatory order: first/last, END OF HEADER last, OBS TYPES before TIME OF FIRST OBS
    labels = [line[60:] for line in header]
    assert labels.index("SYS / # / OBS TYPES") < labels.index("TIME OF FIRST OBS")


def test_phase_shift_records_default_to_unknown(tmp_path):
    # no phase-shift list in the header: one record per phase code, correction blank
    t0 = calendar_to_ns(2021, 12, 21, 0, 0, 0)
    obs = _build(np.array([t0]), [(0, "G01", ACOR_G01_VALUES)], {"G": ACOR_CODES["G"]})
    header = _header(write_rinex_obs(obs, tmp_path / "p.rnx"))
    shifts = [line for line in header if line.endswith("SYS / PHASE SHIFT")]
    assert [line[:5] for line in shifts] == ["G L1C", "G L2S", "G L2W", "G L5Q"]
    assert all(not line[5:60].strip() for line in shifts)
    assert header[0][40] == "G"  # single-system file
    assert not any("GLONASS" in line for line in header)


def test_clock_offset_empty_epoch_and_flags(tmp_path):
    # demo3.10o: "> 2010 03 05 00 00 00.0000000  0 14      -0.123456789012" (F15.12, cols 42-56)
    t0 = calendar_to_ns(2010, 3, 5, 0, 0, 0)
    epochs = np.array([t0, t0 + 30 * S, t0 + 60 * S])
    obs = _build(
        epochs,
        [(0, "G13", [("C1C", 24799319.672, 0, 9)]), (2, "G13", [("C1C", 24799330.0, 0, 0)])],
        {"G": ["C1C"]},
        clock=[-0.123456789012, np.nan, 1.5e-9],
    )
    obs.epoch_flags[2] = 1  # power failure before the third epoch
    body = _body(write_rinex_obs(obs, tmp_path / "c.rnx"))
    assert body == [
        "> 2010 03 05 00 00  0.0000000  0  1      -0.123456789012",
        "G13  24799319.672 9",
        "> 2010 03 05 00 00 30.0000000  0  0",  # an epoch with no satellite is still written
        "> 2010 03 05 00 01  0.0000000  1  1       0.000000001500",
        "G13  24799330.000",
    ]
    assert body[0][41:56] == "-0.123456789012"


def test_events_are_written_in_time_order(tmp_path):
    t0 = calendar_to_ns(2018, 6, 22, 6, 17, 30)
    epochs = np.array([t0, t0 + 15 * S])
    # 14601736.18o:
    #                             3  5
    #               *** Start of Occupation ***                   COMMENT
    #  -4647137.5830  2562189.6255 -3526626.7006                  APPROX POSITION XYZ
    occupation = [
        "              *** Start of Occupation ***                   COMMENT",
        " -4647137.5830  2562189.6255 -3526626.7006                  APPROX POSITION XYZ",
    ]
    events = [
        Event(None, 2, 34, ["              *** Start of Kinematic Data ***               COMMENT"]),
        Event(t0 + 10 * S, 3, 61, occupation),
        Event(t0 + 20 * S, 5, 90, []),
        # a RINEX 2 observation-type change cannot stay: the body has one list per system
        Event(None, 4, 95, ["     2    C1    L1                                          # / TYPES OF OBSERV"]),
    ]
    obs = _build(
        epochs,
        [(0, "G03", [("C1C", 22719526.844, 0, 6)]), (1, "G03", [("C1C", 22719530.0, 0, 0)])],
        {"G": ["C1C"]},
        events=events,
    )
    # without epoch line numbers the two events with no time follow the event before them
    with pytest.warns(SatnavWarning, match="1 event record"):
        body = _body(write_rinex_obs(obs, tmp_path / "e.rnx"))
    assert body == [
        ">                              2  1",
        "              *** Start of Kinematic Data ***               COMMENT",
        "> 2018 06 22 06 17 30.0000000  0  1",
        "G03  22719526.844 6",
        "> 2018 06 22 06 17 40.0000000  3  2",
        occupation[0],
        occupation[1],
        "> 2018 06 22 06 17 45.0000000  0  1",
        "G03  22719530.000",
        "> 2018 06 22 06 17 50.0000000  5  0",
    ]


def test_events_without_time_keep_their_place_by_line(tmp_path):
    # 14601736.18o: the flag-3 event (line 61, no epoch) comes after the first epoch
    # (line 36) and before the second (line 67)
    t0 = calendar_to_ns(2018, 6, 22, 6, 17, 30)
    records = ["              *** Start of Occupation ***                   COMMENT"]
    obs = _build(
        np.array([t0, t0 + 15 * S]),
        [(0, "G03", [("C1C", 22719526.844, 0, 6)]), (1, "G03", [("C1C", 22719530.0, 0, 0)])],
        {"G": ["C1C"]},
        events=[Event(None, 3, 61, records)],
    )
    obs.epoch_lines = np.array([36, 67])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        body = _body(write_rinex_obs(obs, tmp_path / "e.rnx"))
    assert body == [
        "> 2018 06 22 06 17 30.0000000  0  1",
        "G03  22719526.844 6",
        ">                              3  1",
        records[0],
        "> 2018 06 22 06 17 45.0000000  0  1",
        "G03  22719530.000",
    ]


def test_values_rinex_cannot_hold_are_blank_with_a_warning(tmp_path):
    t0 = calendar_to_ns(2020, 6, 25, 0, 0, 0)
    values = [("C1C", 1.0e10, 0, 0), ("L1C", -1.0e9, 0, 0), ("D1C", -999999999.999, 0, 0),
              ("S1C", 9999999999.999, 0, 0)]
    obs = _build(np.array([t0]), [(0, "G05", values)], {"G": ["C1C", "L1C", "D1C", "S1C"]})
    with pytest.warns(SatnavWarning, match="2 observation value"):
        body = _body(write_rinex_obs(obs, tmp_path / "big.rnx"))
    assert body[1] == "G05" + " " * 32 + "-999999999.999  9999999999.999"


def test_only_305_and_gzip(tmp_path):
    t0 = calendar_to_ns(2020, 6, 25, 0, 0, 0)
    obs = _build(np.array([t0]), [(0, "G05", [("C1C", 20947300.931, 0, 8)])], {"G": ["C1C"]})
    with pytest.raises(SatnavError):
        write_rinex_obs(obs, tmp_path / "x.rnx", version=2.11)
    out = write_rinex_obs(obs, tmp_path / "x.rnx.gz")
    text = gzip.decompress(out.read_bytes()).decode()
    assert "G05  20947300.931 8\n" in text


def test_georinex_reads_the_written_file(tmp_path):
    gr = pytest.importorskip("georinex")
    t0 = calendar_to_ns(2021, 12, 21, 0, 0, 0)
    obs = _build(
        np.array([t0, t0 + 30 * S]),
        [(0, "G01", ACOR_G01_VALUES), (0, "G16", ACOR_G16_VALUES), (1, "E02", ACOR_E02_VALUES)],
        ACOR_CODES,
    )
    out = write_rinex_obs(obs, tmp_path / "g.rnx")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = gr.load(out)
    for e, sat, values in [(0, "G01", ACOR_G01_VALUES), (0, "G16", ACOR_G16_VALUES),
                           (1, "E02", ACOR_E02_VALUES)]:
        for code, value, _, _ in values:
            assert ds[code].isel(time=e).sel(sv=sat).item() == value, (sat, code)
    assert ds["L1C"].isel(time=0).sel(sv="E02").isnull().item()


def test_hatanaka_compresses_and_restores_the_written_file(tmp_path):
    # RNX2CRX (the reference Compact RINEX tool, through the hatanaka package) parses the
    # RINEX 3 epoch and data records by column and refuses malformed ones
    hatanaka = pytest.importorskip("hatanaka")
    t0 = calendar_to_ns(2021, 12, 21, 0, 0, 0)
    obs = _build(
        np.array([t0, t0 + 30 * S, t0 + 60 * S]),
        [(0, "G01", ACOR_G01_VALUES), (0, "G16", ACOR_G16_VALUES), (1, "E02", ACOR_E02_VALUES),
         (2, "G16", ACOR_G16_VALUES)],
        ACOR_CODES,
    )
    text = write_rinex_obs(obs, tmp_path / "h.rnx").read_bytes()
    assert hatanaka.crx2rnx(hatanaka.rnx2crx(text)) == text


# ---------------------------------------------------------------------------- round trips
ROUND_TRIP_FILES = [
    ("gsi-2005-092", "07590920.05o"),  # RINEX 2.10, GPS
    ("corpus", "demo.10o"),  # RINEX 2.11 mixed, clock offsets
    ("corpus", "14601736.18o"),  # RINEX 2.11 with event records
    ("corpus", "AJAC3550.21D"),  # Hatanaka 1.0 (RINEX 2.11)
    ("corpus", "demo3.10o"),  # RINEX 3.01
    ("corpus", "ACOR00ESP_R_20213550000_01D_30S_MO.rnx"),  # RINEX 3.04
    ("corpus", "ACOR00ESP_R_20213550000_01D_30S_MO.crx"),  # Hatanaka 3.0
    ("corpus", "flrs0010.12d"),  # Hatanaka 3.0 (RINEX 3.02)
    ("corpus", "gps.23O.gz"),  # gzip RINEX 3.02
]


def _reader():
    return pytest.importorskip("satnav.io.rinex_obs").read_rinex_obs


def _rows(obs):
    """Every observation as a sorted structured array (time, sat, code text, value, lli, ssi)."""
    codes = np.asarray(obs.codes, dtype="<U3")
    table = np.rec.fromarrays(
        [obs.time, obs.sat, codes[obs.code] if len(obs) else np.array([], "<U3"),
         obs.value, obs.lli, obs.ssi],
        names="time,sat,code,value,lli,ssi",
    )
    return np.sort(table, order=["time", "sat", "code"])


def assert_same_observations(a, b):
    assert np.array_equal(a.epochs, b.epochs)
    assert np.array_equal(a.epoch_flags, b.epoch_flags)
    assert np.array_equal(a.receiver_clock_offset_s, b.receiver_clock_offset_s, equal_nan=True)
    assert a.satellites == b.satellites
    ra, rb = _rows(a), _rows(b)
    assert len(ra) == len(rb)
    for name in ("time", "sat", "code", "lli", "ssi"):
        assert np.array_equal(ra[name], rb[name]), name
    assert np.array_equal(ra["value"], rb["value"], equal_nan=True)


@pytest.mark.parametrize("folder,name", ROUND_TRIP_FILES)
def test_convert_round_trip(folder, name, tmp_path):
    from satnav.cli import main

    read = _reader()
    src = data_path(folder, name)
    out = tmp_path / "out.rnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SatnavWarning)
        original = read(src)
        assert main(["convert", str(src), "-o", str(out)]) == 0
    assert out.read_text()[:9] == "     3.05"
    again = read(out, strict=True)
    assert_same_observations(original, again)
    # each system's observation types keep the original order (codes with data that the
    # original header did not list would follow them)
    for system, codes in original.header.obs_codes.items():
        if codes:
            assert again.header.obs_codes[system][: len(codes)] == codes, system
    assert [(e.flag, e.time) for e in again.events] == [
        (e.flag, e.time) for e in original.events if e.flag != 6 or original.header.version >= 3
    ]


def test_acor_body_is_the_original_text(tmp_path):
    """RINEX 3.04 -> 3.05: the data lines are the original lines, character for character."""
    read = _reader()
    src = data_path("corpus", "ACOR00ESP_R_20213550000_01D_30S_MO.rnx")
    out = write_rinex_obs(read(src), tmp_path / "acor.rnx")
    assert _body(out) == [_blank_zero_lli(line) for line in _body(src)]
    header = _header(out)
    for s, codes in ACOR_CODES.items():
        listed = [line for line in header if line.startswith(f"{s}  ") and "OBS TYPES" in line]
        assert listed and listed[0][3:6].strip() == str(len(codes))


def test_rinex2_conversion_text_by_hand(tmp_path):
    """demo.10o (RINEX 2.11, types L1 L2 P1 P2 C1 S1 S2) -> RINEX 3.05 lines built by hand.

    Original first epoch and its first two satellites (G13, R19):
     10  3  5  0  0  0.0000000  0 14G13R19G32G 7R23G31G20R11G12G26G 9G21    -0.12345
                                    G15S24
     121367582.20508  94572134.49208  23095489.677 9  23095481.949 9  23095483.463 7
            42.000          40.000
     134357446.85408                                                  23095483.463 7
            51.000
    """
    read = _reader()
    src = data_path("corpus", "demo.10o")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SatnavWarning)
        out = write_rinex_obs(read(src), tmp_path / "demo.rnx")
    header = _header(out)
    # one RINEX 3 code per RINEX 2 type, in the RINEX 2 order, for each system present
    types = {line[0]: line[7:60].split() for line in header if line.endswith("SYS / # / OBS TYPES")}
    assert set(types) == {"G", "R", "S"}
    assert all(len(codes) == 7 and [c[:2] for c in codes] == ["L1", "L2", "C1", "C2", "C1", "S1", "S2"]
               for s, codes in types.items() if s != "S")
    body = _body(out)
    assert body[0] == "> 2010 03 05 00 00  0.0000000  0 14      -0.123450000000"
    g13 = next(line for line in body if line.startswith("G13"))
    r19 = next(line for line in body if line.startswith("R19"))
    # the RINEX 2 fields in the same order; LLI 0 written blank
    assert g13 == ("G13 121367582.205 8  94572134.492 8  23095489.677 9  23095481.949 9"
                   "  23095483.463 7        42.000          40.000")
    assert r19 == ("R19 134357446.854 8" + " " * 48 + "  23095483.463 7        51.000")


def test_rinex2_events_keep_their_place(tmp_path):
    """14601736.18o: the new-occupation event (flag 3, line 61, no epoch) follows the epoch
    "18  6 22  6 17 30.0000000" and precedes "18  6 22  6 17 45.0000000"."""
    read = _reader()
    src = data_path("corpus", "14601736.18o")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SatnavWarning)
        original = read(src)
    assert original.epoch_lines is not None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SatnavWarning)  # flag-6 records of RINEX 2 left out
        body = _body(write_rinex_obs(original, tmp_path / "o.rnx"))
    heads = [line[:35] for line in body if line.startswith(">")]
    assert heads[:4] == [
        ">                              2  1",
        "> 2018 06 22 06 17 30.0000000  0 12",
        ">                              3  5",
        "> 2018 06 22 06 17 45.0000000  0 13",
    ]
    again = read(tmp_path / "o.rnx", strict=True)
    assert [(e.flag, e.time) for e in again.events] == [
        (e.flag, e.time) for e in original.events if e.flag != 6
    ]


def test_rinex2_comment_event_between_epochs_keeps_its_place(tmp_path):
    """07590920.05o, lines 846-857: epoch " 05  4  2  0 47 30.0040000  0  8...", its 8 data
    lines, then "                            4  1" + "RINEX FILE SPLICE; other post-header
    comments skipped       COMMENT", then " 05  4  2  0 48  0.0040000  0  8..."."""
    read = _reader()
    original = read(data_path("gsi-2005-092", "07590920.05o"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # every event can be placed: no warning
        body = _body(write_rinex_obs(original, tmp_path / "g.rnx"))
    k = body.index(">                              4  1")
    assert body[k + 1].startswith("RINEX FILE SPLICE; other post-header comments skipped")
    assert body[k - 9].startswith("> 2005 04 02 00 47 30.0040000  0  8")
    assert body[k + 2].startswith("> 2005 04 02 00 48  0.0040000  0  8")
    again = read(tmp_path / "g.rnx", strict=True)
    assert [e.flag for e in again.events] == [4, 4, 4]
    assert_same_observations(original, again)


def _satnav_command() -> list[str]:
    """The installed ``satnav`` console command (``python -m satnav.cli`` if not on PATH)."""
    exe = shutil.which("satnav")
    return [exe] if exe else [sys.executable, "-m", "satnav.cli"]


def test_convert_command_in_a_subprocess(tmp_path):
    read = _reader()
    src = data_path("corpus", "demo.10o")
    out = tmp_path / "demo.rnx"
    done = subprocess.run(
        [*_satnav_command(), "convert", str(src), "-o", str(out)],
        capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "RINEX 3.05" in done.stdout
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SatnavWarning)
        assert_same_observations(read(src), read(out))


def test_convert_bad_input_is_one_line(tmp_path):
    src = data_path("corpus", "blank.10o")
    done = subprocess.run(
        [*_satnav_command(), "convert", str(src), "-o", str(tmp_path / "x.rnx")],
        capture_output=True, text=True, timeout=120,
    )
    _reader()
    if done.returncode:
        assert done.returncode == 2
        assert done.stderr.startswith("satnav: ") and len(done.stderr.strip().splitlines()) == 1


@pytest.mark.slow
def test_esbc_full_day_round_trip(tmp_path):
    read = _reader()
    src = data_path("esbc-2020-177", "ESBC00DNK_R_20201770000_01D_30S_MO.crx.gz")
    original = read(src)
    out = write_rinex_obs(original, tmp_path / "esbc.rnx")
    assert_same_observations(original, read(out))
