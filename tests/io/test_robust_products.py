"""Issue 11 (SP3, CLK, containers, resource caps): the robustness cases of
``../shared/cases/robustness`` read in place, and the bounds on what an input may cost."""

from __future__ import annotations

import gzip
import os
import warnings
import zlib
from pathlib import Path

import numpy as np
import pytest

from satnav.errors import ClockFileError, DamagedRecordWarning, FormatError, Sp3Error
from satnav.info import detect_format, file_info
from satnav.io.clk import read_clk
from satnav.io.sp3 import read_sp3
from satnav.io.textfile import read_bytes, read_head
from tests.conftest import REPO

CASES = Path(os.environ.get("SATNAV_CASES", REPO.parent / "shared" / "cases"))


def case(name: str) -> Path:
    p = CASES / "robustness" / name
    if not p.exists():
        pytest.skip(f"case not available: {p}")
    return p


# ------------------------------------------------------------------ case 02: damaged zip
def test_zip_with_bad_deflate_is_a_one_line_error():
    path = case("02_zip_bad_deflate.zip")
    with pytest.raises(FormatError) as exc:
        file_info(path)
    text = str(exc.value)
    assert "\n" not in text and text.startswith(str(path)) and "damaged zip" in text
    assert text.count(str(path)) == 1


# ------------------------------------------------------------------ case 08: bad-value markers
def test_clk_bad_value_marker_is_missing():
    path = case("08_clk_bias_999999.clk")
    line = next(ln for ln in path.read_text().splitlines() if "0.999999999999E+06" in ln)
    sat = line[3:6]
    clk = read_clk(path)
    col = clk.satellite_ids().index(sat)
    assert np.isnan(clk.satellite_bias_s[0, col])
    assert np.nanmax(np.abs(clk.satellite_bias_s)) < 1e-2  # every other clock is a real one (< 10 ms)


@pytest.mark.parametrize("marker", ["999999.999999", "-999999.999999"])
def test_sp3_bad_value_markers_are_missing(marker, tmp_path):
    src = case("11_sp3_satcount_strict.sp3").read_text().splitlines()
    i = next(k for k, ln in enumerate(src) if ln.startswith("PG01"))
    src[i] = src[i][:46] + f"{marker:>14}" + src[i][60:]
    path = tmp_path / "marker.sp3"
    path.write_text("\n".join(src) + "\n")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DamagedRecordWarning)
        sp3 = read_sp3(path)
    g01 = sp3.satellite_ids().index("G01")
    assert np.isnan(sp3.clock_s[0, g01])
    assert np.isfinite(sp3.position_m[0, g01]).all()
    assert np.nanmax(np.abs(sp3.clock_s)) < 1e-2


# ------------------------------------------------------------------ case 11: --strict everywhere
@pytest.mark.parametrize("name, error", [
    ("11_sp3_satcount_strict.sp3", Sp3Error),
    ("11b_clk_badleap_strict.clk", ClockFileError),
    ("11c_clk_prnlist_strict.clk", ClockFileError),
])
def test_strict_makes_header_damage_an_error(name, error):
    path = case(name)
    with pytest.warns(DamagedRecordWarning):
        file_info(path)
    with pytest.raises(error) as exc:
        file_info(path, strict=True)
    assert str(exc.value).startswith(f"{path}:")


# ------------------------------------------------------------------ case 18: data after EOF
def test_sp3_data_after_eof_is_warned():
    path = case("18_sp3_data_after_EOF.sp3")
    eof_line = path.read_text().splitlines().index("EOF") + 1
    with pytest.warns(DamagedRecordWarning, match=rf":{eof_line}: .*after the EOF line"):
        sp3 = read_sp3(path)
    # what comes after EOF is not used
    assert len(sp3.time) == 1
    with pytest.raises(Sp3Error, match="after the EOF"):
        read_sp3(path, strict=True)


