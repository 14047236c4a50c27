"""nexpay-scan: find Nexpay API credentials in staged changes, files and git history."""

__version__ = "0.1.0"

from nexpay_scan import compiled as _compiled

_compiled.load()  # the tool's regular expressions, as compiled by an earlier run
