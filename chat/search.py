"""Search: the messages a user may read whose text holds every word of a query, newest first.

The query runs on the database's own full-text index (chat.search_index): on PostgreSQL
``search_vector @@ plainto_tsquery('simple', chat_search_fold(q))`` on the GIN index, on
SQLite an FTS5 MATCH of the query's words, each quoted (so nothing a user types is FTS5
syntax), and of the room's id in its own column for a search in one room. Which rooms the
requester may read is part of the same SQL statement (public rooms; for a logged-in user
also the private rooms they own or belong to, as chat.services.check_access says): rows of
other rooms are never read into Python.

Newest first is by message id: within a room ids increase with seq (both are taken under
the room's lock, chat.store), across rooms they follow the order messages were stored.
"""

import unicodedata
from dataclasses import dataclass

from django.db import connection

from . import protocol, search_index, store
from .models import Membership

__all__ = ["Query", "BadQuery", "parse", "search", "words", "MAX_QUERY", "MAX_LIMIT"]

MAX_QUERY = 200  # characters of q: a sentence or two; longer is a paste, not a search
DEFAULT_LIMIT = 20
MAX_LIMIT = 50
# PostgreSQL: the newest messages searched first in id (or seq) order, at a cost bounded by
# this many rows; the older ones through the index alone (_postgresql).
WALK = 5_000


@dataclass(frozen=True)
class Query:
    text: str
    room: str | None = None
    before: int | None = None
    limit: int = DEFAULT_LIMIT


class BadQuery(Exception):
    """A query the client can correct: code (empty, too_long, bad_field) and a sentence."""

    def __init__(self, code, detail):
        super().__init__(detail)
        self.code = code
        self.detail = detail


def _number(params, name, low, high, default):
    value = params.get(name)
    if value is None:
        return default
    number = protocol.parse_int(value, low=low, high=high)
    if number is None:
        raise BadQuery("bad_field", f"{name} must be an integer from {low} to {high}.")
    return number


def parse(params):
    """The Query in params (a QueryDict or a dict of strings); BadQuery when malformed."""
    text = params.get("q")
    if text is None or not text.strip():
        raise BadQuery("empty", "Give the words to search for in q.")
    if len(text) > MAX_QUERY:
        raise BadQuery("too_long", f"q is over {MAX_QUERY} characters.")
    if any(unicodedata.category(ch) == "Cc" and not ch.isspace() for ch in text):
        raise BadQuery("bad_field", "q holds a control character.")
    room = params.get("room") or None
    limit = _number(params, "limit", 1, MAX_LIMIT, DEFAULT_LIMIT)
    before = _number(params, "before", 1, protocol.MAX_SEQ, None)
    if before is not None and room is None:
        raise BadQuery("bad_field", "before pages within one room: give room too.")
    return Query(text=text, room=room, before=before, limit=limit)


def _word_character(ch):
    # FTS5's unicode61 tokenizer: letters, numbers and private-use characters make words,
    # everything else (spaces, punctuation, symbols, marks) separates them.
    category = unicodedata.category(ch)
    return category[0] in "LN" or category == "Co"


def words(text):
    """The words of text as SQLite's FTS5 splits it (and as good as PostgreSQL's parser
    for deciding that a query holds none)."""
    found, current = [], []
    for ch in text:
        if _word_character(ch):
            current.append(ch)
        elif current:
            found.append("".join(current))
            current = []
    if current:
        found.append("".join(current))
    return found


def _fts5_query(text, room_id=None):
    """Every word as an FTS5 string (quoted; words hold no quote) in the text column,
    ANDed by juxtaposition; and the room's id in the room_id column."""
    query = "{text} : (" + " ".join(f'"{word}"' for word in words(text)) + ")"
    return query if room_id is None else f'{query} AND {{room_id}} : ("{int(room_id)}")'


def _first_id_from(cursor, n, room_id, seq):
    """The id of room_id's first message with a seq of at least seq (None when none)."""
    cursor.execute(
        f"SELECT {n['m_id']} FROM {n['message']} WHERE {n['m_room']} = %s AND {n['m_seq']} >= %s"
        f" ORDER BY {n['m_seq']} LIMIT 1",
        [room_id, seq],
    )
    row = cursor.fetchone()
    return row[0] if row else None


def _readable(user, n):
    """The SQL condition on room r: the requester may read it (chat.services.check_access)."""
    if not user.is_authenticated:
        return f"r.{n['is_private']} = %s", [False]
    quote, meta = connection.ops.quote_name, Membership._meta
    table, room, member = (
        quote(meta.db_table), quote(meta.get_field("room").column),
        quote(meta.get_field("user").column),
    )  # fmt: skip
    return (
        f"(r.{n['is_private']} = %s OR r.{n['owner']} = %s OR EXISTS (SELECT 1 FROM {table} mb"
        f" WHERE mb.{room} = r.{n['id']} AND mb.{member} = %s))",
        [False, user.pk, user.pk],
    )


