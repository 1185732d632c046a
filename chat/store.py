"""The room's log in SQL: store a batch of commands to one room in one transaction.

Posting is the chat's hottest write, and the ORM's query compilation cost more than the
database itself (about 0.3 ms of CPU per query, five queries a post). Here each step is one
prepared statement, and a batch of posts to a room costs the same statements as one post:

1. lock the room row and read its last seq (``SELECT ... FOR UPDATE``; on SQLite the
   transaction is IMMEDIATE, so the write lock is taken at ``BEGIN``);
2. find the commands whose ``client_id`` that user already stored in the room, as a
   message or as another event (idempotency, under the lock, so two processes cannot both
   store one ``client_id``);
3. insert the new messages with ``seq + 1``, ``seq + 2``, ... in one multi-row ``INSERT``;
4. move the room's ``last_seq`` and ``last_activity``.

Edits, deletions and reaction changes (Change) are events of the same log: in the same
batch, under the same lock, each takes the next seq and changes the message's current state
in the same transaction. A change the rules refuse (no such message, not the author, a
deleted message, a 21st emoji) stores nothing and takes no seq: its outcome carries the
error instead. Seq stays unique and gap-free across processes: it is only taken under the
row lock, in the transaction that inserts it.
"""

from dataclasses import dataclass, replace
from datetime import UTC

from django.db import connection, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from . import mentions as mention_names
from . import protocol
from .models import Event, Mention, Message, Reaction, Room

__all__ = [
    "Post", "Change", "Stored", "store_posts", "check", "read_page", "read_events",
    "current_messages", "sql_names", "user_names",
]  # fmt: skip

# Rows per INSERT: SQLite allows 32,766 parameters, PostgreSQL 65,535; 10 per row.
INSERT_CHUNK = 500


@dataclass(frozen=True)
class Post:
    user_id: int
    username: str
    text: str
    client_id: str | None
    reply_to: int | None = None


@dataclass(frozen=True)
class Change:
    """An edit (text), a deletion, or a reaction change (emoji, on) of message target."""

    kind: str  # "edit", "delete" or "react"
    user_id: int
    username: str
    target: int
    client_id: str | None = None
    text: str = ""
    emoji: str = ""
    on: bool = False
    moderator: bool = False  # staff: may delete any message (so may a private room's owner)


@dataclass(frozen=True)
class Stored:
    """A command's outcome: the event it stored (frame, with its seq), or the first one for
    a repeated client_id (created_now False), or nothing (seq None: a reaction that changed
    nothing; error (code, detail): refused)."""

    room: str
    seq: int | None
    username: str
    text: str
    created: object  # datetime
    client_id: str | None
    created_now: bool
    frame: dict | None = None
    error: tuple | None = None


def _names():
    quote = connection.ops.quote_name
    room, message, event = Room._meta, Message._meta, Event._meta

    def column(meta, name):
        return quote(meta.get_field(name).column)

    return {
        "room": quote(room.db_table),
        "message": quote(message.db_table),
        "event": quote(event.db_table),
        "reaction": quote(Reaction._meta.db_table),
        "id": column(room, "id"),
        "name": column(room, "name"),
        "last_seq": column(room, "last_seq"),
        "last_activity": column(room, "last_activity"),
        "is_private": column(room, "is_private"),
        "owner": column(room, "owner"),
        "m_id": column(message, "id"),
        "m_room": column(message, "room"),
        "m_seq": column(message, "seq"),
        "m_user": column(message, "user"),
        "m_text": column(message, "text"),
        "m_client": column(message, "client_id"),
        "m_created": column(message, "created"),
        "m_reply": column(message, "reply_to"),
        "m_mentions": column(message, "mentions"),
        "m_edited": column(message, "edited"),
        "m_deleted": column(message, "deleted"),
        "m_original": column(message, "original"),
        "m_original_mentions": column(message, "original_mentions"),
        "e_room": column(event, "room"),
        "e_seq": column(event, "seq"),
        "e_kind": column(event, "kind"),
        "e_user": column(event, "user"),
        "e_target": column(event, "target"),
        "e_text": column(event, "text"),
        "e_mentions": column(event, "mentions"),
        "e_emoji": column(event, "emoji"),
        "e_on": column(event, "on"),
        "e_client": column(event, "client_id"),
        "e_created": column(event, "created"),
        "mention": quote(Mention._meta.db_table),
        "mn_message": quote(Mention._meta.get_field("message").column),
        "mn_user": quote(Mention._meta.get_field("user").column),
        "mn_room": quote(Mention._meta.get_field("room").column),
        "mn_seq": quote(Mention._meta.get_field("seq").column),
        "r_message": quote(Reaction._meta.get_field("message").column),
        "r_user": quote(Reaction._meta.get_field("user").column),
        "r_emoji": quote(Reaction._meta.get_field("emoji").column),
        "r_id": quote(Reaction._meta.pk.column),
    }


