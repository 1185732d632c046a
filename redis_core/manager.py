"""RedisManager: the one owner of every Redis connection in a process."""

import asyncio
import itertools
import threading
import types
import weakref

import redis
import redis.asyncio

from . import options, sentinel
from .health import RedisHealth

__all__ = ["RedisManager"]


class RedisManager:
    """Builds pools lazily: one sync pool per process, one async pool per running loop.

    Creating a manager opens no connection (it is built in AppConfig.ready(), before
    daphne's event loop exists); the first command does.
    """

    _serial = itertools.count(1)
    # Every manager alive in the process, for check_redis_ssot's single_manager check.
    instances = weakref.WeakSet()

    def __init__(self, url, sentinel_password=None, loss_grace=None):
        self.url = options.validate_url(url)
        # Where the primary is: None for a plain URL, a SentinelTarget to ask sentinels.
        self.target = sentinel.parse(url) if sentinel.is_sentinel(url) else None
        self.sentinel_password = sentinel_password or None
        self.loss_grace = options.loss_grace(url, loss_grace)
        self.serial = next(self._serial)
        RedisManager.instances.add(self)
        self._lock = threading.Lock()
        self._sync_client = None
        # Pools belong to the loop they were made on; keyed weakly so a dead loop
        # does not keep its pool alive, and closed explicitly when the loop closes.
        self._loops = weakref.WeakKeyDictionary()
        self.counters = {"async_pools_created": 0, "async_pools_closed": 0, "errors": 0}

    def __repr__(self):
        return f"<RedisManager #{self.serial} {self.safe_url}>"

    @property
    def safe_url(self):
        """The URL with any password hidden, fit for logs and check output."""
        parts = self.url.rsplit("@", 1)
        if len(parts) == 2:
            return parts[0].split("://", 1)[0] + "://***@" + parts[1]
        return self.url

    def _pool(self, role, asynchronous):
        kwargs = options.connection_kwargs(self.url, role=role, asynchronous=asynchronous)
        if self.target is not None:
            build = sentinel.async_pool if asynchronous else sentinel.sync_pool
            return build(self.target, self.sentinel_password, kwargs)
        blocking = (
            redis.asyncio.BlockingConnectionPool if asynchronous else redis.BlockingConnectionPool
        )
        return blocking.from_url(self.url, **kwargs)

    # sync -------------------------------------------------------------------------

    def client(self):
        """The process's sync client (views, commands); thread-safe, shared pool."""
        if self._sync_client is None:
            with self._lock:
                if self._sync_client is None:
                    pool = self._pool("sync", asynchronous=False)
                    self._sync_client = redis.Redis(connection_pool=pool)
        return self._sync_client

    # async ------------------------------------------------------------------------

    def async_client(self):
        """The client of the running event loop; its pool is made on first use."""
        return self._loop_state().client

    def health(self):
        """The readiness monitor of the running event loop."""
        return self._loop_state().health

    async def wait_ready(self, timeout):
        """Wait up to timeout seconds for Redis to answer; True when it does."""
        return await self.health().wait_ready(timeout)

    def pubsub(self):
        """A PubSub object on the running loop's pool (it holds one connection)."""
        return self.async_client().pubsub(ignore_subscribe_messages=False)

    def _loop_state(self):
        loop = asyncio.get_running_loop()
        state = self._loops.get(loop)
        if state is None:
            pool = self._pool("async", asynchronous=True)
            client = redis.asyncio.Redis(connection_pool=pool)
            # One connection of the pool held for the monitor (RedisHealth's `own`).
            own = redis.asyncio.Redis(connection_pool=pool, single_connection_client=True)
            state = types.SimpleNamespace(client=client, pool=pool, health=None)
            state.health = RedisHealth(
                client, on_error=self._count_error, loss_grace=self.loss_grace, own=own
            )
            self._loops[loop] = state
            self.counters["async_pools_created"] += 1
            _close_with_loop(self, loop)
        return state

    def _count_error(self):
        self.counters["errors"] += 1

    async def aclose_loop(self, loop):
        """Close the pool of loop (called when that loop closes)."""
        state = self._loops.pop(loop, None)
        if state is not None:
            state.health.stop()
            await state.health.own.aclose(close_connection_pool=False)  # gives its connection back
            await state.client.aclose(close_connection_pool=True)
            self.counters["async_pools_closed"] += 1

    def pool_for_current_loop(self):
        """The async pool of the running loop, or None when it has none yet."""
        state = self._loops.get(asyncio.get_running_loop())
        return state.pool if state else None

    # both -------------------------------------------------------------------------

    def close(self):
        """Close the sync pool and every async pool; pools are made again if it is used.

        An async pool is closed on its own loop: now when that loop is idle, as a task
        when it is this thread's running loop, thread-safely when another thread runs it.
        """
        with self._lock:
            client, self._sync_client = self._sync_client, None
        if client is not None:
            client.close()
            client.connection_pool.disconnect()
        for loop in list(self._loops.keys()):
            _close_on(loop, self)

    def stats(self):
        """Pools, connections created and in use, and errors, as plain data."""
        pools = []
        if self._sync_client is not None:
            pools.append(_pool_stats("sync", self._sync_client.connection_pool))
        for state in list(self._loops.values()):
            pools.append(_pool_stats("async", state.pool) | {"ready": state.health.ready})
        monitors = [state.health for state in list(self._loops.values())]
        recoveries = [h.last_recovery_seconds for h in monitors if h.last_recovery_seconds]
        health = {
            "grace_entries": sum(h.grace_entries for h in monitors),
            "busy_pool_probes": sum(h.busy_pool_probes for h in monitors),
            "primary_changes": sum(h.primary_changes for h in monitors),
            "last_recovery_seconds": max(recoveries) if recoveries else None,
        }
        return {
            "url": self.safe_url,
            "pools": pools,
            "loss_grace": self.loss_grace,
            **self.counters,
            **health,
        }


def _pool_stats(role, pool):
    if hasattr(pool, "_in_use_connections"):  # redis.asyncio pools
        in_use = len(pool._in_use_connections)
        idle = len(pool._available_connections)
    else:  # redis.BlockingConnectionPool: a queue of idle connections (None = not made yet)
        idle = sum(1 for c in list(pool.pool.queue) if c is not None)
        in_use = len(pool._connections) - idle
    return {
        "role": role,
        "max_connections": pool.max_connections,
        "connections": in_use + idle,
        "in_use": in_use,
    }


def _close_with_loop(manager, loop):
    """Close the manager's pool for loop when loop.close() is called, as channels-redis does."""
    original_close = loop.close

    def close(self, *args, **kwargs):
        if loop in manager._loops and not loop.is_running():
            try:
                loop.run_until_complete(manager.aclose_loop(loop))
            except Exception:  # closing a pool must never stop a loop from closing
                pass
        self.close = original_close
        return original_close(*args, **kwargs)

    loop.close = types.MethodType(close, loop)


def _close_on(loop, manager):
    """Close manager's pool of loop from wherever close() was called."""
    if loop.is_closed():
        manager._loops.pop(loop, None)
        return
    try:
        running = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    if loop is running:
        task = loop.create_task(manager.aclose_loop(loop))
        _closing.add(task)  # keep a reference until it is done, as asyncio asks
        task.add_done_callback(_closing.discard)
    elif loop.is_running():
        asyncio.run_coroutine_threadsafe(manager.aclose_loop(loop), loop)
    else:
        try:
            loop.run_until_complete(manager.aclose_loop(loop))
        except Exception:  # a pool that fails to close is dropped all the same
            manager._loops.pop(loop, None)


_closing = set()
