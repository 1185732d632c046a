"""InboxConsumer: `/ws/inbox/`, a logged-in user's followed rooms and their counts, live.

On connect it joins the hub for every room the user follows, as an inbox (the hub tells
it the room's counts, not its events), then sends the `inbox` frame. From then on:

- the hub reads the counts of all local inboxes of a room once per burst of events
  (Hub.schedule_recount) and hands each its own; a Counts taken at an older state than the
  one shown is dropped (readstate.Counts.newer_than), so counts never go back in time;
- a message mentioning the user comes as a `mention` frame (the hub parses it once);
- the user's notices (envelope.Read, Follow, Unfollow), from any process, move the read
  position, add a room or drop one.

Whatever arrives before the `inbox` frame is sent waits and is applied after it. The
socket's sending, limits and lifecycle are every socket's (chat.realtime.socket); it never
joins a room as a member.
"""

import asyncio
import logging

from .. import envelope, protocol, readstate
from ..protocol import CloseCode
from .db import database_call
from .hub import get_hub
from .socket import SocketConsumer
from .transport import websocket_frame

__all__ = ["InboxConsumer"]

log = logging.getLogger("chat.realtime.inbox")


class InboxConsumer(SocketConsumer):
    """One inbox socket of a logged-in user."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.rooms = {}  # name -> [room id, Counts shown]
        self.joined = set()  # rooms joined in the hub (all left at teardown, even mid-open)
        self.ready = False
        self.waiting = []  # what arrived before the inbox frame: (callable, args)

    async def connect(self):
        await self._accept()
        if not self.user.is_authenticated:
            return await self.close_with(CloseCode.ANONYMOUS)
        await self._admit_then(self._open)

    async def _open(self):
        self._identify()
        self.hub = get_hub()
        await self.hub.watch_inbox(self)  # no notice published from now on is missed
        followed = await database_call(readstate.followed_names)(self.user.pk)
        await self._join(followed)
        if not await self._token_still_valid():
            return await self.close_with(CloseCode.ANONYMOUS)
        rooms = await database_call(readstate.inbox)(self.user.pk)
        # Followed or dropped between the two reads: the second one is what holds.
        await self._join({r.name: r.room_id for r in rooms if r.name not in followed})
        shown = {r.name for r in rooms}
        for name in set(followed) - shown:
            self.hub.leave(self, name)
            self.joined.discard(name)
        self.rooms = {r.name: [r.room_id, r.counts] for r in rooms}
        entries = [protocol.inbox_entry(r.name, r.private, r.title, r.counts) for r in rooms]
        await self.send_json(protocol.inbox(entries))
        log.info("event=inbox_open user_id=%s rooms=%s", self.user.pk, len(rooms))
        self.ready = True
        waiting, self.waiting = self.waiting, []
        for handler, args in waiting:
            await handler(*args)

    async def _join(self, rooms):
        """Join the hub for each of rooms ({name: id}) as an inbox, together."""
        self.joined.update(rooms)
        if rooms:
            await asyncio.gather(
                *(self.hub.join(self, name, room_id, inbox=True) for name, room_id in rooms.items())
            )

    async def _release(self):
        """Leave every room joined (also those of an open cut short) and the watchers."""
        if self.hub is not None:
            for name in self.joined | set(self.rooms):
                self.hub.leave(self, name)
            self.rooms, self.joined = {}, set()
            self.hub.unwatch(self)

    @property
    def log_name(self):
        return "inbox"

    # what the hub hands over --------------------------------------------------------

    async def deliver_counts(self, room, counts):
        """The counts of a followed room, read by the hub at some state of the room."""
        if not self.ready:
            return self.waiting.append((self.deliver_counts, (room, counts)))
        entry = self.rooms.get(room)
        if entry is None or self.closing or not counts.newer_than(entry[1]):
            return
        shown, entry[1] = entry[1], counts
        if (shown.unread, shown.mentions) != (counts.unread, counts.mentions):
            # Framed here and written on the fast path: the hub hands counts to every
            # inbox of the room at once, each its own frame.
            text = protocol.encode(protocol.unread(room, counts))
            await self.send_framed(text, websocket_frame(text))

    async def deliver_event(self, text, ws_frame=None):
        """A `mention` frame for this user, encoded once by the hub."""
        if not self.ready:
            return self.waiting.append((self.deliver_event, (text,)))
        if not self.closing:
            await self.send_framed(text, ws_frame)

    async def deliver_notice(self, notice):
        """A notice about this user, from any process: read, follow, unfollow."""
        if not self.ready:
            return self.waiting.append((self.deliver_notice, (notice,)))
        if self.closing:
            return
        if isinstance(notice, envelope.Read):
            if notice.room in self.rooms:
                await self.send_json(protocol.read_moved(notice.room, notice.seq))
                await self._count(notice.room)
        elif isinstance(notice, envelope.Follow):
            await self._follow(notice.room)
        elif isinstance(notice, envelope.Unfollow) and notice.room in self.rooms:
            del self.rooms[notice.room]
            self.joined.discard(notice.room)
            self.hub.leave(self, notice.room)
            await self.send_json(protocol.unfollow(notice.room))

    async def _count(self, room):
        entry = self.rooms.get(room)
        if entry is None:
            return
        found = await database_call(readstate.counts_for)(entry[0], {self.user.pk})
        if self.user.pk in found:
            await self.deliver_counts(room, found[self.user.pk])

    async def _follow(self, name):
        if name in self.rooms:
            return await self._count(name)
        room = await database_call(readstate.followed_room)(self.user.pk, name)
        if room is None or self.closing:  # dropped again meanwhile
            return
        self.joined.add(name)
        await self.hub.join(self, name, room.room_id, inbox=True)
        # Counted again now that the room's events reach this socket: none is missed.
        found = await database_call(readstate.counts_for)(room.room_id, {self.user.pk})
        if self.user.pk not in found or self.closing:
            self.hub.leave(self, name)
            self.joined.discard(name)
            return
        counts = found[self.user.pk]
        self.rooms[name] = [room.room_id, counts]
        frame = protocol.unread(name, counts, private=room.private, title=room.title)
        await self.send_json(frame)

    # frames from the client -----------------------------------------------------------

    async def websocket_receive(self, message):
        if not self.ready or self.closing:
            return
        text = await self._text_of(message)
        if text is None:
            return
        if not await self.spend(None):
            return
        try:
            command = protocol.parse_frame(text)
        except protocol.ProtocolError as exc:
            return await self.send_error(exc.code, exc.detail)
        if command.kind == "ping":
            await self.send_json({"type": "pong"})
        else:
            await self.send_error("bad_type", "The inbox socket takes only 'ping'.")
