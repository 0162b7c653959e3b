"""Adversarial edge cases for the readers: small synthetic files, legal but unusual.

Every file is written in ``tmp_path`` from a text template laid out after the format
specifications (RINEX 2.11 tables A1-A4, RINEX 3.05 tables A1-A6 and 4.00/4.01 tables
A1-A5 / A6-A38, SP3-c/-d, RINEX clock 3.04). The values written in the file are the
truth the tests compare with.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from satnav.errors import SatnavWarning
from satnav.gnss_time import calendar_to_ns, to_gpst
from satnav.io.rinex_obs import read_rinex_obs
from satnav.satellites import satellite_index

NS = 1_000_000_000


# ----------------------------------------------------------------------------- helpers
def hdr(content: str, label: str) -> str:
    """One header line: content in columns 1-60, label in 61-80."""
    assert len(content) <= 60, content
    return f"{content:<60}{label:<20}"


def slot(value: float | None, lli: str = " ", ssi: str = " ") -> str:
    """One RINEX observation field F14.3, I1, I1 (blank value when ``value`` is None)."""
    v = " " * 14 if value is None else f"{value:14.3f}"
    return f"{v}{lli}{ssi}"


def write(tmp_path, name: str, lines: list[str], newline: str = "\n", end: str = "\n"):
    p = tmp_path / name
    p.write_bytes((newline.join(lines) + end).encode("ascii"))
    return p


def read_clean(path, **kw):
    """Read a file that must not warn."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return read_rinex_obs(path, **kw)


def get(obs, epoch: int, sat_id: str, code: str):
    """(value, lli, ssi) of one observation or None when absent."""
    if code not in obs.codes:
        return None
    rows = np.flatnonzero((obs.time == obs.epochs[epoch]) & (obs.sat == satellite_index(sat_id))
                          & (obs.code == obs.codes.index(code)))
    if len(rows) == 0:
        return None
    assert len(rows) == 1
    r = rows[0]
    return float(obs.value[r]), int(obs.lli[r]), int(obs.ssi[r])


def gpst(y, mo, d, hh, mi, s=0.0, scale="GPS"):
    ns = int(calendar_to_ns(y, mo, d, hh, mi, 0)) + round(s * NS)
    return int(to_gpst(ns, scale))


# ----------------------------------------------------------------------------- RINEX 3 obs
def v3_header(types: dict[str, list[str]], version="3.05", system="M", extra=(), tsys="GPS",
              first=(2020, 6, 25, 0, 0, 0.0)) -> list[str]:
    lines = [
        hdr(f"{version:>9}{'':11}{'OBSERVATION DATA':<20}{system:<20}", "RINEX VERSION / TYPE"),
        hdr(f"{'synth':<20}{'qa':<20}{'20200625 000000 UTC':<20}", "PGM / RUN BY / DATE"),
        hdr("TEST", "MARKER NAME"),
        hdr(f"{3582105.2910:14.4f}{532589.7313:14.4f}{5232754.8054:14.4f}", "APPROX POSITION XYZ"),
        hdr(f"{0.216:14.4f}{0.0:14.4f}{0.0:14.4f}", "ANTENNA: DELTA H/E/N"),
    ]
    for s, codes in types.items():
        for k in range(0, max(len(codes), 1), 13):
            chunk = "".join(f" {c:>3}" for c in codes[k : k + 13])
            head = f"{s}  {len(codes):3d}" if k == 0 else " " * 6
            lines.append(hdr(head + chunk, "SYS / # / OBS TYPES"))
    y, mo, d, hh, mi, ss = first
    lines.append(hdr(f"{y:6d}{mo:6d}{d:6d}{hh:6d}{mi:6d}{ss:13.7f}     {tsys:<3}", "TIME OF FIRST OBS"))
    lines += list(extra)
    lines.append(hdr("", "END OF HEADER"))
    return lines


def v3_epoch(y, mo, d, hh, mi, ss, n, flag=0, clock: float | None = None) -> str:
    s = f"> {y:4d} {mo:02d} {d:02d} {hh:02d} {mi:02d}{ss:11.7f}  {flag:1d}{n:3d}"
    if clock is not None:
        s += f"{'':6}{clock:15.12f}"
    return s


def test_v3_clock_offset_flag1_and_blank_prn_padding(tmp_path):
    lines = v3_header({"G": ["C1C", "L1C", "S1C"]})
    lines += [
        v3_epoch(2020, 6, 25, 0, 0, 0.0, 2, clock=-0.000123456789),
        # 'G 5': blank-padded PRN (RINEX 3.05 5.1 allows reading it as G05)
        "G 5" + slot(20000000.125) + slot(-123.456, "1", "7") + slot(45.25),
        "G12" + slot(21000000.5) + slot(None, "1", "5") + slot(-0.0),
        v3_epoch(2020, 6, 25, 0, 0, 30.0, 1, flag=1),
        "G05" + slot(20000100.0),
    ]
    obs = read_clean(write(tmp_path, "a.rnx", lines))
    assert len(obs.epochs) == 2
    assert obs.epochs[0] == gpst(2020, 6, 25, 0, 0, 0.0)
    assert obs.epoch_flags.tolist() == [0, 1]
    assert obs.receiver_clock_offset_s[0] == pytest.approx(-0.000123456789, abs=1e-15)
    assert np.isnan(obs.receiver_clock_offset_s[1])
    assert get(obs, 0, "G05", "C1C") == (20000000.125, 0, 0)
    assert get(obs, 0, "G05", "L1C") == (-123.456, 1, 7)
    assert get(obs, 0, "G05", "S1C") == (45.25, 0, 0)
    assert get(obs, 0, "G12", "L1C") is None  # LLI/SSI without a value: not observed
    assert get(obs, 0, "G12", "S1C") == (0.0, 0, 0)
    assert get(obs, 1, "G05", "C1C") == (20000100.0, 0, 0)
    assert get(obs, 1, "G05", "L1C") is None


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_v3_negative_signs_in_every_position(tmp_path, newline):
    values = [-1.0 * 10 ** k - 0.123 for k in range(9)] + [-999999999.999, -0.5, -0.001]
    lines = v3_header({"E": ["L1X"]})
    lines.append(v3_epoch(2020, 6, 25, 0, 0, 0.0, len(values)))
    for p, v in enumerate(values, start=1):
        lines.append(f"E{p:02d}" + slot(v))
    # a value with no leading zero ('     -.123'), written by some Fortran writers
    lines.append(v3_epoch(2020, 6, 25, 0, 0, 30.0, 2))
    lines.append("E01" + "         -.123" + "  ")
    lines.append("E02" + "          .500" + "  ")
    obs = read_clean(write(tmp_path, "neg.rnx", lines, newline=newline))
    for p, v in enumerate(values, start=1):
        assert get(obs, 0, f"E{p:02d}", "L1X")[0] == float(f"{v:.3f}")
    assert get(obs, 1, "E01", "L1X")[0] == -0.123
    assert get(obs, 1, "E02", "L1X")[0] == 0.5


