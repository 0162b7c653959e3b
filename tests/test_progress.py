"""Progress of long jobs: the library's callbacks count monotonically up to the job's size
(epochs of the files, grid points, simulation stages); the command line draws a bar on a
terminal only, prints nothing extra with -q, and timing lines with -v."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import numpy as np
import pytest

from satnav.progress import ProgressCounter
from tests.conftest import data_path

NS = 1_000_000_000
ESCAPE = re.compile(r"\x1b\[")


def check_calls(calls, total):
    """Monotonic counts within the total, the last one the total."""
    assert calls, "no progress reported"
    done = [d for d, _ in calls]
    assert all(0 <= d <= t for d, t in calls)
    assert all(b >= a for a, b in zip(done, done[1:]))
    assert calls[-1] == (total, total)


def test_counter_is_monotonic_and_ends_at_the_total():
    calls = []
    c = ProgressCounter(lambda d, t: calls.append((d, t)), 10)
    c.advance(4)
    c.update(2)  # going back is ignored
    c.advance(30)  # past the total is clipped
    c.finish()
    assert calls == [(4, 10), (4, 10), (10, 10), (10, 10)]
    ProgressCounter(None, 5).advance()  # no callback: nothing to call
    calls.clear()
    ProgressCounter(lambda d, t: calls.append((d, t))).finish()
    assert calls == [(0, 0)]


@pytest.fixture(scope="module")
def simulated(tmp_path_factory):
    """A 20-minute simulation (41 epochs of 30 s, RINEX 3.05) with its stage progress."""
    from satnav.constellation.simulate import Scenario, run_scenario

    out = tmp_path_factory.mktemp("sim")
    calls = []
    scenario = Scenario(constellations=["gps", "regional"], duration_h=20 / 60, interval_s=30.0, seed=3)
    sim, paths = run_scenario(scenario, out, progress=lambda d, t: calls.append((d, t)))
    return sim, paths, out, calls


def test_simulation_stages(simulated):
    from satnav.constellation.simulate import SIMULATION_STAGES

    sim, _, _, calls = simulated
    check_calls(calls, SIMULATION_STAGES + 1)  # + writing the files
    assert len(sim.times_ns) == 41


@pytest.mark.parametrize("jobs", [1, 2])
def test_streamed_solve_counts_the_file_epochs(simulated, monkeypatch, jobs):
    # a RINEX 3 file read and solved in chunks of 10 epochs: the total comes from the header
    # (first/last observation, interval) and the counts follow the chunks
    from satnav import pipeline
    from satnav.options import SolveOptions

    sim, paths, _, _ = simulated
    monkeypatch.setattr(pipeline, "STREAM_CHUNK_EPOCHS", 10)
    calls = []
    sol = pipeline.solve_files(paths["obs"], [paths["nav"]], SolveOptions(jobs=jobs),
                               progress=lambda d, t: calls.append((d, t)))
    assert len(sol) == 41
    check_calls(calls, 41)
    assert len({d for d, _ in calls}) >= 4 and calls[0][0] <= 10  # chunk by chunk
    assert all(t == 41 for _, t in calls)  # the header's count from the start


def test_evaluate_counts_every_combination(simulated):
    from satnav.constellation.evaluate import evaluate_directory

    _, _, out, _ = simulated
    calls = []
    rows = evaluate_directory(out, progress=lambda d, t: calls.append((d, t)))
    check_calls(calls, 41 * len(rows))


def test_rtk_and_one_shot_spp_count_epochs():
    from satnav.options import SolveOptions
    from satnav.pipeline import solve_files

    d = ("gsi-2005-092",)
    rover, base, nav = (data_path(*d, f) for f in ("07590920.05o", "30400920.05o", "07590920.05n"))
    calls = []
    sol = solve_files(rover, [nav], progress=lambda a, b: calls.append((a, b)))  # RINEX 2: one piece
    check_calls(calls, len(sol))
    assert len(sol) == 120
    calls.clear()
    sol = solve_files(rover, [nav], SolveOptions(mode="rtk-kinematic"), base=base,
                      progress=lambda a, b: calls.append((a, b)))
    check_calls(calls, 120)
    assert len(calls) >= 120  # every epoch of the filter


def test_coverage_grid_counts_points():
    from satnav.constellation.coverage import plan_region
    from satnav.constellation.design import regional_example

    c = regional_example()
    calls = []
    cov = plan_region(c, (-30, 30), (60, 140), 5.0, c.epoch_ns, c.epoch_ns + 6 * 3600 * NS, 3600.0,
                      chunk_points=50, progress=lambda d, t: calls.append((d, t)))
    n = cov.mean_visible.size
    assert n == 13 * 17
    check_calls(calls, n)
    assert len(calls) >= n // 50


# ---------------------------------------------------------------------------- command line
PLAN = ["plan", "--constellation", "regional", "--region", "-20,20,80,120", "--grid", "10",
        "--start", "2020-06-25T00:00:00", "--end", "2020-06-25T03:00:00"]


def test_quiet_prints_nothing(tmp_path, capsys):
    from satnav.cli import main

    assert main(PLAN + ["-o", str(tmp_path), "-q"]) == 0
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""
    assert (tmp_path / "region.png").exists()


def test_verbose_timings_and_no_escape_codes_off_a_terminal(tmp_path, capsys):
    from satnav.cli import main

    assert main(PLAN + ["-o", str(tmp_path), "-v"]) == 0
    captured = capsys.readouterr()
    assert re.search(r"satnav: coverage grid: 25/25 points, [\d.]+ s", captured.err)
    assert "grid points in" in captured.out  # the summary line
    assert not ESCAPE.search(captured.out + captured.err)
    with pytest.raises(SystemExit) as stop:  # one or the other: a usage error
        main(PLAN + ["-o", str(tmp_path), "-q", "-v"])
    assert stop.value.code == 2


def _run(args, tmp_path, *, tty: bool) -> str:
    """``python -m satnav ARGS`` with stdout and stderr on a pseudo-terminal (or a pipe):
    everything it wrote."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(p) for p in sys.path if p]),
               COLUMNS="100", TERM="xterm")
    if not tty:
        proc = subprocess.run([sys.executable, "-m", "satnav", *args], cwd=tmp_path, env=env,
                              capture_output=True, timeout=300)
        return (proc.stdout + proc.stderr).decode("utf-8", "replace")
    import pty

    leader, follower = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "satnav", *args], cwd=tmp_path, env=env,
                            stdout=follower, stderr=follower, stdin=subprocess.DEVNULL)
    os.close(follower)
    chunks = []
    while True:
        try:
            data = os.read(leader, 65536)
        except OSError:  # the follower side is closed: the process ended
            break
        if not data:
            break
        chunks.append(data)
    os.close(leader)
    assert proc.wait(timeout=300) == 0
    return b"".join(chunks).decode("utf-8", "replace")


@pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals are POSIX")
def test_bar_on_a_terminal_only(tmp_path):
    pytest.importorskip("rich")
    args = ["plan", "--constellation", "regional", "--region", "-40,40,60,140", "--grid", "4",
            "--start", "2020-06-25T00:00:00", "--end", "2020-06-25T03:00:00", "-o", "out"]
    on_tty = _run(args + ["-v"], tmp_path, tty=True)
    assert ESCAPE.search(on_tty)  # rich drew (and removed) its bar
    assert "satnav: coverage grid" in on_tty
    assert re.search(r"satnav: coverage grid: 441/441 points, [\d.]+ s", on_tty)  # -v: above the bar
    assert "grid points in" in on_tty  # then the summary line
    piped = _run(args, tmp_path, tty=False)
    assert not ESCAPE.search(piped) and "satnav: coverage grid" not in piped
    assert "grid points in" in piped
    assert np.array_equal(*(sorted(re.findall(r"mean visible [\d.-]+", t)) for t in (on_tty, piped)))


def test_ppp_counts_epochs():
    from satnav.estimators.ppp import PppOptions, solve_ppp
    from satnav.pipeline import precise_products, read_observations
    from tests.estimators.test_ppp import _bor1_files

    obs = read_observations(data_path("bor1-2024-035", "BOR100POL_R_20240350000_01D_30S_MO.crx.gz"))
    calls = []
    sol = solve_ppp(obs.epoch_slice(0, 12), precise_products(_bor1_files()), PppOptions(),
                    progress=lambda d, t: calls.append((d, t)))
    assert len(sol) == 12
    check_calls(calls, 12)
