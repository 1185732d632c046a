"""The room's event log through the consumer (WebsocketCommunicator, real Redis, real
database): every command of the contract's version-2 table, its rules and errors."""

import pytest
from asgiref.sync import sync_to_async

from chat import eventlog, services, store
from chat.models import Event, Membership, Mention, Message, Reaction, Room
from tests.wsutil import Client, still_open

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def users(make_user):
    found = {name: make_user(name) for name in ("alice", "bob", "carol", "mod")}
    found["mod"].is_staff = True
    found["mod"].save()
    return found


async def joined(room="lobby", user=None, query=""):
    client = Client(room, user=user, query=query)
    assert (await client.connect())[0]
    client.hello = await client.recv_type("hello")
    await client.recv_type("presence")
    return client


async def command(client, frame):
    """Send frame; the ack or error that answers it."""
    await client.send(frame)
    while True:
        answer = await client.recv()
        if answer["type"] in ("ack", "error", "__closed__"):
            return answer


async def say(client, text, **extra):
    ack = await command(client, {"type": "message", "text": text, **extra})
    assert ack["type"] == "ack", ack
    return ack["seq"]


def error_code(answer):
    assert answer["type"] == "error", answer
    return answer["code"]


async def test_edit__the_author_edits_everyone_gets_the_event_hello_shows_it(users):
    alice, bob = await joined(user=users["alice"]), await joined(user=users["bob"])
    seq = await say(alice, "helo", client_id="m1")
    await bob.recv_type("message")
    ack = await command(
        alice, {"type": "edit", "target": seq, "text": " hello ", "client_id": "e1"}
    )
    assert ack == {"type": "ack", "client_id": "e1", "seq": seq + 1}
    event = await bob.recv_type("edit")
    assert {k: event[k] for k in ("room", "seq", "user", "target", "text", "mentions")} == {
        "room": "lobby", "seq": seq + 1, "user": "alice", "target": seq, "text": "hello",
        "mentions": [],
    }  # fmt: skip
    assert event["ts"].endswith("Z")
    fresh = await joined(user=users["carol"])
    [message] = fresh.hello["history"]
    assert (fresh.hello["seq"], message["text"], message["edited"]) == (
        seq + 1,
        "hello",
        event["ts"],
    )
    # The same client_id again: acked with the first seq, nothing stored.
    again = await command(
        alice, {"type": "edit", "target": seq, "text": "other", "client_id": "e1"}
    )
    assert again == ack
    assert await sync_to_async(Event.objects.count)() == 1
    for client in (alice, bob, fresh):
        await client.close()


@pytest.mark.parametrize(
    "frame, code",
    [
        ({"type": "edit", "text": "x"}, "bad_field"),
        ({"type": "edit", "target": 0, "text": "x"}, "bad_field"),
        ({"type": "edit", "target": "1", "text": "x"}, "bad_field"),
        ({"type": "edit", "target": 1, "text": "   "}, "empty"),
        ({"type": "edit", "target": 1, "text": "x" * 4001}, "too_long"),
        ({"type": "edit", "target": 1, "text": "x", "client_id": "no spaces"}, "bad_field"),
        ({"type": "delete", "target": -1}, "bad_field"),
        ({"type": "delete", "target": True}, "bad_field"),
        ({"type": "react", "target": 1, "emoji": "a", "on": True}, "bad_field"),
        ({"type": "react", "target": 1, "emoji": "👍 ", "on": True}, "bad_field"),
        ({"type": "react", "target": 1, "emoji": "👍" * 9, "on": True}, "bad_field"),
        ({"type": "react", "target": 1, "emoji": "", "on": True}, "bad_field"),
        ({"type": "react", "target": 1, "emoji": "👍", "on": 1}, "bad_field"),
        ({"type": "react", "target": 1, "emoji": "👍"}, "bad_field"),
        ({"type": "message", "text": "x", "reply_to": 0}, "bad_field"),
        ({"type": "message", "text": "x", "reply_to": "1"}, "bad_field"),
        ({"type": "edit", "target": 99, "text": "x"}, "not_found"),
        ({"type": "delete", "target": 99}, "not_found"),
        ({"type": "react", "target": 99, "emoji": "👍", "on": True}, "not_found"),
        ({"type": "message", "text": "x", "reply_to": 99}, "not_found"),
        ({"type": "edit", "target": 2, "text": "not mine"}, "forbidden"),
        ({"type": "delete", "target": 2}, "forbidden"),
    ],
)
async def test_bad_input__a_clear_error_nothing_changes_the_socket_stays(users, frame, code):
    alice, bob = await joined(user=users["alice"]), await joined(user=users["bob"])
    await say(alice, "alice's")
    await say(bob, "bob's")  # seq 2
    before = await sync_to_async(services.latest_messages)(alice.hello and Room(name="lobby"), 50)
    assert error_code(await command(alice, frame)) == code
    after = await sync_to_async(services.latest_messages)(Room(name="lobby"), 50)
    assert after == before
    assert await still_open(alice)
    for client in (alice, bob):
        await client.close()


