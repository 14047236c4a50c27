"""Which client IDs to try with each secret, and how much a 401 from each would prove.

A client ID *belongs* with a secret when the two are in one `ApiKey` header, in the same
file, in the same commit, or (range scans) the client ID is in the tree at the head commit:
a 401 for all of those means the key is revoked. Any other client ID of the scan is a
*guess*: a live answer proves the key live, a 401 proves nothing (credentials.md).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from nexpay_scan.findings import Finding
from nexpay_scan.sources.tree_ids import TreeClientId

HEADER, FILE, COMMIT, TREE, GUESS = "header", "file", "commit", "tree", "guess"
# How each source reads in a reason: "the client ID from its file".
SOURCE_NAMES = {
    HEADER: "its ApiKey header",
    FILE: "its file",
    COMMIT: "its commit",
    TREE: "the tree at the head commit",
    GUESS: "elsewhere in the scan",
}


@dataclass(frozen=True)
class Candidate:
    """A client ID to try with a secret, and where it came from (HEADER ... GUESS)."""

    client_id: str
    source: str

    @property
    def beside(self) -> bool:
        """True for a client ID next to the secret (its header or file): the nearest one is
        its pair, even when more client IDs of its own are left untried."""
        return self.source in (HEADER, FILE)


def belonging_candidates(
    occurrences: Sequence[Finding],
    client_ids: Sequence[Finding],
    tree_ids: Sequence[TreeClientId],
) -> list[Candidate]:
    """Client IDs that belong with one secret, nearest first: its own header pair, the same
    file (nearest lines first), the same commit, then the tree at the head commit (files
    nearest the secret's first); no repeats."""
    files = {f.file for f in occurrences}
    commits = {f.commit.sha for f in occurrences if f.commit}
    lines = {f.file: f.line for f in occurrences}
    same_file = sorted(
        (c for c in client_ids if c.file in files), key=lambda c: abs(c.line - lines[c.file])
    )
    same_commit = [c for c in client_ids if c.commit and c.commit.sha in commits]
    in_tree = sorted(tree_ids, key=lambda t: -max(_shared_folders(t.path, f) for f in files))
    ordered = [Candidate(f.pair.reveal(), HEADER) for f in occurrences if f.pair is not None]
    ordered += [Candidate(c.secret.reveal(), FILE) for c in same_file]
    ordered += [Candidate(c.secret.reveal(), COMMIT) for c in same_commit]
    ordered += [Candidate(t.value, TREE) for t in in_tree]
    return _distinct(ordered)


def guessed_candidates(client_ids: Sequence[Finding], limit: int) -> list[Candidate]:
    """Client IDs from elsewhere in the scan, in scan order, for a secret that has none of
    its own: at most `limit`."""
    return _distinct(Candidate(c.secret.reveal(), GUESS) for c in client_ids)[:limit]


def plan_guesses(
    wanted: Mapping[str, Sequence[Candidate]], budget: int
) -> dict[str, list[Candidate]]:
    """At most `budget` guesses in all, shared out round by round (every secret's first
    guess before any second one), so a crowd of decoy secrets cannot use up the run."""
    plan: dict[str, list[Candidate]] = {value: [] for value in wanted}
    depth = 0
    while budget > 0 and any(depth < len(c) for c in wanted.values()):
        for value, candidates in wanted.items():
            if budget > 0 and depth < len(candidates):
                plan[value].append(candidates[depth])
                budget -= 1
        depth += 1
    return {value: guesses for value, guesses in plan.items() if guesses}


def _distinct(candidates: Iterable[Candidate]) -> list[Candidate]:
    """The first candidate for each client ID (the nearest source wins)."""
    first: dict[str, Candidate] = {}
    for candidate in candidates:
        first.setdefault(candidate.client_id, candidate)
    return list(first.values())


def _shared_folders(path: str, other: str) -> int:
    """How many leading folders two paths share: a client ID beside the secret comes first."""
    mine, theirs = os.path.dirname(path).split("/"), os.path.dirname(other).split("/")
    shared = 0
    for a, b in zip(mine, theirs, strict=False):
        if a != b:
            break
        shared += 1
    return shared
