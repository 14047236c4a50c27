"""Which client IDs to try with each secret: nearest first, a bounded number."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from nexpay_scan.findings import Finding


def candidates_for(
    occurrences: Sequence[Finding], client_ids: Sequence[Finding], limit: int
) -> list[str]:
    """Client IDs for one secret: its own header pair, then the same file (nearest lines
    first), then the same commit, then the rest of the scan; at most `limit`, no repeats."""
    ordered: list[str] = [f.pair.reveal() for f in occurrences if f.pair is not None]
    files = {f.file for f in occurrences}
    commits = {f.commit.sha for f in occurrences if f.commit}
    lines = {f.file: f.line for f in occurrences}
    same_file = sorted(
        (c for c in client_ids if c.file in files), key=lambda c: abs(c.line - lines[c.file])
    )
    same_commit = [c for c in client_ids if c.commit and c.commit.sha in commits]
    ordered.extend(_values(same_file))
    ordered.extend(_values(same_commit))
    ordered.extend(_values(client_ids))
    return list(dict.fromkeys(ordered))[:limit]


def _values(findings: Iterable[Finding]) -> list[str]:
    return [f.secret.reveal() for f in findings]
