"""Which client IDs the verifier tries with each secret (nexpay_scan/verifier/pairing.py).

A client ID *belongs* with a secret when it is in the secret's ApiKey header, its file, its
commit, or (range scans) the tree at the head commit: tried nearest first, and a 401 for all
of them means revoked. Any other client ID is a *guess*, from a budget shared out so that a
crowd of decoy secrets cannot use it all up. The end-to-end behaviour against the fake API
is tests/test_verify_pairing.py's."""

from __future__ import annotations

import pytest

from nexpay_scan.findings import Commit, Finding, Secret
from nexpay_scan.sources.tree_ids import TreeClientId
from nexpay_scan.verifier.pairing import (
    COMMIT,
    FILE,
    GUESS,
    HEADER,
    TREE,
    Candidate,
    belonging_candidates,
    guessed_candidates,
    plan_guesses,
)
from testing.keys import client_id, secret

ONE = Commit("1" * 40, "Ada", "ada@example.com", "2024-01-01T12:00:00+00:00")
TWO = Commit("2" * 40, "Ada", "ada@example.com", "2024-01-02T12:00:00+00:00")


def _found(
    value: str, file: str, line: int, commit: Commit | None = None, pair: str | None = None
) -> Finding:
    kind = "client_id" if value.startswith("nxp_cid_") else "secret"
    return Finding(
        f"nexpay-{kind}",
        "test",
        kind,
        "high",
        file,
        line,
        1,
        Secret(value),
        commit=commit,
        pair=Secret(pair) if pair else None,
    )


def _ids(candidates: list[Candidate]) -> list[tuple[str, str]]:
    return [(c.client_id, c.source) for c in candidates]


def test_a_secret_is_tried_with_its_own_client_ids_nearest_first() -> None:
    key = _found(secret(1), "app/prod.env", 10, ONE, pair=client_id(1))
    ids = [
        _found(client_id(2), "app/prod.env", 30, ONE),  # same file, 20 lines away
        _found(client_id(3), "app/prod.env", 11, ONE),  # same file, the next line
        _found(client_id(4), "app/other.env", 1, ONE),  # same commit
        _found(client_id(5), "lib/elsewhere.env", 1, TWO),  # nothing in common: not its own
    ]
    tree = [
        TreeClientId(client_id(6), "docs/setup.md"),
        TreeClientId(client_id(7), "app/config/keys.env"),  # shares the folder `app`
    ]
    assert _ids(belonging_candidates([key], ids, tree)) == [
        (client_id(1), HEADER),
        (client_id(3), FILE),
        (client_id(2), FILE),
        (client_id(4), COMMIT),
        (client_id(7), TREE),
        (client_id(6), TREE),
    ]


def test_a_client_id_seen_in_several_places_is_tried_once_from_the_nearest() -> None:
    key = _found(secret(1), "a.env", 1, ONE, pair=client_id(1))
    ids = [_found(client_id(1), "a.env", 2, ONE), _found(client_id(2), "b.env", 1, ONE)]
    tree = [TreeClientId(client_id(2), "b.env"), TreeClientId(client_id(1), "a.env")]
    assert _ids(belonging_candidates([key], ids, tree)) == [
        (client_id(1), HEADER),
        (client_id(2), COMMIT),
    ]


def test_every_place_a_secret_occurs_brings_its_own_client_ids() -> None:
    seen = [_found(secret(1), "a.env", 5, ONE), _found(secret(1), "b.env", 5, TWO)]
    ids = [_found(client_id(1), "a.env", 6, ONE), _found(client_id(2), "b.env", 4, TWO)]
    assert _ids(belonging_candidates(seen, ids, [])) == [
        (client_id(1), FILE),
        (client_id(2), FILE),
    ]


def test_outside_history_no_commit_makes_a_client_id_its_own() -> None:
    key = _found(secret(1), "a.env", 1)
    assert belonging_candidates([key], [_found(client_id(1), "b.env", 1)], []) == []


def test_only_a_client_id_beside_the_secret_is_its_pair_for_sure() -> None:
    assert [Candidate(client_id(1), s).beside for s in (HEADER, FILE, COMMIT, TREE, GUESS)] == [
        True,
        True,
        False,
        False,
        False,
    ]


def test_guesses_come_in_scan_order_once_each_up_to_the_limit() -> None:
    ids = [_found(client_id(n), f"{n}.env", 1) for n in (3, 1, 3, 2, 4)]
    assert _ids(guessed_candidates(ids, 3)) == [
        (client_id(3), GUESS),
        (client_id(1), GUESS),
        (client_id(2), GUESS),
    ]
    assert guessed_candidates(ids, 0) == []


def _guesses(count: int) -> list[Candidate]:
    return [Candidate(client_id(n), GUESS) for n in range(count)]


def test_the_guess_budget_is_shared_round_by_round() -> None:
    wanted = {"decoy1": _guesses(5), "decoy2": _guesses(5), "real": _guesses(2), "none": []}
    plan = plan_guesses(wanted, 7)
    assert {value: len(guesses) for value, guesses in plan.items()} == {
        "decoy1": 3,
        "decoy2": 2,
        "real": 2,
    }
    assert plan["real"] == _guesses(2)  # each secret's own order is kept
    assert sum(map(len, plan.values())) == 7


@pytest.mark.parametrize("budget", [0, -1])
def test_no_budget_no_guesses(budget: int) -> None:
    assert plan_guesses({"a": _guesses(3)}, budget) == {}


def test_a_budget_larger_than_the_wish_list_gives_every_guess() -> None:
    wanted = {"a": _guesses(2), "b": _guesses(1)}
    assert plan_guesses(wanted, 100) == wanted
