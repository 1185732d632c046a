"""Paced chat traffic for topology tests: clients that post, retry, resume and count.

    member = Member(daphne_or_url, room, sessionid)   # a socket and a tally of what it saw
    await member.open()                             # hello read; a reader task runs
    await member.post("text", "client-id")          # ack seq, retrying `unavailable`
    member.seqs / member.duplicates / member.out_of_order / member.closes

A member reconnects (with `since`) when its socket closes, if told to (`reconnect=True`),
and fills any seq gap with `resume`, like the browser client. Every wait is bounded.
"""

import asyncio
import json
import random
import time

import websockets

__all__ = ["Member"]


class Member:
    def __init__(self, url, origin, room, sessionid=None, reconnect=False):
        self.url = url  # ws://host:port (a daphne, or nginx)
        self.origin = origin
        self.room = room
        self.sessionid = sessionid
        self.reconnect = reconnect
        self.ws = None
        self.seqs = []
        self.duplicates = 0
        self.out_of_order = 0
        self.closes = []  # close codes seen
        self.unavailable = 0  # `unavailable` refusals answered
        self.reconnects = 0
        self.first_after = None  # monotonic time of the first delivery after mark()
        self._mark = None
        self._replies = asyncio.Queue()
        self._reader = None
        self._opened = False  # a hello was read once: later hellos fill what was missed
        self._base = 0  # the room's seq in the first hello: this member owes what follows
        self.stopped = False
        self.last_problem = None  # the latest reason a post was sent again (for reports)
        self.trail = []  # (what, detail) of each connect and resume, for failure reports

    @property
    def last(self):
        return self.seqs[-1] if self.seqs else self._base

    def mark(self):
        """Remember now: first_after becomes the time of the next delivery."""
        self._mark, self.first_after = time.monotonic(), None

    async def _connect(self):
        query = f"?since={self.last}" if self._opened else ""
        headers = {"Cookie": f"sessionid={self.sessionid}"} if self.sessionid else {}
        self.ws = await websockets.connect(
            f"{self.url}/ws/chat/{self.room}/{query}", origin=self.origin,
            additional_headers=headers, open_timeout=10, close_timeout=5,
        )  # fmt: skip
        hello = json.loads(await asyncio.wait_for(self.ws.recv(), 10))
        assert hello["type"] == "hello", hello
        history = [message["seq"] for message in hello["history"]]
        self.trail.append((f"hello{query}", hello["seq"], history[:1] + history[-1:]))
        if self._opened:  # a reconnect: its history is what this member missed meanwhile
            for seq in history:
                if seq > self.last:
                    self._add(seq)
        else:
            self._base = hello["seq"]
        self._opened = True

    async def open(self):
        await self._connect()
        self._reader = asyncio.ensure_future(self._read())
        return self

    def _add(self, seq):
        if seq in self.seqs:
            self.duplicates += 1
            return
        if self.seqs and seq < self.seqs[-1]:
            self.out_of_order += 1
        self.seqs.append(seq)
        if self._mark is not None and self.first_after is None:
            self.first_after = time.monotonic()

    async def _read(self):
        while not self.stopped:
            try:
                frame = json.loads(await self.ws.recv())
            except websockets.ConnectionClosed as exc:
                self.closes.append(exc.rcvd.code if exc.rcvd else 1006)
                self.last_problem = f"closed {self.closes[-1]}"
                if not self.reconnect or self.stopped:
                    return
                await self._reconnect()
                continue
            kind = frame["type"]
            if kind == "message":
                if frame["seq"] > self.last + 1:  # a gap: ask for the rest
                    self.trail.append(("resume", self.last, frame["seq"]))
                    try:
                        await self.ws.send(json.dumps({"type": "resume", "since": self.last}))
                    except websockets.ConnectionClosed:
                        pass  # the next recv() sees the close and reconnects
                    continue
                self._add(frame["seq"])
            elif kind in ("ack", "error"):
                self._replies.put_nowait(frame)

    async def _reconnect(self, timeout=20.0):
        """Backoff with full jitter before each attempt, as the browser client does (base
        0.5 s; capped at 2 s here): the closed sockets of one process come back spread out."""
        deadline = time.monotonic() + timeout
        ceiling = 0.5
        while time.monotonic() < deadline and not self.stopped:
            await asyncio.sleep(random.uniform(0, ceiling))
            ceiling = min(ceiling * 2, 2.0)
            try:
                await self._connect()
                self.reconnects += 1
                return
            except (OSError, websockets.WebSocketException, TimeoutError, AssertionError):
                continue
        self.last_problem = "could not reconnect"
        self.stopped = True

    async def post(self, text, client_id, timeout=30.0):
        """Send a message until it is acked; its seq (None when time runs out)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not self.stopped:
            try:
                await self.ws.send(
                    json.dumps({"type": "message", "text": text, "client_id": client_id})
                )
                reply = await self._reply(client_id, 10)
            except (websockets.ConnectionClosed, TimeoutError) as exc:
                self.last_problem = repr(exc)
                await asyncio.sleep(0.2)  # the reader reconnects; send again (same client_id)
                continue
            if reply["type"] == "ack":
                return reply["seq"]
            self.last_problem = reply
            if reply["code"] in ("unavailable", "rate_limited"):
                self.unavailable += reply["code"] == "unavailable"
                await asyncio.sleep(float(reply["retry_after"]))
                continue
            raise AssertionError(f"refused: {reply}")
        return None

    async def _reply(self, client_id, timeout):
        """The next error, or the ack of client_id: an ack of an earlier attempt that came
        after its wait ran out is skipped (the attempt sent again is answered as well)."""
        async with asyncio.timeout(timeout):
            while True:
                reply = await self._replies.get()
                if reply["type"] == "error" or reply.get("client_id") == client_id:
                    return reply

    async def wait_for(self, seqs, timeout):
        """True once every seq in seqs was delivered to this member."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if set(seqs) <= set(self.seqs):
                return True
            await asyncio.sleep(0.05)
        return False

    async def close(self):
        self.stopped = True
        if self.ws is not None:
            await self.ws.close()
        if self._reader is not None:
            self._reader.cancel()


async def post_paced(member, name, stop, acked, pace=0.5):
    """Post as name every pace seconds until stop is set; every acked seq goes into
    acked[room] (a post that is never acked fails the test, with the member's story)."""
    index = 0
    while not stop.is_set():
        seq = await member.post(f"{name} {index}", f"{name}-{index}")
        assert seq is not None, (
            f"{name} {index} was never acked: {member.last_problem}, closes {member.closes}, "
            f"reconnects {member.reconnects}"
        )
        acked.setdefault(member.room, set()).add(seq)
        index += 1
        try:
            await asyncio.wait_for(stop.wait(), pace)
        except TimeoutError:
            pass
