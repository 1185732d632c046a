"""Room fan-out: one Redis subscription per room and process, delivery in seq order.

A stored message is published once per room (encoded once); every server process that
has members in the room receives it once and hands the same text to each local
connection. A process delivers a room's messages strictly in seq order: a message that
arrives ahead of a missing one waits GAP_WAIT seconds for it, then the missing ones are
read from the database (the durable record), so nothing acked is skipped or reordered.
"""

import asyncio
import hashlib
import logging
import weakref

from channels.db import database_sync_to_async
from redis.exceptions import RedisError

from redis_core import get_manager
from redis_core.health import LOST, RESTARTED

from . import metrics, presence, protocol, services
from .transport import encode_frame

__all__ = ["Hub", "get_hub"]

log = logging.getLogger("chat.hub")

CHANNEL_PREFIX = "chat:room:"
# One process-wide channel for control: "close <target> <code> [<room>]" closes sockets (in
# one room, or everywhere): target is a user name, "session:<digest>" (one browser session,
# at logout) or "*" (every socket of the room). "recheck <user name>" has each socket of
# that user check its session again (chat.sessions), after a password change.
CONTROL_CHANNEL = "chat:control"
# Catching up further than this after a restart is left to the clients' own resume.
MAX_CATCH_UP = 1000


class RoomFeed:
    """One room's subscription in this process: its members and delivery cursor."""

    def __init__(self, name, room_id):
        self.name = name
        self.room_id = room_id
        self.channel = CHANNEL_PREFIX + name
        self.members = set()
        self.cursor = None  # last seq delivered; None until the subscription is confirmed
        self.pending = {}  # seq -> encoded text (None: hidden, skip) waiting for its turn
        self.draining = False
        self.gap_task = None
        self.subscribed = asyncio.get_running_loop().create_future()
        self.opened = None  # task that subscribes and sets the cursor


