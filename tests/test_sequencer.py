"""chat.realtime.sequencer: the in-order delivery rules, case by case (no I/O)."""

import pytest

from chat.realtime.sequencer import MAX_CATCH_UP, Sequencer


def started(latest=0, pending=()):
    seq = Sequencer()
    for s in pending:
        seq.offer(s, f"t{s}")
    seq.start(latest)
    return seq


def test_nothing_is_due_before_start_and_start_delivers_what_follows_latest():
    seq = Sequencer()
    assert seq.offer(5, "t5") == []
    assert seq.offer(4, "t4") == []
    assert seq.start(3) == [(4, "t4"), (5, "t5")]
    assert seq.cursor == 5


def test_start_drops_what_the_database_already_covers():
    seq = Sequencer()
    seq.offer(2, "t2")
    assert seq.start(2) == []
    assert seq.pending == {}


@pytest.mark.parametrize(
    ("offers", "due", "cursor", "gap"),
    [
        ([1, 2, 3], [1, 2, 3], 3, False),  # in order
        ([2], [], 0, True),  # 1 is missing: 2 waits
        ([2, 1], [1, 2], 2, False),  # 1 arrives late: both, in order
        ([1, 1, 1], [1], 1, False),  # duplicates from a resubscribe: once
        ([3, 1], [1], 1, True),  # 2 still missing
    ],
)
def test_offer__strict_order_once(offers, due, cursor, gap):
    seq = started()
    got = [s for o in offers for s, _ in seq.offer(o, f"t{o}")]
    assert (got, seq.cursor, seq.gap) == (due, cursor, gap)


def test_hidden_events_move_the_cursor_without_delivery():
    seq = started()
    assert seq.offer(1, None) == []
    assert seq.offer(2, "t2") == [(2, "t2")]


def test_to_read__the_gap_before_the_earliest_pending_up_to_the_newest():
    seq = started(latest=10)
    seq.offer(13, "t13")
    seq.offer(15, "t15")
    assert seq.to_read() == (10, 15)


def test_to_read__catch_up_without_pending_reads_up_to_latest_capped():
    seq = started(latest=10)
    assert seq.to_read(latest=10) is None
    assert seq.to_read(latest=12) == (10, 12)
    assert seq.to_read(latest=10 + 5 * MAX_CATCH_UP) == (10, 10 + MAX_CATCH_UP)


def test_to_read__nothing_missing():
    seq = started(latest=3)
    assert seq.to_read() is None
    assert Sequencer().to_read(latest=5) is None  # not started


def test_fill__recovers_the_missing_and_delivers_in_order():
    seq = started(latest=0)
    seq.offer(3, "t3")
    recovered, due = seq.fill([(1, "t1"), (2, None), (3, "db3")])
    assert recovered == 2  # 3 was pending already: Redis's copy is kept
    assert due == [(1, "t1"), (3, "t3")]
    assert (seq.cursor, seq.pending, seq.gap) == (3, {}, False)


def test_fill__ignores_what_is_already_delivered():
    seq = started(latest=5)
    assert seq.fill([(4, "t4"), (5, "t5")]) == (0, [])


def test_skip__gives_up_on_the_missing_seqs_and_goes_on():
    seq = started(latest=1)
    seq.offer(4, "t4")
    seq.offer(5, "t5")
    assert seq.skip() == (2, [(4, "t4"), (5, "t5")])
    assert seq.cursor == 5
    assert seq.skip() == (0, [])  # no gap: nothing to skip
