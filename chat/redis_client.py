"""Deprecated: Redis now belongs to redis_core's manager; this module forwards to it."""

import redis_core
from redis_core.legacy import deprecated_module, sync_client

__getattr__ = deprecated_module(
    __name__,
    {
        "redis": (sync_client, "redis_core.client()"),
        "get_redis_connection": (lambda: redis_core.client, "redis_core.client"),
    },
)
