"""Close sockets whose right to stay open ended: logout, a session deleted or replaced, a
password changed, deactivation, removed membership, a room made private or deleted, an API
token revoked.

A socket keeps the user and the access it had at connect time, so each of these events
closes the affected sockets on every server process (chat.realtime.hub's control channel) once the
change is committed. `connect()` wires the receivers; it is idempotent.
"""

import contextvars
import logging
from functools import partial

from django.contrib.auth import SESSION_KEY, get_user_model
from django.contrib.auth.signals import user_logged_out
from django.contrib.sessions.models import Session
from django.db import transaction
from django.db.models.signals import post_delete, post_save, pre_save
from redis.exceptions import RedisError

from .broadcast import close_sockets_after_commit, publish_recheck, session_target, token_target
from .envelope import EVERYONE
from .models import ApiToken, Membership, Room
from .protocol import CloseCode

log = logging.getLogger("chat.signals")

__all__ = ["connect", "CLOSE_LOGGED_OUT", "CLOSE_NOT_MEMBER", "EVERYONE"]

CLOSE_LOGGED_OUT = CloseCode.ANONYMOUS  # anonymous now: the client stops, to log in
CLOSE_NOT_MEMBER = CloseCode.NOT_MEMBER
CLOSE_RECONNECT = CloseCode.GOING_AWAY  # reconnect: the access check then decides
CLOSE_ROOM_GONE = CloseCode.BAD_ROOM
# The session a logout is flushing: its sockets get the logout's 4401, not a session's 4001.
_logging_out = contextvars.ContextVar("chat_logging_out", default=None)


def on_logged_out(sender, request, user, **kwargs):
    """Close the sockets of the session that logged out, in every room, with 4401."""
    if user is None:
        return
    session = getattr(request, "session", None)
    session_key = getattr(session, "session_key", None)
    if session is not None:
        # django.contrib.auth.logout() flushes the session right after this signal; doing
        # it first means a socket reopened the instant ours close cannot use it any more.
        token = _logging_out.set(session_key)
        try:
            session.flush()
        finally:
            _logging_out.reset(token)
    # Only this session's sockets: the user's other devices stay logged in and connected.
    target = session_target(session_key) if session_key else user.get_username()
    close_sockets_after_commit(target, None, CLOSE_LOGGED_OUT)


def on_session_deleted(sender, instance, **kwargs):
    """A session went (login() cycles or flushes the old one, logout flushes, the admin or
    clearsessions deletes it): its sockets close with 4001 and reconnect with the browser's
    current cookie, logged in again if it has one, anonymous otherwise."""
    if not instance.session_key or instance.session_key == _logging_out.get():
        return
    if SESSION_KEY not in instance.get_decoded():
        return  # an anonymous session (login() cycles one each time): no socket names it
    close_sockets_after_commit(session_target(instance.session_key), None, CLOSE_RECONNECT)


def password_changed(instance, update_fields=None):
    """Whether this save of instance writes a new password hash, without a query:
    set_password() leaves the raw password in `_password` until save() has run (Django's
    own marker for password_changed()), and set_unusable_password() leaves an unusable
    hash (then a needless check costs the user's sockets one session read)."""
    if update_fields is not None and "password" not in update_fields:
        return False  # e.g. last_login on each log-in
    if getattr(instance, "_password", None) is not None:
        return True
    return not instance.has_usable_password()


def _recheck(username):
    try:
        publish_recheck(username)
    except (RedisError, OSError) as exc:
        # Without Redis no socket stays open anyway (every server closes them with 4012).
        log.warning("event=recheck_publish_failed user=%s error=%r", username, exc)


def on_password_saved(sender, instance, created=False, update_fields=None, **kwargs):
    """A password changed: once committed, each socket of the user checks its own session
    (chat.sessions) and closes with 4001 when the session no longer logs them in."""
    if not created and password_changed(instance, update_fields):
        transaction.on_commit(partial(_recheck, instance.get_username()))


