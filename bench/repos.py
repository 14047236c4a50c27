"""Repositories to measure on: a synthetic history written with git fast-import (cached),
checks of a given repository, and `--make-copy` for snapshots missing objects; plus the
synthetic code and keys every bench plants."""

from __future__ import annotations

import json
import os
import random
import shutil
import string
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import IO

from measure import Context

PROJECT_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_DIR))  # the checksum is nexpay-scan's own
from nexpay_scan.checksum import secret_checksum  # noqa: E402

GENERATOR_VERSION = 1  # bump when the synthetic repository's layout changes
FEATURE_COMMITS = 30  # per feature branch (4 of them, each merged into main)
RELEASE_COMMITS = 10  # on release/1.x, never merged
_B62 = string.digits + string.ascii_uppercase + string.ascii_lowercase


def git(*args: str, cwd: str | Path | None = None, check: bool = True) -> str:
    out = subprocess.run(
        ["git", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    if check and out.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)}: {out.stderr.strip()}")
    return out.stdout


def nexpay_secret(rng: random.Random, *, valid: bool = True) -> str:
    body = "nxp_sk_" + "".join(rng.choice(_B62) for _ in range(36))
    check = secret_checksum(body)
    if not valid:  # same shape, wrong checksum: not a Nexpay secret
        check = check[:-1] + ("A" if check[-1] != "A" else "B")
    return body + check


def nexpay_client_id(rng: random.Random) -> str:
    return "nxp_cid_" + "".join(rng.choice(_B62) for _ in range(24))


WORDS = (
    "account", "amount", "balance", "batch", "buffer", "cache", "client", "config", "count",
    "cursor", "data", "delta", "entry", "event", "field", "handler", "index", "item", "limit",
    "list", "name", "node", "offset", "order", "page", "path", "record", "result", "row",
    "session", "size", "state", "status", "table", "total", "user", "value", "window", "queue",
    "retry", "invoice", "ledger", "refund", "payout", "report", "schedule", "worker",
)  # fmt: skip


# The kinds of line `code_line` writes, one drawn per line (the tenth kind: a blank line).
_LINE_KINDS = (
    "def {a}_{b}({c}, limit={n}):",
    "    {a} = {b}.get({c!r}, {n})",
    "    if {a}_{b} > {n}:",
    "        return {a}.{b}({c}, {n})",
    "    # {a} the {b} before the {c} is written",
    "    for {a} in {b}.{c}s[:{n}]:",
    "        {a}_{b} += len({c}) * {n}",
    '    log.debug("{a} %s {b} %d", {c}, {n})',
    "class {A}{B}({C}Base):",
    "",
)


def code_line(rng: random.Random) -> str:
    """One line of ordinary, Python-looking code."""
    a, b, c = rng.choice(WORDS), rng.choice(WORDS), rng.choice(WORDS)
    n = rng.randrange(1000)
    kind = _LINE_KINDS[rng.randrange(10)]
    return kind.format(a=a, b=b, c=c, n=n, A=a.title(), B=b.title(), C=c.title())


def code_text(rng: random.Random, lines: int) -> list[str]:
    return [code_line(rng) for _ in range(lines)]


def mutate(rng: random.Random, lines: list[str]) -> None:
    """A small edit: a few lines replaced, inserted or deleted."""
    for _ in range(rng.randint(1, 3)):
        op = rng.randrange(4)
        i = rng.randrange(len(lines))
        if op == 0 and len(lines) > 25:
            del lines[i]
        elif op == 1 and len(lines) < 110:
            lines.insert(i, code_line(rng))
        else:
            lines[i] = code_line(rng)


# --------------------------------------------------------------------------
# synthetic repository (git fast-import)
# --------------------------------------------------------------------------


class FastImport:
    """Writes a git fast-import stream."""

    def __init__(self, out: IO[bytes]) -> None:
        self.out = out
        self.mark = 0
        self.when = 1_500_000_000

    def data(self, payload: bytes) -> None:
        self.out.write(b"data %d\n" % len(payload))
        self.out.write(payload)
        self.out.write(b"\n")

    def commit(
        self,
        ref: str,
        message: str,
        changes: Sequence[tuple[str, bytes | None]],
        *,
        parent: int | None = None,
        merge: int | None = None,
    ) -> int:
        self.mark += 1
        self.when += 317
        out = self.out
        out.write(f"commit {ref}\nmark :{self.mark}\n".encode())
        who = f"Bench Author <bench@example.invalid> {self.when} +0000\n"
        out.write(f"author {who}committer {who}".encode())
        self.data(message.encode())
        if parent is not None:
            out.write(f"from :{parent}\n".encode())
        if merge is not None:
            out.write(f"merge :{merge}\n".encode())
        for path, content in changes:
            if content is None:
                out.write(f"D {path}\n".encode())
            else:
                out.write(f"M 100644 inline {path}\n".encode())
                self.data(content)
        out.write(b"\n")
        return self.mark

    def reset(self, ref: str, mark: int) -> None:
        self.out.write(f"reset {ref}\nfrom :{mark}\n\n".encode())


