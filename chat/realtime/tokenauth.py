"""Who a WebSocket acts as: an API token (`Authorization: Bearer`), or the session cookie.

A handshake that carries a bearer header is that token's user, with no session at all
(the cookie, if any, is not read); the scope remembers the token's key id (SCOPE_TOKEN),
so that revoking the token closes this socket (chat.signals publishes a close for
`token:<key id>`). A bearer header with a token that is not valid is accepted and closed
with 4401 at once, so that the client can read why. Any other handshake goes through
the session stack (chat.realtime.db's, which keeps its database connection).
"""

import logging

from django.db import DatabaseError

from .. import metrics, token_auth, tokens
from ..protocol import CloseCode
from .db import AuthMiddlewareStack, database_call
from .origin import header

__all__ = ["SCOPE_TOKEN", "TokenOrSessionAuth"]

log = logging.getLogger("chat.realtime.tokenauth")

SCOPE_TOKEN = "chat_token"  # the key id of the token the connection authenticated with


class TokenOrSessionAuth:
    """ASGI middleware for WebSocket scopes: a bearer token's user, or the session's."""

    def __init__(self, inner):
        self.inner = inner
        self.session_stack = AuthMiddlewareStack(inner)

    async def __call__(self, scope, receive, send):
        credentials = tokens.bearer(header(scope, b"authorization"))
        if credentials is None:
            return await self.session_stack(scope, receive, send)
        try:
            token = await database_call(token_auth.authenticate)(credentials)
        except DatabaseError as exc:
            log.warning("event=token_auth_db_error error=%r", exc)
            return await _accept_and_close(receive, send, CloseCode.TRY_LATER)
        if token is None:
            log.info("event=token_refused")
            return await _accept_and_close(receive, send, CloseCode.ANONYMOUS)
        scope = {k: v for k, v in scope.items() if k != "session"}
        scope["user"] = token.user
        scope[SCOPE_TOKEN] = token.key_id
        return await self.inner(scope, receive, send)


async def _accept_and_close(receive, send, code):
    """Accept the handshake and close at once with code (a browser-readable refusal)."""
    message = await receive()
    if message.get("type") != "websocket.connect":
        return
    await send({"type": "websocket.accept"})
    await send({"type": "websocket.close", "code": int(code)})
    metrics.connections_opened.inc()
    metrics.connections_closed.labels(code=str(int(code)), by="server").inc()
