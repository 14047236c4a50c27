"""A generated, deterministic test corpus for nexpay-scan.

``write_corpus(root)`` writes a tree of files under ``root`` and returns what the
scanner must report there (``Corpus.positives``) and which files must yield no
finding at all (``Corpus.negative_files``).

Files are described by templates holding markers ``@@name@@`` or ``@@name:arg@@``;
each marker is replaced by a freshly generated value (never reused).

Positive markers, each one expected finding:

    cid    current client ID              sk    current secret (valid checksum)
    lcid   legacy client ID (UUID)        lsk   legacy secret; ``lsk:-`` / ``lsk:_``
                                                force its first character

Negative markers, each one ``NegativeCase`` (never a finding):

    bad_sk:0..5|case|body   secret with one checksum char changed / a checksum
                            letter's case flipped / one body char changed
    short_sk short_cid short_lsk short_lcid      one character short
    long_cid:N long_lsk                          valid value + N glued alnum chars
                                                 (a secret glued to more is still one:
                                                 its checksum is the boundary)
    uuid rand43             legacy-shaped values, only in files never naming Nexpay
    allow_sk allow_cid allow_lsk allow_lcid      valid keys on "nexpay-scan: allow" lines
    vendor:NAME             another vendor's token (see KeyFactory.vendor_token)
    ph:TEXT env:TEXT        literal placeholder / environment lookup
    ph_cid:F ph_sk:F ph_lsk:F ph_lcid:F          placeholder with the full key shape,
                                                 filled by repeating F
"""

from __future__ import annotations

import base64
import json
import random
import re
import string
import textwrap
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from nexpay_scan.checksum import secret_checksum

DEFAULT_SEED = 20240521

BASE62 = string.digits + string.ascii_uppercase + string.ascii_lowercase
SECRET_PREFIX = "nxp_sk_"
CLIENT_ID_PREFIX = "nxp_cid_"
SECRET_RE = re.compile(r"nxp_sk_[0-9A-Za-z]{42}")
CLIENT_ID_RE = re.compile(r"nxp_cid_[0-9A-Za-z]{24}")
LEGACY_SECRET_RE = re.compile(r"[A-Za-z0-9_-]{43}")
LEGACY_CLIENT_ID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")

# Reasons attached to negative cases.
WRONG_CHECKSUM = "wrong_checksum"
TRUNCATED = "truncated"
OVERLONG = "overlong"
LEGACY_NO_CONTEXT = "legacy_no_context"
ALLOW_COMMENT = "allow_comment"
OTHER_VENDOR = "other_vendor"
PLACEHOLDER = "placeholder"
ENV_LOOKUP = "env_lookup"

# Generated random parts never contain these, so no real-looking key can be
# mistaken for a placeholder by a scanner's heuristics.
PLACEHOLDER_WORDS = (
    "your", "example", "sample", "test", "dummy", "fake", "demo",
    "xxxx", "placeholder", "changeme", "redacted", "secret", "client",
    "0000", "1234", "abcd",
)  # fmt: skip


@dataclass(frozen=True)
class Expected:
    """One finding the scanner must report."""

    file: str  # relative posix path
    line: int  # 1-based
    match: str  # the full credential
    kind: str  # "client_id" or "secret"


@dataclass(frozen=True)
class NegativeCase:
    """One tempting value that must not be reported."""

    file: str
    value: str
    reason: str


@dataclass
class Corpus:
    positives: list[Expected]
    negative_files: list[str]
    negatives: list[NegativeCase] = field(default_factory=list)


# --------------------------------------------------------------------------- keys


def is_valid_secret(value: str) -> bool:
    return SECRET_RE.fullmatch(value) is not None and secret_checksum(value[:43]) == value[43:]


def looks_like_placeholder(text: str) -> bool:
    lowered = text.lower()
    distinct = set(lowered) - set("-_")
    return any(word in lowered for word in PLACEHOLDER_WORDS) or len(distinct) <= 3


def _looks_random(text: str) -> bool:
    return (
        not looks_like_placeholder(text)
        and any(c.isdigit() for c in text)
        and any(c.isupper() for c in text)
        and any(c.islower() for c in text)
    )


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _cycle(fill: str, length: int) -> str:
    return (fill * length)[:length]


def _as_uuid(hex32: str) -> str:
    h = hex32
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"