def _lock_room(cursor, n, room_id):
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
    cursor.execute(
        f"SELECT {n['name']}, {n['last_seq']}, {n['is_private']}, {n['owner']} FROM {n['room']}"
        f" WHERE {n['id']} = %s{lock}",
        [room_id],
    )
    return cursor.fetchone()


def _existing(room_id, items):
    """{(user_id, client_id): seq} already stored for the items' client ids, as messages or
    as other events."""
    keyed = {(p.user_id, p.client_id) for p in items if p.client_id is not None}
    if not keyed:
        return {}
    users = {user_id for user_id, _ in keyed}
    client_ids = {client_id for _, client_id in keyed}
    found = {}
    for model in (Message, Event):
        for user_id, client_id, seq in (
            model.objects.filter(room_id=room_id, user_id__in=users, client_id__in=client_ids)
            .order_by()
            .values_list("user_id", "client_id", "seq")
        ):
            found[(user_id, client_id)] = seq
    return {key: value for key, value in found.items() if key in keyed}


def _any_stored(cursor, n, room_id, items):
    """Whether any of the items' client ids is stored already: one query on the indexes of
    (room, user, client_id) of messages and of events."""
    keyed = sorted({(p.user_id, p.client_id) for p in items if p.client_id is not None})
    if not keyed:
        return False
    users = sorted({user_id for user_id, _ in keyed})
    client_ids = sorted({client_id for _, client_id in keyed})
    marks_u, marks_c = ", ".join(["%s"] * len(users)), ", ".join(["%s"] * len(client_ids))
    cursor.execute(
        f"SELECT 1 FROM {n['message']} WHERE {n['m_room']} = %s"
        f" AND {n['m_user']} IN ({marks_u}) AND {n['m_client']} IN ({marks_c})"
        f" UNION ALL SELECT 1 FROM {n['event']} WHERE {n['e_room']} = %s"
        f" AND {n['e_user']} IN ({marks_u}) AND {n['e_client']} IN ({marks_c}) LIMIT 1",
        [room_id, *users, *client_ids, room_id, *users, *client_ids],
    )
    return cursor.fetchone() is not None


_MESSAGE_COLUMNS = ("m_room", "m_seq", "m_user", "m_text", "m_client", "m_created", "m_reply")


def _insert(cursor, n, rows):
    columns = ", ".join(n[c] for c in (*_MESSAGE_COLUMNS, "m_mentions", "m_deleted"))
    for start in range(0, len(rows), INSERT_CHUNK):
        chunk = rows[start : start + INSERT_CHUNK]
        values = ", ".join(["(%s, %s, %s, %s, %s, %s, %s, %s, %s)"] * len(chunk))
        cursor.execute(
            f"INSERT INTO {n['message']} ({columns}) VALUES {values}",
            [value for row in chunk for value in row],
        )


def _room(room_id, name, is_private, owner_id):
    return Room(pk=room_id, name=name, is_private=bool(is_private), owner_id=owner_id)


