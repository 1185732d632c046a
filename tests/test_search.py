"""GET /api/search on the real database (SQLite here; the same file runs on PostgreSQL with
DATABASE_URL set, and tests/e2e/test_search_e2e.py runs the main cases over daphne on both),
through Django's test client: the full-text index kept current by posts, edits and
deletions, privacy on every path, paging, and hostile queries."""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import connection
from django.test import Client

from chat import membership, search, search_index, services, store, token_auth
from chat.models import Membership, Room

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(make_user):
    return {name: make_user(name) for name in ("alice", "bob", "carol")}


@pytest.fixture
def secret(people):
    """A private room of alice's with bob as a member (carol is not)."""
    room = membership.create_private_room(people["alice"], "secret")
    membership.add_member(room, people["alice"], "bob")
    return room


def say(room, user, text):
    """Post text in room (a Room or a name) as user; returns its seq."""
    if isinstance(room, str):
        room = services.get_or_create_room(room)
    [stored] = services.post_messages(room.pk, [store.Post(user.pk, user.username, text, None)])
    assert stored.error is None, stored.error
    return stored.seq


def change(room, user, kind, seq, **fields):
    [stored] = services.post_messages(
        room.pk, [store.Change(kind, user.pk, user.username, seq, **fields)]
    )
    assert stored.error is None, stored.error


def logged_in(user):
    client = Client()
    client.force_login(user)
    return client


def found(client, **params):
    """The (room, seq, text) of the results, and complete, of a 200 search."""
    response = client.get("/api/search", params)
    assert response.status_code == 200, response.content
    body = response.json()
    return [(m["room"], m["seq"], m["text"]) for m in body["results"]], body["complete"]


def texts(client, **params):
    return [text for _, _, text in found(client, **params)[0]]


# Matching ------------------------------------------------------------------------------


def test_every_word_must_be_there__in_any_order_and_case(people):
    alice = people["alice"]
    say("lobby", alice, "The quick brown fox")
    say("lobby", alice, "a brown dog")
    say("lobby", alice, "QUICK thinking")
    assert texts(Client(), q="brown") == ["a brown dog", "The quick brown fox"]
    assert texts(Client(), q="FOX Quick") == ["The quick brown fox"]
    assert texts(Client(), q="quick") == ["QUICK thinking", "The quick brown fox"]
    assert texts(Client(), q="quick dog") == []


def test_whole_words_only__no_prefixes_or_parts(people):
    say("lobby", people["alice"], "deployment finished")
    say("lobby", people["alice"], "we deploy today")
    assert texts(Client(), q="deploy") == ["we deploy today"]
    assert texts(Client(), q="ploy") == []
    assert texts(Client(), q="deployment") == ["deployment finished"]


def test_punctuation_around_words_does_not_matter(people):
    say("lobby", people["alice"], "Hello, world! (really)")
    assert texts(Client(), q="world hello") == ["Hello, world! (really)"]
    assert texts(Client(), q='"really" + hello?') == ["Hello, world! (really)"]


def test_words_of_other_scripts_are_found_whole(people):
    say("lobby", people["alice"], "Привет мир и 東京 café")
    assert texts(Client(), q="мир") == ["Привет мир и 東京 café"]
    assert texts(Client(), q="café") == ["Привет мир и 東京 café"]
    assert texts(Client(), q="cafe") == []  # diacritics are kept: another word
    assert texts(Client(), q="ПРИВЕТ CAFÉ") == ["Привет мир и 東京 café"]


def test_room_ids_are_not_words(people):
    lobby = services.get_or_create_room("lobby")
    say(lobby, people["alice"], "plain words")
    say("other", people["alice"], f"the number {lobby.pk + 1000}")
    assert texts(Client(), q=str(lobby.pk)) == []
    assert texts(Client(), q=f"{lobby.pk + 1000}", room="lobby") == []
    assert texts(Client(), q="plain", room="other") == []


def test_newest_first_across_rooms_with_the_message_objects_of_the_messages_api(people):
    alice, bob = people["alice"], people["bob"]
    say("lobby", alice, "release one")
    say("dev", bob, "release two")
    seq = say("lobby", bob, "release three")
    change(Room.objects.get(name="lobby"), alice, "react", seq, emoji="👍", on=True)
    results, complete = found(Client(), q="release")
    assert [(r, t) for r, _, t in results] == [
        ("lobby", "release three"), ("dev", "release two"), ("lobby", "release one"),
    ]  # fmt: skip
    assert complete
    # The same object the messages API gives for that message in its current state.
    [newest] = Client().get("/api/search", {"q": "three"}).json()["results"]
    page = Client().get("/api/rooms/lobby/messages").json()["messages"]
    assert newest == next(m for m in page if m["seq"] == seq)
    assert newest["reactions"] == {"👍": ["alice"]}