def test_v3_short_and_long_satellite_lines(tmp_path):
    lines = v3_header({"G": ["C1C", "L1C", "D1C", "S1C"]})
    lines += [
        v3_epoch(2020, 6, 25, 0, 0, 0.0, 3),
        "G01" + slot(20000000.0),                      # stops after the first field
        "G02" + slot(20000000.0) + slot(1.0)[:14],     # last field without LLI/SSI columns
        # longer than the header's 4 codes, but only blanks after them
        "G03" + slot(1.0) + slot(2.0) + slot(3.0) + slot(4.0) + " " * 20,
    ]
    obs = read_clean(write(tmp_path, "short.rnx", lines))
    assert get(obs, 0, "G01", "C1C") == (20000000.0, 0, 0)
    assert get(obs, 0, "G01", "L1C") is None
    assert get(obs, 0, "G02", "L1C") == (1.0, 0, 0)
    assert get(obs, 0, "G03", "S1C") == (4.0, 0, 0)


def test_v3_more_than_13_codes_and_scale_factor(tmp_path):
    codes = ["C1C", "L1C", "D1C", "S1C", "C2W", "L2W", "D2W", "S2W", "C2L", "L2L", "D2L",
             "S2L", "C5Q", "L5Q", "D5Q", "S5Q"]
    extra = [hdr(f"G {10:4d}  {2:2d} L1C L2W", "SYS / SCALE FACTOR"),
             hdr(f"G {100:4d}  {1:2d} S5Q", "SYS / SCALE FACTOR")]
    lines = v3_header({"G": codes, "R": ["C1C"]}, extra=extra)
    vals = [float(1000 + k) + 0.25 for k in range(16)]
    lines.append(v3_epoch(2020, 6, 25, 0, 0, 0.0, 2))
    lines.append("G07" + "".join(slot(v) for v in vals))
    lines.append("R01" + slot(21000000.0))
    obs = read_clean(write(tmp_path, "many.rnx", lines))
    assert obs.header.obs_codes["G"] == codes
    for c, v in zip(codes, vals):
        fac = {"L1C": 10, "L2W": 10, "S5Q": 100}.get(c, 1)
        assert get(obs, 0, "G07", c)[0] == pytest.approx(v / fac, rel=1e-15), c
    assert get(obs, 0, "R01", "C1C")[0] == 21000000.0


def test_v3_glonass_slot_continuation_and_time_systems(tmp_path):
    slots = [(1, 1), (2, -4), (3, 5), (4, 6), (5, 1), (6, -4), (7, 5), (8, 6), (9, -2), (10, -7)]
    body = "".join(f"R{p:02d} {c:2d} " for p, c in slots[:8])
    extra = [hdr(f"{len(slots):3d} " + body, "GLONASS SLOT / FRQ #"),
             hdr("    " + "".join(f"R{p:02d} {c:2d} " for p, c in slots[8:]), "GLONASS SLOT / FRQ #")]
    for tsys, scale in (("GLO", "UTC"), ("GAL", "GAL"), ("BDT", "BDS")):
        lines = v3_header({"R": ["C1C"]}, system="R" if tsys == "GLO" else "M", extra=extra, tsys=tsys)
        lines += [v3_epoch(2020, 6, 25, 1, 2, 3.5, 1), "R10" + slot(19000000.0)]
        obs = read_clean(write(tmp_path, f"{tsys}.rnx", lines))
        assert obs.header.glonass_slots == {f"R{p:02d}": c for p, c in slots}
        assert obs.header.time_system == tsys
        assert obs.epochs[0] == gpst(2020, 6, 25, 1, 2, 3.5, scale)
        assert obs.header.time_of_first_obs_ns == gpst(2020, 6, 25, 0, 0, 0.0, scale)


def test_v3_events_between_epochs(tmp_path):
    lines = v3_header({"G": ["C1C"], "E": ["C1X"]})
    lines += [
        v3_epoch(2020, 6, 25, 0, 0, 0.0, 1),
        "G01" + slot(1.0),
        hdr("a comment between epochs", "COMMENT"),
        # flag 2: start moving, no time and no records
        ">                              2  0",
        # flag 3: new site, 2 header records
        ">                              3  2",
        hdr("NEWSITE", "MARKER NAME"),
        hdr("moved", "COMMENT"),
        # flag 4: new observation types for E, plus a comment (3 records)
        "> 2020 06 25 00 00 15.0000000  4  3",
        hdr("E    2 C1X L1X", "SYS / # / OBS TYPES"),
        hdr("new types", "COMMENT"),
        hdr(" 19", "LEAP SECONDS"),
        # flag 5: external event with a time
        "> 2020 06 25 00 00 20.1234567  5  0",
        v3_epoch(2020, 6, 25, 0, 0, 30.0, 2),
        "G01" + slot(2.0),
        "E03" + slot(3.0) + slot(4.0),
        "",
        "",
    ]
    path = write(tmp_path, "ev.rnx", lines)
    # issue 11: a flag-3 event's site records apply from the event on, never to the whole
    # file: the header stays the first occupation's, with a warning naming the event line
    with pytest.warns(SatnavWarning, match=r"ev.rnx:\d+: event flag 3 \(new site occupation\)"):
        obs = read_rinex_obs(path)
    assert len(obs.epochs) == 2
    assert [e.flag for e in obs.events] == [2, 3, 4, 5]
    assert obs.events[3].time == gpst(2020, 6, 25, 0, 0, 20.1234567)
    assert obs.header.marker_name == "TEST"
    assert "NEWSITE" in obs.events[1].records[0]
    second = read_clean(path, occupation=2)
    assert second.header.marker_name == "NEWSITE" and len(second.epochs) == 1
    assert obs.header.obs_codes["E"] == ["C1X", "L1X"]
    assert get(obs, 1, "E03", "L1X") == (4.0, 0, 0)
    assert get(obs, 1, "G01", "C1C") == (2.0, 0, 0)


