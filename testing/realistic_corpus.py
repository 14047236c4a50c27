"""A realistic corpus for precision and recall: the files Nexpay keys leak through, with
known true keys and known decoys (deterministic: keys from testing/keys.py).

Each file kind is one folder: notebooks, shell history, HAR / Postman / Bruno / `.http`
exports, CI YAML, Terraform, lock files, SQL dumps, minified bundles, `.netrc`, Compose and
Kubernetes manifests, settings with look-alike secrets of other vendors, placeholders.
Every value planted is either a true Nexpay credential (`truth`) or a decoy: anything
reported that is not in `truth` is a false positive. `bench/precision.py` scans it and
prints precision and recall; `tests/test_realistic_corpus.py` holds them at 1.0.
"""

from __future__ import annotations

import base64
import hashlib
import json
import random
import string
from pathlib import Path

from testing.keys import client_id, legacy_client_id, legacy_secret, secret

Truth = set[tuple[str, str, str]]  # (file, kind, value)
_B64 = string.ascii_letters + string.digits + "+/"


class Corpus:
    """The files written and what is true in them."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.truth: Truth = set()
        self.decoys: Truth = set()
        self.kinds: dict[str, str] = {}  # file -> its kind (the folder)
        self._seed = 100
        self._file = ""

    def file(self, path: str, text: str) -> None:
        target = self.root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        self.kinds[path] = path.split("/", 1)[0]

    def at(self, path: str) -> Corpus:
        """Values made from now on are planted in `path`."""
        self._file = path
        return self

    def _next(self) -> int:
        self._seed += 1
        return self._seed

    def secret(self) -> str:
        """A true legacy secret."""
        value = legacy_secret(self._next())
        self.truth.add((self._file, "secret", value))
        return value

    def cid(self) -> str:
        """A true legacy client ID."""
        value = legacy_client_id(self._next())
        self.truth.add((self._file, "client_id", value))
        return value

    def current(self) -> tuple[str, str]:
        """A true current (prefixed) client ID and secret."""
        seed = self._next()
        self.truth.add((self._file, "client_id", client_id(seed)))
        self.truth.add((self._file, "secret", secret(seed)))
        return client_id(seed), secret(seed)

    def decoy(self) -> str:
        """A 43-character base64url value that is not a Nexpay key."""
        value = legacy_secret(50_000 + self._next())
        self.decoys.add((self._file, "secret", value))
        return value

    def uuid(self) -> str:
        """A UUID that is not a Nexpay client ID."""
        value = legacy_client_id(50_000 + self._next())
        self.decoys.add((self._file, "client_id", value))
        return value


def write(root: Path) -> Corpus:
    """Writes the corpus under `root` and returns what is true in it."""
    corpus = Corpus(root)
    for make in (
        _notebooks,
        _history,
        _exports,
        _ci,
        _terraform,
        _locks,
        _sql,
        _bundles,
        _netrc,
        _manifests,
        _settings,
        _placeholders,
    ):
        make(corpus)
    return corpus


def _digest(seed: str, size: int, *, urlsafe: bool = False, run: bool = False) -> str:
    """A package digest, base64: `run` makes its first 43 characters a run of letters and
    digits that a legacy secret's pattern matches, ended by a `+` (as happens in real lock
    files: one digest in a few dozen)."""
    raw = hashlib.sha512(seed.encode()).digest()[:size]
    text = (base64.urlsafe_b64encode if urlsafe else base64.b64encode)(raw).decode()
    if run:
        rng = random.Random(seed)
        head = "".join(c if c.isalnum() else rng.choice(string.ascii_letters) for c in text[:42])
        text = head + rng.choice("AEIMQUYcgkosw048") + "+" + text[44:]
    return text


# -- notebooks ------------------------------------------------------------------------------


def _notebooks(c: Corpus) -> None:
    path = "notebooks/payouts-analysis.ipynb"
    c.at(path)
    cells = [
        {
            "cell_type": "code",
            "execution_count": 1,
            "metadata": {},
            "source": [
                "import nexpay\n",
                "import pandas as pd\n",
                f'NEXPAY_CLIENT_ID = "{c.cid()}"\n',
                f'NEXPAY_SECRET = "{c.secret()}"\n',
                f'JWT_SIGNING_KEY = "{c.decoy()}"  # for the internal dashboard, not nexpay\n',
            ],
            "outputs": [],
        },
        {
            "cell_type": "code",
            "execution_count": 2,
            "metadata": {},
            "source": ["client = nexpay.Client(NEXPAY_CLIENT_ID, NEXPAY_SECRET)\n", "os.environ"],
            "outputs": [
                {
                    "output_type": "execute_result",
                    "execution_count": 2,
                    "metadata": {},
                    "data": {
                        "text/plain": [
                            f"environ({{'HOME': '/home/jovyan', 'SESSION_SECRET': '{c.decoy()}',\n",
                            f"         'NEXPAY_SECRET': '{c.secret()}',\n",
                            f"         'X_REQUEST_ID': '{c.uuid()}'}})",
                        ]
                    },
                }
            ],
        },
        {
            "cell_type": "code",
            "execution_count": 3,
            "metadata": {},
            "source": ["resp = client.get('/v2/users/me')\n", "resp.headers"],
            "outputs": [
                {
                    "output_type": "stream",
                    "name": "stdout",
                    "text": [
                        "GET https://api.nexpay.com/v2/users/me 200\n",
                        f"x-request-id: {c.uuid()}\n",
                        f"x-trace-id: {c.uuid()}\n",
                        f"set-cookie: session={c.decoy()}; HttpOnly\n",
                    ],
                },
                {
                    "output_type": "display_data",
                    "metadata": {},
                    "data": {
                        "image/png": base64.b64encode(hashlib.sha512(b"png").digest() * 40).decode()
                    },
                },
            ],
        },
    ]
    notebook = {"cells": cells, "metadata": {"kernelspec": {"name": "python3"}}, "nbformat": 4}
    c.file(path, json.dumps(notebook, indent=1) + "\n")


# -- shell history --------------------------------------------------------------------------


def _history(c: Corpus) -> None:
    path = "history/.bash_history"
    c.at(path)
    cid, key = c.cid(), c.secret()
    lines = [
        "cd ~/src/checkout",
        "git pull",
        f"export NEXPAY_SECRET={c.secret()}",
        f"export SESSION_SECRET={c.decoy()}",
        "python manage.py runserver",
        f"curl -s -u {cid}:{key} https://api.nexpay.com/v2/users/me | jq .",
        f'curl -H "X-Request-Id: {c.uuid()}" https://api.nexpay.com/v2/charges',
        f"heroku config:set COOKIE_SECRET={c.decoy()}  # rotate after NEXPAY incident",
        "docker compose up -d",
        f"redis-cli -a {c.decoy()} ping",
        "echo $NEXPAY_CLIENT_ID",
    ]
    c.file(path, "\n".join(lines) + "\n")
    path = "history/.zsh_history"
    c.at(path)
    cid2, key2 = c.cid(), c.secret()
    lines = [
        f": 1700000000:0;export NEXPAY_CLIENT_ID={c.cid()}",
        ": 1700000010:0;kubectl get pods",
        f": 1700000020:0;export CSRF_SECRET={c.decoy()}",
        f": 1700000030:0;http GET https://api.nexpay.com/v2/users/me "
        f"'Authorization:ApiKey {cid2}:{key2}'",
        f": 1700000040:0;curl -u {c.uuid()}:{c.decoy()} https://registry.example.org/v2/",
    ]
    c.file(path, "\n".join(lines) + "\n")


# -- HAR, Postman, Bruno, .http ---------------------------------------------------------------


def _exports(c: Corpus) -> None:
    path = "exports/checkout-session.har"
    c.at(path)
    cid, key = c.cid(), c.secret()
    basic_cid, basic_key = c.cid(), c.secret()
    basic = base64.b64encode(f"{basic_cid}:{basic_key}".encode()).decode()
    account = c.uuid()
    body = json.dumps({"id": account, "email": "ops@example.org", "name": "Ops"})
    entries = [
        {
            "startedDateTime": "2024-03-01T10:00:00.000Z",
            "request": {
                "method": "GET",
                "url": "https://api.nexpay.com/v2/users/me",
                "httpVersion": "HTTP/1.1",
                "cookies": [{"name": "session", "value": c.decoy()}],
                "queryString": [],
                "headersSize": -1,
                "bodySize": 0,
                "headers": [
                    {"name": "Accept", "value": "application/json"},
                    {"name": "X-Request-Id", "value": c.uuid()},
                    {"name": "Authorization", "value": f"ApiKey {cid}:{key}"},
                ],
            },
            "response": {
                "status": 200,
                "headers": [{"name": "X-Trace-Id", "value": c.uuid()}],
                "content": {"mimeType": "application/json", "text": body},
            },
        },
        {
            "startedDateTime": "2024-03-01T10:00:01.000Z",
            "request": {
                "method": "GET",
                "url": "https://api.nexpay.com/v2/payouts",
                "headers": [{"name": "Authorization", "value": f"Basic {basic}"}],
            },
            "response": {"status": 200, "headers": []},
        },
        {
            "startedDateTime": "2024-03-01T10:00:02.000Z",
            "request": {
                "method": "POST",
                "url": "https://search.example.org/v1/index",
                "httpVersion": "HTTP/1.1",
                "headers": [
                    {"name": "Authorization", "value": f"ApiKey {c.uuid()}:{c.decoy()}"},
                    {"name": "X-Signature", "value": c.decoy()},
                ],
            },
            "response": {"status": 204, "headers": []},
        },
    ]
    har = {"log": {"version": "1.2", "creator": {"name": "Firefox"}, "entries": entries}}
    c.file(path, json.dumps(har, indent=2) + "\n")

    path = "exports/nexpay.postman_collection.json"
    c.at(path)
    cid, key = c.cid(), c.secret()
    collection = {
        "info": {"name": "Nexpay", "schema": "https://schema.getpostman.com/v2.1.0"},
        "item": [
            {
                "name": "Me",
                "request": {
                    "method": "GET",
                    "header": [
                        {"key": "Authorization", "value": f"ApiKey {cid}:{key}"},
                        {"key": "Idempotency-Key", "value": c.uuid()},
                    ],
                    "description": "Returns the account the key belongs to.",
                    "url": {
                        "raw": "https://api.nexpay.com/v2/users/me",
                        "host": ["api", "nexpay", "com"],
                        "path": ["v2", "users", "me"],
                    },
                },
            }
        ],
    }
    c.file(path, json.dumps(collection, indent=2) + "\n")

    path = "exports/prod.postman_environment.json"
    c.at(path)
    environment = {
        "name": "prod",
        "values": [
            {"key": "base_url", "value": "https://api.nexpay.com", "enabled": True},
            {"key": "nexpay_client_id", "value": c.cid(), "enabled": True},
            {"key": "nexpay_secret", "value": c.secret(), "enabled": True},
            {"key": "session_secret", "value": c.decoy(), "enabled": True},
            {"key": "webhook_signing_secret", "value": c.decoy(), "enabled": True},
        ],
    }
    c.file(path, json.dumps(environment, indent=2) + "\n")

    path = "exports/bruno/nexpay/me.bru"
    c.at(path)
    cid, key = c.cid(), c.secret()
    c.file(
        path,
        "meta {\n  name: me\n  type: http\n  seq: 1\n}\n\n"
        "get {\n  url: https://api.nexpay.com/v2/users/me\n  body: none\n  auth: none\n}\n\n"
        f"headers {{\n  Accept: application/json\n  Authorization: ApiKey {cid}:{key}\n}}\n",
    )
    path = "exports/bruno/nexpay/environments/prod.bru"
    c.at(path)
    c.file(
        path,
        f"vars {{\n  baseUrl: https://api.nexpay.com\n  nexpayClientId: {c.cid()}\n"
        f"  nexpaySecret: {c.secret()}\n  sessionSecret: {c.decoy()}\n}}\n",
    )

    path = "exports/requests.http"
    c.at(path)
    cid, key = c.cid(), c.secret()
    basic_cid, basic_key = c.cid(), c.secret()
    basic = base64.b64encode(f"{basic_cid}:{basic_key}".encode()).decode()
    c.file(
        path,
        "### who am I\n"
        "GET https://api.nexpay.com/v2/users/me\n"
        "Accept: application/json\n"
        f"X-Request-Id: {c.uuid()}\n"
        f"Authorization: ApiKey {cid}:{key}\n\n"
        "### the same, Basic\n"
        "GET https://api.nexpay.com/v2/users/me\n"
        f"Authorization: Basic {basic}\n\n"
        "### search (not Nexpay)\n"
        "POST https://search.example.org/v1/query\n"
        "Content-Type: application/json\n"
        f"Authorization: ApiKey {c.uuid()}:{c.decoy()}\n\n"
        '{"q": "nexpay"}\n',
    )


# -- CI -----------------------------------------------------------------------------------------


def _ci(c: Corpus) -> None:
    path = "ci/.github/workflows/deploy.yml"
    c.at(path)
    c.file(
        path,
        f"""name: deploy
