"""`--format sarif|gitlab|junit`: each valid for the tool that reads it, and never the key."""

from __future__ import annotations

import hashlib
import importlib
import io
import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nexpay_scan.config import builtin_rules
from nexpay_scan.findings import Commit, Finding, Secret
from nexpay_scan.reporters import Report, sarif
from nexpay_scan.reporters.gitlab import NO_COMMIT
from nexpay_scan.reporters.junit import xml_text
from nexpay_scan.scan import Summary
from testing.cli import CliRun, Result
from testing.git_repo import ROOT, Repo
from testing.keys import client_id, legacy_client_id, legacy_secret, secret
from tests.test_properties import PROPERTY

FORMATS = ("sarif", "gitlab", "junit")
MODES = ("files", "staged", "history")
DATA = ROOT / "tests" / "data"
GITLAB_SCHEMA = DATA / "gitlab-secret-detection-report-format-15.0.6.json"
USER_RULE = """\
[[rule]]
id = "acme-wrapped-key"
description = "Nexpay key wrapped in our internal token"
kind = "secret"
severity = "high"
regex = 'acmetok_[0-9a-f]{32}'
keywords = ["acmetok_"]
"""
ACME_KEY = "acmetok_" + hashlib.sha256(b"acme").hexdigest()[:32]
DANGLING_KEY = secret(5)
# Names a URI has to encode, and one XML 1.0 cannot hold.
ODD_NAME = "dir with space/ü#%?.py"
CONTROL_NAME = "ctl\x01name.txt"


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _unavailable(message: str) -> None:
    """CI must have every validator; a developer's machine may lack one."""
    if _in_ci():
        pytest.fail(message)
    pytest.skip(message)


def _keys() -> list[str]:
    """Every credential `_plant_keys` writes."""
    return [secret(1), legacy_secret(1), legacy_client_id(1), client_id(1), secret(2), ACME_KEY]


def _found(mode: str) -> int:
    """Findings `_scan` makes: history also lists the key of a blob no commit holds (local
    only in a work tree's repository: a suppressed result, a skipped case, an info message)."""
    return len(_keys()) + (mode == "history")


def _plant_keys(repo: Repo) -> None:
    """Writes files holding one credential of each kind, one found by a user's rule."""
    keys = _keys()
    repo.write(".nexpay-scan.toml", USER_RULE)
    repo.write(
        "config/app.env",
        f"A=1\nNEXPAY_SECRET={keys[1]}\nNEXPAY_CLIENT_ID={keys[2]}\nKEY={keys[0]}\n",
    )
    repo.write(ODD_NAME, f'CLIENT = "{keys[3]}"\n')
    repo.write(CONTROL_NAME, f"{keys[4]}\n")
    repo.write("tokens.txt", f"token: {keys[5]}\n")


def _scan(cli: CliRun, repo: Repo, mode: str, fmt: str, out: Path, *extra: str) -> Result:
    """Plants the keys where `mode` finds them, scans, and returns the run."""
    if mode == "files":
        _plant_keys(repo)
        return cli("files", str(repo.path), "--format", fmt, "--output", str(out), *extra)
    repo.write("README.md", "start\n")
    repo.commit("start")
    _plant_keys(repo)
    if mode == "staged":
        repo.stage()
    else:
        repo.commit("add keys")
        dangling = repo.write("dangling.txt", f"NEXPAY_SECRET={DANGLING_KEY}\n")
        repo.git("hash-object", "-w", str(dangling))
        dangling.unlink()
    return cli(mode, "--repo", str(repo.path), "--format", fmt, "--output", str(out), *extra)


# SARIF, checked by Microsoft's SARIF Multitool with GitHub's rules


