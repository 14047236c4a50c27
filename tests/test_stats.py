"""`Stats`: a source's counts, which merge across workers and repositories."""

from __future__ import annotations

import pickle

from nexpay_scan.stats import Skipped, Stats, Summary


def _counted(files: int, *skips: tuple[str, str]) -> Stats:
    stats = Stats()
    stats.files_scanned = files
    stats.bytes_scanned = 10 * files
    for reason, where in skips:
        stats.skip(reason, where)
    return stats


def test_merged_counts_add_and_a_skip_both_name_counts_once() -> None:
    one = _counted(2, ("symbolic link", "a/link"), ("too big", "big.bin"))
    two = _counted(3, ("too big", "big.bin"), ("too big", "other.bin"), ("unreadable", ""))
    two.rule_timeouts["nexpay-secret (builtin)"] += 1
    merged = one.merge(two)
    assert merged is one
    assert (merged.files_scanned, merged.bytes_scanned) == (5, 50)
    assert merged.skipped == {"symbolic link": 1, "too big": 2, "unreadable": 1}
    assert [i.where for i in merged.skipped_items] == ["a/link", "big.bin", "other.bin"]
    assert merged.rule_timeouts == {"nexpay-secret (builtin)": 1}


def test_stats_cross_a_process_boundary_and_still_merge() -> None:
    sent = _counted(1, ("too big", "big.bin"))
    received = pickle.loads(pickle.dumps(sent))
    assert received.skipped_items == [Skipped("big.bin", "too big")]
    received.merge(_counted(0, ("too big", "big.bin")))
    assert received.skipped == {"too big": 1}


def test_summary_is_the_merged_stats_with_the_run_facts() -> None:
    summary = Summary("files", _counted(4, ("symbolic link", "l")))
    summary.merge(_counted(1))
    assert (summary.mode, summary.files_scanned, summary.suppressed) == ("files", 5, 0)
    assert summary.gaps == [Skipped("l", "symbolic link")]  # gap unless told otherwise
    assert summary.duration >= 0
