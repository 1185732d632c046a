"""Log-in attempt limits per user name and per address, against the real Redis."""

import threading

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import include, path

from chat.limits import login as loginlimit
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
    settings.CHAT_LOGIN_RATE_PAIR = (3, 600)
    settings.CHAT_LOGIN_RATE_USER = (8, 600)
    settings.CHAT_LOGIN_RATE_IP = (6, 600)
    return settings


@pytest.fixture
def alice(make_user):
    return make_user("alice")


def log_in(username, password, ip=ADDRESS, url="/accounts/login/"):
    client = Client(REMOTE_ADDR=ip)
    return client, client.post(url, {"username": username, "password": password})


def test_normalize__folds_case_compatibility_forms_and_surrounding_space():
    assert {loginlimit.normalize(n) for n in ["alice", "ALICE", "ａｌｉｃｅ", " alice\t"]} == {
        "alice"
    }


def test_keys__fold_user_names_and_are_short():
    assert loginlimit.user_key("Alice") == loginlimit.user_key("ａｌｉｃｅ")
    assert loginlimit.user_key("alice") != loginlimit.user_key("bob")
    assert len(loginlimit.user_key("x" * 10_000)) == len("chat:login:user:") + 64
    assert loginlimit.pair_key(" ALICE ", ADDRESS) == loginlimit.pair_key("alice", ADDRESS)
    assert loginlimit.pair_key("alice", ADDRESS) != loginlimit.pair_key("alice", "203.0.113.6")
    loginlimit.user_key("\ud800")  # a lone surrogate makes a key too, no exception


def test_wrong_passwords__then_429_even_for_the_right_one_from_that_address(rates, alice):
    for _ in range(3):
        _, response = log_in("alice", "wrong")
        assert response.status_code == 200 and b"correct username and password" in response.content
    client, response = log_in("alice", "pw-alice-123456")
    assert response.status_code == 429
    assert 0 < int(response.headers["Retry-After"]) <= 200
    assert b"Too many log-in attempts" in response.content
    assert "_auth_user_id" not in client.session


def test_stranger_cannot_lock_the_owner_out__any_spelling_of_the_name(settings, alice):
    # The defaults (pair 10 then 1/min): a stranger's wrong guesses, with every spelling
    # of the name that folds to "alice", use up the stranger's own allowance only.
    spellings = ["alice", "ALICE", "ａｌｉｃｅ", " alice ", "Alice"]
    refused = 0
    for i in range(15):
        refused += log_in(spellings[i % 5], "wrong", ip="198.51.100.66")[1].status_code == 429
    assert refused >= 4  # the pair's burst of 10 is spent: the stranger is slowed
    client, response = log_in("alice", "pw-alice-123456", ip="192.0.2.10")
    assert response.status_code == 302 and "_auth_user_id" in client.session


def test_stranger_cannot_lock_the_owner_out__through_the_admin_login(settings, make_user):
    staff = make_user("root")
    staff.is_staff = staff.is_superuser = True
    staff.save()
    for _ in range(12):
        log_in("ROOT", "wrong", ip="198.51.100.66", url="/admin/login/")
    assert (
        b"Too many" in log_in("root", "wrong", ip="198.51.100.66", url="/admin/login/")[1].content
    )
    client, response = log_in("root", "pw-root-123456", ip="192.0.2.10", url="/admin/login/")
    assert response.status_code == 302 and "_auth_user_id" in client.session


def test_per_user_name_ceiling__slows_a_guess_spread_over_addresses(rates, alice):
    for i, name in enumerate(["alice", "ALICE", "Alice"] * 3):
        status = log_in(name, "wrong", ip=f"198.51.100.{i}")[1].status_code
        assert status == (200 if i < 8 else 429)
    assert log_in("alice", "wrong", ip="198.51.100.99")[1].status_code == 429
    assert log_in("bob", "wrong", ip="198.51.100.99")[1].status_code == 200


