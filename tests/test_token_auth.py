"""chat.token_auth on the real database: create, authenticate, note use, revoke."""

from datetime import timedelta

import pytest

from chat import token_auth, tokens
from chat.envelope import CONTROL_CHANNEL, Close, decode_control
from chat.models import ApiToken
from redis_core import get_manager

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice(make_user):
    return make_user("alice")


def test_create_token__stores_the_digest_never_the_text(alice):
    token, text = token_auth.create_token(alice, "  deploy  ")
    stored = ApiToken.objects.get(pk=token.pk)
    assert stored.name == "deploy" and stored.user == alice and stored.last_used is None
    parsed = tokens.parse(text)
    assert stored.key_id == parsed.key_id
    assert stored.digest == tokens.digest(parsed.secret)
    assert parsed.secret not in str(list(ApiToken.objects.values_list()))


def test_create_token__several_per_user_names_unique_per_user(alice, make_user):
    bob = make_user("bob")
    token_auth.create_token(alice, "ci")
    token_auth.create_token(alice, "bot")
    token_auth.create_token(bob, "ci")  # another user's name space
    with pytest.raises(token_auth.TokenNameTaken, match="of that name already"):
        token_auth.create_token(alice, "ci")
    assert ApiToken.objects.filter(user=alice).count() == 2


def test_create_token__at_most_max_tokens(alice):
    for i in range(token_auth.MAX_TOKENS):
        token_auth.create_token(alice, f"t{i}")
    with pytest.raises(token_auth.TooManyTokens):
        token_auth.create_token(alice, "one more")


def test_create_token__invalid_name(alice):
    with pytest.raises(tokens.InvalidName):
        token_auth.create_token(alice, "x" * 65)
    assert not ApiToken.objects.exists()


def test_authenticate__the_token_user(alice):
    token, text = token_auth.create_token(alice, "ci")
    found = token_auth.authenticate(text)
    assert found.pk == token.pk and found.user == alice


def test_authenticate__wrong_secret_unknown_key_malformed_are_none(alice):
    token, text = token_auth.create_token(alice, "ci")
    token_auth.create_token(alice, "other")
    stranger_text = tokens.new_token()[0]
    wrong_secret = f"chat_{token.key_id}_{stranger_text.split('_', 2)[2]}"
    assert token_auth.authenticate(wrong_secret) is None
    assert token_auth.authenticate(stranger_text) is None  # a key id that is not stored
    assert token_auth.authenticate(text[:-1]) is None
    assert token_auth.authenticate("") is None


def test_authenticate__an_inactive_users_token_is_none(alice):
    _, text = token_auth.create_token(alice, "ci")
    alice.is_active = False
    alice.save()
    assert token_auth.authenticate(text) is None
    assert not token_auth.token_exists(ApiToken.objects.get().key_id)


def test_authenticate__last_used_written_at_most_once_a_minute(alice, django_assert_num_queries):
    token, text = token_auth.create_token(alice, "ci")
    token_auth.authenticate(text)
    first = ApiToken.objects.get(pk=token.pk).last_used
    assert first is not None
    with django_assert_num_queries(1):  # the lookup only: no write within the minute
        token_auth.authenticate(text)
    assert ApiToken.objects.get(pk=token.pk).last_used == first
    ApiToken.objects.filter(pk=token.pk).update(last_used=first - timedelta(seconds=61))
    token_auth.authenticate(text)
    assert ApiToken.objects.get(pk=token.pk).last_used > first


def test_revoke__deletes_and_closes_the_tokens_sockets_everywhere_after_commit(
    alice, django_capture_on_commit_callbacks
):
    from chat import signals

    signals.connect()
    token, text = token_auth.create_token(alice, "ci")
    pubsub = get_manager().client().pubsub()
    pubsub.subscribe(CONTROL_CHANNEL)
    pubsub.get_message(timeout=1.0)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            assert token_auth.revoke(alice, "ci") is True
            assert pubsub.get_message(timeout=0.2) is None  # not before the commit
        message = pubsub.get_message(timeout=2.0)
    finally:
        pubsub.close()
    assert decode_control(message["data"]) == Close(f"token:{token.key_id}", 4401, None)
    assert token_auth.authenticate(text) is None
    assert token_auth.revoke(alice, "ci") is False
