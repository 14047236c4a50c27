"""The tool's own regular expressions, compiled once per Python and kept between runs.

The hook starts on every commit, and `re` compiles its patterns in pure Python: the ones
compiled at start-up (the rules shipped with the tool, the modules' patterns, argparse's)
cost it more than the files it scans. `load` (first thing, in `nexpay_scan/__init__.py`)
puts them back into `re`'s own cache, as `re` itself would have compiled them; `keep`,
called once the shipped rules are loaded and before any content or repository config is
read, stores what was compiled so far. Only patterns compiled before that point are kept,
and only in a process that started by importing the tool: never one made from a
repository's config, a scanned file or a host program (nothing derived from a key goes to
disk).

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
    from typing import Any, Literal

# the keys of `re`'s cache (pattern type, pattern, flags) that `load` filled
_loaded: set[Any] = set()
# True when nothing had been compiled before `load`: this process runs the tool, and what
# is compiled before `keep` is the tool's (inside a host program, such as a test run, other
# code compiles patterns too, and nothing is kept)
_ours: list[bool] = [False]
_FORMAT = 1


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
    """Puts the stored patterns into `re`'s cache: `re.compile` then returns them at once."""
    import re

    _ours[0] = not getattr(re, "_cache", True)
    path = cache_file()
    if path is None:
        return
    try:
        import _sre  # type: ignore[import-not-found,unused-ignore]
        import marshal

        with open(path, "rb") as stream:
            entries = marshal.load(stream)  # noqa: S302 - our own 0600 file
        cache: dict[Any, Any] = re._cache  # type: ignore[attr-defined]
        kinds = {"str": str, "bytes": bytes}
        word = _word_kind()
        for kind, pattern, flags, compiled_flags, code, groups, groupindex, indexgroup in entries:
            key = (kinds[kind], pattern, flags)
            words = memoryview(code).cast(word).tolist()
            cache[key] = _sre.compile(
                pattern, compiled_flags, words, groups, groupindex, tuple(indexgroup)
            )
            _loaded.add(key)
    except Exception:  # no cache, a damaged one, another `re`: compile as usual
        return


def keep() -> None:
    """Stores the patterns `re` compiled so far in this run, if any was not stored yet.
    Call it before anything but the tool's own code has been compiled; it acts once, and
    only in a process that runs the tool (see `_ours`)."""
    if not _ours[0]:
        return
    _ours[0] = False
    try:
        import re

        cache: dict[Any, Any] = re._cache  # type: ignore[attr-defined]
        keys = [k for k in list(cache) if k not in _loaded]
    except Exception:  # another `re`: nothing is stored
        return
    if not keys:
        return
    path = cache_file()
    if path is None:
        return
    try:
        entries = [_entry(key) for key in list(cache)]
    except Exception:  # another `re`: nothing is stored
        return
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
    except (OSError, ValueError):
        import contextlib  # (rarely: the hook's path does not load it)

        with contextlib.suppress(OSError):
            os.remove(temp)
