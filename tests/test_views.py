"""The pages (rooms, room, accounts), the rooms API, static files and moderation, via Django's client."""

import json
import re
import time

import pytest
from asgiref.sync import async_to_sync
from django.contrib.auth import get_user_model
from django.utils import timezone
from redis.exceptions import ConnectionError as RedisConnectionError

from chat import admin as chat_admin
from chat import envelope, views
from chat import online as chat_online
from chat.models import Membership, Message, Room
from chat.realtime import presence
from redis_core import get_manager

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice(make_user):
    return make_user("alice")


def online(room, *users):
    entries = [presence.member(f"c{i}", user) for i, user in enumerate(users)]
    async_to_sync(presence.update)(room, "add", entries)


def post(room, user, text, seq):
    Room.objects.filter(pk=room.pk).update(last_seq=seq, last_activity=timezone.now())
    return Message.objects.create(room=room, seq=seq, user=user, text=text, created=timezone.now())


# the rooms page ---------------------------------------------------------------------------


def test_index__public_rooms_with_online_counts_and_latest_activity(client, alice):
    lobby = Room.objects.create(name="lobby")
    Room.objects.create(name="quiet")
    post(lobby, alice, "hi", 1)
    online("lobby", "alice", "bob", "")
    response = client.get("/")
    assert response.status_code == 200
    rows = {row["room"].name: row for row in response.context["rows"]}
    assert (rows["lobby"]["online"], rows["lobby"]["active"]) == (3, "just now")
    assert (rows["quiet"]["online"], rows["quiet"]["active"]) == (0, None)
    assert [row["room"].name for row in response.context["rows"]] == ["lobby", "quiet"]
    assert "3 online" in response.content.decode()
    assert response.context["mine"] is None  # a guest has no rooms of its own


def test_index__redis_down_shows_no_count_rather_than_failing(client, monkeypatch):
    Room.objects.create(name="lobby")

    def refuse(rooms):
        raise RedisConnectionError("Connection refused.")

    monkeypatch.setattr(chat_online, "online_counts", refuse)
    response = client.get("/")
    assert response.status_code == 200
    assert "online count unavailable" in response.content.decode()


def test_index__the_users_rooms_include_private_ones_which_the_public_list_does_not(
    client, alice, make_user
):
    bob = make_user("bob")
    team = Room.objects.create(name="team", is_private=True, owner=bob)
    Membership.objects.create(room=team, user=alice)
    Room.objects.create(name="owned", is_private=True, owner=alice)
    Room.objects.create(name="other", is_private=True, owner=bob)
    Room.objects.create(name="lobby")
    client.force_login(alice)
    response = client.get("/")
    assert sorted(row["room"].name for row in response.context["mine"]) == ["owned", "team"]
    assert [row["room"].name for row in response.context["rows"]] == ["lobby"]


def test_index__open_room_lowercases_and_redirects(client):
    response = client.post("/", {"room": "  Lobby-2 "})
    assert (response.status_code, response["Location"]) == (302, "/chat/lobby-2/")


@pytest.mark.parametrize("name", ["", "has space", "-dash-first", "x" * 65, "ünï"])
def test_index__an_invalid_room_name_is_explained(client, name):
    response = client.post("/", {"room": name})
    assert response.status_code == 400
    assert response.context["form"].errors["room"]
    assert 'role="alert"' in response.content.decode()


def test_rooms_api__public_rooms_with_counts(client):
    Room.objects.create(name="lobby")
    Room.objects.create(name="hidden", is_private=True)
    online("lobby", "alice")
    response = client.get("/api/rooms")
    assert response.status_code == 200
    assert response.json() == {
        "rooms": [{"name": "lobby", "online": 1, "last_activity": None, "seq": 0}]
    }


# the room page ----------------------------------------------------------------------------


