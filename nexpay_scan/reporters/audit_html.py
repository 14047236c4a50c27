"""The audit report as one self-contained HTML page: inline CSS, nothing fetched, no script.

It renders the model of `audit_build.audit_of`. Every value is escaped, and a Content
Security Policy forbids loading anything, so even a hostile file name can neither run code
nor make the page reach the network.
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from pathlib import Path

from nexpay_scan.reporters import Report
from nexpay_scan.reporters.audit_build import audit_of
from nexpay_scan.reporters.audit_model import Audit, Entry, Rich, Section, TextRun

_POLICY = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"
_CSS = """
:root { --live: #b42318; --unknown: #b54708; --unverified: #475467; --revoked: #067647;
  --line: #d0d5dd; --soft: #f2f4f7; }
body { margin: 0; color: #101828; background: #fff;
  font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; }
header, main, footer { max-width: 1100px; margin: 0 auto; padding: 0 24px; }
h1 { font-size: 1.6em; margin: 24px 0 8px; }
h2 { margin: 32px 0 4px; border-bottom: 2px solid var(--line); }
h3 { margin: 12px 0 4px; font-size: 1.15em; }
h4 { margin: 12px 0 4px; }
code { font: .92em/1.4 ui-monospace, Menlo, Consolas, "DejaVu Sans Mono", monospace;
  background: var(--soft); padding: 0 4px; border-radius: 3px; overflow-wrap: anywhere; }
a { color: inherit; }
.headline { border-left: 6px solid var(--unverified); background: var(--soft);
  padding: 10px 16px; font-weight: 700; font-size: 1.05em; }
.headline.live { border-color: var(--live); background: #fef3f2; }
.headline.unknown { border-color: var(--unknown); background: #fffaeb; }
.headline.revoked, .headline.clean { border-color: var(--revoked); background: #ecfdf3; }
.warning { border: 2px solid var(--live); padding: 8px 14px; font-weight: 700; }
.counts { display: flex; flex-wrap: wrap; gap: 8px; list-style: none; padding: 0; }
.counts li { border: 1px solid var(--line); border-top: 5px solid var(--line);
  border-radius: 6px; padding: 6px 14px; min-width: 120px; }
.counts li.live { border-top-color: var(--live); }
.counts li.unknown { border-top-color: var(--unknown); }
.counts li.unverified { border-top-color: var(--unverified); }
.counts li.revoked { border-top-color: var(--revoked); }
.counts .n { display: block; font-size: 1.6em; font-weight: 700; }
.badge { display: inline-block; padding: 0 8px; border-radius: 4px; color: #fff;
  font-size: .8em; font-weight: 700; letter-spacing: .06em; vertical-align: middle;
  white-space: nowrap; }
.badge.live { background: var(--live); }
.badge.unknown { background: var(--unknown); }
.badge.unverified { background: var(--unverified); }
.badge.revoked { background: var(--revoked); }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; margin: 8px 0; }
dt { font-weight: 600; color: #475467; }
dd { margin: 0; overflow-wrap: anywhere; }
table { border-collapse: collapse; width: 100%; font-size: .92em; margin: 4px 0 8px; }
caption { text-align: left; font-weight: 600; padding: 4px 0; }
th, td { text-align: left; vertical-align: top; padding: 4px 8px;
  border-bottom: 1px solid var(--line); overflow-wrap: anywhere; }
th { background: var(--soft); }
article { border: 1px solid var(--line); border-left: 6px solid var(--unverified);
  border-radius: 6px; padding: 4px 18px 10px; margin: 16px 0; }
article.live { border-left-color: var(--live); }
article.unknown { border-left-color: var(--unknown); }
article.revoked { border-left-color: var(--revoked); }
.rule { color: #475467; margin: 0; }
.urgent { color: var(--live); font-weight: 700; }
ol li { margin: 3px 0; }
footer { color: #475467; font-size: .9em; padding-bottom: 32px; }
@media print { article, table { break-inside: avoid; } body { font-size: 11pt; } }
"""


def render_html(report: Report, root: Path | None) -> str:
    """The audit report as a standalone HTML page; every value escaped."""
    audit = audit_of(report, root)
    from nexpay_scan.reporters.timeline import lanes_of, timeline_html

    body = [_header(audit), "<main>", _overview(audit), timeline_html(lanes_of(report))]
    body += [_section(s) for s in audit.sections]
    body.append("</main>")
    body.append(f"<footer><p>Generated {_e(audit.generated)}.</p></footer>")
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{_POLICY}">\n'
        '<meta name="referrer" content="no-referrer">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{_e(audit.title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
        + "\n".join(body)
        + "\n</body>\n</html>\n"
    )


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def _header(audit: Audit) -> str:
    parts = [
        "<header>",
        f"<h1>{_e(audit.title)}</h1>",
        f'<p class="headline {audit.headline_status}">{_e(audit.headline)}</p>',
    ]
    if not audit.redacted:
        parts.append(
            '<p class="warning">This report shows keys in full: keep it as secret as the keys.</p>'
        )
    counts = "".join(
        f'<li class="{kind}"><span class="n">{n}</span>{_e(label)}</li>'
        for kind, label, n in audit.counts
    )
    parts.append(f'<ul class="counts">{counts}</ul>')
    parts.append(_facts((label, (TextRun(value),)) for label, value in audit.facts))
    if audit.notes:
        parts.append("<ul>" + "".join(f"<li>{_e(n)}</li>" for n in audit.notes) + "</ul>")
    parts.append("</header>")
    return "\n".join(parts)


def _overview(audit: Audit) -> str:
    rows = [
        "<tr>"
        f"<td>{_badge(e.status)}</td>"
        f'<td><a href="#{e.anchor}"><code>{_e(e.shown)}</code></a> {_e(e.label)}</td>'
        f"<td>{_e(e.account) or '-'}</td><td>{_e(e.at_head)}</td><td>{_e(e.introduced)}</td>"
        "</tr>"
        for section in audit.sections
        for e in section.entries
    ]
    if not rows:
        return ""
    head = _head("Status", "Key", "Account", "Still present", "Introduced")
    return f"<h2>Keys at a glance</h2>\n<table>{head}<tbody>{''.join(rows)}</tbody></table>"


def _section(section: Section) -> str:
    parts = [f'<section id="{section.anchor}">', f"<h2>{_e(section.title)}</h2>"]
    parts.append(f"<p>{_e(section.intro)}</p>")
    parts += [_entry(e) for e in section.entries] or ["<p>None found.</p>"]
    parts.append("</section>")
    return "\n".join(parts)


def _entry(entry: Entry) -> str:
    parts = [
        f'<article class="{entry.status}" id="{entry.anchor}">',
        f"<h3>{_badge(entry.status)} {_e(entry.label)} <code>{_e(entry.shown)}</code></h3>",
        f'<p class="rule">Rule {_e(entry.rule)}</p>',
    ]
    if entry.urgent:
        parts.append(f'<p class="urgent">{_e(entry.urgent)}</p>')
    parts.append(_facts(entry.facts))
    rows = "".join(
        f"<tr><td><code>{_e(p.sha)}</code></td><td>{_e(p.date)}</td><td>{_e(p.author)}</td>"
        f"<td>{_e(p.where)}</td></tr>"
        for p in entry.places
    )
    caption = f"<caption>Every place it was added ({len(entry.places)})</caption>"
    head = _head("Commit", "Date", "Author", "File:line")
    parts.append(f"<table>{caption}{head}<tbody>{rows}</tbody></table>")
    steps = "".join(f"<li>{_rich(step)}</li>" for step in entry.actions)
    parts.append(f"<h4>What to do</h4>\n<ol>{steps}</ol>")
    parts.append("</article>")
    return "\n".join(parts)


def _badge(status: str) -> str:
    return f'<span class="badge {status}">{_e(status.upper())}</span>'


def _head(*names: str) -> str:
    return "<thead><tr>" + "".join(f"<th>{_e(n)}</th>" for n in names) + "</tr></thead>"


def _facts(facts: Iterable[tuple[str, Rich]]) -> str:
    items = "".join(f"<dt>{_e(label)}</dt><dd>{_rich(value)}</dd>" for label, value in facts)
    return f"<dl>{items}</dl>"


def _rich(spans: Rich) -> str:
    parts = []
    for span in spans:
        text = _e(span.text)
        if span.style in ("code", "strong"):
            text = f"<{span.style}>{text}</{span.style}>"
        parts.append(f'<a href="#{_e(span.target)}">{text}</a>' if span.target else text)
    return "".join(parts)
