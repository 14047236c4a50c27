"""Bare mirrors of the repositories under audit (all refs), kept with GitPython in the
cache folder and refreshed by fetch. A token never enters a mirror's config or a URL: git
gets it through `GIT_CONFIG_*` environment variables, scoped to the one host it is for."""

from __future__ import annotations

import base64
import hashlib
import os
import re
import shutil
from collections.abc import Mapping
from urllib.parse import urlsplit

import git

from nexpay_scan.errors import FatalError

# Git's own prompts would wait forever in a worker; a missing repository must fail.
_QUIET_ENV = {
    "GIT_TERMINAL_PROMPT": "0",
    "GIT_ASKPASS": "",
    "SSH_ASKPASS": "",
    "GCM_INTERACTIVE": "never",
}


def mirror_path(cache: str, url: str) -> str:
    """Where the mirror of `url` lives: a readable name and a digest of the whole URL."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", url.rstrip("/").rsplit("/", 1)[-1])[:40] or "repo"
    digest = hashlib.sha256(url.encode("utf-8", "surrogateescape")).hexdigest()[:16]
    return os.path.join(cache, "mirrors", f"{name}-{digest}.git")


def token_environment(url: str, token: str | None, user: str) -> dict[str, str]:
    """Environment for git to send `token` (HTTP basic auth as `user`) to `url`'s host and
    scheme only, and to nothing else: `http.<scheme>://<host>/.extraHeader`."""
    env = dict(_QUIET_ENV)
    if not token:
        return env
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        return env
    pair = base64.b64encode(f"{user}:{token}".encode()).decode()
    count = int(os.environ.get("GIT_CONFIG_COUNT", "0") or 0)
    env["GIT_CONFIG_COUNT"] = str(count + 1)
    env[f"GIT_CONFIG_KEY_{count}"] = f"http.{parts.scheme}://{parts.netloc}/.extraHeader"
    env[f"GIT_CONFIG_VALUE_{count}"] = f"Authorization: Basic {pair}"
    return env


def update_mirror(cache: str, url: str, env: Mapping[str, str]) -> str:
    """The path of an up-to-date bare mirror of `url`: cloned (`--mirror`) the first time,
    fetched (`--prune`) after. A clone is made aside and renamed into place, so a crash
    never leaves a half-cloned mirror behind."""
    path = mirror_path(cache, url)
    try:
        if os.path.isdir(path):
            repo = git.Repo(path)
            with repo.git.custom_environment(**env):
                repo.git.fetch("--prune", "--quiet", "origin")
            return path
        os.makedirs(os.path.dirname(path), exist_ok=True)
        aside = f"{path}.{os.getpid()}.tmp"
        shutil.rmtree(aside, ignore_errors=True)
        try:
            git.Repo.clone_from(url, aside, mirror=True, env=dict(env), quiet=True)
            os.replace(aside, path)
        finally:
            shutil.rmtree(aside, ignore_errors=True)
        return path
    except git.GitCommandError as error:
        raise FatalError(_git_failure(error, url)) from None
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        raise FatalError(f"{path}: the cache holds something that is not a mirror") from None


def refs_digest(path: str) -> str:
    """A digest of every ref of the mirror and what it points at: equal digests, same history."""
    listing = git.Repo(path).git.for_each_ref("--format=%(objectname) %(refname)")
    return hashlib.sha256(listing.encode("utf-8", "surrogateescape")).hexdigest()


def _git_failure(error: git.GitCommandError, url: str) -> str:
    """Git's reason in one line, the last it printed (never the environment)."""
    stderr = str(error.stderr or "").strip().strip("'").strip()
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    reason = lines[-1] if lines else f"git exited with {error.status}"
    reason = reason.removeprefix("stderr: ").strip("'")
    return f"cannot clone or fetch {url}: {reason[:300]}"
