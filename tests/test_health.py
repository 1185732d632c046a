"""redis_core.health: the readiness monitor against a real redis-server that is stopped
and restarted for real (events: LOST after the loss grace, RESTARTED on a new run_id)."""

import asyncio

from redis_core import get_manager
from redis_core.health import LOST, RESTARTED, RESTORED, RedisHealth
from tests.conftest import wait_until


async def monitor():
    health = RedisHealth(get_manager().async_client())
    events = []
    health.add_listener(events.append)
    assert await health.wait_ready(5)
    return health, events


async def test_ready__a_run_id_and_no_event(redis_server):
    health, events = await monitor()
    try:
        assert health.ready and health.run_id
        await asyncio.sleep(0.3)
        assert events == []
    finally:
        health.stop()


async def test_fast_restart__restarted_without_lost(redis_server):
    health, events = await monitor()
    try:
        await asyncio.get_running_loop().run_in_executor(None, redis_server.restart)
        assert await wait_until(lambda: RESTARTED in events, timeout=5)
        assert LOST not in events
    finally:
        health.stop()


async def test_stopped__lost_after_the_grace_then_restored_when_back(redis_server):
    health, events = await monitor()
    loop = asyncio.get_running_loop()
    try:
        await loop.run_in_executor(None, redis_server.stop)
        started = loop.time()
        assert await wait_until(lambda: LOST in events, timeout=5)
        assert loop.time() - started >= health.loss_grace * 0.9
        assert not health.ready and not await health.wait_ready(0.2)
        await loop.run_in_executor(None, redis_server.start)
        assert await wait_until(lambda: RESTORED in events, timeout=8)
        assert events[:2] == [LOST, RESTORED] and health.ready
    finally:
        health.stop()


async def test_busy_pool__commands_holding_every_connection_do_not_make_redis_lost(redis_server):
    """A reconnect storm can keep every connection of the pool busy for seconds. The probe
    through the pool then times out while Redis answers; taken for a lost Redis, that would
    close every socket with 4012 (and make the storm worse). The monitor asks again on a
    connection of its own; a Redis that is really away is still lost after the grace (the
    test above, through this same manager-made monitor below)."""
    health = get_manager().health()
    events = []
    health.add_listener(events.append)
    assert await health.wait_ready(5)
    client = get_manager().async_client()
    busy = client.connection_pool.max_connections + 20
    hold = health.loss_grace * 3
    results = await asyncio.gather(
        *(client.blpop(f"chat:test:busy:{i}", timeout=hold) for i in range(busy)),
        return_exceptions=True,
    )
    # The pool was held throughout: nearly every connection's command waited its full time
    # (on a machine loaded to a load average of 18, one connect of 276 timed out in CI-like
    # runs: a few are allowed, the 20 beyond the pool always fail).
    held = client.connection_pool.max_connections
    assert results.count(None) >= held - 5, results[-25:]
    assert health.busy_pool_probes >= 1  # the probe did time out in the pool
    assert get_manager().stats()["busy_pool_probes"] >= 1  # chat_redis_busy_pool_probes
    assert health.grace_entries == 0 and LOST not in events and health.ready


async def test_managers_monitor__a_stopped_redis_is_lost_after_the_grace(redis_server):
    health = get_manager().health()
    events = []
    health.add_listener(events.append)
    assert await health.wait_ready(5)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, redis_server.stop)
    assert await wait_until(lambda: LOST in events, timeout=5)
    await loop.run_in_executor(None, redis_server.start)
    assert await wait_until(lambda: RESTORED in events, timeout=8)
