"""The filters (nexpay_scan/filters.py): what turns a rule's match into a finding, or drops
it and says why. Value filters look at the value alone (checksum, placeholders, plain runs);
place filters at where it sits (a rule's context lines, the structure naming it); an allow
comment keeps a key reported, as suppressed in source; `Lines` places every match, with
any line ending."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from nexpay_scan.config import builtin_rules
from nexpay_scan.detector import Candidate, Detector, Guard
from nexpay_scan.filters import (
    Lines,
    allow_comment,
    drop_reason,
    locate,
    path_allowance,
    place_drop_reason,
    shannon_entropy,
    too_little_entropy,
    value_drop_reason,
)
from nexpay_scan.rules import Rule, parse_rules, parse_toml_bytes
from testing.cli import CliRun
from testing.keys import bad_checksum, client_id, legacy_secret, secret

# a repository rule that counts only near the word "acme": one line either side
ACME_RULE = b"""
[[rule]]
id = "acme-token"
description = "an ACME token, only where ACME is named nearby"
kind = "secret"
regex = 'tok_[0-9a-f]{16}'
keywords = ["tok_"]
context.pattern = '(?i)acme'
context.lines_before = 1
context.lines_after = 1
allowlist.paths = ['^fixtures/']
"""
TOKEN = "tok_0123456789abcdef"


def _rules(toml: bytes) -> list[Rule]:
    return parse_rules(parse_toml_bytes(toml, "test.toml"), "test.toml")


def _candidates(text: str | bytes, rules: list[Rule] | None = None) -> list[Candidate]:
    data = text.encode() if isinstance(text, str) else text
    return list(Detector(builtin_rules() if rules is None else rules).candidates(data))


def _reasons(text: str | bytes, rules: list[Rule] | None = None) -> dict[str, str | None]:
    """Each match's value -> why it is dropped (None: it is a finding)."""
    data = text.encode() if isinstance(text, str) else text
    lines = Lines(data)
    return {c.value: drop_reason(c, lines.place(c.start)) for c in _candidates(data, rules)}


# --- value filters ----------------------------------------------------------------------------


def test_a_valid_secret_and_client_id_are_findings() -> None:
    assert _reasons(f"ID={client_id(1)}\nSECRET={secret(1)}\n") == {
        client_id(1): None,
        secret(1): None,
    }


def test_a_secret_with_a_wrong_checksum_is_dropped_before_it_is_placed() -> None:
    [candidate] = _candidates(f"SECRET={bad_checksum(secret(1))}\n")
    assert value_drop_reason(candidate, Guard()) == "checksum does not match"


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("nxp_cid_yourClientIdGoesHere0000", "placeholder value"),  # a stopword
        ("nxp_cid_abcdefghijklmnopqrstuvwx", "placeholder value"),
        ("nxp_cid_" + "A" * 24, "too little entropy to be a real key"),
        # the contract's examples have valid checksums: documentation, not keys
        (
            "nxp_sk_0123456789abcdefghijABCDEFGHIJ01234536IYNx",
            "placeholder value (a repeated character or a plain run)",
        ),
        (
            "nxp_sk_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA2tNEJs",
            "placeholder value (a repeated character or a plain run)",
        ),
    ],
)
def test_placeholders_are_dropped_by_their_value(value: str, reason: str) -> None:
    [candidate] = _candidates(f"KEY={value}\n")
    assert value_drop_reason(candidate, Guard()) == reason


# --- place filters ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        (f"# acme\nT={TOKEN}\n", True),  # the line before
        (f"T={TOKEN}\n# acme\n", True),  # the line after
        (f"T={TOKEN}  # ACME\n", True),  # its own line
        (f"# acme\n\nT={TOKEN}\n", False),  # two lines up: too far
        (f"T={TOKEN}\n\n# acme\n", False),
        (f"# acme\r\nT={TOKEN}\r\n", True),  # CRLF is one line break
        (f"# acme\rT={TOKEN}\r", True),  # a lone CR is one too (old Mac files)
        (f"# acme\r\rT={TOKEN}\r", False),
        (f"T={TOKEN}\r\r# acme\r", False),
    ],
)
def test_a_rule_with_context_counts_only_near_it(text: str, kept: bool) -> None:
    reasons = _reasons(text, _rules(ACME_RULE))
    assert reasons == {TOKEN: None if kept else "no Nexpay context nearby"}


def test_a_legacy_secret_counts_only_where_its_name_says_nexpay() -> None:
    named = f'nexpay_secret = "{legacy_secret(1)}"\n'
    assert _reasons(named) == {legacy_secret(1): None}
    # `session` names something else: the same value is no Nexpay key there
    other = f'nexpay_session_secret = "{legacy_secret(1)}"\n'
    [candidate] = _candidates(other)
    assert value_drop_reason(candidate, Guard()) is None  # the value alone could be one
    reason = place_drop_reason(candidate, locate(other.encode(), candidate.start))
    assert reason is not None


