"""Caps on concurrent WebSocket connections per client address and per user, in Redis.

A rate (chat.limits.connections) bounds how fast connections open; a cap bounds how many are open
at once, so one address cannot hold thousands of sockets by opening them slowly. Counts
live in Redis, one hash per address or user, one field per server process: the process
adds one on admit and takes it back on close. A process that dies without saying goodbye
stops renewing its liveness key (`chat:proc:<id>`, PROCESS_TTL_MS), and the next admit
drops its fields, so its sockets stop counting within that time. After a Redis restart
(the liveness key is found missing) the process writes its counts again from its own
tally, so the caps heal by themselves.
"""

import asyncio
import logging
import os
import socket
import uuid
import weakref
from collections import Counter

from django.conf import settings
from redis.exceptions import RedisError

from redis_core import get_manager

from .. import metrics

__all__ = ["Caps", "get_caps", "limits", "DEFAULT_PER_IP", "DEFAULT_PER_USER"]

log = logging.getLogger("chat.limits.caps")

# 500 sockets from one address: an office behind one NAT reconnecting all at once after a
# deploy gets in; one address holding more than that is not a crowd of people.
DEFAULT_PER_IP = 500
# A person with many tabs and devices stays far below 50 sockets.
DEFAULT_PER_USER = 50
PROCESS_TTL_MS = 12_000
REFRESH_SECONDS = 4.0
KEY_TTL_MS = 24 * 3600 * 1000  # a count nobody touches for a day is gone

# KEYS: the cap hashes. ARGV[1] this process's id, ARGV[2] its liveness TTL (ms), ARGV[3]
# the keys' TTL (ms), then one cap per key. Returns 0 when admitted (one added to each
# key), else the 1-based index of the first key at its cap (nothing added).
_ADMIT = """
local me = ARGV[1]
redis.call('SET', 'chat:proc:' .. me, '1', 'PX', ARGV[2])
for i, key in ipairs(KEYS) do
  local fields = redis.call('HGETALL', key)
  local total = 0
  for j = 1, #fields, 2 do
    local owner, count = fields[j], tonumber(fields[j + 1])
    if owner == me or redis.call('EXISTS', 'chat:proc:' .. owner) == 1 then
      total = total + count
    else
      redis.call('HDEL', key, owner)
    end
  end
  if total >= tonumber(ARGV[3 + i]) then return i end
end
for _, key in ipairs(KEYS) do
  redis.call('HINCRBY', key, me, 1)
  redis.call('PEXPIRE', key, ARGV[3])
end
return 0
"""

# KEYS: the hashes to take one from. ARGV[1] this process's id.
_RELEASE = """
for _, key in ipairs(KEYS) do
  if redis.call('HINCRBY', key, ARGV[1], -1) <= 0 then redis.call('HDEL', key, ARGV[1]) end
end
return 0
"""


def limits():
    """(per address, per user) from settings, each an int or None when off; read per call."""
    return (
        getattr(settings, "CHAT_CONNECTIONS_PER_IP", DEFAULT_PER_IP),
        getattr(settings, "CHAT_CONNECTIONS_PER_USER", DEFAULT_PER_USER),
    )


def ip_key(bucket):
    return f"chat:conncap:ip:{bucket}"


def user_key(user_id):
    return f"chat:conncap:user:{user_id}"


class Caps:
    """This event loop's share of the caps: its tally of open sockets per key, and the task
    that keeps its liveness key (and, after a Redis restart, its counts) in Redis."""

    def __init__(self, manager):
        self.manager = manager
        host = "".join(c if c.isalnum() or c in "-_." else "_" for c in socket.gethostname())
        self.process_id = f"{host}/{os.getpid()}/{uuid.uuid4().hex[:8]}"
        self.tally = Counter()
        self.refresher = None

    async def admit(self, user_id, bucket):
        """The keys taken (a ticket for release()) when a new socket may open, or None
        when a cap is reached. Raises RedisError/OSError when Redis does not answer."""
        per_ip, per_user = limits()
        wanted = []
        if bucket is not None and per_ip:
            wanted.append((ip_key(bucket), per_ip))
        if user_id is not None and per_user:
            wanted.append((user_key(user_id), per_user))
        if not wanted:
            return ()
        keys = [key for key, _ in wanted]
        args = [self.process_id, PROCESS_TTL_MS, KEY_TTL_MS, *[cap for _, cap in wanted]]
        async with metrics.redis_command("conncap"):
            full = int(await self.manager.async_client().eval(_ADMIT, len(keys), *keys, *args))
        if full:
            return None
        self.tally.update(keys)
        self._ensure_refresher()
        return tuple(keys)

    async def release(self, ticket):
        """Give back what admit() took (idempotence is the caller's: call it once)."""
        if not ticket:
            return
        self.tally.subtract(ticket)
        for key in ticket:
            if self.tally[key] <= 0:
                del self.tally[key]
        try:
            await self.manager.async_client().eval(_RELEASE, len(ticket), *ticket, self.process_id)
        except (RedisError, OSError):
            pass  # the counts are rewritten from the tally when Redis is back

    def _ensure_refresher(self):
        if self.refresher is None or self.refresher.done():
            self.refresher = asyncio.ensure_future(self._refresh_forever())

    async def _refresh_forever(self):
        while self.tally:
            await asyncio.sleep(REFRESH_SECONDS)
            try:
                await self.refresh()
            except (RedisError, OSError) as exc:
                log.info("event=conncap_refresh_failed error=%r", exc)

    async def refresh(self):
        """Renew this process's liveness; rewrite its counts if Redis lost them."""
        client = self.manager.async_client()
        key = f"chat:proc:{self.process_id}"
        existed = await client.set(key, "1", px=PROCESS_TTL_MS, get=True)
        if existed is None and self.tally:
            pipe = client.pipeline(transaction=False)
            for cap_key, count in self.tally.items():
                pipe.hset(cap_key, self.process_id, count)
                pipe.pexpire(cap_key, KEY_TTL_MS)
            await pipe.execute()
            log.info("event=conncap_restored keys=%s", len(self.tally))

    async def aclose(self):
        """Stop the refresher (the counts expire with the liveness key)."""
        task, self.refresher = self.refresher, None
        if task is not None:
            task.cancel()
            try:
                await task
            except (asyncio.CancelledError, Exception):
                pass


_caps = weakref.WeakKeyDictionary()


def get_caps():
    """The Caps of the running event loop (created on first use)."""
    loop = asyncio.get_running_loop()
    found = _caps.get(loop)
    if found is None or found.manager is not get_manager():
        found = _caps[loop] = Caps(get_manager())
    return found
