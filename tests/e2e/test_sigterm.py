"""SIGTERM to a real daphne: its sockets close with 4001, presence heals at once, exit 0."""

import asyncio
import http.client
import re
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import websockets

from tests.e2e.clients import Browser, WsClient, connect

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
    # once the health monitor (running from the start) has declared Redis lost (the grace)
    deadline = time.monotonic() + 10
    while 'chat_redis_ready{loop="0"} 0.0' not in a.get("/metrics")[1].decode():
        assert time.monotonic() < deadline, "Redis never declared lost"
        await asyncio.sleep(0.1)
    ws = await websockets.connect(a.ws_url("sigterm-connecting"), **a.ws_options())
    a.terminate()  # before its first frame
    assert await WsClient(ws).closed(10) == 4001
    assert await asyncio.to_thread(a.wait, 15) == 0


POSTS_IN_FLIGHT = 6


async def test_sigterm__posts_in_flight_answered_metrics_served_the_rest_refused(stack):
    """A SIGTERM while log-in POSTs are served (each hashes a password, a fraction of a
    second): meanwhile the draining process's metrics and health are served and other
    pages answer 503 (nginx tries the next process); every POST gets its answer before the
    process exits, and nothing is logged as never retrieved (Django's RequestAborted from a
    request cut at the reactor's stop)."""
    [a] = stack.start_daphne(1)
    browsers = [Browser(a) for _ in range(POSTS_IN_FLIGHT)]
    with ThreadPoolExecutor(POSTS_IN_FLIGHT) as pool:
        list(pool.map(lambda b: b.open_log_in_page(), browsers))
        posts = [
            pool.submit(b.post_log_in, f"nobody-{i}", "wrong-password")
            for i, b in enumerate(browsers)
        ]
        await asyncio.sleep(0.2)  # sent, and being served
        a.terminate()
        await asyncio.sleep(0.2)
        metrics = await asyncio.to_thread(a.get, "/metrics")
        ready = await asyncio.to_thread(a.get_json, "/readyz")
        page = await asyncio.to_thread(a.get, "/")
        answers = [post.exception() or post.result() for post in posts]
    assert await asyncio.to_thread(a.wait, 20) == 0
    log = a.log_text()
    assert metrics[0] == 200 and "chat_draining 1.0" in metrics[1].decode()
    assert ready[0] == 503 and ready[1]["draining"] is True
    assert page[0] == 503
    assert [answer[0] if isinstance(answer, tuple) else answer for answer in answers] == [
        200
    ] * POSTS_IN_FLIGHT  # the form again, with its error: served, not cut
    assert "requests_left=0" in log
    assert "never retrieved" not in log and "Traceback" not in log, a.log_tail()


async def test_sigterm__a_request_on_an_idle_keepalive_connection_is_served(stack):
    """nginx reuses an idle upstream connection for a POST just as the SIGTERM arrives (and
    does not send a POST on to another process): the request is read and answered, not cut
    by the closing of idle connections."""
    [a] = stack.start_daphne(1)
    connection = http.client.HTTPConnection("127.0.0.1", a.port, timeout=10)
    try:
        connection.request("GET", "/healthz")
        first = connection.getresponse()
        first.read()
        assert first.status == 200 and not first.will_close  # kept alive, now idle
        a.terminate()
        await asyncio.sleep(0.1)  # the gate is up and the connection is idle
        connection.request("POST", "/healthz", body=b"")
        answer = connection.getresponse()
        answer.read()
        assert 400 <= answer.status < 500  # answered (a POST to a GET view), not cut
    finally:
        connection.close()
    assert await asyncio.to_thread(a.wait, 15) == 0
