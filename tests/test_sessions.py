"""Sockets whose session stops logging their user in are closed with 4001: a password
change (chat.sessions, the hub's `recheck`), a session deleted or replaced (chat.signals)."""

import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth import get_user_model
from django.contrib.sessions.backends.db import SessionStore
from django.test import Client as HttpClient

from chat import signals
from chat.models import Room
from chat.sessions import session_still_valid
from tests.wsutil import socket, still_open

pytestmark = pytest.mark.django_db(transaction=True)

NEW_PASSWORD = "Kx9!mqv-2-zzt-new"


@pytest.fixture(autouse=True)
def receivers():
    signals.connect()


@pytest.fixture
def users(make_user):
    return {name: make_user(name) for name in ("alice", "bob")}


def browser(name=None):
    """An HTTP client (a cookie jar); logged in with name's password when name is given."""
    http = HttpClient()
    if name is not None:
        response = http.post(
            "/accounts/login/", {"username": name, "password": f"pw-{name}-123456"}
        )
        assert response.status_code == 302
    return http


def cookie(http):
    return http.cookies["sessionid"].value


async def posts(client, text):
    await client.send({"type": "message", "text": text})
    return await client.recv_type("ack")


# the check itself ---------------------------------------------------------------------


def test_session_still_valid__follows_djangos_rule(users):
    alice = users["alice"]
    key = cookie(browser("alice"))
    assert session_still_valid(key, alice.pk)
    assert not session_still_valid(key, users["bob"].pk)  # not bob's session
    assert not session_still_valid("no-such-session-key", alice.pk)
    assert not session_still_valid(None, alice.pk)
    alice.set_password(NEW_PASSWORD)
    alice.save()
    assert not session_still_valid(key, alice.pk)  # the hash of the old password


def test_session_still_valid__an_anonymous_session_logs_nobody_in(users):
    session = SessionStore()
    session["something"] = 1
    session.create()
    assert not session_still_valid(session.session_key, users["alice"].pk)


def test_session_still_valid__honours_secret_key_fallbacks(users, settings):
    key = cookie(browser("alice"))
    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    settings.SECRET_KEY = "a-rotated-secret-key-of-enough-length-0123456789"
    assert session_still_valid(key, users["alice"].pk)


# password changes -------------------------------------------------------------------


async def test_password_set_by_an_admin__closes_every_session_of_the_user_4001(users):
    laptop, phone = await sync_to_async(browser)("alice"), await sync_to_async(browser)("alice")
    on_laptop = await socket(sessionid=cookie(laptop))
    on_phone = await socket("other", sessionid=cookie(phone))
    bob = await socket(sessionid=cookie(await sync_to_async(browser)("bob")))
    assert on_laptop.hello["user"] == "alice"
    await posts(bob, "before")  # alice's socket keeps receiving until the change
    assert (await on_laptop.recv_type("message"))["text"] == "before"

    def change():
        user = get_user_model().objects.get(username="alice")
        user.set_password(NEW_PASSWORD)
        user.save()

    await sync_to_async(change)()
    assert (await on_laptop.recv_type("__closed__"))["code"] == 4001
    assert (await on_phone.recv_type("__closed__"))["code"] == 4001
    assert await still_open(bob)
    again = await socket(sessionid=cookie(laptop))  # the reconnect: the old session logs nobody in
    assert again.hello["user"] is None
    await again.send({"type": "message", "text": "still alice?"})
    assert (await again.recv_type("error"))["code"] == "auth_required"
    for client in (bob, again):
        await client.close()


