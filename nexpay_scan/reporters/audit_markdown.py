"""The audit report as Markdown: `audit_model` rendered for a pull request, a ticket or a
wiki page."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from nexpay_scan.reporters import Report
from nexpay_scan.reporters.audit_build import audit_of
from nexpay_scan.reporters.audit_model import Audit, Entry, Rich


def render_markdown(report: Report, root: Path | None) -> str:
    """The audit report as GitHub-flavoured Markdown; every value escaped."""
    audit = audit_of(report, root)
    out = [f"# {_md(audit.title)}", "", f"> **{_md(audit.headline)}**", ""]
    if not audit.redacted:
        out += ["**This report shows keys in full: keep it as secret as the keys.**", ""]
    out += _table(("Found", ""), [(label, str(n)) for _, label, n in audit.counts])
    out += _table(("Scan", ""), list(audit.facts))
    out += [f"- {_md(note)}" for note in audit.notes] + [""] * bool(audit.notes)
    out += _overview(audit)
    from nexpay_scan.reporters.timeline import lanes_of, timeline_markdown

    out += timeline_markdown(lanes_of(report))
    for section in audit.sections:
        out += [f'<a id="{section.anchor}"></a>', f"## {_md(section.title)}", ""]
        out += [_md(section.intro), ""]
        for entry in section.entries:
            out += _entry_md(entry)
        if not section.entries:
            out += ["None found.", ""]
    out.append(f"Generated {_md(audit.generated)}.")
    return "\n".join(out) + "\n"


def _overview(audit: Audit) -> list[str]:
    rows = [
        (
            f"**{e.status.upper()}**",
            f"[{_code(e.shown, table=True)}](#{e.anchor}) {e.label}",
            _md(e.account) or "-",
            e.at_head,
            _md(e.introduced),
        )
        for s in audit.sections
        for e in s.entries
    ]
    if not rows:
        return []
    head = ("Status", "Key", "Account", "Still present", "Introduced")
    return ["## Keys at a glance", "", *_table(head, rows, escaped=True)]


def _entry_md(entry: Entry) -> list[str]:
    out = [
        f'<a id="{entry.anchor}"></a>',
        f"### {entry.status.upper()}: {entry.label} {_code(entry.shown)}",
        "",
        f"Rule {_md(entry.rule)}",
        "",
    ]
    if entry.urgent:
        out += [f"**{_md(entry.urgent)}**", ""]
    out += [f"- **{_md(label)}:** {_rich(value)}" for label, value in entry.facts] + [""]
    out += [f"Every place it was added ({len(entry.places)}):", ""]
    rows = [
        (_code(p.sha, table=True), _md(p.date), _md(p.author), _md(p.where)) for p in entry.places
    ]
    out += _table(("Commit", "Date", "Author", "File:line"), rows, escaped=True)
    out += ["What to do:", ""]
    out += [f"{n}. {_rich(step)}" for n, step in enumerate(entry.actions, 1)] + [""]
    return out


def _table(
    head: Sequence[str], rows: Sequence[Sequence[str]], *, escaped: bool = False
) -> list[str]:
    """A GFM table; cells are escaped unless `escaped` says they already are Markdown."""
    cells = [row if escaped else [_md(c) for c in row] for row in rows]
    lines = ["| " + " | ".join(_md(h) for h in head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(row) + " |" for row in cells]
    return [*lines, ""]


def _rich(spans: Rich) -> str:
    parts = []
    for span in spans:
        text = _code(span.text) if span.style == "code" else _md(span.text)
        if span.style == "strong":
            text = f"**{text}**"
        parts.append(f"[{text}](#{span.target})" if span.target else text)
    return "".join(parts)


_MD_SPECIAL = frozenset("\\`*_[]<|~&")
_LINE_START = re.compile(r"[#>+=-]|\d+(?=[.)])")


def _md(text: str) -> str:
    """`text` as literal Markdown text: characters that could start markup escaped,
    wherever the text lands (a table cell, a list item, the start of a line)."""
    flat = " ".join(text.splitlines())
    escaped = "".join(f"\\{c}" if c in _MD_SPECIAL else c for c in flat)
    start = _LINE_START.match(escaped)
    if start is None:
        return escaped
    cut = start.end()
    if escaped[:cut].isdigit():  # "1." would start a list: escape the dot
        return f"{escaped[:cut]}\\{escaped[cut:]}"
    return f"\\{escaped}"


def _code(text: str, *, table: bool = False) -> str:
    """`text` as a code span, fenced by more backticks than it holds; in a table, pipes
    escaped (GFM splits cells before it reads code spans)."""
    flat = " ".join(text.splitlines())
    longest = run = 0
    for char in flat:
        run = run + 1 if char == "`" else 0
        longest = max(longest, run)
    fence = "`" * (longest + 1)
    pad = " " if flat.startswith("`") or flat.endswith("`") else ""
    body = flat.replace("|", "\\|") if table else flat
    return f"{fence}{pad}{body}{pad}{fence}"
