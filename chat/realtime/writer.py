"""Posts of this process, stored in batches: one transaction per room per batch.

Every event of a room's log goes this way: messages, and the edits, deletions and reaction
changes (chat.store.Change) in the same queue, so they keep their order and their seq is
taken under the room's lock like a message's.

A post waits for the database a few round trips (lock the room, check its client_id,
insert, move the room's seq, commit). One at a time, those round trips are the ceiling of
a busy room. Here the posts to a room queue up while the room's previous batch is in the
database, and go in together as the next batch (chat.store: the same statements for one
post or for two hundred). An idle room costs nothing extra: a lone post is a batch of one
and leaves at once.

Each room has at most one batch in flight, so a room's posts are stored, and acked, in the
order its sockets sent them. Rooms do not wait for each other on PostgreSQL: batches run on
a pool of CHAT_DB_WRITERS threads, each with a connection of its own that it keeps. SQLite
has one writer at a time whatever the threads, so there the batches run on the real-time
side's one database thread (chat.realtime.db).
"""

import asyncio
import logging
import weakref
from collections import deque
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings
from django.db import DatabaseError, connection

from .. import metrics, services
from .db import connection_lost, database_call, release_if_unusable

__all__ = ["PostWriter", "get_writer"]

log = logging.getLogger("chat.realtime.writer")

MAX_BATCH = 200  # posts per transaction


def _store(room_id, posts):
    """Store posts on this thread's kept connection. When that connection turns out to be
    dead (the database restarted, a proxy dropped it), the batch is tried once more on a
    fresh one, if every post has a client_id: a commit that did land before the
    connection died is then found by its client_ids instead of stored twice."""
    try:
        return services.post_messages(room_id, posts)
    except DatabaseError as exc:
        if not connection_lost(exc) or any(p.client_id is None for p in posts):
            raise
        release_if_unusable()
        log.warning("event=post_retried_on_new_connection size=%d", len(posts))
        return services.post_messages(room_id, posts)
    finally:
        release_if_unusable()


class PostWriter:
    def __init__(self, threads=None):
        threads = settings.CHAT_DB_WRITERS if threads is None else threads
        self._executor = None
        if threads > 1 and connection.vendor != "sqlite":
            self._executor = ThreadPoolExecutor(threads, thread_name_prefix="chat-writer")
        self._queues = {}  # room id -> deque of (Post, future)
        self._tasks = set()

    async def post(self, room_id, post):
        """Store post (chat.store.Post, or a Change: an edit, a deletion, a reaction) in room
        room_id, in the order the room's commands came; returns its chat.store.Stored."""
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        queue = self._queues.get(room_id)
        if queue is None:
            queue = self._queues[room_id] = deque()
            task = loop.create_task(self._drain(room_id, queue))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        queue.append((post, future))
        return await future

    async def _run(self, room_id, posts):
        if self._executor is None:
            return await database_call(_store, retry=False)(room_id, posts)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, _store, room_id, posts)

    async def _drain(self, room_id, queue):
        try:
            while queue:
                batch = [queue.popleft() for _ in range(min(len(queue), MAX_BATCH))]
                metrics.post_batch_size.observe(len(batch))
                await self._store_batch(room_id, batch)
        finally:
            if self._queues.get(room_id) is queue:
                del self._queues[room_id]
            for _, future in queue:  # only when cancelled (the loop is closing)
                future.cancel()

    async def _store_batch(self, room_id, batch):
        try:
            results = await self._run(room_id, [post for post, _ in batch])
        except DatabaseError as exc:
            if len(batch) == 1:
                _settle(batch[0][1], exception=exc)
                return
            # One post may be what the database refused: the others must not share its fate.
            log.warning("event=post_batch_failed size=%d error=%r", len(batch), exc)
            for item in batch:
                await self._store_batch(room_id, [item])
            return
        except Exception as exc:  # the room is gone, or a bug: every post of it hears
            for _, future in batch:
                _settle(future, exception=exc)
            return
        for (_, future), result in zip(batch, results, strict=True):
            _settle(future, result=result)

    async def wait_idle(self, timeout):
        """Wait (at most timeout seconds) for the batches in flight to be stored."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=timeout)


def _settle(future, result=None, exception=None):
    if future.done():  # its socket went away meanwhile; the post is stored all the same
        return
    if exception is not None:
        future.set_exception(exception)
    else:
        future.set_result(result)


_writers = weakref.WeakKeyDictionary()


def get_writer():
    """The post writer of the running event loop (created on first use)."""
    loop = asyncio.get_running_loop()
    writer = _writers.get(loop)
    if writer is None:
        writer = _writers[loop] = PostWriter()
    return writer


def current_writer():
    """The writer of the running loop, or None when nothing was posted on it."""
    return _writers.get(asyncio.get_running_loop())
