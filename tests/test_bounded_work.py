"""Bounded work under hostile input (issue 15): whoever pushes decides what is scanned, so
the scan's cost must stay linear in what it reads, whatever the content or the repository's
config. Each test reproduces an attack with its input shape and checks what a user sees;
the cost itself is measured in bench/hostile.py, as a ratio to a baseline."""

from __future__ import annotations

import base64
import os
import random
import string
import time
from pathlib import Path
from typing import Any

import pytest

from nexpay_scan import detector, filters
from nexpay_scan.checksum import CHECKSUMS
from nexpay_scan.config import builtin_rules
from nexpay_scan.filters import allow_comment_reason, body, has_allow_comment, shannon_entropy
from testing.cli import CliRun, Result, run_cli
from testing.git_repo import Repo
from testing.keys import bad_checksum, client_id, legacy_secret, secret

MB = 1024 * 1024
_ALNUM = string.digits + string.ascii_letters


def _found(run: Result) -> list[tuple[str, int, int, str]]:
    """(file, line, column, full credential) of each finding; needs --no-redact."""
    assert "Traceback" not in run.err, run.err
    document: dict[str, Any] = run.json()
    return sorted(
        (os.path.basename(f["file"]), f["line"], f["column"], f["match"])
        for f in document["findings"]
    )


def _files(cli: CliRun, *paths: Path | str) -> Result:
    run: Result = cli("files", *map(str, paths), "--format", "json", "--no-redact")
    return run


def _bad_tokens(count: int, seed: int = 0) -> list[str]:
    """`nxp_sk_`-shaped tokens whose checksum is wrong: candidates that are never findings."""
    rng = random.Random(seed)
    tokens = ["nxp_sk_" + "".join(rng.choice(_ALNUM) for _ in range(42)) for _ in range(count)]
    return [bad_checksum(t) if _checks(t) else t for t in tokens]


def _checks(token: str) -> bool:
    return bool(CHECKSUMS["nexpay-crc32-base62"](token))


def _reported_client_ids(ids: list[str]) -> list[int]:
    """Which of `ids` the client-ID rule keeps (random ones can spell a stopword)."""
    [rule] = [r for r in builtin_rules() if r.id == "nexpay-client-id"]
    assert rule.entropy is not None
    return [
        i
        for i, cid in enumerate(ids)
        if not any(w in body(cid, rule.prefix).lower() for w in rule.stopwords)
        and shannon_entropy(body(cid, rule.prefix)) >= rule.entropy
    ]


# --- 1. placing candidates: linear, and only once the value passed ------------------------


