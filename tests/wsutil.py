"""Helpers for consumer tests through channels' WebsocketCommunicator."""

import json

from channels.testing import WebsocketCommunicator

from chatproject.asgi import application

ORIGIN = (b"origin", b"http://127.0.0.1")
HOST = (b"host", b"127.0.0.1")  # what a browser sends beside that Origin


class Client:
    """A WebsocketCommunicator that speaks JSON frames."""

    def __init__(self, room="lobby", user=None, query="", origin=ORIGIN, path=None):
        path = path or f"/ws/chat/{room}/" + (f"?{query}" if query else "")
        headers = [HOST, origin] if origin else [HOST]
        self.comm = WebsocketCommunicator(application, path, headers=headers)
        if user is not None:
            self.comm.scope["user"] = user
        self.closed_code = None

    async def connect(self):
        connected, code = await self.comm.connect(timeout=10)
        if not connected:
            # Let the refusing consumer finish, as a server would after the 403.
            await self.comm.send_input({"type": "websocket.disconnect", "code": 1006})
            await self.comm.wait(0.5)
        return connected, code

    async def recv(self, timeout=5):
        message = await self.comm.receive_output(timeout)
        if message["type"] == "websocket.close":
            self.closed_code = message.get("code")
            return {"type": "__closed__", "code": self.closed_code}
        return json.loads(message["text"])

    async def recv_type(self, kind, timeout=5):
        """Skip frames until one of type kind arrives (presence and typing come anytime).

        A socket that closes first fails the test, unless kind is "__closed__"."""
        while True:
            frame = await self.recv(timeout)
            if frame["type"] == kind:
                return frame
            if frame["type"] == "__closed__":
                raise AssertionError(f"the socket closed ({frame['code']}) before a {kind!r}")

    async def send(self, frame):
        await self.comm.send_to(
            text_data=json.dumps(frame) if not isinstance(frame, str) else frame
        )

    async def nothing(self, timeout=0.3, ignore=("presence",)):
        """True when nothing but frames of the ignored types arrives within timeout."""
        while not await self.comm.receive_nothing(timeout):
            frame = await self.recv()
            if frame["type"] not in ignore:
                return False
        return True

    async def close(self):
        await self.comm.disconnect(timeout=5)


async def socket(room="lobby", user=None, sessionid=None):
    """A connected Client that has read its hello; authenticated by user or by cookie."""
    client = Client(room, user=user)
    if sessionid:
        client.comm.scope["headers"].append((b"cookie", f"sessionid={sessionid}".encode()))
    assert (await client.connect())[0]
    client.hello = await client.recv_type("hello")
    return client


async def inbox(user=None):
    """A connected inbox socket (/ws/inbox/) that has read its `inbox` frame."""
    client = Client(user=user, path="/ws/inbox/")
    assert (await client.connect())[0]
    client.inbox = await client.recv_type("inbox")
    return client


async def still_open(client):
    """True when the socket still answers a ping."""
    await client.send({"type": "ping"})
    return (await client.recv_type("pong"))["type"] == "pong"
