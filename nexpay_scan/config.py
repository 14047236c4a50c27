"""Settings for one run: the rules in force and what the repository's config allows."""

from __future__ import annotations

import os

from nexpay_scan.errors import RuleError
from nexpay_scan.records import Record
from nexpay_scan.rule_files import builtin_rules_dir, read_toml
from nexpay_scan.rules import Rule, compile_pattern, parse_rules

TYPE_CHECKING = False  # typing is not imported on the hook's path (start-up time)
if TYPE_CHECKING:
    import re
    from typing import Any

    from nexpay_scan.detector import Guard
    from nexpay_scan.paths import StrPath

CONFIG_NAME = ".nexpay-scan.toml"
DEFAULT_MAX_FILE_SIZE = 50 * 1024 * 1024
_SCAN_KEYS = {"disable_rules": list, "allow_paths": list, "max_file_size": int}
# Only the user's command line or environment may turn these on: a repository under scan
# is attacker-controlled input and must not be able to send its keys anywhere.
_COMMAND_LINE_ONLY = ("verify", "api_base", "api-base", "no_redact", "no-redact")


class Settings(Record):
    """Everything a scan needs to know, passed explicitly (no globals)."""

    rules: tuple[Rule, ...]
    allow_paths: tuple[re.Pattern[str], ...] = ()
    max_file_size: int = DEFAULT_MAX_FILE_SIZE
    redact: bool = True
    source: str = ""  # where the config was read from ("" for the built-in rules alone)

    def path_allowance(self, path: str, guard: Guard) -> str | None:
        """Why the config allowlists `path` for every rule (which pattern, in which file),
        or None when it does not; a pattern that takes too long does not allow (and
        `guard` names it for the report)."""
        name = f"scan.allow_paths ({self.source})"
        for pattern in self.allow_paths:
            if guard.search(pattern, path, name=name):
                return f"path allowed by allow_paths {pattern.pattern!r} in {self.source}"
        return None


def load_settings(
    root: StrPath | None, config_file: StrPath | None, *, redact: bool = True
) -> Settings:
    """The built-in rules, then the config (`--config`, else `.nexpay-scan.toml` at `root`)."""
    path = config_file or (os.path.join(root, CONFIG_NAME) if root else None)
    if path is None or (config_file is None and not os.path.isfile(path)):
        return settings_from(None, "", redact=redact)
    # a repository's config is never cached: it may hold full keys (allowlist.values)
    return settings_from(read_toml(path, cached=False), str(path), redact=redact)


def settings_from(document: dict[str, Any] | None, source: str, *, redact: bool = True) -> Settings:
    """The built-in rules, then what the config `document` (read from `source`) adds,
    replaces, disables and allows; None: the built-in rules alone."""
    rules = {r.id: r for r in builtin_rules()}
    if document is None:
        return Settings(tuple(rules.values()), redact=redact)
    scan = _scan_table(document, source)
    for rule in parse_rules(document, source):
        rules[rule.id] = rule
    for rule_id in scan.get("disable_rules", []):
        if rule_id not in rules:
            raise RuleError(source, rule_id, "disable_rules names a rule that does not exist")
        del rules[rule_id]
    return Settings(
        rules=tuple(rules.values()),
        allow_paths=_compile_paths(scan.get("allow_paths", []), source),
        max_file_size=scan.get("max_file_size", DEFAULT_MAX_FILE_SIZE),
        redact=redact,
        source=source,
    )


def builtin_rules(*, with_examples: bool = False) -> list[Rule]:
    """The rules shipped with the tool, in file-name order (examples only if asked); read
    and compiled once a run (the hook asks for them while git starts)."""
    if with_examples not in _BUILTIN:
        _BUILTIN[with_examples] = _builtin_rules(with_examples)
    return list(_BUILTIN[with_examples])


_BUILTIN: dict[bool, tuple[Rule, ...]] = {}  # (not functools.cache: off the hook's path)


def _builtin_rules(with_examples: bool) -> tuple[Rule, ...]:
    """Read and compiled once a run (the hook asks for them while git starts)."""
    rules: list[Rule] = []
    folder = builtin_rules_dir()
    for name in sorted(n for n in os.listdir(folder) if n.endswith(".toml")):
        path = os.path.join(folder, name)
        document = read_toml(path, cached=not with_examples)
        rules.extend(parse_rules(document, str(path), trusted=True))
    return tuple(rules)


def _scan_table(document: dict[str, Any], source: str) -> dict[str, Any]:
    for key in document:
        if key in _COMMAND_LINE_ONLY:
            raise RuleError(
                source, None, f"{key!r} can only be set on the command line, never by a repository"
            )
        if key not in ("scan", "rule"):
            import difflib

            close = difflib.get_close_matches(key, ["scan", "rule"], n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise RuleError(source, None, f"unknown key {key!r}{hint}")
    scan = document.get("scan", {})
    if not isinstance(scan, dict):
        raise RuleError(source, None, "'scan' must be a table")
    for key, value in scan.items():
        if key in _COMMAND_LINE_ONLY:
            raise RuleError(
                source, None, f"{key!r} can only be set on the command line, never by a repository"
            )
        if key not in _SCAN_KEYS:
            import difflib

            close = difflib.get_close_matches(key, list(_SCAN_KEYS), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise RuleError(source, None, f"unknown key scan.{key}{hint}")
        if not isinstance(value, _SCAN_KEYS[key]) or isinstance(value, bool):
            raise RuleError(source, None, f"scan.{key} has the wrong type ({type(value).__name__})")
    return scan


def _compile_paths(values: list[Any], source: str) -> tuple[re.Pattern[str], ...]:
    compiled = []
    for value in values:
        if not isinstance(value, str):
            raise RuleError(source, None, "scan.allow_paths must be a list of strings")
        try:
            compiled.append(compile_pattern(value, trusted=False))
        except Exception as error:  # re.error or regex.error: the message says which
            raise RuleError(
                source, None, f"allow_paths {value!r} does not compile: {error}"
            ) from None
    return tuple(compiled)
