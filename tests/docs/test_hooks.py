"""The documentation hooks: the CLI reference covers every option of every command with its
help text, and the docstring rewriting of the API pages (RST tables, Notes headings)."""

from __future__ import annotations

import argparse
import sys

import pytest

from tests.conftest import REPO

sys.path.insert(0, str(REPO / "docs" / "hooks"))
cli_reference = pytest.importorskip("cli_reference")  # needs mkdocs
griffe_roles = pytest.importorskip("griffe_roles")  # needs griffe


def test_cli_reference_lists_every_option_of_every_command():
    from satnav.cli.main import build_parser

    text, problems = cli_reference.cli_reference_markdown()
    assert problems == []
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for name, command in sub.choices.items():
        section = text.split(f"## satnav {name}\n", 1)[1].split("\n## satnav ", 1)[0]
        for action in command._actions:
            if isinstance(action, argparse._HelpAction):
                continue
            for flag in action.option_strings:
                assert f"`{flag}`" in section, f"satnav {name} {flag}"


def test_rst_simple_tables_become_markdown():
    text = "Scales:\n\n====  ======  =====\nname  what    value\n====  ======  =====\nGPS   GPS     0\n      time\nBDS   BeiDou  +14 s\n====  ======  =====\n\nAfter."
    out = griffe_roles.rst_tables_to_markdown(text)
    assert "| name | what | value |" in out
    assert "| GPS | GPS time | 0 |" in out
    assert "| BDS | BeiDou | +14 s |" in out
    assert out.endswith("\n\nAfter.")
    headerless = "======  ====\n--mask  ``elevation_mask_deg``\n--ref   ``reference``\n======  ====\n"
    out = griffe_roles.rst_tables_to_markdown(headerless)
    assert "| --mask | ``elevation_mask_deg`` |" in out and "|---|---|" in out


def test_prose_after_parameters_gets_a_notes_heading():
    doc = "Title.\n\nParameters\n----------\na : int\n    A.\nb, c\n    B.\n\nMemory: bounded.\n"
    out = griffe_roles.notes_after_items(doc)
    assert "b, c\n    B.\n\nNotes\n-----\nMemory: bounded." in out
