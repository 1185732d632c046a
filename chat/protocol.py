"""The wire contract as pure functions: parse client frames, build server frames."""

import enum
import json
import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC
from typing import ClassVar
from urllib.parse import parse_qs

__all__ = [
    "CloseCode", "ProtocolError", "Post", "Edit", "Delete", "React", "HistoryRequest", "Resume",
    "Typing", "Ping",
    "load_object", "parse_frame", "parse_command", "frame_too_large", "parse_int", "parse_since", "valid_room", "visible",
    "encode",
]  # fmt: skip

ROOM_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,63}\Z"
ROOM_RE = re.compile(ROOM_PATTERN)
CLIENT_ID_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")
MAX_FRAME_BYTES = 65536
MAX_TEXT = 4000
HELLO_HISTORY = 50
HISTORY_DEFAULT = 50
HISTORY_MAX = 100
RESUME_MAX = 500
MAX_SEQ = 2**63 - 1
PROTOCOL_VERSION = 2
MAX_EMOJI = 8  # code points in one reaction
MAX_REACTIONS = 20  # distinct emoji on one message
# Integers from outside (query strings, forms) are read only up to this many digits:
# Python refuses to convert longer digit strings (sys.get_int_max_str_digits) with an
# exception, and no valid value here needs more than MAX_SEQ's 19 digits.
MAX_INT_DIGITS = len(str(MAX_SEQ))
# Valid JSON escapes that no database stores as text (and PostgreSQL refuses NUL).
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
# Explicit directional formatting (embeddings, overrides, isolates): they let a message
# display in another order than it reads (a "Trojan Source" spoof); stripped on input.
_BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069]")
# Letters that render as nothing (Hangul fillers, the braille blank) beside the
# categories of format, control, separator and unassigned characters.
_BLANK_LETTERS = frozenset("\u115f\u1160\u3164\uffa0\u2800")
_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Cn", "Cs", "Zs", "Zl", "Zp", "Mn", "Me"})
# An emoji's code points: pictographs are "So" (symbol, other), beside the few emoji that
# Unicode files elsewhere (‼ ⁉ ℹ ↔ ⤴ ⤵ ◻ ◼ ◽ ◾ 〰 〽); skin tones are "Sk", the variation
# selector and the keycap mark "Mn"/"Me", the zero-width joiner and flag tags "Cf".
_EMOJI_OUTSIDE_SO = frozenset(
    "\u203c\u2049\u2139\u2194\u2934\u2935\u25fb\u25fc\u25fd\u25fe\u3030\u303d"
)
_EMOJI_PARTS = frozenset({"Sk", "Mn", "Me", "Cf"})
_KEYCAP = "\u20e3"
_KEYCAP_BASES = frozenset("0123456789#*")


class CloseCode(enum.IntEnum):
    """The close codes of the contract: the only place a 4xxx code is written."""

    NORMAL = 1000
    """Normal close: the client stops."""
    GOING_AWAY = 4001
    """The server goes away (graceful shutdown) or asks the socket to reconnect and pass
    the checks again (access narrowed, session rotated): reconnect with backoff, resume."""
    TOO_BIG = 4009
    """A frame over 65,536 bytes (daphne's own limit sends 1009): do not resend it."""
    REDIS_LOST = 4012
    """The Redis backend was lost or is not reachable: reconnect with backoff, resume."""
    TRY_LATER = 4013
    """Not ready, shedding load, over a connection limit, or too slow a reader: reconnect
    with backoff (and resume)."""
    ANONYMOUS = 4401
    """The room is private and the connection is anonymous (or was logged out): log in."""
    NOT_MEMBER = 4403
    """The room is private and the user is not (or no longer) a member: stop."""
    BAD_ROOM = 4404
    """The room name is invalid, or the room was deleted: stop."""
    ABUSE = 4429
    """Closed for abuse after repeated rate-limit refusals: wait, then reconnect."""


class ProtocolError(Exception):
    """A frame the client can correct: answered with an error frame, connection kept."""

    def __init__(self, code, detail):
        super().__init__(detail)
        self.code = code
        self.detail = detail


