"""The CLI as a user runs it: in this process (`in_process`, behind the `cli` fixture), as a
separate process (`run_cli`), or with a terminal on stdout or stderr (`on_a_terminal`).
Each returns what the user sees: a `Result`."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from nexpay_scan.cli import main


@dataclass(frozen=True)
class Result:
    """What a user sees from one command: exit code, stdout, stderr."""

    code: int
    out: str
    err: str

    def json(self) -> Any:
        """stdout parsed as JSON (the `--format json` report)."""
        return json.loads(self.out)


class CliRun(Protocol):
    """Runs `nexpay-scan ARGS` and returns what the user sees (the `cli` fixture)."""

    def __call__(self, *args: str) -> Result: ...


def in_process(read_output: Callable[[], tuple[str, str]]) -> CliRun:
    """A `CliRun` calling the CLI's `main` in this process; `read_output` returns (and
    clears) what it wrote to stdout and stderr, e.g. from pytest's `capsys`."""

    def run(*args: str) -> Result:
        code = main(list(args))
        out, err = read_output()
        return Result(code, out, err)

    return run


def run_cli(
    *args: str,
    cwd: Path | None = None,
    stdin: bytes | None = None,
    env: dict[str, str] | None = None,
) -> Result:
    """Runs the installed CLI as a separate process, as a user or a hook would."""
    done = subprocess.run(
        [sys.executable, "-m", "nexpay_scan", *args],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        env=env,
        check=False,
    )
    return Result(done.returncode, done.stdout.decode(), done.stderr.decode())


def on_a_terminal(*args: str, stream: str = "stderr", env: dict[str, str] | None = None) -> str:
    """Runs the CLI with stdout or stderr on a pseudo-terminal; returns what it drew there."""
    import pty

    main_fd, child = pty.openpty()
    other = subprocess.DEVNULL
    done = subprocess.run(
        [sys.executable, "-m", "nexpay_scan", *args],
        stdout=child if stream == "stdout" else other,
        stderr=child if stream == "stderr" else other,
        env=env,
        check=False,
    )
    os.close(child)
    chunks = []
    while True:
        try:
            chunk = os.read(main_fd, 65536)
        except OSError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(main_fd)
    assert done.returncode in (0, 1)
    return b"".join(chunks).decode()


def with_stdin(cli: CliRun, text: str, *args: str) -> Result:
    """Runs `cli(*args)` in this process with `text` on stdin (what git gives a pre-push or
    pre-receive hook)."""
    saved = sys.stdin
    sys.stdin = io.StringIO(text)
    try:
        return cli(*args)
    finally:
        sys.stdin = saved
