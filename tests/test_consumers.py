"""Every row of the contract through WebsocketCommunicator, against the real Redis."""

import asyncio

import pytest
from asgiref.sync import sync_to_async

from chat import services
from chat.models import Membership, Message, Room
from tests.wsutil import Client

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def users(make_user):
    return {name: make_user(name) for name in ("alice", "bob", "carol")}


async def joined(room="lobby", user=None, query=""):
    """A connected client that has read its hello and first presence."""
    client = Client(room, user=user, query=query)
    connected, _ = await client.connect()
    assert connected
    client.hello = await client.recv()
    assert client.hello["type"] == "hello"
    client.presence = await client.recv()
    assert client.presence["type"] == "presence"
    return client


async def post(client, text, client_id=None):
    await client.send({"type": "message", "text": text, "client_id": client_id})
    return await client.recv_type("ack")


def store(room_name, user, count):
    room = services.get_or_create_room(room_name)
    for i in range(count):
        services.post_message(room.pk, user, f"m{i + 1}", None)


# connect ------------------------------------------------------------------------------


async def test_hello__empty_room(users):
    client = await joined(user=users["alice"])
    assert client.hello == {
        "type": "hello", "room": "lobby", "user": "alice", "seq": 0, "history": [], "complete": True,
        "protocol": 2, "read": 0,
    }  # fmt: skip
    assert client.presence == {"type": "presence", "users": ["alice"], "anonymous": 0}
    await client.close()


async def test_hello__latest_50_oldest_first_incomplete(users):
    await sync_to_async(store)("lobby", users["alice"], 60)
    client = await joined()
    assert client.hello["user"] is None
    assert client.hello["seq"] == 60
    assert [m["seq"] for m in client.hello["history"]] == list(range(11, 61))
    assert client.hello["complete"] is False
    await client.close()


async def test_hello_since__messages_after_since(users):
    await sync_to_async(store)("lobby", users["alice"], 10)
    client = await joined(query="since=7")
    assert [m["seq"] for m in client.hello["history"]] == [8, 9, 10]
    assert client.hello["complete"] is True
    beyond = await joined(query="since=99")
    assert beyond.hello["history"] == [] and beyond.hello["complete"] is True
    invalid = await joined(query="since=-3")
    assert len(invalid.hello["history"]) == 10  # treated as absent
    for c in (client, beyond, invalid):
        await c.close()


async def test_hello_since__at_most_500(users):
    await sync_to_async(store)("lobby", users["alice"], 520)
    client = await joined(query="since=0")
    assert len(client.hello["history"]) == 500 and client.hello["complete"] is False
    assert client.hello["seq"] == 520
    await client.close()


async def test_invalid_room__accepted_then_closed_4404():
    client = Client("Not-Valid")
    connected, _ = await client.connect()
    assert connected
    assert (await client.recv())["code"] == 4404


async def test_foreign_origin__refused_at_handshake():
    client = Client(origin=(b"origin", b"http://evil.example"))
    connected, _ = await client.connect()
    assert not connected
    missing = Client(origin=None)
    assert not (await missing.connect())[0]


async def test_private_room__anonymous_4401_non_member_4403_member_in(users):
    await sync_to_async(Room.objects.create)(name="secret", is_private=True, owner=users["alice"])
    room = await sync_to_async(Room.objects.get)(name="secret")
    await sync_to_async(Membership.objects.create)(room=room, user=users["bob"])
    anonymous = Client("secret")
    await anonymous.connect()
    assert (await anonymous.recv())["code"] == 4401
    stranger = Client("secret", user=users["carol"])
    await stranger.connect()
    assert (await stranger.recv())["code"] == 4403
    member = await joined("secret", user=users["bob"])
    owner = await joined("secret", user=users["alice"])
    await member.close()
    await owner.close()


# messages ---------------------------------------------------------------------------


async def test_message__ack_then_broadcast_to_everyone_including_sender(users):
    alice = await joined(user=users["alice"])
    bob = await joined(user=users["bob"])
    await alice.recv_type("presence")
    ack = await post(alice, "  hello there  ", "c-1")
    assert ack == {"type": "ack", "client_id": "c-1", "seq": 1}
    mine = await alice.recv_type("message")
    theirs = await bob.recv_type("message")
    assert mine == theirs
    assert mine["text"] == "hello there" and mine["user"] == "alice" and mine["seq"] == 1
    assert mine["client_id"] == "c-1" and mine["ts"].endswith("Z") and len(mine["ts"]) == 24
    stored = await sync_to_async(Message.objects.get)(seq=1)
    assert stored.text == "hello there"
    await alice.close()
    await bob.close()


