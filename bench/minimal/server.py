#!/usr/bin/env python
"""The minimal reference server of issue 12: the chat's protocol core on asyncio alone.

asyncio + `websockets` + psycopg (async, a small pool) + redis-py asyncio; no Django, no
daphne. It is the "minimal asyncio + Redis server of the same protocol" that the `posts`
benchmark compares the chat with; it serves the benchmark only.

- `ws://HOST:PORT/ws/chat/<room>/`; the user is the value of the `sessionid` cookie taken as
  a user name (the benchmark's sessions file for this app holds names, not session keys);
  no cookie: anonymous, who cannot post.
- On connect: `hello` {room, user, seq, history (the latest 50, oldest first), complete}.
- `message` {text, client_id}: one statement (one round trip, one transaction) stores it with
  seq = the room's last_seq + 1 under the room row's lock (the UPDATE's), a repeated
  client_id of the same user in the room stores nothing and is acked with its first seq;
  after COMMIT: PUBLISH of the message frame to Redis and `ack` {client_id, seq} to the
  sender.
- Every process PSUBSCRIBEs to every room's channel and sends each message frame to its own
  connections in that room.

Order: posts of one room are serialised in this process by an asyncio lock held from BEGIN to
PUBLISH, so frames reach Redis in seq order (several processes would also need that order
across processes; the benchmark runs one).
"""

import argparse
import asyncio
import json
import signal
from datetime import UTC, datetime
from http.cookies import SimpleCookie

import psycopg
import redis.asyncio as aioredis
from psycopg_pool import AsyncConnectionPool
from websockets.asyncio.server import broadcast, serve
from websockets.http11 import Response

CHANNEL = "minimal:room:"
MAX_TEXT = 4000
SCHEMA = """
CREATE TABLE IF NOT EXISTS mini_room (
    id bigserial PRIMARY KEY, name text UNIQUE NOT NULL, last_seq bigint NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS mini_message (
    room_id bigint NOT NULL REFERENCES mini_room(id), seq bigint NOT NULL,
    username text NOT NULL, text text NOT NULL, client_id text, ts text NOT NULL,
    PRIMARY KEY (room_id, seq));
CREATE UNIQUE INDEX IF NOT EXISTS mini_message_client
    ON mini_message (room_id, username, client_id) WHERE client_id IS NOT NULL;
"""


STORE = """
WITH dup AS (
    SELECT m.seq FROM mini_message m JOIN mini_room r ON r.id = m.room_id
    WHERE r.name = %s AND m.username = %s AND m.client_id = %s),
up AS (
    UPDATE mini_room SET last_seq = last_seq + 1
    WHERE name = %s AND NOT EXISTS (SELECT 1 FROM dup) RETURNING id, last_seq),
ins AS (
    INSERT INTO mini_message (room_id, seq, username, text, client_id, ts)
    SELECT id, last_seq, %s, %s, %s, %s FROM up RETURNING seq)
SELECT (SELECT seq FROM ins), (SELECT seq FROM dup)
"""


def now_iso():
    now = datetime.now(UTC)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


def valid_client_id(value):
    return (
        value is None
        or isinstance(value, str)
        and 1 <= len(value) <= 64
        and all(c.isascii() and (c.isalnum() or c in "-_") for c in value)
    )


def room_of(path):
    """The room of /ws/chat/<room>/ (1 to 100 of [A-Za-z0-9_-]), else None."""
    parts = path.split("?", 1)[0].split("/")
    if len(parts) != 5 or parts[:3] != ["", "ws", "chat"] or parts[4] != "":
        return None
    room = parts[3]
    ok = 1 <= len(room) <= 100 and all(c.isascii() and (c.isalnum() or c in "-_") for c in room)
    return room if ok else None


def user_of(request):
    cookie = SimpleCookie()
    try:
        cookie.load(request.headers.get("Cookie", ""))
    except Exception:  # a malformed cookie header: anonymous
        return None
    morsel = cookie.get("sessionid")
    return morsel.value[:150] if morsel is not None and morsel.value else None


