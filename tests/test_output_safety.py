"""What a scan prints and writes cannot be steered by the repository, and is never left
half-written: escapes shown escaped, skipped content named, SIGTERM cleaned up."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from zipfile import ZIP_DEFLATED

import pytest

from testing.archives import with_method, zip_of
from testing.cli import CliRun
from testing.git_repo import ROOT, Repo
from testing.keys import secret

HOSTILE_AUTHOR = "Mallory\x1b]0;pwned\x07\x1b[8m"


def test_terminal_escapes_from_the_repository_are_shown_escaped(cli: CliRun, repo: Repo) -> None:
    repo.write("app.env", f"NEXPAY_SECRET={secret(1)}\n")
    repo.write(
        ".nexpay-scan.toml",
        '[[rule]]\nid = "acme\\u001b[2J"\ndescription = "wrapped \\u001b]0;title\\u0007key"\n'
        'kind = "secret"\nregex = \'acmetok_[0-9a-f]{32}\'\nkeywords = ["acmetok_"]\n',
    )
    repo.write("b.env", "t = acmetok_0123456789abcdef0123456789abcdef\n")
    repo.stage()
    repo.git(
        "-c",
        f"user.name={HOSTILE_AUTHOR}",
        "commit",
        "-q",
        "-m",
        "x",
        "--author",
        f"{HOSTILE_AUTHOR} <m@example.com>",
    )
    run = cli("history", "--repo", str(repo.path))
    assert run.code == 1
    assert "\x1b" not in run.out and "\x07" not in run.out
    assert "Mallory\\x1b]0;pwned\\x07\\x1b[8m" in run.out
    assert "acme\\x1b[2J" in run.out and "wrapped \\x1b]0;title\\x07key" in run.out


_PPMD_GAP = "archive member compressed with ppmd: not decoded"


@pytest.fixture
def unread(repo: Repo) -> Repo:
    """A repository holding content the scan cannot read whole: a zip's member compressed
    with PPMd, which no decoder opens (content over the size limit is read in windows)."""
    member = zip_of({"app.env": f"NEXPAY_SECRET={secret(2)}\n".encode()}, ZIP_DEFLATED)
    repo.write("app.zip", with_method(member, 98))
    repo.write("small.env", "nothing\n")
    repo.commit()
    return repo


def test_content_not_read_whole_is_named_in_every_format(cli: CliRun, unread: Repo) -> None:
    where = str(unread.path)
    text = cli("files", where)
    assert text.code == 0
    assert f"not scanned: app.zip (zip:app.env) ({_PPMD_GAP})" in text.out
    document = cli("files", where, "--format", "json").json()
    assert document["summary"]["skipped_files"] == [
        {"file": "app.zip (zip:app.env)", "reason": _PPMD_GAP, "gap": True}
    ]
    sarif = json.loads(cli("files", where, "--format", "sarif").out)
    notes = sarif["runs"][0]["invocations"][0]["toolExecutionNotifications"]
    assert notes[0]["level"] == "warning" and "app.zip" in notes[0]["message"]["text"]
    location = notes[0]["locations"][0]["physicalLocation"]["artifactLocation"]
    assert location["uri"] == "app.zip"
    gitlab = json.loads(cli("files", where, "--format", "gitlab").out)
    assert any("app.zip" in m["value"] for m in gitlab["scan"]["messages"])
    junit = cli("files", where, "--format", "junit").out
    assert 'skipped="1"' in junit and "app.zip" in junit
    history = cli("history", "--repo", where, "--engine", "diff", "--format", "json").json()
    skipped = history["summary"]["skipped_files"]
    assert [s["file"] for s in skipped] == ["app.zip (zip:app.env)"]
    assert len(skipped[0]["commit"]) == 40


def test_fail_on_skipped_fails_a_gate_that_could_not_read_everything(
    cli: CliRun, unread: Repo
) -> None:
    where = str(unread.path)
    assert cli("files", where, "--fail-on", "skipped").code == 1
    assert cli("files", where, "--fail-on", "any,skipped").code == 1
    assert cli("files", where, "--fail-on", "live").code == 0
    unread.write("app.zip", "not a zip now\n")
    assert cli("files", where, "--fail-on", "any,skipped").code == 0


@pytest.mark.parametrize(
    ("fail_on", "code"),
    [("any", 1), ("live", 0), ("unknown", 0), ("live,unknown", 0), ("none", 0), ("skipped", 0)],
)
def test_fail_on_takes_a_list(cli: CliRun, repo: Repo, fail_on: str, code: int) -> None:
    repo.write("app.env", f"NEXPAY_SECRET={secret(3)}\n")
    assert cli("files", str(repo.path), "--fail-on", fail_on).code == code


@pytest.mark.parametrize("bad", ["sometimes", "live,sometimes", "", "none,live"])
def test_bad_fail_on_is_a_one_line_error(cli: CliRun, repo: Repo, bad: str) -> None:
    run = cli("files", str(repo.path), "--fail-on", bad)
    assert run.code == 2 and "--fail-on" in run.err and "Traceback" not in run.err


_WRITER = """
import os, signal, sys, threading, time
from nexpay_scan import cli, commands

signal.signal(signal.SIGTERM, cli._terminated)  # as main() sets it for a real run
folder, text = sys.argv[1], "x" * (150 << 20)

def watch() -> None:  # SIGTERM as soon as the temp file exists: mid-write
    while not any(n.startswith(".out.json.") for n in os.listdir(folder)):
        time.sleep(0.0005)
    os.kill(os.getpid(), signal.SIGTERM)

threading.Thread(target=watch, daemon=True).start()
try:
    commands.write_atomically(os.path.join(folder, "out.json"), text)
except cli.Terminated:
    print("terminated mid-write")
"""


def test_sigterm_while_writing_the_report_leaves_nothing_behind(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    done = subprocess.run(
        [sys.executable, "-c", _WRITER, str(out)],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "terminated mid-write"
    assert os.listdir(out) == [], "a temporary or partial report was left behind"


@pytest.mark.parametrize(
    ("flag", "name", "why"),
    [
        ("--output", "no-such-folder/out.json", "no folder"),
        ("--output", ".", "it is a folder"),
        ("--report", "no-such-folder/audit.html", "no folder"),
    ],
)
def test_a_report_that_cannot_be_written_fails_before_the_scan(
    cli: CliRun, repo: Repo, flag: str, name: str, why: str
) -> None:
    """An audit of a long history is not run to find at its end that its report has
    nowhere to go: one line, exit 2, before anything is scanned (and no other report
    written)."""
    repo.write("app.env", f"NEXPAY_SECRET={secret(960)}\n")
    repo.commit()
    written = repo.path / "written.json"
    other = ["--output", str(written)] if flag == "--report" else []
    target = str(repo.path / name)
    run = cli("history", "--repo", str(repo.path), flag, target, *other)
    assert run.code == 2, run.out + run.err
    (error,) = run.err.strip().splitlines()
    assert error.startswith(f"nexpay-scan: error: {target}: cannot write the report ({why}")
    assert "Scanned" not in run.err and not written.exists()
    baseline = cli("baseline", "create", "--repo", str(repo.path), "--output", target)
    assert baseline.code == 2 and "cannot write the report" in baseline.err
