"""How a run ends (`cli.run`, what the console script, `python -m nexpay_scan` and the
installed hooks call): without the interpreter's clean-up where nothing needs it, yet
every byte the run wrote arrives, and its exit code holds."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from testing.cli import run_cli
from testing.keys import secret

# more than a pipe holds (64 KB) and than Python buffers (8 KB): the end must flush it all
_KEYS = 400


def _tree_with_keys(folder: Path) -> Path:
    folder.mkdir()
    lines = [f'KEY_{n} = "{secret(n)}"  # nexpay' for n in range(_KEYS)]
    (folder / "settings.py").write_text("\n".join(lines) + "\n")
    return folder


def test_a_long_report_on_stdout_arrives_whole(tmp_path: Path) -> None:
    tree = _tree_with_keys(tmp_path / "tree")
    done = run_cli("files", str(tree), "--format", "json")
    assert done.code == 1, done.err
    report = done.json()
    assert len(report["findings"]) == _KEYS
    assert len(done.out) > 100_000


def test_a_long_text_report_and_its_summary_arrive_whole(tmp_path: Path) -> None:
    tree = _tree_with_keys(tmp_path / "tree")
    done = run_cli("files", str(tree))
    assert done.code == 1, done.err
    assert done.out.startswith(f"nexpay-scan: {_KEYS} Nexpay credentials found")
    assert done.out.count("fingerprint: ") == _KEYS
    assert "Scanned 1 file in" in done.out.splitlines()[-1]


def _ended(*args: str, cwd: Path, traced: bool) -> subprocess.CompletedProcess[str]:
    """`nexpay-scan ARGS` as the console script runs it, with an exit handler that says
    whether it ran, under a profiler or not."""
    code = (
        "import atexit, sys\n"
        "atexit.register(lambda: print('exit handlers ran', file=sys.stderr))\n"
        + ("sys.setprofile(lambda *args: None)\n" if traced else "")
        + "from nexpay_scan.cli import run\n"
        "run()\n"
    )
    return subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=cwd, check=False
    )


@pytest.mark.parametrize("traced", [False, True])
def test_a_run_keeps_its_output_and_code_and_skips_the_clean_up_unless_traced(
    tmp_path: Path, traced: bool
) -> None:
    """Under a tracer or a profiler (coverage, cProfile), which write their data as the
    interpreter ends, the run ends the usual way: what is registered to run at exit runs.
    Else it does not; either way the whole report arrives and the exit code holds."""
    tree = _tree_with_keys(tmp_path / "tree")
    done = _ended("files", str(tree), "--format", "json", cwd=tmp_path, traced=traced)
    assert done.returncode == 1, done.stderr
    assert ("exit handlers ran" in done.stderr) == traced
    assert done.stdout.count('"fingerprint"') == _KEYS
    clean = tmp_path / "clean"
    clean.mkdir()
    (clean / "app.py").write_text("x = 1\n")
    done = _ended("files", str(clean), cwd=tmp_path, traced=traced)
    assert done.returncode == 0, done.stderr