# ------------------------------------------------------------------ resource caps
def _space_bomb(tmp_path, megabytes: int, newline_every: int | None = None) -> Path:
    head = case("gsi_obs_cut.05o").read_bytes()[:3000]
    comp = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = b" " * (1 << 20) if newline_every is None else (b" " * (newline_every - 1) + b"\n") * (
        (1 << 20) // newline_every)
    parts = [comp.compress(head)] + [comp.compress(block) for _ in range(megabytes)] + [comp.flush()]
    path = tmp_path / "bomb.05o.gz"
    path.write_bytes(b"".join(parts))
    return path


def test_long_line_stops_decompression(tmp_path):
    path = _space_bomb(tmp_path, 64)
    with pytest.raises(FormatError, match=r"bomb.05o.gz:\d+: line longer than 1 MiB.*SATNAV_MAX_LINE_BYTES"):
        read_bytes(path)


def test_decompressed_size_cap_is_configurable(tmp_path, monkeypatch):
    path = _space_bomb(tmp_path, 8, newline_every=80)
    monkeypatch.setenv("SATNAV_MAX_INPUT_BYTES", "4M")
    with pytest.raises(FormatError, match="more than 4 MiB of .*SATNAV_MAX_INPUT_BYTES"):
        read_bytes(path)
    monkeypatch.setenv("SATNAV_MAX_INPUT_BYTES", "16M")
    assert len(read_bytes(path)) > 8 << 20
    monkeypatch.setenv("SATNAV_MAX_LINE_BYTES", "40")
    with pytest.raises(FormatError, match="line longer than 40 bytes"):
        read_bytes(path)
    monkeypatch.setenv("SATNAV_MAX_LINE_BYTES", "lots")
    with pytest.raises(FormatError, match="SATNAV_MAX_LINE_BYTES='lots' is not a size"):
        read_bytes(path)


def test_plain_file_size_cap(monkeypatch):
    monkeypatch.setenv("SATNAV_MAX_INPUT_BYTES", "1K")
    with pytest.raises(FormatError, match="more than 1 KiB"):
        read_bytes(case("gsi_obs_cut.05o"))


def test_detect_format_reads_only_the_head(tmp_path, monkeypatch):
    # a header followed by 64 MiB of spaces: detection decompresses 64 KiB, not the file
    path = _space_bomb(tmp_path, 64)
    monkeypatch.setenv("SATNAV_MAX_INPUT_BYTES", "1M")
    assert detect_format(path) == ("rinex-obs", 2.1)
    assert len(read_head(path, 4096)) == 4096


@pytest.mark.parametrize("special", ["/dev/zero", "/dev/full", "fifo"])
def test_special_files_are_refused(special, tmp_path):
    if special == "fifo":
        special = tmp_path / "pipe"
        os.mkfifo(special)
    elif not Path(special).exists():
        pytest.skip(f"{special} absent")
    for fn in (read_bytes, detect_format):
        with pytest.raises(FormatError, match="not a regular file"):
            fn(special)


def test_gzip_of_sp3_reads_like_the_plain_file(tmp_path):
    src = case("11_sp3_satcount_strict.sp3")
    gz = tmp_path / "orbit.sp3.gz"
    gz.write_bytes(gzip.compress(src.read_bytes()))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DamagedRecordWarning)
        a, b = read_sp3(src), read_sp3(gz)
    assert np.array_equal(a.position_m, b.position_m, equal_nan=True)


# ------------------------------------------------------------------ Android / GSDC
def test_gsdc_huge_integer_row_is_skipped_with_its_line():
    from satnav.io.android import read_gsdc_csv

    path = case("03_gsdc_huge_int.csv")
    bad = next(i for i, ln in enumerate(path.read_text().splitlines(), 1) if ",1e300," in ln)
    with pytest.warns(DamagedRecordWarning, match=rf"03_gsdc_huge_int.csv:{bad}: .*out of range"):
        obs = read_gsdc_csv(path)
    assert len(obs.epochs) == 1 and len(obs) > 0
    with pytest.raises(FormatError, match=f":{bad}:"):
        read_gsdc_csv(path, strict=True)


