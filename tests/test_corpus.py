"""Result the nexpay-scan CLI over the generated corpus (see corpus.py)."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from nexpay_scan.checksum import secret_checksum
from testing.corpus import (
    ALLOW_COMMENT,
    CLIENT_ID_PREFIX,
    CLIENT_ID_RE,
    LEGACY_CLIENT_ID_RE,
    LEGACY_NO_CONTEXT,
    LEGACY_SECRET_RE,
    OVERLONG,
    PLACEHOLDER,
    SECRET_PREFIX,
    SECRET_RE,
    TRUNCATED,
    WRONG_CHECKSUM,
    Corpus,
    Expected,
    NegativeCase,
    is_valid_secret,
    looks_like_placeholder,
    write_corpus,
)

REPO = Path(__file__).resolve().parents[1]

Row = tuple[str, int, str, str]  # (file, line, match, kind)


def run_scanner(root: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    # The checkout's nexpay_scan, installed or not; cwd outside any repository's config.
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH")) if p)
    command = [sys.executable, "-m", "nexpay_scan", "files", str(root), "--format", "json"]
    return subprocess.run(
        [*command, *extra],
        capture_output=True,
        text=True,
        encoding="utf-8",
        errors="replace",
        env=env,
        cwd=root,
        timeout=300,
        check=False,
    )


def parse_report(proc: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    try:
        report: dict[str, Any] = json.loads(proc.stdout)
    except json.JSONDecodeError as exc:
        pytest.fail(
            f"scanner stdout is not JSON ({exc}); exit code {proc.returncode}\n"
            f"stdout:\n{proc.stdout[:3000]}\nstderr:\n{proc.stderr[:3000]}"
        )
    return report


def rows_of(report: dict[str, Any]) -> set[Row]:
    return {
        (str(f["file"]), int(f["line"]), str(f["match"]), str(f["kind"]))
        for f in report["findings"]
    }


def describe(title: str, rows: list[Row]) -> str:
    if not rows:
        return ""
    body = "\n".join(f"  {file}:{line} [{kind}] {match}" for file, line, match, kind in rows)
    return f"{title} ({len(rows)}):\n{body}\n"


def expected_rows(corpus: Corpus) -> set[Row]:
    return {(e.file, e.line, e.match, e.kind) for e in corpus.positives}


# ------------------------------------------------------------------ end to end


def test_scan_finds_exactly_the_corpus_positives(tmp_path: Path) -> None:
    root = tmp_path / "corpus"
    corpus = write_corpus(root)
    proc = run_scanner(root, "--no-redact")
    found = rows_of(parse_report(proc))
    expected = expected_rows(corpus)

    missing = sorted(expected - found)
    extra = sorted(found - expected)
    message = describe("MISSING (expected, not reported)", missing)
    message += describe("EXTRA (reported, not expected)", extra)
    assert not missing and not extra, message
    negative = set(corpus.negative_files)
    in_negative = sorted(row for row in found if row[0] in negative)
    assert not in_negative, describe("findings in negative files", in_negative)
    assert proc.returncode == 1, f"exit code {proc.returncode}\nstderr:\n{proc.stderr}"


def test_default_output_redacts_every_credential(tmp_path: Path) -> None:
    root = tmp_path / "corpus"
    corpus = write_corpus(root)
    proc = run_scanner(root)
    report = parse_report(proc)
    assert report["findings"], "no findings at all: the redaction check would be vacuous"
    credentials = {e.match for e in corpus.positives} | {
        n.value for n in corpus.negatives if n.reason == ALLOW_COMMENT
    }
    leaked = sorted(c for c in credentials if c in proc.stdout)
    assert not leaked, "full credentials in redacted output:\n" + "\n".join(leaked)
    assert proc.returncode == 1, f"exit code {proc.returncode}\nstderr:\n{proc.stderr}"


# ----------------------------------------------------- the corpus checks itself


CONTRACT_SECRETS = (
    "nxp_sk_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA2tNEJs",
    "nxp_sk_0123456789abcdefghijABCDEFGHIJ01234536IYNx",
    "nxp_sk_jsa9E0MIBaUb2sgLhjVJMPWiV2hOF6UZYnJj1iiBGo",
)


def file_lines(root: Path, rel: str) -> list[str]:
    return (root / rel).read_bytes().decode("utf-8", "surrogateescape").split("\n")


def check_positive_shape(e: Expected) -> None:
    if e.match.startswith(SECRET_PREFIX):
        assert e.kind == "secret" and is_valid_secret(e.match), e
    elif e.match.startswith(CLIENT_ID_PREFIX):
        assert e.kind == "client_id" and CLIENT_ID_RE.fullmatch(e.match), e
        assert not looks_like_placeholder(e.match[len(CLIENT_ID_PREFIX) :]), e
    elif e.kind == "client_id":
        assert LEGACY_CLIENT_ID_RE.fullmatch(e.match), e
    else:
        assert e.kind == "secret" and LEGACY_SECRET_RE.fullmatch(e.match), e
        assert len(base64.urlsafe_b64decode(e.match + "=")) == 32, e


def is_legacy(e: Expected) -> bool:
    return not e.match.startswith((SECRET_PREFIX, CLIENT_ID_PREFIX))


def check_negative_shape(n: NegativeCase) -> None:
    value = n.value
    if n.reason == WRONG_CHECKSUM:
        assert SECRET_RE.fullmatch(value) and not is_valid_secret(value), n
    elif n.reason == TRUNCATED:
        if value.startswith(SECRET_PREFIX):
            assert len(value) == 48, n
        elif value.startswith(CLIENT_ID_PREFIX):
            assert len(value) == 31, n
        else:
            assert len(value) in (42, 35), n
    elif n.reason == OVERLONG:
        if value.startswith(SECRET_PREFIX):
            assert len(value) > 49 and is_valid_secret(value[:49]), n
        elif value.startswith(CLIENT_ID_PREFIX):
            assert len(value) > 32 and len(value) != 43, n
            assert CLIENT_ID_RE.fullmatch(value[:32]), n
        else:
            assert len(value) == 44 and LEGACY_SECRET_RE.fullmatch(value[:43]), n
    elif n.reason == ALLOW_COMMENT:
        assert (
            is_valid_secret(value)
            or CLIENT_ID_RE.fullmatch(value)
            or LEGACY_CLIENT_ID_RE.fullmatch(value)
            or LEGACY_SECRET_RE.fullmatch(value)
        ), n
    elif n.reason == PLACEHOLDER:
        # A placeholder with the full shape of a key must still not be a key.
        if SECRET_RE.fullmatch(value):
            assert not is_valid_secret(value), n
        elif CLIENT_ID_RE.fullmatch(value) or LEGACY_CLIENT_ID_RE.fullmatch(value):
            assert looks_like_placeholder(value.removeprefix(CLIENT_ID_PREFIX)), n
        elif LEGACY_SECRET_RE.fullmatch(value):
            assert looks_like_placeholder(value), n


def test_corpus_checksums_and_layout(tmp_path: Path) -> None:
    # The checksum implementation agrees with the contract's examples.
    for secret in CONTRACT_SECRETS:
        assert secret_checksum(secret[:43]) == secret[43:] and is_valid_secret(secret)
    assert not is_valid_secret(CONTRACT_SECRETS[0][:-1] + "t")

    root = tmp_path / "corpus"
    corpus = write_corpus(root)
    assert len(corpus.positives) >= 60
    assert len(corpus.negatives) >= 80
    assert write_corpus(tmp_path / "again") == corpus, "corpus is not deterministic"
    assert not set(corpus.negative_files) & {e.file for e in corpus.positives}

    for e in corpus.positives:
        check_positive_shape(e)
        lines = file_lines(root, e.file)
        assert e.match in lines[e.line - 1], e
        if is_legacy(e):
            window = lines[max(0, e.line - 4) : e.line]
            assert any("nexpay" in line.lower() for line in window), e

    reasons = {n.reason for n in corpus.negatives}
    assert {WRONG_CHECKSUM, TRUNCATED, OVERLONG, LEGACY_NO_CONTEXT, ALLOW_COMMENT} <= reasons
    for n in corpus.negatives:
        check_negative_shape(n)
        text = (root / n.file).read_bytes().decode("utf-8", "surrogateescape")
        assert n.value in text, n
        if n.reason == LEGACY_NO_CONTEXT:
            assert "nexpay" not in (text + n.file).lower(), n
        if n.reason == ALLOW_COMMENT:
            line = next(line for line in text.splitlines() if n.value in line)
            assert line.rstrip().endswith(("nexpay-scan: allow", "nexpay-scan: allow -->")), n
