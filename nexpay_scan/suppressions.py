"""Findings a team has already dealt with: a baseline file and the `.nexpayscanignore` list.

Both hold fingerprints only (sha256 of file and credential), never a credential.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from nexpay_scan import __version__
from nexpay_scan.errors import FatalError
from nexpay_scan.findings import Finding

TYPE_CHECKING = False  # typing is not imported on the hook's path (start-up time)
if TYPE_CHECKING:
    from nexpay_scan.paths import StrPath

IGNORE_NAME = ".nexpayscanignore"
BASELINE_FORMAT = "nexpay-scan-baseline/1"


def read_ignore_file(root: StrPath | None) -> set[str]:
    """Fingerprints listed in `.nexpayscanignore` at `root`, one a line, `#` comments."""
    if root is None:
        return set()
    path = os.path.join(root, IGNORE_NAME)
    try:
        with open(path, encoding="utf-8") as stream:
            text = stream.read()
    except FileNotFoundError:
        return set()
    except (OSError, UnicodeDecodeError) as error:
        raise FatalError(f"{path}: cannot read ({error})") from None
    return {ln.split("#", 1)[0].strip() for ln in text.splitlines()} - {""}


def read_baseline(path: StrPath) -> set[str]:
    """The fingerprints of a baseline written by `nexpay-scan baseline create`."""
    import json

    try:
        with open(path, encoding="utf-8") as stream:
            document = json.load(stream)
    except FileNotFoundError:
        raise FatalError(
            f"{path}: baseline not found (create one: nexpay-scan baseline create)"
        ) from None
    except (OSError, ValueError) as error:
        raise FatalError(f"{path}: not a nexpay-scan baseline ({error})") from None
    if not isinstance(document, dict) or document.get("format") != BASELINE_FORMAT:
        raise FatalError(f"{path}: not a nexpay-scan baseline (format {BASELINE_FORMAT} expected)")
    entries = document.get("findings", [])
    return {e["fingerprint"] for e in entries if isinstance(e, dict) and "fingerprint" in e}


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


def without_known(findings: list[Finding], known: set[str]) -> tuple[list[Finding], int]:
    """The findings whose fingerprint is not in `known`, and how many were dropped."""
    kept = [f for f in findings if f.fingerprint not in known]
    return kept, len(findings) - len(kept)