class _Batch:
    """The state of one batch in its transaction: the room, its seq, the rows to insert."""

    def __init__(self, cursor, n, room, seq, now):
        self.cursor, self.n, self.room, self.seq, self.now = cursor, n, room, seq, now
        self.created_db = connection.ops.adapt_datetimefield_value(now)
        self.rows = []  # messages not inserted yet
        self.mentioned = {}  # seq of a new message -> [(user id, name)]
        self.stored_any = False

    def flush(self):
        """Insert the messages gathered so far (a change may refer to one of them)."""
        if not self.rows:
            return
        _insert(self.cursor, self.n, self.rows)
        self.rows = []
        if self.mentioned:
            ids = dict(
                Message.objects.filter(room_id=self.room.pk, seq__in=list(self.mentioned))
                .order_by()
                .values_list("seq", "pk")
            )
            Mention.objects.bulk_create(
                Mention(message_id=ids[seq], user_id=user_id, room_id=self.room.pk, seq=seq)
                for seq, users in self.mentioned.items()
                for user_id, _ in users
            )
            self.mentioned = {}

    def next_seq(self):
        self.seq += 1
        self.stored_any = True
        return self.seq


def _refused(batch, item, code, detail):
    return Stored(
        batch.room.name, None, item.username, "", batch.now, item.client_id, False,
        error=(code, detail),
    )  # fmt: skip


@dataclass(frozen=True)
class _Target:
    """What the rules and the changes need of the message a command is about."""

    id: int
    seq: int
    user_id: int
    deleted: bool
    mentions: str


@dataclass(frozen=True)
class _Reactions:
    """A message's reactions as a `react` needs them: how many distinct emoji, how many
    users give this emoji, whether this user does."""

    distinct: int
    this_emoji: int
    mine: bool


def _target(cursor, n, room_id, seq):
    """The message of the room at seq, or None: one probe of the (room, seq) index."""
    cursor.execute(
        f"SELECT {n['m_id']}, {n['m_user']}, {n['m_deleted']}, {n['m_mentions']}"
        f" FROM {n['message']} WHERE {n['m_room']} = %s AND {n['m_seq']} = %s",
        [room_id, seq],
    )
    row = cursor.fetchone()
    return None if row is None else _Target(row[0], seq, row[1], bool(row[2]), row[3])


def _reactions_of(cursor, n, message_id, emoji, user_id):
    cursor.execute(
        f"SELECT COUNT(DISTINCT {n['r_emoji']}),"
        f" SUM(CASE WHEN {n['r_emoji']} = %s THEN 1 ELSE 0 END),"
        f" SUM(CASE WHEN {n['r_emoji']} = %s AND {n['r_user']} = %s THEN 1 ELSE 0 END)"
        f" FROM {n['reaction']} WHERE {n['r_message']} = %s",
        [emoji, emoji, user_id, message_id],
    )
    distinct, this_emoji, mine = cursor.fetchone()
    return _Reactions(distinct or 0, this_emoji or 0, bool(mine))


def _facts(cursor, n, room_id, item):
    """(the message item is about or None, its reactions for a `react` or None)."""
    target = _target(cursor, n, room_id, _target_of(item))
    reactions = None
    if target is not None and isinstance(item, Change) and item.kind == "react":
        reactions = _reactions_of(cursor, n, target.id, item.emoji, item.user_id)
    return target, reactions


def _target_of(item):
    """The seq of the message item is about (a Change's target, a Post's reply_to), or None."""
    return item.reply_to if isinstance(item, Post) else item.target


def _refusal(room, item, message, reactions=None):
    """(code, detail) when the log's rules refuse item in room, message being the message
    it is about (None when no such message exists) and reactions its reactions (for a
    `react`); None when they allow it."""
    target = _target_of(item)
    if message is None:
        return "not_found", f"No message {target} in this room."
    if isinstance(item, Post):
        return (
            ("forbidden", f"Message {target} is deleted: no replies.") if message.deleted else None
        )
    if item.kind == "edit":
        if message.user_id != item.user_id:
            return "forbidden", "Only its author can edit a message."
        if message.deleted:
            return "forbidden", "A deleted message cannot be edited."
    elif item.kind == "delete":
        if message.deleted:
            return "forbidden", f"Message {target} is deleted already."
        moderator = item.moderator or (room.is_private and room.owner_id == item.user_id)
        if message.user_id != item.user_id and not moderator:
            return "forbidden", "Only its author or a moderator can delete a message."
    elif message.deleted:
        return "forbidden", "Nobody can react to a deleted message."
    elif item.on and not reactions.this_emoji and reactions.distinct >= protocol.MAX_REACTIONS:
        return "bad_field", f"A message has at most {protocol.MAX_REACTIONS} different emoji."
    return None