class KeyFactory:
    """Seeded generator of keys and look-alikes; every random value is unique."""

    def __init__(self, seed: int) -> None:
        self._rng = random.Random(seed)
        self._seen: set[str] = set()

    def _fresh(self, make: Callable[[], str], ok: Callable[[str], bool]) -> str:
        while True:
            value = make()
            if value not in self._seen and ok(value):
                self._seen.add(value)
                return value

    def alnum(self, n: int, alphabet: str = BASE62) -> str:
        return "".join(self._rng.choice(alphabet) for _ in range(n))

    def client_id(self) -> str:
        return CLIENT_ID_PREFIX + self._fresh(lambda: self.alnum(24), _looks_random)

    def secret(self) -> str:
        def make() -> str:
            body = SECRET_PREFIX + self.alnum(36)
            return body + secret_checksum(body)

        return self._fresh(make, lambda v: _looks_random(v[len(SECRET_PREFIX) :]))

    def legacy_client_id(self) -> str:
        def make() -> str:
            return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))

        return self._fresh(make, lambda v: not looks_like_placeholder(v))

    def legacy_secret(self, first: str | None = None) -> str:
        def ok(value: str) -> bool:
            return _looks_random(value) and (first is None or value[0] == first)

        return self._fresh(lambda: self._b64(32), ok)

    def wrong_checksum(self, mode: str) -> str:
        """A valid secret with one character changed so its checksum fails."""
        while True:
            good = self.secret()
            if mode == "case":
                letters = [i for i in range(43, 49) if good[i].isalpha()]
                if not letters:
                    continue
                pos = letters[0]
                bad = good[:pos] + good[pos].swapcase() + good[pos + 1 :]
            else:
                if mode == "body":
                    pos = self._rng.randrange(len(SECRET_PREFIX), 43)
                else:
                    pos = 43 + int(mode)
                other = self._rng.choice(BASE62.replace(good[pos], ""))
                bad = good[:pos] + other + good[pos + 1 :]
            if not is_valid_secret(bad):
                return bad

    def vendor_token(self, vendor: str) -> str:
        digits, upper_digits = string.digits, string.ascii_uppercase + string.digits
        makers: dict[str, Callable[[], str]] = {
            # sk_live_ + 35 is 43 chars of [A-Za-z0-9_]: legacy-shaped, no context.
            "stripe": lambda: "sk_live_" + self.alnum(35),
            "github": lambda: "ghp_" + self.alnum(36),
            "aws_id": lambda: "AKIA" + self.alnum(16, upper_digits),
            "aws_secret": lambda: self.alnum(40, BASE62 + "/+"),
            "slack": lambda: (
                f"xoxb-{self.alnum(12, digits)}-{self.alnum(13, digits)}-{self.alnum(24)}"
            ),
            "sendgrid": lambda: f"SG.{self._b64(16)}.{self._b64(32)}",
            "google": lambda: "AIza" + self.alnum(35, BASE62 + "_-"),
            "jwt": self._jwt,
        }
        return makers[vendor]()

    def _b64(self, n: int) -> str:
        return _b64url(self._rng.randbytes(n))

    def _jwt(self) -> str:
        header = _b64url(b'{"alg":"HS256","typ":"JWT"}')
        claims = {"sub": str(self._rng.randrange(10**6)), "iat": 1700000000}
        payload = _b64url(json.dumps(claims, separators=(",", ":")).encode())
        return f"{header}.{payload}.{self._b64(32)}"


# ---------------------------------------------------------------------- markers

Maker = Callable[[KeyFactory, str], str]

POSITIVE_MARKERS: dict[str, tuple[str, Maker]] = {
    "cid": ("client_id", lambda k, a: k.client_id()),
    "sk": ("secret", lambda k, a: k.secret()),
    "lcid": ("client_id", lambda k, a: k.legacy_client_id()),
    "lsk": ("secret", lambda k, a: k.legacy_secret(a or None)),
}

NEGATIVE_MARKERS: dict[str, tuple[str, Maker]] = {
    "bad_sk": (WRONG_CHECKSUM, lambda k, a: k.wrong_checksum(a)),
    "short_sk": (TRUNCATED, lambda k, a: k.secret()[:-1]),
    "short_cid": (TRUNCATED, lambda k, a: k.client_id()[:-1]),
    "short_lsk": (TRUNCATED, lambda k, a: k.legacy_secret()[:-1]),
    "short_lcid": (TRUNCATED, lambda k, a: k.legacy_client_id()[:-1]),
    "long_cid": (OVERLONG, lambda k, a: k.client_id() + k.alnum(int(a or "1"))),
    "long_lsk": (OVERLONG, lambda k, a: k.legacy_secret() + k.alnum(1)),
    "uuid": (LEGACY_NO_CONTEXT, lambda k, a: k.legacy_client_id()),
    "rand43": (LEGACY_NO_CONTEXT, lambda k, a: k.legacy_secret()),
    "allow_sk": (ALLOW_COMMENT, lambda k, a: k.secret()),
    "allow_cid": (ALLOW_COMMENT, lambda k, a: k.client_id()),
    "allow_lsk": (ALLOW_COMMENT, lambda k, a: k.legacy_secret()),
    "allow_lcid": (ALLOW_COMMENT, lambda k, a: k.legacy_client_id()),
    "vendor": (OTHER_VENDOR, lambda k, a: k.vendor_token(a)),
    "ph": (PLACEHOLDER, lambda k, a: a),
    "env": (ENV_LOOKUP, lambda k, a: a),
    "ph_cid": (PLACEHOLDER, lambda k, a: CLIENT_ID_PREFIX + _cycle(a, 24)),
    "ph_sk": (PLACEHOLDER, lambda k, a: SECRET_PREFIX + _cycle(a, 42)),
    "ph_lsk": (PLACEHOLDER, lambda k, a: _cycle(a, 43)),
    "ph_lcid": (PLACEHOLDER, lambda k, a: _as_uuid(_cycle(a, 32))),
}

