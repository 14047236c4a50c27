"""The listing of a `files` scan's folders: GNU `find`, started before the tool loads,
lists them as the walk in this process would, entry for entry and in the same order; when
`find` cannot list them whole, the walk does."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from nexpay_scan.cli import _start_early
from nexpay_scan.cli.plain import plain_namespace
from nexpay_scan.sources import tree_walk
from testing.cli import run_cli
from testing.keys import secret
from testing.processes import children

pytestmark = pytest.mark.skipif(
    not os.access(tree_walk._FIND, os.X_OK) or not hasattr(os, "memfd_create"),
    reason="no GNU find here: the walk lists every folder",
)


def _awkward_tree(top: Path) -> None:
    """Files and folders whose names sort in every way the walk's order can go wrong:
    files after folders by name, case, non-ASCII and undecodable names, names holding
    spaces, a newline, a backslash, `%`, or starting with `-`; `.git` folders (left out)
    and a `.git` file (kept); links, a FIFO, empty and deep folders."""
    for folder in ("a", "a/b", "a/b/c/d/e", "B", "empty", "-dash", "sp ace", "ä", "z/.git/x"):
        (top / folder).mkdir(parents=True, exist_ok=True)
    names = [
        "0.txt", "a.txt", "a/b.txt", "a/b/c.txt", "a/a", "a/z", "a/b/c/d/e/deep.env", "A.txt",
        "B/x", "b.txt", "ä/ö.txt", "é.txt", "-dash/-n", "sp ace/new\nline", "back\\slash",
        "per%cent%s", "z/.git/x/config", "z/.git/HEAD", "a/.git", "zz",
    ]  # fmt: skip
    for name in names:
        (top / name).write_text(f"{name}\n")
    os.makedirs(top / ".git" / "objects")
    (top / ".git" / "config").write_text("[core]\n")
    (top / "a" / "link-to-file").symlink_to(top / "a.txt")
    (top / "link-to-folder").symlink_to(top / "a")
    os.mkfifo(top / "a" / "fifo")
    with open(os.path.join(os.fsencode(top), b"bad-\xff-name"), "w") as bad:
        bad.write("undecodable\n")


def _taken_from_find(paths: list[str]) -> list[tree_walk.Listed | None] | None:
    tree_walk.start_early(paths)
    assert len(tree_walk._early) == 1, "find was not started"
    return tree_walk._early.pop().take()


def test_find_lists_folders_as_the_walk_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _awkward_tree(tmp_path / "tree")
    (tmp_path / "one file.env").write_text("x\n")
    monkeypatch.chdir(tmp_path)
    paths = ["tree/", "-", "one file.env", str(tmp_path / "tree" / "a"), "tree/link-to-folder"]
    from_find = _taken_from_find(paths)
    walked = tree_walk.listed(paths)
    assert from_find == walked
    met = walked[0][3]  # type: ignore[index]
    shown = [(kind, under) for kind, under, _, _ in met]
    # the walk's own order: each folder's files by name, then its folders' content
    files = [under for kind, under in shown if kind == tree_walk.FILE]
    assert files[:4] == ["0.txt", "A.txt", "a.txt", "b.txt"]
    assert files.index("é.txt") < files.index("-dash/-n") < files.index("B/x")
    assert files.index("a/b.txt") < files.index("a/z") < files.index("a/b/c.txt")
    assert (tree_walk.FILE, "a/.git") in shown and (tree_walk.FILE, "zz") in shown
    assert (tree_walk.LINK, "link-to-folder") in shown
    assert (tree_walk.OTHER, "a/fifo") in shown
    assert (tree_walk.FILE, "bad-\udcff-name") in shown
    assert not any("config" in under or "HEAD" in under for _, under in shown)
    assert walked[1] is None and walked[2][0] == tree_walk.NAMED  # type: ignore[index]


def test_a_path_find_cannot_list_is_walked_here(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`find` ends badly on a path that does not exist: nothing it printed is used, and
    the scan's own walk lists the rest (and meets the missing path again)."""
    _awkward_tree(tmp_path / "tree")
    paths = [str(tmp_path / "tree"), str(tmp_path / "missing")]
    assert _taken_from_find(paths) is None
    tree_walk.start_early(paths)
    listed = tree_walk.listing(paths)
    assert listed == tree_walk.listed(paths)
    assert listed[1] == (tree_walk.MISSING, 0, 0, [])
    assert not tree_walk._early


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any folder")
def test_an_unreadable_folder_is_walked_here_and_named_as_skipped(tmp_path: Path) -> None:
    _awkward_tree(tmp_path / "tree")
    (tmp_path / "tree" / "a" / "b").chmod(0)
    try:
        paths = [str(tmp_path / "tree")]
        assert _taken_from_find(paths) is None
        tree_walk.start_early(paths)
        met = tree_walk.listing(paths)[0][3]  # type: ignore[index]
        assert (tree_walk.UNREADABLE_FOLDER, "a/b", 0, "Permission denied") in met
    finally:
        (tmp_path / "tree" / "a" / "b").chmod(0o755)


