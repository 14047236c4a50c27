"""What a scan reports: a `Finding` is one credential at one place, with its provenance."""

from __future__ import annotations

from nexpay_scan.digest import sha256_hex
from nexpay_scan.records import Record

TYPE_CHECKING = False  # typing is not imported on the hook's path (start-up time)
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any

# A finding's kind: a credential (a rule's `kind`: SECRET or CLIENT_ID), or SUPPRESSION,
# a change that edits what the gate suppresses (the config, the ignore file, the baseline).
SECRET, CLIENT_ID, SUPPRESSION = "secret", "client_id", "suppression"
KIND_LABELS = {SECRET: "secret", CLIENT_ID: "client ID", SUPPRESSION: "suppression change"}
# A finding's status: UNVERIFIED before (or without) a check; then what the verifier
# learnt (verifier/check.py maps the API's answers to them).
LIVE, REVOKED, UNKNOWN, UNVERIFIED = "live", "revoked", "unknown", "unverified"
STATUS_ORDER = (LIVE, UNKNOWN, UNVERIFIED, REVOKED)  # the order keys are listed and acted on
STATUS_RANK = {status: rank for rank, status in enumerate(STATUS_ORDER)}


def status_rank(status: str) -> int:
    """Where a status sorts (STATUS_ORDER: live first); a word it does not know sorts as
    UNVERIFIED."""
    return STATUS_RANK.get(status, STATUS_RANK[UNVERIFIED])


_SHOWN = 4  # characters kept after the prefix in the redacted form


class Secret:
    """A credential value that prints redacted, so an accident never shows it whole."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The full credential: only for `--no-redact` output and the verifier."""
        return self._value

    def redacted(self) -> str:
        """A few characters that help a person recognise the key, never enough to use it
        (no rule prefix known here: reports show it, `Report.shown`)."""
        return redact(self._value)

    def sha256(self) -> str:
        """Hex sha256 of the full credential (safe to store: the keys are high-entropy)."""
        return sha256_hex(self._value.encode("utf-8", "surrogateescape"))

    def __repr__(self) -> str:
        return f"Secret({self.redacted()!r})"

    __str__ = redacted

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


def redact(value: str, prefixes: Sequence[str] = ()) -> str:
    """`nxp_sk_AbCd…` style: the longest of `prefixes` (the `prefix` of the rules in force,
    longest first: `rules.rule_prefixes`) that `value` starts with, a few characters, then
    an ellipsis. A prefix is shown only while at least half the value stays hidden."""
    prefix = next((p for p in prefixes if value.startswith(p)), "")
    if (len(prefix) + _SHOWN) * 2 > len(value):
        prefix = ""
    return f"{value[: len(prefix) + _SHOWN]}…"


class Commit(Record):
    """The commit a finding came in with."""

    sha: str
    author: str
    email: str
    date: str


class Suppression(Record):
    """Why a finding does not fail the run, as SARIF says it: `inSource` (a comment on its
    line) or `external` (a config allowlist, the ignore file, a baseline)."""

    kind: str
    justification: str


class Finding:
    """One credential found at one place; `secret` prints redacted.

    A plain class, not a dataclass: the hook imports this on every commit, and
    `dataclasses` alone costs more start-up time than the rest of the scan.
    """

    __slots__ = (
        "_fingerprint",
        "account",
        "at_head",
        "column",
        "commit",
        "description",
        "file",
        "kind",
        "left_at",
        "line",
        "notes",
        "occurrences",
        "pair",
        "places",
        "present_at",
        "rule_id",
        "secret",
        "severity",
        "status",
        "status_reason",
        "suppression",
        "unreachable",
        "verified_with",
    )

    def __init__(
        self,
        rule_id: str,
        description: str,
        kind: str,
        severity: str,
        file: str,
        line: int,
        column: int,
        secret: Secret,
        commit: Commit | None = None,
        pair: Secret | None = None,
    ) -> None:
        self.rule_id = rule_id
        self.description = description
        self.kind = kind
        self.severity = severity
        self.file = file
        self.line = line
        self.column = column
        self.secret = secret
        self.commit = commit
        self.pair = pair  # a client ID found in the same match (header form)
        self.occurrences = 1
        self.status = UNVERIFIED
        self.status_reason: str | None = None
        self.account: dict[str, str] | None = None
        self.verified_with: Secret | None = None
        self.notes: list[str] = []
        self.unreachable = False  # in a dangling object that no ref reaches
        self.places: list[tuple[Commit, str, int]] = []  # every addition (audit reports)
        self.at_head: bool | None = None  # still in the files at HEAD (audit reports)
        self.present_at: list[str] = []  # branch and tag tips whose files hold it (audits)
        self.left_at: str | None = None  # when a commit took it out of the tips (audits)
        self.suppression: Suppression | None = None  # shown, but does not fail the run
        self._fingerprint: str | None = None  # (see `keep_fingerprint`)

    def __repr__(self) -> str:
        return (
            f"Finding({self.rule_id!r}, {self.file!r}:{self.line}:{self.column}, "
            f"{self.secret!r}, status={self.status!r})"
        )

    @property
    def label(self) -> str:
        """What the kind is called in output: "secret", "client ID", ..."""
        return KIND_LABELS.get(self.kind, self.kind)

    @property
    def fingerprint(self) -> str:
        """Stable id for ignore files and baselines: the credential and the file, no line."""
        if self._fingerprint is not None:
            return self._fingerprint
        material = f"{self.file}\0{self.secret.reveal()}".encode("utf-8", "surrogateescape")
        return sha256_hex(material)[:32]

    def keep_fingerprint(self) -> None:
        """Fixes the fingerprint to the file's name as it is now: the name shown may then
        be redacted (`shown_names`) and the fingerprint stays the one ignore files hold."""
        self._fingerprint = self.fingerprint


# A finding's fields in built-in types (`plain_finding`), in `Finding.__slots__`' order:
# how each is made plain, by what it holds
_SECRETS = frozenset({"secret", "pair", "verified_with"})
_RECORDS = {"commit": Commit, "suppression": Suppression}


def plain_finding(finding: Finding) -> tuple[Any, ...]:
    """`finding` in built-in types that `marshal` sends whole (a forked worker sends its
    findings so: `pickle` took 2-3 ms to load in each process, as both end); its secrets
    whole, as the finding holds them. `finding_from_plain` makes it again."""
    plain: list[Any] = []
    for name in Finding.__slots__:
        value = getattr(finding, name)
        if name in _SECRETS:
            value = None if value is None else value.reveal()
        elif name in _RECORDS:
            value = None if value is None else tuple(value)
        elif name == "places":
            value = [(tuple(commit), path, line) for commit, path, line in value]
        plain.append(value)
    return tuple(plain)


def finding_from_plain(plain: tuple[Any, ...]) -> Finding:
    """The finding `plain_finding` made `plain` of."""
    finding = Finding.__new__(Finding)
    for name, value in zip(Finding.__slots__, plain, strict=True):
        if name in _SECRETS:
            value = None if value is None else Secret(value)
        elif name in _RECORDS:
            value = None if value is None else _RECORDS[name](*value)
        elif name == "places":
            value = [(Commit(*commit), path, line) for commit, path, line in value]
        setattr(finding, name, value)
    return finding
