"""Findings a team has already dealt with: a baseline file and the `.nexpayscanignore` list.

Both hold sha256 digests only, never a credential: a finding's fingerprint (credential and
file), or a credential's own digest (`secret_sha256`), which matches the key wherever it
shows up again (an amended or rebased commit, a renamed file, an unreachable copy).
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from nexpay_scan import __version__
from nexpay_scan.errors import FatalError
from nexpay_scan.findings import SUPPRESSION, Finding, Suppression

TYPE_CHECKING = False  # typing is not imported on the hook's path (start-up time)
if TYPE_CHECKING:
    from nexpay_scan.paths import StrPath

IGNORE_NAME = ".nexpayscanignore"
BASELINE_FORMAT = "nexpay-scan-baseline/1"
FINGERPRINT_LENGTH = 32
SECRET_DIGEST_LENGTH = 64  # a finding's `secret_sha256`
_HEX = "0123456789abcdefABCDEF"


def read_ignore_file(root: StrPath | None) -> dict[str, Suppression]:
    """Fingerprints listed in `.nexpayscanignore` at `root`, one a line, `#` comments."""
    if root is None:
        return {}
    path = os.path.join(root, IGNORE_NAME)
    try:
        with open(path, "rb") as stream:
            raw = stream.read()
    except FileNotFoundError:
        return {}
    except OSError as error:
        raise FatalError(f"{path}: cannot read ({error.strerror})") from None
    return parse_ignore(raw, IGNORE_NAME)


def parse_ignore(raw: bytes, source: str) -> dict[str, Suppression]:
    """The entries of an ignore file's text: a fingerprint or a `secret_sha256` a line,
    then an optional `# reason`; a line that is not one is an error naming the line."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise FatalError(f"{source}: cannot read (not UTF-8 text)") from None
    known: dict[str, Suppression] = {}
    for number, line in enumerate(text.splitlines(), 1):
        entry, _, reason = line.partition("#")
        entry = entry.strip()
        if not entry:
            continue
        if len(entry) not in (FINGERPRINT_LENGTH, SECRET_DIGEST_LENGTH) or entry.strip(_HEX):
            raise FatalError(
                f"{source}: line {number} is not a finding's fingerprint "
                f"({FINGERPRINT_LENGTH} hex characters) or secret_sha256 "
                f"({SECRET_DIGEST_LENGTH}), then an optional # reason"
            )
        why = f": {reason.strip()}" if reason.strip() else ""
        known[entry.lower()] = Suppression("external", f"listed in {source}{why}")
    return known


def read_baseline(path: StrPath) -> dict[str, Suppression]:
    """The fingerprints of a baseline written by `nexpay-scan baseline create`."""
    return parse_baseline(baseline_bytes(path), os.fspath(path))


def baseline_bytes(path: StrPath) -> bytes:
    """A baseline file's bytes; a missing or unreadable one is a one-line error."""
    try:
        with open(path, "rb") as stream:
            return stream.read()
    except FileNotFoundError:
        raise FatalError(
            f"{path}: baseline not found (create one: nexpay-scan baseline create)"
        ) from None
    except OSError as error:
        raise FatalError(f"{path}: not a nexpay-scan baseline ({error.strerror})") from None


def parse_baseline(raw: bytes, source: str) -> dict[str, Suppression]:
    """The fingerprints and secret digests of a baseline document's text."""
    import json

    try:
        document = json.loads(raw)
    except ValueError as error:
        raise FatalError(f"{source}: not a nexpay-scan baseline ({error})") from None
    if not isinstance(document, dict) or document.get("format") != BASELINE_FORMAT:
        raise FatalError(
            f"{source}: not a nexpay-scan baseline (format {BASELINE_FORMAT} expected)"
        )
    entries = document.get("findings", [])
    if not isinstance(entries, list):
        raise FatalError(f"{source}: not a nexpay-scan baseline ('findings' is not a list)")
    why = Suppression("external", f"known in baseline {source}")
    known: dict[str, Suppression] = {}
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        for field in ("fingerprint", "secret_sha256"):
            if isinstance(entry.get(field), str):
                known[entry[field].lower()] = why
    return known


def baseline_text(findings: Iterable[Finding]) -> str:
    """A baseline document for `findings`: fingerprints, digests and places, no secrets."""
    import json
    from datetime import datetime, timezone

    entries = sorted(
        (
            {
                "fingerprint": f.fingerprint,
                "secret_sha256": f.secret.sha256(),
                "rule": f.rule_id,
                "kind": f.kind,
                "file": f.file,
                **({"commit": f.commit.sha} if f.commit else {}),
            }
            for f in findings
        ),
        key=lambda e: (e["file"], e["fingerprint"]),
    )
    document = {
        "format": BASELINE_FORMAT,
        "tool": {"name": "nexpay-scan", "version": __version__},
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "findings": entries,
    }
    return json.dumps(document, indent=2) + "\n"


def mark_known(findings: list[Finding], known: dict[str, Suppression]) -> None:
    """Marks each finding whose fingerprint, or whose credential's digest, is in `known`
    as suppressed, saying by what (a finding already suppressed keeps its first reason).
    The digest follows the key wherever it goes: a rename, an amend, a rebase."""
    for finding in findings:
        if finding.suppression is None and finding.kind != SUPPRESSION:
            finding.suppression = known.get(finding.fingerprint) or known.get(
                finding.secret.sha256()
            )
