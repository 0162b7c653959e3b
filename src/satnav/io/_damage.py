"""Damaged-record reports of one file, with a cap on repeated warnings of one kind.

The RINEX readers collect ``(line, message, kind)`` for every damaged record they skip and
report them through :class:`DamageLog`: the first :data:`MAX_WARNINGS_PER_KIND` of each kind
become one :class:`~satnav.errors.DamagedRecordWarning` each (``FILE:LINE: message (record
skipped)``); the rest of that kind are counted in one closing warning ("... and 97 more").
With ``strict`` the first damaged record raises instead (the readers call :meth:`add` as
they go, so ``strict`` stops at the first one).

Private to ``satnav.io``.
"""

from __future__ import annotations

import warnings

from ..errors import DamagedRecordWarning, RinexError

__all__ = ["DamageLog", "MAX_WARNINGS_PER_KIND"]

#: Warnings of one kind printed per file before the rest are summed up in one line.
MAX_WARNINGS_PER_KIND = 10


class DamageLog:
    """Damaged records of one file (see module docstring).

    Parameters
    ----------
    path : str
        The file, as named in the messages.
    strict : bool
        Raise ``error`` at the first damaged record.
    error : type
        The exception raised when ``strict`` (a :class:`~satnav.errors.FormatError`).
    """

    def __init__(self, path: str, strict: bool = False, error=RinexError):
        self.path = path
        self.strict = strict
        self.error = error
        self.items: list[tuple[int | None, str, str]] = []

    def add(self, line: int | None, message: str, kind: str | None = None) -> None:
        """Record a damaged record at 1-based ``line`` (raises when strict). ``kind`` groups
        messages for the cap (default: the message itself)."""
        if self.strict:
            raise self.error(message, self.path, line)
        self.items.append((line, message, kind or message))

    def __len__(self) -> int:
        return len(self.items)

    def emit(self, stacklevel: int = 3) -> None:
        """Issue the warnings (sorted by line; capped per kind) and forget them."""
        items = sorted(self.items, key=lambda t: (t[0] is None, t[0] or 0))
        self.items = []
        count: dict[str, int] = {}
        first_line: dict[str, int | None] = {}
        for line, message, kind in items:
            n = count.get(kind, 0) + 1
            count[kind] = n
            if n <= MAX_WARNINGS_PER_KIND:
                where = f"{self.path}:{line}: " if line is not None else f"{self.path}: "
                warnings.warn(f"{where}{message} (record skipped)", DamagedRecordWarning,
                              stacklevel=stacklevel)
            elif n == MAX_WARNINGS_PER_KIND + 1:
                first_line[kind] = line
        for kind, n in count.items():
            if n > MAX_WARNINGS_PER_KIND:
                more = n - MAX_WARNINGS_PER_KIND
                line = first_line[kind]
                where = f"{self.path}:{line}: " if line is not None else f"{self.path}: "
                warnings.warn(f"{where}... and {more} more damaged record(s) like this from here on: "
                              f"{kind} (records skipped)", DamagedRecordWarning, stacklevel=stacklevel)
