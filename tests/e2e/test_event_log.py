"""The room's event log over real daphne processes, one Redis and one database.

- Two processes editing, deleting and reacting to one message at once: every client sees
  the same events in the same seq order and ends with the state a fresh `hello` shows.
- A client away during edits, a deletion and reactions resumes (`?since=`, `resume`) and
  ends with exactly that state too.
- An event a process's hub never heard of (stored without its publish) is delivered from
  the database by the gap repair once a later event shows the gap.
"""

import asyncio
import json
import uuid

import pytest

from chat import eventlog
from tests.e2e.clients import Listener, connect

pytestmark = pytest.mark.e2e

TIMEOUT = 20.0


def room_name(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


async def opened(daphne, room, cookie=None, query=""):
    return Listener(await connect(daphne, room, cookie, query))


def same_event(a, b):
    """The same event, or the same edit of a message deleted since, one of them as a process
    read it back from the database after the deletion (its text and mentions blanked:
    nothing of a deleted message is sent again)."""
    if a == b:
        return True
    blank = {"text": "", "mentions": []}
    return (
        a["type"] == b["type"] == "edit"
        and {**a, **blank} == {**b, **blank}
        and ({k: a[k] for k in blank} == blank or {k: b[k] for k in blank} == blank)
    )


def current_state(daphne, room):
    """{seq: message} as the messages API shows the room now (its current state)."""
    status, page = daphne.get_json(f"/api/rooms/{room}/messages?limit=500")
    assert status == 200, page
    return eventlog.fold(page["messages"]), page["seq"]


async def fresh_hello_state(daphne, room, cookie):
    client = await connect(daphne, room, cookie)
    try:
        return eventlog.fold(client.hello["history"]), client.hello["seq"]
    finally:
        await client.close()


async def test_two_processes_change_one_message_at_once__everyone_converges(db_stack):
    a, b = db_stack.start_daphne(2, CHAT_MESSAGE_RATE="0")
    names = ["el-alice", "el-bob", "el-carol", "el-dave"]
    cookies = db_stack.sessions(names)
    room = room_name("converge")
    # alice on A and again on B (the author edits from two devices), bob on A, carol and
    # dave on B; an anonymous reader on each process.
    clients = {
        "alice@a": await opened(a, room, cookies["el-alice"]),
        "alice@b": await opened(b, room, cookies["el-alice"]),
        "bob@a": await opened(a, room, cookies["el-bob"]),
        "carol@b": await opened(b, room, cookies["el-carol"]),
        "dave@b": await opened(b, room, cookies["el-dave"]),
        "reader@a": await opened(a, room),
        "reader@b": await opened(b, room),
    }
    try:
        first = await clients["alice@a"].answer({"type": "message", "text": "first"})
        target = first["seq"]
        # The message as each socket got it: the state its later events apply to.
        initial = {name: (await c.events_upto(target))[-1] for name, c in clients.items()}

        async def run(name, frames):
            return [await clients[name].answer(frame) for frame in frames]

        def react(emoji, on=True):
            return {"type": "react", "target": target, "emoji": emoji, "on": on}

        scripts = {
            "alice@a": [
                {"type": "edit", "target": target, "text": f"edit A{i} @el-bob"} for i in range(6)
            ],
            "alice@b": [
                *({"type": "edit", "target": target, "text": f"edit B{i}"} for i in range(3)),
                {"type": "delete", "target": target},
                *({"type": "edit", "target": target, "text": f"late B{i}"} for i in range(2)),
            ],
            "bob@a": [react("👍"), react("🎉"), react("👍", False), react("👍"), react("❤️")],
            "carol@b": [react("👍"), react("👍", False), react("🎉"), react("👍")],
            "dave@b": [
                react("👀"),
                {"type": "message", "text": "meanwhile", "reply_to": target},
                react("👀", False),
            ],
        }
        answers = dict(zip(scripts, await asyncio.gather(*(run(n, f) for n, f in scripts.items()))))
        acked = sorted(
            frame["seq"]
            for frames in answers.values()
            for frame in frames
            if frame["type"] == "ack" and frame["seq"] is not None
        )
        refused = [f for frames in answers.values() for f in frames if f["type"] == "error"]
        # Every answer is an ack or a rule's refusal (after the deletion): never lost.
        assert {f["code"] for f in refused} <= {"forbidden"}, refused
        latest = max(acked)
        # Stored events are unique and gap-free: first, then one seq per stored change.
        assert acked == list(range(target + 1, latest + 1))
        seen = {
            name: [e for e in await c.events_upto(latest) if e["seq"] > target]
            for name, c in clients.items()
        }
    finally:
        for client in clients.values():
            await client.close()

    orders = {name: [e["seq"] for e in events] for name, events in seen.items()}
    assert all(order == list(range(target + 1, latest + 1)) for order in orders.values()), orders
    reference = seen["reader@a"]
    differ = {
        name: [(a, b) for a, b in zip(events, reference) if not same_event(a, b)]
        for name, events in seen.items()
    }
    assert not any(differ.values()), differ
    converged = eventlog.fold(reference, {target: initial["reader@a"]})
    for name, events in seen.items():
        assert eventlog.fold(events, {target: initial[name]}) == converged, name
    for daphne in (a, b):
        assert await fresh_hello_state(daphne, room, cookies["el-bob"]) == (converged, latest)
        assert current_state(daphne, room) == (converged, latest)
    assert converged[target]["deleted"] and converged[target]["text"] == ""
    edits = [e for e in reference if e["type"] == "edit"]
    assert all(e["mentions"] == (["el-bob"] if "@el-bob" in e["text"] else []) for e in edits)


async def test_away_during_edits_a_deletion_and_reactions__resume_gives_the_fresh_state(stack):
    a, b = stack.start_daphne(2, CHAT_MESSAGE_RATE="0")
    cookies = stack.sessions(["aw-alice", "aw-bob", "aw-carol"])
    room = room_name("away")
    alice = await opened(a, room, cookies["aw-alice"])
    try:
        kept = (await alice.answer({"type": "message", "text": "kept"}))["seq"]
        doomed = (await alice.answer({"type": "message", "text": "doomed @aw-bob"}))["seq"]
        bob = await opened(b, room, cookies["aw-bob"])
        state_at, since = eventlog.fold(bob.hello["history"]), bob.hello["seq"]
        await bob.close()  # away from here on
        for i in range(10):
            ack = await alice.answer({"type": "edit", "target": kept, "text": f"kept v{i}"})
            assert ack["type"] == "ack", ack
        carol = await opened(a, room, cookies["aw-carol"])
        for frame in (
            {"type": "react", "target": kept, "emoji": "👍", "on": True},
            {"type": "react", "target": doomed, "emoji": "🎉", "on": True},
            {"type": "react", "target": kept, "emoji": "❤️", "on": True},
            {"type": "react", "target": kept, "emoji": "👍", "on": False},
        ):
            assert (await carol.answer(frame))["type"] == "ack"
        await carol.close()
        assert (await alice.answer({"type": "delete", "target": doomed}))["type"] == "ack"
        reply = {"type": "message", "text": "after", "reply_to": kept}
        latest = (await alice.answer(reply))["seq"]
    finally:
        await alice.close()

    fresh, fresh_seq = await fresh_hello_state(a, room, cookies["aw-carol"])
    assert fresh_seq == latest == since + 16  # 10 edits, 4 reactions, a deletion, a reply
    assert fresh[kept]["text"] == "kept v9" and fresh[kept]["reactions"] == {"❤️": ["aw-carol"]}
    assert fresh[doomed]["deleted"] and fresh[doomed]["mentions"] == []
    back = await connect(b, room, cookies["aw-bob"], query=f"since={since}")
    try:
        replayed = back.hello["history"]
        assert [e["seq"] for e in replayed] == list(range(since + 1, latest + 1))
        assert back.hello["complete"] and back.hello["seq"] == latest
        assert eventlog.fold(replayed, state_at) == fresh
        # The same through the resume command, on the open socket.
        await back.send({"type": "resume", "since": since})
        resumed = []
        while (frame := await back.recv(TIMEOUT))["type"] != "resumed":
            assert frame["type"] != "__closed__", frame
            if frame["type"] not in ("presence", "typing"):
                resumed.append(frame)
        assert resumed == replayed
        assert frame == {"type": "resumed", "seq": latest, "complete": True}
    finally:
        await back.close()
    assert current_state(b, room) == (fresh, latest)


_STORE_WITHOUT_PUBLISH = """
import json
from django.contrib.auth import get_user_model
from chat import services, store
from chat.models import Room
user = get_user_model().objects.get(username=USER)
room = Room.objects.get(name=ROOM)
[result] = services.post_messages(
    room.pk, [store.Change("edit", user.pk, user.username, TARGET, text="unannounced")]
)
print(json.dumps([result.seq, result.error]))
"""


async def test_an_event_the_hub_never_heard_of__the_gap_repair_delivers_it(stack):
    [a] = stack.start_daphne(1, CHAT_MESSAGE_RATE="0")
    cookies = stack.sessions(["gap-alice", "gap-bob"])
    room = room_name("gap")
    alice = await opened(a, room, cookies["gap-alice"])
    bob = await opened(a, room, cookies["gap-bob"])
    try:
        target = (await alice.answer({"type": "message", "text": "before"}))["seq"]
        await bob.events_upto(target)
        script = (
            _STORE_WITHOUT_PUBLISH.replace("USER", json.dumps("gap-alice"))
            .replace("ROOM", json.dumps(room))
            .replace("TARGET", str(target))
        )
        result = stack.manage("shell", "-v", "0", "-c", script)
        seq, error = json.loads(result.stdout.strip().splitlines()[-1])
        assert (seq, error) == (target + 1, None)  # stored, published by nobody
        react = {"type": "react", "target": target, "emoji": "👍", "on": True}
        later = await alice.answer(react)
        assert later["seq"] == target + 2
        events = [e for e in await bob.events_upto(later["seq"]) if e["seq"] > target]
    finally:
        await alice.close()
        await bob.close()
    assert [(e["type"], e["seq"]) for e in events] == [
        ("edit", target + 1), ("reaction", target + 2),
    ]  # fmt: skip
    assert events[0]["text"] == "unannounced" and events[0]["target"] == target


_HIDDEN_BEFORE_THE_LOG = """
from django.contrib.auth import get_user_model
from django.db import connection
from django.utils import timezone
User = get_user_model()
User.objects.create(username="mig-root", is_superuser=True, is_staff=True)
alice = User.objects.create(username="mig-alice")
with connection.cursor() as cursor:
    cursor.execute("INSERT INTO chat_room (name, is_private, last_seq, created)"
                   " VALUES ('mig', %s, 3, %s)", [False, timezone.now()])
    cursor.execute("SELECT id FROM chat_room WHERE name = 'mig'")
    [room_id] = cursor.fetchone()
    for seq in (1, 2, 3):
        cursor.execute(
            "INSERT INTO chat_message (room_id, seq, user_id, text, created, hidden)"
            " VALUES (%s, %s, %s, %s, %s, %s)",
            [room_id, seq, alice.pk, f"text {seq}", timezone.now(), seq == 2],
        )
"""


def test_migrate__messages_hidden_before_the_log_become_delete_events(db_stack):
    """The data migration on the deployment's database (SQLite and PostgreSQL): from the
    schema before the log, with a hidden message, `migrate` appends its deletion."""
    db_stack.manage("migrate", "chat", "0002_bots", "--noinput")
    db_stack.manage("shell", "-v", "0", "-c", _HIDDEN_BEFORE_THE_LOG)
    db_stack.manage("migrate", "--noinput")
    [a] = db_stack.start_daphne(1)
    status, log = a.get_json("/api/rooms/mig/messages?since=0")
    assert status == 200 and log["seq"] == 4, log
    assert [(e["type"], e["seq"]) for e in log["messages"]] == [
        ("message", 1), ("message", 2), ("message", 3), ("delete", 4),
    ]  # fmt: skip
    assert log["messages"][1]["text"] == "" and log["messages"][3]["user"] == "mig-root"
    status, page = a.get_json("/api/rooms/mig/messages")
    assert [(m["seq"], m["deleted"], m["text"]) for m in page["messages"]] == [
        (1, False, "text 1"), (2, True, ""), (3, False, "text 3"),
    ]  # fmt: skip
