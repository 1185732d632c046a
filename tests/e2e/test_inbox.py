"""Read positions and the inbox socket over real daphne processes, one Redis, one database
(PostgreSQL for the crowd, SQLite for the rest):

- counts stay exact while four processes post, edit and delete in twenty rooms and the
  user reads: the inbox's live state ends equal to a fresh inbox and to the counts
  computed here from the messages API; every message mentioning the user from any process
  came as a `mention` frame;
- two devices of one user on different processes stay in step (`read` frames);
- a removed membership sends `unfollow` on another process and stops the counts.
"""

import asyncio
import random
import uuid

import pytest

from tests.e2e.clients import Listener, connect, connect_inbox

pytestmark = pytest.mark.e2e

ROOMS = 20
POSTS = 12  # per process


def followed_state(listener):
    """{room: (seq, read, unread, mentions)} from the inbox frame and the frames after it."""
    state = {
        r["room"]: [r["seq"], r["read"], r["unread"], r["mentions"]]
        for r in listener.hello["rooms"]
    }
    for frame in listener.frames:
        if frame["type"] == "unread":
            entry = state.setdefault(frame["room"], [0, 0, 0, 0])
            entry[0], entry[2], entry[3] = frame["seq"], frame["unread"], frame["mentions"]
        elif frame["type"] == "read" and frame["room"] in state:
            state[frame["room"]][1] = frame["seq"]
        elif frame["type"] == "unfollow":
            state.pop(frame["room"], None)
    return {room: (u, m) for room, (_, _, u, m) in state.items()}


def counted_from_the_api(daphne, rooms, reads, user):
    """{room: (unread, mentions)} counted here from each room's messages in their current
    state, above the given read positions."""
    found = {}
    for room in rooms:
        status, page = daphne.get_json(f"/api/rooms/{room}/messages?limit=500")
        assert status == 200, page
        above = [
            m for m in page["messages"]
            if m["seq"] > reads[room] and m["user"] != user and not m["deleted"]
        ]  # fmt: skip
        found[room] = (len(above), sum(user in m["mentions"] for m in above))
    return found


async def test_four_processes_post_edit_delete_in_twenty_rooms_while_the_user_reads(pg_stack):
    db_stack = pg_stack  # PostgreSQL: the database that several hosts share in production
    daphnes = db_stack.start_daphne(4, CHAT_MESSAGE_RATE="0")
    posters = [f"ib-p{i}" for i in range(4)]
    cookies = db_stack.sessions(["ib-u", *posters])
    tag = uuid.uuid4().hex[:6]
    rooms = [f"ib-{tag}-{i}" for i in range(ROOMS)]
    for room in rooms:  # the user follows every room (a logged-in connect)
        await (await connect(daphnes[0], room, cookies["ib-u"])).close()
    box = Listener(await connect_inbox(daphnes[0], cookies["ib-u"]))
    assert sorted(r["room"] for r in box.hello["rooms"]) == sorted(rooms)
    reader = {room: await connect(daphnes[1], room, cookies["ib-u"]) for room in rooms[:5]}
    rng = random.Random(7)
    mentioning = []

    async def poster(index):
        daphne, name = daphnes[index], posters[index]
        sockets = {}
        try:
            for n in range(POSTS):
                room = rng.choice(rooms)
                if room not in sockets:
                    sockets[room] = Listener(await connect(daphne, room, cookies[name]))
                client = sockets[room]
                mention = n % 3 == 0
                text = f"{name} {n}" + (" @ib-u" if mention else "")
                ack = await client.answer({"type": "message", "text": text})
                assert ack["type"] == "ack", ack
                if mention:
                    mentioning.append((room, ack["seq"]))
                if n % 4 == 1:  # an edit that adds a mention, or takes one away
                    edited = f"{text} edited" + ("" if mention else " @ib-u")
                    reply = await client.answer(
                        {"type": "edit", "target": ack["seq"], "text": edited}
                    )
                    assert reply["type"] == "ack", reply
                if n % 5 == 2:
                    reply = await client.answer({"type": "delete", "target": ack["seq"]})
                    assert reply["type"] == "ack", reply
        finally:
            for client in sockets.values():
                await client.close()

    async def read_meanwhile():
        for _ in range(10):
            await asyncio.sleep(0.1)
            room = rng.choice(rooms[:5])
            await reader[room].send({"type": "read", "seq": 10**6})

    try:
        await asyncio.gather(*(poster(i) for i in range(4)), read_meanwhile())
        fresh = await connect_inbox(daphnes[2], cookies["ib-u"])
        expected = {r["room"]: (r["unread"], r["mentions"]) for r in fresh.hello["rooms"]}
        reads = {r["room"]: r["read"] for r in fresh.hello["rooms"]}
        await fresh.close()
        # The live inbox converges on that state (its last frames may still be on their way).
        await box.until(lambda _: followed_state(box) == expected)
        assert counted_from_the_api(daphnes[3], rooms, reads, "ib-u") == expected
        assert sum(u for u, _ in expected.values()) > 0
        # every message that mentioned the user when posted, from any process: one frame
        await box.until(lambda _: len(box.of_type("mention")) >= len(mentioning))
        got = sorted((f["room"], f["seq"]) for f in box.of_type("mention"))
        assert got == sorted(mentioning)
    finally:
        await box.close()
        for client in reader.values():
            await client.close()


