"""Names the repository chose, as every output shows them: file paths, archive members,
branch and tag names, authors. A key in one is shown redacted, as a found key is, unless
`--no-redact`: a file or member named `nxp_sk_…` that held a key put the whole secret in
every report, in the notes and in the `last-found` cache. A name is redacted where a
rule's prefix starts a run of key characters in it (a placeholder too: a name is only
shown, never matched, once the scan is done). Fingerprints are taken from the names as
they were (`Finding.keep_fingerprint`), so ignore files and baselines match either way."""

from __future__ import annotations

from nexpay_scan.findings import Commit, Finding, redact
from nexpay_scan.stats import Stats

TYPE_CHECKING = False  # typing is not imported on the hook's path (start-up time)
if TYPE_CHECKING:
    from collections.abc import Sequence

# what a key is made of (`re` is not loaded on the hook's path: the runs are found by hand)
_KEY_CHARACTERS = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_+=-")
_LEAST = 8  # key characters after the prefix (nxp_sk_ has 42, nxp_cid_ 24)


class NameRedactor:
    """Redacts the keys in names: each run of key characters that one of `prefixes`
    starts (the rules' prefixes, longest first: `rules.rule_prefixes`), with at least
    _LEAST of them after it."""

    def __init__(self, prefixes: Sequence[str]) -> None:
        self._prefixes = tuple(prefix for prefix in prefixes if prefix)
        self._shown: dict[str, str] = {}  # a name -> as shown (many findings share one)

    def name(self, text: str) -> str:
        """`text` with every key in it redacted."""
        shown = self._shown.get(text)
        if shown is None:
            shown = self._shown[text] = self._redacted(text)
        return shown

    def _redacted(self, text: str) -> str:
        if not any(prefix in text for prefix in self._prefixes):  # (as a rule)
            return text
        runs = sorted(run for prefix in self._prefixes for run in self._runs(text, prefix))
        shown: list[str] = []
        at = 0
        for start, end in runs:
            if start < at:  # (within one already redacted: a shorter prefix's)
                continue
            shown += [text[at:start], redact(text[start:end], self._prefixes)]
            at = end
        return "".join(shown) + text[at:] if shown else text

    @staticmethod
    def _runs(text: str, prefix: str) -> list[tuple[int, int]]:
        runs = []
        start = text.find(prefix)
        while start >= 0:
            end = start + len(prefix)
            while end < len(text) and text[end] in _KEY_CHARACTERS:
                end += 1
            if end - start - len(prefix) >= _LEAST:
                runs.append((start, end))
            start = text.find(prefix, max(end, start + 1))
        return runs

    def findings(self, findings: Sequence[Finding]) -> None:
        """Redacts the names each finding shows, in place (its fingerprint kept first);
        what names no key is left as it is, not copied."""
        commits: dict[int, Commit] = {}
        for finding in findings:
            shown = self.name(finding.file)
            if shown != finding.file:
                finding.keep_fingerprint()
                finding.file = shown
            if finding.notes:
                finding.notes = self._names(finding.notes)
            if finding.present_at:
                finding.present_at = self._names(finding.present_at)
            if finding.left_at is not None:
                finding.left_at = self.name(finding.left_at)
            if finding.commit is not None:
                finding.commit = self._commit(finding.commit, commits)
            if finding.places:
                places = [
                    (self._commit(commit, commits), self.name(path), line)
                    for commit, path, line in finding.places
                ]
                if places != finding.places:
                    finding.places = places

    def skipped(self, stats: Stats) -> None:
        """Redacts the names of what was passed over, in place."""
        stats.skipped_items = [
            item._replace(where=self.name(item.where), inside=self.name(item.inside))
            for item in stats.skipped_items
        ]

    def _names(self, names: list[str]) -> list[str]:
        shown = [self.name(name) for name in names]
        return names if shown == names else shown

    def _commit(self, commit: Commit, seen: dict[int, Commit]) -> Commit:
        """The commit with its author's name and email redacted (one copy per commit)."""
        shown = seen.get(id(commit))
        if shown is None:
            author, email = self.name(commit.author), self.name(commit.email)
            if (author, email) == (commit.author, commit.email):
                shown = commit
            else:
                shown = commit._replace(author=author, email=email)
            seen[id(commit)] = shown
        return shown