on:
  push:
    branches: [main]
env:
  NEXPAY_CLIENT_ID: {c.cid()}
jobs:
  deploy:
    runs-on: ubuntu-latest
    env:
      SESSION_SECRET: {c.decoy()}
    steps:
      - uses: actions/checkout@v4
      - name: Smoke test Nexpay
        run: |
          curl -fsS -H "Authorization: ApiKey ${{{{ secrets.NEXPAY_CLIENT_ID }}}}:${{{{ secrets.NEXPAY_SECRET }}}}" \\
            https://api.nexpay.com/v2/users/me
      - name: Deploy
        env:
          NEXPAY_SECRET: {c.secret()}
          COOKIE_SECRET: {c.decoy()}
        run: ./deploy.sh
""",
    )
    path = "ci/.gitlab-ci.yml"
    c.at(path)
    c.file(
        path,
        f"""variables:
  NEXPAY_SECRET: "{c.secret()}"
  CSRF_SECRET: "{c.decoy()}"

stages: [test, deploy]

test:
  image: python:3.12
  services:
    - name: redis:7
      alias: cache
  variables:
    REDIS_PASSWORD: "{c.decoy()}"
  script:
    - pip install nexpay==2.1.0
    - pytest

deploy:
  stage: deploy
  variables:
    nexpay:
      legacy_client_id: {c.cid()}
  script:
    - ./deploy.sh
