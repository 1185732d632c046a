"""Whether a socket's browser session still logs its user in, checked again when asked.

A socket authenticates once, at connect. When the user's password changes (by the user,
or by an admin with set_password()), Django refuses their other sessions on the next HTTP
request; chat.signals asks every socket of that user (chat.realtime.hub's `recheck` command) to
apply Django's same rule to its own session, and the ones that fail close with 4001, so
the reconnect authenticates again with whatever cookie the browser holds now.
"""

from importlib import import_module

from django.conf import settings
from django.contrib.auth import HASH_SESSION_KEY, SESSION_KEY, get_user_model
from django.utils.crypto import constant_time_compare

from .protocol import CloseCode

__all__ = ["CLOSE_RECONNECT", "session_still_valid"]

CLOSE_RECONNECT = CloseCode.GOING_AWAY  # reconnect: the handshake reads the current cookie


def _load(session_key):
    """The session's data from the configured engine ({} when it is gone)."""
    engine = import_module(settings.SESSION_ENGINE)
    return engine.SessionStore(session_key).load()


def session_still_valid(session_key, user_pk):
    """True when session_key still logs in the active user user_pk, by Django's rule:
    the session names that user and holds the hash of their current password (or of one
    made with a SECRET_KEY_FALLBACKS key)."""
    if not session_key or user_pk is None:
        return False
    data = _load(session_key)
    model = get_user_model()
    try:
        if model._meta.pk.to_python(data.get(SESSION_KEY)) != user_pk:
            return False
    except Exception:  # a malformed or missing user id: not this user's session
        return False
    user = model._default_manager.filter(pk=user_pk).first()
    if user is None or not getattr(user, "is_active", True):
        return False
    stored = data.get(HASH_SESSION_KEY) or ""
    hashes = [user.get_session_auth_hash(), *user.get_session_auth_fallback_hash()]
    return any(constant_time_compare(stored, current) for current in hashes)
