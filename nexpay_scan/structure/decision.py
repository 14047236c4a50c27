"""The decision a rule's `structure` table (`spec.Spec`) asks for: whether what names a
value, or the request it belongs to, makes it the rule's credential (`unnamed_reason`)."""

from __future__ import annotations

import re

from nexpay_scan.structure.names import naming
from nexpay_scan.structure.outline import MATCH_TIMEOUT_SECONDS, with_line_feeds
from nexpay_scan.structure.scopes import mentions, scope_mentions
from nexpay_scan.structure.spec import NOTHING_NAMES, Spec
from nexpay_scan.structure.tokens import in_longer_token

TYPE_CHECKING = False  # typing is not imported on the hook's path (start-up time)
if TYPE_CHECKING:
    from typing import Any


_URL = re.compile(rb"[A-Za-z][A-Za-z0-9+.-]{1,20}://")


def unnamed_reason(
    spec: Spec, data: bytes, start: int, end: int, *, alone: bool = True
) -> str | None:
    """Why the value at `data[start:end]` is not what `spec` asks for, or None when its
    structure names it so: it stands alone (not a piece of a longer token); its own name
    matches `own`; going out from it, the first name that matches `names` or `not_names`
    matches `names` only; or, no name saying otherwise, its request mentions `request`, or
    it is carried in an `ApiKey` header, its request names no host and the content (the
    code that sends it) mentions `content`. `alone=False` skips the first test (for the
    encoded token a decoded key came from: it is a longer token by nature)."""
    data = with_line_feeds(data)
    piece = in_longer_token(data, start, end) if alone else None
    if piece:
        return piece
    found = naming(data, start, end)
    own = found.specific
    if spec.own is not None and (own is None or not _matches(spec.own, own, spec.trusted, True)):
        return "not named as this kind of credential"
    for name in found.names:
        if spec.not_names is not None and _matches(spec.not_names, name, spec.trusted, False):
            return "named as another credential"
        if spec.names is not None and _matches(spec.names, name, spec.trusted, True):
            return None
    # a request names only what it sends under a name of its own (a header, a field, a
    # flag): a bare value in the same code is not the request's
    if (
        spec.request is not None
        and (found.own or found.scheme)
        and scope_mentions(data, found.scopes, spec.request, spec.trusted)
    ):
        return None
    if (
        spec.content is not None
        and found.scheme == b"apikey"
        and not scope_mentions(data, found.scopes, _URL, True)
        and mentions(data, spec.content, spec.trusted)
    ):
        return None
    return NOTHING_NAMES


def _matches(pattern: re.Pattern[bytes], text: bytes, trusted: bool, timed_out: bool) -> bool:
    """`pattern.search(text)`; a repository's pattern that runs out of time answers
    `timed_out` (the answer that keeps the key a finding)."""
    if trusted:
        return pattern.search(text) is not None
    try:
        search: Any = pattern.search
        found: object = search(text, timeout=MATCH_TIMEOUT_SECONDS)
    except TimeoutError:
        return timed_out
    return found is not None
