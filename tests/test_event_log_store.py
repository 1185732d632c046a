"""The room's log below the consumer: chat.store's outcomes for retries, chat.protocol's
emoji rule, chat.mentions' rule of where a mention starts (real database)."""

import json

import pytest
from django.db import connection
from django.test import Client

from chat import api, eventlog, mentions, protocol, services, store, token_auth
from chat.models import Room

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(make_user):
    return {name: make_user(name) for name in ("alice", "bob")}


def _one(room, item):
    [result] = services.post_messages(room.pk, [item])
    assert result.error is None, result.error
    return result


def test_a_retried_message__its_frame_is_the_first_one_with_reply_to_and_mentions(people):
    alice = people["alice"]
    room = services.get_or_create_room("lobby")
    first = _one(room, store.Post(alice.pk, "alice", "hi", None))
    posted = _one(room, store.Post(alice.pk, "alice", "yes @bob", "c-1", reply_to=first.seq))
    assert (posted.frame["reply_to"], posted.frame["mentions"]) == (first.seq, ["bob"])
    _one(room, store.Change("edit", alice.pk, "alice", posted.seq, text="no @alice"))
    again = _one(room, store.Post(alice.pk, "alice", "yes @bob", "c-1", reply_to=first.seq))
    # As posted, exactly as the first attempt published it (and resume replays it).
    assert not again.created_now and again.frame == posted.frame


def test_the_api__a_repeated_client_id_answers_the_first_message_whole(people):
    first = api.post_message("lobby", people["alice"], "hi")
    posted = api.post_message(
        "lobby", people["alice"], "@bob look", client_id="r-1", reply_to=first.message["seq"]
    )
    again = api.post_message(
        "lobby", people["alice"], "@bob look", client_id="r-1", reply_to=first.message["seq"]
    )
    assert again == api.Posted(posted.message, False)


@pytest.mark.parametrize(
    "change",
    [
        dict(kind="edit", text="fixed @bob"),
        dict(kind="react", emoji="👍", on=True),
        dict(kind="delete"),
    ],
)
def test_a_retried_change__acked_with_its_first_seq_and_the_same_frame(people, change):
    """The attempt that stored it may have been cut before its publish: the retry publishes
    the same event again (hubs and sockets drop a seq they delivered)."""
    alice = people["alice"]
    room = services.get_or_create_room("lobby")
    message = _one(room, store.Post(alice.pk, "alice", "text", None))
    kind = change.pop("kind")
    item = store.Change(kind, alice.pk, "alice", message.seq, client_id="x-1", **change)
    first = _one(room, item)
    again = _one(room, item)
    assert (again.seq, again.created_now) == (first.seq, False)
    assert again.frame == first.frame
    assert Room.objects.get(pk=room.pk).last_seq == first.seq


@pytest.mark.parametrize(
    "emoji",
    ["👍", "❤️", "👍🏽", "1️⃣", "#️⃣", "‼️", "ℹ️", "↔️", "🇫🇷", "👨‍👩‍👧", "🏴\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f", "©️", "⭐"],
)  # fmt: skip
def test_valid_emoji__emoji_people_send(emoji):
    assert protocol.valid_emoji(emoji)


@pytest.mark.parametrize(
    "value",
    ["a", "ok", "a👍", "👍a", "👍!", "1", "+", "#", "->", "é", "\u200d", "\ufe0f", "🏽", "👍 ",
     "\x07👍", "\ue000", "1\u20e3a", 5, None, ""],
)  # fmt: skip
def test_valid_emoji__what_is_not_one_emoji(value):
    assert not protocol.valid_emoji(value)


@pytest.mark.parametrize(
    "text, names",
    [
        ("@bob hi", {"bob"}),
        ("hi (@bob)", {"bob"}),
        ("a@bob", set()),
        ("café@bob", set()),  # after a letter, also a non-ASCII one: an address, no mention
        ("_@bob", set()),
        ("٣@bob", set()),  # after a digit of another script
        ("—@bob", {"bob"}),
    ],
)
def test_candidates__a_mention_starts_after_what_is_not_a_letter_digit_or_underscore(text, names):
    assert mentions.candidates(text) == names


# The HTTP API in its version-2 form: reply_to, and messages in their current state.


