"""Tests of the fake Nexpay API itself, with urllib only: the verifier's tests rely on it."""

from __future__ import annotations

import http.client
import json
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import Message
from typing import IO

import pytest

from testing.fake_nexpay import (
    ME_PATH,
    FakeNexpay,
    RecordedRequest,
    RecordingServer,
    default_account,
    parse_authorization,
    refused_base_url,
)

CID = "nxp_cid_2Bj6O0u88DXW76gFAUPAPNJH"
SK = "nxp_sk_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA2tNEJs"
AUTH = f"ApiKey {CID}:{SK}"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: IO[bytes],
        code: int,
        msg: str,
        headers: Message,
        newurl: str,
    ) -> None:
        return None


# no proxies from the environment, no redirects followed
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect())


@dataclass(frozen=True)
class Reply:
    status: int
    headers: Message
    body: bytes


def _request(base_url: str, auth: str | None, path: str, method: str) -> urllib.request.Request:
    request = urllib.request.Request(base_url + path, method=method)
    if auth is not None:
        request.add_header("Authorization", auth)
    return request


def fetch(
    base_url: str, auth: str | None = AUTH, path: str = ME_PATH, method: str = "GET"
) -> Reply:
    """Send one request and read the whole answer, whatever its status."""
    try:
        with OPENER.open(_request(base_url, auth, path, method), timeout=5) as response:
            return Reply(response.status, response.headers, response.read())
    except urllib.error.HTTPError as error:
        with error:
            return Reply(error.code, error.headers, error.read())


@pytest.fixture
def api() -> Iterator[FakeNexpay]:
    with FakeNexpay() as fake:
        yield fake
    assert fake.errors == []


def test_live_answers_200_with_the_account(api: FakeNexpay) -> None:
    account = {"id": "usr_1", "email": "dev@example.com", "name": "Dev"}
    api.live(CID, SK, account)
    reply = fetch(api.base_url)
    assert reply.status == 200
    assert reply.headers["Content-Type"] == "application/json"
    assert json.loads(reply.body) == account


def test_live_without_account_answers_the_default_account(api: FakeNexpay) -> None:
    api.live(CID, SK)
    assert json.loads(fetch(api.base_url).body) == default_account(CID)


def test_unknown_pair_answers_401_with_a_json_error(api: FakeNexpay) -> None:
    api.live(CID, SK)
    reply = fetch(api.base_url, auth=f"ApiKey {CID}:nxp_sk_other")
    assert reply.status == 401
    assert json.loads(reply.body)["error"]["code"] == "unauthorized"


@pytest.mark.parametrize(
    ("auth", "path"),
    [
        (None, ME_PATH),
        (f"Bearer {SK}", ME_PATH),
        (f"ApiKey {SK}", ME_PATH),
        (f"ApiKey :{SK}", ME_PATH),
        (AUTH, "/v2/users/me/"),
        (AUTH, "//v2/users/me"),
        (AUTH, ME_PATH + "?x=1"),
        (AUTH, "/v1/users/me"),
    ],
)
def test_wrong_path_or_bad_header_answers_401(api: FakeNexpay, auth: str | None, path: str) -> None:
    api.live(CID, SK)
    assert fetch(api.base_url, auth=auth, path=path).status == 401


def test_another_method_answers_405(api: FakeNexpay) -> None:
    api.live(CID, SK)
    assert fetch(api.base_url, method="POST").status == 405
    assert [r.method for r in api.requests] == ["POST"]


def test_forbidden_answers_403(api: FakeNexpay) -> None:
    api.forbidden(CID, SK)
    assert fetch(api.base_url).status == 403


def test_rate_limited_answers_429_with_retry_after_then_200(api: FakeNexpay) -> None:
    api.rate_limited(CID, SK, times=2, retry_after="7")
    first, second, third = (fetch(api.base_url) for _ in range(3))
    assert (first.status, first.headers["Retry-After"]) == (429, "7")
    assert second.status == 429
    assert third.status == 200


def test_rate_limited_then_revoked_and_without_retry_after(api: FakeNexpay) -> None:
    api.rate_limited(CID, SK, retry_after=None, then="revoked")
    first = fetch(api.base_url)
    assert (first.status, first.headers["Retry-After"]) == (429, None)
    assert fetch(api.base_url).status == 401


def test_flaky_answers_503_then_200(api: FakeNexpay) -> None:
    api.flaky(CID, SK)
    assert [fetch(api.base_url).status for _ in range(3)] == [503, 200, 200]


def test_flaky_status_and_then_are_configurable(api: FakeNexpay) -> None:
    api.flaky(CID, SK, times=1, status=502, then="forbidden")
    assert [fetch(api.base_url).status for _ in range(2)] == [502, 403]


def test_disconnect_closes_without_an_answer_then_answers(api: FakeNexpay) -> None:
    api.disconnect(CID, SK)
    with pytest.raises(http.client.RemoteDisconnected):
        fetch(api.base_url)
    assert fetch(api.base_url).status == 200


def test_redirect_answers_302_with_location_and_is_not_followed(api: FakeNexpay) -> None:
    with RecordingServer() as other:
        api.redirect(CID, SK, other.base_url + "/steal")
        reply = fetch(api.base_url)
        assert reply.status == 302
        assert reply.headers["Location"] == other.base_url + "/steal"
        assert other.requests == []