async def test_a_deleted_message__cannot_be_edited_reacted_to_answered_or_deleted_again(users):
    alice = await joined(user=users["alice"])
    seq = await say(alice, "oops")
    assert (await command(alice, {"type": "delete", "target": seq}))["seq"] == seq + 1
    for frame in (
        {"type": "edit", "target": seq, "text": "x"},
        {"type": "react", "target": seq, "emoji": "👍", "on": True},
        {"type": "message", "text": "x", "reply_to": seq},
        {"type": "delete", "target": seq},
    ):
        assert error_code(await command(alice, frame)) == "forbidden", frame
    hello = (await joined(user=users["bob"])).hello
    assert hello["seq"] == seq + 1
    [message] = hello["history"]
    assert (message["deleted"], message["text"], message["reactions"]) == (True, "", {})
    await alice.close()


async def test_delete__moderators_delete_anyones_members_only_their_own(users):
    room = await sync_to_async(Room.objects.create)(
        name="club", is_private=True, owner=users["carol"]
    )
    for name in ("alice", "bob", "mod"):
        await sync_to_async(Membership.objects.create)(room=room, user=users[name])
    alice = await joined("club", users["alice"])
    bob, carol = await joined("club", users["bob"]), await joined("club", users["carol"])
    mod = await joined("club", users["mod"])
    one, two = await say(alice, "one"), await say(alice, "two")
    assert error_code(await command(bob, {"type": "delete", "target": one})) == "forbidden"
    assert (await command(carol, {"type": "delete", "target": one}))["type"] == "ack"  # owner
    assert (await command(mod, {"type": "delete", "target": two}))["type"] == "ack"  # staff
    events = [await bob.recv_type("delete"), await bob.recv_type("delete")]
    assert [(e["user"], e["target"]) for e in events] == [("carol", one), ("mod", two)]
    for client in (alice, bob, carol, mod):
        await client.close()


async def test_react__on_off_and_no_ops_acked_with_seq_null(users):
    alice, bob = await joined(user=users["alice"]), await joined(user=users["bob"])
    watcher = await joined()
    seq = await say(alice, "react to me")
    on = {"type": "react", "target": seq, "emoji": "👍", "on": True}
    assert (await command(bob, {**on, "client_id": "r1"}))["seq"] == seq + 1
    assert await command(bob, on) == {"type": "ack", "client_id": None, "seq": None}
    assert (await command(alice, on))["seq"] == seq + 2
    assert (await command(alice, {**on, "emoji": "❤️"}))["seq"] == seq + 3
    event = await watcher.recv_type("reaction")
    assert {k: event[k] for k in ("user", "target", "emoji", "on")} == {
        "user": "bob", "target": seq, "emoji": "👍", "on": True,
    }  # fmt: skip
    off = {**on, "on": False}
    assert (await command(alice, off))["seq"] == seq + 4
    assert await command(alice, off) == {"type": "ack", "client_id": None, "seq": None}
    [message] = (await joined(user=users["carol"])).hello["history"]
    assert message["reactions"] == {"👍": ["bob"], "❤️": ["alice"]}
    for client in (alice, bob, watcher):
        await client.close()


async def test_react__a_21st_emoji_is_bad_field_one_already_there_is_fine(users):
    alice = await joined(user=users["alice"])
    seq = await say(alice, "many")
    emoji = [chr(0x1F600 + i) for i in range(21)]
    for each in emoji[:20]:
        assert (await command(alice, {"type": "react", "target": seq, "emoji": each, "on": True}))[
            "type"
        ] == "ack"
    twenty_first = {"type": "react", "target": seq, "emoji": emoji[20], "on": True}
    assert error_code(await command(alice, twenty_first)) == "bad_field"
    bob = await joined(user=users["bob"])
    joining = {"type": "react", "target": seq, "emoji": emoji[0], "on": True}
    assert (await command(bob, joining))["type"] == "ack"
    assert await sync_to_async(Reaction.objects.values("emoji").distinct().count)() == 20
    for client in (alice, bob):
        await client.close()


