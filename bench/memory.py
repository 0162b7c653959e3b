"""Peak memory and time of ``satnav solve`` (SPP) vs file length and cores.

Whole processes (``/usr/bin/time``-like: ``resource.getrusage`` of the waited child gives
the peak RSS of the process and of its largest child, CPU = user + sys of all of them):

* ``python -m satnav solve OBS NAV... -o OUT.pos -q --jobs J``: the streamed path (observations
  read and solved in time chunks of ``satnav.pipeline.STREAM_CHUNK_EPOCHS`` epochs, the
  per-epoch solution kept; J processes);
* ``one-shot``: the same solution from the observations read whole first
  (``solve_files(read_observations(OBS), ...)`` then the .pos written), the path before
  chunked reading -- only for files where that fits comfortably (``--one-shot-max``).

Files (built in a temporary folder, never committed):

* ``esbc-1h``, ``esbc-6h``, ``esbc-24h``: the first 1, 6 and 24 hours of the ESBC day
  (30 s, GPS+GLONASS+Galileo+BeiDou+QZSS, real data) as plain RINEX 3.05, cut from the
  Hatanaka-expanded text; ``esbc-24h.crx.gz``: the file as distributed (Hatanaka expanded
  through ``crx2rnx`` as a stream).
* ``sim-7d-30s``: 7 days at 30 s (20 160 epochs); ``sim-24h-1hz``: 24 h at 1 Hz (86 400
  epochs), both multi-GNSS (the ``demo`` constellation: GPS, GLONASS, Galileo, BeiDou,
  NavIC, 45 satellites in view) made with ``satnav sim demo`` piece by piece (one day at
  30 s, or one hour at 1 Hz, per call, with consecutive ``--start``) and concatenated: the
  header of the first piece, the epoch records of all pieces (the first epoch of each
  further piece is the last of the one before: dropped); the navigation files of every
  piece are given to ``satnav solve``.

Figures (2026-12-06, this 2-core machine, shared: load average 1.2 before, 2.6 after;
``satnav.pipeline.STREAM_CHUNK_EPOCHS`` = 1000)::

    load average before: 1.35 (2 cores)
    | file | epochs | MB text | run | wall s | CPU s | peak RSS MB |
    |---|---|---|---|---|---|---|
    | esbc-1h | 120 | 1 | one-shot | 0.31 | 0.31 | 60 |
    | esbc-1h | 120 | 1 | --jobs 1 | 0.32 | 0.32 | 65 |
    | esbc-1h | 120 | 1 | --jobs 2 | 0.39 | 0.39 | 65 |
    |  |  |  | .pos files identical: True |  |  |  |
    | esbc-6h | 720 | 8 | one-shot | 0.54 | 0.54 | 78 |
    | esbc-6h | 720 | 8 | --jobs 1 | 0.60 | 0.59 | 103 |
    | esbc-6h | 720 | 8 | --jobs 2 | 0.52 | 0.52 | 98 |
    |  |  |  | .pos files identical: True |  |  |  |
    | esbc-24h | 2880 | 33 | one-shot | 1.28 | 1.27 | 169 |
    | esbc-24h | 2880 | 33 | --jobs 1 | 1.32 | 1.31 | 136 |
    | esbc-24h | 2880 | 33 | --jobs 2 | 1.47 | 1.68 | 167 |
    |  |  |  | .pos files identical: True |  |  |  |
    | esbc-24h.crx.gz | 2880 | (crx.gz) | one-shot | 1.47 | 1.46 | 169 |
    | esbc-24h.crx.gz | 2880 | (crx.gz) | --jobs 1 | 1.52 | 1.51 | 144 |
    | esbc-24h.crx.gz | 2880 | (crx.gz) | --jobs 2 | 1.53 | 1.76 | 170 |
    |  |  |  | .pos files identical: True |  |  |  |
    | sim-7d-30s | 20161 | 124 | --jobs 1 | 12.90 | 12.77 | 165 |
    | sim-7d-30s | 20161 | 124 | --jobs 2 | 11.39 | 14.49 | 180 |
    |  |  |  | .pos files identical: True |  |  |  |
    | sim-24h-1hz | 86401 | 592 | --jobs 1 | 130.50 | 130.12 | 214 |
    | sim-24h-1hz | 86401 | 592 | --jobs 2 | 94.07 | 127.80 | 213 |
    |  |  |  | .pos files identical: True |  |  |  |
    load average after: 2.62

Peak memory is flat in the file's length: 136 MB for the ESBC day (2 880 epochs, 30 s,
~150 MB before chunking), 165 MB for 7 days at 30 s (20 161 epochs), 214 MB for 24 h at
1 Hz (86 401 epochs, 592 MB of text); the one-shot path grows ~47 MB per 1000 epochs. What
still grows is the per-epoch solution kept for the summary and the output, about 0.75 MB
per 1000 epochs ((214 - 165) MB / 66 240 epochs). Two processes: 1.39x faster on the 1 Hz
day, 1.13x on 7 days, none on one day (3 chunks: the observations are parsed in the main
process and sent to the workers, which costs about what the second core gives).

Since then (evening of 2026-12-06) the workers parse the chunk texts themselves and the
reading process solves chunks too: 1.55x on the 1 Hz day, 1.49x on 7 days, peak 190 MB for the
1 Hz day; the current table is in bench/RESULTS.md ("Memory and scaling with file length and
cores").

Usage: ``python bench/memory.py [--big] [--jobs 1,2] [--keep DIR]``; ``--big`` adds the
7-day and 24 h 1 Hz files (a few minutes to simulate, ~600 MB of text in /tmp).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import DATA

ESBC = DATA / "esbc-2020-177"
ESBC_OBS = ESBC / "ESBC00DNK_R_20201770000_01D_30S_MO.crx.gz"
ESBC_NAV = ESBC / "ESBC00DNK_R_20201770000_01D_MN.rnx.gz"
SRC = Path(__file__).resolve().parents[1] / "src"

ONE_SHOT = """
import sys
from satnav import pipeline
from satnav.io.solution import write_solution
obs = pipeline.read_observations(sys.argv[1])
write_solution(pipeline.solve_files(obs, sys.argv[3:]), sys.argv[2])
"""


def _env() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(SRC) + os.pathsep + env.get("PYTHONPATH", "")
    env.setdefault("OPENBLAS_NUM_THREADS", "1")
    return env


def measure(argv: list[str]) -> dict:
    """Run ``argv``; wall s, CPU s (user + sys) and peak RSS (MB) of the child processes."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(argv, check=True, env=_env(), stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    # ru_maxrss of RUSAGE_CHILDREN is the largest child so far: run each measure in a fresh
    # interpreter (main() does) so that it is this run's
    return {"wall_s": wall, "cpu_s": cpu, "rss_mb": after.ru_maxrss / 1024}


