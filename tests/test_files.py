"""`nexpay-scan files`: files and folders on disk, and standard input."""

from __future__ import annotations

import io
import os
import time
import zipfile
from pathlib import Path
from typing import Any

import pytest

from testing.archives import tar_of, zip_of
from testing.cli import CliRun, on_a_terminal, run_cli
from testing.git_repo import Repo
from testing.keys import client_id, secret
from testing.processes import children


def test_folder_paths_are_relative_and_git_is_skipped(
    cli: CliRun, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Outside a repository, files are named relative to the current folder."""
    root = tmp_path / "tree"
    (root / "src" / "deep").mkdir(parents=True)
    (root / ".git").mkdir()
    (root / "src" / "deep" / "k.py").write_text(f'K = "{secret(1)}"\n')
    (root / ".git" / "config").write_text(f"key={secret(2)}\n")
    monkeypatch.chdir(tmp_path)
    run = cli("files", str(root), "--format", "json")
    assert [f["file"] for f in run.json()["findings"]] == ["tree/src/deep/k.py"]
    assert run.json()["summary"]["files_scanned"] == 1


def test_files_are_named_from_the_repository_root_whatever_folder_is_given(
    cli: CliRun, repo: Repo, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One file, one name: `files a b` cannot show two files as `app.env`, and an allowlist,
    a fingerprint or an ignore entry means the same whichever folder is scanned."""
    repo.write("a/app.env", f"NEXPAY_SECRET={secret(11)}\n")
    repo.write("b/app.env", f"NEXPAY_SECRET={secret(12)}\n")
    repo.write("tests/fixtures/app.env", f"NEXPAY_SECRET={secret(13)}\n")
    repo.write(".nexpay-scan.toml", "[scan]\nallow_paths = ['^tests/fixtures/']\n")
    monkeypatch.chdir(repo.path / "b")
    run = cli("files", str(repo.path / "a"), ".", "--format", "json")
    assert sorted(f["file"] for f in run.json()["findings"]) == ["a/app.env", "b/app.env"]
    whole = cli("files", str(repo.path), "--format", "json").json()
    fingerprints = {f["file"]: f["fingerprint"] for f in whole["findings"]}
    assert {f["file"]: f["fingerprint"] for f in run.json()["findings"]} == {
        k: fingerprints[k] for k in ("a/app.env", "b/app.env")
    }
    fixtures = cli("files", str(repo.path / "tests"), "--format", "json")
    assert fixtures.code == 0 and fixtures.json()["findings"] == []
    assert [f["file"] for f in fixtures.json()["suppressed"]] == ["tests/fixtures/app.env"]
    named = cli("files", str(repo.path / "a" / "app.env"), "--format", "json")
    assert [f["file"] for f in named.json()["findings"]] == ["a/app.env"]


def test_stdin(tmp_path: Path) -> None:
    run = run_cli("files", "-", "--format", "json", stdin=f"x {secret(3)}\n".encode(), cwd=tmp_path)
    assert run.code == 1
    assert [f["file"] for f in run.json()["findings"]] == ["<stdin>"]


def test_binary_files_are_searched_for_prefixed_keys(cli: CliRun, tmp_path: Path) -> None:
    (tmp_path / "module.pyc").write_bytes(b"\x00\x0d\x0d\x0a" + secret(4).encode() + b"\x00" * 40)
    (tmp_path / "image.png").write_bytes(b"\x89PNG\x00\x00" + client_id(1).encode() + b"\xff")
    (tmp_path / "notes.bin").write_bytes(b"\x00NEXPAY_SECRET=" + b"A" * 43)
    run = cli("files", str(tmp_path), "--format", "json")
    assert sorted(f["file"] for f in run.json()["findings"]) == ["image.png", "module.pyc"]


def test_oversized_files_are_searched_in_windows(cli: CliRun, repo: Repo) -> None:
    repo.write(".nexpay-scan.toml", "[scan]\nmax_file_size = 1000\n")
    repo.write("big.txt", "x" * 2000 + " " + secret(5))
    repo.write("small.txt", secret(6))
    run = cli("files", str(repo.path), "--format", "json")
    assert sorted(f["file"] for f in run.json()["findings"]) == ["big.txt", "small.txt"]
    assert run.json()["summary"]["skipped"] == {}


def test_invalid_utf8_and_crlf_around_a_key(cli: CliRun, tmp_path: Path) -> None:
    (tmp_path / "mixed.txt").write_bytes(b"a\r\n\xff\xfe" + secret(7).encode() + b"\xc3\r\n")
    run = cli("files", str(tmp_path), "--format", "json")
    [finding] = run.json()["findings"]
    assert (finding["line"], finding["column"]) == (2, 3)


def test_missing_path_is_a_one_line_error(cli: CliRun, tmp_path: Path) -> None:
    run = cli("files", str(tmp_path / "nope"))
    assert run.code == 2 and "no such file or folder" in run.err


def test_unreadable_file_named_is_an_error(cli: CliRun, tmp_path: Path) -> None:
    path = tmp_path / "secret.txt"
    path.write_text("x")
    path.chmod(0)
    if os.geteuid() == 0:  # root reads every file; this one refuses even root
        path = Path("/proc/self/mem")
    run = cli("files", str(path))
    assert run.code == 2 and "cannot read" in run.err
    assert len(run.err.strip().splitlines()) == 1


def test_unreadable_file_in_a_folder_is_skipped(cli: CliRun, tmp_path: Path) -> None:
    (tmp_path / "fifo").mkdir()
    os.mkfifo(tmp_path / "fifo" / "pipe")
    (tmp_path / "link").symlink_to("/etc/passwd")
    run = cli("files", str(tmp_path), "--format", "json")
    assert run.code == 0
    assert run.json()["summary"]["skipped"] == {"not a regular file": 1, "symbolic link": 1}


def test_allow_comment_in_any_syntax(cli: CliRun, tmp_path: Path) -> None:
    key = secret(8)
    (tmp_path / "a.py").write_text(f'K = "{key}"  # nexpay-scan: allow\n')
    (tmp_path / "a.js").write_text(f'const k = "{key}"; // nexpay-scan: allow\n')
    (tmp_path / "a.html").write_text(f"<p>{key}</p> <!-- nexpay-scan: allow -->\n")
    (tmp_path / "a.c").write_text(f'char *k = "{key}"; /* nexpay-scan: allow */\r\n')
    (tmp_path / "b.py").write_text(f'K = "{key}"  # nexpay-scan: allow? no\n')
    run = cli("files", str(tmp_path), "--format", "json")
    assert [f["file"] for f in run.json()["findings"]] == ["b.py"]


def test_colour_only_on_a_terminal_and_never_with_no_color(cli: CliRun, tmp_path: Path) -> None:
    (tmp_path / "a.env").write_text(f"K={secret(9)}\n")
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    painted = on_a_terminal("files", str(tmp_path), stream="stdout", env=env)
    assert "\033[" in painted and "a.env" in painted
    plain = on_a_terminal("files", str(tmp_path), stream="stdout", env={**env, "NO_COLOR": "1"})
    assert "\033[" not in plain and "a.env" in plain
    piped = run_cli("files", str(tmp_path), env=env)
    assert "\033[" not in piped.out


def test_a_big_tree_scanned_by_two_processes_reports_what_one_does(tmp_path: Path) -> None:
    root = tmp_path / "big"
    filler = "".join(f"line {n} of ordinary text, nothing secret here\n" for n in range(6000))
    for n in range(40):  # about 12 MB: over the size at which workers start
        folder = root / f"pkg{n % 5}"
        folder.mkdir(parents=True, exist_ok=True)
        key = f'KEY = "{secret(n)}"\n' if n % 9 == 0 else ""
        (folder / f"module{n}.py").write_text(filler[: 1000 * n] + key + filler)
    (root / "pkg0" / "link").symlink_to("/etc/passwd")
    runs = [run_cli("files", str(root), "--format", "json", "--jobs", j) for j in ("1", "2")]
    assert [r.code for r in runs] == [1, 1]
    one, two = (r.json() for r in runs)
    assert len(one["findings"]) == 5
    assert one["findings"] == two["findings"]
    del one["summary"]["duration_seconds"], two["summary"]["duration_seconds"]
    assert one["summary"] == two["summary"]
    assert one["summary"]["files_scanned"] == 40
    assert one["summary"]["skipped"] == {"symbolic link": 1}
    # the files named one by one, as `pre-commit run --all-files` passes them
    named = sorted(str(p) for p in root.rglob("*.py"))
    runs = [run_cli("files", *named, "--format", "json", "--jobs", j) for j in ("1", "2")]
    assert runs[0].json()["findings"] == runs[1].json()["findings"]
    assert len(runs[1].json()["findings"]) == 5
    # one unreadable file named among them is still an error, worker or not
    refused = "/proc/self/mem" if os.geteuid() == 0 else str(root / "pkg1" / "module1.py")
    if refused != "/proc/self/mem":
        Path(refused).chmod(0)
    failed = run_cli("files", *named, refused, "--jobs", "2")
    assert failed.code == 2 and "cannot read" in failed.err


def test_a_finding_a_worker_sends_is_the_finding_it_found() -> None:
    """A worker sends its findings in built-in types through `marshal`: every field comes
    back as it was (a new field left out fails here), names that are not UTF-8 too."""
    import marshal

    from nexpay_scan.findings import (
        Commit,
        Finding,
        Secret,
        Suppression,
        finding_from_plain,
        plain_finding,
    )

    commit = Commit("ab" * 20, "A \udcff", "a@x", "2024-01-01")
    values: dict[str, object] = {
        "_fingerprint": "f" * 32,
        "account": {"owner": "acme"},
        "at_head": True,
        "column": 7,
        "commit": commit,
        "description": "a key",
        "file": "src/\udcffname.env",
        "kind": "secret",
        "left_at": "v1.0",
        "line": 3,
        "notes": ["decoded from base64"],
        "occurrences": 2,
        "pair": Secret(client_id(1)),
        "places": [(commit, "a.env", 3), (Commit("cd" * 20, "B", "b@x", "d"), "b.env", 9)],
        "present_at": ["main", "v1.0"],
        "rule_id": "nexpay-secret",
        "secret": Secret(secret(1)),
        "severity": "critical",
        "status": "live",
        "status_reason": "the API said 200",
        "suppression": Suppression("inSource", "a test key"),
        "unreachable": True,
        "verified_with": Secret(client_id(2)),
    }
    assert set(values) == set(Finding.__slots__)
    finding = Finding.__new__(Finding)
    for name, value in values.items():
        setattr(finding, name, value)
    back = finding_from_plain(marshal.loads(marshal.dumps(plain_finding(finding))))
    assert {name: getattr(back, name) for name in Finding.__slots__} == values
    bare = Finding("r", "d", "secret", "high", "a.env", 1, 1, Secret(secret(3)))
    again = finding_from_plain(marshal.loads(marshal.dumps(plain_finding(bare))))
    assert [getattr(again, n) for n in Finding.__slots__] == [
        getattr(bare, n) for n in Finding.__slots__
    ]


def test_units_of_unequal_cost_taken_by_two_processes_report_what_one_does(
    tmp_path: Path,
) -> None:
    """Archives, big binary files (some so big that only two processes take them) and
    many small files: whichever process takes which unit, the findings and the skipped
    items come in the order one process gives."""
    root = tmp_path / "mixed"
    filler = "ordinary text, nothing secret\n" * 3000
    for n in range(6):  # a folder each: its archive in a unit of its own
        folder = root / f"part{n}"
        folder.mkdir(parents=True)
        with zipfile.ZipFile(folder / "bundle.zip", "w", zipfile.ZIP_DEFLATED) as archive:
            for m in range(60):  # a slow unit: each member read and scanned
                archive.writestr(f"pkg/mod{m}.py", f"VALUE = {m}\n" * 2000)
            archive.writestr("pkg/settings.env", f"NEXPAY_SECRET={secret(40 + n)}\n")
            archive.writestr("pkg/nested.zip", _zip_in_zip())  # named as not decoded
        for m in range(20):
            key = f"K={secret(60 + n)}\n" if m == 10 and n % 2 else ""
            (folder / f"f{m:03}.txt").write_text(filler + key)
    blob = bytearray(os.urandom(3 << 20))  # a big binary file with a key inside
    blob[1 << 20 : (1 << 20) + 60] = f" {secret(50)} ".encode().ljust(60)
    (root / "big.bin").write_bytes(bytes(blob))
    for n in range(3):  # files big enough that only two processes take them
        huge = bytearray(os.urandom(9 << 20))
        huge[5 << 20 : (5 << 20) + 60] = f" {secret(55 + n)} ".encode().ljust(60)
        (root / f"huge{n}.bin").write_bytes(bytes(huge))
    (root / "link").symlink_to("/etc/passwd")
    jobs = ("1", "2", "3", "4")
    runs = [run_cli("files", str(root), "--format", "json", "--jobs", j) for j in jobs]
    assert [r.code for r in runs] == [1, 1, 1, 1]
    one, *others = (r.json() for r in runs)
    assert len(one["findings"]) == 6 + 3 + 1 + 3
    del one["summary"]["duration_seconds"]
    assert len(one["summary"]["skipped_files"]) == 1 + 6
    for other in others:
        assert other["findings"] == one["findings"]
        del other["summary"]["duration_seconds"]
        assert other["summary"] == one["summary"]


def _zip_in_zip() -> bytes:
    """A zip holding a zip holding a zip: deeper than the decoders go."""
    content = b"nothing here\n"
    for name in ("c.txt", "b.zip", "a.zip"):
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr(name, content)
        content = buffer.getvalue()
    return content


def test_each_unit_number_is_read_by_exactly_one_process() -> None:
    """The units are dealt down pipes that the processes read a number at a time: with
    more numbers than one write holds, and two processes reading, none is lost or read
    twice; a big unit goes only to the processes that read the pipe of big units."""
    import multiprocessing
    import threading

    from nexpay_scan.sources import files

    big, small = files._Pipe(), files._Pipe()
    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)

    def take(pipes: list[files._Pipe]) -> list[int]:
        taken = []
        for pipe in pipes:
            while token := os.read(pipe.reading, files._TOKEN):
                taken.append(int.from_bytes(token, "little"))
        return taken

    def child() -> None:  # a worker that takes small units only
        for pipe in (big, small):
            os.close(pipe.writing)
        sender.send(take([small]))

    worker = context.Process(target=child)
    worker.start()
    sender.close()
    dealt = [(big, list(range(5000, 5010))), (small, list(range(5000))[::-1])]
    for pipe in (big, small):
        pipe.handed_on()
    feeder = threading.Thread(target=files._feed, args=(dealt,))
    feeder.start()
    mine = take([big, small])
    theirs = receiver.recv()
    worker.join()
    feeder.join()
    for pipe in (big, small):
        pipe.close()
    assert sorted(mine + theirs) == list(range(5010))
    assert mine[:10] == list(range(5000, 5010)) and not set(theirs) & set(range(5000, 5010))
    assert mine == mine[:10] + sorted(mine[10:], reverse=True)
    assert theirs == sorted(theirs, reverse=True)


