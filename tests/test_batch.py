"""``satnav batch`` and :mod:`satnav.batch`: a small mixed network on Dask.

Real station-days (gsi-2005-092 0759 and 3040, one hour; esbc-2020-177 cut to its first 200
epochs), a simulated one (GLONASS + the regional example, 15 min, solved as ``R`` and ``RI``)
and one broken file. Each station-day of the batch must equal :func:`solve_files` on it
alone; the broken one fails alone with its one-line error; a rerun skips; ``--force`` redoes.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("distributed")
pytest.importorskip("pyarrow")
duckdb = pytest.importorskip("duckdb")

from satnav.batch import (  # noqa: E402
    StationDay,
    input_hash,
    read_positions,
    run_batch,
    service_table,
    tasks_from_manifest,
    tasks_from_paths,
    with_combinations,
)
from satnav.options import SolveOptions  # noqa: E402
from satnav.pipeline import solve_files  # noqa: E402

DATA = Path(os.environ.get("SATNAV_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
GSI = DATA / "gsi-2005-092"
ESBC = DATA / "esbc-2020-177"
REF_0759 = (-3976219.5082, 3382372.5671, 3652512.9849)  # header position, shared/data/stations.csv
REF_ESBC = (3582104.8024, 532590.1716, 5232755.1824)  # RTKLIB PPP-static, shared/data/stations.csv

pytestmark = pytest.mark.skipif(not GSI.is_dir() or not ESBC.is_dir(), reason="needs SATNAV_DATA")


@pytest.fixture(scope="module")
def network(tmp_path_factory):
    """(tasks, directory): the mixed batch's inputs written under a temporary directory."""
    from satnav.constellation.simulate import Scenario, run_scenario
    from satnav.io.rinex_obs import read_rinex_obs
    from satnav.io.rinex_obs_writer import write_rinex_obs

    root = tmp_path_factory.mktemp("network")
    # esbc: the first 200 epochs, in an archive directory beside its navigation file
    archive = root / "archive" / "2020" / "177"
    archive.mkdir(parents=True)
    obs = read_rinex_obs(ESBC / "ESBC00DNK_R_20201770000_01D_30S_MO.crx.gz")
    write_rinex_obs(obs.epoch_slice(0, 200), archive / "ESBC00DNK_R_20201770000_01D_30S_MO.rnx")
    shutil.copy(ESBC / "ESBC00DNK_R_20201770000_01D_MN.rnx.gz", archive)
    shutil.copy(ESBC / "MOJN00DNK_R_20201770000_01D_MN.rnx.gz", archive)  # another station's: not chosen
    # simulated: GLONASS + the regional example, 15 minutes (its truth is the reference)
    sim_dir = root / "sim"
    sim, _ = run_scenario(Scenario(duration_h=0.25, constellations=("glonass", "regional"), marker="SIMB"), sim_dir)
    truth = tuple(float(v) for v in sim.receiver_ecef_m[0])
    # broken: not a RINEX file at all
    broken = root / "brkn0920.05o"
    broken.write_text("this is not an observation file\n")
    manifest = root / "manifest.csv"
    with open(manifest, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["station", "day", "observation", "navigation", "reference", "systems"])
        w.writerow(["0759", "2005-092", GSI / "07590920.05o", GSI / "07590920.05n", " ".join(map(str, REF_0759)), ""])
        w.writerow(["3040", "2005-092", GSI / "30400920.05o", GSI / "30400920.05n", "", "G"])
        w.writerow(["BRKN", "2005-092", broken.name, GSI / "30400920.05n", "", ""])
    tasks = tasks_from_manifest(manifest)
    tasks += tasks_from_paths([str(root / "archive" / "**" / "*")], references={"ESBC": REF_ESBC})
    tasks += with_combinations(tasks_from_paths([sim_dir / "*_MO.rnx"], references={"SIMB": truth}), ["R", "RI"])
    return tasks, root


