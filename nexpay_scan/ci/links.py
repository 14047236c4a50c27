"""Where the repository is shown on the web (GitHub, GitLab, Bitbucket, Azure DevOps),
from the CI's variables or the `origin` URL, and how that platform links a commit and a
line of a file."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

from nexpay_scan.records import Record
from nexpay_scan.sources.git import run_git


class WebLinks(Record):
    """Where the repository is shown on the web, and how that platform links a commit and a
    line of a file."""

    platform: str  # "github", "gitlab", "bitbucket", "azure"
    base: str  # https://github.com/acme/shop (never with credentials)

    def commit_url(self, sha: str) -> str:
        """The page of one commit."""
        path = {"gitlab": "/-/commit/", "bitbucket": "/commits/"}.get(self.platform, "/commit/")
        return f"{self.base}{path}{sha}"

    def file_url(self, sha: str, file: str, line: int) -> str:
        """One line of a file as the commit has it."""
        from urllib.parse import quote

        name = quote(file, safe="/")
        if self.platform == "gitlab":
            return f"{self.base}/-/blob/{sha}/{name}#L{line}"
        if self.platform == "bitbucket":
            return f"{self.base}/src/{sha}/{name}#lines-{line}"
        if self.platform == "azure":
            return f"{self.base}?path=/{name}&version=GC{sha}&line={line}&lineEnd={line}"
        return f"{self.base}/blob/{sha}/{name}#L{line}"


def web_links(repo: Path, env: Mapping[str, str]) -> WebLinks | None:
    """The platform the repository lives on: from the CI's variables, else from the
    `origin` URL (GitHub, GitLab, Bitbucket, Azure DevOps); None when neither says."""
    if env.get("GITHUB_ACTIONS") == "true" and env.get("GITHUB_REPOSITORY"):
        server = env.get("GITHUB_SERVER_URL") or "https://github.com"
        return WebLinks("github", f"{server.rstrip('/')}/{env['GITHUB_REPOSITORY']}")
    if env.get("GITLAB_CI") == "true" and env.get("CI_PROJECT_URL"):
        return WebLinks("gitlab", _without_credentials(env["CI_PROJECT_URL"]))
    if env.get("BITBUCKET_REPO_FULL_NAME"):
        return WebLinks("bitbucket", f"https://bitbucket.org/{env['BITBUCKET_REPO_FULL_NAME']}")
    if env.get("TF_BUILD", "").lower() == "true" and env.get("BUILD_REPOSITORY_URI"):
        found = _from_url(env["BUILD_REPOSITORY_URI"])
        if found is not None:
            return found
    origin = run_git(repo, "config", "--get", "remote.origin.url", ok_codes=(0, 1))
    return _from_url(origin.decode(errors="replace").strip())


def _without_credentials(url: str) -> str:
    return re.sub(r"^(https?://)[^/@]*@", r"\1", url.strip()).rstrip("/")


def _from_url(url: str) -> WebLinks | None:
    """A clone URL (https, ssh or scp-like) as the repository's web address."""
    match = re.match(r"^(?:[a-z+]+://)?(?:[^@/]*@)?([^/:]+)(?::\d+)?[:/](.+?)(?:\.git)?/?$", url)
    if not match:
        return None
    host, path = match[1].lower(), match[2].lstrip("/")
    if host == "github.com":
        return WebLinks("github", f"https://github.com/{path}")
    if host == "gitlab.com":
        return WebLinks("gitlab", f"https://gitlab.com/{path}")
    if host == "bitbucket.org":
        return WebLinks("bitbucket", f"https://bitbucket.org/{path}")
    if host == "ssh.dev.azure.com":  # v3/ORG/PROJECT/REPO
        parts = path.split("/")
        if len(parts) == 4 and parts[0] == "v3":
            return WebLinks("azure", f"https://dev.azure.com/{parts[1]}/{parts[2]}/_git/{parts[3]}")
        return None
    if host == "dev.azure.com" or host.endswith(".visualstudio.com"):
        return WebLinks("azure", f"https://{host}/{path}")
    return None
