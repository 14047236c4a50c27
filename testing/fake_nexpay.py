"""A fake Nexpay API: a real HTTP server on 127.0.0.1 for the test suite and the benchmark.

`FakeNexpay` answers `GET /v2/users/me` the way credentials.md says the real API does,
with one configurable behaviour per (client ID, secret) pair; everything else gets 401.
`RecordingServer` is "another host" for redirect tests, and `refused_base_url()` is a base
URL where nothing listens. Every server records the requests it receives, before answering.

    with FakeNexpay() as api:
        api.live(CID, SECRET)
        api.rate_limited(OTHER_CID, OTHER_SECRET, times=2, retry_after="0")
        ...  # point the verifier at api.base_url
        assert api.count(CID, SECRET) == 1
"""

from __future__ import annotations

import collections
import contextlib
import hashlib
import json
import socket
import sys
import threading
import time
import traceback
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import ClassVar, Final, Literal, cast

ME_PATH: Final = "/v2/users/me"
HUGE_BODY_BYTES: Final = 50 * 1024 * 1024
DRIP_SECONDS: Final = 60
_CHUNK_BYTES: Final = 64 * 1024
_POLL_SECONDS: Final = 0.02
_JSON: Final = (("Content-Type", "application/json"),)

Then = Literal["live", "forbidden", "revoked"]
HostileKind = Literal["huge", "drip", "invalid_json"]
Headers = tuple[tuple[str, str], ...]


def parse_authorization(value: str | None) -> tuple[str, str] | None:
    """Return (client_id, secret) from `ApiKey <client_id>:<secret>`, or None if malformed.

    The scheme is matched case-insensitively (RFC 9110); both parts must be non-empty
    and free of white space.
    """
    scheme, _, credentials = (value or "").partition(" ")
    client_id, colon, secret = credentials.strip().partition(":")
    if scheme.lower() != "apikey" or not colon or not client_id or not secret:
        return None
    if any(part.split() != [part] for part in (client_id, secret)):
        return None
    return client_id, secret


def default_account(client_id: str) -> dict[str, str]:
    """Return the account that `live()` answers with when given none: stable per client ID."""
    digest = hashlib.sha256(client_id.encode()).hexdigest()[:16]
    return {"id": f"usr_{digest}", "email": "owner@example.com", "name": "Example Owner"}


