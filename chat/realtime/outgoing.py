"""Sending to one socket within its bound (a mixin of ChatConsumer).

Every frame the server sends to a socket (live events, `hello`, `history` pages, each
message of a `resume`, errors, pongs) goes through send_text(), which counts the socket's
unsent bytes against MAX_OUTGOING_BYTES and closes it with 4013 past it. Long replies wait
(bounded) for the socket to take what is queued before building more.
"""

import asyncio
import logging
import time

from .. import metrics, protocol
from ..protocol import CloseCode

__all__ = ["BoundedSender", "MAX_OUTGOING_BYTES", "REPLY_HIGH_WATER", "REPLY_DRAIN_TIMEOUT"]

log = logging.getLogger("chat.realtime.outgoing")

# A reader this far behind (bytes written but not yet taken by its socket, whatever
# produced them) is closed with 4013 and resumes by seq when it comes back, rather than
# holding the server's memory.
MAX_OUTGOING_BYTES = 1 << 20
# Replies of many frames (a resume) wait for the socket to take what is queued once it
# holds this much, so a reader that keeps up is never cut off by a reply of ours; one that
# takes nothing for REPLY_DRAIN_TIMEOUT seconds is closed like any slow reader.
REPLY_HIGH_WATER = 256 << 10
REPLY_DRAIN_TIMEOUT = 5.0


class BoundedSender:
    """Needs: self.wire (transport.Wire or None), self.closing, self.close_with(code),
    self.cursor (cursor.Cursor), self.room, and the consumer's send()."""

    async def _send(self, text):
        """Send one frame; a socket the client is closing is not an error."""
        try:
            await self.send(text_data=text)
        except Exception as exc:  # autobahn's Disconnected, daphne's closed protocol
            self.closing = True
            log.info("event=send_on_closing_socket room=%s error=%r", self.room, exc)

    async def _check_backlog(self):
        """Close a socket whose unsent data passed the bound, whatever produced it; True
        when closed. Its buffer goes with the connection (autobahn aborts it when the
        close handshake does not finish, since a reader this slow does not read)."""
        if self.closing or self.wire is None:
            return self.closing
        buffered = self.wire.buffered()
        if buffered <= MAX_OUTGOING_BYTES:
            return False
        await self._slow_reader(buffered)
        return True

    async def _slow_reader(self, buffered):
        metrics.slow_readers_closed.inc()
        log.warning("event=slow_reader_closed room=%s buffered=%s", self.room, buffered)
        await self.close_with(CloseCode.TRY_LATER)

    async def _wait_drained(self):
        """Before more of a long reply: wait (bounded) until the socket holds under
        REPLY_HIGH_WATER; False, and the socket closed with 4013, when it does not."""
        if self.wire is None or self.wire.buffered() <= REPLY_HIGH_WATER:
            return not self.closing
        deadline = time.monotonic() + REPLY_DRAIN_TIMEOUT
        while not self.closing and self.wire.buffered() > REPLY_HIGH_WATER:
            if time.monotonic() > deadline:
                await self._slow_reader(self.wire.buffered())
                break
            await asyncio.sleep(0.01)  # the reactor writes meanwhile
        return not self.closing

    async def send_framed(self, text, ws_frame=None):
        """Send text that the hub sends to many sockets: its WebSocket frame (built once
        per process, chat.realtime.transport) written straight to the socket when the
        fast path is open, else through the consumer's send; counted against the bound."""
        wire = self.wire
        if wire is None or ws_frame is None or not wire.write_websocket_frame(ws_frame):
            await self._send(text)
        await self._check_backlog()

    async def send_text(self, text):
        """Send one frame of ours (a reply, hello, presence), counted against the bound."""
        if self.closing:
            return False
        await self._send(text)
        return not await self._check_backlog()

    async def send_json(self, frame):
        await self.send_text(protocol.encode(frame))

    async def send_error(self, code, detail, **extra):
        await self.send_json(protocol.error(code, detail, **extra))

    async def _release_held(self):
        for _seq, text in self.cursor.release():
            if not await self.send_text(text):
                return
