"""Time to verify N distinct keys against a local fake API that answers in D ms.

    python bench/verify.py --keys 200 --delay-ms 50

Prints the wall time of `nexpay-scan files --verify` over a tree holding N key pairs, the
time of the same scan without --verify (the baseline, run in the same invocation), and the
serial floor N x D for comparison. Loopback only: the fake API is the test suite's.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from testing.fake_nexpay import FakeNexpay  # noqa: E402
from testing.keys import client_id, secret  # noqa: E402


def _scan(tree: Path, *extra: str) -> float:
    started = time.perf_counter()
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "nexpay_scan",
            "files",
            str(tree),
            "--quiet",
            "--format",
            "json",
            *extra,
        ],
        capture_output=True,
        check=False,
        cwd=ROOT,
    )
    elapsed = time.perf_counter() - started
    if done.returncode not in (0, 1):
        raise SystemExit(f"scan failed: {done.stderr.decode()[:300]}")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", type=int, default=200)
    parser.add_argument("--delay-ms", type=float, default=50.0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory() as folder,
        FakeNexpay(default_delay=args.delay_ms / 1000) as api,
    ):
        tree = Path(folder)
        for i in range(args.keys):
            cid, sk = client_id(10_000 + i), secret(10_000 + i)
            (tree / f"service{i:04d}.env").write_text(
                f"NEXPAY_CLIENT_ID={cid}\nNEXPAY_SECRET={sk}\n"
            )
            if i % 2 == 0:
                api.live(cid, sk)
        plain, verified = [], []
        for _ in range(args.runs):
            plain.append(_scan(tree))
            before = len(api.requests)
            verified.append(
                _scan(
                    tree,
                    "--verify",
                    "--api-base",
                    api.base_url,
                    "--verify-concurrency",
                    str(args.concurrency),
                )
            )
            requests = len(api.requests) - before
    serial = args.keys * args.delay_ms / 1000
    scan, check = statistics.median(plain), statistics.median(verified)
    print(f"keys: {args.keys}, API delay: {args.delay_ms:.0f} ms, concurrency: {args.concurrency}")
    print(f"requests per verified scan: {requests} (half the keys live, half revoked)")
    print(f"scan without --verify (baseline): {scan:.2f} s")
    print(f"scan with --verify:               {check:.2f} s")
    print(f"verification alone:               {check - scan:.2f} s")
    print(
        f"serial floor ({args.keys} x {args.delay_ms:.0f} ms):      {serial:.2f} s "
        f"-> x{(check - scan) / serial:.2f} of serial"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
