"""Graceful shutdown under daphne: on SIGTERM, close every WebSocket with 4001, then exit.

Daphne stops the Twisted reactor on SIGTERM and cancels every application at once: the
sockets are dropped without a close frame (clients see 1006), consumers never run their
disconnect, presence lingers until it expires, and HTTP requests in flight are cut. Once
the reactor runs, we take over SIGTERM (and SIGINT when Twisted handles it): gate new
connections (chat.realtime.listening: metrics and health served, the rest sent to other
processes), close each socket with 4001 through its consumer, wait (bounded) for the
consumers to finish, clean what is left of their presence, wait (bounded) for the HTTP
requests in flight and stop listening, release this process's Redis connections, then
hand over to Twisted's own handler, which stops the reactor as before. A second signal
stops at once.
"""

import asyncio
import logging
import signal
import sys
import threading
import time

from redis.exceptions import RedisError

from .. import draining
from ..protocol import CloseCode
from . import listening

__all__ = [
    "CLOSE_GOING_AWAY",
    "install",
    "close_members",
    "drain",
    "release_redis",
    "graceful_shutdown",
]

log = logging.getLogger("chat.realtime.shutdown")

CLOSE_GOING_AWAY = CloseCode.GOING_AWAY
DRAIN_TIMEOUT = 5.0  # consumers to finish their disconnect (presence, groups)
CLEANUP_TIMEOUT = 2.0  # each Redis clean-up step after that
REQUESTS_TIMEOUT = 5.0  # HTTP requests in flight once the port is closed (a log-in hashes)
POLL = 0.05
# Every step is bounded; so is all: 5 + 5 + 3 x 2 + 1 = 17 s (systemd's TimeoutStopSec=20).
SHUTDOWN_LIMIT = DRAIN_TIMEOUT + REQUESTS_TIMEOUT + 3 * CLEANUP_TIMEOUT + 1

_state = {"installed": False, "task": None}


def install():
    """Under daphne, take over SIGTERM once the reactor runs; elsewhere do nothing.

    Returns True when the hook was scheduled. Safe to call more than once.
    """
    if _state["installed"] or "daphne.server" not in sys.modules:
        return False
    from twisted.internet import reactor

    _state["installed"] = True
    # After "startup": Twisted installs its own signal handlers while starting up.
    reactor.callWhenRunning(_take_over_signals, reactor)
    return True


def _take_over_signals(reactor):
    if threading.current_thread() is not threading.main_thread():
        log.warning("event=shutdown_hook_skipped reason=not_main_thread")
        return
    for signum in (signal.SIGTERM, signal.SIGINT):
        previous = signal.getsignal(signum)
        if signum == signal.SIGINT and not _is_twisted_handler(previous, reactor):
            continue  # Ctrl+C keeps whatever handler someone else chose

        def handler(number, frame, previous=previous):
            if _state["task"] is not None:  # second signal: stop now
                _call_previous(reactor, previous, number)
                return
            reactor.callFromThread(_begin, reactor, previous, number)

        signal.signal(signum, handler)


def _is_twisted_handler(handler, reactor):
    return getattr(handler, "__self__", None) is reactor


def _call_previous(reactor, previous, number):
    if callable(previous):
        previous(number, None)
    else:
        reactor.callFromThread(reactor.stop)


def _begin(reactor, previous, number):
    if _state["task"] is None:
        servers = listening.gate(reactor)
        _state["task"] = asyncio.ensure_future(
            _shutdown_then_stop(servers, reactor, previous, number)
        )


async def _shutdown_then_stop(servers, reactor, previous, number):
    try:
        await asyncio.wait_for(graceful_shutdown(servers, reactor=reactor), SHUTDOWN_LIMIT)
    except Exception:  # whatever happens (a timeout included), the process must still stop
        log.exception("event=shutdown_failed")
    finally:
        _call_previous(reactor, previous, number)


# daphne's side -----------------------------------------------------------------------


def _websockets(servers):
    from daphne.ws_protocol import WebSocketProtocol

    for server in servers:
        for protocol, details in list(server.connections.items()):
            if isinstance(protocol, WebSocketProtocol):
                yield protocol, details


def _close_open_sockets(servers, code):
    """Close sockets that are open but not (yet) in a room: still connecting, for instance."""
    closed = 0
    for protocol, details in _websockets(servers):
        if protocol.state == protocol.STATE_OPEN and not details.get("disconnected"):
            protocol.serverClose(code=int(code))  # autobahn takes a plain int only
            closed += 1
    return closed


def _connected_sockets(servers):
    """Sockets whose close handshake has not finished yet."""
    return sum(1 for _protocol, details in _websockets(servers) if not details.get("disconnected"))


# the application's side ----------------------------------------------------------------


def current_hub():
    """The hub of the running loop, or None when this process never served a room."""
    from .hub import current_hub

    return current_hub()


