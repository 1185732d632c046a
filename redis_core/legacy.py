"""Old import paths kept alive as proxies to the manager, warning at each use site."""

import warnings

__all__ = ["RedisCoreDeprecationWarning", "LEGACY_PATHS", "legacy_getattr", "resolve"]


class RedisCoreDeprecationWarning(DeprecationWarning):
    """An old Redis helper was used; it now forwards to redis_core's manager."""


def _manager():
    from . import get_manager

    return get_manager()


def _client_function():
    from . import client

    return client


def _get_manager_function():
    from . import get_manager

    return get_manager


# module -> {attribute: (what it resolves to, what to use instead)}
LEGACY_PATHS = {
    "chat.redis_client": {
        "redis": (lambda: _manager().client(), "redis_core.client()"),
        "get_redis_connection": (_client_function, "redis_core.client"),
    },
    "chatproject.redis": {
        "redis_manager": (_manager, "redis_core.get_manager()"),
        "redis_client": (lambda: _manager().client(), "redis_core.client()"),
    },
    "redis_core.compat": {
        "REDIS": (lambda: _manager().client(), "redis_core.client()"),
        "POOL": (
            lambda: _manager().client().connection_pool,
            "redis_core.client().connection_pool",
        ),
        "get_manager": (_get_manager_function, "redis_core.get_manager"),
    },
}


def resolve(module_name, attribute):
    """What module.attribute resolves to, without a warning (for the check command)."""
    return LEGACY_PATHS[module_name][attribute][0]()


def legacy_getattr(module_name):
    """A module __getattr__ (PEP 562) for a legacy module listed in LEGACY_PATHS."""
    entries = LEGACY_PATHS[module_name]

    def __getattr__(name):
        try:
            target, instead = entries[name]
        except KeyError:
            raise AttributeError(f"module {module_name!r} has no attribute {name!r}") from None
        warnings.warn(
            f"{module_name}.{name} is deprecated. Use {instead} instead.",
            RedisCoreDeprecationWarning,
            stacklevel=2,
        )
        return target()

    return __getattr__
