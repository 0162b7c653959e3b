"""``satnav batch``: a network of station-days solved on Dask (:mod:`satnav.batch`).

Inputs are a manifest (CSV/TOML) or observation files and globs over an archive named the
IGS way; the work runs on a ``LocalCluster`` (``--workers``) or an existing scheduler
(``--scheduler``); the outputs are a Parquet dataset of positions, the summary
(``summary.parquet``/``.csv``/``.html``) and, on the terminal, a progress bar and the
summary table. Exit status 1 when some station-days failed.
"""

from __future__ import annotations

import io
import math
import sys
from pathlib import Path

from ..errors import SatnavError
from .checks import bounded_float, check_output_dir
from .progress import ProgressBar, add_verbosity
from .terminal import printable

__all__ = ["register", "cmd_batch"]

_MASK = bounded_float("an elevation mask in degrees", 0.0, 90.0, high_open=True)


def _positive_int(text: str) -> int:
    import argparse

    try:
        n = int(text)
    except ValueError:
        n = 0
    if n < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a number of workers >= 1")
    return n


def _base_options(args):
    from ..options import SolveOptions

    options = SolveOptions()
    if args.options:
        path = Path(args.options)
        text = path.read_text(encoding="utf-8")
        try:
            options = SolveOptions.from_json(text) if path.suffix.lower() == ".json" else SolveOptions.from_toml(text)
        except SatnavError as exc:
            raise SatnavError(f"{path}: {exc}") from None
    changes = {}
    if args.systems:
        changes["systems"] = args.systems
    if args.mask is not None:
        changes["elevation_mask_deg"] = args.mask
    return options.replace(**changes) if changes else options


def _tasks(args):
    from ..batch import read_references, tasks_from_manifest, tasks_from_paths, with_combinations

    options = _base_options(args)
    manifests = [p for p in args.inputs if Path(p).suffix.lower() in (".csv", ".toml")]
    if manifests and len(manifests) != len(args.inputs):
        raise SatnavError("give either manifests (.csv, .toml) or observation files and globs, not both")
    if manifests:
        tasks = [t for m in manifests for t in tasks_from_manifest(m, options)]
    else:
        references = read_references(args.stations) if args.stations else None
        tasks = tasks_from_paths(args.inputs, options, references=references)
    combos = [c for c in args.combinations.split(",") if c.strip()] if args.combinations else None
    return with_combinations(tasks, combos)


class _Progress:
    """``run_batch``'s ``progress(row, n_finished, n_total)`` on a :class:`ProgressBar`
    (station-days done, the failed ones counted)."""

    def __init__(self, quiet: bool, verbose: bool = False):
        self.failed = 0
        self.bar = ProgressBar("batch", "station-days", quiet=quiet, verbose=verbose)

    def __call__(self, row, n_finished: int, n_total: int) -> None:
        if row["state"] == "failed":
            self.failed += 1
            self.bar.stage(f"batch ({self.failed} failed)")
        self.bar(n_finished, n_total)

    def close(self) -> None:
        self.bar.close()


def format_summary(rows, *, plain: bool = False) -> str:
    """The summary table (and the service per combination when several) as text: rich's
    table when installed, else plain columns."""
    from ..batch import DISPLAY_COLUMNS, SERVICE_COLUMNS, display_rows, service_table

    parts = [_table("Station-days", *display_rows(rows, DISPLAY_COLUMNS), plain=plain)]
    if len({r["systems"] for r in rows}) > 1:
        parts.append(_table("Service per station and constellation combination",
                            *display_rows(service_table(rows), SERVICE_COLUMNS), plain=plain))
    return "\n".join(parts)


