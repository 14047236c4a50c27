"""`nexpay-scan org`: every repository of an organization (see `nexpay_scan.org`)."""

from __future__ import annotations

from nexpay_scan.errors import FatalError

TYPE_CHECKING = False  # typing is not imported on the hook's path (start-up time)
if TYPE_CHECKING:
    from nexpay_scan.commands.options import OrgRequest, ScanOptions


def org(options: ScanOptions, request: OrgRequest) -> int:
    """`nexpay-scan org`: the history of every repository of an organization, merged."""
    if options.format not in ("text", "json", "sarif"):
        raise FatalError(f"org: --format {options.format} is not supported (text, json or sarif)")
    if options.baseline:
        raise FatalError("org: --baseline is not supported (each repository has its own)")
    from nexpay_scan.org.audit import run_org

    return run_org(options, request)
