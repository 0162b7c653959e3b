"""Checks shared by the ``satnav`` commands: argparse option types and output paths.

Every failed check is one line: argparse turns :func:`bounded_float`'s errors into a usage
error; the ``OSError`` of :func:`check_output_file` / :func:`check_output_dir` is reported by
:func:`satnav.cli.main.main`.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

__all__ = [
    "bounded_float", "bounded_int", "check_output_file", "check_output_dir", "check_near_surface",
    "check_site", "check_systems", "NEAR_SURFACE_M",
]

#: Distances from the Earth's centre (m) of a position on or near the surface: below the
#: lowest land (polar radius 6 356 752 m less 1 km) to well above airliners.
NEAR_SURFACE_M = (6.2e6, 6.5e6)


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


def bounded_int(what: str, low: int | None = None, high: int | None = None):
    """An argparse ``type``: an integer within [low, high]; otherwise a one-line usage error
    ``argument --seed: -1 is out of range, expected a random seed, value >= 0``."""
    if low is not None and high is not None:
        expected = f"{low} <= value <= {high}"
    elif low is not None:
        expected = f"value >= {low}"
    else:
        expected = f"value <= {high}" if high is not None else "an integer"

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer, expected {what}") from None
        if (low is not None and value < low) or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"{text} is out of range, expected {what}, {expected}")
        return value

    parse.__name__ = "integer"
    return parse


def check_near_surface(xyz, what: str) -> None:
    """Raise SatnavError unless ECEF ``xyz`` (m) lies near the Earth's surface
    (:data:`NEAR_SURFACE_M` from the centre); ``what`` names the value in the message."""
    import numpy as np

    from ..errors import SatnavError

    r = float(np.linalg.norm(np.asarray(xyz, dtype=float)))
    lo, hi = NEAR_SURFACE_M
    if not lo <= r <= hi:
        raise SatnavError(
            f"{what}: {r:.0f} m from the Earth's centre, expected a position near the surface "
            f"({lo:.4g}..{hi:.4g} m, ECEF metres)"
        )


def check_site(lat_deg: float, lon_deg: float, height_m: float, what: str) -> None:
    """Raise SatnavError unless latitude is within -90..90 deg, longitude within
    -180..360 deg and the point (with its height) near the Earth's surface."""
    from ..errors import SatnavError

    if not -90.0 <= lat_deg <= 90.0:
        raise SatnavError(f"{what} latitude {lat_deg:g} deg, expected -90 <= latitude <= 90")
    if not -180.0 <= lon_deg <= 360.0:
        raise SatnavError(f"{what} longitude {lon_deg:g} deg, expected -180 <= longitude <= 360")
    if not -1000.0 <= height_m <= 100_000.0:
        raise SatnavError(f"{what} height {height_m:g} m, expected -1000 <= height <= 100000 (m)")


def check_systems(text: str | None, option: str = "--systems") -> str | None:
    """``text`` upper-cased when every letter is a known system (``GRECJIS``); SatnavError
    naming the unknown letters otherwise (an empty text is an error too)."""
    from ..errors import SatnavError
    from ..satellites import SYSTEMS

    if text is None:
        return None
    letters = str(text).replace(",", "").replace(" ", "").upper()
    bad = set(letters) - set(SYSTEMS)
    if bad or not letters:
        raise SatnavError(
            f"{option} {text!r}: unknown letters {''.join(sorted(bad)) or '(none given)'}, "
            f"expected some of {SYSTEMS}"
        )
    return letters


def check_output_file(path) -> None:
    """Raise the ``OSError`` that writing ``path`` would raise (missing directory, a directory
    in the way, no permission) before any work is done; :func:`main` reports it in one line."""
    import errno

    if path is None:
        return
    p = Path(path)
    if p.is_dir():
        raise IsADirectoryError(errno.EISDIR, "is a directory, expected a file name", str(path))
    if p.exists() and not p.is_file():  # /dev/null, /dev/full, a FIFO: written in place
        if not os.access(p, os.W_OK):
            raise PermissionError(errno.EACCES, "permission denied", str(path))
        return
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
