"""satnav's exception types.

Every error satnav raises on bad input is a :class:`SatnavError` (a ``ValueError``).
Errors tied to a place in a file carry the file name and the 1-based line number, and
their ``str()`` is the one-line message the command line prints after ``satnav: ``.
"""

from __future__ import annotations

import warnings
from os import PathLike

__all__ = [
    "SatnavError",
    "FormatError",
    "RinexError",
    "Sp3Error",
    "ClockFileError",
    "SatnavWarning",
    "DamagedRecordWarning",
    "warn_damaged",
]


class SatnavError(ValueError):
    """Base class of every error satnav raises on bad input or impossible requests."""


class FormatError(SatnavError):
    """A file is not in the format it claims, or breaks the format's rules.

    Parameters
    ----------
    message : str
        What is wrong and what was expected.
    path : str or PathLike, optional
        The file.
    line : int, optional
        1-based line number in the (decompressed) text.
    """

    def __init__(self, message: str, path: str | PathLike | None = None, line: int | None = None):
        self.message = message
        self.path = None if path is None else str(path)
        self.line = line
        super().__init__(self.__str__())

    def __str__(self) -> str:
        where = ""
        if self.path is not None:
            where = f"{self.path}:{self.line}: " if self.line is not None else f"{self.path}: "
        return f"{where}{self.message}"


class RinexError(FormatError):
    """Error in a RINEX observation, navigation or clock file."""


class Sp3Error(FormatError):
    """Error in an SP3 precise orbit file."""


class ClockFileError(RinexError):
    """Error in a RINEX clock file."""


class SatnavWarning(UserWarning):
    """Base class of satnav's warnings."""


class DamagedRecordWarning(SatnavWarning):
    """A damaged record was skipped; the message names the file and line."""


def warn_damaged(message: str, path, line: int | None, strict: bool = False, error=RinexError):
    """Skip a damaged record: warn naming file and line, or raise when ``strict``."""
    if strict:
        raise error(message, path, line)
    where = f"{path}:{line}: " if line is not None else f"{path}: "
    warnings.warn(f"{where}{message} (record skipped)", DamagedRecordWarning, stacklevel=3)
