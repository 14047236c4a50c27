"""What a scan reports: a `Finding` is one credential at one place, with its provenance."""

from __future__ import annotations

from dataclasses import dataclass, field

_PREFIXES = ("nxp_sk_", "nxp_cid_")
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
        """A short prefix that helps a person recognise the key, never enough to use it."""
        return redact(self._value)

    def sha256(self) -> str:
        """Hex sha256 of the full credential (safe to store: the keys are high-entropy)."""
        import hashlib

        return hashlib.sha256(self._value.encode("utf-8", "surrogateescape")).hexdigest()

    def __repr__(self) -> str:
        return f"Secret({self.redacted()!r})"

    __str__ = redacted

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


def redact(value: str) -> str:
    """`nxp_sk_AbCd…` style: the prefix and a few characters, then an ellipsis."""
    prefix = next((p for p in _PREFIXES if value.startswith(p)), "")
    return f"{value[: len(prefix) + _SHOWN]}…"


@dataclass(frozen=True)
class Commit:
    """The commit a finding came in with."""

    sha: str
    author: str
    email: str
    date: str


@dataclass
class Finding:
    """One credential found at one place; `secret` prints redacted."""

    rule_id: str
    description: str
    kind: str
    severity: str
    file: str
    line: int
    column: int
    secret: Secret
    commit: Commit | None = None
    occurrences: int = 1
    pair: Secret | None = None  # a client ID found in the same match (header form)
    status: str = "unverified"
    status_reason: str | None = None
    account: dict[str, str] | None = None
    verified_with: Secret | None = None
    notes: list[str] = field(default_factory=list)
    unreachable: bool = False  # in a dangling object that no ref reaches
    places: list[tuple[Commit, str, int]] = field(default_factory=list)  # every addition
    at_head: bool | None = None  # still in the files at HEAD (audit reports)

    @property
    def fingerprint(self) -> str:
        """Stable id for ignore files and baselines: the credential and the file, no line."""
        import hashlib

        material = f"{self.file}\0{self.secret.reveal()}".encode("utf-8", "surrogateescape")
        return hashlib.sha256(material).hexdigest()[:32]
