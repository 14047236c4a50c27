"""sha256 as hex, loaded cheaply: fingerprints, digests and cache keys on the hook's path."""

from __future__ import annotations

TYPE_CHECKING = False  # typing is not imported on the hook's path (start-up time)
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

_SHA256: list[Callable[[bytes], Any]] = []  # found on the first call


def sha256_hex(content: bytes) -> str:
    """The hex sha256 of `content`."""
    if not _SHA256:
        _SHA256.append(_sha256())
    return str(_SHA256[0](content).hexdigest())


def _sha256() -> Callable[[bytes], Any]:
    """CPython's built-in sha256 (`_sha2` from 3.12, `_sha256` before) loads in a fraction
    of a millisecond; `hashlib` (OpenSSL) takes a few, on every commit the hook sees. Looked
    up once: a module that is not there is searched for along the whole path again on
    every import that names it."""
    try:
        from _sha2 import sha256  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        try:
            from _sha256 import sha256  # type: ignore[import-not-found,no-redef,unused-ignore]
        except ImportError:  # pragma: no cover - a Python built without them
            from hashlib import sha256
    return sha256  # type: ignore[no-any-return,unused-ignore]