# Kept current --------------------------------------------------------------------------


def test_an_edit_is_found_by_its_new_words_not_its_old_ones(people):
    alice = people["alice"]
    lobby = services.get_or_create_room("lobby")
    seq = say(lobby, alice, "meeting on monday")
    change(lobby, alice, "edit", seq, text="meeting on tuesday")
    assert texts(Client(), q="monday") == []
    assert texts(Client(), q="tuesday meeting") == ["meeting on tuesday"]
    [result] = Client().get("/api/search", {"q": "tuesday"}).json()["results"]
    assert result["edited"] is not None


def test_a_deleted_message_is_gone(people):
    alice = people["alice"]
    lobby = services.get_or_create_room("lobby")
    seq = say(lobby, alice, "oops my password")
    say(lobby, alice, "password rules")
    change(lobby, alice, "delete", seq)
    assert texts(Client(), q="password") == ["password rules"]
    assert texts(Client(), q="oops") == []


def test_a_deleted_room_leaves_nothing_in_the_index(people):
    say("gone", people["alice"], "ephemeral words")
    Room.objects.filter(name="gone").delete()
    assert texts(Client(), q="ephemeral") == []


def test_messages_stored_before_the_migration_are_indexed_by_it(people):
    """Migration 0005 indexes what is stored already: undo it, store, apply it again."""
    say("lobby", people["alice"], "older than the index")
    if connection.vendor == "postgresql":  # the test's transaction holds deferred FK checks
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    search_index.uninstall(connection)
    say("lobby", people["alice"], "also before it")
    search_index.install(connection)
    assert texts(Client(), q="before") == ["also before it"]
    assert texts(Client(), q="older index") == ["older than the index"]


def test_sqlite__triggers_a_later_migration_dropped_are_put_back_and_the_index_rebuilt(people):
    if connection.vendor == "postgresql":  # a generated column: nothing to put back
        assert search_index.ensure(connection) is False
        return
    lobby = services.get_or_create_room("lobby")
    seq = say(lobby, people["alice"], "first draft")
    with connection.cursor() as cursor:  # what Django's copy of a SQLite table does
        for name in ("insert", "update", "delete"):
            cursor.execute(f"DROP TRIGGER {search_index.FTS_TABLE}_{name}")
    change(lobby, people["alice"], "edit", seq, text="final text")
    say(lobby, people["alice"], "unindexed draft")
    assert search_index.ensure(connection) is True
    assert search_index.ensure(connection) is False  # complete now
    assert texts(Client(), q="draft") == ["unindexed draft"]
    assert texts(Client(), q="final") == ["final text"]


# Privacy -------------------------------------------------------------------------------


def test_a_private_room_never_shows_to_anonymous_or_non_members(people, secret):
    alice, bob, carol = people["alice"], people["bob"], people["carol"]
    say(secret, alice, "launch codes inside")
    say("lobby", carol, "launch party")
    assert texts(Client(), q="launch") == ["launch party"]
    assert texts(logged_in(carol), q="launch") == ["launch party"]
    assert texts(logged_in(carol), q="codes") == []
    assert texts(logged_in(bob), q="launch") == ["launch party", "launch codes inside"]
    assert texts(logged_in(alice), q="codes") == ["launch codes inside"]  # the owner


def test_a_removed_member_stops_finding_the_room(people, secret):
    say(secret, people["alice"], "budget numbers")
    bob = logged_in(people["bob"])
    assert texts(bob, q="budget") == ["budget numbers"]
    membership.remove_member(secret, people["alice"], "bob")
    assert texts(bob, q="budget") == []


def test_staff_see_only_the_private_rooms_they_belong_to(people, secret):
    people["carol"].is_staff = True
    people["carol"].save()
    say(secret, people["alice"], "staff cannot read this")
    assert texts(logged_in(people["carol"]), q="staff") == []


def test_room_search_of_a_private_room__401_anonymous_403_non_member_as_the_messages_api(
    people, secret
):
    say(secret, people["alice"], "quarterly plan")
    for client, status in ((Client(), 401), (logged_in(people["carol"]), 403)):
        search_response = client.get("/api/search", {"q": "plan", "room": "secret"})
        messages_response = client.get("/api/rooms/secret/messages")
        assert search_response.status_code == messages_response.status_code == status
        assert "quarterly" not in search_response.content.decode()
    assert search_response.json()["error"] == "forbidden"
    assert texts(logged_in(people["bob"]), q="plan", room="secret") == ["quarterly plan"]


