"""The organization's one merged report, built from the repositories' plain results: every
finding with its `repository`, a per-repository table, and each distinct key (by
`secret_sha256`) once, naming every repository it appears in, live first."""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from nexpay_scan.findings import CLIENT_ID, LIVE, SECRET, UNVERIFIED, status_rank


@dataclass
class RepoRow:
    """One repository's line in the per-repository table."""

    repository: str
    state: str  # "scanned", "reused" (unchanged since its last scan) or "failed"
    findings: int = 0
    secrets: int = 0
    live: int = 0
    commits_scanned: int = 0
    error: str = ""
    gaps: list[str] = field(default_factory=list)


@dataclass
class DistinctKey:
    """One credential across the organization."""

    secret_sha256: str
    kind: str
    match: str
    status: str
    repositories: list[str]
    came_in: str
    left: str | None
    still_present: bool
    account: dict[str, Any] | None
    status_reason: str | None


@dataclass
class OrgAudit:
    """What the whole audit found; results are added one repository at a time."""

    rows: list[RepoRow] = field(default_factory=list)
    findings: list[dict[str, Any]] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)
    notes: list[str] = field(default_factory=list)

    def add(self, result: dict[str, Any], state: str) -> RepoRow:
        """Adds one repository's result (its findings, or the error that stopped it)."""
        url = result["url"]
        if result.get("error"):
            row = RepoRow(url, "failed", error=str(result["error"]))
        else:
            items = list(result.get("findings", []))
            row = RepoRow(
                url,
                state,
                findings=len(items),
                secrets=sum(i.get("kind") == SECRET for i in items),
                commits_scanned=int(result.get("commits_scanned", 0)),
                gaps=list(result.get("gaps", [])),
            )
            self.findings.extend(items)
        self.rows.append(row)
        return row

    @property
    def failed(self) -> list[RepoRow]:
        return [r for r in self.rows if r.state == "failed"]

    def finish(self) -> None:
        """Counts live keys per repository, and orders findings and rows live first."""
        for row in self.rows:
            row.live = sum(
                f.get("status") == LIVE and f.get("kind") == SECRET
                for f in self.findings
                if f["repository"] == row.repository
            )
        self.findings.sort(key=_finding_order)
        self.rows.sort(key=lambda r: (-r.live, r.state != "failed", -r.findings, r.repository))

    def distinct_keys(self) -> list[DistinctKey]:
        """Each credential once, with every repository it appears in; live first."""
        groups: dict[str, list[dict[str, Any]]] = {}
        for item in self.findings:
            groups.setdefault(item["secret_sha256"], []).append(item)
        keys = [_distinct(digest, group) for digest, group in groups.items()]
        return sorted(
            keys,
            key=lambda k: (
                status_rank(k.status),
                k.kind != SECRET,
                -len(k.repositories),
                k.came_in,
            ),
        )

    @property
    def duration(self) -> float:
        return time.monotonic() - self.started


def _finding_order(item: dict[str, Any]) -> tuple[Any, ...]:
    return (
        status_rank(item.get("status", "")),
        item.get("kind") != SECRET,
        item["repository"],
        item.get("file", ""),
        item.get("line", 0),
    )


def _distinct(digest: str, group: list[dict[str, Any]]) -> DistinctKey:
    from nexpay_scan.reporters.timeline import earliest, latest

    first = min(group, key=lambda i: status_rank(i.get("status", "")))
    present = any(i.get("at_head") or i.get("present_at") for i in group)
    return DistinctKey(
        secret_sha256=digest,
        kind=first.get("kind", ""),
        match=first.get("match", ""),
        status=first.get("status", UNVERIFIED),
        repositories=sorted({i["repository"] for i in group}),
        came_in=earliest(i.get("date") for i in group) or "",
        left=None if present else latest(i.get("left_at") for i in group),
        still_present=present,
        account=first.get("account"),
        status_reason=first.get("status_reason"),
    )


def counts(items: Iterable[dict[str, Any]]) -> dict[str, int]:
    """Findings by kind."""
    kinds = [i.get("kind") for i in items]
    return {
        "findings": len(kinds),
        "secrets": kinds.count(SECRET),
        "client_ids": kinds.count(CLIENT_ID),
    }
