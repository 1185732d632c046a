"""Presence in Redis: one sorted set per room of live connections, scored by expiry.

Each server process refreshes its own entries; a process that dies without saying
goodbye has its entries expire after ENTRY_TTL_MS, and the next sweep tells the room.
"""

from redis_core import get_manager

from .. import metrics
from ..online import room_key

__all__ = ["PresenceChange", "update", "ENTRY_TTL_MS", "REFRESH_SECONDS"]

ENTRY_TTL_MS = 12_000
REFRESH_SECONDS = 4

# KEYS[1] room set, KEYS[2] its last summary. ARGV: op (add|rem|sweep), ttl ms, members...
# Returns {changed (0/1), anonymous count, user names sorted...}.
_SCRIPT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local op, ttl = ARGV[1], tonumber(ARGV[2])
for i = 3, #ARGV do
  if op == 'rem' then redis.call('ZREM', KEYS[1], ARGV[i])
  else redis.call('ZADD', KEYS[1], now + ttl, ARGV[i]) end
end
local seen, users, anonymous = {}, {}, 0
for _, member in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local user = string.match(member, '^[^\\t]*\\t(.*)$') or ''
  if user == '' then anonymous = anonymous + 1
  elseif not seen[user] then seen[user] = true; table.insert(users, user) end
end
table.sort(users)
local summary = anonymous .. '\\n' .. table.concat(users, '\\n')
local changed = 0
if redis.call('GET', KEYS[2]) ~= summary then
  changed = 1
  redis.call('SET', KEYS[2], summary)
end
redis.call('PEXPIRE', KEYS[1], ttl * 3)
redis.call('PEXPIRE', KEYS[2], ttl * 3)
local result = {changed, anonymous}
for _, user in ipairs(users) do table.insert(result, user) end
return result
"""


class PresenceChange:
    """The outcome of a presence update: whether the room's summary changed, and it."""

    __slots__ = ("changed", "users", "anonymous")

    def __init__(self, raw):
        self.changed = bool(int(raw[0]))
        self.anonymous = int(raw[1])
        self.users = [u.decode() if isinstance(u, bytes) else u for u in raw[2:]]

    @property
    def value(self):
        """(users, anonymous): what a socket compares to tell whether it shows this."""
        return tuple(self.users), self.anonymous


def member(connection_id, username):
    """A connection's entry: its id, a tab, the user name ('' when anonymous)."""
    return f"{connection_id}\t{username or ''}"


async def update(room, op, members=()):
    """Add, remove or just sweep entries of room; returns a PresenceChange."""
    client = get_manager().async_client()
    async with metrics.redis_command("presence"):
        # Redis keeps the compiled script by its digest; EVAL resends a few hundred bytes.
        raw = await client.eval(
            _SCRIPT, 2, room_key(room), room_key(room) + ":summary", op, ENTRY_TTL_MS, *members
        )
    return PresenceChange(raw)
