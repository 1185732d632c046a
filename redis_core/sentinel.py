"""A Sentinel-guarded Redis: its URL, parsed and checked, and the pools that follow its primary.

`redis+sentinel://[user:password@]host:port[,host:port...]/<service>[/<db>]` names the
sentinels (not the primary); the credentials, if any, are the primary's, and the sentinels'
own password is REDIS_SENTINEL_PASSWORD. `rediss+sentinel://` speaks TLS to both. Each new
connection asks a sentinel for the primary's address (redis-py's SentinelConnectionPool), so
after a failover the next connection, and every reconnect, reaches the new primary.
"""

import re
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, unquote, urlsplit

import redis
import redis.asyncio
import redis.asyncio.sentinel
import redis.sentinel
from redis.backoff import NoBackoff
from redis.retry import Retry

__all__ = [
    "SCHEMES",
    "SentinelTarget",
    "is_sentinel",
    "parse",
    "sync_pool",
    "async_pool",
    "MASTER_NOT_FOUND",
]

SCHEMES = ("redis+sentinel", "rediss+sentinel")
SERVICE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
# TLS options a deployment may set in the URL's query (every other option is the manager's).
TLS_OPTIONS = ("ssl_ca_certs", "ssl_certfile", "ssl_keyfile", "ssl_cert_reqs", "ssl_check_hostname")
# "No sentinel named a primary": redis-py raises one class from its sync client and another,
# of the same name, from its asyncio client; catch both.
MASTER_NOT_FOUND = (redis.sentinel.MasterNotFoundError, redis.asyncio.sentinel.MasterNotFoundError)


@dataclass(frozen=True)
class SentinelTarget:
    """What a Sentinel URL says: where the sentinels are and which primary to ask them for."""

    sentinels: tuple  # ((host, port), ...)
    service: str
    db: int = 0
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    tls: bool = False
    tls_options: tuple = ()  # ((name, value), ...) from the query

    def describe(self):
        addresses = ",".join(f"{host}:{port}" for host, port in self.sentinels)
        return f"service {self.service!r} db {self.db} via sentinels {addresses}"


def is_sentinel(url):
    return isinstance(url, str) and url.split("://", 1)[0] in SCHEMES


def _address(text):
    host, sep, port = text.rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(
            f"REDIS_URL sentinel address {text!r} is not host:port (e.g. 10.0.0.5:26379)."
        )
    return host, int(port)


def parse(url):
    """The SentinelTarget of a redis+sentinel:// URL; ValueError with a reason otherwise."""
    parts = urlsplit(url)
    if parts.scheme not in SCHEMES:
        raise ValueError(f"REDIS_URL scheme {parts.scheme!r} is not a Sentinel scheme.")
    userinfo, _, hosts = parts.netloc.rpartition("@")
    if not hosts:
        raise ValueError(
            "REDIS_URL names no sentinel: use redis+sentinel://host:port[,host:port...]/service/db."
        )
    sentinels = tuple(_address(h.strip()) for h in hosts.split(","))
    username = password = None
    if userinfo:
        user, has_password, secret = userinfo.partition(":")
        username = unquote(user) or None
        password = unquote(secret) if has_password else None
    segments = [s for s in parts.path.split("/") if s]
    if not segments or len(segments) > 2:
        raise ValueError(
            "REDIS_URL needs the Sentinel service name after the addresses, and the db after "
            "it: redis+sentinel://host:port/mymaster/0."
        )
    service = unquote(segments[0])
    if not SERVICE.match(service):
        raise ValueError(f"REDIS_URL service name {service!r} is not a Sentinel master name.")
    db = segments[1] if len(segments) == 2 else "0"
    if not db.isdigit() or int(db) > 15:
        raise ValueError(f"REDIS_URL db {db!r} is not a number from 0 to 15.")
    query = parse_qsl(parts.query, keep_blank_values=True)
    unknown = sorted({name for name, _ in query} - set(TLS_OPTIONS))
    if unknown:
        raise ValueError(
            f"REDIS_URL sets {', '.join(unknown)}; a Sentinel URL takes only {', '.join(TLS_OPTIONS)}."
        )
    tls = parts.scheme == "rediss+sentinel"
    if query and not tls:
        raise ValueError("REDIS_URL sets TLS options on redis+sentinel://; use rediss+sentinel://.")
    return SentinelTarget(sentinels, service, int(db), username, password, tls, tuple(query))


