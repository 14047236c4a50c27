"""The organization audit's merged report in each format: JSON (each finding with its
`repository`, a per-repository table in the summary), SARIF (repository-qualified
locations), text, and the audit page for people (`--report org.html` or `.md`)."""

from __future__ import annotations

import datetime
import html
import json
from typing import Any
from urllib.parse import quote

from nexpay_scan import __version__
from nexpay_scan.findings import LIVE, SECRET
from nexpay_scan.org.merge import DistinctKey, OrgAudit, RepoRow, counts
from nexpay_scan.reporters import display_text
from nexpay_scan.reporters.timeline import Lane, timeline_markdown, timeline_svg


def summary_dict(audit: OrgAudit) -> dict[str, Any]:
    """The run's counts and its per-repository table."""
    keys = audit.distinct_keys()
    return {
        "mode": "org",
        **counts(audit.findings),
        "distinct_keys": len(keys),
        "live_keys": sum(k.status == LIVE and k.kind == SECRET for k in keys),
        "repositories_total": len(audit.rows),
        "repositories_scanned": sum(r.state == "scanned" for r in audit.rows),
        "repositories_reused": sum(r.state == "reused" for r in audit.rows),
        "repositories_failed": len(audit.failed),
        "repositories": [_row_dict(r) for r in audit.rows],
        "notes": audit.notes,
        "duration_seconds": round(audit.duration, 3),
    }


def _row_dict(row: RepoRow) -> dict[str, Any]:
    item: dict[str, Any] = {
        "repository": row.repository,
        "state": row.state,
        "findings": row.findings,
        "secrets": row.secrets,
        "live": row.live,
        "commits_scanned": row.commits_scanned,
    }
    if row.error:
        item["error"] = row.error
    if row.gaps:
        item["not_scanned"] = row.gaps
    return item


def _key_dict(key: DistinctKey) -> dict[str, Any]:
    return {
        "secret_sha256": key.secret_sha256,
        "kind": key.kind,
        "match": key.match,
        "status": key.status,
        "repositories": key.repositories,
        "came_in": key.came_in,
        "left_tips": key.left,
        "still_present": key.still_present,
    }


_INTERNAL = ("at_head", "present_at", "left_at", "places")


def render_json(audit: OrgAudit) -> str:
    """The merged JSON report."""
    document = {
        "tool": {"name": "nexpay-scan", "version": __version__},
        "findings": [{k: v for k, v in f.items() if k not in _INTERNAL} for f in audit.findings],
        "keys": [_key_dict(k) for k in audit.distinct_keys()],
        "summary": summary_dict(audit),
    }
    return json.dumps(document, indent=2) + "\n"


def render_sarif(audit: OrgAudit) -> str:
    """One SARIF run; each location's `uriBaseId` names its repository, whose URL is in
    `originalUriBaseIds`."""
    from nexpay_scan.config import builtin_rules
    from nexpay_scan.reporters.sarif import (
        FINGERPRINT_KEY,
        INFORMATION_URI,
        LEVELS,
        SCHEMA,
        RuleInfo,
        descriptor,
    )

    rules: dict[str, RuleInfo] = {
        r.id: RuleInfo(r.id, r.description, r.kind, r.severity, "high") for r in builtin_rules()
    }
    for f in audit.findings:
        rules.setdefault(
            f["rule"], RuleInfo(f["rule"], f["description"], f["kind"], f["severity"], "high")
        )
    index = {rule_id: n for n, rule_id in enumerate(rules)}
    bases = {row.repository: f"REPO{n}" for n, row in enumerate(audit.rows, 1)}
    results = []
    for f in audit.findings:
        level = "error" if f.get("status") == LIVE else LEVELS.get(f["severity"], "warning")
        base = bases[f["repository"]]
        properties = {
            k: v for k, v in f.items() if k not in (*_INTERNAL, "rule", "file", "line", "column")
        }
        results.append(
            {
                "ruleId": f["rule"],
                "ruleIndex": index[f["rule"]],
                "level": level,
                "message": {
                    "text": f"{f['description']}: {f['kind']} {f['match']} in "
                    f"{f['repository']}: {display_text(f['file'])} (status: {f['status']})."
                },
                "locations": [
                    {
                        "physicalLocation": {
                            "artifactLocation": {
                                "uri": quote(
                                    f["file"].encode("utf-8", "surrogateescape"), safe="/"
                                ),
                                "uriBaseId": base,
                            },
                            "region": {"startLine": f["line"], "startColumn": f["column"]},
                        }
                    }
                ],
                "partialFingerprints": {FINGERPRINT_KEY: f["fingerprint"]},
                "properties": properties,
            }
        )
    run = {
        "tool": {
            "driver": {
                "name": "nexpay-scan",
                "version": __version__,
                "semanticVersion": __version__,
                "informationUri": INFORMATION_URI,
                "rules": [descriptor(r) for r in rules.values()],
            }
        },
        "originalUriBaseIds": {
            base: {"uri": _base_uri(url), "description": {"text": f"The repository {url}"}}
            for url, base in bases.items()
        },
        "columnKind": "unicodeCodePoints",
        "results": results,
        "invocations": [
            {
                "executionSuccessful": not audit.failed,
                "toolExecutionNotifications": [
                    {"level": "error", "message": {"text": f"{r.repository}: {r.error}"}}
                    for r in audit.failed
                ],
            }
        ],
        "properties": {"summary": summary_dict(audit)},
    }
    return json.dumps({"$schema": SCHEMA, "version": "2.1.0", "runs": [run]}, indent=2) + "\n"


