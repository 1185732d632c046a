"""The full-text index of messages, in the database itself (created by migration 0005_search).

PostgreSQL: a stored generated column, ``search_vector tsvector GENERATED ALWAYS AS
(to_tsvector('simple', chat_search_fold(text))) STORED``, with a GIN index. The database
computes it in the statement that writes ``text``, so every post, edit and deletion (the
store's transaction, the admin, a data migration) keeps it current with no code of ours on
the write path. ``chat_search_fold`` lowercases with ICU's root collation when the server has
ICU (Unicode's case rules whatever the database's locale: a cluster made with the C locale
would otherwise fold only ASCII letters), else with the database's own ``lower``; queries
fold their words with the same function, so both sides always agree.

SQLite: an FTS5 table over ``chat_message.text`` and ``room_id`` (external content: it holds
only the index, the text stays in chat_message), kept current by three triggers on
chat_message (insert, update of text, delete) in the writing statement's transaction. The
room id is indexed as a word of its own column, so that a search in one room is an AND of
doclists inside FTS5 (a common word in a small room does not walk the word's matches in
every other room).

Both use whole words lowercased, with no stemming and no stop words ('simple';
unicode61 with diacritics kept), so that a word matches in any language and "cafe" does not
find "café" on one backend but not the other.
"""

from django.db import connection as default_connection

__all__ = [
    "install", "uninstall", "ensure", "FTS_TABLE", "PG_COLUMN", "PG_CONFIG", "PG_FOLD",
]  # fmt: skip

PG_CONFIG = "simple"
PG_COLUMN = "search_vector"
PG_FOLD = "chat_search_fold"
PG_ICU = "und-x-icu"  # ICU's root locale, present on every server built with ICU
PG_INDEX = "chat_message_search_gin"
FTS_TABLE = "chat_message_fts"
_TRIGGERS = {
    f"{FTS_TABLE}_insert": (
        "AFTER INSERT ON chat_message BEGIN"
        f" INSERT INTO {FTS_TABLE}(rowid, text, room_id) VALUES (new.id, new.text, new.room_id);"
        " END"
    ),
    f"{FTS_TABLE}_update": (
        "AFTER UPDATE OF text, room_id ON chat_message BEGIN"
        f" INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, text, room_id)"
        " VALUES ('delete', old.id, old.text, old.room_id);"
        f" INSERT INTO {FTS_TABLE}(rowid, text, room_id) VALUES (new.id, new.text, new.room_id);"
        " END"
    ),
    f"{FTS_TABLE}_delete": (
        "AFTER DELETE ON chat_message BEGIN"
        f" INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, text, room_id)"
        " VALUES ('delete', old.id, old.text, old.room_id); END"
    ),
}


def _pg_install(cursor):
    cursor.execute("SELECT 1 FROM pg_collation WHERE collname = %s", [PG_ICU])
    fold = f'lower($1 COLLATE "{PG_ICU}")' if cursor.fetchone() else "lower($1)"
    cursor.execute(
        f"CREATE FUNCTION {PG_FOLD}(text) RETURNS text LANGUAGE sql IMMUTABLE STRICT"
        f" PARALLEL SAFE AS $$ SELECT {fold} $$"
    )
    cursor.execute(
        f"ALTER TABLE chat_message ADD COLUMN {PG_COLUMN} tsvector GENERATED ALWAYS AS"
        f" (to_tsvector('{PG_CONFIG}'::regconfig, {PG_FOLD}(text))) STORED"
    )  # computed for every existing row by the ALTER itself
    cursor.execute(f"CREATE INDEX {PG_INDEX} ON chat_message USING GIN ({PG_COLUMN})")


def _sqlite_triggers(cursor):
    for name, body in _TRIGGERS.items():
        cursor.execute(f"CREATE TRIGGER IF NOT EXISTS {name} {body}")


def _sqlite_install(cursor):
    cursor.execute(
        f"CREATE VIRTUAL TABLE {FTS_TABLE} USING fts5(text, room_id, content='chat_message',"
        " content_rowid='id', tokenize='unicode61 remove_diacritics 0')"
    )
    _sqlite_triggers(cursor)
    cursor.execute(f"INSERT INTO {FTS_TABLE}({FTS_TABLE}) VALUES ('rebuild')")  # existing rows


def install(connection):
    """Create the index of connection's database and index the stored messages."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            _pg_install(cursor)
        elif connection.vendor == "sqlite":
            _sqlite_install(cursor)


def uninstall(connection):
    """Drop what install() created."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"DROP INDEX IF EXISTS {PG_INDEX}")
            cursor.execute(f"ALTER TABLE chat_message DROP COLUMN IF EXISTS {PG_COLUMN}")
            cursor.execute(f"DROP FUNCTION IF EXISTS {PG_FOLD}(text)")
        elif connection.vendor == "sqlite":
            for name in _TRIGGERS:
                cursor.execute(f"DROP TRIGGER IF EXISTS {name}")
            cursor.execute(f"DROP TABLE IF EXISTS {FTS_TABLE}")


def ensure(connection=default_connection):
    """SQLite: put back triggers a later migration lost, and re-index; returns whether it had
    to. Django alters a SQLite table by copying it into a new one, which drops the old
    table's triggers: the index would then silently stop following edits. Run after every
    `migrate` (chat.apps); nothing to do on PostgreSQL, whose generated column is copied by
    its own ALTER TABLE."""
    if connection.vendor != "sqlite":
        return False
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT type, name FROM sqlite_master WHERE name = %s OR (type = 'trigger' AND"
            " tbl_name = 'chat_message')",
            [FTS_TABLE],
        )
        found = {name for _, name in cursor.fetchall()}
        if FTS_TABLE not in found or set(_TRIGGERS) <= found:
            return False  # not installed (before 0005), or complete
        _sqlite_triggers(cursor)
        cursor.execute(f"INSERT INTO {FTS_TABLE}({FTS_TABLE}) VALUES ('rebuild')")
    return True
