"""Legacy keys by structure (nexpay_scan/structure/): what names a value, placeholders by
shape, pieces of longer tokens; and the realistic corpus held at precision and recall 1.0."""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import random
from pathlib import Path
from typing import Any

import pytest

from nexpay_scan.structure.names import naming
from nexpay_scan.structure.tokens import in_longer_token, is_plain_run
from testing.cli import CliRun
from testing.git_repo import Repo
from testing.keys import legacy_client_id, legacy_secret

KEY = legacy_secret(7)
CID = legacy_client_id(7)

# -- placeholders: a repeated character or a plain run, in every rule kind ------------------

PLACEHOLDERS = [
    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA2tNEJs",  # the contract's all-A secret body
    "0123456789abcdefghijABCDEFGHIJ01234536IYNx",  # the contract's 0123... secret body
    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxw",
    "0123456789abcdefghijABCDEFGHIJ0123456789abc",
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ",
    "9876543210zyxwvutsrqponmlkjihgfedcbaZYXWVUTS",
    "12345678-1234-1234-1234-123456789abc",
    "00000000-0000-0000-0000-000000000000",
    "ABCDEFGHIJKLMNOPQRSTUVWX",
]
NOT_PLACEHOLDERS = [
    *(legacy_secret(n) for n in range(20)),
    *(legacy_client_id(n) for n in range(20)),
    "jsa9E0MIBaUb2sgLhjVJMPWiV2hOF6UZYnJj1iiBGo",
    "2Bj6O0u88DXW76gFAUPAPNJH",
]


@pytest.mark.parametrize("text", PLACEHOLDERS)
def test_a_plain_run_is_a_placeholder(text: str) -> None:
    assert is_plain_run(text)


@pytest.mark.parametrize("text", NOT_PLACEHOLDERS)
def test_a_random_key_is_not_a_placeholder(text: str) -> None:
    assert not is_plain_run(text)


@pytest.mark.parametrize(
    "line",
    [
        "NEXPAY_SECRET=nxp_sk_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA2tNEJs",
        "NEXPAY_SECRET=nxp_sk_0123456789abcdefghijABCDEFGHIJ01234536IYNx",
        "NEXPAY_CLIENT_ID=nxp_cid_ABCDEFGHIJKLMNOPQRSTUVWX",
        "NEXPAY_CLIENT_ID=12345678-1234-1234-1234-123456789abc",
        "NEXPAY_SECRET=0123456789abcdefghijABCDEFGHIJ0123456789abc",
    ],
)
def test_placeholders_with_a_valid_shape_are_never_findings(
    cli: CliRun, repo: Repo, line: str
) -> None:
    repo.write("README.md", f"Set up Nexpay:\n\n    {line}\n")
    run = cli("files", str(repo.path), "--format", "json")
    assert run.code == 0, run.out
    assert run.json()["findings"] == []


# -- pieces of longer tokens ---------------------------------------------------------------

PIECES = [
    f"SG.ngeVfQFYQlKU0ufo8x5d1A.{KEY}",
    f"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJuZXhwYXkifQ.{KEY}",
    f"{KEY}.eyJzdWIiOiJuZXhwYXkifQ",
    f"nexpay/client.py,sha256={KEY},1432",
    f"github.com/nexpay/nexpay-go v1.4.0 h1:{KEY}=",
    f'"integrity": "sha512-{KEY}+8jR0ZqCxw/Jt4Qm3mA9sLQqJ2mN0pVxR6kFZbYf1Q=="',
    f"aGVsbG8gd29ybGQ+{KEY}/more",
    f"aGVsbG8gd29ybGQ{KEY}==",
]
ALONE = [
    f"NEXPAY_SECRET={KEY}",
    f'"secret": "{KEY}",',
    f"<secret>{KEY}</secret>",
    f"ApiKey {CID}:{KEY}",
    f"nexpay.secret = {KEY}.",  # a full stop ending a sentence is no token
]


@pytest.mark.parametrize("text", PIECES)
def test_a_run_inside_a_longer_token_is_no_key(text: str) -> None:
    data = text.encode()
    start = data.index(KEY.encode()) if KEY in text else data.index(KEY[1:].encode()) - 1
    assert in_longer_token(data, start, start + 43)