@pytest.fixture(scope="module")
def first_run(network, tmp_path_factory):
    tasks, _ = network
    out = tmp_path_factory.mktemp("out")
    result = run_batch(tasks, out, workers=2, processes=False)
    return tasks, out, result


def test_inputs_found_from_manifest_and_archive(network):
    tasks, root = network
    by = {(t.station, t.options.systems): t for t in tasks}
    assert set(by) == {("0759", "GRECJI"), ("3040", "G"), ("BRKN", "GRECJI"), ("ESBC", "GRECJI"),
                       ("SIMB", "R"), ("SIMB", "RI")}
    esbc = by["ESBC", "GRECJI"]
    assert esbc.day == "2020-177" and [Path(p).name for p in esbc.navigation] == ["ESBC00DNK_R_20201770000_01D_MN.rnx.gz"]
    assert by["SIMB", "R"].day == "2020-177" and Path(by["SIMB", "R"].navigation[0]).name.endswith("_MN.rnx")
    assert by["0759", "GRECJI"].reference_m == REF_0759
    assert by["BRKN", "GRECJI"].observation == str(root / "brkn0920.05o")  # relative to the manifest


def test_batch_equals_solve_files_alone(first_run):
    tasks, out, result = first_run
    rows = {(r["station"], r["systems"]): r for r in result.rows}
    for task in tasks:
        if task.station == "BRKN":
            continue
        row = rows[task.station, task.options.systems]
        assert row["state"] == "done", row["error"]
        alone = solve_files(task.observation, task.navigation, task.options)
        table = read_positions(out, f"station = '{task.station}' and systems = '{task.options.systems}'")
        assert len(table) == len(alone) == row["epochs"]
        np.testing.assert_array_equal(table["time_ns"].to_numpy(), alone.time_ns)
        np.testing.assert_array_equal(table[["x_m", "y_m", "z_m"]].to_numpy(), alone.position_m)
        np.testing.assert_array_equal(table["status"].to_numpy(), alone.status)
        np.testing.assert_array_equal(table["n_used"].to_numpy(), alone.n_used)
        assert row["solved"] == int(alone.solved.sum())
        assert row["flagged"] == int((alone.solved & ~alone.valid).sum())
        if task.reference_m is not None:
            err = alone.errors(task.reference_m, mask=alone.valid)
            assert row["h_rms_m"] == pytest.approx(err["h_rms"]) and row["v_95_m"] == pytest.approx(err["v_95"])
    # against the outside: gsi 0759 SPP vs its header position (README: H RMS 0.52 m, 120/120)
    assert rows["0759", "GRECJI"]["solved"] == 120 and rows["0759", "GRECJI"]["h_rms_m"] < 1.0
    assert rows["ESBC", "GRECJI"]["epochs"] == 200 and rows["ESBC", "GRECJI"]["h_95_m"] < 5.0
    # the simulated station: GLONASS alone and with the regional system (monitoring view)
    service = {(s["station"], s["systems"]): s for s in service_table(result.rows)}
    assert service["SIMB", "RI"]["mean_satellites"] > service["SIMB", "R"]["mean_satellites"]
    assert service["SIMB", "RI"]["h_95_m"] < 10.0


def test_broken_file_fails_alone_with_its_message(first_run):
    _, out, result = first_run
    failed = [r for r in result.rows if r["state"] == "failed"]
    assert [r["station"] for r in failed] == ["BRKN"] and result.n_failed == 1
    assert "brkn0920.05o" in failed[0]["error"] and "\n" not in failed[0]["error"]
    assert not (out / "positions" / "station=BRKN").exists()
    summary = (out / "summary.csv").read_text()
    assert "brkn0920.05o" in summary and "BRKN" in (out / "summary.html").read_text()


