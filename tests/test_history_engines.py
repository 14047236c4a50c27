"""The blob engine and the diff engine through history give the same findings, for the
whole history and for every selection (a range, a branch, dates)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from testing.cli import CliRun
from testing.fast_import import commit_header, data, fast_import
from testing.git_repo import Repo, git
from testing.keys import client_id, legacy_secret, secret
from testing.processes import children


@pytest.fixture
def tangled(repo: Repo) -> Repo:
    """Branches, merges, renames, a revert, a key removed and re-added, a dangling blob."""
    body = "".join(f"line {i}\n" for i in range(40))
    repo.write("app/settings.py", body)
    repo.write("README.md", "docs\n")
    repo.commit("start")
    repo.write("app/settings.py", body + f'NEXPAY_SECRET = "{secret(1)}"\n')
    repo.commit("add key 1")
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("feature.env", f"NEXPAY_CLIENT_ID={client_id(1)}\nNEXPAY_SECRET={secret(2)}\n")
    repo.commit("feature key")
    (repo.path / "config").mkdir()
    repo.git("mv", "feature.env", "config/feature.env")
    repo.commit("rename with key")
    repo.git("checkout", "-q", "main")
    repo.write("other.yaml", f"nexpay:\n  secret: {legacy_secret(1)}\n")
    repo.commit("legacy key on main")
    repo.git("merge", "-q", "--no-ff", "feature", "-m", "merge feature")
    repo.write("app/settings.py", body)
    repo.commit("remove key 1")
    repo.write("app/settings.py", body + f'NEXPAY_SECRET = "{secret(1)}"  # again\n')
    readded = repo.commit("re-add key 1")
    repo.git("revert", "--no-edit", readded)
    repo.write("bin/cache.pyc", b"\x00\x01" + secret(3).encode() + b"\x00")
    repo.commit("binary with key")
    repo.git("checkout", "-q", "-b", "side", "HEAD~3")
    repo.write("side.txt", f"{secret(4)}\n")
    repo.commit("side branch key")
    repo.git("checkout", "-q", "main")
    dangling = repo.path / "dangling.txt"
    dangling.write_text(f"NEXPAY_SECRET={secret(5)}\n")
    repo.git("hash-object", "-w", str(dangling))
    dangling.unlink()
    return repo


def _history(cli: CliRun, repo: Repo, *args: str) -> list[dict[str, Any]]:
    run = cli("history", "--repo", str(repo.path), "--format", "json", "--no-redact", *args)
    assert run.code == 1, run.err
    findings: list[dict[str, Any]] = run.json()["findings"]
    return findings


def _key(f: dict[str, Any]) -> tuple[Any, ...]:
    return (f["match"], f.get("commit"), f["file"], f["line"], f["column"], f.get("occurrences"))


@pytest.mark.parametrize("extra", [[], ["--all-occurrences"]])
def test_blob_and_diff_engines_agree(cli: CliRun, tangled: Repo, extra: list[str]) -> None:
    diff = _history(cli, tangled, "--engine", "diff", *extra)
    one = _history(cli, tangled, "--engine", "blob", "--jobs", "1", *extra)
    two = _history(cli, tangled, "--engine", "blob", "--jobs", "2", *extra)
    history = [f for f in one if not f.get("unreachable")]
    assert sorted(map(_key, history)) == sorted(map(_key, diff))
    assert sorted(map(_key, one)) == sorted(map(_key, two))
    assert {f["match"] for f in diff} == {
        secret(1),
        secret(2),
        secret(3),
        secret(4),
        client_id(1),
        legacy_secret(1),
    }


def test_both_engines_count_every_commit(cli: CliRun, tangled: Repo) -> None:
    # the blob engine counts commits from its tree walk when it has one (a key was found)
    every = int(tangled.git("rev-list", "--all", "--count"))
    for engine in ("diff", "blob"):
        run = cli("history", "--repo", str(tangled.path), "--format", "json", "--engine", engine)
        assert run.json()["summary"]["commits_scanned"] == every, engine


def test_key_reintroduced_counts_occurrences_at_first_commit(cli: CliRun, tangled: Repo) -> None:
    [first] = [f for f in _history(cli, tangled) if f["match"] == secret(1)]
    message = tangled.git("log", "-1", "--format=%s", first["commit"]).strip()
    assert message == "add key 1"
    assert first["occurrences"] == 2


def test_dangling_blob_is_reported_apart(cli: CliRun, tangled: Repo) -> None:
    run = cli("history", "--repo", str(tangled.path), "--format", "json", "--no-redact")
    assert not [f for f in run.json()["findings"] if f.get("unreachable")]
    # in a work tree's repository it never left the machine: listed apart, as local only
    [dangling] = [f for f in run.json()["suppressed"] if f.get("unreachable")]
    assert "local only, never pushed" in dangling["suppression"]["justification"]
    assert dangling["match"] == secret(5)
    assert dangling["file"].startswith("(unreachable blob ")
    assert "commit" not in dangling
    assert "dangling" in dangling["notes"][0]


def test_rename_counts_as_an_occurrence_in_both_engines(cli: CliRun, tangled: Repo) -> None:
    for engine in ("blob", "diff"):
        found = _history(cli, tangled, "--engine", engine, "--all-occurrences")
        files = sorted(f["file"] for f in found if f["match"] == secret(2))
        assert files == ["config/feature.env", "feature.env"]


def _encoded_keys_repo(repo: Repo) -> Repo:
    import base64
    import io
    import zipfile

    repo.write("README.md", "hello\n")
    repo.commit("start")
    encoded_env = base64.b64encode(f"NEXPAY_SECRET={secret(6)}\n".encode() * 3)
    repo.write("deploy/env.b64", encoded_env + b"\n")
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zipped:
        zipped.writestr("app/.env", f"NEXPAY_SECRET={secret(7)}\n")
    repo.write("dist/bundle.zip", archive.getvalue())
    repo.write("win.txt", f"NEXPAY_SECRET={secret(8)}\r\n".encode("utf-16"))
    repo.commit("encoded keys")
    # a wholly base64 file, wrapped as `base64` does, where a later commit adds a key at
    # the end: that commit's patch does not touch the file's first line
    plain = "".join(f"SETTING_{n}=value number {n}\n" for n in range(12))
    wrapped = base64.encodebytes(plain.encode())
    repo.write("deploy/settings.b64", wrapped)
    repo.commit("settings")
    wrapped = base64.encodebytes(f"{plain}NEXPAY_SECRET={secret(10)}\n".encode())
    repo.write("deploy/settings.b64", wrapped)
    repo.commit("settings with a key")
    return repo


@pytest.mark.parametrize(
    "selection", [["--engine", "blob"], ["--engine", "diff"], ["HEAD~3..HEAD"]]
)
def test_keys_that_only_show_decoded_are_found_by_every_engine(
    cli: CliRun, repo: Repo, selection: list[str]
) -> None:
    found = {f["match"]: f for f in _history(cli, _encoded_keys_repo(repo), *selection)}
    assert set(found) == {secret(6), secret(7), secret(8), secret(10)}
    assert found[secret(6)]["file"] == "deploy/env.b64"
    assert "decoded from base64" in found[secret(6)]["notes"]
    assert found[secret(7)]["file"] == "dist/bundle.zip"
    assert any("zip" in note for note in found[secret(7)]["notes"])
    assert found[secret(10)]["file"] == "deploy/settings.b64"
    assert found[secret(10)]["commit"] == repo.git("rev-parse", "HEAD").strip()


def test_a_key_a_merge_itself_adds_is_found_by_both_engines(cli: CliRun, repo: Repo) -> None:
    repo.write("a.txt", "a\n")
    repo.commit()
    repo.git("checkout", "-q", "-b", "topic")
    repo.write("t.txt", "t\n")
    repo.commit()
    repo.git("checkout", "-q", "main")
    repo.write("m.txt", "m\n")
    repo.commit()
    repo.git("merge", "-q", "--no-commit", "topic")
    repo.write("evil.env", f"x\nNEXPAY_SECRET={secret(9)}\n")
    repo.write("a.txt", "a\nmore\n")
    merge = repo.commit("merge with a key of its own")
    for args in (["--engine", "blob"], ["--engine", "diff"], [f"{merge}^1..{merge}"]):
        [finding] = _history(cli, repo, *args)
        assert (finding["commit"], finding["file"], finding["line"]) == (merge, "evil.env", 2)


_OWN_RULE = """
[[rule]]
id = "tok"
description = "a repository's own token"
kind = "secret"
regex = 'tok_[0-9]{8}'
keywords = ["tok_"]
"""


@pytest.mark.parametrize("engine", ["blob", "diff"])
def test_a_repository_rule_with_its_own_keyword_is_found_by_both_engines(
    cli: CliRun, repo: Repo, engine: str
) -> None:
    # its keyword shares no letters with Nexpay's: the prefilter's one pass still finds it
    repo.write(".nexpay-scan.toml", _OWN_RULE)
    repo.write("deploy.env", "TOKEN=tok_12345678\n")
    repo.commit("token")
    repo.write("deploy.env", "TOKEN=\n")
    repo.commit("token removed")
    found = _history(cli, repo, "--engine", engine)
    assert [f["match"] for f in found] == ["tok_12345678"]
    assert found[0]["file"] == "deploy.env"


# -- selections: a range, a branch, dates, a push: both engines, the same findings ----------


def _both_engines(cli: CliRun, repo: Repo, *selection: str) -> list[dict[str, Any]]:
    """The findings of `history SELECTION` by each engine (and by `auto`), which agree:
    the same keys at the same commits and places, the same commits counted, the same
    files named as skipped; each key where it came in, and every occurrence."""
    found: list[dict[str, Any]] = []
    for extra in (["--all-occurrences"], []):
        runs = {}
        for engine in ("diff", "blob", "auto"):
            run = cli(
                "history", "--repo", str(repo.path), "--format", "json", "--no-redact",
                "--engine", engine, *extra, *selection,
            )  # fmt: skip
            assert run.code in (0, 1), run.err
            runs[engine] = run.json()
        diff, blob, auto = (runs[e] for e in ("diff", "blob", "auto"))
        for other in (blob, auto):
            assert sorted(map(_key, other["findings"])) == sorted(map(_key, diff["findings"]))
            for field in ("commits_scanned", "skipped_files"):
                assert other["summary"][field] == diff["summary"][field], field
        found = diff["findings"]
    return found


@pytest.mark.parametrize(
    "selection",
    [
        ["HEAD~4..HEAD"],
        ["--branch", "feature"],
        ["--branch", "side"],
        ["--since", "2024-01-05"],
        ["--until", "2024-01-04"],
        ["--branch", "feature", "--since", "2024-01-05"],  # (branches, but not alone)
        ["main~1..main"],  # a revert, then a binary file
        ["main~5..main~4"],  # a merge
        ["main~6..feature"],
    ],
)
def test_both_engines_agree_on_a_selection(
    cli: CliRun, tangled: Repo, selection: list[str]
) -> None:
    _both_engines(cli, tangled, *selection)


def test_both_engines_count_a_selections_commits(cli: CliRun, tangled: Repo) -> None:
    found = _both_engines(cli, tangled, "--branch", "feature")
    assert {f["match"] for f in found} == {secret(1), secret(2), client_id(1)}


def test_branches_with_no_key_in_their_files_are_counted_and_their_messages_scanned(
    cli: CliRun, repo: Repo
) -> None:
    # branches are listed by the objects their tips reach, and walked only when a blob
    # has a hit or is over the size limit: here neither, so the count comes from the
    # messages' log, which finds the key in a message and in a tag on a branch
    repo.write(".nexpay-scan.toml", "[scan]\nmax_file_size = 1000\n")
    repo.write("a.txt", "a\n")
    repo.commit("start")
    repo.git("checkout", "-q", "-b", "side")
    repo.write("b.txt", "b\n")
    sha = repo.commit(f"rotate NEXPAY_SECRET={secret(15)}")
    repo.git("tag", "-a", "v1", "-m", f"release NEXPAY_SECRET={secret(16)}")
    repo.git("checkout", "-q", "main")
    repo.write("c.txt", "c\n")
    repo.commit("main work")
    for branches in (
        ["--branch", "main"],
        ["--branch", "side"],
        ["--branch", "main", "--branch", "side"],
    ):
        found = _both_engines(cli, repo, *branches)
        expected = [("(commit message)", secret(15)), ("(tag message v1)", secret(16))]
        assert sorted((f["file"], f["match"]) for f in found) == (
            expected if "side" in branches else []
        )
    assert found[0]["commit"] == sha
    # a blob over the size limit: walked for the commit that adds it, searched a window at
    # a time
    repo.write("big.bin", "x " * 2500 + f"NEXPAY_SECRET={secret(17)}\n")
    big = repo.commit("a big file")
    found = _both_engines(cli, repo, "--branch", "main")
    assert [(f["file"], f["match"], f["commit"]) for f in found] == [("big.bin", secret(17), big)]
    run = cli("history", "--repo", str(repo.path), "--branch", "main", "--format", "json")
    assert run.json()["summary"]["skipped_files"] == []


def test_a_blob_older_than_the_range_added_again_is_found_by_both_engines(
    cli: CliRun, repo: Repo
) -> None:
    # the blob is in the history before the range: `rev-list --objects A..B` would not
    # list it, but the range's commits add it again (a revert, a copy)
    repo.write("a.env", f"NEXPAY_SECRET={secret(11)}\n")
    repo.commit("key")
    repo.write("a.env", "NEXPAY_SECRET=\n")
    removed = repo.commit("key removed")
    repo.git("revert", "--no-edit", removed)
    reverted = repo.git("rev-parse", "HEAD").strip()
    found = _both_engines(cli, repo, f"{removed}..HEAD")
    assert [(f["commit"], f["file"]) for f in found] == [(reverted, "a.env")]
    repo.write("b.env", (repo.path / "a.env").read_text())
    copied = repo.commit("copy")
    found = _both_engines(cli, repo, f"{reverted}..HEAD")
    assert [(f["commit"], f["file"]) for f in found] == [(copied, "b.env")]


def test_a_typechange_in_a_range_is_found_by_both_engines(cli: CliRun, repo: Repo) -> None:

    os.symlink("elsewhere", repo.path / "settings.env")
    repo.commit("a link")
    (repo.path / "settings.env").unlink()
    repo.write("settings.env", f"NEXPAY_SECRET={secret(12)}\n")
    changed = repo.commit("the link becomes a file")
    assert repo.git("show", "--raw", "--format=", changed).split()[4] == "T"
    found = _both_engines(cli, repo, "HEAD~1..HEAD")
    assert [(f["commit"], f["file"], f["match"]) for f in found] == [
        (changed, "settings.env", secret(12))
    ]


def test_a_commit_message_in_a_range_is_scanned_by_both_engines(cli: CliRun, repo: Repo) -> None:
    repo.write("a.txt", "a\n")
    repo.commit("start")
    repo.write("a.txt", "b\n")
    sha = repo.commit(f"rotate NEXPAY_SECRET={secret(13)}")
    repo.git("tag", "-a", "v1", "-m", f"release NEXPAY_SECRET={secret(14)}")
    found = _both_engines(cli, repo, "HEAD~1..HEAD")
    assert sorted((f["file"], f["match"]) for f in found) == [
        ("(commit message)", secret(13)),
        ("(tag message v1)", secret(14)),
    ]
    assert found[0]["commit"] == sha


@pytest.mark.parametrize("engine", ["diff", "blob"])
def test_a_range_that_fails_at_once_stops_reading_its_messages(
    cli: CliRun, repo: Repo, engine: str
) -> None:
    """A range's commit messages are read beside its scan. When the scan fails at its
    newest commit (a blob gone), the messages' git, still reading 20,000 long messages,
    is stopped and reaped before the run ends: no git of the scan's is left behind."""
    repo.write("a.txt", "start\n")
    start = repo.commit("start")
    stream = [commit_header(b"refs/heads/main", 1704300000 + n, b"m" * 16_000 + b"\n")
              + (b"from " + start.encode() + b"\n" if n == 0 else b"")
              for n in range(20_000)]  # fmt: skip
    fast_import(repo.path, b"".join(stream))
    repo.write("b.txt", "a file whose blob goes missing\n")
    repo.commit("b")
    sha = repo.git("rev-parse", "HEAD:b.txt").strip()
    (repo.path / ".git" / "objects" / sha[:2] / sha[2:]).unlink()
    before = children()
    run = cli("history", "--repo", str(repo.path), "--engine", engine, f"{start}..HEAD")
    assert run.code == 2, run.out
    assert children() <= before


