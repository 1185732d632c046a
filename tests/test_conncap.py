"""chat.limits.caps: concurrent caps across processes (two Caps stand for two processes),
released on close, healed when a process dies and when Redis loses its data."""

import pytest

from chat.limits import caps as conncap
from redis_core import get_manager


@pytest.fixture
def caps(settings):
    settings.CHAT_CONNECTIONS_PER_IP = 3
    settings.CHAT_CONNECTIONS_PER_USER = 2
    made = [conncap.Caps(get_manager()), conncap.Caps(get_manager())]
    yield made
    for one in made:
        one.tally.clear()


def count(key):
    raw = get_manager().client().hgetall(key)
    return sum(int(v) for v in raw.values())


async def test_admit__cap_per_address_counted_across_processes(caps):
    a, b = caps
    assert await a.admit(None, "10.0.0.1")
    assert await b.admit(None, "10.0.0.1")
    assert await a.admit(None, "10.0.0.1")
    assert await b.admit(None, "10.0.0.1") is None  # the fourth, on either process
    assert await a.admit(None, "10.0.0.2")  # another address is not affected
    assert count(conncap.ip_key("10.0.0.1")) == 3


async def test_admit__cap_per_user_and_refusal_takes_nothing(caps):
    a, b = caps
    assert await a.admit(7, "10.0.0.1")
    assert await b.admit(7, "10.0.0.2")
    assert await a.admit(7, "10.0.0.3") is None
    # the refused one took nothing from its address
    assert count(conncap.ip_key("10.0.0.3")) == 0
    assert count(conncap.user_key(7)) == 2


async def test_release__gives_the_place_back(caps):
    a, _ = caps
    tickets = [await a.admit(None, "10.0.0.1") for _ in range(3)]
    assert await a.admit(None, "10.0.0.1") is None
    await a.release(tickets[0])
    assert await a.admit(None, "10.0.0.1")
    assert a.tally[conncap.ip_key("10.0.0.1")] == 3


async def test_dead_process__its_sockets_stop_counting(caps):
    a, b = caps
    for _ in range(3):
        assert await a.admit(None, "10.0.0.1")
    assert await b.admit(None, "10.0.0.1") is None
    # Process a dies: nobody renews its liveness key, which then expires (deleted here
    # rather than waiting PROCESS_TTL_MS).
    get_manager().client().delete(f"chat:proc:{a.process_id}")
    assert await b.admit(None, "10.0.0.1")
    assert count(conncap.ip_key("10.0.0.1")) == 1


async def test_redis_lost_its_data__refresh_writes_the_counts_again(caps):
    a, _ = caps
    for _ in range(3):
        assert await a.admit(None, "10.0.0.1")
    get_manager().client().flushdb()  # what a Redis restart without persistence does
    await a.refresh()
    assert count(conncap.ip_key("10.0.0.1")) == 3
    assert await a.admit(None, "10.0.0.1") is None


async def test_caps_off__nothing_counted(settings, caps):
    settings.CHAT_CONNECTIONS_PER_IP = 0
    settings.CHAT_CONNECTIONS_PER_USER = 0
    a, _ = caps
    assert await a.admit(1, "10.0.0.1") == ()
    assert not get_manager().client().keys("chat:conncap:*")


def test_defaults__a_crowd_behind_one_address_fits():
    assert conncap.DEFAULT_PER_IP >= 300  # the reconnect storm of tests/e2e/test_hostile.py
    assert conncap.limits() == (conncap.DEFAULT_PER_IP, conncap.DEFAULT_PER_USER)
