"""Sockets closed when the right to them ends: logout, deactivation, removal in the admin."""

import time

import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth import get_user_model
from django.db import transaction
from django.test import Client as HttpClient

from chat import envelope, membership, signals
from chat.envelope import CONTROL_CHANNEL, Close, Unfollow
from chat.models import Membership, Room
from redis_core import get_manager
from tests.wsutil import Client, socket, still_open

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


# logout -----------------------------------------------------------------------------


async def test_logout__closes_the_sessions_sockets_in_every_room_with_4401(users):
    http, sessionid = await sync_to_async(logged_in)(users["alice"])
    _, phone_sessionid = await sync_to_async(logged_in)(users["alice"])  # another device
    lobby = await socket("lobby", sessionid=sessionid)
    other = await socket("other", sessionid=sessionid)
    phone = await socket("lobby", sessionid=phone_sessionid)
    assert lobby.hello["user"] == "alice" and phone.hello["user"] == "alice"
    bob = await socket("lobby", user=users["bob"])
    response = await sync_to_async(http.post)("/accounts/logout/")
    assert response.status_code == 302
    assert (await lobby.recv_type("__closed__"))["code"] == 4401
    assert (await other.recv_type("__closed__"))["code"] == 4401
    assert await still_open(bob)
    assert await still_open(phone)  # logging out on one device leaves the others alone
    # the old cookie is dead: a new socket with it is anonymous, and cannot post
    again = await socket("lobby", sessionid=sessionid)
    assert again.hello["user"] is None
    await again.send({"type": "message", "text": "still me?"})
    assert (await again.recv_type("error"))["code"] == "auth_required"
    assert await sync_to_async(lambda: Room.objects.get(name="lobby").last_seq)() == 0
    for client in (bob, again, phone):
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


def control_commands(action, wait=0.3):
    """The hub control commands published while action runs (read for a bounded time)."""
    pubsub = get_manager().client().pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(CONTROL_CHANNEL)
    try:
        pubsub.get_message(timeout=1)  # the subscription's confirmation
        action()
        commands, deadline = [], time.monotonic() + wait
        while time.monotonic() < deadline:
            message = pubsub.get_message(timeout=0.05)
            if message:
                commands.append(envelope.decode_control(message["data"]))
        return commands
    finally:
        pubsub.close()


def test_membership_removed_by_the_service__one_close_not_two(users, secret):
    commands = control_commands(lambda: membership.remove_member(secret, users["alice"], "bob"))
    assert [c for c in commands if isinstance(c, Close)] == [Close("bob", 4403, "secret")]
    # and bob's inboxes drop the room (chat.follows)
    assert [c for c in commands if not isinstance(c, Close)] == [Unfollow("bob", "secret")]


def test_membership_removal_rolled_back__nothing_closed(users, secret):
    def remove_then_fail():
        with pytest.raises(RuntimeError), transaction.atomic():
            Membership.objects.filter(room=secret).delete()
            raise RuntimeError("rolled back")

    assert control_commands(remove_then_fail) == []
    assert membership.member_names(secret) == ["bob"]


async def test_membership_of_a_public_room_deleted__nothing_closed(users):
    def setup():
        room = Room.objects.create(name="open")
        Membership.objects.create(room=room, user=users["bob"])

    await sync_to_async(setup)()
    bob = await socket("open", user=users["bob"])
    await sync_to_async(Membership.objects.filter(room__name="open").delete)()
    assert await still_open(bob)
    await bob.close()


# rooms made private or deleted ------------------------------------------------------


def make_private(name, owner):
    room = Room.objects.get(name=name)
    room.is_private = True
    room.owner = owner
    room.save()


def test_room_made_private__every_socket_of_it_told_to_reconnect(users):
    Room.objects.create(name="club")
    commands = control_commands(lambda: make_private("club", users["alice"]))
    assert commands == [Close("*", 4001, "club")]


def test_room_saves_that_narrow_nothing__publish_nothing(users):
    room = Room.objects.create(name="club", is_private=True, owner=users["alice"])
    room.last_activity = None
    assert control_commands(room.save) == []
    public = Room.objects.create(name="open")
    assert control_commands(public.save) == []


def test_room_deleted__every_socket_of_it_told_room_gone(users):
    Room.objects.create(name="club")
    commands = control_commands(Room.objects.filter(name="club").delete)
    assert commands == [Close("*", 4404, "club")]


async def test_room_made_private__outsiders_closed_members_get_back_in(users, make_user):
    def club():
        room = Room.objects.create(name="club")
        Membership.objects.create(room=room, user=users["bob"])

    await sync_to_async(club)()
    carol_user = await sync_to_async(make_user)("carol")
    anonymous, bob, carol = [
        await socket("club", user=user) for user in (None, users["bob"], carol_user)
    ]
    await sync_to_async(make_private)("club", users["alice"])
    for client in (anonymous, bob, carol):
        assert (await client.recv_type("__closed__", timeout=2))["code"] == 4001
    bob_again = await socket("club", user=users["bob"])
    for user, code in ((None, 4401), (carol_user, 4403)):
        refused = Client("club", user=user)
        await refused.connect()
        assert await refused.recv() == {"type": "__closed__", "code": code}
    await bob_again.close()


async def test_room_deleted__sockets_closed_4404(users):
    bob = await socket("club", user=users["bob"])
    await sync_to_async(Room.objects.filter(name="club").delete)()
    assert (await bob.recv_type("__closed__", timeout=2))["code"] == 4404
