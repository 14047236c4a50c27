"""How batches are dealt to blob readers: to the one holding the fewest (`ReaderLoads`)."""

from __future__ import annotations

import threading

import pytest

from nexpay_scan.sources.reader_loads import ReaderLoads, ReadersGone


def test_readers_holding_as_many_take_batches_in_turn() -> None:
    loads = ReaderLoads(3)
    assert [loads.pick() for _ in range(6)] == [0, 1, 2, 0, 1, 2]


def test_a_reader_that_answers_takes_the_next_batch() -> None:
    loads = ReaderLoads(2)
    assert [loads.pick() for _ in range(4)] == [0, 1, 0, 1]
    loads.answered(1)
    loads.answered(1)
    # reader 1 holds none now, reader 0 two: 1 takes batches until it holds as many
    assert [loads.pick() for _ in range(3)] == [1, 1, 0]


def test_a_big_batch_goes_only_to_the_first_readers() -> None:
    loads = ReaderLoads(4)
    assert [loads.pick(2) for _ in range(4)] == [0, 1, 0, 1]
    assert loads.pick() == 2  # any reader, the fewest first


def test_the_dealer_waits_for_a_place_once_every_reader_is_full() -> None:
    loads = ReaderLoads(2, depth=1)
    assert [loads.pick(), loads.pick()] == [0, 1]
    picked: list[int] = []
    dealer = threading.Thread(target=lambda: picked.append(loads.pick()))
    dealer.start()
    dealer.join(0.2)
    assert dealer.is_alive() and not picked
    loads.answered(1)
    dealer.join(5)
    assert picked == [1]


def test_a_dealer_waiting_for_a_place_stops_with_the_readers() -> None:
    loads = ReaderLoads(1, depth=1)
    loads.pick()
    raised: list[BaseException] = []

    def deal() -> None:
        try:
            loads.pick()
        except ReadersGone as error:
            raised.append(error)

    dealer = threading.Thread(target=deal)
    dealer.start()
    loads.stop()
    dealer.join(5)
    assert not dealer.is_alive() and len(raised) == 1
    with pytest.raises(ReadersGone):
        loads.pick()