def check(room_id, item):
    """The refusal (code, detail) the log's rules give item now, or None: read without the
    room's lock, for the order of errors (a rule's error comes before rate_limited)."""
    room = Room.objects.filter(pk=room_id).first()
    if _target_of(item) is None or room is None:
        return None
    with connection.cursor() as cursor:
        return _refusal(room, item, *_facts(cursor, _names(), room_id, item))


def _post(batch, post):
    if post.reply_to is not None:
        batch.flush()
        refusal = _refusal(
            batch.room, post, _target(batch.cursor, batch.n, batch.room.pk, post.reply_to)
        )
        if refusal is not None:
            return _refused(batch, post, *refusal)
    users = mention_names.resolve(batch.room, post.text)
    seq = batch.next_seq()
    names = [name for _, name in users]
    if users:
        batch.mentioned[seq] = users
    batch.rows.append(
        (
            batch.room.pk, seq, post.user_id, post.text, post.client_id, batch.created_db,
            post.reply_to, " ".join(names), False,
        )
    )  # fmt: skip
    frame = protocol.message_object(
        batch.room.name, seq, post.username, post.text, batch.now, post.client_id,
        reply_to=post.reply_to, mentions=names,
    )  # fmt: skip
    return Stored(
        batch.room.name, seq, post.username, post.text, batch.now, post.client_id, True, frame
    )


_EVENT_COLUMNS = (
    "e_room", "e_seq", "e_kind", "e_user", "e_target", "e_text", "e_mentions", "e_emoji", "e_on",
    "e_client", "e_created",
)  # fmt: skip


def _event(batch, change, kind, text="", mentions="", emoji="", on=False):
    """Insert the change's event with the room's next seq; returns the seq."""
    seq = batch.next_seq()
    n = batch.n
    batch.cursor.execute(
        f"INSERT INTO {n['event']} ({', '.join(n[c] for c in _EVENT_COLUMNS)})"
        f" VALUES ({', '.join(['%s'] * len(_EVENT_COLUMNS))})",
        [
            batch.room.pk, seq, kind, change.user_id, change.target, text, mentions, emoji, on,
            change.client_id, batch.created_db,
        ],
    )  # fmt: skip
    return seq


def _change(batch, change):
    batch.flush()
    message, reactions = _facts(batch.cursor, batch.n, batch.room.pk, change)
    refusal = _refusal(batch.room, change, message, reactions)
    if refusal is not None:
        return _refused(batch, change, *refusal)
    if change.kind == "react":
        return _react(batch, change, message, reactions)
    return {"edit": _edit, "delete": _delete}[change.kind](batch, change, message)


def _stored(batch, change, seq, frame):
    return Stored(
        batch.room.name, seq, change.username, "", batch.now, change.client_id, True, frame
    )


def _replace_mentions(batch, message, users):
    """The message's Mention rows become users' (skipped when it had none and has none)."""
    n, cursor = batch.n, batch.cursor
    if message.mentions:
        cursor.execute(f"DELETE FROM {n['mention']} WHERE {n['mn_message']} = %s", [message.id])
    if users:
        cursor.execute(
            f"INSERT INTO {n['mention']} ({n['mn_message']}, {n['mn_user']}, {n['mn_room']},"
            f" {n['mn_seq']}) VALUES {', '.join(['(%s, %s, %s, %s)'] * len(users))}",
            [v for pk, _ in users for v in (message.id, pk, batch.room.pk, message.seq)],
        )


def _edit(batch, change, message):
    users = mention_names.resolve(batch.room, change.text)
    names = " ".join(name for _, name in users)
    seq = _event(batch, change, Event.EDIT, text=change.text, mentions=names)
    n = batch.n
    # The text as posted is kept on the first edit (SET reads the row as it was).
    batch.cursor.execute(
        f"UPDATE {n['message']} SET {n['m_original']} = COALESCE({n['m_original']}, {n['m_text']}),"
        f" {n['m_original_mentions']} = COALESCE({n['m_original_mentions']}, {n['m_mentions']}),"
        f" {n['m_text']} = %s, {n['m_mentions']} = %s, {n['m_edited']} = %s"
        f" WHERE {n['m_id']} = %s",
        [change.text, names, batch.created_db, message.id],
    )
    _replace_mentions(batch, message, users)
    frame = protocol.edit_event(
        batch.room.name, seq, change.username, batch.now, change.target, change.text,
        [name for _, name in users],
    )  # fmt: skip
    return _stored(batch, change, seq, frame)


