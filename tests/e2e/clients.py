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

__all__ = ["WsClient", "connect", "Browser"]


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
