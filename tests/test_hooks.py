"""The hooks as a developer meets them: plain git hooks and the real pre-commit framework."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from testing.cli import CliRun
from testing.git_repo import ROOT, Repo, git
from testing.keys import secret


def _commit(
    repo: Repo, *extra: str, env: dict[str, str] | None = None, message: str = "try"
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", "-C", str(repo.path), "commit", "-m", message, *extra],
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )


def test_install_hook_blocks_a_commit_with_a_key(cli: CliRun, repo: Repo) -> None:
    run = cli("install-hook", "--repo", str(repo.path), "--pre-push")
    assert run.code == 0 and "pre-commit" in run.out and "pre-push" in run.out
    key = secret(1)
    repo.write("app.env", f"NEXPAY_SECRET={key}\n")
    repo.stage()
    blocked = _commit(repo)
    assert blocked.returncode != 0
    shown = blocked.stdout + blocked.stderr  # git sends a hook's output to stderr
    assert "nexpay-secret" in shown and key not in shown
    repo.write("app.env", "NEXPAY_SECRET=${NEXPAY_SECRET}\n")
    repo.stage()
    assert _commit(repo).returncode == 0


@pytest.mark.parametrize(
    ("planted", "code"),
    [
        ("argparse.py", "raise SystemExit(0)\n"),
        ("select.py", "raise SystemExit(0)\n"),  # a module the hook's path does load
        ("nexpay_scan/__init__.py", ""),
        ("nexpay_scan/__main__.py", "raise SystemExit(0)\n"),
    ],
)
def test_a_committed_module_cannot_hijack_the_plain_hook(
    cli: CliRun, repo: Repo, planted: str, code: str
) -> None:
    """The hook runs Python isolated (-I): the work tree is not on its import path, so a
    module the repository plants in place of ours is never run by `git commit`."""
    repo.write(planted, code)
    repo.commit("plant")
    assert cli("install-hook", "--repo", str(repo.path)).code == 0
    repo.write("app.env", f"NEXPAY_SECRET={secret(9)}\n")
    repo.stage()
    env = {**os.environ, "PYTHONPATH": str(repo.path)}  # not obeyed either
    blocked = subprocess.run(
        ["git", "commit", "-m", "try"],
        cwd=repo.path,  # git runs hooks at the top of the work tree, as here
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )
    assert blocked.returncode != 0
    assert "nexpay-secret" in blocked.stderr


def test_install_hook_respects_a_foreign_hook(cli: CliRun, repo: Repo) -> None:
    hook = repo.path / ".git" / "hooks" / "pre-commit"
    hook.write_text("#!/bin/sh\necho mine\n")
    run = cli("install-hook", "--repo", str(repo.path))
    assert run.code == 2 and "--force" in run.err
    assert hook.read_text() == "#!/bin/sh\necho mine\n"
    assert cli("install-hook", "--repo", str(repo.path), "--force").code == 0
    assert (hook.parent / "pre-commit.legacy").read_text() == "#!/bin/sh\necho mine\n"
    assert cli("install-hook", "--repo", str(repo.path)).code == 0  # ours: replaced freely


@pytest.mark.parametrize("gone", ["interpreter", "package"])
def test_installed_hook_fails_closed(cli: CliRun, repo: Repo, gone: str) -> None:
    import nexpay_scan

    cli("install-hook", "--repo", str(repo.path))
    hook = repo.path / ".git" / "hooks" / "pre-commit"
    installed = sys.executable if gone == "interpreter" else nexpay_scan.__file__
    script = hook.read_text()
    assert os.path.dirname(installed) in script
    hook.write_text(script.replace(os.path.dirname(installed), "/nonexistent"))
    repo.write("a.txt", "clean\n")
    repo.stage()
    env = {**os.environ, "PATH": "/usr/bin:/bin"}
    blocked = _commit(repo, env=env)
    assert blocked.returncode != 0
    assert "nexpay-scan is not installed" in blocked.stderr
    assert "git commit --no-verify" in blocked.stderr


# --- the real pre-commit framework -------------------------------------------------------


def _snapshot(tmp: Path) -> Path:
    """This checkout as it is now (uncommitted changes too), as a repository to install from."""
    target = tmp / "nexpay-scan"
    listed = subprocess.run(
        ["git", "-C", str(ROOT), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    for raw in filter(None, listed):
        source = ROOT / os.fsdecode(raw)
        if source.is_file():
            (target / os.fsdecode(raw)).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / os.fsdecode(raw))
    git(target, "init", "-q", "-b", "main")
    git(target, "add", "-A")
    git(target, "commit", "-q", "-m", "snapshot")
    return target


@pytest.fixture(scope="session")
def hook_repo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str, Path]]:
    """(snapshot repository, its commit, PRE_COMMIT_HOME shared by the session)."""
    base = tmp_path_factory.mktemp("hook-repo")
    env_backup = dict(os.environ)
    os.environ.update(
        GIT_AUTHOR_NAME="A",
        GIT_AUTHOR_EMAIL="a@example.com",
        GIT_COMMITTER_NAME="A",
        GIT_COMMITTER_EMAIL="a@example.com",
    )
    try:
        snapshot = _snapshot(base)
        rev = git(snapshot, "rev-parse", "HEAD").strip()
    finally:
        os.environ.clear()
        os.environ.update(env_backup)
    yield snapshot, rev, base / "pre-commit-home"


def _pre_commit(repo: Repo, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PRE_COMMIT_HOME": str(home)}
    return subprocess.run(
        [sys.executable, "-m", "pre_commit", *args],
        cwd=repo.path,
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )


@pytest.fixture
def framework_repo(repo: Repo, hook_repo: tuple[Path, str, Path]) -> tuple[Repo, Path]:
    """A repository with nexpay-scan's hooks installed through the pre-commit framework:
    the commit's, the push's and the commit message's."""
    snapshot, rev, home = hook_repo
    repo.write(
        ".pre-commit-config.yaml",
        f"repos:\n- repo: {snapshot}\n  rev: {rev}\n  hooks:\n"
        "  - id: nexpay-scan\n  - id: nexpay-scan-push\n  - id: nexpay-scan-commit-msg\n",
    )
    repo.commit("config")
    types = ("pre-commit", "pre-push", "commit-msg")
    done = _pre_commit(repo, home, "install", *(f"--hook-type={kind}" for kind in types))
    assert done.returncode == 0, done.stderr
    return repo, home


