"""chat.limits.frames: the per-connection token bucket, case by case (a clock passed in)."""

import pytest

from chat.limits.frames import COSTS, FrameBudget, cost_of


def test_take__spends_up_to_capacity_then_says_how_long_to_wait():
    bucket = FrameBudget(capacity=3, rate=2, now=0.0)
    assert [bucket.take(1, now=0.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert bucket.take(1, now=0.0) == pytest.approx(0.5)  # one token at 2 per second


def test_take__refused_spends_nothing():
    bucket = FrameBudget(capacity=2, rate=1, now=0.0)
    bucket.take(2, now=0.0)
    assert bucket.take(1, now=0.5) == pytest.approx(0.5)
    assert bucket.take(1, now=1.0) == 0.0  # the refused attempt did not dig a hole


def test_take__refills_but_never_past_capacity():
    bucket = FrameBudget(capacity=5, rate=10, now=0.0)
    bucket.take(5, now=0.0)
    assert bucket.take(5, now=100.0) == 0.0
    assert bucket.take(1, now=100.0) > 0


def test_costs__database_reads_cost_more_than_cheap_frames():
    assert cost_of("ping") == cost_of("message") == cost_of(None) == 1.0
    assert cost_of("history") == COSTS["history"] > 1
    assert cost_of("resume") == COSTS["resume"] > cost_of("history")


def test_from_settings__default_and_off(settings):
    bucket = FrameBudget.from_settings()
    assert (bucket.capacity, bucket.rate) == (100.0, 20.0)
    settings.CHAT_FRAME_BUDGET = None
    assert FrameBudget.from_settings() is None


def test_default__a_browser_never_meets_it():
    """The browser client's worst minute: a message every 2 s (the 30/10 rate would allow
    more, but typing is what a person sends most), typing every 2 s, a ping every 25 s,
    twenty older-history pages scrolled in ten seconds, and a 5,000-message resume."""
    bucket = FrameBudget(capacity=100, rate=20, now=0.0)
    t = 0.0
    for _ in range(10):  # resume 10 pages of 500 in a row, at connect
        assert bucket.take(cost_of("resume"), now=t) == 0.0
    for _ in range(20):  # scrolling back, a page every half second
        t += 0.5
        assert bucket.take(cost_of("history"), now=t) == 0.0
    for i in range(60):
        t += 1.0
        assert bucket.take(1, now=t) == 0.0  # message or typing
        if i % 25 == 0:
            assert bucket.take(1, now=t) == 0.0  # ping
