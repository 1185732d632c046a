"""WebSocket clients for bench/loadtool.py: one Conn per socket, one Collector per run.

Every chat message a sender posts carries its send time as text ``t=<time.time_ns()>``, so a
receiver in the same process computes the fan-out latency with the same clock.
"""

import asyncio
import json
import random
import time
from collections import Counter

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

# Clients come from many loopback addresses (all of 127.0.0.0/8 is this machine), 200 per
# address, as thousands of people would come from many: the shipped cap is 500 sockets per
# address, and the benchmarks run with the shipped limits.
PER_ADDRESS = 200


def source_address(idx):
    """The loopback address client idx connects from (-1, the probe: 127.0.0.1)."""
    if idx < 0:
        return "127.0.0.1"
    n = idx // PER_ADDRESS
    return f"127.1.{n // 250}.{1 + n % 250}"


class Collector:
    """Counters shared by all sockets of one run."""

    def __init__(self):
        self.latencies = []  # ns, one per delivered chat message carrying a timestamp
        self.deliveries = 0
        self.first_delivery = None
        self.last_delivery = None
        self.last_frame = time.monotonic()
        self.frames = Counter()  # by type
        self.errors = Counter()  # error frames by code
        self.closes = Counter()  # close codes of sockets we did not close ourselves
        self.target = None  # deliveries at which `done` is set
        self.done = asyncio.Event()
        self.measuring = False  # count latencies/deliveries only while True

    def on_delivery(self, now_ns, text):
        self.deliveries += 1
        if self.first_delivery is None:
            self.first_delivery = now_ns
        self.last_delivery = now_ns
        if text.startswith("t="):
            try:
                self.latencies.append(now_ns - int(text[2:]))
            except ValueError:
                pass
        if self.target is not None and self.deliveries >= self.target:
            self.done.set()


class ConnectFailed(Exception):
    def __init__(self, reason):
        super().__init__(reason)
        self.reason = reason