def _delete(batch, change, message):
    seq = _event(batch, change, Event.DELETE)
    n, cursor = batch.n, batch.cursor
    # Nothing of a deleted message is kept or sent again: its text, its edits' texts,
    # its mentions and its reactions go.
    cursor.execute(
        f"UPDATE {n['message']} SET {n['m_text']} = '', {n['m_mentions']} = '',"
        f" {n['m_deleted']} = %s, {n['m_original']} = NULL, {n['m_original_mentions']} = NULL"
        f" WHERE {n['m_id']} = %s",
        [True, message.id],
    )
    cursor.execute(
        f"UPDATE {n['event']} SET {n['e_text']} = '', {n['e_mentions']} = ''"
        f" WHERE {n['e_room']} = %s AND {n['e_target']} = %s AND {n['e_kind']} = %s",
        [batch.room.pk, message.seq, Event.EDIT],
    )
    _replace_mentions(batch, message, [])
    cursor.execute(f"DELETE FROM {n['reaction']} WHERE {n['r_message']} = %s", [message.id])
    frame = protocol.delete_event(batch.room.name, seq, change.username, batch.now, change.target)
    return _stored(batch, change, seq, frame)


def _react(batch, change, message, reactions):
    if change.on == reactions.mine:  # adding one they have, or removing one they have not
        return Stored(
            batch.room.name, None, change.username, "", batch.now, change.client_id, False
        )
    n = batch.n
    if change.on:
        batch.cursor.execute(
            f"INSERT INTO {n['reaction']} ({n['r_message']}, {n['r_user']}, {n['r_emoji']})"
            f" VALUES (%s, %s, %s)",
            [message.id, change.user_id, change.emoji],
        )
    else:
        batch.cursor.execute(
            f"DELETE FROM {n['reaction']} WHERE {n['r_message']} = %s AND {n['r_user']} = %s"
            f" AND {n['r_emoji']} = %s",
            [message.id, change.user_id, change.emoji],
        )
    seq = _event(batch, change, Event.REACTION, emoji=change.emoji, on=change.on)
    frame = protocol.reaction_event(
        batch.room.name, seq, change.username, batch.now, change.target, change.emoji, change.on
    )
    return _stored(batch, change, seq, frame)


def _repeat(batch, item, seq, first=None):
    """The outcome of a client_id stored before: its first event's seq and frame, as the
    log holds it (a message as posted), to be acked and published again (the attempt that
    stored it may have been cut before its publish). first: its Stored, when it was stored
    earlier in this batch."""
    if first is not None:
        return replace(first, created_now=False)
    batch.flush()
    [frame], _, _ = read_events(batch.room.pk, batch.room.name, after=seq - 1, upto=seq, limit=1)
    return Stored(
        batch.room.name, seq, item.username, frame.get("text", ""), _aware(frame["ts"]),
        item.client_id, False, frame,
    )  # fmt: skip


def store_posts(room_id, items):
    """Store items (Post or Change) to room room_id, in order, in one transaction; returns a
    Stored for each. Raises Room.DoesNotExist when the room is gone."""
    n = _names()
    now = timezone.now()
    with transaction.atomic(), connection.cursor() as cursor:
        row = _lock_room(cursor, n, room_id)
        if row is None:
            raise Room.DoesNotExist(f"room {room_id} is gone")
        room_name, seq, is_private, owner_id = row
        batch = _Batch(cursor, n, _room(room_id, room_name, is_private, owner_id), seq, now)
        existing = _existing(room_id, items) if _any_stored(cursor, n, room_id, items) else {}
        firsts = {}  # (user_id, client_id) -> the Stored of an item of this batch
        results = []
        for item in items:
            key = (item.user_id, item.client_id)
            if item.client_id is not None and key in firsts:
                results.append(_repeat(batch, item, firsts[key].seq, firsts[key]))
                continue
            if item.client_id is not None and key in existing:
                results.append(_repeat(batch, item, existing[key]))
                continue
            result = _post(batch, item) if isinstance(item, Post) else _change(batch, item)
            if item.client_id is not None and result.seq is not None and result.created_now:
                firsts[key] = result
            results.append(result)
        batch.flush()
        if batch.stored_any:
            cursor.execute(
                f"UPDATE {n['room']} SET {n['last_seq']} = %s, {n['last_activity']} = %s"
                f" WHERE {n['id']} = %s",
                [batch.seq, batch.created_db, room_id],
            )
    return results


