"""nexpay-scan: find Nexpay API credentials in staged changes, files and git history."""

__version__ = "0.1.0"
