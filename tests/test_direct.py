"""Direct rooms: POST /dm/<username>/, found again by either user, members fixed, titled
by the other user; a third user is refused on every path."""

import pytest
from django.test import Client

from chat import direct, membership, services
from chat.models import Membership, ReadPosition, Room

pytestmark = pytest.mark.django_db


@pytest.fixture
def users(make_user):
    return {name: make_user(name) for name in ("alice", "bob", "carol")}


def logged_in(user, **kwargs):
    client = Client(**kwargs)
    client.force_login(user)
    return client


def test_post__made_on_first_use_then_found_again_by_either(users):
    alice, bob = users["alice"], users["bob"]
    name = f"dm-{min(alice.pk, bob.pk)}-{max(alice.pk, bob.pk)}"
    response = logged_in(alice).post("/dm/bob/")
    assert (response.status_code, response["Location"]) == (302, f"/chat/{name}/")
    again = logged_in(bob).post("/dm/alice/")
    assert again["Location"] == f"/chat/{name}/"
    room = Room.objects.get(name=name)
    assert (room.is_private, room.direct, room.owner_id) == (True, True, None)
    assert sorted(Membership.objects.filter(room=room).values_list("user__username", flat=True)) == [
        "alice", "bob",
    ]  # fmt: skip
    followers = ReadPosition.objects.filter(room=room).values_list("user__username", flat=True)
    assert sorted(followers) == ["alice", "bob"]
    assert Room.objects.filter(direct=True).count() == 1


def test_post__unknown_inactive_self_anonymous_and_get(users):
    alice, carol = users["alice"], users["carol"]
    carol.is_active = False
    carol.save()
    client = logged_in(alice)
    assert client.post("/dm/nobody/").status_code == 404
    assert client.post("/dm/carol/").status_code == 404
    refused = client.post("/dm/alice/")
    assert refused.status_code == 400
    assert "somebody else" in refused.content.decode()
    assert client.get("/dm/bob/").status_code == 405
    anonymous = Client().post("/dm/bob/")
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/accounts/login/")
    assert not Room.objects.filter(direct=True).exists()


def test_post__needs_the_csrf_token(users):
    client = logged_in(users["alice"], enforce_csrf_checks=True)
    assert client.post("/dm/bob/").status_code == 403
    assert not Room.objects.filter(direct=True).exists()


def test_members_fixed__nobody_adds_or_removes(users):
    room, _ = direct.open_direct(users["alice"], "bob")
    for actor in (users["alice"], users["bob"]):
        with pytest.raises(membership.MembershipError, match="fixed"):
            membership.add_member(room, actor, "carol")
        with pytest.raises(membership.MembershipError, match="fixed"):
            membership.remove_member(room, actor, "bob")
    page = logged_in(users["alice"]).post(
        f"/chat/{room.name}/members/", {"action": "add", "username": "carol"}
    )
    assert page.status_code == 403
    assert not Membership.objects.filter(room=room, user=users["carol"]).exists()


def test_third_user__refused_on_the_page_and_the_api(users):
    room, _ = direct.open_direct(users["alice"], "bob")
    services.post_message(room.pk, users["alice"], "just us", None)
    carol = logged_in(users["carol"])
    page = carol.get(f"/chat/{room.name}/")
    assert "just us" not in page.content.decode()
    assert carol.get(f"/api/rooms/{room.name}/messages").status_code == 403
    assert Client().get(f"/api/rooms/{room.name}/messages").status_code == 401
    with pytest.raises(services.NotMember):
        services.open_room(room.name, users["carol"])


def test_name_kept__a_direct_name_never_becomes_another_room(users):
    alice, bob = users["alice"], users["bob"]
    name = direct.name_for(alice.pk, bob.pk)
    # carol opens the name before alice and bob ever talked: no public room appears
    assert services.open_room(name, users["carol"]).pk is None
    with pytest.raises(membership.MembershipError, match="direct rooms"):
        membership.create_private_room(users["carol"], name)
    room, created = direct.open_direct(alice, "bob")
    assert created and room.direct


def test_titles__each_sees_the_other(users):
    room, _ = direct.open_direct(users["alice"], "bob")
    assert direct.title(room, users["alice"]) == "bob"
    assert direct.title(room, users["bob"]) == "alice"
    page = logged_in(users["alice"]).get(f"/chat/{room.name}/")
    assert '<h1 id="room-title">bob</h1>' in page.content.decode()
    home = logged_in(users["bob"]).get("/")
    assert 'class="room-name">alice</a>' in home.content.decode()
