"""SocketConsumer: what every WebSocket of the chat shares (a room's, the inbox's).

The ASGI loop without a channel-layer channel, the accept and its gauge, who the user is
and the target that names their session in control messages, the connection rate and the
caps, the close, and one teardown on whichever exit path comes first. A kind of socket
adds what it holds (`_release`) and what it answers.
"""

import asyncio
import logging
import time
import uuid

from channels.consumer import get_handler_name
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncWebsocketConsumer
from django.db import DatabaseError
from redis.exceptions import RedisError

from redis_core import get_manager

from .. import metrics, protocol, services, token_auth
from ..broadcast import session_target, token_target
from ..limits import caps
from ..limits import connections as connlimit
from ..protocol import CloseCode
from ..sessions import session_still_valid
from .db import database_call
from .outgoing import BoundedSender
from .throttle import Throttled
from .tokenauth import SCOPE_TOKEN
from .transport import SCOPE_KEY, Wire

__all__ = ["SocketConsumer"]

log = logging.getLogger("chat.realtime.consumer")

READY_TIMEOUT = 3.0
# What a refusal of access at connect closes with.
ACCESS_CLOSE = {
    services.LoginRequired: CloseCode.ANONYMOUS,
    services.NotMember: CloseCode.NOT_MEMBER,
    services.RoomGone: CloseCode.BAD_ROOM,
}