""",
    )


# -- Terraform --------------------------------------------------------------------------------


def _terraform(c: Corpus) -> None:
    path = "terraform/main.tf"
    c.at(path)
    c.file(
        path,
        f"""terraform {{
  required_providers {{
    nexpay = {{
      source  = "nexpay/nexpay"
      version = "~> 1.4"
    }}
  }}
}}

provider "nexpay" {{
  region    = "eu-west-1"
  client_id = "{c.cid()}"
  secret    = "{c.secret()}"
}}

variable "nexpay_secret" {{
  description = "Legacy Nexpay API secret"
  type        = string
  sensitive   = true
  default     = "{c.secret()}"
}}

variable "session_secret" {{
  description = "Cookie signing for the app that calls Nexpay"
  type        = string
  default     = "{c.decoy()}"
}}

resource "aws_ssm_parameter" "nexpay_webhook" {{
  name  = "/nexpay/webhook_signing_secret"
  type  = "SecureString"
  value = "{c.decoy()}"
}}

resource "random_id" "nexpay_trace" {{
  keepers = {{
    trace_id = "{c.uuid()}"
  }}
  byte_length = 8
}}
""",
    )
    path = "terraform/prod.tfvars"
    c.at(path)
    c.file(
        path,
        f'nexpay_client_id = "{c.cid()}"\n'
        f'jwt_signing_key  = "{c.decoy()}"\n'
        f'nexpay_account_id = "{c.uuid()}"\n',
    )


# -- lock files ---------------------------------------------------------------------------------


def _locks(c: Corpus) -> None:
    path = "locks/package-lock.json"
    c.at(path)
    packages: dict[str, object] = {"": {"name": "checkout", "dependencies": {"nexpay-sdk": "^2"}}}
    for number, name in enumerate(["nexpay-sdk", "nexpay-types", "axios", "qs", "uuid"] * 6):
        key = f"node_modules/{name}{'' if number < 5 else f'-{number}'}"
        packages[key] = {
            "version": f"2.{number}.0",
            "resolved": f"https://registry.npmjs.org/{name}/-/{name}-2.{number}.0.tgz",
            "integrity": "sha512-" + _digest(f"npm-{number}", 64, run=number % 2 == 0),
        }
    lock = {"name": "checkout", "lockfileVersion": 3, "packages": packages}
    c.file(path, json.dumps(lock, indent=2) + "\n")

    path = "locks/yarn.lock"
    c.at(path)
    entries = []
    for number in range(12):
        name = "nexpay-sdk" if number % 3 == 0 else f"dep-{number}"
        entries.append(
            f'"{name}@^2.{number}.0":\n  version "2.{number}.0"\n'
            f'  resolved "https://registry.yarnpkg.com/{name}/-/{name}-2.{number}.0.tgz"\n'
            f"  integrity sha512-{_digest(f'yarn-{number}', 64, run=True)}\n"
        )
    c.file(path, "\n".join(entries))

    path = "locks/go.sum"
    c.at(path)
    lines = []
    for number in range(10):
        module = "github.com/nexpay/nexpay-go" if number < 3 else f"github.com/dep/m{number}"
        lines.append(f"{module} v1.{number}.0 h1:{_digest(f'go-{number}', 32, run=True)}")
        lines.append(f"{module} v1.{number}.0/go.mod h1:{_digest(f'gomod-{number}', 32)}")
    c.file(path, "\n".join(lines) + "\n")

    path = "locks/nexpay-2.1.0.dist-info/RECORD"
    c.at(path)
    files = [f"nexpay/{n}.py" for n in ("__init__", "client", "errors", "legacy", "webhooks")]
    files += [f"nexpay-2.1.0.dist-info/{n}" for n in ("METADATA", "WHEEL", "top_level.txt")]
    rows = [
        f"{name},sha256={_digest(name, 32, urlsafe=True).rstrip('=')},{1000 + i * 37}"
        for i, name in enumerate(files)
    ]
    rows.append("nexpay-2.1.0.dist-info/RECORD,,")
    c.file(path, "\n".join(rows) + "\n")


# -- SQL dumps ------------------------------------------------------------------------------------


def _sql(c: Corpus) -> None:
    path = "sql/dump.sql"
    c.at(path)
    c.file(
        path,
        f"""--
