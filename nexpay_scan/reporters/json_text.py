"""`json.dumps(value, indent=2)`, without loading `json`: the package compiles five
regular expressions as it loads, and loads `re` for them (5-7 ms, at the end of every run
that writes a JSON, SARIF or GitLab report). Strings are quoted by `json`'s own C
function (`_json.encode_basestring_ascii`, which loads nothing); the rest is the same
text `json.dumps` gives (tests/test_report_formats.py holds them to it on drawn
documents). Only what a report holds: dicts (keys that are strings, numbers, booleans or
None), lists and tuples, strings, numbers, booleans and None.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing is not imported at run time (start-up time)
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

try:
    from _json import encode_basestring_ascii as _quoted
except ImportError:  # (a Python without json's C part: its own quoting)
    from json.encoder import py_encode_basestring_ascii as _quoted

_quote: Callable[[str], str] = _quoted


def dumps(value: Any) -> str:
    """`json.dumps(value, indent=2)`."""
    parts: list[str] = []
    _write(value, parts, "\n")
    return "".join(parts)


def _write(value: Any, parts: list[str], newline: str) -> None:
    """Appends the text of `value` to `parts`; `newline` is a line break and the indent of
    the line `value` is on."""
    if isinstance(value, str):
        parts.append(_quote(value))
    elif isinstance(value, dict):
        if not value:
            parts.append("{}")
            return
        inner = newline + "  "
        opening = "{"
        for key, item in value.items():
            parts += (opening, inner, _quote(_key(key)), ": ")
            _write(item, parts, inner)
            opening = ","
        parts += (newline, "}")
    elif isinstance(value, (list, tuple)):
        if not value:
            parts.append("[]")
            return
        inner = newline + "  "
        opening = "["
        for item in value:
            parts += (opening, inner)
            _write(item, parts, inner)
            opening = ","
        parts += (newline, "]")
    else:
        parts.append(_scalar(value))


def _scalar(value: Any) -> str:
    """A number, a boolean or None, as `json` writes it."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return int.__repr__(value)
    if isinstance(value, float):
        return _float(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _float(value: float) -> str:
    """A float as `json` writes it (allow_nan: NaN and the infinities by name)."""
    if value != value:  # (NaN: the one value not equal to itself)
        return "NaN"
    if value == float("inf"):
        return "Infinity"
    if value == -float("inf"):
        return "-Infinity"
    return float.__repr__(value)


def _key(key: Any) -> str:
    """A dict's key as `json` writes it: a string as it is, else as its value's text."""
    if isinstance(key, str):
        return key
    if isinstance(key, float):
        return _float(key)
    return _scalar(key)
