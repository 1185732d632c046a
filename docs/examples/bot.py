"""A chat bot: answers "@<its name> ping" with "pong" in a room, and outlives server restarts.

    CHAT_TOKEN=chat_... python docs/examples/bot.py ws://127.0.0.1:8000 lobby

It logs in with an API token (`Authorization: Bearer`, no cookie, no Origin), keeps the seq
of the last message it handled, and after any disconnect comes back with `?since=<seq>`:
what was posted while it was away arrives in the `hello`, so a ping sent during a server
restart is answered too. Each answer's client_id is derived from the ping's seq, so an
answer that was stored just before a connection broke is not stored twice. It stops on
the close codes that say reconnecting cannot help (4401 bad or revoked token, 4403 not a
member, 4404 bad room) and reconnects with backoff and jitter on every other one.
Needs only the `websockets` library (pip install websockets).
"""

import asyncio
import json
import os
import random
import re
import sys

from websockets import ConnectionClosed, InvalidStatus
from websockets.asyncio.client import connect

STOP = {4401: "the token is not valid (revoked?)", 4403: "not a member", 4404: "bad room"}


class Bot:
    def __init__(self, base_url, room, token):
        self.url = f"{base_url.rstrip('/')}/ws/chat/{room}/"
        self.headers = {"Authorization": f"Bearer {token}"}
        self.name = None  # the token's user, from the hello
        self.last_seq = None  # None until the first hello: old pings are not answered

    async def run(self):
        """Connect, serve, reconnect; returns the close code that stopped it."""
        delay = 0.5
        while True:
            url = self.url + (f"?since={self.last_seq}" if self.last_seq is not None else "")
            try:
                async with connect(url, additional_headers=self.headers, open_timeout=10) as ws:
                    delay = 0.5  # connected: the next outage starts from a short wait
                    try:
                        await self.serve(ws)
                    except ConnectionClosed:
                        pass
                    code = ws.close_code or 1006
            except (OSError, InvalidStatus, TimeoutError) as exc:  # down, or restarting
                code = None
                log(f"cannot connect: {exc!r}")
            if code in STOP or code == 1000:
                log(f"stopped: {code} {STOP.get(code, 'closed')}")
                return code
            wait = delay * random.uniform(0.5, 1.5)  # jitter: not every client at once
            log(f"disconnected ({code or 'no connection'}); reconnecting in {wait:.1f} s")
            await asyncio.sleep(wait)
            delay = min(delay * 2, 10.0)

    async def serve(self, ws):
        async for text in ws:
            frame = json.loads(text)
            kind = frame.get("type")
            if kind == "hello":
                self.name = frame["user"]
                if self.last_seq is None:
                    self.last_seq = frame["seq"]
                for message in frame["history"]:
                    await self.handle(ws, message)
                log(f"connected as {self.name} seq={frame['seq']} since={self.last_seq}")
                if not frame["complete"]:
                    await ws.send(json.dumps({"type": "resume", "since": self.last_seq}))
            elif kind == "message":
                await self.handle(ws, frame)
            elif kind == "resumed" and not frame["complete"]:
                await ws.send(json.dumps({"type": "resume", "since": self.last_seq}))

    async def handle(self, ws, message):
        seq = message["seq"]
        if self.last_seq is not None and seq <= self.last_seq:
            return  # seen already (a resume overlapping the live stream)
        if message["user"] != self.name and is_ping(message["text"], self.name):
            reply = {"type": "message", "text": "pong", "client_id": f"pong-{seq}"}
            await ws.send(json.dumps(reply))
            log(f"pong to seq={seq} from {message['user']}")
        self.last_seq = seq  # only once handled: a ping cut off by a disconnect comes back


def is_ping(text, name):
    """True for "@name ping" anywhere in text (the @ not inside a word)."""
    return re.search(rf"(?<![\w@])@{re.escape(name)}\s+ping\b", text, re.IGNORECASE) is not None


def log(line):
    print(line, flush=True)


def main():
    if len(sys.argv) != 3 or not os.environ.get("CHAT_TOKEN"):
        sys.exit("usage: CHAT_TOKEN=chat_... python bot.py ws://host:port ROOM")
    code = asyncio.run(Bot(sys.argv[1], sys.argv[2], os.environ["CHAT_TOKEN"]).run())
    sys.exit(0 if code == 1000 else 1)


if __name__ == "__main__":
    main()
