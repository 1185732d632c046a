"""Database connections stay bounded under load: a pool on PostgreSQL, none kept on SQLite.

Under ASGI every request may run in a new thread; persistent per-thread connections were
never reused nor closed (see docs/operations.md, "Database connections").
"""

import asyncio
import re
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psutil
import pytest
from django.conf import settings

from tests.e2e.clients import connect

pytestmark = pytest.mark.e2e

HTTP_REQUESTS = 1000
SOCKETS = 10
POSTS_PER_SOCKET = 100  # 1,000 posts in all
HTTP_THREADS = 16
# The test's own sampling connection is to the `postgres` database, not counted; allow one
# more for a connection the server may be opening while an old one is still closing.
SLACK = 1

# The test is about database connections, not the limits: no message rate, no frame budget.
UNLIMITED = {"CHAT_MESSAGE_RATE": "0", "CHAT_FRAME_BUDGET": "0"}


def _http_load(daphne, count, paths):
    """count GETs spread over paths from HTTP_THREADS threads; returns the status codes."""

    def one(index):
        return daphne.get(paths[index % len(paths)], timeout=30)[0]

    with ThreadPoolExecutor(HTTP_THREADS) as pool:
        return list(pool.map(one, range(count)))


async def _post_load(daphne, cookies, room):
    """POSTS_PER_SOCKET messages from each of the sockets, concurrently; returns the acks."""
    clients = [await connect(daphne, room, sessionid) for sessionid in cookies]

    async def post_all(client, index):
        for i in range(POSTS_PER_SOCKET):
            await client.send({"type": "message", "text": f"m {i}", "client_id": f"{index}-{i}"})
        acks = 0
        while acks < POSTS_PER_SOCKET:
            frame = await client.recv_type("ack", timeout=60)
            assert frame["type"] == "ack", frame
            acks += 1
        return acks

    try:
        return sum(await asyncio.gather(*(post_all(c, i) for i, c in enumerate(clients))))
    finally:
        for client in clients:
            await client.close()


class ConnectionSampler:
    """Counts the chat database's client connections in pg_stat_activity, every 50 ms."""

    def __init__(self, postgres, database):
        self.connection = postgres._connect("postgres")
        self.database = database
        self.samples = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def count(self):
        row = self.connection.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = %s AND backend_type = 'client backend'",
            (self.database,),
        ).fetchone()
        return row[0]

    def _run(self):
        while not self._stop.wait(0.05):
            self.samples.append(self.count())

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(10)

    def close(self):
        self.connection.close()


async def test_postgresql__connections_stay_within_the_pool_under_load(pg_stack):
    pool_max = settings.DATABASE_POOL_MAX  # the shipped default; daphne reads the same
    [daphne] = pg_stack.start_daphne(1, **UNLIMITED)
    names = [f"pool-{i}-{uuid.uuid4().hex[:6]}" for i in range(SOCKETS)]
    cookies = pg_stack.sessions(names)
    room = f"pool-{uuid.uuid4().hex[:8]}"
    database = pg_stack.database_url.rsplit("/", 1)[1]
    sampler = ConnectionSampler(pg_stack.postgres, database)
    try:
        with sampler:
            http = asyncio.to_thread(
                _http_load, daphne, HTTP_REQUESTS, ["/readyz", f"/api/rooms/{room}/messages"]
            )
            statuses, acks = await asyncio.gather(http, _post_load(daphne, cookies.values(), room))
        after = sampler.count()
    finally:
        sampler.close()
    assert acks == SOCKETS * POSTS_PER_SOCKET
    assert len(statuses) == HTTP_REQUESTS and set(statuses) <= {200, 404}, set(statuses)
    assert sampler.samples, "no sample of pg_stat_activity was taken"
    peak = max(sampler.samples)
    print(f"pool max {pool_max}: peak {peak}, after {after} connections")  # for the report
    assert peak <= pool_max + SLACK, f"peak {peak} connections, pool max {pool_max}"
    assert after <= pool_max + SLACK


def _sqlite_descriptors(pid, database_path):
    """Open descriptors of process pid on the SQLite file (its -wal and -shm included)."""
    name = Path(database_path).name
    return [f.path for f in psutil.Process(pid).open_files() if Path(f.path).name.startswith(name)]


def test_sqlite__no_descriptor_kept_per_request(stack):
    [daphne] = stack.start_daphne(1)
    path = stack.database_url.removeprefix("sqlite:///")
    statuses = _http_load(daphne, 200, ["/readyz", "/api/rooms/lobby/messages", "/"])
    assert len(statuses) == 200 and set(statuses) <= {200, 404}, set(statuses)
    # Django closes a request's connection after its response is sent: give the last
    # requests a moment (bounded) to finish.
    deadline = time.monotonic() + 10
    while len(open_now := _sqlite_descriptors(daphne.pid, path)) > 4:
        if time.monotonic() > deadline:
            break
        time.sleep(0.1)
    # Before the change: ~2 descriptors per request thread (the file and its WAL), ~200 here.
    assert len(open_now) <= 4, open_now


