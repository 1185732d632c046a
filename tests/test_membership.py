"""Private rooms and members: owner-only changes, the pages, and live removal."""

import pytest
from asgiref.sync import sync_to_async
from django.test import Client as HttpClient

from chat import membership
from chat.models import Membership, Room
from tests.wsutil import Client

# The membership pages as chat/urls.py includes them, in front of the project's URLs.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def users(make_user):
    return {name: make_user(name) for name in ("alice", "bob", "carol")}


@pytest.fixture
def secret(users):
    room = membership.create_private_room(users["alice"], "secret")
    membership.add_member(room, users["alice"], "bob")
    return room


def browser(user=None, **kwargs):
    client = HttpClient(**kwargs)
    if user is not None:
        client.force_login(user)
    return client


# services ---------------------------------------------------------------------------


def test_create_private_room__owned_and_private(users):
    room = membership.create_private_room(users["alice"], "plans")
    assert room.is_private and room.owner == users["alice"]


@pytest.mark.parametrize("name", ["Bad Name", "", "-x", "a" * 65, "x\ny"])
def test_create_private_room__invalid_name_refused(users, name):
    with pytest.raises(membership.MembershipError, match="not a valid room name"):
        membership.create_private_room(users["alice"], name)


def test_create_private_room__taken_name_refused_existing_room_untouched(users):
    Room.objects.create(name="lobby")
    with pytest.raises(membership.MembershipError, match="taken"):
        membership.create_private_room(users["alice"], "lobby")
    assert Room.objects.get(name="lobby").is_private is False


def test_add_and_remove__owner_only(users, secret):
    for actor in (users["bob"], users["carol"]):
        with pytest.raises(membership.NotOwner):
            membership.add_member(secret, actor, "carol")
        with pytest.raises(membership.NotOwner):
            membership.remove_member(secret, actor, "bob")
    assert membership.member_names(secret) == ["bob"]


def test_add_member__unknown_or_inactive_user_or_owner_refused(users, secret):
    with pytest.raises(membership.MembershipError, match="no user called"):
        membership.add_member(secret, users["alice"], "mallory")
    users["carol"].is_active = False
    users["carol"].save()
    with pytest.raises(membership.MembershipError, match="no user called"):
        membership.add_member(secret, users["alice"], "carol")
    with pytest.raises(membership.MembershipError, match="owner"):
        membership.add_member(secret, users["alice"], "alice")


def test_add_member__twice_is_one_membership(users, secret):
    assert membership.add_member(secret, users["alice"], "bob") is False
    assert Membership.objects.filter(room=secret).count() == 1


def test_remove_member__owner_cannot_be_removed_non_member_is_false(users, secret):
    with pytest.raises(membership.MembershipError, match="owner cannot"):
        membership.remove_member(secret, users["alice"], "alice")
    assert membership.remove_member(secret, users["alice"], "carol") is False
    assert membership.remove_member(secret, users["alice"], "bob") is True
    assert membership.member_names(secret) == []


# live removal -------------------------------------------------------------------------


async def joined(room, user):
    client = Client(room, user=user)
    assert (await client.connect())[0]
    assert (await client.recv_type("hello"))["type"] == "hello"
    return client


async def test_removal__closes_the_members_socket_to_that_room_at_once(users, secret):
    bob_secret = await joined("secret", users["bob"])
    bob_lobby = await joined("lobby", users["bob"])
    owner = await joined("secret", users["alice"])
    await sync_to_async(membership.remove_member)(secret, users["alice"], "bob")
    assert (await bob_secret.recv_type("__closed__"))["code"] == 4403
    # only that room, only that user
    for client in (bob_lobby, owner):
        await client.send({"type": "ping"})
        assert (await client.recv_type("pong"))["type"] == "pong"
    again = Client("secret", user=users["bob"])
    await again.connect()
    assert await again.recv() == {"type": "__closed__", "code": 4403}
    for client in (bob_lobby, owner):
        await client.close()


async def test_removal_through_the_page__closes_the_socket(users, secret):
    bob = await joined("secret", users["bob"])
    page = await sync_to_async(browser)(users["alice"])
    response = await sync_to_async(page.post)(
        "/chat/secret/members/", {"action": "remove", "username": "bob"}
    )
    assert response.status_code == 303
    assert (await bob.recv_type("__closed__"))["code"] == 4403


