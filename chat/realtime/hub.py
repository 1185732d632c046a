"""Room fan-out: one Redis subscription per room and process, delivery in seq order.

A stored event is published once per room (encoded once, chat.envelope); every server
process that has members in the room receives it once and hands the same text to each
local connection. A process delivers a room's events strictly in seq order: the rules are
chat.realtime.sequencer's; the hub does the I/O they ask for (waiting GAP_WAIT for a
missing seq, then reading it from the database, the durable record).

The hub owns every task it starts (kept in a set, cancelled and awaited by aclose()),
and one aclose() serves both the loss of Redis and graceful shutdown.
"""

import asyncio
import collections
import json
import logging
import weakref

from redis.exceptions import RedisError

from redis_core import get_manager
from redis_core.health import LOST, RESTARTED

from .. import envelope, metrics, protocol, readstate, services
from . import presence
from .db import database_call
from .sequencer import Sequencer
from .transport import websocket_frame

__all__ = ["Hub", "get_hub", "current_hub", "presence_frame"]

log = logging.getLogger("chat.realtime.hub")


class RoomFeed:
    """One room's subscription in this process: its members and its sequencer."""

    def __init__(self, name, room_id):
        self.name = name
        self.room_id = room_id  # None for a room nobody created yet
        self.channel = envelope.room_channel(name)
        self.members = set()
        # Inbox sockets following the room (chat.realtime.inbox): told of its counts, not
        # sent its events; their counts are read for all of them at once (Hub._recount).
        self.inboxes = set()
        self.recount = None  # the task reading those counts
        self.recount_again = False
        self.sequencer = Sequencer()
        self.draining = False
        # (seq, text) handed out by the sequencer and not yet fanned out (Hub._deliver)
        self.due = collections.deque()
        self.gap_task = None
        self.subscribed = asyncio.get_running_loop().create_future()
        self.opened = None  # task that subscribes and starts the sequencer
        self.stage = "queued"  # how far opening got (named in a join timeout's log line)


