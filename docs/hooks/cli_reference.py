"""mkdocs hook: the command-line reference page, generated from satnav's argparse parsers.

The page ``reference/cli.md`` is written at build time from
:func:`satnav.cli.main.build_parser`, so it lists exactly the commands and options that
``satnav`` has: it cannot go stale. An option without a help text is a build warning
(``mkdocs build --strict`` fails), so every option is explained.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from mkdocs.structure.files import File

log = logging.getLogger("mkdocs.hooks.cli_reference")

PAGE = "reference/cli.md"

INTRO = """# Command line

Every `satnav` command and option, generated from the program's own argument parsers when
this site is built. Bad input ends with one line `satnav: FILE:LINE: what is wrong, what was
expected` on stderr and exit status 2; `satnav COMMAND --help` prints the same text as below.
Options that correspond to an RTKLIB option are listed in the
[RTKLIB migration table](rtklib.md).

"""


#: The RTKLIB option (rnx2rtkp / convbin flag, .conf key) each satnav option corresponds to
#: (the RTKLIB migration page has the whole table, with the differences). A key naming an
#: option the parser no longer has is a build warning, so the column cannot go stale.
RTKLIB = {
    ("solve", "--output"): "`-o`",
    ("solve", "--format"): "`-e` (pos-ecef), `-n` (nmea); `out-solformat`",
    ("solve", "--systems"): "`-sys`; `pos1-navsys`",
    ("solve", "--exclude"): "`pos1-exclsats`",
    ("solve", "--mask"): "`-m`; `pos1-elmask`",
    ("solve", "--iono"): "`pos1-ionoopt` (brdc, dual-freq, off)",
    ("solve", "--no-raim"): "`pos1-posopt5` (RAIM FDE; off in RTKLIB by default)",
    ("solve", "--marker"): "`ant1-antdelu`",
    ("solve", "--base-pos"): "`-r`; `ant2-postype=xyz`",
    ("solve", "--base-spp"): "`ant2-postype=single`",
    ("solve", "--mode"): "`-p`; `pos1-posmode`",
    ("solve", "--fix-and-hold"): "`-h`; `pos2-armode=fix-and-hold`",
    ("solve", "--ratio"): "`-v`; `pos2-arthres`",
    ("solve", "--max-age"): "`pos2-maxage`",
    ("solve", "--frequencies"): "`-f`; `pos1-frequency`",
    ("solve", "--glonass-ar"): "`pos2-gloarmode`",
    ("solve", "--min-lock"): "`pos2-arlockcnt` (epochs)",
    ("solve", "--unverified"): "`out-outsingle`",
    ("solve", "--report"): "`-y` (solution status)",
    ("convert", "--output"): "convbin `-o`",
    ("convert", "--nav"): "convbin `-n`",
    ("convert", "--time"): "convbin `-tr`",
    ("stream", "--mode"): "rtkrcv `pos1-posmode`",
    ("stream", "--ratio"): "rtkrcv `pos2-arthres`",
    ("stream", "--fix-and-hold"): "rtkrcv `pos2-armode=fix-and-hold`",
    ("stream", "--frequencies"): "rtkrcv `pos1-frequency`",
    ("stream", "--max-age"): "rtkrcv `pos2-maxage`",
    ("stream", "--mask"): "rtkrcv `pos1-elmask`",
    ("stream", "--base-pos"): "rtkrcv `ant2-postype=xyz`",
}


def _src_on_path(config) -> None:
    src = str(Path(config["config_file_path"]).resolve().parent / "src")
    if src not in sys.path:
        sys.path.insert(0, src)


def _escape(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def _value(action: argparse.Action) -> str:
    if action.nargs == 0:
        return ""
    if action.choices is not None and not isinstance(action, argparse._SubParsersAction):
        return " \\| ".join(f"`{c}`" for c in action.choices)
    metavar = action.metavar or action.dest.upper()
    if isinstance(metavar, tuple):
        metavar = " ".join(metavar)
    if action.nargs in ("+", "*"):
        return f"`{metavar}`..."
    return f"`{metavar}`"


def _default(action: argparse.Action) -> str:
    d = action.default
    if d is None or d is False or d is argparse.SUPPRESS or action.nargs == 0:
        return ""
    return f"`{d}`"


def _command_section(name: str, parser: argparse.ArgumentParser, missing: list[str],
                     mapped: set) -> str:
    out = [f"## satnav {name}", ""]
    if parser.description:
        out += [_escape(parser.description), ""]
    usage = parser.format_usage().replace("usage: ", "", 1).rstrip()
    out += ["```text", usage, "```", ""]
    positional = [a for a in parser._actions if not a.option_strings]
    optional = [a for a in parser._actions if a.option_strings and not isinstance(a, argparse._HelpAction)]
    if positional:
        out += ["| argument | help |", "|---|---|"]
        for a in positional:
            metavar = a.metavar or a.dest
            more = " (one or more)" if a.nargs == "+" else " (any number)" if a.nargs == "*" else ""
            if not a.help:
                missing.append(f"satnav {name} {metavar}")
            out.append(f"| `{metavar}`{more} | {_escape(a.help or '')} |")
        out.append("")
    rtklib = any((name, s) in RTKLIB for a in optional for s in a.option_strings)
    if optional:
        head = "| option | value | default | help |" + (" RTKLIB |" if rtklib else "")
        out += [head, "|---|---|---|---|" + ("---|" if rtklib else "")]
        for a in optional:
            if not a.help or a.help is argparse.SUPPRESS:
                missing.append(f"satnav {name} {a.option_strings[-1]}")
            flags = ", ".join(f"`{s}`" for s in a.option_strings)
            req = " (required)" if a.required else ""
            help_text = "" if a.help is argparse.SUPPRESS else _escape(a.help or "")
            row = f"| {flags}{req} | {_value(a)} | {_default(a)} | {help_text} |"
            if rtklib:
                key = next(((name, s) for s in a.option_strings if (name, s) in RTKLIB), None)
                mapped.update([key] if key else [])
                row += f" {RTKLIB[key] if key else ''} |"
            out.append(row)
        out.append("")
    return "\n".join(out)


def cli_reference_markdown() -> tuple[str, list[str]]:
    """The page's Markdown and the problems: options without help text, RTKLIB mappings of
    options that do not exist."""
    from satnav.cli.main import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    helps = {c.dest: c.help for c in sub._choices_actions}
    missing: list[str] = []
    parts = [INTRO, "| command | what it does |", "|---|---|"]
    for name in sub.choices:
        parts.append(f"| [`satnav {name}`](#satnav-{name}) | {_escape(helps.get(name, ''))} |")
    parts.append("")
    top = [a for a in parser._actions if a.option_strings]
    parts.append("Options of `satnav` itself: " + ", ".join(
        f"`{'`, `'.join(a.option_strings)}` ({_escape(a.help or '')})" for a in top) + ".\n")
    mapped: set = set()
    for name, p in sub.choices.items():
        parts.append(_command_section(name, p, missing, mapped))
    missing = [f"{m} has no help text (add help= to its add_argument)" for m in missing]
    missing += [f"RTKLIB column: satnav {c} {o} is not an option (update RTKLIB in docs/hooks/cli_reference.py)"
                for c, o in sorted(set(RTKLIB) - mapped)]
    return "\n".join(parts), missing


def on_files(files, config):
    _src_on_path(config)
    text, missing = cli_reference_markdown()
    for item in missing:
        log.warning("CLI reference: %s", item)
    files.append(File.generated(config, PAGE, content=text))
    return files
