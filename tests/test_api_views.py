"""The JSON API for bots: POST /api/rooms/<room>/messages and /api/tokens, on the real
database and Redis, through Django's test client (tests/e2e/test_bots.py: over daphne)."""

import json

import pytest
from django.test import Client

from chat import token_auth
from chat.models import ApiToken, Membership, Message, Room

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice(make_user):
    return make_user("alice")


@pytest.fixture
def token(alice):
    return token_auth.create_token(alice, "ci")[1]


def bearer(token):
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def post(client, room, body, **headers):
    data = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return client.post(
        f"/api/rooms/{room}/messages", data, content_type="application/json", **headers
    )


@pytest.fixture
def csrf_client():
    """A client that enforces CSRF, as a browser's requests meet it."""
    return Client(enforce_csrf_checks=True)


# POST /api/rooms/<room>/messages -----------------------------------------------------


def test_post__201_with_the_stored_message(csrf_client, token):
    response = post(csrf_client, "lobby", {"text": " hi ", "client_id": "c-1"}, **bearer(token))
    assert response.status_code == 201
    body = response.json()
    assert {k: body[k] for k in ("type", "room", "seq", "user", "text", "client_id")} == {
        "type": "message", "room": "lobby", "seq": 1, "user": "alice", "text": "hi",
        "client_id": "c-1",
    }  # fmt: skip
    assert body["ts"].endswith("Z")
    assert "no-store" in response.headers["Cache-Control"]


def test_post__a_repeated_client_id_is_200_with_the_first_message(client, token):
    first = post(client, "lobby", {"text": "one", "client_id": "dup"}, **bearer(token))
    again = post(client, "lobby", {"text": "two", "client_id": "dup"}, **bearer(token))
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    assert Message.objects.count() == 1


@pytest.mark.parametrize(
    "body, code",
    [
        ("{not json", "bad_json"), ("[1, 2]", "bad_json"), ('"text"', "bad_json"),
        (b"\xff\xfe", "bad_json"), ("NaN", "bad_json"), ("", "bad_json"),
        ({}, "bad_field"), ({"text": 5}, "bad_field"), ({"text": "hi", "client_id": "a b"}, "bad_field"),
        ({"text": "  "}, "empty"), ({"text": "x" * 4001}, "too_long"),
        ("x" * 70_000, "too_long"),
    ],
)  # fmt: skip
def test_post__bad_bodies_are_400_with_the_sockets_code(client, token, body, code):
    response = post(client, "lobby", body, **bearer(token))
    assert response.status_code == 400
    assert response.json()["error"] == code and response.json()["detail"]
    assert not Message.objects.exists()


@pytest.mark.parametrize(
    "headers",
    [{}, {"HTTP_AUTHORIZATION": "Bearer"}, {"HTTP_AUTHORIZATION": "Bearer chat_nonsense"}],
)
def test_post__no_token_or_a_malformed_one_is_401(client, headers):
    response = post(client, "lobby", {"text": "hi"}, **headers)
    assert response.status_code == 401
    assert response.json()["error"] == "auth_required"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_post__a_wrong_secret_is_401_even_with_bad_json(client, token):
    key_id = ApiToken.objects.get().key_id
    wrong = f"chat_{key_id}_" + "A" * 43
    response = post(client, "lobby", "{bad", **bearer(wrong))
    assert response.status_code == 401 and response.json()["error"] == "auth_required"


def test_post__a_revoked_token_is_refused_on_the_next_request(client, alice, token):
    assert post(client, "lobby", {"text": "1"}, **bearer(token)).status_code == 201
    token_auth.revoke(alice, "ci")
    assert post(client, "lobby", {"text": "2"}, **bearer(token)).status_code == 401
    assert Message.objects.count() == 1


def test_post__private_room_non_member_403_member_201(client, make_user, alice, token):
    carol = make_user("carol")
    club = Room.objects.create(name="club", is_private=True, owner=carol)
    response = post(client, "club", {"text": "hi"}, **bearer(token))
    assert response.status_code == 403 and response.json()["error"] == "forbidden"
    assert client.get("/api/rooms/club/messages", **bearer(token)).status_code == 403
    Membership.objects.create(room=club, user=alice)
    assert post(client, "club", {"text": "hi"}, **bearer(token)).status_code == 201
    response = client.get("/api/rooms/club/messages", **bearer(token))
    assert response.status_code == 200 and [m["text"] for m in response.json()["messages"]] == [
        "hi"
    ]


def test_post__invalid_room_name_is_404_not_found(client, token):
    response = post(client, "No_Such Room", {"text": "hi"}, **bearer(token))
    assert response.status_code == 404 and response.json()["error"] == "not_found"


def test_post__rate_limited_is_429_with_retry_after(settings, client, token):
    settings.CHAT_MESSAGE_RATE = (1, 30)
    assert post(client, "lobby", {"text": "1"}, **bearer(token)).status_code == 201
    response = post(client, "lobby", {"text": "2"}, **bearer(token))
    assert response.status_code == 429
    body = response.json()
    assert body["error"] == "rate_limited" and 0 < body["retry_after"] <= 30
    assert 1 <= int(response.headers["Retry-After"]) <= 30


