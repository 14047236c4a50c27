"""`nexpay-scan org`: every repository of an organization (see `nexpay_scan.org`)."""

from __future__ import annotations

import argparse

from nexpay_scan.errors import FatalError


def org(args: argparse.Namespace) -> int:
    """`nexpay-scan org`: the history of every repository of an organization, merged."""
    if args.format not in ("text", "json", "sarif"):
        raise FatalError(f"org: --format {args.format} is not supported (text, json or sarif)")
    if args.baseline:
        raise FatalError("org: --baseline is not supported (each repository has its own)")
    from nexpay_scan.org.audit import run_org

    return run_org(args)
