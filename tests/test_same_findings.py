"""The same content gives the same findings in every mode: `files`, `staged`, `history`
(both engines), `ci`, `pre-push` and `pre-receive` report the same (secret, file, line)
set, whatever form a key hides in (percent-escapes, string escapes, base64 in a Secret
manifest or a JSON field, double base64, a Basic header, UTF-16 without a BOM, hex, a
bzip2 file)."""

from __future__ import annotations

import base64
import bz2
import gzip
import io
import os
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from testing.cli import CliRun, Result, with_stdin
from testing.git_repo import Repo, git
from testing.keys import client_id, legacy_client_id, legacy_secret, secret

Place = tuple[str, str, int]  # (secret, file, line)


def b64(text: str | bytes) -> str:
    raw = text.encode() if isinstance(text, str) else text
    return base64.b64encode(raw).decode()


# -- the forms a key leaks in: (file name, content) for a key -------------------------------


def plain(key: str) -> tuple[str, bytes]:
    return "app.env", f"NEXPAY_SECRET={key}\n".encode()


def percent(key: str) -> tuple[str, bytes]:
    escaped = key.replace("_", "%5F")
    return "urls.txt", f"callback = https://example.org/cb?token={escaped}&x=1\n".encode()


def notebook(key: str) -> tuple[str, bytes]:
    escaped = key.replace("_", "\\u005f")
    cell = f'  "source": ["k = \\"{escaped}\\"\\n"],\n'
    return "analysis.ipynb", ('{\n "cells": [{\n' + cell + '  "outputs": []}]\n}\n').encode()


def kube_secret(key: str) -> tuple[str, bytes]:
    env = f"LOG_LEVEL=debug\nPAYMENTS_KEY={key}\nREGION=eu\n"
    manifest = (
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: app\ntype: Opaque\n"
        f"data:\n  .env: {b64(env)}\n"
    )
    return "k8s/secret.yaml", manifest.encode()


def basic_auth(key: str) -> tuple[str, bytes]:
    token = b64(f"{client_id(int(key[-3:], 36) % 1000)}:{key}")
    script = f"#!/bin/sh\ncurl -H 'Authorization: Basic {token}' https://example.org/hook\n"
    return "deploy.sh", script.encode()


def json_field(key: str) -> tuple[str, bytes]:
    return "fixtures/event.json", f'{{"id": 7, "blob": "{b64("token " + key)}"}}\n'.encode()


def double_base64(key: str) -> tuple[str, bytes]:
    return "blob.txt", f"payload: {b64(b64('key=' + key))}\n".encode()


def utf16_no_bom(key: str) -> tuple[str, bytes]:
    return "setup.ps1", f"$env:PAYMENTS = '{key}'\r\nWrite-Host ok\r\n".encode("utf-16-le")


def wrapped_env(key: str) -> tuple[str, bytes]:
    env = "".join(f"SETTING_{n}=value-{n}\n" for n in range(int(key[-2:], 36) % 7))
    return "env.b64", base64.encodebytes(f"{env}PAYMENTS={key}\nDEBUG=0\n".encode())


def gzip_base64(key: str) -> tuple[str, bytes]:
    packed = gzip.compress(f"token: {key}\n".encode(), mtime=0)
    return "values.yaml", f"config:\n  packed: {b64(packed)}\n".encode()


def legacy_in_base64(key: str) -> tuple[str, bytes]:
    seed = int(key[-4:], 36)
    env = f"NexPay_Client={legacy_client_id(seed)}\nNEXPAY_SECRET={legacy_secret(seed)}\n"
    return "k8s/legacy.yaml", f"kind: Secret\ndata:\n  env: {b64(env)}\n".encode()


def ruler_glued(key: str) -> tuple[str, bytes]:
    # a ruler of dashes (URL-safe base64 too) right after the token and right before one
    token = b64(f"NEXPAY_SECRET={key}\n").rstrip("=")
    return "notes.txt", f"# {'-' * 40}\nblob: {token}{'-' * 60}\n".encode()


def hexed(key: str) -> tuple[str, bytes]:
    return "fixtures/payload.txt", f"data = {f'token={key}'.encode().hex()}\n".encode()


def bzip2_file(key: str) -> tuple[str, bytes]:
    return "backup/app.env.bz2", bz2.compress(f"LOG_LEVEL=debug\nPAYMENTS={key}\n".encode())


def seven_zipped(key: str) -> tuple[str, bytes]:
    from testing.archives import seven_zip

    return "backup/conf.7z", seven_zip({"conf/app.env": f"PAYMENTS={key}\n".encode()})


def lz4_file(key: str) -> tuple[str, bytes]:
    import lz4.frame

    env = f"LOG_LEVEL=debug\nPAYMENTS={key}\n".encode()
    return "logs/app.env.lz4", bytes(lz4.frame.compress(env))


def zipped(key: str) -> tuple[str, bytes]:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("conf/app.env", f"KEY={key}\n")
    return "bundle.zip", buffer.getvalue()


