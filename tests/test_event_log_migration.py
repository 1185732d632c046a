"""The data migration of the event log (chat 0003): messages hidden before the log become
deleted ones, each with a `delete` event appended to its room's log (the room's next seqs),
on the real database, from the schema before it."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from chat import services

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("chat", "0002_bots")]
AFTER = [("chat", "0003_event_log")]


def _migrate(target):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(target)
    return executor.loader.project_state(target).apps


def _migrate_to_latest():
    """Back to the schema the models describe (later migrations included)."""
    executor = MigrationExecutor(connection)
    _migrate(executor.loader.graph.leaf_nodes("chat"))


def test_hidden_messages_become_delete_events_at_the_end_of_their_rooms_logs():
    old = _migrate(BEFORE)
    try:
        User = old.get_model("auth", "User")
        Room = old.get_model("chat", "Room")
        Message = old.get_model("chat", "Message")
        User.objects.create(username="root", is_superuser=True, is_staff=True)
        alice = User.objects.create(username="alice")
        lobby, other = Room.objects.create(name="lobby"), Room.objects.create(name="other")
        for room, hidden in ((lobby, {2, 3}), (other, set())):
            for seq in range(1, 5):
                Message.objects.create(
                    room=room, seq=seq, user=alice, text=f"{room.name} {seq}",
                    created="2026-01-01T00:00:00Z", hidden=seq in hidden,
                )  # fmt: skip
            room.last_seq = 4
            room.save()
    finally:
        _migrate(AFTER)
        _migrate_to_latest()
    new_lobby = services.get_or_create_room("lobby")
    assert new_lobby.last_seq == 6  # two deletions appended: seq 5 and 6
    log = services.events_after(new_lobby, 4, 10).messages
    assert [(e["type"], e["seq"], e["target"], e["user"]) for e in log] == [
        ("delete", 5, 2, "root"), ("delete", 6, 3, "root"),
    ]  # fmt: skip
    current = services.latest_messages(new_lobby, 10).messages
    assert [(m["seq"], m["deleted"], m["text"]) for m in current] == [
        (1, False, "lobby 1"), (2, True, ""), (3, True, ""), (4, False, "lobby 4"),
    ]  # fmt: skip
    untouched = services.get_or_create_room("other")
    assert untouched.last_seq == 4
    assert services.events_after(untouched, 0, 10).messages[-1]["seq"] == 4
