"""Every example in every rule file is a test case; bad rule files are clear exit-2 errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from nexpay_scan.checksum import has_valid_checksum
from nexpay_scan.config import Settings, builtin_rules
from nexpay_scan.rules import Rule
from nexpay_scan.scan import Scanner
from testing.cli import CliRun
from testing.git_repo import Repo
from testing.keys import client_id, legacy_secret, secret

RULES = builtin_rules(with_examples=True)
POSITIVES = [(r, ex) for r in RULES for ex in r.positives]
NEGATIVES = [(r, ex) for r in RULES for ex in r.negatives]


def _rule_ids_found(text: str) -> set[str]:
    scanner = Scanner(Settings(tuple(RULES)))
    found = scanner.scan(text.encode(), "example.txt")
    return {f.rule_id for f in found if f.suppression is None}  # allowed: shown, not failing


@pytest.mark.parametrize(("rule", "example"), POSITIVES, ids=lambda v: getattr(v, "id", None))
def test_rule_finds_its_true_positives(rule: Rule, example: str) -> None:
    assert rule.id in _rule_ids_found(example)


@pytest.mark.parametrize(("rule", "example"), NEGATIVES, ids=lambda v: getattr(v, "id", None))
def test_rule_ignores_its_false_positives(rule: Rule, example: str) -> None:
    assert rule.id not in _rule_ids_found(example)


def test_every_rule_has_examples_of_both_kinds() -> None:
    assert {r.id for r in RULES} >= {
        "nexpay-secret",
        "nexpay-client-id",
        "nexpay-legacy-secret",
        "nexpay-legacy-client-id",
        "nexpay-apikey-header",
    }
    for rule in RULES:
        assert rule.positives and rule.negatives, rule.id


@pytest.mark.parametrize(
    "value",
    [
        "nxp_sk_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA2tNEJs",
        "nxp_sk_0123456789abcdefghijABCDEFGHIJ01234536IYNx",
        "nxp_sk_jsa9E0MIBaUb2sgLhjVJMPWiV2hOF6UZYnJj1iiBGo",
    ],
)
def test_contract_examples_have_valid_checksums(value: str) -> None:
    assert has_valid_checksum(value)
    assert not has_valid_checksum(value[:-1] + ("x" if value[-1] != "x" else "y"))


def _write_config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "rules.toml"
    path.write_text(text)
    return path


BAD_RULES = [
    ("[[rule]\nid = 'x'", "not valid TOML"),
    (
        "[[rule]]\nid = 'x'\ndescription = 'd'\nkind = 'secret'\nkeywords = ['a']",
        "missing required key 'regex'",
    ),
    (
        "[[rule]]\nid = 'x'\ndescription = 'd'\nkind = 'token'\nregex = 'a'\nkeywords = ['a']",
        "kind must be one of",
    ),
    (
        "[[rule]]\nid = 'x'\ndescription = 'd'\nkind = 'secret'\nregex = '(a'\nkeywords = ['a']",
        "regex does not compile",
    ),
    (
        "[[rule]]\nid = 'x'\ndescription = 'd'\nkind = 'secret'\nregex = 'a*'\nkeywords = ['a']",
        "matches the empty string",
    ),
    (
        "[[rule]]\nid = 'x'\ndescription = 'd'\nkind = 'secret'\nregex = 'a'\nkeywords = []",
        "at least one literal",
    ),
    (
        "[[rule]]\nid = 'x'\ndescription = 'd'\nkind = 'secret'\nregex = 'a'\nkeywords = ['a']\nkeyword = 1",
        "did you mean 'keywords'",
    ),
    (
        "[[rule]]\nid = 'x'\ndescription = 'd'\nkind = 'secret'\nregex = 'a'\nkeywords = ['a']\nchecksum = 'md5'",
        "unknown checksum",
    ),
    (
        "[[rule]]\nid = 'x'\ndescription = 'd'\nkind = 'secret'\nregex = 'a'\nkeywords = ['a']\nstructure.nmes = 'x'",
        "did you mean structure.'names'",
    ),
    (
        "[[rule]]\nid = 'x'\ndescription = 'd'\nkind = 'secret'\nregex = 'a'\nkeywords = ['a']\nstructure.not_names = 'x'",
        "structure needs 'names'",
    ),
    (
        "[[rule]]\nid = 'x'\ndescription = 'd'\nkind = 'secret'\nregex = 'a'\nkeywords = ['a']\nstructure.names = '(x'",
        "structure.names does not compile",
    ),
    (
        "[[rule]]\nid = 'x'\ndescription = 'd'\nkind = 'secret'\nregex = 'a'\nkeywords = ['a']\nallowlist.plain_runs = 'yes'",
        "allowlist.plain_runs has the wrong type",
    ),
    (
        "[[rule]]\nid = 'x'\ndescription = 'd'\nkind = 'secret'\nregex = 'a'\nkeywords = ['a']\nprefix = 'acme_live_token_key_'",
        "prefix must be 1 to 16 letters",
    ),
    (
        "[[rule]]\nid = 'x'\ndescription = 'd'\nkind = 'secret'\nregex = 'a'\nkeywords = ['a']\nprefix = 'a b'",
        "prefix must be 1 to 16 letters",
    ),
    (
        "[[rule]]\nid = 'x'\ndescription = 'd'\nkind = 'secret'\nregex = 'a'\nkeywords = ['a']\nprefix = 7",
        "prefix has the wrong type",
    ),
    (
        "[[rule]]\nid = 'x'\ndescription = 'd'\nkind = 'secret'\nregex = 'a'\nkeywords = ['a']\nallowlist.values = [1]",
        "allowlist.values must be a list of strings",
    ),
    ("[scan]\ndisable_rules = ['no-such-rule']", "disable_rules names a rule that does not exist"),
    ("[scan]\nalow_paths = []", "did you mean 'allow_paths'"),
    ("verify = true", "can only be set on the command line"),
    ("[scan]\napi_base = 'https://evil.example'", "can only be set on the command line"),
]


@pytest.mark.parametrize(("text", "problem"), BAD_RULES)
def test_malformed_rule_file_is_a_one_line_error(
    cli: CliRun, repo: Repo, tmp_path: Path, text: str, problem: str
) -> None:
    config = _write_config(tmp_path, text)
    run = cli("files", str(repo.path), "--config", str(config))
    assert run.code == 2
    assert str(config) in run.err and problem in run.err
    assert "Traceback" not in run.err
    assert len(run.err.strip().splitlines()) == 1
    if "[[rule]]" in text and "id = 'x'" in text and "TOML" not in problem:
        assert "rule 'x'" in run.err


def test_repository_config_adds_disables_and_allowlists(cli: CliRun, repo: Repo) -> None:
    repo.write(
        ".nexpay-scan.toml",
        """
