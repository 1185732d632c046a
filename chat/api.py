"""Post into rooms from server code: views, management commands, Celery tasks, the shell.

    from chat import api
    api.post_message("deploys", "release-bot", "v2.3 is live", client_id="deploy-2-3")
    await api.apost_message("support", request.user, "order shipped")   # async code

A message posted here takes the path of a message typed on a socket: the same validation
(chat.protocol), the same per-user message rate (chat.limits.messages, unless staff marked
the user rate-exempt), idempotency by client_id, storage with the room's next seq
(chat.services) and one publish on the room's channel (chat.broadcast), from which every
server process's hub hands it to its sockets in seq order. It needs no event loop of the
caller's own and no Redis client of its own: Redis is the manager's. Refusals are ApiError
subclasses carrying the WebSocket's error codes (docs/bots.md).
"""

import logging
from functools import partial
from typing import NamedTuple

from channels.db import database_sync_to_async
from django.contrib.auth import get_user_model
from django.core.exceptions import ObjectDoesNotExist
from django.db import DatabaseError, transaction
from redis.exceptions import RedisError

from . import broadcast, metrics, profiles, protocol, services
from .limits import messages as ratelimit

__all__ = [
    "ApiError", "InvalidMessage", "LoginRequired", "Forbidden", "RoomNotFound", "RateLimited",
    "Unavailable", "Posted", "post_message", "apost_message",
]  # fmt: skip

log = logging.getLogger("chat.api")


class ApiError(Exception):
    """A refused post: code is the WebSocket's error code, detail a sentence for people."""

    code = "bad_field"

    def __init__(self, detail, code=None, retry_after=None):
        super().__init__(detail)
        self.detail = detail
        self.code = code or self.code
        self.retry_after = retry_after


class InvalidMessage(ApiError):
    """The message is not valid (bad_json, bad_field, empty, too_long)."""


class LoginRequired(ApiError):
    """No active user to post as (auth_required)."""

    code = "auth_required"


class Forbidden(ApiError):
    """The room is private and the user is not a member (forbidden)."""

    code = "forbidden"


class RoomNotFound(ApiError):
    """The room name is invalid, or the room was deleted (not_found)."""

    code = "not_found"


class RateLimited(ApiError):
    """Over the user's message rate, or room-creation rate (rate_limited, retry_after)."""

    code = "rate_limited"


class Unavailable(ApiError):
    """Redis or the database did not answer; nothing was stored (unavailable, retry_after)."""

    code = "unavailable"


class Posted(NamedTuple):
    message: dict  # the message object, as sockets receive it
    created: bool  # False: a repeated client_id, this is the first message


RETRY_UNAVAILABLE = 1.0


def post_message(room, user, text, client_id=None, reply_to=None):
    """Post text in room (a name) as user (a User or a user name); Posted, or ApiError.

    A repeated client_id (same user and room) stores nothing and returns the first message
    with created False. Synchronous: from async code, await apost_message()."""
    command = _command(text, client_id, reply_to)
    user = _poster(user)
    try:
        found = _open(room, user)
        rate = profiles.message_rate(user)
    except DatabaseError as exc:
        raise Unavailable("The database did not answer.", retry_after=RETRY_UNAVAILABLE) from exc
    token = _reserve(user, rate)
    try:
        message, created = _store(found.pk, user, command.text, command.client_id)
    except ObjectDoesNotExist:
        _release(user, token)
        raise RoomNotFound(f"The room {room!r} was deleted.") from None
    except DatabaseError as exc:
        _release(user, token)
        raise Unavailable("The database did not answer.", retry_after=RETRY_UNAVAILABLE) from exc
    metrics.messages_received.inc()
    if created:
        metrics.messages_stored.inc()
    else:  # a retry of a stored message takes no rate slot
        _release(user, token)
    # Inside a caller's transaction.atomic() the message exists only once that commits:
    # published then, never before (a rollback must not leave sockets showing it). A retry
    # is published again: the attempt that stored it may have been cut before its publish
    # (its process stopped); hubs and sockets drop a seq they delivered.
    transaction.on_commit(partial(_publish, found.name, message))
    return Posted(message, created)


async def apost_message(room, user, text, client_id=None, reply_to=None):
    """post_message() for async code (the ORM work runs on Django's database thread)."""
    return await database_sync_to_async(post_message)(room, user, text, client_id, reply_to)


def _command(text, client_id, reply_to):
    frame = {"type": "message", "text": text, "client_id": client_id}
    if reply_to is not None:
        frame["reply_to"] = reply_to
    try:
        return protocol.parse_command(frame)
    except protocol.ProtocolError as exc:
        raise InvalidMessage(exc.detail, exc.code) from None


def _poster(user):
    """The active user to post as; a user name is looked up."""
    if isinstance(user, str):
        model = get_user_model()
        name, user = user, model._default_manager.filter(**{model.USERNAME_FIELD: user}).first()
        if user is None:
            raise LoginRequired(f"There is no user named {name!r}.")
    if user is None or not getattr(user, "is_authenticated", False):
        raise LoginRequired("Log in (or give an existing user) to post messages.")
    if not user.is_active:
        raise LoginRequired(f"The user {user.get_username()!r} is not active.")
    return user


def _open(name, user):
    """The stored room called name that user may post in; a public room comes into being
    on first use, as on the socket (within the room-creation limit)."""
    if not protocol.valid_room(name):
        raise RoomNotFound(
            "Not a room name: 1-64 of a-z, 0-9, '_' and '-', starting with a letter or digit."
        )
    try:
        room = services.create_room(name, user)
    except services.RoomLimitReached as exc:
        raise RateLimited(str(exc), retry_after=exc.retry_after) from None
    except (RedisError, OSError) as exc:
        raise Unavailable("Redis did not answer.", retry_after=RETRY_UNAVAILABLE) from exc
    try:
        services.check_access(room, user)
    except services.AccessDenied:
        raise Forbidden(f"{user.get_username()} is not a member of the room {name!r}.") from None
    return room


def _reserve(user, rate):
    """A rate-limit reservation for one message (None when no rate applies)."""
    if rate is None:
        return None
    try:
        token, wait = ratelimit.reserve_sync(user.pk, rate)
    except (RedisError, OSError) as exc:
        raise Unavailable("Redis did not answer.", retry_after=RETRY_UNAVAILABLE) from exc
    if token is None:
        metrics.rate_limited.inc()
        raise RateLimited(f"Too many messages; try again in {wait:g} s.", retry_after=wait)
    return token


def _release(user, token):
    """Give a reservation back (nothing was stored); Redis away loses only the refund."""
    if token is None:
        return
    try:
        ratelimit.release_sync(user.pk, token)
    except (RedisError, OSError) as exc:
        log.warning("event=rate_release_failed user_id=%s error=%r", user.pk, exc)


def _store(room_id, user, text, client_id):
    """The one call into storage: (message object, created), seq assigned with it."""
    return services.post_message(room_id, user, text, client_id)


def _publish(room, message):
    """Hand the stored message to the hubs. Stored is acknowledged: when the publish fails,
    sockets recover the message by seq (a later event's gap, or their reconnect)."""
    try:
        broadcast.publish_stored(room, message["seq"], protocol.encode(message))
    except (RedisError, OSError) as exc:
        metrics.publish_failed.inc()
        log.warning("event=api_publish_failed room=%s seq=%s error=%r", room, message["seq"], exc)