def test_v3_no_epochs_and_empty_epoch(tmp_path):
    obs = read_clean(write(tmp_path, "none.rnx", v3_header({"G": ["C1C"]})))
    assert len(obs.epochs) == 0 and len(obs) == 0
    obs = read_clean(write(tmp_path, "none2.rnx", v3_header({"G": ["C1C"]}), end="\n\n\n"))
    assert len(obs.epochs) == 0
    lines = v3_header({"G": ["C1C"]}) + [v3_epoch(2020, 6, 25, 0, 0, 0.0, 0),
                                         v3_epoch(2020, 6, 25, 0, 0, 30.0, 1), "G02" + slot(5.0)]
    obs = read_clean(write(tmp_path, "zero.rnx", lines))
    assert len(obs.epochs) == 2
    assert get(obs, 1, "G02", "C1C") == (5.0, 0, 0)


def test_v3_crlf_whole_file(tmp_path):
    lines = v3_header({"G": ["C1C", "L1C"], "C": ["C2I"]})
    lines += [v3_epoch(2020, 6, 25, 0, 0, 0.0, 2), "G01" + slot(1.5) + slot(2.5, "1"),
              "C06" + slot(3.5)]
    obs = read_clean(write(tmp_path, "crlf.rnx", lines, newline="\r\n", end="\r\n\r\n"))
    assert get(obs, 0, "G01", "L1C") == (2.5, 1, 0)
    assert get(obs, 0, "C06", "C2I") == (3.5, 0, 0)
    assert obs.header.marker_name == "TEST"


def test_v3_flag4_without_time_and_event_in_first_line_region(tmp_path):
    """A flag 4 event before the first observation epoch, with a 'SYS / # / OBS TYPES'
    continuation line among its records (counted in the record count)."""
    codes = [f"{t}{b}C" for b in "125" for t in "CLDS"] + ["C6C", "L6C"]  # 14 codes
    lines = v3_header({"G": ["C1C"]})
    lines += [
        f">{'':30}4{3:3d}",
        hdr(f"G  {len(codes):3d}" + "".join(f" {c}" for c in codes[:13]), "SYS / # / OBS TYPES"),
        hdr("      " + f" {codes[13]}", "SYS / # / OBS TYPES"),
        hdr("G   10   1 L1C", "SYS / SCALE FACTOR"),
        v3_epoch(2020, 6, 25, 0, 0, 0.0, 1),
        "G09" + "".join(slot(100.0 + k) for k in range(14)),
    ]
    obs = read_clean(write(tmp_path, "f4.rnx", lines))
    assert obs.header.obs_codes["G"] == codes
    assert get(obs, 0, "G09", "L6C") == (113.0, 0, 0)
    assert get(obs, 0, "G09", "L1C")[0] == pytest.approx(10.1)


# ----------------------------------------------------------------------------- RINEX 4 obs
@pytest.mark.parametrize("version", ["4.00", "4.01"])
def test_v4_header_records(tmp_path, version):
    extra = [
        hdr("https://doi.org/10.1234/abcd", "DOI"),
        hdr("CC BY 4.0", "LICENSE OF USE"),
        hdr("https://network.example/station/TEST", "STATION INFORMATION"),
        hdr("ESBC00DNK MOJN00DNK", "MERGED FILE"),
        hdr("G L1C", "SYS / PHASE SHIFT"),
        hdr(" C1C    0.000 C1P    0.000 C2C    0.000 C2P    0.000", "GLONASS COD/PHS/BIS"),
        hdr("DBHZ", "SIGNAL STRENGTH UNIT"),
    ]
    lines = v3_header({"G": ["C1C", "L1C", "S1C"], "C": ["C2I", "C1P"]}, version=version, extra=extra)
    lines += [v3_epoch(2024, 5, 3, 0, 0, 0.0, 2, clock=1.5e-9),
              "G05" + slot(22000000.25, " ", "8") + slot(1e8 + 0.5, "1") + slot(48.125),
              "C19" + slot(23000000.0) + slot(-0.125)]
    obs = read_clean(write(tmp_path, f"v{version}.rnx", lines))
    assert obs.header.version == float(version)
    assert get(obs, 0, "G05", "C1C") == (22000000.25, 0, 8)
    assert get(obs, 0, "G05", "L1C") == (100000000.5, 1, 0)
    assert get(obs, 0, "G05", "S1C") == (48.125, 0, 0)
    assert get(obs, 0, "C19", "C1P") == (-0.125, 0, 0)
    assert obs.receiver_clock_offset_s[0] == 1.5e-9
    labels = {lab for lab, _ in obs.header.other_records}
    assert {"DOI", "LICENSE OF USE", "STATION INFORMATION", "MERGED FILE"} <= labels
    assert np.isnan(obs.header.phase_shifts[0][2])  # blank correction: unknown


# ----------------------------------------------------------------------------- RINEX 2 obs
def v2_header(types: list[str], system="M", extra=(), version="2.11", tsys="GPS") -> list[str]:
    lines = [
        hdr(f"{version:>9}{'':11}{'OBSERVATION DATA':<20}{system + ' (MIXED)':<20}", "RINEX VERSION / TYPE"),
        hdr(f"{'synth':<20}{'qa':<20}{'20200625':<20}", "PGM / RUN BY / DATE"),
        hdr("TEST", "MARKER NAME"),
        hdr(f"{3582105.2910:14.4f}{532589.7313:14.4f}{5232754.8054:14.4f}", "APPROX POSITION XYZ"),
        hdr(f"{0.0:14.4f}{0.0:14.4f}{0.0:14.4f}", "ANTENNA: DELTA H/E/N"),
        hdr(f"{1:6d}{1:6d}", "WAVELENGTH FACT L1/2"),
        hdr(f"{2:6d}{1:6d}{2:6d}   G14   G15", "WAVELENGTH FACT L1/2"),
    ]
    for k in range(0, len(types), 9):
        head = f"{len(types):6d}" if k == 0 else " " * 6
        lines.append(hdr(head + "".join(f"    {t:>2}" for t in types[k : k + 9]), "# / TYPES OF OBSERV"))
    lines.append(hdr(f"{1999:6d}{12:6d}{31:6d}{23:6d}{59:6d}{0.0:13.7f}     {tsys:<3}", "TIME OF FIRST OBS"))
    lines += list(extra)
    lines.append(hdr("", "END OF HEADER"))
    return lines


def v2_epoch(yy, mo, d, hh, mi, ss, sats: list[str], flag=0, clock=None) -> list[str]:
    head = f" {yy:02d} {mo:2d} {d:2d} {hh:2d} {mi:2d}{ss:11.7f}  {flag:1d}{len(sats):3d}"
    out = []
    for k in range(0, max(len(sats), 1), 12):
        ids = "".join(sats[k : k + 12])
        line = (head if k == 0 else " " * 32) + ids
        if k == 0 and clock is not None:
            line = f"{line:<68}{clock:12.9f}"
        out.append(line)
    return out