_MARKER = re.compile(r"@@([a-z0-9_]+)(?::([^@]*))?@@")


@dataclass
class _Rendered:
    text: str
    positives: list[tuple[str, str]]  # (match, kind)
    negatives: list[tuple[str, str]]  # (value, reason)


def _render(template: str, keys: KeyFactory) -> _Rendered:
    rendered = _Rendered("", [], [])

    def replace(marker: re.Match[str]) -> str:
        name, arg = marker.group(1), marker.group(2) or ""
        if name in POSITIVE_MARKERS:
            kind, make = POSITIVE_MARKERS[name]
            value = make(keys, arg)
            rendered.positives.append((value, kind))
        elif name in NEGATIVE_MARKERS:
            reason, make = NEGATIVE_MARKERS[name]
            value = make(keys, arg)
            rendered.negatives.append((value, reason))
        else:
            raise ValueError(f"unknown corpus marker {marker.group(0)!r}")
        return value

    rendered.text = _MARKER.sub(replace, template)
    if "@@" in rendered.text:
        raise ValueError(f"malformed marker left in {rendered.text!r}")
    return rendered


# ------------------------------------------------------------------ file table


@dataclass(frozen=True)
class CorpusFile:
    path: str  # relative posix path
    template: str  # "\n" line ends; "\udc80".."\udcff" become raw invalid bytes
    newline: str = "\n"


def _t(text: str) -> str:
    """Dedent a triple-quoted template and drop its leading newline."""
    return textwrap.dedent(text).lstrip("\n")


def _json(document: object) -> str:
    return json.dumps(document, indent=2) + "\n"


def _notebook() -> str:
    cells = [
        {
            "cell_type": "markdown",
            "metadata": {},
            "source": ["# Nexpay payouts\n", "\n", "Quick look at last week."],
        },
        {
            "cell_type": "code",
            "execution_count": 1,
            "metadata": {},
            "outputs": [],
            "source": [
                "import nexpay\n",
                "\n",
                "client = nexpay.Client(\n",
                '    client_id="@@cid@@",\n',
                '    secret="@@sk@@",\n',
                ")",
            ],
        },
        {
            "cell_type": "code",
            "execution_count": 2,
            "metadata": {},
            "outputs": [{"name": "stdout", "output_type": "stream", "text": ["200\n"]}],
            "source": [
                "# old nexpay v1 key, still accepted\n",
                "legacy = nexpay.Client(secret='@@lsk@@')\n",
                "print(legacy.ping())",
            ],
        },
    ]
    notebook = {
        "cells": cells,
        "metadata": {
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
        },
        "nbformat": 4,
        "nbformat_minor": 4,
    }
    return json.dumps(notebook, indent=1) + "\n"


def _minified_js(length: int = 20_000) -> str:
    """One long line of bundler output with keys buried at three depths."""
    inserts = {
        100: 'var nxCfg={clientId:"@@cid@@",secret:"@@sk@@"};',
        300: 'var h={headers:{Authorization:"ApiKey @@cid@@:@@sk@@"}};',
        500: 'var nexpayLegacy={secret:"@@lsk@@"};',
    }
    parts = ['!function(){"use strict";']
    i = 0
    while sum(map(len, parts)) < length:
        parts.append(inserts.get(i, f"function f{i}(a,b){{return a*{i % 97}+b%{i % 13 + 1}}}"))
        i += 1
    return "".join(parts) + "}();\n"


def _go(text: str) -> str:
    return _t(text).replace("    ", "\t")


