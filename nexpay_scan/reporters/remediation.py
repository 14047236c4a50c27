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