async def test_anonymous__auth_required_for_every_change(users):
    await sync_to_async(services.post_message)(
        (await sync_to_async(services.get_or_create_room)("lobby")).pk, users["alice"], "x", None
    )
    anonymous = await joined()
    for frame in (
        {"type": "edit", "target": 1, "text": "x"},
        {"type": "delete", "target": 1},
        {"type": "react", "target": 1, "emoji": "👍", "on": True},
    ):
        assert error_code(await command(anonymous, frame)) == "auth_required"
    assert await still_open(anonymous)
    await anonymous.close()


async def test_reply_to_and_mentions__resolved_against_readers_of_the_room(users):
    room = await sync_to_async(Room.objects.create)(
        name="club", is_private=True, owner=users["alice"]
    )
    await sync_to_async(Membership.objects.create)(room=room, user=users["bob"])
    alice = await joined("club", users["alice"])
    first = await say(alice, "hi")
    text = "@bob, @carol (not a member), email a@bob, thanks @alice. @bob again"
    seq = await say(alice, text, reply_to=first)
    message = await alice.recv_type("message")
    message = await alice.recv_type("message") if message["seq"] != seq else message
    assert (message["reply_to"], message["mentions"]) == (first, ["alice", "bob"])
    stored = await sync_to_async(
        lambda: sorted(Mention.objects.filter(seq=seq).values_list("user__username", flat=True))
    )()
    assert stored == ["alice", "bob"]
    await command(alice, {"type": "edit", "target": seq, "text": "only @bob now"})
    edit = await alice.recv_type("edit")
    assert edit["mentions"] == ["bob"]
    count = await sync_to_async(
        Mention.objects.filter(user=users["bob"], room=room, seq__gt=0).count
    )()
    assert count == 1
    await alice.close()


async def test_rate__every_stored_event_counts_no_ops_do_not(users, settings):
    settings.CHAT_MESSAGE_RATE = (3, 30)  # a small rate so that the test reaches it
    alice = await joined(user=users["alice"])
    seq = await say(alice, "one")
    on = {"type": "react", "target": seq, "emoji": "👍", "on": True}
    assert (await command(alice, on))["seq"] == seq + 1
    assert (await command(alice, on))["seq"] is None  # changed nothing: not counted
    assert (await command(alice, {"type": "edit", "target": seq, "text": "two"}))["type"] == "ack"
    refused = await command(alice, {"type": "delete", "target": seq})
    assert error_code(refused) == "rate_limited" and refused["retry_after"] > 0
    await alice.close()


async def test_resume__replays_every_event_after_a_seq_onto_the_state_there(users):
    alice = await joined(user=users["alice"])
    first = await say(alice, "first")
    away = await joined(user=users["bob"])
    state_at = eventlog.fold(away.hello["history"])
    since = away.hello["seq"]
    await away.close()
    second = await say(alice, "second @bob", reply_to=first)
    for i in range(10):
        await command(alice, {"type": "edit", "target": first, "text": f"first v{i}"})
    await command(alice, {"type": "react", "target": second, "emoji": "🎉", "on": True})
    await command(alice, {"type": "delete", "target": second})
    await command(alice, {"type": "react", "target": first, "emoji": "👍", "on": True})
    back = await joined(user=users["bob"], query=f"since={since}")
    events = back.hello["history"]
    assert [e["seq"] for e in events] == list(range(since + 1, back.hello["seq"] + 1))
    assert events[0]["type"] == "message" and events[0]["text"] == ""  # deleted since
    fresh = await joined(user=users["carol"])
    assert eventlog.fold(events, state_at) == eventlog.fold(fresh.hello["history"])
    # the same through the resume command
    await back.send({"type": "resume", "since": since})
    replayed = []
    while (frame := await back.recv())["type"] != "resumed":
        if frame["type"] != "presence":
            replayed.append(frame)
    assert replayed == events and frame == {"type": "resumed", "seq": fresh.hello["seq"],
                                            "complete": True}  # fmt: skip
    for client in (alice, back, fresh):
        await client.close()