def test_gnsslogger_with_long_comment_header_is_detected_and_decoded(tmp_path):
    from tests.conftest import data_path

    src = data_path("android-gsdc2023-pixel7pro", "gnss_log.txt").read_text().splitlines()
    first_raw = next(i for i, ln in enumerate(src) if ln.startswith("Raw,"))
    padded = src[:first_raw] + ["# " + "x" * 70] * 120 + src[first_raw:]
    path = tmp_path / "gnss_log_long_header.txt"
    path.write_text("\n".join(padded) + "\n")
    assert detect_format(path) == ("android-gnsslogger", None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = file_info(data_path("android-gsdc2023-pixel7pro", "gnss_log.txt"))
        b = file_info(path)
    assert b["epochs"] == a["epochs"] == 5
    assert b["satellites"] == a["satellites"] and len(b["satellites"]) == 22


def test_info_decodes_device_gnss():
    from tests.conftest import data_path

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        info = file_info(data_path("android-gsdc2023-pixel7pro", "device_gnss.csv"))
    assert info["format"] == "gsdc-device-gnss" and info["epochs"] == 5
    assert info["satellites_per_system"]["G"] == 10


def _independent_wls(table):
    """Per-epoch least squares on Google's corrected pseudoranges (their formula, plus the
    Earth rotation during the flight): position and one clock per system."""
    c, we = 299792458.0, 7.2921151467e-5
    out = {}
    corrected = table["pseudorange_m"] + table["clock_bias_m"] - np.nan_to_num(table["isrb_m"]) \
        - table["iono_m"] - table["tropo_m"]
    system = np.array([int(s) // 100 for s in table["sat"]])  # any per-system label
    for t in np.unique(table["time_ns"]):
        sel = table["time_ns"] == t
        sp, rho, sysl = table["position_m"][sel], corrected[sel], system[sel]
        labels = np.unique(sysl)
        x = np.zeros(3 + len(labels))
        for _ in range(10):
            r0 = np.linalg.norm(sp - x[:3], axis=1)
            theta = we * r0 / c
            rot = np.stack([sp[:, 0] * np.cos(theta) + sp[:, 1] * np.sin(theta),
                            -sp[:, 0] * np.sin(theta) + sp[:, 1] * np.cos(theta), sp[:, 2]], axis=1)
            d = rot - x[:3]
            r = np.linalg.norm(d, axis=1)
            clock = x[3 + np.searchsorted(labels, sysl)]
            a = np.zeros((len(r), len(x)))
            a[:, :3] = -d / r[:, None]
            a[np.arange(len(r)), 3 + np.searchsorted(labels, sysl)] = 1.0
            if len(r) < len(x) + 1:
                break
            dx = np.linalg.lstsq(a, rho - r - clock, rcond=None)[0]
            x += dx
            if np.linalg.norm(dx) < 1e-4:
                out[int(t)] = x[:3].copy()
                break
    return out


def test_gsdc2021_derived_solves_without_navigation(tmp_path):
    from satnav.frames import ecef_to_geodetic
    from satnav.io.android import read_gsdc_derived_table
    from satnav.options import SolveOptions
    from satnav.pipeline import solve_files
    from tests.conftest import data_path

    path = data_path("android-gsdc2021-pixel4xl", "Pixel4XL_derived.csv.gz")
    assert detect_format(path) == ("gsdc-derived", None)
    sol = solve_files(path, [])
    assert len(sol.time_ns) == 286
    table = read_gsdc_derived_table(path)
    ref = _independent_wls(table)
    # every measurement, as the independent solution: the same measurements and states,
    # another weighting and troposphere model, so metres apart, without a common bias
    plain = solve_files(path, [], options=SolveOptions(elevation_mask_deg=0.0, raim=False))
    common = [i for i, t in enumerate(plain.time_ns) if int(t) in ref]
    assert len(common) > 250
    diff = np.array([plain.position_m[i] - ref[int(plain.time_ns[i])] for i in common])
    # (phone pseudoranges of metres of noise: the weighting alone moves epochs by metres)
    assert np.nanmedian(np.linalg.norm(diff, axis=1)) < 10.0
    assert np.all(np.abs(np.nanmedian(diff, axis=0)) < 3.0)
    lat, lon, h = ecef_to_geodetic(sol.position_m[:, 0], sol.position_m[:, 1], sol.position_m[:, 2])
    # trace 2021-01-05-US-SVL-1: Mountain View, California
    ok = np.isfinite(lat)
    assert ok.sum() > 280
    lat, lon = lat[ok], lon[ok]
    assert np.all(np.abs(np.degrees(lat) - 37.4) < 0.1) and np.all(np.abs(np.degrees(lon) + 122.1) < 0.15)


# ------------------------------------------------------------------ archives (CORS deliveries)
def _archives(tmp_path):
    import tarfile
    import zipfile

    obs, nav = case("gsi_obs_cut.05o"), case("gsi_nav_cut.05n")
    z = tmp_path / "day.zip"
    with zipfile.ZipFile(z, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.write(obs, obs.name)
        zf.writestr(nav.name + ".gz", gzip.compress(nav.read_bytes()))
        zf.writestr("readme.txt", "not GNSS")
    t = tmp_path / "day.tar.gz"
    with tarfile.open(t, "w:gz") as tf:
        tf.add(obs, obs.name)
        tf.add(nav, "sub/" + nav.name)
    return obs, nav, z, t


def _pos(sol):
    return np.column_stack([sol.time_ns.astype(float), sol.position_m])


def test_archive_info_lists_every_member(tmp_path):
    _, _, z, t = _archives(tmp_path)
    info = file_info(z)
    assert info["format"] == "archive"
    assert [(m["name"], m["format"]) for m in info["members"]] == [
        ("gsi_obs_cut.05o", "rinex-obs"), ("gsi_nav_cut.05n.gz", "rinex-nav"), ("readme.txt", None)]
    assert "not a recognised GNSS file" in info["members"][2]["error"]
    info = file_info(t)
    assert [m["format"] for m in info["members"]] == ["rinex-obs", "rinex-nav"]
    from satnav.info import format_info

    assert "gsi_nav_cut.05n.gz" in format_info(file_info(z))


def test_solve_takes_members_of_an_archive(tmp_path):
    from satnav.pipeline import solve_files

    obs, nav, z, t = _archives(tmp_path)
    plain = solve_files(obs, [nav])
    assert len(plain.time_ns) > 5
    for o, n in ((z, []), (f"{t}::gsi_obs_cut.05o", []), (f"{z}::gsi_obs_cut.05o", [t]),
                 (obs, [f"{z}::gsi_nav_cut.05n.gz"])):
        sol = solve_files(o, n)
        assert np.array_equal(_pos(sol), _pos(plain), equal_nan=True), (o, n)
    with pytest.raises(FormatError, match=r"no file 'nope.05o' in the archive; it holds gsi_obs_cut.05o"):
        solve_files(f"{z}::nope.05o", [])


def test_archive_with_two_observation_files_asks_for_a_member(tmp_path):
    import zipfile

    from satnav.errors import SatnavError
    from satnav.pipeline import solve_files

    obs = case("gsi_obs_cut.05o")
    z = tmp_path / "two.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.write(obs, "a.05o")
        zf.write(obs, "b.05o")
    with pytest.raises(SatnavError, match=r"2 observation files .*name one as ARCHIVE::MEMBER"):
        solve_files(z, [])


# ------------------------------------------------------------------ RINEX 4 system-level records
def test_rinex4_sto_and_ion_with_blank_satellite_number(tmp_path):
    from satnav.io.rinex_nav import read_rinex_nav
    from tests.conftest import data_path

    src = data_path("corpus", "KMS300DNK_R_20221591000_01H_MN.rnx.gz")
    text = gzip.decompress(src.read_bytes()).decode("ascii")
    blank = text.replace("> STO E01 IFNV", "> STO E   IFNV").replace("> ION E01 IFNV", "> ION E   IFNV")
    assert blank != text
    path = tmp_path / "BRD400DLR_S_blank.rnx"
    path.write_text(blank)
    with warnings.catch_warnings():
        warnings.simplefilter("error", DamagedRecordWarning)  # DLR's BRD400 files are valid
        a = read_rinex_nav(src)
        b = read_rinex_nav(path)
    assert len(b.sto_records) == len(a.sto_records) and len(b.ion_records) == len(a.ion_records)
    for ra, rb in zip(a.sto_records, b.sto_records):
        assert (ra["code"], ra["a0"], ra["a1"], ra["time"]) == (rb["code"], rb["a0"], rb["a1"], rb["time"])
    assert a.count_by_system() == b.count_by_system()