@pytest.mark.parametrize("engine", ["diff", "blob"])
@pytest.mark.parametrize(
    ("selection", "missing"),
    [
        (["HEAD~1..HEAD"], "HEAD:d/b.txt"),
        # a branch's objects are listed as git finds them: a listing cut short by a
        # missing tree fails the scan, never passes over what it did not list
        (["--branch", "main"], "HEAD~1:d"),
    ],
)
def test_a_missing_object_fails_both_engines(
    cli: CliRun, repo: Repo, engine: str, selection: list[str], missing: str
) -> None:
    repo.write("d/a.txt", "start\n")
    repo.commit("start")
    repo.write("d/b.txt", "a file whose blob goes missing\n")
    repo.commit("b")
    sha = repo.git("rev-parse", missing).strip()
    (repo.path / ".git" / "objects" / sha[:2] / sha[2:]).unlink()
    before = children()
    run = cli("history", "--repo", str(repo.path), "--engine", engine, *selection)
    assert run.code == 2, run.out
    assert len(run.err.strip().splitlines()) == 1 and "Traceback" not in run.err
    # (the range's suppression log, started beside the scan, is stopped and reaped too)
    assert children() <= before


@pytest.mark.parametrize("selection", [[], ["main~3..main"]])
def test_blob_readers_in_threads_find_what_reader_processes_find(
    cli: CliRun, tangled: Repo, monkeypatch: pytest.MonkeyPatch, selection: list[str]
) -> None:
    """Where fork is unavailable the blob engine reads in threads: the same findings."""
    from nexpay_scan.sources import blob_processes

    args = ("--engine", "blob", "--jobs", "2", *selection)
    in_processes = sorted(map(_key, _history(cli, tangled, *args)))
    monkeypatch.setattr(blob_processes, "can_fork", lambda: False)
    in_threads = sorted(map(_key, _history(cli, tangled, *args)))
    assert in_threads == in_processes
    assert in_processes


