"""The developer's loop after a blocked run: remember what it found (fingerprints only),
list it in `.nexpayscanignore` with a reason, keep a baseline up to date.

`last-found` lives in the repository's git dir (`.git/nexpay-scan/last-found`), never in
the work tree: one line per finding, its fingerprint (sha256-derived), rule, file and
the credential's sha256 (`secret_sha256`, as baselines hold it: `ignore` lists that, so
the entry follows the key through renames, amends and rebases). No credential is written.
"""

from __future__ import annotations

import os

from nexpay_scan.errors import FatalError
from nexpay_scan.findings import Finding
from nexpay_scan.sources.git import run_git

TYPE_CHECKING = False  # typing is not imported on the hook's path (start-up time)
if TYPE_CHECKING:
    from nexpay_scan.paths import StrPath

LAST_FOUND_HEADER = "# nexpay-scan last-found/1"
_ESCAPES = (("\\", "\\\\"), ("\t", "\\t"), ("\n", "\\n"), ("\r", "\\r"))


def last_found_path(root: StrPath, git_dir: str | None = None) -> str:
    """Where the last blocked run of this repository (or worktree) is remembered; git is
    asked for the git dir unless it is given."""
    if git_dir is None:
        git_dir = run_git(root, "rev-parse", "--absolute-git-dir").decode().strip()
    return os.path.join(git_dir, "nexpay-scan", "last-found")


def _escape(text: str) -> str:
    for raw, escaped in _ESCAPES:
        text = text.replace(raw, escaped)
    return text


def _unescape(text: str) -> str:
    out, chars = [], iter(text)
    table = {"\\": "\\", "t": "\t", "n": "\n", "r": "\r"}
    for char in chars:
        out.append(table.get(next(chars, ""), "") if char == "\\" else char)
    return "".join(out)


def remember(
    root: StrPath, findings: list[Finding], command: str, git_dir: str | None = None
) -> None:
    """Writes the fingerprints, rules and files of a run's findings (best effort: a run
    that cannot write it still reports as it would); `git_dir` if already known."""
    import time

    lines = [f"{LAST_FOUND_HEADER} {time.strftime('%Y-%m-%d')} {command}"]
    lines += [
        f"{f.fingerprint}\t{_escape(f.rule_id)}\t{_escape(f.file)}\t{f.secret.sha256()}"
        for f in findings
    ]
    try:
        path = last_found_path(root, git_dir)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        temp = f"{path}.{os.getpid()}"
        with open(temp, "w", encoding="utf-8", errors="surrogateescape") as stream:
            stream.write("\n".join(lines) + "\n")
        os.replace(temp, path)
    except (OSError, FatalError):
        pass


def read_last_found(root: StrPath) -> list[tuple[str, str, str]]:
    """(entry, rule, file) of the last run that found something, the entry being the
    credential's sha256 (the fingerprint in a file an older version wrote); an error if
    none."""
    path = last_found_path(root)
    try:
        with open(path, encoding="utf-8", errors="surrogateescape") as stream:
            text = stream.read()
    except FileNotFoundError:
        raise FatalError(
            "no blocked run to take findings from: run the scan that blocked you first "
            "(nexpay-scan staged, files or history)"
        ) from None
    except OSError as error:
        raise FatalError(f"{path}: cannot read ({error.strerror})") from None
    found = []
    for line in text.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        parts = line.split("\t")
        if len(parts) not in (3, 4):
            raise FatalError(f"{path}: damaged; run the scan again")
        entry = parts[3] if len(parts) == 4 else parts[0]
        found.append((entry, _unescape(parts[1]), _unescape(parts[2])))
    return found


def add_to_ignore(root: StrPath, entries: list[tuple[str, str, str]], reason: str) -> int:
    """Appends each entry (a secret_sha256 or a fingerprint) not yet listed to
    `.nexpayscanignore` with the reason, the date, the rule and the file; returns how many
    were added."""
    import time

    from nexpay_scan.suppressions import IGNORE_NAME, parse_ignore

    reason = " ".join(reason.split())
    if not reason:
        raise FatalError("--reason: say why these findings may stay (e.g. 'test fixture')")
    path = os.path.join(root, IGNORE_NAME)
    try:
        with open(path, "rb") as stream:
            raw = stream.read()
    except FileNotFoundError:
        raw = b""
    listed = set(parse_ignore(raw, IGNORE_NAME))
    today = time.strftime("%Y-%m-%d")
    new = []
    for fingerprint, rule, file in entries:
        if fingerprint in listed:
            continue
        listed.add(fingerprint)
        where = _escape(file).replace("#", "%23")
        new.append(f"{fingerprint}  # {reason} ({today}, {_escape(rule)}, {where})")
    if new:
        prefix = "" if not raw or raw.endswith(b"\n") else "\n"
        with open(path, "a", encoding="utf-8", errors="surrogateescape") as stream:
            stream.write(prefix + "\n".join(new) + "\n")
    return len(new)


def merged_baseline(
    raw: bytes, source: str, findings: list[Finding], *, prune: bool
) -> tuple[str, int, int]:
    """A baseline document: the old one's entries plus today's new findings (update), or
    only those still found (prune). Returns the text, how many added and how many dropped."""
    import json

    from nexpay_scan.suppressions import baseline_text, parse_baseline

    parse_baseline(raw, source)  # the same errors as --baseline gives
    document = json.loads(raw)
    old = [e for e in document.get("findings", []) if isinstance(e, dict)]
    current = json.loads(baseline_text(findings))
    found = {e["fingerprint"] for e in current["findings"]}
    known = {e.get("fingerprint") for e in old}
    if prune:
        kept = [e for e in old if e.get("fingerprint") in found]
        added, dropped = 0, len(old) - len(kept)
    else:
        fresh = [e for e in current["findings"] if e["fingerprint"] not in known]
        kept, added, dropped = old + fresh, len(fresh), 0
    current["findings"] = sorted(kept, key=lambda e: (str(e.get("file")), str(e["fingerprint"])))
    return json.dumps(current, indent=2) + "\n", added, dropped
