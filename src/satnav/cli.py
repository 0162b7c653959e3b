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

__all__ = ["main", "build_parser"]


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
    if args.json:
        import json

        payload = results[0] if len(results) == 1 else results
        print(json.dumps(payload, indent=2))
    else:
        for r in results:
            print(format_info(r))
    return 0


def cmd_convert(args) -> int:
    from .io.rinex_obs import read_rinex_obs
    from .io.rinex_obs_writer import write_rinex_obs

    obs = read_rinex_obs(args.input, strict=args.strict)
    write_rinex_obs(obs, args.output)
    print(
        f"{args.output}: RINEX 3.05, {len(obs.epochs)} epochs, {len(obs.satellites)} satellites, "
        f"{len(obs)} observations"
    )
    return 0


def cmd_demo(args) -> int:
    from .constellation.demo import run_demo

    return run_demo(getattr(args, "output", None))


# ---------------------------------------------------------------------------- parser
def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="satnav", description="GNSS positioning and constellation design")
    from . import __version__

    p.add_argument("--version", action="version", version=f"satnav {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

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


def main(argv=None) -> int:
    _register_optional_commands()
    parser = build_parser()
    args = parser.parse_args(_join_negative_values(sys.argv[1:] if argv is None else list(argv)))
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
    except KeyboardInterrupt:
        print("satnav: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
