"""What to do about a leaked key, following Nexpay's own API keys guide: the advice every
format prints after its findings, and the audit report's steps for each key. All of the
remediation text is here."""

from __future__ import annotations

from nexpay_scan.findings import LIVE, REVOKED, SECRET, UNKNOWN

TYPE_CHECKING = False  # typing is not imported on the hook's path (start-up time)
if TYPE_CHECKING:
    from nexpay_scan.findings import Finding
    from nexpay_scan.reporters import Report
    from nexpay_scan.reporters.audit_model import Rich

REMEDIATION = """\
What to do now (Nexpay's API keys guide):
  1. Revoke the key now: Nexpay Dashboard > avatar > Settings > API Keys, hover over the
     key, click Revoke and confirm. Anyone with the key can move money as your account
     until it is revoked; a revoked key cannot be reactivated.
  2. Create a new key (Create API Key), copy its client ID and secret (shown only once)
     and update your integration to use it.
  3. Keep the new key out of version control: read it from an environment variable or a
     secrets manager (e.g. AWS Secrets Manager, Google Secret Manager), and never embed it
     in client-side code.
Deleting the line or rewriting git history does not un-leak a key: every clone, fork, CI
log and cache that saw it still has it. Revoke first, then clean up.
A value that is not a real key (a test fixture): end its line with `nexpay-scan: allow`.
"""

AT_COMMIT = """\
What to do now: the key has not left this machine yet (it is only staged).
  1. Remove it from the file: read it from an environment variable or a secrets manager.
  2. Re-stage the file (git add) and commit again.
  3. If the key was ever shared (pasted in a chat, another repository, a ticket), revoke it
     too: Nexpay Dashboard > avatar > Settings > API Keys > Revoke.
A value that is not a real key (a test fixture): end its line with `nexpay-scan: allow`,
or run `nexpay-scan ignore --last-found --reason TEXT`.
"""

AT_COMMIT_MESSAGE = """\
What to do now: the key has not left this machine yet (it is only in the commit message).
  1. Take it out of the message: git kept what you wrote in .git/COMMIT_EDITMSG, and
     `git commit -e -F .git/COMMIT_EDITMSG` opens it again to edit.
  2. If the key was ever shared (pasted in a chat, another repository, a ticket), revoke it
     too: Nexpay Dashboard > avatar > Settings > API Keys > Revoke.
A value that is not a real key (a test fixture): `nexpay-scan ignore --last-found --reason TEXT`.
"""

AT_PUSH = """\
What to do now: these commits have not been pushed yet, so the key has not left this
machine. Rewrite them before pushing:
  - the key is in the last commit: remove it, `git add` the file, `git commit --amend`;
  - in an earlier one: `git rebase -i @{upstream}`, mark that commit `edit`, remove the key,
    `git commit --amend`, `git rebase --continue`.
Then push again. If the key was ever shared elsewhere, revoke it too (Nexpay Dashboard >
avatar > Settings > API Keys > Revoke).
A value that is not a real key (a test fixture): `nexpay-scan ignore --last-found --reason TEXT`.
"""


def advice(mode: str) -> str:
    """What to do about the keys found, for the stage the scan ran at: at commit time the
    key is only staged, at push time only in local commits; anywhere else (CI, an audit, a
    server) it has left the machine and must be revoked now."""
    if mode == "staged":
        return AT_COMMIT
    if mode == "commit-msg":
        return AT_COMMIT_MESSAGE
    if mode == "pre-push":
        return AT_PUSH
    return REMEDIATION


def bypass(mode: str, framework: bool) -> str | None:
    """The last line of a blocking run: how to go ahead anyway, knowingly; None when the
    stage has no bypass (CI, a server)."""
    if mode in ("staged", "commit-msg") and framework:
        hook = "nexpay-scan" if mode == "staged" else "nexpay-scan-commit-msg"
        return (
            f"To commit anyway, knowingly: SKIP={hook} git commit "
            "(git commit --no-verify skips every hook)"
        )
    if mode in ("staged", "commit-msg"):
        return "To commit anyway, knowingly: git commit --no-verify"
    if mode == "pre-push":
        return "To push anyway, knowingly: git push --no-verify"
    return None


# -- the audit report's steps, per key (`audit_build` puts them in the model that
# audit_html and audit_markdown render). The model's records are imported when an audit is
# written: this module is on the hook's path, and they are not.

DASHBOARD = "Nexpay Dashboard (your avatar, top right > Settings > API Keys section)"
GC = "git reflog expire --expire-unreachable=now --all && git gc --prune=now"


