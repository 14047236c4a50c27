"""The tool's compiled regular expressions, kept between runs of the hook
(`nexpay_scan.compiled`): the same patterns as `re` compiles, never anything from a
repository or its content."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from testing.cli import run_cli
from testing.git_repo import Repo
from testing.keys import legacy_secret, secret


def _kept(cache: Path) -> list[Path]:
    return sorted((cache / "rules").glob("patterns-*"))


def _staged_with_a_key(repo: Repo) -> None:
    repo.write("app.py", "print('hello')\n")
    repo.commit()
    repo.write("app.py", f'print("hello")\nNEXPAY_SECRET = "{secret(1)}"\n')
    allowed = legacy_secret(7)
    repo.write(
        ".nexpay-scan.toml",
        f'[[rule]]\nid = "custom"\ndescription = "d"\nkind = "secret"\n'
        f'regex = "zz_{allowed}_[a-z]{{4}}"\nkeywords = ["zz_"]\n'
        f'allowlist.regexes = ["{allowed}"]\n',
    )
    repo.stage()


def test_a_second_run_finds_the_same_with_patterns_kept(repo: Repo) -> None:
    _staged_with_a_key(repo)
    first = run_cli("staged", "--format", "json", cwd=repo.path)
    assert first.code == 1
    assert len(_kept(Path(os.environ["NEXPAY_SCAN_CACHE_DIR"]))) == 1
    second = run_cli("staged", "--format", "json", cwd=repo.path)
    assert (second.code, second.json()["findings"]) == (1, first.json()["findings"])


def test_kept_patterns_are_what_re_compiles(repo: Repo) -> None:
    _staged_with_a_key(repo)
    assert run_cli("staged", cwd=repo.path).code == 1
    check = (
        "import sys\n"
        "from nexpay_scan import compiled\n"
        "assert 're' not in sys.modules\n"
        "from re import _compiler\n"
        "assert len(compiled._stored) > 10, len(compiled._stored)\n"
        "for kind, pattern, flags in compiled._stored:\n"
        "    found = compiled._patterns[kind, pattern, flags]\n"
        "    assert found == _compiler.compile(pattern, flags), pattern\n"
    )
    done = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_nothing_from_the_repository_is_kept(repo: Repo) -> None:
    # the repository's config compiles patterns holding a value; the scan reads a key
    _staged_with_a_key(repo)
    assert run_cli("staged", cwd=repo.path).code == 1
    (kept,) = _kept(Path(os.environ["NEXPAY_SCAN_CACHE_DIR"]))
    content = kept.read_bytes()
    assert legacy_secret(7).encode() not in content
    assert secret(1).encode() not in content
    assert b"zz_" not in content


def test_a_damaged_cache_is_compiled_past(repo: Repo) -> None:
    _staged_with_a_key(repo)
    first = run_cli("staged", "--format", "json", cwd=repo.path)
    (kept,) = _kept(Path(os.environ["NEXPAY_SCAN_CACHE_DIR"]))
    for damage in (b"", b"\x00garbage", kept.read_bytes()[:-40]):
        kept.write_bytes(damage)
        again = run_cli("staged", "--format", "json", cwd=repo.path)
        assert (again.code, again.json()["findings"]) == (1, first.json()["findings"])
        assert again.err == first.err


def test_the_flags_are_re_s() -> None:
    import re

    from nexpay_scan import compiled

    assert (re.IGNORECASE, re.MULTILINE, re.DOTALL, re.VERBOSE) == (
        compiled.IGNORECASE,
        compiled.MULTILINE,
        compiled.DOTALL,
        compiled.VERBOSE,
    )


def test_patterns_compiled_late_are_kept_too(repo: Repo) -> None:
    """A pattern first compiled mid-scan (a decoder's, when content asks for it) is kept
    at the end of the run: the next run imports no `re` for it."""
    repo.write("app.py", "x = 1\n")
    repo.commit()
    wrapped = "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2\n" * 3
    repo.write("blob.txt", wrapped)
    repo.stage()
    assert run_cli("staged", cwd=repo.path).code == 0
    code = (
        "import sys; from nexpay_scan.cli import main; code = main(sys.argv[1:]); "
        "print('re' in sys.modules, file=sys.stderr); sys.exit(code)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, "staged"], capture_output=True, text=True, cwd=repo.path
    )
    assert (done.returncode, done.stderr.split()[-1]) == (0, "False")
