"""chat.store: a batch of posts in one transaction, on the real database."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from chat import services, store
from chat.models import Message, Room

pytestmark = pytest.mark.django_db


@pytest.fixture
def users(make_user):
    return make_user("alice"), make_user("bob")


def post(user, text, client_id=None):
    return store.Post(user.pk, user.get_username(), text, client_id)


def test_store_posts__a_batch_takes_consecutive_seqs_in_order(users):
    alice, bob = users
    room = services.get_or_create_room("lobby")
    services.post_message(room.pk, alice, "before", None)
    results = store.store_posts(room.pk, [post(alice, "a", "1"), post(bob, "b"), post(alice, "c")])
    assert [(r.seq, r.username, r.text, r.created_now) for r in results] == [
        (2, "alice", "a", True),
        (3, "bob", "b", True),
        (4, "alice", "c", True),
    ]
    assert Room.objects.get(pk=room.pk).last_seq == 4
    stored = list(Message.objects.filter(room=room).order_by("seq").values_list("seq", "text"))
    assert stored == [(1, "before"), (2, "a"), (3, "b"), (4, "c")]


def test_store_posts__a_repeated_client_id_returns_the_first_message(users):
    alice, bob = users
    room = services.get_or_create_room("lobby")
    [first] = store.store_posts(room.pk, [post(alice, "first", "c1")])
    results = store.store_posts(
        room.pk,
        [
            post(alice, "retry of c1", "c1"),  # stored before
            post(bob, "bob's own c1", "c1"),  # another user's c1 is another message
            post(alice, "new", "c2"),
            post(alice, "retry of c2", "c2"),  # the same client_id twice in one batch
        ],
    )
    assert [(r.seq, r.text, r.created_now) for r in results] == [
        (first.seq, "first", False),
        (2, "bob's own c1", True),
        (3, "new", True),
        (3, "new", False),
    ]
    assert Message.objects.filter(room=room).count() == 3
    assert Room.objects.get(pk=room.pk).last_seq == 3


def test_store_posts__only_duplicates_change_nothing(users):
    alice, _ = users
    room = services.get_or_create_room("lobby")
    store.store_posts(room.pk, [post(alice, "one", "c1")])
    before = Room.objects.get(pk=room.pk).last_activity
    [again] = store.store_posts(room.pk, [post(alice, "one", "c1")])
    assert not again.created_now
    assert Room.objects.get(pk=room.pk).last_activity == before


def test_store_posts__a_batch_costs_the_statements_of_one_post(users):
    alice, bob = users
    room = services.get_or_create_room("lobby")
    with CaptureQueriesContext(connection) as one:
        store.store_posts(room.pk, [post(alice, "x", "k0")])
    batch = [post(u, f"m{i}", f"k{i + 1}") for i, u in enumerate([alice, bob] * 50)]
    with CaptureQueriesContext(connection) as hundred:
        store.store_posts(room.pk, batch)
    assert len(hundred.captured_queries) == len(one.captured_queries) <= 6


def test_store_posts__a_room_that_is_gone_raises(users):
    alice, _ = users
    room = services.get_or_create_room("gone")
    room_id = room.pk
    room.delete()
    with pytest.raises(Room.DoesNotExist):
        store.store_posts(room_id, [post(alice, "x")])