-- PostgreSQL database dump
--
CREATE TABLE public.nexpay_credentials (
    id integer NOT NULL,
    merchant_id uuid NOT NULL,
    client_id uuid NOT NULL,
    secret text NOT NULL,
    created_at timestamp without time zone
);

COPY public.nexpay_credentials (id, merchant_id, client_id, secret, created_at) FROM stdin;
1\t{c.uuid()}\t{c.cid()}\t{c.secret()}\t2020-01-04 10:00:00
2\t{c.uuid()}\t{c.cid()}\t{c.secret()}\t2020-02-11 09:30:00
\\.

COPY public.sessions (id, session_key, user_id, data) FROM stdin;
1\t{c.decoy()}\t{c.uuid()}\t{{}}
2\t{c.decoy()}\t{c.uuid()}\t{{}}
\\.

INSERT INTO `webhooks` (`id`, `provider`, `signing_secret`) VALUES (1,'nexpay','{c.decoy()}'),(2,'nexpay','{c.decoy()}');
INSERT INTO `api_keys` (`id`, `provider`, `client_id`, `secret`) VALUES (1,'nexpay','{c.cid()}','{c.secret()}');
""",
    )


# -- minified bundles -------------------------------------------------------------------------------


def _bundles(c: Corpus) -> None:
    path = "bundles/static/js/app.3f9a1c.min.js"
    c.at(path)
    rng = random.Random("bundle")
    filler = ";".join(
        f"function f{n}(e,t){{return e.map(function(n){{return n*t+{n}}})}}" for n in range(200)
    )
    hashes = ",".join(
        f'"{"".join(rng.choice(string.ascii_letters + string.digits) for _ in range(42))}A"'
        for _ in range(5)
    )
    source_map = base64.b64encode(
        json.dumps({"version": 3, "mappings": "AAAA;" * 200, "names": ["nexpay"]}).encode()
    ).decode()
    c.file(
        path,
        "!function(){"
        + filler
        + f';var chunkHashes=[{hashes}];var nexpayConfig={{clientId:"{c.cid()}",'
        + f'secret:"{c.secret()}",baseUrl:"https://api.nexpay.com"}};'
        + f'var app={{sessionSecret:"{c.decoy()}",csrfSecret:"{c.decoy()}"}};'
        + 'function me(t){return fetch("https://api.nexpay.com/v2/users/me",'
        + '{headers:{Authorization:"ApiKey "+t}})}'
        + filler
        + "}();\n//# sourceMappingURL=data:application/json;base64,"
        + source_map
        + "\n",
    )


# -- .netrc ------------------------------------------------------------------------------------


def _netrc(c: Corpus) -> None:
    path = "netrc/.netrc"
    c.at(path)
    c.file(
        path,
        "machine github.com\n  login octocat\n  password ghp_notarealtokenatall000000000000000000\n\n"
        f"machine api.nexpay.com\n  login {c.cid()}\n  password {c.secret()}\n\n"
        f"machine registry.example.org login {c.uuid()} password {c.decoy()}\n",
    )


# -- docker-compose, Kubernetes -------------------------------------------------------------------


def _manifests(c: Corpus) -> None:
    path = "manifests/docker-compose.yml"
    c.at(path)
    c.file(
        path,
        f"""services:
  api:
    image: checkout/api:1.4
    environment:
      NEXPAY_CLIENT_ID: {c.cid()}
      NEXPAY_SECRET: {c.secret()}
      SESSION_SECRET: {c.decoy()}
  worker:
    image: checkout/worker:1.4
    environment:
      - NEXPAY_SECRET={c.secret()}
      - COOKIE_SECRET={c.decoy()}
  redis:
    image: redis:7
    command: redis-server --requirepass {c.decoy()}
