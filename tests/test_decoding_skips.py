"""What decoding did not open or read whole is named in every format, by file and reason
(issue 14 §5): archive members past a bound (size, count, depth), compression methods not
read, encrypted members, the decoding budget spent, the token cap reached; and
`--fail-on skipped` fails on them. Real archives, built by zipfile and tarfile."""

from __future__ import annotations

import base64
import gzip
import json
import random
import zipfile
from pathlib import Path

import pytest

from nexpay_scan.decoders import MAX_MEMBER_SIZE, MAX_MEMBERS, MAX_TOKENS, MAX_TOTAL, MIB
from nexpay_scan.decoders.archives import LOOKED_AT_MOST, PIECE
from testing.archives import seven_zip, tar_of, with_method, zip_of
from testing.cli import CliRun
from testing.git_repo import Repo
from testing.keys import legacy_secret, secret
from testing.results import gaps

MEMBER_CUT = f"more than {MAX_MEMBER_SIZE} bytes to decode: the rest not decoded"
ENV = f"NEXPAY_SECRET={secret(7)}\n".encode()
LEGACY = legacy_secret(7)


def marked_encrypted(archive: bytes) -> bytes:
    """`archive` with each member's "encrypted" flag set, in its local and central headers
    (zipfile writes no encrypted zips; readers go by the flag)."""
    data = bytearray(archive)
    for magic, flags in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        at = data.find(magic)
        while at >= 0:
            data[at + flags] |= 0x1
            at = data.find(magic, at + 4)
    return bytes(data)


# a 7z archive whose headers are encrypted: named, not opened
SEVEN_ZIP = seven_zip({"app/.env": ENV}, password="x", header_encryption=True)
SEVEN_ZIP_NOT_READ = "a 7z archive: compressed with AES (encrypted): its members not decoded"


def skipped(cli: CliRun, where: str) -> list[tuple[str, str]]:
    return gaps(cli("files", where, "--format", "json"))