@pytest.mark.parametrize("room", ["nosuchroom", "Bad Name!", "x" * 65])
def test_room_search_of_no_room_is_404_as_the_messages_api(people, room):
    response = Client().get("/api/search", {"q": "hi", "room": room})
    assert response.status_code == 404 and response.json()["error"] == "not_found"


def test_a_bearer_token_searches_with_its_users_access(people, secret):
    say(secret, people["alice"], "token visible text")
    carol_token = token_auth.create_token(people["carol"], "ci")[1]
    bob_token = token_auth.create_token(people["bob"], "ci")[1]
    as_carol = {"HTTP_AUTHORIZATION": f"Bearer {carol_token}"}
    as_bob = {"HTTP_AUTHORIZATION": f"Bearer {bob_token}"}
    assert Client().get("/api/search", {"q": "token"}, **as_carol).json()["results"] == []
    response = Client().get("/api/search", {"q": "token", "room": "secret"}, **as_carol)
    assert response.status_code == 403
    [hit] = Client().get("/api/search", {"q": "token"}, **as_bob).json()["results"]
    assert hit["room"] == "secret"
    response = Client().get("/api/search", {"q": "token"}, HTTP_AUTHORIZATION="Bearer nope")
    assert response.status_code == 401 and response.json()["error"] == "auth_required"


def test_responses_are_kept_by_no_cache(people):
    response = Client().get("/api/search", {"q": "anything"})
    assert "no-store" in response.headers["Cache-Control"]
    assert response.headers["Cross-Origin-Resource-Policy"] == "same-origin"


def test_the_privacy_rule_is_check_access(people, secret):
    """For every (room, user) pair, a search finds the room's message iff check_access lets
    the user read the room: the SQL and chat.services state one rule."""
    Room.objects.create(name="owned", is_private=True, owner=people["carol"])
    Membership.objects.create(room=Room.objects.get(name="owned"), user=people["alice"])
    services.get_or_create_room("open")
    rooms = list(Room.objects.all())
    for room in rooms:
        say(room, people["alice"], f"marker {room.name}")
    for user in [*people.values(), None]:
        client = logged_in(user) if user else Client()
        seen = {r for r, _, _ in found(client, q="marker")[0]}
        readable = set()
        for room in rooms:
            try:
                services.check_access(room, user or AnonymousUser())
                readable.add(room.name)
            except services.AccessDenied:
                pass
        assert seen == readable, user


# Paging --------------------------------------------------------------------------------


def test_limit_and_complete(people):
    for i in range(5):
        say("lobby", people["alice"], f"item {i}")
    results, complete = found(Client(), q="item", limit="2")
    assert [t for _, _, t in results] == ["item 4", "item 3"] and not complete
    results, complete = found(Client(), q="item", limit="5")
    assert len(results) == 5 and complete
    assert len(found(Client(), q="item")[0]) == 5  # default 20


def test_the_default_limit_is_20_and_50_is_the_most(people):
    lobby = services.get_or_create_room("lobby")
    items = [store.Post(people["alice"].pk, "alice", f"many {i}", None) for i in range(60)]
    services.post_messages(lobby.pk, items)
    results, complete = found(Client(), q="many")
    assert len(results) == search.DEFAULT_LIMIT == 20 and not complete
    results, complete = found(Client(), q="many", limit="50")
    assert len(results) == 50 and not complete


def test_before_pages_within_a_room_down_to_the_first(people):
    lobby = services.get_or_create_room("lobby")
    seqs = [say(lobby, people["alice"], f"page {i}") for i in range(5)]
    say("other", people["alice"], "page elsewhere")
    results, complete = found(Client(), q="page", room="lobby", limit="2")
    assert [s for _, s, _ in results] == [seqs[4], seqs[3]] and not complete
    results, complete = found(Client(), q="page", room="lobby", limit="2", before=str(seqs[3]))
    assert [s for _, s, _ in results] == [seqs[2], seqs[1]] and not complete
    results, complete = found(Client(), q="page", room="lobby", limit="2", before=str(seqs[1]))
    assert [s for _, s, _ in results] == [seqs[0]] and complete


