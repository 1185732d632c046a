"""/healthz, /readyz and /metrics: cheap enough to poll every second.

The readiness checks run on the event loop (async views): one PING through the loop's
pool, the one the consumers use, and one `SELECT 1`, concurrently and each bounded.
/readyz checks on every request; /metrics (allowed clients only) shows the latest result
and checks again only when that is older than READINESS_MAX_AGE, so scrapes cost no probe.
"""

import asyncio
import time

from channels.db import database_sync_to_async
from django.db import DatabaseError, connection
from django.http import HttpResponse, HttpResponseForbidden, JsonResponse
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest
from redis.exceptions import RedisError

from redis_core import get_manager
from redis_core.sentinel import MASTER_NOT_FOUND

from . import draining, metrics, metrics_access

__all__ = ["healthz", "readyz", "metrics_view", "readiness"]

CHECK_TIMEOUT = 1.0  # seconds per check: a poller every second never piles up
READINESS_MAX_AGE = 5.0  # seconds a readiness result stands in for a new check in /metrics

_last_check = {"at": None}  # when the latest readiness check of this process started


def healthz(request):
    """200 while the process serves requests (liveness; no I/O)."""
    return JsonResponse({"status": "ok"})


async def _redis():
    async with metrics.redis_command("ping"):
        await get_manager().async_client().ping()


def _select_one():
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


async def _database():
    await database_sync_to_async(_select_one)()


async def _timed(probe):
    """{"ok", "ms"}, and "error" (the reason, one line) when the check failed."""
    started = time.perf_counter()
    error = None
    try:
        await asyncio.wait_for(probe(), CHECK_TIMEOUT)
    except TimeoutError:
        error = f"no answer within {CHECK_TIMEOUT} s"
    except MASTER_NOT_FOUND:  # redis-py's message ends with a client's repr: say why
        error = (
            "MasterNotFoundError: no sentinel of REDIS_URL named a primary that answers: a "
            "sentinel address, REDIS_SENTINEL_PASSWORD or the service name is wrong, or the "
            "failover is not over (`manage.py check` says which)"
        )
    except (RedisError, OSError, DatabaseError) as exc:
        error = f"{type(exc).__name__}: {exc}"[:500]
    result = {"ok": error is None, "ms": round((time.perf_counter() - started) * 1000, 3)}
    if error is not None:
        result["error"] = error
    return result


async def readiness():
    """{"redis": {"ok", "ms"}, "database": {...}}, checked concurrently; updates the gauges."""
    _last_check["at"] = time.monotonic()
    redis_check, database_check = await asyncio.gather(_timed(_redis), _timed(_database))
    checks = {"redis": redis_check, "database": database_check}
    metrics.set_readiness(checks, draining.draining())
    return checks


async def readyz(request):
    """200 when Redis and the database answer (and the process is not shutting down), else 503."""
    checks = await readiness()
    ok = all(check["ok"] for check in checks.values()) and not draining.draining()
    body = {"status": "ok" if ok else "unavailable", "checks": checks}
    if draining.draining():
        body["draining"] = True
    return JsonResponse(body, status=200 if ok else 503)


async def metrics_view(request):
    """This process's metrics in Prometheus text format (scrape every process; see the guide),
    for allowed clients only (chat.metrics_access); others get 403."""
    if not metrics_access.allowed(request):
        return HttpResponseForbidden(
            "Metrics are for allowed clients: scrape from an address in CHAT_METRICS_ALLOW, "
            "or send Authorization: Bearer <CHAT_METRICS_TOKEN>.\n",
            content_type="text/plain; charset=utf-8",
        )
    at = _last_check["at"]
    if at is None or time.monotonic() - at > READINESS_MAX_AGE:
        await readiness()  # marks the time first: concurrent scrapes do not all check
    return HttpResponse(generate_latest(REGISTRY), content_type=CONTENT_TYPE_LATEST)