@pytest.fixture(scope="session")
def multitool() -> Path:
    """The SARIF Multitool's executable, installed once into a cache folder.

    The folder is $NEXPAY_SCAN_TOOLS_CACHE/sarif, else ~/.cache/nexpay-scan-tests/sarif.
    """
    base = os.environ.get("NEXPAY_SCAN_TOOLS_CACHE") or Path.home() / ".cache/nexpay-scan-tests"
    script = ROOT / "tests" / "sarif_tools.sh"
    done = subprocess.run(
        ["bash", str(script), str(Path(base) / "sarif")],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        _unavailable(f"SARIF Multitool not available ({script.name}): {done.stderr.strip()}")
    return Path(done.stdout.strip())


def validate_sarif(multitool: Path, log: Path) -> dict[str, list[str]]:
    """The multitool's complaints about `log` under the SARIF and GitHub rules, by level."""
    verdict = log.with_name(log.name + ".validation.sarif")
    argv = [str(multitool), "validate", "--rule-kind", "Sarif;Gh", "--log", "ForceOverwrite"]
    done = subprocess.run(
        [*argv, "--output", str(verdict), str(log)],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
        env={**os.environ, "DOTNET_CLI_TELEMETRY_OPTOUT": "1"},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    # The exit code stays 0 whatever the log holds: the verdict is in the output log.
    run = json.loads(verdict.read_text(encoding="utf-8-sig"))["runs"][0]
    assert all(i.get("executionSuccessful") for i in run["invocations"]), done.stdout
    lines = done.stdout.splitlines()
    found: dict[str, list[str]] = {"error": [], "warning": [], "note": []}
    for item in run.get("results", []):
        level = item.get("level", "warning")
        said = [ln for ln in lines if f" {item['ruleId']}: " in ln and f" {level} " in ln]
        found.setdefault(level, []).append(said[0] if said else json.dumps(item)[:300])
    return found


@pytest.mark.parametrize("mode", MODES)
def test_sarif_passes_the_multitool_with_github_rules(
    cli: CliRun, repo: Repo, tmp_path: Path, multitool: Path, mode: str
) -> None:
    out = tmp_path / "report.sarif"
    run = _scan(cli, repo, mode, "sarif", out)
    assert run.code == 1, run.err
    assert len(json.loads(out.read_text())["runs"][0]["results"]) == _found(mode)
    found = validate_sarif(multitool, out)
    assert found["error"] == []
    assert found["warning"] == []


def test_sarif_of_names_that_are_not_paths_passes_the_multitool(
    tmp_path: Path, multitool: Path
) -> None:
    commit = Commit("a" * 40, "Ada Author", "ada@example.com", "2024-01-01T12:00:00+00:00")
    findings = [
        _finding("<stdin>"),
        _finding("(unreachable blob 1234abcd)", commit=commit),
        _finding("/abs/path with space/k.env"),
        _finding("../outside/k.env"),
    ]
    out = tmp_path / "odd.sarif"
    out.write_text(sarif.render(_report(findings)))
    found = validate_sarif(multitool, out)
    assert found["error"] == []
    assert found["warning"] == []


def test_sarif_stdin_from_the_cli(
    cli: CliRun, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(f"k={secret(3)}\n".encode())))
    run = cli("files", "-", "--format", "sarif")
    [result] = json.loads(run.out)["runs"][0]["results"]
    location = result["locations"][0]["physicalLocation"]["artifactLocation"]
    assert location == {"uri": "%3Cstdin%3E", "uriBaseId": "%SRCROOT%"}


def test_sarif_rules_results_and_locations(cli: CliRun, repo: Repo, tmp_path: Path) -> None:
    out = tmp_path / "report.sarif"
    _scan(cli, repo, "history", "sarif", out)
    log = json.loads(out.read_text())
    assert log["version"] == "2.1.0" and log["$schema"]
    [run] = log["runs"]
    driver = run["tool"]["driver"]
    assert driver["name"] == "nexpay-scan" and driver["semanticVersion"] == driver["version"]
    rules = driver["rules"]
    ids = [r["id"] for r in rules]
    assert set(ids) >= {r.id for r in builtin_rules()} | {"acme-wrapped-key"}
    by_id = {r["id"]: r for r in rules}
    assert by_id["nexpay-legacy-client-id"]["name"] == "NexpayLegacyClientId"
    assert by_id["nexpay-secret"]["properties"]["security-severity"] == "9.5"
    assert by_id["nexpay-client-id"]["properties"]["security-severity"] == "5.5"
    assert by_id["acme-wrapped-key"]["properties"]["security-severity"] == "8.0"
    assert by_id["nexpay-secret"]["properties"]["precision"] == "very-high"
    for rule in rules:
        assert {"security", "secret"} <= set(rule["properties"]["tags"])
        assert "Revoke the key now" in rule["help"]["text"]
        assert "1. Revoke the key now" in rule["help"]["markdown"]
    head = repo.git("rev-parse", "HEAD").strip()
    uris = set()
    for item in run["results"]:
        assert ids[item["ruleIndex"]] == item["ruleId"]
        assert item["partialFingerprints"]["nexpayScan/v1"]
        region = item["locations"][0]["physicalLocation"]["region"]
        assert region["endColumn"] > region["startColumn"] >= 1
        uri = item["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        uris.add(uri)
        if item["properties"].get("unreachable"):
            assert uri.startswith("%28unreachable%20blob%20") and "commit" not in item["properties"]
        else:
            assert (item["properties"]["commit"], item["properties"]["author"]) == (
                head,
                "Ada Author",
            )
    assert len(uris) == 5 and uris >= {
        "config/app.env",
        "dir%20with%20space/%C3%BC%23%25%3F.py",
        "ctl%01name.txt",
        "tokens.txt",
    }


def test_sarif_region_spans_the_credential(cli: CliRun, repo: Repo, tmp_path: Path) -> None:
    key = secret(4)
    repo.write("a.env", f"KEY = {key}\n")
    out = tmp_path / "a.sarif"
    cli("files", str(repo.path), "--format", "sarif", "--output", str(out))
    [item] = json.loads(out.read_text())["runs"][0]["results"]
    region = item["locations"][0]["physicalLocation"]["region"]
    assert region == {"startLine": 1, "startColumn": 7, "endColumn": 7 + len(key)}


def test_sarif_live_key_is_an_error_whatever_the_rule_severity() -> None:
    finding = _finding("a.env", severity="low", status="live")
    [item] = json.loads(sarif.render(_report([finding])))["runs"][0]["results"]
    assert item["level"] == "error"


# GitLab secret detection report, checked against GitLab's schema


def _gitlab_validator() -> Any:
    try:
        jsonschema = importlib.import_module("jsonschema")
    except ImportError:
        _unavailable("jsonschema is not installed (pip install -e '.[test]')")
    schema = json.loads(GITLAB_SCHEMA.read_text())
    return jsonschema.Draft7Validator(schema)


def _check_gitlab_by_hand(document: dict[str, Any]) -> None:
    """The fields GitLab refuses a report without, checked without the schema."""
    assert document["version"] == "15.0.6"
    scan = document["scan"]
    assert scan["type"] == "secret_detection" and scan["status"] == "success"
    for tool in (scan["analyzer"], scan["scanner"]):
        assert tool["id"] and tool["name"] and tool["version"] and tool["vendor"]["name"]
    for item in document["vulnerabilities"]:
        assert item["id"] and item["identifiers"][0]["value"]
        assert item["location"]["commit"]["sha"]
        assert item["severity"] in ("Critical", "High", "Medium", "Low")


@pytest.mark.parametrize("mode", MODES)
def test_gitlab_report_matches_gitlabs_schema(
    cli: CliRun, repo: Repo, tmp_path: Path, mode: str
) -> None:
    out = tmp_path / "gl-secret-detection-report.json"
    run = _scan(cli, repo, mode, "gitlab", out)
    assert run.code == 1, run.err
    document = json.loads(out.read_text())
    _check_gitlab_by_hand(document)
    errors = [e.message for e in _gitlab_validator().iter_errors(document)]
    assert errors == []
    assert len({v["id"] for v in document["vulnerabilities"]}) == len(_keys())
    shas = {v["location"]["commit"]["sha"] for v in document["vulnerabilities"]}
    head = repo.git("rev-parse", "HEAD").strip() if mode == "history" else NO_COMMIT
    assert shas == {head}  # (the dangling blob, with no commit, is local only: a message)


def test_gitlab_clean_scan_matches_the_schema(cli: CliRun, tmp_path: Path) -> None:
    (tmp_path / "clean.txt").write_text("nothing here\n")
    run = cli("files", str(tmp_path / "clean.txt"), "--format", "gitlab")
    assert run.code == 0
    document = json.loads(run.out)
    assert document["vulnerabilities"] == []
    assert [e.message for e in _gitlab_validator().iter_errors(document)] == []


# JUnit XML


def test_junit_one_failure_per_finding(cli: CliRun, repo: Repo, tmp_path: Path) -> None:
    out = tmp_path / "junit.xml"
    _scan(cli, repo, "history", "junit", out)
    root = ET.parse(out).getroot()
    [suite] = root.iter("testsuite")
    assert suite.get("name") == "nexpay-scan"
    cases = suite.findall("testcase")
    failures = [c.find("failure") for c in cases]
    failures = [f for f in failures if f is not None]
    assert len(cases) == _found("history") and len(failures) == len(_keys())
    assert suite.get("tests") == str(_found("history"))
    assert suite.get("failures") == str(len(_keys()))
    names = {c.get("file") for c in cases}
    assert "ctl\\x01name.txt" in names and ODD_NAME in names
    messages = [f.get("message", "") for f in failures if f is not None]
    assert any(m.startswith("nexpay-secret: ") and "config/app.env:4" in m for m in messages)


def test_junit_clean_scan_is_one_passing_case(cli: CliRun, tmp_path: Path) -> None:
    (tmp_path / "clean.txt").write_text("nothing here\n")
    run = cli("files", str(tmp_path), "--format", "junit")
    assert run.code == 0
    suite = ET.fromstring(run.out).find("testsuite")
    assert suite is not None and suite.get("tests") == "1" and suite.get("failures") == "0"
    [case] = suite.findall("testcase")
    assert case.find("failure") is None


def test_junit_holds_any_character_as_well_formed_xml() -> None:
    finding = _finding("f\x00\x1b[31m\udcff.txt", description="bad\x0b\ufffe rule <&>")
    text = _render("junit", _report([finding]))
    failure = ET.fromstring(text).find("testsuite/testcase/failure")
    assert failure is not None and "bad\\x0b\\ufffe rule <&>" in failure.get("message", "")
    assert xml_text("ok\ttab\nline \U0001f600") == "ok\ttab\nline \U0001f600"


# Redaction: the same contract as text and JSON output


@pytest.mark.parametrize("fmt", FORMATS)
def test_no_full_credential_without_no_redact(
    cli: CliRun, repo: Repo, tmp_path: Path, fmt: str
) -> None:
    out = tmp_path / f"report.{fmt}"
    run = _scan(cli, repo, "history", fmt, out)
    assert run.code == 1, run.err
    shown = out.read_text() + run.out + run.err
    assert [k for k in [*_keys(), DANGLING_KEY] if k in shown] == []


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_credential_with_no_redact(cli: CliRun, repo: Repo, tmp_path: Path, fmt: str) -> None:
    out = tmp_path / f"report.{fmt}"
    _scan(cli, repo, "files", fmt, out, "--no-redact")
    text = out.read_text()
    assert [k for k in _keys() if k not in text] == []


# Helpers for writer-level tests


def _finding(
    file: str,
    *,
    severity: str = "critical",
    status: str = "unverified",
    description: str = "Nexpay API secret (nxp_sk_, checksummed)",
    commit: Commit | None = None,
) -> Finding:
    finding = Finding(
        rule_id="nexpay-secret",
        description=description,
        kind="secret",
        severity=severity,
        file=file,
        line=3,
        column=5,
        secret=Secret(secret(9)),
        commit=commit,
    )
    finding.status = status
    return finding


def _report(findings: list[Finding]) -> Report:
    return Report(findings=findings, summary=Summary(mode="files"))


def _render(fmt: str, report: Report) -> str:
    writer: Callable[[Report], str] = importlib.import_module(f"nexpay_scan.reporters.{fmt}").render
    return writer(report)


def test_sarif_lists_the_rules_in_force_even_when_they_find_nothing(
    cli: CliRun, tmp_path: Path
) -> None:
    (tmp_path / ".nexpay-scan.toml").write_text(
        USER_RULE + '\n[scan]\ndisable_rules = ["nexpay-legacy-client-id"]\n'
    )
    (tmp_path / "clean.py").write_text("print('nothing here')\n")
    out = tmp_path / "report.sarif"
    run = cli("files", str(tmp_path), "--format", "sarif", "--output", str(out))
    assert run.code == 0
    [log_run] = json.loads(out.read_text())["runs"]
    ids = {r["id"] for r in log_run["tool"]["driver"]["rules"]}
    assert "acme-wrapped-key" in ids  # the repository's own rule, silent this time
    assert "nexpay-legacy-client-id" not in ids  # disabled by the repository
    assert {r.id for r in builtin_rules()} - {"nexpay-legacy-client-id"} <= ids
    assert log_run["results"] == []


# JSON and SARIF are written a finding at a time (reporters/json_stream.py): the same text


def _whole_json(report: Report) -> str:
    """The JSON report made whole, as it was before it was written in pieces."""
    from nexpay_scan import __version__
    from nexpay_scan.reporters.json_report import finding_dict, summary_dict

    document = {
        "tool": {"name": "nexpay-scan", "version": __version__},
        "findings": [finding_dict(f, report) for f in report.findings],
        "suppressed": [finding_dict(f, report) for f in report.suppressed],
        "summary": summary_dict(report),
    }
    return json.dumps(document, indent=2) + "\n"


@pytest.mark.parametrize(("active", "suppressed"), [(0, 0), (1, 0), (0, 1), (3, 2)])
def test_json_written_in_pieces_is_the_document_made_whole(active: int, suppressed: int) -> None:
    from nexpay_scan.findings import Suppression
    from nexpay_scan.reporters import json_report

    odd = 'a \u0000b\u2028"quoted" \\ é 😀'  # escapes, and a NUL as in no file name
    findings = [
        _finding(f"src/{n}{odd}.env", description=odd, commit=Commit("ab" * 20, odd, "e@x", "d"))
        for n in range(active)
    ]
    allowed = [_finding(f"t/{n}.env") for n in range(suppressed)]
    for finding in allowed:
        finding.suppression = Suppression("inSource", odd)
        finding.notes.append(odd)
    summary = Summary(mode="files")
    summary.started = float("-inf")  # (a duration that does not change between the two)
    report = Report(findings=findings, summary=summary, suppressed=allowed)
    report.notes.append(odd)
    pieces = list(json_report.render_pieces(report))
    assert "".join(pieces) == _whole_json(report)
    assert len(pieces) >= active + suppressed  # (a finding at a time)


@pytest.mark.parametrize(("fmt", "listed"), [("sarif", 3), ("gitlab", 2), ("json", 2)])
def test_reports_written_in_pieces_are_the_documents_made_whole(
    cli: CliRun, tmp_path: Path, fmt: str, listed: int
) -> None:
    (tmp_path / "a.env").write_text(f"NEXPAY_SECRET={secret(1)}\nID={client_id(1)}\n")
    (tmp_path / "b.env").write_text(f"NEXPAY_SECRET={secret(2)}  # nexpay-scan: allow\n")
    out = tmp_path / "report.json"
    assert cli("files", str(tmp_path), "--format", fmt, "--output", str(out)).code == 1
    written = out.read_text()
    document = json.loads(written)
    assert written == json.dumps(document, indent=2) + "\n"  # (`json.loads` keeps key order)
    found = {
        "sarif": lambda: document["runs"][0]["results"],
        "gitlab": lambda: document["vulnerabilities"],
        "json": lambda: document["findings"],
    }[fmt]()
    assert len(found) == listed
    if fmt == "gitlab":  # the suppressed one, as a message
        assert len(document["scan"]["messages"]) == 1


_JSON_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(),
)
_JSON_KEYS = st.one_of(st.text(), st.integers(), st.booleans(), st.none(), st.floats())


@PROPERTY
@given(
    st.recursive(
        _JSON_SCALARS,
        lambda inner: st.one_of(
            st.lists(inner, max_size=4),
            st.tuples(inner, inner),
            st.dictionaries(_JSON_KEYS, inner, max_size=4),
        ),
        max_leaves=30,
    )
)
def test_json_text_is_what_json_writes(value: object) -> None:
    """Reports are written without loading `json` (it loads `re` and compiles five
    patterns: 5-7 ms at the end of a run): the same text as `json.dumps(indent=2)`, for
    every string (escapes, NULs, surrogates, emoji), number (NaN, infinities), key and
    nesting."""
    from nexpay_scan.reporters.json_text import dumps

    assert dumps(value) == json.dumps(value, indent=2)


def test_json_text_refuses_what_json_refuses() -> None:
    from nexpay_scan.reporters.json_text import dumps

    for value in (b"bytes", {1, 2}, object(), {(1, 2): 3}):
        with pytest.raises(TypeError):
            json.dumps(value, indent=2)
        with pytest.raises(TypeError):
            dumps(value)