# fmt: off
POSITIVE_FILES: tuple[CorpusFile, ...] = (
    # glued to letters or digits on either side, a secret is still one: its checksum is
    # the boundary (notebook output after an ANSI colour code, `Bearer<key>`, binary data)
    CorpusFile("logs/glued.txt", _t("""
        NEXPAY_SECRET=@@sk@@Q
        NEXPAY_SECRET_2=@@sk@@x7z
        \x1b[32m@@sk@@\x1b[0m
        Authorization: Bearer@@sk@@
        """)),
    CorpusFile(".env", _t("""
        # Payments service, production
        APP_ENV=production
        NEXPAY_CLIENT_ID=@@cid@@
        NEXPAY_SECRET=@@sk@@
        export NEXPAY_SECRET_NEXT="@@sk@@"
        NEXPAY_LEGACY_CLIENT_ID=@@lcid@@
        NEXPAY_LEGACY_SECRET=@@lsk:-@@
        NEXPAY_WEBHOOK_URL=https://hooks.internal/nexpay
        """)),
    CorpusFile("config/settings.yaml", _t("""
        app:
          name: checkout
          port: 8080
        nexpay:
          client_id: @@lcid@@
          secret: "@@lsk@@"
          base_url: https://api.nexpay.com
        payments:
          providers:
            nexpay:
              live:
                client_id: @@cid@@
                secret: '@@sk@@'
        """)),
    # The legacy secret is exactly 3 lines below "nexpay:" (edge of the window).
    CorpusFile("config/application.yml", _t("""
        spring:
          application:
            name: ledger
        nexpay:
          credentials:
            client-id: "@@lcid@@"
            client-secret: "@@lsk:_@@"
        """)),
    CorpusFile("deploy/k8s/payments.yaml", _t("""
        apiVersion: v1
        kind: Secret
        metadata:
          name: nexpay-credentials
        type: Opaque
        stringData:
          NEXPAY_CLIENT_ID: "@@cid@@"
          NEXPAY_SECRET: "@@sk@@"
        ---
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: checkout
        spec:
          template:
            spec:
              containers:
                - name: checkout
                  image: registry.internal/checkout:1.4.2
                  env:
                    - name: NEXPAY_LEGACY_CLIENT_ID
                      value: "@@lcid@@"
                    - name: NEXPAY_LEGACY_SECRET
                      value: "@@lsk@@"
                    - name: NEXPAY_SECRET_FROM_REF
                      valueFrom:
                        secretKeyRef:
                          name: nexpay-credentials
                          key: NEXPAY_SECRET
        """)),
    CorpusFile("config/payments.json", _json({
        "service": "billing",
        "nexpay": {
            "client_id": "@@lcid@@",
            "secret": "@@lsk@@",
            "base_url": "https://api.nexpay.com",
        },
        "providers": [
            {"name": "v2", "clientId": "@@cid@@", "clientSecret": "@@sk@@"},
        ],
    })),
    CorpusFile("config/app.toml", _t("""
        [server]
        port = 8080

        [nexpay]
        client_id = "@@lcid@@"
        secret = "@@lsk@@"

        [payments.v2]
        client_id = "@@cid@@"
        secret = '@@sk@@'
        """)),
    CorpusFile("config/legacy.ini", _t("""
        [payments]
        provider = nexpay
        client_id = @@lcid@@
        client_secret = @@lsk@@
        timeout = 30
        """)),
    CorpusFile("app/payments.py", _t('''
        """Payment gateway wiring."""
        import nexpay

        CLIENT = nexpay.Client(client_id="@@cid@@", secret="@@sk@@")
        LEGACY_CLIENT = nexpay.Client(secret="@@lsk@@")


        def legacy_pair() -> tuple[str, str]:
            # Nexpay v1 credentials, still used by the nightly export
            return dict(
                client_id="@@lcid@@",
                secret="@@lsk@@",
            )
        ''')),
    # Several keys on one line.
    CorpusFile("app/tenants.py", _t("""
        TENANT_SECRETS = {"eu": "@@sk@@", "us": "@@sk@@", "apac": "@@sk@@"}
        TENANT_CLIENTS = ["@@cid@@", "@@cid@@"]
        nexpay_legacy = {"client_id": "@@lcid@@", "secret": "@@lsk@@"}
        """)),
    CorpusFile("web/src/client.js", _t("""
        const NEXPAY_SECRET = "@@sk@@";
        const clientId = '@@cid@@';

        export async function whoAmI() {
          const res = await fetch("https://api.nexpay.com/v2/users/me", {
            headers: {
              Authorization: "ApiKey @@lcid@@:@@lsk@@",
            },
          });
          return res.json();
        }

        export function currentHeader() {
          return `ApiKey ${clientId}:${NEXPAY_SECRET}`;
        }
        """)),
    CorpusFile("web/src/nexpay.ts", _t("""
        import { NexpayClient, type NexpayConfig } from "@nexpay/sdk";

        const config: NexpayConfig = {
          clientId: "@@cid@@",
          secret: '@@sk@@',
          timeoutMs: 5_000,
        };

        const legacySecret: string = `@@lsk@@`; // nexpay v1
        export const client = new NexpayClient(config);
        export const fromEnv = new NexpayClient({ clientId: process.env.NEXPAY_CLIENT_ID!, secret: process.env.NEXPAY_SECRET! });
        """)),
    CorpusFile("cmd/server/main.go", _go("""
        package main

        import "net/http"

        const nexpaySecret = "@@sk@@"
        const nexpayClientID = "@@cid@@"

        func whoAmI() (*http.Response, error) {
            req, err := http.NewRequest("GET", "https://api.nexpay.com/v2/users/me", nil)
            if err != nil {
                return nil, err
            }
            req.Header.Set("Authorization", "ApiKey @@cid@@:@@sk@@")
            return http.DefaultClient.Do(req)
        }

        var legacyKeys = map[string]string{
            "nexpay_client_id": `@@lcid@@`,
            "nexpay_secret":    `@@lsk@@`,
        }
        """)),
    CorpusFile("src/main/java/com/acme/billing/PaymentsConfig.java", _t("""
        package com.acme.billing;

        public final class PaymentsConfig {
            public static final String CLIENT_ID = "@@cid@@";
            public static final String SECRET = "@@sk@@";
            // Legacy Nexpay v1 key, kept for the reconciliation job
            private static final String LEGACY_CLIENT_ID = "@@lcid@@";
            private static final String LEGACY_SECRET = "@@lsk@@";

            public static String header() {
                return "ApiKey " + CLIENT_ID + ":" + SECRET;
            }
        }
        """)),
    CorpusFile("scripts/deploy.sh", _t("""
        #!/usr/bin/env bash
        set -euo pipefail

        export NEXPAY_CLIENT_ID=@@cid@@
        export NEXPAY_SECRET='@@sk@@'

        curl -fsS https://api.nexpay.com/v2/users/me \\
          -H "Authorization: ApiKey @@cid@@:@@sk@@"

        # legacy account (nexpay v1)
        curl -fsS https://api.nexpay.com/v1/account \\
          -H "Authorization: ApiKey @@lcid@@:@@lsk@@"
        """)),
    CorpusFile("Dockerfile", _t("""
        FROM python:3.11-slim
        WORKDIR /srv
        COPY . .
        ENV NEXPAY_CLIENT_ID=@@cid@@ NEXPAY_SECRET=@@sk@@
        ENV NEXPAY_LEGACY_SECRET @@lsk@@
        ARG NEXPAY_TOKEN
        CMD ["python", "-m", "app"]
        """)),
    CorpusFile("infra/main.tf", _t("""
        terraform {
          required_providers {
            nexpay = {
              source = "acme/nexpay"
            }
          }
        }

        provider "nexpay" {
          client_id = "@@cid@@"
          secret    = "@@sk@@"
        }

        variable "nexpay_legacy_secret" {
          type      = string
          default   = "@@lsk@@"
          sensitive = true
        }
        """)),
    CorpusFile("notebooks/payouts.ipynb", _notebook()),
    CorpusFile("docs/setup.md", _t("""
        # Connecting to Nexpay

        Create a key in the Dashboard (Settings > API Keys), then:

        ```bash
        export NEXPAY_CLIENT_ID=@@cid@@
        export NEXPAY_SECRET=@@sk@@
        ```

        Older accounts still use a v1 key:

        ```
        NEXPAY_SECRET=@@lsk@@
        ```

        The staging key is `@@sk@@`, use `@@ph:your-api-key-here@@` in examples.
        """)),
    CorpusFile("web/app.bundle.js", _minified_js()),
    CorpusFile("api/whoami.http", _t("""
        ### Who am I
        GET https://api.nexpay.com/v2/users/me
        Authorization: ApiKey @@cid@@:@@sk@@
        Accept: application/json
        """)),
    CorpusFile("windows/setup.ps1", _t("""
        # Nexpay setup for Windows build agents
        $env:NEXPAY_CLIENT_ID = "@@cid@@"
        $env:NEXPAY_SECRET = "@@sk@@"
        $env:NEXPAY_LEGACY_SECRET = "@@lsk@@"
        Invoke-RestMethod -Uri "https://api.nexpay.com/v2/users/me" -Headers @{ Authorization = "ApiKey @@lcid@@:@@lsk@@" }
        """), newline="\r\n"),
    # Invalid UTF-8 bytes directly before and after keys.
    CorpusFile("data/export.txt", _t("""
        \udcff\udcfeexport run 2024-03-01 14:02:11 caf\u00e9
        token=\udcff@@sk@@\udcfe
        client=\udce9@@cid@@\udc80
        nexpay legacy secret:\udcc3@@lsk@@\udcc3
        nexpay legacy client_id:\udcff@@lcid@@\udcff
        done
        """)),
)

