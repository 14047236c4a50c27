"""The verifier: the read-only check of a found key against the Nexpay API (opt-in)."""
