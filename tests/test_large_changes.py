"""Commits and files too big to hold: streamed, scanned blob by blob, a big blob a window
at a time (tests/test_big_content.py has the windows themselves).

The size limits are set low here (`max_file_size` in the repository's config, and the
record and patch caps) so that a few hundred KB show what a few hundred MB would do; the
memory itself is measured by bench/memory.py, not here.
"""

from __future__ import annotations

import io
import random
from pathlib import Path
from typing import Any

import pytest

from nexpay_scan.sources import gitlog, history, staged
from nexpay_scan.sources.blob_reader import BlobReader
from nexpay_scan.sources.gitlog import LongRecord, marked_blocks, marked_records
from testing.cli import CliRun, Result, run_cli
from testing.git_repo import Repo
from testing.keys import client_id, secret

LIMIT = 1_000_000  # max_file_size in these repositories' config
SMALL_CAP = 64 * 1024  # a commit's record or a staged patch past this is not held


def _json(run: Result) -> dict[str, Any]:
    assert "Traceback" not in run.err, run.err
    document: dict[str, Any] = run.json()
    return document


def _found(run: Result) -> list[tuple[str, int, str]]:
    """(file, line, full credential) of each finding; needs --no-redact."""
    return sorted((f["file"], f["line"], f["match"]) for f in _json(run)["findings"])


def _skipped(run: Result) -> list[tuple[str, str]]:
    """(file, reason) of each file named as skipped."""
    return sorted((s["file"], s["reason"]) for s in _json(run)["summary"]["skipped_files"])


def _filler(seed: int, size: int) -> str:
    rng = random.Random(seed)
    words = ("ledger", "refund", "payout", "cursor", "window", "status", "batch", "index")
    lines = []
    total = 0
    while total < size:
        line = f"{rng.choice(words)}_{rng.randrange(10**6)} = {rng.choice(words)}({total})"
        lines.append(line)
        total += len(line) + 1
    return "\n".join(lines) + "\n"


HUGE_LINE = _filler(99, 2_000_000).count("\n") + 1  # the key's line in data/huge.txt


def _oversized_commit(repo: Repo) -> str:
    """A commit of many files (about 400 KB in all), a 2 MB file over the limit holding a
    key, and a key in a file deep in the commit (line 3 of 600 KB)."""
    repo.write(".nexpay-scan.toml", f"[scan]\nmax_file_size = {LIMIT}\n")
    repo.commit("config")
    for n in range(40):
        repo.write(f"vendor/lib{n:02d}.py", _filler(n, 10_000))
    repo.write("data/huge.txt", _filler(99, 2_000_000) + f"NEXPAY_SECRET={secret(9)}\n")
    repo.write("deep/app.env", f"# app\n\nNEXPAY_SECRET={secret(1)}\n" + _filler(7, 600_000))
    return repo.commit("an oversized commit")


def _history(cli: CliRun, repo: Repo, *args: str) -> Result:
    run: Result = cli("history", "--repo", str(repo.path), "--format", "json", "--no-redact", *args)
    return run


@pytest.mark.parametrize("cap", [SMALL_CAP, history.RECORD_CAP])
def test_oversized_commit_finds_every_key_the_big_file_included(
    cli: CliRun, repo: Repo, monkeypatch: pytest.MonkeyPatch, cap: int
) -> None:
    sha = _oversized_commit(repo)
    monkeypatch.setattr(history, "RECORD_CAP", cap)
    selections = (["HEAD~1..HEAD", "--engine", "diff"], ["HEAD~1..HEAD", "--engine", "blob"])
    for args in (*selections, ["--engine", "diff"], ["--engine", "blob"]):
        run = _history(cli, repo, *args)
        assert run.code == 1, run.err
        assert _found(run) == [
            ("data/huge.txt", HUGE_LINE, secret(9)),
            ("deep/app.env", 3, secret(1)),
        ], args
        assert [f["commit"] for f in _json(run)["findings"]] == [sha, sha]
        assert _skipped(run) == []


