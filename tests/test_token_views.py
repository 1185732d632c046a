"""The user's API tokens page and the admin's tokens and bot flag (real database)."""

import re

import pytest
from django.contrib.auth import get_user_model

from chat import token_auth
from chat.models import ApiToken, ChatProfile

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice(make_user):
    return make_user("alice")


@pytest.fixture
def page(client, alice):
    client.force_login(alice)
    return client


def shown_token(html):
    found = re.search(r'id="new-token"[^>]*value="(chat_[^"]+)"', html)
    return found.group(1) if found else None


def test_page__anonymous_is_sent_to_log_in(client):
    response = client.get("/account/tokens/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_page__lists_nothing_at_first_with_a_labelled_form(page):
    response = page.get("/account/tokens/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "<h1>API tokens</h1>" in html and "You hold no tokens." in html
    assert '<label for="id_name">Token name</label>' in html
    assert "no-store" in response.headers["Cache-Control"]


def test_page__create_shows_the_token_once_then_only_its_name(page, alice):
    response = page.post("/account/tokens/", {"action": "create", "name": "deploy"})
    html = response.content.decode()
    text = shown_token(html)
    assert response.status_code == 200 and text is not None
    assert token_auth.authenticate(text).user == alice
    again = page.get("/account/tokens/").content.decode()
    assert "deploy" in again and text not in again and shown_token(again) is None


def test_page__refusals_are_shown_on_the_field(page, alice):
    token_auth.create_token(alice, "deploy")
    response = page.post("/account/tokens/", {"action": "create", "name": "deploy"})
    assert response.status_code == 400
    assert "already" in response.content.decode() and shown_token(response.content.decode()) is None
    response = page.post("/account/tokens/", {"action": "create", "name": ""})
    assert response.status_code == 400 and 'role="alert"' in response.content.decode()


def test_page__revoke_then_redirect_with_a_notice(page, alice):
    token_auth.create_token(alice, "deploy")
    response = page.post("/account/tokens/", {"action": "revoke", "name": "deploy"}, follow=True)
    assert response.redirect_chain == [("/account/tokens/", 303)]
    assert "was revoked" in response.content.decode()
    assert not ApiToken.objects.exists()


def test_page__cannot_revoke_another_users_token(page, make_user):
    token_auth.create_token(make_user("bob"), "deploy")
    response = page.post("/account/tokens/", {"action": "revoke", "name": "deploy"}, follow=True)
    assert "You hold no token" in response.content.decode()
    assert ApiToken.objects.count() == 1


# admin --------------------------------------------------------------------------------


@pytest.fixture
def staff(client, make_user):
    admin = get_user_model().objects.create_superuser("root", password="pw-root-123456")
    client.force_login(admin)
    return client


def test_admin__staff_create_a_token_for_a_user_shown_once(staff, alice):
    response = staff.post("/admin/chat/apitoken/add/", {"user": alice.pk, "name": "ops"})
    html = response.content.decode()
    text = shown_token(html)
    assert response.status_code == 200 and text is not None
    assert "no-store" in response.headers["Cache-Control"]
    token = ApiToken.objects.get()
    assert token.user == alice and token.name == "ops"
    assert token_auth.authenticate(text).pk == token.pk
    listing = staff.get("/admin/chat/apitoken/").content.decode()
    assert "ops" in listing and text not in listing


def test_admin__a_duplicate_name_is_refused(staff, alice):
    token_auth.create_token(alice, "ops")
    response = staff.post("/admin/chat/apitoken/add/", {"user": alice.pk, "name": "ops"})
    assert response.status_code == 200 and ApiToken.objects.count() == 1
    assert shown_token(response.content.decode()) is None


def test_admin__deleting_revokes(staff, alice):
    token, text = token_auth.create_token(alice, "ops")
    page = staff.get(f"/admin/chat/apitoken/{token.pk}/change/")
    assert page.status_code == 200 and token.key_id in page.content.decode()
    assert token.digest not in page.content.decode()  # read-only, and the hash is not shown
    response = staff.post(f"/admin/chat/apitoken/{token.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert token_auth.authenticate(text) is None


def test_admin__staff_mark_a_user_rate_exempt(staff, alice):
    form = staff.get(f"/admin/auth/user/{alice.pk}/change/").content.decode()
    assert "rate_exempt" in form
    data = {
        "username": "alice", "date_joined_0": "2026-01-01", "date_joined_1": "00:00:00",
        "is_active": "on", "chat_profile-TOTAL_FORMS": "1", "chat_profile-INITIAL_FORMS": "0",
        "chat_profile-MIN_NUM_FORMS": "0", "chat_profile-MAX_NUM_FORMS": "1",
        "chat_profile-0-rate_exempt": "on", "chat_profile-0-user": alice.pk,
    }  # fmt: skip
    response = staff.post(f"/admin/auth/user/{alice.pk}/change/", data)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert ChatProfile.objects.get(user=alice).rate_exempt is True