def _scope(n, query, user, room_id):
    """(conditions, parameters) on message m and its room r: not deleted, and in room_id
    (below before) or in a room the requester may read."""
    where, params = [f"m.{n['m_deleted']} = %s"], [False]
    if room_id is not None:
        where.append(f"m.{n['m_room']} = %s")
        params.append(room_id)
        if query.before is not None:
            where.append(f"m.{n['m_seq']} < %s")
            params.append(query.before)
    else:
        condition, more = _readable(user, n)
        where.append(condition)
        params += more
    return where, params


def _select(n, source, where, order, head=""):
    """The statement reading the result rows (as store.current_messages takes them)."""
    users, user_pk, username = store.user_names()
    return (
        f"{head}SELECT r.{n['name']}, m.{n['m_seq']}, u.{username}, m.{n['m_text']},"
        f" m.{n['m_created']}, m.{n['m_client']}, m.{n['m_id']}, m.{n['m_reply']},"
        f" m.{n['m_mentions']}, m.{n['m_edited']}, m.{n['m_deleted']}"
        f" FROM {source} JOIN {n['room']} r ON r.{n['id']} = m.{n['m_room']}"
        f" JOIN {users} u ON u.{user_pk} = m.{n['m_user']}"
        f" WHERE {' AND '.join(where)} ORDER BY {order} LIMIT %s"
    )


def _sqlite(cursor, n, query, user, room_id):
    fts = search_index.FTS_TABLE
    where, params = _scope(n, query, user, room_id)
    where.append(f"{fts} MATCH %s")
    params.append(_fts5_query(query.text, room_id))
    if query.before is not None:  # start the walk at the page, not at the room's top
        bound = _first_id_from(cursor, n, room_id, query.before)
        if bound is not None:
            where.append(f"{fts}.rowid < %s")
            params.append(bound)
    source = f"{fts} JOIN {n['message']} m ON m.{n['m_id']} = {fts}.rowid"
    # FTS5 walks its index in rowid order: no sort, and it stops at limit + 1.
    cursor.execute(_select(n, source, where, f"{fts}.rowid DESC"), [*params, query.limit + 1])
    return cursor.fetchall()


def _top(cursor, n, query, room_id):
    """The highest id (all rooms) or seq (one room, below before) a result may have."""
    if room_id is None:
        cursor.execute(f"SELECT MAX({n['m_id']}) FROM {n['message']}")
        return cursor.fetchone()[0] or 0
    latest = store.latest_seq(cursor, room_id)
    return latest if query.before is None else min(latest, query.before - 1)


# What the result statement reads of a message (the older matches' CTE holds just these).
_HIT_COLUMNS = (
    "m_id", "m_room", "m_seq", "m_user", "m_text", "m_created", "m_client", "m_reply",
    "m_mentions", "m_edited", "m_deleted",
)  # fmt: skip


def _postgresql(cursor, n, query, user, room_id):
    """Two statements at most, each of bounded cost whatever the words. The newest WALK
    messages (of the room, or of all) first, newest first: a common word fills the page
    there. Then, when the page is not full, the older ones through the GIN index alone
    (the matching rows collected first, a MATERIALIZED CTE, then the readable ones sorted:
    a cost in proportion to the words' older matches, not to the table): the planner cannot
    walk the whole table in id order betting on a word frequent overall whose matches
    the requester may not read (a private team's jargon, searched by anyone else)."""
    match = (
        f"{search_index.PG_COLUMN} @@ plainto_tsquery('{search_index.PG_CONFIG}',"
        f" {search_index.PG_FOLD}(%s))"
    )
    key = n["m_seq"] if room_id is not None else n["m_id"]
    where, params = _scope(n, query, user, room_id)
    floor = _top(cursor, n, query, room_id) - WALK
    source = f"{n['message']} m"
    cursor.execute(
        _select(n, source, [*where, f"m.{match}", f"m.{key} > %s"], f"m.{key} DESC"),
        [*params, query.text, floor, query.limit + 1],
    )
    rows = cursor.fetchall()
    if len(rows) > query.limit or floor <= 0:
        return rows
    inner, inner_params = [match, f"{key} <= %s"], [query.text, floor]
    if room_id is not None:
        inner.append(f"{n['m_room']} = %s")
        inner_params.append(room_id)
    columns = ", ".join(n[c] for c in _HIT_COLUMNS)
    hits = (
        f"WITH m AS MATERIALIZED (SELECT {columns} FROM {n['message']}"
        f" WHERE {' AND '.join(inner)}) "
    )
    cursor.execute(
        _select(n, "m", where, f"m.{key} DESC", head=hits),
        [*inner_params, *params, query.limit + 1 - len(rows)],
    )
    return rows + cursor.fetchall()


def search(query, user, room_id=None):
    """(message objects newest first, complete) for query as user may read: in room_id
    (whose access the caller checked) or in every room. At most query.limit; complete
    False when more exist."""
    if not words(query.text):
        return [], True
    n = store.sql_names()
    run = _postgresql if connection.vendor == "postgresql" else _sqlite
    with connection.cursor() as cursor:
        rows = run(cursor, n, query, user, room_id)
        complete = len(rows) <= query.limit
        return store.current_messages(cursor, rows[: query.limit]), complete