def test_summary_station_map(first_run):
    # the summary's positions of 0759 and ESBC are their reference coordinates (ECEF from
    # shared/data/stations.csv, converted to latitude/longitude by pyproj), within 1e-4 deg;
    # the map in summary.html shows each station's dot at its place
    pytest.importorskip("matplotlib")
    pyproj = pytest.importorskip("pyproj")
    from matplotlib.figure import Figure

    from satnav.batch import station_map, station_positions
    from tests.report.test_basemap import read_png

    _, out, result = first_run
    stations = station_positions(result.rows)
    assert "BRKN" not in stations and {"0759", "ESBC", "SIMB"} <= set(stations)
    to_geodetic = pyproj.Transformer.from_crs("EPSG:4978", "EPSG:4979", always_xy=True)
    for name, xyz in (("0759", REF_0759), ("ESBC", (3582104.8024, 532590.1716, 5232755.1824))):
        lon, lat, _ = to_geodetic.transform(*xyz)
        assert stations[name][0] == pytest.approx(lat, abs=1e-4)
        assert stations[name][1] == pytest.approx(lon, abs=1e-4)
    assert "alt='station map' src='data:image/png;base64," in (out / "summary.html").read_text()
    fig = Figure(figsize=(9.0, 5.6), dpi=100, layout="constrained")
    m, png = station_map(stations, fig)
    path = out.parent / "stations.png"
    path.write_bytes(png)
    img = read_png(path)
    # coloured by the H 95 % error where the reference is known (0759, ESBC), hollow otherwise
    assert np.isfinite(stations["0759"][3]) and np.isfinite(stations["ESBC"][3])
    dots = fig.axes[0].collections[-1]
    for name, (lat, lon, _, h95) in stations.items():
        if not np.isfinite(h95):
            continue
        col, row = m.pixel(lon, lat)
        dot = np.array(dots.cmap(dots.norm(h95))[:3]) * 255.0
        assert np.linalg.norm(img[int(round(float(row))), int(round(float(col)))] - dot) < 30.0, name


def test_duckdb_query_on_the_dataset(first_run):
    _, out, result = first_run
    glob = str(out / "positions" / "**" / "*.parquet")
    counts = duckdb.sql(
        f"select station, systems, count(*) as epochs, sum(valid::int) as valid "
        f"from '{glob}' group by station, systems order by station, systems"
    ).fetchall()
    expected = sorted((r["station"], r["systems"], r["epochs"], round(r["availability"] * r["epochs"]))
                      for r in result.rows if r["state"] == "done")
    assert counts == expected
    summary = duckdb.sql(f"select station, state, error from '{out / 'summary.parquet'}' where state = 'failed'").fetchall()
    assert [s[0] for s in summary] == ["BRKN"]
    import pandas as pd

    frame = pd.read_parquet(out / "positions", partitioning=None)
    assert len(frame) == sum(c[2] for c in counts)


def test_rerun_skips_and_force_redoes(first_run):
    tasks, out, _ = first_run
    parquet = next((out / "positions").rglob("*.parquet"))
    mtime = parquet.stat().st_mtime_ns
    again = run_batch(tasks, out, workers=1, processes=False)
    assert again.n_skipped == len(tasks) - 1 and again.n_failed == 1
    assert parquet.stat().st_mtime_ns == mtime
    # options changed for one station-day: that one only is solved again
    changed = [t if t.station != "3040" else StationDay(t.station, t.day, t.observation, t.navigation,
                                                        t.options.replace(elevation_mask_deg=15.0))
               for t in tasks]
    assert input_hash(changed[1]) != input_hash(tasks[1])
    partly = run_batch(changed, out, workers=1, processes=False)
    assert {r["station"] for r in partly.rows if r["state"] == "done"} == {"3040"}
    forced = run_batch(tasks[:1], out, workers=1, processes=False, force=True)
    assert forced.rows[0]["state"] == "done" and parquet.stat().st_mtime_ns >= mtime
    assert not list(out.rglob("*.part"))  # complete files only


