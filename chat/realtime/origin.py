"""The WebSocket handshake's Origin check: same origin as the page, scheme and port included.

Channels' AllowedHostsOriginValidator compares only the host name, so a page served from
another port of the same host (another application, with the chat's Lax session cookie
sent along) could open sockets as the logged-in user. Here an origin is accepted when
its host is in ALLOWED_HOSTS and its host and port are those the client connected to
(the Host header), or when it is listed in CSRF_TRUSTED_ORIGINS (Django's own setting for
the origins allowed to make unsafe requests). With DJANGO_HTTPS on, the origin must be
https. A foreign or missing origin is refused at the handshake (HTTP 403), except that a
handshake with no Origin at all and an `Authorization: Bearer` header goes on to the token
check (chat.realtime.tokenauth).
"""

from urllib.parse import urlsplit

from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.http.request import split_domain_port, validate_host

from .. import tokens

__all__ = ["SameOriginValidator", "origin_allowed", "header"]

DEFAULT_PORTS = {"http": "80", "https": "443"}


def header(scope, name):
    """The first value of header name (lowercase bytes) as str, or None."""
    for key, value in scope.get("headers", ()):
        if key == name:
            return value.decode("latin-1")
    return None


def _host_port(netloc, scheme):
    """(host, port) of a netloc, the scheme's default port when none is written."""
    host, port = split_domain_port(netloc.lower())
    return host, port or DEFAULT_PORTS.get(scheme, "")


def origin_allowed(origin, host_header, *, allowed_hosts, trusted_origins=(), https=False):
    """True when a handshake with this Origin and Host header may go on (pure)."""
    if not origin or not host_header:
        return False
    if origin in trusted_origins:
        return True
    try:
        parts = urlsplit(origin)
    except ValueError:
        return False
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or (https and scheme != "https"):
        return False
    if parts.path or parts.query or parts.fragment or parts.username or parts.password:
        return False  # an Origin is scheme://host[:port], nothing else
    origin_host, origin_port = _host_port(parts.netloc, scheme)
    if not origin_host or not validate_host(origin_host, allowed_hosts):
        return False
    # The Host header carries no scheme: a missing port means the default of the scheme
    # the client used, which is the page's own scheme for a same-origin socket.
    return (origin_host, origin_port) == _host_port(host_header, scheme)


class SameOriginValidator:
    """ASGI middleware for WebSocket scopes: refuse a handshake whose Origin fails
    origin_allowed(); settings are read per connection (tests may change them)."""

    def __init__(self, application):
        self.application = application

    async def __call__(self, scope, receive, send):
        allowed_hosts = settings.ALLOWED_HOSTS
        if settings.DEBUG and not allowed_hosts:
            allowed_hosts = ["localhost", "127.0.0.1", "[::1]"]
        origin = header(scope, b"origin")
        if origin is None and tokens.bearer(header(scope, b"authorization")) is not None:
            # A token client that sends no Origin is no browser, so no other site's page
            # can be behind it (a browser always sends Origin and cannot send this
            # header on a WebSocket): the contract exempts it; the token decides.
            return await self.application(scope, receive, send)
        allowed = origin_allowed(
            origin,
            header(scope, b"host"),
            allowed_hosts=allowed_hosts,
            trusted_origins=getattr(settings, "CSRF_TRUSTED_ORIGINS", ()),
            https=getattr(settings, "HTTPS", False),
        )
        if allowed:
            return await self.application(scope, receive, send)
        return await WebsocketDenier()(scope, receive, send)
