"""The hook's start-up: what `nexpay-scan staged` imports, and the records it is built on."""

from __future__ import annotations

import ast
import collections
import subprocess
import sys
from pathlib import Path
from typing import NamedTuple

import pytest

import nexpay_scan
from nexpay_scan.records import Record
from testing.git_repo import Repo
from testing.keys import secret

# Each of these costs the hook milliseconds on every commit and is not needed on its path.
NOT_ON_THE_HOOK_PATH = (
    "typing",  # nexpay_scan.records stands in for NamedTuple
    "pathlib",  # the hook's modules use os.path (nexpay_scan.paths)
    # git runs through os.posix_spawnp (nexpay_scan.sources.spawn): about 7 ms less
    "subprocess",
    "threading",
    "selectors",
    # a hook's plain command line is read without it (nexpay_scan.cli.plain)
    "argparse",
    "gettext",
    # the tool's patterns load with `_sre` from the pattern cache (nexpay_scan.compiled)
    "re",
    "enum",
    "signal",  # nexpay_scan.signals
    "contextlib",
    "functools",
    "types",
    "array",
    "shutil",  # argparse asks it for the terminal width unless told (cli.arguments.Formatter)
    "dataclasses",
    "regex",  # built-in rules compile with `re`
    "stringzilla",  # the history prefilter's byte passes (nexpay_scan.bytepasses)
    "pybase64",  # the history prefilter's base64 decoding
    "urllib3",  # the verifier is imported with --verify only
    "http.client",
    "email",
    "json",
    "tomllib",  # rule files are read from the marshal cache once parsed
    "zipfile",
    "tarfile",
    "isal",  # the inflater: only when an archive is met
    # the other unpackers: only when such an archive or stream is met
    "lz4",
    "zstandard",
    "lzma",
    "bz2",
    "nexpay_scan.decoders.sevenzip",
    "git.cmd",  # GitPython (its "git" package name is a word of the output): `org` only
    "pygit2",  # libgit2: a whole history's blob readers only
    "distributed",
    # the structure reader (its regexes): only when a legacy-shaped value near "nexpay" asks
    "nexpay_scan.structure.decision",
)


def imported_by(repo: Repo, *args: str, exit_code: int = 0) -> set[str]:
    code = (
        "import sys; from nexpay_scan.cli import main; code = main(sys.argv[1:]); "
        "print('\\n'.join(sys.modules), file=sys.stderr); sys.exit(code)"
    )
    for _ in range(2):  # the first run parses the rule files and fills the cache
        done = subprocess.run(
            [sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=repo.path
        )
    assert done.returncode == exit_code, done.stderr
    return set(done.stderr.split())


@pytest.mark.parametrize("with_key", [False, True])
def test_the_staged_scan_imports_nothing_heavy(repo: Repo, with_key: bool) -> None:
    repo.write("app.py", "print('hello')\n")
    repo.commit()
    repo.write("app.py", "print('hello, world')\n")
    repo.write("new.py", f'KEY = "{secret(1)}"\n' if with_key else "x = 1\n")
    repo.stage()
    modules = imported_by(repo, "staged", exit_code=1 if with_key else 0)
    assert [m for m in NOT_ON_THE_HOOK_PATH if m in modules] == []


def help_text(repo: Repo, columns: int) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "nexpay_scan", "staged", "--help"],
        capture_output=True,
        text=True,
        env={"COLUMNS": str(columns), "PATH": "/usr/bin:/bin"},
        cwd=repo.path,
    )
    assert done.returncode == 0
    assert "--baseline FILE" in done.stdout
    return done.stdout


def test_help_still_fits_the_terminal(repo: Repo) -> None:
    narrow, wide = help_text(repo, 70), help_text(repo, 200)
    assert max(len(line) for line in narrow.splitlines()) <= 70
    assert len(narrow.splitlines()) > len(wide.splitlines())


class Point(NamedTuple):
    """A point."""

    x: int
    y: int = 0

    def norm(self) -> int:
        return abs(self.x) + abs(self.y)


class Spot(Record):
    """A point."""

    x: int
    y: int = 0

    def norm(self) -> int:
        return abs(self.x) + abs(self.y)


def test_a_record_is_the_namedtuple_it_declares() -> None:
    spot, point = Spot(3, -4), Point(3, -4)
    assert isinstance(spot, tuple)
    assert tuple(spot) == tuple(point) == (3, -4)
    assert Spot._fields == Point._fields == ("x", "y")
    assert Spot._field_defaults == Point._field_defaults == {"y": 0}
    assert Spot(1) == (1, 0)
    assert spot.norm() == point.norm() == 7
    assert spot._replace(y=1) == (3, 1)
    assert Spot.__doc__ == Point.__doc__ == "A point."
    assert repr(spot) == "Spot(x=3, y=-4)"
    assert Spot.__module__ == Point.__module__ == __name__
    assert Spot.__qualname__ == "Spot"
    assert collections.Counter([Spot(1), Spot(1)])[Spot(1)] == 2


