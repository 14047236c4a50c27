"""The typed options of a command, built once by `cli` from the command line: what to
scan with, how to report, whether to verify, and what part of the history to read."""

from __future__ import annotations

from nexpay_scan.records import Record


class VerifyRequest(Record):
    """`--verify` and its limits: found keys are checked with the API (opt-in)."""

    api_base: str | None = None  # None: $NEXPAY_API_BASE or the public API
    concurrency: int = 8
    timeout: float = 5.0
    deadline: float = 60.0


class ScanOptions(Record):
    """What every scanning command shares: the repository and config, the output and the
    audit report, suppressions (`--baseline`), `--fail-on`, and verification."""

    repo: str = "."
    config: str | None = None
    no_redact: bool = False
    quiet: bool = False
    baseline: str | None = None
    fail_on: frozenset[str] = frozenset({"any"})
    format: str = "text"
    output: str | None = None
    report: str | None = None  # the audit report for people (history, ci, org)
    jobs: int = 1
    verify: VerifyRequest | None = None  # None: not verifying
    # in a GitHub Actions job, annotations and the job summary too (`ci` asks for them)
    ci_annotations: bool = False
    # a blocked run's fingerprints kept for `ignore --last-found` (not on a server, where
    # nobody runs it: `pre-receive`)
    remember_found: bool = True


class HistoryRequest(Record):
    """What part of the history to scan, and how: `history`, `ci` and `baseline create`
    each say it explicitly."""

    revisions: tuple[str, ...] = ()
    engine: str = "auto"
    branches: tuple[str, ...] = ()
    since: str | None = None
    until: str | None = None
    jobs: int = 1
    all_occurrences: bool = False
    track_places: bool = False  # for the audit report: where each key is, and at HEAD


class CiRequest(Record):
    """`nexpay-scan ci`'s own flags."""

    deepen: bool = False
    base: str | None = None
    all_occurrences: bool = False


class OrgRequest(Record):
    """`nexpay-scan org`'s own flags: which repositories, where to keep mirrors, where to run."""

    repos: str | None = None
    github: str | None = None
    gitlab: str | None = None
    github_api: str | None = None
    gitlab_url: str | None = None
    include_archived: bool = False
    include_forks: bool = False
    cache: str | None = None
    workers: int = 1
    scheduler: str | None = None
