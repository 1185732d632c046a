"""The one owner of Redis in a process: get_manager() and the `redis_manager` proxy."""

import threading

__all__ = ["get_manager", "redis_manager", "client", "ManagerNotReady", "reset_manager"]

_lock = threading.Lock()
_manager = None


class ManagerNotReady(RuntimeError):
    """The Redis manager was asked for before the redis_core app was ready."""


def build_manager(url):
    """Build the process's manager once; later calls return the same one (thread-safe)."""
    global _manager
    if _manager is None:
        with _lock:
            if _manager is None:
                from .manager import RedisManager

                _manager = RedisManager(url)
    return _manager


def get_manager():
    """The process's RedisManager."""
    if _manager is None:
        raise ManagerNotReady(
            "The Redis manager does not exist: add 'redis_core' to INSTALLED_APPS, call "
            "django.setup() first, and check REDIS_URL (`manage.py check` says what is wrong)."
        )
    return _manager


def client():
    """The process's sync Redis client (shorthand for get_manager().client())."""
    return get_manager().client()


def reset_manager():
    """Close and forget the manager (tests and settings changes only)."""
    global _manager
    with _lock:
        old, _manager = _manager, None
    if old is not None:
        old.close()


class _ManagerProxy:
    """Forwards attribute access to the current manager, like django.db.connection."""

    def __getattr__(self, name):
        return getattr(get_manager(), name)

    def __repr__(self):
        return f"<manager proxy to {_manager!r}>"


# Named so that it is not shadowed by the redis_core.manager submodule.
redis_manager = _ManagerProxy()
