"""ChatConsumer: frames in, a service call, frames out. The room's fan-out is the hub's.

One socket in one room. Its state is small and owned here: the delivery cursor
(chat.realtime.cursor), the frame budget and refusal window (chat.limits), the socket
under daphne (chat.realtime.transport.Wire). Commands are dispatched by their type, the
same name the parser's table gives them (`command_<type>`).
"""

import logging

from django.core.exceptions import ObjectDoesNotExist
from django.db import DatabaseError
from redis.exceptions import RedisError

from redis_core import get_manager

from .. import envelope, metrics, profiles, protocol, readstate, services, store
from ..limits import frames
from ..limits import messages as ratelimit
from ..protocol import CloseCode
from . import presence
from .cursor import Cursor
from .db import database_call
from .hub import get_hub, presence_frame
from .socket import SocketConsumer
from .throttle import ABUSE_WINDOW
from .writer import get_writer

log = logging.getLogger("chat.realtime.consumer")

UNAVAILABLE_RETRY = 1.0  # seconds a client waits after `unavailable` before sending again


class ChatConsumer(SocketConsumer):
    """One WebSocket in one room."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.room = None  # the Room model (pk None: a room nobody created yet)
        self.message_rate = False  # the user's (N, S) or None, looked up on the first message
        self.presence_entry = None
        self.last_presence = None  # the presence (users, anonymous) this socket shows
        self.cursor = Cursor()

    # connect / disconnect ---------------------------------------------------------

    async def connect(self):
        await self._accept()
        name = self.scope["url_route"]["kwargs"].get("room", "")
        if not protocol.valid_room(name):
            return await self.close_with(CloseCode.BAD_ROOM)
        await self._admit_then(lambda: self._enter(name))

    async def _enter(self, name):
        room = await database_call(services.open_room)(name, self.user)
        self.room = room
        if self.user.is_authenticated:
            self._identify()
        self.hub = get_hub()
        await self.hub.join(self, room.name, room.pk)
        if self.username:  # told when the user's read position moves (any device)
            self.hub.watch(self)
        if not await self._token_still_valid():
            raise services.LoginRequired(room.name)
        if room.is_private:
            # A membership removed between the check above and the join would have sent its
            # close before this socket could hear it: check again now that it can.
            await database_call(services.check_access_now)(room.pk, self.user)
        self.presence_entry = presence.member(self.connection_id, self.username)
        change = await presence.update(room.name, "add", [self.presence_entry])
        await self._hello()
        self.last_presence = change.value
        await self.send_text(presence_frame(change))
        await self._release_held()
        if change.changed:
            self.hub.presence_changed(room.name)
        log.info("event=ws_open room=%s user_id=%s", room.name, self.user.pk or "-")

    async def _hello(self):
        since = protocol.parse_since(self.scope.get("query_string", b""))
        limit = protocol.RESUME_MAX
        shared = frames.read_budget(self.address) if since is not None else None
        if shared is not None and shared.take(frames.pages(limit)):
            # This address reads too much: a shorter first page (complete: false), the
            # client resumes for the rest, within the budget.
            limit = protocol.HELLO_HISTORY
        user_id = self.user.pk if self.username else None
        page, read, followed_now = await database_call(_hello_page)(
            self.room, since, limit, user_id
        )
        self.cursor.sent(page.latest)
        history, trimmed = protocol.fit(page.messages, "oldest" if since is not None else "newest")
        complete = page.complete and not trimmed
        hello = protocol.hello(
            self.room.name, self.username or None, page.latest, history, complete, read
        )
        await self.send_json(hello)
        if followed_now:  # the user's inboxes add the room
            await self.hub.notify_user(envelope.Follow(self.username, self.room.name))

    async def _release(self):
        """Leave the room: the hub, the watchers, presence."""
        if self.room is None:
            return
        room, self.room = self.room, None
        if self.hub is not None:
            self.hub.leave(self, room.name)
            self.hub.unwatch(self)
        if self.presence_entry is None:
            return
        try:
            change = await presence.update(room.name, "rem", [self.presence_entry])
            if change.changed:
                self.hub.presence_changed(room.name)
        except Exception as exc:  # teardown must finish, and the entry expires anyway
            # Redis gone, or redis-py's pool torn down under thousands of closing sockets at
            # a shutdown ('NoneType' object has no attribute 'writelines', a KeyError in the
            # pool's release): the entry expires by itself either way.
            log.info("event=presence_leave_failed room=%s error=%r", room.name, exc)

    @property
    def log_name(self):
        return self.room.name if self.room is not None else "-"

    # hub callbacks ------------------------------------------------------------------

    async def deliver(self, seq, text, ws_frame=None):
        """A room event, in seq order, from the hub (ws_frame: its WebSocket frame, built
        once per process)."""
        if self.closing or self.cursor.live(seq, text) is None:
            return
        await self.send_framed(text, ws_frame)

    async def deliver_event(self, text, ws_frame=None):
        """An ephemeral event (typing, a moderator's notice), not held, not replayed."""
        if not self.cursor.holding and not self.closing:
            await self.send_framed(text, ws_frame)

    async def deliver_presence(self, value, text, ws_frame=None):
        """The room's presence (value: (users, anonymous)); sent only when it differs from
        what this socket shows."""
        if self.cursor.holding or self.closing or value == self.last_presence:
            return
        self.last_presence = value
        await self.send_framed(text, ws_frame)

    async def deliver_notice(self, notice):
        """A notice about this socket's user (envelope.Read), from the hub's control channel:
        their read position moved in some room, by any of their connections."""
        if isinstance(notice, envelope.Read) and not self.closing:
            await self.send_json(protocol.read_moved(notice.room, notice.seq))

    # frames from the client ---------------------------------------------------------

    async def websocket_receive(self, message):
        if self.room is None or self.closing:
            return
        text = await self._text_of(message)
        if text is None:
            return
        try:
            if not await self.spend(None):
                return
            command = protocol.parse_frame(text)
            extra = frames.cost_of(command.kind) - 1
            if extra > 0 and not (
                await self.spend(command.kind, extra) and await self._read(command)
            ):
                return
            await getattr(self, "command_" + command.kind)(command)
        except protocol.ProtocolError as exc:
            await self.send_error(exc.code, exc.detail)
        except services.RoomLimitReached as exc:
            await self.refuse(exc.retry_after, ABUSE_WINDOW, str(exc))
        except (RedisError, OSError) as exc:
            # Within the loss grace (a failover): refused, nothing stored, the client
            # retries; once the grace is over the hub closes every socket with 4012.
            get_manager().health().report_failure(exc)
            await self.send_error(
                "unavailable", "The server cannot take this right now; try again shortly.",
                retry_after=UNAVAILABLE_RETRY,
            )  # fmt: skip
        except ObjectDoesNotExist:  # the room was deleted meanwhile
            await self.close_with(CloseCode.BAD_ROOM)
        except DatabaseError as exc:
            log.warning("event=frame_db_error error=%r", exc)
            await self.close_with(CloseCode.TRY_LATER)

    async def command_message(self, command):
        metrics.messages_received.inc()
        await self._store_event(
            "post messages",
            lambda: store.Post(
                self.user.pk, self.username, command.text, command.client_id, command.reply_to
            ),
        )

    async def command_edit(self, command):
        await self._store_event("edit messages", lambda: self._change(command, text=command.text))

    async def command_delete(self, command):
        await self._store_event("delete messages", lambda: self._change(command))

    async def command_react(self, command):
        await self._store_event(
            "react", lambda: self._change(command, emoji=command.emoji, on=command.on)
        )

    def _change(self, command, **fields):
        return store.Change(
            command.kind, self.user.pk, self.username, command.target, command.client_id,
            moderator=bool(self.user.is_staff), **fields,
        )  # fmt: skip

    async def _store_event(self, what, make):
        """Store one event of the room's log (a message, an edit, a deletion, a reaction
        change) through the room's writer, ack it, and publish it once to the room."""
        if not self.username:
            raise protocol.ProtocolError("auth_required", f"Log in to {what}.")
        item = make()
        about_a_message = not isinstance(item, store.Post) or item.reply_to is not None
        if self.room.pk is None and about_a_message:  # opened before it existed
            self.room.pk = await database_call(services.room_id_named)(self.room.name)
            if self.room.pk is None:  # still nobody's: no message to be about
                raise protocol.ProtocolError("not_found", "This room holds no messages yet.")
        token = None
        if self.message_rate is False:  # staff may mark a bot rate-exempt (chat.profiles)
            self.message_rate = await database_call(profiles.message_rate)(self.user)
        rate = self.message_rate
        if rate is not None:
            token, wait = await ratelimit.reserve(self.user.pk, rate)
            if token is None:
                # The rules' errors come first in the order of checks (read without the lock).
                if about_a_message:
                    refusal = await database_call(store.check)(self.room.pk, item)
                    if refusal is not None:
                        raise protocol.ProtocolError(*refusal)
                metrics.rate_limited.inc()
                return await self.refuse(wait, rate[1])
        if self.room.pk is None:  # opened before it existed: posting creates it
            room = await database_call(services.create_room)(self.room.name, self.user)
            self.room.pk = room.pk
        result = await get_writer().post(self.room.pk, item)
        if result.error is not None:
            if token is not None:
                await ratelimit.release(self.user.pk, token)
            raise protocol.ProtocolError(*result.error)
        await self.send_json(protocol.ack(item.client_id, result.seq))
        if result.created_now:
            if isinstance(item, store.Post):
                metrics.messages_stored.inc()
            if self.budget:  # a stored event is the message rate's to count, not ours
                self.budget.refund(1.0)
        elif token is not None:  # a retry of a stored event takes no rate slot
            await ratelimit.release(self.user.pk, token)
        if result.seq is None:
            return  # a reaction that changed nothing
        # A retried event is published again: the attempt that stored it may have been cut
        # before its publish (its process stopped). Hubs and sockets drop a seq they delivered.
        try:
            await self.hub.publish_message(
                self.room.name, result.seq, protocol.encode(result.frame)
            )
        except (RedisError, OSError) as exc:
            # Stored and acked: every process's hub reads it back from the database when
            # its subscription is back (failover) or on the next seq gap.
            metrics.publish_failed.inc()
            get_manager().health().report_failure(exc)

    async def command_history(self, command):
        if not await self._wait_drained():
            return  # not one byte more for a client that does not read
        page = await database_call(services.messages_before)(
            self.room, command.before, command.limit
        )
        messages, trimmed = protocol.fit(page.messages, "newest")
        await self.send_json(protocol.history(messages, page.complete and not trimmed))

    async def command_resume(self, command):
        self.cursor.hold()
        try:
            if not await self._wait_drained():
                return
            page = await database_call(services.events_after)(
                self.room, command.since, protocol.RESUME_MAX
            )
            for message in page.messages:
                # Encoded one at a time and sent only while the client keeps up.
                if not await self._wait_drained():
                    return
                if not await self.send_text(protocol.encode(message)):
                    return
                metrics.resumed_messages.inc()
                self.cursor.sent(message["seq"])
            if page.complete:
                self.cursor.sent(page.latest)
            await self.send_json(protocol.resumed(page.latest, page.complete))
        finally:
            await self._release_held()

    async def command_typing(self, command):
        if not self.username:
            raise protocol.ProtocolError("auth_required", "Log in to send typing notices.")
        if await ratelimit.typing_allowed(self.room.name, self.user.pk):
            text = protocol.encode({"type": "typing", "user": self.username})
            await self.hub.publish_event(self.room.name, text, exclude_user=self.username)

    async def command_read(self, command):
        if not self.username:
            raise protocol.ProtocolError("auth_required", "Log in to keep a read position.")
        if self.room.pk is None:
            return  # nothing stored here yet: nothing to have read
        moved = await database_call(readstate.move)(self.user.pk, self.room.pk, command.seq)
        if moved is not None:
            await self.hub.notify_user(envelope.Read(self.username, self.room.name, moved))

    async def command_ping(self, command):
        await self.send_json({"type": "pong"})


def _hello_page(room, since, limit, user_id):
    """(the page hello holds, the user's read position or None for anonymous, True when
    the user follows the room from now on): one trip to the database thread."""
    read, followed_now = None, False
    if user_id is not None:
        read, followed_now = readstate.enter(user_id, room.pk) if room.pk else (0, False)
    if since is None:
        return services.latest_messages(room, protocol.HELLO_HISTORY), read, followed_now
    return services.events_after(room, since, limit), read, followed_now