FORMS: dict[str, Callable[[str], tuple[str, bytes]]] = {
    "plain": plain,
    "percent": percent,
    "notebook": notebook,
    "kube_secret": kube_secret,
    "basic_auth": basic_auth,
    "json_field": json_field,
    "double_base64": double_base64,
    "utf16_no_bom": utf16_no_bom,
    "wrapped_env": wrapped_env,
    "gzip_base64": gzip_base64,
    "legacy_in_base64": legacy_in_base64,
    "zipped": zipped,
    "ruler_glued": ruler_glued,
    "hexed": hexed,
    "bzip2_file": bzip2_file,
    "seven_zipped": seven_zipped,
    "lz4_file": lz4_file,
}


# -- every mode, run on the same content ----------------------------------------------------


def _places(run: Result) -> set[Place]:
    assert run.code in (0, 1), run.err
    found = run.json()["findings"]
    return {(f["match"], f["file"], f["line"]) for f in found if f["kind"] != "suppression"}


def every_mode(
    cli: CliRun,
    root: Path,
    contents: dict[str, bytes],
    take: Callable[[Result], set[Any]] = _places,
) -> dict[str, set[Any]]:
    """Writes `contents` into a new repository and scans it in every mode: what each
    reports, as `take` reads it from the run (by default (secret, file, line))."""
    repo = Repo(root / "repo")
    repo.write("README.md", "start\n")
    base = repo.commit("start")
    for name, data in contents.items():
        repo.write(name, data)
    repo.stage()
    flags = ("--format", "json", "--no-redact")
    where = ("--repo", str(repo.path))
    found = {
        "files": take(cli("files", str(repo.path), *flags)),
        "staged": take(cli("staged", *where, *flags)),
    }
    head = repo.commit("add")
    for engine in ("diff", "blob"):
        run = cli("history", *where, "--engine", engine, "--all-occurrences", *flags)
        found[f"history-{engine}"] = take(run)
    found["ci"] = take(cli("ci", "--base", base, *where, "--all-occurrences", *flags))
    found["pre-push"] = take(with_stdin(cli, "", "pre-push", *where, *flags))
    server = root / "server.git"
    git(root, "init", "-q", "--bare", str(server))
    git(server, "fetch", "-q", str(repo.path), "main")  # objects in, no ref moved yet
    line = f"{'0' * 40} {head} refs/heads/main\n"
    received = with_stdin(cli, line, "pre-receive", "--repo", str(server), *flags)
    found["pre-receive"] = take(received)
    return found


def assert_same(found: dict[str, set[Place]], expected: set[Place]) -> None:
    wrong = {mode: places ^ expected for mode, places in found.items() if places != expected}
    assert not wrong, f"modes differing from {sorted(expected)}: {wrong}"


@pytest.mark.parametrize("form", sorted(FORMS))
def test_each_form_is_found_in_every_mode(cli: CliRun, tmp_path: Path, form: str) -> None:
    key = secret(300 + sorted(FORMS).index(form))
    name, data = FORMS[form](key)
    found = every_mode(cli, tmp_path, {name: data})
    assert found["files"], "files finds the key"
    assert_same(found, found["files"])


# -- the property: random files with keys in random forms -----------------------------------

_FILLER = st.sampled_from(
    ["", "x = 1", "# notes", "port: 8080", "  - item", "ZGF0YQ==", "name = value"]
)


# no text lines to add around
_WHOLE = {"utf16_no_bom", "zipped", "wrapped_env", "bzip2_file", "seven_zipped", "lz4_file"}


@st.composite
def leaky_files(draw: st.DrawFn) -> dict[str, bytes]:
    """A few files, each with a key in some form among filler lines."""
    files: dict[str, bytes] = {}
    seeds = draw(st.lists(st.integers(0, 10**6), min_size=1, max_size=4, unique=True))
    for number, seed in enumerate(seeds):
        form = draw(st.sampled_from(sorted(FORMS)))
        name, data = FORMS[form](secret(seed))
        before = "".join(f"{line}\n" for line in draw(st.lists(_FILLER, max_size=6)))
        after = "".join(f"{line}\n" for line in draw(st.lists(_FILLER, max_size=3)))
        if form == "utf16_no_bom":
            data = before.replace("\n", "\r\n").encode("utf-16-le") + data
        elif form not in _WHOLE:
            data = before.encode() + data + after.encode()
        folder = draw(st.sampled_from(["", "src/", "deploy/"]))
        files[f"{folder}{number}-{name.replace('/', '-')}"] = data
    return files


@settings(
    max_examples=int(os.environ.get("SAME_FINDINGS_EXAMPLES", "25")),
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(contents=leaky_files())
def test_every_mode_reports_the_same_places(
    cli: CliRun, tmp_path_factory: pytest.TempPathFactory, contents: dict[str, bytes]
) -> None:
    found = every_mode(cli, tmp_path_factory.mktemp("same"), contents)
    assert_same(found, found["files"])
    assert len({key for key, _, _ in found["files"]}) >= len(contents)
