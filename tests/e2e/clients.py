"""A JSON WebSocket client for end-to-end tests (the `websockets` library), every wait bounded."""

import asyncio
import json

import websockets

__all__ = ["WsClient", "connect"]


class WsClient:
    """One socket to a daphne process: JSON frames in and out, the close code when closed."""

    def __init__(self, ws):
        self.ws = ws
        self.hello = None
        self.close_code = None

    async def recv(self, timeout=5.0):
        """The next frame as a dict; {"type": "__closed__", "code": N} once the socket closes."""
        try:
            text = await asyncio.wait_for(self.ws.recv(), timeout)
        except websockets.ConnectionClosed as exc:
            self.close_code = exc.rcvd.code if exc.rcvd else 1006
            return {"type": "__closed__", "code": self.close_code}
        return json.loads(text)

    async def recv_type(self, kind, timeout=5.0):
        """Skip frames until one of type kind (or the close) arrives within timeout seconds."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            frame = await self.recv(max(deadline - loop.time(), 0.001))
            if frame["type"] in (kind, "__closed__"):
                return frame

    async def closed(self, timeout=10.0):
        """Read until the socket closes; returns the close code."""
        frame = await self.recv_type("__closed__", timeout)
        return frame["code"]

    async def send(self, frame):
        await self.ws.send(json.dumps(frame))

    async def close(self):
        await self.ws.close()


async def connect(daphne, room, sessionid=None, query=""):
    """Open a socket to daphne's room and read its hello (kept in client.hello)."""
    ws = await websockets.connect(daphne.ws_url(room, query), **daphne.ws_options(sessionid))
    client = WsClient(ws)
    client.hello = await client.recv()
    return client