def refused_base_url() -> str:
    """Return an http://127.0.0.1:PORT base URL where nothing listens (connections are refused).

    The port was free a moment ago; another process could take it, which is unlikely.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = cast(tuple[str, int], sock.getsockname())[1]
    return f"http://127.0.0.1:{port}"


@dataclass(frozen=True)
class RecordedRequest:
    """One request as a server received it: `path` is the raw request target, query included."""

    method: str
    path: str
    authorization: str | None
    at: float = field(default_factory=time.monotonic)

    @property
    def pair(self) -> tuple[str, str] | None:
        """The (client_id, secret) the request carried, or None without a well-formed header."""
        return parse_authorization(self.authorization)


# --- answers -------------------------------------------------------------------------------


class _Answer:
    """How a server answers one request."""

    def send(self, handler: _Handler) -> None:
        raise NotImplementedError


@dataclass(frozen=True)
class _Fixed(_Answer):
    """A complete answer with Content-Length, sent after `delay` seconds."""

    status: int
    body: bytes = b""
    headers: Headers = ()
    delay: float = 0.0

    def send(self, handler: _Handler) -> None:
        if handler.wait(self.delay):
            return
        handler.send_head(self.status, (*self.headers, ("Content-Length", str(len(self.body)))))
        handler.wfile.write(self.body)


class _Huge(_Answer):
    """200 and a 50 MB JSON-looking body, delimited by closing the connection."""

    def send(self, handler: _Handler) -> None:
        handler.send_head(200, _JSON)
        chunk = b" " * _CHUNK_BYTES
        handler.wfile.write(b'{"id": "')
        for _ in range(HUGE_BODY_BYTES // _CHUNK_BYTES):
            if handler.closing():
                return
            handler.wfile.write(chunk)  # a client hanging up raises ConnectionError: ignored


class _Drip(_Answer):
    """200 and a valid account body, one byte a second for DRIP_SECONDS seconds."""

    _BODY: ClassVar[bytes] = b'{"id":"usr_drip","email":"d@example.com","name":"Drip"}'.ljust(
        DRIP_SECONDS
    )

    def send(self, handler: _Handler) -> None:
        handler.send_head(200, _JSON)
        for index in range(DRIP_SECONDS):
            if index and handler.wait(1.0):
                return
            handler.wfile.write(self._BODY[index : index + 1])
            handler.wfile.flush()


class _Disconnect(_Answer):
    """No answer: the connection is closed as soon as the request is read."""

    def send(self, handler: _Handler) -> None:
        return


def _json_answer(status: int, payload: object, headers: Headers = (), delay: float = 0.0) -> _Fixed:
    return _Fixed(status, json.dumps(payload).encode(), (*_JSON, *headers), delay)


def _error(status: int, code: str, message: str, headers: Headers = ()) -> _Fixed:
    return _json_answer(status, {"error": {"code": code, "message": message}}, headers)


_UNAUTHORIZED: Final = _error(
    401, "unauthorized", "Invalid or revoked API key.", (("WWW-Authenticate", "ApiKey"),)
)
_FORBIDDEN: Final = _error(403, "forbidden", "This API key may not read this resource.")
_NOT_ALLOWED: Final = _error(405, "method_not_allowed", "Use GET.", (("Allow", "GET"),))


def _live(client_id: str, account: Mapping[str, str] | None, delay: float = 0.0) -> _Fixed:
    body = dict(account) if account is not None else default_account(client_id)
    return _json_answer(200, body, delay=delay)


def _then(then: Then, client_id: str, account: Mapping[str, str] | None) -> _Answer:
    if then == "live":
        return _live(client_id, account)
    if then == "forbidden":
        return _FORBIDDEN
    if then == "revoked":
        return _UNAUTHORIZED
    raise ValueError(f"then must be 'live', 'forbidden' or 'revoked', not {then!r}")


def _repeat(answer: _Answer, times: int) -> list[_Answer]:
    if times < 0:
        raise ValueError(f"times must be >= 0, not {times}")
    return [answer] * times


@dataclass
class _Script:
    """The answers for one pair: `transient` ones first, one each, then `steady` forever."""

    steady: _Answer
    transient: deque[_Answer] = field(default_factory=deque)

    def next_answer(self) -> _Answer:
        return self.transient.popleft() if self.transient else self.steady


# --- servers -------------------------------------------------------------------------------


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, owner: _ServerBase, handler: type[_Handler]) -> None:
        self.owner = owner
        super().__init__(("127.0.0.1", 0), handler)

    def handle_error(self, request: object, client_address: object) -> None:
        """Ignore clients that hang up; record (and print) anything else, which is a bug here."""
        error = sys.exc_info()[1]
        if error is None or isinstance(error, ConnectionError):
            return
        self.owner.errors.append(error)
        traceback.print_exception(error, file=sys.stderr)


class _Handler(BaseHTTPRequestHandler):
    """Records every request, then lets the owning server choose the answer."""

    timeout = 30.0  # a client that stops reading cannot hold a thread forever
    server_version = "FakeNexpay/1"
    sys_version = ""

    @property
    def owner(self) -> _ServerBase:
        return cast(_HTTPServer, self.server).owner

    def log_message(self, format: str, *args: object) -> None:
        """Stay quiet."""

    def wait(self, seconds: float) -> bool:
        """Sleep up to `seconds`; return True, early, if the server is closing."""
        return seconds > 0 and self.owner.closed_event.wait(seconds)

    def closing(self) -> bool:
        return self.owner.closed_event.is_set()

    def send_head(self, status: int, headers: Headers) -> None:
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()

    def handle_request(self) -> None:
        self._drain_body()
        target = self.requestline.split(" ")[1]  # self.path has had "//" collapsed to "/"
        request = RecordedRequest(self.command, target, self.headers.get("Authorization"))
        self.owner.record(request)
        self.owner.arrived()
        try:
            self.owner.answer_for(request).send(self)
        finally:
            self.owner.answered()

    def _drain_body(self) -> None:
        # unread request bytes make the close send a reset, which the client sees as an error
        length = self.headers.get("Content-Length", "0")
        if length.isdigit() and 0 < int(length) <= 1 << 20:
            self.rfile.read(int(length))

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = handle_request


class _ServerBase:
    """A started server on 127.0.0.1 with its request log; a context manager that closes it."""

    def __init__(self) -> None:
        self.requests: list[RecordedRequest] = []
        self.errors: list[BaseException] = []
        self.closed_event = threading.Event()
        self.most_at_once = 0
        """The most requests this server was answering at the same time, so far."""
        self._answering = 0
        self._lock = threading.Lock()
        self._server = _HTTPServer(self, _Handler)
        self.base_url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": _POLL_SECONDS},
            name=f"{type(self).__name__}:{self._server.server_port}",
            daemon=True,
        )
        self._thread.start()

    def answer_for(self, request: RecordedRequest) -> _Answer:
        raise NotImplementedError

    def record(self, request: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(request)

    def arrived(self) -> None:
        """Counts a request being answered (for `most_at_once`)."""
        with self._lock:
            self._answering += 1
            self.most_at_once = max(self.most_at_once, self._answering)

    def answered(self) -> None:
        """Counts a request answered (or cut off)."""
        with self._lock:
            self._answering -= 1

    def snapshot(self) -> list[RecordedRequest]:
        """Return a copy of the requests received so far, oldest first."""
        with self._lock:
            return list(self.requests)

    def count(self, client_id: str, secret: str) -> int:
        """Return how many requests, to any path, carried this pair in a well-formed header."""
        return self.pairs_seen()[(client_id, secret)]

    def pairs_seen(self) -> collections.Counter[tuple[str, str]]:
        """Count the requests per (client_id, secret) among those with a well-formed header."""
        return collections.Counter(r.pair for r in self.snapshot() if r.pair is not None)

    def close(self) -> None:
        """Stop serving and free the port; in-flight slow or hostile answers end at once.

        Idempotent, and prompt: it does not wait for clients that are still connected.
        """
        if self.closed_event.is_set():
            return
        self.closed_event.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> _ServerBase:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class RecordingServer(_ServerBase):
    """Another host, for redirect tests: 200 and an account JSON body to any request.

    It answers like a live key would, so a client that follows a redirect shows it.
    """

    ACCOUNT: ClassVar[dict[str, str]] = {
        "id": "usr_redirect_target",
        "email": "attacker@example.net",
        "name": "Redirect Target",
    }

    def __enter__(self) -> RecordingServer:
        return self

    @property
    def authorization_seen(self) -> bool:
        """True once any request arrived with an Authorization header."""
        return any(r.authorization is not None for r in self.snapshot())

    def answer_for(self, request: RecordedRequest) -> _Answer:
        return _json_answer(200, self.ACCOUNT)


class FakeNexpay(_ServerBase):
    """The Nexpay API at `base_url`, serving `GET /v2/users/me` (exactly; no query string).

    Answers: a configured pair gets its behaviour; any other well-formed pair gets 401,
    as do another path and a missing or malformed Authorization header (checked first);
    another method on the right path gets 405. Each configuring call replaces what was
    configured for that pair before. Every answer waits `default_delay` seconds first.
    `errors` lists unexpected exceptions in handlers (clients hanging up are not one).
    """

    def __init__(self, default_delay: float = 0.0) -> None:
        self.default_delay = default_delay
        self._scripts: dict[tuple[str, str], _Script] = {}
        super().__init__()

    def __enter__(self) -> FakeNexpay:
        return self

    def live(self, client_id: str, secret: str, account: Mapping[str, str] | None = None) -> None:
        """Answer 200 with `account` as JSON (default: `default_account(client_id)`)."""
        self._set(client_id, secret, _live(client_id, account))

    def forbidden(self, client_id: str, secret: str) -> None:
        """Answer 403: the key authenticates but may not read the account."""
        self._set(client_id, secret, _FORBIDDEN)

    def revoked(self, client_id: str, secret: str) -> None:
        """Answer 401, which is also what any pair never configured gets."""
        self._set(client_id, secret, _UNAUTHORIZED)

    def rate_limited(
        self,
        client_id: str,
        secret: str,
        times: int = 1,
        retry_after: str | None = "1",
        then: Then = "live",
        account: Mapping[str, str] | None = None,
    ) -> None:
        """Answer 429 `times` times (with `Retry-After: retry_after` unless None), then `then`."""
        headers: Headers = () if retry_after is None else (("Retry-After", retry_after),)
        answer = _error(429, "rate_limited", "Too many requests.", headers)
        self._set(client_id, secret, _then(then, client_id, account), _repeat(answer, times))

    def flaky(
        self,
        client_id: str,
        secret: str,
        times: int = 1,
        status: int = 503,
        then: Then = "live",
        account: Mapping[str, str] | None = None,
    ) -> None:
        """Answer `status` (a 5xx) `times` times, then `then`."""
        answer = _error(status, "server_error", "Try again later.")
        self._set(client_id, secret, _then(then, client_id, account), _repeat(answer, times))

    def disconnect(
        self,
        client_id: str,
        secret: str,
        times: int = 1,
        then: Then = "live",
        account: Mapping[str, str] | None = None,
    ) -> None:
        """Close the connection without an answer `times` times, then answer `then`."""
        transient = _repeat(_Disconnect(), times)
        self._set(client_id, secret, _then(then, client_id, account), transient)

    def slow(
        self,
        client_id: str,
        secret: str,
        seconds: float,
        account: Mapping[str, str] | None = None,
    ) -> None:
        """Wait `seconds` (cut short by close()), then answer like `live`."""
        self._set(client_id, secret, _live(client_id, account, delay=seconds))

    def redirect(self, client_id: str, secret: str, location: str, code: int = 302) -> None:
        """Answer `code` (302) with `Location: location` and an empty body."""
        self._set(client_id, secret, _Fixed(code, b"", (("Location", location),)))

    def status(
        self,
        client_id: str,
        secret: str,
        code: int,
        body: bytes = b"",
        headers: Mapping[str, str] | None = None,
    ) -> None:
        """Answer `code` with exactly `body` and `headers` (plus Content-Length, Date, Server)."""
        if not 100 <= code <= 599:
            raise ValueError(f"code must be an HTTP status (100-599), not {code}")
        self._set(client_id, secret, _Fixed(code, body, tuple((headers or {}).items())))

    def hostile_body(self, client_id: str, secret: str, kind: HostileKind) -> None:
        """Answer 200 with a body no client should accept whole.

        "huge": 50 MB of JSON-looking bytes without Content-Length, in 64 KiB chunks;
        "drip": a valid account body, one byte a second for 60 s, without Content-Length;
        "invalid_json": Content-Type application/json and body `{not json`.
        """
        answers: dict[str, _Answer] = {
            "huge": _Huge(),
            "drip": _Drip(),
            "invalid_json": _Fixed(200, b"{not json", _JSON),
        }
        if kind not in answers:
            raise ValueError(f"kind must be one of {sorted(answers)}, not {kind!r}")
        self._set(client_id, secret, answers[kind])

    def answer_for(self, request: RecordedRequest) -> _Answer:
        if self.default_delay > 0 and self.closed_event.wait(self.default_delay):
            return _Disconnect()
        pair = request.pair
        if pair is None or request.path != ME_PATH:
            return _UNAUTHORIZED
        if request.method != "GET":
            return _NOT_ALLOWED
        with self._lock:
            script = self._scripts.get(pair)
            return script.next_answer() if script is not None else _UNAUTHORIZED

    def _set(
        self, client_id: str, secret: str, steady: _Answer, transient: list[_Answer] | None = None
    ) -> None:
        with self._lock:
            self._scripts[(client_id, secret)] = _Script(steady, deque(transient or ()))


# --- a proxy -------------------------------------------------------------------------------


class RecordingProxy:
    """A forward proxy on 127.0.0.1 that records every byte of each request head it gets.

    It carries nothing: a forwarded request (`GET http://...`) gets 401, the answer that
    turned a live key "revoked" when keys went through a proxy; a tunnel (`CONNECT`) is
    refused with 403. So a test sees what a client would hand a proxy, and that no verdict
    comes from one. `url` goes in HTTP(S)_PROXY; `received` holds the request heads.
    """

    def __init__(self) -> None:
        self.received: list[bytes] = []
        self._lock = threading.Lock()
        self._socket = socket.create_server(("127.0.0.1", 0))
        self._socket.settimeout(_POLL_SECONDS * 5)
        self.url = f"http://127.0.0.1:{self._socket.getsockname()[1]}"
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="RecordingProxy", daemon=True)
        self._thread.start()

    @property
    def request_lines(self) -> list[str]:
        """The first line of each request received, oldest first."""
        with self._lock:
            return [head.split(b"\r\n", 1)[0].decode("latin-1") for head in self.received]

    def _serve(self) -> None:
        while not self._closed.is_set():
            try:
                connection, _ = self._socket.accept()
            except (TimeoutError, OSError):
                continue
            threading.Thread(target=self._answer, args=(connection,), daemon=True).start()

    def _answer(self, connection: socket.socket) -> None:
        with connection:
            connection.settimeout(5)
            head = b""
            try:
                while b"\r\n\r\n" not in head and len(head) < 1 << 16:
                    chunk = connection.recv(4096)
                    if not chunk:
                        break
                    head += chunk
            except OSError:
                pass
            if not head:
                return
            with self._lock:
                self.received.append(head)
            refused = head.startswith(b"CONNECT ")
            body = b"" if refused else json.dumps({"error": {"code": "unauthorized"}}).encode()
            status = b"403 Forbidden" if refused else b"401 Unauthorized"
            with contextlib.suppress(OSError):
                connection.sendall(
                    b"HTTP/1.1 " + status + b"\r\nConnection: close\r\nContent-Type: "
                    b"application/json\r\nContent-Length: "
                    + str(len(body)).encode()
                    + b"\r\n\r\n"
                    + body
                )

    def close(self) -> None:
        """Stop accepting; idempotent."""
        if not self._closed.is_set():
            self._closed.set()
            self._thread.join(timeout=5)
            self._socket.close()

    def __enter__(self) -> RecordingProxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