class Conn:
    """One WebSocket: connects, waits for hello, then reads frames until closed."""

    def __init__(self, idx, url, origin, session, col):
        self.idx, self.url, self.origin, self.session, self.col = (
            idx,
            url,
            origin,
            session,
            col,
        )
        self.ws = None
        self.hello = None
        self.seen = set()  # seqs of chat messages received
        self.max_seq = 0
        self.dups = 0
        self.out_of_order = 0
        self.acks = {}  # client_id -> seq
        self.ack_event = asyncio.Event()
        self.acks_wanted = 0
        self.closing = False
        self.task = None
        self.on_ack = None  # optional callback(client_id, seq, now_ns)
        self.on_error = None  # optional callback(code)

    async def open(self, timeout=10.0):
        """Connect and wait for hello; returns seconds taken, raises ConnectFailed."""
        headers = {"Cookie": f"sessionid={self.session}"} if self.session else None
        t0 = time.perf_counter()
        try:
            ws = await connect(
                self.url,
                origin=self.origin,
                additional_headers=headers,
                open_timeout=timeout,
                ping_interval=None,
                compression=None,
                close_timeout=2,
                max_size=2**20,
                local_addr=(source_address(self.idx), 0),
            )
        except InvalidStatus as e:
            raise ConnectFailed(f"http_{e.response.status_code}") from None
        except (ConnectionRefusedError, ConnectionResetError):
            raise ConnectFailed("refused") from None
        except TimeoutError:
            raise ConnectFailed("timeout") from None
        except OSError as e:
            raise ConnectFailed(f"oserror_{e.errno}") from None
        except (InvalidHandshake, EOFError) as e:  # handshake errors of any other kind
            raise ConnectFailed(type(e).__name__) from None
        try:
            while True:
                raw = await asyncio.wait_for(ws.recv(), timeout)
                msg = json.loads(raw)
                if msg.get("type") == "hello":
                    break
        except ConnectionClosed:
            raise ConnectFailed(f"close_{ws.close_code}") from None
        except TimeoutError:
            await ws.close()
            raise ConnectFailed("hello_timeout") from None
        self.ws, self.hello = ws, msg
        self.max_seq = msg.get("seq") or 0
        self.col.last_frame = time.monotonic()
        self.task = asyncio.ensure_future(self._read())
        return time.perf_counter() - t0

    async def _read(self):
        col = self.col
        try:
            async for raw in self.ws:
                now = time.time_ns()
                col.last_frame = time.monotonic()
                msg = json.loads(raw)
                kind = msg.get("type")
                col.frames[kind] += 1
                if kind == "message":
                    self._on_message(msg, now)
                elif kind == "ack":
                    self.acks[msg.get("client_id")] = msg.get("seq")
                    if self.on_ack is not None:
                        self.on_ack(msg.get("client_id"), msg.get("seq"), now)
                    if len(self.acks) >= self.acks_wanted:
                        self.ack_event.set()
                elif kind == "error":
                    col.errors[msg.get("code")] += 1
                    if self.on_error is not None:
                        self.on_error(msg.get("code"))
        except ConnectionClosed:
            pass
        except (ValueError, TypeError, AttributeError) as e:  # a bad frame: count it
            col.errors[f"client_{type(e).__name__}"] += 1
        if not self.closing:
            col.closes[str(self.ws.close_code or 1006)] += 1

    def _on_message(self, msg, now):
        seq = msg.get("seq")
        if seq in self.seen:
            self.dups += 1
            return
        self.seen.add(seq)
        if seq < self.max_seq:
            self.out_of_order += 1
        else:
            self.max_seq = seq
        if self.col.measuring:
            self.col.on_delivery(now, msg.get("text") or "")

    async def post(self, client_id):
        text = f"t={time.time_ns()}"
        await self.ws.send(json.dumps({"type": "message", "text": text, "client_id": client_id}))

    def drop(self):
        """Lose the connection without a close frame (as a network loss or a killed client
        would); the Conn can open() again afterwards."""
        self.closing = True
        if self.ws is not None:
            self.ws.transport.abort()
        if self.task is not None:
            self.task.cancel()
        self.ws, self.task = None, None

    async def close(self):
        self.closing = True
        if self.ws is not None:
            try:
                await asyncio.wait_for(self.ws.close(), 3)
            except (TimeoutError, OSError):
                self.ws.transport.abort()
        if self.task is not None:
            try:
                await asyncio.wait_for(self.task, 3)
            except TimeoutError:
                self.task.cancel()


async def open_with_retry(conn, deadline, failures, backoff=0.1, max_timeout=5.0):
    """Retry conn.open() until it succeeds or time.monotonic() passes deadline.

    Failure reasons are counted in `failures`. Returns (seconds of the successful attempt,
    attempts) or (None, attempts)."""
    attempts = 0
    while True:
        attempts += 1
        left = deadline - time.monotonic()
        if left <= 0:
            return None, attempts - 1
        try:
            return await conn.open(timeout=max(0.5, min(max_timeout, left))), attempts
        except ConnectFailed as e:
            failures[e.reason] += 1
        pause = backoff * (0.5 + random.random())
        if time.monotonic() + pause >= deadline:
            return None, attempts
        await asyncio.sleep(pause)


async def open_many(conns, concurrency, deadline, failures):
    """Open conns with at most `concurrency` handshakes in flight; returns connect times."""
    sem = asyncio.Semaphore(concurrency)
    times = []

    async def one(conn):
        async with sem:
            t, _ = await open_with_retry(conn, deadline, failures)
            if t is not None:
                times.append(t)

    await asyncio.gather(*(one(c) for c in conns))
    return times


async def close_many(conns, concurrency=200):
    sem = asyncio.Semaphore(concurrency)

    async def one(conn):
        async with sem:
            await conn.close()

    await asyncio.gather(*(one(c) for c in conns))
