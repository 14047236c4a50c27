"""`history --report FILE.html|FILE.md`: the audit report, live keys first, never the key.

The HTML report is opened in headless Chromium (Debian's `chromium`, see tests/chromium.sh):
a screenshot as a user's browser would take it, and the text it renders read back over the
DevTools protocol (`document.body.innerText`, the order a reader sees).
"""

from __future__ import annotations

import datetime
import json
import os
import re
import select
import shutil
import signal
import struct
import subprocess
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from fcntl import F_DUPFD_CLOEXEC, fcntl
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from nexpay_scan.config import builtin_rules
from nexpay_scan.findings import Commit, Finding, Secret
from nexpay_scan.findings import redact as redact_with
from nexpay_scan.reporters import Report
from nexpay_scan.reporters.audit_html import render_html
from nexpay_scan.reporters.audit_markdown import render_markdown
from nexpay_scan.rules import rule_prefixes
from nexpay_scan.scan import Summary
from testing.cli import CliRun, Result
from testing.fake_nexpay import FakeNexpay
from testing.git_repo import Repo
from testing.keys import client_id, secret
from testing.results import audit_report

Render = Callable[[Report, Path | None], str]

LIVE_CID, LIVE_SK = client_id(1), secret(1)
REVOKED_CID, REVOKED_SK = client_id(2), secret(2)
UNPAIRED_SK = secret(3)
ACCOUNT = {"id": "usr_42", "email": "owner@shop.example", "name": "Shop Owner"}
ODD_NAME = "docs/<b>setup</b> & notes.md"  # must show as text, never as markup
RULES = builtin_rules()


def redact(value: str) -> str:
    """`value` as a report redacts it, the built-in rules in force (`nxp_sk_AbCd…`)."""
    return redact_with(value, rule_prefixes(RULES))


HOSTILE_NAME = "<script>alert(1)</script>|`x`*_[a](b)\n\"'.env"
WINDOW = (1280, 2000)
CHROMIUM_FLAGS = (  # as the probe starts it
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    f"--window-size={WINDOW[0]},{WINDOW[1]}",
)
CHROMIUM_SECONDS = 30


# Reports built from findings made here


def _commit(day: int) -> Commit:
    sha = f"{day:02d}" + "ab" * 19
    return Commit(sha, "Ada Author", "ada@example.com", f"2024-01-{day:02d}T12:00:00+00:00")


FIRST_COMMIT = _commit(1)


def _finding(
    value: str,
    status: str = "unverified",
    *,
    file: str = "app.env",
    line: int = 1,
    commit: Commit | None = FIRST_COMMIT,
    **fields: Any,
) -> Finding:
    """A finding of `value` with `status`; `fields` set the verifier's and history's
    attributes (account, verified_with, places, at_head, ...)."""
    kind = "secret" if value.startswith("nxp_sk_") else "client_id"
    finding = Finding(
        rule_id=f"nexpay-{kind}",
        description=f"Nexpay API {kind}",
        kind=kind,
        severity="critical",
        file=file,
        line=line,
        column=1,
        secret=Secret(value),
        commit=commit,
    )
    finding.status = status
    for name, field_value in fields.items():
        assert hasattr(finding, name), name
        setattr(finding, name, field_value)
    return finding


def _report(findings: list[Finding], *, redacted: bool = True) -> Report:
    summary = Summary("history")
    summary.commits_scanned = 7
    return Report(findings=findings, summary=summary, redact=redacted, rules=RULES)


def _mixed() -> list[Finding]:
    """One key of each status, a client ID and a dangling key, in the wrong order."""
    return [
        _finding(secret(11), "revoked", file="old.env", at_head=False),
        _finding(client_id(11), "live", account=ACCOUNT),
        _finding(secret(12), "unverified", status_reason="no client ID found to pair with"),
        _finding(secret(13), "live", account=ACCOUNT, verified_with=Secret(client_id(11))),
        _finding(secret(14), "unknown", status_reason="server error (503)", at_head=True),
        _finding(
            secret(15),
            "live",
            file="(unreachable blob 0123456789ab)",
            commit=None,
            unreachable=True,
        ),
    ]


