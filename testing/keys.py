"""Credential factories for tests: valid shapes from the contract, made deterministically."""

from __future__ import annotations

import base64
import random
import uuid

from nexpay_scan.checksum import secret_checksum

_ALNUM = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def secret(seed: int) -> str:
    """A current secret with a valid checksum."""
    rng = random.Random(f"secret-{seed}")
    body = "nxp_sk_" + "".join(rng.choice(_ALNUM) for _ in range(36))
    return body + secret_checksum(body)


def bad_checksum(value: str) -> str:
    """`value` with its last checksum character changed."""
    last = value[-1]
    return value[:-1] + ("A" if last != "A" else "B")


def client_id(seed: int) -> str:
    """A current client ID."""
    rng = random.Random(f"cid-{seed}")
    return "nxp_cid_" + "".join(rng.choice(_ALNUM) for _ in range(24))


def legacy_secret(seed: int) -> str:
    """A legacy secret: 32 random bytes, base64url without padding."""
    rng = random.Random(f"legacy-{seed}")
    return base64.urlsafe_b64encode(rng.randbytes(32)).rstrip(b"=").decode()


def legacy_client_id(seed: int) -> str:
    """A legacy client ID: a lower-case UUID."""
    rng = random.Random(f"uuid-{seed}")
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))