def test_a_record_takes_no_field_without_default_after_one_with() -> None:
    with pytest.raises(TypeError):

        class Bad(Record):
            x: int = 0
            y: int  # type: ignore[misc]  # mypy refuses it too


def imported_names(source: str) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_only_the_cli_reads_the_command_line() -> None:
    """Commands take typed option records built once by the `cli` package, never
    argparse's Namespace: argparse is imported in the CLI layer and nowhere else."""
    package = Path(nexpay_scan.__file__).parent
    readers = [
        path.relative_to(package)
        for path in sorted(package.rglob("*.py"))
        if "argparse" in imported_names(path.read_text(encoding="utf-8"))
    ]
    assert readers, "the CLI reads the command line with argparse"
    assert [str(r) for r in readers if r.parts[0] != "cli"] == []


@pytest.mark.parametrize("command", ["staged", "files", "history"])
def test_garbage_collection_is_back_on_once_the_scan_reads(repo: Repo, command: str) -> None:
    """A real run of a hook loads the tool with collection off (loading makes no garbage);
    its scan, which may read a lot, runs with it on; other commands never turn it off."""
    repo.write("app.py", "x = 1\n")
    repo.commit()
    repo.write("app.py", "x = 2\n")
    repo.stage()
    code = (
        "import gc, sys\n"
        "from nexpay_scan.cli import main\n"
        "import nexpay_scan.commands.pipeline as pipeline\n"
        "made = pipeline.make_scanner\n"
        "def make(*args):\n"
        "    print('loaded', gc.isenabled(), file=sys.stderr)\n"
        "    return made(*args)\n"
        "pipeline.make_scanner = make\n"
        "code = main()\n"
        "print('ended', gc.isenabled(), file=sys.stderr)\n"
        "sys.exit(code)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, command], capture_output=True, text=True, cwd=repo.path
    )
    assert done.returncode == 0, done.stderr
    loaded = "loaded False" if command == "staged" else "loaded True"
    assert (loaded, "ended True") == tuple(done.stderr.split("\n")[:2]), done.stderr


@pytest.mark.parametrize("form", ["text", "json", "sarif"])
def test_a_clean_range_loads_no_ci_reader_and_no_typing(repo: Repo, form: str) -> None:
    """A pre-push of clean commits: nothing to link to a platform or to note about a
    shallow clone, so neither the CI readers nor `typing` are loaded, whatever the report's
    form; and its forked blob readers answer without `multiprocessing` (nor the `socket`
    and `pickle` it loads). Its command line is read without argparse (`cli.plain`)."""
    repo.write("app.py", "x = 1\n")
    repo.commit()
    repo.write("app.py", "x = 2\n")
    repo.commit()
    modules = imported_by(repo, "history", "--format", form, "HEAD~1..HEAD")
    assert "nexpay_scan.sources.blob_processes" in modules  # (the readers were forked)
    unwanted = ["typing", "nexpay_scan.ci", "multiprocessing", "socket", "pickle", "json"]
    unwanted += ["argparse", "nexpay_scan.cli.arguments"]
    assert [m for m in unwanted if m in modules] == []


def test_a_ci_run_loads_no_typing(repo: Repo) -> None:
    """The CI gate with `--base`: its CI readers load, `typing` does not (3 ms), nor
    argparse (its command line is a plain one: `cli.plain`)."""
    repo.write("app.py", "x = 1\n")
    repo.commit()
    repo.write("app.py", "x = 2\n")
    repo.commit()
    modules = imported_by(repo, "ci", "--base", "HEAD~1", "--format", "json")
    assert "nexpay_scan.ci.systems" in modules
    assert [m for m in ("typing", "argparse", "nexpay_scan.cli.arguments") if m in modules] == []