[scan]
disable_rules = ["nexpay-client-id"]
allow_paths = ['^fixtures/']

[[rule]]
id = "acme-internal-token"
description = "An internal token that wraps Nexpay keys"
kind = "secret"
regex = 'acmetok_[0-9a-f]{32}'
keywords = ["acmetok_"]
""",
    )
    token = "acmetok_" + "0123456789abcdef" * 2
    repo.write("app.py", f'TOKEN = "{token}"\nCID = "nxp_cid_2Bj6O0u88DXW76gFAUPAPNJH"\n')
    repo.write(
        "fixtures/keys.env", "NEXPAY_SECRET=nxp_sk_jsa9E0MIBaUb2sgLhjVJMPWiV2hOF6UZYnJj1iiBGo\n"
    )
    run = cli("files", str(repo.path), "--format", "json")
    findings = run.json()["findings"]
    assert [(f["rule"], f["file"]) for f in findings] == [("acme-internal-token", "app.py")]


def test_repository_rule_overrides_a_builtin_rule_by_id(cli: CliRun, repo: Repo) -> None:
    repo.write(
        ".nexpay-scan.toml",
        """
[[rule]]
id = "nexpay-client-id"
description = "client IDs only in config files"
kind = "client_id"
regex = 'nxp_cid_[0-9A-Za-z]{24}'
keywords = ["nxp_cid_"]
allowlist.paths = ['\\.py$']
""",
    )
    repo.write("app.py", 'CID = "nxp_cid_2Bj6O0u88DXW76gFAUPAPNJH"\n')
    repo.write("app.env", "CID=nxp_cid_2Bj6O0u88DXW76gFAUPAPNJH\n")
    run = cli("files", str(repo.path), "--format", "json")
    assert [f["file"] for f in run.json()["findings"]] == ["app.env"]


def test_a_repository_rule_can_ask_for_structure(cli: CliRun, repo: Repo) -> None:
    repo.write(
        ".nexpay-scan.toml",
        """
