import json
from datetime import UTC, datetime

import pytest

from chat import protocol
from chat.protocol import HistoryRequest, Ping, Post, ProtocolError, Resume, Typing


def code_of(text):
    with pytest.raises(ProtocolError) as info:
        protocol.parse_frame(text)
    return info.value.code


@pytest.mark.parametrize(
    ("frame", "command"),
    [
        ({"type": "message", "text": "  hi \n"}, Post("hi", None)),
        ({"type": "message", "text": "hi", "client_id": "c-7f3a"}, Post("hi", "c-7f3a")),
        ({"type": "message", "text": "hi", "client_id": None}, Post("hi", None)),
        ({"type": "history"}, HistoryRequest(None, 50)),
        ({"type": "history", "before": 10, "limit": 100}, HistoryRequest(10, 100)),
        ({"type": "resume", "since": 0}, Resume(0)),
        ({"type": "typing"}, Typing()),
        ({"type": "ping", "extra": 1}, Ping()),
    ],
)
def test_parse_frame__valid(frame, command):
    assert protocol.parse_frame(json.dumps(frame)) == command


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("not json", "bad_json"),
        ("[1, 2]", "bad_json"),
        ('"string"', "bad_json"),
        ('{"type": "ping", "x": NaN}', "bad_json"),
        ("[" * 100000, "bad_json"),
        ("{}", "bad_type"),
        ('{"type": "dance"}', "bad_type"),
        ('{"type": 5}', "bad_type"),
        ('{"type": "message"}', "bad_field"),
        ('{"type": "message", "text": 5}', "bad_field"),
        ('{"type": "message", "text": "x", "client_id": "has space"}', "bad_field"),
        ('{"type": "message", "text": "x", "client_id": 12}', "bad_field"),
        ('{"type": "message", "text": "x", "client_id": "' + "a" * 65 + '"}', "bad_field"),
        ('{"type": "message", "text": " \\n\\t "}', "empty"),
        ('{"type": "message", "text": "' + "x" * 4001 + '"}', "too_long"),
        ('{"type": "history", "limit": 0}', "bad_field"),
        ('{"type": "history", "limit": 101}', "bad_field"),
        ('{"type": "history", "limit": true}', "bad_field"),
        ('{"type": "history", "before": -1}', "bad_field"),
        ('{"type": "history", "before": 1.5}', "bad_field"),
        ('{"type": "resume"}', "bad_field"),
        ('{"type": "resume", "since": "3"}', "bad_field"),
        ('{"type": "resume", "since": ' + "9" * 30 + "}", "bad_field"),
    ],
)
def test_parse_frame__errors(text, code):
    assert code_of(text) == code


def test_text_length__counts_code_points_after_stripping():
    assert protocol.parse_frame(json.dumps({"type": "message", "text": " " + "é" * 4000 + " "}))
    assert code_of(json.dumps({"type": "message", "text": "😀" * 4001})) == "too_long"


def test_validation_order__field_errors_before_empty():
    assert code_of('{"type": "message", "text": "", "client_id": "bad id"}') == "bad_field"


@pytest.mark.parametrize(
    ("query", "since"),
    [(b"", None), (b"since=5", 5), (b"since=0", 0), (b"since=-1", None), (b"since=x", None),
     (b"since=1e3", None), (b"a=1&since=12", 12), ("since=\u0663".encode(), None),
     (b"since=" + b"9" * 30, None)],
)  # fmt: skip
def test_parse_since(query, since):
    assert protocol.parse_since(query) == since


@pytest.mark.parametrize(
    ("name", "ok"),
    [("lobby", True), ("a", True), ("0-x_y", True), ("a" * 64, True), ("a" * 65, False),
     ("Lobby", False), ("-x", False), ("_x", False), ("", False), ("lobby\n", False),
     ("a b", False), ("ü", False)],
)  # fmt: skip
def test_valid_room(name, ok):
    assert protocol.valid_room(name) is ok


def test_frame_too_large__counts_utf8_bytes():
    assert not protocol.frame_too_large("x" * 65536)
    assert protocol.frame_too_large("x" * 65537)
    assert protocol.frame_too_large("é" * 40000)  # 80,000 bytes
    assert not protocol.frame_too_large("é" * 16000)


def test_format_ts__utc_milliseconds_z():
    moment = datetime(2026, 11, 26, 13, 0, 0, 123456, tzinfo=UTC)
    assert protocol.format_ts(moment) == "2026-11-26T13:00:00.123Z"


def test_message_object__has_the_contract_shape():
    moment = datetime(2026, 11, 26, 13, 0, tzinfo=UTC)
    frame = protocol.message_object("lobby", 42, "alice", "hi", moment, "c-7f3a")
    assert frame == {
        "type": "message", "room": "lobby", "seq": 42, "user": "alice", "text": "hi",
        "ts": "2026-11-26T13:00:00.000Z", "client_id": "c-7f3a", "reply_to": None,
        "mentions": [], "edited": None, "deleted": False, "reactions": {},
    }  # fmt: skip


def test_presence__sorted_unique_users():
    assert protocol.presence(["bob", "alice", "bob"], 3) == {
        "type": "presence", "users": ["alice", "bob"], "anonymous": 3,
    }  # fmt: skip


def _messages(count, size):
    moment = datetime(2026, 11, 26, 13, 0, tzinfo=UTC)
    return [
        protocol.message_object("r", i + 1, "u", "é" * size, moment, None) for i in range(count)
    ]


def test_fit__small_pages_are_whole():
    messages = _messages(50, 100)
    assert protocol.fit(messages, "newest") == (messages, False)


def test_fit__a_page_over_the_frame_budget_keeps_the_right_end():
    messages = _messages(500, 4000)  # ~4 MB of JSON: over daphne's 1 MiB send limit
    newest, trimmed = protocol.fit(messages, "newest")
    assert trimmed and newest[-1]["seq"] == 500 and newest == messages[-len(newest) :]
    oldest, trimmed = protocol.fit(messages, "oldest")
    assert trimmed and oldest[0]["seq"] == 1 and oldest == messages[: len(oldest)]
    for kept in (newest, oldest):
        frame = protocol.encode(protocol.hello("r", None, 500, kept, False))
        assert len(frame.encode()) < 1024 * 1024
