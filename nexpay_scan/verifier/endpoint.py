"""Where keys may be sent: the API base, checked before any request."""

from __future__ import annotations

import ipaddress
from urllib.parse import SplitResult, urlsplit

from nexpay_scan.errors import FatalError

DEFAULT_API_BASE = "https://api.nexpay.com"
CHECK_PATH = "/v2/users/me"


def is_loopback(host: str) -> bool:
    """True for localhost, 127.0.0.0/8 and ::1: the only hosts plain HTTP may reach."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_base(url: str, flag: str, what: str) -> SplitResult:
    """`url`'s parts, when it may receive `what` (keys, tokens): an http(s) base URL, HTTPS
    or plain HTTP to loopback only, with no user info, query or fragment; else a one-line
    error naming `flag`, before anything is sent."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.scheme not in ("https", "http") or not host:
        raise FatalError(f"{flag} {url!r} is not an http(s) URL")
    if parts.scheme == "http" and not is_loopback(host):
        raise FatalError(
            f"{flag} {url!r}: {what} are sent only over HTTPS "
            "(plain HTTP is allowed to loopback addresses only)"
        )
    if parts.username or parts.password or parts.query or parts.fragment:
        raise FatalError(f"{flag} {url!r} must be a plain base URL")
    return parts


def check_url(api_base: str) -> str:
    """The full URL of the check for `api_base`; refuses what the contract forbids."""
    parts = check_base(api_base, "--api-base", "keys")
    return f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}{CHECK_PATH}"
