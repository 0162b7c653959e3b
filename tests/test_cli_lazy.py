"""``satnav`` imports only the command module it runs: ``satnav --help`` is fast.

The placeholders that stand for the commands not imported must show the same lines as the
command modules' own ``register``; and the package's light entry points must not import
NumPy or any command module.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

import pytest

from satnav.cli.main import _COMMANDS, build_parser


def _choices_help(parser: argparse.ArgumentParser) -> list[tuple[str, str]]:
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return [(a.dest, a.help) for a in sub._choices_actions]


def test_placeholders_show_what_the_command_modules_register():
    full = build_parser()
    assert _choices_help(build_parser(None)) == _choices_help(full)
    assert build_parser(None).format_help() == full.format_help()
    registered = dict(_choices_help(full))
    for _, commands in _COMMANDS:
        for name, help_text in commands:
            assert registered[name] == help_text


@pytest.mark.parametrize("name", ["solve", "orbits", "plan", "report", "info"])
def test_one_command_parser_equals_the_full_one(name):
    full = build_parser()
    one = build_parser(name)
    sub = {p: next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices[name]
           for p, parser in (("full", full), ("one", one))}
    assert sub["one"].format_help() == sub["full"].format_help()
    assert one.format_help() == full.format_help()


def _modules_after(code: str) -> set[str]:
    env = dict(os.environ)
    out = subprocess.run(
        [sys.executable, "-c", code + "\nimport sys; print(' '.join(sorted(sys.modules)))"],
        capture_output=True, text=True, env=env, check=True,
    ).stdout.split()
    return set(out)


def test_help_imports_no_numpy_and_no_command_module():
    code = (
        "import contextlib, io\n"
        "from satnav.cli.main import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    try:\n"
        "        main(['--help'])\n"
        "    except SystemExit:\n"
        "        pass\n"
    )
    modules = _modules_after(code)
    assert "numpy" not in modules
    assert not {f"satnav.cli.{m}" for m, _ in _COMMANDS} & modules


def test_a_command_imports_only_its_module():
    code = (
        "import contextlib, io\n"
        "from satnav.cli.main import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    try:\n"
        "        main(['orbits', '--help'])\n"
        "    except SystemExit:\n"
        "        pass\n"
    )
    modules = _modules_after(code)
    assert "satnav.cli.orbits" in modules
    assert not {"satnav.cli.solve", "satnav.cli.constellation", "satnav.cli.report"} & modules


@pytest.mark.parametrize("rtk", [False, True], ids=["spp", "rtk"])
def test_solve_loads_no_heavy_module(tmp_path, rtk):
    """A whole ``satnav solve`` (SPP of a short RINEX 2 file, or kinematic RTK of the gsi pair,
    output to a file) loads none of the modules that cost start-up time and that it does
    not need (numba among them: its import costs more than the whole RTK job)."""
    data = os.environ.get("SATNAV_DATA", os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data"))
    gsi = os.path.join(data, "gsi-2005-092")
    if not os.path.isdir(gsi):
        pytest.skip("needs SATNAV_DATA")
    args = [os.path.join(gsi, "07590920.05o"), os.path.join(gsi, "07590920.05n"), "-o", str(tmp_path / "out.pos"), "-q"]
    if rtk:
        args[2:2] = [os.path.join(gsi, "30400920.05n"), "--base", os.path.join(gsi, "30400920.05o"), "--mode",
                     "kinematic", "--mask", "10"]
    code = f"from satnav.cli.main import main\nassert main(['solve', *{args!r}]) == 0\n"
    modules = _modules_after(code)
    heavy = {"statistics", "numpy.char", "pandas", "scipy", "matplotlib", "rich", "dask", "pyarrow", "xarray",
             "numba", "hatanaka",
             # formats the job does not read or write: JSON, archives, the phone (CSV) reader
             "json", "tarfile", "csv", "decimal", "satnav.io.android",
             # raw receiver logs: a RINEX text is told from one without framing it
             "satnav.io.framing"}
    assert not heavy & (modules - _modules_after("pass"))  # what the interpreter's start loads is not ours


def test_orbits_to_a_pipe_loads_no_table_library(tmp_path):
    """``satnav orbits`` writing its tables to a pipe prints plain columns: rich is not loaded."""
    data = os.environ.get("SATNAV_DATA", os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data"))
    nav = os.path.join(data, "esbc-2020-177", "ESBC00DNK_R_20201770000_01D_MN.rnx.gz")
    if not os.path.isfile(nav):
        pytest.skip("needs SATNAV_DATA")
    code = (
        "from satnav.cli.main import main\n"
        f"main(['orbits', {nav!r}, '--interval', '3600', '-o', {str(tmp_path / 'o.sp3')!r}])\n"
    )
    modules = _modules_after(code)
    assert "rich" not in modules and "satnav.cli.orbits" in modules


def test_the_process_command_keeps_the_collector_out_of_start_up_and_exit(tmp_path):
    """As the process's command (no ``argv``) ``main`` freezes the start-up's objects and
    those alive at its end out of the garbage collector and leaves it on; called with an
    ``argv`` (a library caller, the tests) it does not touch the collector."""
    data = os.environ.get("SATNAV_DATA", os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data"))
    gsi = os.path.join(data, "gsi-2005-092")
    if not os.path.isdir(gsi):
        pytest.skip("needs SATNAV_DATA")
    args = ["solve", os.path.join(gsi, "07590920.05o"), os.path.join(gsi, "07590920.05n"), "-q"]
    code = (
        "import gc, sys\n"
        "from satnav.cli.main import main\n"
        f"status = main({args + ['-o', str(tmp_path / 'a.pos')]!r})\n"
        "print(status, gc.get_freeze_count(), gc.isenabled())\n"
        f"sys.argv = ['satnav'] + {args + ['-o', str(tmp_path / 'b.pos')]!r}\n"
        "status = main()\n"
        "print(status, gc.get_freeze_count() > 10000, gc.isenabled())\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split("\n")[:2] == ["0 0 True", "0 True True"]
    assert (tmp_path / "a.pos").read_bytes() == (tmp_path / "b.pos").read_bytes()


@pytest.mark.parametrize("command, extra_env, one_thread", [
    ("solve", {}, True),
    ("solve", {"OMP_NUM_THREADS": "2"}, False),  # the user's choice stands
    ("odts", {}, False),  # large normal matrices: OpenBLAS's default
])
def test_short_job_commands_run_numpy_with_one_blas_thread(command, extra_env, one_thread):
    """The process's ``satnav solve`` (and the other small-matrix commands) sets
    ``OPENBLAS_NUM_THREADS=1`` before NumPy is imported, unless a thread count is given in
    the environment; the process then has one OS thread once NumPy is loaded (Linux)."""
    if not os.path.isdir("/proc/self/task"):
        pytest.skip("counts threads in /proc")
    env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_NUM_THREADS", "GOTO_NUM_THREADS",
                                                            "OMP_NUM_THREADS")}
    env.update(extra_env)
    code = (
        "import contextlib, io, os, sys\n"
        f"sys.argv = ['satnav', {command!r}, '--help']\n"
        "from satnav.cli.main import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    try:\n"
        "        main()\n"
        "    except SystemExit:\n"
        "        pass\n"
        "import numpy\n"
        "print(os.environ.get('OPENBLAS_NUM_THREADS'), len(os.listdir('/proc/self/task')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True).stdout
    value, threads = out.split()
    if one_thread:
        assert (value, threads) == ("1", "1")
    else:
        assert value == "None"
