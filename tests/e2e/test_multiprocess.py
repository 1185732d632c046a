"""Several daphne processes on one Redis and one database, on SQLite and on PostgreSQL.

SQLite serialises writers and would hide a missing row lock; PostgreSQL does not, so the
concurrency tests run on both (`db_stack`).
"""

import asyncio
import uuid

import pytest

from tests.e2e.clients import connect

pytestmark = pytest.mark.e2e

USERS_PER_PROCESS = 2
POSTS_PER_USER = 20


def room_name(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


async def test_message_and_presence_span_processes(db_stack):
    a, b = db_stack.start_daphne(2)
    cookies = db_stack.sessions(["mp-alice", "mp-bob"])
    room = room_name("span")
    alice = await connect(a, room, cookies["mp-alice"])
    bob = await connect(b, room, cookies["mp-bob"])
    anonymous = await connect(b, room)
    try:
        assert alice.hello["type"] == "hello" and alice.hello["user"] == "mp-alice"
        presence = await alice.recv_type("presence")
        while presence["users"] != ["mp-alice", "mp-bob"] or presence["anonymous"] != 1:
            presence = await alice.recv_type("presence")
        await alice.send({"type": "message", "text": "  hello from A  ", "client_id": "c-1"})
        ack = await alice.recv_type("ack")
        assert ack == {"type": "ack", "client_id": "c-1", "seq": 1}
        for client in (alice, bob, anonymous):
            message = await client.recv_type("message")
            assert (message["seq"], message["text"], message["user"]) == (
                1,
                "hello from A",
                "mp-alice",
            )
    finally:
        for client in (alice, bob, anonymous):
            await client.close()


async def _collect(client, expected_messages, expected_acks, timeout):
    """Frames until expected_messages messages and expected_acks acks have arrived."""
    seqs, acks = [], []
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while len(seqs) < expected_messages or len(acks) < expected_acks:
        frame = await client.recv(max(deadline - loop.time(), 0.001))
        if frame["type"] == "message":
            seqs.append(frame["seq"])
        elif frame["type"] == "ack":
            acks.append(frame["seq"])
        elif frame["type"] in ("error", "__closed__"):
            raise AssertionError(f"unexpected {frame} after {len(seqs)} messages")
    return seqs, acks


async def test_concurrent_posts_from_several_processes__seq_unique_and_gap_free(db_stack):
    daphnes = db_stack.start_daphne(3, CHAT_MESSAGE_RATE="0")
    names = [f"cc-{i}-{uuid.uuid4().hex[:6]}" for i in range(len(daphnes) * USERS_PER_PROCESS)]
    cookies = db_stack.sessions(names)
    room = room_name("concurrency")
    clients = []
    for index, name in enumerate(names):
        clients.append(await connect(daphnes[index % len(daphnes)], room, cookies[name]))
    total = len(names) * POSTS_PER_USER
    try:

        async def post_all(client, name):
            for i in range(POSTS_PER_USER):
                await client.send({"type": "message", "text": f"{name} {i}", "client_id": f"m{i}"})

        collectors = [
            asyncio.ensure_future(_collect(c, total, POSTS_PER_USER, timeout=90)) for c in clients
        ]
        await asyncio.gather(*(post_all(c, n) for c, n in zip(clients, names)))
        results = await asyncio.gather(*collectors)
    finally:
        for client in clients:
            await client.close()

    every_ack = sorted(seq for _, acks in results for seq in acks)
    assert every_ack == list(range(1, total + 1)), "seq must be unique and gap-free"
    for seqs, _ in results:
        assert seqs == list(range(1, total + 1)), "each connection: every message, in order, once"
    status, page = daphnes[0].get_json(f"/api/rooms/{room}/messages?since=0&limit=500")
    assert status == 200 and page["seq"] == total
    assert [m["seq"] for m in page["messages"]] == list(range(1, total + 1))


async def test_same_client_id_from_two_processes_is_stored_once(db_stack):
    a, b = db_stack.start_daphne(2, CHAT_MESSAGE_RATE="0")
    cookies = db_stack.sessions(["dup-carol"])
    room = room_name("dedupe")
    on_a = await connect(a, room, cookies["dup-carol"])
    on_b = await connect(b, room, cookies["dup-carol"])
    try:
        for round_ in range(10):
            frame = {"type": "message", "text": f"once {round_}", "client_id": f"same-{round_}"}
            await asyncio.gather(on_a.send(frame), on_b.send(frame))
            ack_a, ack_b = await on_a.recv_type("ack"), await on_b.recv_type("ack")
            assert ack_a["seq"] == ack_b["seq"] == round_ + 1
    finally:
        await on_a.close()
        await on_b.close()
    status, page = a.get_json(f"/api/rooms/{room}/messages?since=0")
    assert status == 200
    assert [m["seq"] for m in page["messages"]] == list(range(1, 11))