@pytest.mark.parametrize(
    "params, code",
    [
        ({}, "empty"), ({"q": ""}, "empty"), ({"q": "   \t"}, "empty"),
        ({"q": "x" * (search.MAX_QUERY + 1)}, "too_long"),
        ({"q": "hi", "limit": "0"}, "bad_field"), ({"q": "hi", "limit": "51"}, "bad_field"),
        ({"q": "hi", "limit": "-1"}, "bad_field"), ({"q": "hi", "limit": "two"}, "bad_field"),
        ({"q": "hi", "limit": ""}, "bad_field"), ({"q": "hi", "limit": "1e1"}, "bad_field"),
        ({"q": "hi", "room": "lobby", "before": "0"}, "bad_field"),
        ({"q": "hi", "room": "lobby", "before": "x"}, "bad_field"),
        ({"q": "hi", "room": "lobby", "before": "9" * 30}, "bad_field"),
        ({"q": "hi", "before": "5"}, "bad_field"),
        ({"q": "a\x00b"}, "bad_field"), ({"q": "a\x07b"}, "bad_field"),
    ],
)  # fmt: skip
def test_malformed_queries_are_400_with_a_json_error(people, params, code):
    services.get_or_create_room("lobby")
    response = Client().get("/api/search", params)
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["error"] == code and body["detail"]


def test_a_query_of_exactly_the_longest_length_is_searched(people):
    say("lobby", people["alice"], "edge")
    assert texts(Client(), q="edge " + "y" * (search.MAX_QUERY - 5)) == []
    assert texts(Client(), q=("edge " * 40)[: search.MAX_QUERY]) == ["edge"]


def test_only_get(people):
    response = Client().post("/api/search?q=hi")
    assert response.status_code == 405 and response.headers["Allow"] == "GET"


@pytest.mark.parametrize(
    "q",
    [
        '"', '""', "'", "*", "hello*", "NEAR(a b)", "NEAR(", "a OR b", "a AND b", "NOT a",
        "-a", "a:b", "text:hello", "^hello", "(", ")", "{a b}", "a + b", "col : x", "&|!",
        "a & b | c", "'; DROP TABLE chat_message; --", "\\", "%", "_", "🎉", "\u200b",
        "\ufeffhi", "ß ẞ İ ı", "a\u0301", "\U0010ffff", "日本語のテキスト", "x" * 200,
        " ".join(["w"] * 100),
    ],
)  # fmt: skip
def test_hostile_queries_never_fail(people, q):
    say("lobby", people["alice"], 'hello world "quoted" NEAR(a b) a OR b')
    response = Client().get("/api/search", {"q": q})
    assert response.status_code in (200, 400), response.content
    if response.status_code == 200:
        assert set(response.json()) == {"results", "complete"}


def test_fts_syntax_is_searched_as_words(people):
    say("lobby", people["alice"], "near the end")
    say("lobby", people["alice"], "or else")
    assert texts(Client(), q="NEAR(end") == ["near the end"]
    assert texts(Client(), q="else OR") == ["or else"]
    assert texts(Client(), q="end*") == ["near the end"]


def test_a_query_without_words_finds_nothing(people):
    say("lobby", people["alice"], "!!! ??? ...")
    assert found(Client(), q="!!! ???") == ([], True)


@pytest.mark.parametrize("walk", [1, 3, 7])
def test_results_across_the_newest_walk_and_the_index_are_whole_and_in_order(
    people, secret, monkeypatch, walk
):
    """PostgreSQL reads the newest search.WALK messages first, the older ones through the
    index: with a small WALK (the shipped 20,000 is beyond any test's data) the page must
    come out the same on either side of the boundary, and private rows stay out."""
    monkeypatch.setattr(search, "WALK", walk)
    lobby = services.get_or_create_room("lobby")
    expected = []
    for i in range(8):
        say(secret, people["alice"], f"walk hidden {i}")
        seq = say(lobby, people["bob"], f"walk {i}")
        say(lobby, people["bob"], f"other {i}")
        expected.append(("lobby", seq, f"walk {i}"))
    expected.reverse()
    carol = logged_in(people["carol"])
    assert found(carol, q="walk", limit="5") == (expected[:5], False)
    assert found(carol, q="walk", limit="8") == (expected, True)
    assert found(Client(), q="walk", room="lobby", limit="3") == (expected[:3], False)
    before = str(expected[2][1])
    assert found(Client(), q="walk", room="lobby", before=before) == (expected[3:], True)
    seen = {room for room, _, _ in found(logged_in(people["bob"]), q="walk", limit="50")[0]}
    assert seen == {"lobby", "secret"}
