"""Rules: TOML data checked key by key and compiled once into `Rule` objects (the files
themselves are read by `rule_files`)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from nexpay_scan.checksum import CHECKSUMS
from nexpay_scan.compiled import pattern
from nexpay_scan.errors import RuleError
from nexpay_scan.findings import CLIENT_ID, SECRET
from nexpay_scan.records import Record
from nexpay_scan.rule_files import builtin_rules_dir, parse_toml_bytes, read_toml
from nexpay_scan.structure.spec import Spec

TYPE_CHECKING = False  # typing is not imported on the hook's path (start-up time)
if TYPE_CHECKING:
    import re
    from typing import Any


__all__ = [  # the files' readers, for the modules that take them from here
    "Context",
    "Rule",
    "builtin_rules_dir",
    "compile_pattern",
    "compile_rule",
    "parse_rules",
    "parse_toml_bytes",
    "read_toml",
    "rule_prefixes",
]

KINDS = (SECRET, CLIENT_ID)
SEVERITIES = ("critical", "high", "medium", "low")
_RULE_KEYS = {
    "id": str,
    "description": str,
    "kind": str,
    "regex": str,
    "prefix": str,
    "keywords": list,
    "entropy": (int, float),
    "checksum": str,
    "binary": bool,
    "severity": str,
    "context": dict,
    "structure": dict,
    "allowlist": dict,
    "examples": dict,
}
_REQUIRED = ("id", "description", "kind", "regex", "keywords")
_CONTEXT_KEYS = {
    "pattern": str,
    "lines_before": int,
    "lines_after": int,
    "line_pattern": str,
    "line_pattern_lines_before": int,
}
_STRUCTURE_KEYS = {
    "names": str,
    "not_names": str,
    "own_name": str,
    "request": str,
    "content": str,
}
_ALLOWLIST_KEYS = {
    "stopwords": list,
    "values": list,
    "regexes": list,
    "paths": list,
    "plain_runs": bool,
}
_EXAMPLE_KEYS = {"positive": list, "negative": list}


class Context(Record):
    """Where a rule needs a mention of Nexpay: a pattern searched in nearby lines."""

    pattern: re.Pattern[bytes]
    lines_before: int
    lines_after: int
    line_pattern: re.Pattern[bytes] | None
    line_pattern_lines_before: int


class Rule(Record):
    """One compiled detection rule; `source` names the file it came from."""

    id: str
    description: str
    kind: str
    pattern: re.Pattern[bytes]
    keywords: tuple[bytes, ...]
    entropy: float | None
    checksum: Callable[[str], bool] | None
    binary: bool
    severity: str
    context: Context | None
    stopwords: tuple[str, ...]
    allow_values: frozenset[str]
    allow_regexes: tuple[re.Pattern[str], ...]
    allow_paths: tuple[re.Pattern[str], ...]
    positives: tuple[str, ...]
    negatives: tuple[str, ...]
    source: str
    trusted: bool  # shipped with the tool: compiled with `re`, no time limit needed
    # what must name a legacy value (nexpay_scan/structure/); None: nothing
    structure: Spec | None = None
    # a value whose random part is a repeated character or a plain run is a placeholder
    allow_plain_runs: bool = False
    # what every value of the rule starts with (`nxp_sk_`): kept in redacted output, left
    # out of entropy and stop-words; "" for none
    prefix: str = ""


def parse_rules(document: Mapping[str, Any], source: str, *, trusted: bool = False) -> list[Rule]:
    """The `[[rule]]` tables of one document, validated and compiled.

    Rules shipped with the tool (`trusted`) compile with `re`, which loads faster; any
    other rule compiles with `regex`, whose per-call time limit stops a catastrophically
    backtracking pattern from stalling the scan."""
    tables = document.get("rule", [])
    if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
        raise RuleError(source, None, "'rule' must be an array of tables ([[rule]])")
    return [compile_rule(table, source, trusted=trusted) for table in tables]


def compile_rule(table: Mapping[str, Any], source: str, *, trusted: bool = False) -> Rule:
    """One rule table checked key by key, with a clear error naming what is wrong."""
    name = table.get("id") if isinstance(table.get("id"), str) else None
    fail = _failer(source, name, trusted)
    _check_keys(table, _RULE_KEYS, fail, "")
    for key in _REQUIRED:
        if key not in table:
            fail(f"missing required key {key!r}")
    if table["kind"] not in KINDS:
        fail(f"kind must be one of {', '.join(KINDS)}, not {table['kind']!r}")
    severity = table.get("severity", "high")
    if severity not in SEVERITIES:
        fail(f"severity must be one of {', '.join(SEVERITIES)}, not {severity!r}")
    keywords = _strings(table["keywords"], "keywords", fail)
    if not keywords:
        fail("keywords must name at least one literal (the fast prefilter)")
    pattern = _compile(table["regex"], "regex", fail)
    if pattern.search(b"") is not None:
        fail("regex matches the empty string, so it would match everywhere")
    if "client_id" in pattern.groupindex and table["kind"] != SECRET:
        fail("a 'client_id' group only belongs in a rule of kind 'secret'")
    checksum = table.get("checksum")
    if checksum is not None and checksum not in CHECKSUMS:
        fail(f"unknown checksum {checksum!r}; known: {', '.join(CHECKSUMS)}")
    allowlist = table.get("allowlist", {})
    _check_keys(allowlist, _ALLOWLIST_KEYS, fail, "allowlist.")
    examples = table.get("examples", {})
    _check_keys(examples, _EXAMPLE_KEYS, fail, "examples.")
    return Rule(
        id=table["id"],
        description=table["description"],
        kind=table["kind"],
        pattern=pattern,
        keywords=tuple(k.lower().encode() for k in keywords),
        entropy=float(table["entropy"]) if "entropy" in table else None,
        checksum=CHECKSUMS[checksum] if checksum else None,
        binary=table.get("binary", False),
        severity=severity,
        context=_context(table.get("context"), fail),
        stopwords=tuple(
            w.lower() for w in _strings(allowlist.get("stopwords", []), "allowlist.stopwords", fail)
        ),
        allow_values=frozenset(_strings(allowlist.get("values", []), "allowlist.values", fail)),
        allow_regexes=_compile_str_list(allowlist.get("regexes", []), "allowlist.regexes", fail),
        allow_paths=_compile_str_list(allowlist.get("paths", []), "allowlist.paths", fail),
        positives=tuple(_strings(examples.get("positive", []), "examples.positive", fail)),
        negatives=tuple(_strings(examples.get("negative", []), "examples.negative", fail)),
        source=source,
        trusted=trusted,
        structure=_structure(table.get("structure"), fail),
        allow_plain_runs=allowlist.get("plain_runs", False),
        prefix=_prefix(table.get("prefix", ""), fail),
    )


class _Fail:
    """Raises the RuleError for one rule; knows which regex engine the rule compiles with."""

    def __init__(self, source: str, rule: str | None, trusted: bool) -> None:
        self.source, self.rule, self.trusted = source, rule, trusted

    def __call__(self, problem: str) -> Any:
        raise RuleError(self.source, self.rule, problem)


def _failer(source: str, rule: str | None, trusted: bool = False) -> _Fail:
    return _Fail(source, rule, trusted)


def compile_pattern(source: str | bytes, *, trusted: bool) -> Any:
    """`re` for the tool's own patterns, `regex` (time-limited matching) for anyone else's."""
    if trusted:
        return pattern(source)
    import regex

    return regex.compile(source)


def _pattern_errors(trusted: bool) -> tuple[type[Exception], ...]:
    import re  # (asked only once a pattern failed to compile: `re` compiled it)

    if trusted:
        return (re.error,)
    import regex

    return (regex.error, re.error)


def _check_keys(
    table: Mapping[str, Any], known: Mapping[str, Any], fail: Callable[[str], Any], prefix: str
) -> None:
    if not isinstance(table, dict):
        fail(f"{prefix.rstrip('.')} must be a table")
    for key, value in table.items():
        if key not in known:
            import difflib

            close = difflib.get_close_matches(key, known, n=1)
            hint = f" (did you mean {prefix}{close[0]!r}?)" if close else ""
            fail(f"unknown key {prefix}{key!r}{hint}")
        expected = known[key]
        if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
            fail(f"{prefix}{key} has the wrong type ({type(value).__name__})")


def _strings(value: Any, what: str, fail: Callable[[str], Any]) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        fail(f"{what} must be a list of strings")
    return list(value)


def _compile(source: str, what: str, fail: _Fail) -> re.Pattern[bytes]:
    try:
        pattern: re.Pattern[bytes] = compile_pattern(source.encode(), trusted=fail.trusted)
        return pattern
    except _pattern_errors(fail.trusted) as error:
        fail(f"{what} does not compile: {error}")
        raise  # unreachable: fail() raises


def _compile_str_list(values: Any, what: str, fail: _Fail) -> tuple[re.Pattern[str], ...]:
    compiled = []
    for value in _strings(values, what, fail):
        try:
            compiled.append(compile_pattern(value, trusted=fail.trusted))
        except _pattern_errors(fail.trusted) as error:
            fail(f"{what}: {value!r} does not compile: {error}")
    return tuple(compiled)


MAX_PREFIX = 16  # characters: a redacted value shows its prefix, so it must stay short


def _prefix(value: str, fail: _Fail) -> str:
    """The rule's `prefix`: a short literal (letters, digits, `_`, `-`, `.`), or ""."""
    allowed = value.isascii() and all(c.isalnum() or c in "_.-" for c in value)
    if value and (len(value) > MAX_PREFIX or not allowed):
        fail(
            f"prefix must be 1 to {MAX_PREFIX} letters, digits, '_', '-' or '.' "
            "(what every value of the rule starts with)"
        )
    return value


