"""`nexpay-scan history`: git history, each secret once where it came in; the history
scan that `ci`, `baseline` and `org` share."""

from __future__ import annotations

from nexpay_scan.commands.options import HistoryRequest
from nexpay_scan.commands.pipeline import (
    check_report_name,
    progress_for,
    run_scan,
    suppression_files,
)
from nexpay_scan.errors import FatalError
from nexpay_scan.sources.git import repo_root
from nexpay_scan.sources.history_source import HistorySource

TYPE_CHECKING = False  # typing is not imported on the hook's path (start-up time)
if TYPE_CHECKING:
    from pathlib import Path

    from nexpay_scan.commands.options import ScanOptions
    from nexpay_scan.trust import TrustedSide


def history(options: ScanOptions, wanted: HistoryRequest) -> int:
    """`nexpay-scan history [REV...]`: each secret once, where it came in."""
    from nexpay_scan.trust import range_base

    root = repo_root(options.repo)
    check_report_name(options)
    _check_dates(root, wanted.since, wanted.until)
    trusted = range_base(root, list(wanted.revisions))
    return scan_history(options, root, wanted, trusted)


def scan_history(
    options: ScanOptions, root: Path, wanted: HistoryRequest, trusted: TrustedSide | None
) -> int:
    """The history `wanted` names, through the whole pipeline: findings linked to their
    hosting, the suppression files a range edits, then `run_scan` (for `history`, `ci`)."""
    watched = suppression_files(options, root, trusted) if trusted is not None else []
    source = HistorySource(
        root,
        wanted,
        trusted=trusted,
        watched=watched,
        linked=True,
        progress=progress_for(options),
    )
    return run_scan(source, options)


def _words(text: str) -> list[str]:
    return text.split()


_DATE_WORDS = frozenset(
    _words(
        "now today yesterday noon midnight tea am pm ago last never at and of the a an "
        "second seconds minute minutes hour hours day days week weeks fortnight fortnights "
        "month months year years zero one two three four five six seven eight nine ten "
        "utc gmt ut z t cet cest est edt cst cdt mst mdt pst pdt bst ist jst"
    )
)


_DATE_NAMES = _words(
    "january february march april may june july august september october november december "
    "sunday monday tuesday wednesday thursday friday saturday"
)


def _check_dates(root: Path, *dates: str | None) -> None:
    """`--since`/`--until` that git would read as "now" (a word it does not know) is an
    error, not a scan of nothing that passes."""
    import re

    for value in dates:
        if value is None:
            continue
        words = [w.lower() for w in re.findall(r"[A-Za-z]+", value)]
        unknown = [w for w in words if w not in _DATE_WORDS and not _is_date_name(w)]
        if unknown or not value.strip() or not (words or re.search(r"\d", value)):
            raise FatalError(
                f"{value!r} is not a date git understands ({', '.join(unknown) or 'empty'}): "
                "use e.g. 2024-05-01, '2 weeks ago', yesterday"
            )
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value) and not _is_calendar_day(value):
            raise FatalError(
                f"{value!r} is no day of the calendar (git would read it as some other date): "
                "use YYYY-MM-DD, e.g. 2024-05-01"
            )


def _is_calendar_day(value: str) -> bool:
    """`YYYY-MM-DD` names a day that exists (2024-02-30 does not)."""
    import datetime

    try:
        datetime.date.fromisoformat(value)
    except ValueError:
        return False
    return True


def _is_date_name(word: str) -> bool:
    """A month or weekday, whole or cut to three letters or more (as git reads them)."""
    return len(word) >= 3 and any(name.startswith(word) for name in _DATE_NAMES)
