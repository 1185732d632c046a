"""The one owner of Redis in a process: get_manager() and the `redis_manager` proxy.

Shaped like django.core.cache: a small handler that reads its settings when the manager is
first needed, builds it once, and forgets it on reset (setting_changed, so tests can write
`settings.REDIS_URL = ...`), and a proxy that forwards to whatever the handler holds now.
"""

import threading

from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed

__all__ = [
    "get_manager",
    "redis_manager",
    "client",
    "reset_manager",
    "managers",
    "ManagerNotReady",
    "RedisNotConfigured",
]


class ManagerNotReady(RuntimeError):
    """The Redis manager was asked for before Django's settings were configured."""


class RedisNotConfigured(ImproperlyConfigured):
    """REDIS_URL (or another redis_core setting) cannot be used to build the manager."""


class ManagerHandler:
    """Holds the process's one RedisManager: built lazily from settings, reset on change."""

    settings_name = "REDIS_URL"

    def __init__(self):
        self._lock = threading.Lock()
        self._manager = None

    def get(self):
        """The manager; built from settings.REDIS_URL on first use (thread-safe)."""
        manager = self._manager
        if manager is None:
            with self._lock:
                if self._manager is None:
                    self._manager = self._create()
                manager = self._manager
        return manager

    def current(self):
        """The manager if one is built, else None (never builds)."""
        return self._manager

    def _create(self):
        from django.conf import settings

        from .manager import RedisManager

        if not settings.configured:
            raise ManagerNotReady(
                "The Redis manager needs Django's settings: set DJANGO_SETTINGS_MODULE and "
                "call django.setup() first."
            )
        url = getattr(settings, self.settings_name, None)
        try:
            return RedisManager(
                url,
                sentinel_password=getattr(settings, "REDIS_SENTINEL_PASSWORD", None),
                loss_grace=getattr(settings, "REDIS_LOSS_GRACE", None),
            )
        except ValueError as exc:
            raise RedisNotConfigured(
                f"The Redis manager cannot be built: {exc} "
                "(`manage.py check` reports it as redis_core.E001)."
            ) from exc

    def reset(self):
        """Close and forget the manager; the next get() builds a new one from settings."""
        with self._lock:
            old, self._manager = self._manager, None
        if old is not None:
            old.close()
            # Forgotten: check_redis_ssot counts the managers alive, and this one is done.
            type(old).instances.discard(old)
        # Layers hold no connection of their own, but channels caches layer objects; a
        # fresh one after a reset cannot keep state (receive buffers) from the old manager.
        from channels.layers import channel_layers

        channel_layers.backends = {}


managers = ManagerHandler()
# The settings a manager is built from: changing one builds a new manager.
SETTINGS = ("REDIS_URL", "REDIS_SENTINEL_PASSWORD", "REDIS_LOSS_GRACE")


def get_manager():
    """The process's RedisManager; raises RedisNotConfigured (from its cause) on a bad REDIS_URL."""
    return managers.get()


def client():
    """The process's sync Redis client (shorthand for get_manager().client())."""
    return get_manager().client()


def reset_manager():
    """Close and forget the manager (tests and settings changes)."""
    managers.reset()


def _on_setting_changed(setting, **kwargs):
    if setting in SETTINGS or setting.startswith("REDIS_CORE_"):
        reset_manager()


setting_changed.connect(_on_setting_changed, dispatch_uid="redis_core.reset_manager")


class _ManagerProxy:
    """Forwards attribute access to the current manager, like django.db.connection."""

    def __getattr__(self, name):
        return getattr(get_manager(), name)

    def __repr__(self):
        return f"<manager proxy to {managers.current()!r}>"


# Named so that it is not shadowed by the redis_core.manager submodule.
redis_manager = _ManagerProxy()
