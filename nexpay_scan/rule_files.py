"""Rule files: where the built-in ones are, and a TOML document read from a file or bytes,
with a one-line error when it is not one. The built-in files' parsed documents are cached
(marshal, keyed by a sha256 of the file's bytes): the hook runs on every commit, and
parsing TOML costs more than the rest of its start-up."""

from __future__ import annotations

import marshal
import os
import sys

from nexpay_scan.digest import sha256_hex
from nexpay_scan.errors import RuleError

TYPE_CHECKING = False  # typing is not imported on the hook's path (start-up time)
if TYPE_CHECKING:
    from typing import Any

    from nexpay_scan.paths import StrPath


def builtin_rules_dir() -> str:
    """The folder of rule files shipped with the tool (in the wheel, or the checkout)."""
    package = os.path.dirname(os.path.abspath(__file__))
    installed = os.path.join(package, "builtin_rules")
    if os.path.isdir(installed):
        return installed
    return os.path.join(os.path.dirname(package), "rules")


def read_toml(path: StrPath, *, cached: bool = False) -> dict[str, Any]:
    """The TOML document at `path`, or a RuleError that says why it cannot be read.

    `cached`: for the rule files shipped with the tool only. Their parsed documents are
    cached (marshal, keyed by a sha256 of the file's bytes): the hook runs on every commit,
    and parsing TOML costs more than the rest of its start-up. A repository's config is
    never cached: it may hold full keys (`allowlist.values`), and nothing derived from a
    key is written to disk. The cache leaves out rule examples (made-up keys that a scan of
    the cache folder would report); the test suite reads them with `cached=False`.
    """
    if not cached:
        return _parse_toml(path)
    try:
        with open(path, "rb") as stream:
            content = stream.read()
    except OSError as error:
        raise RuleError(str(path), None, f"cannot read: {error.strerror}") from None
    cache = _cache_file(content)
    if cache is not None:
        try:
            with open(cache, "rb") as stream:
                document = marshal.load(stream)  # noqa: S302 - our own 0600 file
            if isinstance(document, dict):
                return document
        except (OSError, EOFError, ValueError, TypeError):
            pass
    document = _without_examples(_parse_toml(path, content))
    if cache is not None:
        _store(cache, marshal.dumps(document))
    return document


def _without_examples(document: dict[str, Any]) -> dict[str, Any]:
    tables = document.get("rule")
    if not isinstance(tables, list):
        return document
    rules = [
        {k: v for k, v in t.items() if k != "examples"} if isinstance(t, dict) else t
        for t in tables
    ]
    return {**document, "rule": rules}


def _parse_toml(path: StrPath, content: bytes | None = None) -> dict[str, Any]:
    """The TOML document at `path` (already read: `content`)."""
    if content is None:
        try:
            with open(path, "rb") as stream:
                content = stream.read()
        except OSError as error:
            raise RuleError(str(path), None, f"cannot read: {error.strerror}") from None
    return parse_toml_bytes(content, str(path))


def parse_toml_bytes(raw: bytes, source: str) -> dict[str, Any]:
    """A TOML document from its bytes (a file, or a file at a git revision), or a
    RuleError naming `source` that says why it is not one."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib
    try:
        return tomllib.loads(raw.decode("utf-8"))
    except tomllib.TOMLDecodeError as error:
        raise RuleError(source, None, f"not valid TOML: {error}") from None
    except UnicodeDecodeError:
        raise RuleError(source, None, "not valid TOML: not UTF-8 text") from None


def _cache_folder() -> str | None:
    root = os.environ.get("NEXPAY_SCAN_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "nexpay-scan"
    )
    if not root or root.startswith("~"):
        return None
    return os.path.join(root, "rules")


def _cache_file(content: bytes) -> str | None:
    """The cache entry of a rule file: named by a hash of its content (a crafted file cannot
    collide with another's entry) and of the Python version (marshal's format)."""
    folder = _cache_folder()
    if folder is None:
        return None
    version = "{}.{}".format(*sys.version_info[:2])
    return os.path.join(folder, f"{sha256_hex(content)}-py{version}.marshal")


def _store(cache: str, payload: bytes) -> None:
    """Writes the cache entry atomically, owner-only, then prunes the folder; a cache that
    cannot be written is simply not used."""
    try:
        folder, name = os.path.split(cache)
        os.makedirs(folder, mode=0o700, exist_ok=True)
        temp = os.path.join(folder, f".{name}.{os.getpid()}")
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as stream:
            stream.write(payload)
        os.replace(temp, cache)
    except OSError:
        return
    prune(folder, keep=cache)


CACHE_ENTRIES = 16  # rule files of a few tool versions and Pythons side by side
CACHE_MAX_AGE = 30 * 24 * 3600  # seconds: an entry untouched this long is dropped


def prune(folder: str, keep: str) -> None:
    """Keeps the cache folder bounded: drops entries older than CACHE_MAX_AGE, any beyond
    the newest CACHE_ENTRIES, and files of older cache formats (whose entries could hold a
    repository's allowlisted keys). Runs only when an entry is written, off the hot path."""
    import time

    try:
        names = os.listdir(folder)
    except OSError:
        return
    now = time.time()
    entries = []
    for name in names:
        path = os.path.join(folder, name)
        if path == keep:
            continue
        try:
            modified = os.stat(path).st_mtime
        except OSError:
            continue
        if now - modified > CACHE_MAX_AGE:
            _remove(path)
        elif name.startswith("."):
            continue  # another run's entry being written
        elif not name.endswith(".marshal") or "-py" not in name:
            _remove(path)
        else:
            entries.append((modified, path))
    for _, path in sorted(entries, reverse=True)[CACHE_ENTRIES - 1 :]:
        _remove(path)


def _remove(path: str) -> None:
    try:  # noqa: SIM105 - contextlib is not loaded on the hook's path
        os.remove(path)
    except OSError:  # gone already, or not ours to remove
        pass