def test_a_scan_beside_another_thread_reads_in_threads_and_finds_the_same(
    cli: CliRun, tangled: Repo
) -> None:
    """An embedding program with a thread of its own running: forking then could leave a
    lock held in the readers, so they are threads, and the findings stay the same."""
    import threading

    from nexpay_scan.sources import blob_processes

    args = ("--engine", "blob", "--jobs", "2")
    alone = sorted(map(_key, _history(cli, tangled, *args)))
    release = threading.Event()
    beside = threading.Thread(target=release.wait)
    beside.start()
    try:
        assert not blob_processes.can_fork()
        with_thread = sorted(map(_key, _history(cli, tangled, *args)))
    finally:
        release.set()
        beside.join()
    assert with_thread == alone
    assert alone


@pytest.fixture
def deltified(repo: Repo) -> Repo:
    return _deltified(repo)


def _deltified(repo: Repo) -> Repo:
    """Sixty versions of two files packed as deep delta chains (plus a second pack and a
    loose blob), with keys in versions that are deltas of versions without one."""
    body = "".join(f"setting_{i} = {i * 7}\n" for i in range(300))
    keys = {7: secret(1), 23: secret(2), 41: client_id(1), 58: secret(3)}
    for version in range(60):
        extra = f'NEXPAY_SECRET = "{keys[version]}"\n' if version in keys else ""
        repo.write("app/settings.py", body + f"version = {version}\n" + extra)
        repo.write("docs/notes.md", body.replace("setting", "note") + f"v{version}\n")
        repo.commit(f"version {version}")
    repo.git("repack", "-adf", "--depth=50", "--window=50")
    for version in range(60, 64):
        extra = f"NEXPAY_SECRET={secret(4)}\n" if version == 62 else ""
        repo.write("app/settings.py", body + f"version = {version}\n" + extra)
        repo.commit(f"version {version}")
    repo.git("repack", "-d", "--depth=50")  # a second pack of the new objects
    repo.write("late.env", f"NEXPAY_SECRET={secret(5)}\n")
    repo.commit("a loose blob")
    return repo


