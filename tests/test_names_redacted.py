"""A key in a name the repository chose (a file, an archive member) is shown redacted, as
a found key is: in every report format, on stderr, in a baseline and in the `last-found`
cache. With `--no-redact` the names are shown whole. Fingerprints do not change."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from testing.archives import with_method
from testing.cli import CliRun
from testing.git_repo import Repo
from testing.keys import client_id, secret

NAMED = secret(41)  # a key in a file's name
MEMBER = secret(42)  # a key in an archive member's name
HELD = [secret(43), secret(44)]  # the keys the two hold


def with_keys_in_names(repo: Repo) -> None:
    repo.write(f"config/{NAMED}.env", f"NEXPAY_SECRET={HELD[0]}\n")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(f"app/{MEMBER}.env", f"NEXPAY_SECRET={HELD[1]}\n")
    repo.write("dist/app.zip", buffer.getvalue())


def leaked(text: str) -> list[str]:
    return [key for key in (NAMED, MEMBER, *HELD) if key in text]


@pytest.mark.parametrize("form", ["text", "json", "sarif", "junit", "gitlab"])
@pytest.mark.parametrize("mode", ["staged", "files", "history"])
def test_keys_in_names_are_redacted_in_every_output(
    cli: CliRun, repo: Repo, form: str, mode: str
) -> None:
    with_keys_in_names(repo)
    repo.stage()
    if mode != "staged":
        repo.commit()
    where = [str(repo.path)] if mode == "files" else ["--repo", str(repo.path)]
    run = cli(mode, *where, "--format", form)
    assert run.code == 1, run.err
    assert leaked(run.out + run.err) == []
    assert NAMED[:11] in run.out  # the file is still named, as its key is shown
    remembered = (repo.path / ".git" / "nexpay-scan" / "last-found").read_text()
    assert leaked(remembered) == []


def test_no_redact_shows_the_names_whole_and_fingerprints_stay(cli: CliRun, repo: Repo) -> None:
    with_keys_in_names(repo)
    args = ["files", str(repo.path), "--format", "json"]
    redacted, whole = cli(*args).json()["findings"], cli(*args, "--no-redact").json()["findings"]
    assert {f["file"] for f in whole} == {f"config/{NAMED}.env", "dist/app.zip"}
    assert any(f"zip:app/{MEMBER}.env" in note for f in whole for note in f.get("notes", []))
    assert {f["fingerprint"] for f in redacted} == {f["fingerprint"] for f in whole}


def test_a_baseline_and_the_ignore_file_hold_no_key_and_still_match(
    cli: CliRun, repo: Repo, tmp_path: Path
) -> None:
    with_keys_in_names(repo)
    repo.commit()
    baseline = tmp_path / "baseline.json"
    assert cli("baseline", "create", "--repo", str(repo.path), "--output", str(baseline)).code == 0
    assert leaked(baseline.read_text()) == []
    run = cli("files", str(repo.path), "--baseline", str(baseline), "--format", "json")
    assert run.code == 0 and run.json()["findings"] == []
    # what a blocked run remembers is listed in the ignore file, and matches the next run
    assert cli("files", str(repo.path)).code == 1
    assert cli("ignore", "--repo", str(repo.path), "--last-found", "--reason", "r").code == 0
    assert leaked((repo.path / ".nexpayscanignore").read_text()) == []
    assert cli("files", str(repo.path)).code == 0


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.text(alphabet="abc/._-=+ \\nxp_sk", max_size=12),
            st.integers(0, 60).map(lambda n: secret(n)),
            st.integers(0, 60).map(lambda n: client_id(n)),
        ),
        max_size=6,
    )
)
def test_no_key_survives_in_a_redacted_name(parts: list[str]) -> None:
    """Whatever surrounds them, however they touch, no key is left whole in a name."""
    from nexpay_scan.config import builtin_rules
    from nexpay_scan.rules import rule_prefixes
    from nexpay_scan.shown_names import NameRedactor

    name = "".join(parts)
    shown = NameRedactor(rule_prefixes(builtin_rules())).name(name)
    for part in parts:
        if part.startswith(("nxp_sk_", "nxp_cid_")) and len(part) > 20:  # (a key)
            assert part not in shown
    assert NameRedactor(()).name(name) == name


def test_a_key_in_the_name_of_content_passed_over_is_redacted(cli: CliRun, tmp_path: Path) -> None:
    """What could not be read is named on stderr and in every report: by its name, and
    the key in it shown redacted. (The key in the name is a finding too: the archive's
    own bytes hold the name.)"""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(f"app/{MEMBER}.env", "LOG_LEVEL=debug\n")
    (tmp_path / "bundle.zip").write_bytes(with_method(buffer.getvalue(), 98))  # (PPMd: named)
    for form in ("text", "json", "sarif"):
        run = cli("files", str(tmp_path), "--format", form)
        assert run.code == 1, run.err
        assert "ppmd" in run.out + run.err and MEMBER[:11] in run.out + run.err  # (named)
        assert leaked(run.out + run.err) == []
    whole = cli("files", str(tmp_path), "--format", "json", "--no-redact")
    assert MEMBER in whole.out
