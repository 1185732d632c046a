"""Per-user message rate in Redis (sliding window log), correct across processes."""

import uuid

from redis_core import get_manager

from .. import metrics

__all__ = ["reserve", "release", "reserve_sync", "release_sync", "retry_after"]

# KEYS[1] the user's log. ARGV: limit, window ms, token. Returns {1, 0} when reserved,
# {0, ms until the oldest entry leaves the window} when over the limit.
_SCRIPT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local limit, window = tonumber(ARGV[1]), tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) >= limit then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return {0, tonumber(oldest[2]) + window - now}
end
redis.call('ZADD', KEYS[1], now, ARGV[3])
redis.call('PEXPIRE', KEYS[1], window)
return {1, 0}
"""


def retry_after(wait_ms):
    """Seconds to wait, never less than a millisecond's worth, rounded to ms."""
    return max(round(wait_ms / 1000, 3), 0.001)


def _key(user_id):
    return f"chat:rate:{user_id}"


async def reserve(user_id, rate):
    """(token, None) when a message may be stored, (None, retry_after s) when over rate."""
    limit, seconds = rate
    token = uuid.uuid4().hex
    client = get_manager().async_client()
    async with metrics.redis_command("rate_limit"):
        allowed, wait_ms = await client.eval(
            _SCRIPT, 1, _key(user_id), limit, int(seconds * 1000), token
        )
    if int(allowed):
        return token, None
    return None, retry_after(int(wait_ms))


def reserve_sync(user_id, rate):
    """reserve() for synchronous code (chat.api), through the manager's sync client."""
    limit, seconds = rate
    token = uuid.uuid4().hex
    allowed, wait_ms = (
        get_manager().client().eval(_SCRIPT, 1, _key(user_id), limit, int(seconds * 1000), token)
    )
    if int(allowed):
        return token, None
    return None, retry_after(int(wait_ms))


def release_sync(user_id, token):
    """release() for synchronous code."""
    get_manager().client().zrem(_key(user_id), token)


async def release(user_id, token):
    """Give back a reservation for a message that was not stored (a repeated client_id)."""
    await get_manager().async_client().zrem(_key(user_id), token)


async def typing_allowed(room, user_id, seconds=2):
    """At most one typing relay per user and room every seconds, across processes."""
    client = get_manager().async_client()
    return bool(
        await client.set(f"chat:typing:{room}:{user_id}", 1, nx=True, px=int(seconds * 1000))
    )
