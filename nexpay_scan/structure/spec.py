"""A rule's `structure` table, compiled (`Spec`), and the reason a value fails it: all the
rules and filters need at start-up. The structure is read (`decision`, `names`, ...) only
when a candidate asks for it: a commit with no legacy-shaped value never imports it."""

from __future__ import annotations

from nexpay_scan.records import Record

TYPE_CHECKING = False  # typing is not imported on the hook's path (start-up time)
if TYPE_CHECKING:
    import re

NOTHING_NAMES = "nothing around it names Nexpay"


class Spec(Record):
    """A rule's `structure` table, compiled: what must name a value for it to count."""

    names: re.Pattern[bytes] | None  # some name on the path matches (nearest first)
    not_names: re.Pattern[bytes] | None  # ...unless a nearer (or the same) name says otherwise
    own: re.Pattern[bytes] | None  # the value's own (first) name must match this
    request: re.Pattern[bytes] | None  # or: the request the value belongs to mentions this
    # or: the value is in an ApiKey header whose request names no host, and the content
    # (the code that sends it) mentions this
    content: re.Pattern[bytes] | None
    trusted: bool = True  # shipped with the tool: no time limit needed