def v2_record(values: list) -> list[str]:
    """Observation lines of one satellite: 5 fields per line."""
    fields = [slot(*v) if isinstance(v, tuple) else slot(v) for v in values]
    return ["".join(fields[k : k + 5]).rstrip() for k in range(0, len(fields), 5)] or [""]


def test_v2_many_satellites_and_types(tmp_path):
    types = ["C1", "P1", "L1", "D1", "S1", "C2", "P2", "L2", "D2", "S2", "C5", "L5"]  # 12 > 9
    sats = [f"G{p:2d}" for p in range(1, 9)] + [" 09", "G10"] + ["R01", "R24", "E11", "S20", "E36"]
    lines = v2_header(types)
    lines += v2_epoch(99, 12, 31, 23, 59, 30.0, sats, clock=-0.123456789)
    truth = {}
    for k, sid in enumerate(sats):
        vals = [float(20000000 + 1000 * k + j) + 0.001 * j for j in range(len(types))]
        vals[3] = None  # blank D1
        recs = list(vals)
        recs[2] = (vals[2], "1", "6")
        lines += v2_record(recs)
        truth["G" + sid[1:].replace(" ", "0") if sid[0] == " " else sid.replace(" ", "0")] = vals
    lines += v2_epoch(0, 1, 1, 0, 0, 0.0, ["G01"], flag=1)
    lines += v2_record([1.5] * len(types))
    obs = read_clean(write(tmp_path, "many.99o", lines))
    assert obs.epochs.tolist() == [gpst(1999, 12, 31, 23, 59, 30.0), gpst(2000, 1, 1, 0, 0, 0.0)]
    assert obs.epoch_flags.tolist() == [0, 1]
    assert obs.receiver_clock_offset_s[0] == -0.123456789
    assert sorted(obs.satellites) == sorted(truth)
    # RINEX 2 -> 3 codes (module docstring table): GPS C1->C1C, P2->C2W, L1->L1C, L5->L5X
    for sid, vals in truth.items():
        band1 = "1X" if sid[0] == "E" else "1C"  # Galileo: attribute X
        assert get(obs, 0, sid, "C" + band1)[0] == vals[0]
        assert get(obs, 0, sid, "D" + band1) is None
        if sid[0] in "GR":
            assert get(obs, 0, sid, "C2P" if sid[0] == "R" else "C2W")[0] == vals[6]
    assert get(obs, 0, "G03", "L1C") == (truth["G03"][2], 1, 6)
    assert get(obs, 0, "G09", "L5X")[0] == truth["G09"][11]
    assert get(obs, 0, "E36", "C5X")[0] == truth["E36"][10]
    assert get(obs, 1, "G01", "L5X") == (1.5, 0, 0)


def test_v2_flag4_changes_types_midfile(tmp_path):
    lines = v2_header(["C1", "L1"], system="G")
    lines += v2_epoch(5, 4, 2, 0, 0, 0.0, ["G01", "G02"])
    lines += v2_record([1.0, 2.0]) + v2_record([3.0, None])
    lines += [hdr("a comment", "COMMENT")]
    lines += [f"{'':28}4{3:3d}",
              hdr(f"{3:6d}    P2    C1    L1", "# / TYPES OF OBSERV"),
              hdr("types change", "COMMENT"),
              hdr(f"{1:6d}{1:6d}", "WAVELENGTH FACT L1/2")]
    lines += v2_epoch(5, 4, 2, 0, 0, 30.0, ["G01"])
    lines += v2_record([4.0, 5.0, 6.0])
    lines += [f" 05  4  2  0  0 45.0000000  5{0:3d}"]  # external event, no records
    lines += v2_epoch(5, 4, 2, 0, 1, 0.0, [])
    obs = read_clean(write(tmp_path, "f4.05o", lines))
    assert len(obs.epochs) == 3
    assert get(obs, 0, "G01", "L1C") == (2.0, 0, 0)
    assert get(obs, 0, "G02", "L1C") is None
    assert get(obs, 1, "G01", "C2W") == (4.0, 0, 0)
    assert get(obs, 1, "G01", "C1C") == (5.0, 0, 0)
    assert get(obs, 1, "G01", "L1C") == (6.0, 0, 0)
    assert [e.flag for e in obs.events] == [4, 5]
    assert obs.events[1].time == gpst(2005, 4, 2, 0, 0, 45.0)


def test_v2_two_digit_years_and_crlf(tmp_path):
    for yy, year in ((80, 1980), (99, 1999), (0, 2000), (79, 2079)):
        lines = v2_header(["C1"], system="G")
        lines += v2_epoch(yy, 3, 1, 0, 0, 0.0, ["G01"]) + v2_record([7.0])
        obs = read_clean(write(tmp_path, f"y{yy}.o", lines, newline="\r\n"))
        assert obs.epochs[0] == gpst(year, 3, 1, 0, 0, 0.0)
        assert get(obs, 0, "G01", "C1C") == (7.0, 0, 0)


def test_v2_glonass_time_system(tmp_path):
    lines = v2_header(["C1"], system="R", tsys="GLO")
    lines += v2_epoch(21, 1, 1, 0, 0, 0.0, ["R01"]) + v2_record([7.0])
    obs = read_clean(write(tmp_path, "glo.21o", lines))
    assert obs.epochs[0] == gpst(2021, 1, 1, 0, 0, 0.0, "UTC")


# ----------------------------------------------------------------------------- navigation
def d19(x: float | None, style: str = "D") -> str:
    """One D19.12 field (blank for None); ``style`` the exponent letter written."""
    if x is None:
        return " " * 19
    s = f"{x:19.12E}"
    return s.replace("E", style)


def nav_lines(first: str, values: list, cont: str = "    ", per_line: int = 4) -> list[str]:
    """A record: ``first`` (id and epoch) + 3 values, then ``per_line`` values per line."""
    out = [first + "".join(d19(v) for v in values[:3])]
    rest = values[3:]
    for k in range(0, len(rest), per_line):
        out.append((cont + "".join(d19(v) for v in rest[k : k + per_line])).rstrip())
    return out


def nav_header(version: str, ftype: str, system: str, extra=()) -> list[str]:
    return [hdr(f"{version:>9}{'':11}{ftype:<20}{system:<20}", "RINEX VERSION / TYPE"),
            hdr(f"{'synth':<20}{'qa':<20}{'20200625 000000 UTC':<20}", "PGM / RUN BY / DATE"),
            *extra, hdr("", "END OF HEADER")]


