"""Checks shared by the ``satnav`` commands: argparse option types and output paths.

Every failed check is one line: argparse turns :func:`bounded_float`'s errors into a usage
error; the ``OSError`` of :func:`check_output_file` / :func:`check_output_dir` is reported by
:func:`satnav.cli.main.main`.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

__all__ = ["bounded_float", "check_output_file", "check_output_dir"]


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