@pytest.fixture
def placed(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the candidates the scan places (line, column): the work that used to count
    newlines from the start of the content for each one."""
    offsets: list[int] = []
    place = filters.Lines.place

    def counting(self: filters.Lines, offset: int) -> filters.Place:
        offsets.append(offset)
        return place(self, offset)

    monkeypatch.setattr(filters.Lines, "place", counting)
    return offsets


@pytest.mark.parametrize(
    "ending", ["\n", " ", "\r", "\r\n"], ids=["lines", "one-line", "cr", "crlf"]
)
def test_2_mb_of_bad_checksum_tokens_places_only_the_keys(
    cli: CliRun, tmp_path: Path, placed: list[int], ending: str
) -> None:
    tokens = _bad_tokens(2 * MB // 50 + 1)
    planted = {1000: secret(1), 20000: secret(2), len(tokens) - 1: secret(3)}
    for index, key in planted.items():
        tokens[index] = key
    path = tmp_path / "hostile.txt"
    path.write_bytes(ending.join(tokens).encode())
    assert path.stat().st_size > 2 * MB
    run = _files(cli, path)
    assert run.code == 1, run.err
    if ending == " ":  # one line: columns count the tokens before (49 characters and a space)
        expected = [("hostile.txt", 1, 50 * i + 1, key) for i, key in planted.items()]
    else:
        expected = [("hostile.txt", i + 1, 1, key) for i, key in planted.items()]
    assert _found(run) == sorted(expected)
    # the checksum drops the rest before they are placed
    assert len(placed) == len(planted)


def test_2_mb_of_hints_with_no_keyword_then_a_key(cli: CliRun, repo: Repo) -> None:
    """Half a million "nxp" (a keyword's leading letters) with no keyword after them, then
    a key: the prefilter looks for each word from each hint on, and must not search the
    rest of the block again for a word it has not met (a quadratic scan, a hung gate)."""
    key = secret(11)
    repo.write("hints.txt", "nxp " * (MB // 2) + f"\nNEXPAY_SECRET={key}\n")
    repo.commit("hints")
    expected = [("hints.txt", 2, 15, key)]
    assert _found(_files(cli, repo.path / "hints.txt")) == expected
    history = cli("history", "--repo", str(repo.path), "--format", "json", "--no-redact")
    assert _found(history) == expected


def test_2_mb_line_of_client_ids_with_an_allow_comment(cli: CliRun, tmp_path: Path) -> None:
    # client IDs have no checksum: every one passes the value filters and is placed, on one
    # 2 MB line; the line's allow comment is looked for once, not once per ID
    ids = [client_id(i) for i in range(2 * MB // 33)]
    allowed = tmp_path / "allowed.txt"
    allowed.write_text(" ".join(ids) + "  # nexpay-scan: allow\n" + f"K={secret(4)}\n")
    # legacy secrets need "nexpay" nearby: here only at the end of their 2 MB line
    legacy = [legacy_secret(i) for i in range(2 * MB // 44)]
    context = tmp_path / "context.txt"
    context.write_text(" ".join(legacy) + " nexpay  // nexpay-scan: allow\n" + f"K={secret(5)}\n")
    run = _files(cli, allowed, context)
    assert run.code == 1, run.err
    assert _found(run) == [("allowed.txt", 2, 3, secret(4)), ("context.txt", 2, 3, secret(5))]


def test_many_client_ids_on_one_line_are_all_placed_right(cli: CliRun, tmp_path: Path) -> None:
    ids = [client_id(i) for i in range(20000)]
    path = tmp_path / "ids.txt"
    path.write_text(
        "é " + " ".join(ids) + "\n"
    )  # a two-byte character first: columns count characters
    run = _files(cli, path)
    assert run.code == 1
    kept = _reported_client_ids(ids)
    assert len(kept) > 19900
    assert _found(run) == sorted(("ids.txt", 1, 3 + 33 * i, ids[i]) for i in kept)


# --- 2. the allow comment cannot backtrack ----------------------------------------------------


def test_allow_comment_followed_by_40000_spaces_and_a_letter(cli: CliRun, tmp_path: Path) -> None:
    path = tmp_path / "padded.env"
    path.write_text(
        f"A={secret(1)}  # nexpay-scan:" + " " * 40000 + "x\n"  # no `allow`: a key
        f"B={secret(2)}  # nexpay-scan: allow" + " " * 40000 + "\n"  # padding: still allowed
        f"C={secret(3)}  # nexpay-scan:" + " \t" * 20000 + "allow" + "\t " * 20000 + "-->\n"
    )
    run = _files(cli, path)
    assert run.code == 1
    assert _found(run) == [("padded.env", 1, 3, secret(1))]


@pytest.mark.parametrize(
    ("line", "allowed"),
    [
        (b"K=x # nexpay-scan: allow", True),
        (b"K=x // nexpay-scan:allow  ", True),
        (b"<!-- K=x nexpay-scan: allow -->", True),
        (b"{# K=x nexpay-scan: allow #}", True),
        (b"{% K=x nexpay-scan: allow %}", True),
        (b"(* K=x nexpay-scan: allow *)", True),
        (b"/* K=x nexpay-scan: allow\t*/\t", True),
        (b"K=x # nexpay-scan: allow test fixture", True),  # with a reason
        (b"/* K=x nexpay-scan: allow revoked in INC-7 */", True),
        (b"K=x # nexpay-scan: allowed", False),
        (b"K=x # nexpay-scan: allowance", False),
        (b"K=x # nexpay-scan allow", False),
        (b"K=x # nexpay-scan: allow" + b" " * 40000 + b"x", True),  # reason "x", found linearly
        (b"K=x # nexpay-scan:" + b" " * 40000 + b"x", False),
    ],
)
def test_allow_comment_syntax(line: bytes, allowed: bool) -> None:
    assert has_allow_comment(line) is allowed


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (b"K=x # nexpay-scan: allow", ""),
        (b"K=x # nexpay-scan: allow test fixture", "test fixture"),
        (b"<!-- K=x nexpay-scan: allow  docs example -->", "docs example"),
        (b"K=x # nexpay-scan: allow\tINC-7\r", "INC-7"),
    ],
)
def test_allow_comment_reason(line: bytes, reason: str) -> None:
    assert allow_comment_reason(line) == reason


# --- 3. a lone CR ends a line -----------------------------------------------------------------


def test_cr_only_file_lines_allow_comment_and_context(cli: CliRun, repo: Repo) -> None:
    content = (
        f"A={secret(1)}  # nexpay-scan: allow\r"
        f"B={secret(2)}\r"
        "nexpay:\r"
        f"  secret: {legacy_secret(1)}\r"
        "\r\r\r\r\r"
        f"other: {legacy_secret(2)}\r"  # outside the `nexpay:` block: nothing names it
        f"C={secret(3)}"
    )
    repo.write("mac.txt", content)
    expected = [
        ("mac.txt", 2, 3, secret(2)),
        ("mac.txt", 4, 11, legacy_secret(1)),
        ("mac.txt", 11, 3, secret(3)),
    ]
    assert _found(_files(cli, repo.path)) == expected
    # git sees one line: every key of the file is on it, and it is added
    repo.stage()
    staged = cli("staged", "--repo", str(repo.path), "--format", "json", "--no-redact")
    assert staged.code == 1 and _found(staged) == expected
    repo.commit()
    history = cli("history", "--repo", str(repo.path), "--format", "json", "--no-redact")
    assert history.code == 1 and _found(history) == expected


def test_key_added_to_a_cr_only_file_is_reported_on_its_line(cli: CliRun, repo: Repo) -> None:
    repo.write("mac.txt", "first\rsecond\r")
    repo.write("mixed.txt", "one\ntwo\n")
    repo.commit()
    repo.write("mac.txt", f"first\rsecond\rK={secret(1)}\r")
    repo.write("mixed.txt", f"one\ntwo\rK={secret(2)}\n")  # git's line 2, our line 3
    repo.stage()
    expected = [("mac.txt", 3, 3, secret(1)), ("mixed.txt", 3, 3, secret(2))]
    staged = cli("staged", "--repo", str(repo.path), "--format", "json", "--no-redact")
    assert staged.code == 1 and _found(staged) == expected
    repo.commit()
    history = cli("history", "--repo", str(repo.path), "--format", "json", "--no-redact")
    assert history.code == 1 and _found(history) == expected


# --- 4. a repository's patterns run under the time limit, and fail safe ---------------------

_BACKTRACKS = "(a|aa)+$"  # on 60 a's and a "!": about 10^12 steps
_SLOW_NAME = "a" * 60 + "!.env"
_TOKEN_RULE = """
[[rule]]
id = "tok"
description = "a repository's own token"
kind = "secret"
regex = 'tok_[0-9]{{8}}'
keywords = ["tok_"]
{extra}
"""


@pytest.mark.parametrize(
    ("config", "field"),
    [
        (f"[scan]\nallow_paths = ['{_BACKTRACKS}']\n", "scan.allow_paths"),
        (_TOKEN_RULE.format(extra=f"allowlist.paths = ['{_BACKTRACKS}']"), "allowlist.paths"),
        (_TOKEN_RULE.format(extra=f"allowlist.regexes = ['{_BACKTRACKS}']"), "allowlist.regexes"),
        (_TOKEN_RULE.format(extra=f"context.pattern = '{_BACKTRACKS}'"), "context.pattern"),
        (
            _TOKEN_RULE.format(
                extra=f"context.pattern = 'tok'\ncontext.line_pattern = '{_BACKTRACKS}'"
            ),
            "context.line_pattern",
        ),
    ],
)
def test_backtracking_config_pattern_times_out_and_keeps_the_finding(
    cli: CliRun, repo: Repo, monkeypatch: pytest.MonkeyPatch, config: str, field: str
) -> None:
    monkeypatch.setattr(detector, "MATCH_TIMEOUT_SECONDS", 0.1)
    repo.write(".nexpay-scan.toml", config)
    token = "tok_12345678" + "a" * 60 + "!"  # the token rule's value is "tok_12345678"
    if field == "allowlist.regexes":  # the value itself is what backtracks
        config = config.replace("[0-9]{8}", "[0-9]{8}[a!]*")
        repo.write(".nexpay-scan.toml", config)
    repo.write(_SLOW_NAME, f"K={secret(1)}\nT={token}\n" + "a" * 60 + "!\n")
    repo.write("second.env", f"K={secret(2)}\nT={token}\n" + "a" * 60 + "!\n")
    run = cli("files", str(repo.path), "--no-redact")
    assert run.code == 1, run.err
    assert "Traceback" not in run.err
    shown = run.out + run.err
    assert secret(1) in shown and secret(2) in shown
    if field != "scan.allow_paths":
        assert shown.count("tok_12345678") == 2  # the rule's findings are kept, both files
    [warning] = [line for line in shown.splitlines() if line.startswith("warning:")]
    assert warning.startswith(f"warning: pattern {field}"), warning
    assert _BACKTRACKS in warning and "reported" in warning
    json_run = _files(cli, repo.path)
    timeouts = json_run.json()["summary"]["rule_timeouts"]
    assert [name for name in timeouts if field in name], timeouts


def test_context_lines_are_bounded_at_load(cli: CliRun, repo: Repo) -> None:
    repo.write(
        ".nexpay-scan.toml",
        _TOKEN_RULE.format(extra="context.pattern = 'x'\ncontext.lines_before = 1000000"),
    )
    run = cli("files", str(repo.path))
    assert run.code == 2 and "Traceback" not in run.err
    assert "context.lines_before must be between 0 and 50" in run.err
    assert len(run.err.strip().splitlines()) == 1


# --- 5. the rule cache: built-in files only, keyed by content, bounded ------------------------


def test_repository_allow_values_never_reach_the_cache(repo: Repo, tmp_path: Path) -> None:
    allowed = secret(7)
    repo.write(
        ".nexpay-scan.toml",
        _TOKEN_RULE.format(
            extra=f"allowlist.values = ['{allowed}']\nallowlist.stopwords = ['{allowed}']"
        ),
    )
    repo.write("a.env", f"K={allowed}\n")
    for _ in range(2):
        run = run_cli("files", str(repo.path), "--format", "json")
        assert run.code == 1, run.err
    cache = tmp_path / ".cache"
    written = [Path(d, f) for d, _, files in os.walk(cache) for f in files]
    assert written, "the built-in rule files are cached"
    for path in written:
        assert allowed.encode() not in path.read_bytes(), path


def test_cache_is_keyed_by_content_and_pruned(repo: Repo, tmp_path: Path) -> None:
    import hashlib

    from nexpay_scan.rule_files import CACHE_ENTRIES, builtin_rules_dir

    folder = tmp_path / ".cache" / "rules"
    folder.mkdir(parents=True)
    old_format = folder / "1234abcd-97.marshal"  # path-keyed entries of earlier versions
    old_format.write_bytes(b"x")
    stale = folder / ("f" * 64 + "-py3.11.marshal")
    stale.write_bytes(b"x")
    month_ago = time.time() - 31 * 24 * 3600
    os.utime(stale, (month_ago, month_ago))
    for i in range(CACHE_ENTRIES + 10):
        entry = folder / (f"{i:064x}-py3.11.marshal")
        entry.write_bytes(b"x")
        os.utime(entry, (time.time() - 3600 - i, time.time() - 3600 - i))
    repo.write("a.env", f"K={secret(1)}\n")
    assert run_cli("files", str(repo.path)).code == 1
    names = set(os.listdir(folder))
    assert len(names) <= CACHE_ENTRIES
    assert old_format.name not in names and stale.name not in names
    rules = Path(builtin_rules_dir())
    for rule_file in rules.glob("*.toml"):
        digest = hashlib.sha256(rule_file.read_bytes()).hexdigest()
        assert any(name.startswith(digest) for name in names), rule_file
    assert run_cli("files", str(repo.path)).code == 1  # and read back from it


# --- a wrapped base64 blob that is not text: tried from its first line, once more ----------


@pytest.mark.parametrize("lines", [200, 4000])
def test_a_wrapped_blob_that_is_not_text_is_decoded_twice_however_long(
    cli: CliRun, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, lines: int
) -> None:
    """A ruler over random bytes in base64 (76 columns): the blob is tried from the ruler,
    then once from the line under it (a key could start there), never from each line
    (each line with all the lines after it would be quadratic). A key after it is found."""
    from nexpay_scan.decoders import base64 as base64_decoder

    blob = base64.encodebytes(random.Random(lines).randbytes(lines * 57))
    key = base64.b64encode(f"NEXPAY_SECRET={secret(4)}".encode())
    content = b"# nexpay " + b"-" * 76 + b"\n" + blob + b"\n" + key + b"\n"
    tried: list[int] = []
    token = base64_decoder._base64_token

    def counting(data: bytes, start: int, wrapped_end: int, run_end: int) -> Any:
        if data == content:  # (not a view decoded from it)
            tried.append(start)
        return token(data, start, wrapped_end, run_end)

    monkeypatch.setattr(base64_decoder, "_base64_token", counting)
    path = tmp_path / "wrapped.txt"
    path.write_bytes(content)
    run = _files(cli, path)
    assert run.code == 1, run.err
    assert len(tried) == 3  # the blob, the blob from its second line, the key
