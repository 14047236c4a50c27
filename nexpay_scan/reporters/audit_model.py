"""The audit report's model (`audit_of`), which `audit_markdown` and `audit_html` render.

It turns findings into what a person reads: each distinct key once, live first, with every
place it was added and the steps of Nexpay's API keys guide. Both reports render this one
model, so they always say the same thing.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from nexpay_scan import __version__
from nexpay_scan.findings import Commit, Finding
from nexpay_scan.reporters import Report, display_path, skipped_lines, suppressed_line

STATUSES = ("live", "unknown", "unverified", "revoked")  # the order keys are listed in
_SHORT_SHA = 12
_DASHBOARD = "Nexpay Dashboard (your avatar, top right > Settings > API Keys section)"
_GC = "git reflog expire --expire-unreachable=now --all && git gc --prune=now"


class Span(NamedTuple):
    """A run of text: plain, `code` or `strong`; with `target`, a link to that anchor."""

    text: str
    style: str = ""
    target: str = ""


Rich = tuple[Span, ...]


@dataclass(frozen=True)
class Place:
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
    places: tuple[Place, ...]
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


def audit_of(report: Report, root: Path | None) -> Audit:
    """The audit of `report`: distinct keys by status, live first, then client IDs, then
    keys found only in dangling objects."""
    groups = _distinct(report.findings)
    pairs = _secrets_by_client_id(groups)
    kept = [g for g in groups if not g[0].unreachable]
    secrets = _entries([g for g in kept if g[0].kind == "secret"], "secret", report, pairs)
    client_ids = _entries([g for g in kept if g[0].kind != "secret"], "client-id", report, pairs)
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
    return STATUSES.index(status) if status in STATUSES else STATUSES.index("unverified")


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
        if group[0].kind == "secret" and not group[0].unreachable:
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
        status=first.status if first.status in STATUSES else "unverified",
        label=("secret" if first.kind == "secret" else "client ID")
        + (" (dangling)" if first.unreachable else ""),
        shown=plain(report.shown(first.secret.reveal())),
        rule=f"{plain(first.rule_id)} ({plain(first.severity)}): {plain(first.description)}",
        urgent=_urgent(first, account),
        facts=_facts(group, report, account, at_head, pair),
        places=places,
        actions=_actions(first, report, at_head, files, pair),
        account=account,
        at_head=_tips(group) or _AT_HEAD[at_head][0],
        introduced=_introduced_short(first.commit),
    )


def _places(group: Sequence[Finding]) -> tuple[Place, ...]:
    """Every place the key was added, oldest first, each once."""
    raw: list[tuple[Commit | None, str, int]] = []
    for finding in group:
        raw.extend(finding.places or [(finding.commit, finding.file, finding.line)])
    unique = {(c.sha if c else "", path, line): (c, path, line) for c, path, line in raw}
    ordered = sorted(unique.values(), key=lambda p: _date_key(p[0]))
    return tuple(
        Place(
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
    facts: list[tuple[str, Rich]] = [("Status", (Span(_status_text(first)),))]
    if account:
        facts.append(("Account", (Span(account),)))
    if first.verified_with is not None:
        shown = plain(report.shown(first.verified_with.reveal()))
        facts.append(("Verified with client ID", (Span(shown, "code"),)))
    if pair:
        facts.append(("Belongs to", (Span("the live secret above", target=pair),)))
    facts.append(("Introduced in", _introduced(first)))
    tips = _tips(group)
    still = f"yes: in the files at {tips}" if tips else _AT_HEAD[at_head][1]
    facts.append(("Still present", (Span(still),)))
    times = max(f.occurrences for f in group)
    facts.append(("Added", (Span(f"{times} time{'s' * (times != 1)} in the history"),)))
    facts.extend(("Note", (Span(plain(note)),)) for f in group for note in f.notes)
    return tuple(facts)


def _status_text(finding: Finding) -> str:
    if finding.status_reason:
        return f"{finding.status}: {plain(finding.status_reason)}"
    if finding.status == "unverified":
        return "unverified: not checked (run with --verify to learn whether it is live)"
    return finding.status


def _introduced(finding: Finding) -> Rich:
    commit = finding.commit
    if commit is None:
        where = "a dangling object no branch or tag reaches" if finding.unreachable else "-"
        return (Span(where),)
    who = plain(f"{commit.author} <{commit.email}>")
    return (Span(commit.sha[:_SHORT_SHA], "code"), Span(f" by {who} on {_when(commit.date)}"))


def _urgent(finding: Finding, account: str) -> str:
    owner = f"as {account}" if account else "as its owner"
    if finding.status == "live" and finding.kind == "secret":
        return f"Urgent: anyone with this key can call the Nexpay API {owner} until it is revoked."
    if finding.status == "unknown" and finding.kind == "secret":
        return "Could not be checked: treat it as live until the Dashboard shows it revoked."
    return ""


def _actions(
    finding: Finding, report: Report, at_head: bool | None, files: list[str], pair: str
) -> tuple[Rich, ...]:
    """What to do about one key, from Nexpay's API keys guide."""
    if finding.kind != "secret":
        steps = _client_id_actions(pair)
    elif finding.status == "revoked":
        steps = _revoked_actions()
    else:
        steps = _revoke_actions(finding, report)
    if finding.unreachable:  # in no commit: nothing to remove from the files
        steps.append((Span("Once revoked, drop it from this clone: "), Span(_GC, "code")))
    else:
        steps.append(_cleanup(at_head, files))
    return tuple(steps)


