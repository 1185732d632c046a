"""Reaching open sockets from synchronous code (pages, admin, signals): publish an
envelope on Redis; every server process's hub acts on it for its own sockets.

Nothing here knows a socket: this is the one way down from the request/response side to
the real-time side, through the declared envelope (chat.envelope) and the one manager.
"""

import hashlib
import logging
from functools import partial

from django.db import transaction
from redis.exceptions import RedisError

from redis_core import get_manager

from . import envelope, protocol

__all__ = [
    "session_target", "token_target", "publish_close", "publish_recheck", "publish_ephemeral",
    "publish_stored", "close_sockets", "close_sockets_after_commit", "notify_user",
    "notify_user_after_commit",
]  # fmt: skip

log = logging.getLogger("chat.broadcast")


def session_target(session_key):
    """The control target naming one browser session's sockets ("session:<digest>"): the
    key itself never travels through Redis. User names cannot hold ':', so no clash."""
    return "session:" + hashlib.sha256(session_key.encode()).hexdigest()[:32]


def token_target(key_id):
    """The control target naming the sockets one API token opened ("token:<key id>"; the
    key id is the token's public part, chat.tokens)."""
    return "token:" + key_id


def _publish(channel, message):
    get_manager().client().publish(channel, envelope.encode(message))


def publish_close(target, code, room=None):
    """Close target's sockets (in room, or all) on every server process."""
    _publish(envelope.CONTROL_CHANNEL, envelope.Close(target, int(code), room))


def publish_recheck(username):
    """Have username's sockets check their sessions again, on every server process."""
    _publish(envelope.CONTROL_CHANNEL, envelope.Recheck(username))


def notify_user(notice):
    """Publish a user notice (envelope.Read, Follow or Unfollow) to every server process;
    False when Redis did not answer (an inbox then catches up at its next connect)."""
    try:
        _publish(envelope.CONTROL_CHANNEL, notice)
    except (RedisError, OSError) as exc:
        log.warning("event=user_notice_failed notice=%r error=%r", notice, exc)
        return False
    return True


def notify_user_after_commit(notice):
    """notify_user(notice) once the current transaction commits (at once outside one)."""
    transaction.on_commit(partial(notify_user, notice))


def publish_ephemeral(room, frame):
    """Send frame (a dict) to every socket of room, not stored, no seq."""
    _publish(envelope.room_channel(room), envelope.Ephemeral(protocol.encode(frame)))


def publish_stored(room, seq, text):
    """Publish a stored event (its seq and its encoded frame) to room's sockets on every
    server process: what the hub publishes for a message typed on a socket."""
    _publish(envelope.room_channel(room), envelope.RoomEvent(seq, text))


def close_sockets(target, room=None, code=protocol.CloseCode.NOT_MEMBER):
    """Close target's sockets now; False when Redis did not answer.

    Without Redis no socket stays open anyway: every server closes its sockets with 4012
    when Redis is lost, and each reconnect passes the access check again."""
    try:
        publish_close(target, code, room)
    except (RedisError, OSError) as exc:
        log.warning("event=close_publish_failed user=%s room=%s error=%r", target, room or "*", exc)
        return False
    return True


def close_sockets_after_commit(target, room=None, code=protocol.CloseCode.NOT_MEMBER):
    """Once the current transaction commits, close target's sockets (to room, or all) on
    every server process. Runs at once outside a transaction."""
    transaction.on_commit(partial(close_sockets, target, room, code))
