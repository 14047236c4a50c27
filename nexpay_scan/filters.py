"""Filters: what turns a regex match into a finding or drops it (and why)."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable

from nexpay_scan.detector import Candidate
from nexpay_scan.records import Record
from nexpay_scan.structure import NOTHING_NAMES, is_plain_run, unnamed_reason

_PREFIXES = ("nxp_sk_", "nxp_cid_")
# `# nexpay-scan: allow`, `// nexpay-scan: allow`, `<!-- nexpay-scan: allow -->`, ...
_ALLOW_COMMENT = re.compile(rb"nexpay-scan:[ \t]*allow[ \t]*(?:\*/|-->|#\}|%\}|\*\))?[ \t]*\r?$")


class Place(Record):
    """Where a candidate sits in the scanned bytes."""

    data: bytes
    line: int
    column: int
    line_start: int
    line_end: int

    @property
    def line_text(self) -> bytes:
        return self.data[self.line_start : self.line_end]


def locate(data: bytes, offset: int) -> Place:
    """Line (1-based), column (1-based, in characters) and line bounds of `offset`."""
    line_start = data.rfind(b"\n", 0, offset) + 1
    line_end = data.find(b"\n", offset)
    if line_end < 0:
        line_end = len(data)
    column = len(data[line_start:offset].decode("utf-8", "replace")) + 1
    return Place(data, data.count(b"\n", 0, offset) + 1, column, line_start, line_end)


def shannon_entropy(text: str) -> float:
    """Bits per character of `text`: random keys score high, `xxxx...` scores 0."""
    if not text:
        return 0.0
    counts = Counter(text)
    return -sum(n / len(text) * math.log2(n / len(text)) for n in counts.values())


def body(value: str) -> str:
    """The credential without its `nxp_` prefix: what entropy and stopwords look at."""
    for prefix in _PREFIXES:
        if value.startswith(prefix):
            return value[len(prefix) :]
    return value


def bad_checksum(candidate: Candidate, place: Place) -> str | None:
    check = candidate.rule.checksum
    return "checksum does not match" if check and not check(candidate.value) else None


def placeholder(candidate: Candidate, place: Place) -> str | None:
    rule = candidate.rule
    text = body(candidate.value)
    lowered = text.lower()
    if candidate.value in rule.allow_values or any(w in lowered for w in rule.stopwords):
        return "placeholder value"
    if any(r.search(candidate.value) for r in rule.allow_regexes):
        return "allowlisted by the rule"
    if rule.entropy is not None and shannon_entropy(text) < rule.entropy:
        return "too little entropy to be a real key"
    return None


def missing_context(candidate: Candidate, place: Place) -> str | None:
    context = candidate.rule.context
    if context is None:
        return None
    data = place.data
    start = _lines_up(data, place.line_start, context.lines_before)
    end = place.line_end
    for _ in range(context.lines_after):
        if end >= len(data):
            break
        following = data.find(b"\n", end + 1)
        end = len(data) if following < 0 else following
    if context.pattern.search(data, start, end) is None:
        return "no Nexpay context nearby"
    if context.line_pattern:
        named_from = _lines_up(data, place.line_start, context.line_pattern_lines_before)
        if context.line_pattern.search(data, named_from, place.line_end) is None:
            return "the line does not name a Nexpay credential"
    return None


def _lines_up(data: bytes, line_start: int, count: int) -> int:
    """The offset where the line `count` lines above the one at `line_start` begins."""
    for _ in range(count):
        if line_start == 0:
            break
        line_start = data.rfind(b"\n", 0, line_start - 1) + 1
    return line_start


def plain_run(candidate: Candidate, place: object) -> str | None:
    """A placeholder by shape: the random part is a repeated character or a plain run."""
    if candidate.rule.allow_plain_runs and is_plain_run(body(candidate.value)):
        return "placeholder value (a repeated character or a plain run)"
    return None


def unnamed(candidate: Candidate, place: Place) -> str | None:
    """Why the structure around a value does not name it as the rule asks (structure.py)."""
    spec = candidate.rule.structure
    if spec is None:
        return None
    return unnamed_reason(spec, place.data, candidate.start, candidate.end)


def named_outside(
    candidate: Candidate, reason: str, place: Place, data: bytes, origin: int
) -> bool:
    """For a key found in decoded text (at `place`) that nothing there names: True when the
    structure around the encoded token it came from (at `origin` in the scanned `data`)
    names it, as a Basic header's request object names the client ID and secret it
    encodes (and no allow comment says otherwise)."""
    spec = candidate.rule.structure
    if spec is None or reason != NOTHING_NAMES or allow_comment(candidate, place):
        return False
    return unnamed_reason(spec, data, origin, origin, alone=False) is None


def allow_comment(candidate: Candidate, place: Place) -> str | None:
    return "allowed by comment" if _ALLOW_COMMENT.search(place.line_text) else None


# Cheapest first; each returns why a candidate is dropped, or None to keep it.
CANDIDATE_FILTERS: tuple[Callable[[Candidate, Place], str | None], ...] = (
    bad_checksum,
    placeholder,
    plain_run,
    missing_context,
    unnamed,
    allow_comment,
)


def drop_reason(candidate: Candidate, place: Place) -> str | None:
    """Why `candidate` is not a finding, or None when it is one."""
    for check in CANDIDATE_FILTERS:
        reason = check(candidate, place)
        if reason:
            return reason
    return None


def path_allowance(candidate: Candidate, path: str) -> str | None:
    """Why the rule's own allowlist covers `path`, or None when it does not."""
    rule = candidate.rule
    for pattern in rule.allow_paths:
        if pattern.search(path):
            return f"path allowed by rule {rule.id}'s allowlist.paths {pattern.pattern!r}"
    return None
