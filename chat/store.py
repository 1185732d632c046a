"""The post path in SQL: store a batch of posts to one room in one transaction.

Posting is the chat's hottest write, and the ORM's query compilation cost more than the
database itself (about 0.3 ms of CPU per query, five queries a post). Here each step is one
prepared statement, and a batch of posts to a room costs the same statements as one post:

1. lock the room row and read its last seq (``SELECT ... FOR UPDATE``; on SQLite the
   transaction is IMMEDIATE, so the write lock is taken at ``BEGIN``);
2. find the posts whose ``client_id`` that user already stored in the room (idempotency,
   under the lock, so two processes cannot both store one ``client_id``);
3. insert the new messages with ``seq + 1``, ``seq + 2``, ... in one multi-row ``INSERT``;
4. move the room's ``last_seq`` and ``last_activity``.

Seq stays unique and gap-free across processes: it is only taken under the row lock, in the
transaction that inserts it.
"""

from dataclasses import dataclass
from datetime import UTC

from django.db import connection, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from . import protocol
from .models import Message, Room

__all__ = ["Post", "Stored", "store_posts", "read_page"]

# Rows per INSERT: SQLite allows 32,766 parameters, PostgreSQL 65,535; 6 per row.
INSERT_CHUNK = 500


@dataclass(frozen=True)
class Post:
    user_id: int
    username: str
    text: str
    client_id: str | None


@dataclass(frozen=True)
class Stored:
    """A post's outcome: its message and whether it is new (False: a repeated client_id)."""

    room: str
    seq: int
    username: str
    text: str
    created: object  # datetime
    client_id: str | None
    created_now: bool


def _names():
    quote = connection.ops.quote_name
    room, message = Room._meta, Message._meta

    def column(meta, name):
        return quote(meta.get_field(name).column)

    return {
        "room": quote(room.db_table),
        "message": quote(message.db_table),
        "id": column(room, "id"),
        "name": column(room, "name"),
        "last_seq": column(room, "last_seq"),
        "last_activity": column(room, "last_activity"),
        "m_room": column(message, "room"),
        "m_seq": column(message, "seq"),
        "m_user": column(message, "user"),
        "m_text": column(message, "text"),
        "m_client": column(message, "client_id"),
        "m_created": column(message, "created"),
        "m_hidden": column(message, "hidden"),
    }


def _lock_room(cursor, n, room_id):
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
    cursor.execute(
        f"SELECT {n['name']}, {n['last_seq']} FROM {n['room']} WHERE {n['id']} = %s{lock}",
        [room_id],
    )
    return cursor.fetchone()


def _existing(room_id, posts):
    """{(user_id, client_id): Message} already stored for the posts' client ids."""
    keyed = {(p.user_id, p.client_id) for p in posts if p.client_id is not None}
    if not keyed:
        return {}
    rows = Message.objects.filter(
        room_id=room_id,
        user_id__in={user_id for user_id, _ in keyed},
        client_id__in={client_id for _, client_id in keyed},
    ).only("seq", "text", "created", "client_id", "user_id")
    return {(m.user_id, m.client_id): m for m in rows if (m.user_id, m.client_id) in keyed}


def _any_stored(cursor, n, room_id, posts):
    """Whether any of the posts' client ids is stored already: one query on the index of
    (room, user, client_id)."""
    keyed = sorted({(p.user_id, p.client_id) for p in posts if p.client_id is not None})
    if not keyed:
        return False
    users = sorted({user_id for user_id, _ in keyed})
    client_ids = sorted({client_id for _, client_id in keyed})
    cursor.execute(
        f"SELECT 1 FROM {n['message']} WHERE {n['m_room']} = %s"
        f" AND {n['m_user']} IN ({', '.join(['%s'] * len(users))})"
        f" AND {n['m_client']} IN ({', '.join(['%s'] * len(client_ids))}) LIMIT 1",
        [room_id, *users, *client_ids],
    )
    return cursor.fetchone() is not None


def _insert(cursor, n, rows):
    columns = ", ".join(
        n[c] for c in ("m_room", "m_seq", "m_user", "m_text", "m_client", "m_created", "m_hidden")
    )
    for start in range(0, len(rows), INSERT_CHUNK):
        chunk = rows[start : start + INSERT_CHUNK]
        values = ", ".join(["(%s, %s, %s, %s, %s, %s, %s)"] * len(chunk))
        cursor.execute(
            f"INSERT INTO {n['message']} ({columns}) VALUES {values}",
            [value for row in chunk for value in row],
        )


def store_posts(room_id, posts):
    """Store posts (a list of Post) to room room_id, in order, in one transaction; returns a
    Stored for each. Raises Room.DoesNotExist when the room is gone."""
    n = _names()
    now = timezone.now()
    created_db = connection.ops.adapt_datetimefield_value(now)
    with transaction.atomic(), connection.cursor() as cursor:
        row = _lock_room(cursor, n, room_id)
        if row is None:
            raise Room.DoesNotExist(f"room {room_id} is gone")
        room_name, seq = row
        existing = _existing(room_id, posts) if _any_stored(cursor, n, room_id, posts) else {}
        results, rows = [], []
        for post in posts:
            key = (post.user_id, post.client_id)
            if post.client_id is not None and key in existing:
                old = existing[key]
                results.append(
                    Stored(
                        room_name,
                        old.seq,
                        post.username,
                        old.text,
                        old.created,
                        old.client_id,
                        False,
                    )
                )
                continue
            seq += 1
            stored = Stored(room_name, seq, post.username, post.text, now, post.client_id, True)
            if post.client_id is not None:
                existing[key] = stored  # the same client_id twice in one batch
            rows.append((room_id, seq, post.user_id, post.text, post.client_id, created_db, False))
            results.append(stored)
        if rows:
            _insert(cursor, n, rows)
            cursor.execute(
                f"UPDATE {n['room']} SET {n['last_seq']} = %s, {n['last_activity']} = %s"
                f" WHERE {n['id']} = %s",
                [seq, created_db, room_id],
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


def read_page(room_id, room_name, *, upto=None, after=None, before=None, limit, newest=False):
    """(message objects oldest first, complete, latest) of the visible messages of a room
    with after < seq < before and seq <= upto (the room's latest when None): the limit
    oldest of them, or the newest with newest=True; complete when no more of them exist."""
    n = _names()
    users, user_pk, username = _user_names()
    with connection.cursor() as cursor:
        latest = latest_seq(cursor, room_id) if upto is None else upto
        where, params = [f"m.{n['m_room']} = %s", f"m.{n['m_hidden']} = %s"], [room_id, False]
        where.append(f"m.{n['m_seq']} <= %s")
        params.append(latest)
        if after is not None:
            where.append(f"m.{n['m_seq']} > %s")
            params.append(after)
        if before is not None:
            where.append(f"m.{n['m_seq']} < %s")
            params.append(before)
        order = "DESC" if newest else "ASC"
        cursor.execute(
            f"SELECT m.{n['m_seq']}, u.{username}, m.{n['m_text']}, m.{n['m_created']},"
            f" m.{n['m_client']} FROM {n['message']} m JOIN {users} u"
            f" ON u.{user_pk} = m.{n['m_user']} WHERE {' AND '.join(where)}"
            f" ORDER BY m.{n['m_seq']} {order} LIMIT %s",
            [*params, limit + 1],
        )
        rows = cursor.fetchall()
    complete = len(rows) <= limit
    rows = rows[:limit]
    if newest:
        rows.reverse()
    messages = [
        protocol.message_object(room_name, seq, user, text, _aware(created), client_id)
        for seq, user, text, created, client_id in rows
    ]
    return messages, complete, latest
