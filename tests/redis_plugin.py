"""Starts the test session's real redis-server before Django reads its settings.

Loaded with `-p tests.redis_plugin` (pytest.ini), so REDIS_URL is set before
pytest-django imports the settings. The server is ours: we stop it by its PID.
"""

import atexit
import os
import tempfile

from scripts.redis_server import RedisServer

_folder = tempfile.mkdtemp(prefix="chat-test-redis-")
SERVER = RedisServer(_folder).start()
os.environ["REDIS_URL"] = SERVER.url
os.environ.setdefault("CHAT_VAR_DIR", tempfile.mkdtemp(prefix="chat-test-var-"))
os.environ.setdefault("CHAT_MESSAGE_RATE", "30/10")
# Templates render in-process without `collectstatic` (no manifest); the e2e stacks turn it on.
os.environ.setdefault("CHAT_STATIC_MANIFEST", "0")
atexit.register(SERVER.stop)


def pytest_unconfigure(config):
    SERVER.stop()
