"""Output that cannot be written: a full disk, a failure part way, a place that cannot
hold a file, a read-only folder. A one-line error, and no partial or temporary report
left behind."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from testing.cli import CliRun, Result
from testing.git_repo import Repo
from testing.keys import secret
from testing.results import assert_one_line_error


def _full_device(folder: Path) -> Path:
    """/dev/full, or (when this process could replace /dev/full, e.g. as root) a copy of
    its device node in `folder`, so a tool that replaces its output file harms nothing."""
    if not os.access("/dev", os.W_OK):
        return Path("/dev/full")
    node = folder / "full"
    try:
        os.mknod(node, stat.S_IFCHR | 0o666, os.makedev(1, 7))
    except OSError as error:
        pytest.skip(f"cannot make a private /dev/full ({error.strerror})")
    with pytest.raises(OSError, match="No space left"), node.open("wb") as stream:
        stream.write(b"x")
        stream.flush()
    return node


def test_output_to_a_full_disk(cli: CliRun, repo: Repo, tmp_path: Path) -> None:
    """--output on a device is written into (ENOSPC here), never replaced by a file."""
    repo.write("a.env", f"K={secret(1)}\n")
    repo.commit()
    out = tmp_path / "out"
    out.mkdir()
    device = _full_device(out)
    run = cli("history", "--repo", str(repo.path), "--format", "json", "--output", str(device))
    assert_one_line_error(run, str(device), "No space left on device")
    assert stat.S_ISCHR(device.stat().st_mode), "the device node was replaced by a file"
    assert sorted(p.name for p in out.iterdir()) == (["full"] if device.parent == out else [])


def test_output_that_fails_part_way_leaves_nothing(repo: Repo, tmp_path: Path) -> None:
    """A write that fails after some bytes (here a file-size limit, as on a full disk)."""
    for number in range(40):
        repo.write(f"k{number}.env", f"K={secret(number)}\n")
    repo.commit()
    out = tmp_path / "out"
    out.mkdir()

    report = out / "report.json"
    # the limit holds across exec; Python ignores SIGXFSZ, so a write past it fails (EFBIG)
    limited = (
        "import os, resource, sys; "
        "resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096)); "
        "os.execv(sys.executable, [sys.executable, '-m', 'nexpay_scan', *sys.argv[1:]])"
    )
    argv = [sys.executable, "-c", limited, "history", "--repo", str(repo.path)]
    done = subprocess.run(
        [*argv, "--format", "json", "--output", str(report)],
        capture_output=True,
        check=False,
    )
    run = Result(done.returncode, done.stdout.decode(), done.stderr.decode())
    assert_one_line_error(run, str(report), "cannot write the report")
    assert list(out.iterdir()) == []


def test_output_in_a_place_that_cannot_hold_it(cli: CliRun, repo: Repo, tmp_path: Path) -> None:
    repo.write("a.env", f"K={secret(1)}\n")
    repo.commit()
    a_file = tmp_path / "plain-file"
    a_file.write_text("not a folder\n")
    targets = [a_file / "report.json", tmp_path / "missing" / "report.json"]
    for target in targets:
        run = cli("history", "--repo", str(repo.path), "--format", "json", "--output", str(target))
        assert_one_line_error(run, str(target), "cannot write the report")
    assert a_file.read_text() == "not a folder\n"
    assert not (tmp_path / "missing").exists()


def test_output_in_a_read_only_folder(cli: CliRun, repo: Repo, tmp_path: Path) -> None:
    repo.write("a.env", f"K={secret(1)}\n")
    repo.commit()
    if os.geteuid() == 0:  # root writes through permissions: /proc refuses new files
        folder = Path("/proc")
        before = set(os.listdir(folder))
    else:
        folder = tmp_path / "read-only"
        folder.mkdir()
        folder.chmod(0o555)
        before = set()
    target = folder / "hostile-report.json"
    try:
        run = cli("history", "--repo", str(repo.path), "--format", "json", "--output", str(target))
        assert_one_line_error(run, str(target), "cannot write the report")
        assert not any(name.startswith(".hostile-report") for name in os.listdir(folder))
        assert not target.exists()
        assert folder == Path("/proc") or set(os.listdir(folder)) == before
    finally:
        if folder != Path("/proc"):
            folder.chmod(0o755)


@pytest.mark.parametrize("closed", [(1,), (2,), (1, 2), (0, 1, 2)])
def test_a_run_started_without_its_standard_streams_still_gives_its_verdict(
    repo: Repo, tmp_path: Path, closed: tuple[int, ...]
) -> None:
    """`nexpay-scan ... >&-` (or `2>&-`, `<&-`): what would be shown is lost, as asked; the
    exit code still says whether a key was found, and the report file is written whole.
    Never "internal error"."""
    repo.write("app.py", f'NEXPAY_SECRET = "{secret(61)}"\n')
    repo.commit()
    report = tmp_path / "report.json"

    def run(*args: str) -> int:
        def close() -> None:
            for descriptor in closed:
                os.close(descriptor)

        return subprocess.run(
            [sys.executable, "-m", "nexpay_scan", *args],
            cwd=repo.path,
            preexec_fn=close,
            check=False,
        ).returncode

    assert run("history", "--format", "json", "--output", str(report)) == 1
    assert '"nexpay-secret"' in report.read_text()
    assert run("files", str(repo.path / "app.py")) == 1
    (repo.path / "app.py").write_text("x = 1\n")
    assert run("files", str(repo.path / "app.py")) == 0
