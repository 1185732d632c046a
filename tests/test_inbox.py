"""The inbox socket and read positions over real WebSockets (one process; the hub and
Redis are real): the `inbox` frame, `unread`, `mention`, `read`, follow and unfollow."""

import pytest
from asgiref.sync import sync_to_async

from chat import direct, membership, services
from chat.models import Membership, Room
from tests.wsutil import Client, inbox, socket, still_open

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def users(make_user):
    return {name: make_user(name) for name in ("alice", "bob", "carol")}


async def post(client, text):
    await client.send({"type": "message", "text": text})
    return (await client.recv_type("ack"))["seq"]


async def test_anonymous__accepted_then_closed_4401():
    client = Client(path="/ws/inbox/")
    assert (await client.connect())[0]
    assert (await client.recv())["code"] == 4401


async def test_inbox_frame__followed_rooms_most_recent_first_with_counts(users):
    alice, bob = users["alice"], users["bob"]
    for name in ("quiet", "busy"):
        a = await socket(name, user=alice)
        await a.close()
    b = await socket("busy", user=bob)
    await post(b, "hello @alice")
    await post(b, "second")
    await b.close()
    box = await inbox(alice)
    assert box.inbox["rooms"] == [
        {"room": "busy", "private": False, "seq": 2, "read": 0, "unread": 2, "mentions": 1,
         "title": "busy"},
        {"room": "quiet", "private": False, "seq": 0, "read": 0, "unread": 0, "mentions": 0,
         "title": "quiet"},
    ]  # fmt: skip
    await box.close()


async def test_live__unread_and_mention_frames_then_read_clears_on_every_device(users):
    alice, bob = users["alice"], users["bob"]
    first = await socket("lobby", user=alice)  # alice follows lobby
    box = await inbox(alice)
    second = await socket("lobby", user=alice)  # her other device
    b = await socket("lobby", user=bob)
    seq = await post(b, "@alice look")
    mention = await box.recv_type("mention")
    assert mention == {"type": "mention", "room": "lobby", "seq": seq, "user": "bob",
                       "text": "@alice look"}  # fmt: skip
    assert await box.recv_type("unread") == {
        "type": "unread",
        "room": "lobby",
        "seq": seq,
        "unread": 1,
        "mentions": 1,
    }
    await first.send({"type": "read", "seq": seq})
    for client in (first, second, box):
        assert await client.recv_type("read") == {"type": "read", "room": "lobby", "seq": seq}
    assert await box.recv_type("unread") == {
        "type": "unread",
        "room": "lobby",
        "seq": seq,
        "unread": 0,
        "mentions": 0,
    }
    # Her own messages are never unread; reading again where she is moves nothing.
    await post(first, "thanks")
    await first.send({"type": "read", "seq": seq})
    assert await box.nothing(0.4)
    assert await first.nothing(0.2, ignore=("presence", "message"))
    for client in (first, second, box, b):
        await client.close()


async def test_edit_and_delete__change_the_counts_exactly(users):
    alice, bob = users["alice"], users["bob"]
    await (await socket("lobby", user=alice)).close()
    box = await inbox(alice)
    b = await socket("lobby", user=bob)
    seq = await post(b, "plain")
    assert (await box.recv_type("unread"))["unread"] == 1
    await b.send({"type": "edit", "target": seq, "text": "now for @alice"})
    await b.recv_type("ack")
    assert (await box.recv_type("unread"))["mentions"] == 1
    await b.send({"type": "delete", "target": seq})
    await b.recv_type("ack")
    frame = await box.recv_type("unread")
    assert (frame["unread"], frame["mentions"]) == (0, 0)
    await b.send({"type": "react", "target": seq, "emoji": "👍", "on": True})
    await b.recv_type("error")  # a deleted message takes no reaction
    await box.close()
    await b.close()


async def test_read__capped_at_the_latest_and_never_backwards(users):
    alice, bob = users["alice"], users["bob"]
    b = await socket("lobby", user=bob)
    await post(b, "one")
    latest = await post(b, "two")
    a = await socket("lobby", user=alice)
    assert a.hello["read"] == 0
    await a.send({"type": "read", "seq": 10**9})
    assert (await a.recv_type("read"))["seq"] == latest
    await a.send({"type": "read", "seq": 1})  # behind: nothing moves, nothing is sent
    assert await a.nothing(0.3)
    await a.close()
    again = await socket("lobby", user=alice)
    assert again.hello["read"] == latest
    await again.close()
    await b.close()


