"""Who is online, as the pages read it: the presence summaries that chat.realtime.presence
keeps in Redis (one key per room), read in one pipeline."""

from redis_core import get_manager

__all__ = ["room_key", "online_counts"]


def room_key(room):
    """The Redis key of room's presence set (its summary is this key + ":summary")."""
    return f"chat:presence:{room}"


def online_counts(rooms):
    """{room: users + anonymous online} for the room list (sync, one pipeline)."""
    client = get_manager().client()
    pipe = client.pipeline(transaction=False)
    for room in rooms:
        pipe.get(room_key(room) + ":summary")
    counts = {}
    for room, summary in zip(rooms, pipe.execute()):
        if not summary:
            counts[room] = 0
            continue
        anonymous, *users = summary.decode().split("\n")
        counts[room] = int(anonymous) + len([u for u in users if u])
    return counts
