"""Limits on new WebSocket connections per user and per address, against the real Redis."""

import asyncio

import pytest
from asgiref.sync import sync_to_async

from chat.limits import connections as connlimit
from chat.limits import core
from redis_core import get_manager
from tests.wsutil import Client

# pure helpers -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "ip, bucket",
    [
        ("203.0.113.7", "203.0.113.7"),
        (" 203.0.113.7 ", "203.0.113.7"),
        ("::ffff:203.0.113.7", "203.0.113.7"),  # IPv4-mapped: counted as the IPv4 address
        ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:ffff::1", "2001:db8:1:2::/64"),  # same /64, same allowance
        ("not an address", None),
        ("", None),
        (None, None),
    ],
)
def test_ip_bucket(ip, bucket):
    assert connlimit.ip_bucket(ip) == bucket


def test_client_ip__from_scope_or_none():
    assert connlimit.client_ip({"client": ["198.51.100.1", 5555]}) == "198.51.100.1"
    assert connlimit.client_ip({"client": None}) is None
    assert connlimit.client_ip({}) is None


def test_plan__leaves_out_limits_that_are_off():
    keys, args = core.plan([("a", (10, 60)), ("b", None), ("c", (1, 1))])
    assert keys == ["a", "c"]
    assert args == ["6000.000", "54000.000", "1000.000", "0.000"]


def test_retry_after__seconds_at_least_a_millisecond():
    assert core.retry_after(1500) == 1.5
    assert core.retry_after(0) == 0.001


# in Redis ---------------------------------------------------------------------------


@pytest.fixture
def rates(settings):
    settings.CHAT_CONNECT_RATE_IP = (5, 60)
    settings.CHAT_CONNECT_RATE_USER = (3, 60)
    return settings


async def take(n, user_id, ip):
    return [await connlimit.allow_connection(user_id, ip) for _ in range(n)]


async def test_per_ip__burst_allowed_then_refused_with_retry_after(rates):
    results = await take(6, None, "203.0.113.1")
    assert [ok for ok, _ in results] == [True] * 5 + [False]
    assert results[-1][1] is not None and 0 < results[-1][1] <= 12  # one slot: 60 s / 5
    assert await connlimit.allow_connection(None, "203.0.113.2") == (True, None)


async def test_per_user__across_addresses(rates):
    results = [await connlimit.allow_connection(7, f"203.0.113.{i}") for i in range(4)]
    assert [ok for ok, _ in results] == [True, True, True, False]
    assert (await connlimit.allow_connection(8, "203.0.113.9"))[0] is True


async def test_ipv6__rotating_within_a_64_does_not_help(rates):
    results = [await connlimit.allow_connection(None, f"2001:db8::{i:x}") for i in range(6)]
    assert [ok for ok, _ in results] == [True] * 5 + [False]


async def test_refused_attempt_takes_nothing_from_the_other_limit(rates):
    await take(3, 7, "203.0.113.1")  # user 7 is out; the address has 2 left
    assert (await connlimit.allow_connection(7, "203.0.113.1"))[0] is False
    assert (await connlimit.allow_connection(7, "203.0.113.1"))[0] is False
    assert [ok for ok, _ in await take(3, None, "203.0.113.1")] == [True, True, False]


async def test_refills_at_the_rate(settings):
    settings.CHAT_CONNECT_RATE_IP = (2, 0.4)  # 2 at once, one more every 0.2 s
    settings.CHAT_CONNECT_RATE_USER = None
    assert [ok for ok, _ in await take(3, None, "203.0.113.1")] == [True, True, False]
    ok, wait = await connlimit.allow_connection(None, "203.0.113.1")
    assert not ok and 0 < wait <= 0.2
    await asyncio.sleep(wait + 0.05)
    assert (await connlimit.allow_connection(None, "203.0.113.1"))[0] is True


async def test_concurrent_attempts__exactly_the_burst_gets_in(rates):
    results = await asyncio.gather(
        *[connlimit.allow_connection(None, "203.0.113.1") for _ in range(40)]
    )
    assert sum(ok for ok, _ in results) == 5


async def test_off__no_limit_and_no_redis_keys(settings):
    settings.CHAT_CONNECT_RATE_IP = None
    settings.CHAT_CONNECT_RATE_USER = None
    assert all(ok for ok, _ in await take(50, 1, "203.0.113.1"))
    assert get_manager().client().keys("chat:connlimit:*") == []


async def test_unknown_address__limited_by_user_only(rates):
    assert [ok for ok, _ in await take(6, None, None)] == [True] * 6  # nothing to count
    assert [ok for ok, _ in await take(4, 3, None)] == [True, True, True, False]


async def test_keys_expire_once_the_allowance_is_full_again(rates):
    await take(2, 5, "203.0.113.1")
    client = get_manager().client()
    for key in ("chat:connlimit:ip:203.0.113.1", "chat:connlimit:user:5"):
        assert 0 < client.pttl(key) <= 41_000  # 2 taken of 3 at 20 s each, plus 1 ms


def test_rates__defaults_when_not_configured(settings):
    del settings.CHAT_CONNECT_RATE_IP
    del settings.CHAT_CONNECT_RATE_USER
    assert connlimit.rates() == (connlimit.DEFAULT_IP_RATE, connlimit.DEFAULT_USER_RATE)


# in the consumer (once consumers.py calls chat.limits.connections) ------------------------------


@pytest.mark.django_db(transaction=True)
async def test_consumer__over_the_limit_accepted_then_closed_4013(settings, make_user):
    settings.CHAT_CONNECT_RATE_USER = (2, 60)
    alice = await sync_to_async(make_user)("alice")
    opened = []
    for _ in range(2):
        client = Client(user=alice)
        assert (await client.connect())[0]
        assert (await client.recv())["type"] == "hello"
        opened.append(client)
    refused = Client(user=alice)
    assert (await refused.connect())[0]
    assert await refused.recv() == {"type": "__closed__", "code": 4013}
    other = Client()  # anonymous, no address in a test scope: not limited
    assert (await other.connect())[0]
    assert (await other.recv())["type"] == "hello"
    for client in [*opened, other]:
        await client.close()
