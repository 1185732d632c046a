"""Who may read /metrics: client addresses in CHAT_METRICS_ALLOW, or the bearer token."""

import functools
import hmac
import ipaddress

from django.conf import settings

__all__ = ["allowed", "DEFAULT_ALLOW"]

DEFAULT_ALLOW = ("127.0.0.0/8", "::1")


@functools.lru_cache(maxsize=8)
def _networks(allow):
    return tuple(ipaddress.ip_network(network, strict=False) for network in allow)


def _address_allowed(remote_addr, allow):
    try:
        address = ipaddress.ip_address((remote_addr or "").strip())
    except ValueError:
        return False  # unknown (a unix socket without --proxy-headers): the token only
    if address.version == 6 and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address in network for network in _networks(allow))


def _token_given(request, token):
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        given.strip().encode("utf-8", "surrogatepass"), token.encode()
    )


def allowed(request):
    """True for a request with the configured bearer token (from any address), or from
    an allowed address (REMOTE_ADDR: with daphne's --proxy-headers, the forwarded one)."""
    token = getattr(settings, "CHAT_METRICS_TOKEN", "")
    if token and _token_given(request, token):
        return True
    allow = tuple(getattr(settings, "CHAT_METRICS_ALLOW", DEFAULT_ALLOW))
    return _address_allowed(request.META.get("REMOTE_ADDR"), allow)