def _api_post(client, token, body):
    return client.post(
        "/api/rooms/lobby/messages", json.dumps(body), content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )  # fmt: skip


@pytest.fixture
def bot_token(people):
    return token_auth.create_token(people["alice"], "ci")[1]


def test_api_post__reply_to_stored_not_found_404_a_deleted_one_403(people, bot_token):
    client = Client()
    first = _api_post(client, bot_token, {"text": "question"}).json()
    reply = _api_post(client, bot_token, {"text": "answer @bob", "reply_to": first["seq"]})
    assert reply.status_code == 201
    assert (reply.json()["reply_to"], reply.json()["mentions"]) == (first["seq"], ["bob"])
    missing = _api_post(client, bot_token, {"text": "x", "reply_to": 99})
    assert (missing.status_code, missing.json()["error"]) == (404, "not_found")
    room = Room.objects.get(name="lobby")
    _one(room, store.Change("delete", people["alice"].pk, "alice", first["seq"]))
    gone = _api_post(client, bot_token, {"text": "x", "reply_to": first["seq"]})
    assert (gone.status_code, gone.json()["error"]) == (403, "forbidden")
    bad = _api_post(client, bot_token, {"text": "x", "reply_to": "1"})
    assert (bad.status_code, bad.json()["error"]) == (400, "bad_field")
    assert Room.objects.get(pk=room.pk).last_seq == 3  # question, answer, deletion


def test_api_post__a_reply_to_nothing_is_not_found_also_over_the_rate(people, settings):
    settings.CHAT_MESSAGE_RATE = (1, 30)
    api.post_message("lobby", people["alice"], "one")
    with pytest.raises(api.NotFound):
        api.post_message("lobby", people["alice"], "two", reply_to=99)
    with pytest.raises(api.RateLimited):
        api.post_message("lobby", people["alice"], "two", reply_to=1)


def test_api_get__current_state_without_since_every_event_with_it(people, bot_token):
    alice = people["alice"]
    room = services.get_or_create_room("lobby")
    posted = _one(room, store.Post(alice.pk, "alice", "helo", None))
    _one(room, store.Change("edit", alice.pk, "alice", posted.seq, text="hello"))
    _one(room, store.Change("react", alice.pk, "alice", posted.seq, emoji="👍", on=True))
    client = Client()
    headers = {"HTTP_AUTHORIZATION": f"Bearer {bot_token}"}
    page = client.get("/api/rooms/lobby/messages", **headers).json()
    [message] = page["messages"]
    assert page["seq"] == 3 and (message["text"], message["reactions"]) == (
        "hello",
        {"👍": ["alice"]},
    )
    assert message["edited"] is not None
    log = client.get("/api/rooms/lobby/messages?since=0", **headers).json()
    assert [(e["type"], e["seq"]) for e in log["messages"]] == [
        ("message", 1), ("edit", 2), ("reaction", 3),
    ]  # fmt: skip
    assert log["messages"][0]["text"] == "helo" and log["complete"]
    assert eventlog.fold(log["messages"]) == eventlog.fold(page["messages"])


# Reading cost: a page deep in a long room reads its page, not the room.


def _vm_steps(read):
    """How many SQLite virtual-machine steps read() takes (counted per 100), a measure of
    the rows it visits that does not depend on the machine's speed (the tests' database
    is SQLite)."""
    raw = connection.connection
    steps = [0]

    def count():
        steps[0] += 1
        return 0

    raw.set_progress_handler(count, 100)
    try:
        read()
    finally:
        raw.set_progress_handler(None, 100)
    return steps[0]


def test_a_history_page_deep_in_a_long_room_costs_what_the_latest_page_costs(people):
    alice = people["alice"]
    room = services.get_or_create_room("long")
    services.post_messages(
        room.pk, [store.Post(alice.pk, "alice", f"m{i}", None) for i in range(3000)]
    )
    connection.ensure_connection()
    latest = _vm_steps(lambda: store.read_page(room.pk, "long", limit=50, newest=True))
    deep = _vm_steps(lambda: store.read_page(room.pk, "long", before=100, limit=50, newest=True))
    assert deep <= 2 * latest + 10, (deep, latest)
