"""What the test suite and the benchmarks share: real git repositories, the CLI run in-process
or as a process, deterministic test keys, fake Nexpay and forge APIs on 127.0.0.1, corpora.

Not part of the product: the wheel ships `nexpay_scan` only (pyproject.toml), and pytest
finds this package through `pythonpath = ["."]`.
"""