@dataclass(frozen=True)
class Post:
    kind: ClassVar[str] = "message"
    text: str
    client_id: str | None
    reply_to: int | None = None


@dataclass(frozen=True)
class Edit:
    kind: ClassVar[str] = "edit"
    target: int
    text: str
    client_id: str | None


@dataclass(frozen=True)
class Delete:
    kind: ClassVar[str] = "delete"
    target: int
    client_id: str | None


@dataclass(frozen=True)
class React:
    kind: ClassVar[str] = "react"
    target: int
    emoji: str
    on: bool
    client_id: str | None


@dataclass(frozen=True)
class HistoryRequest:
    kind: ClassVar[str] = "history"
    before: int | None
    limit: int


@dataclass(frozen=True)
class Resume:
    kind: ClassVar[str] = "resume"
    since: int


@dataclass(frozen=True)
class Typing:
    kind: ClassVar[str] = "typing"


@dataclass(frozen=True)
class Ping:
    kind: ClassVar[str] = "ping"


@dataclass(frozen=True)
class ReadUpTo:
    """`read`: the user has seen the room up to seq."""

    kind: ClassVar[str] = "read"
    seq: int


def valid_room(name):
    return isinstance(name, str) and ROOM_RE.match(name) is not None


def frame_too_large(text):
    """True when a text frame's UTF-8 form is over MAX_FRAME_BYTES (encoded only if needed)."""
    if len(text) > MAX_FRAME_BYTES:
        return True
    if len(text) * 4 <= MAX_FRAME_BYTES:
        return False
    return len(text.encode("utf-8", "surrogatepass")) > MAX_FRAME_BYTES


def _reject_constant(name):
    raise ValueError(f"{name} is not JSON")