def _table(title: str, headers, cells, *, plain: bool) -> str:
    if not plain:
        try:
            from rich.console import Console
            from rich.table import Table
        except ImportError:
            pass
        else:
            table = Table(title=title)
            for i, h in enumerate(headers):
                table.add_column(h, justify="left" if i < 4 or h == "error" else "right")
            for c in cells:
                table.add_row(*(printable(x, newlines=False) for x in c))
            console = Console(width=200, record=True, file=io.StringIO())
            console.print(table)
            return console.export_text().rstrip()
    widths = [max(len(h), *(len(c[i]) for c in cells)) if cells else len(h) for i, h in enumerate(headers)]

    def line(items):
        return "  ".join(s.ljust(w) if i < 4 else s.rjust(w) for i, (s, w) in enumerate(zip(items, widths))).rstrip()

    return "\n".join([title, line(headers), line(["-" * w for w in widths])]
                     + [printable(line(c), newlines=False) for c in cells])


def cmd_batch(args) -> int:
    from ..batch import run_batch

    check_output_dir(args.output)
    tasks = _tasks(args)
    progress = _Progress(args.quiet, args.verbose)
    try:
        result = run_batch(tasks, args.output, workers=args.workers, scheduler=args.scheduler, force=args.force,
                           memory_limit=args.memory_limit, progress=progress)
    finally:
        progress.close()
    if not args.quiet:
        print(format_summary(result.rows, plain=args.plain))
        total_time = sum(r["run_time_s"] for r in result.rows
                         if r["state"] == "done" and not math.isnan(r["run_time_s"]))
        print(f"{len(result.rows)} station-days: {result.n_done} solved, {result.n_skipped} up to date (skipped), "
              f"{result.n_failed} failed; {total_time:.1f} s of solving; "
              f"summary {result.summary_paths['html']}")
    if result.n_failed:
        print(f"satnav: batch: {result.n_failed} of {len(result.rows)} station-days failed "
              f"(errors in {result.summary_paths['csv']})", file=sys.stderr)
        return 1
    return 0


def register(subparsers) -> None:
    s = subparsers.add_parser(
        "batch", help="solve a network of station-days on Dask (Parquet dataset + summary)",
        description="One task per station-day on dask.distributed: a LocalCluster by default "
                    "(--workers), or an existing scheduler (--scheduler). Writes "
                    "OUT/positions/station=S/day=YYYY-DDD/SYSTEMS.parquet (query with DuckDB: "
                    "select ... from 'OUT/positions/**/*.parquet') and OUT/summary.{parquet,csv,html}. "
                    "Station-days already solved with the same inputs and options are skipped.",
    )
    s.add_argument("inputs", nargs="+", metavar="INPUT",
                   help="a manifest (.csv or .toml), or observation files / globs named the IGS way "
                        "(SSSSMRCCC_R_YYYYDDDHHMM_01D_30S_MO.crx.gz, ssssDDD0.YYo): navigation of the "
                        "same day is found beside each")
    s.add_argument("-o", "--output", required=True, metavar="DIR", help="output directory")
    s.add_argument("--workers", type=_positive_int, metavar="N",
                   help="LocalCluster worker processes (default: CPUs, at most 4)")
    s.add_argument("--scheduler", metavar="ADDRESS", help="existing Dask scheduler, e.g. tcp://host:8786")
    s.add_argument("--memory-limit", metavar="BYTES", help="memory per LocalCluster worker (e.g. 2GB; default auto)")
    s.add_argument("--force", action="store_true", help="solve station-days again even if up to date")
    s.add_argument("--combinations", metavar="LIST",
                   help="constellation combinations, each a task: e.g. R,G,GR,GRE (system letters)")
    s.add_argument("--options", metavar="FILE", help="solve options (SolveOptions as TOML or JSON)")
    s.add_argument("--systems", help="systems to use (letters, default GRECJI)")
    s.add_argument("--mask", type=_MASK, help="elevation mask, degrees (default 10)")
    s.add_argument("--stations", metavar="CSV",
                   help="reference coordinates for archive inputs: CSV with station, x_m, y_m, z_m (ECEF m)")
    s.add_argument("--plain", action="store_true", help="plain-text table even if rich is installed")
    add_verbosity(s, quiet_help="no progress bar and no table")
    s.set_defaults(func=cmd_batch, input_args=("inputs", "options", "stations"))