# Reading: the pages every connect, resume and scroll-back reads, in SQL for the same
# reason (a page of 50 messages cost 2.3 ms of CPU through model instances).


def _user_names():
    from django.contrib.auth import get_user_model

    model = get_user_model()
    quote = connection.ops.quote_name
    return (
        quote(model._meta.db_table),
        quote(model._meta.pk.column),
        quote(model._meta.get_field(model.USERNAME_FIELD).column),
    )


def _aware(value):
    if isinstance(value, str):
        value = parse_datetime(value)
    if value.tzinfo is None:  # SQLite stores UTC without an offset
        value = value.replace(tzinfo=UTC)
    return value


def latest_seq(cursor, room_id):
    n = _names()
    cursor.execute(f"SELECT {n['last_seq']} FROM {n['room']} WHERE {n['id']} = %s", [room_id])
    row = cursor.fetchone()
    return row[0] if row else 0


def _mention_list(names):
    return names.split(" ") if names else []


def _reactions(cursor, n, message_ids):
    """{message id: {emoji: sorted user names}} for the messages with reactions; the emoji
    in the order they were first given."""
    if not message_ids:
        return {}
    users, user_pk, username = _user_names()
    cursor.execute(
        f"SELECT r.{n['r_message']}, r.{n['r_emoji']}, u.{username} FROM {n['reaction']} r"
        f" JOIN {users} u ON u.{user_pk} = r.{n['r_user']}"
        f" WHERE r.{n['r_message']} IN ({', '.join(['%s'] * len(message_ids))})"
        f" ORDER BY r.{n['r_id']}",
        list(message_ids),
    )
    found = {}
    for message_id, emoji, name in cursor.fetchall():
        found.setdefault(message_id, {}).setdefault(emoji, []).append(name)
    for emojis in found.values():
        for names in emojis.values():
            names.sort()
    return found


def read_page(room_id, room_name, *, upto=None, after=None, before=None, limit, newest=False):
    """(message objects oldest first, complete, latest) of the messages of a room, in their
    current state, with after < seq < before and seq <= upto (the room's latest when None):
    the limit oldest of them, or the newest with newest=True; complete when no more of them
    exist. Edits, deletions and reactions are folded into the messages, not listed."""
    n = _names()
    users, user_pk, username = _user_names()
    with connection.cursor() as cursor:
        latest = latest_seq(cursor, room_id) if upto is None else upto
        # One upper bound: given two (seq <= latest AND seq < before), SQLite ranges the
        # (room, seq) index on one and filters on the other, and a page deep in a long room
        # would walk every row above it.
        highest = latest if before is None else min(latest, before - 1)
        where, params = [f"m.{n['m_room']} = %s", f"m.{n['m_seq']} <= %s"], [room_id, highest]
        if after is not None:
            where.append(f"m.{n['m_seq']} > %s")
            params.append(after)
        order = "DESC" if newest else "ASC"
        cursor.execute(
            f"SELECT m.{n['m_seq']}, u.{username}, m.{n['m_text']}, m.{n['m_created']},"
            f" m.{n['m_client']}, m.{n['m_id']}, m.{n['m_reply']}, m.{n['m_mentions']},"
            f" m.{n['m_edited']}, m.{n['m_deleted']} FROM {n['message']} m JOIN {users} u"
            f" ON u.{user_pk} = m.{n['m_user']} WHERE {' AND '.join(where)}"
            f" ORDER BY m.{n['m_seq']} {order} LIMIT %s",
            [*params, limit + 1],
        )
        rows = cursor.fetchall()
        complete = len(rows) <= limit
        rows = rows[:limit]
        if newest:
            rows.reverse()
        messages = current_messages(cursor, [(room_name, *row) for row in rows])
    return messages, complete, latest


