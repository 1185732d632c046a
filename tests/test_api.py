"""chat.api: a message posted from server code takes the socket's path, on the real
database and Redis, and reaches connected sockets (the in-process hub) in seq order."""

import pytest
from asgiref.sync import sync_to_async
from django.db import transaction

from chat import api, services
from chat.models import ChatProfile, Membership, Message, Room
from tests.wsutil import socket

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def alice(make_user):
    return make_user("alice")


@pytest.fixture
def bot(make_user):
    return make_user("bot")


def test_post_message__stored_with_the_next_seq_by_user_or_by_name(alice):
    first = api.post_message("lobby", alice, "  hello  ", client_id="c-1")
    second = api.post_message("lobby", "alice", "again")
    assert first.created and second.created
    assert first.message["seq"] == 1 and second.message["seq"] == 2
    assert first.message["text"] == "hello" and first.message["client_id"] == "c-1"
    assert first.message["user"] == "alice" and first.message["room"] == "lobby"
    assert Room.objects.get(name="lobby").last_seq == 2  # created on first use, as on a socket


def test_post_message__a_repeated_client_id_returns_the_first_message(alice):
    first = api.post_message("lobby", alice, "one", client_id="dup")
    again = api.post_message("lobby", alice, "other text", client_id="dup")
    assert again == api.Posted(first.message, False)
    assert Message.objects.count() == 1


@pytest.mark.parametrize(
    "text, client_id, code",
    [
        ("", None, "empty"), ("   \u200b ", None, "empty"), ("x" * 4001, None, "too_long"),
        (None, None, "bad_field"), (42, None, "bad_field"), ("a\x00b", None, "bad_field"),
        ("hi", "no spaces", "bad_field"), ("hi", "x" * 65, "bad_field"), ("hi", 7, "bad_field"),
    ],
)  # fmt: skip
def test_post_message__invalid_messages_get_the_sockets_codes(alice, text, client_id, code):
    with pytest.raises(api.InvalidMessage) as refused:
        api.post_message("lobby", alice, text, client_id=client_id)
    assert refused.value.code == code
    assert not Message.objects.exists()


def test_post_message__validation_comes_before_the_user_check():
    with pytest.raises(api.InvalidMessage):
        api.post_message("lobby", "nobody", "")


def test_post_message__no_such_user_or_an_inactive_one(alice):
    with pytest.raises(api.LoginRequired, match="no user named 'nobody'"):
        api.post_message("lobby", "nobody", "hi")
    alice.is_active = False
    alice.save()
    with pytest.raises(api.LoginRequired, match="not active") as refused:
        api.post_message("lobby", alice, "hi")
    assert refused.value.code == "auth_required"


def test_post_message__bad_room_name_is_not_found(alice):
    with pytest.raises(api.RoomNotFound) as refused:
        api.post_message("Bad Room", alice, "hi")
    assert refused.value.code == "not_found"


def test_post_message__private_room_members_only(alice, bot):
    club = Room.objects.create(name="club", is_private=True, owner=alice)
    with pytest.raises(api.Forbidden) as refused:
        api.post_message("club", bot, "let me in")
    assert refused.value.code == "forbidden"
    Membership.objects.create(room=club, user=bot)
    assert api.post_message("club", bot, "thanks").message["seq"] == 1


def test_post_message__rate_limited_with_retry_after(settings, alice):
    settings.CHAT_MESSAGE_RATE = (2, 10)
    api.post_message("lobby", alice, "1", client_id="one")
    api.post_message("lobby", alice, "1 again", client_id="one")  # a repeat does not count
    api.post_message("lobby", alice, "2")
    with pytest.raises(api.RateLimited) as refused:
        api.post_message("lobby", alice, "3")
    assert refused.value.code == "rate_limited" and 0 < refused.value.retry_after <= 10
    assert Room.objects.get(name="lobby").last_seq == 2


def test_post_message__a_rate_exempt_bot_is_not_limited(settings, bot):
    settings.CHAT_MESSAGE_RATE = (2, 10)
    ChatProfile.objects.create(user=bot, rate_exempt=True)
    for i in range(5):
        api.post_message("lobby", bot, f"status {i}")
    assert Room.objects.get(name="lobby").last_seq == 5


def test_post_message__the_same_rate_as_the_socket_counts_both(settings, alice):
    """One limit per user: what the API stored counts against the socket, and back."""
    from asgiref.sync import async_to_sync

    from chat.limits import messages as ratelimit

    settings.CHAT_MESSAGE_RATE = (2, 10)
    api.post_message("lobby", alice, "1")
    token, _ = async_to_sync(ratelimit.reserve)(alice.pk, settings.CHAT_MESSAGE_RATE)
    assert token is not None  # the socket's second
    with pytest.raises(api.RateLimited):
        api.post_message("lobby", alice, "3")


async def test_post_message__reaches_sockets_in_seq_order_with_typed_messages(alice, bot):
    watcher = await socket("lobby", user=alice)
    typer = await socket("lobby", user=alice)
    await typer.send({"type": "message", "text": "typed 1"})
    assert (await typer.recv_type("ack"))["seq"] == 1
    await api.apost_message("lobby", bot, "from the api 2")
    await typer.send({"type": "message", "text": "typed 3"})
    assert (await typer.recv_type("ack"))["seq"] == 3
    await sync_to_async(api.post_message)("lobby", "bot", "from the api 4")
    got = [await watcher.recv_type("message") for _ in range(4)]
    assert [(m["seq"], m["user"], m["text"]) for m in got] == [
        (1, "alice", "typed 1"), (2, "bot", "from the api 2"),
        (3, "alice", "typed 3"), (4, "bot", "from the api 4"),
    ]  # fmt: skip
    # a repeated client_id is published again, and dropped by the hub that delivered it
    first = await api.apost_message("lobby", bot, "once", client_id="k")
    assert (await watcher.recv_type("message"))["seq"] == first.message["seq"]
    await api.apost_message("lobby", bot, "once", client_id="k")
    assert await watcher.nothing(0.5)
    await watcher.close()
    await typer.close()


async def test_post_message__inside_a_transaction_published_only_once_committed(alice, bot):
    watcher = await socket("lobby", user=alice)

    def rolled_back():
        with transaction.atomic():
            api.post_message("lobby", bot, "never happened")
            raise RuntimeError("the caller's work failed")

    with pytest.raises(RuntimeError):
        await sync_to_async(rolled_back)()
    assert await watcher.nothing(0.5)
    posted = await api.apost_message("lobby", bot, "this one")
    frame = await watcher.recv_type("message")
    assert frame == posted.message and frame["seq"] == 1  # the rolled-back seq is not a gap
    await watcher.close()


async def test_post_message__a_retry_publishes_what_its_first_attempt_stored_only(alice, bot):
    """The first attempt stored the message and its process stopped before publishing: the
    retry with the same client_id returns it (created False) and the room receives it."""
    watcher = await socket("lobby", user=alice)
    room = await sync_to_async(services.get_or_create_room)("lobby")
    await sync_to_async(services.post_message)(room.pk, bot, "cut short", "c-cut")
    assert await watcher.nothing(0.3)  # stored, never published
    again = await api.apost_message("lobby", bot, "cut short", client_id="c-cut")
    assert again.created is False
    frame = await watcher.recv_type("message")
    assert frame["seq"] == again.message["seq"] == 1 and frame["text"] == "cut short"
    await watcher.close()
