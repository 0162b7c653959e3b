"""The ``satnav`` command: the parser, ``info``, ``convert``, ``demo`` and error handling.

The other command groups live beside this module (``solve``, ``orbits``, ``constellation``,
``report``), each with a ``register(subparsers)``; :func:`main` imports only the module of the
command it runs (``satnav --help`` imports none of them, nor NumPy): the others appear in the
parser as placeholders holding their one-line help (:data:`_COMMANDS`). Every user error ends with one line ``satnav: FILE:LINE: what is wrong`` on stderr and
exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import os
import re
import sys
import warnings
from pathlib import Path

from ..errors import SatnavError, SatnavWarning
from ..io.atomic import protected_inputs, same_file
from .checks import bounded_int, check_output_dir, check_output_file
from .progress import add_verbosity
from .terminal import json_text, printable

__all__ = ["main", "build_parser", "SatnavArgumentParser", "os_error_message"]


# ---------------------------------------------------------------------------- commands
def cmd_info(args) -> int:
    from ..info import file_info, format_info
    from ..parallel import cores

    jobs = args.jobs if getattr(args, "jobs", None) is not None else cores()
    results = []
    for path in args.files:
        results.append(file_info(path, strict=args.strict, jobs=jobs))
        if not args.json:  # text: each file as soon as it is read, control characters escaped
            print(printable(format_info(results[-1])), flush=True)
    if args.json:  # valid JSON: NaN and infinities as null
        payload = results[0] if len(results) == 1 else results
        print(json_text(payload, indent=2))
    return 0


def cmd_convert(args) -> int:
    from .progress import ProgressBar

    bar = ProgressBar(f"reading {args.input}", "steps", quiet=args.quiet, verbose=args.verbose)
    try:
        bar(0, 2)
        epochs, satellites, values = _convert(args, bar)
    finally:
        bar.close()
    if not args.quiet:
        print(
            f"{args.output}: RINEX {_VERSIONS[args.rinex_version]:.2f}, {epochs} epochs, {satellites} satellites, "
            f"{values} observations ({bar.elapsed_s:.1f} s)"
        )
    return 0


def _convert(args, bar) -> tuple[int, int, int]:
    """The reading and writing of ``cmd_convert`` (two steps of ``bar``); the epochs,
    satellites and observations written."""
    from ..info import detect_format

    check_output_file(args.output)
    if args.nav is not None:
        check_output_file(args.nav)
    fmt, _ = detect_format(args.input)
    hint = None
    if args.time is not None:
        from ..gnss_time import parse_gpst

        try:
            hint = int(parse_gpst(args.time))
        except (ValueError, SatnavError):
            raise SatnavError(f"--time {args.time!r}: expected a date such as 2024-03-13 or 2024-03-13T12:00:00") from None
    if fmt in ("ubx", "rtcm3"):  # a raw receiver log, read, decoded and written piece by piece
        from ..io.rawlog_convert import convert_raw_log

        version = _VERSIONS[args.rinex_version]
        jobs = args.jobs if args.jobs is not None else 1
        done = convert_raw_log(args.input, args.output, protocol=fmt, nav_output=args.nav, time_hint_ns=hint,
                               version=version, jobs=jobs)
        bar(2, 2)
        if args.nav is not None and not args.quiet:
            from ..io.rawlog_convert import nav_version

            nav = done.navigation
            counts = ", ".join(f"{k}: {v}" for k, v in nav.count_by_system().items())
            print(f"{args.nav}: RINEX {nav_version(version):.2f} navigation, {len(nav)} messages ({counts})")
        return done.epochs, len(done.satellites), done.observations
    if args.nav is not None:
        raise SatnavError(f"{args.input}: --nav needs a raw receiver log (UBX or RTCM 3), expected no --nav for RINEX input")
    from ..io.rinex_obs import read_rinex_obs
    from ..io.rinex_obs_writer import write_rinex_obs

    obs = read_rinex_obs(args.input, strict=args.strict)
    bar.stage(f"writing {args.output}")
    bar(1, 2)
    write_rinex_obs(obs, args.output, version=_VERSIONS[args.rinex_version])
    bar(2, 2)
    return len(obs.epochs), len(obs.satellites), len(obs)


#: ``convert --rinex-version`` choices -> the RINEX observation version written.
_VERSIONS = {"3": 3.05, "3.05": 3.05, "4": 4.01, "4.01": 4.01, "4.02": 4.02}


def cmd_demo(args) -> int:
    from ..constellation.demo import DEFAULT_OUT_DIR, run_demo

    check_output_dir(args.output if args.output is not None else DEFAULT_OUT_DIR)
    return run_demo(args.output, quiet=args.quiet)


# ---------------------------------------------------------------------------- parser
class SatnavArgumentParser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors are one line on stderr, exit status 2:
    ``satnav: solve: argument --iono: invalid choice: ... (see satnav solve --help)``.

    Subcommand parsers inherit the class (``add_subparsers`` uses the parent's class).
    """

    def error(self, message: str):
        prog = self.prog or "satnav"
        sub = prog.split(None, 1)[1] if " " in prog else ""
        message = " ".join(str(message).split())
        where = f"satnav: {sub}: " if sub else "satnav: "
        self.exit(2, f"{where}{message} (see {prog} --help)\n")