def remember_active(sender, instance, update_fields=None, **kwargs):
    """Before a user is saved, note whether the save turns an active user inactive."""
    instance._chat_deactivated = False
    if instance.pk is None or instance.is_active:
        return
    if update_fields is not None and "is_active" not in update_fields:
        return  # e.g. last_login on each log-in: no query for those
    fields = ("is_active", sender.USERNAME_FIELD)
    was = sender.objects.filter(pk=instance.pk).values_list(*fields).first()
    if was is not None and was[0]:
        instance._chat_deactivated = was[1]


def on_user_saved(sender, instance, **kwargs):
    """A user was deactivated: close their sockets everywhere with 4401."""
    username = getattr(instance, "_chat_deactivated", False)
    if username:
        instance._chat_deactivated = False
        close_sockets_after_commit(username, None, CLOSE_LOGGED_OUT)


def on_user_deleted(sender, instance, **kwargs):
    close_sockets_after_commit(instance.get_username(), None, CLOSE_LOGGED_OUT)


def on_membership_deleted(sender, instance, **kwargs):
    """A membership went (the admin, a cascade): close its sockets to that private room."""
    if getattr(instance, "chat_sockets_closed", False):
        return  # chat.membership.remove_member closes them itself
    model = get_user_model()
    username = (
        model.objects.filter(pk=instance.user_id)
        .values_list(model.USERNAME_FIELD, flat=True)
        .first()
    )
    room = Room.objects.filter(pk=instance.room_id).values_list("name", "is_private").first()
    if username is None or room is None:
        return  # deleted with its user (on_user_deleted closes everything) or its room
    name, is_private = room
    if is_private:  # in a public room a membership grants nothing to take back
        close_sockets_after_commit(username, name, CLOSE_NOT_MEMBER)


def remember_room_access(sender, instance, update_fields=None, **kwargs):
    """Before a room is saved, note whether the save narrows who may read it: a public
    room made private, or a private room given another owner."""
    instance._chat_access_narrowed = False
    if instance.pk is None or not instance.is_private:
        return
    if update_fields is not None and not {"is_private", "owner"} & set(update_fields):
        return
    was = Room.objects.filter(pk=instance.pk).values_list("is_private", "owner_id").first()
    if was is not None and (not was[0] or was[1] != instance.owner_id):
        instance._chat_access_narrowed = True


def on_room_saved(sender, instance, **kwargs):
    """Access narrowed: every socket of the room reconnects and passes the check again."""
    if getattr(instance, "_chat_access_narrowed", False):
        instance._chat_access_narrowed = False
        close_sockets_after_commit(EVERYONE, instance.name, CLOSE_RECONNECT)


def on_room_deleted(sender, instance, **kwargs):
    close_sockets_after_commit(EVERYONE, instance.name, CLOSE_ROOM_GONE)


def on_token_deleted(sender, instance, **kwargs):
    """An API token was revoked (its page, the API, the admin, its user deleted): the
    sockets it opened close with 4401 on every server process, once committed."""
    close_sockets_after_commit(token_target(instance.key_id), None, CLOSE_LOGGED_OUT)


def connect():
    """Connect the receivers (from ChatConfig.ready())."""
    user_model = get_user_model()
    user_logged_out.connect(on_logged_out, dispatch_uid="chat.signals.logged_out")
    pre_save.connect(remember_active, sender=user_model, dispatch_uid="chat.signals.pre_user")
    post_save.connect(on_user_saved, sender=user_model, dispatch_uid="chat.signals.user_saved")
    post_save.connect(
        on_password_saved, sender=user_model, dispatch_uid="chat.signals.password_saved"
    )
    post_delete.connect(
        on_session_deleted, sender=Session, dispatch_uid="chat.signals.session_deleted"
    )
    post_delete.connect(
        on_user_deleted, sender=user_model, dispatch_uid="chat.signals.user_deleted"
    )
    post_delete.connect(
        on_membership_deleted, sender=Membership, dispatch_uid="chat.signals.membership_deleted"
    )
    pre_save.connect(remember_room_access, sender=Room, dispatch_uid="chat.signals.pre_room")
    post_save.connect(on_room_saved, sender=Room, dispatch_uid="chat.signals.room_saved")
    post_delete.connect(on_room_deleted, sender=Room, dispatch_uid="chat.signals.room_deleted")
    post_delete.connect(
        on_token_deleted, sender=ApiToken, dispatch_uid="chat.signals.token_deleted"
    )
