"""Rule files a hostile repository could commit, shared by the tests and `bench/hostile.py`."""

from __future__ import annotations

# A repository's own rule whose regex backtracks catastrophically on a run of "a": the
# detector must stop it within its time bound and name it, not hang.
BACKTRACKING_RULE = """
[[rule]]
id = "hostile-backtracking"
description = "a rule that backtracks catastrophically"
kind = "secret"
regex = '(a+)+$'
keywords = ["a"]
"""
