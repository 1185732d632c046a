"""Clients for end-to-end tests, every wait bounded: a JSON WebSocket client (the
`websockets` library) and a cookie-jar browser that logs in through the log-in page."""

import asyncio
import http.cookiejar
import json
import re
import urllib.error
import urllib.parse
import urllib.request

import websockets

__all__ = ["WsClient", "connect", "connect_inbox", "Listener", "Browser"]

LISTEN_TIMEOUT = 20.0
EVENT_TYPES = ("message", "edit", "delete", "reaction")


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


async def connect_inbox(daphne, sessionid):
    """Open daphne's inbox socket (/ws/inbox/) and read its `inbox` frame (client.hello)."""
    url = f"ws://127.0.0.1:{daphne.port}/ws/inbox/"
    ws = await websockets.connect(url, **daphne.ws_options(sessionid))
    client = WsClient(ws)
    client.hello = await client.recv()
    return client


class Listener:
    """Every frame a socket receives, read by a task of its own: a sender's answers and the
    room's events are both kept, whatever order they come in."""

    def __init__(self, client):
        self.client = client
        self.hello = client.hello
        self.frames = []
        self.answered = 0  # answers handed out by answer()
        self.arrived = asyncio.Event()
        self.reader = asyncio.ensure_future(self._read())

    async def _read(self):
        # The socket's own recv, without a timeout: the task ends when the socket closes.
        while True:
            try:
                text = await self.client.ws.recv()
            except websockets.ConnectionClosed as exc:
                code = exc.rcvd.code if exc.rcvd else 1006
                self.frames.append({"type": "__closed__", "code": code})
                self.arrived.set()
                return
            self.frames.append(json.loads(text))
            self.arrived.set()

    async def until(self, predicate, timeout=LISTEN_TIMEOUT):
        """Wait (at most timeout seconds) until predicate(frames) holds; returns its value."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not (found := predicate(self.frames)):
            self.arrived.clear()
            left = deadline - loop.time()
            assert left > 0, f"timed out; last frames: {self.frames[-5:]}"
            try:
                await asyncio.wait_for(self.arrived.wait(), left)
            except TimeoutError:
                pass
        return found

    def answers(self):
        return [f for f in self.frames if f["type"] in ("ack", "error", "__closed__")]

    async def answer(self, frame):
        """Send frame; the ack or error that answers it."""
        await self.client.send(frame)
        index = self.answered
        self.answered += 1
        answers = await self.until(lambda _: len(self.answers()) > index and self.answers())
        return answers[index]

    def events(self):
        return [f for f in self.frames if f["type"] in EVENT_TYPES]

    def of_type(self, kind):
        return [f for f in self.frames if f["type"] == kind]

    async def events_upto(self, upto):
        """The log's events received, once the one with seq upto has come."""
        closed = [f for f in self.frames if f["type"] == "__closed__"]
        assert not closed, closed
        return await self.until(lambda _: self._through(upto))

    def _through(self, upto):
        events = self.events()
        return events if events and events[-1]["seq"] >= upto else None

    async def close(self):
        await self.client.close()  # the reader sees the close and ends
        await asyncio.wait_for(self.reader, LISTEN_TIMEOUT)


class Browser:
    """A cookie jar that logs in through the log-in page, as a browser does; `server` is a
    daphne process or nginx in front of some (anything with a .url)."""

    def __init__(self, server):
        self.server = server
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))
        self.token = None

    def cookie(self, name="sessionid"):
        return next((c.value for c in self.jar if c.name == name), None)

    def open_log_in_page(self):
        url = self.server.url + "/accounts/login/"
        page = self.opener.open(url, timeout=10).read().decode()
        self.token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
        return url

    def post_log_in(self, username, password, timeout=10):
        """POST the log-in form (open_log_in_page first); (status, the URL it ended on)."""
        url = self.server.url + "/accounts/login/"
        data = urllib.parse.urlencode(
            {"username": username, "password": password, "csrfmiddlewaretoken": self.token}
        ).encode()
        request = urllib.request.Request(
            url, data=data, headers={"Referer": url, "Origin": self.server.url}
        )
        try:
            with self.opener.open(request, timeout=timeout) as response:
                return response.status, response.url
        except urllib.error.HTTPError as exc:
            return exc.code, url

    def log_in(self, username, password):
        self.open_log_in_page()
        status, landed = self.post_log_in(username, password)
        assert status == 200 and landed.rstrip("/") == self.server.url, (
            f"log-in did not redirect home: {status} {landed}"
        )
        return self.cookie()
