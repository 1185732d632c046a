"""chat.realtime.cursor: one socket's place in the stream, held back and released."""

from chat.realtime.cursor import Cursor


def test_live_events_are_held_until_hello_then_released_after_what_hello_held():
    cursor = Cursor()
    assert cursor.holding
    assert cursor.live(5, "t5") is None
    assert cursor.live(6, "t6") is None
    cursor.sent(5)  # hello's latest
    assert cursor.release() == [(6, "t6")]
    assert not cursor.holding and cursor.seq == 6


def test_live__once_each_in_order():
    cursor = Cursor()
    cursor.release()
    assert cursor.live(1, "t1") == "t1"
    assert cursor.live(1, "t1") is None
    assert cursor.live(3, "t3") == "t3"
    assert cursor.live(2, "t2") is None  # older than what was sent


def test_resume__holds_and_releases_in_seq_order():
    cursor = Cursor()
    cursor.release()
    cursor.hold()
    cursor.live(9, "t9")
    cursor.live(8, "t8")
    cursor.sent(8)  # the resume sent up to 8
    assert cursor.release() == [(9, "t9")]
    cursor.hold()
    cursor.hold()  # idempotent
    assert cursor.release() == []
