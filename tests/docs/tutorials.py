"""Run the documentation's tutorials: the code of docs/tutorials/*.md, block by block.

A tutorial is a Markdown page; its fenced ``python`` blocks run in order in one namespace,
and in its ``sh`` blocks every line that starts with ``satnav `` runs as the command would
(``satnav.cli.main``, in this process; ``$SATNAV_DATA`` and other variables expanded; other
lines, such as ``pip install``, are left alone). Everything runs in a fresh working directory.
The figures the page shows (``![...](figures/NAME.png)``) must be files the code wrote there.

``python -m tests.docs.tutorials [NAME...]`` runs them and copies their figures into
docs/tutorials/figures/ (what the site shows); the test suite runs them into a temporary
directory (tests/docs/test_tutorials.py).
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
TUTORIALS = REPO / "docs" / "tutorials"
FENCE = re.compile(r"^```(\w+)[^\n]*\n(.*?)^```\s*$", re.S | re.M)
FIGURE = re.compile(r"!\[[^\]]*\]\(figures/([\w.-]+\.png)\)")


@dataclass
class Block:
    language: str
    code: str
    line: int  # first line of the code in the page (1-based)


def tutorial_pages() -> list[Path]:
    """The tutorial pages in the site's order (mkdocs.yml nav), index excluded."""
    nav = (REPO / "mkdocs.yml").read_text(encoding="utf-8")
    names = re.findall(r"tutorials/([\w-]+)\.md", nav)
    return [TUTORIALS / f"{n}.md" for n in names if n != "index"]


def code_blocks(page: Path) -> list[Block]:
    text = page.read_text(encoding="utf-8")
    out = []
    for m in FENCE.finditer(text):
        line = text.count("\n", 0, m.start(2)) + 1
        out.append(Block(m.group(1), m.group(2), line))
    return out


def figures(page: Path) -> list[str]:
    """File names of the figures the page shows."""
    return FIGURE.findall(page.read_text(encoding="utf-8"))


def _run_command(line: str, page: Path, block: Block) -> None:
    from satnav.cli import main

    argv = shlex.split(os.path.expandvars(line))[1:]
    try:
        status = main(argv)
    except SystemExit as exc:  # argparse's --version and --help exit
        status = exc.code or 0
    if status != 0:
        raise AssertionError(f"{page.name}:{block.line}: `{line}` exited with status {status}")


@contextlib.contextmanager
def working_directory(path: Path):
    old = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(old)


def run_tutorial(page: Path, workdir: Path) -> list[Path]:
    """Run one tutorial in ``workdir``; returns the paths of the figures it shows."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    namespace: dict = {"__name__": "__tutorial__"}
    with working_directory(workdir):
        for block in code_blocks(page):
            if block.language == "python":
                code = compile("\n" * (block.line - 1) + block.code, str(page), "exec")
                exec(code, namespace)  # noqa: S102  (the tutorial is the test)
            elif block.language == "sh":
                for line in block.code.splitlines():
                    if line.startswith("satnav "):
                        _run_command(line, page, block)
            plt.close("all")
    return [workdir / name for name in figures(page)]


def main(argv: list[str]) -> int:
    pages = tutorial_pages()
    if argv:
        pages = [p for p in pages if p.stem in argv]
    for page in pages:
        with tempfile.TemporaryDirectory(prefix=f"tutorial-{page.stem}-") as tmp:
            for path in run_tutorial(page, Path(tmp)):
                shutil.copyfile(path, TUTORIALS / "figures" / path.name)
                print(f"{page.name}: {path.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