def test_an_empty_file_is_scanned_and_counted(cli: CliRun, tmp_path: Path) -> None:
    """An empty file is read (nothing in it) and counted, beside one with a key."""
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "empty.txt").write_bytes(b"")
    (tree / "key.env").write_text(f"NEXPAY_SECRET={secret(70)}\n")
    run = cli("files", str(tree), "--format", "json")
    assert run.json()["summary"]["files_scanned"] == 2
    assert [f["file"].rsplit("/", 1)[-1] for f in run.json()["findings"]] == ["key.env"]


def test_a_custom_rule_finds_its_keys_escaped_too(cli: CliRun, tmp_path: Path) -> None:
    (tmp_path / ".nexpay-scan.toml").write_text(
        "[[rule]]\n"
        'id = "acme-wrapped-key"\n'
        'description = "Nexpay key wrapped in our internal token"\n'
        'kind = "secret"\n'
        "regex = 'acmetok_[0-9a-f]{32}'\n"
        'keywords = ["acmetok_"]\n'
    )
    token = "acmetok_0123456789abcdef0123456789abcdef"
    escaped = token.replace("_", "%5F")
    (tmp_path / "callback.txt").write_text(f"https://hooks.example/cb?token={escaped}\n")
    json_escaped = token.replace("_", "\\u005f")
    (tmp_path / "config.json").write_text(f'{{"token": "{json_escaped}"}}\n')
    run = cli("files", str(tmp_path), "--format", "json", "--no-redact")
    found = {(f["file"], f["match"]) for f in run.json()["findings"]}
    assert found == {("callback.txt", token), ("config.json", token)}
    notes = {f["file"]: f["notes"] for f in run.json()["findings"]}
    assert notes["callback.txt"] == ["decoded from percent"]


