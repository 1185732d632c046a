"""SIGTERM to a real daphne: its sockets close with 4001, presence heals at once, exit 0."""

import asyncio
import re

import pytest
import websockets

from tests.e2e.clients import WsClient, connect

pytestmark = pytest.mark.e2e


async def presence_until(client, users, anonymous, timeout=10.0):
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    frame = None
    while loop.time() < deadline:
        frame = await client.recv_type("presence", max(deadline - loop.time(), 0.001))
        if frame.get("users") == users and frame.get("anonymous") == anonymous:
            return frame
    raise AssertionError(f"presence never became {users}/{anonymous}; last {frame}")


async def test_sigterm__sockets_closed_with_4001_presence_cleaned(stack):
    a, b = stack.start_daphne(2)
    cookies = stack.sessions(["term-alice", "term-bob"])
    alice = await connect(a, "sigterm", cookies["term-alice"])
    anonymous = await connect(a, "sigterm")
    bob = await connect(b, "sigterm", cookies["term-bob"])
    try:
        await presence_until(bob, ["term-alice", "term-bob"], 1)

        a.terminate()
        codes = await asyncio.gather(alice.closed(10), anonymous.closed(10))
        assert codes == [4001, 4001]
        # Presence entries expire after 20 s; the shutdown removes them at once.
        await presence_until(bob, ["term-bob"], 0, timeout=5)
        assert await asyncio.to_thread(a.wait, 15) == 0
        redis = stack.redis_client()
        try:
            entries = redis.zrange("chat:presence:sigterm", 0, -1)
        finally:
            redis.close()
        assert [e.decode().split("\t")[1] for e in entries] == ["term-bob"]
    finally:
        for client in (alice, anonymous, bob):
            await client.close()

    done = re.search(
        r"event=shutdown_done closed=(\d+) remaining=(\d+) .*redis_released=1", a.log_text()
    )
    assert done and done.groups() == ("2", "0"), a.log_tail()
    assert "event=ws_close room=sigterm" in a.log_text()


async def test_sigterm__idle_process_exits_promptly(stack):
    [a] = stack.start_daphne(1)
    assert a.get("/readyz")[0] == 200
    a.terminate()
    assert await asyncio.to_thread(a.wait, 15) == 0
    assert "event=shutdown_done closed=0 remaining=0" in a.log_text()


async def test_sigterm__a_socket_still_connecting_gets_4001_too(stack):
    [a] = stack.start_daphne(1)
    stack.redis.stop()  # the consumer accepts, then waits (up to 3 s) for Redis: in no room yet
    ws = await websockets.connect(a.ws_url("sigterm-connecting"), **a.ws_options())
    a.terminate()  # before its first frame
    assert await WsClient(ws).closed(10) == 4001
    assert await asyncio.to_thread(a.wait, 15) == 0
