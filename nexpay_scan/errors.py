"""The errors a user sees: each becomes one line on stderr and exit code 2."""


class FatalError(Exception):
    """A problem with the input or the environment, explained in one line."""


class RuleError(FatalError):
    """A rule file that cannot be used: names the file, the rule and the problem."""

    def __init__(self, path: str, rule: str | None, problem: str) -> None:
        where = f"{path}: rule {rule!r}" if rule else path
        super().__init__(f"{where}: {problem}")
