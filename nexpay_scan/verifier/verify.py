"""Verification of a run's findings: each distinct secret checked once, concurrently,
within an overall deadline; statuses written back onto the findings."""

from __future__ import annotations

import queue
import threading
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from nexpay_scan.findings import Finding, Secret
from nexpay_scan.verifier.check import (
    LIVE,
    REVOKED,
    UNKNOWN,
    CheckPolicy,
    KeyCheck,
    Verdict,
    make_pool,
)
from nexpay_scan.verifier.endpoint import check_url
from nexpay_scan.verifier.pairing import candidates_for


@dataclass(frozen=True)
class VerifyOptions:
    """How verification runs; only the user's command line or environment sets these."""

    api_base: str
    concurrency: int = 8
    timeout: float = 5.0
    deadline: float = 60.0
    max_candidates: int = 3


@dataclass
class SecretResult:
    """The outcome for one distinct secret."""

    verdict: Verdict
    client_id: str | None = None


def verify_findings(findings: Sequence[Finding], options: VerifyOptions) -> int:
    """Sets `status` on every finding; returns how many requests were made."""
    url = check_url(options.api_base)  # refuses a forbidden base before anything is sent
    secrets: dict[str, list[Finding]] = defaultdict(list)
    for finding in findings:
        if finding.kind == "secret":
            secrets[finding.secret.reveal()].append(finding)
    client_ids = [f for f in findings if f.kind == "client_id"]
    plans = {
        value: candidates_for(occurrences, client_ids, options.max_candidates)
        for value, occurrences in secrets.items()
    }
    for value, candidates in plans.items():
        if not candidates:
            _unpaired(secrets[value])
    to_check = {value: c for value, c in plans.items() if c}
    if not to_check:
        return 0
    policy = CheckPolicy(timeout=options.timeout, deadline=time.monotonic() + options.deadline)
    check = KeyCheck(url, policy, make_pool(url, options.concurrency))
    results = _run_checks(check, to_check, options.concurrency, policy.deadline)
    for value in to_check:
        _apply(secrets[value], results.get(value))
    _apply_client_ids(client_ids, secrets, results)
    return check.requests


def _run_checks(
    check: KeyCheck, plans: dict[str, list[str]], concurrency: int, deadline: float
) -> dict[str, SecretResult]:
    """Checks secrets on daemon threads; what is not done by the deadline is left out."""
    work: queue.Queue[tuple[str, list[str]]] = queue.Queue()
    for item in plans.items():
        work.put(item)
    results: dict[str, SecretResult] = {}
    done = threading.Condition()

    def worker() -> None:
        while True:
            try:
                value, candidates = work.get_nowait()
            except queue.Empty:
                return
            result = _check_secret(check, value, candidates)
            with done:
                results[value] = result
                done.notify_all()

    for _ in range(min(concurrency, len(plans))):
        threading.Thread(target=worker, daemon=True).start()
    with done:
        while len(results) < len(plans):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            done.wait(remaining)
        return dict(results)


def _check_secret(check: KeyCheck, secret: str, candidates: list[str]) -> SecretResult:
    """Tries each client ID in order; the first live answer wins, all 401 means revoked."""
    verdicts = []
    for client_id in candidates:
        verdict = check.verdict(client_id, secret)
        if verdict.status == LIVE:
            return SecretResult(verdict, client_id)
        verdicts.append(verdict)
    if all(v.status == REVOKED for v in verdicts):
        tried = f"all {len(verdicts)} client IDs tried" if len(verdicts) > 1 else verdicts[0].reason
        return SecretResult(Verdict(REVOKED, tried))
    reasons = "; ".join(dict.fromkeys(v.reason for v in verdicts if v.status == UNKNOWN))
    return SecretResult(Verdict(UNKNOWN, reasons))


def _unpaired(occurrences: list[Finding]) -> None:
    for finding in occurrences:
        finding.status_reason = "no client ID found to pair with, so it cannot be checked"


def _apply(occurrences: list[Finding], result: SecretResult | None) -> None:
    for finding in occurrences:
        if result is None:
            finding.status, finding.status_reason = UNKNOWN, "verification deadline reached"
            continue
        finding.status = result.verdict.status
        finding.status_reason = result.verdict.reason
        finding.account = result.verdict.account
        if result.client_id:
            finding.verified_with = Secret(result.client_id)


def _apply_client_ids(
    client_ids: list[Finding], secrets: dict[str, list[Finding]], results: dict[str, SecretResult]
) -> None:
    """A client ID takes the status of a live secret it pairs with."""
    live = {r.client_id: r for r in results.values() if r.client_id}
    for finding in client_ids:
        result = live.get(finding.secret.reveal())
        if result is not None:
            finding.status = LIVE
            finding.status_reason = "pairs with a live secret found in this scan"
            finding.account = result.verdict.account
        else:
            finding.status_reason = "a client ID is checked only together with a secret"
