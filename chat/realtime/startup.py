"""Under daphne, start the event loop's Redis health monitor as soon as the reactor runs.

Otherwise the first socket that waits for Redis starts it: until then `chat_redis_ready`
reads 0 on a process that refuses nobody (0 is what an alert on refused sockets watches),
and /readyz's pool has no monitor behind it. Started here, readiness is exported, and true,
from the start.
"""

import logging
import sys

from redis_core import ManagerNotReady, RedisNotConfigured, get_manager

__all__ = ["install", "start_monitor"]

log = logging.getLogger("chat.realtime.startup")

_state = {"installed": False}


def install():
    """Under daphne, start the monitor once the reactor runs; elsewhere do nothing.

    Returns True when it was scheduled. Safe to call more than once.
    """
    if _state["installed"] or "daphne.server" not in sys.modules:
        return False
    from twisted.internet import reactor

    _state["installed"] = True
    # "startup" fires before the asyncio loop runs; callLater(0) runs once it does.
    reactor.callWhenRunning(reactor.callLater, 0, start_monitor)
    return True


def start_monitor():
    """Start the running loop's health monitor (a no-op when it runs already)."""
    try:
        get_manager().health().start()
    except (ManagerNotReady, RedisNotConfigured) as exc:  # nothing to watch
        log.warning("event=redis_monitor_not_started reason=%s", type(exc).__name__)
        return False
    return True
