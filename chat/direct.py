"""Direct rooms: the private room of exactly two users, found again by either of them.

Its name is `dm-<smaller user id>-<larger user id>`; nobody owns it and its two members
are fixed when it is made (chat.membership refuses changes to it). Names of that form are
never given to a public or private room made otherwise (chat.services, chat.membership).
"""

import re

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction

from .models import Membership, Room

__all__ = ["DirectError", "NoSuchUser", "name_for", "is_direct_name", "open_direct", "title"]

_NAME = re.compile(r"dm-[0-9]+-[0-9]+\Z")


class DirectError(Exception):
    """A direct room that cannot be opened; the message says why."""


class NoSuchUser(DirectError):
    """No active user of that name."""


def name_for(a_id, b_id):
    low, high = sorted((a_id, b_id))
    return f"dm-{low}-{high}"


def is_direct_name(name):
    """True for every name of the direct-room form (made or not)."""
    return bool(_NAME.match(name))


def open_direct(user, username):
    """The direct room of user and the active user called username, made on first use:
    (room, created). NoSuchUser for an unknown or inactive name, DirectError for oneself."""
    model = get_user_model()
    other = model.objects.filter(**{model.USERNAME_FIELD: username, "is_active": True}).first()
    if other is None:
        raise NoSuchUser(f"There is no user called “{username}”.")
    if other.pk == user.pk:
        raise DirectError("A direct room is with somebody else.")
    name = name_for(user.pk, other.pk)
    room = Room.objects.filter(name=name).first()
    if room is not None:
        return room, False
    try:
        with transaction.atomic():
            room = Room.objects.create(name=name, is_private=True, direct=True)
            # chat.signals makes each member follow it and tells their inboxes.
            for member in (user, other):
                Membership.objects.create(room=room, user=member)
    except IntegrityError:  # made meanwhile by the other user
        return Room.objects.get(name=name), False
    return room, True


def title(room, user):
    """What a page calls room for user: the other user's name for a direct room."""
    if not room.direct:
        return room.name
    field = get_user_model().USERNAME_FIELD
    other = (
        Membership.objects.filter(room=room)
        .exclude(user_id=getattr(user, "pk", None))
        .values_list("user__" + field, flat=True)
        .first()
    )
    return other or room.name
