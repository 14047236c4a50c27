"""Git LFS: a file git-lfs tracks is committed as a pointer, its content kept in
`.git/lfs/objects` and pushed to an LFS server. Every git mode scans a pointer's change as
the file's content, read from the local store, and names the file as not scanned when
the object is not here.

git-lfs itself is not needed to make that state: its clean filter writes the object under
`.git/lfs/objects/<oid[0:2]>/<oid[2:4]>/<oid>` and stages the pointer the spec describes,
which is what `_track` writes here (with the `.gitattributes` line `git lfs track` adds);
git is real, and sees exactly what it sees in a repository git-lfs manages.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from testing.cli import CliRun, Result
from testing.git_repo import Repo, pre_receive_server, push
from testing.keys import secret
from testing.results import audit_report, found_keys, history_json, json_of

NOT_HERE = "a Git LFS object not in this repository (run `git lfs fetch`): its content not scanned"
SELECTIONS: tuple[list[str], ...] = ([], ["--branch", "main"], ["HEAD~1..HEAD"])


def _track(repo: Repo, path: str, content: bytes, *, store: Path | None = None) -> str:
    """`path` as git-lfs leaves it once added: its content in the LFS store (`store`, or
    the repository's own), the pointer in the work tree. The object's id."""
    oid = hashlib.sha256(content).hexdigest()
    objects = store if store is not None else repo.path / ".git" / "lfs" / "objects"
    folder = objects / oid[:2] / oid[2:4]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / oid).write_bytes(content)
    pointer = f"version https://git-lfs.github.com/spec/v1\noid sha256:{oid}\nsize {len(content)}\n"
    repo.write(path, pointer)
    repo.write(".gitattributes", "*.env filter=lfs diff=lfs merge=lfs -text\n")
    return oid


def _settings(*keys: str) -> bytes:
    return (
        "# deploy settings\nREGION=eu\n" + "".join(f"NEXPAY_SECRET={k}\n" for k in keys)
    ).encode()


def _staged(cli: CliRun, repo: Repo, *args: str) -> Result:
    return cli("staged", "--repo", str(repo.path), "--format", "json", "--no-redact", *args)


def _start(repo: Repo) -> None:
    repo.write("README.md", "docs\n")
    repo.commit("start")


def test_a_key_in_lfs_content_blocks_the_commit(cli: CliRun, repo: Repo) -> None:
    _start(repo)
    oid = _track(repo, "deploy/prod.env", _settings(secret(1)))
    repo.stage()
    run = _staged(cli, repo)
    assert run.code == 1, run.err
    assert found_keys(run) == [("deploy/prod.env", 3, 15, secret(1))]
    [finding] = json_of(run)["findings"]
    assert finding["notes"] == [f"in the Git LFS object {oid[:12]}… (git holds a pointer to it)"]
    text = cli("staged", "--repo", str(repo.path))
    assert "deploy/prod.env:3:15" in text.out and secret(1) not in text.out + text.err


@pytest.mark.parametrize("engine", ["blob", "diff"])
def test_history_finds_what_the_work_tree_shows(
    cli: CliRun, repo: Repo, tmp_path: Path, engine: str
) -> None:
    """The same keys at the same places as `files` finds in the content git-lfs checks
    out, for a whole history, a branch and a range."""
    _start(repo)
    content = _settings(secret(2), secret(3))
    _track(repo, "deploy/prod.env", content)
    added = repo.commit("settings in LFS")
    checked_out = tmp_path / "checkout"
    (checked_out / "deploy").mkdir(parents=True)
    (checked_out / "deploy" / "prod.env").write_bytes(content)
    on_disk = cli("files", str(checked_out), "--format", "json", "--no-redact")
    expected = [(f"deploy/{p.rsplit('/', 1)[-1]}", *rest) for p, *rest in found_keys(on_disk)]
    assert [e[1:] for e in expected] == [(3, 15, secret(2)), (4, 15, secret(3))]
    for selection in SELECTIONS:
        run = history_json(cli, repo.path, "--engine", engine, *selection)
        assert run.code == 1, (selection, run.err)
        assert found_keys(run) == [("deploy/prod.env", *e[1:]) for e in expected], selection
        assert {f["commit"] for f in json_of(run)["findings"]} == {added}


@pytest.mark.parametrize("engine", ["blob", "diff"])
def test_an_edit_of_lfs_content_reports_only_the_key_it_adds(
    cli: CliRun, repo: Repo, engine: str
) -> None:
    """LFS content has no added lines to keep to: as for a binary file, the keys the old
    version held (read from its own object) are not reported again."""
    _start(repo)
    _track(repo, "prod.env", _settings(secret(4)))
    first = repo.commit("one key")
    _track(repo, "prod.env", _settings(secret(4), secret(5)))
    second = repo.commit("two keys")
    run = history_json(cli, repo.path, "--engine", engine)
    found = sorted((f["commit"], f["match"], f["line"]) for f in json_of(run)["findings"])
    assert found == sorted([(first, secret(4), 3), (second, secret(5), 4)])
    repo.write("README.md", "more docs\n")
    repo.stage()
    _track(repo, "prod.env", _settings(secret(4), secret(5), secret(6)))
    repo.stage()
    assert found_keys(_staged(cli, repo)) == [("prod.env", 5, 15, secret(6))]


def test_a_pointer_whose_object_is_not_here_is_named_not_scanned(cli: CliRun, repo: Repo) -> None:
    """A clone made without `git lfs fetch`: the content was never read, so the file is
    named (a gap: `--fail-on skipped` fails), never called clean in silence."""
    _start(repo)
    oid = _track(repo, "prod.env", _settings(secret(7)))
    store = repo.path / ".git" / "lfs" / "objects"
    (store / oid[:2] / oid[2:4] / oid).unlink()
    repo.stage()
    run = _staged(cli, repo)
    assert run.code == 0, run.err
    assert json_of(run)["summary"]["skipped_files"] == [
        {"file": "prod.env", "reason": NOT_HERE, "gap": True}
    ]
    assert _staged(cli, repo, "--fail-on", "any,skipped").code == 1
    added = repo.commit("settings in LFS")
    for engine in ("blob", "diff"):
        history = history_json(cli, repo.path, "--engine", engine)
        assert history.code == 0, history.err
        skipped = json_of(history)["summary"]["skipped_files"]
        assert skipped == [{"file": "prod.env", "reason": NOT_HERE, "gap": True, "commit": added}]


def test_a_pointer_to_an_object_of_another_size_is_not_read(cli: CliRun, repo: Repo) -> None:
    """A pointer names its object's size: a file of another size at the object's path is
    not that object (a half-written download), and is not read as it."""
    _start(repo)
    oid = _track(repo, "prod.env", _settings(secret(8)))
    store = repo.path / ".git" / "lfs" / "objects"
    (store / oid[:2] / oid[2:4] / oid).write_bytes(_settings(secret(8))[:-5])
    repo.stage()
    run = _staged(cli, repo)
    assert found_keys(run) == [] and json_of(run)["summary"]["skipped"] == {NOT_HERE: 1}


def test_the_store_lfs_storage_names_is_read(cli: CliRun, repo: Repo, tmp_path: Path) -> None:
    _start(repo)
    store = tmp_path / "shared-lfs"
    repo.git("config", "lfs.storage", str(store))
    _track(repo, "prod.env", _settings(secret(9)), store=store / "objects")
    repo.stage()
    assert found_keys(_staged(cli, repo)) == [("prod.env", 3, 15, secret(9))]


def test_a_server_without_the_lfs_objects_names_what_it_did_not_scan(
    repo: Repo, tmp_path: Path
) -> None:
    """A git server receives pointers only (LFS content goes to the LFS server): the push
    is not refused for content it never saw, and the pusher is told it was not scanned."""
    _start(repo)
    server = pre_receive_server(tmp_path)
    repo.git("remote", "add", "origin", str(server))
    assert push(repo).returncode == 0
    _track(repo, "prod.env", _settings(secret(10)))
    repo.git("add", "-A")
    repo.git("commit", "-q", "--no-verify", "-m", "settings in LFS")
    pushed = push(repo)
    assert pushed.returncode == 0, pushed.stderr
    assert "not scanned: prod.env" in pushed.stderr and "Git LFS object" in pushed.stderr
    assert secret(10) not in pushed.stderr


def test_a_key_kept_in_lfs_content_at_head_is_still_there_for_the_audit(
    cli: CliRun, repo: Repo, tmp_path: Path
) -> None:
    """Whether a key is still at the tips is asked of each tip's version of the file: a
    pointer there is read for its content."""
    _start(repo)
    _track(repo, "prod.env", _settings(secret(11)))
    repo.commit("settings in LFS")
    repo.write("README.md", "more\n")
    repo.commit("docs")
    text = audit_report(cli, repo.path, tmp_path / "audit.md")
    assert "in the files of no branch or tag tip" not in text
    assert "still present" in text


def test_many_lfs_files_not_fetched_are_counted_past_a_hundred_lines(
    cli: CliRun, repo: Repo
) -> None:
    """An LFS-heavy clone without its objects names each file: the text report lists a
    hundred and counts the rest; JSON lists them all."""
    _start(repo)
    for n in range(130):
        oid = hashlib.sha256(b"%d" % n).hexdigest()
        repo.write(
            f"assets/{n:03d}.env",
            f"version https://git-lfs.github.com/spec/v1\noid sha256:{oid}\nsize 3\n",
        )
    repo.stage()
    text = cli("staged", "--repo", str(repo.path))
    lines = [line for line in text.out.splitlines() if line.startswith("not scanned:")]
    assert len(lines) == 101 and lines[0].startswith("not scanned: assets/000.env")
    assert lines[-1] == "not scanned: 30 more, each named in the JSON, SARIF and other reports"
    assert len(json_of(_staged(cli, repo))["summary"]["skipped_files"]) == 130


def test_files_names_a_pointer_checked_out_without_its_content(
    cli: CliRun, repo: Repo, tmp_path: Path
) -> None:
    """A checkout made without git-lfs (or with its smudge skipped, as CI checks out by
    default) has pointers on disk: `files` names each as not scanned, in a batch of small
    files and alone; a file that merely starts like one is scanned as it is."""
    _start(repo)
    _track(repo, "prod.env", _settings(secret(12)))
    repo.write("notes.md", "version https://git-lfs.github.com/spec/v1\nnot a pointer\n")
    run = cli("files", str(repo.path), "--format", "json")
    assert run.code == 0, run.err
    reason = (
        "a Git LFS pointer: the content it stands for is not in this folder (`git lfs pull`, "
        "or scan the history, which reads the LFS store)"
    )
    assert json_of(run)["summary"]["skipped_files"] == [
        {"file": "prod.env", "reason": reason, "gap": True}
    ]
    alone = cli("files", str(repo.path / "prod.env"), "--fail-on", "any,skipped")
    assert alone.code == 1 and "not scanned: prod.env" in alone.out


@pytest.mark.parametrize("engine", ["blob", "diff"])
def test_a_pointer_a_ref_holds_outside_commits_is_read_for_its_content(
    cli: CliRun, repo: Repo, engine: str
) -> None:
    """`git tag backup $(git hash-object -w prod.env)` of an LFS-tracked file: the tag
    holds the pointer, which no commit does; its content is read as a commit's is."""
    _start(repo)
    oid = _track(repo, "prod.env", _settings(secret(13)))
    blob = repo.git("hash-object", "-w", "prod.env").strip()
    (repo.path / "prod.env").unlink()
    repo.git("tag", "backup", blob)
    run = history_json(cli, repo.path, "--engine", engine)
    assert run.code == 1, run.err
    [finding] = json_of(run)["findings"]
    assert (finding["file"], finding["line"], finding["match"]) == (
        "refs/tags/backup",
        3,
        secret(13),
    )
    assert f"in the Git LFS object {oid[:12]}… (git holds a pointer to it)" in finding["notes"]


def test_a_pointer_whose_oid_is_no_sha256_names_no_file(cli: CliRun, repo: Repo) -> None:
    """A pointer's oid becomes a path in the store: only 64 lowercase hex digits are one.
    Anything else (a path that climbs out, upper case) is no pointer, and is scanned as
    the text it is, its key found there."""
    _start(repo)
    for name, oid in (("climb.env", "../../../../../../etc/passwd"), ("upper.env", "AB" * 32)):
        repo.write(
            name,
            f"version https://git-lfs.github.com/spec/v1\noid sha256:{oid}\nsize 10\n"
            f"NEXPAY_SECRET={secret(14)}\n",
        )
    repo.stage()
    run = _staged(cli, repo)
    assert sorted(f[0] for f in found_keys(run)) == ["climb.env", "upper.env"]
    assert json_of(run)["summary"]["skipped"] == {}
