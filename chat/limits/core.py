"""The limiter core: GCRA buckets in Redis, checked and taken in one Lua script.

Each limit is a rate `(N, S)`: a burst of N, refilled at N per S seconds, one key per
user, address or pair (O(1) memory). Every limit of a decision is checked and taken in
one script, so the decision is atomic across server processes; a refused attempt takes
nothing, so a client that backs off gets back in. Connection, log-in, sign-up and
room-creation limits are built on it (chat.limits.connections, chat.limits.login).
"""

import ipaddress

from redis_core import get_manager

__all__ = ["SCRIPT", "plan", "take", "atake", "retry_after", "ip_bucket", "client_ip"]

# KEYS: one per limit. ARGV: per key, its emission interval and its burst tolerance (ms).
# Returns 0 when every limit allows (and takes one from each), else the ms to wait.
SCRIPT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local wait, tats = 0, {}
for i, key in ipairs(KEYS) do
  local interval, tolerance = tonumber(ARGV[2 * i - 1]), tonumber(ARGV[2 * i])
  local tat = math.max(tonumber(redis.call('GET', key) or '0'), now)
  wait = math.max(wait, tat - tolerance - now)
  tats[i] = tat + interval
end
if wait > 0 then return math.ceil(wait) end
for i, key in ipairs(KEYS) do
  redis.call('SET', key, string.format('%.3f', tats[i]), 'PX', math.ceil(tats[i] - now) + 1)
end
return 0
"""


def ip_bucket(ip):
    """The address a limit counts against: IPv4 as is, IPv6 by its /64 (one subscriber's
    usual allocation, so rotating addresses within it gains nothing); None when unknown."""
    try:
        address = ipaddress.ip_address(ip.strip() if isinstance(ip, str) else ip)
    except ValueError:
        return None
    if address.version == 6 and address.ipv4_mapped is not None:
        return str(address.ipv4_mapped)
    if address.version == 6:
        return str(ipaddress.ip_network(f"{address}/64", strict=False).network_address) + "/64"
    return str(address)


def client_ip(scope):
    """The client address of an ASGI scope (daphne's `--proxy-headers` puts the forwarded
    one there), or None when the server does not know it (e.g. a unix socket)."""
    client = scope.get("client")
    return client[0] if client else None


def retry_after(wait_ms):
    """Seconds to wait, rounded to ms, never less than 1 ms."""
    return max(round(int(wait_ms) / 1000, 3), 0.001)


def plan(limits):
    """SCRIPT's KEYS and ARGV for [(key, (N, S) or None)]; limits that are off are left out."""
    keys, args = [], []
    for key, rate in limits:
        if rate is None:
            continue
        limit, seconds = rate
        interval = seconds * 1000 / limit
        keys.append(key)
        args += [f"{interval:.3f}", f"{interval * (limit - 1):.3f}"]
    return keys, args


def take(limits):
    """None when every limit of [(key, (N, S) or None)] allows one more (and it is taken),
    else the seconds to wait. Sync; raises RedisError when Redis does not answer."""
    keys, args = plan(limits)
    if not keys:
        return None
    wait_ms = get_manager().client().eval(SCRIPT, len(keys), *keys, *args)
    return None if int(wait_ms) <= 0 else retry_after(wait_ms)


async def atake(limits):
    """take() for the running event loop."""
    keys, args = plan(limits)
    if not keys:
        return None
    wait_ms = await get_manager().async_client().eval(SCRIPT, len(keys), *keys, *args)
    return None if int(wait_ms) <= 0 else retry_after(wait_ms)