async def test_message__without_client_id_echoes_null(users):
    alice = await joined(user=users["alice"])
    assert (await post(alice, "x"))["client_id"] is None
    assert (await alice.recv_type("message"))["client_id"] is None
    await alice.close()


async def test_same_client_id__acked_with_first_seq_not_stored_or_broadcast_again(users):
    alice = await joined(user=users["alice"])
    bob = await joined(user=users["bob"])
    first = await post(alice, "once", "c-dup")
    await bob.recv_type("message")
    await alice.recv_type("message")
    again = await post(alice, "once, again", "c-dup")
    assert again["seq"] == first["seq"]
    assert await sync_to_async(Message.objects.count)() == 1
    assert await alice.nothing(0.5)
    assert await bob.nothing(0.2)
    other_user = await post(bob, "mine", "c-dup")  # same client_id, other user: stored
    assert other_user["seq"] == 2
    await alice.close()
    await bob.close()


async def test_same_client_id__a_post_stored_but_never_published_is_published_by_its_retry(
    users,
):
    """The process that stored it died before publishing (the client saw no ack): the
    retry with the same client_id is acked with the stored seq and reaches the room."""
    alice = await joined(user=users["alice"])
    bob = await joined(user=users["bob"])
    room = await sync_to_async(Room.objects.get)(name="lobby")
    await sync_to_async(services.post_message)(room.pk, users["alice"], "lost", "c-lost")
    assert await bob.nothing(0.3)  # stored, never published
    again = await post(alice, "lost", "c-lost")
    delivered = await bob.recv_type("message")
    assert delivered["seq"] == again["seq"] == 1 and delivered["text"] == "lost"
    assert (await alice.recv_type("message"))["seq"] == 1
    assert await sync_to_async(Message.objects.count)() == 1
    await alice.close()
    await bob.close()


async def test_anonymous_post__auth_required_connection_stays(users):
    client = await joined()
    await client.send({"type": "message", "text": "hi"})
    assert (await client.recv())["code"] == "auth_required"
    await client.send({"type": "message"})  # malformed from anonymous: validation first
    assert (await client.recv())["code"] == "bad_field"
    await client.send({"type": "ping"})
    assert await client.recv() == {"type": "pong"}
    await client.close()


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ("not json", "bad_json"),
        ("[]", "bad_json"),
        ('{"text": "x"}', "bad_type"),
        ('{"type": "shout"}', "bad_type"),
        ('{"type": "message", "text": 1}', "bad_field"),
        ('{"type": "message", "text": "   "}', "empty"),
        ('{"type": "message", "text": "' + "y" * 4001 + '"}', "too_long"),
        ('{"type": "history", "limit": 500}', "bad_field"),
        ('{"type": "resume", "since": -1}', "bad_field"),
    ],
)
async def test_errors__answered_and_connection_stays_open(users, frame, code):
    client = await joined(user=users["alice"])
    await client.send(frame)
    answer = await client.recv()
    assert answer["type"] == "error" and answer["code"] == code and answer["detail"]
    await client.send({"type": "ping"})
    assert await client.recv() == {"type": "pong"}
    await client.close()


async def test_binary_frame__bad_json(users):
    client = await joined(user=users["alice"])
    await client.comm.send_to(bytes_data=b"\x00\x01")
    assert (await client.recv())["code"] == "bad_json"
    await client.close()


async def test_oversize_frame__closed_4009(users):
    client = await joined(user=users["alice"])
    await client.send('{"type": "message", "text": "' + "z" * 70000 + '"}')
    assert (await client.recv())["code"] == 4009


async def test_rate_limit__retry_after_then_4429_after_five_refusals(settings, users):
    settings.CHAT_MESSAGE_RATE = (2, 10)
    client = await joined(user=users["alice"])
    for i in range(2):
        await post(client, f"ok {i}")
    for _ in range(4):
        await client.send({"type": "message", "text": "too many"})
        refusal = await client.recv_type("error")
        assert refusal["code"] == "rate_limited" and 0 < refusal["retry_after"] <= 10
    await client.send({"type": "message", "text": "too many"})
    assert (await client.recv_type("error"))["code"] == "rate_limited"
    assert (await client.recv_type("__closed__"))["code"] == 4429
    assert await sync_to_async(Message.objects.count)() == 2


