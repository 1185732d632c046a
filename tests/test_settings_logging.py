"""One log format: every line daphne prints is `ts=... level=... logger=...` then key=value."""

import logging
import os
import re

from chatproject.logfmt import LogfmtFormatter, quote
from tests.e2e.servers import Daphne

PREFIX = re.compile(r"^ts=\S+ level=[A-Z]+ logger=\S+ ")
FORMAT = "ts=%(asctime)s level=%(levelname)s logger=%(name)s %(message)s"


def record(message, *args, name="django.request", exc_info=None):
    return logging.LogRecord(name, logging.WARNING, __file__, 1, message, args, exc_info)


def test_quote__escapes_quotes_backslashes_and_newlines():
    assert quote('a "b" \\ c\nd') == '"a \\"b\\" \\\\ c\\nd"'


def test_formatter__chat_event_kept_other_messages_quoted():
    formatter = LogfmtFormatter(FORMAT, "%Y-%m-%dT%H:%M:%S%z")
    chat = formatter.format(record("event=ws_open room=%s", "lobby", name="chat.realtime.consumer"))
    other = formatter.format(record('Not Found: /x "y"'))
    assert PREFIX.match(chat) and chat.endswith(
        "logger=chat.realtime.consumer event=ws_open room=lobby"
    )
    assert PREFIX.match(other) and other.endswith(
        'logger=django.request msg="Not Found: /x \\"y\\""'
    )


def test_formatter__traceback_on_the_same_line():
    formatter = LogfmtFormatter(FORMAT)
    try:
        raise ValueError("boom")
    except ValueError:
        import sys

        line = formatter.format(record("event=failed", exc_info=sys.exc_info()))
    assert "\n" not in line and ' exc="Traceback (most recent call last):\\n' in line
    assert "ValueError: boom" in line


def test_daphne__every_line_it_prints_is_key_value(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    env.pop("DATABASE_URL", None)
    env.update(
        CHAT_VAR_DIR=str(tmp_path), DJANGO_DEBUG="0", DJANGO_SECRET_KEY="test",
        DJANGO_SETTINGS_MODULE="chatproject.settings", PYTHONUNBUFFERED="1",
    )  # fmt: skip
    daphne = Daphne(env, tmp_path, "daphne").start()
    try:
        assert daphne.get("/no-such-page")[0] == 404
    finally:
        daphne.stop()
    lines = [line for line in daphne.log_text().splitlines() if line.strip()]
    assert [line for line in lines if not PREFIX.match(line)] == []
    loggers = {re.search(r" logger=(\S+) ", line).group(1) for line in lines}
    assert {"daphne.cli", "daphne.server", "daphne.access", "django.request"} <= loggers, loggers
    [access] = [line for line in lines if "logger=daphne.access " in line and "no-such" in line]
    assert "event=access client=127.0.0.1:" in access
    assert 'request="GET /no-such-page" status=404 size=' in access
