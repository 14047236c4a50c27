"""Which repositories an organization audit covers: a list file, a GitHub organization or
a GitLab group (subgroups included), each listed through its REST API."""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

from nexpay_scan.errors import FatalError
from nexpay_scan.verifier.endpoint import check_base

API_DEADLINE = 300.0  # seconds a listing may wait, in all, for rate limits to reset
_TIMEOUT = 30.0
_PAGE_LIMIT = 1000  # pages of 100: 100 000 repositories, far past any organization


@dataclass(frozen=True)
class RepoSpec:
    """One repository to audit: where to clone it from, and the API host whose token may
    be sent with the clone (None: no token)."""

    url: str
    token_host: str | None = None


def read_repos_file(path: str) -> list[RepoSpec]:
    """`--repos FILE`: one clone URL or local path per line; blank lines and `#` comments
    are ignored; a relative path is taken from the file's folder."""
    try:
        with open(path, encoding="utf-8") as stream:
            lines = stream.read().splitlines()
    except FileNotFoundError:
        raise FatalError(f"--repos {path}: no such file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise FatalError(f"--repos {path}: cannot read ({error})") from None
    folder = os.path.dirname(os.path.abspath(path))
    specs: list[RepoSpec] = []
    for line in lines:
        entry = line.split("#", 1)[0].strip() if not line.lstrip().startswith("#") else ""
        if not entry:
            continue
        if "://" not in entry and not _scp_like(entry):
            entry = os.path.normpath(os.path.join(folder, os.path.expanduser(entry)))
        specs.append(RepoSpec(entry))
    return list({s.url: s for s in specs}.values())


def _scp_like(entry: str) -> bool:
    """`git@host:org/repo.git`, git's scp-like syntax (a colon before any slash)."""
    head = entry.split("/", 1)[0]
    return ":" in head and not os.path.exists(entry)


def check_api_base(url: str, flag: str) -> str:
    """An API base URL without its trailing slash; HTTPS, or plain HTTP to loopback only
    (the token is sent to it)."""
    check_base(url, flag, "tokens")
    return url.rstrip("/")


class ApiClient:
    """GET requests to one API host, with the token sent to that host only, redirects never
    followed, and rate limits waited out within a deadline (said on stderr)."""

    def __init__(
        self,
        base: str,
        headers: Mapping[str, str],
        *,
        deadline: float = API_DEADLINE,
        say: Callable[[str], None] | None = None,
    ) -> None:
        import urllib3

        from nexpay_scan.verifier.check import make_pool

        self.base = base
        self.host = urlsplit(base).hostname or ""
        self._headers = dict(headers)
        self._pool: urllib3.PoolManager = make_pool(base, 2)
        self._until = time.monotonic() + deadline
        self._say = say or _stderr

    def get(self, url: str) -> tuple[Any, Mapping[str, str]]:
        """The JSON body and headers of `url` (on the API host), after any rate-limit wait."""
        import urllib3

        if (urlsplit(url).hostname or "") != self.host:
            raise FatalError(f"the API named a page on another host ({self.host} expected)")
        while True:
            try:
                answer = self._pool.request(
                    "GET",
                    url,
                    headers=self._headers,
                    redirect=False,
                    retries=False,
                    timeout=_TIMEOUT,
                )
            except urllib3.exceptions.HTTPError as error:
                raise FatalError(
                    f"{self.host}: the API did not answer ({type(error).__name__})"
                ) from None
            wait = _rate_limit_wait(answer.status, answer.headers)
            if wait is None:
                break
            if time.monotonic() + wait > self._until:
                raise FatalError(
                    f"{self.host}: rate limited for {wait:.0f} s more, past the listing's "
                    "deadline; run again later"
                )
            self._say(f"{self.host}: rate limited; waiting {wait:.0f} s for the limit to reset")
            time.sleep(wait)
        if answer.status in (401, 403):
            raise FatalError(f"{self.host}: access refused ({answer.status}); check the token")
        if answer.status == 404:
            raise FatalError(f"{self.host}: not found (404): check the name (and the token)")
        if answer.status != 200:
            raise FatalError(f"{self.host}: the API answered {answer.status}")
        try:
            return json.loads(answer.data), answer.headers
        except ValueError:
            raise FatalError(f"{self.host}: the API's answer is not JSON") from None


def _stderr(message: str) -> None:
    print(f"nexpay-scan: {message}", file=sys.stderr, flush=True)


def _rate_limit_wait(status: int, headers: Mapping[str, str]) -> float | None:
    """Seconds to wait before asking again, when the answer is a rate limit (GitHub: 403 or
    429 with `x-ratelimit-remaining: 0` and `x-ratelimit-reset`, or `retry-after`; GitLab:
    429 with `retry-after` or `ratelimit-reset`), else None."""
    if status not in (403, 429):
        return None
    retry_after = headers.get("retry-after")
    if retry_after and retry_after.strip().isdigit():
        return max(float(retry_after), 1.0)
    reset = headers.get("x-ratelimit-reset") or headers.get("ratelimit-reset")
    limited = status == 429 or headers.get("x-ratelimit-remaining") == "0"
    if reset and reset.strip().isdigit() and limited:
        return max(float(reset) - time.time(), 0.0) + 1.0
    return 60.0 if status == 429 else None


def _next_link(headers: Mapping[str, str]) -> str | None:
    """The `rel="next"` URL of a `Link` header (RFC 8288), if any."""
    for part in (headers.get("link") or "").split(","):
        url, _, params = part.partition(";")
        if 'rel="next"' in params.replace(" ", ""):
            return url.strip().strip("<>")
    return None


def _pages(client: ApiClient, url: str) -> Iterator[Any]:
    for _ in range(_PAGE_LIMIT):
        body, headers = client.get(url)
        if not isinstance(body, list):
            raise FatalError(f"{client.host}: the API's answer is not a list of repositories")
        yield from body
        following = _next_link(headers)
        if following is None:
            return
        url = following
    raise FatalError(f"{client.host}: more than {_PAGE_LIMIT} pages of repositories")


def github_repos(
    org: str,
    api: str,
    environ: Mapping[str, str],
    *,
    include_archived: bool = False,
    include_forks: bool = False,
) -> list[RepoSpec]:
    """The repositories of a GitHub organization (private ones too with `GITHUB_TOKEN`),
    archived ones and forks left out unless asked for."""
    base = check_api_base(api, "--github-api")
    token = environ.get("GITHUB_TOKEN", "")
    headers = {"Accept": "application/vnd.github+json", "User-Agent": "nexpay-scan"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    client = ApiClient(base, headers)
    url = f"{base}/orgs/{quote(org, safe='')}/repos?per_page=100&type=all"
    specs = []
    for item in _pages(client, url):
        if not isinstance(item, dict) or not isinstance(item.get("clone_url"), str):
            continue
        if item.get("archived") and not include_archived:
            continue
        if item.get("fork") and not include_forks:
            continue
        clone = item["clone_url"]
        specs.append(RepoSpec(clone, _host(clone) if token else None))
    return specs


def gitlab_repos(
    group: str,
    url: str,
    environ: Mapping[str, str],
    *,
    include_archived: bool = False,
    include_forks: bool = False,
) -> list[RepoSpec]:
    """The projects of a GitLab group and its subgroups (private ones with `GITLAB_TOKEN`)."""
    base = check_api_base(url, "--gitlab-url")
    token = environ.get("GITLAB_TOKEN", "")
    headers = {"User-Agent": "nexpay-scan"}
    if token:
        headers["PRIVATE-TOKEN"] = token
    client = ApiClient(base, headers)
    query = "include_subgroups=true&per_page=100&order_by=id&sort=asc"
    if not include_archived:
        query += "&archived=false"
    listing = f"{base}/api/v4/groups/{quote(group, safe='')}/projects?{query}"
    specs = []
    for item in _pages(client, listing):
        if not isinstance(item, dict) or not isinstance(item.get("http_url_to_repo"), str):
            continue
        if item.get("archived") and not include_archived:
            continue
        if item.get("forked_from_project") and not include_forks:
            continue
        clone = item["http_url_to_repo"]
        specs.append(RepoSpec(clone, _host(clone) if token else None))
    return specs


def _host(url: str) -> str | None:
    return urlsplit(url).hostname