#: ``build_parser``'s default: every command module imported and registered.
_ALL = "*"


def build_parser(command: str | None = _ALL) -> argparse.ArgumentParser:
    """The ``satnav`` argument parser.

    ``command``: by default every command is complete (all command modules imported); with a
    command name, only that command's module is imported and registered, the other commands
    are placeholders that show the same line in ``satnav --help``; with None, all are.
    """
    p = SatnavArgumentParser(prog="satnav", description="GNSS positioning and constellation design")
    from .._version import __version__

    p.add_argument("--version", action="version", version=f"satnav {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=SatnavArgumentParser)

    s = sub.add_parser("info", help="describe RINEX/SP3/CLK files")
    s.add_argument("files", nargs="+", metavar="FILE",
                   help="RINEX obs/nav, SP3, CLK, Android log or UBX file (compressed or in an archive)")
    s.add_argument("--json", action="store_true", help="print JSON (one object per file)")
    s.add_argument("--strict", action="store_true", help="damaged records are errors, not warnings")
    s.add_argument("--jobs", metavar="N", type=bounded_int("a number of processes", 1), default=None,
                   help="processes parsing a RINEX 3/4 observation file's time chunks; the same "
                        "summary (default: every core)")
    s.set_defaults(func=cmd_info, input_args=("files",))

    s = sub.add_parser("convert", help="convert an observation file, u-blox UBX or RTCM 3 log to RINEX 3.05 or 4")
    s.add_argument("input", metavar="IN", help="observation file (RINEX 2/3/4, Hatanaka, compressed), UBX or RTCM 3 log")
    s.add_argument("-o", "--output", required=True, metavar="OUT", help="RINEX observation file to write")
    s.add_argument("--rinex-version", choices=list(_VERSIONS), default="3.05", metavar="V",
                   help="RINEX version written: 3.05 (default, also 3), 4.01 (also 4) or 4.02; "
                   "with 4 the navigation file is RINEX 4.01")
    s.add_argument("--jobs", metavar="N", type=bounded_int("a number of processes", 1), default=None,
                   help="raw logs: 2 formats each piece's RINEX records in a forked process while the "
                        "next piece is decoded, the same file; faster only with a core to spare (default 1)")
    s.add_argument("--nav", metavar="NAV", help="also write the log's ephemerides (UBX, RTCM 3 input) as RINEX navigation")
    s.add_argument("--time", metavar="DATE", help="approximate date of an RTCM 3 log without ephemerides "
                   "(its time tags carry no week), e.g. 2024-03-13")
    s.add_argument("--strict", action="store_true", help="damaged records are errors, not warnings")
    add_verbosity(s)
    s.set_defaults(func=cmd_convert, input_args=("input",), output_args=("output", "nav"))

    s = sub.add_parser("demo", help="run the main job on the embedded default")
    s.add_argument("-o", "--output", metavar="DIR", help="output directory (default ./satnav-demo)")
    s.add_argument("-q", "--quiet", action="store_true", help="print nothing (the files are written)")
    s.set_defaults(func=cmd_demo)

    for module_name, commands in _COMMANDS:
        if command == _ALL or any(name == command for name, _ in commands):
            importlib.import_module(f"{__package__}.{module_name}").register(sub)
        else:
            for name, help_text in commands:
                sub.add_parser(name, help=help_text)
    return p


#: Command modules beside this one whose ``register(subparsers)`` adds subcommands, in
#: ``--help`` order, with the (name, one-line help) of each command they add: the lines of
#: ``satnav --help`` without importing them (tests/test_cli_lazy.py checks that they match).
_COMMANDS = (
    ("orbits", (("orbits", "write broadcast-derived SP3 orbits/clocks; compare them with precise products"),)),
    ("fit", (("fit", "fit the orbit dynamics (gravity, Sun/Moon, SRP) to SP3 orbits; predict"),)),
    ("odts", (("odts", "control segment: monitoring, orbit determination and time sync, broadcast, SISRE"),)),
    ("constellation", (
        ("plan", "visibility, DOPs and coverage maps (CSV + PNG)"),
        ("sim", "simulate observations of designed constellations (RINEX)"),
        ("evaluate", "solve a simulation and print the service table"),
    )),
    ("solve", (("solve", "positions from observations and navigation files (SPP, DGNSS, RTK)"),)),
    ("report", (("report", "self-contained HTML report of a solution (.pos) file"),)),
    ("batch", (("batch", "solve a network of station-days on Dask (Parquet dataset + summary)"),)),
    ("stream", (("stream", "live positioning from a receiver or NTRIP stream; RTCM 3 base station"),)),
)


def _command_of(argv: list[str]) -> str | None:
    """The subcommand named in ``argv``: its first word that is not an option (the top-level
    options ``-h`` and ``--version`` take no value); None when there is none."""
    return next((tok for tok in argv if not tok.startswith("-")), None)


#: Warnings of one kind (the same text once line numbers, numbers and quoted values are set
#: aside) printed before the rest are only counted; the count is printed at the end.
WARNINGS_PER_KIND = 10


class _WarningPrinter:
    """``warnings.showwarning`` for the command line: one line ``satnav: warning: ...`` each,
    at most :data:`WARNINGS_PER_KIND` of one kind (every one with ``per_kind=None``, as
    ``--verbose`` asks), then ``... and 97 more like this`` once the command ends
    (:meth:`close`)."""

    def __init__(self, per_kind: int | None = WARNINGS_PER_KIND):
        self.per_kind = per_kind
        self.seen: dict[str, int] = {}
        self.first: dict[str, str] = {}

    @staticmethod
    def kind(text: str) -> str:
        text = re.sub(r"'[^']*'|\"[^\"]*\"", "'_'", text)
        return re.sub(r"[-+]?\d[\d.eE+-]*", "#", text)

    def __call__(self, message, category, filename, lineno, file=None, line=None):
        text = printable(message, newlines=False)
        key = self.kind(text)
        n = self.seen.get(key, 0) + 1
        self.seen[key] = n
        if self.per_kind is None or n <= self.per_kind:
            self.first.setdefault(key, text)
            print(f"satnav: warning: {text}", file=sys.stderr)

    def close(self) -> None:
        for key, n in self.seen.items():
            if self.per_kind is not None and n > self.per_kind:
                more = n - self.per_kind
                like = self.first[key]
                like = like if len(like) <= 120 else like[:117] + "..."
                print(f"satnav: warning: ... and {more} more warning{'s' if more > 1 else ''} like "
                      f"this one: {like}", file=sys.stderr)


def _join_negative_values(argv: list[str]) -> list[str]:
    """``--ref -3976219.6,3382372.5,...``: argparse would take the value for an option;
    join such values (a minus sign followed by a digit) to their option as ``--ref=...``."""
    out: list[str] = []
    i = 0
    while i < len(argv):
        tok = argv[i]
        if (
            tok.startswith("--") and "=" not in tok and i + 1 < len(argv)
            and re.match(r"-\d", argv[i + 1]) and "," in argv[i + 1]
        ):
            out.append(f"{tok}={argv[i + 1]}")
            i += 2
            continue
        out.append(tok)
        i += 1
    return out


#: Options naming files or directories a command writes.
_OUTPUT_OPTIONS = ("output", "json", "report", "ground_tracks")


def _output_paths(args) -> list[str]:
    return [str(v) for k in _OUTPUT_OPTIONS if isinstance(v := getattr(args, k, None), (str, os.PathLike))]


def _within(a: str, b: str) -> bool:
    """True when path ``a`` is output ``b``, one of its parents or inside it (an output
    directory; not when that is the working directory, where inputs are too)."""
    pa, pb = Path(os.path.abspath(a)), Path(os.path.abspath(b))
    return pa == pb or pa in pb.parents or (pb in pa.parents and pb != Path.cwd())


def os_error_message(exc: OSError, outputs=()) -> str:
    """One line for an ``OSError``: ``PATH: cannot write (no such file or directory)``;
    "write" when the path is (in, or a parent of) one of ``outputs``, else "read"."""
    reason = (exc.strerror or str(exc) or type(exc).__name__).strip()
    reason = reason[:1].lower() + reason[1:]
    path = exc.filename
    if path is None:
        return reason
    path = os.fsdecode(path) if isinstance(path, (bytes, os.PathLike)) else str(path)
    writing = any(_within(path, o) for o in outputs)
    if exc.filename2 is not None:
        writing = writing or any(_within(os.fsdecode(exc.filename2), o) for o in outputs)
    return f"{path}: cannot {'write' if writing else 'read'} ({reason})"


def _arg_paths(args, names) -> list[str]:
    """The paths given to the options/arguments ``names`` (lists flattened)."""
    out = []
    for name in names:
        value = getattr(args, name, None)
        values = value if isinstance(value, (list, tuple)) else [value]
        out.extend(str(v) for v in values if isinstance(v, (str, os.PathLike)))
    return out


def check_outputs_apart(args) -> None:
    """Refuse (SatnavError) an output file that is one of the inputs (the same path or the
    same file through a link) or two outputs to one file. The commands name their input
    and output arguments with ``set_defaults(input_args=..., output_args=...)``."""
    inputs = _arg_paths(args, getattr(args, "input_args", ()))
    outputs = _arg_paths(args, getattr(args, "output_args", ()))
    for i, out in enumerate(outputs):
        for other in outputs[:i]:
            if same_file(out, other):
                raise SatnavError(f"{out}: given for two outputs, expected a different file for each")
        for inp in inputs:
            if same_file(out, inp):
                raise SatnavError(f"{out}: the output would overwrite the input {inp}, expected another output name")


def main(argv=None) -> int:
    """Run the ``satnav`` command with ``argv`` (default ``sys.argv[1:]``); returns the exit
    status (0, 1 when nothing could be solved, 2 for a user error, 130 when interrupted).

    Without ``argv`` (the process's own command: the ``satnav`` script, ``python -m satnav``)
    the garbage collector is kept out of the start-up and of the exit, which are most of a
    short job's time: it is off while the parser and the command's modules (NumPy among them)
    are imported, the objects they made are then frozen out of its collections
    (:func:`gc.freeze`) before the command runs with it on, and the objects alive when the
    command returns are frozen too, so that the interpreter's exit does not traverse them all
    once more (~20 ms of a ~0.25 s job). Nothing else about the exit changes (``atexit``,
    threads, streams flushed and files closed as usual). The process's OpenBLAS also gets
    one thread unless told otherwise (:func:`_one_blas_thread`)."""
    words = _join_negative_values(sys.argv[1:] if argv is None else list(argv))
    if argv is None:
        _one_blas_thread(_command_of(words))
        from ..io.expansion import start_for_command

        start_for_command(words)  # a Compact RINEX solve: crx2rnx runs while NumPy is imported
    process = argv is None and gc.isenabled()
    if process:
        gc.disable()
    try:
        return _main(words, process)
    finally:
        if process:
            gc.freeze()
            gc.enable()


#: Environment variables by which OpenBLAS (NumPy's BLAS) is told its number of threads.
BLAS_THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "GOTO_NUM_THREADS", "OMP_NUM_THREADS")
#: Commands whose linear algebra is small matrices only (per-epoch filters and fits, a few
#: hundred unknowns at most), their parallel work in processes (``--jobs``): one BLAS
#: thread each. ``odts`` (normal matrices of every satellite's orbit at once), ``fit`` and
#: the constellation commands keep OpenBLAS's default.
ONE_BLAS_THREAD_COMMANDS = ("solve", "info", "convert", "orbits", "report", "stream")