class Hub:
    """The fan-out of one event loop (a daphne process has one)."""

    GAP_WAIT = 0.05
    REPAIR_READS = 5
    JOIN_TIMEOUT = 5.0
    PRESENCE_COALESCE = 0.2

    def __init__(self, manager):
        self.manager = manager
        self.rooms = {}
        self.pubsub = None
        self.reader = None
        self.refresher = None
        self._presence_due = set()
        self.health = manager.health()
        self.health.add_listener(self._on_health)
        self.health.start()

    # membership ----------------------------------------------------------------------

    async def join(self, member, name, room_id):
        """Add member to room name; returns once the room's subscription is live."""
        feed = self.rooms.get(name)
        if feed is None:
            feed = self.rooms[name] = RoomFeed(name, room_id)
            feed.opened = asyncio.ensure_future(self._open(feed))
        feed.members.add(member)
        try:
            await asyncio.wait_for(asyncio.shield(feed.opened), self.JOIN_TIMEOUT)
        except BaseException:
            self.leave(member, name)
            raise
        self._ensure_refresher()

    def leave(self, member, name):
        feed = self.rooms.get(name)
        if feed is None:
            return
        feed.members.discard(member)
        if not feed.members:
            del self.rooms[name]
            if feed.gap_task:
                feed.gap_task.cancel()
            if not feed.opened.done():
                feed.opened.cancel()
            if self.pubsub is not None and feed.subscribed.done():
                asyncio.ensure_future(self._unsubscribe(self.pubsub, feed.channel))

    def members(self):
        return [m for feed in list(self.rooms.values()) for m in list(feed.members)]

    async def _open(self, feed):
        if self.pubsub is None:
            self.pubsub = self.manager.pubsub()
        pubsub = self.pubsub
        if CONTROL_CHANNEL.encode() not in pubsub.channels:
            await pubsub.subscribe(CONTROL_CHANNEL)
        await pubsub.subscribe(feed.channel)
        if self.reader is None or self.reader.done():
            self.reader = asyncio.ensure_future(self._read(pubsub))
        await feed.subscribed
        # Everything stored up to now is in the database; members read it from there.
        feed.cursor = await database_sync_to_async(services.latest_seq)(feed.room_id)
        for seq in [s for s in feed.pending if s <= feed.cursor]:
            del feed.pending[seq]
        await self._drain(feed)

    async def _unsubscribe(self, pubsub, channel):
        if channel in self.rooms:  # somebody joined again meanwhile
            return
        try:
            await pubsub.unsubscribe(channel)
        except (RedisError, OSError) as exc:
            self.health.report_failure(exc)

    # publishing ----------------------------------------------------------------------

    async def publish_message(self, room, seq, text):
        """Publish a stored message (encoded once) to every process with members in room."""
        async with metrics.redis_command("publish"):
            await self.manager.async_client().publish(CHANNEL_PREFIX + room, f"m {seq}\n{text}")

    async def publish_event(self, room, text, exclude_user="", exclude_connection=""):
        """Publish an ephemeral event (typing, presence): no seq, not stored."""
        header = f"e {exclude_user}\t{exclude_connection}"
        async with metrics.redis_command("publish_event"):
            await self.manager.async_client().publish(CHANNEL_PREFIX + room, f"{header}\n{text}")

    # receiving -----------------------------------------------------------------------

    async def _read(self, pubsub):
        backoff = 0.1
        while self.pubsub is pubsub and self.rooms:
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
        fresh = self.manager.pubsub()
        try:
            await fresh.subscribe(CONTROL_CHANNEL, *[feed.channel for feed in self.rooms.values()])
        except (RedisError, OSError) as exc:
            self.health.report_failure(exc)
            asyncio.ensure_future(_quietly(fresh.aclose()))
            return broken
        if self.pubsub is not broken:  # Redis was declared lost meanwhile
            asyncio.ensure_future(_quietly(fresh.aclose()))
            return broken
        self.pubsub = fresh
        asyncio.ensure_future(_quietly(broken.aclose()))
        log.info("event=hub_resubscribed rooms=%s", len(self.rooms))
        return fresh

    async def _handle(self, message):
        channel = message["channel"].decode()
        if channel == CONTROL_CHANNEL:
            if message["type"] == "message":
                self._on_control(message["data"].decode())
            return
        feed = self.rooms.get(channel[len(CHANNEL_PREFIX) :])
        if feed is None:
            return
        if message["type"] == "subscribe":
            if not feed.subscribed.done():
                feed.subscribed.set_result(True)
            elif feed.cursor is not None:  # re-subscribed after a reconnect: catch up
                self._schedule_repair(feed, wait=0)
            return
        if message["type"] != "message":
            return
        header, _, body = message["data"].partition(b"\n")
        if header.startswith(b"m "):
            await self._on_message(feed, int(header[2:]), body.decode())
        elif header.startswith(b"e "):
            user, _, connection = header[2:].decode().partition("\t")
            await self._on_event(feed, body.decode(), user, connection)

    async def _on_message(self, feed, seq, text):
        if feed.cursor is not None and seq <= feed.cursor:
            return  # already delivered (a repair read it from the database first)
        feed.pending[seq] = text
        if feed.cursor is not None:
            await self._drain(feed)

    def _on_control(self, command):
        parts = command.split()
        if len(parts) == 2 and parts[0] == "recheck":
            for feed in list(self.rooms.values()):
                for member in list(feed.members):
                    recheck = getattr(member, "recheck_session", None)  # sockets with a session
                    if member.username == parts[1] and recheck is not None:
                        asyncio.ensure_future(recheck())
            return
        if len(parts) not in (3, 4) or parts[0] != "close" or not parts[2].isdigit():
            log.warning("event=hub_bad_control command=%r", command[:200])
            return
        user, code, room = parts[1], int(parts[2]), parts[3] if len(parts) == 4 else None
        feeds = [self.rooms[room]] if room in self.rooms else [] if room else self.rooms.values()
        for feed in list(feeds):
            for member in list(feed.members):
                if user == "*" or member.username == user or member.session_target == user:
                    member.kick(code)

    async def _on_event(self, feed, text, exclude_user, exclude_connection):
        for member in list(feed.members):
            if exclude_user and member.username == exclude_user:
                continue
            if exclude_connection and member.connection_id == exclude_connection:
                continue
            try:
                await member.deliver_event(text)
            except Exception:
                log.exception("event=hub_event_delivery_failed")

    # ordering ------------------------------------------------------------------------

    async def _drain(self, feed):
        """Deliver consecutive pending messages; schedule a repair when one is missing."""
        if feed.draining:
            return  # the running drain picks the new message up
        feed.draining = True
        try:
            while feed.cursor + 1 in feed.pending:
                seq = feed.cursor + 1
                text = feed.pending.pop(seq)
                feed.cursor = seq
                if text is not None:
                    await self._fan_out(feed, seq, text)
        finally:
            feed.draining = False
        if feed.pending:
            self._schedule_repair(feed, wait=self.GAP_WAIT)

    async def _fan_out(self, feed, seq, text):
        metrics.fanout_delivered.inc(len(feed.members))
        frame = encode_frame(text)  # framed once for every member of this process
        for member in list(feed.members):
            try:
                await member.deliver(seq, text, frame)
            except Exception as exc:
                metrics.fanout_dropped.inc()
                log.warning("event=fanout_drop room=%s seq=%s error=%r", feed.name, seq, exc)

    def _schedule_repair(self, feed, wait):
        if feed.gap_task is None or feed.gap_task.done():
            feed.gap_task = asyncio.ensure_future(self._repair(feed, wait))

    async def _repair(self, feed, wait):
        """Fill the gap before the earliest pending message (or catch up) from the database."""
        await asyncio.sleep(wait)
        for attempt in range(self.REPAIR_READS):
            if self.rooms.get(feed.name) is not feed or feed.cursor is None:
                return
            if feed.room_id is None:  # opened before the room existed: it may exist now
                feed.room_id = await database_sync_to_async(services.room_id_named)(feed.name)
            if feed.pending and min(feed.pending) == feed.cursor + 1:
                break
            upto = max(feed.pending) if feed.pending else None
            if upto is None:
                upto = await database_sync_to_async(services.latest_seq)(feed.room_id)
            upto = min(upto, feed.cursor + MAX_CATCH_UP)
            rows = await database_sync_to_async(services.encoded_range)(
                feed.room_id, feed.cursor, upto
            )
            for seq, text in rows:
                if seq > feed.cursor and seq not in feed.pending:
                    feed.pending[seq] = text
                    metrics.fanout_recovered.inc()
            if not feed.pending or feed.cursor + 1 in feed.pending:
                break
            # Messages arrived beyond what was read while it was being read: read again.
            await asyncio.sleep(self.GAP_WAIT * attempt)
        else:
            # Not in the database after REPAIR_READS reads (cannot happen while seq is
            # assigned under lock): skip ahead rather than stall the room; clients resume.
            skipped = min(feed.pending) - 1 - feed.cursor
            metrics.fanout_skipped.inc(skipped)
            log.error(
                "event=fanout_gap_skipped room=%s from=%s count=%s", feed.name, feed.cursor, skipped
            )
            feed.cursor = min(feed.pending) - 1
        feed.gap_task = None
        await self._drain(feed)

    # health --------------------------------------------------------------------------

    def _on_health(self, event):
        if event == LOST:
            self._lose_everything()
        elif event == RESTARTED:
            # Memberships and presence lived in the old Redis's memory: restore them.
            for feed in list(self.rooms.values()):
                if feed.cursor is not None:
                    self._schedule_repair(feed, wait=0)
            asyncio.ensure_future(self.refresh_presence())

    def _lose_everything(self):
        members = self.members()
        log.warning("event=redis_lost_closing connections=%s", len(members))
        pubsub, self.pubsub = self.pubsub, None
        for feed in self.rooms.values():
            if feed.gap_task:
                feed.gap_task.cancel()
            if not feed.opened.done():
                feed.opened.cancel()
        self.rooms.clear()
        if self.reader:
            self.reader.cancel()
            self.reader = None
        if pubsub is not None:
            asyncio.ensure_future(_quietly(pubsub.aclose()))
        for member in members:
            member.redis_lost()

    # presence ------------------------------------------------------------------------

    def _ensure_refresher(self):
        if self.refresher is None or self.refresher.done():
            self.refresher = asyncio.ensure_future(self._refresh_forever())

    async def _refresh_forever(self):
        while self.rooms:
            await asyncio.sleep(presence.REFRESH_SECONDS)
            await self.refresh_presence()

    def presence_changed(self, room):
        """Presence of room changed here: tell the room once, PRESENCE_COALESCE s later.

        Coalescing keeps a storm of connects from costing one broadcast per connect
        (quadratic in the room's size); the room sees the latest set once it settles."""
        if room in self._presence_due:
            return
        self._presence_due.add(room)
        asyncio.get_running_loop().call_later(
            self.PRESENCE_COALESCE, lambda: asyncio.ensure_future(self._announce_presence(room))
        )

    async def _announce_presence(self, room):
        self._presence_due.discard(room)
        try:
            change = await presence.update(room, "sweep")
            await self.publish_event(room, presence_frame(change))
        except (RedisError, OSError) as exc:
            self.health.report_failure(exc)

    async def refresh_presence(self):
        """Renew this process's entries, sweep expired ones, tell rooms that changed."""
        for feed in list(self.rooms.values()):
            entries = [m.presence_entry for m in list(feed.members) if m.presence_entry]
            try:
                change = await presence.update(feed.name, "add", entries)
                if change.changed:
                    await self.publish_event(feed.name, presence_frame(change))
            except (RedisError, OSError) as exc:
                self.health.report_failure(exc)
                return


def session_target(session_key):
    """The control target naming one browser session's sockets ("session:<digest>"): the
    key itself never travels through Redis. User names cannot hold ':', so no clash."""
    return "session:" + hashlib.sha256(session_key.encode()).hexdigest()[:32]


def publish_close(username, code, room=None):
    """Close username's sockets (in room, or all) on every server process (sync callers)."""
    command = f"close {username} {int(code)}" + (f" {room}" if room else "")
    get_manager().client().publish(CONTROL_CHANNEL, command)


def publish_recheck(username):
    """Have username's sockets check their sessions again, on every server process."""
    get_manager().client().publish(CONTROL_CHANNEL, f"recheck {username}")


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