def _connections_opened(daphne):
    status, body = daphne.get("/metrics")
    assert status == 200
    match = re.search(r"^chat_db_connections_opened_total ([0-9.e+]+)$", body.decode(), re.M)
    assert match, "chat_db_connections_opened_total not in /metrics"
    return float(match.group(1))


async def test_sqlite__the_realtime_side_keeps_one_connection_for_every_post(stack):
    """Connects, frames and posts reuse the real-time side's one connection. channels'
    helpers closed it around every call and before every frame: with CONN_MAX_AGE = 0 that
    opened one connection per frame (205 for the 200 posts below before the change)."""
    [daphne] = stack.start_daphne(1, **UNLIMITED)
    names = [f"keep-{i}-{uuid.uuid4().hex[:6]}" for i in range(2)]
    cookies = stack.sessions(names)
    room = f"keep-{uuid.uuid4().hex[:8]}"
    clients = [await connect(daphne, room, sessionid) for sessionid in cookies.values()]
    try:
        before = _connections_opened(daphne)  # /metrics itself is an HTTP request thread
        for i in range(100):
            for index, client in enumerate(clients):
                await client.send(
                    {"type": "message", "text": f"m {i}", "client_id": f"{index}-{i}"}
                )
        for client in clients:
            for _ in range(100):
                assert (await client.recv_type("ack", timeout=30))["type"] == "ack"
        opened = _connections_opened(daphne) - before
    finally:
        for client in clients:
            await client.close()
    # The /metrics request that reads the figure may open one of its own.
    assert opened <= 2, f"{opened:g} database connections opened for 200 posts"


async def test_postgresql__connections_killed_by_the_server_are_replaced_without_a_close(pg_stack):
    """The real-time side keeps its connections: when PostgreSQL ends them (a restart, an
    administrator, a proxy's idle timeout), the next post and the next connect get fresh
    ones, and no socket is closed for it."""
    [daphne] = pg_stack.start_daphne(1)
    cookies = pg_stack.sessions(["kill-a"])
    room = f"kill-{uuid.uuid4().hex[:8]}"
    database = pg_stack.database_url.rsplit("/", 1)[1]
    client = await connect(daphne, room, cookies["kill-a"])
    admin = pg_stack.postgres._connect("postgres")
    try:
        await client.send({"type": "message", "text": "before", "client_id": "k1"})
        assert (await client.recv_type("ack", timeout=30))["seq"] == 1
        killed = admin.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE datname = %s AND pid <> pg_backend_pid()",
            (database,),
        ).fetchone()[0]
        assert killed >= 1
        await client.send({"type": "message", "text": "after", "client_id": "k2"})
        ack = await client.recv_type("ack", timeout=30)
        assert ack.get("seq") == 2, ack
        killed = admin.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE datname = %s AND pid <> pg_backend_pid()",
            (database,),
        ).fetchone()[0]
        again = await connect(daphne, room, cookies["kill-a"])
        assert again.hello["type"] == "hello" and again.hello["seq"] == 2, again.hello
        await again.close()
    finally:
        admin.close()
        await client.close()
    assert "Traceback" not in daphne.log_text(), daphne.log_tail()


async def test_postgresql__three_processes_hold_at_most_their_pools_after_load(pg_stack):
    """The deployment of docs/operations.md: three processes, a few hundred requests each
    (pages, the API, readiness), then idle. Before the pool: 49-58 idle connections."""
    pool_max = settings.DATABASE_POOL_MAX
    daphnes = pg_stack.start_daphne(3)
    database = pg_stack.database_url.rsplit("/", 1)[1]
    paths = ["/readyz", "/api/rooms/lobby/messages", "/"]
    statuses = await asyncio.gather(
        *(asyncio.to_thread(_http_load, daphne, 300, paths) for daphne in daphnes)
    )
    sampler = ConnectionSampler(pg_stack.postgres, database)
    try:
        await asyncio.sleep(1)  # idle now
        rows = sampler.connection.execute(
            "SELECT state, count(*) FROM pg_stat_activity"
            " WHERE datname = %s AND backend_type = 'client backend' GROUP BY state",
            (database,),
        ).fetchall()
    finally:
        sampler.close()
    assert all(set(s) <= {200, 404} for s in statuses), [set(s) for s in statuses]
    by_state = dict(rows)
    total = sum(by_state.values())
    print(f"3 processes x 300 requests, then idle: {total} connections {by_state}, "
          f"bound 3 x DATABASE_POOL_MAX = {3 * pool_max}")  # fmt: skip
    assert total <= 3 * pool_max, by_state