def read_nav_clean(*paths, **kw):
    from satnav.io.rinex_nav import read_rinex_nav

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return read_rinex_nav(*paths, **kw)


# GPS LNAV broadcast values (RINEX 3.05 Table A6 order after the clock)
LNAV = [
    -1.234567890123e-04, -2.273736754432e-12, 0.0,           # af0 af1 af2
    55.0, -87.4375, 4.35518856794e-09, 1.0283019831,       # IODE Crs dn M0
    -4.53358888626e-06, 0.0101459523430, 7.56606459618e-06, 5153.72313499,  # Cuc e Cus sqrtA
    345600.0, 2.04890966415e-08, -2.00553574577, 1.67638063431e-08,  # toe Cic OMEGA0 Cis
    0.962539914558, 217.5625, 0.831462839987, -8.03497468741e-09,   # i0 Crc omega OMEGADOT
    -4.60733477797e-10, 1.0, 2111.0, 0.0,                 # IDOT L2 codes week L2P flag
    2.0, 0.0, -1.11758708954e-08, 55.0,                   # accuracy health TGD IODC
    338418.0,                                             # transmission time (fit blank)
]


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_nav_v3_fortran_number_styles_and_short_last_line(tmp_path, newline):
    first = "G05 2020 06 25 00 00 00"
    rec = nav_lines(first, LNAV)
    # vary the number styles of the same values: lowercase e / d exponents, no leading zero
    rec[1] = "    " + "".join(d19(v, s) for v, s in zip(LNAV[3:7], "EdeD"))
    rec[2] = "    " + f"{'-.453358888626D-05':>19}" + "".join(d19(v) for v in LNAV[8:11])
    lines = nav_header("3.04", "N: GNSS NAV DATA", "G") + rec
    # a second record, last line with 2 fields and trailing blanks stripped
    rec2 = nav_lines("G07 2020 06 25 02 00 00", LNAV[:-1] + [338418.0, 4.0])
    nav = read_nav_clean(write(tmp_path, "g.rnx", lines + rec2 + [""], newline=newline))
    g = nav.messages["G"]
    assert len(g) == 2
    m = g[0]
    assert m["sat"] == 5 and m["toc"] == gpst(2020, 6, 25, 0, 0)
    for name, k in (("af0", 0), ("crs", 4), ("delta_n", 5), ("m0", 6), ("cuc", 7), ("e", 8),
                    ("sqrt_a", 10), ("omega_dot", 18), ("idot", 19), ("tgd", 25), ("iodc", 26)):
        assert m[name] == pytest.approx(LNAV[k], rel=1e-11), name
    assert m["transmission_time"] == 338418.0
    assert np.isnan(m["fit_interval"])
    assert m["toe"] == int(calendar_to_ns(1980, 1, 6)) + 2111 * 604800 * NS + 345600 * NS
    assert g[1]["fit_interval"] == 4.0


def test_nav_v2_gps_two_digit_year(tmp_path):
    lines = nav_header("2.11", "N: GPS NAV DATA", "", extra=[
        hdr("    0.1025D-07  0.7451D-08 -0.5960D-07 -0.5960D-07", "ION ALPHA"),
        hdr("    0.8806D+05  0.0000D+00 -0.1966D+06 -0.6554D+05", "ION BETA"),
        hdr("   -0.186264514923D-08-0.222044604925D-14   503808     2111", "DELTA-UTC: A0,A1,T,W"),
        hdr("    18", "LEAP SECONDS")])
    lines += nav_lines(" 5 20  6 25  0  0  0.0", LNAV[:-1] + [338418.0, 4.0], cont="   ")
    nav = read_nav_clean(write(tmp_path, "brdc1770.20n", lines))
    m = nav.messages["G"][0]
    assert m["sat"] == 5 and m["toc"] == gpst(2020, 6, 25, 0, 0)
    assert m["sqrt_a"] == pytest.approx(5153.72313499, rel=1e-12)
    assert m["fit_interval"] == 4.0
    assert nav.header.iono_corrections["GPSA"][0] == pytest.approx(0.1025e-7)
    assert nav.header.time_corrections["GPUT"][0] == pytest.approx(-0.186264514923e-8)
    assert nav.header.leap_seconds == 18


GLO = [  # -TauN, +GammaN, tk; x vx ax health; y vy ay k; z vz az age (km, km/s, km/s^2)
    -2.37907655537e-05, 0.0, 345600.0,
    -14483.4667969, -1.29585742950, 0.0, 0.0,
    -8543.84960938, 2.69659996033, 9.31322574615e-10, -2.0,
    19308.4013672, 0.614192962646, -2.79396772385e-09, 0.0,
]


def test_nav_v2_glonass_corr_to_system_time(tmp_path):
    lines = nav_header("2.11", "G: GLONASS NAV DATA", "", extra=[
        hdr(f"{2021:6d}{1:6d}{1:6d}   {-1.862645149231e-09:19.12E}".replace("E", "D"),
            "CORR TO SYSTEM TIME"),
        hdr("    18", "LEAP SECONDS")])
    lines += nav_lines(" 3 21  1  1  0 15  0.0", GLO, cont="   ")
    nav = read_nav_clean(write(tmp_path, "x.21g", lines))
    r = nav.messages["R"][0]
    assert r["sat"] == satellite_index("R03")
    assert r["toc"] == gpst(2021, 1, 1, 0, 15, 0.0, "UTC")  # GLONASS epochs are UTC(SU)
    assert r["x"] == pytest.approx(-14483.4667969e3, rel=1e-12)
    assert r["vy"] == pytest.approx(2.69659996033e3, rel=1e-12)
    assert r["freq_num"] == -2.0
    assert nav.header.time_corrections["GLUT"][0] == pytest.approx(-1.862645149231e-09)


def test_nav_v305_glonass_4_and_5_line_records_mixed(tmp_path):
    lines = nav_header("3.05", "N: GNSS NAV DATA", "R")
    lines += nav_lines("R01 2020 06 25 00 15 00", GLO)                       # 4 lines (3.04)
    five = GLO + [0.0, 0.999999999999e09, 2.0, 0.0]  # status, group delay unknown, URAI, flags
    lines += nav_lines("R02 2020 06 25 00 15 00", five)                      # 5 lines (3.05)
    lines += nav_lines("R03 2020 06 25 00 15 00", GLO[:-1] + [3.0] + [1.0, -2.79e-09, 2.0, 1.0])
    nav = read_nav_clean(write(tmp_path, "r.rnx", lines))
    r = nav.messages["R"]
    assert [int(s) for s in r["sat"]] == [satellite_index(s) for s in ("R01", "R02", "R03")]
    assert np.isnan(r["group_delay"][0]) and np.isnan(r["status_flags"][0])
    assert np.isnan(r["group_delay"][1])  # .999999999999e+09: unknown
    assert r["urai"][1] == 2.0
    assert r["group_delay"][2] == pytest.approx(-2.79e-9)
    assert r["age"][2] == 3.0
    assert (r["toc"] == gpst(2020, 6, 25, 0, 15, 0.0, "UTC")).all()