def test_recording_server_answers_200_and_records_the_header() -> None:
    with RecordingServer() as other:
        assert fetch(other.base_url, auth=None, path="/anything").status == 200
        assert not other.authorization_seen
        assert json.loads(fetch(other.base_url).body) == RecordingServer.ACCOUNT
        assert other.authorization_seen
        assert other.count(CID, SK) == 1


def test_status_answers_anything(api: FakeNexpay) -> None:
    api.status(CID, SK, 418, body=b"teapot", headers={"X-Why": "because"})
    reply = fetch(api.base_url)
    assert (reply.status, reply.body, reply.headers["X-Why"]) == (418, b"teapot", "because")


def test_status_rejects_a_non_status() -> None:
    with FakeNexpay() as fake, pytest.raises(ValueError, match="HTTP status"):
        fake.status(CID, SK, 1000)


def test_invalid_json_answers_200_with_a_broken_body(api: FakeNexpay) -> None:
    api.hostile_body(CID, SK, "invalid_json")
    reply = fetch(api.base_url)
    assert (reply.status, reply.body) == (200, b"{not json")


def test_slow_waits_then_answers(api: FakeNexpay) -> None:
    api.slow(CID, SK, 0.2)
    start = time.monotonic()
    assert fetch(api.base_url).status == 200
    assert time.monotonic() - start >= 0.2


def test_default_delay_applies_to_every_answer() -> None:
    with FakeNexpay(default_delay=0.1) as fake:
        start = time.monotonic()
        assert fetch(fake.base_url).status == 401
        assert time.monotonic() - start >= 0.1


def test_refused_base_url_refuses_connections() -> None:
    with pytest.raises(urllib.error.URLError) as info:
        OPENER.open(refused_base_url() + ME_PATH, timeout=2)
    assert isinstance(info.value.reason, ConnectionRefusedError)


def test_requests_are_recorded_and_counted(api: FakeNexpay) -> None:
    api.live(CID, SK)
    fetch(api.base_url)
    fetch(api.base_url)
    fetch(api.base_url, auth="ApiKey a:b", path="/elsewhere")
    fetch(api.base_url, auth=None)
    assert api.count(CID, SK) == 2
    assert api.count("a", "b") == 1
    assert api.pairs_seen() == Counter({(CID, SK): 2, ("a", "b"): 1})
    assert api.requests[0] == RecordedRequest("GET", ME_PATH, AUTH, api.requests[0].at)
    assert api.requests[-1].authorization is None


def test_a_later_configuration_replaces_the_earlier_one(api: FakeNexpay) -> None:
    api.rate_limited(CID, SK, times=5)
    api.forbidden(CID, SK)
    assert fetch(api.base_url).status == 403


@pytest.mark.parametrize(
    ("value", "pair"),
    [
        (AUTH, (CID, SK)),
        (f"apikey {CID}:{SK}", (CID, SK)),
        ("ApiKey a:b:c", ("a", "b:c")),
        (None, None),
        ("", None),
        ("ApiKey", None),
        ("ApiKey a:", None),
        ("ApiKey a b:c", None),
        ("Basic YTpi", None),
    ],
)
def test_parse_authorization(value: str | None, pair: tuple[str, str] | None) -> None:
    assert parse_authorization(value) == pair


def _assert_closes_promptly(fake: FakeNexpay) -> None:
    fake.close()
    assert fake.errors == []


def test_drip_sends_its_first_byte_and_a_hung_up_client_is_harmless() -> None:
    fake = FakeNexpay()
    fake.hostile_body(CID, SK, "drip")
    with OPENER.open(_request(fake.base_url, AUTH, ME_PATH, "GET"), timeout=5) as response:
        assert response.status == 200
        assert response.headers["Content-Length"] is None
        assert response.read(1) == b"{"
    _assert_closes_promptly(fake)


def test_closing_the_fake_ends_a_drip_in_flight() -> None:
    fake = FakeNexpay()
    fake.hostile_body(CID, SK, "drip")
    with OPENER.open(_request(fake.base_url, AUTH, ME_PATH, "GET"), timeout=5) as response:
        assert response.read(1) == b"{"
        _assert_closes_promptly(fake)
        assert len(response.read()) < 5  # the connection ends instead of dripping on


def test_huge_streams_and_a_client_that_stops_reading_is_harmless() -> None:
    fake = FakeNexpay()
    fake.hostile_body(CID, SK, "huge")
    with OPENER.open(_request(fake.base_url, AUTH, ME_PATH, "GET"), timeout=5) as response:
        assert response.headers["Content-Length"] is None
        assert response.read(1 << 20).startswith(b'{"id": "')
    _assert_closes_promptly(fake)


def test_closing_the_fake_ends_a_slow_answer_in_flight() -> None:
    fake = FakeNexpay()
    fake.slow(CID, SK, 30)
    with pytest.raises(TimeoutError):
        OPENER.open(_request(fake.base_url, AUTH, ME_PATH, "GET"), timeout=0.1)
    _assert_closes_promptly(fake)