@pytest.mark.parametrize("text", ALONE)
def test_a_value_standing_alone_is_not_a_piece(text: str) -> None:
    data = text.encode()
    start = data.index(KEY.encode())
    assert in_longer_token(data, start, start + 43) is None


# -- what names a value ----------------------------------------------------------------------

NAMED = [
    # (text, a name expected on the value's path)
    (f"NEXPAY_SECRET={KEY}", "NEXPAY_SECRET"),
    (f"export NEXPAY_SECRET='{KEY}'", "NEXPAY_SECRET"),
    (f'config["nexpay"]["secret"] = "{KEY}"', 'config["nexpay"]["secret"]'),
    (f"nexpay:\n  a: 1\n  b:\n    c: 2\n  legacy:\n    secret: {KEY}\n", "nexpay"),
    (f'{{"nexpay": {{"x": [1, 2], "legacy": {{"secret": "{KEY}"}}}}}}', "nexpay"),
    (f"[nexpay]\na = 1\n\nsecret = {KEY}\n", "nexpay"),
    (f"[[nexpay.keys]]\nsecret = {KEY}\n", "nexpay.keys"),
    (f"<nexpay>\n  <legacy>\n    <secret>{KEY}</secret>\n  </legacy>\n</nexpay>\n", "nexpay"),
    (f'<add key="Nexpay:Secret" value="{KEY}" />', "Nexpay:Secret"),
    (f"label,nexpay_secret\nprod,{KEY}\n", "nexpay_secret"),
    (f'variable "nexpay_secret" {{\n  default = "{KEY}"\n}}', 'variable "nexpay_secret'),
    (
        f'resource "nexpay_api_key" "main" {{\n  secret = "{KEY}"\n}}',
        'resource "nexpay_api_key" "main',
    ),
    (f"env:\n  - name: NEXPAY_SECRET\n    value: {KEY}\n", "name: NEXPAY_SECRET"),
    (f'[{{"key": "nexpay_secret", "value": "{KEY}"}}]', "nexpay_secret"),
    (f"machine api.nexpay.com\n  login {CID}\n  password {KEY}\n", "machine api.nexpay.com"),
    (f"COPY public.nexpay_keys (id, secret) FROM stdin;\n1\t{KEY}\n\\.\n", "public.nexpay_keys"),
    (f"INSERT INTO nexpay_keys (id, secret) VALUES (1, '{KEY}');", "nexpay_keys"),
    (f"ENV NEXPAY_SECRET {KEY}", "NEXPAY_SECRET"),
    (f"deploy --nexpay-secret {KEY}", "--nexpay-secret"),
    (f"X-Nexpay-Secret: {KEY}", "X-Nexpay-Secret"),
    (f'client = nexpay.Client("{CID}", "{KEY}")', f'client = nexpay.Client("{CID}'),
    (f'os.environ.get("NEXPAY_SECRET", "{KEY}")', 'os.environ.get("NEXPAY_SECRET'),
    (f"class NexpayConfig:\n    timeout = 3\n    secret = '{KEY}'\n", "class NexpayConfig"),
    (f'{{"name": "Authorization", "value": "ApiKey {CID}:{KEY}"}}', "Authorization"),
]
NOT_NAMED_BY = [
    # (text, a name that must not be on the value's path)
    (f"NEXPAY_CLIENT_ID={CID}\nSESSION_SECRET={KEY}\n", "NEXPAY_CLIENT_ID"),
    (f"nexpay:\n  client_id: {CID}\ncache:\n  secret: {KEY}\n", "nexpay"),
    (f"[nexpay]\nclient_id = {CID}\n[cache]\nsecret = {KEY}\n", "nexpay"),
    (f'{{"nexpay": {{"client_id": "{CID}"}}, "cache": {{"secret": "{KEY}"}}}}', "nexpay"),
    (f"<nexpay><id>{CID}</id></nexpay><cache><secret>{KEY}</secret></cache>", "nexpay"),
]


@pytest.mark.parametrize(("text", "name"), NAMED)
def test_the_structure_names_the_value(text: str, name: str) -> None:
    data = text.encode()
    start = data.index(KEY.encode())
    assert name.encode() in naming(data, start, start + 43).names


@pytest.mark.parametrize(("text", "name"), NOT_NAMED_BY)
def test_a_neighbour_does_not_name_the_value(text: str, name: str) -> None:
    data = text.encode()
    start = data.index(KEY.encode())
    assert name.encode() not in naming(data, start, start + 43).names