def test_a_rules_allowlisted_paths() -> None:
    [candidate] = _candidates(f"acme {TOKEN}\n", _rules(ACME_RULE))
    allowed = path_allowance(candidate, "fixtures/a.env", Guard())
    assert allowed is not None and "acme-token" in allowed and "^fixtures/" in allowed
    assert path_allowance(candidate, "src/fixtures/a.env", Guard()) is None


# --- the allow comment ------------------------------------------------------------------------


def _allowed(text: str) -> dict[str, str | None]:
    data = text.encode()
    lines = Lines(data)
    return {c.value: allow_comment(c, lines.place(c.start)) for c in _candidates(data)}


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_an_allow_comment_allows_its_own_line_only(newline: str) -> None:
    text = newline.join(
        [
            f"A={secret(1)}  # nexpay-scan: allow test fixture",
            f"B={secret(2)}",
            f"<!-- C={secret(3)} nexpay-scan: allow -->",
        ]
    )
    assert _allowed(text + newline) == {
        secret(1): "`nexpay-scan: allow` comment: test fixture",
        secret(2): None,
        secret(3): "`nexpay-scan: allow` comment",
    }


def test_an_allowed_key_is_reported_as_suppressed_in_source(cli: CliRun, tmp_path: Path) -> None:
    (tmp_path / "a.env").write_text(
        f"A={secret(1)}  # nexpay-scan: allow test fixture\nB={secret(2)}\n"
    )
    run = cli("files", "a.env", "--format", "json", "--no-redact")
    assert run.code == 1, run.err
    document = run.json()
    assert [(f["line"], f["match"]) for f in document["findings"]] == [(2, secret(2))]
    [suppressed] = document["suppressed"]
    assert (suppressed["line"], suppressed["match"]) == (1, secret(1))
    assert suppressed["suppression"] == {
        "kind": "inSource",
        "justification": "`nexpay-scan: allow` comment: test fixture",
    }


# --- placing: lines, columns, git's lines -----------------------------------------------------


def _naive(data: bytes, offset: int) -> tuple[int, int, int, bytes]:
    """(line, column, git line, line text) of `offset`, counted the slow, obvious way."""
    before = data[:offset]
    breaks = list(re.finditer(rb"\r\n|\r|\n", before))
    # a `\r` right before `offset` whose `\n` is at `offset` is not a break yet
    if breaks and breaks[-1].group() == b"\r" and data[offset : offset + 1] == b"\n":
        breaks.pop()
    start = breaks[-1].end() if breaks else 0
    end = re.search(rb"\r|\n|$", data[offset:])
    assert end is not None
    column = len(data[start:offset].decode("utf-8", "replace")) + 1
    return len(breaks) + 1, column, before.count(b"\n") + 1, data[start : offset + end.start()]


PLACED = [
    b"a\nb\r\nc\rd",
    b"\r\r\n\n\rx\r",
    "é=1\nüü=2\r\n€=3".encode(),
    b"no line break at all",
    b"\n\n\n",
    b"\xff\xfe=bad utf-8\rnext",
]


def _starts(data: bytes) -> list[int]:
    """The offsets a match can start at: not inside a UTF-8 character (rules match ASCII)."""
    return [i for i in range(len(data)) if not 0x80 <= data[i] <= 0xBF]


@pytest.mark.parametrize("data", PLACED)
def test_every_offset_is_placed_as_counted_by_hand(data: bytes) -> None:
    lines = Lines(data)
    for offset in _starts(data):
        place = lines.place(offset)
        got = (place.line, place.column, place.git_line, place.line_text)
        assert got == _naive(data, offset), offset


@pytest.mark.parametrize("data", PLACED)
def test_places_asked_out_of_order_are_the_same(data: bytes) -> None:
    lines = Lines(data)
    offsets = _starts(data)[::-1] + _starts(data)[::3]
    for offset in offsets:
        place = lines.place(offset)
        assert (place.line, place.column, place.git_line) == _naive(data, offset)[:3], offset


def test_a_lone_cr_is_a_line_to_a_reader_not_to_git() -> None:
    data = f"A=1\rB={secret(1)}\n".encode()
    place = locate(data, data.index(b"nxp_"))
    assert (place.line, place.column, place.git_line) == (2, 3, 1)


@settings(max_examples=300, deadline=None, database=None)
@given(
    text=st.one_of(
        st.text(max_size=60),
        st.text(alphabet=st.sampled_from("ABCDabcd0123456789-_"), max_size=60),
        st.integers(1, 16).map(lambda k: "".join(_ALPHABET[:k]) * 3),  # k spread evenly
    ),
    least=st.one_of(
        st.floats(0, 7, allow_nan=False), st.integers(1, 16).map(lambda k: math.log2(k))
    ),
)
@example(text="A" * 43, least=3.5)
@example(text="ABCDEFGHIJK" * 4, least=3.5)  # 11 spread evenly: log2(11) = 3.46 bits
@example(text="ABCDEFGH" * 4, least=3.0)  # exactly the bound: counted, not guessed
@example(text="", least=0.0)
def test_too_little_entropy_answers_as_the_count_does(text: str, least: float) -> None:
    assert too_little_entropy(text, least) == (shannon_entropy(text) < least)


_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
