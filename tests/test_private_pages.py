"""Answers that carry a private room's content are not cached; the admin has its own CSP;
a private room's page tells a non-member nothing a free name would not."""

import base64
import hashlib
import re
from pathlib import Path

import django
import pytest
from django.test import Client

from chat import admin_csp
from chat.models import Membership, Room

pytestmark = pytest.mark.django_db

ADMIN_TEMPLATES = Path(django.__file__).parent / "contrib" / "admin" / "templates"


@pytest.fixture
def team(make_user):
    bob = make_user("bob")
    room = Room.objects.create(name="team", is_private=True, owner=bob)
    Membership.objects.create(room=room, user=make_user("alice"))
    return room


def logged_in(user):
    client = Client()
    client.force_login(user)
    return client


def without_csrf(content):
    """The page without its CSRF token, which is masked anew for every response."""
    return re.sub(rb'name="csrfmiddlewaretoken" value="[^"]*"', b"", content)


def no_store(response):
    return "no-store" in response.headers.get("Cache-Control", "")


def test_private_room__page_api_and_members_page_are_no_store(team):
    alice, bob = team.memberships.get().user, team.owner
    for client, path in [
        (logged_in(alice), "/chat/team/"),
        (logged_in(alice), "/api/rooms/team/messages"),
        (logged_in(bob), "/chat/team/members/"),
    ]:
        response = client.get(path)
        assert response.status_code == 200, path
        assert no_store(response), path
        assert response.headers["Cross-Origin-Resource-Policy"] == "same-origin"


def test_public_room__cacheable_as_before(client):
    Room.objects.create(name="lobby")
    assert not no_store(client.get("/chat/lobby/"))
    assert not no_store(client.get("/api/rooms/lobby/messages"))


def test_private_room__a_non_member_gets_the_page_of_a_free_name(team, make_user):
    carol = logged_in(make_user("carol"))
    private, free = carol.get("/chat/team/"), carol.get("/chat/tean/")
    assert private.status_code == free.status_code == 200
    assert without_csrf(private.content) == without_csrf(free.content.replace(b"tean", b"team"))
    assert sorted(private.headers) == sorted(free.headers)
    assert not no_store(private)


def test_private_room__contract_codes_kept(team, make_user):
    assert Client().get("/api/rooms/team/messages").status_code == 401
    assert logged_in(make_user("carol")).get("/api/rooms/team/messages").status_code == 403


def admin_client(make_user):
    root = make_user("root")
    root.is_staff = root.is_superuser = True
    root.save()
    return logged_in(root)


def inline_code(html):
    """Inline scripts, event handler and style attributes, and <style> bodies of a page."""
    scripts = [m for m in re.findall(r"<script\b([^>]*)>", html) if "src=" not in m]
    handlers = re.findall(r"\son[a-z]+\s*=", html)
    styles = re.findall(r"\sstyle\s*=", html)
    return scripts, handlers, styles, re.findall(r"<style\b[^>]*>(.*?)</style>", html, re.S)


def style_hash(body):
    return "'sha256-" + base64.b64encode(hashlib.sha256(body.encode()).digest()).decode() + "'"


def test_admin_pages__csp_and_nothing_inline_it_would_block(team, make_user):
    client = admin_client(make_user)
    paths = [
        "/admin/",
        "/admin/chat/room/",
        f"/admin/chat/room/{team.pk}/change/",
        "/admin/chat/room/add/",
        "/admin/chat/membership/",
        "/admin/chat/message/",
        "/admin/auth/user/",
        "/admin/auth/user/add/",
        f"/admin/auth/user/{team.owner.pk}/password/",
        "/admin/password_change/",
    ]
    for path in paths:
        response = client.get(path)
        assert response.status_code == 200, path
        policy = response.headers["Content-Security-Policy"]
        assert policy == admin_csp.ADMIN_CONTENT_SECURITY_POLICY
        scripts, handlers, styles, style_bodies = inline_code(response.content.decode())
        assert (scripts, handlers, styles) == ([], [], []), path
        for body in style_bodies:
            assert style_hash(body) in policy, path
    login = Client().get("/admin/login/")
    assert login.headers["Content-Security-Policy"] == admin_csp.ADMIN_CONTENT_SECURITY_POLICY


def test_admin_csp__allows_the_change_list_style_of_the_installed_django():
    template = (ADMIN_TEMPLATES / "admin" / "change_list.html").read_text()
    bodies = re.findall(r"<style>(.*?)</style>", template, re.S)
    assert bodies and all(style_hash(b) in admin_csp.ADMIN_CONTENT_SECURITY_POLICY for b in bodies)


def test_admin_csp__not_on_other_pages(client):
    assert client.get("/healthz").headers.get("Content-Security-Policy") is None
