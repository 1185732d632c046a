"""Hostile clients through WebsocketCommunicator: crafted numbers, floods of cheap frames,
oversized binary frames, invisible text, unknown rooms, and a consumer that fails."""

import asyncio
import json

import pytest
from asgiref.sync import sync_to_async

from chat import metrics, services
from chat.models import Message, Room
from chat.realtime.hub import get_hub
from redis_core import get_manager
from tests.conftest import wait_until
from tests.test_consumers import joined, post, store

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def alice(make_user):
    return make_user("alice")


def gauge():
    return metrics.connections_open._value.get()


async def presence_entries(room="lobby"):
    return await get_manager().async_client().zrange(f"chat:presence:{room}", 0, -1)


# numbers from outside ------------------------------------------------------------------


async def test_since_of_5000_digits__treated_as_absent_and_no_ghost(alice):
    await sync_to_async(store)("lobby", alice, 3)
    before = gauge()
    client = await joined(query="since=" + "9" * 5000)
    assert [m["seq"] for m in client.hello["history"]] == [1, 2, 3]  # as without since
    assert gauge() == before + 1
    await client.close()
    assert await wait_until(lambda: gauge() == before)
    assert await presence_entries() == []


async def test_since_with_thousands_of_fields__treated_as_absent(alice):
    client = await joined(query="&".join(f"x{i}=1" for i in range(3000)) + "&since=0")
    assert client.hello["complete"] is True
    await client.close()


# a consumer that fails leaves nothing behind ---------------------------------------------


async def test_unexpected_exception__teardown_still_runs(monkeypatch, alice):
    def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(services, "messages_before", broken)
    before = gauge()
    client = await joined(user=alice)
    assert len(await presence_entries()) == 1
    await client.send({"type": "history"})
    with pytest.raises(RuntimeError):
        await client.comm.receive_output(5)  # the application raised (daphne: 1011)
    assert gauge() == before
    assert await presence_entries() == []
    hub = get_hub()
    assert "lobby" not in hub.rooms
    keys = await get_manager().async_client().keys("chat:conncap:*")
    counts = [await get_manager().async_client().hgetall(k) for k in keys]
    assert counts == [] or all(not c for c in counts)


# frames ---------------------------------------------------------------------------------


async def test_binary_frame_over_64_kib__closed_4009(alice):
    client = await joined(user=alice)
    await client.comm.send_to(bytes_data=b"\x00" * 70000)
    assert (await client.recv())["code"] == 4009


async def test_ping_flood__rate_limited_then_closed_4429_others_unaffected(alice):
    other = await joined(user=alice)
    flooder = await joined()
    for _ in range(200):
        await flooder.send({"type": "ping"})
    answers = []
    while True:
        frame = await flooder.recv()
        answers.append(frame)
        if frame["type"] == "__closed__":
            break
    kinds = [f["type"] for f in answers]
    # the budget: 100 tokens, and the few that refill while the flood is answered
    assert 100 <= kinds.count("pong") <= 110
    refusals = [f for f in answers if f["type"] == "error"]
    assert [f["code"] for f in refusals] == ["rate_limited"] * 5
    assert all(f["retry_after"] > 0 for f in refusals)
    assert answers[-1] == {"type": "__closed__", "code": 4429}
    ack = await post(other, "still here")
    assert ack["seq"] == 1
    await other.close()


async def test_history_flood__database_reads_cost_more(alice):
    await sync_to_async(store)("lobby", alice, 5)
    client = await joined()
    for _ in range(25):
        await client.send({"type": "history", "limit": 5})
    kinds = []
    for _ in range(40):
        frame = await client.recv()
        kinds.append(frame.get("code") or frame["type"])
        if frame["type"] == "__closed__":
            break
    assert kinds[:20] == ["history"] * 20  # 100 tokens at 5 each
    assert kinds[20:] == ["rate_limited"] * 5 + [4429]


async def test_budget_refills__a_patient_client_goes_on(settings, alice):
    settings.CHAT_FRAME_BUDGET = (3, 0.3)  # 3 tokens, 10 per second: the same rule, faster
    client = await joined()
    for _ in range(4):
        await client.send({"type": "ping"})
    kinds = [(await client.recv())["type"] for _ in range(4)]
    assert kinds == ["pong", "pong", "pong", "error"]
    await asyncio.sleep(0.3)
    await client.send({"type": "ping"})
    assert (await client.recv())["type"] == "pong"
    await client.close()


# text -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["\u200b" * 8, "\u2800\u3164", " \u2066\u2069 ", "\u0301\u0301", "\ufeff\u200d\u2060"],
)
async def test_invisible_text__empty(alice, text):
    client = await joined(user=alice)
    await client.send({"type": "message", "text": text})
    assert (await client.recv_type("error"))["code"] == "empty"
    assert await sync_to_async(Message.objects.count)() == 0
    await client.close()


async def test_bidi_override__stripped_before_storing(alice):
    client = await joined(user=alice)
    await client.send({"type": "message", "text": "abc\u202edcba\u202c \u2067x\u2069"})
    message = await client.recv_type("message")
    assert message["text"] == "abcdcba x"
    stored = await sync_to_async(Message.objects.get)()
    assert stored.text == "abcdcba x"
    await client.close()


async def test_emoji_sequences_keep_their_joiners(alice):
    client = await joined(user=alice)
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467"
    await client.send({"type": "message", "text": family})
    assert (await client.recv_type("message"))["text"] == family
    await client.close()


# rooms ----------------------------------------------------------------------------------


async def test_anonymous_reader__unknown_room_is_not_created(alice):
    reader = await joined("nowhere")
    assert (reader.hello["seq"], reader.hello["history"]) == (0, [])
    assert not await sync_to_async(Room.objects.filter(name="nowhere").exists)()
    # a logged-in user opening it creates it; the reader sees what is posted there live
    writer = await joined("nowhere", user=alice)
    assert await sync_to_async(Room.objects.filter(name="nowhere").exists)()
    await post(writer, "first")
    message = await reader.recv_type("message")
    assert (message["seq"], message["text"]) == (1, "first")
    await reader.send({"type": "history"})
    assert [m["seq"] for m in (await reader.recv_type("history"))["messages"]] == [1]
    await reader.close()
    await writer.close()


async def test_room_creation_limit__then_rooms_open_empty_and_posting_is_refused(settings, alice):
    settings.CHAT_ROOM_CREATE_RATE = (2, 3600)
    for name in ("new-1", "new-2"):
        client = await joined(name, user=alice)
        await client.close()
    client = await joined("new-3", user=alice)
    assert client.hello["seq"] == 0
    assert not await sync_to_async(Room.objects.filter(name="new-3").exists)()
    await client.send({"type": "message", "text": "hello?"})
    refusal = await client.recv_type("error")
    assert refusal["code"] == "rate_limited" and refusal["retry_after"] > 0
    assert await sync_to_async(Room.objects.count)() == 2
    # an existing room is not a new one
    again = await joined("new-1", user=alice)
    assert (await post(again, "fine"))["seq"] == 1
    await again.close()
    await client.close()


def test_messages_api__absurd_numbers_are_400(client, alice):
    services.get_or_create_room("lobby")
    for query in ("since=" + "9" * 5000, "limit=" + "1" * 5000, "since=-1", "limit=1e3"):
        response = client.get(f"/api/rooms/lobby/messages?{query}")
        assert response.status_code == 400, query
        assert "error" in json.loads(response.content)
