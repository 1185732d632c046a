"""The messages the server puts on Redis channels, encoded and decoded in one place (pure).

Two kinds of channel carry them:

- a room's channel (`chat:room:<room>`): `RoomEvent` (a stored event with its seq, already
  encoded as the JSON text every socket receives), `Presence` (who is in the room: the
  value, which sockets compare to skip a repeat, and the frame they are sent) and
  `Ephemeral` (typing, a moderator's notice: no seq, not stored, optionally not for one
  user or connection);
- the control channel (`chat:control`): `Close` (close the sockets of a target, in one room
  or everywhere, with a code), `Recheck` (a user's sockets check their sessions again), and
  the user notices `Read` (a user's read position in a room moved), `Follow` and `Unfollow`
  (a user's inboxes add or drop a room).

Wire forms, chosen so the hub can route a message by its first bytes without parsing JSON:
`m <seq>\\n<json>`, `p\\n<json>`, `e <user>\\t<connection>\\n<json>`,
`close <target> <code> [<room>]`, `recheck <target>`, `read <user> <room> <seq>`,
`follow <user> <room>`, `unfollow <user> <room>`. A presence body is parsed once per
process (its value), never per socket. A target is a user name, `session:<digest>` (one browser session) or
`*` (everyone in the room); user names hold neither white space nor ':' nor '*'.
"""

import json
import re
from dataclasses import dataclass

__all__ = [
    "ROOM_PREFIX", "CONTROL_CHANNEL", "EVERYONE", "RoomEvent", "Presence", "Ephemeral", "Close",
    "Recheck", "Read", "Follow", "Unfollow",
    "EnvelopeError", "room_channel", "room_of", "encode", "decode_room", "decode_control",
]  # fmt: skip

ROOM_PREFIX = "chat:room:"
CONTROL_CHANNEL = "chat:control"
EVERYONE = "*"
MAX_SEQ_DIGITS = 19
_TARGET = re.compile(r"[^\s]{1,200}\Z")
_ROOM = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}\Z")


class EnvelopeError(ValueError):
    """Bytes on a channel that are not a message of ours."""


@dataclass(frozen=True)
class RoomEvent:
    """A stored event of a room: its seq and its JSON text, as sockets receive it."""

    seq: int
    text: str


@dataclass(frozen=True)
class Presence:
    """Who is in a room now: the users (sorted) and the number of anonymous sockets, and
    the presence frame's JSON text as sockets receive it."""

    users: tuple
    anonymous: int
    text: str

    @property
    def value(self):
        return self.users, self.anonymous


@dataclass(frozen=True)
class Ephemeral:
    """An event that is not stored: sent to the room's sockets except the excluded ones."""

    text: str
    exclude_user: str = ""
    exclude_connection: str = ""


@dataclass(frozen=True)
class Close:
    """Close target's sockets (in room, or in every room) with code."""

    target: str
    code: int
    room: str | None = None


@dataclass(frozen=True)
class Recheck:
    """target's sockets check that their sessions still log them in."""

    target: str


@dataclass(frozen=True)
class Read:
    """user's read position in room moved to seq: every socket of theirs is told."""

    user: str
    room: str
    seq: int


@dataclass(frozen=True)
class Follow:
    """user follows room from now on (a membership, a direct room): their inboxes add it."""

    user: str
    room: str


@dataclass(frozen=True)
class Unfollow:
    """user no longer follows room (a membership removed): their inboxes drop it."""

    user: str
    room: str


_USER_KINDS = {Read: "read", Follow: "follow", Unfollow: "unfollow"}


def room_channel(room):
    return ROOM_PREFIX + room


def room_of(channel):
    """The room name of a room channel, None for any other channel."""
    return channel[len(ROOM_PREFIX) :] if channel.startswith(ROOM_PREFIX) else None


def _target(target):
    if not isinstance(target, str) or not _TARGET.match(target):
        raise EnvelopeError(f"not a control target: {target!r}")
    return target


