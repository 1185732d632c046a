"""Django system checks for the Redis configuration (ids redis_core.E00x / W00x)."""

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register

from . import options

__all__ = ["check_redis_settings", "check_channel_layers", "check_debug_hosts"]

SHARED_BACKEND = "redis_core.layers.SharedRedisChannelLayer"
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}


def check_redis_settings(app_configs=None, **kwargs):
    errors = []
    if not getattr(settings, "REDIS_URL_FROM_ENV", True) and not settings.DEBUG:
        errors.append(
            Warning(
                "REDIS_URL is not set; the development Redis address is used in production.",
                hint="Set REDIS_URL to the Redis every server process shares.",
                id="redis_core.W001",
            )
        )
    try:
        options.validate_url(settings.REDIS_URL)
    except ValueError as exc:
        errors.append(
            Error(str(exc), hint="Use redis://, rediss:// or unix:// URLs.", id="redis_core.E001")
        )
    return errors


def check_channel_layers(app_configs=None, **kwargs):
    errors = []
    layers = getattr(settings, "CHANNEL_LAYERS", {})
    addresses = []
    for alias, config in layers.items():
        if config.get("BACKEND") != SHARED_BACKEND:
            errors.append(
                Error(
                    f"CHANNEL_LAYERS[{alias!r}] uses {config.get('BACKEND')!r}, which bypasses "
                    "the shared Redis manager.",
                    hint=f"Set its BACKEND to {SHARED_BACKEND!r}.",
                    id="redis_core.E002",
                )
            )
        hosts = config.get("CONFIG", {}).get("hosts") or []
        addresses.extend(str(h.get("address", h) if isinstance(h, dict) else h) for h in hosts)
    repeated = sorted({a for a in addresses if addresses.count(a) > 1 or a == settings.REDIS_URL})
    if repeated:
        errors.append(
            Error(
                f"CHANNEL_LAYERS repeats a Redis address ({', '.join(repeated)}).",
                hint="Remove 'hosts' from CHANNEL_LAYERS: the address lives in REDIS_URL only.",
                id="redis_core.E003",
            )
        )
    return errors


def check_debug_hosts(app_configs=None, **kwargs):
    if settings.DEBUG and set(settings.ALLOWED_HOSTS) - LOCAL_HOSTS:
        return [
            Warning(
                "DEBUG is on while ALLOWED_HOSTS names non-local hosts "
                f"({', '.join(sorted(set(settings.ALLOWED_HOSTS) - LOCAL_HOSTS))}).",
                hint="Set DJANGO_DEBUG=0 for any server reachable from other machines.",
                id="redis_core.W002",
            )
        ]
    return []


register(Tags.compatibility)(check_redis_settings)
register(Tags.compatibility)(check_channel_layers)
register(Tags.security, deploy=False)(check_debug_hosts)