# the bulk of each: a MiB of text (deflated to almost nothing) or more
BIG = b"LOG_LEVEL=debug\n" * (MAX_MEMBER_SIZE // 16 + 4096)
NAMED = b"# nexpay\n" + BIG
HOT = b"nexpay_region=eu\n" * (MAX_MEMBER_SIZE // 17 + 4096)  # Nexpay named in every piece
MANY_MEMBERS = (
    f"more than {MAX_MEMBERS} members that could hold a key (or {LOOKED_AT_MOST} in all): "
    "those past them not decoded"
)
CASES: dict[str, tuple[bytes, list[tuple[str, str]]]] = {
    # (members that could hold a key: those that cannot are read on, see below)
    "zip member over the size bound": (
        zip_of({".env": ENV, "big.log": HOT}),
        [("bundle (zip:big.log)", MEMBER_CUT)],
    ),
    "tar member over the size bound": (
        tar_of({"big.log": HOT}, "w"),
        [("bundle (tar:big.log)", MEMBER_CUT)],
    ),
    "gzip stream over the size bound": (gzip.compress(HOT), [("bundle (gzip)", MEMBER_CUT)]),
    "zip with too many members": (  # (each could hold a key: harmless ones are not counted)
        zip_of({f"m{n}.txt": b"nexpay" for n in range(MAX_MEMBERS + 1)}),
        [("bundle (zip)", MANY_MEMBERS)],
    ),
    "zip with too many members, one of two pieces across the bound": (
        zip_of(
            {
                **{f"a{n}.txt": b"nexpay" for n in range(MAX_MEMBERS - 1)},
                "big.log": HOT,
                **{f"z{n}.txt": b"nexpay" for n in range(5)},
            }
        ),
        [("bundle (zip)", MANY_MEMBERS), ("bundle (zip:big.log)", MEMBER_CUT)],
    ),
    "zip with too many members looked at": (  # (harmless ones: bounded all the same)
        zip_of({f"m{n}.txt": b"x" for n in range(LOOKED_AT_MOST + 1)}),
        [("bundle (zip)", MANY_MEMBERS)],
    ),
    "tar.gz with too many members": (
        tar_of({f"m{n}.txt": b"nexpay" for n in range(MAX_MEMBERS + 1)}, "w:gz"),
        [("bundle (gzip>tar)", MANY_MEMBERS)],
    ),
    "ppmd member": (
        with_method(zip_of({"b.env": ENV}, zipfile.ZIP_DEFLATED), 98),
        [("bundle (zip:b.env)", "archive member compressed with ppmd: not decoded")],
    ),
    "7z archive": (
        SEVEN_ZIP,
        [("bundle", SEVEN_ZIP_NOT_READ)],
    ),
    "RAR archive": (
        b"Rar!\x1a\x07\x01\x00" + random.Random(8).randbytes(400),
        [("bundle", "a RAR archive: its members not decoded")],
    ),
    "7z in a zip": (
        zip_of({"old/backup.7z": SEVEN_ZIP}),
        [("bundle (zip:old/backup.7z)", SEVEN_ZIP_NOT_READ)],
    ),
    "7z in base64": (
        b"payload: " + base64.b64encode(SEVEN_ZIP) + b"\n",
        [("bundle (base64)", SEVEN_ZIP_NOT_READ)],
    ),
    "member of an unknown method": (
        with_method(zip_of({"a.env": ENV}, zipfile.ZIP_DEFLATED), 77),
        [("bundle (zip:a.env)", "archive member compressed with method 77: not decoded")],
    ),
    "bzip2 member with no local header": (
        zip_of({"d.env": ENV}, zipfile.ZIP_BZIP2).replace(b"PK\x03\x04", b"PK\x03\x05", 1),
        [("bundle (zip:d.env)", "archive member compressed with bzip2: not found")],
    ),
    "encrypted member": (
        marked_encrypted(zip_of({"c.env": ENV}, zipfile.ZIP_STORED)),
        [("bundle (zip:c.env)", "encrypted archive member: not decoded")],
    ),
    "archive nested past the depth bound": (
        zip_of({"mid.zip": zip_of({"inner.zip": zip_of({".env": ENV})})}),
        [
            (
                "bundle (zip:mid.zip>zip:inner.zip>zip)",
                "zip nested more than 2 decodings deep: not decoded",
            )
        ],
    ),
    "decoding budget spent": (  # (members that could hold a key: harmless ones give it back)
        zip_of({f"part{n}.log": NAMED[:MAX_MEMBER_SIZE] for n in range(MAX_TOTAL // MIB + 1)}),
        [
            (
                "bundle",
                f"decoding stopped after {MAX_TOTAL} bytes of decoded text: encoded content "
                "past it not decoded",
            )
        ],
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_what_decoding_passed_over_is_named(cli: CliRun, repo: Repo, case: str) -> None:
    content, expected = CASES[case]
    repo.write("bundle", content)
    assert skipped(cli, str(repo.path)) == expected


def test_token_cap_reached_is_named(cli: CliRun, repo: Repo) -> None:
    # each token decodes to text naming Nexpay: a key could be in one, so all are decoded
    token = base64.b64encode(b"nexpay settings for the eu region, nothing secret").decode()
    repo.write("values.txt", "".join(f"v{n} = {token}\n" for n in range(MAX_TOKENS + 1)))
    reason = f"more than {MAX_TOKENS} encoded tokens: those past them not decoded"
    assert skipped(cli, str(repo.path)) == [("values.txt", reason)]


def test_tokens_that_cannot_hold_a_key_leave_no_gap(cli: CliRun, repo: Repo) -> None:
    # past the cap, but none decodes to anything a rule looks for (the prefilter reads every
    # token, uncapped): nothing is left unread, as in the history engines
    token = base64.b64encode(b"just some configuration text, nothing secret in it").decode()
    repo.write("values.txt", "".join(f"v{n} = {token}\n" for n in range(MAX_TOKENS + 1)))
    assert skipped(cli, str(repo.path)) == []
    repo.commit()
    run = cli("history", "--repo", str(repo.path), "--format", "json")
    assert run.code == 0 and run.json()["summary"]["skipped_files"] == []


@pytest.mark.parametrize("named", [False, True])
def test_decoy_tokens_past_the_cap_do_not_hide_a_key_after_them(
    cli: CliRun, repo: Repo, named: bool
) -> None:
    # more harmless base64 tokens than the cap, then the key base64-encoded: the tokens
    # whose own view could show a key are decoded first, so the decoys no longer spend the
    # cap the key needed (it went unread, exit 0); what is left is still named
    token = base64.b64encode(b"just some configuration text, nothing secret in it").decode()
    decoys = "".join(f"v{n} = {token}\n" for n in range(MAX_TOKENS + 1))
    if named:  # a legacy secret, named in plain text: only its view names it
        key = LEGACY
        line = f"NEXPAY_SECRET_B64 = {base64.b64encode(key.encode()).decode()}\n"
    else:
        key = secret(7)
        line = f"SETTINGS = {base64.b64encode(ENV).decode()}\n"
    repo.write("values.txt", decoys + line)
    run = cli("files", str(repo.path), "--format", "json", "--no-redact")
    assert run.code == 1, run.err
    document = run.json()
    [finding] = document["findings"]
    assert finding["match"] == key and finding["line"] == MAX_TOKENS + 2
    reason = f"more than {MAX_TOKENS} encoded tokens: those past them not decoded"
    assert document["summary"]["skipped_files"] == [
        {"file": "values.txt", "reason": reason, "gap": True}
    ]


def test_a_key_that_proves_itself_is_decoded_before_decoys_that_name_nexpay(
    cli: CliRun, repo: Repo
) -> None:
    # more tokens than the cap, each decoding to text that names Nexpay (each could hold a
    # key: the prefilter keeps them all), then the key's .env in base64: the key went
    # unread (exit 0, one gap note). A token whose decoded text holds a key with a valid
    # checksum is decoded first; the decoys past the cap are still named
    token = base64.b64encode(b"nexpay settings for the eu region, nothing secret").decode()
    decoys = "".join(f"v{n} = {token}\n" for n in range(MAX_TOKENS + 1))
    repo.write("values.txt", decoys + f"SETTINGS = {base64.b64encode(ENV).decode()}\n")
    run = cli("files", str(repo.path), "--format", "json", "--no-redact")
    assert run.code == 1, run.err
    document = run.json()
    [finding] = document["findings"]
    assert finding["match"] == secret(7) and finding["line"] == MAX_TOKENS + 2
    reason = f"more than {MAX_TOKENS} encoded tokens: those past them not decoded"
    assert document["summary"]["skipped_files"] == [
        {"file": "values.txt", "reason": reason, "gap": True}
    ]


def test_members_that_cannot_hold_a_key_spend_no_decoding(cli: CliRun, repo: Repo) -> None:
    # a member of harmless base64 tokens, past the token cap, before a member whose base64
    # hides a key: the prefilter reads every member, uncapped, and only those that could
    # hold a key are decoded, so the decoy neither spends the cap nor leaves a gap (it did
    # both, and the key after it went unread)
    token = base64.b64encode(b"just some configuration text, nothing secret in it").decode()
    decoy = "".join(f"v{n} = {token}\n" for n in range(MAX_TOKENS + 1)).encode()
    hidden = b"SETTINGS = '" + base64.b64encode(ENV) + b"'\n"
    repo.write("bundle.zip", zip_of({"values.txt": decoy, "app/settings.py": hidden}))
    run = cli("files", str(repo.path), "--format", "json", "--no-redact")
    assert run.code == 1, run.err
    document = run.json()
    assert document["summary"]["skipped_files"] == []
    [finding] = document["findings"]
    assert finding["file"] == "bundle.zip" and finding["match"] == secret(7)
    assert "zip:app/settings.py" in " ".join(finding["notes"])


# harmless members before the one holding a key, each set past a bound: eight of a MiB
# spent the whole budget (a tar.gz's stream stopped at half of it), a thousand reached the
# member count; the key went unread (exit 0, one gap note). What such members take is
# given back, and they are not counted
DECOYS = {
    "megabytes": {f"data{n}.log": BIG[:MAX_MEMBER_SIZE] for n in range(MAX_TOTAL // MIB + 1)},
    "members": {f"m{n}.txt": b"x" for n in range(MAX_MEMBERS + 1)},
}


@pytest.mark.parametrize("decoys", DECOYS, ids=DECOYS.keys())
@pytest.mark.parametrize("kind", ["zip", "tar.gz"])
def test_harmless_members_do_not_use_up_a_bound_before_a_key(
    cli: CliRun, repo: Repo, kind: str, decoys: str
) -> None:
    members = {**DECOYS[decoys], "zz/.env": ENV}
    repo.write("bundle", zip_of(members) if kind == "zip" else tar_of(members, "w:gz"))
    run = cli("files", str(repo.path), "--format", "json", "--no-redact")
    assert run.code == 1, run.err
    document = run.json()
    [finding] = document["findings"]
    assert finding["match"] == secret(7) and document["summary"]["skipped_files"] == []


# a MiB and more of harmless padding in the member itself, then the key: only the member's
# first MiB was read, and the key went unread (exit 0, one gap note)
PADDED = BIG * 3 + ENV
PACKED = {
    "zip": lambda: zip_of({"app/.env": PADDED}),
    "tar": lambda: tar_of({"app/.env": PADDED}, "w"),
    "tar.gz": lambda: tar_of({"app/.env": PADDED}, "w:gz"),
    "gzip": lambda: gzip.compress(PADDED),
}


@pytest.mark.parametrize("kind", PACKED)
def test_padding_inside_a_member_does_not_hide_a_key_after_it(
    cli: CliRun, repo: Repo, kind: str
) -> None:
    repo.write("bundle", PACKED[kind]())
    run = cli("files", str(repo.path), "--format", "json", "--no-redact")
    assert run.code == 1, run.err
    document = run.json()
    [finding] = document["findings"]
    assert finding["match"] == secret(7) and document["summary"]["skipped_files"] == []


@pytest.mark.parametrize("megabytes", [1.5, 3])
def test_an_archive_inside_a_member_is_read_whole_or_named(
    cli: CliRun, repo: Repo, megabytes: float
) -> None:
    # a jar in a zip, past a piece: read as one content (its pieces would open as nothing,
    # a zip's directory being at its end); past MAX_MEMBER_SIZE, named
    filler = random.Random(3).randbytes(int(megabytes * MIB))
    inner = zip_of({"blob.bin": filler, "app/.env": ENV}, zipfile.ZIP_STORED)
    repo.write("bundle.zip", zip_of({"lib/inner.jar": inner}))
    run = cli("files", str(repo.path), "--format", "json", "--no-redact")
    document = run.json()
    if len(inner) <= MAX_MEMBER_SIZE:
        assert run.code == 1, run.err
        [finding] = document["findings"]
        assert finding["match"] == secret(7) and document["summary"]["skipped_files"] == []
    else:
        assert run.code == 0 and document["findings"] == []
        # the jar cut short has no directory: its first member is found by its local
        # header, and read as far as one such member is
        unlisted = (
            "a zip member found by its local header alone (the directory does not list it, "
            "or is cut off), over 2 MiB: the rest of it not decoded"
        )
        assert document["summary"]["skipped_files"] == [
            {"file": "bundle.zip (zip:lib/inner.jar)", "reason": MEMBER_CUT, "gap": True},
            {
                "file": "bundle.zip (zip:lib/inner.jar>zip:blob.bin)",
                "reason": unlisted,
                "gap": True,
            },
        ]


def test_a_big_tar_inside_a_member_is_read_on_in_pieces(cli: CliRun, repo: Repo) -> None:
    # past the MAX_MEMBER_SIZE read as a tar, a tar's members are in it as they are: read on
    # in pieces, a key in its last member is seen (it stopped there), and that is named
    inner = tar_of({"logs/app.log": BIG * 2, "app/.env": ENV}, "w")
    assert len(inner) > 2 * MAX_MEMBER_SIZE
    repo.write("bundle.zip", zip_of({"image/layer.tar": inner}))
    run = cli("files", str(repo.path), "--format", "json", "--no-redact")
    assert run.code == 1, run.err
    document = run.json()
    [finding] = document["findings"]
    assert finding["match"] == secret(7)
    reason = (
        f"a tar over {MAX_MEMBER_SIZE} bytes: past them, its members searched as they are, "
        "not opened"
    )
    assert document["summary"]["skipped_files"] == [
        {"file": "bundle.zip (zip:image/layer.tar)", "reason": reason, "gap": True}
    ]


def test_a_tar_inside_a_member_is_opened_not_cut_in_pieces(cli: CliRun, repo: Repo) -> None:
    # a tar inside a zip, its .env's header just after where its second piece would start
    # and the .env cut by the first piece's end: read in pieces, the .env was lost from the
    # first and the second, with the header's NULs, searched as binary; the legacy key was
    # never seen, and nothing was named
    log = b"L" * (PIECE - 64 * 1024 + 4000 - 1025) + b"\n"
    env = b"A=1\n" * 20000 + f"NEXPAY_SECRET={LEGACY}\n".encode()
    inner = tar_of({"logs/app.log": log, "app/.env": env}, "w")
    assert PIECE < len(inner) < MAX_MEMBER_SIZE
    repo.write("bundle.zip", zip_of({"image/layer.tar": inner}))
    run = cli("files", str(repo.path), "--format", "json", "--no-redact")
    assert run.code == 1, run.err
    document = run.json()
    assert [f["match"] for f in document["findings"]] == [LEGACY]
    assert document["summary"]["skipped_files"] == []


@pytest.mark.parametrize("cut", [-20, -1, 0, 30])
def test_a_key_across_the_cut_between_two_pieces_is_found(
    cli: CliRun, repo: Repo, cut: int
) -> None:
    # the key starts `cut` bytes from the end of the member's first piece: the next piece
    # repeats the end of the one before, so the key is whole in one of them
    line = ENV.index(b"nxp_sk_")
    padding = BIG[: PIECE + cut - line]
    repo.write("bundle.zip", zip_of({"app/.env": padding + ENV + BIG[:100_000]}))
    run = cli("files", str(repo.path), "--format", "json", "--no-redact")
    assert run.code == 1, run.err
    [finding] = run.json()["findings"]
    assert finding["match"] == secret(7)


@pytest.mark.parametrize("kind", ["zip", "tar.gz"])
def test_a_key_that_proves_itself_is_read_past_the_member_cap(
    cli: CliRun, repo: Repo, kind: str
) -> None:
    # more members than the cap, each naming Nexpay (each could hold a key, so each is
    # held), then the key's .env: it went unread (exit 0, one gap note). Past the cap a
    # member is still read, and held if it holds a key with a valid checksum
    members = {**{f"m{n}.txt": b"nexpay" for n in range(MAX_MEMBERS + 1)}, "zz/.env": ENV}
    repo.write("bundle", zip_of(members) if kind == "zip" else tar_of(members, "w:gz"))
    run = cli("files", str(repo.path), "--format", "json", "--no-redact")
    assert run.code == 1, run.err
    document = run.json()
    [finding] = document["findings"]
    assert finding["match"] == secret(7)
    where = "bundle (zip)" if kind == "zip" else "bundle (gzip>tar)"
    assert document["summary"]["skipped_files"] == [
        {"file": where, "reason": MANY_MEMBERS, "gap": True}
    ]


def test_a_tar_gz_of_members_that_could_hold_keys_still_stops_at_its_bound(
    cli: CliRun, repo: Repo
) -> None:
    # members naming Nexpay are held and charged: the stream stops at half the budget
    members = {f"part{n}.log": NAMED[:MAX_MEMBER_SIZE] for n in range(MAX_TOTAL // MIB + 1)}
    repo.write("bundle", tar_of(members, "w:gz"))
    assert skipped(cli, str(repo.path)) == [
        (
            "bundle",
            f"decoding stopped after {MAX_TOTAL} bytes of decoded text: encoded "
            "content past it not decoded",
        )
    ]


def test_an_archive_read_whole_names_nothing(cli: CliRun, repo: Repo) -> None:
    repo.write("bundle.zip", zip_of({".env": ENV, "notes.txt": b"hello\n"}))
    repo.write("bundle.tgz", tar_of({".env": ENV}, "w:gz"))
    run = cli("files", str(repo.path), "--format", "json")
    assert run.code == 1 and run.json()["summary"]["skipped_files"] == []
    assert cli("files", str(repo.path), "--fail-on", "skipped").code == 0


@pytest.fixture
def passed_over(repo: Repo) -> Repo:
    """A committed zip holding a key, and a member it could not read (PPMd)."""
    repo.write("deploy.zip", zip_of({"app/.env": ENV, "old/.env": b"x"}, zipfile.ZIP_STORED))
    repo.write("legacy.zip", with_method(zip_of({"old/.env": ENV}, zipfile.ZIP_DEFLATED), 98))
    repo.commit()
    return repo


PPMD = "archive member compressed with ppmd: not decoded"


def test_a_member_not_decoded_is_named_in_every_format(cli: CliRun, passed_over: Repo) -> None:
    where = str(passed_over.path)
    text = cli("files", where)
    assert text.code == 1  # the key in deploy.zip is found all the same
    assert f"not scanned: legacy.zip (zip:old/.env) ({PPMD})" in text.out
    document = cli("files", where, "--format", "json").json()
    assert document["summary"]["skipped_files"] == [
        {"file": "legacy.zip (zip:old/.env)", "reason": PPMD, "gap": True}
    ]
    sarif = json.loads(cli("files", where, "--format", "sarif").out)
    [note] = sarif["runs"][0]["invocations"][0]["toolExecutionNotifications"]
    assert note["level"] == "warning" and "legacy.zip (zip:old/.env)" in note["message"]["text"]
    location = note["locations"][0]["physicalLocation"]["artifactLocation"]
    assert location["uri"].startswith("legacy.zip")
    gitlab = json.loads(cli("files", where, "--format", "gitlab").out)
    assert any(
        PPMD in m["value"] and "legacy.zip" in m["value"] for m in gitlab["scan"]["messages"]
    )
    junit = cli("files", where, "--format", "junit").out
    assert 'skipped="1"' in junit and "legacy.zip (zip:old/.env)" in junit
    history = cli("history", "--repo", where, "--engine", "diff", "--format", "json").json()
    [item] = history["summary"]["skipped_files"]
    assert item["file"] == "legacy.zip (zip:old/.env)" and len(item["commit"]) == 40


def test_fail_on_skipped_fails_on_what_decoding_passed_over(cli: CliRun, passed_over: Repo) -> None:
    where = str(passed_over.path)
    (passed_over.path / "deploy.zip").unlink()
    assert cli("files", where).code == 0
    assert cli("files", where, "--fail-on", "skipped").code == 1
    assert cli("files", where, "--fail-on", "any,skipped").code == 1
    (passed_over.path / "legacy.zip").write_bytes(zip_of({"old/.env": b"x"}))
    assert cli("files", where, "--fail-on", "any,skipped").code == 0


def test_what_decoding_passed_over_is_named_by_every_mode(cli: CliRun, tmp_path: Path) -> None:
    """A blob with no key in it but a member the decoders do not open: the blob engine
    (`history`'s, `ci`'s and the push hooks' default) named nothing, so `--fail-on
    skipped` passed a pull request adding it. Now the commits adding such a blob are
    parsed as a hit's are, and every mode names the same gaps."""
    from tests.test_same_findings import every_mode

    contents = {
        "vendor/legacy.zip": with_method(zip_of({"old/.env": ENV}, zipfile.ZIP_DEFLATED), 98),
        "vendor/locked.zip": marked_encrypted(zip_of({"c.env": ENV}, zipfile.ZIP_DEFLATED)),
        "vendor/backup.7z": SEVEN_ZIP,
    }
    found = every_mode(cli, tmp_path, contents, take=lambda run: set(gaps(run)))
    expected = {
        ("vendor/legacy.zip (zip:old/.env)", "archive member compressed with ppmd: not decoded"),
        ("vendor/locked.zip (zip:c.env)", "encrypted archive member: not decoded"),
        ("vendor/backup.7z", SEVEN_ZIP_NOT_READ),
    }
    assert found == {mode: expected for mode in found}
    repo = str(tmp_path / "repo")
    assert cli("ci", "--base", "HEAD~1", "--repo", repo, "--fail-on", "any,skipped").code == 1
    assert cli("ci", "--base", "HEAD~1", "--repo", repo).code == 0
