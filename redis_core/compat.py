"""Deprecated: Redis now belongs to redis_core's manager; this module forwards to it."""

import redis_core
from redis_core.legacy import deprecated_module, sync_client

__getattr__ = deprecated_module(
    __name__,
    {
        "REDIS": (sync_client, "redis_core.client()"),
        "POOL": (lambda: sync_client().connection_pool, "redis_core.client().connection_pool"),
        "get_manager": (lambda: redis_core.get_manager, "redis_core.get_manager"),
    },
)