[[rule]]
id = "acme-legacy-token"
description = "Acme token, only where a name says acme"
kind = "secret"
regex = '[0-9a-f]{40}'
keywords = ["acme"]
structure.names = '(?i)acme'
structure.not_names = '(?i)session'
""",
    )
    token = "3f2b8c1e9a4d4e7bb1c26d5e4f3a2b1c0d9e8f7a"
    repo.write("a.yaml", f"acme:\n  retries: 3\n  token: {token}\n")
    repo.write("b.yaml", f"acme:\n  session:\n    token: {token}\n")
    repo.write("c.yaml", f"ACME_URL: x\nother_token: {token}\n")
    run = cli("files", str(repo.path), "--format", "json")
    assert [(f["rule"], f["file"]) for f in run.json()["findings"]] == [
        ("acme-legacy-token", "a.yaml")
    ]


# -- prefix: what each value of a rule starts with, from rule data ---------------------------


def test_the_builtin_prefixes_are_rule_data_and_start_every_example() -> None:
    prefixes = {r.id: r.prefix for r in RULES}
    assert prefixes["nexpay-secret"] == "nxp_sk_"
    assert prefixes["nexpay-client-id"] == "nxp_cid_"
    assert prefixes["nexpay-legacy-secret"] == prefixes["nexpay-legacy-client-id"] == ""
    for rule, example in POSITIVES:
        if rule.prefix:
            for match in rule.pattern.finditer(example.encode()):
                assert match.group().decode().startswith(rule.prefix), (rule.id, example)


def test_builtin_keys_are_redacted_to_their_prefix_and_four_characters(
    cli: CliRun, repo: Repo
) -> None:
    sk, cid = secret(31), client_id(31)
    repo.write("app.env", f"NEXPAY_CLIENT_ID={cid}\nNEXPAY_SECRET={sk}\n")
    repo.write("legacy.env", f"NEXPAY_SECRET={legacy_secret(31)}\n")
    run = cli("files", str(repo.path), "--format", "json")
    shown = {f["match"] for f in run.json()["findings"]}
    assert shown == {sk[:11] + "…", cid[:12] + "…", legacy_secret(31)[:4] + "…"}
    text = cli("files", str(repo.path)).out
    assert sk[:11] + "…" in text and sk not in text


ACME_RULE = """
[[rule]]
id = "acme-token"
description = "Acme API token"
kind = "secret"
regex = 'demo_tk_[0-9A-Za-z]{32}'
prefix = "demo_tk_"
keywords = ["demo_tk_"]
entropy = 3.0
allowlist.stopwords = ["demo"]
"""


def test_a_repository_rule_keeps_its_own_prefix_when_redacted(cli: CliRun, repo: Repo) -> None:
    """Its prefix is shown with four characters, and entropy and stop-words look past it
    (the stop-word `demo` in the prefix does not make every token a placeholder)."""
    repo.write(".nexpay-scan.toml", ACME_RULE)
    token = "demo_tk_" + "Qx7Lm2Pz9Rt4Vb8Nc3Kd6Wf1Hg5Js0Ya"
    repo.write("app.env", f"ACME_TOKEN={token}\n")
    run = cli("files", str(repo.path), "--format", "json")
    assert run.code == 1
    [found] = run.json()["findings"]
    assert found["match"] == token[:12] + "…"
    assert token not in run.out and token not in cli("files", str(repo.path)).out


def test_a_prefix_never_shows_most_of_a_short_value(cli: CliRun, repo: Repo) -> None:
    repo.write(".nexpay-scan.toml", ACME_RULE.replace("{32}", "{6}").replace("entropy = 3.0", ""))
    token = "demo_tk_Qx7Lm2"
    repo.write("app.env", f"ACME_TOKEN={token}\n")
    [found] = cli("files", str(repo.path), "--format", "json").json()["findings"]
    assert found["match"] == token[:4] + "…"
