"""Safe text for the terminal and valid JSON out of what files contain.

Header fields, file names and messages may carry anything a file holds: escape sequences
that clear the screen, carriage returns that forge a line, bidirectional overrides.
:func:`printable` shows such characters as Python escapes (``\\x1b``); :func:`json_safe`
turns NaN and infinities (which JSON cannot hold) into ``null``.
"""

from __future__ import annotations

import math
import re

__all__ = ["printable", "json_safe", "json_text"]

#: C0 controls except tab and newline, DEL, C1 controls, and the Unicode bidirectional
#: overrides/isolates and line/paragraph separators (which can reorder or forge a line).
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def _escape(match: re.Match) -> str:
    c = match.group(0)
    code = ord(c)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str, *, newlines: bool = True) -> str:
    """``text`` with control characters escaped (``\\x1b``, ``\\r`` as ``\\x0d``);
    newlines and tabs kept (newlines escaped too when ``newlines`` is False)."""
    text = str(text)
    out = _UNSAFE.sub(_escape, text)
    if not newlines:
        out = out.replace("\n", "\\x0a")
    return out


def json_safe(value):
    """A copy of ``value`` (dicts, lists, tuples, numbers, numpy scalars and arrays) that
    :func:`json.dumps` writes as valid JSON: NaN and +-inf become ``None``."""
    if isinstance(value, dict):
        return {str(k) if not isinstance(k, (str, int, float, bool)) and k is not None else k: json_safe(v)
                for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, bool) or value is None or isinstance(value, (str, int)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    tolist = getattr(value, "tolist", None)  # numpy scalars and arrays
    if tolist is not None:
        return json_safe(tolist())
    return value


def json_text(value, **kwargs) -> str:
    """:func:`json.dumps` of :func:`json_safe` ``(value)``, never NaN or Infinity."""
    import json

    return json.dumps(json_safe(value), allow_nan=False, **kwargs)