def load_object(text):
    """The JSON object a client sent as text; ProtocolError (bad_json) for anything else."""
    try:
        value = json.loads(text, parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        raise ProtocolError("bad_json", "The frame is not valid JSON.") from None
    if not isinstance(value, dict):
        raise ProtocolError("bad_json", "The frame must be a JSON object.")
    return value


def _int_field(frame, name, *, low, high, default=None, required=False):
    value = frame.get(name)
    if value is None:
        if required:
            raise ProtocolError("bad_field", f"'{name}' is required (an integer).")
        return default
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ProtocolError("bad_field", f"'{name}' must be an integer from {low} to {high}.")
    return value


def _client_id(frame):
    client_id = frame.get("client_id")
    if client_id is not None and (
        not isinstance(client_id, str) or not CLIENT_ID_RE.fullmatch(client_id)
    ):
        raise ProtocolError(
            "bad_field", "'client_id' must be 1-64 characters of A-Z, a-z, 0-9, '_' or '-'."
        )
    return client_id


def _text(frame):
    """The stripped text of a message or edit (bad_field, then empty, then too_long)."""
    text = frame.get("text")
    if not isinstance(text, str):
        raise ProtocolError("bad_field", "'text' is required and must be a string.")
    if _UNSTORABLE.search(text):
        raise ProtocolError(
            "bad_field", "'text' must not contain NUL characters or unpaired surrogates."
        )
    return text


def _checked_text(text):
    text = _BIDI_CONTROLS.sub("", text).strip()
    if not visible(text):
        raise ProtocolError("empty", "The message is empty (it shows no visible character).")
    if len(text) > MAX_TEXT:
        raise ProtocolError("too_long", f"The message is over {MAX_TEXT} characters.")
    return text


def _target(frame):
    return _int_field(frame, "target", low=1, high=MAX_SEQ, required=True)


def _parse_post(frame):
    text = _text(frame)
    client_id = _client_id(frame)
    reply_to = _int_field(frame, "reply_to", low=1, high=MAX_SEQ)
    return Post(_checked_text(text), client_id, reply_to)


def _parse_edit(frame):
    target = _target(frame)
    text = _text(frame)
    client_id = _client_id(frame)
    return Edit(target, _checked_text(text), client_id)


def _parse_delete(frame):
    return Delete(_target(frame), _client_id(frame))


def valid_emoji(value):
    """True when value is one emoji: 1 to MAX_EMOJI code points, no white space or control
    character, every one of them part of an emoji (a pictograph, a modifier, a joiner, a
    variation selector, a tag, a keycap's digit), at least one a pictograph or a keycap.
    A word, a punctuation mark or a letter beside an emoji ("ok👍") is not one."""
    if not isinstance(value, str) or not 0 < len(value) <= MAX_EMOJI:
        return False
    if _UNSTORABLE.search(value):
        return False
    keycap = _KEYCAP in value
    base = False
    for ch in value:
        category = unicodedata.category(ch)
        if category == "So" or ch in _EMOJI_OUTSIDE_SO:
            base = True
        elif keycap and ch in _KEYCAP_BASES:
            base = True
        elif category not in _EMOJI_PARTS:
            return False
    return base


def _parse_react(frame):
    target = _target(frame)
    emoji = frame.get("emoji")
    if not valid_emoji(emoji):
        raise ProtocolError(
            "bad_field",
            f"'emoji' must be one emoji: 1 to {MAX_EMOJI} code points, no white space "
            "or control characters.",
        )
    on = frame.get("on")
    if not isinstance(on, bool):
        raise ProtocolError("bad_field", "'on' is required and must be true or false.")
    return React(target, emoji, on, _client_id(frame))


_PARSERS = {
    "message": _parse_post,
    "edit": _parse_edit,
    "delete": _parse_delete,
    "react": _parse_react,
    "history": lambda f: HistoryRequest(
        _int_field(f, "before", low=0, high=MAX_SEQ),
        _int_field(f, "limit", low=1, high=HISTORY_MAX, default=HISTORY_DEFAULT),
    ),
    "resume": lambda f: Resume(_int_field(f, "since", low=0, high=MAX_SEQ, required=True)),
    "typing": lambda f: Typing(),
    "ping": lambda f: Ping(),
    "read": lambda f: ReadUpTo(_int_field(f, "seq", low=0, high=MAX_SEQ, required=True)),
}


def parse_frame(text):
    """A command object for a client text frame; ProtocolError when it is not valid."""
    return parse_command(load_object(text))


def parse_command(frame):
    """A command object for a frame already decoded into a dict (the HTTP API and the
    Python API build one); ProtocolError when it is not valid."""
    if not isinstance(frame, dict):
        raise ProtocolError("bad_json", "The frame must be a JSON object.")
    kind = frame.get("type")
    parser = _PARSERS.get(kind) if isinstance(kind, str) else None
    if parser is None:
        known = ", ".join(sorted(_PARSERS))
        raise ProtocolError("bad_type", f"'type' must be one of: {known}.")
    return parser(frame)


def visible(text):
    """True when text shows at least one character (not only spaces, format or control
    characters, combining marks on nothing, or blank letters)."""
    return any(
        ch not in _BLANK_LETTERS and unicodedata.category(ch) not in _INVISIBLE_CATEGORIES
        for ch in text
    )


def parse_int(value, *, low=0, high=MAX_SEQ):
    """The integer written in value (ASCII digits only, at most MAX_INT_DIGITS of them),
    or None when value is anything else or out of low..high; never raises."""
    if not isinstance(value, str) or not 0 < len(value) <= MAX_INT_DIGITS:
        return None
    if not value.isascii() or not value.isdigit():
        return None
    number = int(value)
    return number if low <= number <= high else None


def parse_since(query_string):
    """The ?since= of a connect query string, or None when absent or invalid."""
    if isinstance(query_string, bytes):
        query_string = query_string.decode("latin-1")
    try:
        # A bounded parse: a query string is attacker-sized, parse_qs keeps every field.
        values = parse_qs(query_string[:4096], max_num_fields=20).get("since")
    except ValueError:  # more fields than max_num_fields
        return None
    return parse_int(values[0]) if values else None


# server frames --------------------------------------------------------------------------


def encode(frame):
    return json.dumps(frame, ensure_ascii=False, separators=(",", ":"))


def format_ts(moment):
    """ISO 8601 UTC with milliseconds and a Z suffix."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def message_object(
    room, seq, user, text, created, client_id,
    reply_to=None, mentions=(), edited=None, deleted=False, reactions=None,
):  # fmt: skip
    """A message event: as posted (the defaults) or in its current state."""
    return {
        "type": "message",
        "room": room,
        "seq": seq,
        "user": user,
        "text": text,
        "ts": format_ts(created),
        "client_id": client_id,
        "reply_to": reply_to,
        "mentions": sorted(mentions),
        "edited": format_ts(edited) if edited is not None else None,
        "deleted": deleted,
        "reactions": reactions or {},
    }


def edit_event(room, seq, user, created, target, text, mentions):
    return {
        "type": "edit", "room": room, "seq": seq, "user": user, "ts": format_ts(created),
        "target": target, "text": text, "mentions": sorted(mentions),
    }  # fmt: skip


def delete_event(room, seq, user, created, target):
    return {
        "type": "delete", "room": room, "seq": seq, "user": user, "ts": format_ts(created),
        "target": target,
    }  # fmt: skip


def reaction_event(room, seq, user, created, target, emoji, on):
    return {
        "type": "reaction", "room": room, "seq": seq, "user": user, "ts": format_ts(created),
        "target": target, "emoji": emoji, "on": on,
    }  # fmt: skip


# daphne (autobahn) refuses to send a message over 1 MiB (websocket_max_message_size) and
# raises, which would close the socket with 1011. Frames that carry many messages stay
# under this budget; what does not fit is left for the client to page or resume.
FRAME_BUDGET = 1_000_000


def fit(messages, keep):
    """(messages that fit FRAME_BUDGET, whether some were left out). keep="oldest" keeps the
    start of the list (a resume continues after it), "newest" its end (history pages on)."""
    sizes = [len(encode(m).encode("utf-8", "surrogatepass")) + 1 for m in messages]
    if sum(sizes) <= FRAME_BUDGET:
        return messages, False
    order = range(len(messages)) if keep == "oldest" else range(len(messages) - 1, -1, -1)
    total, count = 0, 0
    for index in order:
        total += sizes[index]
        if total > FRAME_BUDGET:
            break
        count += 1
    kept = messages[:count] if keep == "oldest" else messages[len(messages) - count :]
    return kept, True


def error(code, detail, **extra):
    return {"type": "error", "code": code, "detail": detail, **extra}


def ack(client_id, seq):
    return {"type": "ack", "client_id": client_id, "seq": seq}


def history(messages, complete):
    return {"type": "history", "messages": messages, "complete": complete}


def resumed(seq, complete):
    return {"type": "resumed", "seq": seq, "complete": complete}


def hello(room, user, seq, history, complete, read=None):
    return {
        "type": "hello",
        "room": room,
        "user": user,
        "seq": seq,
        "history": history,
        "complete": complete,
        "protocol": PROTOCOL_VERSION,
        "read": read,
    }


def read_moved(room, seq):
    return {"type": "read", "room": room, "seq": seq}


def inbox_entry(name, private, title, counts):
    """One room of the inbox frame (counts: chat.readstate.Counts)."""
    return {
        "room": name, "private": private, "seq": counts.seq, "read": counts.read,
        "unread": counts.unread, "mentions": counts.mentions, "title": title,
    }  # fmt: skip


def inbox(rooms):
    return {"type": "inbox", "rooms": rooms}


def unread(room, counts, **extra):
    return {
        "type": "unread", "room": room, "seq": counts.seq, "unread": counts.unread,
        "mentions": counts.mentions, **extra,
    }  # fmt: skip


def mention(room, seq, user, text):
    return {"type": "mention", "room": room, "seq": seq, "user": user, "text": text}


def unfollow(room):
    return {"type": "unfollow", "room": room}


def presence(users, anonymous):
    return {"type": "presence", "users": sorted(set(users)), "anonymous": anonymous}