async def test_rate_limit__repeated_client_id_does_not_count(settings, users):
    settings.CHAT_MESSAGE_RATE = (2, 10)
    client = await joined(user=users["alice"])
    for _ in range(4):
        assert (await post(client, "same", "c-same"))["seq"] == 1
    assert (await post(client, "second", "c-2"))["seq"] == 2
    await client.close()


# history, resume, typing, ping ---------------------------------------------------------


async def test_history__before_and_limit(users):
    await sync_to_async(store)("lobby", users["alice"], 30)
    client = await joined()
    await client.send({"type": "history", "before": 11, "limit": 5})
    page = await client.recv()
    assert page["type"] == "history"
    assert [m["seq"] for m in page["messages"]] == [6, 7, 8, 9, 10] and page["complete"] is False
    await client.send({"type": "history", "before": 4})
    page = await client.recv()
    assert [m["seq"] for m in page["messages"]] == [1, 2, 3] and page["complete"] is True
    await client.send({"type": "history", "limit": 2})
    assert [m["seq"] for m in (await client.recv())["messages"]] == [29, 30]
    await client.close()


async def test_resume__messages_then_resumed(users):
    await sync_to_async(store)("lobby", users["alice"], 8)
    client = await joined()
    await client.send({"type": "resume", "since": 5})
    got = [await client.recv() for _ in range(4)]
    assert [m["seq"] for m in got[:3]] == [6, 7, 8]
    assert got[3] == {"type": "resumed", "seq": 8, "complete": True}
    await client.close()


async def test_resume__more_than_500_is_incomplete(users):
    await sync_to_async(store)("lobby", users["alice"], 503)
    client = await joined()
    await client.send({"type": "resume", "since": 0})
    frames = [await client.recv() for _ in range(501)]
    assert frames[499]["seq"] == 500
    assert frames[500] == {"type": "resumed", "seq": 503, "complete": False}
    await client.close()


async def test_typing__other_users_only_throttled_anonymous_refused(users):
    alice = await joined(user=users["alice"])
    alice_tab2 = await joined(user=users["alice"])
    bob = await joined(user=users["bob"])
    anonymous = await joined()
    await alice.send({"type": "typing"})
    assert await bob.recv_type("typing") == {"type": "typing", "user": "alice"}
    assert await anonymous.recv_type("typing") == {"type": "typing", "user": "alice"}
    await alice.send({"type": "typing"})  # within 2 s: not relayed
    assert await bob.nothing(0.5)
    assert await alice_tab2.nothing(0.2)
    await anonymous.send({"type": "typing"})
    assert (await anonymous.recv_type("error"))["code"] == "auth_required"
    for c in (alice, alice_tab2, bob, anonymous):
        await c.close()


async def test_ping__pong():
    client = await joined()
    await client.send({"type": "ping"})
    assert await client.recv() == {"type": "pong"}
    await client.close()


# presence ---------------------------------------------------------------------------


async def test_presence__join_second_tab_and_leave(users):
    alice = await joined(user=users["alice"])
    bob = await joined(user=users["bob"])
    assert bob.presence == {"type": "presence", "users": ["alice", "bob"], "anonymous": 0}
    assert await alice.recv() == bob.presence
    bob_tab2 = await joined(user=users["bob"])  # same user set: nobody is told
    assert await alice.nothing(0.5, ignore=())
    guest = await joined()
    assert await alice.recv() == {"type": "presence", "users": ["alice", "bob"], "anonymous": 1}
    await bob.close()
    await bob_tab2.close()
    assert await alice.recv() == {"type": "presence", "users": ["alice"], "anonymous": 1}
    await guest.close()
    await alice.close()


async def test_concurrent_senders__every_client_gets_every_message_in_seq_order(settings, users):
    settings.CHAT_MESSAGE_RATE = None
    senders = [await joined(user=users[name]) for name in ("alice", "bob")]
    readers = [await joined() for _ in range(5)]

    async def send_all(client, prefix):
        for i in range(40):
            await client.send(
                {"type": "message", "text": f"{prefix}{i}", "client_id": f"{prefix}{i}"}
            )

    await asyncio.gather(send_all(senders[0], "a"), send_all(senders[1], "b"))
    for reader in readers:
        seqs = []
        while len(seqs) < 80:
            frame = await reader.recv(10)
            if frame["type"] == "message":
                seqs.append(frame["seq"])
        assert seqs == list(range(1, 81))
    for c in senders + readers:
        await c.close()
