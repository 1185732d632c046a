"""Structured logs of a real daphne: key=value lines a log collector parses, no message text."""

import asyncio
import re
import time

import pytest

from tests.e2e.clients import connect

pytestmark = pytest.mark.e2e

# logfmt: key=value pairs separated by spaces; a value with spaces is double-quoted.
PAIR = re.compile(r'([A-Za-z_][A-Za-z0-9_.]*)=("(?:[^"\\]|\\.)*"|[^\s"]*)(?:\s+|$)')


def logfmt(line):
    """{key: value} of a whole logfmt line; None when any part of it is not key=value."""
    fields, position = {}, 0
    while position < len(line):
        match = PAIR.match(line, position)
        if match is None:
            return None
        value = match.group(2)
        fields[match.group(1)] = value[1:-1] if value.startswith('"') else value
        position = match.end()
    return fields


def event_fields(line):
    """The key=value fields from `event=` on (what the application itself writes)."""
    index = line.find("event=")
    return logfmt(line[index:]) if index >= 0 else None


def chat_lines(daphne, event):
    return [line for line in daphne.log_text().splitlines() if f"event={event} " in line + " "]


async def wait_for_line(daphne, event, timeout=15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        lines = chat_lines(daphne, event)
        if lines:
            return lines[-1]
        await asyncio.sleep(0.1)
    raise AssertionError(f"no event={event} within {timeout} s:\n{daphne.log_tail()}")


def test_logfmt_parser():
    assert logfmt('a=1 b="two words" c=') == {"a": "1", "b": "two words", "c": ""}
    assert logfmt("ts=2026-11-26 13:00:00,123 a=1") is None


async def test_connection_open_and_close_lines(stack):
    [a] = stack.start_daphne(1)
    cookies = stack.sessions(["log-alice"])
    client = await connect(a, "logs", cookies["log-alice"])
    await client.send({"type": "message", "text": "a secret that must not be logged"})
    assert (await client.recv_type("ack"))["seq"] >= 1
    await client.close()
    close_line = await wait_for_line(a, "ws_close")
    opened = event_fields(chat_lines(a, "ws_open")[-1])
    closed = event_fields(close_line)
    assert opened["room"] == "logs" and opened["user_id"].isdigit()
    assert closed["room"] == "logs" and closed["user_id"] == opened["user_id"]
    assert closed["code"] == "1000" and float(closed["duration_s"]) >= 0
    assert "secret" not in a.log_text()


async def test_redis_lost_and_restored_lines(stack):
    [a] = stack.start_daphne(1)
    client = await connect(a, "logs-redis")  # starts the loop's health monitor
    stack.redis.stop()
    assert await client.closed(10) == 4012
    lost = event_fields(await wait_for_line(a, "redis_lost"))
    stack.redis.start()
    restored = event_fields(await wait_for_line(a, "redis_restored"))
    assert lost is not None and lost["reason"]
    assert restored is not None and restored["run_id"]


async def test_every_chat_line_is_logfmt_from_start_to_end(stack):
    [a] = stack.start_daphne(1)
    client = await connect(a, "logs-all")
    stack.redis.stop()
    await client.closed(10)
    await wait_for_line(a, "redis_lost")
    stack.redis.start()
    await wait_for_line(a, "redis_restored")
    lines = [line for line in a.log_text().splitlines() if " logger=" in line]
    assert lines
    assert [line for line in lines if logfmt(line) is None] == []
