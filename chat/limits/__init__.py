"""Abuse limits: one shared limiter core (GCRA in Redis) and the limits on top of it
(connections, log-in and sign-up, messages), the concurrent caps and the in-memory frame
budget. They sit below both the pages and the real-time side; they import only
chat.metrics and redis_core."""