NEGATIVE_FILES: tuple[CorpusFile, ...] = (
    # --- current-format look-alikes
    CorpusFile("checks/typos.env", _t("""
        # Keys pasted from a ticket; every one has a typo in it
        NEXPAY_SECRET=@@bad_sk:0@@
        NEXPAY_SECRET_PREVIOUS=@@bad_sk:5@@
        NEXPAY_SECRET_STAGING="@@bad_sk:case@@"
        NEXPAY_SECRET_QA='@@bad_sk:body@@'
        """)),
    CorpusFile("checks/typos.py", _t("""
        import nexpay

        client = nexpay.Client(secret="@@bad_sk:1@@")
        ROTATION = ["@@bad_sk:2@@", "@@bad_sk:4@@"]
        HEADER = "ApiKey @@short_cid@@:@@bad_sk:3@@"
        """)),
    CorpusFile("checks/typos.yaml", _t("""
        nexpay:
          secret: @@bad_sk:body@@
          backup_secret: "@@bad_sk:case@@"
        """)),
    CorpusFile("checks/truncated.env", _t("""
        NEXPAY_CLIENT_ID=@@short_cid@@
        NEXPAY_SECRET=@@short_sk@@
        NEXPAY_SECRET_QUOTED="@@short_sk@@"
        """)),
    CorpusFile("checks/truncated.go", _go("""
        package main

        const nexpayClientID = "@@short_cid@@"

        var nexpaySecret = `@@short_sk@@`

        func header(req *http.Request) {
            req.Header.Set("Authorization", "ApiKey @@short_cid@@:@@short_sk@@")
        }
        """)),
    CorpusFile("checks/overlong.env", _t("""
        NEXPAY_CLIENT_ID=@@long_cid:1@@
        NEXPAY_CLIENT_ID_2=@@long_cid:6@@
        """)),
    CorpusFile("checks/overlong.js", _t("""
        const ids = ["@@long_cid:3@@", "@@long_cid:1@@"];
        """)),
    CorpusFile("checks/legacy_shapes.env", _t("""
        NEXPAY_LEGACY_SECRET=@@short_lsk@@
        NEXPAY_LEGACY_SECRET_OLD=@@long_lsk@@
        NEXPAY_LEGACY_CLIENT_ID=@@short_lcid@@
        """)),
    # --- placeholders and environment lookups, many syntaxes
    CorpusFile("config/placeholders.env", _t("""
        # Copy to .env and fill in your Nexpay key
        NEXPAY_CLIENT_ID=@@ph:your-client-id-here@@
        NEXPAY_SECRET=@@ph:your-api-key-here@@
        NEXPAY_SECRET="@@ph:<secret>@@"
        NEXPAY_SECRET=@@ph:${NEXPAY_SECRET}@@
        NEXPAY_CLIENT_ID=@@ph_cid:X@@
        NEXPAY_SECRET=@@ph_sk:x@@
        NEXPAY_LEGACY_CLIENT_ID=@@ph_lcid:0@@
        NEXPAY_LEGACY_SECRET=@@ph_lsk:x@@
        NEXPAY_SECRET=@@ph:changeme@@
        """)),
    CorpusFile("config/placeholders.yaml", _t("""
        nexpay:
          clientId: "@@ph:{{ .Values.nexpay.clientId }}@@"
          secret: "@@ph:{{ secrets.NEXPAY }}@@"
          legacySecret: @@ph_lsk:X@@
          legacyClientId: "@@ph_lcid:a@@"
          client_id: @@ph_cid:YourClientIdHere@@
          secret_key: "@@ph_sk:YourSecretKeyHere@@"
        """)),
    CorpusFile(".github/workflows/deploy.yml", _t("""
        name: deploy
        on: push
        jobs:
          deploy:
            runs-on: ubuntu-latest
            env:
              NEXPAY_CLIENT_ID: @@ph:${{ vars.NEXPAY_CLIENT_ID }}@@
              NEXPAY_SECRET: @@ph:${{ secrets.NEXPAY_SECRET }}@@
            steps:
              - run: curl -H "Authorization: ApiKey @@env:$NEXPAY_CLIENT_ID:$NEXPAY_SECRET@@" https://api.nexpay.com/v2/users/me
        """)),
    CorpusFile("app/config_loader.py", _t("""
        import os

        import nexpay

        SECRET = @@env:os.environ["NEXPAY_SECRET"]@@
        CLIENT_ID = @@env:os.getenv("NEXPAY_CLIENT_ID", "")@@
        client = nexpay.Client(client_id=CLIENT_ID, secret=SECRET)
        docs_client = nexpay.Client(client_id="@@ph:<client_id>@@", secret="@@ph:<secret>@@")
        demo_secret = "@@ph:your-api-key-here@@"
        EXAMPLE_ID = "@@ph_cid:EXAMPLE@@"
        TEMPLATE_ID = "@@ph_cid:YourClientIdGoesHere@@"
        ZERO_SECRET = "@@ph_sk:0@@"
        """)),
    CorpusFile("web/src/env.js", _t("""
        const clientId = @@env:process.env.NEXPAY_CLIENT_ID@@;
        const secret = @@env:process.env.NEXPAY_SECRET@@;
        const viteSecret = @@env:import.meta.env.VITE_NEXPAY_SECRET@@;
        export const header = `ApiKey @@ph:${clientId}:${secret}@@`;
        export const docs = "Authorization: ApiKey @@ph:<client_id>:<secret>@@";
        const response = await fetch('https://api.nexpay.com/v2/users/me', {
          headers: {
            'Authorization': 'ApiKey @@ph:your-api-key-here@@',
          },
        });
        """)),
    CorpusFile("cmd/env/env.go", _go("""
        package env

        func Header(req *http.Request) {
            secret := @@env:os.Getenv("NEXPAY_SECRET")@@
            clientID, _ := @@env:os.LookupEnv("NEXPAY_CLIENT_ID")@@
            req.Header.Set("Authorization", "ApiKey "+clientID+":"+secret)
        }

        const nexpaySecretHint = "@@ph:nxp_sk_...@@"
        """)),
    CorpusFile("src/main/java/com/acme/billing/NexpayEnv.java", _t("""
        package com.acme.billing;

        public final class NexpayEnv {
            String secret = @@env:System.getenv("NEXPAY_SECRET")@@;
            @Value("@@env:${nexpay.client-id}@@") String clientId;
        }
        """)),
    CorpusFile("infra/variables.tf", _t("""
        variable "nexpay_secret" {
          type      = string
          sensitive = true
          default   = "@@ph:REPLACE_ME@@"
        }

        provider "nexpay" {
          client_id = @@env:var.nexpay_client_id@@
          secret    = @@env:data.vault_generic_secret.nexpay.data["secret"]@@
        }
        """)),
    CorpusFile("docker/dev/Dockerfile", _t("""
        FROM node:20-alpine
        ARG NEXPAY_SECRET
        ENV NEXPAY_SECRET=@@env:${NEXPAY_SECRET}@@
        ENV NEXPAY_CLIENT_ID=@@ph:<client_id>@@
        """)),
    CorpusFile("scripts/check_env.sh", _t("""
        #!/bin/sh
        : "@@env:${NEXPAY_SECRET:?NEXPAY_SECRET is not set}@@"
        curl -H "Authorization: ApiKey @@env:$NEXPAY_CLIENT_ID:$NEXPAY_SECRET@@" https://api.nexpay.com/v2/users/me
        curl -H "Authorization: ApiKey @@ph:<client_id>:<secret>@@" https://api.nexpay.com/v2/users/me
        export NEXPAY_SECRET=@@ph:xxxxxxxxxxxxxxxx@@
        """)),
    CorpusFile("docs/api-keys.md", _t("""
        # API keys

        Send the key in a header:

        ```
        Authorization: ApiKey @@ph:<client_id>:<secret>@@
        ```

        Client IDs look like `@@ph:nxp_cid_...@@` and secrets like `@@ph:nxp_sk_...@@`.
        Set `NEXPAY_SECRET=@@ph:your-api-key-here@@` in your shell.
        Never paste a real key; write `@@ph_sk:X@@` in examples.
        """)),
    CorpusFile("config/payments.sample.json", _json({
        "nexpay": {
            "client_id": "@@ph_cid:YourClientIdHere@@",
            "secret": "@@ph:<secret>@@",
            "legacy_secret": "@@ph_lsk:A@@",
            "legacy_client_id": "@@ph:@@",
        },
    })),
    # --- other vendors' tokens (no Nexpay anywhere in these files)
    CorpusFile("vendors/third_party.env", _t("""
        STRIPE_SECRET_KEY=@@vendor:stripe@@
        GITHUB_TOKEN=@@vendor:github@@
        AWS_ACCESS_KEY_ID=@@vendor:aws_id@@
        AWS_SECRET_ACCESS_KEY=@@vendor:aws_secret@@
        SLACK_BOT_TOKEN=@@vendor:slack@@
        SENDGRID_API_KEY=@@vendor:sendgrid@@
        GOOGLE_MAPS_KEY=@@vendor:google@@
        SESSION_JWT=@@vendor:jwt@@
        """)),
    CorpusFile("vendors/clients.py", _t("""
        import stripe

        stripe.api_key = "@@vendor:stripe@@"
        GITHUB_TOKEN = "@@vendor:github@@"
        HEADERS = {"Authorization": "Bearer @@vendor:jwt@@"}
        BOTO = {"aws_access_key_id": "@@vendor:aws_id@@", "aws_secret_access_key": "@@vendor:aws_secret@@"}
        """)),
    CorpusFile("vendors/notify.yaml", _t("""
        slack:
          bot_token: @@vendor:slack@@
        sendgrid:
          api_key: "@@vendor:sendgrid@@"
        """)),
    # --- legacy-shaped values without any Nexpay context
    CorpusFile("services/auth/auth.env", _t("""
        PAYFLOW_CLIENT_ID=@@uuid@@
        PAYFLOW_SECRET=@@rand43@@
        CSRF_SECRET=@@rand43@@
        SESSION_SIGNING_KEY="@@rand43@@"
        """)),
    CorpusFile("services/auth/settings.py", _t("""
        import requests

        SECRET_KEY = "@@rand43@@"
        REQUEST_ID = "@@uuid@@"
        ME = requests.get(
            "https://api.otherpay.io/v2/users/me",
            headers={"Authorization": "ApiKey @@uuid@@:@@rand43@@"},
        )
        """)),
    CorpusFile("services/auth/config.yaml", _t("""
        oauth:
          client_id: @@uuid@@
          client_secret: @@rand43@@
        webhooks:
          signing_secret: "@@rand43@@"
        """)),
    CorpusFile("data/tenants.json", _json({
        "tenants": [
            {"id": "@@uuid@@", "api_secret": "@@rand43@@"},
            {"id": "@@uuid@@", "api_secret": "@@rand43@@"},
            {"id": "@@uuid@@", "api_secret": "@@rand43@@"},
        ],
    })),
    CorpusFile("migrations/0003_seed.sql", _t("""
        INSERT INTO api_clients (id, secret) VALUES ('@@uuid@@', '@@rand43@@');
        INSERT INTO api_clients (id, secret) VALUES ('@@uuid@@', '@@rand43@@');
        """)),
    # --- real keys on lines that end with an allow comment
    CorpusFile("config/allowlisted/keys.env", _t("""
        # Published sandbox key for the docs site
        NEXPAY_CLIENT_ID=@@allow_cid@@  # nexpay-scan: allow
        NEXPAY_SECRET=@@allow_sk@@ # nexpay-scan: allow
        """)),
    CorpusFile("config/allowlisted/fixture.js", _t("""
        export const DOCS_KEY = "@@allow_sk@@"; // nexpay-scan: allow
        export const DOCS_HEADER = "ApiKey @@allow_cid@@:@@allow_sk@@"; // nexpay-scan: allow
        """)),
    CorpusFile("config/allowlisted/legacy.py", _t("""
        # nexpay v1 sandbox key published in the public docs
        NEXPAY_LEGACY_SECRET = "@@allow_lsk@@"  # nexpay-scan: allow
        NEXPAY_LEGACY_CLIENT_ID = "@@allow_lcid@@"  # nexpay-scan: allow
        """)),
    CorpusFile("config/allowlisted/seed.sql", _t("""
        INSERT INTO nexpay_keys (client_id, secret) VALUES ('@@allow_cid@@', '@@allow_sk@@'); -- nexpay-scan: allow
        """)),
    CorpusFile("config/allowlisted/widget.html", _t("""
        <div data-nexpay-key="@@allow_sk@@"></div> <!-- nexpay-scan: allow -->
        """)),
    CorpusFile("config/allowlisted/agent.ps1", _t("""
        $env:NEXPAY_SECRET = "@@allow_sk@@"  # nexpay-scan: allow
        """), newline="\r\n"),
)
# fmt: on


