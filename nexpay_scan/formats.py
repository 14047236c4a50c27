"""Every output nexpay-scan writes, by name: the `--format` choices and the `--report`
suffixes, each the module and function that renders it. The CLI takes its choices from
here; a renderer is imported only when it is used (the hook imports one, `text`).

A new output format is a module under `reporters/` with a `render(report) -> str`, and a
line in `FORMATS`. A format whose reports can be long names a renderer that gives the text
in pieces instead (`render_pieces`): it is written as it is made.
"""

from __future__ import annotations

from nexpay_scan.errors import FatalError

TYPE_CHECKING = False  # typing is not imported on the hook's path (start-up time)
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

    from nexpay_scan.reporters import Report

    Writer = Callable[[Report], str | Iterator[str]]
    AuditWriter = Callable[[Report, Path | None], str]

# --format NAME: (module, function taking a Report and returning the output, whole or in
# pieces)
FORMATS: dict[str, tuple[str, str]] = {
    "text": ("nexpay_scan.reporters.text", "render"),
    "json": ("nexpay_scan.reporters.json_report", "render_pieces"),
    "sarif": ("nexpay_scan.reporters.sarif", "render_pieces"),
    "gitlab": ("nexpay_scan.reporters.gitlab", "render_pieces"),
    "junit": ("nexpay_scan.reporters.junit", "render"),
}
# --report FILE, by FILE's suffix: (module, function taking a Report and the repository's
# folder); the first suffix of each is the one the help and errors name
AUDIT_REPORTS: dict[str, tuple[str, str]] = {
    ".html": ("nexpay_scan.reporters.audit_html", "render_html"),
    ".htm": ("nexpay_scan.reporters.audit_html", "render_html"),
    ".md": ("nexpay_scan.reporters.audit_markdown", "render_markdown"),
    ".markdown": ("nexpay_scan.reporters.audit_markdown", "render_markdown"),
}


def writer(name: str) -> Writer:
    """The renderer of output format `name` (one of FORMATS), imported now."""
    render: Writer = _loaded(FORMATS[name])
    return render


def audit_writer(suffix: str, name: str = "") -> AuditWriter:
    """The audit report renderer for a `--report` file ending in `suffix` (any case); a
    one-line error naming the file for a suffix no renderer takes."""
    entry = AUDIT_REPORTS.get(suffix.lower())
    if entry is None:
        raise FatalError(unknown_report(suffix, name))
    render: AuditWriter = _loaded(entry)
    return render


def check_report_suffix(suffix: str, name: str = "") -> None:
    """Raises the error `audit_writer` would, without importing the renderer."""
    if suffix.lower() not in AUDIT_REPORTS:
        raise FatalError(unknown_report(suffix, name))


def unknown_report(suffix: str, name: str = "") -> str:
    """What `--report NAME` says when no renderer takes its suffix."""
    first: dict[str, str] = {}  # module -> the first suffix it is listed under
    for known, (module, _) in AUDIT_REPORTS.items():
        first.setdefault(module, known)
    option = f"--report {name}" if name else "--report"
    return f"{option}: unknown report type {suffix!r} (use {' or '.join(first.values())})"


def _loaded(entry: tuple[str, str]) -> Callable[..., str]:
    module, function = entry
    # __import__, not importlib: importlib is not loaded at start-up, and the hook pays for it
    found: Callable[..., str] = getattr(__import__(module, fromlist=[function]), function)
    return found
