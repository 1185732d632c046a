"""Whether this process has begun its graceful shutdown (chat.realtime.shutdown sets it;
readiness reads it and answers 503 from then on)."""

__all__ = ["draining", "begin"]

_state = {"draining": False}


def draining():
    """True once this process has begun its graceful shutdown."""
    return _state["draining"]


def begin():
    """Mark this process as shutting down (idempotent)."""
    _state["draining"] = True
