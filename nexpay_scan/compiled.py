"""The tool's own regular expressions, compiled once per Python and kept between runs.

The hook starts on every commit, and `re` compiles its patterns in pure Python; importing
`re` (with `enum` and the parser) costs it milliseconds too. The tool's own patterns (the
constants of its modules, the rules shipped with it) are compiled through `pattern`:
`load` (first thing, in `nexpay_scan/__init__.py`) reads the programs an earlier run
stored, with `_sre` alone, so that a run whose patterns are all stored never imports `re`;
a pattern not stored yet is compiled by `re`, and `keep` stores it for the next run.

What `pattern` is given is code, never data: patterns from a repository's config or from
scanned content are compiled with `regex` (or `re`) directly and never stored (nothing
derived from a key, a value or a config goes to disk).

The stored form is `re`'s compiled program (`_sre.compile`'s arguments), marshalled, in
the rule cache folder, named by the Python build and `_sre.MAGIC`: another Python never
reads it. Whatever goes wrong (no folder, a damaged file, a Python whose `re` is built
differently), patterns are compiled as usual.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False  # typing is not imported on the hook's path (start-up time)
if TYPE_CHECKING:
    import re
    from typing import Any, AnyStr, Literal

# `re`'s flags, as the ints its cache is keyed by (tests/test_compiled.py checks them)
IGNORECASE, MULTILINE, DOTALL, VERBOSE = 2, 8, 16, 64

# the tool's patterns by (pattern type, source, flags): stored ones, then those compiled
_patterns: dict[Any, Any] = {}
_stored: set[Any] = set()  # the keys the cache file holds
_FORMAT = 1


def pattern(source: AnyStr, flags: int = 0) -> re.Pattern[AnyStr]:
    """The tool's own pattern `source` (a constant of its code or of a shipped rule, str
    or bytes) compiled: as stored by an earlier run, else by `re` now (and stored by the
    next `keep`). Never for a pattern made from config or content (see above)."""
    key = (type(source), source, flags)
    found: re.Pattern[AnyStr] | None = _patterns.get(key)
    if found is None:
        import re

        found = _patterns[key] = re.compile(source, flags)
    return found


def is_pattern(value: object) -> bool:
    """True for a pattern `re` compiled (not `regex`), without importing `re`."""
    kind = type(value)
    return kind.__module__ == "re" and kind.__name__ == "Pattern"


def cache_file() -> str | None:
    """Where this Python's compiled patterns are kept (beside the rule cache), or None."""
    try:
        import _sre  # type: ignore[import-not-found,unused-ignore]
    except ImportError:  # pragma: no cover - not CPython
        return None
    root = os.environ.get("NEXPAY_SCAN_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "nexpay-scan"
    )
    if not root or root.startswith("~"):
        return None
    # `re`'s program format is _sre's: MAGIC names its opcodes, CODESIZE its word
    build = f"{sys.hexversion:x}-{_sre.MAGIC}-{_sre.CODESIZE}-{_FORMAT}"
    version = "{}.{}".format(*sys.version_info[:2])
    # named as the rule cache's entries are ("-pyX.Y.marshal"): its pruning keeps it
    return os.path.join(root, "rules", f"patterns-{build}-py{version}.marshal")


def _word_kind() -> Literal["I", "L"]:
    """The `memoryview` format of `re`'s program words: programs are marshalled as bytes (a
    list of ints loads ten times slower; `memoryview` spares loading `array`)."""
    import _sre  # type: ignore[import-not-found,unused-ignore]

    return "I" if memoryview(bytes(8)).cast("I").itemsize == _sre.CODESIZE else "L"


def load() -> None:
    """Reads the stored patterns (with `_sre`: `re` is not imported)."""
    path = cache_file()
    if path is None:
        return
    try:
        import _sre  # type: ignore[import-not-found,unused-ignore]
        import marshal

        with open(path, "rb") as stream:
            entries = marshal.load(stream)  # noqa: S302 - our own 0600 file
        kinds = {"str": str, "bytes": bytes}
        word = _word_kind()
        loaded = {}
        for kind, source, flags, compiled_flags, code, groups, groupindex, indexgroup in entries:
            words = memoryview(code).cast(word).tolist()
            loaded[kinds[kind], source, flags] = _sre.compile(
                source, compiled_flags, words, groups, groupindex, tuple(indexgroup)
            )
    except Exception:  # no cache, a damaged one, another `re`: compile as usual
        return
    _patterns.update(loaded)
    _stored.update(loaded)


def keep() -> None:
    """Stores the tool's patterns if this run compiled one the cache did not hold."""
    if _stored.issuperset(_patterns):
        return
    path = cache_file()
    if path is None:
        return
    folder = os.path.dirname(path)
    if os.path.isdir(folder) and not os.access(folder, os.W_OK | os.X_OK):
        return  # (a read-only cache: not worth parsing every pattern again to fail)
    try:
        entries = [_entry(key) for key in list(_patterns)]
    except Exception:  # another `re`: nothing is stored
        return
    _stored.update(_patterns)
    _store(path, [e for e in entries if e is not None])


def _entry(key: Any) -> tuple[Any, ...] | None:
    """What `_sre.compile` needs to make the pattern of `key` again (as `re` makes it), or
    None for a key that is not a pattern `re` compiled (flags as an enum, a debug flag)."""
    kind, pattern, flags = key
    if kind not in (str, bytes) or type(flags) is not int:
        return None
    from array import array
    from re import _compiler, _parser  # type: ignore[attr-defined]

    parsed = _parser.parse(pattern, flags)
    code = _compiler._code(parsed, flags)
    words = array(_word_kind(), code)  # (`keep` runs once the cache is stale: rarely)
    groupindex = dict(parsed.state.groupdict)
    indexgroup = [None] * parsed.state.groups
    for name, index in groupindex.items():
        indexgroup[index] = name
    return (
        kind.__name__,
        pattern,
        flags,
        flags | parsed.state.flags,
        words.tobytes(),
        parsed.state.groups - 1,
        groupindex,
        indexgroup,
    )


def _store(path: str, entries: list[tuple[Any, ...]]) -> None:
    """Writes the cache file atomically, owner-only; a file that cannot be written is
    simply not used."""
    import marshal

    temp = f"{path}.{os.getpid()}"
    try:
        folder = os.path.dirname(path)
        os.makedirs(folder, mode=0o700, exist_ok=True)
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as stream:
            stream.write(marshal.dumps(entries))
        os.replace(temp, path)
        from nexpay_scan.rule_files import prune  # the folder's bound holds for this file too

        prune(folder, path)
    except (OSError, ValueError):
        import contextlib  # (rarely: the hook's path does not load it)

        with contextlib.suppress(OSError):
            os.remove(temp)