def test_a_key_inside_a_compiled_pyc_is_found(cli: CliRun, tmp_path: Path) -> None:
    """In a .pyc the constant sits between marshal bytes, which may be letters or digits:
    the checksum, not a word boundary, says where the secret ends."""
    import py_compile

    source = tmp_path / "settings.py"
    source.write_text(f'NEXPAY_SECRET = "{secret(41)}"\nOTHER = "{secret(42)}Z9"\n')
    compiled = Path(str(py_compile.compile(str(source), cfile=str(tmp_path / "settings.pyc"))))
    source.unlink()
    run = cli("files", str(compiled), "--format", "json", "--no-redact")
    assert run.code == 1
    assert sorted(f["match"] for f in run.json()["findings"]) == sorted([secret(41), secret(42)])


def test_small_files_read_together_are_each_judged_alone(cli: CliRun, tmp_path: Path) -> None:
    """The prefilter reads small files in one block: base64 at the end of one file does not
    run on into the next (whose key it would then name the wrong file for)."""
    import base64

    root = tmp_path / "tree"
    root.mkdir()
    hidden = base64.b64encode(f"nexpay_secret = {secret(21)}\n".encode())
    (root / "a.txt").write_bytes(b"x = " + b"QUJD" * 40)  # base64, no newline at its end
    (root / "b.txt").write_bytes(hidden + b"\n")
    for n in range(50):
        (root / f"z{n:02}.txt").write_text(f"plain file {n}\n")
    run = cli("files", str(root), "--format", "json")
    assert [(f["file"], f["notes"]) for f in run.json()["findings"]] == [
        ("tree/b.txt", ["decoded from base64"])
    ]
    assert run.json()["summary"]["files_scanned"] == 52