def _content(lines: list[str]) -> bytes:
    return ("\n".join(lines) + "\n").encode()


def write_synthetic_history(out: IO[bytes], commits: int, seed: int) -> dict[str, list[str]]:
    """The fast-import stream of a synthetic repository; returns the planted keys."""
    rng = random.Random(seed)
    fi = FastImport(out)
    dirs = ["src/core", "src/api", "src/billing", "src/util", "tests", "docs", "tools"]
    paths = [f"{dirs[i % len(dirs)]}/{rng.choice(WORDS)}_{i}.py" for i in range(300)]
    files = [code_text(rng, rng.randint(30, 90)) for _ in paths]
    planted: dict[str, list[str]] = {"valid": [], "client_ids": [], "invalid": []}

    main = "refs/heads/main"
    tip = fi.commit(
        main, "initial import", [(p, _content(f)) for p, f in zip(paths, files, strict=True)]
    )
    # Side branches are scheduled on the main line's commit count `step`, so that
    # the main line plus the side commits make `commits` in all.
    n_features = 4 if commits >= 400 else 0
    with_release = commits >= 200
    n_main = commits - 1 - FEATURE_COMMITS * n_features - RELEASE_COMMITS * with_release
    feature_at = {n_main * (k + 1) // (n_features + 1): k for k in range(n_features)}
    release_at = n_main // 2 + 1 if with_release else -1
    key_at = {n_main * (k + 1) // 8: k for k in range(7)}  # 6 valid keys + 1 decoy
    tag_every = max(n_main // 10, 1)
    removals: dict[int, str] = {}

    for step in range(n_main):
        changes: list[tuple[str, bytes | None]] = []
        for _ in range(rng.choice((1, 1, 2, 2, 3))):
            i = rng.randrange(len(paths))
            mutate(rng, files[i])
            changes.append((paths[i], _content(files[i])))
        if step in key_at:
            k = key_at[step]
            secret = nexpay_secret(rng, valid=k != 6)
            client = nexpay_client_id(rng)
            planted["valid" if k != 6 else "invalid"].append(secret)
            planted["client_ids"].append(client)
            path = f"config/nexpay_{k}.py"
            body = f'NEXPAY_CLIENT_ID = "{client}"\nNEXPAY_SECRET = "{secret}"\n'
            changes.append((path, body.encode()))
            if k % 2 == 0:
                removals[step + 3] = path  # the leak lives on only in history
        if step in removals:
            changes.append((removals.pop(step), None))
        if step in feature_at:
            changes.extend(_feature_branch(fi, rng, feature_at[step], tip))
            tip = fi.commit(
                main, f"Merge branch 'feature/{feature_at[step]}'", changes, merge=fi.mark
            )
        else:
            tip = fi.commit(main, f"update {changes[0][0]}", changes)
        if (step + 1) % tag_every == 0:
            fi.reset(f"refs/tags/v0.{(step + 1) // tag_every}", tip)
        if step == release_at:
            _release_branch(fi, rng, tip, planted)
    out.write(b"done\n")
    return planted


def _release_branch(
    fi: FastImport, rng: random.Random, base: int, planted: dict[str, list[str]]
) -> None:
    """A branch that is never merged, with a key that only it has."""
    ref = "refs/heads/release/1.x"
    notes = ["# Release notes 1.x", ""]
    secret = nexpay_secret(rng)
    planted["valid"].append(secret)
    for n in range(RELEASE_COMMITS):
        notes.append(f"- hotfix {n}: {code_line(rng).strip()}")
        changes: list[tuple[str, bytes | None]] = [("RELEASE-1.x.md", _content(notes))]
        if n == 4:
            changes.append(("config/release.env", f"NEXPAY_SECRET={secret}\n".encode()))
        fi.commit(ref, f"hotfix {n}", changes, parent=base if n == 0 else None)


def _feature_branch(
    fi: FastImport, rng: random.Random, k: int, base: int
) -> list[tuple[str, bytes | None]]:
    """A branch off `base`, on files of its own; returns what its merge adds.

    Its tip is the last mark written (fi.mark), for the merge commit that follows.
    """
    ref = f"refs/heads/feature/{k}"
    own = {f"src/feature{k}/{rng.choice(WORDS)}_{j}.py": code_text(rng, 40) for j in range(5)}
    for n in range(FEATURE_COMMITS):
        path = rng.choice(list(own))
        mutate(rng, own[path])
        changes: list[tuple[str, bytes | None]] = [(path, _content(own[path]))]
        fi.commit(ref, f"feature {k}: step {n}", changes, parent=base if n == 0 else None)
    return [(p, _content(lines)) for p, lines in own.items()]


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "nexpay-scan-bench"


def generated_repo(ctx: Context, commits: int) -> Path:
    """A cached synthetic bare repository of about `commits` commits."""
    seed = ctx.args.seed
    root = Path(ctx.args.cache_dir) if ctx.args.cache_dir else cache_dir()
    dest = root / f"generated-v{GENERATOR_VERSION}-n{commits}-s{seed}.git"
    if (dest / "nexpay-bench.json").is_file():
        return dest
    root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=dest.name + ".", dir=root))
    try:
        print(f"building {dest} ({commits} commits) ...", file=sys.stderr)
        started = time.perf_counter()
        git("init", "--bare", "--quiet", "--initial-branch=main", str(tmp))
        proc = subprocess.Popen(
            ["git", "fast-import", "--quiet", "--done"],
            cwd=tmp,
            stdin=subprocess.PIPE,
            bufsize=1 << 20,
        )
        assert proc.stdin is not None
        try:
            planted = write_synthetic_history(proc.stdin, commits, seed)
        finally:
            proc.stdin.close()
        if proc.wait() != 0:
            raise RuntimeError("git fast-import failed")
        # fast-import's deltas are poor (210 MB for 100k commits); as `git gc` would: 109 MB
        git("repack", "-a", "-d", "-f", "-q", "--window=10", "--depth=50", cwd=tmp)
        git("symbolic-ref", "HEAD", "refs/heads/main", cwd=tmp)
        info = {"commits": commits, "seed": seed, "planted": planted}
        (tmp / "nexpay-bench.json").write_text(json.dumps(info, indent=2) + "\n")
        if dest.exists():
            shutil.rmtree(dest)
        tmp.rename(dest)
        print(f"built in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return dest


# --------------------------------------------------------------------------
# repository checks and the --make-copy helper
# --------------------------------------------------------------------------


def missing_objects(repo: Path) -> list[str]:
    """Objects reachable from some ref that are absent and not replaced (refs/replace)."""
    # Streamed: the bench's own peak RSS is the floor of every RSS figure (run_once).
    proc = subprocess.Popen(
        ["git", "-C", str(repo), "rev-list", "--objects", "--all", "--missing=print"],
        stdout=subprocess.PIPE,
    )
    assert proc.stdout is not None
    missing = [line[1:].decode().strip() for line in proc.stdout if line.startswith(b"?")]
    if proc.wait() != 0:
        raise RuntimeError(f"git rev-list --objects --all failed in {repo}")
    if not missing:
        return []
    replaced = set(
        git(
            "-C", str(repo), "for-each-ref", "--format=%(refname:lstrip=2)", "refs/replace/"
        ).split()
    )
    return [oid for oid in missing if oid not in replaced]


def make_copy(src: Path, dest: Path) -> None:
    """A bare copy of `src` whose missing blobs are replaced by placeholders.

    Snapshots of public repositories can lack their largest blobs; then
    `git log -p` (and every scanner built on it) stops at the first one.  The copy
    gets a `refs/replace/<missing>` ref for each, pointing to a small binary
    placeholder blob, so history reads end to end.  `src` is only read.
    """
    if dest.exists():
        raise SystemExit(f"{dest} exists")
    git("clone", "--mirror", "--no-hardlinks", "--quiet", str(src), str(dest))
    git("config", "--remove-section", "remote.origin", cwd=dest, check=False)
    missing = missing_objects(dest)
    if missing:
        placeholder = (
            subprocess.run(
                ["git", "hash-object", "-w", "--stdin"],
                cwd=dest,
                input=b"placeholder: object missing from the source snapshot\0",
                capture_output=True,
                check=True,
            )
            .stdout.decode()
            .strip()
        )
        for oid in missing:
            git("update-ref", f"refs/replace/{oid}", placeholder, cwd=dest)
    for oid in missing:  # `cat-file -t` reads through refs/replace (`-e` does not)
        git("cat-file", "-t", oid, cwd=dest)
    print(f"{dest}: {len(missing)} missing object(s) replaced by a placeholder blob")
