"""Parse the environment for settings.py: pure functions with errors that say what to do."""

import ipaddress
import re

from django.core.exceptions import ImproperlyConfigured

__all__ = ["count", "flag", "host_list", "message_rate", "network_list", "seconds", "origin_list"]

RATE = re.compile(r"^\s*(\d{1,9})\s*/\s*(\d{1,9}(?:\.\d{1,6})?)\s*$")
COUNT = re.compile(r"^\s*(\d{1,9})\s*$")
SECONDS = re.compile(r"^\s*(\d{1,4}(?:\.\d{1,3})?)\s*$")
ORIGIN = re.compile(
    r"^https?://(\*\.)?[A-Za-z0-9.-]+(:\d{1,5})?$|^https?://\[[0-9A-Fa-f:]+\](:\d{1,5})?$"
)


def flag(environ, name, default):
    value = environ.get(name)
    if value is None or value.strip() == "":
        return default
    if value.strip() in ("1", "true", "True", "yes", "on"):
        return True
    if value.strip() in ("0", "false", "False", "no", "off"):
        return False
    raise ImproperlyConfigured(f"{name}={value!r}: use 1 or 0.")


def count(environ, name, default):
    """A whole number >= 0 from the environment (0 usually meaning "off"), default when unset."""
    value = environ.get(name)
    if value is None or value.strip() == "":
        return default
    match = COUNT.match(value)
    if not match:
        raise ImproperlyConfigured(f"{name}={value!r}: use a whole number (0 turns it off).")
    return int(match.group(1))


def host_list(value):
    hosts = [h.strip() for h in value.split(",") if h.strip()]
    if not hosts:
        raise ImproperlyConfigured("DJANGO_ALLOWED_HOSTS is empty: name at least one host.")
    return hosts


def message_rate(value, name="CHAT_MESSAGE_RATE"):
    """'N/S' -> (N, S seconds); '0' -> None (no limit)."""
    if value.strip() == "0":
        return None
    match = RATE.match(value)
    if not match or int(match.group(1)) < 1 or float(match.group(2)) <= 0:
        raise ImproperlyConfigured(
            f"{name}={value!r}: use N/S (N per S seconds, e.g. 30/10) or 0 (no limit)."
        )
    return int(match.group(1)), float(match.group(2))


def network_list(value, name="CHAT_METRICS_ALLOW"):
    """'127.0.0.0/8,::1' -> ('127.0.0.0/8', '::1'), each checked; '' -> () (none)."""
    networks = tuple(n.strip() for n in value.split(",") if n.strip())
    for network in networks:
        try:
            ipaddress.ip_network(network, strict=False)
        except ValueError:
            raise ImproperlyConfigured(
                f"{name}={value!r}: {network!r} is not an address or network; use "
                "comma-separated CIDRs, e.g. 127.0.0.0/8,::1,10.0.0.0/8."
            ) from None
    return networks


def seconds(environ, name, default, low=0.1, high=600):
    """Seconds (a decimal number from low to high) from the environment, default when unset."""
    value = environ.get(name)
    if value is None or value.strip() == "":
        return default
    match = SECONDS.match(value)
    if not match or not low <= float(match.group(1)) <= high:
        raise ImproperlyConfigured(
            f"{name}={value!r}: use a number of seconds from {low} to {high}, e.g. 10."
        )
    return float(match.group(1))


def origin_list(value, name="CSRF_TRUSTED_ORIGINS"):
    """'https://chat.example.org,https://chat.example.org:8443' -> a list, each checked."""
    origins = [o.strip() for o in value.split(",") if o.strip()]
    for origin in origins:
        if not ORIGIN.match(origin):
            raise ImproperlyConfigured(
                f"{name}={value!r}: {origin!r} is not an origin; use scheme://host[:port], "
                "e.g. https://chat.example.org:8443 (comma-separated)."
            )
    return origins
