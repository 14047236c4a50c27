"""A value's own name: what it is assigned to on its line (`NEXPAY_SECRET=`, `"secret": `,
`secret="…"`, `<secret>…`, `--secret `, `.netrc`'s `password`), looking through quotes, an
auth scheme (`ApiKey`, `Basic`) and a client ID before `:`; and the auth scheme itself."""

from __future__ import annotations

import re

from nexpay_scan.structure.outline import MAX_NAME

OWN_REACH = 256  # bytes left of a value looked at for its own name
_AUTH_SCHEMES = (b"apikey", b"basic", b"bearer", b"token", b"key", b"digest")
_NAME_BYTES = frozenset(
    b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-$@[]'\"/"
)
_WORD_BYTES = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")
_QUOTES = b"\"'`\\"
_BLANKS = b" \t"
# skipped between a value and its name as quotes are: stray bytes of broken text
_STRAY = bytes(range(0x80, 0x100))
# Words that name a value separated from it by blanks only (`.netrc`, `ENV NAME value`).
_BLANK_NAMED = re.compile(
    rb"(?:--?[A-Za-z][\w-]*|[A-Z][A-Z0-9_]{2,}|login|password|passwd|user|username|account)"
)
_XML_TAG = re.compile(rb"<(/?)([A-Za-z_][\w:.-]{0,100})([^<>]{0,4096}?)(/?)>")


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