@pytest.mark.parametrize("window", [None, 3])
def test_engines_agree_on_blobs_packed_as_deltas(
    cli: CliRun, deltified: Repo, monkeypatch: pytest.MonkeyPatch, window: int | None
) -> None:
    """The blob engine reads the store in delta-family order, a window at a time: every
    key in a deep delta chain is found, at the same commit as by the diff engine, however
    many windows the store is cut into."""
    from nexpay_scan.sources import blobs

    deltas = deltified.git(
        "cat-file", "--batch-all-objects", "--batch-check=%(objecttype) %(deltabase)"
    )
    bases = [line.split()[1] for line in deltas.splitlines() if line.startswith("blob ")]
    assert sum(1 for base in bases if base.strip("0")) > 100  # most blobs are deltas
    if window is not None:
        monkeypatch.setattr(blobs, "WINDOW_BLOBS", window)
    diff = sorted(map(_key, _history(cli, deltified, "--engine", "diff")))
    for jobs in ("1", "2"):
        blob = _history(cli, deltified, "--engine", "blob", "--jobs", jobs)
        assert sorted(map(_key, blob)) == diff
    assert {f[0] for f in diff} == {secret(1), secret(2), secret(3), secret(4), secret(5)} | {
        client_id(1)
    }


def test_big_blobs_with_four_readers_give_every_key(
    cli: CliRun, repo: Repo, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Blobs big enough that only two of the readers take them (the memory bound; here
    lowered to 256 KB, with batches of 64 KB, or 32 KB read in process) beside small ones,
    read by four readers: the findings of one reader and of the diff engine, for the
    whole history and a range."""
    from nexpay_scan.sources import blobs

    monkeypatch.setattr(blobs, "BIG_BATCH", 256 << 10)
    monkeypatch.setattr(blobs, "CHUNK_BYTES", 64 << 10)
    monkeypatch.setattr(blobs, "IN_PROCESS_CHUNK_BYTES", 32 << 10)
    repo.write("start.txt", "start\n")
    repo.commit("start")
    for n in range(6):
        lines = "".join(f"row {n} {i} of a big generated file\n" for i in range(8_000))
        repo.write(f"big{n}.txt", lines + f"NEXPAY_SECRET={secret(30 + n)}\n")
        repo.write(f"small{n}.env", f"NEXPAY_SECRET={secret(40 + n)}\n")
        repo.commit(f"big {n}")
    assert (repo.path / "big0.txt").stat().st_size > 256 << 10
    for selection in ([], ["HEAD~6..HEAD"]):
        diff = sorted(map(_key, _history(cli, repo, "--engine", "diff", *selection)))
        for jobs in ("1", "4"):
            blob = _history(cli, repo, "--engine", "blob", "--jobs", jobs, *selection)
            assert sorted(map(_key, blob)) == diff
        assert {f[0] for f in diff} == {secret(k) for k in (*range(30, 36), *range(40, 46))}


def test_engines_agree_on_a_sha256_store(cli: CliRun, tmp_path: Path) -> None:
    """Object ids of 64 hex digits (and delta bases "0" * 64 where none): the store's
    delta-family order reads every blob there too."""
    path = tmp_path / "sha256"
    path.mkdir()
    git(path, "init", "-q", "-b", "main", "--object-format=sha256")
    repo = _deltified(Repo(path))
    assert len(repo.git("rev-parse", "HEAD").strip()) == 64
    diff = sorted(map(_key, _history(cli, repo, "--engine", "diff")))
    for jobs in ("1", "2"):
        assert sorted(map(_key, _history(cli, repo, "--engine", "blob", "--jobs", jobs))) == diff
    assert len(diff) == 6


def _blobs_listed(repo: Repo) -> tuple[list[bytes], list[int]]:
    listing = repo.git(
        "cat-file", "--batch-all-objects", "--batch-check=%(objectname) %(objecttype) %(objectsize)"
    )
    blobs = [line.split() for line in listing.splitlines() if " blob " in line]
    return [sha.encode() for sha, _, _ in blobs], [int(size) for _, _, size in blobs]


def test_blobs_read_in_this_process_come_as_git_cat_file_writes_them(deltified: Repo) -> None:
    """A whole history's blobs are read in the reader's own process through libgit2 (no
    pipe from a git): every blob of a store of deep delta chains, two packs and a loose
    object comes framed byte for byte as `git cat-file --batch` writes it."""
    from nexpay_scan.sources import object_store

    assert object_store.load()
    store = object_store.opened(deltified.path)
    assert store is not None
    ids, sizes = _blobs_listed(deltified)
    assert len(ids) > 120
    assert store.block(ids, sizes) == object_store.read_by_git(deltified.path, (), ids)


def test_a_batch_libgit2_cannot_read_as_listed_is_left_to_git(deltified: Repo) -> None:
    """An object libgit2 does not find, one that is no blob, or a blob of another size
    than listed: the batch is not read here (git reads it, and says what is wrong)."""
    from nexpay_scan.sources import object_store

    assert object_store.load()
    store = object_store.opened(deltified.path)
    assert store is not None
    ids, sizes = _blobs_listed(deltified)
    tree = deltified.git("rev-parse", "HEAD^{tree}").strip().encode()
    assert store.block(ids[:3], sizes[:3]) is not None
    assert store.block([*ids[:3], b"0" * 40], [*sizes[:3], 10]) is None
    assert store.block([*ids[:3], tree], [*sizes[:3], 100]) is None
    assert store.block(ids[:3], [*sizes[:2], sizes[2] + 1]) is None
    assert object_store.read_by_git(deltified.path, (), [b"0" * 40]) == b"0" * 40 + b" missing\n"


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_blobs_read_in_process_or_by_git_give_the_same_findings(
    cli: CliRun, tangled: Repo, monkeypatch: pytest.MonkeyPatch, jobs: str
) -> None:
    """Where git's objects may be elsewhere than libgit2 would look (GIT_DIR, or a
    pre-receive hook's quarantine, set in the environment), git reads a whole history's
    blobs: the findings are the same either way."""
    args = ("--engine", "blob", "--jobs", jobs)
    in_process = sorted(map(_key, _history(cli, tangled, *args)))
    monkeypatch.setenv("GIT_DIR", str(tangled.path / ".git"))
    by_git = sorted(map(_key, _history(cli, tangled, *args)))
    assert by_git == in_process
    assert in_process


def test_a_store_of_hundreds_of_packs_is_read_whole(cli: CliRun, tmp_path: Path) -> None:
    """A clone never repacked holds a pack per fetch: here more packs than libgit2 keeps
    open at once (`object_store._OPEN_PACKS`). Every blob is read, and the findings are
    the diff engine's."""
    from nexpay_scan.sources import object_store

    path = tmp_path / "packs"
    path.mkdir()
    git(path, "init", "-q", "-b", "main")
    git(path, "config", "fastimport.unpackLimit", "0")  # (else small packs go loose)
    stream = []
    for n in range(300):
        content = f"NEXPAY_SECRET={secret(n)}\n" if n % 50 == 7 else f"setting = {n}\n"
        stream += [
            commit_header(b"refs/heads/main", 1_700_000_000 + n),
            b"M 100644 inline f%d.env\n" % n,
            data(content.encode()),
            b"checkpoint\n",  # (fast-import ends its pack and starts another)
        ]
    fast_import(path, b"".join(stream))
    packs = list((path / ".git" / "objects" / "pack").glob("*.pack"))
    assert len(packs) > object_store._OPEN_PACKS
    repo = Repo(path)
    diff = sorted(map(_key, _history(cli, repo, "--engine", "diff")))
    blob = _history(cli, repo, "--engine", "blob", "--jobs", "2")
    assert sorted(map(_key, blob)) == diff
    assert len(diff) == 6


def test_a_corrupt_pack_fails_in_process_as_through_git(
    cli: CliRun, deltified: Repo, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Bytes of a pack overwritten (a disk error, a bad copy): libgit2 cannot read the
    batch, git is asked, and the scan fails with git's one-line error, as when git reads
    every blob (`GIT_DIR` set): never a clean result, never a traceback."""
    pack = next((deltified.path / ".git" / "objects" / "pack").glob("*.pack"))
    pack.chmod(0o644)
    data = bytearray(pack.read_bytes())
    for offset in range(len(data) // 3, len(data) // 3 + 200, 7):
        data[offset] ^= 0x5A
    pack.write_bytes(bytes(data))
    in_process = cli("history", "--repo", str(deltified.path), "--engine", "blob")
    monkeypatch.setenv("GIT_DIR", str(deltified.path / ".git"))
    by_git = cli("history", "--repo", str(deltified.path), "--engine", "blob")
    assert in_process.code == by_git.code == 2
    # (git names the pack from the repository's top, or as GIT_DIR names it)
    assert in_process.err == by_git.err.replace(f"{deltified.path}/", "")
    assert len(in_process.err.strip().splitlines()) == 1 and "Traceback" not in in_process.err


@pytest.mark.parametrize("threads", [False, True])
@pytest.mark.parametrize("selection", [[], ["HEAD~40..HEAD"]])
def test_a_reader_that_fails_stops_the_dealing_and_the_scan(
    cli: CliRun,
    deltified: Repo,
    monkeypatch: pytest.MonkeyPatch,
    threads: bool,
    selection: list[str],
) -> None:
    """A blob reader that cannot read its batch (a corrupt pack), among four, in processes
    or in threads, for the whole history or a range: the dealing stops (no reader is left
    waiting for a batch, none for a place), the scan fails with one line, and no process
    it started is left behind."""
    from nexpay_scan.sources import blob_processes

    # the packed bytes of a blob both selections read (a version of the range's), spoiled
    wanted = deltified.git("rev-parse", "HEAD~10:app/settings.py").strip()
    for index in (deltified.path / ".git" / "objects" / "pack").glob("*.idx"):
        listed = deltified.git("verify-pack", "-v", str(index)).splitlines()
        entry = next((line.split() for line in listed if line.startswith(wanted)), None)
        if entry is not None:
            break
    assert entry is not None
    pack = index.with_suffix(".pack")
    pack.chmod(0o644)
    data = bytearray(pack.read_bytes())
    in_pack, offset = int(entry[3]), int(entry[4])
    for at in range(offset + in_pack // 3, offset + in_pack - 1, 3):
        data[at] ^= 0x5A
    pack.write_bytes(bytes(data))
    if threads:
        monkeypatch.setattr(blob_processes, "can_fork", lambda: False)
    before = children()
    run = cli(
        "history", "--repo", str(deltified.path), "--engine", "blob", "--jobs", "4", *selection
    )
    assert run.code == 2, run.out
    assert len(run.err.strip().splitlines()) == 1 and "Traceback" not in run.err
    assert "the object store is corrupt" in run.err  # (a reader's error, not the walk's)
    assert children() <= before


@pytest.mark.parametrize("selection", [[], ["HEAD~40..HEAD"]])
def test_a_reader_that_dies_without_a_word_fails_the_scan(
    cli: CliRun, deltified: Repo, monkeypatch: pytest.MonkeyPatch, selection: list[str]
) -> None:
    """A forked blob reader that dies mid-scan without answering (a crash in a library,
    the kernel's OOM killer): the dealing stops and the scan fails closed with one line,
    never a clean result from the blobs the others read."""
    from nexpay_scan.sources import blobs

    parent = os.getpid()
    search = blobs._search_block

    def dying(*args: Any, **kwargs: Any) -> set[bytes]:
        if os.getpid() != parent:  # in a forked reader only
            os._exit(9)
        return search(*args, **kwargs)

    monkeypatch.setattr(blobs, "_search_block", dying)
    # (small batches: every reader is dealt some, this process's own too)
    monkeypatch.setattr(blobs, "CHUNK_BYTES", 4 << 10)
    monkeypatch.setattr(blobs, "IN_PROCESS_CHUNK_BYTES", 4 << 10)
    before = children()
    run = cli(
        "history", "--repo", str(deltified.path), "--engine", "blob", "--jobs", "2", *selection
    )
    assert run.code == 2, run.out
    assert run.err.strip() == "nexpay-scan: error: a blob reader ended without a result"
    assert children() <= before
