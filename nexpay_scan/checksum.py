"""The checksum that ends every current Nexpay secret (see credentials.md)."""

import zlib

_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_BODY_LENGTH = 43  # "nxp_sk_" plus 36 random characters
_CHECKSUM_LENGTH = 6


def base62(number: int, width: int) -> str:
    """`number` in base 62 (0-9A-Za-z), most significant digit first, padded to `width`."""
    digits = ""
    while number:
        number, remainder = divmod(number, 62)
        digits = _BASE62[remainder] + digits
    return digits.rjust(width, "0")


def secret_checksum(body: str) -> str:
    """The 6-character checksum of the first 43 characters of a secret."""
    return base62(zlib.crc32(body.encode("ascii")), _CHECKSUM_LENGTH)


def has_valid_checksum(secret: str) -> bool:
    """True when `secret` is 49 characters whose last 6 are the checksum of the first 43."""
    if len(secret) != _BODY_LENGTH + _CHECKSUM_LENGTH or not secret.isascii():
        return False
    return secret_checksum(secret[:_BODY_LENGTH]) == secret[_BODY_LENGTH:]


CHECKSUMS = {"nexpay-crc32-base62": has_valid_checksum}
