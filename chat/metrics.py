"""The chat's Prometheus metrics (one registry per process; see docs/operations.md)."""

from prometheus_client import Counter, Gauge, Histogram

connections_open = Gauge("chat_connections_open", "Open WebSocket connections in this process")
connections_opened = Counter("chat_ws_opens_total", "WebSocket connections accepted")
connections_closed = Counter("chat_ws_closes_total", "WebSocket connections closed", ["code"])
messages_received = Counter("chat_messages_received_total", "Chat messages received from clients")
messages_stored = Counter("chat_messages_stored_total", "Chat messages stored (new seq)")
fanout_delivered = Counter("chat_fanout_delivered_total", "Messages handed to local sockets")
fanout_dropped = Counter("chat_fanout_dropped_total", "Messages the fan-out failed to hand over")
fanout_recovered = Counter(
    "chat_fanout_recovered_total", "Messages the fan-out read from the database to fill a gap"
)
publish_failed = Counter("chat_publish_failed_total", "Stored messages whose publish failed")
resumed_messages = Counter("chat_resume_messages_total", "Messages sent in answer to resume")
rate_limited = Counter("chat_rate_limited_total", "Messages refused by the rate limit")
redis_errors = Counter("chat_redis_errors_total", "Redis errors seen by the chat", ["where"])
redis_latency = Histogram(
    "chat_redis_command_seconds",
    "Latency of the chat's Redis commands",
    ["command"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 2.5),
)
