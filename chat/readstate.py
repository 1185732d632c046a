"""Read positions, followed rooms, unread and mention counts (synchronous: the database).

A user follows a room when a ReadPosition row joins them (chat.models). For a followed
room, `unread` is the number of messages above the read position that others posted and
that are not deleted, and `mentions` how many of those mention the user. Both are range
counts on indexes, (room, seq) of messages and (user, room, seq) of mentions, from the
read position up: never a scan of the room's history below it.

The counts are read together with the room's latest seq and the read position in one
statement, so a Counts names the state it was taken at (`seq`, `read`); both only grow,
which is how a socket tells a newer count from a stale one (Counts.newer_than).
"""

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import Count, F, IntegerField, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce

from .models import Membership, Mention, Message, ReadPosition, Room

__all__ = [
    "Counts", "InboxRoom", "enter", "follow", "unfollow", "move", "position", "counts_for",
    "inbox", "followed_names", "followed_room",
]  # fmt: skip

CHUNK = 500  # users per counting statement (well within every backend's parameter limit)


@dataclass(frozen=True)
class Counts:
    """A user's counts in a room as of the room's latest seq `seq` and read position `read`."""

    seq: int
    read: int
    unread: int
    mentions: int

    def newer_than(self, other):
        """True when self was taken at a later state than other (None: nothing yet)."""
        if other is None:
            return True
        return (
            self.seq >= other.seq
            and self.read >= other.read
            and (self.seq, self.read) != (other.seq, other.read)
        )


@dataclass(frozen=True)
class InboxRoom:
    """A followed room as the inbox frame lists it."""

    room_id: int
    name: str
    private: bool
    title: str
    counts: Counts


def _count(queryset):
    return Coalesce(
        Subquery(queryset.order_by().values("room").annotate(n=Count("pk")).values("n")[:1]),
        Value(0),
        output_field=IntegerField(),
    )


def _unread():
    return _count(
        Message.objects.filter(
            room=OuterRef("room"), seq__gt=OuterRef("seq"), deleted=False
        ).exclude(user=OuterRef("user"))
    )


def _mentions():
    return _count(
        Mention.objects.filter(
            user=OuterRef("user"), room=OuterRef("room"), seq__gt=OuterRef("seq")
        ).exclude(message__user=OuterRef("user"))
    )


def _with_counts(positions):
    return positions.annotate(latest=F("room__last_seq"), unread=_unread(), mentioned=_mentions())


def _counts(row):
    return Counts(row.latest, min(row.seq, row.latest), row.unread, row.mentioned)


def enter(user_id, room_id):
    """A logged-in user opens room room_id: (their read position, True when they follow
    it from now on)."""
    seq = position(user_id, room_id)
    if seq is not None:
        return seq, False
    return 0, follow(user_id, room_id)


def position(user_id, room_id):
    """The read position of user_id in room_id, or None when they do not follow it."""
    return (
        ReadPosition.objects.filter(user_id=user_id, room_id=room_id)
        .values_list("seq", flat=True)
        .first()
    )


def follow(user_id, room_id):
    """Make user_id follow room_id (read position 0); True when they did not already."""
    try:
        with transaction.atomic():
            _, created = ReadPosition.objects.get_or_create(user_id=user_id, room_id=room_id)
    except IntegrityError:  # followed meanwhile, by another connection
        return False
    return created


def unfollow(user_id, room_id):
    """Stop user_id following room_id (a membership removed); True when they did."""
    deleted, _ = ReadPosition.objects.filter(user_id=user_id, room_id=room_id).delete()
    return bool(deleted)


def move(user_id, room_id, seq):
    """The read position of user_id in room_id becomes the larger of the old one and seq,
    capped at the room's latest seq. Returns the new position when it moved, else None.
    A user who did not follow the room follows it from there."""
    latest = Room.objects.filter(pk=room_id).values_list("last_seq", flat=True).first()
    if latest is None:
        return None
    target = min(seq, latest)
    if target <= 0:
        return None
    moved = ReadPosition.objects.filter(user_id=user_id, room_id=room_id, seq__lt=target).update(
        seq=target
    )
    if moved:
        return target
    if position(user_id, room_id) is None:
        try:
            with transaction.atomic():
                ReadPosition.objects.create(user_id=user_id, room_id=room_id, seq=target)
        except IntegrityError:
            return move(user_id, room_id, seq)
        return target
    return None


def counts_for(room_id, user_ids):
    """{user_id: Counts} in room room_id for those of user_ids who follow it: one counting
    statement per CHUNK users."""
    user_ids = sorted(user_ids)
    found = {}
    for start in range(0, len(user_ids), CHUNK):
        rows = _with_counts(
            ReadPosition.objects.filter(
                room_id=room_id, user_id__in=user_ids[start : start + CHUNK]
            )
        ).values_list("user_id", "seq", "latest", "unread", "mentioned")
        # Tuples, not model instances: this runs for every inbox of a room on each burst.
        for user_id, seq, latest, unread, mentioned in rows:
            found[user_id] = Counts(latest, min(seq, latest), unread, mentioned)
    return found


def _title_of_direct(user_id):
    field = get_user_model().USERNAME_FIELD
    return Subquery(
        Membership.objects.filter(room=OuterRef("room"))
        .exclude(user_id=user_id)
        .values("user__" + field)[:1]
    )


def _rooms(positions, user_id):
    rows = _with_counts(positions).annotate(
        name=F("room__name"),
        private=F("room__is_private"),
        direct=F("room__direct"),
        other=_title_of_direct(user_id),
        activity=F("room__last_activity"),
    )
    return [
        InboxRoom(
            row.room_id,
            row.name,
            row.private,
            (row.other if row.direct else None) or row.name,
            _counts(row),
        )  # fmt: skip
        for row in rows.order_by(F("activity").desc(nulls_last=True), "name")
    ]


def inbox(user_id):
    """Every room user_id follows, most recent activity first, with its counts."""
    return _rooms(ReadPosition.objects.filter(user_id=user_id), user_id)


def followed_room(user_id, name):
    """The InboxRoom of room name when user_id follows it, else None."""
    found = _rooms(ReadPosition.objects.filter(user_id=user_id, room__name=name), user_id)
    return found[0] if found else None


def followed_names(user_id):
    """{room name: room id} of the rooms user_id follows."""
    return dict(ReadPosition.objects.filter(user_id=user_id).values_list("room__name", "room_id"))
