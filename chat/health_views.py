"""/healthz, /readyz: cheap enough to poll every second."""

import time

from django.db import DatabaseError, connection
from django.http import JsonResponse
from redis.exceptions import RedisError

from redis_core import get_manager


def healthz(request):
    return JsonResponse({"status": "ok"})


def _timed(probe):
    started = time.perf_counter()
    try:
        probe()
        ok = True
    except (RedisError, OSError, DatabaseError):
        ok = False
    return {"ok": ok, "ms": round((time.perf_counter() - started) * 1000, 3)}


def _database():
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def readyz(request):
    checks = {"redis": _timed(lambda: get_manager().client().ping()), "database": _timed(_database)}
    ok = all(check["ok"] for check in checks.values())
    return JsonResponse(
        {"status": "ok" if ok else "unavailable", "checks": checks}, status=200 if ok else 503
    )


def metrics_view(request):
    """Prometheus text format: this process's metrics (scrape every process)."""
    from django.http import HttpResponse
    from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

    return HttpResponse(generate_latest(), content_type=CONTENT_TYPE_LATEST)
