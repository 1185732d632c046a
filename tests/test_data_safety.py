"""No path shows a private room's messages to a non-member; message text stays text."""

import json

import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth import get_user_model
from django.test import Client as HttpClient

from chat import services, store
from chat.models import Membership, Message, Room
from tests.wsutil import Client

pytestmark = pytest.mark.django_db(transaction=True)

SECRET = "TOPSECRET-7f3a"
XSS = "<script>alert('x')</script> & <img src=x onerror=\"alert(1)\"> </textarea>"


@pytest.fixture
def world(make_user):
    """alice owns private #secret, bob is a member, carol is not; #lobby is public."""
    users = {name: make_user(name) for name in ("alice", "bob", "carol")}
    secret = Room.objects.create(name="secret", is_private=True, owner=users["alice"])
    Membership.objects.create(room=secret, user=users["bob"])
    for i in range(3):
        services.post_message(secret.pk, users["alice"], f"{SECRET} {i}", None)
    lobby = services.get_or_create_room("lobby")
    services.post_message(lobby.pk, users["carol"], "hello lobby", None)
    return users


def browser(user=None, **kwargs):
    client = HttpClient(**kwargs)
    if user is not None:
        client.force_login(user)
    return client


# WebSocket ----------------------------------------------------------------------------


@pytest.mark.parametrize("query", ["", "since=0", "since=1", "since=abc"])
@pytest.mark.parametrize("who, code", [(None, 4401), ("carol", 4403)])
async def test_websocket__non_member_gets_only_the_close_no_hello(world, who, code, query):
    client = Client("secret", user=world[who] if who else None, query=query)
    assert (await client.connect())[0]
    assert await client.recv() == {"type": "__closed__", "code": code}
    assert await client.comm.receive_nothing(0.2)  # nothing after the close


async def test_websocket__history_and_resume_elsewhere_never_reach_into_the_private_room(world):
    carol = Client("lobby", user=world["carol"], query="since=0")
    assert (await carol.connect())[0]
    hello = await carol.recv_type("hello")
    frames = [hello]
    for frame in (
        {"type": "history", "before": 10**6, "limit": 100},
        {"type": "resume", "since": 0},
    ):
        await carol.send(frame)
        while (answer := await carol.recv())["type"] not in ("history", "resumed"):
            frames.append(answer)
        frames.append(answer)
    dump = json.dumps(frames)
    assert "hello lobby" in dump and SECRET not in dump
    await carol.close()


async def test_websocket__member_reads_it(world):
    bob = Client("secret", user=world["bob"], query="since=0")
    assert (await bob.connect())[0]
    hello = await bob.recv_type("hello")
    assert [m["text"] for m in hello["history"]] == [f"{SECRET} {i}" for i in range(3)]
    await bob.close()


# HTTP ---------------------------------------------------------------------------------


@pytest.mark.parametrize("query", ["", "?since=0", "?since=0&limit=500", "?limit=1"])
@pytest.mark.parametrize("who, status", [(None, 401), ("carol", 403), ("bob", 200)])
def test_api_messages__members_only(world, who, status, query):
    response = browser(world[who] if who else None).get(f"/api/rooms/secret/messages{query}")
    assert response.status_code == status
    assert (SECRET in response.content.decode()) is (status == 200)


def test_api_rooms__lists_no_private_room_to_anyone(world):
    for who in (None, "alice", "bob", "carol"):
        body = browser(world[who] if who else None).get("/api/rooms").json()
        assert [room["name"] for room in body["rooms"]] == ["lobby"]


@pytest.mark.parametrize("who, shown", [(None, False), ("carol", False), ("bob", True)])
def test_rooms_page__private_room_listed_to_its_members_only(world, who, shown):
    page = browser(world[who] if who else None).get("/").content.decode()
    assert ('data-room="secret"' in page) is shown
    assert SECRET not in page  # the list shows names, never messages


# carol, not a member, gets the page a free name gets (200, no messages; docs/security.md H)
@pytest.mark.parametrize("who, status", [(None, 302), ("carol", 200), ("bob", 200)])
def test_room_page__members_only_and_never_holds_messages(world, who, status):
    response = browser(world[who] if who else None).get("/chat/secret/")
    assert response.status_code == status
    assert SECRET not in response.content.decode()