def _one_blas_thread(command: str | None) -> None:
    """``OPENBLAS_NUM_THREADS=1`` for the process's ``command`` when it is one of
    :data:`ONE_BLAS_THREAD_COMMANDS`, set before NumPy is imported, unless one of
    :data:`BLAS_THREAD_VARIABLES` is set (then that choice stands).

    BLAS threads never share these commands' work, but OpenBLAS starts one per core as NumPy
    is imported and they spin at start and exit: on the 2-core test machine ``import numpy``
    took 0.20 s CPU instead of 0.12 s (0.17 s wall instead of 0.12 s), and a short job paid
    0.07-0.11 s CPU more in all. Child processes inherit the setting."""
    if command not in ONE_BLAS_THREAD_COMMANDS or "numpy" in sys.modules:
        return
    if not any(os.environ.get(v) for v in BLAS_THREAD_VARIABLES):
        os.environ["OPENBLAS_NUM_THREADS"] = "1"


def _main(argv: list[str], process: bool) -> int:
    parser = build_parser(_command_of(argv))
    args, extras = parser.parse_known_args(argv)
    if process:  # start-up done: what it built is frozen, the command runs with collections on
        gc.freeze()
        gc.enable()
    if extras:  # name the subcommand whose options these are not
        subparsers = next((a for a in parser._actions if isinstance(a, argparse._SubParsersAction)), None)
        sub = subparsers.choices.get(getattr(args, "command", None)) if subparsers else None
        (sub or parser).error(f"unrecognized arguments: {' '.join(extras)}")
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    shown = _WarningPrinter(None if getattr(args, "verbose", False) else WARNINGS_PER_KIND)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("always", SatnavWarning)
            warnings.showwarning = shown
            check_outputs_apart(args)
            with protected_inputs(_arg_paths(args, getattr(args, "input_args", ()))):
                return int(args.func(args) or 0)
    except SatnavError as exc:
        print(f"satnav: {printable(exc, newlines=False)}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 0
    except OSError as exc:
        print(f"satnav: {printable(os_error_message(exc, _output_paths(args)), newlines=False)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("satnav: interrupted", file=sys.stderr)
        return 130
    finally:
        shown.close()


if __name__ == "__main__":
    sys.exit(main())
