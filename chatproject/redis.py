"""Deprecated: Redis now belongs to redis_core's manager; this module forwards to it."""

from redis_core.legacy import legacy_getattr

__getattr__ = legacy_getattr("chatproject.redis")