def test_deleted_message__its_text_left_out_of_every_path(world):
    secret = Room.objects.get(name="secret")
    [edit] = services.post_messages(
        secret.pk, [store.Change("edit", world["alice"].pk, "alice", 2, text=f"{SECRET} edited")]
    )
    [gone] = services.post_messages(
        secret.pk, [store.Change("delete", world["alice"].pk, "alice", 2)]
    )
    assert edit.error is None and gone.error is None
    for query in ("?since=0", ""):
        body = browser(world["bob"]).get(f"/api/rooms/secret/messages{query}").content.decode()
        assert (
            f"{SECRET} 0" in body
            and f"{SECRET} 1" not in body
            and "TOPSECRET-7f3a edited" not in body
        )


# text stays text -------------------------------------------------------------------------


@pytest.fixture
def xss(world):
    lobby = Room.objects.get(name="lobby")
    frame, _ = services.post_message(lobby.pk, world["carol"], XSS, "c-xss")
    return frame


async def test_xss_text__stored_and_sent_exactly_as_given(world):
    carol = Client("lobby", user=world["carol"])
    assert (await carol.connect())[0]
    await carol.recv_type("hello")
    await carol.send({"type": "message", "text": f"  {XSS}\n", "client_id": "x"})
    ack = await carol.recv_type("ack")
    echoed = await carol.recv_type("message")
    assert echoed["text"] == XSS  # stripped of white space, nothing else
    stored = await sync_to_async(Message.objects.get)(room__name="lobby", seq=ack["seq"])
    assert stored.text == XSS
    await carol.close()


def test_xss_text__api_returns_it_as_json_data(xss, world):
    response = browser().get("/api/rooms/lobby/messages")
    # Data, not markup: a browser opening the URL may not sniff it into HTML.
    assert response.headers["Content-Type"] == "application/json"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.json()["messages"][-1]["text"] == XSS


def test_xss_text__escaped_in_the_admin(xss, make_user):
    root = make_user("root")
    root.is_staff = root.is_superuser = True
    root.save()
    admin = browser(root)
    message = Message.objects.get(client_id="c-xss")
    for url in ("/admin/chat/message/", f"/admin/chat/message/{message.pk}/change/"):
        page = admin.get(url).content.decode()
        assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page
        assert "<script>alert(" not in page and "<img src=x" not in page


def test_xss_text__never_rendered_into_the_room_page(xss, world):
    page = browser(world["carol"]).get("/chat/lobby/").content.decode()
    assert "alert(" not in page  # the page gets messages over the socket, as text


def test_user_names__no_markup_possible(db):
    response = browser().post(
        "/accounts/signup/",
        {"username": "<b>x</b>", "password1": "a-Long-pass-9", "password2": "a-Long-pass-9"},
    )
    assert response.status_code == 200
    assert not get_user_model().objects.filter(username="<b>x</b>").exists()


# headers and forms --------------------------------------------------------------------


def test_pages__security_headers(world):
    for path in ("/", "/chat/lobby/", "/accounts/login/", "/accounts/signup/"):
        response = browser(world["bob"]).get(path)
        assert "script-src 'self'" in response.headers["Content-Security-Policy"], path
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "same-origin"


def test_session_cookie__httponly_and_samesite(world):
    client = HttpClient()
    client.post("/accounts/login/", {"username": "bob", "password": "pw-bob-123456"})
    cookie = client.cookies["sessionid"]
    assert cookie["httponly"] and cookie["samesite"] == "Lax"


@pytest.mark.parametrize(
    "path, data",
    [
        ("/", {"room": "x"}),
        ("/accounts/login/", {"username": "bob", "password": "pw-bob-123456"}),
        (
            "/accounts/signup/",
            {"username": "z", "password1": "a-Long-pass-9", "password2": "a-Long-pass-9"},
        ),
        ("/accounts/logout/", {}),
    ],
)
def test_forms__refused_without_csrf_token(world, path, data):
    assert browser(world["bob"], enforce_csrf_checks=True).post(path, data).status_code == 403
