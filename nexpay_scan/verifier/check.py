"""One key checked with `GET /v2/users/me`: answers mapped to statuses, bounded retries."""

from __future__ import annotations

import ipaddress
import json
import os
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

import urllib3

from nexpay_scan.errors import FatalError
from nexpay_scan.findings import LIVE as LIVE  # the statuses: one definition, re-exported
from nexpay_scan.findings import REVOKED as REVOKED
from nexpay_scan.findings import UNKNOWN as UNKNOWN
from nexpay_scan.findings import UNVERIFIED as UNVERIFIED

MAX_BODY = 64 * 1024
MAX_RETRY_AFTER = 30.0
# Where an HTTPS proxy is named, in the order curl and urllib look (lower case first).
_PROXY_VARIABLES = ("https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY")


@dataclass(frozen=True)
class Verdict:
    """What the API said about one (client ID, secret) pair."""

    status: str
    reason: str
    account: dict[str, str] | None = None


@dataclass(frozen=True)
class CheckPolicy:
    """Time-outs and retry bounds for the checks of one run."""

    timeout: float = 5.0
    retries: int = 2
    backoff: float = 0.5
    deadline: float = 0.0  # time.monotonic() after which nothing new is tried


def make_pool(
    url: str, concurrency: int, environ: Mapping[str, str] | None = None
) -> urllib3.PoolManager:
    """A connection pool that verifies TLS. Plain HTTP (allowed to loopback only) is always
    direct: a proxy would read the key in clear and could answer in the API's place, so
    HTTP_PROXY is never used. HTTPS goes through the proxy that HTTPS_PROXY or ALL_PROXY
    names (unless NO_PROXY covers the host), always as a CONNECT tunnel: TLS runs end to
    end with the API, and the proxy sees the host name, never the request."""
    parts = urlsplit(url)
    if parts.scheme != "https":
        return urllib3.PoolManager(maxsize=concurrency, block=True)
    proxy = https_proxy(parts.hostname or "", os.environ if environ is None else environ)
    if proxy is None:
        return urllib3.PoolManager(maxsize=concurrency, block=True)
    try:
        auth = urllib3.util.parse_url(proxy).auth
        headers = urllib3.make_headers(proxy_basic_auth=unquote(auth)) if auth else None
        return urllib3.ProxyManager(
            proxy,
            proxy_headers=headers,
            use_forwarding_for_https=False,  # never hand the proxy the request itself
            maxsize=concurrency,
            block=True,
        )
    except (ValueError, urllib3.exceptions.HTTPError):
        raise FatalError("--verify: the HTTPS proxy variable is not a valid URL") from None


def https_proxy(host: str, environ: Mapping[str, str]) -> str | None:
    """The proxy URL for an HTTPS request to `host`, or None to connect directly. A proxy
    that urllib3 cannot tunnel through (SOCKS) is an error, not a silent direct connection."""
    name = next((n for n in _PROXY_VARIABLES if environ.get(n, "").strip()), None)
    if name is None:
        return None
    no_proxy = environ.get("no_proxy") or environ.get("NO_PROXY") or ""
    if any(_bypasses(entry, host) for entry in no_proxy.split(",")):
        return None
    proxy = environ[name].strip()
    if "://" not in proxy:
        proxy = f"http://{proxy}"
    scheme = proxy.split("://", 1)[0].lower()
    if scheme not in ("http", "https"):
        raise FatalError(
            f"--verify: {name} names a {scheme} proxy; keys are checked through http(s) "
            f"proxies only (unset {name}, or set NO_PROXY for the API host)"
        )
    return proxy


