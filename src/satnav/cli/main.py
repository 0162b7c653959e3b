"""The ``satnav`` command.

Every user error ends with one line ``satnav: FILE:LINE: what is wrong`` on stderr and
exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import warnings
from pathlib import Path

from .errors import SatnavError, SatnavWarning

__all__ = [
    "main", "build_parser", "SatnavArgumentParser", "os_error_message", "bounded_float",
    "check_output_file", "check_output_dir",
]


def _data_dir() -> Path:
    env = os.environ.get("SATNAV_DATA")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[3].parent / "shared" / "data"


# ---------------------------------------------------------------------------- commands
def cmd_info(args) -> int:
    from .info import file_info, format_info

    results = []
    for path in args.files:
        results.append(file_info(path, strict=args.strict))
        if not args.json:  # text: each file as soon as it is read
            print(format_info(results[-1]), flush=True)
    if args.json:
        import json

        payload = results[0] if len(results) == 1 else results
        print(json.dumps(payload, indent=2))
    return 0


def cmd_convert(args) -> int:
    from .io.rinex_obs import read_rinex_obs
    from .io.rinex_obs_writer import write_rinex_obs

    check_output_file(args.output)
    obs = read_rinex_obs(args.input, strict=args.strict)
    write_rinex_obs(obs, args.output)
    print(
        f"{args.output}: RINEX 3.05, {len(obs.epochs)} epochs, {len(obs.satellites)} satellites, "
        f"{len(obs)} observations"
    )
    return 0


def cmd_demo(args) -> int:
    from .constellation.demo import DEFAULT_OUT_DIR, run_demo

    check_output_dir(args.output if args.output is not None else DEFAULT_OUT_DIR)
    return run_demo(args.output)


# ---------------------------------------------------------------------------- option checks
def bounded_float(what: str, low=None, high=None, *, low_open: bool = False, high_open: bool = False):
    """An argparse ``type``: a finite float within [low, high] (``low_open``/``high_open``
    exclude the bound); otherwise a one-line usage error naming ``what`` was expected, e.g.
    ``argument --mask: 95 is out of range, expected an elevation mask in degrees, 0 <= value < 90``.
    """
    lo_sign = "<" if low_open else "<="
    hi_sign = "<" if high_open else "<="
    if low is not None and high is not None:
        expected = f"{low:g} {lo_sign} value {hi_sign} {high:g}"
    elif low is not None:
        expected = f"value {'>' if low_open else '>='} {low:g}"
    elif high is not None:
        expected = f"value {hi_sign} {high:g}"
    else:
        expected = "a number"

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number, expected {what}") from None
        ok = value == value and abs(value) != float("inf")
        if ok and low is not None:
            ok = value > low if low_open else value >= low
        if ok and high is not None:
            ok = value < high if high_open else value <= high
        if not ok:
            raise argparse.ArgumentTypeError(f"{text} is out of range, expected {what}, {expected}")
        return value

    parse.__name__ = "number"
    return parse


def check_output_file(path) -> None:
    """Raise the ``OSError`` that writing ``path`` would raise (missing directory, a directory
    in the way, no permission) before any work is done; :func:`main` reports it in one line."""
    import errno

    if path is None:
        return
    p = Path(path)
    if p.is_dir():
        raise IsADirectoryError(errno.EISDIR, "is a directory, expected a file name", str(path))
    parent = p.parent if str(p.parent) else Path(".")
    if parent.exists() and not parent.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, f"{parent} is not a directory", str(path))
    if not parent.is_dir():
        raise FileNotFoundError(errno.ENOENT, f"directory {parent} does not exist", str(path))
    if not os.access(parent, os.W_OK) or (p.exists() and not os.access(p, os.W_OK)):
        raise PermissionError(errno.EACCES, "permission denied", str(path))


def check_output_dir(path) -> None:
    """Raise the ``OSError`` that creating output directory ``path`` (with its parents) and
    writing into it would raise: a file in the way, no permission."""
    import errno

    if path is None:
        return
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, "exists and is not a directory", str(path))
    existing = p
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if existing != p and not existing.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, f"{existing} is not a directory", str(path))
    if existing.is_dir() and not os.access(existing, os.W_OK):
        raise PermissionError(errno.EACCES, "permission denied", str(path))


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


def build_parser() -> argparse.ArgumentParser:
    p = SatnavArgumentParser(prog="satnav", description="GNSS positioning and constellation design")
    from . import __version__

    p.add_argument("--version", action="version", version=f"satnav {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=SatnavArgumentParser)

    s = sub.add_parser("info", help="describe RINEX/SP3/CLK files")
    s.add_argument("files", nargs="+", metavar="FILE")
    s.add_argument("--json", action="store_true", help="print JSON (one object per file)")
    s.add_argument("--strict", action="store_true", help="damaged records are errors, not warnings")
    s.set_defaults(func=cmd_info)

    s = sub.add_parser("convert", help="convert an observation file to RINEX 3.05")
    s.add_argument("input", metavar="IN")
    s.add_argument("-o", "--output", required=True, metavar="OUT")
    s.add_argument("--strict", action="store_true")
    s.set_defaults(func=cmd_convert)

    s = sub.add_parser("demo", help="run the main job on the embedded default")
    s.add_argument("-o", "--output", metavar="DIR", help="output directory (default ./satnav-demo)")
    s.set_defaults(func=cmd_demo)

    for register in _EXTRA_COMMANDS:
        register(sub)
    return p


#: Functions ``register(subparsers)`` that add more subcommands (orbits, solve, ...).
_EXTRA_COMMANDS: list = []


#: Modules (relative to the package) whose ``register(subparsers)`` adds subcommands.
_COMMAND_MODULES = ("orbits.cli", "constellation.cli", "estimators.cli", "report.cli")


def _register_optional_commands():
    if _EXTRA_COMMANDS:
        return
    import importlib

    for name in _COMMAND_MODULES:
        try:
            module = importlib.import_module(f".{name}", __package__)
        except ModuleNotFoundError as exc:
            if exc.name and exc.name.startswith("satnav."):
                continue
            raise
        _EXTRA_COMMANDS.append(module.register)


def _show_warning(message, category, filename, lineno, file=None, line=None):
    print(f"satnav: warning: {message}", file=sys.stderr)


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
_OUTPUT_OPTIONS = ("output", "json", "report")


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


def main(argv=None) -> int:
    _register_optional_commands()
    parser = build_parser()
    argv = _join_negative_values(sys.argv[1:] if argv is None else list(argv))
    args, extras = parser.parse_known_args(argv)
    if extras:  # name the subcommand whose options these are not
        subparsers = next((a for a in parser._actions if isinstance(a, argparse._SubParsersAction)), None)
        sub = subparsers.choices.get(getattr(args, "command", None)) if subparsers else None
        (sub or parser).error(f"unrecognized arguments: {' '.join(extras)}")
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("always", SatnavWarning)
            warnings.showwarning = _show_warning
            return int(args.func(args) or 0)
    except SatnavError as exc:
        print(f"satnav: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 0
    except OSError as exc:
        print(f"satnav: {os_error_message(exc, _output_paths(args))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("satnav: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
