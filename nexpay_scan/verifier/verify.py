"""Verification of a run's findings: each distinct secret checked once, concurrently,
within an overall deadline; statuses written back onto the findings.

Two rounds. First every secret with client IDs that belong with it (pairing.py) is checked
with those; secrets alone in a file go first, so a crowd of keys in one file cannot hold
back a key elsewhere. Then, with the time left and a run-wide budget, secrets with no
client ID of their own are tried with guesses from elsewhere in the scan: only a live
answer counts, since a 401 for a guessed pair proves nothing."""

from __future__ import annotations

import queue
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from nexpay_scan.findings import CLIENT_ID, SECRET, Finding, Secret
from nexpay_scan.sources.tree_ids import TreeClientId
from nexpay_scan.verifier.check import (
    LIVE,
    REVOKED,
    UNKNOWN,
    UNVERIFIED,
    CheckPolicy,
    KeyCheck,
    Verdict,
    make_pool,
)
from nexpay_scan.verifier.endpoint import check_url
from nexpay_scan.verifier.pairing import (
    SOURCE_NAMES,
    Candidate,
    belonging_candidates,
    guessed_candidates,
    plan_guesses,
)

GUESS_BUDGET = 50  # guessed pairs per run (each asked at most 1 + retries times)
NO_OWN_CLIENT_ID = "no client ID from its file or commit"


@dataclass(frozen=True)
class VerifyOptions:
    """How verification runs; only the user's command line or environment sets these."""

    api_base: str
    concurrency: int = 8
    timeout: float = 5.0
    deadline: float = 60.0
    max_candidates: int = 3
    guess_budget: int = GUESS_BUDGET


@dataclass
class SecretResult:
    """The outcome for one distinct secret."""

    verdict: Verdict
    client_id: str | None = None


@dataclass
class Tried:
    """The pairs asked for one secret, in order; the last is live if any is."""

    answers: list[tuple[Candidate, Verdict]] = field(default_factory=list)

    @property
    def live(self) -> tuple[Candidate, Verdict] | None:
        return next(((c, v) for c, v in self.answers if v.status == LIVE), None)


def verify_findings(
    findings: Sequence[Finding],
    options: VerifyOptions,
    tree_client_ids: Sequence[TreeClientId] = (),
) -> int:
    """Sets `status` on every finding; returns how many requests were made.
    `tree_client_ids`: for a range scan, the client IDs in the tree at its head commit,
    which belong with the range's secrets as much as those found beside them."""
    url = check_url(options.api_base)  # refuses a forbidden base before anything is sent
    secrets: dict[str, list[Finding]] = defaultdict(list)
    for finding in findings:
        if finding.kind == SECRET:
            secrets[finding.secret.reveal()].append(finding)
    client_ids = [f for f in findings if f.kind == CLIENT_ID]
    limit = options.max_candidates
    belonging = {
        value: belonging_candidates(occurrences, client_ids, tree_client_ids)
        for value, occurrences in secrets.items()
    }
    own = {value: c[:limit] for value, c in belonging.items() if c}
    guessable = {
        value: guessed_candidates(client_ids, limit) for value in secrets if value not in own
    }
    guesses = plan_guesses(guessable, options.guess_budget)
    if not own and not guesses:
        for value in secrets:
            _apply(secrets[value], _unchecked(guessable[value], guesses_planned=False))
        return 0
    policy = CheckPolicy(timeout=options.timeout, deadline=time.monotonic() + options.deadline)
    check = KeyCheck(url, policy, make_pool(url, options.concurrency))
    first = _run_checks(check, _crowd_order(own, secrets), options.concurrency, policy.deadline)
    second = _run_checks(check, guesses, options.concurrency, policy.deadline)
    results = {}
    for value, occurrences in secrets.items():
        if value in own:
            untried = len(belonging[value]) - len(own[value])
            results[value] = _judge_own(first.get(value), untried)
        else:
            results[value] = _judge_guesses(guessable[value], value in guesses, second.get(value))
        _apply(occurrences, results[value])
    _apply_client_ids(client_ids, results)
    return check.requests


def _crowd_order(
    plans: dict[str, list[Candidate]], secrets: dict[str, list[Finding]]
) -> dict[str, list[Candidate]]:
    """The plans, secrets in the least crowded files first (stable within a crowd)."""
    crowd = Counter(f.file for occurrences in secrets.values() for f in occurrences)
    return dict(
        sorted(plans.items(), key=lambda item: min(crowd[f.file] for f in secrets[item[0]]))
    )