# ---------------------------------------------------------------------- writing


def line_of(text: str, value: str) -> int:
    """1-based line of the single occurrence of value in text."""
    if text.count(value) != 1:
        raise ValueError(f"{value!r} must occur exactly once, found {text.count(value)}")
    return text.count("\n", 0, text.index(value)) + 1


def _write(root: Path, spec: CorpusFile, keys: KeyFactory) -> _Rendered:
    rendered = _render(spec.template, keys)
    rendered.text = rendered.text.replace("\n", spec.newline)
    target = root / spec.path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(rendered.text.encode("utf-8", "surrogateescape"))
    return rendered


def write_corpus(root: Path, seed: int = DEFAULT_SEED) -> Corpus:
    """Write the corpus under root; return what a correct scan must report."""
    paths = [spec.path for spec in POSITIVE_FILES + NEGATIVE_FILES]
    if len(set(paths)) != len(paths):
        raise ValueError("duplicate corpus path")
    keys = KeyFactory(seed)
    corpus = Corpus(positives=[], negative_files=[])
    for spec in POSITIVE_FILES:
        rendered = _write(root, spec, keys)
        corpus.positives += [
            Expected(spec.path, line_of(rendered.text, match), match, kind)
            for match, kind in rendered.positives
        ]
        corpus.negatives += [NegativeCase(spec.path, v, r) for v, r in rendered.negatives]
    for spec in NEGATIVE_FILES:
        rendered = _write(root, spec, keys)
        if rendered.positives:
            raise ValueError(f"negative file {spec.path} holds positive markers")
        corpus.negative_files.append(spec.path)
        corpus.negatives += [NegativeCase(spec.path, v, r) for v, r in rendered.negatives]
    return corpus