@pytest.mark.parametrize("kind", ["tar", "zip"])
def test_a_key_in_a_member_stored_as_is_is_reported_once_and_names_the_member(
    cli: CliRun, tmp_path: Path, kind: str
) -> None:
    """An uncompressed member's bytes are the archive's own: the key is reported once, at
    its line in the archive (it was reported again on line 1), and says which member."""
    env = f"A=1\nB=2\nNEXPAY_SECRET={secret(43)}\n".encode()
    if kind == "tar":
        archive = tar_of({"app/.env": env}, "w")
    else:
        archive = zip_of({"app/.env": env}, zipfile.ZIP_STORED)
    (tmp_path / "bundle").write_bytes(archive)
    run = cli("files", str(tmp_path / "bundle"), "--format", "json", "--no-redact")
    assert run.code == 1
    at = archive.index(secret(43).encode())
    [finding] = run.json()["findings"]
    assert finding["match"] == secret(43)
    assert finding["line"] == archive.count(b"\n", 0, at) + 1
    assert finding["notes"] == [f"in {kind}:app/.env"]


@pytest.mark.parametrize("kind", ["tar", "zip"])
def test_an_allow_comment_opening_the_next_member_does_not_allow_a_key(
    cli: CliRun, tmp_path: Path, kind: str
) -> None:
    """In an archive stored as is, a member ending in a key (no line break) and the next
    opening with `# nexpay-scan: allow` make one "line" of the archive, through the next
    member's header: the comment allowed the key. Only the member's own line counts."""
    members = {
        "app/.env": f"NEXPAY_SECRET={secret(44)}".encode(),
        "b.txt": b"# nexpay-scan: allow\n",
    }
    allowed = {"app/.env": f"NEXPAY_SECRET={secret(45)}  # nexpay-scan: allow fixture\n".encode()}
    for name, content in (("decoy", members), ("fixture", allowed)):
        archive = tar_of(content, "w") if kind == "tar" else zip_of(content, zipfile.ZIP_STORED)
        (tmp_path / name).write_bytes(archive)
    run = cli("files", str(tmp_path), "--format", "json", "--no-redact")
    assert run.code == 1
    document = run.json()
    assert [(f["file"], f["match"]) for f in document["findings"]] == [("decoy", secret(44))]
    [suppressed] = document["suppressed"]
    assert (suppressed["file"], suppressed["match"]) == ("fixture", secret(45))
    assert suppressed["notes"] == [f"in {kind}:app/.env"]


