"""Fake GitHub and GitLab APIs on 127.0.0.1 (thread HTTP servers), which also serve
repositories over git's smart HTTP (`git http-backend`), a private one only with the token.
Each records the requests it receives, with their headers, before answering."""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Seen:
    """One request: method, path with query, and headers (lower-case names)."""

    method: str
    path: str
    headers: dict[str, str]


@dataclass
class Forge:
    """What the fake serves: repositories under `root` (bare, `NAME.git`), which are
    private, the token, and how many rate-limit answers to give first."""

    root: Path
    token: str
    private: set[str] = field(default_factory=set)
    archived: set[str] = field(default_factory=set)
    forks: set[str] = field(default_factory=set)
    rate_limited: int = 0
    seen: list[Seen] = field(default_factory=list)
    base_url: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def repos(self) -> list[str]:
        return sorted(p.name.removesuffix(".git") for p in self.root.glob("*.git"))


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def _serve(self) -> None:
        forge = self.server.forge
        with forge.lock:
            forge.seen.append(
                Seen(self.command, self.path, {k.lower(): v for k, v in self.headers.items()})
            )
        path = urlsplit(self.path).path
        if path.startswith("/git/"):
            self._git(path.removeprefix("/git"))
            return
        with forge.lock:
            limited = forge.rate_limited > 0
            forge.rate_limited -= limited
        if limited:
            reset = str(int(time.time()) + 1)
            self._json(
                403,
                {"message": "API rate limit exceeded"},
                {"x-ratelimit-remaining": "0", "x-ratelimit-reset": reset},
            )
            return
        self._api(path, parse_qs(urlsplit(self.path).query))

    def _authorized(self) -> bool:
        raise NotImplementedError

    def _api(self, path: str, query: dict[str, list[str]]) -> None:
        raise NotImplementedError

    def _listing(self, query: dict[str, list[str]], items: list[dict[str, Any]], base: str) -> None:
        """Two items a page, pages linked as GitHub and GitLab do (`Link: rel="next"`)."""
        page = int(query.get("page", ["1"])[0])
        chunk = items[(page - 1) * 2 : page * 2]
        headers = {}
        if page * 2 < len(items):
            rest = "&".join(f"{k}={v[0]}" for k, v in query.items() if k != "page")
            headers["link"] = f'<{base}?{rest}&page={page + 1}>; rel="next"'
        self._json(200, chunk, headers)

    def _json(self, status: int, body: object, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _git(self, path: str) -> None:
        forge = self.server.forge
        name = path.strip("/").split("/", 1)[0].removesuffix(".git")
        if name in forge.private and not self._authorized():
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="fake"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        env = {
            "PATH": os.environ["PATH"],
            "GIT_PROJECT_ROOT": str(forge.root),
            "GIT_HTTP_EXPORT_ALL": "1",
            "PATH_INFO": path,
            "REQUEST_METHOD": self.command,
            "QUERY_STRING": urlsplit(self.path).query,
            "CONTENT_TYPE": self.headers.get("Content-Type", ""),
            "CONTENT_LENGTH": str(len(body)),
            "GIT_HTTP_MAX_REQUEST_BUFFER": "100M",
            "HTTP_GIT_PROTOCOL": self.headers.get("Git-Protocol", ""),
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": os.devnull,
        }
        done = subprocess.run(
            ["git", "http-backend"], input=body, env=env, capture_output=True, check=False
        )
        head, _, payload = done.stdout.partition(b"\r\n\r\n")
        status = 200
        headers = []
        for line in head.decode().split("\r\n"):
            key, _, value = line.partition(":")
            if key.lower() == "status":
                status = int(value.strip().split()[0])
            elif key:
                headers.append((key, value.strip()))
        self.send_response(status)
        for key, value in headers:
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


class _GitHub(_Handler):
    def _authorized(self) -> bool:
        import base64

        want = [
            f"Bearer {self.server.forge.token}",
            "Basic "
            + base64.b64encode(f"x-access-token:{self.server.forge.token}".encode()).decode(),
        ]
        return self.headers.get("Authorization") in want

    def _api(self, path: str, query: dict[str, list[str]]) -> None:
        forge = self.server.forge
        if path != "/orgs/acme/repos":
            self._json(404, {"message": "Not Found"})
            return
        items = [
            {
                "name": name,
                "private": name in forge.private,
                "archived": name in forge.archived,
                "fork": name in forge.forks,
                "clone_url": f"{forge.base_url}/git/{name}.git",
            }
            for name in forge.repos()
            if name not in forge.private or self._authorized()
        ]
        self._listing(query, items, f"{forge.base_url}{path}")


class _GitLab(_Handler):
    def _authorized(self) -> bool:
        import base64

        token = self.server.forge.token
        basic = "Basic " + base64.b64encode(f"oauth2:{token}".encode()).decode()
        return (
            self.headers.get("PRIVATE-TOKEN") == token or self.headers.get("Authorization") == basic
        )

    def _api(self, path: str, query: dict[str, list[str]]) -> None:
        forge = self.server.forge
        if (
            path != "/api/v4/groups/acme%2Fplatform/projects"
            and path != "/api/v4/groups/acme/platform/projects"
        ):
            self._json(404, {"message": "404 Group Not Found"})
            return
        subgroups = query.get("include_subgroups") == ["true"]
        items = [
            {
                "name": name,
                "archived": name in forge.archived,
                "http_url_to_repo": f"{forge.base_url}/git/{name}.git",
                **({"forked_from_project": {"id": 1}} if name in forge.forks else {}),
            }
            for name in forge.repos()
            if (subgroups or not name.startswith("sub-"))
            and (name not in forge.private or self._authorized())
            and not (query.get("archived") == ["false"] and name in forge.archived)
        ]
        self._listing(query, items, f"{forge.base_url}{path}")


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, forge: Forge, handler: type[_Handler]) -> None:
        super().__init__(("127.0.0.1", 0), handler)
        self.forge = forge


def serve(forge: Forge, kind: str) -> Iterator[Forge]:
    """Runs the fake `kind` ("github" or "gitlab") until the generator is closed."""
    server = _Server(forge, _GitHub if kind == "github" else _GitLab)
    forge.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield forge
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