async def test_history__pages_show_current_state_and_skip_other_events(users):
    alice = await joined(user=users["alice"])
    seqs = [await say(alice, f"m{i}") for i in range(4)]
    await command(alice, {"type": "edit", "target": seqs[1], "text": "m1 fixed"})
    await command(alice, {"type": "react", "target": seqs[2], "emoji": "👀", "on": True})
    await alice.send({"type": "history", "limit": 3})
    page = await alice.recv_type("history")
    assert [(m["seq"], m["text"]) for m in page["messages"]] == [
        (seqs[1], "m1 fixed"), (seqs[2], "m2"), (seqs[3], "m3"),
    ]  # fmt: skip
    assert page["messages"][1]["reactions"] == {"👀": ["alice"]} and not page["complete"]
    await alice.close()


async def test_message_object__live_shape_as_posted(users):
    alice = await joined(user=users["alice"])
    await say(alice, "shape", client_id="s1")
    message = await alice.recv_type("message")
    assert set(message) == {
        "type", "room", "seq", "user", "text", "ts", "client_id", "reply_to", "mentions",
        "edited", "deleted", "reactions",
    }  # fmt: skip
    assert (message["edited"], message["deleted"], message["reactions"]) == (None, False, {})
    assert alice.hello["protocol"] == 2
    await alice.close()
    assert await sync_to_async(Message.objects.count)() == 1


async def test_a_retried_edit__stored_but_never_published_is_published_by_its_retry(users):
    """The process that stored it died before publishing (the client saw no ack): the
    retry with the same client_id is acked with the stored seq and reaches the room."""
    alice, bob = await joined(user=users["alice"]), await joined(user=users["bob"])
    seq = await say(alice, "helo")
    await bob.recv_type("message")
    room = await sync_to_async(Room.objects.get)(name="lobby")
    edit = store.Change("edit", users["alice"].pk, "alice", seq, client_id="e-lost", text="hello")
    await sync_to_async(services.post_messages)(room.pk, [edit])
    assert await bob.nothing(0.3)  # stored, never published
    again = await command(
        alice, {"type": "edit", "target": seq, "text": "hello", "client_id": "e-lost"}
    )
    assert again == {"type": "ack", "client_id": "e-lost", "seq": seq + 1}
    delivered = await bob.recv_type("edit")
    assert (delivered["seq"], delivered["text"]) == (seq + 1, "hello")
    assert await sync_to_async(Event.objects.count)() == 1
    for client in (alice, bob):
        await client.close()


@pytest.mark.parametrize(
    "frame",
    [
        {"type": "edit", "target": 1, "text": "x"},
        {"type": "delete", "target": 1},
        {"type": "react", "target": 1, "emoji": "👍", "on": True},
        {"type": "message", "text": "x", "reply_to": 1},
    ],
)
async def test_a_room_nobody_created__a_change_is_not_found_and_creates_nothing(
    users, frame, settings
):
    """Opened while its user may create no more rooms: nothing to edit, delete, react to or
    answer there, which is not_found (not the room-creation limit's refusal)."""
    settings.CHAT_ROOM_CREATE_RATE = (1, 3600)
    await sync_to_async(services.create_room)("first-room", users["alice"])
    alice = await joined("empty-room", users["alice"])
    assert error_code(await command(alice, frame)) == "not_found"
    assert not await sync_to_async(Room.objects.filter(name="empty-room").exists)()
    assert await still_open(alice)
    await alice.close()


async def test_rate__the_rules_errors_come_before_rate_limited(users, settings):
    """The contract's order of checks: not_found and forbidden (and a 21st emoji's
    bad_field) come before rate_limited, also for a user over their rate."""
    settings.CHAT_MESSAGE_RATE = (2, 30)
    alice = await joined(user=users["alice"])
    bob = await joined(user=users["bob"])
    bobs = await say(bob, "bob's")
    mine = await say(alice, "mine")
    assert (await command(alice, {"type": "delete", "target": mine}))["type"] == "ack"
    # alice is over her rate now
    refusals = {
        "not_found": {"type": "edit", "target": 99, "text": "x"},
        "forbidden": {"type": "edit", "target": bobs, "text": "x"},
    }
    for code, frame in refusals.items():
        assert error_code(await command(alice, frame)) == code, frame
    assert error_code(await command(alice, {"type": "message", "text": "x", "reply_to": mine})) == (
        "forbidden"
    )
    limited = await command(alice, {"type": "react", "target": bobs, "emoji": "👍", "on": True})
    assert error_code(limited) == "rate_limited"
    for client in (alice, bob):
        await client.close()
