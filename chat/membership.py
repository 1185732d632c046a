"""Private rooms and their members: owner-only changes, and live removal.

Removing a member closes that user's open sockets to the room on every server process
(4403) once the removal is committed; a socket that connects later is refused by the
access check. chat.signals does the same for removals made elsewhere (the admin).
"""

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction

from . import direct, protocol
from .broadcast import close_sockets_after_commit
from .models import Membership, Room

__all__ = [
    "MembershipError", "NotOwner", "is_owner", "require_owner", "create_private_room",
    "member_names", "add_member", "remove_member",
]  # fmt: skip


class MembershipError(Exception):
    """A membership change that was refused; the message says why, for the page."""


class NotOwner(MembershipError):
    """Only the room's owner may manage its members."""


def is_owner(room, user):
    return user.is_authenticated and room.owner_id is not None and room.owner_id == user.pk


def require_owner(room, user):
    if not is_owner(room, user):
        raise NotOwner(f"Only the owner of #{room.name} can manage its members.")


def create_private_room(owner, name):
    """A new private room owned by owner; refused when the name is invalid or taken."""
    if not owner.is_authenticated:
        raise MembershipError("Log in to create a private room.")
    if not protocol.valid_room(name):
        raise MembershipError(f"“{name}” is not a valid room name.")
    if direct.is_direct_name(name):
        raise MembershipError(f"Names like “{name}” are kept for direct rooms; choose another.")
    taken = MembershipError(f"The name #{name} is taken; choose another.")
    if Room.objects.filter(name=name).exists():
        raise taken
    try:
        with transaction.atomic():
            return Room.objects.create(name=name, is_private=True, owner=owner)
    except IntegrityError:  # taken meanwhile, by another request or a first connection
        raise taken from None


def member_names(room):
    """The user names of room's members, sorted (the owner is listed apart)."""
    field = "user__" + get_user_model().USERNAME_FIELD
    return sorted(Membership.objects.filter(room=room).values_list(field, flat=True))


def _active_user(username):
    model = get_user_model()
    user = model.objects.filter(**{model.USERNAME_FIELD: username, "is_active": True}).first()
    if user is None:
        raise MembershipError(f"There is no user called “{username}”.")
    return user


def _not_direct(room):
    if room.direct:
        raise MembershipError(
            "The members of a direct room are fixed: nobody can be added or removed."
        )


def add_member(room, actor, username):
    """Make username a member of room (actor must own it); returns True when newly added."""
    _not_direct(room)
    require_owner(room, actor)
    user = _active_user(username)
    if user.pk == room.owner_id:
        raise MembershipError("The owner is always a member.")
    _, created = Membership.objects.get_or_create(room=room, user=user)
    return created


def remove_member(room, actor, username):
    """Remove username from room (actor must own it) and, after the commit, close their
    sockets to it everywhere; returns True when they were a member."""
    _not_direct(room)
    require_owner(room, actor)
    if username == actor.get_username():
        raise MembershipError("The owner cannot be removed.")
    field = "user__" + get_user_model().USERNAME_FIELD
    with transaction.atomic():
        membership = Membership.objects.filter(room=room, **{field: username}).first()
        if membership is None:
            return False
        membership.chat_sockets_closed = True  # chat.signals: closed here already
        membership.delete()
        close_sockets_after_commit(username, room.name)
    return True
