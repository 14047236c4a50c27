"""The pipeline's middle: bytes with provenance in, filtered findings out."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Container

from nexpay_scan.config import Settings
from nexpay_scan.detector import Detector
from nexpay_scan.filters import drop_reason, locate, path_allowed
from nexpay_scan.findings import Commit, Finding, Secret
from nexpay_scan.progress import Progress

BINARY_SNIFF = 8000  # as git does: a NUL byte in the first 8000 bytes means binary


def looks_binary(data: bytes) -> bool:
    """True for content git would call binary."""
    return b"\0" in data[:BINARY_SNIFF]


class Summary:
    """Counts for the report: what was scanned, what was skipped and why."""

    def __init__(self, mode: str = "") -> None:
        self.mode = mode
        self.files_scanned = 0
        self.commits_scanned = 0
        self.bytes_scanned = 0
        self.skipped: Counter[str] = Counter()
        self.suppressed = 0
        self.rule_timeouts: Counter[str] = Counter()
        self.started = time.monotonic()

    def skip(self, reason: str) -> None:
        """Counts one file passed over deliberately, by reason."""
        self.skipped[reason] += 1

    @property
    def duration(self) -> float:
        return time.monotonic() - self.started


class Scanner:
    """Turns one piece of content and its provenance into findings."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.detector = Detector(settings.rules)
        self.summary = Summary()
        self.progress = Progress("commits", enabled=False)
        self.summary.rule_timeouts = self.detector.timeouts

    def scan(
        self,
        data: bytes,
        path: str,
        *,
        lines: Container[int] | None = None,
        commit: Commit | None = None,
    ) -> list[Finding]:
        """Findings in `data` (the content of `path`); with `lines`, only on those lines."""
        self.summary.bytes_scanned += len(data)
        if self.settings.path_allowed(path):
            return []
        found: list[Finding] = []
        for candidate in self.detector.candidates(data, binary=looks_binary(data)):
            place = locate(data, candidate.start)
            if lines is not None and place.line not in lines:
                continue
            if path_allowed(candidate, path) or drop_reason(candidate, place):
                continue
            rule = candidate.rule
            found.append(
                Finding(
                    rule_id=rule.id,
                    description=rule.description,
                    kind=rule.kind,
                    severity=rule.severity,
                    file=path,
                    line=place.line,
                    column=place.column,
                    secret=Secret(candidate.value),
                    commit=commit,
                    pair=Secret(candidate.pair) if candidate.pair else None,
                )
            )
        return found

    def too_big(self, size: int) -> bool:
        """True (and counted) when content is over the size limit and is skipped."""
        if size > self.settings.max_file_size:
            self.summary.skip(f"larger than {self.settings.max_file_size} bytes")
            return True
        return False