def _heading(text: str, value: str) -> int:
    """Where the heading of `value`'s section is, in either format."""
    heading = r"(?:</span>|:) (?:secret|client ID)(?: \(dangling\))? (?:<code>|`)"
    found = re.search(heading + re.escape(redact(value)), text)
    assert found, value
    return found.start()


def _positions(text: str, values: list[str]) -> list[int]:
    found = [text.find(v) for v in values]
    assert -1 not in found, [v for v, at in zip(values, found, strict=True) if at < 0]
    return found


@pytest.mark.parametrize("render", [render_html, render_markdown])
def test_keys_are_listed_live_unknown_unverified_revoked_then_client_ids_then_dangling(
    render: Render,
) -> None:
    text = render(_report(_mixed()), Path("/srv/shop-backend"))
    order = [secret(13), secret(14), secret(12), secret(11), client_id(11), secret(15)]
    headings = [_heading(text, v) for v in order]
    assert headings == sorted(headings)
    assert "Nexpay key audit: shop-backend" in text
    assert "In dangling objects (1)" in text
    for value in (secret(11), secret(12), secret(13), secret(14), secret(15), client_id(11)):
        assert value not in text


@pytest.mark.parametrize("render", [render_html, render_markdown])
def test_summary_counts_each_key_once_by_status(render: Render) -> None:
    twice = [_finding(secret(13), "live", line=9), *_mixed()]  # --all-occurrences
    text = _flat(render(_report(twice), None))
    for label, count in [
        ("Live secrets", 2),
        ("Unknown secrets", 1),
        ("Unverified secrets", 1),
        ("Revoked secrets", 1),
        ("Client IDs", 1),
        ("In dangling objects", 1),
        ("Commits scanned", 7),
    ]:
        assert re.search(rf"{count}\W*{label}|{label}\W*{count}\b", text), label
    assert "Secrets (4)" in text
    assert "unknown repository" in text


def _flat(text: str) -> str:
    """Text with tags removed, for looking at what a reader sees in either format."""
    return re.sub(r"<[^>]+>", " ", text)


@pytest.mark.parametrize("render", [render_html, render_markdown])
def test_a_live_key_says_what_to_do_from_nexpays_guide(render: Render) -> None:
    live = _finding(
        secret(13),
        "live",
        account=ACCOUNT,
        verified_with=Secret(client_id(11)),
        places=[(_commit(1), "a.env", 2), (_commit(3), "b.env", 5)],
        at_head=True,
    )
    text = render(_report([live]), None)
    for step in (
        "Settings",
        "API Keys",
        "hover",
        "Revoke",
        "confirm",
        "Create API Key",
        "environment variable",
        "secrets manager",
        "Urgent",
    ):
        assert step in text, step
    assert "owner@shop.example" in text
    assert redact(client_id(11)) in text
    assert "still in the files at HEAD" in text
    assert text.index("a.env:2") < text.index("b.env:5")  # every place, oldest first
    assert "2024-01-03 12:00" in text


@pytest.mark.parametrize("render", [render_html, render_markdown])
def test_a_revoked_key_is_to_be_confirmed_and_removed(render: Render) -> None:
    text = render(_report([_finding(secret(11), "revoked", at_head=False)]), None)
    assert "Confirm it stays revoked" in text
    assert "Revoked Keys section" in text
    assert "no longer in the files at HEAD" in text
    assert "Urgent" not in text


@pytest.mark.parametrize("render", [render_html, render_markdown])
def test_full_keys_only_with_no_redact(render: Render) -> None:
    text = render(_report(_mixed(), redacted=False), None)
    assert secret(13) in text
    assert client_id(11) in text
    assert "keep it as secret as the keys" in text


@pytest.mark.parametrize("render", [render_html, render_markdown])
def test_no_findings_and_an_incomplete_scan(render: Render) -> None:
    report = _report([])
    report.summary.rule_timeouts["nexpay-secret"] = 2
    text = render(report, None)
    assert "No Nexpay credentials found." in text
    assert "nexpay-secret was stopped after 2 slow matches" in text


