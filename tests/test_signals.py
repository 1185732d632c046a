"""Sockets closed when the right to them ends: logout, deactivation, removal in the admin."""

import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth import get_user_model
from django.test import Client as HttpClient

from chat import membership, signals
from chat.models import Membership, Room
from tests.wsutil import Client

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def receivers():
    signals.connect()  # what ChatConfig.ready() does; idempotent


@pytest.fixture
def users(make_user):
    return {name: make_user(name) for name in ("alice", "bob")}


def logged_in(user):
    """A browser session of user: (HTTP client, its sessionid)."""
    http = HttpClient()
    http.force_login(user)
    return http, http.cookies["sessionid"].value


async def socket(room="lobby", user=None, sessionid=None):
    """A connected socket that has read its hello; authenticated by user or by cookie."""
    client = Client(room, user=user)
    if sessionid:
        client.comm.scope["headers"].append((b"cookie", f"sessionid={sessionid}".encode()))
    assert (await client.connect())[0]
    client.hello = await client.recv_type("hello")
    return client


async def still_open(client):
    await client.send({"type": "ping"})
    return (await client.recv_type("pong"))["type"] == "pong"


# logout -----------------------------------------------------------------------------


async def test_logout__closes_the_sessions_sockets_in_every_room_with_4401(users):
    http, sessionid = await sync_to_async(logged_in)(users["alice"])
    lobby = await socket("lobby", sessionid=sessionid)
    other = await socket("other", sessionid=sessionid)
    assert lobby.hello["user"] == "alice"
    bob = await socket("lobby", user=users["bob"])
    response = await sync_to_async(http.post)("/accounts/logout/")
    assert response.status_code == 302
    assert (await lobby.recv_type("__closed__"))["code"] == 4401
    assert (await other.recv_type("__closed__"))["code"] == 4401
    assert await still_open(bob)
    # the old cookie is dead: a new socket with it is anonymous, and cannot post
    again = await socket("lobby", sessionid=sessionid)
    assert again.hello["user"] is None
    await again.send({"type": "message", "text": "still me?"})
    assert (await again.recv_type("error"))["code"] == "auth_required"
    assert await sync_to_async(lambda: Room.objects.get(name="lobby").last_seq)() == 0
    for client in (bob, again):
        await client.close()


async def test_logout__without_redis_still_logs_out(users, redis_server):
    http, sessionid = await sync_to_async(logged_in)(users["alice"])
    redis_server.stop()
    response = await sync_to_async(http.post)("/accounts/logout/")
    assert response.status_code == 302
    assert "_auth_user_id" not in await sync_to_async(lambda: dict(http.session))()


# deactivation and deletion ----------------------------------------------------------


async def test_deactivation__closes_the_users_sockets_with_4401(users):
    alice = await socket("lobby", user=users["alice"])
    bob = await socket("lobby", user=users["bob"])

    def deactivate():
        user = get_user_model().objects.get(username="alice")
        user.is_active = False
        user.save()

    await sync_to_async(deactivate)()
    assert (await alice.recv_type("__closed__"))["code"] == 4401
    assert await still_open(bob)
    await bob.close()


async def test_other_saves__close_nothing(users):
    alice = await socket("lobby", user=users["alice"])

    def touch():
        user = get_user_model().objects.get(username="alice")
        user.first_name = "Alice"
        user.save()  # a full save of an active user
        HttpClient().login(username="alice", password="pw-alice-123456")  # last_login only
        user.is_active = False
        user.save(update_fields=["first_name"])  # is_active not written: nothing changes

    await sync_to_async(touch)()
    assert await alice.nothing(0.3)
    assert await still_open(alice)
    await alice.close()


async def test_user_deleted__sockets_closed(users):
    bob = await socket("lobby", user=users["bob"])
    await sync_to_async(get_user_model().objects.filter(username="bob").delete)()
    assert (await bob.recv_type("__closed__"))["code"] == 4401


def test_remember_active__queries_only_when_is_active_may_change(users, django_assert_num_queries):
    user = users["alice"]
    with django_assert_num_queries(1):  # the UPDATE only
        user.save(update_fields=["last_login"])
    with django_assert_num_queries(1):  # active: nothing to compare
        user.save()


# memberships removed outside chat.membership ---------------------------------------


@pytest.fixture
def secret(users):
    room = membership.create_private_room(users["alice"], "secret")
    membership.add_member(room, users["alice"], "bob")
    return room


async def test_membership_deleted_in_the_admin__socket_closed_4403(users, secret, make_user):
    bob = await socket("secret", user=users["bob"])
    bob_lobby = await socket("lobby", user=users["bob"])

    def delete_in_admin():
        root = make_user("root")
        root.is_staff = root.is_superuser = True
        root.save()
        admin = HttpClient()
        admin.force_login(root)
        pk = Membership.objects.get(room__name="secret", user__username="bob").pk
        return admin.post(f"/admin/chat/membership/{pk}/delete/", {"post": "yes"})

    response = await sync_to_async(delete_in_admin)()
    assert response.status_code == 302
    assert (await bob.recv_type("__closed__"))["code"] == 4403
    assert await still_open(bob_lobby)
    await bob_lobby.close()


async def test_membership_removed_by_the_service__closed_once(users, secret):
    bob = await socket("secret", user=users["bob"])
    await sync_to_async(membership.remove_member)(secret, users["alice"], "bob")
    assert await bob.recv() == {"type": "__closed__", "code": 4403}


async def test_membership_of_a_public_room_deleted__nothing_closed(users):
    def setup():
        room = Room.objects.create(name="open")
        Membership.objects.create(room=room, user=users["bob"])

    await sync_to_async(setup)()
    bob = await socket("open", user=users["bob"])
    await sync_to_async(Membership.objects.filter(room__name="open").delete)()
    assert await still_open(bob)
    await bob.close()