ORBIT = [  # Crs dn M0 | Cuc e Cus sqrtA | (t_oe/t_op) Cic OMEGA0 Cis | i0 Crc omega OMEGADOT
    -87.4375, 4.35518856794e-09, 1.0283019831,
    -4.53358888626e-06, 0.0101459523430, 7.56606459618e-06, 5153.72313499,
    None, 2.04890966415e-08, -2.00553574577, 1.67638063431e-08,
    0.962539914558, 217.5625, 0.831462839987, -8.03497468741e-09,
]


def orbit_with(t_ref: float, adot: float) -> list:
    o = [adot] + ORBIT
    o[8] = t_ref
    return o


def test_nav_v4_cnav_cnv2_bds_cnav_and_sto_eop_ion(tmp_path):
    clock = [1.1e-4, -2.2e-12, 0.0]
    # GPS CNAV (RINEX 4.00 Table A?: BRD5 IDOT dn0dot URAI_NED0 URAI_NED1; BRD6 URAI_ED health
    # TGD URAI_NED2; BRD7 ISC L1CA L2C L5I5 L5Q5; BRD8 t_tm week)
    g_cnav = clock + orbit_with(171000.0, 0.01) + [
        -4.6e-10, 1.5e-13, -3.0, 1.0, 0.0, 0.0, -5.1e-9, 2.0, 1e-9, 2e-9, 3e-9, 4e-9, 170000.0, 2213.0]
    g_cnv2 = clock + orbit_with(171000.0, 0.02) + [
        -4.6e-10, 1.5e-13, -3.0, 1.0, 0.0, 0.0, -6.1e-9, 2.0, 1e-9, 2e-9, 3e-9, 4e-9,
        5e-9, 6e-9, None, None, 170100.0, 2213.0]
    # BeiDou B-CNAV1/2 (BRD3 t_oe in BDT seconds of week; BRD5 IDOT dn0dot SatType t_op;
    # BRD6 SISAI x4; BRD7 ISC spare TGD_B1Cp TGD_B2ap; BRD8 SISMAI health flags IODC;
    # BRD9 t_tm spare spare IODE)
    toe_bdt = 342000.0  # BDT seconds of week (Thursday 23:00 BDT), one hour before the toc
    c_cnv = clock + orbit_with(toe_bdt, 0.03) + [
        -4.6e-10, 1.5e-13, 3.0, 172800.0, 0.0, 1.0, 2.0, 3.0, 1e-9, None, -7.1e-9, 8.1e-9,
        4.0, 0.0, 0.0, 33.0, 170200.0, None, None, 44.0]
    c_cnv3 = clock + orbit_with(toe_bdt, 0.04) + [
        -4.6e-10, 1.5e-13, 3.0, 172800.0, 0.0, 1.0, 2.0, 3.0, 4.0, 0.0, 0.0, -9.1e-9, 170300.0]
    lines = nav_header("4.01", "N: GNSS NAV DATA", "M", extra=[
        hdr("    18", "LEAP SECONDS"), hdr("https://doi.org/10.0/x", "DOI"),
        hdr("CC BY 4.0", "LICENSE OF USE"), hdr("ESBC MOJN", "MERGED FILE")])
    lines += ["> EPH G01 CNAV"] + nav_lines("G01 2022 06 08 23 30 00", g_cnav)
    lines += ["> EPH G01 CNV2"] + nav_lines("G01 2022 06 08 23 30 00", g_cnv2)
    lines += ["> EPH J02 CNAV"] + nav_lines("J02 2022 06 08 23 30 00", g_cnav)
    lines += ["> EPH C19 CNV1"] + nav_lines("C19 2022 06 09 00 00 00", c_cnv)
    lines += ["> EPH C20 CNV2"] + nav_lines("C20 2022 06 09 00 00 00", c_cnv)
    lines += ["> EPH C21 CNV3"] + nav_lines("C21 2022 06 09 00 00 00", c_cnv3)
    lines += ["> STO G01 CNAV",
              "    2022 06 08 23 30 00 GPUT" + " " * 37 + "UTC(USNO)",
              "    " + d19(171000.0) + d19(-1.8e-9) + d19(-3.5e-15) + d19(0.0)]
    lines += ["> EOP G01 CNVX",
              "    2022 06 08 23 30 00" + d19(0.05) + d19(1e-3) + d19(0.0),
              " " * 23 + d19(0.4) + d19(-2e-3) + d19(0.0),
              "    " + d19(171000.0) + d19(-0.05) + d19(1e-4) + d19(0.0)]
    lines += ["> ION G01 LNAV",
              "    2022 06 08 23 30 00" + d19(1.1e-8) + d19(2.2e-8) + d19(-5.9e-8),
              "    " + d19(-1.1e-7) + d19(9.0e4) + d19(0.0) + d19(-1.9e5),
              "    " + d19(-6.5e4) + d19(1.0)]
    nav = read_nav_clean(write(tmp_path, "v4.rnx", lines))
    g = nav.messages["G"]
    assert sorted(g["message_type"].tolist()) == ["CNAV", "CNV2"]
    cn = g[g["message_type"] == "CNAV"][0]
    toc_g = gpst(2022, 6, 8, 23, 30)
    assert cn["toc"] == toc_g and cn["adot"] == 0.01 and cn["tgd"] == -5.1e-9
    assert cn["delta_n_dot"] == 1.5e-13 and cn["transmission_time"] == 170000.0
    assert cn["sqrt_a"] == 5153.72313499 and cn["health"] == 0.0
    c2 = g[g["message_type"] == "CNV2"][0]
    assert c2["tgd"] == -6.1e-9 and c2["transmission_time"] == 170100.0
    assert nav.messages["J"][0]["sat"] == satellite_index("J02")
    c = nav.messages["C"]
    assert c["message_type"].tolist() == ["CNV1", "CNV2", "CNV3"]
    toc_c = gpst(2022, 6, 9, 0, 0, 0.0, "BDS")
    bdt_week = (toc_c - 14 * NS - int(calendar_to_ns(2006, 1, 1))) // (604800 * NS)
    toe_c = int(calendar_to_ns(2006, 1, 1)) + 14 * NS + bdt_week * 604800 * NS + int(toe_bdt) * NS
    for m in c:
        assert m["toc"] == toc_c
        assert m["toe"] == toe_c, m["message_type"]       # t_oe of BRD3, BDT
        assert m["toe_sow"] == toe_bdt, m["message_type"]  # BDT seconds (node longitude)
    assert c[0]["tgd"] == -7.1e-9 and c[0]["tgd2"] == 8.1e-9 and c[0]["iodc"] == 33.0
    assert c[0]["iode"] == 44.0 and c[0]["transmission_time"] == 170200.0
    assert c[2]["tgd"] == -9.1e-9 and c[2]["transmission_time"] == 170300.0
    (sto,) = nav.sto_records
    assert sto["code"] == "GPUT" and sto["a0"] == -1.8e-9 and sto["t_tot"] == 171000.0
    (eop,) = nav.eop_records
    arcsec = np.pi / 648000
    assert eop["xp"] == pytest.approx(0.05 * arcsec) and eop["yp"] == pytest.approx(0.4 * arcsec)
    assert eop["dut1"] == -0.05 and eop["t_tm"] == 171000.0
    (ion,) = nav.ion_records
    assert ion["model"] == "KLOBUCHAR"
    assert ion["values"][:8].tolist() == [1.1e-8, 2.2e-8, -5.9e-8, -1.1e-7, 9.0e4, 0.0, -1.9e5, -6.5e4]