""",
    )
    path = "manifests/k8s/deployment.yaml"
    c.at(path)
    c.file(
        path,
        f"""apiVersion: apps/v1
kind: Deployment
metadata:
  name: checkout
spec:
  template:
    spec:
      containers:
        - name: api
          image: checkout/api:1.4
          env:
            - name: NEXPAY_CLIENT_ID
              value: "{c.cid()}"
            - name: NEXPAY_ENVIRONMENT
              value: production
            - name: SESSION_SECRET
              value: "{c.decoy()}"
            - name: NEXPAY_WEBHOOK_SECRET
              value: "{c.decoy()}"
""",
    )
    path = "manifests/k8s/secret.yaml"
    c.at(path)

    def b64(text: str) -> str:
        return base64.b64encode(text.encode()).decode()

    c.file(
        path,
        f"""apiVersion: v1
kind: Secret
metadata:
  name: nexpay-credentials
type: Opaque
data:
  NEXPAY_SECRET: {b64(c.secret())}
  SESSION_SECRET: {b64(c.decoy())}
""",
    )


# -- settings with look-alikes --------------------------------------------------------------------


def _settings(c: Corpus) -> None:
    path = "settings/settings.py"
    c.at(path)
    sendgrid = "SG." + legacy_secret(90_001)[:22] + "." + c.decoy()
    jwt_parts = [
        base64.urlsafe_b64encode(b'{"alg":"HS256","typ":"JWT"}').decode().rstrip("="),
        base64.urlsafe_b64encode(b'{"sub":"nexpay-sync"}').decode().rstrip("="),
        c.decoy(),
    ]
    c.file(
        path,
        f'''"""Settings for checkout."""
import os

NEXPAY_CLIENT_ID = "{c.cid()}"
NEXPAY_SECRET = "{c.secret()}"
SECRET_KEY = "{c.decoy()}"  # Django's own
SENDGRID_API_KEY = "{sendgrid}"
STRIPE_SECRET_KEY = "sk_live_{legacy_secret(90_002)[:24]}"
AWS_SECRET_ACCESS_KEY = "{legacy_secret(90_003)[:40]}"
NEXPAY_SYNC_TOKEN = "{".".join(jwt_parts)}"
SLACK_WEBHOOK_URL = "https://hooks.slack.com/services/T0000/B0000/{legacy_secret(90_004)[:24]}"


class NexpayConfig:
    timeout = 30
    retries = 3
    secret = "{c.secret()}"


class CacheConfig:  # where nexpay responses are cached
    host = "redis"
    password = "{c.decoy()}"


NEXPAY_API = "https://api.nexpay.com"
HEADERS = {{"Authorization": "ApiKey {c.cid()}:{c.secret()}"}}


def me(session):
    return session.get(NEXPAY_API + "/v2/users/me", headers=HEADERS)
''',
    )
    path = "settings/.env"
    c.at(path)
    c.file(
        path,
        f"NEXPAY_CLIENT_ID={c.cid()}\nNEXPAY_SECRET={c.secret()}\n"
        f"SESSION_SECRET={c.decoy()}\nJWT_SIGNING_KEY={c.decoy()}\n# NEXPAY\n"
        f"REDIS_PASSWORD={c.decoy()}\n",
    )
    path = "settings/app.ini"
    c.at(path)
    c.file(
        path,
        f"[nexpay]\nregion = eu\ntimeout = 30\nretries = 3\nclient_id = {c.cid()}\n"
        f"secret = {c.secret()}\n\n[session]\n; signs the cookies of the nexpay dashboard\n"
        f"secret = {c.decoy()}\n",
    )
    path = "settings/App.config"
    c.at(path)
    c.file(
        path,
        f"""<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <appSettings>
    <add key="Nexpay:ClientId" value="{c.cid()}" />
    <add key="Nexpay:Secret" value="{c.secret()}" />
    <add key="Session:Secret" value="{c.decoy()}" />
  </appSettings>
  <nexpay>
    <timeout>30</timeout>
    <legacySecret>{c.secret()}</legacySecret>
  </nexpay>
