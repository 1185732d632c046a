"""Limits on new WebSocket connections (per user and per client address), on new rooms per
user, and the wait after a 4429: rates on the limiter core (chat.limits.core)."""

from django.conf import settings

from redis_core import get_manager

from .core import atake, client_ip, ip_bucket, retry_after, take

__all__ = [
    "allow_connection", "allow_room_creation", "penalise", "rates", "client_ip", "ip_bucket",
]  # fmt: skip

# Generous bursts: a whole office behind one NAT reconnects at once after a deploy. The
# concurrent caps (chat.limits.caps) are what keeps one address from holding the server.
DEFAULT_IP_RATE = (1200, 60.0)
DEFAULT_USER_RATE = (240, 60.0)
DEFAULT_ROOM_CREATE_RATE = (20, 3600.0)  # new public rooms per user: 20, then one per 3 min


def rates():
    """(ip rate, user rate) from settings, each (N, S) or None when off; read per call."""
    return (
        getattr(settings, "CHAT_CONNECT_RATE_IP", DEFAULT_IP_RATE),
        getattr(settings, "CHAT_CONNECT_RATE_USER", DEFAULT_USER_RATE),
    )


def allow_room_creation(user_id):
    """None when user_id may create one more room now (and it is counted), else the seconds
    to wait. Sync (called on the database thread); raises RedisError when Redis is away."""
    rate = getattr(settings, "CHAT_ROOM_CREATE_RATE", DEFAULT_ROOM_CREATE_RATE)
    return take([(f"chat:roomlimit:user:{user_id}", rate)])


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
    wait = await atake(limits)
    return (True, None) if wait is None else (False, wait)
