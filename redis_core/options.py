"""Every connection option of the process, decided in one place (pure functions)."""

import os
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from redis.backoff import ExponentialWithJitterBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.retry import Retry

from . import sentinel

SCHEMES = ("redis", "rediss", "unix")

# How long the shared channel layer blocks in BZPOPMIN (channels-redis uses 5 s). Short,
# because redis-py shields a command from cancellation: a cancelled receive returns only
# when its pop does, and 5 s of that delays every consumer shutdown.
LAYER_BLOCKING_POP = 1
# redis-py 8 reads with a 5 s timeout by default, which races channels-redis's 5 s pop and
# closes idle sockets with 1011. Async reads here wait longer than any blocking pop issued
# (5 s is the longest: channels-redis's own default); a dead peer is found by the health
# monitor and TCP keepalive, not by this timeout.
ASYNC_READ_TIMEOUT = 15
SYNC_READ_TIMEOUT = 5
CONNECT_TIMEOUT = 2
# redis-py 8 gives asyncio pools 100 connections and raises when they are all busy;
# a burst of connects then fails handshakes. Ours waits for a free connection instead.
ASYNC_MAX_CONNECTIONS = 256
SYNC_MAX_CONNECTIONS = 64
POOL_WAIT = 5
HEALTH_CHECK_INTERVAL = 15
# Seconds without an answering primary before Redis is declared lost (sockets get 4012):
# a plain restart heals within the first, a Sentinel failover (detection, election,
# promotion: about down-after-milliseconds + 1-3 s) within the second. REDIS_LOSS_GRACE
# overrides both.
LOSS_GRACE = 1.5
SENTINEL_LOSS_GRACE = 10.0


@dataclass(frozen=True)
class ClientName:
    """The name every connection of one process and role announces with CLIENT SETNAME."""

    host: str
    pid: int
    role: str

    PREFIX = "chat"

    def __str__(self):
        return f"{self.PREFIX}/{self.host}/{self.pid}/{self.role}"

    @classmethod
    def parse(cls, name):
        """The ClientName in a CLIENT LIST name, or None when no manager set it."""
        parts = (name or "").split("/")
        if len(parts) != 4 or parts[0] != cls.PREFIX or not parts[2].isdigit():
            return None
        return cls(parts[1], int(parts[2]), parts[3])


def client_name(role):
    host = "".join(c if c.isalnum() or c in "-_." else "_" for c in socket.gethostname())
    return ClientName(host or "host", os.getpid(), role)


def validate_url(url):
    """Raise ValueError with a readable reason when url is not a Redis URL we can use."""
    if not isinstance(url, str) or not url:
        raise ValueError("REDIS_URL is empty; set it to redis://host:port/db.")
    if sentinel.is_sentinel(url):
        sentinel.parse(url)
        return url
    parts = urlsplit(url)
    if parts.scheme not in SCHEMES:
        raise ValueError(
            f"REDIS_URL scheme {parts.scheme!r} is not one of redis://, rediss://, unix://, "
            "redis+sentinel://, rediss+sentinel://."
        )
    if parts.scheme == "unix" and not parts.path:
        raise ValueError("REDIS_URL unix:// needs a socket path, e.g. unix:///run/redis.sock.")
    if parts.scheme != "unix" and not parts.hostname:
        raise ValueError("REDIS_URL needs a host, e.g. redis://127.0.0.1:6379/0.")
    try:
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as exc:
        raise ValueError(f"REDIS_URL has an invalid port: {exc}.") from exc
    return url


def loss_grace(url, configured=None):
    """REDIS_LOSS_GRACE when set, else the default for this kind of URL."""
    if configured is not None:
        return float(configured)
    return SENTINEL_LOSS_GRACE if sentinel.is_sentinel(url) else LOSS_GRACE


def retry_policy():
    """Retry a command after a dropped or stale connection, with jittered backoff."""
    return Retry(ExponentialWithJitterBackoff(base=0.05, cap=0.5), retries=3)


def connection_kwargs(url, *, role, asynchronous):
    """The keyword arguments for a pool of this URL and role."""
    kwargs = {
        "client_name": str(client_name(role)),
        "socket_connect_timeout": CONNECT_TIMEOUT,
        "socket_timeout": ASYNC_READ_TIMEOUT if asynchronous else SYNC_READ_TIMEOUT,
        "health_check_interval": HEALTH_CHECK_INTERVAL,
        "retry": retry_policy(),
        "retry_on_error": [RedisConnectionError, RedisTimeoutError],
        "max_connections": ASYNC_MAX_CONNECTIONS if asynchronous else SYNC_MAX_CONNECTIONS,
        "timeout": POOL_WAIT,
    }
    if urlsplit(url).scheme != "unix":
        kwargs["socket_keepalive"] = True
    return kwargs