def test_command_line_processes_exit_status_and_rerun(network, tmp_path, capsys):
    from satnav.cli.main import main

    _, root = network
    out = tmp_path / "out"
    rc = main(["batch", str(root / "manifest.csv"), "-o", str(out), "--workers", "1", "--plain"])
    captured = capsys.readouterr()
    assert rc == 1
    assert "1 of 3 station-days failed" in captured.err
    assert "brkn0920.05o" in captured.out and "0759" in captured.out
    rc = main(["batch", str(root / "manifest.csv"), "-o", str(out), "--workers", "1", "-q"])
    captured = capsys.readouterr()
    assert rc == 1 and captured.out == ""
    rows = list(csv.DictReader(open(out / "summary.csv")))
    assert sorted(r["state"] for r in rows) == ["failed", "skipped", "skipped"]


def test_command_line_errors_are_one_line(tmp_path, capsys):
    from satnav.cli.main import main

    assert main(["batch", str(tmp_path / "nothing*.crx.gz"), "-o", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("satnav: ") and err.count("\n") == 1 and "no observation file" in err


def _free_port() -> int | None:
    import socket

    try:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            return s.getsockname()[1]
    except OSError:
        return None


def test_external_scheduler_on_localhost(network, tmp_path):
    """``dask scheduler`` and ``dask worker`` started as subprocesses on 127.0.0.1."""
    dask_cmd = shutil.which("dask")
    port = _free_port()
    if dask_cmd is None or port is None:
        pytest.skip("no dask command or no free port on 127.0.0.1")
    import satnav

    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(Path(satnav.__file__).resolve().parents[1]), os.environ.get("PYTHONPATH", "")]))
    address = f"tcp://127.0.0.1:{port}"
    procs = []
    try:
        procs.append(subprocess.Popen(
            [dask_cmd, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True))
        procs.append(subprocess.Popen(
            [dask_cmd, "worker", address, "--nworkers", "1", "--nthreads", "1", "--no-dashboard"],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True))
        from distributed import Client

        deadline = time.monotonic() + 30
        client = None
        while time.monotonic() < deadline:
            try:
                client = Client(address, timeout="2s")
                client.wait_for_workers(1, timeout=max(1.0, deadline - time.monotonic()))
                break
            except (OSError, TimeoutError):
                if client is not None:
                    client.close()
                    client = None
                time.sleep(0.5)
        if client is None:
            pytest.skip("the dask scheduler/worker did not start on 127.0.0.1")
        client.close()
        tasks = [t for t in network[0] if t.station in ("0759", "BRKN")]
        out = tmp_path / "out"
        result = run_batch(tasks, out, scheduler=address)
        states = {r["station"]: r["state"] for r in result.rows}
        assert states == {"0759": "done", "BRKN": "failed"}
        alone = solve_files(tasks[0].observation, tasks[0].navigation, tasks[0].options)
        np.testing.assert_array_equal(read_positions(out)[["x_m", "y_m", "z_m"]].to_numpy(), alone.position_m)
        marker = json.loads(next((out / "positions").rglob("*.json")).read_text())
        assert marker["input_hash"] == input_hash(tasks[0])
    finally:
        for p in reversed(procs):
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
        for p in reversed(procs):
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait(timeout=5)


def test_manifest_toml_and_options(tmp_path):
    manifest = tmp_path / "m.toml"
    manifest.write_text(
        "[options]\nelevation_mask_deg = 15.0\n\n"
        "[[station_day]]\n"
        f'station = "0759"\nday = "2005-092"\nobservation = "{GSI / "07590920.05o"}"\n'
        f'navigation = ["{GSI / "07590920.05n"}"]\nreference = {list(REF_0759)}\n'
        'options = { systems = "G", raim = false }\n'
    )
    (task,) = tasks_from_manifest(manifest)
    assert task.options == SolveOptions(systems="G", raim=False, elevation_mask_deg=15.0)
    assert task.reference_m == REF_0759
    bad = tmp_path / "bad.csv"
    bad.write_text("station,day,observation,colour\nX,2005-092,a.obs,red\n")
    from satnav.errors import SatnavError

    with pytest.raises(SatnavError, match="unknown field"):
        tasks_from_manifest(bad)


def test_interrupt_leaves_complete_files_and_resumes(network, tmp_path):
    """Ctrl-C (KeyboardInterrupt in the main thread) after the first finished station-day:
    the running ones are cancelled, the summary of the finished ones is written, every file
    left is complete, and the next run does only what was not finished."""
    import pyarrow.parquet as pq

    tasks = [t for t in network[0] if t.station in ("0759", "3040", "SIMB")]
    out = tmp_path / "out"
    seen = []

    def interrupt(row, n_finished, n_total):
        seen.append(row["station"])
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_batch(tasks, out, workers=1, processes=False, progress=interrupt)
    assert len(seen) == 1
    summary = pq.read_table(out / "summary.parquet").to_pylist()
    assert [r["station"] for r in summary] == seen
    for path in (out / "positions").rglob("*.parquet"):
        assert pq.read_table(path).num_rows > 0
    again = run_batch(tasks, out, workers=1, processes=False)
    assert again.n_failed == 0 and again.n_skipped >= 1 and again.n_done + again.n_skipped == len(tasks)
    assert not list(out.rglob("*.part"))


def test_navigation_read_once_per_worker_for_shared_files(tmp_path):
    """Station-days naming the same navigation files share one reading in a worker (the
    stations of a network use the day's BRDC file); a changed file is read again; the
    positions are those of ``satnav solve`` given the file names."""
    from satnav import batch

    nav = tmp_path / "07590920.05n"
    shutil.copy(GSI / "07590920.05n", nav)
    batch._NAVIGATION_CACHE.clear()
    a = StationDay("0759", "2005-092", str(GSI / "07590920.05o"), (str(nav),))
    b = StationDay("3040", "2005-092", str(GSI / "30400920.05o"), (str(nav),))
    first = batch._shared_navigation(a, a.options)
    assert batch._shared_navigation(b, b.options) is first
    os.utime(nav, ns=(nav.stat().st_atime_ns, nav.stat().st_mtime_ns + 1_000_000_000))
    assert batch._shared_navigation(b, b.options) is not first
    out = tmp_path / "out"
    result = run_batch([a, b], out, workers=1, processes=False)
    assert result.n_done == 2
    for task in (a, b):
        alone = solve_files(task.observation, task.navigation, task.options)
        table = read_positions(out, f"station = '{task.station}'")
        np.testing.assert_array_equal(table[["x_m", "y_m", "z_m"]].to_numpy(), alone.position_m)


def test_summary_page_has_the_daily_series(first_run):
    """summary.html: a time series per station and combination of availability and H 95 %,
    a point per station-day whose tooltip holds the summary's value (read back with an XML
    parser)."""
    import re
    import xml.etree.ElementTree as ET

    from satnav.batch import summary_html

    _, out, result = first_run
    page = summary_html(result.rows)  # what summary.html of the run holds (later tests rewrite it)
    svgs = re.findall(r"<svg.*?</svg>", page, flags=re.S)
    series = {}
    for svg in svgs:
        root = ET.fromstring(svg)
        ns = "{http://www.w3.org/2000/svg}"
        title = root.find(f"{ns}title")
        if title is None:
            continue
        for circle in root.iter(f"{ns}circle"):
            label, value = circle.find(f"{ns}title").text.rsplit(": ", 1)
            series[(title.text, label)] = float(value)
    for r in result.rows:
        if r["state"] == "failed":
            continue
        key = ("availability (valid epochs / epochs)", f"{r['station']} {r['systems']} {r['day']}")
        assert series[key] == pytest.approx(r["availability"], rel=1e-3)
        if not np.isnan(r["h_95_m"]):
            key = ("horizontal error, 95 % (m)", f"{r['station']} {r['systems']} {r['day']}")
            assert series[key] == pytest.approx(r["h_95_m"], rel=1e-3)
