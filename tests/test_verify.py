"""`--verify`: live, revoked and unknown keys, against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from nexpay_scan.verifier.check import https_proxy
from testing.cli import CliRun, Result
from testing.fake_nexpay import FakeNexpay, RecordingProxy, RecordingServer, refused_base_url
from testing.git_repo import Repo
from testing.keys import client_id, legacy_client_id, legacy_secret, secret

LIVE_CID, LIVE_SK = client_id(1), secret(1)
REVOKED_CID, REVOKED_SK = client_id(2), secret(2)
ACCOUNT = {"id": "usr_42", "email": "owner@shop.example", "name": "Shop Owner"}


@pytest.fixture
def api() -> Iterator[FakeNexpay]:
    with FakeNexpay() as server:
        yield server


def _scan(cli: CliRun, repo: Repo, api_base: str, *extra: str) -> Result:
    return cli(
        "files", str(repo.path), "--format", "json", "--verify", "--api-base", api_base, *extra
    )


def _by_match(run: Result) -> dict[str, dict[str, Any]]:
    return {f["match"]: f for f in run.json()["findings"]}


def test_live_and_revoked_keys_in_one_history(cli: CliRun, repo: Repo, api: FakeNexpay) -> None:
    api.live(LIVE_CID, LIVE_SK, ACCOUNT)
    repo.write("prod.env", f"NEXPAY_CLIENT_ID={LIVE_CID}\nNEXPAY_SECRET={LIVE_SK}\n")
    repo.write("old.env", f"NEXPAY_CLIENT_ID={REVOKED_CID}\nNEXPAY_SECRET={REVOKED_SK}\n")
    repo.write("lonely.env", f"NEXPAY_SECRET={secret(3)}\n")
    repo.commit()
    run = cli(
        "history",
        "--repo",
        str(repo.path),
        "--format",
        "json",
        "--no-redact",
        "--verify",
        "--api-base",
        api.base_url,
    )
    found = _by_match(run)
    assert found[LIVE_SK]["status"] == "live"
    assert found[LIVE_SK]["account"] == ACCOUNT
    assert found[LIVE_SK]["verified_with"] == LIVE_CID
    assert found[REVOKED_SK]["status"] == "revoked"
    assert found[secret(3)]["status"] == "revoked"  # tried with the scan's client IDs
    assert found[LIVE_CID]["status"] == "live"
    assert run.json()["findings"][0]["status"] == "live"  # live keys come first
    # each distinct pair asked once; the nearest client ID (same file) is tried first
    assert api.count(LIVE_CID, LIVE_SK) == 1
    assert api.count(REVOKED_CID, REVOKED_SK) == 1
    assert api.count(REVOKED_CID, LIVE_SK) == 0


def test_secret_without_any_client_id_stays_unverified(
    cli: CliRun, repo: Repo, api: FakeNexpay
) -> None:
    repo.write("lonely.env", f"NEXPAY_SECRET={secret(3)}\n")
    run = _scan(cli, repo, api.base_url)
    [finding] = run.json()["findings"]
    assert finding["status"] == "unverified" and "no client ID" in finding["status_reason"]
    assert api.requests == []


def test_text_output_says_live_plainly(cli: CliRun, repo: Repo, api: FakeNexpay) -> None:
    api.live(LIVE_CID, LIVE_SK, ACCOUNT)
    repo.write("prod.env", f"ID={LIVE_CID}\nSK={LIVE_SK}\nOLD_ID={REVOKED_CID}\nOLD={REVOKED_SK}\n")
    run = cli("files", str(repo.path), "--verify", "--api-base", api.base_url)
    assert run.code == 1
    assert "1 key is LIVE" in run.out
    assert "status: LIVE - account usr_42 owner@shop.example" in run.out
    assert run.out.index("status: LIVE") < run.out.index("status: REVOKED")
    assert LIVE_SK not in run.out and LIVE_CID not in run.out


def test_forbidden_is_live(cli: CliRun, repo: Repo, api: FakeNexpay) -> None:
    api.forbidden(LIVE_CID, LIVE_SK)
    repo.write("a.env", f"{LIVE_CID}:{LIVE_SK}\n")
    assert _by_match(_scan(cli, repo, api.base_url, "--no-redact"))[LIVE_SK]["status"] == "live"


def test_header_form_pairs_legacy_keys(cli: CliRun, repo: Repo, api: FakeNexpay) -> None:
    cid, sk = legacy_client_id(1), legacy_secret(1)
    api.live(cid, sk, ACCOUNT)
    repo.write(
        "client.js",
        f'fetch("https://api.nexpay.com/v2/users/me", '
        f'{{headers: {{Authorization: "ApiKey {cid}:{sk}"}}}})\n',
    )
    found = _by_match(_scan(cli, repo, api.base_url, "--no-redact"))
    assert found[sk]["status"] == "live" and found[sk]["rule"] == "nexpay-apikey-header"
    assert api.pairs_seen() == {(cid, sk): 1}


def test_first_live_candidate_wins(cli: CliRun, repo: Repo, api: FakeNexpay) -> None:
    api.live(LIVE_CID, LIVE_SK, ACCOUNT)
    repo.write("a.env", f"OTHER={REVOKED_CID}\nSK={LIVE_SK}\n\n\n\nID={LIVE_CID}\n")
    found = _by_match(_scan(cli, repo, api.base_url, "--no-redact"))
    assert found[LIVE_SK]["status"] == "live" and found[LIVE_SK]["verified_with"] == LIVE_CID
    assert api.count(REVOKED_CID, LIVE_SK) == 1  # nearer, tried first, answered 401


def test_rate_limited_honours_retry_after(cli: CliRun, repo: Repo, api: FakeNexpay) -> None:
    api.rate_limited(LIVE_CID, LIVE_SK, times=1, retry_after="1", then="live")
    repo.write("a.env", f"{LIVE_CID} {LIVE_SK}\n")
    found = _by_match(_scan(cli, repo, api.base_url, "--no-redact"))
    assert found[LIVE_SK]["status"] == "live"
    first, second = api.snapshot()
    assert second.at - first.at >= 0.95


def test_flaky_server_is_retried(cli: CliRun, repo: Repo, api: FakeNexpay) -> None:
    api.flaky(LIVE_CID, LIVE_SK, times=1, status=503, then="live")
    repo.write("a.env", f"{LIVE_CID} {LIVE_SK}\n")
    found = _by_match(_scan(cli, repo, api.base_url, "--no-redact"))
    assert found[LIVE_SK]["status"] == "live"
    assert api.count(LIVE_CID, LIVE_SK) == 2


def test_always_failing_server_is_unknown_after_bounded_retries(
    cli: CliRun, repo: Repo, api: FakeNexpay
) -> None:
    api.flaky(LIVE_CID, LIVE_SK, times=50, status=500)
    repo.write("a.env", f"{LIVE_CID} {LIVE_SK}\n")
    found = _by_match(_scan(cli, repo, api.base_url, "--no-redact"))
    assert found[LIVE_SK]["status"] == "unknown" and "500" in found[LIVE_SK]["status_reason"]
    assert api.count(LIVE_CID, LIVE_SK) == 3


def test_slow_answer_times_out_as_unknown(cli: CliRun, repo: Repo, api: FakeNexpay) -> None:
    api.slow(LIVE_CID, LIVE_SK, seconds=10)
    repo.write("a.env", f"{LIVE_CID} {LIVE_SK}\n")
    run = _scan(
        cli, repo, api.base_url, "--no-redact", "--verify-timeout", "0.3", "--verify-deadline", "2"
    )
    assert _by_match(run)[LIVE_SK]["status"] == "unknown"
    # how long it takes is bench/hostile.py's ("verify-slow"), against a baseline


def test_connection_refused_is_unknown(cli: CliRun, repo: Repo) -> None:
    repo.write("a.env", f"{LIVE_CID} {LIVE_SK}\n")
    run = _scan(cli, repo, refused_base_url(), "--no-redact")
    assert _by_match(run)[LIVE_SK]["status"] == "unknown"
    assert run.code == 1


def test_redirect_is_not_followed_and_header_never_sent_there(
    cli: CliRun, repo: Repo, api: FakeNexpay
) -> None:
    with RecordingServer() as other:
        api.redirect(
            LIVE_CID, LIVE_SK, other.base_url.replace("127.0.0.1", "localhost") + "/v2/users/me"
        )
        repo.write("a.env", f"{LIVE_CID} {LIVE_SK}\n")
        found = _by_match(_scan(cli, repo, api.base_url, "--no-redact"))
        assert found[LIVE_SK]["status"] == "unknown"
        assert "redirect" in found[LIVE_SK]["status_reason"]
        assert other.requests == [] and not other.authorization_seen


@pytest.mark.parametrize("base", ["http://api.nexpay.com", "http://10.0.0.1:8080", "ftp://x"])
def test_plain_http_to_a_remote_host_is_refused_before_any_request(
    cli: CliRun, repo: Repo, base: str
) -> None:
    repo.write("a.env", f"{LIVE_CID} {LIVE_SK}\n")
    run = _scan(cli, repo, base)
    assert run.code == 2 and "api-base" in run.err
    assert LIVE_SK not in run.err + run.out


def test_api_base_from_the_environment(
    cli: CliRun, repo: Repo, api: FakeNexpay, monkeypatch: pytest.MonkeyPatch
) -> None:
    api.live(LIVE_CID, LIVE_SK, ACCOUNT)
    monkeypatch.setenv("NEXPAY_API_BASE", api.base_url)
    repo.write("a.env", f"{LIVE_CID} {LIVE_SK}\n")
    run = cli("files", str(repo.path), "--format", "json", "--verify")
    assert [f["status"] for f in run.json()["findings"]] == ["live", "live"]


def test_fail_on_live(cli: CliRun, repo: Repo, api: FakeNexpay) -> None:
    repo.write("a.env", f"{REVOKED_CID} {REVOKED_SK}\n")
    run = _scan(cli, repo, api.base_url, "--fail-on", "live")
    assert run.code == 0 and len(run.json()["findings"]) == 2
    api.live(REVOKED_CID, REVOKED_SK)
    assert _scan(cli, repo, api.base_url, "--fail-on", "live").code == 1
    assert _scan(cli, repo, api.base_url, "--fail-on", "none").code == 0


def test_hostile_answers_cannot_hang_the_scan(cli: CliRun, repo: Repo, api: FakeNexpay) -> None:
    pairs = [(client_id(10 + i), secret(10 + i)) for i in range(3)]
    for (cid, sk), kind in zip(pairs, ["huge", "drip", "invalid_json"], strict=True):
        api.hostile_body(cid, sk, kind)  # type: ignore[arg-type]
        repo.write(f"{kind}.env", f"{cid}\n{sk}\n")
    run = _scan(
        cli, repo, api.base_url, "--no-redact", "--verify-timeout", "1", "--verify-deadline", "3"
    )
    # how long it takes is bench/hostile.py's ("verify-hostile"), against a baseline
    statuses = {f["match"]: f["status"] for f in run.json()["findings"]}
    assert all(statuses[sk] == "unknown" for _, sk in pairs)


def test_no_secret_in_any_output_without_no_redact(
    cli: CliRun, repo: Repo, api: FakeNexpay, tmp_path: Path
) -> None:
    api.live(LIVE_CID, LIVE_SK, ACCOUNT)
    repo.write("a.env", f"{LIVE_CID}\n{LIVE_SK}\n")
    repo.commit()
    for fmt in ("text", "json"):
        for command in (["files", str(repo.path)], ["history", "--repo", str(repo.path)]):
            out = tmp_path / f"report.{fmt}"
            run = cli(
                *command,
                "--format",
                fmt,
                "--verify",
                "--api-base",
                api.base_url,
                "--output",
                str(out),
            )
            shown = run.out + run.err + out.read_text()
            assert LIVE_SK not in shown and LIVE_CID not in shown
            assert LIVE_SK[:11] in shown
    assert LIVE_SK in json.dumps(_by_match(_scan(cli, repo, api.base_url, "--no-redact")))


def test_many_keys_are_checked_concurrently(cli: CliRun, repo: Repo) -> None:
    with FakeNexpay(default_delay=0.2) as slow_api:
        pairs = [(client_id(100 + i), secret(100 + i)) for i in range(16)]
        for cid, sk in pairs:
            slow_api.live(cid, sk)
        repo.write("many.env", "\n".join(f"{cid}:{sk}" for cid, sk in pairs) + "\n")
        run = _scan(cli, repo, slow_api.base_url, "--verify-concurrency", "8")
        assert all(f["status"] == "live" for f in run.json()["findings"])
        assert slow_api.pairs_seen() == {pair: 1 for pair in pairs}  # nearest client ID first
        # each answer takes 0.2 s, so checks run one at a time never overlap; the time it
        # saves is bench/verify.py's
        assert 2 <= slow_api.most_at_once <= 8


def test_revoked_keys_try_a_bounded_number_of_client_ids(cli: CliRun, repo: Repo) -> None:
    lines = [f"{client_id(200 + i)}:{secret(200 + i)}" for i in range(6)]
    repo.write("many.env", "\n".join(lines) + "\n")
    with FakeNexpay() as api:
        run = _scan(cli, repo, api.base_url)
        seen = api.pairs_seen()
    assert all(f["status"] == "revoked" for f in run.json()["findings"] if f["kind"] == "secret")
    assert max(seen.values()) == 1  # each distinct pair once
    assert len(seen) == 6 * 3  # all 401: the 3 nearest client IDs each, no more


_PROXY_VARIABLES = ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY")


@pytest.fixture
def proxy(monkeypatch: pytest.MonkeyPatch) -> Iterator[RecordingProxy]:
    """A recording proxy, and an environment in which no proxy variable is set yet."""
    for name in (*_PROXY_VARIABLES, "all_proxy", "NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    with RecordingProxy() as server:
        yield server


@pytest.mark.parametrize("names", [(n,) for n in _PROXY_VARIABLES] + [_PROXY_VARIABLES])
def test_plain_http_to_loopback_never_goes_through_a_proxy(
    cli: CliRun,
    repo: Repo,
    api: FakeNexpay,
    proxy: RecordingProxy,
    monkeypatch: pytest.MonkeyPatch,
    names: tuple[str, ...],
) -> None:
    # The proxy would read the key in clear, and its 401 used to make a live key "revoked".
    api.live(LIVE_CID, LIVE_SK, ACCOUNT)
    for name in names:
        monkeypatch.setenv(name, proxy.url)
    repo.write("a.env", f"{LIVE_CID} {LIVE_SK}\n")
    found = _by_match(_scan(cli, repo, api.base_url, "--no-redact", "--fail-on", "live"))
    assert found[LIVE_SK]["status"] == "live" and found[LIVE_SK]["account"] == ACCOUNT
    assert proxy.received == []
    assert api.count(LIVE_CID, LIVE_SK) == 1  # the verdict is the API's


def test_https_goes_through_the_proxy_only_as_a_tunnel(
    cli: CliRun, repo: Repo, proxy: RecordingProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("https_proxy", proxy.url)
    repo.write("a.env", f"{LIVE_CID} {LIVE_SK}\n")
    run = _scan(cli, repo, "https://api.nexpay.test", "--verify-deadline", "10")
    statuses = {f["kind"]: f["status"] for f in run.json()["findings"]}
    assert statuses["secret"] == "unknown"  # the proxy refused the tunnel: no verdict
    assert proxy.request_lines and all(
        line.startswith("CONNECT api.nexpay.test:443 ") for line in proxy.request_lines
    )
    heard = b"".join(proxy.received)
    assert LIVE_SK.encode() not in heard and LIVE_CID.encode() not in heard
    assert b"authorization: apikey" not in heard.lower()


def test_all_proxy_is_used_for_https(
    cli: CliRun, repo: Repo, proxy: RecordingProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("all_proxy", proxy.url)
    repo.write("a.env", f"{LIVE_CID} {LIVE_SK}\n")
    _scan(cli, repo, "https://api.nexpay.test", "--verify-deadline", "10")
    assert proxy.request_lines[0].startswith("CONNECT api.nexpay.test:443 ")


def test_no_proxy_sends_https_directly(
    cli: CliRun, repo: Repo, proxy: RecordingProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", proxy.url)
    monkeypatch.setenv("NO_PROXY", "example.org, .localhost,localhost")
    base = refused_base_url().replace("http://127.0.0.1", "https://localhost")
    repo.write("a.env", f"{LIVE_CID} {LIVE_SK}\n")
    run = _scan(cli, repo, base, "--verify-deadline", "10")
    statuses = {f["kind"]: f["status"] for f in run.json()["findings"]}
    assert statuses["secret"] == "unknown"  # connection refused, directly
    assert proxy.received == []


def test_a_socks_proxy_is_a_one_line_error_not_a_direct_connection(
    cli: CliRun, repo: Repo, proxy: RecordingProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALL_PROXY", "socks5h://user:hunter2@127.0.0.1:1080")
    repo.write("a.env", f"{LIVE_CID} {LIVE_SK}\n")
    run = _scan(cli, repo, "https://api.nexpay.test")
    assert run.code == 2 and "ALL_PROXY names a socks5h proxy" in run.err
    assert "Traceback" not in run.err and "hunter2" not in run.err


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, None),
        ({"HTTP_PROXY": "http://p:1"}, None),  # names a proxy for plain HTTP only
        ({"HTTPS_PROXY": "http://p:1"}, "http://p:1"),
        ({"https_proxy": "http://low:1", "HTTPS_PROXY": "http://up:1"}, "http://low:1"),
        ({"ALL_PROXY": "p:3128"}, "http://p:3128"),
        ({"HTTPS_PROXY": "http://p:1", "NO_PROXY": "*"}, None),
        ({"HTTPS_PROXY": "http://p:1", "no_proxy": "nexpay.com"}, None),
        ({"HTTPS_PROXY": "http://p:1", "NO_PROXY": "*.nexpay.com:443"}, None),
        ({"HTTPS_PROXY": "http://p:1", "NO_PROXY": "pay.com"}, "http://p:1"),
        ({"HTTPS_PROXY": "http://p:1", "NO_PROXY": "10.0.0.0/8"}, "http://p:1"),
    ],
)
def test_which_proxy_an_https_check_uses(environ: dict[str, str], expected: str | None) -> None:
    assert https_proxy("api.nexpay.com", environ) == expected