async def test_password_changed_by_the_user__their_tab_comes_back_logged_in(users):
    # Django's PasswordChangeView, as the admin wires it (alice is staff to reach it).
    await sync_to_async(get_user_model().objects.filter(username="alice").update)(is_staff=True)
    own, other = await sync_to_async(browser)("alice"), await sync_to_async(browser)("alice")
    mine = await socket(sessionid=cookie(own))
    theirs = await socket(sessionid=cookie(other))
    old = cookie(own)
    data = {
        "old_password": "pw-alice-123456",
        "new_password1": NEW_PASSWORD,
        "new_password2": NEW_PASSWORD,
    }
    response = await sync_to_async(own.post)("/admin/password_change/", data)
    assert (response.status_code, response["Location"]) == (302, "/admin/password_change/done/")
    assert (await mine.recv_type("__closed__"))["code"] == 4001
    assert (await theirs.recv_type("__closed__"))["code"] == 4001
    assert cookie(own) != old  # update_session_auth_hash rotated it
    back = await socket(sessionid=cookie(own))
    assert back.hello["user"] == "alice"
    assert (await posts(back, "still me"))["seq"] == 1
    stale = await socket(sessionid=cookie(other))
    assert stale.hello["user"] is None
    for client in (back, stale):
        await client.close()


async def test_other_saves__recheck_nothing(users):
    alice = await socket(sessionid=cookie(await sync_to_async(browser)("alice")))

    def touch():
        user = get_user_model().objects.get(username="alice")
        user.first_name = "Alice"
        user.save()
        user.save(update_fields=["last_login"])

    await sync_to_async(touch)()
    assert await alice.nothing(0.3)
    assert await still_open(alice)
    await alice.close()


# sessions deleted or replaced ---------------------------------------------------------


async def test_another_users_login_on_the_same_browser__closes_the_old_sessions_sockets(users):
    http = await sync_to_async(browser)("alice")
    alices = cookie(http)
    alice = await socket(sessionid=alices)
    assert alice.hello["user"] == "alice"
    response = await sync_to_async(http.post)(
        "/accounts/login/", {"username": "bob", "password": "pw-bob-123456"}
    )
    assert response.status_code == 302
    assert (await alice.recv_type("__closed__"))["code"] == 4001
    # the old cookie logs nobody in: it cannot post as alice
    old = await socket(sessionid=alices)
    assert old.hello["user"] is None
    await old.send({"type": "message", "text": "as alice?"})
    assert (await old.recv_type("error"))["code"] == "auth_required"
    now = await socket(sessionid=cookie(http))  # the browser's cookie now: bob
    assert now.hello["user"] == "bob"
    assert await sync_to_async(lambda: Room.objects.get(name="lobby").last_seq)() == 0
    for client in (old, now):
        await client.close()


async def test_session_deleted_in_the_admin__its_sockets_closed_4001_others_kept(users):
    one, two = await sync_to_async(browser)("alice"), await sync_to_async(browser)("alice")
    first, second = await socket(sessionid=cookie(one)), await socket(sessionid=cookie(two))

    def delete():
        from django.contrib.sessions.models import Session

        Session.objects.get(session_key=cookie(one)).delete()

    await sync_to_async(delete)()
    assert (await first.recv_type("__closed__"))["code"] == 4001
    assert await still_open(second)
    await second.close()


async def test_logout__still_4401_not_the_sessions_4001(users):
    http = await sync_to_async(browser)("alice")
    alice = await socket(sessionid=cookie(http))
    await sync_to_async(http.post)("/accounts/logout/")
    assert (await alice.recv_type("__closed__"))["code"] == 4401


def test_anonymous_session_deleted__publishes_nothing(users):
    from django.contrib.sessions.models import Session

    from chat.envelope import CONTROL_CHANNEL, Close, decode_control
    from redis_core import get_manager

    session = SessionStore()
    session["cart"] = 1
    session.create()
    pubsub = get_manager().client().pubsub()
    pubsub.subscribe(CONTROL_CHANNEL)
    pubsub.get_message(timeout=1)  # the subscription's confirmation
    Session.objects.get(session_key=session.session_key).delete()
    assert pubsub.get_message(timeout=0.3) is None
    authenticated = cookie(browser("alice"))
    Session.objects.get(session_key=authenticated).delete()
    command = decode_control(pubsub.get_message(timeout=2)["data"])
    assert isinstance(command, Close) and command.target.startswith("session:")
    pubsub.close()
