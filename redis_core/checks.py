"""Django system checks for the Redis configuration (`manage.py check`, ids redis_core.*).

Settings are read when a check runs, never at import, so tests can override them.
"""

from urllib.parse import parse_qs, urlsplit

from django.conf import settings
from django.core.checks import Error, Warning, register

from . import options, sentinel

__all__ = [
    "check_redis_settings",
    "check_channel_layers",
    "check_debug_hosts",
    "SHARED_BACKEND",
    "TAG",
    "W001",
    "E004",
    "check_sentinel",
]

TAG = "redis"
SHARED_BACKEND = "redis_core.layers.SharedRedisChannelLayer"
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}
# redis-py lets query options in the URL override the pool's own arguments, so these
# would silently undo the manager's timeouts, pool size and retries.
MANAGER_OPTIONS = (
    "socket_timeout", "socket_connect_timeout", "socket_keepalive", "retry_on_timeout",
    "retry_on_error", "max_connections", "health_check_interval", "timeout", "client_name",
)  # fmt: skip

W001 = Warning(
    "REDIS_URL is not set while DEBUG is off: the development Redis socket under var/ is used.",
    hint="Set REDIS_URL to the Redis every server process shares, e.g. redis://10.0.0.5:6379/0.",
    id="redis_core.W001",
)
E004 = Error(
    "CHANNEL_LAYERS has no 'default' layer: consumers cannot join rooms.",
    hint=f"Set CHANNEL_LAYERS = {{'default': {{'BACKEND': '{SHARED_BACKEND}'}}}}.",
    id="redis_core.E004",
)


def e001(reason):
    return Error(
        f"REDIS_URL cannot be used: {reason}",
        hint="Use redis://host:port/db, rediss://host:port/db (TLS), unix:///path/to.sock, or "
        "redis+sentinel://[:password@]host:port[,host:port...]/service/db (rediss+sentinel:// "
        "for TLS).",
        id="redis_core.E001",
    )


def e006(reason):
    return Error(
        f"REDIS_URL's sentinels cannot give the chat a primary: {reason}",
        hint="Check the sentinel addresses and service name in REDIS_URL, the primary's "
        "password in it, and REDIS_SENTINEL_PASSWORD (the sentinels' own).",
        id="redis_core.E006",
    )


def e005(names):
    return Error(
        f"REDIS_URL sets {', '.join(names)}, which override the Redis manager's own options "
        "(redis-py lets URL options win).",
        hint="Remove them from REDIS_URL; keep only the address, credentials, db and ssl_* options.",
        id="redis_core.E005",
    )


def e002(alias, backend):
    return Error(
        f"CHANNEL_LAYERS[{alias!r}] uses {backend!r}, which opens its own Redis connections "
        "beside the shared manager.",
        hint=f"Set its BACKEND to {SHARED_BACKEND!r}.",
        id="redis_core.E002",
    )


def e003(addresses):
    return Error(
        f"CHANNEL_LAYERS repeats a Redis address ({', '.join(addresses)}); it belongs in REDIS_URL.",
        hint="Remove 'hosts' from CHANNEL_LAYERS: the address lives in REDIS_URL only.",
        id="redis_core.E003",
    )


def w002(hosts):
    return Warning(
        f"DEBUG is on while ALLOWED_HOSTS names non-local hosts ({', '.join(hosts)}).",
        hint="Set DJANGO_DEBUG=0 for any server reachable from other machines.",
        id="redis_core.W002",
    )


def check_redis_settings(app_configs=None, **kwargs):
    """W001: production without REDIS_URL; E001: a REDIS_URL the manager cannot use;
    E005: options in REDIS_URL that would override the manager's."""
    errors = []
    if not getattr(settings, "REDIS_URL_FROM_ENV", True) and not settings.DEBUG:
        errors.append(W001)
    url = getattr(settings, "REDIS_URL", None)
    try:
        options.validate_url(url)
    except ValueError as exc:
        return [*errors, e001(exc)]
    overridden = [name for name in MANAGER_OPTIONS if name in parse_qs(urlsplit(url).query)]
    if overridden:
        errors.append(e005(overridden))
    return errors


def _addresses(config):
    hosts = (config.get("CONFIG") or {}).get("hosts") or []
    if isinstance(hosts, str):
        hosts = [hosts]
    return [str(h.get("address", h) if isinstance(h, dict) else h) for h in hosts]


def check_channel_layers(app_configs=None, **kwargs):
    """E002: a layer that bypasses the manager; E003: an address besides REDIS_URL; E004."""
    layers = getattr(settings, "CHANNEL_LAYERS", None) or {}
    errors = [] if "default" in layers else [E004]
    addresses = []
    for alias, config in layers.items():
        if config.get("BACKEND") != SHARED_BACKEND:
            errors.append(e002(alias, config.get("BACKEND")))
        addresses.extend(_addresses(config))
    if addresses:
        errors.append(e003(sorted(set(addresses))))
    return errors


def check_debug_hosts(app_configs=None, **kwargs):
    """W002: DEBUG on with ALLOWED_HOSTS reachable from other machines."""
    remote = sorted(set(settings.ALLOWED_HOSTS) - LOCAL_HOSTS)
    if settings.DEBUG and remote:
        return [w002(remote)]
    return []


def check_sentinel(app_configs=None, **kwargs):
    """E006: a Sentinel URL whose sentinels do not name an answering primary (asks them,
    bounded; nothing is asked for a plain URL)."""
    url = getattr(settings, "REDIS_URL", None)
    if not sentinel.is_sentinel(url):
        return []
    try:
        target = sentinel.parse(url)
    except ValueError:
        return []  # E001 says why
    reason = sentinel.diagnose(target, getattr(settings, "REDIS_SENTINEL_PASSWORD", None))
    return [e006(reason)] if reason else []


register(TAG)(check_redis_settings)
register(TAG)(check_sentinel)
register(TAG)(check_channel_layers)
register(TAG, "security")(check_debug_hosts)
