"""Log-in attempt limits per user name and per address, against the real Redis."""

import threading

import pytest
from django.contrib import admin
from django.test import Client
from django.urls import include, path

from chat import loginlimit
from redis_core import get_manager

# The log-in page wired as chat/urls.py wires it (LimitedLoginView at /accounts/login/),
# in front of the project's own URLs, and the admin's site with the limited form.
urlpatterns = [
    path("accounts/login/", loginlimit.LimitedLoginView.as_view(), name="login"),
    path("", include("chatproject.urls")),
]
pytestmark = [pytest.mark.urls(__name__), pytest.mark.django_db]

ADDRESS = "203.0.113.5"


@pytest.fixture
def rates(settings):
    settings.CHAT_LOGIN_RATE_USER = (3, 600)
    settings.CHAT_LOGIN_RATE_IP = (6, 600)
    return settings


@pytest.fixture
def alice(make_user):
    return make_user("alice")


def log_in(username, password, ip=ADDRESS, url="/accounts/login/"):
    client = Client(REMOTE_ADDR=ip)
    return client, client.post(url, {"username": username, "password": password})


def test_user_key__folds_case_and_compatibility_forms_and_is_short():
    assert loginlimit.user_key("Alice") == loginlimit.user_key("ａｌｉｃｅ")
    assert loginlimit.user_key("alice") != loginlimit.user_key("bob")
    assert len(loginlimit.user_key("x" * 10_000)) == len("chat:login:user:") + 64
    loginlimit.user_key("\ud800")  # a lone surrogate makes a key too, no exception


def test_wrong_passwords__then_429_even_for_the_right_one(rates, alice):
    for _ in range(3):
        _, response = log_in("alice", "wrong")
        assert response.status_code == 200 and b"correct username and password" in response.content
    client, response = log_in("alice", "pw-alice-123456")
    assert response.status_code == 429
    assert 0 < int(response.headers["Retry-After"]) <= 200
    assert b"Too many log-in attempts" in response.content
    assert "_auth_user_id" not in client.session


def test_per_user_name__across_addresses_and_case(rates, alice):
    for i, name in enumerate(["alice", "ALICE", "Alice"]):
        assert log_in(name, "wrong", ip=f"198.51.100.{i}")[1].status_code == 200
    assert log_in("alice", "wrong", ip="198.51.100.9")[1].status_code == 429
    assert log_in("bob", "wrong", ip="198.51.100.9")[1].status_code == 200


def test_per_address__many_user_names_from_one_address(rates, alice):
    for i in range(6):
        assert log_in(f"user{i}", "wrong")[1].status_code == 200
    assert log_in("alice", "pw-alice-123456")[1].status_code == 429
    client, response = log_in("alice", "pw-alice-123456", ip="198.51.100.1")
    assert response.status_code == 302 and "_auth_user_id" in client.session


def test_success__gives_the_user_name_its_allowance_back_not_the_address(rates, alice):
    for _ in range(2):
        log_in("alice", "wrong")
    assert log_in("alice", "pw-alice-123456")[1].status_code == 302
    for _ in range(3):  # the user name is full again: three more guesses
        assert log_in("alice", "wrong")[1].status_code == 200
    # the address took 6 (2 + 1 + 3): nothing left, whatever the user name
    assert log_in("bob", "wrong")[1].status_code == 429


def test_form_without_password__counts_nothing(rates, alice):
    for _ in range(10):
        assert log_in("alice", "")[1].status_code == 200
    assert get_manager().client().keys("chat:login:*") == []


def test_parallel_attempts__never_more_than_the_limit_get_through(rates):
    results = []

    def guess():
        results.append(loginlimit.attempt("alice", ADDRESS))

    threads = [threading.Thread(target=guess) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert len(results) == 12
    assert results.count(None) == 3  # the others were refused with a wait


def test_off__no_limit(settings, alice):
    settings.CHAT_LOGIN_RATE_USER = None
    settings.CHAT_LOGIN_RATE_IP = None
    for _ in range(12):
        assert log_in("alice", "wrong")[1].status_code == 200
    assert log_in("alice", "pw-alice-123456")[1].status_code == 302


def test_reset__unlocks_an_account(rates, alice):
    for _ in range(3):
        log_in("alice", "wrong", ip="198.51.100.1")
    assert log_in("alice", "pw-alice-123456", ip="198.51.100.2")[1].status_code == 429
    loginlimit.reset("alice")
    assert log_in("alice", "pw-alice-123456", ip="198.51.100.2")[1].status_code == 302


def test_redis_down__refused_with_503_not_let_through(rates, alice, redis_server):
    redis_server.stop()
    client, response = log_in("alice", "pw-alice-123456")
    assert response.status_code == 503
    assert b"unavailable for a moment" in response.content
    assert "_auth_user_id" not in client.session


def test_admin_login__same_limits(rates, make_user, monkeypatch):
    staff = make_user("root")
    staff.is_staff = staff.is_superuser = True
    staff.save()
    monkeypatch.setattr(admin.site, "login_form", loginlimit.LimitedAdminAuthenticationForm)
    for _ in range(3):
        response = log_in("root", "wrong", url="/admin/login/")[1]
        assert b"Too many" not in response.content
    client, response = log_in("root", "pw-root-123456", url="/admin/login/")
    assert b"Too many log-in attempts" in response.content
    assert "_auth_user_id" not in client.session
