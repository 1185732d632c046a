"""What an operator polls and runs, against real daphne processes."""

import asyncio
import time

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.clients import connect

pytestmark = pytest.mark.e2e


def scrape(daphne):
    status, body = daphne.get("/metrics")
    assert status == 200
    found = {}
    for family in text_string_to_metric_families(body.decode()):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


async def eventually(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = await asyncio.to_thread(predicate)
        if value:
            return value
        await asyncio.sleep(0.1)
    return await asyncio.to_thread(predicate)


async def test_metrics__per_process_connections_messages_and_closes(stack):
    a, b = stack.start_daphne(2)
    cookies = stack.sessions(["ops-alice"])
    on_a = [await connect(a, "ops", cookies["ops-alice"]), await connect(a, "ops")]
    on_b = await connect(b, "ops")
    try:
        assert scrape(a)[("chat_connections_open", ())] == 2
        assert scrape(b)[("chat_connections_open", ())] == 1
        await on_a[0].send({"type": "message", "text": "counted"})
        await on_a[0].recv_type("ack")
        assert scrape(a)[("chat_messages_stored_total", ())] == 1
        assert scrape(b)[("chat_messages_stored_total", ())] == 0
        pool = scrape(a)[("chat_redis_pool_connections", (("loop", "0"), ("role", "async")))]
        assert pool >= 1
        assert scrape(a)[("chat_redis_ready", (("loop", "0"),))] == 1
    finally:
        await on_a[1].close()
    closes = ("chat_ws_closes_total", (("by", "client"), ("code", "1000")))  # the client's
    assert await eventually(lambda: scrape(a).get(closes) == 1)
    assert scrape(a)[("chat_connections_open", ())] == 1
    await on_a[0].close()
    await on_b.close()


async def test_metrics__redis_ready_exported_from_the_start_before_any_socket(stack):
    [a] = stack.start_daphne(1)
    ready = ("chat_redis_ready", (("loop", "0"),))
    # The monitor starts with the process (chat.realtime.startup), not with a first socket.
    assert await eventually(lambda: scrape(a).get(ready) == 1, timeout=5)
    assert scrape(a)[("chat_ws_opens_total", ())] == 0


async def test_metrics__a_client_close_with_1011_is_counted_as_the_clients(stack):
    [a] = stack.start_daphne(1)
    client = await connect(a, "ops-1011")
    await client.ws.close(code=1011)
    client_side = ("chat_ws_closes_total", (("by", "client"), ("code", "1011")))
    assert await eventually(lambda: scrape(a).get(client_side) == 1)
    assert ("chat_ws_closes_total", (("by", "server"), ("code", "1011"))) not in scrape(a)


async def test_readyz__follows_redis(stack):
    [a] = stack.start_daphne(1)
    status, body = a.get_json("/readyz")
    assert status == 200 and body["checks"]["redis"]["ok"] and body["checks"]["database"]["ok"]
    stack.redis.stop()
    started = time.monotonic()
    status, body = a.get_json("/readyz")
    assert status == 503 and body["status"] == "unavailable"
    assert body["checks"]["redis"]["ok"] is False and body["checks"]["database"]["ok"] is True
    assert time.monotonic() - started < 5  # bounded; polled every second by balancers
    assert a.get("/healthz")[0] == 200
    assert scrape(a)[("chat_ready", ())] == 0
    stack.redis.start()
    assert await eventually(lambda: a.get("/readyz")[0] == 200)


def test_manage_check__clean_with_the_contract_environment(stack):
    result = stack.manage("check", "--fail-level", "WARNING", check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "redis_core" not in result.stdout + result.stderr
