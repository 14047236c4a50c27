"""What to do about a leaked key, following Nexpay's own API keys guide."""

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
    if mode == "pre-push":
        return AT_PUSH
    return REMEDIATION


def bypass(mode: str, framework: bool) -> str | None:
    """The last line of a blocking run: how to go ahead anyway, knowingly; None when the
    stage has no bypass (CI, a server)."""
    if mode == "staged" and framework:
        return (
            "To commit anyway, knowingly: SKIP=nexpay-scan git commit "
            "(git commit --no-verify skips every hook)"
        )
    if mode == "staged":
        return "To commit anyway, knowingly: git commit --no-verify"
    if mode == "pre-push":
        return "To push anyway, knowingly: git push --no-verify"
    return None