def _tls_kwargs(target):
    kwargs = {}
    for name, value in target.tls_options:
        if name == "ssl_check_hostname":
            kwargs[name] = value.lower() in ("1", "true", "yes")
        else:
            kwargs[name] = value
    return kwargs


def _sentinel_kwargs(target, password, kwargs):
    """How to talk to the sentinels themselves: short timeouts, their own password, TLS."""
    own = {
        "socket_connect_timeout": kwargs.get("socket_connect_timeout"),
        "socket_timeout": kwargs.get("socket_connect_timeout"),
        "password": password or None,
        "client_name": kwargs.get("client_name"),
        # No retries of its own (redis-py's default sleeps a second or more between tries):
        # a sentinel that does not answer is skipped for the next one at once.
        "retry": Retry(NoBackoff(), 0),
    }
    if target.tls:
        own.update(ssl=True, **_tls_kwargs(target))
    return own


def _primary_kwargs(target, kwargs):
    primary = dict(kwargs, db=target.db, username=target.username, password=target.password)
    if target.tls:
        primary.update(ssl=True, **_tls_kwargs(target))
    return primary


class _BlockingSentinelPool(redis.sentinel.SentinelConnectionPool, redis.BlockingConnectionPool):
    """Sentinel's primary-following pool that waits for a free connection (like ours)."""


class _AsyncBlockingSentinelPool(
    redis.asyncio.sentinel.SentinelConnectionPool, redis.asyncio.BlockingConnectionPool
):
    """The same, for an event loop."""


def sync_pool(target, sentinel_password, kwargs):
    """A blocking pool of connections to the current primary of target."""
    manager = redis.sentinel.Sentinel(
        list(target.sentinels), sentinel_kwargs=_sentinel_kwargs(target, sentinel_password, kwargs)
    )
    return _BlockingSentinelPool(target.service, manager, **_primary_kwargs(target, kwargs))


def async_pool(target, sentinel_password, kwargs):
    """An asyncio pool of connections to the current primary of target (one per loop)."""
    manager = redis.asyncio.sentinel.Sentinel(
        list(target.sentinels), sentinel_kwargs=_sentinel_kwargs(target, sentinel_password, kwargs)
    )
    return _AsyncBlockingSentinelPool(target.service, manager, **_primary_kwargs(target, kwargs))


def diagnose(target, sentinel_password, timeout=2.0):
    """None when a sentinel names the primary and it answers, else why not (one sentence).

    For `manage.py check`: every sentinel is asked (bounded by timeout each), so the
    sentence says which of address, password and service name is wrong.
    """
    problems = []
    kwargs = {"socket_connect_timeout": timeout, "socket_timeout": timeout}
    own = _sentinel_kwargs(target, sentinel_password, kwargs)
    for host, port in target.sentinels:
        client = redis.Redis(host=host, port=port, **own)
        try:
            address = client.sentinel_get_master_addr_by_name(target.service)
        except redis.AuthenticationError as exc:
            problems.append(
                f"sentinel {host}:{port} refused the password ({exc}; "
                "REDIS_SENTINEL_PASSWORD is the sentinels' own password)"
            )
            continue
        except redis.ResponseError as exc:
            problems.append(f"{host}:{port} is not a sentinel or needs a password ({exc})")
            continue
        except (redis.RedisError, OSError) as exc:
            problems.append(f"sentinel {host}:{port} does not answer ({type(exc).__name__})")
            continue
        finally:
            client.close()
        if not address:
            problems.append(f"sentinel {host}:{port} knows no service named {target.service!r}")
            continue
        return _diagnose_primary(target, address, kwargs)
    return "; ".join(problems) + "."


def _diagnose_primary(target, address, kwargs):
    primary_host, primary_port = address
    primary = redis.Redis(
        host=primary_host, port=int(primary_port), **_primary_kwargs(target, kwargs)
    )
    try:
        primary.ping()
    except redis.AuthenticationError as exc:
        return f"the primary {primary_host}:{primary_port} refused REDIS_URL's credentials ({exc})."
    except (redis.RedisError, OSError) as exc:
        return f"the primary {primary_host}:{primary_port} does not answer ({type(exc).__name__})."
    finally:
        primary.close()
    return None
