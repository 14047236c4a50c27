"""Content over `max_file_size`: searched a window at a time, never passed over unread.

A key padded past the size limit (a 60 MB log dump, a file grown on purpose) was named as
skipped and passed a default gate. Each source now searches such content in overlapping
windows (`nexpay_scan/windows.py`), and finds what a whole scan of it finds, at the same
lines and columns. The windows are made small here (4 KB) so that a few hundred KB cross
dozens of them; the memory itself is bench/memory.py's.
"""

from __future__ import annotations

import base64
import io
import random
import zipfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nexpay_scan import windows
from nexpay_scan.config import Settings, builtin_rules
from nexpay_scan.findings import Finding
from nexpay_scan.scan import Scanner
from nexpay_scan.stats import Stats
from testing.cli import CliRun, Result, run_cli
from testing.git_repo import Repo, git, pre_receive_server, push
from testing.keys import client_id, legacy_client_id, legacy_secret, secret
from testing.results import assert_every_mode_finds, found_keys, gaps, history_json, json_of

LIMIT = 1000  # max_file_size in the repositories' config here
WINDOW = 4096
OVERLAP = 512
ENGINES = ("blob", "diff")


@pytest.fixture(autouse=True)
def small_windows(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(windows, "WINDOW_BYTES", WINDOW)
    monkeypatch.setattr(windows, "OVERLAP_BYTES", OVERLAP)


def _found(run: Result) -> list[tuple[str, str, int, int, str]]:
    """(rule, file, line, column, credential) of each finding (needs --no-redact)."""
    assert "Traceback" not in run.err, run.err
    return sorted(
        (f["rule"], f["file"], f["line"], f["column"], f["match"]) for f in json_of(run)["findings"]
    )


def _filler(rng: random.Random, size: int, newline: str) -> str:
    words = ("ledger", "refund", "payout", "cursor", "état", "batch", "índex", "日志")
    parts: list[str] = []
    total = 0
    while total < size:
        part = f"{rng.choice(words)}_{rng.randrange(10**6)} = {rng.choice(words)}({total})"
        parts.append(part)
        total += len(part.encode()) + len(newline)
    return newline.join(parts)


def _keyed(seed: int) -> str:
    """One of the shapes a key takes: current, legacy in context, the ApiKey header, a
    current pair, a key in base64."""
    shape = seed % 5
    if shape == 0:
        return f"NEXPAY_SECRET={secret(seed)}"
    if shape == 1:
        return f"NEXPAY_SECRET={legacy_secret(seed)}"
    if shape == 2:
        header = f"ApiKey {legacy_client_id(seed)}:{legacy_secret(seed)}"
        return f'curl -H "Authorization: {header}" https://api.nexpay.com/v2/users/me'
    if shape == 3:
        return f"NEXPAY_CLIENT_ID={client_id(seed)} NEXPAY_SECRET={secret(seed)}"
    return base64.b64encode(f"NEXPAY_SECRET={secret(seed)}\n".encode()).decode()


def _content(newline: str, seed: int) -> bytes:
    """About 60 KB (15 windows) with a key every 1-3 KB, several of them across a window's
    end, in lines ended by `newline` ("" for one long line, the keys between spaces)."""
    rng = random.Random(seed)
    parts: list[str] = []
    for n in range(30):
        parts.append(_filler(rng, rng.randrange(900, 3000), newline or " "))
        parts.append(_keyed(seed * 100 + n))
    text = (newline or " ").join(parts) + (newline or " ")
    data = text.encode()
    # and a key laid across each of the first window ends, as the windows cut them
    cut = WINDOW - 20
    key = f" {secret(seed)} ".encode()
    return data[:cut] + key + data[cut:]


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r", ""], ids=["lf", "crlf", "cr", "one-line"])
def test_content_over_the_limit_gives_what_a_whole_scan_gives(
    cli: CliRun, tmp_path: Path, newline: str
) -> None:
    data = _content(newline, len(newline) + 1)
    (tmp_path / "dump.log").write_bytes(data)
    whole = cli("files", str(tmp_path), "--format", "json", "--no-redact")
    assert json_of(whole)["summary"]["skipped"] == {}
    (tmp_path / ".nexpay-scan.toml").write_text(f"[scan]\nmax_file_size = {LIMIT}\n")
    config = ("--config", str(tmp_path / ".nexpay-scan.toml"))
    windowed = cli("files", str(tmp_path / "dump.log"), *config, "--format", "json", "--no-redact")
    assert windowed.code == whole.code == 1
    assert len(_found(whole)) >= 30
    assert _found(windowed) == _found(whole)
    assert json_of(windowed)["summary"]["skipped"] == {}
    assert json_of(windowed)["summary"]["bytes_scanned"] == len(data)
    piped = run_cli("files", "-", *config, "--format", "json", "--no-redact", stdin=data)
    # (a separate process: its windows are the real ones, 8 MB: one window, the same)
    assert [f[0::2] for f in _found(piped)] == [f[0::2] for f in _found(whole)]


def test_standard_input_over_the_limit_is_searched_in_windows(
    cli: CliRun, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / ".nexpay-scan.toml").write_text(f"[scan]\nmax_file_size = {LIMIT}\n")
    data = _content("\n", 7)
    (tmp_path / "dump.log").write_bytes(data)
    whole = cli("files", str(tmp_path / "dump.log"), "--format", "json", "--no-redact")

    class _Stdin:
        buffer = io.BytesIO(data)

    monkeypatch.setattr("sys.stdin", _Stdin)
    config = ("--config", str(tmp_path / ".nexpay-scan.toml"))
    piped = cli("files", "-", *config, "--format", "json", "--no-redact")
    assert piped.code == 1
    assert [f[:1] + f[2:] for f in _found(piped)] == [f[:1] + f[2:] for f in _found(whole)]
    assert {f[1] for f in _found(piped)} == {"<stdin>"}


def _padded_repo(repo: Repo) -> tuple[str, list[tuple[str, int, int, str]]]:
    """A repository whose config sets the limit low, and a file far past it with keys
    in several windows (not committed); the file and the keys `found_keys` gives."""
    repo.write(".nexpay-scan.toml", f"[scan]\nmax_file_size = {LIMIT}\n")
    repo.write("README.md", "docs\n")
    repo.commit("config")
    rng = random.Random(3)
    lines = [_filler(rng, 200, " ") for _ in range(400)]
    expected = []
    for n, at in enumerate((5, 19, 150, 399)):
        lines[at] = f"token={secret(60 + n)}"
        expected.append(("logs/dump.log", at + 1, 7, secret(60 + n)))
    repo.write("logs/dump.log", "\n".join(lines) + "\n")
    return "logs/dump.log", expected


def test_a_key_in_a_file_padded_past_the_limit_is_found_in_every_mode(
    cli: CliRun, repo: Repo
) -> None:
    _, expected = _padded_repo(repo)
    assert_every_mode_finds(cli, repo, expected)
    for engine in ENGINES:
        for args in ([], ["HEAD~1..HEAD"], ["--branch", "main"]):
            run = history_json(cli, repo.path, "--engine", engine, *args)
            assert run.code == 1 and found_keys(run) == expected, (engine, args)
            assert json_of(run)["summary"]["skipped"] == {}


def test_a_big_file_edited_reports_only_the_keys_the_edit_adds(cli: CliRun, repo: Repo) -> None:
    """Over the limit there are no added lines to keep to: as for a binary file, the keys
    the old version held are not reported again at the commit that edits it."""
    path, expected = _padded_repo(repo)
    first = repo.commit("the dump")
    text = (repo.path / path).read_text()
    repo.write(path, text + f"token={secret(70)}\n")
    repo.stage()
    staged = cli("staged", "--repo", str(repo.path), "--format", "json", "--no-redact")
    assert found_keys(staged) == [(path, 401, 7, secret(70))]
    second = repo.commit("appended")
    for engine in ENGINES:
        run = history_json(cli, repo.path, "--engine", engine)
        by_commit = sorted((f["commit"], f["match"]) for f in json_of(run)["findings"])
        assert by_commit == sorted(
            [(first, key) for *_, key in expected] + [(second, secret(70))]
        ), engine


def _zip_with_key(seed: int, before: int, after: int) -> bytes:
    """A zip of a member holding a key, between stored members of random bytes (`before`
    and `after` bytes)."""
    rng = random.Random(seed)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        if before:
            archive.writestr("before.bin", rng.randbytes(before), zipfile.ZIP_STORED)
        archive.writestr("deploy/app.env", f"NEXPAY_SECRET={secret(seed)}\n", zipfile.ZIP_DEFLATED)
        if after:
            archive.writestr("after.bin", rng.randbytes(after), zipfile.ZIP_STORED)
    return out.getvalue()


def test_an_archive_past_a_window_is_named_and_fails_a_gate_that_asks(
    cli: CliRun, tmp_path: Path
) -> None:
    """A zip is read through its directory, at its end: windows cannot open it whole. The
    first window opens the members it holds from their local headers, the last the ones
    its end's directory shows; one in the middle is not opened. The archive is named as
    not read whole, and `--fail-on skipped` fails on it. One that fits a window is opened
    as any file is."""
    (tmp_path / ".nexpay-scan.toml").write_text(f"[scan]\nmax_file_size = {LIMIT}\n")
    (tmp_path / "small.zip").write_bytes(_zip_with_key(1, 1000, 1000))
    (tmp_path / "first.zip").write_bytes(_zip_with_key(2, 0, 3 * WINDOW))
    (tmp_path / "last.zip").write_bytes(_zip_with_key(3, 3 * WINDOW, 0))
    (tmp_path / "middle.zip").write_bytes(_zip_with_key(4, 3 * WINDOW, 3 * WINDOW))
    run = cli("files", str(tmp_path), "--format", "json", "--no-redact")
    found = [(f[1], f[4]) for f in _found(run)]
    assert found == [("first.zip", secret(2)), ("last.zip", secret(3)), ("small.zip", secret(1))]
    reason = (
        f"an archive larger than {LIMIT} bytes: searched a window at a time, its members "
        "opened only where a window holds one whole"
    )
    assert gaps(run) == [("first.zip", reason), ("last.zip", reason), ("middle.zip", reason)]
    for name in ("small.zip", "first.zip", "last.zip"):
        (tmp_path / name).unlink()
    assert cli("files", str(tmp_path)).code == 0
    assert cli("files", str(tmp_path), "--fail-on", "any,skipped").code == 1


# -- the default limit, through the hooks and a server, each a separate process ---------------

PAST_DEFAULT = 50 * 1024 * 1024 + 4096


def _write_padded(path: Path, key: str) -> None:
    """PAST_DEFAULT NUL bytes (sparse on disk: cheap), then `key` on a line."""
    with path.open("wb") as stream:
        stream.truncate(PAST_DEFAULT)
        stream.seek(PAST_DEFAULT)
        stream.write(f"\nNEXPAY_SECRET={key}\n".encode())


@pytest.mark.parametrize("check", ["staged", "pre-receive"])
def test_a_key_past_50_mb_of_padding_is_stopped(repo: Repo, tmp_path: Path, check: str) -> None:
    """With no config at all: the commit is blocked, the push refused."""
    repo.write("README.md", "docs\n")
    repo.commit("start")
    server = pre_receive_server(tmp_path)
    repo.git("remote", "add", "origin", str(server))
    assert push(repo).returncode == 0
    _write_padded(repo.path / "dump.log", secret(80))
    repo.stage()
    if check == "staged":
        run = run_cli("staged", "--repo", str(repo.path), "--format", "json", "--no-redact")
        assert run.code == 1, run.err
        assert found_keys(run) == [("dump.log", 2, 15, secret(80))]
        assert json_of(run)["summary"]["skipped"] == {}
        return
    repo.git("commit", "-q", "--no-verify", "-m", "a dump")
    rejected = push(repo)
    assert rejected.returncode != 0 and "push rejected" in rejected.stderr, rejected.stderr
    assert "dump.log" in rejected.stderr and secret(80) not in rejected.stderr
    assert git(server, "rev-parse", "main").strip() != repo.git("rev-parse", "HEAD").strip()


# -- the windows' cuts, over any text ---------------------------------------------------------

_TEXT_PIECES = [
    b"\n",
    b"\r\n",
    b"\r",
    b" ",
    b"=",
    b'"',
    b"_",
    b"-",
    b"\xc3\xa9",  # é: two bytes
    b"\xe6\x97\xa5",  # 日: three
    b"\xff",  # not UTF-8
    b"nexpay ",
    b"NEXPAY_SECRET=",
    b"x" * 43,
    b"A" * 20,
    secret(90).encode(),
    secret(91).encode()[:-1],
    client_id(90).encode(),
    f" {secret(92)} ".encode(),
    f"\nNEXPAY_SECRET={secret(93)}\n".encode(),
    f"token: {client_id(91)}\r\n".encode(),
]


CUT_OVERLAP = 128  # half of it, 64 bytes, is more than any match below is long
_BETWEEN = [b" ", b"\n", b"\r\n", b"\r", b"=", b'"', b"\xc3\xa9"]


@settings(max_examples=150, deadline=None, database=None)
@given(
    pieces=st.lists(
        st.tuples(st.sampled_from(_TEXT_PIECES), st.sampled_from(_BETWEEN)),
        min_size=20,
        max_size=200,
    ),
    window=st.integers(min_value=CUT_OVERLAP + 1, max_value=8 * CUT_OVERLAP),
    reads=st.integers(min_value=1, max_value=3000),
)
def test_any_cut_finds_what_a_whole_scan_finds(
    pieces: list[tuple[bytes, bytes]], window: int, reads: int
) -> None:
    """Keys that prove themselves (a checksum, a prefix), in text of every line ending,
    multibyte and broken characters, cut into windows of any size and read in pieces of
    any size: the same credentials at the same lines and columns as the whole text.
    (No run of token bytes is longer than half the overlap here: a window that must cut
    one starts half the overlap before the cut, and a line's filters then see that line
    from the window's start, the approximation `windows` names.)"""
    data = b"".join(piece + between for piece, between in pieces)
    data *= 1 + 3 * (window + CUT_OVERLAP) // len(data)  # (three windows at least)
    scanner = Scanner(Settings(tuple(builtin_rules())))
    whole = [_place(f) for f in scanner.scan(data, "f")]
    chunks = (data[at : at + reads] for at in range(0, len(data), reads))
    saved = windows.WINDOW_BYTES, windows.OVERLAP_BYTES
    windows.WINDOW_BYTES, windows.OVERLAP_BYTES = window, CUT_OVERLAP
    try:
        cut = [_place(f) for f in windows.scan_in_windows(scanner, chunks, "f", stats=Stats())]
    finally:
        windows.WINDOW_BYTES, windows.OVERLAP_BYTES = saved
    assert sorted(cut) == sorted(whole)


def test_a_window_that_must_cut_a_token_finds_no_key_in_its_half() -> None:
    """A run of token bytes longer than half the overlap, where a window must end inside
    it: a key-shaped tail of the run is no key (the whole text says so: a token byte comes
    before it). The next window starts half the overlap earlier and does not own that
    part, rather than starting in the token and finding a key there."""
    run = b"x" * 43 + secret(91).encode()[:-1] + secret(90).encode()
    data = (b"\n" * 8 + run + b"\n" * 10) * 12
    scanner = Scanner(Settings(tuple(builtin_rules())))
    assert scanner.scan(data, "f") == []
    saved = windows.WINDOW_BYTES, windows.OVERLAP_BYTES
    for window in range(CUT_OVERLAP + 1, 4 * CUT_OVERLAP):
        windows.WINDOW_BYTES, windows.OVERLAP_BYTES = window, CUT_OVERLAP
        try:
            assert windows.scan_in_windows(scanner, [data], "f", stats=Stats()) == [], window
        finally:
            windows.WINDOW_BYTES, windows.OVERLAP_BYTES = saved


def _place(finding: Finding) -> tuple[str, int, int, str]:
    return (finding.rule_id, finding.line, finding.column, finding.secret.reveal())


def test_a_commit_message_past_the_limit_is_searched_in_windows(
    cli: CliRun, repo: Repo, tmp_path: Path
) -> None:
    """A message with no scissors line is kept whole by git, whatever its size: past the
    limit it is read once, its first part then the rest, a window at a time."""
    repo.write(".nexpay-scan.toml", f"[scan]\nmax_file_size = {LIMIT}\n")
    repo.commit("config")
    message = tmp_path / "COMMIT_EDITMSG"
    lines = ["release notes"] + [f"- change {n}" for n in range(3000)] + [f"key {secret(95)}"]
    message.write_text("\n".join(lines) + "\n")
    run = cli(
        "commit-msg", str(message), "--repo", str(repo.path), "--format", "json", "--no-redact"
    )
    assert run.code == 1, run.err
    assert found_keys(run) == [("(commit message)", 3002, 5, secret(95))]
    assert json_of(run)["summary"]["skipped"] == {}