def _revoke_actions(finding: Finding, report: Report) -> list[Rich]:
    which: Rich = (Span("over the key"),)
    if finding.verified_with is not None:
        shown = plain(report.shown(finding.verified_with.reveal()))
        which = (Span("over the key with client ID "), Span(shown, "code"))
    email = plain((finding.account or {}).get("email", ""))
    login = f" (signed in as {email})" if email else ""
    if finding.status == "live":
        first = (Span("Revoke it now", "strong"), Span(f" in the {_DASHBOARD}{login}: hover "))
    else:
        first = (
            Span("Look for it", "strong"),
            Span(f" in the {_DASHBOARD}{login}; if it is listed there, hover "),
        )
    return [
        (*first, *which, Span(", click Revoke and confirm in the dialog.")),
        (
            Span(
                "Create a new key (Settings > API Keys > Create API Key) and copy its client "
                "ID and secret at once: the secret is shown only once."
            ),
        ),
        (
            Span(
                "Update the integration to use the new key, read from an environment "
                "variable or a secrets manager (e.g. AWS Secrets Manager, Google Secret "
                "Manager); never commit it or embed it in client-side code."
            ),
        ),
    ]


def _revoked_actions() -> list[Rich]:
    return [
        (
            Span("Confirm it stays revoked", "strong"),
            Span(
                ": the Nexpay Dashboard (Settings) lists it in the Revoked Keys section; a "
                "revoked key cannot be reactivated."
            ),
        ),
        (
            Span(
                "Make sure whatever used it now reads a new key from an environment variable "
                "or a secrets manager, not from the code."
            ),
        ),
    ]


def _client_id_actions(pair: str) -> list[Rich]:
    if pair:
        first: Rich = (
            Span("Revoke the key it belongs to", "strong"),
            Span(": follow the steps of "),
            Span("its live secret", target=pair),
            Span("; revoking the key disables this client ID too."),
        )
    else:
        first = (
            Span("Find the key it belongs to", "strong"),
            Span(
                f" in the {_DASHBOARD}; if its secret may have leaked too, hover over the "
                "key, click Revoke and confirm."
            ),
        )
    keep = Span(
        "Read the client ID from an environment variable or a secrets manager, "
        "together with its secret."
    )
    return [first, (keep,)]


def _cleanup(at_head: bool | None, files: list[str]) -> Rich:
    after = (
        " Deleting it or rewriting history does not un-leak it: every clone, fork and CI "
        "log that saw it keeps it. Revoke first, then clean up."
    )
    if at_head is False:
        return (Span("It is no longer in the files at HEAD; nothing more to remove." + after),)
    where = ": " + ", ".join(files) if files else ""
    state = "it is still at HEAD" if at_head else "check the files at HEAD"
    return (Span(f"Remove it from the code ({state}){where}.{after}"),)


def _headline(groups: list[list[Finding]]) -> tuple[str, str]:
    secrets = [g[0] for g in groups if g[0].kind == "secret"]
    live = sum(f.status == "live" for f in secrets)
    unsure = sum(f.status in ("unknown", "unverified") for f in secrets)
    if live:
        keys = "1 live key" if live == 1 else f"{live} live keys"
        return (
            f"{keys}: anyone who has the key can move money as its owner right now. "
            "Revoke live keys first: they are listed first.",
            "live",
        )
    if unsure:
        return (
            f"No key is confirmed live, but {unsure} could not be checked: treat them as "
            "live until the Dashboard shows them revoked.",
            "unknown",
        )
    if groups and not secrets:
        return (
            "Only client IDs found, no secret: a client ID alone cannot call the API, but "
            "read it from configuration, not from the code.",
            "unknown",
        )
    if groups:
        return (
            "Every secret found is revoked: confirm they stay revoked and remove them "
            "from the code.",
            "revoked",
        )
    return "No Nexpay credentials found.", "clean"


def _counts(groups: list[list[Finding]]) -> tuple[tuple[str, str, int], ...]:
    secrets = [g[0].status for g in groups if g[0].kind == "secret"]
    labels = {
        "live": "Live",
        "unknown": "Unknown",
        "unverified": "Unverified",
        "revoked": "Revoked",
    }
    counts = [(s, f"{labels[s]} secrets", secrets.count(s)) for s in STATUSES]
    counts.append(("client-id", "Client IDs", sum(g[0].kind != "secret" for g in groups)))
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


# Markdown