def test_per_address__many_user_names_from_one_address(rates, alice):
    for i in range(6):
        assert log_in(f"user{i}", "wrong")[1].status_code == 200
    assert log_in("alice", "pw-alice-123456")[1].status_code == 429
    client, response = log_in("alice", "pw-alice-123456", ip="198.51.100.1")
    assert response.status_code == 302 and "_auth_user_id" in client.session


def test_success__gives_the_pair_its_allowance_back_not_the_address(rates, alice):
    for _ in range(2):
        log_in("alice", "wrong")
    assert log_in("alice", "pw-alice-123456")[1].status_code == 302
    for _ in range(3):  # the pair is full again: three more guesses
        assert log_in("alice", "wrong")[1].status_code == 200
    # the address took 6 (2 + 1 + 3): nothing left, whatever the user name
    assert log_in("bob", "wrong")[1].status_code == 429


def test_success__does_not_refill_the_user_name_ceiling(rates, alice):
    for i in range(7):
        log_in("alice", "wrong", ip=f"198.51.100.{i}")
    assert log_in("alice", "pw-alice-123456", ip="192.0.2.1")[1].status_code == 302  # the 8th
    assert log_in("alice", "pw-alice-123456", ip="192.0.2.1")[1].status_code == 429


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
    assert results.count(None) == 3  # the pair's allowance  # the others were refused with a wait


def test_off__no_limit(settings, alice):
    settings.CHAT_LOGIN_RATE_PAIR = None
    settings.CHAT_LOGIN_RATE_USER = None
    settings.CHAT_LOGIN_RATE_IP = None
    for _ in range(12):
        assert log_in("alice", "wrong")[1].status_code == 200
    assert log_in("alice", "pw-alice-123456")[1].status_code == 302


def test_reset__unlocks_an_account_everywhere(rates, alice):
    for i in range(8):
        log_in("alice", "wrong", ip=f"198.51.100.{i % 4}")
    assert log_in("alice", "pw-alice-123456", ip="198.51.100.2")[1].status_code == 429
    loginlimit.reset("ALICE")
    assert get_manager().client().keys("chat:login:pair:*") == []
    assert log_in("alice", "pw-alice-123456", ip="198.51.100.0")[1].status_code == 302


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


def sign_up(name, ip=ADDRESS):
    client = Client(REMOTE_ADDR=ip)
    data = {"username": name, "password1": "Kx9!mqv-2-zzt", "password2": "Kx9!mqv-2-zzt"}
    return client.post("/accounts/signup/", data)


def test_signup__limited_per_address_with_retry_after(settings):
    settings.CHAT_SIGNUP_RATE_IP = (3, 3600)
    for i in range(3):
        assert sign_up(f"user{i}").status_code == 302
    response = sign_up("user3")
    assert response.status_code == 429
    assert 0 < int(response.headers["Retry-After"]) <= 1200
    assert b"Too many accounts were created from your address" in response.content
    assert not get_user_model().objects.filter(username="user3").exists()
    assert sign_up("user3", ip="198.51.100.7").status_code == 302  # another address


def test_signup__default_allows_a_small_burst_then_refuses(settings):
    outcomes = [sign_up(f"bulk{i}").status_code for i in range(8)]
    assert outcomes == [302] * 5 + [429] * 3
    assert get_user_model().objects.filter(username__startswith="bulk").count() == 5


def test_signup__an_invalid_form_counts_nothing(settings):
    settings.CHAT_SIGNUP_RATE_IP = (1, 3600)
    client = Client(REMOTE_ADDR=ADDRESS)
    for _ in range(3):
        data = {"username": "carol", "password1": "Kx9!mqv-2-zzt", "password2": "typo"}
        assert client.post("/accounts/signup/", data).status_code == 200
    assert sign_up("carol").status_code == 302


def test_signup__redis_down_is_503_and_no_account(settings, redis_server):
    redis_server.stop()
    response = sign_up("dave")
    assert response.status_code == 503
    assert not get_user_model().objects.filter(username="dave").exists()
