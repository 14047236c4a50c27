#!/usr/bin/env python3
"""Precision and recall of `nexpay-scan files` on the realistic corpus (testing/realistic_corpus.py).

    python bench/precision.py                      # the code of this checkout
    python bench/precision.py --code /work/main    # another checkout's nexpay_scan (before)
    python bench/precision.py --json out.json      # every figure, and what was missed or extra

The corpus is written to a temporary folder (deterministic: the same keys every run). A
finding counts by (file, kind, value): true when the corpus planted that credential there,
false otherwise (a decoy: a session secret, a digest, a placeholder, another vendor's
token). Printed per file kind, then in total. Values are compared by sha256 only: nothing
here prints a key.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))

from testing.realistic_corpus import Corpus, write  # noqa: E402

Row = tuple[str, str, str]  # (file, kind, sha256 of the value)


def scan(root: Path, code: Path) -> list[dict[str, Any]]:
    """The findings of `nexpay-scan files root --format json`, run from `code`."""
    env = dict(os.environ, PYTHONPATH=str(code))
    env.pop("NEXPAY_SCAN_CACHE_DIR", None)
    done = subprocess.run(
        [sys.executable, "-m", "nexpay_scan", "files", str(root), "--format", "json"],
        capture_output=True,
        text=True,
        env=env,
        cwd=root,
        check=False,
    )
    if done.returncode not in (0, 1):
        raise SystemExit(f"nexpay-scan failed ({done.returncode}): {done.stderr.strip()}")
    findings: list[dict[str, Any]] = json.loads(done.stdout)["findings"]
    return findings


def _sha(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def measure(corpus: Corpus, findings: list[dict[str, Any]]) -> dict[str, Any]:
    """Per file kind and in total: true positives, false positives, false negatives,
    precision and recall; plus the rows missed and reported in excess."""
    truth = {(f, k, _sha(v)) for f, k, v in corpus.truth}
    found = {(str(f["file"]), str(f["kind"]), str(f["secret_sha256"])) for f in findings}
    names = {(f, k, _sha(v)): v for f, k, v in corpus.truth | corpus.decoys}
    counts: dict[str, Counter[str]] = {kind: Counter() for kind in corpus.kinds.values()}
    for row in truth | found:
        kind = corpus.kinds.get(row[0], "?")
        tally = counts.setdefault(kind, Counter())
        tally["tp" if row in truth and row in found else "fn" if row in truth else "fp"] += 1
    total: Counter[str] = Counter()
    for tally in counts.values():
        total.update(tally)
    table = {kind: _rates(tally) for kind, tally in sorted(counts.items())}
    table["total"] = _rates(total)

    def shown(rows: set[Row]) -> list[str]:
        return sorted(f"{f} [{k}] {_hint(names.get((f, k, s)))}" for f, k, s in rows)

    return {"table": table, "missed": shown(truth - found), "extra": shown(found - truth)}


def _hint(value: str | None) -> str:
    """A decoy's or key's first characters, enough to tell which it was (never all of it)."""
    return "(unplanted value)" if value is None else value[:6] + "…"


def _rates(tally: Counter[str]) -> dict[str, float | int]:
    tp, fp, fn = tally["tp"], tally["fp"], tally["fn"]
    return {
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "precision": tp / (tp + fp) if tp + fp else 1.0,
        "recall": tp / (tp + fn) if tp + fn else 1.0,
    }


def render(result: dict[str, Any]) -> str:
    """The table as text, then what was missed and what was reported in excess."""
    lines = [f"{'kind':<14}{'tp':>5}{'fp':>5}{'fn':>5}{'precision':>11}{'recall':>8}"]
    for kind, r in result["table"].items():
        lines.append(
            f"{kind:<14}{r['tp']:>5}{r['fp']:>5}{r['fn']:>5}"
            f"{r['precision']:>11.2f}{r['recall']:>8.2f}"
        )
    for title in ("missed", "extra"):
        if result[title]:
            lines.append(f"\n{title} ({len(result[title])}):")
            lines.extend(f"  {row}" for row in result[title])
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--code", type=Path, default=PROJECT, help="checkout whose code runs")
    parser.add_argument("--json", type=Path, help="write every figure here")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="nexpay-precision-") as folder:
        root = Path(folder) / "corpus"
        corpus = write(root)
        result = measure(corpus, scan(root, args.code.resolve()))
    print(f"nexpay-scan from {args.code}")
    print(render(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