def encode(message):
    """The bytes (as str) to publish for message, on the channel its kind goes to."""
    if isinstance(message, RoomEvent):
        if isinstance(message.seq, bool) or not isinstance(message.seq, int) or message.seq < 1:
            raise EnvelopeError(f"a seq is a positive integer, not {message.seq!r}")
        return f"m {message.seq}\n{message.text}"
    if isinstance(message, Presence):
        return f"p\n{message.text}"
    if isinstance(message, Ephemeral):
        for value in (message.exclude_user, message.exclude_connection):
            if any(ch in value for ch in "\t\n"):
                raise EnvelopeError("an exclusion holds no tab or newline")
        return f"e {message.exclude_user}\t{message.exclude_connection}\n{message.text}"
    if isinstance(message, Close):
        if message.room is not None and not _ROOM.match(message.room):
            raise EnvelopeError(f"not a room name: {message.room!r}")
        room = f" {message.room}" if message.room else ""
        return f"close {_target(message.target)} {int(message.code)}{room}"
    if isinstance(message, Recheck):
        return f"recheck {_target(message.target)}"
    if isinstance(message, (Read, Follow, Unfollow)):
        if not _ROOM.match(message.room):
            raise EnvelopeError(f"not a room name: {message.room!r}")
        head = f"{_USER_KINDS[type(message)]} {_target(message.user)} {message.room}"
        if isinstance(message, Read):
            if isinstance(message.seq, bool) or not isinstance(message.seq, int) or message.seq < 0:
                raise EnvelopeError(f"a read position is an integer >= 0, not {message.seq!r}")
            return f"{head} {message.seq}"
        return head
    raise EnvelopeError(f"not an envelope message: {type(message).__name__}")


def _text(data):
    return data.decode("utf-8") if isinstance(data, bytes) else data


def decode_room(data):
    """RoomEvent or Ephemeral from a room channel's bytes; EnvelopeError otherwise."""
    try:
        data = _text(data)
    except UnicodeDecodeError:
        raise EnvelopeError("not UTF-8") from None
    header, newline, body = data.partition("\n")
    if not newline:
        raise EnvelopeError("no header line")
    if header.startswith("m "):
        digits = header[2:]
        if not (0 < len(digits) <= MAX_SEQ_DIGITS and digits.isascii() and digits.isdigit()):
            raise EnvelopeError("a room event's seq is 1 to 19 digits")
        seq = int(digits)
        if seq < 1:
            raise EnvelopeError("a seq is positive")
        return RoomEvent(seq, body)
    if header == "p":
        return _presence(body)
    if header.startswith("e "):
        user, tab, connection = header[2:].partition("\t")
        if not tab:
            raise EnvelopeError("an ephemeral header is 'e <user>\\t<connection>'")
        return Ephemeral(body, user, connection)
    raise EnvelopeError("unknown room message kind")


def _presence(text):
    try:
        frame = json.loads(text)
    except ValueError:
        raise EnvelopeError("a presence body is JSON") from None
    if not isinstance(frame, dict):
        raise EnvelopeError("a presence body is a presence frame")
    users, anonymous = frame.get("users"), frame.get("anonymous")
    if (
        frame.get("type") != "presence"
        or not isinstance(users, list)
        or not all(isinstance(user, str) for user in users)
        or isinstance(anonymous, bool)
        or not isinstance(anonymous, int)
        or anonymous < 0
    ):
        raise EnvelopeError("a presence body is a presence frame")
    return Presence(tuple(users), anonymous, text)


def _user_notice(parts):
    kind = {name: cls for cls, name in _USER_KINDS.items()}[parts[0]]
    size = 4 if kind is Read else 3
    if len(parts) != size or not _TARGET.match(parts[1]) or not _ROOM.match(parts[2]):
        raise EnvelopeError(f"a malformed {parts[0]} message")
    if kind is not Read:
        return kind(parts[1], parts[2])
    seq = parts[3]
    if not (seq.isascii() and seq.isdigit() and len(seq) <= MAX_SEQ_DIGITS):
        raise EnvelopeError("a read position is decimal digits")
    return Read(parts[1], parts[2], int(seq))


def decode_control(data):
    """Close, Recheck, Read, Follow or Unfollow from the control channel's bytes;
    EnvelopeError otherwise."""
    try:
        parts = _text(data).split(" ")
    except UnicodeDecodeError:
        raise EnvelopeError("not UTF-8") from None
    if parts[0] in _USER_KINDS.values():
        return _user_notice(parts)
    if parts[0] == "recheck" and len(parts) == 2 and _TARGET.match(parts[1]):
        return Recheck(parts[1])
    if parts[0] == "close" and len(parts) in (3, 4) and _TARGET.match(parts[1]):
        code = parts[2]
        if not (code.isascii() and code.isdigit() and len(code) == 4):
            raise EnvelopeError("a close code is four digits")
        room = parts[3] if len(parts) == 4 else None
        if room is not None and not _ROOM.match(room):
            raise EnvelopeError("not a room name")
        return Close(parts[1], int(code), room)
    raise EnvelopeError("unknown control message")
