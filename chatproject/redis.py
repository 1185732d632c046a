"""Deprecated: Redis now belongs to redis_core's manager; this module forwards to it."""

from redis_core.legacy import deprecated_module, manager, sync_client

__getattr__ = deprecated_module(
    __name__,
    {
        "redis_manager": (manager, "redis_core.get_manager()"),
        "redis_client": (sync_client, "redis_core.client()"),
    },
)
