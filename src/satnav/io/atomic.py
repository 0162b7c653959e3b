"""Atomic output files that never overwrite an input.

Every file satnav writes goes through :func:`atomic_output`: the data is written to a
temporary file in the destination's directory and renamed over the destination only when
complete, so an interrupted or failed run never leaves half a file over a good one. Special
files (``/dev/null``, ``/dev/full``, a terminal, a FIFO) are written in place. Write errors
become one-line :class:`~satnav.errors.SatnavError` naming the file:
``out.pos: cannot write (no space left on device)``.

:func:`protected_inputs` names the files a run reads; while it is active,
:func:`atomic_output` refuses to write over any of them (the same path, or the same file
through a link), including files written into an output directory.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO

from ..errors import SatnavError

__all__ = ["atomic_output", "protected_inputs", "same_file", "check_not_input", "write_error"]

#: Input paths (absolute) of the current run, see :func:`protected_inputs`.
_PROTECTED: contextvars.ContextVar[tuple[str, ...]] = contextvars.ContextVar("satnav_protected", default=())


def same_file(a, b) -> bool:
    """True when paths ``a`` and ``b`` name one file: the same absolute path, or (both
    existing) the same file through a link (:func:`os.path.samefile`)."""
    pa, pb = os.path.abspath(os.fspath(a)), os.path.abspath(os.fspath(b))
    if pa == pb:
        return True
    try:
        return os.path.samefile(pa, pb)
    except (OSError, ValueError):
        return False


@contextlib.contextmanager
def protected_inputs(paths: Iterable) -> Iterator[None]:
    """While active, :func:`atomic_output` refuses to write over any of ``paths`` (the
    files a run reads; directories and missing paths are ignored)."""
    keep = tuple(os.path.abspath(os.fspath(p)) for p in paths if p is not None and os.path.isfile(os.fspath(p)))
    token = _PROTECTED.set(_PROTECTED.get() + keep)
    try:
        yield
    finally:
        _PROTECTED.reset(token)


def check_not_input(path) -> None:
    """Raise :class:`SatnavError` when ``path`` is one of the protected inputs."""
    for p in _PROTECTED.get():
        if same_file(path, p):
            raise SatnavError(f"{os.fspath(path)}: refusing to overwrite an input file (choose another output name)")


def write_error(path, exc: OSError) -> SatnavError:
    """The one-line error of a failed write: ``PATH: cannot write (no space left on device)``."""
    reason = (exc.strerror or str(exc) or type(exc).__name__).strip()
    reason = reason[:1].lower() + reason[1:]
    return SatnavError(f"{os.fspath(path)}: cannot write ({reason})")


@contextlib.contextmanager
def atomic_output(path, mode: str = "w", *, encoding: str | None = None,
                  newline: str | None = None) -> Iterator[IO]:
    """Open ``path`` for writing (``mode`` ``"w"`` text or ``"wb"`` binary) through a
    temporary file renamed over ``path`` when the ``with`` block ends without an error.

    On an error the temporary file is removed and ``path`` is left as it was. The file gets
    the permissions a new file would get (``0o666`` less the umask) or those of the file it
    replaces. ``OSError`` while writing becomes :class:`SatnavError` naming ``path``.
    """
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_output mode must be 'w' or 'wb', got {mode!r}")
    path = Path(path)
    check_not_input(path)
    text_kw = {} if mode == "wb" else {"encoding": encoding, "newline": newline}
    if path.exists() and not path.is_file():  # /dev/null, /dev/full, a FIFO: in place
        try:
            fh = open(path, mode, **text_kw)
        except OSError as exc:
            raise write_error(path, exc) from None
        try:
            with fh:
                yield fh
        except OSError as exc:
            raise write_error(path, exc) from None
        return
    directory = path.parent if str(path.parent) else Path(".")
    try:
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{path.name}.", suffix=".part")
    except OSError as exc:
        raise write_error(path, exc) from None
    try:
        try:
            with os.fdopen(fd, mode, **text_kw) as fh:
                yield fh
            os.chmod(tmp, _mode_for(path))
            os.replace(tmp, path)
        except OSError as exc:
            raise write_error(path, exc) from None
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _mode_for(path: Path) -> int:
    """Permission bits for a new ``path``: those of the file replaced, else 0o666 & ~umask."""
    try:
        return path.stat().st_mode & 0o7777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask
