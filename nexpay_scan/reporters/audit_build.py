"""The audit report built from findings (`audit_of`): each distinct key once, live first,
with every place it was added and what to do about it (`remediation.audit_actions`, from
Nexpay's API keys guide)."""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Sequence
from pathlib import Path

from nexpay_scan import __version__
from nexpay_scan.findings import (
    LIVE,
    REVOKED,
    SECRET,
    STATUS_ORDER,
    UNKNOWN,
    UNVERIFIED,
    Commit,
    Finding,
)
from nexpay_scan.reporters import Report, display_path, skipped_lines, suppressed_line
from nexpay_scan.reporters.audit_model import Addition, Audit, Entry, Rich, Section, TextRun, plain
from nexpay_scan.reporters.remediation import audit_actions, urgent

_SHORT_SHA = 12


def audit_of(report: Report, root: Path | None) -> Audit:
    """The audit of `report`: distinct keys by status, live first, then client IDs, then
    keys found only in dangling objects."""
    groups = _distinct(report.findings)
    pairs = _secrets_by_client_id(groups)
    kept = [g for g in groups if not g[0].unreachable]
    secrets = _entries([g for g in kept if g[0].kind == SECRET], "secret", report, pairs)
    client_ids = _entries([g for g in kept if g[0].kind != SECRET], "client-id", report, pairs)
    dangling = _entries([g for g in groups if g[0].unreachable], "dangling", report, pairs)
    sections = (
        Section("secrets", f"Secrets ({len(secrets)})", _SECRETS_INTRO, secrets),
        Section("client-ids", f"Client IDs ({len(client_ids)})", _CLIENT_IDS_INTRO, client_ids),
        Section("dangling", f"In dangling objects ({len(dangling)})", _DANGLING_INTRO, dangling),
    )
    name = plain(root.name) if root else "unknown repository"
    headline, color = _headline(groups)
    return Audit(
        title=f"Nexpay key audit: {name}",
        headline=headline,
        headline_status=color,
        counts=_counts(groups),
        facts=_summary_facts(report, root, name),
        notes=_notes(report),
        sections=tuple(s for s in sections if s.entries or s.anchor == "secrets"),
        redacted=report.redact,
        generated=f"{_now()} by nexpay-scan {__version__}",
    )


_SECRETS_INTRO = (
    "Each secret once, live first: anyone holding a live secret and its client ID can call "
    "the Nexpay API as its owner."
)
_CLIENT_IDS_INTRO = (
    "A client ID alone cannot call the API, but it names the key it belongs to: with its "
    "secret it is a working credential."
)
_DANGLING_INTRO = (
    "Keys only in objects of this clone that no branch or tag reaches (dangling blobs). They "
    "may still be on the server or in other clones: revoke them like the keys above."
)


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def _distinct(findings: Iterable[Finding]) -> list[list[Finding]]:
    """Findings grouped by key (several with --all-occurrences), sorted live first."""
    groups: dict[tuple[bool, str, str], list[Finding]] = {}
    for finding in findings:
        key = (finding.unreachable, finding.kind, finding.secret.reveal())
        groups.setdefault(key, []).append(finding)
    ordered = [sorted(g, key=lambda f: _date_key(f.commit)) for g in groups.values()]
    # Within a status, keys still at HEAD first: those are the ones to act on in the code.
    return sorted(ordered, key=lambda g: (_rank(g[0].status), _at_head(g) is not True))


def _rank(status: str) -> int:
    return STATUS_ORDER.index(status if status in STATUS_ORDER else UNVERIFIED)


def _date_key(commit: Commit | None) -> tuple[int, float]:
    """Oldest first; a commit whose date does not parse, or none, sorts last."""
    if commit is None:
        return (2, 0.0)
    try:
        return (0, datetime.datetime.fromisoformat(commit.date).timestamp())
    except ValueError:
        return (1, 0.0)


def _when(date: str) -> str:
    """A commit date for people: `2024-01-31 12:00+01:00` (as given if it does not parse)."""
    try:
        return datetime.datetime.fromisoformat(date).isoformat(sep=" ", timespec="minutes")
    except ValueError:
        return plain(date)


def _secrets_by_client_id(groups: list[list[Finding]]) -> dict[str, str]:
    """The anchor of the secret each client ID was verified with."""
    found: dict[str, str] = {}
    number = 0
    for group in groups:
        if group[0].kind == SECRET and not group[0].unreachable:
            number += 1
            if group[0].verified_with is not None:
                found.setdefault(group[0].verified_with.reveal(), f"secret-{number}")
    return found


def _entries(
    groups: list[list[Finding]], prefix: str, report: Report, pairs: dict[str, str]
) -> tuple[Entry, ...]:
    return tuple(
        _entry(group, f"{prefix}-{n}", report, pairs.get(group[0].secret.reveal(), ""))
        for n, group in enumerate(groups, 1)
    )


def _entry(group: list[Finding], anchor: str, report: Report, pair: str) -> Entry:
    first = group[0]
    places = _places(group)
    at_head = _at_head(group)
    account = _account(first.account)
    files = sorted({p.where.rsplit(":", 1)[0] for p in places})
    return Entry(
        anchor=anchor,
        status=first.status if first.status in STATUS_ORDER else UNVERIFIED,
        label=("secret" if first.kind == SECRET else "client ID")
        + (" (dangling)" if first.unreachable else ""),
        shown=plain(report.shown(first.secret.reveal())),
        rule=f"{plain(first.rule_id)} ({plain(first.severity)}): {plain(first.description)}",
        urgent=urgent(first, account),
        facts=_facts(group, report, account, at_head, pair),
        places=places,
        actions=audit_actions(first, report, at_head, files, pair),
        account=account,
        at_head=_tips(group) or _AT_HEAD[at_head][0],
        introduced=_introduced_short(first.commit),
    )


def _places(group: Sequence[Finding]) -> tuple[Addition, ...]:
    """Every place the key was added, oldest first, each once."""
    raw: list[tuple[Commit | None, str, int]] = []
    for finding in group:
        raw.extend(finding.places or [(finding.commit, finding.file, finding.line)])
    unique = {(c.sha if c else "", path, line): (c, path, line) for c, path, line in raw}
    ordered = sorted(unique.values(), key=lambda p: _date_key(p[0]))
    return tuple(
        Addition(
            sha=commit.sha[:_SHORT_SHA] if commit else "-",
            date=_when(commit.date) if commit else "-",
            author=plain(f"{commit.author} <{commit.email}>") if commit else "-",
            where=f"{display_path(path)}:{line}",
        )
        for commit, path, line in ordered
    )


def _at_head(group: Sequence[Finding]) -> bool | None:
    """Still present: at HEAD or at the tip of any branch or tag."""
    marks = [f.at_head for f in group]
    if True in marks or any(f.present_at for f in group):
        return True
    return False if False in marks else None


def _tips(group: Sequence[Finding]) -> str:
    names = sorted({name for f in group for name in f.present_at})
    return plain(", ".join(names))


_AT_HEAD: dict[bool | None, tuple[str, str]] = {
    True: ("yes", "yes: still in the files at HEAD"),
    False: ("no", "no: in the files of no branch or tag tip, but still in the history"),
    None: ("not checked", "not checked"),
}


def _account(account: dict[str, str] | None) -> str:
    if not account:
        return ""
    name, email, ident = (plain(str(account.get(k, ""))) for k in ("name", "email", "id"))
    who = f"{name} <{email}>" if name and email else name or email
    return f"{who} (account {ident})" if ident else who


def _introduced_short(commit: Commit | None) -> str:
    if commit is None:
        return "-"
    return f"{commit.sha[:_SHORT_SHA]} ({_when(commit.date)[:10]})"


def _facts(
    group: list[Finding], report: Report, account: str, at_head: bool | None, pair: str
) -> tuple[tuple[str, Rich], ...]:
    first = group[0]
    facts: list[tuple[str, Rich]] = [("Status", (TextRun(_status_text(first)),))]
    if account:
        facts.append(("Account", (TextRun(account),)))
    if first.verified_with is not None:
        shown = plain(report.shown(first.verified_with.reveal()))
        facts.append(("Verified with client ID", (TextRun(shown, "code"),)))
    if pair:
        facts.append(("Belongs to", (TextRun("the live secret above", target=pair),)))
    facts.append(("Introduced in", _introduced(first)))
    tips = _tips(group)
    still = f"yes: in the files at {tips}" if tips else _AT_HEAD[at_head][1]
    facts.append(("Still present", (TextRun(still),)))
    times = max(f.occurrences for f in group)
    facts.append(("Added", (TextRun(f"{times} time{'s' * (times != 1)} in the history"),)))
    facts.extend(("Note", (TextRun(plain(note)),)) for f in group for note in f.notes)
    return tuple(facts)


def _status_text(finding: Finding) -> str:
    if finding.status_reason:
        return f"{finding.status}: {plain(finding.status_reason)}"
    if finding.status == UNVERIFIED:
        return "unverified: not checked (run with --verify to learn whether it is live)"
    return finding.status


def _introduced(finding: Finding) -> Rich:
    commit = finding.commit
    if commit is None:
        where = "a dangling object no branch or tag reaches" if finding.unreachable else "-"
        return (TextRun(where),)
    who = plain(f"{commit.author} <{commit.email}>")
    return (TextRun(commit.sha[:_SHORT_SHA], "code"), TextRun(f" by {who} on {_when(commit.date)}"))


def _headline(groups: list[list[Finding]]) -> tuple[str, str]:
    secrets = [g[0] for g in groups if g[0].kind == SECRET]
    live = sum(f.status == LIVE for f in secrets)
    unsure = sum(f.status in (UNKNOWN, UNVERIFIED) for f in secrets)
    if live:
        keys = "1 live key" if live == 1 else f"{live} live keys"
        return (
            f"{keys}: anyone who has the key can move money as its owner right now. "
            "Revoke live keys first: they are listed first.",
            LIVE,
        )
    if unsure:
        return (
            f"No key is confirmed live, but {unsure} could not be checked: treat them as "
            "live until the Dashboard shows them revoked.",
            UNKNOWN,
        )
    if groups and not secrets:
        return (
            "Only client IDs found, no secret: a client ID alone cannot call the API, but "
            "read it from configuration, not from the code.",
            UNKNOWN,
        )
    if groups:
        return (
            "Every secret found is revoked: confirm they stay revoked and remove them "
            "from the code.",
            REVOKED,
        )
    return "No Nexpay credentials found.", "clean"


def _counts(groups: list[list[Finding]]) -> tuple[tuple[str, str, int], ...]:
    secrets = [g[0].status for g in groups if g[0].kind == SECRET]
    counts = [(s, f"{s.capitalize()} secrets", secrets.count(s)) for s in STATUS_ORDER]
    counts.append(("client-id", "Client IDs", sum(g[0].kind != SECRET for g in groups)))
    counts.append(("dangling", "In dangling objects", sum(g[0].unreachable for g in groups)))
    return tuple(counts)


def _notes(report: Report) -> tuple[str, ...]:
    stopped = (
        f"Warning: rule {plain(rule)} was stopped after {n} slow matches; content it was "
        "stopped on was not fully searched by it."
        for rule, n in sorted(report.summary.rule_timeouts.items())
    )
    listed = (*report.notes, *(suppressed_line(f, report) for f in report.suppressed))
    return (*(plain(n) for n in listed), *(plain(n) for n in skipped_lines(report)), *stopped)


def _summary_facts(report: Report, root: Path | None, name: str) -> tuple[tuple[str, str], ...]:
    summary = report.summary
    facts = [("Repository", f"{name} ({display_path(str(root))})" if root else name)]
    facts.append(("Commits scanned", str(summary.commits_scanned)))
    facts.append(("Duration", f"{summary.duration:.2f} s"))
    if summary.suppressed:
        facts.append(("Suppressed", f"{summary.suppressed} (each listed in the notes, with why)"))
    if summary.skipped:
        skipped = ", ".join(f"{n} {plain(why)}" for why, n in sorted(summary.skipped.items()))
        facts.append(("Skipped", skipped))
    shown = "redacted" if report.redact else "IN FULL (--no-redact): keep this file secret"
    facts.append(("Keys shown", shown))
    return tuple(facts)