@pytest.mark.parametrize("change", [-7, 0, 7])
def test_a_file_whose_size_changed_since_the_walk_is_read_as_it_is_now(
    tmp_path: Path, change: int
) -> None:
    """Small files are read into one buffer, each in the room its walked size gave it
    (one byte more, to see growth). A file that grew since is read again as it is; one
    that shrank takes less room. Either way its key is found where it is, and the files
    around it too."""
    from nexpay_scan.config import load_settings
    from nexpay_scan.scan import Scanner
    from nexpay_scan.sources import files
    from nexpay_scan.stats import Stats

    names = ["a.env", "b.env", "c.env"]
    for number, name in enumerate(names):
        (tmp_path / name).write_text(f"# {name}\nNEXPAY_SECRET={secret(950 + number)}\n")
    unit = [
        files._File(str(tmp_path / name), name, (tmp_path / name).stat().st_size) for name in names
    ]
    unit[1] = unit[1]._replace(size=unit[1].size - change)
    found = files._scan_unit(unit, Scanner(load_settings(None, None)), Stats(), files._UnitBuffer())
    assert [(f.file, f.line, f.secret.reveal()) for f in found] == [
        (name, 2, secret(950 + number)) for number, name in enumerate(names)
    ]


def test_a_fifo_put_in_a_walked_files_place_is_read_without_waiting(tmp_path: Path) -> None:
    """A FIFO that took a regular file's place after the walk (no writer) reads as empty:
    the scan neither waits for a writer nor misses the files around it."""
    from nexpay_scan.config import load_settings
    from nexpay_scan.scan import Scanner
    from nexpay_scan.sources import files
    from nexpay_scan.stats import Stats

    (tmp_path / "a.env").write_text(f"NEXPAY_SECRET={secret(953)}\n")
    os.mkfifo(tmp_path / "was-a-file")
    (tmp_path / "c.env").write_text(f"NEXPAY_SECRET={secret(954)}\n")
    unit = [
        files._File(str(tmp_path / name), name, size)
        for name, size in (("a.env", 200), ("was-a-file", 100), ("c.env", 200))
    ]
    found = files._scan_unit(unit, Scanner(load_settings(None, None)), Stats(), files._UnitBuffer())
    assert [f.file for f in found] == ["a.env", "c.env"]
    # in a big file's place (a unit of its own, read a window at a time, then whole)
    big = [files._File(str(tmp_path / "was-a-file"), "was-a-file", 5 << 20)]
    assert (
        files._scan_unit(big, Scanner(load_settings(None, None)), Stats(), files._UnitBuffer())
        == []
    )