def test_a_files_command_line_starts_find_and_nothing_is_left_running(tmp_path: Path) -> None:
    plain = plain_namespace(["files", str(tmp_path), "--format", "json"])
    assert plain is not None
    _start_early(plain, real=True)
    assert len(tree_walk._early) == 1
    pid = tree_walk._early[0].pid
    tree_walk.discard_early()  # (a run that ended before its scan: a bad config, say)
    assert pid not in children() and not tree_walk._early
    # a test calling `main` in its own process starts nothing
    _start_early(plain, real=False)
    assert not tree_walk._early


def test_a_scan_listed_by_find_reports_what_one_walked_here_does(tmp_path: Path) -> None:
    """The CLI as a user runs it (the folders listed by `find`) and with a flag that only
    argparse reads (`--jobs`: nothing is started early, the walk lists them): the same
    report."""
    tree = tmp_path / "tree"
    _awkward_tree(tree)
    (tree / "a" / "b" / "c" / "d" / "e" / "app.env").write_text(f"NEXPAY_SECRET={secret(1)}\n")
    (tree / "sp ace" / "key.env").write_text(f"NEXPAY_SECRET={secret(2)}\n")
    runs = [
        run_cli("files", "tree", "--format", "json", cwd=tmp_path),
        run_cli("files", "tree", "--format", "json", "--jobs", "1", cwd=tmp_path),
    ]
    assert [r.code for r in runs] == [1, 1]
    early, walked = (r.json() for r in runs)
    del early["summary"]["duration_seconds"], walked["summary"]["duration_seconds"]
    assert early == walked
    assert [f["file"] for f in early["findings"]] == [
        "tree/a/b/c/d/e/app.env",
        "tree/sp ace/key.env",
    ]
    assert early["summary"]["skipped"] == {"not a regular file": 1, "symbolic link": 2}


def test_a_path_too_long_for_the_walk_is_walked_here(tmp_path: Path) -> None:
    """`find` goes down folder by folder and lists a path longer than the system takes;
    the walk cannot open that folder and names it as skipped. The walk decides."""
    top = tmp_path / "tree"
    top.mkdir()
    (top / "near.env").write_text(f"NEXPAY_SECRET={secret(3)}\n")
    folder = os.open(top, os.O_RDONLY)
    try:
        for _ in range(40):  # 40 names of 120 characters: past PATH_MAX (4096)
            os.mkdir("d" * 120, dir_fd=folder)
            deeper = os.open("d" * 120, os.O_RDONLY, dir_fd=folder)
            os.close(folder)
            folder = deeper
        with open(os.open("deep.env", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=folder), "w") as f:
            f.write(f"NEXPAY_SECRET={secret(4)}\n")
    finally:
        os.close(folder)
    paths = [str(top)]
    assert _taken_from_find(paths) is None
    met = tree_walk.listed(paths)[0][3]  # type: ignore[index]
    assert [kind for kind, _, _, _ in met].count(tree_walk.UNREADABLE_FOLDER) == 1
    report = run_cli("files", str(top), "--format", "json").json()
    assert [f["file"].rsplit("/", 1)[-1] for f in report["findings"]] == ["near.env"]
    assert any("File name too long" in reason for reason in report["summary"]["skipped"])


def test_a_listing_too_big_to_hold_is_walked_here(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A tree of hundreds of thousands of files: `find`'s listing is not held (with its
    parts) beside the scan; the walk lists it."""
    _awkward_tree(tmp_path / "tree")
    paths = [str(tmp_path / "tree")]
    monkeypatch.setattr(tree_walk, "_PRINTED_MOST", 100)
    assert _taken_from_find(paths) is None
    tree_walk.start_early(paths)
    assert tree_walk.listing(paths) == tree_walk.listed(paths)


def test_a_find_that_prints_otherwise_is_not_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A `find` at /usr/bin/find that prints something else than GNU's (a size that is no
    number): nothing it printed is used, and the walk lists the folder."""
    _awkward_tree(tmp_path / "tree")
    paths = [str(tmp_path / "tree")]
    expression = (*tree_walk._FIND_EXPRESSION[:-1], "%H\\0%yX\\0%P\\0")
    monkeypatch.setattr(tree_walk, "_FIND_EXPRESSION", expression)
    assert _taken_from_find(paths) is None
    tree_walk.start_early(paths)
    assert tree_walk.listing(paths) == tree_walk.listed(paths)
