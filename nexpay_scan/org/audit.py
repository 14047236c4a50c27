"""`nexpay-scan org`: list the repositories, scan each (resuming from the journal), merge,
verify each distinct secret once, report, and choose the exit code."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from typing import Any

from nexpay_scan.commands.options import OrgRequest, ScanOptions, VerifyRequest
from nexpay_scan.errors import FatalError
from nexpay_scan.org.inventory import RepoSpec
from nexpay_scan.org.journal import Journal, settings_digest
from nexpay_scan.org.merge import OrgAudit

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2
GITHUB_API = "https://api.github.com"
GITLAB_URL = "https://gitlab.com"


def run_org(options: ScanOptions, request: OrgRequest) -> int:
    """The whole organization audit; returns the exit code."""
    from nexpay_scan.commands.pipeline import check_destinations

    _check_report_name(options.report)
    check_destinations(options.output, options.report)
    config = os.path.abspath(options.config) if options.config else None
    if config is not None and not os.path.isfile(config):
        raise FatalError(f"{options.config}: config file not found")
    specs, token, user = _inventory(request)
    if not specs:
        raise FatalError("no repositories to audit (the list is empty)")
    cache = os.path.abspath(request.cache or _default_cache())
    journal = Journal(cache, settings_digest(config))
    carry = bool(options.verify is not None or options.no_redact)
    audit = OrgAudit()
    stored: dict[str, dict[str, Any]] = {}
    secrets: dict[str, str] = {}  # sha256 -> full value, in memory only (--verify, --no-redact)

    def tasks() -> Iterator[dict[str, Any]]:
        for spec in specs:
            known = journal.load(spec.url)
            # a stored result has no secrets: with --verify or --no-redact a repository
            # with findings is scanned again to have them, in memory
            if known is not None and not (carry and known.get("findings")):
                stored[spec.url] = known
            yield {
                "url": spec.url,
                "cache": cache,
                "config": config,
                "known_refs": stored[spec.url].get("refs") if spec.url in stored else None,
                "token": token if spec.token_host else None,
                "token_user": user,
                "carry_secrets": carry,
            }

    from nexpay_scan.org.runner import run_tasks

    progress = _Progress(len(specs), sys.stderr.isatty() and not options.quiet)
    try:
        for result in run_tasks(tasks(), request.workers, request.scheduler):
            url = result["url"]
            if result.get("unchanged") and url in stored:
                audit.add(stored[url], "reused")
            else:
                if not result.get("error"):
                    journal.store(url, result)
                secrets.update(result.pop("secrets", None) or {})
                audit.add(result, "scanned")
            progress.update(audit)
    except KeyboardInterrupt:
        progress.finish()
        print(
            f"nexpay-scan: {len(audit.rows)} of {len(specs)} repositories done and journaled "
            f"in {cache}; run the same command again to resume",
            file=sys.stderr,
        )
        raise
    progress.finish()
    if options.verify is not None:
        _verify(options.verify, audit, secrets, config, no_redact=options.no_redact)
    if options.no_redact:
        _unredact(audit, secrets)
    audit.finish()
    _write(options, audit)
    return _exit_code(options, audit)


def _check_report_name(name: str | None) -> None:
    suffix = os.path.splitext(name)[1].lower() if name else ""
    if name and suffix not in (".html", ".htm", ".md", ".markdown"):
        raise FatalError(f"--report {name}: unknown report type {suffix!r} (use .html or .md)")


def _default_cache() -> str:
    root = os.environ.get("NEXPAY_SCAN_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "nexpay-scan"
    )
    return os.path.join(root, "org")


def _inventory(request: OrgRequest) -> tuple[list[RepoSpec], str | None, str]:
    """The repositories, the token their clones may carry, and the user name git sends it as."""
    from nexpay_scan.org import inventory

    chosen = [n for n in ("repos", "github", "gitlab") if getattr(request, n)]
    if len(chosen) != 1:
        raise FatalError(
            "say which repositories: one of --repos FILE, --github ORG, --gitlab GROUP"
        )
    if request.repos:
        return inventory.read_repos_file(request.repos), None, ""
    flags = {"include_archived": request.include_archived, "include_forks": request.include_forks}
    if request.github:
        api = request.github_api or GITHUB_API
        specs = inventory.github_repos(request.github, api, os.environ, **flags)
        return _token_hosts(specs, api), os.environ.get("GITHUB_TOKEN") or None, "x-access-token"
    api = request.gitlab_url or GITLAB_URL
    specs = inventory.gitlab_repos(request.gitlab or "", api, os.environ, **flags)
    return _token_hosts(specs, api), os.environ.get("GITLAB_TOKEN") or None, "oauth2"


def _token_hosts(specs: list[RepoSpec], api: str) -> list[RepoSpec]:
    """The token goes with a clone only to the API's own host (github.com for
    api.github.com), over HTTPS or to loopback: never to a host the listing merely names."""
    from urllib.parse import urlsplit

    from nexpay_scan.verifier.endpoint import is_loopback

    api_host = urlsplit(api).hostname or ""
    allowed = {api_host, api_host.removeprefix("api.")}
    kept = []
    for spec in specs:
        parts = urlsplit(spec.url)
        host = parts.hostname or ""
        safe = parts.scheme == "https" or (parts.scheme == "http" and is_loopback(host))
        ok = spec.token_host is not None and host in allowed and safe
        kept.append(RepoSpec(spec.url, host if ok else None))
    return kept


class _Progress:
    """Repositories done/total, keys so far and time left, on one stderr line."""

    def __init__(self, total: int, enabled: bool) -> None:
        self.total, self.enabled = total, enabled
        self.started = time.monotonic()
        self.drawn = False

    def update(self, audit: OrgAudit) -> None:
        if not self.enabled:
            return
        done = len(audit.rows)
        elapsed = time.monotonic() - self.started
        left = elapsed / done * (self.total - done) if done else 0.0
        keys = len({f["secret_sha256"] for f in audit.findings})
        failed = f", {len(audit.failed)} failed" if audit.failed else ""
        sys.stderr.write(
            f"\rnexpay-scan: {done}/{self.total} repositories, {keys} keys{failed}, "
            f"{left:.0f}s left\033[K"
        )
        sys.stderr.flush()
        self.drawn = True

    def finish(self) -> None:
        if self.drawn:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()


def _verify(
    wanted: VerifyRequest,
    audit: OrgAudit,
    secrets: dict[str, str],
    config: str | None,
    *,
    no_redact: bool,
) -> None:
    """Each distinct secret of the organization checked once; statuses written back."""
    from nexpay_scan.findings import Commit, Finding, Secret
    from nexpay_scan.verifier.endpoint import DEFAULT_API_BASE
    from nexpay_scan.verifier.verify import VerifyOptions, verify_findings

    options = VerifyOptions(
        api_base=wanted.api_base or os.environ.get("NEXPAY_API_BASE") or DEFAULT_API_BASE,
        concurrency=wanted.concurrency,
        timeout=wanted.timeout,
        deadline=wanted.deadline,
    )
    pairs = []
    for item in audit.findings:
        value = secrets.get(item["secret_sha256"])
        if value is None:
            continue
        commit = (
            Commit(item["commit"], item["author"], item["email"], item["date"])
            if item.get("commit")
            else None
        )
        # a file is named with its repository: pairing looks in the same file and commit
        finding = Finding(
            item["rule"],
            item["description"],
            item["kind"],
            item["severity"],
            f"{item['repository']}//{item['file']}",
            item["line"],
            item["column"],
            Secret(value),
            commit,
        )
        pairs.append((item, finding))
    verify_findings([f for _, f in pairs], options)
    from nexpay_scan.config import load_settings
    from nexpay_scan.findings import redact
    from nexpay_scan.rules import rule_prefixes

    prefixes = rule_prefixes(load_settings(None, config).rules)  # as the workers redact
    for item, finding in pairs:
        item["status"] = finding.status
        item.pop("status_reason", None)
        if finding.status_reason:
            item["status_reason"] = finding.status_reason.replace(f"{item['repository']}//", "")
        if finding.account:
            item["account"] = finding.account
        if finding.verified_with is not None:
            shown = finding.verified_with.reveal()
            item["verified_with"] = shown if no_redact else redact(shown, prefixes)


def _unredact(audit: OrgAudit, secrets: dict[str, str]) -> None:
    for item in audit.findings:
        value = secrets.get(item["secret_sha256"])
        if value is not None:
            item["match"] = value


def _write(options: ScanOptions, audit: OrgAudit) -> None:
    from nexpay_scan.commands.pipeline import write_atomically
    from nexpay_scan.org import report

    writers = {"json": report.render_json, "sarif": report.render_sarif}
    text = writers.get(options.format, report.render_text)(audit)
    if options.output:
        write_atomically(options.output, text)
        if options.format != "text" and not options.quiet:
            sys.stderr.write(report.render_text(audit))
    else:
        sys.stdout.write(text)
        sys.stdout.flush()
    if options.report:
        suffix = os.path.splitext(options.report)[1].lower()
        page = (
            report.render_html(audit)
            if suffix in (".html", ".htm")
            else report.render_markdown(audit)
        )
        write_atomically(options.report, page)


def _exit_code(options: ScanOptions, audit: OrgAudit) -> int:
    failed = len(audit.failed)
    if failed:
        print(
            f"nexpay-scan: {failed} of {len(audit.rows)} repositories could not be scanned "
            "(listed in the report)",
            file=sys.stderr,
        )
    if failed == len(audit.rows):
        return EXIT_ERROR
    from nexpay_scan.commands.pipeline import fails

    statuses = {str(f.get("status")) for f in audit.findings}
    gaps = any(r.gaps for r in audit.rows)
    if fails(options.fail_on, bool(audit.findings), statuses, gaps):  # as one repository's
        return EXIT_FINDINGS
    return EXIT_ERROR if failed else EXIT_CLEAN
