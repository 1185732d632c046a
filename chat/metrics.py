"""The chat's Prometheus metrics: one registry per process, scraped process by process.

Each daphne process serves its own /metrics (no prometheus_client multiprocess mode):
daphne processes are long-lived and each listens on its own port, so Prometheus scrapes
every one as its own target. See docs/operations.md for what each metric means. The Redis
manager's pool metrics (chat_redis_pool_*) are redis_core's own: redis_core/metrics.py.
"""

import time
from contextlib import asynccontextmanager

from prometheus_client import Counter, Gauge, Histogram

__all__ = ["redis_command", "set_readiness"]

connections_open = Gauge("chat_connections_open", "Open WebSocket connections in this process")
connections_opened = Counter("chat_ws_opens_total", "WebSocket connections accepted")
# by: "server" when this process sent the close code, "client" when the client did (or the
# connection broke without a close frame: 1006). A client's own 1011 is not a server bug.
connections_closed = Counter(
    "chat_ws_closes_total", "WebSocket connections closed, by close code and side", ["code", "by"]
)
db_connections_opened = Counter(
    "chat_db_connections_opened_total", "Database connections this process opened"
)
post_batch_size = Histogram(
    "chat_post_batch_size",
    "Posts stored together in one transaction (chat.realtime.writer)",
    buckets=(1, 2, 5, 10, 20, 50, 100, 200),
)
messages_received = Counter("chat_messages_received_total", "Chat messages received from clients")
messages_stored = Counter("chat_messages_stored_total", "Chat messages stored (new seq)")
fanout_delivered = Counter("chat_fanout_delivered_total", "Messages handed to local sockets")
fanout_dropped = Counter("chat_fanout_dropped_total", "Messages the fan-out failed to hand over")
fanout_recovered = Counter(
    "chat_fanout_recovered_total", "Messages the fan-out read from the database to fill a gap"
)
fanout_skipped = Counter(
    "chat_fanout_skipped_total",
    "Seqs the fan-out skipped because not even the database had them (expected 0)",
)
publish_failed = Counter("chat_publish_failed_total", "Stored messages whose publish failed")
resumed_messages = Counter("chat_resume_messages_total", "Messages sent in answer to resume")
rate_limited = Counter("chat_rate_limited_total", "Messages refused by the rate limit")
frames_refused = Counter(
    "chat_frames_refused_total", "Client frames refused by the per-connection frame budget"
)
slow_readers_closed = Counter(
    "chat_slow_readers_closed_total", "Sockets closed (4013) for holding over 1 MiB unsent"
)
redis_errors = Counter("chat_redis_errors_total", "Redis errors seen by the chat", ["where"])
redis_latency = Histogram(
    "chat_redis_command_seconds",
    "Latency of the chat's Redis commands",
    ["command"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 2.5),
)
ready = Gauge("chat_ready", "1 when the last readiness check (Redis and database) passed")
ready_check = Gauge("chat_ready_check", "1 when this readiness check passed", ["check"])
ready_check_seconds = Gauge(
    "chat_ready_check_seconds", "Duration of the last readiness check", ["check"]
)
draining = Gauge("chat_draining", "1 while this process shuts down gracefully")


@asynccontextmanager
async def redis_command(command):
    """Time one Redis command into chat_redis_command_seconds; count its errors by command."""
    started = time.perf_counter()
    try:
        yield
    except Exception:
        redis_errors.labels(where=command).inc()
        raise
    finally:
        redis_latency.labels(command=command).observe(time.perf_counter() - started)


def set_readiness(checks, draining_now=False):
    """Record a readiness result ({"redis": {"ok", "ms"}, ...}) in the readiness gauges."""
    for name, check in checks.items():
        ready_check.labels(check=name).set(1 if check["ok"] else 0)
        ready_check_seconds.labels(check=name).set(check["ms"] / 1000)
    ready.set(1 if all(c["ok"] for c in checks.values()) and not draining_now else 0)
    draining.set(1 if draining_now else 0)
