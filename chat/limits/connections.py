"""Limits on new WebSocket connections, per user and per client address, in Redis.

Each limit is a rate `(N, S)`: a burst of N connections, refilled at N per S seconds
(GCRA, one key per user or address, O(1) memory). Both limits are checked and taken in
one Lua script, so the decision is atomic across server processes; a refused connection
takes nothing, so a client that backs off gets back in.
"""

import ipaddress

from django.conf import settings

from redis_core import get_manager

__all__ = [
    "SCRIPT",
    "allow_connection",
    "allow_room_creation",
    "client_ip",
    "ip_bucket",
    "plan",
    "rates",
    "retry_after",
]

# Generous bursts: a whole office behind one NAT reconnects at once after a deploy. The
# concurrent caps (chat.limits.caps) are what keeps one address from holding the server.
DEFAULT_IP_RATE = (1200, 60.0)
DEFAULT_USER_RATE = (240, 60.0)
DEFAULT_ROOM_CREATE_RATE = (20, 3600.0)  # new public rooms per user: 20, then one per 3 min

# KEYS: one per limit. ARGV: per key, its emission interval and its burst tolerance (ms).
# Returns 0 when every limit allows (and takes one from each), else the ms to wait.
# chat.limits.login uses the same script for log-in attempts.
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


def rates():
    """(ip rate, user rate) from settings, each (N, S) or None when off; read per call."""
    return (
        getattr(settings, "CHAT_CONNECT_RATE_IP", DEFAULT_IP_RATE),
        getattr(settings, "CHAT_CONNECT_RATE_USER", DEFAULT_USER_RATE),
    )


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


def allow_room_creation(user_id):
    """None when user_id may create one more room now (and it is counted), else the seconds
    to wait. Sync (called on the database thread); raises RedisError when Redis is away."""
    rate = getattr(settings, "CHAT_ROOM_CREATE_RATE", DEFAULT_ROOM_CREATE_RATE)
    keys, args = plan([(f"chat:roomlimit:user:{user_id}", rate)])
    if not keys:
        return None
    wait_ms = get_manager().client().eval(SCRIPT, len(keys), *keys, *args)
    return None if int(wait_ms) <= 0 else retry_after(wait_ms)


ABUSE_PENALTY_MS = 10_000  # a client closed with 4429 is refused new sockets this long


def penalty_key(user_id, bucket):
    """Whom a 4429 penalises: the user when logged in, else the address."""
    if user_id is not None:
        return f"chat:penalty:user:{user_id}"
    return f"chat:penalty:ip:{bucket}" if bucket is not None else None


async def penalise(user_id, ip):
    """After a 4429 close: the contract tells the client to wait; this makes it wait."""
    key = penalty_key(user_id, ip_bucket(ip) if ip is not None else None)
    if key is not None:
        await get_manager().async_client().set(key, "1", px=ABUSE_PENALTY_MS)


async def allow_connection(user_id, ip):
    """(True, None) when a new connection of user_id (None: anonymous) from ip may open,
    else (False, seconds to wait). An unknown address is limited by user only, so a
    server behind a proxy without `--proxy-headers` does not throttle everybody at once."""
    ip_rate, user_rate = rates()
    bucket = ip_bucket(ip) if ip is not None else None
    penalty = penalty_key(user_id, bucket)
    if penalty is not None:
        remaining = await get_manager().async_client().pttl(penalty)
        if remaining > 0:
            return False, retry_after(remaining)
    limits = []
    if bucket is not None:
        limits.append((f"chat:connlimit:ip:{bucket}", ip_rate))
    if user_id is not None:
        limits.append((f"chat:connlimit:user:{user_id}", user_rate))
    keys, args = plan(limits)
    if not keys:
        return True, None
    wait_ms = await get_manager().async_client().eval(SCRIPT, len(keys), *keys, *args)
    if int(wait_ms) <= 0:
        return True, None
    return False, retry_after(wait_ms)