def _epochs(text: bytes) -> int:
    return text.count(b"\n>") + text.startswith(b">")


def esbc_cut(folder: Path, hours: float) -> Path:
    """The first ``hours`` of the ESBC day as plain RINEX 3."""
    sys.path.insert(0, str(SRC))
    from satnav.io.textfile import read_bytes

    text = read_bytes(ESBC_OBS)
    n = int(round(hours * 120))
    cut = -1
    for _ in range(n + 1):
        cut = text.find(b"\n>", cut + 1)
        if cut < 0:
            cut = len(text) - 1
            break
    path = folder / f"esbc-{hours:g}h.rnx"
    path.write_bytes(text[: cut + 1])
    return path


def sim_file(folder: Path, name: str, pieces: int, piece_hours: float, interval_s: float) -> tuple[Path, list[Path]]:
    """``pieces`` consecutive ``satnav sim demo`` runs concatenated (see the module docstring)."""
    out = folder / f"{name}.rnx"
    done = folder / f"{name}.done"
    if done.exists():  # built before in this --keep folder
        return out, [next((folder / f"{name}-piece{k}").glob("*_MN.rnx")) for k in range(pieces)]
    navs = []
    with open(out, "wb") as fh:
        for k in range(pieces):
            piece = folder / f"{name}-piece{k}"
            stamp = (datetime.datetime(2020, 6, 25) + datetime.timedelta(hours=k * piece_hours)).isoformat()
            subprocess.run([sys.executable, "-m", "satnav", "sim", "demo", "-o", str(piece), "--duration",
                            str(piece_hours), "--interval", str(interval_s), "--start", stamp],
                           check=True, env=_env(), stdout=subprocess.DEVNULL)
            obs = next(piece.glob("*_MO.rnx"))
            navs.append(next(piece.glob("*_MN.rnx")))
            text = obs.read_bytes()
            head, body = text.split(b"END OF HEADER\n", 1)
            if k == 0:
                fh.write(head + b"END OF HEADER\n")
            else:  # a piece starts at the epoch the one before ended with: written once
                body = body[body.index(b"\n>") + 1:]
            fh.write(body)
            obs.unlink()
    done.touch()
    return out, navs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--big", action="store_true", help="also the 7-day 30 s and 24 h 1 Hz files")
    ap.add_argument("--jobs", default="1,2", help="--jobs values to run (default 1,2)")
    ap.add_argument("--one-shot-max", type=int, default=3000, help="most epochs for the one-shot run")
    ap.add_argument("--keep", help="build the files in this folder (kept) instead of a temporary one")
    args = ap.parse_args()
    jobs = [int(j) for j in args.jobs.split(",")]
    folder = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="satnav-memory-"))
    folder.mkdir(parents=True, exist_ok=True)
    cases = [(f"esbc-{h}h", esbc_cut(folder, h), [ESBC_NAV]) for h in (1, 6, 24)]
    cases.append(("esbc-24h.crx.gz", ESBC_OBS, [ESBC_NAV]))
    if args.big:
        cases.append(("sim-7d-30s", *sim_file(folder, "sim-7d-30s", 7, 24, 30)))
        cases.append(("sim-24h-1hz", *sim_file(folder, "sim-24h-1hz", 24, 1, 1)))
    print(f"load average before: {os.getloadavg()[0]:.2f} ({os.cpu_count()} cores)")
    print("| file | epochs | MB text | run | wall s | CPU s | peak RSS MB |")
    print("|---|---|---|---|---|---|---|")
    for name, obs, navs in cases:
        raw = obs.read_bytes() if obs.suffix == ".rnx" else None
        epochs = _epochs(raw) if raw is not None else 2880
        size = f"{len(raw) / 1e6:.0f}" if raw is not None else "(crx.gz)"
        del raw
        runs = []
        if epochs <= args.one_shot_max:
            runs.append(("one-shot", [sys.executable, "-c", ONE_SHOT, str(obs), str(folder / "one.pos"),
                                      *map(str, navs)]))
        for j in jobs:
            runs.append((f"--jobs {j}", [sys.executable, "-m", "satnav", "solve", str(obs), *map(str, navs),
                                         "-o", str(folder / f"j{j}.pos"), "-q", "--jobs", str(j)]))
        for label, argv in runs:
            # a fresh interpreter per run so that RUSAGE_CHILDREN's peak is this run's
            here = str(Path(__file__).parent)
            probe = [sys.executable, "-c",
                     f"import json, sys; sys.path.insert(0, {here!r}); import memory; "
                     "print(json.dumps(memory.measure(json.loads(sys.argv[1]))))",
                     json.dumps(argv)]
            out = subprocess.run(probe, check=True, capture_output=True, text=True, env=_env())
            r = json.loads(out.stdout.strip().splitlines()[-1])
            print(f"| {name} | {epochs} | {size} | {label} | {r['wall_s']:.2f} | {r['cpu_s']:.2f} | "
                  f"{r['rss_mb']:.0f} |", flush=True)
        pos = [folder / f"j{j}.pos" for j in jobs] + ([folder / "one.pos"] if epochs <= args.one_shot_max else [])
        same = len({p.read_bytes() for p in pos}) == 1
        print(f"|  |  |  | .pos files identical: {same} |  |  |  |", flush=True)
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