@pytest.mark.parametrize("render", [render_html, render_markdown])
def test_a_dangling_key_is_apart_with_how_to_drop_it(render: Render) -> None:
    text = render(_report(_mixed()), None)
    dangling = text[text.index("In dangling objects (1)") :]
    assert redact(secret(15)) in dangling
    assert "git gc --prune=now" in dangling


@pytest.mark.parametrize("render", [render_html, render_markdown])
def test_odd_values_from_the_api_do_not_break_the_report(render: Render) -> None:
    account = {"id": "usr_\ud800", "email": "a\x00b@example.com", "name": "**Eve** <i>"}
    text = render(_report([_finding(secret(13), "live", account=account)]), None)
    text.encode("utf-8")  # the report is written as UTF-8: no lone surrogate may remain
    assert "\x00" not in text
    assert not re.search(r"(?<!\\)<i>", text)  # escaped in either format


# HTML: escaped and self-contained


class _Tags(HTMLParser):
    """Every start tag and its attributes, and the text, of an HTML page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _parse(page: str) -> _Tags:
    parser = _Tags()
    parser.feed(page)
    parser.close()
    return parser


def assert_self_contained(page: str) -> None:
    """Nothing that a browser would fetch: no script, stylesheet link, image, frame or
    font; links only to anchors in the page; and a policy that forbids loading anything."""
    parser = _parse(page)
    names = {tag for tag, _ in parser.tags}
    assert not names & {"script", "link", "img", "iframe", "object", "embed", "base", "form"}
    for tag, attrs in parser.tags:
        assert "src" not in attrs and "srcset" not in attrs, tag
        assert (attrs.get("href") or "#").startswith("#"), (tag, attrs)
        assert not any(name.startswith("on") for name in attrs), (tag, attrs)
        assert "//" not in "".join(v or "" for v in attrs.values()), (tag, attrs)
    styles = re.findall(r"<style>(.*?)</style>", page, re.DOTALL)
    assert len(styles) == 1
    assert not re.search(r"url\(|@import|@font-face|//", styles[0])
    policies = [a.get("content") for t, a in parser.tags if a.get("http-equiv")]
    assert policies and "default-src 'none'" in str(policies[0])


def test_html_escapes_every_value_and_loads_nothing() -> None:
    hostile = _finding(
        secret(13),
        "live",
        file=HOSTILE_NAME,
        account=ACCOUNT,
        notes=["<img src=http://evil.example/x.png>"],
    )
    page = render_html(_report([hostile, *_mixed()]), Path("/srv/<b>repo</b>"))
    assert_self_contained(page)
    text = "".join(_parse(page).text)
    assert "<script>alert(1)</script>|`x`*_[a](b)\\n\"'.env:1" in text
    assert "<img src=http://evil.example/x.png>" in text
    assert "<b>repo</b>" in text


# Markdown: escaped so that tables keep their shape


def _cells(row: str) -> list[str]:
    """A GFM table row split at its unescaped pipes."""
    cells, current, chars = [], "", iter(row.strip().strip("|"))
    for char in chars:
        if char == "\\":
            current += char + next(chars, "")
        elif char == "|":
            cells.append(current)
            current = ""
        else:
            current += char
    return [*cells, current]


def test_markdown_escapes_every_value_and_keeps_tables_whole() -> None:
    hostile = _finding(
        secret(13), "live", file=HOSTILE_NAME, account=ACCOUNT, notes=["# not a heading"]
    )
    text = render_markdown(_report([hostile, *_mixed()]), None)
    lines = text.splitlines()
    widths = {}
    for n, line in enumerate(lines):
        if line.startswith("|---"):
            widths[n] = line.count("|") - 1
    for start, width in widths.items():
        for row in [lines[start - 1], *_rows_after(lines, start)]:
            assert len(_cells(row)) == width, row
    assert not re.search(r"(?<!\\)<(?!a id=|/a>)", text)  # no markup but our anchors
    # The newline shows as \n (display_path), its backslash escaped like any other.
    assert "\\<script>alert(1)\\</script>\\|\\`x\\`\\*\\_\\[a\\](b)\\\\n\"'.env:1" in text
    assert r"**Note:** \# not a heading" in text


def _rows_after(lines: list[str], start: int) -> Iterator[str]:
    for line in lines[start + 1 :]:
        if not line.startswith("|"):
            return
        yield line


# End to end: a real repository, verified against the fake API


def _audit(cli: CliRun, repo: Repo, out: Path) -> Result:
    """Builds a history with a live, a revoked and an unpaired key; writes the report."""
    repo.write("prod.env", f"NEXPAY_CLIENT_ID={LIVE_CID}\nNEXPAY_SECRET={LIVE_SK}\n")
    repo.commit("add production config")
    repo.write("old.env", f"NEXPAY_CLIENT_ID={REVOKED_CID}\nNEXPAY_SECRET={REVOKED_SK}\n")
    repo.write("lonely.env", f"NEXPAY_SECRET={UNPAIRED_SK}\n")
    repo.write(ODD_NAME, f"export NEXPAY_SECRET={LIVE_SK}\n")
    repo.commit("add staging config and docs")
    (repo.path / "old.env").unlink()
    repo.commit("drop old config")
    with FakeNexpay() as api:
        api.live(LIVE_CID, LIVE_SK, ACCOUNT)  # every other pair answers 401
        run = cli(
            "history",
            "--repo",
            str(repo.path),
            "--quiet",
            "--verify",
            "--api-base",
            api.base_url,
            "--report",
            str(out),
        )
    assert run.code == 1, run.err
    assert out.is_file()
    return run


def _assert_no_full_key(text: str) -> None:
    for value in (LIVE_CID, LIVE_SK, REVOKED_CID, REVOKED_SK, UNPAIRED_SK):
        assert value not in text


def _assert_live_first(text: str) -> None:
    """The live key and its account come before either revoked key, wherever shown."""
    live, email, revoked, unpaired = _positions(
        text, [redact(LIVE_SK), ACCOUNT["email"], redact(REVOKED_SK), redact(UNPAIRED_SK)]
    )
    assert live < revoked and live < unpaired
    assert email < revoked and email < unpaired


@pytest.mark.parametrize("suffix", [".html", ".md"])
def test_history_report_end_to_end(cli: CliRun, repo: Repo, tmp_path: Path, suffix: str) -> None:
    out = tmp_path / f"audit{suffix}"
    _audit(cli, repo, out)
    text = out.read_text(encoding="utf-8")
    _assert_no_full_key(text)
    _assert_live_first(text)
    assert "Still present" in text
    assert "in the files of no branch or tag tip" in text  # old.env is gone everywhere
    assert "Ada Author" in text and "2024-01-01 12:00+00:00" in text
    assert "prod.env:2" in text  # the live key's two places
    assert re.search(r"setup.{1,20}notes\.md:1", text)
    if suffix == ".html":
        assert_self_contained(text)


# In a browser


@pytest.fixture(scope="session")
def chromium() -> str:
    """Debian's chromium: CI must have it (tests/chromium.sh installs it); a developer's
    machine may not."""
    found = shutil.which("chromium")
    if found is None:
        message = "chromium not found on PATH: run tests/chromium.sh"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(message)
        pytest.skip(message)
    return found


def test_html_report_shows_the_live_key_first_in_chromium(
    cli: CliRun, repo: Repo, tmp_path: Path, chromium: str
) -> None:
    page = tmp_path / "audit.html"
    _audit(cli, repo, page)
    png = tmp_path / "audit.png"
    _screenshot(chromium, page, png, tmp_path / "profile-shot")
    assert _png_size(png) == WINDOW
    with _devtools(chromium, tmp_path / "profile-text") as browser:
        requests, shown = browser.render(page.as_uri())
    assert requests == [page.as_uri()]  # the page loaded nothing else
    text = shown["text"]
    _assert_live_first(text)
    _assert_no_full_key(text)
    assert "Still present" in text
    assert "LIVE" in text and "REVOKED" in text
    assert f"{ODD_NAME}:1" in text  # escaped markup shows as the file's name
    assert 0 <= shown["liveTop"] < WINDOW[1]  # so the screenshot shows the live key
    # the timeline: a bar per key, drawn (not zero-sized), live first; old.env's keys left
    bars = shown["timeline"]
    assert bars and all(bar["width"] > 0 and bar["height"] > 0 for bar in bars)
    assert bars[0]["status"] == "lane live" and "still present" in bars[0]["tip"]
    assert any("left the tips" in bar["tip"] for bar in bars)


def _screenshot(chromium: str, page: Path, png: Path, profile: Path) -> None:
    """Takes a screenshot the way the issue's probe does."""
    argv = [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", f"--screenshot={png}"]
    done = subprocess.run(
        [*argv, page.as_uri()], capture_output=True, timeout=CHROMIUM_SECONDS, check=False
    )
    assert done.returncode == 0, done.stderr.decode(errors="replace")[-2000:]


def _png_size(png: Path) -> tuple[int, int]:
    """Width and height of a PNG, after checking it is a real image of a page: decodable,
    and with more than a few distinct rows (a blank page has one)."""
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    chunks: dict[bytes, bytes] = {}
    at = 8
    while at < len(data):
        (length,) = struct.unpack(">I", data[at : at + 4])
        kind = data[at + 4 : at + 8]
        chunks[kind] = chunks.get(kind, b"") + data[at + 8 : at + 8 + length]
        at += 12 + length
    width, height, depth, color = struct.unpack(">IIBB", chunks[b"IHDR"][:10])
    channels = {0: 1, 2: 3, 4: 2, 6: 4}[color]
    pixels = zlib.decompress(chunks[b"IDAT"])
    stride = 1 + width * channels * depth // 8
    assert len(pixels) == stride * height
    rows = {pixels[i + 1 : i + stride] for i in range(0, len(pixels), stride)}
    assert len(rows) > 50, "the screenshot is (nearly) blank"
    return width, height


# The DevTools protocol over a pipe: no port, no websocket library


_RENDERED = """JSON.stringify({
  text: document.body.innerText,
  liveTop: document.querySelector("article.live").getBoundingClientRect().top,
  timeline: Array.from(document.querySelectorAll("#timeline svg rect.lane")).map((bar) => {
    const box = bar.getBoundingClientRect();
    return {status: bar.getAttribute("class"), width: box.width, height: box.height,
            tip: bar.parentNode.querySelector("title").textContent};
  }),
})"""


class DevTools:
    """One headless Chromium driven over `--remote-debugging-pipe`: commands go to its
    fd 3 and answers come from its fd 4, each a JSON message ended by a NUL byte."""

    def __init__(self, chromium: str, profile: Path, log: Path) -> None:
        to_child, self._send = _pipe()
        self._receive, from_child = _pipe()
        argv = [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}"]
        self.pid = os.posix_spawn(
            chromium,
            [*argv, "--remote-debugging-pipe", "about:blank"],
            dict(os.environ),
            file_actions=[
                (os.POSIX_SPAWN_DUP2, to_child, 3),
                (os.POSIX_SPAWN_DUP2, from_child, 4),
                (os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0),
                (os.POSIX_SPAWN_OPEN, 2, str(log), os.O_WRONLY | os.O_CREAT, 0o600),
            ],
        )
        os.close(to_child)
        os.close(from_child)
        self.deadline = time.monotonic() + CHROMIUM_SECONDS
        self.events: list[dict[str, Any]] = []
        self._buffer = b""
        self._last_id = 0

    def render(self, url: str) -> tuple[list[str], dict[str, Any]]:
        """Opens `url` in a window of WINDOW's size; returns the URLs it requested and
        what `_RENDERED` says about the page once it has loaded."""
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})
        tab = session["sessionId"]
        self.call("Network.enable", session=tab)
        self.call("Page.enable", session=tab)
        width, height = WINDOW
        metrics = {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False}
        self.call("Emulation.setDeviceMetricsOverride", metrics, session=tab)
        self.call("Page.navigate", {"url": url}, session=tab)
        self.wait_for("Page.loadEventFired")
        expression = {"expression": _RENDERED, "returnByValue": True}
        answer = self.call("Runtime.evaluate", expression, session=tab)
        assert "exceptionDetails" not in answer, answer
        requests = [
            e["params"]["request"]["url"]
            for e in self.events
            if e.get("method") == "Network.requestWillBeSent"
        ]
        return requests, dict(json.loads(answer["result"]["value"]))

    def call(self, method: str, params: dict[str, Any] | None = None, session: str = "") -> Any:
        """Sends one command and returns its result; events that come first are kept."""
        self._last_id += 1
        message: dict[str, Any] = {"id": self._last_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        data = json.dumps(message).encode() + b"\0"
        while data:
            data = data[os.write(self._send, data) :]
        while True:
            reply = self._next()
            if reply.get("id") == self._last_id:
                assert "error" not in reply, (method, reply["error"])
                return reply["result"]
            self.events.append(reply)

    def wait_for(self, event: str) -> None:
        while not any(e.get("method") == event for e in self.events):
            self.events.append(self._next())

    def _next(self) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            left = self.deadline - time.monotonic()
            if not select.select([self._receive], [], [], max(left, 0))[0]:
                raise TimeoutError("chromium did not answer over DevTools in time")
            chunk = os.read(self._receive, 1 << 16)
            if not chunk:
                raise EOFError("chromium closed the DevTools pipe")
            self._buffer += chunk
        message, _, self._buffer = self._buffer.partition(b"\0")
        return dict(json.loads(message))

    def close(self) -> None:
        """Asks the browser to quit; kills it (and only it) if it does not."""
        with suppress(OSError, EOFError, TimeoutError):
            self.deadline = min(self.deadline, time.monotonic() + 5)
            self.call("Browser.close")
        os.close(self._send)
        os.close(self._receive)
        stop = time.monotonic() + 10
        while os.waitpid(self.pid, os.WNOHANG) == (0, 0):
            if time.monotonic() > stop:
                os.kill(self.pid, signal.SIGKILL)
                os.waitpid(self.pid, 0)
                return
            time.sleep(0.05)


def _pipe() -> tuple[int, int]:
    """A pipe whose ends are above fd 4, so that dup2 onto 3 and 4 cannot clobber them."""
    ends = []
    for end in os.pipe():
        ends.append(fcntl(end, F_DUPFD_CLOEXEC, 10))
        os.close(end)
    return ends[0], ends[1]


@contextmanager
def _devtools(chromium: str, profile: Path) -> Iterator[DevTools]:
    browser = DevTools(chromium, profile, profile.with_suffix(".log"))
    try:
        yield browser
    finally:
        browser.close()


def test_dates_in_the_report_are_for_people() -> None:
    when = datetime.datetime(2024, 1, 31, 12, 0, tzinfo=datetime.timezone.utc).isoformat()
    dated = _finding(secret(13), commit=Commit("ab" * 20, "A", "a@example.com", when))
    assert "2024-01-31 12:00+00:00" in render_markdown(_report([dated]), None)


@pytest.mark.parametrize("suffix", [".html", ".md"])
def test_a_report_on_keys_in_a_message_and_in_a_removed_file_named_with_spaces(
    cli: CliRun, repo: Repo, tmp_path: Path, suffix: str
) -> None:
    """Where a key still is at the tips is asked of git by `<tip>:<path>`: a commit
    message's place, "(commit message)", and a removed file named with spaces are names git
    answers "missing" for, with the spaces in the answer (the report failed with "internal
    error (ValueError)" on either)."""
    repo.write("a.txt", "start\n")
    repo.commit(f"deploy with {secret(801)}")
    repo.write("my old settings.py", f'NEXPAY_SECRET = "{secret(802)}"\n')
    repo.commit("add settings")
    (repo.path / "my old settings.py").unlink()
    repo.commit("drop settings")
    text = audit_report(cli, repo.path, tmp_path / f"audit{suffix}")
    assert redact(secret(801)) in text and redact(secret(802)) in text
    assert secret(801) not in text and secret(802) not in text
    assert text.count("in the files of no branch or tag tip") == 2


def test_where_a_key_still_is_in_files_named_with_a_newline_or_not_utf8(
    cli: CliRun, repo: Repo, tmp_path: Path
) -> None:
    """Whether a key is still at HEAD and at which tips is asked of git by `<tip>:<path>`,
    one name a line: a path holding a newline was never asked (its key was said to be in
    no tip's files), and one whose bytes are not UTF-8 made the report fail with
    "internal error (UnicodeEncodeError)"."""
    kept, moved = secret(803), secret(804)
    repo.write("odd\nname.env", f"NEXPAY_SECRET={kept}\n")
    repo.write(os.fsdecode(b"caf\xe9.env"), f"NEXPAY_SECRET={moved}\n")
    repo.commit("settings")
    repo.git("branch", "feature")
    (repo.path / os.fsdecode(b"caf\xe9.env")).unlink()
    repo.commit("drop the old settings")
    text = audit_report(cli, repo.path, tmp_path / "audit.md")
    assert kept not in text and moved not in text
    rows = {key: _glance_row(text, redact(key)) for key in (kept, moved)}
    assert "| feature, main |" in rows[kept]  # HEAD's branch and the other
    assert "| feature |" in rows[moved]  # only the branch that kept the file
    assert "in the files of no branch or tag tip" not in text


def _glance_row(text: str, shown: str) -> str:
    """The row of a Markdown report's "Keys at a glance" for the key shown as `shown`."""
    return next(line for line in text.splitlines() if line.startswith("|") and shown in line)


def test_each_tip_is_named_with_the_keys_its_files_hold(
    cli: CliRun, repo: Repo, tmp_path: Path
) -> None:
    """What each tip holds at each path is asked in one git call and each version read
    once: the keys still come out tied to the tips that hold them, and a key no tip
    holds to the commit that took it out."""
    first, second, dropped = secret(805), secret(806), secret(807)
    repo.write("app.env", f"NEXPAY_SECRET={first}\n")
    repo.write("old.env", f"NEXPAY_SECRET={dropped}\n")
    repo.commit("first key")
    repo.git("tag", "v1")
    repo.write("gone.env", f"NEXPAY_SECRET={secret(808)}\n")
    repo.commit("a key for a while")
    repo.write("app.env", f"NEXPAY_SECRET={second}\n")
    for name in ("old.env", "gone.env"):
        (repo.path / name).unlink()
    repo.commit("second key, old settings gone")
    repo.git("tag", "-a", "-m", "second", "v2")
    repo.write("app.env", "NEXPAY_SECRET=${NEXPAY_SECRET}\n")
    repo.commit("keys from the environment")
    text = audit_report(cli, repo.path, tmp_path / "audit.md")
    assert "| v1 |" in _glance_row(text, redact(first))
    assert "| v2 |" in _glance_row(text, redact(second))
    assert "| v1 |" in _glance_row(text, redact(dropped))  # v1 still has old.env
    assert text.count("left the tips") == 1  # gone.env's key: in no tip's files


def test_a_key_a_merge_takes_out_left_the_tips_at_the_merge(
    cli: CliRun, repo: Repo, tmp_path: Path
) -> None:
    """A merge that resolves a file to a version without the key (by hand, or taking the
    other side's) takes it out of the tips: the date it left is the merge's. `git log`
    shows no merge's changes unless asked, so the key had no date ("date unknown")."""
    key = secret(809)
    repo.write("app.env", f"NEXPAY_SECRET={key}\n")
    repo.commit("a key")
    repo.merge_started({"feature.txt": "work\n"}, {"main.txt": "work\n"}, branch="feature")
    repo.write("app.env", "NEXPAY_SECRET=${NEXPAY_SECRET}\n")
    merge = repo.commit("merge feature, the key from the environment")
    repo.git("branch", "-D", "feature")
    date = repo.git("log", "-1", "--format=%aI", merge).strip()[:10]
    text = audit_report(cli, repo.path, tmp_path / "audit.md")
    assert f"left the tips {date}" in text
    assert "date unknown" not in text
