"""The audit report's model: the records `audit_build.audit_of` fills in and
`audit_markdown` and `audit_html` render. Both reports render this one model, so they always
say the same thing."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from nexpay_scan.reporters import display_path


class TextRun(NamedTuple):
    """A run of text: plain, `code` or `strong`; with `target`, a link to that anchor."""

    text: str
    style: str = ""
    target: str = ""


Rich = tuple[TextRun, ...]


@dataclass(frozen=True)
class Addition:
    """One commit that added the key: printable short sha, date, author and file:line."""

    sha: str
    date: str
    author: str
    where: str


@dataclass(frozen=True)
class Entry:
    """One distinct key, everything the report shows about it."""

    anchor: str
    status: str
    label: str  # "secret" or "client ID"
    shown: str  # the key as it may be shown (redacted unless --no-redact)
    rule: str
    urgent: str
    facts: tuple[tuple[str, Rich], ...]
    places: tuple[Addition, ...]
    actions: tuple[Rich, ...]
    account: str
    at_head: str
    introduced: str


@dataclass(frozen=True)
class Section:
    """A list of keys under one heading."""

    anchor: str
    title: str
    intro: str
    entries: tuple[Entry, ...]


@dataclass(frozen=True)
class Audit:
    """The whole audit report, ready to render."""

    title: str
    headline: str
    headline_status: str  # the status whose color the headline takes, or "clean"
    counts: tuple[tuple[str, str, int], ...]  # (status or kind, label, count)
    facts: tuple[tuple[str, str], ...]
    notes: tuple[str, ...]
    sections: tuple[Section, ...]
    redacted: bool
    generated: str


def plain(text: str) -> str:
    """`text` safe to show: control characters, undecodable bytes and lone surrogates
    (which an API answer may hold) made visible."""
    try:
        return display_path(text)
    except UnicodeEncodeError:
        return display_path(text.encode("utf-8", "backslashreplace").decode())
