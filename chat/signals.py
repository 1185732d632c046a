"""Close sockets whose right to stay open ended: logout, deactivation, removed membership.

A socket keeps the user it authenticated as at connect time, so each of these events
closes the user's sockets on every server process (chat.hub's control channel) once the
change is committed. `connect()` wires the receivers; it is idempotent.
"""

from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_out
from django.db.models.signals import post_delete, post_save, pre_save

from .membership import close_sockets_after_commit
from .models import Membership, Room

__all__ = ["connect", "CLOSE_LOGGED_OUT", "CLOSE_NOT_MEMBER"]

CLOSE_LOGGED_OUT = 4401  # the connection is anonymous now: the client stops, to log in
CLOSE_NOT_MEMBER = 4403


def on_logged_out(sender, request, user, **kwargs):
    """Close the user's sockets, everywhere, with 4401."""
    if user is None:
        return
    session = getattr(request, "session", None)
    if session is not None:
        # django.contrib.auth.logout() flushes the session right after this signal; doing
        # it first means a socket reopened the instant ours close cannot use it any more.
        session.flush()
    close_sockets_after_commit(user.get_username(), None, CLOSE_LOGGED_OUT)


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
        model.objects.filter(pk=instance.user_id).values_list(model.USERNAME_FIELD, flat=True).first()
    )
    room = Room.objects.filter(pk=instance.room_id).values_list("name", "is_private").first()
    if username is None or room is None:
        return  # deleted with its user (on_user_deleted closes everything) or its room
    name, is_private = room
    if is_private:  # in a public room a membership grants nothing to take back
        close_sockets_after_commit(username, name, CLOSE_NOT_MEMBER)


def connect():
    """Connect the receivers (from ChatConfig.ready())."""
    user_model = get_user_model()
    user_logged_out.connect(on_logged_out, dispatch_uid="chat.signals.logged_out")
    pre_save.connect(remember_active, sender=user_model, dispatch_uid="chat.signals.pre_user")
    post_save.connect(on_user_saved, sender=user_model, dispatch_uid="chat.signals.user_saved")
    post_delete.connect(
        on_user_deleted, sender=user_model, dispatch_uid="chat.signals.user_deleted"
    )
    post_delete.connect(
        on_membership_deleted, sender=Membership, dispatch_uid="chat.signals.membership_deleted"
    )
