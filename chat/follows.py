"""Who follows which room, kept with the memberships: a member follows a private room (a
direct room included) from the moment they are added, the owner from its creation, and
stops when the membership goes. Each change is told to the user's inboxes once committed
(chat.broadcast, envelope.Follow / Unfollow). Public rooms are followed at the first
logged-in connect (chat.readstate.enter, from the consumer)."""

from django.contrib.auth import get_user_model
from django.db.models.signals import post_delete, post_save

from . import envelope, readstate
from .broadcast import notify_user_after_commit
from .models import Membership, Room

__all__ = ["connect"]


def _username(user_id):
    model = get_user_model()
    return model.objects.filter(pk=user_id).values_list(model.USERNAME_FIELD, flat=True).first()


def _follow(user_id, room):
    if readstate.follow(user_id, room.pk):
        username = _username(user_id)
        if username is not None:
            notify_user_after_commit(envelope.Follow(username, room.name))


def on_membership_saved(sender, instance, created=False, raw=False, **kwargs):
    if created and not raw:
        _follow(instance.user_id, instance.room)


def on_membership_deleted(sender, instance, **kwargs):
    room = Room.objects.filter(pk=instance.room_id).first()
    if room is None or not readstate.unfollow(instance.user_id, room.pk):
        return  # deleted with its room (a cascade takes the read positions too)
    username = _username(instance.user_id)
    if username is not None:
        notify_user_after_commit(envelope.Unfollow(username, room.name))


def on_room_saved(sender, instance, created=False, raw=False, **kwargs):
    if created and not raw and instance.is_private and instance.owner_id is not None:
        _follow(instance.owner_id, instance)


def connect():
    """Connect the receivers (from ChatConfig.ready()); idempotent."""
    post_save.connect(on_membership_saved, sender=Membership, dispatch_uid="chat.follows.saved")
    post_delete.connect(
        on_membership_deleted, sender=Membership, dispatch_uid="chat.follows.deleted"
    )
    post_save.connect(on_room_saved, sender=Room, dispatch_uid="chat.follows.room_saved")
