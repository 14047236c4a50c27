"""The plain command lines read without argparse (`cli.plain`: the hooks', `files`' and the
git scans') mean what argparse says."""

from __future__ import annotations

import argparse

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nexpay_scan.cli import build_parser
from nexpay_scan.cli.plain import Namespace, plain_namespace
from nexpay_scan.cli.registry import COMMANDS


def records(namespace: argparse.Namespace | Namespace) -> list[object]:
    """What the command's function is given, built from a parsed command line."""
    return [build(namespace) for build in COMMANDS[namespace.command].given]


def argparse_records(args: list[str]) -> list[object]:
    return records(build_parser(args[0]).parse_args(args))


@pytest.mark.parametrize(
    "args",
    [
        ["staged"],
        ["staged", "--quiet"],
        ["staged", "-q", "--repo", "/tmp/some repo"],
        ["staged", "--repo=/x", "--repo", "/y"],
        ["staged", "--repo="],
        ["staged", "--format", "json", "--output", "out.json", "--no-redact"],
        ["staged", "--format=sarif", "--config", "c.toml", "--baseline", "b.json"],
        ["staged", "--output=-x"],
        ["hook"],
        ["hook", "a.py", "b c.py"],
        ["hook", "--quiet", "--format", "junit", "a.py", "=b", ""],
        ["hook", "--repo", ".", "--", "a.py"],
        ["pre-push"],
        ["pre-push", "origin", "git@example.com:a/b.git"],
        ["pre-push", "--quiet", "--format", "json", "origin"],
        ["pre-push", "--repo", "/r", "--no-redact", "origin", ""],
        ["commit-msg", ".git/COMMIT_EDITMSG"],
        ["commit-msg", "--quiet", "--repo", "/r", "msg"],
        ["commit-msg", "--format=json", "--output", "o.json", "a message"],
        ["files"],
        ["files", "."],
        ["files", "src", "--format", "json", "--output", "report.json", "--quiet"],
        ["files", "--quiet", "a.py", "b c.py", "--no-redact", "--format=sarif"],
        ["files", "--config", "c.toml", "tree"],
        ["history"],
        ["history", "--repo", "r.git", "a..b", "--format", "json", "--output", "o.json", "-q"],
        ["history", "main", "^topic", "a...b", "--engine=diff", "--jobs", "3"],
        ["history", "--branch", "main", "--branch=dev", "--since", "2023-01-01"],
        ["history", "--until=2024-01-01", "--all-occurrences", "--report", "r.html"],
        ["history", "--branch=", "--jobs=256", "--engine", "blob"],
        ["ci"],
        ["ci", "--base", "origin/main", "--format", "sarif", "--output", "r.sarif"],
        ["ci", "--deepen", "--all-occurrences", "--jobs", "1", "--report=r.md", "--quiet"],
        ["pre-receive"],
        ["pre-receive", "--quiet", "--config", "c.toml", "--format=json"],
    ],
)
def test_plain_command_lines_mean_what_argparse_says(args: list[str]) -> None:
    plain = plain_namespace(args)
    if plain is not None:
        assert records(plain) == argparse_records(args)


@pytest.mark.parametrize(
    "args",
    [
        ["staged", "--rep", "x"],  # an abbreviation
        ["staged", "--help"],
        ["staged", "--format", "yaml"],  # not a choice: argparse says so
        ["staged", "--repo"],  # no value
        ["staged", "--repo", "-q"],  # a flag for a value
        ["staged", "file.py"],  # staged takes no files
        ["staged", "--quiet=yes"],
        ["staged", "--verify"],  # not read here
        ["staged", "--fail-on", "live"],
        ["staged", "-qq"],
        ["hook", "a.py", "--quiet"],  # a flag after the files
        ["hook", "--", "a.py"],
        ["hook", "-"],
        ["hook", "--jobs", "2", "a.py"],
        ["pre-push", "origin", "url", "more"],  # a third word: argparse's error
        ["pre-push", "origin", "--quiet", "url"],  # a flag between them
        ["pre-push", "--verify", "origin"],  # not read here
        ["pre-push", "-"],
        ["commit-msg"],  # no file: argparse's error
        ["commit-msg", "a", "b"],  # two
        ["commit-msg", "msg", "--quiet"],  # a flag after the file
        ["--version"],
        ["files", "a", "--quiet", "b"],  # a word after a flag after the words
        ["files", "-"],  # standard input
        ["files", "--jobs", "2", "."],
        ["files", "a", "--", "b"],
        ["history", "a", "--quiet", "b"],  # a word after a flag after the words
        ["history", "--", "a..b"],
        ["history", "--engine", "fast"],  # not a choice
        ["history", "--jobs", "0"],  # not 1 to 256
        ["history", "--jobs", "257"],
        ["history", "--jobs", "+3"],  # int() reads it; plain digits only here
        ["history", "--jobs", "\uff13"],  # a digit, not an ASCII one
        ["history", "--since", "-1"],  # a value that looks like a flag
        ["history", "--all-occ"],  # an abbreviation
        ["history", "--base", "x"],  # ci's
        ["history", "--fail-on", "live"],
        ["ci", "origin/main"],  # ci takes no revisions
        ["ci", "--branch", "main"],  # history's
        ["ci", "--since", "2023-01-01"],
        ["ci", "--deepen=1"],
        ["pre-receive", "--base", "x"],
        ["pre-receive", "x"],
    ],
)
def test_other_command_lines_are_left_to_argparse(args: list[str]) -> None:
    assert plain_namespace(args) is None


WORDS = st.sampled_from(
    [
        "--repo", "--config", "--format", "--output", "--baseline", "--no-redact", "--quiet",
        "-q", "--repo=r", "--format=json", "--format=text", "--format=bad", "--quiet=1",
        "--rep", "--", "-", "-x", "json", "sarif", "text", "a.py", "b", "", "=", "--jobs", "3",
        "--jobs=0", "--jobs=07", "--engine", "blob", "--engine=bad", "--branch", "--branch=m",
        "--since", "--until=2024-01-01", "--base", "--deepen", "--all-occurrences",
        "--report", "a..b", "^c",
    ]
)  # fmt: skip


@settings(max_examples=600, deadline=None)
@given(
    command=st.sampled_from(
        ["staged", "hook", "pre-push", "files", "commit-msg", "history", "ci", "pre-receive"]
    ),
    words=st.lists(WORDS, max_size=7),
)
def test_whatever_plain_reads_argparse_reads_the_same(command: str, words: list[str]) -> None:
    args = [command, *words]
    plain = plain_namespace(args)
    if plain is not None:
        assert records(plain) == argparse_records(args)
