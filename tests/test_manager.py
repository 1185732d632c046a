import asyncio
import threading
import time

import pytest
import redis
import redis.asyncio
from django.core.exceptions import ImproperlyConfigured

import redis_core
from redis_core import options
from redis_core.manager import RedisManager


def test_get_manager__is_built_once_by_ready():
    assert redis_core.get_manager() is redis_core.get_manager()
    assert isinstance(redis_core.get_manager(), RedisManager)
    assert redis_core.redis_manager.url == redis_core.get_manager().url  # the module-level proxy


def test_get_manager__one_instance_under_concurrent_threads(redis_server):
    redis_core.reset_manager()
    built, barrier = [], threading.Barrier(16)

    def build():
        barrier.wait()
        built.append(redis_core.get_manager())

    threads = [threading.Thread(target=build) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert len(built) == 16
    assert len({id(m) for m in built}) == 1
    assert list(RedisManager.instances) == [built[0]]


def test_settings_change__resets_the_manager(settings, redis_server):
    before = redis_core.get_manager()
    before.client().ping()
    settings.REDIS_URL = redis_server.url.removesuffix("/0") + "/1"
    after = redis_core.get_manager()
    assert after is not before
    assert after.url == settings.REDIS_URL
    assert before not in RedisManager.instances  # closed and forgotten
    assert before.stats()["pools"] == []


def test_bad_redis_url__get_manager_raises_with_its_cause(settings):
    settings.REDIS_URL = "http://127.0.0.1:6379/0"
    with pytest.raises(redis_core.RedisNotConfigured, match="scheme 'http'") as info:
        redis_core.get_manager()
    assert isinstance(info.value, ImproperlyConfigured)
    assert isinstance(info.value.__cause__, ValueError)


def test_bad_redis_url__the_proxy_raises_too(settings):
    settings.REDIS_URL = ""
    with pytest.raises(redis_core.RedisNotConfigured, match="REDIS_URL is empty"):
        redis_core.redis_manager.client()


def test_reset__closes_the_async_pool_of_an_idle_loop(redis_server):
    manager = redis_core.get_manager()
    loop = asyncio.new_event_loop()
    try:

        async def ping():
            return await manager.async_client().ping()

        loop.run_until_complete(ping())
        closed = manager.counters["async_pools_closed"]
        redis_core.reset_manager()
        assert manager.counters["async_pools_closed"] == closed + 1
        assert manager.stats()["pools"] == []
    finally:
        loop.close()


async def test_reset__inside_a_running_loop_closes_its_pool(redis_server):
    manager = redis_core.get_manager()
    await manager.async_client().ping()
    closed = manager.counters["async_pools_closed"]
    redis_core.reset_manager()
    await asyncio.sleep(0.1)  # the pool closes in a task on this loop
    assert manager.counters["async_pools_closed"] == closed + 1
    assert redis_core.get_manager() is not manager


def test_manager__construction_opens_no_connection(redis_server):
    before = redis.Redis.from_url(redis_server.url).info("clients")["connected_clients"]
    manager = RedisManager(redis_server.url)
    after = redis.Redis.from_url(redis_server.url).info("clients")["connected_clients"]
    assert after == before
    assert manager.stats()["pools"] == []


def test_invalid_url__is_refused_with_a_reason():
    with pytest.raises(ValueError, match="scheme"):
        RedisManager("http://127.0.0.1:6379")


def test_sync_client__is_shared_and_named(redis_server):
    manager = redis_core.get_manager()
    assert manager.client() is manager.client()
    name = manager.client().client_getname()
    parsed = options.ClientName.parse(name)
    assert parsed is not None and parsed.role == "sync" and parsed.pid > 0


def test_async_pool__one_per_loop_reused_and_closed_with_it(redis_server):
    manager = redis_core.get_manager()
    created = manager.counters["async_pools_created"]
    closed = manager.counters["async_pools_closed"]

    async def use():
        first = manager.async_client()
        await first.ping()
        assert manager.async_client() is first
        name = await first.client_getname()
        assert options.ClientName.parse(name).role == "async"
        return first

    loop_a = asyncio.new_event_loop()
    client_a = loop_a.run_until_complete(use())
    loop_b = asyncio.new_event_loop()
    client_b = loop_b.run_until_complete(use())
    assert client_a is not client_b
    assert manager.counters["async_pools_created"] == created + 2
    loop_a.close()
    loop_b.close()
    assert manager.counters["async_pools_closed"] == closed + 2


def test_options__read_timeout_outlasts_the_layers_blocking_pop():
    kwargs = options.connection_kwargs("redis://127.0.0.1:1/0", role="async", asynchronous=True)
    assert kwargs["socket_timeout"] > options.LAYER_BLOCKING_POP
    assert kwargs["max_connections"] > 100  # redis-py 8's default that a burst exhausts
    assert kwargs["timeout"] > 0  # wait for a free connection instead of failing


async def test_idle_blocking_pop_longer_than_5s__does_not_time_out(redis_server):
    client = redis_core.get_manager().async_client()
    started = time.monotonic()
    assert await client.bzpopmin("chat:test:never", timeout=6) is None
    assert time.monotonic() - started >= 5.9


async def test_burst__more_commands_than_connections_wait_instead_of_failing(redis_server):
    client = redis_core.get_manager().async_client()
    results = await asyncio.gather(
        *(client.blpop(f"chat:test:burst:{i}", timeout=0.3) for i in range(400))
    )
    assert results == [None] * 400


async def test_wait_ready__true_when_redis_answers(redis_server):
    assert await redis_core.get_manager().wait_ready(2) is True


async def test_wait_ready__false_after_timeout_when_redis_is_down(redis_server):
    redis_server.stop()
    manager = RedisManager(redis_server.url)
    started = time.monotonic()
    assert await manager.wait_ready(0.5) is False
    assert time.monotonic() - started < 2
    await manager.aclose_loop(asyncio.get_running_loop())


def test_stats__pools_connections_and_errors(redis_server):
    manager = redis_core.get_manager()
    manager.client().ping()
    stats = manager.stats()
    sync = [p for p in stats["pools"] if p["role"] == "sync"][0]
    assert sync["connections"] >= 1 and sync["max_connections"] == options.SYNC_MAX_CONNECTIONS
    assert "errors" in stats and "async_pools_created" in stats
    assert "***" in RedisManager("redis://:secret@127.0.0.1:1/0").safe_url
