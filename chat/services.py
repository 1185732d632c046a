"""Chat logic on the database: rooms, access, the room's log (posting, edits, deletions,
reactions, each with its seq), history and resume.

Everything here is synchronous database code (the ORM, and chat.store's SQL for the hot
paths: posting and reading pages); the real-time side calls it through chat.realtime.db.
The database is the durable record: seq is assigned in the same transaction as the
insert, under a lock on the room row.
"""

from dataclasses import dataclass

from django.db import IntegrityError, connection, transaction

from . import direct, protocol, store
from .limits import connections as connlimit
from .models import Membership, Room

__all__ = [
    "Page", "AccessDenied", "LoginRequired", "NotMember", "RoomGone", "RoomLimitReached",
    "get_or_create_room", "check_access", "open_room", "Refused", "post_message",
    "post_messages", "latest_messages", "messages_before", "events_after",
]  # fmt: skip


@dataclass
class Page:
    messages: list  # message objects (dicts), oldest first
    complete: bool
    latest: int = 0


def get_or_create_room(name):
    """The room called name; a public room comes into being on first use."""
    room = Room.objects.filter(name=name).first()
    if room is None:
        try:
            with transaction.atomic():
                room = Room.objects.create(name=name)
        except IntegrityError:  # created meanwhile by another connection
            room = Room.objects.get(name=name)
    return room


class AccessDenied(Exception):
    """The user may not read the room."""


class LoginRequired(AccessDenied):
    """The room is private and the user is anonymous."""


class NotMember(AccessDenied):
    """The room is private and the user is not a member."""


class RoomGone(AccessDenied):
    """The room was deleted."""


def check_access(room, user):
    """Nothing when user may read room; LoginRequired or NotMember otherwise."""
    if not room.is_private:
        return
    if not user.is_authenticated:
        raise LoginRequired(room.name)
    if room.owner_id == user.pk or Membership.objects.filter(room=room, user=user).exists():
        return
    raise NotMember(room.name)


class RoomLimitReached(Exception):
    """The user created as many rooms as the limit allows for now."""

    def __init__(self, retry_after):
        super().__init__(f"Too many new rooms; try again in {retry_after:g} s.")
        self.retry_after = retry_after


def open_room(name, user):
    """The room called name, when user may read it (else AccessDenied): one trip to the
    database thread for a connect. A room that does not exist is created when a logged-in
    user opens it (within their room-creation limit); for anyone else it is an empty room
    that is not stored (its pk is None) until somebody creates it."""
    room = Room.objects.filter(name=name).first()
    if room is None:
        try:
            room = create_room(name, user)
        except RoomLimitReached:
            room = None
        if room is None:
            return Room(name=name)
    check_access(room, user)
    return room


def create_room(name, user):
    """The public room called name, created by user if it does not exist yet; None for an
    anonymous user. Raises RoomLimitReached over the user's room-creation limit."""
    room = Room.objects.filter(name=name).first()
    if room is not None or not user.is_authenticated or direct.is_direct_name(name):
        return room  # a direct room's name is made only by chat.direct
    wait = connlimit.allow_room_creation(user.pk)
    if wait is not None:
        raise RoomLimitReached(wait)
    return get_or_create_room(name)


def stored(room):
    """room as stored now (a room opened before it existed may have been created since),
    or None while it does not exist."""
    if room.pk is not None:
        return room
    return Room.objects.filter(name=room.name).first()


def room_id_named(name):
    return Room.objects.filter(name=name).values_list("pk", flat=True).first()


def check_access_now(room_id, user):
    """check_access() on the room as stored now; RoomGone when it was deleted meanwhile."""
    room = Room.objects.filter(pk=room_id).first()
    if room is None:
        raise RoomGone(str(room_id))
    check_access(room, user)


class Refused(Exception):
    """The log's rules refused a command (not_found, forbidden, bad_field): nothing stored."""

    def __init__(self, code, detail):
        super().__init__(detail)
        self.code = code
        self.detail = detail


def post_message(room_id, user, text, client_id, reply_to=None):
    """Store a message; returns (message object, created). A repeated client_id is not
    stored; a reply_to the rules refuse raises Refused."""
    post = store.Post(user.pk, user.get_username(), text, client_id, reply_to)
    [result] = post_messages(room_id, [post])
    if result.error is not None:
        raise Refused(*result.error)
    return result.frame, result.created_now


def post_messages(room_id, items):
    """Store items (chat.store.Post or Change) to one room in one transaction, in order;
    returns a chat.store.Stored for each (created_now False for a repeated client_id)."""
    return store.store_posts(room_id, items)


def latest_seq(room_id):
    with connection.cursor() as cursor:
        return store.latest_seq(cursor, room_id)


# Each reader takes the latest seq first and reads only up to it, so that "latest" never
# claims a message the page does not hold (another connection may store one meanwhile).


def latest_messages(room, limit):
    """The latest limit messages, oldest first; complete when nothing older exists."""
    room = stored(room)
    if room is None:
        return Page([], True, 0)
    return Page(*store.read_page(room.pk, room.name, limit=limit, newest=True))


def messages_before(room, before, limit):
    """Messages with seq < before (latest when None), oldest first; complete when none older."""
    room = stored(room)
    if room is None:
        return Page([], True, 0)
    return Page(*store.read_page(room.pk, room.name, before=before, limit=limit, newest=True))


def events_after(room, since, limit):
    """Every event with seq > since (messages as posted, edits, deletions, reactions),
    oldest first, at most limit; complete when none remain (resume, the API with since)."""
    room = stored(room)
    if room is None:
        return Page([], True, 0)
    return Page(*store.read_events(room.pk, room.name, after=since, limit=limit))


def encoded_range(room_id, after, upto):
    """[(seq, encoded event)] for after < seq <= upto (hub gap repair)."""
    name = Room.objects.filter(pk=room_id).values_list("name", flat=True).first()
    if name is None:
        return []
    events, _, _ = store.read_events(room_id, name, after=after, upto=upto, limit=upto - after)
    return [(event["seq"], protocol.encode(event)) for event in events]