class Server:
    def __init__(self, pool, redis):
        self.pool, self.redis = pool, redis
        self.members = {}  # room -> set of connections in this process
        self.locks = {}  # room -> asyncio.Lock (posts of a room in seq order)

    async def room_id(self, conn, room):
        cur = await conn.execute(
            "INSERT INTO mini_room (name) VALUES (%s) ON CONFLICT (name) DO NOTHING", (room,)
        )
        cur = await conn.execute("SELECT id, last_seq FROM mini_room WHERE name = %s", (room,))
        return await cur.fetchone()

    async def hello(self, room, user):
        async with self.pool.connection() as conn:
            room_id, seq = await self.room_id(conn, room)
            cur = await conn.execute(
                "SELECT seq, username, text, client_id, ts FROM mini_message "
                "WHERE room_id = %s ORDER BY seq DESC LIMIT 51",
                (room_id,),
            )
            rows = await cur.fetchall()
        history = [self.frame(room, *r) for r in reversed(rows[:50])]
        return {
            "type": "hello",
            "room": room,
            "user": user,
            "seq": seq,
            "history": history,
            "complete": len(rows) <= 50,
        }

    @staticmethod
    def frame(room, seq, user, text, client_id, ts):
        return {
            "type": "message",
            "room": room,
            "seq": seq,
            "user": user,
            "text": text,
            "ts": ts,
            "client_id": client_id,
        }

    async def store(self, room, user, text, client_id):
        """(seq, frame or None when the client_id was stored before): one statement, so one
        round trip and its own transaction; the UPDATE holds the room row's lock until the
        commit, so seq = last_seq + 1 is taken under it. The unique index on client_id
        refuses a duplicate that races past the check (an error to the client, never a
        second copy)."""
        ts = now_iso()
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                STORE, (room, user, client_id, room, user, text, client_id, ts)
            )
            seq, dup = await cur.fetchone()
        if dup is not None:
            return dup, None
        if seq is None:  # the room row is gone
            raise psycopg.DataError(f"no room {room}")
        return seq, self.frame(room, seq, user, text, client_id, ts)

    async def post(self, ws, room, user, data):
        text, client_id = data.get("text"), data.get("client_id")
        if not isinstance(text, str) or not valid_client_id(client_id):
            return await self.error(ws, "bad_field", "text must be a string, client_id valid.")
        if user is None:
            return await self.error(ws, "auth_required", "Log in to post.")
        text = text.strip()
        if not 1 <= len(text) <= MAX_TEXT or "\x00" in text:
            return await self.error(ws, "bad_field", "text must be 1 to 4000 characters.")
        lock = self.locks.setdefault(room, asyncio.Lock())
        try:
            async with lock:
                seq, frame = await self.store(room, user, text, client_id)
                if frame is not None:
                    await self.redis.publish(CHANNEL + room, json.dumps(frame))
        except (psycopg.Error, aioredis.RedisError):
            return await self.error(ws, "unavailable", "Try again.")
        await ws.send(json.dumps({"type": "ack", "client_id": client_id, "seq": seq}))

    async def error(self, ws, code, detail):
        await ws.send(json.dumps({"type": "error", "code": code, "detail": detail}))

    async def handler(self, ws):
        room = room_of(ws.request.path)
        if room is None:
            return await ws.close(4404, "unknown room")
        user = user_of(ws.request)
        try:
            hello = await self.hello(room, user)
        except psycopg.Error:
            return await ws.close(4013, "database unavailable")
        members = self.members.setdefault(room, set())
        await ws.send(json.dumps(hello))
        members.add(ws)
        try:
            async for raw in ws:
                try:
                    data = json.loads(raw)
                except ValueError:
                    data = None
                if not isinstance(data, dict):
                    await self.error(ws, "bad_json", "Frames must be JSON objects.")
                elif data.get("type") == "message":
                    await self.post(ws, room, user, data)
                elif data.get("type") == "ping":
                    await ws.send('{"type": "pong"}')
                else:
                    await self.error(ws, "bad_type", "Unknown type.")
        finally:
            members.discard(ws)

    async def subscriber(self):
        pubsub = self.redis.pubsub()
        await pubsub.psubscribe(CHANNEL + "*")
        async for item in pubsub.listen():
            if item.get("type") != "pmessage":
                continue
            room = item["channel"].decode()[len(CHANNEL) :]
            members = self.members.get(room)
            if members:
                broadcast(members, item["data"].decode())


def reject_other_paths(connection, request):
    if room_of(request.path) is None:
        return Response(404, "Not Found", [], b"not found\n")
    return None


async def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--database-url", required=True)
    p.add_argument("--redis-url", required=True)
    p.add_argument("--pool", type=int, default=10, help="database connections")
    a = p.parse_args(argv)
    async with await psycopg.AsyncConnection.connect(a.database_url, autocommit=True) as c:
        await c.execute(SCHEMA)
    pool = AsyncConnectionPool(
        a.database_url, min_size=1, max_size=a.pool, kwargs={"autocommit": True}, open=False
    )
    await pool.open(wait=True, timeout=10)
    redis = aioredis.Redis.from_url(a.redis_url)
    server = Server(pool, redis)
    sub = asyncio.create_task(server.subscriber())
    stop = asyncio.get_running_loop().create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set_result, None)
    async with serve(
        server.handler,
        a.host,
        a.port,
        process_request=reject_other_paths,
        compression=None,
        max_size=2**16,
        ping_interval=20,
        backlog=1024,
    ):
        await stop
    sub.cancel()
    await pool.close()
    await redis.aclose()


if __name__ == "__main__":
    asyncio.run(main())
