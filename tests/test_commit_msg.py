"""A key in the message of the commit being made: the commit-msg hook blocks it before
the commit exists (through the real pre-commit framework: tests/test_hooks.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from testing.cli import CliRun
from testing.git_repo import Repo
from testing.keys import secret
from tests.test_hooks import _commit
from tests.test_startup import NOT_ON_THE_HOOK_PATH, imported_by

# what `git commit -v` writes below the message it opens in the editor
SCISSORS = (
    "# ------------------------ >8 ------------------------\n"
    "# Do not modify or remove the line above.\n"
    "# Everything below it will be ignored.\n"
)


def _head(repo: Repo) -> str:
    return repo.git("rev-parse", "HEAD").strip()


def test_the_plain_hook_blocks_a_key_in_the_message(cli: CliRun, repo: Repo) -> None:
    installed = cli("install-hook", "--repo", str(repo.path), "--commit-msg")
    assert installed.code == 0 and "commit-msg" in installed.out, installed.err
    repo.write("README.md", "hello\n")
    before = repo.commit("start")
    repo.write("README.md", "hello, world\n")
    repo.stage()
    key = secret(1)
    blocked = _commit(repo, message=f"Rotate the key\n\nThe new one is {key}")
    shown = blocked.stdout + blocked.stderr
    assert blocked.returncode != 0, shown
    assert "(commit message):3:16" in shown and "nexpay-secret" in shown
    assert key not in shown and key[:11] in shown  # redacted
    assert "only in the commit message" in shown and ".git/COMMIT_EDITMSG" in shown
    assert shown.rstrip().endswith("To commit anyway, knowingly: git commit --no-verify")
    assert _head(repo) == before  # no commit was made
    done = _commit(repo, message="Rotate the key (it lives in the vault now)")
    assert done.returncode == 0, done.stdout + done.stderr
    assert _head(repo) != before


def test_git_commit_verbose_diff_below_the_scissors_is_not_the_message(
    cli: CliRun, repo: Repo, tmp_path: Path
) -> None:
    """`git commit -v` puts the staged diff below a scissors line of the message file, and
    drops it once the editor closes: a test fixture's key the config allows there is no
    key in the message."""
    repo.write(".nexpay-scan.toml", "[scan]\nallow_paths = ['^tests/fixtures/']\n")
    repo.commit("config")
    assert cli("install-hook", "--repo", str(repo.path), "--commit-msg").code == 0
    repo.write("tests/fixtures/app.env", f"NEXPAY_SECRET={secret(2)}\n")
    repo.stage()
    editor = tmp_path / "editor.sh"
    editor.write_text(
        '#!/bin/sh\n{ echo "Add a fixture"; cat "$1"; } > "$1.new" && mv "$1.new" "$1"\n'
    )
    editor.chmod(0o755)
    env = {**os.environ, "GIT_EDITOR": str(editor)}
    done = subprocess.run(
        ["git", "-C", str(repo.path), "commit", "-v"],
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert repo.git("log", "-1", "--format=%s").strip() == "Add a fixture"


def test_a_scissors_line_of_the_message_itself_hides_nothing(cli: CliRun, repo: Repo) -> None:
    """Only git's own scissors (its warning on the next line) ends what is scanned: a
    message that holds the line alone (`git commit -m` keeps it) is scanned whole."""
    key = secret(3)
    message = repo.path / "message.txt"
    message.write_text(f"Fix\n{SCISSORS}\ndiff --git a/x b/x\n+NEXPAY_SECRET={key}\n")
    assert cli("commit-msg", str(message), "--repo", str(repo.path)).code == 0
    message.write_text(
        f"Fix\n# ------------------------ >8 ------------------------\nNEXPAY_SECRET={key}\n"
    )
    run = cli("commit-msg", str(message), "--repo", str(repo.path), "--format", "json")
    assert run.code == 1, run.err
    [finding] = run.json()["findings"]
    assert (finding["file"], finding["line"]) == ("(commit message)", 3)


def test_a_message_that_cannot_be_read_blocks_the_commit(cli: CliRun, repo: Repo) -> None:
    run = cli("commit-msg", str(repo.path / "gone.txt"), "--repo", str(repo.path))
    assert run.code == 2
    assert "gone.txt: cannot read the commit message" in run.err
    assert "commit blocked because the scan could not run" in run.err
    assert "git commit --no-verify" in run.err


def test_the_message_scan_imports_nothing_heavy(repo: Repo) -> None:
    repo.write("clean.txt", "Fix the docs\n")
    repo.write("key.txt", f"Fix\n\nNEXPAY_SECRET={secret(4)}\n")
    for name, code in (("clean.txt", 0), ("key.txt", 1)):
        modules = imported_by(repo, "commit-msg", name, exit_code=code)
        assert "nexpay_scan.commands.commit_msg" in modules
        assert [m for m in NOT_ON_THE_HOOK_PATH if m in modules] == []


def test_uninstall_removes_the_commit_msg_hook(cli: CliRun, repo: Repo) -> None:
    assert cli("install-hook", "--repo", str(repo.path), "--commit-msg").code == 0
    hook = repo.path / ".git" / "hooks" / "commit-msg"
    assert hook.exists()
    run = cli("install-hook", "--repo", str(repo.path), "--uninstall")
    assert run.code == 0 and f"removed {hook}" in run.out
    assert not hook.exists()


def test_the_plain_hook_fails_closed(cli: CliRun, repo: Repo) -> None:
    """If the scan cannot run (the interpreter it was installed with is gone), the commit
    is blocked, and the message says how to go ahead knowingly."""
    assert cli("install-hook", "--repo", str(repo.path), "--commit-msg").code == 0
    hook = repo.path / ".git" / "hooks" / "commit-msg"
    script = hook.read_text()
    assert 'commit-msg "$1"' in script
    hook.write_text(script.replace(os.path.dirname(sys.executable), "/nonexistent"))
    (repo.path / ".git" / "hooks" / "pre-commit").unlink()  # (the message's hook alone)
    repo.write("a.txt", "clean\n")
    repo.stage()
    blocked = subprocess.run(
        ["git", "-C", str(repo.path), "commit", "-m", "clean"],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PATH": "/usr/bin:/bin"},
    )
    assert blocked.returncode != 0
    assert "nexpay-scan is not installed" in blocked.stderr
    assert "git commit --no-verify" in blocked.stderr


def test_git_scissors_after_an_editor_that_writes_crlf(cli: CliRun, repo: Repo) -> None:
    message = repo.path / "message.txt"
    diff = f"diff --git a/x b/x\r\n+NEXPAY_SECRET={secret(6)}\r\n"
    message.write_bytes(f"Fix\r\n{SCISSORS}".replace("\n", "\r\n").encode() + diff.encode())
    run = cli("commit-msg", str(message), "--repo", str(repo.path))
    assert run.code == 0, run.out
    assert "Scanned the commit message in" in run.out
