"""ChatConsumer: frames in, a service call, frames out. The room's fan-out is the hub's."""

import asyncio
import logging
import time
import uuid
from collections import deque

from channels.db import database_sync_to_async
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist
from django.db import DatabaseError
from redis.exceptions import RedisError

from redis_core import get_manager

from . import connlimit, metrics, presence, protocol, ratelimit, services
from .hub import get_hub, presence_frame, session_target
from .transport import SCOPE_KEY, Wire

log = logging.getLogger("chat.consumers")

CLOSE_TOO_BIG = 4009
CLOSE_REDIS_LOST = 4012
CLOSE_NOT_READY = 4013
CLOSE_BAD_ROOM = 4404
CLOSE_ABUSE = 4429
READY_TIMEOUT = 3.0
ABUSE_REFUSALS = 5
# A reader this far behind (bytes written but not yet taken by its socket) is closed with
# 4013 and resumes by seq when it comes back, rather than holding the server's memory.
MAX_OUTGOING_BYTES = 1 << 20


class ChatConsumer(AsyncWebsocketConsumer):
    """One WebSocket in one room."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.room = None
        self.hub = None
        self.username = ""
        self.session_target = None  # names this socket's browser session in control messages
        self.connection_id = uuid.uuid4().hex[:16]
        self.presence_entry = None
        self.last_presence = None
        self.cursor = 0
        self.held = []  # live messages held back until hello (or a resume) is sent
        self.refusals = None  # times of recent rate-limit refusals, made on the first
        self.closing = False
        self.wire = None
        self.close_code = None  # the code we closed with, when we closed
        self.opened_at = time.monotonic()

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

    # connect / disconnect ---------------------------------------------------------

    @property
    def user(self):
        return self.scope["user"]

    async def connect(self):
        socket_protocol = self.scope.get(SCOPE_KEY)
        self.wire = Wire(socket_protocol) if socket_protocol is not None else None
        await self.accept()
        metrics.connections_opened.inc()
        metrics.connections_open.inc()
        name = self.scope["url_route"]["kwargs"].get("room", "")
        if not protocol.valid_room(name):
            return await self.close_with(CLOSE_BAD_ROOM)
        if not await get_manager().wait_ready(READY_TIMEOUT):
            return await self.close_with(CLOSE_NOT_READY)
        try:
            allowed, _ = await connlimit.allow_connection(
                self.user.pk, connlimit.client_ip(self.scope)
            )
            if not allowed:  # too many new connections from this address or user
                return await self.close_with(CLOSE_NOT_READY)
            await self._enter(name)
        except (TimeoutError, RedisError, OSError) as exc:
            get_manager().health().report_failure(exc)
            await self.close_with(CLOSE_REDIS_LOST)
        except DatabaseError as exc:
            log.warning("event=connect_db_error error=%r", exc)
            await self.close_with(CLOSE_NOT_READY)

    async def _enter(self, name):
        room, code = await database_sync_to_async(services.open_room)(name, self.user)
        if code is not None:
            return await self.close_with(code)
        self.room = room
        if self.user.is_authenticated:
            self.username = self.user.get_username()
            session_key = getattr(self.scope.get("session"), "session_key", None)
            if session_key:
                self.session_target = session_target(session_key)
        self.hub = get_hub()
        await self.hub.join(self, room.name, room.pk)
        if room.is_private:
            # A membership removed between the check above and the join would have sent its
            # close before this socket could hear it: check again now that it can.
            code = await database_sync_to_async(services.access_code_now)(room.pk, self.user)
            if code is not None:
                return await self.close_with(code)
        self.presence_entry = presence.member(self.connection_id, self.username)
        change = await presence.update(room.name, "add", [self.presence_entry])
        since = protocol.parse_since(self.scope.get("query_string", b""))
        page = await database_sync_to_async(self._hello_page)(room, since)
        self.cursor = page.latest
        history, trimmed = protocol.fit(page.messages, "oldest" if since is not None else "newest")
        hello = protocol.hello(
            room.name, self.username or None, page.latest, history, page.complete and not trimmed
        )
        await self.send_json(hello)
        self.last_presence = presence_frame(change)
        await self.send(text_data=self.last_presence)
        await self._release_held()
        if change.changed:
            self.hub.presence_changed(room.name)
        log.info("event=ws_open room=%s user_id=%s", room.name, self.user.pk or "-")

    @staticmethod
    def _hello_page(room, since):
        if since is None:
            return services.latest_messages(room, protocol.HELLO_HISTORY)
        return services.messages_after(room, since, protocol.RESUME_MAX)

    async def disconnect(self, code):
        metrics.connections_open.dec()
        metrics.connections_closed.labels(code=str(self.close_code or code)).inc()
        room_name = self.room.name if self.room is not None else "-"
        log.info(
            "event=ws_close room=%s user_id=%s code=%s duration_s=%.1f",
            room_name, self.user.pk or "-", self.close_code or code,
            time.monotonic() - self.opened_at,
        )  # fmt: skip
        if self.room is None:
            return
        room, self.room = self.room, None
        if self.hub is not None:
            self.hub.leave(self, room.name)
        if self.presence_entry is None:
            return
        try:
            change = await presence.update(room.name, "rem", [self.presence_entry])
            if change.changed:
                self.hub.presence_changed(room.name)
        except (RedisError, OSError):
            pass  # Redis is gone: the entry expires by itself

    async def close_with(self, code):
        if not self.closing:
            self.closing = True
            self.close_code = code
            await self.close(code=code)

    # hub callbacks ------------------------------------------------------------------

    async def deliver(self, seq, text, frame=None):
        """A room message, in seq order, from the hub (frame: the same, pre-framed)."""
        if self.held is not None:
            self.held.append((seq, text))
            return
        if seq <= self.cursor or self.closing:
            return
        self.cursor = seq
        wire = self.wire
        if wire is None or frame is None or not wire.write_frame(frame):
            await self._send_live(text)
        if wire is not None and wire.buffered() > MAX_OUTGOING_BYTES:
            log.warning("event=slow_reader_closed room=%s buffered=%s", self.room, wire.buffered())
            await self.close_with(CLOSE_NOT_READY)

    async def deliver_event(self, text):
        if self.held is not None or self.closing:
            return
        if text.startswith('{"type":"presence"'):
            if text == self.last_presence:
                return  # this socket already shows exactly this presence
            self.last_presence = text
        await self._send_live(text)

    async def _send_live(self, text):
        """Send a hub delivery; a socket the client is closing is not an error."""
        try:
            await self.send(text_data=text)
        except Exception as exc:  # autobahn's Disconnected, daphne's closed protocol
            self.closing = True
            log.info("event=send_on_closing_socket room=%s error=%r", self.room, exc)

    async def _release_held(self):
        held, self.held = self.held, None
        for seq, text in held or ():
            if seq > self.cursor:
                self.cursor = seq
                await self.send(text_data=text)

    def redis_lost(self):
        asyncio.ensure_future(self.close_with(CLOSE_REDIS_LOST))

    def kick(self, code):
        """Close this socket (membership removed, logged out), from the hub's control channel."""
        asyncio.ensure_future(self.close_with(code))

    async def recheck_session(self):
        """Close with 4001 when this socket's session no longer logs its user in (their
        password changed), from the hub's control channel; the reconnect logs in again."""
        from .sessions import CLOSE_RECONNECT, still_valid

        session_key = getattr(self.scope.get("session"), "session_key", None)
        if self.closing or not self.user.is_authenticated or not session_key:
            return  # only a session can go stale; a socket without one was let in otherwise
        try:
            valid = await still_valid(session_key, self.user.pk)
        except Exception as exc:  # the database is away: reconnecting checks it anyway
            log.warning("event=session_recheck_failed error=%r", exc)
            valid = False
        if not valid:
            log.info("event=session_no_longer_valid room=%s user_id=%s", self.room, self.user.pk)
            await self.close_with(CLOSE_RECONNECT)

    # frames from the client ---------------------------------------------------------

    async def websocket_receive(self, message):
        if self.room is None or self.closing:
            return
        text = message.get("text")
        if text is None:
            return await self.send_error(
                "bad_json", "Binary frames are not accepted; send JSON text."
            )
        if protocol.frame_too_large(text):
            return await self.close_with(CLOSE_TOO_BIG)
        try:
            command = protocol.parse_frame(text)
            await self.handle(command)
        except protocol.ProtocolError as exc:
            await self.send_error(exc.code, exc.detail)
        except (RedisError, OSError) as exc:
            get_manager().health().report_failure(exc)
            await self.close_with(CLOSE_REDIS_LOST)
        except ObjectDoesNotExist:  # the room was deleted meanwhile
            await self.close_with(CLOSE_BAD_ROOM)
        except DatabaseError as exc:
            log.warning("event=frame_db_error error=%r", exc)
            await self.close_with(CLOSE_NOT_READY)

    async def handle(self, command):
        if isinstance(command, protocol.Post):
            await self.post(command)
        elif isinstance(command, protocol.HistoryRequest):
            page = await database_sync_to_async(services.messages_before)(
                self.room, command.before, command.limit
            )
            messages, trimmed = protocol.fit(page.messages, "newest")
            await self.send_json(
                {"type": "history", "messages": messages, "complete": page.complete and not trimmed}
            )
        elif isinstance(command, protocol.Resume):
            await self.resume(command.since)
        elif isinstance(command, protocol.Typing):
            await self.typing()
        elif isinstance(command, protocol.Ping):
            await self.send_json({"type": "pong"})

    async def post(self, command):
        metrics.messages_received.inc()
        if not self.username:
            raise protocol.ProtocolError("auth_required", "Log in to post messages.")
        token = None
        rate = settings.CHAT_MESSAGE_RATE
        if rate is not None:
            token, wait = await ratelimit.reserve(self.user.pk, rate)
            if token is None:
                metrics.rate_limited.inc()
                return await self.refuse(wait, rate[1])
        frame, created = await database_sync_to_async(services.post_message)(
            self.room.pk, self.user, command.text, command.client_id
        )
        await self.send_json({"type": "ack", "client_id": frame["client_id"], "seq": frame["seq"]})
        if created:
            metrics.messages_stored.inc()
        else:
            if token is not None:
                await ratelimit.release(self.user.pk, token)
            return
        try:
            await self.hub.publish_message(self.room.name, frame["seq"], protocol.encode(frame))
        except (RedisError, OSError) as exc:
            # Stored and acked: members recover it by seq; Redis's loss closes us with 4012.
            metrics.publish_failed.inc()
            raise exc

    async def refuse(self, wait, window):
        now = time.monotonic()
        if self.refusals is None:
            self.refusals = deque()
        self.refusals.append(now)
        while self.refusals and self.refusals[0] < now - window:
            self.refusals.popleft()
        await self.send_error(
            "rate_limited", f"Too many messages; try again in {wait:g} s.", retry_after=wait
        )
        if len(self.refusals) >= ABUSE_REFUSALS:
            await self.close_with(CLOSE_ABUSE)

    async def resume(self, since):
        self.held = self.held if self.held is not None else []
        try:
            page = await database_sync_to_async(services.messages_after)(
                self.room, since, protocol.RESUME_MAX
            )
            for message in page.messages:
                await self.send(text_data=protocol.encode(message))
            metrics.resumed_messages.inc(len(page.messages))
            if page.messages:
                self.cursor = max(self.cursor, page.messages[-1]["seq"])
            if page.complete:
                self.cursor = max(self.cursor, page.latest)
            await self.send_json({"type": "resumed", "seq": page.latest, "complete": page.complete})
        finally:
            await self._release_held()

    async def typing(self):
        if not self.username:
            raise protocol.ProtocolError("auth_required", "Log in to send typing notices.")
        if await ratelimit.typing_allowed(self.room.name, self.user.pk):
            frame = protocol.encode({"type": "typing", "user": self.username})
            await self.hub.publish_event(self.room.name, frame, exclude_user=self.username)

    # helpers -------------------------------------------------------------------------

    async def send_json(self, frame):
        await self.send(text_data=protocol.encode(frame))

    async def send_error(self, code, detail, **extra):
        await self.send_json(protocol.error(code, detail, **extra))