def current_messages(cursor, rows):
    """Message objects in their current state, reactions folded in, in the rows' order;
    each row (room name, seq, user name, text, created, client_id, message id, reply_to,
    mentions, edited, deleted), as read_page and chat.search select them."""
    reactions = _reactions(cursor, _names(), [row[6] for row in rows if not row[10]])
    found = []
    for name, seq, user, text, created, client_id, pk, reply_to, names, edited, deleted in rows:
        message = _message(
            name, seq, user, text, created, client_id, reply_to, names, edited=edited,
            deleted=deleted, reactions=reactions.get(pk),
        )  # fmt: skip
        found.append(message)
    return found


def sql_names():
    """The quoted names of the log's tables and columns (for chat.search's queries)."""
    return _names()


def user_names():
    """The quoted user table, its primary key and user-name column."""
    return _user_names()


def _message(room_name, seq, user, text, created, client_id, reply_to, names, edited=None,
             deleted=False, reactions=None):  # fmt: skip
    """A message object from a row (as posted with the defaults, else its current state)."""
    return protocol.message_object(
        room_name, seq, user, text, _aware(created), client_id, reply_to=reply_to,
        mentions=_mention_list(names), edited=_aware(edited) if edited is not None else None,
        deleted=bool(deleted), reactions=reactions,
    )  # fmt: skip


def _event_frame(room_name, row):
    seq, kind, user, target, text, names, emoji, on, created = row
    created = _aware(created)
    if kind == Event.EDIT:
        return protocol.edit_event(
            room_name, seq, user, created, target, text, _mention_list(names)
        )
    if kind == Event.DELETE:
        return protocol.delete_event(room_name, seq, user, created, target)
    return protocol.reaction_event(room_name, seq, user, created, target, emoji, bool(on))


def read_events(room_id, room_name, *, after, limit, upto=None):
    """(events oldest first, complete, latest): every event of the room's log with
    after < seq <= upto (the room's latest when None), at most limit; complete when no more
    of them exist. A message event shows the message as posted (its later edits, its
    deletion, its reactions are events of their own), except that nothing of a deleted
    message's text is sent again."""
    n = _names()
    users, user_pk, username = _user_names()
    with connection.cursor() as cursor:
        latest = latest_seq(cursor, room_id) if upto is None else upto
        cursor.execute(
            f"SELECT m.{n['m_seq']}, u.{username}, COALESCE(m.{n['m_original']}, m.{n['m_text']}),"
            f" m.{n['m_created']}, m.{n['m_client']}, m.{n['m_reply']},"
            f" COALESCE(m.{n['m_original_mentions']}, m.{n['m_mentions']})"
            f" FROM {n['message']} m JOIN {users} u ON u.{user_pk} = m.{n['m_user']}"
            f" WHERE m.{n['m_room']} = %s AND m.{n['m_seq']} > %s AND m.{n['m_seq']} <= %s"
            f" ORDER BY m.{n['m_seq']} LIMIT %s",
            [room_id, after, latest, limit + 1],
        )
        messages = [(row[0], _message(room_name, *row)) for row in cursor.fetchall()]
        cursor.execute(
            f"SELECT e.{n['e_seq']}, e.{n['e_kind']}, u.{username}, e.{n['e_target']},"
            f" e.{n['e_text']}, e.{n['e_mentions']}, e.{n['e_emoji']}, e.{n['e_on']},"
            f" e.{n['e_created']} FROM {n['event']} e LEFT JOIN {users} u"
            f" ON u.{user_pk} = e.{n['e_user']}"
            f" WHERE e.{n['e_room']} = %s AND e.{n['e_seq']} > %s AND e.{n['e_seq']} <= %s"
            f" ORDER BY e.{n['e_seq']} LIMIT %s",
            [room_id, after, latest, limit + 1],
        )
        events = [(row[0], _event_frame(room_name, row)) for row in cursor.fetchall()]
    merged = sorted(messages + events, key=lambda item: item[0])
    complete = len(merged) <= limit
    return [frame for _, frame in merged[:limit]], complete, latest
