"""API tokens on the database: create, authenticate, revoke (the format is chat.tokens).

Revoking is deleting the row; chat.signals then closes every socket the token opened, on
every server process. Synchronous ORM code: the real-time side calls it through
chat.realtime.db.database_call.
"""

from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from . import tokens
from .models import ApiToken

__all__ = [
    "MAX_TOKENS", "LAST_USED_EVERY", "TokenNameTaken", "TooManyTokens", "create_token",
    "authenticate", "token_exists", "revoke",
]  # fmt: skip

MAX_TOKENS = 20  # per user: enough for every bot and script, bounded for the page
# last_used is a hint for the user's page, not an audit log: one write a minute at most,
# not one per request.
LAST_USED_EVERY = timedelta(minutes=1)


class TokenNameTaken(Exception):
    """The user holds a token of that name already."""


class TooManyTokens(Exception):
    """The user holds MAX_TOKENS tokens already."""


def create_token(user, name):
    """(ApiToken, token text) for a new token of user called name (chat.tokens.clean_name);
    the text exists only in this return value. TokenNameTaken, TooManyTokens, InvalidName."""
    name = tokens.clean_name(name)
    text, key_id, digest = tokens.new_token()
    try:
        with transaction.atomic():
            if ApiToken.objects.filter(user=user).count() >= MAX_TOKENS:
                raise TooManyTokens(f"You hold {MAX_TOKENS} tokens already; revoke one first.")
            if ApiToken.objects.filter(user=user, name=name).exists():
                raise TokenNameTaken("You have a token of that name already.")
            token = ApiToken.objects.create(user=user, name=name, key_id=key_id, digest=digest)
    except IntegrityError:  # the same name created meanwhile
        raise TokenNameTaken("You have a token of that name already.") from None
    return token, text


def authenticate(text):
    """The ApiToken (its user loaded) that text is, when it exists and its user is active;
    None otherwise. Notes the use at most once every LAST_USED_EVERY."""
    parsed = tokens.parse(text)
    if parsed is None:
        return None
    token = ApiToken.objects.select_related("user").filter(key_id=parsed.key_id).first()
    if token is None or not tokens.matches(parsed, token.digest):
        return None
    if not token.user.is_active:
        return None
    now = timezone.now()
    if token.last_used is None or now - token.last_used >= LAST_USED_EVERY:
        # Conditional, so that concurrent requests write once between them.
        ApiToken.objects.filter(pk=token.pk).filter(
            Q(last_used__isnull=True) | Q(last_used__lte=now - LAST_USED_EVERY)
        ).update(last_used=now)
        token.last_used = now
    return token


def token_exists(key_id):
    """True while the token with key_id is not revoked and its user is active."""
    return ApiToken.objects.filter(key_id=key_id, user__is_active=True).exists()


def revoke(user, name):
    """Revoke user's token called name; False when they hold none of that name."""
    token = ApiToken.objects.filter(user=user, name=name).first()
    if token is None:
        return False
    token.delete()  # post_delete (chat.signals) closes its sockets once committed
    return True