def test_the_har_request_object_is_the_scope_however_far_its_url() -> None:
    headers = ",\n".join(f'      {{"name": "X-H{n}", "value": "v{n}"}}' for n in range(2000))
    text = (
        '{"request": {"url": "https://api.nexpay.com/v2/users/me",\n'
        f'  "headers": [\n{headers},\n'
        f'      {{"name": "Authorization", "value": "ApiKey {CID}:{KEY}"}}]}}}}\n'
    )
    data = text.encode()
    start = data.index(KEY.encode())
    found = naming(data, start, start + 43)
    assert any(low < data.index(b"api.nexpay.com") < high for low, high in found.scopes)


def test_hostile_bytes_never_raise() -> None:
    rng = random.Random(15)
    alphabet = b"{}[]()<>\"'\n\t :=,;#-/\\.\r\0ab" + KEY.encode()[:8]
    for _ in range(300):
        data = bytes(rng.choice(alphabet) for _ in range(rng.randrange(0, 400)))
        data = data + KEY.encode() + bytes(rng.choice(alphabet) for _ in range(50))
        start = len(data) - 50 - 43
        naming(data, start, start + 43)
        in_longer_token(data, start, start + 43)


# -- end to end ----------------------------------------------------------------------------


def test_a_wheel_record_is_no_key(cli: CliRun, repo: Repo) -> None:
    """`nexpay-scan files` right after `pip install` reported every hash in RECORD."""
    rows = []
    for name in ("nexpay_scan/__init__.py", "nexpay_scan/cli.py", "nexpay_scan/rules.py"):
        digest = base64.urlsafe_b64encode(hashlib.sha256(name.encode()).digest())
        rows.append(f"{name},sha256={digest.decode().rstrip('=')},1234")
    repo.write("venv/nexpay_scan-1.0.dist-info/RECORD", "\n".join(rows) + "\n")
    run = cli("files", str(repo.path), "--format", "json")
    assert run.code == 0, run.out
    assert run.json()["findings"] == []


def test_a_netrc_login_for_nexpay_is_its_client_id(cli: CliRun, repo: Repo) -> None:
    repo.write(
        ".netrc",
        f"machine github.com login octocat password x\n"
        f"machine api.nexpay.com\n  login {CID}\n  password {KEY}\n",
    )
    run = cli("files", str(repo.path), "--format", "json")
    assert run.code == 1
    assert sorted((f["rule"], f["line"]) for f in run.json()["findings"]) == [
        ("nexpay-legacy-client-id", 3),
        ("nexpay-legacy-secret", 4),
    ]


def test_a_decoded_basic_header_keeps_its_client_id(cli: CliRun, repo: Repo) -> None:
    basic = base64.b64encode(f"{CID}:{KEY}".encode()).decode()
    repo.write(
        "api.har",
        '{"request": {\n  "method": "GET",\n  "url": "https://api.nexpay.com/v2/users/me",\n'
        '  "headers": [\n'
        f'    {{"name": "Authorization", "value": "Basic {basic}"}},\n'
        '    {"name": "Accept", "value": "*/*"}\n  ],\n'
        '  "httpVersion": "HTTP/1.1",\n  "cookies": [],\n  "queryString": []}}\n',
    )
    run = cli("files", str(repo.path), "--format", "json")
    assert run.code == 1
    found = {(f["rule"], f["kind"]) for f in run.json()["findings"]}
    assert ("nexpay-legacy-client-id", "client_id") in found
    assert ("nexpay-apikey-header", "secret") in found


def _precision() -> Any:
    path = Path(__file__).resolve().parents[1] / "bench" / "precision.py"
    spec = importlib.util.spec_from_file_location("bench_precision", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_realistic_corpus_is_found_whole_and_nothing_else(tmp_path: Path) -> None:
    precision = _precision()
    corpus = precision.write(tmp_path / "corpus")
    result = precision.measure(corpus, precision.scan(tmp_path / "corpus", precision.PROJECT))
    total = result["table"]["total"]
    assert (result["missed"], result["extra"]) == ([], []), precision.render(result)
    assert total["tp"] == len(corpus.truth) and total["recall"] == total["precision"] == 1.0
