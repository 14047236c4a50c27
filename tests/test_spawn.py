"""The hook's child processes (`sources.spawn`): real programs, real pipes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import pytest

from nexpay_scan.errors import FatalError
from nexpay_scan.sources.git import GitCall
from nexpay_scan.sources.spawn import NULL, PIPE, Child, PopenChild
from testing.git_repo import Repo

# A program that writes 300 kB to each of its outputs, stderr first: a reader that waited
# for the end of stdout before reading stderr would wait forever (a pipe holds 64 kB).
LOUD = [sys.executable, "-c", "import sys; sys.stderr.write('e' * 300_000); print('o' * 300_000)"]


# `Child` (os.posix_spawnp) on POSIX systems; `PopenChild` (subprocess) where it is missing
KINDS = pytest.mark.parametrize("kind", [Child, PopenChild])


@KINDS
def test_both_outputs_are_read_together(kind: type[Child]) -> None:
    child = kind(LOUD)
    out, err = child.communicate()
    assert out == b"o" * 300_000 + b"\n"
    assert err == b"e" * 300_000
    assert child.returncode == 0


@KINDS
def test_output_past_the_limit_stops_the_child(kind: type[Child]) -> None:
    program = "import time; print('x' * 100_000, flush=True); time.sleep(60)"
    child = kind([sys.executable, "-c", program])
    out, _ = child.communicate(limit=1000)
    assert out is None
    assert child.returncode is not None and child.returncode < 0  # killed, and reaped


@KINDS
def test_input_pipe_and_exit_code(kind: type[Child]) -> None:
    program = "import sys; data = sys.stdin.read(); print(len(data)); sys.exit(3)"
    child = kind([sys.executable, "-c", program], stdin=PIPE, stderr=NULL)
    assert child.stdin is not None and child.stderr is None
    child.stdin.write(b"abc" * 1000)
    out, err = child.communicate()
    assert (out, err, child.returncode) == (b"3000\n", b"", 3)


@KINDS
def test_a_child_gets_only_its_own_streams(kind: type[Child]) -> None:
    read_end, write_end = os.pipe()  # close-on-exec, as every file Python opens
    try:
        child = kind(["sh", "-c", "ls /proc/self/fd 2>/dev/null || echo none"])
        out, _ = child.communicate()
    finally:
        os.close(read_end)
        os.close(write_end)
    assert out is not None
    listed = out.split()
    if listed != [b"none"]:  # (no /proc: not Linux)
        assert str(write_end).encode() not in listed


@KINDS
def test_sigpipe_is_the_default_again_in_a_child(kind: type[Child]) -> None:
    """Python ignores SIGPIPE; a child left writing to a pipe nobody reads ends by the
    signal (as under `subprocess`), not by an error it may not check."""
    child = kind(["yes"], stderr=NULL)
    assert child.stdout is not None
    assert child.stdout.read(10) == b"y\ny\ny\ny\ny\n"
    child.stdout.close()
    assert child.wait() == -signal.SIGPIPE


@KINDS
def test_missing_program_is_an_error(kind: type[Child]) -> None:
    with pytest.raises(FileNotFoundError):
        kind(["nexpay-scan-no-such-program"])


def test_git_missing_from_path_is_one_line(repo: Repo, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(FatalError, match="git is not installed or not on PATH"):
        GitCall(repo.path, "rev-parse", "HEAD")


def test_the_hook_runs_with_its_standard_streams_closed(repo: Repo) -> None:
    """A hook started with stdin, stdout and stderr closed: the pipes to git then take the
    numbers 0 to 2, and git must still get them as its own streams."""
    from testing.keys import secret

    repo.write("app.py", "x = 1\n")
    repo.commit()
    repo.write("new.py", f'KEY = "{secret(1)}"\n')
    repo.stage()
    program = textwrap.dedent(
        """
        import os, sys
        from nexpay_scan.sources.staged import StagedDiff
        result = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT)
        result = os.dup(result)
        for fd in (0, 1, 2):
            os.close(fd)
        with StagedDiff(".") as diff:
            changes = diff.changes()
            top = diff.target().root
        os.write(result, repr((top, [c.path for c, _ in changes])).encode())
        """
    )
    out = repo.path / "result.txt"
    done = subprocess.run([sys.executable, "-c", program, str(out)], cwd=repo.path, check=False)
    assert done.returncode == 0
    assert out.read_text() == repr((str(repo.path), ["new.py"]))


def test_without_posix_spawn_git_runs_through_subprocess(
    repo: Repo, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A system without `os.posix_spawnp` (Windows) runs git through `subprocess`."""
    repo.write("a.txt", "a\n")
    repo.commit()
    monkeypatch.delattr(os, "posix_spawnp")
    call = GitCall(repo.path, "rev-parse", "HEAD")
    assert isinstance(call._process, PopenChild)
    assert len(call.output().strip()) == 40
    with pytest.raises(FatalError, match="git rev-parse: Needed a single revision"):
        GitCall(repo.path, "rev-parse", "--verify", "nope^{commit}").output()
