"""chat.realtime.hub against the real Redis and database: fan-out once per process, in
seq order, gaps repaired from the database or skipped, control envelopes, one aclose()."""

import asyncio

import pytest
from asgiref.sync import sync_to_async
from redis.exceptions import RedisError

from chat import envelope, metrics, protocol, services
from chat.realtime.hub import Hub
from chat.realtime.presence import PresenceChange
from redis_core import get_manager
from tests.conftest import wait_until

pytestmark = pytest.mark.django_db(transaction=True)


class Member:
    """What the hub sees of a socket: it records what it is handed."""

    def __init__(self, username="", session_target=None):
        self.username = username
        self.session_target = session_target
        self.connection_id = f"c-{id(self)}"
        self.presence_entry = None
        self.seqs, self.events, self.presences, self.closed, self.rechecks = [], [], [], [], 0

    async def deliver(self, seq, text, ws_frame=None):
        self.seqs.append(seq)

    async def deliver_event(self, text, ws_frame=None):
        self.events.append(text)

    async def deliver_presence(self, value, text, ws_frame=None):
        self.presences.append(value)

    async def kick(self, code):
        self.closed.append(code)

    async def close_with(self, code):
        self.closed.append(code)

    async def recheck_session(self):
        self.rechecks += 1


@pytest.fixture
async def hubs():
    made = []

    def make():
        hub = Hub(get_manager())
        hub.GAP_WAIT = 0.01
        made.append(hub)
        return hub

    yield make
    for hub in made:
        await hub.aclose()


@pytest.fixture
def room(make_user):
    user = make_user("writer")
    room = services.get_or_create_room("hubroom")
    return room, user


def store(room, user, count):
    return [services.post_message(room.pk, user, f"m{i}", None)[0] for i in range(count)]


async def publish(hub, message):
    await hub.publish_message("hubroom", message["seq"], protocol.encode(message))


async def test_two_processes__each_member_gets_each_event_once_in_order(hubs, room):
    (a, b), (room_model, user) = (hubs(), hubs()), room
    members = [Member(), Member(), Member()]
    await a.join(members[0], "hubroom", room_model.pk)
    await a.join(members[1], "hubroom", room_model.pk)
    await b.join(members[2], "hubroom", room_model.pk)
    for message in await sync_to_async(store)(room_model, user, 3):
        await publish(a, message)
    assert await wait_until(lambda: all(m.seqs == [1, 2, 3] for m in members))


async def test_gap__missing_events_read_from_the_database_in_order(hubs, room):
    hub, (room_model, user) = hubs(), room
    member = Member()
    await hub.join(member, "hubroom", room_model.pk)
    stored = await sync_to_async(store)(room_model, user, 3)
    before = metrics.fanout_recovered._value.get()
    await publish(hub, stored[2])  # 1 and 2 were never published
    assert await wait_until(lambda: member.seqs == [1, 2, 3])
    assert metrics.fanout_recovered._value.get() - before == 2


async def test_gap_not_in_the_database__skipped_after_repeated_reads(hubs, room):
    hub, (room_model, _user) = hubs(), room
    member = Member()
    await hub.join(member, "hubroom", room_model.pk)
    before = metrics.fanout_skipped._value.get()
    text = protocol.encode({"type": "message", "seq": 3})
    await hub.publish_message("hubroom", 3, text)  # seqs 1 and 2 exist nowhere
    assert await wait_until(lambda: member.seqs == [3], timeout=5)
    assert metrics.fanout_skipped._value.get() - before == 2


async def test_control__close_and_recheck_reach_the_targets_only(hubs, room):
    hub, (room_model, _user) = hubs(), room
    alice, bob, tab = Member("alice"), Member("bob"), Member("carol", "session:abc")
    for member in (alice, bob, tab):
        await hub.join(member, "hubroom", room_model.pk)
    client = get_manager().async_client()
    for message in (
        envelope.Close("alice", 4403, "hubroom"),
        envelope.Close("session:abc", 4401),
        envelope.Recheck("bob"),
    ):
        await client.publish(envelope.CONTROL_CHANNEL, envelope.encode(message))
    assert await wait_until(lambda: alice.closed and tab.closed and bob.rechecks)
    assert (alice.closed, tab.closed, bob.closed, alice.rechecks) == ([4403], [4401], [], 0)


async def test_ephemeral__exclusions_and_presence_as_a_value(hubs, room):
    hub, (room_model, _user) = hubs(), room
    alice, bob = Member("alice"), Member("bob")
    await hub.join(alice, "hubroom", room_model.pk)
    await hub.join(bob, "hubroom", room_model.pk)
    await hub.publish_event("hubroom", '{"type":"typing","user":"alice"}', exclude_user="alice")
    await hub.publish_presence("hubroom", PresenceChange([b"1", b"2", b"bob", b"alice"]))
    assert await wait_until(lambda: bob.events and bob.presences and alice.presences)
    assert alice.events == [] and bob.events == ['{"type":"typing","user":"alice"}']
    assert bob.presences == alice.presences == [(("alice", "bob"), 2)]


