"""Hostile encodings: NUL bytes, invalid UTF-8 in content, paths, authors and messages,
CRLF line endings. Keys are found at the right line and column, odd bytes are shown
escaped, nothing crashes."""

from __future__ import annotations

import os

from testing.cli import CliRun, run_cli
from testing.fast_import import data, fast_import
from testing.git_repo import Repo
from testing.keys import client_id, legacy_client_id, legacy_secret, secret
from testing.results import assert_every_mode_finds, found_keys, history_json, json_of


def _scan_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(extra)
    return env


def test_file_of_nul_bytes_gets_binary_rules_only(cli: CliRun, repo: Repo) -> None:
    repo.write("zeros.bin", b"\0" * 1_000_000)
    blob = (
        b"\0" * 100
        + secret(1).encode()
        + b"\0" * 100
        + client_id(1).encode()
        + b"\0NEXPAY_SECRET="
        + legacy_secret(1).encode()
        + b"\0NEXPAY_CLIENT_ID="
        + legacy_client_id(1).encode()
        + b"\0" * 100
    )
    repo.write("blob.bin", blob)
    expected = [("blob.bin", 1, 101, secret(1)), ("blob.bin", 1, 250, client_id(1))]
    assert_every_mode_finds(cli, repo, expected)
    (repo.path / "blob.bin").unlink()
    zeros = cli("files", str(repo.path), "--format", "json")
    assert zeros.code == 0 and json_of(zeros)["summary"]["files_scanned"] == 1


def test_invalid_utf8_in_content_path_author_and_message(cli: CliRun, repo: Repo) -> None:
    repo.write("README.md", "docs\n")
    repo.commit()
    parent = repo.git("rev-parse", "HEAD").strip().encode()
    content = b"\xff\xfe caf\xe9 \xc3\nNEXPAY_SECRET=" + secret(1).encode() + b" \xc3(\n"
    stream = (
        b"commit refs/heads/main\n"
        b"author Ren\xe9 \xff <ren\xe9@example.com> 1704200000 +0000\n"
        b"committer Ren\xe9 \xff <ren\xe9@example.com> 1704200000 +0000\n"
        + data(b"caf\xe9: \xff\xfe not UTF-8\n")
        + b"from "
        + parent
        + b"\n"
        + b'M 100644 inline "dir\\351/k\\377.env"\n'
        + data(content)
    )
    fast_import(repo.path, stream)
    added = repo.git("rev-parse", "main").strip()
    for engine in ("blob", "diff"):
        run = history_json(cli, repo.path, "--engine", engine)
        assert run.code == 1, run.err
        [finding] = json_of(run)["findings"]
        assert (finding["line"], finding["column"], finding["match"]) == (2, 15, secret(1))
        assert finding["commit"] == added
        assert finding["file"].startswith("dir") and finding["file"].endswith(".env")
        assert finding["author"].startswith("Ren")
    # text on a real UTF-8 stdout (not captured strings): the odd bytes do not crash it
    text = run_cli("history", "--repo", str(repo.path), env=_scan_env(LC_ALL="C.UTF-8"))
    assert text.code == 1, text.err
    assert "Traceback" not in text.err and "internal error" not in text.err
    assert "k\\xff.env" in text.out
    # and the same path, staged in a work tree
    repo.git("checkout", "-q", "main")
    repo.write("new.env", b"\xe9\xff" + f" {secret(2)}\n".encode())
    repo.stage()
    staged = run_cli(
        "staged", "--repo", str(repo.path), "--format", "json", "--no-redact", cwd=repo.path
    )
    assert staged.code == 1, staged.err
    assert found_keys(staged) == [("new.env", 1, 4, secret(2))]


def test_crlf_line_endings(cli: CliRun, repo: Repo) -> None:
    content = (
        "# settings\r\n"
        f"K={secret(1)}\r\n"
        f"ALLOWED={secret(2)}  # nexpay-scan: allow\r\n"
        "nexpay:\r\n"
        f"  secret: {legacy_secret(1)}\r\n"
    )
    repo.write("crlf.yaml", content)
    expected = [("crlf.yaml", 2, 3, secret(1)), ("crlf.yaml", 5, 11, legacy_secret(1))]
    assert_every_mode_finds(cli, repo, expected)