@pytest.mark.parametrize("how", ["dies", "fails"])
def test_a_worker_that_dies_or_fails_is_one_line_and_no_worker_is_left(
    cli: CliRun, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    """A forked worker that ends without a result (killed, out of memory) or fails: one
    line, exit 2, never a clean result, and no process left behind."""
    from nexpay_scan.errors import FatalError
    from nexpay_scan.sources import files

    for number in range(40):
        (tmp_path / f"m{number}.py").write_text("x = 1\n" * 2000)
    parent = os.getpid()
    scan_unit = files._scan_unit
    taken = tmp_path / "a worker took a unit"

    def broken(*args: Any, **kwargs: Any) -> list[Any]:
        if os.getpid() != parent:  # in a forked worker only
            taken.touch()
            if how == "dies":
                os._exit(9)
            raise FatalError("the disk went away")
        # this process takes no unit before the worker has taken one: on a busy machine it
        # took them all before the worker started, and the run was (rightly) clean
        deadline = time.monotonic() + 60
        while not taken.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        return scan_unit(*args, **kwargs)

    monkeypatch.setattr(files, "_scan_unit", broken)
    monkeypatch.setattr(files, "PARALLEL_BYTES", 1)
    monkeypatch.setattr(files, "_BATCH_BYTES", 4 << 10)  # (units enough for both)
    before = children()
    run = cli("files", str(tmp_path), "--jobs", "2")
    assert run.code == 2, run.out
    said = "a scan worker ended without a result" if how == "dies" else "the disk went away"
    assert run.err.strip() == f"nexpay-scan: error: {said}"
    assert children() <= before


# Big files: read a window at a time, read whole only when a window may hold a key


def _payloads() -> dict[str, bytes]:
    """What makes a big file hold a key, each in a form the prefilter must see."""
    import base64
    import gzip
    import random

    key = f"NEXPAY_SECRET={secret(960)}\n".encode()
    long_text = b"# settings\n" * 300 + key  # its base64 runs on for 4 KB, over lines
    return {
        "plain": key,
        "base64": base64.b64encode(key),
        "wrapped base64": base64.encodebytes(long_text),
        "gzip in base64": base64.b64encode(gzip.compress(key)),
        # a stream that inflates to the key only past 3 KB of noise, over lines
        "long gzip in base64": base64.encodebytes(
            gzip.compress(random.Random(5).randbytes(3000).hex().encode() + key, mtime=0)
        ),
        "json escape": f'{{"k": "nxp\\u005fsk_{secret(961)[7:]}"}}'.encode(),
        "percent escape": f"?k=nxp%5Fsk_{secret(962)[7:]}&".encode(),
        "custom keyword": b"acme.tok:" + b"0123456789abcdef" * 2,
    }


def prefilter_of(scanner: Any) -> Any:
    from nexpay_scan.prefilter import prefilter_for

    return prefilter_for(scanner.detector.keywords)


_CUSTOM_RULE = (
    '[[rule]]\nid = "acme"\ndescription = "acme"\nkind = "secret"\n'
    "regex = 'acme\\.tok:[0-9a-f]{32}'\nkeywords = [\"acme.tok:\"]\n"
)


@pytest.mark.parametrize("how", ["read", "in memory"])
def test_a_big_file_read_in_windows_is_cleared_only_when_whole_it_would_be(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    """A file over _WINDOW_BYTES is read a window at a time into a buffer that is reused
    (a blob over WINDOWED_LEAST, already in memory, is judged a window at a time too),
    each window ending where no base64 chain can go on and starting a little before the
    last one ended. Whatever stands across a window's end (a key, base64 over lines, an
    escape near "nxp", a user's keyword holding punctuation), the file is cleared only if
    the prefilter clears it read whole; noise alone is cleared."""
    import random

    from nexpay_scan import prefilter
    from nexpay_scan.config import load_settings
    from nexpay_scan.scan import Scanner
    from nexpay_scan.sources import files

    window = 8 << 10
    monkeypatch.setattr(files, "_WINDOW_BYTES", window)
    monkeypatch.setattr(prefilter, "WINDOW_BYTES", window)
    (tmp_path / ".nexpay-scan.toml").write_text(_CUSTOM_RULE)
    scanner = Scanner(load_settings(None, str(tmp_path / ".nexpay-scan.toml")))
    rand = random.Random(7)
    words = ["alpha", "beta", "gamma", "delta", "item", "total", "value", "parse"]
    lines = (
        f"{rand.choice(words)}_{rand.randrange(99)} = {rand.choice(words)}({rand.randrange(9)},"
        f" {rand.choice(words)}); # {rand.choice(words)}.\n"
        for _ in range(5 * window // 20)
    )
    noise = "".join(lines).encode()[: 5 * window]
    path = tmp_path / "big.txt"

    def cleared(content: bytes) -> bool:
        if how == "in memory":
            return prefilter.cleared_in_windows(prefilter_of(scanner), content)
        path.write_bytes(content)
        found = files._File(str(path), "big.txt", len(content))
        return files._cleared_in_windows(found, scanner, files._UnitBuffer())

    assert cleared(noise)
    # where the buffer ends as the noise is read (a window then ends at a byte after the
    # last that no chain holds, before it)
    room, overlap = window + scanner.window_overlap(), scanner.window_overlap()
    ends, start = [], 0
    while start + room < len(noise):
        ends.append(start + room)
        marks = noise[start : start + room].translate(prefilter._MARKS)
        start = start + marks.rfind(b".") + 1 - overlap
    assert len(ends) >= 2
    checked = 0
    for name, payload in _payloads().items():
        for end in ends[:2]:
            # across the end byte by byte (coarser for a long payload), and far enough
            # before it that only the overlap holds the payload whole
            across = range(end - len(payload) - 1, end + 2, 1 if len(payload) < 300 else 29)
            before = range(end - len(payload) - overlap - 60, end - len(payload), 211)
            for at in sorted({*across, *before}):
                content = noise[:at] + payload + noise[at + len(payload) :]
                assert scanner.could_hold_keys([content]) == {0}, name
                assert not cleared(content), (name, at)
                checked += 1
    assert checked > 1000


def test_a_block_with_a_big_object_names_the_objects_that_may_hold_keys(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """In a block of several objects (a batch of blobs), one over WINDOWED_LEAST is judged
    a window at a time and the objects around it as a block of their own: each object is
    named as when the block is judged whole, and exactly those in which the scan finds a
    key. Base64 in a binary object is not (the decoders decode no token of binary content),
    the same base64 in text is."""
    import base64
    import random

    from nexpay_scan import prefilter
    from nexpay_scan.config import load_settings
    from nexpay_scan.scan import Scanner, _joined

    monkeypatch.setattr(prefilter, "WINDOW_BYTES", 8 << 10)
    monkeypatch.setattr(prefilter, "WINDOWED_LEAST", 32 << 10)
    scanner = Scanner(load_settings(None, None))
    noise = random.Random(11).randbytes(40 << 10)
    key = f"NEXPAY_SECRET={secret(966)}\n".encode()
    small = b"x = 1\n" * 100
    hidden = base64.b64encode(key)
    text = noise.replace(b"\0", b"\n")  # (no NUL: text, as git and the decoders tell it)
    assert b"\0" in noise[:8000]
    for contents, expected in (
        ([small, noise, small], set()),
        ([small + key, noise, small], {0}),
        ([small, noise[:20000] + key + noise[20000:], small], {1}),
        ([small, noise, hidden], {2}),
        ([noise, noise[:30000] + hidden + noise[30000:], small + key, noise], {2}),
        ([noise, text[:30000] + b"\n" + hidden + b"\n" + text[30000:], small, noise], {1}),
        ([text[:7000] + b"\0\n" + hidden, small, noise + hidden + noise], set()),
        ([small, text[:9000] + b"\0\n" + hidden, small], {1}),  # (a NUL past 8000 bytes)
    ):
        block, starts = _joined(contents)
        sizes = [len(c) for c in contents]
        whole = prefilter._suspect_block(prefilter_of(scanner), block, starts, sizes)
        assert prefilter.suspect_objects(prefilter_of(scanner), block, starts, sizes) == whole
        assert whole == expected
        found = {n for n, c in enumerate(contents) if any(True for _ in scanner.sightings(c))}
        assert found == expected


def test_big_files_find_what_a_whole_read_finds(cli: CliRun, tmp_path: Path) -> None:
    """Through the command, at the real window size: a key near a window's end in a big
    binary, in a big file of base64 (which has nowhere to cut a window: read whole), and
    in one that grew since the walk is found; a big file of noise is scanned and clean."""
    import base64
    import random

    noise = random.Random(8).randbytes(3 << 20)
    key = f"NEXPAY_SECRET={secret(963)}\n".encode()
    tree = tmp_path / "tree"
    tree.mkdir()
    at = (1 << 20) - 20
    (tree / "a.bin").write_bytes(noise[:at] + key + noise[at:])
    text = (b"# line\n" * 200_000) + key
    (tree / "b.txt").write_bytes(base64.encodebytes(text))
    (tree / "c.bin").write_bytes(noise)
    run = cli("files", str(tree), "--format", "json", "--no-redact")
    found = sorted((f["file"], f["match"]) for f in run.json()["findings"])
    assert found == [("tree/a.bin", secret(963)), ("tree/b.txt", secret(963))]
    assert run.json()["summary"]["files_scanned"] == 3
    sizes = sum(path.stat().st_size for path in tree.iterdir())
    assert run.json()["summary"]["bytes_scanned"] == sizes
    # the same files named on the command line (as pre-commit passes them)
    named = cli(
        "files", *(str(tree / name) for name in ("a.bin", "b.txt", "c.bin")), "--format", "json"
    )
    assert [f["file"] for f in named.json()["findings"]] == ["tree/a.bin", "tree/b.txt"]
    assert named.json()["summary"]["bytes_scanned"] == sizes


def test_big_archives_and_utf16_files_are_opened_whole(cli: CliRun, tmp_path: Path) -> None:
    """What the decoders open whole is told from a big file's first window: a zip, a
    gzip stream, UTF-16 text without a byte-order mark, each over a window, with the key
    in what they hold (compressed, or in two bytes a character)."""
    import gzip
    import random

    key = f"NEXPAY_SECRET={secret(965)}\n"
    filler = "".join(f"line {n} of the settings file\n" for n in range(60_000))
    assert len(filler) > 1 << 20
    (tmp_path / "a.zip").write_bytes(_zip_with_stored_filler(filler.encode(), key.encode()))
    noise = random.Random(10).randbytes(1 << 20).hex().encode()
    (tmp_path / "b.gz").write_bytes(gzip.compress(noise + key.encode(), mtime=0))
    (tmp_path / "c.txt").write_bytes((filler + key).encode("utf-16-le"))
    for name in ("a.zip", "b.gz", "c.txt"):
        assert (tmp_path / name).stat().st_size > 1 << 20
    run = cli("files", str(tmp_path), "--format", "json", "--no-redact")
    found = sorted((f["file"].rsplit("/", 1)[-1], f["match"]) for f in run.json()["findings"])
    assert found == [(name, secret(965)) for name in ("a.zip", "b.gz", "c.txt")]


def _zip_with_stored_filler(filler: bytes, key: bytes) -> bytes:
    """A zip whose first member is `filler` as it is, and whose last holds `key`
    compressed (nowhere in the zip's bytes as it is)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("filler.txt", filler, compress_type=zipfile.ZIP_STORED)
        archive.writestr("app.env", key * 3, compress_type=zipfile.ZIP_DEFLATED)
    assert key not in out.getvalue()
    return out.getvalue()


@pytest.mark.parametrize("change", [-7, 7])
def test_a_big_file_whose_size_changed_since_the_walk_is_read_as_it_is_now(
    tmp_path: Path, change: int
) -> None:
    import random

    from nexpay_scan.config import load_settings
    from nexpay_scan.scan import Scanner
    from nexpay_scan.sources import files
    from nexpay_scan.stats import Stats

    content = random.Random(9).randbytes(3 << 20) + f"K={secret(964)}\n".encode()
    (tmp_path / "big.bin").write_bytes(content)
    unit = [files._File(str(tmp_path / "big.bin"), "big.bin", len(content) - change)]
    found = files._scan_unit(unit, Scanner(load_settings(None, None)), Stats(), files._UnitBuffer())
    assert [f.secret.reveal() for f in found] == [secret(964)]


def test_files_named_one_by_one_are_named_as_in_their_folders(
    cli: CliRun, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each named file's folder is resolved once for all the files named in it (a link
    to a folder is shown where it leads, the file itself as named), and the names are
    those a scan of the folder gives."""
    tree = tmp_path / "tree"
    (tree / "app" / "conf").mkdir(parents=True)
    (tree / "other").mkdir()
    for number, name in enumerate(["app/a.env", "app/conf/b.env", "other/c.env", "d.env"]):
        (tree / name).write_text(f"NEXPAY_SECRET={secret(970 + number)}\n")
    (tmp_path / "via").symlink_to(tree / "app")
    monkeypatch.chdir(tree)
    named = cli(
        "files",
        "app/a.env",
        str(tmp_path / "via" / "conf" / "b.env"),
        "other/../other/c.env",
        "d.env",
        "--format",
        "json",
    )
    assert sorted(f["file"] for f in named.json()["findings"]) == [
        "app/a.env",
        "app/conf/b.env",
        "d.env",
        "other/c.env",
    ]
    walked = cli("files", ".", "--format", "json")
    assert sorted(f["file"] for f in walked.json()["findings"]) == sorted(
        f["file"] for f in named.json()["findings"]
    )


def test_a_fifo_named_on_the_command_line_is_read_as_its_writer_feeds_it(
    cli: CliRun, tmp_path: Path
) -> None:
    """A FIFO named among files is read as a stream (waiting for its writer), not laid
    out by a size it does not have."""
    import threading

    (tmp_path / "a.env").write_text(f"NEXPAY_SECRET={secret(975)}\n")
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)

    def write() -> None:
        with open(fifo, "w") as stream:
            stream.write(f"NEXPAY_SECRET={secret(976)}\n")

    writer = threading.Thread(target=write, daemon=True)  # (never left holding the run)
    writer.start()
    run = cli("files", str(tmp_path / "a.env"), str(fifo), "--format", "json", "--no-redact")
    writer.join(timeout=10)
    assert [f["match"] for f in run.json()["findings"]] == [secret(975), secret(976)]
