"""The real-time side's database calls: one thread, and its connection kept while usable.

channels' `database_sync_to_async` closes "old" connections before and after every call,
its consumers close them again before every frame, and its auth middleware does the same
at every handshake. With `CONN_MAX_AGE = 0` (which the PostgreSQL pool requires, and which
keeps HTTP request threads from leaking connections) every one of those closes is real:
a new SQLite file handle with its pragmas, or a pool check-in and check-out, for each frame.

Here every database call of the real-time side runs on asgiref's one thread-sensitive
thread (as channels' helper does), so the side holds exactly one connection per process,
and keeps it: it is closed only when a call failed and left it unusable (a server restart,
a broken socket), or left it inside a transaction, and the next call opens a fresh one.
"""

import logging

from asgiref.sync import SyncToAsync
from channels.auth import AuthMiddleware, get_user
from channels.sessions import CookieMiddleware, SessionMiddleware
from django.db import DatabaseError, InterfaceError, connections

__all__ = ["database_call", "connection_lost", "release_if_unusable", "AuthMiddlewareStack"]

log = logging.getLogger("chat.realtime.db")


# SQLSTATE classes of a connection that is gone: 08 (connection exception) and 57P
# (the server shut down or is starting: admin_shutdown, crash_shutdown, cannot_connect_now).
_LOST_STATES = ("08", "57P")


def connection_lost(exc):
    """Whether a database error means the connection itself is gone (PostgreSQL), as
    opposed to a statement the database refused; SQLite connections do not get lost."""
    if isinstance(exc, InterfaceError):
        return True
    cause = exc.__cause__
    if cause is None or not type(cause).__module__.startswith("psycopg"):
        return False
    state = getattr(cause, "sqlstate", None)
    return state is None or state.startswith(_LOST_STATES)


def release_if_unusable(wrappers=None):
    """Close the connections a call left unusable; keep every healthy one open (wrappers:
    this thread's initialised connections when None)."""
    for connection in connections.all(initialized_only=True) if wrappers is None else wrappers:
        if connection.connection is None:
            continue
        if connection.in_atomic_block or not connection.get_autocommit():
            connection.close()  # a transaction left open: never carry it to the next call
        elif connection.errors_occurred:
            if connection.is_usable():
                connection.errors_occurred = False
            else:
                connection.close()


class DatabaseCall(SyncToAsync):
    """SyncToAsync on the thread-sensitive thread that keeps its connection (see above).

    A kept connection can die between two calls (the database restarted, a proxy or the
    server dropped it): a call that finds its connection dead gets a fresh one and runs
    once more, when retry is true. The real-time side's reads, and its writes that are
    idempotent (creating a room that may exist), are; posts retry on their own terms
    (chat.realtime.writer)."""

    def __init__(self, func, retry=True):
        super().__init__(func, thread_sensitive=True)
        self.retry = retry

    def thread_handler(self, loop, *args, **kwargs):
        try:
            return super().thread_handler(loop, *args, **kwargs)
        except DatabaseError as exc:
            if not self.retry or not connection_lost(exc):
                raise  # the connection is fine: the error is the call's own
            release_if_unusable()
            log.warning("event=db_call_retried_on_new_connection")
            return super().thread_handler(loop, *args, **kwargs)
        finally:
            release_if_unusable()


database_call = DatabaseCall


class PersistentAuthMiddleware(AuthMiddleware):
    """channels' AuthMiddleware, with the user looked up through database_call."""

    async def resolve_scope(self, scope):
        scope["user"]._wrapped = await database_call(get_user.func)(scope)


def AuthMiddlewareStack(inner):
    """channels.auth.AuthMiddlewareStack with PersistentAuthMiddleware."""
    return CookieMiddleware(SessionMiddleware(PersistentAuthMiddleware(inner)))
