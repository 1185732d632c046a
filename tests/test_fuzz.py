"""Property-based tests: arbitrary frames against the parser and against a live consumer.

The parser may only return a command or raise ProtocolError with a contract code. The
live consumer must answer each frame exactly as the parser decides (an error frame with
that code, an ack, a history, ...), close only as the contract says (4009 for an oversize
frame), keep answering ping, and store a message only when it acked one.
"""

import json
from functools import partial

import pytest
from asgiref.sync import sync_to_async
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from chat import protocol
from chat.models import Message
from tests.wsutil import Client

ERROR_CODES = {"bad_json", "bad_type", "bad_field", "empty", "too_long", "auth_required"}
COMMANDS = (
    protocol.Post, protocol.HistoryRequest, protocol.Resume, protocol.Typing, protocol.Ping,
)  # fmt: skip

# strategies ---------------------------------------------------------------------------

SPECIAL = ["\x00", "\ufeff", "\u202e", "\u200b", "\U0010ffff", "\u0301", "\ud800", "\udfff"]
ANY_CHAR = st.one_of(
    st.characters(), st.characters(categories=["Cs"]), st.sampled_from(SPECIAL)
)  # lone surrogates included
TEXT = st.one_of(
    st.text(ANY_CHAR, max_size=12),
    st.sampled_from(["", " ", " \t\n", "x" * 4000, "é" * 4000, "x" * 4001, f" {'y' * 4000} "]),
)
NUMBERS = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([0, -1, 1, 100, 101, 500, 2**63 - 1, 2**63, 2**64, 10**30]),
    st.floats(allow_nan=True, allow_infinity=True),
)
JSON = st.recursive(
    st.none() | st.booleans() | NUMBERS | TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=8,
)
TYPES = st.one_of(
    st.sampled_from(["message", "history", "resume", "typing", "ping"]),
    st.sampled_from(["Message", "", "pong", "hello", "ack", " ping", "message\x00"]),
    JSON,
)
CLIENT_IDS = st.one_of(st.none(), st.from_regex(r"[A-Za-z0-9_-]{1,64}", fullmatch=True), JSON)
FIELDS = {"text": TEXT | JSON, "client_id": CLIENT_IDS}
FIELDS |= {name: NUMBERS | JSON for name in ("before", "limit", "since")}
COMMAND_OBJECTS = st.fixed_dictionaries({"type": TYPES}, optional=FIELDS)
DEEP = [
    "[" * 50_000,
    '{"a":' * 10_000 + "1" + "}" * 10_000,
    '{"type":"history","limit":' + "9" * 5_000 + "}",
    '{"type":"resume","since":1e400}',
    '{"type":"ping","type":"message"}',
    '{"type":"message","text":"\\ud800"}',
    '{"type":"message","text":NaN}',
    "\ufeff{}",
]


def dumps(value, ascii_only):
    """JSON text a WebSocket client can send: a lone surrogate goes out escaped (\\udXXX),
    since a text frame must be valid UTF-8 (the server's WebSocket layer enforces it)."""
    text = json.dumps(value, ensure_ascii=ascii_only)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = json.dumps(value, ensure_ascii=True)
    return text


def command(kind, **fields):
    return {"type": kind, **{name: value for name, value in fields.items() if value != "absent"}}