def test_post__redis_away_is_503_unavailable_and_nothing_stored(client, token, redis_server):
    redis_server.stop()
    response = post(client, "lobby", {"text": "hi"}, **bearer(token))
    assert response.status_code == 503
    assert response.json()["error"] == "unavailable" and response.headers["Retry-After"] == "1"
    assert not Message.objects.exists()


def test_post__other_methods_are_405(client, token):
    response = client.put("/api/rooms/lobby/messages", "{}", **bearer(token))
    assert response.status_code == 405 and response.headers["Allow"] == "GET, POST"


def test_post__bearer_needs_no_csrf_but_a_session_does(csrf_client, alice):
    csrf_client.force_login(alice)
    response = post(csrf_client, "lobby", {"text": "no csrf"})
    assert response.status_code == 403 and response.json()["error"] == "forbidden"
    csrf_client.get("/")  # the page sets the csrftoken cookie
    csrf = csrf_client.cookies["csrftoken"].value
    response = post(csrf_client, "lobby", {"text": "with csrf"}, HTTP_X_CSRFTOKEN=csrf)
    assert response.status_code == 201 and response.json()["user"] == "alice"


def test_get__a_token_reads_as_its_user(client, token, alice):
    post(client, "lobby", {"text": "hi"}, **bearer(token))
    response = client.get("/api/rooms/lobby/messages", **bearer(token))
    assert response.status_code == 200 and response.json()["seq"] == 1
    bad = client.get("/api/rooms/lobby/messages", **bearer("chat_x"))
    assert bad.status_code == 401  # a bad token is refused, not read as anonymous


# /api/tokens ---------------------------------------------------------------------------


def session_client(user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    client.get("/")
    return client, {"HTTP_X_CSRFTOKEN": client.cookies["csrftoken"].value}


def test_tokens__create_shows_the_token_once_and_it_works(alice):
    client, csrf = session_client(alice)
    response = client.post("/api/tokens", {"name": "deploy"}, "application/json", **csrf)
    assert response.status_code == 201
    body = response.json()
    assert body["name"] == "deploy" and body["token"].startswith("chat_")
    assert "no-store" in response.headers["Cache-Control"]
    listed = client.get("/api/tokens").json()["tokens"]
    assert [t["name"] for t in listed] == ["deploy"] and body["token"] not in json.dumps(listed)
    assert post(Client(), "lobby", {"text": "hi"}, **bearer(body["token"])).status_code == 201


@pytest.mark.parametrize(
    "body, status, code",
    [
        ({}, 400, "bad_field"), ({"name": ""}, 400, "bad_field"), ({"name": "x" * 65}, 400, "bad_field"),
        ({"name": 5}, 400, "bad_field"), ("[]", 400, "bad_json"), ({"name": "ci"}, 409, "conflict"),
    ],
)  # fmt: skip
def test_tokens__refusals(alice, token, body, status, code):
    client, csrf = session_client(alice)
    data = body if isinstance(body, str) else json.dumps(body)
    response = client.post("/api/tokens", data, "application/json", **csrf)
    assert response.status_code == status and response.json()["error"] == code


def test_tokens__anonymous_401_before_csrf_and_a_token_cannot_make_tokens(token):
    anonymous = Client(enforce_csrf_checks=True)
    assert anonymous.post("/api/tokens", {"name": "x"}, "application/json").status_code == 401
    with_token = Client()
    response = with_token.post("/api/tokens", {"name": "x"}, "application/json", **bearer(token))
    assert response.status_code == 401
    assert ApiToken.objects.count() == 1


def test_tokens__a_session_without_csrf_is_403(alice):
    client, _ = session_client(alice)
    response = client.post("/api/tokens", {"name": "x"}, "application/json")
    assert response.status_code == 403 and response.json()["error"] == "forbidden"
    assert not ApiToken.objects.exists()


def test_tokens__delete_revokes_204_then_404(alice, token):
    client, csrf = session_client(alice)
    assert client.delete("/api/tokens/ci", **csrf).status_code == 204
    assert not ApiToken.objects.exists()
    response = client.delete("/api/tokens/ci", **csrf)
    assert response.status_code == 404 and response.json()["error"] == "not_found"
    assert post(Client(), "lobby", {"text": "hi"}, **bearer(token)).status_code == 401


def test_tokens__delete_needs_the_owners_session_and_csrf(alice, make_user, token):
    bob_client, bob_csrf = session_client(make_user("bob"))
    assert bob_client.delete("/api/tokens/ci", **bob_csrf).status_code == 404  # not his
    client, _ = session_client(alice)
    assert client.delete("/api/tokens/ci").status_code == 403  # no CSRF header
    assert Client().delete("/api/tokens/ci", **bearer(token)).status_code == 401
    assert ApiToken.objects.count() == 1


def test_tokens__names_with_spaces_and_unicode_round_trip_in_the_url(alice):
    client, csrf = session_client(alice)
    name = "déploi bot"
    assert client.post("/api/tokens", {"name": name}, "application/json", **csrf).status_code == 201
    assert client.delete("/api/tokens/d%C3%A9ploi%20bot", **csrf).status_code == 204
