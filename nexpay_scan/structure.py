"""What names a value: the structure around a credential-shaped value, read from bytes.

A legacy Nexpay key has no prefix, so it is Nexpay's only when the name it is assigned to,
a key that holds it or the request that uses it names Nexpay (the contract). That is
structure, not distance: `nexpay:` five YAML levels up names a value, `NEXPAY_SECRET=` on
the line above a `SESSION_SECRET=` does not.

Nothing here parses a whole file. Each question walks back from the value over the
structure that encloses it, with a bound, and what costs a pass over the content (brackets,
`[section]` headers, `###` request separators, where a pattern occurs) is worked out once per
content and cached (`outline`), so a file with a million candidates costs a few passes, not
a million. Whatever the bytes, nothing here raises.

The name path of a value, innermost first (`naming`):

- its own name: `NEXPAY_SECRET=`, `"secret": `, `secret: `, `secret="…"` (a keyword
  argument, an XML attribute), `<secret>…` (an XML element), `X-Nexpay-Key: `, `--secret `,
  `ENV NEXPAY_SECRET `, `.netrc`'s `login`/`password`; an auth scheme (`ApiKey`, `Basic`,
  `Bearer`) and a client ID before `:` are looked through;
- a sibling that names a generic `value`/`default` (`{"key": "NEXPAY_SECRET", "value": …}`,
  `- name: NEXPAY_SECRET` / `value: …`, `<add key="NexpaySecret" value="…"/>`);
- the enclosing blocks by indentation (YAML keys, `class NexpayConfig:`), the enclosing
  brackets and what stands before each (`"nexpay": {`, `variable "nexpay_secret" {`,
  `nexpay.Client(`), enclosing XML elements;
- the INI/TOML `[section]` above, the `.netrc` `machine`, a CSV column header, a SQL
  `COPY`/`INSERT` column and table.

The request a value belongs to (`scopes`): its logical line (backslash continuations
joined), the innermost enclosing brackets (a HAR or Postman request object, a `fetch(…)`
call, however long), and the `###` block of an `.http` file (a Bruno `.bru` file is one
request).
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from itertools import pairwise

from nexpay_scan.records import Record

TYPE_CHECKING = False  # typing is not imported on the hook's path (start-up time)
if TYPE_CHECKING:
    from collections.abc import Iterator
    from typing import Any

MAX_NAME = 200  # bytes kept of one name
MAX_NAMES = 16  # names in one path
OWN_REACH = 256  # bytes left of a value looked at for its own name
LINE_SCOPE = 4096  # a longer line (a minified bundle) is no request scope of its own
CONTINUATIONS = 50  # backslash-continued lines joined into one logical line
PARENT_STEPS = 4096  # lines walked up for one indentation parent (jumps are memoised)
PARENT_LEVELS = 12  # indentation parents looked at
INDEX_SPAN = 8 << 20  # bytes of content one bracket index covers
MAX_BRACKETS = 1 << 19  # brackets one index remembers
GROUP_NAMES = 8  # enclosing brackets whose labels name a value
GROUP_SCOPES = 3  # enclosing brackets that count as the value's request
SIBLING_REACH = 2048  # a sibling `name`/`key` is looked for in a group this small
MAX_HITS = 100_000  # occurrences of a request pattern remembered (more: found everywhere)

# Names that say nothing by themselves: the sibling or the enclosing key names the value.
GENERIC_NAMES = frozenset(
    {b"value", b"default", b"val", b"v", b"data", b"content", b"text", b"raw", b"string"}
)
_AUTH_SCHEMES = (b"apikey", b"basic", b"bearer", b"token", b"key", b"digest")
_NAME_BYTES = frozenset(
    b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-$@[]'\"/"
)
_WORD_BYTES = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")
_QUOTES = b"\"'`\\"
_BLANKS = b" \t"
# skipped between a value and its name as quotes are: stray bytes of broken text
_STRAY = bytes(range(0x80, 0x100))
LINE_REACH = 4096  # bytes looked at either way for the ends of a value's line
LINE_NAME = 400  # a line this short that holds the value names it (the line that uses it)
COMMENT_LINES = 3  # comment lines directly above a declaration that name it
_COMMENT_STARTS = (b"#", b"//", b"--", b";", b"/*", b"*", b"<!--", b"%", b"'")
_PROVIDER = re.compile(
    rb"(?im)^[ \t]*[\"']?(?:provider|vendor|service|gateway)[\"']?[ \t]*[:=][ \t]*"
    rb"[\"']?([^\s\"'#;,]{1,100})"
)
_TOKEN_BYTES = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")
# Words that name a value separated from it by blanks only (`.netrc`, `ENV NAME value`).
_BLANK_NAMED = re.compile(
    rb"(?:--?[A-Za-z][\w-]*|[A-Z][A-Z0-9_]{2,}|login|password|passwd|user|username|account)"
)
_DIGEST_PREFIX = re.compile(rb"(?i)(?:sha(?:1|224|256|384|512)|md5|h1|blake2b?|sha3-\d+)[-=:]\Z")
_SIBLING = re.compile(
    rb"""(?i)["']?\b(?:name|key|id)["']?[ \t]*[:=][ \t]*\\?["']([^"'\\\n]{1,200})\\?["']"""
)
_BRACKETS = re.compile(rb'"[^"\n]*"|[{}()\[\]]')
_XML_BRACKETS = re.compile(
    rb'"[^"\n]*"|[{}()\[\]]|<(/?)([A-Za-z_][\w:.-]{0,100})([^<>]{0,4096}?)(/?)>'
)
_XML_TAG = re.compile(rb"<(/?)([A-Za-z_][\w:.-]{0,100})([^<>]{0,4096}?)(/?)>")
# a CSV header's field: a short name, no value-like text (`=`, `:`, long runs)
_HEADER_FIELD = re.compile(rb"[\w .\-\"'/()]{1,64}")
_SECTION = re.compile(rb"(?m)^\[\[?[ \t]*([\w.\-\" ]{1,200}?)[ \t]*\]\]?[ \t]*(?:[#;][^\n]*)?\r?$")
_MACHINE = re.compile(rb"(?:^|[ \t\n])(machine[ \t]+[^\s]{1,200}|default)(?=\s)")
_SEPARATOR = re.compile(rb"(?m)^###")
_REQUEST_FILE = re.compile(
    rb"(?m)^(?:(?:GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS)[ \t]+(?:https?://|\{\{)"
    rb"|(?:get|post|put|patch|delete|head|options)[ \t]*\{)"
)
_SQL_STRING = re.compile(rb"'[^']*'")
_COPY = re.compile(
    rb"(?m)^COPY[ \t]+([\w.\"]{1,200})[ \t]*\(([^)\n]{1,4096})\)[ \t]+FROM[ \t]+stdin"
)
_INSERT = re.compile(
    rb"(?i)INSERT[ \t]+INTO[ \t]+([\w.`\"\[\]]{1,200})[ \t]*(?:\(([^)\n]{1,4096})\))?[ \t]*VALUES"
)


class Naming(Record):
    """What names a value: its name path, innermost first (generic words such as `value`
    left out), the spans of the request it belongs to, and the auth scheme that carries
    it (`apikey`, `basic`; empty when none)."""

    names: tuple[bytes, ...]
    scopes: tuple[tuple[int, int], ...]
    scheme: bytes = b""
    own: bool = False  # the value has a name of its own (on its line, or a sibling's)
    specific: bytes | None = None  # the nearest name that says what the value is


# -- placeholders and longer tokens ----------------------------------------------------


def is_plain_run(text: str) -> bool:
    """True when `text` (a key's random part, prefix and dashes aside) is mostly one
    repeated character or a plain run up or down (`AAAA…`, `0123…`, `xxxx…`, the UUID
    `12345678-1234-…`): a placeholder, whatever its checksum. A random key's neighbours
    are equal or adjacent about one time in twenty; a placeholder's, nearly always."""
    chars = [c for c in text if c.isalnum()]
    if len(chars) < 8:
        return False
    steps = sum(1 for a, b in pairwise(chars) if -1 <= ord(b) - ord(a) <= 1)
    return steps * 5 >= (len(chars) - 1) * 3


def in_longer_token(data: bytes, start: int, end: int) -> str | None:
    """Why `data[start:end]` is a piece of a longer token and no key of its own (a dotted
    vendor token or JWT, a package digest, base64 text), or None when it stands alone."""
    before = data[start - 1 : start] if start > 0 else b""
    after = data[end : end + 1]
    if before == b"." and start > 1 and data[start - 2] in _TOKEN_BYTES:
        return "part of a dotted token (a vendor token, a JWT)"
    if after == b"." and data[end + 1 : end + 2] and data[end + 1] in _TOKEN_BYTES:
        return "part of a dotted token (a vendor token, a JWT)"
    if _DIGEST_PREFIX.search(data[max(0, start - 12) : start]):
        return "a digest (a lock file's integrity, a wheel's RECORD)"
    if before in (b"+", b"/") or after in (b"+", b"/", b"="):
        return "part of a longer token (base64 text, decoded and scanned as such; a path)"
    return None


# -- the per-content outline ------------------------------------------------------------


class _Groups:
    """Brackets (and XML elements) of `data[low:high]`, matched once: for each opening,
    where it closes and which opening encloses it."""

    __slots__ = ("closes", "high", "low", "opens", "parents", "tags")

    def __init__(self, data: bytes, low: int, high: int, xml: bool) -> None:
        self.low, self.high = low, high
        self.opens: list[int] = []
        self.closes: list[int] = []
        self.parents: list[int] = []
        self.tags: dict[int, bytes] = {}  # index of an opening XML element -> its name
        stack: list[tuple[int, bytes]] = []  # (index, closing byte or b"</name")
        pairs = {b"{": b"}", b"(": b")", b"[": b"]"}
        pattern = _XML_BRACKETS if xml else _BRACKETS
        for match in pattern.finditer(data, low, high):
            token = match.group()
            first = token[:1]
            if first == b'"':
                continue
            if first == b"<":
                closing, name, attributes, selfclosing = match.group(1, 2, 3, 4)
                if selfclosing:
                    continue
                if closing:
                    self._close(stack, b"</" + name, match.start())
                else:
                    index = self._open(stack, match.start(), b"</" + name)
                    if index >= 0:
                        self.tags[index] = (name + attributes)[:MAX_NAME]
                continue
            if first in pairs:
                self._open(stack, match.start(), pairs[first])
            else:
                self._close(stack, first, match.start())

    def _open(self, stack: list[tuple[int, bytes]], at: int, closer: bytes) -> int:
        if len(self.opens) >= MAX_BRACKETS:
            return -1
        index = len(self.opens)
        self.opens.append(at)
        self.closes.append(self.high)  # unclosed: open to the end of what is indexed
        self.parents.append(stack[-1][0] if stack else -1)
        stack.append((index, closer))
        return index

    def _close(self, stack: list[tuple[int, bytes]], closer: bytes, at: int) -> None:
        # a stray closer is ignored; one that closes an outer group closes what it holds
        for depth in range(len(stack) - 1, max(-1, len(stack) - 65), -1):
            if stack[depth][1] == closer:
                for index, _ in stack[depth:]:
                    self.closes[index] = at
                del stack[depth:]
                return

    def enclosing(self, offset: int) -> Iterator[int]:
        """Indexes of the openings that enclose `offset`, innermost first."""
        index = bisect_left(self.opens, offset) - 1
        steps = 0
        while index >= 0 and steps < 4096:
            steps += 1
            if self.closes[index] > offset:
                yield index
                index = self.parents[index]
            else:
                # a closed sibling: its parent may still enclose `offset`
                parent = self.parents[index]
                index = parent if parent >= 0 and self.closes[parent] > offset else index - 1


class Outline:
    """What one content's structure answers, worked out on the first question and kept."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self._groups: _Groups | None = None
        self._xml: bool | None = None
        self._parents: dict[int, int] = {}
        self._found: dict[bytes, list[tuple[int, bytes]]] = {}
        self._hits: dict[int, tuple[object, list[int] | None]] = {}
        self._request_file: bool | None = None
        self._copy_ends: dict[int, int] = {}
        self._header: tuple[bytes, list[bytes]] | tuple[()] | None = None

    def groups(self, offset: int) -> _Groups:
        """The bracket index that covers `offset` (one window of INDEX_SPAN at a time)."""
        held = self._groups
        if held is not None and held.low <= offset < held.high:
            return held
        low = 0 if len(self.data) <= INDEX_SPAN else max(0, offset - INDEX_SPAN // 2)
        self._groups = _Groups(self.data, low, min(len(self.data), low + INDEX_SPAN), self.xml)
        return self._groups

    @property
    def xml(self) -> bool:
        """True when the content reads as XML or HTML (its first non-blank byte is `<`)."""
        if self._xml is None:
            self._xml = self.data[:4096].lstrip()[:1] == b"<"
        return self._xml

    @property
    def header(self) -> tuple[bytes, list[bytes]] | None:
        """The CSV header of the content (its first line: short names between `,`, tabs or
        `;`) and its delimiter, or None."""
        if self._header is None:
            self._header = _csv_header(self.data)
        return self._header or None

    @property
    def request_file(self) -> bool:
        """True for an `.http` / REST-client file or a Bruno request: a request line."""
        if self._request_file is None:
            self._request_file = _REQUEST_FILE.search(self.data) is not None
        return self._request_file

    def found(self, what: bytes, pattern: re.Pattern[bytes]) -> list[tuple[int, bytes]]:
        """Offsets and first groups of `pattern`'s matches in the content, found once."""
        if what not in self._found:
            found = []
            for match in pattern.finditer(self.data):
                found.append((match.start(), (match.group(1) if pattern.groups else b"") or b""))
                if len(found) >= MAX_HITS:
                    break
            self._found[what] = found
        return self._found[what]

    def hits(self, pattern: re.Pattern[bytes], trusted: bool = True) -> list[int] | None:
        """Where `pattern` matches in the content, found once; None when there are too many
        to list, or a repository's pattern ran out of time: taken as everywhere."""
        held = self._hits.get(id(pattern))
        if held is None or held[0] is not pattern:
            held = (pattern, _offsets(pattern, self.data, trusted))
            self._hits[id(pattern)] = held
        return held[1]

    def parent_line(self, start: int) -> int:
        """Where the nearest line above the one starting at `start` that is indented less
        starts (blank and comment lines aside), or -1. Memoised, and a line indented as
        much or more whose parent is known is jumped over to that parent (nothing between
        can be indented less), so walking up a long block costs its length once."""
        known = self._parents.get(start)
        if known is not None:
            return known
        data, memo = self.data, self._parents
        indent = _indent(data, start)
        at, found = start, -1
        for _ in range(PARENT_STEPS):
            if at <= 0:
                break
            above = _line_start(data, at - 1)
            if above < 0:
                break  # a line longer than LINE_REACH: no block structure to walk
            if not _content(data, above):
                at = above
                continue
            if _indent(data, above) < indent:
                found = above
                break
            jump = memo.get(above)
            if jump is None:
                at = above
            elif jump < 0:
                break
            elif _indent(data, jump) < indent:
                found = jump
                break
            else:
                at = jump
        memo[start] = found
        return found

    def copy_end(self, start: int) -> int:
        """Where the SQL `COPY` block whose header is at `start` ends (its `\\.` line)."""
        held = self._copy_ends.get(start)
        if held is None:
            held = self.data.find(b"\n\\.", start)
            held = len(self.data) if held < 0 else held
            self._copy_ends[start] = held
        return held


def _offsets(pattern: re.Pattern[bytes], data: bytes, trusted: bool) -> list[int] | None:
    found: list[int] = []
    # a repository's pattern compiles with `regex`, whose finditer takes a time limit
    options = {} if trusted else {"timeout": MATCH_TIMEOUT_SECONDS}
    finditer: Any = pattern.finditer
    try:
        for match in finditer(data, **options):
            found.append(match.start())
            if len(found) >= MAX_HITS:
                return None
    except TimeoutError:
        return None
    return found


_last: list[Outline] = []
_fed: list[tuple[bytes, bytes]] = []
_LONE_CR = re.compile(rb"\r(?!\n)")


def _with_line_feeds(data: bytes) -> bytes:
    """`data` with each lone CR (old Mac line ends) read as LF, offsets unchanged: lines are
    lines whatever their ending. Made once for the same bytes, however many values in them
    are asked about."""
    if _fed and _fed[0][0] is data:
        return _fed[0][1]
    fed = _LONE_CR.sub(b"\n", data) if b"\r" in data else data
    _fed[:] = [(data, fed)]
    return fed


def outline(data: bytes) -> Outline:
    """The outline of `data`, kept for as long as the same bytes are asked about."""
    if _last and _last[0].data is data:
        return _last[0]
    held = Outline(data)
    _last[:] = [held]
    return held


# -- names ---------------------------------------------------------------------------


def naming(data: bytes, start: int, end: int) -> Naming:
    """The names and the request scopes of the value at `data[start:end]`."""
    try:
        return _naming(outline(data), start, end)
    except (IndexError, ValueError, RecursionError):  # pragma: no cover - belt and braces
        return Naming((), (), b"", False, None)


def _naming(shape: Outline, start: int, end: int) -> Naming:
    data = shape.data
    line_start = max(_line_start(data, start), max(0, start - LINE_REACH))
    groups = shape.groups(start)
    enclosing = list(_first(groups.enclosing(start), GROUP_NAMES))
    # the value's own name: what it is assigned to, else a sibling `name`/`key`
    own = own_name(data, line_start, start)
    if own is None or _generic(own):
        own = _sibling(data, groups, enclosing, line_start, start, end) or own
    first = [own] if own is not None else []
    columns = _column_names(shape, line_start, start, groups, enclosing)
    labels = [_group_label(data, groups, index, start) for index in enclosing]
    parents: list[bytes] = []
    at = line_start
    for _ in range(PARENT_LEVELS):
        at = shape.parent_line(at)
        if at < 0:
            break
        parents.append(_line_key(data, at))
    # the line that uses the value, and a comment over it (or over the statement it is in)
    line_end = _line_end(data, end)
    nearby = [data[line_start:line_end]] if line_end - line_start <= LINE_NAME else []
    nearby.extend(_comments_above(data, line_start))
    if enclosing:
        opening = groups.opens[enclosing[0]]
        opened = _line_start(data, opening)
        if opened >= 0:
            nearby.extend(_comments_above(data, opened))
    section_at, section = _nearest_at(shape.found(b"section", _SECTION), start)
    outer = [section] if section else []
    parent = shape.parent_line(line_start)
    outer.extend(_providers(data, groups, enclosing, parent, section_at, start))
    if own is not None and own.lower() in (b"login", b"password", b"account"):
        machine = _nearest(shape.found(b"machine", _MACHINE), start)
        if machine:
            outer.append(machine)
    names = [*first, *columns, *nearby, *labels, *parents, *outer]
    kept = tuple(_clean(n) for n in names if n and not _generic(n))[:MAX_NAMES]
    # what a client ID must be named as: its own name, else its column, the call it is
    # passed to, the block it is in
    specific = [n for n in (*first, *columns, *labels[:1], *parents[:1]) if n and not _generic(n)]
    scopes = _scopes(shape, groups, enclosing, line_start, start, end)
    return Naming(
        kept,
        scopes,
        scheme_before(data, line_start, start),
        bool(first and not _generic(first[0])),
        _clean(specific[0]) if specific else None,
    )


def own_name(data: bytes, line_start: int, start: int) -> bytes | None:
    """The name the value at `start` is assigned to on its own line, or None: the text left
    of `=`, `:`, `=>`, `:=` (quotes, an auth scheme and a `client_id:` before a secret
    looked through), an XML element's name, or a word that names what follows it."""
    floor = max(line_start, start - OWN_REACH)
    at = _skip_scheme(data, _skip_back(data, start, floor, _QUOTES + _BLANKS + _STRAY), floor)
    # `<uuid>:<secret>`: the secret is named by what names the pair
    if at - 37 >= floor and data[at - 1 : at] == b":" and _is_uuid(data[at - 37 : at - 1]):
        at = _skip_back(data, at - 37, floor, _QUOTES + _BLANKS)
        at = _skip_scheme(data, at, floor)
    if at <= floor:
        return None
    if data[at - 1 : at] == b">" and data[at - 2 : at - 1] not in (b"=", b"-"):
        return _element_name(data, at - 1, floor)
    operator = _operator_before(data, at, floor)
    if operator < 0:
        return _blank_named(data, at, floor) if at < start else None
    stop = _skip_back(data, operator, floor, _BLANKS + _QUOTES)
    begin = stop
    while begin > floor and data[begin - 1] in _NAME_BYTES and stop - begin < MAX_NAME:
        begin -= 1
    return data[begin:stop] or None


def scheme_before(data: bytes, line_start: int, start: int) -> bytes:
    """The auth scheme (lower case) the value at `start` follows, directly or as the secret
    of a `client_id:secret` pair (`ApiKey <id>:<secret>`), or b"" when none."""
    floor = max(line_start, start - OWN_REACH)
    at = _skip_back(data, start, floor, _QUOTES + _BLANKS)
    if at - 37 >= floor and data[at - 1 : at] == b":" and _is_uuid(data[at - 37 : at - 1]):
        at = _skip_back(data, at - 37, floor, _QUOTES + _BLANKS)
    begin = at
    while begin > floor and data[begin - 1] in _WORD_BYTES:
        begin -= 1
    word = data[begin:at].lower()
    return word if word in _AUTH_SCHEMES and at < start else b""


def _skip_back(data: bytes, at: int, floor: int, skipped: bytes) -> int:
    while at > floor and data[at - 1] in skipped:
        at -= 1
    return at


def _skip_scheme(data: bytes, at: int, floor: int) -> int:
    """`at` moved left over an auth scheme word (`ApiKey `, `Basic `) that ends there and
    is followed by a blank, and over what quotes it."""
    begin = at
    while begin > floor and data[begin - 1] in _WORD_BYTES:
        begin -= 1
    if (
        begin < at
        and data[at : at + 1] in (b" ", b"\t")
        and data[begin:at].lower() in _AUTH_SCHEMES
    ):
        return _skip_back(data, begin, floor, _QUOTES + _BLANKS)
    return at


def _operator_before(data: bytes, at: int, floor: int) -> int:
    """Where the assignment operator that ends just before `at` starts, or -1."""
    if at - 2 >= floor and data[at - 2 : at] in (b"=>", b"->", b":=", b"?=", b"+="):
        return at - 2
    if at - 1 >= floor and data[at - 1 : at] in (b"=", b":"):
        return at - 1
    return -1


def _blank_named(data: bytes, at: int, floor: int) -> bytes | None:
    """`--secret VALUE`, `ENV NEXPAY_SECRET VALUE`, `.netrc`'s `password VALUE`: the word
    that ends at `at` (blanks after it were skipped), if it is one that names what follows."""
    begin = at
    while begin > floor and data[begin - 1] in _WORD_BYTES and at - begin < MAX_NAME:
        begin -= 1
    word = data[begin:at]
    return word if word and _BLANK_NAMED.fullmatch(word) else None


def _element_name(data: bytes, close: int, floor: int) -> bytes | None:
    """The name of the XML element whose opening tag ends at `close` (a `>`)."""
    opening = data.rfind(b"<", floor, close)
    if opening < 0:
        return None
    match = _XML_TAG.match(data, opening, close + 1)
    if match is None or match.group(1) or match.group(4):
        return None
    return match.group(2) + match.group(3)


def _is_uuid(text: bytes) -> bool:
    return (
        len(text) == 36
        and text[8:9] == text[13:14] == text[18:19] == text[23:24] == b"-"
        and not text.replace(b"-", b"").strip(b"0123456789abcdefABCDEF")
    )


def _generic(name: bytes) -> bool:
    return name.strip(b"\"'`:= \t").lower() in GENERIC_NAMES


def _clean(name: bytes) -> bytes:
    return name.strip(b" \t\r\"'`:=,;{[(")[:LINE_NAME]


def _first(items: Iterator[int], count: int) -> Iterator[int]:
    for number, item in enumerate(items):
        if number >= count:
            return
        yield item


def _sibling(
    data: bytes, groups: _Groups, enclosing: list[int], line_start: int, start: int, end: int
) -> bytes | None:
    """The `name`/`key`/`id` beside a value held as a generic `value`: in its innermost
    small bracket group or XML tag, else on its line (`- name: X` is above: see parents)."""
    # on its line: near it (a minified line holds many values, each with its own siblings)
    low, high = max(line_start, start - MAX_NAME), min(_line_end(data, end), end + MAX_NAME)
    if enclosing:
        index = enclosing[0]
        opening, closing = groups.opens[index], groups.closes[index]
        if closing - opening <= SIBLING_REACH:
            low, high = opening, closing
    tag = data.rfind(b"<", max(line_start, start - SIBLING_REACH), start)
    if tag >= 0 and data.find(b">", tag, start) < 0:
        low = tag
    for match in _SIBLING.finditer(data, low, min(high, low + SIBLING_REACH)):
        if not (match.start(1) <= start < match.end(1)):
            return match.group(1)
    return None


def _group_label(data: bytes, groups: _Groups, index: int, start: int) -> bytes:
    """What stands before an opening bracket on its line, back to the previous delimiter
    (`"nexpay": {`, `variable "nexpay_secret" {`, `nexpay.Client(`), with the arguments of
    a call before the value (`getenv("NEXPAY_SECRET", `); an XML element's name."""
    if index in groups.tags:
        return groups.tags[index]
    opening = groups.opens[index]
    floor = max(data.rfind(b"\n", max(0, opening - MAX_NAME), opening) + 1, opening - MAX_NAME)
    begin = opening
    while begin > floor and data[begin - 1] not in b",;{}[]()":
        begin -= 1
    label = data[begin:opening].strip()
    if data[opening : opening + 1] == b"(" and opening < start <= opening + MAX_NAME:
        label += data[opening:start]
    return label


def _line_key(data: bytes, start: int) -> bytes:
    """What names the block a line opens: a YAML key (`nexpay:`), a list item's whole
    `- name: X`, a `class`/`def` header, a `machine` line."""
    end = data.find(b"\n", start, start + 4 * MAX_NAME)
    text = data[start : (end if end >= 0 else start + 4 * MAX_NAME)].strip()
    if text.startswith(b"- "):
        return text[2:].strip()[:MAX_NAME]
    for mark in (b":", b"=", b"{"):
        cut = text.find(mark)
        if cut > 0:
            return text[:cut][:MAX_NAME]
    return text[:MAX_NAME]


def _nearest_at(found: list[tuple[int, bytes]], offset: int) -> tuple[int, bytes | None]:
    index = bisect_right(found, (offset, b"\xff")) - 1
    return found[index] if index >= 0 else (-1, None)


def _comments_above(data: bytes, line_start: int) -> list[bytes]:
    """The comment that heads the paragraph the line at `line_start` is in: comment lines
    directly above it, or above the few declarations before it with no blank line between
    (`// Nexpay v1 key` over `CLIENT_ID = ...` and `SECRET = ...`), nearest first."""
    comments: list[bytes] = []
    at, skipped = line_start, 0
    while at > 0 and len(comments) < COMMENT_LINES:
        above = data.rfind(b"\n", max(0, at - 1 - MAX_NAME), at - 1) + 1
        if above == 0 and at - 1 > MAX_NAME:
            break
        text = data[above : at - 1].strip()
        if text.startswith(b"###"):
            break  # an .http file's request separator: the request before is another
        if text.startswith(_COMMENT_STARTS):
            comments.append(text)
        elif comments or not text or skipped >= COMMENT_LINES:
            break
        else:
            skipped += 1  # a declaration of the same paragraph
        at = above
    return comments


def _providers(
    data: bytes, groups: _Groups, enclosing: list[int], parent: int, section: int, start: int
) -> list[bytes]:
    """A sibling that says whose credential the block holds (`provider = nexpay` in the
    same section, YAML block or object), between the block's start and the value."""
    starts = [section, parent]
    if enclosing:
        starts.append(groups.opens[enclosing[0]])
    begin = max(starts)
    if begin < 0:
        return []
    low = max(begin, start - SIBLING_REACH)
    return [m.group(1) for m in _PROVIDER.finditer(data, low, start)][:2]


def _nearest(found: list[tuple[int, bytes]], offset: int) -> bytes | None:
    index = bisect_right(found, (offset, b"\xff")) - 1
    return found[index][1] if index >= 0 else None


def _column_names(
    shape: Outline, line_start: int, start: int, groups: _Groups, enclosing: list[int]
) -> list[bytes]:
    """A CSV column header (the first line), a SQL `COPY` column, a SQL `INSERT` column."""
    data = shape.data
    names: list[bytes] = []
    copy = _nearest_match(shape, b"copy", _COPY, start)
    if copy is not None and shape.copy_end(copy.start()) > line_start:
        column = data.count(b"\t", line_start, start)
        names.extend(_field(copy.group(2), b",", column))
        names.append(copy.group(1))
    elif enclosing and data[groups.opens[enclosing[0]] : groups.opens[enclosing[0]] + 1] == b"(":
        opening = groups.opens[enclosing[0]]
        insert = _nearest_match(shape, b"insert", _INSERT, opening)
        if insert is not None and insert.end() <= opening and opening - insert.end() < 1 << 20:
            column = _top_level_commas(data, opening + 1, start)
            if insert.group(2):
                names.extend(_field(insert.group(2), b",", column))
            names.append(insert.group(1))
    header = shape.header
    if line_start > 0 and header is not None:
        delimiter, fields = header
        line = data[line_start : _line_end(data, start)]
        if line.count(delimiter) == len(fields) - 1:
            column = data.count(delimiter, line_start, start)
            names.extend(fields[column : column + 1])
    return names


def _csv_header(data: bytes) -> tuple[bytes, list[bytes]] | tuple[()]:
    end = data.find(b"\n", 0, 4096)
    if end <= 0:
        return ()
    header = data[:end].rstrip(b"\r")
    for delimiter in (b",", b"\t", b";"):
        if delimiter in header:
            fields = header.split(delimiter)
            if all(_HEADER_FIELD.fullmatch(field) for field in fields):
                return delimiter, [field.strip() for field in fields]
            return ()
    return ()


def _nearest_match(
    shape: Outline, what: bytes, pattern: re.Pattern[bytes], offset: int
) -> re.Match[bytes] | None:
    found = shape.found(what, pattern)
    index = bisect_left(found, (offset, b"")) - 1
    if index < 0:
        return None
    return pattern.match(shape.data, found[index][0])


def _field(text: bytes, delimiter: bytes, column: int) -> list[bytes]:
    fields = text.split(delimiter)
    return [fields[column].strip()] if 0 <= column < len(fields) else []


def _top_level_commas(data: bytes, begin: int, stop: int) -> int:
    """Commas in `data[begin:stop]` outside single-quoted SQL strings (LINE_REACH at most)."""
    text = data[max(begin, stop - LINE_REACH) : stop]
    return _SQL_STRING.sub(b"", text).count(b",")


def _line_start(data: bytes, offset: int) -> int:
    """Where the line holding `offset` starts, or -1 when that is more than LINE_REACH
    back (a minified line: its start says nothing, and finding it would cost the line)."""
    found = data.rfind(b"\n", max(0, offset - LINE_REACH), offset)
    if found >= 0 or offset <= LINE_REACH:
        return found + 1
    return -1


def _line_end(data: bytes, offset: int) -> int:
    """Where the line holding `offset` ends, LINE_REACH on at most."""
    found = data.find(b"\n", offset, offset + LINE_REACH)
    return found if found >= 0 else min(len(data), offset + LINE_REACH)


def _indent(data: bytes, start: int) -> int:
    at = start
    while at < len(data) and data[at] in b" \t":
        at += 1
    # a list item's own keys sit past its dash: `- name: X` opens what `  value:` is in
    return at - start


def _content(data: bytes, start: int) -> bool:
    """True for a line that can open a block: not blank, not a comment."""
    end = data.find(b"\n", start, start + 64)
    head = data[start : end if end >= 0 else start + 64].lstrip(b" \t\r")
    return bool(head) and not head.startswith((b"#", b"//", b";", b"--", b"/*", b"*", b"<!--"))


# -- request scopes ----------------------------------------------------------------------


def _scopes(
    shape: Outline, groups: _Groups, enclosing: list[int], line_start: int, start: int, end: int
) -> tuple[tuple[int, int], ...]:
    data = shape.data
    scopes: list[tuple[int, int]] = []
    first, last = _logical_line(data, line_start, end)
    if last - first <= LINE_SCOPE:
        scopes.append((first, last))
    for index in enclosing[:GROUP_SCOPES]:
        scopes.append((groups.opens[index], groups.closes[index]))
    if shape.request_file:
        separators = shape.found(b"separator", _SEPARATOR)
        index = bisect_right(separators, (start, b"\xff"))
        low = separators[index - 1][0] if index > 0 else 0
        high = separators[index][0] if index < len(separators) else len(data)
        scopes.append((low, high))
    return tuple(scopes)


def _logical_line(data: bytes, line_start: int, end: int) -> tuple[int, int]:
    """The line holding the value, joined with the lines a trailing backslash continues."""
    first = line_start
    for _ in range(CONTINUATIONS):
        if first == 0 or data[max(0, first - 3) : first - 1].rstrip(b"\r")[-1:] != b"\\":
            break
        first = max(0, _line_start(data, first - 1))
    last = data.find(b"\n", end, end + LINE_REACH)
    for _ in range(CONTINUATIONS):
        if last < 0 or data[max(0, last - 2) : last].rstrip(b"\r")[-1:] != b"\\":
            break
        last = data.find(b"\n", last + 1, last + 1 + LINE_REACH)
    return first, (len(data) if last < 0 else last)


def scope_mentions(
    data: bytes,
    scopes: tuple[tuple[int, int], ...],
    pattern: re.Pattern[bytes],
    trusted: bool = True,
) -> bool:
    """True when `pattern` occurs within one of `scopes` of `data` (found once per content)."""
    hits = outline(data).hits(pattern, trusted)
    if hits is None:
        return True  # too many to list (or out of time): taken as everywhere
    for low, high in scopes:
        index = bisect_left(hits, low)
        if index < len(hits) and hits[index] < high:
            return True
    return False


def mentions(data: bytes, pattern: re.Pattern[bytes], trusted: bool = True) -> bool:
    """True when `pattern` occurs anywhere in `data` (found once per content)."""
    hits = outline(data).hits(pattern, trusted)
    return hits is None or bool(hits)


# -- the decision a rule asks for ----------------------------------------------------------

MATCH_TIMEOUT_SECONDS = 2.0  # per search, for a pattern from a repository's own rules


class Spec(Record):
    """A rule's `structure` table, compiled: what must name a value for it to count."""

    names: re.Pattern[bytes] | None  # some name on the path matches (nearest first)
    not_names: re.Pattern[bytes] | None  # ...unless a nearer (or the same) name says otherwise
    own: re.Pattern[bytes] | None  # the value's own (first) name must match this
    request: re.Pattern[bytes] | None  # or: the request the value belongs to mentions this
    # or: the value is in an ApiKey header whose request names no host, and the content
    # (the code that sends it) mentions this
    content: re.Pattern[bytes] | None
    trusted: bool = True  # shipped with the tool: no time limit needed


_URL = re.compile(rb"[A-Za-z][A-Za-z0-9+.-]{1,20}://")


NOTHING_NAMES = "nothing around it names Nexpay"


def unnamed_reason(
    spec: Spec, data: bytes, start: int, end: int, *, alone: bool = True
) -> str | None:
    """Why the value at `data[start:end]` is not what `spec` asks for, or None when its
    structure names it so: it stands alone (not a piece of a longer token); its own name
    matches `own`; going out from it, the first name that matches `names` or `not_names`
    matches `names` only; or, no name saying otherwise, its request mentions `request`, or
    it is carried in an `ApiKey` header, its request names no host and the content (the
    code that sends it) mentions `content`. `alone=False` skips the first test (for the
    encoded token a decoded key came from: it is a longer token by nature)."""
    data = _with_line_feeds(data)
    piece = in_longer_token(data, start, end) if alone else None
    if piece:
        return piece
    found = naming(data, start, end)
    own = found.specific
    if spec.own is not None and (own is None or not _matches(spec.own, own, spec.trusted, True)):
        return "not named as this kind of credential"
    for name in found.names:
        if spec.not_names is not None and _matches(spec.not_names, name, spec.trusted, False):
            return "named as another credential"
        if spec.names is not None and _matches(spec.names, name, spec.trusted, True):
            return None
    # a request names only what it sends under a name of its own (a header, a field, a
    # flag): a bare value in the same code is not the request's
    if (
        spec.request is not None
        and (found.own or found.scheme)
        and scope_mentions(data, found.scopes, spec.request, spec.trusted)
    ):
        return None
    if (
        spec.content is not None
        and found.scheme == b"apikey"
        and not scope_mentions(data, found.scopes, _URL, True)
        and mentions(data, spec.content, spec.trusted)
    ):
        return None
    return NOTHING_NAMES


def _matches(pattern: re.Pattern[bytes], text: bytes, trusted: bool, timed_out: bool) -> bool:
    """`pattern.search(text)`; a repository's pattern that runs out of time answers
    `timed_out` (the answer that keeps the key a finding)."""
    if trusted:
        return pattern.search(text) is not None
    try:
        search: Any = pattern.search
        found: object = search(text, timeout=MATCH_TIMEOUT_SECONDS)
    except TimeoutError:
        return timed_out
    return found is not None