def urgent(finding: Finding, account: str) -> str:
    """The audit's warning for a key that may still work; "" for one that does not."""
    owner = f"as {account}" if account else "as its owner"
    if finding.status == LIVE and finding.kind == SECRET:
        return f"Urgent: anyone with this key can call the Nexpay API {owner} until it is revoked."
    if finding.status == UNKNOWN and finding.kind == SECRET:
        return "Could not be checked: treat it as live until the Dashboard shows it revoked."
    return ""


def audit_actions(
    finding: Finding, report: Report, at_head: bool | None, files: list[str], pair: str
) -> tuple[Rich, ...]:
    """What to do about one key, step by step, as the audit report shows it (Nexpay's API
    keys guide): revoke and replace it, then clean up where it is still in the files."""
    from nexpay_scan.reporters.audit_model import TextRun

    if finding.kind != SECRET:
        steps = _client_id_actions(pair)
    elif finding.status == REVOKED:
        steps = _revoked_actions()
    else:
        steps = _revoke_actions(finding, report)
    if finding.unreachable:  # in no commit: nothing to remove from the files
        steps.append((TextRun("Once revoked, drop it from this clone: "), TextRun(GC, "code")))
    else:
        steps.append(_cleanup(at_head, files))
    return tuple(steps)


def _revoke_actions(finding: Finding, report: Report) -> list[Rich]:
    from nexpay_scan.reporters.audit_model import TextRun, plain

    which: Rich = (TextRun("over the key"),)
    if finding.verified_with is not None:
        shown = plain(report.shown(finding.verified_with.reveal()))
        which = (TextRun("over the key with client ID "), TextRun(shown, "code"))
    email = plain((finding.account or {}).get("email", ""))
    login = f" (signed in as {email})" if email else ""
    if finding.status == LIVE:
        first = (TextRun("Revoke it now", "strong"), TextRun(f" in the {DASHBOARD}{login}: hover "))
    else:
        first = (
            TextRun("Look for it", "strong"),
            TextRun(f" in the {DASHBOARD}{login}; if it is listed there, hover "),
        )
    return [
        (*first, *which, TextRun(", click Revoke and confirm in the dialog.")),
        (
            TextRun(
                "Create a new key (Settings > API Keys > Create API Key) and copy its client "
                "ID and secret at once: the secret is shown only once."
            ),
        ),
        (
            TextRun(
                "Update the integration to use the new key, read from an environment "
                "variable or a secrets manager (e.g. AWS Secrets Manager, Google Secret "
                "Manager); never commit it or embed it in client-side code."
            ),
        ),
    ]


def _revoked_actions() -> list[Rich]:
    from nexpay_scan.reporters.audit_model import TextRun

    return [
        (
            TextRun("Confirm it stays revoked", "strong"),
            TextRun(
                ": the Nexpay Dashboard (Settings) lists it in the Revoked Keys section; a "
                "revoked key cannot be reactivated."
            ),
        ),
        (
            TextRun(
                "Make sure whatever used it now reads a new key from an environment variable "
                "or a secrets manager, not from the code."
            ),
        ),
    ]


def _client_id_actions(pair: str) -> list[Rich]:
    from nexpay_scan.reporters.audit_model import TextRun

    if pair:
        first: Rich = (
            TextRun("Revoke the key it belongs to", "strong"),
            TextRun(": follow the steps of "),
            TextRun("its live secret", target=pair),
            TextRun("; revoking the key disables this client ID too."),
        )
    else:
        first = (
            TextRun("Find the key it belongs to", "strong"),
            TextRun(
                f" in the {DASHBOARD}; if its secret may have leaked too, hover over the "
                "key, click Revoke and confirm."
            ),
        )
    keep = TextRun(
        "Read the client ID from an environment variable or a secrets manager, "
        "together with its secret."
    )
    return [first, (keep,)]


def _cleanup(at_head: bool | None, files: list[str]) -> Rich:
    from nexpay_scan.reporters.audit_model import TextRun

    after = (
        " Deleting it or rewriting history does not un-leak it: every clone, fork and CI "
        "log that saw it keeps it. Revoke first, then clean up."
    )
    if at_head is False:
        return (TextRun("It is no longer in the files at HEAD; nothing more to remove." + after),)
    where = ": " + ", ".join(files) if files else ""
    state = "it is still at HEAD" if at_head else "check the files at HEAD"
    return (TextRun(f"Remove it from the code ({state}){where}.{after}"),)
