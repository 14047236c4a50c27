"""sha256 as hex, loaded cheaply: fingerprints, digests and cache keys on the hook's path."""

from __future__ import annotations


def sha256_hex(content: bytes) -> str:
    """The hex sha256 of `content`. CPython's built-in module loads in a fraction of a
    millisecond; `hashlib` (OpenSSL) takes a few, on every commit the hook sees."""
    try:
        from _sha2 import sha256  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        try:
            from _sha256 import sha256  # type: ignore[import-not-found,no-redef,unused-ignore]
        except ImportError:  # pragma: no cover - a Python built without them
            from hashlib import sha256
    return str(sha256(content).hexdigest())