def _git_env(home: Path) -> dict[str, str]:
    return {**os.environ, "PRE_COMMIT_HOME": str(home)}


def test_framework_blocks_a_commit_that_adds_a_key(framework_repo: tuple[Repo, Path]) -> None:
    repo, home = framework_repo
    key = secret(2)
    repo.write("settings.py", f'NEXPAY_SECRET = "{key}"\n')
    repo.stage()
    blocked = _commit(repo, env=_git_env(home))
    shown = blocked.stdout + blocked.stderr
    assert blocked.returncode != 0, shown
    assert "settings.py:1:18" in shown and "nexpay-secret" in shown
    assert "has not left this machine" in shown  # advice for the stage: only staged
    assert shown.rstrip().endswith(
        "SKIP=nexpay-scan git commit (git commit --no-verify skips every hook)"
    )
    assert key not in shown and key[:11] in shown


def test_framework_passes_a_clean_commit(framework_repo: tuple[Repo, Path]) -> None:
    repo, home = framework_repo
    repo.write("settings.py", 'NEXPAY_SECRET = os.environ["NEXPAY_SECRET"]\n')
    repo.stage()
    done = _commit(repo, env=_git_env(home))
    assert done.returncode == 0, done.stdout + done.stderr


def test_framework_commit_scans_only_added_lines(framework_repo: tuple[Repo, Path]) -> None:
    repo, home = framework_repo
    repo.write("old.env", f"K={secret(3)}\n")
    repo.stage()
    _commit(repo, "--no-verify", env=_git_env(home))
    repo.write("old.env", f"K={secret(3)}\nOTHER=1\n")
    repo.stage()
    done = _commit(repo, env=_git_env(home))
    assert done.returncode == 0, done.stdout + done.stderr


def test_framework_all_files_finds_an_old_key(framework_repo: tuple[Repo, Path]) -> None:
    repo, home = framework_repo
    repo.write("legacy/old.env", f"K={secret(4)}\n")
    repo.stage()
    assert _commit(repo, "--no-verify", env=_git_env(home)).returncode == 0
    run = _pre_commit(repo, home, "run", "nexpay-scan", "--all-files")
    assert run.returncode != 0
    assert "legacy/old.env:1:3" in run.stdout
    files = _pre_commit(repo, home, "run", "nexpay-scan", "--files", "legacy/old.env")
    assert files.returncode != 0 and "legacy/old.env" in files.stdout


def test_a_file_named_like_a_flag_cannot_hide_a_key(
    framework_repo: tuple[Repo, Path], cli: CliRun
) -> None:
    """The framework passes file names after the hook's arguments, as they are: a file
    named `--baseline=b.json`, beside a b.json that lists the key, would be read as that
    flag and suppress the key. The hook refuses it, under --all-files and in a commit."""
    repo, home = framework_repo
    repo.write("deploy.env", f"NEXPAY_SECRET={secret(5)}\n")
    repo.stage()
    assert _commit(repo, "--no-verify", env=_git_env(home)).returncode == 0
    made = cli(
        "baseline", "create", "--repo", str(repo.path), "--output", str(repo.path / "b.json")
    )
    assert made.code == 0, made.err
    repo.write("--baseline=b.json", "")
    repo.stage()
    assert _commit(repo, "--no-verify", env=_git_env(home)).returncode == 0
    run = _pre_commit(repo, home, "run", "nexpay-scan", "--all-files")
    shown = run.stdout + run.stderr
    assert run.returncode != 0, shown
    assert "is a file named like a flag" in shown
    assert secret(5) not in shown
    # a commit that adds the key again (the baseline lists it) and touches the flag's file,
    # which the framework then passes among the staged files
    repo.write("deploy.env", f"NEXPAY_SECRET={secret(5)}\nAGAIN={secret(5)}\n")
    repo.write("--baseline=b.json", "touched\n")
    repo.stage()
    blocked = _commit(repo, env=_git_env(home))
    shown = blocked.stdout + blocked.stderr
    assert blocked.returncode != 0, shown
    assert "is a file named like a flag" in shown