def test_room_page__holds_the_client_for_a_logged_in_user(client, alice):
    client.force_login(alice)
    response = client.get("/chat/lobby/")
    page = response.content.decode()
    assert response.status_code == 200
    assert 'data-room="lobby"' in page and 'data-user="alice"' in page
    assert 'id="composer"' in page and 'id="status"' in page
    for script in ("core.js", "client.js", "room.js"):
        assert f"/static/chat/{script}" in page
    assert not Room.objects.filter(name="lobby").exists()  # joining creates it, not the page


def test_room_page__a_guest_reads_and_is_invited_to_log_in(client):
    page = client.get("/chat/lobby/").content.decode()
    assert 'id="composer"' not in page
    assert "/accounts/login/?next=/chat/lobby/" in page


def test_room_page__an_invalid_name_is_404_with_an_explanation(client):
    response = client.get("/chat/Not%20A%20Room/")
    assert response.status_code == 404
    assert "lowercase letters" in response.content.decode()


def test_room_page__private_room_sends_guests_to_log_in(client):
    Room.objects.create(name="team", is_private=True)
    response = client.get("/chat/team/")
    assert (response.status_code, response["Location"]) == (
        302,
        "/accounts/login/?next=/chat/team/",
    )


def test_room_page__private_room_looks_free_to_a_non_member_and_opens_to_members(
    client, alice, make_user
):
    bob = make_user("bob")
    team = Room.objects.create(name="team", is_private=True, owner=bob)
    client.force_login(alice)
    free = client.get("/chat/meam/")  # a name nobody used: the same answer, but its name
    response = client.get("/chat/team/")
    assert response.status_code == free.status_code == 200
    same = re.compile(rb'name="csrfmiddlewaretoken" value="[^"]*"')  # masked anew each time
    assert same.sub(b"", response.content) == same.sub(b"", free.content.replace(b"meam", b"team"))
    Membership.objects.create(room=team, user=alice)
    assert client.get("/chat/team/").status_code == 200
    client.force_login(bob)
    assert client.get("/chat/team/").status_code == 200


def test_pages_send_a_content_security_policy(client):
    for path in ("/", "/chat/lobby/", "/accounts/login/", "/accounts/signup/"):
        policy = client.get(path)["Content-Security-Policy"]
        assert "script-src 'self'" in policy and "object-src 'none'" in policy


def test_user_text_in_a_room_name_never_reaches_the_page_as_markup(client):
    response = client.get("/chat/%3Cscript%3E/")
    assert response.status_code == 404
    assert "<script>" not in response.content.decode()
    assert "&lt;script&gt;" in response.content.decode()


# accounts ---------------------------------------------------------------------------------


def test_signup__creates_the_user_logs_in_and_follows_a_local_next(client):
    password = "correct-horse-battery-9"
    response = client.post(
        "/accounts/signup/",
        {"username": "dora", "password1": password, "password2": password, "next": "/chat/x/"},
    )
    assert (response.status_code, response["Location"]) == (302, "/chat/x/")
    assert get_user_model().objects.filter(username="dora").exists()
    assert client.get("/").context["user"].get_username() == "dora"


def test_signup__a_foreign_next_goes_home(client):
    password = "correct-horse-battery-9"
    response = client.post(
        "/accounts/signup/",
        {"username": "eve", "password1": password, "password2": password,
         "next": "https://evil.example/"},
    )  # fmt: skip
    assert response["Location"] == "/"


