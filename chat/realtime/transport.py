"""The socket behind an ASGI WebSocket under daphne: its send buffer, and a fast send path.

daphne hands each application `functools.partial(server.handle_reply, protocol)` as its
send callable; TransportProbe (outermost ASGI middleware) puts that protocol into the
scope before channels' middleware wraps `send`. Under another server the probe finds
nothing and everything falls back to plain ASGI sends (no buffer bound, no fast path).
"""

import functools
import struct

__all__ = ["TransportProbe", "Wire", "websocket_frame"]

SCOPE_KEY = "chat.protocol"


class TransportProbe:
    """ASGI middleware: scope["chat.protocol"] = daphne's WebSocket protocol (or None)."""

    def __init__(self, inner):
        self.inner = inner

    async def __call__(self, scope, receive, send):
        protocol = None
        if isinstance(send, functools.partial) and send.args:
            candidate = send.args[0]
            if hasattr(candidate, "transport") and hasattr(candidate, "sendMessage"):
                protocol = candidate
        # The scope is this connection's own (daphne builds one per connection): adding a
        # key rather than copying it saves a dict that would live as long as the socket.
        scope[SCOPE_KEY] = protocol
        return await self.inner(scope, receive, send)


def websocket_frame(text):
    """The bytes of one unmasked, unfragmented WebSocket text frame (RFC 6455 5.2) carrying
    text: the same for every receiver, so an event is framed once per process, not once per
    member. (In this code base "frame" alone is a message of the protocol, a dict; its JSON
    is "text"; the bytes on the socket are a "websocket frame".)"""
    payload = text.encode("utf-8")
    length = len(payload)
    if length < 126:
        header = struct.pack("!BB", 0x81, length)
    elif length < 1 << 16:
        header = struct.pack("!BBH", 0x81, 126, length)
    else:
        header = struct.pack("!BBQ", 0x81, 127, length)
    return header + payload


def _plain_tcp(transport):
    try:
        from twisted.internet.tcp import Connection
    except ImportError:  # pragma: no cover - daphne always brings Twisted
        return False
    return isinstance(transport, Connection) and not getattr(transport, "TLS", False)


class Wire:
    """One connection's socket, when daphne's protocol is known."""

    __slots__ = ("protocol", "transport", "open_state", "socket")

    def __init__(self, protocol):
        self.protocol = protocol
        self.transport = getattr(protocol, "transport", None)
        self.open_state = getattr(type(protocol), "STATE_OPEN", None)
        # Plain TCP only (a TLS transport has no raw socket to write to).
        self.socket = (
            getattr(self.transport, "socket", None) if _plain_tcp(self.transport) else None
        )

    def buffered(self):
        """Bytes written to the socket but not yet sent (Twisted's buffers), 0 if unknown."""
        transport = self.transport
        try:
            return len(transport.dataBuffer) - transport.offset + transport._tempDataLen
        except AttributeError:
            return 0

    def write_websocket_frame(self, data):
        """Write a pre-built WebSocket frame (bytes) straight to the transport when autobahn would send it
        as is (open, no compression, nothing queued); False means use the normal path."""
        protocol = self.protocol
        if (
            protocol.state != self.open_state
            or protocol._perMessageCompress is not None
            or protocol.send_queue
            or 0 < protocol.autoFragmentSize < len(data)
        ):
            return False
        protocol.trafficStats.outgoingWebSocketMessages += 1
        transport = self.transport
        if self.socket is not None and not transport.disconnecting and not self.buffered():
            # Nothing queued: send now, as Twisted's doWrite would on the next tick, but
            # without registering a writer (two epoll_ctl calls and a loop turn per socket).
            try:
                sent = self.socket.send(data)
            except (BlockingIOError, InterruptedError):
                sent = 0
            except OSError:
                sent = 0  # a broken connection: Twisted finds out and closes it
            if sent == len(data):
                return True
            data = data[sent:]
        transport.write(data)
        return True