class KeyCheck:
    """Checks pairs against one URL; safe to share between threads."""

    def __init__(self, url: str, policy: CheckPolicy, pool: urllib3.PoolManager) -> None:
        self.url = url
        self.policy = policy
        self.pool = pool
        self.requests = 0

    def verdict(self, client_id: str, secret: str) -> Verdict:
        """Asks once, retrying 429, 5xx and connection errors within the bounds."""
        attempt = 0
        while True:
            wait, verdict = self._ask(client_id, secret)
            attempt += 1
            if wait is None or attempt > self.policy.retries:
                return verdict
            if time.monotonic() + wait >= self.policy.deadline:
                return Verdict(UNKNOWN, f"{verdict.reason}; no time left to retry")
            time.sleep(wait)

    def _ask(self, client_id: str, secret: str) -> tuple[float | None, Verdict]:
        """One request: the verdict, and how long to wait before retrying (None: final)."""
        remaining = self.policy.deadline - time.monotonic()
        if remaining <= 0:
            return None, Verdict(UNKNOWN, "verification deadline reached")
        timeout = min(self.policy.timeout, remaining)
        self.requests += 1
        try:
            response = self.pool.request(
                "GET",
                self.url,
                headers={
                    "Authorization": f"ApiKey {client_id}:{secret}",
                    "Accept": "application/json",
                },
                redirect=False,
                retries=False,
                timeout=urllib3.Timeout(connect=timeout, read=timeout),
                preload_content=False,
            )
        except urllib3.exceptions.HTTPError as error:
            return self._backoff(), Verdict(UNKNOWN, f"no answer ({_describe(error)})")
        try:
            return self._classify(response, time.monotonic() + timeout)
        finally:
            response.release_conn()

    def _classify(
        self, response: urllib3.BaseHTTPResponse, until: float
    ) -> tuple[float | None, Verdict]:
        status = response.status
        if status == 200:
            body = _read_bounded(response, until)
            account = _account(body)
            if account is None:
                return None, Verdict(UNKNOWN, "200 without the expected account JSON")
            return None, Verdict(LIVE, "the API accepted the key", account)
        if status == 403:
            return None, Verdict(
                LIVE, "the key authenticates (403: no permission for /v2/users/me)"
            )
        if status == 401:
            return None, Verdict(REVOKED, "401 Unauthorized: revoked or never valid")
        if status == 429:
            wait = _retry_after(response.headers.get("Retry-After"))
            return wait, Verdict(UNKNOWN, "rate limited (429)")
        if 300 <= status < 400:
            where = urlsplit(response.headers.get("Location", "")).hostname or "elsewhere"
            return None, Verdict(UNKNOWN, f"redirected ({status}) to {where}; not followed")
        if status >= 500:
            return self._backoff(), Verdict(UNKNOWN, f"server error ({status})")
        return None, Verdict(UNKNOWN, f"unexpected answer ({status})")

    def _backoff(self) -> float:
        return self.policy.backoff * (1 + random.random())


def _read_bounded(response: urllib3.BaseHTTPResponse, until: float) -> bytes:
    """At most MAX_BODY bytes, and no reading past `until`: a slow drip cannot hang us."""
    body = b""
    while len(body) < MAX_BODY and time.monotonic() < until:
        try:
            chunk = response.read1(min(4096, MAX_BODY - len(body)))
        except urllib3.exceptions.HTTPError:
            break
        if not chunk:
            break
        body += chunk
    return body


def _account(body: bytes) -> dict[str, str] | None:
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("id"), (str, int)):
        return None
    return {k: str(data[k])[:200] for k in ("id", "email", "name") if k in data}


def _retry_after(value: str | None) -> float:
    try:
        seconds = float(value) if value is not None else 1.0
    except ValueError:
        seconds = 1.0
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


def _bypasses(entry: str, host: str) -> bool:
    """True when one NO_PROXY entry covers `host`: `*`, the host, a parent domain
    (`example.com`, `.example.com`, `*.example.com`), with or without a port, or a CIDR."""
    entry, host = entry.strip().lower(), host.strip("[]").lower()
    if entry == "*":
        return True
    if "/" in entry:
        try:
            return ipaddress.ip_address(host) in ipaddress.ip_network(entry, strict=False)
        except ValueError:
            return False
    if entry.count(":") == 1:
        entry = entry.split(":", 1)[0]
    entry = entry.strip("[]").lstrip("*").lstrip(".")
    return bool(entry) and (host == entry or host.endswith("." + entry))


def _describe(error: Exception) -> str:
    """A short cause that never repeats request headers."""
    text = type(error).__name__
    reason = getattr(error, "reason", None)
    if reason is not None:
        text += f": {type(reason).__name__}"
    return text