# ----------------------------------------------------------------------------- SP3
def sp3_text(version: str, sat_ids: list[str], epochs: list[dict], eof=True, tsys="GPS") -> list[str]:
    """SP3-c/d text: ``epochs`` are {sat id: (x, y, z, clock)} (km, us; clock None = blank)."""
    n = len(sat_ids)
    lines = [f"#{version}P2020  6 25  0  0  0.00000000 {len(epochs):7d} ORBIT IGS14 FIT  TST",
             "## 2111 345600.00000000   900.00000000 59025 0.0000000000000"]
    per = 17
    nplus = max(5 if version == "c" else 5, -(-n // per))
    for k in range(nplus):
        chunk = sat_ids[k * per : (k + 1) * per]
        chunk = "".join(chunk) + "  0" * (per - len(chunk))
        lines.append((f"+  {n:3d}   " if k == 0 else "+        ") + chunk)
    for _ in range(nplus):
        lines.append("++       " + "  5" * per)
    lines += [f"%c M  cc {tsys} ccc cccc cccc cccc cccc ccccc ccccc ccccc ccccc",
              "%c cc cc ccc ccc cccc cccc cccc cccc ccccc ccccc ccccc ccccc",
              "%f  1.2500000  1.025000000  0.00000000000  0.000000000000000",
              "%f  0.0000000  0.000000000  0.00000000000  0.000000000000000",
              "%i    0    0    0    0      0      0      0      0         0",
              "%i    0    0    0    0      0      0      0      0         0",
              "/* synthetic", "/* edge cases", "/*", "/*"]
    for e, recs in enumerate(epochs):
        mi = 15 * e
        lines.append(f"*  2020  6 25 {mi // 60:2d} {mi % 60:2d}  0.00000000")
        for sid, (x, y, z, c) in recs.items():
            clk = "" if c is None else f"{c:14.6f}"
            lines.append(f"P{sid}{x:14.6f}{y:14.6f}{z:14.6f}{clk}")
    if eof:
        lines.append("EOF")
    return lines


def read_sp3_clean(path):
    from satnav.io.sp3 import read_sp3

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return read_sp3(path)


def test_sp3d_more_than_85_satellites_blank_clock_and_no_eof(tmp_path):
    ids = ([f"G{p:02d}" for p in range(1, 33)] + [f"R{p:02d}" for p in range(1, 25)]
           + [f"E{p:02d}" for p in range(1, 37)] + [f"C{p:02d}" for p in range(1, 20)])  # 111
    rng = np.random.default_rng(1)
    epochs = []
    for _ in range(2):
        recs = {s: (round(float(rng.uniform(-26000, 26000)), 6), 15000.123456, -20000.5, 123.456789)
                for s in ids}
        recs["G05"] = (10000.0, 20000.0, 15000.0, None)    # clock field left out
        recs["G06"] = (10000.0, 20000.0, 15000.0, 999999.999999)  # missing clock
        recs["J07"] = (-30000.0, 25000.0, 1000.0, -1.5)     # satellite not in the header
        epochs.append(recs)
    sp3 = read_sp3_clean(write(tmp_path, "d.sp3", sp3_text("d", ids, epochs, eof=False)))
    assert len(sp3.header.satellites) == 111
    assert "J07" in sp3.satellite_ids() and len(sp3.satellites) == 112
    assert len(sp3.time) == 2
    j = sp3.satellite_ids().index
    for e in range(2):
        for s in ("E36", "C19", "R24"):
            assert sp3.position_m[e, j(s), 0] == pytest.approx(epochs[e][s][0] * 1e3, abs=1e-9)
            assert sp3.clock_s[e, j(s)] == pytest.approx(123.456789e-6, abs=1e-15)
        assert np.isnan(sp3.clock_s[e, j("G05")]) and sp3.position_m[e, j("G05"), 1] == 20000.0e3
        assert np.isnan(sp3.clock_s[e, j("G06")])
        assert sp3.clock_s[e, j("J07")] == pytest.approx(-1.5e-6)


def test_sp3c_glo_time_and_blank_clock_columns(tmp_path):
    ids = ["G01", "R02"]
    epochs = [{"G01": (1.0, 2.0, 3.0, 4.0), "R02": (5.0, 6.0, 7.0, None)}]
    lines = sp3_text("c", ids, epochs, tsys="GLO")
    lines = [ln + " " * 20 if ln.startswith("PR02") else ln for ln in lines]  # blanks to col 80
    sp3 = read_sp3_clean(write(tmp_path, "c.sp3", lines, newline="\r\n"))
    assert sp3.time[0] == gpst(2020, 6, 25, 0, 0, 0.0, "UTC")
    assert np.isnan(sp3.clock_s[0, 1]) and sp3.position_m[0, 1, 2] == 7000.0


# ----------------------------------------------------------------------------- CLK
def test_clk_304_nine_character_names(tmp_path):
    def h(content, label):
        return f"{content:<65}{label}"

    lines = [h("     3.04           C                   M", "RINEX VERSION / TYPE"),
             h("synth               qa                  20200625 000000 UTC", "PGM / RUN BY / DATE"),
             h("   GPS", "TIME SYSTEM ID"),
             h("     2    AR    AS", "# / TYPES OF DATA"),
             h("ESBC00DNK 10118M001          3582104802   532590172  5232755182", "SOLN STA NAME / NUM"),
             h("     2", "# OF SOLN SATS"),
             h("G01 E11", "PRN LIST"),
             h("", "END OF HEADER")]
    # A2,1X,A9,1X,I4,4(1X,I2.2),F10.6,1X,I2,2X,2(D19.12,1X): the 3.02 layout with A9 names
    lines += [
        "AR ESBC00DNK 2020 06 25 00 00  0.000000  1    1.409849999999E-08",
        "AS G01       2020 06 25 00 00  0.000000  2    2.432218567797E-04  1.023000000000E-11",
        "AS E11       2020 06 25 00 00 30.000000  4   -8.847075163180E-04  3.379862882470E-11",
        "   -1.000000000000E-12  2.000000000000E-13",
        "AS G01       2020 06 25 00 00 30.000000  1    2.432218600000E-04",
    ]
    from satnav.io.clk import read_clk

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        clk = read_clk(write(tmp_path, "x.clk", lines))
    assert sorted(clk.satellite_ids()) == ["E11", "G01"]
    g = clk.satellite_ids().index("G01")
    e = clk.satellite_ids().index("E11")
    t0 = gpst(2020, 6, 25, 0, 0, 0.0)
    assert clk.satellite_time.tolist() == [t0, t0 + 30 * NS]
    assert clk.satellite_bias_s[0, g] == 2.432218567797e-04
    assert clk.satellite_bias_sigma_s[0, g] == 1.023e-11
    assert clk.satellite_bias_s[1, g] == 2.4322186e-04 and np.isnan(clk.satellite_bias_sigma_s[1, g])
    assert clk.satellite_bias_s[1, e] == -8.84707516318e-04
    assert clk.satellite_rate_s_s[1, e] == -1e-12 and clk.satellite_rate_sigma_s_s[1, e] == 2e-13
    times, bias = clk.stations["ESBC00DNK"]
    assert times.tolist() == [t0] and bias.tolist() == [1.409849999999e-08]


def test_sp3_clock_cut_short_is_damaged_not_misread(tmp_path):
    from satnav.errors import DamagedRecordWarning
    from satnav.io.sp3 import read_sp3

    epochs = [{"G01": (1.0, 2.0, 3.0, 123.456789), "G02": (4.0, 5.0, 6.0, 7.0)}]
    lines = sp3_text("d", ["G01", "G02"], epochs)
    k = next(i for i, ln in enumerate(lines) if ln.startswith("PG01"))
    lines[k] = lines[k][:56]  # '    123.45' of '    123.456789': a number cut short
    with pytest.warns(DamagedRecordWarning, match=rf"x.sp3:{k + 1}: damaged 'P' record"):
        sp3 = read_sp3(write(tmp_path, "x.sp3", lines))
    assert np.isnan(sp3.clock_s[0, 0]) and np.isnan(sp3.position_m[0, 0]).all()
    assert sp3.clock_s[0, 1] == pytest.approx(7e-6)


# ----------------------------------------------------------------------------- BeiDou B1I
def test_rinex302_beidou_b1i_is_c1i_and_spp_uses_it(tmp_path):
    """RINEX 3.02 wrote BeiDou B1I as band 1 (C1I/L1I); 3.01 and 3.03+ write C2I. The reader
    keeps the file's code and SPP's default BeiDou signal accepts C1I as B1I (1561.098 MHz,
    BDS ICD B1I 3.1), with the B1I group delay (TGD1)."""
    from satnav.estimators import spp

    lines = v3_header({"C": ["C1I", "L1I", "C7I"]}, version="3.02")
    lines += [v3_epoch(2013, 1, 1, 0, 0, 0.0, 1), "C06" + slot(38000000.5) + slot(2e8 + 0.25) + slot(1.0)]
    obs = read_clean(write(tmp_path, "b302.13o", lines))
    assert obs.header.obs_codes["C"] == ["C1I", "L1I", "C7I"]
    assert get(obs, 0, "C06", "C1I") == (38000000.5, 0, 0)
    chosen = spp._choose_codes({"C1I", "L1I", "C7I"}, spp.DEFAULT_SIGNALS["C"])
    assert chosen == ["C1I"]
    assert spp._frequency("C", "C1I", np.full(1, np.nan))[0] == 1561.098e6
    # 3.04+ band-1 codes are B1C (1575.42 MHz): not taken for B1I
    assert spp._choose_codes({"C1X", "C1P", "C2I"}, spp.DEFAULT_SIGNALS["C"]) == ["C2I"]
    assert spp._choose_codes({"C1X", "C1P"}, spp.DEFAULT_SIGNALS["C"]) == []


def test_v3_flag6_cycle_slip_records_are_events(tmp_path):
    lines = v3_header({"G": ["C1C", "L1C"]})
    lines += [v3_epoch(2020, 6, 25, 0, 0, 0.0, 1), "G01" + slot(1.0) + slot(2.0),
              v3_epoch(2020, 6, 25, 0, 0, 0.0, 1, flag=6), "G01" + slot(None) + slot(1.0),
              v3_epoch(2020, 6, 25, 0, 0, 30.0, 1), "G01" + slot(3.0) + slot(4.0)]
    obs = read_clean(write(tmp_path, "f6.rnx", lines))
    assert len(obs.epochs) == 2 and get(obs, 1, "G01", "L1C") == (4.0, 0, 0)
    assert [e.flag for e in obs.events] == [6] and obs.events[0].records[0].startswith("G01")


def test_v2_blank_satellite_record_and_obs_scale_factor(tmp_path):
    types = ["C1", "L1", "L2", "P2", "S1", "S2"]  # 2 lines per satellite
    lines = v2_header(types, system="G", extra=[hdr(f"{10:6d}{2:6d}    L1    L2", "OBS SCALE FACTOR")])
    lines += v2_epoch(20, 6, 25, 0, 0, 0.0, ["G01", "G02", "G03"])
    lines += v2_record([1.0, 20.0, 30.0, 4.0, 5.0, 6.0])
    lines += ["", ""]  # G02: nothing observed, two blank lines
    lines += v2_record([None, None, None, None, None, 6.5])
    obs = read_clean(write(tmp_path, "s.20o", lines))
    assert get(obs, 0, "G01", "L1C") == (2.0, 0, 0) and get(obs, 0, "G01", "L2W") == (3.0, 0, 0)
    assert get(obs, 0, "G01", "C2W") == (4.0, 0, 0)
    assert "G02" not in obs.satellites
    assert get(obs, 0, "G03", "S2W") == (6.5, 0, 0) and get(obs, 0, "G03", "C1C") is None