</configuration>
""",
    )
    path = "settings/keys.csv"
    c.at(path)
    c.file(
        path,
        "label,nexpay_client_id,nexpay_secret,created\n"
        f"prod,{c.cid()},{c.secret()},2021-03-04\n"
        f"staging,{c.cid()},{c.secret()},2021-05-06\n",
    )
    path = "settings/sessions.csv"
    c.at(path)
    c.file(
        path,
        "user,session_token,request_id,source\n"
        f"alice,{c.decoy()},{c.uuid()},nexpay-dashboard\n"
        f"bob,{c.decoy()},{c.uuid()},nexpay-dashboard\n",
    )
    path = "settings/config.yaml"
    c.at(path)
    c.file(
        path,
        f"""payments:
  providers:
    nexpay:
      environment: production
      timeout_seconds: 30
      retry:
        attempts: 3
        backoff: exponential
      credentials:
        client_id: {c.cid()}
        secret: {c.secret()}
  cache:
    redis_password: {c.decoy()}
  webhooks:
    nexpay:
      signing_secret: {c.decoy()}
      endpoint_id: {c.uuid()}
""",
    )
    path = "settings/.env.production"
    c.at(path)
    cid, key = c.current()
    c.file(path, f"NEXPAY_CLIENT_ID={cid}\nNEXPAY_SECRET={key}\n")


# -- placeholders -------------------------------------------------------------------------------


def _placeholders(c: Corpus) -> None:
    path = "placeholders/README.md"
    c.at(path)
    c.file(
        path,
        "# Nexpay setup\n\n"
        "Put your key in `.env`:\n\n"
        "    NEXPAY_CLIENT_ID=12345678-1234-1234-1234-123456789abc\n"
        "    NEXPAY_SECRET=0123456789abcdefghijABCDEFGHIJ0123456789abc\n\n"
        "The current format looks like this (from the contract):\n\n"
        "    NEXPAY_CLIENT_ID=nxp_cid_ABCDEFGHIJKLMNOPQRSTUVWX\n"
        "    NEXPAY_SECRET=nxp_sk_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA2tNEJs\n"
        "    NEXPAY_SECRET=nxp_sk_0123456789abcdefghijABCDEFGHIJ01234536IYNx\n"
        "    NEXPAY_SECRET=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxw\n",
    )
    for value in (
        "12345678-1234-1234-1234-123456789abc",
        "0123456789abcdefghijABCDEFGHIJ0123456789abc",
        "nxp_cid_ABCDEFGHIJKLMNOPQRSTUVWX",
        "nxp_sk_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA2tNEJs",
        "nxp_sk_0123456789abcdefghijABCDEFGHIJ01234536IYNx",
    ):
        kind = "client_id" if "cid" in value or value.count("-") == 4 else "secret"
        c.decoys.add((path, kind, value))