def rule_prefixes(rules: Iterable[Rule]) -> tuple[str, ...]:
    """The prefixes of `rules`, longest first (the one a value shows is its longest)."""
    return tuple(sorted({r.prefix for r in rules if r.prefix}, key=lambda p: (-len(p), p)))


def _context(table: Any, fail: _Fail) -> Context | None:
    if table is None:
        return None
    _check_keys(table, _CONTEXT_KEYS, fail, "context.")
    if "pattern" not in table:
        fail("context needs a 'pattern'")
    line_pattern = table.get("line_pattern")
    return Context(
        pattern=_compile(table["pattern"], "context.pattern", fail),
        lines_before=_line_count(table, "lines_before", fail),
        lines_after=_line_count(table, "lines_after", fail),
        line_pattern=_compile(line_pattern, "context.line_pattern", fail) if line_pattern else None,
        line_pattern_lines_before=_line_count(table, "line_pattern_lines_before", fail),
    )


MAX_CONTEXT_LINES = 50  # each line is searched once per line this close to it: keep it few


def _line_count(table: Mapping[str, Any], key: str, fail: _Fail) -> int:
    count: int = table.get(key, 0)
    if not 0 <= count <= MAX_CONTEXT_LINES:
        fail(f"context.{key} must be between 0 and {MAX_CONTEXT_LINES}, not {count}")
    return count


def _structure(table: Any, fail: _Fail) -> Spec | None:
    """The `structure` table: which names, requests or content make a value count."""
    if table is None:
        return None
    _check_keys(table, _STRUCTURE_KEYS, fail, "structure.")
    if not any(key in table for key in ("names", "own_name", "request", "content")):
        fail("structure needs 'names', 'own_name', 'request' or 'content'")

    def compiled(key: str) -> re.Pattern[bytes] | None:
        source = table.get(key)
        return _compile(source, f"structure.{key}", fail) if source is not None else None

    return Spec(
        names=compiled("names"),
        not_names=compiled("not_names"),
        own=compiled("own_name"),
        request=compiled("request"),
        content=compiled("content"),
        trusted=fail.trusted,
    )