def test_oversized_commit_finds_what_the_patch_finds(
    cli: CliRun, repo: Repo, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Keys added in a big commit, one moved within a file, one already there in an
    edited file, a key in base64: blob by blob, the same findings as from the patch."""
    repo.write(".nexpay-scan.toml", f"[scan]\nmax_file_size = {LIMIT}\n")
    repo.write("kept.env", f"NEXPAY_CLIENT_ID={client_id(3)}\n" + _filler(3, 20_000))
    repo.commit("first")
    for n in range(30):
        repo.write(f"vendor/lib{n:02d}.py", _filler(n, 5_000))
    repo.write("kept.env", f"NEXPAY_CLIENT_ID={client_id(3)}\n" + _filler(4, 20_000))
    repo.write("new.env", f"NEXPAY_CLIENT_ID={client_id(2)}\nNEXPAY_SECRET={secret(2)}\n")
    repo.write("deep.py", _filler(5, 80_000) + f'NEXPAY_SECRET = "{secret(3)}"\n')
    encoded = __import__("base64").b64encode(f"NEXPAY_SECRET={secret(4)}\n".encode())
    repo.write("blob.b64", encoded.decode() + "\n")
    repo.commit("big")
    whole = _history(cli, repo, "--engine", "diff")
    monkeypatch.setattr(history, "RECORD_CAP", SMALL_CAP)
    streamed = _history(cli, repo, "--engine", "diff")
    assert streamed.code == whole.code == 1
    assert _found(streamed) == _found(whole)
    assert {f[0] for f in _found(whole)} == {"kept.env", "new.env", "deep.py", "blob.b64"}


def test_single_huge_file_commit_is_searched_in_windows_and_its_neighbour_scanned(
    cli: CliRun, repo: Repo, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo.write(".nexpay-scan.toml", f"[scan]\nmax_file_size = {LIMIT}\n")
    repo.commit("config")
    repo.write("one-line.min.js", "x" * 3_000_000 + f" {secret(5)}")
    repo.write("keys.env", f"NEXPAY_SECRET={secret(6)}\n")
    sha = repo.commit("one huge line")
    for cap in (SMALL_CAP, history.RECORD_CAP):
        monkeypatch.setattr(history, "RECORD_CAP", cap)
        run = _history(cli, repo, "HEAD~1..HEAD")
        assert run.code == 1, run.err
        assert _found(run) == [("keys.env", 1, secret(6)), ("one-line.min.js", 1, secret(5))]
        assert {f["commit"] for f in _json(run)["findings"]} == {sha}
        assert _skipped(run) == []


def test_oversized_staged_diff_is_scanned_blob_by_blob(
    cli: CliRun, repo: Repo, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo.write(".nexpay-scan.toml", f"[scan]\nmax_file_size = {LIMIT}\n")
    repo.write("kept.env", f"NEXPAY_SECRET={secret(7)}\n")
    repo.commit("first")
    for n in range(30):
        repo.write(f"vendor/lib{n:02d}.py", _filler(n, 5_000))
    repo.write("kept.env", f"NEXPAY_SECRET={secret(7)}\n# edited\n")
    repo.write("deep/app.env", _filler(8, 100_000) + f"NEXPAY_SECRET={secret(8)}\n")
    repo.write("huge.txt", _filler(9, 1_500_000) + f"NEXPAY_SECRET={secret(9)}\n")
    repo.stage()
    for cap in (SMALL_CAP, staged.PATCH_CAP):
        monkeypatch.setattr(staged, "PATCH_CAP", cap)
        run = cli("staged", "--repo", str(repo.path), "--format", "json", "--no-redact")
        assert run.code == 1, run.err
        line = _filler(8, 100_000).count("\n") + 1
        huge = _filler(9, 1_500_000).count("\n") + 1
        assert _found(run) == [("deep/app.env", line, secret(8)), ("huge.txt", huge, secret(9))]
        assert _skipped(run) == []


def test_huge_staged_file_over_the_default_limit_is_searched_in_windows(
    cli: CliRun, repo: Repo
) -> None:
    """Over the default limit git shows the file as binary (it does not read it whole) and
    the scan reads it a window at a time."""
    repo.commit("first")
    with open(repo.path / "big.bin", "wb") as out:
        out.truncate(51 * 1024 * 1024)  # sparse: 51 MB of NUL bytes, cheap to write
    repo.write("keys.env", f"NEXPAY_SECRET={secret(10)}\n")
    repo.stage()
    run = cli("staged", "--repo", str(repo.path), "--format", "json", "--no-redact")
    assert run.code == 1 and _found(run) == [("keys.env", 1, secret(10))]
    assert _skipped(run) == [] and _json(run)["summary"]["bytes_scanned"] > 51 * 1024 * 1024


def test_files_and_stdin_past_the_limit_are_searched_in_windows(cli: CliRun, repo: Repo) -> None:
    repo.write(".nexpay-scan.toml", f"[scan]\nmax_file_size = {LIMIT}\n")
    repo.write("big.txt", _filler(1, 2_000_000) + f"NEXPAY_SECRET={secret(11)}\n")
    config = ("--config", str(repo.path / ".nexpay-scan.toml"))
    run = cli("files", str(repo.path / "big.txt"), *config, "--format", "json", "--no-redact")
    line = _filler(1, 2_000_000).count("\n") + 1
    assert run.code == 1 and _found(run) == [("big.txt", line, secret(11))]
    assert _skipped(run) == []
    big = (_filler(2, 2_000_000) + f"NEXPAY_SECRET={secret(12)}\n").encode()
    piped = run_cli("files", "-", *config, "--format", "json", "--no-redact", stdin=big)
    line = _filler(2, 2_000_000).count("\n") + 1
    assert piped.code == 1 and _found(piped) == [("<stdin>", line, secret(12))]
    assert _skipped(piped) == []


# -- the readers themselves ----------------------------------------------------------------

MARK = b"\x01mark\x01"


def _stream(records: list[bytes]) -> io.BytesIO:
    return io.BytesIO(b"".join(MARK + r for r in records))


@pytest.mark.parametrize("size", [1, 3, 7, 64])
def test_marked_records_never_cut_a_record_and_never_hold_a_long_one(size: int) -> None:
    rng = random.Random(size)
    records = [
        bytes(rng.choice(b"ab\x01") for _ in range(rng.randrange(0, 300))) for _ in range(60)
    ]
    records = [r.replace(b"mark", b"") for r in records]
    cap = 40
    seen: list[bytes] = []
    for block in marked_records(_stream(records), MARK, size, cap):
        if isinstance(block, LongRecord):
            assert len(block.head) <= cap + 2 * size + len(MARK)
            pieces = [block.head, *block.rest()]
            assert all(len(p) <= size + len(MARK) for p in pieces[1:])
            seen.append(b"".join(pieces))
        else:
            assert len(block) <= cap + 2 * size + len(MARK)
            seen.extend(MARK + part for part in block.split(MARK)[1:])
    assert seen == [MARK + r for r in records]
    assert b"".join(marked_blocks(_stream(records), MARK, size)) == _stream(records).getvalue()


def test_a_long_record_left_unread_is_passed_over() -> None:
    records = [b"a" * 10, b"b" * 500, b"c" * 10, b"d" * 10]
    out = []
    for block in marked_records(_stream(records), MARK, 16, 100):
        out.append(block.head[: len(MARK) + 1] if isinstance(block, LongRecord) else block)
    assert out[:2] == [MARK + b"a" * 10, MARK + b"b"]
    assert b"".join(out[2:]) == MARK + b"c" * 10 + MARK + b"d" * 10


def test_blob_reader_checks_the_size_before_reading(repo: Repo) -> None:
    repo.write("big.txt", "0123456789" * 100_000 + secret(13))
    repo.write("small.txt", "hello\n")
    repo.commit("blobs")
    with BlobReader(repo.path) as blobs:
        assert blobs.read_within("HEAD:big.txt", 1000) == 1_000_000 + len(secret(13))
        assert blobs.read_within("HEAD:small.txt", 1000) == b"hello\n"  # in step after a skip
        assert blobs.head("HEAD:big.txt", 12) == b"012345678901"
        wanted = {secret(13).encode(), b"absent", b"89012"}
        assert blobs.holding("HEAD:big.txt", wanted) == {secret(13).encode(), b"89012"}
        assert blobs.read_within("HEAD:nope", 10) is None
        assert blobs.read("HEAD:small.txt") == b"hello\n"


def test_streamed_raw_records_end_where_the_patch_begins() -> None:
    meta = b":100644 100644 " + b"1" * 40 + b" " + b"2" * 40 + b" M"
    raw = b"".join(meta + b"\0" + f"dir/f{n}\0".encode() for n in range(50))
    data = raw + b"\0diff --git a/x b/x\n:not a record\0x\0"
    for size in (1, 5, 77):
        pieces = (data[i : i + size] for i in range(size, len(data), size))
        changes = list(gitlog.streamed_changes(data[:size], pieces))
        assert [c.path for c in changes] == [f"dir/f{n}" for n in range(50)], size
        assert {c.new_sha for c in changes} == {"2" * 40}


def test_added_lines_are_held_as_runs(tmp_path: Path) -> None:
    from nexpay_scan.sources.patch import added_lines, added_spans

    section = (
        b"diff --git a/x b/x\n@@ -0,0 +1,5 @@\n+a\n+b\n c\n+d\n+e\n@@ -9 +20,2 @@\n+f\n-g\n+h\n"
    )
    assert list(added_spans(section)) == [(1, 3), (4, 6), (20, 22)]
    assert added_lines(section) == {1, 2, 4, 5, 20, 21}
    assert 3 not in added_spans(section) and 21 in added_spans(section)


@pytest.mark.parametrize("engine", ["diff", "blob"])
def test_a_path_that_once_held_a_huge_blob_is_still_scanned_when_small(
    cli: CliRun, repo: Repo, engine: str
) -> None:
    """Paths where a blob over the limit appears are kept out of `git log -p` (git would
    read the blob whole); their other versions are still scanned, from the blobs."""
    repo.write(".nexpay-scan.toml", f"[scan]\nmax_file_size = {LIMIT}\n")
    repo.write("data/dump.sql", "small\n")
    repo.commit("config")
    repo.write("data/dump.sql", _filler(3, 2_000_000) + f"NEXPAY_SECRET={secret(21)}\n")
    big = repo.commit("a huge dump")
    repo.write("data/dump.sql", f"-- trimmed\nNEXPAY_SECRET={secret(22)}\n")
    repo.write("app.env", f"NEXPAY_SECRET={secret(23)}\n")
    repo.commit("trimmed, with a key, and a neighbour")
    run = cli(
        "history", "--repo", str(repo.path), "--engine", engine, "--format", "json", "--no-redact"
    )
    assert run.code == 1, run.err
    assert sorted((f["file"], f["match"], f["commit"] == big) for f in _json(run)["findings"]) == [
        ("app.env", secret(23), False),
        ("data/dump.sql", secret(21), True),
        ("data/dump.sql", secret(22), False),
    ]
    assert _json(run)["summary"]["skipped_files"] == []
