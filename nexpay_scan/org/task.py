"""One repository's scan, as a worker runs it (a local process or a Dask worker): mirror
it, then scan the mirror as `nexpay-scan history --repo MIRROR` does (all refs). The
result is plain data (the JSON contract's finding dicts, redacted), so it crosses process
and machine boundaries; full secrets ride along, in memory only, when the coordinator
needs them (`--verify`, `--no-redact`)."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from nexpay_scan.errors import FatalError


def scan_repository(task: dict[str, Any]) -> dict[str, Any]:
    """The result of one repository: its findings and counts, `unchanged` when its refs
    are those of its last completed scan (`known_refs`), or the `error` that stopped it.
    Never raises for a repository's own failure: the audit goes on without it."""
    url = task["url"]
    started = time.monotonic()
    try:
        from nexpay_scan.org.mirrors import refs_digest, token_environment, update_mirror

        env = token_environment(url, task.get("token"), task.get("token_user", ""))
        mirror = update_mirror(task["cache"], url, env)
        refs = refs_digest(mirror)
        if refs == task.get("known_refs"):
            return {"url": url, "unchanged": True, "refs": refs}
        result = _scan_mirror(Path(mirror), task)
    except FatalError as error:
        return {"url": url, "error": str(error)}
    except Exception as error:  # one broken repository must not stop the audit
        return {"url": url, "error": f"internal error ({type(error).__name__}) scanning {url}"}
    result.update(url=url, refs=refs, seconds=round(time.monotonic() - started, 3))
    return result


def _scan_mirror(mirror: Path, task: dict[str, Any]) -> dict[str, Any]:
    from nexpay_scan.commands.options import HistoryRequest
    from nexpay_scan.commands.pipeline import redact_names, summarize
    from nexpay_scan.config import load_settings
    from nexpay_scan.reporters import Report
    from nexpay_scan.reporters.json_report import finding_dict
    from nexpay_scan.scan import Scanner
    from nexpay_scan.sources.history_source import HistorySource

    config = task.get("config")
    if config is not None and not os.path.isfile(config):
        raise FatalError(f"{config}: config file not found on this worker")
    started = time.monotonic()
    scanner = Scanner(load_settings(None, config))
    # the same source as `nexpay-scan history --repo MIRROR`, the same summary of it
    source = HistorySource(mirror, HistoryRequest(jobs=1, track_places=True))
    findings = source.findings(scanner)
    summary = summarize(source, scanner, started)
    # the keys in names too: the journal and the reports hold no key (`--no-redact` shows
    # the keys found, carried apart; names stay as the journal has them)
    redact_names(findings, scanner.settings, summary)
    # redacted (each value keeps its rule's prefix): this is what the journal keeps
    report = Report(findings, summary, rules=scanner.settings.rules)
    items = []
    secrets: dict[str, str] = {}
    for finding in findings:
        item = finding_dict(finding, report)
        item["repository"] = task["url"]
        item["at_head"] = finding.at_head
        item["present_at"] = finding.present_at
        item["left_at"] = finding.left_at
        item["places"] = len(finding.places) or 1
        items.append(item)
        if task.get("carry_secrets"):
            secrets[item["secret_sha256"]] = finding.secret.reveal()
    return {
        "findings": items,
        "secrets": secrets,
        "commits_scanned": summary.commits_scanned,
        "bytes_scanned": summary.bytes_scanned,
        "skipped": sum(summary.skipped.values()),
        "gaps": [f"{item.shown} ({item.reason})" for item in summary.gaps],
    }