ABSENT = st.just("absent")
SMALL = st.integers(min_value=-3, max_value=600)
MESSAGES = st.builds(
    partial(command, "message"),
    text=st.text(min_size=1, max_size=30),
    client_id=st.sampled_from(["c-1", "c-2", "c-3"]) | st.none() | ABSENT,
)
OTHER_COMMANDS = st.one_of(
    st.builds(
        partial(command, "message"),
        text=st.text(max_size=30) | TEXT | ABSENT,
        client_id=st.sampled_from(["c-1", "c-2", "c-3"]) | CLIENT_IDS | ABSENT,
    ),
    st.builds(
        partial(command, "history"), before=SMALL | NUMBERS | ABSENT, limit=SMALL | JSON | ABSENT
    ),
    st.builds(partial(command, "resume"), since=SMALL | NUMBERS | JSON | ABSENT),
    st.builds(partial(command, "typing")),
    st.builds(partial(command, "ping")),
)
# flatmap, not one_of: one_of would draw the plain valid messages far less often.
NEAR_VALID = st.booleans().flatmap(lambda post: MESSAGES if post else OTHER_COMMANDS)
WIRE_TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=40)
HOSTILE = st.one_of(
    st.builds(dumps, COMMAND_OBJECTS, st.booleans()),
    st.builds(dumps, JSON, st.booleans()),
    WIRE_TEXT,
    st.binary(max_size=64),
    st.sampled_from(DEEP),
)
# About half near-valid (a plain one_of draws far fewer of them than of HOSTILE's kinds).
FRAMES = st.booleans().flatmap(
    lambda near: st.builds(dumps, NEAR_VALID, st.booleans()) if near else HOSTILE
)


# the parser ---------------------------------------------------------------------------


@settings(max_examples=600, deadline=None)
@given(st.one_of(FRAMES, st.text(ANY_CHAR, max_size=40)))
def test_parse_frame__a_command_or_a_protocol_error_nothing_else(frame):
    if isinstance(frame, bytes):
        frame = frame.decode("utf-8", "replace")
    try:
        command = protocol.parse_frame(frame)
    except protocol.ProtocolError as exc:
        assert exc.code in ERROR_CODES - {"auth_required"}
        assert isinstance(exc.detail, str) and exc.detail
    else:
        assert isinstance(command, COMMANDS)
        if isinstance(command, protocol.Post):
            assert command.text == command.text.strip() and 1 <= len(command.text) <= 4000


@given(st.text(ANY_CHAR, max_size=70_000) | st.sampled_from(["x" * 65_536, "é" * 32_769]))
@settings(max_examples=100, deadline=None)
def test_frame_too_large__never_raises_and_counts_utf8_bytes(text):
    assert protocol.frame_too_large(text) == (len(text.encode("utf-8", "surrogatepass")) > 65_536)


# the live consumer ----------------------------------------------------------------------


def expected(frame, authenticated):
    """What the contract says the consumer answers to frame, as the parser decides it:
    ("error", code), ("ack",), ("history",), ("resumed",), ("pong",), ("close", code),
    or None (typing: nothing comes back to the sender)."""
    if isinstance(frame, bytes):
        return ("error", "bad_json")
    if protocol.frame_too_large(frame):
        return ("close", 4009)
    try:
        command = protocol.parse_frame(frame)
    except protocol.ProtocolError as exc:
        return ("error", exc.code)
    if isinstance(command, protocol.Post | protocol.Typing) and not authenticated:
        return ("error", "auth_required")
    return {
        protocol.Post: ("ack",),
        protocol.HistoryRequest: ("history",),
        protocol.Resume: ("resumed",),
        protocol.Typing: None,
        protocol.Ping: ("pong",),
    }[type(command)]


def known_bug(frame):
    """A message whose text holds a lone surrogate (sent escaped): valid to the parser
    today, but no database can store it (UnicodeEncodeError escapes the consumer, 1011).
    test_lone_surrogate_text__refused_not_1011 tracks it; once protocol.py refuses such
    text the parser says bad_field and this filter lets nothing out."""
    if isinstance(frame, bytes) or protocol.frame_too_large(frame):
        return False
    try:
        command = protocol.parse_frame(frame)
    except protocol.ProtocolError:
        return False
    if not isinstance(command, protocol.Post):
        return False
    try:
        command.text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


ANSWERS = {"error", "ack", "history", "resumed", "pong", "__closed__"}