async def close_members(hub, code=CLOSE_GOING_AWAY, closed_entries=None):
    """Close every connection in hub's rooms with code; returns how many were asked to.

    closed_entries, a dict, collects {room: [presence entry, ...]} of the closed members.
    """
    members = [m for m in hub.members() if not m.closing] if hub is not None else []
    if closed_entries is not None:
        _record_presence(members, closed_entries)
    results = await asyncio.gather(*(m.close_with(code) for m in members), return_exceptions=True)
    for result in results:
        if isinstance(result, Exception):
            log.warning("event=shutdown_close_failed error=%s", type(result).__name__)
    return len(members)


def _record_presence(members, entries):
    for member in members:
        room = getattr(member.room, "name", None)
        if room and member.presence_entry and member.presence_entry not in entries.get(room, ()):
            entries.setdefault(room, []).append(member.presence_entry)


async def drain(servers=(), code=CLOSE_GOING_AWAY, timeout=DRAIN_TIMEOUT, closed_entries=None):
    """Close every socket with code; wait until each close handshake is done and each
    consumer has left its room (its disconnect ran). Bounded by timeout.

    Returns (closed, remaining): sockets closed, hub members still there at the end.
    Consumer tasks may outlive this by a few seconds: channels-redis's blocking pop is
    not interrupted by cancellation; releasing the pool ends it.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    closed = 0
    while True:
        hub = current_hub()
        closed += await close_members(hub, code, closed_entries)
        closed += _close_open_sockets(servers, code)
        remaining = len(hub.members()) if hub is not None else 0
        if (remaining == 0 and _connected_sockets(servers) == 0) or loop.time() >= deadline:
            return closed, remaining
        await asyncio.sleep(POLL)


async def clean_presence(hub, entries):
    """Remove presence entries {room: [entry, ...]} and tell each room that changed.

    Idempotent with the consumers' own disconnect: whichever removes an entry first sees
    the change and publishes it; the other finds nothing to do.
    """
    from . import presence
    from .hub import presence_frame

    async def one(room, room_entries):
        change = await presence.update(room, "rem", room_entries)
        if change.changed and hub is not None:
            await hub.publish_event(room, presence_frame(change))

    await asyncio.gather(*(one(room, e) for room, e in entries.items()))
    return sum(len(e) for e in entries.values())


async def release_redis(hub, manager):
    """Wait for the posts in flight, close the hub's subscription and this loop's pool,
    then the sync pool."""
    from .writer import current_writer

    writer = current_writer()
    if writer is not None:
        await writer.wait_idle(CLEANUP_TIMEOUT)
    if hub is not None:
        await hub.aclose(timeout=CLEANUP_TIMEOUT)  # its tasks, its rooms, its subscription
    # The manager owns the pools; it closes them (the loop's, then the sync one).
    await asyncio.wait_for(manager.aclose_loop(asyncio.get_running_loop()), CLEANUP_TIMEOUT)
    await asyncio.to_thread(manager.close)


async def graceful_shutdown(servers=(), code=CLOSE_GOING_AWAY, timeout=DRAIN_TIMEOUT, reactor=None):
    """Drain every socket with code, clean presence, stop listening (with reactor) and wait
    for HTTP requests in flight, release Redis; logs one line at each end."""
    from redis_core import get_manager

    from .. import metrics

    draining.begin()
    metrics.draining.set(1)
    started = time.monotonic()
    hub = current_hub()
    log.info("event=shutdown_start connections=%s", len(hub.members()) if hub is not None else 0)
    entries = {}
    closed, remaining = await drain(servers, code, timeout, entries)
    hub = current_hub()
    if hub is not None:  # members that did not finish their disconnect in time
        _record_presence(hub.members(), entries)
    cleaned = released = 0
    try:
        cleaned = await asyncio.wait_for(clean_presence(hub, entries), CLEANUP_TIMEOUT)
    except (TimeoutError, RedisError, OSError) as exc:  # Redis away: entries expire in 20 s
        log.warning("event=shutdown_presence_failed error=%s", type(exc).__name__)
    requests_left = 0
    if reactor is not None:  # under daphne: the HTTP requests in flight, then the port
        # A request on its way on a connection accepted before is read within the grace.
        await asyncio.sleep(max(0.0, listening.IDLE_GRACE - (time.monotonic() - started)))
        requests_left = await listening.wait_requests(servers, REQUESTS_TIMEOUT)
        listening.stop(reactor)
    try:
        await release_redis(hub, get_manager())
        released = 1
    except (TimeoutError, RedisError, OSError) as exc:
        log.warning("event=shutdown_release_failed error=%s", type(exc).__name__)
    log.info(
        "event=shutdown_done closed=%s remaining=%s presence_cleaned=%s redis_released=%s "
        "requests_left=%s duration_s=%.2f",
        closed, remaining, cleaned, released, requests_left, time.monotonic() - started,
    )  # fmt: skip
    return closed, remaining
