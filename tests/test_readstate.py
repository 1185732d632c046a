"""Read positions and counts on the database (chat.readstate, chat.follows): exact under
edits and deletions, the user's own messages never unread, positions only forward."""

import pytest

from chat import direct, membership, readstate, services, store
from chat.models import ReadPosition
from chat.readstate import Counts

pytestmark = pytest.mark.django_db


@pytest.fixture
def users(make_user):
    return {name: make_user(name) for name in ("alice", "bob", "carol")}


def post(room, user, text):
    frame, _ = services.post_message(room.pk, user, text, None)
    return frame["seq"]


def change(room, user, kind, target, **fields):
    [result] = services.post_messages(
        room.pk, [store.Change(kind, user.pk, user.get_username(), target, **fields)]
    )
    assert result.error is None, result.error
    return result.seq


def counts(room, user):
    return readstate.counts_for(room.pk, {user.pk})[user.pk]


def test_counts__others_messages_above_the_position_mentions_of_the_user(users):
    alice, bob = users["alice"], users["bob"]
    room = services.get_or_create_room("lobby")
    assert readstate.enter(alice.pk, room.pk) == (0, True)
    assert readstate.enter(alice.pk, room.pk) == (0, False)
    post(room, bob, "hi @alice")
    post(room, alice, "hi bob @alice")  # her own: never unread, her own mention neither
    third = post(room, bob, "plain")
    assert counts(room, alice) == Counts(seq=3, read=0, unread=2, mentions=1)
    assert readstate.move(alice.pk, room.pk, 1) == 1
    assert counts(room, alice) == Counts(seq=3, read=1, unread=1, mentions=0)
    edit = change(room, bob, "edit", third, text="now @alice")
    assert counts(room, alice) == Counts(seq=edit, read=1, unread=1, mentions=1)
    deletion = change(room, bob, "delete", third)
    assert counts(room, alice) == Counts(seq=deletion, read=1, unread=0, mentions=0)
    reaction = change(room, bob, "react", 1, emoji="👍", on=True)
    assert counts(room, alice) == Counts(seq=reaction, read=1, unread=0, mentions=0)


def test_move__forward_only_capped_at_the_latest(users):
    alice, bob = users["alice"], users["bob"]
    room = services.get_or_create_room("lobby")
    assert readstate.move(alice.pk, room.pk, 5) is None  # nothing posted: nothing to read
    for i in range(3):
        post(room, bob, f"m{i}")
    assert readstate.move(alice.pk, room.pk, 10**9) == 3  # capped, and she follows it now
    assert readstate.position(alice.pk, room.pk) == 3
    assert readstate.move(alice.pk, room.pk, 2) is None
    assert readstate.move(alice.pk, room.pk, 3) is None
    assert readstate.position(alice.pk, room.pk) == 3


def test_newer_than__orders_states_never_back_in_time():
    old = Counts(seq=5, read=2, unread=3, mentions=0)
    assert Counts(6, 2, 4, 0).newer_than(old)
    assert Counts(5, 4, 1, 0).newer_than(old)
    assert not Counts(5, 2, 3, 0).newer_than(old)  # the same state
    assert not Counts(4, 3, 1, 0).newer_than(old)  # an older seq
    assert not Counts(7, 1, 6, 0).newer_than(old)  # an older position
    assert old.newer_than(None)


def test_follows__memberships_owners_and_direct_rooms(users):
    alice, bob, carol = users["alice"], users["bob"], users["carol"]
    club = membership.create_private_room(alice, "club")
    assert readstate.position(alice.pk, club.pk) == 0  # the owner follows it
    membership.add_member(club, alice, "bob")
    assert readstate.position(bob.pk, club.pk) == 0
    membership.remove_member(club, alice, "bob")
    assert readstate.position(bob.pk, club.pk) is None
    dm, _ = direct.open_direct(carol, "alice")
    names = {r.name: r.title for r in readstate.inbox(alice.pk)}
    assert names == {"club": "club", dm.name: "carol"}
    assert {r.name: r.title for r in readstate.inbox(carol.pk)} == {dm.name: "alice"}


def test_inbox__most_recent_activity_first_then_by_name(users):
    alice, bob = users["alice"], users["bob"]
    rooms = {name: services.get_or_create_room(name) for name in ("a-quiet", "b-old", "c-new")}
    for room in rooms.values():
        readstate.enter(alice.pk, room.pk)
    post(rooms["b-old"], bob, "earlier")
    post(rooms["c-new"], bob, "later")
    assert [r.name for r in readstate.inbox(alice.pk)] == ["c-new", "b-old", "a-quiet"]


def test_counts_for__many_users_in_chunks(users, make_user, monkeypatch):
    monkeypatch.setattr(readstate, "CHUNK", 2)  # the chunking itself, with few users
    room = services.get_or_create_room("lobby")
    readers = [make_user(f"reader{i}") for i in range(5)]
    for reader in readers:
        readstate.enter(reader.pk, room.pk)
    post(room, users["bob"], "for everyone")
    found = readstate.counts_for(room.pk, {r.pk for r in readers} | {users["carol"].pk})
    assert set(found) == {r.pk for r in readers}  # carol follows nothing
    assert {c.unread for c in found.values()} == {1}


def test_migration_backfill__existing_members_follow_with_history_read(users):
    # The data migration's own function, on rooms made the old way (no follows yet).
    from importlib import import_module

    from django.apps import apps

    migration = import_module("chat.migrations.0004_read_positions")
    club = membership.create_private_room(users["alice"], "club")
    membership.add_member(club, users["alice"], "bob")
    post(club, users["alice"], "before the upgrade")
    ReadPosition.objects.all().delete()
    migration.follow_private_rooms(apps, None)
    positions = dict(ReadPosition.objects.values_list("user__username", "seq"))
    assert positions == {"alice": 1, "bob": 1}