class SocketConsumer(Throttled, BoundedSender, AsyncWebsocketConsumer):
    """One WebSocket of the chat, whatever it serves."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.hub = None
        self.username = ""
        self.session_target = None  # names its session (or API token) in control messages
        self.connection_id = uuid.uuid4().hex[:16]
        self.closing = False
        self.torn_down = False
        self.counted = False  # in the chat_connections_open gauge
        self.wire = None
        self.close_code = None  # the code we closed with, when we closed
        self.opened_at = time.monotonic()
        self.budget = None  # the frame budget, made on the first frame
        self.refusals = None  # RefusalWindow, made on the first refusal
        self.cap_ticket = None  # what chat.limits.caps counted for this socket
        self.address = None  # the client address's bucket (connlimit.ip_bucket)

    # ASGI plumbing ------------------------------------------------------------------

    async def __call__(self, scope, receive, send):
        # Room traffic arrives through the hub (one subscription per room and process),
        # so a socket needs no channel-layer channel of its own: no per-socket receive
        # loop on Redis, less memory, and no Redis error there that could become a 1011.
        self.scope = scope
        self.channel_layer = None
        self.channel_name = None
        self.base_send = send
        try:
            # One source of events, so no await_many_dispatch: it keeps a task per source
            # alive for the whole connection, memory that every idle socket pays.
            while True:
                await self.dispatch(await receive())
        except StopConsumer:
            pass
        except Exception:
            log.exception("event=consumer_failed room=%s", self.log_name)
            await asyncio.shield(self._teardown(1011))  # daphne answers the raise with 1011
            raise
        finally:
            # Whatever ended the connection (a close, a cancellation, a bug), the socket
            # leaves the hub, presence, the caps and the gauge: nothing it held survives.
            await asyncio.shield(self._teardown(1006))

    async def dispatch(self, message):
        # channels closes "old" database connections before every event (and again at
        # disconnect); with CONN_MAX_AGE = 0 that is a new connection per frame. The
        # real-time side keeps its one connection instead (chat.realtime.db).
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def websocket_disconnect(self, message):
        await self.disconnect(message["code"])
        raise StopConsumer()

    @property
    def user(self):
        return self.scope["user"]

    # connect / disconnect ---------------------------------------------------------

    async def _accept(self):
        socket_protocol = self.scope.get(SCOPE_KEY)
        self.wire = Wire(socket_protocol) if socket_protocol is not None else None
        await self.accept()
        metrics.connections_opened.inc()
        metrics.connections_open.inc()
        self.counted = True

    def _identify(self):
        """The user name, and the target that names this socket's session (or API token)
        in control messages, of a logged-in connection."""
        self.username = self.user.get_username()
        session_key = getattr(self.scope.get("session"), "session_key", None)
        if session_key:
            self.session_target = session_target(session_key)
        if self.scope.get(SCOPE_TOKEN):
            self.session_target = token_target(self.scope[SCOPE_TOKEN])

    async def _token_still_valid(self):
        """A revocation between the token check and the hub's join sent its close before
        this socket could hear it: check again now that it can (True without a token)."""
        token = self.scope.get(SCOPE_TOKEN)
        return not token or await database_call(token_auth.token_exists)(token)

    async def _admit_then(self, enter):
        """Once Redis answers and the limits let this connection in, await enter(); each
        failure closes with the contract's code (never 1011)."""
        if not await get_manager().wait_ready(READY_TIMEOUT):
            log.info("event=connect_refused reason=redis_not_ready user_id=%s", self.user.pk or "-")
            return await self.close_with(CloseCode.TRY_LATER)
        try:
            if await self._admit():
                await enter()
        except services.AccessDenied as exc:
            await self.close_with(ACCESS_CLOSE[type(exc)])
        except (TimeoutError, RedisError, OSError) as exc:
            get_manager().health().report_failure(exc)
            await self.close_with(CloseCode.REDIS_LOST)
        except DatabaseError as exc:
            log.warning("event=connect_db_error error=%r", exc)
            await self.close_with(CloseCode.TRY_LATER)

    async def _admit(self):
        """Pass the connection rate and the caps (4013 when over one); True when admitted."""
        ip = connlimit.client_ip(self.scope)
        allowed, wait = await connlimit.allow_connection(self.user.pk, ip)
        if not allowed:  # too many new connections from this address or user
            log.info(
                "event=connect_refused reason=connection_rate ip=%s user_id=%s wait_s=%s",
                ip, self.user.pk or "-", wait,
            )  # fmt: skip
            await self.close_with(CloseCode.TRY_LATER)
            return False
        self.address = connlimit.ip_bucket(ip) if ip else None
        self.cap_ticket = await caps.get_caps().admit(self.user.pk, self.address)
        if self.cap_ticket is None:  # too many open sockets from this address or user
            log.info("event=connection_cap_reached ip=%s user_id=%s", ip, self.user.pk or "-")
            await self.close_with(CloseCode.TRY_LATER)
            return False
        return True

    async def disconnect(self, code):
        await self._teardown(code)

    async def _teardown(self, code):
        """Release everything the socket holds, once, on whichever exit path comes first."""
        if self.torn_down:
            return
        self.torn_down = True
        self.closing = True
        by = "server" if self.close_code else "client"
        code = self.close_code or code
        if self.counted:
            self.counted = False
            metrics.connections_open.dec()
            metrics.connections_closed.labels(code=str(code), by=by).inc()
        log.info(
            "event=ws_close room=%s user_id=%s code=%s duration_s=%.1f",
            self.log_name, self.user.pk or "-", code, time.monotonic() - self.opened_at,
        )  # fmt: skip
        ticket, self.cap_ticket = self.cap_ticket, None
        if ticket:
            await caps.get_caps().release(ticket)
        await self._release()

    async def _release(self):
        """What the kind of socket holds beyond the caps (the hub, presence)."""

    @property
    def log_name(self):
        """What the socket's log lines name it by."""
        return "-"

    async def close_with(self, code):
        if not self.closing:
            self.closing = True
            self.close_code = code
            await self.close(code=int(code))

    async def _text_of(self, message):
        """The text of a client frame, or None when there is none to act on: a binary frame
        is refused (bad_json; over MAX_FRAME_BYTES, 4009), a text over it closes with 4009."""
        text = message.get("text")
        if text is None:
            if len(message.get("bytes") or b"") > protocol.MAX_FRAME_BYTES:
                await self.close_with(CloseCode.TOO_BIG)
            elif await self.spend("binary"):
                await self.send_error("bad_json", "Binary frames are not accepted; send JSON text.")
            return None
        if protocol.frame_too_large(text):
            await self.close_with(CloseCode.TOO_BIG)
            return None
        return text

    # control -------------------------------------------------------------------------

    def kick(self, code):
        """Close this socket (membership removed, logged out), from the hub's control channel."""
        return self.close_with(code)

    async def recheck_session(self):
        """Close with 4001 when this socket's session no longer logs its user in (their
        password changed), from the hub's control channel; the reconnect logs in again."""
        session_key = getattr(self.scope.get("session"), "session_key", None)
        if self.closing or not self.user.is_authenticated or not session_key:
            return  # only a session can go stale; a socket without one was let in otherwise
        try:
            valid = await database_call(session_still_valid)(session_key, self.user.pk)
        except Exception as exc:  # the database is away: reconnecting checks it anyway
            log.warning("event=session_recheck_failed error=%r", exc)
            valid = False
        if not valid:
            log.info(
                "event=session_no_longer_valid room=%s user_id=%s", self.log_name, self.user.pk
            )
            await self.close_with(CloseCode.GOING_AWAY)
