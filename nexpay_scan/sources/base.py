"""What every source offers the pipeline (`commands.pipeline.run_scan`): a `Source` says
where it reads (`Target`: the repository whose config and suppressions apply), hands its
content to the scanner as `Fragment`s, and keeps its own counts in a `Stats`.

The hook imports this module: `typing` is not imported at run time, so the protocol
exists for the type checker only (a source need not name it: it is structural)."""

from __future__ import annotations

from nexpay_scan.records import Record

TYPE_CHECKING = False  # typing is not imported on the hook's path (start-up time)
if TYPE_CHECKING:
    from collections.abc import Container, Sequence
    from typing import Protocol

    from nexpay_scan.findings import Commit, Finding
    from nexpay_scan.paths import StrPath
    from nexpay_scan.scan import Scanner
    from nexpay_scan.stats import Stats
    from nexpay_scan.trust import TrustedSide

    class Source(Protocol):
        """A source of content with its provenance. `findings` reads it all, hands each
        piece to the scanner (`Scanner.scan_fragment`) and counts what it read and passed
        over in `stats`; `ranges` are the revisions it scanned, once `findings` ran (their
        heads' client IDs are what `--verify` pairs keys with; empty off git history)."""

        @property
        def mode(self) -> str:
            """What the report calls the run: "files", "staged", "history", "pre-push"..."""
            ...

        @property
        def stats(self) -> Stats:
            """Its counts: what it read and passed over, kept by the source itself."""
            ...

        @property
        def ranges(self) -> Sequence[Sequence[str]]:
            """The revisions it scanned (`git log` arguments, a list per range)."""
            ...

        def target(self) -> Target:
            """Where it reads; asked first (the settings in force depend on it)."""
            ...

        def findings(self, scanner: Scanner) -> list[Finding]:
            """Every finding in the source's content, through `scanner`."""
            ...


class Target(Record):
    """Where a source reads: the repository (its config, `.nexpayscanignore`, where a
    blocked run's fingerprints are kept), None off any repository; in a range scan, the
    trusted side whose config and suppressions apply (see `nexpay_scan.trust`); the
    repository's git dir, when the source already asked git for it (else it is asked
    when needed)."""

    root: StrPath | None
    trusted: TrustedSide | None = None
    git_dir: str | None = None


class Fragment(Record):
    """One piece of content as a source hands it to the scanner: its bytes, the path it
    is shown under, the lines to report on (as git numbers them; None: all), the commit
    it came in with, and where it comes from beyond its path (a repository), if known."""

    data: bytes
    path: str
    lines: Container[int] | None = None
    commit: Commit | None = None
    origin: str | None = None
