"""Real Redis faults against in-process consumers: stop, restart, readiness."""

import asyncio
import time

import pytest

from redis_core import get_manager
from tests.conftest import wait_until
from tests.test_consumers import joined, post

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def alice(make_user):
    return make_user("alice")


@pytest.fixture(autouse=True)
def _no_rate_limit(settings):
    settings.CHAT_MESSAGE_RATE = None


async def stop_in_thread(server):
    await asyncio.get_running_loop().run_in_executor(None, server.stop)


async def start_in_thread(server):
    await asyncio.get_running_loop().run_in_executor(None, server.start)


async def test_redis_stopped__every_socket_closed_4012_within_5s(redis_server, alice):
    clients = [await joined(user=alice)] + [await joined() for _ in range(9)]
    started = time.monotonic()
    await stop_in_thread(redis_server)
    codes = [(await c.recv_type("__closed__", timeout=8))["code"] for c in clients]
    elapsed = time.monotonic() - started
    assert codes == [4012] * 10
    assert elapsed < 5


async def test_redis_down__new_connection_closed_4012_or_4013_not_1011(redis_server, alice):
    first = await joined()
    await stop_in_thread(redis_server)
    await first.recv_type("__closed__", timeout=8)
    newcomer = await _connect_raw()
    frame = await newcomer.recv(timeout=10)
    assert frame["type"] == "__closed__" and frame["code"] in (4012, 4013)


async def test_redis_returns_within_readiness_wait__connection_served(redis_server, alice):
    first = await joined()
    await stop_in_thread(redis_server)
    await first.recv_type("__closed__", timeout=8)
    newcomer = await _connect_raw()
    await asyncio.sleep(0.5)
    await start_in_thread(redis_server)
    hello = await newcomer.recv(timeout=10)
    assert hello["type"] == "hello"
    await newcomer.close()


async def test_after_redis_returns__clients_resume_with_since_and_get_what_they_missed(
    redis_server, alice
):
    sender = await joined(user=alice)
    reader = await joined()
    for i in range(3):
        await post(sender, f"before {i}")
    seen = [(await reader.recv_type("message"))["seq"] for _ in range(3)]
    await stop_in_thread(redis_server)
    await reader.recv_type("__closed__", timeout=8)
    await sender.recv_type("__closed__", timeout=8)
    await start_in_thread(redis_server)
    assert await get_manager().wait_ready(5)
    sender = await joined(user=alice)
    for i in range(4):
        await post(sender, f"after {i}")
    back = await joined(query=f"since={seen[-1]}")
    assert [m["seq"] for m in back.hello["history"]] == [4, 5, 6, 7]
    await sender.close()
    await back.close()


async def test_fast_restart__every_client_receives_the_next_message(redis_server, alice):
    sender = await joined(user=alice)
    readers = [await joined() for _ in range(5)]
    health = get_manager().health()
    old_run_id = health.run_id
    await asyncio.get_running_loop().run_in_executor(None, redis_server.restart)
    # Whether the monitor saw it down or not, it must see the new run_id.
    assert await wait_until(lambda: health.run_id not in (None, old_run_id), timeout=5)
    ack = await post(sender, "after the restart")
    for reader in readers:
        frame = await reader.recv_type("message", timeout=5)
        assert frame["type"] == "message" and frame["seq"] == ack["seq"]
    for client in [sender, *readers]:
        await client.close()


async def test_fast_restart__presence_is_announced_again(redis_server, alice):
    client = await joined(user=alice)
    await asyncio.get_running_loop().run_in_executor(None, redis_server.restart)
    await wait_until(lambda: get_manager().health().ready, timeout=5)
    # Nothing here renews presence: only the hub's own restart handler can bring it back
    # (the periodic refresh runs every 4 s, after this test's bound).
    client_redis = get_manager().async_client()
    deadline = asyncio.get_running_loop().time() + 3
    members = []
    while not members and asyncio.get_running_loop().time() < deadline:
        members = await client_redis.zrange("chat:presence:lobby", 0, -1)
        await asyncio.sleep(0.05)
    assert len(members) == 1 and members[0].decode().endswith("\talice")
    await client.close()


async def _connect_raw():
    from tests.wsutil import Client

    client = Client()
    connected, _ = await client.connect()
    assert connected  # accepted first, so that the close code reaches the browser
    return client


async def test_within_the_loss_grace__a_post_is_refused_unavailable_and_the_socket_stays(
    redis_server, alice, settings
):
    # The message rate on (the shipped default): its reservation is the Redis command
    # that fails first. A long grace stands in for a Sentinel failover in progress.
    settings.CHAT_MESSAGE_RATE = (30, 10.0)
    settings.REDIS_LOSS_GRACE = 30.0
    poster = await joined(user=alice)
    await stop_in_thread(redis_server)
    try:
        await poster.send({"type": "message", "text": "during", "client_id": "d-1"})
        frame = await poster.recv_type("error", timeout=10)
        assert frame["code"] == "unavailable" and frame["retry_after"] == 1.0
        await asyncio.sleep(2)  # well past the default grace of 1.5 s: still open
        await poster.send({"type": "ping"})
        assert (await poster.recv_type("pong", timeout=5))["type"] == "pong"
    finally:
        await start_in_thread(redis_server)
    deadline = time.monotonic() + 10
    while True:  # once Redis answers again, the same client_id is stored and acked
        await poster.send({"type": "message", "text": "during", "client_id": "d-1"})
        frame = await poster.recv()
        while frame["type"] not in ("ack", "error"):
            frame = await poster.recv()
        if frame["type"] == "ack":
            break
        assert frame["code"] == "unavailable" and time.monotonic() < deadline
        await asyncio.sleep(frame["retry_after"])
    assert frame["seq"] == 1
    await poster.close()