class Hub:
    """The fan-out of one event loop (a daphne process has one)."""

    GAP_WAIT = 0.05
    REPAIR_READS = 5
    JOIN_TIMEOUT = 5.0
    PRESENCE_COALESCE = 0.2
    # A big room's presence waits longer (0.2 s more per 500 local members, at most 2 s):
    # each announcement is one frame to every member, so a storm of connects into a room of
    # thousands would otherwise cost every member a frame every 0.2 s.
    PRESENCE_COALESCE_PER_MEMBER = 0.0004
    PRESENCE_COALESCE_MAX = 2.0
    REPUBLISH_DELAYS = (0.5, 1.0, 2.0)  # a failed publish, tried again (then the DB serves)
    RECOUNT_COALESCE = 0.05  # events of a room within this are counted for its inboxes once

    def __init__(self, manager):
        self.manager = manager
        self.rooms = {}
        self.pubsub = None
        # redis-py's PubSub is not safe for concurrent use while it connects: each subscribe
        # that finds it unconnected takes a connection of its own, and only the last is read
        # (a room subscribed on another one is confirmed, then never hears a message). Every
        # subscribe and unsubscribe goes through this lock.
        self._subscribing = asyncio.Lock()
        # user name -> the sockets told of that user's notices (envelope.Read, Follow,
        # Unfollow): their room sockets and inboxes.
        self.watchers = {}
        self.reader = None
        self.refresher = None
        self.tasks = set()
        self._presence_due = set()
        self.health = manager.health()
        self.health.add_listener(self._on_health)
        self.health.start()

    # tasks -----------------------------------------------------------------------------

    def spawn(self, awaitable):
        """Run awaitable as a task the hub keeps until it ends (aclose() cancels it)."""
        task = asyncio.ensure_future(awaitable)
        self.tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task):
        self.tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("event=hub_task_failed error=%r", task.exception())

    # membership ----------------------------------------------------------------------

    async def join(self, member, name, room_id, inbox=False):
        """Add member to room name (an inbox: to be told its counts); returns once the
        room's subscription is live."""
        feed = self.rooms.get(name)
        if feed is None:
            feed = self.rooms[name] = RoomFeed(name, room_id)
            feed.opened = self.spawn(self._open(feed))
        (feed.inboxes if inbox else feed.members).add(member)
        try:
            await asyncio.wait_for(asyncio.shield(feed.opened), self.JOIN_TIMEOUT)
        except BaseException as exc:
            if isinstance(exc, TimeoutError):
                log.warning("event=hub_join_timeout room=%s stage=%s", name, feed.stage)
            self.leave(member, name)
            raise
        if self.refresher is None or self.refresher.done():
            self.refresher = self.spawn(self._refresh_forever())

    def leave(self, member, name):
        feed = self.rooms.get(name)
        if feed is None:
            return
        feed.members.discard(member)
        feed.inboxes.discard(member)
        if not feed.members and not feed.inboxes:
            del self.rooms[name]
            self._stop_feed(feed)
            if self.pubsub is not None:  # also a subscribe sent but not yet confirmed
                self.spawn(self._unsubscribe(feed.channel))

    def members(self):
        """Every socket of the hub: room members, inboxes, watchers (each once)."""
        found = {m: None for feed in list(self.rooms.values()) for m in list(feed.members)}
        found.update((m, None) for feed in list(self.rooms.values()) for m in feed.inboxes)
        found.update((m, None) for group in list(self.watchers.values()) for m in group)
        return list(found)

    def watch(self, member):
        """member (a room socket, an inbox) is told of its user's notices from now on."""
        self.watchers.setdefault(member.username, set()).add(member)

    def unwatch(self, member):
        group = self.watchers.get(member.username)
        if group is not None:
            group.discard(member)
            if not group:
                del self.watchers[member.username]

    async def watch_inbox(self, member):
        """watch() for an inbox, which may follow no room: returns once the control channel
        is subscribed, so no notice published after it is missed."""
        self.watch(member)
        await self._subscribe()

    async def _open(self, feed):
        feed.stage = "subscribing"
        await self._subscribe(feed.channel)
        feed.stage = "awaiting the subscription"
        await feed.subscribed
        feed.stage = "reading the latest seq"
        latest = await database_call(services.latest_seq)(feed.room_id)
        feed.stage = "delivering"
        await self._deliver(feed, feed.sequencer.start(latest))
        feed.stage = "open"

    async def _subscribe(self, *channels):
        """Subscribe the control channel (once) and channels, under the lock; the reader
        runs from then on."""
        async with self._subscribing:
            if self.pubsub is None:
                self.pubsub = self.manager.pubsub()
            pubsub = self.pubsub
            if envelope.CONTROL_CHANNEL.encode() not in pubsub.channels:
                await pubsub.subscribe(envelope.CONTROL_CHANNEL)
            if channels:
                await pubsub.subscribe(*channels)
        if self.reader is None or self.reader.done():
            self.reader = self.spawn(self._read(pubsub))

    async def _unsubscribe(self, channel):
        async with self._subscribing:
            if envelope.room_of(channel) in self.rooms or self.pubsub is None:
                return  # somebody joined again meanwhile; or the hub closed
            try:
                await self.pubsub.unsubscribe(channel)
            except (RedisError, OSError) as exc:
                self.health.report_failure(exc)

    # publishing ----------------------------------------------------------------------

    async def publish_message(self, room, seq, text):
        """Publish a stored event (encoded once) to every process with members in room.

        When the publish fails (the caller still gets the error), this process's members
        get the event from the database at once, and the publish is tried again in the
        background for the other processes, whose hubs drop a seq they delivered; without
        it, a stored and acknowledged event would wait for the room's next one to be seen."""
        data = envelope.encode(envelope.RoomEvent(seq, text))
        try:
            await self._publish(room, data, "publish")
        except (RedisError, OSError):
            feed = self.rooms.get(room)
            if feed is not None and feed.sequencer.started:
                self._schedule_repair(feed, wait=0)
            self.spawn(self._publish_again(room, data))
            raise

    async def _publish(self, room, data, command):
        async with metrics.redis_command(command):
            await self.manager.async_client().publish(envelope.room_channel(room), data)

    async def _publish_again(self, room, data):
        for delay in self.REPUBLISH_DELAYS:
            await asyncio.sleep(delay)
            try:
                await self._publish(room, data, "publish")
                return
            except (RedisError, OSError) as exc:
                self.health.report_failure(exc)

    async def publish_presence(self, room, change):
        """Publish who is in room now (a chat.presence change) to every process."""
        frame = protocol.presence(change.users, change.anonymous)
        value = envelope.Presence(tuple(frame["users"]), frame["anonymous"], protocol.encode(frame))
        await self._publish(room, envelope.encode(value), "publish_event")

    async def notify_user(self, notice):
        """Publish a user notice (envelope.Read, Follow, Unfollow) to every process. What
        it tells is stored already: a failure is logged, not raised (the user's inbox reads
        it at its next connect)."""
        try:
            async with metrics.redis_command("publish_event"):
                await self.manager.async_client().publish(
                    envelope.CONTROL_CHANNEL, envelope.encode(notice)
                )
        except (RedisError, OSError) as exc:
            self.health.report_failure(exc)
            log.warning("event=user_notice_failed notice=%r error=%r", notice, exc)

    async def publish_event(self, room, text, exclude_user="", exclude_connection=""):
        """Publish an ephemeral event (typing, a notice): no seq, not stored."""
        data = envelope.encode(envelope.Ephemeral(text, exclude_user, exclude_connection))
        await self._publish(room, data, "publish_event")

    # receiving -----------------------------------------------------------------------

    async def _read(self, pubsub):
        backoff = 0.1
        while self.pubsub is pubsub and (self.rooms or self.watchers):
            try:
                message = await pubsub.get_message(timeout=1.0)
                backoff = 0.1
            except Exception as exc:  # a broken connection, or anything else: the rooms
                # of this process depend on this loop, so it never ends while they exist
                log.warning("event=hub_read_error error=%r", exc)
                if isinstance(exc, (RedisError, OSError)):
                    self.health.report_failure(exc)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 1.0)
                pubsub = await self._resubscribe(pubsub)
                continue
            if message is not None:
                try:
                    await self._handle(message)
                except Exception:  # one bad message must not stop the room's delivery
                    log.exception("event=hub_message_failed")

    async def _resubscribe(self, broken):
        """A fresh subscription to every room (the old connection broke); each room then
        catches up from the database, so what was published meanwhile is not lost."""
        async with self._subscribing:  # no room opens on the broken one meanwhile
            fresh = self.manager.pubsub()
            channels = [feed.channel for feed in self.rooms.values()]
            try:
                await fresh.subscribe(envelope.CONTROL_CHANNEL, *channels)
            except (RedisError, OSError) as exc:
                self.health.report_failure(exc)
                self.spawn(_quietly(fresh.aclose()))
                return broken
            if self.pubsub is not broken:  # Redis was declared lost meanwhile
                self.spawn(_quietly(fresh.aclose()))
                return broken
            self.pubsub = fresh
        self.spawn(_quietly(broken.aclose()))
        log.info("event=hub_resubscribed rooms=%s", len(self.rooms))
        return fresh

    async def _handle(self, message):
        channel = message["channel"].decode()
        if channel == envelope.CONTROL_CHANNEL:
            if message["type"] == "message":
                self._on_control(message["data"])
            return
        feed = self.rooms.get(envelope.room_of(channel) or "")
        if feed is None:
            return
        if message["type"] == "subscribe":
            if not feed.subscribed.done():
                feed.subscribed.set_result(True)
            elif feed.sequencer.started:  # re-subscribed after a reconnect: catch up
                self._schedule_repair(feed, wait=0)
            return
        if message["type"] != "message":
            return
        try:
            event = envelope.decode_room(message["data"])
        except envelope.EnvelopeError as exc:
            log.warning("event=hub_bad_room_message room=%s error=%s", feed.name, exc)
            return
        if isinstance(event, envelope.RoomEvent):
            await self._deliver(feed, feed.sequencer.offer(event.seq, event.text))
            if feed.sequencer.gap:
                self._schedule_repair(feed, wait=self.GAP_WAIT)
        elif isinstance(event, envelope.Presence):
            await self._on_presence(feed, event)
        else:
            await self._on_ephemeral(feed, event)

    def _on_control(self, data):
        try:
            command = envelope.decode_control(data)
        except envelope.EnvelopeError:
            log.warning("event=hub_bad_control command=%r", bytes(data[:200]))
            return
        if isinstance(command, envelope.Close):
            room = command.room
            if room:  # the room's sockets (an inbox follows on with an unfollow)
                members = list(self.rooms[room].members) if room in self.rooms else []
            else:
                members = self.members()
            for member in members:
                if _targets(command.target, member):
                    self.spawn(member.kick(command.code))
        elif isinstance(command, (envelope.Read, envelope.Follow, envelope.Unfollow)):
            for member in list(self.watchers.get(command.user, ())):
                self.spawn(member.deliver_notice(command))
        elif isinstance(command, envelope.Recheck):
            for member in self.members():
                # A member kind that cannot re-check a session is left alone.
                if member.username == command.target and hasattr(member, "recheck_session"):
                    self.spawn(member.recheck_session())

    async def _on_presence(self, feed, event):
        ws_frame = websocket_frame(event.text)  # framed once, like a stored event
        for member in list(feed.members):
            try:
                await member.deliver_presence(event.value, event.text, ws_frame)
            except Exception:
                log.exception("event=hub_event_delivery_failed")

    async def _on_ephemeral(self, feed, event):
        ws_frame = websocket_frame(event.text)
        for member in list(feed.members):
            if event.exclude_user and member.username == event.exclude_user:
                continue
            if event.exclude_connection and member.connection_id == event.exclude_connection:
                continue
            try:
                await member.deliver_event(event.text, ws_frame)
            except Exception:
                log.exception("event=hub_event_delivery_failed")

    # ordering ------------------------------------------------------------------------

    async def _deliver(self, feed, due):
        """Hand each due event to every member, in seq order. One drain runs per room at a
        time: what becomes due while it awaits a member (an event from Redis, a repair's
        rows) is queued for it, never dropped (the sequencer's cursor has moved past it)."""
        feed.due.extend(due)
        if feed.draining:
            return
        feed.draining = True
        try:
            while feed.due:
                seq, text = feed.due.popleft()
                await self._fan_out(feed, seq, text)
                if not feed.due:
                    feed.due.extend(feed.sequencer.drain())
        finally:
            feed.draining = False

    async def _fan_out(self, feed, seq, text):
        metrics.fanout_delivered.inc(len(feed.members))
        ws_frame = websocket_frame(text)  # framed once for every member of this process
        for member in list(feed.members):
            try:
                await member.deliver(seq, text, ws_frame)
            except Exception as exc:
                metrics.fanout_dropped.inc()
                log.warning("event=fanout_drop room=%s seq=%s error=%r", feed.name, seq, exc)
        if feed.inboxes:
            await self._tell_inboxes(feed, seq, text)

    # inboxes -------------------------------------------------------------------------

    async def _tell_inboxes(self, feed, seq, text):
        """An event of a room that inboxes here follow: a mention frame to each local inbox
        of a user the message mentions (parsed once), and their counts read again."""
        self.schedule_recount(feed)
        event = json.loads(text)
        names = event.get("mentions") if event.get("type") == "message" else None
        if not names:
            return
        mention = None
        for name in names:
            if name == event.get("user"):
                continue
            for member in list(self.watchers.get(name, ())):
                if member in feed.inboxes:
                    if mention is None:
                        mention = protocol.encode(
                            protocol.mention(feed.name, seq, event["user"], event.get("text", ""))
                        )
                    await _quietly(member.deliver_event(mention))

    def schedule_recount(self, feed):
        """Read the counts of feed's inboxes again, soon (coalesced: one read for a burst)."""
        if feed.recount is not None and not feed.recount.done():
            feed.recount_again = True
            return
        feed.recount = self.spawn(self._recount(feed))

    async def _recount(self, feed):
        while True:
            feed.recount_again = False
            await asyncio.sleep(self.RECOUNT_COALESCE)
            if self.rooms.get(feed.name) is not feed or not feed.inboxes:
                return
            if feed.room_id is None:
                feed.room_id = await database_call(services.room_id_named)(feed.name)
                if feed.room_id is None:
                    return
            members = list(feed.inboxes)
            try:
                found = await database_call(readstate.counts_for)(
                    feed.room_id, {m.user.pk for m in members}
                )
            except Exception as exc:  # the database is away: the next event counts again
                log.warning("event=inbox_recount_failed room=%s error=%r", feed.name, exc)
                return
            for member in members:
                counts = found.get(member.user.pk)
                if counts is not None:
                    await _quietly(member.deliver_counts(feed.name, counts))
            if not feed.recount_again:
                return

    def _schedule_repair(self, feed, wait):
        if feed.gap_task is None or feed.gap_task.done():
            feed.gap_task = self.spawn(self._repair(feed, wait))

    async def _repair(self, feed, wait):
        """Fill the gap before the earliest pending event (or catch up) from the database."""
        await asyncio.sleep(wait)
        sequencer = feed.sequencer
        for attempt in range(self.REPAIR_READS):
            if self.rooms.get(feed.name) is not feed or not sequencer.started:
                return
            if feed.room_id is None:  # opened before the room existed: it may exist now
                feed.room_id = await database_call(services.room_id_named)(feed.name)
            latest = None
            if not sequencer.pending:
                latest = await database_call(services.latest_seq)(feed.room_id)
            span = sequencer.to_read(latest)
            if span is None:
                break
            rows = await database_call(services.encoded_range)(feed.room_id, *span)
            recovered, due = sequencer.fill(rows)
            metrics.fanout_recovered.inc(recovered)
            await self._deliver(feed, due)
            if not sequencer.gap:
                break
            # Events arrived beyond what was read while it was being read: read again.
            await asyncio.sleep(self.GAP_WAIT * attempt)
        else:
            skipped, due = sequencer.skip()
            if skipped:
                metrics.fanout_skipped.inc(skipped)
                log.error(
                    "event=fanout_gap_skipped room=%s upto=%s count=%s",
                    feed.name, sequencer.cursor, skipped,
                )  # fmt: skip
            await self._deliver(feed, due)
        feed.gap_task = None

    # health and lifecycle -------------------------------------------------------------

    def _on_health(self, event):
        if event == LOST:
            members = self.members()
            log.warning("event=redis_lost_closing connections=%s", len(members))
            self.spawn(self.aclose(close_code=protocol.CloseCode.REDIS_LOST))
        elif event == RESTARTED:
            # Memberships and presence lived in the old Redis's memory: restore them.
            for feed in list(self.rooms.values()):
                if feed.sequencer.started:
                    self._schedule_repair(feed, wait=0)
            self.spawn(self.refresh_presence())

    def _stop_feed(self, feed):
        if feed.gap_task is not None:
            feed.gap_task.cancel()
        if feed.recount is not None:
            feed.recount.cancel()
        if feed.opened is not None and not feed.opened.done():
            feed.opened.cancel()

    async def aclose(self, close_code=None, timeout=2.0):
        """Stop the fan-out: close every member with close_code (if given), drop every
        room, cancel and await every task the hub started, close the subscription."""
        members = self.members()
        pubsub, self.pubsub = self.pubsub, None
        for feed in self.rooms.values():
            self._stop_feed(feed)
        self.rooms.clear()
        self.watchers.clear()
        self._presence_due.clear()
        current = asyncio.current_task()
        for task in list(self.tasks):  # the reader, the refresher, repairs, announcements
            if task is not current:
                task.cancel()
        self.reader = self.refresher = None
        if close_code is not None:
            for member in members:
                self.spawn(member.close_with(close_code))
        pending = [t for t in self.tasks if t is not current and not t.done()]
        if pending:
            await asyncio.wait(pending, timeout=timeout)
        if pubsub is not None:
            await _quietly(asyncio.wait_for(pubsub.aclose(), timeout))

    # presence ------------------------------------------------------------------------

    async def _refresh_forever(self):
        while self.rooms:
            await asyncio.sleep(presence.REFRESH_SECONDS)
            await self.refresh_presence()

    def presence_changed(self, room):
        """Presence of room changed here: tell the room once, presence_wait() s later.

        Coalescing keeps a storm of connects from costing one broadcast per connect
        (quadratic in the room's size); the room sees the latest set once it settles."""
        if room in self._presence_due:
            return
        self._presence_due.add(room)
        self.spawn(self._announce_presence(room))

    def presence_wait(self, room):
        """How long a change of room's presence waits for more before it is announced."""
        feed = self.rooms.get(room)
        members = len(feed.members) if feed is not None else 0
        wait = self.PRESENCE_COALESCE + members * self.PRESENCE_COALESCE_PER_MEMBER
        return min(wait, self.PRESENCE_COALESCE_MAX)

    async def _announce_presence(self, room):
        await asyncio.sleep(self.presence_wait(room))
        self._presence_due.discard(room)
        try:
            change = await presence.update(room, "sweep")
            await self.publish_presence(room, change)
        except (RedisError, OSError) as exc:
            self.health.report_failure(exc)

    async def refresh_presence(self):
        """Renew this process's entries, sweep expired ones, tell rooms that changed."""
        for feed in list(self.rooms.values()):
            entries = [m.presence_entry for m in list(feed.members) if m.presence_entry]
            try:
                change = await presence.update(feed.name, "add", entries)
                if change.changed:
                    await self.publish_presence(feed.name, change)
            except (RedisError, OSError) as exc:
                self.health.report_failure(exc)
                return


def _targets(target, member):
    return (
        target == envelope.EVERYONE or member.username == target or member.session_target == target
    )


def presence_frame(change):
    return protocol.encode(protocol.presence(change.users, change.anonymous))


async def _quietly(awaitable):
    try:
        await awaitable
    except Exception:
        pass


_hubs = weakref.WeakKeyDictionary()


def get_hub():
    """The hub of the running event loop (created on first use)."""
    loop = asyncio.get_running_loop()
    hub = _hubs.get(loop)
    if hub is None or hub.manager is not get_manager():
        hub = _hubs[loop] = Hub(get_manager())
    return hub


def current_hub():
    """The hub of the running loop, or None when this loop never served a room (finding
    it creates nothing: no hub, no Redis probe)."""
    return _hubs.get(asyncio.get_running_loop())