def _run_checks(
    check: KeyCheck, plans: dict[str, list[Candidate]], concurrency: int, deadline: float
) -> dict[str, Tried]:
    """Checks secrets on daemon threads, in the plans' order; what is not done by the
    deadline is left out."""
    if not plans or time.monotonic() >= deadline:
        return {}
    work: queue.Queue[tuple[str, list[Candidate]]] = queue.Queue()
    for item in plans.items():
        work.put(item)
    results: dict[str, Tried] = {}
    done = threading.Condition()

    def worker() -> None:
        while True:
            try:
                value, candidates = work.get_nowait()
            except queue.Empty:
                return
            tried = _check_secret(check, value, candidates)
            with done:
                results[value] = tried
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


def _check_secret(check: KeyCheck, secret: str, candidates: list[Candidate]) -> Tried:
    """Asks with each client ID in order until one answers live."""
    tried = Tried()
    for candidate in candidates:
        verdict = check.verdict(candidate.client_id, secret)
        tried.answers.append((candidate, verdict))
        if verdict.status == LIVE:
            break
    return tried


def _judge_own(tried: Tried | None, untried: int) -> SecretResult:
    """Live if any pair is; revoked when every client ID of its own that was asked said 401,
    and either none was left untried or one of them sat beside the secret."""
    if tried is None:
        return SecretResult(Verdict(UNKNOWN, "verification deadline reached"))
    live = tried.live
    if live is not None:
        return SecretResult(live[1], live[0].client_id)
    verdicts = [v for _, v in tried.answers]
    if all(v.status == REVOKED for v in verdicts):
        if untried and not any(c.beside for c, _ in tried.answers):
            reason = f"{_asked(tried)} answered 401, {untried} more of its own not tried"
            return SecretResult(Verdict(UNVERIFIED, reason))
        return SecretResult(Verdict(REVOKED, _revoked_reason(tried)))
    reasons = "; ".join(dict.fromkeys(v.reason for v in verdicts if v.status == UNKNOWN))
    return SecretResult(Verdict(UNKNOWN, reasons))


def _revoked_reason(tried: Tried) -> str:
    if len(tried.answers) == 1:
        source = SOURCE_NAMES[tried.answers[0][0].source]
        return f"401 Unauthorized with the client ID from {source}: revoked or never valid"
    return f"all {_asked(tried)} answered 401: revoked or never valid"


def _asked(tried: Tried) -> str:
    """How many client IDs were asked and from where: "3 client IDs from its commit"."""
    sources = " and ".join(dict.fromkeys(SOURCE_NAMES[c.source] for c, _ in tried.answers))
    count = len(tried.answers)
    return f"{count} client ID{'s' * (count != 1)} from {sources}"


def _judge_guesses(available: list[Candidate], planned: bool, tried: Tried | None) -> SecretResult:
    """Live if a guessed pair is; anything else leaves the secret unverified, with why."""
    if tried is None:
        return _unchecked(available, planned)
    live = tried.live
    if live is not None:
        candidate, verdict = live
        reason = f"{verdict.reason} (with a client ID from {SOURCE_NAMES[candidate.source]})"
        return SecretResult(Verdict(LIVE, reason, verdict.account), candidate.client_id)
    rejected = sum(v.status == REVOKED for _, v in tried.answers)
    parts = [f"{NO_OWN_CLIENT_ID}; {rejected} from elsewhere answered 401"]
    unanswered = [v.reason for _, v in tried.answers if v.status != REVOKED]
    if unanswered:
        parts.append(f"{len(unanswered)} gave no answer ({'; '.join(dict.fromkeys(unanswered))})")
    return SecretResult(Verdict(UNVERIFIED, ", ".join(parts)))


def _unchecked(available: list[Candidate], guesses_planned: bool) -> SecretResult:
    """Why a secret with no client ID of its own was not checked at all."""
    if not available:
        reason = "no client ID found to pair with, so it cannot be checked"
    elif guesses_planned:
        reason = f"{NO_OWN_CLIENT_ID}; guesses from elsewhere not done by the deadline"
    else:
        reason = f"{NO_OWN_CLIENT_ID}; the run's guesses from elsewhere went to other secrets"
    return SecretResult(Verdict(UNVERIFIED, reason))


def _apply(occurrences: list[Finding], result: SecretResult) -> None:
    for finding in occurrences:
        finding.status = result.verdict.status
        finding.status_reason = result.verdict.reason
        finding.account = result.verdict.account
        if result.client_id:
            finding.verified_with = Secret(result.client_id)


def _apply_client_ids(client_ids: list[Finding], results: dict[str, SecretResult]) -> None:
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