def test_a_pre_push_reads_its_command_line_without_argparse(repo: Repo) -> None:
    """`pre-push REMOTE URL`, as git runs the hook on every push, is read by `cli.plain`:
    argparse is not loaded (nor the parser built) for a push of clean commits."""
    repo.write("app.py", "x = 1\n")
    repo.commit()
    repo.write("app.py", "x = 2\n")
    head = repo.commit()
    line = f"refs/heads/main {head} refs/heads/main {'0' * 40}\n"
    code = (
        "import sys; from nexpay_scan.cli import main; code = main(sys.argv[1:]); "
        "print('\\n'.join(sys.modules), file=sys.stderr); sys.exit(code)"
    )
    for _ in range(2):  # the first run parses the rule files and fills the cache
        done = subprocess.run(
            [sys.executable, "-c", code, "pre-push", "origin", "git@example.com:a/b.git"],
            input=line,
            capture_output=True,
            text=True,
            cwd=repo.path,
        )
    assert done.returncode == 0, done.stderr
    modules = set(done.stderr.split())
    assert "nexpay_scan.commands.push" in modules  # (the push was scanned)
    assert [m for m in ("argparse", "gettext", "nexpay_scan.cli.arguments") if m in modules] == []


def test_files_reads_a_plain_zip_without_zipfile_or_pathlib(repo: Repo) -> None:
    """`files` over a folder holding a plain zip (a wheel, say): its members are read
    without `zipfile` (8-13 ms to import in each process), and the folder's repository is
    found without `pathlib` (4-6 ms)."""
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("pkg/settings.py", f'KEY = "{secret(2)}"\n')
    (repo.path / "dist").mkdir()
    (repo.path / "dist" / "pkg-1.0-py3-none-any.whl").write_bytes(buffer.getvalue())
    modules = imported_by(repo, "files", "dist", "--jobs", "1", exit_code=1)
    assert "nexpay_scan.decoders.zip_directory" in modules  # (the zip was opened)
    assert [m for m in ("zipfile", "pathlib") if m in modules] == []


def test_a_two_processes_scan_loads_no_pickle(repo: Repo) -> None:
    """A forked worker sends its counts and findings in built-in types (`pickle` takes
    2-3 ms to load in each process, as both end). Findings a worker sends are merged as
    ever (tests/test_files.py)."""
    filler = "".join(f"line {n} of ordinary text\n" for n in range(150_000))  # ~3.7 MB
    (repo.path / "tree").mkdir()  # (11 MB: past the size at which a worker is forked)
    for n in range(3):
        (repo.path / "tree" / f"part{n}.txt").write_text(filler)
    modules = imported_by(repo, "files", "tree", "--jobs", "2")
    assert "pickle" not in modules
    for n in range(3):
        (repo.path / "tree" / f"part{n}.txt").write_text(f"{filler}KEY = '{secret(n)}'\n")
    modules = imported_by(repo, "files", "tree", "--jobs", "2", exit_code=1)
    assert "pickle" not in modules


def test_files_of_a_small_tree_loads_no_regex(repo: Repo) -> None:
    """`regex` (11 ms to load, half of such a run) finds base64 runs fastest, but a
    tree's are found by `bytes.find` until a process has searched 48 MB: most `files`
    runs, pre-commit's --all-files on a checkout, and the bench's tree of 104 MB (its two
    processes search 20 MB of text each). The built-in rules need none (`re`), even in
    a file that names Nexpay or a wheel's raw bytes; past 48 MB, it is loaded."""
    import base64
    import random
    import zipfile

    (repo.path / "src").mkdir()
    for n in range(20):
        body = "".join(
            f"value_{k} = 'AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIj'\n" for k in range(200)
        )
        (repo.path / "src" / f"m{n}.py").write_text(body)
    # wrapped base64 (its lines taken on past a bound), and a wheel over 1 MB (the rules
    # search its raw bytes)
    (repo.path / "src" / "cert.pem").write_bytes(base64.encodebytes(bytes(range(256)) * 40))
    with zipfile.ZipFile(repo.path / "src" / "big.whl", "w") as wheel:
        wheel.writestr("data.bin", random.Random(3).randbytes(3 << 19))
    assert "regex" not in imported_by(repo, "files", "src")
    filler = "".join(f"line {n} of ordinary text\n" for n in range(150_000))
    for n in range(3):  # (11 MB: past the size at which a worker is forked)
        (repo.path / "src" / f"part{n}.txt").write_text(filler)
    assert "regex" not in imported_by(repo, "files", "src", "--jobs", "2")
    (repo.path / "src" / "client.py").write_text(f"import nexpay\nKEY = '{secret(3)}'\n")
    assert "regex" not in imported_by(repo, "files", "src", "--jobs", "1", exit_code=1)
    (repo.path / "src" / "client.py").unlink()
    for n in range(3, 14):  # (51 MB in all)
        (repo.path / "src" / f"part{n}.txt").write_text(filler)
    assert "regex" in imported_by(repo, "files", "src", "--jobs", "1")
