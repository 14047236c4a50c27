"""`json.dumps(document, indent=2)`, written a piece at a time: a report's long lists of
findings are turned to text one finding at a time, never held as one document (by
`json_text.dumps`, which is `json.dumps(indent=2)` without loading `json`).

A report of 120,000 findings (one 4 MB file of allowed client IDs) took 618 MB as JSON
and 1.4 GB as SARIF when each was made whole: the findings as dicts, then json's pieces,
then the text. The text made here is the same, byte for byte (tests/test_report_formats.py
compares them).
"""

from __future__ import annotations

import os

from nexpay_scan.reporters.json_text import dumps

TYPE_CHECKING = False  # typing is not imported at run time (start-up time)
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator
    from typing import Any


class Later:
    """A list of a document that is made one item at a time when the document is written:
    each of `items` through `make` (the items as they are, without one)."""

    def __init__(self, items: Iterable[Any], make: Callable[[Any], Any] | None = None) -> None:
        self.items, self.make = items, make


def dumps_in_pieces(document: Any) -> Iterator[str]:
    """`json.dumps(document, indent=2) + "\\n"` in pieces, where each `Later` in `document`
    (a dict's value, or a list's item) stands for the list it makes."""
    later: dict[str, Later] = {}
    # a placeholder no content can hold: a random token (a file name holds no NUL, but a
    # rule's description could)
    nonce = os.urandom(8).hex()
    skeleton = dumps(_placed(document, later, nonce)) + "\n"
    at = 0
    while later:
        name, found = min(
            ((name, skeleton.find(dumps(name))) for name in later), key=lambda x: x[1]
        )
        line_start = skeleton.rfind("\n", 0, found) + 1
        indent = len(skeleton[line_start:found]) - len(skeleton[line_start:found].lstrip(" "))
        yield skeleton[at:found]
        yield from _list_in_pieces(later.pop(name), indent)
        at = found + len(dumps(name))
    yield skeleton[at:]


def _placed(value: Any, later: dict[str, Later], nonce: str) -> Any:
    """`value` with each `Later` in it replaced by a placeholder string (named in `later`)."""
    if isinstance(value, Later):
        name = f"\0{nonce}{len(later)}"
        later[name] = value
        return name
    if isinstance(value, dict):
        return {key: _placed(item, later, nonce) for key, item in value.items()}
    if isinstance(value, list):
        return [_placed(item, later, nonce) for item in value]
    return value


def _list_in_pieces(items: Later, indent: int) -> Iterator[str]:
    """The text `json.dumps(indent=2)` gives a list on a line indented by `indent` spaces:
    `[]` when empty, else each item on lines of its own, two spaces further in."""
    pad = "\n" + " " * (indent + 2)
    first = True
    for item in items.items:
        made = item if items.make is None else items.make(item)
        text = dumps(made).replace("\n", pad)
        yield ("[" if first else ",") + pad + text
        first = False
    yield "[]" if first else "\n" + " " * indent + "]"