def _base_uri(url: str) -> str:
    """A repository as an absolute URI ending in `/` (SARIF's rule for a base)."""
    if "://" not in url:
        from pathlib import Path

        return Path(url).resolve().as_uri().rstrip("/") + "/"
    return url.rstrip("/") + "/"


def render_text(audit: OrgAudit) -> str:
    """For a person: the per-repository table, then each distinct key once (live first)
    with every repository it is in."""
    out = []
    keys = audit.distinct_keys()
    live = sum(k.status == LIVE and k.kind == SECRET for k in keys)
    if keys:
        out.append(
            f"nexpay-scan: {len(keys)} distinct Nexpay credentials in "
            f"{sum(r.findings > 0 for r in audit.rows)} repositories"
        )
    if live:
        out.append(
            f"{live} {'key is' if live == 1 else 'keys are'} LIVE: revoke "
            f"{'it' if live == 1 else 'them'} first (shown first below)."
        )
    out += ["", "Repositories:"]
    for row in audit.rows:
        what = (
            f"FAILED: {display_text(row.error)}"
            if row.error
            else (
                f"{row.findings} findings, {row.live} live, {row.commits_scanned} commits"
                + (" (unchanged, result reused)" if row.state == "reused" else "")
            )
        )
        out.append(f"  {display_text(row.repository)}: {what}")
    if keys:
        out += ["", "Keys (each once, with every repository it is in):"]
    for key in keys:
        out.append(f"  {key.status.upper()} {key.kind} {key.match} sha256:{key.secret_sha256[:16]}")
        if key.status_reason:
            out.append(f"    {display_text(key.status_reason)}")
        out.append(
            f"    came in {key.came_in[:10] or '-'}; "
            + (
                "still in the branch tips"
                if key.still_present
                else f"left the tips {key.left[:10]}"
                if key.left
                else "in no branch tip"
            )
        )
        out += [f"    in {display_text(r)}" for r in key.repositories]
    if keys:
        out += [
            "",
            "What to do: revoke each key in the Nexpay Dashboard now, create a new one, "
            "and read it from an environment variable or a secrets manager. Deleting the "
            "line or rewriting history does not un-leak a key.",
        ]
    out += [f"note: {display_text(n)}" for n in audit.notes]
    failed = len(audit.failed)
    out.append(
        f"Scanned {len(audit.rows) - failed} of {len(audit.rows)} repositories in "
        f"{audit.duration:.1f}s" + (f"; {failed} FAILED (listed above)" if failed else "") + "."
    )
    return "\n".join(out) + "\n"


def _lanes(keys: list[DistinctKey]) -> list[Lane]:
    return [
        Lane(
            f"{'secret' if k.kind == 'secret' else 'client ID'} {k.match} "
            f"({len(k.repositories)} repo{'s' * (len(k.repositories) != 1)})",
            k.status,
            k.came_in,
            k.left,
            k.still_present,
        )
        for k in keys
    ]


_POLICY = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"
_CSS = """body{font:15px/1.5 system-ui,"DejaVu Sans",sans-serif;max-width:1100px;margin:0 auto;
padding:0 24px;color:#101828}table{border-collapse:collapse;width:100%;margin:8px 0}
th,td{text-align:left;padding:4px 8px;border-bottom:1px solid #d0d5dd;overflow-wrap:anywhere}
th{background:#f2f4f7}.live{color:#b42318;font-weight:700}.failed{color:#b54708}
code{background:#f2f4f7;padding:0 4px}article{border:1px solid #d0d5dd;border-radius:6px;
padding:4px 16px;margin:12px 0}article.live{border-left:6px solid #b42318}"""