async def test_aclose__closes_members_and_ends_every_task(hubs, room):
    hub, (room_model, _user) = hubs(), room
    members = [Member(), Member()]
    for member in members:
        await hub.join(member, "hubroom", room_model.pk)
    assert hub.tasks  # the reader and the presence refresher at least
    await hub.aclose(close_code=protocol.CloseCode.REDIS_LOST)
    assert [m.closed for m in members] == [[4012], [4012]]
    await asyncio.sleep(0)
    assert not [t for t in hub.tasks if not t.done()]
    assert hub.rooms == {} and hub.pubsub is None


async def test_many_rooms_opened_at_once__every_room_is_read(hubs, make_user):
    """A process starting under load opens many rooms at once. redis-py's PubSub takes a
    connection of its own for each subscribe that finds it not yet connected, and reads only
    the last: a room subscribed on another connection gets its join confirmed and then no
    message ever. Every room must be on the connection the hub reads."""
    user = await sync_to_async(make_user)("writer")
    names = [f"burst{i}" for i in range(12)]
    rooms = [await sync_to_async(services.get_or_create_room)(name) for name in names]
    hub = hubs()
    members = [Member() for _ in names]
    await asyncio.gather(
        *(hub.join(m, name, room.pk) for m, name, room in zip(members, names, rooms))
    )
    for name, room in zip(names, rooms):
        message, _ = await sync_to_async(services.post_message)(room.pk, user, "hi", None)
        await hub.publish_message(name, message["seq"], protocol.encode(message))
    assert await wait_until(lambda: all(m.seqs == [1] for m in members)), [
        name for name, m in zip(names, members) if m.seqs != [1]
    ]


async def test_publish_failed__members_here_get_it_from_the_database_and_it_is_sent_again(
    hubs, room, redis_server
):
    """Stored and acked, then the publish fails (Redis restarting): this process's members
    get the event from the database at once instead of waiting for the room's next event;
    the other process (a second hub here) gets it once Redis answers (the publish sent again,
    or its own catch-up after its subscription broke), once."""
    (hub, other), (room_model, user) = (hubs(), hubs()), room
    here, there = Member(), Member()
    await hub.join(here, "hubroom", room_model.pk)
    await other.join(there, "hubroom", room_model.pk)
    [message] = await sync_to_async(store)(room_model, user, 1)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, redis_server.stop)
    try:
        with pytest.raises((RedisError, OSError)):
            await publish(hub, message)
        assert await wait_until(lambda: here.seqs == [1], timeout=1.0)
    finally:
        await loop.run_in_executor(None, redis_server.start)
    assert await wait_until(lambda: there.seqs == [1], timeout=6.0)
    assert here.seqs == [1]  # sent again, dropped by the hub that delivered it


class SlowMember(Member):
    """A member whose first delivery waits until released (a socket slow to take it)."""

    def __init__(self):
        super().__init__()
        self.release = asyncio.Event()

    async def deliver(self, seq, text, ws_frame=None):
        if not self.seqs:
            await self.release.wait()
        self.seqs.append(seq)


async def test_event_due_while_a_repair_delivers__queued_not_dropped(hubs, room):
    """A repair is handing the events it read to a member that is slow to take the first;
    meanwhile the next event comes from Redis. The sequencer has already moved past it, so
    the hub must queue it for the running delivery: dropped, it would be acked and stored
    and never shown, with no gap to repair it."""
    hub, (room_model, user) = hubs(), room
    member = SlowMember()
    await hub.join(member, "hubroom", room_model.pk)
    stored = await sync_to_async(store)(room_model, user, 4)
    await publish(hub, stored[2])  # 1 and 2 missing: the repair reads 1..3
    assert await wait_until(lambda: hub.rooms["hubroom"].draining, timeout=2.0)
    await publish(hub, stored[3])  # 4, while the repair's delivery waits on the member
    assert await wait_until(lambda: hub.rooms["hubroom"].sequencer.cursor == 4, timeout=2.0)
    member.release.set()
    assert await wait_until(lambda: member.seqs == [1, 2, 3, 4], timeout=2.0), member.seqs


async def test_presence_wait__longer_for_a_big_room_bounded(hubs, room):
    room, _ = room
    hub = hubs()
    assert hub.presence_wait("nobody-here") == Hub.PRESENCE_COALESCE
    members = [Member(f"u{i}") for i in range(3)]
    for member in members:
        await hub.join(member, room.name, room.pk)
    small = hub.presence_wait(room.name)
    assert Hub.PRESENCE_COALESCE < small < Hub.PRESENCE_COALESCE + 0.01
    for i in range(5000):  # members as the hub counts them, without 5,000 subscriptions
        hub.rooms[room.name].members.add(Member(f"x{i}"))
    assert hub.presence_wait(room.name) == Hub.PRESENCE_COALESCE_MAX