async def test_added_member__can_connect(users, secret):
    await sync_to_async(membership.add_member)(secret, users["alice"], "carol")
    carol = await joined("secret", users["carol"])
    await carol.close()


# pages ------------------------------------------------------------------------------


def test_members_page__owner_sees_members_and_forms(users, secret):
    response = browser(users["alice"]).get("/chat/secret/members/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "Members of #secret" in page and '<span class="member-name">bob</span>' in page
    assert "csrfmiddlewaretoken" in page
    assert "Content-Security-Policy" in response.headers


@pytest.mark.parametrize("who, status", [("bob", 403), ("carol", 403)])
def test_members_page__members_and_strangers_refused_without_the_list(users, secret, who, status):
    response = browser(users[who]).get("/chat/secret/members/")
    assert response.status_code == status
    assert b"member-name" not in response.content


def test_members_page__anonymous_sent_to_log_in(secret):
    response = browser().get("/chat/secret/members/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/accounts/login/?next=/chat/secret/members/")


@pytest.mark.parametrize("room", ["nosuchroom", "Not-Valid"])
def test_members_page__unknown_or_invalid_room_404(users, room):
    assert browser(users["alice"]).get(f"/chat/{room}/members/").status_code == 404


def test_members_page__add_and_remove(users, secret):
    page = browser(users["alice"])
    response = page.post("/chat/secret/members/", {"action": "add", "username": "carol"})
    assert response.status_code == 303
    assert membership.member_names(secret) == ["bob", "carol"]
    shown = page.get("/chat/secret/members/").content.decode()
    assert "carol is now a member of #secret." in shown
    page.post("/chat/secret/members/", {"action": "remove", "username": "bob"})
    assert membership.member_names(secret) == ["carol"]
    response = page.post("/chat/secret/members/", {"action": "add", "username": "mallory"})
    assert (
        "There is no user called “mallory”."
        in page.get(response.headers["Location"]).content.decode()
    )


def test_members_page__non_owner_post_changes_nothing(users, secret):
    for who in ("bob", "carol"):
        response = browser(users[who]).post(
            "/chat/secret/members/", {"action": "add", "username": who}
        )
        assert response.status_code == 403
        response = browser(users[who]).post(
            "/chat/secret/members/", {"action": "remove", "username": "bob"}
        )
        assert response.status_code == 403
    assert membership.member_names(secret) == ["bob"]


def test_members_page__post_without_csrf_token_refused(users, secret):
    page = browser(users["alice"], enforce_csrf_checks=True)
    response = page.post("/chat/secret/members/", {"action": "add", "username": "carol"})
    assert response.status_code == 403
    assert membership.member_names(secret) == ["bob"]


def test_members_page__bad_action_or_empty_name_changes_nothing(users, secret):
    page = browser(users["alice"])
    for data in ({"action": "promote", "username": "carol"}, {"action": "add", "username": ""}):
        assert page.post("/chat/secret/members/", data).status_code == 303
    assert membership.member_names(secret) == ["bob"]


def test_new_private_room_page__creates_and_redirects_to_members(users):
    page = browser(users["alice"])
    assert page.get("/rooms/new-private/").status_code == 200
    response = page.post("/rooms/new-private/", {"room": " Plans "})
    assert response.status_code == 302 and response.headers["Location"] == "/chat/plans/members/"
    room = Room.objects.get(name="plans")
    assert room.is_private and room.owner == users["alice"]


def test_new_private_room_page__taken_or_invalid_name_400(users):
    Room.objects.create(name="lobby")
    page = browser(users["alice"])
    taken = page.post("/rooms/new-private/", {"room": "lobby"})
    assert taken.status_code == 400 and "taken" in taken.content.decode()
    assert page.post("/rooms/new-private/", {"room": "no spaces"}).status_code == 400
    assert Room.objects.filter(is_private=True).count() == 0


def test_new_private_room_page__anonymous_sent_to_log_in_and_csrf_enforced(users):
    assert browser().post("/rooms/new-private/", {"room": "x"}).status_code == 302
    strict = browser(users["alice"], enforce_csrf_checks=True)
    assert strict.post("/rooms/new-private/", {"room": "x"}).status_code == 403
    assert not Room.objects.filter(name="x").exists()
