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

from asgiref.sync import SyncToAsync
from channels.auth import AuthMiddleware, get_user
from channels.sessions import CookieMiddleware, SessionMiddleware
from django.db import connections

__all__ = ["database_call", "release_if_unusable", "AuthMiddlewareStack"]


def release_if_unusable():
    """Close the connections a call left unusable; keep every healthy one open."""
    for connection in connections.all(initialized_only=True):
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
    """SyncToAsync on the thread-sensitive thread that keeps its connection (see above)."""

    def __init__(self, func):
        super().__init__(func, thread_sensitive=True)

    def thread_handler(self, loop, *args, **kwargs):
        try:
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