class Session:
    """One live connection reused across examples (reopened after an expected close),
    and every seq the server acked."""

    def __init__(self, user):
        self.user = user
        self.client = None
        self.acked = set()

    async def connected(self):
        if self.client is None or self.client.closed_code is not None:
            self.client = Client("fuzz", user=self.user)
            assert (await self.client.connect())[0]
            assert (await self.client.recv_type("hello"))["type"] == "hello"
        return self.client

    async def exchange(self, frames, timeout=5):
        """Send frames then a ping; the answers, in order, up to that ping's pong."""
        client = await self.connected()
        for frame in frames:  # as daphne hands them over, empty ones included
            key = "bytes" if isinstance(frame, bytes) else "text"
            await client.comm.send_input({"type": "websocket.receive", key: frame})
        await client.send({"type": "ping"})
        wanted = [e for e in (expected(f, self.user is not None) for f in frames) if e]
        if ("close", 4009) in wanted:
            wanted = wanted[: wanted.index(("close", 4009)) + 1]
        else:
            wanted.append(("pong",))
        answers = []
        while len(answers) < len(wanted):
            frame = await client.recv(timeout=timeout)
            if frame["type"] not in ANSWERS:
                continue  # presence, messages of the room: not answers
            if frame["type"] == "__closed__":
                answers.append(("close", frame["code"]))
                break
            if frame["type"] == "error":
                assert frame["code"] in ERROR_CODES and isinstance(frame["detail"], str)
                answers.append(("error", frame["code"]))
            else:
                answers.append((frame["type"],))
            if frame["type"] == "ack":
                self.acked.add(frame["seq"])
        return answers, wanted


@pytest.fixture
def live(settings, make_user):
    settings.CHAT_MESSAGE_RATE = None  # the rate limit has its own tests
    # Hundreds of examples share two sockets: their frames would spend any budget a
    # person could meet. The default budget has its own tests (tests/test_budget.py and
    # tests/test_consumers.py, test_frame_budget__*).
    settings.CHAT_FRAME_BUDGET = None
    return {"user": Session(make_user("fuzzer")), "anonymous": Session(None)}


def stored_seqs():
    return set(Message.objects.filter(room__name="fuzz").values_list("seq", flat=True))


@pytest.mark.django_db(transaction=True)
@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(frames=st.lists(FRAMES, min_size=1, max_size=3), anonymous=st.booleans())
async def test_live_consumer__answers_as_the_parser_decides(live, frames, anonymous):
    frames = [f for f in frames if not known_bug(f)]
    session = live["anonymous" if anonymous else "user"]
    for frame in frames:
        event(repr(expected(frame, not anonymous)))
    answers, wanted = await session.exchange(frames)
    assert answers == wanted  # no other close, no missing answer, ping still answered
    seqs = await sync_to_async(stored_seqs)()
    assert seqs == live["user"].acked  # stored exactly what was acked, nothing else


# edges, one by one --------------------------------------------------------------------

LIVE = pytest.mark.django_db(transaction=True)


@LIVE
async def test_oversize_frame__closed_4009_only_and_nothing_stored(live):
    session = live["user"]
    big = json.dumps({"type": "message", "text": "x" * 70_000})
    assert await session.exchange([big]) == ([("close", 4009)], [("close", 4009)])
    exact = '{"type":"ping"}' + " " * (65_536 - 15)  # exactly 64 KiB: accepted, answered
    assert await session.exchange([exact]) == ([("pong",), ("pong",)], [("pong",), ("pong",)])
    assert await sync_to_async(stored_seqs)() == set()


@LIVE
@pytest.mark.parametrize("frame", DEEP[:5] + [b"\x00\xff", b'{"type":"ping"}'])
async def test_hostile_frame__error_answered_connection_kept(live, frame):
    answers, wanted = await live["user"].exchange([frame])
    assert answers == wanted and answers[-1] == ("pong",)


@LIVE
async def test_lone_surrogate_text__refused_not_1011(live):
    frame = '{"type":"message","text":"a\\ud800b"}'
    answers, _ = await live["user"].exchange([frame], timeout=1)
    assert answers == [("error", "bad_field"), ("pong",)]
