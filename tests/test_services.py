"""chat.services on the real database: seq under lock, idempotency, access, pages."""

import json

import pytest
from django.contrib.auth.models import AnonymousUser

from chat import services, store
from chat.models import Membership, Message, Room

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice(make_user):
    return make_user("alice")


def test_post_message__seq_is_next_and_client_id_is_idempotent(alice):
    room = services.get_or_create_room("lobby")
    first, created = services.post_message(room.pk, alice, "one", "c1")
    second, _ = services.post_message(room.pk, alice, "two", None)
    again, created_again = services.post_message(room.pk, alice, "other text", "c1")
    assert (first["seq"], second["seq"], created) == (1, 2, True)
    assert (again, created_again) == (first, False)
    assert Room.objects.get(pk=room.pk).last_seq == 2
    assert Message.objects.count() == 2


def test_check_access__private_rooms(alice, make_user):
    bob = make_user("bob")
    room = Room.objects.create(name="club", is_private=True, owner=alice)
    services.check_access(room, alice)
    with pytest.raises(services.LoginRequired):
        services.check_access(room, AnonymousUser())
    with pytest.raises(services.NotMember):
        services.check_access(room, bob)
    Membership.objects.create(room=room, user=bob)
    services.check_access(room, bob)
    room_id = room.pk
    room.delete()
    with pytest.raises(services.RoomGone):
        services.check_access_now(room_id, bob)


def test_open_room__anonymous_readers_create_nothing_users_do(alice):
    virtual = services.open_room("fresh", AnonymousUser())
    assert virtual.pk is None and not Room.objects.filter(name="fresh").exists()
    assert services.latest_messages(virtual, 50) == services.Page([], True, 0)
    created = services.open_room("fresh", alice)
    assert created.pk is not None
    assert services.stored(virtual).pk == created.pk


def test_create_room__limited_per_user(settings, alice):
    settings.CHAT_ROOM_CREATE_RATE = (1, 3600)
    services.create_room("first", alice)
    with pytest.raises(services.RoomLimitReached) as refused:
        services.create_room("second", alice)
    assert refused.value.retry_after > 0
    assert services.create_room("first", alice).name == "first"  # existing: not a new one


def test_pages__latest_after_before_and_a_deleted_message(alice):
    room = services.get_or_create_room("lobby")
    for i in range(6):
        services.post_message(room.pk, alice, f"m{i + 1}", None)
    [deleted] = services.post_messages(room.pk, [store.Change("delete", alice.pk, "alice", 3)])
    assert deleted.seq == 7
    latest = services.latest_messages(room, 2)
    assert ([m["seq"] for m in latest.messages], latest.complete, latest.latest) == (
        [5, 6],
        False,
        7,
    )
    after = services.events_after(room, 1, 10)
    assert [(m["type"], m["seq"]) for m in after.messages] == [
        ("message", 2), ("message", 3), ("message", 4), ("message", 5), ("message", 6),
        ("delete", 7),
    ]  # fmt: skip
    assert after.complete and after.messages[1]["text"] == ""  # nothing of it is sent again
    before = services.messages_before(room, 5, 10)
    assert [(m["seq"], m["deleted"], m["text"]) for m in before.messages] == [
        (1, False, "m1"), (2, False, "m2"), (3, True, ""), (4, False, "m4"),
    ]  # fmt: skip
    assert before.complete
    rows = services.encoded_range(room.pk, 1, 7)
    assert [seq for seq, _ in rows] == [2, 3, 4, 5, 6, 7]
    assert json.loads(rows[-1][1])["type"] == "delete"
