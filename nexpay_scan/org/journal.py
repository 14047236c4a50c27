"""The cache's journal: each finished repository's result, written as it finishes, so that
Ctrl-C or a crash loses only the repositories in flight and a re-run resumes. It holds what
the JSON report shows (redacted matches, sha256 digests), never a full secret."""

from __future__ import annotations

import hashlib
import json
import os
from typing import Any

from nexpay_scan import __version__


class Journal:
    """One file per repository under `CACHE/journal/`, replaced atomically. An entry counts
    only for the same nexpay-scan version and the same rules (`settings`)."""

    def __init__(self, cache: str, settings: str) -> None:
        self.folder = os.path.join(cache, "journal")
        os.makedirs(self.folder, mode=0o700, exist_ok=True)
        self.settings = f"{__version__}:{settings}"

    def _path(self, url: str) -> str:
        digest = hashlib.sha256(url.encode("utf-8", "surrogateescape")).hexdigest()[:32]
        return os.path.join(self.folder, f"{digest}.json")

    def load(self, url: str) -> dict[str, Any] | None:
        """The last completed result of `url` under the same settings, or None."""
        try:
            with open(self._path(url), encoding="utf-8") as stream:
                entry = json.load(stream)
        except (OSError, ValueError):
            return None
        if not isinstance(entry, dict) or entry.get("settings") != self.settings:
            return None
        if entry.get("url") != url or not isinstance(entry.get("result"), dict):
            return None
        return dict(entry["result"])

    def store(self, url: str, result: dict[str, Any]) -> None:
        """Records a completed result (without any secret it carried)."""
        kept = {k: v for k, v in result.items() if k != "secrets"}
        entry = {"url": url, "settings": self.settings, "result": kept}
        path = self._path(url)
        temp = f"{path}.{os.getpid()}.tmp"
        with open(os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as stream:
            json.dump(entry, stream)
        os.replace(temp, path)


def settings_digest(config: str | None) -> str:
    """What the results depend on besides the history: the config file's content."""
    if config is None:
        return "builtin"
    try:
        with open(config, "rb") as stream:
            return hashlib.sha256(stream.read()).hexdigest()
    except OSError:
        return "unreadable"