async def test_two_devices_on_two_processes_stay_in_step(stack):
    a, b = stack.start_daphne(2)
    cookies = stack.sessions(["st-u", "st-v"])
    room = f"step-{uuid.uuid4().hex[:6]}"
    phone = await connect(a, room, cookies["st-u"])
    laptop = await connect(b, room, cookies["st-u"])
    box = await connect_inbox(b, cookies["st-u"])
    other = await connect(a, room, cookies["st-v"])
    try:
        await other.send({"type": "message", "text": "news"})
        seq = (await other.recv_type("ack"))["seq"]
        assert (await box.recv_type("unread"))["unread"] == 1
        await phone.send({"type": "read", "seq": seq})
        for client in (phone, laptop, box):
            assert await client.recv_type("read") == {"type": "read", "room": room, "seq": seq}
        assert (await box.recv_type("unread"))["unread"] == 0
        assert laptop.hello["read"] == 0
        again = await connect(a, room, cookies["st-u"])
        assert again.hello["read"] == seq
        await again.close()
    finally:
        for client in (phone, laptop, box, other):
            await client.close()


async def test_removed_membership__unfollow_on_another_process_and_no_more_counts(stack):
    a, b = stack.start_daphne(2)
    cookies = stack.sessions(["rm-owner", "rm-member"])
    room = f"club-{uuid.uuid4().hex[:6]}"
    stack.manage(
        "shell", "-c",
        "from django.contrib.auth import get_user_model\n"
        "from chat import membership\n"
        "U = get_user_model()\n"
        f"r = membership.create_private_room(U.objects.get(username='rm-owner'), {room!r})\n"
        "membership.add_member(r, r.owner, 'rm-member')\n",
    )  # fmt: skip
    box = await connect_inbox(b, cookies["rm-member"])
    assert [r["room"] for r in box.hello["rooms"]] == [room]
    owner = await connect(a, room, cookies["rm-owner"])
    try:
        stack.manage(
            "shell", "-c",
            "from django.contrib.auth import get_user_model\n"
            "from chat import membership\nfrom chat.models import Room\n"
            f"r = Room.objects.get(name={room!r})\n"
            "membership.remove_member(r, r.owner, 'rm-member')\n",
        )  # fmt: skip
        assert await box.recv_type("unfollow") == {"type": "unfollow", "room": room}
        await owner.send({"type": "message", "text": "@rm-member are you there?"})
        await owner.recv_type("ack")
        later = []
        try:
            while True:
                later.append(await box.recv(1.0))
        except TimeoutError:
            pass  # a second without a frame
        assert [f for f in later if f["type"] in ("unread", "mention")] == []
    finally:
        await box.close()
        await owner.close()