@pytest.mark.parametrize(
    "frame, code",
    [
        ({"type": "read", "seq": -1}, "bad_field"),
        ({"type": "read", "seq": "3"}, "bad_field"),
        ({"type": "read", "seq": True}, "bad_field"),
        ({"type": "read"}, "bad_field"),
        ({"type": "read", "seq": 1.5}, "bad_field"),
    ],
)
async def test_read__bad_values_refused_and_the_socket_stays(users, frame, code):
    a = await socket("lobby", user=users["alice"])
    await a.send(frame)
    assert (await a.recv_type("error"))["code"] == code
    assert await still_open(a)
    await a.close()


async def test_read__anonymous_gets_auth_required_and_hello_read_null():
    a = await socket("lobby")
    assert a.hello["read"] is None
    await a.send({"type": "read", "seq": 0})
    assert (await a.recv_type("error"))["code"] == "auth_required"
    assert await still_open(a)
    await a.close()


async def test_inbox__commands_other_than_ping_are_bad_type(users):
    box = await inbox(users["alice"])
    await box.send({"type": "message", "text": "hi"})
    assert (await box.recv_type("error"))["code"] == "bad_type"
    await box.send("not json")
    assert (await box.recv_type("error"))["code"] == "bad_json"
    assert await still_open(box)
    await box.close()


async def test_follow_and_unfollow__a_membership_added_and_removed_live(users):
    alice, bob = users["alice"], users["bob"]
    secret = await sync_to_async(Room.objects.create)(name="secret", is_private=True, owner=alice)
    box = await inbox(users["bob"])
    assert box.inbox["rooms"] == []
    await sync_to_async(membership.add_member)(secret, alice, "bob")
    frame = await box.recv_type("unread")
    assert frame == {"type": "unread", "room": "secret", "seq": 0, "unread": 0, "mentions": 0,
                     "private": True, "title": "secret"}  # fmt: skip
    a = await socket("secret", user=alice)
    await post(a, "welcome @bob")
    assert (await box.recv_type("mention"))["room"] == "secret"
    assert (await box.recv_type("unread"))["unread"] == 1
    await sync_to_async(membership.remove_member)(secret, alice, "bob")
    assert await box.recv_type("unfollow") == {"type": "unfollow", "room": "secret"}
    await post(a, "after he left @bob")
    assert await box.nothing(0.4)  # no count, no mention of a room he cannot read
    await a.close()
    await box.close()
    bob_rooms = await sync_to_async(lambda: list(Membership.objects.filter(user=bob)))()
    assert bob_rooms == []


async def test_direct_room__followed_by_both_titled_by_the_other(users):
    alice, bob = users["alice"], users["bob"]
    box = await inbox(bob)
    room, created = await sync_to_async(direct.open_direct)(alice, "bob")
    assert created and room.name == f"dm-{alice.pk}-{bob.pk}"
    frame = await box.recv_type("unread")
    assert (frame["room"], frame["title"], frame["private"]) == (room.name, "alice", True)
    mine = await inbox(alice)
    assert [(r["room"], r["title"]) for r in mine.inbox["rooms"]] == [(room.name, "bob")]
    third = Client(room.name, user=users["carol"])
    assert (await third.connect())[0]
    assert (await third.recv())["code"] == 4403
    for client in (box, mine):
        await client.close()


async def test_room_deleted__its_inbox_entry_goes(users):
    alice = users["alice"]
    await (await socket("gone", user=alice)).close()
    box = await inbox(alice)
    assert [r["room"] for r in box.inbox["rooms"]] == ["gone"]
    await sync_to_async(lambda: services.get_or_create_room("gone").delete())()
    again = await inbox(alice)
    assert again.inbox["rooms"] == []
    await box.close()
    await again.close()


async def test_close_everywhere_reaches_the_inbox_a_room_close_does_not(users):
    from chat import broadcast

    box = await inbox(users["alice"])
    await sync_to_async(broadcast.close_sockets)("alice", "lobby", 4403)  # one room's sockets
    assert await still_open(box)
    await sync_to_async(broadcast.close_sockets)("alice", None, 4401)  # logged out everywhere
    assert (await box.recv_type("__closed__"))["code"] == 4401


async def test_closed_inbox__leaves_every_room_and_the_watchers(users):
    from chat.realtime.hub import current_hub
    from tests.conftest import wait_until

    for name in ("one", "two"):
        await (await socket(name, user=users["alice"])).close()
    box = await inbox(users["alice"])
    hub = current_hub()
    assert {n for n, feed in hub.rooms.items() if feed.inboxes} == {"one", "two"}
    assert "alice" in hub.watchers
    await box.close()
    assert await wait_until(lambda: not hub.rooms and "alice" not in hub.watchers)