def render_html(audit: OrgAudit) -> str:
    """The audit page: one self-contained HTML file, every value escaped, nothing fetched."""
    e = _escape
    keys = audit.distinct_keys()
    live = sum(k.status == LIVE and k.kind == SECRET for k in keys)
    body = [f"<h1>Nexpay key audit of {len(audit.rows)} repositories</h1>"]
    body.append(f'<p class="{"live" if live else ""}">{e(_headline(keys, live))}</p>')
    if audit.failed:
        body.append(
            f'<p class="failed">{len(audit.failed)} repositories could not be scanned (below).</p>'
        )
    body.append(
        "<h2>Repositories</h2><table><thead><tr><th>Repository</th><th>Live keys</th>"
        "<th>Findings</th><th>Commits</th><th>State</th></tr></thead><tbody>"
    )
    for row in audit.rows:
        state = f"failed: {row.error}" if row.error else row.state
        body.append(
            f'<tr><td>{e(row.repository)}</td><td class="{"live" if row.live else ""}">'
            f"{row.live}</td><td>{row.findings}</td><td>{row.commits_scanned}</td>"
            f'<td class="{"failed" if row.error else ""}">{e(state)}</td></tr>'
        )
    body.append("</tbody></table>")
    svg = timeline_svg(_lanes(keys))
    if svg:
        body.append(f'<h2>Timeline</h2><figure id="timeline">{svg}</figure>')
    body.append(f"<h2>Keys ({len(keys)}), each once</h2>")
    for n, key in enumerate(keys, 1):
        body.append(
            f'<article class="{e(key.status)}" id="key-{n}"><h3>{e(key.status.upper())} '
            f"{e(key.kind)} <code>{e(key.match)}</code></h3>"
        )
        facts = [
            ("sha256", key.secret_sha256),
            ("Came in", key.came_in or "-"),
            (
                "Still present",
                "yes, in a branch tip"
                if key.still_present
                else f"no: left the tips {key.left}"
                if key.left
                else "no",
            ),
        ]
        if key.status_reason:
            facts.append(("Status", key.status_reason))
        if key.account:
            facts.append(("Account", str(key.account.get("email") or key.account.get("id", ""))))
        body.append("<ul>" + "".join(f"<li><b>{e(a)}:</b> {e(b)}</li>" for a, b in facts) + "</ul>")
        body.append(
            f"<p>In {len(key.repositories)} repositories:</p><ul>"
            + "".join(f"<li>{e(r)}</li>" for r in key.repositories)
            + "</ul></article>"
        )
    body.append(f"<footer><p>Generated {_now()} by nexpay-scan {__version__}.</p></footer>")
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{_POLICY}">\n'
        '<meta name="referrer" content="no-referrer">\n'
        f"<title>Nexpay key audit</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
        + "\n".join(body)
        + "\n</body>\n</html>\n"
    )


def render_markdown(audit: OrgAudit) -> str:
    """The audit page as Markdown (tables, the timeline as an inline image)."""
    m = _md
    keys = audit.distinct_keys()
    live = sum(k.status == LIVE and k.kind == SECRET for k in keys)
    out = [
        f"# Nexpay key audit of {len(audit.rows)} repositories",
        "",
        f"> **{m(_headline(keys, live))}**",
        "",
    ]
    out += [
        "## Repositories",
        "",
        "| Repository | Live keys | Findings | Commits | State |",
        "|---|---|---|---|---|",
    ]
    for row in audit.rows:
        state = f"failed: {row.error}" if row.error else row.state
        cells = (m(row.repository), str(row.live), str(row.findings), str(row.commits_scanned))
        out.append(f"| {' | '.join(cells)} | {m(state)} |")
    out.append("")
    out += timeline_markdown(_lanes(keys))
    out += [f"## Keys ({len(keys)}), each once", ""]
    for key in keys:
        out += [
            f"### {key.status.upper()}: {m(key.kind)} `{key.match}`",
            "",
            f"- **sha256:** `{key.secret_sha256}`",
            f"- **Came in:** {m(key.came_in or '-')}",
            "- **Still present:** "
            + (
                "yes, in a branch tip"
                if key.still_present
                else f"no: left the tips {m(key.left)}"
                if key.left
                else "no"
            ),
        ]
        if key.status_reason:
            out.append(f"- **Status:** {m(key.status_reason)}")
        out += [
            f"- **In {len(key.repositories)} repositories:** "
            + ", ".join(m(r) for r in key.repositories),
            "",
        ]
    out.append(f"Generated {_now()} by nexpay-scan {__version__}.")
    return "\n".join(out) + "\n"


def _headline(keys: list[DistinctKey], live: int) -> str:
    if live:
        return (
            f"{live} live key{'s' * (live != 1)}: anyone who has one can move money as its "
            "owner right now. Revoke live keys first: they are listed first."
        )
    if keys:
        return f"{len(keys)} distinct keys found; none confirmed live (run with --verify to check)."
    return "No Nexpay credentials found."


def _escape(text: str) -> str:
    return html.escape(display_text(text), quote=True)


def _md(text: str) -> str:
    return "".join(f"\\{c}" if c in "\\`*_{}[]<>()#+-.!|~" else c for c in display_text(text))


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