def test_framework_push_hook_blocks_a_push_with_a_key(
    framework_repo: tuple[Repo, Path], tmp_path: Path
) -> None:
    repo, home = framework_repo
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    repo.git("remote", "add", "origin", str(remote))
    env = _git_env(home)
    first = subprocess.run(
        ["git", "-C", str(repo.path), "push", "-q", "origin", "main"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert first.returncode == 0, first.stdout + first.stderr  # clean root commit pushes
    repo.write("deploy.env", f"NEXPAY_SECRET={secret(5)}\n")
    repo.stage()
    _commit(repo, "--no-verify", env=env)
    push = subprocess.run(
        ["git", "-C", str(repo.path), "push", "origin", "main"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert push.returncode != 0
    assert "deploy.env" in push.stdout + push.stderr


def test_framework_push_of_a_new_root_branch_is_scanned(
    framework_repo: tuple[Repo, Path], tmp_path: Path
) -> None:
    repo, home = framework_repo
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    repo.git("remote", "add", "origin", str(remote))
    repo.write("deploy.env", f"NEXPAY_SECRET={secret(6)}\n")
    repo.stage()
    _commit(repo, "--no-verify", env=_git_env(home))
    push = subprocess.run(
        ["git", "-C", str(repo.path), "push", "origin", "main"],
        capture_output=True,
        text=True,
        env=_git_env(home),
        check=False,
    )
    assert push.returncode != 0
    assert "deploy.env" in push.stdout + push.stderr


def test_framework_push_of_two_refs_scans_the_second(
    framework_repo: tuple[Repo, Path], tmp_path: Path
) -> None:
    # pre-commit tells the hook about the first pushed ref only: `git push origin a b`
    repo, home = framework_repo
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    repo.git("remote", "add", "origin", str(remote))
    env = _git_env(home)
    pushed = subprocess.run(
        ["git", "-C", str(repo.path), "push", "-q", "origin", "main"], env=env, check=False
    )
    assert pushed.returncode == 0
    repo.git("checkout", "-q", "-b", "a")
    repo.write("a.txt", "clean\n")
    repo.stage()
    _commit(repo, env=env)
    repo.git("checkout", "-q", "-b", "b", "main")
    repo.write("deploy.env", f"NEXPAY_SECRET={secret(8)}\n")
    repo.stage()
    _commit(repo, "--no-verify", env=env)
    push = subprocess.run(
        ["git", "-C", str(repo.path), "push", "origin", "a", "b"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    shown = push.stdout + push.stderr
    assert push.returncode != 0, shown
    assert "deploy.env" in shown and "nexpay-secret" in shown
    assert git(remote, "branch", "--list").strip() == "main"


def test_try_repo_against_this_checkout(repo: Repo, hook_repo: tuple[Path, str, Path]) -> None:
    snapshot, _, home = hook_repo
    repo.write("a.env", f"NEXPAY_SECRET={secret(7)}\n")
    repo.stage()
    run = _pre_commit(repo, home, "try-repo", str(snapshot), "nexpay-scan", "--all-files")
    assert run.returncode != 0 and "a.env:1:15" in run.stdout


def test_install_hook_where_hooks_cannot_go_is_a_one_line_error(cli: CliRun, repo: Repo) -> None:
    repo.git("config", "core.hooksPath", os.devnull)  # hooks turned off this way
    run = cli("install-hook", "--repo", str(repo.path))
    assert run.code == 2
    assert "cannot write the hook" in run.err and "core.hooksPath" in run.err
    assert "Traceback" not in run.err and "internal error" not in run.err


def test_the_framework_blocks_a_key_in_the_message(framework_repo: tuple[Repo, Path]) -> None:
    repo, home = framework_repo
    before = repo.git("rev-parse", "HEAD")
    repo.write("notes.txt", "clean\n")
    repo.stage()
    key = secret(5)
    blocked = _commit(repo, env=_git_env(home), message=f"Deploy with {key}")
    shown = blocked.stdout + blocked.stderr
    assert blocked.returncode != 0, shown
    assert "(commit message):1:13" in shown and key not in shown
    assert shown.rstrip().endswith(
        "SKIP=nexpay-scan-commit-msg git commit (git commit --no-verify skips every hook)"
    )
    assert repo.git("rev-parse", "HEAD") == before
    assert _commit(repo, env=_git_env(home), message="Deploy").returncode == 0