def test_signup__errors_are_shown_by_their_fields(client):
    response = client.post(
        "/accounts/signup/", {"username": "", "password1": "a", "password2": "b"}
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert page.count('role="alert"') >= 2
    assert '<label for="id_username">Username</label>' in page


def test_login_and_logout(client, alice):
    response = client.post(
        "/accounts/login/", {"username": "alice", "password": "pw-alice-123456", "next": "/chat/a/"}
    )
    assert (response.status_code, response["Location"]) == (302, "/chat/a/")
    assert 'data-user="alice"' in client.get("/chat/a/").content.decode()
    response = client.post("/accounts/logout/")
    assert (response.status_code, response["Location"]) == (302, "/")
    assert 'data-user=""' in client.get("/chat/a/").content.decode()


# static files -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["core.js", "client.js", "room.js", "rooms.js", "chat.css"])
def test_static_files__served_by_the_app_without_debug(client, settings, name):
    settings.DEBUG = False
    response = client.get(f"/static/chat/{name}")
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-cache"
    assert b"".join(response.streaming_content)


def test_static_files__unknown_is_404(client):
    assert client.get("/static/chat/nope.js").status_code == 404
    assert client.get("/static/../chat/views.py").status_code in (400, 404)  # never the file


# moderation -------------------------------------------------------------------------------


@pytest.fixture
def room_feed():
    """Messages published on a room's hub channel: feed(room) -> a function returning them."""
    subscriptions = []

    def feed(room):
        pubsub = get_manager().client().pubsub()
        pubsub.subscribe(envelope.room_channel(room))
        pubsub.get_message(timeout=1.0)  # the subscribe confirmation
        subscriptions.append(pubsub)

        def received(wait=2.0):
            found, deadline = [], time.monotonic() + wait
            while time.monotonic() < deadline:
                message = pubsub.get_message(timeout=0.1)
                if message and message["type"] == "message":
                    found.append(envelope.decode_room(message["data"]))
                elif found:
                    break
            return found

        return received

    yield feed
    for pubsub in subscriptions:
        pubsub.close()


@pytest.fixture
def moderator(make_user):
    user = make_user("mod")
    user.is_staff = user.is_superuser = True
    user.save()
    return user


def test_admin__hide_action_hides_and_tells_the_room_live(
    client, alice, moderator, room_feed, django_capture_on_commit_callbacks
):
    lobby = Room.objects.create(name="lobby")
    keep, hide = post(lobby, alice, "keep", 1), post(lobby, alice, "hide", 2)
    received = room_feed("lobby")
    client.force_login(moderator)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/admin/chat/message/",
            {"action": "hide_selected", "_selected_action": [hide.pk]},
            follow=True,
        )
    assert "1 message(s) hidden." in response.content.decode()
    assert list(Message.objects.filter(hidden=True)) == [hide]
    frames = received()
    assert [type(f) for f in frames] == [envelope.Ephemeral]
    assert json.loads(frames[0].text) == {"type": "hidden", "room": "lobby", "seq": 2}
    assert keep.seq == 1


def test_admin__ticking_hidden_on_the_change_page_tells_the_room_too(
    client, alice, moderator, room_feed, django_capture_on_commit_callbacks
):
    lobby = Room.objects.create(name="lobby")
    message = post(lobby, alice, "oops", 1)
    received = room_feed("lobby")
    client.force_login(moderator)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/admin/chat/message/{message.pk}/change/", {"hidden": "on"})
    assert response.status_code == 302
    assert Message.objects.get(pk=message.pk).hidden is True
    assert received() == [envelope.Ephemeral('{"type":"hidden","room":"lobby","seq":1}')]


def test_admin__hiding_still_works_when_redis_is_down(alice, monkeypatch):
    lobby = Room.objects.create(name="lobby")
    post(lobby, alice, "x", 1)

    class Refusing:
        def publish(self, *args):
            raise RedisConnectionError("Connection refused.")

    monkeypatch.setattr(type(get_manager()), "client", lambda self: Refusing())
    assert chat_admin.publish_hidden("lobby", [1]) is False


def test_admin__messages_cannot_be_added_by_hand(client, moderator):
    client.force_login(moderator)
    assert client.get("/admin/chat/message/add/").status_code == 403


def test_api_urls__served_by_the_api_views():
    from django.urls import resolve

    from chat import api_views

    assert resolve("/api/rooms").func is views.rooms_api
    # GET and POST: the token-aware view, which hands a GET to views.room_messages
    assert resolve("/api/rooms/lobby/messages").func is api_views.room_messages
