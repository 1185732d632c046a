"""chat.realtime.writer: posts queue per room while a batch is in the database."""

import asyncio

import pytest
from channels.db import database_sync_to_async

from chat import services, store
from chat.models import Message, Room
from chat.realtime.writer import PostWriter

pytestmark = pytest.mark.django_db(transaction=True)


def post(user, text, client_id=None):
    return store.Post(user.pk, user.get_username(), text, client_id)


@pytest.fixture
def room_and_users(make_user):
    alice, bob = make_user("alice"), make_user("bob")
    return services.get_or_create_room("lobby"), alice, bob


async def test_post__concurrent_posts_to_a_room_are_batched_and_keep_their_order(room_and_users):
    room, alice, bob = room_and_users
    writer = PostWriter()
    sizes = []
    original = writer._run

    async def counting(room_id, posts):
        sizes.append(len(posts))
        return await original(room_id, posts)

    writer._run = counting
    posts = [post(alice if i % 2 else bob, f"m{i}", f"c{i}") for i in range(60)]
    results = await asyncio.gather(*(writer.post(room.pk, p) for p in posts))
    # Each post got its own message back, in the order the posts were queued.
    assert [r.frame["text"] for r in results] == [p.text for p in posts]
    assert [r.seq for r in results] == list(range(1, 61))
    assert all(r.created_now for r in results)
    assert sum(sizes) == 60 and len(sizes) < 60 and max(sizes) > 1, sizes
    stored = await database_sync_to_async(
        lambda: list(
            Message.objects.filter(room=room).order_by("seq").values_list("text", flat=True)
        )
    )()
    assert stored == [p.text for p in posts]


async def test_post__a_post_the_database_refuses_fails_alone(room_and_users):
    room, alice, _ = room_and_users
    writer = PostWriter()
    ghost = store.Post(10**9, "ghost", "no such user", None)  # the foreign key refuses it
    good = [writer.post(room.pk, post(alice, f"ok {i}")) for i in range(5)]
    outcomes = await asyncio.gather(*good[:2], writer.post(room.pk, ghost), *good[2:],
                                    return_exceptions=True)  # fmt: skip
    refused = [o for o in outcomes if isinstance(o, Exception)]
    assert len(refused) == 1, outcomes
    assert sorted(r.seq for r in (o for o in outcomes if not isinstance(o, Exception))) == [
        1, 2, 3, 4, 5,
    ]  # fmt: skip


async def test_post__a_room_that_is_gone_fails_every_waiting_post(room_and_users):
    room, alice, _ = room_and_users
    room_id = room.pk
    await database_sync_to_async(room.delete)()
    writer = PostWriter()
    outcomes = await asyncio.gather(
        *(writer.post(room_id, post(alice, f"x{i}")) for i in range(3)), return_exceptions=True
    )
    assert all(isinstance(o, Room.DoesNotExist) for o in outcomes), outcomes
    await writer.wait_idle(1)
    assert not writer._queues
